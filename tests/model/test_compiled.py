"""Compiled model arrays and the competing-risks lift of transition probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cjsim.model.compiled import compile_model, lifted_moves, lifted_row
from cjsim.model.curves import poisson_reach

probs = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=4).filter(lambda p: sum(p) <= 1.0)


@given(probs)
def test_no_lift_leaves_probabilities_unchanged(p):
    moves = np.array(p)
    np.testing.assert_allclose(lifted_moves(moves, np.ones_like(moves)), moves, atol=1e-9)


@given(probs, st.lists(st.floats(0.0, 20.0), min_size=4, max_size=4))
def test_lifted_moves_are_a_distribution_and_monotone(p, m):
    moves = np.array(p)
    mult = np.array(m[: len(p)])
    new = lifted_moves(moves, mult)
    assert (new >= 0).all()
    assert new.sum() <= 1.0 + 1e-12
    # lifting one target more never lowers its probability
    more = mult.copy()
    more[0] += 1.0
    assert lifted_moves(moves, more)[0] >= new[0] - 1e-12


def test_lift_by_hand():
    """p = 0.2 to one target: hazard -log(0.8); doubled: 1 - 0.8**2 = 0.36."""
    assert lifted_moves(np.array([0.2]), np.array([2.0]))[0] == pytest.approx(0.36)
    # two targets share the doubled hazard in proportion
    out = lifted_moves(np.array([0.1, 0.1]), np.array([2.0, 1.0]))
    total = 1 - 0.8**1.5
    assert out == pytest.approx([total * 2 / 3, total / 3])


def test_certain_move_is_reshuffled_not_broken():
    row = np.array([0.0, 0.5, 0.5])
    out = lifted_row(row, 0, np.array([1.0, 3.0, 1.0]))
    assert out.sum() == pytest.approx(1.0)
    assert out[0] == pytest.approx(0.0, abs=1e-9)
    assert out[1] == pytest.approx(0.75, abs=1e-9)


def test_compiled_ecommerce(ecommerce):
    cm = compile_model(ecommerce)
    assert cm.stages == tuple(ecommerce.stages)
    np.testing.assert_allclose(cm.base.sum(axis=2), 1.0)
    assert cm.absorbing[cm.stages.index("lost")]
    assert not cm.absorbing[cm.stages.index("purchase")]
    assert cm.segment_shares.sum() == pytest.approx(1.0)
    # paid reach from the budget, by hand for video (audience = population)
    v = ecommerce.channels["video"]
    reach = poisson_reach(v.daily_budget / v.cost_per_exposure / ecommerce.population, v.max_reach)
    c, g = cm.channels.index("video"), cm.segments.index("mainstream")
    assert cm.exposure[c, g, cm.stages.index("unaware")] == pytest.approx(float(reach))
    assert cm.exposure[c, g, cm.stages.index("decision")] == 0.0  # not a target stage
    # segment affinity multiplies the touch probability
    gp = cm.segments.index("premium")
    assert cm.exposure[c, gp, 0] == pytest.approx(1.2 * float(reach))


def test_mean_field_word_of_mouth_grows_with_advocates(ecommerce):
    cm = compile_model(ecommerce)
    w = cm.mean_field_wom()
    assert w.shape == (cm.steps,)
    assert w[0] == 0.0  # nobody starts as an advocate
    assert w[-1] > w[10] > 0
