"""Agent-based engine on simpy (see :mod:`cjsim.simulate.agents.world`)."""

from cjsim.simulate.agents.keyed_random import customer_keys, keyed_uniforms, uniform
from cjsim.simulate.agents.stats import AgentRunStats
from cjsim.simulate.agents.world import (
    agent_event_arrays,
    simulate_agents,
    simulate_agents_frame,
    stats_path,
)

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
