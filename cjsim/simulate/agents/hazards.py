r"""Adstock and the hazards it lifts: the maths of leaving a stage.

A customer's hazard of moving from stage ``s`` to target ``t`` is the base hazard of
their segment, multiplied by :math:`1 + \sum_c \mathrm{lift}_c\,\mathrm{hill}(a_c)` over
the channels ``c`` with an effect on leaving ``s`` for ``t``, where :math:`a_c` is their
adstock of channel ``c`` and :math:`\mathrm{hill}(a) = a^k / (a^k + \mathrm{ec}^k)`.
Adstock is a *daily pressure*: it loses a factor alpha at every day start, so the
hazards are constant within a day and change at day starts while an adstock decays.
"""

from __future__ import annotations

import numpy as np

from cjsim.model.compiled import CompiledModel
from cjsim.model.curves import hill_response
from cjsim.simulate.plan import Plan, StagePlan

FORGOTTEN = 1e-6  # an adstock below this lifts nothing: it is set to 0 and stays there


class Adstock:
    """Every customer's adstock per channel, kept as (level, the day it is as of).

    The level today is ``level * alpha ** (today - as_of_day)``: decay is applied when
    the adstock is read or added to, not at every day start for everyone.

    Parameters
    ----------
    compiled : CompiledModel
        The model's arrays (alpha and normalisation per channel).
    plan : Plan
        Which channels keep an adstock (those with a live effect).
    customers : int
        How many customers.
    days : int
        The days of the run's calendar (for the table of ``alpha ** days``).
    """

    def __init__(self, compiled: CompiledModel, plan: Plan, customers: int, days: int) -> None:
        channels = compiled.n_channels
        self.alpha = [float(a) for a in compiled.alpha]
        # what a touch adds: 1 - alpha for a normalised adstock (its steady state is 1)
        self.increment = [float(x) for x in np.where(compiled.normalize, 1.0 - compiled.alpha, 1.0)]
        self.tracked = [c in set(plan.adstock_channels) for c in range(channels)]
        self.tracked_np = np.array(self.tracked, bool)
        self.increment_np = np.array(self.increment, np.float64)
        self.level = np.zeros((channels, customers))
        self.as_of_day = np.zeros((channels, customers), np.int64)
        alpha = np.asarray(compiled.alpha, np.float64)
        self.decay = np.power(alpha[:, None], np.arange(days + 1))  # alpha ** days, per channel

    def add(self, channel: int, i: int, day: int) -> None:
        """One touch of customer ``i`` by ``channel`` on ``day``."""
        a = float(self.level[channel, i])
        if a:
            a *= self.alpha[channel] ** (day - int(self.as_of_day[channel, i]))
        self.level[channel, i] = a + self.increment[channel]
        self.as_of_day[channel, i] = day

    def add_many(self, channel: np.ndarray, who: np.ndarray, day: int) -> None:
        """Touches of customers ``who`` by ``channel`` (one each, pairs) on ``day``."""
        tracked = self.tracked_np[channel]
        if tracked.any():
            tc, ti = channel[tracked], who[tracked]
            a = self.level[tc, ti] * self.decay[tc, day - self.as_of_day[tc, ti]]
            self.level[tc, ti] = a + self.increment_np[tc]
            self.as_of_day[tc, ti] = day


