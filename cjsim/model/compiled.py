"""A model's stage chain as arrays: what the engines and the analytic funnel compute with.

:func:`compile_model` turns a validated :class:`~cjsim.model.JourneyModel` into integer-coded
numpy arrays (stages, segments and channels become indices). Validation happened at the
boundary; nothing here re-checks user input.

How a touch moves a customer
----------------------------
Each stage :math:`s` has base per-step probabilities :math:`p_k` of moving to each other
stage :math:`k` (the rest is staying). cjsim reads them as competing risks: with
:math:`q = \\sum_k p_k` the total hazard is :math:`\\Lambda = -\\log(1-q)`, shared as
:math:`\\lambda_k = \\Lambda p_k / q`. Marketing multiplies the hazards of the transitions it
targets by :math:`m_k = 1 + \\sum_c \\text{lift}_{c} \\, h_c(a_c)` where :math:`a_c` is the
customer's adstock on channel :math:`c` and :math:`h_c` its Hill curve; the new step
probabilities are :math:`p'_k = (\\lambda_k m_k/\\Lambda')(1 - e^{-\\Lambda'})` with
:math:`\\Lambda' = \\sum_k \\lambda_k m_k`. With no exposure, :math:`p' = p` exactly, and
:math:`p'` is always a valid distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cjsim.model.curves import hill
from cjsim.model.reach import flights, paid_reach, paid_targets
from cjsim.model.schema import JourneyModel

#: Cap on a row's total leaving probability when turning it into hazards (a row that
#: leaves for sure has infinite hazard; lifts then only reshuffle between targets).
_Q_CAP = 1.0 - 1e-12


@dataclass(frozen=True)
class EffectArrays:
    """All channel effects of a model, one entry per (channel, from-stage)."""

    channel: np.ndarray  # int, (J,)
    stage: np.ndarray  # int, (J,) from-stage
    to_mask: np.ndarray  # bool, (J, S) targeted next stages
    lift: np.ndarray  # float, (J,)
    ec: np.ndarray  # float, (J,)
    slope: np.ndarray  # float, (J,)

    def from_stage(self, s: int) -> np.ndarray:
        """Indices of the effects that act on customers in stage ``s``."""
        return np.flatnonzero(self.stage == s)


@dataclass(frozen=True)
class CompiledModel:
    """Integer-coded arrays of a model, for the engines and the funnel."""

    model: JourneyModel
    stages: tuple[str, ...]
    conversion: int
    absorbing: np.ndarray  # bool (S,)
    segments: tuple[str, ...]
    segment_shares: np.ndarray  # (G,)
    initial: np.ndarray  # (S,) start distribution
    base: np.ndarray  # (G, S, S) per-step transition probabilities (rows sum to 1)
    channels: tuple[str, ...]
    paid: np.ndarray  # bool (C,)
    exposure: np.ndarray  # (C, G, S) chance of a touch per step (flighted: the mean), no WOM
    alpha: np.ndarray  # (C,) adstock retention per step
    normalize: np.ndarray  # bool (C,)
    daily_budget: np.ndarray  # (C,) 0 for organic channels
    touch_cost: np.ndarray  # (C,) what one touch costs (see the cost model); 0 if organic
    effects: EffectArrays
    value_kind: tuple[str, ...]  # per segment: fixed | lognormal | gamma
    value_mean: np.ndarray  # (G,)
    value_sd: np.ndarray  # (G,)
    wom_channel: int  # -1 if none
    wom_rate: float  # contacts per source customer per step
    wom_sources: np.ndarray  # bool (S,)
    wom_targets: np.ndarray  # bool (S,)
    affinity: np.ndarray  # (C, G)
    steps: int
    step_days: float
    budget_level: np.ndarray  # (C, steps) each step's budget over daily_budget (flighting)
    step_exposure: dict[int, np.ndarray]  # flighted channel -> (steps, G, S) touch chances
    step_touch_cost: np.ndarray  # (C, steps) what a touch costs in each step

    @property
    def n_stages(self) -> int:
        return len(self.stages)

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    def affordable_touches(self, customers: int) -> np.ndarray:
        """Touches each channel's budget pays for in a step among ``customers`` customers
        (their share of the population's budget over a touch's cost), shape (C,); NaN for
        channels without a budget (organic). Fractional: the engines round it at random."""
        with np.errstate(divide="ignore", invalid="ignore"):
            per = self.daily_budget * self.step_days / self.touch_cost
        share = customers / self.model.population
        return np.where(self.paid & (self.touch_cost > 0), per * share, np.nan)

    def step_of(self, time: np.ndarray) -> np.ndarray:
        """The step each time (days) falls in, clipped to the horizon's steps."""
        step = np.floor(np.asarray(time, np.float64) / self.step_days + 1e-9).astype(np.int64)
        return np.clip(step, 0, self.steps - 1)

    def touch_spend(self, channel: np.ndarray, time: np.ndarray) -> np.ndarray:
        """What touches cost, per channel ``(C,)``: each touch at its step's cost.

        ``channel`` holds the touches' channel codes, ``time`` their times in days. Without
        flighting a touch costs :attr:`touch_cost` whenever it happens.
        """
        spend = np.bincount(channel, minlength=self.n_channels) * self.touch_cost
        for c in self.step_exposure:
            steps = self.step_of(time[channel == c])
            spend[c] = np.bincount(steps, minlength=self.steps) @ self.step_touch_cost[c]
        return spend

    def row_costs(self, channel: np.ndarray, time: np.ndarray) -> np.ndarray:
        """What each touch costs (``channel`` codes, -1 for none: 0), at its step's cost."""
        channel = np.asarray(channel, np.int64)
        ok = channel >= 0
        cost = np.zeros(channel.size)
        if self.step_exposure:
            cost[ok] = self.step_touch_cost[channel[ok], self.step_of(np.asarray(time)[ok])]
        else:
            cost[ok] = self.touch_cost[channel[ok]]
        return cost

    def effect_multipliers(self, exposure: np.ndarray) -> np.ndarray:
        """Hazard multipliers of a customer who keeps a steady exposure level.

        Parameters
        ----------
        exposure : ndarray, shape (C, G, S)
            Per-step touch probability on each channel in each (segment, stage).

        Returns
        -------
        ndarray, shape (G, S, S)
            :math:`m` for every transition, with each channel's adstock at its steady
            state :math:`p/(1-\\alpha)` (or :math:`p` when normalised). The Hill curve of the
            mean adstock stands in for the mean of the Hill curve (a mean-field
            approximation; exact when effects are linear in the touch).
        """
        G, S = len(self.segments), self.n_stages
        mult = np.ones((G, S, S))
        eff = self.effects
        for j in range(len(eff.channel)):
            c, s = eff.channel[j], eff.stage[j]
            p = exposure[c, :, s]
            a = p if self.normalize[c] else p / (1.0 - self.alpha[c])
            h = hill(a, eff.ec[j], eff.slope[j])
            mult[:, s, :] += eff.lift[j] * h[:, None] * eff.to_mask[j][None, :]
        return mult

    def average_chain(self, wom_probability: float = 0.0) -> np.ndarray:
        """Per-segment stage chain with the channels' average effects, shape (G, S, S).

        ``wom_probability`` is the per-step chance of a word-of-mouth contact for a
        customer in a target stage (0: no word of mouth).
        """
        exposure = self.exposure_with_wom(wom_probability)
        mult = self.effect_multipliers(exposure)
        out = np.empty_like(self.base)
        for s in range(self.n_stages):
            out[:, s, :] = lifted_row(self.base[:, s, :], s, mult[:, s, :])
        return out

    def exposure_with_wom(self, wom_probability: float) -> np.ndarray:
        """Exposure table (C, G, S) with word-of-mouth touches at the given probability."""
        if self.wom_channel < 0 or wom_probability <= 0.0:
            return self.exposure
        exp = self.exposure.copy()
        c = self.wom_channel
        per_seg = np.minimum(wom_probability * self.affinity[c], 1.0)
        exp[c] = np.maximum(exp[c], per_seg[:, None] * self.wom_targets[None, :])
        return exp

    def wom_probability(self, source_share: float) -> float:
        """Per-step contact probability when ``source_share`` of the market can refer."""
        return float(-np.expm1(-self.wom_rate * source_share))

    def mean_field_wom(self) -> np.ndarray:
        """Deterministic word-of-mouth contact probability per step, shape (steps,).

        The stage distribution of the whole market is propagated with the average chain;
        at each step the share of customers in source stages sets the contact probability.
        An analytic yardstick only: the engines let the simulated customers talk (the
        Markov engine from its market's talkers each step). The average chain's Hill of
        the mean adstock overstates concave effects, so this overstates word of mouth
        (ecommerce: by ~20% over 90 days, a test).
        """
        out = np.zeros(self.steps)
        if self.wom_channel < 0 or self.wom_rate <= 0.0:
            return out
        dist = self.segment_shares[:, None] * self.initial[None, :]  # (G, S)
        for t in range(self.steps):
            share = float(dist[:, self.wom_sources].sum())
            w = self.wom_probability(share)
            out[t] = w
            chain = self.average_chain(w)
            dist = np.einsum("gs,gst->gt", dist, chain)
        return out


