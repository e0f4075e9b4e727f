# -*- test-case-name: tests.test_web_api -*-
"""
Tests for the JSON API (L{pocketrelay.server.web.api}): the real site on a
real store, requests sent in memory (and a few over loopback).
"""

from __future__ import annotations

import json
from typing import Any, cast

import attrs
from twisted.internet import defer
from twisted.internet import reactor as globalReactor
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.logger import Logger, LogLevel, LogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pocketrelay.blaze import tdf
from pocketrelay.blaze.frames import FrameDecoder
from pocketrelay.blaze.ids import Component, MessagingNotification
from pocketrelay.me3.messages.messaging import ServerMessage, playerObjectId
from pocketrelay.server.store import LeaderboardType, PlayerRole
from pocketrelay.server.web.api import ROUTES, ensureSuperAdmin
from pocketrelay.server.web.api.accounts import (
    CODE_LIFETIME,
    LoginCodes,
    hasPermissionOver,
    isoTime,
    loginCodeMessage,
)
from pocketrelay.server.web.api.openapi import OTHER_ROUTES, SCHEMAS, buildDocument
from pocketrelay.server.web.api.router import MAX_REQUEST_BODY, ApiError
from pocketrelay.server.web.logbuffer import LogBuffer, LogBufferService
from pocketrelay.testing.web import START_TIME as START
from pocketrelay.testing.web import WebHarness

DEFAULT, ADMIN, SUPER = PlayerRole.DEFAULT, PlayerRole.ADMIN, PlayerRole.SUPER_ADMIN

#: The accounts every API test starts with: name -> role.
ACCOUNTS = {
    "default": DEFAULT,
    "default2": DEFAULT,
    "admin": ADMIN,
    "admin2": ADMIN,
    "super": SUPER,
    "victim": DEFAULT,
    "victimAdmin": ADMIN,
    "ghost": DEFAULT,  # deleted in setUp: its token names no account
}

#: A player id that does not exist.
NOBODY = 999_999


class _ApiTestCase(TestCase):
    """
    Starts the site on a fresh store with the L{ACCOUNTS}, each with a
    C{Base} data value and a login token in C{self.tokens}.
    """

    settings: dict[str, Any] = {}

    @defer.inlineCallbacks
    def setUp(self) -> Any:  # type: ignore[override]
        self.web = WebHarness(self, **self.settings)
        yield self.web.start()
        self.players: dict[str, Any] = {}
        self.tokens: dict[str, str | None] = {"none": None, "bad": "not-a-token"}
        for name, role in ACCOUNTS.items():
            player, token = yield self.web.createPlayer(f"{name}@example.com", role)
            self.players[name] = player
            self.tokens[name] = token
            yield self.web.store.setPlayerData(player.id, "Base", f"base of {name}")
        yield self.web.store.deletePlayer(self.players["ghost"].id)
        self.tokens["deleted"] = self.tokens.pop("ghost")
        expired = self.web.signer.issueToken(self.players["default"].id, lifetime=10)
        self.web.clock.advance(11)
        self.tokens["expired"] = expired

    def request(self, method: str, path: str, body: Any = None, caller: str = "none",
                **kwargs: Any) -> defer.Deferred[Any]:
        return self.web.request(method, path, body, token=self.tokens[caller], **kwargs)

    def pid(self, name: str) -> int:
        return NOBODY if name == "nobody" else int(self.players[name].id)

    def startGame(self) -> int:
        """
        A live game hosted by "default" with "default2" in it.
        """
        from pocketrelay.me3.messages.common import (
            IpAddress,
            IpPairAddress,
            NetworkAddressIndex,
            NetworkQosData,
        )
        from pocketrelay.server.games import PlayerInfo

        address = tdf.Choice(NetworkAddressIndex.IP_PAIR, IpPairAddress(
            external=IpAddress.fromString("203.0.113.5", 3659),
            internal=IpAddress.fromString("192.168.1.20", 3659)))
        host = PlayerInfo(self.pid("default"), "default", 1, address,
                          NetworkQosData(natType=1))
        game, _ = self.web.hub.games.create(
            host, {"ME3map": "map2", "ME3privacy": "PUBLIC"}, 0x11F, START + 60)
        self.web.hub.games.join(game.gameId, PlayerInfo(self.pid("default2"), "default2", 2),
                                START + 90)
        return int(game.gameId)


# -- the role x route matrix -----------------------------------------------


@attrs.frozen
class Case:
    """
    One request of the matrix: who calls, about whom, and the status
    expected.
    """

    caller: str
    expect: int
    target: str | None = None
    body: Any = None
    key: str = "Base"
    board: str = "n7"
    game: str = "1"
    note: str = ""


def _gate(access: str) -> list[Case]:
    """
    The token rows every non-public route gets: no token, a malformed
    token, an expired token and the token of a deleted account are 401.
    """
    if access == "public":
        return []
    return [Case(caller, 401, "default") for caller in ("none", "bad", "expired", "deleted")]


def _detailsBody(tag: str) -> dict[str, str]:
    return {"username": f"name {tag}", "email": f"{tag}@changed.example.com"}


