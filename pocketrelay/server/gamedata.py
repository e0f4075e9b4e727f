# -*- test-case-name: tests.test_gamedata,tests.test_entitlements -*-
"""
L{GameData}: the game data the server sends to ME3, built from
L{pocketrelay.me3.clientconfig} and from files an operator may put in the
data directory.

Operator files (all optional, directly in the data directory; see
C{docs/game-data.md})::

    coalesced.json         ME3_BINI_PC_COMPRESSED   Pocket Relay's JSON form
    coalesced.bin          ME3_BINI_PC_COMPRESSED   raw coalesced or NIBC
    <lang>.tlk             ME3_LIVE_TLK_PC_<lang>   talk file
    default.tlk            any talk-file id without its <lang>.tlk
    entitlements.dmap      ME3_ENT                  KEY=VALUE lines
    user_entitlements.json listUserEntitlements2    JSON array
    dime.xml               ME3_DIME                 store configuration XML
    terms_of_service.html  getTermsOfServiceContent
    privacy_policy.html    getPrivacyPolicyContent

When both coalesced files exist, C{coalesced.json} is used and
C{coalesced.bin} ignored (one log line says so).  Every file is checked
before it is used: the coalesced and talk files with the codecs of
L{pocketrelay.me3.coalesced} and L{pocketrelay.me3.tlk}, the entitlement
table and the store configuration with their parsers.  Without a file
built-in content is sent and one log line says so; a file that cannot be
used (unreadable, too large, corrupt) gives one warn line and the game
gets the last good content of that config (if one was loaded since the
start) or the built-in content.  Nothing here raises into a Blaze handler.

L{missingGameData} names the files of a complete installation that are
absent (for the start-up line, the health check and C{pocketrelay-admin
game-data status}); L{GameData.unusable} names the present files that
cannot be used (for the start-up line and the health check);
L{checkGameDataFile} is the check the installer runs on every file before
installing it; L{fileSizeLimit} gives each file's size limit, taken from
the codecs.

Caching: every result is computed once.  Each request for a file-backed
config checks the file's modification time and size (one C{stat}) and
rebuilds the result only when they changed, so an operator can replace a
file without a restart; a file is read once per change.  A file that
failed is not retried (and its error not logged again) until it changes.
"""

from __future__ import annotations

import enum
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import attrs
from twisted.logger import Logger
from twisted.python.filepath import FilePath

from pocketrelay.me3 import coalesced as coalescedCodec
from pocketrelay.me3.chunking import decompressCoalesced, isCompressedCoalesced
from pocketrelay.me3.clientconfig import (
    BINI_PC_COMPRESSED,
    BINI_VERSION,
    BLAZE_SDK,
    DEFAULT_MENU_MESSAGE,
    DEFAULT_STORE_XML,
    ME3_DATA,
    ME3_DIME,
    ME3_ENT,
    ME3_MSG,
    ConfigContext,
    MenuMessage,
    binVersion,
    blazeSdkConfig,
    coalescedConfig,
    entitlementsTable,
    formatMenuMessage,
    isTalkFileConfig,
    meData,
    meDime,
    meMessages,
    parseEntitlements,
    talkFileConfig,
    talkFileLanguage,
)
from pocketrelay.me3.entitlements import (
    ONLINE_ACCESS,
    USER_ENTITLEMENTS,
    EntitlementSpec,
    buildEntitlements,
    hasOnlineAccess,
    parseEntitlementList,
)
from pocketrelay.me3.messages.auth import Entitlement
from pocketrelay.me3.tlk import MAX_TLK_SIZE, parseTlk

__all__ = [
    "COALESCED_FILE",
    "COALESCED_JSON_FILE",
    "CONTENT_DIRECTORY",
    "DEFAULT_TALK_FILE",
    "ENTITLEMENTS_FILE",
    "INSTALL_COMMAND",
    "MAX_FILE_SIZE",
    "MAX_TEXT_FILE_SIZE",
    "STORE_FILE",
    "USER_ENTITLEMENTS_FILE",
    "GameData",
    "LegalDocument",
    "UnusableFile",
    "checkGameDataFile",
    "fileSizeLimit",
    "missingGameData",
]

