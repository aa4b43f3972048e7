"""Absolute scoring: credited against caused conversions, attributed against true ROAS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cjsim.scoring import score_absolute, summarise_absolute

T1, Z = 12.7062, 1.95996

#: caused conversions (scaled), their value and the true incremental ROAS per channel;
#: b is organic (no spend, no ROAS), c spends and causes nothing
TRUTH = pd.DataFrame(
    {"conversions": [5.0, 2.0, 0.0], "conversions_se": [1.0, 1.5, 0.0],
     "value": [50.0, 20.0, 0.0], "roas": [0.5, np.nan, 0.0], "roas_se": [0.1, np.nan, 0.0]},
    index=pd.Index(["a", "b", "c"], name="channel"),
)  # fmt: skip
SPEND = pd.Series({"a": 100.0, "b": 0.0, "c": 50.0})


def credit(a: float, b: float) -> pd.DataFrame:
    """'last' credits a and b, value 10 per conversion; 'first' credits a with 8."""
    return pd.DataFrame(
        {"method": ["last", "last", "first"], "channel": ["a", "b", "a"],
         "conversions": [a, b, 8.0], "value": [10 * a, 10 * b, 80.0]}
    )  # fmt: skip


def test_score_absolute_by_hand():
    s = score_absolute(credit(30.0, 10.0), SPEND, TRUTH).set_index(["method", "channel"])
    assert s.loc[("last", "a"), "excess"] == 25.0  # 30 credited, 5 caused
    assert s.loc[("last", "a"), "roas"] == 3.0  # value 300 over spend 100
    assert s.loc[("last", "a"), "roas_error"] == pytest.approx(2.5)
    assert np.isnan(s.loc[("last", "b"), "roas"])  # organic: no spend, no ROAS
    assert np.isnan(s.loc[("last", "b"), "roas_error"])
    assert s.loc[("last", "c"), "roas"] == 0.0 and s.loc[("last", "c"), "roas_error"] == 0.0
    assert s.loc[("first", "b"), "excess"] == -2.0  # credits nothing of what b caused
    assert s.loc[("first", "c"), "spend"] == 50.0


def two_replications() -> pd.DataFrame:
    return pd.concat(
        [score_absolute(credit(30.0, 10.0), SPEND, TRUTH).assign(replication=0),
         score_absolute(credit(20.0, 10.0), SPEND, TRUTH).assign(replication=1)],
        ignore_index=True,
    )  # fmt: skip


def test_over_credit_per_method_by_hand():
    per_method, _ = summarise_absolute(two_replications(), caused=7.0, caused_se=1.0)
    last = per_method.set_index("method").loc["last"]
    # 40 and 30 credited, 7 caused: ratios 40/7 and 30/7, mean 5; the replications' sd of
    # the mean is 5/7, and so is the truth's part (delta method: 5 * 1/7)
    assert last["conversions"] == 35.0 and last["over_credit"] == pytest.approx(5.0)
    assert last["over_credit_high"] - 5.0 == pytest.approx(5 / 7 * np.hypot(T1, Z), rel=1e-4)
    # ROAS errors: a 2.5 and 1.5, c 0 -> MAE 1.25 and 0.75
    assert last["roas_mae"] == pytest.approx(1.0)
    rep_var = np.var([1.25, 0.75], ddof=1) / 2
    truth_var = 0.1**2 / 4  # mean of the two replications' (|3 - r| + |2 - r|) / 2 / 2
    assert last["roas_mae_high"] - 1.0 == pytest.approx(
        np.sqrt(T1**2 * rep_var + Z**2 * truth_var), rel=1e-3
    )


def test_per_channel_ratio_excess_and_roas_error():
    _, per_channel = summarise_absolute(two_replications(), caused=7.0, caused_se=1.0)
    p = per_channel.set_index(["method", "channel"])
    a = p.loc[("last", "a")]
    # ratios 6 and 4: mean 5, sd of the mean 1; truth 5 +- 1 gives 5 * 1/5 = 1
    assert a["over_credit"] == pytest.approx(5.0)
    assert a["over_credit_high"] - 5.0 == pytest.approx(np.hypot(T1, Z), rel=1e-4)
    assert a["excess"] == 20.0  # 25 and 15
    assert a["excess_high"] - 20.0 == pytest.approx(np.hypot(T1 * 5, Z * 1), rel=1e-4)
    assert a["roas_error"] == pytest.approx(2.0)
    assert a["roas_error_high"] - 2.0 == pytest.approx(np.hypot(T1 * 0.5, Z * 0.1), rel=1e-4)
    # b caused 2 +- 1.5: not clearly above 0, so no ratio, only the excess (10 - 2)
    assert np.isnan(p.loc[("last", "b"), "over_credit"])
    assert p.loc[("last", "b"), "excess"] == 8.0
    # c caused nothing, exactly: the excess is exact too
    c = p.loc[("first", "c")]
    assert np.isnan(c["over_credit"]) and c["excess"] == 0.0 and c["excess_high"] == 0.0


def test_no_over_credit_when_marketing_caused_nothing_clearly():
    per_method, _ = summarise_absolute(two_replications(), caused=2.0, caused_se=1.5)
    assert per_method["over_credit"].isna().all()
    assert per_method["roas_mae"].notna().all()
