"""The agent engine's entry points: simulate to a file, into memory, or to arrays."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from cjsim.events import CONVERSION, STAGE, TOUCH, EventWriter, arrays_to_table, arrow_schema
from cjsim.model import JourneyModel
from cjsim.model.compiled import CompiledModel, compile_model
from cjsim.simulate.agents.keyed_random import MASK
from cjsim.simulate.agents.stats import AgentRunStats
from cjsim.simulate.agents.world import World
from cjsim.simulate.summary import Seed, SimulationSummary, resolve_entropy, version

log = logging.getLogger("cjsim.simulate.agents")  # the engine's one logger, as before


def stats_path(events: str | Path) -> Path:
    """Where the run statistics go beside an event log: ``events.agents.json``.

    Parameters
    ----------
    events : str or Path
        The event log's path.

    Returns
    -------
    Path
        The same folder, the log's name up to its first dot, then ``.agents.json``.
    """
    p = Path(events)
    return p.with_name(p.name.split(".")[0] + ".agents.json")


def agent_event_arrays(
    model: JourneyModel, customers: int, *, rng: Seed = None
) -> dict[str, np.ndarray]:
    """The integer-coded event arrays of one agent run (what the ground truth counts).

    Parameters
    ----------
    model : JourneyModel
        The model.
    customers : int
        How many customers.
    rng : seed, optional
        Anything :func:`cjsim.simulate.markov.resolve_entropy` takes.

    Returns
    -------
    dict of str to numpy.ndarray
        The columns of the event log, integer-coded, by customer and time.
    """
    world = World(compile_model(model), customers, int(resolve_entropy(rng)) & MASK)
    world.run()
    return world.arrays()


def simulate_agents(
    model: JourneyModel,
    customers: int = 10_000,
    *,
    rng: Seed = None,
    out: str | Path | None = None,
    sink: Callable[[pa.Table], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[SimulationSummary, AgentRunStats]:
    """Simulate ``customers`` customers of ``model`` with the agent-based engine.

    The same seed gives the same event log.

    Parameters
    ----------
    model : JourneyModel
        The model.
    customers : int
        How many customers (at least 1).
    rng : seed, optional
        Anything :func:`cjsim.simulate.markov.resolve_entropy` takes.
    out : str or Path, optional
        Write the event log here (Parquet), and the statistics beside it
        (:func:`stats_path`).
    sink : callable, optional
        Called with the event log as an Arrow table.
    progress : callable, optional
        Called with the number of days simulated.

    Returns
    -------
    summary : SimulationSummary
        The summary the Markov engine gives (same fields, ``engine = "agents"``).
    stats : AgentRunStats
        Queues, word of mouth, spend per day, caps.
    """
    if customers < 1:
        raise ValueError(f"customers must be >= 1, got {customers}")
    cm = compile_model(model)
    entropy = resolve_entropy(rng)
    started = time.perf_counter()
    world = World(cm, customers, int(entropy) & MASK)
    world.run(progress)
    arrays = world.arrays()
    table = arrays_to_table(arrays, cm.channels, cm.stages, cm.segments)
    stats = world.stats(arrays)
    summary = _summary(model, cm, world, arrays, entropy, out)
    if out is not None:
        metadata = {
            "model": model.name, "model_hash": summary.model_hash, "engine": "agents",
            "seed": entropy, "customers": customers, "steps": cm.steps,
            "step_days": cm.step_days, "cjsim_version": version(),
        }  # fmt: skip
        with EventWriter(out, arrow_schema(), metadata) as writer:
            writer.write(table)
        stats.write(stats_path(out))
    if sink is not None:
        sink(table)
    summary.elapsed = time.perf_counter() - started
    log.info("agents: %d customers, %d simpy events in %.2fs", customers, stats.simpy_events,
             summary.elapsed)  # fmt: skip
    return summary, stats


def _summary(
    model: JourneyModel, cm: CompiledModel, world: World, arrays: dict[str, np.ndarray],
    entropy: int, out: str | Path | None,
) -> SimulationSummary:  # fmt: skip
    """The run's summary, counted from its event arrays."""
    customers = world.customers.count
    is_touch = arrays["event"] == TOUCH
    ch = arrays["channel"][is_touch].astype(np.intp)
    touched = np.zeros((cm.n_channels, customers), bool)
    touched[ch, arrays["customer_id"][is_touch]] = True
    is_conv = arrays["event"] == CONVERSION
    summary = SimulationSummary.start(model, cm, "agents", entropy, customers, out)
    summary.touches = np.bincount(ch, minlength=cm.n_channels).astype(np.int64)
    summary.reached = touched.sum(axis=1).astype(np.int64)
    # delivered touches x their cost (each at its day's, when the budget is flighted)
    summary.spend = cm.touch_spend(ch, arrays["time"][is_touch])
    summary.undelivered = np.asarray(world.campaigns.undelivered, np.int64)
    stages = arrays["event"] == STAGE  # every customer's first stage is a row too
    visited = np.zeros((cm.n_stages, customers), bool)
    visited[arrays["stage"][stages], arrays["customer_id"][stages]] = True
    summary.stage_reach = visited.sum(axis=1).astype(np.int64)
    segments = np.bincount(world.customers.segment, minlength=len(cm.segments))
    summary.segment_customers = segments.astype(np.int64)
    summary.conversions = int(is_conv.sum())
    summary.converters = int(np.unique(arrays["customer_id"][is_conv]).size)
    summary.revenue = float(arrays["value"][is_conv].sum())
    summary.events = len(arrays["event"])
    return summary


def simulate_agents_frame(
    model: JourneyModel, customers: int = 1000, *, rng: Seed = None
) -> tuple[pd.DataFrame, SimulationSummary, AgentRunStats]:
    """Simulate into memory.

    Returns
    -------
    events : pandas.DataFrame
        The event log.
    summary : SimulationSummary
        As :func:`simulate_agents` gives.
    stats : AgentRunStats
        As :func:`simulate_agents` gives.
    """
    tables: list[pa.Table] = []
    summary, stats = simulate_agents(model, customers, rng=rng, sink=tables.append)
    return tables[0].to_pandas(), summary, stats
