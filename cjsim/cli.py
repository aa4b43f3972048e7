"""The ``cjsim`` command line.

The CLI owns the terminal: library code logs, this module prints. Every error caused by
the user's input (a :class:`~cjsim.errors.CjsimError`) becomes one line on stderr and exit
code 2, with no partial output left behind.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from cjsim import __version__
from cjsim.errors import CjsimError, OptionError
from cjsim.limits import (
    MAX_CUSTOMERS,
    MAX_HORIZON_DAYS,
    MAX_REPLICATIONS,
    MAX_RESAMPLES,
    check_at_most,
)

if TYPE_CHECKING:
    from cjsim.model import JourneyModel

app = typer.Typer(
    name="cjsim",
    help="Simulate customer journeys and attribute conversions against a known ground truth.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_MODEL = "ecommerce"


def _user_errors(fn: F) -> F:
    """Turn input errors into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CjsimError as exc:
            err.print(f"error: {one_line(str(exc))}", markup=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("interrupted; no output was written", markup=False)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def one_line(text: str) -> str:
    """A message as one line: control characters and line separators (a key name in a
    file may hold any) are shown escaped, as in Python."""
    import unicodedata

    return "".join(
        repr(c)[1:-1] if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text
    )


def _load(arg: str) -> JourneyModel:
    from cjsim.model import load_model, resolve_model  # pydantic: only commands that need it

    return load_model(resolve_model(arg))


def _parse_budgets(items: list[str] | None) -> dict[str, float]:
    budgets: dict[str, float] = {}
    for item in items or []:
        name, sep, amount = item.partition("=")
        try:
            value = float(amount)
        except ValueError:
            value = None  # type: ignore[assignment]
        if not sep or not name.strip() or value is None:
            raise OptionError(
                f"--budget '{item}': expected CHANNEL=AMOUNT (daily spend), e.g. paid_search=2500"
            )
        if name.strip() in budgets:
            raise OptionError(f"--budget '{item}': {name.strip()} is given twice; expected once")
        budgets[name.strip()] = value
    return budgets


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"cjsim {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(name)s: %(message)s"
    )
    _quiet_fonts(verbose)


def _quiet_fonts(verbose: bool) -> None:
    """Matplotlib's font complaints (a channel name in a script no font has, a missing
    family) are not errors: off stderr, which is for one-line errors (shown with -v)."""
    import warnings

    if not verbose:
        for pattern in (r"Glyph .* missing from", r".*findfont"):
            warnings.filterwarnings("ignore", message=pattern, category=UserWarning)
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


# -- validate ------------------------------------------------------------------------


@app.command()
@_user_errors
def validate(
    file: Annotated[
        str, typer.Argument(help="A model file (.toml) or an event log (.parquet, .csv).")
    ],
) -> None:
    """Check a model file or an event log; exit 2 with the reason if it is not valid."""
    suffix = Path(file).suffix.lower()
    if suffix in (".parquet", ".pq", ".csv"):
        from cjsim.events import read_events

        frame = read_events(file)
        n = frame["customer_id"].nunique()
        out.print(f"ok: {file} is a valid event log ({len(frame):,} events, {n:,} customers)")
        return
    model = _load(file)
    out.print(
        f"ok: {file} is a valid {model.kind} model '{model.name}' "
        f"(hash {model.content_hash()}; {len(model.stages)} stages, "
        f"{len(model.channels)} channels, {len(model.segment_table())} segments)"
    )


# -- simulate ------------------------------------------------------------------------


@app.command()
@_user_errors
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
    from cjsim.events import event_format

    event_format(out_path)
    _check_output_place(out_path)
    if engine not in ("markov", "agents"):
        raise OptionError(f"--engine '{engine}': expected 'markov' or 'agents'")
    check_at_most("--customers", customers, MAX_CUSTOMERS)
    check_at_most("--chunk-size", chunk_size, MAX_CUSTOMERS)
    check_at_most("--days", days, MAX_HORIZON_DAYS)
    budgets = _parse_budgets(budget)
    both = sorted(set(budgets) & set(off or ()))
    if both:
        raise OptionError(f"--off {both[0]} and --budget {both[0]}=...: expected one of them")
    base = _load(model)
    if days is not None and 0 < days < base.step_days:
        step = f"{base.step_days:g} day" + ("" if base.step_days == 1 else "s")
        raise OptionError(f"--days {days:g}: expected at least one step ({step})")
    m = base.with_overrides(budgets=budgets, channels_off=tuple(off or ()), horizon_days=days)
    if engine == "agents":
        from cjsim.simulate.agents import stats_path

        summary, stats = _run_agents(m, customers, seed, out_path)
        _print_summary(summary)
        _print_agent_stats(stats)
        out.print(f"wrote queue, word-of-mouth and spend figures to {stats_path(out_path)}")
    else:
        summary = _run_simulation(m, customers, seed, out_path, chunk_size)
        _print_summary(summary)
    out.print(f"wrote {summary.events:,} events to {out_path}")


def _run_agents(m: JourneyModel, customers: int, seed: int, out_path: Path) -> Any:
    from cjsim.simulate.agents import simulate_agents

    with _progress(f"{m.name} (agents)", "day {task.completed:,.0f}/{task.total:,.0f}",
                   show=customers >= 20_000) as update:  # fmt: skip
        return simulate_agents(m, customers, rng=seed, out=out_path, progress=update(m.steps))


def _print_agent_stats(stats: Any) -> None:
    if not stats.resources.empty:
        t = Table(title="Capacity", title_justify="left")
        # short headers: the table fits 80 columns
        for col in ("resource", "servers", "served", "gave up", "mean wait (days)",
                    "mean queue", "busy"):  # fmt: skip
            t.add_column(col, justify="left" if col == "resource" else "right")
        for r in stats.resources.itertuples(index=False):
            t.add_row(
                r.resource, f"{r.servers}", f"{r.served:,}", f"{r.timed_out:,}",
                f"{r.mean_wait_days:.2f}", f"{r.mean_queue:.2f}", f"{r.utilisation:.0%}",
            )  # fmt: skip
        out.print(t)
    if stats.word_of_mouth_contacts:
        out.print(
            f"word of mouth: {stats.word_of_mouth_contacts:,} conversations, "
            f"{stats.word_of_mouth_touches:,} referral touches, "
            f"{stats.converted_after_word_of_mouth:,} customers converted after one"
        )
    if stats.capped_by_budget or stats.capped_by_frequency:
        out.print(
            f"caps: {stats.capped_by_budget:,} touches stopped by a daily budget, "
            f"{stats.capped_by_frequency:,} by a frequency cap"
        )


