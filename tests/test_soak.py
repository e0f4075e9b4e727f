# -*- test-case-name: tests.test_soak -*-
"""
Tests for L{benchmarks.soak}'s verdict, without running the soak: the
server log is scanned for warnings, errors and tracebacks, too few memory
samples fail the run, and every exception a player hits is counted
(failed requests once, and what happens outside a request too).  One
test starts the soak's real server (on a loopback port) to check that it
starts without a warning.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
from collections import Counter
from typing import Any

from twisted.internet import defer, task
from twisted.internet.error import ConnectionLost
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from benchmarks import report, soak
from benchmarks.sessions import freePort
from pocketrelay.blaze.frames import Frame, MessageType
from pocketrelay.blaze.ids import Component
from pocketrelay.blaze.ids import GameManagerNotification as N
from pocketrelay.me3.clientconfig import ConfigContext
from pocketrelay.server.gamedata import GameData

#: Lines as twistd writes them.
INFO = "2026-12-06T10:00:00+0000 [pocketrelay.server.hub.Hub#info] Player a joined\n"
WARN = "2026-12-06T10:00:01+0000 [pocketrelay.server.hub.Hub#warn] Slow save\n"
ERROR = "2026-12-06T10:00:02+0000 [pocketrelay.server.session.Session#error] Bad\n"
CRITICAL = "2026-12-06T10:00:03+0000 [twisted.internet.defer#critical] Unhandled error\n"
TRACEBACK = (
    "\tTraceback (most recent call last):\n"
    '\t  File "x.py", line 1, in f\n'
    "\tbuiltins.KeyError: 1\n"
)


class FakeClient:
    """
    A L{pocketrelay.testing.gameclient.GameClient} stand-in whose requests
    answer at once, with C{preAuth} answering C{preAuthResult}.
    """

    def __init__(self, preAuthResult: defer.Deferred[Any] | None = None) -> None:
        self.notifications: list[Frame] = []
        self.lost: list[Any] = []
        self.userId = 7
        self.disconnected = 0
        self._preAuth = preAuthResult

    def preAuth(self) -> defer.Deferred[Any]:
        return self._preAuth if self._preAuth is not None else defer.succeed(None)

    def silentLogin(self, token: str) -> defer.Deferred[Any]:
        return defer.succeed(None)

    def disconnect(self) -> None:
        self.disconnected += 1


class FakeSoak(soak.Soak):
    """
    A L{soak.Soak} on a L{task.Clock} whose connections are L{FakeClient}s.
    """

    def __init__(self, client: FakeClient) -> None:
        self.clock = task.Clock()
        super().__init__(self.clock, 0, 1, 1.0, seed=1)
        self.client = client
        self.deadline = 1.0

    def connect(self, n: int) -> Any:
        return defer.succeed(self.client)

    def runPlayer(self) -> Any:
        """
        Run player 0's loop to its end (one round: the run lasts 1 s).
        """
        done = self.player(0, 0.0)
        self.clock.advance(0)
        self.clock.advance(5)
        return self.successResultOf(done)

    def successResultOf(self, d: defer.Deferred[Any]) -> Any:
        results: list[Any] = []
        d.addBoth(results.append)
        assert len(results) == 1, "player loop did not end"
        return results[0]


def _args(quick: bool = False) -> argparse.Namespace:
    return argparse.Namespace(warmup=0.2, threshold=0.05, quick=quick, seed=1)


def _samples(duration: float = 100.0, interval: float = 5.0,
             rss: int = 100 * 2**20) -> list[tuple[float, int]]:
    count = int(duration / interval) + 1
    return [(i * interval, rss) for i in range(count)]


def judged(**kw: Any) -> int:
    """
    The exit status of L{soak.judge} on a clean 100 s run, changed by
    C{kw}; its printed lines are swallowed.
    """
    arguments: dict[str, Any] = dict(
        args=_args(), duration=100.0, interval=5.0, stats=soak.Stats(),
        samples=_samples(), serverLog=Counter(), accountErrors=0,
    )
    arguments.update(kw)
    with contextlib.redirect_stdout(io.StringIO()):
        return report.exitCode(soak.judge(**arguments))


class LogCountsTests(SynchronousTestCase):
    """
    L{soak.logCounts} counts the server log's notable lines.
    """

    def test_counts(self) -> None:
        """
        Warnings, errors, critical events and tracebacks are counted; info
        lines are not.
        """
        log = FilePath(self.mktemp())
        log.setContent((INFO * 3 + WARN + ERROR * 2 + CRITICAL + TRACEBACK).encode())
        counts = soak.logCounts(log.path)
        self.assertEqual(
            (counts["warn"], counts["error"], counts["critical"], counts["tracebacks"]),
            (1, 2, 1, 1),
        )

    def test_clean(self) -> None:
        """
        A log of info lines counts nothing.
        """
        log = FilePath(self.mktemp())
        log.setContent((INFO * 10).encode())
        self.assertEqual(sum(soak.logCounts(log.path).values()), 0)


class SoakServerTests(SynchronousTestCase):
    """
    L{soak.startSoakServer} starts a real server (on a loopback port) that
    logs no warning or error: the soak counts any as a failure.
    """

    def test_startsClean(self) -> None:
        """
        The soak's server starts with complete (synthetic) game data, so
        its log, once it has stopped, holds its start-up lines and no
        warning, error, critical event or traceback.
        """
        work = FilePath(self.mktemp())
        work.makedirs()
        dataDir = work.child("data").path
        logPath = work.child("server.log").path
        server = soak.startSoakServer(freePort(), dataDir, logPath)
        soak.stopProcess(server)
        log = FilePath(logPath).getContent().decode("utf-8", "replace")
        self.assertIn("Setting api.public_games = True", log)
        self.assertEqual(dict(soak.logCounts(logPath)), {}, log)
        self.assertEqual(GameData(FilePath(dataDir), ConfigContext()).missing(), [])


class JudgeTests(SynchronousTestCase):
    """
    L{soak.judge} fails the run on what it finds.
    """

    def test_clean(self) -> None:
        """
        A run with flat memory, a clean log, enough samples and no error
        passes.
        """
        self.assertEqual(judged(), 0)

    def test_serverLog(self) -> None:
        """
        Any warning, error, critical event or traceback in the server log
        fails the run, as read from the log file.
        """
        for line in (WARN, ERROR, CRITICAL, TRACEBACK):
            log = FilePath(self.mktemp())
            log.setContent((INFO + line + INFO).encode())
            self.assertEqual(judged(serverLog=soak.logCounts(log.path)), 1, line)

    def test_playerErrors(self) -> None:
        """
        One player error fails the run.
        """
        stats = soak.Stats()
        stats.errors["player: KeyError"] += 1
        self.assertEqual(judged(stats=stats), 1)

    def test_accountErrors(self) -> None:
        """
        An error while creating the accounts fails the run.
        """
        self.assertEqual(judged(accountErrors=1), 1)

    def test_tooFewSamples(self) -> None:
        """
        Fewer than half the samples the interval promises, or a window
        with fewer than L{soak.MIN_WINDOW_SAMPLES}, fails the run; no
        sample at all too.
        """
        everyOther = _samples()[::3]
        self.assertEqual(judged(samples=everyOther), 1)
        self.assertEqual(judged(samples=[]), 1)
        sparseEnd = [s for s in _samples() if s[0] < 60] + [(100.0, 100 * 2**20)]
        self.assertEqual(judged(samples=sparseEnd), 1)

    def test_memoryGrowth(self) -> None:
        """
        Memory that grows by more than the threshold fails a full run; a
        quick run shows it without judging it.
        """
        grown = _samples()
        grown = grown[:-8] + [(at, int(value * 1.06)) for at, value in grown[-8:]]
        self.assertEqual(judged(samples=grown), 1)
        self.assertEqual(judged(samples=grown, args=_args(quick=True)), 0)
        slight = grown[:-8] + [(at, int(value * 1.04)) for at, value in _samples()[-8:]]
        self.assertEqual(judged(samples=slight), 0)


class PlayerErrorTests(SynchronousTestCase):
    """
    Every exception in a player's loop is counted, once.
    """

    def test_missingToken(self) -> None:
        """
        A player without a token (its account was not created) is counted
        as an error, though no request failed.
        """
        run = FakeSoak(FakeClient())
        run.runPlayer()
        self.assertEqual(run.stats.errors, Counter({"player: KeyError": 1}))
        self.assertEqual(run.client.disconnected, 1)

    def test_undecodable(self) -> None:
        """
        A notification whose body does not decode (here a game setup
        joined from matchmaking) is counted as an error.
        """
        run = FakeSoak(FakeClient())
        run.tokens[0] = "token"
        garbage = Frame(Component.GAME_MANAGER, N.GAME_SETUP,
                        MessageType.NOTIFICATION, body=b"\xff\xff\xff")

        def session(client: Any, n: int, rng: random.Random) -> Any:
            return run.join(client, garbage, rng)

        run.session = session  # type: ignore[method-assign]
        run.runPlayer()
        self.assertEqual(list(run.stats.errors), ["player: TdfDecodeError"])

    def test_failedRequestCountedOnce(self) -> None:
        """
        A failed request is counted by L{soak.Soak.timed} under its name,
        and not again by the loop.
        """
        run = FakeSoak(FakeClient(defer.fail(ConnectionLost())))
        run.runPlayer()
        self.assertEqual(run.stats.errors, Counter({"preAuth: ConnectionLost": 1}))
        self.assertEqual(run.stats.requests, 1)

    def test_accountCreation(self) -> None:
        """
        An exception while creating an account outside any request is
        counted, and the semaphore is released.
        """
        run = FakeSoak(FakeClient())
        semaphore = defer.DeferredSemaphore(1)
        done = run.createAccount(0, semaphore)
        failure = self.failureResultOf(done)
        self.assertEqual(semaphore.tokens, 1)
        self.assertEqual(run.stats.errors, Counter({f"createAccount: {failure.type.__name__}": 1}))