#: Per route, the requests to make in order (destructive ones last).
MATRIX: dict[tuple[str, str], list[Case]] = {
    ("POST", "/auth/login"): [
        Case("none", 200, body={"email": "default@example.com", "password": "password"}),
        Case("bad", 200, body={"email": "default@example.com", "password": "password"},
             note="a stale token does not hinder logging in"),
        Case("none", 401, body={"email": "default@example.com", "password": "wrong"}),
        Case("none", 401, body={"email": "nobody@example.com", "password": "password"}),
    ],
    ("POST", "/auth/create"): [
        Case("none", 200, body={"username": "n1", "email": "n1@example.com", "password": "p"}),
        Case("bad", 200, body={"username": "n2", "email": "n2@example.com", "password": "p"}),
        Case("default", 200,
             body={"username": "n3", "email": "n3@example.com", "password": "p"}),
        Case("none", 409,
             body={"username": "x", "email": "DEFAULT@example.com", "password": "p"}),
    ],
    ("POST", "/auth/request-code"): [
        Case("none", 400, body={"email": "default@example.com"}, note="not in game"),
        Case("none", 404, body={"email": "nobody@example.com"}),
    ],
    ("POST", "/auth/exchange-code"): [
        Case("none", 400, body={"login_code": "ABCDE"}),
        Case("bad", 400, body={"login_code": "AB"}),
    ],
    ("GET", "/players"): [
        Case("default", 403), Case("admin", 200), Case("super", 200),
    ],
    ("GET", "/players/self"): [
        Case("default", 200), Case("admin", 200), Case("super", 200),
    ],
    ("DELETE", "/players/self"): [
        Case("default2", 403, body={"password": "wrong"}),
        Case("victim", 200, body={"password": "password"}),
    ],
    ("PUT", "/players/self/password"): [
        Case("default", 403, body={"current_password": "wrong", "new_password": "n"}),
        Case("admin", 200, body={"current_password": "password", "new_password": "n"}),
    ],
    ("POST", "/players/self/logout"): [
        Case("default", 200), Case("admin", 200),
    ],
    ("PUT", "/players/self/details"): [
        Case("admin", 400, body={"username": "a", "email": "new@example.com"},
             note="new email, no current password"),
        Case("admin", 403, body={"username": "a", "email": "new@example.com",
                                 "current_password": "wrong"},
             note="new email, wrong current password"),
        Case("admin", 200, body={"username": "a", "email": "admin@example.com"},
             note="same email: no password needed"),
        Case("default2", 409, body={"username": "a", "email": "default@example.com",
                                    "current_password": "password"}),
        Case("default", 200, body={**_detailsBody("self"), "current_password": "password"}),
    ],
    ("GET", "/players/{id}"): [
        Case("default", 403, "default"),
        Case("admin", 200, "default"), Case("admin", 200, "super"),
        Case("super", 200, "admin"), Case("admin", 404, "nobody"),
    ],
    ("DELETE", "/players/{id}"): [
        Case("default", 403, "victim"),
        Case("admin", 403, "admin2", note="same role"),
        Case("admin", 403, "super"),
        Case("admin", 403, "admin", note="not oneself"),
        Case("super", 403, "super", note="not oneself"),
        Case("admin", 404, "nobody"),
        Case("admin", 200, "victim"),
        Case("super", 200, "victimAdmin"),
    ],
    ("PUT", "/players/{id}/password"): [
        Case("default", 403, "default", {"password": "x"}),
        Case("admin", 403, "admin2", {"password": "x"}),
        Case("admin", 403, "super", {"password": "x"}),
        Case("admin", 404, "nobody", {"password": "x"}),
        Case("admin", 200, "default", {"password": "x"}),
        Case("admin", 400, "admin", {"password": "x"}, note="oneself, no current"),
        Case("admin", 200, "admin", {"password": "x", "current_password": "password"},
             note="oneself"),
        Case("super", 200, "admin2", {"password": "x"}),
        Case("super", 403, "super", {"password": "x", "current_password": "wrong"},
             note="oneself, wrong current"),
        Case("super", 200, "super", {"password": "x", "current_password": "password"}),
    ],
    ("POST", "/players/{id}/logout"): [
        Case("default", 403, "default", note="Admin route"),
        Case("admin", 403, "admin2"),
        Case("admin", 403, "super"),
        Case("admin", 404, "nobody"),
        Case("admin", 200, "default"),
        Case("super", 200, "admin2"),
    ],
    ("PUT", "/players/{id}/details"): [
        Case("default", 403, "default", _detailsBody("a")),
        Case("admin", 403, "admin2", _detailsBody("b")),
        Case("admin", 403, "super", _detailsBody("c")),
        Case("admin", 404, "nobody", _detailsBody("d")),
        Case("admin", 409, "default", {"username": "x", "email": "default2@example.com"}),
        Case("admin", 200, "default", _detailsBody("e"), note="another's: no password"),
        Case("admin", 400, "admin", _detailsBody("f"), note="oneself, no current"),
        Case("admin", 200, "admin", {**_detailsBody("f"), "current_password": "password"},
             note="oneself"),
        Case("super", 200, "admin2", _detailsBody("g")),
    ],
    ("PUT", "/players/{id}/role"): [
        Case("default", 403, "victim", {"role": "Admin"}),
        Case("admin", 403, "victim", {"role": "Admin"}),
        Case("super", 403, "victim", {"role": "SuperAdmin"}),
        Case("super", 403, "super", {"role": "Default"}),
        Case("super", 400, "victim", {"role": "Owner"}),
        Case("super", 404, "nobody", {"role": "Admin"}),
        Case("super", 200, "victim", {"role": "Admin"}),
        Case("super", 200, "victimAdmin", {"role": "Default"}),
    ],
    ("GET", "/players/{id}/data"): [
        Case("default", 200, "default", note="owner"),
        Case("default", 403, "default2"),
        Case("default", 403, "admin"),
        Case("admin", 200, "default"),
        Case("admin", 200, "admin"),
        Case("admin", 403, "admin2"),
        Case("admin", 403, "super"),
        Case("admin", 404, "nobody"),
        Case("super", 200, "admin"),
        Case("super", 200, "super"),
    ],
    ("GET", "/players/{id}/data/{key}"): [
        Case("default", 200, "default"),
        Case("default", 403, "default2"),
        Case("admin", 200, "default"),
        Case("admin", 403, "admin2"),
        Case("admin", 404, "default", key="Missing"),
        Case("super", 200, "admin"),
    ],
    ("PUT", "/players/{id}/data/{key}"): [
        Case("default", 403, "default", {"value": "v"}, note="Admin route"),
        Case("admin", 403, "admin2", {"value": "v"}),
        Case("admin", 403, "super", {"value": "v"}),
        Case("admin", 404, "nobody", {"value": "v"}),
        Case("admin", 200, "default", {"value": "v"}),
        Case("admin", 200, "admin", {"value": "v"}),
        Case("super", 200, "admin", {"value": "v"}),
    ],
    ("DELETE", "/players/{id}/data/{key}"): [
        Case("default", 403, "default"),
        Case("admin", 403, "admin2"),
        Case("admin", 403, "super"),
        Case("admin", 404, "nobody"),
        Case("admin", 200, "default"),
        Case("admin", 200, "default", note="absent key"),
        Case("super", 200, "admin"),
    ],
    ("GET", "/players/{id}/galaxy_at_war"): [
        Case("default", 200, "default", note="own ratings"),
        Case("default", 403, "admin"),
        Case("admin", 200, "default"),
        Case("admin", 403, "super"),
        Case("admin", 404, "nobody"),
        Case("super", 200, "admin"),
    ],
    ("GET", "/games"): [
        Case("default", 200), Case("admin", 200), Case("super", 200),
    ],
    ("GET", "/games/{game_id}"): [
        Case("default", 200), Case("super", 200), Case("admin", 404, game="999"),
    ],
    ("GET", "/game-reports"): [
        Case("default", 200), Case("super", 200),
    ],
    ("GET", "/game-reports/{report_id}"): [
        Case("default", 200), Case("admin", 200),
    ],
    ("GET", "/leaderboard/{board}"): [
        Case("none", 200), Case("bad", 200), Case("default", 200),
        Case("none", 200, board="cp"),
    ],
    ("GET", "/leaderboard/{board}/{player_id}"): [
        Case("none", 200, "default"), Case("bad", 200, "default"),
        Case("none", 404, "admin", note="unranked"),
        Case("none", 200, "admin", board="cp"),
    ],
    ("GET", "/server/log"): [
        Case("default", 403), Case("admin", 403), Case("super", 200),
    ],
    ("DELETE", "/server/log"): [
        Case("default", 403), Case("admin", 403), Case("super", 200),
    ],
    ("POST", "/server/telemetry"): [
        Case("none", 200, body={"values": [["TLM3", "text"]]}),
        Case("bad", 200, body={"values": [["TLM3", "text"]]},
             note="a stale token does not matter"),
        Case("none", 400, body={"values": [["TLM3"]]}, note="not a pair"),
    ],
    ("GET", "/server/telemetry"): [
        Case("default", 403), Case("admin", 403), Case("super", 200),
    ],
    ("GET", "/openapi.json"): [
        Case("none", 200), Case("bad", 200),
    ],
}


class RouteMatrixTests(_ApiTestCase):
    """
    Every API route called by no token, a malformed token, an expired
    token, a deleted account, and each role about players it has or lacks
    permission over.  One test per route (generated below).
    """

    @defer.inlineCallbacks
    def setUp(self) -> Any:  # type: ignore[override]
        yield super().setUp()
        store = self.web.store
        yield store.setLeaderboardValue(LeaderboardType.N7_RATING, self.pid("default"), 50)
        yield store.setLeaderboardValue(LeaderboardType.CHALLENGE_POINTS, self.pid("admin"), 7)
        self.reportId = yield store.addGameReport({"seed": 1}, 100, 200)
        self.assertEqual(self.startGame(), 1)

    def fill(self, route: Any, case: Case) -> str:
        path = route.path
        if case.target is not None:
            path = path.replace("{id}", str(self.pid(case.target)))
            path = path.replace("{player_id}", str(self.pid(case.target)))
        return "/api" + (
            path.replace("{key}", case.key)
            .replace("{board}", case.board)
            .replace("{game_id}", case.game)
            .replace("{report_id}", str(self.reportId))
        )

    @defer.inlineCallbacks
    def runMatrix(self, route: Any) -> Any:
        cases = MATRIX.get((route.method, route.path))
        self.assertIsNotNone(cases, f"no matrix rows for {route.method} {route.path}")
        assert cases is not None
        access = route.access.value
        body = next((c.body for c in cases if c.body is not None), None)
        rows = [attrs.evolve(c, body=body, target=c.target or "default")
                for c in _gate(access)] + cases
        failures = []
        for case in rows:
            path = self.fill(route, case)
            response = yield self.request(route.method, path, case.body, case.caller)
            if response.code != case.expect:
                failures.append(f"{case.caller} {route.method} {path} ({case.note}): "
                                f"{response.code} {response.body[:80]!r}, "
                                f"expected {case.expect}")
                continue
            self.assertEqual(response.header("access-control-allow-origin"), "*")
            if response.code == 200:
                if route.response == "text":
                    self.assertTrue(response.header("content-type").startswith("text/plain"))
                else:
                    self.assertEqual(response.header("content-type"), "application/json")
                    response.json()
            else:
                self.assertTrue(response.header("content-type").startswith("text/plain"))
                self.assertTrue(response.body and len(response.body) < 200, response.body)
        if failures:
            self.fail("\n".join(failures))


