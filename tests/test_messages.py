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

import attrs
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.blaze import tdf
from pocketrelay.me3.messages import (
    auth,
    common,
    redirector,
    usersessions,
    util,
)

_VECTORS = Path(__file__).resolve().parents[2] / "shared/docs/reference/tdf-vectors.json"

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
    return cls.__dict__["__tdf_codec__"].specs  # type: ignore[no-any-return]


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
        return tdf.VariableValue(
            1, tdf.Member("VALU", tdf.TdfType.INT, 3)
        )
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
        index, alternative = max(kind.alternatives.items())
        return tdf.Choice(index, sampleValue(alternative, depth + 1))
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
            decoded = tdf.decode(cls, tdf.encode(value), context)
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
        body = tdf.encodeStruct(
            [tdf.Member("XUID", tdf.TdfType.INT, value - 2**64)]
        )
        self.assertEqual(tdf.decode(common.XboxClientAddress, body).xboxUserId, value)

    def test_networkAddress(self) -> None:
        """
        L{common.networkAddress} picks the union index from the struct
        class and refuses anything else.
        """
        pair = common.IpPairAddress()
        self.assertEqual(common.networkAddress(pair), tdf.Choice(2, pair))
        self.assertEqual(
            common.networkAddress(common.IpAddress()).index, 3
        )
        self.assertEqual(
            common.networkAddress(common.HostNameAddress()).index, 4
        )
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
        self.assertEqual(
            [m.tag for m in union.member.value.members], ["IP", "PORT"]
        )
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
        self.assertEqual((request.key, request.data, request.userId), ("class1", "20;4;Adept;1", 0))
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
            tdf.encodeTag("PNAM") + b"\x01\x01\x00" + tdf.encodeTag("UID") + b"\x00\x00",
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
                tdf.Member("GNLS", tdf.TdfType.LIST, tdf.ListValue(tdf.TdfType.STRING, ("ME3PCOffers",))),
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
                    tdf.MapValue(tdf.TdfType.STRING, tdf.TdfType.INT, (("ea-sjc", 156),)),
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
