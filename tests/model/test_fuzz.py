"""Fuzzed model files: whatever a file holds, ``cjsim validate`` accepts it or refuses it
with one line (exit 0 or 2), never a traceback.

The files are shipped models mutated at random: keys dropped or added, values replaced by
ones of the wrong type, huge, negative, NaN or infinite numbers, values wrapped in deep
nesting, lines of the text dropped or cut.
"""

from __future__ import annotations

import json
import math
import tomllib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cjsim.cli import app
from tests.helpers.models import MODELS

runner = CliRunner()
SHIPPED = {p.stem: p.read_text(encoding="utf-8") for p in sorted(MODELS.glob("*.toml"))}


def toml_value(v: Any) -> str:
    """A value as TOML (inline tables and arrays, so any nesting is one line)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def toml_key(k: str) -> str:
    return json.dumps(k, ensure_ascii=False)


def to_toml(data: dict[str, Any]) -> str:
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in data.items())


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a parsed file (dict keys and list indexes)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            found += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += paths(v, (*prefix, i))
    return found


NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e308, -1e308, 1e-300, 5e-324, 2**63, 32_768, 1e6]),
)
WORDS = st.sampled_from(["", "lost", "purchase", "paid", "organic", "{value.__class__}"])
SCALARS = st.one_of(NUMBERS, st.booleans(), st.text(max_size=30), WORDS)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
MUTATION = st.tuples(
    st.sampled_from(["drop", "set", "add", "nest"]),
    st.integers(min_value=0, max_value=10_000),  # which path
    VALUES,
    st.text(min_size=1, max_size=12),  # a new key
    st.integers(min_value=1, max_value=60),  # nesting depth
)


def mutate(data: dict[str, Any], mutation: tuple[Any, ...]) -> None:
    op, which, value, new_key, depth = mutation
    all_paths = paths(data)
    if not all_paths:
        data[new_key] = value
        return
    path = all_paths[which % len(all_paths)]
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if op == "drop":
        del parent[last]
    elif op == "set":
        parent[last] = value
    elif op == "add":
        target = parent[last] if isinstance(parent[last], dict) else parent
        if isinstance(target, dict):
            target[new_key] = value
        else:
            target.append(value)
    else:
        wrapped = parent[last]
        for _ in range(depth):
            wrapped = [wrapped] if depth % 2 else {"k": wrapped}
        parent[last] = wrapped


def text_mutation(text: str, cut: int, drop: int) -> str:
    lines = text.splitlines(keepends=True)
    if lines:
        del lines[drop % len(lines)]
    joined = "".join(lines)
    return joined[: len(joined) - cut % max(len(joined), 1)] if cut % 3 == 0 else joined


def check_validate(tmp_path, text: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8")
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exception is None or isinstance(res.exception, SystemExit), (
        repr(res.exception),
        text[:2000],
    )
    assert res.exit_code in (0, 2), (res.exit_code, res.output, text[:2000])
    assert "Traceback" not in res.output
    if res.exit_code == 2:
        lines = [line for line in res.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
        assert len(lines[0]) < 1_000, lines[0]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(sorted(SHIPPED)),
    mutations=st.lists(MUTATION, min_size=1, max_size=4),
)
def test_mutated_model_files_validate_or_fail_with_one_line(tmp_path, name, mutations):
    data = tomllib.loads(SHIPPED[name])
    for m in mutations:
        mutate(data, m)
    check_validate(tmp_path, to_toml(data))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(sorted(SHIPPED)),
    cut=st.integers(min_value=0, max_value=100_000),
    drop=st.integers(min_value=0, max_value=1_000),
)
def test_damaged_model_text_validates_or_fails_with_one_line(tmp_path, name, cut, drop):
    check_validate(tmp_path, text_mutation(SHIPPED[name], cut, drop))


def test_the_serialiser_round_trips_a_shipped_model(tmp_path):
    data = tomllib.loads(SHIPPED["ecommerce"])
    assert tomllib.loads(to_toml(data)) == data
    check_validate(tmp_path, to_toml(data))
