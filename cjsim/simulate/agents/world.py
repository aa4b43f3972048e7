r"""Agent-based engine on simpy: continuous time, limited capacity, word of mouth.

Every customer lives in continuous time (days) on one simpy clock. What the Markov engine
cannot hold lives here:

* **Campaigns** decide at the start of each day whom they touch (each customer in a
  target stage with the daily probability of their cell, as the Markov engine does; drawn
  as the geometric number of campaign days to their next touch, again after a touch or a
  stage change), only on the days of their schedule (start/end, weekly flighting), never
  above their daily budget (a hard cap, scaled to the simulated customers, that serves a
  random few of those it would touch; the touches a day's budget pays for are rounded up
  or down at random, in proportion, so a small sample loses no money to rounding on
  average) nor above a per-customer ``frequency_cap`` per calendar week; each touch is
  logged at a time of day within ``[agents] touch_hours`` and costs what the Markov
  engine's does (:attr:`cjsim.chain.CompiledModel.touch_cost`). Adstock is a *daily
  pressure*: a day's touches weigh on that whole day's hazards, and it decays at day
  starts. ("Day" is the model's step, ``step_days`` long.)
* **Stage transitions** follow the model's hazards, lifted by the customer's adstock
  exactly as in the Markov engine: a per-step stay probability ``p`` is the continuous
  hazard :math:`h = -\ln p / \Delta`, split over the targets, and each target's hazard is
  multiplied by :math:`1 + \sum_c \mathrm{lift}_c\,\mathrm{hill}(a_c)`. Hazards are piecewise
  constant, so the transition time is sampled **exactly** by the integrated hazard: draw
  :math:`E \sim \mathrm{Exp}(1)` and move when :math:`\int_0^t \lambda(s)\,ds = E`. A
  customer's clock in a new stage starts at the next step start, as in the discrete chain
  (which moves a customer at most once a step): so a visit crosses as many step starts as
  a Markov-engine visit lasts steps, and leaves within each of them with the same
  probability; the engines share the chain's per-step transition probabilities (not only
  its hazards), hence stage reach, conversions, touches, reach and spend (tests and
  ``benchmarks/cross_engine.py``). Within a step, events happen at continuous times. A
  touch that changes the hazard re-evaluates the customer's clock, which carries on with
  the hazard already used up. Customers are callback-driven clocks, not simpy processes:
  a wake-up is a ``Timeout`` whose callback moves the customer on; a re-evaluation makes
  the pending wake-up stale (a version number) instead of interrupting a generator, and a
  clock that would not run out before the horizon schedules nothing at all. The engines
  differ where only agents can: queues, contacts on a network, frequency caps.
* **Capacity**: entering a stage that needs a resource (``[capacity.NAME]``) means
  queueing for one of its servers (``simpy.Resource``) and being served for an
  exponential time; a customer who waits longer than ``patience_days`` goes to
  ``on_timeout`` (lost) or stays where they were.
* **Word of mouth** travels on a contact network (``[network] degree``): a customer in a
  source stage talks to a random contact at ``contact_rate`` per day (a Poisson process
  while they are there, drawn a day at a time); a contact in a target stage gets a
  ``word_of_mouth`` touch, which acts through that channel's effects. Only conversations
  whose contact listens become simpy events.

**Common random numbers.** Every draw is a counter-based hash of (seed, customer, purpose,
counter), so a customer's draws do not depend on the order of events: switching a channel
off changes the journeys of the customers it reached (and, through word of mouth and
queues, of the people those customers meet), nobody else's.

References
----------
Matloff, N. (2008). Introduction to discrete-event simulation and the SimPy language.
Lewis, P. A. W. & Shedler, G. S. (1979). Simulation of nonhomogeneous Poisson processes
by thinning (the integrated-hazard alternative used here is exact for piecewise hazards).
"""

from __future__ import annotations

import gc
import logging
import math
import time as _time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import simpy

from cjsim.chain import CompiledModel, compile_model
from cjsim.events import CONVERSION, STAGE, TOUCH, EventWriter, arrays_to_table, arrow_schema
from cjsim.model import JourneyModel
from cjsim.simulate.agents.keyed_random import (
    _G1,
    _G2,
    _G3,
    customer_keys,
    keyed_uniforms,
    uniform,
)
from cjsim.simulate.agents.keyed_random import (
    BUDGET_RANK as _RANK,
)
from cjsim.simulate.agents.keyed_random import (
    BUDGET_ROUNDING as _BUDGET,
)
from cjsim.simulate.agents.keyed_random import (
    EXPOSURE as _EXPOSE,
)
from cjsim.simulate.agents.keyed_random import (
    INITIAL_STAGE as _INIT,
)
from cjsim.simulate.agents.keyed_random import (
    MARKET as _MARKET_KEY,
)
from cjsim.simulate.agents.keyed_random import (
    MASK as _MASK,
)
from cjsim.simulate.agents.keyed_random import (
    PICK_CONTACT as _PICK,
)
from cjsim.simulate.agents.keyed_random import (
    SEGMENT as _SEG,
)
from cjsim.simulate.agents.keyed_random import (
    SERVICE as _SERVICE,
)
from cjsim.simulate.agents.keyed_random import (
    TALK as _TALK,
)
from cjsim.simulate.agents.keyed_random import (
    TARGET as _TARGET,
)
from cjsim.simulate.agents.keyed_random import (
    TOUCH_HOUR as _HOUR,
)
from cjsim.simulate.agents.keyed_random import (
    VALUE as _VALUE,
)
from cjsim.simulate.agents.keyed_random import (
    WAIT as _WAIT,
)
from cjsim.simulate.agents.simpy_adapter import call_soon, events_scheduled, payload
from cjsim.simulate.agents.stats import AgentRunStats
from cjsim.simulate.markov import Seed, SimulationSummary, _Plan, _version, resolve_entropy

log = logging.getLogger(__name__)

_BULK = 3
_NONE: list[float] = []


