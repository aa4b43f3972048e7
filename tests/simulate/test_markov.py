"""The vectorised Markov engine: reproducibility, chunking, common random numbers, counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cjsim.events import COLUMNS, read_events, validate_events
from cjsim.model import validate_model
from cjsim.model.compiled import compile_model
from cjsim.simulate.markov import BLOCK, MARKET, simulate, simulate_frame
from tests.helpers.models import assert_same_log, without_word_of_mouth


def test_same_seed_gives_byte_identical_parquet(ecommerce, tmp_path):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    simulate(ecommerce, 3000, rng=7, out=a)
    simulate(ecommerce, 3000, rng=7, out=b)
    assert a.read_bytes() == b.read_bytes()
    c = tmp_path / "c.parquet"
    simulate(ecommerce, 3000, rng=8, out=c)
    assert a.read_bytes() != c.read_bytes()


def test_chunk_size_does_not_change_the_log(ecommerce):
    n = 3 * BLOCK + 17  # a partial last block
    whole, _ = simulate_frame(ecommerce, n, rng=3, chunk_size=65536)
    small, _ = simulate_frame(ecommerce, n, rng=3, chunk_size=BLOCK)
    odd, _ = simulate_frame(ecommerce, n, rng=3, chunk_size=1500)  # rounded up to 2 blocks
    assert_same_log(whole, small)
    assert_same_log(whole, odd)


def test_more_customers_keep_the_first_customers_journeys(ecommerce):
    """Without word of mouth and binding budgets (what a market's customers share), a
    customer's journey is theirs alone; with them, a whole market keeps its journeys when
    another market is added."""
    paid = [c for c, ch in ecommerce.channels.items() if ch.type == "paid"]
    model = without_word_of_mouth(ecommerce).with_overrides(channels_off=paid)
    few, _ = simulate_frame(model, 500, rng=11)
    many, _ = simulate_frame(model, 2 * BLOCK + 5, rng=11)
    head = many[many.customer_id < 500].reset_index(drop=True)
    assert_same_log(few, head)
    short = ecommerce.with_overrides(horizon_days=4)
    one, _ = simulate_frame(short, MARKET, rng=11)
    two, _ = simulate_frame(short, MARKET + 700, rng=11)
    assert_same_log(one, two[two.customer_id < MARKET].reset_index(drop=True))


def test_generator_and_int_seeds(ecommerce):
    a, sa = simulate_frame(ecommerce, 200, rng=np.random.default_rng(5))
    b, sb = simulate_frame(ecommerce, 200, rng=np.random.default_rng(5))
    assert_same_log(a, b)
    assert sa.seed == sb.seed


def test_log_schema_and_order(ecommerce):
    frame, _ = simulate_frame(ecommerce, 2000, rng=1)
    assert tuple(frame.columns) == COLUMNS
    assert frame["customer_id"].dtype == np.int64
    assert frame["time"].dtype == np.float64
    assert frame["value"].dtype == np.float64
    for col in ("event", "channel", "stage", "segment"):
        assert isinstance(frame[col].dtype, pd.CategoricalDtype), col
    validate_events(frame)  # raises if times go backwards within a customer
    assert (frame.groupby("customer_id")["time"].diff().dropna() >= 0).all()
    assert frame["customer_id"].is_monotonic_increasing
    # every customer starts with a stage event at time 0
    first = frame.groupby("customer_id").head(1)
    assert len(first) == 2000
    assert (first["event"] == "stage").all() and (first["time"] == 0).all()
    touch = frame["event"] == "touch"
    assert frame.loc[touch, "channel"].notna().all()
    assert frame.loc[~touch, "channel"].isna().all()
    conv = frame["event"] == "conversion"
    assert (frame.loc[conv, "value"] > 0).all()
    assert (frame.loc[~conv, "value"] == 0).all()
    # a conversion is always right after entering the conversion stage, at the same time
    idx = np.flatnonzero(conv.to_numpy())
    prev = frame.iloc[idx - 1]
    assert (prev["stage"].astype(str) == ecommerce.conversion).all()
    assert np.array_equal(prev["time"].to_numpy(), frame["time"].to_numpy()[idx])
    assert frame["time"].max() < ecommerce.horizon_days


def test_summary_matches_the_log(ecommerce):
    frame, s = simulate_frame(ecommerce, 3000, rng=2)
    touches = frame[frame.event == "touch"].channel.value_counts()
    for c, n in zip(s.channels, s.touches, strict=True):
        assert touches.get(c, 0) == n
    conv = frame[frame.event == "conversion"]
    assert s.conversions == len(conv)
    assert s.converters == conv.customer_id.nunique()
    assert s.revenue == pytest.approx(conv.value.sum())
    assert s.events == len(frame)
    reached = frame[frame.event == "touch"].groupby("channel", observed=True).customer_id.nunique()
    for c, n in zip(s.channels, s.reached, strict=True):
        assert reached.get(c, 0) == n
    entered = frame[frame.event == "stage"].groupby("stage", observed=True).customer_id.nunique()
    for st, n in zip(s.stages, s.stage_reach, strict=True):
        assert entered.get(st, 0) == n
    # spend is the delivered touches times their cost, within the sample's share of the
    # budgets over the horizon
    cm = compile_model(ecommerce)
    np.testing.assert_allclose(s.spend, s.touches * cm.touch_cost)
    assert (s.spend <= s.budgets * (1 + 1e-9)).all()


def test_segments_follow_their_shares(ecommerce):
    _, s = simulate_frame(ecommerce, 20_000, rng=4)
    shares = np.array([seg.share for seg in ecommerce.segments.values()])
    n = s.segment_customers.sum()
    se = np.sqrt(shares * (1 - shares) / n)
    assert np.all(np.abs(s.segment_customers / n - shares) < 4 * se)


def test_switching_a_channel_off_changes_only_what_depends_on_it(ecommerce):
    """Common random numbers: the same seed with display off.

    Customers display never touched keep identical journeys; the others keep identical
    journeys up to their first display touch. Word of mouth is off: it feeds back on the
    whole market (a true indirect effect), which would change everybody's touch rates.
    """
    model = without_word_of_mouth(ecommerce)
    on, _ = simulate_frame(model, 4000, rng=21)
    off, s_off = simulate_frame(model.with_overrides(channels_off=["display"]), 4000, rng=21)
    assert s_off.touches[s_off.channels.index("display")] == 0
    first_display = (
        on[(on.event == "touch") & (on.channel == "display")].groupby("customer_id").time.min()
    )
    untouched = ~on.customer_id.isin(first_display.index)
    assert untouched.sum() > 100
    assert_same_log(
        on[untouched].reset_index(drop=True),
        off[~off.customer_id.isin(first_display.index)].reset_index(drop=True),
    )
    cut_on = on.customer_id.map(first_display)
    cut_off = off.customer_id.map(first_display)
    before_on = on[cut_on.notna() & (on.time < cut_on)].reset_index(drop=True)
    before_off = off[cut_off.notna() & (off.time < cut_off)].reset_index(drop=True)
    assert_same_log(before_on, before_off)
    # and display mattered for some of the customers it touched
    touched_ids = first_display.index
    assert (
        not on[on.customer_id.isin(touched_ids)]
        .reset_index(drop=True)
        .equals(off[off.customer_id.isin(touched_ids)].reset_index(drop=True))
    )


def test_channel_effect_raises_conversions(ecommerce):
    """Paired runs: paid search on vs off, same seed; its effect is positive."""
    model = without_word_of_mouth(ecommerce)
    _, on = simulate_frame(model, 30_000, rng=5)
    _, off = simulate_frame(model.with_overrides(channels_off=["paid_search"]), 30_000, rng=5)
    assert on.conversions > off.conversions
    assert off.touches[off.channels.index("paid_search")] == 0


def test_budget_override_buys_more_touches(ecommerce):
    _, base = simulate_frame(ecommerce, 5000, rng=9)
    more = ecommerce.with_overrides(budgets={"video": 3 * ecommerce.channels["video"].daily_budget})
    _, boosted = simulate_frame(more, 5000, rng=9)
    i = base.channels.index("video")
    assert boosted.touches[i] > base.touches[i]
    # spend grows in proportion to the budget (each eligible customer-step costs budget /
    # audience), up to who is where: more video moves more people on
    assert boosted.spend[i] == pytest.approx(3 * base.spend[i], rel=0.03)
    # saturation: three times the money buys less than three times the touches
    assert boosted.touches[i] < 3 * base.touches[i]


def test_csv_and_parquet_logs_agree(ecommerce, tmp_path):
    simulate(ecommerce, 800, rng=13, out=tmp_path / "e.parquet")
    simulate(ecommerce, 800, rng=13, out=tmp_path / "e.csv")
    a = read_events(tmp_path / "e.parquet")
    b = read_events(tmp_path / "e.csv")
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.customer_id.to_numpy(), b.customer_id.to_numpy())
    np.testing.assert_allclose(a.time.to_numpy(), b.time.to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.value.to_numpy(), b.value.to_numpy(), rtol=1e-12)
    for col in ("event", "channel", "stage", "segment"):
        assert (a[col].astype("string").fillna("") == b[col].astype("string").fillna("")).all(), col


def test_failed_run_leaves_no_file(ecommerce, tmp_path):
    target = tmp_path / "e.parquet"

    def boom(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        simulate(ecommerce, 2 * BLOCK, rng=1, out=target, chunk_size=BLOCK, progress=boom)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_stops_the_run_and_leaves_no_file(ecommerce, tmp_path, monkeypatch):
    """Chunks are written in the background while the next one is simulated; an error
    writing one is raised by simulate, and the file is not left behind."""
    from cjsim.events import EventWriter

    written = []
    write = EventWriter.write

    def fail_second(self, table):
        if written:
            raise OSError("disk full")
        written.append(table.num_rows)
        write(self, table)

    monkeypatch.setattr(EventWriter, "write", fail_second)
    short = ecommerce.with_overrides(horizon_days=3)
    target = tmp_path / "e.parquet"
    with pytest.raises(OSError, match="disk full"):
        simulate(short, 3 * MARKET, rng=1, out=target, chunk_size=MARKET)
    assert len(written) == 1 and list(tmp_path.iterdir()) == []


def test_engine_transition_probabilities_match_the_chain_formula():
    """One stage, one channel touching everybody every step with no carry-over: the
    engine's move rate must equal cjsim.model.compiled's lifted probability (additive lifts)."""
    from cjsim.model import parse_model
    from cjsim.model.compiled import lifted_moves

    model = parse_model(
        """
name = "lift"
stages = ["a", "b", "lost"]
conversion = "b"
horizon_days = 1
[transitions]
a = { a = 0.8, b = 0.1, lost = 0.1 }
[channels.x]
type = "organic"
rate = { a = 1.0 }
adstock = 0.0
ec = 1.0
effects.a = { lift = 2.0 }
[channels.y]
type = "organic"
rate = { a = 1.0 }
adstock = 0.0
ec = 3.0
effects.a = { lift = 1.0, to = ["b"] }
"""
    )
    n = 200_000
    _, s = simulate_frame(model, n, rng=3)
    # adstock 1 for both: hill = 1/2 for x, 1/4 for y; b gets 1 + 1 + 0.25, lost gets 1 + 1
    p = lifted_moves(np.array([0.1, 0.1]), np.array([2.25, 2.0]))
    assert abs(s.conversions / n - p[0]) < 4 * np.sqrt(p[0] * (1 - p[0]) / n)
    lost = s.stage_reach[s.stages.index("lost")] / n
    assert abs(lost - p[1]) < 4 * np.sqrt(p[1] * (1 - p[1]) / n)


def test_summary_object_renders(textbook):
    _, s = simulate_frame(textbook, 500, rng=1)
    text = s.summary()
    assert "500 customers" in text and f"{s.conversions:,} conversions" in text
    assert "<table" in s._repr_html_()
    assert s.to_frame().empty  # a plain chain has no channels


def test_chunks_larger_than_65536_customers_give_the_same_log():
    """Chunks above 2**16 customers sort with 32-bit keys instead of the radix path."""
    from tests.helpers.models import shipped

    model = shipped("sunscreen").with_overrides(horizon_days=3)
    big, _ = simulate_frame(model, 70_000, rng=4, chunk_size=131_072)
    small, _ = simulate_frame(model, 70_000, rng=4, chunk_size=8192)
    assert_same_log(big, small)


def _occupancy(frame: pd.DataFrame, stages: tuple[str, ...], steps: int, step_days: float):
    """Customers in each stage at the start of each step, from a log: (S, steps)."""
    st = frame[frame.event == "stage"]
    cust = st.customer_id.to_numpy()
    code = st.stage.cat.codes.to_numpy() if hasattr(st.stage, "cat") else None
    names = list(st.stage.cat.categories) if code is not None else None
    index = np.array([stages.index(n) for n in names])[code]
    # a stage entered at time tau holds from step ceil(tau / step) until the next entry
    first = np.ceil(st.time.to_numpy() / step_days - 1e-9).astype(np.int64)
    last = np.r_[first[1:], steps]
    last[np.r_[cust[1:] != cust[:-1], True]] = steps
    occ = np.zeros((len(stages), steps + 1))
    np.add.at(occ, (index, np.minimum(first, steps)), 1)
    np.add.at(occ, (index, np.minimum(last, steps)), -1)
    return np.cumsum(occ, axis=1)[:, :steps]


def test_word_of_mouth_follows_the_simulated_advocates(ecommerce):
    """Referrals per step match the contact rate times the market's own talkers: a listener
    hears at least once with probability 1 - exp(-r n_s / n), n_s the customers in a source
    stage at the step's start (from the simulated log, not a mean-field chain)."""
    data = ecommerce.model_dump(mode="python")
    for seg in data["segments"].values():
        seg["affinity"] = {}
    model = validate_model(data)
    n = 20_000
    frame, _ = simulate_frame(model, n, rng=21)
    cm = compile_model(model)
    occ = _occupancy(frame, cm.stages, cm.steps, cm.step_days)
    talkers = occ[cm.wom_sources].sum(axis=0)
    listeners = occ[cm.wom_targets].sum(axis=0)
    p = -np.expm1(-cm.wom_rate * talkers / n)
    expected, var = float((listeners * p).sum()), float((listeners * p * (1 - p)).sum())
    heard = int((frame.channel == "word_of_mouth").sum())
    assert expected > 1000
    assert abs(heard - expected) < 4 * np.sqrt(var)
    # the old mean-field chain (which the Markov engine no longer uses) overstates them
    mean_field = float((listeners * cm.mean_field_wom()).sum())
    assert mean_field > heard + 6 * np.sqrt(var)


def test_spend_is_capped_by_the_budget_and_the_first_touches_are_paid():
    """A budget that cannot pay for every touch a step delivers the earliest ones: the
    step's spend never passes its budget, and the cap does bind."""
    from tests.helpers.models import shipped

    model = shipped("refrigerator").with_overrides(horizon_days=20)
    frame, s = simulate_frame(model, 30_000, rng=2)
    cm = compile_model(model)
    c = cm.channels.index("paid_search")
    assert s.undelivered[c] > 0
    t = frame[frame.channel == "paid_search"]
    per_step = t.groupby((t.time // cm.step_days).astype(int)).size()
    budget = cm.daily_budget[c] * cm.step_days * 30_000 / model.population
    assert per_step.max() * cm.touch_cost[c] <= budget + cm.touch_cost[c]  # random rounding
    assert s.spend[c] <= (budget + cm.touch_cost[c]) * cm.steps


def test_a_binding_budget_pays_for_the_earliest_touches_of_each_market():
    """Two markets (ids 0-4 and 5-9), padding from 9 on (n = 9): market 0 affords 2 of its
    4 touches, market 1 all 3 of its own; the earliest are paid, padding costs nothing."""
    from cjsim.simulate.markov import _within_budget

    market = np.array([0] * 5 + [1] * 6)
    ids = np.array([0, 1, 3, 4, 5, 7, 8, 9, 10])
    frac = np.array([0.9, 0.1, 0.5, 0.3, 0.2, 0.8, 0.4, 0.0, 0.6], np.float32)
    kept = _within_budget(ids, frac, market, np.array([2.0, 3.0]), 9)
    np.testing.assert_array_equal(ids[kept], [1, 4, 5, 7, 8, 9, 10])
    assert _within_budget(ids, frac, market, np.array([4.0, 3.0]), 9) is None


_DAMPED = """
name = "damped"
stages = ["a", "b", "c", "lost"]
conversion = "c"
horizon_days = 5
[transitions]
a = { a = 0.6, b = 0.3, lost = 0.1 }
b = { b = 0.5, c = 0.45, lost = 0.05 }
[channels.x]
type = "organic"
rate = { a = 0.5, b = 0.5 }
adstock = 0.9
ec = 0.2
slope = 3.0
effects.a = { lift = 50.0 }
effects.b = { lift = -0.9, to = ["c"] }
[channels.y]
type = "organic"
rate = { a = 0.5, b = 0.5 }
adstock = 0.3
ec = 2.0
slope = 0.5
effects.a = { lift = -1.0, to = ["b"] }
effects.b = { lift = -0.8 }
"""


@pytest.mark.parametrize("name", ["ecommerce", "b2b_saas", "trap_word_of_mouth", "damped"])
def test_no_chance_of_moving_reaches_its_cells_bound(name):
    """The engine works out the exact chances of moving only for customers whose draw is
    below their cell's bound, so no adstock may take a chance to the bound: from none to
    far more than a customer can carry, lifts above 1,000-fold or cancelling below 0."""
    from cjsim.model import parse_model
    from cjsim.simulate.markov import _lifted_thresholds
    from cjsim.simulate.plan import Plan
    from tests.helpers.models import shipped

    model = parse_model(_DAMPED) if name == "damped" else shipped(name)
    plan = Plan(compile_model(model))
    rng = np.random.default_rng(0)
    levels = np.r_[0.0, 1e-45, 1e-20, 1e-6, 0.01, 0.5, 1, 3, 10, 1e3, 1e6, 1e12].astype(np.float32)
    for sp in plan.plans:
        g = np.repeat(np.arange(plan.G), 2000)
        bound = plan.move_bound[g * plan.S + sp.stage]
        if sp.lifted:
            adstock = {c: rng.choice(levels, g.size) for c, *_ in sp.effects}
            cum = _lifted_thresholds(sp, g, adstock)
        else:
            cum = sp.cum[g]
        assert (cum.max(axis=1) <= bound).all()
        if not sp.lifted:  # and no looser than it must be
            assert (bound <= cum[:, -1] * (1 + 1e-6)).all()
    stays = ~np.isin(np.arange(plan.S), [sp.stage for sp in plan.plans])
    assert not plan.move_bound.reshape(plan.G, plan.S)[:, stays].any()  # no one leaves


def test_drawing_ahead_in_a_thread_gives_the_same_numbers(ecommerce):
    """The next step's uniforms drawn in a thread (a spare core, no log writer) or when
    they are needed (a pool worker, or beside the writer): the same events."""
    from cjsim.simulate.markov import iter_event_chunks

    model = ecommerce.with_overrides(horizon_days=30)
    ahead, inline = (
        list(iter_event_chunks(model, 70_000, rng=3, chunk_size=65_536, draw_ahead=flag))
        for flag in (True, False)
    )
    assert len(ahead) == len(inline) == 2
    for (a, _), (b, _) in zip(ahead, inline, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert np.array_equal(a[key], b[key]), key
