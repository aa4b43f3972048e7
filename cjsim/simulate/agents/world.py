"""One simulation: the customers and the parts of their world, on one simpy clock.

The world owns the shared state (:class:`~cjsim.simulate.agents.customers.Customers`, the
:class:`~cjsim.simulate.agents.eventlog.EventLog`) and wires its parts together: each
part knows only the state it reads and the callbacks the world gives it, so no part
imports another's module beyond the state it shares.

A day (the model's step) goes: at its start, before anything else of the day, the
campaigns touch (:mod:`.campaigns`); the customers whose hazards changed -- those the
touches lift and those whose lifting adstock decayed overnight -- carry on with the new
ones, all at once (:mod:`.clocks`); then the talkers' conversations of the day are drawn
(:mod:`.word_of_mouth`). During the day, wake-ups move customers between stages, some
through a queue (:mod:`.capacity`), and conversations touch contacts.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import pandas as pd
import simpy

from cjsim.events import CONVERSION
from cjsim.model.compiled import CompiledModel
from cjsim.simulate.agents.campaigns import Campaigns
from cjsim.simulate.agents.capacity import Capacity
from cjsim.simulate.agents.clocks import EPS, TransitionClocks
from cjsim.simulate.agents.customers import Customers
from cjsim.simulate.agents.eventlog import EventLog
from cjsim.simulate.agents.hazards import Adstock, HazardTables
from cjsim.simulate.agents.simpy_adapter import events_scheduled
from cjsim.simulate.agents.stats import AgentRunStats
from cjsim.simulate.agents.word_of_mouth import WordOfMouth
from cjsim.simulate.plan import Plan


class World:
    """One simulation of ``customers`` customers of a compiled model with a seed.

    Parameters
    ----------
    compiled : CompiledModel
        The model's arrays.
    customers : int
        How many customers.
    seed : int
        The seed of every draw (below 2**64).

    Attributes
    ----------
    env : simpy.Environment
        The clock (time in days).
    customers, log : Customers, EventLog
        The shared state.
    clocks, campaigns, word_of_mouth, capacity, adstock, tables
        The parts.
    """

    def __init__(self, compiled: CompiledModel, customers: int, seed: int) -> None:
        self.compiled, self.seed = compiled, seed
        self.plan = Plan(compiled)
        self.env = simpy.Environment()
        self.step = compiled.step_days
        self.horizon = compiled.steps * compiled.step_days
        self.calendar_days = math.ceil(self.horizon / self.step) + 1  # day 0 to past the end
        self.customers = Customers(compiled, customers, seed)
        self.log = EventLog(compiled.conversion, customers)
        self.tables = HazardTables(compiled, self.plan)
        self.adstock = Adstock(compiled, self.plan, customers, self.calendar_days)
        self.clocks = TransitionClocks(
            self.env, self.customers, self.tables, self.adstock, self.step, self.horizon
        )
        self.capacity = Capacity(
            self.env, compiled.model, compiled.stages, self.customers, self.horizon
        )
        self.campaigns = Campaigns(
            compiled, self.plan, self.customers, self.calendar_days, self.log.stage_who
        )
        self.word_of_mouth = WordOfMouth(self.env, compiled, self.customers)
        self.clocks.enter = self.enter
        self.clocks.queues, self.clocks.queue = self.capacity.pools, self.capacity.visit
        self.capacity.enter = self.enter
        self.capacity.start_clock = self.clocks.start
        self.word_of_mouth.touch = self.touch
        # arrivals: customers by the day they enter the market (None: all on day 0)
        self.arriving: np.ndarray | None = None
        if compiled.model.arrivals is not None:
            arrival = self.customers.arrival
            self.arriving = np.argsort(arrival, kind="stable")
            self.arrival_bounds = np.searchsorted(
                arrival[self.arriving], np.arange(self.calendar_days + 1)
            )

    # -- what happens to a customer ----------------------------------------------------------
    def enter(self, i: int, to: int) -> None:
        """Customer ``i`` enters stage ``to`` now (nothing after the horizon)."""
        now = self.env.now
        if now > self.horizon:
            return
        stage = self.customers.stage
        was = int(stage[i])
        stage[i] = to
        self.log.stage_change(i, now, to)
        if self.word_of_mouth.on:  # (else there is nobody to talk or listen to)
            self.word_of_mouth.stage_changed(i, was, to)

    def touch(self, i: int, channel: int) -> None:
        """A single touch now (word of mouth): it counts from this moment on."""
        now = self.env.now
        if self.adstock.tracked[channel]:
            self.adstock.add(channel, i, int(now / self.step + EPS))
        self.log.touch(i, now, channel)
        if self.clocks.liftable[i] and self.tables.lifts[channel, self.customers.stage[i]]:
            self.clocks.lift_soon(i)

    def _campaign_day(self, day: int) -> np.ndarray:
        """The campaigns' touches of the day; returns the customers whose clocks they lift."""
        touches = self.campaigns.touch_day(day)
        if touches is None:
            return np.zeros(0, np.int64)
        who, times, channel = touches
        self.log.campaign_touches.append((who, times, channel))
        self.adstock.add_many(channel, who, day)
        lifts = self.tables.lifts[channel, self.customers.stage[who]]
        return np.unique(who[lifts & self.clocks.liftable[who]])

    # -- run ---------------------------------------------------------------------------------
    def _day_starts(self) -> Generator[Any, Any, None]:
        """The simpy process of day starts (see the module's docstring). On the first day,
        after the campaigns, every customer's clock starts."""
        env, wom = self.env, self.word_of_mouth
        for day in range(self.calendar_days):
            t_day = day * self.step
            if t_day >= self.horizon:
                return
            if day:
                yield env.timeout(t_day - env.now)
            lifted = self._campaign_day(day)
            if day == 0:
                self.clocks.start_all()
                if wom.on:
                    wom.start_all()
                continue
            if self.arriving is not None:
                self._arrive(day)
            decayed = self.clocks.due(day)
            if decayed.size:
                lifted = np.unique(np.concatenate([decayed, lifted]))
            self.clocks.carry_on(lifted)
            if wom.on:
                wom.talk_day()

    def _arrive(self, day: int) -> None:
        """The customers whose day it is enter the market (after the day's campaigns,
        which never touch anyone before their day)."""
        assert self.arriving is not None
        ids = self.arriving[self.arrival_bounds[day] : self.arrival_bounds[day + 1]]
        if ids.size:
            self.customers.present[ids] = True
            self.clocks.arrive(ids)
            if self.word_of_mouth.on:
                self.word_of_mouth.arrive(ids)

    def run(self, progress: Callable[[int], None] | None = None) -> None:
        """Simulate to the horizon, a day at a time; ``progress(days done)`` after each."""
        # The run makes millions of short-lived objects (events, tuples for the log) and
        # hardly any reference cycles: the cyclic garbage collector would only walk them
        # again and again (~7% of the time); it is paused for the run and restored after.
        paused = gc.isenabled()
        gc.disable()
        try:
            self._run(progress)
        finally:
            if paused:
                gc.enable()

    def _run(self, progress: Callable[[int], None] | None) -> None:
        env = self.env
        env.process(self._day_starts())
        days = math.ceil(self.horizon / self.step - 1e-9)
        for d in range(1, days + 1):
            env.run(until=min(d * self.step, self.horizon))
            if progress is not None:
                progress(d)
        self.capacity.close()
        self.word_of_mouth.count_conversations()

    # -- results -----------------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        """The event log as integer-coded arrays (:meth:`EventLog.arrays`)."""
        return self.log.arrays(self.customers, self.plan)

    def stats(self, arrays: dict[str, np.ndarray]) -> AgentRunStats:
        """What the run saw besides the log, given the log's :meth:`arrays`."""
        cm, wom, campaigns = self.compiled, self.word_of_mouth, self.campaigns
        converters = np.unique(arrays["customer_id"][arrays["event"] == CONVERSION])
        spend = pd.DataFrame(campaigns.spend.T, columns=list(cm.channels))
        spend.index.name = "day"
        return AgentRunStats(
            resources=pd.DataFrame(self.capacity.rows()),
            word_of_mouth_touches=wom.touches,
            word_of_mouth_contacts=wom.conversations,
            converted_after_word_of_mouth=int(wom.touched[converters].sum()),
            spend_per_day=spend.loc[:, cm.paid],
            capped_by_budget=campaigns.capped_by_budget,
            capped_by_frequency=campaigns.capped_by_frequency,
            simpy_events=events_scheduled(self.env),
        )
