# -*- test-case-name: tests.test_hosts -*-
"""
Pointing C{gosredirector.ea.com} at 127.0.0.1 through the hosts file.

The game finds the redirector by name.  While the client runs, the hosts
file carries the line::

    127.0.0.1 gosredirector.ea.com # added by pocketrelay

The trailing comment is how the client recognises its own line, so it
never removes a line the player wrote:
  - if the file already has an active (not commented-out) entry for the
    name that the player wrote, nothing is added and nothing is removed;
  - otherwise our marked line is added, and removed again on stop;
  - a marked line left behind by a crash is ours: at start it is kept
    (rewritten in the canonical form if it was changed, duplicates
    dropped) and at stop it is removed.

Every write is atomic (a temporary file in the same directory, fsync,
C{os.replace}) and keeps what it does not need to change: each line's
ending (CRLF or LF), the encoding (UTF-8 with or without BOM, other bytes
kept through latin-1), whether the last line ends with a newline, and the
file's permission bits.

The pure functions (L{parseHosts}, L{withEntry}, L{withoutOurs},
L{renderHosts}) work on L{HostsFile} values; L{addEntry}, L{removeOurs}
and L{HostsEntry} do the file I/O.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping

import attrs
from twisted.logger import Logger

__all__ = [
    "ENTRY",
    "HOSTNAME",
    "MARKER",
    "MAX_HOSTS_SIZE",
    "OUR_LINE",
    "EntryState",
    "HostsEntry",
    "HostsError",
    "HostsFile",
    "HostsPermissionError",
    "Line",
    "addEntry",
    "defaultHostsPath",
    "isActiveEntry",
    "isOurLine",
    "parseHosts",
    "readHosts",
    "removeOurs",
    "renderHosts",
    "withEntry",
    "withoutOurs",
    "writeHosts",
]

#: The name the game looks up.
HOSTNAME = "gosredirector.ea.com"

#: The entry the game needs.
ENTRY = f"127.0.0.1 {HOSTNAME}"

#: The comment that marks our line (the text after C{#}).
MARKER = "added by pocketrelay"

#: The exact line we write.
OUR_LINE = f"{ENTRY} # {MARKER}"

#: The largest hosts file we are willing to read.
MAX_HOSTS_SIZE = 16 * 1024 * 1024

Replace = Callable[[str, str], None]


class HostsError(Exception):
    """
    The hosts file could not be read or written.
    """


class HostsPermissionError(HostsError):
    """
    The hosts file could not be changed for lack of rights; the message
    tells the player what to do.

    @ivar path: the hosts file.
    @ivar adding: whether we were adding the entry (else removing it).
    """

    def __init__(self, path: str, adding: bool, platform: str | None = None) -> None:
        self.path = path
        self.adding = adding
        if platform is None:
            platform = sys.platform
        if adding:
            manual = f"add this line to {path} yourself:\n    {ENTRY}"
        else:
            manual = f"remove this line from {path} yourself:\n    {OUR_LINE}"
        if platform.startswith("win"):
            how = "Run the client as administrator, or"
        else:
            how = "Run the client with sudo (or as a user who may write it), or"
        super().__init__(f"No permission to change {path}. {how} {manual}")


# -- the document


@attrs.frozen
class Line:
    """
    One line of the hosts file.

    @ivar text: the line without its ending.
    @ivar ending: C{"\\n"}, C{"\\r\\n"}, or C{""} for a last line without
        a newline.
    """

    text: str
    ending: str


@attrs.frozen
class HostsFile:
    """
    A hosts file, split into lines so that it can be rewritten exactly.

    @ivar lines: the lines, in order.
    @ivar encoding: C{"utf-8"}, C{"utf-8-sig"} (with BOM) or C{"latin-1"}
        (the file was not UTF-8; every byte is kept as it was).
    """

    lines: tuple[Line, ...] = ()
    encoding: str = "utf-8"

    @property
    def newline(self) -> str:
        """
        The line ending most lines use (LF when there is none yet, CRLF
        when the two are tied).
        """
        crlf = sum(1 for line in self.lines if line.ending == "\r\n")
        lf = sum(1 for line in self.lines if line.ending == "\n")
        if crlf == lf == 0:
            return "\n"
        return "\r\n" if crlf >= lf else "\n"


def parseHosts(data: bytes) -> HostsFile:
    """
    Split the bytes of a hosts file into a L{HostsFile}.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        encoding = "latin-1"
        text = data.decode(encoding)
    if not text:
        return HostsFile((), encoding)
    pieces = text.split("\n")
    lines = []
    for piece in pieces[:-1]:
        if piece.endswith("\r"):
            lines.append(Line(piece[:-1], "\r\n"))
        else:
            lines.append(Line(piece, "\n"))
    if pieces[-1]:
        lines.append(Line(pieces[-1], ""))
    return HostsFile(tuple(lines), encoding)


