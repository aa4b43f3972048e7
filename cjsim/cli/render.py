"""Rich rendering of what the commands print: tables, summaries and progress bars.

Only this module (and :mod:`cjsim.cli.render_studies`, :mod:`cjsim.cli.render_measure`)
writes to the terminal. Tables that do not fit a terminal wrap to its width; a file or a
pipe gets them whole.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def print_wide(table: Table, needed: int) -> None:
    """A terminal wraps a table to its width; a file or a pipe gets it whole."""
    if out.is_terminal:
        out.print(table)
    else:
        Console(file=out.file, width=max(needed, 80), highlight=False).print(table)


def decimals(total: float) -> int:
    """Decimals that show a share of ``total`` without false precision."""
    return 0 if total >= 10_000 else 1 if total >= 1_000 else 2


def money(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}"


def is_missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and x != x)


@contextlib.contextmanager
def progress(label: str, counter: str, *, show: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr (long runs in a terminal only); yields the callback a
    simulation calls as ``progress(done, total)``."""
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
        tasks: list[Any] = []

        def update(done: int, total: int) -> None:
            if not tasks:  # the total is known once the simulation calls
                tasks.append(bar.add_task(label, total=total))
            bar.update(tasks[0], completed=done)

        yield update


def print_summary(summary: Any) -> None:
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
        ("revenue", money(d["revenue"])),
        ("spend", money(d["spend"])),
        ("ROAS (revenue / spend)", "-" if d["roas"] is None else f"{d['roas']:.2f}"),
        ("cost per conversion", money(d["cpa"])),
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
                (money(r.spend) if cents else f"{r.spend:,.0f}") if paid else "-",
                f"{r.spend / r.budget:.0%}" if paid and r.budget > 0 else "-",
                f"{r.over_budget:,}" if paid else "-",
            )
        t.caption = (
            "spend: delivered touches x their cost; over budget: touches the budget could "
            "not pay for (not delivered)"
        )
        print_wide(t, 96)


def print_agent_stats(stats: Any) -> None:
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


def print_attribution(result: Any, stats: Any, out_path: Path | None) -> None:
    tot = result.totals

    def count(x: float) -> str:
        return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"

    out.print(
        f"Attributed conversions: {count(tot['conversions'])} conversions of "
        f"{count(tot['journeys'])} journeys on {int(tot['paths']):,} paths, value "
        f"{tot['value']:,.2f}"
    )
    d = decimals(tot["conversions"])
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
    print_wide(table, (len(result.methods) + 1) * (max(widths) + 3) + 1)
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


def print_funnel(res: Any, model: Any) -> None:
    """The analytic funnel: a row per stage and the start's conversion chances."""
    t = Table(title=f"funnel of {model.name} (model {res.model_hash})")
    cols = list(res.table.columns)
    for c in cols:
        t.add_column(c, justify="left" if c == "stage" else "right")
    for rec in res.table.itertuples(index=False):
        t.add_row(*[v if isinstance(v, str) else f"{v:.4g}" for v in rec])
    out.print(t)
    out.print(
        f"P(conversion) from the start: {res.p_conversion:.4f} in the long run, "
        f"{res.p_conversion_horizon:.4f} within {model.horizon_days:g} days; "
        f"expected {res.expected_steps:.1f} steps to absorption"
    )
    for note in res.notes:
        out.print(f"note: {note}")


def print_observation(seen: Any, true: Any, out_path: Path, links: Path | None) -> None:
    """What an observation kept: ids, events by kind, touches by channel."""
    summary = seen.summary(true)
    t = Table(title=f"observed with profile {seen.profile.name} (seed {seen.seed})")
    for col in ("channel", "true touches", "recorded", "share"):
        t.add_column(col, justify="left" if col == "channel" else "right")
    for rec in seen.channel_table(true).itertuples(index=False):
        t.add_row(rec.channel, f"{rec.true:,}", f"{rec.recorded:,}", f"{rec.share:.1%}")
    out.print(t)
    kinds = ", ".join(
        f"{summary['observed'][k]:,} of {summary['true'][k]:,} {plural}"
        for k, plural in (("touch", "touches"), ("stage", "stages"), ("conversion", "conversions"))
    )
    out.print(
        f"wrote {len(seen.events):,} events to {out_path}: {summary['customers']:,} customers "
        f"seen as {summary['observed_ids']:,} ids ({summary['opted_out']:,} refused tracking); "
        f"{kinds}"
    )
    if links is not None:
        out.print(f"wrote the id links to {links}")


def print_panel(
    built: Any, table: Any, out_path: Path, sidecar: Path, *, observed: bool = False
) -> None:
    """What a panel holds: periods, geos, totals per channel."""
    totals = built.totals()
    t = Table(title=f"panel per {built.freq}" + (f" and {built.geo}" if built.geo else ""))
    for col in ("channel", "spend", "impressions"):
        t.add_column(col, justify="left" if col == "channel" else "right")
    for c in (*built.paid, *built.organic):
        spend = totals.get(f"spend_{c}")
        t.add_row(c, "" if spend is None else money(spend), f"{totals[f'impressions_{c}']:,.0f}")
    out.print(t)
    geos = f" x {len(built.population)} geos" if built.geo else ""
    out.print(
        f"wrote {len(table):,} rows ({built.frame['period'].nunique()} periods{geos}) to "
        f"{out_path}: {totals['conversions']:,.0f} conversions, revenue "
        f"{money(totals['revenue'])}; the columns' roles and the totals in {sidecar}"
    )
    if len(table) < len(built.frame):
        out.print("note: the last period is shorter than the others and is left out")
    if observed:
        out.print(
            "note: this log is an observed one (cjsim observe); platforms report spend and "
            "impressions in full, so an MMM's panel is usually built from the true log"
        )
