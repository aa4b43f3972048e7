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
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cjsim._io import read_json_file, write_text_atomic
from cjsim._pool import ignore_interrupts, stop_pool
from cjsim.errors import OptionError
from cjsim.experiment.config import Experiment
from cjsim.experiment.stats import summarise_runs
from cjsim.model import JourneyModel

log = logging.getLogger(__name__)


#: The files an experiment folder may hold besides manifest.json and tasks/.
OUTPUTS = ("runs.csv", "summary.csv", "credit.csv", "truth.csv", "attribution.csv",
           "bias.csv", "differences.png", "attribution_errors.png")  # fmt: skip

#: The replication number of a scenario's ground-truth task.
TRUTH = -1
#: Spawn key of the ground truth's random stream (replications use 0, 1, 2, ...).
TRUTH_STREAM = 2**31


def task_metrics(
    model: JourneyModel,
    customers: int,
    seed: np.random.SeedSequence,
    engine: str,
    channel_spend: bool = False,
) -> dict[str, float]:
    """Simulate one replication of one scenario and measure it (no event log kept);
    ``channel_spend`` adds each channel's spend as ``spend:CHANNEL``."""
    from cjsim.simulate.run import simulate

    summary = simulate(model, customers, engine=engine, rng=seed).summary
    metrics = _metrics(summary)
    if channel_spend:
        metrics.update({f"spend:{c}": float(x) for c, x in zip(summary.channels, summary.spend,
                                                                 strict=True)})  # fmt: skip
    return metrics


def _metrics(summary: Any) -> dict[str, float]:
    spend = float(summary.spend.sum())
    conv = int(summary.conversions)
    return {
        "conversions": conv,
        "converters": int(summary.converters),
        "revenue": float(summary.revenue),
        "spend": spend,
        "cpa": spend / conv if conv else float("nan"),
        "roas": float(summary.revenue) / spend if spend else float("nan"),
    }


def run_task(
    model: JourneyModel,
    customers: int,
    seed: np.random.SeedSequence,
    engine: str,
    methods: tuple[str, ...] = (),
    truth: bool = False,
) -> dict[str, Any]:
    """One task: a replication (metrics, and credits when ``methods``) or a ground truth."""
    if truth:
        from cjsim.simulate.truth import ground_truth

        gt = ground_truth(
            model, customers, rng=int(seed.generate_state(1)[0]), marginal_roas=False,
            workers=1, engine=engine,
        )  # fmt: skip
        table = gt.to_frame()
        return {
            "truth": {str(k): float(v) for k, v in gt.shares("shapley").items()},
            "truth_se": {str(k): float(v) for k, v in gt.share_se("shapley").items()},
            "incremental": {
                str(r["channel"]): float(r["incremental_conversions"])
                for r in table.to_dict("records")
            },
        }
    if not methods:
        return task_metrics(model, customers, seed, engine)
    from cjsim.evaluate import attribute_log, simulate_log

    events, summary = simulate_log(model, customers, seed, engine)
    # a child stream named by key, not by spawn(): spawning would change ``seed``
    child = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 1))
    credit = attribute_log(events, methods, np.random.default_rng(child))
    return {
        **_metrics(summary),
        "credit": [
            [str(m), str(c), float(v)]
            for m, c, v in credit[["method", "channel", "conversions"]].itertuples(index=False)
        ],
    }


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


def experiment_tasks(exp: Experiment) -> list[tuple[str, int]]:
    """Every task as (scenario, replication): the truths first, then replication by
    replication (so an interrupted run has whole replications of all scenarios)."""
    spec = exp.spec
    return task_list(list(spec.scenarios), spec.replications, spec.truth)


def task_list(scenarios: list[str], replications: int, truth: bool) -> list[tuple[str, int]]:
    """The tasks of an experiment with these scenarios (see :func:`experiment_tasks`)."""
    tasks = [(s, r) for r in range(replications) for s in scenarios]
    return [(s, TRUTH) for s in scenarios] + tasks if truth else tasks