#: The coalesced file (raw, or already an NIBC container).
COALESCED_FILE = "coalesced.bin"
#: Pocket Relay's editable coalesced, compiled when first needed; used
#: instead of L{COALESCED_FILE} when both exist.
COALESCED_JSON_FILE = "coalesced.json"
#: The talk file used for a language without its own C{<lang>.tlk}.
DEFAULT_TALK_FILE = "default.tlk"
#: The entitlement table.
ENTITLEMENTS_FILE = "entitlements.dmap"
#: The store configuration.
STORE_FILE = "dime.xml"
#: The entitlements every player owns (listUserEntitlements2).
USER_ENTITLEMENTS_FILE = "user_entitlements.json"
#: Where the images served under C{/content/} live, relative to the data
#: directory (see L{pocketrelay.server.web.content}).
CONTENT_DIRECTORY = ("public", "content")
#: The command that installs missing game data.
INSTALL_COMMAND = "pocketrelay-admin game-data install"

#: The largest coalesced or talk file read, in bytes: the largest any of
#: the codecs accepts (see L{fileSizeLimit} for each file's own limit).
MAX_FILE_SIZE = max(
    coalescedCodec.MAX_JSON_SIZE, coalescedCodec.MAX_BINARY_SIZE, MAX_TLK_SIZE
)
#: The largest entitlement table or list, store configuration or legal
#: document read, in bytes.
MAX_TEXT_FILE_SIZE = 1024 * 1024

_T = TypeVar("_T")


class LegalDocument(enum.Enum):
    """
    The legal documents the game can show; the value is the file name in
    the data directory.
    """

    TERMS_OF_SERVICE = "terms_of_service.html"
    PRIVACY_POLICY = "privacy_policy.html"


_DEFAULT_TERMS = """\
<html><body>
<h2>Terms of Service</h2>
<p>This is a community server for Mass Effect 3 multiplayer, running
pocketrelay {version}, an implementation of Pocket Relay. It is not run,
endorsed or supported by Electronic Arts or BioWare.</p>
<p>The operator of this server has not published terms of service. Play
fairly and respect the other players.</p>
</body></html>
"""

_DEFAULT_PRIVACY = """\
<html><body>
<h2>Privacy Policy</h2>
<p>This is a community server for Mass Effect 3 multiplayer, running
pocketrelay {version}, an implementation of Pocket Relay. It is not run,
endorsed or supported by Electronic Arts or BioWare.</p>
<p>The server keeps your account (email address, display name and a hash
of your password) and your multiplayer progress, and uses your network
address to connect you with other players. The operator of this server
has not published a privacy policy.</p>
</body></html>
"""


class _FileTooLarge(ValueError):
    pass


@attrs.frozen
class _Entry:
    fingerprint: Any
    value: Any
    #: Whether C{value} came from a file (the last good content).
    loaded: bool = False


def _decodeText(data: bytes) -> str:
    return data.decode("utf-8-sig")


def _parseStoreXml(data: bytes) -> dict[str, str]:
    text = _decodeText(data)
    try:
        ElementTree.fromstring(data)
    except ElementTree.ParseError as e:
        raise ValueError(f"not well-formed XML: {e}")
    return meDime(text)


def _parseEntitlementsFile(data: bytes) -> dict[str, str]:
    return parseEntitlements(_decodeText(data))


def _checkCoalescedJson(data: bytes) -> bytes:
    """
    Compile a C{coalesced.json} into the binary coalesced.
    """
    return coalescedCodec.serializeBinary(coalescedCodec.parseJson(data))


def _checkCoalescedBinary(data: bytes) -> None:
    """
    Check a C{coalesced.bin}: raw, or an C{NIBC} container holding one.
    """
    raw = decompressCoalesced(data) if isCompressedCoalesced(data) else data
    coalescedCodec.parseBinary(raw)


def _coalescedFromJson(data: bytes) -> dict[str, str]:
    return coalescedConfig(_checkCoalescedJson(data))


def _coalescedFromBinary(data: bytes) -> dict[str, str]:
    _checkCoalescedBinary(data)
    return coalescedConfig(data)


def _checkTalkFile(data: bytes) -> None:
    parseTlk(data)


def _talkFileFromBytes(data: bytes) -> dict[str, str]:
    _checkTalkFile(data)
    return talkFileConfig(data)


