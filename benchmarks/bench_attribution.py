"""Speed of exact attribution, side by side with ChannelAttribution (a script, not a test).

The data: journeys from a random order-1 chain over K = 12 channels (each channel's next
step is drawn from a Dirichlet row; conversion and null exits make paths of ~4 touches),
1,000,000 journeys aggregated into ~100,000 distinct paths, written as a
ChannelAttribution-format CSV. In one run:

* exact Markov, orders 1, 2, 3, fitted from the loaded table, vs ChannelAttribution's
  ``markov_model`` (simulation) on the same file and order; the largest difference of
  their removal effects (ChannelAttribution's simulation error). Target: at most half of
  ChannelAttribution's time at each order;
* exact Shapley (zeta transform over all 2^K coalitions) for K = 12 and K = 20.
  Targets: under 0.5 s and under 10 s;
* 95% bootstrap intervals, 200 resamples, Markov order 1 on the 1M-journey table.
  Target: under 30 s;
* 10M journeys as a Parquet event log (~40M rows) -> path table with DuckDB in a fresh
  process: time and peak RSS. Target: under 60 s and 2 GB.

Usage::

    pip install ".[bench]"                      # ChannelAttribution for the side-by-side
    python benchmarks/bench_attribution.py      # full size
    python benchmarks/bench_attribution.py --quick

Figures are printed and written to ``benchmarks/results/bench_attribution.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from bench_simulate import machine, write_json

from cjsim.attribution import MarkovAttribution, attribute
from cjsim.attribution.shapley import coalition_values, shapley_from_game
from cjsim.paths import PathTable, aggregate_paths, read_path_table

RESULTS = Path(__file__).parent / "results" / "bench_attribution.json"
#: Probability that a journey ends after each touch (mean path length about 1 / EXIT).
EXIT = 0.36
#: The same for the event log: about 4 rows per journey.
LOG_EXIT = 0.27


def random_chain(K: int, seed: int, exit: float = EXIT) -> tuple[np.ndarray, np.ndarray]:
    """Start distribution (K,) and transition rows (K, K + 2): channels, conversion, null."""
    rng = np.random.default_rng(seed)
    start = rng.dirichlet(np.full(K, 1.0))
    rows = rng.dirichlet(np.full(K, 0.6), size=K) * (1 - exit)
    exits = np.c_[rng.uniform(0.01, 0.08, K), np.zeros(K)]
    exits[:, 1] = exit - exits[:, 0]
    return start, np.c_[rows, exits]


def walk(start: np.ndarray, T: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, ...]:
    """n journeys from the chain: lengths, codes (CSR), converted flags."""
    rng = np.random.default_rng(seed)
    K = len(start)
    state = np.searchsorted(np.cumsum(start), rng.random(n) * np.cumsum(start)[-1])
    state = np.minimum(state, K - 1)
    cum = np.cumsum(T, axis=1)
    steps, ids = [state.copy()], [np.arange(n)]
    alive, outcome = np.arange(n), np.full(n, -1)
    cur = state
    while len(alive):
        u = rng.random(len(alive)) * cum[cur, -1]
        nxt = (u[:, None] > cum[cur]).sum(axis=1)
        done = nxt >= K
        outcome[alive[done]] = nxt[done] - K
        alive, cur = alive[~done], nxt[~done]
        steps.append(cur)
        ids.append(alive)
    jid, code = np.concatenate(ids), np.concatenate(steps)
    order = np.argsort(jid, kind="stable")
    lengths = np.bincount(jid, minlength=n)
    return lengths, code[order], outcome == 0


def path_table(K: int, journeys: int, seed: int) -> PathTable:
    start, T = random_chain(K, seed)
    lengths, codes, conv = walk(start, T, journeys, seed + 1)
    value = np.where(conv, np.random.default_rng(seed + 2).gamma(2.0, 50.0, journeys), 0.0)
    names = [f"ch{i:02d}" for i in range(K)]
    return aggregate_paths(names, lengths, codes.astype(np.int32), conv * 1.0, ~conv * 1.0, value)


def timed(fn, repeat: int = 1):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _gap(result: dict, exact: pd.Series) -> float:
    """Largest absolute difference of ChannelAttribution's removal effects from the exact."""
    re = result["removal_effects"].set_index("channel_name")["removal_effects_conversion"]
    return float((re.reindex(exact.index) - exact).abs().max())


