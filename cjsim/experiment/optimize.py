r"""Response curves and budget allocation.

A **response curve** says what a channel returns (conversions or revenue) for a spend.
Two saturating shapes from :mod:`cjsim.model.curves` are fitted with ``scipy.optimize.
curve_fit``: Michaelis-Menten :math:`f(x) = v\,x / (k + x)` and Hill
:math:`f(x) = v\,x^s / (x^s + k^s)`; the fit's covariance gives a confidence band by the
delta method.

**Allocation** maximises :math:`\sum_c f_c(x_c)` subject to :math:`\sum_c x_c = B` and
per-channel bounds. For concave curves the optimum equalises marginal returns across the
channels that are not at a bound (the Karush-Kuhn-Tucker conditions), so it is found by
bisection on the common marginal return :math:`\lambda`: each channel spends where
:math:`f_c'(x_c) = \lambda` (clipped to its bounds), and :math:`\lambda` is moved until the
spends add up to the budget. In *flexible* mode there is no fixed total: each channel
spends until its marginal return falls to a target (e.g. a marginal ROAS of 1). Curves
that are not concave (Hill with slope > 1) are handled by a numerical optimiser from
several starting points.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize, stats

from cjsim._pool import pool_map
from cjsim.errors import OptionError
from cjsim.model import JourneyModel

#: The spawn key of the validation runs' random numbers (apart from the curves' streams).
VALIDATION_STREAM = 2**31 + 1


@dataclass(frozen=True)
class ResponseCurve:
    """A saturating response to spend: Michaelis-Menten (``slope = 1``) or Hill.

    Attributes
    ----------
    top : float
        The response the channel approaches as spend grows.
    half : float
        The spend at which it returns half of ``top``.
    slope : float
        Hill slope (1 for Michaelis-Menten: concave everywhere).
    covariance : ndarray, optional
        Covariance of the fitted (top, half[, slope]), for the confidence band.
    """

    top: float
    half: float
    slope: float = 1.0
    covariance: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __call__(self, spend: ArrayLike) -> np.ndarray:
        x = np.maximum(np.asarray(spend, dtype=np.float64), 0.0)
        xs = x**self.slope
        return self.top * xs / (xs + self.half**self.slope)

    def marginal(self, spend: ArrayLike) -> np.ndarray:
        """Derivative of the response: extra return per extra unit of spend."""
        x = np.maximum(np.asarray(spend, dtype=np.float64), 1e-300)
        s, k = self.slope, self.half
        return self.top * s * k**s * x ** (s - 1) / (x**s + k**s) ** 2

    @property
    def concave(self) -> bool:
        return self.slope <= 1.0

    def band(self, spend: ArrayLike, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise confidence band of the fitted curve (delta method)."""
        x = np.asarray(spend, dtype=np.float64)
        if self.covariance is None:
            y = self(x)
            return y, y
        params = [self.top, self.half, self.slope][: self.covariance.shape[0]]
        eps = 1e-6 * np.maximum(np.abs(params), 1e-12)
        grads = []
        for j in range(len(params)):
            p = list(params)
            p[j] += eps[j]
            up = ResponseCurve(p[0], p[1], p[2] if len(p) == 3 else self.slope)
            grads.append((up(x) - self(x)) / eps[j])
        g = np.stack(grads, axis=-1)
        se = np.sqrt(np.einsum("...i,ij,...j->...", g, self.covariance, g))
        z = stats.norm.ppf(0.5 + level / 2)
        return self(x) - z * se, self(x) + z * se


def fit_response(spend: ArrayLike, response: ArrayLike, *, kind: str = "michaelis_menten"
                 ) -> ResponseCurve:  # fmt: skip
    """Fit a response curve to (spend, response) points, e.g. simulated replications.

    ``kind`` is ``michaelis_menten`` (top, half) or ``hill`` (top, half, slope).
    """
    x = np.asarray(spend, dtype=np.float64)
    y = np.asarray(response, dtype=np.float64)
    if x.shape != y.shape or x.size < 3:
        raise OptionError("a response curve needs at least 3 (spend, response) points")
    top0 = max(float(y.max()), 1e-9) * 1.5
    half0 = max(float(np.median(x[x > 0])) if (x > 0).any() else 1.0, 1e-9)
    if kind == "michaelis_menten":

        def f(x: np.ndarray, top: float, half: float) -> np.ndarray:
            return top * x / (x + half)

        p, cov = optimize.curve_fit(f, x, y, p0=[top0, half0], bounds=([0, 1e-12], np.inf))
        return ResponseCurve(float(p[0]), float(p[1]), 1.0, cov)
    if kind == "hill":

        def g(x: np.ndarray, top: float, half: float, slope: float) -> np.ndarray:
            return ResponseCurve(top, half, slope)(x)

        p, cov = optimize.curve_fit(
            g, x, y, p0=[top0, half0, 1.0], bounds=([0, 1e-12, 0.1], [np.inf, np.inf, 10.0])
        )
        return ResponseCurve(float(p[0]), float(p[1]), float(p[2]), cov)
    raise OptionError(f"kind is {kind!r}; expected 'michaelis_menten' or 'hill'")


