"""Engines that turn a model and a budget into an event log.

* :mod:`cjsim.simulate.markov`: vectorised discrete-time engine (numpy), millions of customers.
"""

from __future__ import annotations

from cjsim.simulate.markov import SimulationSummary, simulate, simulate_frame

__all__ = ["SimulationSummary", "simulate", "simulate_frame"]
