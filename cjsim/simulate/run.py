"""One way to run either engine: :func:`simulate` returns a :class:`Simulation`.

Callers (the command line, evaluations, experiments, the truth, ``explain``) choose an
engine by name instead of importing each engine's own entry point; both engines' runs
look the same from outside: a :class:`~cjsim.simulate.markov.SimulationSummary` (the same
fields, ``summary.engine`` says which), the events when asked for, and the agent-based
engine's extra statistics (queues, word of mouth, spend per day).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cjsim.errors import OptionError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from cjsim.model import JourneyModel
    from cjsim.simulate.summary import SimulationSummary

#: The engines :func:`simulate` runs.
ENGINES = ("markov", "agents")

#: ``progress(done, total)``: customers (markov) or days (agents) simulated so far.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Simulation:
    """One simulated run.

    Attributes
    ----------
    summary
        Customers, events, conversions, revenue, spend and reach per channel and stage.
    events
        The event log as a DataFrame when ``keep_events=True`` was asked for, else None.
    stats
        The agent-based engine's statistics (:class:`~cjsim.simulate.agents.AgentRunStats`:
        queues, word of mouth, spend per day); None for the Markov engine.
    out
        Where the event log was written (None: not written).
    """

    summary: SimulationSummary
    events: pd.DataFrame | None = None
    stats: Any = None
    out: Path | None = None

    @property
    def engine(self) -> str:
        return self.summary.engine


def check_engine(engine: str) -> None:
    """An engine name :func:`simulate` knows; an OptionError naming both otherwise."""
    if engine not in ENGINES:
        raise OptionError(f"engine={engine!r}: expected 'markov' or 'agents'")


def simulate(
    model: JourneyModel,
    customers: int = 10_000,
    *,
    engine: str = "markov",
    rng: Any = None,
    out: str | Path | None = None,
    keep_events: bool = False,
    progress: Progress | None = None,
    chunk_size: int | None = None,
) -> Simulation:
    """Simulate ``customers`` customers of ``model`` with either engine.

    Parameters
    ----------
    model
        The journey model (:func:`cjsim.load_model`).
    customers
        How many customers; at least 1.
    engine
        ``"markov"`` (vectorised discrete time, millions of customers) or ``"agents"``
        (simpy, continuous time, capacity, word of mouth through a contact network).
    rng
        A seed or a :class:`numpy.random.SeedSequence`; the same seed gives the same log.
    out
        Write the event log here (.parquet or .csv); the agent engine writes its
        statistics beside it (:func:`~cjsim.simulate.agents.stats_path`).
    keep_events
        Also return the event log as a DataFrame (memory grows with ``customers``).
    progress
        Called as ``progress(done, total)`` while the run goes on.
    chunk_size
        Markov engine: customers simulated at a time (memory is bounded by it).

    Returns
    -------
    Simulation

    Raises
    ------
    OptionError
        An unknown engine, fewer than one customer, a chunk size below one.
    """
    check_engine(engine)
    if not isinstance(customers, numbers.Integral) or isinstance(customers, bool) or customers < 1:
        raise OptionError(f"customers={customers!r}: expected a whole number >= 1")
    customers = int(customers)  # a numpy integer too
    if chunk_size is not None and chunk_size < 1:
        raise OptionError(f"chunk_size={chunk_size!r}: expected a whole number >= 1")
    out_path = Path(out) if out is not None else None
    if model.geos:  # each geo a market of its own (cjsim.simulate.geos)
        from cjsim.simulate.geos import simulate_geos

        summary, frame = simulate_geos(model, customers, rng=rng, engine=engine, out=out_path)
        return Simulation(summary, frame if keep_events else None, None, out_path)
    tables: list[Any] = []
    sink = tables.append if keep_events else None
    if engine == "agents":
        from cjsim.simulate.agents import simulate_agents

        days = _progress(progress, model.steps)
        summary, stats = simulate_agents(
            model, customers, rng=rng, out=out_path, sink=sink, progress=days
        )
    else:
        from cjsim.simulate.markov import DEFAULT_CHUNK
        from cjsim.simulate.markov import simulate as run_markov

        done = _progress(progress, customers)
        summary, stats = run_markov(
            model, customers, rng=rng, out=out_path, sink=sink, progress=done,
            chunk_size=chunk_size or DEFAULT_CHUNK,
        ), None  # fmt: skip
    events = _frame(tables, engine) if keep_events else None
    return Simulation(summary, events, stats, out_path)


def event_arrays(
    model: JourneyModel, customers: int, *, engine: str = "markov", rng: Any = None
) -> Iterator[dict[str, np.ndarray]]:
    """The integer-coded event arrays of one run, chunk by chunk (what the truth counts)."""
    check_engine(engine)
    if model.geos:
        from cjsim.simulate.geos import geo_event_arrays

        yield from geo_event_arrays(model, customers, rng=rng, engine=engine)
        return
    if engine == "agents":
        from cjsim.simulate.agents import agent_event_arrays

        yield agent_event_arrays(model, customers, rng=rng)
        return
    from cjsim.simulate.markov import iter_event_chunks

    for arrays, _ in iter_event_chunks(model, customers, rng=rng):
        yield arrays


def _progress(progress: Progress | None, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda done: progress(done, total)


def _frame(tables: list[Any], engine: str) -> pd.DataFrame:
    """The engine's Arrow tables (one per chunk; the agent engine writes one) as one
    event-log DataFrame."""
    if engine == "agents":
        return tables[0].to_pandas()
    import pandas as pd
    import pyarrow as pa

    from cjsim.events import arrow_schema

    if not tables:
        return pd.DataFrame(columns=list(arrow_schema().names))
    return pa.concat_tables(tables).to_pandas()
