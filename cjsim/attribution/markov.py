r"""k-order Markov attribution with exact removal effects.

A journey is a walk ``(start) -> s_1 -> ... -> s_m -> (conversion | null)`` over *states*.
As in ChannelAttribution (Altomare & Loris), a state of a k-order model is a window of k
consecutive touchpoints sliding one touch at a time; a path shorter than k is one state;
consecutive identical states are merged (``self_loops=True`` keeps them). Transition
probabilities are the observed transition counts normalised per state, each path weighted
by its journeys (conversions + nulls, or conversions only when the table has no nulls).

The chain is absorbing, so the probability of conversion from every state solves

.. math:: (I - Q)\,h = r

with Q the transient-to-transient block and r the one-step probability of conversion.
ChannelAttribution estimates P(conversion) and the removal effects by simulating walks;
here they are solved, not sampled, as the expected visits of each state from start,
:math:`(I - Q)^\top x = e_0`, then :math:`P = x \cdot r`. Removing a set of channels C
sends every transition into a state that contains a channel of C to null:

.. math:: \mathrm{RE}(C) = 1 - \frac{P_{-C}(\text{conversion})}{P(\text{conversion})}

and each channel's attributed conversions are the total times
:math:`\mathrm{RE}(c) / \sum_{c'} \mathrm{RE}(c')` (Anderl, Becker, von Wangenheim &
Schumann 2016). Value follows ChannelAttribution's definition, made exact: a conversion
reached from state s is worth the mean value per conversion of the paths whose last state
is s, and the removal effect on value is the relative loss of expected value.

**Solves.** Up to :data:`DENSE_LIMIT` states every chain (the full one and one per
removed channel) is a dense LAPACK solve. Larger chains are iterated together
(:mod:`cjsim.attribution.batched_chains`) until an a-posteriori error bound puts each
P(conversion) within :data:`POINT_RTOL` (1e-12) relative of the exact solution, and a
chain whose bound fails is solved by a sparse LU: a sparse LU of an order-3 chain fills in
about a fifth of the dense matrix, while a hundred sparse products settle every variant.

Bootstrap intervals (:meth:`MarkovAttribution.fit_counts`) refit the same states on every
resample of the journeys. The B resamples' chains share one transition pattern, so they
are solved together the same way, started from the fitted chain's visits, each
P(conversion) to 1e-10 relative, and directly where the bound fails.

References
----------
Anderl, E., Becker, I., von Wangenheim, F. & Schumann, J. H. (2016). Mapping the customer
journey: lessons learned from graph-based online attribution modeling. *International
Journal of Research in Marketing* 33(3), 457-474.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from cjsim.attribution.base import Attribution, share_of_total
from cjsim.attribution.batched_chains import absorb_batched, visits_variants
from cjsim.errors import OptionError
from cjsim.paths import PathTable

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
#: Above this many states the solves iterate (sparse LU where the bound fails), not LAPACK.
DENSE_LIMIT = 600
#: Above DENSE_LIMIT, the point estimate's accepted error of every P(conversion), relative.
POINT_RTOL = 1e-12


@dataclass(frozen=True)
class _Walks:
    """The state structure of a path table for one order (counts are not part of it)."""

    windows: np.ndarray  # (n, k) channel codes of each state, -1 padded
    edge_from: np.ndarray  # (E,) state index, 0 = start, n+1 conversion, n+2 null
    edge_to: np.ndarray
    incidence: sp.csr_matrix  # (E, 3P): edge weight = incidence @ [journeys; conv; nulls]
    last_state: np.ndarray  # (P,) each path's last state

    @property
    def n_states(self) -> int:
        return len(self.windows)


def _walks(paths: PathTable, order: int, self_loops: bool) -> _Walks:
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
        uniq_keys, state = _dense_ids(keys, base**order)
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
    uniq, edge = _dense_ids(key, (n + 3) ** 2)
    incidence = sp.csr_matrix((np.ones(len(col)), (edge, col)), shape=(len(uniq), 3 * P))
    return _Walks(windows, uniq // (n + 3), uniq % (n + 3), incidence, last_state)


def _check_size(states: int, channels: int, order: int) -> None:
    """Refuse a chain whose removal solves would not fit: states x (channels + 1) cells."""
    from cjsim.limits import MAX_MARKOV_CELLS

    cells = (states + 1) * (channels + 1)
    if cells > MAX_MARKOV_CELLS:
        raise OptionError(
            f"a Markov chain of order {order} over {channels:,} channels has {states:,} "
            f"states: its {channels:,} removal solves need {cells:,} cells, more than "
            f"{MAX_MARKOV_CELLS:,} (cjsim.limits); expected fewer channels (merge rare ones) "
            "or a lower --order"
        )


class MarkovAttribution(Attribution):
    """k-order Markov attribution with exact removal effects.

    Parameters
    ----------
    order : int
        Number of past touchpoints that make a state (ChannelAttribution's ``order``).
    self_loops : bool
        Keep consecutive identical states as self-transitions (default: merge them, as
        ChannelAttribution does). Removal effects do not change; the transition matrix does.
    use_nulls : bool
        Use non-converting journeys when the table has them (ChannelAttribution's
        ``var_null``). Without them every walk converts.

    Attributes
    ----------
    removal_effects_ : ndarray, shape (K,)
        Removal effect of each channel on conversions, in [0, 1].
    value_removal_effects_ : ndarray, shape (K,)
        Removal effect on conversion value.
    p_conversion_ : float
        Probability that a walk from ``(start)`` converts.
    states_ : list of str
        Names of the transient states after ``(start)`` (``a,b`` for a window).
    """

    name = "markov"

    def __init__(self, order: int = 1, *, self_loops: bool = False, use_nulls: bool = True):
        if not (isinstance(order, int | np.integer) and order >= 1):
            raise OptionError(f"order is {order!r}; expected an integer >= 1")
        self.order = int(order)
        self.self_loops = self_loops
        self.use_nulls = use_nulls
        self._cache: tuple[int, _Walks] | None = None
        self._warm: tuple[_Walks, np.ndarray] | None = None

    # -- structure ---------------------------------------------------------------------------
    def _structure(self, paths: PathTable) -> _Walks:
        # bootstrap refits share one structure: the same paths, other counts
        key = id(paths.offsets)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, _walks(paths, self.order, self.self_loops))
        return self._cache[1]

    def _edge_weights(self, walks: _Walks, conv: np.ndarray, nulls: np.ndarray) -> np.ndarray:
        if not self.use_nulls:
            nulls = np.zeros_like(nulls)
        return np.asarray(walks.incidence @ np.concatenate([conv + nulls, conv, nulls]))

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, paths: PathTable) -> MarkovAttribution:
        """Fit the chain and solve P(conversion) and every channel's removal effect."""
        walks = self._structure(paths)
        _check_size(walks.n_states, len(paths.channels), self.order)
        self._paths, self._walks = paths, walks
        self.channels_ = paths.channels
        weights = self._edge_weights(walks, paths.conversions, paths.nulls)
        self._chain = _Chain.build(walks, weights, _value_per_conversion(walks, paths))
        keep = self._variants()
        visits = self._chain.visits_all(keep)
        p, v = self._chain.absorbed(visits)
        self.p_conversion_, self.expected_value_ = float(p[0]), float(v[0])
        self.removal_effects_ = _relative_losses(p[1:], p[0])
        self.value_removal_effects_ = _relative_losses(v[1:], v[0])
        self.conversions_ = share_of_total(self.removal_effects_, paths.conversions.sum())
        self.value_ = share_of_total(self.value_removal_effects_, paths.value.sum())
        self.states_ = self._state_names()
        self._warm = (walks, visits)  # where the bootstrap's iterative solves start
        return self

    def _membership(self) -> np.ndarray:
        """(n, K) bool: which channels each state contains."""
        w = self._walks.windows
        K = len(self.channels_)
        member = np.zeros((len(w), K), bool)
        for i in range(w.shape[1]):
            has = w[:, i] >= 0
            member[np.flatnonzero(has), w[has, i]] = True
        return member

    def _variants(self) -> np.ndarray:
        """(n + 1, K + 1) bool: the states (start first) of the full chain, then of the
        chain without each channel."""
        member = self._membership()
        keep = np.ones((len(member) + 1, member.shape[1] + 1), bool)
        keep[1:, 1:] = ~member
        return keep

    def _state_names(self) -> list[str]:
        names = np.asarray(self.channels_, dtype=object)
        return [",".join(names[row[row >= 0]]) for row in self._walks.windows]

    # -- queries on the fitted chain -----------------------------------------------------------
    def removal_effect(self, channels: Iterable[str], *, by: str = "conversions") -> float:
        """Removal effect of a *set* of channels removed together."""
        idx = self._channel_indices(channels)
        member = self._membership()[:, idx].any(axis=1)
        p, v = self._chain.solve(~np.r_[False, member])
        full = (self.p_conversion_, self.expected_value_)
        k = 0 if by == "conversions" else 1
        return _relative_loss((p, v)[k], full[k])

    def conversion_probability(self, removed: Iterable[str] = ()) -> float:
        """P(conversion) from ``(start)`` with the given channels removed."""
        idx = self._channel_indices(removed)
        member = self._membership()[:, idx].any(axis=1)
        return self._chain.solve(~np.r_[False, member])[0]

    def sequence_removal_effect(self, sequence: Sequence[str]) -> float:
        """Removal effect of a sequence of channels, e.g. ``["display", "search"]``.

        Every transition that completes the sequence (its last channel right after the
        others) is sent to null instead. A sequence of m channels needs ``order >= m - 1``,
        because only then does a transition know the m - 1 channels before it.
        """
        seq = self._channel_indices(sequence)
        m = len(seq)
        if m == 0:
            raise OptionError("the sequence is empty; expected channel names")
        if m > self.order + 1:
            raise OptionError(
                f"a sequence of {m} channels needs order >= {m - 1}; this model has order "
                f"{self.order}"
            )
        w = self._walks
        n = w.n_states
        inner = (w.edge_to >= 1) & (w.edge_to <= n)
        cut = np.zeros(len(w.edge_to), bool)
        seq_arr = np.asarray(seq)
        for e in np.flatnonzero(inner):
            to_win = w.windows[w.edge_to[e] - 1]
            to_win = to_win[to_win >= 0]
            if w.edge_from[e] == 0:
                hist = to_win
                cut[e] = any(
                    np.array_equal(hist[i : i + m], seq_arr) for i in range(len(hist) - m + 1)
                )
            else:
                from_win = w.windows[w.edge_from[e] - 1]
                hist = np.r_[from_win[from_win >= 0], to_win[-1]]
                cut[e] = len(hist) >= m and np.array_equal(hist[-m:], seq_arr)
        p, _ = self._chain.solve(np.ones(n + 1, bool), cut_edges=cut)
        return _relative_loss(p, self.p_conversion_)

    def transition_matrix(self) -> pd.DataFrame:
        """The fitted transitions: ``channel_from, channel_to, transition_probability``."""
        import pandas as pd

        names = [START, *self.states_, CONVERSION, NULL]
        c = self._chain
        keep = c.prob > 0
        return pd.DataFrame(
            {
                "channel_from": np.asarray(names, dtype=object)[c.frm[keep]],
                "channel_to": np.asarray(names, dtype=object)[c.to[keep]],
                "transition_probability": c.prob[keep],
            }
        )

    def _channel_indices(self, channels: Iterable[str]) -> list[int]:
        if isinstance(channels, str):
            channels = [channels]
        out = []
        for ch in channels:
            if ch not in self.channels_:
                raise OptionError(
                    f"channel {ch!r} is not in the paths; expected one of "
                    f"{', '.join(self.channels_)}"
                )
            out.append(self.channels_.index(ch))
        return out

    # -- bootstrap -----------------------------------------------------------------------------
    def fit_counts(
        self, paths: PathTable, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Refit on B resampled count vectors sharing this table's paths (columns).

        Every resample's chain has this table's states and transitions, so the transition
        counts of all B resamples are sparse products with the (P, B) counts, and their
        removal solves run together (:mod:`cjsim.attribution.batched_chains`): iterative,
        warm-started from this estimator's fit, each P(conversion) to a relative error
        below ``RTOL`` (1e-10) by an a-posteriori bound; a resample whose bound does not
        hold is solved directly like :meth:`fit`.
        """
        walks = self._structure(paths)
        self._walks, self.channels_ = walks, paths.channels
        keep = self._variants()
        n, N = walks.n_states, walks.n_states + 1
        frm, to = walks.edge_from, walks.edge_to
        weights = self._batched_edge_weights(walks, conversions, nulls)
        out = sp.csr_matrix((np.ones(len(frm)), (frm, np.arange(len(frm)))), shape=(N, len(frm)))
        total = np.asarray(out @ weights)
        prob = weights / np.where(total > 0, total, 1.0)[frm]
        ends = sp.csr_matrix(
            (np.ones(paths.n_paths), (walks.last_state, np.arange(paths.n_paths))),
            shape=(N, paths.n_paths),
        )
        conv_at, value_at = np.asarray(ends @ conversions), np.asarray(ends @ value)
        conv_value = np.divide(value_at, conv_at, out=np.zeros_like(value_at), where=conv_at > 0)
        warm = self._warm[1] if self._warm is not None and self._warm[0] is walks else None
        p, v, ok = absorb_batched(frm, to, prob, conv_value, keep, warm)
        for i, b in np.argwhere(~ok):  # rare: where the iteration's error bound fails
            chain = _Chain(frm, to, prob[:, b], n, conv_value[:, b])
            p[i, b], v[i, b] = chain.solve(keep[:, i])
        if (~ok).any():
            logger.debug("bootstrap: %d of %d chain solves done directly", (~ok).sum(), ok.size)
        conv_out = share_of_total(_relative_losses(p[1:], p[0]), conversions.sum(axis=0))
        val_out = share_of_total(_relative_losses(v[1:], v[0]), value.sum(axis=0))
        return conv_out, val_out

    def _batched_edge_weights(
        self, walks: _Walks, conversions: np.ndarray, nulls: np.ndarray
    ) -> np.ndarray:
        """(E, B) transition counts of B resamples, without stacking (3P, B) counts."""
        P = conversions.shape[0]
        inc = walks.incidence.tocsc()
        journeys = inc[:, :P]
        out = np.asarray((journeys + inc[:, P : 2 * P]).tocsr() @ conversions)
        if self.use_nulls:
            out += np.asarray((journeys + inc[:, 2 * P :]).tocsr() @ nulls)
        return out


def _dense_ids(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
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


@dataclass
class _Chain:
    """Transition probabilities of a fitted chain and its absorbing solves."""

    frm: np.ndarray
    to: np.ndarray
    prob: np.ndarray
    n: int  # transient states after start
    conv_value: np.ndarray  # (n + 1,) value of a conversion reached from each state

    @classmethod
    def build(cls, walks: _Walks, weights: np.ndarray, conv_value: np.ndarray) -> _Chain:
        n = walks.n_states
        out = np.bincount(walks.edge_from, weights, minlength=n + 1)
        prob = weights / np.where(out > 0, out, 1.0)[walks.edge_from]
        return cls(walks.edge_from, walks.edge_to, prob, n, conv_value)

    def visits(self, keep: np.ndarray, cut_edges: np.ndarray | None = None) -> np.ndarray:
        """Expected visits of every state from start, states outside ``keep`` removed.

        ``keep`` has one entry per transient state including start (index 0, which must be
        kept). A transition into a removed state, or a cut edge, goes to null. The visits
        solve :math:`(I - Q)^\\top x = e_0` directly (dense LAPACK, or a sparse LU above
        :data:`DENSE_LIMIT` states); removed states get 0.
        """
        n = self.n
        frm, to, prob = self.frm, self.to, self.prob
        live = np.ones(len(prob), bool) if cut_edges is None else ~cut_edges
        idx = np.full(n + 1, -1)
        m = int(keep.sum())
        idx[keep] = np.arange(m)
        inner = live & (to <= n) & keep[np.minimum(frm, n)] & keep[np.minimum(to, n)]
        inner &= frm <= n
        rows, cols = idx[frm[inner]], idx[to[inner]]
        e0 = np.zeros(m)
        e0[0] = 1.0
        if m <= DENSE_LIMIT:
            a = np.eye(m)
            np.add.at(a, (rows, cols), -prob[inner])
            x = np.linalg.solve(a.T, e0)
        else:
            import scipy.sparse.linalg as spla  # only for chains whose iteration failed

            a = sp.identity(m, format="csc") - sp.csc_matrix(
                (prob[inner], (rows, cols)), shape=(m, m)
            )
            x = spla.splu(a).solve(e0, trans="T")
        out = np.zeros(n + 1)
        out[keep] = x
        return out

    def visits_all(self, keep: np.ndarray) -> np.ndarray:
        """Visits (n + 1, V) of the variants in the columns of ``keep`` (see :meth:`visits`).

        Up to :data:`DENSE_LIMIT` states each is a dense direct solve. Larger chains are
        solved together by iteration (:func:`~cjsim.attribution.batched_chains.
        visits_variants`) until an a-posteriori bound puts every P(conversion) within
        :data:`POINT_RTOL` relative of the exact solve, and directly where it does not: a
        sparse LU of an order-3 chain fills in a fifth of the dense matrix, while a
        hundred sparse products settle all variants at once.
        """
        V = keep.shape[1]
        if self.n <= DENSE_LIMIT:
            return np.column_stack([self.visits(keep[:, v]) for v in range(V)])
        x, ok = visits_variants(self.frm, self.to, self.prob, keep, rtol=POINT_RTOL)
        for v in np.flatnonzero(~ok):
            x[:, v] = self.visits(keep[:, v])
        return x

    def absorbed(
        self, visits: np.ndarray, cut_edges: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """P(conversion) and expected value from start given visits, shape (n + 1, ...)."""
        to_conv = self.to == self.n + 1
        if cut_edges is not None:
            to_conv &= ~cut_edges
        s, prob = self.frm[to_conv], self.prob[to_conv]
        return prob @ visits[s], (prob * self.conv_value[s]) @ visits[s]

    def solve(self, keep: np.ndarray, cut_edges: np.ndarray | None = None) -> tuple[float, float]:
        """P(conversion) and expected value from start, states outside ``keep`` removed
        (see :meth:`visits`)."""
        p, v = self.absorbed(self.visits(keep, cut_edges), cut_edges)
        return float(p), float(v)


def _value_per_conversion(walks: _Walks, paths: PathTable) -> np.ndarray:
    """Mean value per conversion of the paths whose last state is s (0 where none)."""
    n = walks.n_states
    conv = np.bincount(walks.last_state, paths.conversions, minlength=n + 1)
    val = np.bincount(walks.last_state, paths.value, minlength=n + 1)
    return np.divide(val, conv, out=np.zeros(n + 1), where=conv > 0)


def _relative_loss(removed: float, full: float) -> float:
    return float(_relative_losses(np.asarray(removed), np.asarray(full)))


def _relative_losses(removed: np.ndarray, full: np.ndarray) -> np.ndarray:
    """1 - removed / full clipped to [0, 1] (0 where full <= 0); full broadcasts by column."""
    safe = np.where(full > 0, full, 1.0)
    return np.where(full > 0, np.clip(1.0 - removed / safe, 0.0, 1.0), 0.0)


def choose_order(paths: PathTable, max_order: int = 5) -> pd.DataFrame:
    """Compare orders 1..max_order by ChannelAttribution's penalised ROC-AUC criterion.

    For each order, every path's last state predicts its conversion by the fitted one-step
    probability of converting from that state; the AUC of this prediction over converting
    vs non-converting journeys (computed exactly, ties counted half) is penalised for the
    number of possible states, :math:`1 - (1 - \\mathrm{AUC})(n - 1)/(n - s - 1)` with n
    journeys and :math:`s = \\binom{K + k - 1}{k}`. The suggested order maximises it.

    Returns
    -------
    DataFrame
        ``order, states, auc, penalized_auc, suggested`` (one row per order).
    """
    from math import comb

    import pandas as pd

    if paths.nulls.sum() <= 0 or paths.conversions.sum() <= 0:
        raise OptionError(
            "choosing an order needs converting and non-converting journeys (total_null)"
        )
    K = len(paths.channels)
    n_journeys = paths.conversions.sum() + paths.nulls.sum()
    rows = []
    for k in range(1, max_order + 1):
        model = MarkovAttribution(order=k)
        walks = _walks(paths, k, False)
        chain = _Chain.build(
            walks, model._edge_weights(walks, paths.conversions, paths.nulls),
            np.zeros(walks.n_states + 1),
        )  # fmt: skip
        direct = np.zeros(walks.n_states + 1)
        to_conv = chain.to == walks.n_states + 1
        direct[chain.frm[to_conv]] = chain.prob[to_conv]
        auc = weighted_auc(direct[walks.last_state], paths.conversions, paths.nulls)
        nodes = comb(K + k - 1, k)
        penalised = 1 - (1 - auc) * (n_journeys - 1) / (n_journeys - nodes - 1)
        if not 0 <= penalised <= 1:
            penalised = 0.0
        rows.append((k, walks.n_states, auc, penalised))
    frame = pd.DataFrame(rows, columns=["order", "states", "auc", "penalized_auc"])
    frame["suggested"] = frame["penalized_auc"] == frame["penalized_auc"].max()
    return frame


def weighted_auc(score: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> float:
    """ROC-AUC with per-item positive and negative weights (ties count one half)."""
    order = np.argsort(score, kind="stable")
    s, pos, neg = score[order], positives[order], negatives[order]
    uniq, group = np.unique(s, return_inverse=True)
    pos_g = np.bincount(group, pos, minlength=len(uniq))
    neg_g = np.bincount(group, neg, minlength=len(uniq))
    neg_below = np.cumsum(neg_g) - neg_g
    total = pos_g.sum() * neg_g.sum()
    return float(((pos_g * (neg_below + 0.5 * neg_g)).sum()) / total) if total > 0 else 0.5
