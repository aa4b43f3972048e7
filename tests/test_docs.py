"""The tutorials run top to bottom, and print what they say they print.

Each ``python`` block of a tutorial is executed in order in one namespace (in a fresh
folder); the ``text`` block right after it, if any, is the exact output it must print at
its fixed seeds. To refresh the outputs after a deliberate change, run
``CJSIM_UPDATE_DOCS=1 pytest tests/test_docs.py`` and review the diff.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.md"))
BLOCK = re.compile(r"```python\n(.*?)```(\n\n```text\n(.*?)```)?", re.S)


def run_tutorial(path: Path, folder: Path) -> list[tuple[str, str, str | None]]:
    """(code, printed output, documented output) for every python block, in order."""
    text = path.read_text(encoding="utf-8")
    namespace: dict[str, object] = {"__name__": "__tutorial__"}
    results = []
    old = Path.cwd()
    os.chdir(folder)
    try:
        for m in BLOCK.finditer(text):
            code, documented = m.group(1), m.group(3)
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(code, str(path), "exec"), namespace)
            results.append((code, buf.getvalue(), documented))
    finally:
        os.chdir(old)
    return results


def update(path: Path, results: list[tuple[str, str, str | None]]) -> None:
    text = path.read_text(encoding="utf-8")
    outputs = iter(results)

    def fill(m: re.Match[str]) -> str:
        _, printed, _ = next(outputs)
        block = f"```python\n{m.group(1)}```"
        return block + (f"\n\n```text\n{printed}```" if printed else "")

    path.write_text(BLOCK.sub(fill, text), encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs_as_written(path, tmp_path):
    results = run_tutorial(path, tmp_path)
    assert results, "a tutorial without code"
    if os.environ.get("CJSIM_UPDATE_DOCS"):
        update(path, results)
        return
    for code, printed, documented in results:
        if printed or documented is not None:
            assert documented is not None, f"output of this block is not in the tutorial:\n{code}"
            assert printed == documented, f"after\n{code}"


def test_there_are_three_tutorials():
    assert {p.stem for p in TUTORIALS} >= {
        "teach-the-journey",
        "which-attribution-method",
        "next-quarter-budget",
    }


@pytest.mark.parametrize(
    "name", ["model-file.md", "experiment-file.md", "profile-file.md", "limits.md"]
)
def test_reference_pages_match_the_schemas(name):
    """The reference is generated from the pydantic schemas; a stale page fails here
    (regenerate with ``python docs/make_reference.py``)."""
    from cjsim.docs_reference import PAGES, page

    committed = (ROOT / "docs" / "reference" / name).read_text(encoding="utf-8")
    assert committed == page(PAGES[name])


def test_reference_covers_every_section_of_the_shipped_files():
    """Every table key used in a shipped model or experiment has a section in the pages."""
    import tomllib

    from cjsim.docs_reference import EXPERIMENT_SECTIONS, MODEL_SECTIONS

    documented = {c for _, c in MODEL_SECTIONS + EXPERIMENT_SECTIONS}
    from cjsim.experiment.config import ExperimentFile
    from cjsim.model import JourneyModel

    def nested(cls):
        out = set()
        for f in cls.model_fields.values():
            for a in [f.annotation, *getattr(f.annotation, "__args__", ())]:
                for b in [a, *getattr(a, "__args__", ())]:
                    if isinstance(b, type) and hasattr(b, "model_fields"):
                        out |= {b} | nested(b)
        return out

    assert nested(JourneyModel) | nested(ExperimentFile) <= documented
    for path in (ROOT / "cjsim" / "models").glob("*.toml"):
        tomllib.loads(path.read_text(encoding="utf-8"))  # shipped files parse
