"""Experiment files, the resumable runner and its statistics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cjsim.errors import ModelError, OptionError
from cjsim.experiment.config import load_experiment
from cjsim.experiment.runner import run_experiment
from cjsim.experiment.stats import replications_needed, summarise_runs
from tests.helpers.cli import assert_one_line_error, cjsim

TINY = """
name = "tiny"
model = "trap_null_channel"
customers = 1500
replications = 4
seed = 3

[scenarios.base]

[scenarios.same]
description = "identical to the baseline"

[scenarios.more_search]
budget_scale = { search = 2.0 }

[scenarios.no_banner]
channels_off = ["banner"]
"""


def write(tmp_path: Path, text: str = TINY, name: str = "tiny.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.slow
def test_resume_gives_the_results_of_an_uninterrupted_run(tmp_path):
    exp = load_experiment(write(tmp_path))
    full = run_experiment(exp, tmp_path / "full", workers=1).runs
    part = run_experiment(exp, tmp_path / "part", workers=1, max_tasks=5)
    assert len(part.runs) == 5 and not (tmp_path / "part" / "summary.csv").exists()
    resumed = run_experiment(exp, tmp_path / "part", workers=2)
    assert resumed.done_before == 5
    pd.testing.assert_frame_equal(full, resumed.runs)
    assert (tmp_path / "part" / "summary.csv").exists()
    parallel = run_experiment(exp, tmp_path / "parallel", workers=2).runs
    pd.testing.assert_frame_equal(full, parallel)


@pytest.mark.slow
def test_a_dask_local_cluster_gives_the_same_results(tmp_path):
    pytest.importorskip("distributed")
    exp = load_experiment(write(tmp_path))
    full = run_experiment(exp, tmp_path / "pool", workers=1).runs
    run_experiment(exp, tmp_path / "dask", workers=1, max_tasks=6)
    resumed = run_experiment(exp, tmp_path / "dask", workers=2, scheduler="local")
    assert resumed.done_before == 6
    pd.testing.assert_frame_equal(full, resumed.runs)


def test_paired_replications_and_identical_scenario(tmp_path):
    exp = load_experiment(write(tmp_path))
    res = run_experiment(exp, tmp_path / "out", workers=1)
    s = res.summary.set_index(["scenario", "metric"])
    same = s.loc[("same", "conversions")]
    assert same["diff"] == 0 and same["diff_low"] == 0 and same["diff_high"] == 0
    # a banner with no effect: switching it off changes no conversion, saves its spend
    off = s.loc[("no_banner", "conversions")]
    assert off["diff"] == 0
    assert s.loc[("no_banner", "spend"), "diff"] < 0


def test_statistics_against_scipy():
    rng = np.random.default_rng(1)
    base = rng.normal(100, 10, 8)
    other = base + rng.normal(3, 2, 8)
    runs = pd.DataFrame(
        {"scenario": ["a"] * 8 + ["b"] * 8, "replication": list(range(8)) * 2,
         "m": np.r_[base, other]}
    )  # fmt: skip
    s = summarise_runs(runs, ["m"], "a").set_index("scenario")
    lo, hi = stats.t.interval(0.95, 7, loc=base.mean(), scale=stats.sem(base))
    assert s.loc["a", "low"] == pytest.approx(lo) and s.loc["a", "high"] == pytest.approx(hi)
    d = other - base
    assert s.loc["b", "diff"] == pytest.approx(d.mean())
    assert s.loc["b", "p_value"] == pytest.approx(stats.ttest_rel(other, base).pvalue)
    dlo, dhi = stats.t.interval(0.95, 7, loc=d.mean(), scale=stats.sem(d))
    assert s.loc["b", "diff_low"] == pytest.approx(dlo)
    assert s.loc["b", "diff_high"] == pytest.approx(dhi)
    # sd 10, half-width 2: n with t quantile such that t * 10 / sqrt(n) <= 2
    n = replications_needed(10.0, 2.0)
    assert stats.t.ppf(0.975, n - 1) * 10 / np.sqrt(n) <= 2.0
    assert stats.t.ppf(0.975, n - 2) * 10 / np.sqrt(n - 1) > 2.0


@pytest.mark.parametrize(("sd", "half_width"), [(1.05, 1.72), (1.0, 1.0), (3.0, 0.5), (1, 10)])
def test_replications_needed_is_the_smallest_enough(sd, half_width):
    """Where the t quantile changes fast (few replications) too: an earlier fixed-point
    search swung between two answers and stopped on the wrong one (2 instead of 4)."""
    n = replications_needed(sd, half_width)
    assert stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n) <= half_width
    assert n == 2 or stats.t.ppf(0.975, n - 2) * sd / np.sqrt(n - 1) > half_width


def test_intervals_of_one_replication_and_of_exact_differences():
    runs = pd.DataFrame({
        "scenario": ["a", "b", "c"] * 3, "replication": np.repeat([0, 1, 2], 3),
        "spend": [10.0, 20.0, 10.0] * 3,  # b spends exactly 10 more in every replication
        "conversions": [5.0, 6.0, 5.0, 7.0, 7.5, 7.0, 6.0, 6.0, 6.0],  # c is a copy of a
    })  # fmt: skip
    s = summarise_runs(runs, ["spend", "conversions"], "a").set_index(["scenario", "metric"])
    assert (s.loc[("b", "spend"), ["diff", "diff_low", "diff_high"]] == 10.0).all()
    assert np.isnan(s.loc[("b", "spend"), "p_value"])  # exact: nothing to test
    assert s.loc[("c", "conversions"), "diff_low"] == 0.0
    assert np.isnan(s.loc[("c", "conversions"), "p_holm"])
    tested = s["p_value"].notna()
    assert tested.sum() == 1  # b's conversions only: the Holm family is the tested ones
    assert s.loc[tested, "p_holm"].iloc[0] == pytest.approx(s.loc[tested, "p_value"].iloc[0])
    one = summarise_runs(runs[runs["replication"] == 0], ["conversions"], "a")
    assert one[["low", "high", "diff_low", "diff_high"]].isna().all().all()


BAD = {
    "unknown_key": (TINY.replace("seed = 3", "sead = 3"), ["sead", "Extra inputs"]),
    "unknown_channel": (
        TINY.replace("budget_scale = { search = 2.0 }", "budget_scale = { radio = 2.0 }"),
        ["scenarios.more_search", "radio"],
    ),
    "zero_replications": (
        TINY.replace("replications = 4", "replications = 0"),
        ["replications", "greater than 0"],
    ),
    "negative_budget": (
        TINY.replace("budget_scale = { search = 2.0 }", "budgets = { search = -5.0 }"),
        ["scenarios.more_search.budgets.search", "greater than or equal to 0"],
    ),
    "unknown_effect_channel": (
        TINY.replace("budget_scale = { search = 2.0 }", "effect_scale = { radio = 2.0 }"),
        ["scenarios.more_search.effect_scale", "unknown channel 'radio'", "banner"],
    ),
    "unknown_resource": (
        TINY.replace("budget_scale = { search = 2.0 }", "capacity = { chairs = 3 }").replace(
            "seed = 3", 'seed = 3\nengine = "agents"'
        ),
        ["scenarios.more_search.capacity", "unknown resource 'chairs'", "(none)"],
    ),
    "bad_set_path": (
        TINY.replace("budget_scale = { search = 2.0 }", 'set = { "channels.serch.adstock" = 0.5 }'),
        ["scenarios.more_search.set", "channels has no key 'serch'", "search"],
    ),
    "bad_set_value": (
        TINY.replace(
            "budget_scale = { search = 2.0 }", 'set = { "channels.search.adstock" = 1.5 }'
        ),
        ["scenarios.more_search", "channels.search.adstock", "less than 1"],
    ),
    "schedule_ends_before_it_starts": (
        TINY.replace(
            "budget_scale = { search = 2.0 }",
            "schedules = { search = { start_day = 20, end_day = 5 } }",
        ),
        ["scenarios.more_search", "ends (day 5) before it starts (day 20)"],
    ),
    "capacity_on_the_markov_engine": (
        TINY.replace("budget_scale = { search = 2.0 }", "capacity = { chairs = 3 }"),
        ["scenarios.more_search.capacity", "agent engine only"],
    ),
    "unknown_world": (
        TINY.replace("budget_scale = { search = 2.0 }", 'model = "no_such_model"'),
        ["scenarios.more_search.model", "no_such_model", "trap_retargeting"],
    ),
    "unknown_method": (
        TINY.replace("seed = 3", 'seed = 3\nattribution = ["last", "markvo"]'),
        ["attribution", "markvo"],
    ),
    "truth_without_methods": (
        TINY.replace("seed = 3", "seed = 3\ntruth = true"),
        ["truth = true scores attribution methods"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_experiment_files(tmp_path, case):
    text, needles = BAD[case]
    write(tmp_path, text)
    res = cjsim("run", "tiny.toml", "--out", "results", cwd=tmp_path)
    assert_one_line_error(res, "tiny.toml", *needles)
    assert not (tmp_path / "results").exists()


def test_a_folder_of_another_experiment_is_refused(tmp_path):
    exp = load_experiment(write(tmp_path))
    run_experiment(exp, tmp_path / "out", workers=1, max_tasks=2)
    before = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    other = load_experiment(write(tmp_path, TINY.replace("seed = 3", "seed = 4"), "other.toml"))
    with pytest.raises(OptionError, match="choose another --out or pass --force"):
        run_experiment(other, tmp_path / "out", workers=1)
    after = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert before == after
    res = cjsim("run", "other.toml", "--out", "out", cwd=tmp_path)
    assert_one_line_error(res, "out", "choose another --out")
    forced = run_experiment(other, tmp_path / "out", workers=1, force=True)
    assert forced.done_before == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["hash"] == other.content_hash()


def test_shipped_experiments_validate():
    from cjsim.experiment.config import embedded_experiments

    shipped = embedded_experiments()
    assert {"budget_shift", "channel_off", "dentist_capacity", "attribution_study"} <= set(shipped)
    for path in shipped.values():
        exp = load_experiment(path)
        assert exp.spec.baseline_name in exp.models


def test_missing_experiment_file(tmp_path):
    with pytest.raises(ModelError, match="file not found"):
        load_experiment(tmp_path / "nope.toml")


def test_unknown_experiment_name(tmp_path):
    res = cjsim("run", "budget_shfit", cwd=tmp_path)
    assert_one_line_error(res, "budget_shfit", "no embedded experiment", "budget_shift")
