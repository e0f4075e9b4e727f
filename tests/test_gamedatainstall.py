# -*- test-case-name: tests.test_gamedatainstall -*-
"""
Tests for L{pocketrelay.server.gamedatainstall}: installing synthetic game
data from directories, archives and a loopback web site, all or nothing;
the status report; and a server on the installed data.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any, cast

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site
from zope.interface import implementer
from zope.interface.verify import verifyObject

from pocketrelay.blaze.ids import Component, UtilCommand
from pocketrelay.me3 import coalesced
from pocketrelay.me3.chunking import decompressCoalesced, unchunk
from pocketrelay.me3.clientconfig import TALK_FILE_LANGUAGES, parseEntitlements
from pocketrelay.me3.messages.util import FetchClientConfigRequest, FetchConfigResponse
from pocketrelay.server import gamedatainstall
from pocketrelay.server.gamedata import GameData, missingGameData
from pocketrelay.server.gamedatainstall import (
    PINNED_BASE_URL,
    PINNED_FILES,
    AgentFetcher,
    AnswerDeadline,
    FetchError,
    IFetcher,
    InstallError,
    InstallResult,
    PinnedFile,
    gameDataStatus,
    installGameData,
)
from pocketrelay.testing.gamedata import (
    RESOURCES,
    syntheticCoalesced,
    syntheticPins,
    syntheticRepository,
    syntheticTalkFile,
    tarGzArchive,
    writeTree,
    zipArchive,
)
from pocketrelay.testing.logs import captureLogs, warningTexts
from pocketrelay.testing.server import ServerHarness

#: What a complete installation of L{syntheticRepository} holds, relative
#: to the data directory.
INSTALLED = sorted(
    ["coalesced.json", "default.tlk", "entitlements.dmap", "dime.xml",
     "public/content/ChallengeBanners/Synthetic.dds", "public/content/StoreSynthetic.dds"]
    + [f"{language}.tlk" for language in TALK_FILE_LANGUAGES]
)


def snapshot(directory: str) -> dict[str, tuple[bytes, int]]:
    """
    Every file under C{directory} (relative path to content and
    modification time in nanoseconds), and every directory (empty content,
    time 0).
    """
    found: dict[str, tuple[bytes, int]] = {}
    if not os.path.exists(directory):
        return found
    for parent, directories, files in os.walk(directory):
        for name in directories:
            found[os.path.relpath(os.path.join(parent, name), directory) + "/"] = (b"", 0)
        for name in files:
            path = os.path.join(parent, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, directory)] = (f.read(), os.stat(path).st_mtime_ns)
    return found


def installedFiles(directory: str) -> list[str]:
    """
    The files under C{directory}, as sorted relative POSIX paths.
    """
    return sorted(
        path.replace(os.sep, "/") for path in snapshot(directory) if not path.endswith("/")
    )


def run(d: defer.Deferred[InstallResult]) -> InstallResult | Failure:
    """
    The result of a L{Deferred} that has fired: a value or a L{Failure}.
    """
    results: list[Any] = []
    d.addBoth(results.append)
    assert results, "the Deferred has not fired"
    result: InstallResult | Failure = results[0]
    return result


class InstallTestCase(SynchronousTestCase):
    """
    A data directory and synthetic sources.
    """

    def setUp(self) -> None:
        self.base = self.mktemp()
        os.makedirs(self.base)
        self.dataDir = os.path.join(self.base, "data")
        self.repository = syntheticRepository()
        self.progress: list[str] = []

    def install(self, source: str | None, **kwargs: Any) -> InstallResult:
        """
        Install from C{source}; fail the test if it is refused.
        """
        result = run(installGameData(self.dataDir, source, progress=self.progress.append,
                                     **kwargs))
        if isinstance(result, Failure):
            self.fail(f"refused: {result.getErrorMessage()}")
        return result

    def refused(self, source: str | None, **kwargs: Any) -> str:
        """
        Install from C{source}, which must be refused with L{InstallError}
        without changing the data directory; return the message.
        """
        before = snapshot(self.dataDir)
        result = run(installGameData(self.dataDir, source, **kwargs))
        self.assertIsInstance(result, Failure)
        assert isinstance(result, Failure)
        result.trap(InstallError)
        self.assertEqual(snapshot(self.dataDir), before)
        self.assertEqual(
            [name for name in os.listdir(self.base) if name.startswith(".")], []
        )
        return result.getErrorMessage()

    def checkout(self, files: dict[str, bytes] | None = None) -> str:
        """
        A directory holding C{files} (default: the synthetic repository).
        """
        return writeTree(os.path.join(self.base, "checkout"),
                         self.repository if files is None else files)

    def assertInstalled(self, result: InstallResult) -> None:
        """
        The data directory holds exactly the synthetic data, in the
        server's layout, and nothing is missing.
        """
        self.assertEqual(installedFiles(self.dataDir), INSTALLED)
        self.assertEqual(sorted(result.installed), INSTALLED)
        for target in INSTALLED:
            source = (
                "data/tlk/" + target if target.endswith(".tlk")
                else target if target.startswith("public/") else "data/" + target
            )
            with open(os.path.join(self.dataDir, *target.split("/")), "rb") as f:
                self.assertEqual(f.read(), self.repository[RESOURCES + source], target)
        self.assertEqual(result.missing, ())
        self.assertEqual(missingGameData(FilePath(self.dataDir)), [])


class DirectorySourceTests(InstallTestCase):
    """
    Installing from directories in each supported layout.
    """

    def test_rustCheckout(self) -> None:
        """
        A checkout of the Rust server installs its coalesced, talk files,
        entitlements, store and images into the server's layout, with a
        progress line per file.
        """
        result = self.install(self.checkout())
        self.assertInstalled(result)
        self.assertEqual(len(self.progress), len(INSTALLED))
        self.assertTrue(all(re.match(r"\[\d+/\d+\] ", line) for line in self.progress))
        self.assertIn(f"{len(INSTALLED)} installed", result.describe())

    def test_resourcesFolder(self) -> None:
        """
        The checkout's C{src/resources} folder works the same.
        """
        self.install(os.path.join(self.checkout(), "src", "resources"))
        self.assertEqual(installedFiles(self.dataDir), INSTALLED)

    def test_flatFolder(self) -> None:
        """
        A folder holding the files directly (like a data directory) works.
        """
        flat = {
            path.rsplit("/", 1)[-1] if not path.startswith(RESOURCES + "public/")
            else path[len(RESOURCES):]: data
            for path, data in self.repository.items()
        }
        self.install(self.checkout(flat))
        self.assertEqual(installedFiles(self.dataDir), INSTALLED)

    def test_kotlinCheckout(self) -> None:
        """
        A Kotlin server checkout: C{data/coalesced.bin},
        C{data/tlk/ME3TLK_<lang>.tlk} (English also becomes C{default.tlk})
        and the tables under C{src/main/resources/data/}.
        """
        binary = coalesced.serializeBinary(syntheticCoalesced())
        files = {"data/coalesced.bin": binary,
                 "src/main/resources/data/entitlements.dmap": b"A=1\n",
                 "src/main/resources/data/dime.xml": b"<dime/>"}
        for language in TALK_FILE_LANGUAGES:
            files[f"data/tlk/ME3TLK_{language}.tlk"] = syntheticTalkFile(language)
        self.install(self.checkout(files))
        self.assertEqual(
            installedFiles(self.dataDir),
            sorted(["coalesced.bin", "default.tlk", "entitlements.dmap", "dime.xml"]
                   + [f"{language}.tlk" for language in TALK_FILE_LANGUAGES]),
        )
        with open(os.path.join(self.dataDir, "default.tlk"), "rb") as f:
            self.assertEqual(f.read(), syntheticTalkFile("en"))
        with open(os.path.join(self.dataDir, "coalesced.bin"), "rb") as f:
            self.assertEqual(f.read(), binary)

    def test_noCoalesced(self) -> None:
        """
        A directory without a coalesced is refused, saying where it looked.
        """
        message = self.refused(self.checkout({"README.md": b"hello"}))
        self.assertIn("no coalesced.json or coalesced.bin", message)

    def test_notASource(self) -> None:
        """
        A path that does not exist, or a file that is no archive, is
        refused.
        """
        self.assertIn("no such file", self.refused(os.path.join(self.base, "nothing")))
        other = os.path.join(self.base, "notes.txt")
        with open(other, "wb") as f:
            f.write(b"x")
        self.assertIn("neither a directory", self.refused(other))


class ArchiveSourceTests(InstallTestCase):
    """
    Installing from archives as GitHub makes them.
    """

    def test_zip(self) -> None:
        """
        A zip whose entries start with C{Server-<commit>/} installs like
        the checkout.
        """
        archive = zipArchive(os.path.join(self.base, "server.zip"), self.repository,
                             top="Server-16181cea/")
        self.assertInstalled(self.install(archive))

    def test_tarGz(self) -> None:
        """
        A gzip-compressed tar with a top folder installs like the checkout.
        """
        archive = tarGzArchive(os.path.join(self.base, "server.tar.gz"), self.repository,
                               top="Server-16181cea/")
        self.assertInstalled(self.install(archive))

    def test_withoutTopFolder(self) -> None:
        """
        An archive of the files without a common top folder works too.
        """
        archive = zipArchive(os.path.join(self.base, "server.zip"), self.repository)
        self.assertInstalled(self.install(archive))

    def test_unsafeNamesIgnored(self) -> None:
        """
        Archive entries with C{..}, absolute or hidden paths are never
        installed.
        """
        files = dict(self.repository)
        files["src/resources/public/content/../../../../escaped.dds"] = b"DDS x"
        files["src/resources/public/content/.hidden.dds"] = b"DDS x"
        archive = zipArchive(os.path.join(self.base, "server.zip"), files, top="Server-1/")
        self.install(archive)
        self.assertEqual(installedFiles(self.dataDir), INSTALLED)
        self.assertFalse(os.path.exists(os.path.join(self.base, "escaped.dds")))

    def test_corruptArchive(self) -> None:
        """
        A file named like an archive that is none is refused.
        """
        for name in ("bad.zip", "bad.tar.gz"):
            path = os.path.join(self.base, name)
            with open(path, "wb") as f:
                f.write(b"this is not an archive" * 10)
            self.assertIn("not a readable", self.refused(path))

    def test_truncatedTar(self) -> None:
        """
        A tar.gz cut short is refused, nothing installed.
        """
        path = tarGzArchive(os.path.join(self.base, "server.tar.gz"), self.repository)
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
        self.refused(path)


class AllOrNothingTests(InstallTestCase):
    """
    Bad files and failures change nothing; a second run changes nothing.
    """

    def test_corruptFile(self) -> None:
        """
        A corrupt talk file (or coalesced, entitlements, store, image)
        refuses the whole installation, naming the file and the problem.
        """
        cases = {
            "data/tlk/fr.tlk": b"Tlk\x00" + b"\xff" * 40,
            "data/coalesced.json": b'{"version": 1, "files": [{"path": 3}]}',
            "data/entitlements.dmap": b"no equals sign\n",
            "data/dime.xml": b"<dime>",
            "public/content/StoreSynthetic.dds": b"PNG not a dds",
        }
        for path, corrupt in cases.items():
            files = dict(self.repository)
            files[RESOURCES + path] = corrupt
            source = writeTree(os.path.join(self.base, "corrupt-" + path.replace("/", "-")),
                               files)
            message = self.refused(source)
            self.assertIn(path, message)
            self.assertIn("not usable", message)

    def test_twiceChangesNothing(self) -> None:
        """
        Installing the same source again writes nothing: every file is
        already up to date, modification times stay.
        """
        source = self.checkout()
        self.install(source)
        before = snapshot(self.dataDir)
        again = self.install(source)
        self.assertEqual(snapshot(self.dataDir), before)
        self.assertEqual(again.installed, ())
        self.assertEqual(sorted(again.unchanged), INSTALLED)
        self.assertIn("nothing changed", again.describe())

    def test_differentFileRefused(self) -> None:
        """
        An installed file that differs from the source (an operator's own
        coalesced) makes the installation fail, naming it, unless
        C{force} is given, which replaces it.
        """
        source = self.checkout()
        self.install(source)
        own = os.path.join(self.dataDir, "coalesced.json")
        with open(own, "wb") as f:
            f.write(coalesced.serializeJson(syntheticCoalesced("99")))
        message = self.refused(source)
        self.assertIn("coalesced.json", message)
        self.assertIn("--force", message)
        result = self.install(source, force=True)
        self.assertEqual(result.replaced, ("coalesced.json",))
        with open(own, "rb") as f:
            self.assertEqual(f.read(), self.repository[RESOURCES + "data/coalesced.json"])

    def test_ifMissingComplete(self) -> None:
        """
        With C{ifMissing} and complete data nothing is done and the source
        is not even opened.
        """
        self.install(self.checkout())
        result = self.install(os.path.join(self.base, "does-not-exist"), ifMissing=True)
        self.assertTrue(result.nothingToDo)
        self.assertIn("complete; nothing to do", result.describe())

    def test_ifMissingAddsOnlyWhatIsAbsent(self) -> None:
        """
        With C{ifMissing}, present files stay as they are (even if they
        differ), a C{coalesced.bin} counts as the coalesced, and only the
        absent files are added.
        """
        os.makedirs(self.dataDir)
        own = coalesced.serializeBinary(syntheticCoalesced("77"))
        with open(os.path.join(self.dataDir, "coalesced.bin"), "wb") as f:
            f.write(own)
        with open(os.path.join(self.dataDir, "en.tlk"), "wb") as f:
            f.write(syntheticTalkFile("mine"))
        result = self.install(self.checkout(), ifMissing=True)
        self.assertEqual(sorted(result.kept), ["coalesced.json", "en.tlk"])
        self.assertNotIn("coalesced.json", installedFiles(self.dataDir))
        with open(os.path.join(self.dataDir, "en.tlk"), "rb") as f:
            self.assertEqual(f.read(), syntheticTalkFile("mine"))
        self.assertEqual(result.missing, ())

    def test_ifMissingAndForce(self) -> None:
        """
        C{ifMissing} and C{force} together are refused.
        """
        self.assertIn("exclude each other",
                      self.refused(self.checkout(), ifMissing=True, force=True))

    def test_moveFailureUndone(self) -> None:
        """
        When moving a file into place fails (here C{public/content} is a
        file), the files already moved are taken back out: the data
        directory is as before.
        """
        os.makedirs(os.path.join(self.dataDir, "public"))
        with open(os.path.join(self.dataDir, "public", "content"), "wb") as f:
            f.write(b"in the way")
        message = self.refused(self.checkout())
        self.assertIn("nothing was changed", message)
        self.assertEqual(os.listdir(self.dataDir), ["public"])

    def test_dataDirectoryIsAFile(self) -> None:
        """
        A data directory path naming a file is refused.
        """
        with open(self.dataDir, "wb") as f:
            f.write(b"x")
        self.assertIn("not a directory", self.refused(self.checkout()))


@implementer(IFetcher)
class FakeFetcher:
    """
    Serves C{files} (URL to content) at once; a missing URL fails.

    @ivar fetched: the URLs asked for.
    """

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.fetched: list[str] = []

    def fetch(self, url: str, limit: int) -> defer.Deferred[bytes]:
        self.fetched.append(url)
        if url not in self.files:
            return defer.fail(FetchError(f"{url}: HTTP 404 Not Found"))
        return defer.succeed(self.files[url])


class PinnedDownloadTests(InstallTestCase):
    """
    Downloads checked against the pinned table, with an in-memory fetcher.
    """

    def setUp(self) -> None:
        super().setUp()
        self.pins = syntheticPins(self.repository)
        self.base_url = "https://mirror.example/PocketRelay/Server/abc/"
        self.fetcher = FakeFetcher(
            {self.base_url + path: data for path, data in self.repository.items()}
        )

    def test_fakeFetcher(self) -> None:
        """
        The fake provides L{IFetcher}, as L{AgentFetcher} does.
        """
        verifyObject(IFetcher, self.fetcher)
        verifyObject(IFetcher, AgentFetcher(None))

    def test_default(self) -> None:
        """
        Without a source the base URL is used; every pinned file is
        fetched once, checked and installed.
        """
        result = self.install(None, fetcher=self.fetcher, pins=self.pins,
                              baseUrl=self.base_url)
        self.assertInstalled(result)
        self.assertEqual(sorted(self.fetcher.fetched),
                         sorted(self.base_url + path for path in self.repository))
        self.assertTrue(all("SHA-256 and content checked" in line for line in self.progress))

    def test_secondRunFetchesNothing(self) -> None:
        """
        A file already installed with its pinned hash is not downloaded
        again.
        """
        self.install(None, fetcher=self.fetcher, pins=self.pins, baseUrl=self.base_url)
        self.fetcher.fetched.clear()
        again = self.install(None, fetcher=self.fetcher, pins=self.pins,
                             baseUrl=self.base_url)
        self.assertEqual(self.fetcher.fetched, [])
        self.assertEqual(sorted(again.unchanged), INSTALLED)

    def test_wrongHash(self) -> None:
        """
        A file whose SHA-256 is not the pinned one refuses everything,
        saying what was expected.
        """
        url = self.base_url + RESOURCES + "data/tlk/de.tlk"
        self.fetcher.files[url] = syntheticTalkFile("xx")
        message = self.refused(None, fetcher=self.fetcher, pins=self.pins,
                               baseUrl=self.base_url)
        self.assertIn(url, message)
        self.assertIn("expected", message)

    def test_fetchFailure(self) -> None:
        """
        A download that fails refuses everything.
        """
        del self.fetcher.files[self.base_url + RESOURCES + "data/dime.xml"]
        self.assertIn("404", self.refused(None, fetcher=self.fetcher, pins=self.pins,
                                          baseUrl=self.base_url))

    def test_needsFetcher(self) -> None:
        """
        A URL source without a fetcher is refused.
        """
        self.refused(self.base_url)

    def test_pinnedTable(self) -> None:
        """
        The built-in table pins the Rust server's 39 game-data files at one
        commit, each with a size and a SHA-256, and holds every file the
        server needs.
        """
        self.assertEqual(len(PINNED_FILES), 39)
        self.assertIn(gamedatainstall.PINNED_COMMIT, PINNED_BASE_URL)
        self.assertTrue(PINNED_BASE_URL.startswith("https://raw.githubusercontent.com/"))
        for pin in PINNED_FILES:
            self.assertRegex(pin.sha256, r"\A[0-9a-f]{64}\Z")
            self.assertTrue(pin.path.startswith(RESOURCES), pin)
            self.assertGreater(pin.size, 0)
        paths = {pin.path for pin in PINNED_FILES}
        for name in ("data/coalesced.json", "data/dime.xml", "data/entitlements.dmap",
                     "data/tlk/default.tlk"):
            self.assertIn(RESOURCES + name, paths)
        targets = sorted(item.target for item in gamedatainstall._resolve(
            gamedatainstall._PinnedTree(PINNED_FILES, "pinned")))
        self.assertEqual(len(targets), 39)
        self.assertEqual(sum(target.startswith("public/content/") for target in targets), 27)


class _Files(Resource):
    """
    Serves the synthetic repository under C{/repo/}; C{broken} paths are
    cut short after half their bytes; counts requests.
    """

    isLeaf = True

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__()
        self.files = files
        self.broken: set[str] = set()
        self.silent: set[str] = set()
        self.requests: list[str] = []

    def render_GET(self, request: Request) -> bytes | int:
        path = request.path.decode("ascii")
        self.requests.append(path)
        name = path.removeprefix("/repo/")
        if name not in self.files:
            request.setResponseCode(404)
            return b"not found"
        data = self.files[name]
        if name in self.silent:
            return NOT_DONE_YET
        if name in self.broken:
            request.setHeader(b"content-length", str(len(data)).encode("ascii"))
            request.write(data[: len(data) // 2])
            assert request.transport is not None
            request.transport.loseConnection()
            return NOT_DONE_YET
        return data


class LoopbackDownloadTests(TestCase):
    """
    Downloads with L{AgentFetcher} from a twisted.web site on 127.0.0.1.
    """

    def setUp(self) -> None:
        from twisted.internet import reactor

        self.reactor: Any = cast(Any, reactor)
        self.repository = syntheticRepository()
        self.pins = syntheticPins(self.repository)
        self.files = _Files(self.repository)
        site = Site(self.files)
        site.noisy = False
        port = self.reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.url = f"http://127.0.0.1:{port.getHost().port}/repo/"
        base = self.mktemp()
        os.makedirs(base)
        self.dataDir = os.path.join(base, "data")
        self.fetcher = AgentFetcher(reactor, timeout=5)
        self.addCleanup(self._closeConnections)

    def _closeConnections(self) -> defer.Deferred[None] | None:
        agent = self.fetcher._agent
        if agent is None:
            return None
        d: defer.Deferred[None] = agent._pool.closeCachedConnections()
        return d

    def install(self, **kwargs: Any) -> defer.Deferred[InstallResult]:
        return installGameData(self.dataDir, self.url, fetcher=self.fetcher, pins=self.pins,
                               **kwargs)

    async def assertRefused(self, fragment: str, **kwargs: Any) -> None:
        """
        The installation from the site fails with C{fragment} in its
        message and leaves no data directory.
        """
        with self.assertRaises(InstallError) as caught:
            await self.install(**kwargs)
        self.assertIn(fragment, str(caught.exception))
        self.assertFalse(os.path.exists(self.dataDir))

    @defer.inlineCallbacks
    def test_download(self) -> Any:
        """
        Every pinned file is downloaded from the base URL, checked and
        installed; a second run downloads nothing.
        """
        result = yield self.install()
        self.assertEqual(sorted(result.installed), INSTALLED)
        with open(os.path.join(self.dataDir, "coalesced.json"), "rb") as f:
            self.assertEqual(f.read(), self.repository[RESOURCES + "data/coalesced.json"])
        self.assertEqual(len(self.files.requests), len(INSTALLED))
        again = yield self.install()
        self.assertEqual(again.installed, ())
        self.assertEqual(len(self.files.requests), len(INSTALLED))

    def test_wrongHash(self) -> defer.Deferred[None]:
        """
        A served file that is not the pinned one is refused, nothing
        installed.
        """
        self.repository[RESOURCES + "data/dime.xml"] = b"<dime>changed</dime>"
        return defer.ensureDeferred(self.assertRefused("SHA-256"))

    def test_droppedConnection(self) -> defer.Deferred[None]:
        """
        A connection closed in the middle of a file is refused, saying how
        much arrived; nothing installed.
        """
        path = RESOURCES + "data/coalesced.json"
        self.files.broken.add(path)
        size = len(self.repository[path])
        return defer.ensureDeferred(
            self.assertRefused(f"closed after {size // 2} of {size} bytes")
        )

    def test_corruptFile(self) -> defer.Deferred[None]:
        """
        A file that matches its pinned hash but is corrupt is refused by
        the codec check; nothing installed.
        """
        path = RESOURCES + "data/tlk/it.tlk"
        self.repository[path] = b"Tlk\x00 corrupt"
        self.pins = syntheticPins(self.repository)
        return defer.ensureDeferred(self.assertRefused("it.tlk is not usable"))

    def test_httpError(self) -> defer.Deferred[None]:
        """
        An HTTP error status is refused, naming it.
        """
        self.pins = (*self.pins, PinnedFile(RESOURCES + "data/tlk/xx.tlk", 1, "0" * 64))
        del self.repository[RESOURCES + "data/dime.xml"]
        return defer.ensureDeferred(self.assertRefused("HTTP 404"))

    def test_timeout(self) -> defer.Deferred[None]:
        """
        A server that never sends the file is given up after the timeout.
        """
        self.fetcher = AgentFetcher(self.reactor, timeout=0.3)
        self.files.silent.add(RESOURCES + "data/coalesced.json")
        return defer.ensureDeferred(self.assertRefused("no answer within 0.3 s"))

    def test_unreachable(self) -> defer.Deferred[None]:
        """
        Nothing listening: refused at once, naming the URL.
        """
        self.url = "http://127.0.0.1:1/repo/"
        return defer.ensureDeferred(self.assertRefused("127.0.0.1:1"))


class StatusTests(InstallTestCase):
    """
    L{gameDataStatus}: what each config id gets.
    """

    def test_empty(self) -> None:
        """
        An empty data directory: every config id gets its built-in
        fallback and everything is missing.
        """
        lines, missing = gameDataStatus(self.dataDir)
        self.assertTrue(all(not line.ok for line in lines))
        self.assertTrue(all("built-in fallback" in line.description or
                            "holds no file" in line.description for line in lines))
        self.assertEqual(
            missing,
            ["coalesced.json", "default.tlk", "entitlements.dmap", "dime.xml",
             "public/content/"],
        )

    def test_installed(self) -> None:
        """
        After an installation every config id gets its file, with its size.
        """
        self.install(self.checkout())
        lines, missing = gameDataStatus(self.dataDir)
        self.assertEqual(missing, [])
        byWhat = {line.what: line for line in lines}
        self.assertTrue(all(line.ok for line in lines))
        size = len(self.repository[RESOURCES + "data/coalesced.json"])
        self.assertEqual(byWhat["ME3_BINI_PC_COMPRESSED"].description,
                         f"coalesced.json ({size} bytes)")
        self.assertIn("fr.tlk", byWhat["ME3_LIVE_TLK_PC_fr"].description)
        self.assertIn("default.tlk", byWhat["ME3_LIVE_TLK_PC_<other>"].description)
        self.assertEqual(byWhat["/content/"].description[:30],
                         "public/content/ (2 files, 168 ")

    def test_unusableAndBoth(self) -> None:
        """
        A corrupt file is reported unusable with the fallback the game
        gets; with both coalesced files, the JSON one is named as used.
        """
        self.install(self.checkout())
        with open(os.path.join(self.dataDir, "coalesced.bin"), "wb") as f:
            f.write(b"junk")
        with open(os.path.join(self.dataDir, "de.tlk"), "wb") as f:
            f.write(b"junk")
        byWhat = {line.what: line for line in gameDataStatus(self.dataDir)[0]}
        self.assertIn("coalesced.bin is ignored", byWhat["ME3_BINI_PC_COMPRESSED"].description)
        self.assertFalse(byWhat["ME3_LIVE_TLK_PC_de"].ok)
        self.assertIn("UNUSABLE", byWhat["ME3_LIVE_TLK_PC_de"].description)

    def test_pinnedNoted(self) -> None:
        """
        A file identical to the pinned version is said to be so.
        """
        os.makedirs(self.dataDir)
        data = b"<dime/>"
        self.patch(gamedatainstall, "PINNED_FILES",
                   (PinnedFile("x", len(data), hashlib.sha256(data).hexdigest()),))
        with open(os.path.join(self.dataDir, "dime.xml"), "wb") as f:
            f.write(data)
        byWhat = {line.what: line for line in gameDataStatus(self.dataDir)[0]}
        self.assertIn("as published at the pinned commit", byWhat["ME3_DIME"].description)


class ServerOnInstalledDataTests(InstallTestCase):
    """
    A server whose data directory was filled by the installer sends
    exactly the installed data.
    """

    def setUp(self) -> None:
        super().setUp()
        self.install(self.checkout())
        self.server = ServerHarness(FilePath(self.dataDir))
        self.connection = self.server.loggedIn("shepard@example.org")

    def fetch(self, configId: str) -> dict[str, str]:
        reply = self.connection.call(
            Component.UTIL,
            UtilCommand.FETCH_CLIENT_CONFIG,
            FetchClientConfigRequest(configId),
            FetchConfigResponse,
        )
        config: dict[str, str] = reply.config
        return config

    def test_coalesced(self) -> None:
        """
        The C{ME3_BINI_PC_COMPRESSED} chunk map decodes to exactly the
        installed coalesced model.
        """
        raw = decompressCoalesced(unchunk(self.fetch("ME3_BINI_PC_COMPRESSED")))
        self.assertEqual(coalesced.parseBinary(raw),
                         coalesced.canonical(syntheticCoalesced()))

    def test_talkFiles(self) -> None:
        """
        Each language's chunk map is its installed talk file, byte for
        byte; other languages get C{default.tlk}.
        """
        for language in TALK_FILE_LANGUAGES:
            self.assertEqual(unchunk(self.fetch(f"ME3_LIVE_TLK_PC_{language}")),
                             syntheticTalkFile(language))
        self.assertEqual(unchunk(self.fetch("ME3_LIVE_TLK_PC_xx")), syntheticTalkFile("en"))

    def test_tables(self) -> None:
        """
        C{ME3_ENT} is the installed table and C{ME3_DIME} the installed
        store configuration; no warning was logged.
        """
        events = captureLogs(self)
        table = self.repository[RESOURCES + "data/entitlements.dmap"].decode()
        self.assertEqual(self.fetch("ME3_ENT"), parseEntitlements(table))
        self.assertEqual(self.fetch("ME3_DIME"),
                         {"Config": self.repository[RESOURCES + "data/dime.xml"].decode()})
        self.assertEqual(warningTexts(events), [])

    def test_nothingMissing(self) -> None:
        """
        The server finds nothing missing and logs no start-up warning.
        """
        events = captureLogs(self)
        self.assertEqual(GameData(FilePath(self.dataDir)).logMissing(), [])
        self.assertEqual(len(events), 0)


class FetchBenchmarkTests(SynchronousTestCase):
    """
    The fetch-cost figure of L{benchmarks.gamedata}.
    """

    def test_fetchCost(self) -> None:
        """
        L{benchmarks.gamedata.fetchCost} measures a whole reply of the
        compiled sample coalesced at the server.
        """
        from benchmarks.gamedata import fetchCost

        first, cached, size = fetchCost(1)
        self.assertGreater(first, 0)
        self.assertGreater(cached, 0)
        self.assertGreater(size, 100_000)


@implementer(IFetcher)
class _Pending:
    """
    A fetcher whose downloads wait until the test answers them; records
    the cancelled ones.
    """

    def __init__(self) -> None:
        self.waiting: list[tuple[str, defer.Deferred[bytes]]] = []
        self.cancelled: list[str] = []

    def fetch(self, url: str, limit: int) -> defer.Deferred[bytes]:
        def cancel(d: defer.Deferred[bytes]) -> None:
            self.cancelled.append(url)
            d.errback(FetchError(f"{url}: cancelled"))

        d: defer.Deferred[bytes] = defer.Deferred(cancel)
        self.waiting.append((url, d))
        return d


class AnswerDeadlineTests(SynchronousTestCase):
    """
    L{AnswerDeadline}: a source that delivers no file in time is given up.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.inner = _Pending()
        self.fetcher = AnswerDeadline(self.inner, self.clock, 6)

    def test_interface(self) -> None:
        """
        It provides L{IFetcher}.
        """
        verifyObject(IFetcher, self.fetcher)

    def test_noAnswer(self) -> None:
        """
        A first download still waiting when the deadline passes fails with
        a L{FetchError} naming the URL and the deadline, and is cancelled;
        a later download fails at once.
        """
        d = self.fetcher.fetch("http://x/a", 10)
        self.clock.advance(5.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        failure = self.failureResultOf(d, FetchError)
        self.assertEqual(str(failure.value), "http://x/a: no answer within 6 s")
        self.assertEqual(self.inner.cancelled, ["http://x/a"])
        later = self.failureResultOf(self.fetcher.fetch("http://x/b", 10), FetchError)
        self.assertIn("no answer within 6 s", str(later.value))
        self.assertEqual(len(self.inner.waiting), 1)

    def test_answered(self) -> None:
        """
        Once a file arrived, later downloads are not bounded by the deadline
        (the wrapped fetcher's own timeout applies), and failures pass
        through unchanged.
        """
        first = self.fetcher.fetch("http://x/a", 10)
        self.inner.waiting[0][1].callback(b"data")
        self.assertEqual(self.successResultOf(first), b"data")
        second = self.fetcher.fetch("http://x/b", 10)
        self.clock.advance(60)
        self.assertNoResult(second)
        self.inner.waiting[1][1].errback(FetchError("http://x/b: HTTP 404"))
        self.assertEqual(str(self.failureResultOf(second, FetchError).value),
                         "http://x/b: HTTP 404")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_failureBeforeDeadline(self) -> None:
        """
        A first download that fails before the deadline fails with its own
        error; the deadline still bounds the next one.
        """
        first = self.fetcher.fetch("http://x/a", 10)
        self.inner.waiting[0][1].errback(FetchError("http://x/a: refused"))
        self.assertEqual(str(self.failureResultOf(first, FetchError).value),
                         "http://x/a: refused")
        second = self.fetcher.fetch("http://x/b", 10)
        self.clock.advance(6)
        self.assertIn("no answer within 6 s", str(self.failureResultOf(second).value))
