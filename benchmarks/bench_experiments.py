"""Speed of the experiment runner (a script, not a test).

4 scenarios x 20 replications of ``ecommerce.toml`` (50,000 customers each), with 1 and 2
local workers: wall time, speed-up (goal >= 1.7x with 2 workers) and the overhead per
task (scheduling and writing, measured as wall time minus the summed task times divided
by the workers; goal < 5% of task time), and with a 2-worker Dask LocalCluster (the
``distributed`` extra).

Usage::

    python benchmarks/bench_experiments.py [--replications R] [--customers N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_simulate import machine, write_json

from cjsim.experiment.config import load_experiment
from cjsim.experiment.runner import run_experiment
from cjsim.experiment.tasks import task_metrics

RESULTS = Path(__file__).parent / "results" / "bench_experiments.json"

EXPERIMENT = """
name = "bench"
model = "ecommerce"
customers = {customers}
replications = {replications}
seed = 1

[scenarios.current]
[scenarios.shift]
budget_shift = {{ from = "display", to = "paid_search", share = 0.2 }}
[scenarios.half_video]
budget_scale = {{ video = 0.5 }}
[scenarios.no_retargeting]
channels_off = ["retargeting"]
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replications", type=int, default=20)
    ap.add_argument("--customers", type=int, default=50_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(EXPERIMENT.format(customers=args.customers,
                                          replications=args.replications))  # fmt: skip
        exp = load_experiment(path)
        import numpy as np

        seed = np.random.SeedSequence(1).spawn(1)[0]
        times = []
        for _ in range(4):  # the first run pays for imports and compilation
            t0 = time.perf_counter()
            task_metrics(exp.models["current"], args.customers, seed, "markov")
            times.append(time.perf_counter() - t0)
        one_task = sorted(times[1:])[1]  # the median of the warm runs
        tasks = len(exp.spec.scenarios) * args.replications
        out: dict[str, object] = {"machine": machine(), "tasks": tasks,
                                  "customers": args.customers, "one_task_s": one_task}  # fmt: skip
        for label, workers, scheduler in (("workers_1", 1, None), ("workers_2", 2, None),
                                          ("dask_2", 2, "local")):  # fmt: skip
            t0 = time.perf_counter()
            run_experiment(exp, Path(tmp) / label, workers=workers, scheduler=scheduler)
            wall = time.perf_counter() - t0
            ideal = tasks * one_task / workers
            over = (wall - ideal) / ideal
            out[f"{label}_s"] = wall
            out[f"{label}_overhead"] = over
            print(f"{label}: {tasks} tasks in {wall:.1f} s "
                  f"(one task {one_task:.2f} s; overhead vs ideal {over:+.1%})")  # fmt: skip
        speedup = out["workers_1_s"] / out["workers_2_s"]  # type: ignore[operator]
        out["speedup_2_workers"] = speedup
        dask_speedup = out["workers_1_s"] / out["dask_2_s"]  # type: ignore[operator]
        out["speedup_dask_2_workers"] = dask_speedup
        print(f"speed-up with 2 workers: {speedup:.2f}x (pool), {dask_speedup:.2f}x (Dask)")
    write_json(RESULTS, out)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
