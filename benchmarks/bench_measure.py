"""Wall time of the measurement layer on the default model (a script, not a test).

A simulated ``ecommerce`` log (default 200,000 customers, about 4.4M events) observed
under each shipped profile (the log's check timed on its own), then counted into weekly
and daily panels (national and per segment). Prints the rows per second of each step
and writes JSON beside the other benchmarks.

Usage::

    python benchmarks/bench_measure.py [--customers N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_simulate import MODEL, machine, write_json

from cjsim.events import validate_events
from cjsim.model import load_model
from cjsim.observe import load_profile, observe, shipped_profiles
from cjsim.panel import build_panel
from cjsim.simulate import simulate

RESULTS = Path(__file__).parent / "results" / "bench_measure.json"


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=200_000)
    args = ap.parse_args()
    model = load_model(MODEL)
    run, wall = timed(simulate, model, args.customers, rng=1, keep_events=True)
    events = run.events
    assert events is not None
    rows = len(events)
    print(f"ecommerce, {args.customers:,} customers: {rows:,} events simulated in {wall:.1f} s")
    figures: dict[str, float] = {}
    _, wall = timed(validate_events, events)
    figures["validate_s"] = wall
    print(
        f"validate_events         {wall:6.2f} s  {rows / wall / 1e6:5.2f} M rows/s  "
        "(observe checks a log it is given unless told it is checked already)"
    )
    for name in sorted(shipped_profiles()):
        seen, wall = timed(observe, events, load_profile(name), seed=1, validate=False)
        figures[f"observe_{name}_s"] = wall
        print(f"observe {name:18s} {wall:6.2f} s  {rows / wall / 1e6:5.2f} M rows/s  "
              f"-> {len(seen.events):,} rows, {len(seen.links):,} ids")  # fmt: skip
    for freq in ("day", "week"):
        for geo in (None, "segment"):
            _, wall = timed(build_panel, events, model, freq, geo=geo)
            key = f"panel_{freq}_{geo or 'national'}_s"
            figures[key] = wall
            print(f"panel {freq:4s} {geo or 'national':9s} {wall:6.2f} s  "
                  f"{rows / wall / 1e6:5.2f} M rows/s")  # fmt: skip
    write_json(RESULTS, {"machine": machine(), "customers": args.customers, "events": rows,
                         **figures})  # fmt: skip
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
