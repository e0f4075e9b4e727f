# -*- test-case-name: tests.test_entitlements -*-
"""
The entitlements a player owns: the reply to Authentication
listUserEntitlements2 (1/0x1D; blaze-wire.md section 5.7,
server-behaviour.md section 1.1).

ME3 asks for them right after login, for the groups C{ME3PCOffers},
C{ME3PCContent}, C{ME3GenOffers}, C{ME3GenContent} and C{ME3GenAncillary},
page 1 of 50 entries, with an empty C{ETAG}.  The Pocket Relay servers
answer every player with the same fixed list of entitlements: the online
pass (which they mark as required for online access), the single-player
and multiplayer DLC, item packs and edition extras.  L{USER_ENTITLEMENTS}
is that list, written down from the public sources named next to each
group of entries; L{buildEntitlements} turns it into the
L{Entitlement <pocketrelay.me3.messages.auth.Entitlement>} values for one
player.

An operator can replace the list with a JSON file (see
L{parseEntitlementList} and C{docs/game-data.md}); loading and caching it is
the job of L{pocketrelay.server.gamedata}.

Sources (read for facts; nothing is copied):

  - B{PRS}: PocketRelay/Server C{src/session/routes/auth.rs}, the static
    table its listUserEntitlements2 handler sends (the newest stored
    version, the one with the C{Origin.OFR} offers: 39 rows, one an exact
    repeat), and C{src/session/models/auth.rs}, which writes every row with
    C{DEVI ""}, C{GDAY "2012-12-15T16:15Z"}, C{ISCO 0}, C{PID 0}, C{STAT 1}
    (active), C{STRC 0}, C{TDAY ""}, C{UCNT 0}, C{VER 0} and the row's
    group (C{GNAM}), C{ID}, project (C{PJID}), catalog (C{PRCA}), product
    (C{PRID}), C{TAG} and type.  The type goes under the tag C{TTYPE},
    of which its TDF codec (jacobtread/tdf C{src/tag.rs}) encodes only the
    first four letters: the game gets C{TTYP} and no C{TYPE} from PRS.  We
    send C{TYPE}, as PRK and the struct layout do.
  - B{PRK}: PocketRelay/ServerKotlin C{.../kme/data/Data.kt}
    (C{createUserEntitlements}): 28 of those rows (not the promotional
    C{ME3_PRO_*} items nor the rows the newest PRS added), written with
    C{TYPE}, and comments naming the DLC behind each C{ME3_PRC_*} /
    C{ME3_MTX_*} tag.
  - B{KME}: an early version of that file in the ServerKotlin history (from
    the KME3 days) holding ten rows with individual grant dates, apparently
    taken from an official-server reply; it agrees with PRS on group,
    project, catalog, product, type and status for every row the two share.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from pocketrelay.me3.messages.auth import (
    ENTITLEMENT_GRANT_DATE,
    Entitlement,
    EntitlementStatus,
    EntitlementType,
    ProductCatalog,
)

__all__ = [
    "GEN_OFFERS",
    "IDS_PER_PLAYER",
    "MAX_ENTITLEMENTS",
    "MAX_STRING_LENGTH",
    "ONLINE_ACCESS",
    "PC_OFFERS",
    "USER_ENTITLEMENTS",
    "EntitlementListError",
    "EntitlementSpec",
    "buildEntitlements",
    "entitlementId",
    "hasOnlineAccess",
    "parseEntitlementList",
]

#: The group (C{GNAM}) of the PC offers: nearly every entitlement.
PC_OFFERS = "ME3PCOffers"
#: The group of the platform-independent offers (Galaxy at War access and
#: the soundtrack).
GEN_OFFERS = "ME3GenOffers"

#: The tag of the online-pass entitlement the game checks before it allows
#: multiplayer.
ONLINE_ACCESS = "ONLINE_ACCESS"

#: The most entries a list may hold (the game asks for 50 per page; the
#: reference servers send the whole list in one reply).
MAX_ENTITLEMENTS = 1000
#: How many entitlement ids each player has: ids never collide between
#: players as long as a list holds at most this many entries.
IDS_PER_PLAYER = 1024
#: The longest string an operator's entry may hold, in characters.
MAX_STRING_LENGTH = 256

# Player ids above this wrap around so that every id stays below 2**63.
_PLAYER_ID_MASK = (1 << 53) - 1


@attrs.frozen
class EntitlementSpec:
    """
    One entitlement in a list, the same for every player.

    @ivar groupName: C{GNAM}, L{PC_OFFERS} or L{GEN_OFFERS}.
    @ivar entitlementTag: C{TAG}, what the game looks for (C{ONLINE_ACCESS},
        C{ME3_PRC_MP5}, ...).
    @ivar productId: C{PRID}, the store product (C{OFB-MASS:59712}), may be
        empty.
    @ivar projectId: C{PJID}, the project the product belongs to.
    @ivar productCatalog: C{PRCA}, a L{ProductCatalog}.
    @ivar entitlementType: C{TYPE}, an L{EntitlementType}: C{ONLINE_ACCESS}
        for the online passes, C{DEFAULT} for content.
    @ivar status: C{STAT}, an L{EntitlementStatus}.
    @ivar grantDate: C{GDAY}.
    @ivar terminationDate: C{TDAY}, empty for "never".
    @ivar useCount: C{UCNT}.
    @ivar version: C{VER}.
    @ivar consumable: C{ISCO}.
    @ivar note: what the entitlement is, for people; not sent.
    """

    groupName: str
    entitlementTag: str
    productId: str
    projectId: str
    productCatalog: int = ProductCatalog.OFB
    entitlementType: int = EntitlementType.DEFAULT
    status: int = EntitlementStatus.ACTIVE
    grantDate: str = ENTITLEMENT_GRANT_DATE
    terminationDate: str = ""
    useCount: int = 0
    version: int = 0
    consumable: bool = False
    note: str = attrs.field(default="", eq=False)


def _pass(
    tag: str, productId: str, projectId: str, note: str, group: str = PC_OFFERS
) -> EntitlementSpec:
    # An online pass: type ONLINE_ACCESS, OFB catalog.
    return EntitlementSpec(
        group,
        tag,
        productId,
        projectId,
        ProductCatalog.OFB,
        EntitlementType.ONLINE_ACCESS,
        note=note,
    )


def _content(
    tag: str, productId: str, note: str, group: str = PC_OFFERS
) -> EntitlementSpec:
    # Content: type DEFAULT, OFB catalog, the main ME3 PC project 300241
    # (every content row in PRS and PRK has that project).
    return EntitlementSpec(
        group,
        tag,
        productId,
        "300241",
        ProductCatalog.OFB,
        EntitlementType.DEFAULT,
        note=note,
    )


#: The entitlements every player owns, in the order the reference server
#: sends them.  PRS sends C{PROJECT10_CODE_CONSUMED_LE1} /
#: C{DR:230773600} twice with the same id; it is listed once here.
USER_ENTITLEMENTS: tuple[EntitlementSpec, ...] = (
    # Online pass ("Project 10", the multiplayer pass; PRS and PRK label it
    # "required for online access").  PRS, PRK; the first also in KME.
    _pass(
        "PROJECT10_CODE_CONSUMED", "DR:229644400", "303107", "Online pass code redeemed"
    ),
    _pass(
        "PROJECT10_CODE_CONSUMED_LE1",
        "DR:230773600",
        "304141",
        "Online pass code redeemed",
    ),
    # PRS only (newest version): the Origin offer of the same pass.
    _pass(
        "PROJECT10_CODE_CONSUMED_LE1",
        "Origin.OFR.50.0005237",
        "304141",
        "Online pass code redeemed (Origin offer)",
    ),
    # ONLINE_ACCESS, one per product that grants it.  PRS and PRK; the
    # DR:229644400 row also in KME.
    _pass(ONLINE_ACCESS, "OFB-MASS:44370", "300241", "Online access"),
    _pass(ONLINE_ACCESS, "OFB-MASS:49465", "300241", "Online access"),
    _pass(ONLINE_ACCESS, "DR:229644400", "303107", "Online access"),
    _pass(ONLINE_ACCESS, "OFB-EAST:46112", "300241", "Online access"),
    _pass(ONLINE_ACCESS, "DR:230773600", "304141", "Online access"),
    # PRS only (newest version): the Origin offers.
    _pass(
        ONLINE_ACCESS, "Origin.OFR.50.0002448", "300241", "Online access (Origin offer)"
    ),
    _pass(
        ONLINE_ACCESS, "Origin.OFR.50.0005237", "303107", "Online access (Origin offer)"
    ),
    # Galaxy at War access, general group, no product.  GAW_WEB: PRS only
    # (newest version).  GAW_PC: PRS, PRK and KME (catalog 0).  GAW_XBL2:
    # PRS and PRK (catalog 2 although the product is empty).
    EntitlementSpec(
        GEN_OFFERS,
        "ONLINE_ACCESS_GAW_WEB",
        "",
        "303107",
        ProductCatalog.UNKNOWN,
        EntitlementType.ONLINE_ACCESS,
        note="Galaxy at War access (web)",
    ),
    EntitlementSpec(
        GEN_OFFERS,
        "ONLINE_ACCESS_GAW_PC",
        "",
        "303107",
        ProductCatalog.UNKNOWN,
        EntitlementType.ONLINE_ACCESS,
        note="Galaxy at War access (PC)",
    ),
    EntitlementSpec(
        GEN_OFFERS,
        "ONLINE_ACCESS_GAW_XBL2",
        "",
        "303107",
        ProductCatalog.OFB,
        EntitlementType.ONLINE_ACCESS,
        note="Galaxy at War access (Xbox Live)",
    ),
    # Single-player DLC.  PRS and PRK (names from PRK's comments);
    # EXTENDEDCUT also in KME.
    _content("ME3_PRC_EXTENDEDCUT", "OFB-MASS:51074", "Extended Cut"),
    _content("ME3_PRC_PROTHEAN", "OFB-MASS:44370", "From Ashes"),
    _content("ME3_PRC_PROTHEAN", "OFB-EAST:46112", "From Ashes"),
    _content("ME3_PRC_LEVIATHAN", "OFB-MASS:52001", "Leviathan"),
    _content("ME3_PRC_OMEGA", "OFB-MASS:55146", "Omega"),
    _content("MET_BONUS_CONTENT_DW", "OFB-EAST:58040", "Bonus content"),
    # Citadel: PRS says OFB-EAST:57550, PRK OFB-MASS:57550; PRS followed.
    _content("ME3_PRC_CITADEL", "OFB-EAST:57550", "Citadel"),
    # Single-player item packs.  PRS and PRK (names from PRK's comments).
    _content("ME3_MTX_APP01", "OFB-MASS:56984", "Alternate Appearance Pack 1"),
    _content("ME3_MTX_GUN01", "OFB-MASS:49032", "Firefight Pack"),
    _content("ME3_MTX_GUN02", "OFB-MASS:55147", "Groundside Resistance Pack"),
    # The five free multiplayer expansions.  PRS, PRK and KME (names from
    # PRK's comments).
    _content("ME3_PRC_RESURGENCE", "OFB-MASS:47872", "Resurgence (multiplayer)"),
    _content("ME3_PRC_REBELLION", "OFB-MASS:49465", "Rebellion (multiplayer)"),
    _content("ME3_PRC_EARTH", "OFB-MASS:51073", "Earth (multiplayer)"),
    _content("ME3_PRC_GOBIG", "OFB-MASS:52000", "Retaliation (multiplayer)"),
    _content("ME3_PRC_MP5", "OFB-MASS:59712", "Reckoning (multiplayer)"),
    # Promotional weapons and gear.  PRS only (not in PRK);
    # ORIGIN_BUNDLE_OWNED only in the newest PRS version.
    _content("ME3_PRO_M90_INDRA", "OFB-MASS:46111", "M-90 Indra"),
    _content("ME3_PRO_AT12_RAIDER_PACK", "OFB-MASS:46110", "AT-12 Raider pack"),
    _content("ME3_PRO_M55_ARGUS", "OFB-MASS:46033", "M-55 Argus"),
    _content("ME3_PRO_N7_WARFARE_PACK", "OFB-MASS:46032", "N7 Warfare pack"),
    _content("ME3_PRO_N7_WARFARE_PACK", "OFB-MASS:46489", "N7 Warfare pack"),
    _content("ORIGIN_BUNDLE_OWNED", "Origin.OFR.50.0002448", "Origin bundle"),
    # Collector's Edition extras (the soundtrack in the general group).
    # PRS and PRK.
    _content("ME3_MTX_COLLECTORS_EDITION", "OFB-MASS:46484", "Collector's Edition"),
    _content("ME3_MTX_DIGITAL_ART_BOOKS", "OFB-MASS:46483", "Digital art books"),
    _content("ME3_MTX_SOUNDTRACK", "OFB-MASS:46482", "Soundtrack", group=GEN_OFFERS),
    # The Dark Horse comic code (PRK/PRS: character boosters and the
    # Collector assault rifle).  PRS and PRK.
    _content("ME3_PRC_DARKHORSECOMIC", "OFB-MASS:61524", "Dark Horse comic code"),
)


def hasOnlineAccess(specs: Iterable[EntitlementSpec]) -> bool:
    """
    Whether a list holds an active online pass: an active entry tagged
    L{ONLINE_ACCESS}.
    """
    return any(
        s.entitlementTag == ONLINE_ACCESS and s.status == EntitlementStatus.ACTIVE
        for s in specs
    )


def entitlementId(playerId: int, index: int) -> int:
    """
    The C{ID} of the entry at C{index} of a player's list: stable, unique
    within the list and, for player ids below 2**53, between players.

    @raise ValueError: if C{index} is not in C{range(IDS_PER_PLAYER)}.
    """
    if not 0 <= index < IDS_PER_PLAYER:
        raise ValueError(f"entitlement index {index} out of range")
    return (playerId & _PLAYER_ID_MASK) * IDS_PER_PLAYER + index + 1


def buildEntitlements(
    playerId: int, specs: Sequence[EntitlementSpec] = USER_ENTITLEMENTS
) -> list[Entitlement]:
    """
    The listUserEntitlements2 entries for one player: one fresh
    L{Entitlement} per spec, in order, with C{PID} = C{playerId} and C{ID}
    from L{entitlementId}.

    @raise ValueError: if there are more than L{MAX_ENTITLEMENTS} specs.
    """
    if len(specs) > MAX_ENTITLEMENTS:
        raise ValueError(
            f"{len(specs)} entitlements, more than the limit of {MAX_ENTITLEMENTS}"
        )
    return [
        Entitlement(
            deviceUri="",
            grantDate=spec.grantDate,
            groupName=spec.groupName,
            id=entitlementId(playerId, index),
            consumable=spec.consumable,
            personaId=playerId,
            projectId=spec.projectId,
            productCatalog=spec.productCatalog,
            productId=spec.productId,
            status=spec.status,
            statusReasonCode=0,
            entitlementTag=spec.entitlementTag,
            terminationDate=spec.terminationDate,
            entitlementType=spec.entitlementType,
            useCount=spec.useCount,
            version=spec.version,
        )
        for index, spec in enumerate(specs)
    ]


# ---------------------------------------------------------------------------
# Operator lists


class EntitlementListError(ValueError):
    """
    An operator's entitlement list cannot be used; the message says where
    and why.
    """


_ENUMS: dict[str, type[Any]] = {
    "productCatalog": ProductCatalog,
    "type": EntitlementType,
    "status": EntitlementStatus,
}

_INT32_MAX = (1 << 31) - 1
_UINT32_MAX = (1 << 32) - 1

# JSON key -> (EntitlementSpec attribute, required)
_STRING_KEYS = {
    "group": ("groupName", True),
    "tag": ("entitlementTag", True),
    "productId": ("productId", False),
    "projectId": ("projectId", False),
    "grantDate": ("grantDate", False),
    "terminationDate": ("terminationDate", False),
    "note": ("note", False),
}
_ENUM_KEYS = {
    "productCatalog": "productCatalog",
    "type": "entitlementType",
    "status": "status",
}
_COUNT_KEYS = {"useCount": "useCount", "version": "version"}
_ALL_KEYS = (
    frozenset(_STRING_KEYS)
    | frozenset(_ENUM_KEYS)
    | frozenset(_COUNT_KEYS)
    | {"consumable"}
)


def _string(where: str, key: str, value: Any, required: bool) -> str:
    if not isinstance(value, str):
        raise EntitlementListError(f"{where}: {key!r} must be a string")
    if required and not value:
        raise EntitlementListError(f"{where}: {key!r} must not be empty")
    if len(value) > MAX_STRING_LENGTH:
        raise EntitlementListError(
            f"{where}: {key!r} is longer than {MAX_STRING_LENGTH} characters"
        )
    if "\x00" in value:
        raise EntitlementListError(f"{where}: {key!r} contains a NUL character")
    return value


def _enum(where: str, key: str, value: Any) -> int:
    kind = _ENUMS[key]
    if isinstance(value, str):
        try:
            return int(kind[value.strip().upper()])
        except KeyError:
            names = ", ".join(member.name for member in kind)
            raise EntitlementListError(
                f"{where}: {key!r} {value[:40]!r} is not one of {names} or a number"
            )
    if isinstance(value, bool) or not isinstance(value, int):
        raise EntitlementListError(f"{where}: {key!r} must be a name or a number")
    if not 0 <= value <= _INT32_MAX:
        raise EntitlementListError(f"{where}: {key!r} {value} is out of range")
    return value


def _count(where: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EntitlementListError(f"{where}: {key!r} must be a whole number")
    if not 0 <= value <= _UINT32_MAX:
        raise EntitlementListError(f"{where}: {key!r} {value} is out of range")
    return value


def _entry(number: int, item: Any) -> EntitlementSpec:
    where = f"entry {number}"
    if not isinstance(item, Mapping):
        raise EntitlementListError(f"{where}: not an object")
    unknown = sorted(str(key) for key in item if key not in _ALL_KEYS)
    if unknown:
        raise EntitlementListError(
            f"{where}: unknown key {unknown[0][:40]!r} (known: "
            f"{', '.join(sorted(_ALL_KEYS))})"
        )
    fields: dict[str, Any] = {}
    for key, (attribute, required) in _STRING_KEYS.items():
        if key in item:
            fields[attribute] = _string(where, key, item[key], required)
        elif required:
            raise EntitlementListError(f"{where}: {key!r} is missing")
        elif attribute in ("productId", "projectId"):
            fields[attribute] = ""
    for key, attribute in _ENUM_KEYS.items():
        if key in item:
            fields[attribute] = _enum(where, key, item[key])
    for key, attribute in _COUNT_KEYS.items():
        if key in item:
            fields[attribute] = _count(where, key, item[key])
    if "consumable" in item:
        if not isinstance(item["consumable"], bool):
            raise EntitlementListError(f"{where}: 'consumable' must be true or false")
        fields["consumable"] = item["consumable"]
    return EntitlementSpec(**fields)


def parseEntitlementList(text: str) -> tuple[EntitlementSpec, ...]:
    """
    Read an operator's entitlement list: a JSON array of objects, one per
    entitlement, in the order they are sent.

    Keys of an object (only C{group} and C{tag} are required)::

        group            string   GNAM, e.g. "ME3PCOffers"
        tag              string   TAG, e.g. "ONLINE_ACCESS"
        productId        string   PRID (default "")
        projectId        string   PJID (default "")
        productCatalog   PRCA: "UNKNOWN", "SKUD", "OFB" or a number (default OFB)
        type             TYPE: "ONLINE_ACCESS", "DEFAULT", ... or a number
                         (default DEFAULT)
        status           STAT: "ACTIVE", "DISABLED", ... or a number
                         (default ACTIVE)
        grantDate        string   GDAY (default "2012-12-15T16:15Z")
        terminationDate  string   TDAY (default "")
        useCount         number   UCNT (default 0)
        version          number   VER (default 0)
        consumable       boolean  ISCO (default false)
        note             string   ignored; a comment for people

    Enumeration names are case-insensitive.  Ids and the persona id are not
    part of the file: they are derived per player.

    @raise EntitlementListError: if the text is not JSON, not a non-empty
        array of at most L{MAX_ENTITLEMENTS} objects, or an object has an
        unknown or missing key, a value of the wrong kind, out of range or
        longer than L{MAX_STRING_LENGTH}.
    """
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise EntitlementListError(f"not valid JSON: {e}")
    if not isinstance(document, list):
        raise EntitlementListError("the document must be a JSON array of objects")
    if not document:
        raise EntitlementListError("the array is empty")
    if len(document) > MAX_ENTITLEMENTS:
        raise EntitlementListError(
            f"{len(document)} entries, more than the limit of {MAX_ENTITLEMENTS}"
        )
    return tuple(_entry(number, item) for number, item in enumerate(document, 1))
