# -*- test-case-name: tests.test_store -*-
"""
L{Store}: players, player data, Galaxy at War ratings, leaderboards and game
reports in SQLite, without blocking the reactor.

All SQLite work runs in one dedicated worker thread that owns the only
connection; every method returns a L{Deferred} that fires in the reactor
thread.  Because there is one thread, operations run one at a time in the
order they were called.

Durability: a write's L{Deferred} fires only after the transaction that
holds it has committed, with C{journal_mode=WAL} and C{synchronous=FULL},
so a caller that replies after the L{Deferred} fired ("persist, then
acknowledge") never acknowledges a save that a C{kill -9} or a power loss
could undo.  (C{synchronous=NORMAL} would be faster but can lose the last
commits on power loss.)

Group commit: when the worker thread finds several operations queued, it
runs them in one transaction with one commit (one C{fsync}) instead of
one each, so a burst of saves costs one disk flush per batch rather than
one per save.  Each write runs inside its own C{SAVEPOINT}: one that fails
is undone alone and fails alone, and the others are still committed.  A
batch holds at most L{Store._maxBatchSize} operations and stops taking new
ones after L{Store._maxBatchSeconds}, so no caller waits long behind
others.  If the commit itself fails, every operation of the batch that had
not failed on its own fails with L{StoreError}, and none of it is saved.

Bad values are refused with L{InvalidValue} (a L{ValueError}) before they
reach the database: see the C{MAX_*} limits.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Concatenate, Final, ParamSpec, TypeVar, cast

import attrs
from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from pocketrelay.server.store.emails import MAX_EMAIL_LENGTH, canonicalEmail
from pocketrelay.server.store.schema import Migration, SchemaError, migrate

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import (
        IReactorCore,
        IReactorFromThreads,
        IReactorTime,
    )

__all__ = [
    "MAX_DATA_KEYS",
    "MAX_DATA_KEY_LENGTH",
    "MAX_DATA_VALUE_SIZE",
    "MAX_DISPLAY_NAME_LENGTH",
    "MAX_EMAIL_LENGTH",
    "MAX_FILTER_IDS",
    "MAX_PAGE_SIZE",
    "MAX_QUERY_LENGTH",
    "MAX_REPORT_SIZE",
    "DirectStore",
    "GalaxyAtWar",
    "GameReport",
    "InvalidValue",
    "LeaderboardEntry",
    "LeaderboardType",
    "Player",
    "PlayerExists",
    "PlayerRole",
    "Store",
    "StoreError",
    "UnknownPlayer",
    "prepareConnection",
]

#: Longest display name accepted, in characters (as Pocket Relay).
MAX_DISPLAY_NAME_LENGTH: Final = 99
#: Longest player data key accepted, in characters.
MAX_DATA_KEY_LENGTH: Final = 64
#: Largest player data value accepted, in bytes of UTF-8.
MAX_DATA_VALUE_SIZE: Final = 1024 * 1024
#: Most distinct player data keys one player may have.  The game uses
#: about 90 (C{Base}, C{class1-6}, C{char0-65}, challenge keys...).
MAX_DATA_KEYS: Final = 512
#: Most rows one page query returns; larger counts are clipped to this.
MAX_PAGE_SIZE: Final = 255
#: Most player ids one L{Store.getLeaderboardEntries} call accepts.
MAX_FILTER_IDS: Final = 512
#: Largest game report accepted, in bytes of JSON.
MAX_REPORT_SIZE: Final = 1024 * 1024
#: Longest search text accepted by L{Store.listPlayers}.
MAX_QUERY_LENGTH: Final = 254

_BUSY_TIMEOUT_MS = 5000
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1

_P = ParamSpec("_P")
_R = TypeVar("_R")


class StoreError(Exception):
    """
    The store cannot do what was asked: it is not running, the database
    failed, or its schema is unusable.  The message is meant for the
    operator.
    """


class InvalidValue(StoreError, ValueError):
    """
    A value is over a limit or of the wrong type; nothing was written.
    """


class PlayerExists(StoreError):
    """
    Another player already has this email address (compared in canonical
    form, see L{pocketrelay.server.store.emails.canonicalEmail}).
    """


class UnknownPlayer(StoreError):
    """
    The player a row was written for does not exist.
    """


class PlayerRole(IntEnum):
    """
    A player's dashboard role, as stored (same numbers as Pocket Relay).
    """

    DEFAULT = 0
    ADMIN = 1
    SUPER_ADMIN = 2


class LeaderboardType(IntEnum):
    """
    The two leaderboards, as stored (same numbers as Pocket Relay).
    """

    N7_RATING = 0
    CHALLENGE_POINTS = 1


@attrs.frozen
class Player:
    """
    A player account.

    @ivar id: the account id, also the Blaze player and persona id.
    @ivar email: the login email in canonical form (see
        L{pocketrelay.server.store.emails.canonicalEmail}), unique.
    @ivar displayName: the persona name shown in game.
    @ivar passwordHash: an Argon2 PHC string, or L{None} for an account
        without a password (created through Origin); kept out of C{repr}.
    @ivar role: the dashboard role.
    @ivar createdAt: Unix time of creation.
    @ivar lastLoginAt: Unix time of the last login, or L{None}.
    @ivar tokenMinExpiry: login tokens of this account whose expiry is
        before this Unix time are revoked (see
        L{pocketrelay.server.security.TokenSigner}); 0 when none is.
    """

    id: int
    email: str
    displayName: str
    passwordHash: str | None = attrs.field(repr=False)
    role: PlayerRole
    createdAt: int
    lastLoginAt: int | None
    tokenMinExpiry: int = 0


@attrs.frozen
class GalaxyAtWar:
    """
    A player's Galaxy at War readiness ratings, one per war theatre.

    @ivar playerId: the player.
    @ivar lastModified: Unix time the ratings last changed (decay base).
    """

    playerId: int
    lastModified: int
    groupA: int
    groupB: int
    groupC: int
    groupD: int
    groupE: int

    @property
    def groups(self) -> tuple[int, int, int, int, int]:
        """
        The five ratings A to E in order.
        """
        return (self.groupA, self.groupB, self.groupC, self.groupD, self.groupE)


@attrs.frozen
class LeaderboardEntry:
    """
    One ranked player on one leaderboard.

    @ivar rank: 1-based global rank on the board, ordered by value
        descending then player id ascending (ties get consecutive ranks).
    """

    playerId: int
    playerName: str
    rank: int
    value: int


@attrs.frozen
class GameReport:
    """
    A stored end-of-game report.

    @ivar data: the report as decoded JSON.
    """

    id: int
    data: dict[str, Any] = attrs.field(hash=False)
    createdAt: int
    finishedAt: int


def _checkText(name: str, value: object, maxLength: int) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"{name} must be a string")
    if not value:
        raise InvalidValue(f"{name} must not be empty")
    if len(value) > maxLength:
        raise InvalidValue(f"{name} is longer than {maxLength} characters")
    return value


def _checkInt(
    name: str, value: object, low: int = _INT64_MIN, high: int = _INT64_MAX
) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"{name} must be an integer")
    if not low <= value <= high:
        raise InvalidValue(f"{name} {value} is out of range [{low}, {high}]")
    return int(value)


def _checkPage(offset: object, count: object) -> tuple[int, int]:
    """
    Validate a row offset and a page size, clipping the size to
    L{MAX_PAGE_SIZE}.
    """
    first = _checkInt("offset", offset, 0)
    size = _checkInt("count", count, 0)
    return first, min(size, MAX_PAGE_SIZE)


def _checkEmail(email: object) -> str:
    """
    The canonical form of an email to store (see
    L{pocketrelay.server.store.emails.canonicalEmail}).
    """
    if isinstance(email, str):
        email = canonicalEmail(email)
    return _checkText("email", email, MAX_EMAIL_LENGTH)


def _checkRole(role: object) -> PlayerRole:
    try:
        return PlayerRole(cast(int, role))
    except ValueError:
        raise InvalidValue(f"unknown player role {role!r}")


def _checkBoard(board: object) -> LeaderboardType:
    try:
        return LeaderboardType(cast(int, board))
    except ValueError:
        raise InvalidValue(f"unknown leaderboard type {board!r}")


def _checkDataKey(key: object) -> str:
    return _checkText("player data key", key, MAX_DATA_KEY_LENGTH)


def _checkDataValue(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidValue("player data value must be a string")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidValue("player data value is not valid Unicode")
    if size > MAX_DATA_VALUE_SIZE:
        raise InvalidValue(
            f"player data value is {size} bytes, over the limit of "
            f"{MAX_DATA_VALUE_SIZE}"
        )
    return value


def _gameReportText(data: object) -> str:
    """
    A game report as stored: compact JSON, at most L{MAX_REPORT_SIZE}
    bytes.

    @raise InvalidValue: if C{data} is not a JSON object or is too large.
    """
    if not isinstance(data, Mapping):
        raise InvalidValue("a game report must be a JSON object")
    try:
        text = json.dumps(dict(data), separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidValue(f"game report is not valid JSON: {e}")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_REPORT_SIZE:
        raise InvalidValue(f"game report is over the limit of {MAX_REPORT_SIZE} bytes")
    return text


def _likePattern(text: str) -> str:
    """
    A C{LIKE ... ESCAPE '\\'} pattern matching C{text} as a substring.
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _role(value: int) -> PlayerRole:
    try:
        return PlayerRole(value)
    except ValueError:
        # A role this version does not know gets no privileges.
        return PlayerRole.DEFAULT


