"""Kill the runner at random points, resume, compare bytes (issue 16, the SIGKILL soak).

A SIGKILL of the whole process group (the runner and its workers, as the out-of-memory
killer or a job scheduler does it) at any moment must lose nothing but unfinished work:
running the same command again completes the experiment with the very bytes of a run
that was never interrupted.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SMALL = """
name = "small"
model = "trap_null_channel"
customers = 3000
replications = 3
seed = 5
attribution = ["last", "linear"]
truth = true

[scenarios.base]

[scenarios.no_banner]
channels_off = ["banner"]
"""
KILLS = 3


def start(cwd: Path, out: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cjsim", "run", "small.toml", "--workers", "2", "--out", out],
        cwd=cwd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def finish(proc: subprocess.Popen[bytes]) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()


def outputs(folder: Path) -> dict[str, bytes]:
    """Every result file by its path in the folder (hidden temporary files aside)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def wait_for(path: Path, proc: subprocess.Popen[bytes]) -> None:
    """Wait until ``path`` exists (the run has checked its folder) or the run ends."""
    while not path.exists() and proc.poll() is None:
        time.sleep(0.02)


def task_files(folder: Path) -> int:
    return len(list((folder / "tasks").glob("*/*.json")))


@pytest.mark.slow
@pytest.mark.xdist_group("signals")  # one at a time: each kills a run of its own
@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX")
def test_killed_at_random_points_and_resumed_gives_the_same_bytes(tmp_path):
    (tmp_path / "small.toml").write_text(SMALL)
    finish(start(tmp_path, "reference"))
    reference = outputs(tmp_path / "reference")
    total = task_files(tmp_path / "reference")
    assert total == 8 and {"runs.csv", "summary.csv", "credit.csv", "truth.csv",
                           "differences.png"} <= set(reference)  # fmt: skip
    # killed again and again, each run resuming what the killed one left: a random
    # moment after so many tasks are done (to catch a task file being written), the last
    # time once all are done, while the results are written
    rng = random.Random(16)
    folder = tmp_path / "killed"
    kills = [*sorted(rng.sample(range(1, total), KILLS - 1)), total]
    done_at_kill = []
    for done in kills:
        proc = start(tmp_path, "killed")
        try:
            wait_for(folder / "manifest.json", proc)
            while task_files(folder) < done and proc.poll() is None:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.3))
            done_at_kill.append(task_files(folder))
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        assert proc.returncode == -signal.SIGKILL, "the run ended before it was killed"
    finish(start(tmp_path, "killed"))
    assert outputs(folder) == reference, f"finished tasks at each kill: {done_at_kill}"
