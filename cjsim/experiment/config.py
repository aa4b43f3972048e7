"""Experiment files: what-if scenarios of one model, compared over paired replications.

An experiment file (TOML) names a base model, the engine, customers, replications and a
seed, and a set of scenarios, each a named set of overrides of the base model::

    name = "budget_shift"
    model = "ecommerce"            # an embedded model, or a .toml file next to this one
    customers = 50_000
    replications = 20
    seed = 7
    baseline = "current"           # default: the first scenario

    [scenarios.current]            # no overrides: the model as it is

    [scenarios.display_to_search]
    budget_scale = { display = 0.8 }
    budget_shift = { from = "display", to = "paid_search", share = 0.2 }

    [scenarios.no_tv]
    channels_off = ["video"]

Overrides of a scenario:

* ``model``: another model for this scenario (another "world"; the file's ``model`` is
  the default);
* ``budgets`` (daily amounts), ``budget_scale`` (multipliers), ``budget_shift`` (move a
  share of one channel's budget to another), ``channels_off``, ``horizon_days``;
* ``effect_scale`` (multiply every lift of a channel's effects: 0 makes it inert, 2 twice
  as strong), ``schedules`` (a channel's campaign schedule, replaced), ``flighting`` (a
  paid channel's budget plan period by period, replaced), ``segment_mix``
  (new segment shares; the ones not named keep theirs, all must still sum to 1),
  ``capacity`` (servers of a limited resource);
* ``set``: any other model key by its dotted path (``"channels.tv.adstock" = 0.7``),
  for what the named overrides do not cover.

The ``attribution`` list names methods run on every replication's event log;
``truth = true`` also computes each scenario's ground truth (once per scenario, with
``truth_customers`` customers per counterfactual run, default ``customers``) and scores
the methods against it. Files are validated like models (unknown keys, unknown channels
and bad values are errors that name the file and key) and hashed into every output.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from cjsim import _toml
from cjsim.errors import ModelError, OptionError
from cjsim.limits import MAX_CUSTOMERS, MAX_NAME_LENGTH, MAX_REPLICATIONS
from cjsim.model import (
    JourneyModel,
    embedded_models,
    load_model,
    resolve_shipped,
    shipped_files,
    shorten,
    validate_model,
)
from cjsim.model.agent_sections import Schedule
from cjsim.model.fields import Frozen, NonNegative, Positive
from cjsim.model.overrides import known_channel
from cjsim.model.timing import Flighting

METRICS = ("conversions", "converters", "revenue", "spend", "cpa", "roas")
#: Experiment and scenario names become folder names: plain ones only (no '/', no '..').
PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def check_plain_name(name: str, key: str, source: str | None) -> None:
    """A name that becomes a folder: letters, digits, ``_`` and ``-`` (not first): no
    ``/``, ``..`` or absolute path that would write outside ``--out``."""
    if not (PLAIN_NAME.fullmatch(name) and len(name) <= MAX_NAME_LENGTH):
        raise ModelError(
            f"{shorten(name, 40)} is not a plain name; expected letters, digits, _ and - "
            f"(starting with a letter, a digit or _; at most {MAX_NAME_LENGTH} characters), "
            "as it names a folder of results",
            source=source,
            key=key,
        )


class BudgetShift(Frozen):
    """Move ``share`` of the ``from`` channel's daily budget to the ``to`` channel."""

    source: str = Field(alias="from")
    to: str
    share: Annotated[float, Field(gt=0.0, le=1.0)]


class Scenario(Frozen):
    """Overrides of the base model."""

    description: str = ""
    model: str | None = None
    budgets: dict[str, NonNegative] = Field(default_factory=dict)
    budget_scale: dict[str, NonNegative] = Field(default_factory=dict)
    budget_shift: BudgetShift | None = None
    channels_off: list[str] = Field(default_factory=list)
    horizon_days: Positive | None = None
    effect_scale: dict[str, NonNegative] = Field(default_factory=dict)
    schedules: dict[str, Schedule] = Field(default_factory=dict)
    flighting: dict[str, Flighting] = Field(default_factory=dict)
    segment_mix: dict[str, Annotated[float, Field(gt=0.0, le=1.0)]] = Field(default_factory=dict)
    capacity: dict[str, Annotated[int, Field(gt=0)]] = Field(default_factory=dict)
    set_: dict[str, Any] = Field(default_factory=dict, alias="set")


