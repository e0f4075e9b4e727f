# -*- test-case-name: tests.test_files -*-
"""
Writing a file so that a reader sees the old content or the new, never a
part: L{writeAtomically}.
"""

from __future__ import annotations

import os
import stat
import tempfile

__all__ = ["writeAtomically"]


def writeAtomically(path: str, data: bytes, mode: int | None = None) -> None:
    """
    Replace C{path} with C{data}: write a temporary file in the same
    directory, flush it to disk, then rename it over C{path}.  On any
    error the temporary file is removed and C{path} is left as it was.

    @param mode: the new file's permission bits.  L{None}: those of the
        file it replaces, or else the default ones (C{0666} less the
        umask), as a plain C{open} would give.  (The temporary file is
        created C{0600}; without this a replaced file could become
        unreadable to other users.)
    @raise OSError: if the file cannot be written.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if mode is None:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            mode = 0o666 & ~_umask()
    fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        # os.chmod, not fchmod: the client runs on Windows too.
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise


def _umask() -> int:
    """
    The process's file-creation mask (read by setting it and back).
    """
    mask = os.umask(0o077)
    os.umask(mask)
    return mask
