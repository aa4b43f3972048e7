"""The baseline MMM recovers ROAS on a panel built from its own equation, and cjsim
evaluate --mmm scores it (and a user's estimates) against the counterfactual truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cjsim.evaluate.mmm import evaluate_mmm, score_estimates
from cjsim.mmm import adstock, fit_mmm
from cjsim.model import validate_model
from tests.helpers.cli import assert_one_line_error, cjsim
from tests.helpers.models import shipped


def synthetic_panel(seed: int = 1, periods: int = 104) -> tuple[pd.DataFrame, np.ndarray]:
    """Weekly spend of three channels flighted on and off; revenue from the model's own
    equation with noise. Returns the panel and the true ROAS."""
    rng = np.random.default_rng(seed)
    X = rng.gamma(2.0, 500, (periods, 3)) * (rng.random((periods, 3)) < 0.7)
    theta, k, beta = [0.5, 0.2, 0.0], [800.0, 1500.0, 400.0], [3000.0, 5000.0, 1000.0]
    a = np.column_stack([adstock(X[:, c], theta[c]) for c in range(3)])
    Z = a / (a + np.array(k))
    y = 2000 + 5 * np.arange(periods) + Z @ beta + rng.normal(0, 150, periods)
    panel = pd.DataFrame({"spend_a": X[:, 0], "spend_b": X[:, 1], "spend_c": X[:, 2], "revenue": y})
    return panel, (Z * beta).sum(axis=0) / X.sum(axis=0)


def test_adstock_is_the_geometric_recursion() -> None:
    x = np.array([1.0, 0.0, 2.0, 0.0])
    assert adstock(x, 0.5).tolist() == [1.0, 0.5, 2.25, 1.125]


def test_the_baseline_recovers_roas_where_it_can() -> None:
    panel, true = synthetic_panel()
    fit = fit_mmm(panel, ["a", "b", "c"], bootstrap=40, rng=0)
    table = fit.table.set_index("channel")
    assert fit.r2 > 0.95
    np.testing.assert_allclose(table["roas"], true, rtol=0.1)
    assert ((table["roas_low"] <= true) & (true <= table["roas_high"])).all()
    assert table.loc["a", "carryover"] == pytest.approx(0.5, abs=0.1)


def test_scores_name_each_source_and_channel() -> None:
    truth = pd.DataFrame({"channel": ["a", "b"], "roas": [2.0, 1.0], "roas_se": [0.1, 0.1],
                          "marginal_roas": [1.0, 0.5]})  # fmt: skip
    mine = pd.DataFrame({"channel": ["a"], "roas": [2.5], "roas_low": [1.9], "roas_high": [3.0]})
    scored = score_estimates("mine", mine, truth)
    assert scored["error"].iloc[0] == pytest.approx(0.5) and scored["covered"].iloc[0]
    assert np.isnan(scored["roas"].iloc[1])  # a channel the source does not estimate


def test_evaluate_mmm_scores_against_the_truth() -> None:
    model = shipped("trap_upper_funnel")
    mine = pd.DataFrame({"channel": ["tv", "search"], "roas": [9.0, 0.5]})
    result = evaluate_mmm(model, 3_000, rng=2, bootstrap=5, estimates={"mine": mine}, workers=1)
    assert set(result.table["source"]) == {"baseline_mmm", "mine"}
    assert set(result.table["channel"]) == {"tv", "search"}
    truth = result.truth.set_index("channel")
    assert truth.loc["tv", "roas"] > 0 and truth.loc["tv", "roas_se"] > 0
    assert len(result.panel) == 90  # a day per row over the model's horizon


def test_cli_evaluate_mmm_and_bad_estimates(tmp_path: Path) -> None:
    (tmp_path / "mine.csv").write_text("channel,roas\ntv,9.0\nsearch,0.4\n", encoding="utf-8")
    (tmp_path / "bad.csv").write_text("channel,roas\ntv,high\n", encoding="utf-8")
    (tmp_path / "nocol.csv").write_text("channel,value\ntv,1\n", encoding="utf-8")
    args = ("evaluate", "trap_upper_funnel", "--customers", "2000", "--workers", "1")
    res = cjsim(*args, "--mmm", "--mmm-estimates", "mine.csv", "--out", "mmm", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "baseline_mmm" in res.stdout and "mine" in res.stdout
    assert (tmp_path / "mmm" / "mmm.csv").exists() and (tmp_path / "mmm" / "panel.csv").exists()
    for extra, needles in (
        (("--mmm", "--mmm-estimates", "bad.csv"), ("bad.csv", "line 2", "number")),
        (("--mmm", "--mmm-estimates", "nocol.csv"), ("nocol.csv", "roas")),
        (("--mmm-estimates", "mine.csv"), ("--mmm",)),
        (("--mmm", "--freq", "year"), ("--freq",)),
    ):
        res = cjsim(*args, *extra, "--out", "bad", cwd=tmp_path)
        assert_one_line_error(res, *needles)
        assert not (tmp_path / "bad").exists()


def test_a_response_curve_at_the_budget_is_the_truths_increment() -> None:
    from cjsim.evaluate.mmm import mmm_truth, response_curves

    model = shipped("trap_upper_funnel")
    truth = mmm_truth(model, 3_000, rng=5, workers=1).set_index("channel")
    curves = response_curves(model, 3_000, rng=5, multiples=(0.0, 1.0, 2.0), workers=1)
    at_budget = curves[curves["multiple"] == 1.0].set_index("channel")
    # the same counterfactual runs by two paths: the ground truth and the curves
    assert at_budget.loc["tv", "value"] == truth.loc["tv", "incremental_value"]
    assert at_budget.loc["tv", "spend"] == pytest.approx(truth.loc["tv", "spend"], rel=1e-12)
    off = curves[curves["multiple"] == 0.0]
    assert (off["value"] == 0).all() and (off["spend"] == 0).all()
    doubled = curves[curves["multiple"] == 2.0].set_index("channel")
    assert doubled.loc["tv", "spend"] > at_budget.loc["tv", "spend"]


def test_cli_panel_writes_the_truth_beside_it(tmp_path: Path) -> None:
    from cjsim.simulate import simulate

    simulate(shipped("trap_upper_funnel"), 1_000, rng=2, out=tmp_path / "ev.parquet")
    res = cjsim("panel", "ev.parquet", "--out", "p.csv", "--truth", "--truth-customers", "2000",
                cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr
    truth = pd.read_csv(tmp_path / "p_truth.csv").set_index("channel")
    curves = pd.read_csv(tmp_path / "p_curves.csv")
    panel = pd.read_csv(tmp_path / "p.csv")
    assert set(truth.index) == {"tv", "search"} and set(curves["channel"]) == {"tv", "search"}
    # totals at the log's 1,000 customers although measured on 2,000: near the panel's spend
    assert truth.loc["tv", "spend"] == pytest.approx(panel["spend_tv"].sum(), rel=0.2)


@pytest.mark.slow
def test_the_baseline_recovers_roas_in_a_world_built_so_it_can() -> None:
    """flighted_market: steady arrivals, flighted budgets, little pull-forward. Over 6 seeds
    of 200,000 customers the estimates were off by +1% (sd 14%) and +6% (sd 15%)
    (benchmarks/mmm_recovery.py); two seeds here, with bounds of about three sd."""
    model = shipped("flighted_market")
    errors, covered = [], []
    for seed in (0, 1):
        result = evaluate_mmm(model, 200_000, rng=seed, bootstrap=30, workers=2)
        t = result.table
        errors += (t["error"] / t["true_roas"]).tolist()
        covered += t["covered"].tolist()
        assert result.settings["r2"] > 0.3
    assert max(abs(e) for e in errors) < 0.45
    assert abs(float(np.mean(errors))) < 0.15
    assert sum(covered) >= 3


def test_where_it_cannot_one_cohort_and_steady_budgets() -> None:
    """trap_upper_funnel: every customer starts on day 0 and budgets never change, so spend
    moves with the cohort (search spends as the cohort reaches consideration, when sales
    come), not with decisions: the MMM credits search with the cohort's sales, a ROAS of
    about 150 for a true one below 1 (on every seed tried; TV's swings from 0 to 170)."""
    result = evaluate_mmm(shipped("trap_upper_funnel"), 20_000, rng=0, bootstrap=0, workers=1)
    search = result.table.set_index("channel").loc["search"]
    assert search["true_roas"] < 2 and search["roas"] > 50


@pytest.mark.slow
def test_with_seasonal_demand_the_mmm_needs_the_in_market_control() -> None:
    """Seasonal arrivals: spend follows the people it can reach, so without a demand
    control the MMM credits media with the season (+80% to +400% on 3 seeds); with
    in_market it is within 40% (measured: TV +1%, -5%, +39%; search +32%, +20%, +33%)."""
    data = shipped("flighted_market").model_dump(mode="python")
    data["arrivals"].update({"amplitude": 0.6, "period_days": 91.0, "peak_day": 30.0})
    model = validate_model(data)
    for seed in (0, 1):
        plain = evaluate_mmm(model, 200_000, rng=seed, bootstrap=0, workers=2).table
        ctl = evaluate_mmm(model, 200_000, rng=seed, bootstrap=0, workers=2,
                           controls=("in_market",)).table  # fmt: skip
        assert ((plain["error"] / plain["true_roas"]) > 0.5).all()
        assert ((ctl["error"] / ctl["true_roas"]).abs() < 0.45).all()


def test_cli_refuses_an_unknown_mmm_control(tmp_path: Path) -> None:
    res = cjsim("evaluate", "flighted_market", "--mmm", "--customers", "300", "--mmm-controls",
                "weather", "--out", "m", cwd=tmp_path)  # fmt: skip
    assert_one_line_error(res, "weather", "in_market")
    assert not (tmp_path / "m").exists()
