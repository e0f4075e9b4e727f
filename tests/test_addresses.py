# -*- test-case-name: tests.test_addresses -*-
"""
Tests for L{pocketrelay.addresses}.
"""

from __future__ import annotations

from typing import Any, cast

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.test.requesthelper import DummyRequest

from pocketrelay.addresses import clientHost, fillExternalAddress, ipv4, isTrustedProxy
from pocketrelay.blaze import tdf
from pocketrelay.me3.messages.common import (
    IpAddress,
    IpPairAddress,
    NetworkAddressIndex,
    ipv4ToInt,
)


class Ipv4Tests(SynchronousTestCase):
    """
    L{ipv4} gives an address as the game understands it, or L{None}.
    """

    def test_dotted(self) -> None:
        """
        A dotted IPv4 address is given back, without surrounding spaces.
        """
        self.assertEqual(ipv4(" 203.0.113.7 "), "203.0.113.7")

    def test_mapped(self) -> None:
        """
        An IPv4-mapped IPv6 address is given as its IPv4 address.
        """
        self.assertEqual(ipv4("::ffff:203.0.113.7"), "203.0.113.7")

    def test_refused(self) -> None:
        """
        Another IPv6 address, a name, garbage, an empty string or a value
        that is not a string is L{None}.
        """
        for value in ("2001:db8::1", "example.com", "1.2.3", "", None, 12, b"1.2.3.4"):
            self.assertIsNone(ipv4(value), value)


class ClientHostTests(SynchronousTestCase):
    """
    L{clientHost} is the peer, or behind a trusted reverse proxy the address
    it forwarded.
    """

    def request(self, *headers: tuple[bytes, bytes], peer: str = "10.0.0.1") -> Any:
        request = DummyRequest([b""])
        if ":" in peer:
            request.client = IPv6Address("TCP", peer, 40000)
        else:
            request.client = IPv4Address("TCP", peer, 40000)
        for name, value in headers:
            request.requestHeaders.setRawHeaders(name, [value])
        return cast(Any, request)

    def test_peerWithoutProxy(self) -> None:
        """
        With C{reverse_proxy} off, forwarded headers are ignored.
        """
        request = self.request((b"x-real-ip", b"198.51.100.9"))
        self.assertEqual(clientHost(request, False, "10.0.0.1"), "10.0.0.1")

    def test_untrustedPeer(self) -> None:
        """
        Headers from a peer that is not a trusted proxy are ignored.
        """
        request = self.request((b"x-real-ip", b"198.51.100.9"))
        self.assertEqual(clientHost(request, True, "10.0.0.2"), "10.0.0.1")

    def test_forwardedForLastEntry(self) -> None:
        """
        Without C{X-Real-IP}, the last C{X-Forwarded-For} entry (the one the
        trusted proxy added) is the client's address.
        """
        request = self.request((b"x-forwarded-for", b"192.0.2.1, 198.51.100.9"))
        self.assertEqual(clientHost(request, True, "*"), "198.51.100.9")

    def test_mappedPeer(self) -> None:
        """
        An IPv4-mapped IPv6 peer is reported as IPv4; another IPv6 peer as
        given.
        """
        self.assertEqual(
            clientHost(self.request(peer="::ffff:10.0.0.3"), False, ""), "10.0.0.3"
        )
        self.assertEqual(clientHost(self.request(peer="2001:db8::1"), False, ""), "2001:db8::1")

    def test_trustedList(self) -> None:
        """
        The trusted proxies are a comma-separated list; C{*} trusts all.
        """
        self.assertTrue(isTrustedProxy("10.0.0.1", " 10.0.0.2 , 10.0.0.1"))
        self.assertFalse(isTrustedProxy("10.0.0.1", "10.0.0.2,"))
        self.assertTrue(isTrustedProxy("10.0.0.1", "*"))


class FillExternalAddressTests(SynchronousTestCase):
    """
    L{fillExternalAddress} fills in an external address the game did not
    know.
    """

    def pair(self, external: str, port: int) -> tdf.Choice:
        return tdf.Choice(
            NetworkAddressIndex.IP_PAIR,
            IpPairAddress(
                external=IpAddress(ipv4ToInt(external), port),
                internal=IpAddress(ipv4ToInt("192.168.1.5"), 3659),
            ),
        )

    def test_observed(self) -> None:
        """
        An unknown external address becomes the observed one, with the
        internal port when the external port is unknown too.
        """
        filled = fillExternalAddress(self.pair("0.0.0.0", 0), "203.0.113.50")
        self.assertEqual(filled, self.pair("203.0.113.50", 3659))

    def test_upnp(self) -> None:
        """
        The router's UPnP WAN address comes before the observed one.
        """
        filled = fillExternalAddress(
            self.pair("0.0.0.0", 9000), "203.0.113.50", ipv4ToInt("198.51.100.4")
        )
        self.assertEqual(filled, self.pair("198.51.100.4", 9000))

    def test_kept(self) -> None:
        """
        A known external address, an observed address that is not IPv4,
        and an address that is not an IP pair are kept as they are.
        """
        known = self.pair("198.51.100.1", 3659)
        self.assertIs(fillExternalAddress(known, "203.0.113.50"), known)
        unknown = self.pair("0.0.0.0", 0)
        self.assertIs(fillExternalAddress(unknown, "2001:db8::1"), unknown)
        unset = tdf.Choice()
        self.assertIs(fillExternalAddress(unset, "203.0.113.50"), unset)
