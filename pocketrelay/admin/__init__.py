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
    game-data install | status | compile | decompile ...
    doctor URL [--json] [--ca-file PEM] [--timeout SECONDS] ...

The data directory comes from C{--data-dir}, else from the server's own
settings (C{--config FILE}, C{POCKETRELAY_*} environment variables, the
built-in default C{data}), so the tool finds the same C{app.db} as the
server.

Unlike the server's L{pocketrelay.server.store.Store} this tool works
synchronously, on its own connection, opened as the store opens it
(L{pocketrelay.server.store.prepareConnection}); it reads and writes our
tables through L{pocketrelay.server.store.DirectStore}, the store's own
queries, so the store owns that SQL.  C{super-admin},
C{import-rust}, C{backup} and C{stats} are safe while the server runs
(SQLite's WAL mode and its locks keep them consistent); C{restore}
refuses to run while another process has the database open.

Every expected problem ends the command with one line on standard error
and exit status 1 (2 for a usage error); see C{docs/admin.md}.

One module per job: L{cli} (options, the table of subcommands,
L{main}), L{command} (what a subcommand is), L{database} (opening and
checking the file), L{superadmin}, L{backup} (also restore),
L{rustimport}, L{stats}, L{gamedata} (the game data: install, status,
compile, decompile) and L{doctor} (checks a server from outside, with
L{pocketrelay.doctor}; it needs no database).  C{python -m
pocketrelay.admin} runs L{main}.
"""

from __future__ import annotations

from pocketrelay.admin.backup import (
    BackupResult,
    RestoreResult,
    backupDatabase,
    restoreDatabase,
)
from pocketrelay.admin.cli import main
from pocketrelay.admin.database import DATABASE_NAME, AdminError, DatabaseSummary
from pocketrelay.admin.rustimport import (
    ImportResult,
    findRustDatabase,
    importRust,
    parseRustTime,
)
from pocketrelay.admin.stats import databaseSummary
from pocketrelay.admin.superadmin import (
    MAX_PASSWORD_LENGTH,
    SuperAdminResult,
    setSuperAdmin,
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
