# -*- test-case-name: tests.test_gamedata -*-
"""
Tests for L{pocketrelay.server.gamedata}.
"""

from __future__ import annotations

import collections
import os
from typing import IO, Any

from twisted.logger import LogLevel, formatEvent
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.me3 import clientconfig
from pocketrelay.me3.chunking import compressCoalesced, decompressCoalesced, unchunk
from pocketrelay.me3.clientconfig import (
    DEFAULT_MENU_MESSAGE,
    TALK_FILE_LANGUAGES,
    ConfigContext,
    MenuMessage,
    binVersion,
    blazeSdkConfig,
    entitlementsTable,
    meData,
    meDime,
    meMessages,
)
from pocketrelay.me3.coalesced import (
    MAX_BINARY_SIZE,
    MAX_JSON_SIZE,
    canonical,
    parseBinary,
    serializeBinary,
    serializeJson,
)
from pocketrelay.me3.tlk import MAX_TLK_SIZE
from pocketrelay.server import gamedata
from pocketrelay.server.gamedata import GameData, LegalDocument
from pocketrelay.testing.gamedata import syntheticCoalesced, syntheticTalkFile
from pocketrelay.testing.logs import captureLogs

#: A valid binary coalesced (synthetic).
RAW = serializeBinary(syntheticCoalesced())


def talk(text: str) -> bytes:
    """
    A valid talk file (synthetic) whose strings hold C{text}.
    """
    return syntheticTalkFile(text)


class CountingFilePath(FilePath[str]):
    """
    A L{FilePath} that counts how often each file name is opened and fails
    to open the names in C{failing}; its children share both.
    """

    def __init__(
        self,
        path: str,
        alwaysCreate: bool = False,
        opens: collections.Counter[str] | None = None,
        failing: set[str] | None = None,
    ) -> None:
        super().__init__(path, alwaysCreate)
        self.opens: collections.Counter[str] = (
            opens if opens is not None else collections.Counter()
        )
        self.failing: set[str] = failing if failing is not None else set()

    def clonePath(self, path: Any, alwaysCreate: bool = False) -> Any:
        return CountingFilePath(path, alwaysCreate, self.opens, self.failing)

    def open(self, mode: Any = "r") -> IO[bytes]:
        self.opens[self.basename()] += 1
        if self.basename() in self.failing:
            raise PermissionError(13, "Permission denied", self.path)
        return super().open(mode)


class GameDataTestCase(SynchronousTestCase):
    """
    A data directory, a L{GameData} on it and a log observer.
    """

    def setUp(self) -> None:
        self.root = FilePath(self.mktemp())
        self.root.makedirs()
        self.dataDir = CountingFilePath(self.root.child("data").path)
        self.dataDir.makedirs()
        self.context = ConfigContext(serverVersion="1.2.3")
        self.gameData = GameData(self.dataDir, self.context)
        self.events = captureLogs(self)

    def write(
        self, name: str, content: bytes, mtime: float | None = None
    ) -> FilePath[str]:
        path = FilePath(self.dataDir.child(name).path)
        path.setContent(content)
        if mtime is not None:
            os.utime(path.path, (mtime, mtime))
        return path

    def levels(self, level: LogLevel) -> list[dict[str, Any]]:
        return [e for e in self.events if e["log_level"] is level]


