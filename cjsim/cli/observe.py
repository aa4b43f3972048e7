"""The command that turns a true event log into what a tracking system records: ``observe``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cjsim.cli.options import check_events_output, check_output
from cjsim.cli.render import print_observation


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
    seen = run_observe(true, chosen, seed=seed, source=str(events))
    metadata = {**read_metadata(events), "observed": seen.metadata()}
    write_events(seen.events, out_path, metadata)
    if links is not None:
        with atomic_path(links) as tmp:
            seen.links.to_csv(tmp, index=False)
    print_observation(seen, true, out_path, links)
