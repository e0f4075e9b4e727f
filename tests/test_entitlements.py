# -*- test-case-name: tests.test_entitlements -*-
"""
Tests for L{pocketrelay.me3.entitlements} and
L{pocketrelay.server.gamedata.GameData.entitlements}.
"""

from __future__ import annotations

import json
import os
from typing import Any

from twisted.logger import LogLevel
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.blaze import tdf
from pocketrelay.me3 import entitlements
from pocketrelay.me3.clientconfig import ConfigContext
from pocketrelay.me3.entitlements import (
    GEN_OFFERS,
    IDS_PER_PLAYER,
    MAX_ENTITLEMENTS,
    ONLINE_ACCESS,
    PC_OFFERS,
    USER_ENTITLEMENTS,
    EntitlementListError,
    EntitlementSpec,
    buildEntitlements,
    entitlementId,
    hasOnlineAccess,
    parseEntitlementList,
)
from pocketrelay.me3.messages.auth import (
    ENTITLEMENT_GRANT_DATE,
    Entitlement,
    Entitlements,
    EntitlementStatus,
    EntitlementType,
    ProductCatalog,
)
from pocketrelay.server.gamedata import USER_ENTITLEMENTS_FILE, GameData
from pocketrelay.testing.logs import captureLogs

#: The five multiplayer expansions and their store products.
MULTIPLAYER_DLC = {
    "ME3_PRC_RESURGENCE": "OFB-MASS:47872",
    "ME3_PRC_REBELLION": "OFB-MASS:49465",
    "ME3_PRC_EARTH": "OFB-MASS:51073",
    "ME3_PRC_GOBIG": "OFB-MASS:52000",
    "ME3_PRC_MP5": "OFB-MASS:59712",
}

#: The single-player DLC tags.
SINGLE_PLAYER_DLC = (
    "ME3_PRC_EXTENDEDCUT",
    "ME3_PRC_PROTHEAN",
    "ME3_PRC_LEVIATHAN",
    "ME3_PRC_OMEGA",
    "ME3_PRC_CITADEL",
)


def byTag(specs: Any, tag: str) -> list[Any]:
    return [s for s in specs if s.entitlementTag == tag]


def specToJson(spec: EntitlementSpec) -> dict[str, Any]:
    """
    The operator-file object for C{spec}, every key spelled out.
    """
    return {
        "group": spec.groupName,
        "tag": spec.entitlementTag,
        "productId": spec.productId,
        "projectId": spec.projectId,
        "productCatalog": ProductCatalog(spec.productCatalog).name,
        "type": EntitlementType(spec.entitlementType).name,
        "status": EntitlementStatus(spec.status).name,
        "grantDate": spec.grantDate,
        "terminationDate": spec.terminationDate,
        "useCount": spec.useCount,
        "version": spec.version,
        "consumable": spec.consumable,
        "note": spec.note,
    }


