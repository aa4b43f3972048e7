"""Value types shared by the model-file sections (validated by pydantic)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

# Numbers are numbers: a quoted "0.5" or a true in a model file is a mistake, not a value
# to convert (Strict still takes integers for floats).
Probability = Annotated[float, Strict(), Field(ge=0.0, le=1.0)]
# infinity is not a budget, a rate or an effect size: finite numbers only
NonNegative = Annotated[float, Strict(), Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Strict(), Field(gt=0.0, allow_inf_nan=False)]


class Frozen(BaseModel):
    """A section of a model file: unknown keys are errors, values cannot change."""

    model_config = ConfigDict(extra="forbid", frozen=True)
