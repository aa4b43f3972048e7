"""Speed and memory of the agent-based engine (a script, not a test).

* the ceiling of simpy on this machine: a bare loop of processes that only yield
  timeouts, in events per second (every event simpy processes, its process starts
  included): 1,000 processes x 1,000 timeouts, and as many processes as the engine's run
  held pending events at most (simpy slows down as its event heap grows);
* cjsim's agent engine on ``dentist.toml`` (capacity, word of mouth, schedules) with
  10,000 and 100,000 customers (the best of three runs, as for the bare loops: the
  machine is shared and its speed wanders), in events of the journeys (rows of the event
  log: touches, stage changes, conversions; a customer's first stage is a row, as a
  process start is an event of the bare loop) per second of the whole run, set-up and log
  included; goal: at least half the bare rate with a heap as large as the run's. simpy
  events per second are printed too, but they are no measure of speed here: the engine
  decides campaigns and re-evaluations for many customers in one event, so the fewer
  simpy events, the faster (and the "slower" per event) it is;
* a bare simpy model of the same journeys (one process per customer, base hazards only:
  no channels, adstock, capacity, contacts or log), what simpy alone costs for them;
* 100,000 customers x 90 days of ``dentist.toml`` with capacity and word of mouth, in a
  fresh process: wall time and peak RSS after the first run (goal: under 60 s and 2 GB).

Usage::

    python benchmarks/bench_agents.py [--customers N]
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from pathlib import Path

import simpy

sys.path.insert(0, str(Path(__file__).parent))
from bench_simulate import machine, write_json

import cjsim
from cjsim.simulate.agents.simpy_adapter import events_scheduled

RESULTS = Path(__file__).parent / "results" / "bench_agents.json"
DENTIST = Path(cjsim.__file__).parent / "models" / "dentist.toml"


def bare_simpy(processes: int = 1000, steps: int = 1000) -> float:
    """Events per second of processes that do nothing but wait (best of three)."""
    return max(_bare_simpy(processes, steps) for _ in range(3))


def _bare_simpy(processes: int, steps: int) -> float:
    env = simpy.Environment()

    def proc(env: simpy.Environment, d: float):
        for _ in range(steps):
            yield env.timeout(d)

    for i in range(processes):
        env.process(proc(env, 1.0 + i / processes))
    t0 = time.perf_counter()
    env.run()
    return events_scheduled(env) / (time.perf_counter() - t0)  # simpy numbers every event


def bare_journeys(customers: int) -> dict[str, float]:
    """A bare simpy model of the same customers: dentist's stages and base hazards (per
    segment), one process per customer waiting exponential times, and nothing else (no
    channels, adstock, capacity, contacts or log); the cheapest draws Python has (the
    standard library's generator, a bisection for the next stage). What simpy alone costs
    for the journeys."""
    import bisect
    import random

    import numpy as np

    from cjsim.model import load_model
    from cjsim.model.compiled import compile_model

    model = load_model(DENTIST).with_overrides(horizon_days=90)
    cm = compile_model(model)
    rng = np.random.default_rng(1)
    seg = rng.choice(len(cm.segments), customers, p=cm.segment_shares).tolist()
    stage = rng.choice(cm.n_stages, customers, p=cm.initial).tolist()
    stay = np.einsum("gss->gs", cm.base)
    rate = (-np.log(np.clip(stay, 1e-300, 1.0)) / model.step_days).tolist()  # leaving, per day
    # per (segment, stage): the cumulative probabilities of the next stage, given a move
    cum = []
    for g in range(len(cm.segments)):
        rows = []
        for s in range(cm.n_stages):
            row = cm.base[g, s].copy()
            row[s] = 0.0
            total = row.sum()
            rows.append(list(np.cumsum(row / total)) if total > 0 else [])
        cum.append(rows)
    horizon = model.horizon_days
    draw = random.Random(1).random
    env = simpy.Environment()
    moves = [0]

    def person(s: int, g: int):
        while rate[g][s] > 0:
            wait = -math.log(1.0 - draw()) / rate[g][s]
            if env.now + wait >= horizon:
                return
            yield env.timeout(wait)
            row = cum[g][s]
            s = min(bisect.bisect_right(row, draw()), len(row) - 1)
            moves[0] += 1

    for i in range(customers):
        env.process(person(stage[i], seg[i]))
    t0 = time.perf_counter()
    env.run(until=horizon)
    wall = time.perf_counter() - t0
    return {"seconds": wall, "events": events_scheduled(env), "moves": moves[0]}


CHILD = """
import resource, sys, time
from cjsim.model.compiled import compile_model
from cjsim.model import load_model
from cjsim.simulate.agents import simulate_agents
from cjsim.simulate.agents.simpy_adapter import events_pending
from cjsim.simulate.agents.world import World as _World
model = load_model(sys.argv[1]).with_overrides(horizon_days=90)
walls = []
for _ in range(3):  # the best of three, as for the bare loops (the machine is shared)
    t0 = time.perf_counter()
    summary, stats = simulate_agents(model, int(sys.argv[2]), rng=1)
    walls.append(time.perf_counter() - t0)
    if len(walls) == 1:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
wall = min(walls)
# the same run again, untimed: the most events simpy held at once (seen at day ends)
world = _World(compile_model(model), int(sys.argv[2]), 1)
pending = []
world.run(progress=lambda day: pending.append(events_pending(world.env)))
print(wall, stats.simpy_events, summary.events, summary.conversions, rss,
      stats.word_of_mouth_touches, stats.resources.iloc[0]["utilisation"], max(pending))
"""


def engine_run(customers: int) -> dict[str, float]:
    res = subprocess.run(
        [sys.executable, "-c", CHILD, str(DENTIST), str(customers)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if res.returncode:
        raise RuntimeError(res.stderr[-2000:])
    wall, simpy_events, events, conv, rss, wom, util, pending = res.stdout.split()
    return {
        "customers": customers, "days": 90, "seconds": float(wall),
        "simpy_events": int(simpy_events), "logged_events": int(events),
        "conversions": int(conv), "peak_rss_mb": int(rss) / 1024,
        "word_of_mouth_touches": int(wom), "chair_utilisation": float(util),
        "most_pending_simpy_events": int(pending),
        "simpy_events_per_second": int(simpy_events) / float(wall),
        "logged_events_per_second": int(events) / float(wall),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=100_000)
    args = ap.parse_args()
    bare = bare_simpy()
    print(f"bare simpy loop, 1,000 processes x 1,000 timeouts: {bare:,.0f} events/s")
    sizes = sorted({10_000, args.customers})
    runs = {n: engine_run(n) for n in sizes}
    for n, run in runs.items():
        heap = run["most_pending_simpy_events"]
        same_heap = bare_simpy(max(heap, 1), max(10, 1_000_000 // max(heap, 1)))
        rate = run["logged_events_per_second"]
        run["bare_same_heap_events_per_second"] = same_heap
        run["of_bare_same_heap"] = rate / same_heap
        run["of_bare_1000_processes"] = rate / bare
        print(
            f"dentist, {n:,} customers x 90 days (capacity, word of mouth): "
            f"{run['seconds']:.2f} s, peak RSS {run['peak_rss_mb']:,.0f} MB\n"
            f"  {run['logged_events']:,} journey events, {rate:,.0f}/s = "
            f"{run['of_bare_same_heap']:.0%} of a bare loop as large as the run's event heap "
            f"({heap:,} processes: {same_heap:,.0f}/s; goal 50%), "
            f"{run['of_bare_1000_processes']:.0%} of the 1,000-process loop\n"
            f"  {run['simpy_events']:,} simpy events ({run['simpy_events_per_second']:,.0f}/s)"
            f"; {run['conversions']:,} conversions, {run['word_of_mouth_touches']:,} "
            f"referral touches, chairs {run['chair_utilisation']:.0%} busy"
        )
    journeys = {}
    for n in sizes:
        j = journeys[n] = bare_journeys(n)
        rate = j["events"] / j["seconds"]
        print(
            f"bare simpy model of the same {n:,} journeys (base hazards only, no channels, "
            f"capacity, contacts or log): {j['seconds']:.2f} s, {j['events']:,} simpy events "
            f"= {rate:,.0f}/s ({rate / bare:.0%} of the 1,000-process loop), "
            f"{j['moves']:,} moves; the whole cjsim model takes "
            f"{runs[n]['seconds'] / j['seconds']:.1f}x that"
        )
    run = runs[args.customers]
    write_json(
        RESULTS,
        {"machine": machine(), "bare_simpy_events_per_second": bare,
         "bare_journeys": {str(n): j for n, j in journeys.items()},
         "runs": {str(n): r for n, r in runs.items()}, **run},
    )  # fmt: skip
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
