"""Journeys and path tables: the input of every attribution method.

A **journey** is the ordered list of a customer's touchpoints up to and including their
first conversion (or all of them, for a customer who never converts: a *null* journey).
With ``multi_conversion=True`` every conversion closes a journey and the next one starts
after it. A **path table** aggregates journeys with the same channel sequence:

=====================  ============================================================
column                 meaning
=====================  ============================================================
path                   ``search > email > direct`` (the ChannelAttribution format)
total_conversions      journeys on this path that ended in a conversion
total_null             journeys on this path that did not
total_conversion_value total value of those conversions
=====================  ============================================================

In memory a path table is integer-coded in CSR form (``offsets``, ``codes``) with float
counts (fractional counts from other tools are kept, never truncated). Attribution code
works on this table only, never on simulation internals, so it treats a simulated log and
a real export alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cjsim._io import write_text_atomic
from cjsim.errors import EventLogError, check_header_names, not_utf8, show

if TYPE_CHECKING:
    import pandas as pd

# pandas and the event-log module are imported where used: reading a clean path table
# needs neither, and ``cjsim attribute PATHS`` starts faster without them.

#: Separator between channels in the ChannelAttribution path format.
SEPARATOR = ">"
PATH_COLUMNS = ("path", "total_conversions", "total_null", "total_conversion_value")


class PathTableError(EventLogError):
    """A path table with missing columns, bad counts or malformed paths."""


@dataclass(frozen=True)
class PathTable:
    """Distinct channel paths with their conversion and null counts (CSR-coded).

    Attributes
    ----------
    channels : tuple of str
        Channel names; ``codes`` index into it.
    offsets : ndarray of int64, shape (P + 1,)
        Path ``p`` is ``codes[offsets[p]:offsets[p + 1]]``.
    codes : ndarray of int32
        Channel codes of all paths, concatenated.
    conversions, nulls, value : ndarray of float64, shape (P,)
        Converting journeys, non-converting journeys and conversion value per path.
    touch_age : ndarray of float64, optional
        Aligned with ``codes``: days from each touch to its conversion, averaged over the
        path's converting journeys (0 on a path without conversions, which time decay
        never credits). Known only for tables built from an event log.
    """

    channels: tuple[str, ...]
    offsets: np.ndarray
    codes: np.ndarray
    conversions: np.ndarray
    nulls: np.ndarray
    value: np.ndarray
    touch_age: np.ndarray | None = None

    @property
    def n_paths(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def path_index(self) -> np.ndarray:
        """For every entry of ``codes``, the path it belongs to."""
        return np.repeat(np.arange(self.n_paths), self.lengths)

    def with_counts(
        self, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> PathTable:
        """The same paths with other counts (a bootstrap resample, a subset)."""
        return dataclasses.replace(self, conversions=conversions, nulls=nulls, value=value)

    def totals(self) -> dict[str, float]:
        """Journeys, conversions, nulls and value over the whole table."""
        return {
            "paths": float(self.n_paths),
            "journeys": float(self.conversions.sum() + self.nulls.sum()),
            "conversions": float(self.conversions.sum()),
            "nulls": float(self.nulls.sum()),
            "value": float(self.value.sum()),
        }

    def path_strings(self, separator: str = " > ") -> list[str]:
        """Each path as text, ``a > b > c``."""
        if self.n_paths == 0:
            return []
        names = np.asarray(self.channels, dtype=object)[self.codes]
        return [separator.join(p) for p in np.split(names, self.offsets[1:-1])]

    def to_frame(self) -> pd.DataFrame:
        """The ChannelAttribution-format table."""
        import pandas as pd

        return pd.DataFrame(
            {
                "path": self.path_strings(),
                "total_conversions": self.conversions,
                "total_null": self.nulls,
                "total_conversion_value": self.value,
            }
        )

    def write_csv(self, path: str | Path, delimiter: str = ",") -> None:
        """Write the ChannelAttribution format, atomically."""
        bad = [c for c in self.channels if SEPARATOR in c or delimiter in c]
        if bad:
            raise PathTableError(
                f"channel name {bad[0]!r} contains '{SEPARATOR}' or '{delimiter}'; "
                "it cannot be written in the path format",
                source=str(path),
            )
        write_text_atomic(path, self.to_frame().to_csv(index=False, sep=delimiter))


def _aggregate(
    channels: Sequence[str],
    lengths: np.ndarray,
    codes: np.ndarray,
    conversions: np.ndarray,
    nulls: np.ndarray,
    value: np.ndarray,
    ages: np.ndarray | None = None,
) -> PathTable:
    """Merge journeys (or rows) with identical channel sequences, exactly.

    Journeys are grouped by length; within a length the codes form a dense matrix whose
    distinct rows are found with ``np.unique(axis=0)``: no hashing, no string keys, and a
    loop over distinct lengths only.
    """
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    out_codes, out_len, out_conv, out_null, out_val, out_age = [], [], [], [], [], []
    for L in np.unique(lengths):
        rows = np.flatnonzero(lengths == L)
        if L == 0:
            continue
        starts = offsets[rows]
        mat = codes[starts[:, None] + np.arange(L)[None, :]]
        uniq, inverse = _unique_rows(mat, len(channels))
        k = len(uniq)
        out_codes.append(uniq.ravel())
        out_len.append(np.full(k, L, np.int64))
        out_conv.append(np.bincount(inverse, conversions[rows], minlength=k))
        out_null.append(np.bincount(inverse, nulls[rows], minlength=k))
        out_val.append(np.bincount(inverse, value[rows], minlength=k))
        if ages is not None:
            out_age.append(_mean_ages(ages, starts, L, inverse, k, conversions[rows]))
    if not out_len:
        return PathTable(
            tuple(channels), np.zeros(1, np.int64), np.zeros(0, np.int32),
            np.zeros(0), np.zeros(0), np.zeros(0),
        )  # fmt: skip
    lens = np.concatenate(out_len)
    return PathTable(
        channels=tuple(channels),
        offsets=np.concatenate(([0], np.cumsum(lens))).astype(np.int64),
        codes=np.concatenate(out_codes).astype(np.int32),
        conversions=np.concatenate(out_conv).astype(np.float64),
        nulls=np.concatenate(out_null).astype(np.float64),
        value=np.concatenate(out_val).astype(np.float64),
        touch_age=np.concatenate(out_age) if ages is not None else None,
    )


def _unique_rows(mat: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(mat, axis=0, return_inverse=True)`` for codes in ``[0, base)``.

    Where a row fits one int64 as a base-``base`` number (first code most significant,
    so numbers sort as the rows do), the distinct numbers are found instead of the
    distinct rows: a sort of integers, not of row views.
    """
    L = mat.shape[1]
    if L * np.log2(max(base, 2)) > 62:
        uniq, inverse = np.unique(mat, axis=0, return_inverse=True)
        return uniq, inverse.ravel()
    key = mat[:, 0].astype(np.int64)
    for j in range(1, L):
        key *= base
        key += mat[:, j]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return mat[first], inverse.ravel()


