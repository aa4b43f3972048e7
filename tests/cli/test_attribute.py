"""'cjsim attribute' on a ChannelAttribution-format file and on an event log; bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cjsim.attribution import STANDARD_METHODS
from cjsim.cli import app
from tests.helpers.cli import assert_one_line_error, cjsim

runner = CliRunner()

# Bryl (2016), analyzecore.com: removal effects 0.5, 1, 1 -> 0.2, 0.4, 0.4 of one conversion
BRYL = "path;total_conversions;total_null\nc1 > c2 > c3;1;0\nc1;0;1\nc2 > c3;0;1\n"


def test_attribute_path_table_all_methods_with_intervals(tmp_path):
    (tmp_path / "paths.csv").write_text(BRYL)
    out = tmp_path / "result.csv"
    res = runner.invoke(
        app, ["attribute", str(tmp_path / "paths.csv"), "--ci", "0.9", "--resamples", "50",
              "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    for name in STANDARD_METHODS:
        assert name in res.output
    assert "90% bootstrap intervals" in res.output
    f = pd.read_csv(out)
    assert list(f.method.unique()) == list(STANDARD_METHODS)
    markov = f[f.method == "markov"].set_index("channel")
    np.testing.assert_allclose(markov.conversions, [0.2, 0.4, 0.4])
    np.testing.assert_allclose(markov.removal_effect, [0.5, 1.0, 1.0])
    assert f.ci_low.notna().all() and f.ci_high.notna().all()


def test_attribute_event_log_json(tmp_path):
    log = tmp_path / "events.parquet"
    res = runner.invoke(app, ["simulate", "ecommerce", "--customers", "3000", "--seed", "2",
                              "--out", str(log)])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = tmp_path / "r.json"
    res = runner.invoke(app, ["attribute", str(log), "-m", "markov", "-m", "shapley",
                              "--order", "2", "--ci", "0", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["settings"]["order"] == 2
    assert data["settings"]["ci"] is None and data["results"][0]["ci_low"] is None
    chain = data["models"]["markov"]
    assert chain["order"] == 2 and chain["transition_matrix"]
    assert chain["p_conversion"] == pytest.approx(
        data["totals"]["conversions"] / data["totals"]["journeys"]
    )
    rows = pd.DataFrame(data["results"])
    total = data["totals"]["conversions"]
    assert rows.groupby("method").conversions.sum().to_numpy() == pytest.approx([total, total])


BAD_TABLES = {
    "missing_columns": ("route,total_conversions\na > b,1\n", ["missing column", "path"]),
    "negative_count": ("path,total_conversions\na > b,-1\n", ["row 1", "-1", ">= 0"]),
    "nan_count": ("path,total_conversions\na,1\nb,\n", ["row 2", "total_conversions"]),
    "empty_path": ("path,total_conversions\na,1\n,2\n", ["row 2", "empty channel"]),
    "empty_channel": ("path,total_conversions\na > > b,1\n", ["row 1", "empty channel"]),
    "empty_file": ("", ["empty"]),
    "header_only": ("path,total_conversions\n", ["no rows"]),
}


@pytest.mark.parametrize("case", sorted(BAD_TABLES))
def test_bad_path_table(tmp_path, case):
    content, needles = BAD_TABLES[case]
    (tmp_path / "paths.csv").write_text(content)
    res = cjsim("attribute", "paths.csv", "--out", "r.csv", cwd=tmp_path)
    assert_one_line_error(res, "paths.csv", *needles)
    assert not (tmp_path / "r.csv").exists()


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--method", "last_click"], ["last_click", "expected one of"]),
        (["--ci", "95"], ["--ci", "between 0 and 1"]),
        (["--order", "0"], ["order", ">= 1"]),
        (["--out", "r.txt"], ["r.txt", ".csv or .json"]),
        (["--delimiter", "|"], ["--delimiter"]),
    ],
)
def test_bad_attribute_options(tmp_path, args, needles):
    (tmp_path / "paths.csv").write_text(BRYL)
    res = cjsim("attribute", "paths.csv", *args, cwd=tmp_path)
    assert_one_line_error(res, *needles)


def test_channel_with_the_separator_in_a_log(tmp_path):
    log = pd.DataFrame(
        {"customer_id": [1, 1], "time": [0.0, 1.0], "event": ["touch", "conversion"],
         "channel": ["tv > radio", ""], "stage": ["", ""], "value": [0.0, 5.0],
         "segment": ["", ""]}
    )  # fmt: skip
    log.to_csv(tmp_path / "log.csv", index=False)
    res = cjsim("paths", "log.csv", "--out", "p.csv", cwd=tmp_path)
    assert_one_line_error(res, "tv > radio", "'>'")
    assert not (tmp_path / "p.csv").exists()
    # attribution itself needs no text format: the channel is credited under its name
    res = cjsim("attribute", "log.csv", "-m", "last", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "tv > radio" in res.stdout


def test_without_nulls(tmp_path):
    (tmp_path / "paths.csv").write_text(BRYL)
    out = tmp_path / "r.csv"
    res = runner.invoke(app, ["attribute", str(tmp_path / "paths.csv"), "-m", "markov",
                              "--no-nulls", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    # only the converting path is left: every channel on it is necessary
    assert (pd.read_csv(out).removal_effect == 1.0).all()


def test_missing_input(tmp_path):
    res = cjsim("attribute", "nope.csv", cwd=tmp_path)
    assert_one_line_error(res, "nope.csv", "not found")
