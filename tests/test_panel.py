"""Aggregate panels: totals equal the log's, no gaps, geos add up, every tool's layout
names columns that exist; bad options stop with one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cjsim.observe import clicks, load_profile, observe
from cjsim.panel import FORMATS, build_panel
from cjsim.simulate import simulate
from tests.helpers.cli import assert_one_line_error, cjsim
from tests.helpers.models import shipped


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    return simulate(shipped("ecommerce"), 4_000, rng=11, keep_events=True)


@pytest.mark.parametrize("freq", ["day", "week", "month"])
def test_panel_totals_are_the_logs(run, freq: str) -> None:  # type: ignore[no-untyped-def]
    model, log, summary = shipped("ecommerce"), run.events, run.summary
    panel = build_panel(log, model, freq)
    totals = panel.totals()
    for channel, spend, touches in zip(
        summary.channels, summary.spend, summary.touches, strict=True
    ):
        assert totals[f"impressions_{channel}"] == touches
        if f"spend_{channel}" in totals:
            assert totals[f"spend_{channel}"] == pytest.approx(float(spend), rel=1e-12)
    conversions = log["event"] == "conversion"
    assert totals["conversions"] == conversions.sum()
    assert totals["revenue"] == pytest.approx(log.loc[conversions, "value"].sum(), rel=1e-12)
    days = {"day": 1, "week": 7, "month": 28}[freq]
    assert list(panel.frame["period"]) == list(range(int(np.ceil(model.horizon_days / days))))
    assert panel.frame["days"].sum() == model.horizon_days


def test_geo_panels_add_up_to_the_national_one(run) -> None:  # type: ignore[no-untyped-def]
    model = shipped("ecommerce")
    national = build_panel(run.events, model, "week").frame
    by_geo = build_panel(run.events, model, "week", geo="segment")
    assert len(by_geo.frame) == len(national) * len(model.segments)
    summed = by_geo.frame.drop(columns=["geo", "date"]).groupby("period").sum()
    numbers = [c for c in national.columns if c not in ("period", "date", "days", "trend")]
    pd.testing.assert_frame_equal(
        summed[numbers].reset_index(drop=True), national[numbers], check_dtype=False
    )
    assert sum(by_geo.population.values()) == run.events["customer_id"].nunique()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_layout_names_columns_that_exist(run, fmt: str) -> None:  # type: ignore[no-untyped-def]
    panel = build_panel(run.events, shipped("ecommerce"), "week")
    table = panel.to_frame(fmt)
    named: list[str] = []
    for value in panel.roles(fmt).values():
        named += value if isinstance(value, list) else [value]
    columns = [v for v in named if isinstance(v, str) and v not in ("revenue", "conversion")]
    assert set(columns) - {"revenue"} <= set(table.columns) | {None}
    if fmt != "cjsim":
        assert len(table) == 12  # 90 days: the 13th week has 6 days and is left out
        assert not table.isna().any().any()


def test_cli_writes_the_panel_and_its_roles(tmp_path: Path) -> None:
    simulate(shipped("dentist"), 1_500, rng=2, out=tmp_path / "ev.parquet")
    res = cjsim("panel", "ev.parquet", "--out", "p.csv", "--format", "meridian",
                "--geo", "segment", "--freq", "month", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(tmp_path / "p.csv")
    roles = json.loads((tmp_path / "p.json").read_text())
    assert roles["format"] == "meridian" and roles["model"] == "dentist"
    assert set(roles["roles"]["media_spend"]) <= set(table.columns)
    assert table["geo"].nunique() == len(shipped("dentist").segments)


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (("--freq", "year"), ("--freq", "day, week, month")),
        (("--format", "excel"), ("--format", "pymc")),
        (("--format", "robyn", "--geo", "segment"), ("national",)),
        (("--geo", "region"), ("--geo", "region", "segment")),
        (("--model", "ecommerce"), ("ev.parquet", "hash", "--model")),
        (("--start", "5 Jan"), ("--start", "YYYY-MM-DD")),
        (("--target", "profit"), ("--target",)),
        (("--clicks", "nowhere"), ("nowhere",)),
    ],
)
def test_bad_panel_options_stop_with_one_line(
    tmp_path: Path, extra: tuple[str, ...], needles: tuple[str, ...]
) -> None:
    simulate(shipped("dentist"), 300, rng=2, out=tmp_path / "ev.parquet")
    res = cjsim("panel", "ev.parquet", "--out", "p.csv", *extra, cwd=tmp_path)
    assert_one_line_error(res, *needles)
    assert not (tmp_path / "p.csv").exists() and not (tmp_path / "p.json").exists()


def test_clicks_are_the_touches_the_profile_makes_clicks(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model, log = shipped("ecommerce"), run.events
    only_clicks = tmp_path / "clicks.toml"
    only_clicks.write_text(
        'name = "clicks"\nstages = true\n[[channels]]\npattern = "video"\nclick_share = 0.1\n'
        'views_tracked = false\n[[channels]]\npattern = "display"\nin_paths = false\n',
        encoding="utf-8",
    )
    profile = load_profile(only_clicks)
    panel = build_panel(log, model, "week", clicks=clicks(log, profile, seed=3))
    totals = panel.totals()
    assert totals["clicks_display"] == 0  # no path data: no clicks either
    # a channel no rule names is recorded in full: every touch is a click
    assert totals["clicks_paid_search"] == totals["impressions_paid_search"]
    video = totals["impressions_video"]
    assert abs(totals["clicks_video"] - 0.1 * video) < 4 * np.sqrt(0.1 * 0.9 * video)
    # the same touches observe keeps of video (nothing else is lost in this profile)
    seen = observe(log, profile, seed=3).events
    kept = ((seen["event"] == "touch") & (seen["channel"] == "video")).sum()
    assert totals["clicks_video"] == kept


def test_cli_adds_click_columns(tmp_path: Path) -> None:
    simulate(shipped("ecommerce"), 800, rng=2, out=tmp_path / "ev.parquet")
    res = cjsim("panel", "ev.parquet", "--out", "p.csv", "--clicks", "typical_web_2026",
                cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(tmp_path / "p.csv")
    assert {"clicks_video", "clicks_paid_search"} <= set(table.columns)
    assert (table["clicks_video"] <= table["impressions_video"]).all()


def test_in_market_counts_who_is_in_the_market_at_each_day_start() -> None:
    model = shipped("flighted_market")
    log = simulate(model, 3_000, rng=5, keep_events=True).events
    daily = build_panel(log, model, "day").frame["in_market"].to_numpy()
    stage = log[log["event"] == "stage"]
    first = log.groupby("customer_id")["time"].min()
    done = stage[stage["stage"].isin(["purchase", "lost"])].groupby("customer_id")["time"].min()
    done = done.reindex(first.index).fillna(np.inf)
    for day in (0, 1, 50, 120, 181):  # arrived by the day's start, not yet done
        expected = ((first <= day) & (done > day)).sum()
        assert daily[day] == expected
    weekly = build_panel(log, model, "week").frame["in_market"].to_numpy()
    assert weekly[1] == pytest.approx(daily[7:14].mean())
