"""Event logs larger than memory -> path table, out of core with DuckDB.

The aggregation is SQL that any warehouse runs alike (DESIGN.md, "Scale"): number each
customer's conversions with a window sum, keep the first journey (or all of them), collect
each journey's channel codes in time order, and ``GROUP BY`` the resulting list. DuckDB
streams the Parquet or CSV file and spills to disk under its memory limit, so only the
distinct paths (usually a few hundred thousand rows) come back to Python, as Arrow lists
that become the CSR arrays of a :class:`~cjsim.paths.PathTable` without a string in sight.

The result equals :func:`cjsim.paths.paths_from_events` on the same log (a test checks it):
same journeys, same channel codes (name order), same counts, value and mean touch ages.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa

from cjsim.errors import EventLogError
from cjsim.events import event_format
from cjsim.paths import JourneyStats, PathTable, PathTableError

log = logging.getLogger(__name__)


def _source_sql(path: Path) -> str:
    quoted = str(path).replace("'", "''")
    if event_format(path) == "parquet":
        return f"read_parquet('{quoted}')"
    return f"read_csv('{quoted}', header = true, all_varchar = false)"


def paths_from_event_file(
    path: str | Path,
    *,
    multi_conversion: bool = False,
    lookback_days: float | None = None,
    memory_limit: str = "1GB",
    threads: int | None = None,
    temp_directory: str | Path | None = None,
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
        DuckDB's memory limit; beyond it DuckDB spills to ``temp_directory``.
    """
    import duckdb

    src = Path(path)
    if not src.exists():
        raise EventLogError("file not found; expected an event log", source=str(src))
    if lookback_days is not None and not lookback_days > 0:
        raise PathTableError(f"lookback is {lookback_days!r}; expected a number of days > 0")
    con = duckdb.connect(config={"memory_limit": memory_limit})
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if temp_directory:
            con.execute(f"SET temp_directory = '{temp_directory}'")
        con.execute("SET preserve_insertion_order = false")
        try:
            columns = {
                r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {_source_sql(src)}").fetchall()
            }
        except duckdb.Error as exc:
            raise EventLogError(f"cannot be read ({exc})", source=str(src)) from exc
        missing = [c for c in ("customer_id", "time", "event", "channel") if c not in columns]
        if missing:
            raise EventLogError(
                f"missing column(s) {', '.join(missing)}; expected customer_id, time, event, "
                "channel and optionally value",
                source=str(src),
            )
        return _aggregate_sql(con, src, columns, multi_conversion, lookback_days)
    finally:
        con.close()


