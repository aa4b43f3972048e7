"""Reference pages of the model, experiment and profile files, generated from their schemas.

``python docs/make_reference.py`` writes ``model-file.md``, ``experiment-file.md``,
``profile-file.md`` and ``limits.md`` into ``docs/reference``; a test checks the committed
pages equal what this module generates, so the reference cannot drift from the validation
that reads the files.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from cjsim.experiment.config import BudgetShift, ExperimentFile, Scenario
from cjsim.limits import MAX_CHANNELS, MAX_FILE_BYTES, MAX_STAGES
from cjsim.model import (
    ChainSpec,
    Channel,
    Effect,
    Geo,
    JourneyModel,
    Narrative,
    Segment,
    ValueDistribution,
    WordOfMouth,
)
from cjsim.model.agent_sections import AgentsConfig, Capacity, Network, Schedule
from cjsim.model.timing import Arrivals, Flighting
from cjsim.observe.profile import AdBlockers, ChannelRule, Consent, Conversions, Ids, Profile

MODEL_SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("top level", JourneyModel),
    ("[value] and segments.NAME.value", ValueDistribution),
    ("[channels.NAME]", Channel),
    ("channels.NAME.effects.STAGE", Effect),
    ("[channels.NAME.schedule]", Schedule),
    ("[channels.NAME.flighting]", Flighting),
    ("[segments.NAME]", Segment),
    ("[word_of_mouth]", WordOfMouth),
    ("[agents]", AgentsConfig),
    ("[capacity.NAME]", Capacity),
    ("[network]", Network),
    ("[geos.NAME]", Geo),
    ("[arrivals]", Arrivals),
    ("[narrative]", Narrative),
    ("[chain] (the plain Markov form, instead of everything above)", ChainSpec),
]
EXPERIMENT_SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("top level", ExperimentFile),
    ("[scenarios.NAME]", Scenario),
    ("scenarios.NAME.budget_shift", BudgetShift),
    ("scenarios.NAME.schedules.CHANNEL", Schedule),
    ("scenarios.NAME.flighting.CHANNEL", Flighting),
]


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        optional = any(a is type(None) for a in args)
        return " or ".join(names) + (" (optional)" if optional else "")
    if origin is typing.Literal:
        return " or ".join(f'"{a}"' for a in args)
    if annotation is Any:
        return "any value"
    if origin in (list, tuple):
        inner = ", ".join(_type_name(a) for a in args if a is not Ellipsis)
        return f"list of {inner}" if origin is list else f"({inner})"
    if origin is dict:
        return f"table of {_type_name(args[0])} -> {_type_name(args[1])}"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return f"table ({annotation.__name__})"
        return {"str": "text", "int": "integer", "float": "number", "bool": "true/false"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation).replace("typing.", "")


def _constraints(annotation: Any, metadata: list[Any]) -> str:
    found = list(metadata)
    stack = [annotation]
    while stack:  # constraints inside Annotated, also within unions and containers
        a = stack.pop()
        if typing.get_origin(a) is typing.Annotated:
            found += list(typing.get_args(a)[1:])
            stack.append(typing.get_args(a)[0])
        else:
            stack += [x for x in typing.get_args(a) if x is not Ellipsis]
    words = []
    for m in list(found):
        found += list(getattr(m, "metadata", []))  # Field(ge=...) inside Annotated
    for m in found:
        for attr, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="),
                           ("min_length", "at least"),):  # fmt: skip
            value = getattr(m, attr, None)
            if value is not None:
                plural = "entry" if value == 1 else "entries"
                words.append(f"{sign} {value}" if attr != "min_length" else
                             f"{sign} {value} {plural}")  # fmt: skip
    return ", ".join(dict.fromkeys(words))


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()
    else:
        value = field.default
    if value is PydanticUndefined or value is None:
        return ""
    if isinstance(value, BaseModel):
        return "(defaults below)"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    if value in ({}, []):
        return "empty"
    return f"{value:_}" if isinstance(value, int) else str(value)


PROFILE_SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("top level", Profile),
    ("[ids]", Ids),
    ("[consent]", Consent),
    ("[ad_blockers]", AdBlockers),
    ("[conversions]", Conversions),
    ("[[channels]] (a list of rules: the first whose pattern matches a channel wins)", ChannelRule),
]


def section_markdown(title: str, cls: type[BaseModel]) -> str:
    doc = inspect.cleandoc(cls.__doc__ or "")
    doc = re.split(r"\n\s*\n", doc)[0].replace("\n", " ")
    lines = [f"## {title}", "", doc, "", "| key | type | default | allowed |",
             "|---|---|---|---|"]  # fmt: skip
    for name, field in cls.model_fields.items():
        key = field.alias or name
        lines.append(
            f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} | "
            f"{_constraints(field.annotation, field.metadata)} |"
        )
    return "\n".join(lines) + "\n"


def page(kind: str) -> str:
    """The reference page of ``model`` or ``experiment`` files, or of the ``limits``, as
    Markdown."""
    if kind == "model":
        head = (
            "# Model file reference\n\nEvery key a model file (TOML) may hold, generated "
            "from the schema that validates it (`python docs/make_reference.py`). "
            "Unknown keys are errors. The shipped models "
            "(`cjsim/models/*.toml`) show each section in use, with comments. Sizes are "
            f"bounded (at most {MAX_STAGES} stages, {MAX_CHANNELS:,} channels, a "
            f"{MAX_FILE_BYTES // 2**20} MiB file...): see [limits.md](limits.md).\n"
        )
        sections = MODEL_SECTIONS
    elif kind == "limits":
        from cjsim.limits import page as limits_page

        return limits_page()
    elif kind == "experiment":
        head = (
            "# Experiment file reference\n\nEvery key an experiment file (TOML) may hold, "
            "generated from the schema that validates it. Unknown keys are errors. The "
            "shipped experiments (`cjsim/experiments/*.toml`) show them in use.\n"
        )
        sections = EXPERIMENT_SECTIONS
    elif kind == "profile":
        head = (
            "# Observation profile reference\n\nEvery key an observation profile (TOML, "
            "read by `cjsim observe` and `cjsim evaluate --observe`) may hold, generated from "
            "the schema that validates it. Unknown keys are errors; every key has a default "
            "that loses nothing, so an empty file records everything. What each mechanism "
            "does, exactly, is in `cjsim.observe.mechanisms`; the shipped profiles "
            "(`cjsim/observe/profiles/*.toml`: `perfect`, `typical_web_2026`, "
            "`strict_privacy`) say where their rates come from.\n"
        )
        sections = PROFILE_SECTIONS
    else:
        raise ValueError(f"kind is {kind!r}; expected 'model', 'experiment', 'profile' or 'limits'")
    return head + "".join("\n" + section_markdown(t, c) for t, c in sections)


PAGES = {
    "model-file.md": "model",
    "experiment-file.md": "experiment",
    "profile-file.md": "profile",
    "limits.md": "limits",
}


def write_pages(folder: str | Path) -> list[Path]:
    """Write every reference page into ``folder``; returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, kind in PAGES.items():
        (folder / name).write_text(page(kind), encoding="utf-8")
        written.append(folder / name)
    return written
