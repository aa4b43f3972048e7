"""Small path tables and random order-1 tables for the attribution tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cjsim.paths import PathTable, path_table_from_frame


def table(rows: list[tuple[str, float, float, float]]) -> PathTable:
    """A path table from (path, conversions, nulls, value) rows."""
    frame = pd.DataFrame(
        rows, columns=["path", "total_conversions", "total_null", "total_conversion_value"]
    )
    return path_table_from_frame(frame)


def credit(est, paths: PathTable) -> dict[str, float]:
    return dict(zip(paths.channels, est.conversions_, strict=True))


def random_table(
    K: int = 5, P: int = 300, max_len: int = 6, seed: int = 0, nulls: bool = True
) -> PathTable:
    """Random distinct-ish paths with Poisson counts (paths may repeat: they are merged)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, max_len + 1, P)
    codes = rng.integers(0, K, lengths.sum())
    names = np.array([f"ch{i}" for i in range(K)], dtype=object)
    parts = np.split(names[codes], np.cumsum(lengths)[:-1])
    conv = rng.poisson(2.0, P).astype(float)
    rows = [
        (" > ".join(p), c, float(rng.poisson(6.0)) if nulls else 0.0, c * rng.gamma(2.0, 20.0))
        for p, c in zip(parts, conv, strict=True)
    ]
    return table(rows)
