"""Vectorised discrete-time Markov engine: millions of customers as numpy arrays.

Every step (``step_days`` days) each customer, in this order,

1. meets touchpoints: on each channel a touch happens with the probability the model
   gives for the customer's segment and stage (paid: the Poisson reach of the budget;
   organic: the stage's rate; word of mouth: ``1 - exp(-contact_rate * share)`` where
   ``share`` is the share of the customer's market in a source stage at the step's
   start, from the simulated customers themselves);
2. carries the touches into each channel's adstock, :math:`a \\leftarrow \\alpha a + x`;
3. moves stage (or stays) with the base probabilities, the hazards of targeted transitions
   lifted by :math:`1 + \\sum_c \\text{lift}_c\\, \\text{hill}(a_c)`
   (see :mod:`cjsim.model.compiled`); entering the conversion stage is a conversion with a value
   drawn from the segment's distribution.

What a touch costs
------------------
A paid touch costs ``cost_per_exposure`` times the mean impressions a reached customer saw
(:attr:`cjsim.model.compiled.CompiledModel.touch_cost`); spend is the sum over delivered
touches. The
budget is a hard cap: each step, a market may spend at most ``daily_budget * step_days *
market customers / population``; when its touches would cost more, the earliest in the step
are delivered until the money runs out and the rest are not (they leave no trace in the
log, the adstock or the spend). See ``docs/reference/world.md``.

Markets
-------
Customers are grouped in markets of :data:`MARKET` by id (the last one may be smaller).
What customers share, a budget and the word-of-mouth pool, is shared within a market, so
a market is simulated as a whole; chunks are whole markets.

Random numbers and common random numbers
----------------------------------------
Customers are grouped in blocks of :data:`BLOCK` by id; block ``b`` owns the generator
``PCG64(SeedSequence(entropy, spawn_key=(b,)))``. It first draws the customers' segment and
starting stage, then, each step, one matrix of uniforms with a fixed column per purpose:
one per channel (touch), one for the transition, one for the time of day, one for the
conversion value. Every channel has its column whether it is on or off, and the draws do
not depend on the chunking, so

* the same seed gives the same log, whatever the chunk size (chunks are whole markets);
* switching a channel off changes no other draw: a customer it never touched keeps the
  same journey unless the channel changed what they share with others (the market's
  budget, its word of mouth): common random numbers, which counterfactual truth needs.

A touch happens when ``u < p``; ``u / p`` is then uniform on [0, 1) and gives the touch's
time within the first half of the step (stage events fall in the second half), so
touches need no extra draws.

Speed
-----
The engine's cost is a few passes over every customer per step (the draws, one
comparison per channel); everything else touches only the customers something happens
to. What depends only on a customer's (segment, stage) cell, each channel's touch chance
and a bound on the chance of leaving the stage (``plan._move_bounds``), is kept per
customer and updated when they move; the exact, lifted chances of moving are computed
only for customers whose draw is below that bound (a few per cent). None of this changes
a number: the same draws are compared with the same chances. The next step's uniforms
are drawn in a thread while this step is simulated (:class:`_Uniforms`), and each
chunk's log is written in another while the next chunk is simulated.
``benchmarks/bench_simulate.py`` measures it.
"""

from __future__ import annotations

import logging
import os
import time as _time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from cjsim.events import CONVERSION, STAGE, TOUCH, EventWriter, arrays_to_table, arrow_schema
from cjsim.model import JourneyModel
from cjsim.model.compiled import CompiledModel, compile_model
from cjsim.model.curves import hill_float32
from cjsim.simulate.plan import Plan, StagePlan
from cjsim.simulate.summary import Seed, SimulationSummary, resolve_entropy, version

log = logging.getLogger(__name__)

#: Customers per random-number block; a chunk is a whole number of blocks.
BLOCK = 1024
#: Customers per market: they share a budget and word of mouth (a whole number of blocks).
MARKET = 64 * BLOCK
#: Default customers per chunk (fits the working arrays in cache; memory stays flat).
DEFAULT_CHUNK = MARKET
#: Sub-step time resolution: a step is cut in 65536 ticks.
_TICKS = 65536
_HALF = _TICKS // 2
#: Steps of uniforms each block's generator gives in one call (see _Uniforms).
_DRAW_STEPS = 8


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
            return (lam1 * (-np.expm1(-total1) / total1))[:, None]
        lam = sp.hazard[g] * one[:, None]
    else:
        mult = np.ones((g.size, K))
        for c, cols, lift, ec, slope in sp.effects:
            mult[:, cols] += (lift * hill_float32(adstock[c], ec, slope))[:, None]
        lam = sp.hazard[g] * mult
    total = np.maximum(lam.sum(axis=1), 1e-300)
    cum = np.cumsum(lam, axis=1)
    cum *= (-np.expm1(-total) / total)[:, None]
    return cum