class BuiltinListTests(SynchronousTestCase):
    """
    L{USER_ENTITLEMENTS} holds what the reference servers send.
    """

    def test_onlinePass(self) -> None:
        """
        The online pass is there: active C{ONLINE_ACCESS} entries of type
        C{ONLINE_ACCESS} in C{ME3PCOffers}, among them the one for project
        303107 / C{DR:229644400}, and the redeemed "Project 10" code.
        """
        passes = byTag(USER_ENTITLEMENTS, ONLINE_ACCESS)
        self.assertEqual(len(passes), 7)
        for spec in passes:
            self.assertEqual(spec.groupName, PC_OFFERS)
            self.assertEqual(spec.entitlementType, EntitlementType.ONLINE_ACCESS)
            self.assertEqual(spec.status, EntitlementStatus.ACTIVE)
            self.assertEqual(spec.productCatalog, ProductCatalog.OFB)
        self.assertIn(
            ("DR:229644400", "303107"),
            [(s.productId, s.projectId) for s in passes],
        )
        [project10] = byTag(USER_ENTITLEMENTS, "PROJECT10_CODE_CONSUMED")
        self.assertEqual(
            (project10.productId, project10.projectId, project10.entitlementType),
            ("DR:229644400", "303107", EntitlementType.ONLINE_ACCESS),
        )
        self.assertTrue(hasOnlineAccess(USER_ENTITLEMENTS))

    def test_multiplayerDlc(self) -> None:
        """
        The five multiplayer expansions are there, each once, as content
        (type C{DEFAULT}) of project 300241 in the OFB catalog.
        """
        for tag, productId in MULTIPLAYER_DLC.items():
            [spec] = byTag(USER_ENTITLEMENTS, tag)
            self.assertEqual(
                (
                    spec.groupName,
                    spec.productId,
                    spec.projectId,
                    spec.productCatalog,
                    spec.entitlementType,
                ),
                (
                    PC_OFFERS,
                    productId,
                    "300241",
                    ProductCatalog.OFB,
                    EntitlementType.DEFAULT,
                ),
                tag,
            )

    def test_singlePlayerDlcAndPacks(self) -> None:
        """
        The single-player DLC and item packs are there.
        """
        tags = {s.entitlementTag for s in USER_ENTITLEMENTS}
        for tag in (
            *SINGLE_PLAYER_DLC,
            "ME3_MTX_APP01",
            "ME3_MTX_GUN01",
            "ME3_MTX_GUN02",
            "ME3_MTX_COLLECTORS_EDITION",
            "ME3_PRC_DARKHORSECOMIC",
        ):
            self.assertIn(tag, tags)

    def test_galaxyAtWar(self) -> None:
        """
        The Galaxy at War access entries and the soundtrack are the only
        ones in C{ME3GenOffers}; every other entry is in C{ME3PCOffers}.
        """
        general = sorted(
            s.entitlementTag for s in USER_ENTITLEMENTS if s.groupName == GEN_OFFERS
        )
        self.assertEqual(
            general,
            [
                "ME3_MTX_SOUNDTRACK",
                "ONLINE_ACCESS_GAW_PC",
                "ONLINE_ACCESS_GAW_WEB",
                "ONLINE_ACCESS_GAW_XBL2",
            ],
        )
        self.assertEqual(
            {s.groupName for s in USER_ENTITLEMENTS}, {PC_OFFERS, GEN_OFFERS}
        )
        [gawPc] = byTag(USER_ENTITLEMENTS, "ONLINE_ACCESS_GAW_PC")
        self.assertEqual(
            (gawPc.productId, gawPc.projectId, gawPc.productCatalog),
            ("", "303107", ProductCatalog.UNKNOWN),
        )

    def test_sizeAndUniqueness(self) -> None:
        """
        The list holds 38 distinct entries (the reference server's 39 minus
        its one exact repeat): fewer than the 50 the game asks for per page.
        """
        self.assertEqual(len(USER_ENTITLEMENTS), 38)
        keys = {
            (s.groupName, s.entitlementTag, s.productId, s.projectId)
            for s in USER_ENTITLEMENTS
        }
        self.assertEqual(len(keys), len(USER_ENTITLEMENTS))

    def test_referenceDefaults(self) -> None:
        """
        Every entry carries what the reference server sends for all: active,
        granted 2012-12-15T16:15Z, no termination date, not consumable, use
        count and version 0.
        """
        for spec in USER_ENTITLEMENTS:
            self.assertEqual(
                (
                    spec.status,
                    spec.grantDate,
                    spec.terminationDate,
                    spec.consumable,
                    spec.useCount,
                    spec.version,
                ),
                (EntitlementStatus.ACTIVE, "2012-12-15T16:15Z", "", False, 0, 0),
            )
            self.assertIn(
                spec.entitlementType,
                (EntitlementType.ONLINE_ACCESS, EntitlementType.DEFAULT),
            )

    def test_hasOnlineAccess(self) -> None:
        """
        L{hasOnlineAccess} wants an active C{ONLINE_ACCESS} entry.
        """
        active = EntitlementSpec(PC_OFFERS, ONLINE_ACCESS, "", "")
        disabled = EntitlementSpec(
            PC_OFFERS, ONLINE_ACCESS, "", "", status=EntitlementStatus.DISABLED
        )
        other = EntitlementSpec(PC_OFFERS, "ME3_PRC_MP5", "", "")
        self.assertTrue(hasOnlineAccess([other, active]))
        self.assertFalse(hasOnlineAccess([other, disabled]))
        self.assertFalse(hasOnlineAccess([]))


