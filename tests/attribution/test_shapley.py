"""Shapley attribution: brute force over permutations, the simplified formula, axioms,
a published game, the ordered and sampled variants, and the Markov removal game."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from cjsim.attribution import (
    MarkovAttribution,
    MarkovShapley,
    OrderedShapley,
    SampledShapley,
    ShapleyAttribution,
)
from cjsim.attribution.shapley import coalition_values, shapley_from_game, zeta
from cjsim.errors import OptionError
from tests.helpers.tables import random_table, table


def brute_force(value, K: int) -> np.ndarray:
    """Average marginal contribution over all K! orders (the definition)."""
    phi = np.zeros(K)
    for order in itertools.permutations(range(K)):
        S = 0
        for i in order:
            phi[i] += value(S | (1 << i)) - value(S)
            S |= 1 << i
    return phi / math.factorial(K)


def test_glove_game():
    """Shapley (1953) glove game as in Osborne & Rubinstein (1994): players 1 and 2 hold a
    left glove, player 3 a right one; a pair is worth 1. Values (1/6, 1/6, 2/3)."""
    v = np.array([0, 0, 0, 0, 0, 1, 1, 1], float)  # bits: 1 = p1, 2 = p2, 4 = p3
    np.testing.assert_allclose(shapley_from_game(v), [1 / 6, 1 / 6, 2 / 3])


def test_zeta_is_subset_sum():
    rng = np.random.default_rng(0)
    x = rng.random(32)
    z = zeta(x)
    for S in range(32):
        assert z[S] == pytest.approx(sum(x[T] for T in range(32) if T & ~S == 0))


@pytest.mark.parametrize("K", [2, 3, 5, 7])
def test_exact_equals_brute_force_and_simplified(K):
    t = random_table(K=K, P=120, max_len=5, seed=K)
    v = coalition_values(t)
    brute = brute_force(lambda S: v[S, 0], K)
    exact = shapley_from_game(v)[:, 0]
    simplified = ShapleyAttribution().fit(t).conversions_
    np.testing.assert_allclose(exact, brute, rtol=1e-10)
    np.testing.assert_allclose(simplified, exact, rtol=1e-10)


def test_simplified_by_hand():
    """a > b > a converts 3 times: 1.5 each to a and b (distinct channels, not touches);
    c converts once: all to c."""
    t = table([("a > b > a", 3, 0, 30), ("c", 1, 0, 2)])
    s = ShapleyAttribution().fit(t)
    np.testing.assert_allclose(s.conversions_, [1.5, 1.5, 1.0])
    np.testing.assert_allclose(s.value_, [15, 15, 2])


def test_rate_game_matches_brute_force_and_sums_to_conversions():
    t = random_table(K=5, P=100, seed=9)
    v = coalition_values(t, rate=True)
    brute = brute_force(lambda S: v[S, 0], 5)
    s = ShapleyAttribution(game="rate").fit(t)
    np.testing.assert_allclose(s.shapley_values_, brute, rtol=1e-10)
    assert s.conversions_.sum() == pytest.approx(t.conversions.sum())


def test_axioms():
    rng = np.random.default_rng(4)
    K = 5
    v, w = rng.random(1 << K), rng.random(1 << K)
    v[0] = w[0] = 0
    phi = shapley_from_game(v)
    assert phi.sum() == pytest.approx(v[-1])  # efficiency
    np.testing.assert_allclose(shapley_from_game(v + w), phi + shapley_from_game(w))  # additivity
    # null player: player 4 adds nothing to any coalition
    u = v.copy()
    with_4 = np.arange(1 << K) & 16 != 0
    u[with_4] = u[np.arange(1 << K)[with_4] & ~16]
    assert shapley_from_game(u)[4] == pytest.approx(0, abs=1e-12)
    # symmetry: channels a and b always together are credited equally
    t = table([("a > b", 4, 1, 0), ("b > a > c", 2, 0, 0), ("c", 1, 1, 0)])
    s = ShapleyAttribution().fit(t).conversions_
    assert s[0] == pytest.approx(s[1])


def test_exact_for_twenty_channels():
    t = random_table(K=20, P=3000, max_len=4, seed=1)
    exact = shapley_from_game(coalition_values(t))[:, 0]
    np.testing.assert_allclose(exact, ShapleyAttribution().fit(t).conversions_, rtol=1e-9)


def test_ordered_shapley_by_hand():
    """a > b > a (3 conversions) books 1.5 to a at position 1 and 1.5 to b at position 2;
    b > c (2) books 1 to b at 1 and 1 to c at 2."""
    t = table([("a > b > a", 3, 0, 0), ("b > c", 2, 0, 0)])
    o = OrderedShapley().fit(t)
    np.testing.assert_allclose(o.position_conversions_, [[1.5, 0], [1, 1.5], [0, 1]])
    np.testing.assert_allclose(o.conversions_, ShapleyAttribution().fit(t).conversions_)


@pytest.mark.parametrize("game", ["conversions", "rate"])
def test_sampled_shapley_agrees_within_its_standard_error(game):
    t = random_table(K=6, P=200, seed=2)
    exact = ShapleyAttribution(game=game).fit(t).conversions_
    s = SampledShapley(game=game, n_permutations=4000, rng=7).fit(t)
    z = np.abs(s.conversions_ - exact) / np.maximum(s.standard_errors_, 1e-12)
    assert (z < 4.5).all(), z
    assert s.conversions_.sum() == pytest.approx(t.conversions.sum())  # efficient per order


def test_sampled_shapley_is_reproducible():
    """The same seed draws the same orders, so the same estimate."""
    t = random_table(K=3, P=50, seed=6)
    a = SampledShapley(n_permutations=600, rng=1).fit(t).conversions_
    b = SampledShapley(n_permutations=600, rng=1).fit(t).conversions_
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("rng", [np.random.default_rng(0), None])
def test_sampled_shapley_bootstrap_uses_the_fitted_orders(rng):
    """With a Generator (or fresh entropy) the fit and the bootstrap's credit matrix still
    share one set of orders, so the intervals are about the reported estimate."""
    t = random_table(K=5, P=60, seed=4)
    s = SampledShapley(n_permutations=10, rng=rng)
    fitted = s.fit(t).conversions_
    np.testing.assert_allclose(s.credit_matrix(t) @ t.conversions, fitted, rtol=1e-12)


def test_markov_removal_game():
    t = random_table(K=4, P=80, seed=12)
    ms = MarkovShapley().fit(t)
    m = MarkovAttribution().fit(t)
    # efficiency: values sum to P(conversion) of the full chain (v(empty) = 0)
    assert ms.shapley_values_.sum() == pytest.approx(m.p_conversion_)
    brute = brute_force(lambda S: ms.game_values_[S, 0], 4)
    np.testing.assert_allclose(ms.shapley_values_, brute, rtol=1e-10)
    # v(S) for a single channel by the removal API
    only_0 = m.conversion_probability(m.channels_[1:])
    assert ms.game_values_[1, 0] == pytest.approx(only_0)
    assert ms.conversions_.sum() == pytest.approx(t.conversions.sum())


def test_too_many_channels_for_exact():
    t = random_table(K=23, P=400, max_len=3, seed=0)
    assert len(t.channels) == 23
    with pytest.raises(OptionError, match="shapley_sampled"):
        ShapleyAttribution(game="rate").fit(t)
    assert SampledShapley(game="rate", n_permutations=20, rng=0).fit(t).conversions_.shape == (
        len(t.channels),
    )
