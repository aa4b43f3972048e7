"""attribute(): every method on one table, the long result format and its writers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cjsim.attribution import METHODS, STANDARD_METHODS, attribute, make_method
from cjsim.attribution.result import COLUMNS
from cjsim.errors import OptionError
from tests.attribution.helpers import random_table, table


def test_all_methods_preserve_totals_and_fill_the_long_format():
    t = random_table(K=5, P=200, seed=2)
    res = attribute(t, METHODS, rng=0)
    f = res.to_frame()
    assert list(f.columns) == list(COLUMNS)
    assert res.methods == list(METHODS)
    assert len(f) == len(METHODS) * len(t.channels)
    sums = f.groupby("method")[["conversions", "value"]].sum()
    np.testing.assert_allclose(sums.conversions, t.conversions.sum())
    np.testing.assert_allclose(sums.value, t.value.sum())
    markov = f[f.method == "markov"]
    assert markov.removal_effect.between(0, 1).all()
    assert f[f.method != "markov"].removal_effect.isna().all()
    assert f[f.method == "shapley_sampled"].standard_error.notna().all()


def test_default_methods_and_wide_view():
    t = table([("a > b", 3, 1, 30), ("b", 1, 2, 5)])
    res = attribute(t)
    assert res.methods == list(STANDARD_METHODS)
    wide = res.wide()
    assert list(wide.columns) == list(STANDARD_METHODS)
    assert wide.loc["a", "first"] == 3.0
    assert "Attribution of 4 conversions" in res.summary()
    assert "<table" in res._repr_html_()
    tm = res.transition_matrix()
    assert {"channel_from", "channel_to", "transition_probability"} <= set(tm.columns)


def test_writers_are_atomic_and_round_trip(tmp_path):
    t = table([("a > b", 3, 1, 30), ("b", 1, 2, 5)])
    res = attribute(t, ["last", "markov"], ci=0.9, n_resamples=20, rng=1)
    res.write(tmp_path / "r.csv")
    back = pd.read_csv(tmp_path / "r.csv")
    pd.testing.assert_frame_equal(back, res.to_frame(), check_dtype=False)
    res.write(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["settings"]["ci"] == 0.9 and data["settings"]["input_hash"]
    assert len(data["results"]) == 4
    with pytest.raises(OptionError, match=r"expected \.csv or \.json"):
        res.write(tmp_path / "r.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.json"]


def test_unknown_method_and_empty_table():
    with pytest.raises(OptionError, match="expected one of first"):
        make_method("last_click")
    empty = table([("a", 1, 0, 0)]).with_counts(np.zeros(1), np.zeros(1), np.zeros(1))
    res = attribute(empty, ["first", "markov", "shapley"])
    assert (res.to_frame().conversions == 0).all()
