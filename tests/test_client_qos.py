# -*- test-case-name: tests.test_client_qos -*-
"""
Tests for L{pocketrelay.client.qos}: probe answers, dropped garbage, and
how the reported address is chosen.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from twisted.internet import defer
from twisted.internet import reactor as _reactor
from twisted.internet.error import DNSLookupError
from twisted.internet.task import Clock
from twisted.internet.testing import FakeDatagramTransport
from twisted.logger import formatEvent
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pocketrelay.client.discovery import ServerInfo, normaliseServerURL
from pocketrelay.client.qos import (
    MAX_PROBE,
    QosProbeError,
    QosProtocol,
    RateLimiter,
    localAddressTowards,
    publicAddress,
    qosReply,
)
from pocketrelay.testing.logs import captureLogs

#: The global reactor, typed loosely (its interfaces are split in stubs).
reactor: Any = _reactor


def addressProbe() -> bytes:
    """
    A type-1 probe: header (u1, request id 1, secret 0, probe number 0)
    and a timestamp.
    """
    return struct.pack(">IIIII", 2, 1, 0, 0, 0x12345678)


class ReplyTests(SynchronousTestCase):
    """
    L{qosReply} answers as the Pocket Relay client does.
    """

    def test_addressProbe(self) -> None:
        """
        A 20-byte probe gets 30 bytes: the probe, the IPv4 address, the
        sender's port (big-endian) and four zero bytes.
        """
        probe = addressProbe()
        reply = qosReply(probe, "203.0.113.7", 3659)
        self.assertEqual(len(reply), 30)
        self.assertEqual(reply, probe + bytes([203, 0, 113, 7]) + b"\x0e\x4b" + b"\0\0\0\0")

    def test_bandwidthProbe(self) -> None:
        """
        A 1200-byte probe gets 1210 bytes, starting with the probe.
        """
        probe = struct.pack(">IIIII", 2, 7, 99, 3, 10) + bytes(1180)
        reply = qosReply(probe, "10.0.0.1", 40000)
        self.assertEqual(len(reply), 1210)
        self.assertTrue(reply.startswith(probe))
        self.assertEqual(reply[1200:1206], bytes([10, 0, 0, 1]) + (40000).to_bytes(2, "big"))

    def test_garbage(self) -> None:
        """
        Too short or too long: L{QosProbeError}.
        """
        self.assertRaises(QosProbeError, qosReply, b"x" * 15, "1.2.3.4", 1)
        self.assertRaises(QosProbeError, qosReply, b"x" * (MAX_PROBE + 1), "1.2.3.4", 1)
        qosReply(b"x" * 16, "1.2.3.4", 1)


class ProtocolTests(SynchronousTestCase):
    """
    L{QosProtocol} with a fake transport.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.protocol = QosProtocol("203.0.113.7", self.clock)
        self.transport = FakeDatagramTransport()
        self.protocol.makeConnection(self.transport)
        self.events = captureLogs(self)

    def test_answer(self) -> None:
        """
        A probe is answered to its sender with the sender's port.
        """
        self.protocol.datagramReceived(addressProbe(), ("127.0.0.1", 3659))
        ((reply, addr),) = self.transport.written
        self.assertEqual(addr, ("127.0.0.1", 3659))
        self.assertEqual(reply[20:], bytes([203, 0, 113, 7, 0x0E, 0x4B, 0, 0, 0, 0]))
        self.assertEqual(self.protocol.answered, 1)

    def test_garbageRateLimited(self) -> None:
        """
        Garbage is not answered; one warning per interval, the next one
        counting those left out.
        """
        for _ in range(5):
            self.protocol.datagramReceived(b"junk", ("127.0.0.1", 1))
        self.assertEqual(self.transport.written, [])
        self.assertEqual(self.protocol.dropped, 5)
        lines = [formatEvent(e) for e in self.events]
        self.assertEqual(len(lines), 1)
        self.assertIn("ignoring a datagram from 127.0.0.1:1: 4 bytes", lines[0])
        self.clock.advance(10)
        self.protocol.datagramReceived(b"junk", ("127.0.0.1", 1))
        lines = [formatEvent(e) for e in self.events]
        self.assertEqual(len(lines), 2)
        self.assertIn("(4 more since the last report)", lines[1])

    def test_rateLimiter(self) -> None:
        """
        L{RateLimiter} lets one event through per interval.
        """
        limiter = RateLimiter(self.clock, 5)
        self.assertEqual(limiter.allow(), 0)
        self.assertIsNone(limiter.allow())
        self.clock.advance(5)
        self.assertEqual(limiter.allow(), 1)


