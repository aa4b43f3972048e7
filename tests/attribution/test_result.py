"""attribute(): every method on one table, the long result format and its writers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cjsim.attribution import METHODS, STANDARD_METHODS, attribute, make_method
from cjsim.attribution.result import COLUMNS
from cjsim.errors import OptionError
from tests.helpers.tables import random_table, table


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


@pytest.mark.parametrize("name", METHODS)
def test_every_method_ignores_row_order_and_row_splits(name):
    rows = [("a > b", 4, 2, 40), ("b", 1, 5, 3), ("c > a > b", 2, 0, 8), ("c", 0, 3, 0)]
    split = [("a > b", 1, 1, 10), *rows[1:][::-1], ("a > b", 3, 1, 30)]
    a = attribute(table(rows), [name], rng=3).to_frame()
    b = attribute(table(split), [name], rng=3).to_frame()
    np.testing.assert_allclose(a.conversions, b.conversions, rtol=1e-12)
    np.testing.assert_allclose(a.value, b.value, rtol=1e-12)


def test_markov_agrees_with_channelattribution_when_installed():
    """ChannelAttribution (Altomare & Loris) simulates the same chain: with many walks its
    removal effects approach the exact ones (install the 'bench' extra to run this).

    Its default ``max_step`` cuts long walks and counts them as lost, which on this table
    lowers every removal effect by about 0.03; with a high cap the two agree."""
    ca = pytest.importorskip("ChannelAttribution")
    t = random_table(K=4, P=60, seed=21)
    frame = t.to_frame()
    res = ca.markov_model(
        frame, "path", "total_conversions", var_value="total_conversion_value",
        var_null="total_null", order=1, out_more=True, verbose=False, flg_pro=False,
        nsim_start=1e6, max_step=10_000,
    )  # fmt: skip
    theirs = res["removal_effects"].set_index("channel_name")["removal_effects_conversion"]
    ours = attribute(t, ["markov"]).to_frame().set_index("channel").removal_effect
    np.testing.assert_allclose(theirs.reindex(ours.index), ours, atol=0.01)
