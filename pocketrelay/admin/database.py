# -*- test-case-name: tests.test_admin -*-
"""
The database file for every C{pocketrelay-admin} job: finding, opening
(read-only, or for writing with the server's settings and migrations),
checking and summarising it, and turning SQLite's errors into
L{AdminError}s.

Unlike the server's L{pocketrelay.server.store.Store} this package talks
to SQLite synchronously, on its own connection, opened as the store opens
it (L{pocketrelay.server.store.prepareConnection}: settings and schema
migrations); the rows of our database are read and written through
L{pocketrelay.server.store.DirectStore}, so the store owns that SQL.  What
is left here works on the file: opening, integrity checks, row counts.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Final

import attrs

from pocketrelay.server.store import prepareConnection
from pocketrelay.server.store.schema import SchemaError, schemaVersion

__all__ = ["DATABASE_NAME", "AdminError", "DatabaseSummary"]

#: The database file in the data directory (the same name as Pocket Relay's).
DATABASE_NAME: Final = "app.db"

#: Milliseconds a write waits for the server's transaction to finish.
_BUSY_TIMEOUT_MS = 5000

#: The tables counted in summaries, with their labels.
_COUNTED: Final = (
    ("players", "players"),
    ("player_data", "player data rows"),
    ("galaxy_at_war", "Galaxy at War rows"),
    ("leaderboard", "leaderboard rows"),
    ("game_reports", "game reports"),
)

_Warn = Callable[[str], None]


def _ignore(message: str) -> None:
    """
    The default warning sink: drop the message.
    """


class AdminError(Exception):
    """
    An expected problem (bad path, unusable file, refused operation).  The
    message is one line meant for the operator; the command prints it and
    exits with status 1.
    """


@attrs.frozen
class DatabaseSummary:
    """
    What a database holds.

    @ivar path: the database file.
    @ivar size: its size in bytes (without C{-wal}).
    @ivar schemaVersion: its pocketrelay schema version.
    @ivar counts: (label, rows) for each table L{_COUNTED} names that
        exists.
    """

    path: str
    size: int
    schemaVersion: int
    counts: tuple[tuple[str, int], ...]

    def describe(self) -> str:
        """
        One line: size, schema version and row counts.
        """
        parts = [f"{self.size} bytes", f"schema version {self.schemaVersion}"]
        parts.extend(f"{count} {label}" for label, count in self.counts)
        return ", ".join(parts)


def _uri(path: str, mode: str) -> str:
    """
    An SQLite URI for C{path} opened with C{mode} (C{ro} or C{rw}: never
    creates the file).
    """
    return f"{Path(os.path.abspath(path)).as_uri()}?mode={mode}"


def _sqliteError(path: str, error: sqlite3.Error) -> AdminError:
    """
    Turn an SQLite error about C{path} into a one-line L{AdminError}.
    """
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_NOTADB:
        return AdminError(f"{path} is not an SQLite database")
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return AdminError(f"{path} is locked by another process; try again")
    if primary == sqlite3.SQLITE_CANTOPEN:
        return AdminError(f"cannot open {path}")
    if primary == sqlite3.SQLITE_CORRUPT:
        return AdminError(f"{path} is corrupt: {error}")
    return AdminError(f"{path}: {error}")


def _isBusy(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )


def _isUnreadable(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_CORRUPT,
    )


def _requireFile(path: str, what: str) -> None:
    """
    @raise AdminError: unless C{path} is an existing regular file.
    """
    if not os.path.exists(path):
        raise AdminError(f"no {what} at {path}")
    if not os.path.isfile(path):
        raise AdminError(f"{path} is not a file")


def _openReadOnly(path: str, what: str = "database") -> sqlite3.Connection:
    """
    Open an existing database without writing to it, checking that it is
    an SQLite file.

    @raise AdminError: if it is missing or not SQLite.
    """
    _requireFile(path, what)
    try:
        connection = sqlite3.connect(
            _uri(path, "ro"), uri=True, isolation_level=None, timeout=5.0
        )
    except sqlite3.Error as e:
        raise _sqliteError(path, e)
    try:
        connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as e:
        connection.close()
        raise _sqliteError(path, e)
    return connection


def _ensureDataDirectory(directory: str) -> None:
    """
    Create the data directory (mode 0700) if missing, like the server.

    @raise AdminError: if it cannot be created or is not a directory.
    """
    if os.path.isdir(directory):
        return
    if os.path.exists(directory):
        raise AdminError(f"data directory {directory} is not a directory")
    try:
        os.makedirs(directory, mode=0o700)
        os.chmod(directory, 0o700)
    except OSError as e:
        raise AdminError(f"cannot create data directory {directory}: {e.strerror}")


def _adoptOwner(path: str, reference: str) -> None:
    """
    When running as root, give C{path} the owner of C{reference} (the data
    directory or the file it replaces), so the server's unprivileged user
    can still open it.  SQLite gives its C{-wal} and C{-shm} files the
    database file's owner by itself.
    """
    if os.name != "posix" or os.geteuid() != 0:
        return
    try:
        info = os.stat(reference)
        os.chown(path, info.st_uid, info.st_gid)
    except OSError:
        pass


def _openForWrite(path: str, now: float) -> tuple[sqlite3.Connection, int, list[int]]:
    """
    Open (creating if missing) and migrate the server's database, with
    the same settings as the server's store (L{prepareConnection}); its
    rows are then read and written through L{DirectStore}.

    @return: the connection (autocommit mode), the schema version before
        migrating and the versions applied.
    @raise AdminError: if it is not a pocketrelay database or is newer.
    """
    directory = os.path.dirname(os.path.abspath(path))
    _ensureDataDirectory(directory)
    if os.path.isdir(path):
        raise AdminError(f"{path} is a directory, not a database")
    existed = os.path.exists(path)
    try:
        connection = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    except sqlite3.Error as e:
        raise _sqliteError(path, e)
    try:
        if not existed:
            _adoptOwner(path, directory)
        initial, applied, _ = prepareConnection(connection, int(now))
    except SchemaError as e:
        connection.close()
        raise AdminError(f"{path}: {e}")
    except sqlite3.Error as e:
        connection.close()
        raise _sqliteError(path, e)
    except BaseException:
        connection.close()
        raise
    return connection, initial, [migration.version for migration in applied]


def _tables(connection: sqlite3.Connection) -> set[str]:
    return {
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    }


def _pocketrelayVersion(connection: sqlite3.Connection, path: str) -> int:
    """
    The schema version of a database that must be pocketrelay's.

    @raise AdminError: if it is empty or was made by another program.
    """
    try:
        version = schemaVersion(connection)
    except SchemaError:
        raise AdminError(f"{path} is not a pocketrelay database")
    if version == 0:
        raise AdminError(f"{path} is not a pocketrelay database (it is empty)")
    return version


def _checkIntegrity(connection: sqlite3.Connection, path: str) -> None:
    """
    @raise AdminError: unless C{PRAGMA integrity_check} says C{ok}.
    """
    rows = connection.execute("PRAGMA integrity_check(5)").fetchall()
    if rows != [("ok",)]:
        first = rows[0][0] if rows else "no answer"
        raise AdminError(f"{path} failed the integrity check: {first}")


def _summarise(
    connection: sqlite3.Connection, path: str, version: int
) -> DatabaseSummary:
    tables = _tables(connection)
    counts = []
    for table, label in _COUNTED:
        if table in tables:
            (count,) = connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()
            counts.append((label, int(count)))
    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0
    return DatabaseSummary(path, size, version, tuple(counts))

