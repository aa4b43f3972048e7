"""One chunk of the Markov engine: whole markets of customers, stepped together.

A chunk's customers are arrays (:class:`_ChunkState`). Each step they meet touchpoints
(:meth:`_ChunkState.touch`), then may move stage (:meth:`_ChunkState.move`); entering
the conversion stage is a conversion (:meth:`_ChunkState._convert`). Every piece reads
its own rows of the step's uniforms, so the order of the draws is fixed by
:mod:`.draws`, not by the code here. The engine itself is described in
:mod:`cjsim.simulate.markov`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cjsim.events import CONVERSION, TOUCH
from cjsim.model.compiled import chance_per_hazard
from cjsim.model.curves import hill_float32
from cjsim.model.timing import arrival_steps
from cjsim.simulate.markov.draws import (
    BLOCK,
    _arrival_uniforms,
    _block_generators,
    _starting_cells,
    _Uniforms,
)
from cjsim.simulate.markov.eventlog import _HALF, _ChunkEvents
from cjsim.simulate.markov.touches import _within_budget, _wom_tables, _wom_touched
from cjsim.simulate.plan import Plan, StagePlan

#: Customers per market: they share a budget and word of mouth (a whole number of blocks).
MARKET = 64 * BLOCK


def _run_chunk(
    plan: Plan, entropy: int, start: int, n: int, draw_ahead: bool = False
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Simulate customers ``start .. start + n - 1`` (``start`` is a multiple of MARKET);
    with ``draw_ahead`` the next step's uniforms are drawn in a thread (same numbers).

    The chunk is padded to whole blocks: padding customers are simulated (so every
    block's stream is consumed the same way whatever ``n`` is) and dropped at the end;
    they spend no budget and do not talk.
    """
    nb = -(-n // BLOCK)
    gens = _block_generators(entropy, start // BLOCK, nb)
    seg, stage = _starting_cells(plan, gens)
    # U[slot] holds a step's uniforms for one purpose, all customers in a row
    draws = _Uniforms(gens, plan.slots, nb * BLOCK, plan.cm.steps, draw_ahead)
    chunk = _ChunkState(plan, entropy, start, n, seg, stage)
    for t in range(plan.cm.steps):
        if chunk.settled():
            break
        U = draws.step()
        chunk.touch(t, U)
        chunk.move(t, U)
    draws.close()
    return chunk.result()


class _ChunkState:
    """The customers of one chunk as arrays, what their markets share, and the counts so far.

    Customers ``0 .. n-1`` are real, the rest (up to whole blocks) padding. Per customer
    it keeps the segment, stage, stages visited, adstock and what depends only on their
    (segment, stage) cell -- each channel's touch chance and the bound on their chance
    of moving (``plan._move_bounds``) -- updated when they move instead of looked up
    every step; per market its size, budgets and talkers (customers in a source stage of
    word of mouth); and the chunk's events (:class:`_ChunkEvents`).
    """

    def __init__(
        self, plan: Plan, entropy: int, start: int, n: int, seg: np.ndarray, stage: np.ndarray
    ) -> None:
        cm = plan.cm
        S, C = plan.S, plan.C
        n_pad = seg.size
        self.plan, self.start, self.n, self.n_pad = plan, start, n, n_pad
        self.seg, self.stage = seg, stage
        self.seg_off = seg.astype(np.int32) * S
        self.visited = (np.uint32(1) << stage.astype(np.uint32)).astype(np.uint32)
        # adstock of the channels with effects, one row each, decayed together every step
        self.stock = np.zeros((len(plan.adstock_channels), n_pad), np.float32)
        self.adstock = dict(zip(plan.adstock_channels, self.stock, strict=True))
        self.retention = cm.alpha[plan.adstock_channels].astype(np.float32)[:, None]
        self.incr = {
            c: np.float32(1.0 - cm.alpha[c] if cm.normalize[c] else 1.0)
            for c in plan.adstock_channels
        }
        # markets: the chunk's customers in groups of MARKET (padding joins the last one)
        self.market = np.arange(n_pad, dtype=np.int32) // np.int32(MARKET)
        self.size = np.bincount(self.market[:n]).astype(np.float64)
        self.affordable, self.rounding = _market_budgets(plan, entropy, start, self.size)
        self.undelivered = np.zeros(C, np.int64)
        self.touches = np.zeros(C, np.int64)  # of real customers
        self.touched = np.zeros((C, n_pad), dtype=bool)
        self.converted = np.zeros(n_pad, dtype=bool)
        self.events = _ChunkEvents(C, S, cm.steps, cm.step_days)
        # arrivals: who enters the market in which step (everyone in step 0 without)
        self.arrival = _Arrivals(plan, entropy, start, n_pad)
        here = self.arrival.at(0)
        self.events.add(here, 0, np.zeros(here.size, np.int32), np.int16(C) + stage[here])
        # customers (padding too) in a stage where something can still happen to them
        self.check_settled = bool(plan.settled.any())
        # (a customer not in the market yet counts as unsettled until they arrive)
        self.unsettled = int(np.count_nonzero(~plan.settled[stage[here]])) + n_pad - here.size
        self.talkers = np.zeros(self.size.size)  # real customers in a source stage, per market
        # the customer's (segment, stage) cell; G * S: not in the market yet
        self.cell = np.full(n_pad, plan.G * S, np.int32)
        # (C, n_pad) float32; when people talk, word of mouth's row is not read: its
        # chances change every step with the talkers; nor are flighted channels' rows
        self.touch_p = np.zeros((C, n_pad), np.float32)
        self.move_bound = np.zeros(n_pad, np.float32)
        # the customer's (market, cell) in the word-of-mouth tables; None: no one talks
        self.wom_cell = np.zeros(n_pad, np.intp) if plan.talking else None
        self._arrive(here)

    def _arrive(self, ids: np.ndarray) -> None:
        """Customers ``ids`` enter the market: their cell's data, their market's talkers."""
        plan = self.plan
        cell = self.seg_off[ids] + self.stage[ids]
        self.cell[ids] = cell
        self.touch_p[:, ids] = plan.expo[:, cell]
        self.move_bound[ids] = plan.move_bound[cell]
        if self.wom_cell is not None:
            self.wom_cell[ids] = self.market[ids] * (plan.G * plan.S) + cell
            real = ids[ids < self.n]
            self.talkers += np.bincount(
                self.market[real], weights=plan.wom_talks[self.stage[real]],
                minlength=self.size.size,
            )  # fmt: skip

    def settled(self) -> bool:
        """Whether nothing more can happen to any customer (padding too) of the chunk."""
        return self.check_settled and self.unsettled == 0

    def touch(self, t: int, U: np.ndarray) -> None:
        """Step ``t``'s touches, channel by channel: into the adstock, the counts and the log.

        ``U`` holds the step's uniforms; channel ``c`` reads row ``c``.
        """
        plan = self.plan
        if t and self.arrival.on:
            here = self.arrival.at(t)
            if here.size:
                self.events.add(here, t, np.zeros(here.size, np.int32),
                                np.int16(plan.C) + self.stage[here])  # fmt: skip
                self._arrive(here)
                self.unsettled -= int(np.count_nonzero(plan.settled[self.stage[here]]))
        self.stock *= self.retention
        t_ids: list[np.ndarray] = []
        t_frac: list[np.ndarray] = []
        t_ch: list[int] = []
        for c in plan.live_channels:
            if not plan.on_step[c, t]:
                continue
            hit = self._channel_touches(c, t, U[c])
            if hit is None:
                continue
            ids, frac = hit
            t_ids.append(ids)
            t_frac.append(frac)
            t_ch.append(c)
            a = self.adstock.get(c)
            if a is not None:
                a[ids] += self.incr[c]
        if not t_ids:
            return
        ids = np.concatenate(t_ids)
        ch = np.repeat(np.array(t_ch, np.int16), [i.size for i in t_ids])
        self.touched[ch, ids] = True
        self.touches += np.bincount(
            ch if self.n == self.n_pad else ch[ids < self.n], minlength=plan.C
        )
        ticks = np.minimum(np.concatenate(t_frac) * _HALF, _HALF - 1).astype(np.uint16)
        order = np.argsort(ticks, kind="stable")  # 16-bit keys: radix sort
        self.events.add(ids[order], t, ticks[order], ch[order])

    def _channel_touches(
        self, c: int, t: int, uc: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The customers channel ``c`` touches in step ``t`` (ascending) and each touch's
        time within the step's first half, as a fraction; None if it touches no one.

        ``uc`` holds the channel's draws: a touch happens when ``u < p``, and ``u / p`` is
        its time. A paid channel's touches beyond its market's budget are dropped (and
        counted as undelivered).
        """
        plan = self.plan
        wom_cell = self.wom_cell
        if c == plan.cm.wom_channel and wom_cell is not None:
            table = _wom_tables(plan, self.talkers, self.size).ravel()
            if self.arrival.on:  # customers not in the market yet hear no one
                table = np.append(table, np.float32(0.0))
                wom_cell = np.where(self.cell == plan.G * plan.S, table.size - 1, wom_cell)
            ids, p_ids = _wom_touched(uc, table, wom_cell)
        elif c in plan.flight:
            p = plan.flight[c][t][self.cell]
            ids = np.flatnonzero(uc < p)
            p_ids = p[ids]
        else:
            ids = np.flatnonzero(uc < self.touch_p[c])
            p_ids = self.touch_p[c][ids]
        if ids.size == 0:
            return None
        frac = uc[ids] / p_ids
        if c in self.affordable:
            per = self.affordable[c]
            affordable = np.floor((per if per.ndim == 1 else per[t]) + self.rounding[:, t, c])
            paid_for = _within_budget(ids, frac, self.market, affordable, self.n)
            if paid_for is not None:
                self.undelivered[c] += ids.size - paid_for.size
                ids, frac = ids[paid_for], frac[paid_for]
        return ids, frac

    def move(self, t: int, U: np.ndarray) -> None:
        """Step ``t``'s stage moves, and the conversions among them.

        ``U`` holds the step's uniforms: the transition row says who moves where, the
        time row when, the value row what a conversion is worth.
        """
        movers = self._movers(U[self.plan.TR])
        if movers is not None:
            self._enter(t, U, *movers)

    def _movers(self, u_tr: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The customers who leave their stage (grouped by stage left), and the stages
        (int8) they enter; None if no one moves.

        Only a customer whose transition draw ``u_tr`` is below their cell's bound can
        move; those, grouped by stage (customer order kept), get their exact chances.
        """
        plan = self.plan
        may_move = np.flatnonzero(u_tr < self.move_bound)
        in_stage = self.stage[may_move]
        order = may_move[np.argsort(in_stage, kind="stable")]
        bounds = np.concatenate(([0], np.cumsum(np.bincount(in_stage, minlength=plan.S))))
        mv_ids, mv_to = [], []
        for sp in plan.plans:
            b0, b1 = bounds[sp.stage], bounds[sp.stage + 1]
            if b0 == b1:
                continue
            idx = order[b0:b1]
            g = self.seg[idx]
            if sp.lifted:
                cum = _lifted_thresholds(sp, g, {c: self.adstock[c][idx] for c, *_ in sp.effects})
            else:
                cum = sp.cum[g]
            k = (u_tr[idx, None] >= cum).sum(axis=1)
            moving = k < sp.targets.size
            if moving.any():
                mv_ids.append(idx[moving])
                mv_to.append(sp.targets[k[moving]])
        if not mv_ids:
            return None
        return np.concatenate(mv_ids), np.concatenate(mv_to).astype(np.int8)

    def _enter(self, t: int, U: np.ndarray, ids: np.ndarray, to: np.ndarray) -> None:
        """Customers ``ids`` enter stages ``to`` in step ``t``: their cell's data, their
        market's talkers, the log (at a time from row ``plan.TIME`` of ``U``)."""
        plan = self.plan
        left = self.stage[ids]
        if self.check_settled:
            self.unsettled += int(np.count_nonzero(~plan.settled[to]))
            self.unsettled -= int(np.count_nonzero(~plan.settled[left]))
        if plan.talking:
            real = ids < self.n
            joined = plan.wom_talks[to[real]].astype(np.float64)
            joined -= plan.wom_talks[left[real]]
            self.talkers += np.bincount(
                self.market[ids[real]], weights=joined, minlength=self.size.size
            )
        self.stage[ids] = to
        self.visited[ids] |= np.uint32(1) << to.astype(np.uint32)
        moved_to = self.seg_off[ids] + to
        self.cell[ids] = moved_to
        self.touch_p[:, ids] = plan.expo[:, moved_to]
        self.move_bound[ids] = plan.move_bound[moved_to]
        if self.wom_cell is not None:
            self.wom_cell[ids] = self.market[ids] * (plan.G * plan.S) + moved_to
        u_time = U[plan.TIME]
        ticks = _HALF + np.minimum(u_time[ids] * _HALF, _HALF - 1).astype(np.int32)
        self.events.add(ids, t, ticks, np.int16(plan.C) + to)
        conv = to == plan.cm.conversion
        if conv.any():
            self._convert(t, U, ids[conv], ticks[conv])

    def _convert(self, t: int, U: np.ndarray, cids: np.ndarray, ticks: np.ndarray) -> None:
        """Customers ``cids`` convert at ``ticks`` of step ``t``, each worth a value drawn
        from their segment's distribution with their draw in row ``plan.VALUE`` of ``U``."""
        vals = self.plan.values(self.seg[cids], U[self.plan.VALUE][cids])
        self.events.add_conversions(cids, t, ticks, vals)
        self.converted[cids] = True

    def result(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The chunk's event arrays (padding dropped) and its counts of real customers.

        ``touches`` (per channel), ``reached`` (customers touched per channel),
        ``converters`` and ``stage_reach`` were gathered as the chunk was simulated;
        conversions and revenue are read off the events.
        """
        plan, n = self.plan, self.n
        arrays = self.events.arrays(self.start, n, self.n_pad, self.seg)
        is_conv = arrays["event"] == CONVERSION
        is_touch = arrays["event"] == TOUCH
        stats = {
            "touches": self.touches,
            "spend": plan.cm.touch_spend(arrays["channel"][is_touch], arrays["time"][is_touch]),
            "reached": self.touched[:, :n].sum(axis=1).astype(np.int64),
            "stage_reach": np.array(
                [int(((self.visited[:n] >> np.uint32(s)) & 1).sum()) for s in range(plan.S)],
                np.int64,
            ),
            "segments": np.bincount(self.seg[:n], minlength=plan.G).astype(np.int64),
            "conversions": int(is_conv.sum()),
            "converters": int(self.converted[:n].sum()),
            "revenue": float(arrays["value"][is_conv].sum()),
            "undelivered": self.undelivered,
        }
        return arrays, stats


def _market_budgets(
    plan: Plan, entropy: int, start: int, size: np.ndarray
) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """The touches each market's budget pays for in a step, per paid channel (fractional),
    and the draws that round them, ``(markets, steps, channels)``.

    The budget over a touch's cost is rounded up or down at random in proportion (no
    money is lost to rounding on average, however small the sample); the draws are the
    market's own (keyed by its index, a column per channel whether it is on or not).
    ``size`` holds the real customers per market of the chunk starting at ``start``.
    """
    cm = plan.cm
    per_customer = cm.affordable_touches(1)
    affordable = {c: per_customer[c] * size for c in plan.capped}
    for c in plan.flight:  # a budget that changes: (steps, markets)
        if c in affordable:
            # the same operations as affordable_touches(1), at each step's budget and cost
            per_step = cm.daily_budget[c] * cm.budget_level[c] * cm.step_days
            per_step = per_step / cm.step_touch_cost[c] * (1 / cm.model.population)
            affordable[c] = per_step[:, None] * size[None, :]
    if not affordable:
        return affordable, np.empty((size.size, cm.steps, 0))
    first_market = start // MARKET
    rounding = np.stack([
        np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=(first_market + k, 1)))
        ).random((cm.steps, cm.n_channels))
        for k in range(size.size)
    ])  # fmt: skip
    return affordable, rounding


def _lifted_thresholds(sp: StagePlan, g: np.ndarray, adstock: dict[int, np.ndarray]) -> np.ndarray:
    """The cumulative chances of each move out of a lifted stage, ``(customers, K)``: a
    customer whose transition draw ``u`` has ``k`` of them at or below it takes move ``k``
    (stays if ``k = K``).

    Each move's hazard is multiplied by :math:`1 + \\sum_c \\text{lift}_c\\,
    \\text{hill}(a_c)` (as in :mod:`cjsim.model.compiled`); the competing hazards give the chance
    of leaving, :math:`1 - e^{-\\text{total}}`, shared in proportion. ``g`` holds the
    customers' segments, ``adstock`` their float32 adstock on each channel of
    ``sp.effects``.
    """
    K = sp.targets.size
    if all(cols.size == K for _c, cols, *_ in sp.effects):
        # every lift applies to every move: one multiplier per customer (the same sums)
        one = np.ones(g.size)
        for c, _cols, lift, ec, slope in sp.effects:
            one += lift * hill_float32(adstock[c], ec, slope)
        if K == 1:  # one move: its cumulative chance is its chance
            lam1 = sp.hazard[g, 0] * one
            total1 = np.maximum(lam1, 1e-300)
            return (lam1 * chance_per_hazard(total1))[:, None]
        lam = sp.hazard[g] * one[:, None]
    else:
        mult = np.ones((g.size, K))
        for c, cols, lift, ec, slope in sp.effects:
            mult[:, cols] += (lift * hill_float32(adstock[c], ec, slope))[:, None]
        lam = sp.hazard[g] * mult
    total = np.maximum(lam.sum(axis=1), 1e-300)
    cum = np.cumsum(lam, axis=1)
    cum *= chance_per_hazard(total)[:, None]
    return cum


class _Arrivals:
    """Who of a chunk enters the market in which step: everyone in step 0 without
    ``[arrivals]``; with it, each customer in the step their own uniform gives
    (:func:`cjsim.model.timing.arrival_steps`)."""

    def __init__(self, plan: Plan, entropy: int, start: int, n_pad: int) -> None:
        self.on = plan.arrivals is not None
        if plan.arrivals is None:
            self.everyone = np.arange(n_pad, dtype=np.int32)
            return
        cm = plan.cm
        u = _arrival_uniforms(entropy, start // BLOCK, n_pad // BLOCK)
        step = arrival_steps(plan.arrivals, cm.steps, cm.step_days, u)
        self.order = np.argsort(step, kind="stable").astype(np.int32)
        self.bounds = np.searchsorted(step[self.order], np.arange(cm.steps + 1))

    def at(self, t: int) -> np.ndarray:
        """The customers (ascending) who enter the market in step ``t``."""
        if not self.on:
            return self.everyone if t == 0 else self.everyone[:0]
        return self.order[self.bounds[t] : self.bounds[t + 1]]
