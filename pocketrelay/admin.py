# -*- test-case-name: tests.test_admin -*-
"""
C{pocketrelay-admin}: offline maintenance of the server's database.

Subcommands::

    pocketrelay-admin [--config FILE] [--data-dir DIR] COMMAND ...

    super-admin EMAIL [--password-stdin | --password PASSWORD] [--name NAME]
    backup DEST
    restore SRC [--force]
    import-rust PATH [--replace] [--dry-run]
    stats

The data directory comes from C{--data-dir}, else from the server's own
settings (C{--config FILE}, C{POCKETRELAY_*} environment variables, the
built-in default C{data}), so the tool finds the same C{app.db} as the
server.

Unlike the server's L{pocketrelay.server.store.Store} this tool talks to
SQLite directly and synchronously; it shares the schema through
L{pocketrelay.server.store.schema.migrate}.  C{super-admin},
C{import-rust}, C{backup} and C{stats} are safe while the server runs
(SQLite's WAL mode and its locks keep them consistent); C{restore}
refuses to run while another process has the database open.

Every expected problem ends the command with one line on standard error
and exit status 1 (2 for a usage error); see C{docs/admin.md}.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import math
import os
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any, Final, NoReturn, TextIO, cast

import attrs

from pocketrelay.server.config import ConfigError, loadSettings
from pocketrelay.server.security import PasswordHasher, syncDirectory
from pocketrelay.server.store import (
    MAX_DATA_KEY_LENGTH,
    MAX_DATA_KEYS,
    MAX_DATA_VALUE_SIZE,
    MAX_DISPLAY_NAME_LENGTH,
    MAX_EMAIL_LENGTH,
    MAX_REPORT_SIZE,
    LeaderboardType,
    PlayerRole,
)
from pocketrelay.server.store.schema import (
    SCHEMA_VERSION,
    SchemaError,
    migrate,
    schemaVersion,
)

__all__ = [
    "DATABASE_NAME",
    "MAX_PASSWORD_LENGTH",
    "AdminError",
    "BackupResult",
    "DatabaseSummary",
    "ImportResult",
    "RestoreResult",
    "SuperAdminResult",
    "backupDatabase",
    "databaseSummary",
    "findRustDatabase",
    "importRust",
    "main",
    "parseRustTime",
    "restoreDatabase",
    "setSuperAdmin",
]

#: The database file in the data directory (the same name as Pocket Relay's).
DATABASE_NAME: Final = "app.db"

#: Longest password accepted, in characters (the dashboard's limit).
MAX_PASSWORD_LENGTH: Final = 256

_PROGRAM = "pocketrelay-admin"

#: Milliseconds a write waits for the server's transaction to finish.
_BUSY_TIMEOUT_MS = 5000

#: Seconds C{restore} waits for an exclusive lock before deciding that
#: another process uses the database.  A running server holds a shared
#: lock for as long as it has the database open, so waiting longer would
#: not help.
_LOCK_TIMEOUT = 2.0

#: Most warning lines printed; further ones are only counted.
_MAX_WARNINGS_SHOWN = 100

#: The same rule as the dashboard's account forms.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")

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


@attrs.frozen
class SuperAdminResult:
    """
    The outcome of L{setSuperAdmin}.

    @ivar created: whether the account was created (rather than promoted).
    @ivar passwordSet: whether a password was stored.
    """

    playerId: int
    email: str
    displayName: str
    created: bool
    passwordSet: bool


@attrs.frozen
class BackupResult:
    """
    The outcome of L{backupDatabase}: the file written and what it holds.
    """

    source: str
    summary: DatabaseSummary


@attrs.frozen
class RestoreResult:
    """
    The outcome of L{restoreDatabase}.

    @ivar summary: the restored database, after migrating.
    @ivar kept: where the previous database was kept, or L{None} if there
        was none.
    @ivar restoredVersion: the schema version of the backup.
    @ivar appliedMigrations: the versions of the migrations run on it.
    """

    summary: DatabaseSummary
    kept: str | None
    restoredVersion: int
    appliedMigrations: tuple[int, ...]


@attrs.define
class ImportResult:
    """
    The counts of an L{importRust} run.

    @ivar source: the Rust database read.
    @ivar players: accounts created.
    @ivar replaced: existing accounts overwritten (C{--replace}).
    @ivar skipped: Rust accounts not imported (email taken, bad row).
    @ivar duplicateReports: game reports already present, not copied again.
    @ivar committed: L{False} for a dry run.
    """

    source: str
    players: int = 0
    replaced: int = 0
    skipped: int = 0
    playerData: int = 0
    galaxyAtWar: int = 0
    leaderboard: int = 0
    gameReports: int = 0
    duplicateReports: int = 0
    warnings: int = 0
    committed: bool = True

    def describe(self) -> str:
        """
        The summary line.
        """
        verb = (
            "Imported" if self.committed else "Dry run, nothing written; would import"
        )
        return (
            f"{verb} from {self.source}: {self.players} players "
            f"({self.replaced} replaced, {self.skipped} skipped), "
            f"{self.playerData} player data rows, {self.galaxyAtWar} Galaxy at "
            f"War rows, {self.leaderboard} leaderboard rows, {self.gameReports} "
            f"game reports ({self.duplicateReports} already present); "
            f"{self.warnings} warnings"
        )


# -- files and connections ------------------------------------------------


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
    the same settings as the server's store.

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
        connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        initial, applied = migrate(connection, int(now))
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


def _fsyncFile(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _removeQuietly(*paths: str) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError:
            pass


def _copyInto(source: sqlite3.Connection, directory: str, baseName: str) -> str:
    """
    Copy the database behind C{source} into a new temporary file in
    C{directory} with SQLite's online backup API, as one consistent
    snapshot even while other connections write.  The copy is mode 0600,
    in rollback-journal mode (one self-contained file) and synced.

    @return: the temporary file's path; the caller renames or removes it.
    """
    fd, temporary = tempfile.mkstemp(
        prefix=f".{baseName}.", suffix=".tmp", dir=directory
    )
    os.close(fd)
    try:
        os.chmod(temporary, 0o600)
        target = sqlite3.connect(temporary, isolation_level=None)
        try:
            # pages=-1: the whole database in one step, inside one read
            # transaction of the source, so concurrent commits cannot
            # restart or tear the copy.
            source.backup(target, pages=-1)
            target.execute("PRAGMA journal_mode = DELETE").fetchone()
        finally:
            target.close()
        _fsyncFile(temporary)
    except BaseException:
        _removeQuietly(temporary, temporary + "-journal", temporary + "-wal")
        raise
    return temporary


def _inspectCopy(path: str) -> tuple[int, DatabaseSummary]:
    """
    Check a copy: integrity, pocketrelay schema; summarise it.
    """
    connection = sqlite3.connect(_uri(path, "ro"), uri=True, isolation_level=None)
    try:
        _checkIntegrity(connection, path)
        version = _pocketrelayVersion(connection, path)
        return version, _summarise(connection, path, version)
    finally:
        connection.close()


def _timestamp(now: float) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))


# -- super-admin ------------------------------------------------------------


def _isValidEmail(email: str) -> bool:
    """
    Whether C{email} looks like an email address (the dashboard's rule:
    one C{@}, a dot in the domain, no spaces, at most 254 characters).
    """
    return len(email) <= MAX_EMAIL_LENGTH and _EMAIL.match(email) is not None


def setSuperAdmin(
    databasePath: str,
    email: str,
    password: str | None,
    name: str | None,
    hasher: PasswordHasher,
    now: float,
) -> SuperAdminResult:
    """
    Make the account with C{email} a super admin, creating it if missing.

    @param password: the new password, or L{None} to keep the current one;
        required to create an account.
    @param name: the display name to set, or L{None} (a new account then
        takes the part of the email before the C{@}).
    @raise AdminError: for a bad email, name or password, or a missing
        password for a new account.
    """
    email = email.strip()
    if not _isValidEmail(email):
        raise AdminError(f"{email!r} is not a valid email address")
    if name is not None:
        name = name.strip()
        if not name:
            raise AdminError("the name must not be empty")
        if len(name) > MAX_DISPLAY_NAME_LENGTH:
            raise AdminError(
                f"the name is longer than {MAX_DISPLAY_NAME_LENGTH} characters"
            )
    if password is not None:
        _checkPassword(password)
    elif not os.path.exists(databasePath):
        raise AdminError(
            f"no account with email {email} (there is no database yet); "
            f"give a password (--password-stdin) to create it"
        )
    connection, _, _ = _openForWrite(databasePath, now)
    try:
        existing = connection.execute(
            "SELECT id, email, display_name FROM players WHERE email = ?", (email,)
        ).fetchone()
        if existing is None and password is None:
            raise AdminError(
                f"no account with email {email}; give a password "
                f"(--password-stdin) to create it"
            )
        # Hash before taking the write lock: it takes tens of milliseconds.
        passwordHash = hasher.hashPassword(password) if password is not None else None
        connection.execute("BEGIN IMMEDIATE")
        try:
            row = connection.execute(
                "SELECT id, email, display_name FROM players WHERE email = ?", (email,)
            ).fetchone()
            if row is None:
                if passwordHash is None:
                    raise AdminError(f"account {email} was deleted meanwhile")
                displayName = name or email.split("@", 1)[0][:MAX_DISPLAY_NAME_LENGTH]
                cursor = connection.execute(
                    "INSERT INTO players "
                    "(email, display_name, password, role, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        email,
                        displayName,
                        passwordHash,
                        int(PlayerRole.SUPER_ADMIN),
                        int(now),
                    ),
                )
                assert cursor.lastrowid is not None
                result = SuperAdminResult(
                    cursor.lastrowid, email, displayName, True, True
                )
            else:
                playerId, storedEmail, displayName = row
                connection.execute(
                    "UPDATE players SET role = ? WHERE id = ?",
                    (int(PlayerRole.SUPER_ADMIN), playerId),
                )
                if passwordHash is not None:
                    connection.execute(
                        "UPDATE players SET password = ? WHERE id = ?",
                        (passwordHash, playerId),
                    )
                if name is not None:
                    connection.execute(
                        "UPDATE players SET display_name = ? WHERE id = ?",
                        (name, playerId),
                    )
                    displayName = name
                result = SuperAdminResult(
                    playerId, storedEmail, displayName, False, passwordHash is not None
                )
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return result
    except sqlite3.Error as e:
        raise _sqliteError(databasePath, e)
    finally:
        connection.close()


def _checkPassword(password: str) -> None:
    if not password:
        raise AdminError("the password must not be empty")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AdminError(
            f"the password is longer than {MAX_PASSWORD_LENGTH} characters"
        )


# -- backup -----------------------------------------------------------------


def backupDatabase(databasePath: str, destination: str, now: float) -> BackupResult:
    """
    Copy the live database to C{destination} with SQLite's online backup
    API: safe while the server runs, and the copy includes every commit
    made before it started (also those still in the C{-wal} file).

    The copy is written to a temporary file next to C{destination}
    (mode 0600), checked (C{PRAGMA integrity_check}, pocketrelay schema),
    synced, then renamed over C{destination}, so C{destination} is never
    half-written.

    @param destination: a file (replaced if it exists), or an existing
        directory to create C{app-YYYYMMDD-HHMMSS.db} in.
    @raise AdminError: if there is no database, it is not pocketrelay's,
        or C{destination} is unusable.
    """
    if os.path.isdir(destination):
        destination = os.path.join(destination, f"app-{_timestamp(now)}.db")
    directory = os.path.dirname(os.path.abspath(destination))
    if not os.path.isdir(directory):
        raise AdminError(f"directory {directory} does not exist")
    if os.path.exists(destination) and not os.path.isfile(destination):
        raise AdminError(f"{destination} is not a file")
    source = _openReadOnly(databasePath)
    try:
        if os.path.exists(destination) and os.path.samefile(destination, databasePath):
            raise AdminError("the backup must not overwrite the live database")
        try:
            _pocketrelayVersion(source, databasePath)
            temporary = _copyInto(source, directory, os.path.basename(destination))
        except sqlite3.Error as e:
            raise _sqliteError(databasePath, e)
        except OSError as e:
            raise AdminError(f"cannot write {destination}: {e.strerror or e}")
    finally:
        source.close()
    try:
        _, summary = _inspectCopy(temporary)
        os.replace(temporary, destination)
    except sqlite3.Error as e:
        _removeQuietly(temporary)
        raise _sqliteError(destination, e)
    except OSError as e:
        _removeQuietly(temporary)
        raise AdminError(f"cannot write {destination}: {e.strerror or e}")
    except BaseException:
        _removeQuietly(temporary)
        raise
    syncDirectory(directory)
    return BackupResult(databasePath, attrs.evolve(summary, path=destination))


# -- restore ----------------------------------------------------------------


def _lockDatabase(path: str, timeout: float) -> sqlite3.Connection | None:
    """
    Take an exclusive lock on the live database, proving that no other
    process has it open.

    With C{locking_mode=EXCLUSIVE}, C{BEGIN EXCLUSIVE} needs an exclusive
    lock on the database file itself.  In WAL mode every connection that
    has read the database keeps a shared lock on that file until it is
    closed, so a running server (even an idle one) makes this fail, and
    while we hold the lock the server cannot start using the file.

    @return: the connection holding the lock, or L{None} if the current
        file is not a readable database (then nothing can be using it).
    @raise AdminError: if another process has the database open.
    """
    try:
        connection = sqlite3.connect(
            _uri(path, "rw"), uri=True, isolation_level=None, timeout=timeout
        )
    except sqlite3.Error as e:
        raise _sqliteError(path, e)
    try:
        connection.execute("PRAGMA locking_mode = EXCLUSIVE").fetchone()
        connection.execute("BEGIN EXCLUSIVE")
        connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        connection.execute("COMMIT")
    except sqlite3.Error as e:
        connection.close()
        if _isBusy(e):
            raise AdminError(
                f"{path} is in use by another process (is the server running?); "
                f"stop the server first, or use --force if you are sure "
                f"nothing uses it"
            )
        if _isUnreadable(e):
            return None
        raise _sqliteError(path, e)
    return connection


def _uniquePath(base: str) -> str:
    candidate = base
    counter = 1
    while os.path.lexists(candidate):
        counter += 1
        candidate = f"{base}-{counter}"
    return candidate


def _keepCurrent(
    databasePath: str, lock: sqlite3.Connection | None, keptPath: str, warn: _Warn
) -> None:
    """
    Keep the current database at C{keptPath}: as a consistent copy made
    with the backup API when it can be read (this folds in its C{-wal}),
    else by renaming it together with its journal files.
    """
    directory = os.path.dirname(os.path.abspath(databasePath))
    reader = lock
    try:
        if reader is None:
            reader = sqlite3.connect(
                _uri(databasePath, "ro"), uri=True, isolation_level=None, timeout=5.0
            )
        try:
            temporary = _copyInto(reader, directory, os.path.basename(keptPath))
        finally:
            if reader is not lock:
                reader.close()
    except sqlite3.Error as e:
        if not _isUnreadable(e):
            raise
        warn(
            f"the current {databasePath} is not a readable database ({e}); "
            f"keeping it as it is"
        )
        os.rename(databasePath, keptPath)
        for suffix in ("-wal", "-journal"):
            if os.path.exists(databasePath + suffix):
                os.rename(databasePath + suffix, keptPath + suffix)
        return
    os.rename(temporary, keptPath)


def restoreDatabase(
    databasePath: str,
    source: str,
    now: float,
    force: bool = False,
    warn: _Warn = _ignore,
    lockTimeout: float | None = None,
) -> RestoreResult:
    """
    Replace the live database with a backup.

    Steps: check C{source} (an SQLite file that passes C{PRAGMA
    integrity_check}, with a pocketrelay schema no newer than this code);
    take an exclusive lock on the current database, refusing if another
    process (the server) has it open, unless C{force}; keep the current
    database as C{app.db.before-restore-YYYYMMDD-HHMMSS}; copy the backup
    into place with the backup API (temporary file, then rename); remove
    stale C{-wal}/C{-shm}/C{-journal} files; run the migrations.

    @param force: skip the in-use check (for file systems where SQLite
        locks do not work); never use it while the server runs.
    @param lockTimeout: seconds to wait for the lock; default 2.
    @raise AdminError: if the backup is unusable or the database in use.
    """
    timeout = _LOCK_TIMEOUT if lockTimeout is None else lockTimeout
    source = os.path.abspath(source)
    _requireFile(source, "backup")
    directory = os.path.dirname(os.path.abspath(databasePath))
    _ensureDataDirectory(directory)
    exists = os.path.exists(databasePath)
    if exists and os.path.samefile(source, databasePath):
        raise AdminError(f"{source} is the live database itself")

    backup = _openReadOnly(source, "backup")
    try:
        try:
            _checkIntegrity(backup, source)
            version = _pocketrelayVersion(backup, source)
        except sqlite3.Error as e:
            raise _sqliteError(source, e)
        if version > SCHEMA_VERSION:
            raise AdminError(
                f"{source} has schema version {version}, newer than this "
                f"pocketrelay ({SCHEMA_VERSION}); upgrade pocketrelay to restore it"
            )
        lock = None
        if exists and not force:
            lock = _lockDatabase(databasePath, timeout)
        kept = None
        try:
            try:
                temporary = _copyInto(backup, directory, DATABASE_NAME)
            except sqlite3.Error as e:
                raise _sqliteError(source, e)
            try:
                _adoptOwner(temporary, databasePath if exists else directory)
                if exists:
                    kept = _uniquePath(
                        f"{databasePath}.before-restore-{_timestamp(now)}"
                    )
                    try:
                        _keepCurrent(databasePath, lock, kept, warn)
                    except sqlite3.Error as e:
                        raise _sqliteError(databasePath, e)
            except BaseException:
                _removeQuietly(temporary)
                raise
        finally:
            if lock is not None:
                lock.close()
        # The previous database, with everything in its -wal, is kept;
        # its journal files must not be applied to the restored one.
        _removeQuietly(
            databasePath + "-wal", databasePath + "-shm", databasePath + "-journal"
        )
        try:
            os.replace(temporary, databasePath)
        except BaseException:
            _removeQuietly(temporary)
            raise
        syncDirectory(directory)
    finally:
        backup.close()

    connection, _, applied = _openForWrite(databasePath, now)
    try:
        final = applied[-1] if applied else version
        summary = _summarise(connection, databasePath, final)
    finally:
        connection.close()
    return RestoreResult(summary, kept, version, tuple(applied))


# -- import from the Rust server -----------------------------------------


_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(?:(Z|z|UTC|GMT)|([+-])(\d{2}):?(\d{2})?)?"
)


def parseRustTime(value: object) -> int | None:
    """
    Convert a time stored by the Rust Pocket Relay (SeaORM writes text
    such as C{2024-07-14 02:35:35}, C{2024-07-14 02:35:35.123456},
    C{2024-07-14T02:35:35.123+00:00} or C{2024-07-14 02:35:35 UTC}) to
    Unix seconds.  A time without an offset is UTC; an integer is taken
    as Unix seconds already.

    @return: the Unix time (fractions dropped), or L{None} if C{value}
        is not a time.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and abs(value) < 1e15 else None
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if re.fullmatch(r"-?\d{1,15}", text):
        return int(text)
    match = _TIME.fullmatch(text)
    if match is None:
        return None
    (year, month, day, hour, minute, second, _fraction, _utc, sign, offH, offM) = (
        match.groups()
    )
    try:
        tz: timezone = UTC
        if sign is not None:
            offset = timedelta(hours=int(offH), minutes=int(offM or 0))
            tz = timezone(offset if sign == "+" else -offset)
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return int(moment.timestamp())


