"""The two engines simulate the same world: spend, ROAS, conversions and reach agree.

The agent engine runs the discrete chain in continuous time (a clock in a new stage
starts at the next step start), pays the same price per touch and caps by the same
budget, so on every shipped model without capacity (word of mouth off: agents talk on a
network, the Markov engine in a well-mixed market) each figure agrees within sampling
error. ``benchmarks/cross_engine.py`` runs the same comparison at a larger size.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.cross_engine import MODELS, figures, world
from cjsim.simulate.agents import simulate_agents
from cjsim.simulate.markov import simulate

SEEDS = 5
CUSTOMERS = 5_000


@pytest.mark.parametrize("name", MODELS)
def test_engines_agree_on_spend_roas_conversions_and_reach(name):
    model = world(name)
    markov = [figures(simulate(model, CUSTOMERS, rng=s)) for s in range(SEEDS)]
    agents = [figures(simulate_agents(model, CUSTOMERS, rng=100 + s)[0]) for s in range(SEEDS)]
    assert markov[0]["spend"] > 0
    for key in markov[0]:
        m = np.array([r[key] for r in markov])
        a = np.array([r[key] for r in agents])
        se = np.sqrt(m.var(ddof=1) / SEEDS + a.var(ddof=1) / SEEDS)
        if se == 0:
            assert a.mean() == pytest.approx(m.mean()), key
            continue
        assert abs(a.mean() - m.mean()) / se < 4, (key, m.mean(), a.mean())
