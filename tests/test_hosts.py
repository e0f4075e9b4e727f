# -*- test-case-name: tests.test_hosts -*-
"""
Tests for L{pocketrelay.client.hosts}.  Every test works on a file in a
temporary directory; the system hosts file is never touched.
"""

from __future__ import annotations

import errno
import os
import stat

from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.client import hosts
from pocketrelay.client.hosts import (
    ENTRY,
    OUR_LINE,
    EntryState,
    HostsEntry,
    HostsError,
    HostsPermissionError,
    addEntry,
    defaultHostsPath,
    isActiveEntry,
    isOurLine,
    parseHosts,
    removeOurs,
    renderHosts,
    withEntry,
    withoutOurs,
)
from pocketrelay.testing.logs import captureLogs

BASE = b"127.0.0.1 localhost\n::1 localhost ip6-localhost\n"


class PureTests(SynchronousTestCase):
    """
    The document functions, without files.
    """

    def test_roundTrip(self) -> None:
        """
        Parsing then rendering gives back the same bytes, whatever the line
        endings, BOM, trailing newline or encoding.
        """
        samples = [
            b"",
            b"\n",
            BASE,
            b"a\r\nb\r\n",
            b"a\r\nb\nc",
            b"\xef\xbb\xbfa b\n",
            b"caf\xe9 latin-1\n\xff",
            b"lone\rcarriage\n",
        ]
        for sample in samples:
            self.assertEqual(renderHosts(parseHosts(sample)), sample, sample)

    def test_encodingDetected(self) -> None:
        """
        A BOM gives C{utf-8-sig}, valid UTF-8 gives C{utf-8}, anything else
        C{latin-1}.
        """
        self.assertEqual(parseHosts(b"\xef\xbb\xbfx\n").encoding, "utf-8-sig")
        self.assertEqual(parseHosts("é\n".encode()).encoding, "utf-8")
        self.assertEqual(parseHosts(b"\xe9\n").encoding, "latin-1")

    def test_activeEntry(self) -> None:
        """
        A line maps the name when an alias after the address is the name
        (any case), outside a comment.
        """
        self.assertTrue(isActiveEntry("127.0.0.1 gosredirector.ea.com"))
        self.assertTrue(isActiveEntry("10.0.0.1\tother GOSREDIRECTOR.ea.com # x"))
        self.assertFalse(isActiveEntry("# 127.0.0.1 gosredirector.ea.com"))
        self.assertFalse(isActiveEntry("   #127.0.0.1 gosredirector.ea.com"))
        self.assertFalse(isActiveEntry("127.0.0.1 # gosredirector.ea.com"))
        self.assertFalse(isActiveEntry("gosredirector.ea.com"))
        self.assertFalse(isActiveEntry("127.0.0.1 gosredirector.ea.com.evil"))
        self.assertFalse(isActiveEntry(""))

    def test_ourLine(self) -> None:
        """
        Our line is an active entry with exactly our marker as comment.
        """
        self.assertTrue(isOurLine(OUR_LINE))
        self.assertTrue(
            isOurLine("127.0.0.1  gosredirector.ea.com   #  added by pocketrelay ")
        )
        self.assertFalse(isOurLine(ENTRY))
        self.assertFalse(isOurLine("# " + OUR_LINE))
        self.assertFalse(
            isOurLine("127.0.0.1 gosredirector.ea.com # mine, added by pocketrelay")
        )

    def test_addThenRemoveIsIdentity(self) -> None:
        """
        Adding our entry then removing it restores the exact bytes.
        """
        for sample in [
            b"",
            BASE,
            b"a b\r\nc d\r\n",
            b"a b\nc d",
            b"\xef\xbb\xbfa b\r\n",
        ]:
            added, state = withEntry(parseHosts(sample))
            self.assertEqual(state, EntryState.OURS)
            self.assertEqual(renderHosts(withoutOurs(added)), sample, sample)


class FileTestsMixin:
    """
    A temporary hosts file.
    """

    def setUp(self) -> None:
        self.directory = self.mktemp()  # type: ignore[attr-defined]
        os.makedirs(self.directory)
        self.path = os.path.join(self.directory, "hosts")

    def write(self, data: bytes, mode: int = 0o644) -> None:
        with open(self.path, "wb") as f:
            f.write(data)
        os.chmod(self.path, mode)

    def read(self) -> bytes:
        with open(self.path, "rb") as f:
            return f.read()

    def leftovers(self) -> list[str]:
        return [name for name in os.listdir(self.directory) if name != "hosts"]