def _matrixTest(route: Any) -> Any:
    def test(self: RouteMatrixTests) -> Any:
        return self.runMatrix(route)

    test.__doc__ = (f"{route.method} /api{route.path} answers each caller of the "
                    f"matrix with the expected status.")
    return test


for _route in ROUTES:
    _name = f"test_{_route.method.lower()}_{_route.handler.__name__}"
    setattr(RouteMatrixTests, _name, _matrixTest(_route))


class MatrixCoverageTests(SynchronousTestCase):
    """
    The matrix covers exactly the routes of the table.
    """

    def test_everyRouteHasRows(self) -> None:
        """
        Every route has matrix rows and every row names a route.
        """
        routes = {(r.method, r.path) for r in ROUTES}
        self.assertEqual(routes, set(MATRIX))


# -- routing, CORS, bodies ----------------------------------------------------------


class RoutingTests(_ApiTestCase):
    """
    Unknown routes, methods, CORS, HEAD.
    """

    @defer.inlineCallbacks
    def test_unknownRoute(self) -> Any:
        """
        An unknown path below /api is 404 with a plain-text body and CORS.
        """
        for path in ("/api/nothing", "/api/players/abc", "/api/players/1/nope",
                     "/api/players/", "/api", "/api/leaderboard/xx"):
            response = yield self.request("GET", path, caller="super")
            self.assertEqual(response.code, 404, path)
            self.assertEqual(response.header("access-control-allow-origin"), "*")
            self.assertTrue(response.header("content-type").startswith("text/plain"))

    @defer.inlineCallbacks
    def test_wrongMethod(self) -> Any:
        """
        A known path with another method is 405 with an Allow header.
        """
        response = yield self.request("POST", "/api/players/self", {}, caller="default")
        self.assertEqual(response.code, 405)
        self.assertEqual(response.header("allow"), "DELETE, GET, HEAD, OPTIONS")

    @defer.inlineCallbacks
    def test_preflight(self) -> Any:
        """
        OPTIONS anywhere below /api is a 204 preflight allowing any origin,
        the X-Token and Content-Type headers and PUT/DELETE.
        """
        for path in ("/api/players/1/data/Base", "/api/server", "/api/auth/login",
                     "/api/anything"):
            response = yield self.request(
                "OPTIONS", path,
                headers={"Origin": "http://elsewhere.example",
                         "Access-Control-Request-Method": "PUT",
                         "Access-Control-Request-Headers": "x-token, content-type"})
            self.assertEqual(response.code, 204, path)
            self.assertEqual(response.header("access-control-allow-origin"), "*")
            allowed = {h.strip().lower() for h in
                       response.header("access-control-allow-headers").split(",")}
            self.assertTrue({"x-token", "content-type"} <= allowed)
            methods = response.header("access-control-allow-methods")
            for method in ("GET", "POST", "PUT", "DELETE"):
                self.assertIn(method, methods)
            self.assertEqual(response.body, b"")

    @defer.inlineCallbacks
    def test_corsOnServerRoutes(self) -> Any:
        """
        The routes site.py serves below /api also carry the CORS header.
        """
        for path in ("/api/server", "/api/server/dashboard"):
            response = yield self.request("GET", path)
            self.assertEqual(response.code, 200)
            self.assertEqual(response.header("access-control-allow-origin"), "*")

    @defer.inlineCallbacks
    def test_noCorsOutsideApi(self) -> Any:
        """
        Paths outside /api get no CORS header.
        """
        response = yield self.request("GET", "/qos/firetype")
        self.assertIsNone(response.header("access-control-allow-origin"))

    @defer.inlineCallbacks
    def test_head(self) -> Any:
        """
        HEAD on a GET route answers the headers without a body.
        """
        response = yield self.request("HEAD", "/api/players/self", caller="default")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.header("content-type"), "application/json")
        self.assertEqual(response.body, b"")

    @defer.inlineCallbacks
    def test_missingTokenIs401(self) -> Any:
        """
        A missing token is 401 (the reference answers 400), with a message
        saying to log in.
        """
        response = yield self.request("GET", "/api/players/self")
        self.assertEqual(response.code, 401)
        self.assertIn("log in", response.text)

    @defer.inlineCallbacks
    def test_tokenOfDeletedAccount(self) -> Any:
        """
        A genuine token whose account was deleted is 401.
        """
        response = yield self.request("GET", "/api/players/self", caller="deleted")
        self.assertEqual(response.code, 401)
        self.assertIn("no longer exists", response.text)


