"""Reading model files, and the model files shipped in the package.

Two forms are accepted:

* the **journey form** (``stages``, ``transitions``, ``channels``, ``segments``, ...), and
* the **plain Markov form**: a single ``[chain]`` table that gives, per transient stage,
  the probability of each next stage per step -- a textbook absorbing chain in five lines.

Both are parsed with :mod:`tomllib` and validated (:mod:`cjsim.model.validation`).
"""

from __future__ import annotations

from pathlib import Path

from cjsim import _toml
from cjsim.errors import ModelError, OptionError
from cjsim.model.schema import ChainFile, JourneyModel
from cjsim.model.validation import _check_row, _need_stage, _validate, validate_model


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
