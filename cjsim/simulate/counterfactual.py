r"""Counterfactual runs: the same customers under other plans, and the errors of their sums.

A *scenario* switches channels off and scales budgets. Every scenario's run simulates the
same customers from the same seed, so the draws of everything a scenario does not touch
are the same (common random numbers, CRN) and the difference of two runs carries little
noise. A run's outcome is summed per block of :data:`~cjsim.simulate.markov.BLOCK`
customers (each block has a random stream of its own): conversions, value and each
channel's spend, measured as the delivered touches times their cost.

A paired difference is summed over blocks and its standard error is
:math:`\sqrt{N \hat\sigma^2}` with the per-customer variance
:math:`\hat\sigma^2 = \sum_b (d_b - n_b \bar d)^2 / n_b / (B - 1)` (``n_b`` customers in
block b; for equal blocks this is :math:`\sqrt{B\,\mathrm{Var}(d_b)}`, and a short last
block gets its due weight). The standard error two *independent* runs would have is
reported beside it: their ratio is what CRN buys. Ratios (ROAS, shares) get the standard
error of a ratio estimator, from the same per-block residuals.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import numpy as np

from cjsim._pool import pool_map
from cjsim.events import CONVERSION, TOUCH
from cjsim.model import JourneyModel
from cjsim.model.compiled import compile_model
from cjsim.simulate.markov import BLOCK
from cjsim.simulate.run import event_arrays

#: A scenario: the channels switched off, and budget multipliers (channel, factor).
Scenario = tuple[frozenset[str], tuple[tuple[str, float], ...]]

#: The run with every channel on as planned.
ALL_ON: Scenario = (frozenset(), ())


def only(players: Iterable[str], coalition: Iterable[str]) -> Scenario:
    """The scenario in which, of ``players``, only the ``coalition`` is on."""
    return (frozenset(players) - frozenset(coalition), ())


def outcome(
    model: JourneyModel,
    customers: int,
    entropy: int,
    scenario: Scenario,
    multi: bool,
    engine: str = "markov",
) -> np.ndarray:
    """Per block of customers: conversions, value and each channel's spend, shape (B, 2 + C)."""
    off, budgets = scenario
    scaled = {c: (model.channels[c].daily_budget or 0.0) * f for c, f in budgets}
    world = model.with_overrides(channels_off=sorted(off), budgets=scaled)
    cm = compile_model(world)
    cost = cm.touch_cost
    C = cost.size
    n_blocks = -(-customers // BLOCK)
    out = np.zeros((n_blocks, 2 + C))
    for arrays in event_arrays(world, customers, engine=engine, rng=entropy):
        touch = arrays["event"] == TOUCH
        tb = arrays["customer_id"][touch].astype(np.int64) // BLOCK
        tc = arrays["channel"][touch].astype(np.int64)
        if cm.step_exposure:  # flighted: a touch costs what it costs in its step
            table = arrays.get("step_touch_cost", cm.step_touch_cost)  # a geo's own (geos)
            w = table[tc, cm.step_of(arrays["time"][touch])]
            spent = np.bincount(tb * C + tc, weights=w, minlength=n_blocks * C)
            out[:, 2:] += spent.reshape(n_blocks, C)
        else:
            counts = np.bincount(tb * C + tc, minlength=n_blocks * C).reshape(n_blocks, C)
            out[:, 2:] += counts * arrays.get("touch_cost", cost)  # a geo's own (geos)
        conv = arrays["event"] == CONVERSION
        cid = arrays["customer_id"][conv].astype(np.int64)
        val = arrays["value"][conv].astype(np.float64)
        if not multi:
            # rows are by customer and time: keep each customer's first conversion
            first = np.r_[True, cid[1:] != cid[:-1]] if cid.size else np.zeros(0, bool)
            cid, val = cid[first], val[first]
        block = cid // BLOCK
        out[:, 0] += np.bincount(block, minlength=n_blocks)
        out[:, 1] += np.bincount(block, val, minlength=n_blocks)
    return out


def run_scenarios(
    model: JourneyModel,
    customers: int,
    entropy: int,
    scenarios: Sequence[Scenario],
    multi: bool,
    workers: int,
    engine: str = "markov",
) -> dict[Scenario, np.ndarray]:
    """The :func:`outcome` of every distinct scenario, on ``workers`` processes."""
    todo = list(dict.fromkeys(scenarios))
    if workers <= 1 or len(todo) <= 1:
        results = [outcome(model, customers, entropy, s, multi, engine) for s in todo]
    else:
        results = pool_map(
            outcome,
            itertools.repeat(model),
            itertools.repeat(customers),
            itertools.repeat(entropy),
            todo,
            itertools.repeat(multi),
            itertools.repeat(engine),
            workers=workers,
        )
    return dict(zip(todo, results, strict=True))


def block_sizes(customers: int) -> np.ndarray:
    """Customers per block of :data:`~cjsim.simulate.markov.BLOCK` (the last may be short)."""
    sizes = np.full(-(-customers // BLOCK), BLOCK, np.float64)
    sizes[-1] = customers - BLOCK * (sizes.size - 1)
    return sizes


def total_se(d: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Standard error of the sum over blocks of ``d`` (rows: blocks), blocks of ``sizes``
    customers: :math:`\\sqrt{N \\hat\\sigma^2}` with the per-customer variance."""
    B = len(d)
    if B < 2:
        return np.full(d.shape[1:], np.nan)
    w = sizes.reshape((B,) + (1,) * (d.ndim - 1))
    mean = d.sum(axis=0) / sizes.sum()
    sigma2 = ((d - w * mean) ** 2 / w).sum(axis=0) / (B - 1)
    return np.sqrt(sigma2 * sizes.sum())


def ratio(num: np.ndarray, den: np.ndarray, sizes: np.ndarray) -> tuple[float, float]:
    """Ratio of two block sums and its standard error (a ratio estimator: the residuals
    ``num_b - r den_b`` carry the noise of both)."""
    total = float(den.sum())
    if total == 0:
        return float("nan"), float("nan")
    r = float(num.sum()) / total
    return r, float(total_se((num - r * den)[:, None], sizes)[0]) / abs(total)


def paired(
    a: np.ndarray, b: np.ndarray, sizes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum of a - b over blocks, its CRN standard error, and the independent-runs one."""
    diff = (a - b).sum(axis=0)
    se = total_se(a - b, sizes)
    indep = np.sqrt(total_se(a, sizes) ** 2 + total_se(b, sizes) ** 2)
    return diff, se, indep
