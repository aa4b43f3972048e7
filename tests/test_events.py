"""The event-log schema, readers, writers and validator (library level)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cjsim.errors import EventLogError
from cjsim.events import read_events, read_metadata, validate_events, write_events


def _log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2],
            "time": [0.0, 1.5, 2.0, 0.25, 3.0],
            "event": ["touch", "touch", "conversion", "touch", "touch"],
            "channel": ["search", "email", None, "display", "search"],
            "stage": [None] * 5,
            "value": [0.0, 0.0, 80.0, 0.0, 0.0],
            "segment": ["a", "a", "a", "b", "b"],
        }
    )


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_round_trip(tmp_path, suffix):
    path = tmp_path / f"e{suffix}"
    write_events(_log(), path, metadata={"model_hash": "abc"})
    back = read_events(path)
    assert back.customer_id.tolist() == [1, 1, 1, 2, 2]
    np.testing.assert_array_equal(back.time.to_numpy(), [0.0, 1.5, 2.0, 0.25, 3.0])
    assert back.channel.astype("string").fillna("").tolist() == [
        "search",
        "email",
        "",
        "display",
        "search",
    ]
    assert isinstance(back.event.dtype, pd.CategoricalDtype)
    assert read_metadata(path) == ({"model_hash": "abc"} if suffix == ".parquet" else {})
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_real_export_with_renamed_columns_and_string_ids(tmp_path):
    path = tmp_path / "export.csv"
    pd.DataFrame(
        {
            "user": ["u7", "u7", "u9"],
            "ts": ["2026-01-01 10:00", "2026-01-02 09:00", "2026-01-01 08:00"],
            "event": ["touch", "conversion", "touch"],
            "channel": ["search", "", "email"],
            "value": [0, 19.5, 0],
        }
    ).to_csv(path, index=False)
    frame = read_events(path, columns={"user": "customer_id", "ts": "time"}, validate=False)
    frame["time"] = pd.to_datetime(frame["time"])
    validate_events(frame, source=str(path))  # timestamps are accepted
    assert frame.customer_id.tolist() == ["u7", "u7", "u9"]


def test_interleaved_customers_sorted_within_each_are_valid():
    frame = _log().iloc[[0, 3, 1, 4, 2]].reset_index(drop=True)
    validate_events(frame)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["event"]), "missing column(s) event"),
        (lambda f: f.assign(time=[0.0, np.nan, 2.0, 0.25, 3.0]), "row 2: time is nan;"),
        (lambda f: f.assign(time=[0.0, 2.5, 2.0, 0.25, 3.0]), "row 3: time 2.0 is earlier"),
        (
            lambda f: f.assign(event=["touch", "click", "conversion", "touch", "touch"]),
            "row 2: event is 'click'",
        ),
        (
            lambda f: f.assign(channel=["search", None, None, "display", "search"]),
            "row 2: touch without a channel",
        ),
        (lambda f: f.assign(value=[0.0, 0.0, -1.0, 0.0, 0.0]), "row 3: conversion value is -1.0"),
        (lambda f: f.iloc[:0], "no rows"),
    ],
)
def test_validator_names_the_bad_row(change, message):
    with pytest.raises(EventLogError) as info:
        validate_events(change(_log()), source="e.csv")
    assert str(info.value).startswith("e.csv")
    assert message in str(info.value)


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(EventLogError, match=r"expected \.parquet or \.csv"):
        read_events(tmp_path / "e.json")
    with pytest.raises(EventLogError, match="file not found"):
        read_events(tmp_path / "nope.parquet")


@pytest.mark.parametrize(
    "change",
    [
        {"event": ["touch", "visit", "conversion"]},
        {"event": ["touch", None, "conversion"]},
        {"channel": ["", None, None]},
        {"channel": [None, None, None]},
        {"event": ["touch", "stage", "conversion"], "stage": [None, "", None]},
        {"value": [0.0, 0.0, -1.0]},
    ],
)
def test_categorical_columns_are_checked_as_their_text(change) -> None:  # type: ignore[no-untyped-def]
    """A Parquet or simulated log (categorical columns, read by codes) gets the same verdict
    and message as the same log with text columns."""
    from cjsim.errors import EventLogError
    from cjsim.events import validate_events

    base = {"customer_id": [1, 1, 1], "time": [0.0, 1.0, 2.0],
            "event": ["touch", "touch", "conversion"], "channel": ["a", "b", None],
            "stage": [None, None, None], "value": [0.0, 0.0, 5.0]}  # fmt: skip
    text = pd.DataFrame({**base, **change})
    coded = text.copy()
    for col in ("event", "channel", "stage"):
        coded[col] = coded[col].astype("category")
    messages = []
    for frame in (text, coded):
        try:
            validate_events(frame, source="x")
            messages.append(None)
        except EventLogError as exc:
            messages.append(str(exc))
    assert messages[0] == messages[1]
    assert messages[0] is not None
