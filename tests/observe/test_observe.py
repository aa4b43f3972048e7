"""The observation layer: the perfect profile changes nothing; each loss mechanism's rate,
measured in the output, matches its parameter; ids split and join as documented."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cjsim.events import read_events, read_metadata, validate_events
from cjsim.observe import Profile, load_profile, observe, shipped_profiles, validate_profile
from cjsim.simulate import simulate
from tests.helpers.cli import assert_one_line_error, cjsim
from tests.helpers.models import assert_same_log, shipped

CHANNELS = ("tv", "video", "search", "email")


def synthetic_log(customers: int = 20_000, touches: int = 6, gap: float = 1.0) -> pd.DataFrame:
    """Each customer: ``touches`` touches one day apart (channels in turn), a stage, and a
    conversion; two segments, alternating."""
    per = touches + 2
    cid = np.repeat(np.arange(customers), per)
    step = np.tile(np.arange(per), customers)
    kind = np.where(step < touches, "touch", np.where(step == touches, "stage", "conversion"))
    channel = np.where(kind == "touch", np.array(CHANNELS)[step % len(CHANNELS)], None)
    segment = np.where(cid % 2 == 0, "a", "b")
    return pd.DataFrame(
        {
            "customer_id": cid.astype(np.int64),
            "time": np.minimum(step, touches).astype(float) * gap,
            "event": pd.Categorical(kind, categories=["touch", "stage", "conversion"]),
            "channel": pd.Categorical(channel, categories=list(CHANNELS)),
            "stage": pd.Categorical(np.where(kind == "stage", "purchase", None)),
            "value": np.where(kind == "conversion", 10.0, 0.0),
            "segment": pd.Categorical(segment),
        }
    )


def profile(**sections: object) -> Profile:
    return validate_profile(dict(sections))


def assert_share(hits: int, trials: int, p: float) -> None:
    """A binomial count within 5 standard deviations of its expectation."""
    sd = math.sqrt(trials * p * (1 - p)) or 1e-9
    assert abs(hits - trials * p) <= 5 * sd + 1e-9, (hits, trials, p)


def touches_of(frame: pd.DataFrame, channel: str) -> int:
    return int(((frame["event"] == "touch") & (frame["channel"] == channel)).sum())


@pytest.mark.parametrize("engine", ["markov", "agents"])
def test_perfect_leaves_a_simulated_log_unchanged(engine: str) -> None:
    log = simulate(shipped("ecommerce"), 3_000, engine=engine, rng=5, keep_events=True).events
    seen = observe(log, load_profile("perfect"), seed=1)
    assert_same_log(seen.events, log)
    assert (seen.links["observed_id"] == seen.links["customer_id"]).all()
    assert load_profile("perfect").loses_nothing()


def test_every_shipped_profile_loads_and_says_what_it_is() -> None:
    names = set(shipped_profiles())
    assert {"perfect", "typical_web_2026", "strict_privacy"} <= names
    for name in names:
        chosen = load_profile(name)
        assert chosen.name == name and chosen.description
        assert chosen.loses_nothing() == (name == "perfect")


def test_consent_rates_per_segment_and_kept_conversions() -> None:
    log = synthetic_log()
    chosen = profile(consent={"opt_out": 0.2, "segments": {"b": 0.6}, "keep_conversions": True})
    seen = observe(log, chosen, seed=2)
    cust = seen.customers
    for segment, rate in (("a", 0.2), ("b", 0.6)):
        rows = cust["segment"] == segment
        assert_share(int(cust.loc[rows, "opted_out"].sum()), int(rows.sum()), rate)
    refused = int(cust["opted_out"].sum())
    kinds = seen.events["event"].value_counts()
    assert kinds["touch"] == 6 * (len(cust) - refused)
    assert kinds["stage"] == len(cust) - refused
    assert kinds["conversion"] == len(cust)  # kept server-side
    # a refuser's conversion stands alone under an id without touches
    refusers = set(cust.loc[cust["opted_out"], "customer_id"])
    touched = set(seen.events.loc[seen.events["event"] == "touch", "customer_id"])
    assert refusers.isdisjoint(touched)


def test_channel_rules_clicks_views_and_ad_blockers() -> None:
    log = synthetic_log()
    chosen = profile(
        ad_blockers={"share": 0.3},
        channels=[
            {"pattern": "tv", "in_paths": False},
            {"pattern": "vid*", "click_share": 0.1, "views_tracked": False},
            {"pattern": "search", "blocked_by_ad_blockers": True},
        ],
    )
    seen = observe(log, chosen, seed=3)
    n = touches_of(log, "video")
    assert touches_of(seen.events, "tv") == 0
    assert_share(touches_of(seen.events, "video"), n, 0.1)
    blockers = int(seen.customers["ad_blocker"].sum())
    assert_share(blockers, len(seen.customers), 0.3)
    # search: one touch per customer; blockers lose theirs
    assert touches_of(log, "search") == len(seen.customers)
    assert touches_of(seen.events, "search") == len(seen.customers) - blockers
    assert touches_of(seen.events, "email") == touches_of(log, "email")  # no rule: all kept


def test_conversion_tags_fire_at_their_rate() -> None:
    log = synthetic_log()
    seen = observe(log, profile(conversions={"tracked": 0.8}), seed=4)
    assert_share(int((seen.events["event"] == "conversion").sum()), 20_000, 0.8)
    assert int((seen.events["event"] == "touch").sum()) == 6 * 20_000


def test_devices_split_a_journey_at_the_primary_share() -> None:
    log = synthetic_log(5_000)
    seen = observe(log, profile(ids={"devices": 3, "primary_device_share": 0.7}), seed=5)
    by_device = seen.links.groupby("device")["events"].sum()
    assert_share(int(by_device[0]), len(log), 0.7)
    assert_share(int(by_device[1]), len(log), 0.15)
    assert set(by_device.index) == {0, 1, 2}
    assert by_device.sum() == len(log)


def test_an_unseen_cookie_expires_after_its_lifetime() -> None:
    log = synthetic_log(100, touches=4, gap=1.0)
    gaps = log["time"].to_numpy().copy()
    log["time"] = np.where(gaps >= 2, gaps + 6.5, gaps)  # a 7.5-day gap after the 2nd touch
    seen = observe(log, profile(ids={"cookie_lifetime_days": 7}), seed=6)
    assert (seen.customers["observed_ids"] == 2).all()
    first = seen.links.groupby("customer_id")["observed_id"].min()
    assert (first.index == first.to_numpy()).all()  # the earliest id keeps the number
    assert seen.links["observed_id"].max() == 199  # new ids above the largest, in order
    assert (seen.links.loc[seen.links["observed_id"] >= 100, "events"] == 4).all()


def test_cookie_deletions_follow_a_poisson_rate() -> None:
    log = synthetic_log(20_000, touches=6)  # 6 gaps of one day, then one of no time
    rate = 0.1
    seen = observe(log, profile(ids={"cookie_deletion_per_day": rate}), seed=7)
    renewals = int((seen.customers["observed_ids"] - 1).sum())
    assert_share(renewals, 20_000 * 6, -math.expm1(-rate))


def test_logged_in_customers_keep_one_id_everywhere() -> None:
    log = synthetic_log(2_000)
    ids = {"devices": 3, "primary_device_share": 0.5, "logged_in": 1.0, "cookie_lifetime_days": 0.5}
    seen = observe(log, profile(ids=ids), seed=8)
    assert_same_log(seen.events, log)


def test_the_observed_log_is_a_valid_log_grouped_by_id_in_time_order() -> None:
    log = simulate(shipped("ecommerce"), 3_000, rng=9, keep_events=True).events
    seen = observe(log, load_profile("strict_privacy"), seed=9).events
    validate_events(seen)
    ids = seen["customer_id"].to_numpy()
    assert (np.diff(ids) >= 0).all()
    assert list(seen.columns) == list(log.columns)
    assert all(seen[c].dtype == log[c].dtype for c in log.columns)


def test_one_seed_loses_nested_sets_as_a_rate_grows() -> None:
    log = synthetic_log(5_000)
    kept = []
    for rate in (0.1, 0.3, 0.6):
        seen = observe(log, profile(consent={"opt_out": rate}), seed=10)
        kept.append(set(seen.customers.loc[~seen.customers["opted_out"], "customer_id"]))
    assert kept[0] >= kept[1] >= kept[2]


def test_cli_writes_the_observed_log_links_and_metadata(tmp_path: Path) -> None:
    simulate(shipped("dentist"), 2_000, rng=3, out=tmp_path / "ev.parquet")
    res = cjsim(
        "observe", "ev.parquet", "--profile", "typical_web_2026", "--out", "seen.parquet",
        "--links", "links.csv", "--seed", "4", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "ids" in res.stdout and "recorded" in res.stdout
    seen = read_events(tmp_path / "seen.parquet")
    meta = read_metadata(tmp_path / "seen.parquet")
    assert meta["observed"]["profile"] == "typical_web_2026" and meta["observed"]["seed"] == 4
    links = pd.read_csv(tmp_path / "links.csv")
    assert set(seen["customer_id"]) <= set(links["observed_id"])
    res = cjsim("paths", "seen.parquet", "--out", "paths.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("[consent]\nopt_out = 1.5\n", ("bad.toml", "consent.opt_out", "1.5")),
        ("[ids]\ndevise = 2\n", ("bad.toml", "ids.devise", "unknown key")),
        ("[ids]\nprimary_device_share = 0.5\n", ("ids.primary_device_share", "devices >= 2")),
        ("[[channels]]\nin_paths = false\n", ("channels.0.pattern", "missing")),
        ('[[channels]]\npattern = "a"\n[[channels]]\npattern = "a"\n', ("channels.0", "twice")),
        ("[ads\n", ("bad.toml", "not valid TOML")),
    ],
)
def test_bad_profiles_stop_with_one_line_and_write_nothing(
    tmp_path: Path, text: str, needles: tuple[str, ...]
) -> None:
    synthetic_log(10).to_parquet(tmp_path / "ev.parquet")
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    res = cjsim("observe", "ev.parquet", "--profile", "bad.toml", "--out", "o.pq", cwd=tmp_path)
    assert_one_line_error(res, *needles)
    assert not (tmp_path / "o.pq").exists()


def test_an_observed_log_is_not_observed_again(tmp_path: Path) -> None:
    log = synthetic_log(10)
    log["customer_id"] = log["customer_id"].map("c{}".format)
    log.to_csv(tmp_path / "ev.csv", index=False)
    res = cjsim("observe", "ev.csv", "--profile", "perfect", "--out", "o.csv", cwd=tmp_path)
    assert_one_line_error(res, "customer_id", "integer")
    assert not (tmp_path / "o.csv").exists()
    res = cjsim("observe", "ev.csv", "--profile", "nonesuch", "--out", "o.csv", cwd=tmp_path)
    assert_one_line_error(res, "nonesuch", "perfect, strict_privacy, typical_web_2026")
