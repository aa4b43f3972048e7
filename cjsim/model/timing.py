"""When money is spent and when customers come: budget flighting and arrivals over time.

``[channels.NAME.flighting]``
    the budget of each period of ``period_days`` days as a multiple of ``daily_budget``:
    period ``k`` of the horizon (days ``k * period_days`` to ``(k + 1) * period_days``)
    spends ``daily_budget * levels[k % len(levels)]`` a day (the list repeats). A model
    whose levels average 1 keeps ``daily_budget`` as its mean. On a level's days a paid
    channel's reach and the cost of a touch follow that day's budget through the same
    Poisson reach curve as a steady budget does (:mod:`cjsim.model.compiled`), so a level
    of 2 buys what doubling ``daily_budget`` buys. Flighting is what lets a marketing-mix
    model tell a channel's effect from the baseline: spend that never changes cannot be
    told apart from demand that never changes.
``[arrivals]``
    customers enter the market over time instead of all on day 0: each one's first day
    is drawn from ``over_days`` days (default: the horizon), uniformly or, with an
    ``amplitude``, with a seasonal cycle of ``period_days`` peaking on ``peak_day``
    (arrivals at time ``d`` are proportional to
    ``1 + amplitude * cos(2 pi (d - peak_day) / period_days)``, taken at the middle of
    each step). Before their day a
    customer is not in the market: nothing touches them and they do not move. A world of
    arrivals has a steady flow of new demand, as a market does, instead of one cohort
    that ages; its period-by-period panel is what a marketing-mix model expects.
    ``initial_share`` of the customers are in the market on day 0 already (a market that
    was running before the horizon: about the arrivals of one typical stay, so that the
    first weeks are not a ramp-up).

Both sections are optional; a model without them simulates and hashes as it did before
they existed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated

import numpy as np
from pydantic import Field

from cjsim.errors import ModelError
from cjsim.limits import MAX_STEPS
from cjsim.model.fields import Frozen, NonNegative, Positive

if TYPE_CHECKING:
    from cjsim.model.schema import JourneyModel


class Flighting(Frozen):
    """A paid channel's budget, period by period, as multiples of its ``daily_budget``."""

    period_days: Positive = 7.0
    levels: list[NonNegative] = Field(min_length=1, max_length=MAX_STEPS)


class Arrivals(Frozen):
    """Customers enter the market over ``over_days`` days, possibly seasonally."""

    over_days: Positive | None = None
    initial_share: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    amplitude: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    period_days: Positive = 365.0
    peak_day: NonNegative = 0.0


def step_levels(flighting: Flighting | None, steps: int, step_days: float) -> np.ndarray:
    """Each step's budget level (multiple of the daily budget), shape ``(steps,)``.

    A step takes the level of the period its first day falls in; no flighting: all 1.
    """
    if flighting is None:
        return np.ones(steps)
    day = np.arange(steps) * step_days
    period = np.floor(day / flighting.period_days + 1e-9).astype(np.int64)
    return np.asarray(flighting.levels, dtype=np.float64)[period % len(flighting.levels)]


def arrival_weights(arrivals: Arrivals, steps: int, step_days: float) -> np.ndarray:
    """The chance of arriving in each step, shape ``(steps,)`` (sums to 1).

    A step's weight is the seasonal curve at the middle of its part within ``over_days``
    (default: the horizon) times the length of that part: a step cut by the end of the
    span gets its share, one past it none.
    """
    span = arrivals.over_days if arrivals.over_days is not None else steps * step_days
    day = np.arange(steps) * step_days
    # the part of each step within the span, and the cycle at that part's middle
    inside = np.clip(span - day, 0.0, step_days)
    w = 1.0 + arrivals.amplitude * np.cos(
        2.0 * math.pi * (day + inside / 2 - arrivals.peak_day) / arrivals.period_days
    )
    w = np.maximum(w, 0.0) * inside
    if w.sum() <= 0.0:
        w[0] = 1.0
    w = w / w.sum() * (1.0 - arrivals.initial_share)
    w[0] += arrivals.initial_share
    return w


def arrival_steps(arrivals: Arrivals, steps: int, step_days: float, u: np.ndarray) -> np.ndarray:
    """Each customer's arrival step (int32) from their uniform ``u`` by inverse CDF."""
    cum = np.cumsum(arrival_weights(arrivals, steps, step_days))
    return np.searchsorted(cum, u, side="right").clip(0, steps - 1).astype(np.int32)


def check_timing(m: JourneyModel, source: str | None) -> None:
    """Cross-checks of flighting and arrivals (what a section can only be wrong about
    together with the rest of the model)."""
    for name, ch in m.channels.items():
        if ch.flighting is None:
            continue
        key = f"channels.{name}.flighting"
        if ch.type != "paid":
            raise ModelError(
                "flighting sets a paid channel's budget over time; this channel is organic",
                source=source,
                key=key,
            )
        if ch.flighting.period_days < m.step_days - 1e-9:
            raise ModelError(
                f"period_days = {ch.flighting.period_days:g} is shorter than a step "
                f"({m.step_days:g} days); expected at least one step",
                source=source,
                key=f"{key}.period_days",
            )
    a = m.arrivals
    if a is not None and a.over_days is not None and a.over_days > m.horizon_days + 1e-9:
        raise ModelError(
            f"over_days = {a.over_days:g} is beyond the horizon ({m.horizon_days:g} days); "
            "expected customers to arrive within it",
            source=source,
            key="arrivals.over_days",
        )
