"""Bad input through the command line: one line naming file, key and expectation; exit 2;
no output file left behind (DESIGN.md, reliability contract)."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from tests.helpers.cli import ECOMMERCE, TEXTBOOK, assert_one_line_error, cjsim, cjsim_process, edit

BAD_MODELS = {
    "unknown_top_level_key": (
        edit("population = 1_000_000", "populaton = 1_000_000"),
        ["populaton", "unknown key", "expected one of", "population"],
    ),
    "unknown_key_in_channel": (
        edit(
            'max_reach = 0.5\ntargets = ["unaware", "awareness"]',
            'max_rech = 0.5\ntargets = ["unaware", "awareness"]',
        ),
        ["channels.video.max_rech", "unknown key", "max_reach"],
    ),
    "wrong_type": (
        edit("daily_budget = 1500.0", 'daily_budget = "lots"'),
        ["channels.video.daily_budget", "'lots'", "number"],
    ),
    "probability_above_one": (
        edit("decision      = { decision = 0.820", "decision      = { decision = 1.2"),
        ["transitions.decision.decision", "1.2", "less than or equal to 1"],
    ),
    "probability_below_zero": (
        edit("lost = 0.100 }\npurchase", "lost = -0.1 }\npurchase"),
        ["transitions.decision.lost", "-0.1", "greater than or equal to 0"],
    ),
    "row_not_summing_to_one": (
        edit("decision      = { decision = 0.820", "decision      = { decision = 0.830"),
        ["transitions.decision", "sum to 1.01", "expected 1"],
    ),
    "negative_spend": (
        edit("daily_budget = 1500.0", "daily_budget = -5.0"),
        ["channels.video.daily_budget", "-5.0", "greater than or equal to 0"],
    ),
    "zero_cost": (
        edit("cost_per_exposure = 0.02", "cost_per_exposure = 0.0"),
        ["channels.video.cost_per_exposure", "greater than 0"],
    ),
    "unknown_stage_in_effect": (
        edit("effects.unaware = { lift = 2.0 }", "effects.unawre = { lift = 2.0 }"),
        ["channels.video.effects.unawre", "unknown stage 'unawre'", "expected one of"],
    ),
    "unknown_stage_in_effect_to": (
        edit(
            'effects.decision = { lift = 0.15, to = ["purchase"] }',
            'effects.decision = { lift = 0.15, to = ["buy"] }',
        ),
        ["channels.retargeting.effects.decision.to", "unknown stage 'buy'"],
    ),
    "unknown_channel_in_affinity": (
        edit("affinity = { affiliate = 1.8", "affinity = { afiliate = 1.8"),
        ["segments.bargain_hunters.affinity.afiliate", "unknown channel 'afiliate'", "affiliate"],
    ),
    "chain_conversion_not_absorbing": (
        TEXTBOOK + "transitions.purchase = { purchase = 0.5, awareness = 0.5 }\n",
        ["chain.transitions.purchase", "must be absorbing"],
    ),
    "chain_conversion_missing": (
        edit('conversion = "purchase"', 'conversion = "sale"', TEXTBOOK).replace(
            "purchase = 0.4", "lost2 = 0.4"
        ),
        ["chain.conversion", "'sale'", "absorbing"],
    ),
    "arrow_in_channel_name": (
        ECOMMERCE.replace("[channels.video]", '[channels."tv > video"]')
        .replace("video = 0.7", '"tv > video" = 0.7')
        .replace("video = 1.2", '"tv > video" = 1.2')
        .replace("touches.video", 'touches."tv > video"'),
        ["channels.tv > video", "without '>'"],
    ),
    "starting_in_the_conversion_stage": (
        edit('conversion = "purchase"', 'conversion = "awareness"'),
        ["initial", "start in the conversion stage 'awareness'"],
    ),
    "conversion_out_of_reach": (
        '[chain]\nconversion = "purchase"\ntransitions.awareness = { awareness = 1.0 }\n'
        "transitions.purchase = { purchase = 1.0 }\n",
        ["no customer can reach the conversion stage 'purchase'", "awareness"],
    ),
    "empty_file": ("", ["empty", "TOML"]),
    "not_toml": ("this is [not toml\n", ["not valid TOML"]),
}


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
@pytest.mark.parametrize("command", ["simulate", "validate"])
def test_bad_model(tmp_path, case, command):
    text, needles = BAD_MODELS[case]
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    args = (
        ["simulate", "bad.toml", "--customers", "10", "--out", "out.parquet"]
        if command == "simulate"
        else ["validate", "bad.toml"]
    )
    res = cjsim(*args, cwd=tmp_path)
    assert_one_line_error(res, "bad.toml", *needles)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_missing_file(tmp_path):
    res = cjsim("simulate", "nope.toml", "--out", "out.parquet", cwd=tmp_path)
    assert_one_line_error(res, "nope.toml", "file not found")
    assert list(tmp_path.iterdir()) == []


def test_folder_as_model(tmp_path):
    (tmp_path / "folder").mkdir()
    res = cjsim("validate", "folder", cwd=tmp_path)
    assert_one_line_error(res, "folder", "folder")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--budget", "nochannel=5"], ["--budget", "unknown channel 'nochannel'", "paid_search"]),
        (["--budget", "paid_search=-1"], ["paid_search", "-1", ">= 0"]),
        (["--budget", "paid_search"], ["--budget 'paid_search'", "CHANNEL=AMOUNT"]),
        (["--budget", "direct=10"], ["'direct' is organic"]),
        (["--off", "tv"], ["unknown channel 'tv'"]),
        (["--days", "0"], ["days", "0", "> 0"]),
        (["--engine", "quantum"], ["--engine 'quantum'", "markov"]),
    ],
)
def test_bad_option(tmp_path, args, needles):
    res = cjsim(
        "simulate", "ecommerce", "--customers", "10", "--out", "out.parquet", *args, cwd=tmp_path
    )
    assert_one_line_error(res, *needles)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--budget", "video=1", "--budget", "video=2"], ["video is given twice"]),
        (["--off", "video", "--budget", "video=100"], ["--off video and --budget video"]),
    ],
)
def test_contradictory_simulation_options(tmp_path, args, needles):
    res = cjsim(
        "simulate", "ecommerce", "--customers", "10", "--out", "out.parquet", *args, cwd=tmp_path
    )
    assert_one_line_error(res, *needles)
    assert list(tmp_path.iterdir()) == []


PATHS_CSV = "path,total_conversions,total_null\nsearch > email,3,5\nsearch,1,9\n"


@pytest.mark.parametrize(
    ("command", "needles"),
    [
        (["paths", "log.csv", "--out", "log.csv"], ["log.csv", "is also the input"]),
        (["attribute", "paths.csv", "--out", "paths.csv"], ["paths.csv", "is also the input"]),
        (["attribute", "paths.csv", "--out", "folder.csv"], ["folder.csv", "is a folder"]),
        (["simulate", "textbook", "--out", "folder.csv"], ["folder.csv", "is a folder"]),
        (["report", "paths.csv", "--out", "folder.html"], ["folder.html", "is a folder"]),
        (["attribute", "paths.csv", "--direct", "tv"], ["--direct tv", "email, search"]),
        (["attribute", "paths.csv", "--seed", "-1"], ["-1"]),
        (
            ["optimise", "textbook", "--metric", "conversions", "--target-roas", "2"],
            ["--target-roas maximises revenue", "--metric conversions"],
        ),
        (["optimise", "textbook", "--workers", "0"], ["--workers 0"]),
        (
            ["evaluate", "textbook", "--out", "mine", "--customers", "50"],
            ["mine", "files cjsim evaluate did not write"],
        ),
        (["run", "budget_shift", "--out", "log.csv"], ["log.csv", "a file of that name"]),
    ],
)
def test_outputs_never_replace_inputs_or_other_files(tmp_path, command, needles):
    """Nothing a user made is overwritten: not the input, not a folder of their files."""
    (tmp_path / "paths.csv").write_text(PATHS_CSV, encoding="utf-8")
    (tmp_path / "log.csv").write_text(
        "customer_id,time,event,channel\n1,0,touch,search\n1,1,conversion,\n", encoding="utf-8"
    )
    for folder in ("folder.csv", "folder.html", "mine"):
        (tmp_path / folder).mkdir()
    (tmp_path / "mine" / "summary.csv").write_text("my own numbers\n", encoding="utf-8")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    res = cjsim(*command, cwd=tmp_path)
    if command[-1] == "-1":  # typer's own range check: exit 2, its usage box
        assert res.returncode == 2 and "greater than or equal to 0" in res.stderr
    else:
        assert_one_line_error(res, *needles)
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.parametrize(
    ("name", "data", "needles"),
    [
        ("latin1.csv", b"path,total_conversions\ncaf\xe9 > b,3\n", ["is not UTF-8 text"]),
        ("twice.csv", b"path,path,total_conversions\na,b,3\n", ["column path appears twice"]),
        ("pipes.csv", b"path|total_conversions\na|3\n", ["on '|', not on ','"]),
        ("huge.csv", b"path,total_conversions\na,1e308\nb,1e308\n", ["adds up to inf"]),
        (
            "value.csv",
            b"customer_id,time,event,channel,value\n1,0,touch,a,\n1,1,conversion,,abc\n",
            ["row 2: value is 'abc'; expected a number"],
        ),
    ],
)
def test_unreadable_inputs(tmp_path, name, data, needles):
    (tmp_path / name).write_bytes(data)
    assert_one_line_error(cjsim("attribute", name, cwd=tmp_path), name, *needles)


@pytest.mark.parametrize(
    ("touch", "conversion"),
    [
        ("2024-01-01T08:00:00", "2024-01-02T09:30:00"),
        # an export that crosses into summer time: two offsets, read as UTC instants
        ("2024-03-30T10:00:00+01:00", "2024-04-01T10:00:00+02:00"),
    ],
)
def test_a_csv_log_with_iso_timestamps_is_read_like_a_parquet_one(tmp_path, touch, conversion):
    (tmp_path / "log.csv").write_text(
        f"customer_id,time,event,channel\n1,{touch},touch,search\n1,{conversion},conversion,\n",
        encoding="utf-8",
    )
    res = cjsim("paths", "log.csv", "--out", "p.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(tmp_path / "p.csv")
    assert table[["path", "total_conversions"]].values.tolist() == [["search", 1.0]]


@pytest.mark.parametrize(
    ("scenario", "needles"),
    [
        ("horizon_days = 0.0001", ["x.toml", "scenarios.a", "step_days", "horizon_days"]),
        (
            'budget_shift = { from = "video", to = "video", share = 0.2 }',
            ["x.toml", "scenarios.a", "both 'video'"],
        ),
    ],
)
def test_a_scenario_that_breaks_the_model_is_named(tmp_path, scenario, needles):
    (tmp_path / "x.toml").write_text(
        f'name = "x"\nmodel = "ecommerce"\n[scenarios.a]\n{scenario}\n', encoding="utf-8"
    )
    assert_one_line_error(cjsim("run", "x.toml", "--out", "r", cwd=tmp_path), *needles)
    assert not (tmp_path / "r").exists()


def test_fewer_days_than_a_step(tmp_path):
    res = cjsim("simulate", "textbook", "--days", "0.5", "--out", "o.parquet", cwd=tmp_path)
    assert_one_line_error(res, "--days 0.5", "at least one step (1 day)")


def test_damaged_experiment_folder(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "manifest.json").write_text("{bad", encoding="utf-8")
    for command in (["run", "budget_shift", "--out", "r"], ["report", "r", "--out", "r.html"]):
        assert_one_line_error(cjsim(*command, cwd=tmp_path), "manifest.json", "cannot be read")
    assert not (tmp_path / "r.html").exists()


def test_unknown_output_format(tmp_path):
    res = cjsim("simulate", "textbook", "--out", "out.txt", cwd=tmp_path)
    assert_one_line_error(res, "out.txt", ".parquet or .csv")
    assert list(tmp_path.iterdir()) == []


def test_output_folder_missing(tmp_path):
    res = cjsim("simulate", "textbook", "--out", "nowhere/out.parquet", cwd=tmp_path)
    assert_one_line_error(res, "nowhere", "does not exist")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_kept_when_the_run_fails(tmp_path):
    """Nothing a user produced is lost: a failed run leaves the old file untouched."""
    target = tmp_path / "out.parquet"
    target.write_bytes(b"precious")
    res = cjsim(
        "simulate", "ecommerce", "--budget", "nochannel=1", "--out", "out.parquet", cwd=tmp_path
    )
    assert res.returncode == 2
    assert target.read_bytes() == b"precious"


GOOD_LOG = pd.DataFrame(
    {
        "customer_id": [1, 1, 1, 2],
        "time": [0.0, 1.0, 2.0, 0.5],
        "event": ["touch", "touch", "conversion", "touch"],
        "channel": ["search", "email", "", "display"],
        "value": [0.0, 0.0, 50.0, 0.0],
    }
)

BAD_LOGS = {
    "missing_column": (GOOD_LOG.drop(columns=["time"]), ["missing column(s) time"]),
    "nan_time": (GOOD_LOG.assign(time=[0.0, None, 2.0, 0.5]), ["row 2", "time is nan"]),
    "unsorted_time": (GOOD_LOG.assign(time=[0.0, 3.0, 2.0, 0.5]), ["row 3", "earlier"]),
    "touch_without_channel": (
        GOOD_LOG.assign(channel=["search", "", "", "display"]),
        ["row 2", "without a channel"],
    ),
    "negative_value": (GOOD_LOG.assign(value=[0.0, 0.0, -50.0, 0.0]), ["row 3", "-50.0", ">= 0"]),
}


def test_good_log_validates(tmp_path):
    GOOD_LOG.to_csv(tmp_path / "events.csv", index=False)
    res = cjsim("validate", "events.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "4 events, 2 customers" in res.stdout


@pytest.mark.parametrize("case", sorted(BAD_LOGS))
def test_bad_event_log(tmp_path, case):
    frame, needles = BAD_LOGS[case]
    frame.to_csv(tmp_path / "events.csv", index=False)
    res = cjsim("validate", "events.csv", cwd=tmp_path)
    assert_one_line_error(res, "events.csv", *needles)


def test_paths_bad_output_and_missing_log(tmp_path):
    GOOD_LOG.to_csv(tmp_path / "events.csv", index=False)
    res = cjsim("paths", "events.csv", "--out", "paths.txt", cwd=tmp_path)
    assert_one_line_error(res, "paths.txt", ".csv")
    res = cjsim("paths", "missing.csv", "--out", "paths.csv", cwd=tmp_path)
    assert_one_line_error(res, "missing.csv", "file not found")
    res = cjsim("paths", "events.csv", "--out", "paths.csv", "--lookback", "-1", cwd=tmp_path)
    assert_one_line_error(res, "lookback", "> 0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv"]


def test_outputs_get_the_usual_permissions(tmp_path):
    """Atomic writes go through a private temporary file; the result is not left private."""
    import stat

    from cjsim import _io
    from cjsim._io import write_text_atomic

    write_text_atomic(tmp_path / "out.txt", "x")
    assert stat.S_IMODE(os.stat(tmp_path / "out.txt").st_mode) == 0o666 & ~_io._UMASK


@pytest.mark.slow
@pytest.mark.xdist_group("signals")  # one at a time: each kills a run of its own
@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM to a child process")
def test_sigterm_stops_like_ctrl_c_and_leaves_no_temporary_file(tmp_path):
    """kill (or a scheduler's time limit) sends SIGTERM: the half-written log goes too."""
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "cjsim", "simulate", "ecommerce", "--customers", "5000000",
         "--out", "big.parquet"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(tmp_path.glob(".big.parquet.*")):
        time.sleep(0.05)
    assert list(tmp_path.glob(".big.parquet.*")), "the run started writing"
    os.kill(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


def test_a_real_process_gives_the_same_one_line_refusal(tmp_path):
    """The tests above run the command line in-process; the console entry point as a
    process of its own refuses bad input the same way (exit 2, one line on stderr)."""
    (tmp_path / "bad.toml").write_text(edit("population = 1_000_000", "population = -5"))
    in_process = assert_one_line_error(cjsim("validate", "bad.toml", cwd=tmp_path), "population")
    alone = assert_one_line_error(cjsim_process("validate", "bad.toml", cwd=tmp_path))
    assert alone == in_process
