"""Writing event logs: integer-coded arrays to Arrow, and Arrow to Parquet or CSV, atomically.

Engines stream their chunks through an :class:`EventWriter`; a DataFrame is written whole
by :func:`write_events`. Categories are Parquet dictionaries, plain text in CSV.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cjsim._io import atomic_path
from cjsim.errors import EventLogError
from cjsim.events.schema import EVENT_KINDS, METADATA_KEY, arrow_schema, event_format

if TYPE_CHECKING:
    import pandas as pd


def _dictionary(codes: np.ndarray, names: tuple[str, ...], index_type: pa.DataType) -> pa.Array:
    mask = codes < 0
    indices = pa.array(
        codes.astype(index_type.to_pandas_dtype()), mask=mask if mask.any() else None
    )
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(names), pa.string()))


def arrays_to_table(
    arrays: Mapping[str, np.ndarray],
    channels: tuple[str, ...],
    stages: tuple[str, ...],
    segments: tuple[str, ...],
) -> pa.Table:
    """Build an Arrow table from integer-coded event arrays (codes < 0 mean empty)."""
    return pa.Table.from_arrays(
        [
            pa.array(arrays["customer_id"], pa.int64()),
            pa.array(arrays["time"], pa.float64()),
            _dictionary(arrays["event"], EVENT_KINDS, pa.int8()),
            _dictionary(arrays["channel"], channels, pa.int16()),
            _dictionary(arrays["stage"], stages, pa.int16()),
            pa.array(arrays["value"], pa.float64()),
            _dictionary(arrays["segment"], segments, pa.int16()),
        ],
        schema=arrow_schema(),
    )


class EventWriter:
    """Stream event chunks to a Parquet or CSV file, atomically.

    Use as a context manager; the file appears under its name only when the block ends
    without an exception.

    Parameters
    ----------
    path : str or Path
        ``.parquet`` (or ``.pq``) or ``.csv``.
    schema : pyarrow.Schema
        See :func:`arrow_schema`.
    metadata : mapping, optional
        Stored as JSON in the Parquet file's metadata under ``cjsim`` (model hash, seed, ...).
    """

    def __init__(
        self, path: str | Path, schema: pa.Schema, metadata: Mapping[str, Any] | None = None
    ):
        self.path = Path(path)
        self.format = event_format(self.path)
        if not self.path.parent.exists():
            raise EventLogError("output folder does not exist", source=str(self.path.parent))
        meta = {METADATA_KEY: json.dumps(dict(metadata or {}), sort_keys=True).encode()}
        self.schema = schema.with_metadata(meta)
        self.rows = 0
        self._ctx: Any = None
        self._writer: Any = None

    def __enter__(self) -> EventWriter:
        self._ctx = atomic_path(self.path)
        tmp = self._ctx.__enter__()
        if self.format == "parquet":
            self._writer = pq.ParquetWriter(tmp, self.schema, compression="zstd")
        else:
            self._writer = pacsv.CSVWriter(tmp, _plain_schema(self.schema))
        return self

    def write(self, table: pa.Table) -> None:
        """Append a chunk (a table with this writer's schema)."""
        if self.format == "csv":
            table = _plain_table(table)
        else:
            table = table.replace_schema_metadata(self.schema.metadata)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self._writer.close()
        finally:
            self._ctx.__exit__(exc_type, exc, tb)


def _plain_schema(schema: pa.Schema) -> pa.Schema:
    fields = [
        pa.field(f.name, pa.string()) if pa.types.is_dictionary(f.type) else f for f in schema
    ]
    return pa.schema(fields)


def _plain_table(table: pa.Table) -> pa.Table:
    cols = [
        col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col for col in table.columns
    ]
    return pa.Table.from_arrays(cols, schema=_plain_schema(table.schema))


def write_events(
    frame: pd.DataFrame, path: str | Path, metadata: Mapping[str, Any] | None = None
) -> None:
    """Write an event-log DataFrame to Parquet or CSV, atomically."""
    event_format(path)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with EventWriter(path, table.schema, metadata) as w:
        w.write(table.cast(w.schema))