@dataclass(frozen=True)
class Allocation:
    """An allocation of spend: per channel spend, response and marginal return."""

    table: pd.DataFrame  # channel, spend, response, marginal, at_bound
    total_spend: float
    total_response: float
    marginal: float | None  # the common marginal return of the unbounded channels

    def __repr__(self) -> str:
        return (
            f"Allocation(total_spend={self.total_spend:,.2f}, "
            f"total_response={self.total_response:,.4g})\n{self.table.to_string(index=False)}"
        )


def _spend_at(curve: ResponseCurve, lam: float, lo: float, hi: float) -> float:
    """Spend where a concave curve's marginal return equals ``lam``, within [lo, hi]."""
    if curve.marginal(lo) <= lam:
        return lo
    if np.isfinite(hi) and curve.marginal(hi) >= lam:
        return hi
    a, b = lo, max(hi if np.isfinite(hi) else 0.0, lo + 1.0)
    while not np.isfinite(hi) and curve.marginal(b) > lam:
        b *= 2.0
    for _ in range(200):
        m = 0.5 * (a + b)
        if curve.marginal(m) > lam:
            a = m
        else:
            b = m
        if b - a <= 1e-12 * max(1.0, b):
            break
    return 0.5 * (a + b)


def allocate_budget(
    curves: Mapping[str, ResponseCurve],
    budget: float | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    *,
    target_marginal: float | None = None,
) -> Allocation:
    """Split a budget across channels to maximise the total response.

    Parameters
    ----------
    curves : mapping of channel -> ResponseCurve
        Fitted by :func:`fit_response`, or a planner's own (e.g. from an MMM).
    budget : float, optional
        The total to spend (fixed-budget mode).
    bounds : mapping of channel -> (low, high), optional
        Per-channel spend limits (default 0 to unlimited).
    target_marginal : float, optional
        Flexible mode (no ``budget``): every channel spends until its marginal return
        falls to this value (for revenue curves, a marginal ROAS; 1 = break even).
    """
    if not curves:
        raise OptionError("no response curves to allocate over")
    names = list(curves)
    lo = np.array([(bounds or {}).get(c, (0.0, np.inf))[0] for c in names], dtype=np.float64)
    hi = np.array([(bounds or {}).get(c, (0.0, np.inf))[1] for c in names], dtype=np.float64)
    if (lo < 0).any() or (hi < lo).any():
        raise OptionError("bounds must satisfy 0 <= low <= high for every channel")
    unknown = set(bounds or {}) - set(names)
    if unknown:
        raise OptionError(f"bounds for unknown channel(s): {', '.join(sorted(unknown))}")
    cs = [curves[c] for c in names]
    if (budget is None) == (target_marginal is None):
        raise OptionError("give either a budget (fixed total) or a target marginal return")
    if target_marginal is not None:
        if not target_marginal > 0:
            raise OptionError(f"target marginal return is {target_marginal!r}; expected > 0")
        x = np.array([_spend_at(c, target_marginal, a, b) for c, a, b in
                      zip(cs, lo, hi, strict=True)])  # fmt: skip
        return _allocation(names, cs, x, lo, hi, target_marginal)
    assert budget is not None
    if not (np.isfinite(budget) and budget >= 0):
        raise OptionError(f"budget is {budget!r}; expected a finite amount >= 0")
    if budget < lo.sum() - 1e-9 or budget > hi.sum() + 1e-9:
        raise OptionError(
            f"budget {budget:,.2f} is outside what the bounds allow "
            f"({lo.sum():,.2f} to {hi.sum():,.2f})"
        )
    if all(c.concave for c in cs):
        x = _water_fill(cs, budget, lo, hi)
    else:
        x = _numeric(cs, budget, lo, hi)
    free = (x > lo + 1e-9) & (x < hi - 1e-9)
    lam = (
        float(np.mean([c.marginal(v) for c, v, f in zip(cs, x, free, strict=True) if f]))
        if (free.any())
        else None
    )
    return _allocation(names, cs, x, lo, hi, lam)


def _water_fill(cs: list[ResponseCurve], budget: float, lo: np.ndarray, hi: np.ndarray
                ) -> np.ndarray:  # fmt: skip
    def spend(lam: float) -> np.ndarray:
        return np.array([_spend_at(c, lam, a, b) for c, a, b in zip(cs, lo, hi, strict=True)])

    a = 1e-300
    b = max(float(c.marginal(v)) for c, v in zip(cs, lo, strict=True)) + 1.0
    for _ in range(300):  # total spend falls as the common marginal return rises
        m = np.sqrt(a * b) if a > 0 else b / 2
        if spend(m).sum() > budget:
            a = m
        else:
            b = m
        if b / a < 1 + 1e-13:
            break
    x = spend(b)
    # put what the bisection's rounding left over on the channels not at a bound
    free = (x > lo + 1e-9) & (x < hi - 1e-9)
    if free.any():
        x[free] += (budget - x.sum()) / free.sum()
        x = np.clip(x, lo, hi)
    return x


