# -*- test-case-name: tests.test_store_groupcommit -*-
"""
Tests for group commit in L{pocketrelay.server.store.Store}: operations
queued together run in one transaction with one commit, each in its own
savepoint, and no L{Deferred} fires before that commit.

Real L{Store} on a real SQLite file with the real reactor, as in
L{tests.test_store}; the worker thread is held at a gate so that the
operations of a test are queued before it picks any of them up, which makes
the batches deterministic.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, task
from twisted.internet import reactor as globalReactor
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import TestCase

from pocketrelay.server.store import (
    MAX_DATA_VALUE_SIZE,
    GalaxyAtWar,
    InvalidValue,
    Player,
    PlayerExists,
    Store,
    StoreError,
    UnknownPlayer,
)
from pocketrelay.server.store.store import _Operation

_WAIT = 10.0


def _connect(path: str) -> sqlite3.Connection:
    """
    A second, independent connection to the store's file.
    """
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA busy_timeout = 5000")
    return connection


class _ObservedStore(Store):
    """
    A L{Store} that records its batches and commits, and lets a test act
    just before a commit.

    @ivar batches: for each batch run, whether each of its operations was a
        write, in order (appended in the worker thread).
    @ivar events: C{"commit"} after each successful commit, in the worker
        thread, interleaved with whatever the test appends from the reactor
        thread; guarded by C{lock}.
    @ivar beforeCommit: if set, called in the worker thread before each
        commit; whatever it raises fails the commit.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path, globalReactor)
        self.lock = threading.Lock()
        self.batches: list[list[bool]] = []
        self.events: list[object] = []
        self.beforeCommit: Callable[[], None] | None = None

    def record(self, event: object) -> None:
        with self.lock:
            self.events.append(event)

    def _runBatch(self) -> tuple[list[_Operation], str | None]:
        batch, error = super()._runBatch()
        self.batches.append([operation.write for operation in batch])
        return batch, error

    def _commit(self, connection: sqlite3.Connection) -> None:
        if self.beforeCommit is not None:
            self.beforeCommit()
        super()._commit(connection)
        self.record("commit")

    @property
    def commits(self) -> int:
        with self.lock:
            return self.events.count("commit")


class _GroupCommitTestCase(TestCase):
    """
    Starts an L{_ObservedStore} on a fresh file with two players, and can
    hold its worker thread at a gate.
    """

    async def setUp(self) -> None:  # type: ignore[override]
        self.path = self.mktemp()
        self.events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        self.store = _ObservedStore(self.path)
        self.addCleanup(lambda: self.store.stop())
        await self.store.start()
        self.alice = await self.store.createPlayer("alice@x", "alice", None, now=1)
        self.bob = await self.store.createPlayer("bob@x", "bob", None, now=1)
        self.store.batches.clear()
        with self.store.lock:
            self.store.events.clear()

    def _hold(self) -> threading.Event:
        """
        Hold the worker thread until the returned event is set, so that
        the operations called meanwhile are all queued when it picks up the
        first.  Returns once the worker is held (so no batch is running).
        """
        reached = threading.Event()
        release = threading.Event()

        def gate() -> None:
            reached.set()
            release.wait(_WAIT)

        pool = self.store._pool
        assert pool is not None
        pool.callInThread(gate)
        self.assertTrue(reached.wait(_WAIT))
        self.addCleanup(release.set)
        return release

    async def _settle(self, calls: list[defer.Deferred[Any]]) -> list[tuple[bool, Any]]:
        """
        Wait for all C{calls}; C{(True, result)} or C{(False, exception)}
        for each.
        """
        outcomes = await defer.DeferredList(calls, consumeErrors=True)
        return [(True, value) if ok else (False, value.value) for ok, value in outcomes]

    def _rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """
        Rows read through a second connection: what is committed.
        """
        db = _connect(self.path)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def _data(self, player: Player) -> dict[str, str]:
        return dict(
            self._rows(
                "SELECT key, value FROM player_data WHERE player_id = ?", player.id
            )
        )


