r"""Absorbing solves of a fitted Markov chain: P(conversion) with states removed.

The chain of :mod:`cjsim.attribution.markov_states` is absorbing, so the probability of
conversion from every state solves

.. math:: (I - Q)\,h = r

with Q the transient-to-transient block and r the one-step probability of conversion.
Here it is solved through the expected visits of each state from start,
:math:`(I - Q)^\top x = e_0`, then :math:`P = x \cdot r`; the expected value likewise, with
r weighted by the value of a conversion reached from each state. Removing states sends
every transition into them to null; the removal effect is the relative loss
:math:`1 - P_{-C} / P` (:func:`relative_losses`).

**Solves.** Up to :data:`DENSE_LIMIT` states every chain (the full one and one per
removed channel) is a dense LAPACK solve. Larger chains are iterated together
(:mod:`cjsim.attribution.batched_chains`) until an a-posteriori error bound puts each
P(conversion) within :data:`POINT_RTOL` (1e-12) relative of the exact solution, and a
chain whose bound fails is solved by a sparse LU: a sparse LU of an order-3 chain fills in
about a fifth of the dense matrix, while a hundred sparse products settle every variant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from cjsim.attribution.batched_chains import visits_variants
from cjsim.attribution.markov_states import Walks

#: Above this many states the solves iterate (sparse LU where the bound fails), not LAPACK.
DENSE_LIMIT = 600
#: Above DENSE_LIMIT, the point estimate's accepted error of every P(conversion), relative.
POINT_RTOL = 1e-12


@dataclass
class FittedChain:
    """Transition probabilities of a fitted chain and its absorbing solves."""

    frm: np.ndarray
    to: np.ndarray
    prob: np.ndarray
    n: int  # transient states after start
    conv_value: np.ndarray  # (n + 1,) value of a conversion reached from each state

    @classmethod
    def build(cls, walks: Walks, weights: np.ndarray, conv_value: np.ndarray) -> FittedChain:
        """The chain of ``walks`` whose transitions were counted ``weights`` times."""
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


def relative_loss(removed: float, full: float) -> float:
    """The removal effect of one variant: :func:`relative_losses` of two numbers."""
    return float(relative_losses(np.asarray(removed), np.asarray(full)))


def relative_losses(removed: np.ndarray, full: np.ndarray) -> np.ndarray:
    """1 - removed / full clipped to [0, 1] (0 where full <= 0); full broadcasts by column."""
    safe = np.where(full > 0, full, 1.0)
    return np.where(full > 0, np.clip(1.0 - removed / safe, 0.0, 1.0), 0.0)
