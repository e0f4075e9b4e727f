# -*- test-case-name: tests.test_web_api -*-
"""
Driving the server's real HTTP site in memory, for tests.

L{WebHarness} builds what C{twistd pocketrelay-server} builds (a real
L{Store} on a temporary file, a L{Hub}, the resource tree of
C{site.buildRoot} and the L{Site} of C{site.buildSite}) with a
L{task.Clock} as the hub's clock, and sends raw HTTP/1.1 requests to the
site over a L{StringTransport}.  The store (and password hashing) still
run in threads, so tests using it are L{twisted.trial.unittest.TestCase}s
on the real reactor.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

import attrs
from twisted.internet import defer, task
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.python.filepath import FilePath

__all__ = ["HttpResponse", "WebHarness", "parseResponse"]

#: The hub clock's starting time (2024-01-01T00:00:00Z).
START_TIME = 1_704_067_200


@attrs.frozen
class HttpResponse:
    """
    A parsed HTTP response.

    @ivar headers: lower-case header name to its values.
    """

    code: int
    headers: Mapping[str, list[str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """
        The first value of a header, or L{None}.
        """
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def text(self) -> str:
        """
        The body as UTF-8 text.
        """
        return self.body.decode("utf-8")

    def json(self) -> Any:
        """
        The body parsed as JSON.
        """
        return json.loads(self.body)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while True:
        line, _, data = data.partition(b"\r\n")
        size = int(line.split(b";")[0], 16)
        if size == 0:
            return out
        out += data[:size]
        data = data[size + 2:]


def parseResponse(raw: bytes) -> HttpResponse:
    """
    Parse one complete HTTP/1.1 response.

    @raise ValueError: when C{raw} holds no complete response head.
    """
    head, separator, body = raw.partition(b"\r\n\r\n")
    if not separator:
        raise ValueError(f"incomplete HTTP response: {raw[:200]!r}")
    lines = head.decode("latin-1").split("\r\n")
    code = int(lines[0].split(" ")[1])
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    if "chunked" in (headers.get("transfer-encoding") or [""])[0].lower():
        body = _dechunk(body)
    elif "content-length" in headers:
        body = body[: int(headers["content-length"][0])]
    return HttpResponse(code, headers, body)


class WebHarness:
    """
    The server's site on a real store, driven in memory.

    @ivar clock: the hub's clock (token expiry, GAW decay, login codes).
    @ivar dataDir: the data directory (C{public/} lives there).
    """

    def __init__(self, testCase: Any, reactor: Any = None, **settings: Any) -> None:
        """
        @param testCase: a trial test case (for temporary paths and
            clean-ups).
        @param settings: setting overrides, dots written as double
            underscores (C{dashboard__super_email=...}).
        """
        from twisted.internet import reactor as globalReactor

        from pocketrelay.me3.clientconfig import ConfigContext
        from pocketrelay.server.config import loadSettings
        from pocketrelay.server.gamedata import GameData
        from pocketrelay.server.hub import Hub
        from pocketrelay.server.security import PasswordHasher, Passwords, TokenSigner
        from pocketrelay.server.store import Store
        from pocketrelay.server.web.logbuffer import LogBuffer
        from pocketrelay.server.web.site import buildRoot, buildSite

        self.reactor = reactor if reactor is not None else globalReactor
        self.testCase = testCase
        self.dataDir = FilePath(testCase.mktemp())
        self.dataDir.makedirs()
        # 429 answers are not held (the hub's clock is a task.Clock); tests
        # of the delay give limits__refusal_delay.
        settings = {"limits__refusal_delay": 0.0, **settings}
        self.settings = loadSettings(environ={}).replace(**settings)
        self.clock = task.Clock()
        self.clock.advance(START_TIME)
        self.store = Store(self.dataDir.child("app.db").path, self.reactor)
        self.passwords = Passwords(
            cast(Any, self.reactor), hasher=PasswordHasher(timeCost=1, memoryCost=8, parallelism=1)
        )
        self.signer = TokenSigner(b"k" * 64, self.clock)
        self.hub = Hub(
            settings=self.settings,
            store=self.store,
            gameData=GameData(self.dataDir, ConfigContext()),
            signer=self.signer,
            passwords=self.passwords,
            clock=self.clock,
        )
        self.logBuffer = LogBuffer()
        self.root = buildRoot(self.hub, logBuffer=self.logBuffer)
        self.siteClock = task.Clock()
        self.site = buildSite(self.root, self.siteClock)

    def start(self) -> defer.Deferred[None]:
        """
        Open the store (and close it at the end of the test).
        """
        self.testCase.addCleanup(self.store.stop)
        return self.store.start()

    @defer.inlineCallbacks
    def createPlayer(
        self, email: str, role: int = 0, password: str | None = "password",
        name: str | None = None,
    ) -> Any:
        """
        Create an account and return (player, token).
        """
        passwordHash = None
        if password is not None:
            passwordHash = yield self.passwords.hash(password)
        player = yield self.store.createPlayer(
            email, name or email.split("@")[0], passwordHash, role=role,
            now=int(self.clock.seconds()),
        )
        return player, self.signer.issueFor(player)

    def send(self, raw: bytes, peer: str = "127.0.0.1") -> tuple[Any, StringTransport]:
        """
        Feed raw bytes to a new connection from C{peer}; return the channel
        and its transport.
        """
        address = IPv4Address("TCP", peer, 40000)
        channel = self.site.buildProtocol(address)
        transport = StringTransport(peerAddress=address,
                                    hostAddress=IPv4Address("TCP", "127.0.0.1", 8080))
        channel.makeConnection(transport)
        channel.dataReceived(raw)
        return channel, transport

    @defer.inlineCallbacks
    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        raw: bytes | None = None,
        peer: str = "127.0.0.1",
    ) -> Any:
        """
        Send one request (C{Connection: close}) and wait for the complete
        response.

        @param body: L{bytes} sent as they are, anything else as JSON.
        @param token: sent as C{X-Token}.
        @param raw: the whole request, sent as it is instead.
        @param peer: the client's address.
        @return: a L{Deferred} firing with an L{HttpResponse}.
        """
        if raw is None:
            lines = [f"{method} {path} HTTP/1.1", "Host: localhost", "Connection: close"]
            payload = b""
            if body is not None:
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                lines.append(f"Content-Length: {len(payload)}")
                lines.append("Content-Type: application/json")
            if token is not None:
                lines.append(f"X-Token: {token}")
            for name, value in (headers or {}).items():
                lines.append(f"{name}: {value}")
            raw = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + payload
        _, transport = self.send(raw, peer)
        for _ in range(2000):
            if transport.disconnecting:
                break
            yield task.deferLater(self.reactor, 0.002, lambda: None)
        else:
            raise AssertionError(f"no complete response to {method} {path}: "
                                 f"{transport.value()[:300]!r}")
        return parseResponse(transport.value())