def checkGameDataFile(name: str, data: bytes) -> None:
    """
    Check the content of a game-data file as the server would before using
    it.

    @param name: the file's name in the data directory (C{coalesced.json},
        C{coalesced.bin}, C{<lang>.tlk}, C{default.tlk},
        C{entitlements.dmap} or C{dime.xml}); other names are not checked.
    @raise ValueError: if the server would refuse the file, with the
        reason.
    """
    if not data:
        raise ValueError("the file is empty")
    if name == COALESCED_JSON_FILE:
        _checkCoalescedJson(data)
    elif name == COALESCED_FILE:
        _checkCoalescedBinary(data)
    elif name.endswith(".tlk"):
        _checkTalkFile(data)
    elif name == ENTITLEMENTS_FILE:
        _parseEntitlementsFile(data)
    elif name == STORE_FILE:
        _parseStoreXml(data)


def fileSizeLimit(name: str) -> int:
    """
    The largest game-data file named C{name} the server reads and the
    installer accepts, in bytes: the codec's own limit for the coalesced
    (L{coalescedCodec.MAX_JSON_SIZE} for C{coalesced.json},
    L{coalescedCodec.MAX_BINARY_SIZE} for C{coalesced.bin}) and for talk
    files (L{MAX_TLK_SIZE}); L{MAX_TEXT_FILE_SIZE} for the other files.
    """
    if name == COALESCED_JSON_FILE:
        return coalescedCodec.MAX_JSON_SIZE
    if name == COALESCED_FILE:
        return coalescedCodec.MAX_BINARY_SIZE
    if name.endswith(".tlk"):
        return MAX_TLK_SIZE
    return MAX_TEXT_FILE_SIZE


@attrs.frozen
class UnusableFile:
    """
    A game-data file that exists but that the server cannot use (the game
    gets the fallback instead).

    @ivar file: the file's name in the data directory.
    @ivar reason: why it cannot be used.
    """

    file: str
    reason: str


def missingGameData(dataDir: FilePath[str]) -> list[str]:
    """
    The parts of a complete game-data installation absent from C{dataDir}:
    C{coalesced.json} (when neither coalesced file exists),
    C{default.tlk}, C{entitlements.dmap}, C{dime.xml} and C{public/content/}
    (when it holds no file).  The per-language talk files are optional
    (C{default.tlk} stands in for them).  Only looks (C{stat}), does not
    read or check the files.

    @return: the missing names, empty when the installation is complete.
    """
    missing: list[str] = []
    try:
        if not (
            dataDir.child(COALESCED_JSON_FILE).isfile()
            or dataDir.child(COALESCED_FILE).isfile()
        ):
            missing.append(COALESCED_JSON_FILE)
        for name in (DEFAULT_TALK_FILE, ENTITLEMENTS_FILE, STORE_FILE):
            if not dataDir.child(name).isfile():
                missing.append(name)
        content = dataDir.descendant(list(CONTENT_DIRECTORY))
        if not (content.isdir() and any(True for _ in content.walk() if _.isfile())):
            missing.append("/".join(CONTENT_DIRECTORY) + "/")
    except OSError:
        return [COALESCED_JSON_FILE, DEFAULT_TALK_FILE, ENTITLEMENTS_FILE,
                STORE_FILE, "/".join(CONTENT_DIRECTORY) + "/"]
    return missing


def _nonEmpty(parse: Callable[[bytes], _T]) -> Callable[[bytes], _T]:
    def parseNonEmpty(data: bytes) -> _T:
        if not data:
            raise ValueError("the file is empty")
        return parse(data)

    return parseNonEmpty


