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
from collections.abc import Callable

import attrs
from twisted.logger import Logger

from pocketrelay.server.store.emails import canonicalEmail

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
    @ivar run: Python work done after the statements, in the same
        transaction, for changes SQL cannot compute; L{None} for none.
    """

    version: int
    description: str
    statements: tuple[str, ...]
    run: Callable[[sqlite3.Connection], None] | None = None


log = Logger()

#: Role numbers, as in L{pocketrelay.server.store.PlayerRole} (which this
#: module cannot import).
_DEFAULT_ROLE = 0
_SUPER_ADMIN_ROLE = 2


def duplicateEmail(email: str, playerId: int) -> str:
    """
    The address given to an account whose email repeats another's in
    canonical form: it contains spaces, so no one can register or log in
    with it, and it names the account, so it stays unique.
    """
    return f"{email} (duplicate, account {playerId})"


def canonicalEmails(connection: sqlite3.Connection) -> None:
    """
    Migration 2: store every email in canonical form (see
    L{pocketrelay.server.store.emails.canonicalEmail}).

    Addresses that become equal are a collision (say C{kate@kiwi.example}
    and the same with a KELVIN SIGN for the C{k}, which SQLite's C{NOCASE}
    told apart).  The account that keeps the address is the one whose
    stored address was already ASCII, then the oldest (lowest id); every
    other gets L{duplicateEmail}, keeps its data, password and tokens, and
    loses the SuperAdmin role if it had it (that role was probably gained
    through the collision).  Each collision is logged as a warning; an
    admin can give those accounts a new address in the dashboard.
    """
    rows = connection.execute("SELECT id, email, role FROM players ORDER BY id").fetchall()
    groups: dict[str, list[tuple[int, str, int]]] = {}
    for playerId, email, role in rows:
        groups.setdefault(canonicalEmail(str(email)), []).append((playerId, str(email), role))
    final: dict[int, tuple[str, int]] = {}
    for canonical, members in groups.items():
        members.sort(key=lambda member: (not member[1].isascii(), member[0]))
        keeper, *others = members
        final[keeper[0]] = (canonical, keeper[2])
        for playerId, email, role in others:
            newRole = _DEFAULT_ROLE if role == _SUPER_ADMIN_ROLE else role
            final[playerId] = (duplicateEmail(canonical, playerId), newRole)
            log.warn(
                "Account {playerId} had email {email!r}, the same as account "
                "{keeperId}'s once compared in canonical form; it is now "
                "{newEmail!r}{demoted}",
                playerId=playerId, email=email, keeperId=keeper[0],
                newEmail=final[playerId][0],
                demoted=" and no longer SuperAdmin" if newRole != role else "",
            )
    changed = [
        (playerId, email, role)
        for playerId, email, role in rows
        if final[playerId] != (email, role)
    ]
    # Two passes, so that no intermediate state breaks the UNIQUE column.
    for playerId, _, _ in changed:
        connection.execute(
            "UPDATE players SET email = ? WHERE id = ?",
            (f"\u2063migrating {playerId}\u2063", playerId),
        )
    for playerId, _, _ in changed:
        email, role = final[playerId]
        connection.execute(
            "UPDATE players SET email = ?, role = ? WHERE id = ?", (email, role, playerId)
        )


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
    Migration(
        2,
        "emails in canonical form (NFKC, case-folded)",
        (),
        canonicalEmails,
    ),
    Migration(
        3,
        "revocable login tokens (players.token_min_expiry)",
        (
            "ALTER TABLE players ADD COLUMN token_min_expiry INTEGER NOT NULL DEFAULT 0",
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
            if migration.run is not None:
                migration.run(connection)
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