def lifted_row(base_row: np.ndarray, s: int, mult: np.ndarray) -> np.ndarray:
    """Step probabilities out of stage ``s`` after multiplying hazards by ``mult``.

    Parameters
    ----------
    base_row : ndarray, shape (..., S)
        Base probabilities from stage ``s`` (including staying at index ``s``).
    s : int
        The stage the row leaves (its self-transition is the remainder).
    mult : ndarray, broadcastable to ``base_row``
        Hazard multipliers (the entry at ``s`` is ignored).

    Returns
    -------
    ndarray
        Rows that sum to one.
    """
    moves = np.array(base_row, dtype=np.float64, copy=True)
    moves[..., s] = 0.0
    new = lifted_moves(moves, np.broadcast_to(mult, moves.shape))
    new[..., s] = 1.0 - new.sum(axis=-1)
    return new


def lifted_moves(moves: np.ndarray, mult: np.ndarray) -> np.ndarray:
    """Competing-risks lift of move probabilities (the stay probability excluded).

    ``moves[..., k]`` are base probabilities of leaving to target ``k``; the result has the
    same shape. See the module docstring for the formula.
    """
    hazard = competing_hazards(moves) * np.maximum(mult, 0.0)
    new_total = hazard.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(new_total > 0, hazard * chance_per_hazard(new_total), 0.0)
    return out


