"""Exact k-order Markov attribution against hand-solved chains, a dense solve written
independently here, long simulated walks, and data from a known order-2 chain."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest

from cjsim.attribution import MarkovAttribution, choose_order, markov, markov_chain
from cjsim.attribution.markov import weighted_auc
from cjsim.errors import OptionError
from tests.helpers.tables import random_table, table


def test_published_three_path_example():
    """Bryl (2016), "Marketing multi-channel attribution model with R (part 1: Markov chain
    concept)", analyzecore.com: paths c1 > c2 > c3 (conversion), c1 (null), c2 > c3 (null).

    start -> c1 2/3, start -> c2 1/3; c1 -> c2 1/2, c1 -> null 1/2; c2 -> c3 1;
    c3 -> conversion 1/2, c3 -> null 1/2.
    P = 2/3 * 1/2 * 1/2 + 1/3 * 1/2 = 1/3. Without c1: 1/3 * 1/2 = 1/6 -> RE 0.5.
    Without c2 or c3: 0 -> RE 1. One conversion shared 0.5 : 1 : 1 -> 0.2, 0.4, 0.4.
    """
    t = table([("c1 > c2 > c3", 1, 0, 0), ("c1", 0, 1, 0), ("c2 > c3", 0, 1, 0)])
    m = MarkovAttribution().fit(t)
    assert m.p_conversion_ == pytest.approx(1 / 3)
    np.testing.assert_allclose(m.removal_effects_, [0.5, 1.0, 1.0])
    np.testing.assert_allclose(m.conversions_, [0.2, 0.4, 0.4])


def test_hand_solved_chain_with_a_cycle_and_value():
    """a > b (conv, value 10), b > a (null), a (conv, value 4), b (null).

    start -> a 1/2, -> b 1/2; a -> b 1/3, a -> conv 1/3, a -> null 1/3 (from a > b, b > a
    and a); b -> conv 1/3, b -> a 1/3, b -> null 1/3.
    h_a = 1/3 + h_b/3, h_b = 1/3 + h_a/3 -> h_a = h_b = 1/2; P = 1/2.
    Without a: P = 1/2 * 1/3 = 1/6 -> RE(a) = 2/3; by symmetry RE(b) = 2/3.
    Value per conversion: from a (path 'a') 4, from b (path 'a > b') 10.
    g_a = 4/3 + g_b/3, g_b = 10/3 + g_a/3 -> g_a = 11/4, g_b = 17/4; E[value] = 7/2.
    Without a: 1/2 * 10/3 = 5/3 -> 1 - 10/21 = 11/21; without b: 1/2 * 4/3 = 2/3 -> 17/21.
    """
    t = table([("a > b", 1, 0, 10), ("b > a", 0, 1, 0), ("a", 1, 0, 4), ("b", 0, 1, 0)])
    m = MarkovAttribution().fit(t)
    assert m.p_conversion_ == pytest.approx(0.5)
    np.testing.assert_allclose(m.removal_effects_, [2 / 3, 2 / 3])
    assert m.expected_value_ == pytest.approx(3.5)
    np.testing.assert_allclose(m.value_removal_effects_, [11 / 21, 17 / 21])
    np.testing.assert_allclose(m.value_, np.array([11, 17]) / 28 * 14)


def dense_removal_effects(rows):
    """Order-1 removal effects by an independent route: dicts of counts and a dense solve."""
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for path, conv, null, _ in rows:
        chans = [c.strip() for c in path.split(">")]
        states = ["(start)"] + [c for i, c in enumerate(chans) if i == 0 or c != chans[i - 1]]
        for a, b in itertools.pairwise(states):
            counts[a][b] += conv + null
        counts[states[-1]]["(conversion)"] += conv
        counts[states[-1]]["(null)"] += null
    names = sorted({c for c in counts if c != "(start)"})
    idx = {n: i + 1 for i, n in enumerate(names)}
    idx["(start)"] = 0
    n = len(idx)

    def p_conv(removed: str | None) -> float:
        A, r = np.eye(n), np.zeros(n)
        for a, outs in counts.items():
            tot = sum(outs.values())
            for b, w in outs.items():
                if b == "(conversion)":
                    r[idx[a]] += w / tot
                elif b != "(null)" and b != removed:
                    A[idx[a], idx[b]] -= w / tot
        if removed is not None:  # the removed state is never entered: its row is moot
            A[idx[removed]] = 0
            A[idx[removed], idx[removed]] = 1
            r[idx[removed]] = 0
        return float(np.linalg.solve(A, r)[0])

    p = p_conv(None)
    return p, np.array([1 - p_conv(c) / p for c in names]), names


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_matches_an_independent_dense_solve(seed):
    rng = np.random.default_rng(seed)
    chans = ["a", "b", "c", "d"]
    rows = [
        (" > ".join(rng.choice(chans, rng.integers(1, 6))), int(rng.poisson(2)),
         int(rng.poisson(4)), 0.0)
        for _ in range(60)
    ]  # fmt: skip
    rows = [r for r in rows if r[1] + r[2] > 0]
    p, re, names = dense_removal_effects(rows)
    m = MarkovAttribution().fit(table(rows))
    assert list(m.channels_) == names
    assert m.p_conversion_ == pytest.approx(p, rel=1e-10)
    np.testing.assert_allclose(m.removal_effects_, re, rtol=1e-9, atol=1e-12)


def test_exact_matches_long_simulated_walks():
    """Walk the fitted chain 200,000 times: conversion rate and P(visit c | conversion)."""
    t = random_table(K=4, P=80, seed=5)
    m = MarkovAttribution().fit(t)
    tm = m.transition_matrix()
    names = ["(start)", *m.states_, "(conversion)", "(null)"]
    index = {s: i for i, s in enumerate(names)}
    T = np.zeros((len(names), len(names)))
    for r in tm.itertuples(index=False):
        T[index[r.channel_from], index[r.channel_to]] = r.transition_probability
    n = 200_000
    rng = np.random.default_rng(11)
    cum = np.cumsum(T, axis=1)
    state = np.zeros(n, np.int64)
    visited = np.zeros((n, len(names)), bool)
    active = np.ones(n, bool)
    while active.any():
        u = rng.random(active.sum())
        nxt = (u[:, None] > cum[state[active]]).sum(axis=1)
        state[active] = nxt
        visited[np.flatnonzero(active), nxt] = True
        active &= state < len(names) - 2
    conv = state == len(names) - 2
    p = conv.mean()
    assert abs(p - m.p_conversion_) < 4 * np.sqrt(p * (1 - p) / n)
    for c, name in enumerate(m.channels_):
        share = visited[conv][:, index[name]].mean()  # order 1: state == channel
        se = np.sqrt(share * (1 - share) / conv.sum())
        assert abs(share - m.removal_effects_[c]) < 4 * se + 1e-9


def test_order_1_p_conversion_is_the_observed_rate():
    """Flow conservation: a chain fitted from paths converts at the observed rate."""
    t = random_table(seed=8)
    for order in (1, 2, 3):
        m = MarkovAttribution(order=order).fit(t)
        assert m.p_conversion_ == pytest.approx(t.conversions.sum() / t.totals()["journeys"])


def test_order_k_states_by_hand():
    """Order 2: a > b > c > c is windows (a,b) (b,c) (c,c); a path shorter than 2 is one state;
    a > a > a merges its two identical windows (a,a) into one state."""
    t = table([("a > b > c > c", 1, 0, 0), ("b", 0, 1, 0), ("a > a > a", 1, 1, 0)])
    m = MarkovAttribution(order=2).fit(t)
    assert sorted(m.states_) == ["a,a", "a,b", "b", "b,c", "c,c"]
    tm = m.transition_matrix()
    pairs = set(zip(tm.channel_from, tm.channel_to, strict=True))
    assert ("a,a", "a,a") not in pairs
    assert {("(start)", "a,b"), ("a,b", "b,c"), ("b,c", "c,c"), ("c,c", "(conversion)")} <= pairs
    looped = MarkovAttribution(order=2, self_loops=True).fit(t)
    tm2 = looped.transition_matrix()
    assert (
        tm2[(tm2.channel_from == "a,a") & (tm2.channel_to == "a,a")].transition_probability.item()
        == pytest.approx(1 / 2)  # a,a -> a,a 2 of its 4 journeys (2 loops, conv, null)
    )
    # self-loops do not change absorption probabilities
    np.testing.assert_allclose(looped.removal_effects_, m.removal_effects_)


def test_order_2_recovers_a_known_order_2_chain():
    """Journeys from a chain whose next channel depends on the last two: the order-2 fit
    recovers its transition probabilities; the order-1 fit cannot tell them apart."""
    rng = np.random.default_rng(3)
    # after (x, y) the next step: to 'a', 'b', conversion, null
    truth = {
        ("a", "a"): [0.1, 0.5, 0.1, 0.3], ("a", "b"): [0.6, 0.1, 0.2, 0.1],
        ("b", "a"): [0.1, 0.1, 0.5, 0.3], ("b", "b"): [0.4, 0.4, 0.0, 0.2],
    }  # fmt: skip
    rows = []
    for _ in range(40_000):
        path = list(rng.choice(["a", "b"], 2))
        while True:
            step = rng.choice(4, p=truth[(path[-2], path[-1])])
            if step >= 2:
                rows.append((" > ".join(path), float(step == 2), float(step == 3), 0.0))
                break
            path.append("ab"[step])
    m = MarkovAttribution(order=2, self_loops=True).fit(table(rows))
    tm = m.transition_matrix().set_index(["channel_from", "channel_to"]).transition_probability
    for (x, y), probs in truth.items():
        s = f"{x},{y}"
        got = [tm.get((s, f"{y},a"), 0.0), tm.get((s, f"{y},b"), 0.0),
               tm.get((s, "(conversion)"), 0.0), tm.get((s, "(null)"), 0.0)]  # fmt: skip
        np.testing.assert_allclose(got, probs, atol=0.02)
    orders = choose_order(table(rows), max_order=3)
    assert orders.set_index("order").auc[2] > orders.set_index("order").auc[1] + 0.05


def test_removal_effects_in_unit_interval_and_totals():
    for seed in range(4):
        t = random_table(seed=seed)
        for order in (1, 2, 3):
            m = MarkovAttribution(order=order).fit(t)
            assert ((m.removal_effects_ >= 0) & (m.removal_effects_ <= 1)).all()
            assert m.conversions_.sum() == pytest.approx(t.conversions.sum())
            assert m.value_.sum() == pytest.approx(t.value.sum())


def test_set_and_sequence_removal():
    t = table([("a > b > c", 3, 1, 0), ("a > c", 1, 2, 0), ("b > c", 2, 2, 0), ("c", 1, 3, 0)])
    m = MarkovAttribution().fit(t)
    # removing a set removes at least as much as either member
    both = m.removal_effect(["a", "b"])
    assert both >= max(m.removal_effects_[:2]) - 1e-12
    assert m.removal_effect(["a"]) == pytest.approx(m.removal_effects_[0])
    assert 1 - m.conversion_probability(["a", "b"]) / m.p_conversion_ == pytest.approx(both)
    # order 1: removing the sequence a > b cuts only the transition a -> b.
    # start -> a 7/15; a -> b 4/7, a -> c 3/7 ... the walk a -> b is lost, a -> c is kept.
    seq = m.sequence_removal_effect(["a", "b"])
    assert 0 < seq < m.removal_effects_[0]
    with pytest.raises(OptionError, match="order >= 2"):
        m.sequence_removal_effect(["a", "b", "c"])
    m2 = MarkovAttribution(order=2).fit(t)
    assert 0 < m2.sequence_removal_effect(["a", "b", "c"]) <= m2.removal_effects_[0]
    with pytest.raises(OptionError, match="not in the paths"):
        m.removal_effect(["zzz"])


def test_sequence_removal_by_hand():
    """a > b (conv 1), a (conv 1), b (null 2). Order 1: start -> a 1/2, -> b 1/2;
    a -> b 1/2, a -> conv 1/2; b -> conv 1/3, null 2/3.
    P = 1/2 (1/2 + 1/2 * 1/3) + 1/2 * 1/3 = 1/2.
    Cutting a -> b: P = 1/2 * 1/2 + 1/2 * 1/3 = 5/12 -> RE = 1 - (5/12) / (1/2) = 1/6."""
    t = table([("a > b", 1, 0, 0), ("a", 1, 0, 0), ("b", 0, 2, 0)])
    m = MarkovAttribution().fit(t)
    assert m.p_conversion_ == pytest.approx(1 / 2)
    assert m.sequence_removal_effect(["a", "b"]) == pytest.approx(1 / 6)


def test_invariant_to_row_order_and_row_splits():
    rows = [("a > b", 4, 2, 40), ("b", 1, 5, 3), ("c > a > b", 2, 0, 8)]
    split = [("a > b", 1, 1, 10), ("b", 1, 5, 3), ("c > a > b", 2, 0, 8), ("a > b", 3, 1, 30)]
    for order in (1, 2):
        a = MarkovAttribution(order=order).fit(table(rows))
        b = MarkovAttribution(order=order).fit(table(split[::-1]))
        np.testing.assert_allclose(a.removal_effects_, b.removal_effects_)
        np.testing.assert_allclose(a.value_, b.value_)


def test_without_nulls_every_walk_converts():
    t = table([("a > b", 3, 5, 0), ("b", 1, 5, 0)])
    m = MarkovAttribution(use_nulls=False).fit(t)
    assert m.p_conversion_ == pytest.approx(1.0)
    # b is on every path: removing it loses everything; a only 3 of 4
    np.testing.assert_allclose(m.removal_effects_, [0.75, 1.0])


def test_weighted_auc_by_hand():
    # scores 0.1 (1 pos, 2 neg), 0.5 (1 pos, 1 neg), 0.9 (2 pos): pairs pos > neg
    auc = weighted_auc(np.array([0.1, 0.5, 0.9]), np.array([1.0, 1, 2]), np.array([2.0, 1, 0]))
    # positives 4, negatives 3 -> 12 pairs; wins: 0.1: 0 + half of 2 = 1; 0.5: 2 + 0.5 = 2.5;
    # 0.9: 2 * 3 = 6 -> 9.5 / 12
    assert auc == pytest.approx(9.5 / 12)


def test_bad_order():
    with pytest.raises(OptionError, match="order"):
        MarkovAttribution(order=0)


def test_an_order_beyond_integer_keys_gives_the_same_chain():
    """(K + 1)^order past 2^62 cannot key a window by an integer; distinct rows do. An
    order at least the longest path makes every path one state, whatever the order."""
    t = random_table(K=5, P=200, max_len=6, seed=3)
    six, forty = MarkovAttribution(order=6).fit(t), MarkovAttribution(order=40).fit(t)
    assert forty.conversion_probability() == pytest.approx(six.conversion_probability())
    np.testing.assert_allclose(forty.removal_effects_, six.removal_effects_, rtol=1e-12)
    np.testing.assert_allclose(forty.conversions_, six.conversions_, rtol=1e-12)


def test_iterative_sparse_and_dense_solves_agree(monkeypatch):
    """Up to DENSE_LIMIT states the visits come from LAPACK; above, every variant is
    iterated together until the error bound puts P(conversion) within POINT_RTOL, and a
    variant whose bound fails gets a sparse LU. The same chain through all three routes
    gives the same numbers (order 3 here has ~150 states)."""
    t = random_table(K=5, P=400, seed=9)
    dense = MarkovAttribution(order=3).fit(t)
    monkeypatch.setattr(markov_chain, "DENSE_LIMIT", 0)
    iterative = MarkovAttribution(order=3).fit(t)
    monkeypatch.setattr(markov_chain, "POINT_RTOL", -1.0)  # no bound holds: every variant by LU
    sparse = MarkovAttribution(order=3).fit(t)
    assert len(dense.states_) > 100
    for other in (iterative, sparse):
        assert other.p_conversion_ == pytest.approx(dense.p_conversion_, rel=1e-12)
        np.testing.assert_allclose(other.removal_effects_, dense.removal_effects_, rtol=1e-10)
        np.testing.assert_allclose(other.value_, dense.value_, rtol=1e-10)


def test_a_large_chain_matches_direct_solves_of_every_variant():
    """An order-3 chain of ~2,000 states (above DENSE_LIMIT: solved by iteration) against
    a sparse LU of each variant: P(conversion) and every removal effect to 1e-11."""
    t = random_table(K=12, P=6_000, max_len=7, seed=4)
    m = MarkovAttribution(order=3).fit(t)
    assert len(m.states_) > markov.DENSE_LIMIT
    keep = m._variants()
    direct = np.column_stack([m._chain.visits(keep[:, v]) for v in range(keep.shape[1])])
    p, _ = m._chain.absorbed(direct)
    assert m.p_conversion_ == pytest.approx(p[0], rel=1e-12)
    np.testing.assert_allclose(m.removal_effects_, 1 - p[1:] / p[0], rtol=0, atol=1e-11)


def test_visits_give_the_forward_absorption_probabilities():
    """P(conversion) as visits x one-step conversion (the adjoint system) equals the
    forward solve (I - Q) h = r read at start, with and without removed states."""
    t = random_table(K=4, P=150, seed=2)
    m = MarkovAttribution(order=2).fit(t)
    c = m._chain
    n = c.n
    for keep in (np.ones(n + 1, bool), m._variants()[:, 2]):
        inner = (c.frm <= n) & (c.to <= n) & keep[np.minimum(c.to, n)] & keep[c.frm]
        Q = np.zeros((n + 1, n + 1))
        np.add.at(Q, (c.frm[inner], c.to[inner]), c.prob[inner])
        to_conv = (c.to == n + 1) & keep[np.minimum(c.frm, n)]
        r = np.bincount(c.frm[to_conv], c.prob[to_conv], minlength=n + 1)
        h = np.linalg.solve(np.eye(n + 1) - Q, r)
        assert c.solve(keep)[0] == pytest.approx(h[0], rel=1e-12)
        x = c.visits(keep)
        assert (x[~keep] == 0).all() and x[0] >= 1


def test_a_chain_too_large_to_solve_is_refused_before_the_solves(monkeypatch):
    """states x (channels + 1) above cjsim.limits.MAX_MARKOV_CELLS: one clear refusal that
    names the order, the channels and the states (a 200,000-channel log asked for 37 GiB)."""
    import cjsim.limits

    wide = table([(" > ".join(f"c{i}" for i in range(300)), 1, 0, 1.0), ("c1 > c2", 0, 1, 0)])
    MarkovAttribution(order=1).fit(wide)  # 301 x 301 cells: fine
    monkeypatch.setattr(cjsim.limits, "MAX_MARKOV_CELLS", 50_000)
    with pytest.raises(OptionError, match=r"order 1 over 300 channels has 300 states"):
        MarkovAttribution(order=1).fit(wide)
