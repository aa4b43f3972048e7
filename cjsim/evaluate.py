"""Which attribution method recovers the truth? Simulate, attribute, score.

For a model, :func:`evaluate` computes the ground truth once (counterfactual runs with
common random numbers, :mod:`cjsim.simulate.truth`), then for each replication simulates
an event log with its own seed, builds the path table and attributes it with every method.
Each method's credit share per channel is scored against the channel's true share of the
conversions marketing caused (its Shapley value of the counterfactual game over their sum):

* ``error`` = credit share - true share, per replication, method and channel;
* mean absolute error over channels, and Spearman rank correlation with the truth, per
  replication and method; their means over replications with t-intervals (statsmodels);
* ``bias`` = mean error per method and channel over replications, with its interval.

The scoring functions (:func:`score`, :func:`summarise`) take attribution results and truth
tables only; this module orchestrates, so attribution still never imports simulation code.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cjsim._io import atomic_path, write_text_atomic
from cjsim._pool import pool_map
from cjsim.attribution import attribute
from cjsim.errors import OptionError
from cjsim.model import JourneyModel
from cjsim.paths import paths_from_events
from cjsim.simulate.markov import SimulationSummary, simulate_frame
from cjsim.simulate.truth import GroundTruth, ground_truth

log = logging.getLogger(__name__)

#: Methods scored by default: every heuristic, Markov orders 1-3 and the Shapley variants.
EVALUATED_METHODS = (
    "first", "last", "last_non_direct", "linear", "time_decay", "position",
    "markov", "markov_2", "markov_3", "shapley", "shapley_rate", "markov_shapley",
)  # fmt: skip


def score(attributed: pd.DataFrame, truth_share: pd.Series) -> pd.DataFrame:
    """Credit shares against true shares.

    Parameters
    ----------
    attributed : DataFrame
        Long attribution result (``method, channel, conversions``).
    truth_share : Series
        True share per channel (index: channel), summing to 1.

    Returns
    -------
    DataFrame
        ``method, channel, share, truth, error``; channels a method never saw get share 0.
    """
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
    long["error"] = long["share"] - long["truth"]
    return long[["method", "channel", "share", "truth", "error"]]


def _interval(values: np.ndarray, level: float) -> tuple[float, float, float]:
    """Mean and t-interval (statsmodels); NaN bounds with fewer than two values."""
    from statsmodels.stats.weightstats import DescrStatsW

    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean())
    if len(values) < 2 or np.allclose(values, values[0]):
        same = mean if len(values) >= 2 else float("nan")
        return mean, same, same
    low, high = DescrStatsW(values).tconfint_mean(alpha=1 - level)
    return mean, float(low), float(high)


def summarise(scores: pd.DataFrame, level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per method (MAE, rank correlation) and per method x channel (bias), with intervals.

    ``scores`` has the columns of :func:`score` plus ``replication``.
    """
    from scipy.stats import spearmanr

    per_rep = []
    for (rep, method), g in scores.groupby(["replication", "method"], sort=False):
        rho = spearmanr(g["share"], g["truth"]).statistic if g["truth"].nunique() > 1 else np.nan
        per_rep.append((rep, method, g["error"].abs().mean(), rho))
    reps = pd.DataFrame(per_rep, columns=["replication", "method", "mae", "rank_corr"])
    rows = []
    for method, g in reps.groupby("method", sort=False):
        mae, mae_lo, mae_hi = _interval(g["mae"].to_numpy(), level)
        rho = float(np.nanmean(g["rank_corr"])) if g["rank_corr"].notna().any() else np.nan
        worst = (
            scores[scores["method"] == method]
            .groupby("channel")["error"].mean().abs().idxmax()
        )  # fmt: skip
        rows.append((method, mae, mae_lo, mae_hi, rho, worst))
    summary = pd.DataFrame(
        rows, columns=["method", "mae", "mae_low", "mae_high", "rank_corr", "worst_channel"]
    ).sort_values("mae", kind="stable")
    bias_rows = []
    for (method, channel), g in scores.groupby(["method", "channel"], sort=False):
        mean, lo, hi = _interval(g["error"].to_numpy(), level)
        bias_rows.append((method, channel, g["share"].mean(), g["truth"].iloc[0], mean, lo, hi))
    bias = pd.DataFrame(
        bias_rows,
        columns=["method", "channel", "share", "truth", "bias", "bias_low", "bias_high"],
    )
    return summary.reset_index(drop=True), bias


def simulate_log(
    model: JourneyModel, customers: int, seed: Any, engine: str = "markov"
) -> tuple[pd.DataFrame, SimulationSummary]:
    """One simulated event log in memory and its summary, on either engine."""
    if engine == "agents":
        from cjsim.simulate.agents import simulate_agents_frame

        events, summary, _ = simulate_agents_frame(model, customers, rng=seed)
        return events, summary
    return simulate_frame(model, customers, rng=seed)


def attribute_log(
    events: pd.DataFrame,
    methods: tuple[str, ...],
    rng: np.random.Generator,
    multi_conversion: bool = False,
) -> pd.DataFrame:
    """Every method's credit on an event log: ``method, channel, conversions, value``."""
    paths, _ = paths_from_events(events, multi_conversion=multi_conversion)
    if paths.n_paths == 0:
        return pd.DataFrame(columns=["method", "channel", "conversions", "value"])
    result = attribute(paths, methods, rng=rng)
    return result.to_frame()[["method", "channel", "conversions", "value"]]


