# -*- test-case-name: tests.test_gamedatainstall -*-
"""
Installing the game data Mass Effect 3 needs from a server (the coalesced,
the talk files, the entitlement table, the store configuration and the
images under C{/content/}) into a data directory, and describing what a
data directory holds.

Sources (see C{docs/game-data.md}):

  - a directory: a checkout of the Rust Pocket Relay server, its
    C{src/resources} folder, a checkout of the Kotlin server, or a folder
    holding the files directly (like a data directory);
  - a C{.zip} or C{.tar.gz} (C{.tgz}) archive of one of those; a single
    top folder (such as GitHub's C{Server-<commit>/}) is looked through;
  - an C{https://} (or C{http://}) base URL under which the Rust server's
    repository files are found, e.g.
    C{https://raw.githubusercontent.com/PocketRelay/Server/<commit>/};
    only the files of L{PINNED_FILES} are fetched, each checked against its
    pinned SHA-256;
  - nothing: the Rust server's files at L{PINNED_COMMIT}, downloaded from
    GitHub (L{PINNED_BASE_URL}).

Every file is checked before anything is written (sizes, SHA-256 for
downloads, the codecs for the coalesced and talk files, the parsers for
the entitlement table and store configuration, the C{DDS } magic of
images), then written to a staging directory inside the data directory
and moved into place; if a move fails the ones done are undone.  So an
interrupted download, a wrong hash or a corrupt file changes nothing.
Files already installed with the same content are left alone, so a second
run changes nothing.

Where files go (the server's layout, L{pocketrelay.server.gamedata} and
L{pocketrelay.server.web.content})::

    coalesced.json / coalesced.bin     the data directory
    <lang>.tlk, default.tlk            the data directory
    entitlements.dmap, dime.xml        the data directory
    images                             <data dir>/public/content/...
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Protocol, cast

import attrs
from twisted.internet import defer
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol as StreamProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from twisted.web.client import Agent, ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH, IResponse
from zope.interface import Interface, implementer

from pocketrelay.me3.clientconfig import TALK_FILE_LANGUAGES
from pocketrelay.server.gamedata import (
    COALESCED_FILE,
    COALESCED_JSON_FILE,
    CONTENT_DIRECTORY,
    DEFAULT_TALK_FILE,
    ENTITLEMENTS_FILE,
    MAX_FILE_SIZE,
    MAX_TEXT_FILE_SIZE,
    STORE_FILE,
    checkGameDataFile,
    fileSizeLimit,
    missingGameData,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_CONTENT_FILES",
    "MAX_CONTENT_FILE_SIZE",
    "MAX_TOTAL_SIZE",
    "PINNED_BASE_URL",
    "PINNED_COMMIT",
    "PINNED_FILES",
    "AgentFetcher",
    "AnswerDeadline",
    "FetchError",
    "IFetcher",
    "InstallError",
    "InstallResult",
    "PinnedFile",
    "StatusLine",
    "gameDataStatus",
    "installGameData",
]

#: The commit of PocketRelay/Server whose files are installed by default.
PINNED_COMMIT: Final = "16181cea1eaba049b2b855e6e855a196bb28cec1"
#: Where the default files are downloaded from: a repository path is
#: appended.
PINNED_BASE_URL: Final = (
    f"https://raw.githubusercontent.com/PocketRelay/Server/{PINNED_COMMIT}/"
)


@attrs.frozen
class PinnedFile:
    """
    One file of the Rust server's repository at L{PINNED_COMMIT}.

    @ivar path: its path in the repository.
    @ivar size: its length in bytes.
    @ivar sha256: the hex SHA-256 of its content.
    """

    path: str
    size: int
    sha256: str


#: The game-data files of PocketRelay/Server at L{PINNED_COMMIT}, from
#: C{docs/reference/game-data-sources.md}.
PINNED_FILES: Final[tuple[PinnedFile, ...]] = (
    PinnedFile(
        "src/resources/data/coalesced.json",
        1081493,
        "7eff913e592df8919b2c8b6b4a9f461494e19bbd792ce9f1c0865d29efcb946f",
    ),
    PinnedFile(
        "src/resources/data/dime.xml",
        9267,
        "f964ce0aaea4e34439ab7bd9a8472fb461266b2f4f04f75d574382e2599bed12",
    ),
    PinnedFile(
        "src/resources/data/entitlements.dmap",
        40737,
        "6e769bdbcb0273be37457fd773a6fc3adb89a35f5f5822fd4b3f23251823135b",
    ),
    PinnedFile(
        "src/resources/data/tlk/de.tlk",
        12689,
        "f62297af88d9d50d5fc2bc8f4a5fb1f91b526f4939b90b2524e68c7531d78a03",
    ),
    PinnedFile(
        "src/resources/data/tlk/default.tlk",
        10945,
        "b122ef9c932bbfa25c4c2c638149d79493f8a046b1b3f92a43a644ab4926d482",
    ),
    PinnedFile(
        "src/resources/data/tlk/en.tlk",
        10945,
        "b122ef9c932bbfa25c4c2c638149d79493f8a046b1b3f92a43a644ab4926d482",
    ),
    PinnedFile(
        "src/resources/data/tlk/es.tlk",
        11972,
        "8ee79e3d447a3ba8b2c047d62d39adfa70a47053df54b24a2f420ff0dac921f7",
    ),
    PinnedFile(
        "src/resources/data/tlk/fr.tlk",
        12626,
        "d300a352d51f6ddad579c38b424fdd7967dc95cae178546c52e9c7e9668a7b52",
    ),
    PinnedFile(
        "src/resources/data/tlk/it.tlk",
        12150,
        "84b53f530826db90397463698acc291896db741a873c741dc6e46aaee2bfa9ff",
    ),
    PinnedFile(
        "src/resources/data/tlk/ja.tlk",
        13300,
        "40c5f575cb1d8cb73aba964557cd565b536bb28bee10923990f6a1c1fab448ee",
    ),
    PinnedFile(
        "src/resources/data/tlk/pl.tlk",
        12241,
        "3c55170a7ac979ea27af9fa9281541a4aa823d80e37ce9559f768df119cb4ca7",
    ),
    PinnedFile(
        "src/resources/data/tlk/ru.tlk",
        13301,
        "a8cef89fc7976c8c5bfc51e123c762e370192bc8213638261bebb206b0b072f3",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/Bioware.dds",
        65664,
        "7cdba22decf3ce17b69733260e46131af542fac9a52f2ba1fc2ae1b971ab898a",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/ContestWinner1.dds",
        65664,
        "aa8858773e6c177b2f9d95e744812e73063aac4cca5222997ec43f3baccd1e96",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/ContestWinner10.dds",
        65664,
        "e3757bc83383ef68b7ce3d617a102ca2a8b1d60bcdc3d7109bd76394da012ffc",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/ContestWinner2.dds",
        65664,
        "7c249475c5e5296271b47e1e6421ef0d4a91b6be03611dbed2f8e11c7c80e24b",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/ContestWinner3.dds",
        65664,
        "6b5c54b5b7ce2219ed31bcaf8367fdb0a9540b5c23b3671134fb3a24dd773b2b",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/ContestWinner4.dds",
        65664,
        "3b44c2a76b2ff129dce85cc03e61f07f1e66ea8cc03f290984c89d060c784e37",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/ContestWinner5.dds",
        65664,
        "85ecbc8f4fdef8dc7c51bd5a41e812d0c5957e38a5a191c09c8184f50a2a7916",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/ContestWinner6.dds",
        65664,
        "ff3fc8704619dbbbd0d814aa7484dce7463ba1508c1293cade591f8c7c849273",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/ContestWinner7.dds",
        65664,
        "4d2c200775e6167f363b2c8f08967c18c4bd746289f4c132d85d16a070aa4622",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/ContestWinner8.dds",
        65664,
        "b521fb3355fe458dd77ceb8fbde833d01c8efa404724722b78bd49951fad02e5",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/ContestWinner9.dds",
        65664,
        "bc9c907d05a8862c8513d383e69c8e67c1a5315868e63647408571b83b7cc05f",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/Corsair.dds",
        65664,
        "fa90e15381b1e6cae5efc8d4fe4b3ea3944eb85867644ceb1da9aec665a0df1e",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/FullTeam.dds",
        65664,
        "0e91fa6ede59f2d6a32c7b21cc0abd4cb564c4bef83ccc1e537b8e2a79f75171",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/Halloween.dds",
        65664,
        "e5b9288d32d5049fbe3e5b74dd066fce159a62ece0cc4ac0986d090b0cafc5f2",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/MEMstr.dds",
        65664,
        "688454884be78d25ac79e4fbe25ca8df62d26fc673566fbe930762a74324cb85",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/MEMstrF.dds",
        65664,
        "19723cec08d89e9ffdbb78e695c6c6abc55aecf60d3337e99add5bc916eff874",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/N7Day.dds",
        65664,
        "583f0564db078380e2e0cd34ad4e6bf3c1f9bdaa73ccf87413462ea82ba422b8",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/PocketRelayContrib.dds",
        65664,
        "e2cd09748a33ff15cbc0f6089699967f00ca80606acd8344f5ddbfe196d1c239",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/PocketRelayDev.dds",
        65664,
        "e2cd09748a33ff15cbc0f6089699967f00ca80606acd8344f5ddbfe196d1c239",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/Prophecy.dds",
        65664,
        "1e20ba5e61302cecf98222951192468f4d4a30af65695c1833227a003c03563b",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/Punisher.dds",
        65664,
        "e1f7790afb95e602dd022f0a7642c9a6b443d76c3a5075c794e700295380b7d7",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/VolusLover.dds",
        65664,
        "725b3a4e7bd41243d394fd0aac0548f8f15e301c2f4b48782af622ce05789a92",
    ),
    PinnedFile(
        "src/resources/public/content/ChallengeBanners/zaeed.dds",
        65664,
        "d509b463a61dd44ed6bb8ce731d62f21a57bf90d10689d899885e2911ae31a7b",
    ),
    PinnedFile(
        "src/resources/public/content/Promo_n7.dds",
        329856,
        "6d3765e57a65ebaf5bbb7365a90488a23ec1af454f9c1f1881d75e9064539fb8",
    ),
    PinnedFile(
        "src/resources/public/content/StoreAlliance.dds",
        524416,
        "ad485a9d9541d2cbd90fa814bcf2fe224471a403b8f31fb8d99e9192894b15fe",
    ),
    PinnedFile(
        "src/resources/public/content/StoreBF3.dds",
        524416,
        "3c3aecfd96171a81b33060fd8efc4dfe3bf150a93da714d5baaff6818b84b6ee",
    ),
    PinnedFile(
        "src/resources/public/content/StoreMPMoon.dds",
        524416,
        "61923b17ce2e26bda7bff23313e21cceea9581b60f4f3dd7e0753d2590e36cfc",
    ),
)

#: How long a download waits to connect, for an answer or for the next
#: bytes of a body, in seconds.
DEFAULT_TIMEOUT: Final = 30.0
#: The largest image under C{public/content/} installed, in bytes.
MAX_CONTENT_FILE_SIZE: Final = 16 * 1024 * 1024
#: The most images under C{public/content/} installed from one source.
MAX_CONTENT_FILES: Final = 2000
#: The most bytes one installation reads from its source.
MAX_TOTAL_SIZE: Final = 512 * 1024 * 1024
#: The most entries read from an archive's table of contents.
MAX_ARCHIVE_MEMBERS: Final = 200_000

_CONTENT: Final = "/".join(CONTENT_DIRECTORY) + "/"
_STAGING_PREFIX: Final = ".game-data-install-"
_DDS_MAGIC: Final = b"DDS "


class InstallError(Exception):
    """
    The installation was refused; the message says why, for the operator.
    Nothing in the data directory was changed.
    """


class FetchError(InstallError):
    """
    A download failed (no connection, an HTTP error, a dropped connection,
    a timeout, too large an answer).
    """


class IFetcher(Interface):
    """
    Downloads one file.
    """

    def fetch(url: str, limit: int) -> defer.Deferred[bytes]:
        """
        The body of a C{GET} of C{url}.

        @param limit: the largest body accepted, in bytes.
        @return: a L{Deferred} firing with the body, or failing with
            L{FetchError}.
        """


#: Receives one progress line.
_Progress = Callable[[str], None]


# -- sources


def _limitFor(target: str) -> int:
    if target.startswith(_CONTENT):
        return MAX_CONTENT_FILE_SIZE
    if target in (ENTITLEMENTS_FILE, STORE_FILE):
        return MAX_TEXT_FILE_SIZE
    return fileSizeLimit(target)


def _safeRelative(path: str) -> str | None:
    """
    C{path} as a relative POSIX path if every segment is a plain name (not
    empty, no C{.}/C{..}, not hidden, no backslash, NUL or control
    character); else L{None}.
    """
    segments = path.split("/")
    for segment in segments:
        if (
            not segment
            or segment.startswith(".")
            or any(ord(c) < 0x20 or c in "\\\x7f:" for c in segment)
        ):
            return None
    return "/".join(segments)


class _Tree(Protocol):
    """
    The files of a source, by relative POSIX path.

    @ivar top: the single folder holding everything in an archive (such
        as GitHub's C{Server-<commit>/}), or C{""}.
    """

    description: str
    top: str

    def isFile(self, path: str) -> bool: ...

    def filesUnder(self, prefix: str) -> list[str]: ...

    def read(self, paths: Sequence[str], limit: Callable[[str], int]) -> dict[str, bytes]: ...


def _tooLarge(path: str, size: int, limit: int) -> InstallError:
    return InstallError(f"{path} is {size} bytes, more than the limit of {limit}")


@attrs.define
class _DirectoryTree:
    root: str
    description: str
    top: str = ""

    def _full(self, path: str) -> str:
        return os.path.join(self.root, *path.split("/"))

    def isFile(self, path: str) -> bool:
        return os.path.isfile(self._full(path))

    def filesUnder(self, prefix: str) -> list[str]:
        top = self._full(prefix.rstrip("/"))
        found: list[str] = []
        for directory, subdirectories, files in os.walk(top):
            subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
            relative = os.path.relpath(directory, self.root).replace(os.sep, "/")
            for name in sorted(files):
                found.append(f"{relative}/{name}")
                if len(found) > MAX_CONTENT_FILES:
                    raise InstallError(
                        f"{self.description}: more than {MAX_CONTENT_FILES} files "
                        f"under {prefix}"
                    )
        return found

    def read(self, paths: Sequence[str], limit: Callable[[str], int]) -> dict[str, bytes]:
        result = {}
        for path in paths:
            full = self._full(path)
            size = os.path.getsize(full)
            if size > limit(path):
                raise _tooLarge(full, size, limit(path))
            with open(full, "rb") as f:
                data = f.read(limit(path) + 1)
            if len(data) > limit(path):
                raise _tooLarge(full, len(data), limit(path))
            result[path] = data
        return result


def _singleTop(names: Iterable[str]) -> str:
    """
    The single top folder all C{names} share, with a slash (C{""} if
    none).
    """
    listed = list(names)
    tops = {name.split("/", 1)[0] for name in listed}
    if len(tops) == 1 and all("/" in name for name in listed):
        return tops.pop() + "/"
    return ""


@attrs.define
class _ArchiveTree:
    """
    The files of an archive, by safe relative path (entries with unsafe
    names are left out).
    """

    archive: Any
    description: str
    top: str = ""
    members: dict[str, Any] = attrs.field(factory=dict)

    def _index(self, entries: Sequence[tuple[str, Any]]) -> None:
        self.top = _singleTop(name for name, _ in entries)
        for name, info in entries:
            relative = _safeRelative(name)
            if relative is not None:
                self.members[relative] = info

    def isFile(self, path: str) -> bool:
        return path in self.members

    def filesUnder(self, prefix: str) -> list[str]:
        return sorted(name for name in self.members if name.startswith(prefix))


class _ZipTree(_ArchiveTree):
    @classmethod
    def open(cls, path: str) -> _ZipTree:
        try:
            archive = zipfile.ZipFile(path)
            infos = archive.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as e:
            raise InstallError(f"{path} is not a readable zip archive: {e}")
        if len(infos) > MAX_ARCHIVE_MEMBERS:
            raise InstallError(f"{path} has more than {MAX_ARCHIVE_MEMBERS} entries")
        tree = cls(archive, path)
        tree._index([(info.filename, info) for info in infos if not info.is_dir()])
        return tree

    def read(self, paths: Sequence[str], limit: Callable[[str], int]) -> dict[str, bytes]:
        result = {}
        for path in paths:
            info = self.members[path]
            if info.file_size > limit(path):
                raise _tooLarge(f"{self.description}: {info.filename}", info.file_size, limit(path))
            try:
                with self.archive.open(info) as f:
                    data = f.read(limit(path) + 1)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
                raise InstallError(f"{self.description}: cannot read {info.filename}: {e}")
            if len(data) > limit(path):
                raise _tooLarge(f"{self.description}: {info.filename}", len(data), limit(path))
            result[path] = data
        return result


class _TarTree(_ArchiveTree):
    @classmethod
    def open(cls, path: str) -> _TarTree:
        try:
            archive = tarfile.open(path, "r:*")
            infos = []
            for info in archive:
                infos.append(info)
                if len(infos) > MAX_ARCHIVE_MEMBERS:
                    raise InstallError(f"{path} has more than {MAX_ARCHIVE_MEMBERS} entries")
        except (tarfile.TarError, OSError, EOFError, ValueError) as e:
            raise InstallError(f"{path} is not a readable tar archive: {e}")
        tree = cls(archive, path)
        tree._index([(info.name, info) for info in infos if info.isfile()])
        return tree

    def read(self, paths: Sequence[str], limit: Callable[[str], int]) -> dict[str, bytes]:
        result = {}
        # In archive order, so a compressed archive is read forwards once.
        for path in sorted(paths, key=lambda p: self.members[p].offset_data):
            info = self.members[path]
            if info.size > limit(path):
                raise _tooLarge(f"{self.description}: {info.name}", info.size, limit(path))
            try:
                f = self.archive.extractfile(info)
                data = f.read() if f is not None else b""
            except (tarfile.TarError, OSError, EOFError, ValueError) as e:
                raise InstallError(f"{self.description}: cannot read {info.name}: {e}")
            if len(data) != info.size:
                raise InstallError(
                    f"{self.description}: {info.name} is truncated "
                    f"({len(data)} of {info.size} bytes)"
                )
            result[path] = data
        return result


@attrs.define
class _PinnedTree:
    """
    The files of L{PINNED_FILES} (names only; they are downloaded).
    """

    pins: Sequence[PinnedFile]
    description: str
    top: str = ""

    def isFile(self, path: str) -> bool:
        return any(pin.path == path for pin in self.pins)

    def filesUnder(self, prefix: str) -> list[str]:
        return sorted(pin.path for pin in self.pins if pin.path.startswith(prefix))

    def read(self, paths: Sequence[str], limit: Callable[[str], int]) -> dict[str, bytes]:
        raise AssertionError("pinned files are downloaded")  # pragma: no cover


def _openSource(source: str) -> _Tree:
    lowered = source.lower()
    if os.path.isdir(source):
        return _DirectoryTree(source, source)
    if not os.path.exists(source):
        raise InstallError(f"{source}: no such file or directory")
    if lowered.endswith(".zip"):
        return _ZipTree.open(source)
    if lowered.endswith((".tar.gz", ".tgz", ".tar")):
        return _TarTree.open(source)
    raise InstallError(
        f"{source} is neither a directory, a .zip or .tar.gz archive nor an "
        "https:// URL"
    )


@attrs.frozen
class _Wanted:
    """
    One file to install: C{target} (relative to the data directory) from
    C{path} in the source.
    """

    target: str
    path: str


def _first(tree: _Tree, candidates: Iterable[str]) -> str | None:
    for candidate in candidates:
        if tree.isFile(candidate):
            return candidate
    return None


def _resolve(tree: _Tree) -> list[_Wanted]:
    """
    Where each game-data file is in C{tree}: the folder holding the
    coalesced (C{src/resources/data/}, C{data/} or the top, each also
    inside an archive's single top folder) decides.
    """
    root = None
    for candidate in (
        top + folder
        for top in dict.fromkeys((tree.top, ""))
        for folder in ("src/resources/data/", "data/", "")
    ):
        if _first(tree, (candidate + COALESCED_JSON_FILE, candidate + COALESCED_FILE)):
            root = candidate
            break
    if root is None:
        raise InstallError(
            f"no {COALESCED_JSON_FILE} or {COALESCED_FILE} in {tree.description} "
            "(looked in src/resources/data/, data/ and the top folder)"
        )
    base = root[: -len("data/")] if root.endswith("data/") else root
    wanted: list[_Wanted] = []

    def want(target: str, candidates: Iterable[str]) -> str | None:
        found = _first(tree, candidates)
        if found is not None:
            wanted.append(_Wanted(target, found))
        return found

    want(COALESCED_JSON_FILE, [root + COALESCED_JSON_FILE])
    want(COALESCED_FILE, [root + COALESCED_FILE])
    english = None
    for language in TALK_FILE_LANGUAGES:
        found = want(
            f"{language}.tlk",
            [root + f"tlk/{language}.tlk", root + f"tlk/ME3TLK_{language}.tlk",
             root + f"{language}.tlk"],
        )
        if language == "en":
            english = found
    defaultCandidates = [root + "tlk/default.tlk", root + "tlk/ME3TLK.tlk",
                         root + DEFAULT_TALK_FILE]
    if english is not None:
        defaultCandidates.append(english)
    want(DEFAULT_TALK_FILE, defaultCandidates)
    for name in (ENTITLEMENTS_FILE, STORE_FILE):
        want(name, [root + name, base + "src/main/resources/data/" + name])
    for prefix in dict.fromkeys((base + _CONTENT, root + _CONTENT, root + "content/")):
        files = tree.filesUnder(prefix)
        if files:
            for path in files:
                relative = _safeRelative(path[len(prefix):])
                if relative is not None:
                    wanted.append(_Wanted(_CONTENT + relative, path))
            break
    return wanted


# -- downloads


@implementer(IFetcher)
@attrs.define
class AgentFetcher:
    """
    Downloads with Twisted's L{Agent}.

    @ivar reactor: provides the connections and the timeouts.
    @ivar timeout: how long to wait to connect, for an answer or for the
        next bytes of the body, in seconds.
    """

    reactor: Any
    timeout: float = DEFAULT_TIMEOUT
    _agent: Any = attrs.field(default=None, init=False)

    def fetch(self, url: str, limit: int) -> defer.Deferred[bytes]:
        if self._agent is None:
            self._agent = Agent(self.reactor, connectTimeout=self.timeout)
        d: defer.Deferred[Any] = self._agent.request(
            b"GET",
            url.encode("ascii"),
            Headers({b"user-agent": [b"pocketrelay-admin game-data install"]}),
        )
        timedOut = []

        def giveUp() -> None:
            timedOut.append(True)
            d.cancel()

        timer = self.reactor.callLater(self.timeout, giveUp)

        def answered(result: Any) -> Any:
            if timer.active():
                timer.cancel()
            return result

        d.addBoth(answered)
        d.addCallbacks(lambda response: self._body(response, url, limit),
                       lambda failure: self._failed(failure, url, bool(timedOut)))
        return d

    def _failed(self, failure: Failure, url: str, timedOut: bool) -> bytes:
        if failure.check(FetchError):
            failure.raiseException()
        if timedOut:
            raise FetchError(f"{url}: no answer within {self.timeout:g} s")
        raise FetchError(f"{url}: {_reason(failure)}")

    def _body(self, response: IResponse, url: str, limit: int) -> defer.Deferred[bytes]:
        if response.code != 200:
            response.deliverBody(_Discard())
            raise FetchError(
                f"{url}: HTTP {response.code} {response.phrase.decode('latin-1')}"
            )
        length = response.length
        if length is not UNKNOWN_LENGTH and isinstance(length, int) and length > limit:
            response.deliverBody(_Discard())
            raise FetchError(f"{url}: {length} bytes, more than the limit of {limit}")
        collector: list[_Collector] = []

        def cancel(_: object) -> None:
            if collector:
                collector[0]._stop(FetchError(f"{url}: cancelled"))

        finished: defer.Deferred[bytes] = defer.Deferred(cancel)
        expected = length if isinstance(length, int) else None
        collector.append(
            _Collector(finished, url, limit, expected, self.reactor, self.timeout))
        response.deliverBody(collector[0])
        return finished


@implementer(IFetcher)
@attrs.define
class AnswerDeadline:
    """
    Gives up on a source that delivers no file within a deadline: an
    unreachable, black-holed or silent source fails the first download
    once C{seconds} have passed since it started, however long the
    wrapped fetcher would wait.  Once one file has arrived the source is
    reachable and the wrapped fetcher's own timeout bounds each later
    download (a whole-install deadline would refuse a slow but working
    connection).

    @ivar fetcher: does the downloads.
    @ivar clock: measures the deadline.
    @ivar seconds: the deadline, from the first download's start.
    """

    fetcher: IFetcher
    clock: Any
    seconds: float
    _answered: bool = attrs.field(default=False, init=False)
    _expired: bool = attrs.field(default=False, init=False)
    _timer: Any = attrs.field(default=None, init=False)
    _pending: tuple[defer.Deferred[bytes], defer.Deferred[bytes], str] | None = (
        attrs.field(default=None, init=False))

    def _message(self, url: str) -> str:
        return f"{url}: no answer within {self.seconds:g} s"

    def fetch(self, url: str, limit: int) -> defer.Deferred[bytes]:
        if self._answered:
            return self.fetcher.fetch(url, limit)
        if self._expired:
            return defer.fail(FetchError(self._message(url)))
        if self._timer is None:
            self._timer = self.clock.callLater(self.seconds, self._expire)
        inner = self.fetcher.fetch(url, limit)
        outer: defer.Deferred[bytes] = defer.Deferred(lambda _: inner.cancel())
        self._pending = (outer, inner, url)

        def arrived(data: bytes) -> None:
            self._pending = None
            if outer.called:
                return
            self._answered = True
            if self._timer.active():
                self._timer.cancel()
            outer.callback(data)

        def failed(failure: Failure) -> None:
            self._pending = None
            if not outer.called:
                outer.errback(failure)

        inner.addCallbacks(arrived, failed)
        return outer

    def _expire(self) -> None:
        """
        The deadline passed without a file: fail the download in progress
        and stop it.
        """
        self._expired = True
        pending, self._pending = self._pending, None
        if pending is not None:
            outer, inner, url = pending
            if not outer.called:
                outer.errback(FetchError(self._message(url)))
            inner.cancel()


def _reason(failure: Failure) -> str:
    reasons = getattr(failure.value, "reasons", None)
    if reasons:
        return "; ".join(_reason(reason) for reason in reasons)
    return failure.getErrorMessage() or getattr(failure.type, "__name__", "error")


class _Discard(StreamProtocol):
    def dataReceived(self, data: bytes) -> None:
        pass


_DONE: Final = Failure(ConnectionDone())


class _Collector(StreamProtocol):
    """
    Collects a response body, at most C{limit} bytes, failing if no bytes
    arrive for C{timeout} seconds or the connection closes early.
    """

    def __init__(
        self,
        finished: defer.Deferred[bytes],
        url: str,
        limit: int,
        expected: int | None,
        clock: Any,
        timeout: float,
    ) -> None:
        self.finished = finished
        self.url = url
        self.limit = limit
        self.expected = expected
        self.clock = clock
        self.timeout = timeout
        self.parts: list[bytes] = []
        self.received = 0
        self.error: FetchError | None = None
        self.idle = clock.callLater(timeout, self._idle)

    def _stop(self, error: FetchError) -> None:
        if self.error is None:
            self.error = error
            if self.transport is not None:
                # The body's transport is a producer (it stops the download).
                cast(Any, self.transport).stopProducing()

    def _idle(self) -> None:
        self._stop(FetchError(
            f"{self.url}: no data for {self.timeout:g} s after {self.received} bytes"
        ))

    def dataReceived(self, data: bytes) -> None:
        if self.error is not None:
            return
        self.received += len(data)
        if self.received > self.limit:
            self._stop(FetchError(f"{self.url}: more than the limit of {self.limit} bytes"))
            return
        self.parts.append(data)
        self.idle.reset(self.timeout)

    def connectionLost(self, reason: Failure = _DONE) -> None:
        if self.idle.active():
            self.idle.cancel()
        if self.finished.called:
            return
        body = b"".join(self.parts)
        if self.error is not None:
            self.finished.errback(self.error)
        elif reason.check(ResponseDone) or (
            reason.check(PotentialDataLoss) and self.expected is None
        ):
            if self.expected is not None and len(body) != self.expected:
                self.finished.errback(self._dropped(len(body)))
            else:
                self.finished.callback(body)
        else:
            self.finished.errback(self._dropped(len(body), _reason(reason)))

    def _dropped(self, received: int, why: str = "") -> FetchError:
        of = f" of {self.expected}" if self.expected is not None else ""
        detail = f" ({why})" if why else ""
        return FetchError(
            f"{self.url}: the connection was closed after {received}{of} bytes{detail}"
        )


# -- installing


@attrs.frozen
class InstallResult:
    """
    What an installation did.

    @ivar dataDir: the data directory.
    @ivar installed: targets written that did not exist.
    @ivar replaced: targets whose different content was replaced
        (C{--force}).
    @ivar unchanged: targets already holding the same content.
    @ivar kept: targets left as they were because they exist
        (C{--if-missing}).
    @ivar missing: parts of a complete installation still absent after it
        (see L{missingGameData}).
    @ivar nothingToDo: C{--if-missing} found the installation complete and
        did not open the source.
    """

    dataDir: str
    installed: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    nothingToDo: bool = False

    def describe(self) -> str:
        """
        One line for the operator.
        """
        if self.nothingToDo:
            return f"The game data in {self.dataDir} is complete; nothing to do"
        parts = []
        if self.installed:
            parts.append(f"{len(self.installed)} installed")
        if self.replaced:
            parts.append(f"{len(self.replaced)} replaced")
        if self.unchanged:
            parts.append(f"{len(self.unchanged)} already up to date")
        if self.kept:
            parts.append(f"{len(self.kept)} kept (already present)")
        changed = "" if self.installed or self.replaced else "; nothing changed"
        line = f"Game data in {self.dataDir}: " + ", ".join(parts or ["no files"]) + changed
        if self.missing:
            line += "; still missing: " + ", ".join(self.missing)
        return line


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _existing(dataDir: str, target: str) -> str | None:
    path = os.path.join(dataDir, *target.split("/"))
    return path if os.path.lexists(path) else None


def _readExisting(path: str, limit: int) -> bytes | None:
    try:
        if not os.path.isfile(path) or os.path.getsize(path) > limit:
            return None
        with open(path, "rb") as f:
            return f.read(limit + 1)
    except OSError:
        return None


def _check(target: str, data: bytes, origin: str) -> None:
    try:
        if target.startswith(_CONTENT):
            if target.lower().endswith(".dds") and not data.startswith(_DDS_MAGIC):
                raise ValueError("not a DDS image (it does not start with 'DDS ')")
        else:
            checkGameDataFile(target, data)
    except ValueError as e:
        raise InstallError(f"{origin} is not usable: {e}")
    except Exception as e:
        raise InstallError(f"{origin} is not usable: unexpected {type(e).__name__}: {e}")


def _isUrl(source: str) -> bool:
    return source.lower().startswith(("https://", "http://"))


def installGameData(
    dataDir: str,
    source: str | None = None,
    *,
    ifMissing: bool = False,
    force: bool = False,
    fetcher: IFetcher | None = None,
    pins: Sequence[PinnedFile] = PINNED_FILES,
    baseUrl: str = PINNED_BASE_URL,
    progress: _Progress | None = None,
) -> defer.Deferred[InstallResult]:
    """
    Install the game data from C{source} into C{dataDir}, all or nothing.

    @param source: a directory, a C{.zip}/C{.tar.gz} archive, or an
        C{http(s)://} base URL; L{None} for C{baseUrl}.
    @param ifMissing: install only what is absent; do nothing (not even
        open the source) when L{missingGameData} finds nothing missing.
    @param force: replace installed files whose content differs; without
        it such files make the installation fail.
    @param fetcher: downloads URL sources; required for them.
    @param pins: the files a URL source holds, with their hashes.
    @param baseUrl: the URL used when C{source} is L{None}.
    @param progress: receives one line per file read and checked.
    @return: a L{Deferred} firing with an L{InstallResult}, or failing
        with L{InstallError} (nothing was changed).
    """
    return defer.ensureDeferred(
        _install(dataDir, source, ifMissing, force, fetcher, pins, baseUrl,
                 progress or (lambda line: None))
    )


async def _install(
    dataDir: str,
    source: str | None,
    ifMissing: bool,
    force: bool,
    fetcher: IFetcher | None,
    pins: Sequence[PinnedFile],
    baseUrl: str,
    progress: _Progress,
) -> InstallResult:
    if ifMissing and force:
        raise InstallError("--if-missing and --force exclude each other")
    if os.path.exists(dataDir) and not os.path.isdir(dataDir):
        raise InstallError(f"{dataDir} is not a directory")
    if ifMissing and os.path.isdir(dataDir) and not missingGameData(FilePath(dataDir)):
        return InstallResult(dataDir, nothingToDo=True)
    url = baseUrl if source is None else source
    tree: _Tree
    if _isUrl(url):
        if not url.endswith("/"):
            url += "/"
        tree = _PinnedTree(pins, url)
    else:
        tree = _openSource(url)
    try:
        wanted = _resolve(tree)
        if len(wanted) > MAX_CONTENT_FILES + 16:
            raise InstallError(f"{tree.description}: too many files")

        kept: list[str] = []
        if ifMissing:
            hasCoalesced = any(
                _existing(dataDir, name) for name in (COALESCED_JSON_FILE, COALESCED_FILE)
            )
            todo = []
            for item in wanted:
                isCoalesced = item.target in (COALESCED_JSON_FILE, COALESCED_FILE)
                if _existing(dataDir, item.target) or (isCoalesced and hasCoalesced):
                    kept.append(item.target)
                else:
                    todo.append(item)
            wanted = todo

        contents: dict[str, bytes] = {}
        unchanged: list[str] = []
        if isinstance(tree, _PinnedTree):
            if fetcher is None:
                raise InstallError("downloading needs a fetcher")
            byPath = {pin.path: pin for pin in pins}
            total = 0
            for number, item in enumerate(wanted, 1):
                pin = byPath[item.path]
                existing = _existing(dataDir, item.target)
                if existing is not None:
                    current = _readExisting(existing, pin.size)
                    if current is not None and _sha256(current) == pin.sha256:
                        unchanged.append(item.target)
                        continue
                total += pin.size
                if total > MAX_TOTAL_SIZE:
                    raise InstallError(f"more than {MAX_TOTAL_SIZE} bytes to download")
                address = url + item.path
                data = await fetcher.fetch(address, min(pin.size, _limitFor(item.target)))
                digest = _sha256(data)
                if len(data) != pin.size or digest != pin.sha256:
                    raise InstallError(
                        f"{address}: got {len(data)} bytes with SHA-256 {digest}, "
                        f"expected {pin.size} bytes with SHA-256 {pin.sha256}"
                    )
                _check(item.target, data, address)
                contents[item.target] = data
                progress(
                    f"[{number}/{len(wanted)}] {item.target}: downloaded {len(data)} "
                    "bytes, SHA-256 and content checked"
                )
        else:
            targets = {item.path: item.target for item in wanted}
            bodies = tree.read([item.path for item in wanted],
                               lambda path: _limitFor(targets[path]))
            total = 0
            for number, item in enumerate(wanted, 1):
                body = bodies[item.path]
                total += len(body)
                if total > MAX_TOTAL_SIZE:
                    raise InstallError(f"{tree.description}: more than {MAX_TOTAL_SIZE} bytes")
                origin = f"{tree.description}: {item.path}"
                _check(item.target, body, origin)
                contents[item.target] = body
                progress(
                    f"[{number}/{len(wanted)}] {item.target}: read {len(body)} bytes "
                    f"from {item.path}, content checked"
                )
    finally:
        if isinstance(tree, _ArchiveTree):
            tree.archive.close()

    toWrite: dict[str, bytes] = {}
    replaced: list[str] = []
    conflicts: list[str] = []
    for target, body in contents.items():
        existing = _existing(dataDir, target)
        if existing is None:
            toWrite[target] = body
            continue
        current = _readExisting(existing, len(body))
        if current == body:
            unchanged.append(target)
        elif force:
            toWrite[target] = body
            replaced.append(target)
        else:
            conflicts.append(target)
    if conflicts:
        shown = ", ".join(conflicts[:10]) + (" …" if len(conflicts) > 10 else "")
        raise InstallError(
            f"{len(conflicts)} installed files differ from the source ({shown}); "
            "nothing was changed. Use --force to replace them, or --if-missing to "
            "add only what is missing"
        )
    if toWrite:
        _commit(dataDir, toWrite)
    installed = [target for target in toWrite if target not in replaced]
    return InstallResult(
        dataDir,
        installed=tuple(installed),
        replaced=tuple(replaced),
        unchanged=tuple(unchanged),
        kept=tuple(kept),
        missing=tuple(missingGameData(FilePath(dataDir))),
    )


def _commit(dataDir: str, files: dict[str, bytes]) -> None:
    """
    Write C{files} into a staging directory inside C{dataDir}, then move
    them into place; undo the moves done if one fails.
    """
    if not os.path.isdir(dataDir):
        try:
            os.makedirs(dataDir, mode=0o700)
        except OSError as e:
            raise InstallError(f"cannot create {dataDir}: {e.strerror or e}")
    try:
        staging = tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=dataDir)
    except OSError as e:
        raise InstallError(f"cannot write in {dataDir}: {e.strerror or e}")
    moved: list[tuple[str, str | None]] = []
    createdDirectories: list[str] = []
    try:
        try:
            for number, body in enumerate(files.values()):
                path = os.path.join(staging, "new", str(number))
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(body)
                    f.flush()
                    os.fsync(f.fileno())
            for number, target in enumerate(files):
                destination = os.path.join(dataDir, *target.split("/"))
                parent = os.path.dirname(destination)
                missingParents = []
                while not os.path.isdir(parent):
                    missingParents.append(parent)
                    parent = os.path.dirname(parent)
                for directory in reversed(missingParents):
                    os.mkdir(directory)
                    createdDirectories.append(directory)
                backup: str | None = None
                if os.path.lexists(destination):
                    backup = os.path.join(staging, "old", str(number))
                    os.makedirs(os.path.dirname(backup), exist_ok=True)
                    os.replace(destination, backup)
                moved.append((destination, backup))
                os.replace(os.path.join(staging, "new", str(number)), destination)
        except OSError as e:
            _undo(moved, createdDirectories)
            raise InstallError(
                f"cannot install into {dataDir}: {e.strerror or e}"
                + (f" ({e.filename})" if e.filename else "")
                + "; nothing was changed"
            )
        from pocketrelay.server.security import syncDirectory

        for directory in {os.path.dirname(destination) for destination, _ in moved}:
            syncDirectory(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _undo(moved: list[tuple[str, str | None]], createdDirectories: list[str]) -> None:
    for destination, backup in reversed(moved):
        try:
            if backup is not None:
                os.replace(backup, destination)
            elif os.path.lexists(destination):
                os.remove(destination)
        except OSError:
            Logger().failure("Cannot undo the installation of {path}", path=destination)
    for directory in reversed(createdDirectories):
        try:
            os.rmdir(directory)
        except OSError:
            pass


# -- status


@attrs.frozen
class StatusLine:
    """
    What the game gets for one config id (or C{/content/}).

    @ivar what: the config id, or C{/content/}.
    @ivar description: the file used (with its size) or the built-in
        fallback, and any problem.
    @ivar ok: whether a usable operator file is used.
    """

    what: str
    description: str
    ok: bool


def _describeFile(dataDir: str, name: str, limit: int) -> tuple[str, bool]:
    path = os.path.join(dataDir, name)
    try:
        size = os.path.getsize(path)
        if not os.path.isfile(path):
            return f"{name}: not a regular file", False
        limit = min(limit, fileSizeLimit(name))
        if size > limit:
            return f"{name}: {size} bytes, more than the limit of {limit}", False
        with open(path, "rb") as f:
            data = f.read(limit + 1)
        checkGameDataFile(name, data)
    except OSError as e:
        return f"{name}: cannot read: {e.strerror or e}", False
    except ValueError as e:
        return f"{name} ({size} bytes): UNUSABLE, {e}", False
    digest = _sha256(data)
    pinned = any(pin.sha256 == digest for pin in PINNED_FILES)
    note = ", as published at the pinned commit" if pinned else ""
    return f"{name} ({size} bytes{note})", True


def gameDataStatus(dataDir: str) -> tuple[list[StatusLine], list[str]]:
    """
    What the game gets from C{dataDir}, for each config id the game data
    concerns and for C{/content/}; every file is read and checked as the
    server would.

    @return: the lines and the missing parts (L{missingGameData}).
    """
    lines: list[StatusLine] = []

    def exists(name: str) -> bool:
        return os.path.lexists(os.path.join(dataDir, name))

    def fromFiles(what: str, names: Sequence[str], limit: int, fallback: str,
                  note: str = "") -> None:
        for name in names:
            if exists(name):
                description, ok = _describeFile(dataDir, name, limit)
                if not ok:
                    description += f"; the game gets {fallback}"
                lines.append(StatusLine(what, description + note, ok))
                return
        lines.append(StatusLine(what, f"built-in fallback ({fallback})", False))

    both = exists(COALESCED_JSON_FILE) and exists(COALESCED_FILE)
    fromFiles(
        "ME3_BINI_PC_COMPRESSED",
        (COALESCED_JSON_FILE, COALESCED_FILE),
        MAX_FILE_SIZE,
        "an empty map",
        f"; {COALESCED_FILE} is ignored while {COALESCED_JSON_FILE} exists" if both else "",
    )
    for language in TALK_FILE_LANGUAGES:
        fromFiles(f"ME3_LIVE_TLK_PC_{language}",
                  (f"{language}.tlk", DEFAULT_TALK_FILE), MAX_FILE_SIZE, "an empty map")
    fromFiles("ME3_LIVE_TLK_PC_<other>", (DEFAULT_TALK_FILE,), MAX_FILE_SIZE, "an empty map")
    fromFiles("ME3_ENT", (ENTITLEMENTS_FILE,), MAX_TEXT_FILE_SIZE,
              "the minimal built-in entitlement table")
    fromFiles("ME3_DIME", (STORE_FILE,), MAX_TEXT_FILE_SIZE,
              "the built-in store configuration")
    content = os.path.join(dataDir, *CONTENT_DIRECTORY)
    count = size = 0
    for directory, subdirectories, files in os.walk(content):
        subdirectories[:] = [d for d in subdirectories if not d.startswith(".")]
        for name in files:
            count += 1
            try:
                size += os.path.getsize(os.path.join(directory, name))
            except OSError:
                pass
    if count:
        lines.append(StatusLine("/content/", f"{_CONTENT} ({count} files, {size} bytes)", True))
    else:
        lines.append(StatusLine("/content/", f"nothing ({_CONTENT} holds no file)", False))
    return lines, missingGameData(FilePath(dataDir))
