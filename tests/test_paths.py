"""Event log -> journeys -> path table, and the ChannelAttribution path format."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cjsim.paths import PathTableError, path_table_from_frame, paths_from_events, read_path_table
from cjsim.paths.aggregate import _unique_rows
from cjsim.paths.reading import _read_checked, _read_clean, _split_paths
from tests.helpers.paths import log


def as_dict(table) -> dict[str, tuple[float, float, float]]:
    f = table.to_frame()
    return {
        r.path: (r.total_conversions, r.total_null, r.total_conversion_value)
        for r in f.itertuples(index=False)
    }


def test_first_conversion_journeys_by_hand():
    table, stats = paths_from_events(log())
    # a > b: c1 and c5 convert (10 + 3), c2 does not; b > b: c4 converts (7);
    # c1's touch c after its first conversion is ignored; c3 has no path.
    assert as_dict(table) == {"a > b": (2.0, 1.0, 13.0), "b > b": (1.0, 0.0, 7.0)}
    assert stats.journeys == 4 and stats.converting == 3
    assert stats.conversions_without_touches == 1


def test_multi_conversion_journeys_by_hand():
    table, stats = paths_from_events(log(), multi_conversion=True)
    assert as_dict(table) == {
        "a > b": (2.0, 1.0, 13.0),
        "b > b": (1.0, 0.0, 7.0),
        "c": (1.0, 0.0, 5.0),
    }
    assert stats.journeys == 5


def test_lookback_window_by_hand():
    # 1.5 days before the journey's end: c1 keeps b (t=1; conversion at 2) but not a (t=0);
    # c5 keeps b (1.5) but not a (0.5; conversion at 2.5); c2's null journey ends at its
    # last touch (1.0) and keeps both; c4 keeps both.
    table, stats = paths_from_events(log(), lookback_days=1.5)
    assert as_dict(table) == {
        "b": (2.0, 0.0, 13.0),
        "a > b": (0.0, 1.0, 0.0),
        "b > b": (1.0, 0.0, 7.0),
    }
    assert stats.touches_outside_lookback == 2


def test_row_order_does_not_matter():
    shuffled = log().sample(frac=1.0, random_state=3)
    shuffled = shuffled.sort_values(["customer_id", "time"], kind="stable")
    assert as_dict(paths_from_events(shuffled)[0]) == as_dict(paths_from_events(log())[0])


def test_timestamps_are_accepted():
    f = log()
    f["time"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(f["time"], unit="D")
    table, _ = paths_from_events(f, lookback_days=1.5)
    assert as_dict(table)["b"] == (2.0, 0.0, 13.0)


def test_simulated_log_totals(ecommerce):
    from cjsim.simulate.markov import simulate_frame

    frame, s = simulate_frame(ecommerce, 3000, rng=2)
    table, stats = paths_from_events(frame)
    assert table.conversions.sum() + stats.conversions_without_touches == s.converters
    touched = frame[frame.event == "touch"].customer_id.nunique()
    assert table.totals()["journeys"] == touched
    # every path's codes are valid channel codes, lengths add up
    assert table.offsets[-1] == len(table.codes)
    assert table.codes.max() < len(table.channels)


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_path_format_round_trip(tmp_path, delimiter):
    table, _ = paths_from_events(log(), multi_conversion=True)
    target = tmp_path / "paths.csv"
    table.write_csv(target, delimiter=delimiter)
    back = read_path_table(target)  # the delimiter is detected
    assert as_dict(back) == as_dict(table)


def test_fractional_counts_kept_and_duplicate_rows_merged():
    frame = pd.DataFrame(
        {
            "path": ["a > b", "b", "a>b", "b > a"],
            "total_conversions": [1.5, 0.25, 2.0, 0.0],
            "total_null": [3.0, 1.0, 0.5, 4.0],
            "total_conversion_value": [15.0, 2.5, 20.0, 0.0],
        }
    )
    table = path_table_from_frame(frame)
    assert as_dict(table) == {
        "a > b": (3.5, 3.5, 35.0),
        "b": (0.25, 1.0, 2.5),
        "b > a": (0.0, 4.0, 0.0),
    }
    # splitting a row into two rows with the same path changes nothing
    first = frame.iloc[[0]]
    split = pd.concat(
        [
            first.assign(total_conversions=0.5, total_null=1.0, total_conversion_value=5.0),
            first.assign(total_conversions=1.0, total_null=2.0, total_conversion_value=10.0),
            frame.iloc[1:],
        ]
    )
    assert as_dict(path_table_from_frame(split)) == as_dict(table)


def test_fast_split_is_pandas_split_and_strip():
    """Paths are split by one join/split and the distinct tokens stripped: the same
    lengths, codes and sorted channel names as pandas' per-row split, strip and
    factorize, on blanks around and inside names, unicode and empty channels."""
    paths = [" b >a", "a > b", "a>b ", "c", "\tb > a > c > c", "é d >c", "a > > b", "", "x "]
    lengths, codes, channels = _split_paths(paths)
    flat = pd.Series(paths).str.split(">").explode().str.strip()
    named = flat != ""
    ref_codes, ref_names = pd.factorize(flat[named], sort=True)
    assert channels == list(ref_names)
    np.testing.assert_array_equal(lengths, pd.Series(paths).str.split(">").map(len))
    np.testing.assert_array_equal(codes[named.to_numpy()], ref_codes)
    assert (codes[~named.to_numpy()] == -1).all()


@pytest.mark.parametrize(("base", "width"), [(1, 3), (3, 1), (12, 7), (12, 17), (300, 9)])
def test_rows_keyed_as_integers_are_numpy_unique_rows(base, width):
    """Rows that fit an int64 as base-``base`` numbers are deduplicated by their number
    (12 ** 17 and 300 ** 9 do not fit: the fallback is np.unique itself)."""
    mat = np.random.default_rng(width).integers(0, base, (2_000, width))
    mat[1000:] = mat[:1000]  # duplicates
    uniq, inverse = _unique_rows(mat, base)
    ref, ref_inverse = np.unique(mat, axis=0, return_inverse=True)
    np.testing.assert_array_equal(uniq, ref)
    np.testing.assert_array_equal(inverse, ref_inverse.ravel())


@pytest.mark.parametrize(
    ("content", "sep"),
    [
        ("path,total_conversions,total_null,total_conversion_value\n"
         "a > b,1.5,3,15.25\nb,0,1,0\n a>b ,2,0.5,20\n", ","),
        ('\ufeffpath,total_conversions\n"search, brand > email",3\nemail,1\n', ","),
        ("path;total_conversions;total_null\nné > b;1;2\nb > né > b;0;4\n", ";"),
        ("total_null,path,total_conversions,extra\n4,x,1,hello\n2,y > x,7,\n", ","),
    ],
)  # fmt: skip
def test_the_clean_route_reads_what_the_checked_route_reads(tmp_path, content, sep):
    """pyarrow reads clean files (quoted names, ';', a byte-order mark, integer counts,
    optional columns absent, extra columns); the pandas route that explains bad files
    must give the same table, value for value."""
    target = tmp_path / "paths.csv"
    target.write_text(content, encoding="utf-8")
    clean, checked = _read_clean(target, sep), _read_checked(target, sep, str(target))
    assert clean is not None
    assert as_dict(clean) == as_dict(checked) == as_dict(read_path_table(target))


def test_optional_columns_default_to_zero():
    table = path_table_from_frame(pd.DataFrame({"path": ["a > b"], "total_conversions": [2]}))
    np.testing.assert_array_equal(table.nulls, [0.0])
    np.testing.assert_array_equal(table.value, [0.0])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "file is empty"),
        ("route,total_conversions\na,1\n", "missing column"),
        ("path,total_conversions\na > b,-1\n", "row 1: total_conversions is -1;"),
        ("path,total_conversions\na,1\nb,\n", "row 2: total_conversions"),
        ("path,total_conversions\na > > b,1\n", "row 1: path 'a > > b' has an empty channel"),
        ("path,total_conversions\n,1\n", "row 1: path '' has an empty channel"),
        ("path,total_conversions\n", "no rows"),
    ],
)
def test_bad_path_tables(tmp_path, content, message):
    target = tmp_path / "paths.csv"
    target.write_text(content)
    with pytest.raises(PathTableError) as info:
        read_path_table(target)
    assert str(info.value).startswith(str(target))
    assert message in str(info.value)


def test_channel_with_the_separator_cannot_be_written(tmp_path):
    f = log().replace({"channel": {"a": "a>x"}})
    table, _ = paths_from_events(f)
    with pytest.raises(PathTableError, match="contains '>'"):
        table.write_csv(tmp_path / "p.csv")
    assert list(tmp_path.iterdir()) == []


def test_log_without_touches_gives_an_empty_table():
    f = pd.DataFrame({"customer_id": [1, 2], "time": [0.0, 0.0], "event": ["stage", "stage"],
                      "stage": ["unaware", "unaware"]})  # fmt: skip
    table, stats = paths_from_events(f)
    assert table.n_paths == 0 and stats.journeys == 0
    assert table.to_frame().empty
