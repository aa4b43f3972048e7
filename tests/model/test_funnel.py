"""The analytic funnel (fundamental matrix) against hand-solved chains and simulation."""

from __future__ import annotations

import numpy as np
import pytest

from cjsim.model import parse_model
from cjsim.model.funnel import absorbing_chain, funnel
from cjsim.simulate.markov import simulate_frame
from tests.helpers.models import without_word_of_mouth

DRUNKARD = """
name = "drunkard"
[chain]
conversion = "home"
initial = "corner2"
transitions.corner1 = { bar = 0.5, corner2 = 0.5 }
transitions.corner2 = { corner1 = 0.5, corner3 = 0.5 }
transitions.corner3 = { corner2 = 0.5, home = 0.5 }
"""


def test_textbook_chain_by_hand(textbook):
    """Q = [[.5, .3], [0, .4]] so N = (I - Q)^-1 = [[2, 1], [0, 5/3]] (worked by hand).

    B = N R with R = [[0, .2], [.4, .2]] (purchase, lost): from awareness 0.4 converts,
    from consideration 2/3; expected steps N 1 = [3, 5/3].
    """
    res = funnel(textbook)
    t = res.table.set_index("stage")
    assert t.loc["awareness", "p_conversion"] == pytest.approx(0.4)
    assert t.loc["consideration", "p_conversion"] == pytest.approx(2 / 3)
    assert t.loc["awareness", "p_lost"] == pytest.approx(0.6)
    assert t.loc["awareness", "expected_steps"] == pytest.approx(3.0)
    assert t.loc["consideration", "expected_steps"] == pytest.approx(5 / 3)
    assert t.loc["consideration", "p_reach"] == pytest.approx(0.6)  # 0.3 / (1 - 0.5)
    assert res.p_conversion == pytest.approx(0.4)
    assert not res.approximate


def test_drunkards_walk():
    """Grinstead & Snell (1997), Introduction to Probability, Example 11.13/11.15.

    Walk on 0..4 with absorbing ends, steps of +-1 with probability 1/2: from 1, 2, 3 the
    probability of ending at 4 is 1/4, 1/2, 3/4 and the expected steps are 3, 4, 3.
    """
    res = funnel(parse_model(DRUNKARD))
    t = res.table.set_index("stage")
    assert t.loc[["corner1", "corner2", "corner3"], "p_conversion"].tolist() == pytest.approx(
        [0.25, 0.5, 0.75]
    )
    assert t.loc[["corner1", "corner2", "corner3"], "expected_steps"].tolist() == pytest.approx(
        [3, 4, 3]
    )


def test_absorbing_chain_matrix_identities():
    P = np.array(
        [[0.2, 0.5, 0.1, 0.2], [0.1, 0.3, 0.4, 0.2], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float
    )
    ch = absorbing_chain(P, np.array([False, False, True, True]))
    Q = P[:2, :2]
    np.testing.assert_allclose(ch.fundamental @ (np.eye(2) - Q), np.eye(2), atol=1e-12)
    np.testing.assert_allclose(ch.absorption.sum(axis=1), 1.0)
    np.testing.assert_allclose(ch.expected_steps, ch.fundamental.sum(axis=1))


def test_a_closed_class_without_exit_counts_as_absorbing():
    # 0 -> {1, 2}; 1 <-> 3 forever; 2 absorbing: 1 and 3 can never be absorbed
    P = np.array([[0, 0.5, 0.5, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]], dtype=float)
    ch = absorbing_chain(P, np.array([False, False, True, False]))
    assert ch.transient.tolist() == [0]
    np.testing.assert_allclose(ch.absorption, [[0.5, 0.5, 0.0]])


def _absorption_steps(frame, absorbing):
    """Per customer: the absorbing stage reached and the number of steps it took."""
    st = frame[(frame.event == "stage") & frame.stage.isin(absorbing)]
    # a stage event of step t lies in [t + 0.5, t + 1): it took t + 1 steps
    return st.groupby("customer_id").agg(stage=("stage", "first"), time=("time", "first"))


@pytest.mark.parametrize("name", ["textbook", "drunkard"])
def test_simulated_chain_agrees_with_fundamental_matrix(textbook, name):
    """Absorption frequencies and mean steps within 4 standard errors (n = 40,000).

    The standard error of the mean steps uses the exact variance of the absorption time,
    Var = (2N - I) t - t^2 (Kemeny & Snell 1960, Theorem 3.3.5).
    """
    model = textbook if name == "textbook" else parse_model(DRUNKARD)
    n = 40_000
    frame, _ = simulate_frame(model, n, rng=123)
    res = funnel(model)
    start = model.initial_distribution
    (s0,) = start
    absorbing = [model.conversion, *[s for s in model.absorbing_stages() if s != model.conversion]]
    out = _absorption_steps(frame, absorbing)
    assert len(out) == n  # the horizon is long enough for everyone to be absorbed
    p = res.table.set_index("stage").loc[s0, "p_conversion"]
    p_hat = (out.stage == model.conversion).mean()
    assert abs(p_hat - p) < 4 * np.sqrt(p * (1 - p) / n)

    from cjsim.model.compiled import compile_model

    cm = compile_model(model)
    P = cm.base[0]
    ch = absorbing_chain(P, cm.absorbing)
    t = ch.expected_steps
    var = (2 * ch.fundamental - np.eye(len(t))) @ t - t**2
    i = int(np.flatnonzero(ch.transient == cm.stages.index(s0))[0])
    steps = np.ceil(out.time.to_numpy())
    assert abs(steps.mean() - t[i]) < 4 * np.sqrt(var[i] / n)


def test_journey_model_without_channels_matches_simulation_within_horizon(ecommerce):
    """With every channel off the average chain is the exact chain: the share of customers
    who convert within the horizon agrees with the analytic value (4 standard errors)."""
    model = without_word_of_mouth(ecommerce).with_overrides(channels_off=list(ecommerce.channels))
    res = funnel(model)
    n = 60_000
    _, s = simulate_frame(model, n, rng=77)
    p = res.p_conversion_horizon
    assert abs(s.converters / n - p) < 4 * np.sqrt(p * (1 - p) / n)
    reach = res.table.set_index("stage")["p_reach"]
    # reaching decision within the horizon can only be rarer than reaching it ever
    assert s.stage_reach[model.stages.index("decision")] / n <= reach["decision"] + 4 * np.sqrt(
        reach["decision"] / n
    )


def test_average_chain_rows_are_distributions(ecommerce):
    from cjsim.model.compiled import compile_model

    cm = compile_model(ecommerce)
    P = cm.average_chain()
    np.testing.assert_allclose(P.sum(axis=2), 1.0, atol=1e-12)
    assert (P >= 0).all()
    # marketing only lifts: with channels on, conversion is more likely than with them off
    off = funnel(ecommerce.with_overrides(channels_off=list(ecommerce.channels)))
    on = funnel(ecommerce)
    assert on.p_conversion > off.p_conversion
    assert on.approximate and on.notes
