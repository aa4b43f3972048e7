"""The analytic funnel: absorption probabilities and expected steps of a stage chain.

For an absorbing Markov chain with transient block :math:`Q` and transient-to-absorbing
block :math:`R`, the fundamental matrix :math:`N = (I - Q)^{-1}` gives the expected number
of visits to each transient stage, the absorption probabilities :math:`B = N R` and the
expected number of steps before absorption :math:`t = N \\mathbf{1}` (Kemeny & Snell, 1960,
*Finite Markov Chains*, ch. III; Grinstead & Snell, 1997, *Introduction to Probability*,
sec. 11.2).

For a funnel the conversion stage counts as absorbing (the first conversion ends the
funnel), as do stages the model never leaves. For a journey model with channels, the chain
is the model's base chain with each channel's *average* effect (steady-state adstock at the
per-stage exposure rate, see :meth:`cjsim.model.compiled.CompiledModel.average_chain`): a mean-field
approximation of what the simulation does. For a plain chain it is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cjsim.model.compiled import CompiledModel, compile_model
from cjsim.model.schema import JourneyModel
from cjsim.model.timing import arrival_weights


@dataclass(frozen=True)
class AbsorbingChain:
    """Fundamental-matrix quantities of one absorbing chain."""

    transient: np.ndarray  # indices of transient stages
    absorbing: np.ndarray  # indices of absorbing stages
    fundamental: np.ndarray  # N, (T, T)
    absorption: np.ndarray  # B, (T, A)
    expected_steps: np.ndarray  # t, (T,)


def absorbing_chain(P: np.ndarray, absorbing: np.ndarray) -> AbsorbingChain:
    """Solve an absorbing chain.

    Parameters
    ----------
    P : ndarray, shape (S, S)
        Row-stochastic transition matrix.
    absorbing : ndarray of bool, shape (S,)
        Stages treated as absorbing (their rows are ignored). A transient stage from which
        no absorbing stage can be reached is treated as absorbing too (the chain would
        otherwise have no fundamental matrix).
    """
    P = np.asarray(P, dtype=np.float64)
    absorbing = np.asarray(absorbing, dtype=bool) | ~_reaches(P, absorbing)
    T = np.flatnonzero(~absorbing)
    A = np.flatnonzero(absorbing)
    Q = P[np.ix_(T, T)]
    R = P[np.ix_(T, A)]
    N = np.linalg.solve(np.eye(len(T)) - Q, np.eye(len(T))) if len(T) else np.zeros((0, 0))
    return AbsorbingChain(T, A, N, N @ R, N.sum(axis=1))


def _reaches(P: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Stages from which some target stage can be reached (targets included)."""
    reach = np.asarray(targets, dtype=bool).copy()
    adj = P > 0
    while True:
        new = reach | adj[:, reach].any(axis=1)
        if (new == reach).all():
            return reach
        reach = new


@dataclass(frozen=True)
class FunnelResult:
    """Analytic funnel of a model.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per stage: ``p_reach`` (probability that a new customer ever enters it),
        ``p_conversion`` (probability of converting from it), ``expected_steps`` and
        ``expected_days`` to absorption from it, and ``p_<stage>`` for each other
        absorbing outcome. Absorbing stages have ``expected_steps = 0``.
    p_conversion : float
        Probability that a new customer ever converts.
    p_conversion_horizon : float
        Probability of converting within the model's horizon.
    expected_steps : float
        Expected steps from the start to absorption (conversion or loss).
    """

    model_name: str
    model_hash: str
    table: pd.DataFrame
    p_conversion: float
    p_conversion_horizon: float
    expected_steps: float
    step_days: float
    approximate: bool
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The per-stage table."""
        return self.table.copy()

    def _repr_html_(self) -> str:
        note = " (mean-field approximation)" if self.approximate else ""
        return (
            f"<p>funnel of {self.model_name}{note}: P(conversion) {self.p_conversion:.4f}, "
            f"{self.p_conversion_horizon:.4f} within the horizon</p>"
            + self.table.to_html(index=False)
        )

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dictionary."""
        return {
            "model": self.model_name,
            "model_hash": self.model_hash,
            "approximate": self.approximate,
            "p_conversion": self.p_conversion,
            "p_conversion_horizon": self.p_conversion_horizon,
            "expected_steps": self.expected_steps,
            "expected_days": self.expected_steps * self.step_days,
            "stages": self.table.to_dict(orient="records"),
            "notes": self.notes,
        }


