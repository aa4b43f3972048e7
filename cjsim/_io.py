"""Atomic output files: write to a temporary file beside the target, then rename.

A crash, an exception or Ctrl-C while writing leaves the target as it was (absent or the
previous complete file), never a half-written file. The temporary file is named
``.<target name>.<host>-<pid>.<random>.tmp``: a process killed outright (SIGKILL, a power
cut, the out-of-memory killer) cannot remove its own, so the next write to the same
target removes those of processes on this host that are gone (and old ones of other
hosts, see :func:`remove_stale_temporaries`). A folder that cannot be written stops with an
:class:`~cjsim.errors.OutputError` naming the target, before any work when the command
line checks it first (:func:`check_writable`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cjsim.errors import OutputError


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it; set back at once (at import, one thread)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


#: errno values of an OSError that always mean "the output cannot be written"
_WRITE_FAILURES = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


_HOST = _host_tag()


def _folder(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def _temporary(target: Path) -> Path:
    """A new empty temporary file beside ``target`` (our naming, this process's pid)."""
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.{_HOST}-{os.getpid()}.", suffix=".tmp", dir=_folder(target)
        )
    except OSError as exc:
        raise output_error(target, exc) from None
    os.close(fd)
    return Path(tmp)


def output_error(target: str | os.PathLike[str], exc: OSError) -> OutputError:
    """The one-line error for an output that cannot be written, naming the target."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return OutputError(
        f"cannot be written ({reason}); expected a folder you can write to",
        source=str(target),
    )


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process (EPERM): alive
        return True
    return True


#: A temporary file of another host (or of cjsim before the pid was in the name) is
#: stale when it has not changed for this long: a write in progress touches its file.
STALE_AFTER_SECONDS = 7 * 24 * 3600


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files a killed cjsim left beside ``target``; returns them.

    Only files of our naming for this very target are removed: those made on this host
    by a process that no longer runs, and those of another host (a shared folder, a
    container that was replaced) untouched for :data:`STALE_AFTER_SECONDS`. A write in
    progress keeps its file.
    """
    target = Path(target)
    pattern = re.compile(
        rf"\.{re.escape(target.name)}\.(?:([0-9a-f]{{8}})-(\d+)\.)?[a-z0-9_]{{8}}\.tmp"
    )
    removed: list[Path] = []
    try:
        entries = list(os.scandir(_folder(target)))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        if m is None:
            continue
        with contextlib.suppress(OSError):
            if not entry.is_file(follow_symlinks=False):
                continue
            if m.group(1) == _HOST:
                if _alive(int(m.group(2))):
                    continue
            elif now - entry.stat(follow_symlinks=False).st_mtime < STALE_AFTER_SECONDS:
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def check_writable(
    target: str | os.PathLike[str], shown: str | os.PathLike[str] | None = None
) -> None:
    """Stop with an :class:`~cjsim.errors.OutputError` (naming ``shown``, by default
    ``target``) unless ``target`` can be written: a temporary file is made beside it and
    removed. Checked before any work, so a read-only folder does not cost a simulation."""
    try:
        _temporary(Path(target)).unlink()
    except OutputError as exc:
        raise OutputError(exc.reason, source=str(shown or target)) from None


def _failed_writing(exc: OSError, tmp: Path) -> bool:
    """Did the body fail because the temporary file could not be written (and not, say,
    because an input could not be read)?"""
    text = str(exc)
    return (
        (exc.filename is not None and Path(str(exc.filename)) == tmp)
        or str(tmp) in text
        or exc.errno in _WRITE_FAILURES
        or "No space left on device" in text
    )


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        tmp.unlink()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``target`` on success.

    The temporary file is removed if the body raises (including ``KeyboardInterrupt``).
    A folder that cannot be written, a full disk or a rename that fails raise an
    :class:`~cjsim.errors.OutputError` naming ``target``.
    """
    target = Path(target)
    remove_stale_temporaries(target)
    tmp_path = _temporary(target)
    try:
        yield tmp_path
    except OSError as exc:
        _discard(tmp_path)
        if _failed_writing(exc, tmp_path):
            raise output_error(target, exc) from exc
        raise
    except BaseException:
        _discard(tmp_path)
        raise
    try:
        # mkstemp makes the file private (0600); give it the permissions a plain open()
        # would have, so that a report or a log can be shared as usual
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~_UMASK)
        os.replace(tmp_path, target)
    except OSError as exc:
        _discard(tmp_path)
        raise output_error(target, exc) from exc
    except BaseException:
        _discard(tmp_path)
        raise


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``target`` atomically (UTF-8)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_json_file(path: str | os.PathLike[str], what: str) -> Any:
    """A JSON file cjsim wrote, read back; a damaged one stops with a clear message."""
    from cjsim.errors import OptionError

    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OptionError(f"cannot be read as {what} ({exc})", source=str(p)) from None