class BuiltinTests(GameDataTestCase):
    """
    Without operator files every config id has built-in content.
    """

    def test_pureConfigs(self) -> None:
        """
        C{ME3_DATA}, C{ME3_MSG}, C{ME3_BINI_VERSION} and C{BlazeSDK} are
        built from the context.
        """
        self.assertEqual(self.gameData.clientConfig("ME3_DATA"), meData(self.context))
        self.assertEqual(
            self.gameData.clientConfig("ME3_MSG"), meMessages(self.context)
        )
        self.assertIn("1.2.3", self.gameData.clientConfig("ME3_MSG")["MSG_1_message"])
        self.assertEqual(self.gameData.clientConfig("ME3_BINI_VERSION"), binVersion())
        self.assertEqual(self.gameData.clientConfig("BlazeSDK"), blazeSdkConfig())
        self.assertEqual(self.gameData.blazeSdkConfig(), blazeSdkConfig())

    def test_customMessages(self) -> None:
        """
        Messages given to L{GameData} replace the welcome message; an empty
        list sends none.
        """
        custom = GameData(self.dataDir, self.context, messages=[MenuMessage("hi")])
        self.assertEqual(custom.clientConfig("ME3_MSG")["MSG_1_message"], "hi")
        none = GameData(self.dataDir, self.context, messages=[])
        self.assertEqual(none.clientConfig("ME3_MSG"), {})

    def test_fileBackedFallbacks(self) -> None:
        """
        Without files: the minimal entitlement table, the built-in store
        document, and empty maps for the coalesced and every talk file.
        """
        self.assertEqual(self.gameData.clientConfig("ME3_ENT"), entitlementsTable())
        self.assertEqual(self.gameData.clientConfig("ME3_DIME"), meDime())
        self.assertEqual(self.gameData.clientConfig("ME3_BINI_PC_COMPRESSED"), {})
        for language in TALK_FILE_LANGUAGES:
            self.assertEqual(
                self.gameData.clientConfig("ME3_LIVE_TLK_PC_" + language), {}
            )

    def test_absentLoggedOnce(self) -> None:
        """
        A missing file is reported in one info line, not on every request.
        """
        for _ in range(3):
            self.gameData.clientConfig("ME3_ENT")
        lines = [e for e in self.levels(LogLevel.info) if "entitlements.dmap" in str(e)]
        self.assertEqual(len(lines), 1)
        self.assertIn("minimal built-in entitlement table", lines[0]["fallback"])

    def test_missingDataDirectory(self) -> None:
        """
        A data directory that does not exist gives the built-in content.
        """
        gameData = GameData(self.root.child("nowhere"), self.context)
        self.assertEqual(gameData.clientConfig("ME3_ENT"), entitlementsTable())
        self.assertEqual(gameData.clientConfig("ME3_LIVE_TLK_PC_en"), {})
        self.assertIn("pocketrelay 1.2.3", gameData.termsOfService())

    def test_unknownId(self) -> None:
        """
        An unknown config id gives an empty map.
        """
        for configId in ["", "ME3_NOPE", "me3_data", "ME3_DATA ", "\x00"]:
            self.assertEqual(self.gameData.clientConfig(configId), {}, configId)

    def test_fresh(self) -> None:
        """
        Each call returns a new dictionary: changing one does not change
        what later callers get.
        """
        first = self.gameData.clientConfig("ME3_DATA")
        first["GAW_SERVER_BASE_URL"] = "changed"
        first.clear()
        self.assertEqual(self.gameData.clientConfig("ME3_DATA"), meData(self.context))

    def test_legalDefaults(self) -> None:
        """
        The built-in legal documents are HTML naming the server software and
        its version.
        """
        for text in (self.gameData.termsOfService(), self.gameData.privacyPolicy()):
            self.assertTrue(text.startswith("<html>"))
            self.assertIn("pocketrelay 1.2.3", text)
        self.assertIn("Terms of Service", self.gameData.termsOfService())
        self.assertIn("Privacy Policy", self.gameData.privacyPolicy())

    def test_legalDocPath(self) -> None:
        """
        The document path is the file name in the data directory.
        """
        self.assertEqual(
            self.gameData.legalDocPath(LegalDocument.TERMS_OF_SERVICE),
            "terms_of_service.html",
        )
        self.assertEqual(
            self.gameData.legalDocPath(LegalDocument.PRIVACY_POLICY),
            "privacy_policy.html",
        )

    def test_menuMessage(self) -> None:
        """
        The menu message fills the template with the server version and the
        player's name.
        """
        self.assertEqual(
            self.gameData.menuMessage("Shepard"),
            clientconfig.formatMenuMessage(DEFAULT_MENU_MESSAGE, "1.2.3", "Shepard"),
        )
        custom = GameData(self.dataDir, self.context, menuTemplate="v{v} {n}")
        self.assertEqual(custom.menuMessage("Wrex"), "v1.2.3 Wrex\n")


