# -*- test-case-name: tests.test_store -*-
"""
Tests for L{pocketrelay.server.store}: the real L{Store} on a real SQLite
file, with the real reactor.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from typing import Any

from twisted.internet import defer
from twisted.internet import reactor as globalReactor
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pocketrelay.server.store import (
    MAX_DATA_KEYS,
    MAX_DATA_VALUE_SIZE,
    MAX_FILTER_IDS,
    MAX_PAGE_SIZE,
    MAX_REPORT_SIZE,
    SCHEMA_VERSION,
    DirectStore,
    GalaxyAtWar,
    GameReport,
    InvalidValue,
    LeaderboardEntry,
    LeaderboardType,
    Player,
    PlayerExists,
    PlayerRole,
    Store,
    StoreError,
    UnknownPlayer,
    prepareConnection,
)
from pocketrelay.server.store.schema import (
    MIGRATIONS,
    Migration,
    SchemaError,
    migrate,
    schemaVersion,
)

N7 = LeaderboardType.N7_RATING
CP = LeaderboardType.CHALLENGE_POINTS


def _connect(path: str) -> sqlite3.Connection:
    """
    A second, independent connection to the store's file.
    """
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA busy_timeout = 5000")
    return connection


class _StoreTestCase(TestCase):
    """
    Starts a L{Store} on a fresh file before each test and stops it after.
    """

    def setUp(self) -> defer.Deferred[None]:  # type: ignore[override]
        self.path = self.mktemp()
        self.events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        self.store = Store(self.path, globalReactor)
        self.addCleanup(lambda: self.store.stop())
        return self.store.start()

    async def _players(self, *names: str) -> list[Player]:
        """
        Create players called C{names}, with emails C{name@example.com}.
        """
        created = []
        for name in names:
            created.append(
                await self.store.createPlayer(
                    f"{name}@example.com", name, None, now=1000
                )
            )
        return created

    async def _assertFails(
        self, d: defer.Deferred[Any], *errors: type[BaseException]
    ) -> BaseException:
        try:
            await d
        except errors as e:
            return e
        self.fail(f"expected one of {errors}")

    @property
    def _loose(self) -> Any:
        """
        The store, typed loosely, for calls with deliberately wrong types.
        """
        return self.store

    def _messages(self) -> list[str]:
        return [e["log_format"] for e in self.events]


class LifeCycleTests(_StoreTestCase):
    """
    Opening, migrating, closing and reopening the database.
    """

    def test_migratedFromEmpty(self) -> None:
        """
        Starting on a new file creates every table and records the schema
        version.
        """
        db = _connect(self.path)
        tables = {
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'"
            )
        }
        self.assertTrue(
            {
                "players",
                "player_data",
                "galaxy_at_war",
                "leaderboard",
                "game_reports",
                "schema_version",
            }
            <= tables
        )
        self.assertEqual(schemaVersion(db), SCHEMA_VERSION)
        db.close()

    def test_logged(self) -> None:
        """
        Each applied migration and the opening are logged with the path.
        """
        applied = [e for e in self.events if "migration" in e["log_format"]]
        self.assertEqual(
            [e["version"] for e in applied], [m.version for m in MIGRATIONS]
        )
        opened = [e for e in self.events if e["log_format"].startswith("Opened")]
        self.assertEqual(len(opened), 1)
        self.assertEqual(opened[0]["path"], self.path)
        self.assertEqual(opened[0]["version"], SCHEMA_VERSION)

    async def test_walAndDurability(self) -> None:
        """
        The database is in WAL mode with C{synchronous=FULL} and foreign
        keys enforced.
        """
        db = _connect(self.path)
        self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")
        db.close()

        def pragmas(connection: sqlite3.Connection) -> tuple[int, int]:
            return (
                connection.execute("PRAGMA synchronous").fetchone()[0],
                connection.execute("PRAGMA foreign_keys").fetchone()[0],
            )

        self.assertEqual(await self.store._read(pragmas), (2, 1))

    async def test_reopenKeepsData(self) -> None:
        """
        Data saved before a stop is there after a new start, and no
        migration runs again.
        """
        (player,) = await self._players("shepard")
        await self.store.setPlayerData(player.id, "Base", "20;4;x")
        await self.store.stop()
        self.assertFalse(self.store.running)
        before = len(self._messages())
        self.store = Store(self.path, globalReactor)
        await self.store.start()
        self.assertTrue(self.store.running)
        self.assertEqual(await self.store.getPlayer(player.id), player)
        self.assertEqual(await self.store.getPlayerData(player.id), {"Base": "20;4;x"})
        later = self._messages()[before:]
        self.assertFalse([m for m in later if "migration" in m])

    async def test_newerSchemaRefused(self) -> None:
        """
        A database written by a newer pocketrelay is refused with a clear
        L{StoreError}, and the store is left stopped.
        """
        await self.store.stop()
        db = _connect(self.path)
        db.execute(
            "INSERT INTO schema_version VALUES (?, 'from the future', 0)",
            (SCHEMA_VERSION + 5,),
        )
        db.close()
        store = Store(self.path, globalReactor)
        error = await self._assertFails(store.start(), StoreError)
        self.assertIn(
            f"database schema version {SCHEMA_VERSION + 5} is newer than this "
            f"pocketrelay ({SCHEMA_VERSION})",
            str(error),
        )
        self.assertFalse(store.running)
        await self._assertFails(store.getPlayer(1), StoreError)
        await store.stop()

    async def test_foreignDatabaseRefused(self) -> None:
        """
        A database with tables but no C{schema_version} (for example the
        Rust server's C{app.db}) is refused and left unchanged.
        """
        path = self.mktemp()
        db = _connect(path)
        db.execute("CREATE TABLE players (id INTEGER PRIMARY KEY, email TEXT)")
        db.execute("CREATE TABLE seaql_migrations (version TEXT)")
        db.close()
        store = Store(path, globalReactor)
        error = await self._assertFails(store.start(), StoreError)
        self.assertIn("not made by pocketrelay", str(error))
        db = _connect(path)
        tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master")}
        db.close()
        self.assertEqual(tables, {"players", "seaql_migrations"})

    async def test_notADatabase(self) -> None:
        """
        A file that is not SQLite is a L{StoreError} naming it.
        """
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(b"this is not a database" * 100)
        store = Store(path, globalReactor)
        error = await self._assertFails(store.start(), StoreError)
        self.assertIn(path, str(error))

    async def test_missingDirectory(self) -> None:
        """
        A path in a missing directory is a L{StoreError} naming it.
        """
        path = self.mktemp() + "/missing/app.db"
        store = Store(path, globalReactor)
        error = await self._assertFails(store.start(), StoreError)
        self.assertIn(path, str(error))

    async def test_stopped(self) -> None:
        """
        After L{Store.stop} every call fails with L{StoreError}; stopping
        again does nothing.
        """
        await self.store.stop()
        await self.store.stop()
        await self._assertFails(self.store.getPlayer(1), StoreError)
        await self._assertFails(self.store.createPlayer("a@b.c", "a", None), StoreError)

    async def test_stopWaitsForQueuedWork(self) -> None:
        """
        Work queued before L{Store.stop} still completes; two concurrent
        stops both fire.
        """
        created = self.store.createPlayer("a@b.c", "a", None)
        first = self.store.stop()
        second = self.store.stop()
        player = await created
        await first
        await second
        db = _connect(self.path)
        self.assertEqual(
            db.execute(
                "SELECT email FROM players WHERE id = ?", (player.id,)
            ).fetchall(),
            [("a@b.c",)],
        )
        db.close()

    async def test_startTwice(self) -> None:
        """
        Starting a running store is a L{StoreError}.
        """
        await self._assertFails(self.store.start(), StoreError)
        self.assertTrue(self.store.running)

    async def test_workOffTheReactorThread(self) -> None:
        """
        SQLite work runs in one thread other than the reactor's, always the
        same one; results arrive in the reactor thread.
        """
        threads = []

        def record(connection: sqlite3.Connection) -> None:
            threads.append(threading.current_thread())

        for _ in range(3):
            await self.store._read(record)
            self.assertIs(threading.current_thread(), threading.main_thread())
        self.assertEqual(len(set(threads)), 1)
        self.assertIsNot(threads[0], threading.main_thread())

    async def test_inOrder(self) -> None:
        """
        Operations run in the order they were called, even without waiting
        for each.
        """
        (player,) = await self._players("liara")
        writes = [self.store.setPlayerData(player.id, "k", str(i)) for i in range(20)]
        value = self.store.getPlayerDataValue(player.id, "k")
        await defer.gatherResults(writes)
        self.assertEqual(await value, "19")


class _RecordingReactor:
    """
    The global reactor, recording system event triggers instead of adding
    them.

    @ivar triggers: handle to C{(phase, event, callable)} of live triggers.
    """

    def __init__(self) -> None:
        self.triggers: dict[int, tuple[str, str, Any]] = {}
        self._next = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(globalReactor, name)

    def addSystemEventTrigger(
        self, phase: str, event: str, f: Any, *args: Any, **kwargs: Any
    ) -> int:
        self._next += 1
        self.triggers[self._next] = (phase, event, f)
        return self._next

    def removeSystemEventTrigger(self, handle: int) -> None:
        del self.triggers[handle]


class StartStopTests(TestCase):
    """
    Starting and stopping, with a reactor that records shutdown triggers.
    """

    def setUp(self) -> None:
        self.reactor = _RecordingReactor()
        self.store = Store(self.mktemp(), self.reactor)  # type: ignore[arg-type]
        self.addCleanup(lambda: self.store.stop())

    async def test_queuedDuringOpen(self) -> None:
        """
        Operations called right after L{Store.start}, before it finished,
        run once the database is open.
        """
        started = self.store.start()
        self.assertTrue(self.store.running)
        created = self.store.createPlayer("a@b.c", "a", None)
        found = self.store.getPlayerByEmail("a@b.c")
        await started
        self.assertEqual(await found, await created)

    async def test_queuedDuringFailedOpen(self) -> None:
        """
        Operations queued while an open fails fail with L{StoreError}.
        """
        store = Store(self.mktemp() + "/missing/app.db", self.reactor)  # type: ignore[arg-type]
        started = store.start()
        queued = store.getPlayer(1)
        for d in (started, queued):
            try:
                await d
            except StoreError:
                pass
            else:
                self.fail("expected StoreError")
        self.assertFalse(store.running)
        self.assertEqual(self.reactor.triggers, {})

    async def test_shutdownTrigger(self) -> None:
        """
        Once open, the store registers a "before shutdown" trigger whose
        Deferred fires after the database is closed, and which does not try
        to remove itself.
        """
        await self.store.start()
        ((phase, event, trigger),) = self.reactor.triggers.values()
        self.assertEqual((phase, event), ("before", "shutdown"))
        await trigger()
        self.assertFalse(self.store.running)
        # A trigger that has fired is not removed again (Twisted warns about
        # that); the reactor forgets it by itself.
        self.assertEqual(len(self.reactor.triggers), 1)
        self.reactor.triggers.clear()
        await self._reopenAndStop()

    async def _reopenAndStop(self) -> None:
        await self.store.start()
        self.assertEqual(len(self.reactor.triggers), 1)
        await self.store.stop()
        self.assertEqual(self.reactor.triggers, {})

    async def test_stopRemovesTrigger(self) -> None:
        """
        L{Store.stop} removes the shutdown trigger, and the store can be
        started again.
        """
        await self.store.start()
        self.assertEqual(len(self.reactor.triggers), 1)
        await self.store.stop()
        self.assertEqual(self.reactor.triggers, {})
        await self._reopenAndStop()

    async def test_stopDuringOpen(self) -> None:
        """
        Stopping before the open finished closes the store and leaves no
        shutdown trigger.
        """
        started = self.store.start()
        stopped = self.store.stop()
        await started
        await stopped
        self.assertFalse(self.store.running)
        self.assertEqual(self.reactor.triggers, {})


class CommitTests(_StoreTestCase):
    """
    Every write is committed before its L{Deferred} fires.
    """

    async def test_visibleToAnotherConnection(self) -> None:
        """
        As soon as a write's Deferred fires, another connection sees it.
        """
        (player,) = await self._players("garrus")
        db = _connect(self.path)
        self.assertEqual(
            db.execute(
                "SELECT display_name FROM players WHERE id = ?", (player.id,)
            ).fetchone(),
            ("garrus",),
        )
        await self.store.setPlayerData(player.id, "Base", "v1")
        self.assertEqual(
            db.execute("SELECT value FROM player_data").fetchall(), [("v1",)]
        )
        await self.store.setLeaderboardValue(N7, player.id, 42)
        self.assertEqual(
            db.execute("SELECT value FROM leaderboard").fetchall(), [(42,)]
        )
        await self.store.saveGalaxyAtWar(
            GalaxyAtWar(player.id, 5, 5000, 5001, 5002, 5003, 5004)
        )
        self.assertEqual(
            db.execute("SELECT group_e FROM galaxy_at_war").fetchall(), [(5004,)]
        )
        reportId = await self.store.addGameReport({"a": 1}, 1, 2)
        self.assertEqual(
            db.execute(
                "SELECT data FROM game_reports WHERE id = ?", (reportId,)
            ).fetchall(),
            [('{"a":1}',)],
        )
        await self.store.deletePlayer(player.id)
        self.assertEqual(db.execute("SELECT COUNT(*) FROM players").fetchone(), (0,))
        self.assertFalse(db.in_transaction)
        db.close()

    async def test_failedBatchWritesNothing(self) -> None:
        """
        L{Store.setPlayerDataMany} with one bad value writes none of the
        values.
        """
        (player,) = await self._players("tali")
        await self._assertFails(
            self.store.setPlayerDataMany(
                player.id, {"a": "1", "b": "x" * (MAX_DATA_VALUE_SIZE + 1)}
            ),
            InvalidValue,
        )
        self.assertEqual(await self.store.getPlayerData(player.id), {})


class PlayerTests(_StoreTestCase):
    """
    Player accounts.
    """

    async def test_create(self) -> None:
        """
        L{Store.createPlayer} returns the new player with every field (the
        email in canonical form), and L{Store.getPlayer} finds the same.
        """
        player = await self.store.createPlayer(
            "Shepard@Example.com", "Shepard", "$argon2id$hash", PlayerRole.ADMIN, now=77
        )
        self.assertEqual(
            player,
            Player(
                id=player.id,
                email="shepard@example.com",
                displayName="Shepard",
                passwordHash="$argon2id$hash",
                role=PlayerRole.ADMIN,
                createdAt=77,
                lastLoginAt=None,
            ),
        )
        self.assertIsInstance(player.role, PlayerRole)
        self.assertEqual(await self.store.getPlayer(player.id), player)
        self.assertIsNone(await self.store.getPlayer(player.id + 1))

    async def test_defaultCreationTime(self) -> None:
        """
        Without C{now}, the creation time is the reactor's time.
        """
        before = int(globalReactor.seconds())
        player = await self.store.createPlayer("a@b.c", "a", None)
        self.assertLessEqual(before, player.createdAt)
        self.assertLessEqual(player.createdAt, before + 60)
        self.assertEqual(player.role, PlayerRole.DEFAULT)

    async def test_idsIncrease(self) -> None:
        """
        Ids are assigned in increasing order and never reused after a
        delete.
        """
        a, b = await self._players("a", "b")
        self.assertLess(a.id, b.id)
        await self.store.deletePlayer(b.id)
        (c,) = await self._players("c")
        self.assertGreater(c.id, b.id)

    def test_reprHidesPasswordHash(self) -> None:
        """
        A player's repr does not show the password hash.
        """
        player = Player(
            1, "a@b.c", "a", "$argon2id$secret", PlayerRole.DEFAULT, 0, None
        )
        self.assertNotIn("secret", repr(player))

    async def test_emailCaseInsensitive(self) -> None:
        """
        Emails are unique regardless of ASCII case, and looked up the same
        way.
        """
        player = await self.store.createPlayer("Foo@Example.com", "foo", None)
        await self._assertFails(
            self.store.createPlayer("foo@example.COM", "other", None), PlayerExists
        )
        self.assertEqual(await self.store.getPlayerByEmail("FOO@EXAMPLE.COM"), player)
        self.assertEqual(await self.store.getPlayerByEmail("Foo@Example.com"), player)
        self.assertIsNone(await self.store.getPlayerByEmail("bar@example.com"))
        self.assertIsNone(await self.store.getPlayerByEmail(""))
        self.assertIsNone(await self.store.getPlayerByEmail("x" * 1000))

    async def test_update(self) -> None:
        """
        L{Store.updatePlayer} changes the given fields only and returns the
        result; an unknown player gives L{None}.
        """
        (player,) = await self._players("wrex")
        updated = await self.store.updatePlayer(player.id, displayName="Urdnot Wrex")
        assert updated is not None
        self.assertEqual(updated.displayName, "Urdnot Wrex")
        self.assertEqual(updated.email, player.email)
        updated = await self.store.updatePlayer(
            player.id,
            email="wrex@tuchanka.org",
            passwordHash="h",
            role=PlayerRole.ADMIN,
        )
        self.assertEqual(
            updated,
            Player(
                player.id,
                "wrex@tuchanka.org",
                "Urdnot Wrex",
                "h",
                PlayerRole.ADMIN,
                player.createdAt,
                None,
            ),
        )
        self.assertEqual(await self.store.getPlayer(player.id), updated)
        self.assertEqual(await self.store.updatePlayer(player.id), updated)
        self.assertIsNone(
            await self.store.updatePlayer(player.id + 100, displayName="x")
        )

    async def test_updateEmailClash(self) -> None:
        """
        Changing an email to another player's (in any case) is
        L{PlayerExists}; changing the case of one's own is fine (and
        stores the canonical form).
        """
        a, b = await self._players("a", "b")
        await self._assertFails(
            self.store.updatePlayer(b.id, email="A@EXAMPLE.COM"), PlayerExists
        )
        updated = await self.store.updatePlayer(a.id, email="A@EXAMPLE.COM")
        assert updated is not None
        self.assertEqual(updated.email, "a@example.com")

    async def test_updateInvalid(self) -> None:
        """
        Bad values in an update are L{InvalidValue} and change nothing.
        """
        (player,) = await self._players("a")
        await self._assertFails(
            self.store.updatePlayer(player.id, role=7, displayName="b"), InvalidValue
        )
        await self._assertFails(
            self.store.updatePlayer(player.id, displayName=""), InvalidValue
        )
        self.assertEqual(await self.store.getPlayer(player.id), player)

    async def test_lastLogin(self) -> None:
        """
        L{Store.setLastLogin} records the time; an unknown player is
        ignored.
        """
        (player,) = await self._players("a")
        await self.store.setLastLogin(player.id, 12345)
        found = await self.store.getPlayer(player.id)
        assert found is not None
        self.assertEqual(found.lastLoginAt, 12345)
        await self.store.setLastLogin(player.id + 1, 1)

    async def test_delete(self) -> None:
        """
        L{Store.deletePlayer} tells whether a player was deleted.
        """
        (player,) = await self._players("a")
        self.assertTrue(await self.store.deletePlayer(player.id))
        self.assertFalse(await self.store.deletePlayer(player.id))
        self.assertIsNone(await self.store.getPlayer(player.id))

    async def test_cascadeDelete(self) -> None:
        """
        Deleting a player deletes their data, Galaxy at War ratings and
        leaderboard entries, and nobody else's.
        """
        a, b = await self._players("a", "b")
        for p in (a, b):
            await self.store.setPlayerDataMany(p.id, {"Base": "1", "class1": "2"})
            await self.store.saveGalaxyAtWar(GalaxyAtWar(p.id, 0, 1, 2, 3, 4, 5))
            await self.store.setLeaderboardValue(N7, p.id, 10)
            await self.store.setLeaderboardValue(CP, p.id, 20)
        await self.store.deletePlayer(a.id)
        db = _connect(self.path)
        for table in ("player_data", "galaxy_at_war", "leaderboard"):
            owners = {pid for (pid,) in db.execute(f"SELECT player_id FROM {table}")}
            self.assertEqual(owners, {b.id}, table)
        db.close()
        self.assertEqual(await self.store.getPlayerData(a.id), {})
        self.assertIsNone(await self.store.getGalaxyAtWar(a.id))
        self.assertIsNone(await self.store.getLeaderboardRank(N7, a.id))

    async def test_list(self) -> None:
        """
        L{Store.listPlayers} pages through players in id order with the
        total count.
        """
        players = await self._players(*(f"p{i}" for i in range(7)))
        page, total = await self.store.listPlayers(0, 3)
        self.assertEqual((page, total), (players[:3], 7))
        page, total = await self.store.listPlayers(3, 3)
        self.assertEqual((page, total), (players[3:6], 7))
        page, total = await self.store.listPlayers(6, 3)
        self.assertEqual((page, total), (players[6:], 7))
        page, total = await self.store.listPlayers(100, 3)
        self.assertEqual((page, total), ([], 7))
        page, total = await self.store.listPlayers(0, 0)
        self.assertEqual((page, total), ([], 7))

    async def test_search(self) -> None:
        """
        The search text matches display names or emails, case-insensitively,
        as a substring; C{%} and C{_} are literal.
        """
        alice = await self.store.createPlayer("alice@citadel.org", "Alice", None)
        bob = await self.store.createPlayer("bob@omega.net", "100%_Bob", None)
        carol = await self.store.createPlayer("carol@x.org", "carolXbob", None)
        dave = await self.store.createPlayer("dave\\@x.org", "d", None)

        async def search(text: str | None) -> tuple[list[int], int]:
            page, total = await self.store.listPlayers(0, 50, text)
            return [p.id for p in page], total

        self.assertEqual(await search("ALICE"), ([alice.id], 1))
        self.assertEqual(await search("citadel"), ([alice.id], 1))
        self.assertEqual(await search("bob"), ([bob.id, carol.id], 2))
        self.assertEqual(await search("%"), ([bob.id], 1))
        self.assertEqual(await search("_"), ([bob.id], 1))
        self.assertEqual(await search("%_b"), ([bob.id], 1))
        self.assertEqual(await search("\\"), ([dave.id], 1))
        self.assertEqual(await search("nobody"), ([], 0))
        self.assertEqual(await search(None), ([alice.id, bob.id, carol.id, dave.id], 4))
        self.assertEqual(await search(""), ([alice.id, bob.id, carol.id, dave.id], 4))
        page, total = await self.store.listPlayers(1, 1, "org")
        self.assertEqual(([p.id for p in page], total), ([carol.id], 3))

    async def test_pageSizeClipped(self) -> None:
        """
        Page sizes above L{MAX_PAGE_SIZE} are clipped to it.
        """
        db = _connect(self.path)
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO players (email, display_name, created_at) VALUES (?, ?, 0)",
            [(f"p{i}@x", f"p{i}") for i in range(MAX_PAGE_SIZE + 10)],
        )
        db.execute("COMMIT")
        db.close()
        page, total = await self.store.listPlayers(0, 10_000)
        self.assertEqual((len(page), total), (MAX_PAGE_SIZE, MAX_PAGE_SIZE + 10))

    async def test_limits(self) -> None:
        """
        Emails over 254 characters, display names over 99, empty ones,
        unknown roles and non-strings are L{InvalidValue}; the limits
        themselves are accepted.
        """
        ok = await self.store.createPlayer("e" * 242 + "@example.com", "n" * 99, None)
        self.assertEqual(len(ok.email), 254)
        for email, name, role in [
            ("e" * 243 + "@example.com", "name", 0),
            ("a@b.c", "n" * 100, 0),
            ("", "name", 0),
            ("a@b.c", "", 0),
            ("a@b.c", "name", 3),
            ("a@b.c", "name", -1),
            (None, "name", 0),
            ("a@b.c", 5, 0),
            ("a\ud800@b.c", "name", 0),
        ]:
            await self._assertFails(
                self._loose.createPlayer(email, name, None, role), InvalidValue
            )
        await self._assertFails(
            self._loose.createPlayer("a@b.c", "n", b"hash"), InvalidValue
        )
        await self._assertFails(self.store.listPlayers(-1, 5), InvalidValue)
        await self._assertFails(self.store.listPlayers(0, -5), InvalidValue)
        await self._assertFails(self.store.listPlayers(0, 5, "q" * 255), InvalidValue)
        await self._assertFails(self._loose.listPlayers("0", 5), InvalidValue)
        await self._assertFails(self.store.getPlayer(1 << 70), InvalidValue)
        _, total = await self.store.listPlayers(0, 5)
        self.assertEqual(total, 1)

    def test_invalidValueIsValueError(self) -> None:
        """
        L{InvalidValue} is both a L{StoreError} and a L{ValueError}.
        """
        self.assertTrue(issubclass(InvalidValue, StoreError))
        self.assertTrue(issubclass(InvalidValue, ValueError))


class PlayerDataTests(_StoreTestCase):
    """
    Player data key/value pairs.
    """

    async def test_setAndGet(self) -> None:
        """
        Values are stored per player and key and read back singly or all
        together.
        """
        a, b = await self._players("a", "b")
        await self.store.setPlayerData(a.id, "Base", "20;4;a")
        await self.store.setPlayerData(a.id, "class1", "20;4;Adept;1;0;0")
        await self.store.setPlayerData(b.id, "Base", "20;4;b")
        self.assertEqual(
            await self.store.getPlayerData(a.id),
            {"Base": "20;4;a", "class1": "20;4;Adept;1;0;0"},
        )
        self.assertEqual(await self.store.getPlayerDataValue(b.id, "Base"), "20;4;b")
        self.assertIsNone(await self.store.getPlayerDataValue(b.id, "class1"))
        self.assertEqual(await self.store.getPlayerData(b.id + 1), {})

    async def test_upsert(self) -> None:
        """
        Setting an existing key replaces its value.
        """
        (a,) = await self._players("a")
        await self.store.setPlayerData(a.id, "Base", "old")
        await self.store.setPlayerData(a.id, "Base", "new")
        self.assertEqual(await self.store.getPlayerData(a.id), {"Base": "new"})

    async def test_many(self) -> None:
        """
        L{Store.setPlayerDataMany} inserts and replaces several keys; an
        empty mapping is fine.
        """
        (a,) = await self._players("a")
        await self.store.setPlayerData(a.id, "Base", "old")
        await self.store.setPlayerDataMany(a.id, {"Base": "new", "char1": "c"})
        await self.store.setPlayerDataMany(a.id, {})
        self.assertEqual(
            await self.store.getPlayerData(a.id), {"Base": "new", "char1": "c"}
        )

    async def test_delete(self) -> None:
        """
        L{Store.deletePlayerData} removes one key and tells whether it
        existed.
        """
        (a,) = await self._players("a")
        await self.store.setPlayerDataMany(a.id, {"x": "1", "y": "2"})
        self.assertTrue(await self.store.deletePlayerData(a.id, "x"))
        self.assertFalse(await self.store.deletePlayerData(a.id, "x"))
        self.assertEqual(await self.store.getPlayerData(a.id), {"y": "2"})

    async def test_unknownPlayer(self) -> None:
        """
        Writing data for a player that does not exist is L{UnknownPlayer}.
        """
        await self._assertFails(
            self.store.setPlayerData(999, "Base", "x"), UnknownPlayer
        )
        await self._assertFails(
            self.store.setPlayerDataMany(999, {"Base": "x"}), UnknownPlayer
        )

    async def test_limits(self) -> None:
        """
        Keys must be 1 to 64 characters, values at most 1 MiB of UTF-8,
        both strings; the limits themselves are accepted.
        """
        (a,) = await self._players("a")
        await self.store.setPlayerData(a.id, "k" * 64, "v" * MAX_DATA_VALUE_SIZE)
        for key, value in [
            ("k" * 65, "v"),
            ("", "v"),
            ("k", "v" * (MAX_DATA_VALUE_SIZE + 1)),
            ("k", "é" * (MAX_DATA_VALUE_SIZE // 2 + 1)),
            ("k", None),
            (None, "v"),
            ("k", 5),
            ("k", "\udcff"),
        ]:
            await self._assertFails(
                self._loose.setPlayerData(a.id, key, value), InvalidValue
            )
        await self._assertFails(
            self.store.getPlayerDataValue(a.id, "k" * 65), InvalidValue
        )
        await self._assertFails(self._loose.setPlayerDataMany(a.id, 5), InvalidValue)
        self.assertEqual(list(await self.store.getPlayerData(a.id)), ["k" * 64])

    async def test_keyCount(self) -> None:
        """
        A player may have at most L{MAX_DATA_KEYS} keys; existing keys can
        still be replaced at the limit.
        """
        (a,) = await self._players("a")
        await self.store.setPlayerDataMany(
            a.id, {f"key{i}": "v" for i in range(MAX_DATA_KEYS)}
        )
        await self._assertFails(
            self.store.setPlayerData(a.id, "extra", "v"), InvalidValue
        )
        await self._assertFails(
            self.store.setPlayerDataMany(a.id, {"key0": "w", "extra": "v"}),
            InvalidValue,
        )
        await self.store.setPlayerData(a.id, "key0", "replaced")
        data = await self.store.getPlayerData(a.id)
        self.assertEqual(len(data), MAX_DATA_KEYS)
        self.assertEqual(data["key0"], "replaced")

    async def test_mappingCopied(self) -> None:
        """
        L{Store.setPlayerDataMany} copies the mapping when called, so
        changing it afterwards changes nothing.
        """
        (a,) = await self._players("a")
        values = {"Base": "1"}
        d = self.store.setPlayerDataMany(a.id, values)
        values["Base"] = "2"
        values["other"] = "3"
        await d
        self.assertEqual(await self.store.getPlayerData(a.id), {"Base": "1"})


class GalaxyAtWarTests(_StoreTestCase):
    """
    Galaxy at War ratings.
    """

    async def test_saveAndGet(self) -> None:
        """
        Ratings are saved, replaced and read back; a player without any
        gives L{None}.
        """
        (a,) = await self._players("a")
        self.assertIsNone(await self.store.getGalaxyAtWar(a.id))
        first = GalaxyAtWar(a.id, 100, 5000, 5000, 5000, 5000, 5000)
        await self.store.saveGalaxyAtWar(first)
        self.assertEqual(await self.store.getGalaxyAtWar(a.id), first)
        second = GalaxyAtWar(a.id, 200, 5001, 6002, 7003, 8004, 10099)
        await self.store.saveGalaxyAtWar(second)
        self.assertEqual(await self.store.getGalaxyAtWar(a.id), second)
        self.assertEqual(second.groups, (5001, 6002, 7003, 8004, 10099))

    async def test_invalid(self) -> None:
        """
        Ratings outside 0..65535 are L{InvalidValue}; an unknown player is
        L{UnknownPlayer}.
        """
        (a,) = await self._players("a")
        await self._assertFails(
            self.store.saveGalaxyAtWar(GalaxyAtWar(a.id, 0, 1, 2, 3, 4, 70000)),
            InvalidValue,
        )
        await self._assertFails(
            self.store.saveGalaxyAtWar(GalaxyAtWar(a.id, 0, -1, 2, 3, 4, 5)),
            InvalidValue,
        )
        await self._assertFails(self._loose.saveGalaxyAtWar("x"), InvalidValue)
        await self._assertFails(
            self.store.saveGalaxyAtWar(GalaxyAtWar(999, 0, 1, 2, 3, 4, 5)),
            UnknownPlayer,
        )
        self.assertIsNone(await self.store.getGalaxyAtWar(a.id))


class LeaderboardTests(_StoreTestCase):
    """
    Leaderboards and ranks.
    """

    async def _board(self) -> dict[str, Player]:
        """
        Five players on the N7 board with ties, in this rank order:
        a (100), c (100), b (50), e (50), d (10); and the reverse order on
        the challenge points board.
        """
        players = dict(zip("abcde", await self._players(*"abcde"), strict=True))
        values = {"a": 100, "b": 50, "c": 100, "d": 10, "e": 50}
        for name, value in values.items():
            await self.store.setLeaderboardValue(N7, players[name].id, value)
            await self.store.setLeaderboardValue(CP, players[name].id, 1000 - value)
        return players

    def _entry(self, player: Player, rank: int, value: int) -> LeaderboardEntry:
        return LeaderboardEntry(player.id, player.displayName, rank, value)

    async def test_page(self) -> None:
        """
        Pages are in rank order: value descending, ties by player id, with
        distinct consecutive ranks.
        """
        p = await self._board()
        full = [
            self._entry(p["a"], 1, 100),
            self._entry(p["c"], 2, 100),
            self._entry(p["b"], 3, 50),
            self._entry(p["e"], 4, 50),
            self._entry(p["d"], 5, 10),
        ]
        self.assertEqual(await self.store.getLeaderboardPage(N7, 0, 10), full)
        self.assertEqual(await self.store.getLeaderboardPage(N7, 1, 2), full[1:3])
        self.assertEqual(await self.store.getLeaderboardPage(N7, 4, 2), full[4:])
        self.assertEqual(await self.store.getLeaderboardPage(N7, 5, 2), [])
        self.assertEqual(await self.store.countLeaderboard(N7), 5)
        cp = await self.store.getLeaderboardPage(CP, 0, 1)
        self.assertEqual(cp, [self._entry(p["d"], 1, 990)])

    async def test_rank(self) -> None:
        """
        A single player's entry carries their global rank, not 1.
        """
        p = await self._board()
        self.assertEqual(
            await self.store.getLeaderboardRank(N7, p["e"].id),
            self._entry(p["e"], 4, 50),
        )
        self.assertEqual(
            await self.store.getLeaderboardRank(CP, p["e"].id),
            self._entry(p["e"], 3, 950),
        )
        self.assertIsNone(await self.store.getLeaderboardRank(N7, 999))

    async def test_filtered(self) -> None:
        """
        Filtered entries keep their global ranks, come in rank order, and
        players not on the board are left out.
        """
        p = await self._board()
        entries = await self.store.getLeaderboardEntries(
            N7, [p["d"].id, p["a"].id, 999, p["a"].id]
        )
        self.assertEqual(
            entries, [self._entry(p["a"], 1, 100), self._entry(p["d"], 5, 10)]
        )
        self.assertEqual(await self.store.getLeaderboardEntries(N7, []), [])

    async def test_centered(self) -> None:
        """
        Centered queries return C{count} entries around the player with
        their global ranks, starting at rank 1 near the top and running
        short near the bottom.
        """
        p = await self._board()

        async def ranks(name: str, count: int) -> list[int]:
            entries = await self.store.getLeaderboardCentered(N7, p[name].id, count)
            return [e.rank for e in entries]

        self.assertEqual(await ranks("b", 3), [2, 3, 4])
        self.assertEqual(await ranks("b", 1), [3])
        self.assertEqual(await ranks("e", 4), [2, 3, 4, 5])
        self.assertEqual(await ranks("a", 5), [1, 2, 3, 4, 5])
        self.assertEqual(await ranks("a", 3), [1, 2, 3])
        self.assertEqual(await ranks("d", 3), [4, 5])
        self.assertEqual(await ranks("d", 0), [])
        self.assertEqual(await ranks("c", 1000), [1, 2, 3, 4, 5])
        entries = await self.store.getLeaderboardCentered(N7, p["b"].id, 3)
        self.assertEqual(
            entries,
            [
                self._entry(p["c"], 2, 100),
                self._entry(p["b"], 3, 50),
                self._entry(p["e"], 4, 50),
            ],
        )
        self.assertEqual(await self.store.getLeaderboardCentered(N7, 999, 3), [])

    async def test_upsertAndDeleteMoveRanks(self) -> None:
        """
        Replacing a value and deleting a player change the others' ranks.
        """
        p = await self._board()
        await self.store.setLeaderboardValue(N7, p["d"].id, 1000)
        entry = await self.store.getLeaderboardRank(N7, p["d"].id)
        assert entry is not None
        self.assertEqual((entry.rank, entry.value), (1, 1000))
        self.assertEqual(await self.store.countLeaderboard(N7), 5)
        await self.store.deletePlayer(p["a"].id)
        entry = await self.store.getLeaderboardRank(N7, p["e"].id)
        assert entry is not None
        self.assertEqual(entry.rank, 4)
        self.assertEqual(await self.store.countLeaderboard(N7), 4)

    async def test_randomBoards(self) -> None:
        """
        On random boards with many ties, every query agrees with ranks
        computed in Python.
        """
        rng = random.Random(1234)
        players = await self._players(*(f"p{i}" for i in range(40)))
        values = {}
        for player in rng.sample(players, 30):
            values[player.id] = rng.randrange(5)
            await self.store.setLeaderboardValue(N7, player.id, values[player.id])
        order = sorted(values, key=lambda pid: (-values[pid], pid))
        expected = [
            LeaderboardEntry(pid, f"p{pid - players[0].id}", rank, values[pid])
            for rank, pid in enumerate(order, start=1)
        ]
        byId = {e.playerId: e for e in expected}
        self.assertEqual(await self.store.getLeaderboardPage(N7, 0, 100), expected)
        for offset in range(0, 31, 7):
            self.assertEqual(
                await self.store.getLeaderboardPage(N7, offset, 7),
                expected[offset : offset + 7],
            )
        for player in players:
            self.assertEqual(
                await self.store.getLeaderboardRank(N7, player.id), byId.get(player.id)
            )
        for _ in range(10):
            chosen = rng.sample([p.id for p in players], 8)
            self.assertEqual(
                await self.store.getLeaderboardEntries(N7, chosen),
                [e for e in expected if e.playerId in chosen],
            )
        for pid in order:
            count = rng.randrange(1, 9)
            rank = byId[pid].rank
            start = max(1, rank - count // 2)
            self.assertEqual(
                await self.store.getLeaderboardCentered(N7, pid, count),
                expected[start - 1 : start - 1 + count],
            )

    async def test_invalid(self) -> None:
        """
        Unknown boards, bad values and ids, too many filter ids and unknown
        players are refused.
        """
        (a,) = await self._players("a")
        await self._assertFails(
            self.store.setLeaderboardValue(2, a.id, 1), InvalidValue
        )
        await self._assertFails(self.store.getLeaderboardPage(7, 0, 1), InvalidValue)
        await self._assertFails(self.store.countLeaderboard(-1), InvalidValue)
        await self._assertFails(
            self._loose.setLeaderboardValue(N7, a.id, "1"), InvalidValue
        )
        await self._assertFails(
            self.store.setLeaderboardValue(N7, a.id, 1 << 64), InvalidValue
        )
        await self._assertFails(
            self.store.setLeaderboardValue(N7, 999, 1), UnknownPlayer
        )
        await self._assertFails(
            self.store.getLeaderboardEntries(N7, range(MAX_FILTER_IDS + 1)),
            InvalidValue,
        )
        await self._assertFails(
            self._loose.getLeaderboardEntries(N7, ["x"]), InvalidValue
        )
        await self._assertFails(self._loose.getLeaderboardEntries(N7, 5), InvalidValue)
        await self._assertFails(self.store.getLeaderboardPage(N7, -1, 1), InvalidValue)
        self.assertEqual(
            await self.store.getLeaderboardEntries(N7, range(MAX_FILTER_IDS)), []
        )


class GameReportTests(_StoreTestCase):
    """
    Game reports.
    """

    async def test_addListGet(self) -> None:
        """
        Reports are stored as JSON, listed newest first with the total, and
        fetched by id.
        """
        data = {
            "attributes": {"ME3map": "map2"},
            "players": [{"player_id": 1, "player_name": "a", "weapons": ["x"]}],
            "seed": 5,
            "extracted": True,
        }
        ids = [
            await self.store.addGameReport({**data, "seed": i}, 10 + i, 20 + i)
            for i in range(3)
        ]
        self.assertEqual(ids, sorted(ids))
        report = await self.store.getGameReport(ids[0])
        self.assertEqual(report, GameReport(ids[0], {**data, "seed": 0}, 10, 20))
        page, total = await self.store.listGameReports(0, 2)
        self.assertEqual(total, 3)
        self.assertEqual([r.id for r in page], [ids[2], ids[1]])
        page, total = await self.store.listGameReports(2, 2)
        self.assertEqual(([r.id for r in page], total), ([ids[0]], 3))
        self.assertIsNone(await self.store.getGameReport(ids[-1] + 1))

    async def test_invalid(self) -> None:
        """
        Reports that are not JSON objects, not serialisable or too large
        are L{InvalidValue} and nothing is stored.
        """
        for data in [
            [1, 2],
            "text",
            {"x": {1, 2}},
            {"x": float("nan")},
            {"x": "y" * MAX_REPORT_SIZE},
        ]:
            await self._assertFails(self._loose.addGameReport(data, 0, 0), InvalidValue)
        await self._assertFails(self._loose.addGameReport({}, "0", 0), InvalidValue)
        _, total = await self.store.listGameReports(0, 10)
        self.assertEqual(total, 0)

    async def test_corruptReport(self) -> None:
        """
        A stored report that is not a JSON object (written by something
        else) is a L{StoreError}, not a crash.
        """
        db = _connect(self.path)
        db.execute(
            "INSERT INTO game_reports (id, data, created_at, finished_at) "
            "VALUES (1, '{broken', 0, 0), (2, '[1]', 0, 0)"
        )
        db.close()
        await self._assertFails(self.store.getGameReport(1), StoreError)
        await self._assertFails(self.store.getGameReport(2), StoreError)

    def test_hashable(self) -> None:
        """
        Report values can be compared; the data dictionary does not stop
        them being hashed.
        """
        report = GameReport(1, {"a": 1}, 2, 3)
        self.assertEqual(report, GameReport(1, {"a": 1}, 2, 3))
        self.assertEqual(hash(report), hash(GameReport(1, {"b": 2}, 2, 3)))


class MigrationTests(SynchronousTestCase):
    """
    Tests for L{pocketrelay.server.store.schema.migrate}, synchronously on
    a plain connection.
    """

    def setUp(self) -> None:
        self.connection = sqlite3.connect(self.mktemp(), isolation_level=None)
        self.addCleanup(self.connection.close)

    def _tables(self) -> set[str]:
        return {
            name
            for (name,) in self.connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }

    def test_fromEmpty(self) -> None:
        """
        An empty database is brought to the newest version, each step
        recorded with its time.
        """
        initial, applied = migrate(self.connection, 123)
        self.assertEqual(initial, 0)
        self.assertEqual(applied, list(MIGRATIONS))
        self.assertEqual(schemaVersion(self.connection), SCHEMA_VERSION)
        rows = self.connection.execute(
            "SELECT version, applied_at FROM schema_version"
        ).fetchall()
        self.assertEqual(rows, [(m.version, 123) for m in MIGRATIONS])
        self.assertFalse(self.connection.in_transaction)

    def test_idempotent(self) -> None:
        """
        Migrating an up-to-date database does nothing.
        """
        migrate(self.connection, 1)
        self.assertEqual(migrate(self.connection, 2), (SCHEMA_VERSION, []))

    def test_laterMigration(self) -> None:
        """
        A new migration is applied to a database at the previous version,
        keeping its data.
        """
        migrate(self.connection, 1)
        self.connection.execute(
            "INSERT INTO players (email, display_name, created_at) VALUES ('a', 'a', 0)"
        )
        extra = Migration(
            SCHEMA_VERSION + 1,
            "add a column",
            ("ALTER TABLE players ADD COLUMN nickname TEXT",),
        )
        initial, applied = migrate(self.connection, 2, (*MIGRATIONS, extra))
        self.assertEqual((initial, applied), (SCHEMA_VERSION, [extra]))
        self.assertEqual(
            self.connection.execute("SELECT email, nickname FROM players").fetchall(),
            [("a", None)],
        )

    def test_failedMigrationRolledBack(self) -> None:
        """
        A migration that fails part-way leaves the database at the previous
        version with none of its changes.
        """
        migrate(self.connection, 1)
        broken = Migration(
            SCHEMA_VERSION + 1,
            "broken",
            ("CREATE TABLE extra (x INTEGER)", "THIS IS NOT SQL"),
        )
        self.assertRaises(
            sqlite3.OperationalError, migrate, self.connection, 2, (*MIGRATIONS, broken)
        )
        self.assertEqual(schemaVersion(self.connection), SCHEMA_VERSION)
        self.assertNotIn("extra", self._tables())
        self.assertFalse(self.connection.in_transaction)

    def test_newer(self) -> None:
        """
        A database newer than the known migrations is a L{SchemaError} with
        both versions in the message.
        """
        migrate(self.connection, 1)
        self.connection.execute(
            "INSERT INTO schema_version VALUES (?, 'future', 0)", (SCHEMA_VERSION + 1,)
        )
        error = self.assertRaises(SchemaError, migrate, self.connection, 2)
        self.assertEqual(
            str(error),
            f"database schema version {SCHEMA_VERSION + 1} is newer than this "
            f"pocketrelay ({SCHEMA_VERSION})",
        )

    def test_badMigrationList(self) -> None:
        """
        Migration versions must be 1, 2, 3, ... without gaps.
        """
        gap = (*MIGRATIONS, Migration(SCHEMA_VERSION + 2, "gap", ()))
        self.assertRaises(SchemaError, migrate, self.connection, 1, gap)
        self.assertEqual(self._tables(), set())

    def test_foreignTables(self) -> None:
        """
        A database with tables but no version table is refused untouched.
        """
        self.connection.execute("CREATE TABLE players (x)")
        self.assertRaises(SchemaError, migrate, self.connection, 1)
        self.assertEqual(self._tables(), {"players"})


class DirectStoreTests(SynchronousTestCase):
    """
    L{DirectStore} runs the store's queries at once on a connection that
    its caller opened with L{prepareConnection} and whose transactions it
    manages.
    """

    def setUp(self) -> None:
        self.connection = sqlite3.connect(self.mktemp(), isolation_level=None)
        self.addCleanup(self.connection.close)
        self.initial, self.applied, self.journal = prepareConnection(
            self.connection, 1000
        )
        self.store = DirectStore(self.connection)

    def test_prepareConnection(self) -> None:
        """
        L{prepareConnection} migrates a new database to the newest schema
        and sets the store's settings: WAL, full sync, foreign keys.
        """
        self.assertEqual(self.initial, 0)
        self.assertEqual([m.version for m in self.applied], [m.version for m in MIGRATIONS])
        self.assertEqual(self.journal, "wal")
        self.assertEqual(schemaVersion(self.connection), SCHEMA_VERSION)
        self.assertEqual(
            self.connection.execute("PRAGMA synchronous").fetchone(), (2,)
        )
        self.assertEqual(
            self.connection.execute("PRAGMA foreign_keys").fetchone(), (1,)
        )

    def test_callerTransaction(self) -> None:
        """
        Writes join the caller's transaction: a rollback undoes them.
        """
        self.connection.execute("BEGIN IMMEDIATE")
        player = self.store.createPlayer("a@b.c", "a", None, PlayerRole.DEFAULT, 5)
        self.store.setPlayerDataMany(player.id, {"Base": "x"})
        self.connection.execute("ROLLBACK")
        self.assertIsNone(self.store.getPlayerByEmail("a@b.c"))
        self.assertEqual(
            self.connection.execute("SELECT COUNT(*) FROM player_data").fetchone(),
            (0,),
        )

    def test_sameChecks(self) -> None:
        """
        Values are checked as by L{Store}: a taken email is L{PlayerExists},
        data for a missing player L{UnknownPlayer}, a bad rating
        L{InvalidValue}.
        """
        self.store.createPlayer("a@b.c", "a", None, PlayerRole.DEFAULT, 5)
        self.assertRaises(
            PlayerExists,
            self.store.createPlayer,
            "A@B.C",
            "b",
            None,
            PlayerRole.DEFAULT,
            5,
        )
        self.assertRaises(UnknownPlayer, self.store.setPlayerDataMany, 99, {"k": "v"})
        self.assertRaises(
            InvalidValue,
            self.store.saveGalaxyAtWar,
            GalaxyAtWar(1, 0, 0x10000, 0, 0, 0, 0),
        )

    def test_replacePlayer(self) -> None:
        """
        L{DirectStore.replacePlayer} overwrites every field but the id and
        creation time (the email in canonical form), clearing the password
        and login time given as L{None}, and deletes the account's data,
        ratings and leaderboard values.
        """
        player = self.store.createPlayer("a@b.c", "a", "$argon2id$x", 2, 5)
        self.store.setLastLogin(player.id, 7)
        self.store.setPlayerDataMany(player.id, {"Base": "x"})
        self.store.saveGalaxyAtWar(GalaxyAtWar(player.id, 1, 2, 3, 4, 5, 6))
        self.store.setLeaderboardValue(N7, player.id, 10)
        self.store.replacePlayer(
            player.id, " \u212a@E.f", "d", None, 0, None, tokenMinExpiry=0
        )
        self.assertEqual(
            Store._getPlayer(self.connection, player.id),
            Player(player.id, "k@e.f", "d", None, PlayerRole.DEFAULT, 5, None),
        )
        for table in ("player_data", "galaxy_at_war", "leaderboard"):
            self.assertEqual(
                self.connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone(),
                (0,),
                table,
            )

    def test_updatePlayerRevokes(self) -> None:
        """
        L{DirectStore.updatePlayer} raises the account's token floor with
        the other changes, as L{Store.updatePlayer} does; a lower floor
        changes nothing.
        """
        player = self.store.createPlayer("a@b.c", "a", None, 0, 5)
        raised = self.store.updatePlayer(player.id, passwordHash="$h", tokenMinExpiry=100)
        assert raised is not None
        self.assertEqual((raised.passwordHash, raised.tokenMinExpiry), ("$h", 100))
        kept = self.store.updatePlayer(player.id, tokenMinExpiry=50)
        assert kept is not None
        self.assertEqual(kept.tokenMinExpiry, 100)

    def test_replacePlayerEmailTaken(self) -> None:
        """
        Replacing an account with another account's email is
        L{PlayerExists}.
        """
        self.store.createPlayer("a@b.c", "a", None, 0, 5)
        other = self.store.createPlayer("d@e.f", "d", None, 0, 5)
        self.assertRaises(
            PlayerExists,
            self.store.replacePlayer,
            other.id,
            "a@b.c",
            "d",
            None,
            0,
            1,
            tokenMinExpiry=0,
        )

    def test_replacePlayerRevokes(self) -> None:
        """
        L{DirectStore.replacePlayer} raises the account's token floor to
        the one given, revoking the login tokens issued before; a lower
        floor leaves a higher one as it was.
        """
        player = self.store.createPlayer("a@b.c", "a", "$argon2id$x", 0, 5)
        self.store.replacePlayer(
            player.id, "a@b.c", "a", "$argon2id$y", 2, None, tokenMinExpiry=100
        )
        replaced = Store._getPlayer(self.connection, player.id)
        assert replaced is not None
        self.assertEqual(replaced.tokenMinExpiry, 100)
        self.store.replacePlayer(
            player.id, "a@b.c", "a", "$argon2id$z", 2, None, tokenMinExpiry=50
        )
        kept = Store._getPlayer(self.connection, player.id)
        assert kept is not None
        self.assertEqual(kept.tokenMinExpiry, 100)

    def test_gameReports(self) -> None:
        """
        L{DirectStore.addGameReport} stores compact JSON as L{Store} does;
        L{DirectStore.gameReportTexts} gives every report's text and times
        in id order.
        """
        first = self.store.addGameReport({"a": [1, 2]}, 10, 20)
        second = self.store.addGameReport({"b": None}, 30, 40)
        self.assertEqual(second, first + 1)
        self.assertEqual(
            self.store.gameReportTexts(),
            [('{"a":[1,2]}', 10, 20), ('{"b":null}', 30, 40)],
        )
        self.assertRaises(
            InvalidValue, self.store.addGameReport, {"x": "y" * MAX_REPORT_SIZE}, 1, 2
        )

    def test_countRoles(self) -> None:
        """
        L{DirectStore.countRoles} counts the accounts per stored role.
        """
        self.store.createPlayer("a@b.c", "a", None, PlayerRole.ADMIN, 5)
        self.store.createPlayer("d@e.f", "d", None, PlayerRole.ADMIN, 5)
        self.store.createPlayer("g@h.i", "g", None, PlayerRole.SUPER_ADMIN, 5)
        self.assertEqual(self.store.countRoles(), {1: 2, 2: 1})

