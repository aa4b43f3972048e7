"""Cooperative games: the Shapley value of a game given by its coalition values.

A leaf module (numpy only) shared by attribution (:mod:`cjsim.attribution.shapley`, whose
game is the conversions of journeys whose channels lie in a coalition) and the ground
truth (:mod:`cjsim.simulate.truth`, whose game is the conversions simulated with only a
coalition's channels on), so that both compute the same value the same way.

A game of K players is an array of 2^K coalition values, bit i of the index standing for
player i (``v[0]`` is the empty coalition); trailing axes hold several games at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np


def zeta(values: np.ndarray) -> np.ndarray:
    """Subset sums: ``out[S] = sum(values[T] for T subset of S)``, over the first axis."""
    out = np.array(values, dtype=np.float64, copy=True)
    n = out.shape[0]
    K = n.bit_length() - 1
    rest = out.shape[1:]
    for i in range(K):
        view = out.reshape(-1, 2, 1 << i, *rest)
        view[:, 1] += view[:, 0]
    return out


def shapley_weight(size: int, players: int) -> float:
    """The Shapley weight |S|! (K - |S| - 1)! / K! of a coalition S not holding the player."""
    return math.factorial(size) * math.factorial(players - size - 1) / math.factorial(players)


def shapley_from_game(v: np.ndarray) -> np.ndarray:
    """Exact Shapley values of a game given by its 2^K coalition values (bit i = player i).

    ``v`` may have trailing axes (several games at once); the result has shape
    ``(K, *v.shape[1:])``.
    """
    n = v.shape[0]
    K = n.bit_length() - 1
    if 1 << K != n:
        raise ValueError("the game must have 2^K coalition values")
    size = np.zeros(n, np.int64)
    for i in range(K):
        size += (np.arange(n) >> i) & 1
    weight = np.array([shapley_weight(s, K) for s in range(K)])
    phi = np.zeros((K, *v.shape[1:]))
    idx = np.arange(n)
    for i in range(K):
        without = idx[(idx >> i) & 1 == 0]
        marginal = v[without | (1 << i)] - v[without]
        w = weight[size[without]].reshape(-1, *([1] * (v.ndim - 1)))
        phi[i] = (w * marginal).sum(axis=0)
    return phi


def with_reversed(orders: np.ndarray) -> np.ndarray:
    """Sampled player orders followed by each one reversed (antithetic pairs r, r + R).

    A player early in one order is late in its pair, which cancels much of the sampling
    noise of permutation Shapley; the pairs' means are independent.
    """
    return np.concatenate([orders, orders[:, ::-1]])


def pair_means(credits: np.ndarray) -> np.ndarray:
    """The mean credit of each antithetic pair of :func:`with_reversed`: ``(R / 2, ...)``.

    ``credits`` holds R orders along the first axis, order r paired with r + R/2. The pairs
    are independent, so their spread (ddof 1, over the square root of their number) is the
    standard error that sampling orders adds to a sampled Shapley value.
    """
    half = len(credits) // 2
    return (credits[:half] + credits[half:]) / 2


def order_credits(orders: np.ndarray, value: Mapping[int, np.ndarray] | np.ndarray) -> np.ndarray:
    """Each player's marginal contribution in each order: ``(R, K, *value.shape[1:])``.

    ``value`` is the game (2^K coalition values, bit i = player i), or a mapping that holds
    the coalitions the orders pass through; a player's credit in an order is the value of
    the players up to and including it minus the value of those before it.
    """
    R, K = orders.shape
    credits = np.zeros((R, K, *np.shape(value[0])))
    for r, order in enumerate(orders):
        prefix = 0
        for i in order:
            nxt = prefix | (1 << int(i))
            credits[r, i] = value[nxt] - value[prefix]
            prefix = nxt
    return credits
