"""Ground truth by counterfactual runs with common random numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cjsim.model import load_model
from cjsim.simulate import simulate_frame
from cjsim.simulate.truth import ground_truth
from tests.helpers.models import shipped, without_word_of_mouth

MODELS = Path(__file__).parent / "models"


def test_additive_world_increments_equal_shapley():
    """Two channels lift one rare transition independently: effects add up, so what the
    increments double count is zero within its standard error, and each increment
    equals its Shapley value within the standard errors."""
    g = ground_truth(load_model(MODELS / "additive.toml"), 40_000, rng=5, workers=1)
    assert abs(g.totals["increments_minus_caused"]) < 3 * g.totals["increments_minus_caused_se"]
    diff = g.incremental.conversions - g.shapley.conversions
    assert (diff.abs() < 3 * g.totals["increments_minus_caused_se"] + 1).all()
    assert (g.incremental.conversions > 5 * g.incremental.conversions_se).all()


def test_interaction_world_increments_exceed_shapley():
    """tv makes people aware, search converts the aware: complements. Each increment
    counts the joint effect in full, Shapley shares it: increments > Shapley."""
    g = ground_truth(load_model(MODELS / "interaction.toml"), 40_000, rng=5, workers=1)
    gap, se = g.totals["increments_minus_caused"], g.totals["increments_minus_caused_se"]
    assert gap > 4 * se
    for c in ("tv", "search"):
        assert g.incremental.conversions[c] > g.shapley.conversions[c]
    # efficiency: Shapley values add up to what all channels together caused
    caused = g.totals["conversions_all_on"] - g.totals["conversions_all_off"]
    assert g.shapley.conversions.sum() == pytest.approx(caused)


def test_zero_effect_channel_has_zero_truth():
    """'banner' reaches 80% of people and changes nothing: exactly 0 with CRN."""
    g = ground_truth(load_model(MODELS / "interaction.toml"), 20_000, rng=2, workers=1)
    assert g.incremental.conversions["banner"] == 0
    assert g.shapley.conversions["banner"] == 0
    assert g.shares()["banner"] == 0


def test_sampled_shapley_agrees_with_exact():
    """banner is a null player, so the game is really tv vs search; for two players an
    order and its reverse (an antithetic pair) average to the exact value."""
    model = load_model(MODELS / "interaction.toml")
    exact = ground_truth(model, 20_000, rng=4, workers=1)
    sampled = ground_truth(model, 20_000, rng=4, workers=1, exact=False, n_permutations=6)
    assert sampled.settings["exact_shapley"] is False
    np.testing.assert_allclose(sampled.shapley.conversions, exact.shapley.conversions, atol=1e-9)


def test_crn_reduces_the_standard_error():
    g = ground_truth(load_model(MODELS / "interaction.toml"), 20_000, rng=6, workers=1)
    inc = g.incremental.loc[["tv", "search"]]
    assert (inc.conversions_se_independent > 1.5 * inc.conversions_se).all()


def test_parallel_runs_equal_serial_runs():
    model = load_model(MODELS / "interaction.toml")
    a = ground_truth(model, 5_000, rng=8, workers=1).to_frame()
    b = ground_truth(model, 5_000, rng=8, workers=2).to_frame()
    np.testing.assert_array_equal(a.select_dtypes("number"), b.select_dtypes("number"))


def test_channel_off_has_no_touches_and_crn_only_changes_reached_customers():
    """With word of mouth off (it couples customers), switching display off changes the
    journeys of exactly the customers display reached, nobody else's."""
    model = without_word_of_mouth(shipped("ecommerce"))
    on, _ = simulate_frame(model, 4000, rng=9)
    off, _ = simulate_frame(model.with_overrides(channels_off=["display"]), 4000, rng=9)
    assert not ((off.event == "touch") & (off.channel == "display")).any()
    reached = set(on.loc[(on.event == "touch") & (on.channel == "display"), "customer_id"])
    assert reached
    cols = ["customer_id", "time", "event", "channel", "stage", "value"]
    a = on.loc[~on.customer_id.isin(reached), cols].reset_index(drop=True)
    b = off.loc[~off.customer_id.isin(reached), cols].reset_index(drop=True)
    assert a.equals(b)
    # and some reached customers' journeys did change (display has an effect)
    ra = on.loc[on.customer_id.isin(reached) & (on.event != "touch"), cols]
    rb = off.loc[off.customer_id.isin(reached) & (off.event != "touch"), cols]
    assert not ra.reset_index(drop=True).equals(rb.reset_index(drop=True))


def test_marginal_roas_is_paired_and_finite():
    g = ground_truth(load_model(MODELS / "interaction.toml"), 20_000, rng=1, workers=1)
    roas = g.marginal_roas
    assert set(roas.index) == {"tv", "search", "banner"}
    assert roas.loc["banner", "value_gain"] == 0
    assert np.isfinite(roas.roas).all()


def test_truth_on_the_agent_engine():
    """The agent engine's counter-based draws keep CRN: a zero-effect channel is exactly 0,
    and what tv and search cause is positive and measured with standard errors."""
    g = ground_truth(load_model(MODELS / "interaction.toml"), 3000, rng=2, workers=1,
                     engine="agents", marginal_roas=False)  # fmt: skip
    assert g.settings["engine"] == "agents"
    assert g.incremental.conversions["banner"] == 0
    assert (g.incremental.loc[["tv", "search"], "conversions"] > 0).all()
    caused = g.totals["conversions_all_on"] - g.totals["conversions_all_off"]
    assert g.shapley.conversions.sum() == pytest.approx(caused)