def _run_simulation(
    m: JourneyModel, customers: int, seed: int, out_path: Path | None, chunk_size: int
) -> Any:
    from cjsim.simulate.markov import simulate as run

    with _progress(m.name, "{task.completed:,}/{task.total:,} customers",
                   show=customers >= 100_000) as update:  # fmt: skip
        return run(
            m, customers, rng=seed, out=out_path, chunk_size=chunk_size,
            progress=update(customers),
        )  # fmt: skip


@contextlib.contextmanager
def _progress(
    label: str, counter: str, *, show: bool
) -> Iterator[Callable[[int], Callable[[int], None]]]:
    """A progress bar on stderr (long runs in a terminal only); yields a factory that
    takes the total and returns the callback an engine calls with the amount done."""
    with Progress(
        TextColumn(f"simulating {label}"),
        BarColumn(),
        TextColumn(counter),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not (show and sys.stderr.isatty()),
    ) as bar:

        def update(total: int) -> Callable[[int], None]:
            task = bar.add_task(label, total=total)
            return lambda done: bar.update(task, completed=done)

        yield update


def _money(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}"


def _print_summary(summary: Any) -> None:
    d = summary.to_dict()
    head = Table(
        title=f"{d['model']} (model {d['model_hash']}, {d['engine']} engine, seed {d['seed']})",
        show_header=False,
    )
    head.add_column("figure")
    head.add_column("value", justify="right")
    rows = [
        ("customers", f"{d['customers']:,}"),
        ("days", f"{d['days']:g}"),
        ("events", f"{d['events']:,}"),
        ("conversions", f"{d['conversions']:,}"),
        ("customers who converted", f"{d['converters']:,} ({d['conversion_rate']:.2%})"),
        ("revenue", _money(d["revenue"])),
        ("spend", _money(d["spend"])),
        ("ROAS (revenue / spend)", "-" if d["roas"] is None else f"{d['roas']:.2f}"),
        ("cost per conversion", _money(d["cpa"])),
        ("run time", f"{d['elapsed_seconds']:.1f} s"),
    ]
    for k, v in rows:
        head.add_row(k, v)
    out.print(head)
    st = summary.stage_table()
    stages = Table(title="customers who reached each stage")
    stages.add_column("stage")
    stages.add_column("customers", justify="right")
    stages.add_column("share", justify="right")
    for r in st.itertuples(index=False):
        stages.add_row(r.stage, f"{r.customers:,}", f"{r.share:.2%}")
    out.print(stages)
    ch = summary.channel_table()
    if len(ch):
        spent = float(ch["spend"].abs().max()) if len(ch) else 0.0
        cents = spent < 10_000  # whole amounts where cents would be noise (and width)
        t = Table(title="touches per channel")
        for col, just in [
            ("channel", "left"),
            ("type", "left"),
            ("touches", "right"),
            ("customers reached", "right"),
            ("spend", "right"),
            ("of budget", "right"),
            ("over budget", "right"),
        ]:
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        for r in ch.itertuples(index=False):
            paid = r.type == "paid"
            t.add_row(
                r.channel,
                r.type,
                f"{r.touches:,}",
                f"{r.customers_reached:,}",
                (_money(r.spend) if cents else f"{r.spend:,.0f}") if paid else "-",
                f"{r.spend / r.budget:.0%}" if paid and r.budget > 0 else "-",
                f"{r.over_budget:,}" if paid else "-",
            )
        t.caption = (
            "spend: delivered touches x their cost; over budget: touches the budget could "
            "not pay for (not delivered)"
        )
        _print_wide(t, 96)


# -- funnel ----------------------------------------------------------------------------