def funnel_chain(cm: CompiledModel) -> np.ndarray:
    """The (G, S, S) chain the funnel solves: the average chain, conversion absorbing."""
    P = cm.average_chain().copy()
    P[:, cm.conversion, :] = 0.0
    P[:, cm.conversion, cm.conversion] = 1.0
    return P


def funnel(model: JourneyModel | CompiledModel) -> FunnelResult:
    """Absorption probabilities and expected steps from every stage of a model's chain."""
    cm = model if isinstance(model, CompiledModel) else compile_model(model)
    m = cm.model
    S, G = cm.n_stages, len(cm.segments)
    P = funnel_chain(cm)
    absorbing = cm.absorbing.copy()
    absorbing[cm.conversion] = True
    shares = cm.segment_shares

    p_conv = np.zeros(S)
    steps = np.zeros(S)
    outcome = np.zeros((S, S))  # probability of each absorbing outcome from each stage
    p_reach = np.zeros(S)
    for g in range(G):
        ch = absorbing_chain(P[g], absorbing)
        out_g = np.zeros((S, S))
        out_g[np.ix_(ch.transient, ch.absorbing)] = ch.absorption
        out_g[ch.absorbing, ch.absorbing] = 1.0
        steps_g = np.zeros(S)
        steps_g[ch.transient] = ch.expected_steps
        outcome += shares[g] * out_g
        steps += shares[g] * steps_g
        p_reach += shares[g] * _reach_probabilities(P[g], absorbing, cm.initial)
    p_conv = outcome[:, cm.conversion]

    start = cm.initial
    table = pd.DataFrame(
        {
            "stage": list(cm.stages),
            "p_reach": p_reach,
            "p_conversion": p_conv,
            "expected_steps": steps,
            "expected_days": steps * cm.step_days,
        }
    )
    for a in np.flatnonzero(absorbing):
        if a != cm.conversion:
            table[f"p_{cm.stages[a]}"] = outcome[:, a]

    # Conversion within the horizon: propagate the start distribution T steps (with
    # arrivals, a customer who arrives in step a has T - a of them)
    dist = shares[:, None] * start[None, :]
    within = np.zeros(cm.steps + 1)
    for k in range(cm.steps):
        dist = np.einsum("gs,gst->gt", dist, P)
        within[k + 1] = dist[:, cm.conversion].sum()
    p_horizon = float(within[-1])
    if m.arrivals is not None:
        arrive = arrival_weights(m.arrivals, cm.steps, cm.step_days)
        p_horizon = float(arrive @ within[cm.steps - np.arange(cm.steps)])
    notes = []
    approximate = bool(len(cm.effects.channel)) or cm.wom_channel >= 0
    if approximate:
        notes.append(
            "channels enter with their average effect (steady-state adstock at each stage's "
            "exposure rate); word of mouth is left out: a mean-field approximation"
        )
    if cm.step_exposure:
        notes.append("flighted channels enter with their touch chance averaged over the steps")
    return FunnelResult(
        model_name=m.name,
        model_hash=m.content_hash(),
        table=table,
        p_conversion=float(start @ p_conv),
        p_conversion_horizon=p_horizon,
        expected_steps=float(start @ steps),
        step_days=cm.step_days,
        approximate=approximate,
        notes=notes,
    )


def _reach_probabilities(P: np.ndarray, absorbing: np.ndarray, start: np.ndarray) -> np.ndarray:
    """P(ever enter stage s) for a customer drawn from ``start``, for every stage."""
    S = P.shape[0]
    out = np.zeros(S)
    for s in range(S):
        # Make s absorbing too: the chance of being absorbed in s is the chance of reaching it.
        stop = absorbing.copy()
        stop[s] = True
        ch = absorbing_chain(P, stop)
        col = int(np.flatnonzero(ch.absorbing == s)[0])
        hit = np.zeros(S)
        hit[ch.transient] = ch.absorption[:, col]
        hit[s] = 1.0
        out[s] = float(start @ hit)
    return out
