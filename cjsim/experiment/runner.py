"""Run an experiment: scenarios x replications as independent, resumable tasks.

Replication r of *every* scenario uses the same seed (``SeedSequence(seed).spawn(R)[r]``),
so scenarios are compared on the same customers with the same random numbers. Each
finished task is written atomically to ``DIR/tasks/<scenario>/<r>.json``; the folder's
``manifest.json`` holds the experiment's hash. Running the same experiment into the same
folder again skips the finished tasks and gives exactly the results of an uninterrupted
run; a folder of another (or a changed) experiment is refused unless ``force``.
Tasks run in a local process pool (``workers``); results do not depend on it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cjsim._io import write_text_atomic
from cjsim.errors import OptionError
from cjsim.experiment.config import Experiment
from cjsim.experiment.stats import summarise_runs
from cjsim.model import JourneyModel

log = logging.getLogger(__name__)


def task_metrics(
    model: JourneyModel, customers: int, seed: np.random.SeedSequence, engine: str
) -> dict[str, float]:
    """Simulate one replication of one scenario and measure it (no event log kept)."""
    if engine == "agents":
        from cjsim.simulate.agents import simulate_agents

        summary, _ = simulate_agents(model, customers, rng=seed)
    else:
        from cjsim.simulate.markov import simulate

        summary = simulate(model, customers, rng=seed)
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


@dataclass
class ExperimentResult:
    """Per-replication metrics and their statistics."""

    experiment: Experiment
    runs: pd.DataFrame  # scenario, replication, metrics...
    summary: pd.DataFrame  # see cjsim.experiment.stats.summarise_runs
    folder: Path
    done_before: int = 0


def _task_path(folder: Path, scenario: str, rep: int) -> Path:
    return folder / "tasks" / scenario / f"{rep:05d}.json"


def _check_folder(folder: Path, exp: Experiment, force: bool) -> None:
    manifest = folder / "manifest.json"
    digest = exp.content_hash()
    if manifest.exists():
        old = json.loads(manifest.read_text(encoding="utf-8"))
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
             "scenarios": list(exp.spec.scenarios), "replications": exp.spec.replications},
            indent=2,
        ) + "\n",
    )  # fmt: skip


def _run_on_dask(
    scheduler: str,
    workers: int,
    todo: list[tuple[str, int]],
    args: dict[tuple[str, int], tuple[Any, ...]],
    record: Callable[[tuple[str, int], dict[str, float]], None],
) -> None:
    """Tasks on a Dask cluster; each result is recorded as it arrives."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise OptionError("--scheduler needs Dask: pip install 'cjsim[distributed]'") from exc
    cluster = (
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                     dashboard_address=None)
        if scheduler == "local"
        else None
    )  # fmt: skip
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            if cluster is not None:
                # all workers first: tasks submitted to the first worker alone would stay
                # there until work stealing spreads them
                client.wait_for_workers(workers)
            futures = {client.submit(task_metrics, *args[t], pure=False): t for t in todo}
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
    _check_folder(folder, exp, force)
    spec = exp.spec
    seeds = np.random.SeedSequence(spec.seed).spawn(spec.replications)
    tasks = [(s, r) for r in range(spec.replications) for s in spec.scenarios]
    todo = [t for t in tasks if not _task_path(folder, *t).exists()]
    done_before = len(tasks) - len(todo)
    if max_tasks is not None:
        todo = todo[:max_tasks]
    done = done_before
    if progress:
        progress(done, len(tasks))

    def record(task: tuple[str, int], metrics: dict[str, float]) -> None:
        nonlocal done
        path = _task_path(folder, *task)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps({"scenario": task[0], "replication": task[1],
                                            **metrics}) + "\n")  # fmt: skip
        done += 1
        if progress:
            progress(done, len(tasks))

    workers = workers or os.cpu_count() or 1
    args = {t: (exp.models[t[0]], spec.customers, seeds[t[1]], spec.engine) for t in todo}
    if scheduler is not None and todo:
        _run_on_dask(scheduler, workers, todo, args, record)
    elif workers <= 1 or len(todo) <= 1:
        for t in todo:
            record(t, task_metrics(*args[t]))
    else:
        pool = ProcessPoolExecutor(max_workers=workers)
        futures: dict[Future[dict[str, float]], tuple[str, int]] = {}
        try:
            queue = list(todo)
            while queue or futures:
                while queue and len(futures) < 2 * workers:
                    t = queue.pop(0)
                    futures[pool.submit(task_metrics, *args[t])] = t
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for f in finished:
                    record(futures.pop(f), f.result())
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    rows: list[dict[str, Any]] = []
    for t in tasks:
        path = _task_path(folder, *t)
        if path.exists():
            rows.append(json.loads(path.read_text(encoding="utf-8")))
    runs = pd.DataFrame(rows)
    summary = (
        summarise_runs(runs, spec.metrics, spec.baseline_name) if len(rows) else pd.DataFrame()
    )
    if len(rows) == len(tasks):
        write_text_atomic(folder / "runs.csv", runs.to_csv(index=False))
        write_text_atomic(folder / "summary.csv", summary.to_csv(index=False))
    return ExperimentResult(exp, runs, summary, folder, done_before)
