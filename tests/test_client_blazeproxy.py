# -*- test-case-name: tests.test_client_blazeproxy -*-
"""
Tests for L{pocketrelay.client.blazeproxy}: the upgrade request, the
proxy's behaviour in memory, and games talking to a real pocketrelay
server through it over loopback HTTP and HTTPS.
"""

from __future__ import annotations

import os
from typing import Any

from twisted.internet import defer
from twisted.internet import reactor as _reactor
from twisted.internet.address import IPv4Address
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.error import (
    ConnectionDone,
    ConnectionLost,
    ConnectionRefusedError,
)
from twisted.internet.task import Clock
from twisted.internet.testing import EventLoggingObserver, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pocketrelay.client.blazeproxy import (
    MAX_HEAD,
    UPGRADE_TIMEOUT,
    BlazeProxyFactory,
    GameConnection,
    ResponseHeadError,
    UpstreamConnection,
    parseResponseHead,
    upgradeRequest,
)
from pocketrelay.client.discovery import (
    ServerInfo,
    discoverServer,
    loadClientTLS,
    makeAgent,
    normaliseServerURL,
    upstreamEndpoint,
)
from pocketrelay.testing.gameclient import GameClient
from pocketrelay.testing.logs import captureLogs
from pocketrelay.testing.loopback import ServerFixture, closedPort
from pocketrelay.testing.pki import TestPKI

#: The global reactor, typed loosely (its interfaces are split in stubs).
reactor: Any = _reactor

SERVER = ServerInfo(normaliseServerURL("me3.example.org:8080/relay"), "0.9.0", "tok.sig")

SWITCH = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: blaze\r\n\r\n"


def messages(events: EventLoggingObserver, namespace: str = "pocketrelay.client.blazeproxy") -> list[str]:
    from twisted.logger import formatEvent

    return [formatEvent(e) for e in events if e.get("log_namespace", "").startswith(namespace)]


