"""The event-log checks of :func:`cjsim.events.validate_events`, in SQL, out of core.

A log too large for memory is read by DuckDB (:mod:`cjsim.paths_duckdb`). It must be
refused for the same reasons, naming the same row, as the in-memory reader refuses it:
otherwise a file's fate would depend on its size. The checks run on DuckDB's side, so
only a handful of numbers come back to Python:

* one scan computes, for every row check, the first offending row
  (``min(row) FILTER (WHERE ...)``), the row count and how the ``time`` and
  ``customer_id`` columns read (numbers, timestamps or text);
* a window over each customer's rows in file order finds the first time that goes back.

Rows are numbered from 1 in file order (a streaming ``row_number() OVER ()``, kept in
order by ``preserve_insertion_order``), as :mod:`cjsim.events` numbers them. A CSV file is
read as text with the header given, never sniffed: a column that looks numeric in the
first rows and holds text further down is then refused by the checks, not by a cast
error halfway through.

The checked log is left behind as the temporary view ``events``: ``rn`` (the row),
``customer_id``, ``time`` (days, as :func:`cjsim.paths.paths_from_events` counts them),
``event``, ``channel`` (NULL unless a touch's) and ``value``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from cjsim.errors import EventLogError, check_header_names, not_utf8, show
from cjsim.events import EVENT_KINDS, REQUIRED, event_format

ROW = "_cjsim_row"  # the row-number column (a name no export uses)
NUMERIC = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
           "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "BOOLEAN"}  # fmt: skip


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _kind(sql_type: str) -> str:
    """``number``, ``timestamp``, ``text`` or ``other`` for a DuckDB column type."""
    if sql_type in NUMERIC or sql_type.startswith("DECIMAL"):
        return "number"
    if sql_type.startswith("TIMESTAMP") or sql_type == "DATE":
        return "timestamp"
    return "text" if sql_type == "VARCHAR" else "other"


def _csv_header(path: Path, source: str) -> list[str]:
    """The column names of a CSV file's first line, checked as :mod:`cjsim.events` does."""
    with path.open("rb") as fh:
        first = fh.readline()
    try:
        line = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise not_utf8(exc, source) from None
    if not line.strip():
        raise EventLogError("cannot be read as csv (no header line)", source=source)
    names = next(csv.reader([line]))
    check_header_names([n.strip() for n in names], source)
    return [n if n else f"Unnamed: {i}" for i, n in enumerate(names)]


def reader_sql(path: Path) -> str:
    """The DuckDB table function that reads the file (a CSV file as text, unsniffed)."""
    src = str(path)
    if event_format(path) == "parquet":
        return f"read_parquet({_literal(src)})"
    columns = ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in _csv_header(path, src))
    # short rows are padded with empty fields, as pandas does; long rows are an error
    return (
        f"read_csv({_literal(src)}, auto_detect = false, header = true, delim = ',', "
        f"quote = '\"', escape = '\"', columns = {{{columns}}}, null_padding = true, "
        "strict_mode = true)"
    )


def _read_error(exc: Exception, path: Path, fmt: str) -> EventLogError:
    """A DuckDB read error as one line: a CSV file's line and what was wrong with it."""
    from cjsim.events import QUOTE_HINT, too_many_fields

    source, text = str(path), str(exc)
    line = re.search(r"on Line: (\d+)", text)
    where = f" on line {line.group(1)}" if line else ""
    if "utf-8" in text.lower() or "unicode" in text.lower():
        return EventLogError(
            f"is not UTF-8 text (invalid bytes{where}); expected a UTF-8 CSV file", source=source
        )
    if fmt == "csv" and "Expected Number of Columns" in text:
        # the row and the advice of the in-memory reader (a scan, on the failing path only)
        found = too_many_fields(path, ",", source, QUOTE_HINT)
        if found is not None:
            return found
    return EventLogError(f"cannot be read as {fmt} ({text.splitlines()[0]}{where})", source=source)


@dataclass(frozen=True)
class CheckedLog:
    """What the checks found out on the way: the rows and the channels of the touches
    (in name order)."""

    rows: int
    channels: list[str]


def open_events(con: Any, path: Path) -> CheckedLog:
    """Check the event log at ``path`` and create the view ``events``.

    Raises :class:`~cjsim.errors.EventLogError` with the message, column and row that
    :func:`cjsim.events.read_events` would give (the first failing check, in its order).
    """
    import duckdb

    source = str(path)
    fmt = event_format(path)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW raw AS SELECT row_number() OVER () AS {ROW}, * "
            f"FROM {reader_sql(path)}"
        )
        described = con.execute("DESCRIBE SELECT * FROM raw").fetchall()
    except duckdb.Error as exc:
        raise _read_error(exc, path, fmt) from None
    types = {str(r[0]): str(r[1]) for r in described if r[0] != ROW}
    missing = [c for c in REQUIRED if c not in types]
    if missing:
        raise EventLogError(
            f"missing column(s) {', '.join(missing)}; expected at least {', '.join(REQUIRED)} "
            f"(found: {', '.join(types) or 'none'})",
            source=source,
        )
    checks = _Checks(con, types, fmt, source)
    try:
        return checks.run()
    except duckdb.Error as exc:
        raise _read_error(exc, path, fmt) from None