def competing_hazards(moves: np.ndarray) -> np.ndarray:
    """The hazards of move probabilities read as competing risks, same shape as ``moves``.

    ``moves[..., k]`` is the chance of leaving to target ``k`` in a step (staying
    excluded). With :math:`q = \\sum_k p_k`, capped just below 1, the total hazard
    :math:`\\Lambda = -\\log(1 - q)` is shared as :math:`\\lambda_k = p_k \\Lambda / q`;
    a row that never leaves has hazard 0.
    """
    q = np.minimum(moves.sum(axis=-1, keepdims=True), _Q_CAP)
    return np.where(q > 0, moves * (-np.log1p(-q) / np.where(q > 0, q, 1.0)), 0.0)


def chance_per_hazard(total: np.ndarray) -> np.ndarray:
    """The chance of leaving in a step per unit of total hazard.

    Competing hazards :math:`\\lambda_k` of total :math:`\\Lambda` give the move chances
    :math:`\\lambda_k (1 - e^{-\\Lambda}) / \\Lambda`: this is the factor
    :math:`(1 - e^{-\\Lambda}) / \\Lambda`, NaN where ``total`` is 0 (callers keep it out).
    """
    return -np.expm1(-total) / total


def compile_model(model: JourneyModel) -> CompiledModel:
    """Integer-code a validated model into the arrays the engines use."""
    stages = tuple(model.stages)
    sidx = {s: i for i, s in enumerate(stages)}
    seg_table = model.segment_table()
    channels = tuple(model.channels)
    base, absorbing = _base_transitions(model, sidx)
    initial = np.zeros(len(stages))
    for stage_name, p in model.initial_distribution.items():
        initial[sidx[stage_name]] = p
    affinity = np.ones((len(channels), len(seg_table)))
    for g, seg in enumerate(seg_table.values()):
        for channel_name, a in seg.affinity.items():
            affinity[channels.index(channel_name), g] = a
    exposure, paid, daily_budget, touch_cost = _exposure(model, sidx, absorbing, affinity)
    levels, step_exposure, step_cost = flights(
        model, sidx, absorbing, affinity, exposure, touch_cost
    )
    for c, table in step_exposure.items():  # what the analytic paths see: the mean
        exposure[c] = table.mean(axis=0)
    values = [seg.value or model.value for seg in seg_table.values()]
    wom = model.word_of_mouth
    wom_sources, wom_targets = _word_of_mouth(model, sidx, absorbing)
    return CompiledModel(
        model=model,
        stages=stages,
        conversion=sidx[model.conversion],
        absorbing=absorbing,
        segments=tuple(seg_table),
        segment_shares=np.array([seg.share for seg in seg_table.values()]),
        initial=initial,
        base=base,
        channels=channels,
        paid=paid,
        exposure=exposure,
        alpha=np.array([ch.adstock for ch in model.channels.values()]),
        normalize=np.array([ch.normalize_adstock for ch in model.channels.values()], dtype=bool),
        daily_budget=daily_budget,
        touch_cost=touch_cost,
        effects=_effect_arrays(model, sidx),
        value_kind=tuple(v.distribution for v in values),
        value_mean=np.array([v.mean for v in values]),
        value_sd=np.array([v.sd for v in values]),
        wom_channel=channels.index(wom.channel) if wom is not None else -1,
        wom_rate=(wom.contact_rate * model.step_days) if wom is not None else 0.0,
        wom_sources=wom_sources,
        wom_targets=wom_targets,
        affinity=affinity,
        steps=model.steps,
        step_days=model.step_days,
        budget_level=levels,
        step_exposure=step_exposure,
        step_touch_cost=step_cost,
    )


