r"""Lift-test estimators: what a holdout experiment measures, its interval and its power.

A user-level holdout (the ghost-ads design) keeps a random share of customers from ever
seeing a channel. With per-customer outcomes :math:`y_i` (converted or not, revenue) in the
exposed group T and the holdout H, the lift per customer is estimated by the difference in
means

.. math:: \hat\tau = \bar y_T - \bar y_H, \qquad
          \widehat{se} = \sqrt{s_T^2 / n_T + s_H^2 / n_H}

with a normal interval (Welch's unequal variances; the groups hold thousands of customers,
so the t and normal quantiles agree). Incremental ROAS divides the revenue lift by the
channel's spend per exposed customer, which the test knows exactly:
:math:`\widehat{iROAS} = \hat\tau_{value} / (S / n_T)`.

Power of the two-sided test at level :math:`\alpha` to detect a true lift :math:`\tau`:
:math:`\Phi(|\tau|/se - z_{1-\alpha/2}) + \Phi(-|\tau|/se - z_{1-\alpha/2})`; the minimum
detectable lift at power :math:`1-\beta` is :math:`(z_{1-\alpha/2} + z_{1-\beta})\, se`.

References
----------
Johnson, G. A., Lewis, R. A. & Nubbemeyer, E. I. (2017). Ghost ads: improving the
economics of measuring online ad effectiveness. *Journal of Marketing Research* 54(6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LiftEstimate:
    """A lift per customer with its standard error and interval."""

    lift: float
    se: float
    low: float
    high: float
    level: float

    @property
    def significant(self) -> bool:
        """True if the interval excludes zero."""
        return self.low > 0 or self.high < 0

    def covers(self, truth: float) -> bool:
        """True if the interval holds ``truth``."""
        return self.low <= truth <= self.high

    def scaled(self, factor: float) -> LiftEstimate:
        """The same estimate in other units (per 1,000 customers, over spend...)."""
        lo, hi = sorted((self.low * factor, self.high * factor))
        return LiftEstimate(self.lift * factor, self.se * abs(factor), lo, hi, self.level)


def normal_quantile(level: float) -> float:
    """The two-sided normal quantile of a confidence level (1.96 at 0.95)."""
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def t_quantile(level: float, df: float) -> float:
    """The two-sided Student t quantile of a confidence level (NaN without a degree of
    freedom)."""
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, df)) if df > 0 else math.nan


def difference_in_means(
    treated: np.ndarray, control: np.ndarray, level: float = 0.95, *, student: bool = False
) -> LiftEstimate:
    """Mean of ``treated`` minus mean of ``control``, with Welch's standard error.

    The interval uses the normal quantile (groups of thousands of customers), or with
    ``student`` the t quantile at the Welch-Satterthwaite degrees of freedom (a handful
    of geos)."""
    treated = np.asarray(treated, dtype=np.float64)
    control = np.asarray(control, dtype=np.float64)
    if treated.size < 2 or control.size < 2:
        nan = float("nan")
        return LiftEstimate(nan, nan, nan, nan, level)
    lift = float(treated.mean() - control.mean())
    vt, vc = treated.var(ddof=1) / treated.size, control.var(ddof=1) / control.size
    se = math.sqrt(vt + vc)
    if student:
        df = (
            (vt + vc) ** 2 / (vt**2 / (treated.size - 1) + vc**2 / (control.size - 1))
            if se > 0
            else 1.0
        )
        half = t_quantile(level, df) * se
    else:
        half = normal_quantile(level) * se
    return LiftEstimate(lift, se, lift - half, lift + half, level)


def power(true_lift: float, se: float, level: float = 0.95) -> float:
    """Probability that a two-sided test at ``level`` finds a lift of ``true_lift``."""
    from scipy.stats import norm

    if not se > 0:
        return float("nan")
    z = normal_quantile(level)
    shift = abs(true_lift) / se
    return float(norm.cdf(shift - z) + norm.cdf(-shift - z))


def minimum_detectable_lift(
    se: float, level: float = 0.95, target_power: float = 0.8, df: float | None = None
) -> float:
    """The smallest lift found with probability ``target_power`` by a test of this ``se``
    (normal quantiles; with ``df``, Student's t at those degrees of freedom, for tests
    over a few units such as geos)."""
    from scipy.stats import norm, t

    if df is None:
        return (normal_quantile(level) + float(norm.ppf(target_power))) * se
    return (t_quantile(level, df) + float(t.ppf(target_power, df))) * se


def binary_se(rate: float, n_treated: int, n_control: int) -> float:
    """Standard error of a difference in conversion rates near ``rate`` (for planning)."""
    return math.sqrt(rate * (1 - rate) * (1 / n_treated + 1 / n_control))


def roi_prior(roi: float, roi_se: float) -> tuple[float, float]:
    r"""A log-normal prior with mean ``roi`` and standard deviation ``roi_se`` (Meridian's
    ``roi_m`` form): its ``(mu, sigma)``, :math:`\sigma^2 = \ln(1 + (se/roi)^2)`,
    :math:`\mu = \ln roi - \sigma^2 / 2`; NaN for a ROI that is not positive."""
    if not roi > 0 or not np.isfinite(roi_se):
        return math.nan, math.nan
    sigma2 = math.log1p((roi_se / roi) ** 2)
    return math.log(roi) - sigma2 / 2, math.sqrt(sigma2)
