r"""Credit shares against true shares, with the truth's noise in every interval.

A method's credit share :math:`s_{rmc}` (negative credits clipped to 0) against the true
share :math:`\tau_c`, each channel's Shapley share of the conversions marketing caused:

.. math::

    e_{rmc} = s_{rmc} - \tau_c, \qquad
    \mathrm{MAE}_{rm} = \frac1K \sum_c |e_{rmc}|,

and the Spearman rank correlation of the shares with the truth, per replication; their
means over replications, and the bias :math:`\bar e_{mc}`, with intervals that include
the truth's standard error (:mod:`cjsim.scoring.noise`).

**Not distinguishable from the best.** Each method's MAE minus the best (lowest MAE)
method's, paired over the same replications and the same truth draws, gets the same kind
of interval; ``tied_with_best`` is True when it includes 0 (the best method is tied with
itself; NA with one replication, where there is no interval).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cjsim.scoring.noise import TRUTH_DRAWS, cube, draw_var, interval, labels, truth_draws

SCORE_COLUMNS = ["method", "channel", "share", "truth", "truth_se", "error"]


def score(
    attributed: pd.DataFrame, truth_share: pd.Series, truth_se: pd.Series | None = None
) -> pd.DataFrame:
    """Credit shares against true shares.

    Parameters
    ----------
    attributed : DataFrame
        Long attribution result (``method, channel, conversions``).
    truth_share : Series
        True share per channel (index: channel), summing to 1.
    truth_se : Series, optional
        Standard error of each true share; without it the truth counts as exact.

    Returns
    -------
    DataFrame
        ``method, channel, share, truth, truth_se, error``; channels a method never saw get
        share 0 (and ``truth_se`` 0 when the truth does not know them either).
    """
    if attributed.empty:  # a log without paths: nothing to score
        return pd.DataFrame(columns=SCORE_COLUMNS)
    credit = attributed.pivot_table(
        index="channel", columns="method", values="conversions", aggfunc="sum", sort=False
    )
    channels = list(dict.fromkeys([*truth_share.index, *credit.index]))
    credit = credit.reindex(channels).fillna(0.0).clip(lower=0)
    total = credit.sum(axis=0).replace(0, np.nan)
    shares = (credit / total).fillna(0.0)
    long = (
        shares.rename_axis("channel")
        .reset_index()
        .melt(id_vars="channel", var_name="method", value_name="share")
    )
    long["truth"] = long["channel"].map(truth_share).fillna(0.0)
    se = truth_se if truth_se is not None else truth_share * 0.0
    long["truth_se"] = long["channel"].map(se).fillna(0.0)
    long["error"] = long["share"] - long["truth"]
    return long[SCORE_COLUMNS]


def _rank_corr(shares: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Spearman correlation of each (method, replication) row of shares with the truth."""
    from scipy.stats import rankdata

    if np.unique(truth).size < 2:
        return np.full(shares.shape[:2], np.nan)
    rs = rankdata(shares, axis=-1)
    rs = rs - rs.mean(axis=-1, keepdims=True)
    rt = rankdata(truth)
    rt = rt - rt.mean()
    den = np.sqrt((rs**2).sum(axis=-1) * (rt**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rs * rt).sum(axis=-1) / den, np.nan)


def summarise(
    scores: pd.DataFrame,
    level: float = 0.95,
    *,
    rng: int | np.random.Generator | None = 0,
    draws: int = TRUTH_DRAWS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per method (MAE, rank correlation, tie with the best) and per method x channel (bias).

    Parameters
    ----------
    scores : DataFrame
        The columns of :func:`score` plus ``replication``; ``truth_se`` (optional) is the
        truth's noise, carried into every interval (see the module's notes).
    level : float
        Confidence level.
    rng : int or Generator, optional
        Seed of the truth draws (default 0: the same intervals every time).
    draws : int
        Truth draws for the MAE's truth noise.

    Returns
    -------
    summary : DataFrame
        ``method, mae, mae_low, mae_high, rank_corr, worst_channel, mae_vs_best,
        mae_vs_best_low, mae_vs_best_high, tied_with_best``; best (lowest MAE) first.
    bias : DataFrame
        ``method, channel, share, truth, truth_se, bias, bias_low, bias_high``.
    """
    methods, reps, channels = labels(scores)
    first = scores.groupby("channel", sort=False).first().reindex(channels)
    truth = first["truth"].to_numpy(dtype=np.float64)
    se = first["truth_se"].fillna(0.0).to_numpy() if "truth_se" in first else truth * 0
    S = cube(scores, "share", methods, reps, channels)  # (M, R, C)
    mae = np.abs(S - truth).mean(axis=2)  # (M, R)
    rho = _rank_corr(np.nan_to_num(S), truth)
    rho[np.isnan(mae)] = np.nan
    if np.any(se > 0):
        tau = truth_draws(truth, se, draws, rng, fixed_sum=True)  # (D, C)
        mae_d = np.nanmean(np.abs(S[None] - tau[:, None, None]).mean(axis=3), axis=2)  # (D, M)
    else:
        mae_d = np.zeros((1, len(methods)))
    mae_var = draw_var(mae_d)
    rows = []
    for i, method in enumerate(methods):
        m, lo, hi = interval(mae[i], level, mae_var[i])
        r = rho[i][np.isfinite(rho[i])]
        worst = (
            scores[scores["method"] == method]
            .groupby("channel")["error"].mean().abs().idxmax()
        )  # fmt: skip
        rows.append((method, m, lo, hi, float(r.mean()) if r.size else np.nan, worst))
    summary = pd.DataFrame(
        rows, columns=["method", "mae", "mae_low", "mae_high", "rank_corr", "worst_channel"]
    )
    best = int(np.nanargmin(summary["mae"].to_numpy()))
    diff_var = draw_var(mae_d - mae_d[:, [best]])
    ties = []
    for i in range(len(methods)):
        d, lo, hi = interval(mae[i] - mae[best], level, diff_var[i])
        tied = pd.NA if np.isnan(lo) else bool(lo <= 0 <= hi)
        ties.append((d, lo, hi, tied))
    summary[["mae_vs_best", "mae_vs_best_low", "mae_vs_best_high", "tied_with_best"]] = (
        pd.DataFrame(ties, index=summary.index)
    )
    summary["tied_with_best"] = summary["tied_with_best"].astype("boolean")
    summary = summary.sort_values("mae", kind="stable").reset_index(drop=True)

    err = S - truth
    bias_rows = []
    for (method, channel), g in scores.groupby(["method", "channel"], sort=False):
        i, j = methods.index(method), channels.index(channel)
        mean, lo, hi = interval(err[i, :, j], level, se[j] ** 2)
        bias_rows.append((method, channel, g["share"].mean(), truth[j], se[j], mean, lo, hi))
    bias = pd.DataFrame(
        bias_rows,
        columns=["method", "channel", "share", "truth", "truth_se", "bias", "bias_low",
                 "bias_high"],
    )  # fmt: skip
    return summary, bias
