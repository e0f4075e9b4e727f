# -*- test-case-name: tests.test_messages -*-

"""
Redirector.getServerInstance (component 5, command 1): the request ME3
sends to C{gosredirector.ea.com:42127} and the answer that points it at
the main Blaze server (blaze-wire.md section 5.1).
"""

from __future__ import annotations

import enum

import attrs

from pocketrelay.blaze import tdf
from pocketrelay.me3.messages.common import ClientType, intToIpv4, ipv4ToInt

__all__ = [
    "AddressRemapEntry",
    "FirstPartyId",
    "IpAddress",
    "NameRemapEntry",
    "ServerAddress",
    "ServerAddressIndex",
    "ServerInstanceError",
    "ServerInstanceInfo",
    "ServerInstanceRequest",
    "XboxId",
    "XboxServerAddress",
    "serverAddress",
]


@tdf.tdfStruct
@attrs.define
class XboxId:
    """
    An Xbox identity (C{Blaze::Redirector::XboxId}); not used on PC.

    Tags: C{GTAG}, C{XUID}.
    """

    gamertag: str = tdf.member("GTAG", tdf.Str)
    xboxUserId: int = tdf.member("XUID", tdf.UInt)


#: The C{FirstPartyId} union: 0 a PS3 ticket (blob), 1 an L{XboxId}.  ME3
#: on PC leaves it unset.
FirstPartyId: tdf.Kind = tdf.UnionOf({0: tdf.Blob, 1: tdf.StructOf(XboxId)})


@tdf.tdfStruct
@attrs.define
class ServerInstanceRequest:
    """
    The getServerInstance request (C{Blaze::Redirector::ServerInstanceRequest}).
    The defaults are the values an official ME3 PC copy sends.

    Tags: C{BSDK}, C{BTIM}, C{CLNT}, C{CLTP}, C{CSKU}, C{CVER}, C{DSDK},
    C{ENV}, C{FPID}, C{LOC}, C{NAME}, C{PLAT}, C{PROF}.

    @ivar clientType: a L{ClientType}.
    @ivar locale: the locale as four ASCII bytes big-endian ("enNZ").
    """

    blazeSdkVersion: str = tdf.member("BSDK", tdf.Str, default="3.15.6.0")
    blazeSdkBuildDate: str = tdf.member("BTIM", tdf.Str, default="Dec 21 2012 12:47:10")
    clientName: str = tdf.member("CLNT", tdf.Str, default="MassEffect3-pc")
    clientType: int = tdf.member("CLTP", tdf.Int, default=ClientType.GAMEPLAY_USER)
    clientSkuId: str = tdf.member("CSKU", tdf.Str, default="134845")
    clientVersion: str = tdf.member("CVER", tdf.Str, default="05427.124")
    dirtySdkVersion: str = tdf.member("DSDK", tdf.Str, default="8.14.7.1")
    environment: str = tdf.member("ENV", tdf.Str, default="prod")
    firstPartyId: tdf.Choice = tdf.member("FPID", FirstPartyId)
    locale: int = tdf.member("LOC", tdf.UInt, default=0x656E4E5A)
    name: str = tdf.member("NAME", tdf.Str, default="masseffect-3-pc")
    platform: str = tdf.member("PLAT", tdf.Str, default="Windows")
    connectionProfile: str = tdf.member("PROF", tdf.Str, default="standardSecure_v3")


@tdf.tdfStruct
@attrs.define
class IpAddress:
    """
    Where the main Blaze server is (C{Blaze::Redirector::IpAddress}).

    Tags: C{HOST}, C{IP}, C{PORT}.

    The official server writes all three; emulators send either C{HOST}
    or C{IP} with C{PORT}, so both are optional and left out while
    L{None}.

    @ivar hostname: a host name, or L{None}.
    @ivar ip: an IPv4 address as a big-endian u32 (L{ipv4ToInt}), or
        L{None}.
    @ivar port: the TCP port (u16).
    """

    hostname: str | None = tdf.member("HOST", tdf.Str, optional=True)
    ip: int | None = tdf.member("IP", tdf.UInt, optional=True)
    port: int = tdf.member("PORT", tdf.Int)

    @classmethod
    def fromIpv4(cls, address: str, port: int) -> IpAddress:
        """
        The C{IP} form, from a dotted IPv4 address.
        """
        return cls(ip=ipv4ToInt(address), port=port)

    @property
    def host(self) -> str | None:
        """
        The host name if given, else the dotted C{IP}, else L{None}.
        """
        if self.hostname is not None:
            return self.hostname
        if self.ip is not None:
            return intToIpv4(self.ip)
        return None


