r"""A small baseline marketing-mix model: geometric adstock, saturation, regression.

For a panel (:mod:`cjsim.panel`) with target :math:`y_t` (revenue or conversions per
period) and spend :math:`x_{c,t}` of each paid channel,

.. math::

    y_t = b_0 + b_1 t + \sum_j \gamma_j z_{j,t}
          + \sum_c \beta_c\, \frac{a_{c,t}}{a_{c,t} + k_c} + \varepsilon_t,
    \qquad a_{c,t} = x_{c,t} + \theta_c\, a_{c,t-1}

with optional controls :math:`z_j` (standardised panel columns such as ``in_market``),
carry-over :math:`\theta_c \in [0, 0.9]`, half-saturation :math:`k_c > 0` (a
Michaelis-Menten curve: the Hill form of :mod:`cjsim.model.curves` with slope 1) and
effects :math:`\beta_c \ge 0`. The nonlinear parameters are fitted by variable
projection: for given :math:`(\theta, k)` the linear ones are non-negative least squares
(``scipy.optimize.lsq_linear``), and the residual sum of squares is minimised over
:math:`(\theta, \log k)` with L-BFGS-B from several starts. A channel's **ROAS** is its
fitted contribution over the panel divided by its spend. Intervals come from a residual
bootstrap (the whole fit repeated on resampled residuals), so they include the
uncertainty of carry-over and saturation.

It is deliberately plain -- the point is a reference to score against the truth without
installing an MMM library, not a competitor to PyMC-Marketing, Meridian or Robyn; their
estimates are scored the same way (``cjsim evaluate --mmm-estimates``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cjsim.errors import OptionError

MAX_CARRYOVER = 0.9


def adstock(spend: np.ndarray, theta: float) -> np.ndarray:
    """Geometric carry-over: :math:`a_t = x_t + \\theta a_{t-1}` (``a_0 = x_0``)."""
    from scipy.signal import lfilter

    return np.asarray(lfilter([1.0], [1.0, -theta], np.asarray(spend, dtype=np.float64)))


@dataclass(frozen=True)
class MMMFit:
    """A fitted baseline MMM.

    Attributes
    ----------
    table : DataFrame
        Per paid channel: ``spend, contribution, roas, roas_low, roas_high, carryover,
        half_saturation, beta``.
    r2 : float
        Share of the target's variance the fit explains.
    level : float
        Level of the bootstrap intervals.
    """

    table: pd.DataFrame
    r2: float
    level: float


#: Bounds of a channel's half-saturation over the mean of its adstocked spend: a curve
#: that saturates below a fifth of the typical level is flat over the data, a constant the
#: intercept already has (the two could trade any amount of revenue).
K_BOUNDS = (0.2, 20.0)


def _design(X: np.ndarray, theta: np.ndarray, log_k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Saturated adstock columns ``(T, C)`` and the half-saturations ``k`` (``log_k`` is
    each one's log over the mean of the channel's adstocked spend)."""
    cols = [adstock(X[:, c], theta[c]) for c in range(X.shape[1])]
    a = np.column_stack(cols) if cols else np.zeros((X.shape[0], 0))
    k = np.maximum(a.mean(axis=0), 1e-12) * np.exp(log_k)
    return a / (a + k), k


