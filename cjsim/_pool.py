"""A process pool that stops its workers when the caller is interrupted or killed.

A worker must never outlive the process that started it. Ctrl-C and SIGTERM reach the
main process, which stops the workers (:func:`stop_pool`); a SIGKILL (the out-of-memory
killer, ``kill -9``, a job scheduler) does not let it: the workers then notice on their
own that their parent has gone (:func:`exit_with_parent`) and exit within a second,
instead of computing for minutes for nobody.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

#: Seconds between a worker's looks at its parent.
PARENT_POLL_SECONDS = 0.5


def exit_with_parent(poll: float = PARENT_POLL_SECONDS) -> None:
    """Exit this process as soon as its parent process is gone.

    A daemon thread compares :func:`os.getppid` with the parent the process started
    with: an orphan is adopted by init (or a subreaper), so the number changes when the
    parent dies, however it died. Polling works on every POSIX system and whatever the
    start method (with ``forkserver`` the parent is the server, which exits with the main
    process); Linux's ``PR_SET_PDEATHSIG`` would fire when the *thread* that forked the
    worker ends, which in a pool is not the main process ending.
    """
    parent = os.getppid()
    origin = multiprocessing.parent_process()
    if origin is not None and origin.pid != parent and not _exists(origin.pid):
        os._exit(1)  # the parent died before this worker got this far

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        os._exit(1)  # no clean-up to run: the results have nobody to go to

    threading.Thread(target=watch, name="cjsim-exit-with-parent", daemon=True).start()


def _exists(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_WORKER = [False]  # set in the processes pool_map starts


def in_worker() -> bool:
    """Whether this process is a worker of :func:`pool_map` (its siblings use the cores)."""
    return _WORKER[0]


def ignore_interrupts() -> None:
    """A pool worker's initializer: Ctrl-C is left to the main process, which stops the
    workers, and the worker exits if the main process dies (:func:`exit_with_parent`)."""
    _WORKER[0] = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop the workers first, then let the pool wind down (shutting down without waiting
    raced with the pool's exit handler: "Bad file descriptor" on Ctrl-C)."""
    for proc in list(getattr(pool, "_processes", {}).values()):
        proc.terminate()
    with contextlib.suppress(Exception):
        pool.shutdown(wait=True, cancel_futures=True)


def pool_map(fn: Callable[..., Any], *iterables: Iterable[Any], workers: int) -> list[Any]:
    """``list(map(fn, *iterables))`` in ``workers`` processes; on Ctrl-C, SIGTERM or a
    failed task the running ones are stopped at once instead of being waited for."""
    pool = ProcessPoolExecutor(max_workers=workers, initializer=ignore_interrupts)
    try:
        results = list(pool.map(fn, *iterables))
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown()
    return results
