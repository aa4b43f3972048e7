"""The event-log schema: the event kinds and their codes, the columns, the file formats.

See :mod:`cjsim.events` for what each column holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from cjsim.errors import EventLogError

EVENT_KINDS: tuple[str, ...] = ("touch", "stage", "conversion")
TOUCH, STAGE, CONVERSION = 0, 1, 2
COLUMNS: tuple[str, ...] = ("customer_id", "time", "event", "channel", "stage", "value", "segment")
REQUIRED: tuple[str, ...] = ("customer_id", "time", "event")
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
METADATA_KEY = b"cjsim"


def event_format(path: str | Path) -> str:
    """``parquet`` or ``csv`` from a file name; anything else is an error."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise EventLogError(
            f"unknown event-log format '{suffix or '(no suffix)'}'; expected .parquet or .csv",
            source=str(path),
        )
    return FORMATS[suffix]


def arrow_schema() -> pa.Schema:
    """The Arrow schema of a simulated event log (categories as dictionaries)."""
    cat = pa.dictionary(pa.int16(), pa.string())
    return pa.schema(
        [
            ("customer_id", pa.int64()),
            ("time", pa.float64()),
            ("event", pa.dictionary(pa.int8(), pa.string())),
            ("channel", cat),
            ("stage", cat),
            ("value", pa.float64()),
            ("segment", cat),
        ]
    )


def label_codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """A text column as integer codes and their labels (-1: empty), without turning
    millions of values into strings: a categorical column gives its own codes."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        return codes, [str(c) for c in column.cat.categories]
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return np.asarray(codes), [str(u) for u in uniques]


def rows_labelled(column: pd.Series, label: str) -> np.ndarray:
    """A boolean per row: the column holds ``label``."""
    codes, names = label_codes(column)
    if label not in names:
        return np.zeros(codes.size, dtype=bool)
    return codes == names.index(label)
