"""Reports: the tables behind the figures, the figures, the HTML file, and a real browser."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cjsim.paths import paths_from_events
from cjsim.report import data
from cjsim.report import figures as F
from cjsim.report.build import build_report
from tests.helpers.cli import assert_one_line_error, cjsim
from tests.helpers.report import experiment, images


def log(rows: list[tuple[int, float, str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "time", "event", "channel", "stage",
                                       "value"])  # fmt: skip


# customer 1: aware -> (search) -> consider -> (email) buy on day 5
# customer 2: aware -> (search) -> consider -> lost
# customer 3: aware only, one display touch
TINY = log([
    (1, 0.0, "stage", "", "aware", 0.0),
    (1, 1.0, "touch", "search", "", 0.0),
    (1, 1.5, "stage", "", "consider", 0.0),
    (1, 4.0, "touch", "email", "", 0.0),
    (1, 5.0, "stage", "", "buy", 0.0),
    (1, 5.0, "conversion", "", "", 80.0),
    (2, 0.0, "stage", "", "aware", 0.0),
    (2, 2.0, "touch", "search", "", 0.0),
    (2, 3.0, "stage", "", "consider", 0.0),
    (2, 9.0, "stage", "", "lost", 0.0),
    (3, 0.0, "stage", "", "aware", 0.0),
    (3, 0.5, "touch", "display", "", 0.0),
])  # fmt: skip
STAGES = ["aware", "consider", "buy", "lost"]


def test_stage_reach_counts_customers_who_ever_entered():
    r = data.stage_reach(TINY, STAGES).set_index("stage")
    assert r["customers"].to_dict() == {"aware": 3, "consider": 2, "buy": 1, "lost": 1}
    assert r.loc["consider", "share"] == pytest.approx(2 / 3)
    assert r.loc["buy", "of_previous"] == pytest.approx(0.5)


def test_stage_flows_follow_each_customer_in_order():
    flows = data.stage_flows(TINY, steps=3)
    got = {(r.step, r.source, r.target): r.customers for r in flows.itertuples()}
    assert got == {(0, "aware", "consider"): 2, (1, "consider", "buy"): 1,
                   (1, "consider", "lost"): 1}  # fmt: skip
    seq = data.stage_sequences(TINY, steps=3)
    assert list(seq.loc[3]) == ["aware", "", ""]


def test_journey_map_places_each_touch_in_the_stage_it_met():
    jm = data.journey_map(TINY, STAGES)
    assert jm.loc["aware", "search"] == 2 and jm.loc["aware", "display"] == 1
    assert jm.loc["consider", "email"] == 1
    assert jm.to_numpy().sum() == 4


def test_paths_time_to_conversion_and_top_paths():
    np.testing.assert_allclose(data.time_to_conversion(TINY), [4.0])  # first touch day 1
    paths, _ = paths_from_events(TINY)
    lengths = data.path_lengths(paths, longest=3).set_index("length")
    assert lengths.loc["2", "converting"] == 1 and lengths.loc["1", "not_converting"] == 2
    top = data.top_paths(paths, n=2)
    assert len(top) == 2 and top["journeys"].sum() == 2


def _attributed():
    from cjsim.attribution import attribute

    return attribute(paths_from_events(TINY)[0], ("last", "linear", "markov"), ci=0.9,
                     n_resamples=20, rng=0)  # fmt: skip


def _scores():
    from cjsim.evaluate import score

    truth = pd.Series({"search": 0.7, "email": 0.3, "display": 0.0})
    return score(_attributed().to_frame(), truth)


SUMMARY = pd.DataFrame({
    "scenario": ["a", "b", "a", "b"], "metric": ["m", "m", "n", "n"],
    "diff": [np.nan, 1.0, np.nan, -1.0], "diff_low": [np.nan, 0.5, np.nan, -2.0],
    "diff_high": [np.nan, 1.5, np.nan, 0.0],
})  # fmt: skip
ERRORS = pd.DataFrame({"scenario": ["w1", "w1", "w2", "w2"], "method": ["x", "y", "x", "y"],
                       "mae": [0.1, 0.3, 0.4, 0.2]})  # fmt: skip

FIGURES = {
    "attribution": lambda: F.attribution_chart(_attributed().to_frame()),
    "transitions": lambda: F.transition_heatmap(_attributed().transition_matrix()),
    "truth": lambda: F.truth_chart(_scores()),
    "differences": lambda: F.scenario_differences(SUMMARY, "a"),
    "attribution_errors": lambda: F.attribution_errors(ERRORS),
    "allocation": lambda: F.allocation_chart(
        pd.DataFrame(
            {"channel": ["a", "b"], "current_budget": [1.0, 2.0], "proposed_budget": [2.0, 1.0]}
        )
    ),
    "funnel": lambda: F.funnel_chart(data.stage_reach(TINY, STAGES)),
    "flows": lambda: F.journey_flows(data.stage_flows(TINY), STAGES),
    "journey_map": lambda: F.journey_map_figure(data.journey_map(TINY, STAGES)),
    "path_lengths": lambda: F.path_length_chart(data.path_lengths(paths_from_events(TINY)[0])),
    "time": lambda: F.time_to_conversion_chart(np.array([1.0, 2.0, 4.0])),
    "spend": lambda: F.spend_chart({"a": [1.0, 0.0, 2.0], "b": [0.0, 0.0, 0.0]}),
    "top_paths": lambda: F.top_paths_chart(data.top_paths(paths_from_events(TINY)[0])),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_draws_a_picture(name, tmp_path):
    fig = FIGURES[name]()
    for suffix in ("png", "svg", "pdf"):
        path = F.save_figure(fig, tmp_path / f"{name}.{suffix}")
        assert path.stat().st_size > 1000
    import matplotlib.image as mpimg

    pixels = mpimg.imread(tmp_path / f"{name}.png")
    assert pixels.std() > 0.01  # not a blank canvas


def test_figures_show_their_data():
    fig = F.funnel_chart(data.stage_reach(TINY, ["aware", "consider", "buy"]))
    (ax,) = fig.get_axes()
    widths = [p.get_width() for p in ax.patches]
    np.testing.assert_allclose(sorted(widths), sorted([1.0, 2 / 3, 1 / 3]))
    where = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)}
    assert where["aware"] > where["consider"] > where["buy"]  # top to bottom
    fig = F.allocation_chart(pd.DataFrame({"channel": ["a", "b"], "current_budget": [10.0, 20.0],
                                           "proposed_budget": [15.0, 5.0]}))  # fmt: skip
    heights = [p.get_height() for p in fig.get_axes()[0].patches]
    assert heights == [10.0, 20.0, 15.0, 5.0]
    colors = F.channel_colors(["a", "b"])
    more = F.channel_colors(["a", "b", "c"])
    assert colors["a"] != colors["b"] and {k: more[k] for k in colors} == colors
    with pytest.raises(Exception, match=r"expected one of: \.png"):
        F.save_figure(fig, "x.jpg")


@pytest.fixture(scope="module")
def event_log(tmp_path_factory):
    folder = tmp_path_factory.mktemp("log")
    res = cjsim("simulate", "dentist", "--customers", "3000", "--seed", "4", "--out",
                "d.parquet", cwd=folder)  # fmt: skip
    assert res.returncode == 0, res.stderr
    return folder / "d.parquet"


def test_event_log_report_is_self_contained(event_log, tmp_path):
    out = tmp_path / "r.html"
    res = cjsim("report", str(event_log), "--out", str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    html = out.read_text()
    for title in ("Headline", "The journey", "Paths", "Attribution"):
        assert f">{title}</h2>" in html
    pics = images(html)
    assert len(pics) >= 7 and all(p.startswith(b"\x89PNG") for p in pics)
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//', html)
    assert "3e7524d742f45407" in html or "model_hash" in html  # what was run
    assert "Markov removal effect" in html  # the methods explained


@pytest.mark.slow
def test_experiment_report_and_an_incomplete_one(tmp_path):
    folder = experiment(tmp_path)
    html = build_report(folder).to_html()
    assert "Scenarios against the baseline" in html and "no_banner" in html
    assert "Attribution methods against the truth" in html
    assert "incomplete" not in html and len(images(html)) == 2
    # a task lost and another cut short (a crash while writing): the report says so
    (folder / "tasks" / "base" / "00001.json").unlink()
    (folder / "tasks" / "no_banner" / "00002.json").write_text('{"scenario": "no_ba')
    html = build_report(folder).to_html()
    assert "This experiment is incomplete: 1 of 8 tasks have no result (base/1)" in html
    assert "1 task file(s) cannot be read (tasks/no_banner/00002.json)" in html
    assert "no_banner" in html and len(images(html)) >= 1
    # nothing finished at all
    shutil.rmtree(folder / "tasks")
    html = build_report(folder).to_html()
    assert "No replication has finished yet" in html


@pytest.mark.slow
def test_evaluation_and_attribution_reports(event_log, tmp_path):
    res = cjsim("evaluate", "trap_null_channel", "--customers", "1500", "--replications", "2",
                "--out", "ev", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr
    html = build_report(tmp_path / "ev").to_html()
    assert "Methods against the truth" in html and len(images(html)) == 1
    res = cjsim("attribute", str(event_log), "--ci", "0", "--out", "a.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    html = build_report(tmp_path / "a.csv").to_html()
    assert "Credited conversions per channel by method" in html
    res = cjsim("paths", str(event_log), "--out", "p.csv", cwd=tmp_path)
    html = build_report(tmp_path / "p.csv").to_html()
    assert "The ten most common paths" in html and "Attribution" in html


def test_report_bad_input(tmp_path):
    assert_one_line_error(cjsim("report", "nope.parquet", cwd=tmp_path), "nope.parquet",
                          "not found")  # fmt: skip
    (tmp_path / "folder").mkdir()
    assert_one_line_error(cjsim("report", "folder", cwd=tmp_path), "folder",
                          "neither an experiment")  # fmt: skip
    (tmp_path / "r.csv").write_text("method,channel\nlast,a\n")
    res = cjsim("report", "r.csv", "--out", "r.html", cwd=tmp_path)
    assert_one_line_error(res, "r.csv", "missing column(s) conversions")
    assert not (tmp_path / "r.html").exists()
    res = cjsim("report", "r.csv", "--out", "r.pdf", cwd=tmp_path)
    assert_one_line_error(res, "r.pdf", "expected a .html or .htm file")


# -- in a real browser ------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def open_in_chromium(path: Path) -> dict[str, object]:
    """Load a report in headless Chromium: screenshot, images, requests, console errors."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI (.ci/run installs Debian's chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    found: dict[str, object] = {"requests": [], "errors": []}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})

        def route(r):  # anything but the file itself would be a network request
            if r.request.url != path.as_uri():
                found["requests"].append(r.request.url)  # type: ignore[union-attr]
                return r.abort()
            return r.continue_()

        page.route("**/*", route)
        page.on("console", lambda m: m.type == "error" and found["errors"].append(m.text))  # type: ignore[union-attr]
        page.on("pageerror", lambda e: found["errors"].append(str(e)))  # type: ignore[union-attr]
        page.goto(path.as_uri(), wait_until="load")
        found["images"] = page.evaluate(
            "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
        )
        found["screenshot"] = page.screenshot(full_page=False)
        found["title"] = page.title()
        found["headings"] = page.evaluate(
            "Array.from(document.querySelectorAll('h2')).map(h => h.textContent)"
        )
        browser.close()
    return found


