"""Vectorised discrete-time Markov engine: millions of customers as numpy arrays.

Every step (``step_days`` days) each customer, in this order,

1. meets touchpoints: on each channel a touch happens with the probability the model
   gives for the customer's segment and stage (paid: the Poisson reach of the budget;
   organic: the stage's rate; word of mouth: ``1 - exp(-contact_rate * share)`` where
   ``share`` is the share of the customer's market in a source stage at the step's
   start, from the simulated customers themselves);
2. carries the touches into each channel's adstock, :math:`a \\leftarrow \\alpha a + x`;
3. moves stage (or stays) with the base probabilities, the hazards of targeted transitions
   lifted by :math:`1 + \\sum_c \\text{lift}_c\\, \\text{hill}(a_c)`
   (see :mod:`cjsim.model.compiled`); entering the conversion stage is a conversion with a value
   drawn from the segment's distribution.

What a touch costs
------------------
A paid touch costs ``cost_per_exposure`` times the mean impressions a reached customer saw
(:attr:`cjsim.model.compiled.CompiledModel.touch_cost`); spend is the sum over delivered
touches. The
budget is a hard cap: each step, a market may spend at most ``daily_budget * step_days *
market customers / population``; when its touches would cost more, the earliest in the step
are delivered until the money runs out and the rest are not (they leave no trace in the
log, the adstock or the spend). See ``docs/reference/world.md``.

Markets
-------
Customers are grouped in markets of :data:`MARKET` by id (the last one may be smaller).
What customers share, a budget and the word-of-mouth pool, is shared within a market, so
a market is simulated as a whole; chunks are whole markets.

Random numbers and common random numbers
----------------------------------------
Customers are grouped in blocks of :data:`BLOCK` by id; block ``b`` owns the generator
``PCG64(SeedSequence(entropy, spawn_key=(b,)))``. It first draws the customers' segment and
starting stage, then, each step, one matrix of uniforms with a fixed column per purpose:
one per channel (touch), one for the transition, one for the time of day, one for the
conversion value. Every channel has its column whether it is on or off, and the draws do
not depend on the chunking, so

* the same seed gives the same log, whatever the chunk size (chunks are whole markets);
* switching a channel off changes no other draw: a customer it never touched keeps the
  same journey unless the channel changed what they share with others (the market's
  budget, its word of mouth): common random numbers, which counterfactual truth needs.

A touch happens when ``u < p``; ``u / p`` is then uniform on [0, 1) and gives the touch's
time within the first half of the step (stage events fall in the second half), so
touches need no extra draws.

Speed
-----
The engine's cost is a few passes over every customer per step (the draws, one
comparison per channel); everything else touches only the customers something happens
to. What depends only on a customer's (segment, stage) cell, each channel's touch chance
and a bound on the chance of leaving the stage (``plan._move_bounds``), is kept per
customer and updated when they move; the exact, lifted chances of moving are computed
only for customers whose draw is below that bound (a few per cent). None of this changes
a number: the same draws are compared with the same chances. The next step's uniforms
are drawn in a thread while this step is simulated (:class:`.draws._Uniforms`), and each
chunk's log is written in another while the next chunk is simulated.
``benchmarks/bench_simulate.py`` measures it.

Modules
-------
* this package: :func:`simulate` (chunks in order, the log written in a thread),
  :func:`simulate_frame`, :func:`iter_event_chunks`;
* :mod:`.chunk`: one chunk's customers as arrays and the pieces of a step;
* :mod:`.touches`: word of mouth's chances and the budgets' cap;
* :mod:`.draws`: the blocks' generators and each step's uniforms;
* :mod:`.eventlog`: a chunk's events, gathered and ordered into columns.
"""

from __future__ import annotations

import logging
import os
import time as _time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from cjsim.events import EventWriter, arrays_to_table, arrow_schema
from cjsim.model import JourneyModel
from cjsim.model.compiled import CompiledModel, compile_model
from cjsim.simulate.markov.chunk import MARKET, _run_chunk
from cjsim.simulate.markov.chunk import _lifted_thresholds as _lifted_thresholds
from cjsim.simulate.markov.draws import BLOCK
from cjsim.simulate.markov.touches import _within_budget as _within_budget
from cjsim.simulate.plan import Plan
from cjsim.simulate.summary import Seed, SimulationSummary, resolve_entropy, version

__all__ = ["BLOCK", "DEFAULT_CHUNK", "MARKET", "SimulationSummary", "iter_event_chunks",
           "simulate", "simulate_frame", "spare_core"]  # fmt: skip

log = logging.getLogger(__name__)

#: Default customers per chunk (fits the working arrays in cache; memory stays flat).
DEFAULT_CHUNK = MARKET


def iter_event_chunks(
    model: JourneyModel | CompiledModel,
    customers: int,
    *,
    rng: Seed = None,
    chunk_size: int = DEFAULT_CHUNK,
    draw_ahead: bool | None = None,
) -> Iterator[tuple[dict[str, np.ndarray], dict[str, Any]]]:
    """Simulate chunk by chunk; yield integer-coded event arrays and per-chunk counts.

    Memory is bounded by the chunk size, not by ``customers``. ``draw_ahead`` (default:
    when this process has a core to spare, see :func:`spare_core`) draws the next step's
    random numbers in a thread; the numbers are the same either way.
    """
    if draw_ahead is None:
        draw_ahead = spare_core()
    cm = model if isinstance(model, CompiledModel) else compile_model(model)
    entropy = resolve_entropy(rng)
    plan = Plan(cm)
    chunk = _chunk_size(chunk_size)
    for start in range(0, customers, chunk):
        yield _run_chunk(plan, entropy, start, min(chunk, customers - start), draw_ahead)


