"""The rules of an event log, one check each, tried in order by :func:`validate_events`.

Each check refuses one kind of problem with one message that names the column, or the
first bad row and its value. Rows are numbered from 1 (the first data row) as in a
spreadsheet without its header. :mod:`cjsim.events_duckdb` runs the same checks in SQL, in
the same order, so a file is refused for the same reason whatever its size.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np
import pandas as pd

from cjsim.errors import EventLogError, show
from cjsim.events.schema import EVENT_KINDS, REQUIRED, label_codes, rows_labelled


class _Log:
    """An event log under check: its columns as the checks compare them, each read once."""

    def __init__(self, frame: pd.DataFrame, source: str | None) -> None:
        self.frame, self.source = frame, source

    def reject(self, bad: np.ndarray, message: Callable[[int], str]) -> None:
        """Raise naming the first row (1-based) where ``bad`` is true."""
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise EventLogError(message(i), source=self.source, key=f"row {i + 1}")

    @cached_property
    def event(self) -> pd.Series:
        """The event column as text."""
        return self.frame["event"].astype("string")

    @cached_property
    def time(self) -> np.ndarray:
        """The time column as float64 (timestamps in nanoseconds, NaN where missing);
        pandas' ValueError or TypeError if it is neither numbers nor timestamps."""
        time = self.frame["time"]
        if pd.api.types.is_datetime64_any_dtype(time):
            t = time.astype("int64").to_numpy(dtype=np.float64)
            t[time.isna().to_numpy()] = np.nan
            return t
        return pd.to_numeric(time).to_numpy(dtype=np.float64)

    @cached_property
    def value(self) -> np.ndarray:
        """The value column as float64 (NaN where it is not a number)."""
        return pd.to_numeric(self.frame["value"], errors="coerce").to_numpy(dtype=np.float64)

    @cached_property
    def categorical(self) -> bool:
        """The event column is categorical (a simulated or Parquet log): read by codes."""
        return isinstance(self.frame["event"].dtype, pd.CategoricalDtype)

    def kind(self, label: str) -> np.ndarray:
        """Which rows are events of kind ``label``."""
        if self.categorical:
            return rows_labelled(self.frame["event"], label)
        return (self.event == label).to_numpy()

    @cached_property
    def touch(self) -> np.ndarray:
        """Which rows are touches."""
        return self.kind("touch")


def _has_required_columns(log: _Log) -> None:
    """customer_id, time and event are columns."""
    columns = log.frame.columns
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise EventLogError(
            f"missing column(s) {', '.join(missing)}; expected at least {', '.join(REQUIRED)} "
            f"(found: {', '.join(map(str, columns)) or 'none'})",
            source=log.source,
        )


def _has_rows(log: _Log) -> None:
    """The log has at least one row."""
    if len(log.frame) == 0:
        raise EventLogError("the event log has no rows", source=log.source)


def _events_are_known(log: _Log) -> None:
    """Every event is a touch, a stage or a conversion."""
    if log.categorical:  # one test per category, not per row
        codes, names = label_codes(log.frame["event"])
        known = np.array([n in EVENT_KINDS for n in names] + [False])  # [-1]: empty
        bad = ~known[codes]
    else:
        bad = (~log.event.isin(EVENT_KINDS)).to_numpy()
    log.reject(
        bad,
        lambda i: f"event is {show(log.event.iloc[i])}; expected one of {', '.join(EVENT_KINDS)}",
    )


def _time_is_numeric(log: _Log) -> None:
    """The time column holds numbers (days) or timestamps."""
    try:
        log.time  # noqa: B018 (reading it is the check)
    except (ValueError, TypeError) as exc:
        raise EventLogError(
            f"time is not numeric ({exc}); expected days since start or a timestamp",
            source=log.source,
            key="time",
        ) from None


def _times_are_finite(log: _Log) -> None:
    """Every time is a finite number or a timestamp."""
    time = log.frame["time"]
    log.reject(
        ~np.isfinite(log.time),
        lambda i: f"time is {show(time.iloc[i])}; expected a finite number of days or a timestamp",
    )