@dataclass
class TaskFiles:
    """What the task files of a folder hold: replications (``runs``, with their credits
    in ``credit``), truths, and the tasks that are missing or cannot be read."""

    runs: pd.DataFrame
    credit: pd.DataFrame
    truth: pd.DataFrame
    missing: list[tuple[str, int]]
    broken: list[tuple[str, int]]


def read_tasks(folder: str | Path, tasks: list[tuple[str, int]]) -> TaskFiles:
    """Read the task files of ``tasks`` in ``folder``; an unreadable file (cut short by a
    crash of the disk, or edited by hand) is reported as ``broken``, not raised."""
    folder = Path(folder)
    rows: list[dict[str, Any]] = []
    credit: list[tuple[str, int, str, str, float]] = []
    truth: list[tuple[str, str, float, float, float]] = []
    missing: list[tuple[str, int]] = []
    broken: list[tuple[str, int]] = []
    for sc, rep in tasks:
        path = task_path(folder, sc, rep)
        if not path.exists():
            missing.append((sc, rep))
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            broken.append((sc, rep))
            continue
        if rep == TRUTH:
            incremental = record.get("incremental", {})
            se = record.get("truth_se", {})  # (task files of older versions have none)
            truth += [(sc, c, v, incremental.get(c, np.nan), se.get(c, np.nan))
                      for c, v in record["truth"].items()]  # fmt: skip
            continue
        credit += [(sc, rep, m, c, v) for m, c, v in record.pop("credit", [])]
        rows.append(record)
    return TaskFiles(
        pd.DataFrame(rows),
        pd.DataFrame(credit, columns=["scenario", "replication", "method", "channel",
                                      "conversions"]),
        pd.DataFrame(truth, columns=["scenario", "channel", "truth", "incremental", "truth_se"]),
        missing,
        broken,
    )  # fmt: skip


def task_path(folder: Path, scenario: str, rep: int) -> Path:
    name = "truth" if rep == TRUTH else f"{rep:05d}"
    return folder / "tasks" / scenario / f"{name}.json"


def _check_folder(folder: Path, exp: Experiment, force: bool) -> None:
    manifest = folder / "manifest.json"
    digest = exp.content_hash()
    if manifest.exists():
        old = read_json_file(manifest, "an experiment folder's manifest")
        if not isinstance(old, dict):
            raise OptionError("expected an experiment folder's manifest", source=str(manifest))
        if old.get("hash") != digest:
            if not force:
                raise OptionError(
                    f"the folder holds results of experiment '{old.get('experiment')}' (hash "
                    f"{old.get('hash')}); this is '{exp.name}' (hash {digest}); choose another "
                    "--out or pass --force to start it over",
                    source=str(folder),
                )
            for p in sorted((folder / "tasks").glob("*/*.json")):
                p.unlink()
            for name in OUTPUTS:  # the old experiment's results must not pass for these
                (folder / name).unlink(missing_ok=True)
    elif folder.exists() and any(folder.iterdir()):
        if not force:
            raise OptionError(
                "the folder is not empty and holds no cjsim experiment; choose another --out",
                source=str(folder),
            )
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(
        manifest,
        json.dumps(
            {"experiment": exp.name, "hash": digest, "source": exp.source,
             "description": exp.spec.description, "model": exp.spec.model,
             "engine": exp.spec.engine, "customers": exp.spec.customers,
             "seed": exp.spec.seed, "baseline": exp.spec.baseline_name,
             "metrics": exp.spec.metrics, "truth": exp.spec.truth,
             "scenarios": list(exp.spec.scenarios), "replications": exp.spec.replications},
            indent=2,
        ) + "\n",
    )  # fmt: skip