@app.command()
@_user_errors
def funnel(
    model: Annotated[str, typer.Argument(help="Model file, or the name of an embedded model.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    figure: Annotated[
        Path | None,
        typer.Option(help="Also draw the funnel: share reaching each stage (.png/.svg/.pdf)."),
    ] = None,
) -> None:
    """Analytic funnel: per stage, P(conversion) and expected steps to absorption."""
    from cjsim.funnel import funnel as solve

    _check_figure_path(figure)
    m = _load(model)
    res = solve(m)
    if figure is not None:
        from cjsim.report.data import funnel_reach
        from cjsim.report.figures import funnel_chart, save_figure

        reach = funnel_reach(res.table, leave_out=(m.lost,))
        save_figure(funnel_chart(reach, f"Funnel of {m.name}: probability of ever reaching "
                                        "each stage (analytic)"), figure)  # fmt: skip
    if as_json:
        out.print_json(json.dumps(res.to_dict()))
        return
    t = Table(title=f"funnel of {m.name} (model {res.model_hash})")
    cols = list(res.table.columns)
    for c in cols:
        t.add_column(c, justify="left" if c == "stage" else "right")
    for rec in res.table.itertuples(index=False):
        t.add_row(*[v if isinstance(v, str) else f"{v:.4g}" for v in rec])
    out.print(t)
    out.print(
        f"P(conversion) from the start: {res.p_conversion:.4f} in the long run, "
        f"{res.p_conversion_horizon:.4f} within {m.horizon_days:g} days; "
        f"expected {res.expected_steps:.1f} steps to absorption"
    )
    for note in res.notes:
        out.print(f"note: {note}")
    if figure is not None:
        out.print(f"wrote {figure}")


def _check_figure_path(figure: Path | None) -> None:
    from cjsim.report.figures import FIGURE_FORMATS

    _check_output(figure, tuple(f".{f}" for f in FIGURE_FORMATS))


def _check_output(
    path: Path | None, suffixes: tuple[str, ...], inputs: tuple[Path | str, ...] = ()
) -> None:
    """An output path with a known suffix in a folder that exists, not a folder itself and
    not one of the command's inputs (checked before any work is done, so a typo costs no
    simulation and overwrites nothing the user made)."""
    if path is None:
        return
    if path.suffix.lower() not in suffixes:
        raise OptionError(f"expected a {' or '.join(suffixes)} file", source=str(path))
    _check_output_place(path, inputs)


def _check_output_folder(folder: Path) -> None:
    """An output folder (``--out`` of run and evaluate) whose parent exists, not a file."""
    if not folder.absolute().parent.is_dir():
        raise OptionError("the parent folder of --out does not exist", source=str(folder))
    if folder.exists() and not folder.is_dir():
        raise OptionError("--out must be a folder; a file of that name exists", source=str(folder))
    from cjsim._io import check_writable

    # files go into the folder, or the folder is made in its parent: that must be writable
    check_writable(folder / "manifest.json" if folder.is_dir() else folder, folder)


def _check_output_place(path: Path, inputs: tuple[Path | str, ...] = ()) -> None:
    if not path.absolute().parent.is_dir():
        raise OptionError("the folder does not exist", source=str(path))
    if path.is_dir():
        raise OptionError("is a folder; expected the name of a file to write", source=str(path))
    for given in inputs:
        src = Path(given)
        if path.exists() and src.exists() and path.resolve() == src.resolve():
            raise OptionError(
                "is also the input; expected another name for the output (the input would "
                "be overwritten)",
                source=str(path),
            )
    from cjsim._io import check_writable

    check_writable(path)  # a read-only folder stops here, not after the work


# -- paths -----------------------------------------------------------------------------


@app.command()
@_user_errors
def paths(
    events: Annotated[Path, typer.Argument(help="Event log (.parquet or .csv).")],
    out_path: Annotated[
        Path,
        typer.Option("--out", "-o", help="Path table to write (ChannelAttribution format, .csv)."),
    ],
    multi_conversion: Annotated[
        bool, typer.Option(help="Every conversion closes a journey (default: the first does).")
    ] = False,
    lookback: Annotated[
        float | None,
        typer.Option(help="Keep touches at most this many days before the journey's end."),
    ] = None,
    delimiter: Annotated[
        str, typer.Option(help="Field delimiter of the output: ',' or ';'.")
    ] = ",",
) -> None:
    """Turn an event log into a path table (path, total_conversions, total_null, value)."""
    from cjsim.inputs import load_event_paths

    if out_path.suffix.lower() != ".csv":
        raise OptionError("unknown path-table format; expected a .csv file", source=str(out_path))
    _check_output_place(out_path, (events,))
    if delimiter not in (",", ";"):
        raise OptionError(f"--delimiter {delimiter!r}: expected ',' or ';'")
    table, stats = load_event_paths(
        events, multi_conversion=multi_conversion, lookback_days=lookback
    )
    table.write_csv(out_path, delimiter=delimiter)
    tot = table.totals()
    out.print(
        f"wrote {int(tot['paths']):,} distinct paths to {out_path}: {stats.journeys:,} journeys, "
        f"{tot['conversions']:,.0f} conversions (value {tot['value']:,.2f}), "
        f"{tot['nulls']:,.0f} without conversion"
    )
    if stats.conversions_without_touches:
        out.print(
            f"note: {stats.conversions_without_touches:,} conversions had no touch before them "
            "and form no path"
        )
    if stats.touches_outside_lookback:
        out.print(
            f"note: {stats.touches_outside_lookback:,} touches fell outside the lookback window"
        )


# -- attribute -------------------------------------------------------------------------


@app.command()
@_user_errors
def attribute(
    input_path: Annotated[
        Path, typer.Argument(help="Path table (.csv, ChannelAttribution format) or event log.")
    ],
    method: Annotated[
        list[str] | None,
        typer.Option("--method", "-m", help="Method name (repeatable); default: all standard."),
    ] = None,
    order: Annotated[int, typer.Option(help="Markov order (touchpoints per state).")] = 1,
    ci: Annotated[float, typer.Option(help="Bootstrap interval level; 0 for no intervals.")] = 0.95,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 200,
    seed: Annotated[
        int, typer.Option(min=0, help="Seed of the bootstrap and sampled Shapley.")
    ] = 0,
    delimiter: Annotated[
        str | None, typer.Option(help="Delimiter of a path table (default: detect , or ;).")
    ] = None,
    direct: Annotated[
        list[str] | None,
        typer.Option(help="Channel counted as direct by last_non_direct (repeatable)."),
    ] = None,
    half_life: Annotated[
        float, typer.Option(help="Time-decay half-life in days (event logs).")
    ] = 7.0,
    self_loops: Annotated[
        bool, typer.Option(help="Keep repeated Markov states as self-transitions.")
    ] = False,
    nulls: Annotated[
        bool, typer.Option(help="Markov: use non-converting journeys (total_null).")
    ] = True,
    multi_conversion: Annotated[
        bool, typer.Option(help="Event logs: every conversion closes a journey.")
    ] = False,
    lookback: Annotated[
        float | None, typer.Option(help="Event logs: keep touches this many days before the end.")
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help="Result file (.csv or .json), long format.")
    ] = None,
) -> None:
    """Attribute conversions to channels with every standard method side by side."""
    from cjsim.attribution import DEFAULT_DIRECT
    from cjsim.attribution import attribute as run_attribution
    from cjsim.inputs import load_paths

    if out_path is not None:
        if out_path.suffix.lower() not in (".csv", ".json"):
            raise OptionError("unknown result format; expected .csv or .json", source=str(out_path))
        _check_output_place(out_path, (input_path,))
    if not 0 <= ci < 1:
        raise OptionError(f"--ci {ci!r}: expected a level between 0 and 1, e.g. 0.95 (0: none)")
    if resamples < 2:
        raise OptionError(f"--resamples {resamples!r}: expected at least 2")
    check_at_most("--resamples", resamples, MAX_RESAMPLES)
    if delimiter not in (None, ",", ";"):
        raise OptionError(f"--delimiter {delimiter!r}: expected ',' or ';'")
    table, stats = load_paths(
        input_path, delimiter=delimiter, multi_conversion=multi_conversion,
        lookback_days=lookback,
    )  # fmt: skip
    unknown = [d for d in direct or () if d not in table.channels]
    if unknown:
        raise OptionError(
            f"--direct {unknown[0]}: no such channel in the data; expected one of "
            f"{', '.join(table.channels)}",
            source=str(input_path),
        )
    result = run_attribution(
        table, method, order=order, ci=ci or None, n_resamples=resamples, rng=seed,
        direct=tuple(direct) if direct else DEFAULT_DIRECT, half_life=half_life,
        self_loops=self_loops, use_nulls=nulls,
    )  # fmt: skip
    if out_path is not None:
        result.write(out_path)
    _print_attribution(result, stats, out_path)


def _print_wide(table: Table, needed: int) -> None:
    """A terminal wraps a table to its width; a file or a pipe gets it whole."""
    if out.is_terminal:
        out.print(table)
    else:
        Console(file=out.file, width=max(needed, 80), highlight=False).print(table)


def _decimals(total: float) -> int:
    """Decimals that show a share of ``total`` without false precision."""
    return 0 if total >= 10_000 else 1 if total >= 1_000 else 2


