"""Writing results whole, or failing loudly: every command that writes results goes through
here (standard output, and files written atomically).

A write that cannot complete (a full disk, ``/dev/full``, a closed descriptor, a reader
that went away) raises :class:`OutputError`, whose message starts with ``cannot write
output``; the command then says so in one line and exits 2. Short writes are retried until
everything is written or the system reports an error. A file is written to a temporary file
beside it and renamed over it (``os.replace``) once complete, so it is never left half
written.

Threads: each call writes on the caller's thread; nothing here is shared.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Mapping

__all__ = ["OutputError", "ReaderGone", "write_file", "write_files", "write_stdout"]


class OutputError(OSError):
    """Output that could not be written whole; ``str()`` is the one line to show."""

    def __init__(self, where: str, reason: str, code: int | None = None) -> None:
        super().__init__(code or errno.EIO, f"cannot write output {where}: {reason}")
        self.where = where
        self.reason = reason

    def __str__(self) -> str:
        return f"cannot write output {self.where}: {self.reason}"


class ReaderGone(OutputError):  # noqa: N818  (a condition, not a failure of ours)
    """The reader of a pipe went away (``EPIPE``): ``cmd | head`` is not an error."""


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _write_all(fd: int, data: bytes, where: str) -> None:
    """``os.write`` until all of ``data`` is written (a short write is retried)."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BrokenPipeError:
            raise ReaderGone(where, "the reader went away", errno.EPIPE) from None
        except InterruptedError:  # pragma: no cover - Python retries EINTR itself (PEP 475)
            continue
        except OSError as exc:
            raise OutputError(where, _reason(exc), exc.errno) from None
        if written <= 0:  # pragma: no cover - os.write raises rather than return 0
            raise OutputError(where, "nothing could be written", errno.EIO)
        view = view[written:]


def write_stdout(text: str) -> None:
    """Write ``text`` (UTF-8) to standard output, whole.

    Whatever ``sys.stdout`` holds in its buffer is flushed first, so the order is kept.

    Raises:
        ReaderGone: the reader of the pipe went away.
        OutputError: anything else that stopped the write (``ENOSPC``, ``EBADF``...).
    """
    where = "(standard output)"
    stream = sys.stdout
    if stream is None:  # the process started with descriptor 1 closed
        raise OutputError(where, "standard output is closed", errno.EBADF)
    try:
        fd: int | None = stream.fileno()
    except (OSError, ValueError):  # no descriptor (a StringIO, a test's capture) or closed
        fd = None
    try:
        if fd is None:
            stream.write(text)
        stream.flush()
    except BrokenPipeError:
        raise ReaderGone(where, "the reader went away", errno.EPIPE) from None
    except (OSError, ValueError) as exc:
        reason = _reason(exc) if isinstance(exc, OSError) else str(exc)
        raise OutputError(where, reason, getattr(exc, "errno", None)) from None
    if fd is not None:
        _write_all(fd, text.encode("utf-8"), where)


def _new_file_mode(target: str) -> int:
    """The mode the file would get from ``open()``: the old file's, else 0o666 less umask
    (``mkstemp`` makes its files 0o600)."""
    try:
        return os.stat(target).st_mode & 0o7777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def write_file(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, flushed
    to disk, then renamed over ``path``. On any failure the temporary file is removed and
    ``path`` is left as it was.

    Raises:
        OutputError: naming ``path`` and the reason.
    """
    folder, name = os.path.split(os.fspath(path))
    _write_staged(folder, {name: data}, make_folder=False)


def write_files(folder: str | os.PathLike[str], files: Mapping[str, str | bytes]) -> list[str]:
    """Write each ``name: data`` into ``folder`` (made if missing), all or nothing: every
    file is first written whole to a temporary file beside its destination and flushed to
    disk; only when all are is each renamed over its destination. On any failure before
    that, the temporary files are removed and every destination is left as it was.
    Returns the paths written, in order.

    Raises:
        OutputError: naming the file and the reason.
    """
    return _write_staged(os.fspath(folder), files, make_folder=True)


def _write_staged(folder: str, files: Mapping[str, str | bytes], *, make_folder: bool) -> list[str]:
    import tempfile  # only commands that write files need it (and its imports)

    if make_folder and folder:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise OutputError(folder, _reason(exc), exc.errno) from None
    staged: list[tuple[str, str]] = []
    try:
        for name, data in files.items():
            target = os.path.join(folder, name)
            payload = data.encode("utf-8") if isinstance(data, str) else data
            target_folder, base = os.path.split(target)
            try:
                fd, temporary = tempfile.mkstemp(
                    prefix=f".{base}.", suffix=".tmp", dir=target_folder or "."
                )
            except OSError as exc:
                raise OutputError(target, _reason(exc), exc.errno) from None
            staged.append((temporary, target))
            try:
                os.fchmod(fd, _new_file_mode(target))
                with os.fdopen(fd, "wb", buffering=0) as handle:
                    _write_all(handle.fileno(), payload, target)
                    os.fsync(handle.fileno())
            except OSError as exc:
                if isinstance(exc, OutputError):
                    raise
                raise OutputError(target, _reason(exc), exc.errno) from None
        for temporary, target in staged:
            try:
                os.replace(temporary, target)
            except OSError as exc:
                raise OutputError(target, _reason(exc), exc.errno) from None
    finally:
        for temporary, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
    return [target for _, target in staged]