class _FakeSocket:
    def __init__(self, address: Any = None, error: bool = False) -> None:
        self.address = address
        self.error = error
        self.connected: Any = None

    def __call__(self, family: int, kind: int) -> _FakeSocket:
        assert (family, kind) == (socket.AF_INET, socket.SOCK_DGRAM)
        return self

    def __enter__(self) -> _FakeSocket:
        return self

    def __exit__(self, *args: Any) -> None:
        pass

    def connect(self, address: Any) -> None:
        if self.error:
            raise OSError("Network is unreachable")
        self.connected = address

    def getsockname(self) -> Any:
        return (self.address, 5555)


class PublicAddressTests(SynchronousTestCase):
    """
    L{publicAddress} prefers the server's view, then the local route.
    """

    def info(self, url: str, clientAddress: str | None = None) -> ServerInfo:
        return ServerInfo(normaliseServerURL(url), "0.9.0", clientAddress=clientAddress)

    def test_serverView(self) -> None:
        """
        The server's C{client_address} wins, without any lookup.
        """
        def resolve(host: str) -> defer.Deferred[str]:
            raise AssertionError("no lookup expected")

        d = publicAddress(self.info("me3.example.org", "198.51.100.4"), resolve)
        self.assertEqual(self.successResultOf(d), "198.51.100.4")

    def test_localRoute(self) -> None:
        """
        Otherwise the server's name is resolved and the local address that
        routes to it is used.
        """
        fake = _FakeSocket("192.168.1.20")
        d = publicAddress(self.info("me3.example.org:8080"),
                          lambda host: defer.succeed("198.51.100.9"), fake)
        self.assertEqual(self.successResultOf(d), "192.168.1.20")
        self.assertEqual(fake.connected, ("198.51.100.9", 8080))

    def test_unknown(self) -> None:
        """
        A failed lookup, no route, or an IPv6 server: 0.0.0.0, which the
        server replaces with the address it sees.
        """
        failing = publicAddress(self.info("nowhere.invalid"),
                                lambda host: defer.fail(DNSLookupError(host)))
        self.assertEqual(self.successResultOf(failing), "0.0.0.0")
        noRoute = publicAddress(self.info("10.1.1.1"), lambda host: defer.succeed(host),
                                _FakeSocket(error=True))
        self.assertEqual(self.successResultOf(noRoute), "0.0.0.0")
        v6 = publicAddress(self.info("[2001:db8::1]"), lambda host: defer.succeed(host))
        self.assertEqual(self.successResultOf(v6), "0.0.0.0")

    def test_localAddressTowards(self) -> None:
        """
        A real UDP socket towards loopback reports 127.0.0.1.
        """
        self.assertEqual(localAddressTowards("127.0.0.1", 9), "127.0.0.1")


class QosLoopbackTests(TestCase):
    """
    The responder on a real loopback UDP port.
    """

    timeout = 10

    @defer.inlineCallbacks
    def test_probe(self) -> Any:
        """
        A probe sent from a UDP socket gets its answer, naming the
        socket's port.
        """
        from twisted.internet.protocol import DatagramProtocol

        port = reactor.listenUDP(0, QosProtocol("203.0.113.7", reactor), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        received: defer.Deferred[tuple[bytes, Any]] = defer.Deferred()

        class Game(DatagramProtocol):
            def datagramReceived(self, datagram: bytes, addr: Any) -> None:
                if not received.called:
                    received.callback((datagram, addr))

        game = reactor.listenUDP(0, Game(), interface="127.0.0.1")
        self.addCleanup(game.stopListening)
        probe = addressProbe()
        game.write(probe, ("127.0.0.1", port.getHost().port))
        reply, addr = yield received.addTimeout(5, reactor)
        self.assertEqual(addr, ("127.0.0.1", port.getHost().port))
        self.assertEqual(reply, qosReply(probe, "203.0.113.7", game.getHost().port))