class UpgradeRequestTests(SynchronousTestCase):
    """
    L{upgradeRequest} and L{parseResponseHead}.
    """

    def test_request(self) -> None:
        """
        The request carries the reference client's headers, under the base
        path, with the association token.
        """
        request = upgradeRequest(SERVER.url, "tok.sig", 42131, "UA/1")
        self.assertEqual(
            request,
            b"GET /relay/api/server/upgrade HTTP/1.1\r\n"
            b"Host: me3.example.org:8080\r\n"
            b"User-Agent: UA/1\r\n"
            b"Connection: Upgrade\r\n"
            b"Upgrade: blaze\r\n"
            b"x-pocket-relay-scheme: http\r\n"
            b"x-pocket-relay-host: 127.0.0.1\r\n"
            b"x-pocket-relay-port: 42131\r\n"
            b"x-pocket-relay-local-http: true\r\n"
            b"x-association: tok.sig\r\n"
            b"\r\n",
        )

    def test_noAssociation(self) -> None:
        """
        Without a token there is no x-association header; the Host of a
        default-port https URL has no port.
        """
        request = upgradeRequest(normaliseServerURL("https://h"), None)
        self.assertNotIn(b"x-association", request)
        self.assertIn(b"\r\nHost: h\r\n", request)
        self.assertTrue(request.startswith(b"GET /api/server/upgrade HTTP/1.1\r\n"))

    def test_parseHead(self) -> None:
        """
        Status code, status line and headers (names lower-cased).
        """
        head = parseResponseHead(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nX-A: 1")
        self.assertEqual(head.code, 503)
        self.assertEqual(head.status, "HTTP/1.1 503 Service Unavailable")
        self.assertEqual(head.header("content-length"), "5")
        self.assertEqual(head.header("X-A"), "1")
        self.assertIsNone(head.header("nope"))

    def test_parseHeadErrors(self) -> None:
        """
        Anything but an HTTP/1.x status line is refused.
        """
        for head in (b"", b"SSH-2.0-OpenSSH", b"HTTP/2 200", b"HTTP/1.1 2000 X", b"HTTP/1.1"):
            self.assertRaises(ResponseHeadError, parseResponseHead, head)


class _Connector:
    """
    Records connection attempts; the test decides their outcome.
    """

    def __init__(self) -> None:
        self.attempts: list[tuple[UpstreamConnection, defer.Deferred[Any]]] = []
        self.cancelled: list[UpstreamConnection] = []

    def __call__(self, protocol: UpstreamConnection) -> defer.Deferred[Any]:
        d: defer.Deferred[Any] = defer.Deferred(lambda _: self.cancelled.append(protocol))
        self.attempts.append((protocol, d))
        return d


class ProxyMemoryTests(SynchronousTestCase):
    """
    L{GameConnection} with in-memory transports and a fake clock.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.connector = _Connector()
        self.factory = BlazeProxyFactory(SERVER, self.connector, self.clock, httpPort=42131,
                                         maxPending=64)
        self.events = captureLogs(self)
        self.game: GameConnection = self.factory.buildProtocol(None)
        self.gameTransport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 5000))
        self.game.makeConnection(self.gameTransport)

    def connectUpstream(self) -> tuple[UpstreamConnection, StringTransport]:
        upstream, d = self.connector.attempts[-1]
        transport = StringTransport()
        upstream.makeConnection(transport)
        d.callback(upstream)
        return upstream, transport

    def test_upgradeAndPipe(self) -> None:
        """
        The upgrade request is sent; game bytes sent before the 101 follow
        it; afterwards bytes flow both ways and each transport produces
        for the other.
        """
        self.game.dataReceived(b"early")
        upstream, server = self.connectUpstream()
        self.assertEqual(server.value(), upgradeRequest(SERVER.url, "tok.sig", 42131))
        server.clear()
        self.game.dataReceived(b"-more")
        self.assertEqual(server.value(), b"")
        upstream.dataReceived(SWITCH)
        self.assertEqual(server.value(), b"early-more")
        self.assertTrue(self.game.piping)
        self.game.dataReceived(b"frame")
        self.assertEqual(server.value(), b"early-moreframe")
        upstream.dataReceived(b"reply")
        self.assertEqual(self.gameTransport.value(), b"reply")
        self.assertIs(self.gameTransport.producer, server)
        self.assertIs(server.producer, self.gameTransport)
        self.assertTrue(self.gameTransport.streaming and server.streaming)

    def test_sessionsCounted(self) -> None:
        """
        An upgraded game connection counts as a Blaze session until it
        closes; C{sessionsChanged} is told each count.
        """
        counts: list[int] = []
        self.factory.sessionsChanged = counts.append
        upstream, _server = self.connectUpstream()
        self.assertEqual(self.factory.sessions, 0)
        upstream.dataReceived(SWITCH)
        self.assertEqual(self.factory.sessions, 1)
        self.game.connectionLost(Failure(ConnectionDone()))
        self.assertEqual((self.factory.sessions, counts), (0, [1, 0]))

    def test_notUpgradedNotCounted(self) -> None:
        """
        A game connection closed before the upgrade never counts.
        """
        counts: list[int] = []
        self.factory.sessionsChanged = counts.append
        self.connectUpstream()
        self.game.connectionLost(Failure(ConnectionDone()))
        self.assertEqual((self.factory.sessions, counts), (0, []))

    def test_headInPieces(self) -> None:
        """
        The 101 head may arrive a byte at a time, and the server's first
        bytes may follow it in the same read.
        """
        upstream, _server = self.connectUpstream()
        for i in range(len(SWITCH)):
            upstream.dataReceived(SWITCH[i : i + 1])
        self.assertTrue(self.game.piping)
        upstream2 = self.startAnother()
        upstream2[0].dataReceived(SWITCH + b"first")
        self.assertEqual(upstream2[1].value(), b"first")

    def startAnother(self) -> tuple[UpstreamConnection, StringTransport]:
        game = self.factory.buildProtocol(None)
        transport = StringTransport()
        game.makeConnection(transport)
        upstream, _ = self.connectUpstream()
        return upstream, transport

    def test_pendingLimit(self) -> None:
        """
        Past C{maxPending} held bytes, reading from the game pauses; it
        resumes after the upgrade, nothing lost.
        """
        upstream, server = self.connectUpstream()
        server.clear()
        self.game.dataReceived(b"x" * 40)
        self.assertEqual(self.gameTransport.producerState, "producing")
        self.game.dataReceived(b"y" * 40)
        self.assertEqual(self.gameTransport.producerState, "paused")
        upstream.dataReceived(SWITCH)
        self.assertEqual(self.gameTransport.producerState, "producing")
        self.assertEqual(server.value(), b"x" * 40 + b"y" * 40)

    def test_refused(self) -> None:
        """
        A non-101 answer closes both connections with one warning that
        gives the status line and the start of the body.
        """
        upstream, server = self.connectUpstream()
        self.game.dataReceived(b"early")
        upstream.dataReceived(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 41\r\n\r\n"
            b"the server has reached its session limit\n"
        )
        self.assertTrue(self.gameTransport.disconnecting)
        self.assertTrue(server.disconnecting)
        self.assertNotIn(b"early", server.value())
        warnings = messages(self.events)
        self.assertEqual(len([m for m in warnings if "refused" in m]), 1, warnings)
        self.assertIn("HTTP/1.1 503 Service Unavailable: the server has reached its session limit",
                      warnings[-1])

    def test_refusedChunked(self) -> None:
        """
        A chunked refusal body is shown decoded.
        """
        upstream, _server = self.connectUpstream()
        upstream.dataReceived(
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"9\r\nNo route.\r\n0\r\n\r\n"
        )
        self.assertTrue(self.gameTransport.disconnecting)
        self.assertIn("HTTP/1.1 404 Not Found: No route.", messages(self.events)[-1])

    def test_refusalBodyLate(self) -> None:
        """
        A refusal whose body does not come is reported after a short wait;
        one whose connection closes is reported at once.
        """
        upstream, _server = self.connectUpstream()
        upstream.dataReceived(b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 100\r\n\r\nwhy")
        self.assertFalse(self.gameTransport.disconnecting)
        self.clock.advance(2)
        self.assertTrue(self.gameTransport.disconnecting)
        self.assertIn("HTTP/1.1 426 Upgrade Required: why", messages(self.events)[-1])
        upstream2, transport2 = self.startAnother()
        upstream2.dataReceived(b"HTTP/1.0 500 Oops\r\n\r\nbroken")
        upstream2.connectionLost(Failure(ConnectionDone()))
        self.assertTrue(transport2.disconnecting)
        self.assertIn("HTTP/1.0 500 Oops: broken", messages(self.events)[-1])

    def test_notHTTP(self) -> None:
        """
        An answer that is not HTTP, or a head that never ends, is refused.
        """
        upstream, _server = self.connectUpstream()
        upstream.dataReceived(b"SSH-2.0-OpenSSH\r\n\r\n")
        self.assertTrue(self.gameTransport.disconnecting)
        self.assertIn("not an HTTP response", messages(self.events)[-1])
        upstream2, transport2 = self.startAnother()
        upstream2.dataReceived(b"HTTP/1.1 101 OK\r\nX: " + b"a" * MAX_HEAD)
        self.assertTrue(transport2.disconnecting)
        self.assertIn("larger than", messages(self.events)[-1])

    def test_unreachable(self) -> None:
        """
        A failed connection closes the game's connection, saying why.
        """
        _, d = self.connector.attempts[-1]
        d.errback(ConnectionRefusedError())
        self.assertTrue(self.gameTransport.disconnecting)
        self.assertIn("cannot reach me3.example.org:8080: connection refused",
                      messages(self.events)[-1])

    def test_lostBeforeAnswer(self) -> None:
        """
        A server connection that ends before the 101 closes the game's.
        """
        upstream, _server = self.connectUpstream()
        upstream.connectionLost(Failure(ConnectionLost()))
        self.assertTrue(self.gameTransport.disconnecting)
        self.assertIn("no answer to the upgrade request", messages(self.events)[-1])

    def test_upgradeTimeout(self) -> None:
        """
        No 101 in time: the attempt is cancelled and the game's connection
        closed.
        """
        upstream, _ = self.connector.attempts[-1]
        self.clock.advance(UPGRADE_TIMEOUT)
        self.assertTrue(self.gameTransport.disconnecting)
        self.assertEqual(self.connector.cancelled, [upstream])
        self.assertIn("did not accept the connection", messages(self.events)[-1])

    def test_gameLeavesWhileConnecting(self) -> None:
        """
        The game closing before the server answered cancels the attempt,
        quietly.
        """
        upstream, _ = self.connector.attempts[-1]
        self.game.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.connector.cancelled, [upstream])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertFalse(any("Closing" in m for m in messages(self.events)))
        self.assertNotIn(self.game, self.factory.connections)

    def test_gameLeavesAfterUpgrade(self) -> None:
        """
        The game closing closes the server connection, even while the
        server connection has the game's transport paused as its producer.
        """
        upstream, server = self.connectUpstream()
        upstream.dataReceived(SWITCH)
        self.gameTransport.pauseProducing()
        self.game.connectionLost(Failure(ConnectionDone()))
        self.assertIsNone(server.producer)
        self.assertTrue(server.disconnecting)
        self.assertIn("Game disconnected (127.0.0.1:5000)", messages(self.events)[-1])

    def test_serverLeaves(self) -> None:
        """
        The server closing closes the game's connection, logged once.
        """
        upstream, _server = self.connectUpstream()
        upstream.dataReceived(SWITCH)
        upstream.connectionLost(Failure(ConnectionDone()))
        self.assertTrue(self.gameTransport.disconnecting)
        self.assertIsNone(self.gameTransport.producer)
        self.game.connectionLost(Failure(ConnectionDone()))
        lines = messages(self.events)
        self.assertIn("The server closed the game's connection (127.0.0.1:5000)", lines)
        self.assertNotIn("Game disconnected (127.0.0.1:5000)", lines)

    def test_closeAll(self) -> None:
        """
        L{BlazeProxyFactory.closeAll} aborts every game connection and its
        server connection.
        """
        aborted: list[str] = []
        upstream, server = self.connectUpstream()
        upstream.dataReceived(SWITCH)
        server.abortConnection = lambda: aborted.append("server")  # type: ignore[method-assign]
        self.gameTransport.abortConnection = lambda: aborted.append("game")  # type: ignore[method-assign]
        self.factory.closeAll()
        self.assertEqual(aborted, ["server", "game"])


class _Proxy:
    """
    A Blaze proxy on a loopback port in front of a server.
    """

    def __init__(self, testCase: TestCase, info: ServerInfo, tls: Any) -> None:
        def connect(protocol: Any) -> defer.Deferred[Any]:
            return connectProtocol(upstreamEndpoint(reactor, info.url, tls), protocol)

        self.factory = BlazeProxyFactory(info, connect, reactor)
        self.port = reactor.listenTCP(0, self.factory, interface="127.0.0.1")
        testCase.addCleanup(self.port.stopListening)
        testCase.addCleanup(self.factory.closeAll)

    @defer.inlineCallbacks
    def game(self, testCase: TestCase) -> Any:
        """
        A L{GameClient} connected straight to the proxy, as the game is.
        """
        client = GameClient(clock=reactor)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port.getHost().port, timeout=5)
        yield connectProtocol(endpoint, client.protocol)
        testCase.addCleanup(client.disconnect)
        return client


@defer.inlineCallbacks
def _proxyFor(testCase: TestCase, url: str, tls: Any = None) -> Any:
    tls = tls or loadClientTLS()
    agent, pool = makeAgent(reactor, tls)
    testCase.addCleanup(pool.closeCachedConnections)
    info = yield discoverServer(agent, normaliseServerURL(url), reactor)
    return _Proxy(testCase, info, tls)


def _lost(client: GameClient) -> defer.Deferred[None]:
    """
    Fires when the client's connection is gone.
    """
    d: defer.Deferred[None] = defer.Deferred()

    def check() -> None:
        if client.lost:
            d.callback(None)
        else:
            reactor.callLater(0.01, check)

    check()
    return d.addTimeout(10, reactor)


class ProxyLoopbackTests(TestCase):
    """
    Games reach a real pocketrelay server through the proxy.
    """

    timeout = 60

    @defer.inlineCallbacks
    def session(self, proxy: _Proxy) -> Any:
        client = yield proxy.game(self)
        pre = yield client.preAuth()
        self.assertEqual(pre.config.config.get("pingPeriod"), "15s")
        created = yield client.createAccount("garrus@example.org", "calibrations")
        self.assertTrue(created.sessionKey)
        yield client.saveSetting("Base", "20;4;12345;-1;0;0;0;3;3600;0;00ff")
        loaded = yield client.loadSettings()
        self.assertEqual(loaded.settings["Base"], "20;4;12345;-1;0;0;0;3;3600;0;00ff")
        return client

    @defer.inlineCallbacks
    def test_http(self) -> Any:
        """
        preAuth, createAccount and settings through the proxy to an HTTP
        server; the server receives the association token.
        """
        server = ServerFixture(self)
        proxy = yield _proxyFor(self, f"127.0.0.1:{server.port}")
        yield self.session(proxy)
        sessions = list(server.hub.sessions.values())
        self.assertEqual(len(sessions), 1)
        self.assertIsNotNone(sessions[0].association)

    @defer.inlineCallbacks
    def test_https(self) -> Any:
        """
        The same with the server behind HTTPS, its CA given to the client.
        """
        pki = TestPKI(self.mktemp())
        cert, key = pki.issueFiles("server", "server", addresses=("127.0.0.1",))
        server = ServerFixture(
            self, ["--listen", f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"]
        )
        proxy = yield _proxyFor(self, f"https://127.0.0.1:{server.port}", loadClientTLS(pki.caPath))
        yield self.session(proxy)

    @defer.inlineCallbacks
    def test_refused(self) -> Any:
        """
        A server that refuses the upgrade (here: full, its one session
        taken) gets the game's
        connection closed, and the log says why.
        """
        events = captureLogs(self)
        server = ServerFixture(self, ["--set", "limits.max_sessions=1"])
        occupant = yield server.connect()
        self.addCleanup(occupant.disconnect)
        proxy = yield _proxyFor(self, f"127.0.0.1:{server.port}")
        client = yield proxy.game(self)
        yield self.assertFailure(client.preAuth(), ConnectionLost)
        lines = [m for m in messages(events) if "refused" in m]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("503", lines[0])
        self.assertIn("session limit", lines[0])

    @defer.inlineCallbacks
    def test_wrongPath(self) -> Any:
        """
        An upgrade path that does not exist (a wrong base path) is a
        refusal with the server's 404.
        """
        events = captureLogs(self)
        server = ServerFixture(self)
        tls = loadClientTLS()
        info = ServerInfo(normaliseServerURL(f"127.0.0.1:{server.port}/nope"), "0.9.0")
        proxy = _Proxy(self, info, tls)
        client = yield proxy.game(self)
        yield self.assertFailure(client.preAuth(), ConnectionLost)
        self.assertTrue(any("404" in m for m in messages(events)))

    @defer.inlineCallbacks
    def test_upstreamDrop(self) -> Any:
        """
        The server dropping a connection closes the game's; the next game
        connection works.
        """
        server = ServerFixture(self)
        proxy = yield _proxyFor(self, f"127.0.0.1:{server.port}")
        first = yield proxy.game(self)
        yield first.preAuth()
        (session,) = server.hub.sessions.values()
        session.protocol.transport.abortConnection()
        yield _lost(first)
        second = yield proxy.game(self)
        pong = yield second.ping()
        self.assertGreater(pong.serverTime, 0)

    @defer.inlineCallbacks
    def test_bulk(self) -> Any:
        """
        8 MB sent by the game through the proxy to an echoing server come
        back whole and in order, with both sides writing at once.
        """
        from hashlib import sha256

        from twisted.internet.protocol import Factory, Protocol

        class Echo(Protocol):
            head = b""
            upgraded = False

            def dataReceived(self, data: bytes) -> None:
                if self.upgraded:
                    self.transport.write(data)  # type: ignore[union-attr]
                    return
                self.head += data
                if b"\r\n\r\n" in self.head:
                    self.upgraded = True
                    rest = self.head.split(b"\r\n\r\n", 1)[1]
                    self.transport.write(SWITCH + rest)  # type: ignore[union-attr]

        echo = reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
        self.addCleanup(echo.stopListening)
        info = ServerInfo(normaliseServerURL(f"127.0.0.1:{echo.getHost().port}"), "0.9.0")
        proxy = _Proxy(self, info, loadClientTLS())
        size = 8 * 1024 * 1024
        payload = os.urandom(size)
        done: defer.Deferred[bytes] = defer.Deferred()

        class Game(Protocol):
            def __init__(self) -> None:
                self.received = sha256()
                self.count = 0

            def connectionMade(self) -> None:
                for offset in range(0, size, 65536):
                    self.transport.write(payload[offset : offset + 65536])  # type: ignore[union-attr]

            def dataReceived(self, data: bytes) -> None:
                self.received.update(data)
                self.count += len(data)
                if self.count >= size and not done.called:
                    done.callback(self.received.digest())

        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", proxy.port.getHost().port, timeout=5)
        game = yield connectProtocol(endpoint, Game())
        self.addCleanup(game.transport.loseConnection)
        digest = yield done.addTimeout(30, reactor)
        self.assertEqual(digest, sha256(payload).digest())

    @defer.inlineCallbacks
    def test_unreachable(self) -> Any:
        """
        A server that has gone away: the game's connection is closed.
        """
        events = captureLogs(self)
        info = ServerInfo(normaliseServerURL(f"127.0.0.1:{closedPort()}"), "0.9.0")
        proxy = _Proxy(self, info, loadClientTLS())
        client = yield proxy.game(self)
        yield _lost(client)
        self.assertTrue(any("connection refused" in m for m in messages(events)))
