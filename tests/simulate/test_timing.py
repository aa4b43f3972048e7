"""Budget flighting and arrivals over time, in both engines: a flat plan is the old world
to the bit, levels buy what their budget buys, customers enter on their day and not before,
and spend is each touch at its step's cost wherever it is counted."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cjsim.model import JourneyModel, validate_model
from cjsim.model.compiled import compile_model
from cjsim.model.reach import paid_reach
from cjsim.model.timing import arrival_weights
from cjsim.panel import build_panel
from cjsim.simulate.agents import simulate_agents_frame
from cjsim.simulate.markov import simulate_frame
from tests.helpers.models import assert_same_log, shipped

ENGINES = {
    "markov": lambda m, n, seed: simulate_frame(m, n, rng=seed)[:2],
    "agents": lambda m, n, seed: simulate_agents_frame(m, n, rng=seed)[:2],
}

LEVELS = [1.6, 0.2, 1.2, 0.0, 1.8, 0.6]


def with_timing(
    model: JourneyModel,
    *,
    flighting: dict | None = None,
    arrivals: dict | None = None,
    channel: str = "paid_search",
) -> JourneyModel:
    data = model.model_dump(mode="python")
    if flighting is not None:
        data["channels"][channel]["flighting"] = flighting
    if arrivals is not None:
        data["arrivals"] = arrivals
    return validate_model(data)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_a_flat_plan_and_arrivals_all_on_day_0_are_the_old_world_to_the_bit(engine):
    model = shipped("ecommerce")  # paid and organic channels, segments, word of mouth
    run = ENGINES[engine]
    n = 2500 if engine == "markov" else 600
    plain, s0 = run(model, n, 4)
    flat = with_timing(model, flighting={"period_days": 7, "levels": [1.0]},
                       arrivals={"over_days": 1.0})  # fmt: skip
    assert flat.content_hash() != model.content_hash()
    log, s1 = run(flat, n, 4)
    assert_same_log(plain, log)
    np.testing.assert_allclose(s1.spend, s0.spend, rtol=1e-12)


def test_each_step_buys_what_its_budget_buys():
    model = with_timing(shipped("trap_upper_funnel"), channel="tv",
                        flighting={"period_days": 7, "levels": LEVELS})  # fmt: skip
    cm = compile_model(model)
    c = cm.channels.index("tv")
    tv = model.channels["tv"]
    for t in (0, 7, 14, 21, 28):
        reach, cost = paid_reach(model, tv, tv.daily_budget * LEVELS[t // 7])
        assert cm.step_exposure[c][t, 0, 0] == pytest.approx(reach)  # unaware targeted
        assert cm.step_touch_cost[c, t] == pytest.approx(cost)
    assert (cm.step_exposure[c][21:28] == 0).all()  # level 0: off
    # the measured chance of a touch, week by week, matches the reach (binomial test)
    frame, summary = simulate_frame(model, 40_000, rng=2)
    start = frame.groupby("customer_id").head(1)
    unaware = set(start.loc[start["stage"] == "unaware", "customer_id"])
    first = frame[(frame["event"] == "touch") & (frame["channel"] == "tv") & (frame["time"] < 1)]
    hits = first["customer_id"].isin(unaware).sum()
    p = cm.step_exposure[c][0, 0, 0]
    assert stats.binomtest(int(hits), len(unaware), p).pvalue > 1e-3
    touches = frame[(frame["event"] == "touch") & (frame["channel"] == "tv")]
    week = (touches["time"] // 7).astype(int)
    assert (week == 3).sum() == 0  # nothing on a level-0 week
    # spend: each touch at its step's cost, in the summary and in the panel
    steps = cm.step_of(touches["time"].to_numpy())
    assert summary.spend[c] == pytest.approx(cm.step_touch_cost[c, steps].sum(), rel=1e-12)
    panel = build_panel(frame, model, "week").frame
    assert panel["spend_tv"].sum() == pytest.approx(summary.spend[c], rel=1e-9)
    assert summary.budgets[c] == pytest.approx(
        tv.daily_budget * cm.budget_level[c].sum() * 40_000 / model.population
    )


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_customers_enter_on_their_day_and_nothing_happens_before(engine):
    arrivals = {"amplitude": 0.6, "period_days": 30.0, "peak_day": 10.0, "initial_share": 0.1}
    model = with_timing(shipped("trap_upper_funnel"), arrivals=arrivals)
    n = 30_000 if engine == "markov" else 6_000
    frame, _ = ENGINES[engine](model, n, 3)
    first = frame.groupby("customer_id").head(1)
    assert (first["event"] == "stage").all()  # everyone's first row is their entry
    day = first["time"].to_numpy()
    assert np.all(day == np.floor(day))  # at the start of their day
    # the days follow the arrival weights (chi-square over the horizon)
    w = arrival_weights(model.arrivals, model.steps, model.step_days)
    seen = np.bincount(day.astype(int), minlength=model.steps)
    assert stats.chisquare(seen, w * n).pvalue > 1e-3
    assert seen[0] == pytest.approx(n * w[0], rel=0.15) and w[0] > 0.1


def test_the_engines_agree_on_a_flighted_market_with_arrivals():
    model = shipped("flighted_market")
    _, markov = simulate_frame(model, 40_000, rng=1)
    _, agents = simulate_agents_frame(model, 40_000, rng=1)[:2]
    np.testing.assert_allclose(agents.spend, markov.spend, rtol=0.05)
    assert agents.conversions == pytest.approx(markov.conversions, rel=0.06)


def test_word_of_mouth_reaches_no_one_before_they_arrive():
    model = with_timing(shipped("trap_word_of_mouth"), arrivals={"initial_share": 0.2})
    for frame in (simulate_frame(model, 8_000, rng=5)[0],
                  simulate_agents_frame(model, 3_000, rng=5)[0]):  # fmt: skip
        stages = frame[frame["event"] == "stage"]
        entry = stages.groupby("customer_id")["time"].min()  # the day they arrived
        arrived = frame["customer_id"].map(entry)
        heard = frame[(frame["event"] == "touch") & (frame["channel"] == "word_of_mouth")]
        assert len(heard) > 100  # people talk in this world
        assert not (frame["time"] < arrived).any()  # no row before the customer's arrival


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"channels": {"email": {"flighting": {"levels": [1.0]}}}}, "channels.email.flighting"),
        ({"channels": {"tv": {"flighting": {"levels": []}}}}, "channels.tv.flighting.levels"),
        ({"channels": {"tv": {"flighting": {"levels": [-1.0]}}}}, "channels.tv.flighting.levels"),
        ({"channels": {"tv": {"flighting": {"period_days": 0.5, "levels": [1.0]}}}},
         "channels.tv.flighting.period_days"),
        ({"arrivals": {"over_days": 400.0}}, "arrivals.over_days"),
        ({"arrivals": {"amplitude": 2.0}}, "arrivals.amplitude"),
        ({"arrivals": {"initial_share": 1.0}}, "arrivals.initial_share"),
    ],
)  # fmt: skip
def test_bad_timing_sections_name_their_key(patch, key):
    from cjsim.errors import ModelError

    data = shipped("trap_upper_funnel").model_dump(mode="python")
    for section, value in patch.items():
        if section == "channels":
            for name, fields in value.items():
                data["channels"][name].update(fields)
        else:
            data[section] = value
    with pytest.raises(ModelError) as err:
        validate_model(data, source="m.toml")
    assert key in str(err.value)


def test_customers_who_start_settled_still_arrive_whatever_the_chunks():
    """Nothing more can happen to a customer who starts in a settled stage, but they are
    in the log from their day on: the chunk does not stop before everyone has arrived."""
    data = shipped("trap_upper_funnel").model_dump(mode="python")
    data["initial"] = {"awareness": 0.02, "lost": 0.98}
    data["arrivals"] = {"initial_share": 0.0}
    model = validate_model(data)
    n = 65_536 + 3_000  # two markets
    small, _ = simulate_frame(model, n, rng=1, chunk_size=65_536)
    big, _ = simulate_frame(model, n, rng=1, chunk_size=131_072)
    assert small["customer_id"].nunique() == n
    assert_same_log(small, big)
    agents, _ = simulate_agents_frame(model, 3_000, rng=1)[:2]
    assert agents["customer_id"].nunique() == 3_000


def test_arrival_weights_share_a_step_the_span_cuts():
    from cjsim.model.timing import Arrivals

    np.testing.assert_allclose(arrival_weights(Arrivals(over_days=10.0), 2, 7.0), [0.7, 0.3])
    w = arrival_weights(Arrivals(initial_share=0.5), 4, 1.0)
    np.testing.assert_allclose(w, [0.625, 0.125, 0.125, 0.125])
