"""The cooperative-games leaf module against brute force over every player order."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cjsim.games import order_credits, shapley_from_game, shapley_weight, with_reversed, zeta


@pytest.mark.parametrize("players", [1, 2, 4, 5])
def test_shapley_of_a_game_is_the_mean_credit_over_all_orders(players):
    rng = np.random.default_rng(players)
    game = rng.normal(size=(1 << players, 3))  # three games at once
    game[0] = 0.0
    orders = np.array(list(itertools.permutations(range(players))))
    brute = order_credits(orders, game).mean(axis=0)
    assert np.allclose(shapley_from_game(game), brute, rtol=1e-13, atol=1e-13)
    # efficiency: the values share out the grand coalition's value
    assert np.allclose(shapley_from_game(game).sum(axis=0), game[-1] - game[0])


def test_order_credits_take_a_mapping_of_the_coalitions_passed():
    game = np.arange(8.0) ** 2
    orders = np.array([[2, 0, 1]])
    passed = {0: game[0], 4: game[4], 5: game[5], 7: game[7]}
    assert np.array_equal(order_credits(orders, passed), order_credits(orders, game))


def test_weights_zeta_and_antithetic_pairs():
    assert sum(shapley_weight(s, 4) * len(list(itertools.combinations(range(3), s)))
               for s in range(4)) == pytest.approx(1.0)  # fmt: skip
    values = np.array([1.0, 2.0, 3.0, 4.0])
    assert zeta(values).tolist() == [1.0, 3.0, 4.0, 10.0]
    orders = np.array([[0, 1, 2], [2, 0, 1]])
    paired = with_reversed(orders)
    assert paired[2:].tolist() == [[2, 1, 0], [1, 0, 2]]
    with pytest.raises(ValueError, match="2\\^K"):
        shapley_from_game(np.zeros(3))
