"""The event log: the one thing that flows from simulation to analysis.

One row per event, sorted by time within a customer:

============  ===================================  ==========================================
column        type                                 meaning
============  ===================================  ==========================================
customer_id   int64 (or string in real exports)    who
time          float64 days since start (or a       when; non-decreasing within a customer
              timestamp in real exports)
event         category: touch, stage, conversion   what happened
channel       category, empty unless ``touch``     the touchpoint's channel
stage         category, empty unless ``stage``     the stage entered
value         float64, 0 unless ``conversion``     revenue of the conversion
segment       category (optional)                  the customer's segment
============  ===================================  ==========================================

Parquet is the default format (categories are stored as dictionaries, the model hash and
seed in the file's metadata); CSV is written with the same columns. Files are written
atomically: a failed or interrupted run leaves no partial file behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cjsim._io import atomic_path
from cjsim.errors import EventLogError, check_header_names, not_utf8, show

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


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``cjsim`` metadata of a Parquet event log ({} for CSV or foreign files)."""
    if event_format(path) != "parquet":
        return {}
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(METADATA_KEY)
    return json.loads(raw) if raw else {}


def read_events(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    validate: bool = True,
) -> pd.DataFrame:
    """Read an event log from Parquet or CSV.

    Parameters
    ----------
    path : str or Path
        The file.
    columns : mapping, optional
        Renames for real exports, ``{their_name: our_name}`` (e.g. ``{"user": "customer_id"}``).
    validate : bool
        Check the schema and name the first bad row (default).
    """
    src = str(path)
    fmt = event_format(path)
    if not Path(path).exists():
        raise EventLogError("file not found; expected an event log", source=src)
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(path)
        else:
            _check_header(Path(path), src)
            frame = pd.read_csv(
                path,
                encoding="utf-8-sig",
                dtype={
                    "channel": "string",
                    "stage": "string",
                    "segment": "string",
                    "event": "string",
                },
                keep_default_na=False,
                na_values={"time": [""], "value": [""]},
            )
    except UnicodeDecodeError as exc:
        raise not_utf8(exc, src) from None
    except (pa.ArrowInvalid, pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as exc:
        if fmt == "csv" and isinstance(exc, pd.errors.ParserError):
            raise (too_many_fields(Path(path), ",", src, QUOTE_HINT) or EventLogError(
                f"cannot be read as {fmt} ({exc})", source=src)) from None  # fmt: skip
        raise EventLogError(f"cannot be read as {fmt} ({exc})", source=src) from exc
    if fmt == "csv" and not isinstance(frame.index, pd.RangeIndex):
        # pandas takes leading fields as an index when rows have more fields than the header
        raise too_many_fields(Path(path), ",", src, QUOTE_HINT) or EventLogError(
            "rows have more fields than the header; expected one field per column", source=src
        )
    if columns:
        frame = frame.rename(columns=dict(columns))
    frame = _parse_text_times(frame)
    if validate:
        validate_events(frame, source=src)
    for col in ("event", "channel", "stage", "segment"):
        if col in frame.columns and not isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].replace("", pd.NA).astype("category")
    return frame


def _check_header(path: Path, source: str) -> None:
    """A CSV header naming a column twice is refused (pandas would rename the second)."""
    try:
        with path.open(encoding="utf-8-sig") as fh:
            names = [n.strip() for n in fh.readline().rstrip("\r\n").split(",")]
    except UnicodeDecodeError as exc:
        raise not_utf8(exc, source) from None
    check_header_names(names, source)


#: What to do about a row with more fields than the header of an event log.
QUOTE_HINT = "a channel name with ',' must be in double quotes (\"search, brand\")"


def too_many_fields(
    path: Path,
    sep: str,
    source: str | None,
    hint: str,
    error: type[EventLogError] = EventLogError,
) -> EventLogError | None:
    """The error naming the first row with more fields than the header (an unquoted
    delimiter inside a value), or None. Rows are numbered from 1, blank lines skipped,
    as pandas numbers them."""
    import csv

    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        rows = csv.reader(fh, delimiter=sep)
        header = next(rows, [])
        number = 0
        for row in rows:
            if not row:
                continue
            number += 1
            if len(row) > len(header):
                return error(
                    f"{len(row)} fields where the header has {len(header)}; {hint}",
                    source=source,
                    key=f"row {number}",
                )
    return None


