"""Run an experiment: scenarios x replications as independent, resumable tasks.

Replication r of *every* scenario uses the same seed (``SeedSequence(seed).spawn(R)[r]``),
so scenarios are compared on the same customers with the same random numbers. Each
finished task is written atomically to ``DIR/tasks/<scenario>/<r>.json``; the folder's
``manifest.json`` holds the experiment's hash. Running the same experiment into the same
folder again skips the finished tasks and gives exactly the results of an uninterrupted
run; a folder of another (or a changed) experiment is refused unless ``force``.
Tasks run in a local process pool (``workers``) or on a Dask cluster; results do not
depend on either.

When the experiment names ``attribution`` methods, each replication also keeps its event
log in memory, attributes it with every method and stores the credits in its task file.
With ``truth = true`` each scenario gets one more task, ``tasks/<scenario>/truth.json``:
its ground truth (:func:`cjsim.simulate.truth.ground_truth`, counterfactual runs with
common random numbers, seeded apart from the replications); the methods' credit shares
are then scored against the true shares (:mod:`cjsim.evaluate`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cjsim._io import write_text_atomic
from cjsim.errors import OptionError
from cjsim.experiment.config import Experiment
from cjsim.experiment.folder import check_folder, experiment_tasks, read_tasks, task_path
from cjsim.experiment.schedulers import check_scheduler, run_in_pool, run_on_dask
from cjsim.experiment.stats import summarise_runs
from cjsim.experiment.tasks import TRUTH, TRUTH_STREAM, run_task

log = logging.getLogger(__name__)


@dataclass
class ExperimentResult:
    """Per-replication metrics and their statistics.

    With attribution methods: ``credit`` (scenario, replication, method, channel,
    conversions); with the truth also ``truth`` (scenario, channel, truth, incremental),
    ``attribution`` (per scenario and method: MAE with interval, rank correlation, worst
    channel) and ``bias`` (per scenario, method and channel).
    """

    experiment: Experiment
    runs: pd.DataFrame  # scenario, replication, metrics...
    summary: pd.DataFrame  # see cjsim.experiment.stats.summarise_runs
    folder: Path
    done_before: int = 0
    credit: pd.DataFrame | None = None
    truth: pd.DataFrame | None = None
    attribution: pd.DataFrame | None = None
    bias: pd.DataFrame | None = None
    missing: list[tuple[str, int]] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing

    def _repr_html_(self) -> str:
        spec = self.experiment.spec
        head = (
            f"<p><b>{spec.name}</b>: {len(self.runs)} finished replications of "
            f"{spec.customers:,} customers; difference to '{spec.baseline_name}'"
            + (f"; <b>{len(self.missing)} tasks missing</b>" if self.missing else "")
            + "</p>"
        )
        body = self.summary.to_html(index=False, float_format=lambda x: f"{x:,.4g}")
        if self.attribution is not None and not self.attribution.empty:
            mae = self.attribution.pivot(index="method", columns="scenario", values="mae")
            body += "<p>Mean absolute error of credit shares against the truth</p>"
            body += mae.to_html(float_format=lambda x: f"{x:.3f}")
        return head + body


def run_experiment(
    exp: Experiment,
    folder: str | Path,
    *,
    workers: int | None = None,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
    max_tasks: int | None = None,
    scheduler: str | None = None,
) -> ExperimentResult:
    """Run (or resume) an experiment into ``folder``.

    ``progress(done, total)`` is called after each task. ``max_tasks`` stops after that
    many new tasks (as an interruption would); running again resumes. ``scheduler`` is a
    Dask distributed scheduler address (``tcp://host:8786``), or ``local`` for a
    ``LocalCluster`` of ``workers`` processes (the ``distributed`` extra); results are the
    same as with the local process pool.
    """
    folder = Path(folder)
    if not folder.parent.exists():
        raise OptionError("the parent folder does not exist", source=str(folder))
    if scheduler is not None:
        check_scheduler(scheduler)  # before the folder and its manifest are written
    check_folder(folder, exp, force)
    spec = exp.spec
    seeds = np.random.SeedSequence(spec.seed).spawn(spec.replications)
    # the truth's counterfactual runs get a stream of their own, apart from every replication
    truth_seed = np.random.SeedSequence(spec.seed, spawn_key=(TRUTH_STREAM,))
    tasks = experiment_tasks(exp)
    found = read_tasks(folder, tasks)
    for t in found.broken:  # unreadable: done again
        task_path(folder, *t).unlink()
    pending = set(found.missing) | set(found.broken)
    todo = [t for t in tasks if t in pending]
    done_before = len(tasks) - len(todo)
    if max_tasks is not None:
        todo = todo[:max_tasks]
    done = done_before
    if progress:
        progress(done, len(tasks))

    def record(task: tuple[str, int], result: dict[str, Any]) -> None:
        nonlocal done
        path = task_path(folder, *task)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps({"scenario": task[0], "replication": task[1],
                                            **result}) + "\n")  # fmt: skip
        done += 1
        if progress:
            progress(done, len(tasks))

    workers = workers or os.cpu_count() or 1
    methods = tuple(spec.attribution)
    args = {
        t: (exp.models[t[0]], spec.truth_customers or spec.customers, truth_seed, spec.engine,
            methods, True) if t[1] == TRUTH else
           (exp.models[t[0]], spec.customers, seeds[t[1]], spec.engine, methods, False)
        for t in todo
    }  # fmt: skip
    if scheduler is not None and todo:
        run_on_dask(scheduler, workers, todo, args, record)
    elif workers <= 1 or len(todo) <= 1:
        for t in todo:
            record(t, run_task(*args[t]))
    else:
        run_in_pool(workers, todo, args, record)
    return collect_results(exp, folder, done_before)


def collect_results(exp: Experiment, folder: str | Path, done_before: int = 0) -> ExperimentResult:
    """The results in an experiment folder, with their statistics (complete or not).

    Writes ``runs.csv`` and ``summary.csv`` (and with attribution ``credit.csv``, with the
    truth ``truth.csv``, ``attribution.csv`` and ``bias.csv``) when every task is done.
    """
    folder = Path(folder)
    spec = exp.spec
    found = read_tasks(folder, experiment_tasks(exp))
    runs = found.runs
    missing = found.missing + found.broken
    summary = (
        summarise_runs(runs, spec.metrics, spec.baseline_name) if len(runs) else pd.DataFrame()
    )
    result = ExperimentResult(exp, runs, summary, folder, done_before, missing=missing)
    written = {"runs.csv": runs, "summary.csv": summary}
    if spec.attribution:
        result.credit = found.credit
        written["credit.csv"] = result.credit
    if spec.truth:
        result.truth = found.truth
        result.attribution, result.bias = score_scenarios(result.credit, result.truth)
        written.update(
            {"truth.csv": result.truth, "attribution.csv": result.attribution,
             "bias.csv": result.bias}
        )  # fmt: skip
    if not missing:
        for name, frame in written.items():
            if frame is not None:
                write_text_atomic(folder / name, frame.to_csv(index=False))
                result.written.append(name)
        result.written += _write_figures(result)
    return result


def _write_figures(result: ExperimentResult) -> list[str]:
    """``differences.png`` (scenarios vs baseline) and, with the truth,
    ``attribution_errors.png`` (methods x scenarios)."""
    from cjsim.report.figures import attribution_errors, save_figure, scenario_differences

    spec = result.experiment.spec
    names = []
    if len(spec.scenarios) > 1 and not result.summary.empty:
        save_figure(scenario_differences(result.summary, spec.baseline_name),
                    result.folder / "differences.png")  # fmt: skip
        names.append("differences.png")
    if result.attribution is not None and not result.attribution.empty:
        save_figure(attribution_errors(result.attribution),
                    result.folder / "attribution_errors.png")  # fmt: skip
        names.append("attribution_errors.png")
    return names


def score_scenarios(
    credit: pd.DataFrame | None, truth: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each scenario's methods scored against its own truth (cjsim.evaluate)."""
    from cjsim.evaluate import score, summarise

    summaries, biases = [], []
    for scenario, tr in truth.groupby("scenario", sort=False):
        if credit is None:
            break
        cr = credit[credit["scenario"] == scenario]
        if cr.empty:
            continue
        truth_share = tr.set_index("channel")["truth"]
        # the truth's standard errors, when the truth tasks recorded them
        truth_se = tr.set_index("channel")["truth_se"] if "truth_se" in tr else None
        scores = pd.concat(
            [score(g, truth_share, truth_se).assign(replication=rep)
             for rep, g in cr.groupby("replication", sort=True)],
            ignore_index=True,
        )  # fmt: skip
        summary, bias = summarise(scores)
        summaries.append(summary.assign(scenario=scenario))
        biases.append(bias.assign(scenario=scenario))
    if not summaries:
        return pd.DataFrame(), pd.DataFrame()
    summary = pd.concat(summaries, ignore_index=True)
    bias = pd.concat(biases, ignore_index=True)
    return (
        summary[["scenario", *[c for c in summary.columns if c != "scenario"]]],
        bias[["scenario", *[c for c in bias.columns if c != "scenario"]]],
    )
