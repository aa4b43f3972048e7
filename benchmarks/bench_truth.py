"""Wall time of the ground truth on the default model (a script, not a test).

``ecommerce`` (10 channels), 100,000 customers per counterfactual run: every
single-channel counterfactual, the true Shapley values (sampled orders, K > 8), and the
marginal ROAS runs, on all cores. Goal: under 2 minutes on the Markov engine. Also prints
how much common random numbers shrink the standard errors of the increments.

Usage::

    python benchmarks/bench_truth.py [--customers N] [--workers W]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_simulate import MODEL, machine, write_json

from cjsim.model import load_model
from cjsim.simulate.truth import ground_truth

RESULTS = Path(__file__).parent / "results" / "bench_truth.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    model = load_model(MODEL)
    t0 = time.perf_counter()
    truth = ground_truth(model, args.customers, rng=1, workers=args.workers)
    wall = time.perf_counter() - t0
    inc = truth.incremental
    ratio = (inc.conversions_se_independent / inc.conversions_se).where(inc.conversions_se > 0)
    print(f"ground truth of ecommerce, {args.customers:,} customers per run: "
          f"{truth.settings['runs']} runs in {wall:.1f} s")  # fmt: skip
    print(truth.summary())
    print("\nstandard error of the increments, independent runs / CRN:")
    print(ratio.round(1).to_string())
    write_json(
        RESULTS,
        {
            "machine": machine(),
            "customers": args.customers,
            "runs": truth.settings["runs"],
            "seconds": wall,
            "crn_se_reduction": ratio.dropna().to_dict(),
        },
    )
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
