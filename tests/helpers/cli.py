"""Running the `cjsim` command in tests and checking its one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.models import MODELS

ECOMMERCE = (MODELS / "ecommerce.toml").read_text(encoding="utf-8")


TEXTBOOK = (MODELS / "textbook.toml").read_text(encoding="utf-8")


def cjsim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``cjsim ARGS`` in folder ``cwd``, run in this process (a new Python process per
    call cost ~1 s of imports each, a minute of the suite); the result as a subprocess's.
    An exception that escapes the command (a traceback a user would see) fails the test."""
    from typer.testing import CliRunner

    from cjsim.cli import app

    old = Path.cwd()
    os.chdir(cwd)
    try:
        res = CliRunner().invoke(app, list(args))
    finally:
        os.chdir(old)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return subprocess.CompletedProcess(["cjsim", *args], res.exit_code, res.stdout, res.stderr)


def cjsim_process(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``cjsim ARGS`` as a process of its own (``python -m cjsim``)."""
    return subprocess.run(
        [sys.executable, "-m", "cjsim", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def assert_one_line_error(res: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    (line,) = lines
    assert line.startswith("error: "), line
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    return line


def edit(old: str, new: str, text: str = ECOMMERCE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)