def _block_generators(entropy: int, first_block: int, n_blocks: int) -> list[np.random.Generator]:
    return [
        np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=(b,))))
        for b in range(first_block, first_block + n_blocks)
    ]


def _draw_uniforms(raw: np.ndarray, U: np.ndarray) -> None:
    """One step's uniforms, ``U[slot, customer]`` (float32), from ``raw[b]``, the step's
    64-bit outputs of block ``b``'s generator.

    The numbers are those of ``Generator.random(dtype=np.float32)`` filling block ``b``'s
    ``(slots, BLOCK)`` row in order: numpy makes each float32 from 32 random bits as
    ``(bits >> 8) * 2**-24``, taking the low then the high half of each 64-bit output of
    the generator. Converting the outputs of all blocks at once gives the same numbers
    in half the time, and writes them purpose-major, so each purpose is one contiguous
    run of customers. (Every step takes a whole number of 64-bit outputs, so no half
    output is ever left over between steps.)
    """
    r32 = raw.view(np.uint32)
    np.right_shift(r32, np.uint32(8), out=r32)
    nb, slots = raw.shape[0], U.shape[0]
    U.reshape(slots, nb, BLOCK).transpose(1, 0, 2)[...] = r32.reshape(nb, slots, BLOCK)
    U *= np.float32(2.0**-24)


