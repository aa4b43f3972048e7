"""Shared fixtures: the shipped models and small helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

import cjsim
from cjsim.model import JourneyModel, load_model, validate_model

MODELS = Path(cjsim.__file__).parent / "models"


def shipped(name: str) -> JourneyModel:
    return load_model(MODELS / f"{name}.toml")


def without_word_of_mouth(model: JourneyModel) -> JourneyModel:
    """The same model with word of mouth switched off (no population-level feedback)."""
    data = model.model_dump(mode="python")
    data["word_of_mouth"] = None
    return validate_model(data)


@pytest.fixture(scope="session")
def ecommerce() -> JourneyModel:
    return shipped("ecommerce")


@pytest.fixture(scope="session")
def textbook() -> JourneyModel:
    return shipped("textbook")
