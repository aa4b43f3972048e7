"""Intervals with the truth's noise, and draws of the truth (hand-computed cases)."""

from __future__ import annotations

import numpy as np
import pytest

from cjsim.scoring import interval, truth_draws

T1 = 12.7062  # Student t, 97.5%, 1 degree of freedom
Z = 1.95996


def test_interval_without_truth_noise_is_the_t_interval():
    mean, lo, hi = interval(np.array([1.0, 3.0]))
    assert mean == 2.0
    assert hi - mean == pytest.approx(T1 * 1.0, rel=1e-4)  # sd sqrt(2) / sqrt(2) = 1
    assert mean - lo == pytest.approx(hi - mean)


def test_truth_noise_widens_the_interval_in_quadrature():
    _, _, hi = interval(np.array([1.0, 3.0]), truth_var=1.0)
    # sqrt(t^2 * 1 + z^2 * 1): the replications' part keeps its t, the truth's its z
    assert hi - 2.0 == pytest.approx(np.sqrt(T1**2 + Z**2), rel=1e-4)
    assert hi - 2.0 > T1


def test_interval_when_only_the_truth_is_noisy_or_nothing_is():
    mean, lo, hi = interval(np.array([2.0, 2.0, 2.0]), truth_var=0.25)
    assert (mean, hi - mean) == (2.0, pytest.approx(Z * 0.5, rel=1e-5))
    assert interval(np.array([2.0, 2.0])) == (2.0, 2.0, 2.0)
    mean, lo, hi = interval(np.array([5.0, np.nan]), truth_var=1.0)  # one usable value
    assert mean == 5.0 and np.isnan(lo) and np.isnan(hi)


def test_share_draws_keep_the_total_and_each_standard_error():
    draws = truth_draws(np.array([0.5, 0.5, 0.0]), np.array([0.1, 0.1, 0.0]), 4000, rng=1,
                        fixed_sum=True)  # fmt: skip
    assert np.allclose(draws.sum(axis=1), 1.0)
    assert np.all(draws[:, 2] == 0.0)  # an exact share stays exact
    assert draws[:, :2].std(axis=0) == pytest.approx([0.1, 0.1], rel=0.05)
    assert np.corrcoef(draws[:, 0], draws[:, 1])[0, 1] == pytest.approx(-1.0)
    three = truth_draws(np.full(3, 1 / 3), np.full(3, 0.05), 4000, rng=2, fixed_sum=True)
    assert np.allclose(three.sum(axis=1), 1.0)
    assert three.std(axis=0) == pytest.approx([0.05] * 3, rel=0.05)


def test_draws_are_independent_without_a_fixed_sum_and_reproducible():
    a = truth_draws(np.array([1.0, 2.0]), np.array([0.5, 0.2]), 4000, rng=3)
    assert a.mean(axis=0) == pytest.approx([1.0, 2.0], abs=0.03)
    assert a.std(axis=0) == pytest.approx([0.5, 0.2], rel=0.05)
    assert abs(np.corrcoef(a.T)[0, 1]) < 0.05
    assert np.array_equal(a, truth_draws(np.array([1.0, 2.0]), np.array([0.5, 0.2]), 4000, rng=3))


def test_nearly_equal_values_still_have_an_interval():
    """Zero width only when every value is the same: conversions of 100,000.0 and
    100,000.5 vary (an earlier tolerance of 1e-5 relative called them equal)."""
    mean, lo, hi = interval(np.array([100_000.0, 100_000.5, 100_000.0]))
    assert lo < mean < hi
    assert hi - mean == pytest.approx(4.30265 * np.sqrt(1 / 12) / np.sqrt(3), rel=1e-5)  # t(2)
    third = 0.1 + 0.2  # a mean of identical values is exactly that value
    assert interval(np.full(7, third)) == (third, third, third)
