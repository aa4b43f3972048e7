"""Simulating a model with geos: each geo a market of its own, one log for all.

Geo ``g`` (in the order of the model file) gets its share of the customers
(:func:`~cjsim.model.geos.geo_customers`), the model of its own market
(:func:`~cjsim.model.geos.geo_world`) and the random stream
``SeedSequence(entropy, spawn_key=(2**31 + g,))`` -- so a geo's customers keep their draws
whatever another geo does, which geo experiments and their counterfactual truth need.
Customer ids run on from geo to geo; the log has a ``geo`` column. The summary adds up
the geos' summaries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cjsim.model import JourneyModel
from cjsim.model.geos import geo_customers, geo_world
from cjsim.simulate.summary import SimulationSummary, resolve_entropy, version

#: Offset of the geos' spawn keys (far from the engines' block keys).
GEO_KEY = 2**31


def geo_seed(entropy: int, index: int) -> np.random.SeedSequence:
    """The random stream of the geo at ``index``."""
    return np.random.SeedSequence(entropy, spawn_key=(GEO_KEY + index,))


def geo_runs(
    model: JourneyModel, customers: int, rng: Any, worlds: dict[str, JourneyModel] | None = None
) -> Iterator[tuple[str, JourneyModel, int, np.random.SeedSequence, int]]:
    """(geo, its world, its customers, its seed, the id of its first customer) per geo;
    ``worlds`` replaces the worlds of some geos (a geo experiment's treated ones)."""
    entropy = resolve_entropy(rng)
    first = 0
    for index, (name, n) in enumerate(geo_customers(model, customers).items()):
        world = (worlds or {}).get(name) or geo_world(model, name)
        yield name, world, n, geo_seed(entropy, index), first
        first += n


def simulate_geos(
    model: JourneyModel,
    customers: int,
    *,
    rng: Any = None,
    engine: str = "markov",
    out: str | Path | None = None,
    worlds: dict[str, JourneyModel] | None = None,
    only: Collection[str] | None = None,
) -> tuple[SimulationSummary, pd.DataFrame]:
    """Every geo's customers simulated in its own market; the summary and the one log.

    ``only`` simulates just those geos (their customers keep their ids and draws): a geo
    experiment's rerun of the treated geos."""
    from cjsim.events import write_events
    from cjsim.simulate.run import simulate

    names = list(model.geos)
    parts, frames = [], []
    for name, world, n, seed, first in geo_runs(model, customers, rng, worlds):
        if n == 0 or (only is not None and name not in only):
            continue
        run = simulate(world, n, engine=engine, rng=seed, keep_events=True)
        assert run.events is not None
        frame = run.events
        frame["customer_id"] += first
        codes = np.full(len(frame), names.index(name), dtype=np.int32)
        frame["geo"] = pd.Categorical.from_codes(codes, categories=names)
        frames.append(frame)
        parts.append(run.summary)
    events = pd.concat(frames, ignore_index=True)
    summary = combine(parts, model, customers, resolve_entropy(rng))
    if out is not None:
        meta = {"model": model.name, "model_hash": model.content_hash(), "engine": engine,
                "seed": summary.seed, "customers": customers, "steps": model.steps,
                "step_days": model.step_days, "cjsim_version": version(),
                "geos": geo_customers(model, customers)}  # fmt: skip
        write_events(events, out, meta)
        summary = dataclasses.replace(summary, output=str(out))
    return summary, events


def geo_event_arrays(
    model: JourneyModel, customers: int, *, rng: Any = None, engine: str = "markov"
) -> Iterator[dict[str, np.ndarray]]:
    """The integer-coded event arrays of every geo, ids run on, each with its geo's
    ``touch_cost`` (what the truth counts: a touch costs what it costs in its geo) and,
    when budgets are flighted, its ``step_touch_cost``."""
    from cjsim.model.compiled import compile_model
    from cjsim.simulate.run import event_arrays

    for _, world, n, seed, first in geo_runs(model, customers, rng):
        if n == 0:
            continue
        cm = compile_model(world)
        for arrays in event_arrays(world, n, engine=engine, rng=seed):
            arrays = dict(arrays)
            arrays["customer_id"] = arrays["customer_id"].astype(np.int64) + first
            arrays["touch_cost"] = cm.touch_cost
            if cm.step_exposure:
                arrays["step_touch_cost"] = cm.step_touch_cost
            yield arrays


def combine(
    parts: list[SimulationSummary], model: JourneyModel, customers: int, seed: int
) -> SimulationSummary:
    """The summary of all geos: counts, spend and budgets added up."""
    head = parts[0]
    added: dict[str, Any] = {}
    for f in dataclasses.fields(SimulationSummary):
        values = [getattr(p, f.name) for p in parts]
        if f.name in ("touches", "reached", "spend", "stage_reach", "segment_customers",
                      "conversions", "converters", "revenue", "events", "elapsed"):  # fmt: skip
            added[f.name] = sum(values[1:], values[0])
        elif f.name in ("undelivered", "budgets") and all(v is not None for v in values):
            added[f.name] = sum(values[1:], values[0])
    return dataclasses.replace(
        head, **added, model_name=model.name, model_hash=model.content_hash(),
        customers=customers, seed=seed, output=None,
    )  # fmt: skip
