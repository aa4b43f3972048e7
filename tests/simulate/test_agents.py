"""The agent-based engine: reproducibility, agreement with the Markov engine, queueing
theory, word of mouth, caps, common random numbers and its model-file sections."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from cjsim.errors import ModelError
from cjsim.events import STAGE
from cjsim.model import load_model, parse_model, validate_model
from cjsim.model.compiled import compile_model
from cjsim.simulate import simulate
from cjsim.simulate.agents import (
    customer_keys,
    keyed_uniforms,
    simulate_agents,
    simulate_agents_frame,
    uniform,
)
from cjsim.simulate.agents.keyed_random import key_uniform
from cjsim.simulate.agents.world import World
from tests.helpers.models import MODELS, assert_same_log, shipped, without_word_of_mouth

HERE = Path(__file__).parent / "models"


def no_agent_sections(model):
    data = model.model_dump(mode="python")
    data["capacity"], data["network"] = {}, None
    for ch in data["channels"].values():
        ch["schedule"] = None
    return validate_model(data)


def test_counter_based_draws_are_uniform_and_vectorised():
    u = keyed_uniforms(customer_keys(7, np.arange(200_000)), 3, 5)
    assert 0 < u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.003 and abs(u.var() - 1 / 12) < 0.001
    assert uniform(7, 12345, 3, 5) == u[12345]
    assert uniform(7, 12345, 3, 6) != u[12345]
    # one counter per customer (the k-th conversion value), and the seed's large keys
    ids, ks = np.array([0, 5, 12345, 199_999]), np.array([0, 3, 5, 2**40])
    seed = 2**64 - 3
    assert keyed_uniforms(customer_keys(seed, ids), 9, ks).tolist() == [
        uniform(seed, int(i), 9, int(k)) for i, k in zip(ids, ks, strict=True)
    ]
    # the engine's scalar draws start from kept per-customer keys: the same numbers
    world = World(compile_model(shipped("dentist")), 50, seed)
    expected = keyed_uniforms(customer_keys(seed, np.arange(50)), 4, 7).tolist()
    assert [key_uniform(world.customers.key_list[i], 4, 7) for i in range(50)] == expected


def test_simpy_private_fields_only_in_the_adapter():
    """simpy's underscore attributes are read or set in simpy_adapter alone (it says why)."""
    import re

    import cjsim.simulate.agents as package

    private = re.compile(r"\b(?:event|ev|env|self\.env|timeout|request)\._[a-z]")
    for path in Path(package.__file__).parent.glob("*.py"):
        if path.name != "simpy_adapter.py":
            text = path.read_text(encoding="utf-8")
            assert not private.search(text), path.name
            assert "URGENT" not in text, path.name


def test_same_seed_same_log():
    model = shipped("dentist").with_overrides(horizon_days=60)
    a, _, _ = simulate_agents_frame(model, 2000, rng=4)
    b, _, _ = simulate_agents_frame(model, 2000, rng=4)
    c, _, _ = simulate_agents_frame(model, 2000, rng=5)
    assert_same_log(a, b)
    assert not a.equals(c)


def two_sample_z(x1: float, x2: float, n: int) -> float:
    p = (x1 + x2) / (2 * n)
    return abs(x1 - x2) / math.sqrt(2 * n * p * (1 - p))


def engines_agree(model, n: int, seed: int):
    """Run both engines; every stage reach and the conversions agree (|z| < 4)."""
    a, _ = simulate_agents(model, n, rng=seed)
    m = simulate(model, n, rng=seed).summary
    for x1, x2 in zip(a.stage_reach, m.stage_reach, strict=True):
        assert two_sample_z(x1, x2, n) < 4, (a.stage_reach, m.stage_reach)
    assert two_sample_z(a.converters, m.converters, n) < 4
    return a, m


def test_agrees_with_the_markov_engine_without_effects():
    """Same transitions, touches at the same expected count per stage visit: stage reach
    and conversion agree (two-sample z-tests at a fixed seed, |z| < 4)."""
    model = load_model(HERE / "agreement.toml")
    data = model.model_dump(mode="python")
    for ch in data["channels"].values():
        ch["effects"] = {}
    model = validate_model(data)
    a, m = engines_agree(model, 20_000, seed=11)
    ratio = a.touches / m.touches
    assert np.all(np.abs(ratio - 1) < 0.05), ratio


def test_agrees_with_the_markov_engine_with_effects():
    """With channel effects too (strong lifts, about 10 touches per customer): a day's
    touches weigh on that day's hazards in both engines, so stage reach and conversion
    agree (|z| < 4), and the channels matter (switching them off loses > 20%)."""
    model = load_model(HERE / "agreement.toml")
    n = 10_000
    a, _ = engines_agree(model, n, seed=3)
    off, _ = simulate_agents(model.with_overrides(channels_off=["video", "search"]), n, rng=3)
    assert a.converters > off.converters * 1.2


