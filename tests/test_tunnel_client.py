# -*- test-case-name: tests.test_tunnel_client -*-
"""
Tests for L{pocketrelay.client.tunnel}: the local pool, the UDP tunnel
handshake, keep-alives, back-off and the HTTP tunnel fallback, on a fake
reactor (a L{Clock} with in-memory UDP ports).
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.error import (
    CannotListenError,
    ConnectionDone,
    ConnectionRefusedError,
    MessageLengthError,
)
from twisted.internet.protocol import DatagramProtocol, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.client.discovery import ServerInfo, normaliseServerURL
from pocketrelay.client.tunnel import (
    Backoff,
    HttpTunnelConnection,
    LazyTunnelService,
    TunnelClientService,
    UdpTunnelConnection,
    tunnelRequest,
)
from pocketrelay.testing.logs import captureLogs
from pocketrelay.tunnelwire import (
    KEEP_ALIVE_FRAME,
    UNASSIGNED,
    Forward,
    FrameDecoder,
    Initiate,
    Initiated,
    KeepAlive,
    TunnelFrame,
    decodeDatagram,
    encodeDatagram,
    encodeFrame,
)

TOKEN = "c2VjcmV0.dG9rZW4"


class FakeUdpPort:
    """
    An in-memory UDP port: records what is written and where it is
    "connected".
    """

    def __init__(self, reactor: FakeReactor, port: int, protocol: DatagramProtocol, interface: str) -> None:
        self.reactor = reactor
        self.port = port
        self.protocol = protocol
        self.interface = interface
        self.written: list[bytes] = []
        self.connectedTo: tuple[str, int] | None = None
        self.listening = True

    def write(self, data: bytes, addr: Any = None) -> None:
        self.written.append(data)

    def connect(self, host: str, port: int) -> None:
        self.connectedTo = (host, port)

    def getHost(self) -> IPv4Address:
        return IPv4Address("UDP", self.interface or "0.0.0.0", self.port)

    def stopListening(self) -> None:
        if self.listening:
            self.listening = False
            self.protocol.doStop()

    def receive(self, data: bytes) -> None:
        """
        A datagram arrives from the "connected" peer.
        """
        assert self.connectedTo is not None
        self.protocol.datagramReceived(data, self.connectedTo)


class FakeReactor(Clock):
    """
    A L{Clock} with C{listenUDP} (in-memory ports) and C{resolve}.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ports: list[FakeUdpPort] = []
        self.busy: set[int] = set()
        self.names: dict[str, str] = {}
        self._next = 40000

    def listenUDP(self, port: int, protocol: DatagramProtocol, interface: str = "",
                  maxPacketSize: int = 8192) -> FakeUdpPort:
        if port in self.busy:
            raise CannotListenError(interface, port, OSError(98, "Address already in use"))
        if port == 0:
            self._next += 1
            port = self._next
        fake = FakeUdpPort(self, port, protocol, interface)
        self.ports.append(fake)
        protocol.makeConnection(fake)  # type: ignore[arg-type]
        return fake

    def resolve(self, name: str) -> defer.Deferred[str]:
        if name in self.names:
            return defer.succeed(self.names[name])
        return defer.fail(OSError(f"unknown host {name}"))


class HttpConnector:
    """
    Stands in for connecting to the server's HTTP port: each protocol is
    connected to a L{StringTransport}, or the connection fails.
    """

    def __init__(self) -> None:
        self.protocols: list[HttpTunnelConnection] = []
        self.transports: list[StringTransport] = []
        self.fail: Exception | None = None

    def __call__(self, protocol: Protocol) -> defer.Deferred[Any]:
        if self.fail is not None:
            return defer.fail(self.fail)
        transport = StringTransport()
        assert isinstance(protocol, HttpTunnelConnection)
        protocol.makeConnection(transport)
        self.protocols.append(protocol)
        self.transports.append(transport)
        return defer.succeed(protocol)


class BackoffTests(SynchronousTestCase):
    """
    Tests for L{Backoff}.
    """

    def test_delays(self) -> None:
        """
        One second, doubling up to thirty; exhausted after the limit;
        reset starts again.
        """
        backoff = Backoff(maxErrors=5)
        delays = [backoff.failed() for _ in range(7)]
        self.assertEqual(delays, [1, 2, 4, 8, 16, 30, 30])
        self.assertTrue(backoff.exhausted)
        backoff.reset()
        self.assertFalse(backoff.exhausted)
        self.assertEqual(backoff.failed(), 1)


