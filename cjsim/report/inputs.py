"""The files a report is made of, read with messages a person can act on.

``cjsim report`` reads what other commands wrote: attribution results, evaluation and
experiment folders. Such files get copied, edited by hand, cut short or produced by
another version; the report then stops with one line that names the file, the key or
row and what was expected (exit code 2), instead of a traceback from deep inside pandas.
Everything read here is checked once; the report code trusts what it gets.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cjsim.errors import CjsimError, show


class ReportInputError(CjsimError):
    """A result file or folder that cannot be reported on (damaged, edited, or foreign)."""


def _csv_frame(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise ReportInputError(f"file not found; expected {what}", source=str(path))
    try:
        with path.open(encoding="utf-8-sig") as fh:
            header = fh.readline().rstrip("\r\n").split(",")
        names = [n.strip().strip('"') for n in header]
        twice = sorted({n for n in names if n and names.count(n) > 1})
        if twice:
            raise ReportInputError(
                f"column {twice[0]} appears twice in the header; expected {what}",
                source=str(path),
                key="header",
            )
        return pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False,
                           na_values=[""])  # fmt: skip
    except UnicodeDecodeError as exc:
        raise ReportInputError(
            f"is not UTF-8 text ({exc.reason} at byte {exc.start}); expected {what}",
            source=str(path),
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "no columns"
        raise ReportInputError(
            f"cannot be read as CSV ({reason}); expected {what}", source=str(path)
        ) from None


def check_columns(
    frame: pd.DataFrame,
    source: str,
    what: str,
    *,
    text: Iterable[str] = (),
    numbers: Iterable[str] = (),
    optional_numbers: Iterable[str] = (),
) -> pd.DataFrame:
    """Check a table's columns; returns it with its number columns as float64.

    ``text`` and ``numbers`` must be present, text not empty and numbers finite;
    ``optional_numbers`` are checked when present and may be empty (NaN), not text.
    """
    text, numbers, optional = list(text), list(numbers), list(optional_numbers)
    missing = [c for c in (*text, *numbers) if c not in frame.columns]
    if missing:
        raise ReportInputError(
            f"missing column(s) {', '.join(missing)}; expected {what}",
            source=source,
        )
    out = frame.copy()
    for col in text:
        values = out[col]
        blank = values.isna() | (values.astype(str).str.strip() == "")
        _first_bad(blank, lambda i, c=col: f"{c} is empty; expected a name", source)
        out[col] = values.astype(str)
    for col in numbers + [c for c in optional if c in out.columns]:
        raw = out[col]
        num = pd.to_numeric(raw, errors="coerce").astype(np.float64)
        bad = num.isna() & raw.notna()  # text that is not a number
        if col in numbers:
            bad |= ~np.isfinite(num)
        _first_bad(
            bad,
            lambda i, c=col, r=raw: (
                f"{c} is {show(r.iloc[i])}; expected "
                + ("a finite number" if c in numbers else "a number or an empty cell")
            ),
            source,
        )
        out[col] = num
    return out


def _first_bad(bad: pd.Series, message: Any, source: str) -> None:
    """Raise naming the first row (1-based, as in a spreadsheet without its header)."""
    flags = np.asarray(bad, dtype=bool)
    if flags.any():
        i = int(np.flatnonzero(flags)[0])
        raise ReportInputError(message(i), source=source, key=f"row {i + 1}")


def read_table(path: Path, what: str, **columns: Iterable[str]) -> pd.DataFrame:
    """A CSV file that a cjsim command wrote, read and checked (see :func:`check_columns`)."""
    return check_columns(_csv_frame(path, what), str(path), what, **columns)


def check_unique(frame: pd.DataFrame, keys: list[str], source: str, what: str) -> None:
    """One row per combination of ``keys`` (a table is pivoted on them)."""
    twice = frame.duplicated(keys)
    _first_bad(
        twice,
        lambda i: (
            f"{' and '.join(f'{k} {frame[k].iloc[i]!r}' for k in keys)} appear twice; "
            f"expected {what}"
        ),
        source,
    )


#: Result columns (``cjsim attribute --out``) that hold numbers besides ``conversions``.
RESULT_NUMBERS = ("value", "removal_effect", "ci_low", "ci_high", "value_ci_low",
                  "value_ci_high")  # fmt: skip
RESULT = "an attribution result written by cjsim attribute --out"


def read_result(path: Path) -> pd.DataFrame:
    """An attribution result file (``.csv`` or ``.json``), checked."""
    if path.suffix.lower() == ".json":
        from cjsim._io import read_json_file

        data = read_json_file(path, RESULT)
        rows = data.get("results") if isinstance(data, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ReportInputError(f"expected {RESULT} (a 'results' list of records)",
                                   source=str(path), key="results")  # fmt: skip
        frame = pd.DataFrame(rows)
    else:
        frame = _csv_frame(path, RESULT)
    what = f"{RESULT}, an event log or a path table"
    frame = check_columns(frame, str(path), what, text=("method", "channel"),
                          numbers=("conversions",), optional_numbers=RESULT_NUMBERS)  # fmt: skip
    if frame.empty:
        raise ReportInputError(f"the result has no rows; expected {RESULT}", source=str(path))
    check_unique(frame, ["method", "channel"], str(path), "one row per method and channel")
    return frame


# -- experiment folders ---------------------------------------------------------------------

MANIFEST = "an experiment folder's manifest (written by cjsim run)"


def check_manifest(manifest: Any, path: Path) -> dict[str, Any]:
    """The manifest of an experiment folder, its fields of the types cjsim run writes."""
    src = str(path)
    if not isinstance(manifest, dict):
        raise ReportInputError(f"expected {MANIFEST}: a JSON object", source=src)

    def fail(key: str, expected: str) -> None:
        raise ReportInputError(
            f"{key} is {show(manifest[key])}; expected {expected}", source=src, key=key
        )

    scenarios = manifest.get("scenarios", [])
    if not isinstance(scenarios, list) or not all(
        isinstance(s, str) and s and "/" not in s and "\\" not in s and s not in (".", "..")
        for s in scenarios
    ):
        fail("scenarios", "a list of scenario names")
    if len(set(scenarios)) != len(scenarios):
        fail("scenarios", "each scenario named once")
    reps = manifest.get("replications", 0)
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 0:
        fail("replications", "a whole number >= 0")
    for key in ("baseline", "experiment", "description", "model", "engine", "hash", "source"):
        if manifest.get(key) is not None and not isinstance(manifest[key], str):
            fail(key, "text")
    if manifest.get("baseline") and scenarios and manifest["baseline"] not in scenarios:
        fail("baseline", f"one of the scenarios ({', '.join(scenarios)})")
    metrics = manifest.get("metrics")
    if metrics is not None and not (
        isinstance(metrics, list) and all(isinstance(m, str) for m in metrics)
    ):
        fail("metrics", "a list of metric names")
    if not isinstance(manifest.get("truth", False), bool):
        fail("truth", "true or false")
    return manifest


def _number(value: Any) -> bool:
    """A JSON number (NaN included: a metric without a value, e.g. CPA of no conversion)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _task_problem(
    record: Any, scenario: str, rep: int, truth: bool, metrics: list[str]
) -> str | None:
    """What is wrong with a task file's content, or None."""
    if not isinstance(record, dict):
        return "expected a JSON object"
    if record.get("scenario") != scenario:
        return f"scenario is {show(record.get('scenario'))}; expected {scenario!r}"
    if truth:
        shares = record.get("truth")
        if not isinstance(shares, dict) or not all(_number(v) for v in shares.values()):
            return f"truth is {show(shares)}; expected channel shares (numbers)"
        extra = record.get("incremental", {})
        if not isinstance(extra, dict) or not all(_number(v) for v in extra.values()):
            return f"incremental is {show(extra)}; expected conversions per channel"
        return None
    if record.get("replication") != rep or isinstance(record.get("replication"), bool):
        return f"replication is {show(record.get('replication'))}; expected {rep}"
    for key in metrics:
        if key not in record:
            return f"{key} is missing; expected a number"
    for key, value in record.items():
        if key in ("scenario", "replication", "credit"):
            continue
        if not _number(value):
            return f"{key} is {show(value)}; expected a number"
    credit = record.get("credit", [])
    if not isinstance(credit, list) or not all(
        isinstance(c, list) and len(c) == 3 and isinstance(c[0], str)
        and isinstance(c[1], str) and _number(c[2]) and math.isfinite(c[2])
        for c in credit
    ):  # fmt: skip
        return "credit is not a list of [method, channel, conversions]; expected one"
    return None


def check_task_files(
    folder: Path, tasks: list[tuple[str, int]], truth_rep: int, metrics: list[str]
) -> None:
    """Task files of the shape cjsim run writes, each replication with its ``metrics``
    (a file cut short is left to the caller, who lists it as unreadable: a crash of the
    disk may leave one, and ``cjsim run`` redoes it)."""
    from cjsim.experiment.folder import task_path

    for scenario, rep in tasks:
        path = task_path(folder, scenario, rep)
        if not path.is_file():
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        problem = _task_problem(record, scenario, rep, rep == truth_rep, metrics)
        if problem is not None:
            raise ReportInputError(
                f"{problem} (a task file of cjsim run; delete it and run the experiment "
                "again to redo the task)",
                source=str(path),
            )
