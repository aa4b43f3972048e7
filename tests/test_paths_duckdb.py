"""The out-of-core DuckDB aggregation gives the same path table as the in-memory one."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cjsim import inputs, paths_duckdb
from cjsim.errors import EventLogError
from cjsim.events import write_events
from cjsim.inputs import load_event_paths, load_paths
from cjsim.paths import paths_from_events
from cjsim.paths_duckdb import paths_from_event_file
from cjsim.simulate.markov import simulate_frame
from tests.helpers.paths import log


def as_frame(table) -> pd.DataFrame:
    f = table.to_frame().sort_values("path").reset_index(drop=True)
    ages = dict(zip(table.path_strings(), np.split(table.touch_age, table.offsets[1:-1]),
                    strict=True)) if table.touch_age is not None else {}  # fmt: skip
    f["ages"] = [tuple(np.round(ages.get(p, ()), 9)) for p in f.path]
    return f


@pytest.mark.parametrize(
    ("multi", "lookback"), [(False, None), (True, None), (False, 1.2), (True, 0.9)]
)
def test_duckdb_equals_pandas_on_the_hand_log(tmp_path, multi, lookback):
    frame = log()
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    a, sa = paths_from_event_file(path, multi_conversion=multi, lookback_days=lookback)
    b, sb = paths_from_events(frame, multi_conversion=multi, lookback_days=lookback)
    assert a.channels == b.channels
    pd.testing.assert_frame_equal(as_frame(a), as_frame(b))
    assert sa == sb


def test_duckdb_equals_pandas_on_a_simulated_log(tmp_path, ecommerce):
    frame, _ = simulate_frame(ecommerce, 3000, rng=4)
    path = tmp_path / "log.parquet"
    write_events(frame, path)
    b, sb = paths_from_events(frame)
    for parts in (1, 3):  # customers split by a hash, aggregated apart and merged
        a, sa = paths_from_event_file(path, partitions=parts)
        assert a.channels == b.channels
        pd.testing.assert_frame_equal(as_frame(a), as_frame(b))
        assert sa == sb
    # and the input loader picks either route with the same result
    c, _ = load_paths(path, out_of_core=True)
    d, _ = load_paths(path, out_of_core=False)
    pd.testing.assert_frame_equal(as_frame(c), as_frame(d))


def test_duckdb_missing_columns(tmp_path):
    path = tmp_path / "log.csv"
    pd.DataFrame({"customer_id": [1], "time": [0.0], "event": ["touch"]}).to_csv(path, index=False)
    with pytest.raises(EventLogError, match=r"missing column.*channel"):
        paths_from_event_file(path)


# -- both routes refuse the same logs, and give the same paths in the same order ----------

HEADER = "customer_id,time,event,channel,stage,value\n"
GOOD_ROWS = [
    "1,0.0,touch,a,,0", "1,1.0,touch,b,,0", "1,2.0,conversion,,,10",
    "2,0.5,touch,b,,0", "2,1.5,stage,,aware,0", "3,0.1,touch,a,,0",
]  # fmt: skip


def csv_log(replace: dict[int, str] | None = None, header: str = HEADER) -> bytes:
    rows = [replace.get(i, r) for i, r in enumerate(GOOD_ROWS)] if replace else GOOD_ROWS
    return (header + "".join(f"{r}\n" for r in rows)).encode()


#: name -> (file content, the key the refusal names). Each is refused by the in-memory reader.
BAD_CSV = {
    "empty_time": (csv_log({1: "1,,touch,b,,0"}), "row 2"),
    "infinite_time": (csv_log({1: "1,inf,touch,b,,0"}), "row 2"),
    "text_time": (csv_log({1: "1,soon,touch,b,,0"}), "time"),
    "timestamps_and_numbers": (csv_log({0: "1,2024-01-01T00:00:00Z,touch,a,,0"}), "time"),
    "unsorted_times": (csv_log({1: "1,-1.0,touch,b,,0"}), "row 2"),
    "unknown_event": (csv_log({1: "1,1.0,click,b,,0"}), "row 2"),
    "empty_event": (csv_log({1: "1,1.0,,b,,0"}), "row 2"),
    "negative_value": (csv_log({2: "1,2.0,conversion,,,-5"}), "row 3"),
    "text_value": (csv_log({2: "1,2.0,conversion,,,ten"}), "row 3"),
    "text_value_of_a_touch": (csv_log({1: "1,1.0,touch,b,,x"}), "row 2"),
    "conversion_without_value": (csv_log({2: "1,2.0,conversion,,,"}), "row 3"),
    "empty_customer_id": (csv_log({1: ",1.0,touch,b,,0"}), "row 2"),
    "blank_customer_id": (csv_log({3: "  ,0.5,touch,b,,0"}), "row 4"),
    "touch_without_channel": (csv_log({1: "1,1.0,touch,,,0"}), "row 2"),
    "stage_without_stage": (csv_log({4: "2,1.5,stage,,,0"}), "row 5"),
    "header_only": (HEADER.encode(), None),
    "column_twice": (csv_log(header="customer_id,time,event,channel,channel,value\n"), "header"),
    "no_event_column": (b"customer_id,time,channel\n1,0,a\n", None),
    "touches_without_channel_column": (b"customer_id,time,event\n1,0,touch\n", None),
    "unquoted_comma": (csv_log({1: "1,1.0,touch,search, brand,,0"}), "row 2"),
    "not_utf8": (csv_log().replace(b"touch,b", b"touch,\xe9b", 1), None),
    "not_utf8_header": (b"customer_\xe9id,time\n1,0\n", None),
}


def refusal(path, out_of_core: bool) -> tuple[type, str | None, str]:
    """The error class, the key and the message without its parenthesised details."""
    with pytest.raises(EventLogError) as info:
        load_event_paths(path, out_of_core=out_of_core)
    err = info.value
    return type(err), err.key, re.sub(r" \([^)]*\)", "", err.reason)


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_both_routes_refuse_the_same_csv_logs(tmp_path, case):
    content, key = BAD_CSV[case]
    path = tmp_path / "log.csv"
    path.write_bytes(content)
    in_memory = refusal(path, out_of_core=False)
    assert refusal(path, out_of_core=True) == in_memory
    assert in_memory[1] == key


def parquet_log(**change) -> pd.DataFrame:
    frame = pd.DataFrame({
        "customer_id": pd.array([1, 1, 1, 2], "Int64"), "time": [0.0, 1.0, 2.0, 0.5],
        "event": ["touch", "touch", "conversion", "touch"], "channel": ["a", "b", None, "b"],
        "value": [0.0, 0.0, 10.0, 0.0],
    })  # fmt: skip
    for column, (row, value) in change.items():
        if column == "time" and isinstance(value, str):
            frame["time"] = frame["time"].astype(str)
        frame.loc[row, column] = value
    return frame


BAD_PARQUET = {
    "nan_time": (parquet_log(time=(1, np.nan)), "row 2"),
    "text_time": (parquet_log(time=(1, "soon")), "time"),
    "missing_timestamp": (
        parquet_log().assign(time=pd.to_datetime([0, 1, None, 2], unit="D")),
        "row 3",
    ),
    "unsorted_times": (parquet_log(time=(1, -3.0)), "row 2"),
    "unknown_event": (parquet_log(event=(1, "click")), "row 2"),
    "null_customer_id": (parquet_log(customer_id=(1, pd.NA)), "row 2"),
    "touch_without_channel": (parquet_log(channel=(1, None)), "row 2"),
    "negative_value": (parquet_log(value=(2, -1.0)), "row 3"),
    "no_rows": (parquet_log().iloc[:0], None),
}


@pytest.mark.parametrize("case", sorted(BAD_PARQUET))
def test_both_routes_refuse_the_same_parquet_logs(tmp_path, case):
    frame, key = BAD_PARQUET[case]
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    in_memory = refusal(path, out_of_core=False)
    assert refusal(path, out_of_core=True) == in_memory
    assert in_memory[1] == key


def test_the_out_of_core_route_refuses_through_the_command_line(tmp_path, monkeypatch):
    """A file above the size limit goes to DuckDB (the limit lowered to 0 bytes here)."""
    from cjsim.cli import app

    path = tmp_path / "log.csv"
    path.write_bytes(BAD_CSV["unsorted_times"][0])
    (tmp_path / "result.csv").write_text("untouched")
    monkeypatch.setattr(inputs, "OUT_OF_CORE_BYTES", 0)
    calls = []
    real = paths_duckdb.paths_from_event_file
    monkeypatch.setattr(
        paths_duckdb, "paths_from_event_file", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    res = CliRunner().invoke(app, ["attribute", str(path), "--out", str(tmp_path / "result.csv")])
    assert res.exit_code == 2 and calls == [1]
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert lines == [
        f"error: {path}: row 2: time -1.0 is earlier than the customer's previous event; "
        "expected events sorted by time within each customer"
    ]
    assert (tmp_path / "result.csv").read_text() == "untouched"


def _simulated(tmp_path, ecommerce) -> list:
    frame, _ = simulate_frame(ecommerce, 2500, rng=11)
    files = []
    for suffix in (".parquet", ".csv"):
        files.append(tmp_path / f"log{suffix}")
        write_events(frame, files[-1])
    return files


@pytest.mark.parametrize(("multi", "lookback"), [(False, None), (True, None), (False, 3.0)])
def test_both_routes_give_the_same_paths_in_the_same_order(tmp_path, ecommerce, multi, lookback):
    for path in _simulated(tmp_path, ecommerce):
        a, sa = load_event_paths(path, out_of_core=False, multi_conversion=multi,
                                 lookback_days=lookback)  # fmt: skip
        assert a.n_paths > 100 and (np.diff(a.lengths) >= 0).all()  # by length first
        for parts in (1, 3):
            b, sb = paths_from_event_file(path, partitions=parts, multi_conversion=multi,
                                          lookback_days=lookback)  # fmt: skip
            assert b.channels == a.channels and sb == sa
            for name in ("offsets", "codes", "conversions", "nulls"):
                np.testing.assert_array_equal(getattr(b, name), getattr(a, name), err_msg=name)
            # value sums are added in another order: equal to the last bits
            np.testing.assert_allclose(b.value, a.value, rtol=1e-12)
            np.testing.assert_allclose(b.touch_age, a.touch_age, rtol=1e-9, atol=1e-12)


def test_same_seed_same_bootstrap_on_either_route(tmp_path, ecommerce):
    from cjsim.attribution import attribute

    path = _simulated(tmp_path, ecommerce)[0]
    results = [
        attribute(load_event_paths(path, out_of_core=ooc)[0], ("linear", "markov"), ci=0.9,
                  n_resamples=25, rng=8).to_frame()
        for ooc in (False, True)
    ]  # fmt: skip
    a, b = results
    for column in ("method", "channel", "conversions", "ci_low", "ci_high"):
        pd.testing.assert_series_equal(a[column], b[column])
    np.testing.assert_allclose(b["value"], a["value"], rtol=1e-12)


def test_timestamps_count_in_days_whatever_their_unit(tmp_path):
    """pandas reads ISO text as microseconds, Parquet may hold nanoseconds: days either way."""
    text = (
        "customer_id,time,event,channel,value\n1,2024-01-01T00:00:00Z,touch,a,0\n"
        "1,2024-01-03T12:00:00Z,touch,b,0\n1,2024-01-04T00:00:00Z,conversion,,5\n"
    )
    path = tmp_path / "log.csv"
    path.write_text(text)
    for ooc in (False, True):
        table, _ = load_event_paths(path, out_of_core=ooc, lookback_days=1.0)
        assert table.path_strings() == ["b"]  # a is 3 days before the conversion
        np.testing.assert_allclose(table.touch_age, [0.5])