class OperatorFileTests(GameDataTestCase):
    """
    Files in the data directory replace the built-in content.
    """

    def test_rawCoalesced(self) -> None:
        """
        A raw C{coalesced.bin} is compressed into an C{NIBC} container and
        chunked.
        """
        raw = RAW
        self.write("coalesced.bin", raw)
        blob = unchunk(self.gameData.clientConfig("ME3_BINI_PC_COMPRESSED"))
        self.assertEqual(decompressCoalesced(blob), raw)
        self.assertEqual(len(self.levels(LogLevel.warn)), 0)

    def test_compressedCoalesced(self) -> None:
        """
        A C{coalesced.bin} that is already an C{NIBC} container is sent as
        it is.
        """
        blob = compressCoalesced(RAW)
        self.write("coalesced.bin", blob)
        self.assertEqual(
            unchunk(self.gameData.clientConfig("ME3_BINI_PC_COMPRESSED")), blob
        )

    def test_coalescedJson(self) -> None:
        """
        A C{coalesced.json} is compiled: the map decodes to its model.
        """
        self.write("coalesced.json", serializeJson(syntheticCoalesced()))
        blob = unchunk(self.gameData.clientConfig("ME3_BINI_PC_COMPRESSED"))
        self.assertEqual(
            parseBinary(decompressCoalesced(blob)), canonical(syntheticCoalesced())
        )
        self.assertEqual(len(self.levels(LogLevel.warn)), 0)

    def test_coalescedJsonWins(self) -> None:
        """
        With both coalesced files, C{coalesced.json} is used and one info
        line says so (once).
        """
        self.write("coalesced.json", serializeJson(syntheticCoalesced("json")))
        self.write("coalesced.bin", serializeBinary(syntheticCoalesced("binary")))
        for _ in range(3):
            blob = unchunk(self.gameData.clientConfig("ME3_BINI_PC_COMPRESSED"))
        self.assertEqual(
            parseBinary(decompressCoalesced(blob)), canonical(syntheticCoalesced("json"))
        )
        said = [e for e in self.levels(LogLevel.info) if "binary" in e and "json" in e]
        self.assertEqual(len(said), 1)
        self.assertIn("using {json}", said[0]["log_format"])

    def test_talkFiles(self) -> None:
        """
        C{<lang>.tlk} is sent for its language; C{default.tlk} for a
        language without its own file and for unknown languages.
        """
        self.write("en.tlk", talk("english talk"))
        self.write("default.tlk", talk("default talk"))
        self.assertEqual(
            unchunk(self.gameData.clientConfig("ME3_LIVE_TLK_PC_en")), talk("english talk")
        )
        self.assertEqual(
            unchunk(self.gameData.clientConfig("ME3_LIVE_TLK_PC_EN")), talk("english talk")
        )
        self.assertEqual(
            unchunk(self.gameData.clientConfig("ME3_LIVE_TLK_PC_de")), talk("default talk")
        )
        self.assertEqual(
            unchunk(self.gameData.clientConfig("ME3_LIVE_TLK_PC_xx")), talk("default talk")
        )

    def test_entitlements(self) -> None:
        """
        C{entitlements.dmap} is sent as C{ME3_ENT}.
        """
        self.write(
            "entitlements.dmap",
            b"\xef\xbb\xbfCERBERUS_OFFER_ID=101\nENT_1_param=MP_DLC=TRUE\n",
        )
        self.assertEqual(
            self.gameData.clientConfig("ME3_ENT"),
            {"CERBERUS_OFFER_ID": "101", "ENT_1_param": "MP_DLC=TRUE"},
        )

    def test_entitlementsOfTheRustServersShape(self) -> None:
        """
        A table shaped like the Rust server's C{entitlements.dmap} (109
        entitlements over indexes 1 to 114, five of them group-only rows;
        values holding C{=}, C{&} and C{:}; one C{ENT_ENC} line of 30,350
        characters) is sent whole, in the file's order.
        """
        lines = ["CERBERUS_OFFER_ID=101"]
        for index in sorted(range(1, 115), key=str):
            prefix = f"ENT_{index}_"
            if index <= 5:
                lines.append(prefix + "group=GROUP")
                continue
            lines += [
                f"{prefix}entitlement=SYNTHETIC_TAG:{index}",
                prefix + "group=GROUP",
                f"{prefix}ID={index * 1000}",
            ]
            if index % 10 == 0:
                lines.append(f"{prefix}param=MP_DLC=TRUE&stringref={index}&Maps=a&Maps=b")
        encoded = ";".join(f"{n:012X}" for n in range(2335))[:30350]
        lines += ["ENT_ENC=" + encoded, "STORE_CATALOG_ID=1"]
        self.write("entitlements.dmap", "\n".join(lines).encode("ascii"))
        sent = self.gameData.clientConfig("ME3_ENT")
        self.assertEqual(list(sent), [line.partition("=")[0] for line in lines])
        self.assertEqual(len([key for key in sent if key.endswith("_entitlement")]), 109)
        self.assertEqual(sent["ENT_ENC"], encoded)
        self.assertEqual(len(sent["ENT_ENC"]), 30350)
        self.assertEqual(sent["ENT_10_param"], "MP_DLC=TRUE&stringref=10&Maps=a&Maps=b")

    def test_store(self) -> None:
        """
        C{dime.xml} is sent under C{Config}.
        """
        xml = "<?xml version='1.0'?>\n<dime><fileVersion>2</fileVersion></dime>\n"
        self.write("dime.xml", xml.encode("utf-8"))
        self.assertEqual(self.gameData.clientConfig("ME3_DIME"), {"Config": xml})

    def test_legalDocuments(self) -> None:
        """
        C{terms_of_service.html} and C{privacy_policy.html} replace the
        built-in pages.
        """
        self.write("terms_of_service.html", "<p>Be nice ✓</p>".encode())
        self.write("privacy_policy.html", b"<p>We keep nothing</p>")
        self.assertEqual(self.gameData.termsOfService(), "<p>Be nice ✓</p>")
        self.assertEqual(self.gameData.privacyPolicy(), "<p>We keep nothing</p>")


