"""Engines that turn a model and a budget into an event log.

* :mod:`cjsim.simulate.markov`: vectorised discrete-time engine (numpy), millions of customers.
* :mod:`cjsim.simulate.agents`: agent-based engine on simpy (continuous time, capacity,
  word of mouth through a contact network).
* :mod:`cjsim.simulate.truth`: what each channel really caused, by counterfactual runs.
"""

from __future__ import annotations

from cjsim.simulate.markov import SimulationSummary, simulate, simulate_frame

__all__ = ["SimulationSummary", "simulate", "simulate_frame"]
