"""``cjsim report`` on damaged inputs, and names that look like mathtext (issue 16).

Result files get copied, edited by hand, cut short or produced by another version. Each
damage stops the report with one line naming the file, the key or row and what was
expected (exit 2); no report is written and an existing one is left as it was.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import matplotlib.text
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cjsim.cli import app
from cjsim.paths import paths_from_events
from cjsim.report import data
from cjsim.report import figures as F
from cjsim.report.build import build_report
from tests.helpers.cli import assert_one_line_error, cjsim
from tests.helpers.report import experiment, images


# its tests share xdist_group("folders"): one process computes it once, not one per process
@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """A real experiment folder (with truth and attribution) and a real evaluation."""
    root = tmp_path_factory.mktemp("folders")
    res = cjsim("evaluate", "trap_null_channel", "--customers", "1000", "--replications", "2",
                "--out", "ev", cwd=root)  # fmt: skip
    assert res.returncode == 0, res.stderr
    return {"experiment": experiment(root), "evaluation": root / "ev"}


def _edit_json(path: Path, change: Callable[[object], object]) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def _set(key: str, value: object) -> Callable[[object], object]:
    def change(record: object) -> object:
        assert isinstance(record, dict)
        return {**record, key: value}

    return change


RESULT = "method,channel,conversions,ci_low,ci_high\nlast,a,3.0,1.0,4.0\nlast,b,2.0,1.0,3.0\n"

#: name -> (what the report is of, how it is damaged, what the one line must say)
DAMAGES: dict[str, tuple[str, Callable[[Path], None], list[str]]] = {
    "result_not_utf8": (
        "result.csv",
        lambda p: p.write_bytes(RESULT.replace(",a,", ",caf\xe9,").encode("latin-1")),
        ["result.csv", "is not UTF-8 text", "expected an attribution result"],
    ),
    "result_text_conversions": (
        "result.csv",
        lambda p: p.write_text(RESULT.replace("2.0,1.0,3.0", "two,1.0,3.0")),
        ["result.csv: row 2: conversions is 'two'; expected a finite number"],
    ),
    "result_text_interval": (
        "result.csv",
        lambda p: p.write_text(RESULT.replace("3.0,1.0,4.0", "3.0,low,4.0")),
        ["row 1: ci_low is 'low'; expected a number or an empty cell"],
    ),
    "result_empty_channel": (
        "result.csv",
        lambda p: p.write_text(RESULT.replace(",b,", ",,")),
        ["row 2: channel is empty; expected a name"],
    ),
    "result_twice": (
        "result.csv",
        lambda p: p.write_text(RESULT.replace(",b,", ",a,")),
        ["row 2: method 'last' and channel 'a' appear twice; expected one row per method"],
    ),
    "result_json_not_records": (
        "result.json",
        lambda p: p.write_text(json.dumps({"results": [1, 2]})),
        ["result.json: results:", "'results' list of records"],
    ),
    "result_json_text_conversions": (
        "result.json",
        lambda p: p.write_text(
            json.dumps(
                {
                    "results": [
                        {"method": "last", "channel": "a", "conversions": "3"},
                        {"method": "last", "channel": "b", "conversions": "x"},
                    ]
                }
            )
        ),
        ["result.json: row 2: conversions is 'x'; expected a finite number"],
    ),
    "evaluation_without_summary": (
        "evaluation",
        lambda p: (p / "summary.csv").unlink(),
        ["summary.csv: file not found; expected a file of a cjsim evaluate folder"],
    ),
    "evaluation_text_bias": (
        "evaluation",
        lambda p: (p / "bias.csv").write_text(
            (p / "bias.csv").read_text().replace("\n", "\nlast,banner,0,0,0,oops,0,0\n", 1)
        ),
        ["bias.csv: row 1: bias is 'oops'; expected a finite number"],
    ),
    "evaluation_summary_not_utf8": (
        "evaluation",
        lambda p: (p / "summary.csv").write_bytes(b"method,mae\nl\xe4st,0.1\n"),
        ["summary.csv", "is not UTF-8 text"],
    ),
    "evaluation_settings_not_an_object": (
        "evaluation",
        lambda p: _edit_json(p / "evaluation.json", _set("settings", [1, 2])),
        ["evaluation.json", "expected an evaluation's settings"],
    ),
    "manifest_replications_text": (
        "experiment",
        lambda p: _edit_json(p / "manifest.json", _set("replications", "three")),
        ["manifest.json: replications: replications is 'three'; expected a whole number"],
    ),
    "manifest_scenarios_not_a_list": (
        "experiment",
        lambda p: _edit_json(p / "manifest.json", _set("scenarios", "base")),
        ["manifest.json: scenarios: scenarios is 'base'; expected a list of scenario names"],
    ),
    "manifest_scenario_outside_the_folder": (
        "experiment",
        lambda p: _edit_json(p / "manifest.json", _set("scenarios", ["base", "../x"])),
        ["manifest.json: scenarios:", "expected a list of scenario names"],
    ),
    "manifest_metrics_not_names": (
        "experiment",
        lambda p: _edit_json(p / "manifest.json", _set("metrics", {"a": 1})),
        ["manifest.json: metrics:", "expected a list of metric names"],
    ),
    "manifest_description_not_text": (
        "experiment",
        lambda p: _edit_json(p / "manifest.json", _set("description", 7)),
        ["manifest.json: description: description is 7; expected text"],
    ),
    "manifest_a_list": (
        "experiment",
        lambda p: (p / "manifest.json").write_text("[1, 2]"),
        ["manifest.json", "expected an experiment folder's manifest", "a JSON object"],
    ),
    "task_a_list": (
        "experiment",
        lambda p: (p / "tasks" / "base" / "00001.json").write_text("[1, 2]"),
        ["tasks/base/00001.json: expected a JSON object", "delete it and run the experiment"],
    ),
    "task_metric_text": (
        "experiment",
        lambda p: _edit_json(p / "tasks" / "base" / "00000.json", _set("conversions", "many")),
        ["tasks/base/00000.json: conversions is 'many'; expected a number"],
    ),
    "task_metric_missing": (
        "experiment",
        lambda p: _edit_json(
            p / "tasks" / "base" / "00000.json",
            lambda r: {k: v for k, v in r.items() if k != "revenue"},  # type: ignore[union-attr]
        ),
        ["tasks/base/00000.json: revenue is missing; expected a number"],
    ),
    "task_of_another_scenario": (
        "experiment",
        lambda p: shutil.copy(
            p / "tasks" / "base" / "00000.json", p / "tasks" / "no_banner" / "00000.json"
        ),
        ["tasks/no_banner/00000.json: scenario is 'base'; expected 'no_banner'"],
    ),
    "task_credit_malformed": (
        "experiment",
        lambda p: _edit_json(p / "tasks" / "base" / "00000.json", _set("credit", [["last"]])),
        ["tasks/base/00000.json: credit is not a list of [method, channel, conversions]"],
    ),
    "truth_task_not_shares": (
        "experiment",
        lambda p: _edit_json(p / "tasks" / "base" / "truth.json", _set("truth", [0.5])),
        ["tasks/base/truth.json: truth is [0.5]; expected channel shares"],
    ),
}


def _undamaged(target: str, folders: dict[str, Path], tmp_path: Path) -> Path:
    path = tmp_path / target
    if target in folders:
        shutil.copytree(folders[target], path)
    else:
        path.write_text(RESULT if target.endswith(".csv") else json.dumps({"results": [
            {"method": "last", "channel": "a", "conversions": 3.0}]}))  # fmt: skip
    return path


@pytest.mark.parametrize("target", sorted({t for t, _, _ in DAMAGES.values()}))
@pytest.mark.xdist_group("folders")
def test_the_undamaged_inputs_make_a_report(target, folders, tmp_path):
    path = _undamaged(target, folders, tmp_path)
    res = CliRunner().invoke(app, ["report", str(path), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.stderr
    assert len(images((tmp_path / "r.html").read_text())) >= 1


@pytest.mark.parametrize("case", sorted(DAMAGES))
@pytest.mark.xdist_group("folders")
def test_report_on_damaged_inputs(case, folders, tmp_path):
    target, damage, needles = DAMAGES[case]
    path = _undamaged(target, folders, tmp_path)
    damage(path)
    out = tmp_path / "report.html"
    out.write_text("the previous report")
    res = CliRunner().invoke(app, ["report", str(path), "--out", str(out)])
    line = assert_one_line_error(_completed(res), *needles)
    assert line.count(str(tmp_path)) == 1, line  # names the file once
    assert out.read_text() == "the previous report"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def _completed(res):
    """A CliRunner result in the shape of subprocess.run's, for assert_one_line_error."""
    import subprocess

    return subprocess.CompletedProcess([], res.exit_code, res.stdout, res.stderr)


