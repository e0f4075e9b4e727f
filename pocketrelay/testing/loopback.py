# -*- test-case-name: tests.test_integration -*-
"""
Helpers for the few tests that use real sockets, on 127.0.0.1 only:
L{ServerFixture} (the server's whole service tree on an ephemeral port),
L{listenSite} (a web resource on an ephemeral port), L{closedPort} and
L{sleep}.  They use the global reactor, imported when called.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Factory, ProcessProtocol, Protocol
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from pocketrelay.server import tap
from pocketrelay.testing.gameclient import GameClient
from pocketrelay.testing.gamedata import writeTree

__all__ = ["ServerFixture", "closedPort", "listenSite", "sleep"]


class ServerFixture:
    """
    Starts the server's service tree on an ephemeral loopback port.
    """

    def __init__(self, testCase: TestCase, extra: list[str] | None = None,
                 gameData: Mapping[str, bytes] | None = None) -> None:
        """
        @param extra: more command-line arguments for the server.
        @param gameData: files (relative path to content) written to the
            data directory before the server starts, e.g.
            L{pocketrelay.testing.gamedata.syntheticInstallation}.
        """
        self.dataDir = FilePath(testCase.mktemp())
        if gameData is not None:
            writeTree(self.dataDir.path, gameData)
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


def until(check: Callable[[], object], seconds: float = 10) -> defer.Deferred[None]:
    """
    A L{Deferred} that fires once C{check()} is true, polled every 20 ms
    on the global reactor; it fails with a timeout after C{seconds}.
    """
    from twisted.internet import reactor as _reactor

    reactor: Any = _reactor
    d: defer.Deferred[None] = defer.Deferred()

    def poll() -> None:
        if check():
            d.callback(None)
        else:
            reactor.callLater(0.02, poll)

    poll()
    return d.addTimeout(seconds, reactor)


class OneProtocolFactory(Factory):
    """
    A factory that gives every connection the same protocol instance.
    """

    def __init__(self, protocol: Protocol) -> None:
        self.instance = protocol

    def buildProtocol(self, addr: Any) -> Protocol:
        return self.instance


class AppProcess(ProcessProtocol):
    """
    What a process spawned by L{spawnApp} wrote (standard output and
    error together) and when it ended (C{ended} fires with its exit
    code).
    """

    def __init__(self) -> None:
        self.output = ""
        self.ended: defer.Deferred[int] = defer.Deferred()

    def outReceived(self, data: bytes) -> None:
        self.output += data.decode("utf-8", "replace")

    errReceived = outReceived

    def processEnded(self, reason: Failure) -> None:
        self.ended.callback(getattr(reason.value, "exitCode", -1))


def spawnApp(testCase: TestCase, *arguments: str, **environ: str) -> AppProcess:
    """
    Run C{python -m pocketrelay.client.app ARGUMENTS} from this checkout,
    with C{environ} added to the environment; it is killed at clean-up if
    still running.
    """
    from twisted.internet import reactor as _reactor

    reactor: Any = _reactor
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    lines = AppProcess()
    env = dict(os.environ, PYTHONPATH=root, **environ)
    process = reactor.spawnProcess(
        lines, sys.executable, [sys.executable, "-m", "pocketrelay.client.app", *arguments],
        env=env, path=root,
    )

    def kill() -> defer.Deferred[int] | None:
        if lines.ended.called:
            return None
        process.signalProcess("KILL")
        return lines.ended

    testCase.addCleanup(kill)
    return lines
