"""Bootstrap intervals: the fast paths agree with refitting, and the spread is right."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from cjsim.attribution import (
    FirstTouch,
    Linear,
    MarkovAttribution,
    SampledShapley,
    ShapleyAttribution,
    attribute,
)
from cjsim.attribution.bootstrap import bootstrap, percentile_interval, resample_counts
from cjsim.errors import OptionError
from tests.attribution.helpers import random_table, table


def refit(method, paths, resamples):
    conv, nulls, value = resamples
    out = []
    for b in range(conv.shape[1]):
        m = copy.deepcopy(method).fit(paths.with_counts(conv[:, b], nulls[:, b], value[:, b]))
        out.append(m.conversions_)
    return np.array(out).T


@pytest.mark.parametrize(
    "method",
    [FirstTouch(), Linear(), ShapleyAttribution(), MarkovAttribution(order=2),
     SampledShapley(n_permutations=50, rng=3), ShapleyAttribution(game="rate")],
    ids=lambda m: type(m).__name__,
)  # fmt: skip
def test_fast_bootstrap_equals_refitting(method):
    t = random_table(K=4, P=60, seed=1)
    resamples = resample_counts(t, 12, rng=5)
    fast, _ = bootstrap(method, t, resamples=resamples)
    np.testing.assert_allclose(fast, refit(method, t, resamples), rtol=1e-9, atol=1e-12)


def test_poisson_spread_of_a_count():
    """First-touch credit of a channel is a sum of Poisson counts: sd = sqrt(mean)."""
    t = table([("a > b", 400, 100, 0), ("b", 300, 50, 0), ("a", 100, 0, 0)])
    draws, _ = bootstrap(FirstTouch(), t, n_resamples=4000, rng=2)
    assert draws[0].std() == pytest.approx(np.sqrt(500), rel=0.06)
    low, high = percentile_interval(draws, 0.95)
    assert low[0] < 500 < high[0]
    assert high[0] - low[0] == pytest.approx(2 * 1.96 * np.sqrt(500), rel=0.1)


def test_multinomial_keeps_the_number_of_journeys():
    t = random_table(seed=4)
    conv, nulls, value = resample_counts(t, 20, scheme="multinomial", rng=1)
    journeys = t.conversions.sum() + t.nulls.sum()
    np.testing.assert_allclose(conv.sum(axis=0) + nulls.sum(axis=0), journeys)
    # value per conversion of each path is kept
    has = t.conversions > 0
    per = t.value[has] / t.conversions[has]
    np.testing.assert_allclose(value[has], conv[has] * per[:, None])


def test_attribute_intervals_bracket_the_estimates():
    t = random_table(K=5, P=400, seed=7)
    res = attribute(t, ["first", "linear", "markov", "shapley"], ci=0.9, n_resamples=200, rng=1)
    f = res.to_frame()
    inside = (f.ci_low <= f.conversions + 1e-9) & (f.conversions <= f.ci_high + 1e-9)
    assert inside.mean() > 0.9
    assert (f.value_ci_low <= f.value_ci_high).all()
    # same seed, same intervals
    again = attribute(t, ["first", "linear", "markov", "shapley"], ci=0.9, n_resamples=200, rng=1)
    np.testing.assert_array_equal(f.ci_low, again.to_frame().ci_low)


def test_bad_bootstrap_options():
    t = random_table(seed=0)
    with pytest.raises(OptionError, match="scheme"):
        resample_counts(t, 5, scheme="jackknife")
    with pytest.raises(OptionError, match="confidence level"):
        percentile_interval(np.zeros((2, 5)), 1.5)
    with pytest.raises(OptionError, match="n_resamples"):
        bootstrap(FirstTouch(), t, n_resamples=1)
