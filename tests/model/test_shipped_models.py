"""Every model shipped in models/ validates, tells its story and simulates at tiny size."""

from __future__ import annotations

import numpy as np
import pytest

from cjsim.model import embedded_models, load_model
from cjsim.model.funnel import funnel
from cjsim.simulate.markov import simulate_frame

REQUIRED = {"dentist", "sunscreen", "refrigerator", "b2b_saas", "ecommerce", "textbook"}
SHIPPED = sorted(embedded_models())


def test_the_required_models_are_shipped():
    assert REQUIRED <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_model_validates_and_simulates(name):
    path = embedded_models()[name]
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().startswith("#"), (
        "a shipped model opens with a comment that tells its story"
    )
    model = load_model(path)
    res = funnel(model)
    assert 0.0 < res.p_conversion <= 1.0
    frame, s = simulate_frame(model, 1500, rng=1)
    assert s.customers == 1500 and frame.customer_id.nunique() == 1500
    assert s.conversions > 0, "a tiny run of every model converts somebody"
    if model.channels:
        assert (s.touches > 0).all(), "every channel of a shipped model touches somebody"
        assert np.isfinite(frame.time).all()


@pytest.mark.parametrize("name", [n for n in SHIPPED if n.startswith("trap_")])
def test_trap_models_state_their_measured_finding(name):
    text = embedded_models()[name].read_text(encoding="utf-8")
    assert "# Measured (`cjsim evaluate " + name in text