class HazardTables:
    """The base hazards and the channels' effects on them, per stage.

    Parameters
    ----------
    compiled : CompiledModel
        The model's arrays.
    plan : Plan
        The per-stage plans (targets, base hazards per step, effects).

    Attributes
    ----------
    by_stage : dict
        The plan of each stage a customer can leave.
    targets : dict
        Each stage's targets, padded to the widest stage's with its last target (a row
        of hazards may be padded with zeros; rounding can fall through to the end).
    base : dict
        Per stage and segment: the per-day base hazards of its targets (Python floats).
    lifts : numpy.ndarray
        ``lifts[channel, stage]``: a touch of the channel changes that stage's hazards.
    base_dense, has_effect, effect_lift, effect_ec, effect_slope : numpy.ndarray
        The same as dense tables, for many customers at once (:meth:`lifted_many`).
    """

    def __init__(self, compiled: CompiledModel, plan: Plan) -> None:
        step = compiled.step_days
        stages, channels = compiled.n_stages, compiled.n_channels
        segments = len(compiled.segments)
        self.by_stage = {p.stage: p for p in plan.plans}
        width = max((p.targets.size for p in plan.plans), default=1)
        self.targets = {
            p.stage: [*p.targets.tolist(), *[int(p.targets[-1])] * (width - p.targets.size)]
            for p in plan.plans
        }
        self.lifts = np.zeros((channels, stages), bool)
        for p in plan.plans:
            for c, *_ in p.effects:
                self.lifts[c, p.stage] = True
        self.base = {
            p.stage: [list(map(float, p.hazard[g] / step)) for g in range(segments)]
            for p in plan.plans
        }
        self.base_dense = np.zeros((segments, stages, width))  # (segment, stage, target)
        self.has_effect = np.zeros((stages, channels), bool)
        self.effect_lift = np.zeros((stages, channels, width))
        self.effect_ec = np.ones((stages, channels))
        self.effect_slope = np.ones((stages, channels))
        for p in plan.plans:
            self.base_dense[:, p.stage, : p.targets.size] = p.hazard / step
            for c, cols, lift, ec, slope in p.effects:
                if self.has_effect[p.stage, c]:
                    raise AssertionError("two effects of one channel on one stage")
                self.has_effect[p.stage, c] = True
                self.effect_lift[p.stage, c, cols] = lift
                self.effect_ec[p.stage, c], self.effect_slope[p.stage, c] = ec, slope

    def lifted(
        self, adstock: Adstock, i: int, segment: int, plan: StagePlan, day: int
    ) -> tuple[list[float], bool]:
        """Customer ``i``'s per-day hazards of their stage's targets on ``day``.

        Returns
        -------
        hazards : list of float
            One per target (the base list itself when nothing lifts it: do not change it).
        decaying : bool
            A lifting adstock is decaying: the hazards change at the next day start.
        """
        base = self.base[plan.stage][segment]
        if not plan.effects:
            return base, False
        mult: list[float] | None = None
        level, alpha, as_of = adstock.level, adstock.alpha, adstock.as_of_day
        for c, cols, lift, ec, slope in plan.effects:
            a = float(level[c, i])
            if not a:
                continue
            a *= alpha[c] ** (day - int(as_of[c, i]))
            if a < FORGOTTEN:
                level[c, i] = 0.0
                continue
            if mult is None:
                mult = [1.0] * len(base)
            h = hill_response(a, 1.0, ec, slope)
            for col in cols:
                mult[col] += lift * h
        if mult is None:  # no lifting adstock left: the base hazards, constant from now on
            return base, False
        return [b * m for b, m in zip(base, mult, strict=True)], True

    def lifted_many(
        self, adstock: Adstock, ids: np.ndarray, segment: np.ndarray, stage: np.ndarray, day: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`lifted` for many customers at once, on dense (customer, target) tables.

        The same arithmetic, element by element, as :meth:`lifted` does for one (numpy's
        powers may differ from Python's in the last bit). Returns the hazards (zero beyond
        a stage's targets) and whether each customer's are decaying.
        """
        lam = self.base_dense[segment, stage]  # (customers, targets)
        # the (channel, customer) pairs with an adstock that lifts the customer's stage
        c, pos = np.nonzero(self.has_effect[stage].T & (adstock.level[:, ids] != 0))
        decaying = np.zeros(ids.size, bool)
        if c.size:
            who = ids[pos]
            ao = adstock.level[c, who] * adstock.decay[c, day - adstock.as_of_day[c, who]]
            small = ao < FORGOTTEN
            if small.any():
                adstock.level[c[small], who[small]] = 0.0
                big = ~small
                c, pos, ao = c[big], pos[big], ao[big]
            if c.size:
                sl = self.effect_slope[stage[pos], c]
                ec = self.effect_ec[stage[pos], c]
                h = hill_response(ao, 1.0, ec, sl)
                # 1 + the lifts, added channel by channel (as lifted() does)
                mult = np.ones_like(lam)
                for k in np.unique(c).tolist():
                    sel = c == k
                    rows = pos[sel]
                    mult[rows] += self.effect_lift[stage[rows], k] * h[sel][:, None]
                lam = lam * mult
                decaying[pos] = True
        return lam, decaying
