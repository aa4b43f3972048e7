"""Share scoring with the truth's noise, and ties with the best method (by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cjsim.scoring import score, summarise

T1, T2, Z = 12.7062, 4.3027, 1.95996  # t quantiles (1 and 2 df) and z, 97.5%


def frame(shares: dict[str, list[list[float]]], truth, se) -> pd.DataFrame:
    """Long scores from {method: [[share per channel] per replication]}."""
    rows = []
    for method, reps in shares.items():
        for r, values in enumerate(reps):
            for c, s in enumerate(values):
                rows.append((r, method, "abc"[c], s, truth[c], se[c], s - truth[c]))
    return pd.DataFrame(
        rows, columns=["replication", "method", "channel", "share", "truth", "truth_se", "error"]
    )


def test_score_carries_the_truth_standard_error():
    attributed = pd.DataFrame(
        {"method": ["last", "last"], "channel": ["a", "x"], "conversions": [3.0, 1.0]}
    )
    s = score(attributed, pd.Series({"a": 0.6, "b": 0.4}), pd.Series({"a": 0.05, "b": 0.02}))
    s = s.set_index("channel")
    assert s.loc["a", "truth_se"] == 0.05 and s.loc["b", "truth_se"] == 0.02
    assert s.loc["x", "truth_se"] == 0.0  # the truth does not know x: share 0, exact
    assert s.loc["a", "error"] == pytest.approx(0.75 - 0.6)
    assert np.isnan(score(attributed, pd.Series({"a": 1.0})).truth_se).sum() == 0


def test_bias_interval_adds_the_truth_standard_error():
    scores = frame({"m": [[0.6, 0.4], [0.8, 0.2]]}, [0.5, 0.5], [0.1, 0.1])
    _, bias = summarise(scores)
    a = bias.set_index("channel").loc["a"]
    # errors 0.1 and 0.3: mean 0.2, sd of the mean 0.1; truth se 0.1
    assert a["bias"] == pytest.approx(0.2)
    assert a["bias_high"] - a["bias"] == pytest.approx(np.hypot(T1 * 0.1, Z * 0.1), rel=1e-4)
    _, exact = summarise(scores.assign(truth_se=0.0))
    assert exact.set_index("channel").loc["a", "bias_high"] == pytest.approx(0.2 + T1 * 0.1,
                                                                             rel=1e-4)  # fmt: skip


def test_mae_interval_includes_the_truth_noise():
    # far from the truth, so the MAE moves one for one with the truth's error:
    # its truth variance is the share's, 0.05^2
    scores = frame({"m": [[0.9, 0.1], [0.95, 0.05]]}, [0.5, 0.5], [0.05, 0.05])
    summary, _ = summarise(scores)
    row = summary.iloc[0]
    assert row["mae"] == pytest.approx(0.425)
    rep_var = np.var([0.4, 0.45], ddof=1) / 2
    assert row["mae_high"] - row["mae"] == pytest.approx(
        np.sqrt(T1**2 * rep_var + Z**2 * 0.05**2), rel=5e-3
    )
    plain, _ = summarise(scores.assign(truth_se=0.0))
    assert plain.iloc[0]["mae_high"] - 0.425 == pytest.approx(T1 * np.sqrt(rep_var), rel=1e-4)


def test_opposed_truth_errors_cancel_in_the_mae_of_a_method_below_both():
    # shares sum to 1, so the truth's errors on a and b are opposed; a method that gives
    # both less than their truth has an MAE that does not move with them
    scores = frame({"m": [[0.1, 0.1, 0.8]] * 2}, [0.5, 0.5, 0.0], [0.05, 0.05, 0.0])
    row = summarise(scores)[0].iloc[0]
    assert row["mae"] == pytest.approx(1.6 / 3)
    assert row["mae_high"] - row["mae"] < 1e-9


def test_ties_with_the_best_method():
    reps_x = [[0.55, 0.45], [0.45, 0.55], [0.52, 0.48]]
    scores = frame({"x": reps_x, "y": reps_x, "z": [[0.9, 0.1]] * 3}, [0.5, 0.5], [0.0, 0.0])
    summary = summarise(scores)[0].set_index("method")
    assert summary.loc["x", "mae"] == pytest.approx(0.04)
    assert summary["tied_with_best"].to_dict() == {"x": True, "y": True, "z": False}
    # paired differences 0.35, 0.35, 0.38: sd of their mean 0.01, t with 2 df
    assert summary.loc["z", "mae_vs_best"] == pytest.approx(0.36)
    assert summary.loc["z", "mae_vs_best_low"] == pytest.approx(0.36 - T2 * 0.01, rel=1e-4)
    assert summary.loc["y", "mae_vs_best_high"] == 0.0  # identical to the best: exactly 0


def test_truth_noise_can_make_two_methods_indistinguishable():
    # x is off by 0.06, w by 0.08, in every replication: apart if the truth is exact, not
    # when the truth itself is uncertain by 0.05
    data = {"x": [[0.56, 0.44]] * 3, "w": [[0.42, 0.58]] * 3}
    exact = summarise(frame(data, [0.5, 0.5], [0.0, 0.0]))[0].set_index("method")
    noisy = summarise(frame(data, [0.5, 0.5], [0.05, 0.05]))[0].set_index("method")
    assert exact["tied_with_best"].to_dict() == {"x": True, "w": False}
    assert noisy["tied_with_best"].to_dict() == {"x": True, "w": True}
    assert noisy.loc["w", "mae_vs_best"] == pytest.approx(0.02)
    assert noisy.loc["w", "mae_vs_best_low"] < 0 < noisy.loc["w", "mae_vs_best_high"]


def test_one_replication_gives_no_interval_and_no_verdict():
    summary, bias = summarise(frame({"x": [[0.6, 0.4]], "y": [[0.9, 0.1]]}, [0.5, 0.5],
                                    [0.05, 0.05]))  # fmt: skip
    assert summary["mae_low"].isna().all() and bias["bias_low"].isna().all()
    assert summary["tied_with_best"].isna().all()