@tdf.tdfStruct
@attrs.define
class XboxServerAddress:
    """
    An Xbox server address (C{Blaze::Redirector::XboxServerAddress}); not
    used on PC.

    Tags: C{PORT}, C{SID}, C{SITE}.
    """

    port: int = tdf.member("PORT", tdf.Int)
    serviceId: int = tdf.member("SID", tdf.UInt)
    siteName: str = tdf.member("SITE", tdf.Str)


class ServerAddressIndex(enum.IntEnum):
    """
    The alternatives of the redirector's C{ServerAddress} union.
    """

    IP = 0
    XBOX_SERVER = 1


#: The C{ServerAddress} union: 0 L{IpAddress}, 1 L{XboxServerAddress}.
ServerAddress: tdf.Kind = tdf.UnionOf(
    {
        ServerAddressIndex.IP: tdf.StructOf(IpAddress),
        ServerAddressIndex.XBOX_SERVER: tdf.StructOf(XboxServerAddress),
    }
)


def serverAddress(address: IpAddress | XboxServerAddress) -> tdf.Choice:
    """
    Wrap an address as the value of L{ServerInstanceInfo.address}.
    """
    if isinstance(address, IpAddress):
        return tdf.Choice(int(ServerAddressIndex.IP), address)
    if isinstance(address, XboxServerAddress):
        return tdf.Choice(int(ServerAddressIndex.XBOX_SERVER), address)
    raise TypeError(f"{type(address).__name__} is not a server address")


@tdf.tdfStruct
@attrs.define
class AddressRemapEntry:
    """
    An address remapping rule (C{Blaze::Redirector::AddressRemapEntry}).

    Tags: C{DPRT}, C{MASK}, C{SID}, C{SIP}, C{SPRT}.
    """

    destinationPort: int = tdf.member("DPRT", tdf.Int)
    netMask: int = tdf.member("MASK", tdf.UInt)
    serviceId: int = tdf.member("SID", tdf.UInt)
    sourceIp: int = tdf.member("SIP", tdf.UInt)
    sourcePort: int = tdf.member("SPRT", tdf.Int)


@tdf.tdfStruct
@attrs.define
class NameRemapEntry:
    """
    A host name remapping rule (C{Blaze::Redirector::NameRemapEntry}).

    Tags: C{DPRT}, C{SID}, C{SIP}, C{SITE}, C{SPRT}.
    """

    destinationPort: int = tdf.member("DPRT", tdf.Int)
    serviceId: int = tdf.member("SID", tdf.UInt)
    hostname: str = tdf.member("SIP", tdf.Str)
    siteName: str = tdf.member("SITE", tdf.Str)
    sourcePort: int = tdf.member("SPRT", tdf.Int)


@tdf.tdfStruct
@attrs.define
class ServerInstanceInfo:
    """
    The getServerInstance reply (C{Blaze::Redirector::ServerInstanceInfo}).

    Tags: C{ADDR}, C{AMAP}, C{MSGS}, C{NMAP}, C{SECU}, C{XDNS}.

    Server-specific: C{address} (see L{serverAddress}; the Pocket Relay
    client answers C{IP} 127.0.0.1, C{PORT} 42128) and C{secure} (false:
    the main server is plain TCP).  Emulators leave out C{AMAP}, C{MSGS}
    and C{NMAP}; they are written empty, as the official server does.
    """

    address: tdf.Choice = tdf.member("ADDR", ServerAddress)
    addressRemaps: list[AddressRemapEntry] = tdf.member(
        "AMAP", tdf.ListOf(tdf.StructOf(AddressRemapEntry))
    )
    messages: list[str] = tdf.member("MSGS", tdf.ListOf(tdf.Str))
    nameRemaps: list[NameRemapEntry] = tdf.member(
        "NMAP", tdf.ListOf(tdf.StructOf(NameRemapEntry))
    )
    secure: bool = tdf.member("SECU", tdf.Bool)
    defaultDnsAddress: int = tdf.member("XDNS", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class ServerInstanceError:
    """
    The body of a getServerInstance error reply
    (C{Blaze::Redirector::ServerInstanceError}).

    Tags: C{MSGS}.
    """

    messages: list[str] = tdf.member("MSGS", tdf.ListOf(tdf.Str))