class CachingTests(GameDataTestCase):
    """
    Results are computed once; files are read once per change.
    """

    def test_readOnce(self) -> None:
        """
        Repeated requests read each file once.
        """
        self.write("coalesced.bin", RAW)
        self.write("en.tlk", talk("talk"))
        self.write("entitlements.dmap", b"A=1\n")
        self.write("terms_of_service.html", b"<p>t</p>")
        for _ in range(5):
            self.gameData.clientConfig("ME3_BINI_PC_COMPRESSED")
            self.gameData.clientConfig("ME3_LIVE_TLK_PC_en")
            self.gameData.clientConfig("ME3_ENT")
            self.gameData.termsOfService()
        self.assertEqual(
            dict(self.dataDir.opens),
            {
                "coalesced.bin": 1,
                "en.tlk": 1,
                "entitlements.dmap": 1,
                "terms_of_service.html": 1,
            },
        )

    def test_computedOnce(self) -> None:
        """
        The compressed coalesced is built once, not per request.
        """
        calls = []
        original = gamedata.coalescedConfig

        def counting(data: bytes) -> dict[str, str]:
            calls.append(data)
            return original(data)

        self.patch(gamedata, "coalescedConfig", counting)
        self.write("coalesced.bin", RAW)
        for _ in range(3):
            self.gameData.clientConfig("ME3_BINI_PC_COMPRESSED")
        self.assertEqual(len(calls), 1)

    def test_changedFilePickedUp(self) -> None:
        """
        A file whose modification time or size changed is read again on the
        next request.
        """
        self.write("en.tlk", talk("first"), mtime=1_000_000)
        self.assertEqual(
            unchunk(self.gameData.clientConfig("ME3_LIVE_TLK_PC_en")), talk("first")
        )
        self.write("en.tlk", talk("other"), mtime=1_000_100)
        self.assertEqual(
            unchunk(self.gameData.clientConfig("ME3_LIVE_TLK_PC_en")), talk("other")
        )
        self.write("en.tlk", talk("longer text"), mtime=1_000_100)
        self.assertEqual(
            unchunk(self.gameData.clientConfig("ME3_LIVE_TLK_PC_en")), talk("longer text")
        )
        self.assertEqual(self.dataDir.opens["en.tlk"], 3)

    def test_addedAndRemoved(self) -> None:
        """
        A file added after the first request is used from the next request
        on; removing it brings back the fallback.
        """
        self.assertEqual(self.gameData.clientConfig("ME3_LIVE_TLK_PC_fr"), {})
        self.write("fr.tlk", talk("french"))
        self.assertEqual(
            unchunk(self.gameData.clientConfig("ME3_LIVE_TLK_PC_fr")), talk("french")
        )
        self.dataDir.child("fr.tlk").remove()
        self.assertEqual(self.gameData.clientConfig("ME3_LIVE_TLK_PC_fr"), {})


