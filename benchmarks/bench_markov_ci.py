"""What the default bootstrap interval costs on top of a Markov point estimate (a script).

Issue 18: ``cjsim attribute PATHS --method markov --order 3`` computes a 95% bootstrap
interval (200 resamples) by default, and a user waits for it. The data is the table of
``bench_attribution``: 1,000,000 journeys of a random order-1 chain over K = 12 channels,
aggregated into ~97,000 distinct paths, written as a ChannelAttribution-format CSV. For
each order K = 1, 2, 3 the whole command is timed as a fresh process (import, load, fit,
print), best of ``--repeat`` runs:

* ``--ci 0``: the point estimate only;
* the default (``--ci 0.95``, 200 resamples).

Target: the default costs at most 5x the point estimate at every order.

Then, in this process, the check that the fast bootstrap keeps its numbers: for a few of
the 200 resamples of each order, the attributed conversions and value of the batched
iterative solves against an exact refit (direct solves) on that resample alone; the
largest relative difference is printed (``--no-check`` skips it).

Usage::

    python benchmarks/bench_markov_ci.py            # full size
    python benchmarks/bench_markov_ci.py --quick    # 1/10 of the journeys
    python benchmarks/bench_markov_ci.py --label before

Figures are printed and written to ``benchmarks/results/bench_markov_ci.json`` (a
``--label`` run is stored under that label, so a before and an after run sit side by
side in the file).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_attribution import path_table
from bench_simulate import machine, write_json

from cjsim.attribution import MarkovAttribution
from cjsim.attribution.bootstrap import resample_counts
from cjsim.paths import PathTable

RESULTS = Path(__file__).parent / "results" / "bench_markov_ci.json"
TARGET_RATIO = 5.0


def cli() -> list[str]:
    exe = shutil.which("cjsim")
    return [exe] if exe else [sys.executable, "-m", "cjsim"]


def run_best(args: list[str], repeat: int) -> float:
    """Best wall time of ``repeat`` runs of a whole command."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = subprocess.run(args, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        if res.returncode:
            raise RuntimeError(f"{' '.join(args)} failed:\n{res.stderr[-2000:]}")
        best = min(best, wall)
    return best


def check_exactness(table: PathTable, order: int, n_checked: int = 4) -> float:
    """Largest relative difference, fast bootstrap vs an exact refit per resample."""
    conv, nulls, value = resample_counts(table, 200, rng=0)
    fast = MarkovAttribution(order).fit(table).fit_counts(table, conv, nulls, value)
    worst = 0.0
    for b in np.linspace(0, 199, n_checked).astype(int):
        ref = MarkovAttribution(order).fit(table.with_counts(conv[:, b], nulls[:, b], value[:, b]))
        for got, exact in ((fast[0][:, b], ref.conversions_), (fast[1][:, b], ref.value_)):
            worst = max(worst, float(np.max(np.abs(got - exact) / np.abs(exact))))
    return worst


def arguments(doc: str, ap: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """The options the whole-process attribution benchmarks share (and ``ap``'s own)."""
    ap = ap or argparse.ArgumentParser()
    ap.description = doc.split("\n")[0]
    ap.add_argument("--quick", action="store_true", help="1/10 of the journeys")
    ap.add_argument("--repeat", type=int, default=3, help="runs per command (best is kept)")
    ap.add_argument("--orders", default="1,2,3", help="comma-separated Markov orders")
    ap.add_argument("--label", default="latest", help="key of this run in the JSON file")
    args = ap.parse_args()
    args.journeys = 100_000 if args.quick else 1_000_000
    args.order_list = [int(k) for k in args.orders.split(",")]
    return args


@contextlib.contextmanager
def table_csv(journeys: int) -> Iterator[tuple[PathTable, Path]]:
    """The benchmark path table (12 channels), and the CSV it is written to for a while."""
    table = path_table(12, journeys, seed=1)
    print(f"K = 12: {journeys:,} journeys -> {table.n_paths:,} distinct paths")
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "paths.csv"
        table.write_csv(csv)
        yield table, csv


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-check", action="store_true", help="skip the exactness check")
    args = arguments(__doc__ or "", ap)
    journeys, orders = args.journeys, args.order_list
    rows = []
    with table_csv(journeys) as (table, csv):
        for k in orders:
            base = [*cli(), "attribute", str(csv), "--method", "markov", "--order", str(k)]
            point = run_best([*base, "--ci", "0"], args.repeat)
            default = run_best(base, args.repeat)
            rows.append({"order": k, "point_s": point, "default_ci_s": default,
                         "ratio": default / point})  # fmt: skip
            print(f"order {k}: point {point:.2f} s, default CI {default:.2f} s, "
                  f"ratio {default / point:.1f}")  # fmt: skip

    print(f"\n{'order':>5} {'--ci 0 s':>9} {'default s':>10} {'ratio':>6}  (target <= "
          f"{TARGET_RATIO:g}x)")  # fmt: skip
    for r in rows:
        print(f"{r['order']:>5} {r['point_s']:>9.2f} {r['default_ci_s']:>10.2f} "
              f"{r['ratio']:>6.1f}")  # fmt: skip

    if not args.no_check:
        print("\nfast bootstrap vs an exact refit per resample (4 of 200 resamples):")
        for r in rows:
            r["max_rel_difference"] = check_exactness(table, int(r["order"]))
            print(f"order {r['order']}: largest relative difference {r['max_rel_difference']:.1e}")

    data: dict[str, object] = {}
    if RESULTS.exists():
        data = json.loads(RESULTS.read_text())
    data[args.label] = {
        "machine": machine(),
        "quick": args.quick,
        "repeat": args.repeat,
        "table": {"journeys": journeys, "paths": table.n_paths, "channels": 12},
        "resamples": 200,
        "rows": rows,
    }
    write_json(RESULTS, data)
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