def _print_attribution(result: Any, stats: Any, out_path: Path | None) -> None:
    tot = result.totals

    def count(x: float) -> str:
        return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"

    out.print(
        f"Attributed conversions: {count(tot['conversions'])} conversions of "
        f"{count(tot['journeys'])} journeys on {int(tot['paths']):,} paths, value "
        f"{tot['value']:,.2f}"
    )
    d = _decimals(tot["conversions"])
    table = Table()
    table.add_column("channel", no_wrap=True)
    cols = result.columns  # the long table as arrays: printing needs no pandas
    for name in result.methods:
        table.add_column(name, justify="right", no_wrap=True)
    with_ci = bool(result.settings.get("ci"))
    widths = [len(c) for c in cols["channel"]] + [len(m) for m in result.methods]
    keys = zip(cols["method"], cols["channel"], strict=True)
    by_key = {key: i for i, key in enumerate(keys)}
    for channel in dict.fromkeys(cols["channel"]):
        cells = []
        for name in result.methods:
            i = by_key[(name, channel)]
            cell = f"{cols['conversions'][i]:,.{d}f}"
            if with_ci:
                cell += f"\n[{cols['ci_low'][i]:,.{d}f}, {cols['ci_high'][i]:,.{d}f}]"
            widths.append(max(len(line) for line in cell.splitlines()))
            cells.append(cell)
        table.add_row(channel, *cells)
    _print_wide(table, (len(result.methods) + 1) * (max(widths) + 3) + 1)
    if with_ci:
        out.print(
            f"\\[low, high]: {result.settings['ci']:.0%} bootstrap intervals over journeys "
            f"({result.settings['n_resamples']} resamples)"
        )
    if "markov" in result.models:
        m = result.models["markov"]
        out.print(
            f"markov (order {m.order}): P(conversion) = {m.p_conversion_:.4g}, "
            f"{len(m.states_):,} states; removal effects: "
            + ", ".join(
                f"{c} {r:.3f}" for c, r in zip(m.channels_, m.removal_effects_, strict=True)
            )
        )
    if stats is not None and stats.conversions_without_touches:
        out.print(
            f"note: {stats.conversions_without_touches:,} conversions had no touch before them "
            "and form no path"
        )
    if out_path is not None:
        out.print(f"wrote {out_path}")


# -- evaluate --------------------------------------------------------------------------


@app.command()
@_user_errors
def evaluate(
    model: Annotated[str, typer.Argument(help="Model file or embedded model name.")],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the CSVs, JSON and figures.")
    ],
    customers: Annotated[int, typer.Option(help="Customers per replication.")] = 100_000,
    replications: Annotated[int, typer.Option(help="Independent simulated logs.")] = 3,
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 0,
    engine: Annotated[str, typer.Option(help="Simulation engine.")] = "markov",
    truth_customers: Annotated[
        int | None, typer.Option(help="Customers per counterfactual run (default: --customers).")
    ] = None,
    method: Annotated[
        list[str] | None,
        typer.Option("--method", "-m", help="Method to score (repeatable); default: all."),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (default: all cores).")] = None,
    multi_conversion: Annotated[
        bool, typer.Option(help="Count every conversion, not only each customer's first.")
    ] = False,
) -> None:
    """Score every attribution method against the model's counterfactual ground truth."""
    from cjsim.attribution import make_method
    from cjsim.evaluate import EVALUATED_METHODS
    from cjsim.evaluate import evaluate as run_evaluation

    if engine not in ("markov", "agents"):
        raise OptionError(f"--engine '{engine}': expected 'markov' or 'agents'")
    for flag, value in (("--customers", customers), ("--replications", replications),
                        ("--truth-customers", truth_customers)):  # fmt: skip
        if value is not None and value < 1:
            raise OptionError(f"{flag} {value}: expected at least 1")
    check_at_most("--customers", customers, MAX_CUSTOMERS)
    check_at_most("--truth-customers", truth_customers, MAX_CUSTOMERS)
    check_at_most("--replications", replications, MAX_REPLICATIONS)
    if workers is not None and workers < 1:
        raise OptionError(f"--workers {workers}: expected at least 1")
    _check_output_folder(out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / "evaluation.json").exists():
        raise OptionError(
            "the folder holds files cjsim evaluate did not write; expected a new or empty "
            "folder (or an earlier evaluation's, which is replaced)",
            source=str(out_dir),
        )
    methods = tuple(method) if method else EVALUATED_METHODS
    for name in methods:
        make_method(name)  # unknown names stop here, before hours of simulation
    m = _load(model)
    with out.status(
        f"ground truth and {replications} replication(s) of {customers:,} customers..."
    ):
        result = run_evaluation(
            m, customers, replications=replications, rng=seed, methods=methods,
            truth_customers=truth_customers, multi_conversion=multi_conversion,
            workers=workers, engine=engine,
        )  # fmt: skip
    written = result.write(out_dir)
    _print_evaluation(result)
    out.print(f"wrote {', '.join(p.name for p in written)} to {out_dir}")


