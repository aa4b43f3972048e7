"""Bootstrap intervals: the fast paths agree with refitting, and the spread is right.

Markov's fast path solves every resample's chains together by an iterative method with an
error bound (``cjsim.attribution.batched_chains``); its reference here is the
straightforward bootstrap, an exact refit (direct solves) per resample.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from cjsim.attribution import (
    FirstTouch,
    Linear,
    MarkovAttribution,
    SampledShapley,
    ShapleyAttribution,
    attribute,
    batched_chains,
    markov_chain,
)
from cjsim.attribution.bootstrap import bootstrap, percentile_interval, resample_counts
from cjsim.errors import OptionError
from cjsim.paths import aggregate_paths
from tests.helpers.tables import random_table, table


def refit(method, paths, resamples, value=False):
    """The straightforward bootstrap: fit a fresh copy on every resample."""
    conv, nulls, values = resamples
    out = []
    for b in range(conv.shape[1]):
        m = copy.deepcopy(method).fit(paths.with_counts(conv[:, b], nulls[:, b], values[:, b]))
        out.append(m.value_ if value else m.conversions_)
    return np.array(out).T


@pytest.mark.parametrize(
    "method",
    [FirstTouch(), Linear(), ShapleyAttribution(), MarkovAttribution(order=2),
     SampledShapley(n_permutations=50, rng=3), ShapleyAttribution(game="rate")],
    ids=lambda m: type(m).__name__,
)  # fmt: skip
def test_fast_bootstrap_equals_refitting(method):
    t = random_table(K=4, P=60, seed=1)
    resamples = resample_counts(t, 12, rng=5)
    fast, _ = bootstrap(method, t, resamples=resamples)
    np.testing.assert_allclose(fast, refit(method, t, resamples), rtol=1e-9, atol=1e-12)


def test_poisson_spread_of_a_count():
    """First-touch credit of a channel is a sum of Poisson counts: sd = sqrt(mean)."""
    t = table([("a > b", 400, 100, 0), ("b", 300, 50, 0), ("a", 100, 0, 0)])
    draws, _ = bootstrap(FirstTouch(), t, n_resamples=4000, rng=2)
    assert draws[0].std() == pytest.approx(np.sqrt(500), rel=0.06)
    low, high = percentile_interval(draws, 0.95)
    assert low[0] < 500 < high[0]
    assert high[0] - low[0] == pytest.approx(2 * 1.96 * np.sqrt(500), rel=0.1)


def test_multinomial_keeps_the_number_of_journeys():
    t = random_table(seed=4)
    conv, nulls, value = resample_counts(t, 20, scheme="multinomial", rng=1)
    journeys = t.conversions.sum() + t.nulls.sum()
    np.testing.assert_allclose(conv.sum(axis=0) + nulls.sum(axis=0), journeys)
    # value per conversion of each path is kept
    has = t.conversions > 0
    per = t.value[has] / t.conversions[has]
    np.testing.assert_allclose(value[has], conv[has] * per[:, None])


def test_attribute_intervals_bracket_the_estimates():
    t = random_table(K=5, P=400, seed=7)
    res = attribute(t, ["first", "linear", "markov", "shapley"], ci=0.9, n_resamples=200, rng=1)
    f = res.to_frame()
    inside = (f.ci_low <= f.conversions + 1e-9) & (f.conversions <= f.ci_high + 1e-9)
    assert inside.mean() > 0.9
    assert (f.value_ci_low <= f.value_ci_high).all()
    # same seed, same intervals
    again = attribute(t, ["first", "linear", "markov", "shapley"], ci=0.9, n_resamples=200, rng=1)
    np.testing.assert_array_equal(f.ci_low, again.to_frame().ci_low)


def test_bad_bootstrap_options():
    t = random_table(seed=0)
    with pytest.raises(OptionError, match="scheme"):
        resample_counts(t, 5, scheme="jackknife")
    with pytest.raises(OptionError, match="confidence level"):
        percentile_interval(np.zeros((2, 5)), 1.5)
    with pytest.raises(OptionError, match="n_resamples"):
        bootstrap(FirstTouch(), t, n_resamples=1)


@pytest.mark.parametrize(
    ("order", "options", "scheme"),
    [(1, {}, "poisson"), (2, {}, "poisson"), (3, {}, "poisson"), (3, {}, "multinomial"),
     (2, {"self_loops": True}, "poisson"), (2, {"use_nulls": False}, "poisson")],
)  # fmt: skip
def test_markov_bootstrap_equals_direct_solves_per_resample(order, options, scheme):
    t = random_table(K=5, P=300, seed=11)
    method = MarkovAttribution(order, **options).fit(t)
    resamples = resample_counts(t, 30, scheme=scheme, rng=3)
    conv, value = bootstrap(method, t, resamples=resamples)
    ref_conv, ref_value = refit(method, t, resamples), refit(method, t, resamples, value=True)
    np.testing.assert_allclose(conv, ref_conv, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(value, ref_value, rtol=1e-8, atol=1e-9)
    for got, ref in zip(percentile_interval(conv, 0.95), percentile_interval(ref_conv, 0.95),
                        strict=True):  # fmt: skip
        np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-9)


def test_markov_bootstrap_without_a_fit_chunked_or_all_direct(monkeypatch):
    """A cold start (no fit to warm-start from), one resample per chunk, and a solver that
    gives up at once (every chain solved directly) all give the reference numbers."""
    t = random_table(K=4, P=200, seed=6)
    resamples = resample_counts(t, 12, rng=2)
    ref = refit(MarkovAttribution(order=2), t, resamples)
    cold, _ = MarkovAttribution(order=2).fit_counts(t, *resamples)
    np.testing.assert_allclose(cold, ref, rtol=1e-8, atol=1e-9)
    monkeypatch.setattr(batched_chains, "CHUNK_ELEMENTS", 1)
    chunked, _ = MarkovAttribution(order=2).fit(t).fit_counts(t, *resamples)
    np.testing.assert_allclose(chunked, ref, rtol=1e-8, atol=1e-9)
    monkeypatch.setattr(batched_chains, "MAX_PASSES", 0)
    solved = []
    monkeypatch.setattr(
        markov_chain.FittedChain, "solve", _counting(markov_chain.FittedChain.solve, solved)
    )
    direct, _ = MarkovAttribution(order=2).fit(t).fit_counts(t, *resamples)
    assert len(solved) == 12 * 5  # 12 resamples x (full chain + 4 removals)
    np.testing.assert_allclose(direct, ref, rtol=1e-12, atol=1e-12)


def _counting(fn, calls):
    def wrapped(*args, **kwargs):
        calls.append(1)
        return fn(*args, **kwargs)

    return wrapped


def test_batched_error_bound_holds_for_a_rough_solution(monkeypatch):
    """|p - p~| <= ||e_0 - A^T x~||_1 for any approximate visits x~ (h = A^-1 r in [0, 1]):
    stop BiCGSTAB after one iteration and compare with direct solves."""
    t = random_table(K=4, P=200, seed=12)
    m = MarkovAttribution(order=2).fit(t)
    conv, nulls, _ = resample_counts(t, 6, rng=4)
    w = m._walks
    weights = m._batched_edge_weights(w, conv, nulls)
    total = np.zeros((w.n_states + 1, 6))
    np.add.at(total, w.edge_from, weights)
    prob = weights / total[w.edge_from]
    keep = m._variants()
    monkeypatch.setattr(batched_chains, "MAX_ITER", 1)
    monkeypatch.setattr(batched_chains, "MAX_PASSES", 1)
    inner = w.edge_to <= w.n_states
    batch = batched_chains._Batch(w.edge_from[inner], w.edge_to[inner], prob[inner], keep)
    r = np.zeros((w.n_states + 1, 6))
    np.add.at(r, w.edge_from[w.edge_to == w.n_states + 1], prob[w.edge_to == w.n_states + 1])
    x, _ = batch.solve(r.T, None, 1e-10)
    bound = np.abs(batch.residual(x)).sum(axis=1)  # (B, V)
    p_rough = np.einsum("bnv,bn->bv", x, r.T)
    for b in range(6):
        chain = markov_chain.FittedChain(
            w.edge_from, w.edge_to, prob[:, b], w.n_states, np.zeros(len(r))
        )
        for v in range(keep.shape[1]):
            err = abs(chain.solve(keep[:, v])[0] - p_rough[b, v])
            assert err <= bound[b, v] + 1e-15
    assert bound.max() > 1e-6  # the solution was rough: the bound was put to work


def test_poisson_resamples_are_the_plain_draws():
    """Skipping paths with no journeys of a kind keeps the generator's stream (a zero
    mean draws nothing): the same numbers as Poisson draws of the repeated means."""
    t = random_table(K=4, P=200, seed=3)
    assert (t.conversions == 0).any()
    conv, nulls, _ = resample_counts(t, 30, rng=5)
    rng = np.random.default_rng(5)
    np.testing.assert_array_equal(conv, rng.poisson(np.repeat(t.conversions[:, None], 30, 1)))
    np.testing.assert_array_equal(nulls, rng.poisson(np.repeat(t.nulls[:, None], 30, 1)))


def test_markov_bootstrap_is_reproducible_at_order_3():
    t = random_table(K=5, P=300, seed=4)
    a = attribute(t, ["markov"], order=3, ci=0.95, n_resamples=40, rng=9).to_frame()
    b = attribute(t, ["markov"], order=3, ci=0.95, n_resamples=40, rng=9).to_frame()
    np.testing.assert_array_equal(a[["ci_low", "ci_high"]], b[["ci_low", "ci_high"]])
    inside = (a.ci_low <= a.conversions + 1e-9) & (a.conversions <= a.ci_high + 1e-9)
    assert inside.all()


# A known order-1 chain over a, b, c without self-transitions (so merging repeated states
# changes nothing): start distribution and rows to a, b, c, conversion, null.
START = np.array([0.5, 0.3, 0.2])
STEP = np.array([[0, 0.35, 0.15, 0.05, 0.45], [0.2, 0, 0.3, 0.1, 0.4],
                 [0.25, 0.25, 0, 0.2, 0.3]])  # fmt: skip


def _true_shares() -> np.ndarray:
    """Each channel's share of conversions, RE / sum RE, of the chain itself."""
    Q, r = STEP[:, :3], STEP[:, 3]

    def p(keep):
        idx = np.flatnonzero(keep)
        return START[idx] @ np.linalg.solve(np.eye(len(idx)) - Q[np.ix_(idx, idx)], r[idx])

    re = np.array([1 - p(np.arange(3) != c) / p(np.ones(3, bool)) for c in range(3)])
    return re / re.sum()


