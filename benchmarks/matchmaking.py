# -*- test-case-name: tests.test_benchmarks -*-
"""
Matchmaking benchmark: N simulated players (default 2000), half hosting
lobbies and half matchmaking with mixed rules, against a server process.

Phases: accounts are created (not timed); all players connect and log in
with their tokens; then hosts create lobbies with random map / enemy /
difficulty while seekers start matchmaking with random rules (some
"abstain"), in random order, arriving evenly over C{--spread} seconds
(default 10 s, i.e. 200 arrivals a second for 2000 players; 0 sends every
request at once, which measures queueing behind the burst rather than
service time).  Measured: the time from each startMatchmaking to
its NotifyGameSetup (p50/p99), the time until every seeker is in a game,
and how many lobbies were filled.  A seeker placed in a lobby that its
host created after the seeker started waited for a player, not for the
server (the server re-checks waiting seekers on its matchmaking tick,
every 0.5 s): those are counted apart, and the target is on the seekers
placed in a lobby that existed when they started.

Target (recorded with L{benchmarks.report}; the run exits with status 1
when it is missed): p99 from startMatchmaking to GameSetup at most
L{MAX_P99_MS} ms at the target load, 2000 players arriving over 10 s (the
short form, the default).  C{--full} keeps the arrival rate for longer:
5000 players over 25 s.  Fewer players make a poor short form: a seeker
then often finds no compatible lobby yet and waits for a host to create
one, which is not the server's latency.

Run: C{python -m benchmarks.matchmaking [--full] [--players N] [--spread S]}.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from typing import Any

from twisted.internet import defer, task

from benchmarks import report
from benchmarks.sessions import Bench, freePort, percentile, rss, startServer
from pocketrelay.blaze import tdf
from pocketrelay.blaze.ids import Component, GameManagerNotification
from pocketrelay.me3.messages.gamemanager import NotifyGameSetup
from pocketrelay.testing.gameclient import GameClient

#: Target: p99 from startMatchmaking to GameSetup (ms).
MAX_P99_MS = 100.0

#: Players and arrival spread (s) in the short form and with C{--full}.
SHORT = (2000, 10.0)
FULL = (5000, 25.0)

MAPS = ["map2", "map3", "map4", "map5"]
ENEMIES = ["enemy1", "enemy2"]
DIFFICULTIES = ["difficulty0", "difficulty1"]


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
        return "abstain" if rng.random() < 0.4 else rng.choice(values)

    return {
        "ME3_gameMapMatchRule": pick(MAPS),
        "ME3_gameEnemyTypeRule": pick(ENEMIES),
        "ME3_gameDifficultyRule": pick(DIFFICULTIES),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true",
                        help=f"{FULL[0]} players over {FULL[1]:g} s (default {SHORT[0]} "
                             f"over {SHORT[1]:g} s)")
    parser.add_argument("--players", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--spread", type=float, default=None,
        help="seconds over which hosts and seekers arrive (0: all at once)",
    )
    args = parser.parse_args(argv)
    form = FULL if args.full else SHORT
    players = args.players or form[0]
    if args.spread is None:
        args.spread = form[1]
    hosts = players // 2
    rng = random.Random(args.seed)

    from twisted.internet import reactor

    port = freePort()
    waits: list[float] = []
    waitedForLobby: list[float] = []
    lobbyCreated: dict[int, float] = {}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as dataDir:
        server = startServer(port, dataDir)
        try:
            bench = Bench(reactor, port, players, 0)
            clients: dict[int, GameClient] = {}

            @defer.inlineCallbacks
            def login(n: int) -> Any:
                client = yield bench.connect()
                yield client.preAuth()
                yield client.silentLogin(bench.tokens[n])
                yield client.updateNetworkInfo()
                clients[n] = client

            @defer.inlineCallbacks
            def host(n: int) -> Any:
                created = yield clients[n].createGame(hostAttributes(rng))
                lobbyCreated[created.gameId] = time.perf_counter()

            @defer.inlineCallbacks
            def seek(n: int) -> Any:
                client = clients[n]
                start = time.perf_counter()
                setup = client.waitForNotification(
                    Component.GAME_MANAGER, GameManagerNotification.GAME_SETUP
                )
                yield client.startMatchmaking(seekerRules(rng))
                frame = yield setup
                wait = (time.perf_counter() - start) * 1000
                gameId = tdf.decode(NotifyGameSetup, frame.body).game.gameId
                # A lobby created after the seeker started was waited for:
                # that time is the players', not the server's.
                if lobbyCreated.get(gameId, float("inf")) <= start:
                    waits.append(wait)
                else:
                    waitedForLobby.append(wait)

            @defer.inlineCallbacks
            def run() -> Any:
                semaphore = defer.DeferredSemaphore(50)
                yield defer.gatherResults(
                    [bench.createAccount(n, semaphore) for n in range(players)],
                    consumeErrors=True,
                )
                yield defer.gatherResults([login(n) for n in range(players)], consumeErrors=True)
                yield task.deferLater(reactor, 0.5, lambda: None)
                results["rssBefore"] = rss(server.pid)
                order = list(range(players))
                rng.shuffle(order)
                start = time.perf_counter()
                spacing = args.spread / max(1, players)

                def later(n: int, i: int) -> defer.Deferred[Any]:
                    action = host if n < hosts else seek
                    return task.deferLater(reactor, i * spacing, action, n).addCallback(
                        lambda d: d
                    )

                calls = [later(n, i) for i, n in enumerate(order)]
                yield defer.gatherResults(calls, consumeErrors=True)
                results["allPlaced"] = time.perf_counter() - start
                results["rssAfter"] = rss(server.pid)
                full = 0
                for n in range(hosts):
                    joins = [
                        f for f in clients[n].notifications
                        if (f.component, f.command)
                        == (Component.GAME_MANAGER, GameManagerNotification.PLAYER_JOINING)
                    ]
                    full += len(joins) >= 3
                results["fullGames"] = full
                for client in clients.values():
                    client.disconnect()
                yield task.deferLater(reactor, 0.5, lambda: None)

            if not report.runReactor(reactor, run()):
                return 1
        finally:
            server.terminate()
            server.wait(10)

    print(f"players: {players} ({hosts} hosting, {players - hosts} matchmaking with mixed "
          f"rules), arriving over {args.spread:g} s")
    print(f"every seeker placed after {results['allPlaced']:.2f} s; "
          f"{results['fullGames']} of {hosts} lobbies filled to 4")
    print(f"startMatchmaking -> GameSetup, into a lobby that existed: p50 "
          f"{statistics.median(waits):.1f} ms, p99 {percentile(waits, 0.99):.1f} ms, max "
          f"{max(waits):.1f} ms ({len(waits)} seekers)")
    if waitedForLobby:
        print(f"startMatchmaking -> GameSetup, into a lobby created later: p50 "
              f"{statistics.median(waitedForLobby):.1f} ms, max {max(waitedForLobby):.1f} ms "
              f"({len(waitedForLobby)} seekers)")
    print(f"server RSS: {results['rssBefore'] / 2**20:.1f} MiB before, "
          f"{results['rssAfter'] / 2**20:.1f} MiB with all lobbies")
    figures = [
        report.record("matchmaking",
                      f"startMatchmaking -> GameSetup p99, {players} players, lobby existed",
                      percentile(waits, 0.99), "ms", atMost=MAX_P99_MS),
        report.record("matchmaking", "seekers who waited for a lobby to be created",
                      len(waitedForLobby), "seekers"),
        report.record("matchmaking", "every seeker placed after", results["allPlaced"], "s"),
        report.record("matchmaking", "lobbies filled to 4",
                      100 * results["fullGames"] / max(1, hosts), "%"),
    ]
    return report.exitCode(figures)


if __name__ == "__main__":
    raise SystemExit(main())