class AddRemoveTests(FileTestsMixin, SynchronousTestCase):
    """
    L{addEntry} and L{removeOurs} on files.
    """

    def test_addsOurLine(self) -> None:
        """
        Without an entry, our marked line is appended with the file's line
        ending.
        """
        self.write(BASE)
        self.assertEqual(addEntry(self.path), EntryState.OURS)
        self.assertEqual(self.read(), BASE + OUR_LINE.encode() + b"\n")
        self.assertTrue(removeOurs(self.path))
        self.assertEqual(self.read(), BASE)
        self.assertEqual(self.leftovers(), [])

    def test_crlfKept(self) -> None:
        """
        A CRLF file gets a CRLF line and keeps its CRLFs.
        """
        original = b"127.0.0.1 localhost\r\n# comment\r\n"
        self.write(original)
        addEntry(self.path)
        self.assertEqual(self.read(), original + OUR_LINE.encode() + b"\r\n")
        removeOurs(self.path)
        self.assertEqual(self.read(), original)

    def test_noTrailingNewline(self) -> None:
        """
        A file whose last line has no newline ends without one after our
        line is added, and is restored exactly on removal.
        """
        original = b"127.0.0.1 localhost\r\n10.0.0.1 box"
        self.write(original)
        addEntry(self.path)
        self.assertEqual(
            self.read(), b"127.0.0.1 localhost\r\n10.0.0.1 box\r\n" + OUR_LINE.encode()
        )
        removeOurs(self.path)
        self.assertEqual(self.read(), original)

    def test_existingUserEntry(self) -> None:
        """
        With the player's own active entry, nothing is added and nothing is
        removed, even their line.
        """
        original = BASE + b"192.168.1.5 gosredirector.ea.com\n"
        self.write(original)
        self.assertEqual(addEntry(self.path), EntryState.EXISTING)
        self.assertEqual(self.read(), original)
        self.assertFalse(removeOurs(self.path))
        self.assertEqual(self.read(), original)

    def test_commentedOutEntry(self) -> None:
        """
        A commented-out entry does not count: ours is added, and removing
        ours leaves the comment.
        """
        original = BASE + b"#127.0.0.1 gosredirector.ea.com\n"
        self.write(original)
        self.assertEqual(addEntry(self.path), EntryState.OURS)
        self.assertEqual(self.read(), original + OUR_LINE.encode() + b"\n")
        removeOurs(self.path)
        self.assertEqual(self.read(), original)

    def test_staleLineKept(self) -> None:
        """
        Our line left by a crash is recognised: no second line is added,
        and it is removed on stop.
        """
        original = BASE + OUR_LINE.encode() + b"\n" + b"10.0.0.2 nas\n"
        self.write(original)
        self.assertEqual(addEntry(self.path), EntryState.OURS)
        self.assertEqual(self.read(), original)
        self.assertTrue(removeOurs(self.path))
        self.assertEqual(self.read(), BASE + b"10.0.0.2 nas\n")

    def test_staleLinesNormalised(self) -> None:
        """
        Several marked lines become one canonical line, in place of the
        first.
        """
        self.write(
            b"127.0.0.1   gosredirector.ea.com  #added by pocketrelay\n"
            + BASE
            + OUR_LINE.encode()
        )
        addEntry(self.path)
        self.assertEqual(self.read(), OUR_LINE.encode() + b"\n" + BASE.rstrip(b"\n"))

    def test_staleLineWithUserEntry(self) -> None:
        """
        If the player has their own entry, our stale line is dropped and
        their line stays.
        """
        self.write(
            BASE + b"127.0.0.1 gosredirector.ea.com\n" + OUR_LINE.encode() + b"\n"
        )
        self.assertEqual(addEntry(self.path), EntryState.EXISTING)
        self.assertEqual(self.read(), BASE + b"127.0.0.1 gosredirector.ea.com\n")

    def test_bomKept(self) -> None:
        """
        A UTF-8 BOM and non-ASCII text survive the edit.
        """
        original = "\ufeff# hôte\r\n127.0.0.1 localhost\r\n".encode()
        self.write(original)
        addEntry(self.path)
        self.assertTrue(self.read().startswith(b"\xef\xbb\xbf# h\xc3\xb4te\r\n"))
        removeOurs(self.path)
        self.assertEqual(self.read(), original)

    def test_latin1Kept(self) -> None:
        """
        Bytes that are not UTF-8 are written back unchanged.
        """
        original = b"# caf\xe9\n127.0.0.1 localhost\n"
        self.write(original)
        addEntry(self.path)
        self.assertEqual(self.read(), original + OUR_LINE.encode() + b"\n")

    def test_permissionsKept(self) -> None:
        """
        The replaced file keeps the original's permission bits.
        """
        self.write(BASE, mode=0o640)
        addEntry(self.path)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o640)
        removeOurs(self.path)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o640)

    def test_symlinkKept(self) -> None:
        """
        A hosts file that is a symbolic link stays a link; its target is
        edited.
        """
        self.write(BASE)
        link = os.path.join(self.directory, "link")
        os.symlink("hosts", link)
        addEntry(link)
        self.assertTrue(os.path.islink(link))
        self.assertIn(OUR_LINE.encode(), self.read())

    def test_missingFile(self) -> None:
        """
        A missing hosts file is created with just our line.
        """
        addEntry(self.path)
        self.assertEqual(self.read(), OUR_LINE.encode() + b"\n")

    def test_tooLarge(self) -> None:
        """
        A file over the size limit is refused with a clear error.
        """
        self.write(b"#" * 100 + b"\n")
        error = self.assertRaises(HostsError, addEntry, self.path, maxSize=50)
        self.assertIn("larger than 50 bytes", str(error))
        self.assertIn(ENTRY, str(error))
        self.assertEqual(self.read(), b"#" * 100 + b"\n")

    def test_directory(self) -> None:
        """
        A path that is a directory gives a L{HostsError}, not a traceback.
        """
        os.makedirs(self.path)
        self.assertRaises(HostsError, addEntry, self.path)