class FileErrorTests(GameDataTestCase):
    """
    Unusable files give one log line and the built-in content, never an
    exception.
    """

    def assertOneWarning(self, fragment: str) -> None:
        warnings = self.levels(LogLevel.warn)
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn(fragment, warnings[0]["reason"])

    def test_corruptCompressedCoalesced(self) -> None:
        """
        A C{coalesced.bin} that starts with C{NIBC} but is corrupt is not
        sent; the warning names the problem, once, and the file is not read
        again until it changes.
        """
        self.write("coalesced.bin", b"NIBC\x01\x00\x00\x00" + b"\xff" * 30)
        for _ in range(3):
            self.assertEqual(self.gameData.clientConfig("ME3_BINI_PC_COMPRESSED"), {})
        self.assertOneWarning("compressed coalesced")
        self.assertEqual(self.dataDir.opens["coalesced.bin"], 1)

    def test_tooLarge(self) -> None:
        """
        A file above the size limit is refused without reading it.
        """
        gameData = GameData(self.dataDir, self.context, maxFileSize=10)
        self.write("en.tlk", b"x" * 11)
        self.assertEqual(gameData.clientConfig("ME3_LIVE_TLK_PC_en"), {})
        self.assertOneWarning("more than the limit of 10")
        self.assertEqual(self.dataDir.opens["en.tlk"], 0)

    def test_defaultLimit(self) -> None:
        """
        The limits come from the codecs: C{coalesced.json} at most
        L{MAX_JSON_SIZE} (32 MiB), C{coalesced.bin} at most
        L{MAX_BINARY_SIZE} (16 MiB), talk files at most L{MAX_TLK_SIZE}
        (16 MiB); L{gamedata.MAX_FILE_SIZE} is the largest of them.
        """
        self.assertEqual(gamedata.fileSizeLimit("coalesced.json"), MAX_JSON_SIZE)
        self.assertEqual(gamedata.fileSizeLimit("coalesced.bin"), MAX_BINARY_SIZE)
        self.assertEqual(gamedata.fileSizeLimit("en.tlk"), MAX_TLK_SIZE)
        self.assertEqual(gamedata.fileSizeLimit("default.tlk"), MAX_TLK_SIZE)
        self.assertEqual(gamedata.fileSizeLimit("dime.xml"), gamedata.MAX_TEXT_FILE_SIZE)
        self.assertEqual(gamedata.MAX_FILE_SIZE, 32 * 1024 * 1024)
        self.assertEqual(self.gameData.maxFileSize, gamedata.MAX_FILE_SIZE)

    def test_codecLimitApplied(self) -> None:
        """
        A talk file above the codec's limit is refused by the server without
        being read, though below L{GameData.maxFileSize}.
        """
        self.write("en.tlk", b"")
        os.truncate(self.dataDir.child("en.tlk").path, MAX_TLK_SIZE + 1)
        self.assertEqual(self.gameData.clientConfig("ME3_LIVE_TLK_PC_en"), {})
        self.assertOneWarning(f"more than the limit of {MAX_TLK_SIZE}")
        self.assertEqual(self.dataDir.opens["en.tlk"], 0)

    def test_emptyFile(self) -> None:
        """
        An empty talk file is not sent.
        """
        self.write("en.tlk", b"")
        self.assertEqual(self.gameData.clientConfig("ME3_LIVE_TLK_PC_en"), {})
        self.assertOneWarning("empty")

    def test_badEntitlements(self) -> None:
        """
        A malformed entitlement table gives the built-in one.
        """
        self.write("entitlements.dmap", b"A=1\nbroken line\n")
        self.assertEqual(self.gameData.clientConfig("ME3_ENT"), entitlementsTable())
        self.assertOneWarning("line 2")

    def test_badStoreXml(self) -> None:
        """
        A store document that is not well-formed XML gives the built-in one.
        """
        self.write("dime.xml", b"<dime><unclosed></dime>")
        self.assertEqual(self.gameData.clientConfig("ME3_DIME"), meDime())
        self.assertOneWarning("not well-formed XML")

    def test_badUtf8(self) -> None:
        """
        A legal document that is not UTF-8 gives the built-in page.
        """
        self.write("privacy_policy.html", b"\xff\xfe<p>x</p>")
        self.assertIn("Privacy Policy", self.gameData.privacyPolicy())
        self.assertOneWarning("utf-8")

    def test_directory(self) -> None:
        """
        A directory where a file is expected is not used.
        """
        self.dataDir.child("en.tlk").makedirs()
        self.assertEqual(self.gameData.clientConfig("ME3_LIVE_TLK_PC_en"), {})
        self.assertOneWarning("not a regular file")

    def test_unreadable(self) -> None:
        """
        A file that cannot be opened gives the fallback and a warning with
        the operating system's reason.
        """
        self.write("ru.tlk", b"russian")
        self.dataDir.failing.add("ru.tlk")
        self.assertEqual(self.gameData.clientConfig("ME3_LIVE_TLK_PC_ru"), {})
        self.assertOneWarning("Permission denied")

    def test_unexpectedError(self) -> None:
        """
        An unexpected exception while building is logged as a failure and
        the fallback is sent.
        """

        def broken(data: bytes) -> dict[str, str]:
            raise RuntimeError("bug")

        self.patch(gamedata, "coalescedConfig", broken)
        self.write("coalesced.bin", RAW)
        self.assertEqual(self.gameData.clientConfig("ME3_BINI_PC_COMPRESSED"), {})
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual(len(self.levels(LogLevel.critical)), 1)


