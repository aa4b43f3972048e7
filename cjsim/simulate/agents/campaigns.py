"""Paid campaigns: whom they touch each day, within their schedules, budgets and caps.

Who a campaign touches on a day is decided at the day's start, as in the Markov engine:
each customer in a target stage is touched with the daily probability of their
(segment, stage) cell, only on the days of the channel's schedule (start/end, weekly
flighting), never above its daily budget -- a hard cap, scaled to the simulated
customers, that serves a random few of those it would touch -- nor above a per-customer
``frequency_cap`` per calendar week. A touch is logged at a time of day within
``[agents] touch_hours``, costs what the Markov engine's does
(:attr:`cjsim.model.compiled.CompiledModel.touch_cost`) and weighs on that whole day's
hazards (adstock is a daily pressure).

Each of a campaign's days is a Bernoulli trial for every customer. Instead of a draw per
customer and day, each customer draws the day of their next touch -- a geometric number of
campaign days ahead -- again after each touch and whenever their stage has changed (the
trials are memoryless, so starting afresh is exact): a day's work is in proportion to its
touches and stage changes, not to the population.
"""

from __future__ import annotations

import math

import numpy as np

from cjsim.model.compiled import CompiledModel
from cjsim.simulate.agents.customers import Customers
from cjsim.simulate.agents.keyed_random import (
    BUDGET_RANK,
    BUDGET_ROUNDING,
    EXPOSURE,
    FLIGHT,
    MARKET,
    TOUCH_HOUR,
    keyed_uniforms,
    uniform,
)
from cjsim.simulate.plan import Plan