_PLAYER_COLUMNS = (
    "id, email, display_name, password, role, created_at, last_login_at, token_min_expiry"
)


def _player(row: tuple[Any, ...]) -> Player:
    return Player(
        id=row[0],
        email=row[1],
        displayName=row[2],
        passwordHash=row[3],
        role=_role(row[4]),
        createdAt=row[5],
        lastLoginAt=row[6],
        tokenMinExpiry=row[7],
    )


def _isEmailClash(error: sqlite3.IntegrityError) -> bool:
    return "UNIQUE" in str(error) and "players.email" in str(error)


def _isMissingParent(error: sqlite3.IntegrityError) -> bool:
    return "FOREIGN KEY" in str(error)


# Ranks: a board's rows ordered by value descending then player id ascending,
# numbered from 1, so ties get distinct consecutive ranks.  A player's rank is
# 1 + the number of rows ahead of it, counted on the leaderboard_rank index,
# so it is the global rank even when only some rows are read.  (Pocket Relay
# evaluates RANK() after its WHERE filter, so a lone or filtered player gets
# rank 1 and centered boards are anchored wrong.)  Positions count leaderboard
# rows only; the player table just supplies names.
# The inner query skips rows on the index alone; names are joined only for
# the rows returned.
_PAGE = """
    SELECT l.player_id, COALESCE(p.display_name, ''), l.value
    FROM (
        SELECT player_id, value FROM leaderboard
        WHERE type = ?
        ORDER BY value DESC, player_id ASC
        LIMIT ? OFFSET ?
    ) AS l LEFT JOIN players AS p ON p.id = l.player_id
    ORDER BY l.value DESC, l.player_id ASC
"""

_RANKED_PLAYERS = """
    SELECT l.player_id, COALESCE(p.display_name, ''),
        1 + (SELECT COUNT(*) FROM leaderboard AS o
             WHERE o.type = l.type AND o.value > l.value)
          + (SELECT COUNT(*) FROM leaderboard AS o
             WHERE o.type = l.type AND o.value = l.value
             AND o.player_id < l.player_id) AS rank,
        l.value
    FROM leaderboard AS l LEFT JOIN players AS p ON p.id = l.player_id
    WHERE l.type = ? AND l.player_id IN ({marks})
    ORDER BY rank
"""


def _page(
    db: sqlite3.Connection, board: LeaderboardType, first: int, size: int
) -> list[LeaderboardEntry]:
    """
    The entries ranked C{first + 1} to C{first + size}.
    """
    rows = db.execute(_PAGE, (int(board), size, first))
    return [
        LeaderboardEntry(playerId, name, rank, value)
        for rank, (playerId, name, value) in enumerate(rows, start=first + 1)
    ]


def _ranked(
    db: sqlite3.Connection, board: LeaderboardType, ids: list[int]
) -> list[LeaderboardEntry]:
    """
    The entries of the players C{ids} that are on the board, in rank order.
    """
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    return _entries(db.execute(_RANKED_PLAYERS.format(marks=marks), (int(board), *ids)))


def _entries(rows: Iterable[tuple[Any, ...]]) -> list[LeaderboardEntry]:
    return [LeaderboardEntry(row[0], row[1], row[2], row[3]) for row in rows]


@attrs.define(eq=False)
class _Operation:
    """
    One queued store call, and what became of it in the worker thread.

    @ivar work: C{work(connection)} does the call's SQL.
    @ivar write: whether the call changes the database.
    @ivar deferred: fired in the reactor thread with C{result} or
        C{failure} once the batch holding the call has committed.
    @ivar result: the call's return value.
    @ivar failure: why the call failed, or L{None} if it succeeded.
    """

    work: Callable[[sqlite3.Connection], Any]
    write: bool
    deferred: Deferred[Any]
    result: Any = None
    failure: Failure | None = None


_SAVEPOINT = "store_operation"


def restrictPermissions(path: str) -> None:
    """
    Keep the database private to its owner: create it with mode 0600 if
    it does not exist, and take group and other access away from it and
    from its C{-wal} and C{-shm} files if they have any (SQLite creates
    those with the database's mode).  Best effort: a file that cannot be
    changed (another owner) is left as it is.

    @param path: the database file, or C{":memory:"} (nothing to do).
    """
    if path == ":memory:" or path.startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        pass
    else:
        os.close(fd)
    for name in (path, path + "-wal", path + "-shm"):
        try:
            mode = os.stat(name).st_mode
            if mode & 0o077:
                os.chmod(name, mode & 0o7700)
        except OSError:
            pass


