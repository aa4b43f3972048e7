"""Commands about a model itself: ``validate``, ``funnel`` and ``explain``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cjsim.cli.options import check_engine, check_figure_path, load_model_arg
from cjsim.cli.render import out, print_funnel


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
    model = load_model_arg(file)
    out.print(
        f"ok: {file} is a valid {model.kind} model '{model.name}' "
        f"(hash {model.content_hash()}; {len(model.stages)} stages, "
        f"{len(model.channels)} channels, {len(model.segment_table())} segments)"
    )


def funnel(
    model: Annotated[str, typer.Argument(help="Model file, or the name of an embedded model.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    figure: Annotated[
        Path | None,
        typer.Option(help="Also draw the funnel: share reaching each stage (.png/.svg/.pdf)."),
    ] = None,
) -> None:
    """Analytic funnel: per stage, P(conversion) and expected steps to absorption."""
    from cjsim.model.funnel import funnel as solve

    check_figure_path(figure)
    m = load_model_arg(model)
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
    print_funnel(res, m)
    if figure is not None:
        out.print(f"wrote {figure}")


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

    m = load_model_arg(model)
    check_engine(engine)
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
