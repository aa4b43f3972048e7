r"""Each customer's transition clock: when they leave their stage, and for where.

Hazards are piecewise constant (they change only at day starts and with touches), so the
time of a customer's next transition is sampled **exactly** by the integrated hazard:
draw a *hazard budget* :math:`E \sim \mathrm{Exp}(1)` and move when
:math:`\int_0^t \lambda(s)\,ds = E`; the target is drawn in proportion to the hazards
then. A per-step stay probability ``p`` is the continuous hazard
:math:`h = -\ln p / \Delta`, split over the targets, so both engines share the chain's
per-step transition probabilities.

As in the discrete chain (which moves a customer at most once a step), a clock in a new
stage starts at the next step start: a visit crosses as many step starts as a Markov
visit lasts steps, and leaves within each of them with the same probability.

A clock is not a simpy process but callbacks: the next transition is a ``Timeout`` whose
callback moves the customer on. A touch that lifts the hazards re-evaluates the clock at
that instant (it carries on with the budget already used up) and schedules a new wake-up;
the old one becomes stale -- its *version* no longer matches -- and is ignored when it
fires. Decaying adstock is followed at day starts, for all such customers at once. This
does what a process interrupted by each touch would do, without a generator, an
``Interrupt`` exception and an event per customer; a clock that would not run out before
the horizon schedules nothing at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container

import numpy as np
import simpy

from cjsim.simulate.agents.customers import Customers
from cjsim.simulate.agents.hazards import Adstock, HazardTables
from cjsim.simulate.agents.keyed_random import TARGET, WAIT, key_uniform, keyed_uniforms
from cjsim.simulate.agents.simpy_adapter import call_soon, payload
from cjsim.simulate.plan import StagePlan

BULK_DRAWS = 3  # transitions per customer whose draws are computed in bulk up front
EPS = 1e-12  # slack for comparing times with day starts (float sums of step_days)
_NO_HAZARDS: list[float] = []


class TransitionClocks:
    """The transition clocks of all customers, and the wake-ups that move them.

    Parameters
    ----------
    env : simpy.Environment
        The clock of the world.
    customers : Customers
        Their keys, segments and stages.
    tables : HazardTables
        Base hazards and effects.
    adstock : Adstock
        What lifts the hazards.
    step : float
        The model's step, in days (a "day").
    horizon : float
        The end of the run, in days.

    Attributes
    ----------
    enter : callable
        ``enter(customer, stage)``: the world's stage change, when a clock runs out.
    queues, queue : container, callable
        The stages that need a server, and ``queue(customer, stage, draw_counter)`` that
        queues for one (a visit then enters the stage and starts the next clock); set by
        the world.
    liftable : numpy.ndarray
        The customer's clock is running, so a touch that lifts their hazards must
        re-evaluate it (false while absorbed, queueing, before a new clock starts, or
        with a re-evaluation already on its way).
    reevaluate : dict
        day -> (customers, clock versions) whose hazards change at that day's start.
    """

    def __init__(
        self, env: simpy.Environment, customers: Customers, tables: HazardTables,
        adstock: Adstock, step: float, horizon: float,
    ) -> None:  # fmt: skip
        self.env, self.customers, self.tables, self.adstock = env, customers, tables, adstock
        self.step, self.horizon = step, horizon
        n = customers.count
        self.enter: Callable[[int, int], None] = lambda i, to: None
        self.queues: Container[int] = ()
        self.queue: Callable[[int, int, int], None] = lambda i, to, k: None
        # per customer: the hazard budget of the next transition and how much is used of
        # it, when and with which hazards (and their sum) it was last evaluated, and the
        # version that makes wake-ups scheduled before a re-evaluation stale
        self.budget = np.zeros(n)
        self.used = np.zeros(n)
        self.evaluated_at = np.zeros(n)
        self.hazards: list[list[float]] = [_NO_HAZARDS] * n  # replaced, never changed in place
        self.total = np.zeros(n)
        self.version = np.zeros(n, np.int64)
        self.liftable = np.zeros(n, bool)
        self.transitions = [0] * n  # transitions so far: the counter of their draws
        self.reevaluate: dict[int, tuple[list[int], list[int]]] = {}
        # the first draws of every customer's clocks, in bulk: [purpose][counter][customer]
        self.first_draws = {
            purpose: [
                keyed_uniforms(customers.keys, purpose, k).tolist() for k in range(BULK_DRAWS)
            ]
            for purpose in (WAIT, TARGET)
        }

    def _uniform(self, i: int, purpose: int, k: int) -> float:
        return key_uniform(self.customers.key_list[i], purpose, k)

    def _reevaluate_on(self, day: int, i: int, version: int) -> None:
        due = self.reevaluate.setdefault(day, ([], []))
        due[0].append(i)
        due[1].append(version)

    def start(self, i: int, stage: int) -> None:
        """Customer ``i`` is in a new stage: draw the hazard budget of their next move."""
        plan = self.tables.by_stage.get(stage)
        if plan is None:
            self.liftable[i] = False
            return  # absorbed
        k = self.transitions[i]  # the first few draws of every customer were made in bulk
        u = self.first_draws[WAIT][k][i] if k < BULK_DRAWS else self._uniform(i, WAIT, k)
        budget = -math.log(u)
        self.budget[i] = budget
        self.used[i] = 0.0
        t = self.env.now
        day = int(t / self.step + EPS)
        if t <= day * self.step + EPS:
            self.evaluate(i, plan, budget)
            return
        # entered during a step: the clock starts at the next step start (the day-start
        # re-evaluation), and until then nothing lifts it
        self.total[i] = 0.0
        self.evaluated_at[i] = t
        version = int(self.version[i]) + 1
        self.version[i] = version
        self.liftable[i] = False
        if (day + 1) * self.step < self.horizon - EPS:
            self._reevaluate_on(day + 1, i, version)

    def evaluate(self, i: int, plan: StagePlan, left: float | None = None) -> None:
        """Evaluate customer ``i``'s hazards now and schedule what comes next.

        The transition, if the budget runs out before the hazards next change; else,
        while a lifting adstock decays, a re-evaluation at the next day start; nothing if
        neither happens within the horizon. ``left``: the hazard budget left, if known.
        """
        t = self.env.now
        day = int(t / self.step + EPS)
        c = self.customers
        lam, decaying = self.tables.lifted(self.adstock, i, c.segment_list[i], plan, day)
        total = sum(lam)
        horizon = self.horizon
        span = (min(horizon, (day + 1) * self.step) if decaying else horizon) - t
        if left is None:
            left = float(self.budget[i] - self.used[i])
        fire = total > 0 and left <= total * span
        self.evaluated_at[i] = t
        self.hazards[i] = lam
        self.total[i] = total
        version = int(self.version[i]) + 1
        self.version[i] = version
        self.liftable[i] = True
        if fire:
            self.env.timeout(max(left / total, 0.0), (i, version)).callbacks.append(self._wake)
        elif t + span < horizon - EPS:  # the hazards change at the next day start
            self._reevaluate_on(day + 1, i, version)
        # else nothing happens before the end unless a touch lifts the hazards

    def _wake(self, event: simpy.Timeout) -> None:
        """A wake-up fired (its value: the customer and the clock version it was for)."""
        i, version = payload(event)
        if self.version[i] != version:
            return  # re-evaluated since (a touch): a newer wake-up is scheduled
        self.liftable[i] = False
        self.version[i] = version + 1  # the clock has run out
        # pick the target in proportion to the hazards (a wake-up is always a transition)
        lam = self.hazards[i]
        k = self.transitions[i]
        u = self.first_draws[TARGET][k][i] if k < BULK_DRAWS else self._uniform(i, TARGET, k)
        u *= float(self.total[i])
        acc, col = 0.0, len(lam) - 1
        for j, h in enumerate(lam):
            acc += h
            if u < acc:
                col = j
                break
        to = self.tables.targets[int(self.customers.stage[i])][col]
        self.transitions[i] = k + 1
        if to in self.queues:
            self.queue(i, to, k)
            return
        self.enter(i, to)
        self.start(i, to)

    def lift_soon(self, i: int) -> None:
        """A touch lifts customer ``i``'s hazards: re-evaluate the clock at this instant.

        In an urgent event after the step that touched (as an interrupt would), so that
        every touch of this step counts and events at the same time keep their order.
        """
        self.liftable[i] = False
        call_soon(self.env, lambda _event: self._lift(i))

    def _lift(self, i: int) -> None:
        self.used[i] += self.total[i] * (self.env.now - self.evaluated_at[i])
        self.evaluate(i, self.tables.by_stage[int(self.customers.stage[i])])

    def start_all(self) -> None:
        """The first clocks at time 0 of every customer in the market, evaluated at once."""
        assert self.env.now == 0.0
        self.budget = -np.log(keyed_uniforms(self.customers.keys, WAIT, 0))
        self.arrive(np.flatnonzero(self.customers.present))

    def arrive(self, ids: np.ndarray) -> None:
        """Customers ``ids`` enter the market now: their first clocks, evaluated at once."""
        stage = self.customers.stage[ids]
        self.evaluate_many(ids[np.isin(stage, list(self.tables.by_stage))])

    def due(self, day: int) -> np.ndarray:
        """The customers whose hazards were to change at ``day``'s start, still waiting."""
        entries = self.reevaluate.pop(day, None)
        if entries is None:
            return np.zeros(0, np.int64)
        ids = np.array(entries[0], dtype=np.int64)
        return ids[self.version[ids] == entries[1]]  # not evaluated since

    def carry_on(self, ids: np.ndarray) -> None:
        """Clocks whose hazards changed now: count the hazard used so far, evaluate anew."""
        if ids.size:
            self.used[ids] += self.total[ids] * (self.env.now - self.evaluated_at[ids])
            self.evaluate_many(ids)

    def evaluate_many(self, ids: np.ndarray) -> None:
        """:meth:`evaluate` for many customers at once (the same arithmetic)."""
        if ids.size == 0:
            return
        t = self.env.now
        day = int(t / self.step + EPS)
        horizon = self.horizon
        c = self.customers
        lam, decaying = self.tables.lifted_many(
            self.adstock, ids, c.segment[ids], c.stage[ids], day
        )
        total = np.zeros(ids.size)
        for j in range(lam.shape[1]):  # left to right, as sum() adds
            total = total + lam[:, j]
        span = np.where(decaying, min(horizon, (day + 1) * self.step), horizon) - t
        left = self.budget[ids] - self.used[ids]
        fire = (total > 0) & (left <= total * span)
        later = ~fire & decaying & (t + span < horizon - EPS)
        self.liftable[ids] = True
        self.evaluated_at[ids] = t
        self.total[ids] = total
        self.version[ids] += 1
        if later.any():
            due = self.reevaluate.setdefault(day + 1, ([], []))
            due[0].extend(ids[later].tolist())
            due[1].extend(self.version[ids[later]].tolist())
        # the wake-ups, in the order of ids (at equal times, the first scheduled goes first)
        firing = ids[fire]
        waits = np.maximum(left[fire] / total[fire], 0.0).tolist()
        timeout, wake, hazards = self.env.timeout, self._wake, self.hazards
        for i, v, w, row in zip(
            firing.tolist(), self.version[firing].tolist(), waits, lam[fire].tolist(), strict=True
        ):
            hazards[i] = row
            timeout(w, (i, v)).callbacks.append(wake)
