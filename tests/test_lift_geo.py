"""Geo tests (go dark, heavy-up): the truth by the same random numbers, estimators by hand,
coverage, calibration inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cjsim.lift_geo import (
    changed_world,
    daily_outcomes,
    dark_world,
    estimate,
    geo_test,
    synthetic_weights,
)
from cjsim.model.compiled import compile_model
from cjsim.model.geos import geo_customers, geo_world
from cjsim.simulate.geos import simulate_geos
from tests.helpers.cli import assert_one_line_error, cjsim
from tests.helpers.models import shipped


def test_before_the_start_the_dark_and_the_lit_geo_are_the_same() -> None:
    model = shipped("geo_retail")
    dark = {"north": dark_world(model, "north", "tv", 60)}
    _, seen = simulate_geos(model, 3_000, rng=7, worlds=dark)
    _, lit = simulate_geos(model, 3_000, rng=7)
    geos = list(model.geos)
    y_seen = daily_outcomes(seen, geos, 120, "conversions")
    y_lit = daily_outcomes(lit, geos, 120, "conversions")
    assert (y_seen[:60] == y_lit[:60]).all()  # common random numbers until tv goes dark
    assert (y_seen[:, 1:] == y_lit[:, 1:]).all()  # the other geos never change
    tv_after = (seen["geo"] == "north") & (seen["channel"] == "tv") & (seen["time"] >= 60)
    assert not tv_after.any()


def test_estimators_on_a_panel_with_a_known_effect() -> None:
    rng = np.random.default_rng(0)
    days, G, start = 60, 8, 30
    y = 1.0 + rng.normal(0, 0.01, (days, G)) + np.linspace(0, 0.5, G)  # geo levels differ
    treated = np.array([True, False] * 4)
    y[start:, treated] -= 0.2  # going dark costs 0.2 a day
    est = estimate(y, treated, np.ones(G), start, 0.95)
    assert est["did"] == pytest.approx(0.2, abs=0.01)
    assert est["did_low"] < 0.2 < est["did_high"]
    w = synthetic_weights(y[:start, 0], y[:start, ~treated])
    assert w.sum() == pytest.approx(1.0) and (w >= -1e-9).all()


@pytest.mark.slow
def test_did_intervals_cover_the_exact_truth() -> None:
    study = geo_test(shipped("geo_retail"), "tv", 16_000, replications=40, rng=2)
    did = study.summary.set_index("estimator").loc["did"]
    assert did["coverage"] >= 0.8  # 95% intervals over 8 geos; 40 tests
    assert abs(did["bias"]) < 3 * (did["bias_high"] - did["bias"]) + 1e-9
    assert (study.table["truth"] > 0).all()  # tv sells in every draw


def test_cli_geo_design_and_its_errors(tmp_path: Path) -> None:
    args = ("lift", "geo_retail", "--design", "geo", "--channel", "tv", "--customers", "2000",
            "--replications", "2", "--workers", "1")  # fmt: skip
    res = cjsim(*args, "--out", "geo", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "did" in res.stdout and (tmp_path / "geo" / "geo_lift_summary.csv").exists()
    pymc = pd.read_csv(tmp_path / "geo" / "calibration_pymc.csv")
    assert list(pymc.columns) == ["channel", "x", "delta_x", "delta_y", "sigma"]
    assert len(pymc) == 2 and (pymc["x"] > 0).all() and (pymc["delta_x"] == -pymc["x"]).all()
    robyn = pd.read_csv(tmp_path / "geo" / "calibration_robyn.csv")
    assert robyn["liftStartDate"].iloc[0] == "2026-03-06"  # day 60 from the 5th of January
    res = cjsim("lift", "ecommerce", "--design", "geo", "--channel", "video", "--out", "b",
                cwd=tmp_path)  # fmt: skip
    assert_one_line_error(res, "ecommerce", "geos")
    res = cjsim(*args, "--start-day", "119", "--out", "b", cwd=tmp_path)
    assert_one_line_error(res, "start day", "between 2 and 118")
    assert not (tmp_path / "b").exists()
    assert sum(geo_customers(shipped("geo_retail"), 2_000).values()) == 2_000


def test_a_heavy_up_doubles_the_budget_from_its_day_and_changes_nothing_before() -> None:
    model = shipped("geo_retail")
    heavy = changed_world(model, "north", "tv", 60, 2.0)
    cm = compile_model(heavy)
    c = cm.channels.index("tv")
    assert (cm.budget_level[c, :60] == 1).all() and (cm.budget_level[c, 60:] == 2).all()
    _, seen = simulate_geos(model, 3_000, rng=7, worlds={"north": heavy})
    _, lit = simulate_geos(model, 3_000, rng=7)
    geos = list(model.geos)
    y_seen = daily_outcomes(seen, geos, 120, "conversions")
    y_lit = daily_outcomes(lit, geos, 120, "conversions")
    assert (y_seen[:60] == y_lit[:60]).all() and (y_seen[:, 1:] == y_lit[:, 1:]).all()
    tv = (seen["channel"] == "tv") & (seen["geo"] == "north") & (seen["time"] >= 60)
    tv_lit = (lit["channel"] == "tv") & (lit["geo"] == "north") & (lit["time"] >= 60)
    assert tv.sum() > 1.2 * tv_lit.sum()  # more money, more touches (reach saturates)
    # the test's spend is priced in the test's world: a touch costs more on a bigger budget
    from cjsim.lift_geo import _spend_after

    at_test = _spend_after({"north": heavy}, seen, "tv", 60)
    at_base = _spend_after({"north": geo_world(model, "north")}, seen, "tv", 60)
    steps = cm.step_of(seen.loc[tv, "time"].to_numpy())
    assert at_test == pytest.approx(cm.step_touch_cost[c, steps].sum(), rel=1e-12)
    assert at_test > at_base


def test_a_heavy_up_study_reports_the_gain_and_its_spend() -> None:
    study = geo_test(shipped("geo_retail"), "tv", 8_000, replications=3, rng=1, multiple=2.0,
                     workers=1)  # fmt: skip
    t = study.table
    assert (t["spend_test"] > t["spend_base"]).all()  # the heavy-up spent more
    assert (t["truth"] > 0).all()  # and sold more: the truth is the gain
    pymc = study.calibration("pymc", start=pd.Timestamp("2026-01-05").date())
    assert (pymc["delta_x"] > 0).all() and (pymc["x"] == t["spend_base"]).all()
    meridian = study.calibration("meridian", start=pd.Timestamp("2026-01-05").date())
    assert list(meridian.columns) == ["channel", "roi_mu", "roi_sigma", "roi", "roi_se"]
    positive = meridian["roi"] > 0
    assert meridian.loc[positive, "roi_sigma"].gt(0).all()
    assert meridian.loc[~positive, "roi_mu"].isna().all()  # no log-normal prior from ROI <= 0
    assert study.settings["design"] == "heavy-up"
    assert set(study.summary.columns) >= {"iroas", "true_iroas", "mde"}
    did = study.summary.set_index("estimator").loc["did"]
    from scipy.stats import t as student

    # the MDE is (t_0.975 + t_0.8) standard errors at 8 - 2 degrees of freedom
    factor = student.ppf(0.975, 6) + student.ppf(0.8, 6)
    assert did["mde"] == pytest.approx(factor * study.table["did_se"].mean())


def test_cli_refuses_a_budget_multiple_that_changes_nothing(tmp_path: Path) -> None:
    args = ("lift", "geo_retail", "--design", "geo", "--channel", "tv", "--customers", "2000",
            "--replications", "2", "--workers", "1", "--out", "b")  # fmt: skip
    for bad in ("1", "-0.5", "1000"):
        res = cjsim(*args, "--multiple", bad, cwd=tmp_path)
        assert_one_line_error(res, "budget multiple", "heavy-up")
    res = cjsim("lift", "geo_retail", "--channel", "tv", "--multiple", "2", "--out", "b",
                cwd=tmp_path)  # fmt: skip
    assert_one_line_error(res, "--multiple", "--design geo")
    assert not (tmp_path / "b").exists()


def test_a_power_table_is_each_designs_study_on_the_same_customers(tmp_path: Path) -> None:
    from cjsim.lift_plan import geo_power

    model = shipped("geo_retail")
    table = geo_power(model, "tv", 3_000, start_days=[40, 80], multiples=[0.0, 2.0],
                      replications=2, rng=4, workers=1)  # fmt: skip
    assert len(table) == 2 * 2 * 3 and set(table["test_days"]) == {80, 40}
    one = geo_test(model, "tv", 3_000, start_day=80, multiple=2.0, replications=2, rng=4,
                   workers=1).summary  # fmt: skip
    row = table[(table["start_day"] == 80) & (table["multiple"] == 2.0)].reset_index(drop=True)
    pd.testing.assert_series_equal(row["power"], one["power"])
    assert (row["mean_truth"] == one["mean_truth"]).all()
    args = ("lift", "geo_retail", "--design", "geo", "--channel", "tv", "--customers", "2000",
            "--replications", "2", "--workers", "1")  # fmt: skip
    res = cjsim(*args, "--start-day", "40,80", "--out", "plan", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Power of geo tests" in res.stdout
    written = pd.read_csv(tmp_path / "plan" / "geo_power.csv")
    assert len(written) == 2 * 3 and (written["design"] == "go-dark").all()
    for bad, needle in (("40,x", "separated by commas"), ("40,200", "between 2 and 118")):
        res = cjsim(*args, "--start-day", bad, "--out", "b", cwd=tmp_path)
        assert_one_line_error(res, "start", needle)
    assert not (tmp_path / "b").exists()
