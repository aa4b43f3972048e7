"""The journey model: what the world is.

A model file (TOML) describes a market of customers who move through ordered **stages**
(``unaware`` -> ``awareness`` -> ... -> ``purchase`` -> ``retention`` -> ``loyalty`` ->
``advocacy``, or ``lost``), meet **touchpoints** on paid and organic **channels**, and whose
stage-transition hazards those touchpoints lift through carry-over (adstock) and
saturation (Hill). Segments give customers different base rates, channel affinities and
conversion values. Because the file states the causal structure, a simulation of it knows
what each channel really contributed.

Two forms are accepted:

* the **journey form** (``stages``, ``transitions``, ``channels``, ``segments``, ...), and
* the **plain Markov form**: a single ``[chain]`` table that gives, per transient stage,
  the probability of each next stage per step -- a textbook absorbing chain in five lines.

Both are parsed with :mod:`tomllib`, validated by pydantic v2 into frozen objects
(``extra="forbid"``: an unknown key is an error, not a silent no-op) and cross-checked
(every stage or channel a key refers to must exist, every transition row must sum to 1).
Errors name the file, the key and what is expected.
"""

from __future__ import annotations

import hashlib
import json
import math
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, Field, Strict, ValidationError

from cjsim import _toml
from cjsim.errors import ModelError, OptionError
from cjsim.limits import (
    MAX_CHANNELS,
    MAX_HORIZON_DAYS,
    MAX_SEGMENTS,
    MAX_STAGES,
    MAX_STEPS,
)
from cjsim.model_agents import AgentsConfig, Capacity, Network, Schedule, check_agent_sections
from cjsim.model_types import Frozen, NonNegative, Positive, Probability

#: Tolerance for a transition row to count as summing to one.
ROW_SUM_TOLERANCE = 1e-6


DEFAULT_STAGES = (
    "unaware",
    "awareness",
    "consideration",
    "decision",
    "purchase",
    "retention",
    "loyalty",
    "advocacy",
    "lost",
)


_Frozen = Frozen


class ValueDistribution(_Frozen):
    """Distribution of the monetary value of one conversion.

    ``fixed`` always gives ``mean``; ``lognormal`` and ``gamma`` are parametrised by their
    mean and standard deviation (not by the log-scale parameters), which is what a
    planner knows.
    """

    distribution: Literal["fixed", "lognormal", "gamma"] = "lognormal"
    mean: NonNegative = 1.0
    sd: NonNegative = 0.0


class Effect(_Frozen):
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