def _replication(
    model: JourneyModel,
    customers: int,
    seed: np.random.SeedSequence,
    methods: tuple[str, ...],
    multi_conversion: bool,
    engine: str = "markov",
) -> pd.DataFrame:
    events, _ = simulate_log(model, customers, seed, engine)
    return attribute_log(events, methods, np.random.default_rng(seed.spawn(1)[0]), multi_conversion)


@dataclass
class Evaluation:
    """Scores of attribution methods against the ground truth of one model.

    Attributes
    ----------
    truth : GroundTruth
    scores : DataFrame
        ``replication, method, channel, share, truth, error``.
    summary : DataFrame
        Per method: ``mae`` (mean absolute share error) with interval, ``rank_corr``,
        ``worst_channel``; best first.
    bias : DataFrame
        Per method and channel: mean share, true share, bias with interval.
    """

    truth: GroundTruth
    scores: pd.DataFrame
    summary: pd.DataFrame
    bias: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.scores.copy()

    def summary_text(self) -> str:
        return self.summary.to_string(index=False, float_format=lambda x: f"{x:.3f}")

    def _repr_html_(self) -> str:
        return self.summary.to_html(index=False, float_format=lambda x: f"{x:.3f}")

    def write(self, folder: str | Path) -> list[Path]:
        """Write the CSVs, the settings (JSON) and the figures into ``folder``, each file
        atomically. Returns the paths written."""
        out = Path(folder)
        out.mkdir(exist_ok=True)
        files = {
            "scores.csv": self.scores,
            "summary.csv": self.summary,
            "bias.csv": self.bias,
            "truth.csv": self.truth.to_frame(),
        }
        written = []
        for name, frame in files.items():
            write_text_atomic(out / name, frame.to_csv(index=False))
            written.append(out / name)
        meta = {"settings": self.settings, "truth_totals": self.truth.totals,
                "truth_settings": self.truth.settings}  # fmt: skip
        write_text_atomic(out / "evaluation.json", json.dumps(meta, indent=2, default=str) + "\n")
        written.append(out / "evaluation.json")
        from cjsim.report.figures import error_heatmap, share_bars

        for name, fig in (
            ("error_heatmap.png", error_heatmap(self.bias, self.summary)),
            ("shares.png", share_bars(self.bias, self.truth, self.summary)),
        ):
            with atomic_path(out / name) as tmp:
                fig.savefig(tmp, format="png", dpi=130, bbox_inches="tight")
            written.append(out / name)
        return written


def evaluate(
    model: JourneyModel,
    customers: int = 100_000,
    *,
    replications: int = 3,
    rng: int | None = None,
    methods: tuple[str, ...] = EVALUATED_METHODS,
    truth_customers: int | None = None,
    multi_conversion: bool = False,
    level: float = 0.95,
    workers: int | None = None,
    engine: str = "markov",
) -> Evaluation:
    """Score attribution methods against the model's ground truth.

    Parameters
    ----------
    model : JourneyModel
    customers : int
        Customers simulated per replication (their log is what gets attributed).
    replications : int
        Independent logs (seeds from ``SeedSequence(rng).spawn``).
    truth_customers : int, optional
        Customers per counterfactual run of the ground truth (default: ``customers``).
    level : float
        Confidence level of the intervals over replications.
    engine : {"markov", "agents"}
        The engine of the simulated logs and of the ground truth.
    """
    if customers < 1 or replications < 1:
        raise OptionError(
            f"customers {customers!r}, replications {replications!r}: expected at least 1 each"
        )
    if not 0 < level < 1:
        raise OptionError(f"level is {level!r}; expected a number between 0 and 1")
    from cjsim.attribution.shapley import MAX_MARKOV_GAME

    if len(model.channels) > MAX_MARKOV_GAME and "markov_shapley" in methods:
        if tuple(methods) != EVALUATED_METHODS:
            raise OptionError(
                f"markov_shapley solves 2^K chains and supports at most {MAX_MARKOV_GAME} "
                f"channels; '{model.name}' has {len(model.channels)}"
            )
        methods = tuple(m for m in methods if m != "markov_shapley")  # default set: skip it
    root = np.random.SeedSequence(rng)
    truth_seed, *rep_seeds = root.spawn(replications + 1)
    workers = workers or os.cpu_count() or 1
    truth = ground_truth(
        model, truth_customers or customers, rng=int(truth_seed.generate_state(1)[0]),
        multi_conversion=multi_conversion, workers=workers, engine=engine,
    )  # fmt: skip
    args = [(model, customers, s, tuple(methods), multi_conversion, engine) for s in rep_seeds]
    if workers > 1 and replications > 1:
        results = pool_map(
            _replication, *zip(*args, strict=True), workers=min(workers, replications)
        )
    else:
        results = [_replication(*a) for a in args]
    truth_share = truth.shares("shapley")
    scores = pd.concat(
        [score(r, truth_share).assign(replication=i) for i, r in enumerate(results)],
        ignore_index=True,
    )[["replication", "method", "channel", "share", "truth", "error"]]
    summary, bias = summarise(scores, level)
    settings = {
        "model": model.name,
        "model_hash": model.content_hash(),
        "customers": customers,
        "replications": replications,
        "truth_customers": truth_customers or customers,
        "seed": int(root.entropy) if isinstance(root.entropy, int) else None,
        "methods": list(methods),
        "level": level,
        "multi_conversion": multi_conversion,
        "engine": engine,
    }
    return Evaluation(truth, scores, summary, bias, settings)
