"""The ``simulate`` command: a model's customers to an event log, with either engine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cjsim.cli.options import check_engine, check_events_output, load_model_arg, parse_budgets
from cjsim.cli.render import out, print_agent_stats, print_summary, progress
from cjsim.errors import OptionError
from cjsim.limits import MAX_CUSTOMERS, MAX_HORIZON_DAYS, check_at_most

if TYPE_CHECKING:
    from cjsim.model import JourneyModel


def simulate(
    model: Annotated[str, typer.Argument(help="Model file, or the name of an embedded model.")],
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="Event log to write (.parquet or .csv).")
    ],
    customers: Annotated[int, typer.Option(min=1, help="Number of customers.")] = 10_000,
    days: Annotated[
        float | None, typer.Option(help="Horizon in days (default: the model's).")
    ] = None,
    seed: Annotated[
        int, typer.Option(min=0, help="Random seed; the same seed gives the same log.")
    ] = 0,
    budget: Annotated[
        list[str] | None,
        typer.Option(help="Daily budget of a paid channel, CHANNEL=AMOUNT (repeatable)."),
    ] = None,
    off: Annotated[
        list[str] | None, typer.Option(help="Switch a channel off (repeatable).")
    ] = None,
    engine: Annotated[str, typer.Option(help="Simulation engine.")] = "markov",
    chunk_size: Annotated[int, typer.Option(min=1, help="Customers simulated at a time.")] = 65536,
) -> None:
    """Simulate customers of a model and write their event log."""
    check_events_output(out_path)
    check_engine(engine)
    check_at_most("--customers", customers, MAX_CUSTOMERS)
    check_at_most("--chunk-size", chunk_size, MAX_CUSTOMERS)
    check_at_most("--days", days, MAX_HORIZON_DAYS)
    budgets = parse_budgets(budget)
    both = sorted(set(budgets) & set(off or ()))
    if both:
        raise OptionError(f"--off {both[0]} and --budget {both[0]}=...: expected one of them")
    base = load_model_arg(model)
    if days is not None and 0 < days < base.step_days:
        step = f"{base.step_days:g} day" + ("" if base.step_days == 1 else "s")
        raise OptionError(f"--days {days:g}: expected at least one step ({step})")
    m = base.with_overrides(budgets=budgets, channels_off=tuple(off or ()), horizon_days=days)
    run = run_engine(m, customers, seed, out_path, engine, chunk_size)
    print_summary(run.summary)
    if run.stats is not None:
        from cjsim.simulate.agents import stats_path

        print_agent_stats(run.stats)
        out.print(f"wrote queue, word-of-mouth and spend figures to {stats_path(out_path)}")
    out.print(f"wrote {run.summary.events:,} events to {out_path}")


#: Per engine: what the progress bar counts, and from how many customers it is shown.
_BARS = {
    "markov": ("", "{task.completed:,}/{task.total:,} customers", 100_000),
    "agents": (" (agents)", "day {task.completed:,.0f}/{task.total:,.0f}", 20_000),
}


def run_engine(
    m: JourneyModel,
    customers: int,
    seed: int,
    out_path: Path | None,
    engine: str = "markov",
    chunk_size: int | None = None,
) -> Any:
    """Simulate with a progress bar on stderr (long runs in a terminal only)."""
    from cjsim.simulate.run import simulate as run

    label, counter, least = _BARS[engine]
    with progress(m.name + label, counter, show=customers >= least) as bar:
        return run(
            m, customers, engine=engine, rng=seed, out=out_path, chunk_size=chunk_size,
            progress=bar,
        )  # fmt: skip