def renderHosts(hosts: HostsFile) -> bytes:
    """
    The bytes of a L{HostsFile}; C{renderHosts(parseHosts(b)) == b}.
    """
    return "".join(line.text + line.ending for line in hosts.lines).encode(
        hosts.encoding
    )


def isActiveEntry(text: str, hostname: str = HOSTNAME) -> bool:
    """
    Whether a line maps C{hostname}: not blank, not a comment, and one of
    the names after the address (before any C{#} comment) is
    C{hostname}, compared case-insensitively.
    """
    fields = text.split("#", 1)[0].split()
    wanted = hostname.lower()
    return len(fields) >= 2 and any(name.lower() == wanted for name in fields[1:])


def isOurLine(text: str, hostname: str = HOSTNAME) -> bool:
    """
    Whether a line is an active entry for C{hostname} that carries our
    marker comment.
    """
    if not isActiveEntry(text, hostname):
        return False
    _, hash_, comment = text.partition("#")
    return bool(hash_) and comment.strip() == MARKER


class EntryState:
    """
    What L{withEntry} found or did.
    """

    #: The player has an entry of their own; ours is not needed.
    EXISTING = "existing"
    #: Our line is in the file (added now, or left from an earlier run).
    OURS = "ours"


def withoutOurs(hosts: HostsFile) -> HostsFile:
    """
    The same file without our marked lines.  If our line was the last and
    had no newline, the line before it loses its newline again, so adding
    then removing gives back the original bytes.
    """
    kept: list[Line] = []
    for line in hosts.lines:
        if isOurLine(line.text):
            if line.ending == "" and kept:
                kept[-1] = Line(kept[-1].text, "")
            continue
        kept.append(line)
    # A removed last line without newline whose predecessor was also ours
    # is handled by the loop; nothing else changes.
    return HostsFile(tuple(kept), hosts.encoding)


def withEntry(hosts: HostsFile) -> tuple[HostsFile, str]:
    """
    The same file with the game's entry, and whether it is the player's
    or ours (an L{EntryState} value).

      - The player has an active entry: our marked lines (left from a
        crash) are dropped, nothing is added.
      - Our marked line is there: the first one is kept, in canonical
        form, where it is; any others are dropped.
      - Neither: our line is appended.  If the last line had no newline it
        gets one and ours goes without, keeping that state.
    """
    theirs = any(
        isActiveEntry(line.text) and not isOurLine(line.text) for line in hosts.lines
    )
    if theirs:
        return withoutOurs(hosts), EntryState.EXISTING
    if any(isOurLine(line.text) for line in hosts.lines):
        lines: list[Line] = []
        seen = False
        for index, line in enumerate(hosts.lines):
            if not isOurLine(line.text):
                lines.append(line)
            elif not seen:
                seen = True
                lines.append(Line(OUR_LINE, line.ending))
            elif line.ending == "" and lines and index == len(hosts.lines) - 1:
                lines[-1] = Line(lines[-1].text, "")
        return HostsFile(tuple(lines), hosts.encoding), EntryState.OURS
    newline = hosts.newline
    lines = list(hosts.lines)
    if lines and lines[-1].ending == "":
        lines[-1] = Line(lines[-1].text, newline)
        lines.append(Line(OUR_LINE, ""))
    else:
        lines.append(Line(OUR_LINE, newline))
    return HostsFile(tuple(lines), hosts.encoding), EntryState.OURS


# -- the file


