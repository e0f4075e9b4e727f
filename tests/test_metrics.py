# -*- test-case-name: tests.test_metrics -*-
"""
Tests for L{pocketrelay.server.metrics}, the Blaze request observer hook
of L{BlazeProtocol}, L{Games.onQueueLeft} and the C{/metrics} resource of
L{pocketrelay.server.web.monitoring}.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import defer
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel
from twisted.python import usage
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.server import Site

from pocketrelay.blaze.frames import Frame, MessageType
from pocketrelay.blaze.ids import (
    AuthenticationCommand,
    Component,
    GameManagerCommand,
    GlobalError,
    UtilCommand,
)
from pocketrelay.blaze.protocol import BlazeError, BlazeProtocol
from pocketrelay.me3.messages import gamemanager
from pocketrelay.me3.messages.auth import CreateAccountParameters, SilentLoginRequest
from pocketrelay.me3.messages.gameenums import GameState
from pocketrelay.server.games import Games, MatchRules, PlayerInfo
from pocketrelay.server.metrics import REQUEST_BUCKETS, BlazeRequestCollector
from pocketrelay.server.tap import Options
from pocketrelay.server.web.monitoring import AddressFilter
from pocketrelay.server.web.site import buildRoot, buildSite
from pocketrelay.testing.fakes import RecordingDispatcher
from pocketrelay.testing.gameclient import GameClient
from pocketrelay.testing.logs import captureLogs
from pocketrelay.testing.server import BlazeConnection, ServerHarness
from pocketrelay.testing.web import HttpResponse, WebHarness, parseResponse

GM = Component.GAME_MANAGER


def scrape(harness: ServerHarness) -> dict[str, Any]:
    """
    Scrape the hub's metrics and parse them with the Prometheus parser:
    metric family name to family.
    """
    body, _ = harness.hub.metrics.exposition()
    return {family.name: family for family in text_string_to_metric_families(body.decode())}


def sample(
    families: Mapping[str, Any], name: str, labels: Mapping[str, str] | None = None
) -> float | None:
    """
    The value of the sample called C{name} whose labels include C{labels}.
    """
    for family in families.values():
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in (labels or {}).items()):
                return float(s.value)
    return None


def httpGet(
    site: Site,
    path: str,
    peer: IPv4Address | IPv6Address | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> HttpResponse:
    """
    Send C{GET path} to C{site} from C{peer} over a L{StringTransport} and
    parse the (synchronous) answer.
    """
    address = peer if peer is not None else IPv4Address("TCP", "127.0.0.1", 40000)
    channel = site.buildProtocol(address)
    assert channel is not None
    transport = StringTransport(
        peerAddress=address, hostAddress=IPv4Address("TCP", "127.0.0.1", 8080)
    )
    channel.makeConnection(transport)
    lines = [f"GET {path} HTTP/1.1", "Host: localhost", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    channel.dataReceived(("\r\n".join(lines) + "\r\n\r\n").encode())
    return parseResponse(transport.value())


def matchmakingRequest(durationMs: int = 1_800_000, map: str = "abstain") -> Any:
    """
    A startMatchmaking request as ME3 sends it.
    """
    rules = {
        "ME3_gameMapMatchRule": map,
        "ME3_gameEnemyTypeRule": "abstain",
        "ME3_gameDifficultyRule": "abstain",
        "ME3_rule_dlc2300": "required",
        "ME3_rule_dlc2500": "required",
    }
    criteria = gamemanager.MatchmakingCriteriaData(
        genericRules=[
            gamemanager.GenericRulePrefs(name=name, threshold="OSDK_matchAny", values=[value])
            for name, value in rules.items()
        ]
    )
    return gamemanager.StartMatchmakingRequest(criteria=criteria, durationMs=durationMs)


def createGame(connection: BlazeConnection) -> Any:
    """
    createGame with ME3's attributes; the reply.
    """
    return connection.call(
        GM,
        GameManagerCommand.CREATE_GAME,
        gamemanager.CreateGameRequest(attributes=dict(GameClient.ME3_ATTRIBUTES)),
        gamemanager.CreateGameResponse,
    )


def startMatchmaking(connection: BlazeConnection, **kwargs: Any) -> Any:
    return connection.call(
        GM,
        GameManagerCommand.START_MATCHMAKING,
        matchmakingRequest(**kwargs),
        gamemanager.StartMatchmakingResponse,
    )


class RequestObserverTests(SynchronousTestCase):
    """
    L{BlazeProtocol.requestObserver} sees every reply with its duration
    and error code.
    """

    def setUp(self) -> None:
        self.dispatcher = RecordingDispatcher()
        self.protocol = BlazeProtocol(self.dispatcher, clock=Clock())
        self.times = iter([10.0, 10.25, 20.0, 20.5, 30.0, 30.125])
        self.protocol.timer = lambda: next(self.times)
        self.observed: list[tuple[Frame, float, int]] = []
        self.protocol.requestObserver = lambda *args: self.observed.append(args)
        self.transport = StringTransport()
        self.protocol.makeConnection(self.transport)

    def request(self, component: int, command: int, seq: int) -> None:
        self.protocol.dataReceived(
            Frame(component, command, MessageType.REQUEST, seq).encode()
        )

    def test_replyObserved(self) -> None:
        """
        A reply is observed once, with the reply frame, the time between
        dispatch and reply measured with C{timer}, and error code 0.
        """
        self.dispatcher.routes[Component.UTIL, UtilCommand.PING] = lambda frame: b""
        self.request(Component.UTIL, UtilCommand.PING, 7)
        self.assertEqual(len(self.observed), 1)
        reply, seconds, error = self.observed[0]
        self.assertEqual(
            (reply.component, reply.command, reply.seq, reply.type),
            (Component.UTIL, UtilCommand.PING, 7, MessageType.REPLY),
        )
        self.assertEqual(seconds, 0.25)
        self.assertEqual(error, 0)

    def test_errorObserved(self) -> None:
        """
        An error reply is observed with its error code; an unexpected
        handler failure with C{SYSTEM}.
        """

        def refuse(frame: Frame) -> None:
            raise BlazeError(0x65)

        def crash(frame: Frame) -> None:
            raise RuntimeError("boom")

        self.dispatcher.routes[Component.GAME_MANAGER, 1] = refuse
        self.dispatcher.routes[Component.GAME_MANAGER, 2] = crash
        self.request(Component.GAME_MANAGER, 1, 1)
        self.request(Component.GAME_MANAGER, 2, 2)
        self.flushLoggedErrors(RuntimeError)
        self.assertEqual([(o[0].seq, o[1], o[2]) for o in self.observed],
                         [(1, 0.25, 0x65), (2, 0.5, GlobalError.SYSTEM)])

    def test_deferredReplyTimed(self) -> None:
        """
        The duration of a request answered later runs until its reply is
        written.
        """
        from twisted.internet.defer import Deferred

        pending: Deferred[bytes] = Deferred()
        self.dispatcher.routes[Component.UTIL, UtilCommand.PING] = lambda frame: pending
        self.request(Component.UTIL, UtilCommand.PING, 1)
        self.assertEqual(self.observed, [])
        pending.callback(b"")
        self.assertEqual([o[1] for o in self.observed], [0.25])

    def test_observerFailureIsLogged(self) -> None:
        """
        An observer that raises is logged; the reply is still written and
        later requests are still answered.
        """
        events = captureLogs(self)

        def broken(*args: Any) -> None:
            raise ValueError("observer bug")

        self.protocol.requestObserver = broken
        self.dispatcher.routes[Component.UTIL, UtilCommand.PING] = lambda frame: b""
        self.request(Component.UTIL, UtilCommand.PING, 1)
        self.request(Component.UTIL, UtilCommand.PING, 2)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 2)
        self.assertTrue(any(e.get("log_level") == LogLevel.critical for e in events))
        frames = self.transport.value()
        from pocketrelay.blaze.frames import FrameDecoder

        replies = FrameDecoder().feed(frames)
        self.assertEqual([f.seq for f in replies], [1, 2])
        self.assertTrue(all(f.type == MessageType.REPLY for f in replies))

    def test_noObserver(self) -> None:
        """
        Without an observer the timer is not read.
        """
        self.protocol.requestObserver = None
        self.dispatcher.routes[Component.UTIL, UtilCommand.PING] = lambda frame: b""
        self.request(Component.UTIL, UtilCommand.PING, 1)
        self.assertEqual(next(self.times), 10.0)


class BlazeRequestCollectorTests(SynchronousTestCase):
    """
    L{BlazeRequestCollector} counts requests, errors and latency per
    command with bounded labels.
    """

    def families(self, collector: BlazeRequestCollector) -> dict[str, Any]:
        return {f.name: f for f in collector.collect()}

    def test_histogramBuckets(self) -> None:
        """
        Durations land in the first bucket whose bound is not below them
        (C{le} semantics); buckets are cumulative, the sum is kept.
        """
        collector = BlazeRequestCollector(bounds=(0.001, 0.01, 0.1))
        ping = Frame(Component.UTIL, UtilCommand.PING, MessageType.REPLY, 1)
        for seconds in (0.0005, 0.001, 0.005, 0.5):
            collector.observe(ping, seconds, 0)
        histogram = self.families(collector)["pocketrelay_blaze_request_duration_seconds"]
        buckets = {
            s.labels["le"]: s.value for s in histogram.samples if s.name.endswith("_bucket")
        }
        self.assertEqual(buckets, {"0.001": 2, "0.01": 3, "0.1": 3, "+Inf": 4})
        total = [s.value for s in histogram.samples if s.name.endswith("_sum")]
        self.assertAlmostEqual(total[0], 0.5065)
        self.assertEqual(histogram.samples[0].labels["component"], "Util")
        self.assertEqual(histogram.samples[0].labels["command"], "ping")

    def test_unknownCommandsShareOneLabel(self) -> None:
        """
        Commands the server does not know are counted as
        C{component="other", command="other"} and are not remembered one
        by one, however many there are.
        """
        collector = BlazeRequestCollector()
        for component, command in [(0x7777, 1), (Component.UTIL, 0xEE), (0x1234, 0x5678)]:
            collector.observe(Frame(component, command, MessageType.REPLY, 1), 0.0, 0)
        requests = self.families(collector)["pocketrelay_blaze_requests"]
        self.assertEqual(
            [(s.labels, s.value) for s in requests.samples],
            [({"component": "other", "command": "other"}, 3.0)],
        )
        self.assertEqual(collector._byCommand, {})

    def test_errorsByName(self) -> None:
        """
        Error replies are counted by command and error name.
        """
        collector = BlazeRequestCollector()
        login = Frame(Component.AUTHENTICATION, AuthenticationCommand.LOGIN,
                      MessageType.ERROR_REPLY, 1)
        collector.observe(login, 0.01, 0x0C)
        collector.observe(login, 0.01, GlobalError.SYSTEM)
        collector.observe(login, 0.01, 0)
        errors = self.families(collector)["pocketrelay_blaze_request_errors"]
        self.assertEqual(
            sorted((s.labels["command"], s.labels["error"], s.value) for s in errors.samples),
            [("login", "invalidPassword", 1.0), ("login", "system", 1.0)],
        )
        requests = self.families(collector)["pocketrelay_blaze_requests"]
        self.assertEqual([s.value for s in requests.samples], [3.0])

    def test_errorLabelsBounded(self) -> None:
        """
        Past L{MAX_ERRORS_PER_COMMAND} distinct codes, further codes of a
        command are counted as C{error="other"}.
        """
        from pocketrelay.server.metrics import MAX_ERRORS_PER_COMMAND

        collector = BlazeRequestCollector()
        ping = Frame(Component.UTIL, UtilCommand.PING, MessageType.ERROR_REPLY, 1)
        for code in range(1, MAX_ERRORS_PER_COMMAND + 11):
            collector.observe(ping, 0.0, code)
        errors = self.families(collector)["pocketrelay_blaze_request_errors"]
        labels = [s.labels["error"] for s in errors.samples]
        self.assertEqual(len(labels), MAX_ERRORS_PER_COMMAND + 1)
        other = [s.value for s in errors.samples if s.labels["error"] == "other"]
        self.assertEqual(other, [10.0])

    def test_loginKinds(self) -> None:
        """
        Replies to login commands are reported to C{onLogin} with their
        kind and whether they succeeded; other commands are not.
        """
        collector = BlazeRequestCollector()
        seen: list[tuple[str, bool]] = []
        collector.onLogin = lambda kind, ok: seen.append((kind, ok))
        for command, error in [
            (AuthenticationCommand.LOGIN, 0),
            (AuthenticationCommand.LOGIN, 0x0C),
            (AuthenticationCommand.SILENT_LOGIN, 0),
            (AuthenticationCommand.CREATE_ACCOUNT, 0),
            (AuthenticationCommand.LOGOUT, 0),
        ]:
            collector.observe(
                Frame(Component.AUTHENTICATION, command, MessageType.REPLY, 1), 0.0, error
            )
        self.assertEqual(
            seen,
            [("password", True), ("password", False), ("token", True), ("create", True)],
        )

    def test_bucketsIncreasing(self) -> None:
        """
        Bucket bounds must be increasing.
        """
        self.assertRaises(ValueError, BlazeRequestCollector, (0.1, 0.01))
        self.assertEqual(BlazeRequestCollector().bounds, tuple(REQUEST_BUCKETS))


class QueueLeftTests(SynchronousTestCase):
    """
    L{Games.onQueueLeft} reports how each matchmaking wait ended.
    """

    def setUp(self) -> None:
        self.games = Games()
        self.left: list[tuple[int, str, float]] = []
        self.games.onQueueLeft = lambda *args: self.left.append(args)
        # No DLC required, so that any player matches.
        self.attributes = {
            key: value for key, value in GameClient.ME3_ATTRIBUTES.items()
            if not key.startswith("ME3_dlc")
        }

    def test_matchedAfterWaiting(self) -> None:
        """
        A queued player placed in a new game: C{matched}, with the time
        since it asked.
        """
        self.games.startMatchmaking(PlayerInfo(2, "two", 2), MatchRules(), 60_000, 100.0)
        self.assertEqual(self.left, [])
        self.games.create(PlayerInfo(1, "one", 1), self.attributes,
                          gamemanager.ME3_CREATE_GAME_SETTINGS, 107.5)
        self.assertEqual(self.left, [(2, "matched", 7.5)])

    def test_matchedAtOnce(self) -> None:
        """
        A player matched without queueing: C{matched} after 0 seconds.
        """
        self.games.create(PlayerInfo(1, "one", 1), self.attributes,
                          gamemanager.ME3_CREATE_GAME_SETTINGS, 100.0)
        self.games.startMatchmaking(PlayerInfo(2, "two", 2), MatchRules(), 60_000, 101.0)
        self.assertEqual(self.left, [(2, "matched", 0.0)])

    def test_timedOut(self) -> None:
        """
        A queued player past its deadline: C{timed_out}, when the tick
        notices.
        """
        self.games.startMatchmaking(PlayerInfo(2, "two", 2), MatchRules(), 5_000, 100.0)
        self.games.tick(104.0)
        self.assertEqual(self.left, [])
        self.games.tick(106.0)
        self.assertEqual(self.left, [(2, "timed_out", 6.0)])

    def test_cancelled(self) -> None:
        """
        Cancelling, leaving (disconnecting) or creating a game while
        queued: C{cancelled}.  Cancelling while not queued reports
        nothing.
        """
        from pocketrelay.me3.messages.gameenums import PlayerRemovedReason

        for player in (2, 3, 4):
            self.games.startMatchmaking(PlayerInfo(player, "p", player), MatchRules(), 60_000, 100.0)
        self.games.cancelMatchmaking(2, 101.0)
        self.games.leaveAll(3, PlayerRemovedReason.PLAYER_CONN_LOST, 102.0)
        self.games.create(PlayerInfo(4, "four", 4), self.attributes,
                          gamemanager.ME3_CREATE_GAME_SETTINGS, 103.0)
        self.games.cancelMatchmaking(5, 104.0)
        self.assertEqual(
            self.left, [(2, "cancelled", 1.0), (3, "cancelled", 2.0), (4, "cancelled", 3.0)]
        )
        self.games.checkInvariants()


class ServerMetricsTests(SynchronousTestCase):
    """
    The hub's metrics, scraped after driving sessions, logins, games and
    matchmaking through the in-memory server.
    """

    def setUp(self) -> None:
        self.harness = ServerHarness(FilePath(self.mktemp()))

    def test_ownRegistry(self) -> None:
        """
        The metrics live in the server's own registry, not the process-wide
        default one; two hubs do not share counters.
        """
        self.harness.connect(preAuth=True)
        other = ServerHarness(FilePath(self.mktemp()))
        self.assertIsNot(self.harness.hub.metrics.registry, REGISTRY)
        self.assertIsNone(REGISTRY.get_sample_value("pocketrelay_sessions"))
        self.assertEqual(self.harness.hub.metrics.sampleValue("pocketrelay_sessions"), 1)
        self.assertEqual(other.hub.metrics.sampleValue("pocketrelay_sessions"), 0)

    def test_sessionsAndPlayers(self) -> None:
        """
        C{pocketrelay_sessions} counts open connections and
        C{pocketrelay_players_online} logged-in ones, as they are at
        scrape time.
        """
        self.harness.connect()
        self.harness.loggedIn("a@example.org")
        b = self.harness.loggedIn("b@example.org")
        families = scrape(self.harness)
        self.assertEqual(sample(families, "pocketrelay_sessions"), 3)
        self.assertEqual(sample(families, "pocketrelay_players_online"), 2)
        self.assertEqual(sample(families, "pocketrelay_sessions_limit"), 5000)
        b.lose()
        families = scrape(self.harness)
        self.assertEqual(sample(families, "pocketrelay_sessions"), 2)
        self.assertEqual(sample(families, "pocketrelay_players_online"), 1)

    def test_logins(self) -> None:
        """
        C{pocketrelay_logins_total} counts password, token and create
        logins and the refused ones.
        """
        harness = self.harness
        connection = harness.loggedIn("a@example.org")
        refused = harness.connect(preAuth=True)
        self.assertRaises(BlazeError, refused.login, "a@example.org", "wrong")
        token = harness.signer.issueToken(connection.session.playerId)
        silent = harness.connect(preAuth=True)
        silent.call(Component.AUTHENTICATION, AuthenticationCommand.SILENT_LOGIN,
                    SilentLoginRequest(authToken=token))
        created = harness.connect(preAuth=True)
        created.call(Component.AUTHENTICATION, AuthenticationCommand.CREATE_ACCOUNT,
                     CreateAccountParameters(email="new@example.org", password="secret"))
        families = scrape(harness)
        values = {
            (s.labels["kind"], s.labels["result"]): s.value
            for s in families["pocketrelay_logins"].samples
            if s.name == "pocketrelay_logins_total"
        }
        self.assertEqual(values[("password", "ok")], 1)
        self.assertEqual(values[("password", "refused")], 1)
        self.assertEqual(values[("token", "ok")], 1)
        self.assertEqual(values[("create", "ok")], 1)
        self.assertEqual(values[("origin", "ok")], 0)

    def test_requestsPerCommand(self) -> None:
        """
        The latency histogram counts one request per command answered,
        and the requests counter agrees; errors are counted by name.
        """
        connection = self.harness.connect(preAuth=True)
        for _ in range(3):
            connection.call(Component.UTIL, UtilCommand.PING)
        connection.error(GM, GameManagerCommand.CREATE_GAME,
                         gamemanager.CreateGameRequest())
        families = scrape(self.harness)
        util = {"component": "Util", "command": "ping"}
        self.assertEqual(
            sample(families, "pocketrelay_blaze_request_duration_seconds_count", util), 3
        )
        self.assertEqual(
            sample(families, "pocketrelay_blaze_request_duration_seconds_bucket",
                   {**util, "le": "+Inf"}), 3
        )
        self.assertEqual(sample(families, "pocketrelay_blaze_requests_total", util), 3)
        self.assertEqual(
            sample(families, "pocketrelay_blaze_request_duration_seconds_count",
                   {"component": "Util", "command": "preAuth"}), 1
        )
        self.assertEqual(
            sample(families, "pocketrelay_blaze_request_errors_total",
                   {"component": "GameManager", "command": "createGame",
                    "error": "authenticationRequired"}), 1
        )

    def test_gamesAndMatchmaking(self) -> None:
        """
        Games by state, players in games, the matchmaking queue and the
        matchmaking wait histogram follow what players do.
        """
        harness = self.harness
        host = harness.loggedIn("host@example.org")
        waiting = harness.loggedIn("waiting@example.org")
        hopeless = harness.loggedIn("hopeless@example.org")
        startMatchmaking(waiting)
        startMatchmaking(hopeless, durationMs=20_000, map="nowhere")
        families = scrape(harness)
        self.assertEqual(sample(families, "pocketrelay_matchmaking_queue"), 2)
        self.assertEqual(sample(families, "pocketrelay_game_players"), 0)

        harness.clock.advance(12)
        createGame(host)
        game = next(iter(harness.hub.games.games.values()))
        families = scrape(harness)
        self.assertEqual(sample(families, "pocketrelay_matchmaking_queue"), 1)
        self.assertEqual(sample(families, "pocketrelay_game_players"), 2)
        states = {s.labels["state"]: s.value for s in families["pocketrelay_games"].samples}
        self.assertEqual(game.state, GameState.INITIALIZING)
        self.assertEqual(states["initializing"], 1)
        self.assertEqual(sum(states.values()), 1)
        self.assertEqual(states["preGame"], 0)
        matched = {"outcome": "matched"}
        self.assertEqual(
            sample(families, "pocketrelay_matchmaking_wait_seconds_count", matched), 1
        )
        self.assertEqual(
            sample(families, "pocketrelay_matchmaking_wait_seconds_sum", matched), 12
        )
        self.assertEqual(
            sample(families, "pocketrelay_matchmaking_wait_seconds_bucket",
                   {**matched, "le": "10.0"}), 0
        )
        self.assertEqual(
            sample(families, "pocketrelay_matchmaking_wait_seconds_bucket",
                   {**matched, "le": "30.0"}), 1
        )

        harness.clock.advance(10)
        harness.hub.tick()
        families = scrape(harness)
        self.assertEqual(sample(families, "pocketrelay_matchmaking_queue"), 0)
        self.assertEqual(
            sample(families, "pocketrelay_matchmaking_wait_seconds_sum",
                   {"outcome": "timed_out"}), 22
        )

    def test_everyMetricExposed(self) -> None:
        """
        One scrape names every metric of C{docs/metrics.md}, including the
        process metrics, in valid exposition format.
        """
        self.harness.loggedIn("a@example.org")
        families = scrape(self.harness)
        for name in [
            "pocketrelay_sessions", "pocketrelay_sessions_limit",
            "pocketrelay_players_online", "pocketrelay_games",
            "pocketrelay_game_players", "pocketrelay_matchmaking_queue",
            "pocketrelay_matchmaking_wait_seconds", "pocketrelay_logins",
            "pocketrelay_blaze_requests", "pocketrelay_blaze_request_errors",
            "pocketrelay_blaze_request_duration_seconds",
            "pocketrelay_http_responses", "pocketrelay_build_info",
        ]:
            self.assertIn(name, families)
        self.assertEqual(
            sample(families, "pocketrelay_build_info",
                   {"version": self.harness.hub.version}), 1
        )
        docs = FilePath(__file__).parent().sibling("docs").child("metrics.md").getContent()
        for name in families:
            if name.startswith("pocketrelay_"):
                self.assertIn(name.encode(), docs, name)

    def test_tunnelRelay(self) -> None:
        """
        Once a tunnel relay is watched, its open tunnels and counters are
        scraped from it.
        """
        from pocketrelay.server.tunnel import HttpTunnel, TunnelRelay

        relay = TunnelRelay(self.harness.hub, clock=self.harness.clock)
        self.harness.hub.metrics.watchTunnelRelay(relay)
        tunnel = HttpTunnel(None, "association", "203.0.113.9:1", 0.0)  # type: ignore[arg-type]
        relay.add(tunnel)
        relay.forward(tunnel, 1, b"datagram")
        families = scrape(self.harness)
        self.assertEqual(sample(families, "pocketrelay_tunnels", {"kind": "http"}), 1)
        self.assertEqual(sample(families, "pocketrelay_tunnels", {"kind": "udp"}), 0)
        self.assertEqual(sample(families, "pocketrelay_tunnels_opened_total"), 1)
        self.assertEqual(
            sample(families, "pocketrelay_tunnel_dropped_datagrams_total",
                   {"reason": "no player"}), 1
        )
        self.assertEqual(sample(families, "pocketrelay_tunnel_relayed_bytes_total"), 0)
        docs = FilePath(__file__).parent().sibling("docs").child("metrics.md").getContent()
        for name in families:
            if name.startswith("pocketrelay_"):
                self.assertIn(name.encode(), docs, name)

    def test_tunnelRelayFromBuildRoot(self) -> None:
        """
        The relay given to C{buildRoot} is watched.
        """
        from pocketrelay.server.tunnel import TunnelRelay

        relay = TunnelRelay(self.harness.hub, clock=self.harness.clock)
        buildRoot(self.harness.hub, tunnels=relay)
        self.assertEqual(self.harness.hub.metrics.sampleValue("pocketrelay_tunnels_opened_total"), 0)


class AddressFilterTests(SynchronousTestCase):
    """
    L{AddressFilter} parses C{metrics.allow} and checks addresses.
    """

    def test_addressesAndNetworks(self) -> None:
        """
        Single addresses and CIDR networks, IPv4 and IPv6, are allowed;
        IPv4-mapped IPv6 addresses count as IPv4.
        """
        allowed = AddressFilter.fromSetting(" 127.0.0.1, ::1 ,10.0.0.0/8,2001:db8::/32")
        for host in ("127.0.0.1", "::1", "10.200.3.4", "2001:db8::7", "::ffff:10.1.1.1"):
            self.assertTrue(allowed.allows(host), host)
        for host in ("127.0.0.2", "192.0.2.1", "2001:db9::1", "not an address", ""):
            self.assertFalse(allowed.allows(host), host)

    def test_everyone(self) -> None:
        """
        C{*} allows every address; an empty list none.
        """
        self.assertTrue(AddressFilter.fromSetting("*").allows("192.0.2.1"))
        self.assertFalse(AddressFilter.fromSetting("").allows("127.0.0.1"))

    def test_malformed(self) -> None:
        """
        An entry that is no address or network is refused, naming it; the
        server's options refuse it at start.
        """
        error = self.assertRaises(ValueError, AddressFilter.fromSetting, "127.0.0.1,localhost")
        self.assertIn("'localhost'", str(error))
        options = Options()
        error2 = self.assertRaises(
            usage.UsageError, options.parseOptions, ["--set", "metrics.allow=10.0.0.0/33"]
        )
        self.assertIn("metrics.allow", str(error2))


class MetricsResourceTests(SynchronousTestCase):
    """
    C{GET /metrics} on the server's site.
    """

    def site(self, **overrides: Any) -> tuple[ServerHarness, Site]:
        harness = ServerHarness(FilePath(self.mktemp()), overrides=list(overrides.items()))
        root = buildRoot(harness.hub)
        return harness, buildSite(root, Clock(), metrics=harness.hub.metrics)

    def test_loopbackAllowed(self) -> None:
        """
        By default the metrics are served to loopback clients (IPv4 and
        IPv6), in the Prometheus text format, not cached.
        """
        harness, site = self.site()
        harness.loggedIn("a@example.org")
        for peer in (IPv4Address("TCP", "127.0.0.1", 1), IPv6Address("TCP", "::1", 1)):
            response = httpGet(site, "/metrics", peer)
            self.assertEqual(response.code, 200)
            self.assertTrue(str(response.header("content-type")).startswith("text/plain"))
            self.assertEqual(response.header("cache-control"), "no-store")
            families = {f.name: f for f in text_string_to_metric_families(response.text)}
            self.assertEqual(sample(families, "pocketrelay_players_online"), 1)

    def test_otherAddressRefused(self) -> None:
        """
        A client outside C{metrics.allow} gets 403 and no metrics.
        """
        _, site = self.site()
        response = httpGet(site, "/metrics", IPv4Address("TCP", "203.0.113.9", 1))
        self.assertEqual(response.code, 403)
        self.assertNotIn(b"pocketrelay_", response.body)

    def test_configuredNetwork(self) -> None:
        """
        C{metrics.allow} replaces the default: a listed network is
        allowed, loopback no longer is; C{*} allows anyone.
        """
        _, site = self.site(**{"metrics.allow": "192.0.2.0/24"})
        self.assertEqual(httpGet(site, "/metrics", IPv4Address("TCP", "192.0.2.77", 1)).code, 200)
        self.assertEqual(httpGet(site, "/metrics").code, 403)
        _, site = self.site(**{"metrics.allow": "*"})
        self.assertEqual(httpGet(site, "/metrics", IPv4Address("TCP", "198.51.100.1", 1)).code, 200)

    def test_behindReverseProxy(self) -> None:
        """
        Behind a trusted reverse proxy the forwarded client address is
        checked, not the proxy's loopback address.
        """
        _, site = self.site(reverse_proxy=True)
        outside = httpGet(site, "/metrics", headers=[("X-Real-IP", "198.51.100.4")])
        self.assertEqual(outside.code, 403)
        local = httpGet(site, "/metrics", headers=[("X-Real-IP", "127.0.0.1")])
        self.assertEqual(local.code, 200)

    def test_openMetrics(self) -> None:
        """
        A scraper asking for OpenMetrics gets it.
        """
        _, site = self.site()
        response = httpGet(
            site, "/metrics", headers=[("Accept", "application/openmetrics-text; version=1.0.0")]
        )
        self.assertEqual(response.code, 200)
        self.assertTrue(
            str(response.header("content-type")).startswith("application/openmetrics-text")
        )
        self.assertTrue(response.body.endswith(b"# EOF\n"))

    def test_subpathNotFound(self) -> None:
        """
        Paths below C{/metrics} are not found.
        """
        _, site = self.site()
        self.assertEqual(httpGet(site, "/metrics/x").code, 404)

    def test_collectorFailure(self) -> None:
        """
        A collector that fails gives a logged 500, not a broken response.
        """
        harness, site = self.site()

        class Broken:
            def describe(self) -> list[Any]:
                return []

            def collect(self) -> Any:
                raise RuntimeError("collector bug")

        harness.hub.metrics.registry.register(Broken())
        response = httpGet(site, "/metrics")
        self.assertEqual(response.code, 500)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_httpResponsesCounted(self) -> None:
        """
        Finished HTTP responses are counted by status class.
        """
        _, site = self.site()
        httpGet(site, "/metrics")
        httpGet(site, "/metrics", IPv4Address("TCP", "203.0.113.9", 1))
        httpGet(site, "/api/server")
        families = {f.name: f for f in text_string_to_metric_families(
            httpGet(site, "/metrics").text)}
        self.assertEqual(sample(families, "pocketrelay_http_responses_total", {"code": "2xx"}), 2)
        self.assertEqual(sample(families, "pocketrelay_http_responses_total", {"code": "4xx"}), 1)
        self.assertEqual(sample(families, "pocketrelay_http_responses_total", {"code": "5xx"}), 0)


class MetricsOverHttpTests(TestCase):
    """
    C{/metrics} on the site the server builds, with its real threaded
    store.
    """

    timeout = 30

    @defer.inlineCallbacks
    def test_scrape(self) -> Any:
        """
        The site of L{WebHarness} serves the metrics to loopback and
        refuses them when C{metrics.allow} leaves loopback out.
        """
        harness = WebHarness(self)
        yield harness.start()
        response = yield harness.request("GET", "/metrics")
        self.assertEqual(response.code, 200)
        self.assertIn(b"pocketrelay_sessions 0.0", response.body)
        closed = WebHarness(self, metrics__allow="10.0.0.0/8")
        yield closed.start()
        refused = yield closed.request("GET", "/metrics")
        self.assertEqual(refused.code, 403)