def _journeys(n: int, rng: np.random.Generator):
    cur = rng.choice(3, n, p=START)
    cum = np.cumsum(STEP, axis=1)
    steps, ids, alive, converted = [cur], [np.arange(n)], np.arange(n), np.zeros(n, bool)
    while len(alive):
        nxt = (rng.random(len(alive))[:, None] > cum[cur]).sum(axis=1)
        done = nxt >= 3
        converted[alive[done]] = nxt[done] == 3
        alive, cur = alive[~done], nxt[~done]
        steps.append(cur)
        ids.append(alive)
    jid = np.concatenate(ids)
    order = np.argsort(jid, kind="stable")
    codes = np.concatenate(steps)[order].astype(np.int32)
    conv = converted * 1.0
    return aggregate_paths(["a", "b", "c"], np.bincount(jid, minlength=n), codes, conv, 1 - conv,
                           conv * 10)  # fmt: skip


def test_markov_intervals_cover_the_chains_shares():
    """150 data sets of 1,500 journeys from a known chain: the 90% intervals of each
    channel's share of conversions hold the chain's own share about 90% of the time."""
    truth = _true_shares()
    rng = np.random.default_rng(0)
    hits = []
    for _ in range(150):
        t = _journeys(1500, rng)
        resamples = resample_counts(t, 100, rng=rng)
        conv, _ = bootstrap(MarkovAttribution().fit(t), t, resamples=resamples)
        low, high = percentile_interval(conv / resamples[0].sum(axis=0), 0.9)
        hits.append((low <= truth) & (truth <= high))
    coverage = np.mean(hits)
    assert 0.82 <= coverage <= 0.96, coverage
