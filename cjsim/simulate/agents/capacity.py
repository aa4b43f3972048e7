"""Limited capacity: stages that need a server (``[capacity.NAME]``), and their queues.

Entering such a stage means queueing for one of its servers (a ``simpy.Resource``) and
being served for an exponential time; a customer who waits longer than ``patience_days``
goes to ``on_timeout`` (lost) or stays where they were. A model's servers are for its
whole population: they are scaled to the simulated customers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import simpy

from cjsim.model import JourneyModel
from cjsim.simulate.agents.customers import Customers
from cjsim.simulate.agents.keyed_random import SERVICE, key_uniform

log = logging.getLogger("cjsim.simulate.agents")  # the engine's one logger, as before


class ServerPool:
    """A simpy resource with the bookkeeping for its queue statistics."""

    def __init__(self, env: simpy.Environment, name: str, servers: int) -> None:
        self.name = name
        self.resource = simpy.Resource(env, capacity=servers)
        self.servers = servers
        self.env = env
        self.waits: list[float] = []
        self.timed_out = 0
        self.busy_time = 0.0
        self.queue_area = 0.0  # the integral of the queue length over time
        self._last = 0.0

    def mark(self) -> None:
        """Integrate the queue length up to now (call before it changes)."""
        now = self.env.now
        self.queue_area += len(self.resource.queue) * (now - self._last)
        self._last = now


class Capacity:
    """The server pools of the stages that need one, and the visits to them.

    Parameters
    ----------
    env : simpy.Environment
        The clock of the world.
    model : JourneyModel
        Its ``[capacity]`` sections and population.
    stages : tuple of str
        The model's stages, in order.
    customers : Customers
        Their keys (for service times) and stages.
    horizon : float
        The end of the run, in days.

    Attributes
    ----------
    pools : dict
        Stage -> (its server pool, its capacity section).
    enter, start_clock : callable
        ``(customer, stage)``: the world's stage change and new transition clock (set by
        the world), called when a visit ends.
    """

    def __init__(
        self, env: simpy.Environment, model: JourneyModel, stages: tuple[str, ...],
        customers: Customers, horizon: float,
    ) -> None:  # fmt: skip
        self.env, self.customers, self.horizon, self.stages = env, customers, horizon, stages
        self.enter: Callable[[int, int], None] = lambda i, to: None
        self.start_clock: Callable[[int, int], None] = lambda i, to: None
        self.pools: dict[int, tuple[ServerPool, Any]] = {}
        for name, cap in model.capacity.items():
            servers = _scaled_servers(name, cap.servers, customers.count, model.population)
            self.pools[stages.index(cap.stage)] = (ServerPool(env, name, servers), cap)

    def visit(self, i: int, to: int, k: int) -> None:
        """Customer ``i`` (their ``k``-th transition) queues for stage ``to``."""
        _Visit(self, i, to, k)

    def close(self) -> None:
        """At the end: integrate every queue up to now."""
        for pool, _ in self.pools.values():
            pool.mark()

    def rows(self) -> list[dict[str, Any]]:
        """Per pool: servers, served, gave up, waits, mean queue and utilisation."""
        rows = []
        for pool, cap in self.pools.values():
            waits = np.asarray(pool.waits)
            rows.append(
                {
                    "resource": pool.name,
                    "stage": cap.stage,
                    "servers": pool.servers,
                    "served": len(waits),
                    "timed_out": pool.timed_out,
                    "mean_wait_days": float(waits.mean()) if waits.size else 0.0,
                    "max_wait_days": float(waits.max()) if waits.size else 0.0,
                    "mean_queue": pool.queue_area / self.horizon,
                    "utilisation": pool.busy_time / (pool.servers * self.horizon),
                }
            )
        return rows


def _scaled_servers(name: str, servers: int, customers: int, population: int) -> int:
    """A pool's servers for the simulated customers (at least one), with a warning when
    rounding changes them by more than a tenth."""
    exact = servers * customers / population
    scaled = max(1, round(exact))
    if abs(scaled - exact) > 0.1 * exact:
        log.warning(
            "capacity '%s': %d servers for a population of %s are %.2f for %s "
            "customers, rounded to %d; simulate more customers (up to the "
            "population) for a capacity that scales exactly",
            name, servers, f"{population:,}", exact, f"{customers:,}", scaled,
        )  # fmt: skip
    return scaled


class _Visit:
    """One customer's visit to a stage that needs a server.

    Queue for a server (giving up after ``patience_days``), be served for an exponential
    time, release the server and enter the stage (or, on giving up, stay or go to
    ``on_timeout``). Callbacks on simpy events, not a process.
    """

    __slots__ = ("cap", "capacity", "i", "k", "over", "pool", "request", "started", "t0", "to")

    def __init__(self, capacity: Capacity, i: int, to: int, k: int) -> None:
        self.capacity, self.i, self.to, self.k = capacity, i, to, k
        env = capacity.env
        self.pool, self.cap = capacity.pools[to]
        self.pool.mark()
        self.request = self.pool.resource.request()
        self.t0 = env.now
        self.over = False  # served or gave up: whichever comes first
        self.request.callbacks.append(self._served)
        if self.cap.patience_days is not None:
            env.timeout(self.cap.patience_days).callbacks.append(self._gave_up)

    def _gave_up(self, _event: Any) -> None:
        if self.over:
            return
        self.over = True
        capacity, i, pool, cap = self.capacity, self.i, self.pool, self.cap
        pool.mark()
        self.request.cancel()
        pool.timed_out += 1
        if cap.on_timeout != "stay":
            capacity.enter(i, capacity.stages.index(cap.on_timeout))
        capacity.start_clock(i, int(capacity.customers.stage[i]))  # where they now are

    def _served(self, _event: Any) -> None:
        if self.over:
            return
        self.over = True
        env, pool = self.capacity.env, self.pool
        pool.mark()
        pool.waits.append(env.now - self.t0)
        self.started = env.now
        u = key_uniform(self.capacity.customers.key_list[self.i], SERVICE, self.k)
        env.timeout(-math.log(u) * self.cap.service_days).callbacks.append(self._done)

    def _done(self, _event: Any) -> None:
        capacity, pool = self.capacity, self.pool
        horizon = capacity.horizon
        pool.busy_time += min(capacity.env.now, horizon) - min(self.started, horizon)
        pool.mark()
        pool.resource.release(self.request)
        capacity.enter(self.i, self.to)
        capacity.start_clock(self.i, self.to)