class BatchingTests(_GroupCommitTestCase):
    """
    Queued operations share one transaction and one commit.
    """

    async def test_oneCommitForQueuedWrites(self) -> None:
        """
        Writes queued while the worker is busy are committed together, once,
        and each is saved.
        """
        release = self._hold()
        calls = [
            self.store.setPlayerData(self.alice.id, f"key{i}", str(i))
            for i in range(50)
        ]
        release.set()
        await defer.gatherResults(calls)
        self.assertEqual(self.store.batches, [[True] * 50])
        self.assertEqual(self.store.commits, 1)
        self.assertEqual(self._data(self.alice), {f"key{i}": str(i) for i in range(50)})

    async def test_alone(self) -> None:
        """
        A write with nothing queued behind it is committed on its own, at
        once.
        """
        await self.store.setPlayerData(self.alice.id, "Base", "x")
        self.assertEqual((self.store.batches, self.store.commits), ([[True]], 1))
        self.assertEqual(self._data(self.alice), {"Base": "x"})

    async def test_sizeBound(self) -> None:
        """
        A batch holds at most C{_maxBatchSize} operations; the rest follow
        in later batches.
        """
        self.store._maxBatchSize = 10
        release = self._hold()
        calls = [
            self.store.setPlayerData(self.alice.id, f"key{i}", "v") for i in range(35)
        ]
        release.set()
        await defer.gatherResults(calls)
        self.assertEqual([len(b) for b in self.store.batches], [10, 10, 10, 5])
        self.assertEqual(self.store.commits, 4)
        self.assertEqual(len(self._data(self.alice)), 35)

    async def test_timeBound(self) -> None:
        """
        A batch takes no further operation once it has run for
        C{_maxBatchSeconds}: with no time at all, every operation is a batch
        of its own.
        """
        self.store._maxBatchSeconds = 0
        release = self._hold()
        calls = [
            self.store.setPlayerData(self.alice.id, f"key{i}", "v") for i in range(5)
        ]
        release.set()
        await defer.gatherResults(calls)
        self.assertEqual(self.store.batches, [[True]] * 5)
        self.assertEqual(self.store.commits, 5)

    async def test_readsJoinWritesNotTheReverse(self) -> None:
        """
        Reads join a writing batch, but a reading batch ends before the next
        write, which starts a writing transaction of its own.
        """
        release = self._hold()
        calls: list[defer.Deferred[Any]] = [
            self.store.getPlayer(self.alice.id),
            self.store.getPlayerData(self.alice.id),
            self.store.setPlayerData(self.alice.id, "k", "v"),
            self.store.getPlayerData(self.alice.id),
            self.store.setLastLogin(self.alice.id, 5),
        ]
        release.set()
        results = await defer.gatherResults(calls)
        self.assertEqual(self.store.batches, [[False, False], [True, False, True]])
        self.assertEqual(results[1:4], [{}, None, {"k": "v"}])

    async def test_arrivingDuringBatch(self) -> None:
        """
        Operations called while a batch runs, before its commit, are not
        part of it unless already taken: they run in a later batch and are
        committed too.
        """
        called: list[defer.Deferred[None]] = []
        reached = threading.Event()
        release = threading.Event()
        self.addCleanup(release.set)

        def blockOnce() -> None:
            self.store.beforeCommit = None
            reached.set()
            release.wait(_WAIT)

        self.store.beforeCommit = blockOnce
        first = self.store.setPlayerData(self.alice.id, "first", "1")
        self.assertTrue(reached.wait(_WAIT))
        called.append(self.store.setPlayerData(self.alice.id, "second", "2"))
        called.append(self.store.setPlayerData(self.alice.id, "third", "3"))
        release.set()
        await first
        await defer.gatherResults(called)
        self.assertEqual(self.store.batches, [[True], [True, True]])
        self.assertEqual(
            self._data(self.alice), {"first": "1", "second": "2", "third": "3"}
        )


