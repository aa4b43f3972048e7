"""Commands of measurement: ``observe`` (what a tracking system records of a true log),
``panel`` (the aggregates a marketing-mix model is fitted on) and ``lift`` (a holdout or
geo test, replicated and scored against the truth; a power table of geo designs)."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from cjsim.cli.options import (
    check_events_output,
    check_output,
    check_output_folder,
    check_workers,
    load_model_arg,
    parse_date,
    parse_list,
)
from cjsim.cli.render import out, print_observation, print_panel
from cjsim.cli.render_measure import print_geo_lift, print_geo_power, print_lift
from cjsim.errors import OptionError
from cjsim.limits import MAX_CUSTOMERS, MAX_REPLICATIONS, check_at_most


def observe(
    events: Annotated[Path, typer.Argument(help="Simulated event log (.parquet or .csv).")],
    profile: Annotated[
        str,
        typer.Option(
            help="Observation profile: a TOML file or a shipped one (perfect, "
            "typical_web_2026, strict_privacy)."
        ),
    ],
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="Observed event log to write (.parquet or .csv).")
    ],
    seed: Annotated[int, typer.Option(min=0, help="Seed of the observation's draws.")] = 0,
    links: Annotated[
        Path | None,
        typer.Option(help="Also write each observed id's true customer, device and cookie (.csv)."),
    ] = None,
) -> None:
    """Record a true event log as analytics would: split ids, consent, blockers, lost tags."""
    from cjsim._io import atomic_path
    from cjsim.events import read_events, read_metadata, write_events
    from cjsim.observe import load_profile
    from cjsim.observe import observe as run_observe

    chosen = load_profile(profile)
    check_events_output(out_path)
    check_output(out_path, (".parquet", ".pq", ".csv"), (events,))
    check_output(links, (".csv",), (events, out_path))
    true = read_events(events)
    seen = run_observe(true, chosen, seed=seed, source=str(events), validate=False)
    metadata = {**read_metadata(events), "observed": seen.metadata()}
    write_events(seen.events, out_path, metadata)
    if links is not None:
        with atomic_path(links) as tmp:
            seen.links.to_csv(tmp, index=False)
    print_observation(seen, true, out_path, links)


def panel(
    events: Annotated[Path, typer.Argument(help="Event log (.parquet or .csv), true or observed.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Panel to write (.csv).")],
    freq: Annotated[str, typer.Option(help="Period: day, week or month (28 days).")] = "week",
    geo: Annotated[
        str | None, typer.Option(help="Column of the log whose values are geos, e.g. segment.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="The log's model (default: the one named in the log's metadata)."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="Columns as cjsim, pymc, meridian or robyn expect.")
    ] = "cjsim",
    target: Annotated[
        str, typer.Option(help="What the MMM explains: revenue or conversions.")
    ] = "revenue",
    start: Annotated[str, typer.Option(help="Calendar date of day 0 (YYYY-MM-DD).")] = "2026-01-05",
    truth: Annotated[
        bool,
        typer.Option(
            help="Also write the truth an MMM is scored on: each paid channel's incremental "
            "and marginal ROAS (<out>_truth.csv) and response curve (<out>_curves.csv)."
        ),
    ] = False,
    truth_customers: Annotated[
        int | None,
        typer.Option(
            min=1, help="With --truth: customers per counterfactual run (default: the log's)."
        ),
    ] = None,
    clicks: Annotated[
        str | None,
        typer.Option(
            help="Observation profile whose click shares say which touches are clicks: adds "
            "clicks_<channel> columns (the clicks cjsim observe --seed finds)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="With --clicks: seed of the draws.")] = 0,
) -> None:
    """Aggregate an event log into a panel per period (and geo) for marketing-mix models."""
    import json

    from cjsim._io import write_text_atomic
    from cjsim.events import read_events, read_metadata
    from cjsim.panel import build_panel

    _check_panel_options(freq, fmt, target, geo)
    day0 = parse_date("--start", start)
    check_output(out_path, (".csv",), (events,))
    meta = read_metadata(events)
    chosen = load_model_arg(model or _model_of(meta, events))
    if meta.get("model_hash") and meta["model_hash"] != chosen.content_hash():
        raise OptionError(
            f"the log was simulated from model {meta.get('model')!r} with hash "
            f"{meta['model_hash']}, not {chosen.name!r} ({chosen.content_hash()}); expected "
            "--model naming the log's model file",
            source=str(events),
        )
    profile = _load_profile(clicks)  # (before reading a log that may be large)
    log = read_events(events)
    built = build_panel(log, chosen, freq, geo=geo, start=day0, source=str(events),
                        clicks=_clicks(log, profile, seed))  # fmt: skip
    table = built.to_frame(fmt, target)
    roles = {"format": fmt, "freq": freq, "geo": geo, "start": start, "model": chosen.name,
             "roles": built.roles(fmt, target), "totals": built.totals(), "log": meta}  # fmt: skip
    sidecar = out_path.with_suffix(".json")
    with_json = json.dumps(roles, indent=2, default=str) + "\n"
    truths = _panel_truth(chosen, meta, truth_customers, out_path) if truth else {}
    write_text_atomic(out_path, table.to_csv(index=False))
    write_text_atomic(sidecar, with_json)
    for path, frame in truths.items():
        write_text_atomic(path, frame.to_csv(index=False))
    print_panel(built, table, out_path, sidecar, observed="observed" in meta)
    if truths:
        out.print(f"wrote the truth to {', '.join(str(p) for p in truths)}")


def _check_panel_options(freq: str, fmt: str, target: str, geo: str | None) -> None:
    """``cjsim panel``'s choices, each one of what is expected."""
    from cjsim.panel import FORMATS, FREQUENCIES

    if freq not in FREQUENCIES:
        raise OptionError(f"--freq {freq!r}: expected one of: {', '.join(FREQUENCIES)}")
    if fmt not in FORMATS:
        raise OptionError(f"--format {fmt!r}: expected one of: {', '.join(FORMATS)}")
    if target not in ("revenue", "conversions"):
        raise OptionError(f"--target {target!r}: expected revenue or conversions")
    if fmt in ("pymc", "robyn") and geo is not None:
        raise OptionError(f"--format {fmt} is national; expected no --geo (or --format meridian)")