class _Checks:
    """The checks of one file, in the order of :func:`cjsim.events.validate_events`."""

    def __init__(self, con: Any, types: dict[str, str], fmt: str, source: str) -> None:
        self.con, self.types, self.fmt, self.source = con, types, fmt, source
        # an empty CSV field reads as NULL; pandas shows it as '', Parquet's null as <NA>
        self.null_text = "''" if fmt == "csv" else "<NA>"

    def text(self, column: str) -> str:
        return f'CAST("{column}" AS VARCHAR)'

    def value(self) -> str:
        """The value column as DOUBLE (NULL where it is not a number)."""
        if _kind(self.types["value"]) == "number":
            return 'CAST("value" AS DOUBLE)'
        return f"TRY_CAST({self.text('value')} AS DOUBLE)"

    def fetch(self, expr: str, row: int) -> Any:
        """One value of the row that failed a check (a scan, on the failing path only)."""
        return self.con.execute(f"SELECT {expr} FROM raw WHERE {ROW} = {int(row)}").fetchall()[0][0]

    def fail(self, message: str, row: int | None = None, key: str | None = None) -> NoReturn:
        raise EventLogError(message, source=self.source, key=f"row {row}" if row else key)

    def run(self) -> CheckedLog:
        """Run the checks in order, raising at the first that fails, then create the view
        ``events`` of the checked log."""
        sql, conditions = self._scan_sql()
        counts = self.con.execute(sql).fetchall()[0]
        rows = int(counts[0])
        first = dict(zip(conditions, counts[2:], strict=True))
        if rows == 0:
            self.fail("the event log has no rows")
        if first["event"]:
            value = self.fetch(self.text("event"), first["event"])
            self.fail(
                f"event is {self.null_text if value is None else show(value)}; expected one "
                f"of {', '.join(EVENT_KINDS)}",
                first["event"],
            )
        time_days, time_order = self._time(_kind(self.types["time"]), first)
        if first["customer"]:
            self.fail("customer_id is empty; expected who the event is of", first["customer"])
        customer = self._customer(first)
        self._check_time_order(customer, time_order)
        if first["touch"]:
            if "channel" not in self.types:
                self.fail("missing column channel; expected a channel for every touch")
            if first["channel"]:
                self.fail("touch without a channel; expected a channel name", first["channel"])
        value = self._checked_value(first)
        if first.get("stage"):
            self.fail("stage event without a stage; expected a stage name", first["stage"])
        self._create_view(customer, time_days, value)
        return CheckedLog(rows, sorted(counts[1] or []))

    def _scan_sql(self) -> tuple[str, list[str]]:
        """The query of the one scan, and the names of the row checks it answers.

        It returns the row count, the touches' channel names and, for every row check
        that applies to this file's columns, the first row that fails it (NULL for none).
        """
        ev, time_kind = self.text("event"), _kind(self.types["time"])
        kinds = ", ".join(_literal(k) for k in EVENT_KINDS)
        # each typed column once, in a subquery; the checks below only compare them
        columns = {"ev": ev, "t_null": '"time" IS NULL', "id_null": '"customer_id" IS NULL'}
        conditions = {
            "event": f"ev IS NULL OR ev NOT IN ({kinds})",
            "customer": "id_null",
            "no_stamp": "t_null",
            "touch": "ev = 'touch'",
        }
        if self.types["customer_id"] == "VARCHAR":  # blank, as Python's str.strip() sees it
            blank = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"
            columns["id_blank"] = f"trim(\"customer_id\", {blank}) = ''"
            conditions["customer"] = "id_null OR id_blank"
        if time_kind in ("text", "number"):
            columns["t_number"] = 'TRY_CAST("time" AS DOUBLE)'
            conditions["not_finite"] = "NOT isfinite(coalesce(t_number, 'nan'))"
        if time_kind == "text":
            conditions["not_number"] = "NOT t_null AND t_number IS NULL"
        if self.fmt == "csv":  # how pandas would read the ids: whole numbers, numbers, text
            columns["id_whole"] = 'TRY_CAST("customer_id" AS BIGINT)'
            columns["id_number"] = 'TRY_CAST("customer_id" AS DOUBLE)'
            conditions["id_not_whole"] = (
                "NOT id_null AND (id_whole IS NULL OR id_number <> id_whole)"
            )
            conditions["id_not_number"] = "NOT id_null AND id_number IS NULL"
        if "channel" in self.types:
            columns["ch"] = self.text("channel")
            conditions["channel"] = "ev = 'touch' AND (ch IS NULL OR ch = '')"
        if "value" in self.types:
            columns["v"] = self.value()
            if _kind(self.types["value"]) != "number":
                columns["v_text"] = self.text("value")
                conditions["value_text"] = "v_text <> '' AND v IS NULL"
            conditions["value"] = (
                "ev = 'conversion' AND NOT (isfinite(coalesce(v, 'nan')) AND v >= 0)"
            )
        if "stage" in self.types:
            columns["st"] = self.text("stage")
            conditions["stage"] = "ev = 'stage' AND (st IS NULL OR st = '')"
        typed = ", ".join(f"{expr} AS {name}" for name, expr in columns.items())
        parts = ", ".join(f"min(r) FILTER (WHERE {c})" for c in conditions.values())
        # the channel names ride along: a short list, and one scan less
        names = (
            "list(DISTINCT ch) FILTER (WHERE ev = 'touch' AND ch <> '')"
            if "channel" in self.types
            else "[]"
        )
        sql = f"SELECT count(*), {names}, {parts} FROM (SELECT {ROW} AS r, {typed} FROM raw)"
        return sql, list(conditions)

    def _check_time_order(self, customer: str, time_order: str) -> None:
        """Within a customer, in file order, times never go back (a window, one scan)."""
        back = self.con.execute(
            f"SELECT min({ROW}) FILTER (WHERE t < previous) FROM (SELECT {ROW}, t, "
            f"lag(t) OVER (PARTITION BY c ORDER BY {ROW}) AS previous FROM (SELECT {ROW}, "
            f"{customer} AS c, {time_order} AS t FROM raw))"
        ).fetchall()[0][0]
        if back:
            t = self.fetch(f"CAST({time_order} AS DOUBLE)", back)
            self.fail(
                f"time {show(t)} is earlier than the customer's previous event; expected "
                "events sorted by time within each customer",
                back,
            )

    def _checked_value(self, first: dict[str, Any]) -> str:
        """SQL for the value (0.0 without the column), once every value is a number and
        every conversion's a finite amount >= 0."""
        if "value" not in self.types:
            return "0.0"
        value = self.value()
        if first.get("value_text"):
            shown = show(self.fetch(self.text("value"), first["value_text"]))
            self.fail(f"value is {shown}; expected a number", first["value_text"])
        if first["value"]:
            v = self.fetch(value, first["value"])
            self.fail(
                f"conversion value is {show(float('nan') if v is None else v)}; expected "
                "a finite amount >= 0",
                first["value"],
            )
        return value

    def _create_view(self, customer: str, time_days: str, value: str) -> None:
        """The checked log as the view ``events``, in the columns the aggregation reads."""
        ev = self.text("event")
        channel = (
            f"CASE WHEN {ev} = 'touch' THEN nullif({self.text('channel')}, '') END"
            if "channel" in self.types
            else "CAST(NULL AS VARCHAR)"
        )
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW events AS SELECT {ROW} AS rn, {customer} AS "
            f"customer_id, {time_days} AS time, {ev} AS event, {channel} AS channel, "
            f"{value} AS value FROM raw"
        )

    def _time(self, kind: str, first: dict[str, Any]) -> tuple[str, str]:
        """SQL for the time in days and for the time as compared within a customer
        (nanoseconds for timestamps, as pandas compares them)."""
        if kind == "text":
            not_stamp = None
            if first["not_number"]:  # not all numbers: all timestamps then? (one more scan)
                not_stamp = self.con.execute(
                    f'SELECT min({ROW}) FROM raw WHERE "time" IS NOT NULL AND '
                    'TRY_CAST("time" AS TIMESTAMPTZ) IS NULL'
                ).fetchall()[0][0]
            if not first["not_number"]:
                kind = "number"
            elif not not_stamp:
                kind = "timestamp"
            else:
                shown = show(self.fetch('"time"', first["not_number"]))
                self.fail(
                    f"time is not numeric (row {first['not_number']} is {shown}); expected "
                    "days since start or a timestamp",
                    key="time",
                )
        if kind == "number":
            if first["not_finite"]:
                t = self.fetch('TRY_CAST("time" AS DOUBLE)', first["not_finite"])
                self.fail(
                    f"time is {show(float('nan') if t is None else t)}; expected a finite "
                    "number of days or a timestamp",
                    first["not_finite"],
                )
            number = 'TRY_CAST("time" AS DOUBLE)'
            return number, number
        if kind == "timestamp":
            if first["no_stamp"]:
                self.fail(
                    "time is NaT; expected a finite number of days or a timestamp",
                    first["no_stamp"],
                )
            stamp = (
                'CAST("time" AS TIMESTAMPTZ)'
                if self.types["time"] in ("VARCHAR", "DATE")
                else '"time"'
            )
            return f"CAST(epoch_ns({stamp}) AS DOUBLE) / 86400e9", f"epoch_ns({stamp})"
        self.fail(
            f"time is not numeric (a column of {self.types['time']}); expected days since "
            "start or a timestamp",
            key="time",
        )

    def _customer(self, first: dict[str, Any]) -> str:
        """The customer key: a CSV column of whole numbers is read as numbers, as pandas
        reads it ("007" and "7" are one customer), a column of numbers as floats."""
        if self.types["customer_id"] != "VARCHAR" or self.fmt != "csv":
            return '"customer_id"'
        if not first["id_not_whole"]:
            return 'TRY_CAST("customer_id" AS BIGINT)'
        if not first["id_not_number"]:
            return 'TRY_CAST("customer_id" AS DOUBLE)'
        return '"customer_id"'
