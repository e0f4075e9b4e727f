# -*- test-case-name: tests.test_limits -*-
"""
Tests for L{pocketrelay.server.limits}: token buckets, connection caps,
the request head deadline and limits of the HTTP side, the Blaze session
cap per address, the Blaze and API rate limits, and the file permissions
of the database.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import EventLoggingObserver, StringTransport
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.resource import Resource
from twisted.web.server import Request
from zope.interface.verify import verifyObject

from pocketrelay.blaze.frames import Frame, MessageType
from pocketrelay.blaze.ids import (
    AuthenticationCommand,
    AuthError,
    Component,
    GlobalError,
    UtilCommand,
)
from pocketrelay.blaze.protocol import IInputBudget, IRequestGate
from pocketrelay.me3.messages.auth import (
    CreateAccountParameters,
    LoginRequest,
    SilentLoginRequest,
)
from pocketrelay.server.limits import (
    LOGIN_ADDRESS,
    LOGIN_EMAIL,
    ConnectionCounter,
    HttpLimits,
    LimitedSite,
    Rate,
    RateLimiter,
    RefusalLog,
    addressKey,
)
from pocketrelay.server.store.store import restrictPermissions
from pocketrelay.server.web.api import BoundedRequest
from pocketrelay.server.web.api.accounts import LoginCodes
from pocketrelay.server.web.upgrade import UpgradeResource
from pocketrelay.testing.logs import captureLogs
from pocketrelay.testing.server import ServerHarness, SynchronousStore
from pocketrelay.testing.web import WebHarness, parseResponse

PEER = "198.51.100.7"


def _refusals(events: EventLoggingObserver) -> list[dict[str, Any]]:
    return [e for e in events if e.get("log_format", "").startswith("Refused {what}")]


# -- token buckets --------------------------------------------------------------------


class RateLimiterTests(SynchronousTestCase):
    """
    L{RateLimiter}: a token bucket per key on an injected clock.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(1000)
        self.limiter = RateLimiter(Rate(perMinute=10, burst=5), self.clock)

    def test_burstThenRefused(self) -> None:
        """
        A key may make C{burst} requests at once; the next is refused.
        """
        self.assertEqual([self.limiter.allow("a") for _ in range(6)], [True] * 5 + [False])

    def test_refill(self) -> None:
        """
        Tokens come back at the rate: 10 per minute is one every 6 seconds.
        """
        for _ in range(5):
            self.limiter.allow("a")
        self.clock.advance(5.9)
        self.assertFalse(self.limiter.allow("a"))
        self.clock.advance(0.2)
        self.assertTrue(self.limiter.allow("a"))
        self.assertFalse(self.limiter.allow("a"))

    def test_keysIndependent(self) -> None:
        """
        One key's empty bucket does not hinder another key.
        """
        for _ in range(5):
            self.limiter.allow("a")
        self.assertFalse(self.limiter.allow("a"))
        self.assertTrue(self.limiter.allow("b"))

    def test_retryAfter(self) -> None:
        """
        L{RateLimiter.retryAfter} says how long until the next token.
        """
        self.assertEqual(self.limiter.retryAfter("a"), 0.0)
        for _ in range(5):
            self.limiter.allow("a")
        self.assertAlmostEqual(self.limiter.retryAfter("a"), 6.0)
        self.clock.advance(2)
        self.assertAlmostEqual(self.limiter.retryAfter("a"), 4.0)

    def test_disabled(self) -> None:
        """
        A rate of 0 per minute limits nothing and remembers nothing.
        """
        limiter = RateLimiter(Rate(0, 1), self.clock)
        self.assertTrue(all(limiter.allow("a") for _ in range(100)))
        self.assertEqual(len(limiter), 0)

    def test_idleKeysForgotten(self) -> None:
        """
        A key whose bucket has refilled is forgotten.
        """
        for key in range(100):
            self.limiter.allow(key)
        self.assertEqual(len(self.limiter), 100)
        self.clock.advance(30)  # 5 tokens at 10 per minute
        self.limiter.allow("fresh")
        self.assertEqual(len(self.limiter), 1)

    def test_tableCapped(self) -> None:
        """
        At most C{maxKeys} keys are kept; the least recently used goes, and
        comes back with a full bucket.
        """
        limiter = RateLimiter(Rate(10, 1), self.clock, maxKeys=3)
        for key in ("a", "b", "c"):
            self.assertTrue(limiter.allow(key))
        self.assertFalse(limiter.allow("a"))  # "a" is now the most recent
        self.assertTrue(limiter.allow("d"))  # evicts "b"
        self.assertEqual(len(limiter), 3)
        self.assertFalse(limiter.allow("a"))
        self.assertTrue(limiter.allow("b"))

    def test_clockBackwards(self) -> None:
        """
        A clock that goes backwards refills nothing.
        """
        for _ in range(5):
            self.limiter.allow("a")
        self.clock.rightNow -= 600
        self.assertFalse(self.limiter.allow("a"))

    def test_badRate(self) -> None:
        """
        A burst below 1 is refused.
        """
        self.assertRaises(ValueError, RateLimiter, Rate(10, 0), self.clock)


