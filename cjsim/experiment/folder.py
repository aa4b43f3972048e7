"""The experiment folder: its manifest, the task list and the task files.

``DIR/manifest.json`` holds the experiment's hash; each finished task is one file,
``DIR/tasks/<scenario>/<r>.json`` (``truth.json`` for the ground truth). A folder of another
(or a changed) experiment is refused unless ``force``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cjsim._io import read_json_file, write_text_atomic
from cjsim.errors import OptionError
from cjsim.experiment.config import Experiment
from cjsim.experiment.tasks import TRUTH

#: The files an experiment folder may hold besides manifest.json and tasks/.
OUTPUTS = ("runs.csv", "summary.csv", "credit.csv", "truth.csv", "attribution.csv",
           "bias.csv", "differences.png", "attribution_errors.png")  # fmt: skip


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
    """The file of one task (``rep`` is :data:`~cjsim.experiment.tasks.TRUTH` for the truth)."""
    name = "truth" if rep == TRUTH else f"{rep:05d}"
    return folder / "tasks" / scenario / f"{name}.json"


def check_folder(folder: Path, exp: Experiment, force: bool) -> None:
    """Make ``folder`` ready for ``exp``: refuse another experiment's results (or a
    folder of other files) unless ``force``, which clears them; write the manifest."""
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
