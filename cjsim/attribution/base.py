"""What every attribution method shares: the estimator pattern and linear crediting.

An attribution method is an estimator (as in scikit-learn): options in ``__init__``,
``fit(paths)`` returns ``self``, and the learned numbers live in attributes ending in ``_``:

``conversions_``
    attributed conversions per channel, shape (K,), summing to the table's conversions;
``value_``
    attributed conversion value per channel, summing to the table's value.

Many methods are *linear*: each touch of a path gets a fixed share of that path's
conversions (first touch: all of it; linear: ``1/L`` each; simplified Shapley: ``1/d`` for
the first touch of each of the ``d`` distinct channels). A linear method only has to say
its per-touch shares; crediting, value and the bootstrap are then one sparse product
``A @ counts`` over all paths (and all resamples at once).
"""

from __future__ import annotations

import copy

import numpy as np
import scipy.sparse as sp

from cjsim.paths import PathTable


class Attribution:
    """Base class of attribution estimators.

    Subclasses set :attr:`name` and implement :meth:`fit`; linear methods implement
    :meth:`touch_shares` instead and inherit ``fit``.
    """

    #: Method name in result files (the ``method`` column of an attribution result).
    name: str = ""

    conversions_: np.ndarray
    value_: np.ndarray
    channels_: tuple[str, ...]

    def fit(self, paths: PathTable) -> Attribution:
        """Credit the conversions and value of ``paths`` to its channels."""
        matrix = self.credit_matrix(paths)
        self.channels_ = paths.channels
        self.conversions_ = matrix @ paths.conversions
        self.value_ = matrix @ paths.value
        return self

    def touch_shares(self, paths: PathTable) -> np.ndarray:
        """Share of its path's conversions that each touch receives (aligned with codes).

        The shares of every path sum to 1.
        """
        raise NotImplementedError(f"{type(self).__name__} is not a linear method")

    def credit_matrix(self, paths: PathTable) -> sp.csr_matrix:
        """Sparse (K, P) matrix: channel credit per unit of each path's conversions."""
        shares = self.touch_shares(paths)
        return sp.csr_matrix(
            (shares, (paths.codes, paths.path_index)),
            shape=(len(paths.channels), paths.n_paths),
        )

    @property
    def is_linear(self) -> bool:
        return type(self).touch_shares is not Attribution.touch_shares

    def fit_counts(
        self, paths: PathTable, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Attributed conversions and value for resampled counts, shape (K, B) each.

        ``conversions``, ``nulls`` and ``value`` have shape (P, B): B resamples of the
        table's counts. Linear methods do this in one product; others refit per column.
        """
        if self.is_linear:
            matrix = self.credit_matrix(paths)
            return np.asarray(matrix @ conversions), np.asarray(matrix @ value)
        K, B = len(paths.channels), conversions.shape[1]
        conv_out, val_out = np.zeros((K, B)), np.zeros((K, B))
        for b in range(B):
            table = paths.with_counts(conversions[:, b], nulls[:, b], value[:, b])
            fitted = copy.copy(self).fit(table)  # keep this estimator's own fit
            conv_out[:, b], val_out[:, b] = fitted.conversions_, fitted.value_
        return conv_out, val_out


def path_ends(paths: PathTable) -> tuple[np.ndarray, np.ndarray]:
    """Index into ``codes`` of every path's first and last touch."""
    return paths.offsets[:-1], paths.offsets[1:] - 1


def position_in_path(paths: PathTable) -> np.ndarray:
    """0-based position of every touch within its path (aligned with codes)."""
    return np.arange(len(paths.codes)) - np.repeat(paths.offsets[:-1], paths.lengths)


def first_occurrence(paths: PathTable) -> np.ndarray:
    """True for the first touch of each distinct channel within its path."""
    if len(paths.codes) == 0:
        return np.zeros(0, bool)
    key = paths.path_index.astype(np.int64) * len(paths.channels) + paths.codes
    _, first = np.unique(key, return_index=True)
    out = np.zeros(len(paths.codes), bool)
    out[first] = True
    return out


def share_of_total(effects: np.ndarray, total: float | np.ndarray) -> np.ndarray:
    """``total`` shared in proportion to ``effects`` (per column when 2-D); 0 where the
    effects sum to 0. Markov removal effects and Markov-Shapley values are scaled so."""
    s = effects.sum(axis=0)
    return np.divide(effects, s, out=np.zeros_like(effects), where=s != 0) * total