class BodyTests(_ApiTestCase):
    """
    Malformed, mistyped and oversized request bodies.
    """

    @defer.inlineCallbacks
    def assertRefused(self, body: Any, code: int, fragment: str,
                      path: str = "/api/auth/login", method: str = "POST",
                      caller: str = "none") -> Any:
        response = yield self.request(method, path, body, caller)
        self.assertEqual(response.code, code, response.body)
        self.assertIn(fragment, response.text)
        self.assertTrue(response.header("content-type").startswith("text/plain"))

    @defer.inlineCallbacks
    def test_malformedJson(self) -> Any:
        """
        A body that is not JSON is 400 saying so.
        """
        yield self.assertRefused(b'{"email": ', 400, "not valid JSON")
        yield self.assertRefused(b"NaN", 400, "not valid JSON")

    @defer.inlineCallbacks
    def test_notUtf8(self) -> Any:
        """
        A body that is not UTF-8 is 400.
        """
        yield self.assertRefused(b'{"email": "\xff"}', 400, "UTF-8")

    @defer.inlineCallbacks
    def test_missingBody(self) -> Any:
        """
        No body on a route that needs one is 400.
        """
        response = yield self.request("POST", "/api/auth/login")
        self.assertEqual(response.code, 400)
        self.assertIn("Missing JSON", response.text)

    @defer.inlineCallbacks
    def test_notAnObject(self) -> Any:
        """
        A JSON array or string is 400.
        """
        yield self.assertRefused([1, 2], 400, "JSON object")
        yield self.assertRefused("text", 400, "JSON object")

    @defer.inlineCallbacks
    def test_missingField(self) -> Any:
        """
        A missing (or null) field is 400 naming it.
        """
        yield self.assertRefused({"email": "a@b.cd"}, 400, "'password'")
        yield self.assertRefused({"email": None, "password": "x"}, 400, "'email'")

    @defer.inlineCallbacks
    def test_wrongTypes(self) -> Any:
        """
        A field of the wrong type is 400 naming it and the type.
        """
        yield self.assertRefused({"email": 5, "password": "x"}, 400, "'email' must be a string")
        yield self.assertRefused({"email": "a@b.cd", "password": ["x"]}, 400, "'password'")
        yield self.assertRefused({"value": 12}, 400, "'value' must be a string",
                                 f"/api/players/{self.pid('default')}/data/Base", "PUT", "admin")
        yield self.assertRefused({"role": True}, 400, "'role'",
                                 f"/api/players/{self.pid('default')}/role", "PUT", "super")

    @defer.inlineCallbacks
    def test_tooLongField(self) -> Any:
        """
        A string over its field's limit is 400.
        """
        yield self.assertRefused({"email": "a" * 300 + "@b.cd", "password": "x"}, 400,
                                 "longer than")

    @defer.inlineCallbacks
    def test_oversizedBody(self) -> Any:
        """
        A body over a route's limit (64 KiB) is 413, also when its JSON is
        fine.
        """
        body = {"email": "a@b.cd", "password": "x" * (70 * 1024)}
        yield self.assertRefused(body, 413, "larger than")

    @defer.inlineCallbacks
    def test_oversizedBeyondSiteLimit(self) -> Any:
        """
        A body over the site-wide limit is discarded as it arrives, with
        Content-Length or chunked, and answered 413.
        """
        yield self.assertRefused(b"x" * (MAX_REQUEST_BODY + 10), 413, "larger than")
        chunk = b"x" * 65536
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk)
                          for _ in range(MAX_REQUEST_BODY // len(chunk) + 2))
        raw = (b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
        response = yield self.web.request("POST", "/api/auth/login", raw=raw)
        self.assertEqual(response.code, 413)

    @defer.inlineCallbacks
    def test_largeDataValueAccepted(self) -> Any:
        """
        A player data PUT may carry a value close to 1 MiB.
        """
        value = "ab" * (500 * 1024)
        path = f"/api/players/{self.pid('default')}/data/Big"
        response = yield self.request("PUT", path, {"value": value}, "admin")
        self.assertEqual(response.code, 200)
        stored = yield self.web.store.getPlayerDataValue(self.pid("default"), "Big")
        self.assertEqual(stored, value)

    @defer.inlineCallbacks
    def test_badQuery(self) -> Any:
        """
        Malformed or out-of-range paging parameters are 400 naming them.
        """
        for query, name in (("offset=x", "offset"), ("count=0", "count"),
                            ("count=256", "count"), ("offset=-1", "offset")):
            response = yield self.request("GET", f"/api/players?{query}", caller="admin")
            self.assertEqual(response.code, 400, query)
            self.assertIn(name, response.text)


# -- functional behaviour -----------------------------------------------------------


class AuthTests(_ApiTestCase):
    """
    Logging in, creating accounts, login codes.
    """

    @defer.inlineCallbacks
    def test_loginToken(self) -> Any:
        """
        Logging in answers a token that works for the account.
        """
        response = yield self.request(
            "POST", "/api/auth/login", {"email": "Admin@Example.com", "password": "password"})
        self.assertEqual(response.code, 200)
        token = response.json()["token"]
        me = yield self.web.request("GET", "/api/players/self", token=token)
        self.assertEqual(me.json()["id"], self.pid("admin"))
        self.assertEqual(me.json()["role"], "Admin")

    @defer.inlineCallbacks
    def test_loginWithoutPassword(self) -> Any:
        """
        An account without a password cannot log in and is told why.
        """
        yield self.web.createPlayer("origin@example.com", password=None)
        response = yield self.request(
            "POST", "/api/auth/login", {"email": "origin@example.com", "password": ""})
        self.assertEqual(response.code, 401)
        self.assertIn("no password", response.text)

    @defer.inlineCallbacks
    def test_create(self) -> Any:
        """
        Creating an account stores it (Default role, trimmed name) and
        answers a token for it.
        """
        response = yield self.request("POST", "/api/auth/create", {
            "username": " Shepard ", "email": "shep@example.com", "password": "n7"})
        self.assertEqual(response.code, 200)
        me = yield self.web.request("GET", "/api/players/self",
                                    token=response.json()["token"])
        self.assertEqual(me.json()["display_name"], "Shepard")
        self.assertEqual(me.json()["role"], "Default")
        self.assertIsNone(me.json()["last_login_at"])

    @defer.inlineCallbacks
    def test_createInvalid(self) -> Any:
        """
        A bad email, an empty name or an empty password is 400.
        """
        for body in ({"username": "a", "email": "no-at-sign", "password": "p"},
                     {"username": "  ", "email": "x@example.com", "password": "p"},
                     {"username": "a", "email": "x@example.com", "password": ""}):
            response = yield self.request("POST", "/api/auth/create", body)
            self.assertEqual(response.code, 400, body)


class RegistrationDisabledTests(_ApiTestCase):
    """
    dashboard.disable_registration and dashboard.super_email.
    """

    settings = {"dashboard__disable_registration": True}

    @defer.inlineCallbacks
    def test_refused(self) -> Any:
        """
        Account creation is 403 when registration is disabled, and the
        dashboard settings route says so.
        """
        response = yield self.request("POST", "/api/auth/create", {
            "username": "a", "email": "new@example.com", "password": "p"})
        self.assertEqual(response.code, 403)
        self.assertIn("disabled", response.text)
        info = yield self.request("GET", "/api/server/dashboard")
        self.assertEqual(info.json(), {"disable_registration": True})


class SuperEmailCreateTests(_ApiTestCase):
    """
    Registering the address of dashboard.super_email gives no role.
    """

    settings = {"dashboard__super_email": "boss@example.com"}

    @defer.inlineCallbacks
    def test_superOnCreate(self) -> Any:
        """
        Creating the account with the super email makes it a Default
        account: the role belongs to an account made at start or by
        pocketrelay-admin, not to whoever registers the address first.
        """
        response = yield self.request("POST", "/api/auth/create", {
            "username": "boss", "email": "Boss@example.com", "password": "p"})
        me = yield self.web.request("GET", "/api/players/self",
                                    token=response.json()["token"])
        self.assertEqual(me.json()["role"], "Default")


class LoginCodeTests(_ApiTestCase):
    """
    request-code pushes a code into the game; exchange-code trades it for
    a token.
    """

    def connectGame(self, name: str) -> StringTransport:
        """
        A live Blaze session of player C{name}; returns its transport.
        """
        protocol = self.web.hub.buildProtocol("127.0.0.1")
        transport = StringTransport()
        protocol.makeConnection(transport)
        session = cast(Any, protocol).dispatcher
        self.web.hub.bindPlayer(session, self.players[name])
        self.addCleanup(protocol.connectionLost, Failure(ConnectionDone()))
        return transport

    def messages(self, transport: StringTransport) -> list[ServerMessage]:
        frames = FrameDecoder().feed(transport.value())
        return [tdf.decode(ServerMessage, f.body) for f in frames
                if (f.component, f.command) == (Component.MESSAGING,
                                                MessagingNotification.MESSAGE)]

    @defer.inlineCallbacks
    def test_codeRoundTrip(self) -> Any:
        """
        The code arrives as an in-game message to the player (text and a
        [SYSTEM_TERMINAL] line) and exchanges once for a token of the
        player, case-insensitively.
        """
        transport = self.connectGame("default")
        response = yield self.request("POST", "/api/auth/request-code",
                                      {"email": "default@example.com"})
        self.assertEqual(response.code, 200)
        self.assertEqual(response.json(), {})
        [message] = self.messages(transport)
        self.assertEqual(message.source, playerObjectId(self.pid("default")))
        self.assertEqual(message.payload.target, playerObjectId(self.pid("default")))
        code = message.sourceName.split("code is ")[1][:5]
        self.assertRegex(code, "^[A-Z0-9]{5}$")
        terminal = [line for line in message.sourceName.splitlines()
                    if line.startswith("[SYSTEM_TERMINAL]")]
        self.assertIn(code, json.loads(terminal[0][len("[SYSTEM_TERMINAL]"):])["message"])

        exchanged = yield self.request("POST", "/api/auth/exchange-code",
                                       {"login_code": code.lower()})
        self.assertEqual(exchanged.code, 200)
        me = yield self.web.request("GET", "/api/players/self",
                                    token=exchanged.json()["token"])
        self.assertEqual(me.json()["id"], self.pid("default"))
        again = yield self.request("POST", "/api/auth/exchange-code", {"login_code": code})
        self.assertEqual(again.code, 400)

    @defer.inlineCallbacks
    def test_codeExpires(self) -> Any:
        """
        A code is refused after 30 minutes.
        """
        transport = self.connectGame("default")
        yield self.request("POST", "/api/auth/request-code", {"email": "default@example.com"})
        code = self.messages(transport)[0].sourceName.split("code is ")[1][:5]
        self.web.clock.advance(CODE_LIFETIME)
        response = yield self.request("POST", "/api/auth/exchange-code", {"login_code": code})
        self.assertEqual(response.code, 400)
        self.assertIn("expired", response.text)

    @defer.inlineCallbacks
    def test_cooldown(self) -> Any:
        """
        A second request within 10 seconds is 429; later it replaces the
        first code.
        """
        transport = self.connectGame("default")
        body = {"email": "default@example.com"}
        yield self.request("POST", "/api/auth/request-code", body)
        second = yield self.request("POST", "/api/auth/request-code", body)
        self.assertEqual(second.code, 429)
        self.web.clock.advance(10)
        third = yield self.request("POST", "/api/auth/request-code", body)
        self.assertEqual(third.code, 200)
        first, latest = self.messages(transport)
        old = first.sourceName.split("code is ")[1][:5]
        new = latest.sourceName.split("code is ")[1][:5]
        if old != new:
            refused = yield self.request("POST", "/api/auth/exchange-code",
                                         {"login_code": old})
            self.assertEqual(refused.code, 400)
        accepted = yield self.request("POST", "/api/auth/exchange-code", {"login_code": new})
        self.assertEqual(accepted.code, 200)


class LoginCodesTests(SynchronousTestCase):
    """
    L{LoginCodes} unit behaviour.
    """

    def test_unique(self) -> None:
        """
        Codes issued to different players differ, and each exchanges to its
        player.
        """
        from twisted.internet.task import Clock

        codes = LoginCodes(Clock())
        issued = {codes.issue(playerId): playerId for playerId in range(200)}
        self.assertEqual(len(issued), 200)
        for code, playerId in issued.items():
            self.assertEqual(codes.exchange(code), playerId)
        self.assertEqual(len(codes), 0)

    def test_message(self) -> None:
        """
        The message has the code on its first line and valid terminal JSON.
        """
        text = loginCodeMessage("AB12C")
        first, terminal = text.splitlines()
        self.assertIn("AB12C", first)
        self.assertTrue(terminal.startswith("[SYSTEM_TERMINAL]{"))
        payload = json.loads(terminal[len("[SYSTEM_TERMINAL]"):])
        self.assertEqual(set(payload),
                         {"title", "message", "image", "ty", "tracking_id", "priority"})

    def test_cooldownError(self) -> None:
        """
        Issuing twice at once raises a 429 L{ApiError}.
        """
        from twisted.internet.task import Clock

        codes = LoginCodes(Clock())
        codes.issue(1)
        error = self.assertRaises(ApiError, codes.issue, 1)
        self.assertEqual(error.code, 429)


class PlayersTests(_ApiTestCase):
    """
    The players list and player changes.
    """

    @defer.inlineCallbacks
    def test_pageIndex(self) -> Any:
        """
        offset is a page index: offset=1&count=3 is the 4th to 6th player;
        total_items, total_pages and more describe the whole list.
        """
        response = yield self.request("GET", "/api/players?offset=1&count=3", caller="admin")
        page = response.json()
        everyone = sorted(p.id for p in self.players.values()
                          if p.id != self.pid("ghost"))
        self.assertEqual([p["id"] for p in page["players"]], everyone[3:6])
        self.assertEqual(page["total_items"], len(everyone))
        self.assertEqual(page["total_pages"], -(-len(everyone) // 3))
        self.assertTrue(page["more"])
        last = yield self.request("GET", "/api/players?offset=2&count=3", caller="admin")
        self.assertFalse(last.json()["more"])
        self.assertEqual(set(page["players"][0]),
                         {"id", "email", "display_name", "role", "last_login_at"})

    @defer.inlineCallbacks
    def test_defaultCount(self) -> Any:
        """
        Without count, pages hold 20 players.
        """
        for i in range(20):
            yield self.web.store.createPlayer(f"p{i}@example.com", f"p{i}", None)
        response = yield self.request("GET", "/api/players", caller="admin")
        self.assertEqual(len(response.json()["players"]), 20)

    @defer.inlineCallbacks
    def test_search(self) -> Any:
        """
        query filters by display name or email, case-insensitively.
        """
        yield self.web.store.createPlayer("liara@thessia.example", "T'Soni", None)
        byName = yield self.request("GET", "/api/players?query=tsoni", caller="admin")
        self.assertEqual(byName.json()["total_items"], 0)
        byName = yield self.request("GET", "/api/players?query=t%27SON", caller="admin")
        self.assertEqual([p["email"] for p in byName.json()["players"]],
                         ["liara@thessia.example"])
        byEmail = yield self.request("GET", "/api/players?query=THESSIA", caller="admin")
        self.assertEqual(byEmail.json()["total_items"], 1)

    @defer.inlineCallbacks
    def test_lastLogin(self) -> Any:
        """
        last_login_at is an ISO 8601 UTC string once the player logged in.
        """
        yield self.web.store.setLastLogin(self.pid("default"), 1_700_000_000)
        response = yield self.request("GET", f"/api/players/{self.pid('default')}",
                                      caller="admin")
        self.assertEqual(response.json()["last_login_at"], "2023-11-14T22:13:20Z")

    @defer.inlineCallbacks
    def test_changeOwnPassword(self) -> Any:
        """
        After a password change, the new password logs in and the old one
        does not.
        """
        response = yield self.request("PUT", "/api/players/self/password",
                                      {"current_password": "password",
                                       "new_password": "new secret"}, "default")
        self.assertEqual(response.code, 200)
        new = yield self.request("POST", "/api/auth/login",
                                 {"email": "default@example.com", "password": "new secret"})
        old = yield self.request("POST", "/api/auth/login",
                                 {"email": "default@example.com", "password": "password"})
        self.assertEqual((new.code, old.code), (200, 401))

    @defer.inlineCallbacks
    def test_setDetails(self) -> Any:
        """
        Details change name and email; the answer is the updated player.
        """
        response = yield self.request(
            "PUT", f"/api/players/{self.pid('default')}/details",
            {"username": "Garrus", "email": "garrus@example.com"}, "admin")
        self.assertEqual(response.json()["display_name"], "Garrus")
        player = yield self.web.store.getPlayer(self.pid("default"))
        self.assertEqual(player.email, "garrus@example.com")

    @defer.inlineCallbacks
    def test_setRoleUpdatesSession(self) -> Any:
        """
        A role change reaches the live game session's copy of the player.
        """
        session = self.web.hub.newSession("127.0.0.1")
        self.web.hub.bindPlayer(session, self.players["victim"])
        yield self.request("PUT", f"/api/players/{self.pid('victim')}/role",
                           {"role": "Admin"}, "super")
        self.assertEqual(session.player.role, PlayerRole.ADMIN)  # type: ignore[union-attr]

    @defer.inlineCallbacks
    def test_deleteDisconnects(self) -> Any:
        """
        Deleting a player removes the account and closes its game session.
        """
        protocol = self.web.hub.buildProtocol("127.0.0.1")
        transport = StringTransport()
        protocol.makeConnection(transport)
        self.web.hub.bindPlayer(cast(Any, protocol).dispatcher, self.players["victim"])
        response = yield self.request("DELETE", f"/api/players/{self.pid('victim')}",
                                      caller="admin")
        self.assertEqual((response.code, response.json()), (200, {}))
        self.assertTrue(transport.disconnecting)
        gone = yield self.web.store.getPlayer(self.pid("victim"))
        self.assertIsNone(gone)
        protocol.connectionLost(Failure(ConnectionDone()))

    @defer.inlineCallbacks
    def test_deleteSelf(self) -> Any:
        """
        DELETE /players/self with the password removes the account.
        """
        response = yield self.request("DELETE", "/api/players/self",
                                      {"password": "password"}, "victim")
        self.assertEqual(response.json(), {})
        gone = yield self.web.store.getPlayer(self.pid("victim"))
        self.assertIsNone(gone)


class PlayerDataTests(_ApiTestCase):
    """
    Player data routes.
    """

    @defer.inlineCallbacks
    def test_roundTrip(self) -> Any:
        """
        PUT then GET one key, GET all, DELETE (answering JSON) and GET again.
        """
        base = f"/api/players/{self.pid('default')}/data"
        put = yield self.request("PUT", base + "/class1", {"value": "20;4;Adept;20;0;2"},
                                 "admin")
        self.assertEqual(put.json(), {"key": "class1", "value": "20;4;Adept;20;0;2"})
        one = yield self.request("GET", base + "/class1", caller="default")
        self.assertEqual(one.json(), {"key": "class1", "value": "20;4;Adept;20;0;2"})
        everything = yield self.request("GET", base, caller="default")
        self.assertEqual(everything.json(),
                         {"Base": "base of default", "class1": "20;4;Adept;20;0;2"})
        deleted = yield self.request("DELETE", base + "/class1", caller="admin")
        self.assertEqual((deleted.code, deleted.json()), (200, {}))
        missing = yield self.request("GET", base + "/class1", caller="default")
        self.assertEqual(missing.code, 404)

    @defer.inlineCallbacks
    def test_encodedKey(self) -> Any:
        """
        Keys are percent-decoded from the path.
        """
        base = f"/api/players/{self.pid('default')}/data"
        yield self.request("PUT", base + "/odd%20key%2F1", {"value": "v"}, "admin")
        data = yield self.web.store.getPlayerData(self.pid("default"))
        self.assertEqual(data["odd key/1"], "v")

    @defer.inlineCallbacks
    def test_keyTooLong(self) -> Any:
        """
        A key over 64 characters is 400.
        """
        response = yield self.request(
            "PUT", f"/api/players/{self.pid('default')}/data/{'k' * 65}", {"value": "v"},
            "admin")
        self.assertEqual(response.code, 400)

    @defer.inlineCallbacks
    def test_galaxyAtWar(self) -> Any:
        """
        The GAW route shows the five groups and the last change time.
        """
        response = yield self.request(
            "GET", f"/api/players/{self.pid('default')}/galaxy_at_war", caller="admin")
        self.assertEqual(response.json(), {
            "last_modified": isoTime(self.web.clock.seconds()),
            "group_a": 5000, "group_b": 5000, "group_c": 5000,
            "group_d": 5000, "group_e": 5000,
        })


class LeaderboardTests(_ApiTestCase):
    """
    Leaderboard pages and entries with global ranks.
    """

    @defer.inlineCallbacks
    def setUp(self) -> Any:  # type: ignore[override]
        yield super().setUp()
        values = {"default": 10, "default2": 40, "admin": 30, "admin2": 20, "super": 50}
        for name, value in values.items():
            yield self.web.store.setLeaderboardValue(LeaderboardType.N7_RATING,
                                                     self.pid(name), value)

    @defer.inlineCallbacks
    def test_page(self) -> Any:
        """
        offset is a page index; entries carry global ranks.
        """
        response = yield self.request("GET", "/api/leaderboard/n7?offset=1&count=2")
        board = response.json()
        self.assertEqual(board["total"], 5)
        self.assertTrue(board["more"])
        self.assertEqual(board["entries"], [
            {"player_id": self.pid("admin"), "player_name": "admin", "value": 30, "rank": 3},
            {"player_id": self.pid("admin2"), "player_name": "admin2", "value": 20, "rank": 4},
        ])

    @defer.inlineCallbacks
    def test_totalForHome(self) -> Any:
        """
        The home page's count=1 request gives the total.
        """
        response = yield self.request("GET", "/api/leaderboard/n7?offset=0&count=1")
        self.assertEqual(response.json()["total"], 5)
        self.assertEqual(len(response.json()["entries"]), 1)

    @defer.inlineCallbacks
    def test_entry(self) -> Any:
        """
        A single entry has its global rank (not 1, the reference's bug).
        """
        response = yield self.request("GET", f"/api/leaderboard/n7/{self.pid('default')}")
        self.assertEqual(response.json()["rank"], 5)
        self.assertEqual(response.json()["value"], 10)
        unranked = yield self.request("GET", f"/api/leaderboard/cp/{self.pid('default')}")
        self.assertEqual(unranked.code, 404)


class GamesTests(_ApiTestCase):
    """
    Live games (none yet) and game reports.
    """

    @defer.inlineCallbacks
    def test_emptyGames(self) -> Any:
        """
        The games list has the dashboard's shape, with no games.
        """
        response = yield self.request("GET", "/api/games?offset=0&count=20", caller="default")
        self.assertEqual(response.json(), {"games": [], "more": False, "total_items": 0})

    @defer.inlineCallbacks
    def test_liveGames(self) -> Any:
        """
        Live games are listed with their attributes and players; Admins
        also see each player's network (groups and a numeric natt).
        """
        gameId = self.startGame()
        response = yield self.request("GET", "/api/games", caller="default")
        listing = response.json()
        self.assertEqual((listing["total_items"], listing["more"]), (1, False))
        [game] = listing["games"]
        self.assertEqual(game["id"], gameId)
        self.assertEqual(game["attributes"], {"ME3map": "map2", "ME3privacy": "PUBLIC"})
        self.assertEqual(game["setting"], 0x11F)
        self.assertEqual(game["total_players"], 2)
        self.assertEqual(game["created_at"], isoTime(START + 60))
        self.assertEqual([p["display_name"] for p in game["players"]], ["default", "default2"])
        self.assertNotIn("net", game["players"][0])
        admin = yield self.request("GET", f"/api/games/{gameId}", caller="admin")
        net = admin.json()["players"][0]["net"]
        self.assertEqual(net["groups"], {
            "internal": {"address": "192.168.1.20", "port": 3659},
            "external": {"address": "203.0.113.5", "port": 3659}})
        self.assertEqual(net["qos"]["natt"], 1)
        self.assertNotIn("groups", admin.json()["players"][1]["net"])

    @defer.inlineCallbacks
    def test_reports(self) -> Any:
        """
        Reports are listed newest first with ISO times, and one by id.
        """
        first = yield self.web.store.addGameReport({"seed": 1}, 1_700_000_000, 1_700_000_600)
        second = yield self.web.store.addGameReport({"seed": 2}, 1_700_001_000, 1_700_001_600)
        response = yield self.request("GET", "/api/game-reports?count=1", caller="default")
        listing = response.json()
        self.assertEqual(listing["total_items"], 2)
        self.assertTrue(listing["more"])
        self.assertEqual(listing["reports"][0]["id"], second)
        one = yield self.request("GET", f"/api/game-reports/{first}", caller="default")
        self.assertEqual(one.json(), {"id": first, "data": {"seed": 1},
                                      "created_at": "2023-11-14T22:13:20Z",
                                      "finished_at": "2023-11-14T22:23:20Z"})


class PublicGamesTests(_ApiTestCase):
    """
    api.public_games lets anyone list games.
    """

    settings = {"api__public_games": True}

    @defer.inlineCallbacks
    def test_anonymous(self) -> Any:
        """
        Without a token the list is served with players hidden (null); a
        token still sees them; a bad token is 401.
        """
        gameId = self.startGame()
        response = yield self.request("GET", "/api/games")
        self.assertEqual(response.code, 200)
        self.assertIsNone(response.json()["games"][0]["players"])
        one = yield self.request("GET", f"/api/games/{gameId}")
        self.assertIsNone(one.json()["players"])
        member = yield self.request("GET", "/api/games", caller="default")
        self.assertEqual(len(member.json()["games"][0]["players"]), 2)
        bad = yield self.request("GET", "/api/games", caller="bad")
        self.assertEqual(bad.code, 401)


class PublicGamesShownTests(_ApiTestCase):
    """
    api.public_games with api.public_games_hide_players off.
    """

    settings = {"api__public_games": True, "api__public_games_hide_players": False}

    @defer.inlineCallbacks
    def test_playersShown(self) -> Any:
        """
        Anonymous callers see the players (without network details).
        """
        self.startGame()
        response = yield self.request("GET", "/api/games")
        players = response.json()["games"][0]["players"]
        self.assertEqual([p["player_id"] for p in players],
                         [self.pid("default"), self.pid("default2")])
        self.assertNotIn("net", players[0])


class ServerLogTests(_ApiTestCase):
    """
    The in-memory log at /api/server/log.
    """

    @defer.inlineCallbacks
    def test_readAndClear(self) -> Any:
        """
        The log shows buffered events as text; DELETE empties it.
        """
        Logger(observer=self.web.logBuffer).info("hello {who}", who="Shepard")
        response = yield self.request("GET", "/api/server/log", caller="super")
        self.assertIn("hello Shepard", response.text)
        self.assertTrue(response.header("content-type").startswith("text/plain"))
        cleared = yield self.request("DELETE", "/api/server/log", caller="super")
        self.assertEqual(cleared.json(), {})
        empty = yield self.request("GET", "/api/server/log", caller="super")
        self.assertEqual(empty.body, b"")


class LogBufferTests(SynchronousTestCase):
    """
    L{LogBuffer} keeps recent events within its bounds.
    """

    def test_boundedLines(self) -> None:
        """
        Only the most recent maxLines events are kept, oldest first.
        """
        buffer = LogBuffer(maxLines=3)
        log = Logger(observer=buffer)
        for i in range(5):
            log.info("event {i}", i=i)
        lines = buffer.text().splitlines()
        self.assertEqual(len(lines), 3)
        self.assertTrue(lines[0].endswith("event 2"))
        self.assertTrue(lines[-1].endswith("event 4"))

    def test_boundedBytes(self) -> None:
        """
        The total kept stays within maxBytes.
        """
        buffer = LogBuffer(maxBytes=1000)
        log = Logger(observer=buffer)
        for _ in range(100):
            log.info("x" * 100)
        self.assertLessEqual(len(buffer.text()), 1000)
        self.assertGreater(len(buffer), 0)

    def test_level(self) -> None:
        """
        Events below the buffer's level are dropped.
        """
        buffer = LogBuffer(level="warn")
        log = Logger(observer=buffer)
        log.info("quiet")
        log.error("loud")
        self.assertNotIn("quiet", buffer.text())
        self.assertIn("loud", buffer.text())

    def test_utc(self) -> None:
        """
        Lines start with the UTC time.
        """
        buffer = LogBuffer()
        buffer({"log_format": "m", "log_level": LogLevel.info, "log_time": 0.0,
                "log_namespace": "n"})
        self.assertTrue(buffer.text().startswith("1970-01-01T00:00:00Z"))

    def test_service(self) -> None:
        """
        The service adds the buffer to the publisher while running.
        """
        publisher = LogPublisher()
        buffer = LogBuffer()
        service = LogBufferService(buffer, publisher)
        service.startService()
        Logger(observer=publisher).info("while running")
        service.stopService()
        Logger(observer=publisher).info("after")
        self.assertIn("while running", buffer.text())
        self.assertNotIn("after", buffer.text())


class PermissionTests(SynchronousTestCase):
    """
    The "permission over" rule.
    """

    def test_rule(self) -> None:
        """
        Same id, or strictly higher role.
        """
        from pocketrelay.server.store import Player

        def player(i: int, role: PlayerRole) -> Player:
            return Player(i, f"{i}@x.y", str(i), None, role, 0, None)

        self.assertTrue(hasPermissionOver(player(1, DEFAULT), player(1, DEFAULT)))
        self.assertFalse(hasPermissionOver(player(1, DEFAULT), player(2, DEFAULT)))
        self.assertTrue(hasPermissionOver(player(1, ADMIN), player(2, DEFAULT)))
        self.assertFalse(hasPermissionOver(player(1, ADMIN), player(2, ADMIN)))
        self.assertTrue(hasPermissionOver(player(1, SUPER), player(2, ADMIN)))
        self.assertFalse(hasPermissionOver(player(1, SUPER), player(2, SUPER)))


# -- OpenAPI -------------------------------------------------------------------------


class OpenApiTests(_ApiTestCase):
    """
    The OpenAPI document matches the route table and the site.
    """

    @defer.inlineCallbacks
    def test_servedMatchesTable(self) -> Any:
        """
        Every registered route is in the served document with its method,
        and every /api path of the document is a registered route or one
        of the documented other routes.
        """
        response = yield self.request("GET", "/api/openapi.json")
        document = response.json()
        self.assertEqual(document["openapi"], "3.1.0")
        documented = {(method.upper(), path)
                      for path, operations in document["paths"].items()
                      for method in operations}
        registered = {(r.method, "/api" + r.path) for r in ROUTES}
        others = {(o.method, o.path) for o in OTHER_ROUTES}
        self.assertEqual(documented, registered | others)
        self.assertFalse(registered & others)

    def test_referencesResolve(self) -> None:
        """
        Every $ref names a component schema; every operationId is unique;
        path parameters are declared.
        """
        document = buildDocument(ROUTES, "1.0")
        refs: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    if k == "$ref":
                        refs.append(v)
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        walk(document)
        for ref in refs:
            self.assertIn(ref.rsplit("/", 1)[1], SCHEMAS)
        operationIds = [op["operationId"] for ops in document["paths"].values()
                        for op in ops.values() if "operationId" in op]
        self.assertEqual(len(operationIds), len(set(operationIds)))
        for path, operations in document["paths"].items():
            names = {part[1:-1] for part in path.split("/") if part.startswith("{")}
            for operation in operations.values():
                declared = {p["name"] for p in operation.get("parameters", [])
                            if p["in"] == "path"}
                self.assertEqual(names, declared, path)

    def test_securityMatchesAccess(self) -> None:
        """
        Routes needing a token declare the X-Token scheme and 401.
        """
        document = buildDocument(ROUTES, "1.0")
        for route in ROUTES:
            operation = document["paths"]["/api" + route.path][route.method.lower()]
            needsToken = route.access.value != "public"
            self.assertEqual("security" in operation, needsToken, route.path)
            if needsToken:
                self.assertIn("401", operation["responses"], route.path)

    @defer.inlineCallbacks
    def test_otherRoutesExist(self) -> Any:
        """
        Every documented route outside the router is served by the site
        (answers something other than 404).
        """
        (self.web.dataDir.child("public").child("content")).makedirs()
        self.web.dataDir.child("public").child("content").child("x").setContent(b"x")
        for other in OTHER_ROUTES:
            path = (other.path.replace("{token}", self.tokens["default"] or "")
                    .replace("{path}", "x"))
            response = yield self.request(other.method, path)
            self.assertNotEqual(response.code, 404, path)


# -- start-up: the super admin --------------------------------------------------------


class EnsureSuperAdminTests(TestCase):
    """
    L{ensureSuperAdmin} applies dashboard.super_email / super_password.
    """

    @defer.inlineCallbacks
    def setUp(self) -> Any:  # type: ignore[override]
        self.web = WebHarness(self)
        yield self.web.start()

    def run_(self, **settings: Any) -> defer.Deferred[Any]:
        return ensureSuperAdmin(self.web.store, self.web.passwords,
                                self.web.settings.replace(**settings))

    @defer.inlineCallbacks
    def test_nothingWithoutEmail(self) -> Any:
        """
        Without super_email nothing happens.
        """
        result = yield self.run_(dashboard__super_password="secret")
        self.assertIsNone(result)
        _, total = yield self.web.store.listPlayers(0, 10)
        self.assertEqual(total, 0)

    @defer.inlineCallbacks
    def test_createdWithPassword(self) -> Any:
        """
        With an email and a password and no account, the account is created
        as SuperAdmin with that password (the reference's check is
        inverted).
        """
        player = yield self.run_(dashboard__super_email="boss@example.com",
                                 dashboard__super_password="secret")
        self.assertEqual(player.role, SUPER)
        stored = yield self.web.store.getPlayerByEmail("boss@example.com")
        ok = yield self.web.passwords.verify(stored.passwordHash, "secret")
        self.assertTrue(ok)

    @defer.inlineCallbacks
    def test_notCreatedWithoutPassword(self) -> Any:
        """
        With an email but no password, a missing account is not created.
        """
        result = yield self.run_(dashboard__super_email="boss@example.com")
        self.assertIsNone(result)
        stored = yield self.web.store.getPlayerByEmail("boss@example.com")
        self.assertIsNone(stored)

    @defer.inlineCallbacks
    def test_promotedKeepsPassword(self) -> Any:
        """
        While there is no SuperAdmin, an existing account is promoted when
        super_password is its password, which it keeps.
        """
        yield self.web.createPlayer("boss@example.com", DEFAULT, password="mine")
        player = yield self.run_(dashboard__super_email="BOSS@example.com",
                                 dashboard__super_password="mine")
        self.assertEqual(player.role, SUPER)
        ok = yield self.web.passwords.verify(player.passwordHash, "mine")
        self.assertTrue(ok)

    @defer.inlineCallbacks
    def test_strangerNotPromoted(self) -> Any:
        """
        An account that registered the configured address first, with a
        password other than super_password, is not promoted (nor without
        super_password); a warning says what to do.
        """
        stranger, _ = yield self.web.createPlayer("boss@example.com", DEFAULT,
                                                  password="stranger")
        for settings in ({"dashboard__super_password": "secret"}, {}):
            result = yield self.run_(dashboard__super_email="boss@example.com", **settings)
            self.assertIsNone(result)
        stored = yield self.web.store.getPlayer(stranger.id)
        self.assertEqual(stored.role, DEFAULT)
        ok = yield self.web.passwords.verify(stored.passwordHash, "stranger")
        self.assertTrue(ok)

    @defer.inlineCallbacks
    def test_passwordForPasswordless(self) -> Any:
        """
        An existing account without a password gets super_password.
        """
        yield self.web.createPlayer("boss@example.com", ADMIN, password=None)
        player = yield self.run_(dashboard__super_email="boss@example.com",
                                 dashboard__super_password="secret")
        ok = yield self.web.passwords.verify(player.passwordHash, "secret")
        self.assertTrue(ok)

    @defer.inlineCallbacks
    def test_tapWiring(self) -> Any:
        """
        twistd pocketrelay-server runs it once the store is open, and keeps
        the recent log for /api/server/log while running.
        """
        from twisted.python.filepath import FilePath

        from pocketrelay.server import tap
        from pocketrelay.server.store import Store

        options = tap.Options()
        options.parseOptions([
            "--listen", "tcp:0:interface=127.0.0.1", "--data-dir", FilePath(self.mktemp()).path,
            "--set", "dashboard.super_email=boss@example.com",
            "--set", "dashboard.super_password=secret",
        ])
        service = tap.makeService(options, globalReactor)
        service.privilegedStartService()
        service.startService()
        self.addCleanup(service.stopService)
        store: Store = service.store
        for _ in range(500):
            player = yield store.getPlayerByEmail("boss@example.com")
            if player is not None:
                break
            from twisted.internet import task

            yield task.deferLater(globalReactor, 0.01, lambda: None)
        self.assertIsNotNone(player)
        self.assertEqual(player.role, SUPER)
        Logger().info("seen by the dashboard log")
        self.assertIn("seen by the dashboard log", service.logBuffer.text())


# -- over a real socket -------------------------------------------------------------


class LoopbackTests(TestCase):
    """
    A few requests through twisted.web.client.Agent against the site on a
    loopback port.
    """

    @defer.inlineCallbacks
    def setUp(self) -> Any:  # type: ignore[override]
        self.web = WebHarness(self)
        yield self.web.start()
        self.port = cast(Any, globalReactor).listenTCP(0, self.web.site, interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)

    def url(self, path: str) -> bytes:
        return f"http://127.0.0.1:{self.port.getHost().port}{path}".encode()

    @defer.inlineCallbacks
    def test_createAndSelf(self) -> Any:
        """
        Create an account and read it back over a real connection, with a
        CORS preflight first.
        """
        import io

        from twisted.internet import task
        from twisted.web.client import Agent, FileBodyProducer, readBody
        from twisted.web.http_headers import Headers

        agent = Agent(globalReactor)
        pool = getattr(agent, "_pool", None)
        if pool is not None:
            self.addCleanup(pool.closeCachedConnections)
        preflight = yield agent.request(b"OPTIONS", self.url("/api/auth/create"), Headers({
            b"origin": [b"http://dash.example"],
            b"access-control-request-method": [b"POST"]}))
        yield readBody(preflight)
        self.assertEqual(preflight.code, 204)
        body = json.dumps({"username": "a", "email": "a@example.com",
                           "password": "p"}).encode()
        response = yield agent.request(
            b"POST", self.url("/api/auth/create"),
            Headers({b"content-type": [b"application/json"]}),
            FileBodyProducer(io.BytesIO(body), cooperator=task.Cooperator()))
        token = json.loads((yield readBody(response)))["token"]
        me = yield agent.request(b"GET", self.url("/api/players/self"),
                                 Headers({b"x-token": [token.encode()]}))
        self.assertEqual(json.loads((yield readBody(me)))["email"], "a@example.com")
        self.assertEqual(me.headers.getRawHeaders(b"access-control-allow-origin"), [b"*"])

    @defer.inlineCallbacks
    def test_gameRoutes(self) -> Any:
        """
        Galaxy at War, QoS and a content file over a real connection.
        """
        from twisted.web.client import Agent, readBody

        public = self.web.dataDir.child("public").child("content")
        public.makedirs()
        public.child("Promo_n7.dds").setContent(b"DDS banner")
        _, token = yield self.web.createPlayer("gaw@example.com")
        agent = Agent(globalReactor)
        pool = getattr(agent, "_pool", None)
        if pool is not None:
            self.addCleanup(pool.closeCachedConnections)
        gaw = yield agent.request(b"GET", self.url(f"/galaxyatwar/getRatings/{token}"))
        self.assertIn(b"<level>5000</level>", (yield readBody(gaw)))
        qos = yield agent.request(b"GET", self.url("/qos/qos?prpt=3659&vers=1&qtyp=1"))
        self.assertIn(b"<numprobes>0</numprobes>", (yield readBody(qos)))
        content = yield agent.request(b"GET", self.url("/content/Promo_n7.dds"))
        self.assertEqual((yield readBody(content)), b"DDS banner")
        self.assertEqual(content.headers.getRawHeaders(b"content-type"),
                         [b"image/vnd-ms.dds"])