def _mean_ages(
    ages: np.ndarray,
    starts: np.ndarray,
    L: int,
    inverse: np.ndarray,
    k: int,
    conversions: np.ndarray,
) -> np.ndarray:
    """Per distinct path of length L, the mean age of each position over converting
    journeys (flattened row-major; 0 where the path has none)."""
    wsum = np.bincount(inverse, conversions, minlength=k)
    mat = ages[starts[:, None] + np.arange(L)[None, :]]
    out = np.empty((k, L))
    for j in range(L):
        out[:, j] = np.bincount(inverse, conversions * mat[:, j], minlength=k)
    return (out / np.where(wsum > 0, wsum, 1.0)[:, None]).ravel()


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
    import pandas as pd

    from cjsim.events import validate_events

    validate_events(events, source=source)
    if lookback_days is not None and not lookback_days > 0:
        raise PathTableError(f"lookback is {lookback_days!r}; expected a number of days > 0")
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
    cust, t, is_conv = cust[order], t[order], is_conv[order]
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
    tt, conv_rows, val_rows = t[in_journey], is_conv[in_journey], value[in_journey]
    touch_rows = ~conv_rows
    # keys are non-decreasing (rows are by customer, then journey): number them by change
    jid = np.cumsum(np.r_[False, jkey[1:] != jkey[:-1]]) if jkey.size else jkey
    J = int(jid.max()) + 1 if jid.size else 0
    j_conv = np.bincount(jid, conv_rows, minlength=J) > 0
    # each journey's value is its closing conversion's value (one conversion per journey)
    j_value = np.bincount(jid, np.where(conv_rows, val_rows, 0.0), minlength=J)

    outside = 0
    end = np.full(J, -np.inf)
    np.maximum.at(end, jid, tt)
    if lookback_days is not None:
        late = tt >= end[jid] - lookback_days
        outside = int((touch_rows & ~late).sum())
        touch_rows &= late
    raw = chan_codes[in_journey][touch_rows]
    # keep only the channels that occur, in name order, so codes do not depend on the input
    used = np.unique(raw)
    names = [str(chan_names[i]) for i in used]
    remap = np.full(max(len(chan_names), 1), -1, np.int64)
    remap[used] = np.argsort(np.argsort(names, kind="stable"))
    codes = remap[raw]
    channels = sorted(names)
    tj = jid[touch_rows]  # non-decreasing, and by time within a journey
    lengths = np.bincount(tj, minlength=J)
    has_touch = lengths > 0
    stats = JourneyStats(
        journeys=int(has_touch.sum()),
        converting=int((j_conv & has_touch).sum()),
        conversions_without_touches=int((j_conv & ~has_touch).sum()),
        touches_outside_lookback=outside,
    )
    table = _aggregate(
        [str(c) for c in channels],
        lengths,
        codes.astype(np.int32),
        j_conv.astype(np.float64),
        (~j_conv).astype(np.float64),
        np.where(j_conv, j_value, 0.0),
        ages=(end[tj] - tt[touch_rows]).astype(np.float64),
    )
    return table, stats


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


