"""A compiled model precomputed for stepping: per transient stage, where customers can
go, with which base chances and hazards, and which channel effects lift them.

Both engines step with it: the Markov engine (:mod:`cjsim.simulate.markov`) per day, the
agent engine (:mod:`cjsim.simulate.agents`) per customer and event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cjsim.model.compiled import CompiledModel, competing_hazards


@dataclass(frozen=True)
class StagePlan:
    """Precomputed transition data for customers in one transient stage."""

    stage: int
    targets: np.ndarray  # (K,) next stages other than staying
    cum: np.ndarray  # (G, K) cumulative base move probabilities
    hazard: np.ndarray  # (G, K) base hazards (competing risks, see cjsim.model.compiled)
    lifted: bool  # the model has effects on this stage (even of channels now off)
    effects: tuple[
        tuple[int, np.ndarray, float, float, float], ...
    ]  # live: (channel, cols, lift, ec, slope)


class Plan:
    """Everything the step loop needs, precomputed once per model."""

    def __init__(self, cm: CompiledModel):
        self.cm = cm
        S, G, C = cm.n_stages, len(cm.segments), cm.n_channels
        self.S, self.G, self.C = S, G, C
        self.slots = C + 3
        self.TR, self.TIME, self.VALUE = C, C + 1, C + 2
        # people can talk: the word-of-mouth channel's touch probability follows the share
        # of the market in a source stage (see _wom_probability)
        self.talking = bool(cm.wom_channel >= 0 and cm.wom_rate > 0 and cm.wom_sources.any())
        # Touch probability tables indexed by segment * S + stage (float32, like the draws).
        self.expo = cm.exposure.reshape(C, G * S).astype(np.float32)
        if self.talking:
            w = cm.wom_channel
            self.wom_affinity = cm.affinity[w].astype(np.float64)  # (G,)
            self.wom_listens = cm.wom_targets.astype(np.float64)  # (S,)
            self.wom_talks = cm.wom_sources.copy()  # (S,)
        # flighted channels: their touch chances per step, a column more for customers
        # not yet in the market (they have none)
        self.flight = {
            c: np.concatenate(
                [table.reshape(cm.steps, G * S), np.zeros((cm.steps, 1))], axis=1
            ).astype(np.float32)
            for c, table in cm.step_exposure.items()
        }
        self.channel_live = np.array(
            [bool(self.flight[c].any() if c in self.flight else self.expo[c].any())
             or (c == cm.wom_channel and self.talking) for c in range(C)],
            dtype=bool,
        )  # fmt: skip
        self.live_channels = [int(c) for c in np.flatnonzero(self.channel_live)]
        # the paid channels that can touch anyone: their budgets cap them
        self.capped = [c for c in range(C) if cm.paid[c] and self.channel_live[c]]
        # campaign schedules: a channel delivers no touches on its off days (its draws are
        # still made, so the other channels' randomness does not move)
        self.on_step = np.ones((C, cm.steps), dtype=bool)
        for c, name in enumerate(cm.channels):
            sch = cm.model.channels[name].schedule
            if sch is not None:
                days = (np.arange(cm.steps) * cm.step_days).astype(np.int64)
                self.on_step[c] = [sch.active(int(d)) for d in days]
        eff = cm.effects
        self.adstock_channels = sorted({int(c) for c in eff.channel if self.channel_live[c]})
        self.plans: list[StagePlan] = []
        for s in range(S):
            if cm.absorbing[s]:
                continue
            moves_all = cm.base[:, s, :].copy()
            moves_all[:, s] = 0.0
            targets = np.flatnonzero((moves_all > 0).any(axis=0))
            if targets.size == 0:
                continue
            moves = moves_all[:, targets]
            hazard = competing_hazards(moves)
            effs = []
            on_stage = cm.effects.from_stage(s)
            for j in on_stage:
                c = int(eff.channel[j])
                cols = np.flatnonzero(eff.to_mask[j][targets])
                if self.channel_live[c] and cols.size and eff.lift[j] != 0.0:
                    effs.append(
                        (c, cols, float(eff.lift[j]), float(eff.ec[j]), float(eff.slope[j]))
                    )
            # A stage with effects always takes the hazard path, even when its channels are
            # off: then every customer's multiplier is exactly 1, as for an unexposed
            # customer with them on, and the two runs compute bit-identical probabilities.
            self.plans.append(
                StagePlan(
                    s, targets, np.cumsum(moves, axis=1), hazard, bool(on_stage.size), tuple(effs)
                )
            )
        self.move_bound = _move_bounds(self.plans, G, S)
        touchable = (cm.exposure > 0).any(axis=(0, 1)) | cm.wom_targets
        self.settled = cm.absorbing & ~touchable  # nothing more can happen to customers here
        self.cum_shares = np.cumsum(cm.segment_shares)
        self.cum_initial = np.cumsum(cm.initial)
        arrivals = cm.model.arrivals
        self.arrivals = arrivals

    def values(self, seg: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Conversion values by inverse CDF of the segment's distribution."""
        from scipy import special  # a tenth of a second to import: only when needed

        cm = self.cm
        out = np.empty(u.shape, dtype=np.float64)
        u64 = u.astype(np.float64) + 2.0**-25  # float32 draws are multiples of 2**-24
        for g in range(self.G):
            m = seg == g
            if not m.any():
                continue
            mean, sd, kind = cm.value_mean[g], cm.value_sd[g], cm.value_kind[g]
            if kind == "fixed" or sd == 0.0 or mean == 0.0:
                out[m] = mean
            elif kind == "lognormal":
                s2 = math.log1p((sd / mean) ** 2)
                out[m] = np.exp(math.log(mean) - s2 / 2 + math.sqrt(s2) * special.ndtri(u64[m]))
            else:  # gamma with mean and sd
                shape = (mean / sd) ** 2
                out[m] = special.gammaincinv(shape, u64[m]) * (sd**2 / mean)
        return out


