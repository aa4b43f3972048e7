"""Event logs larger than memory -> path table, out of core with DuckDB.

The aggregation is SQL that any warehouse runs alike: number each customer's conversions
with a window sum, keep the first journey (or all of them), collect each journey's channel
codes in time order, and ``GROUP BY`` the resulting list. DuckDB
streams the Parquet or CSV file and spills to disk under its memory limit, so only the
distinct paths (usually a few hundred thousand rows) come back to Python, as Arrow lists
that become the CSR arrays of a :class:`~cjsim.paths.PathTable` without a string in sight.

The log is checked first, in SQL, with the checks and messages of the in-memory reader
(:mod:`cjsim.events_duckdb`): a file is refused or accepted alike whatever its size. The
result then equals :func:`cjsim.paths.paths_from_events` on the same log (a test checks
it): same journeys, same channel codes (name order), the paths in the same order (by
length, then by codes), same counts, value and mean touch ages, so that a bootstrap over
the paths draws the same resamples with the same seed. Within a customer, events keep
their file order (which the check has found sorted by time), as the in-memory route keeps
it for ties.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute

from cjsim.errors import EventLogError
from cjsim.events import event_format
from cjsim.events_duckdb import open_events
from cjsim.paths import JourneyStats, PathTable, PathTableError, aggregate_paths

log = logging.getLogger(__name__)


def paths_from_event_file(
    path: str | Path,
    *,
    multi_conversion: bool = False,
    lookback_days: float | None = None,
    memory_limit: str = "1GB",
    threads: int | None = None,
    temp_directory: str | Path | None = None,
    partitions: int | None = None,
) -> tuple[PathTable, JourneyStats]:
    """Aggregate an event-log file into a path table without loading it into memory.

    Parameters
    ----------
    path : str or Path
        A ``.parquet`` or ``.csv`` event log (columns ``customer_id, time, event, channel,
        value``; only ``touch`` and ``conversion`` rows matter).
    multi_conversion, lookback_days :
        As in :func:`cjsim.paths.paths_from_events`.
    memory_limit : str
        DuckDB's memory limit; sorts beyond it spill to ``temp_directory``.
    partitions : int, optional
        Customers are split by a hash of their id into this many parts, aggregated one
        after the other and merged: the per-journey lists DuckDB cannot spill then fit in
        memory. Default: one part per :data:`ROWS_PER_PARTITION` rows.
    """
    import duckdb

    src = Path(path)
    event_format(src)
    if not src.exists():
        raise EventLogError("file not found; expected an event log", source=str(src))
    if lookback_days is not None and not lookback_days > 0:
        raise PathTableError(f"lookback is {lookback_days!r}; expected a number of days > 0")
    con = duckdb.connect(config={"memory_limit": memory_limit})
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if temp_directory:
            quoted = str(temp_directory).replace("'", "''")
            con.execute(f"SET temp_directory = '{quoted}'")
        # rows are numbered in file order (the checks name them; ties keep that order)
        con.execute("SET preserve_insertion_order = true")
        con.execute("SET enable_progress_bar = false")
        con.execute("SET TimeZone = 'UTC'")  # timestamps without an offset are UTC, as in pandas
        checked = open_events(con, src)
        if partitions is None:
            partitions = max(1, -(-checked.rows // ROWS_PER_PARTITION))
        channels = _channel_codes(con, checked.channels)
        parts = [
            _aggregate_sql(con, multi_conversion, lookback_days, (i, partitions), channels)
            for i in range(partitions)
        ]
        log.info("aggregated %s in %d part(s)", src, partitions)
        return _merge(channels, parts)
    finally:
        con.close()


#: Event-log rows per partition of customers (about 1 GB of DuckDB memory at most).
ROWS_PER_PARTITION = 8_000_000


def _channel_codes(con: object, channels: list[str]) -> list[str]:
    """The channel dictionary (small): codes in name order."""
    names = pa.table(
        {"channel": pa.array(channels, pa.string()),
         "code": pa.array(range(len(channels)), pa.int32())}
    )  # fmt: skip
    con.register("channel_names", names)  # type: ignore[attr-defined]
    con.execute("CREATE TEMP TABLE channels AS SELECT * FROM channel_names")  # type: ignore[attr-defined]
    con.unregister("channel_names")  # type: ignore[attr-defined]
    return channels


def _merge(
    channels: list[str], parts: list[tuple[PathTable, JourneyStats]]
) -> tuple[PathTable, JourneyStats]:
    """One path table from the tables of disjoint sets of customers (same channel codes),
    keeping only the channels that occur in a path."""
    stats = JourneyStats(
        *(sum(getattr(s, f.name) for _, s in parts) for f in dataclasses.fields(JourneyStats))
    )
    tables = [t for t, _ in parts]
    parts.clear()
    if len(tables) == 1:
        merged = tables.pop()
    else:
        lengths = np.concatenate([t.lengths for t in tables])
        conv = np.concatenate([t.conversions for t in tables])
        nulls = np.concatenate([t.nulls for t in tables])
        value = np.concatenate([t.value for t in tables])
        codes = np.concatenate([t.codes for t in tables])
        ages = np.concatenate([t.touch_age for t in tables])  # type: ignore[misc]
        tables.clear()  # the partial tables go before the merge needs its memory
        merged = aggregate_paths(channels, lengths, codes, conv, nulls, value, ages=ages)
    used = np.unique(merged.codes)
    remap = np.full(max(len(channels), 1), -1, np.int32)
    remap[used] = np.arange(len(used))
    table = dataclasses.replace(
        merged, channels=tuple(channels[i] for i in used), codes=remap[merged.codes]
    )
    return table, stats


def _aggregate_sql(
    con: object,
    multi_conversion: bool,
    lookback_days: float | None,
    partition: tuple[int, int],
    channels: list[str],
) -> tuple[PathTable, JourneyStats]:
    keep_journey = "" if multi_conversion else "WHERE journey = 0"
    window = "true" if lookback_days is None else f"x >= end_t - {float(lookback_days)}"
    part, n_parts = partition
    in_part = "true" if n_parts == 1 else f"hash(e.customer_id) % {n_parts} = {part}"
    journeys = f"""
        WITH ev AS (
            SELECT e.rn, e.customer_id, e.time, e.event = 'conversion' AS is_conv, c.code,
                   e.value
            FROM events e LEFT JOIN channels c ON e.channel = c.channel
            WHERE e.event IN ('touch', 'conversion') AND {in_part}
        ), numbered AS (
            SELECT *, CAST(sum(CAST(is_conv AS INTEGER)) OVER w AS INTEGER)
                      - CAST(is_conv AS INTEGER) AS journey
            FROM ev
            WINDOW w AS (PARTITION BY customer_id ORDER BY rn
                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ), journeys AS (
            SELECT list(code ORDER BY rn) FILTER (WHERE NOT is_conv AND code IS NOT NULL)
                       AS codes,
                   list(time ORDER BY rn) FILTER (WHERE NOT is_conv AND code IS NOT NULL)
                       AS times,
                   max(time) AS end_t, bool_or(is_conv) AS conv,
                   coalesce(sum(value) FILTER (WHERE is_conv), 0.0) AS value
            FROM numbered {keep_journey}
            GROUP BY customer_id, journey
        )
        SELECT conv, value, coalesce(times, []) AS times, end_t,
               list_where(coalesce(codes, []),
                          list_transform(coalesce(times, []), lambda x: {window})) AS path,
               list_transform(list_where(coalesce(times, []),
                                         list_transform(coalesce(times, []), lambda x: {window})),
                              lambda x: end_t - x) AS ages
        FROM journeys
    """
    # one pass: journeys without touches form the group of the empty path
    relation = con.sql(  # type: ignore[attr-defined]
        f"""
        SELECT path,
               sum(CASE WHEN conv THEN 1 ELSE 0 END)::DOUBLE AS conversions,
               sum(CASE WHEN conv THEN 0 ELSE 1 END)::DOUBLE AS nulls,
               sum(CASE WHEN conv THEN value ELSE 0 END)::DOUBLE AS value,
               sum(len(times) - len(path))::BIGINT AS outside,
               -- ages of converting journeys only: time decay credits conversions
               coalesce(list(ages) FILTER (WHERE conv), []) AS age_lists
        FROM ({journeys})
        GROUP BY path ORDER BY len(path), path  -- the order of aggregate_paths
        """
    )
    arrow = relation.arrow()  # a Table in DuckDB 1.x, a RecordBatchReader in 2.x
    grouped: pa.Table = arrow.read_all() if hasattr(arrow, "read_all") else arrow
    outside = int(pa.compute.sum(grouped.column("outside")).as_py() or 0)
    lengths = pa.compute.list_value_length(grouped.column("path")).to_numpy(zero_copy_only=False)
    empty = lengths == 0
    conv = grouped.column("conversions").to_numpy()
    nulls = grouped.column("nulls").to_numpy()
    stats = JourneyStats(
        journeys=int((conv + nulls)[~empty].sum()),
        converting=int(conv[~empty].sum()),
        conversions_without_touches=int(conv[empty].sum()),
        touches_outside_lookback=outside,
    )
    grouped = grouped.filter(pa.array(~empty))
    return _to_table(channels, grouped), stats


def _to_table(channels: list[str], grouped: pa.Table) -> PathTable:
    """The grouped Arrow result as a path table with the global channel codes."""
    paths = grouped.column("path").combine_chunks()
    offsets = np.asarray(paths.offsets, dtype=np.int64)
    return PathTable(
        channels=tuple(channels),
        offsets=offsets - offsets[0],
        codes=np.asarray(paths.values, dtype=np.int32)[offsets[0] : offsets[-1]],
        conversions=grouped.column("conversions").to_numpy(),
        nulls=grouped.column("nulls").to_numpy(),
        value=grouped.column("value").to_numpy(),
        touch_age=_mean_ages(grouped.column("age_lists").combine_chunks(), offsets),
    )


def _mean_ages(age_lists: pa.ListArray, offsets: np.ndarray) -> np.ndarray:
    """Per path, the element-wise mean of its journeys' age lists (aligned with codes)."""
    per_path = np.asarray(age_lists.offsets)  # journeys of path p: per_path[p]:per_path[p+1]
    journeys = age_lists.values  # a ListArray of each journey's ages
    ages = np.asarray(journeys.values, dtype=np.float64)
    jlen = np.diff(np.asarray(journeys.offsets))
    jpath = np.repeat(np.arange(len(per_path) - 1), np.diff(per_path))
    n_journeys = np.bincount(jpath, minlength=len(per_path) - 1)
    # every journey of a path has the path's length, so ages sum position by position
    target = np.repeat(offsets[:-1][jpath], jlen) + (
        np.arange(len(ages)) - np.repeat(np.cumsum(jlen) - jlen, jlen)
    )
    total = np.bincount(target, ages, minlength=int(offsets[-1]))
    lengths = np.diff(offsets)
    return total / np.repeat(np.maximum(n_journeys, 1), lengths)
