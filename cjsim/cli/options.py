"""Checks of command-line options shared by several commands, in one place.

Every check runs before any work is done, so a typo costs no simulation and overwrites
nothing the user made; each raises :class:`~cjsim.errors.OptionError` naming the flag,
the value and what is expected.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cjsim.errors import OptionError

if TYPE_CHECKING:
    from cjsim.model import JourneyModel

DEFAULT_MODEL = "ecommerce"
ENGINES = ("markov", "agents")


def load_model_arg(arg: str) -> JourneyModel:
    """The model a command's MODEL argument names (a file or an embedded model)."""
    from cjsim.model import load_model, resolve_model  # pydantic: only commands that need it

    return load_model(resolve_model(arg))


def parse_budgets(items: list[str] | None) -> dict[str, float]:
    """``--budget CHANNEL=AMOUNT`` options as a dict (each channel at most once)."""
    budgets: dict[str, float] = {}
    for item in items or []:
        name, sep, amount = item.partition("=")
        try:
            value = float(amount)
        except ValueError:
            value = None  # type: ignore[assignment]
        if not sep or not name.strip() or value is None:
            raise OptionError(
                f"--budget '{item}': expected CHANNEL=AMOUNT (daily spend), e.g. paid_search=2500"
            )
        if name.strip() in budgets:
            raise OptionError(f"--budget '{item}': {name.strip()} is given twice; expected once")
        budgets[name.strip()] = value
    return budgets


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise OptionError(f"--engine '{engine}': expected 'markov' or 'agents'")


def check_workers(workers: int | None) -> None:
    if workers is not None and workers < 1:
        raise OptionError(f"--workers {workers}: expected at least 1")


def check_at_least(flag: str, value: int | None, least: int = 1) -> None:
    if value is not None and value < least:
        raise OptionError(f"{flag} {value}: expected at least {least}")


def parse_list(
    flag: str,
    text: str,
    kind: type[float] | type[int] = float,
    *,
    ok: Callable[[Any], bool] = lambda x: True,
    expected: str | None = None,
) -> list[Any]:
    """A comma-separated list of distinct numbers (``30,60,90``), each one ``ok``."""
    try:
        values = [kind(x) for x in text.split(",")]
    except ValueError:
        values = []
    if not values or len(set(values)) != len(values) or not all(ok(x) for x in values):
        what = "whole numbers" if kind is int else "numbers"
        raise OptionError(
            f"{flag} {text!r}: expected {expected or f'distinct {what} separated by commas'}"
        )
    return values


def parse_date(flag: str, text: str) -> date:
    """A calendar date given as YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise OptionError(f"{flag} {text!r}: expected a date as YYYY-MM-DD") from None


def check_delimiter(delimiter: str | None, *, detect: bool = False) -> None:
    if delimiter not in ((None, ",", ";") if detect else (",", ";")):
        raise OptionError(f"--delimiter {delimiter!r}: expected ',' or ';'")


def check_finite(*flags: tuple[str, float | None]) -> None:
    for flag, value in flags:
        if value is not None and not math.isfinite(value):
            raise OptionError(f"{flag} {value!r}: expected a finite number")


def check_figure_path(figure: Path | None) -> None:
    from cjsim.report.figures import FIGURE_FORMATS

    check_output(figure, tuple(f".{f}" for f in FIGURE_FORMATS))


def check_events_output(path: Path | None) -> None:
    """An event log to write: a known format in a writable place."""
    if path is None:
        return
    from cjsim.events import event_format

    event_format(path)
    check_output_place(path)


def check_output(
    path: Path | None, suffixes: tuple[str, ...], inputs: tuple[Path | str, ...] = ()
) -> None:
    """An output path with a known suffix in a folder that exists, not a folder itself and
    not one of the command's inputs."""
    if path is None:
        return
    if path.suffix.lower() not in suffixes:
        raise OptionError(f"expected a {' or '.join(suffixes)} file", source=str(path))
    check_output_place(path, inputs)


def check_output_folder(folder: Path) -> None:
    """An output folder (``--out`` of run and evaluate) whose parent exists, not a file."""
    if not folder.absolute().parent.is_dir():
        raise OptionError("the parent folder of --out does not exist", source=str(folder))
    if folder.exists() and not folder.is_dir():
        raise OptionError("--out must be a folder; a file of that name exists", source=str(folder))
    from cjsim._io import check_writable

    # files go into the folder, or the folder is made in its parent: that must be writable
    check_writable(folder / "manifest.json" if folder.is_dir() else folder, folder)


def check_output_place(path: Path, inputs: tuple[Path | str, ...] = ()) -> None:
    """PATH can be written: its folder exists and is writable, it is no folder and none
    of INPUTS."""
    if not path.absolute().parent.is_dir():
        raise OptionError("the folder does not exist", source=str(path))
    if path.is_dir():
        raise OptionError("is a folder; expected the name of a file to write", source=str(path))
    for given in inputs:
        src = Path(given)
        if path.exists() and src.exists() and path.resolve() == src.resolve():
            raise OptionError(
                "is also the input; expected another name for the output (the input would "
                "be overwritten)",
                source=str(path),
            )
    from cjsim._io import check_writable

    check_writable(path)  # a read-only folder stops here, not after the work
