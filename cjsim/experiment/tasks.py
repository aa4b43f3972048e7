"""One task of an experiment: a replication of a scenario, or its ground truth.

A task is a plain function of (model, customers, seed, engine, methods, truth), so it runs
the same in this process, a local process pool or on a Dask worker; the runner
(:mod:`cjsim.experiment.runner`) decides where.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cjsim.model import JourneyModel

#: The replication number of a scenario's ground-truth task.
TRUTH = -1
#: Spawn key of the ground truth's random stream (replications use 0, 1, 2, ...).
TRUTH_STREAM = 2**31


def task_metrics(
    model: JourneyModel,
    customers: int,
    seed: np.random.SeedSequence,
    engine: str,
    channel_spend: bool = False,
) -> dict[str, float]:
    """Simulate one replication of one scenario and measure it (no event log kept);
    ``channel_spend`` adds each channel's spend as ``spend:CHANNEL``."""
    from cjsim.simulate.run import simulate

    summary = simulate(model, customers, engine=engine, rng=seed).summary
    metrics = _metrics(summary)
    if channel_spend:
        metrics.update({f"spend:{c}": float(x) for c, x in zip(summary.channels, summary.spend,
                                                                 strict=True)})  # fmt: skip
    return metrics


def _metrics(summary: Any) -> dict[str, float]:
    spend = float(summary.spend.sum())
    conv = int(summary.conversions)
    return {
        "conversions": conv,
        "converters": int(summary.converters),
        "revenue": float(summary.revenue),
        "spend": spend,
        "cpa": spend / conv if conv else float("nan"),
        "roas": float(summary.revenue) / spend if spend else float("nan"),
    }


def run_task(
    model: JourneyModel,
    customers: int,
    seed: np.random.SeedSequence,
    engine: str,
    methods: tuple[str, ...] = (),
    truth: bool = False,
) -> dict[str, Any]:
    """One task: a replication (metrics, and credits when ``methods``) or a ground truth."""
    if truth:
        from cjsim.simulate.truth import ground_truth

        gt = ground_truth(
            model, customers, rng=int(seed.generate_state(1)[0]), marginal_roas=False,
            workers=1, engine=engine,
        )  # fmt: skip
        table = gt.to_frame()
        return {
            "truth": {str(k): float(v) for k, v in gt.shares("shapley").items()},
            "truth_se": {str(k): float(v) for k, v in gt.share_se("shapley").items()},
            "incremental": {
                str(r["channel"]): float(r["incremental_conversions"])
                for r in table.to_dict("records")
            },
        }
    if not methods:
        return task_metrics(model, customers, seed, engine)
    from cjsim.evaluate import attribute_log, simulate_log

    events, summary = simulate_log(model, customers, seed, engine)
    # a child stream named by key, not by spawn(): spawning would change ``seed``
    child = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 1))
    credit = attribute_log(events, methods, np.random.default_rng(child))
    return {
        **_metrics(summary),
        "credit": [
            [str(m), str(c), float(v)]
            for m, c, v in credit[["method", "channel", "conversions"]].itertuples(index=False)
        ],
    }
