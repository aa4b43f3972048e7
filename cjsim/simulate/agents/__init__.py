"""Agent-based engine on simpy: continuous time, limited capacity, word of mouth.

Every customer lives in continuous time (days) on one simpy clock. What the Markov engine
cannot hold lives here: queues for limited capacity, contacts on a network, frequency
caps and hard daily budgets. Where both engines can, they agree: they share the chain's
per-step transition probabilities (not only its hazards), hence stage reach,
conversions, touches, reach and spend (tests and ``benchmarks/cross_engine.py``).

The package, from the entry points down:

* :mod:`.engine` -- :func:`simulate_agents` (to a file or a sink),
  :func:`simulate_agents_frame` (into memory), :func:`agent_event_arrays` (for the truth);
* :mod:`.world` -- :class:`~.world.World`, one simulation: the shared state, the parts
  wired together, and the day loop;
* the shared state: :mod:`.customers` (keys, segments, stages) and :mod:`.eventlog`
  (what happened, and the log's arrays at the end);
* the parts: :mod:`.clocks` (each customer's transition clock: exact sampling of
  piecewise-constant hazards), :mod:`.hazards` (adstock and the hazards it lifts),
  :mod:`.campaigns` (paid touches within schedules, budgets and frequency caps),
  :mod:`.word_of_mouth` on :mod:`.network` (conversations and the touches they make),
  :mod:`.capacity` (server pools and visits);
* the foundations: :mod:`.keyed_random` (counter-based random numbers: common random
  numbers across runs), :mod:`.stats` (:class:`AgentRunStats`), :mod:`.sorting` (a fast
  stable sort) and :mod:`.simpy_adapter` (the only use of simpy's private fields).

References
----------
Matloff, N. (2008). Introduction to discrete-event simulation and the SimPy language.
Lewis, P. A. W. & Shedler, G. S. (1979). Simulation of nonhomogeneous Poisson processes
by thinning (the integrated-hazard alternative used here is exact for piecewise hazards).
"""

from cjsim.simulate.agents.engine import (
    agent_event_arrays,
    simulate_agents,
    simulate_agents_frame,
    stats_path,
)
from cjsim.simulate.agents.keyed_random import customer_keys, keyed_uniforms, uniform
from cjsim.simulate.agents.stats import AgentRunStats

__all__ = [
    "AgentRunStats",
    "agent_event_arrays",
    "customer_keys",
    "keyed_uniforms",
    "simulate_agents",
    "simulate_agents_frame",
    "stats_path",
    "uniform",
]
