"""Commands that study a model over many runs: ``evaluate``, ``run`` and ``optimise``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from cjsim.cli.options import (
    check_engine,
    check_figure_path,
    check_finite,
    check_output,
    check_output_folder,
    check_workers,
    load_model_arg,
    parse_list,
)
from cjsim.cli.render import err, out
from cjsim.cli.render_measure import print_loss_sweep, print_mmm
from cjsim.cli.render_studies import (
    print_attribution_study,
    print_evaluation,
    print_experiment,
    print_optimisation,
)
from cjsim.errors import OptionError
from cjsim.limits import MAX_CUSTOMERS, MAX_REPLICATIONS, check_at_most


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
    observe: Annotated[
        str | None,
        typer.Option(
            help="Attribute what a tracking system records under this profile (a TOML file "
            "or perfect, typical_web_2026, strict_privacy); the truth stays the same."
        ),
    ] = None,
    mmm: Annotated[
        bool,
        typer.Option(
            help="Score marketing-mix models instead: fit the baseline MMM on a simulated "
            "log's panel and score its ROAS per channel against the true ROAS."
        ),
    ] = False,
    mmm_estimates: Annotated[
        list[Path] | None,
        typer.Option(
            help="With --mmm: a CSV of your MMM's estimates (channel, roas[, roas_low, "
            "roas_high]) to score beside the baseline (repeatable)."
        ),
    ] = None,
    freq: Annotated[str, typer.Option(help="With --mmm: the panel's period.")] = "day",
    mmm_controls: Annotated[
        str | None,
        typer.Option(help="With --mmm: panel controls the baseline fits, e.g. in_market."),
    ] = None,
    loss_levels: Annotated[
        str | None,
        typer.Option(
            help="With --observe: sweep the profile's losses at these levels, e.g. "
            "0,0.25,0.5,0.75,1 (0 records everything); writes sweep.csv and sweep.png."
        ),
    ] = None,
) -> None:
    """Score attribution methods (or MMMs: --mmm) against the model's counterfactual truth."""
    from cjsim.attribution import make_method
    from cjsim.evaluate import EVALUATED_METHODS

    check_engine(engine)
    _check_study_options(customers, replications, truth_customers, workers, out_dir)
    if mmm or mmm_estimates:
        controls = tuple(mmm_controls.split(",")) if mmm_controls else ()
        _evaluate_mmm(model, out_dir, customers, seed, truth_customers, workers, freq,
                      mmm_estimates or [], mmm, controls)  # fmt: skip
        return
    methods = tuple(method) if method else EVALUATED_METHODS
    for name in methods:
        make_method(name)  # unknown names stop here, before hours of simulation
    profile, levels = _observation_options(observe, loss_levels)
    options = dict(
        replications=replications, rng=seed, methods=methods, truth_customers=truth_customers,
        multi_conversion=multi_conversion, workers=workers, engine=engine,
    )  # fmt: skip
    _evaluate_methods(load_model_arg(model), customers, out_dir, profile, levels, options)


def _check_study_options(
    customers: int, replications: int, truth_customers: int | None, workers: int | None,
    out_dir: Path,
) -> None:  # fmt: skip
    """The sizes of an evaluation and its folder, before any work."""
    for flag, value in (("--customers", customers), ("--replications", replications),
                        ("--truth-customers", truth_customers)):  # fmt: skip
        if value is not None and value < 1:
            raise OptionError(f"{flag} {value}: expected at least 1")
    check_at_most("--customers", customers, MAX_CUSTOMERS)
    check_at_most("--truth-customers", truth_customers, MAX_CUSTOMERS)
    check_at_most("--replications", replications, MAX_REPLICATIONS)
    check_workers(workers)
    check_output_folder(out_dir)
    ours = ("evaluation.json", "mmm.json")
    if (
        out_dir.is_dir()
        and any(out_dir.iterdir())
        and not any((out_dir / n).exists() for n in ours)
    ):
        raise OptionError(
            "the folder holds files cjsim evaluate did not write; expected a new or empty "
            "folder (or an earlier evaluation's, which is replaced)",
            source=str(out_dir),
        )


def _evaluate_methods(
    m: Any, customers: int, out_dir: Path, profile: Any, levels: tuple[float, ...] | None,
    options: dict[str, Any],
) -> None:  # fmt: skip
    """The methods scored on the logs (as a profile records them, at each loss level)."""
    from cjsim.evaluate import evaluate as run_evaluation
    from cjsim.evaluate import evaluate_losses

    with out.status(
        f"ground truth and {options['replications']} replication(s) of {customers:,} customers..."
    ):
        if levels is not None:
            sweep = evaluate_losses(m, profile, levels, customers, **options)
            result = sweep.evaluations[-1]
        else:
            result = run_evaluation(m, customers, observe=profile, **options)
    written = sweep.write(out_dir) if levels is not None else result.write(out_dir)
    if profile is not None:
        out.print(f"attributed: the logs as profile {profile.name} records them")
    print_evaluation(result)
    if levels is not None:
        print_loss_sweep(sweep)
    out.print(f"wrote {', '.join(p.name for p in written)} to {out_dir}")


