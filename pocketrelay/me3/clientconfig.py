# -*- test-case-name: tests.test_clientconfig -*-
"""
The configuration maps ME3 fetches with Util.fetchClientConfig (9/1), the
preAuth C{CONF} map and the main-menu message (blaze-wire.md section 5.5,
server-behaviour.md sections 1.5 and 1.6).

Every function here is pure: it builds a C{dict[str, str]} from its
arguments and a L{ConfigContext}.  The TDF encoder writes string-keyed
maps in case-insensitive key order, as the official server did, so the
dictionaries' own order does not matter.

Loading operator-provided files (coalesced, talk files, entitlements,
store configuration) and caching the results is the job of
L{pocketrelay.server.gamedata}.

Config ids::

    ME3_DATA                 URLs, limits and telemetry settings (meData)
    ME3_MSG                  main-menu messages (meMessages)
    ME3_ENT                  entitlement table (entitlementsTable)
    ME3_DIME                 store configuration XML (meDime)
    ME3_BINI_VERSION         coalesced section and version (binVersion)
    ME3_BINI_PC_COMPRESSED   chunked NIBC coalesced (coalescedConfig)
    ME3_LIVE_TLK_PC_<lang>   chunked talk file (talkFileConfig)
    BlazeSDK                 preAuth CONF (blazeSdkConfig)
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence

import attrs

from pocketrelay._version import __version__
from pocketrelay.me3.chunking import (
    chunk,
    compressCoalesced,
    decompressCoalesced,
    isCompressedCoalesced,
)
from pocketrelay.me3.messages.util import TELEMETRY_DISABLED_COUNTRIES

__all__ = [
    "BINI_PC_COMPRESSED",
    "BINI_VERSION",
    "BLAZE_SDK",
    "BUILTIN_ENTITLEMENTS",
    "DEFAULT_MENU_MESSAGE",
    "DEFAULT_STORE_XML",
    "MAX_ENTITLEMENT_LINES",
    "ME3_DATA",
    "ME3_DIME",
    "ME3_ENT",
    "ME3_MSG",
    "MESSAGE_LANGUAGES",
    "TALK_FILE_LANGUAGES",
    "TALK_FILE_PREFIX",
    "ConfigContext",
    "Entitlement",
    "EntitlementsError",
    "MenuMessage",
    "MessageType",
    "binVersion",
    "blazeSdkConfig",
    "coalescedConfig",
    "entitlementsTable",
    "formatMenuMessage",
    "isTalkFileConfig",
    "meData",
    "meDime",
    "meMessages",
    "parseEntitlements",
    "talkFileConfig",
    "talkFileConfigId",
    "talkFileLanguage",
    "welcomeMessage",
]

#: Config id of the URLs, limits and telemetry settings.
ME3_DATA = "ME3_DATA"
#: Config id of the main-menu messages.
ME3_MSG = "ME3_MSG"
#: Config id of the entitlement table.
ME3_ENT = "ME3_ENT"
#: Config id of the store configuration.
ME3_DIME = "ME3_DIME"
#: Config id of the coalesced section name and version.
BINI_VERSION = "ME3_BINI_VERSION"
#: Config id of the server-side coalesced.
BINI_PC_COMPRESSED = "ME3_BINI_PC_COMPRESSED"
#: Config id preAuth asks for in C{FCCR}; its answer is preAuth's C{CONF}.
BLAZE_SDK = "BlazeSDK"
#: Prefix of the talk-file config ids; the language code follows.
TALK_FILE_PREFIX = "ME3_LIVE_TLK_PC_"

#: The languages ME3 has talk files for.
TALK_FILE_LANGUAGES = ("de", "en", "es", "fr", "it", "ja", "pl", "ru")

#: The languages a menu message is repeated for (C{MSG_<n>_message_<lang>});
#: English is the unsuffixed C{MSG_<n>_message}.
MESSAGE_LANGUAGES = ("de", "es", "fr", "it", "ja", "pl", "ru")

#: The default main-menu message: grey "Pocket Relay" and yellow
#: "Logged as: <name>", in the game's C{<font color='#RRGGBB'>} markup.
DEFAULT_MENU_MESSAGE = (
    "<font color='#B2B2B2'>Pocket Relay</font> - "
    "<font color='#FFFF66'>Logged as: {n}</font>"
)

#: The store configuration sent for C{ME3_DIME} without an operator file: a
#: well-formed store document naming the game and offering nothing for
#: real money.  (The multiplayer store's credit packs do not come from here.)
DEFAULT_STORE_XML = """\
<?xml version="1.0" encoding="utf-8"?>
<dime>
    <configFormatVersion>1</configFormatVersion>
    <fileVersion>1</fileVersion>
    <games>
        <game>
            <index>0</index>
            <name>Mass Effect 3</name>
        </game>
        <primaryGameIndex>0</primaryGameIndex>
    </games>
    <content>
        <consumables/>
    </content>
