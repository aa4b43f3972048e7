"""What the attribution commands accept: a path table or an event log, detected.

A ``.csv`` whose header has a ``path`` column is a ChannelAttribution-format path table;
any other ``.csv`` or ``.parquet`` is an event log, aggregated into journeys in memory when
it is small and out of core with DuckDB when it is large (both give the same table).
"""

from __future__ import annotations

from pathlib import Path

from cjsim.errors import EventLogError
from cjsim.paths import (
    JourneyStats,
    PathTable,
    PathTableError,
    paths_from_events,
    read_path_table,
)

#: Event logs above this size (bytes) are aggregated with DuckDB instead of pandas.
OUT_OF_CORE_BYTES = 256 * 2**20


def is_path_table(path: Path, delimiter: str | None = None) -> bool:
    """True for a CSV whose header names a ``path`` column."""
    if path.suffix.lower() != ".csv":
        return False
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    sep = delimiter or (";" if header.count(";") > header.count(",") else ",")

    def fields(by: str) -> list[str]:
        return [h.strip().strip('"') for h in header.split(by)]

    if {"path", "total_conversions"} & set(fields(sep)):
        return True  # (a missing column is then named by the path-table reader)
    other = next((d for d in (",", ";", "\t", "|") if d != sep and "path" in fields(d)), None)
    if other is not None:
        raise PathTableError(
            f"the header splits into path table columns on {other!r}, not on {sep!r}; "
            "expected ',' or ';' between the columns (--delimiter says which of the two)",
            source=str(path),
            key="header",
        )
    return False


def load_paths(
    path: str | Path,
    *,
    delimiter: str | None = None,
    multi_conversion: bool = False,
    lookback_days: float | None = None,
    out_of_core: bool | None = None,
) -> tuple[PathTable, JourneyStats | None]:
    """Read a path table, or build one from an event log.

    ``out_of_core=None`` chooses DuckDB for event logs above :data:`OUT_OF_CORE_BYTES`.
    Journey statistics are returned for event logs (``None`` for a path table).
    """
    p = Path(path)
    if not p.exists():
        raise EventLogError("file not found; expected a path table or an event log", source=str(p))
    if p.suffix.lower() not in (".csv", ".parquet"):
        raise EventLogError(
            f"unknown input format {p.suffix!r}; expected a path table (.csv) or an event log "
            "(.csv or .parquet)",
            source=str(p),
        )
    if p.stat().st_size == 0:
        raise EventLogError("file is empty; expected a path table or an event log", source=str(p))
    if is_path_table(p, delimiter):
        return read_path_table(p, delimiter=delimiter), None
    return load_event_paths(
        p, multi_conversion=multi_conversion, lookback_days=lookback_days,
        out_of_core=out_of_core,
    )  # fmt: skip


def load_event_paths(
    path: str | Path,
    *,
    multi_conversion: bool = False,
    lookback_days: float | None = None,
    out_of_core: bool | None = None,
) -> tuple[PathTable, JourneyStats]:
    """The path table of an event log, in memory or (large files) out of core."""
    p = Path(path)
    if not p.exists():
        raise EventLogError("file not found; expected an event log", source=str(p))
    if out_of_core is None:
        out_of_core = p.stat().st_size > OUT_OF_CORE_BYTES
    if out_of_core:
        from cjsim.paths_duckdb import paths_from_event_file

        return paths_from_event_file(
            p, multi_conversion=multi_conversion, lookback_days=lookback_days
        )
    from cjsim.events import read_events

    return paths_from_events(
        read_events(p), multi_conversion=multi_conversion, lookback_days=lookback_days,
        source=str(p),
    )  # fmt: skip
