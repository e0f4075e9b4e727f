# -*- test-case-name: tests.test_client_blazeproxy -*-
"""
The local Blaze proxy (127.0.0.1:42128).

The redirector tells the game that Blaze is here, in plain TCP.  For each
game connection the proxy opens a connection to the Pocket Relay server
(TCP, or TLS for an C{https} server) and sends::

    GET {base path}api/server/upgrade HTTP/1.1
    Host: ...
    User-Agent: pocketrelay-client/...
    Connection: Upgrade
    Upgrade: blaze
    x-pocket-relay-scheme: http            (four legacy headers, still
    x-pocket-relay-host: 127.0.0.1          sent by the Pocket Relay
    x-pocket-relay-port: 42131              client for old servers)
    x-pocket-relay-local-http: true
    x-association: <token>                  (when the server gave one)

After C{101 Switching Protocols} the bytes are piped both ways without
being parsed, each transport registered as the other's producer so that
a slow side slows the other down.  Bytes the game sends before the
upgrade has completed are held (reading from the game pauses past
L{MAX_PENDING} bytes) and sent after the C{101}.  Closing either side
closes the other.  A refused upgrade or an unreachable server closes the
game's connection with one log line saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from pocketrelay.client.discovery import (
    USER_AGENT,
    ServerInfo,
    ServerURL,
    explainFailure,
)

__all__ = [
    "BLAZE_PORT",
    "MAX_HEAD",
    "MAX_PENDING",
    "UPGRADE_TIMEOUT",
    "BlazeProxyFactory",
    "GameConnection",
    "ResponseHead",
    "ResponseHeadError",
    "UpstreamConnection",
    "parseResponseHead",
    "upgradeRequest",
]

#: Where the game connects (what the redirector tells it).
BLAZE_PORT = 42128

#: Game bytes held before the upgrade completes; reading from the game
#: pauses while more are waiting.
MAX_PENDING = 256 * 1024

#: The largest HTTP response head accepted from the server.
MAX_HEAD = 16 * 1024

#: Seconds from the game's connection to the server's C{101}.
UPGRADE_TIMEOUT = 30.0

#: Bytes of a refusal's body shown in the log.
REFUSAL_SNIPPET = 300

#: Seconds to wait for a refusal's body once its head has arrived.
REFUSAL_BODY_WAIT = 2.0


def upgradeRequest(
    url: ServerURL,
    association: str | None = None,
    httpPort: int = 42131,
    userAgent: str = USER_AGENT,
) -> bytes:
    """
    The HTTP request that asks the server to carry a Blaze connection.

    @param url: the server's base URL.
    @param association: the association token from discovery, if any.
    @param httpPort: the local HTTP proxy's port (for the legacy
        C{x-pocket-relay-port} header).
    """
    lines = [
        f"GET {url.path}api/server/upgrade HTTP/1.1",
        f"Host: {url.netloc}",
        f"User-Agent: {userAgent}",
        "Connection: Upgrade",
        "Upgrade: blaze",
        "x-pocket-relay-scheme: http",
        "x-pocket-relay-host: 127.0.0.1",
        f"x-pocket-relay-port: {httpPort}",
        "x-pocket-relay-local-http: true",
    ]
    if association:
        lines.append(f"x-association: {association}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


class ResponseHeadError(ValueError):
    """
    The server's answer is not an HTTP/1.x response head.
    """


@attrs.frozen
class ResponseHead:
    """
    An HTTP response head.

    @ivar status: the status line, as sent.
    @ivar code: the status code.
    @ivar headers: header names (lower case) to their values, in order.
    """

    status: str
    code: int
    headers: dict[str, list[str]]

    def header(self, name: str) -> str | None:
        """
        The first value of header C{name}, or L{None}.
        """
        values = self.headers.get(name.lower())
        return values[0] if values else None


def parseResponseHead(head: bytes) -> ResponseHead:
    """
    Parse an HTTP/1.x response head (without the blank line ending it).

    @raise ResponseHeadError: if it does not start with a valid status
        line.
    """
    lines = head.split(b"\r\n")
    status = lines[0].decode("latin-1").strip()
    parts = status.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ResponseHeadError(f"not an HTTP response: {status[:80]!r}")
    if not (len(parts[1]) == 3 and parts[1].isdigit()):
        raise ResponseHeadError(f"bad status line: {status[:80]!r}")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.decode("latin-1").partition(":")
        if colon:
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    return ResponseHead(status, int(parts[1]), headers)


def _dechunk(body: bytes) -> bytes:
    # Only the start of the body is shown, so the first chunks are enough.
    out = b""
    while body:
        size, sep, rest = body.partition(b"\r\n")
        if not sep:
            break
        try:
            length = int(size.split(b";")[0].strip(), 16)
        except ValueError:
            return body
        if length == 0:
            break
        out += rest[:length]
        body = rest[length + 2 :]
    return out


def _snippet(head: ResponseHead, body: bytes) -> str:
    if "chunked" in (head.header("transfer-encoding") or "").lower():
        body = _dechunk(body)
    text = body[:REFUSAL_SNIPPET].decode("utf-8", "replace")
    return " ".join(text.split())


_HEAD, _PIPE, _REFUSED, _DONE = "head", "pipe", "refused", "done"


def _close(transport: Any) -> None:
    """
    Close a transport that may have the other side registered as its
    producer.  The producer is unregistered first: a transport whose
    producer is paused resumes it instead of closing once its buffer has
    drained, which would leave it open for good.
    """
    try:
        transport.unregisterProducer()
    except Exception:
        pass
    transport.loseConnection()


class UpstreamConnection(Protocol):
    """
    The connection to the server for one game connection: sends the
    upgrade request, reads the answer, then carries the bytes.
    """

    def __init__(self, game: GameConnection) -> None:
        self.game = game
        self.state = _HEAD
        self._buffer = b""
        self._head: ResponseHead | None = None
        self._bodyTimer: IDelayedCall | None = None

    def connectionMade(self) -> None:
        factory = self.game.factory
        self.transport.write(  # type: ignore[union-attr]
            upgradeRequest(
                factory.server.url, factory.server.association, factory.httpPort
            )
        )

    def dataReceived(self, data: bytes) -> None:
        if self.state == _PIPE:
            self.game.transport.write(data)  # type: ignore[union-attr]
        elif self.state == _HEAD:
            self._buffer += data
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD:
                    self._refused(f"an HTTP answer head larger than {MAX_HEAD} bytes")
                return
            try:
                head = parseResponseHead(self._buffer[:end])
            except ResponseHeadError as e:
                self._refused(str(e))
                return
            rest = self._buffer[end + 4 :]
            self._buffer = b""
            if head.code == 101:
                self.state = _PIPE
                self.game.upgraded(self, rest)
                return
            self.state = _REFUSED
            self._head = head
            self._buffer = rest
            self._bodyTimer = self.game.factory.clock.callLater(
                REFUSAL_BODY_WAIT, self._refusalComplete
            )
            self._checkRefusalBody()
        elif self.state == _REFUSED:
            self._buffer += data
            self._checkRefusalBody()

    def _checkRefusalBody(self) -> None:
        assert self._head is not None
        wanted = REFUSAL_SNIPPET
        length = self._head.header("content-length")
        if length is not None and length.isdigit():
            wanted = min(wanted, int(length))
        if "chunked" in (self._head.header("transfer-encoding") or "").lower():
            done = b"\r\n0\r\n" in self._buffer or self._buffer.startswith(b"0\r\n")
            if done or len(self._buffer) >= wanted:
                self._refusalComplete()
        elif len(self._buffer) >= wanted:
            self._refusalComplete()

    def _refusalComplete(self) -> None:
        if self.state != _REFUSED:
            return
        assert self._head is not None
        if self._bodyTimer is not None and self._bodyTimer.active():
            self._bodyTimer.cancel()
        self._bodyTimer = None
        snippet = _snippet(self._head, self._buffer)
        reason = self._head.status + (f": {snippet}" if snippet else "")
        self._refused(reason)

    def _refused(self, reason: str) -> None:
        self.state = _DONE
        self._buffer = b""
        self.transport.loseConnection()  # type: ignore[union-attr]
        self.game.refused(reason)

    def connectionLost(self, reason: Failure = Failure(Exception())) -> None:  # noqa: B008
        if self.state == _REFUSED:
            self._refusalComplete()
        state, self.state = self.state, _DONE
        if self._bodyTimer is not None and self._bodyTimer.active():
            self._bodyTimer.cancel()
        self.game.upstreamLost(state, reason)


class GameConnection(Protocol):
    """
    One connection from the game to the Blaze proxy.

    @ivar upstream: the L{UpstreamConnection} once connected.
    @ivar piping: whether the server has accepted the upgrade and bytes
        flow both ways.
    """

    log = Logger()
    factory: BlazeProxyFactory

    def __init__(self) -> None:
        self.upstream: UpstreamConnection | None = None
        self.piping = False
        self._inSession = False
        self.peer = "?"
        self._pending: list[bytes] = []
        self._pendingSize = 0
        self._paused = False
        self._closed = False
        self._connecting: defer.Deferred[Any] | None = None
        self._timer: IDelayedCall | None = None

    def connectionMade(self) -> None:
        address = self.transport.getPeer()  # type: ignore[union-attr]
        self.peer = f"{getattr(address, 'host', address)}:{getattr(address, 'port', '')}"
        self.factory.connections.add(self)
        self.log.info("Game connected ({peer})", peer=self.peer)
        upstream = UpstreamConnection(self)
        self._timer = self.factory.clock.callLater(UPGRADE_TIMEOUT, self._timedOut)
        d = self.factory.connect(upstream)
        self._connecting = d
        d.addCallbacks(self._connected, self._connectFailed)

    def _connected(self, upstream: UpstreamConnection) -> None:
        self._connecting = None
        self.upstream = upstream
        if self._closed:
            upstream.transport.loseConnection()  # type: ignore[union-attr]

    def _connectFailed(self, failure: Failure) -> None:
        self._connecting = None
        if self._closed:
            return
        self._giveUp(str(explainFailure(failure, self.factory.server.url.netloc)))

    def _timedOut(self) -> None:
        self._timer = None
        self._giveUp(f"the server did not accept the connection within {UPGRADE_TIMEOUT:g} seconds")

    def _cancelTimer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _giveUp(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self._cancelTimer()
        self.log.warn("Closing the game's connection ({peer}): {reason}", peer=self.peer, reason=reason)
        self._pending = []
        if self._connecting is not None:
            d, self._connecting = self._connecting, None
            d.cancel()
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.loseConnection()
        self.transport.loseConnection()  # type: ignore[union-attr]

    # -- from the game

    def dataReceived(self, data: bytes) -> None:
        if self.piping:
            self.upstream.transport.write(data)  # type: ignore[union-attr]
            return
        if self._closed:
            return
        self._pending.append(data)
        self._pendingSize += len(data)
        if self._pendingSize > self.factory.maxPending and not self._paused:
            self._paused = True
            self.transport.pauseProducing()  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure = Failure(Exception())) -> None:  # noqa: B008
        self.factory.connections.discard(self)
        if self._inSession:
            self._inSession = False
            self.factory.sessionEnded()
        self._cancelTimer()
        wasClosed, self._closed = self._closed, True
        if self._connecting is not None:
            d, self._connecting = self._connecting, None
            d.cancel()
        if self.upstream is not None and self.upstream.transport is not None:
            _close(self.upstream.transport)
        self._pending = []
        if not wasClosed:
            self.log.info("Game disconnected ({peer})", peer=self.peer)

    # -- from the server

    def upgraded(self, upstream: UpstreamConnection, rest: bytes) -> None:
        """
        The server answered C{101}: send what the game sent so far, then
        pipe.
        """
        self.upstream = upstream
        self._cancelTimer()
        if self._closed:
            upstream.transport.loseConnection()  # type: ignore[union-attr]
            return
        self.piping = True
        self._inSession = True
        self.factory.sessionStarted()
        gameTransport: Any = self.transport
        serverTransport: Any = upstream.transport
        pending, self._pending, self._pendingSize = self._pending, [], 0
        if pending:
            serverTransport.writeSequence(pending)
        gameTransport.registerProducer(serverTransport, True)
        serverTransport.registerProducer(gameTransport, True)
        if self._paused:
            self._paused = False
            gameTransport.resumeProducing()
        self.log.debug("Game connection {peer} upgraded", peer=self.peer)
        if rest:
            gameTransport.write(rest)

    def refused(self, reason: str) -> None:
        """
        The server did not answer C{101}.
        """
        self._giveUp(f"the server refused the upgrade: {reason}")

    def upstreamLost(self, state: str, reason: Failure) -> None:
        """
        The connection to the server is gone.
        """
        if self._closed:
            return
        if state == _PIPE:
            self._closed = True
            self.log.info(
                "The server closed the game's connection ({peer})", peer=self.peer
            )
            _close(self.transport)
        elif state == _HEAD:
            problem = explainFailure(reason, self.factory.server.url.netloc)
            self._giveUp(f"no answer to the upgrade request: {problem}")


class BlazeProxyFactory(Factory):
    """
    Makes a L{GameConnection} for each game connection.

    @ivar server: the checked server.
    @ivar connect: called with an L{UpstreamConnection}; connects it to
        the server and returns a L{Deferred} firing with it.
    @ivar clock: for the upgrade timeout.
    @ivar httpPort: the local HTTP proxy's port, for the legacy header.
    @ivar maxPending: game bytes held before the upgrade completes.
    @ivar connections: the open game connections.
    @ivar sessions: the game connections whose Blaze session runs through
        to the server (upgraded).
    @ivar sessionsChanged: called with C{sessions} when it changes.
    """

    noisy = False

    def __init__(
        self,
        server: ServerInfo,
        connect: Callable[[UpstreamConnection], defer.Deferred[Any]],
        clock: IReactorTime,
        httpPort: int = 42131,
        maxPending: int = MAX_PENDING,
        sessionsChanged: Callable[[int], None] | None = None,
    ) -> None:
        self.server = server
        self.sessions = 0
        self.sessionsChanged = sessionsChanged
        self.connect = connect
        self.clock = clock
        self.httpPort = httpPort
        self.maxPending = maxPending
        self.connections: set[GameConnection] = set()

    def sessionStarted(self) -> None:
        """
        A game connection was upgraded: its Blaze session runs.
        """
        self.sessions += 1
        if self.sessionsChanged is not None:
            self.sessionsChanged(self.sessions)

    def sessionEnded(self) -> None:
        """
        An upgraded game connection closed.
        """
        self.sessions -= 1
        if self.sessionsChanged is not None:
            self.sessionsChanged(self.sessions)

    def buildProtocol(self, addr: Any) -> Any:
        protocol = GameConnection()
        protocol.factory = self
        return protocol

    def closeAll(self) -> None:
        """
        Drop every game connection (and its server connection) at once.
        """
        for connection in list(self.connections):
            transport: Any = connection.transport
            if connection.upstream is not None and connection.upstream.transport is not None:
                upstreamTransport: Any = connection.upstream.transport
                upstreamTransport.abortConnection()
            transport.abortConnection()