def _parse_text_times(frame: pd.DataFrame) -> pd.DataFrame:
    """Times written as text (a CSV export's ISO timestamps) become timestamps, as a
    Parquet file's are; numbers and unparseable text are left for the validator."""
    time = frame.get("time")
    if time is None or pd.api.types.is_numeric_dtype(time):
        return frame
    if not (pd.api.types.is_object_dtype(time) or pd.api.types.is_string_dtype(time)):
        return frame
    if pd.to_numeric(time, errors="coerce").notna().all():
        return frame.assign(time=pd.to_numeric(time))
    try:  # offsets that change (summer and winter time) are read as UTC instants
        parsed = pd.to_datetime(time, errors="coerce", format="ISO8601", utc=True)
    except (ValueError, TypeError):
        return frame
    if parsed.notna().all():
        return frame.assign(time=parsed)
    return frame


def _reject_rows(bad: np.ndarray, message: Callable[[int], str], source: str | None) -> None:
    """Raise naming the first row (1-based) where ``bad`` is true."""
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise EventLogError(message(i), source=source, key=f"row {i + 1}")


def validate_events(frame: pd.DataFrame, *, source: str | None = None) -> None:
    """Check an event log against the schema; raise naming the first bad column or row.

    Rows are numbered from 1 (the first data row) as in a spreadsheet without its header.
    """
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise EventLogError(
            f"missing column(s) {', '.join(missing)}; expected at least {', '.join(REQUIRED)} "
            f"(found: {', '.join(map(str, frame.columns)) or 'none'})",
            source=source,
        )
    if len(frame) == 0:
        raise EventLogError("the event log has no rows", source=source)
    ev = frame["event"].astype("string")
    _reject_rows(
        (~ev.isin(EVENT_KINDS)).to_numpy(),
        lambda i: f"event is {show(ev.iloc[i])}; expected one of {', '.join(EVENT_KINDS)}",
        source,
    )
    time = frame["time"]
    if pd.api.types.is_datetime64_any_dtype(time):
        t = time.astype("int64").to_numpy(dtype=np.float64)
        t[time.isna().to_numpy()] = np.nan
    else:
        try:
            t = pd.to_numeric(time).to_numpy(dtype=np.float64)
        except (ValueError, TypeError) as exc:
            raise EventLogError(
                f"time is not numeric ({exc}); expected days since start or a timestamp",
                source=source,
                key="time",
            ) from None
    nan = ~np.isfinite(t)
    _reject_rows(
        nan,
        lambda i: f"time is {show(time.iloc[i])}; expected a finite number of days or a timestamp",
        source,
    )
    cust = frame["customer_id"]
    empty = cust.isna().to_numpy()
    if pd.api.types.is_object_dtype(cust) or pd.api.types.is_string_dtype(cust):
        # a CSV's empty field is read as text, not as a missing value
        blank = (cust.astype("string").str.strip() == "").fillna(False).to_numpy(bool)
        empty = empty | blank
    _reject_rows(empty, lambda i: "customer_id is empty; expected who the event is of", source)
    codes = pd.factorize(cust)[0]
    order = np.argsort(codes, kind="stable")
    same = codes[order][1:] == codes[order][:-1]
    back = np.zeros(len(t), dtype=bool)
    back[order[1:][same & (t[order][1:] < t[order][:-1])]] = True
    _reject_rows(
        back,
        lambda i: (
            f"time {show(t[i])} is earlier than the customer's previous event; "
            "expected events sorted by time within each customer"
        ),
        source,
    )
    touch = (ev == "touch").to_numpy()
    if touch.any():
        if "channel" not in frame.columns:
            raise EventLogError(
                "missing column channel; expected a channel for every touch", source=source
            )
        ch = frame["channel"].astype("string")
        empty = touch & (ch.isna() | (ch == "")).to_numpy()
        _reject_rows(empty, lambda i: "touch without a channel; expected a channel name", source)
    conv = (ev == "conversion").to_numpy()
    if "value" in frame.columns:
        raw = frame["value"]
        v = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        _reject_rows(
            np.isnan(v) & (raw.astype("string").fillna("") != "").to_numpy(bool),
            lambda i: f"value is {show(raw.iloc[i])}; expected a number",
            source,
        )
        badv = conv & ~(np.isfinite(v) & (v >= 0))
        _reject_rows(
            badv,
            lambda i: f"conversion value is {show(v[i])}; expected a finite amount >= 0",
            source,
        )
    if "stage" in frame.columns:
        st = frame["stage"].astype("string")
        empty = (ev == "stage").to_numpy() & (st.isna() | (st == "")).to_numpy()
        _reject_rows(empty, lambda i: "stage event without a stage; expected a stage name", source)