def _print_evaluation(result: Any) -> None:
    from cjsim.evaluate import TRUTH_DEFINITION

    truth = result.truth
    tf = truth.to_frame().set_index("channel")
    t = Table(
        title=f"Ground truth: {truth.customers:,} customers per counterfactual run, "
        f"{truth.settings['runs']} runs ("
        + ("exact Shapley" if truth.settings["exact_shapley"] else
           f"Shapley from {truth.settings['n_permutations']} sampled orders")
        + ")",
        title_justify="left",
        caption="± = 1.96 standard errors of the truth itself (paired runs, over blocks of "
        "1,024 customers); spend: delivered touches x their cost, all channels on",
        caption_justify="left",
    )  # fmt: skip
    for col in ("channel", "incremental", "Shapley", "true share", "spend", "incremental ROAS",
                "marginal ROAS"):  # fmt: skip
        t.add_column(col, justify="left" if col == "channel" else "right")

    def pm(x: Any, se: Any, fmt: str = ",.2f") -> str:
        if x is None or pd_isna(x):
            return ""
        return f"{x:{fmt}}" + ("" if se is None or pd_isna(se) else f" ± {1.96 * se:{fmt}}")

    for ch, r in tf.iterrows():
        t.add_row(
            str(ch),
            pm(r["incremental_conversions"], r["incremental_conversions_se"], ",.1f"),
            pm(r["shapley_conversions"], r["shapley_conversions_se"], ",.1f"),
            pm(r["shapley_share"], r.get("shapley_share_se"), ".1%"),
            pm(r.get("spend"), None, ",.0f"),
            pm(r.get("incremental_roas"), r.get("incremental_roas_se")),
            pm(r.get("marginal_roas"), r.get("marginal_roas_se")),
        )
    _print_wide(t, 120)
    harmful = [str(c) for c, x in truth.shares("shapley").items() if x < 0]
    if harmful:
        out.print(
            f"note: {', '.join(harmful)} {'has' if len(harmful) == 1 else 'have'} a negative "
            "true share: switching it on costs conversions (the other shares add up to more "
            "than 100%)"
        )
    tot = truth.totals
    out.print(
        f"conversions: {tot['conversions_all_on']:,.0f} with every channel on, "
        f"{tot['conversions_all_off']:,.0f} with all off; the increments add up to "
        f"{tot['increments_minus_caused']:+,.0f} ± {1.96 * tot['increments_minus_caused_se']:,.0f}"
        " more than all channels caused together"
    )
    reps = result.settings["replications"]

    def ci(x: Any, lo: Any, hi: Any, fmt: str) -> str:
        if pd_isna(x):
            return ""
        return f"{x:{fmt}}" + ("" if pd_isna(lo) else f" ± {(hi - lo) / 2:{fmt.lstrip('+')}}")

    s = Table(
        title=f"Methods against the truth over {reps} replication(s) of "
        f"{result.settings['customers']:,} customers, best share error first",
        title_justify="left",
        caption=f"{TRUTH_DEFINITION}; ± = 95% interval over replications incl. the truth's "
        "noise; ≈ best: not distinguishable from the best at 95%. Over-credit: conversions "
        "credited / conversions marketing caused. ROAS error: mean |attributed value / spend "
        "- true incremental ROAS| over paid channels. Budget move: from the method's "
        "lowest- to its highest-ROAS paid channel, gain per unit moved at the true marginal "
        "ROAS.",
        caption_justify="left",
    )
    for col in ("method", "share MAE", "vs best", "over-credit", "ROAS error",
                "budget move", "gain per unit", "worst channel"):  # fmt: skip
        s.add_column(col, justify="left" if col in ("method", "worst channel",
                                                    "budget move") else "right")  # fmt: skip
    bias = result.bias.set_index(["method", "channel"])
    moves = result.decisions.set_index("method") if not result.decisions.empty else None
    summary = result.summary
    ties = summary["tied_with_best"].fillna(False).astype(bool) if "tied_with_best" in summary \
        else summary["mae"] * 0 > 0  # fmt: skip
    for i, r in summary.iterrows():
        b = bias.loc[(r["method"], r["worst_channel"])]
        move, gain = "", ""
        if moves is not None and r["method"] in moves.index:
            d = moves.loc[r["method"]]
            move = f"{d['move_from']} → {d['move_to']}" if isinstance(d["move_from"], str) \
                else "no move"  # fmt: skip
            gain = ci(d["gain"], d["gain_low"], d["gain_high"], "+.2f")
            gain += f" ({d['verdict']})" if d["verdict"] in ("gains", "loses") else ""
        over = ci(r.get("over_credit"), r.get("over_credit_low"), r.get("over_credit_high"),
                  ".1f")  # fmt: skip
        s.add_row(
            r["method"],
            ci(r["mae"], r["mae_low"], r["mae_high"], ".3f"),
            "best" if i == 0 else "≈ best" if ties[i] else "",
            over.replace(" ±", "× ±", 1) if "±" in over else over + ("×" if over else ""),
            ci(r.get("roas_mae"), r.get("roas_mae_low"), r.get("roas_mae_high"), ".2f"),
            move,
            gain,
            f"{r['worst_channel']} {b['share']:.0%} vs {b['truth']:.0%}",
        )
    _print_wide(s, 150)
    top = result.summary.iloc[0]
    if not pd_isna(top.get("caused")):
        out.print(
            f"the methods credit {result.summary['conversions'].mean():,.0f} conversions per "
            f"replication; marketing caused {top['caused']:,.1f} ± {1.96 * top['caused_se']:,.1f}"
            " of them (the truth's Shapley total, scaled"
            + ("" if "caused_se" in result.truth.totals else
               "; ± an upper bound: the sum of the channels' intervals")
            + ")"
        )  # fmt: skip
    if moves is not None and isinstance(moves.loc["truth", "move_from"], str):
        d = moves.loc["truth"]
        out.print(
            f"the truth's best move: {d['move_from']} → {d['move_to']}, "
            f"{ci(d['gain'], d['gain_low'], d['gain_high'], '+.2f')} value per unit of spend "
            f"({'significant' if d['verdict'] == 'gains' else 'not significant'} at 95%)"
        )
    _print_absolute(result)


def _print_absolute(result: Any) -> None:
    """Credited conversions per channel against what each channel caused."""
    ab = result.absolute
    if ab.empty:
        return
    channels = list(dict.fromkeys(ab["channel"]))
    per = ab.set_index(["method", "channel"])
    a = Table(
        title="Credited conversions per channel against what each caused (truth scaled to "
        f"{result.settings['customers']:,} customers), mean over replications",
        title_justify="left",
        caption="(n×): credited / caused; (+n): credited minus caused where the truth is "
        "not clearly above 0. Intervals: absolute.csv.",
        caption_justify="left",
    )
    a.add_column("method")
    for ch in channels:
        a.add_column(ch, justify="right")
    first = per.xs(result.summary["method"].iloc[0], level="method").reindex(channels)
    a.add_row(
        "caused (truth)",
        *(f"{x:,.1f} ± {1.96 * se:,.1f}" for x, se in
          zip(first["truth_conversions"], first["truth_conversions_se"], strict=True)),
        style="bold",
    )  # fmt: skip
    for method in result.summary["method"]:
        rows = per.xs(method, level="method").reindex(channels)
        a.add_row(method, *(
            f"{c:,.0f} ({o:.1f}×)" if not pd_isna(o) else f"{c:,.0f} ({e:+,.0f})"
            for c, o, e in zip(rows["conversions"], rows["over_credit"], rows["excess"],
                               strict=True)
        ))  # fmt: skip
    _print_wide(a, 30 + 18 * len(channels))


def pd_isna(x: Any) -> bool:
    return x is None or (isinstance(x, float) and x != x)


# -- run (experiments) -----------------------------------------------------------------


