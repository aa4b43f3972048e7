"""The best budget split of a model's paid channels, by simulation, and its check.

:func:`optimise_model` simulates each paid channel's response to its budget on paired
replications, fits a response curve per channel (:mod:`cjsim.experiment.response`),
splits the daily spend so that marginal returns are equal
(:mod:`cjsim.experiment.allocation`), and validates the proposed mix against the current
one on fresh random numbers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cjsim._pool import pool_map
from cjsim.errors import OptionError
from cjsim.experiment.allocation import Allocation, allocate_budget
from cjsim.experiment.response import ResponseCurve, fit_response
from cjsim.model import JourneyModel

#: The spawn key of the validation runs' random numbers (apart from the curves' streams).
VALIDATION_STREAM = 2**31 + 1


@dataclass
class Optimisation:
    """Simulated response curves of a model's paid channels and the best budget split."""

    curves: dict[str, ResponseCurve]  # gain by daily spend (the population's)
    points: pd.DataFrame  # channel, scale, daily_budget, replication, daily_spend, gain
    current: dict[str, float]  # daily budgets now
    allocation: Allocation  # of daily spend
    validation: pd.DataFrame  # metric, current, proposed, diff, diff_low, diff_high
    metric: str
    spend_per_budget: float  # the sample's spend over the horizon per unit of daily spend
    spent: dict[str, float] = field(default_factory=dict)  # spend per unit of budget

    def _repr_html_(self) -> str:
        return (
            f"<p><b>Budget split</b> maximising {self.metric}</p>"
            + self.table().to_html(index=False, float_format=lambda x: f"{x:,.3f}")
            + "<p>Validation (paired replications, 95% interval of the difference)</p>"
            + self.validation.to_html(index=False, float_format=lambda x: f"{x:,.2f}")
        )

    def table(self) -> pd.DataFrame:
        """Per channel: current and proposed daily budget and spend, marginal returns per
        unit of spend at both (a marginal ROAS for revenue)."""
        rows = []
        for c, curve in self.curves.items():
            rho = self.spent.get(c, 1.0)
            now = self.current[c] * rho
            new = float(self.allocation.table.set_index("channel").spend[c])
            rows.append({
                "channel": c, "current_budget": self.current[c],
                "proposed_budget": new / rho if rho > 0 else 0.0,
                "current_spend": now, "proposed_spend": new, "spent_share": rho,
                "marginal_now": float(curve.marginal(now)) / self.spend_per_budget,
                "marginal_proposed": float(curve.marginal(new)) / self.spend_per_budget,
                "top": curve.top, "half": curve.half,
            })  # fmt: skip
        return pd.DataFrame(rows)


def _simulate_grid(
    jobs: dict[Any, JourneyModel], customers: int, seeds: list[Any], workers: int
) -> dict[tuple[Any, int], dict[str, float]]:
    """Every model of ``jobs`` on every seed (paired replications), with channel spend."""
    from cjsim.experiment.tasks import task_metrics

    keys = [(k, r) for k in jobs for r in range(len(seeds))]
    args = [(jobs[k], customers, seeds[r], "markov", True) for k, r in keys]
    if workers <= 1:
        results = [task_metrics(*a) for a in args]
    else:
        results = pool_map(task_metrics, *zip(*args, strict=True), workers=workers)
    return dict(zip(keys, results, strict=True))