@pytest.mark.xdist_group("folders")
def test_a_task_file_cut_short_is_listed_not_refused(folders, tmp_path):
    """A crash of the disk may cut a file short; the report lists it (cjsim run redoes it)."""
    path = tmp_path / "experiment"
    shutil.copytree(folders["experiment"], path)
    (path / "tasks" / "base" / "00000.json").write_text('{"scenario": "ba')
    html = build_report(path).to_html()
    assert "1 task file(s) cannot be read (tasks/base/00000.json)" in html


# -- names that look like mathtext --------------------------------------------------------

#: A channel of a real export may be called anything; these are mathtext to matplotlib
#: ("$\\notacommand$" would even stop the drawing with a parse error).
ODD = ["$x^2$", r"$\notacommand$", "a $ sign", "100% $"]


def _odd_log() -> pd.DataFrame:
    rows = []
    for cid, channels in enumerate([ODD[:2], ODD[1:], [ODD[3]], ODD[::-1]]):
        rows += [(cid, float(t), "touch", ch, "") for t, ch in enumerate(channels)]
        if cid != 2:
            rows.append((cid, 9.0, "conversion", "", ""))
    frame = pd.DataFrame(rows, columns=["customer_id", "time", "event", "channel", "stage"])
    return frame.assign(value=np.where(frame["event"] == "conversion", 10.0, 0.0))