def _base_transitions(model: JourneyModel, sidx: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Each segment's step-transition matrix without marketing ``(G, S, S)`` (a stage
    without a row absorbs), and which stages absorb in every segment ``(S,)``."""
    S = len(sidx)
    seg_table = model.segment_table()
    base = np.zeros((len(seg_table), S, S))
    for s in range(S):
        base[:, s, s] = 1.0  # a stage without a row absorbs
    for g, seg in enumerate(seg_table.values()):
        rows = {**model.transitions, **seg.transitions}
        for from_name, row in rows.items():
            base[g, sidx[from_name], :] = 0.0
            for to_name, p in row.items():
                base[g, sidx[from_name], sidx[to_name]] += p
    absorbing = np.array([np.all(base[:, s, s] >= 1.0) for s in range(S)])
    return base, absorbing


def _exposure(
    model: JourneyModel, sidx: dict[str, int], absorbing: np.ndarray, affinity: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The chance of a touch per step ``(C, G, S)``, which channels are paid, their daily
    budgets and the cost of a touch (a paid channel's reach is Poisson-placed)."""
    S = len(sidx)
    C = len(model.channels)
    exposure = np.zeros((C, affinity.shape[1], S))
    paid = np.zeros(C, dtype=bool)
    daily_budget = np.zeros(C)
    touch_cost = np.zeros(C)
    default_targets = np.array([not absorbing[s] for s in range(S)])
    for c, ch in enumerate(model.channels.values()):
        if ch.type == "paid":
            paid[c] = True
            daily_budget[c] = ch.daily_budget or 0.0
            reach, touch_cost[c] = paid_reach(model, ch, daily_budget[c])
            exposure[c] = reach * paid_targets(ch, sidx, default_targets)[None, :]
        else:
            for stage_name, r in ch.rate.items():
                exposure[c, :, sidx[stage_name]] = r
        exposure[c] = np.minimum(exposure[c] * affinity[c][:, None], 1.0)
    return exposure, paid, daily_budget, touch_cost


def _effect_arrays(model: JourneyModel, sidx: dict[str, int]) -> EffectArrays:
    """One row per (channel, from-stage) effect: the stages it lifts and its curve."""
    S = len(sidx)
    eff_rows: list[tuple[int, int, np.ndarray, float, float, float]] = []
    for c, ch in enumerate(model.channels.values()):
        for from_name, eff in ch.effects.items():
            to = eff.to if eff.to is not None else model.forward_targets(from_name)
            mask = np.zeros(S, dtype=bool)
            mask[[sidx[t] for t in to]] = True
            eff_rows.append(
                (c, sidx[from_name], mask, eff.lift, eff.ec or ch.ec, eff.slope or ch.slope)
            )
    return EffectArrays(
        channel=np.array([r[0] for r in eff_rows], dtype=np.int64),
        stage=np.array([r[1] for r in eff_rows], dtype=np.int64),
        to_mask=np.array([r[2] for r in eff_rows], dtype=bool).reshape(len(eff_rows), S),
        lift=np.array([r[3] for r in eff_rows], dtype=np.float64),
        ec=np.array([r[4] for r in eff_rows], dtype=np.float64),
        slope=np.array([r[5] for r in eff_rows], dtype=np.float64),
    )


def _word_of_mouth(
    model: JourneyModel, sidx: dict[str, int], absorbing: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The stages whose customers talk, and those who listen (default: every stage
    before the conversion that does not absorb)."""
    stages = tuple(sidx)
    wom = model.word_of_mouth
    wom_sources = np.zeros(len(stages), dtype=bool)
    wom_targets = np.zeros(len(stages), dtype=bool)
    if wom is not None:
        wom_sources[[sidx[s] for s in wom.sources]] = True
        targets = (
            wom.targets
            if wom.targets is not None
            else [
                s
                for s in stages
                if stages.index(s) < sidx[model.conversion] and not absorbing[sidx[s]]
            ]
        )
        wom_targets[[sidx[s] for s in targets]] = True
    return wom_sources, wom_targets
