"""Commands on journey data: ``paths``, ``attribute`` and ``report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cjsim.cli.options import check_delimiter, check_output, check_output_place
from cjsim.cli.render import out, print_attribution
from cjsim.errors import OptionError
from cjsim.limits import MAX_RESAMPLES, check_at_most


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
    check_output_place(out_path, (events,))
    check_delimiter(delimiter)
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
        check_output_place(out_path, (input_path,))
    if not 0 <= ci < 1:
        raise OptionError(f"--ci {ci!r}: expected a level between 0 and 1, e.g. 0.95 (0: none)")
    if resamples < 2:
        raise OptionError(f"--resamples {resamples!r}: expected at least 2")
    check_at_most("--resamples", resamples, MAX_RESAMPLES)
    check_delimiter(delimiter, detect=True)
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
    print_attribution(result, stats, out_path)


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

    check_output(out_path, (".html", ".htm"), (target,))
    with out.status("writing the report..."):
        rep = build_report(target)
        rep.write(out_path)
    out.print(f"wrote {out_path} ({out_path.stat().st_size / 1e6:.1f} MB): {rep.title}")