class Campaigns:
    """Every channel's campaign, decided a day at a time for all customers at once.

    Campaign-customer *pairs* are numbered ``campaign * customers + customer``, where a
    campaign is the index of its channel among :attr:`channels`.

    Parameters
    ----------
    compiled : CompiledModel
        The model's arrays (touch probabilities, costs, budgets).
    plan : Plan
        Its touch probability tables.
    customers : Customers
        Their keys, segments and stages.
    days : int
        The days of the run's calendar (one more than the run has).
    stage_changes : list of int
        Who changed stage, in order (the event log's, appended to as the run goes).

    Attributes
    ----------
    spend : numpy.ndarray
        Spend per (channel, day), scaled to the population.
    undelivered : list of int
        Touches each channel's budget could not pay for.
    capped_by_budget, capped_by_frequency : int
        Touches the budgets and the frequency caps held back.
    """

    def __init__(
        self, compiled: CompiledModel, plan: Plan, customers: Customers, days: int,
        stage_changes: list[int],
    ) -> None:  # fmt: skip
        self.compiled, self.customers, self.stage_changes = compiled, customers, stage_changes
        self.step = compiled.step_days
        self.horizon = compiled.steps * compiled.step_days
        model, channels, n = compiled.model, compiled.n_channels, customers.count
        self.schedules = [model.channels[c].schedule for c in compiled.channels]
        self.spend = np.zeros((channels, days))
        # a day's budget over a touch's cost, scaled to the simulated customers (None: no
        # budget); rounded at random each day (affordable)
        self.exact_affordable = [
            None if np.isnan(x) else float(x) for x in compiled.affordable_touches(n)
        ]
        self.undelivered = [0] * channels
        self.capped_by_budget = 0
        self.capped_by_frequency = 0
        # per (channel, customer): touches delivered in the week counted, and which week
        self.week_touches = np.zeros((channels, n), np.int32)
        self.week_counted = np.full((channels, n), -1, np.int64)
        self.touch_probability = np.minimum(plan.expo.astype(np.float64), 1.0)
        self._flights(plan, n)
        self.channels = np.flatnonzero(self.touch_probability.any(axis=1))  # that campaign
        self._trial_tables(days)
        self._pair_state()

    def _flights(self, plan: Plan, n: int) -> None:
        """Flighted channels: touches are drawn at each cell's highest daily chance and a
        day's touch is kept with that day's chance over it (thinning: each campaign day is
        still a Bernoulli trial, with the day's chance); their budgets change by the day."""
        cm, cells = self.compiled, self.touch_probability.shape[1]
        self.keep_chance: dict[int, np.ndarray] = {}  # channel -> (steps, cells)
        self.affordable_by_day: dict[int, np.ndarray] = {}
        for c, table in plan.flight.items():
            daily = np.minimum(table[:, :cells].astype(np.float64), 1.0)
            top = daily.max(axis=0)
            self.touch_probability[c] = top
            with np.errstate(divide="ignore", invalid="ignore"):
                self.keep_chance[c] = np.where(top > 0, daily / top, 0.0)
            if self.exact_affordable[c] is not None:
                per = cm.daily_budget[c] * cm.budget_level[c] * cm.step_days / cm.step_touch_cost[c]
                self.affordable_by_day[c] = per * (n / cm.model.population)

    def _trial_tables(self, days: int) -> None:
        """Each campaign's days (its schedule) and log(1 - p) of its touch probabilities."""
        self.never = days  # a day that never comes
        days_of = []
        for c in self.channels.tolist():
            sch = self.schedules[c]
            days_of.append(
                [d for d in range(days) if d * self.step < self.horizon
                 and (sch is None or sch.active(int(d * self.step)))]
            )  # fmt: skip
        # the index among a campaign's days of its first day on or after day d, and its
        # days in a row per campaign, each row ending with one that never comes
        self.first_trial = np.array(
            [np.searchsorted(np.array(ds, np.int64), np.arange(days + 1)) for ds in days_of],
            np.int64,
        ).reshape(self.channels.size, days + 1)
        self.trial_count = np.array([len(ds) for ds in days_of], np.int64)
        self.trial_offset = np.concatenate(([0], np.cumsum(self.trial_count + 1)[:-1])).astype(
            np.int64
        )
        self.trial_day = np.array([d for ds in days_of for d in (*ds, self.never)], np.int64)
        # per (campaign, cell): log(1 - p) of the daily touch probability (0: out of reach)
        self.log_no_touch = np.log1p(-self.touch_probability[self.channels]).ravel()
        self.cells = self.touch_probability.shape[1]

    def _pair_state(self) -> None:
        """The per-pair state, the calendar of touches drawn, and the capped campaigns."""
        campaigns, n = self.channels.size, self.customers.count
        # per pair: the day of the next touch, the counter of its next draw, and a scratch
        # column (which of today's entries of a pair came last)
        self.next_touch = np.full(campaigns * n, self.never, np.int32)
        self.draws = np.zeros(campaigns * n, np.int64)
        self.last_entry = np.zeros(campaigns * n, np.int64)
        # day -> the pairs whose touch was drawn for that day; an entry is stale if the
        # customer has drawn anew since
        self.calendar: dict[int, list[np.ndarray]] = {}
        self.changes_redrawn = 0  # how many of stage_changes have drawn anew
        self.campaign_rows = np.arange(campaigns)[:, None]
        self.touched_yesterday = np.zeros(0, np.int64)  # pairs
        fcaps = [None if sch is None else sch.frequency_cap for sch in self.schedules]
        self.capped = [
            k for k, c in enumerate(self.channels.tolist())
            if self.exact_affordable[c] is not None or fcaps[c] is not None
        ]  # fmt: skip

    def _draw_touches(self, campaign: np.ndarray, who: np.ndarray, day: int) -> None:
        """The next touch of customers ``who`` by ``campaign`` (pairs), on ``day`` or a
        later day of the campaign, into the calendar."""
        n, c = self.customers.count, self.customers
        pair = campaign * n + who
        cell = c.segment[who] * self.compiled.n_stages + c.stage[who]
        log_no_touch = self.log_no_touch[campaign * self.cells + cell]
        self.next_touch[pair] = self.never
        ok = log_no_touch < 0  # else out of the campaign's reach
        campaign, who, pair, log_no_touch = campaign[ok], who[ok], pair[ok], log_no_touch[ok]
        k = self.draws[pair]
        u = keyed_uniforms(c.keys[who], EXPOSURE + self.channels[campaign], k)
        self.draws[pair] = k + 1
        later = np.floor(np.log(u) / log_no_touch)  # P(later >= g) = (1 - p)^g
        first = self.first_trial[campaign, np.maximum(day, c.arrival[who])]  # once in market
        trial = np.minimum(first + later, self.trial_count[campaign])
        when = self.trial_day[self.trial_offset[campaign] + trial.astype(np.int64)]
        self.next_touch[pair] = when
        soon = when < self.never
        when, pair = when[soon], pair[soon]
        order = np.argsort(when, kind="stable")
        when, pair = when[order], pair[order]
        cuts = np.flatnonzero(when[1:] != when[:-1]) + 1
        calendar = self.calendar
        for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), when.size], strict=True):
            if a < b:
                calendar.setdefault(int(when[a]), []).append(pair[a:b])

    def _redraw(self, day: int) -> None:
        """Draw the next touches: on the first day, everyone's by every campaign; since,
        of who was touched the day before and of who has changed stage since."""
        n = self.customers.count
        if day == 0:
            pair = np.arange(self.channels.size * n)
        else:
            # (a pair twice draws the same twice: the counter moves on after both)
            moved = np.array(self.stage_changes[self.changes_redrawn :], np.int64)
            self.changes_redrawn = len(self.stage_changes)
            pair = np.concatenate(
                [(self.campaign_rows * n + moved).ravel(), self.touched_yesterday]
            )
        if pair.size:
            campaign, who = np.divmod(pair, n)
            self._draw_touches(campaign, who, day)

    def touch_day(self, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The day's touches of every campaign, within the frequency caps and budgets.

        Returns
        -------
        tuple of numpy.ndarray or None
            (customers, times, channels) of the touches delivered; None if there are none.
        """
        n = self.customers.count
        if self.channels.size == 0:
            return None
        self._redraw(day)
        due = self.calendar.pop(day, None)
        if not due:
            self.touched_yesterday = np.zeros(0, np.int64)
            return None
        pair = np.concatenate(due)
        pair = pair[self.next_touch[pair] == day]  # not drawn anew since
        # each pair once (one may be in the calendar twice): the last entry of each
        entry = np.arange(pair.size)
        self.last_entry[pair] = entry
        pair = self.touched_yesterday = pair[self.last_entry[pair] == entry]
        campaign, hit = np.divmod(pair, n)
        if self.keep_chance:
            campaign, hit = self._thin(campaign, hit, day)
        for k in self.capped:
            rows = np.flatnonzero(campaign == k)
            if rows.size:
                drop = rows[~self._caps(int(self.channels[k]), hit[rows], day)]
                if drop.size:
                    campaign, hit = np.delete(campaign, drop), np.delete(hit, drop)
        if hit.size == 0:
            return None
        channel = self.channels[campaign]
        cm = self.compiled
        self.spend[:, day] = (
            np.bincount(channel, minlength=cm.n_channels) * cm.step_touch_cost[:, day]
            * (cm.model.population / n)
        )  # fmt: skip
        h0, h1 = cm.model.agents.touch_hours
        hours = h0 + (h1 - h0) * keyed_uniforms(self.customers.keys[hit], TOUCH_HOUR + channel, day)
        return hit, day * self.step + hours / 24.0 * self.step, channel

    def _thin(self, campaign: np.ndarray, hit: np.ndarray, day: int
              ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Of the day's hits, those the flighted campaigns keep (the others draw their next
        touch from tomorrow on, as after any touch)."""
        keep = np.ones(hit.size, bool)
        for c, chance in self.keep_chance.items():
            rows = np.flatnonzero(self.channels[campaign] == c)
            if rows.size == 0:
                continue
            who = hit[rows]
            cell = self.customers.segment[who] * self.compiled.n_stages + self.customers.stage[who]
            u = keyed_uniforms(self.customers.keys[who], FLIGHT + c, day)
            keep[rows] = u < chance[day, cell]
        return campaign[keep], hit[keep]

    def affordable(self, channel: int, day: int) -> int | None:
        """The touches a channel's budget pays for on a day (None without a budget).

        The budget over a touch's cost, rounded down or up at random in proportion, so
        that on average no money is lost to rounding however few customers are simulated.
        The draw is keyed by (seed, channel, day) only (common random numbers).
        """
        exact = self.exact_affordable[channel]
        if exact is None:
            return None
        if channel in self.affordable_by_day:
            exact = float(self.affordable_by_day[channel][day])
        whole = math.floor(exact)
        u = uniform(self.customers.seed, MARKET, BUDGET_ROUNDING + channel, day)
        return whole + int(u < exact - whole)

    def _caps(self, channel: int, hit: np.ndarray, day: int) -> np.ndarray:
        """Which of a campaign's hits it delivers: at most ``frequency_cap`` touches per
        customer and calendar week, then at most the day's budget (a random few)."""
        keep = np.ones(hit.size, bool)
        schedule, cap = self.schedules[channel], self.affordable(channel, day)
        fcap = schedule.frequency_cap if schedule is not None else None
        if fcap is not None:
            week = int(day * self.step // 7)
            stale = self.week_counted[channel, hit] != week
            self.week_touches[channel, hit[stale]] = 0
            self.week_counted[channel, hit] = week
            keep = self.week_touches[channel, hit] < fcap
            self.capped_by_frequency += int((~keep).sum())
        if cap is not None and keep.sum() > cap:
            # the day's budget runs out: it serves a random few of those it would touch
            rows = np.flatnonzero(keep)
            self.capped_by_budget += rows.size - cap
            self.undelivered[channel] += rows.size - cap
            rank = keyed_uniforms(self.customers.keys[hit[rows]], BUDGET_RANK + channel, day)
            keep[rows[np.argsort(rank, kind="stable")[cap:]]] = False
        if fcap is not None:
            self.week_touches[channel, hit[keep]] += 1  # only delivered touches count
        return keep
