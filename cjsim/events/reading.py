"""Reading event logs from Parquet or CSV, with errors that name the file, row and value.

A CSV file's header is checked before pandas reads it, a row with more fields than the
header is named with advice, and text timestamps become timestamps as a Parquet file's
are; the frame is then checked by :func:`~cjsim.events.checks.validate_events`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cjsim.errors import EventLogError, check_header_names, not_utf8
from cjsim.events.checks import validate_events
from cjsim.events.schema import METADATA_KEY, event_format


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