class IsolationTests(_GroupCommitTestCase):
    """
    A failing operation is undone and reported alone; the others of its
    batch are committed.
    """

    async def test_failuresAreTheirOwn(self) -> None:
        """
        In one batch, writes that fail (a taken email, a bad value, an
        unknown player, a partial write that then fails) each fail with
        their own exception and leave nothing behind, while the writes
        between them succeed and are committed in the single commit.
        """

        def partial(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO player_data (player_id, key, value) "
                "VALUES (?, 'partial', 'x')",
                (self.bob.id,),
            )
            raise InvalidValue("changed my mind")

        release = self._hold()
        calls: list[defer.Deferred[Any]] = [
            self.store.setPlayerData(self.alice.id, "a", "1"),
            self.store.createPlayer("ALICE@x", "alice2", None),
            self.store.setPlayerData(self.bob.id, "b", "2"),
            self.store.setPlayerData(
                self.bob.id, "big", "x" * (MAX_DATA_VALUE_SIZE + 1)
            ),
            self.store.setPlayerDataMany(self.bob.id, {"c": "3", "d": "4"}),
            self.store.setPlayerData(9999, "a", "1"),
            self.store._write(partial),
            self.store.createPlayer("carol@x", "carol", None, now=7),
            self.store.updatePlayer(self.bob.id, email="alice@X"),
            self.store.setPlayerData(self.alice.id, "e", "5"),
        ]
        release.set()
        outcomes = await self._settle(calls)
        self.assertEqual(self.store.batches, [[True] * 10])
        self.assertEqual(self.store.commits, 1)
        self.assertEqual(
            [(ok, type(value)) for ok, value in outcomes],
            [
                (True, type(None)),
                (False, PlayerExists),
                (True, type(None)),
                (False, InvalidValue),
                (True, type(None)),
                (False, UnknownPlayer),
                (False, InvalidValue),
                (True, Player),
                (False, PlayerExists),
                (True, type(None)),
            ],
        )
        self.assertEqual(str(outcomes[6][1]), "changed my mind")
        self.assertEqual(self._data(self.alice), {"a": "1", "e": "5"})
        self.assertEqual(self._data(self.bob), {"b": "2", "c": "3", "d": "4"})
        self.assertEqual(
            self._rows("SELECT email FROM players ORDER BY id"),
            [("alice@x",), ("bob@x",), ("carol@x",)],
        )

    async def test_manyIsAllOrNothingInABatch(self) -> None:
        """
        L{Store.setPlayerDataMany} stays all-or-nothing inside a batch: a
        bad value fails the whole call, not its neighbours.
        """
        release = self._hold()
        calls: list[defer.Deferred[Any]] = [
            self.store.setPlayerData(self.alice.id, "before", "1"),
            self.store.setPlayerDataMany(
                self.alice.id, {"ok": "1", "bad": "x" * (MAX_DATA_VALUE_SIZE + 1)}
            ),
            self.store.setPlayerData(self.alice.id, "after", "2"),
        ]
        release.set()
        outcomes = await self._settle(calls)
        self.assertEqual([ok for ok, _ in outcomes], [True, False, True])
        self.assertIsInstance(outcomes[1][1], InvalidValue)
        self.assertEqual(self._data(self.alice), {"before": "1", "after": "2"})

    async def test_failedReadInWriteBatch(self) -> None:
        """
        A read that fails inside a writing batch fails alone.
        """
        release = self._hold()
        calls: list[defer.Deferred[Any]] = [
            self.store.setPlayerData(self.alice.id, "k", "v"),
            self.store.getPlayerDataValue(self.alice.id, "k" * 100),
            self.store.getPlayerDataValue(self.alice.id, "k"),
        ]
        release.set()
        outcomes = await self._settle(calls)
        self.assertEqual(self.store.batches, [[True, False, False]])
        self.assertEqual(outcomes[0], (True, None))
        self.assertIsInstance(outcomes[1][1], InvalidValue)
        self.assertEqual(outcomes[2], (True, "v"))

    async def test_transactionLost(self) -> None:
        """
        When an operation fails after the whole transaction was rolled back
        under it (as SQLite does on some errors), the operations of the
        batch that had succeeded fail too, since none of their work is
        saved; the operations queued behind run in the next batch.
        """

        def rolledBack(db: sqlite3.Connection) -> None:
            db.execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")

        release = self._hold()
        calls: list[defer.Deferred[Any]] = [
            self.store.setPlayerData(self.alice.id, "lost", "1"),
            self.store._write(rolledBack),
            self.store.setPlayerData(self.alice.id, "kept", "2"),
        ]
        release.set()
        outcomes = await self._settle(calls)
        self.assertEqual(self.store.batches, [[True, True], [True]])
        self.assertFalse(outcomes[0][0])
        self.assertIsInstance(outcomes[0][1], StoreError)
        self.assertIn("nothing of this operation was saved", str(outcomes[0][1]))
        self.assertIn("database or disk is full", str(outcomes[0][1]))
        self.assertFalse(outcomes[1][0])
        self.assertIn("database or disk is full", str(outcomes[1][1]))
        self.assertEqual(outcomes[2], (True, None))
        self.assertEqual(self._data(self.alice), {"kept": "2"})


