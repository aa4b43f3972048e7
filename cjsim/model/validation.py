"""Validation of a parsed model file and the cross-checks between its sections.

Every error is a :class:`~cjsim.errors.ModelError` that names the file, the key and what
is expected: a stage or channel a key refers to must exist, every transition row must sum
to 1, the conversion stage must be reachable, sizes stay within :mod:`cjsim.limits`.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from cjsim.errors import CjsimError, ModelError
from cjsim.limits import MAX_CHANNELS, MAX_SEGMENTS, MAX_STAGES, MAX_STEPS
from cjsim.model.agent_sections import check_agent_sections
from cjsim.model.schema import Channel, JourneyModel
from cjsim.model.timing import check_timing

#: Tolerance for a transition row to count as summing to one.
ROW_SUM_TOLERANCE = 1e-6


def validate_model(data: Mapping[str, Any], *, source: str | None = None) -> JourneyModel:
    """Validate a model given as a mapping (the parsed TOML) and cross-check it."""
    model = _validate(JourneyModel, data, source)
    _cross_check(model, source)
    return model


def _validate(cls: type[BaseModel], data: Mapping[str, Any], source: str | None) -> Any:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(cls, exc, source) from None


def pydantic_error(
    cls: type[BaseModel],
    exc: ValidationError,
    source: str | None,
    error: type[CjsimError] = ModelError,
) -> CjsimError:
    """Turn pydantic's first error into one line that names the key (any file kind)."""
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
        return error(f"unknown key '{loc[-1]}'{hint}", source=source, key=key)
    if etype == "missing":
        return error("required key is missing", source=source, key=key)
    msg = err["msg"].replace("Input should be", "expected")
    return error(f"got {shorten(err.get('input'))}; {msg}", source=source, key=key)


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
    """Checks that span several keys: references, row sums, paid/organic consistency
    (in this order, so the first problem of a file is always the one reported)."""
    _check_sizes(m, source)
    _check_stages_and_start(m, source)
    shares = _check_rows(m, source)
    _check_conversion_reachable(m, source)
    _check_narrative(m, source)
    if m.segments and abs(shares - 1.0) > ROW_SUM_TOLERANCE:
        raise ModelError(
            f"segment shares sum to {shares:.6g}; expected 1", source=source, key="segments"
        )
    for c, ch in m.channels.items():
        _check_channel(m, c, ch, source)
    _check_word_of_mouth(m, source)
    check_agent_sections(m, source)
    _check_geos(m, source)
    check_timing(m, source)


def _check_geos(m: JourneyModel, source: str | None) -> None:
    """Geo shares (and budget shares) sum to 1; a base rate keeps the first row a row."""
    for what in ("share", "budget_share"):
        given = [getattr(g, what) for g in m.geos.values() if getattr(g, what) is not None]
        if given and abs(sum(given) - 1.0) > ROW_SUM_TOLERANCE:
            raise ModelError(f"geo {what}s sum to {sum(given):.6g}; expected 1", source=source,
                             key="geos")  # fmt: skip
    first = m.stages[0]
    moves = sum(p for t, p in m.transitions.get(first, {}).items() if t != first)
    for name, g in m.geos.items():
        if moves * g.base_rate > 1.0 + ROW_SUM_TOLERANCE:
            raise ModelError(
                f"{g.base_rate:g} makes the chances of leaving '{first}' sum to "
                f"{moves * g.base_rate:.4g}; expected at most {1 / moves:.4g}",
                source=source, key=f"geos.{name}.base_rate",
            )  # fmt: skip


def _check_stages_and_start(m: JourneyModel, source: str | None) -> None:
    """Stages listed once, channel names, the named stages exist, where customers start
    (before the conversion, summing to 1), and a step within the horizon."""
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


def _check_rows(m: JourneyModel, source: str | None) -> float:
    """Every transition row (the model's and each segment's) and segment affinities; the
    sum of the segment shares."""
    stages = m.stages
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
    return shares


def _check_narrative(m: JourneyModel, source: str | None) -> None:
    """The narrative's placeholders, and the stages, channels and segments it names."""
    stages = m.stages
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


def _check_word_of_mouth(m: JourneyModel, source: str | None) -> None:
    """Word of mouth spreads on an organic channel between stages that exist."""
    stages = m.stages
    w = m.word_of_mouth
    if w is None:
        return
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
    from cjsim.model.curves import hill, hill_float32

    top = 10.0 if ch.normalize_adstock else 10.0 / (1.0 - ch.adstock)
    x = np.array([*_ADSTOCK_PROBES, top], dtype=np.float32)
    with np.errstate(all="ignore"):
        as64 = hill(x.astype(np.float64), ec, slope)
        as32 = hill_float32(x, ec, slope)  # the engines' arithmetic
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
