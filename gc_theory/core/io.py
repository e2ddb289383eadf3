"""Atomic file writes: an interrupted run never leaves a half-written file."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["atomic_write", "atomic_write_text", "default_file_mode", "not_regular_reason"]


def default_file_mode() -> int:
    """The permission bits ``open(path, "w")`` gives a new file: ``0o666 & ~umask``."""
    # The umask can only be read by setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def not_regular_reason(path: str | os.PathLike[str]) -> str | None:
    """Why `path` is not a place for a regular output file (None when it is).

    An atomic write renames a new regular file onto `path`, which would replace a
    FIFO, a device node (``/dev/null``), a directory or a symbolic link (not its
    target) by a plain file. Only a missing path or an existing regular file that
    is not a link is accepted.
    """
    path = Path(path)
    if path.is_symlink():
        return "is a symbolic link (pass the file it points to, if that is meant)"
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):  # nothing there yet: a new file
        return None
    if stat.S_ISREG(st.st_mode):
        return None
    if stat.S_ISDIR(st.st_mode):
        return "is a directory"
    if stat.S_ISFIFO(st.st_mode):
        return "is a FIFO, not a regular file"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return "is a device node, not a regular file"
    return "is not a regular file"


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> Path:
    """Call ``write(f)`` on a temporary file beside `path`, then rename it onto `path`.

    The rename is atomic on POSIX and Windows (:func:`os.replace`), so readers
    see either the old file or the complete new one. The file gets the mode a
    plain write would leave: an existing file keeps its permission bits, a new
    one gets ``0o666 & ~umask`` (not the private 0600 of :func:`tempfile.mkstemp`,
    which would lock others out of a shared course folder).
    """
    path = Path(path)
    if (why := not_regular_reason(path)) is not None:
        raise ValueError(f"path {str(path)!r} {why}: only regular files are written")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = default_file_mode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        else:  # pragma: no cover - Windows has no fchmod
            os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))