def _customers_are_named(log: _Log) -> None:
    """Every row names its customer (a blank text is no name)."""
    cust = log.frame["customer_id"]
    empty = cust.isna().to_numpy()
    if pd.api.types.is_object_dtype(cust) or pd.api.types.is_string_dtype(cust):
        # a CSV's empty field is read as text, not as a missing value
        blank = (cust.astype("string").str.strip() == "").fillna(False).to_numpy(bool)
        empty = empty | blank
    log.reject(empty, lambda i: "customer_id is empty; expected who the event is of")


def _times_are_sorted(log: _Log) -> None:
    """Within a customer, times never go back (rows of customers may interleave)."""
    t = log.time
    codes = pd.factorize(log.frame["customer_id"])[0]
    order = np.argsort(codes, kind="stable")
    same = codes[order][1:] == codes[order][:-1]
    back = np.zeros(len(t), dtype=bool)
    back[order[1:][same & (t[order][1:] < t[order][:-1])]] = True
    log.reject(
        back,
        lambda i: (
            f"time {show(t[i])} is earlier than the customer's previous event; "
            "expected events sorted by time within each customer"
        ),
    )


def _touches_have_a_channel_column(log: _Log) -> None:
    """A log with touches has a channel column."""
    if log.touch.any() and "channel" not in log.frame.columns:
        raise EventLogError(
            "missing column channel; expected a channel for every touch", source=log.source
        )


def _touches_have_a_channel(log: _Log) -> None:
    """Every touch names its channel."""
    if log.touch.any():
        empty = log.touch & _empty(log.frame["channel"])
        log.reject(empty, lambda i: "touch without a channel; expected a channel name")


def _values_are_numbers(log: _Log) -> None:
    """A value, where given, is a number."""
    if "value" in log.frame.columns:
        raw = log.frame["value"]
        if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
            return  # numbers (NaN counts as no value given)
        log.reject(
            np.isnan(log.value) & (raw.astype("string").fillna("") != "").to_numpy(bool),
            lambda i: f"value is {show(raw.iloc[i])}; expected a number",
        )


def _conversion_values_are_amounts(log: _Log) -> None:
    """A conversion's value is a finite amount >= 0."""
    if "value" in log.frame.columns:
        v = log.value
        conv = log.kind("conversion")
        log.reject(
            conv & ~(np.isfinite(v) & (v >= 0)),
            lambda i: f"conversion value is {show(v[i])}; expected a finite amount >= 0",
        )


def _stages_are_named(log: _Log) -> None:
    """Every stage event names its stage."""
    if "stage" in log.frame.columns:
        empty = log.kind("stage") & _empty(log.frame["stage"])
        log.reject(empty, lambda i: "stage event without a stage; expected a stage name")


def _empty(column: pd.Series) -> np.ndarray:
    """Rows with no text: missing or ``""`` (a categorical column by its categories)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, names = label_codes(column)
        blank = np.array([n == "" for n in names] + [True])  # [-1]: missing
        return blank[codes]
    text = column.astype("string")
    return (text.isna() | (text == "")).to_numpy()


#: The rules, in the order they are tried: the first that fails is the one reported.
CHECKS: tuple[Callable[[_Log], None], ...] = (
    _has_required_columns,
    _has_rows,
    _events_are_known,
    _time_is_numeric,
    _times_are_finite,
    _customers_are_named,
    _times_are_sorted,
    _touches_have_a_channel_column,
    _touches_have_a_channel,
    _values_are_numbers,
    _conversion_values_are_amounts,
    _stages_are_named,
)


def validate_events(frame: pd.DataFrame, *, source: str | None = None) -> None:
    """Check an event log against the schema; raise naming the first bad column or row.

    Rows are numbered from 1 (the first data row) as in a spreadsheet without its header.
    The rules are :data:`CHECKS`, tried in order.

    Raises
    ------
    EventLogError
        The message of the first rule that fails, with the source and the column or row.
    """
    log = _Log(frame, source)
    for check in CHECKS:
        check(log)