def _rustRole(value: object) -> PlayerRole | None:
    """
    A Rust role (tinyint 0-2, or its name in some versions), or L{None}.
    """
    if isinstance(value, str):
        text = value.strip()
        names = {"default": 0, "admin": 1, "superadmin": 2, "super_admin": 2}
        if text.lower() in names:
            value = names[text.lower()]
        elif text.isdigit():
            value = int(text)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    try:
        return PlayerRole(value)
    except ValueError:
        return None


def _text(value: object) -> str | None:
    """
    A column value as text: L{str} as is, UTF-8 bytes decoded, numbers
    written out; L{None} for anything else.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(value)
    return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,19}\s*", value):
        return int(value)
    return None


def findRustDatabase(path: str) -> str:
    """
    The Rust Pocket Relay database for C{path}: the file itself, or
    C{app.db} in the directory (its data directory) or in its C{data}
    subdirectory (the server's working directory).

    @raise AdminError: if there is none.
    """
    if os.path.isdir(path):
        for candidate in (
            os.path.join(path, DATABASE_NAME),
            os.path.join(path, "data", DATABASE_NAME),
        ):
            if os.path.isfile(candidate):
                return candidate
        raise AdminError(f"no {DATABASE_NAME} in {path} (nor in {path}/data)")
    _requireFile(path, "Rust database")
    return path


class _RustReader:
    """
    Reads the tables of a Rust Pocket Relay C{app.db}, tolerating missing
    optional tables and columns (older versions) with a warning each.
    """

    def __init__(self, connection: sqlite3.Connection, path: str, warn: _Warn) -> None:
        self.connection = connection
        self.path = path
        self.warn = warn
        self.tables = _tables(connection)

    def columns(self, table: str) -> set[str]:
        return {
            row[1] for row in self.connection.execute(f'PRAGMA table_info("{table}")')
        }

    def rows(
        self,
        table: str,
        required: Sequence[str],
        optional: Sequence[str],
        missingTable: str,
        extra: Sequence[str] = (),
    ) -> Iterator[tuple[Any, ...]] | None:
        """
        The rows of C{table} in insertion order, with the C{required},
        C{optional} and C{extra} columns (L{None} for a missing optional
        one, after a warning, and silently for a missing extra one).

        @return: L{None} (after a warning) if the table or a required
            column is missing.
        """
        if table not in self.tables:
            self.warn(f"{self.path} has no {table} table ({missingTable}); skipped")
            return None
        present = self.columns(table)
        missing = [name for name in required if name not in present]
        if missing:
            self.warn(
                f"table {table} has no column {', '.join(missing)}; "
                f"its rows are skipped"
            )
            return None
        select = []
        for name in (*required, *optional, *extra):
            if name in present:
                select.append(f'"{name}"')
            else:
                if name not in extra:
                    self.warn(
                        f"table {table} has no column {name} (older Pocket Relay); "
                        f"using a default"
                    )
                select.append(f'NULL AS "{name}"')
        return iter(
            self.connection.execute(
                f'SELECT {", ".join(select)} FROM "{table}" ORDER BY rowid'
            )
        )


@attrs.define
class _Importer:
    """
    One import run: copies rows from the Rust database into ours inside
    the caller's transaction.
    """

    rust: _RustReader
    db: sqlite3.Connection
    now: int
    replace: bool
    result: ImportResult
    warnOut: _Warn
    #: Rust player id to our id, for the players whose rows are imported.
    imported: dict[int, int] = attrs.field(factory=dict)
    #: Rust player id to our id for every account that exists in ours
    #: (also skipped conflicts), used to rewrite ids in game reports.
    known: dict[int, int] = attrs.field(factory=dict)
    #: Our ids created in this run.
    created: set[int] = attrs.field(factory=set)
    #: Rust player ids seen in the players table.
    rustIds: set[int] = attrs.field(factory=set)

    def warn(self, message: str) -> None:
        self.warnOut(message)

    def run(self) -> None:
        self.players()
        self.playerData()
        self.galaxyAtWar()
        self.leaderboard()
        self.gameReports()

    def _owner(self, table: str, rustId: object) -> int | None:
        """
        Our id for the Rust player a row belongs to, or L{None} (with a
        warning for a row whose player does not exist).
        """
        key = _int(rustId)
        if key is not None and key in self.imported:
            return self.imported[key]
        if key is None or key not in self.rustIds:
            self.warn(f"{table}: row for unknown player id {rustId!r} skipped")
        return None

    def players(self) -> None:
        rows = self.rust.rows(
            "players",
            ("id", "email", "display_name"),
            ("password", "role", "last_login_at"),
            "",
            # Not in Pocket Relay's schema; kept if some version had it.
            extra=("created_at",),
        )
        if rows is None:
            raise AdminError(f"{self.rust.path} has no usable players table")
        for row in rows:
            self.player(*row)

    def player(
        self,
        rustId: object,
        rawEmail: object,
        rawName: object,
        rawPassword: object,
        rawRole: object,
        rawLastLogin: object,
        rawCreated: object,
    ) -> None:
        identity = _int(rustId)
        if identity is None:
            self.warn(f"players: row with id {rustId!r} skipped")
            self.result.skipped += 1
            return
        self.rustIds.add(identity)
        email = _text(rawEmail)
        email = email.strip() if email is not None else None
        if not email or len(email) > MAX_EMAIL_LENGTH:
            self.warn(f"player {identity}: unusable email {rawEmail!r}; skipped")
            self.result.skipped += 1
            return
        name = (_text(rawName) or "").strip()
        if not name:
            name = email.split("@", 1)[0][:MAX_DISPLAY_NAME_LENGTH] or "player"
            self.warn(
                f"player {identity} ({email}): empty display name; using {name!r}"
            )
        elif len(name) > MAX_DISPLAY_NAME_LENGTH:
            name = name[:MAX_DISPLAY_NAME_LENGTH]
            self.warn(
                f"player {identity} ({email}): display name cut to "
                f"{MAX_DISPLAY_NAME_LENGTH} characters"
            )
        password = _text(rawPassword) if rawPassword is not None else None
        if rawPassword is not None and password is None:
            self.warn(f"player {identity} ({email}): unreadable password hash dropped")
        if password == "":
            password = None
        if password is not None and not password.startswith("$argon2"):
            self.warn(
                f"player {identity} ({email}): password is not an Argon2 PHC "
                f"string; the account cannot log in with it"
            )
        role = _rustRole(rawRole) if rawRole is not None else PlayerRole.DEFAULT
        if role is None:
            self.warn(
                f"player {identity} ({email}): unknown role {rawRole!r}; using Default"
            )
            role = PlayerRole.DEFAULT
        lastLogin = None
        if rawLastLogin is not None:
            lastLogin = parseRustTime(rawLastLogin)
            if lastLogin is None:
                self.warn(
                    f"player {identity} ({email}): bad last_login_at "
                    f"{rawLastLogin!r}; left empty"
                )
        created = parseRustTime(rawCreated) if rawCreated is not None else None
        if rawCreated is not None and created is None:
            self.warn(f"player {identity} ({email}): bad created_at {rawCreated!r}")
        if created is None:
            created = self.now

        existing = self.db.execute(
            "SELECT id FROM players WHERE email = ?", (email,)
        ).fetchone()
        if existing is not None:
            (ours,) = existing
            if ours in self.created:
                self.warn(
                    f"player {identity}: email {email} repeats an earlier Rust "
                    f"account (emails compare case-insensitively); skipped"
                )
                self.result.skipped += 1
                return
            self.known[identity] = ours
            if not self.replace:
                self.warn(
                    f"player {identity}: an account with email {email} exists "
                    f"(id {ours}); skipped (use --replace to overwrite it)"
                )
                self.result.skipped += 1
                return
            self.db.execute(
                "UPDATE players SET email = ?, display_name = ?, password = ?, "
                "role = ?, last_login_at = ? WHERE id = ?",
                (email, name, password, int(role), lastLogin, ours),
            )
            for table in ("player_data", "galaxy_at_war", "leaderboard"):
                self.db.execute(f"DELETE FROM {table} WHERE player_id = ?", (ours,))
            self.imported[identity] = ours
            self.result.replaced += 1
            return
        cursor = self.db.execute(
            "INSERT INTO players (email, display_name, password, role, "
            "created_at, last_login_at) VALUES (?, ?, ?, ?, ?, ?)",
            (email, name, password, int(role), created, lastLogin),
        )
        ours = cursor.lastrowid
        assert ours is not None
        self.created.add(ours)
        self.imported[identity] = ours
        self.known[identity] = ours
        self.result.players += 1

    def playerData(self) -> None:
        rows = self.rust.rows(
            "player_data",
            ("player_id", "key", "value"),
            (),
            "no player data to import",
        )
        if rows is None:
            return
        keys: dict[int, set[str]] = {}
        for rustId, rawKey, rawValue in rows:
            ours = self._owner("player_data", rustId)
            if ours is None:
                continue
            key = _text(rawKey)
            if not key or len(key) > MAX_DATA_KEY_LENGTH:
                self.warn(f"player_data: player {rustId}: bad key {rawKey!r} skipped")
                continue
            value = _text(rawValue)
            if value is None:
                self.warn(
                    f"player_data: player {rustId}: key {key}: unreadable value skipped"
                )
                continue
            if len(value.encode("utf-8", "surrogatepass")) > MAX_DATA_VALUE_SIZE:
                self.warn(
                    f"player_data: player {rustId}: key {key}: value over "
                    f"{MAX_DATA_VALUE_SIZE} bytes skipped"
                )
                continue
            owned = keys.setdefault(ours, set())
            if key not in owned and len(owned) >= MAX_DATA_KEYS:
                self.warn(
                    f"player_data: player {rustId}: more than {MAX_DATA_KEYS} "
                    f"keys; {key} skipped"
                )
                continue
            # Rust versions before the unique (player_id, key) index could
            # hold a key twice; the later row wins, as it did there.
            self.db.execute(
                "INSERT INTO player_data (player_id, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (player_id, key) DO UPDATE SET value = excluded.value",
                (ours, key, value),
            )
            if key not in owned:
                owned.add(key)
                self.result.playerData += 1

    def galaxyAtWar(self) -> None:
        groups = ("group_a", "group_b", "group_c", "group_d", "group_e")
        rows = self.rust.rows(
            "galaxy_at_war",
            ("player_id", *groups),
            ("last_modified",),
            "no Galaxy at War ratings to import",
        )
        if rows is None:
            return
        seen: set[int] = set()
        for rustId, *values in rows:
            ours = self._owner("galaxy_at_war", rustId)
            if ours is None:
                continue
            *ratings, rawModified = values
            numbers = [_int(value) for value in ratings]
            if any(n is None or not 0 <= n <= 0xFFFF for n in numbers):
                self.warn(
                    f"galaxy_at_war: player {rustId}: bad ratings {ratings!r} skipped"
                )
                continue
            modified = parseRustTime(rawModified) if rawModified is not None else None
            if modified is None:
                if rawModified is not None:
                    self.warn(
                        f"galaxy_at_war: player {rustId}: bad last_modified "
                        f"{rawModified!r}; using the import time"
                    )
                modified = self.now
            self.db.execute(
                "INSERT INTO galaxy_at_war (player_id, last_modified, group_a, "
                "group_b, group_c, group_d, group_e) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (player_id) DO UPDATE SET "
                "last_modified = excluded.last_modified, "
                "group_a = excluded.group_a, group_b = excluded.group_b, "
                "group_c = excluded.group_c, group_d = excluded.group_d, "
                "group_e = excluded.group_e",
                (ours, modified, *numbers),
            )
            if ours not in seen:
                seen.add(ours)
                self.result.galaxyAtWar += 1

    def leaderboard(self) -> None:
        rows = self.rust.rows(
            "leaderboard_data",
            ("player_id", "ty", "value"),
            (),
            "Pocket Relay before 0.6 computed leaderboards; nothing to import",
        )
        if rows is None:
            return
        seen: set[tuple[int, int]] = set()
        for rustId, rawType, rawValue in rows:
            ours = self._owner("leaderboard_data", rustId)
            if ours is None:
                continue
            board = _int(rawType)
            if board not in (
                LeaderboardType.N7_RATING,
                LeaderboardType.CHALLENGE_POINTS,
            ):
                self.warn(
                    f"leaderboard_data: player {rustId}: unknown type {rawType!r} skipped"
                )
                continue
            value = _int(rawValue)
            if value is None or not -(1 << 63) <= value < (1 << 63):
                self.warn(
                    f"leaderboard_data: player {rustId}: bad value {rawValue!r} skipped"
                )
                continue
            self.db.execute(
                "INSERT INTO leaderboard (type, player_id, value) VALUES (?, ?, ?) "
                "ON CONFLICT (type, player_id) DO UPDATE SET value = excluded.value",
                (board, ours, value),
            )
            if (board, ours) not in seen:
                seen.add((board, ours))
                self.result.leaderboard += 1

    def gameReports(self) -> None:
        rows = self.rust.rows(
            "game_report",
            ("data",),
            ("created_at", "finished_at"),
            "Pocket Relay before 0.8 kept no game reports",
        )
        if rows is None:
            return
        # Reports already in our database, by their two times, so that
        # importing the same Rust database twice adds none twice.
        present: dict[tuple[int, int], list[str]] = {}
        for data, createdAt, finishedAt in self.db.execute(
            "SELECT data, created_at, finished_at FROM game_reports"
        ):
            present.setdefault((createdAt, finishedAt), []).append(data)
        for number, (rawData, rawCreated, rawFinished) in enumerate(rows, start=1):
            text = self._report(number, rawData)
            if text is None:
                continue
            created = parseRustTime(rawCreated) if rawCreated is not None else None
            if created is None:
                self.warn(
                    f"game_report {number}: bad created_at {rawCreated!r}; using the import time"
                )
                created = self.now
            finished = parseRustTime(rawFinished) if rawFinished is not None else None
            if finished is None:
                self.warn(
                    f"game_report {number}: bad finished_at {rawFinished!r}; using created_at"
                )
                finished = created
            same = present.setdefault((created, finished), [])
            if text in same:
                self.result.duplicateReports += 1
                continue
            self.db.execute(
                "INSERT INTO game_reports (data, created_at, finished_at) "
                "VALUES (?, ?, ?)",
                (text, created, finished),
            )
            same.append(text)
            self.result.gameReports += 1

    def _report(self, number: int, rawData: object) -> str | None:
        """
        A report's JSON, checked and with the Rust player ids rewritten
        to ours, or L{None} (after a warning).
        """
        text = _text(rawData)
        try:
            data = json.loads(text) if text is not None else None
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            self.warn(f"game_report {number}: not a JSON object; skipped")
            return None
        players = data.get("players")
        if isinstance(players, list):
            for entry in players:
                if isinstance(entry, dict):
                    rustId = _int(entry.get("player_id"))
                    if rustId is not None and rustId in self.known:
                        entry["player_id"] = self.known[rustId]
        try:
            out = json.dumps(data, separators=(",", ":"), allow_nan=False)
        except (ValueError, RecursionError):
            self.warn(f"game_report {number}: not valid JSON; skipped")
            return None
        if len(out.encode("utf-8", "surrogatepass")) > MAX_REPORT_SIZE:
            self.warn(f"game_report {number}: over {MAX_REPORT_SIZE} bytes; skipped")
            return None
        return out


def importRust(
    path: str,
    databasePath: str,
    now: float,
    replace: bool = False,
    dryRun: bool = False,
    warn: _Warn = _ignore,
) -> ImportResult:
    """
    Import a Rust Pocket Relay database into ours (created if missing),
    all in one transaction: everything or nothing is written.

    Players get new ids (in the Rust id order); their player data, Galaxy
    at War ratings and leaderboard values follow them, and the player ids
    inside game reports are rewritten.  Password hashes (Argon2 PHC
    strings) are kept as they are, so players keep their passwords.  An
    email that already has an account is skipped with a warning, or
    overwritten with C{replace} (the account keeps its id; its data,
    ratings and leaderboard values are replaced).  A game report already
    present (same times and content) is not copied again.

    @param path: the Rust C{app.db}, or its data directory.
    @param dryRun: do everything, then roll back.
    @param warn: receives one line per skipped or adjusted row.
    @raise AdminError: if C{path} is not a Rust Pocket Relay database.
    """
    sourcePath = findRustDatabase(path)
    if os.path.exists(databasePath) and os.path.samefile(sourcePath, databasePath):
        raise AdminError(f"{sourcePath} is our own database")
    source = _openReadOnly(sourcePath, "Rust database")
    warnings = 0

    def counted(message: str) -> None:
        nonlocal warnings
        warnings += 1
        warn(message)

    try:
        try:
            reader = _RustReader(source, sourcePath, counted)
        except sqlite3.Error as e:
            raise _sqliteError(sourcePath, e)
        if "schema_version" in reader.tables:
            raise AdminError(
                f"{sourcePath} is a pocketrelay database, not a Rust Pocket Relay "
                f"one; use restore instead"
            )
        if "players" not in reader.tables:
            raise AdminError(
                f"{sourcePath} has no players table: not a Pocket Relay database"
            )
        result = ImportResult(sourcePath, committed=not dryRun)
        db, _, _ = _openForWrite(databasePath, now)
        try:
            importer = _Importer(reader, db, int(now), replace, result, counted)
            db.execute("BEGIN IMMEDIATE")
            try:
                importer.run()
                db.execute("ROLLBACK" if dryRun else "COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise AdminError(f"import failed, nothing was imported: {e}")
        finally:
            db.close()
    finally:
        source.close()
    result.warnings = warnings
    return result


# -- stats ------------------------------------------------------------------


def databaseSummary(databasePath: str) -> tuple[DatabaseSummary, dict[str, int]]:
    """
    Describe the live database without changing it.

    @return: the summary and the number of accounts per role name.
    """
    connection = _openReadOnly(databasePath)
    try:
        try:
            version = _pocketrelayVersion(connection, databasePath)
            summary = _summarise(connection, databasePath, version)
            roles = {role.name: 0 for role in PlayerRole}
            if "players" in _tables(connection):
                for role, count in connection.execute(
                    "SELECT role, COUNT(*) FROM players GROUP BY role"
                ):
                    name = PlayerRole(role).name if role in (0, 1, 2) else "UNKNOWN"
                    roles[name] = roles.get(name, 0) + int(count)
        except sqlite3.Error as e:
            raise _sqliteError(databasePath, e)
    finally:
        connection.close()
    return summary, roles


# -- command line -----------------------------------------------------------


class _UsageError(Exception):
    """
    Bad command line: message and usage text.
    """

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.usage = usage


class _HelpShown(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class _Parser(argparse.ArgumentParser):
    """
    An argument parser that raises instead of printing and exiting, so
    L{main} can report to its own streams and return a status.
    """

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: error: {message}", self.format_usage())

    def print_help(self, file: Any = None) -> None:
        raise _HelpShown(self.format_help())

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _UsageError(message or "", self.format_usage())


def _parser() -> _Parser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="the server's configuration file (TOML), read for data_dir",
    )
    common.add_argument(
        "--data-dir",
        metavar="DIR",
        dest="dataDir",
        default=argparse.SUPPRESS,
        help="the data directory [default: the server's data_dir setting]",
    )
    parser = _Parser(
        prog=_PROGRAM,
        parents=[common],
        description="Maintenance of a pocketrelay server's database (app.db).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    superAdmin = commands.add_parser(
        "super-admin",
        parents=[common],
        help="create or promote a super admin account",
        description="Make EMAIL a super admin, creating the account if missing "
        "(a password is then required), optionally setting its password.",
    )
    superAdmin.add_argument("email", metavar="EMAIL")
    source = superAdmin.add_mutually_exclusive_group()
    source.add_argument(
        "--password-stdin",
        action="store_true",
        dest="passwordStdin",
        help="read the new password from the first line of standard input "
        "(prompted, twice, on a terminal)",
    )
    source.add_argument(
        "--password",
        metavar="PASSWORD",
        help="the new password (visible to other users in the process list; "
        "prefer --password-stdin)",
    )
    superAdmin.add_argument("--name", metavar="NAME", help="display name to set")

    backup = commands.add_parser(
        "backup",
        parents=[common],
        help="online backup of the database (safe while the server runs)",
        description="Copy app.db to DEST with SQLite's online backup API, "
        "check the copy and replace DEST atomically. DEST may be a directory.",
    )
    backup.add_argument("destination", metavar="DEST")

    restore = commands.add_parser(
        "restore",
        parents=[common],
        help="replace the database with a backup (server stopped)",
        description="Check SRC, keep the current database as "
        "app.db.before-restore-<time>, put SRC in place and migrate it. "
        "Refuses while another process has the database open.",
    )
    restore.add_argument("source", metavar="SRC")
    restore.add_argument(
        "--force",
        action="store_true",
        help="skip the check that no process uses the database",
    )

    rust = commands.add_parser(
        "import-rust",
        parents=[common],
        help="import a Rust Pocket Relay data directory or app.db",
        description="Copy players, player data, Galaxy at War, leaderboards "
        "and game reports from a Rust Pocket Relay database, in one transaction.",
    )
    rust.add_argument("path", metavar="PATH")
    rust.add_argument(
        "--replace",
        action="store_true",
        help="overwrite accounts whose email already exists (default: skip them)",
    )
    rust.add_argument(
        "--dry-run",
        action="store_true",
        dest="dryRun",
        help="report what would be imported, write nothing",
    )

    commands.add_parser(
        "stats",
        parents=[common],
        help="row counts and schema version",
        description="Print the database's schema version and row counts.",
    )
    from pocketrelay.doctor.cli import addArguments

    addArguments(commands.add_parser("doctor", help="check a server from outside, as a "
                                     "player's client reaches it (docs/operations.md)"))
    return parser


@attrs.define
class _Console:
    """
    The streams of one run and the warning printer.
    """

    stdout: IO[str]
    stderr: IO[str]
    stdin: IO[str]
    shown: int = 0
    hidden: int = 0

    def say(self, line: str) -> None:
        self.stdout.write(line + "\n")

    def warn(self, message: str) -> None:
        if self.shown >= _MAX_WARNINGS_SHOWN:
            self.hidden += 1
            return
        self.shown += 1
        self.stderr.write(f"{_PROGRAM}: warning: {message}\n")

    def finish(self) -> None:
        if self.hidden:
            self.stderr.write(
                f"{_PROGRAM}: warning: {self.hidden} more warnings not shown\n"
            )
            self.hidden = 0


def _readPassword(console: _Console) -> str:
    """
    The password for C{--password-stdin}: the first line of standard
    input, or typed twice at a terminal.
    """
    stream = console.stdin
    isTerminal = False
    with contextlib.suppress(AttributeError, ValueError, OSError):
        isTerminal = stream.isatty()
    if isTerminal:
        first = getpass.getpass("New password: ", stream=cast("TextIO", console.stderr))
        second = getpass.getpass("Repeat it: ", stream=cast("TextIO", console.stderr))
        if first != second:
            raise AdminError("the passwords differ")
        return first
    line = stream.readline(MAX_PASSWORD_LENGTH + 2)
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    password = line.rstrip("\r\n")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AdminError(
            f"the password is longer than {MAX_PASSWORD_LENGTH} characters"
        )
    if not password:
        raise AdminError("no password on standard input")
    return password


def _run(
    args: argparse.Namespace,
    console: _Console,
    databasePath: str,
    hasher: PasswordHasher,
    now: float,
) -> int:
    if args.command == "super-admin":
        password = args.password
        if password is not None:
            console.warn(
                "--password is visible to other users in the process list; "
                "prefer --password-stdin"
            )
        elif args.passwordStdin:
            password = _readPassword(console)
        outcome = setSuperAdmin(
            databasePath, args.email, password, args.name, hasher, now
        )
        verb = "Created" if outcome.created else "Promoted"
        note = (
            " and set its password"
            if outcome.passwordSet and not outcome.created
            else ""
        )
        console.say(
            f"{verb} super admin {outcome.email} ({outcome.displayName!r}, "
            f"id {outcome.playerId}){note} in {databasePath}"
        )
        return 0
    if args.command == "backup":
        backup = backupDatabase(databasePath, args.destination, now)
        console.say(
            f"Backed up {backup.source} to {backup.summary.path}: "
            f"{backup.summary.describe()}; integrity check ok"
        )
        return 0
    if args.command == "restore":
        restored = restoreDatabase(
            databasePath, args.source, now, force=args.force, warn=console.warn
        )
        migrated = ""
        if restored.appliedMigrations:
            migrated = f", migrated from schema version {restored.restoredVersion}"
        kept = (
            f"; the previous database is kept as {restored.kept}"
            if restored.kept
            else "; there was no previous database"
        )
        console.say(
            f"Restored {os.path.abspath(args.source)} into {databasePath} "
            f"({restored.summary.describe()}{migrated}){kept}"
        )
        return 0
    if args.command == "import-rust":
        imported = importRust(
            args.path,
            databasePath,
            now,
            replace=args.replace,
            dryRun=args.dryRun,
            warn=console.warn,
        )
        console.finish()
        console.say(imported.describe())
        return 0
    if args.command == "stats":
        summary, roles = databaseSummary(databasePath)
        console.say(f"database: {summary.path}")
        console.say(f"size: {summary.size} bytes")
        console.say(
            f"schema version: {summary.schemaVersion} "
            f"(this pocketrelay: {SCHEMA_VERSION})"
        )
        for label, count in summary.counts:
            console.say(f"{label}: {count}")
        console.say(
            "roles: " + ", ".join(f"{count} {name}" for name, count in roles.items())
        )
        return 0
    raise AssertionError(args.command)  # pragma: no cover


def main(
    argv: Sequence[str] | None = None,
    stdout: IO[str] | None = None,
    stdin: IO[str] | None = None,
    stderr: IO[str] | None = None,
    environ: Mapping[str, str] | None = None,
    hasher: PasswordHasher | None = None,
    clock: Callable[[], float] | None = None,
) -> int:
    """
    Run C{pocketrelay-admin}.

    @param argv: the arguments without the program name; default
        C{sys.argv[1:]}.
    @param environ: where C{POCKETRELAY_*} settings come from; default
        C{os.environ}.
    @param hasher: hashes new passwords; default L{PasswordHasher} with
        the server's parameters.
    @param clock: gives the current Unix time; default L{time.time}.
    @return: the exit status: 0 on success, 1 for an error, 2 for a usage
        error.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["doctor"]:
        from pocketrelay.doctor.cli import main as doctor

        return doctor(arguments[1:], stdout, stderr)
    console = _Console(
        stdout if stdout is not None else sys.stdout,
        stderr if stderr is not None else sys.stderr,
        stdin if stdin is not None else sys.stdin,
    )
    try:
        args = _parser().parse_args(argv)
    except _HelpShown as shown:
        console.stdout.write(shown.text)
        return 0
    except _UsageError as e:
        console.stderr.write(e.usage)
        if str(e):
            console.stderr.write(str(e).rstrip("\n") + "\n")
        return 2
    try:
        overrides = []
        dataDir = getattr(args, "dataDir", None)
        if dataDir is not None:
            overrides.append(("data_dir", dataDir))
        settings = loadSettings(
            getattr(args, "config", None),
            os.environ if environ is None else environ,
            overrides,
        )
        databasePath = os.path.join(settings["data_dir"], DATABASE_NAME)
        return _run(
            args,
            console,
            databasePath,
            hasher if hasher is not None else PasswordHasher(),
            (clock or time.time)(),
        )
    except (AdminError, ConfigError) as e:
        console.finish()
        console.stderr.write(f"{_PROGRAM}: {e}\n")
        return 1
    except sqlite3.Error as e:
        console.finish()
        console.stderr.write(f"{_PROGRAM}: database error: {e}\n")
        return 1
    except OSError as e:
        console.finish()
        where = f"{e.filename}: " if e.filename else ""
        console.stderr.write(f"{_PROGRAM}: {where}{e.strerror or e}\n")
        return 1
    except KeyboardInterrupt:
        console.stderr.write(f"{_PROGRAM}: interrupted\n")
        return 130
    finally:
        console.finish()