def spare_core() -> bool:
    """Whether a second thread can run beside the simulation: more than one core, and not
    a pool worker (the workers of an experiment or an evaluation already use them all)."""
    from cjsim._pool import in_worker

    return (os.cpu_count() or 1) > 1 and not in_worker()


def _chunk_size(chunk_size: int) -> int:
    """Customers per chunk: ``chunk_size`` rounded up to whole markets."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    return -(-chunk_size // MARKET) * MARKET


def simulate(
    model: JourneyModel,
    customers: int = 10_000,
    *,
    rng: Seed = None,
    out: str | Path | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
    sink: Callable[[pa.Table], None] | None = None,
) -> SimulationSummary:
    """Simulate ``customers`` customers of ``model`` with the Markov engine.

    Parameters
    ----------
    model : JourneyModel
        A validated model (apply budgets, horizon or channels off with
        :meth:`JourneyModel.with_overrides` first).
    customers : int
        Number of customers (a sample of the model's population).
    rng : int, Generator, SeedSequence or None
        Seed; the same seed gives the same event log for any chunk size.
    out : path, optional
        Write the event log here (``.parquet`` or ``.csv``), atomically.
    chunk_size : int
        Customers simulated at a time (rounded up to whole markets of 65,536).
    progress : callable, optional
        Called with the number of customers finished after each chunk.
    sink : callable, optional
        Called with each chunk's events as a pyarrow Table (besides ``out``).

    Returns
    -------
    SimulationSummary
    """
    if customers < 1:
        raise ValueError(f"customers must be >= 1, got {customers}")
    cm = compile_model(model)
    entropy = resolve_entropy(rng)
    started = _time.perf_counter()
    summary = SimulationSummary.start(model, cm, "markov", entropy, customers, out)
    schema = arrow_schema()
    metadata = _log_metadata(model, cm, summary, entropy, customers)
    writer = EventWriter(out, schema, metadata) if out is not None else None
    chunk = _chunk_size(chunk_size)
    if writer is not None:
        # pyarrow writes (and compresses) a chunk without holding the GIL: the next chunk
        # is simulated meanwhile
        with writer, ThreadPoolExecutor(1, thread_name_prefix="cjsim-write") as background:
            _stream_chunks(
                cm, customers, entropy, chunk, summary, progress, sink, (writer, background)
            )
    else:
        _stream_chunks(cm, customers, entropy, chunk, summary, progress, sink)
    summary.elapsed = _time.perf_counter() - started
    log.info("simulated %d customers x %d steps in %.2fs", customers, cm.steps, summary.elapsed)
    return summary


def _log_metadata(
    model: JourneyModel, cm: CompiledModel, summary: SimulationSummary, entropy: int, customers: int
) -> dict[str, Any]:
    """What the event log file records about its run (model, seed, size, version)."""
    return {
        "model": model.name,
        "model_hash": summary.model_hash,
        "engine": "markov",
        "seed": entropy,
        "customers": customers,
        "steps": cm.steps,
        "step_days": cm.step_days,
        "cjsim_version": version(),
    }


def _stream_chunks(
    cm: CompiledModel,
    customers: int,
    entropy: int,
    chunk: int,
    summary: SimulationSummary,
    progress: Callable[[int], None] | None,
    sink: Callable[[pa.Table], None] | None,
    writing_to: tuple[EventWriter, ThreadPoolExecutor] | None = None,
) -> None:
    """Simulate the chunks of ``chunk`` customers in order; write each in the background
    thread of ``writing_to`` (if given), hand it to ``sink`` and count it into ``summary``.

    Chunks are written one at a time, in order, while the next one is simulated; the
    last is written (or its error raised) before this returns.
    """
    done = 0
    writing: Future[None] | None = None  # the previous chunk, being written
    try:
        # the log writer's thread takes the spare core when there is a log to write
        ahead = writing_to is None and spare_core()
        for arrays, stats in iter_event_chunks(
            cm, customers, rng=entropy, chunk_size=chunk, draw_ahead=ahead
        ):
            table = arrays_to_table(arrays, cm.channels, cm.stages, cm.segments)
            if writing_to is not None:
                writer, background = writing_to
                if writing is not None:
                    writing.result()  # chunks are written one at a time, in order
                writing = background.submit(writer.write, table)
            if sink is not None:
                sink(table)
            _accumulate(summary, stats, table.num_rows)
            done = min(customers, done + chunk)
            if progress is not None:
                progress(done)
    finally:
        if writing is not None:
            writing.result()  # written (or its error raised) before the file closes


def _accumulate(summary: SimulationSummary, stats: dict[str, Any], rows: int) -> None:
    """Add one chunk's counts (and its ``rows`` events) to the run's summary."""
    summary.touches += stats["touches"]
    summary.spend += stats["spend"]
    assert summary.undelivered is not None
    summary.undelivered += stats["undelivered"]
    summary.reached += stats["reached"]
    summary.stage_reach += stats["stage_reach"]
    summary.segment_customers += stats["segments"]
    summary.conversions += stats["conversions"]
    summary.converters += stats["converters"]
    summary.revenue += stats["revenue"]
    summary.events += rows


def simulate_frame(
    model: JourneyModel, customers: int = 1000, *, rng: Seed = None, chunk_size: int = DEFAULT_CHUNK
) -> tuple[pd.DataFrame, SimulationSummary]:
    """Simulate into memory: the event log as a pandas DataFrame, and the summary."""
    tables: list[pa.Table] = []
    summary = simulate(model, customers, rng=rng, chunk_size=chunk_size, sink=tables.append)
    frame = (
        pa.concat_tables(tables).to_pandas()
        if tables
        else pd.DataFrame(columns=list(arrow_schema().names))
    )
    return frame, summary