def bench_markov(csv: Path, orders: tuple[int, ...]) -> list[dict[str, object]]:
    t_load, table = timed(lambda: read_path_table(csv))
    frame = pd.read_csv(csv)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import ChannelAttribution as ca
    except ImportError:
        ca = None
    rows = []
    for k in orders:
        t_ours, ours = timed(lambda k=k: MarkovAttribution(order=k).fit(table), repeat=2)
        row: dict[str, object] = {
            "order": k, "states": len(ours.states_), "cjsim_fit_s": t_ours,
            "cjsim_load_s": t_load,
        }  # fmt: skip
        if ca is not None:
            with contextlib.redirect_stdout(io.StringIO()):
                t_ca, res = timed(
                    lambda k=k: ca.markov_model(
                        frame, "path", "total_conversions", var_value="total_conversion_value",
                        var_null="total_null", order=k, out_more=True, verbose=False,
                        flg_pro=False,
                    )
                )  # fmt: skip
            re_ours = pd.Series(ours.removal_effects_, index=list(ours.channels_))

            # ChannelAttribution's default step cap counts long walks as lost; uncapped, its
            # simulation should approach the exact values
            with contextlib.redirect_stdout(io.StringIO()):
                t_uncapped, uncapped = timed(
                    lambda k=k: ca.markov_model(
                        frame, "path", "total_conversions", var_value="total_conversion_value",
                        var_null="total_null", order=k, out_more=True, verbose=False,
                        flg_pro=False, max_step=10_000,
                    )
                )  # fmt: skip
            row.update(
                channelattribution_s=t_ca,
                ratio=t_ours / t_ca,
                max_abs_re_difference=_gap(res, re_ours),
                uncapped_channelattribution_s=t_uncapped,
                uncapped_max_abs_re_difference=_gap(uncapped, re_ours),
            )
        rows.append(row)
    return rows


def bench_shapley(K: int, journeys: int) -> dict[str, float]:
    table = path_table(K, journeys, seed=100 + K)
    t, _ = timed(lambda: shapley_from_game(coalition_values(table)), repeat=2)
    t_rate, _ = timed(lambda: shapley_from_game(coalition_values(table, rate=True)), repeat=2)
    return {"K": K, "paths": table.n_paths, "exact_s": t, "rate_game_s": t_rate}


def bench_bootstrap(table: PathTable, resamples: int) -> dict[str, float]:
    t, res = timed(lambda: attribute(table, ["markov"], ci=0.95, n_resamples=resamples, rng=1))
    widths = (res.table["ci_high"] - res.table["ci_low"]).to_numpy()
    return {"resamples": resamples, "seconds": t, "mean_ci_width": float(widths.mean())}


