# -*- test-case-name: tests.test_soak -*-
"""
Soak benchmark: N simulated ME3 players (default 500) log in, play and
leave in a loop for a long time (default 20 minutes) against a server
process, while the server's memory is sampled.

Each player, until the time is up:

  1. connects through the HTTP upgrade and runs preAuth, silentLogin (its
     stored token, as ME3 does), postAuth, updateNetworkInfo and
     userSettingsLoadAll;
  2. plays one to three games: hosts one (createGame) or matchmakes with
     mixed rules (startMatchmaking; after a matchmaking timeout it hosts,
     as players do), reports its mesh connections, changes attributes,
     pings through the match, finishes (the host sets IN_GAME_FINISHING,
     which makes the server store the game report; every player submits
     its offline game report and saves its progress) and leaves
     (removePlayer); a few players quit mid-match instead;
  3. disconnects, waits a moment, and starts again.

The server runs as C{twistd -n pocketrelay-server} in its own process on a
loopback port with a fresh data directory holding synthetic game data
(built with the codecs, so the server starts without warning) and its
default settings; its
log goes to a file whose warnings and errors are counted.  Each player
connects from its own loopback address (127.1.x.y), so the server's
per-address limits treat them as separate machines.  Its resident set size (RSS) is read
every C{--interval} seconds (default 10).  After a warm-up (the first 20%
of the run) the memory growth is the median of the last minute's samples
over the median of the first minute after the warm-up; the target is
at most 5%.  C{--tracemalloc} starts the server with C{tracemalloc} (through
a C{sitecustomize} module on its C{PYTHONPATH}; no server code is
involved) and prints the allocation sites that grew between the end of
the warm-up and the end of the run.

The run fails (exit status 1) when the memory grows by more than the
threshold (C{--threshold}), when the server logged any warning, error, critical event or
traceback, when too few memory samples were taken to judge (fewer than
L{MIN_WINDOW_SAMPLES} in either window, or under half of those the
interval promised: the load generator stalled), or when any player hit an
error: a failed or timed-out request, a reply or notification that did
not decode, or any other exception in its loop.  The figures are recorded
with L{benchmarks.report}.

Run: C{python -m benchmarks.soak [--players 500] [--duration 1200]}, or
C{--quick} (60 s, 100 players) for a smoke run (its memory growth is shown
but not judged: too short); C{make soak}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from typing import Any

import attrs
from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

from benchmarks import report as figures
from benchmarks import sessions
from benchmarks.sessions import freePort, percentile, rss, stopProcess
from pocketrelay.blaze import tdf
from pocketrelay.blaze.frames import Frame
from pocketrelay.blaze.ids import (
    Component,
    GameReportingCommand,
    errorName,
)
from pocketrelay.blaze.ids import GameManagerNotification as N
from pocketrelay.blaze.protocol import BlazeError
from pocketrelay.me3.messages import gamemanager
from pocketrelay.me3.messages.gamereporting import (
    GameReport,
    MassEffectPlayerReport,
    MassEffectReport,
    SubmitGameReportRequest,
)
from pocketrelay.testing.gameclient import GameClient
from pocketrelay.testing.gamedata import syntheticInstallation, writeTree

GM = Component.GAME_MANAGER

MAPS = ["map2", "map3", "map4", "map5", "map7", "map8"]
ENEMIES = ["enemy1", "enemy2", "enemy3", "enemy4"]
DIFFICULTIES = ["difficulty0", "difficulty1", "difficulty2"]

#: The benchmark's name in the figures.
NAME = "soak"

#: Memory samples each window (after the warm-up, at the end) must hold.
MIN_WINDOW_SAMPLES = 3

#: Seconds any one request may take before it counts as an error.
REQUEST_TIMEOUT = 30.0
#: Share of games that a player starts by hosting rather than matchmaking.
HOST_SHARE = 0.3
#: Seconds a seeker waits in matchmaking before hosting instead.
MATCHMAKING_SECONDS = 10
#: Seconds a host waits for players in its lobby (range).
LOBBY_SECONDS = (3.0, 8.0)
#: Seconds a match lasts for its host (range).
MATCH_SECONDS = (4.0, 12.0)
#: Share of joiners that quit in the middle of a match.
QUIT_SHARE = 0.1
#: Seconds between pings while waiting (the game pings every 15 s; the
#: server drops a connection silent for 60 s).
PING_SECONDS = 5.0

#: Written as C{sitecustomize.py} on the server's C{PYTHONPATH} with
#: C{--tracemalloc}: traces allocations and dumps a snapshot on SIGUSR2.
_SITECUSTOMIZE = '''\
import os, signal, tracemalloc

_directory = os.environ.get("SOAK_TRACEMALLOC_DIR")
if _directory:
    tracemalloc.start(int(os.environ.get("SOAK_TRACEMALLOC_FRAMES", "8")))
    _taken = [0]

    def _dump(signum, frame):
        _taken[0] += 1
        path = os.path.join(_directory, "snapshot-%d.bin" % _taken[0])
        tracemalloc.take_snapshot().dump(path + ".part")
        os.rename(path + ".part", path)

    signal.signal(signal.SIGUSR2, _dump)
'''


def playerAddress(n: int) -> str:
    """
    The loopback address player C{n} connects from (Linux routes all of
    127.0.0.0/8 to the loopback interface).
    """
    return f"127.{1 + n // 62500 % 250}.{n // 250 % 250}.{n % 250 + 1}"


def hostAttributes(rng: random.Random) -> dict[str, str]:
    attributes = dict(GameClient.ME3_ATTRIBUTES)
    attributes.update(
        ME3map=rng.choice(MAPS),
        ME3gameEnemyType=rng.choice(ENEMIES),
        ME3gameDifficulty=rng.choice(DIFFICULTIES),
    )
    return attributes


def seekerRules(rng: random.Random) -> dict[str, str]:
    def pick(values: list[str]) -> str:
        return "abstain" if rng.random() < 0.6 else rng.choice(values)

    return {
        "ME3_gameMapMatchRule": pick(MAPS),
        "ME3_gameEnemyTypeRule": pick(ENEMIES),
        "ME3_gameDifficultyRule": pick(DIFFICULTIES),
    }


def offlineReport(playerId: int, reportingId: int, rng: random.Random) -> SubmitGameReportRequest:
    """
    The offline game report a player submits after a match: its own N7
    rating and challenge points.
    """
    game = MassEffectReport(
        players={
            playerId: MassEffectPlayerReport(
                country=0x656E4E5A,
                challengePoints=rng.randint(0, 500_000),
                n7Rating=rng.randint(0, 20_000),
            )
        }
    )
    struct = tdf.decodeStruct(tdf.encode(game))
    return SubmitGameReportRequest(
        finishedStatus=1,
        report=GameReport(
            game=tdf.VariableValue(0x1C0001, tdf.Member("GAME", tdf.TdfType.STRUCT, struct)),
            gameReportingId=reportingId,
        ),
    )


class RequestFailed(Exception):
    """
    A request of a player failed; L{Soak.timed} has counted it already.
    """


@attrs.frozen
class MemoryGrowth:
    """
    The server's memory growth over a run.

    @ivar first: median RSS (bytes) of the first window after the warm-up.
    @ivar last: median RSS (bytes) of the last window.
    @ivar firstCount: samples in the first window.
    @ivar lastCount: samples in the last window.
    """

    first: float
    last: float
    firstCount: int
    lastCount: int

    @property
    def growth(self) -> float:
        """
        Relative growth, e.g. 0.03 for 3%.
        """
        return (self.last - self.first) / self.first if self.first else float("nan")


def memoryGrowth(
    samples: list[tuple[float, int]], warmup: float, end: float, window: float = 60.0
) -> MemoryGrowth | None:
    """
    Compare the median of the samples in the first C{window} seconds after
    C{warmup} with the median of those in the last C{window} seconds
    before C{end}.  The windows are shortened so that they do not overlap
    (short runs).  L{None} when either window has no sample.

    @param samples: (seconds since the start, RSS bytes).
    """
    window = min(window, (end - warmup) / 2)
    first = [value for at, value in samples if warmup <= at < warmup + window]
    last = [value for at, value in samples if end - window <= at <= end]
    if not first or not last:
        return None
    return MemoryGrowth(statistics.median(first), statistics.median(last), len(first), len(last))


@attrs.define
class Stats:
    """
    What the players did.
    """

    logins: int = 0
    sessions: int = 0
    requests: int = 0
    notifications: int = 0
    gamesHosted: int = 0
    gamesFinished: int = 0
    matchmakingPlaced: int = 0
    matchmakingTimeouts: int = 0
    reports: int = 0
    quits: int = 0
    errors: Counter[str] = attrs.Factory(Counter)
    latency: dict[str, list[float]] = attrs.Factory(lambda: defaultdict(list))


class Soak:
    """
    The players and the measurements of one run.
    """

    def __init__(
        self,
        reactor: Any,
        port: int,
        players: int,
        duration: float,
        seed: int,
    ) -> None:
        self.reactor = reactor
        self.port = port
        self.players = players
        self.duration = duration
        self.rng = random.Random(seed)
        self.stats = Stats()
        self.tokens: dict[int, str] = {}
        self.clients: set[GameClient] = set()
        self.start = 0.0
        self.deadline = 0.0

    # -- plumbing

    def now(self) -> float:
        return float(self.reactor.seconds())

    def running(self) -> bool:
        return self.now() < self.deadline

    def sleep(self, seconds: float) -> defer.Deferred[None]:
        return task.deferLater(self.reactor, seconds, lambda: None)

    @defer.inlineCallbacks
    def timed(self, name: str, d: defer.Deferred[Any]) -> Any:
        """
        Wait for a request's reply (bounded), counting it and its latency;
        a failure is counted under C{name} and raised as L{RequestFailed}.
        """
        start = time.perf_counter()
        d.addTimeout(REQUEST_TIMEOUT, self.reactor)
        try:
            result = yield d
        except BlazeError as e:
            component = e.frame.component if e.frame is not None else 0
            self.stats.errors[f"{name}: {errorName(component, e.code)}"] += 1
            raise RequestFailed(name) from e
        except Exception as e:
            self.stats.errors[f"{name}: {type(e).__name__}"] += 1
            raise RequestFailed(name) from e
        finally:
            self.stats.requests += 1
        self.stats.latency[name].append((time.perf_counter() - start) * 1000)
        return result

    @defer.inlineCallbacks
    def connect(self, n: int) -> Any:
        """
        Connect player C{n} from its own loopback address (127.1.x.y), so
        that the server's per-address limits see one player per address,
        as in real life.
        """
        client = GameClient(clock=self.reactor)
        endpoint = TCP4ClientEndpoint(
            self.reactor, "127.0.0.1", self.port, timeout=30, bindAddress=(playerAddress(n), 0)
        )
        upgrading = client.upgrading()
        d = connectProtocol(endpoint, upgrading)
        d.addCallback(lambda _: upgrading.upgraded)
        yield self.timed("connect+upgrade", d)
        self.clients.add(client)
        return client

    def countFailure(self, where: str, error: BaseException) -> None:
        """
        Count an exception of a player that L{timed} has not counted (a
        reply or notification that did not decode, a missing account, a
        bug here): nothing a player hits goes unseen.
        """
        if not isinstance(error, RequestFailed):
            self.stats.errors[f"{where}: {type(error).__name__}"] += 1

    def disconnect(self, client: GameClient) -> None:
        self.stats.notifications += len(client.notifications)
        client.notifications.clear()
        self.clients.discard(client)
        client.disconnect()

    def seen(self, client: GameClient, command: int) -> list[Frame]:
        return [f for f in client.notifications if (f.component, f.command) == (GM, command)]

    @defer.inlineCallbacks
    def wait(self, client: GameClient, seconds: float, until: Any = None) -> Any:
        """
        Wait C{seconds} (or until C{until()} is true), pinging every
        L{PING_SECONDS}.
        """
        end = self.now() + seconds
        lastPing = self.now()
        while self.now() < end:
            if until is not None and until():
                return True
            if client.lost:
                self.stats.errors["connection lost while waiting"] += 1
                raise RequestFailed("connection lost")
            if self.now() - lastPing >= PING_SECONDS:
                lastPing = self.now()
                yield self.timed("ping", client.ping())
            yield self.sleep(min(0.5, max(0.0, end - self.now())))
        return bool(until is not None and until())

    # -- accounts

    @defer.inlineCallbacks
    def createAccount(self, n: int, semaphore: defer.DeferredSemaphore) -> Any:
        yield semaphore.acquire()
        try:
            client = yield self.connect(n)
            yield self.timed("preAuth", client.preAuth())
            created = yield self.timed(
                "createAccount",
                client.createAccount(f"soak{n}@bench.example", f"soak-password-{n}"),
            )
            self.tokens[n] = created.sessionKey
            self.disconnect(client)
        except Exception as e:
            self.countFailure("createAccount", e)
            raise
        finally:
            semaphore.release()

    # -- a player

    @defer.inlineCallbacks
    def player(self, n: int, delay: float) -> Any:
        """
        One player's loop, until the run is over.
        """
        rng = random.Random(self.rng.random())
        try:
            yield self.sleep(delay)
            while self.running():
                client: GameClient | None = None
                try:
                    client = yield self.connect(n)
                    yield self.session(client, n, rng)
                except Exception as e:
                    # A real game reconnects after a while.
                    self.countFailure("player", e)
                finally:
                    if client is not None:
                        self.disconnect(client)
                if self.running():
                    yield self.sleep(rng.uniform(1.0, 3.0))
        except Exception as e:
            self.countFailure("player loop", e)

    @defer.inlineCallbacks
    def session(self, client: GameClient, n: int, rng: random.Random) -> Any:
        yield self.timed("preAuth", client.preAuth())
        yield self.timed("silentLogin", client.silentLogin(self.tokens[n]))
        self.stats.logins += 1
        self.stats.sessions += 1
        yield self.timed("postAuth", client.postAuth())
        yield self.timed(
            "updateNetworkInfo",
            client.updateNetworkInfo(f"10.{n // 250 % 250}.{n % 250}.{rng.randint(2, 250)}"),
        )
        yield self.timed("userSettingsLoadAll", client.loadSettings())
        for _ in range(rng.randint(1, 3)):
            if not self.running():
                break
            yield self.game(client, rng)
            yield self.wait(client, rng.uniform(0.5, 2.0))
        if rng.random() < 0.5 and self.running():
            yield self.timed("logout", client.logout())

    @defer.inlineCallbacks
    def game(self, client: GameClient, rng: random.Random) -> Any:
        client.notifications.clear()
        if rng.random() < HOST_SHARE:
            yield self.host(client, rng)
            return
        yield self.timed(
            "startMatchmaking",
            client.startMatchmaking(seekerRules(rng), durationMs=MATCHMAKING_SECONDS * 1000),
        )
        yield self.wait(
            client,
            MATCHMAKING_SECONDS + 5,
            lambda: self.seen(client, N.GAME_SETUP) or self.seen(client, N.MATCHMAKING_FAILED),
        )
        setup = self.seen(client, N.GAME_SETUP)
        if not setup:
            if not self.seen(client, N.MATCHMAKING_FAILED):
                self.stats.errors["matchmaking: no answer"] += 1
            self.stats.matchmakingTimeouts += 1
            if self.running():
                client.notifications.clear()
                yield self.host(client, rng)
            return
        self.stats.matchmakingPlaced += 1
        yield self.join(client, setup[0], rng)

    @defer.inlineCallbacks
    def host(self, client: GameClient, rng: random.Random) -> Any:
        created = yield self.timed("createGame", client.createGame(hostAttributes(rng)))
        gameId = created.gameId
        self.stats.gamesHosted += 1
        meshed: set[int] = set()

        @defer.inlineCallbacks
        def meshNewPlayers() -> Any:
            for frame in self.seen(client, N.PLAYER_JOINING):
                joining = tdf.decode(gamemanager.NotifyPlayerJoining, frame.body)
                playerId = joining.player.playerId
                if playerId not in meshed:
                    meshed.add(playerId)
                    yield self.timed("updateMeshConnection", client.updateMesh(gameId, playerId))

        # The lobby: players arrive (mesh connections reported) until full
        # or until the host starts anyway.
        lobbyEnd = self.now() + rng.uniform(*LOBBY_SECONDS)
        while self.now() < lobbyEnd and len(meshed) < 3 and self.running():
            yield self.wait(client, 0.5)
            yield meshNewPlayers()
        yield self.timed(
            "setGameAttributes", client.setGameAttributes(gameId, {"ME3gameState": "IN_GAME"})
        )
        matchEnd = self.now() + rng.uniform(*MATCH_SECONDS)
        while self.now() < matchEnd and self.running():
            yield self.wait(client, 1.0)
            yield meshNewPlayers()
        yield self.timed(
            "setGameAttributes",
            client.setGameAttributes(gameId, {"ME3gameState": "IN_GAME_FINISHING"}),
        )
        self.stats.gamesFinished += 1
        reportingId = 0
        for frame in self.seen(client, N.GAME_SETUP):
            reportingId = tdf.decode(gamemanager.NotifyGameSetup, frame.body).game.reportingId
        yield self.finish(client, gameId, reportingId, rng)

    @defer.inlineCallbacks
    def join(self, client: GameClient, setupFrame: Frame, rng: random.Random) -> Any:
        setup = tdf.decode(gamemanager.NotifyGameSetup, setupFrame.body)
        gameId = setup.game.gameId
        hostId = setup.players[0].playerId if setup.players else 0
        if hostId and hostId != client.userId:
            yield self.timed("updateMeshConnection", client.updateMesh(gameId, hostId))

        def finishing() -> bool:
            # The host finished the match, or left (then the players
            # leave too), or the run is over.
            if not self.running():
                return True
            for frame in self.seen(client, N.GAME_ATTRIB_CHANGE):
                change = tdf.decode(gamemanager.NotifyGameAttribChange, frame.body)
                if change.attributes.get("ME3gameState") == "IN_GAME_FINISHING":
                    return True
            for frame in self.seen(client, N.PLAYER_REMOVED):
                if tdf.decode(gamemanager.NotifyPlayerRemoved, frame.body).playerId == hostId:
                    return True
            return False

        if rng.random() < QUIT_SHARE:
            # Quits mid-match.
            yield self.wait(client, rng.uniform(1.0, 5.0), finishing)
            self.stats.quits += 1
            yield self.timed("removePlayer", client.removePlayer(gameId, client.userId or 0))
            return
        yield self.wait(client, LOBBY_SECONDS[1] + MATCH_SECONDS[1] + 10, finishing)
        yield self.finish(client, gameId, setup.game.reportingId, rng)

    @defer.inlineCallbacks
    def finish(self, client: GameClient, gameId: int, reportingId: int, rng: random.Random) -> Any:
        """
        After the match: the offline report, the progress save, leaving.
        """
        yield self.timed(
            "submitOfflineGameReport",
            client.request(
                Component.GAME_REPORTING,
                GameReportingCommand.SUBMIT_OFFLINE_GAME_REPORT,
                offlineReport(client.userId or 0, reportingId, rng),
            ),
        )
        self.stats.reports += 1
        progress = f"20;4;{rng.randint(0, 10**7)};-1;0;0;0;{rng.randint(1, 20)};3600;0;" + "0" * 200
        yield self.timed("userSettingsSave", client.saveSetting("Base", progress))
        yield self.timed("removePlayer", client.removePlayer(gameId, client.userId or 0))


def startSoakServer(
    port: int, dataDir: str, logPath: str, traceDir: str | None = None
) -> subprocess.Popen[bytes]:
    """
    Start the server (L{sessions.startServer}) on 127.0.0.1:C{port}, with
    the public games list on, and wait until it accepts connections.  Its
    data directory C{dataDir} first gets synthetic game data
    (L{pocketrelay.testing.gamedata.syntheticInstallation}), so the server
    starts without the warning naming missing game data.  Its log (info
    level) goes to C{logPath}; with C{traceDir}, it traces its memory
    allocations there.
    """
    writeTree(dataDir, syntheticInstallation())
    firstPaths: list[str] = []
    if traceDir is not None:
        with open(os.path.join(traceDir, "sitecustomize.py"), "w") as f:
            f.write(_SITECUSTOMIZE)
        firstPaths.append(traceDir)
    env = sessions.serverEnvironment(firstPaths)
    if traceDir is not None:
        env["SOAK_TRACEMALLOC_DIR"] = traceDir
    return sessions.startServer(
        port, dataDir, ["--set", "api.public_games=true"], logLevel="info", logPath=logPath,
        environment=env,
    )


def liveGames(port: int) -> int | None:
    """
    The number of live games the server reports (C{GET /api/games}, with
    C{api.public_games} on), or L{None} if it cannot be read.
    """
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/games?count=1", timeout=10) as r:
            return int(json.load(r)["total_items"])
    except Exception:
        return None


def logCounts(logPath: str) -> Counter[str]:
    """
    Count the server's log lines by level (C{warn}, C{error}, C{critical})
    and tracebacks.
    """
    counts: Counter[str] = Counter()
    with open(logPath, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", "replace")
            if "Traceback (most recent call last)" in line:
                counts["tracebacks"] += 1
            for level in ("warn", "error", "critical"):
                if f"#{level}]" in line:
                    counts[level] += 1
    return counts


def compareSnapshots(first: str, last: str, top: int = 20) -> list[str]:
    """
    The allocation sites that grew most between two tracemalloc
    snapshot files.
    """
    import tracemalloc

    before = tracemalloc.Snapshot.load(first)
    after = tracemalloc.Snapshot.load(last)
    lines = []
    for stat in after.compare_to(before, "traceback")[:top]:
        frame = stat.traceback[-1] if stat.traceback else None
        lines.append(
            f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+7d} blocks  "
            f"{frame.filename if frame else '?'}:{frame.lineno if frame else 0}"
        )
        for entry in list(stat.traceback)[-4:-1][::-1]:
            lines.append(f"{'':34}from {entry.filename}:{entry.lineno}")
    return lines


@defer.inlineCallbacks
def snapshot(process: subprocess.Popen[bytes], traceDir: str, number: int, reactor: Any) -> Any:
    """
    Ask the server for tracemalloc snapshot C{number}; fire with its path
    (or L{None} after 120 s).
    """
    path = os.path.join(traceDir, f"snapshot-{number}.bin")
    process.send_signal(signal.SIGUSR2)
    for _ in range(1200):
        if os.path.exists(path):
            return path
        yield task.deferLater(reactor, 0.1, lambda: None)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=500)
    parser.add_argument("--duration", type=float, default=1200.0, help="seconds of play")
    parser.add_argument("--quick", action="store_true", help="60 s with 100 players")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between RSS samples")
    parser.add_argument("--warmup", type=float, default=0.2, help="share of the run ignored")
    parser.add_argument("--threshold", type=float, default=0.05, help="allowed memory growth")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tracemalloc", action="store_true",
                        help="trace the server's allocations and show what grew")
    args = parser.parse_args(argv)
    players, duration, interval = args.players, args.duration, args.interval
    if args.quick:
        players, duration, interval = 100, 60.0, min(interval, 5.0)

    from twisted.internet import reactor

    port = freePort()
    samples: list[tuple[float, int]] = []
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="pocketrelay-soak-") as work:
        dataDir = os.path.join(work, "data")
        logPath = os.path.join(work, "server.log")
        traceDir = work if args.tracemalloc else None
        server = startSoakServer(port, dataDir, logPath, traceDir)
        soak = Soak(reactor, port, players, duration, args.seed)
        try:

            lastReport = [0.0]

            def sample() -> None:
                at = soak.now() - soak.start
                samples.append((at, rss(server.pid)))
                if at - lastReport[0] >= 60 or not lastReport[0]:
                    lastReport[0] = at or 1e-9
                    stats = soak.stats
                    print(f"  {at:6.0f} s: server RSS {samples[-1][1] / 2**20:.1f} MiB, "
                          f"{len(soak.clients)} connected, {stats.logins} logins, "
                          f"{stats.gamesHosted} games, {stats.requests} requests, "
                          f"{sum(stats.errors.values())} errors", flush=True)

            @defer.inlineCallbacks
            def run() -> Any:
                print(f"creating {players} accounts...", flush=True)
                semaphore = defer.DeferredSemaphore(50)
                started = time.perf_counter()
                yield defer.gatherResults(
                    [soak.createAccount(n, semaphore) for n in range(players)],
                    consumeErrors=True,
                )
                results["accounts"] = time.perf_counter() - started
                results["rssAccounts"] = rss(server.pid)
                results["accountErrors"] = sum(soak.stats.errors.values())
                results["cpuStart"] = _cpuSeconds(server.pid)
                soak.stats = Stats()
                soak.start = soak.now()
                soak.deadline = soak.start + duration
                print(f"playing for {duration:g} s...", flush=True)
                sampler = task.LoopingCall(sample)
                sampler.clock = reactor
                sampler.start(interval, now=True)
                if traceDir is not None:
                    warm = task.deferLater(reactor, duration * args.warmup, lambda: None)
                    warm.addCallback(lambda _: snapshot(server, traceDir, 1, reactor))
                    warm.addCallback(lambda path: results.update(snapshotWarm=path))
                ramp = min(10.0, duration / 10)
                loops = [soak.player(n, ramp * n / players) for n in range(players)]
                done = defer.gatherResults(loops, consumeErrors=True)
                yield task.deferLater(reactor, duration, lambda: None)
                results["cpu"] = _cpuSeconds(server.pid)
                # The run is over: players finish what they were doing.
                drainStart = soak.now()
                yield defer.DeferredList([done.addTimeout(90, reactor)], consumeErrors=True)
                results["drain"] = soak.now() - drainStart
                sampler.stop()
                for client in list(soak.clients):
                    soak.disconnect(client)
                yield task.deferLater(reactor, 3.0, lambda: None)
                results["rssIdle"] = rss(server.pid)
                results["liveGames"] = yield deferToThread(liveGames, port)
                if traceDir is not None:
                    results["snapshotEnd"] = yield snapshot(server, traceDir, 2, reactor)

            outcome: list[Any] = []
            d = run()
            d.addBoth(outcome.append)
            d.addBoth(lambda _: reactor.stop())
            reactor.run()
            if outcome and isinstance(outcome[0], Failure):
                print(outcome[0].getTraceback())
                return 1
            snapshotLines: list[str] = []
            if results.get("snapshotWarm") and results.get("snapshotEnd"):
                snapshotLines = compareSnapshots(results["snapshotWarm"], results["snapshotEnd"])
        finally:
            stopProcess(server)
        serverLog = logCounts(logPath)

    return report(args, players, duration, interval, soak.stats, samples, results, serverLog,
                  snapshotLines)


def _cpuSeconds(pid: int) -> float:
    """
    User + system CPU seconds used by a process so far.
    """
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def report(
    args: argparse.Namespace,
    players: int,
    duration: float,
    interval: float,
    stats: Stats,
    samples: list[tuple[float, int]],
    results: dict[str, Any],
    serverLog: Counter[str],
    snapshotLines: list[str],
) -> int:
    mib = 2**20
    warmup = duration * args.warmup
    print()
    print(f"== soak: {players} players for {duration:g} s (warm-up {warmup:g} s), seed {args.seed}")
    print(f"accounts: {players} created in {results['accounts']:.1f} s (argon2id, before "
          f"the run), {results['accountErrors']} errors")
    print(f"logins: {stats.logins} ({stats.logins / duration:.1f}/s); "
          f"notifications received: {stats.notifications}")
    print(f"games: {stats.gamesHosted} hosted ({stats.gamesHosted / duration * 60:.0f}/min), "
          f"{stats.gamesFinished} finished by their host, {stats.matchmakingPlaced} "
          f"matchmaking placements, {stats.matchmakingTimeouts} matchmaking timeouts "
          f"(then hosted), {stats.quits} quits mid-match, {stats.reports} game reports")
    cpu = results["cpu"] - results["cpuStart"]
    print(f"requests: {stats.requests} ({stats.requests / duration:.0f}/s); server CPU "
          f"{cpu:.0f} s ({cpu / duration * 100:.0f}% of one core)")
    errors = sum(stats.errors.values())
    print(f"errors: {errors}" + (" " + ", ".join(
        f"{name} x{count}" for name, count in stats.errors.most_common(12)) if errors else ""))
    print(f"{'command':<26}{'count':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for name, values in sorted(stats.latency.items(), key=lambda kv: -len(kv[1])):
        print(f"{name:<26}{len(values):>8}{statistics.median(values):>9.1f}"
              f"{percentile(values, 0.99):>9.1f}{max(values):>9.1f}")
    print(f"server RSS (MiB) every {interval:g} s: "
          + " ".join(f"{value / mib:.0f}" for _, value in samples))
    print(f"server RSS: {results['rssAccounts'] / mib:.1f} MiB after account creation, "
          f"{results['rssIdle'] / mib:.1f} MiB after every player left; live games then: "
          f"{results['liveGames']}; drain {results['drain']:.1f} s")
    print(f"server log: {serverLog['warn']} warnings, {serverLog['error']} errors, "
          f"{serverLog['critical']} critical, {serverLog['tracebacks']} tracebacks")
    recorded = judge(args, duration, interval, stats, samples, serverLog,
                     results["accountErrors"])
    if snapshotLines:
        print("tracemalloc: allocation sites that grew after the warm-up:")
        for line in snapshotLines:
            print("  " + line)
    return figures.exitCode(recorded)


def judge(
    args: argparse.Namespace,
    duration: float,
    interval: float,
    stats: Stats,
    samples: list[tuple[float, int]],
    serverLog: Counter[str],
    accountErrors: int = 0,
) -> list[figures.Figure]:
    """
    Record the run's figures with their targets: no error creating the
    accounts, no player error, no
    warning, error, critical event or traceback in the server's log,
    enough memory samples, and (except in a quick run) memory growth under
    C{args.threshold} (as a percentage, at most).
    """
    recorded = [
        figures.record(NAME, "account creation errors", accountErrors, "", atMost=0),
        figures.record(NAME, "player errors (requests, decoding, other)",
                       sum(stats.errors.values()), "", atMost=0),
        figures.record(NAME, "server log warnings", serverLog["warn"], "", atMost=0),
        figures.record(NAME, "server log errors and critical events",
                       serverLog["error"] + serverLog["critical"], "", atMost=0),
        figures.record(NAME, "server log tracebacks", serverLog["tracebacks"], "", atMost=0),
        figures.record(NAME, "memory samples", len(samples), "",
                       atLeast=max(2 * MIN_WINDOW_SAMPLES, duration / interval / 2)),
    ]
    warmup = duration * args.warmup
    growth = memoryGrowth(samples, warmup, duration)
    if growth is None:
        print("memory growth: no sample in a window")
        recorded.append(figures.record(NAME, "samples in the thinner memory window", 0, "",
                                       atLeast=MIN_WINDOW_SAMPLES))
        return recorded
    mib = 2**20
    print(f"memory growth after warm-up: {growth.first / mib:.1f} MiB (median of "
          f"{growth.firstCount} samples) -> {growth.last / mib:.1f} MiB (median of "
          f"{growth.lastCount})" + (" (quick run: too short to judge)" if args.quick else ""))
    recorded.append(figures.record(NAME, "samples in the thinner memory window",
                                   min(growth.firstCount, growth.lastCount), "",
                                   atLeast=MIN_WINDOW_SAMPLES))
    percent = growth.growth * 100
    if args.quick:
        recorded.append(figures.record(NAME, "server memory growth after warm-up (quick)",
                                       percent, "%"))
    else:
        recorded.append(figures.record(NAME, "server memory growth after warm-up", percent,
                                       "%", atMost=args.threshold * 100))
    return recorded


if __name__ == "__main__":
    raise SystemExit(main())
