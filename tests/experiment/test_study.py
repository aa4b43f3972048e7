"""Scenario overrides beyond budgets, attribution studies against the truth, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from cjsim.evaluate import score, summarise
from cjsim.experiment.config import load_experiment
from cjsim.experiment.folder import experiment_tasks
from cjsim.experiment.runner import collect_results, run_experiment
from cjsim.experiment.tasks import TRUTH
from cjsim.model import load_model, resolve_model

OVERRIDES = """
name = "overrides"
model = "dentist"
engine = "agents"
customers = 500
replications = 2

[scenarios.base]

[scenarios.changed]
effect_scale = { reviews = 2.0, website = 0.0 }
schedules = { social_ads = { start_day = 30, end_day = 60, weekdays = [5, 6] } }
flighting = { search_ads = { period_days = 14, levels = [2.0, 0.0] } }
segment_mix = { emergency = 0.5, planner = 0.5 }
capacity = { chairs = 20 }
set = { "channels.reviews.adstock" = 0.7, "network.degree" = 4, "value.mean" = 500.0 }

[scenarios.other_world]
model = "trap_retargeting"
budget_scale = { retargeting = 0.5 }
"""


def test_every_override_reaches_the_scenario_model(tmp_path):
    (tmp_path / "e.toml").write_text(OVERRIDES)
    exp = load_experiment(tmp_path / "e.toml")
    base = load_model(resolve_model("dentist"))
    assert exp.models["base"].content_hash() == base.content_hash()
    m = exp.models["changed"]
    for state, effect in base.channels["reviews"].effects.items():
        assert m.channels["reviews"].effects[state].lift == pytest.approx(2.0 * effect.lift)
    assert all(e.lift == 0.0 for e in m.channels["website"].effects.values())
    sched = m.channels["social_ads"].schedule
    assert sched is not None and (sched.start_day, sched.end_day) == (30, 60)
    assert sched.weekdays == [5, 6]
    plan = m.channels["search_ads"].flighting
    assert plan is not None and (plan.period_days, plan.levels) == (14, [2.0, 0.0])
    assert {s: seg.share for s, seg in m.segments.items()} == {"emergency": 0.5, "planner": 0.5}
    assert m.capacity["chairs"].servers == 20
    assert m.capacity["chairs"].stage == base.capacity["chairs"].stage
    assert m.channels["reviews"].adstock == 0.7 and m.network is not None
    assert m.network.degree == 4 and m.value.mean == 500.0
    # untouched parts stay as they were
    assert m.channels["recall_sms"] == base.channels["recall_sms"]
    world = exp.models["other_world"]
    retarget = load_model(resolve_model("trap_retargeting"))
    assert world.name == "trap_retargeting"
    budget = retarget.channels["retargeting"].daily_budget
    assert world.channels["retargeting"].daily_budget == pytest.approx(0.5 * budget)


def test_segment_mix_must_still_sum_to_one(tmp_path):
    from cjsim.errors import ModelError

    text = OVERRIDES.replace("segment_mix = { emergency = 0.5, planner = 0.5 }",
                             "segment_mix = { emergency = 0.9 }")  # fmt: skip
    (tmp_path / "e.toml").write_text(text)
    with pytest.raises(ModelError, match=r"scenarios\.changed.*segment shares sum to"):
        load_experiment(tmp_path / "e.toml")


STUDY = """
name = "study"
model = "trap_null_channel"
customers = 3000
replications = 3
seed = 9
attribution = ["last", "linear", "markov"]
truth = true
truth_customers = 4000

[scenarios.null_channel]