class BuildTests(SynchronousTestCase):
    """
    L{buildEntitlements} makes the reply entries for one player.
    """

    def test_personaId(self) -> None:
        """
        Every entry's C{PID} is the player's id.
        """
        for playerId in (1, 42, 9_000_000):
            built = buildEntitlements(playerId)
            self.assertEqual({e.personaId for e in built}, {playerId})

    def test_idsUniqueAndStable(self) -> None:
        """
        Ids are unique within a list, positive, the same on every call, and
        do not collide between players.
        """
        first = [e.id for e in buildEntitlements(5)]
        self.assertEqual(len(set(first)), len(first))
        self.assertTrue(all(i > 0 for i in first))
        self.assertEqual(first, [e.id for e in buildEntitlements(5)])
        neighbours = {e.id for e in buildEntitlements(4)} | {
            e.id for e in buildEntitlements(6)
        }
        self.assertFalse(neighbours & set(first))

    def test_entitlementId(self) -> None:
        """
        L{entitlementId} gives each player a block of L{IDS_PER_PLAYER}
        ids; indexes outside the block are refused; huge or negative player
        ids still give ids in the unsigned 64-bit range.
        """
        self.assertEqual(entitlementId(0, 0), 1)
        self.assertEqual(entitlementId(1, 0), IDS_PER_PLAYER + 1)
        self.assertEqual(entitlementId(1, IDS_PER_PLAYER - 1), 2 * IDS_PER_PLAYER)
        self.assertRaises(ValueError, entitlementId, 1, IDS_PER_PLAYER)
        self.assertRaises(ValueError, entitlementId, 1, -1)
        for playerId in (2**63 - 1, -1, -(2**63)):
            self.assertTrue(0 < entitlementId(playerId, 999) < 2**63)
        self.assertGreaterEqual(IDS_PER_PLAYER, MAX_ENTITLEMENTS)

    def test_fieldsFromSpec(self) -> None:
        """
        Each entry carries its spec's values in order, with C{DEVI} empty
        and C{STRC} 0.
        """
        built = buildEntitlements(3)
        self.assertEqual(len(built), len(USER_ENTITLEMENTS))
        for spec, entry in zip(USER_ENTITLEMENTS, built, strict=True):
            self.assertEqual(
                (
                    entry.groupName,
                    entry.entitlementTag,
                    entry.productId,
                    entry.projectId,
                    entry.productCatalog,
                    entry.entitlementType,
                    entry.status,
                    entry.grantDate,
                    entry.terminationDate,
                    entry.useCount,
                    entry.version,
                    entry.consumable,
                    entry.deviceUri,
                    entry.statusReasonCode,
                ),
                (
                    spec.groupName,
                    spec.entitlementTag,
                    spec.productId,
                    spec.projectId,
                    spec.productCatalog,
                    spec.entitlementType,
                    spec.status,
                    spec.grantDate,
                    spec.terminationDate,
                    spec.useCount,
                    spec.version,
                    spec.consumable,
                    "",
                    0,
                ),
            )

    def test_fresh(self) -> None:
        """
        Each call returns new values: changing one does not change the next
        call's.
        """
        built = buildEntitlements(3)
        built[0].entitlementTag = "CHANGED"
        built.clear()
        self.assertEqual(
            buildEntitlements(3)[0].entitlementTag, "PROJECT10_CODE_CONSUMED"
        )

    def test_tooMany(self) -> None:
        """
        More than L{MAX_ENTITLEMENTS} specs are refused.
        """
        spec = EntitlementSpec(PC_OFFERS, "X", "", "")
        self.assertEqual(len(buildEntitlements(1, [spec] * MAX_ENTITLEMENTS)), 1000)
        self.assertRaises(
            ValueError, buildEntitlements, 1, [spec] * (MAX_ENTITLEMENTS + 1)
        )

    def test_roundTrip(self) -> None:
        """
        The reply encodes and decodes back equal, also for the largest
        player id.
        """
        for playerId in (1, 2**63 - 1):
            reply = Entitlements(entitlements=buildEntitlements(playerId))
            self.assertEqual(tdf.decode(Entitlements, tdf.encode(reply)), reply)

    def test_wireTags(self) -> None:
        """
        On the wire each entry is a struct in C{NLST} with the sixteen tags
        of blaze-wire.md 5.7, the type under C{TYPE}.
        """
        body = tdf.encode(Entitlements(entitlements=buildEntitlements(9)))
        [member] = tdf.decodeStruct(body).members
        self.assertEqual(member.tag, "NLST")
        self.assertEqual(member.value.elementType, tdf.TdfType.STRUCT)
        self.assertEqual(len(member.value.items), len(USER_ENTITLEMENTS))
        first = member.value.items[0]
        self.assertEqual(
            [m.tag for m in first.members],
            "DEVI GDAY GNAM ID ISCO PID PJID PRCA PRID STAT STRC TAG TDAY "
            "TYPE UCNT VER".split(),
        )
        values = {m.tag: m.value for m in first.members}
        self.assertEqual(values["PID"], 9)
        self.assertEqual(values["TYPE"], EntitlementType.ONLINE_ACCESS)
        self.assertEqual(values["GDAY"], ENTITLEMENT_GRANT_DATE)


