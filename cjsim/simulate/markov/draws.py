"""The Markov engine's random numbers: one generator per block of customers, read in order.

Block ``b`` of :data:`BLOCK` customers owns the generator
``PCG64(SeedSequence(entropy, spawn_key=(b,)))``. It first gives the customers' segment
and starting stage (:func:`_starting_cells`), then each step one matrix of float32
uniforms, a row per purpose (:class:`_Uniforms`). The draws do not depend on how
customers are chunked, so neither does the event log.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from cjsim.simulate.plan import Plan

#: Customers per random-number block; a chunk is a whole number of blocks.
BLOCK = 1024
#: Steps of uniforms each block's generator gives in one call (see _Uniforms).
_DRAW_STEPS = 8


def _block_generators(entropy: int, first_block: int, n_blocks: int) -> list[np.random.Generator]:
    """The generators of blocks ``first_block .. first_block + n_blocks - 1``."""
    return [
        np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=(b,))))
        for b in range(first_block, first_block + n_blocks)
    ]


def _arrival_uniforms(entropy: int, first_block: int, n_blocks: int) -> np.ndarray:
    """Each customer's uniform for their arrival step, float64 ``(n_blocks * BLOCK,)``:
    block ``b``'s from ``SeedSequence(entropy, spawn_key=(b, 2))``, apart from the block's
    own stream, so a model with arrivals keeps every other draw of the model without."""
    return np.concatenate([
        np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=(b, 2)))
        ).random(BLOCK)
        for b in range(first_block, first_block + n_blocks)
    ])  # fmt: skip


def _starting_cells(plan: Plan, gens: list[np.random.Generator]) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's segment and starting stage (int8), from their block's first draws.

    Every block draws ``(2, BLOCK)`` float64 uniforms, a row for the segment and one for
    the stage, each read through the cumulative shares by inverse CDF.
    """
    first = np.empty((len(gens), 2, BLOCK), dtype=np.float64)
    for k, gen in enumerate(gens):
        gen.random(out=first[k])
    seg = (
        np.searchsorted(plan.cum_shares, first[:, 0].ravel(), side="right")
        .clip(0, plan.G - 1)
        .astype(np.int8)
    )
    stage = (
        np.searchsorted(plan.cum_initial, first[:, 1].ravel(), side="right")
        .clip(0, plan.S - 1)
        .astype(np.int8)
    )
    return seg, stage


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
