r"""Absorption in many chains that share one transition pattern, solved together.

A bootstrap resample of a path table reweights its paths: every resample's chain has the
same states and the same possible transitions, only the probabilities differ. Markov
attribution needs, for each of B resamples and each of V *variants* of its chain (all
states; without the states of one channel), the probability of conversion from
``(start)``. This module finds the expected number of visits :math:`x` of every state from
``(start)`` for all (resample, variant) pairs at once,

.. math:: (I - Q_b)_{S_v}^{\top}\, x_{bv} = e_0,

with :math:`Q_b` the transient block of resample b and :math:`S_v` the states variant v
keeps (a removed state is never entered: its visits are zero). Then
:math:`p_{bv} = x_{bv} \cdot r_b` with :math:`r_b` the one-step probability of
conversion, and the expected value :math:`x_{bv} \cdot (r_b \circ \text{value}_b)`.

The B transition matrices form one block-diagonal sparse matrix; the V variants are the
columns it multiplies (masked to their states); a BiCGSTAB iteration (van der Vorst 1992)
runs on every column in lock step, warm-started from the visits of the point estimate.

**Error bound.** With the residual :math:`\rho = e_0 - A^{\top}\tilde x` of an approximate
solution, :math:`p - \tilde p = \rho \cdot h` where :math:`h = A^{-1} r` is the probability
of conversion from each state, which lies in [0, 1]; so :math:`|p - \tilde p| \le
\lVert\rho\rVert_1`. A column is accepted when :math:`\lVert\rho\rVert_1 \le
\mathrm{rtol}\cdot\tilde p_{b0}` (the true residual, recomputed at the end): the full
chain's P(conversion) is then within ``rtol`` relative, and every removal effect
:math:`1 - p_{bv}/p_{b0}` within about ``2 rtol`` absolute. For value the same residual
bounds the error by :math:`\lVert\rho\rVert_1 \max \text{value}`, so a value removal
effect is within ``2 rtol`` times the ratio of the largest to the mean value per
conversion. Columns that are not accepted are reported, for the caller to solve directly.

References
----------
van der Vorst, H. A. (1992). Bi-CGSTAB: a fast and smoothly converging variant of Bi-CG for
the solution of nonsymmetric linear systems. *SIAM Journal on Scientific and Statistical
Computing* 13(2), 631-644.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Accepted error of the full chain's P(conversion), relative (see the module docstring).
RTOL = 1e-10
#: BiCGSTAB iterations per pass, and passes restarted from the true residual.
MAX_ITER, MAX_PASSES = 150, 3
#: Doubles per iteration vector: resamples are solved in chunks of at most this many.
CHUNK_ELEMENTS = 1 << 22


def absorb_batched(
    frm: np.ndarray,
    to: np.ndarray,
    prob: np.ndarray,
    conv_value: np.ndarray,
    keep: np.ndarray,
    warm: np.ndarray | None = None,
    *,
    rtol: float = RTOL,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(conversion) and expected value from start for B chains x V variants.

    Parameters
    ----------
    frm, to : ndarray of int, shape (E,)
        Transitions; state 0 is ``(start)``, 1..n transient states, n + 1 conversion,
        n + 2 null.
    prob : ndarray, shape (E, B)
        Transition probabilities of each chain (rows of a state sum to 1 or to 0).
    conv_value : ndarray, shape (n + 1, B)
        Value of a conversion reached from each state, per chain.
    keep : ndarray of bool, shape (n + 1, V)
        States of each variant; ``keep[0]`` (start) must be True. Column 0 is the full
        chain, whose P(conversion) scales the error bound of every variant.
    warm : ndarray, shape (n + 1, V), optional
        Visits to start from (the point estimate's); zero outside each variant's states.

    Returns
    -------
    p, value : ndarray, shape (V, B)
    converged : ndarray of bool, shape (V, B)
        Where the error bound holds; elsewhere the numbers are an approximation.
    """
    N, V = keep.shape
    B = prob.shape[1]
    inner = to < N
    to_conv = to == N
    r = np.zeros((N, B))
    np.add.at(r, frm[to_conv], prob[to_conv])
    p, val = np.zeros((V, B)), np.zeros((V, B))
    ok = np.zeros((V, B), bool)
    n_chunks = -(-B // max(1, CHUNK_ELEMENTS // (N * V)))
    chunk = -(-B // n_chunks)  # even chunks
    for lo in range(0, B, chunk):
        cols = slice(lo, min(lo + chunk, B))
        solver = _Batch(frm[inner], to[inner], prob[inner, cols], keep)
        x, ok[:, cols] = solver.solve(r[:, cols].T, warm, rtol)
        p[:, cols] = np.einsum("bnv,bn->vb", x, r[:, cols].T)
        val[:, cols] = np.einsum("bnv,bn->vb", x, (r[:, cols] * conv_value[:, cols]).T)
    return p, val, ok


def visits_variants(
    frm: np.ndarray,
    to: np.ndarray,
    prob: np.ndarray,
    keep: np.ndarray,
    *,
    rtol: float = RTOL,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected visits from start of one chain's V variants, solved together.

    The single-chain case of :func:`absorb_batched` (same arguments with ``prob`` of shape
    (E,)), returning the visits themselves: shape (n + 1, V), and per variant whether the
    error bound holds.
    """
    N = keep.shape[0]
    inner, to_conv = to < N, to == N
    r = np.bincount(frm[to_conv], prob[to_conv], minlength=N)[None, :]
    solver = _Batch(frm[inner], to[inner], prob[inner, None], keep)
    x, ok = solver.solve(r, None, rtol)
    return x[0], ok[:, 0]


class _Batch:
    """The operator ``x -> x - mask * (Q_b^T x)`` on (B, N, V) arrays, and BiCGSTAB."""

    def __init__(self, frm: np.ndarray, to: np.ndarray, prob: np.ndarray, keep: np.ndarray):
        N, V = keep.shape
        B = prob.shape[1]
        self.shape = (B, N, V)
        self.mask = keep.astype(np.float64)
        # block b holds Q_b^T: row (b, to), column (b, from)
        shift = (np.arange(B) * N)[:, None]
        self.qt = sp.csr_matrix(
            (prob.T.ravel(), ((shift + to).ravel(), (shift + frm).ravel())), shape=(B * N, B * N)
        )

    def apply(self, x: np.ndarray) -> np.ndarray:
        B, N, V = self.shape
        y = (self.qt @ x.reshape(B * N, V)).reshape(B, N, V)
        y *= self.mask
        np.subtract(x, y, out=y)
        return y

    def residual(self, x: np.ndarray) -> np.ndarray:
        res = -self.apply(x)
        res[:, 0, :] += 1.0
        return res

    def solve(
        self, r: np.ndarray, warm: np.ndarray | None, rtol: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Visits (B, N, V) and, per (V, B), whether the error bound holds."""
        x = np.zeros(self.shape)
        if warm is None:
            x[:, 0, :] = 1.0
        else:
            x[:] = warm
        for _ in range(MAX_PASSES):
            res = self.residual(x)
            done = _accepted(res, x, r, rtol)
            if done.all():
                break
            x = self._bicgstab(x, res, done, r, rtol)
        else:
            done = _accepted(self.residual(x), x, r, rtol)
        return x, done.T

    def _bicgstab(
        self, x: np.ndarray, res: np.ndarray, done: np.ndarray, r: np.ndarray, rtol: float
    ) -> np.ndarray:
        """BiCGSTAB on every column not ``done``; converged or broken columns freeze."""
        active = ~done
        rhat = res.copy()
        p = np.zeros(self.shape)
        v = np.zeros(self.shape)
        rho = alpha = omega = np.ones(active.shape)
        for _ in range(MAX_ITER):
            rho_new = _dot(rhat, res)
            beta = _ratio(rho_new * alpha, rho * omega, active)
            p -= omega[:, None, :] * v
            p *= beta[:, None, :]
            p += res
            v = self.apply(p)
            alpha = _ratio(rho_new, _dot(rhat, v), active)
            s = alpha[:, None, :] * v
            np.subtract(res, s, out=s)
            t = self.apply(s)
            omega = _ratio(_dot(t, s), _dot(t, t), active)
            x += alpha[:, None, :] * p
            x += omega[:, None, :] * s
            t *= omega[:, None, :]
            res = np.subtract(s, t, out=s)
            rho = np.where(active, rho_new, 1.0)
            # a zero coefficient is a breakdown (or an exact solution): stop that column
            active &= (alpha != 0) & (omega != 0)
            active &= ~_accepted(res, x, r, rtol)
            if not active.any():
                break
        return x


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Column-wise inner products over states: (B, N, V) x (B, N, V) -> (B, V)."""
    return np.einsum("bnv,bnv->bv", a, b)


def _ratio(num: np.ndarray, den: np.ndarray, active: np.ndarray) -> np.ndarray:
    """num / den on active columns with a nonzero finite denominator, else 0."""
    ok = active & (den != 0) & np.isfinite(den)
    return np.divide(num, den, out=np.zeros_like(num), where=ok)


def _accepted(res: np.ndarray, x: np.ndarray, r: np.ndarray, rtol: float) -> np.ndarray:
    """(B, V): the residual bounds the error below ``rtol`` x the full chain's P(conv).

    The full chain (column 0) must hold its bound for the others' to mean anything.
    """
    p_full = np.abs(np.einsum("bn,bn->b", x[:, :, 0], r))
    ok = np.abs(res).sum(axis=1) <= rtol * p_full[:, None]
    return ok & ok[:, :1]