def test_single_server_queue_matches_mm1():
    """Arrivals about 10 a day, service 0.06 days: rho = 0.6 and the mean wait in the
    queue is rho / (mu - lambda) (M/M/1), with lambda measured from the run."""
    model = load_model(HERE / "queue.toml")
    _, stats = simulate_agents(model, 40_000, rng=2)
    row = stats.resources.iloc[0]
    lam = row["served"] / 60.0
    mu = 1 / 0.06
    wq = (lam / mu) / (mu - lam)
    assert row["mean_wait_days"] == pytest.approx(wq, rel=0.2)
    assert row["utilisation"] == pytest.approx(lam / mu, rel=0.1)


def test_patience_sends_waiting_customers_to_lost():
    data = load_model(HERE / "queue.toml").model_dump(mode="python")
    data["capacity"]["desk"].update(service_days=0.2, patience_days=0.3)  # overloaded
    model = validate_model(data)
    frame, _, stats = simulate_agents_frame(model, 20_000, rng=1)
    row = stats.resources.iloc[0]
    assert row["timed_out"] > 0 and row["max_wait_days"] <= 0.3 + 1e-9
    lost = frame[(frame.event == "stage") & (frame.stage == "lost")]
    assert len(lost) == row["timed_out"]


def test_word_of_mouth_follows_the_contact_rate():
    base = shipped("dentist").with_overrides(horizon_days=120)

    def referrals(rate: float) -> int:
        data = base.model_dump(mode="python")
        data["word_of_mouth"]["contact_rate"] = rate
        data["initial"] = {"unaware": 0.6, "toothache": 0.1, "research": 0.1, "loyal": 0.2}
        _, stats = simulate_agents(validate_model(data), 3000, rng=6)
        return stats.word_of_mouth_touches

    assert referrals(0.0) == 0
    one, two = referrals(0.5), referrals(1.0)
    assert one > 0 and two > 1.5 * one


def test_conversations_are_poisson_at_the_contact_rate_while_in_a_source_stage():
    """Conversations are drawn a day at a time; their number must still be the contact
    rate times the time customers (with contacts) spend in source stages, spells that start
    and end during a day included."""
    data = shipped("dentist").with_overrides(horizon_days=60).model_dump(mode="python")
    data["initial"] = {"unaware": 0.6, "toothache": 0.1, "research": 0.1, "loyal": 0.2}
    data["transitions"]["loyal"] = {"loyal": 0.9, "treatment": 0.05, "advocate": 0.05}
    model = validate_model(data)
    world = World(compile_model(model), 3000, 11)
    world.run()
    log = world.arrays()
    stages = log["event"] == STAGE  # ordered by customer and time
    who, t, stage = log["customer_id"][stages], log["time"][stages], log["stage"][stages]
    until = np.append(t[1:], 0.0)
    last = np.append(who[1:] != who[:-1], True)
    until[last] = 60.0
    source = np.isin(stage, [model.stages.index("loyal"), model.stages.index("advocate")])
    talkers = world.word_of_mouth.network.degree[who] > 0
    expected = 0.5 * float(((until - t) * (source & talkers)).sum())
    assert expected > 2000
    assert abs(world.word_of_mouth.conversations - expected) < 4 * math.sqrt(expected)


def test_conversations_keep_the_contact_rate_when_spells_start_and_end_often():
    """Customers who talk in B move between A and B about three times a day: each new
    talking spell starts with a fresh wait (reusing the wait a spell left behind, known to
    outlast its day, cut the conversations to a quarter)."""
    model = validate_model(
        {
            "name": "churn", "stages": ["A", "B", "buy"], "conversion": "buy",
            "initial": {"A": 0.5, "B": 0.5}, "horizon_days": 20,
            "transitions": {"A": {"A": 0.05, "B": 0.95},
                            "B": {"B": 0.05, "A": 0.94, "buy": 0.01}},
            "channels": {"wom": {"type": "organic", "adstock": 0.5}},
            "word_of_mouth": {"channel": "wom", "contact_rate": 2.0, "sources": ["B"],
                              "targets": ["A"]},
            "network": {"degree": 4},
        }
    )  # fmt: skip
    world = World(compile_model(model), 600, 3)
    world.run()
    log = world.arrays()
    stages = log["event"] == STAGE
    who, t, stage = log["customer_id"][stages], log["time"][stages], log["stage"][stages]
    until = np.append(t[1:], 0.0)
    until[np.append(who[1:] != who[:-1], True)] = world.horizon
    talkers = world.word_of_mouth.network.degree[who] > 0
    expected = 2.0 * float(((until - t) * ((stage == 1) & talkers)).sum())
    assert expected > 5000
    assert abs(world.word_of_mouth.conversations - expected) < 4 * math.sqrt(expected)
    assert world.word_of_mouth.touches > 0


