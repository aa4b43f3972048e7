"""Shared fixtures: the shipped models and small helpers."""

from __future__ import annotations

import pytest

from cjsim.model import JourneyModel
from tests.helpers.models import (  # noqa: F401  (also imported from here)
    MODELS,
    assert_same_log,
    shipped,
    without_word_of_mouth,
)


@pytest.fixture(scope="session")
def ecommerce() -> JourneyModel:
    return shipped("ecommerce")


@pytest.fixture(scope="session")
def textbook() -> JourneyModel:
    return shipped("textbook")