def scheduler_timeout() -> float:
    """Seconds to wait for a Dask scheduler to answer: 10, or ``CJSIM_SCHEDULER_TIMEOUT``."""
    import os

    try:
        return max(0.1, float(os.environ.get("CJSIM_SCHEDULER_TIMEOUT", "10")))
    except ValueError:
        return 10.0


def check_scheduler(scheduler: str) -> None:
    """Dask is installed and a scheduler address answers (``local`` needs Dask only);
    an :class:`~cjsim.errors.OptionError` naming ``--scheduler`` otherwise."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise OptionError("--scheduler needs Dask: pip install 'cjsim[distributed]'") from None
    if scheduler == "local":
        return
    try:
        with Client(scheduler, timeout=f"{scheduler_timeout()}s"):
            pass
    except (OSError, TimeoutError, ValueError) as exc:
        raise OptionError(
            f"--scheduler {scheduler}: cannot connect ({exc}); expected the address of a "
            "running Dask scheduler, or 'local'"
        ) from None


def _run_on_dask(
    scheduler: str,
    workers: int,
    todo: list[tuple[str, int]],
    args: dict[tuple[str, int], tuple[Any, ...]],
    record: Callable[[tuple[str, int], dict[str, Any]], None],
) -> None:
    """Tasks on a Dask cluster; each result is recorded as it arrives."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise OptionError("--scheduler needs Dask: pip install 'cjsim[distributed]'") from exc
    cluster = None
    if scheduler == "local":
        import dask

        # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in its workers, which turns off glibc's
        # adaptive mmap threshold: every large numpy array is then mapped and unmapped
        # afresh, and a simulation task runs ~45% slower. Our own cluster goes without it.
        environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
        environ.pop("MALLOC_TRIM_THRESHOLD_", None)
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)  # fmt: skip
    try:
        if cluster is not None:
            connect = Client(cluster)
        else:
            try:
                connect = Client(scheduler, timeout=f"{scheduler_timeout()}s")
            except (OSError, TimeoutError) as exc:
                raise OptionError(
                    f"--scheduler {scheduler}: cannot connect ({exc}); expected the address "
                    "of a running Dask scheduler, or 'local'"
                ) from None
        with connect as client:
            if cluster is not None:
                # all workers first: tasks submitted to the first worker alone would stay
                # there until work stealing spreads them
                client.wait_for_workers(workers)
            futures = {client.submit(run_task, *args[t], pure=False): t for t in todo}
            for fut in as_completed(list(futures)):
                record(futures[fut], fut.result())
    finally:
        if cluster is not None:
            cluster.close()


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
    _check_folder(folder, exp, force)
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
        _run_on_dask(scheduler, workers, todo, args, record)
    elif workers <= 1 or len(todo) <= 1:
        for t in todo:
            record(t, run_task(*args[t]))
    else:
        _run_in_pool(workers, todo, args, record)
    return collect_results(exp, folder, done_before)


def _run_in_pool(
    workers: int,
    todo: list[tuple[str, int]],
    args: dict[tuple[str, int], tuple[Any, ...]],
    record: Callable[[tuple[str, int], dict[str, Any]], None],
) -> None:
    """Tasks in a local process pool, at most two per worker queued at a time."""
    pool = ProcessPoolExecutor(max_workers=workers, initializer=ignore_interrupts)
    futures: dict[Future[dict[str, Any]], tuple[str, int]] = {}
    try:
        queue = list(todo)
        while queue or futures:
            while queue and len(futures) < 2 * workers:
                t = queue.pop(0)
                futures[pool.submit(run_task, *args[t])] = t
            finished, _ = wait(futures, return_when=FIRST_COMPLETED)
            for f in finished:
                record(futures.pop(f), f.result())
    except BaseException:
        # Ctrl-C or a failed task: unfinished tasks are dropped (their files were never
        # written), running ones stopped; the finished ones are on disk for a resume.
        stop_pool(pool)
        raise
    pool.shutdown()


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
