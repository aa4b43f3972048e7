"""Scoring replications against the truth, and the result of an evaluation.

:func:`score_replications` scores every replication's credits (and spend) against a
:class:`~cjsim.simulate.truth.GroundTruth` with :mod:`cjsim.scoring`; :func:`truth_table`
scales the truth to a replication's size; :class:`Evaluation` holds the scores and writes
them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cjsim._io import atomic_path, write_text_atomic
from cjsim.errors import OptionError
from cjsim.scoring import decide, score, score_absolute, summarise, summarise_absolute
from cjsim.simulate.truth import GroundTruth

log = logging.getLogger("cjsim.evaluate")

#: Methods scored by default: every heuristic, Markov orders 1-3 and the Shapley variants.
EVALUATED_METHODS = (
    "first", "last", "last_non_direct", "linear", "time_decay", "position",
    "markov", "markov_2", "markov_3", "shapley", "shapley_rate", "markov_shapley",
)  # fmt: skip

#: How the truth is defined, for every table that shows it.
TRUTH_DEFINITION = (
    "truth: each channel's Shapley share of the conversions marketing caused "
    "(counterfactual runs, CRN)"
)


def truth_table(truth: GroundTruth, customers: int) -> tuple[pd.DataFrame, float, float]:
    """What each channel caused, scaled to a log of ``customers`` customers.

    Returns
    -------
    table : DataFrame
        Per channel (index): ``conversions, conversions_se, value, value_se`` (Shapley
        values of the counterfactual game times ``customers / truth.customers``),
        ``incremental`` (all on minus channel off, scaled alike) and the true incremental
        ``roas, roas_se`` (not scaled: a ratio).
    caused, caused_se : float
        The conversions marketing caused, :math:`k (v(N) - v(\\emptyset))`, and its standard
        error: the truth's ``caused_se`` when it reports one, else the sum of the channels'
        standard errors (an upper bound, whatever their correlation).
    """
    k = customers / truth.customers
    shp = truth.shapley
    table = pd.DataFrame(
        {"conversions": k * shp["conversions"], "conversions_se": k * shp["conversions_se"],
         "value": k * shp["value"], "value_se": k * shp["value_se"],
         "incremental": k * truth.incremental["conversions"].reindex(shp.index)},
        index=shp.index,
    )  # fmt: skip
    spend = truth.spend.reindex(shp.index) if not truth.spend.empty else None
    table["roas"] = spend["roas"] if spend is not None else np.nan
    table["roas_se"] = spend["roas_se"] if spend is not None else np.nan
    caused = float(table["conversions"].sum())
    if "caused_se" in truth.totals:
        caused_se = k * float(truth.totals["caused_se"])
    else:
        caused_se = float(table["conversions_se"].fillna(0.0).sum())
    return table, caused, caused_se


@dataclass
class Evaluation:
    """Scores of attribution methods against the ground truth of one model.

    Attributes
    ----------
    truth : GroundTruth
    scores : DataFrame
        Per replication, method and channel: the share scores ``share, truth, truth_se,
        error`` and the absolute ones ``conversions, truth_conversions,
        truth_conversions_se, excess, value, truth_value, spend, roas, truth_roas,
        truth_roas_se, roas_error`` (see :mod:`cjsim.scoring`).
    summary : DataFrame
        Per method, best (lowest share MAE) first: ``mae`` (mean absolute share error)
        with interval, ``rank_corr``, ``worst_channel``, ``mae_vs_best`` with interval and
        ``tied_with_best``; ``conversions`` credited, ``caused`` (what marketing caused),
        ``over_credit`` (their ratio) and ``roas_mae`` (mean absolute ROAS error over the
        paid channels) with intervals; the budget move's ``gain`` and ``regret``.
    bias : DataFrame
        Per method and channel: mean share, true share and its SE, bias with interval.
    absolute : DataFrame
        Per method and channel: credited against caused conversions (``excess``,
        ``over_credit``) and attributed against true incremental ROAS (``roas_error``),
        each with an interval.
    decisions : DataFrame
        The truth's best budget move, then each method's, with gain and regret
        (:func:`cjsim.scoring.decide`); empty with fewer than two paid channels.

    Every interval includes the truth's noise.
    """

    truth: GroundTruth
    scores: pd.DataFrame
    summary: pd.DataFrame
    bias: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)
    absolute: pd.DataFrame = field(default_factory=pd.DataFrame)
    decisions: pd.DataFrame = field(default_factory=pd.DataFrame)

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
            "absolute.csv": self.absolute,
            "decisions.csv": self.decisions,
        }
        written = []
        for name, frame in files.items():
            if frame.columns.empty:  # an Evaluation built without absolute scores
                continue
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


def score_replications(
    truth: GroundTruth,
    customers: int,
    results: list[tuple[pd.DataFrame, pd.Series]],
    level: float = 0.95,
    *,
    rng: int | np.random.SeedSequence | None = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Score every replication's credits (and spend) against the truth.

    Returns ``scores, summary, bias, absolute, decisions`` as in :class:`Evaluation`.
    """
    share, share_se = truth.shares("shapley"), truth.share_se("shapley")
    table, caused, caused_se = truth_table(truth, customers)
    keys = ["replication", "method", "channel"]
    shares, absolute = [], []
    for i, (credit, spend) in enumerate(results):
        if credit.empty:  # a log without paths
            log.warning("replication %d has no paths to attribute; it is left out", i)
            continue
        shares.append(score(credit, share, share_se).assign(replication=i))
        absolute.append(score_absolute(credit, spend, table).assign(replication=i))
    if not shares:
        raise OptionError(
            f"no replication of {customers:,} customers has a path to attribute; expected "
            "more customers"
        )
    by_share = pd.concat(shares, ignore_index=True)
    by_count = pd.concat(absolute, ignore_index=True)
    scores = by_share.merge(by_count, on=keys, how="left")
    scores = scores[keys + [c for c in scores.columns if c not in keys]]
    root = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(rng)
    seeds = root.spawn(3)  # truth draws of the shares, the ROAS, the marginal ROAS
    summary, bias = summarise(by_share, level, rng=np.random.default_rng(seeds[0]))
    per_method, per_channel = summarise_absolute(
        by_count, caused, caused_se, level, rng=np.random.default_rng(seeds[1])
    )
    decisions = decide(by_count, truth.marginal_roas, level, rng=np.random.default_rng(seeds[2]))
    summary = summary.merge(per_method, on="method", how="left")
    moves = decisions[decisions["method"] != "truth"].set_index("method")
    summary["gain"] = summary["method"].map(moves["gain"])
    summary["regret"] = summary["method"].map(moves["regret"])
    return scores, summary, bias, per_channel, decisions
