"""Replace a file's contents so that readers see the old bytes or the new ones, never a mix or a truncation."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``.

    The rename is atomic on POSIX and Windows (``os.replace``); the temporary file is flushed to disk first and
    given the original's permission bits (and owner, where allowed), and it is removed if anything fails, leaving
    the original untouched.  A symbolic link is followed: the file it points to is replaced, the link stays.
    """
    target = os.path.realpath(path)
    directory = os.path.dirname(target) or os.curdir
    original = os.stat(target)
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.",
                                             suffix=".tflint-nan.tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, stat.S_IMODE(original.st_mode))
        if hasattr(os, "chown"):
            with contextlib.suppress(OSError):  # only a privileged user can give a file away
                os.chown(temporary, original.st_uid, original.st_gid)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(directory)


def _sync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
