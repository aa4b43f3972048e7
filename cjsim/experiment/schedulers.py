"""Where an experiment's tasks run: a local process pool or a Dask cluster.

Both take the tasks still to do and their arguments and call ``record(task, result)`` as
each result arrives; results do not depend on where the tasks ran.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from cjsim._pool import ignore_interrupts, stop_pool
from cjsim.errors import OptionError
from cjsim.experiment.tasks import run_task


def scheduler_timeout() -> float:
    """Seconds to wait for a Dask scheduler to answer: 10, or ``CJSIM_SCHEDULER_TIMEOUT``."""
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


def run_on_dask(
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


def run_in_pool(
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
