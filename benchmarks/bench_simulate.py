"""Speed and memory of the vectorised Markov engine (a script, not a test).

What is measured, on the shipped ``ecommerce`` model (10 channels, 3 segments, 9 stages),
1,000,000 customers x 90 daily steps (best of ``--repeat`` runs where timed in-process):

* engine only (events built, then discarded): wall time and customer-steps per second.
  Target (issue 18): at least 12 million customer-steps per second in one process;
* engine + Parquet writing (what ``cjsim simulate`` does): time, events, file size;
* a bare numpy kernel on the same machine that only draws one categorical transition per
  customer-step from a 9-stage matrix, chunked like the engine: the floor any engine
  must pay. Goal: the engine within 6x of it;
* the whole ``cjsim simulate ecommerce --customers 300000 --days 90 --out X.parquet``
  process (start-up, simulation, Parquet writing) as a subprocess, beside the bare kernel
  on the same 300,000 x 90 customer-steps measured in the same run: its speed as a share
  of the kernel's. Target (issue 18): at least 0.25. The log's sha256 is recorded, so
  runs of two versions of the engine show whether they wrote the same bytes;
* peak resident memory of a full ``simulate`` to Parquet for 1M and 10M customers, each
  in a fresh process. Target: under 2 GB for both (the engine streams chunks).

Usage::

    python benchmarks/bench_simulate.py              # full size (10M run takes minutes)
    python benchmarks/bench_simulate.py --quick      # 1/10 size, a smoke check
    python benchmarks/bench_simulate.py --skip-10m --label before   # then --label after

Figures are printed and written to ``benchmarks/results/bench_simulate.json``, under the
run's ``--label`` (default ``latest``): runs with other labels already in the file are
kept, so a before and an after sit side by side.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import cjsim
from cjsim.model import load_model
from cjsim.simulate.markov import DEFAULT_CHUNK, simulate

MODEL = Path(cjsim.__file__).parent / "models" / "ecommerce.toml"
RESULTS = Path(__file__).parent / "results" / "bench_simulate.json"


def machine() -> dict[str, object]:
    mem_gb = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem_gb = round(pages / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cjsim": cjsim.__version__,
        "platform": platform.platform(),
    }


def bench_engine(customers: int, out: Path | None, repeat: int = 1) -> dict[str, float]:
    """Best of ``repeat`` in-process runs of :func:`simulate` (to ``out`` if given)."""
    model = load_model(MODEL)
    wall = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        s = simulate(model, customers, rng=1, out=out)
        wall = min(wall, time.perf_counter() - started)
    res = {
        "customers": customers,
        "steps": s.steps,
        "seconds": wall,
        "customer_steps_per_second": customers * s.steps / wall,
        "events": s.events,
    }
    if out is not None:
        res["file_mb"] = out.stat().st_size / 2**20
    return res


def bench_bare_kernel(customers: int, steps: int, repeat: int = 1) -> dict[str, float]:
    """One categorical transition per customer-step, nothing else (the floor); best of
    ``repeat`` runs."""
    wall = math.inf
    for _ in range(repeat):
        rng = np.random.default_rng(1)
        S = 9
        P = rng.dirichlet(np.ones(S), size=S)
        cum = np.cumsum(P, axis=1)[:, :-1].astype(np.float32)  # S-1 thresholds per row
        started = time.perf_counter()
        for start in range(0, customers, DEFAULT_CHUNK):
            n = min(DEFAULT_CHUNK, customers - start)
            stage = np.zeros(n, dtype=np.int8)
            for _ in range(steps):
                u = rng.random(n, dtype=np.float32)
                stage = (u[:, None] >= cum[stage]).sum(axis=1, dtype=np.int8)
        wall = min(wall, time.perf_counter() - started)
    return {
        "customers": customers,
        "steps": steps,
        "seconds": wall,
        "customer_steps_per_second": customers * steps / wall,
    }


def bench_whole_process(
    customers: int, days: int, repeat: int = 1
) -> tuple[dict[str, Any], dict[str, float]]:
    """The whole ``cjsim simulate ecommerce ... --out X.parquet`` process (start-up,
    simulation, Parquet writing), timed from outside, and the bare kernel on the same
    customer-steps, run in turns so that both meet the machine in the same state; the
    best of ``repeat`` of each, and the log's sha256."""
    wall = math.inf
    kernel: dict[str, float] = {"seconds": math.inf}
    env = _child_env()
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "events.parquet"
        cmd = [sys.executable, "-m", "cjsim", "simulate", "ecommerce",
               "--customers", str(customers), "--days", str(days), "--out", str(out)]  # fmt: skip
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True, cwd=d, env=env)
            wall = min(wall, time.perf_counter() - started)
            k = bench_bare_kernel(customers, days)
            kernel = min(kernel, k, key=lambda r: r["seconds"])
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        size = out.stat().st_size
    process = {
        "command": " ".join(["cjsim", *cmd[3:-1], "X.parquet"]),
        "customers": customers,
        "steps": days,
        "seconds": wall,
        "customer_steps_per_second": customers * days / wall,
        "file_mb": size / 2**20,
        "sha256": digest,
    }
    return process, kernel


