# -*- test-case-name: tests.test_gamedata,tests.test_entitlements -*-
"""
L{GameData}: the game data the server sends to ME3, built from
L{pocketrelay.me3.clientconfig} and from files an operator may put in the
data directory.

Operator files (all optional, directly in the data directory; see
C{docs/game-data.md})::

    coalesced.bin          ME3_BINI_PC_COMPRESSED   raw coalesced or NIBC
    <lang>.tlk             ME3_LIVE_TLK_PC_<lang>   talk file
    default.tlk            any talk-file id without its <lang>.tlk
    entitlements.dmap      ME3_ENT                  KEY=VALUE lines
    user_entitlements.json listUserEntitlements2    JSON array
    dime.xml               ME3_DIME                 store configuration XML
    terms_of_service.html  getTermsOfServiceContent
    privacy_policy.html    getPrivacyPolicyContent

Without a file, or when it cannot be used (unreadable, too large, corrupt),
built-in content is sent and one log line says why.  Nothing here raises
into a Blaze handler.

Caching: every result is computed once.  Each request for a file-backed
config checks the file's modification time and size (one C{stat}) and
rebuilds the result only when they changed, so an operator can replace a
file without a restart; a file is read once per change.  A file that
failed is not retried (and its error not logged again) until it changes.
"""

from __future__ import annotations

import enum
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs
from twisted.logger import Logger
from twisted.python.filepath import FilePath

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

__all__ = [
    "COALESCED_FILE",
    "COALESCED_JSON_FILE",
    "DEFAULT_TALK_FILE",
    "ENTITLEMENTS_FILE",
    "MAX_FILE_SIZE",
    "MAX_TEXT_FILE_SIZE",
    "STORE_FILE",
    "USER_ENTITLEMENTS_FILE",
    "GameData",
    "LegalDocument",
]

#: The coalesced file (raw, or already an NIBC container).
COALESCED_FILE = "coalesced.bin"
#: The reference server's editable coalesced; not supported, only reported.
COALESCED_JSON_FILE = "coalesced.json"
#: The talk file used for a language without its own C{<lang>.tlk}.
DEFAULT_TALK_FILE = "default.tlk"
#: The entitlement table.
ENTITLEMENTS_FILE = "entitlements.dmap"
#: The store configuration.
STORE_FILE = "dime.xml"
#: The entitlements every player owns (listUserEntitlements2).
USER_ENTITLEMENTS_FILE = "user_entitlements.json"

#: The largest coalesced or talk file read, in bytes.
MAX_FILE_SIZE = 64 * 1024 * 1024
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
    @ivar maxFileSize: the largest coalesced or talk file read.
    """

    log = Logger()

    dataDir: FilePath[str]
    context: ConfigContext = attrs.field(factory=ConfigContext)
    menuTemplate: str = DEFAULT_MENU_MESSAGE
    messages: Sequence[MenuMessage] | None = None
    maxFileSize: int = MAX_FILE_SIZE
    _cache: dict[str, _Entry] = attrs.field(factory=dict, init=False)

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
        def absent() -> dict[str, str]:
            json = self.dataDir.child(COALESCED_JSON_FILE)
            if json.exists():
                self.log.warn(
                    "{path} is not supported: convert it to the game's binary "
                    "coalesced and save that as {name}",
                    path=json.path,
                    name=COALESCED_FILE,
                )
            return {}

        result: dict[str, str] = self._fromFile(
            BINI_PC_COMPRESSED,
            (COALESCED_FILE,),
            _nonEmpty(coalescedConfig),
            absent,
            "an empty map (the game keeps its own coalesced settings)",
            self.maxFileSize,
        )
        return result

    def _talkFile(self, language: str | None) -> dict[str, str]:
        names: tuple[str, ...]
        if language is None:
            key, names = "tlk:*", (DEFAULT_TALK_FILE,)
        else:
            key, names = "tlk:" + language, (f"{language}.tlk", DEFAULT_TALK_FILE)
        result: dict[str, str] = self._fromFile(
            key,
            names,
            _nonEmpty(talkFileConfig),
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
    ) -> _T:
        """
        The cached result for the first of C{names} that exists in the data
        directory, rebuilt when that file's modification time or size
        changes; C{fallback()} when none exists or the file is unusable.
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
            try:
                value = parse(self._read(path, limit))
            except (OSError, ValueError) as e:
                self.log.warn(
                    "Cannot use {path}: {reason}; sending {fallback} instead",
                    path=path.path,
                    reason=str(e),
                    fallback=fallbackDescription,
                )
                value = fallback()
            except Exception:
                self.log.failure(
                    "Unexpected error reading {path}; sending {fallback} instead",
                    path=path.path,
                    fallback=fallbackDescription,
                )
                value = fallback()
            else:
                self.log.info("Loaded {path}", path=path.path)
        self._cache[key] = _Entry(fingerprint, value)
        return value

    def _read(self, path: FilePath[str], limit: int) -> bytes:
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
