"""Whole ``cjsim attribute`` processes against an independent numpy solver (a script).

Issue 18: a user waits for the whole command (start-up, reading the path table, the
fit, printing), so that is what is timed, as fresh processes, best of ``--repeat``:

* ``cjsim --help`` (start-up alone);
* ``cjsim attribute PATHS --method markov --order K --ci 0`` for K = 1, 2, 3;
* ``python benchmarks/markov_reference.py PATHS --order K``: an independent ~100-line
  pandas/numpy/scipy solver of the same chain (no cjsim code).

Target: cjsim's whole process at most 0.5x the reference's at every order. The data is
the table of ``bench_attribution`` (1,000,000 journeys of a random order-1 chain over 12
channels, about 110,000 distinct paths). The two solvers' removal effects are compared
(the largest absolute difference is printed: a second path to the same numbers), and the
in-process split of cjsim's time (read the table, fit) is printed beside.

Usage::

    python benchmarks/bench_attribute_cli.py              # full size
    python benchmarks/bench_attribute_cli.py --quick      # 1/10 of the journeys
    python benchmarks/bench_attribute_cli.py --label before

Figures are printed and written to ``benchmarks/results/bench_attribute_cli.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_markov_ci import arguments, cli, run_best, table_csv
from bench_simulate import machine, write_json

from cjsim.attribution import MarkovAttribution
from cjsim.paths import read_path_table

RESULTS = Path(__file__).parent / "results" / "bench_attribute_cli.json"
REFERENCE = Path(__file__).parent / "markov_reference.py"
TARGET_RATIO = 0.5


def in_process(csv: Path, order: int) -> dict[str, float]:
    """Seconds to read the table and to fit, inside one process (imports excluded)."""
    t0 = time.perf_counter()
    table = read_path_table(csv)
    t1 = time.perf_counter()
    MarkovAttribution(order).fit(table)
    return {"read_s": t1 - t0, "fit_s": time.perf_counter() - t1}


def agreement(csv: Path, order: int) -> float:
    """Largest |removal effect, cjsim - reference| over channels."""
    res = subprocess.run(
        [sys.executable, str(REFERENCE), str(csv), "--order", str(order)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    ref = json.loads(res.stdout)["removal_effects"]
    m = MarkovAttribution(order).fit(read_path_table(csv))
    ours = dict(zip(m.channels_, m.removal_effects_, strict=True))
    return max(abs(ours[c] - ref[c]) for c in ref)


def main() -> None:
    args = arguments(__doc__ or "")
    journeys, orders = args.journeys, args.order_list
    rows = []
    with table_csv(journeys) as (table, csv):
        help_s = run_best([*cli(), "--help"], args.repeat)
        print(f"cjsim --help: {help_s:.2f} s")
        for k in orders:
            ours = run_best(
                [*cli(), "attribute", str(csv), "--method", "markov", "--order", str(k),
                 "--ci", "0"], args.repeat,
            )  # fmt: skip
            ref = run_best([sys.executable, str(REFERENCE), str(csv), "--order", str(k)],
                           args.repeat)  # fmt: skip
            row = {"order": k, "cjsim_s": ours, "reference_s": ref, "ratio": ours / ref,
                   **in_process(csv, k), "max_abs_re_difference": agreement(csv, k)}  # fmt: skip
            rows.append(row)
            print(f"order {k}: cjsim {ours:.2f} s (read {row['read_s']:.2f}, fit "
                  f"{row['fit_s']:.2f}), reference {ref:.2f} s, ratio {ours / ref:.2f}, "
                  f"|RE difference| <= {row['max_abs_re_difference']:.1e}")  # fmt: skip

    print(f"\n{'order':>5} {'cjsim s':>8} {'reference s':>12} {'ratio':>6}  (target <= "
          f"{TARGET_RATIO:g})")  # fmt: skip
    for r in rows:
        print(f"{r['order']:>5} {r['cjsim_s']:>8.2f} {r['reference_s']:>12.2f} {r['ratio']:>6.2f}")

    data: dict[str, object] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[args.label] = {
        "machine": machine(),
        "quick": args.quick,
        "repeat": args.repeat,
        "table": {"journeys": journeys, "paths": table.n_paths, "channels": 12},
        "help_s": help_s,
        "rows": rows,
        "worst_ratio": float(np.max([r["ratio"] for r in rows])),
    }
    write_json(RESULTS, data)
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