def _texts(fig) -> list[matplotlib.text.Text]:
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


def test_channel_names_are_drawn_as_written(tmp_path):
    from cjsim.attribution import attribute

    paths, _ = paths_from_events(_odd_log())
    result = attribute(paths, ("last", "linear", "markov"), ci=0.9, n_resamples=10, rng=0)
    frame = result.to_frame()
    figures = [
        F.attribution_chart(frame),
        F.top_paths_chart(data.top_paths(paths)),
        F.transition_heatmap(result.transition_matrix()),
        F.spend_chart({name: [1.0, 2.0] for name in ODD}),
        F.allocation_chart(
            pd.DataFrame({"channel": ODD, "current_budget": 1.0, "proposed_budget": 2.0})
        ),
    ]
    for fig in figures:
        fig.savefig(io.BytesIO(), format="png")  # mathtext of "$\notacommand$" would raise
        drawn = {t.get_text() for t in _texts(fig)}
        assert any(name in text for name in ODD for text in drawn), drawn
        for t in _texts(fig):
            assert not t.get_parse_math() and not t.get_usetex(), t.get_text()
    ticks = {t.get_text() for t in figures[0].get_axes()[0].get_xticklabels()}
    assert set(ODD) <= ticks  # the names themselves, not escaped copies
    # a figure made without the wrapper (elsewhere) is drawn as written when saved
    bare = F.attribution_chart.__wrapped__(frame)
    with pytest.raises(ValueError, match="notacommand"):
        bare.savefig(io.BytesIO(), format="png")
    assert F.save_figure(bare, tmp_path / "bare.png").stat().st_size > 1000
    from cjsim.report.html import figure_png

    assert figure_png(F.attribution_chart.__wrapped__(frame)).startswith(b"\x89PNG")


def test_every_figure_function_draws_its_texts_as_written():
    public = [
        name for name, fn in vars(F).items()
        if callable(fn) and not name.startswith("_")
        and getattr(fn, "__annotations__", {}).get("return") == "Figure"
        and name != "literal_text"
    ]  # fmt: skip
    assert len(public) >= 15
    assert [n for n in public if not getattr(getattr(F, n), "literal_text", False)] == []


def test_a_report_of_a_log_with_such_names(tmp_path):
    path = tmp_path / "odd.csv"
    _odd_log().to_csv(path, index=False)
    res = cjsim("report", str(path), "--out", "r.html", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    html = (tmp_path / "r.html").read_text()
    assert "$x^2$" in html and len(images(html)) >= 3
