"""Errors that carry a message a person can act on.

Every error raised at a boundary (a model file, an event log, a command-line option) is a
:class:`CjsimError`. Its message names the file, the key or row, the bad value and what is
expected; the command line prints it as one line on stderr and exits with code 2.
"""

from __future__ import annotations

from typing import Any


class CjsimError(Exception):
    """Base class for errors caused by the user's input (exit code 2 on the command line)."""

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None):
        self.source = source
        self.key = key
        self.reason = message
        parts = [p for p in (source, key) if p]
        super().__init__(": ".join([*parts, message]))


class ModelError(CjsimError):
    """A model file (or model object) that is not valid."""


class ProfileError(CjsimError):
    """An observation profile (what a tracking system records) that is not valid."""


class EventLogError(CjsimError):
    """An event log with missing columns, bad types or unordered times."""


class OptionError(CjsimError):
    """A command-line option or function argument outside its allowed values."""


class OutputError(CjsimError):
    """An output file that cannot be written (a read-only folder, a full disk)."""


def show(value: Any) -> str:
    """A value as a person reads it in a message (``-1``, ``nan``, ``'abc'``; no numpy reprs)."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    return repr(value)


# -- refusals shared by the CSV readers (event logs, path tables) -------------------------
def not_utf8(
    exc: UnicodeDecodeError, source: str | None, error: type[EventLogError] = EventLogError
) -> EventLogError:
    """The error for a CSV file that is not UTF-8 text."""
    return error(
        f"is not UTF-8 text ({exc.reason} at byte {exc.start}); expected a UTF-8 CSV file",
        source=source,
    )


def check_header_names(
    names: list[str], source: str | None, error: type[EventLogError] = EventLogError
) -> None:
    """A CSV header naming a column twice is refused (pandas would rename the second)."""
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if twice:
        raise error(
            f"column {twice[0]} appears twice in the header; expected each column once",
            source=source,
            key="header",
        )
