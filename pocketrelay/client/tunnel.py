# -*- test-case-name: tests.test_tunnel_client -*-
"""
The client end of the tunnel: the game's peer traffic through the server.

A tunnelled game is told that its "dedicated server" is at
127.0.0.1:42132.  The client keeps a pool of four UDP sockets on
127.0.0.1, each "connected" to the game at 127.0.0.1:3659; pool socket
M{i} stands for the player in slot M{i} (socket 0, on port 42132, for the
host; sockets 1-3 on ports the system chooses):

  - a datagram the game sends to pool socket M{i} goes into the tunnel as
    "for slot M{i}";
  - a datagram the server delivers "from slot M{j}" is sent to the game
    from pool socket M{j}, so the game sees each peer at its own port.

The tunnel itself (L{TunnelClientService}) is, when the server offers a
UDP tunnel port, a UDP "connection" to it (an Initiate handshake with the
association token, then Forward and KeepAlive datagrams); otherwise, or
after the UDP tunnel failed L{MAX_ERRORS} times in a row, an HTTP
connection upgraded with C{Upgrade: tunnel}.  Either reconnects with
back-off (1 s doubling to 30 s, reset once connected) and gives up after
L{MAX_ERRORS} consecutive failures with one log line saying why.

An open tunnel is replaced only when it is gone: its HTTP connection
closed, or its server, which has been sending keep-alives, fell silent
for L{TUNNEL_TIMEOUT} seconds.  A server that never sent a keep-alive
keeps its tunnel however quiet it is, because a server that links tunnels
to games only at join (the Rust Pocket Relay server) would not carry a
game in progress through a new tunnel.

Game datagrams go as large as each hop carries (see
L{pocketrelay.tunnelwire}); a larger one is dropped, counted in
L{TunnelClientService.tooLarge} and logged, and the tunnel stays open.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from twisted.application import service
from twisted.internet import defer, task
from twisted.internet.error import CannotListenError, MessageLengthError
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.protocol import DatagramProtocol, Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from pocketrelay.client.blazeproxy import MAX_HEAD, ResponseHeadError, parseResponseHead
from pocketrelay.client.discovery import (
    USER_AGENT,
    ClientTLS,
    ServerInfo,
    ServerURL,
    explainFailure,
    upstreamEndpoint,
)
from pocketrelay.tunnelwire import (
    KEEP_ALIVE_FRAME,
    KEEP_ALIVE_INDEX,
    MAX_LENGTH,
    UNASSIGNED,
    Forward,
    FrameDecoder,
    Initiate,
    Initiated,
    KeepAlive,
    TunnelWireError,
    decodeDatagram,
    encodeDatagram,
    encodeFrame,
    maxForwardPayload,
    maxUdpPayload,
)

__all__ = [
    "GAME_PORT",
    "HOST_PORT",
    "MAX_ERRORS",
    "POOL_SIZE",
    "Backoff",
    "HttpTunnelConnection",
    "LazyTunnelService",
    "LocalPool",
    "TunnelClientService",
    "UdpTunnelConnection",
    "httpConnector",
    "tunnelRequest",
]

#: The game's UDP port.
GAME_PORT = 3659

#: Where a tunnelled game's "dedicated server" is (pool socket 0).
HOST_PORT = 42132

#: One pool socket per slot of an ME3 game.
POOL_SIZE = 4

#: Consecutive failures after which a tunnel transport is given up.
MAX_ERRORS = 5

#: Seconds to wait for the server's Initiated (UDP).
HANDSHAKE_TIMEOUT = 5.0

#: Seconds from connecting to the server's 101 (HTTP tunnel).
UPGRADE_TIMEOUT = 15.0

#: Seconds of silence after which the client sends a keep-alive.
KEEP_ALIVE_INTERVAL = 10.0

#: Seconds of silence from the server after which the tunnel is
#: considered dead and reopened, if the server has been sending
#: keep-alives (ours and the Rust server's since 0.7 send one every 10 s).
#: A server that never sent one keeps its tunnel however quiet it is.
TUNNEL_TIMEOUT = 40.0

#: Seconds between two checks of the keep-alive and silence timers.
CHECK_INTERVAL = 1.0

#: Largest datagram read from the game or the server.
MAX_DATAGRAM = 65536

#: Seconds between two log lines about dropped oversized datagrams.
LOG_INTERVAL = 10.0


class Backoff:
    """
    Delays between reconnection attempts: C{initial} seconds, doubling up
    to C{maximum}; L{reset} after a success.  After C{maxErrors}
    consecutive failures L{exhausted} is true.
    """

    def __init__(self, initial: float = 1.0, maximum: float = 30.0, maxErrors: int = MAX_ERRORS) -> None:
        self.initial = initial
        self.maximum = maximum
        self.maxErrors = maxErrors
        self.errors = 0

    def failed(self) -> float:
        """
        Count a failure.

        @return: seconds to wait before the next attempt.
        """
        self.errors += 1
        return min(self.initial * 2 ** (self.errors - 1), self.maximum)

    @property
    def exhausted(self) -> bool:
        """
        Whether C{maxErrors} consecutive failures happened.
        """
        return self.errors >= self.maxErrors

    def reset(self) -> None:
        """
        A connection succeeded.
        """
        self.errors = 0


# -- the local side


class _PoolSocket(DatagramProtocol):
    noisy = False

    def __init__(self, pool: LocalPool, index: int) -> None:
        self.pool = pool
        self.index = index

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.pool.fromGame(self.index, data)

    def connectionRefused(self) -> None:
        # The game is not listening (yet): ICMP port unreachable.
        self.pool.refused += 1


class LocalPool:
    """
    The four local UDP sockets the game talks to.

    @param deliver: called with (index, payload) for each datagram the
        game sends to pool socket C{index}.
    @ivar ports: the bound port of each pool socket, once L{open}.
    @ivar refused: datagrams the system reported the game did not take.
    """

    log = Logger()

    def __init__(
        self,
        reactor: Any,
        deliver: Callable[[int, bytes], Any],
        gamePort: int = GAME_PORT,
        hostPort: int = HOST_PORT,
        interface: str = "127.0.0.1",
    ) -> None:
        self.reactor = reactor
        self.deliver = deliver
        self.gamePort = gamePort
        self.hostPort = hostPort
        self.interface = interface
        self.ports: list[int] = []
        self.refused = 0
        self._sockets: list[_PoolSocket] = []
        self._listening: list[Any] = []

    def open(self) -> None:
        """
        Bind the sockets (socket 0 on C{hostPort}, the others anywhere) and
        connect each to the game.

        @raise CannotListenError: if a socket cannot be bound; none stays
            open.
        """
        try:
            for index in range(POOL_SIZE):
                sock = _PoolSocket(self, index)
                port = self.reactor.listenUDP(
                    self.hostPort if index == 0 else 0,
                    sock,
                    interface=self.interface,
                    maxPacketSize=MAX_DATAGRAM,
                )
                self._listening.append(port)
                self._sockets.append(sock)
                port.connect(self.interface, self.gamePort)
                self.ports.append(port.getHost().port)
        except Exception:
            self.close()
            raise

    def fromGame(self, index: int, data: bytes) -> None:
        self.deliver(index, data)

    @property
    def maxPayload(self) -> int:
        """
        The largest datagram the pool sockets exchange with the game.
        """
        return maxUdpPayload(self.interface)

    def send(self, index: int, payload: bytes) -> bool:
        """
        Send C{payload} to the game from pool socket C{index}.  A datagram
        larger than L{maxPayload} is not sent.
        """
        if not 0 <= index < len(self._sockets) or len(payload) > self.maxPayload:
            return False
        transport: Any = self._sockets[index].transport
        if transport is None:
            return False
        try:
            transport.write(payload)
        except (OSError, MessageLengthError):
            return False
        return True

    def close(self) -> defer.Deferred[Any]:
        """
        Close every socket.
        """
        ports, self._listening, self._sockets, self.ports = self._listening, [], [], []
        return defer.gatherResults(
            [defer.maybeDeferred(port.stopListening) for port in ports], consumeErrors=True
        ).addCallback(lambda _: None)


# -- the UDP tunnel


class UdpTunnelConnection(DatagramProtocol):
    """
    One attempt at a UDP tunnel: a socket "connected" to the server's
    tunnel port.  It sends Initiate, and once the server answers with
    Initiated it carries Forward datagrams and answers keep-alives.

    @ivar tunnelId: the id assigned by the server, or L{UNASSIGNED}.
    """

    noisy = False

    def __init__(self, owner: TunnelClientService, address: tuple[str, int]) -> None:
        self.owner = owner
        self.address = address
        self.tunnelId = UNASSIGNED
        self.open = False
        #: The largest game datagram one Forward datagram to the server
        #: carries.
        self.maxPayload = maxForwardPayload(address[0])

    def startProtocol(self) -> None:
        transport: Any = self.transport
        transport.connect(*self.address)
        self._send(encodeDatagram(UNASSIGNED, Initiate(self.owner.association or "")))

    def _send(self, data: bytes) -> bool:
        transport: Any = self.transport
        if transport is None:
            return False
        try:
            transport.write(data)
        except (OSError, MessageLengthError):
            return False
        self.owner.lastSent = self.owner.clock.seconds()
        return True

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        owner = self.owner
        try:
            datagram = decodeDatagram(data)
        except TunnelWireError as e:
            owner.garbage += 1
            owner.log.debug("Ignored a bad datagram from the tunnel server: {reason}", reason=str(e))
            return
        owner.lastSeen = owner.clock.seconds()
        message = datagram.message
        if isinstance(message, Forward):
            if self.open:
                owner.fromServer(message.index, message.payload)
        elif isinstance(message, KeepAlive):
            if self.open:
                owner.keepAliveReceived()
                self._send(encodeDatagram(self.tunnelId, KeepAlive()))
        elif isinstance(message, Initiated):
            if not self.open:
                self.tunnelId = message.tunnelId
                self.open = True
                owner.linkOpened(self)

    def connectionRefused(self) -> None:
        # ICMP port unreachable: nothing listens on the server's port.
        self.owner.log.debug("The server's UDP tunnel port refused a datagram")

    def send(self, index: int, payload: bytes) -> bool:
        """
        Send a game datagram for slot C{index}.
        """
        if not self.open:
            return False
        return self._send(encodeDatagram(self.tunnelId, Forward(index, payload)))

    def sendKeepAlive(self) -> None:
        if self.open:
            self._send(encodeDatagram(self.tunnelId, KeepAlive()))

    def close(self) -> None:
        self.open = False
        transport: Any = self.transport
        if transport is not None:
            transport.stopListening()


# -- the HTTP tunnel


def tunnelRequest(url: ServerURL, association: str, userAgent: str = USER_AGENT) -> bytes:
    """
    The request that opens an HTTP tunnel.
    """
    lines = [
        f"GET {url.path}api/server/tunnel HTTP/1.1",
        f"Host: {url.netloc}",
        f"User-Agent: {userAgent}",
        "Connection: Upgrade",
        "Upgrade: tunnel",
        f"x-association: {association}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


class HttpTunnelConnection(Protocol):
    """
    One HTTP tunnel connection: the upgrade request, then frames.

    @ivar open: whether the server answered C{101}.
    @ivar problem: why the connection failed, if it did.
    """

    #: The largest game datagram a frame carries.
    maxPayload = MAX_LENGTH

    def __init__(self, owner: TunnelClientService) -> None:
        self.owner = owner
        self.open = False
        self.problem: str | None = None
        self._head = b""
        self._decoder = FrameDecoder(MAX_LENGTH)

    def connectionMade(self) -> None:
        owner = self.owner
        self.transport.write(tunnelRequest(owner.url, owner.association or ""))  # type: ignore[union-attr]
        owner.lastSent = owner.clock.seconds()

    def dataReceived(self, data: bytes) -> None:
        owner = self.owner
        if not self.open:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                if len(self._head) > MAX_HEAD:
                    self._fail(f"an HTTP answer head larger than {MAX_HEAD} bytes")
                return
            try:
                head = parseResponseHead(self._head[:end])
            except ResponseHeadError as e:
                self._fail(str(e))
                return
            if head.code != 101:
                self._fail(f"the server refused the tunnel: {head.status}")
                return
            data, self._head = self._head[end + 4 :], b""
            self.open = True
            owner.linkOpened(self)
            if not data:
                return
        owner.lastSeen = owner.clock.seconds()
        try:
            frames = self._decoder.feed(data)
        except TunnelWireError as e:
            self._fail(str(e))
            return
        for frame in frames:
            if frame.index == KEEP_ALIVE_INDEX:
                owner.keepAliveReceived()
                self.sendKeepAlive()
            else:
                owner.fromServer(frame.index, frame.payload)

    def _fail(self, problem: str) -> None:
        self.problem = problem
        self.open = False
        transport: Any = self.transport
        transport.loseConnection()

    def send(self, index: int, payload: bytes) -> bool:
        if not self.open or self.transport is None:
            return False
        self.transport.write(encodeFrame(index, payload))
        self.owner.lastSent = self.owner.clock.seconds()
        return True

    def sendKeepAlive(self) -> None:
        if self.open and self.transport is not None:
            self.transport.write(KEEP_ALIVE_FRAME)
            self.owner.lastSent = self.owner.clock.seconds()

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:
        wasOpen, self.open = self.open, False
        self.owner.httpLost(self, wasOpen, self.problem, reason)


HttpConnector = Callable[[Protocol], "defer.Deferred[Any]"]


def httpConnector(reactor: Any, url: ServerURL, tls: ClientTLS) -> HttpConnector:
    """
    How the HTTP tunnel reaches the server: like the Blaze proxy, TCP to
    the server's host and port, in TLS (L{ClientTLS}, built on
    C{optionsForClientTLS}) for an C{https} URL.
    """
    from twisted.internet.endpoints import connectProtocol

    def connect(protocol: Protocol) -> defer.Deferred[Any]:
        return connectProtocol(upstreamEndpoint(reactor, url, tls), protocol)

    return connect


class TunnelClientService(service.Service):
    """
    The client's tunnel: the local pool and one tunnel to the server.

    Wire it in the client tap after server discovery::

        TunnelClientService.fromServerInfo(info, reactor, connectHTTP=connect)

    where C{connect(protocol)} connects a protocol to the server's HTTP(S)
    port (as the Blaze proxy does: C{connectProtocol(upstreamEndpoint(
    reactor, info.url, tls), protocol)}).

    @ivar url: the server's base URL.
    @ivar association: the association token from C{/api/server}.
    @ivar tunnelPort: the server's UDP tunnel port, or L{None} to use the
        HTTP tunnel.
    @ivar state: C{"stopped"}, C{"connecting"}, C{"open"} or
        C{"failed"} (given up).
    @ivar kind: C{"udp"} or C{"http"}: the kind in use or being
        tried.
    @ivar sent: game datagrams sent into the tunnel.
    @ivar received: game datagrams received from the tunnel and handed
        to the game.
    @ivar dropped: game datagrams dropped (no tunnel open, bad index, too
        large).
    @ivar tooLarge: those of them dropped because the next hop cannot
        carry them (over 65,498 bytes into a UDP tunnel on IPv4, over
        65,507 bytes to the game); the tunnel stays open.
    @ivar garbage: undecodable datagrams from the server.
    @ivar stateChanged: called with C{(state, kind)} when C{state}
        changes.
    """

    log = Logger()

    def __init__(
        self,
        url: ServerURL,
        association: str | None,
        tunnelPort: int | None,
        reactor: Any,
        connectHTTP: HttpConnector | None = None,
        gamePort: int = GAME_PORT,
        hostPort: int = HOST_PORT,
        interface: str = "127.0.0.1",
        maxErrors: int = MAX_ERRORS,
        handshakeTimeout: float = HANDSHAKE_TIMEOUT,
        upgradeTimeout: float = UPGRADE_TIMEOUT,
        keepAliveInterval: float = KEEP_ALIVE_INTERVAL,
        timeout: float = TUNNEL_TIMEOUT,
        stateChanged: Callable[[str, str], None] | None = None,
    ) -> None:
        self.stateChanged = stateChanged
        self._state = "stopped"
        self.url = url
        self.association = association
        self.tunnelPort = tunnelPort
        self.reactor = reactor
        self.clock = reactor
        self.connectHTTP = connectHTTP
        self.handshakeTimeout = handshakeTimeout
        self.upgradeTimeout = upgradeTimeout
        self.keepAliveInterval = keepAliveInterval
        self.timeout = timeout
        self.backoff = Backoff(maxErrors=maxErrors)
        self.pool = LocalPool(reactor, self.fromGame, gamePort, hostPort, interface)
        self.kind = "udp" if tunnelPort else "http"
        self.link: UdpTunnelConnection | HttpTunnelConnection | None = None
        self.lastSeen = 0.0
        self.lastSent = 0.0
        #: Whether the server has sent a keep-alive in this run: only then
        #: does its silence mean the tunnel is gone.
        self.serverKeepsAlive = False
        self._quietLogged: float | None = None
        self.sent = 0
        self.received = 0
        self.dropped = 0
        self.tooLarge = 0
        self.garbage = 0
        self._tooLargeUnreported = 0
        self._tooLargeLogged: float | None = None
        self._timer: IDelayedCall | None = None
        self._attempt: defer.Deferred[Any] | None = None
        self._checker: task.LoopingCall | None = None

    @property
    def state(self) -> str:
        """
        C{"stopped"}, C{"connecting"}, C{"open"} or C{"failed"}.
        """
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        changed = value != self._state
        self._state = value
        if changed and self.stateChanged is not None:
            self.stateChanged(value, self.kind)

    @classmethod
    def fromServerInfo(cls, info: ServerInfo, reactor: Any, **kwargs: Any) -> TunnelClientService:
        """
        The tunnel for a discovered server.
        """
        return cls(info.url, info.association, info.tunnelPort, reactor, **kwargs)

    # -- service

    def startService(self) -> None:
        """
        Open the pool and the tunnel.  A pool port that cannot be bound or
        a server without association token leaves the tunnel off, with
        one log line (the rest of the client works without it).
        """
        super().startService()
        if not self.association:
            self.state = "failed"
            self.log.warn("The server gave no association token: the tunnel is off")
            return
        try:
            self.pool.open()
        except CannotListenError as e:
            self.state = "failed"
            self.log.error(
                "The tunnel is off: cannot listen on UDP {interface}:{port}: {reason}",
                interface=e.interface or "*", port=e.port,
                reason=getattr(e.socketError, "strerror", None) or e.socketError,
            )
            return
        self.log.info(
            "Tunnel pool on UDP {interface}, ports {ports}, for the game at port {game}",
            interface=self.pool.interface, ports=self.pool.ports, game=self.pool.gamePort,
        )
        self._checker = task.LoopingCall(self._check)
        self._checker.clock = self.clock
        self._checker.start(CHECK_INTERVAL, now=False)
        self._connect()

    def stopService(self) -> defer.Deferred[Any]:
        super().stopService()
        self.state = "stopped"
        if self._checker is not None and self._checker.running:
            self._checker.stop()
        self._checker = None
        self._cancelTimer()
        if self._attempt is not None:
            d, self._attempt = self._attempt, None
            d.cancel()
        link, self.link = self.link, None
        if link is not None:
            link.close()
        return self.pool.close()

    # -- connecting

    def _cancelTimer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _connect(self) -> None:
        self._timer = None
        if not self.running:
            return
        self.state = "connecting"
        if self.kind == "udp":
            self._connectUDP()
        else:
            self._connectHTTP()

    def _connectUDP(self) -> None:
        host = self.url.host
        try:
            ipaddress.ip_address(host)
        except ValueError:
            d = defer.maybeDeferred(self.reactor.resolve, host)
        else:
            d = defer.succeed(host)
        self._attempt = d
        d.addCallbacks(self._resolved, self._resolveFailed)

    def _resolveFailed(self, failure: Failure) -> None:
        self._attempt = None
        if failure.check(defer.CancelledError):
            return
        self._failed(f"cannot resolve {self.url.host}: {failure.getErrorMessage()}")

    def _resolved(self, address: str) -> None:
        self._attempt = None
        if not self.running:
            return
        assert self.tunnelPort is not None
        link = UdpTunnelConnection(self, (address, self.tunnelPort))
        self.link = link
        try:
            self.reactor.listenUDP(
                0, link, interface="::" if ":" in address else "", maxPacketSize=MAX_DATAGRAM
            )
        except Exception as e:
            self.link = None
            self._failed(f"cannot open a UDP socket to {address}:{self.tunnelPort}: {e}")
            return
        self._timer = self.clock.callLater(self.handshakeTimeout, self._handshakeTimedOut, link)

    def _handshakeTimedOut(self, link: UdpTunnelConnection | HttpTunnelConnection) -> None:
        self._timer = None
        if self.link is not link:
            return
        self.link = None
        if self._attempt is not None:
            d, self._attempt = self._attempt, None
            d.cancel()
        link.close()
        if isinstance(link, UdpTunnelConnection):
            what = f"no answer from the UDP tunnel at {link.address[0]}:{link.address[1]}"
            seconds = self.handshakeTimeout
        else:
            what = "no answer to the HTTP tunnel upgrade"
            seconds = self.upgradeTimeout
        self._failed(f"{what} within {seconds:g} s")

    def _connectHTTP(self) -> None:
        connect = self.connectHTTP
        if connect is None:
            self.state = "failed"
            self.log.error("The tunnel is off: no way to reach the server's HTTP tunnel")
            return
        link = HttpTunnelConnection(self)
        self.link = link
        d = connect(link)
        self._attempt = d
        self._timer = self.clock.callLater(self.upgradeTimeout, self._handshakeTimedOut, link)
        d.addCallbacks(lambda _: self._httpConnected(link), lambda f: self._httpConnectFailed(link, f))

    def _httpConnected(self, link: HttpTunnelConnection) -> None:
        self._attempt = None

    def _httpConnectFailed(self, link: HttpTunnelConnection, failure: Failure) -> None:
        self._attempt = None
        if failure.check(defer.CancelledError) or self.link is not link:
            return
        self.link = None
        self._cancelTimer()
        self._failed(str(explainFailure(failure, self.url.netloc)))

    def linkOpened(self, link: Any) -> None:
        """
        The server accepted the tunnel.
        """
        if self.link is not link:
            link.close()
            return
        self._cancelTimer()
        self.state = "open"
        self.backoff.reset()
        now = self.clock.seconds()
        self.lastSeen = now
        if isinstance(link, UdpTunnelConnection):
            self.log.info(
                "UDP tunnel open to {host}:{port} (tunnel {tunnelId})",
                host=link.address[0], port=link.address[1], tunnelId=link.tunnelId,
            )
        else:
            self.log.info("HTTP tunnel open to {url}", url=str(self.url))

    def httpLost(
        self, link: HttpTunnelConnection, wasOpen: bool, problem: str | None, reason: Any
    ) -> None:
        """
        An HTTP tunnel connection closed.
        """
        if self.link is not link:
            return
        self.link = None
        self._cancelTimer()
        if not self.running:
            return
        if wasOpen and problem is None:
            self.log.info("The HTTP tunnel closed; reconnecting")
            self._retry(self.backoff.initial)
            return
        if problem is None:
            problem = "the connection closed before the upgrade"
            if isinstance(reason, Failure):
                problem = f"{problem} ({explainFailure(reason, self.url.netloc)})"
        self._failed(problem)

    def _failed(self, problem: str) -> None:
        if not self.running:
            return
        delay = self.backoff.failed()
        if not self.backoff.exhausted:
            self.log.info(
                "Tunnel ({kind}) attempt failed: {problem}; retrying in {delay:g} s",
                kind=self.kind, problem=problem, delay=delay,
            )
            self._retry(delay)
            return
        if self.kind == "udp":
            self.log.warn(
                "The UDP tunnel failed {count} times in a row ({problem}); using the "
                "HTTP tunnel instead",
                count=self.backoff.errors, problem=problem,
            )
            self.kind = "http"
            self.backoff.reset()
            self._retry(0)
            return
        self.state = "failed"
        self.log.error(
            "The tunnel is off after {count} failed attempts in a row ({problem}); "
            "players behind NAT may not be able to join your games",
            count=self.backoff.errors, problem=problem,
        )

    def _retry(self, delay: float) -> None:
        self.state = "connecting"
        self._cancelTimer()
        self._timer = self.clock.callLater(delay, self._connect)

    def keepAliveReceived(self) -> None:
        """
        The server sent a keep-alive: from now on its silence means the
        tunnel is gone.
        """
        self.serverKeepsAlive = True

    def _check(self) -> None:
        """
        Once a second: reopen a tunnel whose server went silent although
        it sends keep-alives, and send a keep-alive after ten seconds
        without sending anything.

        Reopening makes a new tunnel, which a server that links tunnels to
        games only at join (the Rust Pocket Relay server) does not link
        to a game in progress; so a tunnel whose server never sent a
        keep-alive is kept however long it is quiet (see
        C{docs/tunnel.md}).
        """
        link = self.link
        if link is None or not link.open:
            return
        now = self.clock.seconds()
        silent = now - self.lastSeen
        if silent >= self.timeout:
            if self.serverKeepsAlive:
                self.log.info(
                    "Nothing from the tunnel server for {seconds:.0f} s although it sends "
                    "keep-alives; reopening the tunnel",
                    seconds=silent,
                )
                self.link = None
                link.close()
                self._retry(self.backoff.initial)
                return
            if self._quietLogged != self.lastSeen:
                self._quietLogged = self.lastSeen
                self.log.info(
                    "Nothing from the tunnel server for {seconds:.0f} s; it sends no "
                    "keep-alives, so the quiet {kind} tunnel is kept open",
                    seconds=silent, kind=self.kind.upper(),
                )
        if now - self.lastSent >= self.keepAliveInterval:
            link.sendKeepAlive()

    # -- traffic

    def fromGame(self, index: int, payload: bytes) -> None:
        """
        The game sent C{payload} to pool socket C{index}.
        """
        link = self.link
        if link is None or not link.open:
            self.dropped += 1
            return
        if len(payload) > link.maxPayload:
            self._droppedTooLarge(
                len(payload), "from the game",
                f"the {self.kind.upper()} tunnel carries at most {link.maxPayload} bytes",
            )
            return
        if link.send(index, payload):
            self.sent += 1
        else:
            self.dropped += 1

    def fromServer(self, index: int, payload: bytes) -> None:
        """
        The server delivered C{payload} from the player in slot C{index}.
        """
        if len(payload) > self.pool.maxPayload:
            self._droppedTooLarge(
                len(payload), "for the game",
                f"a UDP datagram to the game holds at most {self.pool.maxPayload} bytes",
            )
            return
        if self.pool.send(index, payload):
            self.received += 1
        else:
            self.dropped += 1

    def _droppedTooLarge(self, size: int, where: str, why: str) -> None:
        """
        Count a game datagram too large for its next hop, and log it at
        most once every L{LOG_INTERVAL} seconds, with the number dropped
        since the last line.
        """
        self.dropped += 1
        self.tooLarge += 1
        self._tooLargeUnreported += 1
        now = self.clock.seconds()
        if self._tooLargeLogged is not None and now - self._tooLargeLogged < LOG_INTERVAL:
            return
        self._tooLargeLogged = now
        count, self._tooLargeUnreported = self._tooLargeUnreported, 0
        self.log.info(
            "Dropped a {size}-byte game datagram {where}: {why} ({count} dropped "
            "since the last report); the tunnel stays open",
            size=size, where=where, why=why, count=count,
        )


class LazyTunnelService(service.Service):
    """
    A L{TunnelClientService} built when this service starts, from the
    server known by then (the client tap starts its children after
    server discovery).

    @ivar tunnel: the running L{TunnelClientService}, or L{None}.
    """

    def __init__(self, server: Callable[[], ServerInfo], reactor: Any, **kwargs: Any) -> None:
        self.server = server
        self.reactor = reactor
        self.kwargs = kwargs
        self.tunnel: TunnelClientService | None = None

    def startService(self) -> None:
        super().startService()
        self.tunnel = TunnelClientService.fromServerInfo(self.server(), self.reactor, **self.kwargs)
        self.tunnel.startService()

    def stopService(self) -> defer.Deferred[Any] | None:
        super().stopService()
        tunnel, self.tunnel = self.tunnel, None
        if tunnel is not None and tunnel.running:
            return tunnel.stopService()
        return None