class OrderTests(_GroupCommitTestCase):
    """
    Operations run, and their results arrive, in the order called, each to
    its own caller.
    """

    async def test_readSeesEarlierWrite(self) -> None:
        """
        Within one batch, each read sees exactly the writes called before
        it.
        """
        release = self._hold()
        calls: list[defer.Deferred[Any]] = [
            self.store.getPlayerDataValue(self.alice.id, "k"),
            self.store.setPlayerData(self.alice.id, "k", "1"),
            self.store.getPlayerDataValue(self.alice.id, "k"),
            self.store.setPlayerData(self.alice.id, "k", "2"),
            self.store.getPlayerDataValue(self.alice.id, "k"),
            self.store.deletePlayerData(self.alice.id, "k"),
            self.store.getPlayerDataValue(self.alice.id, "k"),
            self.store.deletePlayerData(self.alice.id, "k"),
        ]
        release.set()
        results = await defer.gatherResults(calls)
        self.assertEqual(results, [None, None, "1", None, "2", True, None, False])

    async def test_firedInCallOrder(self) -> None:
        """
        The L{Deferred}s fire in the order of the calls, across batches.
        """
        self.store._maxBatchSize = 7
        release = self._hold()
        fired: list[int] = []
        calls = []
        for i in range(30):
            d = self.store.setPlayerData(self.alice.id, "k", str(i))
            d.addCallback(lambda _, index: fired.append(index), i)
            calls.append(d)
        last = self.store.getPlayerDataValue(self.alice.id, "k")
        release.set()
        await defer.gatherResults(calls)
        self.assertEqual(fired, list(range(30)))
        self.assertEqual(await last, "29")
        self.assertEqual(self.store.commits, 5)

    async def test_resultsToTheirCallers(self) -> None:
        """
        Each caller in a batch gets its own result: its own new player, its
        own report id, its own value.
        """
        release = self._hold()
        created = [
            self.store.createPlayer(f"p{i}@x", f"p{i}", None, now=i) for i in range(40)
        ]
        reports = [self.store.addGameReport({"n": i}, i, i) for i in range(10)]
        values = [
            self.store.setPlayerData(self.alice.id, f"k{i}", f"v{i}") for i in range(10)
        ]
        reads = [
            self.store.getPlayerDataValue(self.alice.id, f"k{i}") for i in range(10)
        ]
        release.set()
        players = await defer.gatherResults(created)
        self.assertEqual([p.email for p in players], [f"p{i}@x" for i in range(40)])
        self.assertEqual([p.createdAt for p in players], list(range(40)))
        self.assertEqual(len({p.id for p in players}), 40)
        for player in players:
            self.assertEqual(
                self._rows("SELECT email FROM players WHERE id = ?", player.id),
                [(player.email,)],
            )
        ids = await defer.gatherResults(reports)
        for i, reportId in enumerate(ids):
            report = await self.store.getGameReport(reportId)
            assert report is not None
            self.assertEqual(report.data, {"n": i})
        await defer.gatherResults(values)
        self.assertEqual(await defer.gatherResults(reads), [f"v{i}" for i in range(10)])
        self.assertEqual(self.store.batches[0], [True] * 60 + [False] * 10)

    async def test_randomAgainstModel(self) -> None:
        """
        Random mixes of writes, failing writes, deletes and reads, queued
        at once and run in batches of random sizes, give the same results
        as running them one at a time against a dictionary, and leave the
        same committed state.
        """
        rng = random.Random(20240611)
        for _ in range(5):
            self.store._maxBatchSize = rng.randrange(1, 40)
            model: dict[str, str] = dict(self._data(self.alice))
            release = self._hold()
            calls: list[defer.Deferred[Any]] = []
            expected: list[tuple[bool, Any]] = []
            for _ in range(120):
                key = f"k{rng.randrange(6)}"
                action = rng.randrange(5)
                if action == 0:
                    value = str(rng.randrange(1000))
                    calls.append(self.store.setPlayerData(self.alice.id, key, value))
                    model[key] = value
                    expected.append((True, None))
                elif action == 1:
                    calls.append(
                        self.store.setPlayerDataMany(
                            self.alice.id, {key: "x", "": "empty key"}
                        )
                    )
                    expected.append((False, InvalidValue))
                elif action == 2:
                    calls.append(self.store.deletePlayerData(self.alice.id, key))
                    expected.append((True, model.pop(key, None) is not None))
                elif action == 3:
                    calls.append(self.store.getPlayerDataValue(self.alice.id, key))
                    expected.append((True, model.get(key)))
                else:
                    calls.append(self.store.getPlayerData(self.alice.id))
                    expected.append((True, dict(sorted(model.items()))))
            release.set()
            outcomes = await self._settle(calls)
            self.assertEqual(
                [(ok, value if ok else type(value)) for ok, value in outcomes],
                expected,
            )
            self.assertEqual(self._data(self.alice), model)