class ParseTests(SynchronousTestCase):
    """
    L{parseEntitlementList} reads an operator's JSON list.
    """

    def assertRefused(self, document: Any, fragment: str) -> None:
        text = document if isinstance(document, str) else json.dumps(document)
        error = self.assertRaises(EntitlementListError, parseEntitlementList, text)
        self.assertIsInstance(error, ValueError)
        self.assertIn(fragment, str(error))

    def test_minimal(self) -> None:
        """
        C{group} and C{tag} suffice; the rest takes the defaults.
        """
        [spec] = parseEntitlementList('[{"group": "ME3PCOffers", "tag": "X"}]')
        self.assertEqual(spec, EntitlementSpec(PC_OFFERS, "X", "", ""))
        self.assertEqual(
            (spec.productCatalog, spec.entitlementType, spec.status, spec.grantDate),
            (
                ProductCatalog.OFB,
                EntitlementType.DEFAULT,
                EntitlementStatus.ACTIVE,
                ENTITLEMENT_GRANT_DATE,
            ),
        )

    def test_builtinListAsJson(self) -> None:
        """
        The built-in list written out with every key reads back equal,
        notes included.
        """
        text = json.dumps([specToJson(s) for s in USER_ENTITLEMENTS], indent=2)
        parsed = parseEntitlementList(text)
        self.assertEqual(parsed, USER_ENTITLEMENTS)
        self.assertEqual([s.note for s in parsed], [s.note for s in USER_ENTITLEMENTS])

    def test_enumNamesAndNumbers(self) -> None:
        """
        Enumerations take names in any case or numbers.
        """
        [a, b] = parseEntitlementList(
            json.dumps(
                [
                    {
                        "group": "g",
                        "tag": "t",
                        "type": "online_access",
                        "status": "Disabled",
                        "productCatalog": "skud",
                    },
                    {
                        "group": "g",
                        "tag": "t",
                        "type": 1,
                        "status": 2,
                        "productCatalog": 7,
                    },
                ]
            )
        )
        self.assertEqual(
            (a.entitlementType, a.status, a.productCatalog),
            (EntitlementType.ONLINE_ACCESS, EntitlementStatus.DISABLED, 1),
        )
        self.assertEqual((b.entitlementType, b.status, b.productCatalog), (1, 2, 7))

    def test_documentErrors(self) -> None:
        """
        Not JSON, not an array, an empty array or one longer than
        L{MAX_ENTITLEMENTS} are refused.
        """
        self.assertRefused("[{", "not valid JSON")
        self.assertRefused("", "not valid JSON")
        self.assertRefused({"group": "g", "tag": "t"}, "JSON array")
        self.assertRefused([], "empty")
        self.assertRefused(
            [{"group": "g", "tag": "t"}] * (MAX_ENTITLEMENTS + 1), "more than the limit"
        )
        self.assertRefused("[" * 100_000 + "]" * 100_000, "not valid JSON")

    def test_entryErrors(self) -> None:
        """
        Each bad entry is refused with its number and the problem.
        """
        ok = {"group": "g", "tag": "t"}
        cases: list[tuple[Any, str]] = [
            ("text", "entry 2: not an object"),
            ({"group": "g"}, "entry 2: 'tag' is missing"),
            ({"group": "g", "tag": ""}, "'tag' must not be empty"),
            ({"group": 1, "tag": "t"}, "'group' must be a string"),
            ({**ok, "tags": "x"}, "unknown key 'tags'"),
            ({**ok, "productId": "x" * 257}, "longer than 256"),
            ({**ok, "projectId": "a\x00b"}, "NUL"),
            ({**ok, "type": "FREE"}, "'type' 'FREE' is not one of"),
            ({**ok, "type": True}, "'type' must be a name or a number"),
            ({**ok, "type": 1.5}, "'type' must be a name or a number"),
            ({**ok, "status": -1}, "out of range"),
            ({**ok, "status": 2**31}, "out of range"),
            ({**ok, "useCount": 2**32}, "out of range"),
            ({**ok, "version": "1"}, "must be a whole number"),
            ({**ok, "version": False}, "must be a whole number"),
            ({**ok, "consumable": 1}, "true or false"),
            ({**ok, "grantDate": None}, "'grantDate' must be a string"),
        ]
        for entry, fragment in cases:
            self.assertRefused([ok, entry], fragment)

    def test_limits(self) -> None:
        """
        The limits are a thousand entries and 256-character strings; a
        string at the limit is accepted.
        """
        self.assertEqual(MAX_ENTITLEMENTS, 1000)
        self.assertEqual(entitlements.MAX_STRING_LENGTH, 256)
        [spec] = parseEntitlementList(json.dumps([{"group": "g", "tag": "t" * 256}]))
        self.assertEqual(len(spec.entitlementTag), 256)


