"""Running an evaluation: the truth once, then each replication simulated, observed and
attributed (in worker processes when there are several)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cjsim._pool import pool_map
from cjsim.attribution import attribute
from cjsim.errors import OptionError
from cjsim.evaluate.scores import EVALUATED_METHODS, Evaluation, score_replications
from cjsim.model import JourneyModel
from cjsim.observe import Profile, observe
from cjsim.paths import paths_from_events
from cjsim.scoring import TRUTH_DRAWS
from cjsim.simulate.run import simulate
from cjsim.simulate.summary import SimulationSummary
from cjsim.simulate.truth import GroundTruth, ground_truth


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
    views: tuple[Profile | None, ...] = (None,),
) -> list[tuple[pd.DataFrame, pd.Series]]:
    """One log's credits (``attribute_log``) and its spend per channel, for each view of
    the log: ``None`` is the log itself, a profile what a tracking system records of it
    (every view attributed with the same random numbers)."""
    events, summary = simulate_log(model, customers, seed, engine)
    attribution_seed, observation_seed = seed.spawn(2)
    spend = pd.Series(np.asarray(summary.spend, float), index=list(summary.channels))
    results = []
    for view in views:
        seen = events
        if view is not None:
            drawn = int(observation_seed.generate_state(1)[0])
            seen = observe(events, view, seed=drawn, validate=False).events
        rng = np.random.default_rng(attribution_seed)
        results.append((attribute_log(seen, methods, rng, multi_conversion), spend))
    return results


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
    observe: Profile | None = None,
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
    observe : Profile, optional
        Attribute what a tracking system records of each log under this profile
        (:mod:`cjsim.observe`) instead of the log itself; the truth stays the same.
    """
    study = Study.run(
        model, customers, replications, rng, methods, truth_customers, multi_conversion,
        level, workers, engine, (observe,),
    )  # fmt: skip
    return study.evaluation(0)


@dataclass
class Study:
    """The ground truth and every replication's credits under one or more views of the
    logs: what :func:`evaluate` and the loss sweep share."""

    truth: GroundTruth
    results: list[list[tuple[pd.DataFrame, pd.Series]]]  # per replication, per view
    views: tuple[Profile | None, ...]
    customers: int
    level: float
    root: np.random.SeedSequence
    settings: dict[str, Any]

    @classmethod
    def run(
        cls,
        model: JourneyModel,
        customers: int,
        replications: int,
        rng: int | None,
        methods: tuple[str, ...],
        truth_customers: int | None,
        multi_conversion: bool,
        level: float,
        workers: int | None,
        engine: str,
        views: tuple[Profile | None, ...],
    ) -> Study:
        """Compute the truth once, then simulate, observe and attribute every replication."""
        methods = _checked_methods(model, customers, replications, level, methods)
        root = np.random.SeedSequence(rng)
        truth_seed, *rep_seeds = root.spawn(replications + 1)
        workers = workers or os.cpu_count() or 1
        truth = ground_truth(
            model, truth_customers or customers, rng=int(truth_seed.generate_state(1)[0]),
            multi_conversion=multi_conversion, workers=workers, engine=engine,
        )  # fmt: skip
        args = [(model, customers, s, methods, multi_conversion, engine, views) for s in rep_seeds]
        if workers > 1 and replications > 1:
            results = pool_map(
                _replication, *zip(*args, strict=True), workers=min(workers, replications)
            )
        else:
            results = [_replication(*a) for a in args]
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
        return cls(truth, results, views, customers, level, root, settings)

    def evaluation(self, view: int) -> Evaluation:
        """The scores of one view's credits (the same truth and scoring seeds for all)."""
        results = [per_view[view] for per_view in self.results]
        # the root's child after the truth's and the replications' seeds
        after = (*self.root.spawn_key, len(self.results) + 1)
        scores, summary, bias, absolute, decisions = score_replications(
            self.truth, self.customers, results, self.level,
            rng=np.random.SeedSequence(self.root.entropy, spawn_key=after),
        )  # fmt: skip
        settings = dict(self.settings)
        profile = self.views[view]
        if profile is not None:
            settings["observe"] = {"profile": profile.name, "hash": profile.content_hash()}
        return Evaluation(self.truth, scores, summary, bias, settings, absolute, decisions)


def _checked_methods(
    model: JourneyModel, customers: int, replications: int, level: float, methods: tuple[str, ...]
) -> tuple[str, ...]:
    """The methods to score, after checking the study's sizes and level."""
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
        return tuple(m for m in methods if m != "markov_shapley")  # default set: skip it
    return tuple(methods)
