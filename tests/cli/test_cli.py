"""The command line on the happy path: golden figures at tiny size."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from cjsim.cli import app
from cjsim.events import read_events, read_metadata
from cjsim.model import embedded_models

runner = CliRunner()


def test_every_shipped_model_is_embedded():
    assert {"ecommerce", "textbook"} <= set(embedded_models())


def test_validate_model(tmp_path):
    res = runner.invoke(app, ["validate", "textbook"])
    assert res.exit_code == 0, res.output
    assert "valid chain model 'textbook'" in res.output


def test_funnel_json_textbook():
    res = runner.invoke(app, ["funnel", "textbook", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["p_conversion"] == pytest.approx(0.4)
    assert data["expected_steps"] == pytest.approx(3.0)
    rows = {r["stage"]: r for r in data["stages"]}
    assert rows["consideration"]["p_conversion"] == pytest.approx(2 / 3)


def test_funnel_table_mentions_the_approximation():
    res = runner.invoke(app, ["funnel", "ecommerce"])
    assert res.exit_code == 0, res.output
    assert "mean-field" in res.output


def test_simulate_writes_a_valid_log(tmp_path):
    target = tmp_path / "d.parquet"
    res = runner.invoke(
        app,
        [
            "simulate",
            "ecommerce",
            "--customers",
            "500",
            "--seed",
            "3",
            "--days",
            "30",
            "--budget",
            "video=3000",
            "--off",
            "display",
            "--out",
            str(target),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output and "conversions" in res.output
    frame = read_events(target)
    assert frame.customer_id.nunique() == 500
    assert frame.time.max() < 30
    assert "display" not in set(frame.channel.dropna().astype(str))
    meta = read_metadata(target)
    assert meta["seed"] == 3 and meta["customers"] == 500 and meta["steps"] == 30
    assert [p.name for p in tmp_path.iterdir()] == ["d.parquet"]


def test_same_command_same_log(tmp_path):
    for name in ("a.csv", "b.csv"):
        res = runner.invoke(
            app,
            [
                "simulate",
                "textbook",
                "--customers",
                "300",
                "--seed",
                "9",
                "--out",
                str(tmp_path / name),
            ],
        )
        assert res.exit_code == 0, res.output
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    frame = pd.read_csv(tmp_path / "a.csv")
    assert list(frame.columns) == [
        "customer_id",
        "time",
        "event",
        "channel",
        "stage",
        "value",
        "segment",
    ]


@pytest.mark.slow
def test_demo_prints_a_summary(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the demo writes cjsim-demo.html where it runs
    res = runner.invoke(app, ["demo", "--customers", "2000"])
    assert res.exit_code == 0, res.output
    for word in ("ecommerce", "conversions", "revenue", "ROAS", "paid_search", "word_of_mouth"):
        assert word in res.output
    assert (tmp_path / "cjsim-demo.html").stat().st_size > 0


def test_python_dash_m():
    res = subprocess.run(
        [sys.executable, "-m", "cjsim", "funnel", "textbook", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["p_conversion"] == pytest.approx(0.4)


#: Modules a command that reads no model and draws nothing must not import (start-up time).
HEAVY = ("matplotlib", "simpy", "duckdb", "statsmodels", "dask", "pandas", "cjsim.report",
         "cjsim.model", "cjsim.simulate")  # fmt: skip
IMPORTED = """
import sys
from cjsim.cli import main
sys.argv = ["cjsim", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print(" ".join(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize("args", [["--help"], ["attribute", "PATHS"]])
def test_help_and_attribute_import_no_heavy_module(tmp_path, args):
    """``cjsim --help`` and ``cjsim attribute`` (every standard method, default intervals)
    start without pandas, matplotlib, simpy, duckdb, statsmodels, the report, the model
    schema or the engines (each costs start-up)."""
    paths = tmp_path / "paths.csv"
    paths.write_text("path,total_conversions,total_null\na > b,3,4\nb,1,5\na,2,2\n")
    args = [str(paths) if a == "PATHS" else a for a in args]
    res = subprocess.run(
        [sys.executable, "-c", IMPORTED.format(heavy=HEAVY), *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[-1] == ""


def test_paths_command(tmp_path):
    events = tmp_path / "e.csv"
    res = runner.invoke(app, ["simulate", "dentist", "--customers", "800", "--out", str(events)])
    assert res.exit_code == 0, res.output
    target = tmp_path / "p.csv"
    res = runner.invoke(app, ["paths", str(events), "--out", str(target), "--delimiter", ";"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(target, sep=";")
    assert list(table.columns) == [
        "path",
        "total_conversions",
        "total_null",
        "total_conversion_value",
    ]
    frame = read_events(events)
    converters = frame[frame.event == "conversion"].customer_id.nunique()
    assert table.total_conversions.sum() <= converters
    assert f"{len(table):,} distinct paths" in res.output


def test_simulate_with_the_agent_engine(tmp_path):
    out = tmp_path / "a.parquet"
    res = runner.invoke(
        app, ["simulate", "dentist", "--engine", "agents", "--customers", "1500", "--days", "60",
              "--seed", "3", "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "agents" in res.output and "Capacity" in res.output
    meta = read_metadata(out)
    assert meta["engine"] == "agents" and meta["customers"] == 1500
    frame = read_events(out)
    assert frame.customer_id.nunique() == 1500
    assert (frame.time <= 60).all()
    figures = json.loads((tmp_path / "a.agents.json").read_text())
    assert figures["resources"][0]["resource"] == "chairs"
    assert set(figures["spend_per_day"]) == {"search_ads", "social_ads"}


def test_optimise_is_the_one_spelling_and_optimize_still_works():
    listed = runner.invoke(app, ["--help"]).output
    assert "optimise" in listed and "optimize" not in listed
    res = runner.invoke(app, ["optimize", "textbook", "--workers", "0"])
    assert res.exit_code == 2 and "--workers 0" in res.output
