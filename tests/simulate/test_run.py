"""One engine interface: cjsim.simulate.run.simulate runs either engine the same way."""

from __future__ import annotations

import numpy as np
import pytest

from cjsim.errors import CjsimError
from cjsim.model import load_model
from cjsim.simulate.agents import simulate_agents_frame
from cjsim.simulate.markov import simulate_frame
from cjsim.simulate.run import event_arrays, simulate
from tests.helpers.models import assert_same_log


@pytest.mark.parametrize("engine", ["markov", "agents"])
def test_either_engine_gives_the_engines_own_log(engine, tmp_path):
    model = load_model("dentist")
    calls = []
    run = simulate(
        model, 600, engine=engine, rng=3, keep_events=True, out=tmp_path / "e.parquet",
        progress=lambda done, total: calls.append((done, total)),
    )  # fmt: skip
    if engine == "markov":
        own, summary = simulate_frame(model, 600, rng=3)
        assert run.stats is None
    else:
        own, summary, stats = simulate_agents_frame(model, 600, rng=3)
        assert run.stats.to_dict() == stats.to_dict()
    assert run.engine == engine == run.summary.engine
    assert_same_log(run.events, own)
    assert run.summary.conversions == summary.conversions
    assert run.out == tmp_path / "e.parquet" and run.out.stat().st_size > 0
    assert calls and calls[-1][0] == calls[-1][1]  # progress reaches its total
    arrays = list(event_arrays(model, 600, engine=engine, rng=3))
    assert sum(len(a["event"]) for a in arrays) == len(own)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"engine": "abm"}, "engine='abm'"),
    ({"customers": 0}, "customers=0"),
    ({"customers": 2.5}, "customers=2.5"),
    ({"customers": True}, "customers=True"),
    ({"chunk_size": 0}, "chunk_size=0"),
])  # fmt: skip
def test_bad_parameters_are_named(kwargs, message):
    args = {"customers": 10, **kwargs}
    with pytest.raises(CjsimError, match=message):
        simulate(load_model("dentist"), **args)


def test_numpy_integers_are_customer_counts():
    run = simulate(load_model("dentist"), np.int64(50), rng=1)
    assert run.summary.customers == 50
