"""Do the two engines simulate the same world? Spend, ROAS, conversions and reach.

For every shipped model without capacity (word of mouth switched off: the agent engine
lets people talk on a contact network, the Markov engine in a well-mixed market, on
purpose), both engines simulate the same customers over several seeds; the script prints
each figure's mean per engine and the z-score of their difference (independent runs),
and writes the table as JSON. Not a test: the test suite checks a smaller version
(tests/simulate/test_cross_engine.py).

    python benchmarks/cross_engine.py [--customers 20000] [--seeds 8] [--out cross_engine.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time

import numpy as np

from cjsim.model import load_model
from cjsim.simulate.agents import simulate_agents
from cjsim.simulate.markov import simulate

MODELS = ("trap_brand_search", "trap_null_channel", "trap_retargeting", "trap_upper_funnel",
          "ecommerce", "sunscreen", "refrigerator")  # fmt: skip


def world(name: str):
    model = load_model(name)
    if model.word_of_mouth is not None:
        model = model.with_overrides(channels_off=[model.word_of_mouth.channel])
    return model


def figures(summary) -> dict[str, float]:
    d = summary.to_dict()
    out = {"conversions": float(d["conversions"]), "spend": float(d["spend"]),
           "revenue": float(d["revenue"]), "roas": float(d["roas"] or 0.0)}  # fmt: skip
    for c, r in zip(summary.channels, summary.reached, strict=True):
        out[f"reach:{c}"] = float(r) / summary.customers
    return out


def compare(name: str, customers: int, seeds: int) -> list[dict]:
    model = world(name)
    runs = {"markov": [], "agents": []}
    for seed in range(seeds):
        runs["markov"].append(figures(simulate(model, customers, rng=seed)))
        runs["agents"].append(figures(simulate_agents(model, customers, rng=10_000 + seed)[0]))
    rows = []
    for key in runs["markov"][0]:
        m = np.array([r[key] for r in runs["markov"]])
        a = np.array([r[key] for r in runs["agents"]])
        se = np.sqrt(m.var(ddof=1) / seeds + a.var(ddof=1) / seeds)
        z = (a.mean() - m.mean()) / se if se > 0 else 0.0
        rows.append({"model": name, "figure": key, "markov": m.mean(), "agents": a.mean(),
                     "z": float(z)})  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--out", default="cross_engine.json")
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    started = time.perf_counter()
    rows = []
    for name in args.models:
        part = compare(name, args.customers, args.seeds)
        rows += part
        worst = max(part, key=lambda r: abs(r["z"]))
        print(f"{name}:")
        for r in part:
            if not r["figure"].startswith("reach:") or abs(r["z"]) > 2:
                print(f"  {r['figure']:28s} markov {r['markov']:12.4f}  agents "
                      f"{r['agents']:12.4f}  z {r['z']:+.2f}")  # fmt: skip
        print(f"  largest |z|: {abs(worst['z']):.2f} ({worst['figure']})")
    meta = {
        "customers": args.customers,
        "seeds": args.seeds,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "seconds": time.perf_counter() - started,
    }
    with open(args.out, "w") as f:
        json.dump({"settings": meta, "rows": rows}, f, indent=1)
    print(
        f"{len(rows)} figures, largest |z| {max(abs(r['z']) for r in rows):.2f}; wrote {args.out}"
    )


if __name__ == "__main__":
    main()
