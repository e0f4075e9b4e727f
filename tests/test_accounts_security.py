# -*- test-case-name: tests.test_accounts_security -*-
"""
Regression tests for the account attacks of issue 10: each test replays
an attack (email folding takeover, tokens outliving a password change,
password hashing exhaustion, lock-out, an admin skipping the current
password, unbounded user settings, cross-site bodies, a password on the
command line) and fails without its fix.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any, cast

from twisted.internet import defer
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.logger import formatEvent
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pocketrelay.blaze.ids import (
    AuthenticationCommand,
    AuthError,
    Component,
    GlobalError,
    UtilCommand,
    UtilError,
)
from pocketrelay.me3.messages.auth import (
    CreateAccountParameters,
    LoginRequest,
    SilentLoginRequest,
)
from pocketrelay.me3.messages.util import UserSettingsSaveRequest
from pocketrelay.server.components.util import MAX_SETTINGS_TOTAL, MAX_SETTINGS_VALUE
from pocketrelay.server.config import (
    ConfigError,
    loadSettings,
    readSecretFiles,
    secretWarnings,
)
from pocketrelay.server.security import (
    FairScheduler,
    HashingBusy,
    RevokedToken,
    TokenSigner,
    playerForToken,
    revocationExpiry,
)
from pocketrelay.server.store import PlayerRole, Store
from pocketrelay.server.web.api import ensureSuperAdmin
from pocketrelay.testing.logs import captureLogs
from pocketrelay.testing.server import ServerHarness, resultOf
from pocketrelay.testing.web import HttpResponse, WebHarness

DEFAULT, ADMIN, SUPER = PlayerRole.DEFAULT, PlayerRole.ADMIN, PlayerRole.SUPER_ADMIN
KELVIN = "\u212a"
_AUTH = Component.AUTHENTICATION


class _WebTestCase(TestCase):
    """
    The real site on a real store (see L{WebHarness}).
    """

    settings: dict[str, Any] = {}

    @defer.inlineCallbacks
    def setUp(self) -> Any:  # type: ignore[override]
        self.web = WebHarness(self, **self.settings)
        yield self.web.start()

    def request(self, method: str, path: str, body: Any = None, token: str | None = None,
                peer: str = "127.0.0.1") -> defer.Deferred[HttpResponse]:
        return cast(defer.Deferred[HttpResponse],
                    self.web.request(method, path, body, token=token, peer=peer))

    @defer.inlineCallbacks
    def login(self, email: str, password: str = "password", peer: str = "127.0.0.1") -> Any:
        response = yield self.request("POST", "/api/auth/login",
                                      {"email": email, "password": password}, peer=peer)
        return response

    @defer.inlineCallbacks
    def self_(self, token: str) -> Any:
        response = yield self.request("GET", "/api/players/self", token=token)
        return response


# -- item 1: one canonical email ------------------------------------------------------


class CanonicalEmailWebTests(_WebTestCase):
    """
    The dashboard compares emails in canonical form only.
    """

    @defer.inlineCallbacks
    def test_kelvinRegistration(self) -> Any:
        """
        The attack: registering C{Kate@kiwi.example} with a KELVIN SIGN
        while the super admin is C{kate@kiwi.example} is refused as a
        taken address; the super admin stays the only account.
        """
        yield self.web.createPlayer("kate@kiwi.example", SUPER)
        response = yield self.request("POST", "/api/auth/create", {
            "username": "mallory", "email": f"{KELVIN}ate@kiwi.example", "password": "p"})
        self.assertEqual(response.code, 409)
        _, total = yield self.web.store.listPlayers(0, 10)
        self.assertEqual(total, 1)

    @defer.inlineCallbacks
    def test_variants(self) -> Any:
        """
        Full-width letters, mixed case and C{ß} for C{ss} name the existing
        account (409); a dotless i (U+0131) or a dotted capital I (U+0130) is refused
        as an address (400).
        """
        yield self.web.createPlayer("kate@kiwi.example")
        yield self.web.createPlayer("strasse@kiwi.example")
        for email, code in [
            ("\uff4b\uff41\uff54\uff45@kiwi.example", 409),
            ("KaTe@KIWI.example", 409),
            ("stra\u00dfe@kiwi.example", 409),
            ("k\u0131te@kiwi.example", 400),
            ("\u0130nci@kiwi.example", 400),
        ]:
            response = yield self.request("POST", "/api/auth/create", {
                "username": "x", "email": email, "password": "p"})
            self.assertEqual(response.code, code, email)
        _, total = yield self.web.store.listPlayers(0, 10)
        self.assertEqual(total, 2)

    @defer.inlineCallbacks
    def test_changeToVariant(self) -> Any:
        """
        Changing one's address to a spelling of another account's is 409.
        """
        yield self.web.createPlayer("kate@kiwi.example", SUPER)
        _, token = yield self.web.createPlayer("mallory@kiwi.example")
        response = yield self.request("PUT", "/api/players/self/details", {
            "username": "m", "email": f"{KELVIN}ATE@kiwi.example",
            "current_password": "password"}, token=token)
        self.assertEqual(response.code, 409)

    @defer.inlineCallbacks
    def test_loginAnySpelling(self) -> Any:
        """
        Any spelling that folds to the stored address logs in to it.
        """
        kate, _ = yield self.web.createPlayer("kate@kiwi.example")
        response = yield self.login(f"{KELVIN}ATE@kiwi.example")
        self.assertEqual(response.code, 200)
        me = yield self.self_(response.json()["token"])
        self.assertEqual(me.json()["id"], kate.id)


class SuperAdminByAccountTests(_WebTestCase):
    """
    The SuperAdmin role belongs to an account, not to the configured
    address.
    """

    settings = {"dashboard__super_email": "kate@kiwi.example",
                "dashboard__super_password": "secret"}

    def restart(self) -> defer.Deferred[Any]:
        """
        What the server does at each start.
        """
        return ensureSuperAdmin(self.web.store, self.web.passwords, self.web.settings)

    @defer.inlineCallbacks
    def test_takeoverAfterOwnerChange(self) -> Any:
        """
        The super admin changes their address; a player who then takes
        the configured address by changing theirs is not SuperAdmin, also
        not after a restart, and the owner still is.
        """
        kate = yield self.restart()
        self.assertEqual(kate.role, SUPER)
        kateToken = (yield self.login("kate@kiwi.example", "secret")).json()["token"]
        changed = yield self.request("PUT", "/api/players/self/details", {
            "username": "kate", "email": "kate2@kiwi.example",
            "current_password": "secret"}, token=kateToken)
        self.assertEqual(changed.code, 200)
        mallory, malloryToken = yield self.web.createPlayer("mallory@kiwi.example")
        taken = yield self.request("PUT", "/api/players/self/details", {
            "username": "m", "email": "Kate@kiwi.example",
            "current_password": "password"}, token=malloryToken)
        self.assertEqual((taken.code, taken.json()["role"]), (200, "Default"))
        yield self.restart()
        stored = yield self.web.store.getPlayer(mallory.id)
        self.assertEqual((stored.email, stored.role), ("kate@kiwi.example", DEFAULT))
        log = yield self.request("GET", "/api/server/log", token=taken.json()["token"])
        self.assertEqual(log.code, 403)
        owner = yield self.web.store.getPlayer(kate.id)
        self.assertEqual(owner.role, SUPER)

    @defer.inlineCallbacks
    def test_registerAfterOwnerChange(self) -> Any:
        """
        Registering the configured address once its owner left it gives a
        Default account, also after a restart.
        """
        kate = yield self.restart()
        yield self.web.store.updatePlayer(kate.id, email="kate2@kiwi.example")
        created = yield self.request("POST", "/api/auth/create", {
            "username": "m", "email": "kate@kiwi.example", "password": "p"})
        token = created.json()["token"]
        yield self.restart()
        me = yield self.self_(token)
        self.assertEqual(me.json()["role"], "Default")


class AdminToolTests(SynchronousTestCase):
    """
    C{pocketrelay-admin super-admin} uses the canonical form and revokes
    tokens when it sets a password.
    """

    def test_superAdmin(self) -> None:
        """
        A KELVIN SIGN spelling names the account created with the plain
        address (no second account); a new password raises its token
        floor.
        """
        import sqlite3

        from pocketrelay.admin import setSuperAdmin
        from pocketrelay.testing.server import tinyHasher

        path = FilePath(self.mktemp())
        path.makedirs()
        database = path.child("app.db").path
        first = setSuperAdmin(database, "kate@kiwi.example", "one", None, tinyHasher(), 1000)
        again = setSuperAdmin(database, f"{KELVIN}ATE@kiwi.example", "two", None,
                              tinyHasher(), 2000)
        self.assertEqual((again.playerId, again.created, again.email),
                         (first.playerId, False, "kate@kiwi.example"))
        connection = sqlite3.connect(database)
        self.addCleanup(connection.close)
        rows = connection.execute("SELECT email, token_min_expiry FROM players").fetchall()
        self.assertEqual(rows, [("kate@kiwi.example", revocationExpiry(2000))])

    def test_promotionRevokes(self) -> None:
        """
        Promoting an account without a password option still revokes its
        earlier tokens (a role change); running it again on a SuperAdmin
        without a password changes no role and revokes nothing.
        """
        import sqlite3

        from pocketrelay.admin import setSuperAdmin
        from pocketrelay.testing.server import tinyHasher

        path = FilePath(self.mktemp())
        path.makedirs()
        database = path.child("app.db").path
        setSuperAdmin(database, "kate@kiwi.example", "one", None, tinyHasher(), 1000)
        connection = sqlite3.connect(database)
        self.addCleanup(connection.close)
        connection.execute("UPDATE players SET role = 0, token_min_expiry = 0")
        connection.commit()
        setSuperAdmin(database, "kate@kiwi.example", None, None, tinyHasher(), 2000)
        setSuperAdmin(database, "kate@kiwi.example", None, None, tinyHasher(), 3000)
        rows = connection.execute("SELECT role, token_min_expiry FROM players").fetchall()
        self.assertEqual(rows, [(2, revocationExpiry(2000))])


class AdminToolWhileRunningTests(SynchronousTestCase):
    """
    C{pocketrelay-admin super-admin} on the database of a running server.
    """

    def test_promotionRevokesAtOnce(self) -> None:
        """
        Promoting a logged-in player without a new password revokes their
        earlier tokens: the running server refuses them at once (as the
        dashboard and Galaxy at War check them) and the game session gets
        no fresh token from getAuthToken: it is closed.
        """
        from twisted.internet.task import Clock

        from pocketrelay.admin import setSuperAdmin
        from pocketrelay.testing.server import DEFAULT_NOW, SynchronousStore, tinyHasher

        path = FilePath(self.mktemp())
        path.makedirs()
        clock = Clock()
        clock.advance(DEFAULT_NOW)
        store = SynchronousStore(path.child("app.db").path, clock)
        resultOf(store.start())
        self.addCleanup(store.stop)
        server = ServerHarness(path.child("data"), store=store, clock=clock)
        connection = server.loggedIn("kate@kiwi.example")
        kate = resultOf(server.store.getPlayerByEmail("kate@kiwi.example"))
        assert kate is not None
        old = server.signer.issueFor(kate)
        clock.advance(5)
        result = setSuperAdmin(store.path, "kate@kiwi.example", None, None,
                               tinyHasher(), clock.seconds())
        self.assertEqual(result.playerId, kate.id)
        failure = self.failureResultOf(playerForToken(server.signer, store, old))
        failure.trap(RevokedToken)
        self.assertEqual(connection.error(_AUTH, AuthenticationCommand.GET_AUTH_TOKEN),
                         GlobalError.AUTHENTICATION_REQUIRED)
        self.assertTrue(connection.transport.disconnecting)


class CanonicalEmailBlazeTests(SynchronousTestCase):
    """
    Blaze createAccount and login use the same canonical form.
    """

    def setUp(self) -> None:
        self.server = ServerHarness(FilePath(self.mktemp()))
        self.server.createPlayer("kate@kiwi.example", role=SUPER)
        self.server.createPlayer("strasse@kiwi.example")

    def create(self, email: str) -> int:
        connection = self.server.connect(preAuth=True)
        frame = connection.request(_AUTH, AuthenticationCommand.CREATE_ACCOUNT,
                                   CreateAccountParameters(email=email, password="p"))
        return frame.error

    def test_createAccount(self) -> None:
        """
        The attack through the game: the KELVIN SIGN, full-width, mixed
        case and C{ß} spellings are EXISTS; a dotless i (U+0131) is INVALID_EMAIL;
        no account is made.
        """
        for email, error in [
            (f"{KELVIN}ate@kiwi.example", AuthError.EXISTS),
            ("\uff4b\uff41\uff54\uff45@kiwi.example", AuthError.EXISTS),
            ("KATE@kiwi.EXAMPLE", AuthError.EXISTS),
            ("stra\u00dfe@kiwi.example", AuthError.EXISTS),
            ("k\u0131te@kiwi.example", AuthError.INVALID_EMAIL),
        ]:
            self.assertEqual(self.create(email), error, email)
        _, total = resultOf(self.server.store.listPlayers(0, 10))
        self.assertEqual(total, 2)

    def test_login(self) -> None:
        """
        A folded spelling logs in to the account it folds to.
        """
        connection = self.server.connect(preAuth=True)
        response = connection.login(f"{KELVIN}ate@kiwi.example", "password")
        kate = resultOf(self.server.store.getPlayerByEmail("kate@kiwi.example"))
        assert kate is not None
        self.assertEqual(response.userId, kate.id)


# -- item 3: revocable tokens ------------------------------------------------------------


class TokenRevocationTests(_WebTestCase):
    """
    A password change, a role change and "log out everywhere" revoke the
    account's earlier tokens.
    """

    @defer.inlineCallbacks
    def assertRevoked(self, token: str) -> Any:
        response = yield self.self_(token)
        self.assertEqual(response.code, 401)
        self.assertIn("revoked", response.text)

    @defer.inlineCallbacks
    def test_ownPasswordChange(self) -> Any:
        """
        After changing one's password, the tokens issued before (also in
        the same second) are refused; the answer's new token works.
        """
        _, old = yield self.web.createPlayer("tali@example.org")
        response = yield self.request("PUT", "/api/players/self/password", {
            "current_password": "password", "new_password": "rannoch"}, token=old)
        self.assertEqual(response.code, 200)
        yield self.assertRevoked(old)
        fresh = yield self.self_(response.json()["token"])
        self.assertEqual(fresh.code, 200)

    @defer.inlineCallbacks
    def test_adminSetsPassword(self) -> Any:
        """
        An admin setting a player's password revokes the player's tokens,
        also for Galaxy at War and the game's silent login.
        """
        player, old = yield self.web.createPlayer("tali@example.org")
        _, admin = yield self.web.createPlayer("admin@example.org", ADMIN)
        response = yield self.request("PUT", f"/api/players/{player.id}/password",
                                      {"password": "new"}, token=admin)
        self.assertEqual(response.code, 200)
        yield self.assertRevoked(old)
        gaw = yield self.request("GET", f"/galaxyatwar/getRatings/{old}")
        self.assertIn(b"ERR_AUTHENTICATION_REQUIRED", gaw.body)
        stored = yield self.web.store.getPlayer(player.id)
        self.assertGreater(stored.tokenMinExpiry, 0)

    @defer.inlineCallbacks
    def test_roleChange(self) -> Any:
        """
        A role change revokes the player's earlier tokens.
        """
        player, old = yield self.web.createPlayer("tali@example.org")
        _, boss = yield self.web.createPlayer("boss@example.org", SUPER)
        response = yield self.request("PUT", f"/api/players/{player.id}/role",
                                      {"role": "Admin"}, token=boss)
        self.assertEqual(response.code, 200)
        yield self.assertRevoked(old)

    @defer.inlineCallbacks
    def test_logoutEverywhere(self) -> Any:
        """
        POST /players/self/logout revokes every token of the caller, ends
        its game session, and a new login right after works.
        """
        player, old = yield self.web.createPlayer("tali@example.org")
        protocol = self.web.hub.buildProtocol("127.0.0.1")
        transport = StringTransport()
        protocol.makeConnection(transport)
        self.addCleanup(protocol.connectionLost, Failure(ConnectionDone()))
        self.web.hub.bindPlayer(cast(Any, protocol).dispatcher, player)
        response = yield self.request("POST", "/api/players/self/logout", token=old)
        self.assertEqual(response.code, 200)
        yield self.assertRevoked(old)
        self.assertTrue(transport.disconnecting)
        again = yield self.login("tali@example.org")
        me = yield self.self_(again.json()["token"])
        self.assertEqual(me.code, 200)

    @defer.inlineCallbacks
    def test_emailChangeNeedsPassword(self) -> Any:
        """
        The attack: with a stolen token alone, changing the account's email
        (to lock its owner out) is refused: 400 without the current
        password, 403 with a wrong one; the email stays.  A new display
        name alone needs no password.
        """
        player, stolen = yield self.web.createPlayer("tali@example.org")
        for extra, code in [({}, 400), ({"current_password": "guess"}, 403)]:
            response = yield self.request("PUT", "/api/players/self/details", {
                "username": "thief", "email": "thief@example.org", **extra},
                token=stolen)
            self.assertEqual(response.code, code, extra)
        stored = yield self.web.store.getPlayer(player.id)
        self.assertEqual((stored.email, stored.displayName), ("tali@example.org", "tali"))
        renamed = yield self.request("PUT", "/api/players/self/details", {
            "username": "Tali'Zorah", "email": "TALI@example.org"}, token=stolen)
        self.assertEqual((renamed.code, renamed.json()["display_name"]),
                         (200, "Tali'Zorah"))
        self.assertNotIn("token", renamed.json())
        me = yield self.self_(stolen)
        self.assertEqual(me.code, 200)

    @defer.inlineCallbacks
    def test_emailChangeRevokes(self) -> Any:
        """
        Changing one's email with the current password (on
        /players/self/details and on /players/{own id}/details) revokes the
        account's earlier tokens, also for Galaxy at War; the answer's new
        token works.
        """
        player, old = yield self.web.createPlayer("tali@example.org", ADMIN)
        for path, email in [("self", "tali@rannoch.example"),
                            (str(player.id), "tali@neema.example")]:
            response = yield self.request("PUT", f"/api/players/{path}/details", {
                "username": "tali", "email": email, "current_password": "password"},
                token=old)
            self.assertEqual((response.code, response.json()["email"]), (200, email))
            yield self.assertRevoked(old)
            gaw = yield self.request("GET", f"/galaxyatwar/getRatings/{old}")
            self.assertIn(b"ERR_AUTHENTICATION_REQUIRED", gaw.body)
            old = response.json()["token"]
            fresh = yield self.self_(old)
            self.assertEqual(fresh.code, 200)
            # A revocation cuts off the tokens issued in earlier seconds.
            self.web.clock.advance(1)

    @defer.inlineCallbacks
    def test_adminChangesOthersEmail(self) -> Any:
        """
        An admin changes another player's email without a password of
        either account, as before.
        """
        player, _ = yield self.web.createPlayer("tali@example.org")
        _, admin = yield self.web.createPlayer("admin@example.org", ADMIN)
        response = yield self.request("PUT", f"/api/players/{player.id}/details", {
            "username": "tali", "email": "tali@rannoch.example"}, token=admin)
        self.assertEqual((response.code, response.json()["email"]),
                         (200, "tali@rannoch.example"))

    @defer.inlineCallbacks
    def test_floorNeverLowers(self) -> Any:
        """
        A smaller token floor does not undo a revocation.
        """
        player, _ = yield self.web.createPlayer("tali@example.org")
        yield self.web.store.updatePlayer(player.id, tokenMinExpiry=500)
        stored = yield self.web.store.updatePlayer(player.id, tokenMinExpiry=100)
        self.assertEqual(stored.tokenMinExpiry, 500)

    @defer.inlineCallbacks
    def test_survivesRestart(self) -> Any:
        """
        The revocation is stored: a new store on the same file still
        refuses the old token.
        """
        _, old = yield self.web.createPlayer("tali@example.org")
        yield self.request("POST", "/api/players/self/logout", token=old)
        from twisted.internet import reactor

        reopened = Store(self.web.store.path, reactor)
        yield reopened.start()
        self.addCleanup(reopened.stop)
        d = playerForToken(self.web.signer, reopened, old)
        yield self.assertFailure(d, RevokedToken)


class TokenRevocationBlazeTests(SynchronousTestCase):
    """
    The game's token logins honour revocations.
    """

    def test_silentLogin(self) -> None:
        """
        A token issued before a revocation is INVALID_TOKEN for
        silentLogin; one issued after it (same second) logs in.
        """
        server = ServerHarness(FilePath(self.mktemp()))
        player = server.createPlayer("tali@example.org")
        old = server.signer.issueFor(player)
        revoked = resultOf(server.store.updatePlayer(
            player.id, tokenMinExpiry=revocationExpiry(server.clock.seconds())))
        assert revoked is not None
        connection = server.connect(preAuth=True)
        self.assertEqual(connection.error(_AUTH, AuthenticationCommand.SILENT_LOGIN,
                                          SilentLoginRequest(authToken=old)),
                         AuthError.INVALID_TOKEN)
        fresh = server.signer.issueFor(revoked)
        frame = connection.request(_AUTH, AuthenticationCommand.SILENT_LOGIN,
                                   SilentLoginRequest(authToken=fresh))
        self.assertEqual(frame.error, 0)

    def test_tokenFormat(self) -> None:
        """
        Tokens keep the Rust format (id and expiry); a revoked account's
        new tokens expire one second later than usual, no earlier.
        """
        from twisted.internet.task import Clock

        clock = Clock()
        clock.advance(1_000_000)
        signer = TokenSigner(b"k" * 64, clock)
        floor = revocationExpiry(clock.seconds())
        _, plain = signer.readToken(signer.issueToken(7))
        _, bumped = signer.readToken(signer.issueToken(7, minExpiry=floor))
        self.assertEqual((plain, bumped), (floor - 1, floor))


# -- items 5, 10, 11: password checks ----------------------------------------------------------


class FairSchedulerTests(SynchronousTestCase):
    """
    L{FairScheduler}: bounded queues, served round robin per client.
    """

    def setUp(self) -> None:
        self.started: list[tuple[str, defer.Deferred[Any]]] = []

    def runJob(self, work: Any) -> defer.Deferred[Any]:
        d: defer.Deferred[Any] = defer.Deferred()
        self.started.append((work(), d))
        return d

    def test_fair(self) -> None:
        """
        An attacker's queued jobs do not delay a victim's: the victim's
        job runs next after the attacker's running one.
        """
        scheduler = FairScheduler(self.runJob, concurrency=1, perClient=4, total=100)
        for i in range(5):
            scheduler.submit("attacker", partial(str, f"a{i}"))
        scheduler.submit("victim", lambda: "v")
        self.assertEqual([name for name, _ in self.started], ["a0"])
        self.started[0][1].callback(None)
        self.assertEqual([name for name, _ in self.started], ["a0", "v"])

    def test_perClientBound(self) -> None:
        """
        A client with C{perClient} jobs waiting gets L{HashingBusy} at
        once; another client is still served.
        """
        scheduler = FairScheduler(self.runJob, concurrency=1, perClient=2, total=100)
        for _ in range(3):
            scheduler.submit("attacker", lambda: "a")
        busy = self.failureResultOf(scheduler.submit("attacker", lambda: "a"), HashingBusy)
        self.assertTrue(busy.value.perClient)
        self.assertNoResult(scheduler.submit("victim", lambda: "v"))
        self.assertEqual(scheduler.waiting, 3)

    def test_totalBound(self) -> None:
        """
        All clients together have at most C{total} jobs waiting.
        """
        scheduler = FairScheduler(self.runJob, concurrency=1, perClient=5, total=2)
        for client in ("a", "b", "c"):
            scheduler.submit(client, lambda: "x")
        busy = self.failureResultOf(scheduler.submit("d", lambda: "x"), HashingBusy)
        self.assertFalse(busy.value.perClient)

    def test_oneRunningPerClient(self) -> None:
        """
        A client with many jobs queued runs one at a time, so with two
        slots another client's job starts at once.
        """
        scheduler = FairScheduler(self.runJob, concurrency=2, perClient=4, total=100)
        for i in range(4):
            scheduler.submit("attacker", partial(str, f"a{i}"))
        self.assertEqual([name for name, _ in self.started], ["a0"])
        scheduler.submit("victim", lambda: "v")
        self.assertEqual([name for name, _ in self.started], ["a0", "v"])

    def test_perAddressSetting(self) -> None:
        """
        L{Passwords.perAddress} bounds each address's queue as configured;
        0 (the load-test setting) lets one address use every thread and
        the whole queue.
        """
        from pocketrelay.server.limits import LOAD_TEST_SETTINGS
        from pocketrelay.server.security import DEFAULT_HASH_QUEUE, Passwords
        from pocketrelay.testing.server import SynchronousThreads

        threads = cast(Any, SynchronousThreads())
        bounded = Passwords.perAddress(threads, None, 4, 2).scheduler
        self.assertEqual((bounded.perClient, bounded.runningPerClient), (4, 1))
        free = Passwords.perAddress(threads, None, 0, 2).scheduler
        self.assertEqual((free.perClient, free.runningPerClient), (DEFAULT_HASH_QUEUE, 2))
        self.assertIn(("limits.password_queue_per_address", "0"), LOAD_TEST_SETTINGS)

    def test_results(self) -> None:
        """
        Each job's result (or failure) reaches its own Deferred.
        """
        scheduler = FairScheduler(self.runJob, concurrency=2)
        ok = scheduler.submit("a", lambda: "x")
        failed = scheduler.submit("b", lambda: "y")
        self.started[0][1].callback(42)
        self.started[1][1].errback(ValueError("boom"))
        self.assertEqual(self.successResultOf(ok), 42)
        self.failureResultOf(failed, ValueError)
        self.assertEqual(scheduler.running, 0)


class PasswordRouteLimitTests(_WebTestCase):
    """
    Every route that checks a password is rate limited, and a full
    hashing queue is answered 429.
    """

    @defer.inlineCallbacks
    def test_deleteSelfLimited(self) -> Any:
        """
        The attack: DELETE /players/self with wrong passwords is refused
        429 after the login burst, before any hashing.
        """
        _, token = yield self.web.createPlayer("tali@example.org")
        codes = []
        for _ in range(7):
            response = yield self.request("DELETE", "/api/players/self",
                                          {"password": "wrong"}, token=token)
            codes.append(response.code)
        self.assertEqual(codes, [403] * 5 + [429] * 2)

    @defer.inlineCallbacks
    def assertSixthLimited(self, path: str, body: dict[str, str]) -> Any:
        """
        Six PUTs of C{body} with a wrong current password: five are 403,
        the sixth 429.
        """
        _, token = yield self.web.createPlayer("tali@example.org")
        codes = []
        for _ in range(6):
            response = yield self.request("PUT", path, body, token=token)
            codes.append(response.code)
        self.assertEqual(codes, [403] * 5 + [429])

    def test_setOwnPasswordLimited(self) -> Any:
        """
        PUT /players/self/password is limited the same way.
        """
        return self.assertSixthLimited(
            "/api/players/self/password", {"current_password": "wrong", "new_password": "x"})

    def test_emailChangeLimited(self) -> Any:
        """
        Guessing the current password through an email change on
        PUT /players/self/details is limited as a login.
        """
        return self.assertSixthLimited(
            "/api/players/self/details",
            {"username": "t", "email": "x@example.org", "current_password": "wrong"})

    @defer.inlineCallbacks
    def test_queueFull(self) -> Any:
        """
        With the client's hashing queue full, a password check is answered
        429 at once instead of waiting.
        """
        _, token = yield self.web.createPlayer("tali@example.org")
        self.web.passwords.scheduler = FairScheduler(
            lambda work: defer.Deferred(), concurrency=1, perClient=1, total=10)
        body = json.dumps({"password": "wrong"}).encode()
        raw = (f"DELETE /api/players/self HTTP/1.1\r\nHost: x\r\nX-Token: {token}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
               ).encode() + body
        for _ in range(2):
            self.web.send(raw)
        yield defer.succeed(None)
        for _ in range(100):
            if self.web.passwords.scheduler.waiting == 1:
                break
            from twisted.internet import reactor, task

            yield task.deferLater(reactor, 0.002, lambda: None)
        response = yield self.request("DELETE", "/api/players/self", {"password": "wrong"},
                                      token=token)
        self.assertEqual(response.code, 429)
        self.assertEqual(response.header("retry-after"), "1")


class RefusalDelayTests(_WebTestCase):
    """
    429 answers are held for limits.refusal_delay seconds.
    """

    settings = {"limits__refusal_delay": 1.0}

    @defer.inlineCallbacks
    def test_held(self) -> Any:
        """
        A flood of refused password checks on one connection gets one
        answer per delay, not one per request: the 429 comes only once
        the hub's clock has advanced by the delay.
        """
        _, token = yield self.web.createPlayer("tali@example.org")
        for _ in range(5):
            response = yield self.request("DELETE", "/api/players/self",
                                          {"password": "wrong"}, token=token)
            self.assertEqual(response.code, 403)
        body = json.dumps({"password": "wrong"}).encode()
        raw = (f"DELETE /api/players/self HTTP/1.1\r\nHost: x\r\nX-Token: {token}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
               ).encode() + body
        _, transport = self.web.send(raw)
        from twisted.internet import reactor, task

        for _ in range(20):
            yield task.deferLater(reactor, 0.005, lambda: None)
        self.assertEqual(transport.value(), b"")
        self.web.clock.advance(1.0)
        for _ in range(200):
            if transport.value():
                break
            yield task.deferLater(reactor, 0.005, lambda: None)
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 429 "), transport.value())


class OwnPasswordTests(_WebTestCase):
    """
    Item 11: one's own password needs the current one on every route.
    """

    @defer.inlineCallbacks
    def test_adminOwnIdRoute(self) -> Any:
        """
        The attack: an admin (or super admin) setting their own password
        through /players/{own id}/password without current_password is
        400, with a wrong one 403; the password is unchanged.  With the
        right one it changes.
        """
        for role, email, peer in ((ADMIN, "admin@example.org", "198.51.100.1"),
                                  (SUPER, "boss@example.org", "198.51.100.2")):
            player, token = yield self.web.createPlayer(email, role)
            path = f"/api/players/{player.id}/password"
            missing = yield self.request("PUT", path, {"password": "stolen"}, token=token,
                                         peer=peer)
            wrong = yield self.request("PUT", path, {
                "password": "stolen", "current_password": "guess"}, token=token, peer=peer)
            self.assertEqual((missing.code, wrong.code), (400, 403))
            self.assertEqual((yield self.login(email, peer=peer)).code, 200)
            right = yield self.request("PUT", path, {
                "password": "new", "current_password": "password"}, token=token, peer=peer)
            self.assertEqual(right.code, 200)
            self.assertEqual((yield self.login(email, "new", peer=peer)).code, 200)


class LockoutTests(SynchronousTestCase):
    """
    Item 10: strangers' wrong logins do not lock the owner out.
    """

    def login(self, server: ServerHarness, peer: str, password: str) -> int:
        connection = server.connect(peer, preAuth=True)
        frame = connection.request(_AUTH, AuthenticationCommand.LOGIN,
                                   LoginRequest(email="tali@example.org", password=password))
        return frame.error

    def test_fiveAddresses(self) -> None:
        """
        The attack, with the default limits: five wrong logins from each
        of five addresses; the owner, from an address never used, still
        logs in with the right password.
        """
        server = ServerHarness(FilePath(self.mktemp()), [
            ("limits.login_rate", 10.0), ("limits.login_email_rate", 0.5)])
        server.createPlayer("tali@example.org")
        for i in range(5):
            for _ in range(5):
                self.assertEqual(self.login(server, f"198.51.100.{i}", "wrong"),
                                 AuthError.INVALID_PASSWORD)
        self.assertEqual(self.login(server, "203.0.113.50", "password"), 0)

    def test_knownAddress(self) -> None:
        """
        Once the per-email fallback is exhausted by strangers, a new
        address is refused (TIMEOUT) but an address the owner logged in
        from still logs in.
        """
        server = ServerHarness(FilePath(self.mktemp()), [
            ("limits.login_email_rate", 1.0), ("limits.login_email_burst", 3)])
        server.createPlayer("tali@example.org")
        self.assertEqual(self.login(server, "203.0.113.50", "password"), 0)
        codes = [self.login(server, f"198.51.100.{i}", "wrong") for i in range(4)]
        self.assertEqual(codes, [AuthError.INVALID_PASSWORD] * 2 + [GlobalError.TIMEOUT] * 2)
        self.assertEqual(self.login(server, "203.0.113.99", "password"), GlobalError.TIMEOUT)
        self.assertEqual(self.login(server, "203.0.113.50", "password"), 0)

    def test_perPair(self) -> None:
        """
        One stranger address over its limit for the account does not
        refuse another address.
        """
        server = ServerHarness(FilePath(self.mktemp()), [
            ("limits.login_rate", 10.0), ("limits.login_burst", 3)])
        server.createPlayer("tali@example.org")
        codes = [self.login(server, "198.51.100.1", "wrong") for _ in range(4)]
        self.assertEqual(codes[-1], GlobalError.TIMEOUT)
        self.assertEqual(self.login(server, "203.0.113.50", "password"), 0)


class KnownLoginsTests(SynchronousTestCase):
    """
    L{KnownLogins} remembers few addresses per account, for a while.
    """

    def test_bounds(self) -> None:
        """
        An address is known for C{lifetime} seconds after a login (under
        any spelling of the email); each account keeps its most recent
        C{perAccount} addresses and at most C{maxAccounts} accounts are
        kept.
        """
        from twisted.internet.task import Clock

        from pocketrelay.server.limits import KnownLogins

        clock = Clock()
        known = KnownLogins(clock, lifetime=100, perAccount=2, maxAccounts=2)
        for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
            known.add("Tali@example.org", address)
        self.assertEqual([known.known("TALI@EXAMPLE.ORG", a)
                          for a in ("10.0.0.1", "10.0.0.2", "10.0.0.3")],
                         [False, True, True])
        clock.advance(100)
        self.assertFalse(known.known("tali@example.org", "10.0.0.3"))
        known.add("a@example.org", "10.0.0.9")
        known.add("b@example.org", "10.0.0.9")
        self.assertEqual(len(known), 2)
        self.assertFalse(known.known("tali@example.org", "10.0.0.2"))


class DashboardLockoutTests(_WebTestCase):
    """
    Item 10 through the dashboard.
    """

    @defer.inlineCallbacks
    def test_fiveAddresses(self) -> Any:
        """
        Five wrong logins from five addresses do not give the owner 429.
        """
        yield self.web.createPlayer("tali@example.org")
        for i in range(5):
            response = yield self.login("tali@example.org", "wrong", peer=f"198.51.100.{i}")
            self.assertEqual(response.code, 401)
        response = yield self.login("tali@example.org", peer="203.0.113.50")
        self.assertEqual(response.code, 200)


# -- item 12 -----------------------------------------------------------------------------


class ContentTypeTests(_WebTestCase):
    """
    JSON routes refuse bodies that are not declared application/json.
    """

    def raw(self, contentType: str | None) -> bytes:
        body = json.dumps({"email": "tali@example.org", "password": "password"}).encode()
        head = ["POST /api/auth/login HTTP/1.1", "Host: x", "Connection: close",
                f"Content-Length: {len(body)}"]
        if contentType is not None:
            head.append(f"Content-Type: {contentType}")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    @defer.inlineCallbacks
    def test_crossSiteTypes(self) -> Any:
        """
        The attack: a cross-site "simple" request (text/plain, a form
        type, or none) is 415 (a body that is not multipart under a
        multipart type is already 400 from twisted.web); application/json
        with a charset is served.
        """
        yield self.web.createPlayer("tali@example.org")
        for contentType, codes in [
            ("text/plain", {415}),
            ("application/x-www-form-urlencoded", {415}),
            ("multipart/form-data; boundary=x", {400, 415}),
            (None, {415}),
            ("Application/JSON; charset=utf-8", {200}),
        ]:
            response = yield self.web.request("POST", "/api/auth/login",
                                               raw=self.raw(contentType))
            self.assertIn(response.code, codes, contentType)

    def test_dashboardSendsJson(self) -> None:
        """
        The built-in dashboard declares every body it sends as JSON.
        """
        source = FilePath(__file__).parent().parent().descendant(
            ["pocketrelay", "server", "web", "dashboard", "api.js"]).getContent().decode()
        self.assertIn('headers["Content-Type"] = "application/json";', source)


class UserSettingsCapTests(SynchronousTestCase):
    """
    userSettingsSave is capped per value and per account.
    """

    def setUp(self) -> None:
        self.server = ServerHarness(FilePath(self.mktemp()))
        self.connection = self.server.loggedIn("tali@example.org")
        self.player = self.connection.session.player

    def save(self, key: str, data: str) -> int:
        frame = self.connection.request(Component.UTIL, UtilCommand.USER_SETTINGS_SAVE,
                                        UserSettingsSaveRequest(data=data, key=key))
        return frame.error

    def stored(self) -> int:
        assert self.player is not None
        data = resultOf(self.server.store.getPlayerData(self.player.id))
        return sum(len(value.encode()) for value in data.values())

    def test_valueCap(self) -> None:
        """
        A value over L{MAX_SETTINGS_VALUE} bytes is refused with
        USS_TOO_MANY_KEYS and not stored.
        """
        self.assertEqual(self.save("Base", "x" * (MAX_SETTINGS_VALUE + 1)),
                         UtilError.USS_TOO_MANY_KEYS)
        self.assertEqual(self.stored(), 0)

    def test_accountCap(self) -> None:
        """
        The attack: many large keys from one free account stop at
        L{MAX_SETTINGS_TOTAL}; replacing a key within the cap still works.
        """
        codes = [self.save(f"key{i}", "x" * MAX_SETTINGS_VALUE) for i in range(10)]
        limit = MAX_SETTINGS_TOTAL // MAX_SETTINGS_VALUE
        self.assertEqual(codes, [0] * limit + [UtilError.USS_TOO_MANY_KEYS] * (10 - limit))
        self.assertLessEqual(self.stored(), MAX_SETTINGS_TOTAL)
        self.assertEqual(self.save("key0", "small"), 0)

    def test_gameProfileFits(self) -> None:
        """
        A profile the size the game writes (Base, 6 classes, 66 kits and
        the challenge keys, tens of KiB) is stored.
        """
        keys = {"Base": 1400, "Progress": 9000, "Completion": 9000, "cscompletion": 4000,
                "cstimestamps": 9000, "cstimestamps2": 9000, "cstimestamps3": 9000,
                **{f"class{i}": 60 for i in range(1, 7)},
                **{f"char{i}": 600 for i in range(66)}}
        for key, size in keys.items():
            self.assertEqual(self.save(key, "1" * size), 0, key)


class SuperPasswordSourceTests(SynchronousTestCase):
    """
    dashboard.super_password from a file, and a warning (without the
    value) when it is given on the command line.
    """

    def test_fromFile(self) -> None:
        """
        dashboard.super_password_file gives the password (its first line).
        """
        path = FilePath(self.mktemp())
        path.setContent(b"s3cret\nignored\n")
        settings = readSecretFiles(loadSettings(None, {}, [
            ("dashboard.super_password_file", path.path)]))
        self.assertEqual(settings["dashboard.super_password"], "s3cret")

    def test_fileErrors(self) -> None:
        """
        A missing or empty file stops the start with a message naming the
        file.
        """
        empty = FilePath(self.mktemp())
        empty.setContent(b"")
        for path in (self.mktemp(), empty.path):
            settings = loadSettings(None, {}, [("dashboard.super_password_file", path)])
            error = self.assertRaises(ConfigError, readSecretFiles, settings)
            self.assertIn(path, str(error))

    def test_commandLineWarning(self) -> None:
        """
        The attack: --set dashboard.super_password shows in ps.  It is
        warned about, once, without the value; the environment is not.
        """
        fromCommandLine = loadSettings(None, {}, [("dashboard.super_password", "s3cret")])
        [warning] = secretWarnings(fromCommandLine)
        self.assertIn("dashboard.super_password", warning)
        self.assertNotIn("s3cret", warning)
        fromEnvironment = loadSettings(
            None, {"POCKETRELAY_DASHBOARD_SUPER_PASSWORD": "s3cret"})
        self.assertEqual(secretWarnings(fromEnvironment), [])
        self.assertEqual(fromEnvironment["dashboard.super_password"], "s3cret")

    def test_serverLogsWarning(self) -> None:
        """
        twistd pocketrelay-server logs the warning at start; no log line
        holds the password.
        """
        from twisted.internet import reactor

        from pocketrelay.server import tap

        events = captureLogs(self)
        options = tap.Options()
        options.parseOptions([
            "--listen", "tcp:0:interface=127.0.0.1", "--data-dir", self.mktemp(),
            "--set", "dashboard.super_password=s3cret-value",
        ])
        tap.makeService(options, reactor)
        lines = [formatEvent(event) for event in events]
        self.assertTrue(any("given on the command line" in line for line in lines), lines)
        self.assertFalse(any("s3cret-value" in line for line in lines))