def _load_profile(name: str | None) -> Any:
    """The observation profile ``--clicks`` names (None: none)."""
    if name is None:
        return None
    from cjsim.observe import load_profile

    return load_profile(name)


def _clicks(log: Any, profile: Any, seed: int) -> Any:
    """Which touches of the log the profile makes clicks (None without a profile)."""
    if profile is None:
        return None
    from cjsim.observe import clicks

    return clicks(log, profile, seed=seed)


def _panel_truth(
    model: Any, meta: dict[str, Any], customers: int | None, out_path: Path
) -> dict[Path, Any]:
    """The true ROAS table and response curves of a panel's model, their totals at the
    log's size (the truth may be measured on more customers)."""
    from cjsim.evaluate.mmm import mmm_truth, response_curves

    logged = meta.get("customers")
    size = customers or logged
    if not isinstance(size, int) or size < 1:
        raise OptionError(
            "the log does not say how many customers it has; expected --truth-customers N"
        )
    check_at_most("--truth-customers", size, MAX_CUSTOMERS)
    seed = int(meta.get("seed") or 0)
    with out.status(f"the truth: counterfactual runs of {size:,} customers..."):
        table = mmm_truth(model, size, rng=seed)
        curves = response_curves(model, size, rng=seed)
    if isinstance(logged, int) and logged != size:  # totals at the log's size; ratios stay
        factor = logged / size
        table[["spend", "incremental_value"]] *= factor
        sums = ["spend", "conversions", "conversions_se", "value", "value_se"]
        curves[sums] *= factor
    stem = out_path.with_suffix("")
    return {Path(f"{stem}_truth.csv"): table, Path(f"{stem}_curves.csv"): curves}


def _model_of(meta: dict[str, object], events: Path) -> str:
    """The shipped model a log's metadata names; without one, the user must say."""
    name = meta.get("model")
    if not isinstance(name, str):
        raise OptionError(
            "the log does not say which model it comes from (a CSV log, or not simulated by "
            "cjsim); expected --model MODEL",
            source=str(events),
        )
    return name