class ValidationTests(GameDataTestCase):
    """
    Coalesced and talk files are checked with the codecs; a file that
    fails gives one warning and the last good content, else the fallback.
    """

    def assertOneWarning(self, fragment: str) -> None:
        warnings = self.levels(LogLevel.warn)
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn(fragment, warnings[0]["reason"])

    def test_corruptTalkFile(self) -> None:
        """
        A talk file the codec refuses is not sent.
        """
        self.write("de.tlk", b"Tlk\x00" + b"\x03" * 40)
        self.assertEqual(self.gameData.clientConfig("ME3_LIVE_TLK_PC_de"), {})
        self.assertEqual(len(self.levels(LogLevel.warn)), 1)

    def test_corruptRawCoalesced(self) -> None:
        """
        A raw C{coalesced.bin} that is no coalesced (or an C{NIBC} holding
        one) is not sent.
        """
        self.write("coalesced.bin", b"mrmf" + b"\x00" * 60)
        self.assertEqual(self.gameData.clientConfig("ME3_BINI_PC_COMPRESSED"), {})
        self.assertEqual(len(self.levels(LogLevel.warn)), 1)
        self.write("coalesced.bin", compressCoalesced(b"not a coalesced" * 10))
        self.assertEqual(self.gameData.clientConfig("ME3_BINI_PC_COMPRESSED"), {})
        self.assertEqual(len(self.levels(LogLevel.warn)), 2)

    def test_corruptJson(self) -> None:
        """
        A C{coalesced.json} that does not parse gives an empty map and one
        warning naming the file.
        """
        self.write("coalesced.json", b'{"version": 1, "files": 3}')
        for _ in range(2):
            self.assertEqual(self.gameData.clientConfig("ME3_BINI_PC_COMPRESSED"), {})
        warnings = self.levels(LogLevel.warn)
        self.assertEqual(len(warnings), 1)
        self.assertIn("coalesced.json", warnings[0]["path"])

    def test_lastGoodContent(self) -> None:
        """
        A file replaced by a corrupt one: the game keeps getting the last
        good content, with one warning; a good file again is used.
        """
        self.write("coalesced.json", serializeJson(syntheticCoalesced()), mtime=1_000_000)
        good = self.gameData.clientConfig("ME3_BINI_PC_COMPRESSED")
        self.write("coalesced.json", b"{broken", mtime=1_000_100)
        for _ in range(2):
            self.assertEqual(self.gameData.clientConfig("ME3_BINI_PC_COMPRESSED"), good)
        warnings = self.levels(LogLevel.warn)
        self.assertEqual(len(warnings), 1)
        self.assertEqual(warnings[0]["fallback"], "the last good content")
        self.write("en.tlk", talk("one"), mtime=1_000_000)
        self.assertEqual(unchunk(self.gameData.clientConfig("ME3_LIVE_TLK_PC_en")), talk("one"))
        self.write("en.tlk", b"junk", mtime=1_000_100)
        self.assertEqual(unchunk(self.gameData.clientConfig("ME3_LIVE_TLK_PC_en")), talk("one"))
        self.write("en.tlk", talk("two"), mtime=1_000_200)
        self.assertEqual(unchunk(self.gameData.clientConfig("ME3_LIVE_TLK_PC_en")), talk("two"))

    def test_removedAfterGood(self) -> None:
        """
        A file removed after it was used brings back the fallback, not the
        last good content.
        """
        self.write("entitlements.dmap", b"A=1\n")
        self.assertEqual(self.gameData.clientConfig("ME3_ENT"), {"A": "1"})
        self.dataDir.child("entitlements.dmap").remove()
        self.assertEqual(self.gameData.clientConfig("ME3_ENT"), entitlementsTable())

    def test_checkGameDataFile(self) -> None:
        """
        L{gamedata.checkGameDataFile} refuses what the server refuses and
        accepts valid files.
        """
        check = gamedata.checkGameDataFile
        check("coalesced.json", serializeJson(syntheticCoalesced()))
        check("coalesced.bin", RAW)
        check("coalesced.bin", compressCoalesced(RAW))
        check("fr.tlk", talk("fr"))
        check("entitlements.dmap", b"A=1\n")
        check("dime.xml", b"<dime/>")
        for name, data in (("coalesced.json", b"[]"), ("coalesced.bin", b"junk"),
                           ("default.tlk", b"junk"), ("entitlements.dmap", b"junk"),
                           ("dime.xml", b"<a>"), ("en.tlk", b"")):
            self.assertRaises(ValueError, check, name, data)


