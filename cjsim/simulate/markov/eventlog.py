"""A Markov chunk's event log: events gathered step by step, then ordered into columns.

Events are kept narrow while the chunk is simulated (customer, time stamp, one code) and
ordered by customer and time once, at the end (:meth:`_ChunkEvents.arrays`), into the
columns of :func:`cjsim.events.arrow_schema`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cjsim.events import CONVERSION, STAGE, TOUCH

#: Sub-step time resolution: a step is cut in 65536 ticks.
_TICKS = 65536
#: Touches fall in the first half of a step (ticks below it), stage events in the second.
_HALF = _TICKS // 2


class _ChunkEvents:
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
        """Conversions of customers ``cust`` at ``ticks`` of step ``step``, worth ``values``."""
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
    """The key events are ordered by: customer ids, as uint16 when they fit (radix sort)."""
    return cust.astype(np.uint16) if n_pad <= 65536 else cust
