# -*- test-case-name: tests.test_messages -*-

"""
Structs shared by several ME3 Blaze components: network addresses, QoS
data, user identification, personas, sessions and the user session
extended data (blaze-wire.md sections 5.7 and 5.8).

Every class is a L{tdf.tdfStruct}: construct it with keyword arguments,
L{tdf.encode} it, L{tdf.decode} it.  Class names follow the official SDK
names; attribute names describe the member and every member states its
wire tag.

Struct-valued members default to a fresh instance per object (never a
shared one), so mutating C{obj.member.field} is safe.
"""

from __future__ import annotations

import enum
import ipaddress

import attrs

from pocketrelay.blaze import tdf

__all__ = [
    "GAME_OBJECT_TYPE",
    "N7_RATING_KEY",
    "ClientType",
    "HostNameAddress",
    "IpAddress",
    "IpPairAddress",
    "NatType",
    "NetworkAddress",
    "NetworkAddressIndex",
    "NetworkQosData",
    "PersonaDetails",
    "PersonaStatus",
    "SessionInfo",
    "UserIdentification",
    "UserSessionExtendedData",
    "XboxClientAddress",
    "XboxServerAddress",
    "gameObjectId",
    "intToIpv4",
    "ipv4ToInt",
    "networkAddress",
]


def ipv4ToInt(address: str) -> int:
    """
    Convert a dotted IPv4 address to the big-endian unsigned 32-bit integer
    Blaze carries in C{IP} members.

    @raise ValueError: if C{address} is not a dotted IPv4 address.
    """
    return int(ipaddress.IPv4Address(address))


def intToIpv4(value: int) -> str:
    """
    Convert the unsigned 32-bit integer of an C{IP} member to dotted form.

    @raise ValueError: if C{value} is outside C{[0, 2**32)}.
    """
    return str(ipaddress.IPv4Address(value))


class NatType(enum.IntEnum):
    """
    The NAT type reported in L{NetworkQosData.natType} (C{NATT}).
    """

    OPEN = 0
    MODERATE = 1
    STRICT_SEQUENTIAL = 2
    STRICT = 3
    UNKNOWN = 4


class ClientType(enum.IntEnum):
    """
    The kind of Blaze client (C{CLTP} in the redirector request, C{TYPE} in
    PreAuth's client data); ME3 is a gameplay user.
    """

    GAMEPLAY_USER = 0
    HTTP_USER = 1
    DEDICATED_SERVER = 2
    TOOLS = 3
    INVALID = 4


class NetworkAddressIndex(enum.IntEnum):
    """
    The alternatives of the C{NetworkAddress} union.
    """

    XBOX_CLIENT = 0
    XBOX_SERVER = 1
    IP_PAIR = 2
    IP = 3
    HOST_NAME = 4


@tdf.tdfStruct
@attrs.define
class IpAddress:
    """
    An IPv4 address and port (C{Blaze::IpAddress}).

    Tags: C{IP}, C{PORT}.

    @ivar ip: the address as a big-endian unsigned 32-bit integer (see
        L{ipv4ToInt}).
    @ivar port: the UDP/TCP port (u16).
    """

    ip: int = tdf.member("IP", tdf.UInt)
    port: int = tdf.member("PORT", tdf.Int)

    @classmethod
    def fromString(cls, address: str, port: int) -> IpAddress:
        """
        Build one from a dotted IPv4 address.
        """
        return cls(ip=ipv4ToInt(address), port=port)

    @property
    def host(self) -> str:
        """
        The address in dotted form.
        """
        return intToIpv4(self.ip)


@tdf.tdfStruct
@attrs.define
class IpPairAddress:
    """
    The external and internal address of a machine behind NAT
    (C{Blaze::IpPairAddress}); what ME3 sends for itself.

    Tags: C{EXIP}, C{INIP}.
    """

    external: IpAddress = tdf.member(
        "EXIP", tdf.StructOf(IpAddress), default=attrs.Factory(IpAddress)
    )
    internal: IpAddress = tdf.member(
        "INIP", tdf.StructOf(IpAddress), default=attrs.Factory(IpAddress)
    )


@tdf.tdfStruct
@attrs.define
class HostNameAddress:
    """
    A host name and port (C{Blaze::HostNameAddress}).

    Tags: C{NAME}, C{PORT}.
    """

    name: str = tdf.member("NAME", tdf.Str)
    port: int = tdf.member("PORT", tdf.Int)