@app.command()
@_user_errors
def run(
    experiment: Annotated[
        str, typer.Argument(help="Experiment file (.toml) or a shipped experiment's name.")
    ],
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Results folder (default: ./<experiment name>)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Local processes (default: all cores).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Start over in a folder that holds another experiment.")
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address, or 'local' for a LocalCluster."),
    ] = None,
) -> None:
    """Run an experiment's scenarios x replications (re-running resumes)."""
    from cjsim.experiment.config import load_experiment, resolve_experiment
    from cjsim.experiment.runner import experiment_tasks, run_experiment

    if workers is not None and workers < 1:
        raise OptionError(f"--workers {workers}: expected at least 1")
    exp = load_experiment(resolve_experiment(experiment))
    folder = out_dir or Path(exp.name)
    _check_output_folder(folder)
    total = len(experiment_tasks(exp))
    show = sys.stderr.isatty()
    with Progress(
        TextColumn(f"{exp.name}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} tasks"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not show,
    ) as bar:
        task = bar.add_task(exp.name, total=total)
        try:
            result = run_experiment(
                exp, folder, workers=workers, force=force, scheduler=scheduler,
                progress=lambda done, _total: bar.update(task, completed=done),
            )  # fmt: skip
        except KeyboardInterrupt:
            done = sum(1 for _ in (folder / "tasks").glob("*/*.json"))
            err.print(
                f"interrupted: {done:,} of {total:,} finished tasks are kept in {folder}; "
                "run the same command again to resume"
            )
            raise typer.Exit(130) from None
    _print_experiment(result)
    _print_attribution_study(result)
    if result.done_before:
        out.print(f"resumed: {result.done_before:,} of {total:,} tasks were already done")
    out.print(f"wrote {', '.join(result.written)} to {folder}")


def _print_experiment(result: Any) -> None:
    spec = result.experiment.spec
    s = result.summary
    t = Table(
        title=f"{spec.name}: {spec.replications} paired replications of {spec.customers:,} "
        f"customers ({spec.engine} engine); difference to '{spec.baseline_name}'; 95% "
        "intervals, each on its own; p Holm-corrected over the tested differences (one "
        "that is the same in every replication is exact and has none)",
        title_justify="left",
    )
    t.add_column("scenario")
    t.add_column("metric")
    t.add_column("mean", justify="right")
    t.add_column("95% interval", justify="right")
    t.add_column("vs baseline", justify="right")
    t.add_column("95% interval", justify="right")
    t.add_column("p (Holm)", justify="right")

    def num(x: float) -> str:
        if x != x:
            return ""
        return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.2f}" if abs(x) >= 1 else f"{x:.4f}"

    def interval(lo: float, hi: float, sign: str = "") -> str:
        if lo != lo:  # one replication: no interval
            return ""
        return f"[{lo:{sign},.2f}, {hi:{sign},.2f}]" if sign else f"[{num(lo)}, {num(hi)}]"

    for r in s.itertuples(index=False):
        baseline = r.scenario == spec.baseline_name
        t.add_row(
            r.scenario, r.metric, num(r.mean), interval(r.low, r.high),
            "" if baseline else f"{r.diff:+,.2f}",
            "" if baseline else interval(r.diff_low, r.diff_high, "+"),
            "" if baseline or r.p_holm != r.p_holm else f"{r.p_holm:.3g}",
        )  # fmt: skip
    _print_wide(t, 120)


def _print_attribution_study(result: Any) -> None:
    """Methods x scenarios: MAE against the truth, or the mean credit shares without it."""
    if result.attribution is not None and not result.attribution.empty:
        a = result.attribution
        scenarios = list(dict.fromkeys(a["scenario"]))
        from cjsim.evaluate import TRUTH_DEFINITION

        t = Table(
            title="Attribution against the truth: mean absolute error of credit shares "
            "(95% interval over replications, incl. the truth's noise where the truth "
            "tasks give it; best per scenario in bold)",
            title_justify="left",
            caption=TRUTH_DEFINITION,
            caption_justify="left",
        )
        t.add_column("method")
        for sc in scenarios:
            t.add_column(sc, justify="right")
        best = a.loc[a.groupby("scenario", sort=False)["mae"].idxmin()]
        best_of = dict(zip(best["scenario"], best["method"], strict=True))
        order = a.groupby("method", sort=False)["mae"].mean().sort_values().index
        cells = a.set_index(["method", "scenario"])
        for m in order:
            row = []
            for sc in scenarios:
                r = cells.loc[(m, sc)]
                text = f"{r['mae']:.3f} [{r['mae_low']:.3f}, {r['mae_high']:.3f}]"
                row.append(f"[bold]{text}[/bold]" if best_of[sc] == m else text)
            t.add_row(m, *row)
        _print_wide(t, 140)
    elif result.credit is not None and not result.credit.empty:
        c = result.credit
        totals = c.groupby(["scenario", "replication", "method"])["conversions"].transform("sum")
        share = c.assign(share=c["conversions"] / totals.where(totals > 0))
        mean = share.groupby(["scenario", "method", "channel"], sort=False)["share"].mean()
        for sc, g in mean.groupby(level="scenario", sort=False):
            table = g.droplevel("scenario").unstack("method")
            t = Table(title=f"{sc}: mean credit share per channel", title_justify="left")
            t.add_column("channel")
            for m in table.columns:
                t.add_column(str(m), justify="right")
            for ch, r in table.iterrows():
                t.add_row(str(ch), *(f"{v:.1%}" if v == v else "" for v in r))
            _print_wide(t, 140)


# -- optimize --------------------------------------------------------------------------