class AddressKeyTests(SynchronousTestCase):
    """
    L{addressKey} groups client addresses.
    """

    def test_ipv4(self) -> None:
        """
        IPv4 addresses are their own key, also when IPv4-mapped.
        """
        self.assertEqual(addressKey("203.0.113.5"), "203.0.113.5")
        self.assertEqual(addressKey("::ffff:203.0.113.5"), "203.0.113.5")

    def test_ipv6(self) -> None:
        """
        IPv6 addresses are grouped by /64.
        """
        self.assertEqual(addressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64")
        self.assertEqual(addressKey("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64")
        self.assertNotEqual(addressKey("2001:db8:1:3::1"), addressKey("2001:db8:1:2::1"))

    def test_other(self) -> None:
        """
        Something that is not an IP address is kept as it is.
        """
        self.assertEqual(addressKey("/run/pocketrelay.sock"), "/run/pocketrelay.sock")


class ConnectionCounterTests(SynchronousTestCase):
    """
    L{ConnectionCounter} counts per key with a cap.
    """

    def test_cap(self) -> None:
        """
        Up to C{limit} are counted per key; released ones make room; empty
        keys are forgotten.
        """
        counter = ConnectionCounter(2)
        self.assertTrue(counter.acquire("a"))
        self.assertTrue(counter.acquire("a"))
        self.assertFalse(counter.acquire("a"))
        self.assertTrue(counter.acquire("b"))
        counter.release("a")
        self.assertTrue(counter.acquire("a"))
        counter.release("a")
        counter.release("a")
        counter.release("b")
        self.assertEqual(len(counter), 0)

    def test_noLimit(self) -> None:
        """
        A limit of 0 counts without refusing.
        """
        counter = ConnectionCounter(0)
        self.assertTrue(all(counter.acquire("a") for _ in range(1000)))
        self.assertEqual(counter.count("a"), 1000)


class RefusalLogTests(SynchronousTestCase):
    """
    L{RefusalLog} logs one line per refusal, rate-limited per kind.
    """

    def test_rateLimited(self) -> None:
        """
        Beyond the burst, refusals are counted instead of logged, and the
        next line logged says how many were left out.
        """
        events = captureLogs(self)
        clock = Clock()
        refusals = RefusalLog(clock, Rate(30, 3))
        for _ in range(5):
            refusals.refused("login", PEER, "too many")
        refusals.refused("connection", PEER, "too many")
        lines = _refusals(events)
        self.assertEqual([e["what"] for e in lines], ["login"] * 3 + ["connection"])
        clock.advance(2)
        refusals.refused("login", PEER, "too many")
        last = _refusals(events)[-1]
        self.assertEqual((last["what"], last["suppressed"], last["client"]), ("login", 2, PEER))
        self.assertIn("2 more login refusals not logged", last["more"])


# -- the HTTP side -----------------------------------------------------------------------


class _Echo(Resource):
    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        return b"ok"

    def render_POST(self, request: Request) -> bytes:
        assert request.content is not None
        return b"got %d" % (len(request.content.read()),)


class _Recorder(Protocol):
    def __init__(self) -> None:
        self.lost: list[object] = []

    def connectionLost(self, reason: object = None) -> None:
        self.lost.append(reason)


GET = b"GET /x HTTP/1.1\r\nHost: example\r\n\r\n"


class _SiteTestCase(SynchronousTestCase):
    """
    A L{LimitedSite} on a L{Clock}, with an echo resource everywhere and
    an upgrade resource at C{/upgrade}.
    """

    limits = HttpLimits(maxHeaderSize=2048, maxHeaders=10, maxConnectionsPerAddress=2,
                        requestHeadTimeout=10.0)

    def setUp(self) -> None:
        self.clock = Clock()
        self.events = captureLogs(self)
        root = Resource()
        echo = _Echo()
        root.putChild(b"x", echo)
        api = Resource()
        api.putChild(b"x", echo)
        root.putChild(b"api", api)
        self.upgraded: list[_Recorder] = []
        root.putChild(b"upgrade", UpgradeResource(b"blaze", self.buildUpgraded))
        self.site = LimitedSite(root, self.limits, bodyLimits=[(b"/api/", 256 * 1024)],
                                defaultBodyLimit=1024, timeout=60, reactor=self.clock)
        self.site.requestFactory = BoundedRequest
        self._ports = iter(range(40000, 50000))

    def buildUpgraded(self, request: object) -> Protocol:
        protocol = _Recorder()
        self.upgraded.append(protocol)
        return protocol

    def connect(self, host: str = PEER) -> tuple[Any, StringTransport]:
        address = IPv4Address("TCP", host, next(self._ports))
        channel = self.site.buildProtocol(address)
        transport = StringTransport(peerAddress=address,
                                    hostAddress=IPv4Address("TCP", "192.0.2.1", 8080))
        channel.makeConnection(transport)
        return channel, transport

    def close(self, channel: Any) -> None:
        channel.connectionLost(Failure(ConnectionDone()))

    def assertRefused(self, transport: StringTransport, code: int) -> bytes:
        """
        The transport got one C{code} response and is closing.
        """
        response = parseResponse(transport.value())
        self.assertEqual(response.code, code, transport.value())
        self.assertEqual(response.header("connection"), "close")
        self.assertTrue((response.header("content-type") or "").startswith("text/plain"))
        self.assertTrue(transport.disconnecting)
        return response.body


class ConnectionCapTests(_SiteTestCase):
    """
    Open connections are capped per client address.
    """

    def test_capPerAddress(self) -> None:
        """
        Beyond the cap, a connection from the same address is answered 503
        and closed at once, with one log line; other addresses are not
        affected.
        """
        _first, t1 = self.connect()
        _second, t2 = self.connect()
        third, t3 = self.connect()
        self.assertFalse(t1.disconnecting or t2.disconnecting)
        self.assertIn(b"Too many connections", self.assertRefused(t3, 503))
        self.close(third)
        _other, t4 = self.connect("198.51.100.8")
        self.assertFalse(t4.disconnecting)
        [line] = _refusals(self.events)
        self.assertEqual((line["what"], line["client"]), ("connection", PEER))
        self.assertEqual(self.site.httpLimits.connections.count(PEER), 2)

    def test_releasedOnClose(self) -> None:
        """
        A closed connection makes room for a new one; a refused connection
        does not take any.
        """
        first, _ = self.connect()
        self.connect()
        refused, _ = self.connect()
        self.close(refused)
        self.close(first)
        _, transport = self.connect()
        self.assertFalse(transport.disconnecting)
        self.assertEqual(self.site.httpLimits.connections.count(PEER), 2)

    def test_servedWithinCap(self) -> None:
        """
        Connections within the cap are served normally.
        """
        channel, transport = self.connect()
        channel.dataReceived(GET)
        self.assertEqual(parseResponse(transport.value()).body, b"ok")

    def test_trustedProxyExempt(self) -> None:
        """
        Peers that are trusted proxies (reverse_proxy on) are not capped.
        """
        self.site.httpLimits.limits = HttpLimits(maxConnectionsPerAddress=2,
                                                 exemptPeers=frozenset({PEER}))
        transports = [self.connect()[1] for _ in range(5)]
        self.assertFalse(any(t.disconnecting for t in transports))

    def test_upgradedConnectionCounted(self) -> None:
        """
        An upgraded connection stays counted until it closes; its close
        reaches the new protocol and releases the count.
        """
        channel, transport = self.connect()
        channel.dataReceived(b"GET /upgrade HTTP/1.1\r\nHost: x\r\n"
                             b"Connection: Upgrade\r\nUpgrade: blaze\r\n\r\n")
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 101 "))
        counter = self.site.httpLimits.connections
        self.assertEqual(counter.count(PEER), 1)
        self.close(channel)
        self.assertEqual(len(self.upgraded[0].lost), 1)
        self.assertEqual(counter.count(PEER), 0)


class DeadlineTests(_SiteTestCase):
    """
    The request head must be complete within C{requestHeadTimeout}.
    """

    def test_dribblingClosedAtDeadline(self) -> None:
        """
        A client sending one byte per second (which keeps resetting the
        idle timeout) is answered 408 and closed at the deadline.
        """
        channel, transport = self.connect()
        request = b"GET /x HTTP/1.1\r\nHost: example\r\nX-Slow: " + b"a" * 100
        for byte in request[:9]:
            channel.dataReceived(bytes([byte]))
            self.clock.advance(1)
        self.assertFalse(transport.disconnecting)
        self.assertEqual(transport.value(), b"")
        channel.dataReceived(bytes([request[9]]))
        self.clock.advance(1)
        self.assertIn(b"took longer than 10 seconds", self.assertRefused(transport, 408))
        [line] = _refusals(self.events)
        self.assertEqual(line["what"], "slow request")

    def test_silentConnection(self) -> None:
        """
        A connection that sends nothing is closed at the deadline, long
        before the idle timeout.
        """
        _, transport = self.connect()
        self.clock.advance(9.9)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(0.1)
        self.assertRefused(transport, 408)

    def test_promptRequestServed(self) -> None:
        """
        A request whose head arrives in time is served and the kept-alive
        connection is not closed by the deadline afterwards.
        """
        channel, transport = self.connect()
        self.clock.advance(3)
        channel.dataReceived(GET)
        self.assertEqual(parseResponse(transport.value()).body, b"ok")
        self.clock.advance(30)
        self.assertFalse(transport.disconnecting)
        self.assertNotIn(b"408", transport.value())

    def test_laterRequestDribbling(self) -> None:
        """
        On a kept-alive connection, the deadline of the next request starts
        with its first byte.
        """
        channel, transport = self.connect()
        channel.dataReceived(GET)
        transport.clear()
        self.clock.advance(30)
        channel.dataReceived(b"G")
        self.clock.advance(9)
        channel.dataReceived(b"ET /x HTTP/1.1\r\n")
        self.assertFalse(transport.disconnecting)
        self.clock.advance(1)
        self.assertRefused(transport, 408)

    def test_bodyNotUnderDeadline(self) -> None:
        """
        The deadline covers the head only: a slow body is not cut by it.
        """
        channel, transport = self.connect()
        channel.dataReceived(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n")
        for _ in range(20):
            self.clock.advance(1)
            channel.dataReceived(b"z")
        self.assertEqual(parseResponse(transport.value()).body, b"got 20")

    def test_upgradeNotUnderDeadline(self) -> None:
        """
        An upgraded connection is not closed by the deadline or the idle
        timeout.
        """
        channel, transport = self.connect()
        channel.dataReceived(b"GET /upgrade HTTP/1.1\r\nHost: x\r\n"
                             b"Connection: Upgrade\r\nUpgrade: blaze\r\n\r\n")
        self.clock.advance(3600)
        self.assertFalse(transport.disconnecting)


class RequestDeadlineTests(_SiteTestCase):
    """
    The whole request, body included, must arrive within
    C{requestTimeout} (issue 10, item 8).
    """

    limits = HttpLimits(maxHeaderSize=2048, maxHeaders=10, maxConnectionsPerAddress=2,
                        requestHeadTimeout=10.0, requestTimeout=60.0)

    def test_trickledBodyClosed(self) -> None:
        """
        The attack: a body trickled one byte every 30 seconds (each byte
        resets the idle timeout) is answered 408 and closed 60 seconds
        after the request started, with one log line.
        """
        channel, transport = self.connect()
        channel.dataReceived(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        channel.dataReceived(b"z")
        self.clock.advance(30)
        channel.dataReceived(b"z")
        self.clock.advance(29.9)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(0.1)
        self.assertIn(b"longer than 60 seconds", self.assertRefused(transport, 408))
        [line] = _refusals(self.events)
        self.assertEqual(line["what"], "slow request")

    def test_completeInTimeServed(self) -> None:
        """
        A request whose body is complete just before the deadline is
        served, and the deadline does not fire afterwards.
        """
        channel, transport = self.connect()
        channel.dataReceived(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nab")
        self.clock.advance(59)
        channel.dataReceived(b"c")
        self.assertEqual(parseResponse(transport.value()).body, b"got 3")
        self.clock.advance(120)
        self.assertNotIn(b"408", transport.value())

    def test_laterRequestHasItsOwnDeadline(self) -> None:
        """
        On a kept-alive connection the deadline of the next request starts
        with its first byte and covers its body.
        """
        channel, transport = self.connect()
        channel.dataReceived(GET)
        transport.clear()
        self.clock.advance(50)
        channel.dataReceived(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n")
        for _ in range(5):
            self.clock.advance(11.9)
            channel.dataReceived(b"z")
        self.assertFalse(transport.disconnecting)
        self.clock.advance(0.5)
        self.assertRefused(transport, 408)

    def test_chunkedBody(self) -> None:
        """
        A chunked body is under the same deadline.
        """
        channel, transport = self.connect()
        channel.dataReceived(b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                             b"\r\n\r\n1\r\nz\r\n")
        for _ in range(3):
            self.clock.advance(20)
            channel.dataReceived(b"1\r\nz\r\n")
        self.assertRefused(transport, 408)


class HeadLimitTests(_SiteTestCase):
    """
    The request head's size and header count are limited.
    """

    def test_headTooLarge(self) -> None:
        """
        A head over C{maxHeaderSize} bytes is answered 431 and closed, also
        when it arrives in one read with more requests.
        """
        channel, transport = self.connect()
        headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 300) for i in range(8))
        channel.dataReceived(b"GET /x HTTP/1.1\r\n" + headers + b"\r\n" + GET)
        self.assertIn(b"larger than 2048 bytes", self.assertRefused(transport, 431))
        self.assertEqual(transport.value().count(b"HTTP/1.1"), 1)

    def test_tooManyHeaders(self) -> None:
        """
        More than C{maxHeaders} header lines is 431.
        """
        channel, transport = self.connect()
        headers = b"".join(b"X-H%d: v\r\n" % (i,) for i in range(11))
        channel.dataReceived(b"GET /x HTTP/1.1\r\n" + headers + b"\r\n")
        self.assertIn(b"More than 10 header lines", self.assertRefused(transport, 431))

    def test_atTheLimits(self) -> None:
        """
        Exactly C{maxHeaders} headers is fine.
        """
        channel, transport = self.connect()
        headers = b"".join(b"X-H%d: v\r\n" % (i,) for i in range(10))
        channel.dataReceived(b"GET /x HTTP/1.1\r\n" + headers + b"\r\n")
        self.assertEqual(parseResponse(transport.value()).body, b"ok")

    def test_longRequestLine(self) -> None:
        """
        A request line over the limit is 414.
        """
        channel, transport = self.connect()
        channel.dataReceived(b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\n\r\n")
        self.assertRefused(transport, 414)

    def test_longLineWithoutEnd(self) -> None:
        """
        A header line that never ends is refused once it passes the limit.
        """
        channel, transport = self.connect()
        channel.dataReceived(b"GET /x HTTP/1.1\r\nX-Long: ")
        channel.dataReceived(b"v" * 1500)
        self.assertFalse(transport.disconnecting)
        channel.dataReceived(b"v" * 1500)
        self.assertRefused(transport, 431)

    def test_twistedLimitsSet(self) -> None:
        """
        Twisted's own head limits are set to the same values.
        """
        channel, _ = self.connect()
        self.assertEqual((channel.totalHeadersSize, channel.maxHeaders, channel.MAX_LENGTH),
                         (2048, 10, 2048))


class BodyLimitTests(_SiteTestCase):
    """
    Request bodies over the limit of their path are refused early.
    """

    def test_announcedTooLarge(self) -> None:
        """
        A Content-Length over the limit is answered 413 before any of the
        body is sent.
        """
        channel, transport = self.connect()
        channel.dataReceived(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n")
        self.assertIn(b"larger than 1024 bytes", self.assertRefused(transport, 413))

    def test_chunkedTooLarge(self) -> None:
        """
        A chunked body is refused as soon as it passes the limit.
        """
        channel, transport = self.connect()
        channel.dataReceived(b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        channel.dataReceived(b"200\r\n" + b"z" * 512 + b"\r\n")
        self.assertEqual(transport.value(), b"")
        channel.dataReceived(b"201\r\n" + b"z" * 513 + b"\r\n")
        self.assertRefused(transport, 413)

    def test_apiPrefixLarger(self) -> None:
        """
        Paths under a prefix with a larger limit take larger bodies.
        """
        channel, transport = self.connect()
        channel.dataReceived(b"POST /api/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
                             + b"z" * 5000)
        self.assertEqual(parseResponse(transport.value()).body, b"got 5000")
        channel, transport = self.connect("198.51.100.9")
        channel.dataReceived(b"POST /api/x HTTP/1.1\r\nHost: x\r\n"
                             b"Content-Length: 300000\r\n\r\n")
        self.assertRefused(transport, 413)


# -- Blaze ------------------------------------------------------------------------------------


UPGRADE = (b"GET /api/server/upgrade HTTP/1.1\r\nHost: x\r\n"
           b"Connection: Upgrade\r\nUpgrade: blaze\r\n\r\n")


class BlazeSessionCapTests(SynchronousTestCase):
    """
    Blaze sessions are capped per client address at the upgrade.
    """

    def setUp(self) -> None:
        from pocketrelay.server.web.site import buildRoot, buildSite

        self.server = ServerHarness(FilePath(self.mktemp()),
                                    [("limits.max_sessions_per_address", 2)])
        self.hub = self.server.hub
        self.site = buildSite(buildRoot(self.hub), reactor=self.server.clock,
                              limits=self.hub.limits)
        self._ports = iter(range(40000, 50000))

    def upgrade(self, host: str = PEER) -> tuple[Any, StringTransport]:
        address = IPv4Address("TCP", host, next(self._ports))
        channel = self.site.buildProtocol(address)
        transport = StringTransport(peerAddress=address)
        channel.makeConnection(transport)
        channel.dataReceived(UPGRADE)
        return channel, transport

    def test_capPerAddress(self) -> None:
        """
        Beyond C{limits.max_sessions_per_address}, an upgrade from the same
        address is answered 429; a closed session makes room again.
        """
        first, t1 = self.upgrade()
        _, t2 = self.upgrade()
        for transport in (t1, t2):
            self.assertTrue(transport.value().startswith(b"HTTP/1.1 101 "))
        _, t3 = self.upgrade()
        response = parseResponse(t3.value())
        self.assertEqual(response.code, 429)
        self.assertIn(b"too many Blaze sessions", response.body)
        _, other = self.upgrade("198.51.100.99")
        self.assertTrue(other.value().startswith(b"HTTP/1.1 101 "))
        first.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.hub.limits.sessions.count(PEER), 1)
        _, t4 = self.upgrade()
        self.assertTrue(t4.value().startswith(b"HTTP/1.1 101 "))

    def test_httpCountReleasedAfterUpgrade(self) -> None:
        """
        The HTTP connection count of an upgraded connection is released
        when the Blaze connection closes.
        """
        channel, _ = self.upgrade()
        self.assertEqual(self.hub.limits.connections.count(PEER), 1)
        channel.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.hub.limits.connections.count(PEER), 0)
        self.assertEqual(self.hub.limits.sessions.count(PEER), 0)
        self.assertEqual(self.hub.sessions, {})


class AnonymousFrameMemoryTests(SynchronousTestCase):
    """
    Incomplete frames of Blaze sessions that have not logged in hold at
    most C{limits.anonymous_frame_memory} bytes, server-wide, and frames
    must arrive within C{limits.frame_timeout} (issue 10, item 8).
    """

    def setUp(self) -> None:
        self.events = captureLogs(self)
        self.server = ServerHarness(
            FilePath(self.mktemp()), [("limits.anonymous_frame_memory", 1024 * 1024)]
        )
        self.budget = self.server.hub.limits.frameBudget

    def test_verifyObject(self) -> None:
        """
        L{BufferBudget} provides L{IInputBudget}.
        """
        self.assertTrue(verifyObject(IInputBudget, self.budget))

    def partial(self, connection: Any, size: int) -> None:
        """
        Send the start of a 4 MiB frame: its header and C{size} bytes.
        """
        frame = Frame(9, 2, MessageType.REQUEST, 1, 0, b"x" * (4 * 1024 * 1024))
        connection.sendRaw(frame.encode()[: size + 14])

    def test_anonymousSessionsCapped(self) -> None:
        """
        The attack: sessions from several addresses each hold part of a
        4 MiB frame.  Once the held total would pass the cap, the session
        sending more is closed (one log line per refusal, rate-limited);
        the others keep their connection and the total stays under the
        cap.
        """
        connections = [self.server.connect(f"198.51.100.{n}", preAuth=True) for n in range(6)]
        for connection in connections:
            self.partial(connection, 300 * 1024)
        closed = [c.transport.disconnecting for c in connections]
        self.assertEqual(closed, [False, False, False, True, True, True])
        self.assertLessEqual(self.budget.total, 1024 * 1024)
        self.assertEqual(len(self.budget), 3)
        self.assertEqual({e["what"] for e in _refusals(self.events)}, {"incomplete Blaze frame"})

    def test_loggedInNotCounted(self) -> None:
        """
        A logged-in session's incomplete frames are not counted (it may
        send large settings); logging out counts it again.
        """
        connection = self.server.loggedIn("a@example.com")
        self.partial(connection, 2 * 1024 * 1024)
        self.assertFalse(connection.transport.disconnecting)
        self.assertEqual(self.budget.total, 0)
        self.server.hub.unbindPlayer(connection.session)
        self.assertIs(connection.protocol.inputBudget, self.budget)

    def test_frameDeadlineFromSettings(self) -> None:
        """
        A session's frame must arrive within C{limits.frame_timeout}
        seconds, however often bytes come.
        """
        connection = self.server.connect(PEER, preAuth=True)
        self.partial(connection, 10)
        for _ in range(3):
            self.server.clock.advance(10)
            connection.sendRaw(b"x")
        self.assertTrue(connection.transport.disconnecting)
        self.assertEqual(self.budget.total, 0)


class BlazeFloodTests(SynchronousTestCase):
    """
    Blaze requests are rate-limited per session and per client address: a
    flooding session waits for its turn (reading from it stops), other
    sessions are served at once (issue 10, item 9).
    """

    def setUp(self) -> None:
        self.events = captureLogs(self)
        self.server = ServerHarness(
            FilePath(self.mktemp()),
            [("limits.session_request_rate", 1200), ("limits.session_request_burst", 200),
             ("limits.address_request_rate", 2400), ("limits.address_request_burst", 400)],
        )

    def pings(self, connection: Any, count: int, kind: MessageType = MessageType.REQUEST) -> None:
        """
        Send C{count} Util.ping requests (or Fire2 pings) in one read and
        let the reactor turns pass that have nothing to wait for.
        """
        connection.sendRaw(b"".join(
            Frame(Component.UTIL, UtilCommand.PING, kind, seq).encode() for seq in range(count)
        ))
        self.server.clock.advance(0)

    def answered(self, connection: Any) -> int:
        return sum(1 for frame in connection.written()
                   if frame.type in (MessageType.REPLY, MessageType.PING_REPLY))

    def test_floodingSessionWaits(self) -> None:
        """
        The attack: a session sends 1,000 pings at once.  The burst is
        answered, the rest at the session's rate; the session stops being
        read; a session from another address is answered at once; one log
        line says so.
        """
        flood = self.server.connect(PEER)
        self.pings(flood, 1000)
        self.assertEqual(self.answered(flood), 200)
        self.assertEqual(flood.transport.producerState, "paused")
        victim = self.server.connect("203.0.113.9")
        self.pings(victim, 1)
        self.assertEqual(self.answered(victim), 1)
        self.server.clock.advance(1)
        self.assertEqual(self.answered(flood), 220)
        self.server.clock.pump([0.1] * 400)
        self.assertEqual(self.answered(flood), 1000)
        self.assertEqual(flood.transport.producerState, "producing")
        [line] = _refusals(self.events)
        self.assertEqual(line["what"], "Blaze requests")

    def test_addressShared(self) -> None:
        """
        Sixteen sessions from one address share the address's bucket; a
        session from another address is not slowed by them.
        """
        floods = [self.server.connect(PEER) for _ in range(16)]
        for flood in floods:
            self.pings(flood, 50)
        self.assertEqual(sum(self.answered(flood) for flood in floods), 400)
        victim = self.server.connect("203.0.113.9")
        self.pings(victim, 10)
        self.assertEqual(self.answered(victim), 10)
        self.server.clock.advance(10)
        self.assertEqual(sum(self.answered(flood) for flood in floods), 800)

    def test_servedInTurns(self) -> None:
        """
        Of a read of many requests, a queue's worth (32) is handled at
        once; the rest follow in later reactor turns, so that other
        connections are served in between.
        """
        flood = self.server.connect(PEER)
        self.assertTrue(verifyObject(IRequestGate, flood.protocol.requestGate))
        flood.sendRaw(b"".join(
            Frame(Component.UTIL, UtilCommand.PING, MessageType.REQUEST, seq).encode()
            for seq in range(100)
        ))
        self.assertEqual(self.answered(flood), 32)
        self.server.clock.advance(0)
        self.assertEqual(self.answered(flood), 100)

    def test_fire2PingsCounted(self) -> None:
        """
        Fire2 ping frames, answered by the protocol itself, take their turn
        like requests.
        """
        flood = self.server.connect(PEER)
        self.pings(flood, 300, MessageType.PING)
        self.assertEqual(self.answered(flood), 200)

    def test_loginBurstServed(self) -> None:
        """
        A game's login (preAuth, login, postAuth, a dozen config fetches,
        settings) and a few minutes of pings every 15 seconds are never
        slowed down.
        """
        self.server.createPlayer("a@example.com")
        connection = self.server.connect(PEER, preAuth=True)
        connection.login("a@example.com", "password")
        for _ in range(60):
            connection.request(Component.UTIL, UtilCommand.FETCH_CLIENT_CONFIG)
            connection.request(Component.UTIL, UtilCommand.USER_SETTINGS_LOAD_ALL)
        for _ in range(20):
            self.server.clock.advance(15)
            connection.request(Component.UTIL, UtilCommand.PING)
        self.assertEqual(_refusals(self.events), [])


class BlazeRateLimitTests(SynchronousTestCase):
    """
    Blaze logins and account creations are rate-limited per address and
    per email; over the limit the reply is GlobalError.TIMEOUT.
    """

    def setUp(self) -> None:
        self.events = captureLogs(self)
        self.server = ServerHarness(
            FilePath(self.mktemp()),
            [("limits.login_rate", 10), ("limits.login_burst", 2),
             ("limits.login_email_rate", 10), ("limits.login_email_burst", 2),
             ("limits.token_login_rate", 10), ("limits.token_login_burst", 1)],
        )
        self.server.createPlayer("a@example.com")

    def login(self, connection: Any, email: str = "a@example.com",
              password: str = "wrong") -> int:
        return connection.error(Component.AUTHENTICATION, AuthenticationCommand.LOGIN,
                                LoginRequest(email=email, password=password))

    def test_loginPerAddress(self) -> None:
        """
        After the burst, a login from the same address is refused with
        TIMEOUT (not a password error) and one log line; the bucket
        refills with time.
        """
        connection = self.server.connect(PEER, preAuth=True)
        self.assertEqual(self.login(connection), AuthError.INVALID_PASSWORD)
        self.assertEqual(self.login(connection, "b@example.com"), AuthError.INVALID_USER)
        self.assertEqual(self.login(connection), GlobalError.TIMEOUT)
        [line] = _refusals(self.events)
        self.assertEqual((line["what"], line["client"]), (LOGIN_ADDRESS, PEER))
        self.server.clock.advance(6)
        self.assertEqual(self.login(connection), AuthError.INVALID_PASSWORD)

    def test_loginPerEmail(self) -> None:
        """
        Guesses at one account from many addresses are limited per email
        (in canonical form) by the per-email fallback.
        """
        codes = [self.login(self.server.connect(f"198.51.100.{i}", preAuth=True), email)
                 for i, email in enumerate(["a@example.com", "A@example.com",
                                            "a@EXAMPLE.com"])]
        self.assertEqual(codes, [AuthError.INVALID_PASSWORD] * 2 + [GlobalError.TIMEOUT])
        self.assertEqual(_refusals(self.events)[0]["what"], LOGIN_EMAIL)

    def test_rightPasswordAlsoLimited(self) -> None:
        """
        Over the limit, even the right password is refused: the limit
        comes before the check.
        """
        connection = self.server.connect(PEER, preAuth=True)
        self.login(connection)
        self.login(connection)
        self.assertEqual(self.login(connection, password="password"), GlobalError.TIMEOUT)

    def test_createAccount(self) -> None:
        """
        Account creations count against the same per-address limit.
        """
        connection = self.server.connect(PEER, preAuth=True)
        codes = []
        for i in range(3):
            frame = connection.request(
                Component.AUTHENTICATION, AuthenticationCommand.CREATE_ACCOUNT,
                CreateAccountParameters(email=f"new{i}@example.com", password="pw"))
            codes.append(frame.error)
        self.assertEqual(codes, [0, 0, GlobalError.TIMEOUT])

    def test_silentLogin(self) -> None:
        """
        Token logins are limited per address by their own rate.
        """
        token = self.server.signer.issueToken(1)
        connection = self.server.connect(PEER, preAuth=True)
        first = connection.request(Component.AUTHENTICATION,
                                   AuthenticationCommand.SILENT_LOGIN,
                                   SilentLoginRequest(authToken=token, personaId=1))
        self.assertEqual(first.error, 0)
        second = connection.error(Component.AUTHENTICATION,
                                  AuthenticationCommand.SILENT_LOGIN,
                                  SilentLoginRequest(authToken=token, personaId=1))
        self.assertEqual(second, GlobalError.TIMEOUT)


# -- the API --------------------------------------------------------------------------------


class ApiRateLimitTests(TestCase):
    """
    Dashboard logins, account creation and login codes answer 429 over
    their limits.
    """

    @defer.inlineCallbacks
    def setUp(self) -> Any:  # type: ignore[override]
        self.events = captureLogs(self)
        self.web = WebHarness(self, limits__login_rate=10, limits__login_burst=2,
                              limits__login_code_rate=1, limits__login_code_burst=1)
        yield self.web.start()
        yield self.web.createPlayer("a@example.com")

    def login(self, password: str = "wrong", email: str = "a@example.com") -> Any:
        return self.web.request("POST", "/api/auth/login",
                                {"email": email, "password": password})

    @defer.inlineCallbacks
    def test_loginPerAddress(self) -> Any:
        """
        After the burst, a login is 429 with a plain-text message and
        Retry-After, even with the right password; time refills.
        """
        first = yield self.login()
        second = yield self.login(email="b@example.com")
        self.assertEqual((first.code, second.code), (401, 401))
        third = yield self.login(password="password")
        self.assertEqual(third.code, 429)
        self.assertTrue(third.header("content-type").startswith("text/plain"))
        self.assertIn("Too many requests", third.text)
        self.assertEqual(third.header("retry-after"), "6")
        self.assertEqual(third.header("access-control-allow-origin"), "*")
        self.assertEqual(_refusals(self.events)[0]["what"], LOGIN_ADDRESS)
        self.web.clock.advance(6)
        fourth = yield self.login(password="password")
        self.assertEqual(fourth.code, 200)

    @defer.inlineCallbacks
    def test_malformedNotCounted(self) -> Any:
        """
        Requests refused before the credentials are looked at (bad JSON)
        take no token.
        """
        for _ in range(3):
            response = yield self.web.request("POST", "/api/auth/login", b"{")
            self.assertEqual(response.code, 400)
        response = yield self.login(password="password")
        self.assertEqual(response.code, 200)

    @defer.inlineCallbacks
    def test_createAndExchangeShareLimit(self) -> Any:
        """
        Account creation and login-code exchange take from the same
        per-address bucket as logins.
        """
        created = yield self.web.request(
            "POST", "/api/auth/create",
            {"username": "n", "email": "n@example.com", "password": "p"})
        exchanged = yield self.web.request("POST", "/api/auth/exchange-code",
                                           {"login_code": "ABCDE"})
        refused = yield self.login()
        self.assertEqual((created.code, exchanged.code, refused.code), (200, 400, 429))

    @defer.inlineCallbacks
    def test_requestCodePerAddress(self) -> Any:
        """
        Login-code requests have their own per-address limit.
        """
        first = yield self.web.request("POST", "/api/auth/request-code",
                                       {"email": "a@example.com"})
        second = yield self.web.request("POST", "/api/auth/request-code",
                                        {"email": "a@example.com"})
        self.assertEqual((first.code, second.code), (400, 429))


class LoginCodeStorageTests(SynchronousTestCase):
    """
    Login codes are kept by digest, so looking one up never compares the
    code's text.
    """

    def test_keptByDigest(self) -> None:
        """
        No pending key is the code; the code still exchanges once.
        """
        codes = LoginCodes(Clock())
        code = codes.issue(7)
        self.assertNotIn(code, codes._codes)
        self.assertNotIn(code.encode(), codes._codes)
        self.assertTrue(all(len(key) == 32 for key in codes._codes))
        self.assertEqual(codes.exchange(code), 7)
        self.assertIsNone(codes.exchange(code))


# -- file permissions ------------------------------------------------------------------------


class DatabasePermissionTests(SynchronousTestCase):
    """
    The database file is private to its owner.
    """

    def mode(self, path: str) -> int:
        return stat.S_IMODE(os.stat(path).st_mode)

    def test_newDatabase(self) -> None:
        """
        A new database is created with mode 0600, whatever the umask.
        """
        path = FilePath(self.mktemp())
        path.makedirs()
        database = path.child("app.db").path
        previous = os.umask(0o022)
        try:
            store = SynchronousStore(database)
            store.start()
            self.addCleanup(store.stop)
        finally:
            os.umask(previous)
        self.assertEqual(self.mode(database), 0o600)

    def test_existingTightened(self) -> None:
        """
        An existing database and its -wal and -shm lose group and other
        access.
        """
        path = FilePath(self.mktemp())
        path.makedirs()
        database = path.child("app.db").path
        for name in (database, database + "-wal", database + "-shm"):
            with open(name, "wb"):
                pass
            os.chmod(name, 0o644)
        restrictPermissions(database)
        for name in (database, database + "-wal", database + "-shm"):
            self.assertEqual(self.mode(name), 0o600, name)

    def test_memory(self) -> None:
        """
        An in-memory database is left alone (no file named C{:memory:}).
        """
        restrictPermissions(":memory:")
        self.assertFalse(os.path.exists(":memory:"))
