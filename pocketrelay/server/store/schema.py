# -*- test-case-name: tests.test_store -*-
"""
The SQLite schema as an ordered list of migrations.

Each L{Migration} runs in its own transaction and records its version in
the C{schema_version} table in that same transaction, so a crash leaves the
database at the previous version, never half-migrated.  To change the
schema, append a migration with the next version; never edit one that has
been released.

All times are Unix seconds (INTEGER).

This module is synchronous: L{migrate} runs in the store's database
thread, never in the reactor thread.
"""

from __future__ import annotations

import sqlite3

import attrs

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "SchemaError",
    "migrate",
    "schemaVersion",
]


class SchemaError(Exception):
    """
    The database's schema cannot be used by this version of pocketrelay.
    L{pocketrelay.server.store.Store.start} reports it as a
    L{pocketrelay.server.store.StoreError} with the same message.
    """


@attrs.frozen
class Migration:
    """
    One step of the schema.

    @ivar version: the schema version after this step; versions start at 1
        and increase by one.
    @ivar description: one line for the log.
    @ivar statements: SQL statements run in order, in one transaction.
    """

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "players, player data, Galaxy at War, leaderboards, game reports",
        (
            """
            CREATE TABLE players (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                email TEXT NOT NULL UNIQUE COLLATE NOCASE,
                display_name TEXT NOT NULL,
                password TEXT NULL,
                role INTEGER NOT NULL DEFAULT 0,
                created_at INTEGER NOT NULL,
                last_login_at INTEGER NULL
            )
            """,
            """
            CREATE TABLE player_data (
                player_id INTEGER NOT NULL
                    REFERENCES players(id) ON DELETE CASCADE,
                key TEXT NOT NULL,
                value TEXT NOT NULL,
                PRIMARY KEY (player_id, key)
            )
            """,
            """
            CREATE TABLE galaxy_at_war (
                player_id INTEGER PRIMARY KEY
                    REFERENCES players(id) ON DELETE CASCADE,
                last_modified INTEGER NOT NULL,
                group_a INTEGER NOT NULL,
                group_b INTEGER NOT NULL,
                group_c INTEGER NOT NULL,
                group_d INTEGER NOT NULL,
                group_e INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE leaderboard (
                player_id INTEGER NOT NULL
                    REFERENCES players(id) ON DELETE CASCADE,
                type INTEGER NOT NULL,
                value INTEGER NOT NULL,
                PRIMARY KEY (type, player_id)
            )
            """,
            # Serves the rank order (value DESC, player_id ASC) of one board
            # straight from the index, without sorting.
            """
            CREATE INDEX leaderboard_rank
                ON leaderboard (type, value DESC, player_id ASC)
            """,
            # Lets ON DELETE CASCADE find a player's rows without a scan.
            "CREATE INDEX leaderboard_player ON leaderboard (player_id)",
            """
            CREATE TABLE game_reports (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                data TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                finished_at INTEGER NOT NULL
            )
            """,
        ),
    ),
)

#: The newest schema version this code knows.
SCHEMA_VERSION = MIGRATIONS[-1].version

_CREATE_VERSION_TABLE = """
    CREATE TABLE IF NOT EXISTS schema_version (
        version INTEGER PRIMARY KEY,
        description TEXT NOT NULL,
        applied_at INTEGER NOT NULL
    )
"""


def _checkMigrations(migrations: tuple[Migration, ...]) -> None:
    """
    Refuse a migration list whose versions are not 1, 2, 3, ...
    """
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise SchemaError(
                f"migration {migration.description!r} has version "
                f"{migration.version}, expected {expected}"
            )


_checkMigrations(MIGRATIONS)


def schemaVersion(connection: sqlite3.Connection) -> int:
    """
    The schema version of the database: 0 for an empty database.

    @raise SchemaError: if the database has tables but no
        C{schema_version} table (it was made by another program, for
        example the Rust Pocket Relay's C{app.db}); it is left untouched.
    """
    tables = {
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master "
            "WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )
    }
    if "schema_version" not in tables:
        if tables:
            shown = ", ".join(sorted(tables)[:5])
            raise SchemaError(
                f"the database has tables ({shown}) but no schema_version "
                f"table: it was not made by pocketrelay; refusing to change it"
            )
        return 0
    (version,) = connection.execute(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version"
    ).fetchone()
    return int(version)


def migrate(
    connection: sqlite3.Connection,
    now: int,
    migrations: tuple[Migration, ...] = MIGRATIONS,
) -> tuple[int, list[Migration]]:
    """
    Bring the database up to the newest version in C{migrations}.

    C{connection} must be in autocommit mode (C{isolation_level=None}); each
    migration runs inside its own C{BEGIN IMMEDIATE} transaction, which
    also re-reads the version so that two processes starting at once do
    not apply a step twice.

    @param now: Unix time recorded as C{applied_at}.
    @return: the version before migrating and the migrations applied.
    @raise SchemaError: the database is newer than C{migrations} or was
        not made by pocketrelay.
    """
    _checkMigrations(migrations)
    known = migrations[-1].version if migrations else 0
    initial = schemaVersion(connection)
    if initial > known:
        raise SchemaError(
            f"database schema version {initial} is newer than this "
            f"pocketrelay ({known})"
        )
    applied = []
    for migration in migrations:
        if migration.version <= initial:
            continue
        connection.execute("BEGIN IMMEDIATE")
        try:
            current = schemaVersion(connection)
            if current > known:
                raise SchemaError(
                    f"database schema version {current} is newer than this "
                    f"pocketrelay ({known})"
                )
            if current >= migration.version:
                connection.execute("COMMIT")
                continue
            connection.execute(_CREATE_VERSION_TABLE)
            for statement in migration.statements:
                connection.execute(statement)
            connection.execute(
                "INSERT INTO schema_version (version, description, applied_at) "
                "VALUES (?, ?, ?)",
                (migration.version, migration.description, now),
            )
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        applied.append(migration)
    return initial, applied