class Channel(_Frozen):
    """A touchpoint channel: paid (bought exposures) or organic (no spend).

    Paid channels buy ``daily_budget / cost_per_exposure`` impressions a day, spread at
    random over ``audience`` people (default: the model's population); the chance that a
    customer in a targeted stage is touched on a day follows the Poisson reach curve
    :func:`cjsim.effects.poisson_reach` with ceiling ``max_reach``, so extra money buys
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


class Segment(_Frozen):
    """A customer segment: its share of the market and how it differs from the base."""

    share: Annotated[float, Field(gt=0.0, le=1.0)]
    description: str = ""
    value: ValueDistribution | None = None
    affinity: dict[str, NonNegative] = Field(default_factory=dict)
    transitions: dict[str, dict[str, Probability]] = Field(default_factory=dict)


class WordOfMouth(_Frozen):
    """Referrals from customers in ``sources`` stages to customers in ``targets`` stages.

    Every customer in a source stage contacts ``contact_rate`` others a day on average;
    a contact is a touch on the organic ``channel``, which acts through that channel's
    effects.
    """

    channel: str
    contact_rate: NonNegative
    sources: list[str] = Field(default_factory=lambda: ["advocacy"])
    targets: list[str] | None = None


class Narrative(_Frozen):
    """Words for ``cjsim explain``: what entering a stage, meeting a channel and converting
    mean in this market ("gets a toothache", "reads the practice's reviews")."""

    start: str | None = None
    stages: dict[str, str] = Field(default_factory=dict)
    touches: dict[str, str] = Field(default_factory=dict)
    segments: dict[str, str] = Field(default_factory=dict)
    conversion: str | None = None


class JourneyModel(_Frozen):
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
        data = self.model_dump(mode="json", exclude={"narrative"})
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
        """
        data = self.model_dump(mode="python")
        for name, amount in (budgets or {}).items():
            ch = self._channel_for_option("--budget", name)
            if ch.type != "paid":
                raise OptionError(f"channel '{name}' is organic; only paid channels have a budget")
            if not (isinstance(amount, int | float) and math.isfinite(amount) and amount >= 0):
                raise OptionError(
                    f"budget for '{name}' is {amount!r}; expected a finite amount >= 0 per day"
                )
            data["channels"][name]["daily_budget"] = float(amount)
        for name in channels_off:
            ch = self._channel_for_option("channels off", name)
            entry = data["channels"][name]
            if ch.type == "paid":
                entry["daily_budget"] = 0.0
            entry["rate"] = {}
            # Effects stay: with no touches they are inert, and keeping them keeps the
            # engine's arithmetic identical for customers the channel never reached.
            wom = data.get("word_of_mouth")
            if wom and wom["channel"] == name:
                wom["contact_rate"] = 0.0
        if horizon_days is not None:
            if not (math.isfinite(horizon_days) and horizon_days > 0):
                raise OptionError(f"days is {horizon_days!r}; expected a number > 0")
            data["horizon_days"] = float(horizon_days)
        return validate_model(data, source=None)

    def _channel_for_option(self, option: str, name: str) -> Channel:
        if name not in self.channels:
            known = ", ".join(self.channels) or "(none)"
            raise OptionError(f"{option}: unknown channel '{name}'; expected one of: {known}")
        return self.channels[name]


class ChainSpec(_Frozen):
    """The plain Markov form: ``[chain]`` with the stage chain given directly."""

    conversion: str
    transitions: dict[str, dict[str, Probability]]
    initial: str | None = None
    horizon_steps: Annotated[int, Field(gt=0, le=MAX_HORIZON_DAYS)] = 1000
    value: NonNegative = 1.0


class ChainFile(_Frozen):
    """A file in the plain Markov form."""

    name: str = "chain"
    description: str = ""
    chain: ChainSpec


# -- loading and validation --------------------------------------------------------


def load_model(path: str | Path) -> JourneyModel:
    """Read, validate and cross-check a model file (or a shipped model, by its name).

    Raises
    ------
    ModelError
        Naming the file, the key and what is expected.
    """
    p = Path(path)
    src = str(path)
    if not p.is_file() and isinstance(path, str) and not p.suffix and len(p.parts) == 1:
        if path in embedded_models() or not p.exists():
            # "dentist" -> the shipped dentist.toml (or a clear error), even beside a folder
            # of that name (a results folder, say)
            p = embedded_models().get(path) or resolve_model(path)
    if not p.exists():
        raise ModelError("file not found; expected a model file (TOML)", source=src)
    if p.is_dir():
        raise ModelError("is a folder; expected a model file (TOML)", source=src)
    text = _toml.read_text(p, src, ModelError, "a model file (TOML)")
    return parse_model(text, source=src, default_name=p.stem)


def parse_model(
    text: str, *, source: str | None = None, default_name: str = "model"
) -> JourneyModel:
    """Parse model-file text (TOML) into a validated :class:`JourneyModel`."""
    if not text.strip():
        raise ModelError("file is empty; expected a model in TOML", source=source)
    data = _toml.loads(text, source, ModelError)
    if "chain" in data:
        data.setdefault("name", default_name)
        chain = _validate(ChainFile, data, source)
        return _chain_to_journey(chain, source)
    data.setdefault("name", default_name)
    return validate_model(data, source=source)


def validate_model(data: Mapping[str, Any], *, source: str | None = None) -> JourneyModel:
    """Validate a model given as a mapping (the parsed TOML) and cross-check it."""
    model = _validate(JourneyModel, data, source)
    _cross_check(model, source)
    return model


