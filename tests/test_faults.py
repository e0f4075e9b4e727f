# -*- test-case-name: tests.test_faults -*-
"""
Fault tests against a real C{twistd -n pocketrelay-server} process on
127.0.0.1 (its own process, so that it can be killed):

  - the server is killed with C{SIGKILL} while players' settings saves are
    in flight, restarted on the same data directory, and every save it had
    acknowledged must be there with its value (three kill points, one
    after the other on the same database);
  - the server goes away (killed, or stopped) in the middle of a game
    played through the client's Blaze proxy: the game's connection closes
    with a log line, and the next game connection through the proxy works
    against the restarted server.

Every wait is bounded; the server process is killed in the clean-up
whatever happens.  The kill points come from a seeded generator
(C{POCKETRELAY_FAULT_SEED} overrides the seed to explore others).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import attrs
from twisted.internet import defer, task
from twisted.internet import reactor as _reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import Logger, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from pocketrelay.blaze import tdf
from pocketrelay.blaze.ids import Component, GameManagerNotification
from pocketrelay.client.blazeproxy import BlazeProxyFactory
from pocketrelay.client.discovery import (
    ServerInfo,
    loadClientTLS,
    normaliseServerURL,
    upstreamEndpoint,
)
from pocketrelay.me3.messages import gamemanager, util
from pocketrelay.testing.gameclient import GameClient
from pocketrelay.testing.logs import captureLogs

#: The global reactor, typed loosely (its interfaces are split in stubs).
reactor: Any = _reactor

#: Seconds any single step (a start, a login, a burst) may take.
STEP_TIMEOUT = 60.0

SEED = int(os.environ.get("POCKETRELAY_FAULT_SEED", "20240917"))

#: The tests send POSIX signals to the server process.
_SKIP = None if os.name == "posix" else "needs POSIX signals (SIGKILL)"


def _freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sleep(seconds: float) -> defer.Deferred[None]:
    return task.deferLater(reactor, seconds, lambda: None)


def _bounded(d: defer.Deferred[Any], seconds: float = STEP_TIMEOUT) -> defer.Deferred[Any]:
    return d.addTimeout(seconds, reactor)


class ServerProcess:
    """
    C{twistd -n pocketrelay-server} as a child process on a fixed loopback
    port and data directory, so that it can be killed and started again
    on the same database.  Its log goes to C{logPath}.
    """

    def __init__(self, testCase: TestCase) -> None:
        self.testCase = testCase
        self.dataDir = os.path.abspath(testCase.mktemp())
        self.logPath = self.dataDir + ".log"
        self.port = _freePort()
        self.process: subprocess.Popen[bytes] | None = None
        testCase.addCleanup(self.kill)

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    @defer.inlineCallbacks
    def start(self) -> Any:
        """
        Start the server and fire once it accepts connections.
        """
        assert self.process is None or self.process.poll() is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("POCKETRELAY_")}
        twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
        os.makedirs(os.path.dirname(self.logPath), exist_ok=True)
        with open(self.logPath, "ab") as log:
            log.write(b"---- start\n")
            log.flush()
            self.process = subprocess.Popen(
                [twistd, "-n", "--pidfile=", "pocketrelay-server",
                 "--listen", f"tcp:{self.port}:interface=127.0.0.1",
                 "--data-dir", self.dataDir, "--log-level", "info",
                 "--set", "udp_tunnel.port=0"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            )
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.testCase.fail(f"the server exited at start:\n{self.logTail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                yield _sleep(0.05)
        self.kill()
        self.testCase.fail(f"the server did not start in {STEP_TIMEOUT:g} s:\n{self.logTail()}")

    def signal(self, number: int) -> None:
        """
        Send a signal to the running server.
        """
        assert self.process is not None and self.process.poll() is None
        os.kill(self.process.pid, number)

    @defer.inlineCallbacks
    def exited(self, seconds: float = 20.0) -> Any:
        """
        Fire with the exit status once the process is gone (killed after
        C{seconds}).
        """
        assert self.process is not None
        deadline = time.monotonic() + seconds
        while self.process.poll() is None and time.monotonic() < deadline:
            yield _sleep(0.02)
        if self.process.poll() is None:
            self.kill()
        return self.process.returncode

    def kill(self) -> None:
        """
        Kill the server if it runs (the clean-up).
        """
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def logTail(self, lines: int = 40) -> str:
        try:
            with open(self.logPath, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    @defer.inlineCallbacks
    def connect(self) -> Any:
        """
        A L{GameClient} connected through the HTTP upgrade.
        """
        client = GameClient(clock=reactor)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port, timeout=10)
        upgrading = client.upgrading()
        yield _bounded(connectProtocol(endpoint, upgrading), 15)
        yield _bounded(upgrading.upgraded, 15)
        self.testCase.addCleanup(client.disconnect)
        return client


@attrs.define
class _KeyHistory:
    """
    The values sent for one player's key, in order, and the index of the
    last one acknowledged (-1: none).
    """

    sent: list[str] = attrs.Factory(list)
    lastAcked: int = -1


class SaveLedger:
    """
    What was sent and what was acknowledged, per (player, key); checks a
    loaded profile against it.

    Saves of one connection are handled in order, so after an
    acknowledged value the stored one is that value or one sent later.
    """

    def __init__(self) -> None:
        self.keys: dict[tuple[int, str], _KeyHistory] = {}
        self.acknowledged = 0

    def sent(self, player: int, key: str, value: str) -> int:
        history = self.keys.setdefault((player, key), _KeyHistory())
        history.sent.append(value)
        return len(history.sent) - 1

    def acked(self, player: int, key: str, index: int) -> None:
        history = self.keys[player, key]
        history.lastAcked = max(history.lastAcked, index)
        self.acknowledged += 1

    def problems(self, player: int, stored: dict[str, str]) -> tuple[list[str], int]:
        """
        (what is wrong with C{stored}, how many acknowledged keys were
        checked).
        """
        found: list[str] = []
        checked = 0
        for (owner, key), history in self.keys.items():
            if owner != player:
                continue
            value = stored.get(key)
            if history.lastAcked >= 0:
                checked += 1
                if value is None:
                    found.append(f"player {player}: acknowledged key {key!r} is missing")
                elif value not in history.sent[history.lastAcked :]:
                    found.append(
                        f"player {player}: key {key!r} holds {value[:40]!r}, not its "
                        f"acknowledged value {history.sent[history.lastAcked][:40]!r} "
                        "or a later one"
                    )
            elif value is not None and value not in history.sent:
                found.append(f"player {player}: key {key!r} holds a value never sent")
        for key in stored:
            if (player, key) not in self.keys:
                found.append(f"player {player}: unexpected key {key!r}")
        return found, checked


class KillDuringSavesTests(TestCase):
    """
    Acknowledged settings saves survive a C{kill -9} of the server.
    """

    timeout = 300
    skip = _SKIP
    log = Logger()

    #: Players saving at once, saves each per burst, kill points.  All
    #: players come from 127.0.0.1: five stay within the server's default
    #: per-address limits (account creations at once, sessions).
    PLAYERS = 5
    SAVES = 96
    ROUNDS = 3
    #: Every this many saves overwrite the same key (C{Base}), so that the
    #: order of overwrites is checked too.
    OVERWRITE_EVERY = 8

    @defer.inlineCallbacks
    def createAccounts(self, server: ServerProcess) -> Any:
        tokens = []
        for n in range(self.PLAYERS):
            client = yield server.connect()
            yield _bounded(client.preAuth())
            created = yield _bounded(
                client.createAccount(f"fault{n}@example.org", f"password-{n}")
            )
            tokens.append(created.sessionKey)
            client.disconnect()
        return tokens

    @defer.inlineCallbacks
    def logIn(self, server: ServerProcess, tokens: list[str]) -> Any:
        @defer.inlineCallbacks
        def one(token: str) -> Any:
            client = yield server.connect()
            yield _bounded(client.preAuth())
            yield _bounded(client.silentLogin(token))
            return client

        clients = yield defer.gatherResults([one(t) for t in tokens], consumeErrors=True)
        return clients

    @defer.inlineCallbacks
    def verify(self, clients: list[GameClient], ledger: SaveLedger, context: str) -> Any:
        """
        Load every player's settings and fail on any acknowledged save
        that is missing or changed.
        """
        problems: list[str] = []
        checked = 0
        for player, client in enumerate(clients):
            loaded = yield _bounded(client.loadSettings())
            self.assertIsInstance(loaded, util.UserSettingsLoadAllResponse)
            found, count = ledger.problems(player, dict(loaded.settings))
            problems.extend(found)
            checked += count
        if problems:
            self.fail(
                f"{context}: {len(problems)} problems (seed {SEED}), first ones:\n"
                + "\n".join(problems[:10])
            )
        return checked

    @defer.inlineCallbacks
    def burst(
        self,
        server: ServerProcess,
        clients: list[GameClient],
        ledger: SaveLedger,
        round: int,
        killAt: int,
        rng: random.Random,
    ) -> Any:
        """
        Send every player's saves at once (pipelined) and C{SIGKILL} the
        server when the C{killAt}-th reply arrives.  Fire with (replies
        before the kill, saves not yet answered at the kill, replies in
        all).
        """
        acked = 0
        atKill: list[tuple[int, int]] = []
        total = len(clients) * self.SAVES
        calls: list[defer.Deferred[Any]] = []

        def onReply(_: object, player: int, key: str, index: int) -> None:
            nonlocal acked
            ledger.acked(player, key, index)
            acked += 1
            if acked == killAt:
                server.signal(signal.SIGKILL)
                atKill.append((acked, total - acked))

        def onError(failure: Failure) -> None:
            # Only the connection dropping is expected, nothing else.
            failure.trap(ConnectionLost, ConnectionDone)

        for player, client in enumerate(clients):
            for i in range(self.SAVES):
                if i % self.OVERWRITE_EVERY == 0:
                    key = "Base"
                else:
                    key = f"r{round}k{i:03d}"
                value = f"{player};{round};{i};" + rng.randbytes(rng.randint(8, 1500)).hex()
                index = ledger.sent(player, key, value)
                d = client.saveSetting(key, value)
                d.addCallback(onReply, player, key, index)
                d.addErrback(onError)
                calls.append(d)
        yield _bounded(defer.gatherResults(calls, consumeErrors=True))
        status = yield server.exited()
        self.assertEqual(status, -signal.SIGKILL, "the server was not killed by the test")
        self.assertEqual(len(atKill), 1)
        (before, inFlight), = atKill
        return before, inFlight, acked

    @defer.inlineCallbacks
    def test_acknowledgedSavesSurviveKill(self) -> Any:
        """
        Five players pipeline 96 settings saves each (distinct keys and
        values, plus overwrites of one key); the server is killed with
        SIGKILL when a seeded number of replies has arrived, while others
        are in flight.  After a restart on the same data directory, the
        players log in with their stored tokens and every acknowledged
        save is there with its value (or, for an overwritten key, a value
        sent after it); three kill points in a row on the same database.
        """
        rng = random.Random(SEED)
        server = ServerProcess(self)
        yield server.start()
        tokens = yield self.createAccounts(server)
        ledger = SaveLedger()
        total = self.PLAYERS * self.SAVES
        summary = []
        for round in range(self.ROUNDS):
            clients = yield self.logIn(server, tokens)
            yield self.verify(clients, ledger, f"before burst {round}")
            # Early, middle, late: each kill point in its own quarter of
            # the burst, from 10% to 85% of the replies.
            band = (total * 3 // 4) // self.ROUNDS
            low = total // 10 + round * band
            killAt = rng.randint(low, low + band - 1)
            before, inFlight, replies = yield self.burst(
                server, clients, ledger, round, killAt, rng
            )
            self.assertEqual(before, killAt)
            self.assertGreater(inFlight, 0)
            self.assertLess(replies, total, "every save was answered: the kill came too late")
            summary.append((killAt, inFlight, replies))
            self.log.info(
                "Burst {round} (seed {seed}): SIGKILL at reply {killAt} of {total} with "
                "{inFlight} saves unanswered; {replies} replies in all",
                round=round, seed=SEED, killAt=killAt, total=total, inFlight=inFlight,
                replies=replies,
            )
            yield server.start()
        clients = yield self.logIn(server, tokens)
        checked = yield self.verify(clients, ledger, "after the last restart")
        self.log.info("{checked} acknowledged keys checked after {count} kills",
                      checked=checked, count=len(summary))
        # Each kill came after killAt replies: all those keys were checked.
        self.assertGreaterEqual(ledger.acknowledged, sum(k for k, _, _ in summary))
        self.assertGreater(checked, 0)


def _proxyMessages(events: EventLoggingObserver) -> list[str]:
    return [
        formatEvent(e)
        for e in events
        if e.get("log_namespace", "").startswith("pocketrelay.client.blazeproxy")
    ]


class ProxyUpstreamFaultTests(TestCase):
    """
    The client's Blaze proxy when the server goes away in the middle of a
    game.
    """

    timeout = 120
    skip = _SKIP

    def setUp(self) -> None:
        self.server = ServerProcess(self)
        info = ServerInfo(normaliseServerURL(self.server.url), "0.9.0")
        tls = loadClientTLS()

        def connect(protocol: Any) -> defer.Deferred[Any]:
            return connectProtocol(upstreamEndpoint(reactor, info.url, tls), protocol)

        self.proxy = BlazeProxyFactory(info, connect, reactor)
        self.listener = reactor.listenTCP(0, self.proxy, interface="127.0.0.1")
        self.addCleanup(self.listener.stopListening)
        self.addCleanup(self.proxy.closeAll)

    @defer.inlineCallbacks
    def game(self) -> Any:
        """
        A L{GameClient} connected to the proxy, as the game is.
        """
        client = GameClient(clock=reactor)
        endpoint = TCP4ClientEndpoint(
            reactor, "127.0.0.1", self.listener.getHost().port, timeout=10
        )
        yield _bounded(connectProtocol(endpoint, client.protocol), 15)
        self.addCleanup(client.disconnect)
        return client

    @defer.inlineCallbacks
    def player(self, name: str) -> Any:
        client = yield self.game()
        yield _bounded(client.preAuth())
        yield _bounded(client.createAccount(f"{name}@example.org", f"password-{name}"))
        yield _bounded(client.updateNetworkInfo())
        return client

    @defer.inlineCallbacks
    def lost(self, client: GameClient, seconds: float = 15.0) -> Any:
        deadline = time.monotonic() + seconds
        while not client.lost and time.monotonic() < deadline:
            yield _sleep(0.02)
        self.assertTrue(client.lost, "the game's connection was not closed")

    @defer.inlineCallbacks
    def midGame(self) -> Any:
        """
        A host and a joiner (matchmade) in one game, mesh connected, the
        game started.
        """
        host = yield self.player("host")
        created = yield _bounded(host.createGame())
        joiner = yield self.player("joiner")
        setup = _bounded(
            joiner.waitForNotification(Component.GAME_MANAGER, GameManagerNotification.GAME_SETUP)
        )
        yield _bounded(joiner.startMatchmaking())
        frame = yield setup
        game = tdf.decode(gamemanager.NotifyGameSetup, frame.body).game
        self.assertEqual(game.gameId, created.gameId)
        yield _bounded(host.updateMesh(created.gameId, joiner.userId))
        yield _bounded(joiner.updateMesh(created.gameId, host.userId))
        change = _bounded(
            joiner.waitForNotification(
                Component.GAME_MANAGER, GameManagerNotification.GAME_ATTRIB_CHANGE
            )
        )
        yield _bounded(host.setGameAttributes(created.gameId, {"ME3gameState": "IN_GAME"}))
        yield change
        return host, joiner

    @defer.inlineCallbacks
    def serverGoesAway(self, number: int) -> Any:
        yield self.server.start()
        host, joiner = yield self.midGame()
        events = captureLogs(self)
        # A request in flight when the server goes: it must be answered or
        # fail, never hang.
        pending = host.ping()
        outcome: list[Any] = []
        pending.addBoth(outcome.append)
        self.server.signal(number)
        yield self.lost(host)
        yield self.lost(joiner)
        yield self.server.exited()
        for _ in range(100):
            if outcome:
                break
            yield _sleep(0.02)
        self.assertEqual(len(outcome), 1, "a request in flight never finished")
        if isinstance(outcome[0], Failure):
            outcome[0].trap(ConnectionLost, ConnectionDone)
        else:
            self.assertIsInstance(outcome[0], util.PingResponse)
        closed = [m for m in _proxyMessages(events) if "server closed the game's connection" in m]
        self.assertEqual(len(closed), 2, _proxyMessages(events))
        self.assertEqual(self.proxy.connections, set())

        # The server comes back (same data, same port): the next game
        # connection through the same proxy works and the account is there.
        yield self.server.start()
        again = yield self.game()
        yield _bounded(again.preAuth())
        full = yield _bounded(again.silentLogin(host.token))
        self.assertEqual(full.session.userId, host.userId)
        yield _bounded(again.updateNetworkInfo())
        created = yield _bounded(again.createGame())
        self.assertGreater(created.gameId, 0)
        pong = yield _bounded(again.ping())
        self.assertGreater(pong.serverTime, 0)

    def test_serverKilledMidGame(self) -> Any:
        """
        The server killed with SIGKILL mid-game: both players' connections
        through the proxy close, each with the proxy's log line, a request
        in flight does not hang, and after a restart the next game
        connection through the same proxy logs in and creates a game.
        """
        return self.serverGoesAway(signal.SIGKILL)

    def test_serverStoppedMidGame(self) -> Any:
        """
        The same when the server is stopped normally (SIGTERM) mid-game.
        """
        return self.serverGoesAway(signal.SIGTERM)