[scenarios.brand_search]
model = "trap_brand_search"
"""


@pytest.mark.slow
def test_attribution_study_scores_every_replication_against_its_world(tmp_path):
    (tmp_path / "s.toml").write_text(STUDY)
    exp = load_experiment(tmp_path / "s.toml")
    tasks = experiment_tasks(exp)
    assert tasks[:2] == [("null_channel", TRUTH), ("brand_search", TRUTH)]
    assert len(tasks) == 2 + 2 * 3
    full = run_experiment(exp, tmp_path / "full", workers=1)
    assert full.complete and full.credit is not None and full.truth is not None
    # every method shares out the same conversions: those of converters with a touch
    sums = full.credit.groupby(["scenario", "replication", "method"])["conversions"].sum()
    per_rep = sums.groupby(level=["scenario", "replication"])
    np.testing.assert_allclose(per_rep.max(), per_rep.min())
    conv = full.runs.set_index(["scenario", "replication"])["converters"]
    assert (per_rep.max() <= conv.reindex(per_rep.max().index) * (1 + 1e-12)).all()  # sums
    assert (per_rep.max() > 0.5 * conv.reindex(per_rep.max().index)).all()
    truth = full.truth.groupby("scenario")["truth"].sum()
    np.testing.assert_allclose(truth, 1.0)
    # the banner does nothing: its true share is zero
    null = full.truth[full.truth["scenario"] == "null_channel"].set_index("channel")
    assert null.loc["banner", "truth"] == 0.0
    # attribution.csv is evaluate's scoring applied to the stored credits
    assert full.attribution is not None
    cr = full.credit[full.credit["scenario"] == "brand_search"]
    share = full.truth[full.truth["scenario"] == "brand_search"]
    scores = pd.concat(
        [score(g, share.set_index("channel")["truth"]).assign(replication=r)
         for r, g in cr.groupby("replication")],
        ignore_index=True,
    )  # fmt: skip
    expected, _ = summarise(scores)
    got = full.attribution[full.attribution["scenario"] == "brand_search"]
    pd.testing.assert_series_equal(
        got.set_index("method")["mae"].sort_index(),
        expected.set_index("method")["mae"].sort_index(),
    )
    for name in ("credit.csv", "truth.csv", "attribution.csv", "bias.csv",
                 "attribution_errors.png", "differences.png"):  # fmt: skip
        assert (tmp_path / "full" / name).stat().st_size > 0, name
    # resumed and in parallel: the same credits and truths
    run_experiment(exp, tmp_path / "part", workers=1, max_tasks=3)
    part = collect_results(exp, tmp_path / "part")
    assert not part.complete and len(part.missing) == len(tasks) - 3
    assert not (tmp_path / "part" / "attribution.csv").exists()
    resumed = run_experiment(exp, tmp_path / "part", workers=2)
    pd.testing.assert_frame_equal(full.credit, resumed.credit)
    pd.testing.assert_frame_equal(full.truth, resumed.truth)
    pd.testing.assert_frame_equal(full.runs, resumed.runs)


SLOW = """
name = "slow"
model = "ecommerce"
customers = 10000
replications = 12
seed = 1

[scenarios.base]

[scenarios.half_video]
budget_scale = { video = 0.5 }
"""


@pytest.mark.slow
@pytest.mark.xdist_group("signals")  # one at a time: each kills a run of its own
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_stops_cleanly_and_a_rerun_completes_identically(tmp_path):
    """SIGINT once 3 of the 24 tasks are written: the signal is sent within 0.05 s of the
    third (measured at load 5 on 2 cores), and the ~20 tasks of 10,000 customers left take
    1-2 s on 2 workers, so the run stops in the middle, not at its end. Runs that finished
    regardless had a child that ignored SIGINT (see below), whatever the tasks' size."""
    (tmp_path / "slow.toml").write_text(SLOW)
    cmd = [sys.executable, "-m", "cjsim", "run", "slow.toml", "--workers", "2"]

    # pytest run as a background job of a script (`cmd &` without job control) ignores
    # SIGINT, as do its xdist workers, and a child inherits an ignored signal (Python then
    # installs no KeyboardInterrupt handler): the child gets the default back
    def default_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    proc = subprocess.Popen([*cmd, "--out", "cut"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)  # fmt: skip
    tasks = tmp_path / "cut" / "tasks"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(tasks.glob("*/*.json"))) < 3:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "run the same command again" in stderr
    assert "Traceback" not in stderr
    done = len(list(tasks.glob("*/*.json")))
    assert 3 <= done < 24, done
    assert not list(tasks.glob("*/*.tmp*")), "no half-written task file"
    assert not (tmp_path / "cut" / "runs.csv").exists()
    rerun = subprocess.run([*cmd, "--out", "cut"], cwd=tmp_path, capture_output=True,
                           text=True, check=True)  # fmt: skip
    assert f"resumed: {done}" in rerun.stdout
    exp = load_experiment(tmp_path / "slow.toml")
    whole = run_experiment(exp, tmp_path / "whole", workers=1)
    resumed = pd.read_csv(tmp_path / "cut" / "runs.csv")
    pd.testing.assert_frame_equal(
        whole.runs.reset_index(drop=True), resumed, check_dtype=False, rtol=1e-12
    )


def test_figures_of_an_experiment_show_its_scenarios(tmp_path):
    from cjsim.report.figures import scenario_differences

    summary = pd.DataFrame({
        "scenario": ["a", "b", "c"] * 2, "metric": ["m"] * 3 + ["n"] * 3,
        "diff": [np.nan, 1.0, -2.0, np.nan, 3.0, 0.5],
        "diff_low": [np.nan, 0.5, -3.0, np.nan, 2.0, 0.0],
        "diff_high": [np.nan, 1.5, -1.0, np.nan, 4.0, 1.0],
    })  # fmt: skip
    fig = scenario_differences(summary, "a")
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["m", "n"]
    where = {t.get_text(): y for t, y in
             zip(axes[0].get_yticklabels(), axes[0].get_yticks(), strict=True)}  # fmt: skip
    assert set(where) == {"b", "c"} and where["b"] > where["c"]  # first scenario on top
    points = axes[0].lines[0].get_xydata()
    np.testing.assert_allclose(sorted(points[:, 0]), [-2.0, 1.0])
    lo, hi = axes[0].get_xlim()
    assert lo <= -3.0 and hi >= 1.5


