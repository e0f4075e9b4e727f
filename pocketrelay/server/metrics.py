# -*- test-case-name: tests.test_metrics -*-
"""
The server's Prometheus metrics (see C{docs/metrics.md}).

L{ServerMetrics} owns a L{CollectorRegistry} of its own (never the
process-wide default registry, so two servers in one process, or two
tests, do not mix), served at C{GET /metrics} by
L{pocketrelay.server.web.monitoring.MetricsResource}.

State the hub already keeps (sessions, logged-in players, games, the
matchmaking queue, tunnels) is read when Prometheus scrapes, by custom
collectors: nothing is counted twice and nothing can drift.  What happens
between scrapes is counted as it happens:

  - Blaze requests, their errors and their latency, through the
    C{requestObserver} hook of L{BlazeProtocol} (set by
    L{Hub.buildProtocol}); this runs for every request, so it keeps plain
    Python counters and bucket arrays (L{BlazeRequestCollector}) instead
    of the client library's locked metric objects;
  - logins by kind, derived from the replies to the login commands;
  - matchmaking waits, through L{Games.onQueueLeft};
  - HTTP responses by status class, through
    L{pocketrelay.server.web.monitoring.MeteredSite}.

Label values are bounded: commands the server does not know are counted
under C{component="other", command="other"}, so a client sending random
command numbers cannot grow the set of series.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from pocketrelay.blaze.ids import (
    AuthenticationCommand,
    Component,
    UserSessionsCommand,
    commandName,
    errorName,
)
from pocketrelay.me3.messages.gameenums import GameState

if TYPE_CHECKING:
    from pocketrelay.blaze.frames import Frame
    from pocketrelay.server.hub import Hub

__all__ = [
    "LOGIN_KINDS",
    "MATCHMAKING_BUCKETS",
    "MATCHMAKING_OUTCOMES",
    "REQUEST_BUCKETS",
    "BlazeRequestCollector",
    "EventCollector",
    "HubCollector",
    "ServerMetrics",
    "TunnelCollector",
]

#: Upper bounds (seconds) of the Blaze request latency buckets.  Most
#: requests are answered from memory in well under a millisecond; logins
#: hash a password (tens of milliseconds) and saves wait for a commit.
REQUEST_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)

#: Upper bounds (seconds) of the matchmaking wait buckets; the C{0} bucket
#: counts players placed at once, without waiting in the queue.
MATCHMAKING_BUCKETS: Final = (
    0.0, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
)

#: How a matchmaking wait ends (the C{outcome} label).
MATCHMAKING_OUTCOMES: Final = ("matched", "timed_out", "cancelled")

#: The login kind (C{kind} label) of each command that logs a session in.
LOGIN_KINDS: Final[dict[tuple[int, int], str]] = {
    (Component.AUTHENTICATION, AuthenticationCommand.LOGIN): "password",
    (Component.AUTHENTICATION, AuthenticationCommand.SILENT_LOGIN): "token",
    (Component.USER_SESSIONS, UserSessionsCommand.RESUME_SESSION): "token",
    (Component.AUTHENTICATION, AuthenticationCommand.CREATE_ACCOUNT): "create",
    (Component.AUTHENTICATION, AuthenticationCommand.ORIGIN_LOGIN): "origin",
}

#: The C{component} and C{command} label of commands the server does not
#: know.
OTHER: Final = "other"

#: Most distinct error labels kept per command; further error codes are
#: counted under C{error="other"}.
MAX_ERRORS_PER_COMMAND: Final = 32

#: The HTTP status classes counted (the C{code} label).
STATUS_CLASSES: Final = ("1xx", "2xx", "3xx", "4xx", "5xx")


def _commandLabels(component: int, command: int) -> tuple[str, str] | None:
    """
    The (component, command) label values of a known command, e.g.
    C{("Util", "ping")}, or L{None} for a command L{commandName} does not
    know (it shows unknown parts in hex).
    """
    componentLabel, _, commandLabel = commandName(component, command).partition(".")
    if componentLabel.startswith("0x") or commandLabel.startswith("0x"):
        return None
    return componentLabel, commandLabel


class _Histogram:
    """
    A histogram kept as non-cumulative bucket counts and their sum.
    """

    __slots__ = ("buckets", "total")

    def __init__(self, bucketCount: int) -> None:
        self.buckets = [0] * bucketCount
        self.total = 0.0

    def observe(self, bounds: tuple[float, ...], value: float) -> None:
        self.buckets[bisect_left(bounds, value)] += 1
        self.total += value

    def cumulative(self, les: Sequence[str]) -> list[tuple[str, float]]:
        running = 0
        result = []
        for le, n in zip(les, self.buckets, strict=True):
            running += n
            result.append((le, float(running)))
        return result


class _CommandStats(_Histogram):
    """
    The counters of one command: its latency histogram, and its error
    replies by code.
    """

    __slots__ = ("command", "component", "errors", "loginKind")

    def __init__(
        self, component: str, command: str, bucketCount: int, loginKind: str | None
    ) -> None:
        super().__init__(bucketCount)
        self.component = component
        self.command = command
        self.errors: dict[int, int] = {}
        self.loginKind = loginKind

    @property
    def count(self) -> int:
        return sum(self.buckets)


class BlazeRequestCollector(Collector):
    """
    Blaze requests per command: how many were answered, how many with an
    error reply (by error), and how long they took.

    L{observe} has the signature of L{BlazeProtocol.requestObserver}.

    @ivar bounds: the latency bucket upper bounds, in seconds.
    @ivar onLogin: L{None}, or called as C{onLogin(kind, succeeded)} for
        each reply to a command of L{LOGIN_KINDS}.
    """

    def __init__(self, bounds: Sequence[float] = REQUEST_BUCKETS) -> None:
        self.bounds = tuple(float(b) for b in bounds)
        if list(self.bounds) != sorted(set(self.bounds)):
            raise ValueError("bucket bounds must be increasing")
        self.onLogin: Any = None
        self._byCommand: dict[tuple[int, int], _CommandStats] = {}
        self._other = _CommandStats(OTHER, OTHER, len(self.bounds) + 1, None)

    def _statsFor(self, component: int, command: int) -> _CommandStats:
        labels = _commandLabels(component, command)
        if labels is None:
            # Not remembered by number: any number of unknown commands
            # share one entry.
            return self._other
        stats = _CommandStats(
            labels[0], labels[1], len(self.bounds) + 1, LOGIN_KINDS.get((component, command))
        )
        self._byCommand[(component, command)] = stats
        return stats

    def observe(self, reply: Frame, seconds: float, errorCode: int) -> None:
        """
        Count the reply to one request.

        @param reply: the reply frame (its component and command).
        @param seconds: how long the request took.
        @param errorCode: the error code, 0 for a normal reply.
        """
        stats = self._byCommand.get((reply.component, reply.command))
        if stats is None:
            stats = self._statsFor(reply.component, reply.command)
        # Inline rather than _Histogram.observe: this runs per request.
        stats.buckets[bisect_left(self.bounds, seconds)] += 1
        stats.total += seconds
        if errorCode:
            errors = stats.errors
            if errorCode in errors or len(errors) < MAX_ERRORS_PER_COMMAND:
                errors[errorCode] = errors.get(errorCode, 0) + 1
            else:
                errors[-1] = errors.get(-1, 0) + 1
        if stats.loginKind is not None and self.onLogin is not None:
            self.onLogin(stats.loginKind, not errorCode)

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "pocketrelay_blaze_requests",
            "Blaze requests answered, by command.",
            labels=("component", "command"),
        )
        errors = CounterMetricFamily(
            "pocketrelay_blaze_request_errors",
            "Blaze requests answered with an error reply, by command and error.",
            labels=("component", "command", "error"),
        )
        duration = HistogramMetricFamily(
            "pocketrelay_blaze_request_duration_seconds",
            "Time from taking a Blaze request off the connection's queue to "
            "writing its reply, by command.",
            labels=("component", "command"),
        )
        les = [floatToGoString(b) for b in self.bounds] + ["+Inf"]
        byCommand = [(key[0], stats) for key, stats in self._byCommand.items()]
        if self._other.count:
            byCommand.append((-1, self._other))
        for componentId, stats in byCommand:
            labels = (stats.component, stats.command)
            cumulative = stats.cumulative(les)
            requests.add_metric(labels, cumulative[-1][1])
            duration.add_metric(labels, cumulative, stats.total)
            for code, n in sorted(stats.errors.items()):
                if code == -1 or componentId == -1:
                    name = OTHER
                else:
                    name = errorName(componentId, code)
                errors.add_metric((*labels, name), n)
        yield requests
        yield errors
        yield duration


class HubCollector(Collector):
    """
    What the hub holds now, read at scrape time: sessions, logged-in
    players, games by state, players in games, the matchmaking queue.
    """

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        hub = self.hub
        yield GaugeMetricFamily(
            "pocketrelay_sessions",
            "Blaze sessions (game connections) open.",
            value=len(hub.sessions),
        )
        yield GaugeMetricFamily(
            "pocketrelay_sessions_limit",
            "Most Blaze sessions allowed at once (limits.max_sessions).",
            value=hub.settings["limits.max_sessions"],
        )
        yield GaugeMetricFamily(
            "pocketrelay_players_online",
            "Blaze sessions logged in to an account.",
            value=len(hub.online),
        )
        byState = dict.fromkeys(GameState, 0)
        players = 0
        games = hub.games
        for game in games.games.values():
            byState[game.state] = byState.get(game.state, 0) + 1
            players += len(game.players)
        gauge = GaugeMetricFamily(
            "pocketrelay_games",
            "Games, by Blaze game state.",
            labels=("state",),
        )
        for state, count in byState.items():
            gauge.add_metric((_stateLabel(state),), count)
        yield gauge
        yield GaugeMetricFamily(
            "pocketrelay_game_players",
            "Players in games.",
            value=players,
        )
        yield GaugeMetricFamily(
            "pocketrelay_matchmaking_queue",
            "Players waiting in the matchmaking queue.",
            value=len(games.queue),
        )
        info = GaugeMetricFamily(
            "pocketrelay_build_info",
            "Always 1; the version label is the server's version.",
            labels=("version",),
        )
        info.add_metric((hub.version,), 1)
        yield info


def _stateLabel(state: Any) -> str:
    name = getattr(state, "name", None)
    if name is None:
        return str(state)
    head, *rest = name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


class TunnelCollector(Collector):
    """
    The tunnel relay's counters and open tunnels, read at scrape time from
    a L{pocketrelay.server.tunnel.TunnelRelay} (its plain counter
    attributes: C{opened}, C{refused}, C{expired}, C{relayed},
    C{relayedBytes}, C{drops}, C{garbage}; its C{tunnels} by kind).
    """

    def __init__(self, relay: Any) -> None:
        self.relay = relay

    def collect(self) -> Iterator[Metric]:
        relay = self.relay
        byKind: dict[str, int] = {"udp": 0, "http": 0}
        for tunnel in relay.tunnels.values():
            kind = str(tunnel.kind)
            byKind[kind] = byKind.get(kind, 0) + 1
        gauge = GaugeMetricFamily(
            "pocketrelay_tunnels", "Tunnels open, by transport.", labels=("kind",)
        )
        for kind, count in sorted(byKind.items()):
            gauge.add_metric((kind,), count)
        yield gauge
        for name, attribute, documentation in (
            ("pocketrelay_tunnels_opened", "opened", "Tunnels opened."),
            ("pocketrelay_tunnels_refused", "refused",
             "Tunnels refused (bad association token, tunnel limit)."),
            ("pocketrelay_tunnels_expired", "expired",
             "Tunnels removed after a silence."),
            ("pocketrelay_tunnel_relayed_datagrams", "relayed",
             "Game datagrams delivered to another tunnel."),
            ("pocketrelay_tunnel_relayed_bytes", "relayedBytes",
             "Payload bytes of the game datagrams delivered."),
            ("pocketrelay_tunnel_garbage", "garbage",
             "Tunnel datagrams or frames that could not be decoded."),
        ):
            yield CounterMetricFamily(name, documentation, value=getattr(relay, attribute))
        dropped = CounterMetricFamily(
            "pocketrelay_tunnel_dropped_datagrams",
            "Game datagrams not delivered, by reason.",
            labels=("reason",),
        )
        for reason, count in sorted(relay.drops.items()):
            dropped.add_metric((str(reason),), count)
        yield dropped


class EventCollector(Collector):
    """
    Events counted as they happen, away from the Blaze hot path: logins,
    matchmaking waits and HTTP responses.  Every label combination is
    reported from the start, at 0, so that rates and alerts work before
    the first event.
    """

    def __init__(self, matchmakingBounds: Sequence[float] = MATCHMAKING_BUCKETS) -> None:
        self.matchmakingBounds = tuple(float(b) for b in matchmakingBounds)
        self.logins: dict[tuple[str, str], int] = {
            (kind, result): 0
            for kind in sorted(set(LOGIN_KINDS.values()))
            for result in ("ok", "refused")
        }
        self.matchmaking = {
            outcome: _Histogram(len(self.matchmakingBounds) + 1)
            for outcome in MATCHMAKING_OUTCOMES
        }
        self.httpResponses = dict.fromkeys(STATUS_CLASSES, 0)

    def loginObserved(self, kind: str, succeeded: bool) -> None:
        """
        A login command of C{kind} was answered.
        """
        key = (kind, "ok" if succeeded else "refused")
        if key in self.logins:
            self.logins[key] += 1

    def queueLeft(self, playerId: int, outcome: str, seconds: float) -> None:
        """
        L{Games.onQueueLeft}: a matchmaking wait ended.
        """
        histogram = self.matchmaking.get(outcome, self.matchmaking["cancelled"])
        histogram.observe(self.matchmakingBounds, seconds)

    def httpResponse(self, code: int) -> None:
        """
        An HTTP response with status C{code} was finished.
        """
        if 100 <= code < 600:
            self.httpResponses[f"{code // 100}xx"] += 1

    def collect(self) -> Iterator[Metric]:
        logins = CounterMetricFamily(
            "pocketrelay_logins",
            "Logins answered, by kind (password, token, create, origin) and "
            "result (ok, refused).",
            labels=("kind", "result"),
        )
        for labels, count in self.logins.items():
            logins.add_metric(labels, count)
        yield logins
        wait = HistogramMetricFamily(
            "pocketrelay_matchmaking_wait_seconds",
            "Time from asking for a match to being placed in a game, timing "
            "out or giving up, by outcome.",
            labels=("outcome",),
        )
        les = [floatToGoString(b) for b in self.matchmakingBounds] + ["+Inf"]
        for outcome, histogram in self.matchmaking.items():
            wait.add_metric((outcome,), histogram.cumulative(les), histogram.total)
        yield wait
        http = CounterMetricFamily(
            "pocketrelay_http_responses",
            "HTTP responses finished, by status class (upgraded connections "
            "are not counted).",
            labels=("code",),
        )
        for statusClass, count in self.httpResponses.items():
            http.add_metric((statusClass,), count)
        yield http


class ServerMetrics:
    """
    The server's metrics and the registry that serves them.

    @ivar registry: the L{CollectorRegistry} of this server only.
    @ivar requests: the L{BlazeRequestCollector}; its C{observe} is the
        C{requestObserver} of every Blaze connection.
    @ivar events: the L{EventCollector} (logins, matchmaking waits, HTTP
        responses).
    """

    def __init__(self, hub: Hub, processMetrics: bool = True) -> None:
        """
        @param hub: the hub whose state is reported.
        @param processMetrics: also report the process (CPU, memory, file
            descriptors) and the garbage collector.
        """
        self.hub = hub
        self.registry = CollectorRegistry(auto_describe=True)
        self.events = EventCollector()
        self.requests = BlazeRequestCollector()
        self.requests.onLogin = self.events.loginObserved
        self.registry.register(self.requests)
        self.registry.register(HubCollector(hub))
        self.registry.register(self.events)
        self._tunnelCollector: TunnelCollector | None = None
        if processMetrics:
            ProcessCollector(registry=self.registry)
            GCCollector(registry=self.registry)

    # -- hooks

    def queueLeft(self, playerId: int, outcome: str, seconds: float) -> None:
        """
        L{Games.onQueueLeft}: a matchmaking wait ended.
        """
        self.events.queueLeft(playerId, outcome, seconds)

    def httpResponse(self, code: int) -> None:
        """
        An HTTP response with status C{code} was finished.
        """
        self.events.httpResponse(code)

    def watchTunnelRelay(self, relay: Any) -> None:
        """
        Report the counters of the server's tunnel relay (a
        L{pocketrelay.server.tunnel.TunnelRelay}); called once, by whoever
        builds the relay.  A second call replaces the first relay.
        """
        if self._tunnelCollector is not None:
            self.registry.unregister(self._tunnelCollector)
        self._tunnelCollector = TunnelCollector(relay)
        self.registry.register(self._tunnelCollector)

    # -- exposition

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """
        The scrape answer: (body, content type), in the Prometheus text
        format or, when C{accept} asks for it, OpenMetrics.
        """
        encoder, contentType = choose_encoder(accept or "")
        return encoder(self.registry), contentType

    def sampleValue(
        self, name: str, labels: dict[str, str] | None = None
    ) -> float | None:
        """
        The current value of one sample (for tests and the dashboard).
        """
        return self.registry.get_sample_value(name, labels or {})
