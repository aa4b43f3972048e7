"""Who a channel touches in a Markov step beyond its plain chance: word of mouth and budgets.

Word of mouth's chance of a touch follows the share of the customer's market that talks
(:func:`_wom_tables`, :func:`_wom_touched`); a paid channel delivers no more touches
than its market's budget pays for (:func:`_within_budget`). See :mod:`cjsim.simulate.markov`.
"""

from __future__ import annotations

import numpy as np

from cjsim.simulate.plan import Plan


def _wom_touched(
    u: np.ndarray, table: np.ndarray, cells: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The customers ``i`` with ``u[i] < table[cells[i]]`` (ascending), and those chances.

    Only customers with ``u`` below the table's largest chance can be touched, so only
    their chances are looked up (word of mouth's table changes every step; looking up
    every customer's chance would cost more than the test itself)."""
    may = np.flatnonzero(u < table.max())
    p = table[cells[may]]
    hit = u[may] < p
    return may[hit], p[hit]


def _wom_tables(plan: Plan, talkers: np.ndarray, size: np.ndarray) -> np.ndarray:
    """This step's chance of a word-of-mouth touch per market and (segment, stage) cell,
    shape (markets, G * S), float32.

    Every customer of a market in a source stage at the step's start makes
    ``contact_rate`` contacts a day with customers of the market picked at random, so a
    listener meets at least one with probability :math:`1 - e^{-r\\, n_s / n}` (``r`` the
    contacts per step, :math:`n_s / n` the market's share in source stages), times the
    segment's affinity; the channel's own organic rate applies where it is larger.
    ``talkers`` holds the (real) customers in source stages per market, ``size`` the
    market sizes.
    """
    cm = plan.cm
    share = talkers / size
    contact = -np.expm1(-cm.wom_rate * share)  # (M,)
    cell = np.minimum(contact[:, None] * plan.wom_affinity[None, :], 1.0)  # (M, G)
    heard = (cell[:, :, None] * plan.wom_listens[None, None, :]).reshape(size.size, -1)
    return np.maximum(heard.astype(np.float32), plan.expo[cm.wom_channel][None, :])


def _within_budget(
    ids: np.ndarray, frac: np.ndarray, market: np.ndarray, affordable: np.ndarray, n: int
) -> np.ndarray | None:
    """Which of a paid channel's touches its budget pays for; None if all of them.

    In a market whose touches cost more than its step's budget, the earliest in the step
    (smallest ``frac``, the time within the step) are delivered until the money runs
    out. Padding customers (``>= n``) cost nothing and are always delivered.
    """
    real = ids < n
    if affordable.size == 1:  # one market: no need to look the markets up
        if np.count_nonzero(real) <= affordable[0]:
            return None
    elif (np.bincount(market[ids[real]], minlength=affordable.size) <= affordable).all():
        return None
    # rank the real customers' touches within their market by time; padding ranks last
    mk = np.where(real, market[ids], affordable.size)
    order = np.lexsort((frac, mk))
    first = np.searchsorted(mk[order], mk[order])  # each market's first place in the order
    rank = np.empty(ids.size, np.int64)
    rank[order] = np.arange(ids.size) - first
    keep = ~real
    keep[real] = rank[real] < affordable[mk[real]]
    return np.flatnonzero(keep)