class _ServiceMixin:
    reactor: FakeReactor
    connector: HttpConnector

    def makeService(self, testCase: SynchronousTestCase, tunnelPort: int | None = 9032,
                    url: str = "http://192.0.2.10:8080/", **kwargs: Any) -> TunnelClientService:
        self.reactor = FakeReactor()
        self.connector = HttpConnector()
        kwargs.setdefault("connectHTTP", self.connector)
        kwargs.setdefault("hostPort", 42132)
        service = TunnelClientService(
            normaliseServerURL(url), kwargs.pop("association", TOKEN), tunnelPort, self.reactor, **kwargs
        )
        testCase.addCleanup(lambda: service.running and service.stopService())
        return service

    def pool(self) -> list[FakeUdpPort]:
        return self.reactor.ports[:4]

    def upstream(self) -> FakeUdpPort:
        return self.reactor.ports[-1]


class PoolTests(_ServiceMixin, SynchronousTestCase):
    """
    The local pool of four sockets.
    """

    def test_ports(self) -> None:
        """
        Socket 0 is bound to the host port, 1-3 anywhere, all on
        127.0.0.1 and connected to the game's port.
        """
        service = self.makeService(self, gamePort=3659)
        service.startService()
        pool = self.pool()
        self.assertEqual([p.interface for p in pool], ["127.0.0.1"] * 4)
        self.assertEqual(pool[0].port, 42132)
        self.assertEqual(service.pool.ports, [p.port for p in pool])
        self.assertEqual(len(set(service.pool.ports)), 4)
        self.assertEqual({p.connectedTo for p in pool}, {("127.0.0.1", 3659)})

    def test_hostPortBusy(self) -> None:
        """
        If the host port is taken, the tunnel is off with an error line
        naming the port, and nothing stays bound.
        """
        service = self.makeService(self)
        self.reactor.busy.add(42132)
        events = captureLogs(self)
        service.startService()
        self.assertEqual(service.state, "failed")
        self.assertEqual(self.reactor.ports, [])
        errors = [e for e in events if e["log_level"] == LogLevel.error]
        self.assertEqual(errors[0]["port"], 42132)

    def test_noAssociation(self) -> None:
        """
        Without an association token there is no tunnel (the server would
        refuse it).
        """
        service = self.makeService(self, association=None)
        service.startService()
        self.assertEqual(service.state, "failed")
        self.assertEqual(self.reactor.ports, [])


