r"""Intervals over replications that include the truth's own noise.

The truth is one estimate :math:`\hat\tau` with standard error :math:`\sigma`, shared by
every replication: its error does not average away over replications. A mean over
replications :math:`\bar x = \frac1R \sum_r x_r` gets the interval

.. math::

    \bar x \pm \sqrt{t_{R-1}^2\, s_x^2 / R + z^2\, \sigma_x^2}

with :math:`s_x^2` the variance over replications, :math:`t_{R-1}` and :math:`z` the
Student and normal quantiles of the level: each part of the error keeps its own
quantile (the truth comes from thousands of blocks of customers, so its part is
normal) and the two half-widths add in quadrature. With :math:`\sigma_x = 0` this is the
usual t-interval over replications, the truth's noise can only widen it, and with one
replication there is no interval. (A Welch-Satterthwaite t would let a large truth
variance *narrow* the interval at two or three replications, by raising the degrees of
freedom.) :math:`\sigma_x^2` is the variance :math:`\bar x` inherits from the truth:

* errors linear in the truth (share bias, excess conversions, ROAS error):
  :math:`\sigma_x = \sigma_c`, the channel's standard error;
* ratios to the truth (over-credit :math:`\bar x = \bar A / T`): the delta method,
  :math:`\sigma_x = \bar x\,\sigma_T / T`;
* everything else (MAE, ROAS MAE, a budget move's gain and regret, a method's MAE minus
  the best one's): a parametric bootstrap. :data:`TRUTH_DRAWS` draws of the truth from
  normals with its standard errors (seeded, so deterministic); :math:`\sigma_x^2` is the
  variance over the draws of :math:`\bar x` computed against each draw, while the point
  estimate stays the one against :math:`\hat\tau`.

Draws of shares keep their total (they are shares of one total, so their errors cancel):
independent normal errors are projected onto a zero sum and scaled back to each share's
standard error (:func:`truth_draws` with ``fixed_sum``). For two noisy channels this is
the exact joint distribution (equal standard errors, perfectly opposed errors); for more
it is an approximation, since the truth reports no covariances. ROAS and marginal ROAS
draws are independent across channels (common random numbers make them correlated;
without covariances, independence is the stated assumption).

References
----------
Efron, B. & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*, ch. 6
(the parametric bootstrap).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd

#: Draws of the truth for the parametric bootstrap of truth noise.
TRUTH_DRAWS = 2000


def interval(
    values: np.ndarray, level: float = 0.95, truth_var: float = 0.0
) -> tuple[float, float, float]:
    r"""Mean over replications and its t-interval, widened by the truth's variance.

    The one mean-with-interval of cjsim: experiment summaries
    (:mod:`cjsim.experiment.stats`), a budget split's validation and every score use it.
    The half-width is :math:`\sqrt{t_{n-1}^2\, s^2/n + z^2 \sigma_x^2}`; without a truth
    variance it is the Student t-interval of the mean.

    Parameters
    ----------
    values : array
        One value per replication (NaN and infinite ones are dropped).
    level : float
        Confidence level.
    truth_var : float
        Variance the mean inherits from the truth, :math:`\sigma_x^2` (NaN: none known).

    Returns
    -------
    mean, low, high : float
        NaN bounds with fewer than two values; when every value is the same (a difference
        of identical runs) and the truth adds no variance, ``low = high = mean``, exactly
        that value.
    """
    from scipy.stats import norm, t

    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    same = bool((values == values[0]).all())
    mean = float(values[0]) if same else float(values.mean())
    if values.size < 2:
        return mean, float("nan"), float("nan")
    rep_var = 0.0 if same else float(values.var(ddof=1)) / values.size
    truth_var = 0.0 if not np.isfinite(truth_var) else float(truth_var)
    if rep_var + truth_var <= 0:
        return mean, mean, mean
    q = (1 + level) / 2
    half = float(np.sqrt(t.ppf(q, values.size - 1) ** 2 * rep_var + norm.ppf(q) ** 2 * truth_var))
    return mean, mean - half, mean + half


def truth_draws(
    center: np.ndarray,
    se: np.ndarray,
    n: int = TRUTH_DRAWS,
    rng: int | np.random.Generator | None = 0,
    *,
    fixed_sum: bool = False,
) -> np.ndarray:
    """Draws of a truth from normals with its standard errors, shape ``(n, K)``.

    With ``fixed_sum`` (shares of one total) the errors are projected onto a zero sum,
    then scaled back so each channel keeps its standard error (see the module's notes).
    Channels with a zero or unknown standard error stay at their centre.
    """
    gen = np.random.default_rng(rng)
    center = np.asarray(center, dtype=np.float64)
    se = np.nan_to_num(np.asarray(se, dtype=np.float64), nan=0.0)
    eps = gen.standard_normal((n, center.size)) * se
    noisy = se > 0
    if fixed_sum and noisy.sum() >= 2:
        var = se[noisy] ** 2
        e = eps[:, noisy]
        e = e - var * (e.sum(axis=1, keepdims=True) / var.sum())
        kept = np.sqrt(np.clip(var - var**2 / var.sum(), 0, None))
        eps[:, noisy] = np.where(kept > 0, e * se[noisy] / np.where(kept > 0, kept, 1), e)
    return center + eps


def draw_var(draws: np.ndarray) -> np.ndarray:
    """Variance over truth draws (axis 0); 0 without draws."""
    return draws.var(axis=0, ddof=1) if draws.shape[0] > 1 else np.zeros(draws.shape[1:])


def cube(frame: pd.DataFrame, column: str, methods: list, reps: list, channels: list) -> np.ndarray:
    """A long table's ``column`` as an array (method, replication, channel); NaN if absent."""
    keys = ["method", "replication", "channel"]
    wide = frame.groupby(keys, sort=False)[column].sum(min_count=1).unstack("channel")
    full = pd.MultiIndex.from_product([methods, reps], names=["method", "replication"])
    wide = wide.reindex(index=full, columns=channels)
    return wide.to_numpy(dtype=np.float64).reshape(len(methods), len(reps), len(channels))


def labels(frame: pd.DataFrame) -> tuple[list, list, list]:
    return (
        list(dict.fromkeys(frame["method"])),
        sorted(frame["replication"].unique()),
        list(dict.fromkeys(frame["channel"])),
    )


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence numpy's 'mean of empty slice' (a channel without spend has no ROAS)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