</dime>
"""

#: The most lines L{parseEntitlements} reads (the official table has a few
#: hundred).
MAX_ENTITLEMENT_LINES = 100_000


def _stripSlashes(value: str) -> str:
    return value.rstrip("/")


@attrs.frozen
class ConfigContext:
    """
    What the config maps need to know about the deployment.

    The defaults suit the Pocket Relay client, which runs beside the game
    and relays to the server: its local HTTP proxy on 127.0.0.1:42131 and
    its local telemetry server on 127.0.0.1:42129.

    @ivar httpBase: the HTTP base URL the game uses for Galaxy at War and
        store images, without a trailing slash (one is removed).
    @ivar telemetryHost: where the game sends telemetry.
    @ivar telemetryPort: the telemetry port.
    @ivar telemetryDisabledCountries: comma-separated country codes for
        which the game does not send telemetry (C{TEL_DISABLE}); the same
        list as preAuth's C{TELE.DISA}.
    @ivar serverName: how the server names itself in messages.
    @ivar serverVersion: the server version shown in messages.
    """

    httpBase: str = attrs.field(
        default="http://127.0.0.1:42131", converter=_stripSlashes
    )
    telemetryHost: str = "127.0.0.1"
    telemetryPort: int = 42129
    telemetryDisabledCountries: str = TELEMETRY_DISABLED_COUNTRIES
    serverName: str = "Pocket Relay"
    serverVersion: str = __version__

    @property
    def galaxyAtWarUrl(self) -> str:
        """
        C{GAW_SERVER_BASE_URL}: the HTTP base with a trailing slash.
        """
        return self.httpBase + "/"

    @property
    def imageUrl(self) -> str:
        """
        C{IMG_MNGR_BASE_URL}: the C{content/} folder under the HTTP base.
        """
        return self.httpBase + "/content/"


def meData(ctx: ConfigContext) -> dict[str, str]:
    """
    The C{ME3_DATA} map: Galaxy at War and image URLs, image limits, job
    throttles, the matchmaking-rules and multiplayer protocol versions, and
    where and how to send telemetry.
    """
    return {
        "GAW_SERVER_BASE_URL": ctx.galaxyAtWarUrl,
        "IMG_MNGR_BASE_URL": ctx.imageUrl,
        "IMG_MNGR_MAX_BYTES": "1048576",
        "IMG_MNGR_MAX_IMAGES": "5",
        "JOB_THROTTLE_0": "10000",
        "JOB_THROTTLE_1": "5000",
        "JOB_THROTTLE_2": "1000",
        "MATCH_MAKING_RULES_VERSION": "5",
        "MULTIPLAYER_PROTOCOL_VERSION": "3",
        "TEL_DISABLE": ctx.telemetryDisabledCountries,
        "TEL_DOMAIN": "pc/masseffect-3-pc-anon",
        "TEL_FILTER": "-UION/****",
        "TEL_PORT": str(ctx.telemetryPort),
        "TEL_SEND_DELAY": "15000",
        "TEL_SEND_PCT": "75",
        "TEL_SERVER": ctx.telemetryHost,
    }


class MessageType(enum.IntEnum):
    """
    Where ME3 shows a menu message (C{MSG_<n>_type}).
    """

    #: A page of the main menu's terminal.
    MENU_TERMINAL = 0
    #: The main menu's scrolling ticker.
    MENU_SCROLLING = 3
    #: A full-screen multiplayer notice with a store button.
    MULTIPLAYER = 8


@attrs.frozen
class MenuMessage:
    """
    One message of the C{ME3_MSG} map.

    @ivar message: the text, in the game's C{<font color='#RRGGBB'>}
        markup; repeated for every language of L{MESSAGE_LANGUAGES}.
    @ivar title: the title, repeated likewise, or L{None} for none.
    @ivar priority: higher shows first.
    @ivar trackingId: identifies the message so that a player who dismissed
        it does not see it again; L{None} for none.
    @ivar type: where the message is shown.
    @ivar endDate: the date after which the message is no longer shown, in
        the form the game expects, or L{None}.
    @ivar image: the path of a DDS image on the image server
        (C{IMG_MNGR_BASE_URL}), or L{None} for the game's default image.
    """

    message: str
    title: str | None = None
    priority: int = 1
    trackingId: int | None = None
    type: MessageType = MessageType.MENU_TERMINAL
    endDate: str | None = None
    image: str | None = None


def welcomeMessage(ctx: ConfigContext) -> MenuMessage:
    """
    The message the server shows by default: a terminal page saying which
    server and version the player is connected to.
    """
    return MenuMessage(
        title=ctx.serverName,
        message=(
            f"You are connected to {ctx.serverName} "
            f"<font color='#FFFF66'>(v{ctx.serverVersion})</font>"
        ),
        priority=1,
        trackingId=1,
        type=MessageType.MENU_TERMINAL,
    )


def meMessages(
    ctx: ConfigContext, messages: Sequence[MenuMessage] | None = None
) -> dict[str, str]:
    """
    The C{ME3_MSG} map: for message C{n} (from 1) the entries
    C{MSG_<n>_message}, C{MSG_<n>_message_<lang>}, C{MSG_<n>_priority},
    C{MSG_<n>_type} and, when set, C{MSG_<n>_title} (and C{_title_<lang>}),
    C{MSG_<n>_trackingId}, C{MSG_<n>_endDate} and C{MSG_<n>_image}.

    @param messages: the messages; L{None} for the one L{welcomeMessage},
        an empty sequence for none.
    """
    if messages is None:
        messages = (welcomeMessage(ctx),)
    result: dict[str, str] = {}
    for number, message in enumerate(messages, 1):
        prefix = f"MSG_{number}_"
        result[prefix + "message"] = message.message
        for language in MESSAGE_LANGUAGES:
            result[f"{prefix}message_{language}"] = message.message
        if message.title is not None:
            result[prefix + "title"] = message.title
            for language in MESSAGE_LANGUAGES:
                result[f"{prefix}title_{language}"] = message.title
        result[prefix + "priority"] = str(message.priority)
        result[prefix + "type"] = str(int(message.type))
        if message.trackingId is not None:
            result[prefix + "trackingId"] = str(message.trackingId)
        if message.endDate is not None:
            result[prefix + "endDate"] = message.endDate
        if message.image is not None:
            result[prefix + "image"] = message.image
    return result


class EntitlementsError(ValueError):
    """
    An entitlement table file is malformed; the message names the line.
    """


@attrs.frozen
class Entitlement:
    """
    One row of the C{ME3_ENT} table: entries C{ENT_<index>_entitlement},
    C{ENT_<index>_group}, C{ENT_<index>_ID} and C{ENT_<index>_param}, each
    present only when set.

    @ivar index: the row number in the key names.
    @ivar entitlement: the entitlement tag (the name listUserEntitlements2
        reports), e.g. C{"ME3_PRC_MP5"}.
    @ivar group: the entitlement group.
    @ivar id: the numeric id; for DLC the DLC module id.
    @ivar param: extra C{&}-separated parameters.
    """

    index: int
    entitlement: str | None = None
    group: str | None = None
    id: int | None = None
    param: str | None = None


#: The built-in entitlement table, limited to what the references document:
#: the fifth multiplayer DLC (module 3225, used by the C{ME3_dlc3225} game
#: attribute) is the entitlement C{ME3_PRC_MP5}.  The official table (a few
#: hundred rows) can be dropped into the data directory as
#: C{entitlements.dmap}; see C{docs/game-data.md}.
BUILTIN_ENTITLEMENTS: tuple[Entitlement, ...] = (
    Entitlement(index=1, entitlement="ME3_PRC_MP5", id=3225),
)


def entitlementsTable(
    entries: Iterable[Entitlement] = BUILTIN_ENTITLEMENTS,
    cerberusOfferId: int | None = None,
) -> dict[str, str]:
    """
    The C{ME3_ENT} map built from rows.

    @param entries: the rows; their indexes must be unique.
    @param cerberusOfferId: the C{CERBERUS_OFFER_ID} entry, or L{None} to
        leave it out.
    @raise ValueError: if two rows share an index.
    """
    result: dict[str, str] = {}
    seen: set[int] = set()
    for row in entries:
        if row.index in seen:
            raise ValueError(f"entitlement index {row.index} is used twice")
        seen.add(row.index)
        prefix = f"ENT_{row.index}_"
        if row.entitlement is not None:
            result[prefix + "entitlement"] = row.entitlement
        if row.group is not None:
            result[prefix + "group"] = row.group
        if row.id is not None:
            result[prefix + "ID"] = str(row.id)
        if row.param is not None:
            result[prefix + "param"] = row.param
    if cerberusOfferId is not None:
        result["CERBERUS_OFFER_ID"] = str(cerberusOfferId)
    return result


def parseEntitlements(text: str) -> dict[str, str]:
    """
    Read an entitlement table in the official C{entitlements.dmap} form:
    one C{KEY=VALUE} entry per line (split at the first C{=}, so values may
    contain C{=}).  Blank lines and lines starting with C{#} are skipped;
    surrounding whitespace and a trailing carriage return are removed.

    @return: the map, sent as C{ME3_ENT} unchanged.
    @raise EntitlementsError: if a line has no C{=} or an empty key, a key
        repeats, the text holds no entry or more than
        L{MAX_ENTITLEMENT_LINES} lines.
    """
    lines = text.splitlines()
    if len(lines) > MAX_ENTITLEMENT_LINES:
        raise EntitlementsError(
            f"{len(lines)} lines, more than the limit of {MAX_ENTITLEMENT_LINES}"
        )
    result: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, value = line.partition("=")
        key = key.strip()
        if not separator:
            raise EntitlementsError(f"line {number}: no '=' in {line[:60]!r}")
        if not key:
            raise EntitlementsError(f"line {number}: empty key")
        if key in result:
            raise EntitlementsError(f"line {number}: {key} appears twice")
        result[key] = value.strip()
    if not result:
        raise EntitlementsError("no KEY=VALUE entry")
    return result


def meDime(storeXml: str = DEFAULT_STORE_XML) -> dict[str, str]:
    """
    The C{ME3_DIME} map: the store configuration XML under C{Config}.
    """
    return {"Config": storeXml}


def binVersion() -> dict[str, str]:
    """
    The C{ME3_BINI_VERSION} map: the coalesced section name and version.
    """
    return {"SECTION": "BINI_PC_COMPRESSED", "VERSION": "40128"}


def blazeSdkConfig() -> dict[str, str]:
    """
    The C{BlazeSDK} map, sent as preAuth's C{CONF}: the ping interval the
    client keeps, the VoIP headset polling interval (ms) and the
    connection idle timeout (s).
    """
    return {
        "pingPeriod": "15s",
        "voipHeadsetUpdateRate": "1000",
        "xlspConnectionIdleTimeout": "300",
    }


def coalescedConfig(coalesced: bytes) -> dict[str, str]:
    """
    The C{ME3_BINI_PC_COMPRESSED} map for a coalesced.

    @param coalesced: a raw coalesced, which is compressed into an C{NIBC}
        container, or an C{NIBC} container already, which is checked and
        sent as it is.
    @raise pocketrelay.me3.chunking.CoalescedError: if C{coalesced} looks
        like an C{NIBC} container but is not a valid one, or is too large.
    """
    if isCompressedCoalesced(coalesced):
        decompressCoalesced(coalesced)
        return chunk(coalesced)
    return chunk(compressCoalesced(coalesced))


def talkFileConfig(talkFile: bytes) -> dict[str, str]:
    """
    The C{ME3_LIVE_TLK_PC_<lang>} map for a talk file: chunked, not
    compressed.
    """
    return chunk(talkFile)


def talkFileConfigId(language: str) -> str:
    """
    The config id of the talk file for C{language}, e.g.
    C{"ME3_LIVE_TLK_PC_en"}.
    """
    return TALK_FILE_PREFIX + language


def isTalkFileConfig(configId: str) -> bool:
    """
    Whether C{configId} asks for a talk file, in any language.
    """
    return configId.startswith(TALK_FILE_PREFIX)


def talkFileLanguage(configId: str) -> str | None:
    """
    The language of a talk-file config id, lower-cased, if it is one of
    L{TALK_FILE_LANGUAGES}; L{None} for any other id or language.
    """
    if not isTalkFileConfig(configId):
        return None
    language = configId[len(TALK_FILE_PREFIX) :].lower()
    return language if language in TALK_FILE_LANGUAGES else None


_PLACEHOLDER = re.compile(r"\{([vn])\}")


def formatMenuMessage(template: str, version: str, playerName: str) -> str:
    """
    The main-menu message for one player (Messaging.fetchMessages).

    C{{v}} becomes the server version and C{{n}} the player's name, in one
    pass, so a name that itself contains C{{v}} stays as it is.  A newline
    is appended unless the template already ends with one, as the
    reference server does.

    @param template: e.g. L{DEFAULT_MENU_MESSAGE}.
    """
    values = {"v": version, "n": playerName}
    text = _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)
    if not template.endswith("\n"):
        text += "\n"
    return text
