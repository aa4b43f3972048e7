"""Reading ChannelAttribution-format path tables (``path, total_conversions, ...``).

A clean file takes the fast route (pyarrow's CSV reader, no pandas); anything that route
does not take as plainly clean is read again by pandas and checked row by row, so that
the error names the file, the row and the value of the first problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cjsim.errors import check_header_names, not_utf8, show
from cjsim.paths.aggregate import aggregate_paths
from cjsim.paths.table import PATH_COLUMNS, SEPARATOR, PathTable, PathTableError

if TYPE_CHECKING:
    import pandas as pd


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
    return aggregate_paths(
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
    return aggregate_paths(
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
