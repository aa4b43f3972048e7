"""Journeys from an event log: its path table, and what building it kept and dropped.

A customer's rows are sorted by time; their touches up to and including the first
conversion make one journey (with ``multi_conversion``, every conversion closes one); a
lookback window drops the touches too long before a journey's end; journeys with the same
channel sequence are merged into a path (:func:`~cjsim.paths.aggregate.aggregate_paths`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from cjsim.paths.aggregate import aggregate_paths
from cjsim.paths.table import PathTable, PathTableError

if TYPE_CHECKING:
    import pandas as pd

# pandas and the event-log module are imported where used: reading a clean path table
# needs neither, and ``cjsim attribute PATHS`` starts faster without them.


@dataclass(frozen=True)
class JourneyStats:
    """What building paths from an event log kept and dropped."""

    journeys: int
    converting: int
    conversions_without_touches: int
    touches_outside_lookback: int


def paths_from_events(
    events: pd.DataFrame,
    *,
    multi_conversion: bool = False,
    lookback_days: float | None = None,
    source: str | None = None,
) -> tuple[PathTable, JourneyStats]:
    """Build the path table of an event log.

    Parameters
    ----------
    events : DataFrame
        An event log (see :mod:`cjsim.events`); only ``touch`` and ``conversion`` rows matter.
    multi_conversion : bool
        Every conversion closes a journey (default: a customer's journey ends at their
        first conversion and later events are ignored).
    lookback_days : float, optional
        Keep only touches at most this many days before the journey's end (its
        conversion, or the last touch of a null journey).

    Returns
    -------
    PathTable, JourneyStats
        Conversions with no touch at all cannot form a path; they are counted in
        ``JourneyStats.conversions_without_touches``.
    """
    from cjsim.events import validate_events

    validate_events(events, source=source)
    if lookback_days is not None and not lookback_days > 0:
        raise PathTableError(f"lookback is {lookback_days!r}; expected a number of days > 0")
    journeys = _journeys(_sorted_rows(events), multi_conversion)
    touch, outside = _within_lookback(journeys, lookback_days)
    codes, channels = _codes_in_name_order(journeys.channel[touch], journeys.channel_names)
    tj = journeys.journey[touch]  # non-decreasing, and by time within a journey
    lengths = np.bincount(tj, minlength=len(journeys.converts))
    has_touch = lengths > 0
    converts = journeys.converts
    stats = JourneyStats(
        journeys=int(has_touch.sum()),
        converting=int((converts & has_touch).sum()),
        conversions_without_touches=int((converts & ~has_touch).sum()),
        touches_outside_lookback=outside,
    )
    table = aggregate_paths(
        channels,
        lengths,
        codes.astype(np.int32),
        converts.astype(np.float64),
        (~converts).astype(np.float64),
        np.where(converts, journeys.value, 0.0),
        ages=(journeys.end[tj] - journeys.time[touch]).astype(np.float64),
    )
    return table, stats


class _Rows(NamedTuple):
    """The touch and conversion rows of an event log, by customer and then time."""

    customer: np.ndarray  # codes of the customers, in order of first appearance
    time: np.ndarray  # days
    conversion: np.ndarray  # bool: a conversion (else a touch)
    value: np.ndarray
    channel: np.ndarray  # codes into channel_names (-1 for none)
    channel_names: list[object]


def _sorted_rows(events: pd.DataFrame) -> _Rows:
    """The touches and conversions of a validated log, sorted by customer and then time.

    Times are read as days (timestamps in nanoseconds / 86,400e9); at equal times a
    customer's rows keep their order in the log.
    """
    import pandas as pd

    kind_codes, kinds = _codes(events["event"])
    is_touch_all = kind_codes == (kinds.index("touch") if "touch" in kinds else -2)
    is_conv_all = kind_codes == (kinds.index("conversion") if "conversion" in kinds else -2)
    keep = is_touch_all | is_conv_all
    ev = events.loc[keep]
    is_conv = is_conv_all[keep]
    cust = pd.factorize(ev["customer_id"])[0]
    time = ev["time"]
    t = (
        # in nanoseconds whatever the column's unit (pandas 3 reads text as microseconds)
        time.dt.as_unit("ns").astype("int64").to_numpy(np.float64) / 86_400e9
        if pd.api.types.is_datetime64_any_dtype(time)
        else pd.to_numeric(time).to_numpy(np.float64)
    )
    order = np.lexsort((t, cust))  # within a customer by time; conversions after ties' touches
    value = (
        pd.to_numeric(ev["value"]).to_numpy(np.float64)[order]
        if "value" in ev.columns
        else np.zeros(len(ev))
    )
    if "channel" in ev:
        chan_codes, chan_names = _codes(ev["channel"])
        chan_codes = chan_codes[order]
    else:
        chan_codes, chan_names = np.full(len(ev), -1, np.int64), []
    return _Rows(cust[order], t[order], is_conv[order], value, chan_codes, chan_names)


class _Journeys(NamedTuple):
    """The rows of a log's journeys (by customer, journey and time) and each journey's outcome."""

    journey: np.ndarray  # per row: the journey's number, from 0
    time: np.ndarray
    touch: np.ndarray  # bool per row: a touch (else the journey's conversion)
    channel: np.ndarray
    channel_names: list[object]
    converts: np.ndarray  # bool per journey: it ends in a conversion
    value: np.ndarray  # per journey: its conversion's value (0 without one)
    end: np.ndarray  # per journey: the time of its last row


def _journeys(rows: _Rows, multi_conversion: bool) -> _Journeys:
    """Cut each customer's rows into journeys: up to the first conversion, or (with
    ``multi_conversion``) up to each conversion, the touches after the last one a null
    journey."""
    cust, t, is_conv = rows.customer, rows.time, rows.conversion
    # Journey number within the customer: conversions seen before this row.
    new_cust = np.r_[True, cust[1:] != cust[:-1]]
    conv_cum = np.cumsum(is_conv)
    base = np.maximum.accumulate(np.where(new_cust, conv_cum - is_conv, 0))
    conv_before = conv_cum - is_conv - base
    if multi_conversion:
        in_journey = np.ones(len(cust), dtype=bool)
        jkey = cust.astype(np.int64) * (int(conv_before.max(initial=0)) + 1) + conv_before
    else:
        in_journey = conv_before == 0
        jkey = cust.astype(np.int64)
    jkey = jkey[in_journey]
    tt, conv_rows, val_rows = t[in_journey], is_conv[in_journey], rows.value[in_journey]
    # keys are non-decreasing (rows are by customer, then journey): number them by change
    jid = np.cumsum(np.r_[False, jkey[1:] != jkey[:-1]]) if jkey.size else jkey
    J = int(jid.max()) + 1 if jid.size else 0
    # each journey's value is its closing conversion's value (one conversion per journey)
    j_value = np.bincount(jid, np.where(conv_rows, val_rows, 0.0), minlength=J)
    end = np.full(J, -np.inf)
    np.maximum.at(end, jid, tt)
    return _Journeys(
        journey=jid,
        time=tt,
        touch=~conv_rows,
        channel=rows.channel[in_journey],
        channel_names=rows.channel_names,
        converts=np.bincount(jid, conv_rows, minlength=J) > 0,
        value=j_value,
        end=end,
    )


def _within_lookback(journeys: _Journeys, lookback_days: float | None) -> tuple[np.ndarray, int]:
    """The touches at most ``lookback_days`` before their journey's end (all without a
    window), and how many touches fell outside it."""
    if lookback_days is None:
        return journeys.touch, 0
    late = journeys.time >= journeys.end[journeys.journey] - lookback_days
    outside = int((journeys.touch & ~late).sum())
    return journeys.touch & late, outside


def _codes_in_name_order(raw: np.ndarray, names: list[object]) -> tuple[np.ndarray, list[str]]:
    """Recode the channels that occur in ``raw`` (codes into ``names``) in name order.

    Returns the new codes and the sorted names: codes then do not depend on the order in
    which channels first appear in the input.
    """
    used = np.unique(raw)
    used_names = [str(names[i]) for i in used]
    remap = np.full(max(len(names), 1), -1, np.int64)
    remap[used] = np.argsort(np.argsort(used_names, kind="stable"))
    return remap[raw], sorted(used_names)


def _codes(col: pd.Series) -> tuple[np.ndarray, list[object]]:
    """Integer codes and labels of a column (-1 for empty), using categorical codes if any."""
    import pandas as pd

    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = list(col.cat.categories)
        codes = col.cat.codes.to_numpy(np.int64)
        if "" in cats:
            codes = np.where(codes == cats.index(""), -1, codes)
        return codes, cats
    text = col.astype("string")
    codes, uniq = pd.factorize(text.where(text != ""))
    return codes.astype(np.int64), list(uniq)
