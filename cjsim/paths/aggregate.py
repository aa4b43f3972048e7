"""Merging journeys with the same channel sequence into the rows of a path table.

Every route to a path table ends here: journeys built from an event log, rows read from a
ChannelAttribution file, the partial tables of the out-of-core reader.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cjsim.paths.table import PathTable


def aggregate_paths(
    channels: Sequence[str],
    lengths: np.ndarray,
    codes: np.ndarray,
    conversions: np.ndarray,
    nulls: np.ndarray,
    value: np.ndarray,
    ages: np.ndarray | None = None,
) -> PathTable:
    """Merge journeys (or rows) with identical channel sequences, exactly.

    Journeys are grouped by length; within a length the codes form a dense matrix whose
    distinct rows are found with ``np.unique(axis=0)``: no hashing, no string keys, and a
    loop over distinct lengths only.

    Parameters
    ----------
    channels : sequence of str
        Channel names; ``codes`` index into it.
    lengths : ndarray of int, shape (J,)
        Touches per journey; journey ``j`` is the next ``lengths[j]`` entries of ``codes``.
        Journeys of length 0 are dropped.
    codes : ndarray of int, shape (lengths.sum(),)
        Channel codes of all journeys, concatenated.
    conversions, nulls, value : ndarray of float64, shape (J,)
        Counts and value per journey; a path's are their sums.
    ages : ndarray of float64, optional
        Aligned with ``codes``: days from each touch to its conversion; a path's are the
        means over its converting journeys (:attr:`PathTable.touch_age`).

    Returns
    -------
    PathTable
        Paths by length, then in code order within a length.
    """
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    out_codes, out_len, out_conv, out_null, out_val, out_age = [], [], [], [], [], []
    for L in np.unique(lengths):
        rows = np.flatnonzero(lengths == L)
        if L == 0:
            continue
        starts = offsets[rows]
        mat = codes[starts[:, None] + np.arange(L)[None, :]]
        uniq, inverse = _unique_rows(mat, len(channels))
        k = len(uniq)
        out_codes.append(uniq.ravel())
        out_len.append(np.full(k, L, np.int64))
        out_conv.append(np.bincount(inverse, conversions[rows], minlength=k))
        out_null.append(np.bincount(inverse, nulls[rows], minlength=k))
        out_val.append(np.bincount(inverse, value[rows], minlength=k))
        if ages is not None:
            out_age.append(_mean_ages(ages, starts, L, inverse, k, conversions[rows]))
    if not out_len:
        return PathTable(
            tuple(channels), np.zeros(1, np.int64), np.zeros(0, np.int32),
            np.zeros(0), np.zeros(0), np.zeros(0),
        )  # fmt: skip
    lens = np.concatenate(out_len)
    return PathTable(
        channels=tuple(channels),
        offsets=np.concatenate(([0], np.cumsum(lens))).astype(np.int64),
        codes=np.concatenate(out_codes).astype(np.int32),
        conversions=np.concatenate(out_conv).astype(np.float64),
        nulls=np.concatenate(out_null).astype(np.float64),
        value=np.concatenate(out_val).astype(np.float64),
        touch_age=np.concatenate(out_age) if ages is not None else None,
    )


def _unique_rows(mat: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(mat, axis=0, return_inverse=True)`` for codes in ``[0, base)``.

    Where a row fits one int64 as a base-``base`` number (first code most significant,
    so numbers sort as the rows do), the distinct numbers are found instead of the
    distinct rows: a sort of integers, not of row views.
    """
    L = mat.shape[1]
    if L * np.log2(max(base, 2)) > 62:
        uniq, inverse = np.unique(mat, axis=0, return_inverse=True)
        return uniq, inverse.ravel()
    key = mat[:, 0].astype(np.int64)
    for j in range(1, L):
        key *= base
        key += mat[:, j]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return mat[first], inverse.ravel()


def _mean_ages(
    ages: np.ndarray,
    starts: np.ndarray,
    L: int,
    inverse: np.ndarray,
    k: int,
    conversions: np.ndarray,
) -> np.ndarray:
    """Per distinct path of length L, the mean age of each position over converting
    journeys (flattened row-major; 0 where the path has none)."""
    wsum = np.bincount(inverse, conversions, minlength=k)
    mat = ages[starts[:, None] + np.arange(L)[None, :]]
    out = np.empty((k, L))
    for j in range(L):
        out[:, j] = np.bincount(inverse, conversions * mat[:, j], minlength=k)
    return (out / np.where(wsum > 0, wsum, 1.0)[:, None]).ravel()
