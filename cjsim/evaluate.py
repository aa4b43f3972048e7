r"""Which attribution method recovers the truth? Simulate, attribute, score.

For a model, :func:`evaluate` computes the ground truth once (counterfactual runs with
common random numbers on ``truth_customers`` customers, :mod:`cjsim.simulate.truth`), then
for each replication simulates an event log of ``customers`` customers with its own seed,
builds the path table and attributes it with every method. Each method is scored three
ways (formulas in :mod:`cjsim.scoring`):

* **shares**: credit share minus the channel's true share (its Shapley share of the
  conversions marketing caused); mean absolute error over channels and Spearman rank
  correlation per replication and method; ``bias`` per method and channel;
* **absolute**: attributed conversions against what each channel caused, the truth
  scaled by ``customers / truth_customers``; the over-credit ratio (everything a method
  credits over what marketing caused, and per channel), and attributed ROAS (attributed
  value over the replication's own spend) against the true incremental ROAS;
* **decisions**: the budget move a method's ROAS ranking recommends (lowest to highest
  ROAS paid channel), valued with the true marginal ROAS, against the truth's own move.

Every interval includes the truth's own noise (it is one estimate shared by every
replication), and each method is compared with the best one (``tied_with_best``).
The scoring functions take attribution results and truth tables only; this module
orchestrates, so attribution still never imports simulation code.
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

from cjsim._callable import make_callable
from cjsim._io import atomic_path, write_text_atomic
from cjsim._pool import pool_map
from cjsim.attribution import attribute
from cjsim.errors import OptionError
from cjsim.model import JourneyModel
from cjsim.paths import paths_from_events
from cjsim.scoring import (
    TRUTH_DRAWS,
    decide,
    score,
    score_absolute,
    summarise,
    summarise_absolute,
)
from cjsim.simulate.run import simulate
from cjsim.simulate.summary import SimulationSummary
from cjsim.simulate.truth import GroundTruth, ground_truth

log = logging.getLogger(__name__)

#: Methods scored by default: every heuristic, Markov orders 1-3 and the Shapley variants.
EVALUATED_METHODS = (
    "first", "last", "last_non_direct", "linear", "time_decay", "position",
    "markov", "markov_2", "markov_3", "shapley", "shapley_rate", "markov_shapley",
)  # fmt: skip

__all__ = [
    "EVALUATED_METHODS", "TRUTH_DEFINITION", "Evaluation", "evaluate", "score",
    "score_replications", "summarise", "truth_table",
]  # fmt: skip

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


def simulate_log(
    model: JourneyModel, customers: int, seed: Any, engine: str = "markov"
) -> tuple[pd.DataFrame, SimulationSummary]:
    """One simulated event log in memory and its summary, on either engine."""
    run = simulate(model, customers, engine=engine, rng=seed, keep_events=True)
    assert run.events is not None
    return run.events, run.summary


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
) -> tuple[pd.DataFrame, pd.Series]:
    """One log's credits (``attribute_log``) and its spend per channel."""
    events, summary = simulate_log(model, customers, seed, engine)
    credit = attribute_log(
        events, methods, np.random.default_rng(seed.spawn(1)[0]), multi_conversion
    )
    return credit, pd.Series(np.asarray(summary.spend, float), index=list(summary.channels))


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
    scores, summary, bias, absolute, decisions = score_replications(
        truth, customers, results, level, rng=root.spawn(1)[0]
    )
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
        "truth_draws": TRUTH_DRAWS,
    }
    return Evaluation(truth, scores, summary, bias, settings, absolute, decisions)


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


make_callable(__name__, lambda: evaluate)  # cjsim.evaluate(model, ...) in a notebook