def _numeric(cs: list[ResponseCurve], budget: float, lo: np.ndarray, hi: np.ndarray
             ) -> np.ndarray:  # fmt: skip
    n = len(cs)
    cap = np.where(np.isfinite(hi), hi, budget)
    best = None
    starts = [np.full(n, budget / n)] + [np.eye(n)[i] * budget for i in range(n)]
    for x0 in starts:
        x0 = np.clip(x0, lo, cap)
        res = optimize.minimize(
            lambda x: -sum(float(c(v)) for c, v in zip(cs, x, strict=True)),
            x0,
            jac=lambda x: -np.array([float(c.marginal(v)) for c, v in zip(cs, x, strict=True)]),
            bounds=list(zip(lo, cap, strict=True)),
            constraints=[{"type": "eq", "fun": lambda x: x.sum() - budget}],
            method="SLSQP",
        )
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    return np.asarray(best.x)


def _allocation(names: list[str], cs: list[ResponseCurve], x: np.ndarray, lo: np.ndarray,
                hi: np.ndarray, lam: float | None) -> Allocation:  # fmt: skip
    response = np.array([float(c(v)) for c, v in zip(cs, x, strict=True)])
    table = pd.DataFrame(
        {
            "channel": names,
            "spend": x,
            "response": response,
            "marginal": [float(c.marginal(v)) for c, v in zip(cs, x, strict=True)],
            "at_bound": (x <= lo + 1e-9) | (x >= hi - 1e-9),
        }
    )
    return Allocation(table, float(x.sum()), float(response.sum()), lam)


# -- from a model: simulated response curves, the best split, and its validation ---------


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
    import os

    from cjsim.experiment.stats import mean_interval

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
    workers = workers or os.cpu_count() or 1
    seeds = np.random.SeedSequence(rng).spawn(replications)
    jobs: dict[Any, JourneyModel] = {}
    for c in paid:
        for s in scales:
            jobs[(c, s)] = model.with_overrides(budgets={c: current[c] * s})
    runs = _simulate_grid(jobs, customers, seeds, workers)
    # a day's spend of the population per unit of the sample's spend over the horizon
    spend_per_budget = model.step_days * model.steps * customers / model.population
    rows = []
    for (c, s), _ in jobs.items():
        for r in range(replications):
            gain = runs[((c, s), r)][metric] - runs[((c, 0.0), r)][metric]
            daily = runs[((c, s), r)][f"spend:{c}"] / spend_per_budget
            rows.append((c, s, current[c] * s, r, daily, gain))
    points = pd.DataFrame(rows, columns=["channel", "scale", "daily_budget", "replication",
                                         "daily_spend", "gain"])  # fmt: skip
    curves: dict[str, ResponseCurve] = {}
    spent: dict[str, float] = {}
    for c in paid:
        g = points[points["channel"] == c]
        curves[c] = fit_response(g["daily_spend"].to_numpy(), g["gain"].to_numpy())
        # the share of its budget a channel spends: the same at every budget (a touch
        # costs in proportion), up to how the budget moves people between stages
        spent[c] = float(g["daily_spend"].sum() / max(g["daily_budget"].sum(), 1e-300))
    total = sum(current[c] * spent[c] for c in paid) if budget is None else budget
    # no channel goes past the largest budget simulated: the curves are not data beyond it
    bounds = {c: (0.0, b * spent[c] * max(scales)) for c, b in current.items()}
    if max_change is not None:
        bounds = {c: (b * spent[c] * max(0.0, 1 - max_change),
                      min(bounds[c][1], b * spent[c] * (1 + max_change)))
                  for c, b in current.items()}  # fmt: skip
    if target_marginal is not None:
        # the curves are in daily spend; a unit of it is spend_per_budget of the sample's
        allocation = allocate_budget(
            curves, None, bounds, target_marginal=target_marginal * spend_per_budget
        )
    else:
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
        allocation = allocate_budget(curves, total, bounds)
    proposed = {
        c: x / spent[c] if spent[c] > 0 else 0.0
        for c, x in zip(allocation.table.channel, allocation.table.spend, strict=True)
    }
    # validated on fresh customers: the split was chosen on the curves' noise, and the same
    # draws would flatter it (the winner's curse); a stream apart from the fit's
    fresh = np.random.SeedSequence(rng, spawn_key=(VALIDATION_STREAM,)).spawn(replications)
    check = _simulate_grid(
        {"current": model, "proposed": model.with_overrides(budgets=proposed)},
        customers, fresh, workers,
    )  # fmt: skip
    val = []
    for m in ("conversions", "revenue", "spend", "roas"):
        a = np.array([check[("current", r)][m] for r in range(replications)])
        b = np.array([check[("proposed", r)][m] for r in range(replications)])
        d, lo, hi = mean_interval(b - a, level)
        val.append((m, a.mean(), b.mean(), d, lo, hi))
    validation = pd.DataFrame(val, columns=["metric", "current", "proposed", "diff",
                                            "diff_low", "diff_high"])  # fmt: skip
    return Optimisation(curves, points, current, allocation, validation, metric,
                        spend_per_budget, spent)  # fmt: skip
