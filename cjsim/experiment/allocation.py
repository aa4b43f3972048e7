r"""Budget allocation: the split of a budget that maximises the total response.

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
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from cjsim.errors import OptionError
from cjsim.experiment.response import ResponseCurve


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
