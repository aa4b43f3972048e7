"""The model file's sections as frozen pydantic objects: what the world is.

A model file (TOML) describes a market of customers who move through ordered **stages**
(``unaware`` -> ``awareness`` -> ... -> ``purchase`` -> ``retention`` -> ``loyalty`` ->
``advocacy``, or ``lost``), meet **touchpoints** on paid and organic **channels**, and whose
stage-transition hazards those touchpoints lift through carry-over (adstock) and
saturation (Hill). Segments give customers different base rates, channel affinities and
conversion values. Because the file states the causal structure, a simulation of it knows
what each channel really contributed.

``extra="forbid"`` everywhere: an unknown key is an error, not a silent no-op. The
cross-checks between sections are in :mod:`cjsim.model.validation`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field, Strict

from cjsim.limits import MAX_HORIZON_DAYS
from cjsim.model.agent_sections import AgentsConfig, Capacity, Network, Schedule
from cjsim.model.fields import Frozen, NonNegative, Positive, Probability
from cjsim.model.timing import Arrivals, Flighting


class ValueDistribution(Frozen):
    """Distribution of the monetary value of one conversion.

    ``fixed`` always gives ``mean``; ``lognormal`` and ``gamma`` are parametrised by their
    mean and standard deviation (not by the log-scale parameters), which is what a
    planner knows.
    """

    distribution: Literal["fixed", "lognormal", "gamma"] = "lognormal"
    mean: NonNegative = 1.0
    sd: NonNegative = 0.0


class Effect(Frozen):
    """How exposure to a channel lifts the hazard of leaving one stage.

    The hazard of each targeted transition is multiplied by
    ``1 + lift * hill(adstock, ec, slope)``; ``lift = 1`` can at most double it.
    A negative lift (down to -1) lowers it; a lift above 1,000 (a thousandfold hazard)
    is refused as a typo.
    """

    lift: Annotated[float, Strict(), Field(ge=-1.0, le=1000.0, allow_inf_nan=False)]
    to: list[str] | None = None
    ec: Positive | None = None
    slope: Positive | None = None


class Channel(Frozen):
    """A touchpoint channel: paid (bought exposures) or organic (no spend).

    Paid channels buy ``daily_budget / cost_per_exposure`` impressions a day, spread at
    random over ``audience`` people (default: the model's population); the chance that a
    customer in a targeted stage is touched on a day follows the Poisson reach curve
    :func:`cjsim.model.curves.poisson_reach` with ceiling ``max_reach``, so extra money buys
    fewer new exposures. Organic channels touch a customer with a per-step probability that
    depends on the stage (``rate``): touches *caused by* a stage, such as a brand search by
    someone who has already decided, are written this way.
    """

    type: Literal["paid", "organic"]
    description: str = ""
    daily_budget: NonNegative | None = None
    cost_per_exposure: Positive | None = None
    audience: Annotated[int, Field(gt=0)] | None = None
    max_reach: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    targets: list[str] | None = None
    rate: dict[str, Probability] = Field(default_factory=dict)
    adstock: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.5
    normalize_adstock: bool = False
    ec: Positive = 1.0
    slope: Positive = 1.0
    effects: dict[str, Effect] = Field(default_factory=dict)
    schedule: Schedule | None = None
    flighting: Flighting | None = None


class Geo(Frozen):
    """A region of the market: its share of the customers, its own demand, its budgets.

    A model with geos is simulated geo by geo (each a market of its own, with its share of
    the population and of the customers) so that geo panels and geo experiments exist.
    ``base_rate`` multiplies the base chances of leaving the first stage (more or less
    demand without marketing); ``budget_share`` is the share of every paid budget spent
    in the geo (default: its ``share``, the same spend per head as everywhere)."""

    share: Annotated[float, Field(gt=0.0, le=1.0)]
    base_rate: Positive = 1.0
    budget_share: Annotated[float, Field(ge=0.0, le=1.0)] | None = None


class Segment(Frozen):
    """A customer segment: its share of the market and how it differs from the base."""

    share: Annotated[float, Field(gt=0.0, le=1.0)]
    description: str = ""
    value: ValueDistribution | None = None
    affinity: dict[str, NonNegative] = Field(default_factory=dict)
    transitions: dict[str, dict[str, Probability]] = Field(default_factory=dict)


class WordOfMouth(Frozen):
    """Referrals from customers in ``sources`` stages to customers in ``targets`` stages.

    Every customer in a source stage contacts ``contact_rate`` others a day on average;
    a contact is a touch on the organic ``channel``, which acts through that channel's
    effects.
    """

    channel: str
    contact_rate: NonNegative
    sources: list[str] = Field(default_factory=lambda: ["advocacy"])
    targets: list[str] | None = None


class Narrative(Frozen):
    """Words for ``cjsim explain``: what entering a stage, meeting a channel and converting
    mean in this market ("gets a toothache", "reads the practice's reviews")."""

    start: str | None = None
    stages: dict[str, str] = Field(default_factory=dict)
    touches: dict[str, str] = Field(default_factory=dict)
    segments: dict[str, str] = Field(default_factory=dict)
    conversion: str | None = None


class JourneyModel(Frozen):
    """A validated customer-journey model (the journey form of a model file)."""

    name: str
    description: str = ""
    kind: Literal["journey", "chain"] = "journey"
    stages: list[str] = Field(min_length=2)
    conversion: str
    lost: str | None = None
    initial: str | dict[str, Probability] | None = None
    population: Annotated[int, Field(gt=0)] = 1_000_000
    horizon_days: Annotated[
        float, Strict(), Field(gt=0.0, le=MAX_HORIZON_DAYS, allow_inf_nan=False)
    ] = 90.0
    step_days: Positive = 1.0
    value: ValueDistribution = ValueDistribution(distribution="fixed", mean=1.0)
    transitions: dict[str, dict[str, Probability]]
    channels: dict[str, Channel] = Field(default_factory=dict)
    segments: dict[str, Segment] = Field(default_factory=dict)
    word_of_mouth: WordOfMouth | None = None
    agents: AgentsConfig = AgentsConfig()
    capacity: dict[str, Capacity] = Field(default_factory=dict)
    network: Network | None = None
    geos: dict[str, Geo] = Field(default_factory=dict)
    arrivals: Arrivals | None = None
    narrative: Narrative = Narrative()

    # -- derived facts -------------------------------------------------------------

    @property
    def steps(self) -> int:
        """Number of simulated steps in the horizon."""
        return max(1, math.ceil(self.horizon_days / self.step_days - 1e-9))

    @property
    def initial_distribution(self) -> dict[str, float]:
        """Where customers start: stage -> probability."""
        if self.initial is None:
            return {self.stages[0]: 1.0}
        if isinstance(self.initial, str):
            return {self.initial: 1.0}
        return dict(self.initial)

    def absorbing_stages(self) -> list[str]:
        """Stages a customer never leaves (no row, or a row that only stays)."""
        out = []
        for s in self.stages:
            row = self.transitions.get(s)
            if row is None or all(p == 0.0 for t, p in row.items() if t != s):
                out.append(s)
        return out

    def forward_targets(self, stage: str) -> list[str]:
        """Next stages from ``stage`` that a marketing effect moves towards by default.

        These are the transitions to a later stage in ``stages`` other than the lost stage.
        """
        row = self.transitions.get(stage, {})
        i = self.stages.index(stage)
        return [
            t
            for t, p in row.items()
            if p > 0 and t != stage and t != self.lost and self.stages.index(t) > i
        ]

    def segment_table(self) -> dict[str, Segment]:
        """Segments with their shares; a model without segments has one, ``all``."""
        if self.segments:
            return dict(self.segments)
        return {"all": Segment(share=1.0)}

    def content_hash(self) -> str:
        """A stable hash of the parsed model (16 hex digits).

        It changes when anything that affects a simulation changes, and does not change
        with comments, key order or formatting of the file, or with the ``[narrative]``
        words (which only ``cjsim explain`` reads).
        """
        # a model without geos, arrivals or flighting hashes as it did before they existed
        data = self.model_dump(mode="json", exclude={"narrative"})
        for key in ("geos", "arrivals"):
            if not data[key]:
                del data[key]
        for channel in data["channels"].values():
            if channel["flighting"] is None:
                del channel["flighting"]
        payload = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    # -- what-if copies ------------------------------------------------------------

    def with_overrides(
        self,
        *,
        budgets: Mapping[str, float] | None = None,
        channels_off: tuple[str, ...] | list[str] = (),
        horizon_days: float | None = None,
    ) -> JourneyModel:
        """A validated copy with other daily budgets, channels switched off or another horizon.

        A channel switched off delivers no touches and has no effect; its random draws are
        still made, so everything it does not touch stays the same (common random numbers).
        See :func:`cjsim.model.overrides.with_overrides`.
        """
        from cjsim.model.overrides import with_overrides

        return with_overrides(
            self, budgets=budgets, channels_off=channels_off, horizon_days=horizon_days
        )


class ChainSpec(Frozen):
    """The plain Markov form: ``[chain]`` with the stage chain given directly."""

    conversion: str
    transitions: dict[str, dict[str, Probability]]
    initial: str | None = None
    horizon_steps: Annotated[int, Field(gt=0, le=MAX_HORIZON_DAYS)] = 1000
    value: NonNegative = 1.0


class ChainFile(Frozen):
    """A file in the plain Markov form."""

    name: str = "chain"
    description: str = ""
    chain: ChainSpec
