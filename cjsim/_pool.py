"""A process pool that stops its workers when the caller is interrupted."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def ignore_interrupts() -> None:
    """Pool workers leave Ctrl-C to the main process, which stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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