def optimise_model(
    model: JourneyModel,
    customers: int = 20_000,
    *,
    replications: int = 4,
    rng: int = 0,
    metric: str = "revenue",
    scales: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
    budget: float | None = None,
    max_change: float | None = None,
    target_marginal: float | None = None,
    workers: int | None = None,
    level: float = 0.95,
) -> Optimisation:
    """Response curves by simulation, the best split of the daily spend, and a check.

    For each paid channel, the model is simulated with its daily budget scaled by each of
    ``scales`` (the others as they are), on the same customers and random numbers
    (paired replications); the gain over the channel switched off is fitted against the
    channel's measured spend (a day's, scaled to the population: delivered touches times
    their cost, which may be less than the budget when the budget finds too few people to
    touch) with a Michaelis-Menten curve. :func:`allocate_budget` splits ``budget``, the
    daily money to spend (default: what the channels spend now), so that marginal returns
    per unit of spend are equal; each channel's proposed budget is its share of the
    spend over the share of its budget it spends (measured). The proposed mix is validated
    against the current one with paired replications on fresh random numbers (not those
    the curves were fitted on).
    ``max_change`` (e.g. 0.5) keeps every channel within that fraction of its current daily
    budget, as a planner's mandate usually does. No channel
    is given more than its largest simulated budget (``max(scales)`` x current): beyond
    the grid a fitted curve is extrapolation.

    ``target_marginal`` switches to a flexible total: every channel spends until one more
    unit of spend returns this much of ``metric`` (a marginal ROAS for revenue, e.g. 1.0
    to break even; one over the target marginal cost per acquisition for conversions).
    """
    current = _check_request(model, metric, scales, budget, max_change, target_marginal)
    workers = workers or os.cpu_count() or 1
    seeds = np.random.SeedSequence(rng).spawn(replications)
    # a day's spend of the population per unit of the sample's spend over the horizon
    spend_per_budget = model.step_days * model.steps * customers / model.population
    points = _response_points(model, current, scales, customers, seeds, workers, metric)
    curves: dict[str, ResponseCurve] = {}
    spent: dict[str, float] = {}
    for c in current:
        g = points[points["channel"] == c]
        curves[c] = fit_response(g["daily_spend"].to_numpy(), g["gain"].to_numpy())
        # the share of its budget a channel spends: the same at every budget (a touch
        # costs in proportion), up to how the budget moves people between stages
        spent[c] = float(g["daily_spend"].sum() / max(g["daily_budget"].sum(), 1e-300))
    bounds = _spend_bounds(current, spent, max(scales), max_change)
    if target_marginal is not None:
        # the curves are in daily spend; a unit of it is spend_per_budget of the sample's
        allocation = allocate_budget(
            curves, None, bounds, target_marginal=target_marginal * spend_per_budget
        )
    else:
        total = sum(current[c] * spent[c] for c in current) if budget is None else budget
        _check_total(total, bounds, max_change)
        allocation = allocate_budget(curves, total, bounds)
    proposed = {
        c: x / spent[c] if spent[c] > 0 else 0.0
        for c, x in zip(allocation.table.channel, allocation.table.spend, strict=True)
    }
    # validated on fresh customers: the split was chosen on the curves' noise, and the same
    # draws would flatter it (the winner's curse); a stream apart from the fit's
    fresh = np.random.SeedSequence(rng, spawn_key=(VALIDATION_STREAM,)).spawn(replications)
    validation = _validate(model, proposed, customers, fresh, workers, level)
    return Optimisation(curves, points, current, allocation, validation, metric,
                        spend_per_budget, spent)  # fmt: skip


def _check_request(
    model: JourneyModel,
    metric: str,
    scales: tuple[float, ...],
    budget: float | None,
    max_change: float | None,
    target_marginal: float | None,
) -> dict[str, float]:
    """The paid channels' current daily budgets, once the request is checked: a known
    metric, paid channels, one kind of total, a budget the simulated grid can take."""
    if metric not in ("revenue", "conversions"):
        raise OptionError(f"metric is {metric!r}; expected 'revenue' or 'conversions'")
    paid = [c for c, ch in model.channels.items() if ch.type == "paid"]
    if not paid:
        raise OptionError(f"model '{model.name}' has no paid channels to allocate")
    current = {c: float(model.channels[c].daily_budget or 0.0) for c in paid}
    if target_marginal is not None and budget is not None:
        raise OptionError("give either a budget (fixed total) or a target marginal return")
    if max_change is not None and not 0 <= max_change:
        raise OptionError(f"max_change is {max_change!r}; expected a fraction >= 0")
    ceiling = sum(current.values()) * max(scales)
    if max_change is not None:
        ceiling = min(ceiling, sum(current.values()) * (1 + max(max_change, 0.0)))
    if budget is not None and budget > ceiling + 1e-9:
        raise OptionError(
            f"budget {budget:,.2f} a day is more than the channels may take: each at most "
            f"{max(scales):g} x its current budget (the largest simulated; beyond it a "
            "curve is extrapolation)"
            + (f" and within +-{max_change:.0%}" if max_change is not None else "")
            + f", {ceiling:,.2f} in all; simulate larger scales or give a smaller budget"
        )
    return current