def test_caps_are_never_exceeded():
    data = shipped("dentist").with_overrides(horizon_days=60).model_dump(mode="python")
    data["channels"]["social_ads"]["schedule"] = {"frequency_cap": 2}
    data["channels"]["search_ads"]["daily_budget"] = 10.0  # 5 clicks a day for 50,000
    model = validate_model(data)
    n = 10_000
    frame, _, stats = simulate_agents_frame(model, n, rng=8)
    touches = frame[frame.event == "touch"]
    social = touches[touches.channel == "social_ads"]
    per_week = social.groupby([social.customer_id, (social.time // 7).astype(int)]).size()
    assert per_week.max() <= 2 and stats.capped_by_frequency > 0
    search = touches[touches.channel == "search_ads"]
    # a day's budget pays for 10 / cost touches of the population, rounded at random
    cap = math.ceil(10.0 / compile_model(model).touch_cost[0] * n / model.population)
    assert search.groupby(search.time.astype(int)).size().max() <= cap
    # ads on weekdays only: no search ad on days 5 and 6 of each week
    assert not (search.time.astype(int) % 7 >= 5).any()


def test_common_random_numbers():
    """Without word of mouth, queues and binding budget caps (which connect customers),
    switching a channel off changes exactly the journeys of the customers it reached."""
    data = (
        without_word_of_mouth(no_agent_sections(shipped("dentist")))
        .with_overrides(horizon_days=90, budgets={"search_ads": 6000.0})
        .model_dump(mode="python")
    )
    data["channels"]["search_ads"]["audience"] = None  # the whole town: the budget never binds
    data["channels"]["social_ads"]["daily_budget"] *= 50  # saturated: its budget is ample
    model = validate_model(data)
    on, summary, _ = simulate_agents_frame(model, 4000, rng=9)
    assert not summary.undelivered.any()
    off, _, _ = simulate_agents_frame(model.with_overrides(channels_off=["reviews"]), 4000, rng=9)
    assert not (off.channel == "reviews").any()
    reached = set(on.loc[on.channel == "reviews", "customer_id"])
    cols = ["customer_id", "time", "event", "channel", "stage", "value"]
    a = on.loc[~on.customer_id.isin(reached), cols].reset_index(drop=True)
    b = off.loc[~off.customer_id.isin(reached), cols].reset_index(drop=True)
    assert_same_log(a, b)


BAD = {
    "negative_servers": ("servers = 14", "servers = -1", "capacity.chairs.servers"),
    "negative_patience": ("patience_days = 10 ", "patience_days = -2 ", "patience_days"),
    "unknown_stage": ('stage = "treatment"', 'stage = "surgery"', "unknown stage 'surgery'"),
    "schedule_backwards": ("weekdays = [0, 1, 2, 3, 4]", "start_day = 30\nend_day = 10",
                           "ends (day 10) before it starts (day 30)"),
    "negative_degree": ("degree = 12", "degree = -3", "network.degree"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_agent_sections(case):
    old, new, needle = BAD[case]
    text = (MODELS / "dentist.toml").read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(ModelError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        parse_model(text.replace(old, new, 1), source="dentist.toml")


def test_bad_agent_section_on_the_command_line(tmp_path):
    from tests.helpers.cli import assert_one_line_error, cjsim

    text = (MODELS / "dentist.toml").read_text(encoding="utf-8")
    (tmp_path / "d.toml").write_text(text.replace("servers = 14", "servers = 0", 1))
    res = cjsim("simulate", "d.toml", "--engine", "agents", "--out", "e.parquet", cwd=tmp_path)
    assert_one_line_error(res, "d.toml", "capacity.chairs.servers")
    assert not (tmp_path / "e.parquet").exists()


def test_a_budget_that_buys_a_fraction_of_a_touch_a_day_is_spent_on_average():
    """2,000 customers of 200,000: the SDRs' budget buys 4.67 touches a (weekly) step; the
    cap is rounded up or down at random in proportion, so over the weeks it binds the
    touches delivered average 4.67, not 4."""
    model = shipped("b2b_saas").with_overrides(horizon_days=364)
    world = World(compile_model(model), 2000, 1)
    c = world.compiled.channels.index("sdr_outbound")
    exact = world.campaigns.exact_affordable[c]
    caps = [world.campaigns.affordable(c, day) for day in range(52)]
    assert set(caps) == {math.floor(exact), math.ceil(exact)}
    assert abs(np.mean(caps) - exact) < 4 * 0.5 / math.sqrt(52)


def test_only_delivered_touches_count_towards_the_frequency_cap():
    """A customer the day's budget leaves out has not been touched: their weekly count
    stays as it was (the count of each customer's touches this week, in the log)."""
    data = shipped("dentist").with_overrides(horizon_days=20).model_dump(mode="python")
    data["channels"]["social_ads"]["schedule"] = {"frequency_cap": 3}
    data["channels"]["social_ads"]["daily_budget"] = 2.0  # far fewer touches than hits
    world = World(compile_model(validate_model(data)), 5000, 3)
    world.run()
    assert world.campaigns.capped_by_budget > 0
    c = world.compiled.channels.index("social_ads")
    arrays = world.arrays()
    week = world.campaigns.week_counted[c].max()
    touched = (arrays["channel"] == c) & (arrays["time"] // 7 == week)
    counts = np.bincount(arrays["customer_id"][touched], minlength=5000)
    current = world.campaigns.week_counted[c] == week
    assert (world.campaigns.week_touches[c][current] == counts[current]).all()