def _linear(Z: np.ndarray, base: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Non-negative media effects with free intercept and trend; (coefficients, RSS)."""
    from scipy.optimize import lsq_linear

    A = np.hstack([base, Z])
    lower = np.r_[np.full(base.shape[1], -np.inf), np.zeros(Z.shape[1])]
    res = lsq_linear(A, y, bounds=(lower, np.inf), method="bvls")
    resid = y - A @ res.x
    return res.x, float(resid @ resid)


def _fit_once(X: np.ndarray, base: np.ndarray, y: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(theta, log k) minimising the residual sum of squares, best of several starts."""
    from scipy.optimize import minimize

    C = X.shape[1]

    def rss(p: np.ndarray) -> float:
        return _linear(_design(X, p[:C], p[C:])[0], base, y)[1]

    bounds = [(0.0, MAX_CARRYOVER)] * C + [(math.log(K_BOUNDS[0]), math.log(K_BOUNDS[1]))] * C
    best = None
    for p0 in starts:
        res = minimize(rss, p0, method="L-BFGS-B", bounds=bounds)
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    return np.asarray(best.x)


def _controls(panel: pd.DataFrame, names: Sequence[str]) -> list[np.ndarray]:
    """The control columns, each scaled to mean 0 and sd 1 (a constant one is left out:
    the intercept has it)."""
    missing = [c for c in names if c not in panel.columns]
    if missing:
        raise OptionError(f"the panel lacks control {', '.join(missing)}")
    out = []
    for name in names:
        x = panel[name].to_numpy(np.float64)
        if x.std() > 0:
            out.append((x - x.mean()) / x.std())
    return out


def fit_mmm(
    panel: pd.DataFrame,
    channels: Sequence[str],
    *,
    target: str = "revenue",
    level: float = 0.95,
    bootstrap: int = 100,
    rng: int | None = 0,
    controls: Sequence[str] = (),
) -> MMMFit:
    """Fit the baseline MMM to a native panel (columns ``spend_<channel>`` and ``target``).

    Parameters
    ----------
    panel : DataFrame
        A panel from :func:`cjsim.panel.build_panel` (national: one row per period).
    channels : sequence of str
        The paid channels to fit.
    target : {"revenue", "conversions"}
    bootstrap : int
        Residual-bootstrap refits for the intervals (0: none).
    controls : sequence of str
        Panel columns fitted beside the intercept and the trend, standardised, with free
        signs (``in_market``: the demand spend follows).
    """
    missing = [f"spend_{c}" for c in channels if f"spend_{c}" not in panel.columns]
    if missing or target not in panel.columns:
        raise OptionError(
            f"the panel lacks {', '.join(missing) or target}; expected a native cjsim panel"
        )
    if "geo" in panel.columns and panel["geo"].nunique() > 1:
        raise OptionError("the baseline MMM is national; expected a panel without --geo")
    X = panel[[f"spend_{c}" for c in channels]].to_numpy(np.float64)
    y = panel[target].to_numpy(np.float64)
    T, C = X.shape
    if T < 2 * C + 3:
        raise OptionError(
            f"the panel has {T} periods for {C} channels; expected at least {2 * C + 3} "
            "(a longer horizon or shorter periods)"
        )
    base = np.column_stack([np.ones(T), np.arange(T) / T, *_controls(panel, controls)])
    gen = np.random.default_rng(rng)
    low_k, high_k = (math.log(b) for b in K_BOUNDS)
    spread = np.c_[gen.uniform(0, MAX_CARRYOVER, (3, C)), gen.uniform(low_k, high_k, (3, C))]
    starts = np.vstack([np.r_[np.full(C, 0.3), np.zeros(C)], spread])
    p = _fit_once(X, base, y, starts)
    theta = p[:C]
    Z, k = _design(X, theta, p[C:])
    coef, rss = _linear(Z, base, y)
    beta = coef[base.shape[1] :]
    fitted = np.hstack([base, Z]) @ coef
    spend = X.sum(axis=0)
    contribution = (Z * beta).sum(axis=0)
    roas = np.divide(contribution, spend, out=np.full(C, np.nan), where=spend > 0)
    draws = []
    resid = y - fitted
    for _ in range(bootstrap):
        y_b = fitted + gen.choice(resid, size=T, replace=True)
        p_b = _fit_once(X, base, y_b, p[None, :])
        Z_b = _design(X, p_b[:C], p_b[C:])[0]
        c_b, _ = _linear(Z_b, base, y_b)
        draws.append((Z_b * c_b[base.shape[1] :]).sum(axis=0) / np.where(spend > 0, spend, np.nan))
    if draws:
        low, high = np.nanquantile(np.array(draws), [(1 - level) / 2, (1 + level) / 2], axis=0)
    else:
        low = high = np.full(C, np.nan)
    table = pd.DataFrame({"channel": list(channels), "spend": spend,
                          "contribution": contribution, "roas": roas, "roas_low": low,
                          "roas_high": high, "carryover": theta, "half_saturation": k,
                          "beta": beta})  # fmt: skip
    total = float(((y - y.mean()) ** 2).sum())
    return MMMFit(table, 1 - rss / total if total > 0 else float("nan"), level)