class ExperimentFile(Frozen):
    """A validated experiment file."""

    name: str
    description: str = ""
    model: str
    engine: Literal["markov", "agents"] = "markov"
    customers: Annotated[int, Field(gt=0, le=MAX_CUSTOMERS)] = 50_000
    replications: Annotated[int, Field(gt=0, le=MAX_REPLICATIONS)] = 10
    seed: Annotated[int, Field(ge=0)] = 0
    baseline: str | None = None
    metrics: list[str] = Field(default_factory=lambda: list(METRICS))
    attribution: list[str] = Field(default_factory=list)
    truth: bool = False
    truth_customers: Annotated[int, Field(gt=0, le=MAX_CUSTOMERS)] | None = None
    scenarios: dict[str, Scenario] = Field(min_length=1)

    def check(self, source: str | None = None) -> None:
        """Checks across keys (after validation), as one error naming the key and value."""

        def fail(key: str, message: str) -> None:
            raise ModelError(message, source=source, key=key)

        check_plain_name(self.name, "name", source)
        for name in self.scenarios:
            check_plain_name(name, f"scenarios.{_quoted(name)}", source)
        if self.baseline is not None and self.baseline not in self.scenarios:
            fail("baseline", f"'{self.baseline}' is not a scenario; expected one of "
                 f"{', '.join(self.scenarios)}")  # fmt: skip
        for m in self.metrics:
            if m not in METRICS:
                fail("metrics", f"unknown metric '{m}'; expected any of {', '.join(METRICS)}")
        if self.attribution:
            from cjsim.attribution import make_method

            for method in self.attribution:
                try:
                    make_method(method)
                except OptionError as exc:
                    fail("attribution", exc.reason)
        if self.truth and not self.attribution:
            fail("truth", "truth = true scores attribution methods; name them in attribution")
        if self.engine == "markov":
            for name, sc in self.scenarios.items():
                if sc.capacity:
                    fail(f"scenarios.{name}.capacity", "capacity is simulated by the agent "
                         'engine only; set engine = "agents" or leave capacity out')  # fmt: skip

    @property
    def baseline_name(self) -> str:
        return self.baseline or next(iter(self.scenarios))


