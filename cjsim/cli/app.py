"""The Typer application, its global options, and how errors and signals end a command.

The CLI owns the terminal: library code logs, the CLI prints. Every error caused by the
user's input (a :class:`~cjsim.errors.CjsimError`) becomes one line on stderr and exit
code 2, with no partial output left behind.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from cjsim import __version__
from cjsim.cli.render import err, out
from cjsim.errors import CjsimError

app = typer.Typer(
    name="cjsim",
    help="Simulate customer journeys and attribute conversions against a known ground truth.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Turn input errors into one line on stderr and exit code 2 (Ctrl-C: 130)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CjsimError as exc:
            err.print(f"error: {one_line(str(exc))}", markup=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("interrupted; no output was written", markup=False)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def one_line(text: str) -> str:
    """A message as one line: control characters and line separators (a key name in a
    file may hold any) are shown escaped, as in Python."""
    import unicodedata

    return "".join(
        repr(c)[1:-1] if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text
    )


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"cjsim {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(name)s: %(message)s"
    )
    _quiet_fonts(verbose)


def _quiet_fonts(verbose: bool) -> None:
    """Matplotlib's font complaints (a channel name in a script no font has, a missing
    family) are not errors: off stderr, which is for one-line errors (shown with -v)."""
    import warnings

    if not verbose:
        for pattern in (r"Glyph .* missing from", r".*findfont"):
            warnings.filterwarnings("ignore", message=pattern, category=UserWarning)
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def register(*commands: Callable[..., Any]) -> None:
    """Add COMMANDS to the application in this order (``cjsim --help`` lists them so)."""
    for command in commands:
        app.command()(user_errors(command))


def register_alias(name: str, command: Callable[..., Any]) -> None:
    """Accept ``cjsim NAME`` for COMMAND too, without listing it in ``--help``."""
    app.command(name, hidden=True)(user_errors(command))


_MAIN_PID = [0]  # the process that installed the handler (main() sets it)


def _terminated(signum: int, frame: Any) -> None:
    if os.getpid() != _MAIN_PID[0]:  # a forked worker: die as by default; the parent tidies up
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise KeyboardInterrupt  # stop as on Ctrl-C: temporary files removed, workers stopped


def main() -> None:
    """Entry point of the ``cjsim`` console script."""
    # a SIGTERM (kill, a job scheduler's time limit) ends the run the way Ctrl-C does,
    # instead of leaving a half-written temporary file behind
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        _MAIN_PID[0] = os.getpid()
        signal.signal(signal.SIGTERM, _terminated)
    app()
