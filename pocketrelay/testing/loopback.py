# -*- test-case-name: tests.test_integration -*-
"""
Helpers for the few tests that use real sockets, on 127.0.0.1 only:
L{ServerFixture} (the server's whole service tree on an ephemeral port),
L{listenSite} (a web resource on an ephemeral port), L{closedPort} and
L{sleep}.  They use the global reactor, imported when called.
"""

from __future__ import annotations

import socket
from typing import Any

from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.python.filepath import FilePath
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from pocketrelay.server import tap
from pocketrelay.testing.gameclient import GameClient

__all__ = ["ServerFixture", "closedPort", "listenSite", "sleep"]


class ServerFixture:
    """
    Starts the server's service tree on an ephemeral loopback port.
    """

    def __init__(self, testCase: TestCase, extra: list[str] | None = None) -> None:
        self.dataDir = FilePath(testCase.mktemp())
        options = tap.Options()
        options.parseOptions(
            ["--listen", "tcp:0:interface=127.0.0.1", "--data-dir", self.dataDir.path,
             # No fixed UDP port: concurrent test runs would collide on it.
             "--set", "udp_tunnel.port=0", *(extra or [])]
        )
        from twisted.internet import reactor

        self.service: Any = tap.makeService(options, reactor)
        self.service.privilegedStartService()
        self.service.startService()
        testCase.addCleanup(self.service.stopService)
        listener = next(s for s in self.service.services if isinstance(s, tap.ListenerService))
        self.port = listener.port.getHost().port
        self.hub = self.service.hub

    @defer.inlineCallbacks
    def connect(self, headers: dict[bytes, bytes] | None = None) -> Any:
        """
        A L{GameClient} connected to the server through the HTTP upgrade.
        """
        from twisted.internet import reactor

        client = GameClient(clock=reactor)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port, timeout=5)
        upgrading = client.upgrading(headers=headers)
        yield connectProtocol(endpoint, upgrading)
        yield upgrading.upgraded
        return client

    def url(self, path: str) -> bytes:
        """
        The server's URL for C{path}.
        """
        return f"http://127.0.0.1:{self.port}{path}".encode()


def listenSite(testCase: TestCase, resource: Resource, tlsOptions: Any = None) -> int:
    """
    Serve C{resource} on 127.0.0.1 (over TLS with C{tlsOptions}); the
    port is closed at clean-up.  Returns the port number.
    """
    from twisted.internet import reactor as _reactor

    reactor: Any = _reactor
    site = Site(resource)
    site.noisy = False
    if tlsOptions is None:
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
    else:
        port = reactor.listenSSL(0, site, tlsOptions, interface="127.0.0.1")
    testCase.addCleanup(port.stopListening)
    return int(port.getHost().port)


def closedPort() -> int:
    """
    A loopback port nothing listens on.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sleep(seconds: float) -> defer.Deferred[None]:
    """
    A L{Deferred} that fires after C{seconds} on the global reactor.
    """
    from twisted.internet import reactor

    d: defer.Deferred[None] = defer.Deferred()
    reactor.callLater(seconds, d.callback, None)
    return d
