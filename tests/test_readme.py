"""The README's examples run (at a tiny size): what users copy must work."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def tiny(text: str) -> str:
    """Cap customer counts so the examples run in a second."""
    text = re.sub(r"--customers \d+", "--customers 300", text)
    return re.sub(
        r"((?:simulate(?:_frame)?|ground_truth|evaluate)\(model, )[\d_]+", r"\g<1>300", text
    )


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    (tmp_path / "models").symlink_to(ROOT / "cjsim" / "models")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_opens_with_the_two_commands():
    first = blocks("bash")[0]
    assert "pip install . && cjsim demo" in first
    assert 'pip install ".[test]" && pytest' in first


@pytest.mark.slow
def test_python_example(workdir):
    (code,) = blocks("python")
    exec(compile(tiny(code), "README.md", "exec"), {})
    assert (workdir / "events.parquet").exists()


COMMANDS = [
    line.split("#")[0].strip()
    for line in blocks("bash")[1].splitlines()
    if line.startswith("cjsim ") and "demo" not in line
]


@pytest.mark.slow
def test_command_line_examples(workdir):
    """The command-line block, line by line in one folder, as a user would type it (run
    in this process, as ``tests/helpers/cli.py`` does: a process per line cost 10 s
    of start-up; ``python -m cjsim`` itself is tested in ``tests/cli/test_cli.py``)."""
    from tests.helpers.cli import cjsim

    assert len(COMMANDS) >= 5
    for line in COMMANDS:
        args = shlex.split(tiny(line))[1:]
        res = cjsim(*args, cwd=workdir)
        assert res.returncode == 0, (line, res.stderr)
        assert res.stdout.strip(), line
    assert (workdir / "paths.csv").exists()


def test_the_scenario_example_is_a_valid_experiment(tmp_path):
    """The README's scenario table, with every override, loads as written."""
    from cjsim.experiment.config import load_experiment

    (block,) = [b for b in blocks("toml") if "[scenarios." in b]
    head = 'name = "readme"\nmodel = "dentist"\nengine = "agents"\n\n[scenarios.now]\n'
    (tmp_path / "e.toml").write_text(head + block)
    exp = load_experiment(tmp_path / "e.toml")
    assert exp.models["strong_reviews"].capacity["chairs"].servers == 16