def prepareConnection(
    connection: sqlite3.Connection, now: int
) -> tuple[int, list[Migration], str]:
    """
    Set up a new connection to the database as the store uses it (busy
    timeout, C{journal_mode=WAL}, C{synchronous=FULL}, foreign keys) and
    apply the pending schema migrations.  For L{Store} and for offline
    tools that open the same file (C{pocketrelay-admin}).

    @param connection: in autocommit mode (C{isolation_level=None}).
    @param now: Unix time recorded for the migrations.
    @return: the schema version before migrating, the migrations applied
        and the journal mode in force (lower case).
    @raise SchemaError: the database is newer or not pocketrelay's.
    """
    connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    (journal,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA foreign_keys = ON")
    initial, applied = migrate(connection, now)
    return initial, applied, str(journal).lower()


class Store:
    """
    The SQLite store.

    Construct it, call L{start}, and L{stop} at shutdown.  Operations may
    be called as soon as L{start} returned: they run after the open (and
    fail with L{StoreError} if it failed).  Once open, the store registers
    a reactor shutdown trigger that stops it, so the worker thread never
    keeps the process alive.

    Paging: C{offset} arguments are row offsets (rows skipped), not page
    indexes; page sizes are clipped to L{MAX_PAGE_SIZE}.

    @ivar path: the database file (or C{":memory:"}).
    @cvar _maxBatchSize: most operations run in one transaction.
    @cvar _maxBatchSeconds: a batch takes no further queued operation once
        it has run for this long.
    """

    log = Logger()

    _maxBatchSize = 256
    _maxBatchSeconds = 0.005

    def __init__(self, path: str, reactor: IReactorCore) -> None:
        """
        @param path: the database file; its directory must exist.
        @param reactor: the reactor: results are delivered to its thread
            and it gives the current time for default timestamps.
        """
        self.path = path
        self._reactor = reactor
        self._threads = cast("IReactorFromThreads", reactor)
        self._time = cast("IReactorTime", reactor)
        self._pool: ThreadPool | None = None
        self._accepting = False
        self._stopping: Deferred[None] | None = None
        self._shutdownTrigger: Any = None
        # Created, used and closed only in the worker thread.
        self._connection: sqlite3.Connection | None = None
        # Operations waiting for the worker thread, oldest first, and
        # whether a drain job is queued in or running on the pool; both
        # shared with the worker thread under _queueLock.
        self._queueLock = threading.Lock()
        self._queue: deque[_Operation] = deque()
        self._draining = False

    def __repr__(self) -> str:
        return f"<Store {self.path!r}>"

    @property
    def running(self) -> bool:
        """
        Whether the store accepts operations: from L{start} until L{stop}
        is called or the open fails.
        """
        return self._accepting

    # -- life cycle ------------------------------------------------------

    def start(self) -> Deferred[None]:
        """
        Start the worker thread, open the database and apply any pending
        schema migrations.

        @return: a L{Deferred} firing with L{None} when the store is ready,
            or failing with L{StoreError} (for example when the database
            comes from a newer pocketrelay, or was not made by pocketrelay);
            the worker thread is then stopped again.
        """
        if self._pool is not None:
            return defer.fail(StoreError("the store is already started"))
        pool = ThreadPool(1, 1, name="pocketrelay-store")
        pool.start()
        self._pool = pool
        # Operations may be queued at once: the single worker thread runs
        # them after the open below, in order (requests can arrive while
        # the database is still being opened).
        self._accepting = True
        now = int(self._time.seconds())

        def opened(result: tuple[int, int, list[Any], str]) -> None:
            _, final, applied, journal = result
            for migration in applied:
                self.log.info(
                    "Applied schema migration {version}: {description}",
                    version=migration.version,
                    description=migration.description,
                )
            if journal != "wal" and self.path != ":memory:":
                self.log.warn(
                    "Database {path} is in journal mode {mode}, not WAL",
                    path=self.path,
                    mode=journal,
                )
            self.log.info(
                "Opened database {path} (schema version {version})",
                path=self.path,
                version=final,
            )
            # "before": the reactor waits for the returned Deferred, so the
            # database is closed and the worker thread joined before exit.
            if self._accepting:
                self._shutdownTrigger = self._reactor.addSystemEventTrigger(
                    "before", "shutdown", self._shutdown
                )

        def failed(reason: Any) -> Any:
            self._accepting = False
            self._pool = None
            pool.stop()
            return reason

        d = deferToThreadPool(self._threads, pool, self._call, self._open, (now,))
        return d.addCallbacks(opened, failed)

    def _shutdown(self) -> Deferred[None]:
        """
        The reactor shutdown trigger: stop, without removing this trigger.
        """
        self._shutdownTrigger = None
        return self.stop()

    def stop(self) -> Deferred[None]:
        """
        Finish the queued operations, close the database and stop the
        worker thread.  Calls made after this fail with L{StoreError}.
        Stopping a store that is not running does nothing.

        @return: a L{Deferred} firing when the database is closed.
        """
        if self._stopping is not None:
            waiting: Deferred[None] = defer.Deferred()

            def release(result: object) -> object:
                waiting.callback(None)
                return result

            self._stopping.addBoth(release)
            return waiting
        pool = self._pool
        if pool is None:
            return defer.succeed(None)
        self._accepting = False
        if self._shutdownTrigger is not None:
            try:
                self._reactor.removeSystemEventTrigger(self._shutdownTrigger)
            except (ValueError, KeyError):
                pass
            self._shutdownTrigger = None

        def closed(result: Any) -> Any:
            self._pool = None
            self._stopping = None
            pool.stop()
            self.log.info("Closed database {path}", path=self.path)
            return result

        d = deferToThreadPool(self._threads, pool, self._call, self._close, ())
        d.addBoth(closed)
        self._stopping = d
        return d

    # -- in the worker thread --------------------------------------------

    def _call(self, f: Callable[..., _R], args: tuple[Any, ...]) -> _R:
        """
        Run C{f(*args)} in the worker thread, turning database errors into
        L{StoreError}.
        """
        try:
            return f(*args)
        except StoreError:
            raise
        except SchemaError as e:
            raise StoreError(f"{self.path}: {e}") from e
        except (UnicodeEncodeError, OverflowError) as e:
            raise InvalidValue(f"value cannot be stored: {e}") from e
        except sqlite3.Error as e:
            raise StoreError(f"database error in {self.path}: {e}") from e

    def _open(self, now: int) -> tuple[int, int, list[Any], str]:
        restrictPermissions(self.path)
        try:
            connection = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=True
            )
        except sqlite3.Error as e:
            raise StoreError(f"cannot open database {self.path}: {e}") from e
        try:
            initial, applied, journal = prepareConnection(connection, now)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        final = applied[-1].version if applied else initial
        return initial, final, applied, journal

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _transaction(
        self,
        write: bool,
        f: Callable[Concatenate[sqlite3.Connection, _P], _R],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _R:
        """
        Run C{f(connection, *args)} alone in one transaction and commit it,
        in the calling thread.  The worker thread batches instead (see
        L{_runBatch}); this is for callers without it, such as
        L{pocketrelay.testing.server.SynchronousStore}.
        """
        connection = self._connection
        if connection is None:
            raise StoreError("the store is not running")
        connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = f(connection, *args, **kwargs)
            self._commit(connection)
        except BaseException:
            self._rollback(connection)
            raise
        return result

    def _drain(self) -> None:
        """
        The pool job that runs queued operations, batch after batch, until
        the queue is empty; each batch's results are sent to the reactor
        thread after its commit.
        """
        while True:
            with self._queueLock:
                if not self._queue:
                    self._draining = False
                    return
            batch, error = self._runBatch()
            self._threads.callFromThread(self._deliver, batch, error)

    def _takeNext(self, write: bool) -> _Operation | None:
        """
        Take the oldest queued operation if it may join a batch: any may
        join a writing batch, only reads may join a reading one (so a
        reading transaction never has to become a writing one).
        """
        with self._queueLock:
            if not self._queue or (self._queue[0].write and not write):
                return None
            return self._queue.popleft()

    def _runBatch(self) -> tuple[list[_Operation], str | None]:
        """
        Run the oldest queued operation and those queued behind it (within
        the batch limits) in one transaction, and commit it.

        @return: the operations run, each with its result or failure set,
            and a description of the error that failed the whole batch, if
            one did.
        """
        with self._queueLock:
            first = self._queue.popleft()
        batch = [first]
        connection = self._connection
        if connection is None:
            first.failure = Failure(StoreError("the store is not running"))
            return batch, None
        begin = "BEGIN IMMEDIATE" if first.write else "BEGIN"
        try:
            self._call(connection.execute, (begin,))
        except Exception:
            # As without batching: the operation that could not start a
            # transaction (say, another process held the lock past the busy
            # timeout) fails alone; the next one tries again.
            first.failure = Failure()
            return batch, None
        try:
            deadline = time.monotonic() + self._maxBatchSeconds
            operation: _Operation | None = first
            while operation is not None:
                if not self._runOne(connection, operation):
                    return batch, self._lost(connection, batch, operation)
                if len(batch) >= self._maxBatchSize or time.monotonic() >= deadline:
                    break
                operation = self._takeNext(first.write)
                if operation is not None:
                    batch.append(operation)
            self._commit(connection)
        except BaseException as e:
            # Whatever failed (the commit itself, a savepoint, a bug), the
            # batch's work is rolled back and none of it may be reported
            # as saved.
            self._rollback(connection)
            return batch, self._failAll(batch, f"{type(e).__name__}: {e}")
        return batch, None

    def _runOne(self, connection: sqlite3.Connection, operation: _Operation) -> bool:
        """
        Run one operation inside the batch's transaction, a write inside its
        own savepoint so that if it fails only its own changes are undone.

        @return: whether the transaction is still usable: C{False} when the
            operation failed and SQLite rolled back the whole transaction
            (it does so on some errors, such as a full disk).
        """
        if operation.write:
            connection.execute(f"SAVEPOINT {_SAVEPOINT}")
        try:
            operation.result = self._call(operation.work, (connection,))
        except Exception:
            operation.failure = Failure()
            if not connection.in_transaction:
                return False
            if operation.write:
                try:
                    connection.execute(f"ROLLBACK TO {_SAVEPOINT}")
                    connection.execute(f"RELEASE {_SAVEPOINT}")
                except sqlite3.Error:
                    return False
        else:
            if operation.write:
                connection.execute(f"RELEASE {_SAVEPOINT}")
        return True

    def _lost(
        self,
        connection: sqlite3.Connection,
        batch: list[_Operation],
        culprit: _Operation,
    ) -> str:
        """
        The transaction was rolled back under the batch when C{culprit}
        failed: fail the operations that had succeeded in it, since their
        work is gone.  Operations still queued run in the next batch.

        @return: a description of the error.
        """
        self._rollback(connection)
        assert culprit.failure is not None
        return self._failAll(
            batch, f"rolled back after a failed operation: {culprit.failure.value}"
        )

    def _failAll(self, batch: list[_Operation], error: str) -> str:
        """
        Fail, with a L{StoreError} saying C{error}, every operation of a
        rolled back batch that had not failed on its own.

        @return: C{error}.
        """
        for operation in batch:
            if operation.failure is None:
                operation.failure = Failure(
                    StoreError(
                        f"database error in {self.path}, nothing of this "
                        f"operation was saved: {error}"
                    )
                )
        return error

    def _commit(self, connection: sqlite3.Connection) -> None:
        """
        Commit the batch's transaction.  (Separate so that tests can watch
        it or make it fail.)
        """
        connection.execute("COMMIT")

    @staticmethod
    def _rollback(connection: sqlite3.Connection) -> None:
        if connection.in_transaction:
            try:
                connection.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    # -- dispatch ---------------------------------------------------------

    def _deliver(self, batch: list[_Operation], error: str | None) -> None:
        """
        In the reactor thread: fire the L{Deferred}s of a finished batch, in
        the order the operations were called.
        """
        if error is not None:
            self.log.error(
                "A transaction of {count} operations in {path} failed and "
                "was rolled back: {error}",
                count=len(batch),
                path=self.path,
                error=error,
            )
        for operation in batch:
            if operation.failure is None:
                operation.deferred.callback(operation.result)
            else:
                operation.deferred.errback(operation.failure)

    def _run(
        self,
        write: bool,
        f: Callable[Concatenate[sqlite3.Connection, _P], _R],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_R]:
        """
        Queue C{f(connection, *args)} for the worker thread, which runs it
        in a transaction, possibly together with other queued operations.

        @return: a L{Deferred} firing after that transaction has committed.
        """
        pool = self._pool
        if pool is None or not self._accepting:
            return defer.fail(StoreError("the store is not running"))

        def work(connection: sqlite3.Connection) -> _R:
            return f(connection, *args, **kwargs)

        d: Deferred[_R] = defer.Deferred()
        with self._queueLock:
            self._queue.append(_Operation(work, write, d))
            schedule = not self._draining
            self._draining = True
        if schedule:
            pool.callInThread(self._drain)
        return d

    def _read(
        self,
        f: Callable[Concatenate[sqlite3.Connection, _P], _R],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_R]:
        return self._run(False, f, *args, **kwargs)

    def _write(
        self,
        f: Callable[Concatenate[sqlite3.Connection, _P], _R],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_R]:
        return self._run(True, f, *args, **kwargs)

    # -- health -------------------------------------------------------------

    def ping(self) -> Deferred[None]:
        """
        Run a trivial query (C{SELECT 1}) through the worker thread, queued
        behind the operations already waiting, for health checks.

        @return: a L{Deferred} firing with L{None} once the database
            answered, or failing with L{StoreError} when the store is not
            running or the database failed.
        """
        return self._read(self._ping)

    @staticmethod
    def _ping(db: sqlite3.Connection) -> None:
        db.execute("SELECT 1").fetchone()

    # -- players ------------------------------------------------------------

    def createPlayer(
        self,
        email: str,
        displayName: str,
        passwordHash: str | None,
        role: int = PlayerRole.DEFAULT,
        now: int | None = None,
    ) -> Deferred[Player]:
        """
        Create a player account.

        @param passwordHash: an Argon2 PHC string, or L{None} for none.
        @param now: creation time; by default the reactor's time.
        @return: a L{Deferred} firing with the new L{Player}, or failing
            with L{PlayerExists} if the email is taken (compared in canonical
            form) or L{InvalidValue} for an empty or too long email or name.
        """
        if now is None:
            now = int(self._time.seconds())
        return self._write(
            self._createPlayer, email, displayName, passwordHash, role, now
        )

    @staticmethod
    def _createPlayer(
        db: sqlite3.Connection,
        email: str,
        displayName: str,
        passwordHash: str | None,
        role: int,
        now: int,
    ) -> Player:
        email = _checkEmail(email)
        _checkText("display name", displayName, MAX_DISPLAY_NAME_LENGTH)
        if passwordHash is not None and not isinstance(passwordHash, str):
            raise InvalidValue("password hash must be a string or None")
        checkedRole = _checkRole(role)
        createdAt = _checkInt("creation time", now)
        try:
            cursor = db.execute(
                "INSERT INTO players "
                "(email, display_name, password, role, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (email, displayName, passwordHash, int(checkedRole), createdAt),
            )
        except sqlite3.IntegrityError as e:
            if _isEmailClash(e):
                raise PlayerExists(f"a player with email {email!r} exists")
            raise
        assert cursor.lastrowid is not None
        return Player(
            id=cursor.lastrowid,
            email=email,
            displayName=displayName,
            passwordHash=passwordHash,
            role=checkedRole,
            createdAt=createdAt,
            lastLoginAt=None,
        )

    def getPlayer(self, playerId: int) -> Deferred[Player | None]:
        """
        @return: a L{Deferred} firing with the L{Player} with this id, or
            L{None}.
        """
        return self._read(self._getPlayer, playerId)

    @staticmethod
    def _getPlayer(db: sqlite3.Connection, playerId: int) -> Player | None:
        _checkInt("player id", playerId)
        row = db.execute(
            f"SELECT {_PLAYER_COLUMNS} FROM players WHERE id = ?", (playerId,)
        ).fetchone()
        return None if row is None else _player(row)

    def getPlayerByEmail(self, email: str) -> Deferred[Player | None]:
        """
        @return: a L{Deferred} firing with the L{Player} with this email
            (compared in canonical form, see
            L{pocketrelay.server.store.emails.canonicalEmail}), or L{None}.
        """
        return self._read(self._getPlayerByEmail, email)

    @staticmethod
    def _getPlayerByEmail(db: sqlite3.Connection, email: str) -> Player | None:
        if not isinstance(email, str):
            raise InvalidValue("email must be a string")
        if not email or len(email) > 4 * MAX_EMAIL_LENGTH:
            return None
        row = db.execute(
            f"SELECT {_PLAYER_COLUMNS} FROM players WHERE email = ?",
            (canonicalEmail(email),),
        ).fetchone()
        return None if row is None else _player(row)

    def listPlayers(
        self, offset: int, count: int, query: str | None = None
    ) -> Deferred[tuple[list[Player], int]]:
        """
        A page of players in id order.

        @param offset: rows to skip.
        @param count: page size, clipped to L{MAX_PAGE_SIZE}.
        @param query: if given, only players whose display name or email
            contains this text (case-insensitively for ASCII; C{%} and
            C{_} match themselves).
        @return: a L{Deferred} firing with the page and the total number of
            matching players.
        """
        return self._read(self._listPlayers, offset, count, query)

    @staticmethod
    def _listPlayers(
        db: sqlite3.Connection, offset: int, count: int, query: str | None
    ) -> tuple[list[Player], int]:
        first, size = _checkPage(offset, count)
        where = ""
        params: tuple[Any, ...] = ()
        if query is not None:
            if not isinstance(query, str):
                raise InvalidValue("search text must be a string")
            if len(query) > MAX_QUERY_LENGTH:
                raise InvalidValue(
                    f"search text is longer than {MAX_QUERY_LENGTH} characters"
                )
            if query:
                pattern = _likePattern(query)
                where = (
                    "WHERE display_name LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\'"
                )
                params = (pattern, pattern)
        (total,) = db.execute(
            f"SELECT COUNT(*) FROM players {where}", params
        ).fetchone()
        rows = db.execute(
            f"SELECT {_PLAYER_COLUMNS} FROM players {where} "
            f"ORDER BY id LIMIT ? OFFSET ?",
            (*params, size, first),
        ).fetchall()
        return [_player(row) for row in rows], int(total)

    def updatePlayer(
        self,
        playerId: int,
        *,
        email: str | None = None,
        displayName: str | None = None,
        passwordHash: str | None = None,
        role: int | None = None,
        tokenMinExpiry: int | None = None,
    ) -> Deferred[Player | None]:
        """
        Change some of a player's fields; L{None} leaves a field as it is.

        @param email: stored in canonical form.
        @param tokenMinExpiry: revokes the login tokens expiring before
            this Unix time (see L{Player.tokenMinExpiry}); it never goes
            down, so a smaller value changes nothing.
        @return: a L{Deferred} firing with the updated L{Player}, or
            L{None} if there is no such player; failing with
            L{PlayerExists} if the new email belongs to another player.
        """
        return self._write(
            self._updatePlayer, playerId, email, displayName, passwordHash, role,
            tokenMinExpiry,
        )

    @classmethod
    def _updatePlayer(
        cls,
        db: sqlite3.Connection,
        playerId: int,
        email: str | None,
        displayName: str | None,
        passwordHash: str | None,
        role: int | None,
        tokenMinExpiry: int | None = None,
    ) -> Player | None:
        _checkInt("player id", playerId)
        changes: list[tuple[str, Any]] = []
        if email is not None:
            email = _checkEmail(email)
            changes.append(("email", email))
        if displayName is not None:
            changes.append(
                (
                    "display_name",
                    _checkText("display name", displayName, MAX_DISPLAY_NAME_LENGTH),
                )
            )
        if passwordHash is not None:
            if not isinstance(passwordHash, str):
                raise InvalidValue("password hash must be a string")
            changes.append(("password", passwordHash))
        if role is not None:
            changes.append(("role", int(_checkRole(role))))
        if tokenMinExpiry is not None:
            _checkInt("token expiry", tokenMinExpiry)
            changes.append(("token_min_expiry", tokenMinExpiry))
        if changes:
            assignments = ", ".join(
                "token_min_expiry = MAX(token_min_expiry, ?)"
                if column == "token_min_expiry" else f"{column} = ?"
                for column, _ in changes
            )
            try:
                db.execute(
                    f"UPDATE players SET {assignments} WHERE id = ?",
                    (*(value for _, value in changes), playerId),
                )
            except sqlite3.IntegrityError as e:
                if _isEmailClash(e):
                    raise PlayerExists(f"a player with email {email!r} exists")
                raise
        return cls._getPlayer(db, playerId)

    def deletePlayer(self, playerId: int) -> Deferred[bool]:
        """
        Delete a player and, by cascade, their data, Galaxy at War ratings
        and leaderboard entries.  Game reports are kept.

        @return: a L{Deferred} firing with whether a player was deleted.
        """
        return self._write(self._deletePlayer, playerId)

    @staticmethod
    def _deletePlayer(db: sqlite3.Connection, playerId: int) -> bool:
        _checkInt("player id", playerId)
        return db.execute("DELETE FROM players WHERE id = ?", (playerId,)).rowcount > 0

    def playersWithRole(self, role: int) -> Deferred[list[Player]]:
        """
        @return: a L{Deferred} firing with every player of C{role}, in id
            order.
        """
        return self._read(self._playersWithRole, role)

    @staticmethod
    def _playersWithRole(db: sqlite3.Connection, role: int) -> list[Player]:
        checked = _checkRole(role)
        rows = db.execute(
            f"SELECT {_PLAYER_COLUMNS} FROM players WHERE role = ? ORDER BY id",
            (int(checked),),
        ).fetchall()
        return [_player(row) for row in rows]

    def setLastLogin(self, playerId: int, now: int) -> Deferred[None]:
        """
        Record a login time.  An unknown player is ignored.
        """
        return self._write(self._setLastLogin, playerId, now)

    @staticmethod
    def _setLastLogin(db: sqlite3.Connection, playerId: int, now: int) -> None:
        _checkInt("player id", playerId)
        _checkInt("login time", now)
        db.execute("UPDATE players SET last_login_at = ? WHERE id = ?", (now, playerId))

    # -- player data ----------------------------------------------------------

    def setPlayerData(
        self, playerId: int, key: str, value: str, maxTotal: int | None = None
    ) -> Deferred[None]:
        """
        Insert or replace one player data value.

        @param maxTotal: if given, refuse the write when the player's values
            would then take more than this many bytes of UTF-8 together
            (checked in the same transaction).
        @return: a L{Deferred} firing after the commit; failing with
            L{InvalidValue} over the limits (L{MAX_DATA_KEY_LENGTH},
            L{MAX_DATA_VALUE_SIZE}, L{MAX_DATA_KEYS}, C{maxTotal}) or
            L{UnknownPlayer}.
        """
        return self._write(self._setPlayerDataMany, playerId, {key: value}, maxTotal)

    def setPlayerDataMany(
        self, playerId: int, values: Mapping[str, str]
    ) -> Deferred[None]:
        """
        Insert or replace several player data values in one transaction:
        all are written or none.

        @param values: key to value; copied before this returns.
        """
        try:
            snapshot = dict(values)
        except (TypeError, ValueError):
            return defer.fail(InvalidValue("player data must be a mapping"))
        return self._write(self._setPlayerDataMany, playerId, snapshot)

    @staticmethod
    def _setPlayerDataMany(
        db: sqlite3.Connection, playerId: int, values: dict[str, str],
        maxTotal: int | None = None,
    ) -> None:
        _checkInt("player id", playerId)
        for key, value in values.items():
            _checkDataKey(key)
            _checkDataValue(value)
        if not values:
            return
        if maxTotal is not None:
            placeholders = ", ".join("?" * len(values))
            (kept,) = db.execute(
                "SELECT COALESCE(SUM(LENGTH(CAST(value AS BLOB))), 0) FROM player_data "
                f"WHERE player_id = ? AND key NOT IN ({placeholders})",
                (playerId, *values),
            ).fetchone()
            total = int(kept) + sum(len(value.encode("utf-8")) for value in values.values())
            if total > maxTotal:
                raise InvalidValue(
                    f"player {playerId}'s data would take {total} bytes, over the "
                    f"limit of {maxTotal}"
                )
        existing = {
            key
            for (key,) in db.execute(
                "SELECT key FROM player_data WHERE player_id = ?", (playerId,)
            )
        }
        added = len(values.keys() - existing)
        if added and len(existing) + added > MAX_DATA_KEYS:
            raise InvalidValue(
                f"player {playerId} would have more than {MAX_DATA_KEYS} data keys"
            )
        try:
            db.executemany(
                "INSERT INTO player_data (player_id, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (player_id, key) DO UPDATE SET value = excluded.value",
                [(playerId, key, value) for key, value in values.items()],
            )
        except sqlite3.IntegrityError as e:
            if _isMissingParent(e):
                raise UnknownPlayer(f"no player with id {playerId}")
            raise

    def getPlayerData(self, playerId: int) -> Deferred[dict[str, str]]:
        """
        @return: a L{Deferred} firing with all of a player's data, keys in
            sorted order (empty for an unknown player).
        """
        return self._read(self._getPlayerData, playerId)

    @staticmethod
    def _getPlayerData(db: sqlite3.Connection, playerId: int) -> dict[str, str]:
        _checkInt("player id", playerId)
        return dict(
            db.execute(
                "SELECT key, value FROM player_data WHERE player_id = ? ORDER BY key",
                (playerId,),
            ).fetchall()
        )

    def getPlayerDataValue(self, playerId: int, key: str) -> Deferred[str | None]:
        """
        @return: a L{Deferred} firing with one value, or L{None}.
        """
        return self._read(self._getPlayerDataValue, playerId, key)

    @staticmethod
    def _getPlayerDataValue(
        db: sqlite3.Connection, playerId: int, key: str
    ) -> str | None:
        _checkInt("player id", playerId)
        _checkDataKey(key)
        row = db.execute(
            "SELECT value FROM player_data WHERE player_id = ? AND key = ?",
            (playerId, key),
        ).fetchone()
        return None if row is None else str(row[0])

    def deletePlayerData(self, playerId: int, key: str) -> Deferred[bool]:
        """
        @return: a L{Deferred} firing with whether a value was deleted.
        """
        return self._write(self._deletePlayerData, playerId, key)

    @staticmethod
    def _deletePlayerData(db: sqlite3.Connection, playerId: int, key: str) -> bool:
        _checkInt("player id", playerId)
        _checkDataKey(key)
        cursor = db.execute(
            "DELETE FROM player_data WHERE player_id = ? AND key = ?", (playerId, key)
        )
        return cursor.rowcount > 0

    # -- Galaxy at War --------------------------------------------------------

    def getGalaxyAtWar(self, playerId: int) -> Deferred[GalaxyAtWar | None]:
        """
        @return: a L{Deferred} firing with the player's ratings, or L{None}
            if none were saved.
        """
        return self._read(self._getGalaxyAtWar, playerId)

    @staticmethod
    def _getGalaxyAtWar(db: sqlite3.Connection, playerId: int) -> GalaxyAtWar | None:
        _checkInt("player id", playerId)
        row = db.execute(
            "SELECT player_id, last_modified, group_a, group_b, group_c, "
            "group_d, group_e FROM galaxy_at_war WHERE player_id = ?",
            (playerId,),
        ).fetchone()
        return None if row is None else GalaxyAtWar(*row)

    def saveGalaxyAtWar(self, ratings: GalaxyAtWar) -> Deferred[None]:
        """
        Insert or replace a player's ratings.

        @return: a L{Deferred} failing with L{InvalidValue} if a rating is
            outside 0..65535, or L{UnknownPlayer}.
        """
        return self._write(self._saveGalaxyAtWar, ratings)

    @staticmethod
    def _saveGalaxyAtWar(db: sqlite3.Connection, ratings: GalaxyAtWar) -> None:
        if not isinstance(ratings, GalaxyAtWar):
            raise InvalidValue("expected a GalaxyAtWar value")
        _checkInt("player id", ratings.playerId)
        _checkInt("last modified time", ratings.lastModified)
        for group in ratings.groups:
            _checkInt("Galaxy at War rating", group, 0, 0xFFFF)
        try:
            db.execute(
                "INSERT INTO galaxy_at_war (player_id, last_modified, group_a, "
                "group_b, group_c, group_d, group_e) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (player_id) DO UPDATE SET "
                "last_modified = excluded.last_modified, "
                "group_a = excluded.group_a, group_b = excluded.group_b, "
                "group_c = excluded.group_c, group_d = excluded.group_d, "
                "group_e = excluded.group_e",
                (ratings.playerId, ratings.lastModified, *ratings.groups),
            )
        except sqlite3.IntegrityError as e:
            if _isMissingParent(e):
                raise UnknownPlayer(f"no player with id {ratings.playerId}")
            raise

    # -- leaderboards ---------------------------------------------------------

    def setLeaderboardValue(
        self, type: int, playerId: int, value: int
    ) -> Deferred[None]:
        """
        Insert or replace a player's value on one leaderboard.

        @param type: a L{LeaderboardType}.
        """
        return self._write(self._setLeaderboardValue, type, playerId, value)

    @staticmethod
    def _setLeaderboardValue(
        db: sqlite3.Connection, type: int, playerId: int, value: int
    ) -> None:
        board = _checkBoard(type)
        _checkInt("player id", playerId)
        _checkInt("leaderboard value", value)
        try:
            db.execute(
                "INSERT INTO leaderboard (type, player_id, value) VALUES (?, ?, ?) "
                "ON CONFLICT (type, player_id) DO UPDATE SET value = excluded.value",
                (int(board), playerId, value),
            )
        except sqlite3.IntegrityError as e:
            if _isMissingParent(e):
                raise UnknownPlayer(f"no player with id {playerId}")
            raise

    def getLeaderboardPage(
        self, type: int, offset: int, count: int
    ) -> Deferred[list[LeaderboardEntry]]:
        """
        A page of one leaderboard in rank order.

        @param offset: rows to skip (the first entry has rank C{offset + 1}).
        @param count: page size, clipped to L{MAX_PAGE_SIZE}.
        """
        return self._read(self._getLeaderboardPage, type, offset, count)

    @staticmethod
    def _getLeaderboardPage(
        db: sqlite3.Connection, type: int, offset: int, count: int
    ) -> list[LeaderboardEntry]:
        board = _checkBoard(type)
        first, size = _checkPage(offset, count)
        return _page(db, board, first, size)

    def getLeaderboardRank(
        self, type: int, playerId: int
    ) -> Deferred[LeaderboardEntry | None]:
        """
        @return: a L{Deferred} firing with the player's entry and global
            rank, or L{None} if the player is not on this board.
        """
        return self._read(self._getLeaderboardRank, type, playerId)

    @staticmethod
    def _getLeaderboardRank(
        db: sqlite3.Connection, type: int, playerId: int
    ) -> LeaderboardEntry | None:
        board = _checkBoard(type)
        _checkInt("player id", playerId)
        entries = _ranked(db, board, [playerId])
        return entries[0] if entries else None

    def getLeaderboardEntries(
        self, type: int, playerIds: Iterable[int]
    ) -> Deferred[list[LeaderboardEntry]]:
        """
        The entries of the given players, with their global ranks, in rank
        order; players not on the board are left out.

        @param playerIds: at most L{MAX_FILTER_IDS} distinct ids.
        """
        try:
            ids = sorted({_checkInt("player id", i) for i in playerIds})
        except TypeError:
            return defer.fail(InvalidValue("player ids must be a list of integers"))
        except InvalidValue:
            return defer.fail()
        if len(ids) > MAX_FILTER_IDS:
            return defer.fail(
                InvalidValue(f"more than {MAX_FILTER_IDS} player ids requested")
            )
        return self._read(self._getLeaderboardEntries, type, ids)

    @staticmethod
    def _getLeaderboardEntries(
        db: sqlite3.Connection, type: int, ids: list[int]
    ) -> list[LeaderboardEntry]:
        return _ranked(db, _checkBoard(type), ids)

    def countLeaderboard(self, type: int) -> Deferred[int]:
        """
        @return: a L{Deferred} firing with the number of players on a board.
        """
        return self._read(self._countLeaderboard, type)

    @staticmethod
    def _countLeaderboard(db: sqlite3.Connection, type: int) -> int:
        board = _checkBoard(type)
        (total,) = db.execute(
            "SELECT COUNT(*) FROM leaderboard WHERE type = ?",
            (int(board),),
        ).fetchone()
        return int(total)

    def getLeaderboardCentered(
        self, type: int, playerId: int, count: int
    ) -> Deferred[list[LeaderboardEntry]]:
        """
        Up to C{count} consecutive entries around a player, in rank order.

        The window starts C{count // 2} ranks above the player (so the
        player is in the middle, or just below it for an even count),
        moved down to start at rank 1 near the top; near the bottom it
        simply has fewer entries.  Empty if the player is not on the board.

        @param count: window size, clipped to L{MAX_PAGE_SIZE}.
        """
        return self._read(self._getLeaderboardCentered, type, playerId, count)

    @classmethod
    def _getLeaderboardCentered(
        cls, db: sqlite3.Connection, type: int, playerId: int, count: int
    ) -> list[LeaderboardEntry]:
        board = _checkBoard(type)
        _, size = _checkPage(0, count)
        own = cls._getLeaderboardRank(db, board, playerId)
        if own is None or size == 0:
            return []
        start = max(1, own.rank - size // 2)
        return _page(db, board, start - 1, size)

    # -- game reports ---------------------------------------------------------

    def addGameReport(
        self, data: Mapping[str, Any], createdAt: int, finishedAt: int
    ) -> Deferred[int]:
        """
        Store an end-of-game report.

        @param data: JSON-serialisable; serialised before this returns, at
            most L{MAX_REPORT_SIZE} bytes.
        @return: a L{Deferred} firing with the report id.
        """
        try:
            text = _gameReportText(data)
        except InvalidValue:
            return defer.fail()
        return self._write(self._addGameReport, text, createdAt, finishedAt)

    @staticmethod
    def _addGameReport(
        db: sqlite3.Connection, text: str, createdAt: int, finishedAt: int
    ) -> int:
        _checkInt("creation time", createdAt)
        _checkInt("finish time", finishedAt)
        cursor = db.execute(
            "INSERT INTO game_reports (data, created_at, finished_at) VALUES (?, ?, ?)",
            (text, createdAt, finishedAt),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def listGameReports(
        self, offset: int, count: int
    ) -> Deferred[tuple[list[GameReport], int]]:
        """
        A page of game reports, newest first.

        @param offset: rows to skip.
        @param count: page size, clipped to L{MAX_PAGE_SIZE}.
        @return: a L{Deferred} firing with the page and the total count.
        """
        return self._read(self._listGameReports, offset, count)

    @classmethod
    def _listGameReports(
        cls, db: sqlite3.Connection, offset: int, count: int
    ) -> tuple[list[GameReport], int]:
        first, size = _checkPage(offset, count)
        (total,) = db.execute("SELECT COUNT(*) FROM game_reports").fetchone()
        rows = db.execute(
            "SELECT id, data, created_at, finished_at FROM game_reports "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            (size, first),
        ).fetchall()
        return [cls._report(row) for row in rows], int(total)

    def getGameReport(self, reportId: int) -> Deferred[GameReport | None]:
        """
        @return: a L{Deferred} firing with one report, or L{None}.
        """
        return self._read(self._getGameReport, reportId)

    @classmethod
    def _getGameReport(cls, db: sqlite3.Connection, reportId: int) -> GameReport | None:
        _checkInt("report id", reportId)
        row = db.execute(
            "SELECT id, data, created_at, finished_at FROM game_reports WHERE id = ?",
            (reportId,),
        ).fetchone()
        return None if row is None else cls._report(row)

    @staticmethod
    def _report(row: tuple[Any, ...]) -> GameReport:
        try:
            data = json.loads(row[1])
        except ValueError as e:
            raise StoreError(f"game report {row[0]} is not valid JSON: {e}")
        if not isinstance(data, dict):
            raise StoreError(f"game report {row[0]} is not a JSON object")
        return GameReport(id=row[0], data=data, createdAt=row[2], finishedAt=row[3])


@attrs.frozen
class DirectStore:
    """
    The store's queries run at once on a connection that the caller opened
    (see L{prepareConnection}) and whose transactions it manages: for
    offline tools that must keep many changes in one transaction of their
    own, such as C{pocketrelay-admin}.  Values are checked and errors
    raised as by L{Store} (L{InvalidValue}, L{PlayerExists},
    L{UnknownPlayer}; database errors are not wrapped).

    @ivar connection: the open connection, in autocommit mode.
    """

    connection: sqlite3.Connection

    def getPlayerByEmail(self, email: str) -> Player | None:
        """
        See L{Store.getPlayerByEmail}.
        """
        return Store._getPlayerByEmail(self.connection, email)

    def createPlayer(
        self,
        email: str,
        displayName: str,
        passwordHash: str | None,
        role: int,
        now: int,
    ) -> Player:
        """
        See L{Store.createPlayer}.
        """
        return Store._createPlayer(
            self.connection, email, displayName, passwordHash, role, now
        )

    def updatePlayer(
        self,
        playerId: int,
        *,
        email: str | None = None,
        displayName: str | None = None,
        passwordHash: str | None = None,
        role: int | None = None,
        tokenMinExpiry: int | None = None,
    ) -> Player | None:
        """
        See L{Store.updatePlayer}.
        """
        return Store._updatePlayer(
            self.connection,
            playerId,
            email,
            displayName,
            passwordHash,
            role,
            tokenMinExpiry,
        )

    def replacePlayer(
        self,
        playerId: int,
        email: str,
        displayName: str,
        passwordHash: str | None,
        role: int,
        lastLoginAt: int | None,
        *,
        tokenMinExpiry: int,
    ) -> None:
        """
        Overwrite every field of an account but its id and creation time
        (L{None} clears the password or the login time), and delete its
        player data, Galaxy at War ratings and leaderboard values.

        @param tokenMinExpiry: revokes the account's login tokens expiring
            before this Unix time, as L{Store.updatePlayer} does (it never
            goes down): the account has a new password and role, so the
            tokens issued before must stop working.  Give
            L{pocketrelay.server.security.revocationExpiry} of now.
        """
        db = self.connection
        _checkInt("player id", playerId)
        email = _checkEmail(email)
        _checkText("display name", displayName, MAX_DISPLAY_NAME_LENGTH)
        if passwordHash is not None and not isinstance(passwordHash, str):
            raise InvalidValue("password hash must be a string or None")
        checkedRole = _checkRole(role)
        if lastLoginAt is not None:
            _checkInt("login time", lastLoginAt)
        _checkInt("token expiry", tokenMinExpiry)
        try:
            db.execute(
                "UPDATE players SET email = ?, display_name = ?, password = ?, "
                "role = ?, last_login_at = ?, "
                "token_min_expiry = MAX(token_min_expiry, ?) WHERE id = ?",
                (
                    email,
                    displayName,
                    passwordHash,
                    int(checkedRole),
                    lastLoginAt,
                    tokenMinExpiry,
                    playerId,
                ),
            )
        except sqlite3.IntegrityError as e:
            if _isEmailClash(e):
                raise PlayerExists(f"a player with email {email!r} exists")
            raise
        for table in ("player_data", "galaxy_at_war", "leaderboard"):
            db.execute(f"DELETE FROM {table} WHERE player_id = ?", (playerId,))

    def setLastLogin(self, playerId: int, now: int) -> None:
        """
        See L{Store.setLastLogin}.
        """
        Store._setLastLogin(self.connection, playerId, now)

    def setPlayerDataMany(self, playerId: int, values: Mapping[str, str]) -> None:
        """
        See L{Store.setPlayerDataMany}.
        """
        Store._setPlayerDataMany(self.connection, playerId, dict(values))

    def saveGalaxyAtWar(self, ratings: GalaxyAtWar) -> None:
        """
        See L{Store.saveGalaxyAtWar}.
        """
        Store._saveGalaxyAtWar(self.connection, ratings)

    def setLeaderboardValue(self, type: int, playerId: int, value: int) -> None:
        """
        See L{Store.setLeaderboardValue}.
        """
        Store._setLeaderboardValue(self.connection, type, playerId, value)

    def addGameReport(
        self, data: Mapping[str, Any], createdAt: int, finishedAt: int
    ) -> int:
        """
        See L{Store.addGameReport}.

        @return: the report id.
        """
        return Store._addGameReport(
            self.connection, _gameReportText(data), createdAt, finishedAt
        )

    def gameReportTexts(self) -> list[tuple[str, int, int]]:
        """
        Every stored game report as its JSON text, creation and finish
        time, in id order.
        """
        return [
            (str(data), int(createdAt), int(finishedAt))
            for data, createdAt, finishedAt in self.connection.execute(
                "SELECT data, created_at, finished_at FROM game_reports ORDER BY id"
            )
        ]

    def countRoles(self) -> dict[object, int]:
        """
        The number of accounts per role as stored (a role number, or
        whatever an unknown row holds).
        """
        return {
            role: int(count)
            for role, count in self.connection.execute(
                "SELECT role, COUNT(*) FROM players GROUP BY role"
            )
        }