class MissingTests(GameDataTestCase):
    """
    What a complete installation lacks, and the start-up warning.
    """

    def complete(self) -> None:
        self.write("coalesced.bin", RAW)
        self.write("default.tlk", talk("x"))
        self.write("entitlements.dmap", b"A=1\n")
        self.write("dime.xml", b"<dime/>")
        content = self.dataDir.descendant(["public", "content", "Banners"])
        content.makedirs()
        content.child("a.dds").setContent(b"DDS ")

    def test_empty(self) -> None:
        """
        An empty data directory lacks everything; the start-up line names
        it all and the command that installs it, once.
        """
        expected = ["coalesced.json", "default.tlk", "entitlements.dmap", "dime.xml",
                    "public/content/"]
        self.assertEqual(self.gameData.missing(), expected)
        self.assertEqual(self.gameData.logMissing(), expected)
        warnings = self.levels(LogLevel.warn)
        self.assertEqual(len(warnings), 1)
        text = formatEvent(warnings[0])
        self.assertIn("coalesced.json, default.tlk, entitlements.dmap", text)
        self.assertIn("pocketrelay-admin game-data install --data-dir " + self.dataDir.path,
                      text)

    def test_complete(self) -> None:
        """
        With a coalesced (either file), C{default.tlk}, the tables and an
        image, nothing is missing and nothing is logged.
        """
        self.complete()
        self.assertEqual(self.gameData.logMissing(), [])
        self.assertEqual(len(self.events), 0)

    def test_emptyContent(self) -> None:
        """
        A C{public/content/} folder without files counts as missing.
        """
        self.complete()
        self.dataDir.descendant(["public", "content", "Banners", "a.dds"]).remove()
        self.assertEqual(self.gameData.missing(), ["public/content/"])

    def test_unusable(self) -> None:
        """
        Files that exist but cannot be used (a corrupt C{coalesced.json}, a
        corrupt C{<lang>.tlk}, a malformed C{dime.xml}) are named by
        L{GameData.unusable} with the codec's reason; nothing is missing,
        and a usable file is not named.
        """
        self.complete()
        self.write("coalesced.json", b"{not json")
        self.write("de.tlk", b"not a talk file")
        self.write("dime.xml", b"<dime>")
        self.assertEqual(self.gameData.missing(), [])
        unusable = self.gameData.unusable()
        self.assertEqual([u.file for u in unusable], ["coalesced.json", "de.tlk", "dime.xml"])
        self.assertTrue(all(u.reason for u in unusable))
        self.assertIn("XML", unusable[2].reason)

    def test_unusableWarnedAtStart(self) -> None:
        """
        The start-up check logs one warn line naming each unusable file
        with its reason and the command that replaces it.
        """
        self.complete()
        self.write("default.tlk", b"not a talk file")
        self.assertEqual(self.gameData.logMissing(), [])
        warnings = self.levels(LogLevel.warn)
        self.assertEqual(len(warnings), 1)
        text = formatEvent(warnings[0])
        self.assertIn("Game data unusable", text)
        self.assertIn("default.tlk (", text)
        self.assertIn("pocketrelay-admin game-data install --force --data-dir "
                      + self.dataDir.path, text)

    def test_unusableCached(self) -> None:
        """
        Each file is read for the check once per change of its modification
        time or size, not on every call.
        """
        self.complete()
        self.write("default.tlk", b"not a talk file", mtime=1000)
        for _ in range(3):
            self.assertEqual([u.file for u in self.gameData.unusable()], ["default.tlk"])
        self.assertEqual(self.dataDir.opens["default.tlk"], 1)
        self.assertEqual(self.dataDir.opens["coalesced.bin"], 1)
        self.write("default.tlk", talk("x"), mtime=2000)
        self.assertEqual(self.gameData.unusable(), [])
        self.assertEqual(self.dataDir.opens["default.tlk"], 2)

    def test_unusableTooLarge(self) -> None:
        """
        A file above its codec's size limit is unusable, refused without
        reading it.
        """
        gameData = GameData(self.dataDir, self.context, maxFileSize=10)
        self.write("default.tlk", b"x" * 11)
        self.assertEqual([(u.file, u.reason) for u in gameData.unusable()],
                         [("default.tlk", "11 bytes, more than the limit of 10")])