def _response_points(
    model: JourneyModel,
    current: dict[str, float],
    scales: tuple[float, ...],
    customers: int,
    seeds: list[Any],
    workers: int,
    metric: str,
) -> pd.DataFrame:
    """Each channel at each budget scale on every replication: its daily spend and the
    gain in ``metric`` over the channel switched off (scale 0, same random numbers)."""
    jobs: dict[Any, JourneyModel] = {}
    for c in current:
        for s in scales:
            jobs[(c, s)] = model.with_overrides(budgets={c: current[c] * s})
    runs = _simulate_grid(jobs, customers, seeds, workers)
    spend_per_budget = model.step_days * model.steps * customers / model.population
    rows = []
    for c, s in jobs:
        for r in range(len(seeds)):
            gain = runs[((c, s), r)][metric] - runs[((c, 0.0), r)][metric]
            daily = runs[((c, s), r)][f"spend:{c}"] / spend_per_budget
            rows.append((c, s, current[c] * s, r, daily, gain))
    return pd.DataFrame(rows, columns=["channel", "scale", "daily_budget", "replication",
                                       "daily_spend", "gain"])  # fmt: skip


def _spend_bounds(
    current: dict[str, float],
    spent: dict[str, float],
    top_scale: float,
    max_change: float | None,
) -> dict[str, tuple[float, float]]:
    """Each channel's daily spend limits: no more than its largest simulated budget (the
    curves are not data beyond it), and within ``max_change`` of its budget when given."""
    bounds = {c: (0.0, b * spent[c] * top_scale) for c, b in current.items()}
    if max_change is not None:
        bounds = {c: (b * spent[c] * max(0.0, 1 - max_change),
                      min(bounds[c][1], b * spent[c] * (1 + max_change)))
                  for c, b in current.items()}  # fmt: skip
    return bounds


def _check_total(
    total: float, bounds: dict[str, tuple[float, float]], max_change: float | None
) -> None:
    """A fixed total the channels can spend within their bounds."""
    floor = sum(lo for lo, _ in bounds.values())
    if total < floor - 1e-9:
        raise OptionError(
            f"budget {total:,.2f} a day is less than the channels must spend within "
            f"+-{max_change:.0%} of their budgets ({floor:,.2f} in all)"
        )
    if sum(hi for _, hi in bounds.values()) < total - 1e-9:
        raise OptionError(
            f"budget {total:,.2f} a day is more than the channels can spend: each "
            "spends at most what its largest simulated budget finds people to touch "
            f"({sum(hi for _, hi in bounds.values()):,.2f} in all)"
        )


def _validate(
    model: JourneyModel,
    proposed: dict[str, float],
    customers: int,
    seeds: list[Any],
    workers: int,
    level: float,
) -> pd.DataFrame:
    """The proposed budgets against the current ones on paired replications: per metric,
    both means and the difference with its ``level`` interval."""
    from cjsim.scoring.noise import interval

    check = _simulate_grid(
        {"current": model, "proposed": model.with_overrides(budgets=proposed)},
        customers, seeds, workers,
    )  # fmt: skip
    val = []
    for m in ("conversions", "revenue", "spend", "roas"):
        a = np.array([check[("current", r)][m] for r in range(len(seeds))])
        b = np.array([check[("proposed", r)][m] for r in range(len(seeds))])
        d, lo, hi = interval(b - a, level)
        val.append((m, a.mean(), b.mean(), d, lo, hi))
    return pd.DataFrame(val, columns=["metric", "current", "proposed", "diff",
                                      "diff_low", "diff_high"])  # fmt: skip
