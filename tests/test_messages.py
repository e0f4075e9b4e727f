# -*- test-case-name: tests.test_messages -*-
"""
Tests for L{pocketrelay.me3.messages}: every declared ME3 message
round-trips, is written in ascending tag order, and the messages with
known bytes encode to exactly those bytes.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.blaze import tdf
from pocketrelay.me3.messages import (
    associations,
    auth,
    common,
    gameenums,
    gamemanager,
    gamereporting,
    messaging,
    redirector,
    stats,
    usersessions,
    util,
)

#: The project's copy of the reference vectors (tests.test_tdf checks it
#: against shared/ when that is beside the checkout).
_VECTORS = Path(__file__).resolve().parent / "data" / "tdf-vectors.json"

#: The message modules whose classes the generic tests cover.
MODULE_NAMES = [
    "common",
    "redirector",
    "util",
    "auth",
    "usersessions",
    "messaging",
    "stats",
    "associations",
    "gamereporting",
    "gameenums",
    "gamemanager",
]


def _modules() -> list[ModuleType]:
    found = []
    for name in MODULE_NAMES:
        try:
            found.append(importlib.import_module(f"pocketrelay.me3.messages.{name}"))
        except ModuleNotFoundError:
            continue
    return found


def messageClasses() -> list[type]:
    """
    Every L{tdf.tdfStruct} class defined in the message modules, once.
    """
    seen: dict[type, None] = {}
    for module in _modules():
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and "__tdf_codec__" in value.__dict__
                and value.__module__ == module.__name__
            ):
                seen[value] = None
    return list(seen)


def _specs(cls: type) -> tuple[Any, ...]:
    specs: tuple[Any, ...] = cls.__dict__["__tdf_codec__"].specs
    return specs


def sampleValue(kind: tdf.Kind, depth: int = 0) -> Any:
    """
    A non-default value of C{kind}, so that a round trip proves every
    member is read back into the same attribute.
    """
    if kind is tdf.Bool:
        return True
    if kind is tdf.UInt:
        return 2**32 + 7
    if kind is tdf.Int:
        return -5
    if kind is tdf.Str:
        return "sample"
    if kind is tdf.Blob:
        return b"\x01\x02"
    if kind is tdf.Float:
        return 1.5
    if kind is tdf.ObjType:
        return tdf.ObjectType(4, 1)
    if kind is tdf.ObjId:
        return tdf.ObjectId(4, 1, 99)
    if kind is tdf.Var:
        return tdf.VariableValue(1, tdf.Member("VALU", tdf.TdfType.INT, 3))
    if kind is tdf.GenericStruct:
        return tdf.StructValue((tdf.Member("A", tdf.TdfType.INT, 1),))
    if isinstance(kind, tdf.StructOf):
        return sampleInstance(kind.cls, depth + 1)
    if isinstance(kind, tdf.ListOf):
        element = kind.element
        if isinstance(element, tdf.UnionOf):
            structs = [
                (i, k)
                for i, k in sorted(element.alternatives.items())
                if i != 0 and isinstance(k, tdf.StructOf)
            ]
            if not structs:
                # Only struct alternatives can be written inside a list.
                return []
            index, alternative = structs[0]
            return [tdf.Choice(index, sampleValue(alternative, depth + 1))]
        return [sampleValue(element, depth + 1)]
    if isinstance(kind, tdf.MapOf):
        return {sampleValue(kind.key, depth + 1): sampleValue(kind.value, depth + 1)}
    if isinstance(kind, tdf.UnionOf):
        index, chosen = max(kind.alternatives.items())
        return tdf.Choice(index, sampleValue(chosen, depth + 1))
    raise AssertionError(f"no sample for {kind!r}")


def sampleInstance(cls: type, depth: int = 0) -> Any:
    """
    An instance of C{cls} with every member set to a non-default value
    (optional members included).
    """
    values = {spec.name: sampleValue(spec.kind, depth) for spec in _specs(cls)}
    return cls(**values)


def tagsOnWire(body: bytes) -> list[str]:
    """
    The top-level member tags of an encoded body, in wire order.
    """
    return [item.tag for item in tdf.decodeStruct(body).members]


def loadVectors() -> dict[str, str]:
    with _VECTORS.open() as f:
        return {entry["id"]: entry["hex"] for entry in json.load(f)}


def vectorBody(vectorId: str) -> bytes:
    """
    The body of a whole-frame vector: the bytes after the 12-byte header.
    """
    return bytes.fromhex(loadVectors()[vectorId])[12:]


class AllMessagesTests(SynchronousTestCase):
    """
    Properties every declared message has.
    """

    def test_classesFound(self) -> None:
        """
        The discovery finds the declared classes of every module, so the
        generic tests below cannot pass by testing nothing.
        """
        classes = messageClasses()
        self.assertIn(common.UserSessionExtendedData, classes)
        self.assertIn(util.PreAuthResponse, classes)
        self.assertGreater(len(classes), 50)

    def test_defaultRoundTrip(self) -> None:
        """
        Encoding a default instance and decoding the bytes gives an equal
        instance, for every class.
        """
        for cls in messageClasses():
            value = cls()
            self.assertEqual(tdf.decode(cls, tdf.encode(value)), value, cls.__name__)

    def test_sampleRoundTrip(self) -> None:
        """
        An instance with every member set to a non-default value survives
        a round trip, for every class: each member is declared with a kind
        that reads back what it wrote.
        """
        for cls in messageClasses():
            value = sampleInstance(cls)
            context = tdf.DecodeContext()
            decoded: Any = tdf.decode(cls, tdf.encode(value), context)
            self.assertEqual(decoded, value, cls.__name__)
            self.assertEqual(context.anomalies, [], cls.__name__)

    def test_ascendingTags(self) -> None:
        """
        Members are written in ascending tag order, and every non-optional
        member is written, for default and filled instances.
        """
        for cls in messageClasses():
            for value in (cls(), sampleInstance(cls)):
                tags = tagsOnWire(tdf.encode(value))
                raw = [tdf.encodeTag(t) for t in tags]
                self.assertEqual(raw, sorted(raw), cls.__name__)
                self.assertEqual(len(set(raw)), len(raw), cls.__name__)
                required = {s.tag for s in _specs(cls) if not s.optional}
                self.assertTrue(required.issubset(tags), cls.__name__)

    def test_truncatedInput(self) -> None:
        """
        Every prefix of a filled message either decodes or raises
        L{tdf.TdfDecodeError}; nothing else escapes.
        """
        for cls in messageClasses():
            body = tdf.encode(sampleInstance(cls))
            step = max(1, len(body) // 150)
            for end in range(0, len(body), step):
                try:
                    tdf.decode(cls, body[:end])
                except tdf.TdfDecodeError:
                    pass

    def test_docstringsNameTags(self) -> None:
        """
        Every class docstring lists the wire tags of its members.
        """
        for cls in messageClasses():
            doc = cls.__doc__ or ""
            for spec in _specs(cls):
                self.assertIn(f"C{{{spec.tag}}}", doc, f"{cls.__name__}.{spec.tag}")

    def test_structDefaultsNotShared(self) -> None:
        """
        Struct-valued defaults are fresh for every instance: changing one
        instance's nested struct leaves new instances untouched.
        """
        for cls in messageClasses():
            first, second = cls(), cls()
            for spec in _specs(cls):
                if isinstance(spec.kind, tdf.StructOf) and not spec.optional:
                    self.assertIsNot(
                        getattr(first, spec.name),
                        getattr(second, spec.name),
                        f"{cls.__name__}.{spec.name}",
                    )


class CommonTests(SynchronousTestCase):
    """
    Tests for L{common}.
    """

    def test_ipv4(self) -> None:
        """
        L{common.ipv4ToInt} and L{common.intToIpv4} convert between dotted
        and big-endian integer forms, including addresses above 2**31.
        """
        self.assertEqual(common.ipv4ToInt("127.0.0.1"), 0x7F000001)
        self.assertEqual(common.ipv4ToInt("192.168.1.2"), 0xC0A80102)
        self.assertEqual(common.intToIpv4(0xC0A80102), "192.168.1.2")
        self.assertRaises(ValueError, common.ipv4ToInt, "1.2.3")
        self.assertRaises(ValueError, common.intToIpv4, 2**32)

    def test_largeIpIsUnsigned(self) -> None:
        """
        An address above 2**31 is written as a positive varint and read back
        unchanged.
        """
        address = common.IpAddress.fromString("203.0.113.9", 3659)
        body = tdf.encode(address)
        self.assertEqual(body[4] & 0xC0, 0x80)  # more bytes, sign clear
        self.assertEqual(tdf.decode(common.IpAddress, body), address)
        self.assertEqual(address.host, "203.0.113.9")

    def test_signCastU64(self) -> None:
        """
        A u64 member written sign-cast to a negative value (as A4K's writer
        does at 2**63 and above) reads back as the unsigned value.
        """
        value = 2**63 + 5
        body = tdf.encodeStruct([tdf.Member("XUID", tdf.TdfType.INT, value - 2**64)])
        self.assertEqual(tdf.decode(common.XboxClientAddress, body).xboxUserId, value)

    def test_networkAddress(self) -> None:
        """
        L{common.networkAddress} picks the union index from the struct
        class and refuses anything else.
        """
        pair = common.IpPairAddress()
        self.assertEqual(common.networkAddress(pair), tdf.Choice(2, pair))
        self.assertEqual(common.networkAddress(common.IpAddress()).index, 3)
        self.assertEqual(common.networkAddress(common.HostNameAddress()).index, 4)
        self.assertEqual(common.networkAddress(None), tdf.Choice())
        self.assertRaises(TypeError, common.networkAddress, "1.2.3.4")

    def test_extendedDataDefaultBytes(self) -> None:
        """
        The default extended data writes C{CVAR} as C{07 00}, leaves C{CMAP}
        out, and writes C{ADDR} unset.
        """
        body = tdf.encode(common.UserSessionExtendedData())
        self.assertIn(tdf.encodeTag("CVAR") + b"\x07\x00", body)
        self.assertIn(tdf.encodeTag("ADDR") + b"\x06\x7f", body)
        self.assertNotIn("CMAP", tagsOnWire(body))
        withMap = common.UserSessionExtendedData(clientAttributes={1: 2})
        self.assertIn("CMAP", tagsOnWire(tdf.encode(withMap)))

    def test_gameObjectId(self) -> None:
        """
        Games are named by the object id C{(4, 1, gameId)}.
        """
        self.assertEqual(common.gameObjectId(7), tdf.ObjectId(4, 1, 7))


class RedirectorTests(SynchronousTestCase):
    """
    Tests for L{redirector}.
    """

    def test_requestVectorD2(self) -> None:
        """
        The default L{redirector.ServerInstanceRequest} encodes to exactly
        the body of vector D2, and decodes from it.
        """
        body = vectorBody("D2")
        self.assertEqual(tdf.encode(redirector.ServerInstanceRequest()), body)
        self.assertEqual(
            tdf.decode(redirector.ServerInstanceRequest, body),
            redirector.ServerInstanceRequest(),
        )

    def test_infoWithIp(self) -> None:
        """
        The Pocket Relay form of the answer: C{ADDR} union 0 carrying only
        C{IP} and C{PORT}, then C{SECU} and C{XDNS}.
        """
        info = redirector.ServerInstanceInfo(
            address=redirector.serverAddress(
                redirector.IpAddress.fromIpv4("127.0.0.1", 42128)
            )
        )
        body = tdf.encode(info)
        decoded = tdf.decodeStruct(body)
        union = decoded["ADDR"]
        self.assertEqual(union.index, 0)
        self.assertEqual(union.member.tag, "VALU")
        self.assertEqual([m.tag for m in union.member.value.members], ["IP", "PORT"])
        self.assertEqual(union.member.value["IP"], 0x7F000001)
        again = tdf.decode(redirector.ServerInstanceInfo, body)
        self.assertEqual(again.address.value.host, "127.0.0.1")
        self.assertEqual(again.address.value.hostname, None)

    def test_infoWithHost(self) -> None:
        """
        The host-name form carries C{HOST} and C{PORT} only.
        """
        address = redirector.IpAddress(hostname="relay.example", port=42128)
        body = tdf.encode(address)
        self.assertEqual(tagsOnWire(body), ["HOST", "PORT"])
        self.assertEqual(address.host, "relay.example")
        self.assertIsNone(redirector.IpAddress().host)

    def test_serverAddressRefusesOthers(self) -> None:
        """
        L{redirector.serverAddress} refuses values that are not server
        addresses.
        """
        self.assertRaises(TypeError, redirector.serverAddress, object())
        self.assertEqual(
            redirector.serverAddress(redirector.XboxServerAddress()).index, 1
        )


class UtilTests(SynchronousTestCase):
    """
    Tests for L{util}.
    """

    def test_pingVectorD4(self) -> None:
        """
        L{util.PingResponse} with C{STIM} 1700000000 is the body of D4.
        """
        self.assertEqual(tdf.encode(util.PingResponse(1700000000)), vectorBody("D4"))

    def test_preAuthDefaults(self) -> None:
        """
        The default preAuth reply carries the values ME3 expects.
        """
        decoded = tdf.decodeStruct(tdf.encode(util.PreAuthResponse()))
        self.assertEqual(decoded["ASRC"], "303107")
        self.assertEqual(decoded["RSRC"], "303107")
        self.assertEqual(decoded["PLAT"], "pc")
        self.assertEqual(decoded["INST"], "masseffect-3-pc")
        self.assertEqual(decoded["NASP"], "cem_ea_id")
        self.assertEqual(
            list(decoded["CIDS"].items),
            [1, 0x19, 4, 0x1C, 7, 9, 0xF802, 0x7800, 0xF, 0x7801, 0x7802,
             0x7803, 0x7805, 0x7806, 0x7D0],
        )  # fmt: skip
        conf = decoded["CONF"]["CONF"].asDict()
        self.assertEqual(conf["pingPeriod"], "15s")
        qos = decoded["QOSS"]
        self.assertEqual(qos["SVID"], 0x45410805)
        self.assertEqual([k for k, _ in qos["LTPS"].items], ["ea-sjc"])
        self.assertTrue(decoded["SVER"].startswith("Blaze 3.15.08.0"))

    def test_preAuthRequest(self) -> None:
        """
        The default preAuth request is what ME3 sends: client data with the
        enNZ locale and C{FCCR} asking for C{BlazeSDK}.
        """
        request = util.PreAuthRequest()
        self.assertEqual(request.clientData.locale, 0x656E4E5A)
        self.assertEqual(request.fetchClientConfig.configId, "BlazeSDK")
        self.assertEqual(request.clientInfo.clientName, "MassEffect3-pc")

    def test_postAuthDefaults(self) -> None:
        """
        The default postAuth reply has PSS, telemetry, ticker and telemetry
        opt-in, leaving only the user id to fill in.
        """
        reply = util.PostAuthResponse()
        reply.userOptions.userId = 42
        decoded = tdf.decodeStruct(tdf.encode(reply))
        self.assertEqual(tagsOnWire(tdf.encode(reply)), ["PSS", "TELE", "TICK", "UROP"])
        self.assertEqual(decoded["PSS"]["RPRT"], 0xF)
        self.assertEqual(decoded["PSS"]["PORT"], 443)
        self.assertEqual(decoded["TELE"]["SDLY"], 15000)
        self.assertEqual(decoded["TICK"]["PORT"], 8999)
        self.assertEqual(decoded["UROP"]["TMOP"], 1)
        self.assertEqual(decoded["UROP"]["UID"], 42)

    def test_telemetryKey(self) -> None:
        """
        The telemetry key is the 117-byte value the official server sent,
        as a string.
        """
        self.assertEqual(len(util.TELEMETRY_KEY.encode("utf-8")), 117)
        self.assertTrue(util.TELEMETRY_KEY.startswith("^"))

    def test_userSettings(self) -> None:
        """
        userSettingsSave decodes ME3's C{DATA}/C{KEY}; loadAll's reply writes
        its map in case-insensitive key order.
        """
        body = tdf.encodeStruct(
            [
                tdf.Member("DATA", tdf.TdfType.STRING, "20;4;Adept;1"),
                tdf.Member("KEY", tdf.TdfType.STRING, "class1"),
            ]
        )
        request = tdf.decode(util.UserSettingsSaveRequest, body)
        self.assertEqual(
            (request.key, request.data, request.userId), ("class1", "20;4;Adept;1", 0)
        )
        reply = util.UserSettingsLoadAllResponse({"b": "1", "Base": "2", "a": "3"})
        smap = tdf.decodeStruct(tdf.encode(reply))["SMAP"]
        self.assertEqual([k for k, _ in smap.items], ["a", "b", "Base"])


class AuthTests(SynchronousTestCase):
    """
    Tests for L{auth}.
    """

    def test_loginPersonaReplyIsSessionInfo(self) -> None:
        """
        The loginPersona reply has the L{common.SessionInfo} members at the
        top level.
        """
        reply = auth.LoginPersonaResponse(
            blazeUserId=7,
            sessionKey="K",
            email="a@b.c",
            personaDetails=common.PersonaDetails(displayName="Shep", personaId=7),
            userId=7,
        )
        body = tdf.encode(reply)
        self.assertEqual(
            tagsOnWire(body), ["BUID", "FRST", "KEY", "LLOG", "MAIL", "PDTL", "UID"]
        )
        self.assertEqual(tdf.decodeStruct(body)["PDTL"]["DSNM"], "Shep")

    def test_loginResponseTags(self) -> None:
        """
        L{auth.LoginResponse} writes the eleven members of the official
        reply, the persona list as a list of structs.
        """
        reply = auth.LoginResponse(
            personas=[common.PersonaDetails(displayName="Shep", personaId=1)],
            userId=1,
        )
        body = tdf.encode(reply)
        self.assertEqual(
            tagsOnWire(body),
            ["LDHT", "NTOS", "PCTK", "PLST", "PRIV", "SKEY", "SPAM", "THST",
             "TSUI", "TURI", "UID"],
        )  # fmt: skip
        plst = tdf.decodeStruct(body)["PLST"]
        self.assertEqual(plst.elementType, tdf.TdfType.STRUCT)

    def test_fullLoginResponse(self) -> None:
        """
        L{auth.FullLoginResponse} nests the session info under C{SESS}.
        """
        reply = auth.FullLoginResponse(pcLoginToken="tok")
        reply.session.userId = 3
        decoded = tdf.decode(auth.FullLoginResponse, tdf.encode(reply))
        self.assertEqual(decoded.session.userId, 3)
        self.assertEqual(decoded.pcLoginToken, "tok")

    def test_requestDefaults(self) -> None:
        """
        The token types default to what ME3 sends with each login.
        """
        self.assertEqual(auth.LoginRequest().tokenType, 0)
        self.assertEqual(auth.SilentLoginRequest().tokenType, 2)
        self.assertEqual(auth.OriginLoginRequest().tokenType, 1)

    def test_silentLoginDecode(self) -> None:
        """
        A silentLogin body as ME3 sends it decodes into its fields.
        """
        body = tdf.encodeStruct(
            [
                tdf.Member("AUTH", tdf.TdfType.STRING, "token"),
                tdf.Member("PID", tdf.TdfType.INT, 5),
                tdf.Member("TYPE", tdf.TdfType.INT, 2),
            ]
        )
        request = tdf.decode(auth.SilentLoginRequest, body)
        self.assertEqual((request.authToken, request.personaId), ("token", 5))

    def test_loginErrorBody(self) -> None:
        """
        The login error body is C{PNAM ""} and C{UID 0}.
        """
        body = tdf.encode(auth.LoginErrorBody())
        self.assertEqual(
            body,
            tdf.encodeTag("PNAM")
            + b"\x01\x01\x00"
            + tdf.encodeTag("UID")
            + b"\x00\x00",
        )

    def test_entitlements(self) -> None:
        """
        Entitlements default to the reference server's grant date and the
        active status; the list is C{NLST}.
        """
        entitlement = auth.Entitlement(groupName="ME3PCOffers", id=2**40)
        reply = auth.ListUserEntitlements2Response([entitlement])
        decoded = tdf.decodeStruct(tdf.encode(reply))
        item = decoded["NLST"].items[0]
        self.assertEqual(item["GDAY"], "2012-12-15T16:15Z")
        self.assertEqual(item["STAT"], 1)
        self.assertEqual(item["ID"], 2**40)

    def test_entitlementsRequestTag(self) -> None:
        """
        listUserEntitlements2's C{ETAG} is decoded, so the server can tell
        the empty-tag request from the others.
        """
        body = tdf.encodeStruct(
            [
                tdf.Member("ETAG", tdf.TdfType.STRING, "ONLINE_ACCESS"),
                tdf.Member(
                    "GNLS",
                    tdf.TdfType.LIST,
                    tdf.ListValue(tdf.TdfType.STRING, ("ME3PCOffers",)),
                ),
            ]
        )
        request = tdf.decode(auth.ListUserEntitlements2Request, body)
        self.assertEqual(request.entitlementTag, "ONLINE_ACCESS")
        self.assertEqual(request.groupNames, ["ME3PCOffers"])

    def test_createAccountAlias(self) -> None:
        """
        L{auth.CreateAccountRequest} is the official
        L{auth.CreateAccountParameters}.
        """
        self.assertIs(auth.CreateAccountRequest, auth.CreateAccountParameters)
        request = tdf.decode(
            auth.CreateAccountRequest,
            tdf.encode(auth.CreateAccountParameters(email="a@b.c", password="pw")),
        )
        self.assertEqual((request.email, request.password), ("a@b.c", "pw"))


class UserSessionsTests(SynchronousTestCase):
    """
    Tests for L{usersessions}.
    """

    def test_networkInfoFromMe3(self) -> None:
        """
        updateNetworkInfo as ME3 sends it (C{ADDR} union 2 with C{EXIP} and
        C{INIP}, C{NLMP}, C{NQOS}) decodes into an L{common.IpPairAddress}.
        """

        def ip(address: int, port: int) -> tdf.StructValue:
            return tdf.StructValue(
                (
                    tdf.Member("IP", tdf.TdfType.INT, address),
                    tdf.Member("PORT", tdf.TdfType.INT, port),
                )
            )

        pair = tdf.StructValue(
            (
                tdf.Member("EXIP", tdf.TdfType.STRUCT, ip(0, 0)),
                tdf.Member("INIP", tdf.TdfType.STRUCT, ip(0xC0A80102, 3659)),
            )
        )
        body = tdf.encodeStruct(
            [
                tdf.Member(
                    "ADDR",
                    tdf.TdfType.UNION,
                    tdf.UnionValue(2, tdf.Member("VALU", tdf.TdfType.STRUCT, pair)),
                ),
                tdf.Member(
                    "NLMP",
                    tdf.TdfType.MAP,
                    tdf.MapValue(
                        tdf.TdfType.STRING, tdf.TdfType.INT, (("ea-sjc", 156),)
                    ),
                ),
                tdf.Member(
                    "NQOS",
                    tdf.TdfType.STRUCT,
                    tdf.StructValue((tdf.Member("NATT", tdf.TdfType.INT, 1),)),
                ),
            ]
        )
        info = tdf.decode(usersessions.NetworkInfo, body)
        self.assertEqual(info.address.index, 2)
        self.assertIsInstance(info.address.value, common.IpPairAddress)
        self.assertEqual(info.address.value.internal.host, "192.168.1.2")
        self.assertEqual(info.address.value.external.ip, 0)
        self.assertEqual(info.pingSiteLatencies, {"ea-sjc": 156})
        self.assertEqual(info.qosData.natType, common.NatType.MODERATE)

    def test_networkInfoWithoutLatencies(self) -> None:
        """
        A network info without C{NLMP} decodes with an empty map.
        """
        info = tdf.decode(usersessions.NetworkInfo, b"")
        self.assertEqual(info.pingSiteLatencies, {})
        self.assertEqual(info.address, tdf.Choice())

    def test_addrIsNormalUnion(self) -> None:
        """
        C{ADDR} is written in the normal union form, with the C{VALU}
        header.
        """
        data = common.UserSessionExtendedData(
            address=common.networkAddress(common.IpPairAddress())
        )
        body = tdf.encode(data)
        self.assertIn(
            tdf.encodeTag("ADDR") + b"\x06\x02" + tdf.encodeTag("VALU") + b"\x03",
            body,
        )

    def test_userStatusDefault(self) -> None:
        """
        L{usersessions.UserStatus} defaults to subscribed and online (3).
        """
        self.assertEqual(usersessions.UserStatus(blazeId=1).statusFlags, 3)

    def test_notifications(self) -> None:
        """
        The notifications carry their documented members.
        """
        self.assertEqual(
            tagsOnWire(tdf.encode(usersessions.NotifyUserAdded())), ["DATA", "USER"]
        )
        self.assertEqual(
            tagsOnWire(tdf.encode(usersessions.UserSessionExtendedDataUpdate())),
            ["DATA", "USID"],
        )
        self.assertEqual(
            tdf.encode(usersessions.NotifyUserRemoved(5)),
            tdf.encodeTag("BUID") + b"\x00\x05",
        )

    def test_lookupUser(self) -> None:
        """
        lookupUser's request is L{common.UserIdentification}; its reply nests
        the extended data and identification.
        """
        self.assertIs(usersessions.LookupUserRequest, common.UserIdentification)
        reply = usersessions.UserData(statusFlags=3)
        reply.user.blazeId = 9
        self.assertEqual(
            tdf.decode(usersessions.UserData, tdf.encode(reply)).user.blazeId, 9
        )


class MessagingTests(SynchronousTestCase):
    """
    Tests for L{messaging}.
    """

    def test_fetchReply(self) -> None:
        """
        The fetchMessages reply carries the message count in C{MCNT}.
        """
        self.assertEqual(
            tdf.encode(messaging.FetchMessageResponse(1)),
            tdf.encodeTag("MCNT") + b"\x00\x01",
        )

    def test_menuMessage(self) -> None:
        """
        The message notification as the reference server sends it: flags
        and message id 1, the text in C{NAME}, the payload addressed to the
        player, the source the player.
        """
        player = messaging.playerObjectId(7)
        message = messaging.NotifyMessage(
            sourceName="Hello\n",
            payload=messaging.ClientMessage(target=player),
            source=player,
        )
        decoded = tdf.decodeStruct(tdf.encode(message))
        self.assertEqual(
            [m.tag for m in decoded.members],
            ["FLAG", "MGID", "NAME", "PYLD", "SRCE", "TIME"],
        )
        self.assertEqual(decoded["FLAG"], 1)
        self.assertEqual(decoded["MGID"], 1)
        self.assertEqual(decoded["SRCE"], tdf.ObjectId(0x7802, 1, 7))
        payload = decoded["PYLD"]
        self.assertEqual(payload["ATTR"].asDict(), {"B0000": "160"})
        self.assertEqual(payload["TARG"], tdf.ObjectId(0x7802, 1, 7))
        self.assertEqual(payload["FLAG"], 1)


class StatsTests(SynchronousTestCase):
    """
    Tests for L{stats}.
    """

    def test_leaderboardRequest(self) -> None:
        """
        getLeaderboard as ME3 sends it decodes its board name, start and
        count.
        """
        body = tdf.encodeStruct(
            [
                tdf.Member("COUN", tdf.TdfType.INT, 61),
                tdf.Member(
                    "KSUM",
                    tdf.TdfType.MAP,
                    tdf.MapValue(
                        tdf.TdfType.STRING,
                        tdf.TdfType.INT,
                        (("accountcountry", 0), ("ME3Map", 0)),
                    ),
                ),
                tdf.Member("LBID", tdf.TdfType.INT, 0),
                tdf.Member("NAME", tdf.TdfType.STRING, "N7RatingGlobal"),
                tdf.Member("POFF", tdf.TdfType.INT, 0),
                tdf.Member("STRT", tdf.TdfType.INT, 29),
                tdf.Member("TIME", tdf.TdfType.INT, 0),
                tdf.Member("USET", tdf.TdfType.OBJECT_ID, tdf.ObjectId(0, 0, 0)),
            ]
        )
        context = tdf.DecodeContext()
        request = tdf.decode(stats.LeaderboardStatsRequest, body, context)
        self.assertEqual(context.anomalies, [])
        self.assertEqual(
            (request.boardName, request.rankStart, request.count),
            ("N7RatingGlobal", 29, 61),
        )
        self.assertEqual(request.keyScopes, {"accountcountry": 0, "ME3Map": 0})

    def test_filteredRequest(self) -> None:
        """
        getFilteredLeaderboard's ids are read from C{IDLS}.
        """
        request = stats.FilteredLeaderboardStatsRequest(ids=[1, 2], boardName="x")
        again = tdf.decode(stats.FilteredLeaderboardStatsRequest, tdf.encode(request))
        self.assertEqual(again.ids, [1, 2])

    def test_rows(self) -> None:
        """
        L{stats.leaderboardRow} writes the value as a string in C{RSTA} and
        C{STAT}, C{RWST} unset, C{RWFG} and C{UATT} zero.
        """
        reply = stats.LeaderboardStatValues([stats.leaderboardRow(3, "Shep", 1, 250)])
        row = tdf.decodeStruct(tdf.encode(reply))["LDLS"].items[0]
        self.assertEqual(row["ENAM"], "Shep")
        self.assertEqual(row["ENID"], 3)
        self.assertEqual(row["RANK"], 1)
        self.assertEqual(row["RSTA"], "250")
        self.assertEqual(list(row["STAT"].items), ["250"])
        self.assertEqual(row["RWST"], tdf.UnionValue())
        self.assertEqual(row["RWFG"], 0)

    def test_group(self) -> None:
        """
        L{stats.leaderboardGroup} builds the N7 group as the reference server
        does: user entity type, the accountcountry key scope, one stat
        column.
        """
        group = stats.leaderboardGroup(
            "N7RatingGlobal",
            "N7 Rating - Global",
            "n7rating",
            "N7 Rating",
            "ME3LeaderboardGroup",
        )
        decoded = tdf.decodeStruct(tdf.encode(group))
        self.assertEqual(decoded["ETYP"], tdf.ObjectType(0x7802, 1))
        self.assertEqual(decoded["LBSZ"], 0x7270E0)
        self.assertEqual(decoded["NAME"], "ME3LeaderboardGroup")
        self.assertEqual(decoded["SNAM"], "n7rating")
        scope = decoded["KSUM"].asDict()["accountcountry"]
        self.assertEqual(scope["KSVL"].asDict(), {0: 0})
        column = decoded["LIST"].items[0]
        self.assertEqual(column["CATG"], "MassEffectStats")
        self.assertEqual(column["SDSC"], "N7 Rating")

    def test_entityCount(self) -> None:
        """
        The entity count reply is C{CNT}.
        """
        self.assertEqual(
            tdf.encode(stats.EntityCount(5)), tdf.encodeTag("CNT") + b"\x00\x05"
        )


class AssociationsTests(SynchronousTestCase):
    """
    Tests for L{associations}.
    """

    def test_defaultLists(self) -> None:
        """
        The default getLists reply is the reference server's one empty
        friend list.
        """
        decoded = tdf.decodeStruct(tdf.encode(associations.Lists()))
        entry = decoded["LMAP"].items[0]
        info = entry["INFO"]
        self.assertEqual(info["BOID"], tdf.ObjectId(0x19, 1, 0x74B09C4))
        self.assertEqual(info["FLGS"], 4)
        self.assertEqual(info["LMS"], 200)
        self.assertEqual(info["LID"]["LNM"], "friendList")
        self.assertEqual(info["LID"]["TYPE"], 1)
        self.assertEqual(entry["TOCT"], 0)


class GameReportingTests(SynchronousTestCase):
    """
    Tests for L{gamereporting}.
    """

    def _reportBody(self) -> bytes:
        player = tdf.StructValue(
            (
                tdf.Member("CTRY", tdf.TdfType.INT, 0x656E5553),
                tdf.Member("NCHP", tdf.TdfType.INT, 1200),
                tdf.Member("NRAT", tdf.TdfType.INT, 350),
            )
        )
        game = tdf.StructValue(
            (
                tdf.Member(
                    "PLYR",
                    tdf.TdfType.MAP,
                    tdf.MapValue(tdf.TdfType.INT, tdf.TdfType.STRUCT, ((7, player),)),
                ),
            )
        )
        report = tdf.StructValue(
            (
                tdf.Member(
                    "GAME",
                    tdf.TdfType.VARIABLE,
                    tdf.VariableValue(
                        0x1C0001, tdf.Member("GAME", tdf.TdfType.STRUCT, game)
                    ),
                ),
                tdf.Member("GRID", tdf.TdfType.INT, 2**40),
                tdf.Member("GTYP", tdf.TdfType.STRING, "massEffectReport"),
            )
        )
        return tdf.encodeStruct(
            [
                tdf.Member("FNSH", tdf.TdfType.INT, 0),
                tdf.Member("PRVT", tdf.TdfType.VARIABLE, None),
                tdf.Member("RPRT", tdf.TdfType.STRUCT, report),
            ]
        )

    def test_playerReports(self) -> None:
        """
        An offline game report decodes, and L{gamereporting.playerReports}
        reads each player's challenge points and N7 rating out of the
        type-7 C{GAME} value.
        """
        request = tdf.decode(
            gamereporting.SubmitOfflineGameReportRequest, self._reportBody()
        )
        self.assertEqual(request.report.gameReportingId, 2**40)
        self.assertEqual(request.report.gameType, "massEffectReport")
        reports = gamereporting.playerReports(request.report)
        self.assertEqual(
            reports,
            {7: gamereporting.MassEffectPlayerReport(0x656E5553, 1200, 350)},
        )

    def test_playerReportsNotStruct(self) -> None:
        """
        A C{GAME} value that is not a struct gives no player reports.
        """
        report = gamereporting.GameReport(
            game=tdf.VariableValue(1, tdf.Member("GAME", tdf.TdfType.INT, 3))
        )
        self.assertEqual(gamereporting.playerReports(report), {})

    def test_playerReportsAbsent(self) -> None:
        """
        A report without its C{GAME} value gives no player reports.
        """
        self.assertEqual(gamereporting.playerReports(gamereporting.GameReport()), {})

    def test_resultNotification(self) -> None:
        """
        The default result notification is what the reference server sends:
        C{DATA} absent (C{07 00}) and zeros.
        """
        tag = tdf.encodeTag
        self.assertEqual(
            tdf.encode(gamereporting.ResultNotification()),
            tag("DATA") + b"\x07\x00"
            + tag("EROR") + b"\x00\x00"
            + tag("FNL") + b"\x00\x00"
            + tag("GHID") + b"\x00\x00"
            + tag("GRID") + b"\x00\x00",
        )  # fmt: skip


def _hostPair() -> common.IpPairAddress:
    return common.IpPairAddress(
        external=common.IpAddress.fromString("203.0.113.9", 3659),
        internal=common.IpAddress.fromString("192.168.1.2", 3659),
    )


class GameManagerTests(SynchronousTestCase):
    """
    Tests for L{gamemanager}.
    """

    def test_joinCompletedVectorD6(self) -> None:
        """
        NotifyPlayerJoinCompleted with GID 1, PID 2 is the body of D6.
        """
        self.assertEqual(
            tdf.encode(gamemanager.NotifyPlayerJoinCompleted(1, 2)), vectorBody("D6")
        )

    def test_datalessReasonVectorD9(self) -> None:
        """
        The default NotifyGameSetup carries C{REAS} as union 0 with a
        DatalessSetupContext of context 0: the bytes of vector D9.
        """
        member = bytes.fromhex(loadVectors()["D9"])
        body = tdf.encode(gamemanager.NotifyGameSetup())
        self.assertTrue(body.endswith(member))
        joined = gamemanager.NotifyGameSetup(
            reason=gamemanager.datalessSetup(gameenums.DatalessContext.JOIN_GAME_SETUP)
        )
        decoded = tdf.decodeStruct(tdf.encode(joined))
        self.assertEqual(decoded["REAS"].index, 0)
        self.assertEqual(decoded["REAS"].member.value["DCTX"], 1)

    def test_hostNetworkHeatBug(self) -> None:
        """
        C{HNET} in the game data is written with element type struct and
        each element as the union index 2, the C{EXIP} and C{INIP} members
        and a terminator, without a C{VALU} header.
        """
        pair = _hostPair()
        setup = gamemanager.NotifyGameSetup(
            game=gamemanager.ReplicatedGameData(
                gameId=1, hostNetwork=[common.networkAddress(pair)]
            )
        )
        body = tdf.encode(setup)
        exip = tdf.encodeTag("EXIP") + b"\x03" + tdf.encode(pair.external) + b"\x00"
        inip = tdf.encodeTag("INIP") + b"\x03" + tdf.encode(pair.internal) + b"\x00"
        expected = (
            tdf.encodeTag("HNET")
            + b"\x04"
            + b"\x03\x01"
            + b"\x02"
            + exip
            + inip
            + b"\x00"
        )
        self.assertIn(expected, body)
        self.assertNotIn(tdf.encodeTag("VALU") + b"\x03" + exip, body)
        decoded = tdf.decode(gamemanager.NotifyGameSetup, body)
        self.assertEqual(decoded.game.hostNetwork, [tdf.Choice(2, pair)])

    def test_playerNetworkNormalUnion(self) -> None:
        """
        C{PNET} of a game player keeps the normal union form.
        """
        pair = _hostPair()
        player = gamemanager.ReplicatedGamePlayer(
            address=common.networkAddress(pair), playerId=5
        )
        body = tdf.encode(player)
        self.assertIn(
            tdf.encodeTag("PNET") + b"\x06\x02" + tdf.encodeTag("VALU") + b"\x03",
            body,
        )
        self.assertEqual(tdf.decode(gamemanager.ReplicatedGamePlayer, body), player)

    def test_gameDataDefaults(self) -> None:
        """
        The game data defaults are ME3's: capacities [4, 0], protocol
        version string and its hash (vector H1), VoIP peer-to-peer,
        presence standard, max 4 players.
        """
        data = tdf.decodeStruct(tdf.encode(gamemanager.ReplicatedGameData()))
        self.assertEqual(list(data["CAP"].items), [4, 0])
        self.assertEqual(data["VSTR"], "ME3-295976325-179181965240128")
        self.assertEqual(data["GPVH"], int(loadVectors()["H1"], 16))
        self.assertEqual(data["VOIP"], 2)
        self.assertEqual(data["PRES"], 1)
        self.assertEqual(data["MCAP"], 4)
        self.assertEqual(data["NTOP"], 0)

    def test_playerDefaults(self) -> None:
        """
        A game player has no team (C{TIDX} 0xFFFF) and C{UGID} (0, 0, 0).
        """
        data = tdf.decodeStruct(tdf.encode(gamemanager.ReplicatedGamePlayer()))
        self.assertEqual(data["TIDX"], 0xFFFF)
        self.assertEqual(data["UGID"], tdf.ObjectId(0, 0, 0))

    def test_matchmakingSetup(self) -> None:
        """
        L{gamemanager.matchmakingSetup} is union index 3 with the reference
        server's fit scores and result 2.
        """
        reason = gamemanager.matchmakingSetup(9, 9)
        setup = gamemanager.NotifyGameSetup(reason=reason)
        decoded = tdf.decodeStruct(tdf.encode(setup))["REAS"]
        self.assertEqual(decoded.index, 3)
        context = decoded.member.value
        self.assertEqual(context["FIT"], 21600)
        self.assertEqual(context["MAXF"], 21600)
        self.assertEqual(context["RSLT"], 2)
        self.assertEqual((context["MSID"], context["USID"]), (9, 9))

    def test_createGameRequestFromMe3(self) -> None:
        """
        A createGame body with a heat-bug C{HNET} decodes into the host's
        pair address, the attributes and settings.
        """
        pair = _hostPair()
        request = gamemanager.CreateGameRequest(
            attributes={"ME3map": "map2", "ME3privacy": "PUBLIC"},
            hostNetwork=[common.networkAddress(pair)],
        )
        body = tdf.encode(request)
        self.assertEqual(tdf.decodeStruct(body)["HNET"].elementType, tdf.TdfType.STRUCT)
        decoded = tdf.decode(gamemanager.CreateGameRequest, body)
        self.assertEqual(decoded.settings, 0x11F)
        self.assertEqual(decoded.hostNetwork[0].value, pair)
        self.assertEqual(decoded.attributes["ME3map"], "map2")

    def test_matchmakingRules(self) -> None:
        """
        startMatchmaking's rules are read from C{CRIT.RLST}, and
        L{gamemanager.MatchmakingCriteriaData.ruleValues} maps them by name.
        """
        rules = [
            tdf.StructValue(
                (
                    tdf.Member("NAME", tdf.TdfType.STRING, name),
                    tdf.Member("THLD", tdf.TdfType.STRING, "ME3_requiredDLC"),
                    tdf.Member(
                        "VALU",
                        tdf.TdfType.LIST,
                        tdf.ListValue(tdf.TdfType.STRING, tuple(values)),
                    ),
                )
            )
            for name, values in [
                ("ME3_gameMapMatchRule", ["map2", "abstain"]),
                ("ME3_rule_dlc2300", ["required"]),
            ]
        ]
        crit = tdf.StructValue(
            (
                tdf.Member(
                    "RLST",
                    tdf.TdfType.LIST,
                    tdf.ListValue(tdf.TdfType.STRUCT, tuple(rules)),
                ),
            )
        )
        body = tdf.encodeStruct(
            [
                tdf.Member("CRIT", tdf.TdfType.STRUCT, crit),
                tdf.Member("DUR", tdf.TdfType.INT, 1_800_000),
                tdf.Member("GSET", tdf.TdfType.INT, 1311),
            ]
        )
        request = tdf.decode(gamemanager.StartMatchmakingRequest, body)
        self.assertEqual(
            request.criteria.ruleValues(),
            {
                "ME3_gameMapMatchRule": ["map2", "abstain"],
                "ME3_rule_dlc2300": ["required"],
            },
        )
        self.assertEqual(request.durationMs, 1_800_000)

    def test_meshConnection(self) -> None:
        """
        updateMeshConnection's targets decode with their player and status.
        """
        request = gamemanager.UpdateMeshConnectionRequest(
            gameId=1,
            targets=[gamemanager.PlayerConnectionStatus(playerId=2, status=2)],
        )
        decoded = tdf.decode(
            gamemanager.UpdateMeshConnectionRequest, tdf.encode(request)
        )
        self.assertEqual(
            decoded.targets[0].status, gameenums.PlayerNetConnectionStatus.CONNECTED
        )

    def test_asyncStatusDefault(self) -> None:
        """
        The default NotifyMatchmakingAsyncStatus carries one status as the
        reference server sends it.
        """
        notify = gamemanager.NotifyMatchmakingAsyncStatus(sessionId=4, userSessionId=4)
        decoded = tdf.decodeStruct(tdf.encode(notify))
        self.assertEqual([m.tag for m in decoded.members], ["ASIL", "MSID", "USID"])
        status = decoded["ASIL"].items[0]
        self.assertEqual(
            [m.tag for m in status.members],
            ["CGS", "CUST", "DNFS", "FGS", "GEOS", "GRDA", "GSRD", "HBRD",
             "HVRD", "PSRS", "RRDA", "SKRS", "TSRS", "UEDS", "VGRS"],
        )  # fmt: skip
        self.assertEqual(status["CGS"]["EVST"], 6)
        self.assertEqual(status["GSRD"]["PMAX"], 4)
        self.assertEqual(status["GSRD"]["PMIN"], 2)
        self.assertEqual(status["HBRD"]["BVAL"], 1)

    def test_settingsChangeTaggedAttr(self) -> None:
        """
        NotifyGameSettingsChange carries the settings under C{ATTR}, as an
        integer.
        """
        body = tdf.encode(
            gamemanager.NotifyGameSettingsChange(settings=0x11F, gameId=1)
        )
        self.assertEqual(tdf.decodeStruct(body)["ATTR"], 0x11F)

    def test_gameBrowserData(self) -> None:
        """
        getGameDataFromId's reply lists games with C{HOST} and the heat-bug
        C{HNET}.
        """
        game = gamemanager.GameBrowserGameData(
            gameId=3, hostId=8, hostNetwork=[common.networkAddress(_hostPair())]
        )
        reply = gamemanager.GetGameDataFromIdResponse([game])
        decoded = tdf.decode(gamemanager.GameBrowserDataList, tdf.encode(reply))
        self.assertEqual(decoded.games[0].hostId, 8)
        self.assertEqual(decoded.games[0].hostNetwork[0].index, 2)

    def test_enumsAssignable(self) -> None:
        """
        Enum members can be assigned to message members and decode back as
        equal integers.
        """
        notify = gamemanager.NotifyGameStateChange(
            gameId=1, state=gameenums.GameState.IN_GAME
        )
        decoded = tdf.decode(gamemanager.NotifyGameStateChange, tdf.encode(notify))
        self.assertEqual(decoded.state, gameenums.GameState.IN_GAME)
        self.assertEqual(decoded.state, 0x83)
        self.assertEqual(int(gameenums.GameSettings(0x11F)), 287)
