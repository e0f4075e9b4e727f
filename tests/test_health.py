# -*- test-case-name: tests.test_health -*-
"""
Tests for C{GET /api/server/health}
(L{pocketrelay.server.web.monitoring.HealthResource}) and L{Store.ping}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.server import Site

from pocketrelay.me3.coalesced import serializeBinary
from pocketrelay.server.store import StoreError
from pocketrelay.server.web.monitoring import HEALTH_TIMEOUT
from pocketrelay.server.web.site import buildRoot, buildSite
from pocketrelay.testing.gamedata import (
    syntheticCoalesced,
    syntheticTalkFile,
    writeTree,
)
from pocketrelay.testing.server import ServerHarness, resultOf
from pocketrelay.testing.web import HttpResponse, WebHarness, parseResponse


class PingStore:
    """
    A store whose L{ping} answers as the test says: C{result} is L{None}
    for a L{Deferred} that the test fires (or never does), else a
    L{Failure} to fail with at once.

    @ivar pings: the L{Deferred}s handed out.
    """

    def __init__(self, failure: Failure | None = None) -> None:
        self.failure = failure
        self.pings: list[defer.Deferred[None]] = []

    def ping(self) -> defer.Deferred[None]:
        if self.failure is not None:
            return defer.fail(self.failure)
        d: defer.Deferred[None] = defer.Deferred()
        self.pings.append(d)
        return d


def send(site: Site, path: str) -> tuple[Any, StringTransport]:
    """
    Send C{GET path} to C{site}; return the channel and its transport.
    """
    address = IPv4Address("TCP", "192.0.2.10", 40000)
    channel = site.buildProtocol(address)
    assert channel is not None
    transport = StringTransport(
        peerAddress=address, hostAddress=IPv4Address("TCP", "127.0.0.1", 8080)
    )
    channel.makeConnection(transport)
    channel.dataReceived(
        f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    )
    return channel, transport


class HealthTests(SynchronousTestCase):
    """
    The health check on the in-memory server.
    """

    def setUp(self) -> None:
        self.harness = ServerHarness(FilePath(self.mktemp()))
        self.site = buildSite(buildRoot(self.harness.hub), Clock())

    def get(self) -> HttpResponse:
        _, transport = send(self.site, "/api/server/health")
        return parseResponse(transport.value())

    def test_healthy(self) -> None:
        """
        With a working database: 200 and C{status} ok, the database ok,
        the session and player counts and the version, as uncached JSON,
        to any client.
        """
        self.harness.connect()
        self.harness.loggedIn("a@example.org")
        response = self.get()
        self.assertEqual(response.code, 200)
        self.assertEqual(response.header("content-type"), "application/json")
        self.assertEqual(response.header("cache-control"), "no-store")
        self.assertEqual(
            response.json(),
            {"status": "ok", "database": "ok", "sessions": 2, "players_online": 1,
             "version": self.harness.hub.version,
             "game_data": {"complete": False,
                           "missing": ["coalesced.json", "default.tlk", "entitlements.dmap",
                                       "dime.xml", "public/content/"],
                           "unusable": []}},
        )

    def test_gameDataComplete(self) -> None:
        """
        With the game data installed, C{game_data} says complete and lists
        nothing; missing game data never makes the check fail.
        """
        dataDir = self.harness.gameData.dataDir
        writeTree(dataDir.path, {
            "coalesced.bin": serializeBinary(syntheticCoalesced()),
            "default.tlk": syntheticTalkFile("en"),
            "entitlements.dmap": b"A=1\n",
            "dime.xml": b"<dime/>",
            "public/content/x.dds": b"DDS ",
        })
        response = self.get()
        self.assertEqual(response.code, 200)
        self.assertEqual(response.json()["game_data"],
                         {"complete": True, "missing": [], "unusable": []})
        dataDir.child("dime.xml").remove()
        self.assertEqual(self.get().json()["game_data"],
                         {"complete": False, "missing": ["dime.xml"], "unusable": []})

    def test_gameDataUnusable(self) -> None:
        """
        A game-data file that exists but cannot be used (a corrupt
        C{coalesced.json} or talk file) makes C{game_data} incomplete and is
        listed in C{unusable} with the reason; the files are checked once
        per change, not on every poll, and a repaired file is dropped from
        the list.
        """
        dataDir = self.harness.gameData.dataDir
        writeTree(dataDir.path, {
            "coalesced.json": b"{not json",
            "default.tlk": b"garbage talk file",
            "entitlements.dmap": b"A=1\n",
            "dime.xml": b"<dime/>",
            "public/content/x.dds": b"DDS ",
        })
        gameData = self.get().json()["game_data"]
        self.assertFalse(gameData["complete"])
        self.assertEqual(gameData["missing"], [])
        self.assertEqual([u["file"] for u in gameData["unusable"]],
                         ["coalesced.json", "default.tlk"])
        for entry in gameData["unusable"]:
            self.assertIsInstance(entry["reason"], str)
            self.assertTrue(entry["reason"])
        opened: list[str] = []
        original = FilePath.open

        def countingOpen(path: FilePath[str], mode: Any = "r") -> Any:
            opened.append(path.basename())
            return original(path, mode)

        self.patch(FilePath, "open", countingOpen)
        self.assertEqual(self.get().json()["game_data"], gameData)
        self.assertEqual(opened, [])
        dataDir.child("default.tlk").setContent(syntheticTalkFile("en"))
        del opened[:]
        self.assertEqual(
            [u["file"] for u in self.get().json()["game_data"]["unusable"]],
            ["coalesced.json"],
        )
        self.assertEqual(opened, ["default.tlk"])

    def test_databaseStuck(self) -> None:
        """
        A database that does not answer gives 503 with C{database}
        C{timeout} once L{HEALTH_TIMEOUT} seconds have passed on the hub's
        clock, not before; its late answer is ignored.
        """
        store = PingStore()
        self.harness.hub.store = store  # type: ignore[assignment]
        _, transport = send(self.site, "/api/server/health")
        self.harness.clock.advance(HEALTH_TIMEOUT - 0.1)
        self.assertEqual(transport.value(), b"")
        self.harness.clock.advance(0.1)
        response = parseResponse(transport.value())
        self.assertEqual(response.code, 503)
        self.assertEqual(response.json()["status"], "error")
        self.assertEqual(response.json()["database"], "timeout")
        self.assertEqual(response.json()["sessions"], 0)
        store.pings[0].callback(None)
        self.assertEqual(parseResponse(transport.value()).code, 503)

    def test_databaseFailed(self) -> None:
        """
        A database that fails gives 503 with C{database} C{unavailable} at
        once.
        """
        self.harness.hub.store = PingStore(  # type: ignore[assignment]
            Failure(StoreError("disk I/O error"))
        )
        response = self.get()
        self.assertEqual(response.code, 503)
        self.assertEqual(response.json()["status"], "error")
        self.assertEqual(response.json()["database"], "unavailable")

    def test_storeStopped(self) -> None:
        """
        A closed store answers 503.
        """
        resultOf(self.harness.store.stop())
        self.assertEqual(self.get().code, 503)

    def test_clientGone(self) -> None:
        """
        A client that disconnects while the database is being asked gets
        nothing written and causes no error.
        """
        store = PingStore()
        self.harness.hub.store = store  # type: ignore[assignment]
        channel, transport = send(self.site, "/api/server/health")
        channel.connectionLost(Failure(ConnectionDone()))
        store.pings[0].callback(None)
        self.assertEqual(transport.value(), b"")
        self.harness.clock.advance(HEALTH_TIMEOUT)
        self.assertEqual(transport.value(), b"")

    def test_ping(self) -> None:
        """
        L{Store.ping} fires with L{None} on an open store and fails with
        L{StoreError} on a closed one.
        """
        store = self.harness.store
        self.assertIsNone(resultOf(store.ping()))
        resultOf(store.stop())
        self.assertRaises(StoreError, resultOf, store.ping())


class HealthOverHttpTests(TestCase):
    """
    The health check on the site the server builds, with its real threaded
    store.
    """

    timeout = 30

    @defer.inlineCallbacks
    def test_healthy(self) -> Any:
        """
        The real store answers the ping from its thread: 200.
        """
        harness = WebHarness(self)
        yield harness.start()
        response = yield harness.request("GET", "/api/server/health")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.json()["database"], "ok")