@pytest.mark.slow
def test_demo_report_opens_in_a_real_browser(tmp_path):
    res = cjsim("demo", "--customers", "4000", "--report", "demo.html", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "demo.html" in "".join(res.stdout.split())  # a long folder name wraps the line
    found = open_in_chromium(tmp_path / "demo.html")
    assert found["requests"] == [] and found["errors"] == []
    imgs = found["images"]
    assert len(imgs) >= 10
    assert all(ok and w > 100 and h > 100 for ok, w, h in imgs), imgs  # every image decodes
    import matplotlib.image as mpimg

    shot = mpimg.imread(io.BytesIO(found["screenshot"]), format="png")
    assert shot.shape[0] >= 900 and shot.std() > 0.05  # the page is not blank
    assert "cjsim demo" in str(found["title"])
    heads = found["headings"]
    for h in ("The journey", "Attribution", "Against the truth", "Scenarios against the baseline"):
        assert h in heads, heads


def test_a_broken_report_fails_the_browser_check(tmp_path):
    """The check has teeth: a broken image and a remote script are both caught."""
    page = tmp_path / "broken.html"
    page.write_text('<html><body><h2>x</h2><img src="data:image/png;base64,AAAA">'
                    '<script src="https://example.com/x.js"></script></body></html>')  # fmt: skip
    found = open_in_chromium(page)
    assert found["requests"] == ["https://example.com/x.js"]
    assert found["images"] == [[True, 0, 0]] or found["images"][0][1] == 0
    assert found["errors"], "the failed script load is reported as a console error"


def test_attribution_and_truth_figures_draw_their_numbers():
    frame = _attributed().to_frame()
    fig = F.attribution_chart(frame)
    ax = fig.get_axes()[0]
    bars = sorted(round(p.get_height(), 9) for p in ax.patches)
    assert bars == sorted(round(v, 9) for v in frame["conversions"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["last", "linear", "markov"]
    scores = _scores()
    ax = F.truth_chart(scores).get_axes()[0]
    black = [p.get_height() for p in ax.patches if p.get_facecolor()[:3] == (0.0, 0.0, 0.0)]
    assert sorted(black) == sorted(scores.groupby("channel")["truth"].first())


def test_outputs_in_missing_folders_are_refused_before_any_work(tmp_path):
    res = cjsim("funnel", "dentist", "--figure", "nodir/f.png", cwd=tmp_path)
    assert_one_line_error(res, "nodir/f.png", "the folder does not exist")
    res = cjsim("optimise", "trap_null_channel", "--report", "nodir/r.html", cwd=tmp_path)
    assert_one_line_error(res, "nodir/r.html", "the folder does not exist")
    res = cjsim("optimise", "trap_null_channel", "--budget", "1e9", cwd=tmp_path)
    assert_one_line_error(res, "more than the channels may take", "3 x its current budget")


@pytest.mark.slow
def test_an_agent_run_reports_its_queues_referrals_and_spend(event_log, tmp_path):
    res = cjsim("simulate", "dentist", "--engine", "agents", "--customers", "1500", "--out",
                "a.parquet", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr
    html = build_report(tmp_path / "a.parquet").to_html()
    stats = json.loads((tmp_path / "a.agents.json").read_text())
    served = stats["resources"][0]["served"]
    assert ">Capacity and word of mouth</h2>" in html and "chairs" in html
    assert f"<td>{served}</td>" in html
    assert "Spend per day and channel" in html
    assert "Capacity and word of mouth" not in build_report(event_log).to_html()  # Markov log