class UdpTunnelTests(_ServiceMixin, SynchronousTestCase):
    """
    The UDP tunnel.
    """

    def setUp(self) -> None:
        self.service = self.makeService(self)
        self.service.startService()

    def open(self, tunnelId: int = 77) -> FakeUdpPort:
        upstream = self.upstream()
        upstream.receive(encodeDatagram(tunnelId, Initiated(tunnelId)))
        upstream.written.clear()
        return upstream

    def test_handshake(self) -> None:
        """
        The client opens a socket connected to the server's host and
        tunnel port and sends Initiate with its token; Initiated opens the
        tunnel.
        """
        upstream = self.upstream()
        self.assertEqual(upstream.connectedTo, ("192.0.2.10", 9032))
        self.assertEqual(
            [decodeDatagram(d) for d in upstream.written],
            [decodeDatagram(encodeDatagram(UNASSIGNED, Initiate(TOKEN)))],
        )
        self.assertEqual(self.service.state, "connecting")
        self.open(77)
        self.assertEqual(self.service.state, "open")
        link = self.service.link
        assert isinstance(link, UdpTunnelConnection)
        self.assertEqual(link.tunnelId, 77)

    def test_hostName(self) -> None:
        """
        A server named by host name is resolved first.
        """
        service = self.makeService(self, url="https://relay.example.org/")
        self.reactor.names["relay.example.org"] = "198.51.100.20"
        service.startService()
        self.assertEqual(self.upstream().connectedTo, ("198.51.100.20", 9032))

    def test_traffic(self) -> None:
        """
        A datagram from the game to pool socket i goes into the tunnel as
        Forward(i); Forward(j) from the server is sent to the game from
        pool socket j.
        """
        upstream = self.open(77)
        pool = self.pool()
        pool[2].receive(b"to slot two")
        self.assertEqual(upstream.written, [encodeDatagram(77, Forward(2, b"to slot two"))])
        upstream.receive(encodeDatagram(77, Forward(1, b"from slot one")))
        self.assertEqual(pool[1].written, [b"from slot one"])
        self.assertEqual([p.written for p in pool if p is not pool[1]], [[], [], []])
        upstream.receive(encodeDatagram(77, Forward(9, b"no such socket")))
        self.assertEqual((self.service.sent, self.service.received, self.service.dropped), (1, 1, 1))

    def test_largeDatagrams(self) -> None:
        """
        Game datagrams of any size a Forward datagram carries go both ways:
        1,600 and 65,000 bytes, and the IPv4 maxima (65,498 bytes into the
        tunnel, 65,507 to the game).
        """
        upstream = self.open(77)
        pool = self.pool()
        for size in (1600, 65000, 65498):
            pool[1].receive(b"g" * size)
            self.assertEqual(upstream.written, [encodeDatagram(77, Forward(1, b"g" * size))])
            upstream.written.clear()
        for size in (1600, 65000, 65507):
            upstream.receive(encodeDatagram(77, Forward(2, b"s" * size)))
            self.assertEqual(pool[2].written, [b"s" * size])
            pool[2].written.clear()
        self.assertEqual((self.service.sent, self.service.received, self.service.dropped),
                         (3, 3, 0))

    def test_tooLargeDropped(self) -> None:
        """
        A game datagram larger than a UDP tunnel datagram holds (over
        65,498 bytes on IPv4), or one from the server larger than a UDP
        datagram to the game holds, is dropped with one log line; so is
        one the system refuses to send; the tunnel stays open and carries
        the next datagram.
        """
        events = captureLogs(self)
        upstream = self.open(77)
        pool = self.pool()
        pool[1].receive(b"g" * 65499)
        upstream.receive(encodeDatagram(77, Forward(2, b"s" * 65508)))
        self.assertEqual((upstream.written, pool[2].written), ([], []))
        self.assertEqual((self.service.tooLarge, self.service.dropped), (2, 2))
        lines = [e for e in events if "game datagram" in e.get("log_format", "")]
        self.assertEqual(len(lines), 1)
        self.assertEqual((lines[0]["size"], lines[0]["count"]), (65499, 1))
        self.assertIn("at most 65498 bytes", lines[0]["why"])

        def refuse(data: bytes, addr: Any = None) -> None:
            raise MessageLengthError("message too long")

        upstream.write = refuse  # type: ignore[method-assign]
        pool[1].receive(b"g" * 10000)
        self.assertEqual(self.service.dropped, 3)
        del upstream.write
        pool[1].receive(b"small")
        upstream.receive(encodeDatagram(77, Forward(2, b"small too")))
        self.assertEqual(upstream.written, [encodeDatagram(77, Forward(1, b"small"))])
        self.assertEqual(pool[2].written, [b"small too"])
        self.assertEqual(self.service.state, "open")

    def test_tooLargeLogThrottled(self) -> None:
        """
        Oversized datagrams are logged at most once every ten seconds,
        with the number dropped since the last line.
        """
        events = captureLogs(self)
        self.open(77)
        for _ in range(3):
            self.pool()[0].receive(b"g" * 65500)
        self.reactor.advance(10)
        self.pool()[0].receive(b"g" * 65500)
        lines = [e for e in events if "game datagram" in e.get("log_format", "")]
        self.assertEqual([e["count"] for e in lines], [1, 3])

    def test_beforeOpen(self) -> None:
        """
        Game datagrams before the tunnel is open are dropped; so are
        Forwards from the server before Initiated.
        """
        upstream = self.upstream()
        upstream.written.clear()
        self.pool()[0].receive(b"early")
        upstream.receive(encodeDatagram(1, Forward(0, b"early too")))
        self.assertEqual(upstream.written, [])
        self.assertEqual(self.pool()[0].written, [])
        self.assertEqual(self.service.dropped, 1)

    def test_keepAlive(self) -> None:
        """
        A keep-alive from the server is answered at once; after ten
        seconds without sending anything the client sends one itself.
        """
        upstream = self.open(77)
        upstream.receive(encodeDatagram(77, KeepAlive()))
        self.assertEqual(upstream.written, [encodeDatagram(77, KeepAlive())])
        upstream.written.clear()
        for _ in range(9):
            self.reactor.advance(1)
        self.assertEqual(upstream.written, [])
        self.reactor.advance(1)
        self.assertEqual(upstream.written, [encodeDatagram(77, KeepAlive())])

    def test_garbageIgnored(self) -> None:
        """
        Undecodable datagrams from the server are counted, not raised.
        """
        upstream = self.open(77)
        upstream.receive(b"\x09garbage")
        self.assertEqual(self.service.garbage, 1)
        self.assertEqual(self.service.state, "open")

    def test_silenceReopens(self) -> None:
        """
        Forty seconds without anything from a server that has been sending
        keep-alives: the socket is closed and a new handshake starts one
        second later.
        """
        upstream = self.open(77)
        upstream.receive(encodeDatagram(77, KeepAlive()))
        self.assertTrue(self.service.serverKeepsAlive)
        for _ in range(39):
            self.reactor.advance(1)
        self.assertTrue(upstream.listening)
        self.reactor.advance(1)
        self.assertFalse(upstream.listening)
        self.assertEqual(self.service.state, "connecting")
        self.reactor.advance(1)
        fresh = self.upstream()
        self.assertIsNot(fresh, upstream)
        self.assertEqual(decodeDatagram(fresh.written[0]).message, Initiate(TOKEN))

    def test_quietServerKeepsTunnel(self) -> None:
        """
        A server that never sent a keep-alive (as the Rust Pocket Relay
        server links a tunnel to a game only at join, a new tunnel would
        lose the game) keeps its tunnel through any quiet period: no
        reconnect, no fallback, the same tunnel id carries game traffic
        after ten minutes; the client sends its own keep-alive every ten
        seconds and says once per quiet period why it keeps the tunnel.
        """
        events = captureLogs(self)
        upstream = self.open(77)
        upstream.receive(encodeDatagram(77, Forward(1, b"hello")))
        for _ in range(600):
            self.reactor.advance(1)
        self.assertTrue(upstream.listening)
        self.assertIs(self.upstream(), upstream)
        self.assertEqual(self.service.state, "open")
        self.assertEqual(self.service.kind, "udp")
        self.assertEqual(self.connector.protocols, [])
        self.assertFalse(self.service.serverKeepsAlive)
        self.assertEqual(set(upstream.written), {encodeDatagram(77, KeepAlive())})
        self.assertEqual(len(upstream.written), 60)
        quiet = [e for e in events if "is kept open" in e.get("log_format", "")]
        self.assertEqual(len(quiet), 1)
        self.assertEqual(quiet[0]["kind"], "UDP")
        upstream.written.clear()
        self.pool()[2].receive(b"still through tunnel 77")
        self.assertEqual(upstream.written, [encodeDatagram(77, Forward(2, b"still through tunnel 77"))])
        upstream.receive(encodeDatagram(77, Forward(2, b"reply")))
        for _ in range(41):
            self.reactor.advance(1)
        quiet = [e for e in events if "is kept open" in e.get("log_format", "")]
        self.assertEqual(len(quiet), 2)

    def test_deadTunnelFallsBack(self) -> None:
        """
        After a reopen of a tunnel whose server stopped its keep-alives,
        five failed UDP handshakes in a row switch to the HTTP tunnel (the
        old tunnel is gone, so nothing is lost by switching).
        """
        upstream = self.open(77)
        upstream.receive(encodeDatagram(77, KeepAlive()))
        for _ in range(40):
            self.reactor.advance(1)
        self.assertFalse(upstream.listening)
        for _ in range(60):
            self.reactor.advance(1)
            if self.connector.protocols:
                break
        self.assertEqual(self.service.kind, "http")
        self.assertEqual(len(self.connector.protocols), 1)

    def test_backoffThenHttp(self) -> None:
        """
        Unanswered handshakes are retried after 1, 2, 4 and 8 seconds (each
        waiting five seconds for an answer); after the fifth failure the
        client uses the HTTP tunnel, with one warning line.
        """
        events = captureLogs(self)
        starts = [self.reactor.seconds()]
        count = len(self.reactor.ports)
        for _ in range(60):
            self.reactor.advance(1)
            if len(self.reactor.ports) > count:
                count = len(self.reactor.ports)
                starts.append(self.reactor.seconds())
            if self.connector.protocols:
                break
        self.assertEqual(starts, [0, 6, 13, 22, 35])
        self.assertEqual(self.reactor.seconds(), 40)
        self.assertEqual(self.service.kind, "http")
        self.assertEqual(len(self.connector.protocols), 1)
        warnings = [e for e in events if e["log_level"] == LogLevel.warn]
        self.assertEqual(len(warnings), 1)
        self.assertIn("HTTP tunnel instead", warnings[0]["log_format"])
        self.assertFalse(any(p.listening for p in self.reactor.ports[4:]))

    def test_stateChanged(self) -> None:
        """
        C{stateChanged} is told each change of state with the kind in use:
        connecting over UDP, open over UDP, stopped.
        """
        changes: list[tuple[str, str]] = []
        service = self.makeService(self, stateChanged=lambda *change: changes.append(change))
        service.startService()
        self.upstream().receive(encodeDatagram(5, Initiated(5)))
        service.stopService()
        self.assertEqual(changes, [("connecting", "udp"), ("open", "udp"), ("stopped", "udp")])

    def test_successResetsBackoff(self) -> None:
        """
        A handshake that succeeds after failures resets the error count.
        """
        self.reactor.advance(5)
        self.assertEqual(self.service.backoff.errors, 1)
        self.reactor.advance(1)
        self.open(5)
        self.assertEqual(self.service.backoff.errors, 0)

    def test_stop(self) -> None:
        """
        Stopping closes the pool and the tunnel socket and leaves no timer.
        """
        self.open(77)
        self.service.stopService()
        self.assertFalse(any(p.listening for p in self.reactor.ports))
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        self.assertEqual(self.service.state, "stopped")

    def test_fromServerInfo(self) -> None:
        """
        L{TunnelClientService.fromServerInfo} takes the URL, token and
        tunnel port of a discovered server.
        """
        info = ServerInfo(normaliseServerURL("http://192.0.2.1/"), "0.6.0", "tok", 9999)
        service = TunnelClientService.fromServerInfo(info, self.reactor)
        self.assertEqual((service.url, service.association, service.tunnelPort, service.kind),
                         (info.url, "tok", 9999, "udp"))