class _Uniforms:
    """Each step's uniforms (see :func:`_draw_uniforms`), drawn a step ahead in a thread.

    numpy's bit generators and ufuncs release the GIL, so the next step's numbers are
    drawn on another core while this step is simulated, into two buffers used in turn.
    Each generator gives :data:`_DRAW_STEPS` steps' outputs in one call (the same
    numbers as one call a step: a block's stream is read in order), so that the thread
    seldom needs the GIL.
    """

    def __init__(
        self, gens: list[np.random.Generator], slots: int, n_pad: int, steps: int, ahead: bool
    ):
        self._bits = [gen.bit_generator for gen in gens]
        self._steps, self._half = steps, slots * BLOCK // 2
        self._raw = np.empty((len(gens), _DRAW_STEPS, self._half), np.uint64)
        self._U = [np.empty((slots, n_pad), np.float32) for _ in range(2)]
        # without a spare core the thread only competes with the simulation (or with the
        # log writer's thread): draw each step when it is needed instead
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="cjsim-draw") if ahead else None
        self._t = 0
        self._next = self._pool.submit(self._draw, 0) if self._pool is not None else None

    def _draw(self, t: int) -> None:
        """Step ``t``'s uniforms into ``U[t % 2]`` (in the thread, steps in order)."""
        k = t % _DRAW_STEPS
        if k == 0:  # the generators' outputs for steps t .. t + _DRAW_STEPS - 1
            count = min(_DRAW_STEPS, self._steps - t) * self._half
            for b, bit_generator in enumerate(self._bits):
                self._raw[b].reshape(-1)[:count] = bit_generator.random_raw(count)
        _draw_uniforms(self._raw[:, k], self._U[t % 2])

    def step(self) -> np.ndarray:
        """The next step's ``U[slot, customer]`` (valid until the next call)."""
        if self._pool is None:
            self._draw(self._t)
        else:
            assert self._next is not None
            self._next.result()
        U, self._t = self._U[self._t % 2], self._t + 1
        if self._pool is not None and self._t < self._steps:
            self._next = self._pool.submit(self._draw, self._t)
        return U

    def close(self) -> None:
        """Wait for the draw under way and stop the thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)


class _Chunk:
    """Collects one chunk's events step by step, then orders them by customer and time.

    An event is kept as its customer, its time stamp ``step * 2**16 + tick`` (its time is
    ``stamp / 2**16 * step_days``: ``stamp / 2**16`` is ``step + tick / 2**16`` exactly)
    and one int16 code for what happened (touch on channel ``c``: ``c``; entering stage
    ``s``: ``C + s``; conversion: ``C + S``), so that ordering the chunk moves three
    narrow columns, not seven; conversion values are kept apart, in the order the
    conversions happened.
    """

    def __init__(self, C: int, S: int, steps: int, step_days: float) -> None:
        self.C, self.S, self.step_days = C, S, step_days
        self.stamp_type: type[np.integer[Any]] = np.uint32 if steps <= 2**16 else np.int64
        self.conversion = C + S
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.values: list[tuple[np.ndarray, np.ndarray]] = []
        # what each code means, column by column (-1: empty)
        codes = np.arange(C + S + 1)
        self.event_of = np.select([codes < C, codes < C + S], [TOUCH, STAGE], CONVERSION).astype(
            np.int8
        )
        self.channel_of = np.where(codes < C, codes, -1).astype(np.int16)
        self.stage_of = np.where((codes >= C) & (codes < C + S), codes - C, -1).astype(np.int16)

    def add(self, cust: np.ndarray, step: int, ticks: np.ndarray, code: np.ndarray | int) -> None:
        """Events of customers ``cust`` at ``ticks`` of step ``step`` (in time order)."""
        n = cust.size
        if n == 0:
            return
        stamp = ticks.astype(self.stamp_type)
        stamp += self.stamp_type(step * _TICKS)
        code = np.broadcast_to(np.asarray(code, np.int16), (n,))
        self.parts.append((cust.astype(np.int32, copy=False), stamp, code))

    def add_conversions(
        self, cust: np.ndarray, step: int, ticks: np.ndarray, values: np.ndarray
    ) -> None:
        self.add(cust, step, ticks, self.conversion)
        self.values.append((cust.astype(np.int32, copy=False), values))

    def arrays(self, start: int, n: int, n_pad: int, seg: np.ndarray) -> dict[str, np.ndarray]:
        """Events of customers ``0 .. n-1`` (padding dropped), by customer then time."""
        cust, stamp, code = (np.concatenate(c) for c in zip(*self.parts, strict=True))
        # Parts are in step order and, within a step, in time order; a stable sort by
        # customer keeps that order (and puts the padding customers, ids n and up, last).
        # 16-bit keys take numpy's O(n) radix sort.
        order = np.argsort(_sort_key(cust, n_pad), kind="stable")
        counts = np.bincount(cust, minlength=n_pad)[:n]
        order = order[: counts.sum()]
        code = code[order]
        value = np.zeros(order.size)
        if self.values:
            v_cust, v = (np.concatenate(c) for c in zip(*self.values, strict=True))
            v_order = np.argsort(_sort_key(v_cust, n_pad), kind="stable")
            real = v_order[: np.count_nonzero(v_cust < n)]
            value[code == self.conversion] = v[real]
        return {
            "customer_id": np.repeat(np.arange(start, start + n, dtype=np.int64), counts),
            # stamp / 2**16 * step_days, rounded once as there: scaling by 2**-16 is exact
            "time": np.multiply(stamp[order], self.step_days / _TICKS),
            "event": self.event_of[code],
            "channel": self.channel_of[code],
            "stage": self.stage_of[code],
            "value": value,
            "segment": np.repeat(seg[:n].astype(np.int16), counts),
        }


def _sort_key(cust: np.ndarray, n_pad: int) -> np.ndarray:
    return cust.astype(np.uint16) if n_pad <= 65536 else cust


def _chunk_stats(
    plan: Plan,
    arrays: dict[str, np.ndarray],
    n: int,
    touches: np.ndarray,
    touched: np.ndarray,
    converted: np.ndarray,
    visited: np.ndarray,
    seg: np.ndarray,
) -> dict[str, Any]:
    """Per-chunk counts: of the real customers (``< n``) in ``touches`` (per channel),
    ``touched`` (channel x customer), ``converted`` and ``visited`` (bit per stage)
    gathered as they were simulated; conversions and revenue from the chunk's events."""
    S = plan.S
    is_conv = arrays["event"] == CONVERSION
    return {
        "touches": touches,
        "spend": touches * plan.cm.touch_cost,
        "reached": touched[:, :n].sum(axis=1).astype(np.int64),
        "stage_reach": np.array(
            [int(((visited[:n] >> np.uint32(s)) & 1).sum()) for s in range(S)], np.int64
        ),
        "segments": np.bincount(seg[:n], minlength=plan.G).astype(np.int64),
        "conversions": int(is_conv.sum()),
        "converters": int(converted[:n].sum()),
        "revenue": float(arrays["value"][is_conv].sum()),
    }