class CommitFirstTests(_GroupCommitTestCase):
    """
    No L{Deferred} of a batch fires before the batch is committed.
    """

    async def test_nothingFiresBeforeCommit(self) -> None:
        """
        While the commit of a batch is held back, the reactor keeps running
        but none of the batch's L{Deferred}s fires and another connection
        sees none of its writes; once the commit is done, all fire, after
        it.
        """
        reached = threading.Event()
        release = threading.Event()
        self.addCleanup(release.set)

        def holdCommit() -> None:
            reached.set()
            release.wait(_WAIT)

        self.store.beforeCommit = holdCommit
        gate = self._hold()
        calls: list[defer.Deferred[Any]] = []
        for i in range(20):
            calls.append(self.store.setPlayerData(self.bob.id, f"k{i}", "v"))
            calls.append(self.store.getPlayerDataValue(self.bob.id, f"k{i}"))
        for i, d in enumerate(calls):
            d.addCallback(lambda _, index: self.store.record(("fired", index)), i)
        gate.set()
        self.assertTrue(reached.wait(_WAIT))
        for _ in range(5):
            # Let the reactor run anything the worker may have sent it.
            await task.deferLater(globalReactor, 0.01, lambda: None)
        self.assertEqual([d.called for d in calls], [False] * len(calls))
        self.assertEqual(self._data(self.bob), {})
        release.set()
        await defer.gatherResults(calls)
        with self.store.lock:
            events = list(self.store.events)
        self.assertEqual(events[0], "commit")
        self.assertEqual(events[1:], [("fired", i) for i in range(len(calls))])
        self.assertEqual(len(self._data(self.bob)), 20)

    async def test_commitFailureFailsWholeBatch(self) -> None:
        """
        When the commit itself fails, every operation of the batch fails
        with L{StoreError} naming the error (writes and reads alike, since
        the reads saw uncommitted data), except those that had already
        failed on their own, which keep their own exception; nothing is
        saved, the failure is logged once, and the store goes on working.
        """

        def failOnce() -> None:
            self.store.beforeCommit = None
            raise sqlite3.OperationalError("disk I/O error")

        self.store.beforeCommit = failOnce
        release = self._hold()
        calls: list[defer.Deferred[Any]] = [
            self.store.setPlayerData(self.alice.id, "a", "1"),
            self.store.createPlayer("bob@x", "bob again", None),
            self.store.getPlayerDataValue(self.alice.id, "a"),
            self.store.createPlayer("dave@x", "dave", None),
            self.store.saveGalaxyAtWar(GalaxyAtWar(self.bob.id, 1, 2, 3, 4, 5, 6)),
        ]
        release.set()
        outcomes = await self._settle(calls)
        self.assertEqual(self.store.batches, [[True, True, False, True, True]])
        self.assertEqual([ok for ok, _ in outcomes], [False] * 5)
        self.assertIsInstance(outcomes[1][1], PlayerExists)
        for index in (0, 2, 3, 4):
            error = outcomes[index][1]
            self.assertIsInstance(error, StoreError)
            self.assertNotIsInstance(error, PlayerExists)
            self.assertIn("disk I/O error", str(error))
            self.assertIn(self.path, str(error))
        self.assertEqual(self._data(self.alice), {})
        self.assertEqual(self._rows("SELECT COUNT(*) FROM players"), [(2,)])
        self.assertEqual(self._rows("SELECT COUNT(*) FROM galaxy_at_war"), [(0,)])
        (logged,) = [e for e in self.events if e["log_level"] == LogLevel.error]
        self.assertEqual(logged["count"], 5)
        self.assertEqual(logged["path"], self.path)
        self.assertIn("disk I/O error", logged["error"])

        await self.store.setPlayerData(self.alice.id, "a", "2")
        self.assertEqual(await self.store.getPlayerDataValue(self.alice.id, "a"), "2")
        self.assertEqual(self._data(self.alice), {"a": "2"})

    async def test_unexpectedCommitException(self) -> None:
        """
        An exception of any kind from the commit fails the batch the same
        way, and the next batch starts from a clean transaction.
        """

        def failOnce() -> None:
            self.store.beforeCommit = None
            raise RuntimeError("boom")

        self.store.beforeCommit = failOnce
        release = self._hold()
        calls = [
            self.store.setPlayerData(self.alice.id, f"k{i}", "v") for i in range(3)
        ]
        release.set()
        outcomes = await self._settle(list(calls))
        for ok, error in outcomes:
            self.assertFalse(ok)
            self.assertIsInstance(error, StoreError)
            self.assertIn("RuntimeError: boom", str(error))
        self.assertEqual(self._data(self.alice), {})
        await self.store.setPlayerData(self.alice.id, "after", "v")
        self.assertEqual(self._data(self.alice), {"after": "v"})

    async def test_lockedDatabase(self) -> None:
        """
        When another process holds the write lock past the busy timeout,
        each write that cannot begin its transaction fails alone with
        L{StoreError}; writes after the lock is released succeed.
        """
        await self.store._read(lambda db: db.execute("PRAGMA busy_timeout = 20"))
        self.store.batches.clear()
        other = _connect(self.path)
        self.addCleanup(other.close)
        other.execute("BEGIN IMMEDIATE")
        release = self._hold()
        calls = [
            self.store.setPlayerData(self.alice.id, "a", "1"),
            self.store.setPlayerData(self.alice.id, "b", "2"),
        ]
        release.set()
        outcomes = await self._settle(list(calls))
        self.assertEqual(self.store.batches, [[True], [True]])
        for ok, error in outcomes:
            self.assertFalse(ok)
            self.assertIsInstance(error, StoreError)
            self.assertIn("locked", str(error))
        other.execute("ROLLBACK")
        await self.store.setPlayerData(self.alice.id, "c", "3")
        self.assertEqual(self._data(self.alice), {"c": "3"})

    async def test_crashMidBatch(self) -> None:
        """
        When the batch machinery itself fails part-way (here, an operation
        releases the savepoint the store then releases), the whole batch is
        rolled back and every operation of it that had not failed on its
        own fails; operations not yet taken into it run in the next batch.
        """
        self.store._maxBatchSize = 3

        def releasesSavepoint(db: sqlite3.Connection) -> None:
            db.execute("RELEASE store_operation")

        release = self._hold()
        calls: list[defer.Deferred[Any]] = [
            self.store.setPlayerData(self.alice.id, "a", "1"),
            self.store._write(releasesSavepoint),
            self.store.setPlayerData(self.alice.id, "b", "2"),
            self.store.setPlayerData(self.alice.id, "c", "3"),
        ]
        release.set()
        outcomes = await self._settle(calls)
        self.assertEqual(self.store.batches, [[True, True], [True, True]])
        for ok, error in outcomes[:2]:
            self.assertFalse(ok)
            self.assertIsInstance(error, StoreError)
            self.assertIn("no such savepoint", str(error))
        self.assertEqual(outcomes[2:], [(True, None), (True, None)])
        self.assertEqual(self._data(self.alice), {"b": "2", "c": "3"})

    async def test_stopFinishesQueuedBatches(self) -> None:
        """
        L{Store.stop} called while batches are queued lets them all run and
        commit before the database is closed.
        """
        self.store._maxBatchSize = 16
        release = self._hold()
        calls = [
            self.store.setPlayerData(self.alice.id, f"k{i}", "v") for i in range(40)
        ]
        stopped = self.store.stop()
        refused = self.store.setPlayerData(self.alice.id, "late", "v")
        release.set()
        await defer.gatherResults(calls)
        await stopped
        self.assertFalse(self.store.running)
        self.assertEqual([len(b) for b in self.store.batches], [16, 16, 8])
        self.assertEqual(len(self._data(self.alice)), 40)
        try:
            await refused
        except StoreError:
            pass
        else:
            self.fail("a call after stop() was accepted")
