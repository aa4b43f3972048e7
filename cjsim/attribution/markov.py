r"""k-order Markov attribution with exact removal effects.

A journey is a walk ``(start) -> s_1 -> ... -> s_m -> (conversion | null)`` over *states*,
each a window of the last k touchpoints (:mod:`cjsim.attribution.markov_states`).
Transition probabilities are the observed transition counts normalised per state, each path
weighted by its journeys (conversions + nulls, or conversions only when the table has no
nulls).

ChannelAttribution (Altomare & Loris) estimates P(conversion) and the removal effects by
simulating walks; here the absorbing chain is solved, not sampled
(:mod:`cjsim.attribution.markov_chain`). Removing a set of channels C sends every
transition into a state that contains a channel of C to null:

.. math:: \mathrm{RE}(C) = 1 - \frac{P_{-C}(\text{conversion})}{P(\text{conversion})}

and each channel's attributed conversions are the total times
:math:`\mathrm{RE}(c) / \sum_{c'} \mathrm{RE}(c')` (Anderl, Becker, von Wangenheim &
Schumann 2016). Value follows ChannelAttribution's definition, made exact: a conversion
reached from state s is worth the mean value per conversion of the paths whose last state
is s, and the removal effect on value is the relative loss of expected value.

Bootstrap intervals (:meth:`MarkovAttribution.fit_counts`) refit the same states on every
resample of the journeys. The B resamples' chains share one transition pattern, so they
are solved together (:mod:`cjsim.attribution.batched_chains`), started from the fitted
chain's visits, each P(conversion) to 1e-10 relative, and directly where the bound fails.
:func:`choose_order` (:mod:`cjsim.attribution.markov_order`) compares orders.

References
----------
Anderl, E., Becker, I., von Wangenheim, F. & Schumann, J. H. (2016). Mapping the customer
journey: lessons learned from graph-based online attribution modeling. *International
Journal of Research in Marketing* 33(3), 457-474.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from cjsim.attribution.base import Attribution, share_of_total
from cjsim.attribution.batched_chains import absorb_batched
from cjsim.attribution.markov_chain import (
    DENSE_LIMIT,
    POINT_RTOL,
    FittedChain,
    relative_loss,
    relative_losses,
)
from cjsim.attribution.markov_order import choose_order, weighted_auc
from cjsim.attribution.markov_states import (
    Walks,
    edge_weights,
    membership,
    value_per_conversion,
    walk_structure,
)
from cjsim.errors import OptionError
from cjsim.paths import PathTable

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = [
    "CONVERSION", "DENSE_LIMIT", "NULL", "POINT_RTOL", "START", "MarkovAttribution",
    "choose_order", "weighted_auc",
]  # fmt: skip

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


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
        self._cache: tuple[int, Walks] | None = None
        self._warm: tuple[Walks, np.ndarray] | None = None

    # -- structure ---------------------------------------------------------------------------
    def _structure(self, paths: PathTable) -> Walks:
        # bootstrap refits share one structure: the same paths, other counts
        key = id(paths.offsets)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, walk_structure(paths, self.order, self.self_loops))
        return self._cache[1]

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, paths: PathTable) -> MarkovAttribution:
        """Fit the chain and solve P(conversion) and every channel's removal effect."""
        walks = self._structure(paths)
        _check_size(walks.n_states, len(paths.channels), self.order)
        self._paths, self._walks = paths, walks
        self.channels_ = paths.channels
        weights = edge_weights(walks, paths.conversions, paths.nulls, self.use_nulls)
        self._chain = FittedChain.build(walks, weights, value_per_conversion(walks, paths))
        keep = self._variants()
        visits = self._chain.visits_all(keep)
        p, v = self._chain.absorbed(visits)
        self.p_conversion_, self.expected_value_ = float(p[0]), float(v[0])
        self.removal_effects_ = relative_losses(p[1:], p[0])
        self.value_removal_effects_ = relative_losses(v[1:], v[0])
        self.conversions_ = share_of_total(self.removal_effects_, paths.conversions.sum())
        self.value_ = share_of_total(self.value_removal_effects_, paths.value.sum())
        self.states_ = self._state_names()
        self._warm = (walks, visits)  # where the bootstrap's iterative solves start
        return self

    def _variants(self) -> np.ndarray:
        """(n + 1, K + 1) bool: the states (start first) of the full chain, then of the
        chain without each channel."""
        member = membership(self._walks, len(self.channels_))
        keep = np.ones((len(member) + 1, member.shape[1] + 1), bool)
        keep[1:, 1:] = ~member
        return keep

    def _state_names(self) -> list[str]:
        names = np.asarray(self.channels_, dtype=object)
        return [",".join(names[row[row >= 0]]) for row in self._walks.windows]

    # -- queries on the fitted chain -----------------------------------------------------------
    def removal_effect(self, channels: Iterable[str], *, by: str = "conversions") -> float:
        """Removal effect of a *set* of channels removed together."""
        p, v = self._solve_without(channels)
        full = (self.p_conversion_, self.expected_value_)
        k = 0 if by == "conversions" else 1
        return relative_loss((p, v)[k], full[k])

    def conversion_probability(self, removed: Iterable[str] = ()) -> float:
        """P(conversion) from ``(start)`` with the given channels removed."""
        return self._solve_without(removed)[0]

    def _solve_without(self, channels: Iterable[str]) -> tuple[float, float]:
        """P(conversion) and expected value of the fitted chain without ``channels``."""
        idx = self._channel_indices(channels)
        member = membership(self._walks, len(self.channels_))[:, idx].any(axis=1)
        return self._chain.solve(~np.r_[False, member])

    def game_values(self) -> np.ndarray:
        """The Markov removal game: P(conversion) and expected value of the fitted chain
        keeping only each coalition's channels, shape (2^K, 2), bit i = channel i.

        One direct solve per coalition, so for few channels
        (:class:`~cjsim.attribution.shapley.MarkovShapley` allows at most 14).
        """
        K = len(self.channels_)
        member = membership(self._walks, K)
        v = np.zeros((1 << K, 2))
        state_masks = (member.astype(np.int64) << np.arange(K)).sum(axis=1)
        for S in range(1 << K):
            outside = ~S & ((1 << K) - 1)
            removed = (state_masks & outside) != 0
            v[S] = self._chain.solve(~np.r_[False, removed])
        return v

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
        return relative_loss(p, self.p_conversion_)

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
            chain = FittedChain(frm, to, prob[:, b], n, conv_value[:, b])
            p[i, b], v[i, b] = chain.solve(keep[:, i])
        if (~ok).any():
            logger.debug("bootstrap: %d of %d chain solves done directly", (~ok).sum(), ok.size)
        conv_out = share_of_total(relative_losses(p[1:], p[0]), conversions.sum(axis=0))
        val_out = share_of_total(relative_losses(v[1:], v[0]), value.sum(axis=0))
        return conv_out, val_out

    def _batched_edge_weights(
        self, walks: Walks, conversions: np.ndarray, nulls: np.ndarray
    ) -> np.ndarray:
        """(E, B) transition counts of B resamples, without stacking (3P, B) counts."""
        P = conversions.shape[0]
        inc = walks.incidence.tocsc()
        journeys = inc[:, :P]
        out = np.asarray((journeys + inc[:, P : 2 * P]).tocsr() @ conversions)
        if self.use_nulls:
            out += np.asarray((journeys + inc[:, 2 * P :]).tocsr() @ nulls)
        return out
