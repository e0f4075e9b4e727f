# -*- test-case-name: tests.test_upgrade -*-
"""
Tests for L{pocketrelay.server.web.upgrade}: handing a twisted.web
connection to another protocol after C{101 Switching Protocols}.

These exercise the twisted.web internals the takeover depends on, so a
Twisted release that moves them fails here.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from pocketrelay.blaze.frames import FrameDecoder, MessageType, request
from pocketrelay.blaze.protocol import BlazeProtocol
from pocketrelay.server.web.upgrade import UpgradeRefused, UpgradeResource
from pocketrelay.testing.fakes import RecordingDispatcher

UPGRADE = (
    b"GET /upgrade HTTP/1.1\r\n"
    b"Host: example\r\n"
    b"Connection: keep-alive, Upgrade\r\n"
    b"Upgrade: blaze\r\n"
    b"\r\n"
)


class Recorder(Protocol):
    """
    Records what it receives and whether its connection was lost.
    """

    def __init__(self) -> None:
        self.received = b""
        self.lost: list[object] = []

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: object = None) -> None:
        self.lost.append(reason)


class UpgradeTests(SynchronousTestCase):
    """
    Tests for L{UpgradeResource} on a real L{Site} over L{StringTransport}.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.built: list[Protocol] = []
        self.refuse: UpgradeRefused | None = None
        root = Resource()
        root.putChild(b"upgrade", UpgradeResource(b"blaze", self.buildProtocol))
        self.site = Site(root, timeout=60, reactor=self.clock)
        self.channel = self.site.buildProtocol(IPv4Address("TCP", "10.0.0.5", 5000))
        self.transport = StringTransport(
            peerAddress=IPv4Address("TCP", "10.0.0.5", 5000)
        )
        self.channel.makeConnection(self.transport)

    def buildProtocol(self, request: object) -> Protocol:
        if self.refuse is not None:
            raise self.refuse
        protocol = Recorder()
        self.built.append(protocol)
        return protocol

    def test_switchingProtocols(self) -> None:
        """
        An upgrade request is answered with 101 and the Upgrade and
        Connection headers, without chunked encoding.
        """
        self.channel.dataReceived(UPGRADE)
        head = self.transport.value()
        self.assertTrue(head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n"), head)
        self.assertIn(b"Upgrade: blaze\r\n", head)
        self.assertIn(b"Connection: Upgrade\r\n", head)
        self.assertTrue(head.endswith(b"\r\n\r\n"))
        self.assertNotIn(b"chunked", head.lower())
        self.assertEqual(len(self.built), 1)

    def test_bytesInSameRead(self) -> None:
        """
        Bytes that arrive in the same read as the request go to the new
        protocol.
        """
        self.channel.dataReceived(UPGRADE + b"first frame bytes")
        self.assertEqual(self.built[0].received, b"first frame bytes")  # type: ignore[attr-defined]

    def test_bytesAfterResponse(self) -> None:
        """
        Bytes received after the 101 go to the new protocol, not to the
        HTTP parser.
        """
        self.channel.dataReceived(UPGRADE)
        self.transport.clear()
        self.channel.dataReceived(b"GET / HTTP/1.1\r\n\r\n")
        self.assertEqual(
            self.built[0].received, b"GET / HTTP/1.1\r\n\r\n"  # type: ignore[attr-defined]
        )
        self.assertEqual(self.transport.value(), b"")

    def test_connectionLost(self) -> None:
        """
        The channel's connection loss reaches the new protocol.
        """
        self.channel.dataReceived(UPGRADE)
        self.channel.connectionLost(Exception("gone"))
        self.assertEqual(len(self.built[0].lost), 1)  # type: ignore[attr-defined]

    def test_siteTimeoutDoesNotApply(self) -> None:
        """
        The site's idle timeout no longer closes an upgraded connection.
        """
        self.channel.dataReceived(UPGRADE)
        self.clock.advance(3600)
        self.assertFalse(self.transport.disconnecting)

    def test_producerHandedOver(self) -> None:
        """
        The channel unregisters itself as the transport's producer and the
        transport is reading.
        """
        self.channel.dataReceived(UPGRADE)
        self.assertIsNone(self.transport.producer)
        self.assertEqual(self.transport.producerState, "producing")

    def test_refusedWithoutUpgradeHeaders(self) -> None:
        """
        A plain GET is answered 426 with an explanation and the Upgrade
        header.
        """
        self.channel.dataReceived(b"GET /upgrade HTTP/1.1\r\nHost: x\r\n\r\n")
        response = self.transport.value()
        self.assertTrue(response.startswith(b"HTTP/1.1 426 Upgrade Required\r\n"), response)
        self.assertIn(b"Upgrade: blaze", response)
        self.assertIn(b"Connection header does not contain 'upgrade'", response)
        self.assertEqual(self.built, [])

    def test_refusedOtherProtocol(self) -> None:
        """
        An upgrade to a protocol other than blaze is refused with 426.
        """
        self.channel.dataReceived(UPGRADE.replace(b"Upgrade: blaze", b"Upgrade: websocket"))
        self.assertIn(b" 426 ", self.transport.value().split(b"\r\n")[0])
        self.assertEqual(self.built, [])

    def test_refusedHTTP10(self) -> None:
        """
        HTTP/1.0 cannot upgrade.
        """
        self.channel.dataReceived(UPGRADE.replace(b"HTTP/1.1", b"HTTP/1.0"))
        self.assertIn(b"426", self.transport.value().split(b"\r\n")[0])
        self.assertIn(b"needs HTTP/1.1", self.transport.value())

    def test_postNotAllowed(self) -> None:
        """
        Methods other than GET are answered 405.
        """
        self.channel.dataReceived(UPGRADE.replace(b"GET", b"POST"))
        self.assertIn(b"405", self.transport.value().split(b"\r\n")[0])
        self.assertEqual(self.built, [])

    def test_factoryRefuses(self) -> None:
        """
        L{UpgradeRefused} from the protocol factory becomes that HTTP status
        with the message as body.
        """
        self.refuse = UpgradeRefused(503, "full up")
        self.channel.dataReceived(UPGRADE)
        response = self.transport.value()
        self.assertIn(b" 503 ", response.split(b"\r\n")[0])
        self.assertTrue(response.endswith(b"full up\n"))


class BlazeOverUpgradeTests(SynchronousTestCase):
    """
    A L{BlazeProtocol} behind the upgrade serves a request sent in the same
    read as the HTTP request.
    """

    def test_requestInSameRead(self) -> None:
        """
        A ping frame in the same segment as the upgrade request is answered
        after the 101 head.
        """
        clock = Clock()
        dispatcher = RecordingDispatcher()
        root = Resource()
        root.putChild(
            b"upgrade",
            UpgradeResource(b"blaze", lambda r: BlazeProtocol(dispatcher, clock=clock)),
        )
        site = Site(root, reactor=clock)
        channel = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        transport = StringTransport()
        channel.makeConnection(transport)
        channel.dataReceived(UPGRADE + request(9, 2, 7).encode())
        head, _, rest = transport.value().partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 101"))
        frames = FrameDecoder().feed(rest)
        self.assertEqual(len(frames), 1)
        self.assertEqual(frames[0].type, MessageType.REPLY)
        self.assertEqual(frames[0].seq, 7)
        self.assertIs(transport.producer.__class__, BlazeProtocol)
