r"""Credited conversions against what each channel caused, and attributed ROAS.

Methods share out *every* conversion that has a path; the truth only those marketing
caused. The truth is measured on :math:`N_T` customers and a replication has :math:`N`,
so the truth is scaled by :math:`k = N / N_T`: channel c caused :math:`T_c = k\,\phi_c`
conversions (its Shapley value, so the channels add up to what marketing caused,
:math:`C = k\,(v(N) - v(\emptyset))`). Against a method's credited conversions
:math:`A_{rmc}`:

.. math::

    \text{excess}_{rmc} = A_{rmc} - T_c, \qquad
    \text{over-credit}_{rm} = \frac{\sum_c A_{rmc}}{C}, \qquad
    \text{over-credit}_{rmc} = \frac{A_{rmc}}{T_c}.

A truth that is not clearly positive (:math:`T \le z\,\mathrm{SE}(T)`, z the normal
quantile of the level) leaves the ratio unbounded within the truth's own noise: it is
NaN, and the excess says how wrong the method is.

**ROAS.** Attributed value over the replication's own spend, :math:`\rho_{rmc} =
V_{rmc} / P_{rc}` (NaN for a channel that spent nothing), against the true incremental
ROAS :math:`\rho^*_c = \Delta^{value}_c / \text{spend}_c` (no scaling: both are
ratios); per method the mean absolute ROAS error over the paid channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cjsim.scoring.noise import TRUTH_DRAWS, cube, draw_var, interval, labels, quiet, truth_draws

ABSOLUTE_COLUMNS = [
    "method", "channel", "conversions", "truth_conversions", "truth_conversions_se",
    "excess", "value", "truth_value", "spend", "roas", "truth_roas", "truth_roas_se",
    "roas_error",
]  # fmt: skip


def score_absolute(attributed: pd.DataFrame, spend: pd.Series, truth: pd.DataFrame) -> pd.DataFrame:
    """Attributed conversions, value and ROAS against what each channel caused.

    Parameters
    ----------
    attributed : DataFrame
        Long attribution result (``method, channel, conversions, value``) of one log.
    spend : Series
        That log's spend per channel (index: channel).
    truth : DataFrame
        Per channel (index): ``conversions, conversions_se, value`` caused (scaled to the
        log's customers) and the true incremental ``roas, roas_se`` (NaN without spend).

    Returns
    -------
    DataFrame
        One row per method and channel: the columns :data:`ABSOLUTE_COLUMNS`. ``excess`` is
        attributed minus caused conversions; ``roas`` is NaN for a channel that spent
        nothing, and so is ``roas_error`` where either ROAS is undefined.
    """
    if attributed.empty:  # a log without paths: nothing to score
        return pd.DataFrame(columns=ABSOLUTE_COLUMNS)
    credit = attributed.pivot_table(
        index="channel", columns="method", values=["conversions", "value"], aggfunc="sum",
        sort=False,
    )  # fmt: skip
    methods = list(dict.fromkeys(attributed["method"]))
    channels = list(dict.fromkeys([*truth.index, *credit.index]))
    conv = credit["conversions"].reindex(index=channels, columns=methods).fillna(0.0)
    value = credit["value"].reindex(index=channels, columns=methods).fillna(0.0)
    long = pd.DataFrame({
        "method": np.repeat(methods, len(channels)),
        "channel": np.tile(channels, len(methods)),
        "conversions": conv.to_numpy().T.ravel(),
        "value": value.to_numpy().T.ravel(),
    })  # fmt: skip
    t = truth.reindex(channels)
    renamed = {"conversions": "truth_conversions", "conversions_se": "truth_conversions_se",
               "value": "truth_value"}  # fmt: skip
    for src, col in renamed.items():
        long[col] = long["channel"].map(t[src].fillna(0.0))
    long["truth_roas"] = long["channel"].map(t["roas"])
    long["truth_roas_se"] = long["channel"].map(t["roas_se"])
    long["spend"] = long["channel"].map(spend).fillna(0.0)
    long["excess"] = long["conversions"] - long["truth_conversions"]
    with np.errstate(invalid="ignore", divide="ignore"):
        long["roas"] = np.where(long["spend"] > 0, long["value"] / long["spend"], np.nan)
    long["roas_error"] = long["roas"] - long["truth_roas"]
    return long[ABSOLUTE_COLUMNS]


def summarise_absolute(
    absolute: pd.DataFrame,
    caused: float,
    caused_se: float,
    level: float = 0.95,
    *,
    rng: int | np.random.Generator | None = 0,
    draws: int = TRUTH_DRAWS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Over-credit and ROAS error per method, and per method x channel, with intervals.

    Parameters
    ----------
    absolute : DataFrame
        :func:`score_absolute` rows of every replication, plus ``replication``.
    caused, caused_se : float
        Conversions marketing caused (scaled like the truth's channels) and its standard
        error.
    level : float
    rng : int or Generator, optional
        Seed of the truth draws for the ROAS MAE.
    draws : int

    Returns
    -------
    per_method : DataFrame
        ``method, conversions, caused, caused_se, over_credit (_low, _high), roas_mae (_low,
        _high)``.
    per_channel : DataFrame
        ``method, channel, conversions, truth_conversions, truth_conversions_se, excess
        (_low, _high), over_credit (_low, _high), spend, roas, truth_roas, truth_roas_se,
        roas_error (_low, _high)``.
    """
    from scipy.stats import norm

    methods, reps, channels = labels(absolute)
    first = absolute.groupby("channel", sort=False).first().reindex(channels)
    truth = _ChannelTruth(
        first["truth_conversions"].to_numpy(dtype=np.float64),
        first["truth_conversions_se"].fillna(0.0).to_numpy(),
        first["truth_roas"].to_numpy(dtype=np.float64),
        first["truth_roas_se"].fillna(0.0).to_numpy(),
    )
    A = cube(absolute, "conversions", methods, reps, channels)  # (M, R, C)
    P = cube(absolute, "spend", methods, reps, channels)
    rho = cube(absolute, "roas", methods, reps, channels)
    z = float(norm.ppf((1 + level) / 2))
    roas_mae, roas_var = _roas_mae(rho, truth, len(methods), draws, rng)
    per_method = _per_method(methods, A, roas_mae, roas_var, caused, caused_se, level, z)
    per_channel = _per_channel(methods, channels, A, P, rho, truth, level, z)
    return per_method, per_channel


@dataclass(frozen=True)
class _ChannelTruth:
    """The truth per channel: conversions caused and ROAS, each with its standard error."""

    conversions: np.ndarray
    conversions_se: np.ndarray
    roas: np.ndarray
    roas_se: np.ndarray


def _roas_mae(
    rho: np.ndarray,
    truth: _ChannelTruth,
    methods: int,
    draws: int,
    rng: int | np.random.Generator | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each method's mean absolute ROAS error over the paid channels, per replication
    ``(M, R)``, and the variance its mean inherits from the truth ``(M,)`` (by draws)."""
    paid = np.isfinite(truth.roas)
    roas_err = np.abs(rho[:, :, paid] - truth.roas[paid])
    with quiet():
        roas_mae = np.nanmean(roas_err, axis=2) if paid.any() else np.full(rho.shape[:2], np.nan)
        if paid.any() and np.any(truth.roas_se[paid] > 0):
            draw = truth_draws(truth.roas[paid], truth.roas_se[paid], draws, rng)  # (D, P)
            per_draw = np.nanmean(np.abs(rho[None][..., paid] - draw[:, None, None]), axis=3)
            roas_var = draw_var(np.nanmean(per_draw, axis=2))
        else:
            roas_var = np.zeros(methods)
    return roas_mae, roas_var


def _per_method(
    methods: list[str],
    A: np.ndarray,
    roas_mae: np.ndarray,
    roas_var: np.ndarray,
    caused: float,
    caused_se: float,
    level: float,
    z: float,
) -> pd.DataFrame:
    """Per method: everything credited over what marketing caused, and the ROAS MAE."""
    bounded = caused > 0 and caused > z * caused_se
    rows = []
    for i, method in enumerate(methods):
        total = np.nansum(A[i], axis=1)
        total[np.all(np.isnan(A[i]), axis=1)] = np.nan
        if bounded:
            ratio = total / caused
            o = interval(ratio, level, (np.nanmean(ratio) * caused_se / caused) ** 2)
        else:
            o = (np.nan, np.nan, np.nan)
        rows.append((method, float(np.nanmean(total)), caused, caused_se, *o,
                     *interval(roas_mae[i], level, roas_var[i])))  # fmt: skip
    return pd.DataFrame(
        rows,
        columns=["method", "conversions", "caused", "caused_se", "over_credit", "over_credit_low",
                 "over_credit_high", "roas_mae", "roas_mae_low", "roas_mae_high"],
    )  # fmt: skip


def _per_channel(
    methods: list[str],
    channels: list[str],
    A: np.ndarray,
    P: np.ndarray,
    rho: np.ndarray,
    truth: _ChannelTruth,
    level: float,
    z: float,
) -> pd.DataFrame:
    """Per method and channel: excess credit, its ratio to the truth, and ROAS error."""
    T, T_se = truth.conversions, truth.conversions_se
    channel_rows = []
    for i, method in enumerate(methods):
        for j, channel in enumerate(channels):
            ex = interval(A[i, :, j] - T[j], level, T_se[j] ** 2)
            if T[j] > 0 and T[j] > z * T_se[j]:
                ratio = A[i, :, j] / T[j]
                oc = interval(ratio, level, (np.nanmean(ratio) * T_se[j] / T[j]) ** 2)
            else:
                oc = (np.nan, np.nan, np.nan)
            roe = interval(rho[i, :, j] - truth.roas[j], level, truth.roas_se[j] ** 2)
            with quiet():
                channel_rows.append((
                    method, channel, np.nanmean(A[i, :, j]), T[j], T_se[j], *ex, *oc,
                    np.nanmean(P[i, :, j]), np.nanmean(rho[i, :, j]), truth.roas[j],
                    truth.roas_se[j], *roe,
                ))  # fmt: skip
    return pd.DataFrame(
        channel_rows,
        columns=["method", "channel", "conversions", "truth_conversions",
                 "truth_conversions_se", "excess", "excess_low", "excess_high",
                 "over_credit", "over_credit_low", "over_credit_high", "spend", "roas",
                 "truth_roas", "truth_roas_se", "roas_error", "roas_error_low",
                 "roas_error_high"],
    )  # fmt: skip
