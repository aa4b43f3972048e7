"""Counter-based random numbers: every draw is a hash of its keys, not a stream's next value.

A draw is determined by (seed, customer, purpose, counter) alone, so a customer's draws do
not depend on the order in which events happen (*common random numbers*): switching a
channel off changes the journeys of the customers it reached, nobody else's.

The hash is splitmix64's finaliser (:func:`_mix`) applied twice: once to (seed, customer)
-- the *customer key*, kept per customer because it never changes -- and once to the key
plus (purpose, counter). The top 53 bits make a double in (0, 1).

References
----------
Steele, G. L., Lea, D. & Flood, C. H. (2014). Fast splittable pseudorandom number
generators (splitmix64). Salmon, J. K. et al. (2011). Parallel random numbers: as easy as
1, 2, 3 (counter-based generators).
"""

from __future__ import annotations

import numpy as np

# What a draw is for (its ``purpose`` key). A per-channel purpose is its base + the channel.
SEGMENT, INITIAL_STAGE, WAIT, TARGET, VALUE, SERVICE, TALK, PICK_CONTACT, ARRIVAL = range(1, 10)
EXPOSURE, TOUCH_HOUR, BUDGET_RANK, BUDGET_ROUNDING, FLIGHT = 1000, 2000, 3000, 4000, 5000
MARKET = (1 << 63) + 17  # the "customer" of draws that belong to the whole market

MASK = (1 << 64) - 1  # 64-bit wrap-around of Python integers
_G1, _G2, _G3 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_TWO_53 = 9007199254740992.0


def _mix(x: int) -> int:
    """splitmix64's finaliser: a bijective scramble of 64-bit integers."""
    x = (x ^ (x >> 30)) * _G2 & MASK
    x = (x ^ (x >> 27)) * _G3 & MASK
    return x ^ (x >> 31)


def uniform(seed: int, customer: int, purpose: int, k: int) -> float:
    """A uniform draw in (0, 1) determined by its keys alone (no stream to advance).

    Parameters
    ----------
    seed : int
        The run's seed (below 2**64).
    customer : int
        Whose draw it is (or :data:`MARKET` for the whole market's).
    purpose : int
        What the draw is for (a constant of this module, plus a channel for some).
    k : int
        The counter: the k-th draw of this customer for this purpose.

    Returns
    -------
    float
        A double in (0, 1), a multiple of 2**-53 plus 2**-54.
    """
    x = _mix((seed * _G1 + customer) & MASK)
    return key_uniform(x, purpose, k)


def key_uniform(key: int, purpose: int, k: int) -> float:
    """:func:`uniform` from a customer's :func:`customer_keys` entry (half the work).

    Inlined rather than calling :func:`_mix`: the engine draws this in its hottest paths.
    """
    x = (key + purpose * _G2 + k * _G1) & MASK
    x = (x ^ (x >> 30)) * _G2 & MASK
    x = (x ^ (x >> 27)) * _G3 & MASK
    return (((x ^ (x >> 31)) >> 11) + 0.5) / _TWO_53


def customer_keys(seed: int, customers: np.ndarray) -> np.ndarray:
    """The first scramble of :func:`uniform`, which depends on the seed and customer only.

    Parameters
    ----------
    seed : int
        The run's seed (below 2**64).
    customers : numpy.ndarray
        Customer numbers (non-negative integers).

    Returns
    -------
    numpy.ndarray
        One uint64 key per customer, for :func:`keyed_uniforms` and :func:`key_uniform`.
    """
    return _mix_np(np.uint64(seed * _G1 & MASK) + customers.astype(np.uint64))


def keyed_uniforms(keys: np.ndarray, purpose: int | np.ndarray, k: int | np.ndarray) -> np.ndarray:
    """:func:`uniform` for many customers at once, from their :func:`customer_keys`.

    Parameters
    ----------
    keys : numpy.ndarray
        The customers' keys (uint64).
    purpose : int or numpy.ndarray
        One purpose for all, or one per customer.
    k : int or numpy.ndarray
        One counter for all, or one per customer.

    Returns
    -------
    numpy.ndarray
        The draws (float64), bit for bit those :func:`uniform` gives one at a time.
    """
    # numpy's uint64 arithmetic wraps around silently, as ``& MASK`` does for Python ints
    if isinstance(purpose, np.ndarray):
        x = keys + (purpose.astype(np.uint64) * _U2 + np.asarray(k).astype(np.uint64) * _U1)
    elif isinstance(k, np.ndarray):
        x = keys + (np.uint64(purpose * _G2 & MASK) + k.astype(np.uint64) * _U1)
    else:
        x = keys + np.uint64((purpose * _G2 + int(k) * _G1) & MASK)
    x = _mix_np(x)
    x >>= _S11
    return (x.astype(np.float64) + 0.5) / _TWO_53


_U1, _U2, _U3 = np.uint64(_G1), np.uint64(_G2), np.uint64(_G3)
_S11, _S27, _S30, _S31 = (np.uint64(v) for v in (11, 27, 30, 31))


def _mix_np(x: np.ndarray) -> np.ndarray:
    """:func:`_mix` of a fresh uint64 array, in place."""
    x ^= x >> _S30
    x *= _U2
    x ^= x >> _S27
    x *= _U3
    x ^= x >> _S31
    return x