def _stable_order(keys: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    if order is None:
        order = np.arange(keys.size)
    top = int(keys.max()) if keys.size else 0
    shift = 0
    while True:
        digit = ((keys[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
        if top < 1 << shift:
            return order


class _Resource:
    """A simpy resource with the bookkeeping for queue statistics."""

    def __init__(self, env: simpy.Environment, name: str, servers: int) -> None:
        self.name = name
        self.res = simpy.Resource(env, capacity=servers)
        self.servers = servers
        self.env = env
        self.waits: list[float] = []
        self.timed_out = 0
        self.busy_time = 0.0
        self.queue_area = 0.0
        self._last = 0.0

    def mark(self) -> None:
        """Integrate the queue length up to now (call before it changes)."""
        now = self.env.now
        self.queue_area += len(self.res.queue) * (now - self._last)
        self._last = now


class _Visit:
    """A customer's visit to a stage that needs a resource: queue for a server (giving up
    after ``patience_days``), be served for an exponential time, release the server, and
    enter the stage (or, on giving up, stay or go to ``on_timeout``). Callbacks on simpy
    events, not a process."""

    __slots__ = ("cap", "i", "k", "over", "req", "res", "start", "t0", "to", "world")

    def __init__(self, world: _World, i: int, to: int, k: int) -> None:
        self.world, self.i, self.to, self.k = world, i, to, k
        env = world.env
        self.res, self.cap = world.resources[to]  # servers scaled to the simulated customers
        self.res.mark()
        self.req = self.res.res.request()
        self.t0 = env.now
        self.over = False  # served or gave up: whichever comes first
        self.req.callbacks.append(self._served)
        if self.cap.patience_days is not None:
            env.timeout(self.cap.patience_days).callbacks.append(self._gave_up)

    def _gave_up(self, _event: Any) -> None:
        if self.over:
            return
        self.over = True
        w, i, res, cap = self.world, self.i, self.res, self.cap
        res.mark()
        self.req.cancel()
        res.timed_out += 1
        if cap.on_timeout != "stay":
            w.enter(i, w.cm.stages.index(cap.on_timeout))
        w._start(i, int(w.stage[i]))  # a new clock where the customer now is

    def _served(self, _event: Any) -> None:
        if self.over:
            return
        self.over = True
        env, res = self.world.env, self.res
        res.mark()
        res.waits.append(env.now - self.t0)
        self.start = env.now
        service = -math.log(self.world.uniform(self.i, _SERVICE, self.k)) * self.cap.service_days
        env.timeout(service).callbacks.append(self._done)

    def _done(self, _event: Any) -> None:
        w, res = self.world, self.res
        res.busy_time += min(w.env.now, w.horizon) - min(self.start, w.horizon)
        res.mark()
        res.res.release(self.req)
        w.enter(self.i, self.to)
        w._start(self.i, self.to)


class _World:
    """One simulation: the customers' state arrays and the simpy processes."""

    def __init__(self, cm: CompiledModel, customers: int, seed: int) -> None:
        self.cm, self.n, self.seed = cm, customers, seed
        model = cm.model
        self.plan = _Plan(cm)
        self.env = simpy.Environment()
        self.horizon = cm.steps * cm.step_days
        self.step = cm.step_days
        S, C = cm.n_stages, cm.n_channels
        ids = np.arange(customers)
        self.keys_np = customer_keys(seed, ids)  # uniform()'s first scramble, per customer
        self.keys = self.keys_np.tolist()
        self.seg = np.searchsorted(
            np.cumsum(cm.segment_shares), keyed_uniforms(self.keys_np, _SEG, 0), side="right"
        ).clip(0, len(cm.segments) - 1)
        self.stage = np.searchsorted(
            np.cumsum(cm.initial), keyed_uniforms(self.keys_np, _INIT, 0), side="right"
        ).clip(0, S - 1)
        self.initial_stage = self.stage.astype(np.int16)
        self.seg_list = self.seg.tolist()
        # the first draws of every customer's transition clocks, in bulk
        self._bulk = {
            purpose: [keyed_uniforms(self.keys_np, purpose, k).tolist() for k in range(_BULK)]
            for purpose in (_WAIT, _TARGET)
        }
        self.by_stage = {p.stage: p for p in self.plan.plans}
        # the targets of each stage, padded to the widest stage's with its last target (a
        # row of hazards may be padded with zeros; rounding can fall through to the end)
        width = max((p.targets.size for p in self.plan.plans), default=1)
        self.targets = {
            p.stage: [*p.targets.tolist(), *[int(p.targets[-1])] * (width - p.targets.size)]
            for p in self.plan.plans
        }
        self.conversion = cm.conversion
        # adstock per channel: the value as of day ``aday``; it loses a factor alpha at
        # every day start (as in the Markov engine)
        self.alpha = [float(a) for a in cm.alpha]
        self.incr = [float(x) for x in np.where(cm.normalize, 1.0 - cm.alpha, 1.0)]
        self.tracked = [c in set(self.plan.adstock_channels) for c in range(C)]
        self.ad = np.zeros((C, customers))
        self.aday = np.zeros((C, customers), np.int64)
        # which channels lift the hazard of leaving which stage (only those re-evaluate a clock)
        self.lifts = np.zeros((C, S), bool)
        for p in self.plan.plans:
            for c, *_ in p.effects:
                self.lifts[c, p.stage] = True
        # each customer's transition clock (see _start): hazard budget, what is used of it,
        # when and with which hazards it was last evaluated, and a version that makes
        # wake-ups scheduled before a re-evaluation stale
        self.need = np.zeros(customers)
        self.used = np.zeros(customers)
        self.t_eval = np.zeros(customers)
        self.total = np.zeros(customers)
        self.version = np.zeros(customers, np.int64)
        self.lam: list[list[float]] = [_NONE] * customers  # replaced, never changed in place
        # day -> the customers (and their clock versions) to re-evaluate at that day's start
        self.due: dict[int, tuple[list[int], list[int]]] = {}
        self.waiting = np.zeros(customers, bool)
        self.moves = [0] * customers  # transitions so far (the counter of their draws)
        self.conversions = np.zeros(customers, np.int64)
        self.wom_touched = np.zeros(customers, bool)
        # the log, in the order things happen (every customer's starting stage at time 0 and
        # the campaigns' touches are added as arrays at the end): stage changes (who, when,
        # to which stage; campaigns draw anew for who), conversions (who, when, the
        # customer's count before it) and word-of-mouth touches (who, when, channel)
        self.changed: list[int] = []
        self.changed_t: list[float] = []
        self.changed_to: list[int] = []
        self.conv_i: list[int] = []
        self.conv_t: list[float] = []
        self.conv_k: list[int] = []
        self.touch_i: list[int] = []
        self.touch_t: list[float] = []
        self.touch_c: list[int] = []
        self.resources: dict[int, tuple[_Resource, Any]] = {}
        for name, cap in model.capacity.items():
            s = cm.stages.index(cap.stage)
            # servers are for the model's population: scale them to the simulated customers
            exact = cap.servers * customers / model.population
            servers = max(1, round(exact))
            if abs(servers - exact) > 0.1 * exact:
                log.warning(
                    "capacity '%s': %d servers for a population of %s are %.2f for %s "
                    "customers, rounded to %d; simulate more customers (up to the "
                    "population) for a capacity that scales exactly",
                    name, cap.servers, f"{model.population:,}", exact, f"{customers:,}", servers,
                )  # fmt: skip
            self.resources[s] = (_Resource(self.env, name, servers), cap)
        self.schedules = [model.channels[c].schedule for c in cm.channels]
        days = math.ceil(self.horizon / self.step)
        self.spend = np.zeros((C, days + 1))
        # a touch costs what it does in the Markov engine (CompiledModel.touch_cost); the
        # daily budget is a hard cap on touches, scaled to the simulated customers and
        # rounded at random each day (_affordable)
        self.day_cap = [None if np.isnan(x) else float(x) for x in cm.affordable_touches(customers)]
        self.undelivered = [0] * C  # touches the budget could not pay for, per channel
        # Who a campaign touches on a day is decided at the day's start, as in the Markov
        # engine, and the touch weighs on that whole day's hazards (adstock is a daily
        # pressure; the time of day only places the touch in the log). A visit to a stage
        # crosses as many day starts as a Markov-engine visit lasts steps (a clock starts
        # at the step start after the stage was entered), so the chance per step is the
        # same in both engines.
        self.day_p = np.minimum(self.plan.expo.astype(np.float64), 1.0)
        self.base_hazard = {
            p.stage: [list(map(float, p.hazard[g] / self.step)) for g in range(len(cm.segments))]
            for p in self.plan.plans
        }
        # the same as dense tables for many customers at once (_evaluate_many): base
        # hazards by (segment, stage, target), and each (stage, channel)'s effect
        G = len(cm.segments)
        self.base_dense = np.zeros((G, S, width))
        self.eff_live = np.zeros((S, C), bool)
        self.eff_lift = np.zeros((S, C, width))
        self.eff_ec = np.ones((S, C))
        self.eff_slope = np.ones((S, C))
        for p in self.plan.plans:
            self.base_dense[:, p.stage, : p.targets.size] = p.hazard / self.step
            for c, cols, lift, ec, slope in p.effects:
                if self.eff_live[p.stage, c]:
                    raise AssertionError("two effects of one channel on one stage")
                self.eff_live[p.stage, c] = True
                self.eff_lift[p.stage, c, cols] = lift
                self.eff_ec[p.stage, c], self.eff_slope[p.stage, c] = ec, slope
        self.alpha_np = np.asarray(cm.alpha, np.float64)
        # alpha ** days per channel, for the days a run has (the decay of adstock)
        self.decay = np.power(self.alpha_np[:, None], np.arange(self.spend.shape[1] + 1))
        self.touch_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.capped_budget = 0
        self.capped_frequency = 0
        self.week_count = np.zeros((C, customers), np.int32)
        self.week_of = np.full((C, customers), -1, np.int64)
        self.wom_contacts = 0
        self.wom_touches = 0
        self._campaign_tables()
        self._network(model)

    # -- set up ------------------------------------------------------------------------------
    def _network(self, model: JourneyModel) -> None:
        cm = self.cm
        self.wom = cm.wom_channel >= 0 and cm.wom_rate > 0
        # entering which stage starts a customer talking
        self.talks_from = [self.wom and bool(x) for x in cm.wom_sources]
        self.listens = cm.wom_targets.tolist()  # in which stages a word-of-mouth touch lands
        # talking spells (see _spell_start): each customer's current spell (-1: silent), the
        # time of their next conversation not drawn yet, and the counter of their draws
        self.spell = np.full(self.n, -1, np.int64)
        self.talk_next = np.full(self.n, np.inf)
        self.talk_k = np.zeros(self.n, np.int64)
        self.spell_end: list[float] = []  # per spell: when it ended (inf while it lasts)
        # the conversations drawn: (times, spells), counted at the end; and today's whose
        # contact did not listen when they were drawn: (times, talkers, spells, contacts),
        # and who such a contact is
        self.talk_log: list[tuple[np.ndarray, np.ndarray]] = []
        self.unheard: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.unheard_by = np.zeros(self.n, bool)
        # the same for spells that started during the day, by contact: [(time, talker, spell)]
        self.unheard_one: dict[int, list[tuple[float, int, int]]] = {}
        if not self.wom:
            return
        degree = model.network.degree if model.network is not None else 8.0
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(7,)))
        m = round(self.n * degree / 2)
        a, b = rng.integers(0, self.n, m), rng.integers(0, self.n, m)
        keep = a != b
        a, b = a[keep], b[keep]
        src, dst = np.concatenate([a, b]), np.concatenate([b, a])
        # contacts grouped by customer, each group in drawing order (a stable radix sort)
        self.nbr = dst[_stable_order(src)]
        self.degree = np.bincount(src, minlength=self.n)
        self.nbr_off = np.concatenate(([0], np.cumsum(self.degree)))
        self.wom_rate = cm.wom_rate / self.step
        self.listens_np = cm.wom_targets.astype(bool)

    # -- adstock, hazards and exposure rates ---------------------------------------------------
    def hazards(self, i: int, plan: Any, day: int) -> tuple[list[float], bool]:
        """Per-day hazards of the targets of the customer's stage, and whether a lifting
        adstock is decaying (the hazards then change at the next day start)."""
        base = self.base_hazard[plan.stage][self.seg_list[i]]
        if not plan.effects:
            return base, False
        mult: list[float] | None = None
        ad = self.ad
        for c, cols, lift, ec, slope in plan.effects:
            a = float(ad[c, i])
            if not a:
                continue
            a *= self.alpha[c] ** (day - int(self.aday[c, i]))
            if a < 1e-6:
                ad[c, i] = 0.0
                continue
            if mult is None:
                mult = [1.0] * len(base)
            h = a / (a + ec) if slope == 1.0 else a**slope / (a**slope + ec**slope)
            for col in cols:
                mult[col] += lift * h
        if mult is None:  # no lifting adstock left: the base hazards, constant from now on
            return base, False
        return [b * m for b, m in zip(base, mult, strict=True)], True

    def uniform(self, i: int, purpose: int, k: int) -> float:
        """:func:`uniform` from the customer's first scramble, kept (half the work)."""
        x = (self.keys[i] + purpose * _G2 + k * _G1) & _MASK
        x = (x ^ (x >> 30)) * _G2 & _MASK
        x = (x ^ (x >> 27)) * _G3 & _MASK
        return (((x ^ (x >> 31)) >> 11) + 0.5) / 9007199254740992.0

    # -- customers ----------------------------------------------------------------------------
    # A customer is not a simpy process but a transition clock driven by callbacks: the
    # next wake-up (a transition) is a Timeout whose callback moves the customer on. A touch
    # that lifts the hazards re-evaluates the clock at that instant and schedules a new
    # wake-up; the old one becomes stale (its version no longer matches) and is ignored
    # when it fires. The customers a day's campaigns lift are re-evaluated together after
    # the campaigns (_days), a word-of-mouth touch in an urgent event of its own
    # (_lift_soon); decaying adstock is followed at day starts for all such customers at
    # once (_days). This does what a process interrupted by each touch
    # would do, without a generator, an Interrupt exception and an event per customer.
    def _start(self, i: int, stage: int) -> None:
        """A new stage: draw the hazard budget of the customer's next transition."""
        plan = self.by_stage.get(stage)
        if plan is None:
            self.waiting[i] = False
            return  # absorbed
        k = self.moves[i]  # the first few draws of every customer were made in bulk
        need = -math.log(self._bulk[_WAIT][k][i] if k < _BULK else self.uniform(i, _WAIT, k))
        self.need[i] = need
        self.used[i] = 0.0
        t = self.env.now
        day = int(t / self.step + 1e-12)
        if t <= day * self.step + 1e-12:
            self._schedule(i, plan, need)
            return
        # As in the discrete chain, a customer leaves a stage at the earliest in the step
        # after the one they entered it in: the clock starts at the next step start (the
        # day-start re-evaluation, _days), and until then nothing lifts it.
        self.total[i] = 0.0
        self.t_eval[i] = t
        version = int(self.version[i]) + 1
        self.version[i] = version
        self.waiting[i] = False
        if (day + 1) * self.step < self.horizon - 1e-12:
            due = self.due.setdefault(day + 1, ([], []))
            due[0].append(i)
            due[1].append(version)

    def _schedule(self, i: int, plan: Any, left: float | None = None) -> None:
        """Evaluate the hazards now and schedule the next wake-up: the transition, if the
        budget runs out before the hazards next change; else, while a lifting adstock
        decays, a re-evaluation at the next day start (done for all such customers at once,
        :meth:`_days`); nothing if neither happens within the horizon. ``left``: the
        hazard budget left, if known."""
        t = self.env.now
        day = int(t / self.step + 1e-12)
        lam, decaying = self.hazards(i, plan, day)
        total = sum(lam)
        horizon = self.horizon
        span = (min(horizon, (day + 1) * self.step) if decaying else horizon) - t
        if left is None:
            left = float(self.need[i] - self.used[i])
        fire = total > 0 and left <= total * span
        self.t_eval[i] = t
        self.lam[i] = lam
        self.total[i] = total
        version = int(self.version[i]) + 1
        self.version[i] = version
        self.waiting[i] = True
        if fire:
            self.env.timeout(max(left / total, 0.0), (i, version)).callbacks.append(self._wake)
        elif t + span < horizon - 1e-12:  # the hazards change at the next day start
            due = self.due.setdefault(day + 1, ([], []))
            due[0].append(i)
            due[1].append(version)
        # else nothing happens before the end unless a touch lifts the hazards

    def _wake(self, event: simpy.Timeout) -> None:
        """A wake-up fired (its value: the customer and the clock version it was for)."""
        i, version = payload(event)
        if self.version[i] != version:
            return  # re-evaluated since (a touch): a newer wake-up is scheduled
        self.waiting[i] = False
        self.version[i] = version + 1  # the clock has run out
        # only transitions are wake-ups (day starts are _days'): pick the target in
        # proportion to the hazards, and move
        lam = self.lam[i]
        k = self.moves[i]
        u = self._bulk[_TARGET][k][i] if k < _BULK else self.uniform(i, _TARGET, k)
        u *= float(self.total[i])
        acc, col = 0.0, len(lam) - 1
        for j, h in enumerate(lam):
            acc += h
            if u < acc:
                col = j
                break
        to = self.targets[int(self.stage[i])][col]
        self.moves[i] = k + 1
        if to in self.resources:
            _Visit(self, i, to, k)
            return
        self.enter(i, to)
        self._start(i, to)

    def _lift_soon(self, i: int) -> None:
        """A touch lifts a waiting customer's hazards: re-evaluate the clock in an urgent
        event at this instant, after the step that touched (as an interrupt would), so
        that every touch of this step counts and events at the same time keep their order."""
        self.waiting[i] = False
        call_soon(self.env, lambda _event: self._lift(i))

    def _lift(self, i: int) -> None:
        """A touch changed the hazards of a waiting customer: re-evaluate the clock."""
        self.used[i] += self.total[i] * (self.env.now - self.t_eval[i])
        self._schedule(i, self.by_stage[int(self.stage[i])])

    # -- campaigns ----------------------------------------------------------------------------
    # Each of a campaign's days is a Bernoulli trial for every customer, with the daily touch
    # probability of their (segment, stage) cell. Instead of a draw per customer and day,
    # each customer draws the day of their next touch (a geometric number of campaign days
    # ahead), again after each touch and whenever their stage has changed (the trials are
    # memoryless, so starting afresh is exact): a day's work is in proportion to its
    # touches and stage changes, not to the population. All campaigns are decided at once.
    def _campaign_tables(self) -> None:
        """The channels that run a campaign, each one's days (its schedule), log(1 - p) of
        its daily touch probability per cell, and every customer's next touch day on it."""
        self.live = np.flatnonzero(self.day_p.any(axis=1))
        L, D = self.live.size, self.spend.shape[1]
        self.never = D  # a day that never comes
        days_of = []
        for c in self.live.tolist():
            sch = self.schedules[c]
            days_of.append(
                [d for d in range(D) if d * self.step < self.horizon
                 and (sch is None or sch.active(int(d * self.step)))]
            )  # fmt: skip
        # the index among a campaign's days of its first day on or after day d, and its days
        # in a row per campaign, each row ending with one that never comes
        self.first_trial = np.array(
            [np.searchsorted(np.array(ds, np.int64), np.arange(D + 1)) for ds in days_of],
            np.int64,
        ).reshape(L, D + 1)
        self.n_trials = np.array([len(ds) for ds in days_of], np.int64)
        self.trial_off = np.concatenate(([0], np.cumsum(self.n_trials + 1)[:-1])).astype(np.int64)
        self.trial_day = np.array([d for ds in days_of for d in (*ds, self.never)], np.int64)
        # per (campaign, cell): log(1 - p) of the daily touch probability (0: out of reach)
        self.log_stay = np.log1p(-self.day_p[self.live]).ravel()
        self.cells = self.day_p.shape[1]
        # per (campaign, customer) pair, numbered campaign * customers + customer: the day
        # of the next touch, the counter of the next draw, and a scratch column
        self.next_touch = np.full(L * self.n, self.never, np.int32)
        self.touch_draws = np.zeros(L * self.n, np.int64)
        self.slot = np.zeros(L * self.n, np.int64)
        # day -> the pairs whose touch was drawn for that day; an entry is stale if the
        # customer has drawn anew since
        self.calendar: dict[int, list[np.ndarray]] = {}
        self.seen = 0  # how much of self.changed the campaigns have drawn anew for
        self.live_rows = np.arange(L)[:, None]
        self.touched = np.zeros(0, np.int64)  # the pairs touched the day before
        fcaps = [None if sch is None else sch.frequency_cap for sch in self.schedules]
        self.capped = [
            k for k, c in enumerate(self.live.tolist())
            if self.day_cap[c] is not None or fcaps[c] is not None
        ]  # fmt: skip
        self.tracked_np = np.array(self.tracked, bool)
        self.incr_np = np.array(self.incr, np.float64)

    def _draw_touches(self, ch: np.ndarray, who: np.ndarray, day: int) -> None:
        """The next touch of customers ``who`` by campaigns ``ch`` (pairs), on ``day`` or a
        later day of the campaign."""
        n = self.n
        pair = ch * n + who
        ls = self.log_stay[ch * self.cells + self.seg[who] * self.cm.n_stages + self.stage[who]]
        self.next_touch[pair] = self.never
        ok = ls < 0  # else out of the campaign's reach
        ch, who, pair, ls = ch[ok], who[ok], pair[ok], ls[ok]
        k = self.touch_draws[pair]
        u = keyed_uniforms(self.keys_np[who], _EXPOSE + self.live[ch], k)
        self.touch_draws[pair] = k + 1
        later = np.floor(np.log(u) / ls)  # P(later >= g) = (1 - p)^g
        trial = np.minimum(self.first_trial[ch, day] + later, self.n_trials[ch])
        when = self.trial_day[self.trial_off[ch] + trial.astype(np.int64)]
        self.next_touch[pair] = when
        # into the calendar, by day
        soon = when < self.never
        when, pair = when[soon], pair[soon]
        order = np.argsort(when, kind="stable")
        when, pair = when[order], pair[order]
        cuts = np.flatnonzero(when[1:] != when[:-1]) + 1
        calendar = self.calendar
        for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), when.size], strict=True):
            if a < b:
                calendar.setdefault(int(when[a]), []).append(pair[a:b])

    def _campaigns(self, day: int) -> np.ndarray:
        """The day's touches of every campaign, within the frequency caps and the daily
        budgets; returns the waiting customers whose hazards they lift."""
        n, L = self.n, self.live.size
        if L == 0:
            return np.zeros(0, np.int64)
        # draws: on the first day, everyone's first touch by every campaign; since, the next
        # touch of who was touched the day before and of who has changed stage since
        if day == 0:
            pair = np.arange(L * n)
        else:
            # (a pair twice draws the same twice: the counter moves on after both)
            moved = np.array(self.changed[self.seen :], np.int64)
            self.seen = len(self.changed)
            pair = np.concatenate([(self.live_rows * n + moved).ravel(), self.touched])
        if pair.size:
            ch, who = np.divmod(pair, n)
            self._draw_touches(ch, who, day)
        due = self.calendar.pop(day, None)
        if not due:
            self.touched = np.zeros(0, np.int64)
            return self.touched
        pair = np.concatenate(due)
        pair = pair[self.next_touch[pair] == day]  # not drawn anew since
        # each pair once (one may be in the calendar twice): the last to write its slot
        order = np.arange(pair.size)
        self.slot[pair] = order
        pair = self.touched = pair[self.slot[pair] == order]
        ch, hit = np.divmod(pair, n)
        for k in self.capped:
            rows = np.flatnonzero(ch == k)
            if rows.size:
                drop = rows[~self._caps(int(self.live[k]), hit[rows], day)]
                if drop.size:
                    ch, hit = np.delete(ch, drop), np.delete(hit, drop)
        if hit.size == 0:
            return np.zeros(0, np.int64)
        c = self.live[ch]
        # the day's spend, scaled to the population
        self.spend[:, day] = (
            np.bincount(c, minlength=self.cm.n_channels) * self.cm.touch_cost
            * (self.cm.model.population / n)
        )  # fmt: skip
        h0, h1 = self.cm.model.agents.touch_hours
        hours = h0 + (h1 - h0) * keyed_uniforms(self.keys_np[hit], _HOUR + c, day)
        self.touch_parts.append((hit, day * self.step + hours / 24.0 * self.step, c))
        tracked = self.tracked_np[c]
        if tracked.any():
            tc, ti = c[tracked], hit[tracked]
            a = self.ad[tc, ti] * self.decay[tc, day - self.aday[tc, ti]]
            self.ad[tc, ti] = a + self.incr_np[tc]
            self.aday[tc, ti] = day
        lift = hit[self.lifts[c, self.stage[hit]] & self.waiting[hit]]
        return np.unique(lift)

    def _affordable(self, c: int, day: int) -> int | None:
        """The touches a channel's budget pays for on a day: the budget over a touch's cost,
        rounded down or up at random in proportion (so that on average no money is lost to
        rounding however few customers are simulated); None without a budget cap. The
        draw is keyed by (seed, channel, day) only (common random numbers)."""
        exact = self.day_cap[c]
        if exact is None:
            return None
        whole = math.floor(exact)
        return whole + int(uniform(self.seed, _MARKET_KEY, _BUDGET + c, day) < exact - whole)

    def _caps(self, c: int, hit: np.ndarray, day: int) -> np.ndarray:
        """Which of a campaign's hits it delivers: at most ``frequency_cap`` touches per
        customer and calendar week, then at most the day's budget (a random few)."""
        keep = np.ones(hit.size, bool)
        schedule, cap = self.schedules[c], self._affordable(c, day)
        fcap = schedule.frequency_cap if schedule is not None else None
        if fcap is not None:
            week = int(day * self.step // 7)
            stale = self.week_of[c, hit] != week
            self.week_count[c, hit[stale]] = 0
            self.week_of[c, hit] = week
            keep = self.week_count[c, hit] < fcap
            self.capped_frequency += int((~keep).sum())
        if cap is not None and keep.sum() > cap:
            # the day's budget runs out: it serves a random few of those it would touch
            rows = np.flatnonzero(keep)
            self.capped_budget += rows.size - cap
            self.undelivered[c] += rows.size - cap
            rank = keyed_uniforms(self.keys_np[hit[rows]], _RANK + c, day)
            keep[rows[np.argsort(rank, kind="stable")[cap:]]] = False
        if fcap is not None:
            self.week_count[c, hit[keep]] += 1  # only touches delivered count towards the cap
        return keep

    def enter(self, i: int, to: int) -> None:
        now = self.env.now
        if now > self.horizon:
            return
        was = int(self.stage[i])
        self.stage[i] = to
        self.changed.append(i)
        self.changed_t.append(now)
        self.changed_to.append(to)
        if to == self.conversion:
            # the value is drawn at the end, for all conversions at once (arrays)
            self.conv_i.append(i)
            self.conv_t.append(now)
            self.conv_k.append(int(self.conversions[i]))
            self.conversions[i] += 1
        if self.talks_from[to] != self.talks_from[was]:
            if self.talks_from[to]:
                self._spell_start(i)
            elif self.spell[i] >= 0:
                self.spell_end[self.spell[i]] = now  # the talking stops
                self.spell[i] = -1
                self.talk_next[i] = math.inf
                self.talk_k[i] += 1  # the pending wait's draw is spent
        if (
            self.listens[to]
            and not self.listens[was]
            and (self.unheard_by[i] or i in self.unheard_one)
        ):
            self._listen(i)

    # -- touches ------------------------------------------------------------------------------
    def touch(self, i: int, c: int) -> None:
        """A single touch now (word of mouth): it counts from this moment on."""
        now = self.env.now
        if self.tracked[c]:
            day = int(now / self.step + 1e-12)
            a = float(self.ad[c, i])
            if a:
                a *= self.alpha[c] ** (day - int(self.aday[c, i]))
            self.ad[c, i] = a + self.incr[c]
            self.aday[c, i] = day
        self.touch_i.append(i)
        self.touch_t.append(now)
        self.touch_c.append(c)
        if self.waiting[i] and self.lifts[c, self.stage[i]]:
            self._lift_soon(i)

    # Word of mouth. While a customer is in a source stage (a talking spell), their
    # conversations are a Poisson process at the contact rate, each with a random contact.
    # They are drawn a day at a time, for all talkers at once (_talk_day; a spell that starts
    # during a day draws the rest of that day at once). Only a conversation whose contact
    # listens (is in a target stage) can do anything, so only those become simpy events:
    # when drawn if the contact listens then, else when the contact starts listening before
    # the conversation (_listen). When it happens, the talker must still be in the same
    # spell and the contact still listening. (A Poisson process restricted to the spells is
    # Poisson at the same rate in them, so this is the same process as a chain of waits.)
    def _spell_start(self, i: int) -> None:
        lo, hi = int(self.nbr_off[i]), int(self.nbr_off[i + 1])
        if hi == lo:
            return  # nobody to talk to
        self.spell[i] = sid = len(self.spell_end)
        self.spell_end.append(math.inf)
        now, k = self.env.now, int(self.talk_k[i])
        t = now - math.log(self.uniform(i, _TALK, k)) / self.wom_rate
        end = min((int(now / self.step + 1e-12) + 1) * self.step, self.horizon)
        times = []
        while t < end:  # the rest of this day's conversations
            j = int(self.nbr[lo + int(self.uniform(i, _PICK, k) * (hi - lo))])
            self._heard(t, i, sid, j)
            times.append(t)
            k += 1
            t -= math.log(self.uniform(i, _TALK, k)) / self.wom_rate
        self.talk_next[i], self.talk_k[i] = t, k
        if times:
            self.talk_log.append((np.array(times), np.full(len(times), sid)))

    def _talk_day(self) -> None:
        """The day's conversations of every talker (all at once)."""
        now = self.env.now
        for part in self.unheard:  # forget conversations past (all of the day before)
            self.unheard_by[part[3]] = False
        self.unheard = []
        if self.unheard_one:  # but those a spell that started at this instant drew
            kept = ((j, [e for e in v if e[0] >= now]) for j, v in self.unheard_one.items())
            self.unheard_one = {j: v for j, v in kept if v}
        end = min((int(now / self.step + 1e-12) + 1) * self.step, self.horizon)
        who = np.flatnonzero(self.talk_next < end)
        while who.size:
            t, k = self.talk_next[who], self.talk_k[who]
            keys = self.keys_np[who]
            lo = self.nbr_off[who]
            pick = keyed_uniforms(keys, _PICK, k) * (self.nbr_off[who + 1] - lo)
            contact = self.nbr[lo + pick.astype(np.int64)]
            sid = self.spell[who]
            self.talk_log.append((t, sid))
            heard = self.listens_np[self.stage[contact]]
            timeout, talk = self.env.timeout, self._talk
            for tt, i, s, j in zip(
                t[heard].tolist(),
                who[heard].tolist(),
                sid[heard].tolist(),
                contact[heard].tolist(),
                strict=True,
            ):
                timeout(tt - now, (i, s, j)).callbacks.append(talk)
            if not heard.all():
                unheard = ~heard
                self._unheard(t[unheard], who[unheard], sid[unheard], contact[unheard])
            k = k + 1
            t = t - np.log(keyed_uniforms(keys, _TALK, k)) / self.wom_rate
            self.talk_next[who], self.talk_k[who] = t, k
            who = who[t < end]

    def _heard(self, t: float, i: int, sid: int, j: int) -> None:
        """A conversation drawn for later today: an event if the contact listens now."""
        if self.listens[self.stage[j]]:
            self.env.timeout(t - self.env.now, (i, sid, j)).callbacks.append(self._talk)
        else:
            self.unheard_one.setdefault(j, []).append((t, i, sid))

    def _unheard(self, t: np.ndarray, i: np.ndarray, sid: np.ndarray, j: np.ndarray) -> None:
        """Conversations drawn for later today whose contacts do not listen now."""
        if t.size:
            self.unheard.append((t, i, sid, j))
            self.unheard_by[j] = True

    def _listen(self, j: int) -> None:
        """A contact starts listening: today's conversations with them still to come happen."""
        now = self.env.now
        for t_, i, sid_ in self.unheard_one.pop(j, ()):
            if t_ > now:
                self.env.timeout(t_ - now, (i, sid_, j)).callbacks.append(self._talk)
        if not self.unheard_by[j]:
            return
        self.unheard_by[j] = False
        for t, talker, sid, contact in self.unheard:
            for k in np.flatnonzero(contact == j).tolist():
                contact[k] = -1  # happens (or not) from now on
                if t[k] > now:
                    event = self.env.timeout(float(t[k]) - now, (int(talker[k]), int(sid[k]), j))
                    event.callbacks.append(self._talk)

    def _talk(self, event: simpy.Timeout) -> None:
        i, sid, j = payload(event)
        if self.spell[i] == sid and self.listens[self.stage[j]]:
            self.wom_touches += 1
            self.wom_touched[j] = True
            self.touch(j, self.cm.wom_channel)

    def _count_talks(self) -> None:
        """At the end: how many of the conversations drawn happened (within their spell)."""
        if self.talk_log:
            t = np.concatenate([p[0] for p in self.talk_log])
            sid = np.concatenate([p[1] for p in self.talk_log])
            self.wom_contacts = int((t < np.array(self.spell_end)[sid]).sum())

    # -- run ----------------------------------------------------------------------------------
    def _start_all(self) -> None:
        """Every customer's first clock at time 0, evaluated for all customers at once."""
        assert self.env.now == 0.0
        self.need = -np.log(keyed_uniforms(self.keys_np, _WAIT, 0))
        active = np.flatnonzero(np.isin(self.stage, list(self.by_stage)))
        self._evaluate_many(active)
        if self.wom:
            talkers = np.flatnonzero(self.cm.wom_sources[self.stage] & (self.degree > 0))
            self.spell[talkers] = np.arange(talkers.size)
            self.spell_end = [math.inf] * talkers.size
            u = keyed_uniforms(self.keys_np[talkers], _TALK, 0)
            self.talk_next[talkers] = -np.log(u) / self.wom_rate
            self._talk_day()

    def _days(self) -> Generator[Any, Any, None]:
        """Every day start, before anything else of the day: the campaigns touch, and the
        customers whose hazards changed carry on with the new ones, all at once: those the
        touches lift and those whose lifting adstock decayed overnight; then the talkers'
        conversations of the day are drawn. On the first day, after the campaigns, every
        customer's clock starts."""
        env = self.env
        for day in range(self.spend.shape[1]):
            t_day = day * self.step
            if t_day >= self.horizon:
                return
            if day:
                yield env.timeout(t_day - env.now)
            lifted = self._campaigns(day)
            if day == 0:
                self._start_all()
                continue
            entries = self.due.pop(day, None)
            if entries is not None:
                ids = np.array(entries[0], dtype=np.int64)
                decayed = ids[self.version[ids] == entries[1]]  # not evaluated since
                lifted = np.unique(np.concatenate([decayed, lifted]))
            self._carry_on(lifted)
            if self.wom:
                self._talk_day()

    def _carry_on(self, ids: np.ndarray) -> None:
        """Waiting customers whose hazards changed now: count the hazard used so far and
        evaluate their clocks anew (all at once)."""
        if ids.size:
            self.used[ids] += self.total[ids] * (self.env.now - self.t_eval[ids])
            self._evaluate_many(ids)

    def _evaluate_many(self, ids: np.ndarray) -> None:
        """:meth:`_schedule` for many customers at once: the same arithmetic, element by
        element, as :meth:`hazards` does for one, on dense (customer, channel, target)
        tables (numpy's powers may differ from Python's in the last bit)."""
        if ids.size == 0:
            return
        t = self.env.now
        day = int(t / self.step + 1e-12)
        horizon = self.horizon
        stage = self.stage[ids]
        lam = self.base_dense[self.seg[ids], stage]  # (m, T), zero beyond a stage's targets
        # the (channel, customer) pairs with an adstock that lifts the customer's stage
        c, pos = np.nonzero(self.eff_live[stage].T & (self.ad[:, ids] != 0))
        decaying = np.zeros(ids.size, bool)
        if c.size:
            who = ids[pos]
            ao = self.ad[c, who] * self.decay[c, day - self.aday[c, who]]
            small = ao < 1e-6
            if small.any():
                self.ad[c[small], who[small]] = 0.0
                big = ~small
                c, pos, ao = c[big], pos[big], ao[big]
            if c.size:
                sl = self.eff_slope[stage[pos], c]
                ec = self.eff_ec[stage[pos], c]
                h = np.where(sl == 1.0, ao / (ao + ec), ao**sl / (ao**sl + ec**sl))
                # 1 + the lifts, added channel by channel (as hazards() does)
                mult = np.ones_like(lam)
                for k in np.unique(c).tolist():
                    sel = c == k
                    rows = pos[sel]
                    mult[rows] += self.eff_lift[stage[rows], k] * h[sel][:, None]
                lam = lam * mult
                decaying[pos] = True
        total = np.zeros(ids.size)
        for j in range(lam.shape[1]):  # left to right, as sum() adds
            total = total + lam[:, j]
        span = np.where(decaying, min(horizon, (day + 1) * self.step), horizon) - t
        left = self.need[ids] - self.used[ids]
        fire = (total > 0) & (left <= total * span)
        later = ~fire & decaying & (t + span < horizon - 1e-12)
        self.waiting[ids] = True
        self.t_eval[ids] = t
        self.total[ids] = total
        self.version[ids] += 1
        if later.any():
            due = self.due.setdefault(day + 1, ([], []))
            due[0].extend(ids[later].tolist())
            due[1].extend(self.version[ids[later]].tolist())
        # the wake-ups, in the order of ids (at equal times, the first scheduled goes first)
        firing = ids[fire]
        waits = np.maximum(left[fire] / total[fire], 0.0).tolist()
        timeout, wake, lams = self.env.timeout, self._wake, self.lam
        for i, v, w, row in zip(
            firing.tolist(), self.version[firing].tolist(), waits, lam[fire].tolist(), strict=True
        ):
            lams[i] = row
            timeout(w, (i, v)).callbacks.append(wake)

    def run(self, progress: Callable[[int], None] | None = None) -> None:
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
        env.process(self._days())
        days = math.ceil(self.horizon / self.step - 1e-9)
        for d in range(1, days + 1):  # a day at a time, to report progress
            env.run(until=min(d * self.step, self.horizon))
            if progress is not None:
                progress(d)
        for res, _ in self.resources.values():
            res.mark()
        self._count_talks()

    def arrays(self) -> dict[str, np.ndarray]:
        """The event log as integer-coded arrays, by customer and time (stable: at equal
        times, the order things happened)."""
        n0 = self.n
        parts = [(np.arange(n0), np.zeros(n0), np.full(n0, -1))]  # the starting stages
        parts += self.touch_parts
        parts.append((np.array(self.touch_i, np.int64), np.array(self.touch_t, np.float64),
                      np.array(self.touch_c, np.int64)))  # fmt: skip
        sizes = [p[0].size for p in parts]
        touches = sum(sizes) - n0
        changes, conversions = len(self.changed), len(self.conv_i)
        cust = np.concatenate(
            [*(p[0] for p in parts), np.array(self.changed, np.int64),
             np.array(self.conv_i, np.int64)]
        )  # fmt: skip
        t = np.concatenate(
            [*(p[1] for p in parts), np.array(self.changed_t, np.float64),
             np.array(self.conv_t, np.float64)]
        )  # fmt: skip
        kind = np.repeat(
            np.array([STAGE, TOUCH, STAGE, CONVERSION], np.int8),
            [n0, touches, changes, conversions],
        )
        channel = np.concatenate(
            [*(p[2] for p in parts), np.full(changes + conversions, -1)]
        ).astype(np.int16)
        stage = np.concatenate(
            [self.initial_stage, np.full(touches, -1, np.int16),
             np.array(self.changed_to, np.int16), np.full(conversions, -1, np.int16)]
        )  # fmt: skip
        value = np.zeros(t.size)
        if conversions:  # the k-th conversion of a customer draws the k-th value
            who = np.array(self.conv_i, np.int64)
            u = keyed_uniforms(self.keys_np[who], _VALUE, np.array(self.conv_k, np.int64))
            value[t.size - conversions :] = self.plan.values(self.seg[who], u)
        order = _stable_order(cust, np.argsort(t, kind="stable"))
        cust = cust[order]
        return {
            "customer_id": cust,
            "time": t[order],
            "event": kind[order],
            "channel": channel[order],
            "stage": stage[order],
            "value": value[order],
            "segment": self.seg[cust].astype(np.int16),
        }

    def stats(self, arrays: dict[str, np.ndarray]) -> AgentRunStats:
        rows = []
        for res, cap in self.resources.values():
            waits = np.asarray(res.waits)
            rows.append(
                {
                    "resource": res.name,
                    "stage": cap.stage,
                    "servers": res.servers,
                    "served": len(waits),
                    "timed_out": res.timed_out,
                    "mean_wait_days": float(waits.mean()) if waits.size else 0.0,
                    "max_wait_days": float(waits.max()) if waits.size else 0.0,
                    "mean_queue": res.queue_area / self.horizon,
                    "utilisation": res.busy_time / (res.servers * self.horizon),
                }
            )
        conv = arrays["customer_id"][arrays["event"] == CONVERSION]
        spend = pd.DataFrame(self.spend.T, columns=list(self.cm.channels))
        spend.index.name = "day"
        return AgentRunStats(
            resources=pd.DataFrame(rows),
            word_of_mouth_touches=self.wom_touches,
            word_of_mouth_contacts=self.wom_contacts,
            converted_after_word_of_mouth=int(self.wom_touched[np.unique(conv)].sum()),
            spend_per_day=spend.loc[:, self.cm.paid],
            capped_by_budget=self.capped_budget,
            capped_by_frequency=self.capped_frequency,
            simpy_events=events_scheduled(self.env),  # simpy numbers its scheduled events
        )


def stats_path(events: str | Path) -> Path:
    """Where the run statistics go beside an event log: ``events.agents.json``."""
    p = Path(events)
    return p.with_name(p.name.split(".")[0] + ".agents.json")


def agent_event_arrays(
    model: JourneyModel, customers: int, *, rng: Seed = None
) -> dict[str, np.ndarray]:
    """The integer-coded event arrays of one agent run (what the ground truth counts)."""
    world = _World(compile_model(model), customers, int(resolve_entropy(rng)) & _MASK)
    world.run()
    return world.arrays()


def simulate_agents(
    model: JourneyModel,
    customers: int = 10_000,
    *,
    rng: Seed = None,
    out: str | Path | None = None,
    sink: Callable[[pa.Table], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[SimulationSummary, AgentRunStats]:
    """Simulate ``customers`` customers of ``model`` with the agent-based engine.

    The same seed gives the same event log. Returns the summary the Markov engine gives
    (same fields, ``engine = "agents"``) and the agent statistics (queues, word of mouth,
    spend per day). ``progress`` is called with the number of days simulated. With
    ``out``, the statistics are written beside the log (:func:`stats_path`).
    """
    if customers < 1:
        raise ValueError(f"customers must be >= 1, got {customers}")
    cm = compile_model(model)
    entropy = resolve_entropy(rng)
    seed = int(entropy) & _MASK
    started = _time.perf_counter()
    world = _World(cm, customers, seed)
    world.run(progress)
    arrays = world.arrays()
    table = arrays_to_table(arrays, cm.channels, cm.stages, cm.segments)
    stats = world.stats(arrays)
    is_touch = arrays["event"] == TOUCH
    ch = arrays["channel"][is_touch].astype(np.intp)
    touched = np.zeros((cm.n_channels, customers), bool)
    touched[ch, arrays["customer_id"][is_touch]] = True
    is_conv = arrays["event"] == CONVERSION
    summary = SimulationSummary.start(model, cm, "agents", entropy, customers, out)
    summary.touches = np.bincount(ch, minlength=cm.n_channels).astype(np.int64)
    summary.reached = touched.sum(axis=1).astype(np.int64)
    summary.spend = summary.touches * cm.touch_cost  # delivered touches x their cost
    summary.undelivered = np.asarray(world.undelivered, np.int64)
    stages = arrays["event"] == STAGE  # every customer's first stage is a row too
    visited = np.zeros((cm.n_stages, customers), bool)
    visited[arrays["stage"][stages], arrays["customer_id"][stages]] = True
    summary.stage_reach = visited.sum(axis=1).astype(np.int64)
    summary.segment_customers = np.bincount(world.seg, minlength=len(cm.segments)).astype(np.int64)
    summary.conversions = int(is_conv.sum())
    summary.converters = int(np.unique(arrays["customer_id"][is_conv]).size)
    summary.revenue = float(arrays["value"][is_conv].sum())
    summary.events = len(arrays["event"])
    if out is not None:
        metadata = {
            "model": model.name, "model_hash": summary.model_hash, "engine": "agents",
            "seed": entropy, "customers": customers, "steps": cm.steps,
            "step_days": cm.step_days, "cjsim_version": _version(),
        }  # fmt: skip
        with EventWriter(out, arrow_schema(), metadata) as writer:
            writer.write(table)
        stats.write(stats_path(out))
    if sink is not None:
        sink(table)
    summary.elapsed = _time.perf_counter() - started
    log.info("agents: %d customers, %d simpy events in %.2fs", customers, stats.simpy_events,
             summary.elapsed)  # fmt: skip
    return summary, stats


def simulate_agents_frame(
    model: JourneyModel, customers: int = 1000, *, rng: Seed = None
) -> tuple[pd.DataFrame, SimulationSummary, AgentRunStats]:
    """Simulate into memory: the event log as a DataFrame, the summary and the statistics."""
    tables: list[pa.Table] = []
    summary, stats = simulate_agents(model, customers, rng=rng, sink=tables.append)
    return tables[0].to_pandas(), summary, stats