class TraversalTests(GameDataTestCase):
    """
    Config ids never name files outside the data directory.
    """

    def test_talkFileTraversal(self) -> None:
        """
        A talk-file id with a path in place of the language reads only
        C{default.tlk}, never the file the path points at.
        """
        self.root.child("secret.tlk").setContent(b"secret")
        self.root.child("x.tlk").setContent(b"secret")
        for configId in [
            "ME3_LIVE_TLK_PC_../secret",
            "ME3_LIVE_TLK_PC_../../x",
            "ME3_LIVE_TLK_PC_/etc/passwd",
            "ME3_LIVE_TLK_PC_..",
        ]:
            self.assertEqual(self.gameData.clientConfig(configId), {}, configId)
        self.write("default.tlk", talk("default"))
        self.assertEqual(
            unchunk(self.gameData.clientConfig("ME3_LIVE_TLK_PC_../secret")),
            talk("default"),
        )
        self.assertEqual(dict(self.dataDir.opens), {"default.tlk": 1})

    def test_unknownLanguagesShareOneEntry(self) -> None:
        """
        Any number of unknown languages costs one cache entry.
        """
        for i in range(50):
            self.gameData.clientConfig(f"ME3_LIVE_TLK_PC_zz{i}")
        self.assertLessEqual(len(self.gameData._cache), 1)
