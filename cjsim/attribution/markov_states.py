"""The states of a k-order Markov model of a path table, and the transitions between them.

As in ChannelAttribution (Altomare & Loris), a state of a k-order model is a window of k
consecutive touchpoints sliding one touch at a time; a path shorter than k is one state;
consecutive identical states are merged (``self_loops=True`` keeps them). State 0 is
``(start)``, states 1..n the windows, n + 1 ``(conversion)`` and n + 2 ``(null)``.

The structure (:class:`Walks`) depends on the paths alone, not on their counts: bootstrap
resamples share it, and the transition counts of any counts are one sparse product with
its incidence matrix (:func:`edge_weights`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from cjsim.paths import PathTable


@dataclass(frozen=True)
class Walks:
    """The state structure of a path table for one order (counts are not part of it)."""

    windows: np.ndarray  # (n, k) channel codes of each state, -1 padded
    edge_from: np.ndarray  # (E,) state index, 0 = start, n+1 conversion, n+2 null
    edge_to: np.ndarray
    incidence: sp.csr_matrix  # (E, 3P): edge weight = incidence @ [journeys; conv; nulls]
    last_state: np.ndarray  # (P,) each path's last state

    @property
    def n_states(self) -> int:
        return len(self.windows)


def walk_structure(paths: PathTable, order: int, self_loops: bool) -> Walks:
    """The states and transitions of ``paths`` under a model of ``order``."""
    K, P = len(paths.channels), paths.n_paths
    L = paths.lengths
    n_win = np.maximum(L - order + 1, 1)
    win_path = np.repeat(np.arange(P), n_win)
    win_start = np.repeat(paths.offsets[:-1], n_win) + (
        np.arange(n_win.sum()) - np.repeat(np.cumsum(n_win) - n_win, n_win)
    )
    width = np.minimum(L, order)[win_path]
    cols = np.full((len(win_start), order), -1, np.int64)
    for i in range(order):
        has = i < width
        cols[has, i] = paths.codes[win_start[has] + i]
    # merge consecutive identical states of a path (ChannelAttribution's default)
    first_of_path = np.r_[True, win_path[1:] != win_path[:-1]]
    if not self_loops and len(cols):
        same = np.r_[False, (cols[1:] == cols[:-1]).all(axis=1)] & ~first_of_path
        cols, win_path, first_of_path = cols[~same], win_path[~same], first_of_path[~same]
    # integer key per window (base K + 1, 0 = no channel), then dense state numbers
    base = K + 1
    if base**order < 2**62:
        keys = np.zeros(len(cols), np.int64)
        for i in range(order):
            keys += (cols[:, i] + 1) * base**i
        uniq_keys, state = dense_ids(keys, base**order)
        windows = (uniq_keys[:, None] // base ** np.arange(order) % base) - 1
    else:  # more possible windows than an integer key holds: the distinct rows themselves
        windows, state = np.unique(cols, axis=0, return_inverse=True)
        state = state.ravel()
    state = state + 1
    n = len(windows)
    conv_id, null_id = n + 1, n + 2
    prev = np.where(first_of_path, 0, np.r_[0, state[:-1]])
    last_of_path = np.r_[win_path[1:] != win_path[:-1], True] if len(state) else state
    last_state = state[last_of_path]
    # edges: inner transitions weighted by journeys, ends by conversions and by nulls
    frm = np.concatenate([prev, last_state, last_state])
    to = np.concatenate([state, np.full(P, conv_id), np.full(P, null_id)])
    col = np.concatenate([win_path, P + np.arange(P), 2 * P + np.arange(P)])
    key = frm.astype(np.int64) * (n + 3) + to
    uniq, edge = dense_ids(key, (n + 3) ** 2)
    incidence = sp.csr_matrix((np.ones(len(col)), (edge, col)), shape=(len(uniq), 3 * P))
    return Walks(windows, uniq // (n + 3), uniq % (n + 3), incidence, last_state)


def dense_ids(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys and each key's index among them (``np.unique`` semantics).

    Keys below ``size`` use a lookup table, O(n) instead of a sort, when ``size`` is small:
    a presence mask gives the distinct keys, and only their entries of the (uninitialised)
    table are written.
    """
    if size <= 1 << 26:
        present = np.zeros(size, bool)
        present[keys] = True
        uniq = np.flatnonzero(present)
        ids = np.empty(size, np.int64)
        ids[uniq] = np.arange(len(uniq))
        return uniq, ids[keys]
    uniq, inverse = np.unique(keys, return_inverse=True)
    return uniq, inverse.ravel()


def edge_weights(
    walks: Walks, conv: np.ndarray, nulls: np.ndarray, use_nulls: bool = True
) -> np.ndarray:
    """Transition counts: inner transitions weighted by journeys, ends by their outcome.

    Without ``use_nulls`` the non-converting journeys are left out (every walk converts).
    """
    if not use_nulls:
        nulls = np.zeros_like(nulls)
    return np.asarray(walks.incidence @ np.concatenate([conv + nulls, conv, nulls]))


def membership(walks: Walks, channels: int) -> np.ndarray:
    """(n, K) bool: which of the ``channels`` each state contains."""
    w = walks.windows
    member = np.zeros((len(w), channels), bool)
    for i in range(w.shape[1]):
        has = w[:, i] >= 0
        member[np.flatnonzero(has), w[has, i]] = True
    return member


def value_per_conversion(walks: Walks, paths: PathTable) -> np.ndarray:
    """Mean value per conversion of the paths whose last state is s (0 where none)."""
    n = walks.n_states
    conv = np.bincount(walks.last_state, paths.conversions, minlength=n + 1)
    val = np.bincount(walks.last_state, paths.value, minlength=n + 1)
    return np.divide(val, conv, out=np.zeros(n + 1), where=conv > 0)
