# -*- test-case-name: tests.test_admin -*-
"""
C{pocketrelay-admin backup} and C{restore}: an online copy of the live
database (safe while the server runs), and putting a copy back (refused
while another process has the database open).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from typing import Final

import attrs

from pocketrelay.admin.command import Command, Invocation
from pocketrelay.admin.database import (
    DATABASE_NAME,
    AdminError,
    DatabaseSummary,
    _adoptOwner,
    _checkIntegrity,
    _ensureDataDirectory,
    _ignore,
    _isBusy,
    _isUnreadable,
    _openForWrite,
    _openReadOnly,
    _pocketrelayVersion,
    _requireFile,
    _sqliteError,
    _summarise,
    _uri,
    _Warn,
)
from pocketrelay.server.security import syncDirectory
from pocketrelay.server.store.schema import SCHEMA_VERSION

__all__ = [
    "BACKUP",
    "RESTORE",
    "BackupResult",
    "RestoreResult",
    "backupDatabase",
    "restoreDatabase",
]

#: Seconds C{restore} waits for an exclusive lock before deciding that
#: another process uses the database.  A running server holds a shared
#: lock for as long as it has the database open, so waiting longer would
#: not help.
_LOCK_TIMEOUT = 2.0

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



def _backupArguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("destination", metavar="DEST")


def _runBackup(invocation: Invocation) -> int:
    backup = backupDatabase(
        invocation.databasePath, invocation.args.destination, invocation.now
    )
    invocation.console.say(
        f"Backed up {backup.source} to {backup.summary.path}: "
        f"{backup.summary.describe()}; integrity check ok"
    )
    return 0


def _restoreArguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SRC")
    parser.add_argument(
        "--force",
        action="store_true",
        help="skip the check that no process uses the database",
    )


def _runRestore(invocation: Invocation) -> int:
    args, databasePath = invocation.args, invocation.databasePath
    restored = restoreDatabase(
        databasePath,
        args.source,
        invocation.now,
        force=args.force,
        warn=invocation.console.warn,
    )
    migrated = ""
    if restored.appliedMigrations:
        migrated = f", migrated from schema version {restored.restoredVersion}"
    kept = (
        f"; the previous database is kept as {restored.kept}"
        if restored.kept
        else "; there was no previous database"
    )
    invocation.console.say(
        f"Restored {os.path.abspath(args.source)} into {databasePath} "
        f"({restored.summary.describe()}{migrated}){kept}"
    )
    return 0


#: C{pocketrelay-admin backup}.
BACKUP: Final = Command(
    "backup",
    help="online backup of the database (safe while the server runs)",
    description="Copy app.db to DEST with SQLite's online backup API, "
    "check the copy and replace DEST atomically. DEST may be a directory.",
    run=_runBackup,
    arguments=_backupArguments,
)

#: C{pocketrelay-admin restore}.
RESTORE: Final = Command(
    "restore",
    help="replace the database with a backup (server stopped)",
    description="Check SRC, keep the current database as "
    "app.db.before-restore-<time>, put SRC in place and migrate it. "
    "Refuses while another process has the database open.",
    run=_runRestore,
    arguments=_restoreArguments,
)
