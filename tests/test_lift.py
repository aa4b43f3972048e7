"""Lift tests with known truth: the estimators by hand, coverage and power over
replications against the counterfactual truth, the calibration exports and the command."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cjsim.lift import LIFT_COLUMNS, holdout_test
from cjsim.scoring.lift import difference_in_means, minimum_detectable_lift, power
from tests.helpers.cli import assert_one_line_error, cjsim
from tests.helpers.models import shipped


def test_difference_in_means_by_hand() -> None:
    t, c = np.array([1.0, 0, 1, 1]), np.array([0.0, 0, 1])
    est = difference_in_means(t, c, 0.95)
    se = math.sqrt(np.var(t, ddof=1) / 4 + np.var(c, ddof=1) / 3)
    assert est.lift == pytest.approx(0.75 - 1 / 3)
    assert est.se == pytest.approx(se)
    assert est.high - est.lift == pytest.approx(1.959963984540054 * se)
    assert est.covers(0.4) and not est.significant


def test_power_and_the_minimum_detectable_lift_agree() -> None:
    se = 0.01
    mdl = minimum_detectable_lift(se, 0.95, 0.8)
    assert power(mdl, se) == pytest.approx(0.8, abs=1e-6)  # the far tail adds ~1e-9
    assert power(0.0, se) == pytest.approx(0.05)
    rng = np.random.default_rng(0)  # and by simulation: the share of significant draws
    draws = rng.normal(0.02, se, 200_000)
    assert np.mean(np.abs(draws) > 1.959963984540054 * se) == pytest.approx(
        power(0.02, se), abs=0.005
    )


def assert_share(k: float, n: int, p: float) -> None:
    assert abs(k * n - n * p) <= 4 * math.sqrt(n * p * (1 - p)) + 1, (k, n, p)


@pytest.mark.slow
def test_intervals_cover_the_truth_at_their_level() -> None:
    study = holdout_test(
        shipped("trap_upper_funnel"), "tv", 4_000, holdout=0.5, replications=100, rng=3
    )
    assert list(study.table.columns) == list(LIFT_COLUMNS)
    assert_share(study.summary["coverage"], 100, 0.95)
    assert_share(study.summary["coverage_value"], 100, 0.95)
    # the mean estimate agrees with the truth within both their errors
    s, truth = study.summary, study.truth
    half = (s["conversions_lift_high"] - s["conversions_lift"]) ** 2
    assert abs(s["bias"]) <= math.sqrt(half + (1.96 * truth["conversions_se"]) ** 2)


@pytest.mark.slow
def test_the_share_of_significant_tests_is_the_power_the_design_expects() -> None:
    study = holdout_test(
        shipped("trap_upper_funnel"), "tv", 400, holdout=0.5, replications=100, rng=4
    )
    expected = study.summary["expected_power"]
    assert 0.2 < expected < 0.95  # a design of middling power, so the check has teeth
    assert_share(study.summary["power"], 100, expected)


def test_calibration_exports_in_each_tools_form(tmp_path: Path) -> None:
    study = holdout_test(shipped("trap_upper_funnel"), "tv", 1_000, replications=3, rng=1)
    start = date(2026, 1, 5)
    pymc = study.calibration("pymc", days=90, start=start)
    assert list(pymc.columns) == ["channel", "x", "delta_x", "delta_y", "sigma"]
    assert pymc.loc[0, "delta_x"] == -pymc.loc[0, "x"] < 0
    robyn = study.calibration("robyn", days=90, start=start)
    assert robyn.loc[0, "liftEndDate"] == "2026-04-04"  # 90 days from the 5th of January
    meridian = study.calibration("meridian", days=90, start=start)
    mu, sigma = meridian.loc[0, ["roi_mu", "roi_sigma"]]
    assert math.exp(mu + sigma**2 / 2) == pytest.approx(meridian.loc[0, "roi"])  # log-normal mean
    written = study.write(tmp_path / "out", days=90, start=start)
    assert {p.name for p in written} >= {"lift.csv", "lift.json", "calibration_pymc.csv"}
    meta = json.loads((tmp_path / "out" / "lift.json").read_text())
    assert meta["settings"]["channel"] == "tv" and "coverage" in meta["summary"]
    assert len(pd.read_csv(tmp_path / "out" / "lift.csv")) == 3


def test_cli_runs_a_lift_study_and_refuses_bad_designs(tmp_path: Path) -> None:
    args = ("lift", "trap_upper_funnel", "--customers", "600", "--replications", "3")
    res = cjsim(*args, "--channel", "tv", "--out", "lift", "--workers", "1", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "coverage" in res.stdout and (tmp_path / "lift" / "calibration_robyn.csv").exists()
    for extra, needles in (
        (("--channel", "email"), ("email", "paid channel", "tv, search")),
        (("--channel", "tv", "--holdout", "1"), ("holdout", "between 0 and 1")),
        (("--channel", "tv", "--start", "May"), ("--start", "YYYY-MM-DD")),
        (("--channel", "radio"), ("radio",)),
    ):
        res = cjsim(*args, *extra, "--out", "bad", cwd=tmp_path)
        assert_one_line_error(res, *needles)
        assert not (tmp_path / "bad").exists()