def lift(
    model: Annotated[str, typer.Argument(help="Model file or embedded model name.")],
    channel: Annotated[str, typer.Option(help="The paid channel to test.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.")],
    holdout: Annotated[
        float, typer.Option(help="Share of customers who never see the channel.")
    ] = 0.1,
    customers: Annotated[int, typer.Option(help="Customers per test (both groups).")] = 100_000,
    replications: Annotated[int, typer.Option(help="Independent tests.")] = 20,
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 0,
    truth_customers: Annotated[
        int | None,
        typer.Option(help="Customers per counterfactual run (default: 10 x --customers)."),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (default: all cores).")] = None,
    start: Annotated[
        str, typer.Option(help="Calendar date of day 0, for Robyn's dates (YYYY-MM-DD).")
    ] = "2026-01-05",
    design: Annotated[
        str,
        typer.Option(
            help="holdout (customers held out) or geo (the channel's budget changes in half "
            "of the model's geos from --start-day: --multiple)."
        ),
    ] = "holdout",
    start_day: Annotated[
        str | None,
        typer.Option(
            help="Geo design: the day the treated geos' budget changes (default: mid); "
            "several (30,60,90): a power table of every design."
        ),
    ] = None,
    multiple: Annotated[
        str,
        typer.Option(
            help="Geo design: the treated geos' budget from --start-day, times their own: 0 "
            "goes dark, 2 is a heavy-up; several (0,2): a power table."
        ),
    ] = "0",
) -> None:
    """Run a lift test of a channel many times and score it against the truth."""
    from cjsim.lift import holdout_test

    if design not in ("holdout", "geo"):
        raise OptionError(f"--design {design!r}: expected holdout or geo")
    starts = None if start_day is None else parse_list("--start-day", start_day, int)
    multiples = parse_list("--multiple", multiple)
    if design == "holdout" and (multiples != [0] or starts is not None):
        given = "--multiple" if multiples != [0] else "--start-day"
        raise OptionError(f"{given} sets a geo test; expected --design geo with it")
    check_at_most("--customers", customers, MAX_CUSTOMERS)
    check_at_most("--replications", replications, MAX_REPLICATIONS)
    check_workers(workers)
    check_output_folder(out_dir)
    day0 = parse_date("--start", start)
    if design == "geo" and len(starts or [None]) * len(multiples) > 1:
        _geo_power(model, channel, out_dir, customers, replications, seed, workers, starts,
                   multiples)  # fmt: skip
        return
    if design == "geo":
        _geo_lift(model, channel, out_dir, customers, replications, seed, workers,
                  None if starts is None else starts[0], day0, multiples[0])  # fmt: skip
        return
    chosen = load_model_arg(model)
    with out.status(f"truth and {replications} lift tests of {customers:,} customers..."):
        study = holdout_test(
            chosen, channel, customers, holdout=holdout, replications=replications, rng=seed,
            truth_customers=truth_customers, workers=workers,
        )  # fmt: skip
    written = study.write(out_dir, days=chosen.horizon_days, start=day0)
    print_lift(study)
    out.print(f"wrote {', '.join(p.name for p in written)} to {out_dir}")


def _geo_lift(
    model: str, channel: str, out_dir: Path, customers: int, replications: int, seed: int,
    workers: int | None, start_day: int | None, day0: date, multiple: float,
) -> None:  # fmt: skip
    """``cjsim lift --design geo`` (options checked): a budget change (go dark, pull back
    or heavy-up) in half of the geos."""
    from cjsim._io import write_text_atomic
    from cjsim.lift_geo import geo_test

    chosen = load_model_arg(model)
    with out.status(f"{replications} geo tests of {customers:,} customers..."):
        study = geo_test(chosen, channel, customers, start_day=start_day, multiple=multiple,
                         replications=replications, rng=seed, workers=workers)  # fmt: skip
    out_dir.mkdir(exist_ok=True)
    written = [out_dir / "geo_lift.csv", out_dir / "geo_lift_summary.csv"]
    write_text_atomic(written[0], study.table.to_csv(index=False))
    write_text_atomic(written[1], study.summary.to_csv(index=False))
    for fmt in ("pymc", "robyn", "meridian"):
        written.append(out_dir / f"calibration_{fmt}.csv")
        frame = study.calibration(fmt, start=day0)
        write_text_atomic(written[-1], frame.to_csv(index=False))
    print_geo_lift(study)
    out.print(f"wrote {', '.join(p.name for p in written)} to {out_dir}")


def _geo_power(
    model: str, channel: str, out_dir: Path, customers: int, replications: int, seed: int,
    workers: int | None, starts: list[int] | None, multiples: list[float],
) -> None:  # fmt: skip
    """``cjsim lift --design geo`` with several designs: their power table."""
    import json

    from cjsim._io import write_text_atomic
    from cjsim.lift_plan import geo_power

    chosen = load_model_arg(model)
    days = [math.ceil(chosen.horizon_days) // 2] if starts is None else starts
    n = len(days) * len(multiples)
    with out.status(f"{n} designs x {replications} geo tests of {customers:,} customers..."):
        table = geo_power(chosen, channel, customers, start_days=days, multiples=multiples,
                          replications=replications, rng=seed, workers=workers)  # fmt: skip
    out_dir.mkdir(exist_ok=True)
    written = [out_dir / "geo_power.csv", out_dir / "geo_power.json"]
    units = "conversions per 1,000 customers over each design's test days"
    settings = {"model": chosen.name, "model_hash": chosen.content_hash(), "channel": channel,
                "customers": customers, "replications": replications, "seed": seed,
                "start_days": days, "multiples": multiples, "units": units}  # fmt: skip
    write_text_atomic(written[0], table.to_csv(index=False))
    write_text_atomic(written[1], json.dumps(settings, indent=2) + "\n")
    print_geo_power(table, settings)
    out.print(f"wrote {', '.join(p.name for p in written)} to {out_dir}")