def read_path_table(path: str | Path, *, delimiter: str | None = None) -> PathTable:
    """Read a ChannelAttribution-format path table (``,`` or ``;`` delimited, detected).

    Rows with the same path are merged; fractional counts are kept as floats. A clean
    table is read by pyarrow's CSV reader; anything it does not take as plainly clean (a
    count that is not a number, a short row, an empty path) is read again by pandas, whose
    route names the file, row and value of the first problem.
    """
    src = str(path)
    p = Path(path)
    if not p.exists():
        raise PathTableError("file not found; expected a path table (CSV)", source=src)
    try:
        text = p.read_text(encoding="utf-8-sig")  # a byte-order mark is not a column name
    except UnicodeDecodeError as exc:
        raise not_utf8(exc, src, PathTableError) from None
    if not text.strip():
        raise PathTableError("file is empty; expected a path table with a header", source=src)
    header = text.splitlines()[0]
    sep = delimiter or (";" if header.count(";") > header.count(",") else ",")
    check_header_names([n.strip() for n in header.split(sep)], src, PathTableError)
    table = _read_clean(p, sep)
    return table if table is not None else _read_checked(p, sep, src)


def _read_clean(p: Path, sep: str) -> PathTable | None:
    """The table of a clean file via pyarrow, or None (then the checked route reads it)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        data = pacsv.read_csv(
            p,
            parse_options=pacsv.ParseOptions(delimiter=sep),
            convert_options=pacsv.ConvertOptions(
                column_types={"path": pa.string()}, strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError):
        return None
    names = data.column_names
    if "path" not in names or "total_conversions" not in names or data.num_rows == 0:
        return None
    if len(set(names)) != len(names) or any(n.strip() != n for n in names):
        return None
    counts = {}
    for col in PATH_COLUMNS[1:]:
        if col not in names:
            counts[col] = np.zeros(data.num_rows)
            continue
        column = data[col]
        dtype = {pa.float64(): np.float64, pa.int64(): np.int64}.get(column.type)
        if dtype is None or column.null_count:
            return None
        # from the buffers: pyarrow's own conversions to numpy import pandas
        num = np.concatenate(
            [np.zeros(0)]
            + [np.frombuffer(c.buffers()[1], dtype, len(c), c.offset * 8) for c in column.chunks]
        ).astype(np.float64)
        with np.errstate(over="ignore"):
            if not (np.isfinite(num).all() and (num >= 0).all() and num.sum() <= 1e15):
                return None
        counts[col] = num
    paths = data["path"].to_pylist()
    lengths, codes, channels = _split_paths(paths)
    if (codes < 0).any():
        return None
    return _aggregate(
        channels, lengths, codes, counts["total_conversions"], counts["total_null"],
        counts["total_conversion_value"],
    )  # fmt: skip


def _read_checked(p: Path, sep: str, src: str) -> PathTable:
    """Read with pandas and validate every row: the route that explains a bad file."""
    import pandas as pd

    from cjsim.events import too_many_fields

    hint = f"a channel name with {sep!r} must be in double quotes" + (
        " (\"search, brand > email\"), or write the table with ';' between the columns and "
        "read it with --delimiter ';'" if sep == "," else "")  # fmt: skip
    try:
        frame = pd.read_csv(
            p, sep=sep, dtype={"path": "string"}, keep_default_na=False, encoding="utf-8-sig"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        if isinstance(exc, pd.errors.ParserError):
            raise (too_many_fields(p, sep, src, hint, PathTableError) or PathTableError(
                f"cannot be read as CSV ({exc})", source=src)) from None  # fmt: skip
        raise PathTableError(f"cannot be read as CSV ({exc})", source=src) from exc
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas takes leading fields as an index when rows have more fields than the header
        raise too_many_fields(p, sep, src, hint, PathTableError) or PathTableError(
            "rows have more fields than the header; expected one field per column", source=src
        )
    return path_table_from_frame(frame, source=src)


def path_table_from_frame(frame: pd.DataFrame, *, source: str | None = None) -> PathTable:
    """Validate and code a ChannelAttribution-format DataFrame."""
    import pandas as pd

    if "path" not in frame.columns or "total_conversions" not in frame.columns:
        raise PathTableError(
            "missing column(s); expected path, total_conversions and optionally total_null, "
            f"total_conversion_value (found: {', '.join(map(str, frame.columns))})",
            source=source,
        )
    if len(frame) == 0:
        raise PathTableError("the path table has no rows", source=source)
    counts = {}
    for col in PATH_COLUMNS[1:]:
        if col not in frame.columns:
            counts[col] = np.zeros(len(frame))
            continue
        num = pd.to_numeric(frame[col].replace("", np.nan), errors="coerce").to_numpy(np.float64)
        bad = ~np.isfinite(num) | (num < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise PathTableError(
                f"{col} is {show(frame[col].iloc[i])}; expected a finite number >= 0",
                source=source,
                key=f"row {i + 1}",
            )
        with np.errstate(over="ignore"):
            total = float(num.sum())
        if not total <= 1e15:
            raise PathTableError(
                f"{col} adds up to {total:.3g}; expected counts that add up to at most 1e15",
                source=source,
                key=col,
            )
        counts[col] = num
    paths = frame["path"].astype("string").fillna("").tolist()
    lengths, codes, channels = _split_paths(paths)
    empty = codes < 0
    if empty.any():
        i = int(np.repeat(np.arange(len(frame)), lengths)[np.flatnonzero(empty)[0]])
        raise PathTableError(
            f"path {paths[i]!r} has an empty channel; expected 'a > b > c'",
            source=source,
            key=f"row {i + 1}",
        )
    return _aggregate(
        channels,
        lengths,
        codes,
        counts["total_conversions"],
        counts["total_null"],
        counts["total_conversion_value"],
    )


def _split_paths(paths: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Lengths, codes (-1 for an empty channel) and sorted channel names of ``a > b`` paths.

    The string work is done once per distinct token, not per touch: all paths are joined
    and split in one C call, the raw tokens are numbered through a dict, and only the
    distinct tokens are stripped of surrounding blanks and sorted.
    """
    lengths = np.fromiter((p.count(SEPARATOR) for p in paths), np.int64, len(paths)) + 1
    raw = SEPARATOR.join(paths).split(SEPARATOR)
    raw_index = {t: i for i, t in enumerate(dict.fromkeys(raw))}  # distinct, first seen
    raw_codes = np.fromiter(map(raw_index.__getitem__, raw), np.int32, len(raw))
    names = [t.strip() for t in raw_index]
    channels = sorted(set(names) - {""})
    index = {c: i for i, c in enumerate(channels)}
    lut = np.array([index.get(n, -1) for n in names], np.int32)
    return lengths, lut[raw_codes], channels
