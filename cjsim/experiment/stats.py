"""Statistics of experiment replications (statsmodels, scipy).

Per scenario and metric: the mean over replications with a t-interval
(:func:`cjsim.scoring.noise.interval`). Against the
baseline: the mean *paired* difference (replication r of every scenario shares its random
numbers, so the pairs cancel most of the noise) with its t-interval and p-value, Holm-
corrected over all comparisons, and the number of replications a chosen precision needs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from cjsim.scoring.noise import interval


def replications_needed(sd: float, half_width: float, level: float = 0.95) -> int:
    """The fewest replications n >= 2 whose t-interval of the mean, t(n-1) sd / sqrt(n), is
    at most ``half_width`` wide on each side."""
    if not (sd > 0 and half_width > 0):
        return 1
    q = 0.5 + level / 2

    def wide(n: int) -> bool:
        return bool(stats.t.ppf(q, n - 1) * sd / math.sqrt(n) > half_width)

    # the normal quantile gives a lower bound (t is wider); then step up, doubling first
    lo = max(2, math.ceil((stats.norm.ppf(q) * sd / half_width) ** 2))
    if not wide(lo):
        return lo
    hi = lo * 2
    while wide(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # wide(lo), not wide(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if wide(mid) else (lo, mid)
    return hi


def summarise_runs(
    runs: pd.DataFrame, metrics: list[str], baseline: str, level: float = 0.95,
    precision: float = 0.01,
) -> pd.DataFrame:  # fmt: skip
    """One row per scenario and metric.

    Columns: ``mean, low, high`` (of the metric), ``diff, diff_low, diff_high, p_value,
    p_holm`` (paired difference to the baseline; empty for the baseline itself; no p-value
    for a difference that is the same in every replication, which is exact) and
    ``replications_needed`` for a difference interval of +-``precision`` x the baseline
    mean. A ratio metric (cpa, roas) is averaged over the replications where it is defined
    (cpa needs a conversion).
    """
    base = runs[runs["scenario"] == baseline].set_index("replication")
    rows: list[dict[str, Any]] = []
    pvals: list[tuple[int, float]] = []
    for scenario, g in runs.groupby("scenario", sort=False):
        g = g.set_index("replication")
        for metric in metrics:
            mean, lo, hi = interval(g[metric].to_numpy(), level)
            row: dict[str, Any] = {
                "scenario": scenario, "metric": metric, "mean": mean, "low": lo, "high": hi,
            }  # fmt: skip
            if scenario != baseline:
                common = g.index.intersection(base.index)
                d = (g.loc[common, metric] - base.loc[common, metric]).to_numpy(np.float64)
                d = d[np.isfinite(d)]
                dm, dlo, dhi = interval(d, level)
                # a p-value only where there is noise to test against: a difference that is
                # the same in every replication (0, or a spend set by the scenario) is exact
                # and left out of the Holm family
                p = math.nan
                if d.size >= 2 and not (d == d[0]).all():
                    p = float(stats.ttest_1samp(d, 0.0).pvalue)
                target = precision * abs(float(base[metric].mean()))
                need = replications_needed(float(d.std(ddof=1)) if d.size > 1 else 0.0, target,
                                           level)  # fmt: skip
                row.update(diff=dm, diff_low=dlo, diff_high=dhi, p_value=p,
                           replications_needed=need)  # fmt: skip
                pvals.append((len(rows), p))
            rows.append(row)
    out = pd.DataFrame(rows)
    for col in ("diff", "diff_low", "diff_high", "p_value", "p_holm", "replications_needed"):
        if col not in out:
            out[col] = np.nan
    ok = [(i, p) for i, p in pvals if np.isfinite(p)]
    if ok:
        _, adj, _, _ = multipletests([p for _, p in ok], method="holm")
        for (i, _), a in zip(ok, adj, strict=True):
            out.loc[i, "p_holm"] = a
    return out
