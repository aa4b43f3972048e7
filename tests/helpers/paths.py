"""Small event logs and path tables for the paths and attribution tests."""

from __future__ import annotations

import pandas as pd


def log() -> pd.DataFrame:
    """Five customers, rows of c2 and c5 interleaved as in a real export.

    c1: a(0) b(1) conv 10 (2) c(3) conv 5 (4)   c2: a b (no conversion)
    c3: conversion without any touch           c4: b b conv 7
    c5: a b conv 3
    """
    rows = [
        (1, 0.0, "touch", "a", 0), (1, 1.0, "touch", "b", 0), (1, 2.0, "conversion", "", 10),
        (1, 3.0, "touch", "c", 0), (1, 4.0, "conversion", "", 5),
        (2, 0.0, "touch", "a", 0), (5, 0.5, "touch", "a", 0), (2, 1.0, "touch", "b", 0),
        (5, 1.5, "touch", "b", 0), (5, 2.5, "conversion", "", 3),
        (3, 1.0, "conversion", "", 4),
        (4, 0.0, "touch", "b", 0), (4, 0.2, "touch", "b", 0), (4, 0.3, "conversion", "", 7),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["customer_id", "time", "event", "channel", "value"])