class Experiment:
    """An experiment file with its base model loaded and every scenario's model built."""

    def __init__(
        self,
        spec: ExperimentFile,
        base: JourneyModel,
        source: str | None,
        worlds: Mapping[str, JourneyModel] | None = None,
    ) -> None:
        """``worlds``: the models scenarios name in their ``model`` key, by that name."""
        spec.check(source)
        self.spec = spec
        self.base = base
        self.source = source
        self.worlds = dict(worlds or {})
        missing = sorted({sc.model for sc in spec.scenarios.values()
                          if sc.model and sc.model not in self.worlds})  # fmt: skip
        if missing:
            raise ModelError(
                f"the model(s) {', '.join(missing)} named by scenarios were not given "
                "(pass them as worlds, or use load_experiment)",
                source=source,
            )
        worlds = self.worlds
        self.models = {
            name: scenario_model(worlds[sc.model] if sc.model else base, sc, name, source)
            for name, sc in spec.scenarios.items()
        }

    @property
    def name(self) -> str:
        return self.spec.name

    def with_settings(self, **update: Any) -> Experiment:
        """The same experiment with other top-level settings (``customers``,
        ``replications``, ``seed``...), validated again: a quick small run of a big file."""
        data = {**self.spec.model_dump(by_alias=True, exclude_none=True), **update}
        try:
            spec = ExperimentFile.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise OptionError(f"{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
        return Experiment(spec, self.base, self.source, self.worlds)

    def content_hash(self) -> str:
        """Hash of the experiment and of every scenario's model (16 hex digits)."""
        spec = self.spec.model_dump(mode="json", by_alias=True)
        for scenario in spec["scenarios"].values():  # hashed as before flighting existed
            if not scenario["flighting"]:
                del scenario["flighting"]
        payload = {
            "experiment": spec,
            "models": {n: m.content_hash() for n, m in self.models.items()},
        }
        text = json.dumps(payload, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def scenario_model(base: JourneyModel, sc: Scenario, name: str, source: str | None) -> JourneyModel:
    """The base model with one scenario's overrides applied (validated)."""
    key = f"scenarios.{name}"
    model = _budget_overrides(base, sc, key, source)
    data = _structural_overrides(model, sc, key, source)
    if data is None:
        return model
    try:
        return validate_model(data, source=None)
    except ModelError as exc:
        raise ModelError(
            f"the overridden model is not valid at '{exc.key}': {exc.reason}",
            source=source,
            key=key,
        ) from exc


def _structural_overrides(
    model: JourneyModel, sc: Scenario, key: str, source: str | None
) -> dict[str, Any] | None:
    """The model's data with effect, schedule, flighting, segment, capacity and ``set``
    overrides."""
    if not (sc.effect_scale or sc.schedules or sc.flighting or sc.segment_mix or sc.capacity
            or sc.set_):  # fmt: skip
        return None
    data = model.model_dump(mode="python", by_alias=True, exclude_none=True)

    def known(section: str, what: str, name: str, override: str) -> dict[str, Any]:
        entries = data.get(section) or {}
        if name not in entries:
            listed = ", ".join(entries) or "(none)"
            raise ModelError(
                f"unknown {what} '{name}'; model '{model.name}' has: {listed}",
                source=source,
                key=f"{key}.{override}",
            )
        entry: dict[str, Any] = entries[name]
        return entry

    for c, factor in sc.effect_scale.items():
        for effect in known("channels", "channel", c, "effect_scale").get("effects", {}).values():
            effect["lift"] = effect["lift"] * factor
    for c, schedule in sc.schedules.items():
        known("channels", "channel", c, "schedules")["schedule"] = schedule.model_dump(
            exclude_none=True
        )
    for c, plan in sc.flighting.items():
        known("channels", "channel", c, "flighting")["flighting"] = plan.model_dump()
    for seg, share in sc.segment_mix.items():
        known("segments", "segment", seg, "segment_mix")["share"] = share
    for res, servers in sc.capacity.items():
        known("capacity", "resource", res, "capacity")["servers"] = servers
    for path, value in _dotted(sc.set_):
        *parents, last = path.split(".")
        node: Any = data
        for i, part in enumerate(parents):
            if not isinstance(node, dict) or part not in node:
                where = ".".join(parents[:i]) or "the model"
                options = ", ".join(node) if isinstance(node, dict) else "(no keys)"
                raise ModelError(
                    f"'{path}': {where} has no key '{part}'; expected one of: {options}",
                    source=source,
                    key=f"{key}.set",
                )
            node = node[part]
        if not isinstance(node, dict):
            raise ModelError(f"'{path}': not a key of a table", source=source, key=f"{key}.set")
        node[last] = value
    return data


def _dotted(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``set`` entries as (dotted path, value): ``{"value": {"mean": 80}}`` (TOML's
    ``set.value.mean = 80``) and ``{"value.mean": 80}`` both set one key, not a table."""
    out: list[tuple[str, Any]] = []
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out += _dotted(value, path + ".")
        else:
            out.append((path, value))
    return out


def _budget_overrides(
    base: JourneyModel, sc: Scenario, key: str, source: str | None
) -> JourneyModel:
    budgets: dict[str, float] = {}
    try:
        for c, scale in sc.budget_scale.items():
            ch = known_channel(base, f"{key}.budget_scale", c)
            budgets[c] = (ch.daily_budget or 0.0) * scale
        for c, amount in sc.budgets.items():
            known_channel(base, f"{key}.budgets", c)
            budgets[c] = amount
        if sc.budget_shift is not None:
            s = sc.budget_shift
            src = known_channel(base, f"{key}.budget_shift.from", s.source)
            known_channel(base, f"{key}.budget_shift.to", s.to)
            if s.to == s.source:
                raise OptionError(f"from and to are both '{s.to}'; expected two different channels")
            moved = budgets.get(s.source, src.daily_budget or 0.0) * s.share
            budgets[s.source] = budgets.get(s.source, src.daily_budget or 0.0) - moved
            dst = base.channels[s.to]
            budgets[s.to] = budgets.get(s.to, dst.daily_budget or 0.0) + moved
        return base.with_overrides(
            budgets=budgets, channels_off=tuple(sc.channels_off), horizon_days=sc.horizon_days
        )
    except OptionError as exc:
        raise ModelError(exc.reason, source=source, key=key) from exc
    except ModelError as exc:  # the overridden model does not validate: say which scenario
        raise ModelError(
            exc.reason, source=source, key=f"{key} (model {exc.key})" if exc.key else key
        ) from exc


def _quoted(name: str) -> str:
    """A table name as TOML writes it in a dotted key: bare, or in quotes."""
    return name if PLAIN_NAME.fullmatch(name) else json.dumps(name)


def _model_path(arg: str, folder: Path) -> Path:
    """The model an experiment names: a ``.toml`` file, relative to the experiment's
    folder (a regular file: not a folder, a device or a pipe), or an embedded model."""
    local = folder / arg
    shipped = embedded_models()
    if local.is_file():
        if local.suffix.lower() != ".toml":
            raise ModelError(f"'{arg}' is not a .toml file; expected a model file (.toml) or "
                             f"an embedded model ({', '.join(sorted(shipped))})")  # fmt: skip
        return local
    if arg in shipped:
        return shipped[arg]
    if local.exists():
        raise ModelError(f"'{arg}' is not a regular file; expected a model file (.toml)")
    raise ModelError(
        f"model '{arg}' is neither a file next to the experiment ({local}) nor an embedded "
        f"model ({', '.join(sorted(shipped))})"
    )


def _load_named_model(arg: str, folder: Path, key: str, source: str) -> JourneyModel:
    """A model an experiment names; its errors name the experiment, the key, and the
    model file with its own key."""
    try:
        return load_model(_model_path(arg, folder))
    except ModelError as exc:
        raise ModelError(str(exc), source=source, key=key) from exc


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file (or a shipped one, by its name) and the
    models it names."""
    p = Path(path)
    if not p.is_file() and isinstance(path, str) and not p.suffix and len(p.parts) == 1:
        p = embedded_experiments().get(path) or resolve_experiment(path)
    src = str(p)
    if not p.exists():
        raise ModelError("file not found; expected an experiment file (.toml)", source=src)
    what = "an experiment file (TOML)"
    data = _toml.loads(_toml.read_text(p, src, ModelError, what), src, ModelError)
    try:
        spec = ExperimentFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise ModelError(f"{err['msg']} (value: {shorten(err.get('input'))})", source=src,
                         key=loc or None) from exc  # fmt: skip
    spec.check(src)  # names (folders to be) and settings, before any model is read
    base = _load_named_model(spec.model, p.parent, "model", src)
    worlds: dict[str, JourneyModel] = {}
    for name, sc in spec.scenarios.items():
        if sc.model is not None and sc.model not in worlds:
            key = f"scenarios.{_quoted(name)}.model"
            worlds[sc.model] = _load_named_model(sc.model, p.parent, key, src)
    return Experiment(spec, base, src, worlds)


def embedded_experiments() -> dict[str, Path]:
    """Experiment files shipped inside the package: name -> path."""
    return shipped_files("experiments")


def resolve_experiment(arg: str) -> Path:
    """An experiment path as given, or the name of a shipped experiment."""
    return resolve_shipped(arg, "experiments", "experiment")