class PermissionTests(FileTestsMixin, SynchronousTestCase):
    """
    Without the rights to change the file, a L{HostsPermissionError} says
    how to fix it.  Tests run as root, for whom file modes do not stop
    writes, so the failing operation is injected (C{replace}) or the file
    is made read-only, which we honour ourselves.
    """

    def failingReplace(self, source: str, target: str) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", target)

    def test_replaceDenied(self) -> None:
        """
        A refused rename raises L{HostsPermissionError}, leaves the file
        and leaves no temporary file.
        """
        self.write(BASE)
        error = self.assertRaises(
            HostsPermissionError, addEntry, self.path, replace=self.failingReplace
        )
        self.assertIn(ENTRY, str(error))
        self.assertEqual(self.read(), BASE)
        self.assertEqual(self.leftovers(), [])

    def test_readOnlyFile(self) -> None:
        """
        A file nobody may write (chmod 444, or the Windows read-only flag)
        is not overridden.
        """
        self.write(BASE, mode=0o444)
        self.assertRaises(HostsPermissionError, addEntry, self.path)
        self.assertEqual(self.read(), BASE)

    def test_removeDenied(self) -> None:
        """
        A refused removal says which line to remove by hand.
        """
        self.write(BASE + OUR_LINE.encode() + b"\n")
        error = self.assertRaises(
            HostsPermissionError, removeOurs, self.path, replace=self.failingReplace
        )
        self.assertIn("remove this line", str(error))
        self.assertIn(OUR_LINE, str(error))

    def test_messages(self) -> None:
        """
        The message names administrator rights on Windows and sudo
        elsewhere, with the exact line.
        """
        windows = str(HostsPermissionError("C:\\hosts", adding=True, platform="win32"))
        linux = str(HostsPermissionError("/etc/hosts", adding=True, platform="linux"))
        self.assertIn("administrator", windows)
        self.assertIn("sudo", linux)
        for message in (windows, linux):
            self.assertIn("127.0.0.1 gosredirector.ea.com", message)

    def test_busyFallsBackToInPlace(self) -> None:
        """
        A file that cannot be renamed over (a bind mount: EBUSY) is
        rewritten in place.
        """
        self.write(BASE)

        def busy(source: str, target: str) -> None:
            raise OSError(errno.EBUSY, "Device or resource busy")

        addEntry(self.path, replace=busy)
        self.assertEqual(self.read(), BASE + OUR_LINE.encode() + b"\n")
        self.assertEqual(self.leftovers(), [])


class HostsEntryTests(FileTestsMixin, SynchronousTestCase):
    """
    L{HostsEntry}, the start/stop helper.
    """

    def test_applyAndRemove(self) -> None:
        """
        What L{HostsEntry.apply} added, L{HostsEntry.remove} takes away,
        once.
        """
        observer = captureLogs(self)
        self.write(BASE)
        entry = HostsEntry(self.path)
        self.assertEqual(entry.apply(), EntryState.OURS)
        self.assertTrue(entry.remove())
        self.assertFalse(entry.remove())
        self.assertEqual(self.read(), BASE)
        self.assertEqual(len(observer), 2)

    def test_playerEntryNotRemoved(self) -> None:
        """
        When the player's entry was there, L{HostsEntry.remove} changes
        nothing, even if a marked line appeared meanwhile.
        """
        original = BASE + b"127.0.0.1 gosredirector.ea.com\n"
        self.write(original)
        entry = HostsEntry(self.path)
        self.assertEqual(entry.apply(), EntryState.EXISTING)
        self.assertFalse(entry.remove())
        self.assertEqual(self.read(), original)


class DefaultPathTests(SynchronousTestCase):
    """
    L{defaultHostsPath}.
    """

    def test_windows(self) -> None:
        """
        On Windows the path is under %SystemRoot%.
        """
        self.assertEqual(
            defaultHostsPath("win32", {"SystemRoot": "D:\\WINDOWS"}),
            "D:\\WINDOWS\\System32\\drivers\\etc\\hosts",
        )
        self.assertEqual(
            defaultHostsPath("win32", {}), "C:\\Windows\\System32\\drivers\\etc\\hosts"
        )

    def test_unix(self) -> None:
        """
        Elsewhere it is /etc/hosts.
        """
        self.assertEqual(defaultHostsPath("linux", {}), "/etc/hosts")
        self.assertEqual(defaultHostsPath("darwin", {}), "/etc/hosts")

    def test_moduleConstants(self) -> None:
        """
        The entry is the one line the game needs, and our line carries the
        marker.
        """
        self.assertEqual(hosts.ENTRY, "127.0.0.1 gosredirector.ea.com")
        self.assertEqual(
            hosts.OUR_LINE, "127.0.0.1 gosredirector.ea.com # added by pocketrelay"
        )