def _evaluate_mmm(
    model: str, out_dir: Path, customers: int, seed: int, truth_customers: int | None,
    workers: int | None, freq: str, estimate_files: list[Path], mmm: bool,
    controls: tuple[str, ...] = (),
) -> None:  # fmt: skip
    """``cjsim evaluate --mmm``: the baseline MMM (and the user's estimates) against the truth."""
    from cjsim.evaluate.mmm import evaluate_mmm, read_estimates
    from cjsim.panel import FREQUENCIES

    if not mmm:
        raise OptionError("--mmm-estimates needs --mmm: the estimates are scored in an MMM study")
    if freq not in FREQUENCIES:
        raise OptionError(f"--freq {freq!r}: expected one of: {', '.join(FREQUENCIES)}")
    estimates = {p.stem: read_estimates(p) for p in estimate_files}
    chosen = load_model_arg(model)
    with out.status(f"a log of {customers:,} customers, its panel, the MMM and the truth..."):
        result = evaluate_mmm(chosen, customers, freq=freq, rng=seed,
                              truth_customers=truth_customers, estimates=estimates,
                              workers=workers, controls=controls)  # fmt: skip
    written = result.write(out_dir)
    print_mmm(result)
    out.print(f"wrote {', '.join(p.name for p in written)} to {out_dir}")


def _observation_options(
    observe: str | None, loss_levels: str | None
) -> tuple[Any, tuple[float, ...] | None]:
    """The profile of ``--observe`` and the levels of ``--loss-levels``, checked."""
    if observe is None:
        if loss_levels is not None:
            raise OptionError("--loss-levels needs --observe PROFILE: the losses to scale")
        return None, None
    from cjsim.observe import load_profile

    profile = load_profile(observe)
    if loss_levels is None:
        return profile, None
    levels = parse_list(
        "--loss-levels", loss_levels, ok=lambda x: 0 <= x <= 1,
        expected="distinct numbers in [0, 1] separated by commas, e.g. 0,0.25,0.5,0.75,1",
    )  # fmt: skip
    return profile, tuple(levels)


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
    from cjsim.experiment.folder import experiment_tasks
    from cjsim.experiment.runner import run_experiment

    check_workers(workers)
    exp = load_experiment(resolve_experiment(experiment))
    folder = out_dir or Path(exp.name)
    check_output_folder(folder)
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
    print_experiment(result)
    print_attribution_study(result)
    if result.done_before:
        out.print(f"resumed: {result.done_before:,} of {total:,} tasks were already done")
    out.print(f"wrote {', '.join(result.written)} to {folder}")


def optimise(
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
    from cjsim.experiment.optimise import optimise_model

    if customers < 1:
        raise OptionError(f"--customers {customers}: expected at least 1")
    if replications < 2:
        raise OptionError(f"--replications {replications}: expected at least 2")
    check_at_most("--customers", customers, MAX_CUSTOMERS)
    check_at_most("--replications", replications, MAX_REPLICATIONS)
    check_workers(workers)
    _check_metric(metric, target_roas, target_cpa)
    check_output(out_path, (".csv",))
    check_figure_path(figure)
    check_output(report_path, (".html", ".htm"))
    metric, target = _optimise_goal(metric, budget, max_change, target_roas, target_cpa)
    m = load_model_arg(model)
    with out.status("simulating response curves..."):
        opt = optimise_model(
            m, customers, replications=replications, rng=seed, metric=metric, budget=budget,
            max_change=max_change, target_marginal=target, workers=workers,
        )  # fmt: skip
    print_optimisation(opt, m.name, metric, customers, replications, target_roas, target_cpa)
    if out_path is not None:
        from cjsim._io import write_text_atomic

        write_text_atomic(out_path, opt.table().to_csv(index=False))
        out.print(f"wrote {out_path}")
    if figure is not None:
        from cjsim.report.figures import response_curves, save_figure

        save_figure(response_curves(opt), figure)
        out.print(f"wrote {figure}")
    if report_path is not None:
        _optimisation_report(opt, m, report_path, seed=seed, customers=customers,
                             replications=replications, metric=metric)  # fmt: skip
        out.print(f"wrote {report_path}")


def _check_metric(metric: str | None, target_roas: float | None, target_cpa: float | None) -> None:
    if metric is not None and metric not in ("revenue", "conversions"):
        raise OptionError(f"--metric {metric!r}: expected 'revenue' or 'conversions'")
    for flag, value, implied in (("--target-roas", target_roas, "revenue"),
                                 ("--target-cpa", target_cpa, "conversions")):  # fmt: skip
        if value is not None and metric not in (None, implied):
            raise OptionError(f"{flag} maximises {implied}; --metric {metric} contradicts it")


def _optimise_goal(
    metric: str | None, budget: float | None, max_change: float | None,
    target_roas: float | None, target_cpa: float | None,
) -> tuple[str, float | None]:  # fmt: skip
    """What ``optimise`` maximises and its target marginal return (None: a fixed total),
    after checking that the options agree (the metric was checked by _check_metric)."""
    metric = metric or "revenue"
    check_finite(("--budget", budget), ("--max-change", max_change),
                 ("--target-roas", target_roas), ("--target-cpa", target_cpa))  # fmt: skip
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
    return metric, target


def _optimisation_report(opt: Any, m: Any, path: Path, **meta: Any) -> None:
    """The budget split as an HTML report, with the run's settings as its metadata."""
    from cjsim.report.html import Report
    from cjsim.report.sections import optimisation_sections

    rep = Report(
        f"Budget optimisation: {m.name}",
        meta={"model": m.name, "model hash": m.content_hash(), **meta},
    )
    rep.sections += optimisation_sections(opt, m.name)
    rep.write(path)
