"""Model and experiment files read within bounds: size, encoding, TOML, nesting.

``cjsim validate /dev/zero`` reads at most :data:`~cjsim.limits.MAX_FILE_BYTES` plus one
byte and stops; a file of ten thousand nested brackets stops with a message instead of
a ``RecursionError``; a file that is not UTF-8 or not TOML is named, without quoting its
lines (the file may be anything a path points at).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from cjsim.errors import CjsimError
from cjsim.limits import MAX_FILE_BYTES, MAX_NESTING


def read_text(path: Path, source: str, error: type[CjsimError], what: str) -> str:
    """The UTF-8 text of a file of at most :data:`~cjsim.limits.MAX_FILE_BYTES`."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except IsADirectoryError:
        raise error(f"is a folder; expected {what}", source=source) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise error(f"cannot be read ({reason}); expected {what}", source=source) from None
    if len(data) > MAX_FILE_BYTES:
        raise error(
            f"is larger than {MAX_FILE_BYTES // 2**20} MiB; expected {what} of at most that "
            "size (cjsim.limits.MAX_FILE_BYTES)",
            source=source,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"not UTF-8 text ({exc.reason} at byte {exc.start}); expected {what} in UTF-8",
            source=source,
        ) from None


def loads(text: str, source: str | None, error: type[CjsimError]) -> dict[str, Any]:
    """Parse TOML text; nesting deeper than :data:`~cjsim.limits.MAX_NESTING` is refused."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"not valid TOML ({exc})", source=source) from None
    except RecursionError:
        raise error(
            f"tables or lists are nested too deeply; expected at most {MAX_NESTING} levels",
            source=source,
        ) from None
    where = too_deep(data, MAX_NESTING)
    if where is not None:
        raise error(
            f"tables or lists are nested more than {MAX_NESTING} levels deep; expected at "
            f"most {MAX_NESTING} (cjsim.limits.MAX_NESTING)",
            source=source,
            key=where,
        )
    return data


def too_deep(data: Any, limit: int) -> str | None:
    """The dotted key of the first value nested deeper than ``limit`` levels, or None."""
    stack: list[tuple[Any, int, tuple[str, ...]]] = [(data, 0, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict):
            children = [(v, str(k)) for k, v in node.items()]
        elif isinstance(node, list):
            children = [(v, str(i)) for i, v in enumerate(node)]
        else:
            continue
        if depth >= limit:
            shown = ".".join(path[:3]) + (".(...)" if len(path) > 3 else "")
            return shown or "(top level)"
        stack += [(v, depth + 1, (*path, k)) for v, k in children]
    return None