_CHILD = """
import resource, sys, tempfile, time
from pathlib import Path
from cjsim.model import load_model
from cjsim.simulate.markov import simulate
n = int(sys.argv[1])
with tempfile.TemporaryDirectory() as d:
    t = time.perf_counter()
    s = simulate(load_model(sys.argv[2]), n, rng=1, out=Path(d) / "e.parquet")
    wall = time.perf_counter() - t
    size = (Path(d) / "e.parquet").stat().st_size
print(wall, s.events, size, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _child_env() -> dict[str, str]:
    """The environment of a child Python that imports the cjsim this script imported (run
    outside the checkout: ``python -m`` and ``-c`` put the current folder first)."""
    paths = [str(Path(cjsim.__file__).parent.parent), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def bench_peak_memory(customers: int) -> dict[str, float]:
    """Peak RSS of a full simulate-to-Parquet in a fresh process (Linux: ru_maxrss in kB)."""
    res = subprocess.run(
        [sys.executable, "-c", _CHILD, str(customers), str(MODEL)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
        env=_child_env(),
    )
    wall, events, size, rss_kb = res.stdout.split()
    return {
        "customers": customers,
        "seconds": float(wall),
        "events": int(events),
        "file_mb": int(size) / 2**20,
        "peak_rss_mb": int(rss_kb) / 1024,
    }


def read_runs(path: Path) -> dict[str, object]:
    """The labelled runs already in ``path`` ({} if none, or a file in an older layout)."""
    try:
        runs = json.loads(path.read_text()).get("runs", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return runs if isinstance(runs, dict) else {}


def write_json(path: Path, data: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    os.replace(tmp, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1/10 size smoke check")
    ap.add_argument("--skip-10m", action="store_true", help="skip the 10M-customer memory run")
    ap.add_argument("--customers", type=int, default=None, help="override the 1M size")
    ap.add_argument("--cli-customers", type=int, default=None,
                    help="customers of the whole-process run (default 300,000)")  # fmt: skip
    ap.add_argument("--repeat", type=int, default=3, help="timed runs; the best is kept")
    ap.add_argument("--label", default="latest", help="name of this run in the JSON file")
    args = ap.parse_args()
    n = args.customers or (100_000 if args.quick else 1_000_000)
    n_cli = args.cli_customers or (30_000 if args.quick else 300_000)
    big = n * 10
    repeat = max(1, args.repeat)

    runs = read_runs(RESULTS)
    results: dict[str, object] = {
        "machine": machine(),
        "model": "ecommerce",
        "cjsim_path": str(Path(cjsim.__file__).parent),  # which code ran (checkout, install)
    }
    print(f"machine: {results['machine']}; run '{args.label}', best of {repeat}")

    def engine_only(customers: int, note: str = "") -> dict[str, float]:
        r = bench_engine(customers, None, repeat)
        print(
            f"engine only      {customers:>11,} customers x {r['steps']} steps: "
            f"{r['seconds']:7.2f} s {r['customer_steps_per_second'] / 1e6:6.2f} M "
            f"customer-steps/s{note}"
        )
        return r

    engine = results["engine_only"] = engine_only(n, " (target >= 12 M/s)")
    if n_cli != n:
        results["engine_only_cli_size"] = engine_only(n_cli)
    with tempfile.TemporaryDirectory() as d:
        written = bench_engine(n, Path(d) / "e.parquet")
    results["engine_and_parquet"] = written
    print(
        f"engine + parquet {n:>11,} customers: {written['seconds']:7.2f} s "
        f"{written['customer_steps_per_second'] / 1e6:6.2f} M customer-steps/s "
        f"file {written['file_mb']:.1f} MB"
    )
    bare = bench_bare_kernel(n, int(engine["steps"]), repeat)
    ratio = engine["seconds"] / bare["seconds"]
    results["bare_kernel"] = bare
    results["ratio_engine_to_bare"] = ratio
    print(
        f"bare kernel      {n:>11,} customers: {bare['seconds']:7.2f} s "
        f"{bare['customer_steps_per_second'] / 1e6:6.2f} M customer-steps/s; "
        f"engine / bare = {ratio:.2f}x (goal <= 6x)"
    )
    steps = int(engine["steps"])
    cli, bare_cli = bench_whole_process(n_cli, steps, repeat)
    share = bare_cli["seconds"] / cli["seconds"]
    results["whole_process"] = cli
    results["bare_kernel_cli_size"] = bare_cli
    results["whole_process_share_of_bare"] = share
    print(
        f"whole process    {n_cli:>11,} customers: {cli['seconds']:7.2f} s "
        f"{cli['customer_steps_per_second'] / 1e6:6.2f} M customer-steps/s "
        f"(file {cli['file_mb']:.1f} MB, sha256 {cli['sha256'][:12]})"
    )
    print(
        f"bare kernel      {n_cli:>11,} customers: {bare_cli['seconds']:7.2f} s "
        f"{bare_cli['customer_steps_per_second'] / 1e6:6.2f} M customer-steps/s; "
        f"whole process at {share:.2f} of its speed (target >= 0.25)"
    )
    memory = [bench_peak_memory(n)]
    if not args.skip_10m:
        memory.append(bench_peak_memory(big))
    results["peak_memory"] = memory
    for m in memory:
        print(
            f"peak RSS         {m['customers']:>11,} customers to parquet: "
            f"{m['peak_rss_mb']:8.0f} MB in {m['seconds']:.1f} s "
            f"({m['events']:,} events, {m['file_mb']:.0f} MB; target < 2048 MB)"
        )
    runs[args.label] = results
    write_json(RESULTS, {"runs": runs})
    print(f"wrote {RESULTS} (runs: {', '.join(runs)})")


if __name__ == "__main__":
    main()
