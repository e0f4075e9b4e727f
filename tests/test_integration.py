# -*- test-case-name: tests.test_integration -*-
"""
Integration tests: a real server (the service tree of C{twistd
pocketrelay-server}) on 127.0.0.1 and simulated games that reach it
through the HTTP upgrade, as a Pocket Relay client makes them.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody

from pocketrelay.blaze.ids import (
    AuthError,
    Component,
    GlobalError,
    UtilCommand,
    UtilError,
)
from pocketrelay.blaze.protocol import BlazeError
from pocketrelay.me3.messages import util
from pocketrelay.testing.gameclient import GameClient
from pocketrelay.testing.loopback import ServerFixture, sleep

CONFIG_IDS = (
    "ME3_DATA",
    "ME3_MSG",
    "ME3_ENT",
    "ME3_DIME",
    "ME3_BINI_VERSION",
    "ME3_BINI_PC_COMPRESSED",
    "ME3_LIVE_TLK_PC_en",
    "ME3_LIVE_TLK_PC_de",
)


def _timeout(d: defer.Deferred[Any], seconds: float = 20) -> defer.Deferred[Any]:
    return d.addTimeout(seconds, reactor)


class ServerSessionTests(TestCase):
    """
    A scripted ME3 session against a real server over loopback.
    """

    timeout = 60

    def setUp(self) -> None:
        self.server = ServerFixture(self)

    def disconnectLater(self, client: GameClient) -> None:
        def close() -> defer.Deferred[None]:
            client.disconnect()
            d: defer.Deferred[None] = defer.Deferred()
            reactor.callLater(0.05, d.callback, None)
            return d

        self.addCleanup(close)

    @defer.inlineCallbacks
    def test_fullSession(self) -> Any:
        """
        Create an account, log in silently on a new connection with the
        token, save and load settings, fetch every config, ping, log out.
        """
        first = yield self.server.connect()
        self.disconnectLater(first)
        pre = yield first.preAuth()
        self.assertEqual(pre.config.config.get("pingPeriod"), "15s")
        created = yield first.createAccount("shepard@example.org", "normandy-sr2")
        self.assertTrue(created.sessionKey)
        self.assertEqual(created.personas[0].displayName, "shepard")
        yield first.postAuth()
        yield first.saveSetting("Base", "20;4;12345;-1;0;0;0;3;3600;0;00ff")
        yield first.saveSetting("class1", "20;4;Adept;20;0;2")
        token = created.sessionKey
        first.disconnect()

        second = yield self.server.connect()
        self.disconnectLater(second)
        yield second.preAuth()
        full = yield second.silentLogin(token)
        self.assertEqual(full.session.email, "shepard@example.org")
        loaded = yield second.loadSettings()
        self.assertEqual(
            loaded.settings,
            {"Base": "20;4;12345;-1;0;0;0;3;3600;0;00ff", "class1": "20;4;Adept;20;0;2"},
        )
        for configId in CONFIG_IDS:
            config = yield second.fetchConfig(configId)
            self.assertIsInstance(config.config, dict, configId)
        data = yield second.fetchConfig("ME3_DATA")
        self.assertIn("GAW_SERVER_BASE_URL", data.config)
        unknown = yield second.fetchConfig("NO_SUCH_CONFIG")
        self.assertEqual(unknown.config, {})
        pong = yield second.ping()
        self.assertGreater(pong.serverTime, 1_600_000_000)
        yield second.updateNetworkInfo()
        yield second.logout()
        error = yield self.assertFailure(second.postAuth(), BlazeError)
        self.assertEqual(error.code, GlobalError.AUTHENTICATION_REQUIRED)

    @defer.inlineCallbacks
    def test_loginErrors(self) -> Any:
        """
        Unknown email, wrong password, invalid email, existing email and a
        bad token each get their own error code.
        """
        client = yield self.server.connect()
        self.disconnectLater(client)
        yield client.preAuth()
        yield client.createAccount("liara@example.org", "shadowbroker")
        yield client.logout()
        for call, code in (
            (lambda: client.login("nobody@example.org", "x"), AuthError.INVALID_USER),
            (lambda: client.login("liara@example.org", "wrong"), AuthError.INVALID_PASSWORD),
            (lambda: client.login("not-an-email", "x"), AuthError.INVALID_EMAIL),
            (lambda: client.createAccount("LIARA@example.org", "y"), AuthError.EXISTS),
            (lambda: client.silentLogin("garbage.token"), AuthError.INVALID_TOKEN),
        ):
            error = yield self.assertFailure(call(), BlazeError)
            self.assertEqual(error.code, code)
        logged = yield client.login("liara@example.org", "shadowbroker")
        self.assertTrue(logged.userId)

    @defer.inlineCallbacks
    def test_oneSessionPerAccount(self) -> Any:
        """
        Logging in on a second connection closes the first.
        """
        first = yield self.server.connect()
        self.disconnectLater(first)
        yield first.preAuth()
        created = yield first.createAccount("garrus@example.org", "calibrations")
        second = yield self.server.connect()
        self.disconnectLater(second)
        yield second.preAuth()
        yield second.silentLogin(created.sessionKey)
        for _ in range(50):
            if first.lost:
                break
            yield sleep(0.02)
        self.assertTrue(first.lost, "the first session was not closed")
        self.assertEqual(len(self.server.hub.online), 1)

    @defer.inlineCallbacks
    def test_badInputKeepsServerUp(self) -> Any:
        """
        A garbage frame closes that connection only; a request before
        preAuth is refused; other sessions keep working.
        """
        healthy = yield self.server.connect()
        self.disconnectLater(healthy)
        yield healthy.preAuth()

        early = yield self.server.connect()
        self.disconnectLater(early)
        error = yield self.assertFailure(early.fetchConfig("ME3_DATA"), BlazeError)
        self.assertEqual(error.code, GlobalError.AUTHENTICATION_REQUIRED)

        broken = yield self.server.connect()
        broken.protocol.transport.write(b"\x00\x04\x00\x09\x00\x02\x00\x00\x70\x00\x00\x01gggg")
        for _ in range(50):
            if broken.lost:
                break
            yield sleep(0.02)
        self.assertTrue(broken.lost)

        garbageBody = yield self.server.connect()
        self.disconnectLater(garbageBody)
        yield garbageBody.preAuth()
        failure = yield self.assertFailure(
            garbageBody.request(Component.UTIL, UtilCommand.FETCH_CLIENT_CONFIG,
                                b"\x8e\x6a\x64\x01\xff\xff\xff\xff\x0f"),
            BlazeError,
        )
        self.assertEqual(failure.code, GlobalError.SYSTEM)

        pong = yield healthy.ping()
        self.assertIsInstance(pong, util.PingResponse)

    @defer.inlineCallbacks
    def test_suspendPing(self) -> Any:
        """
        suspendUserPing is answered with PING_SUSPENDED for 90 s, and the
        size errors otherwise.
        """
        client = yield self.server.connect()
        self.disconnectLater(client)
        yield client.preAuth()
        for value, code in (
            (90_000_000, UtilError.PING_SUSPENDED),
            (1_000_000, UtilError.SUSPEND_PING_TIME_TOO_SMALL),
            (500_000_000, UtilError.SUSPEND_PING_TIME_TOO_LARGE),
        ):
            error = yield self.assertFailure(
                client.request(Component.UTIL, UtilCommand.SUSPEND_USER_PING,
                               util.SuspendUserPingRequest(timeValue=value)),
                BlazeError,
            )
            self.assertEqual(error.code, code)


class HTTPTests(TestCase):
    """
    The plain HTTP routes next to the upgrade.
    """

    timeout = 30

    def setUp(self) -> None:
        self.server = ServerFixture(self)

    @defer.inlineCallbacks
    def test_serverInfo(self) -> Any:
        """
        GET /api/server identifies a Pocket Relay server with a version of
        at least 0.5.0, an association token and the client's address.
        """
        response = yield Agent(reactor).request(b"GET", self.server.url("/api/server"))
        self.assertEqual(response.code, 200)
        info = json.loads((yield readBody(response)))
        self.assertEqual(info["ident"], "POCKET_RELAY_SERVER")
        major, minor, _ = (int(part) for part in info["version"].split("."))
        self.assertGreaterEqual((major, minor), (0, 5))
        self.assertTrue(self.server.hub.signer.verifyAssociation(info["association"]))
        self.assertEqual(info["client_address"], "127.0.0.1")
        self.assertIn("tunnel_port", info)

    @defer.inlineCallbacks
    def test_upgradeRefusedWithoutHeaders(self) -> Any:
        """
        A plain GET of the upgrade route is answered 426 with a reason.
        """
        response = yield Agent(reactor).request(
            b"GET", self.server.url("/api/server/upgrade")
        )
        self.assertEqual(response.code, 426)
        body = yield readBody(response)
        self.assertIn(b"upgrade", body)

    @defer.inlineCallbacks
    def test_legacyHeadersAccepted(self) -> Any:
        """
        The legacy x-pocket-relay-* headers and an x-association token are
        accepted on the upgrade.
        """
        response = yield Agent(reactor).request(b"GET", self.server.url("/api/server"))
        token = json.loads((yield readBody(response)))["association"]
        client = yield self.server.connect({b"x-association": token.encode()})
        yield client.preAuth()
        sessions = list(self.server.hub.sessions.values())
        self.assertEqual([s.association for s in sessions], [token])
        client.disconnect()
        yield sleep(0.05)