def write_event_log(path: Path, journeys: int, K: int, chunk: int = 1_000_000) -> int:
    """A Parquet event log of ``journeys`` customers: touches a day apart, then conversion."""
    start, T = random_chain(K, 7, LOG_EXIT)
    names = pa.array([f"ch{i:02d}" for i in range(K)] + [""])
    writer, rows = None, 0
    for c in range(0, journeys, chunk):
        n = min(chunk, journeys - c)
        lengths, codes, conv = walk(start, T, n, 1000 + c)
        cust = np.repeat(np.arange(c, c + n), lengths)
        pos = np.arange(len(codes)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        conv_ids = np.flatnonzero(conv)
        cid = np.concatenate([cust, conv_ids + c])
        time_ = np.concatenate([pos.astype(np.float64), lengths[conv_ids].astype(np.float64)])
        ev = np.concatenate([np.zeros(len(codes), np.int8), np.ones(len(conv_ids), np.int8)])
        ch = np.concatenate([codes, np.full(len(conv_ids), K)])
        val = np.concatenate([np.zeros(len(codes)), np.full(len(conv_ids), 80.0)])
        order = np.lexsort((time_, cid))
        tbl = pa.table(
            {
                "customer_id": pa.array(cid[order]),
                "time": pa.array(time_[order]),
                "event": pa.DictionaryArray.from_arrays(
                    pa.array(ev[order]), pa.array(["touch", "conversion"])
                ),
                "channel": pa.DictionaryArray.from_arrays(
                    pa.array(ch[order].astype(np.int32)), names
                ),
                "value": pa.array(val[order]),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, tbl.schema, compression="zstd")
        writer.write_table(tbl)
        rows += len(tbl)
    assert writer is not None
    writer.close()
    return rows


DUCKDB_CHILD = """
import resource, sys, time
from cjsim.paths_duckdb import paths_from_event_file
t0 = time.perf_counter()
table, stats = paths_from_event_file(sys.argv[1], memory_limit=sys.argv[2])
wall = time.perf_counter() - t0
print(wall, table.n_paths, stats.journeys, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_duckdb(journeys: int, K: int, memory_limit: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "events.parquet"
        t_write, rows = timed(lambda: write_event_log(log, journeys, K))
        size = log.stat().st_size
        res = subprocess.run(
            [sys.executable, "-c", DUCKDB_CHILD, str(log), memory_limit],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if res.returncode:
            raise RuntimeError(f"DuckDB aggregation failed:\n{res.stderr[-2000:]}")
        wall, paths, found, rss_kb = res.stdout.split()
    return {
        "journeys": journeys, "rows": rows, "parquet_mb": size / 2**20,
        "generate_s": t_write, "seconds": float(wall), "paths": int(paths),
        "journeys_found": int(found), "peak_rss_mb": int(rss_kb) / 1024,
        "memory_limit": memory_limit,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1/10 of every size")
    ap.add_argument("--skip-duckdb", action="store_true")
    ap.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit")
    args = ap.parse_args()
    scale = 10 if args.quick else 1
    journeys = 1_000_000 // scale
    out: dict[str, object] = {"machine": machine(), "quick": args.quick}

    table = path_table(12, journeys, seed=1)
    tot = table.totals()
    print(f"K = 12: {journeys:,} journeys -> {table.n_paths:,} distinct paths, "
          f"{tot['conversions']:,.0f} conversions")  # fmt: skip
    out["table"] = {"journeys": journeys, "paths": table.n_paths, **tot}
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "paths.csv"
        table.write_csv(csv)
        rows = bench_markov(csv, (1, 2, 3))
    out["markov"] = rows
    print("\nMarkov (exact, cjsim) vs ChannelAttribution markov_model (simulated)")
    print(f"{'order':>5} {'states':>7} {'cjsim s':>8} {'CA s':>8} {'ratio':>6} {'max |dRE|':>10}"
          f" {'CA uncapped s':>14} {'max |dRE|':>10}")  # fmt: skip
    nan = float("nan")
    for r in rows:
        print(f"{r['order']:>5} {r['states']:>7} {r['cjsim_fit_s']:>8.3f} "
              f"{r.get('channelattribution_s', nan):>8.3f} {r.get('ratio', nan):>6.3f} "
              f"{r.get('max_abs_re_difference', nan):>10.4f} "
              f"{r.get('uncapped_channelattribution_s', nan):>14.3f} "
              f"{r.get('uncapped_max_abs_re_difference', nan):>10.4f}")  # fmt: skip
    print(f"(loading the path table: {rows[0]['cjsim_load_s']:.2f} s)")

    shap = [bench_shapley(12, journeys), bench_shapley(20, journeys)]
    out["shapley"] = shap
    print("\nExact Shapley (zeta transform over 2^K coalitions)")
    for s in shap:
        print(f"K = {s['K']:>2}: {s['paths']:,} paths, conversions game {s['exact_s']:.3f} s, "
              f"rate game {s['rate_game_s']:.3f} s")  # fmt: skip

    boot = bench_bootstrap(table, 200)
    out["bootstrap"] = boot
    print(f"\nBootstrap, Markov order 1, {boot['resamples']} resamples: {boot['seconds']:.2f} s")

    if not args.skip_duckdb:
        duck = bench_duckdb(10_000_000 // scale, 12, args.memory_limit)
        out["duckdb"] = duck
        print(f"\nDuckDB: {duck['journeys']:,} journeys, {duck['rows']:,} rows "
              f"({duck['parquet_mb']:.0f} MB Parquet) -> {duck['paths']:,} paths in "
              f"{duck['seconds']:.1f} s, peak RSS {duck['peak_rss_mb']:.0f} MB")  # fmt: skip
    write_json(RESULTS, out)
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
