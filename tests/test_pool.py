"""Pool workers never outlive the process that started them (issue 16).

A SIGKILL gives the main process no chance to stop its workers; they must notice on
their own (:func:`cjsim._pool.exit_with_parent`) and exit, not compute for minutes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cjsim._pool import PARENT_POLL_SECONDS, pool_map

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")

#: Tasks of several seconds each: killed at once, their workers would outlive the test.
LONG = """
name = "long"
model = "trap_null_channel"
customers = 400_000
replications = 4
seed = 1

[scenarios.base]
"""


def _stat(pid: int) -> tuple[str, int] | None:
    """A process's state letter and parent pid, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = text.rsplit(")", 1)[1].split()[:2]  # the name in (...) may hold spaces
    return state, int(ppid)


def alive(pid: int) -> bool:
    """Running (an exited process its new parent has not reaped yet is a zombie: gone)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (no psutil: the parent pid of every process)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] == pid and stat[0] != "Z":
                found.add(int(entry.name))
    return found


def wait_until(condition, timeout: float) -> bool:
    """Whether ``condition()`` came true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.slow
@pytest.mark.xdist_group("signals")  # one at a time: each kills a run of its own
def test_workers_exit_when_the_runner_is_killed(tmp_path):
    (tmp_path / "long.toml").write_text(LONG)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cjsim", "run", "long.toml", "--workers", "2", "--out", "out"],
        cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        workers: set[int] = set()

        def started() -> bool:
            assert proc.poll() is None, "the run ended before its workers started"
            workers.update(children(proc.pid))
            return len(workers) >= 2

        assert wait_until(started, 120), "no pool workers within 2 minutes"
        time.sleep(2 * PARENT_POLL_SECONDS)  # at work on their first tasks
        assert all(alive(w) for w in workers)
        os.kill(proc.pid, signal.SIGKILL)  # the runner only, not its process group
        proc.wait()
        gone = wait_until(lambda: not any(alive(w) for w in workers), 5)
        assert gone, f"workers {sorted(w for w in workers if alive(w))} outlived the runner"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def _ppid(_: int) -> int:
    return os.getppid()


def test_workers_know_their_parent_and_the_pool_still_works():
    assert pool_map(_ppid, range(4), workers=2) == [os.getpid()] * 4