@tdf.tdfStruct
@attrs.define
class XboxClientAddress:
    """
    An Xbox client address (C{Blaze::XboxClientAddress}); not used on PC.

    Tags: C{XDDR}, C{XUID}.
    """

    address: bytes = tdf.member("XDDR", tdf.Blob)
    xboxUserId: int = tdf.member("XUID", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class XboxServerAddress:
    """
    An Xbox server address (C{Blaze::XboxServerAddress}); not used on PC.

    Tags: C{PORT}, C{SITE}, C{SVID}.
    """

    port: int = tdf.member("PORT", tdf.Int)
    siteName: str = tdf.member("SITE", tdf.Str)
    serviceId: int = tdf.member("SVID", tdf.UInt)


#: The C{NetworkAddress} union: 0 L{XboxClientAddress}, 1
#: L{XboxServerAddress}, 2 L{IpPairAddress}, 3 L{IpAddress}, 4
#: L{HostNameAddress}.  As a top-level member (C{ADDR}, C{PNET}) it is
#: written in the normal form with a C{VALU} header; inside a list (C{HNET})
#: the codec writes the "heat bug" form by itself.
NetworkAddress: tdf.Kind = tdf.UnionOf(
    {
        NetworkAddressIndex.XBOX_CLIENT: tdf.StructOf(XboxClientAddress),
        NetworkAddressIndex.XBOX_SERVER: tdf.StructOf(XboxServerAddress),
        NetworkAddressIndex.IP_PAIR: tdf.StructOf(IpPairAddress),
        NetworkAddressIndex.IP: tdf.StructOf(IpAddress),
        NetworkAddressIndex.HOST_NAME: tdf.StructOf(HostNameAddress),
    }
)

_ADDRESS_INDEX: dict[type, int] = {
    XboxClientAddress: NetworkAddressIndex.XBOX_CLIENT,
    XboxServerAddress: NetworkAddressIndex.XBOX_SERVER,
    IpPairAddress: NetworkAddressIndex.IP_PAIR,
    IpAddress: NetworkAddressIndex.IP,
    HostNameAddress: NetworkAddressIndex.HOST_NAME,
}


def networkAddress(
    address: XboxClientAddress
    | XboxServerAddress
    | IpPairAddress
    | IpAddress
    | HostNameAddress
    | None,
) -> tdf.Choice:
    """
    Wrap an address struct as the value of a L{NetworkAddress} member,
    choosing the union index from its class.  L{None} gives the unset
    union.

    @raise TypeError: if C{address} is not one of the address structs.
    """
    if address is None:
        return tdf.Choice()
    index = _ADDRESS_INDEX.get(type(address))
    if index is None:
        raise TypeError(f"{type(address).__name__} is not a network address")
    return tdf.Choice(int(index), address)


#: The object type of games in C{ULST} and similar lists: component
#: GameManager (4), type 1.
GAME_OBJECT_TYPE = tdf.ObjectType(4, 1)


def gameObjectId(gameId: int) -> tdf.ObjectId:
    """
    The object id C{(4, 1, gameId)} naming a game in L{UserSessionExtendedData.games}.
    """
    return tdf.ObjectId(GAME_OBJECT_TYPE.component, GAME_OBJECT_TYPE.type, gameId)


@tdf.tdfStruct
@attrs.define
class NetworkQosData:
    """
    Quality-of-service results of a client (C{Blaze::Util::NetworkQosData}).

    Tags: C{DBPS}, C{NATT}, C{UBPS}.

    @ivar downstreamBitsPerSecond: measured download bandwidth (u32).
    @ivar natType: a L{NatType} value.
    @ivar upstreamBitsPerSecond: measured upload bandwidth (u32).
    """

    downstreamBitsPerSecond: int = tdf.member("DBPS", tdf.UInt)
    natType: int = tdf.member("NATT", tdf.Int)
    upstreamBitsPerSecond: int = tdf.member("UBPS", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class UserIdentification:
    """
    Who a user is (C{Blaze::UserIdentification}); also the lookupUser
    request.

    Tags: C{AID}, C{ALOC}, C{EXBB}, C{EXID}, C{ID}, C{NAME}.

    @ivar accountId: the account (player) id.
    @ivar accountLocale: the locale as four ASCII bytes, e.g. 0x656E5553.
    @ivar externalBlob: platform blob; empty on PC.
    @ivar externalId: platform id (u64); 0 on PC.
    @ivar blazeId: the Blaze user id (PocketRelay: the player id).
    @ivar name: the display name.
    """

    accountId: int = tdf.member("AID", tdf.Int)
    accountLocale: int = tdf.member("ALOC", tdf.UInt)
    externalBlob: bytes = tdf.member("EXBB", tdf.Blob)
    externalId: int = tdf.member("EXID", tdf.UInt)
    blazeId: int = tdf.member("ID", tdf.Int)
    name: str = tdf.member("NAME", tdf.Str)


class PersonaStatus(enum.IntEnum):
    """
    L{PersonaDetails.status} (C{STAS}); emulators send 0.
    """

    UNKNOWN = 0
    PENDING = 1
    ACTIVE = 2
    DEACTIVATED = 3
    DISABLED = 4
    DELETED = 5
    BANNED = 6


@tdf.tdfStruct
@attrs.define
class PersonaDetails:
    """
    A persona (C{Blaze::Authentication::PersonaDetails}).  PocketRelay has
    one persona per account, with the player id as persona id.

    Tags: C{DSNM}, C{LAST}, C{PID}, C{STAS}, C{XREF}, C{XTYP}.

    Server-specific: C{displayName}, C{personaId}; emulators send zero for
    the others.
    """

    displayName: str = tdf.member("DSNM", tdf.Str)
    lastAuthenticated: int = tdf.member("LAST", tdf.UInt)
    personaId: int = tdf.member("PID", tdf.Int)
    status: int = tdf.member("STAS", tdf.Int)
    externalReference: int = tdf.member("XREF", tdf.UInt)
    externalReferenceType: int = tdf.member("XTYP", tdf.Int)


@tdf.tdfStruct
@attrs.define
class SessionInfo:
    """
    The session of a logged-in user (C{Blaze::Authentication::SessionInfo}),
    the C{SESS} member of L{FullLoginResponse
    <pocketrelay.me3.messages.auth.FullLoginResponse>}.

    Tags: C{BUID}, C{FRST}, C{KEY}, C{LLOG}, C{MAIL}, C{PDTL}, C{UID}.

    Server-specific: all but C{firstLogin}.
    """

    blazeUserId: int = tdf.member("BUID", tdf.Int)
    firstLogin: bool = tdf.member("FRST", tdf.Bool)
    sessionKey: str = tdf.member("KEY", tdf.Str)
    lastLogin: int = tdf.member("LLOG", tdf.Int)
    email: str = tdf.member("MAIL", tdf.Str)
    personaDetails: PersonaDetails = tdf.member(
        "PDTL", tdf.StructOf(PersonaDetails), default=attrs.Factory(PersonaDetails)
    )
    userId: int = tdf.member("UID", tdf.Int)


#: The L{UserSessionExtendedData.dataMap} key of the N7 rating.
N7_RATING_KEY = 0x70001


@tdf.tdfStruct
@attrs.define
class UserSessionExtendedData:
    """
    What other players see of a session (C{Blaze::UserSessionExtendedData}):
    its address, QoS, ping sites and the games it is in.

    Tags: C{ADDR}, C{BPS}, C{CMAP}, C{CTY}, C{CVAR}, C{DMAP}, C{HWFG},
    C{PSLM}, C{QDAT}, C{UATT}, C{ULST}.

    Server-specific: C{address}, C{dataMap} (the N7 rating under
    L{N7_RATING_KEY}), C{hardwareFlags}, C{latencies}, C{qosData},
    C{games}.  C{clientAttributes} (C{CMAP}) is omitted by the emulators
    and left out while L{None}.  C{clientData} (C{CVAR}, type 7) is absent
    and encodes as C{07 00}, as the emulators send it.

    @ivar address: a L{NetworkAddress} choice (see L{networkAddress}).
    @ivar bestPingSite: the alias of the best QoS ping site.
    @ivar latencies: ping-site latencies in milliseconds.
    @ivar games: object ids of the games the user is in (L{gameObjectId}).
    """

    address: tdf.Choice = tdf.member("ADDR", NetworkAddress)
    bestPingSite: str = tdf.member("BPS", tdf.Str, default="ea-sjc")
    clientAttributes: dict[int, int] | None = tdf.member(
        "CMAP", tdf.MapOf(tdf.UInt, tdf.Int), optional=True
    )
    country: str = tdf.member("CTY", tdf.Str)
    clientData: tdf.VariableValue | None = tdf.member("CVAR", tdf.Var)
    dataMap: dict[int, int] = tdf.member("DMAP", tdf.MapOf(tdf.UInt, tdf.Int))
    hardwareFlags: int = tdf.member("HWFG", tdf.Int)
    latencies: list[int] = tdf.member("PSLM", tdf.ListOf(tdf.Int))
    qosData: NetworkQosData = tdf.member(
        "QDAT", tdf.StructOf(NetworkQosData), default=attrs.Factory(NetworkQosData)
    )
    userInfoAttribute: int = tdf.member("UATT", tdf.UInt)
    games: list[tdf.ObjectId] = tdf.member("ULST", tdf.ListOf(tdf.ObjId))
