"""Budget moves by a method's ROAS ranking, valued with the true marginal ROAS."""

from __future__ import annotations

import pandas as pd
import pytest

from cjsim.scoring import decide

Z = 1.95996


def ranking(roas: dict[str, list[dict[str, float]]]) -> pd.DataFrame:
    """Long absolute scores from {method: [{channel: attributed ROAS} per replication]}."""
    rows = [(r, m, c, v) for m, reps in roas.items() for r, d in enumerate(reps)
            for c, v in d.items()]  # fmt: skip
    return pd.DataFrame(rows, columns=["replication", "method", "channel", "roas"])


def marginal(se: float) -> pd.DataFrame:
    return pd.DataFrame({"roas": [1.0, 3.0, 2.0], "roas_se": [se] * 3},
                        index=pd.Index(["a", "b", "c"], name="channel"))  # fmt: skip


WRONG = {"a": 5.0, "b": 1.0, "c": 2.0, "organic": 9.0}  # b -> a: gains 1 - 3 = -2
RIGHT = {"a": 1.0, "b": 4.0, "c": 2.0, "organic": 0.0}  # a -> b: gains 3 - 1 = +2


def test_moves_by_hand_with_an_exact_truth():
    d = decide(ranking({"x": [WRONG] * 2, "y": [RIGHT] * 2}), marginal(0.0)).set_index("method")
    assert list(d.index) == ["truth", "x", "y"]
    assert (d.loc["truth", "move_from"], d.loc["truth", "move_to"]) == ("a", "b")
    assert d.loc["truth", "gain"] == 2.0 and d.loc["truth", "verdict"] == "gains"
    x, y = d.loc["x"], d.loc["y"]
    assert (x["move_from"], x["move_to"], x["gain"], x["regret"]) == ("b", "a", -2.0, 4.0)
    assert x["verdict"] == "loses" and x["gain_high"] == -2.0  # nothing varies
    assert (y["move_from"], y["move_to"], y["gain"], y["regret"]) == ("a", "b", 2.0, 0.0)
    assert y["verdict"] == "gains"


def test_truth_noise_enters_the_gain():
    d = decide(ranking({"x": [WRONG] * 2}), marginal(0.5)).set_index("method")
    # the same move in both replications: only the truth varies, se sqrt(0.5^2 + 0.5^2)
    assert d.loc["x", "gain"] == -2.0
    assert d.loc["x", "gain_high"] - (-2.0) == pytest.approx(Z * 0.5**0.5, rel=0.05)
    assert d.loc["x", "verdict"] == "loses"
    assert d.loc["truth", "gain_high"] - 2.0 == pytest.approx(Z * 0.5**0.5, rel=1e-4)
    assert d.loc["x", "regret_low"] < 4.0 < d.loc["x", "regret_high"]


def test_replications_that_disagree():
    d = decide(ranking({"x": [WRONG, RIGHT, RIGHT]}), marginal(0.0)).set_index("method")
    x = d.loc["x"]
    assert (x["move_from"], x["move_to"]) == ("a", "b")  # the move most replications make
    assert x["move_agreement"] == pytest.approx(2 / 3)
    assert x["gain"] == pytest.approx(2 / 3)  # (-2 + 2 + 2) / 3
    assert x["verdict"] == "unclear"  # -2, +2, +2: the interval spans 0


def test_no_decision_with_fewer_than_two_paid_channels():
    one = pd.DataFrame({"roas": [1.0], "roas_se": [0.1]}, index=pd.Index(["a"], name="channel"))
    assert decide(ranking({"x": [WRONG]}), one).empty


def test_equal_roas_recommend_no_move():
    flat = {"a": 2.0, "b": 2.0, "c": 2.0}
    d = decide(ranking({"x": [flat] * 2}), marginal(0.0)).set_index("method")
    assert pd.isna(d.loc["x", "move_from"]) and d.loc["x", "verdict"] == "no move"
    assert d.loc["x", "gain"] == 0.0 and d.loc["x", "regret"] == 2.0
