"""The package's shape: layers, no import-time cycle, modules and functions of readable size.

Every module of ``cjsim`` sits in one layer; a module imports only from its own layer or
below (function-level imports included), so analysis never reaches back into simulation
and the command line sits on top of everything. The size limits are the ones the
redesign set: a module a newcomer reads in one sitting, a function that fits a screen.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

import cjsim

PACKAGE = Path(cjsim.__file__).resolve().parent
MAX_MODULE_LINES = 420
MAX_FUNCTION_LINES = 80

# Lowest first. A name covers the module and, if it is a package, everything in it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "limits", "_io", "_toml", "_pool", "_callable", "games"),
    ("model",),
    ("simulate", "events", "events_duckdb", "paths", "paths_duckdb", "inputs", "observe", "panel"),
    ("attribution", "scoring", "mmm", "report.figures", "report.data"),
    ("explain", "evaluate", "experiment", "lift", "lift_geo", "lift_plan"),
    ("report", "demo", "docs_reference"),
    ("cli", "__main__"),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    """Every module of the package (``""`` is ``cjsim`` itself), by dotted name below cjsim."""
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> int | None:
    """The layer of a module: the most specific name in LAYERS that covers it."""
    best: tuple[int, int] | None = None  # (length of the matching name, layer)
    for index, names in enumerate(LAYERS):
        for name in names:
            covers = module == name or module.startswith(name + ".")
            # report.figures_* and similar splits of a named module stay in its layer.
            covers = covers or (module.startswith(name + "_") and "." in name)
            if covers and (best is None or len(name) > best[0]):
                best = (len(name), index)
    return None if best is None else best[1]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, tree: ast.Module) -> Iterator[tuple[str, int, bool]]:
    """(imported cjsim module, line, at import time?) for every import in a module."""
    package = module if _modules()[module].name == "__init__.py" else module.rpartition(".")[0]
    known = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    def walk(nodes: list[ast.stmt], top: bool) -> Iterator[tuple[str, int, bool]]:
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("cjsim."):
                        target = resolve(alias.name.removeprefix("cjsim."))
                        if target:
                            yield target, node.lineno, top
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".") if package else []
                    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                    stem = ".".join([*base, *([node.module] if node.module else [])])
                elif node.module and (node.module == "cjsim" or node.module.startswith("cjsim.")):
                    stem = node.module.removeprefix("cjsim").removeprefix(".")
                else:
                    continue
                for alias in node.names:
                    full = f"{stem}.{alias.name}" if stem else alias.name
                    target = resolve(full) if full in known else resolve(stem)
                    if target is not None:
                        yield target, node.lineno, top
            elif isinstance(node, ast.If) and _is_type_checking(node):
                continue  # annotations only: never executed
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                yield from walk(node.body, False)  # type: ignore[arg-type]
            elif isinstance(node, ast.ClassDef):
                yield from walk(node.body, top)
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    children = getattr(node, field, None)
                    if isinstance(children, list):
                        yield from walk([c for c in children if isinstance(c, ast.AST)], top)

    yield from walk(tree.body, True)


@cache
def _trees() -> dict[str, ast.Module]:
    return {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in _modules().items()}


def test_every_module_has_a_layer() -> None:
    missing = [m for m in _modules() if m and _layer(m) is None]
    assert not missing, f"modules in no layer (add them to LAYERS): {missing}"


def test_no_import_reaches_up_a_layer() -> None:
    wrong = []
    for module, tree in _trees().items():
        if not module:
            continue  # cjsim/__init__ is the curated API: it may gather from every layer
        mine = _layer(module)
        for target, line, _ in _imports(module, tree):
            theirs = _layer(target) if target else None
            if mine is not None and theirs is not None and theirs > mine:
                wrong.append(
                    f"cjsim.{module} line {line} imports cjsim.{target} (layer {theirs} > {mine})"
                )
    assert not wrong, "\n".join(wrong)


def test_no_import_time_cycle() -> None:
    graph = {
        module: {t for t, _, top in _imports(module, tree) if top and t != module}
        for module, tree in _trees().items()
    }
    # A package's __init__ importing its own submodules is how packages gather names,
    # and a submodule importing its parent package then reads a half-built module: both
    # are cycles to Python only when the parent is imported from the child.
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", sorted(m for m in _modules()), ids=lambda m: m or "cjsim")
def test_sizes(module: str) -> None:
    path = _modules()[module]
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(PACKAGE.parent)}: {lines} lines"
    long = [
        f"{node.name} (line {node.lineno}): {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(_trees()[module])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path.relative_to(PACKAGE.parent)}: " + "; ".join(long)
