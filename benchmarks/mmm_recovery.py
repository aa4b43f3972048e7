"""Does the baseline MMM recover ROAS? A study over seeds (a script, not a test).

For each model (default: ``flighted_market``, built so an MMM can, and
``trap_upper_funnel``, a single cohort with steady budgets, where it cannot), each seed
simulates a log, builds its daily panel, fits the baseline MMM and scores it against the
counterfactual truth (``cjsim evaluate --mmm``). Prints each channel's true ROAS, the
estimates' mean relative error and spread, and the share of intervals that hold the
truth; writes JSON beside the other benchmarks.

Usage::

    python benchmarks/mmm_recovery.py [--customers N] [--seeds K] [--models A B]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from bench_simulate import machine, write_json

from cjsim.evaluate.mmm import evaluate_mmm
from cjsim.model import load_model

RESULTS = Path(__file__).parent / "results" / "mmm_recovery.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--bootstrap", type=int, default=50)
    ap.add_argument("--models", nargs="*", default=["flighted_market", "trap_upper_funnel"])
    args = ap.parse_args()
    out: dict[str, object] = {"machine": machine(), "customers": args.customers,
                              "seeds": args.seeds, "bootstrap": args.bootstrap}  # fmt: skip
    for name in args.models:
        model = load_model(name)
        t0 = time.perf_counter()
        rows = []
        for seed in range(args.seeds):
            ev = evaluate_mmm(model, args.customers, rng=seed, bootstrap=args.bootstrap)
            rows.append(ev.table.assign(seed=seed, r2=ev.settings["r2"]))
        table = pd.concat(rows, ignore_index=True)
        table["relative_error"] = table["error"] / table["true_roas"]
        wall = time.perf_counter() - t0
        print(f"{name}: {args.seeds} seeds x {args.customers:,} customers, daily panel, "
              f"R^2 {table['r2'].mean():.2f} ({wall:.0f} s)")  # fmt: skip
        per: dict[str, dict[str, float]] = {}
        for channel, g in table.groupby("channel", sort=False):
            per[str(channel)] = {
                "true_roas": float(g["true_roas"].mean()),
                "mean_estimate": float(g["roas"].mean()),
                "mean_relative_error": float(g["relative_error"].mean()),
                "sd_relative_error": float(g["relative_error"].std(ddof=1)),
                "coverage": float(g["covered"].astype(float).mean()),
            }
            f = per[str(channel)]
            print(
                f"  {channel:10s} true ROAS {f['true_roas']:8.2f}"
                f"  estimate {f['mean_estimate']:8.2f}"
                f"  relative error {f['mean_relative_error']:+.0%}"
                f" (sd {f['sd_relative_error']:.0%})"
                f"  intervals hold the truth {f['coverage']:.0%}"
            )
        errors = np.round(table["relative_error"].to_numpy(), 4).tolist()
        out[name] = {"channels": per, "r2": float(table["r2"].mean()), "seconds": wall,
                     "errors": errors}  # fmt: skip
    write_json(RESULTS, out)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