@attrs.define(eq=False)
class GameData:
    """
    The game data for every session, cached.

    @ivar dataDir: the data directory holding the operator files.
    @ivar context: deployment details for the config maps.
    @ivar menuTemplate: the main-menu message template (C{{v}}, C{{n}}).
    @ivar messages: the C{ME3_MSG} messages; L{None} for the default
        welcome message, empty for none.
    @ivar maxFileSize: the largest coalesced or talk file read; each file
        is also held to its own L{fileSizeLimit}.
    """

    log = Logger()

    dataDir: FilePath[str]
    context: ConfigContext = attrs.field(factory=ConfigContext)
    menuTemplate: str = DEFAULT_MENU_MESSAGE
    messages: Sequence[MenuMessage] | None = None
    maxFileSize: int = MAX_FILE_SIZE
    _cache: dict[str, _Entry] = attrs.field(factory=dict, init=False)
    _checks: dict[str, tuple[Any, str | None]] = attrs.field(factory=dict, init=False)
    _bothCoalesced: bool = attrs.field(default=False, init=False)

    # -- public API

    def clientConfig(self, configId: str) -> dict[str, str]:
        """
        The map to answer Util.fetchClientConfig with.

        @param configId: the requested C{CFID}: C{ME3_DATA}, C{ME3_MSG},
            C{ME3_ENT}, C{ME3_DIME}, C{ME3_BINI_VERSION},
            C{ME3_BINI_PC_COMPRESSED}, C{ME3_LIVE_TLK_PC_<lang>} or
            C{BlazeSDK}.
        @return: a fresh dictionary the caller may change; empty for an
            unknown id.
        """
        if configId == ME3_DATA:
            value = self._static(ME3_DATA, lambda: meData(self.context))
        elif configId == ME3_MSG:
            value = self._static(
                ME3_MSG, lambda: meMessages(self.context, self.messages)
            )
        elif configId == BINI_VERSION:
            value = self._static(BINI_VERSION, binVersion)
        elif configId == BLAZE_SDK:
            value = self._static(BLAZE_SDK, blazeSdkConfig)
        elif configId == ME3_ENT:
            value = self._entitlementTable()
        elif configId == ME3_DIME:
            value = self._fromFile(
                ME3_DIME,
                (STORE_FILE,),
                _nonEmpty(_parseStoreXml),
                lambda: meDime(DEFAULT_STORE_XML),
                "the built-in store configuration",
                MAX_TEXT_FILE_SIZE,
            )
        elif configId == BINI_PC_COMPRESSED:
            value = self._coalesced()
        elif isTalkFileConfig(configId):
            value = self._talkFile(talkFileLanguage(configId))
        else:
            value = {}
        return dict(value)

    def missing(self) -> list[str]:
        """
        The parts of a complete game-data installation absent from the data
        directory (see L{missingGameData}); empty when complete.
        """
        return missingGameData(self.dataDir)

    def unusable(self) -> list[UnusableFile]:
        """
        The game-data files present in the data directory that the server
        cannot use (unreadable, too large, or refused by the codec or
        parser as L{checkGameDataFile} would): the coalesced in use
        (C{coalesced.json}, else C{coalesced.bin}), every C{*.tlk},
        C{entitlements.dmap} and C{dime.xml}.

        Each file is read and checked once per change of its modification
        time or size (one C{stat} per file and one directory listing per
        call otherwise), so this is cheap enough for a polled health check.

        @return: the unusable files in name order; empty when all present
            files are usable.
        """
        try:
            names = sorted(
                child.basename()
                for child in self.dataDir.children()
                if child.basename().endswith(".tlk")
            )
        except OSError:
            names = []
        for name in (COALESCED_JSON_FILE, COALESCED_FILE):
            if self.dataDir.child(name).exists():
                names.append(name)
                break
        names.extend((ENTITLEMENTS_FILE, STORE_FILE))
        checks: dict[str, tuple[Any, str | None]] = {}
        unusable: list[UnusableFile] = []
        for name in sorted(names):
            path = self.dataDir.child(name)
            try:
                if not path.exists():
                    continue
                fingerprint: Any = (path.getModificationTime(), path.getsize())
            except OSError as e:
                fingerprint = ("error", str(e))
            cached = self._checks.get(name)
            if cached is not None and cached[0] == fingerprint:
                reason = cached[1]
            else:
                reason = self._checkFile(path)
            checks[name] = (fingerprint, reason)
            if reason is not None:
                unusable.append(UnusableFile(name, reason))
        self._checks = checks
        return unusable

    def _checkFile(self, path: FilePath[str]) -> str | None:
        """
        Why C{path} cannot be used, or L{None} when it can.
        """
        try:
            checkGameDataFile(path.basename(), self._read(path, self.maxFileSize))
        except (OSError, ValueError) as e:
            return str(e) or type(e).__name__
        except Exception as e:
            self.log.failure("Unexpected error checking {path}", path=path.path)
            return f"unexpected error: {type(e).__name__}"
        return None

    def logMissing(self) -> list[str]:
        """
        Log one warn line naming the missing game data and the command that
        installs it, if anything is missing, and one warn line naming the
        game-data files that cannot be used and the command that replaces
        them, if any.

        @return: what is missing.
        """
        missing = self.missing()
        if missing:
            self.log.warn(
                "Game data missing in {directory}: {missing}; the game may not "
                "be playable. Install it with: {command} --data-dir {directory}",
                directory=self.dataDir.path,
                missing=", ".join(missing),
                command=INSTALL_COMMAND,
            )
        unusable = self.unusable()
        if unusable:
            self.log.warn(
                "Game data unusable in {directory}: {unusable}; the game gets the "
                "built-in fallback instead. Replace it with: {command} --force "
                "--data-dir {directory}",
                directory=self.dataDir.path,
                unusable="; ".join(f"{u.file} ({u.reason})" for u in unusable),
                command=INSTALL_COMMAND,
            )
        return missing

    def blazeSdkConfig(self) -> dict[str, str]:
        """
        The preAuth C{CONF} map (the C{BlazeSDK} config).
        """
        return self.clientConfig(BLAZE_SDK)

    def menuMessage(self, playerName: str) -> str:
        """
        The main-menu message for C{playerName} (Messaging.fetchMessages),
        from L{menuTemplate}, ending with a newline.
        """
        return formatMenuMessage(
            self.menuTemplate, self.context.serverVersion, playerName
        )

    def entitlements(self, playerId: int) -> list[Entitlement]:
        """
        The entitlements player C{playerId} owns, for
        Authentication.listUserEntitlements2: the operator's
        C{user_entitlements.json} or the built-in list
        (L{pocketrelay.me3.entitlements.USER_ENTITLEMENTS}: online pass,
        DLC, packs), with C{PID} = C{playerId} and per-player ids.

        @return: fresh values the caller may change.
        """
        specs: tuple[EntitlementSpec, ...] = self._fromFile(
            "user-entitlements",
            (USER_ENTITLEMENTS_FILE,),
            _nonEmpty(self._parseUserEntitlements),
            lambda: USER_ENTITLEMENTS,
            "the built-in entitlement list",
            MAX_TEXT_FILE_SIZE,
        )
        return buildEntitlements(playerId, specs)

    def legalDoc(self, document: LegalDocument) -> str:
        """
        The HTML of a legal document: the operator's file or a short
        built-in page naming the server software.
        """
        version = self.context.serverVersion
        default = (
            _DEFAULT_TERMS
            if document is LegalDocument.TERMS_OF_SERVICE
            else _DEFAULT_PRIVACY
        ).format(version=version)
        result: str = self._fromFile(
            "legal:" + document.value,
            (document.value,),
            _decodeText,
            lambda: default,
            "the built-in " + document.name.lower().replace("_", " ") + " page",
            MAX_TEXT_FILE_SIZE,
        )
        return result

    def legalDocPath(self, document: LegalDocument) -> str:
        """
        The document path sent with a legal document (C{LDVC}): its file
        name in the data directory.
        """
        return document.value

    def termsOfService(self) -> str:
        """
        The HTML of the terms of service (getTermsOfServiceContent).
        """
        return self.legalDoc(LegalDocument.TERMS_OF_SERVICE)

    def privacyPolicy(self) -> str:
        """
        The HTML of the privacy policy (getPrivacyPolicyContent).
        """
        return self.legalDoc(LegalDocument.PRIVACY_POLICY)

    # -- implementation

    def _static(self, key: str, build: Callable[[], dict[str, str]]) -> dict[str, str]:
        entry = self._cache.get(key)
        if entry is None:
            entry = self._cache[key] = _Entry(None, build())
        result: dict[str, str] = entry.value
        return result

    def _entitlementTable(self) -> dict[str, str]:
        result: dict[str, str] = self._fromFile(
            ME3_ENT,
            (ENTITLEMENTS_FILE,),
            _nonEmpty(_parseEntitlementsFile),
            entitlementsTable,
            "the minimal built-in entitlement table",
            MAX_TEXT_FILE_SIZE,
        )
        return result

    def _parseUserEntitlements(self, data: bytes) -> tuple[EntitlementSpec, ...]:
        specs = parseEntitlementList(_decodeText(data))
        if not hasOnlineAccess(specs):
            self.log.warn(
                "{name} has no active {tag} entitlement: the game may refuse "
                "multiplayer",
                name=USER_ENTITLEMENTS_FILE,
                tag=ONLINE_ACCESS,
            )
        return specs

    def _coalesced(self) -> dict[str, str]:
        self._noteBothCoalesced()
        result: dict[str, str] = self._fromFile(
            BINI_PC_COMPRESSED,
            (COALESCED_JSON_FILE, COALESCED_FILE),
            _nonEmpty(_coalescedFromBinary),
            dict,
            "an empty map (the game keeps its own coalesced settings)",
            self.maxFileSize,
            parseByName={COALESCED_JSON_FILE: _nonEmpty(_coalescedFromJson)},
        )
        return result

    def _noteBothCoalesced(self) -> None:
        """
        Say once (until it changes) that both coalesced files exist and
        C{coalesced.json} is the one used.
        """
        try:
            both = (
                self.dataDir.child(COALESCED_JSON_FILE).exists()
                and self.dataDir.child(COALESCED_FILE).exists()
            )
        except OSError:
            both = False
        if both and not self._bothCoalesced:
            self.log.info(
                "Both {json} and {binary} are in {directory}: using {json}; "
                "{binary} is ignored while {json} exists",
                json=COALESCED_JSON_FILE,
                binary=COALESCED_FILE,
                directory=self.dataDir.path,
            )
        self._bothCoalesced = both

    def _talkFile(self, language: str | None) -> dict[str, str]:
        names: tuple[str, ...]
        if language is None:
            key, names = "tlk:*", (DEFAULT_TALK_FILE,)
        else:
            key, names = "tlk:" + language, (f"{language}.tlk", DEFAULT_TALK_FILE)
        result: dict[str, str] = self._fromFile(
            key,
            names,
            _nonEmpty(_talkFileFromBytes),
            dict,
            "an empty map (the game keeps its own strings)",
            self.maxFileSize,
        )
        return result

    def _fromFile(
        self,
        key: str,
        names: Sequence[str],
        parse: Callable[[bytes], _T],
        fallback: Callable[[], _T],
        fallbackDescription: str,
        limit: int,
        parseByName: Mapping[str, Callable[[bytes], _T]] | None = None,
    ) -> _T:
        """
        The cached result for the first of C{names} that exists in the data
        directory, rebuilt when that file's modification time or size
        changes; C{fallback()} when none exists; the last good result (or
        C{fallback()} if there is none) when the file is unusable.

        @param parseByName: parsers for some of C{names}, used instead of
            C{parse} for those files.
        """
        path: FilePath[str] | None = None
        fingerprint: Any = None
        try:
            for name in names:
                candidate = self.dataDir.child(name)
                if candidate.exists():
                    path = candidate
                    fingerprint = (
                        name,
                        candidate.getModificationTime(),
                        candidate.getsize(),
                    )
                    break
        except OSError as e:
            self.log.warn(
                "Cannot look for {names} in {directory}: {reason}",
                names=", ".join(names),
                directory=self.dataDir.path,
                reason=str(e),
            )
            path, fingerprint = None, ("error", str(e))

        entry = self._cache.get(key)
        if entry is not None and entry.fingerprint == fingerprint:
            cached: _T = entry.value
            return cached

        if path is None:
            if fingerprint is None:
                self.log.info(
                    "No {names} in {directory}: sending {fallback}",
                    names=" or ".join(names),
                    directory=self.dataDir.path,
                    fallback=fallbackDescription,
                )
            value = fallback()
        else:
            lastGood = entry is not None and entry.loaded
            instead = "the last good content" if lastGood else fallbackDescription
            loaded = True
            try:
                parseFile = (parseByName or {}).get(path.basename(), parse)
                value = parseFile(self._read(path, limit))
            except (OSError, ValueError) as e:
                self.log.warn(
                    "Cannot use {path}: {reason}; sending {fallback} instead",
                    path=path.path,
                    reason=str(e),
                    fallback=instead,
                )
                value, loaded = self._instead(entry, fallback)
            except Exception:
                self.log.failure(
                    "Unexpected error reading {path}; sending {fallback} instead",
                    path=path.path,
                    fallback=instead,
                )
                value, loaded = self._instead(entry, fallback)
            else:
                self.log.info("Loaded {path}", path=path.path)
            self._cache[key] = _Entry(fingerprint, value, loaded)
            return value
        self._cache[key] = _Entry(fingerprint, value)
        return value

    @staticmethod
    def _instead(entry: _Entry | None, fallback: Callable[[], _T]) -> tuple[_T, bool]:
        """
        What to send when a file is unusable: the last good content, else
        the fallback.
        """
        if entry is not None and entry.loaded:
            kept: _T = entry.value
            return kept, True
        return fallback(), False

    def _read(self, path: FilePath[str], limit: int) -> bytes:
        limit = min(limit, fileSizeLimit(path.basename()))
        if not path.isfile():
            raise ValueError("not a regular file")
        size = path.getsize()
        if size > limit:
            raise _FileTooLarge(f"{size} bytes, more than the limit of {limit}")
        with path.open("r") as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise _FileTooLarge(f"more than the limit of {limit} bytes")
        return data
