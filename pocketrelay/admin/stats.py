# -*- test-case-name: tests.test_admin -*-
"""
C{pocketrelay-admin stats}: the database's schema version, row counts
and accounts per role, without changing it.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from pocketrelay.admin.command import Command, Invocation
from pocketrelay.admin.database import (
    DatabaseSummary,
    _openReadOnly,
    _pocketrelayVersion,
    _sqliteError,
    _summarise,
    _tables,
)
from pocketrelay.server.store import DirectStore, PlayerRole
from pocketrelay.server.store.schema import SCHEMA_VERSION

__all__ = ["COMMAND", "databaseSummary"]


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
                for role, count in DirectStore(connection).countRoles().items():
                    name = PlayerRole(role).name if role in (0, 1, 2) else "UNKNOWN"
                    roles[name] = roles.get(name, 0) + int(count)
        except sqlite3.Error as e:
            raise _sqliteError(databasePath, e)
    finally:
        connection.close()
    return summary, roles



def _run(invocation: Invocation) -> int:
    summary, roles = databaseSummary(invocation.databasePath)
    say = invocation.console.say
    say(f"database: {summary.path}")
    say(f"size: {summary.size} bytes")
    say(f"schema version: {summary.schemaVersion} (this pocketrelay: {SCHEMA_VERSION})")
    for label, count in summary.counts:
        say(f"{label}: {count}")
    say("roles: " + ", ".join(f"{count} {name}" for name, count in roles.items()))
    return 0


#: C{pocketrelay-admin stats}.
COMMAND: Final = Command(
    "stats",
    help="row counts and schema version",
    description="Print the database's schema version and row counts.",
    run=_run,
)