def _run_chunk(
    plan: Plan, entropy: int, start: int, n: int, draw_ahead: bool = False
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Simulate customers ``start .. start + n - 1`` (``start`` is a multiple of MARKET);
    with ``draw_ahead`` the next step's uniforms are drawn in a thread (same numbers).

    The chunk is padded to whole blocks: padding customers are simulated (so every
    block's stream is consumed the same way whatever ``n`` is) and dropped at the end;
    they spend no budget and do not talk.
    """
    cm = plan.cm
    S, C = plan.S, plan.C
    nb = -(-n // BLOCK)
    n_pad = nb * BLOCK
    gens = _block_generators(entropy, start // BLOCK, nb)
    first = np.empty((nb, 2, BLOCK), dtype=np.float64)
    for k, gen in enumerate(gens):
        gen.random(out=first[k])
    seg = (
        np.searchsorted(plan.cum_shares, first[:, 0].ravel(), side="right")
        .clip(0, plan.G - 1)
        .astype(np.int8)
    )
    stage = (
        np.searchsorted(plan.cum_initial, first[:, 1].ravel(), side="right")
        .clip(0, S - 1)
        .astype(np.int8)
    )
    seg_off = seg.astype(np.int32) * S
    visited = (np.uint32(1) << stage.astype(np.uint32)).astype(np.uint32)
    # adstock of the channels with effects, one row each, decayed together every step
    stock = np.zeros((len(plan.adstock_channels), n_pad), np.float32)
    adstock = dict(zip(plan.adstock_channels, stock, strict=True))
    retention = cm.alpha[plan.adstock_channels].astype(np.float32)[:, None]
    incr = {
        c: np.float32(1.0 - cm.alpha[c] if cm.normalize[c] else 1.0) for c in plan.adstock_channels
    }
    # U[slot] holds a step's uniforms for one purpose, all customers in a row
    draws = _Uniforms(gens, plan.slots, n_pad, cm.steps, draw_ahead)
    # markets: the chunk's customers in groups of MARKET (padding joins the last one)
    market = np.arange(n_pad, dtype=np.int32) // np.int32(MARKET)
    size = np.bincount(market[:n]).astype(np.float64)
    # the touches each market's budget pays for in a step, per paid channel: the budget
    # over a touch's cost, rounded up or down at random in proportion (no money is lost to
    # rounding on average, however small the sample); the draws are the market's own
    # (keyed by its index, a column per channel whether it is on or not)
    per_customer = cm.affordable_touches(1)
    affordable = {c: per_customer[c] * size for c in plan.capped}
    if affordable:
        first_market = start // MARKET
        rounding = np.stack([
            np.random.Generator(
                np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=(first_market + k, 1)))
            ).random((cm.steps, C))
            for k in range(size.size)
        ])  # (markets, steps, channels)  # fmt: skip
    undelivered = np.zeros(C, np.int64)
    touches = np.zeros(C, np.int64)  # of real customers
    touched = np.zeros((C, n_pad), dtype=bool)
    converted = np.zeros(n_pad, dtype=bool)
    events = _Chunk(C, S, cm.steps, cm.step_days)
    everyone = np.arange(n_pad, dtype=np.int32)
    events.add(everyone, 0, np.zeros(n_pad, np.int32), np.int16(C) + stage)
    # customers (padding too) in a stage where something can still happen to them
    check_settled = bool(plan.settled.any())
    unsettled = int(np.count_nonzero(~plan.settled[stage]))
    if plan.talking:  # real customers in a source stage of word of mouth, per market
        talkers = np.bincount(market[:n], weights=plan.wom_talks[stage[:n]], minlength=size.size)
    # Per customer, what depends only on their (segment, stage) cell, kept up to date as
    # they move instead of looked up every step: each channel's touch probability (but
    # word of mouth's, whose table changes every step) and the bound on their chance of
    # moving (see _move_bounds).
    cell = seg_off + stage
    touch_p = plan.expo[:, cell]  # (C, n_pad) float32
    move_bound = plan.move_bound[cell]
    if plan.talking:  # the customer's (market, cell) in the word-of-mouth tables
        wom_cell = market.astype(np.intp) * (plan.G * S) + cell

    for t in range(cm.steps):
        if check_settled and unsettled == 0:
            break
        U = draws.step()
        # 1. touches
        stock *= retention
        t_ids, t_frac, t_ch = [], [], []
        for c in plan.live_channels:
            if not plan.on_step[c, t]:
                continue
            a = adstock.get(c)
            uc = U[c]
            if c == cm.wom_channel and plan.talking:
                table = _wom_tables(plan, talkers, size).ravel()
                ids, p_ids = _wom_touched(uc, table, wom_cell)
            else:
                ids = np.flatnonzero(uc < touch_p[c])
                p_ids = touch_p[c][ids]
            if ids.size == 0:
                continue
            frac = uc[ids] / p_ids
            if c in affordable:
                paid_for = _within_budget(
                    ids, frac, market, np.floor(affordable[c] + rounding[:, t, c]), n
                )
                if paid_for is not None:
                    undelivered[c] += ids.size - paid_for.size
                    ids, frac = ids[paid_for], frac[paid_for]
            t_ids.append(ids)
            t_frac.append(frac)
            t_ch.append(c)
            if a is not None:
                a[ids] += incr[c]
        if t_ids:
            ids = np.concatenate(t_ids)
            ch = np.repeat(np.array(t_ch, np.int16), [i.size for i in t_ids])
            touched[ch, ids] = True
            touches += np.bincount(ch if n == n_pad else ch[ids < n], minlength=C)
            ticks = np.minimum(np.concatenate(t_frac) * _HALF, _HALF - 1).astype(np.uint16)
            order = np.argsort(ticks, kind="stable")  # 16-bit keys: radix sort
            events.add(ids[order], t, ticks[order], ch[order])
        # 2. transitions: only a customer whose draw is below their cell's bound can move;
        # those, grouped by stage (customer order kept), get their exact chances
        u_tr = U[plan.TR]
        may_move = np.flatnonzero(u_tr < move_bound)
        in_stage = stage[may_move]
        order = may_move[np.argsort(in_stage, kind="stable")]
        bounds = np.concatenate(([0], np.cumsum(np.bincount(in_stage, minlength=S))))
        mv_ids, mv_to = [], []
        for sp in plan.plans:
            b0, b1 = bounds[sp.stage], bounds[sp.stage + 1]
            if b0 == b1:
                continue
            idx = order[b0:b1]
            g = seg[idx]
            if sp.lifted:
                cum = _lifted_thresholds(sp, g, {c: adstock[c][idx] for c, *_ in sp.effects})
            else:
                cum = sp.cum[g]
            k = (u_tr[idx, None] >= cum).sum(axis=1)
            moving = k < sp.targets.size
            if moving.any():
                mv_ids.append(idx[moving])
                mv_to.append(sp.targets[k[moving]])
        if mv_ids:
            ids = np.concatenate(mv_ids)
            to = np.concatenate(mv_to).astype(np.int8)
            left = stage[ids]
            if check_settled:
                unsettled += int(np.count_nonzero(~plan.settled[to]))
                unsettled -= int(np.count_nonzero(~plan.settled[left]))
            if plan.talking:
                real = ids < n
                joined = plan.wom_talks[to[real]].astype(np.float64)
                joined -= plan.wom_talks[left[real]]
                talkers += np.bincount(market[ids[real]], weights=joined, minlength=size.size)
            stage[ids] = to
            visited[ids] |= np.uint32(1) << to.astype(np.uint32)
            moved_to = seg_off[ids] + to
            touch_p[:, ids] = plan.expo[:, moved_to]
            move_bound[ids] = plan.move_bound[moved_to]
            if plan.talking:
                wom_cell[ids] = market[ids] * (plan.G * S) + moved_to
            u_time = U[plan.TIME]
            ticks = _HALF + np.minimum(u_time[ids] * _HALF, _HALF - 1).astype(np.int32)
            events.add(ids, t, ticks, np.int16(C) + to)
            conv = to == cm.conversion
            if conv.any():
                cids = ids[conv]
                vals = plan.values(seg[cids], U[plan.VALUE][cids])
                events.add_conversions(cids, t, ticks[conv], vals)
                converted[cids] = True

    draws.close()
    arrays = events.arrays(start, n, n_pad, seg)
    stats = _chunk_stats(plan, arrays, n, touches, touched, converted, visited, seg)
    stats["undelivered"] = undelivered
    return arrays, stats


def _wom_touched(
    u: np.ndarray, table: np.ndarray, cells: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The customers ``i`` with ``u[i] < table[cells[i]]`` (ascending), and those chances.

    Only customers with ``u`` below the table's largest chance can be touched, so only
    their chances are looked up (word of mouth's table changes every step; looking up
    every customer's chance would cost more than the test itself)."""
    may = np.flatnonzero(u < table.max())
    p = table[cells[may]]
    hit = u[may] < p
    return may[hit], p[hit]


def _wom_tables(plan: Plan, talkers: np.ndarray, size: np.ndarray) -> np.ndarray:
    """This step's chance of a word-of-mouth touch per market and (segment, stage) cell,
    shape (markets, G * S), float32.

    Every customer of a market in a source stage at the step's start makes
    ``contact_rate`` contacts a day with customers of the market picked at random, so a
    listener meets at least one with probability :math:`1 - e^{-r\\, n_s / n}` (``r`` the
    contacts per step, :math:`n_s / n` the market's share in source stages), times the
    segment's affinity; the channel's own organic rate applies where it is larger.
    ``talkers`` holds the (real) customers in source stages per market, ``size`` the
    market sizes.
    """
    cm = plan.cm
    share = talkers / size
    contact = -np.expm1(-cm.wom_rate * share)  # (M,)
    cell = np.minimum(contact[:, None] * plan.wom_affinity[None, :], 1.0)  # (M, G)
    heard = (cell[:, :, None] * plan.wom_listens[None, None, :]).reshape(size.size, -1)
    return np.maximum(heard.astype(np.float32), plan.expo[cm.wom_channel][None, :])


def _within_budget(
    ids: np.ndarray, frac: np.ndarray, market: np.ndarray, affordable: np.ndarray, n: int
) -> np.ndarray | None:
    """Which of a paid channel's touches its budget pays for; None if all of them.

    In a market whose touches cost more than its step's budget, the earliest in the step
    (smallest ``frac``, the time within the step) are delivered until the money runs
    out. Padding customers (``>= n``) cost nothing and are always delivered.
    """
    real = ids < n
    if affordable.size == 1:  # one market: no need to look the markets up
        if np.count_nonzero(real) <= affordable[0]:
            return None
    elif (np.bincount(market[ids[real]], minlength=affordable.size) <= affordable).all():
        return None
    # rank the real customers' touches within their market by time; padding ranks last
    mk = np.where(real, market[ids], affordable.size)
    order = np.lexsort((frac, mk))
    first = np.searchsorted(mk[order], mk[order])  # each market's first place in the order
    rank = np.empty(ids.size, np.int64)
    rank[order] = np.arange(ids.size) - first
    keep = ~real
    keep[real] = rank[real] < affordable[mk[real]]
    return np.flatnonzero(keep)


def iter_event_chunks(
    model: JourneyModel | CompiledModel,
    customers: int,
    *,
    rng: Seed = None,
    chunk_size: int = DEFAULT_CHUNK,
    draw_ahead: bool | None = None,
) -> Iterator[tuple[dict[str, np.ndarray], dict[str, Any]]]:
    """Simulate chunk by chunk; yield integer-coded event arrays and per-chunk counts.

    Memory is bounded by the chunk size, not by ``customers``. ``draw_ahead`` (default:
    when this process has a core to spare, see :func:`spare_core`) draws the next step's
    random numbers in a thread; the numbers are the same either way.
    """
    if draw_ahead is None:
        draw_ahead = spare_core()
    cm = model if isinstance(model, CompiledModel) else compile_model(model)
    entropy = resolve_entropy(rng)
    plan = Plan(cm)
    chunk = _chunk_size(chunk_size)
    for start in range(0, customers, chunk):
        yield _run_chunk(plan, entropy, start, min(chunk, customers - start), draw_ahead)


def spare_core() -> bool:
    """Whether a second thread can run beside the simulation: more than one core, and not
    a pool worker (the workers of an experiment or an evaluation already use them all)."""
    from cjsim._pool import in_worker

    return (os.cpu_count() or 1) > 1 and not in_worker()


def _chunk_size(chunk_size: int) -> int:
    """Customers per chunk: ``chunk_size`` rounded up to whole markets."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    return -(-chunk_size // MARKET) * MARKET


def simulate(
    model: JourneyModel,
    customers: int = 10_000,
    *,
    rng: Seed = None,
    out: str | Path | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
    sink: Callable[[pa.Table], None] | None = None,
) -> SimulationSummary:
    """Simulate ``customers`` customers of ``model`` with the Markov engine.

    Parameters
    ----------
    model : JourneyModel
        A validated model (apply budgets, horizon or channels off with
        :meth:`JourneyModel.with_overrides` first).
    customers : int
        Number of customers (a sample of the model's population).
    rng : int, Generator, SeedSequence or None
        Seed; the same seed gives the same event log for any chunk size.
    out : path, optional
        Write the event log here (``.parquet`` or ``.csv``), atomically.
    chunk_size : int
        Customers simulated at a time (rounded up to whole markets of 65,536).
    progress : callable, optional
        Called with the number of customers finished after each chunk.
    sink : callable, optional
        Called with each chunk's events as a pyarrow Table (besides ``out``).

    Returns
    -------
    SimulationSummary
    """
    if customers < 1:
        raise ValueError(f"customers must be >= 1, got {customers}")
    cm = compile_model(model)
    entropy = resolve_entropy(rng)
    started = _time.perf_counter()
    summary = SimulationSummary.start(model, cm, "markov", entropy, customers, out)
    schema = arrow_schema()
    metadata = {
        "model": model.name,
        "model_hash": summary.model_hash,
        "engine": "markov",
        "seed": entropy,
        "customers": customers,
        "steps": cm.steps,
        "step_days": cm.step_days,
        "cjsim_version": version(),
    }
    writer = EventWriter(out, schema, metadata) if out is not None else None
    done = 0
    step = _chunk_size(chunk_size)

    def consume(background: ThreadPoolExecutor | None) -> None:
        nonlocal done
        writing: Future[None] | None = None  # the previous chunk, being written
        try:
            # the log writer's thread takes the spare core when there is a log to write
            ahead = background is None and spare_core()
            for arrays, stats in iter_event_chunks(
                cm, customers, rng=entropy, chunk_size=chunk_size, draw_ahead=ahead
            ):
                table = arrays_to_table(arrays, cm.channels, cm.stages, cm.segments)
                if writer is not None and background is not None:
                    if writing is not None:
                        writing.result()  # chunks are written one at a time, in order
                    writing = background.submit(writer.write, table)
                if sink is not None:
                    sink(table)
                _accumulate(summary, stats, table.num_rows)
                done = min(customers, done + step)
                if progress is not None:
                    progress(done)
        finally:
            if writing is not None:
                writing.result()  # written (or its error raised) before the file closes

    if writer is not None:
        # pyarrow writes (and compresses) a chunk without holding the GIL: the next chunk
        # is simulated meanwhile
        with writer, ThreadPoolExecutor(1, thread_name_prefix="cjsim-write") as background:
            consume(background)
    else:
        consume(None)
    summary.elapsed = _time.perf_counter() - started
    log.info("simulated %d customers x %d steps in %.2fs", customers, cm.steps, summary.elapsed)
    return summary


def _accumulate(summary: SimulationSummary, stats: dict[str, Any], rows: int) -> None:
    summary.touches += stats["touches"]
    summary.spend += stats["spend"]
    assert summary.undelivered is not None
    summary.undelivered += stats["undelivered"]
    summary.reached += stats["reached"]
    summary.stage_reach += stats["stage_reach"]
    summary.segment_customers += stats["segments"]
    summary.conversions += stats["conversions"]
    summary.converters += stats["converters"]
    summary.revenue += stats["revenue"]
    summary.events += rows


def simulate_frame(
    model: JourneyModel, customers: int = 1000, *, rng: Seed = None, chunk_size: int = DEFAULT_CHUNK
) -> tuple[pd.DataFrame, SimulationSummary]:
    """Simulate into memory: the event log as a pandas DataFrame, and the summary."""
    tables: list[pa.Table] = []
    summary = simulate(model, customers, rng=rng, chunk_size=chunk_size, sink=tables.append)
    frame = (
        pa.concat_tables(tables).to_pandas()
        if tables
        else pd.DataFrame(columns=list(arrow_schema().names))
    )
    return frame, summary
