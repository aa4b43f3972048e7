"""Engines that turn a model and a budget into an event log.

* :mod:`cjsim.simulate.run`: :func:`simulate`, one way to run either engine, returning
  a :class:`Simulation` (summary, events, engine extras);
* :mod:`cjsim.simulate.markov`: vectorised discrete-time engine (numpy), millions of
  customers;
* :mod:`cjsim.simulate.agents`: agent-based engine on simpy (continuous time, capacity,
  word of mouth through a contact network);
* :mod:`cjsim.simulate.truth`: what each channel really caused, by counterfactual runs.

The package itself can be called as :func:`simulate`: ``cjsim.simulate(model, 10_000)``.
"""

from __future__ import annotations

from cjsim._callable import make_callable
from cjsim.simulate.markov import SimulationSummary, simulate_frame
from cjsim.simulate.run import ENGINES, Simulation, event_arrays, simulate

__all__ = ["ENGINES", "Simulation", "SimulationSummary", "event_arrays", "simulate",
           "simulate_frame"]  # fmt: skip

make_callable(__name__, lambda: simulate)