class HttpTunnelClientTests(_ServiceMixin, SynchronousTestCase):
    """
    The HTTP tunnel, used when the server offers no UDP port.
    """

    def setUp(self) -> None:
        self.service = self.makeService(self, tunnelPort=None)
        self.service.startService()

    def accept(self, index: int = -1, extra: bytes = b"") -> StringTransport:
        protocol = self.connector.protocols[index]
        transport = self.connector.transports[index]
        protocol.dataReceived(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tunnel\r\n\r\n"
            + extra
        )
        return transport

    def test_request(self) -> None:
        """
        The client asks for C{Upgrade: tunnel} under the base path with
        its token.
        """
        self.assertEqual(self.service.kind, "http")
        self.assertEqual(self.reactor.ports[4:], [])
        sent = self.connector.transports[0].value()
        self.assertEqual(sent, tunnelRequest(normaliseServerURL("http://192.0.2.10:8080/"), TOKEN))
        self.assertIn(b"GET /api/server/tunnel HTTP/1.1\r\n", sent)
        self.assertIn(b"\r\nUpgrade: tunnel\r\n", sent)
        self.assertIn(b"\r\nx-association: " + TOKEN.encode() + b"\r\n", sent)

    def test_traffic(self) -> None:
        """
        After 101, a keep-alive arriving with the answer is echoed at
        once; frames from the server go to the game from their pool
        socket; game datagrams become frames.
        """
        transport = self.accept(extra=KEEP_ALIVE_FRAME)
        self.assertEqual(self.service.state, "open")
        self.assertTrue(transport.value().endswith(b"\r\n\r\n" + KEEP_ALIVE_FRAME))
        transport.clear()
        protocol = self.connector.protocols[0]
        protocol.dataReceived(encodeFrame(3, b"from three")[:4])
        protocol.dataReceived(encodeFrame(3, b"from three")[4:])
        self.assertEqual(self.pool()[3].written, [b"from three"])
        self.pool()[0].receive(b"to host")
        self.assertEqual(FrameDecoder().feed(transport.value()), [TunnelFrame(0, b"to host")])

    def test_largeFrames(self) -> None:
        """
        Frames carry game datagrams of 1,600 and 65,000 bytes and the
        largest a game sends (65,507) both ways; a frame of 65,535 bytes
        from the server, more than a UDP datagram to the game holds, is
        dropped without closing the tunnel.
        """
        transport = self.accept()
        transport.clear()
        protocol = self.connector.protocols[0]
        pool = self.pool()
        for size in (1600, 65000, 65507):
            pool[2].receive(b"g" * size)
            self.assertEqual(FrameDecoder().feed(transport.value()), [TunnelFrame(2, b"g" * size)])
            transport.clear()
            frame = encodeFrame(1, b"s" * size)
            protocol.dataReceived(frame[:3000])
            protocol.dataReceived(frame[3000:])
            self.assertEqual(pool[1].written, [b"s" * size])
            pool[1].written.clear()
        protocol.dataReceived(encodeFrame(1, b"s" * 65535) + encodeFrame(3, b"next"))
        self.assertEqual(pool[1].written, [])
        self.assertEqual(pool[3].written, [b"next"])
        self.assertEqual(self.service.tooLarge, 1)
        pool[0].receive(b"x" * 65536)
        self.assertEqual(transport.value(), b"")
        self.assertEqual(self.service.tooLarge, 2)
        self.assertFalse(transport.disconnecting)
        self.assertEqual(self.service.state, "open")

    def test_refusedThenGiveUp(self) -> None:
        """
        Refusals are retried with back-off; after five in a row the
        tunnel is off with one error line saying why.
        """
        events = captureLogs(self)
        for _ in range(5):
            protocol = self.connector.protocols[-1]
            protocol.dataReceived(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            self.assertTrue(self.connector.transports[-1].disconnecting)
            protocol.connectionLost(Failure(ConnectionDone()))
            self.reactor.advance(30)
        self.assertEqual(len(self.connector.protocols), 5)
        self.assertEqual(self.service.state, "failed")
        errors = [e for e in events if e["log_level"] == LogLevel.error]
        self.assertEqual(len(errors), 1)
        self.assertIn("400 Bad Request", errors[0]["problem"])

    def test_connectFails(self) -> None:
        """
        A connection that cannot be made counts as a failure and is
        retried after the back-off delay.
        """
        self.connector.fail = ConnectionRefusedError("refused")
        self.connector.protocols[0].connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.service.backoff.errors, 1)
        self.reactor.advance(1)
        self.assertEqual(self.service.backoff.errors, 2)
        self.connector.fail = None
        self.reactor.advance(2)
        self.assertEqual(len(self.connector.protocols), 2)

    def test_cleanCloseReconnects(self) -> None:
        """
        An open tunnel that the server closes is reopened one second
        later, without counting as an error.
        """
        self.accept()
        self.connector.protocols[0].connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.service.state, "connecting")
        self.reactor.advance(1)
        self.assertEqual(len(self.connector.protocols), 2)
        self.assertEqual(self.service.backoff.errors, 0)

    def test_upgradeTimeout(self) -> None:
        """
        No answer to the upgrade within the timeout: the connection is
        closed and retried.
        """
        self.reactor.advance(self.service.upgradeTimeout)
        self.assertTrue(self.connector.transports[0].disconnecting)
        self.assertEqual(self.service.backoff.errors, 1)

    def test_silence(self) -> None:
        """
        Forty seconds without a byte from a server that has been sending
        keep-alives close the tunnel connection; it is reopened.
        """
        self.accept(extra=KEEP_ALIVE_FRAME)
        for _ in range(40):
            self.reactor.advance(1)
        self.assertTrue(self.connector.transports[0].disconnecting)
        self.reactor.advance(1)
        self.assertEqual(len(self.connector.protocols), 2)

    def test_quietServerKeepsTunnel(self) -> None:
        """
        An HTTP tunnel whose server never sent a keep-alive (the first
        Rust HTTP tunnel sent none) stays open however quiet the server
        is; the client sends a keep-alive frame every ten seconds.
        """
        transport = self.accept()
        transport.clear()
        for _ in range(300):
            self.reactor.advance(1)
        self.assertFalse(transport.disconnecting)
        self.assertEqual(len(self.connector.protocols), 1)
        self.assertEqual(self.service.state, "open")
        self.assertEqual(transport.value(), KEEP_ALIVE_FRAME * 30)


class LazyTunnelServiceTests(_ServiceMixin, SynchronousTestCase):
    """
    Tests for L{LazyTunnelService}.
    """

    def test_builtOnStart(self) -> None:
        """
        The tunnel is built from the server known when the service starts
        and stopped with it.
        """
        self.reactor = FakeReactor()
        known: list[ServerInfo] = []
        lazy = LazyTunnelService(known.pop, self.reactor, hostPort=0, connectHTTP=HttpConnector())
        known.append(ServerInfo(normaliseServerURL("http://192.0.2.1/"), "0.6.0", TOKEN, 9032))
        lazy.startService()
        tunnel = lazy.tunnel
        assert tunnel is not None
        self.assertEqual((tunnel.url.host, tunnel.tunnelPort, tunnel.state),
                         ("192.0.2.1", 9032, "connecting"))
        lazy.stopService()
        self.assertIsNone(lazy.tunnel)
        self.assertEqual(tunnel.state, "stopped")
        self.assertFalse(any(p.listening for p in self.reactor.ports))