def _aggregate_sql(
    con: object,
    src: Path,
    columns: set[str],
    multi_conversion: bool,
    lookback_days: float | None,
) -> tuple[PathTable, JourneyStats]:
    value = "CAST(value AS DOUBLE)" if "value" in columns else "0.0"
    keep_journey = "" if multi_conversion else "WHERE journey = 0"
    window = (
        f"AND t.time >= e.end_t - {float(lookback_days)}" if lookback_days is not None else ""
    )
    # time as days: numbers as they are, timestamps as epoch days
    sql = f"""
    CREATE TEMP TABLE channels AS
        SELECT channel, CAST(row_number() OVER (ORDER BY channel) - 1 AS INTEGER) AS code
        FROM (SELECT DISTINCT CAST(channel AS VARCHAR) AS channel FROM {_source_sql(src)}
              WHERE event = 'touch' AND channel IS NOT NULL AND CAST(channel AS VARCHAR) <> '');
    CREATE TEMP TABLE ev AS
        SELECT customer_id,
               CASE WHEN typeof(time) LIKE 'TIMESTAMP%' OR typeof(time) = 'DATE'
                    THEN epoch(CAST(time AS TIMESTAMP)) / 86400.0
                    ELSE CAST(time AS DOUBLE) END AS time,
               event = 'conversion' AS is_conv, CAST(channel AS VARCHAR) AS channel,
               {value} AS value
        FROM {_source_sql(src)} WHERE event IN ('touch', 'conversion');
    CREATE TEMP TABLE j AS
        SELECT * FROM (
            SELECT *, CAST(sum(CAST(is_conv AS INTEGER)) OVER w AS INTEGER)
                      - CAST(is_conv AS INTEGER) AS journey
            FROM ev
            WINDOW w AS (PARTITION BY customer_id ORDER BY time, is_conv
                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ) {keep_journey};
    CREATE TEMP TABLE ends AS
        SELECT customer_id, journey, max(time) AS end_t, bool_or(is_conv) AS conv,
               sum(CASE WHEN is_conv THEN value ELSE 0 END) AS value
        FROM j GROUP BY customer_id, journey;
    CREATE TEMP TABLE touches AS
        SELECT t.customer_id, t.journey, t.time, c.code, e.end_t - t.time AS age, e.conv,
               e.value
        FROM j t JOIN ends e USING (customer_id, journey) JOIN channels c USING (channel)
        WHERE NOT t.is_conv {window};
    """
    con.execute(sql)  # type: ignore[attr-defined]
    stats_row = con.execute(  # type: ignore[attr-defined]
        f"""
        WITH has AS (SELECT DISTINCT customer_id, journey FROM touches)
        SELECT count(*) FILTER (WHERE h.customer_id IS NOT NULL),
               count(*) FILTER (WHERE h.customer_id IS NOT NULL AND e.conv),
               count(*) FILTER (WHERE h.customer_id IS NULL AND e.conv),
               (SELECT count(*) FROM j t JOIN ends e2 USING (customer_id, journey)
                WHERE NOT t.is_conv AND t.channel IS NOT NULL AND t.channel <> ''
                {"AND t.time < e2.end_t - " + str(float(lookback_days)) if lookback_days else
                 "AND false"})
        FROM ends e LEFT JOIN has h USING (customer_id, journey)
        """
    ).fetchone()
    con.execute(  # type: ignore[attr-defined]
        """
        CREATE TEMP TABLE per_journey AS
            SELECT list(code ORDER BY time) AS path, list(age ORDER BY time) AS ages,
                   any_value(conv) AS conv, any_value(value) AS value
            FROM touches GROUP BY customer_id, journey
        """
    )
    grouped: pa.Table = con.sql(  # type: ignore[attr-defined]
        """
        WITH per_path AS (
            SELECT path,
                   sum(CASE WHEN conv THEN 1 ELSE 0 END)::DOUBLE AS conversions,
                   sum(CASE WHEN conv THEN 0 ELSE 1 END)::DOUBLE AS nulls,
                   sum(CASE WHEN conv THEN value ELSE 0 END)::DOUBLE AS value
            FROM per_journey GROUP BY path
        ), per_position AS (
            -- mean age of each position over converting journeys (all, if none converts)
            SELECT path, pos, coalesce(avg(age) FILTER (WHERE conv), avg(age)) AS age
            FROM (SELECT path, conv, unnest(ages) AS age, generate_subscripts(ages, 1) AS pos
                  FROM per_journey)
            GROUP BY path, pos
        ), ages AS (
            SELECT path, list(age ORDER BY pos) AS ages FROM per_position GROUP BY path
        )
        SELECT p.path, p.conversions, p.nulls, p.value, a.ages
        FROM per_path p JOIN ages a ON p.path = a.path ORDER BY p.path
        """
    ).fetch_arrow_table()
    names = [r[0] for r in con.execute("SELECT channel FROM channels ORDER BY code").fetchall()]  # type: ignore[attr-defined]
    return _to_table(names, grouped), JourneyStats(*(int(x) for x in stats_row))


def _to_table(channels: list[str], grouped: pa.Table) -> PathTable:
    paths = grouped.column("path").combine_chunks()
    offsets = np.asarray(paths.offsets, dtype=np.int64)
    codes = np.asarray(paths.values, dtype=np.int32)[offsets[0] : offsets[-1]]
    # keep only channels that occur in a journey (touches after a conversion form none)
    used = np.unique(codes)
    remap = np.full(max(len(channels), 1), -1, np.int32)
    remap[used] = np.arange(len(used))
    return PathTable(
        channels=tuple(channels[i] for i in used),
        offsets=offsets - offsets[0],
        codes=remap[codes],
        conversions=grouped.column("conversions").to_numpy(),
        nulls=grouped.column("nulls").to_numpy(),
        value=grouped.column("value").to_numpy(),
        touch_age=np.asarray(grouped.column("ages").combine_chunks().values, dtype=np.float64),
    )
