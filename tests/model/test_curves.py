"""The saturation curves: one formula, checked against hand values and in every form."""

from __future__ import annotations

import numpy as np
import pytest

from cjsim.experiment.response import ResponseCurve
from cjsim.model.curves import hill, hill_float32, hill_response, michaelis_menten

X = np.array([0.0, 0.25, 1.0, 2.0, 7.5, 1e6])


def test_hand_values():
    assert hill(1.0, 1.0) == 0.5  # the half point
    assert hill(3.0, 1.0, 2.0) == pytest.approx(0.9)  # 9 / (9 + 1)
    assert michaelis_menten(2.0, 10.0, 2.0) == 5.0
    assert hill_response(2.0, 4.0, 2.0, 3.0) == 2.0


@pytest.mark.parametrize("slope", [1.0, 0.7, 2.5])
def test_every_form_is_the_one_formula_to_the_bit(slope):
    expect = hill_response(X, 1.0, 1.5, slope)
    assert np.array_equal(hill(X, 1.5, slope), expect)
    assert np.array_equal(ResponseCurve(3.0, 1.5, slope)(X), hill_response(X, 3.0, 1.5, slope))
    # Python floats (the agent engine's one-customer path) give the same bits as arrays
    assert [hill_response(float(x), 1.0, 1.5, slope) for x in X] == expect.tolist()
    # the float32 form is the same curve to float32 precision
    got = hill_float32(X.astype(np.float32), 1.5, slope)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expect, rtol=2e-6)


def test_slope_one_is_michaelis_menten_exactly():
    assert np.array_equal(michaelis_menten(X, 3.0, 1.5), 3.0 * X / (X + 1.5))
    assert np.array_equal(hill(X, 1.5), X / (X + 1.5))
