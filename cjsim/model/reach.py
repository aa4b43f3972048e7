"""What money buys: a paid channel's Poisson reach, what a touch costs, budgets by step.

A paid channel spends ``daily_budget`` a day on impressions at ``cost_per_exposure``,
placed at random (Poisson) over its audience: a customer is reached in a step with
chance :func:`cjsim.model.curves.poisson_reach` of the impressions per head, and a
customer reached saw :func:`touch_frequency` of them, so a touch (a customer reached in
a step) costs ``cost_per_exposure`` times that. With ``[channels.NAME.flighting]`` the
budget, and so the reach and a touch's cost, changes step by step
(:mod:`cjsim.model.timing`); :func:`flights` tabulates them.
"""

from __future__ import annotations

import numpy as np

from cjsim.model.curves import poisson_reach
from cjsim.model.schema import Channel, JourneyModel
from cjsim.model.timing import step_levels


def touch_frequency(per_capita: float, max_reach: float) -> float:
    """Mean impressions of a customer a paid channel reaches in a step (at least 1).

    ``per_capita`` impressions per audience member are placed at random (Poisson) over the
    ``max_reach`` share of the audience that can be reached, so a reached person saw
    :math:`\\lambda / (1 - e^{-\\lambda})` of them, :math:`\\lambda` = ``per_capita /
    max_reach``: the impressions per capita over the reach. Tends to 1 for a small budget.
    """
    lam = per_capita / max_reach
    if lam < 1e-8:
        return 1.0 + lam / 2.0
    return float(lam / -np.expm1(-lam))


def paid_reach(model: JourneyModel, ch: Channel, budget: float) -> tuple[float, float]:
    """A paid channel's chance of reaching a customer in a step on ``budget`` a day, and
    what a touch then costs (the reach is Poisson-placed)."""
    audience = ch.audience or model.population
    cost = ch.cost_per_exposure or 1.0
    per_capita = budget / cost * model.step_days / audience
    # a touch is a customer reached in a step, who saw per_capita / reach >= 1 of the
    # impressions on average (the Poisson placement's frequency)
    return float(poisson_reach(per_capita, ch.max_reach)), cost * touch_frequency(
        per_capita, ch.max_reach
    )


def paid_targets(ch: Channel, sidx: dict[str, int], default: np.ndarray) -> np.ndarray:
    """The stages a paid channel targets, as a mask (default: every non-absorbing one)."""
    if ch.targets is None:
        return default
    mask = np.zeros(len(sidx), dtype=bool)
    mask[[sidx[name] for name in ch.targets]] = True
    return mask


def flights(
    model: JourneyModel, sidx: dict[str, int], absorbing: np.ndarray, affinity: np.ndarray,
    exposure: np.ndarray, touch_cost: np.ndarray,
) -> tuple[np.ndarray, dict[int, np.ndarray], np.ndarray]:  # fmt: skip
    """Each step's budget level ``(C, steps)``, the flighted channels' touch chances per
    step ``{c: (steps, G, S)}`` and every channel's touch cost per step ``(C, steps)``
    (a level of 1 gives the steady budget's, to the bit)."""
    steps = model.steps
    levels = np.ones((len(model.channels), steps))
    step_exposure: dict[int, np.ndarray] = {}
    step_cost = np.repeat(touch_cost[:, None], steps, axis=1)
    default_targets = ~absorbing
    for c, ch in enumerate(model.channels.values()):
        if ch.flighting is None:
            continue
        levels[c] = step_levels(ch.flighting, steps, model.step_days)
        mask = paid_targets(ch, sidx, default_targets)
        table = np.empty((steps, *exposure.shape[1:]))
        for level in np.unique(levels[c]):
            at = levels[c] == level
            reach, cost = paid_reach(model, ch, (ch.daily_budget or 0.0) * level)
            table[at] = np.minimum(reach * mask[None, :] * affinity[c][:, None], 1.0)
            step_cost[c, at] = cost
        step_exposure[c] = table
    return levels, step_exposure, step_cost