class GameDataEntitlementsTests(SynchronousTestCase):
    """
    L{GameData.entitlements} sends the built-in list or the operator's
    C{user_entitlements.json}.
    """

    def setUp(self) -> None:
        self.dataDir = FilePath(self.mktemp())
        self.dataDir.makedirs()
        self.gameData = GameData(self.dataDir, ConfigContext(serverVersion="1.2.3"))
        self.events = captureLogs(self)

    def write(self, content: bytes, mtime: float = 1_000_000) -> None:
        path = self.dataDir.child(USER_ENTITLEMENTS_FILE)
        path.setContent(content)
        os.utime(path.path, (mtime, mtime))

    def warnings(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["log_level"] is LogLevel.warn]

    def test_builtin(self) -> None:
        """
        Without a file every player gets the built-in list with their own
        persona id; the absence is logged once.
        """
        for playerId in (1, 2, 1):
            self.assertEqual(
                self.gameData.entitlements(playerId), buildEntitlements(playerId)
            )
        infos = [e for e in self.events if e["log_level"] is LogLevel.info]
        self.assertEqual(len(infos), 1)
        self.assertIn(USER_ENTITLEMENTS_FILE, infos[0]["names"])
        self.assertEqual(self.warnings(), [])

    def test_reply(self) -> None:
        """
        The list makes a reply that encodes and decodes back equal.
        """
        reply = Entitlements(entitlements=self.gameData.entitlements(77))
        self.assertEqual(tdf.decode(Entitlements, tdf.encode(reply)), reply)
        self.assertIn(ONLINE_ACCESS, [e.entitlementTag for e in reply.entitlements])

    def test_operatorFile(self) -> None:
        """
        C{user_entitlements.json} replaces the list; it is read once and
        read again when it changes.
        """
        self.write(
            b'\xef\xbb\xbf[{"group": "ME3PCOffers", "tag": "ONLINE_ACCESS", '
            b'"type": "ONLINE_ACCESS", "productId": "P"}]'
        )
        [entry] = self.gameData.entitlements(8)
        self.assertEqual(
            (entry.entitlementTag, entry.productId, entry.personaId, entry.id),
            (ONLINE_ACCESS, "P", 8, entitlementId(8, 0)),
        )
        self.assertEqual(self.gameData.entitlements(8), [entry])
        self.write(
            b'[{"group": "g", "tag": "ONLINE_ACCESS"}, {"group": "g", "tag": "B"}]',
            mtime=1_000_100,
        )
        self.assertEqual(
            [e.entitlementTag for e in self.gameData.entitlements(8)],
            [ONLINE_ACCESS, "B"],
        )
        self.assertEqual(self.warnings(), [])

    def test_badFile(self) -> None:
        """
        An unusable file gives one warning naming the problem and the
        built-in list, however often the list is asked for.
        """
        self.write(b'[{"group": "g", "tag": "t", "colour": "red"}]')
        for _ in range(3):
            self.assertEqual(self.gameData.entitlements(4), buildEntitlements(4))
        [warning] = self.warnings()
        self.assertIn("unknown key 'colour'", warning["reason"])
        self.assertIn("built-in entitlement list", warning["fallback"])

    def test_notUtf8(self) -> None:
        """
        A file that is not UTF-8 gives the built-in list.
        """
        self.write(b'[{"group": "g", "tag": "\xff"}]')
        self.assertEqual(self.gameData.entitlements(4), buildEntitlements(4))
        self.assertEqual(len(self.warnings()), 1)

    def test_emptyFile(self) -> None:
        """
        An empty file gives the built-in list.
        """
        self.write(b"")
        self.assertEqual(self.gameData.entitlements(4), buildEntitlements(4))
        [warning] = self.warnings()
        self.assertIn("empty", warning["reason"])

    def test_withoutOnlineAccess(self) -> None:
        """
        A list without an active C{ONLINE_ACCESS} entry is used, with one
        warning that multiplayer may be refused.
        """
        self.write(b'[{"group": "g", "tag": "ME3_PRC_MP5"}]')
        for _ in range(2):
            [entry] = self.gameData.entitlements(4)
            self.assertEqual(entry.entitlementTag, "ME3_PRC_MP5")
        [warning] = self.warnings()
        self.assertEqual(warning["tag"], ONLINE_ACCESS)
        self.assertEqual(warning["name"], USER_ENTITLEMENTS_FILE)

    def test_fresh(self) -> None:
        """
        Changing a returned list or entry does not change the next answer.
        """
        first = self.gameData.entitlements(4)
        first[0].productId = "CHANGED"
        first.pop()
        self.assertEqual(self.gameData.entitlements(4), buildEntitlements(4))

    def test_builtinUnchanged(self) -> None:
        """
        The operator file does not leak into the module's built-in list.
        """
        self.write(b'[{"group": "g", "tag": "ONLINE_ACCESS"}]')
        self.gameData.entitlements(4)
        self.assertEqual(len(USER_ENTITLEMENTS), 38)
        self.assertIsInstance(self.gameData.entitlements(4)[0], Entitlement)
