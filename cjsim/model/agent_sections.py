"""Model-file sections that only the agent-based engine uses.

``[agents]``
    engine settings: the hours of the day when touches happen.
``[capacity.NAME]``
    a limited resource (consultation chairs, demo slots, sales reps): entering ``stage``
    needs one of ``servers`` (for the model's whole population; a run of fewer customers
    gets proportionally fewer, at least one) for a service time (exponential, mean
    ``service_days``); a customer who waits longer than ``patience_days`` goes to
    ``on_timeout`` (a stage, usually ``lost``) or, with ``on_timeout = "stay"``, stays
    where they were (delayed).
``[network]``
    the contact network of word of mouth: each person knows ``degree`` others on average
    (a random graph). Advocates talk to them at the ``[word_of_mouth]`` contact rate.
``[channels.NAME.schedule]``
    when a campaign runs: ``start_day``/``end_day``, weekly flighting (``weekdays``, 0 =
    the first day of the horizon), and a per-customer ``frequency_cap`` (touches per 7
    days). The daily budget is a hard cap in the agent engine.

The Markov engine honours schedules (a channel is off on its off days) and ignores
capacity and the network (it has neither queues nor individual contacts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field, Strict

from cjsim.errors import ModelError
from cjsim.limits import MAX_NETWORK_DEGREE
from cjsim.model.fields import Frozen, NonNegative, Positive

if TYPE_CHECKING:
    from cjsim.model.schema import JourneyModel


class Schedule(Frozen):
    """When a channel's campaign runs, and how often one customer may see it."""

    start_day: NonNegative = 0.0
    end_day: Positive | None = None
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] | None = None
    frequency_cap: Annotated[int, Field(gt=0)] | None = None

    def active(self, day: int) -> bool:
        """Does the campaign run on this day (0-based)?"""
        if day < self.start_day or (self.end_day is not None and day >= self.end_day):
            return False
        return self.weekdays is None or day % 7 in self.weekdays


class Capacity(Frozen):
    """A limited resource that customers need to enter a stage."""

    stage: str
    servers: Annotated[int, Field(gt=0)]
    service_days: Positive
    patience_days: Positive | None = None
    on_timeout: str = "lost"


class Network(Frozen):
    """The contact network word of mouth travels on."""

    degree: Annotated[
        float, Strict(), Field(gt=0.0, le=MAX_NETWORK_DEGREE, allow_inf_nan=False)
    ] = 8.0


class AgentsConfig(Frozen):
    """Settings of the agent-based engine."""

    touch_hours: tuple[
        Annotated[float, Field(ge=0.0, le=24.0)], Annotated[float, Field(ge=0.0, le=24.0)]
    ] = (8.0, 22.0)


def check_agent_sections(m: JourneyModel, source: str | None) -> None:
    """Cross-checks of the agent sections (references and orders of values)."""
    start, end = m.agents.touch_hours
    if end <= start:
        raise ModelError(
            f"touch_hours ends at {end} before it starts at {start}; expected [start, end]",
            source=source,
            key="agents.touch_hours",
        )
    seen: dict[str, str] = {}
    for name, cap in m.capacity.items():
        key = f"capacity.{name}"
        if cap.stage not in m.stages:
            raise ModelError(
                f"resource '{name}' is needed by unknown stage '{cap.stage}'; expected one of: "
                f"{', '.join(m.stages)}",
                source=source,
                key=f"{key}.stage",
            )
        if cap.stage in seen:
            raise ModelError(
                f"stage '{cap.stage}' already needs resource '{seen[cap.stage]}'",
                source=source,
                key=f"{key}.stage",
            )
        seen[cap.stage] = name
        if cap.on_timeout != "stay" and cap.on_timeout not in m.stages:
            raise ModelError(
                f"unknown stage '{cap.on_timeout}'; expected a stage or 'stay'",
                source=source,
                key=f"{key}.on_timeout",
            )
    for c, ch in m.channels.items():
        sch = ch.schedule
        if sch is not None and sch.weekdays is not None and m.step_days > 1:
            raise ModelError(
                f"weekly flighting needs daily steps; this model's step is {m.step_days:g} days",
                source=source,
                key=f"channels.{c}.schedule.weekdays",
            )
        if sch is not None and sch.end_day is not None and sch.end_day <= sch.start_day:
            raise ModelError(
                f"the schedule ends (day {sch.end_day:g}) before it starts (day {sch.start_day:g})",
                source=source,
                key=f"channels.{c}.schedule.end_day",
            )
    if m.network is not None and m.word_of_mouth is None:
        raise ModelError(
            "a contact network needs a [word_of_mouth] section (who talks, at what rate)",
            source=source,
            key="network",
        )
