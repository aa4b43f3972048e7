"""The out-of-core DuckDB aggregation gives the same path table as the in-memory one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cjsim.events import write_events
from cjsim.inputs import load_paths
from cjsim.paths import paths_from_events
from cjsim.paths_duckdb import paths_from_event_file
from cjsim.simulate.markov import simulate_frame
from tests.test_paths import log


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
    from cjsim.errors import EventLogError

    with pytest.raises(EventLogError, match=r"missing column.*channel"):
        paths_from_event_file(path)
