# -*- test-case-name: tests.test_files -*-
"""
Tests for L{pocketrelay.files}.
"""

from __future__ import annotations

import os
import stat

from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.files import writeAtomically


def _mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


class WriteAtomicallyTests(SynchronousTestCase):
    """
    L{writeAtomically} replaces a file whole, with the permissions asked
    for, and leaves nothing behind on failure.
    """

    def setUp(self) -> None:
        self.directory = self.mktemp()
        os.makedirs(self.directory)
        self.path = os.path.join(self.directory, "file")

    def test_newFileDefaultMode(self) -> None:
        """
        A new file gets the content and the default permissions (0666 less
        the umask), not the temporary file's 0600.
        """
        mask = os.umask(0o022)
        self.addCleanup(os.umask, mask)
        writeAtomically(self.path, b"content")
        with open(self.path, "rb") as f:
            self.assertEqual(f.read(), b"content")
        self.assertEqual(_mode(self.path), 0o644)
        self.assertEqual(os.listdir(self.directory), ["file"])

    def test_keepsMode(self) -> None:
        """
        Replacing a file keeps its permissions when no mode is given.
        """
        with open(self.path, "wb") as f:
            f.write(b"old")
        os.chmod(self.path, 0o640)
        writeAtomically(self.path, b"new")
        self.assertEqual(_mode(self.path), 0o640)
        with open(self.path, "rb") as f:
            self.assertEqual(f.read(), b"new")

    def test_explicitMode(self) -> None:
        """
        An explicit mode wins over the replaced file's.
        """
        with open(self.path, "wb") as f:
            f.write(b"old")
        os.chmod(self.path, 0o644)
        writeAtomically(self.path, b"secret", 0o600)
        self.assertEqual(_mode(self.path), 0o600)

    def test_largeContent(self) -> None:
        """
        Content larger than one write is written whole.
        """
        data = os.urandom(3 * 2**20 + 5)
        writeAtomically(self.path, data)
        with open(self.path, "rb") as f:
            self.assertEqual(f.read(), data)

    def test_failureLeavesFileAndNoTemporary(self) -> None:
        """
        When the rename fails (here: the target is a directory), the error
        is raised, the target is untouched and the temporary file is gone.
        """
        os.makedirs(self.path)
        with open(os.path.join(self.path, "inside"), "wb") as f:
            f.write(b"x")
        self.assertRaises(OSError, writeAtomically, self.path, b"new")
        self.assertEqual(os.listdir(self.directory), ["file"])
        self.assertEqual(os.listdir(self.path), ["inside"])

    def test_missingDirectory(self) -> None:
        """
        A missing directory is an L{OSError}, not another exception.
        """
        self.assertRaises(
            OSError, writeAtomically, os.path.join(self.directory, "no", "file"), b"x"
        )
