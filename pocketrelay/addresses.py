# -*- test-case-name: tests.test_addresses -*-
"""
Network address helpers shared by the server (web site, API, tunnel,
hub, Blaze handlers) and the client (discovery).

Low in the layers: it imports only the Blaze value model
(L{pocketrelay.blaze.tdf}, L{pocketrelay.me3.messages.common}), never a
handler, resource or service.

  - L{ipv4}: an address as the game understands it (dotted IPv4, also
    from an IPv4-mapped IPv6 address), or L{None};
  - L{clientHost}: the client address of an HTTP request, the forwarded
    one behind a trusted reverse proxy;
  - L{fillExternalAddress}: a game's network address with the address
    the server observed filled in when the game did not know its own.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from pocketrelay.blaze import tdf
from pocketrelay.me3.messages.common import (
    IpAddress,
    IpPairAddress,
    NetworkAddressIndex,
    ipv4ToInt,
)

if TYPE_CHECKING:
    from twisted.web.iweb import IRequest

__all__ = ["clientHost", "fillExternalAddress", "ipv4", "isTrustedProxy"]


def ipv4(value: object) -> str | None:
    """
    An IP address as dotted IPv4, the only form the game understands.

    @param value: the text of an address (surrounding white space is
        ignored).
    @return: the dotted IPv4 address, also for an IPv4-mapped IPv6
        address (C{::ffff:1.2.3.4}); L{None} for anything else (another
        IPv6 address, a name, garbage, a value that is not a string).
    """
    if not isinstance(value, str):
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        return str(mapped) if mapped is not None else None
    return str(address)


def isTrustedProxy(peer: str, trustedProxies: str) -> bool:
    """
    Whether C{peer} is one of the comma-separated C{trustedProxies}
    addresses (C{*} trusts every peer).
    """
    wanted = {entry.strip() for entry in trustedProxies.split(",") if entry.strip()}
    return peer in wanted or "*" in wanted


def clientHost(request: IRequest, reverseProxy: bool, trustedProxies: str) -> str:
    """
    The client's IP address: the peer of the connection, or, when
    C{reverseProxy} is on and the peer is a trusted proxy, the address the
    proxy forwarded in C{X-Real-IP} or (last entry of) C{X-Forwarded-For}.
    The game only understands IPv4; an IPv6 peer is reported as given.
    """
    address = request.getClientAddress()
    peer = str(getattr(address, "host", ""))
    if reverseProxy and isTrustedProxy(peer, trustedProxies):
        # Headers are bytes: decode, or ipaddress would read 4 or 16 bytes
        # as a packed address and refuse every dotted one.
        realIp = request.getHeader(b"x-real-ip")
        forwarded = ipv4(realIp.decode("ascii", "replace") if realIp else None)
        if forwarded is None:
            chain = request.getHeader(b"x-forwarded-for")
            if chain:
                forwarded = ipv4(chain.split(b",")[-1].decode("ascii", "replace"))
        if forwarded is not None:
            return forwarded
    return ipv4(peer) or peer


def fillExternalAddress(
    address: tdf.Choice, peerHost: str, upnpAddress: int = 0
) -> tdf.Choice:
    """
    When the game did not know its external address (QoS did not run), use
    the router's UPnP WAN address if reported, else the address the server
    sees, with the internal port.
    """
    if address.index != NetworkAddressIndex.IP_PAIR or not isinstance(
        address.value, IpPairAddress
    ):
        return address
    pair: IpPairAddress = address.value
    if pair.external.ip != 0:
        return address
    try:
        observed = upnpAddress or ipv4ToInt(peerHost)
    except ValueError:
        return address
    external = IpAddress(ip=observed, port=pair.external.port or pair.internal.port)
    return tdf.Choice(
        address.index, IpPairAddress(external=external, internal=pair.internal)
    )