@app.command()
@_user_errors
def optimize(
    model: Annotated[str, typer.Argument(help="Model file or embedded model name.")],
    customers: Annotated[int, typer.Option(help="Customers per simulation.")] = 20_000,
    replications: Annotated[int, typer.Option(help="Paired replications per point.")] = 4,
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 0,
    metric: Annotated[
        str | None,
        typer.Option(help="What to maximise: revenue or conversions (default: revenue)."),
    ] = None,
    budget: Annotated[
        float | None, typer.Option(help="Total daily spend to split (default: what is spent now).")
    ] = None,
    max_change: Annotated[
        float | None,
        typer.Option(help="Keep each channel within this fraction of its budget, e.g. 0.5."),
    ] = None,
    target_roas: Annotated[
        float | None,
        typer.Option(
            help="Flexible total: spend while a unit more returns at least this "
            "much revenue (1 = break even). Implies --metric revenue."
        ),
    ] = None,
    target_cpa: Annotated[
        float | None,
        typer.Option(
            help="Flexible total: spend while one more conversion costs at most "
            "this. Implies --metric conversions."
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (default: all cores).")] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the proposed split (.csv).")
    ] = None,
    figure: Annotated[
        Path | None,
        typer.Option(help="Draw the response curves with bands (.png, .svg or .pdf)."),
    ] = None,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Also write an HTML report.")
    ] = None,
) -> None:
    """Fit response curves by simulation, split the budget, and validate the split."""
    from cjsim.experiment.optimize import optimise_model

    if customers < 1:
        raise OptionError(f"--customers {customers}: expected at least 1")
    if replications < 2:
        raise OptionError(f"--replications {replications}: expected at least 2")
    check_at_most("--customers", customers, MAX_CUSTOMERS)
    check_at_most("--replications", replications, MAX_REPLICATIONS)
    if workers is not None and workers < 1:
        raise OptionError(f"--workers {workers}: expected at least 1")
    if metric is not None and metric not in ("revenue", "conversions"):
        raise OptionError(f"--metric {metric!r}: expected 'revenue' or 'conversions'")
    for flag, value, implied in (("--target-roas", target_roas, "revenue"),
                                 ("--target-cpa", target_cpa, "conversions")):  # fmt: skip
        if value is not None and metric not in (None, implied):
            raise OptionError(f"{flag} maximises {implied}; --metric {metric} contradicts it")
    metric = metric or "revenue"
    _check_output(out_path, (".csv",))
    _check_figure_path(figure)
    _check_output(report_path, (".html", ".htm"))
    for flag, value in (("--budget", budget), ("--max-change", max_change),
                        ("--target-roas", target_roas), ("--target-cpa", target_cpa)):  # fmt: skip
        if value is not None and not math.isfinite(value):
            raise OptionError(f"{flag} {value!r}: expected a finite number")
    if max_change is not None and not max_change >= 0:
        raise OptionError(
            f"--max-change {max_change!r}: expected a fraction >= 0 of each channel's budget, "
            "e.g. 0.5"
        )
    if budget is not None and not budget >= 0:
        raise OptionError(f"--budget {budget!r}: expected an amount >= 0")
    given = [n for n, v in (("--budget", budget), ("--target-roas", target_roas),
                            ("--target-cpa", target_cpa)) if v is not None]  # fmt: skip
    if len(given) > 1:
        raise OptionError(f"{' and '.join(given)}: give at most one of them")
    target = None
    if target_roas is not None:
        if not target_roas > 0:
            raise OptionError(f"--target-roas {target_roas!r}: expected a number > 0")
        metric, target = "revenue", target_roas
    if target_cpa is not None:
        if not target_cpa > 0:
            raise OptionError(f"--target-cpa {target_cpa!r}: expected an amount > 0")
        metric, target = "conversions", 1.0 / target_cpa
    m = _load(model)
    with out.status("simulating response curves..."):
        opt = optimise_model(
            m, customers, replications=replications, rng=seed, metric=metric, budget=budget,
            max_change=max_change, target_marginal=target, workers=workers,
        )  # fmt: skip
    per = "revenue" if metric == "revenue" else "conversions"
    t = Table(
        title=f"Daily budgets of {m.name}: current and proposed (maximising {metric}); "
        f"spend = what the budget pays for (delivered touches x their cost); marginal "
        f"{per} per unit of spend",
        title_justify="left",
    )
    for col in ("channel", "budget now", "proposed", "spend now", "proposed",
                "marginal now", "marginal proposed"):  # fmt: skip
        t.add_column(col, justify="left" if col == "channel" else "right")
    for r in opt.table().to_dict(orient="records"):
        t.add_row(
            str(r["channel"]), f"{r['current_budget']:,.0f}", f"{r['proposed_budget']:,.0f}",
            f"{r['current_spend']:,.0f}", f"{r['proposed_spend']:,.0f}",
            f"{r['marginal_now']:.3f}", f"{r['marginal_proposed']:.3f}",
        )  # fmt: skip
    _print_wide(t, 100)
    v = {str(r["metric"]): r for r in opt.validation.to_dict(orient="records")}
    out.print(
        f"validated on {replications} paired replications of {customers:,} customers: "
        + "; ".join(
            f"{k} {v[k]['current']:,.1f} -> {v[k]['proposed']:,.1f} "
            f"({v[k]['diff']:+,.1f}, 95% [{v[k]['diff_low']:+,.1f}, {v[k]['diff_high']:+,.1f}])"
            for k in ("conversions", "revenue")
        )
    )
    if target is not None:
        split = opt.table()
        out.print(
            f"flexible total: spend {split['current_spend'].sum():,.0f} -> "
            f"{split['proposed_spend'].sum():,.0f} a day (each channel spends until its "
            + (f"marginal ROAS is {target_roas:g})" if target_roas is not None
               else f"marginal cost per conversion is {target_cpa:g})")
        )  # fmt: skip
    if out_path is not None:
        from cjsim._io import write_text_atomic

        write_text_atomic(out_path, opt.table().to_csv(index=False))
        out.print(f"wrote {out_path}")
    if figure is not None:
        from cjsim.report.figures import response_curves, save_figure

        save_figure(response_curves(opt), figure)
        out.print(f"wrote {figure}")
    if report_path is not None:
        from cjsim.report.build import optimisation_sections
        from cjsim.report.html import Report

        rep = Report(
            f"Budget optimisation: {m.name}",
            meta={"model": m.name, "model hash": m.content_hash(), "seed": seed,
                  "customers": customers, "replications": replications, "metric": metric},
        )  # fmt: skip
        rep.sections += optimisation_sections(opt, m.name)
        rep.write(report_path)
        out.print(f"wrote {report_path}")


# -- explain ---------------------------------------------------------------------------


@app.command()
@_user_errors
def explain(
    model: Annotated[str, typer.Argument(help="Model file or embedded model name.")] = "dentist",
    customer: Annotated[
        int | None,
        typer.Option(help="Which customer (default: the first who converts after a few touches)."),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Random seed (as in cjsim simulate).")] = 0,
    engine: Annotated[str, typer.Option(help="markov or agents.")] = "markov",
) -> None:
    """Tell one simulated customer's journey in plain words, stage by stage, touch by touch."""
    from cjsim.explain import SEARCH_CUSTOMERS
    from cjsim.explain import explain as tell

    m = _load(model)
    story = tell(m, customer, seed=seed, engine=engine)
    out.print(f"[bold]{m.name}[/bold], seed {seed}, {engine} engine", highlight=False)
    for line in story.lines:
        out.print(line, highlight=False, markup=False)  # model words are not rich markup
    if customer is None:
        why = (
            f"customer {story.customer} was chosen as the first to convert after a few touches"
            if story.converted
            else f"none of the first {SEARCH_CUSTOMERS:,} customers converted: customer 0"
        )
        out.print(f"({why}; --customer N tells another)", highlight=False)


# -- report ----------------------------------------------------------------------------


@app.command()
@_user_errors
def report(
    target: Annotated[
        Path,
        typer.Argument(
            help="Event log, path table, attribution result (.csv/.json), or a "
            "folder written by cjsim run or cjsim evaluate."
        ),
    ],
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="The report to write (.html).")
    ] = Path("report.html"),
) -> None:
    """Write one self-contained HTML report (figures embedded; opens offline)."""
    from cjsim.report.build import build_report

    _check_output(out_path, (".html", ".htm"), (target,))
    with out.status("writing the report..."):
        rep = build_report(target)
        rep.write(out_path)
    out.print(f"wrote {out_path} ({out_path.stat().st_size / 1e6:.1f} MB): {rep.title}")


# -- demo ------------------------------------------------------------------------------