# -- found in review -------------------------------------------------------------------------


def test_set_as_a_toml_table_sets_single_keys(tmp_path):
    """``set.value.mean = 80`` (a nested table in TOML) changes that key only."""
    (tmp_path / "e.toml").write_text(
        'name = "s"\nmodel = "ecommerce"\n[scenarios.base]\n[scenarios.x]\n'
        "set.value.mean = 80\nset.channels.video.adstock = 0.7\n"
    )
    exp = load_experiment(tmp_path / "e.toml")
    base, m = exp.models["base"], exp.models["x"]
    assert m.value.mean == 80 and m.value.sd == base.value.sd
    assert m.channels["video"].adstock == 0.7
    assert m.channels["video"].daily_budget == base.channels["video"].daily_budget


@pytest.mark.slow
def test_force_removes_the_old_results(tmp_path):
    from cjsim.experiment.folder import OUTPUTS

    (tmp_path / "s.toml").write_text(STUDY)
    run_experiment(load_experiment(tmp_path / "s.toml"), tmp_path / "out", workers=1)
    assert (tmp_path / "out" / "attribution.csv").exists()
    plain_text = 'name = "plain"\nmodel = "trap_null_channel"\ncustomers = 500\n'
    (tmp_path / "p.toml").write_text(plain_text + "replications = 2\n[scenarios.only]\n")
    plain = load_experiment(tmp_path / "p.toml")
    res = run_experiment(plain, tmp_path / "out", workers=1, force=True)
    left = {p.name for p in (tmp_path / "out").iterdir() if p.name in OUTPUTS}
    assert left == {"runs.csv", "summary.csv"} == set(res.written)


def test_experiment_errors_name_the_key_and_value(tmp_path):
    from cjsim.errors import ModelError

    cases = {
        'attribution = ["lastt"]': ("attribution", "lastt"),
        'metrics = ["profit"]': ("metrics", "profit"),
        'baseline = "nope"': ("baseline", "'nope' is not a scenario"),
        'attribution = ["last"]\ntruth = true\nengine = "markov"\n'
        "[scenarios.c]\ncapacity = { chairs = 3 }": ("scenarios.c.capacity", "agent engine"),
        "[scenarios.c]\neffect_scale = { reviews = inf }": ("effect_scale.reviews", "finite"),
    }
    for extra, (key, words) in cases.items():
        head, _, tail = extra.partition("[scenarios.c]")
        text = f'name = "e"\nmodel = "dentist"\n{head}\n[scenarios.a]\n'
        if tail or "[scenarios.c]" in extra:
            text += "[scenarios.c]" + tail + "\n"
        (tmp_path / "e.toml").write_text(text)
        with pytest.raises(ModelError) as err:
            load_experiment(tmp_path / "e.toml")
        msg = str(err.value)
        assert key in msg and words in msg and "scenarios': {" not in msg, msg


def test_a_results_folder_named_like_the_model_is_not_the_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "trap_null_channel").mkdir()  # e.g. `cjsim run` wrote its results here
    (tmp_path / "e.toml").write_text('name = "e"\nmodel = "trap_null_channel"\n[scenarios.a]\n')
    assert load_experiment("e.toml").base.name == "trap_null_channel"
    from cjsim import load_model

    assert load_model("trap_null_channel").name == "trap_null_channel"


def test_an_experiment_built_without_its_worlds_says_so():
    from cjsim.errors import ModelError
    from cjsim.experiment.config import Experiment

    study = load_experiment("attribution_study")
    with pytest.raises(ModelError, match=r"trap_brand_search.*were not given"):
        Experiment(study.spec, study.base, study.source)
    small = study.with_settings(customers=100, replications=1)
    assert small.spec.customers == 100 and small.models.keys() == study.models.keys()


@pytest.mark.slow
def test_an_unreadable_task_file_is_done_again(tmp_path):
    (tmp_path / "s.toml").write_text(STUDY)
    exp = load_experiment(tmp_path / "s.toml")
    full = run_experiment(exp, tmp_path / "out", workers=1)
    (tmp_path / "out" / "tasks" / "brand_search" / "00001.json").write_text('{"scen')
    again = run_experiment(exp, tmp_path / "out", workers=1)
    assert again.done_before == len(experiment_tasks(exp)) - 1
    pd.testing.assert_frame_equal(full.runs, again.runs)
    pd.testing.assert_frame_equal(full.credit, again.credit)
