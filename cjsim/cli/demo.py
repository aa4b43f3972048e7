"""The ``demo`` command: shows what :func:`cjsim.demo.run` computes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cjsim.cli.options import check_events_output, check_output
from cjsim.cli.render import out, print_summary, progress
from cjsim.cli.render_studies import print_demo_experiment, print_demo_truth
from cjsim.limits import MAX_CUSTOMERS, check_at_most


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
    from cjsim.demo import DEMO_MODEL, demo_model, run

    check_output(report_path, (".html", ".htm"))
    check_events_output(out_path)
    check_at_most("--customers", customers, MAX_CUSTOMERS)
    out.print(f"[bold]cjsim demo[/bold]: {demo_model().description}")
    with progress(DEMO_MODEL, "{task.completed:,}/{task.total:,} customers",
                  show=customers >= 100_000) as bar:  # fmt: skip
        result = run(
            customers, seed, events=out_path, report=report_path,
            progress=bar, stage=out.status,
        )  # fmt: skip
    print_summary(result.summary)
    if out_path is not None:
        out.print(f"wrote {result.summary.events:,} events to {out_path}")
    if result.truth is not None:
        print_demo_truth(result.truth)
    print_demo_experiment(result.experiment)
    out.print(f"wrote the report {report_path.absolute()}: open it in a browser")