def _validate(cls: type[BaseModel], data: Mapping[str, Any], source: str | None) -> Any:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise _pydantic_error(cls, exc, source) from None


def _pydantic_error(cls: type[BaseModel], exc: ValidationError, source: str | None) -> ModelError:
    """Turn pydantic's first error into one line that names the key."""
    err = exc.errors()[0]
    loc = [
        str(part) for part in err["loc"] if not str(part).startswith(("function-", "str", "dict["))
    ]
    # pydantic reports union members by type name; keep the path to the key only.
    key = ".".join(loc) or "(top level)"
    etype = err["type"]
    if etype == "extra_forbidden":
        allowed = _allowed_keys(cls, err["loc"][:-1])
        hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
        return ModelError(f"unknown key '{loc[-1]}'{hint}", source=source, key=key)
    if etype == "missing":
        return ModelError("required key is missing", source=source, key=key)
    msg = err["msg"].replace("Input should be", "expected")
    return ModelError(f"got {shorten(err.get('input'))}; {msg}", source=source, key=key)


def shorten(value: Any, width: int = 60) -> str:
    """A value's repr for a message, cut to ``width`` characters (a value may be a whole
    table, or a line of a file that is not a model at all)."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _allowed_keys(cls: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the pydantic class found at ``loc`` (best effort, for error hints)."""
    current: Any = cls
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            continue  # a dict key (channel or stage name): stay on the value type below
        current = _model_type(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _model_type(annotation: Any) -> Any:
    """The BaseModel class inside an annotation like ``dict[str, Channel] | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_type(arg)
        if found is not None:
            return found
    return None


def _check_row(row: Mapping[str, float], stages: list[str], key: str, source: str | None) -> None:
    for target in row:
        if target not in stages:
            raise ModelError(
                f"unknown stage '{target}'; expected one of: {', '.join(stages)}",
                source=source,
                key=f"{key}.{target}",
            )
    total = math.fsum(row.values())
    if abs(total - 1.0) > ROW_SUM_TOLERANCE:
        raise ModelError(
            f"probabilities sum to {total:.6g}; expected 1 (include the probability of staying)",
            source=source,
            key=key,
        )


def _need_stage(name: str, stages: list[str], key: str, source: str | None) -> None:
    if name not in stages:
        raise ModelError(
            f"unknown stage '{name}'; expected one of: {', '.join(stages)}", source=source, key=key
        )


def _need_channel(name: str, channels: Mapping[str, Channel], key: str, source: str | None) -> None:
    if name not in channels:
        known = ", ".join(channels) or "(no channels defined)"
        raise ModelError(
            f"unknown channel '{name}'; expected one of: {known}", source=source, key=key
        )


def _check_conversion_reachable(m: JourneyModel, source: str | None) -> None:
    """Some customer must be able to convert: the conversion stage is reachable from a
    starting stage in the transitions of the base model or of some segment (channel
    effects only scale transitions that exist, so they open no new way)."""
    edges: dict[str, set[str]] = {}
    for rows in (m.transitions, *(seg.transitions for seg in m.segments.values())):
        for s, row in rows.items():
            edges.setdefault(s, set()).update(t for t, p in row.items() if p > 0 and t != s)
    seen = {s for s, share in m.initial_distribution.items() if share > 0}
    todo = list(seen)
    while todo:
        for t in edges.get(todo.pop(), ()):
            if t not in seen:
                seen.add(t)
                todo.append(t)
    if m.conversion not in seen:
        raise ModelError(
            f"no customer can reach the conversion stage '{m.conversion}' from where they "
            f"start ({', '.join(sorted(s for s, p in m.initial_distribution.items() if p > 0))}"
            "); expected transitions that lead to it",
            source=source,
            key="transitions",
        )


def _cross_check(m: JourneyModel, source: str | None) -> None:
    """Checks that span several keys: references, row sums, paid/organic consistency."""
    _check_sizes(m, source)
    stages = m.stages
    if len(set(stages)) != len(stages):
        dup = next(s for s in stages if stages.count(s) > 1)
        raise ModelError(f"stage '{dup}' is listed twice", source=source, key="stages")
    for name in m.channels:
        if ">" in name:
            raise ModelError(
                "expected a channel name without '>', which separates the channels of a path",
                source=source,
                key=f"channels.{name}",
            )
    _need_stage(m.conversion, stages, "conversion", source)
    if m.lost is not None:
        _need_stage(m.lost, stages, "lost", source)
    for s in m.initial_distribution:
        _need_stage(s, stages, "initial", source)
    if m.initial_distribution.get(m.conversion, 0.0) > 0:
        raise ModelError(
            f"customers start in the conversion stage '{m.conversion}'; expected them to "
            "start before it (a conversion is counted on entering the stage)",
            source=source,
            key="initial",
        )
    if isinstance(m.initial, dict) and abs(math.fsum(m.initial.values()) - 1.0) > ROW_SUM_TOLERANCE:
        total = math.fsum(m.initial.values())
        raise ModelError(
            f"probabilities sum to {total:.6g}; expected 1", source=source, key="initial"
        )
    if m.step_days > m.horizon_days:
        raise ModelError(
            f"step_days ({m.step_days}) is longer than horizon_days ({m.horizon_days})",
            source=source,
            key="step_days",
        )
    for s, row in m.transitions.items():
        _need_stage(s, stages, f"transitions.{s}", source)
        _check_row(row, stages, f"transitions.{s}", source)
    shares = 0.0
    for g, seg in m.segments.items():
        shares += seg.share
        for s, row in seg.transitions.items():
            _need_stage(s, stages, f"segments.{g}.transitions.{s}", source)
            _check_row(row, stages, f"segments.{g}.transitions.{s}", source)
        for c in seg.affinity:
            _need_channel(c, m.channels, f"segments.{g}.affinity.{c}", source)
    _check_conversion_reachable(m, source)
    if m.narrative.conversion is not None:
        check_placeholders(m.narrative.conversion, ("value",), "narrative.conversion", source)
    for s in m.narrative.stages:
        _need_stage(s, stages, f"narrative.stages.{s}", source)
    for c in m.narrative.touches:
        _need_channel(c, m.channels, f"narrative.touches.{c}", source)
    for g in m.narrative.segments:
        if g not in m.segments:
            raise ModelError(
                f"unknown segment '{g}'; expected one of: {', '.join(m.segments) or '(none)'}",
                source=source,
                key=f"narrative.segments.{g}",
            )
    if m.segments and abs(shares - 1.0) > ROW_SUM_TOLERANCE:
        raise ModelError(
            f"segment shares sum to {shares:.6g}; expected 1", source=source, key="segments"
        )
    for c, ch in m.channels.items():
        _check_channel(m, c, ch, source)
    if m.word_of_mouth is not None:
        w = m.word_of_mouth
        _need_channel(w.channel, m.channels, "word_of_mouth.channel", source)
        if m.channels[w.channel].type != "organic":
            raise ModelError(
                f"channel '{w.channel}' is paid; word of mouth needs an organic channel",
                source=source,
                key="word_of_mouth.channel",
            )
        for s in w.sources:
            _need_stage(s, stages, "word_of_mouth.sources", source)
        for s in w.targets or []:
            _need_stage(s, stages, "word_of_mouth.targets", source)
    check_agent_sections(m, source)


def _check_sizes(m: JourneyModel, source: str | None) -> None:
    """Counts within :mod:`cjsim.limits` (integer codes and bitmasks of the engines)."""
    for key, count, bound in (("stages", len(m.stages), MAX_STAGES),
                              ("channels", len(m.channels), MAX_CHANNELS),
                              ("segments", len(m.segments), MAX_SEGMENTS)):  # fmt: skip
        if count > bound:
            raise ModelError(
                f"{count:,} {key}; expected at most {bound:,} (cjsim.limits.MAX_{key.upper()})",
                source=source,
                key=key,
            )
    steps = m.horizon_days / m.step_days
    if steps > MAX_STEPS:
        raise ModelError(
            f"horizon_days / step_days is {steps:,.0f} steps; expected at most {MAX_STEPS:,} "
            "(cjsim.limits.MAX_STEPS): longer steps or a shorter horizon",
            source=source,
            key="step_days",
        )


def check_placeholders(text: str, allowed: tuple[str, ...], key: str, source: str | None) -> None:
    """Text to be filled in with :meth:`str.format` may hold only the ``allowed`` plain
    placeholders (``{value}``): no positions, attributes (``{value.__class__}``), indexes,
    conversions or format specs (``{value:>999999999}``), which would fail, print Python
    internals or fill the memory."""
    names = " or ".join(f"{{{a}}}" for a in allowed)
    expected = (
        f"expected text with at most the placeholder {names} (write {{{{ and }}}} for braces)"
    )
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ModelError(f"{shorten(text)} cannot be filled in ({exc}); {expected}",
                         source=source, key=key) from None  # fmt: skip
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in allowed or conversion is not None or spec:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (
                f":{spec}" if spec else "") + "}"  # fmt: skip
            raise ModelError(f"placeholder {shorten(shown, 40)} is not allowed; {expected}",
                             source=source, key=key)  # fmt: skip


#: Adstock levels every Hill curve meets: none yet and traces decayed towards zero (float32,
#: as the Markov engine keeps them); the largest level depends on the channel.
_ADSTOCK_PROBES = (0.0, 1e-45, 1e-30, 1e-20, 1e-12, 1e-6, 1e-3, 0.01, 0.1, 0.5, 1.0, 2.0, 10.0)


def _check_hill(ch: Channel, ec: float, slope: float, key: str, source: str | None) -> None:
    """The response ``hill(adstock, ec, slope)`` must be a number at every adstock level a
    customer can have (up to ten touches a step carried over, ``10 / (1 - adstock)``):
    with an extreme slope, ``adstock**slope`` and ``ec**slope`` both overflow (or
    underflow) and the response is 0/0 or inf/inf."""
    from cjsim.effects import hill

    top = 10.0 if ch.normalize_adstock else 10.0 / (1.0 - ch.adstock)
    x = np.array([*_ADSTOCK_PROBES, top], dtype=np.float32)
    with np.errstate(all="ignore"):
        as64 = hill(x.astype(np.float64), ec, slope)
        xs = x**slope  # the Markov engine's arithmetic, in float32
        as32 = x / (x + np.float32(ec)) if slope == 1.0 else xs / (xs + ec**slope)
    if not (np.isfinite(as64).all() and np.isfinite(as32).all()):
        raise ModelError(
            f"ec = {ec:g} with slope = {slope:g} gives no response (NaN) at some adstock "
            f"level from 0 to {top:g} (the powers overflow or underflow); expected a "
            "smaller slope (most are 0.5 to 5) or an ec nearer 1",
            source=source,
            key=key,
        )


def _check_channel(m: JourneyModel, c: str, ch: Channel, source: str | None) -> None:
    key = f"channels.{c}"
    if ch.type == "paid":
        for field in ("daily_budget", "cost_per_exposure"):
            if getattr(ch, field) is None:
                raise ModelError("required for a paid channel", source=source, key=f"{key}.{field}")
        if ch.rate:
            raise ModelError(
                "a paid channel's touches come from its budget; 'rate' is for organic channels",
                source=source,
                key=f"{key}.rate",
            )
    else:
        for field in ("daily_budget", "cost_per_exposure", "audience"):
            if getattr(ch, field) is not None:
                raise ModelError(
                    "an organic channel has no spend; remove this key or make the channel paid",
                    source=source,
                    key=f"{key}.{field}",
                )
        if ch.targets is not None:
            raise ModelError(
                "an organic channel touches by stage through 'rate'; "
                "'targets' is for paid channels",
                source=source,
                key=f"{key}.targets",
            )
    for s in ch.targets or []:
        _need_stage(s, m.stages, f"{key}.targets", source)
    for s in ch.rate:
        _need_stage(s, m.stages, f"{key}.rate.{s}", source)
    for s, eff in ch.effects.items():
        ekey = f"{key}.effects.{s}"
        _need_stage(s, m.stages, ekey, source)
        own = eff.ec is not None or eff.slope is not None
        _check_hill(ch, eff.ec or ch.ec, eff.slope or ch.slope, ekey if own else key, source)
        if eff.to is not None:
            for t in eff.to:
                _need_stage(t, m.stages, f"{ekey}.to", source)
                if m.transitions.get(s, {}).get(t, 0.0) <= 0.0 and not any(
                    seg.transitions.get(s, {}).get(t, 0.0) > 0 for seg in m.segments.values()
                ):
                    raise ModelError(
                        f"there is no transition {s} -> {t} to lift; "
                        f"add it to transitions.{s} or change 'to'",
                        source=source,
                        key=f"{ekey}.to",
                    )
        elif not m.forward_targets(s):
            raise ModelError(
                f"stage '{s}' has no transition to a later stage to lift; give 'to' explicitly",
                source=source,
                key=ekey,
            )


def _chain_to_journey(f: ChainFile, source: str | None) -> JourneyModel:
    """Turn the plain Markov form into the journey form (no channels, one segment)."""
    ch = f.chain
    stages: list[str] = []
    for s, row in ch.transitions.items():
        for name in (s, *row):
            if name not in stages:
                stages.append(name)
    if ch.conversion not in stages:
        raise ModelError(
            f"conversion stage '{ch.conversion}' does not appear in chain.transitions; "
            "expected an absorbing stage that some row leads to",
            source=source,
            key="chain.conversion",
        )
    conv_row = ch.transitions.get(ch.conversion)
    if conv_row is not None and any(p > 0 for t, p in conv_row.items() if t != ch.conversion):
        raise ModelError(
            f"conversion stage '{ch.conversion}' must be absorbing (no way out); "
            f"remove its row or make it {{ {ch.conversion} = 1.0 }}",
            source=source,
            key=f"chain.transitions.{ch.conversion}",
        )
    for s, row in ch.transitions.items():
        _check_row(row, stages, f"chain.transitions.{s}", source)
    if ch.initial is not None:
        _need_stage(ch.initial, stages, "chain.initial", source)
    lost = "lost" if "lost" in stages else None
    data = {
        "name": f.name,
        "description": f.description,
        "kind": "chain",
        "stages": stages,
        "conversion": ch.conversion,
        "lost": lost,
        "initial": ch.initial or stages[0],
        "horizon_days": float(ch.horizon_steps),
        "step_days": 1.0,
        "value": {"distribution": "fixed", "mean": ch.value},
        "transitions": ch.transitions,
    }
    return validate_model(data, source=source)


def shipped_files(folder: str) -> dict[str, Path]:
    """The ``.toml`` files of a folder inside the package: name -> path."""
    from importlib import resources

    where = resources.files("cjsim") / folder
    return {Path(str(p)).stem: Path(str(p)) for p in where.iterdir() if str(p).endswith(".toml")}


def embedded_models() -> dict[str, Path]:
    """Model files shipped inside the package: name -> path."""
    return shipped_files("models")


def resolve_shipped(arg: str, folder: str = "models", kind: str = "model") -> Path:
    """A path as given, or the name of a file shipped in the package's ``folder``.

    A bare name that is neither raises an error listing the shipped ones; a path that
    does not exist is returned as it is, for the loader to report. A folder named like a
    shipped file (``cjsim run budget_shift`` writes ``./budget_shift``) is not a file: the
    shipped one is meant.
    """
    p = Path(arg)
    shipped = shipped_files(folder)
    if p.exists() and not (p.is_dir() and arg in shipped):
        return p
    if arg in shipped:  # also beside a folder of that name (the results of a run, say)
        return shipped[arg]
    if not p.suffix:
        names = ", ".join(sorted(shipped))
        raise OptionError(
            f"no such file and no embedded {kind} of that name; embedded {kind}s: {names}",
            source=arg,
        )
    return p


def resolve_model(arg: str) -> Path:
    """A model path as given, or the name of an embedded model (``ecommerce``, ``dentist``...)."""
    return resolve_shipped(arg, "models", "model")