def _move_bounds(plans: list[StagePlan], G: int, S: int) -> np.ndarray:
    """Per (segment, stage) cell, a number no customer's chance of leaving the stage in a
    step can reach, whatever their adstock: ``(G * S,)`` float32, 0 where no one leaves.

    A customer whose transition draw ``u`` is at least the bound stays where they are, so
    the engine computes the exact (lifted) chances of only the others. The chances the
    step loop computes are thresholds ``cum`` with ``u >= cum[-1]`` meaning "stay": the
    cumulative base move probabilities, or for a lifted stage the cumulative hazards
    ``lam_k = hazard_k * (1 + sum_c lift_c * hill_c)`` times ``(1 - e^{-total}) / total``,
    a factor of at most 1. A Hill response lies in [0, 1] (float32 rounding keeps it
    there; :func:`cjsim.model` refuses curves that give NaN), so no threshold exceeds
    ``sum_k hazard_k * (1 + sum_c max(lift_c, 0))`` with the lifts rounded to float32 as
    the step loop rounds them. The bound adds a relative margin of 1e-9, far above the
    rounding of the few operations behind a threshold, and is rounded up to float32.
    """
    bound = np.zeros((G, S))
    for sp in plans:
        if sp.lifted:
            top = np.ones(sp.targets.size)
            for _c, cols, lift, _ec, _slope in sp.effects:
                top[cols] += max(float(np.float32(lift)), 0.0)
            bound[:, sp.stage] = (sp.hazard * top).sum(axis=1) * (1.0 + 1e-9)
        else:
            bound[:, sp.stage] = sp.cum[:, -1] * (1.0 + 1e-9)
    b32 = bound.reshape(G * S).astype(np.float32)
    low = b32 < bound.reshape(G * S)
    b32[low] = np.nextafter(b32[low], np.float32(np.inf))
    return b32