@app.command()
@_user_errors
def demo(
    customers: Annotated[int, typer.Option(min=1, help="Number of customers.")] = 200_000,
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 42,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Also write the event log (.parquet or .csv)."),
    ] = None,
    report_path: Annotated[
        Path,
        typer.Option("--report", help="The HTML report to write (open it in a browser)."),
    ] = Path("cjsim-demo.html"),
) -> None:
    """Quickstart: simulate the embedded ecommerce model, check attribution against the
    truth the simulator knows, try a what-if experiment, and write an HTML report."""
    from cjsim.events import event_format
    from cjsim.report.html import Report

    _check_output(report_path, (".html", ".htm"))
    if out_path is not None:
        event_format(out_path)
        _check_output_place(out_path)
    check_at_most("--customers", customers, MAX_CUSTOMERS)
    m = _load(DEFAULT_MODEL)
    out.print(f"[bold]cjsim demo[/bold]: {m.description}")
    summary = _run_simulation(m, customers, seed, out_path, 65536)
    _print_summary(summary)
    if out_path is not None:
        out.print(f"wrote {summary.events:,} events to {out_path}")
    rep = Report(
        f"cjsim demo: {m.name}",
        subtitle=m.description,
        meta={"model": m.name, "model hash": m.content_hash(), "seed": seed,
              "customers simulated": f"{customers:,}"},
    )  # fmt: skip
    rep.sections += _demo_truth(m, min(customers, DEMO_TRUTH_CUSTOMERS), seed)
    rep.sections += _demo_experiment(min(customers, DEMO_EXPERIMENT_CUSTOMERS), seed)
    with out.status("writing the report..."):
        rep.write(report_path)
    out.print(f"wrote the report {report_path.absolute()}: open it in a browser")


#: Customers and replications of the demo's what-if experiment (a few seconds).
DEMO_EXPERIMENT_CUSTOMERS = 20_000
DEMO_EXPERIMENT_REPLICATIONS = 6


def _demo_experiment(customers: int, seed: int) -> list[Any]:
    """The shipped budget_shift experiment, small: what moving money would change
    (printed; returned as report sections)."""
    import tempfile

    from cjsim.experiment.config import load_experiment, resolve_experiment
    from cjsim.experiment.runner import run_experiment

    small = load_experiment(resolve_experiment("budget_shift")).with_settings(
        customers=customers, replications=DEMO_EXPERIMENT_REPLICATIONS, seed=seed
    )
    spec = small.spec
    from cjsim.report.build import experiment_report

    with out.status("what-if experiment..."), tempfile.TemporaryDirectory() as tmp:
        result = run_experiment(small, Path(tmp) / "run")
        sections = experiment_report(Path(tmp) / "run").sections
    rows = {(r["scenario"], r["metric"]): r for r in result.summary.to_dict("records")}
    t = Table(
        title=f"What if we move money? {spec.replications} paired replications of "
        f"{customers:,} customers per scenario: change against '{spec.baseline_name}' "
        "(95% intervals)",
        title_justify="left",
    )
    t.add_column("scenario")
    metrics = ("conversions", "revenue", "spend", "roas")
    for metric in metrics:
        t.add_column(metric, justify="right")
    for name in spec.scenarios:
        if name == spec.baseline_name:
            continue
        cells = []
        for metric in metrics:
            r = rows[(name, metric)]
            d, lo, hi = (float(r[k]) for k in ("diff", "diff_low", "diff_high"))
            fmt = "{:+,.2f}" if metric == "roas" else "{:+,.0f}"
            cells.append(f"{fmt.format(d)} [{fmt.format(lo)}, {fmt.format(hi)}]")
        t.add_row(name, *cells)
    _print_wide(t, 110)
    out.print(
        "Every scenario runs the same customers with the same random numbers, so the "
        "differences are sharp; `cjsim run budget_shift` runs it in full, `cjsim optimize "
        "ecommerce` finds the best split."
    )
    return sections


#: Customers of the demo's attribution-vs-truth comparison (a few seconds).
DEMO_TRUTH_CUSTOMERS = 50_000
DEMO_METHODS = ("last", "first", "linear", "markov", "shapley")
DEMO_TRUTH_TEXT = (
    "The truth is known because the simulator knows the cause: a channel's true share is "
    "what switching it off loses, simulated on the same customers with the same random "
    "numbers (common random numbers), as a share of the sum over channels."
)


def _demo_truth(model: JourneyModel, customers: int, seed: int) -> list[Any]:
    """Attribute a simulated log and compare each method's shares with the true ones
    (printed; returned with the journey's figures as report sections)."""
    from cjsim.attribution import attribute
    from cjsim.evaluate import score
    from cjsim.paths import paths_from_events
    from cjsim.simulate import simulate_frame
    from cjsim.simulate.truth import ground_truth

    with out.status("attribution vs ground truth..."):
        events, _ = simulate_frame(model, customers, rng=seed)
        paths, _ = paths_from_events(events)
        if paths.n_paths == 0:
            return []
        result = attribute(paths, DEMO_METHODS, ci=0.95, n_resamples=100, rng=seed)
        truth = ground_truth(model, customers, rng=seed, shapley=False, marginal_roas=False)
    scores = score(result.to_frame(), truth.shares("incremental"))
    shares = scores.pivot(index="channel", columns="method", values="share")
    t = Table(
        title=f"Who gets the credit? Shares of {paths.conversions.sum():,.0f} conversions of "
        f"{customers:,} customers, against the truth (what switching each channel off "
        "loses, same customers)",
        title_justify="left",
    )
    t.add_column("channel")
    t.add_column("truth", justify="right", style="bold")
    for name in DEMO_METHODS:
        t.add_column(name, justify="right")
    truth_share = truth.shares("incremental")
    grid = shares.reindex(index=list(truth.channels), columns=list(DEMO_METHODS)).fillna(0.0)
    for channel, row in zip(truth.channels, grid.to_numpy(), strict=True):
        t.add_row(
            channel,
            f"{truth_share.to_dict()[channel]:.0%}",
            *(f"{x:.0%}" for x in row),
        )
    mae = scores.assign(abs_error=scores["error"].abs()).groupby("method")["abs_error"].mean()
    t.add_row("mean abs. error", "", *(f"{mae[n]:.3f}" for n in DEMO_METHODS), style="italic")
    _print_wide(t, 100)
    out.print(
        "Last touch credits the channels people meet when they have already decided; "
        "`cjsim evaluate MODEL --out DIR` scores every method with intervals and figures."
    )
    from cjsim.report import build

    with out.status("drawing the figures..."):
        return [
            *build.journey_sections(events, list(model.stages), model.lost),
            *build.path_sections(paths, events),
            *build.attribution_sections(result),
            *build.truth_sections(scores, DEMO_TRUTH_TEXT),
        ]


_MAIN_PID = [0]  # the process that installed the handler (main() sets it)


def _terminated(signum: int, frame: Any) -> None:
    if os.getpid() != _MAIN_PID[0]:  # a forked worker: die as by default; the parent tidies up
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise KeyboardInterrupt  # stop as on Ctrl-C: temporary files removed, workers stopped


def main() -> None:
    """Entry point of the ``cjsim`` console script."""
    # a SIGTERM (kill, a job scheduler's time limit) ends the run the way Ctrl-C does,
    # instead of leaving a half-written temporary file behind
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        _MAIN_PID[0] = os.getpid()
        signal.signal(signal.SIGTERM, _terminated)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
