"""What-if copies of a model: other daily budgets, channels switched off, another horizon."""

from __future__ import annotations

import math
from collections.abc import Mapping

from cjsim.errors import OptionError
from cjsim.model.schema import Channel, JourneyModel
from cjsim.model.validation import validate_model


def with_overrides(
    model: JourneyModel,
    *,
    budgets: Mapping[str, float] | None = None,
    channels_off: tuple[str, ...] | list[str] = (),
    horizon_days: float | None = None,
) -> JourneyModel:
    """A validated copy of MODEL with other daily budgets, channels switched off or
    another horizon.

    A channel switched off delivers no touches and has no effect; its random draws are
    still made, so everything it does not touch stays the same (common random numbers).

    Raises
    ------
    OptionError
        An unknown channel, a budget for an organic channel, a budget or horizon that is
        not a finite number >= 0.
    """
    data = model.model_dump(mode="python")
    for name, amount in (budgets or {}).items():
        ch = known_channel(model, "--budget", name)
        if ch.type != "paid":
            raise OptionError(f"channel '{name}' is organic; only paid channels have a budget")
        if not (isinstance(amount, int | float) and math.isfinite(amount) and amount >= 0):
            raise OptionError(
                f"budget for '{name}' is {amount!r}; expected a finite amount >= 0 per day"
            )
        data["channels"][name]["daily_budget"] = float(amount)
    for name in channels_off:
        ch = known_channel(model, "channels off", name)
        entry = data["channels"][name]
        if ch.type == "paid":
            entry["daily_budget"] = 0.0
        entry["rate"] = {}
        # Effects stay: with no touches they are inert, and keeping them keeps the
        # engine's arithmetic identical for customers the channel never reached.
        wom = data.get("word_of_mouth")
        if wom and wom["channel"] == name:
            wom["contact_rate"] = 0.0
    if horizon_days is not None:
        if not (math.isfinite(horizon_days) and horizon_days > 0):
            raise OptionError(f"days is {horizon_days!r}; expected a number > 0")
        data["horizon_days"] = float(horizon_days)
    return validate_model(data, source=None)


def known_channel(model: JourneyModel, option: str, name: str) -> Channel:
    """MODEL's channel NAME; an OptionError naming OPTION and the known channels if none."""
    if name not in model.channels:
        known = ", ".join(model.channels) or "(none)"
        raise OptionError(f"{option}: unknown channel '{name}'; expected one of: {known}")
    return model.channels[name]