def defaultHostsPath(
    platform: str | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """
    The system hosts file: C{%SystemRoot%\\System32\\drivers\\etc\\hosts}
    on Windows, C{/etc/hosts} elsewhere.
    """
    if platform is None:
        platform = sys.platform
    if environ is None:
        environ = os.environ
    if platform.startswith("win"):
        root = environ.get("SystemRoot") or environ.get("SYSTEMROOT") or "C:\\Windows"
        return root.rstrip("\\/") + "\\System32\\drivers\\etc\\hosts"
    return "/etc/hosts"


def _isPermissionProblem(error: OSError) -> bool:
    return isinstance(error, PermissionError) or error.errno in (
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
    )


def readHosts(path: str, maxSize: int = MAX_HOSTS_SIZE) -> HostsFile:
    """
    Read and parse a hosts file.  A missing file reads as empty.

    @raise HostsError: if it cannot be read or is larger than C{maxSize}.
    """
    try:
        with open(path, "rb") as f:
            data = f.read(maxSize + 1)
    except FileNotFoundError:
        return HostsFile()
    except OSError as e:
        if _isPermissionProblem(e):
            raise HostsPermissionError(path, adding=True) from e
        raise HostsError(f"Cannot read {path}: {e.strerror or e}") from e
    if len(data) > maxSize:
        raise HostsError(
            f"{path} is larger than {maxSize} bytes; not editing it. Add this "
            f"line yourself:\n    {ENTRY}"
        )
    return parseHosts(data)


def writeHosts(
    path: str,
    hosts: HostsFile,
    adding: bool = True,
    replace: Replace = os.replace,
) -> None:
    """
    Replace the file at C{path} with C{hosts}, atomically: write a
    temporary file next to it, fsync it, copy the original's permission
    bits (and, where possible, owner) onto it, then rename it over the
    original.  A symbolic link is followed, so the link stays.

    A file whose permission bits allow nobody to write it is treated as
    protected: we do not override the player's read-only flag.

    @param adding: whether the change adds our entry (for the message).
    @param replace: the rename; tests pass one that fails.
    @raise HostsPermissionError: without the rights to write it.
    @raise HostsError: on any other failure.
    """
    target = os.path.realpath(path)
    directory = os.path.dirname(target) or "."
    try:
        original: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        original = None
    except OSError as e:
        raise HostsError(f"Cannot examine {path}: {e.strerror or e}") from e
    if original is not None:
        if stat.S_ISDIR(original.st_mode):
            raise HostsError(f"{path} is a directory, not a hosts file")
        if not original.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            raise HostsPermissionError(path, adding)
    data = renderHosts(hosts)
    temporary = None
    try:
        fd, temporary = tempfile.mkstemp(
            prefix=".hosts.", suffix=".pocketrelay", dir=directory
        )
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if original is not None:
            os.chmod(temporary, stat.S_IMODE(original.st_mode))
            if hasattr(os, "chown"):
                try:
                    os.chown(temporary, original.st_uid, original.st_gid)
                except OSError:
                    pass
        else:
            os.chmod(temporary, 0o644)
        try:
            replace(temporary, target)
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.EXDEV):
                raise
            # A bind-mounted hosts file (containers) cannot be renamed over;
            # rewrite it in place instead, which is the best left to do.
            with open(target, "r+b") as f:
                f.write(data)
                f.truncate()
                f.flush()
                os.fsync(f.fileno())
            os.unlink(temporary)
        temporary = None
    except OSError as e:
        if _isPermissionProblem(e):
            raise HostsPermissionError(path, adding) from e
        raise HostsError(f"Cannot write {path}: {e.strerror or e}") from e
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass


def addEntry(
    path: str, maxSize: int = MAX_HOSTS_SIZE, replace: Replace = os.replace
) -> str:
    """
    Make sure C{path} maps the game's name to 127.0.0.1.

    @return: L{EntryState.EXISTING} if the player's own entry does it (the
        file may still have lost a stale marked line), else
        L{EntryState.OURS}.
    @raise HostsError: see L{readHosts} and L{writeHosts}.
    """
    hosts = readHosts(path, maxSize)
    updated, state = withEntry(hosts)
    if updated != hosts:
        writeHosts(path, updated, adding=True, replace=replace)
    return state


def removeOurs(
    path: str, maxSize: int = MAX_HOSTS_SIZE, replace: Replace = os.replace
) -> bool:
    """
    Remove our marked line(s) from C{path}, and nothing else.

    @return: whether anything was removed.
    @raise HostsError: see L{readHosts} and L{writeHosts}.
    """
    try:
        hosts = readHosts(path, maxSize)
    except HostsPermissionError as e:
        raise HostsPermissionError(path, adding=False) from e
    updated = withoutOurs(hosts)
    if updated == hosts:
        return False
    writeHosts(path, updated, adding=False, replace=replace)
    return True


@attrs.define
class HostsEntry:
    """
    The game's hosts entry for the life of the client: L{apply} at start,
    L{remove} at stop.

    @ivar path: the hosts file.
    @ivar state: what L{apply} found (an L{EntryState} value), or L{None}.
    """

    path: str = attrs.field(factory=defaultHostsPath)
    maxSize: int = MAX_HOSTS_SIZE
    replace: Replace = os.replace
    state: str | None = None
    log = Logger()

    def apply(self) -> str:
        """
        Add our entry unless the player has one.

        @raise HostsError: if the file cannot be changed; the message says
            how to fix it.
        """
        self.state = addEntry(self.path, self.maxSize, self.replace)
        if self.state == EntryState.EXISTING:
            self.log.info(
                "{path} already maps {hostname}; leaving it alone",
                path=self.path,
                hostname=HOSTNAME,
            )
        else:
            self.log.info(
                "{path} now maps {hostname} to 127.0.0.1",
                path=self.path,
                hostname=HOSTNAME,
            )
        return self.state

    def remove(self) -> bool:
        """
        Remove our entry if L{apply} put it there.

        @return: whether a line was removed.
        @raise HostsError: if the file cannot be changed.
        """
        if self.state != EntryState.OURS:
            return False
        self.state = None
        removed = removeOurs(self.path, self.maxSize, self.replace)
        if removed:
            self.log.info(
                "Removed the {hostname} entry from {path}",
                hostname=HOSTNAME,
                path=self.path,
            )
        return removed
