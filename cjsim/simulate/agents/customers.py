"""Who the simulated customers are (keys, segment) and where they are (stage)."""

from __future__ import annotations

import numpy as np

from cjsim.model.compiled import CompiledModel
from cjsim.model.timing import arrival_steps
from cjsim.simulate.agents.keyed_random import (
    ARRIVAL,
    INITIAL_STAGE,
    SEGMENT,
    customer_keys,
    keyed_uniforms,
)


class Customers:
    """The state every part of the world shares: one entry per simulated customer.

    Parameters
    ----------
    compiled : CompiledModel
        The model's arrays.
    count : int
        How many customers.
    seed : int
        The run's seed (below 2**64).

    Attributes
    ----------
    keys, key_list : numpy.ndarray, list of int
        Each customer's key for counter-based draws (:func:`customer_keys`), as an array
        and as Python integers (for scalar draws).
    segment, segment_list : numpy.ndarray, list of int
        Each customer's segment, drawn once.
    stage : numpy.ndarray
        Each customer's stage now (changed only by :meth:`World.enter`).
    initial_stage : numpy.ndarray
        Each customer's stage at time 0 (int16, for the log).
    arrival : numpy.ndarray
        The day each customer enters the market (all 0 without ``[arrivals]``).
    present : numpy.ndarray
        Whether each customer is in the market now (bool).
    """

    def __init__(self, compiled: CompiledModel, count: int, seed: int) -> None:
        self.count, self.seed = count, seed
        self.keys = customer_keys(seed, np.arange(count))
        self.key_list: list[int] = self.keys.tolist()
        self.segment = np.searchsorted(
            np.cumsum(compiled.segment_shares), keyed_uniforms(self.keys, SEGMENT, 0),
            side="right",
        ).clip(0, len(compiled.segments) - 1)  # fmt: skip
        self.stage = np.searchsorted(
            np.cumsum(compiled.initial), keyed_uniforms(self.keys, INITIAL_STAGE, 0),
            side="right",
        ).clip(0, compiled.n_stages - 1)  # fmt: skip
        self.initial_stage = self.stage.astype(np.int16)
        self.segment_list: list[int] = self.segment.tolist()
        self.arrival = np.zeros(count, np.int64)
        arrivals = compiled.model.arrivals
        if arrivals is not None:
            u = keyed_uniforms(self.keys, ARRIVAL, 0)
            self.arrival = arrival_steps(arrivals, compiled.steps, compiled.step_days, u).astype(
                np.int64
            )
        self.present = self.arrival == 0
