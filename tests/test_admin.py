# -*- test-case-name: tests.test_admin -*-
"""
Tests for L{pocketrelay.admin}, the C{pocketrelay-admin} command, on real
SQLite files in temporary directories.
"""

from __future__ import annotations

import argparse
import ast
import calendar
import hashlib
import io
import json
import os
import re
import runpy
import sqlite3
import stat
import sys
import time
import warnings
from typing import Any

import argon2
from twisted.internet import defer
from twisted.internet import reactor as globalReactor
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pocketrelay import admin
from pocketrelay.admin import backup as backupModule
from pocketrelay.admin import cli, main, parseRustTime, rustimport
from pocketrelay.admin.command import Command, Invocation
from pocketrelay.server.security import (
    PasswordHasher,
    RevokedToken,
    TokenSigner,
    playerForToken,
    revocationExpiry,
)
from pocketrelay.server.store import SCHEMA_VERSION, Store
from pocketrelay.server.store.schema import migrate
from pocketrelay.testing.sources import parsedModules

#: Fast parameters: the tests check behaviour, not hashing cost.
FAST_HASHER = PasswordHasher(timeCost=1, memoryCost=8, parallelism=1)

NOW = 1_750_000_000

#: The known password of the first Rust player.
RUST_PASSWORD = "correct horse battery staple"

_rustHash: list[str] = []


def rustHash() -> str:
    """
    An Argon2id PHC string for L{RUST_PASSWORD}, made with argon2-cffi
    with the Rust C{argon2} crate's default parameters, as Pocket Relay
    stores it.
    """
    if not _rustHash:
        hasher = argon2.PasswordHasher(
            time_cost=2, memory_cost=19456, parallelism=1, type=argon2.Type.ID
        )
        _rustHash.append(hasher.hash(RUST_PASSWORD))
    return _rustHash[0]


def utc(year: int, month: int, day: int, h: int = 0, m: int = 0, s: int = 0) -> int:
    return calendar.timegm((year, month, day, h, m, s, 0, 0, 0))


def run(
    *argv: str, stdin: str = "", environ: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """
    Run C{pocketrelay-admin} with C{argv}; return status, stdout, stderr.
    """
    out, err = io.StringIO(), io.StringIO()
    code = main(
        list(argv),
        stdout=out,
        stdin=io.StringIO(stdin),
        stderr=err,
        environ={} if environ is None else environ,
        hasher=FAST_HASHER,
        clock=lambda: NOW,
    )
    return code, out.getvalue(), err.getvalue()


# The Rust Pocket Relay schema (SeaORM migrations, SQLite backend) as
# described in docs/reference/server-behaviour.md section 3.2.
RUST_SCHEMA = (
    """
    CREATE TABLE "seaql_migrations" (
        "version" varchar NOT NULL PRIMARY KEY,
        "applied_at" bigint NOT NULL
    )
    """,
    """
    CREATE TABLE "players" (
        "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
        "email" varchar(254) NOT NULL,
        "display_name" varchar(99) NOT NULL,
        "password" varchar NULL,
        "role" tinyint NOT NULL DEFAULT 0,
        "last_login_at" timestamp_text NULL
    )
    """,
    'CREATE UNIQUE INDEX "idx-pr-email" ON "players" ("email")',
    """
    CREATE TABLE "galaxy_at_war" (
        "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
        "player_id" integer NOT NULL,
        "last_modified" timestamp_text NOT NULL,
        "group_a" integer NOT NULL,
        "group_b" integer NOT NULL,
        "group_c" integer NOT NULL,
        "group_d" integer NOT NULL,
        "group_e" integer NOT NULL,
        FOREIGN KEY ("player_id") REFERENCES "players" ("id")
            ON DELETE CASCADE ON UPDATE CASCADE
    )
    """,
    """
    CREATE TABLE "player_data" (
        "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
        "player_id" integer NOT NULL,
        "key" varchar NOT NULL,
        "value" text NOT NULL,
        FOREIGN KEY ("player_id") REFERENCES "players" ("id")
            ON DELETE CASCADE ON UPDATE CASCADE
    )
    """,
    'CREATE UNIQUE INDEX "idx-pid-key" ON "player_data" ("player_id", "key")',
    """
    CREATE TABLE "leaderboard_data" (
        "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
        "player_id" integer NOT NULL,
        "ty" tinyint NOT NULL,
        "value" integer NOT NULL,
        FOREIGN KEY ("player_id") REFERENCES "players" ("id")
            ON DELETE CASCADE ON UPDATE CASCADE
    )
    """,
    'CREATE UNIQUE INDEX "idx-ty-pid" ON "leaderboard_data" ("ty", "player_id")',
    """
    CREATE TABLE "game_report" (
        "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
        "data" json_text NOT NULL,
        "created_at" timestamp_text NOT NULL,
        "finished_at" timestamp_text NOT NULL
    )
    """,
)

BASE_VALUE = "20;4;21474;-1;0;0;0;45;3600;0;" + "00" * 671
CLASS_VALUE = "20;4;Adept;20;0;2"


def makeRustDatabase(path: str, legacy: bool = False) -> None:
    """
    Write a Rust Pocket Relay C{app.db} at C{path} with realistic rows.

    Players (Rust ids 3, 7, 9 — earlier accounts were deleted):
      - 3 shepard@example.org, SuperAdmin, password L{RUST_PASSWORD},
        last login as SeaORM text C{2024-07-14 02:35:35};
      - 7 garrus@example.org, Default, Origin account (no password),
        last login as RFC 3339 with an offset;
      - 9 tali@example.org, Admin, never logged in.

    @param legacy: the layout of Pocket Relay before 0.6: no
        C{leaderboard_data}, no C{game_report}, no C{last_login_at}.
    """
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    for statement in RUST_SCHEMA:
        if legacy and ("leaderboard_data" in statement or "game_report" in statement):
            continue
        if legacy and '"players"' in statement and "CREATE TABLE" in statement:
            statement = statement.replace(
                ',\n        "last_login_at" timestamp_text NULL', ""
            )
        db.execute(statement)
    db.execute(
        "INSERT INTO seaql_migrations VALUES "
        "('m20221015_142649_players_table', 1700000000)"
    )
    players: list[tuple[Any, ...]] = [
        (3, "shepard@example.org", "Shepard", rustHash(), 2, "2024-07-14 02:35:35"),
        (7, "garrus@example.org", "Garrus", None, 0, "2024-07-15T10:00:00.250+02:00"),
        (
            9,
            "tali@example.org",
            "Tali",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            1,
            None,
        ),
    ]
    for row in players:
        if legacy:
            db.execute(
                "INSERT INTO players (id, email, display_name, password, role) "
                "VALUES (?, ?, ?, ?, ?)",
                row[:5],
            )
        else:
            db.execute(
                "INSERT INTO players (id, email, display_name, password, role, "
                "last_login_at) VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )
    db.executemany(
        "INSERT INTO player_data (player_id, key, value) VALUES (?, ?, ?)",
        [
            (3, "Base", BASE_VALUE),
            (3, "class1", CLASS_VALUE),
            (3, "FaceCodes", "20;"),
            (7, "Base", BASE_VALUE.replace("21474", "500")),
            (9, "csreward", "0"),
        ],
    )
    db.executemany(
        "INSERT INTO galaxy_at_war (player_id, last_modified, group_a, group_b, "
        "group_c, group_d, group_e) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (3, "2024-07-10 08:00:00", 5100, 5200, 5300, 5400, 5500),
            (7, "2024-07-11T09:30:00Z", 5000, 5000, 5000, 5000, 10099),
        ],
    )
    if not legacy:
        db.executemany(
            "INSERT INTO leaderboard_data (player_id, ty, value) VALUES (?, ?, ?)",
            [(3, 0, 812), (3, 1, 4500), (7, 0, 650)],
        )
        report = {
            "attributes": {
                "ME3map": "MPMap_Reactor",
                "ME3gameDifficulty": "difficulty2",
            },
            "players": [
                {
                    "player_id": 3,
                    "player_name": "Shepard",
                    "kit_name": "HumanMaleAdept",
                    "weapons": ["Carnifex"],
                    "weapon_mods": [],
                    "powers": ["Warp"],
                },
                {
                    "player_id": 7,
                    "player_name": "Garrus",
                    "kit_name": "TurianSoldier",
                    "weapons": ["Mantis"],
                    "weapon_mods": [],
                    "powers": ["Overload"],
                },
            ],
            "seed": 1234,
            "extracted": True,
        }
        db.execute(
            "INSERT INTO game_report (data, created_at, finished_at) VALUES (?, ?, ?)",
            (
                json.dumps(report),
                "2025-03-12T08:30:54.123456789+00:00",
                "2025-03-12 09:05:00",
            ),
        )
    db.close()


def makeOurDatabase(path: str, version: int | None = None) -> sqlite3.Connection:
    """
    Create a pocketrelay database at C{path} like the server does and
    return an open connection (WAL mode).

    @param version: if given, record this schema version too (to fake a
        database from a newer pocketrelay).
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA foreign_keys = ON")
    migrate(db, NOW)
    if version is not None:
        db.execute(
            "INSERT INTO schema_version VALUES (?, 'from the future', ?)",
            (version, NOW),
        )
    return db


def addPlayer(
    db: sqlite3.Connection,
    email: str,
    name: str = "Someone",
    role: int = 0,
    password: str | None = None,
) -> int:
    cursor = db.execute(
        "INSERT INTO players (email, display_name, password, role, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (email, name, password, role, NOW - 100),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def fileDigest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class _AdminTestCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.dataDir = os.path.abspath(self.mktemp())
        self.dbPath = os.path.join(self.dataDir, "app.db")

    def run_(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        return run("--data-dir", self.dataDir, *argv, stdin=stdin)

    def query(self, sql: str, *params: Any, path: str | None = None) -> list[Any]:
        db = sqlite3.connect(path or self.dbPath)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def assertOneLineError(self, result: tuple[int, str, str], text: str) -> None:
        code, out, err = result
        self.assertEqual(code, 1, err)
        self.assertEqual(out, "")
        lines = err.splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertTrue(lines[0].startswith("pocketrelay-admin: "), err)
        self.assertIn(text, lines[0])
        self.assertNotIn("Traceback", err)

    def writeGarbage(self, path: str) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(b"this is not an SQLite file\n" * 200)


class UsageTests(_AdminTestCase):
    """
    The command line itself.
    """

    def test_noCommand(self) -> None:
        """
        Without a command the usage goes to stderr and the status is 2.
        """
        code, out, err = run()
        self.assertEqual((code, out), (2, ""))
        self.assertIn("usage: pocketrelay-admin", err)
        self.assertIn("required", err)

    def test_unknownCommand(self) -> None:
        """
        An unknown command is a usage error, status 2.
        """
        code, _, err = run("frobnicate")
        self.assertEqual(code, 2)
        self.assertIn("invalid choice", err)

    def test_help(self) -> None:
        """
        C{--help} prints every command to stdout with status 0.
        """
        code, out, err = run("--help")
        self.assertEqual((code, err), (0, ""))
        for command in ("super-admin", "backup", "restore", "import-rust", "stats"):
            self.assertIn(command, out)

    def test_missingArgument(self) -> None:
        """
        A command without its argument is a usage error naming it.
        """
        code, _, err = run("backup")
        self.assertEqual(code, 2)
        self.assertIn("DEST", err)

    def test_dataDirFromEnvironment(self) -> None:
        """
        Without C{--data-dir} the data directory is the server's
        C{data_dir} setting, here from C{POCKETRELAY_DATA_DIR}.
        """
        makeOurDatabase(self.dbPath).close()
        code, out, err = run("stats", environ={"POCKETRELAY_DATA_DIR": self.dataDir})
        self.assertEqual((code, err), (0, ""))
        self.assertIn(f"database: {self.dbPath}", out)

    def test_dataDirFromConfigFile(self) -> None:
        """
        C{--config FILE} is read like the server reads it.
        """
        makeOurDatabase(self.dbPath).close()
        config = self.mktemp()
        with open(config, "w") as f:
            f.write(f"data_dir = {json.dumps(self.dataDir)}\n")
        code, out, err = run("stats", "--config", config)
        self.assertEqual((code, err), (0, ""))
        self.assertIn(f"database: {self.dbPath}", out)

    def test_dataDirOptionWins(self) -> None:
        """
        C{--data-dir}, before or after the command, beats the environment.
        """
        makeOurDatabase(self.dbPath).close()
        environ = {"POCKETRELAY_DATA_DIR": "/nonexistent/elsewhere"}
        for argv in (
            ("--data-dir", self.dataDir, "stats"),
            ("stats", "--data-dir", self.dataDir),
        ):
            code, out, err = run(*argv, environ=environ)
            self.assertEqual((code, err), (0, ""), argv)
            self.assertIn(self.dbPath, out)

    def test_badEnvironment(self) -> None:
        """
        An unknown C{POCKETRELAY_*} variable is one line and status 1, as
        for the server.
        """
        self.assertOneLineError(
            run("stats", environ={"POCKETRELAY_DATTA_DIR": "x"}),
            "POCKETRELAY_DATTA_DIR names no setting",
        )

    def test_missingConfigFile(self) -> None:
        """
        A configuration file that cannot be read is one line, status 1.
        """
        self.assertOneLineError(
            run("stats", "--config", "/nonexistent/pocketrelay.toml"),
            "cannot read configuration file",
        )


class PackageTests(_AdminTestCase):
    """
    How the package is put together: the table of subcommands, C{python -m},
    and the store as the only writer of our tables.
    """

    def test_registeredCommand(self) -> None:
        """
        A L{Command} added to L{cli.COMMANDS} is listed in C{--help}, parses
        its own arguments and runs with the server's settings and database
        path.
        """
        seen: list[Invocation] = []

        def arguments(parser: argparse.ArgumentParser) -> None:
            parser.add_argument("word")

        def runIt(invocation: Invocation) -> int:
            seen.append(invocation)
            invocation.console.say(f"said {invocation.args.word}")
            return 0

        extra = Command("echo", "say a word", "Say WORD.", runIt, arguments)
        self.patch(cli, "COMMANDS", (*cli.COMMANDS, extra))
        code, out, _ = run("--help")
        self.assertEqual(code, 0)
        self.assertIn("say a word", out)
        self.assertEqual(self.run_("echo", "hello"), (0, "said hello\n", ""))
        [invocation] = seen
        self.assertEqual(invocation.databasePath, self.dbPath)
        self.assertEqual(invocation.settings["data_dir"], self.dataDir)
        self.assertEqual(invocation.now, NOW)

    def test_pythonDashM(self) -> None:
        """
        C{python -m pocketrelay.admin} runs the same command line.
        """
        out = io.StringIO()
        self.patch(sys, "argv", ["pocketrelay-admin", "--help"])
        self.patch(sys, "stdout", out)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            exited = self.assertRaises(
                SystemExit, runpy.run_module, "pocketrelay.admin", run_name="__main__"
            )
        self.assertEqual(exited.code, 0)
        self.assertIn("usage: pocketrelay-admin", out.getvalue())
        self.assertIn("import-rust", out.getvalue())

    def test_noWritingSql(self) -> None:
        """
        No module of the package holds SQL that changes rows: every write
        to our database goes through L{pocketrelay.server.store.DirectStore}.
        """
        writing = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\s")
        directory = os.path.dirname(admin.__file__)
        found = []
        for name, tree in parsedModules(directory):
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and writing.search(node.value)
                ):
                    found.append(f"{name}:{node.lineno}: {node.value[:40]!r}")
        self.assertEqual(found, [])


class SuperAdminTests(_AdminTestCase):
    """
    C{super-admin EMAIL}.
    """

    def test_create(self) -> None:
        """
        A new account is created as SuperAdmin with the password from
        stdin, hashed with argon2id; the data directory and database are
        created; the password is never printed.
        """
        code, out, err = self.run_(
            "super-admin",
            "admin@example.org",
            "--password-stdin",
            stdin="s3cret pass\n",
        )
        self.assertEqual((code, err), (0, ""))
        self.assertIn("Created super admin admin@example.org", out)
        self.assertNotIn("s3cret", out + err)
        [(email, name, password, role, created)] = self.query(
            "SELECT email, display_name, password, role, created_at FROM players"
        )
        self.assertEqual(
            (email, name, role, created), ("admin@example.org", "admin", 2, NOW)
        )
        self.assertTrue(password.startswith("$argon2id$"))
        self.assertTrue(FAST_HASHER.verifyPassword(password, "s3cret pass"))
        self.assertEqual(stat.S_IMODE(os.stat(self.dataDir).st_mode), 0o700)

    def test_createWithName(self) -> None:
        """
        C{--name} sets the display name of a new account.
        """
        code, _, err = self.run_(
            "super-admin",
            "admin@example.org",
            "--name",
            "Commander",
            "--password-stdin",
            stdin="pw\r\n",
        )
        self.assertEqual((code, err), (0, ""))
        [(name, password)] = self.query("SELECT display_name, password FROM players")
        self.assertEqual(name, "Commander")
        self.assertTrue(FAST_HASHER.verifyPassword(password, "pw"))

    def test_promoteKeepsPassword(self) -> None:
        """
        An existing account (matched in canonical form) becomes SuperAdmin;
        without a password option its password hash is unchanged, and the
        role change revokes its earlier tokens.
        """
        db = makeOurDatabase(self.dbPath)
        hashed = FAST_HASHER.hashPassword("old")
        playerId = addPlayer(db, "admin@example.org", "Anderson", 0, hashed)
        db.close()
        code, out, err = self.run_("super-admin", "ADMIN@example.org")
        self.assertEqual((code, err), (0, ""))
        self.assertIn(
            f"Promoted super admin admin@example.org ('Anderson', id {playerId})", out
        )
        self.assertEqual(
            self.query("SELECT id, role, password, token_min_expiry FROM players"),
            [(playerId, 2, hashed, revocationExpiry(NOW))],
        )

    def test_promoteResetsPassword(self) -> None:
        """
        C{--password} on an existing account replaces its password and
        warns that the option is visible in the process list.
        """
        db = makeOurDatabase(self.dbPath)
        addPlayer(
            db, "admin@example.org", "Anderson", 1, FAST_HASHER.hashPassword("old")
        )
        db.close()
        code, out, err = self.run_(
            "super-admin",
            "admin@example.org",
            "--password",
            "n3w-secret",
            "--name",
            "Hackett",
        )
        self.assertEqual(code, 0)
        self.assertIn("warning: --password is visible", err)
        self.assertIn("set its password", out)
        self.assertNotIn("n3w-secret", out + err)
        [(name, role, password, floor)] = self.query(
            "SELECT display_name, role, password, token_min_expiry FROM players"
        )
        self.assertEqual((name, role), ("Hackett", 2))
        self.assertTrue(FAST_HASHER.verifyPassword(password, "n3w-secret"))
        self.assertFalse(FAST_HASHER.verifyPassword(password, "old"))
        # The new password revokes the tokens issued until now.
        self.assertEqual(floor, revocationExpiry(NOW))

    def test_createNeedsPassword(self) -> None:
        """
        Creating an account without a password is refused; nothing is
        added.
        """
        self.assertOneLineError(
            self.run_("super-admin", "admin@example.org"), "--password-stdin"
        )
        self.assertFalse(os.path.exists(self.dbPath))
        makeOurDatabase(self.dbPath).close()
        self.assertOneLineError(
            self.run_("super-admin", "admin@example.org"), "--password-stdin"
        )
        self.assertEqual(self.query("SELECT COUNT(*) FROM players"), [(0,)])

    def test_emptyStdin(self) -> None:
        """
        C{--password-stdin} with nothing on stdin is an error.
        """
        self.assertOneLineError(
            self.run_("super-admin", "admin@example.org", "--password-stdin"),
            "no password on standard input",
        )

    def test_passwordTooLong(self) -> None:
        """
        Passwords over the dashboard's limit are refused.
        """
        self.assertOneLineError(
            self.run_(
                "super-admin",
                "admin@example.org",
                "--password-stdin",
                stdin="x" * (admin.MAX_PASSWORD_LENGTH + 1) + "\n",
            ),
            "longer than",
        )

    def test_badEmail(self) -> None:
        """
        Something that is not an email address is refused before the
        database is touched.
        """
        self.assertOneLineError(
            self.run_("super-admin", "not an email", "--password-stdin", stdin="x\n"),
            "not a valid email address",
        )
        self.assertFalse(os.path.exists(self.dbPath))

    def test_emailInCanonicalForm(self) -> None:
        """
        A new account is stored under the canonical form of the address
        (NFKC, case-folded); a letter that folds to no ASCII letter (the
        dotless i) is refused before the database is touched.
        """
        self.assertOneLineError(
            self.run_(
                "super-admin", "k\u0131te@example.org", "--password-stdin", stdin="x\n"
            ),
            "not a valid email address",
        )
        self.assertFalse(os.path.exists(self.dbPath))
        code, out, err = self.run_(
            "super-admin", " \u212aATE@Example.ORG", "--password-stdin", stdin="x\n"
        )
        self.assertEqual((code, err), (0, ""))
        self.assertIn("Created super admin kate@example.org", out)
        self.assertEqual(
            self.query("SELECT email, role FROM players"), [("kate@example.org", 2)]
        )

    def test_bothPasswordOptions(self) -> None:
        """
        C{--password} and C{--password-stdin} together are a usage error.
        """
        code, _, err = self.run_(
            "super-admin", "a@example.org", "--password", "x", "--password-stdin"
        )
        self.assertEqual(code, 2)
        self.assertIn("not allowed with", err)

    def test_garbageDatabase(self) -> None:
        """
        An C{app.db} that is not SQLite is one line and status 1.
        """
        self.writeGarbage(self.dbPath)
        self.assertOneLineError(
            self.run_("super-admin", "a@example.org", "--password-stdin", stdin="x\n"),
            "is not an SQLite database",
        )

    def test_foreignDatabase(self) -> None:
        """
        An C{app.db} made by another program (the Rust server's) is left
        alone and reported.
        """
        os.makedirs(self.dataDir)
        makeRustDatabase(self.dbPath)
        before = self.query("SELECT COUNT(*) FROM players")
        self.assertOneLineError(
            self.run_("super-admin", "a@example.org", "--password-stdin", stdin="x\n"),
            "not made by pocketrelay",
        )
        self.assertEqual(self.query("SELECT COUNT(*) FROM players"), before)

    def test_dataDirIsAFile(self) -> None:
        """
        A data directory path that is a file is reported.
        """
        with open(self.dataDir, "w") as f:
            f.write("x")
        self.assertOneLineError(
            self.run_("super-admin", "a@example.org", "--password-stdin", stdin="x\n"),
            "is not a directory",
        )


class BackupTests(_AdminTestCase):
    """
    C{backup DEST}.
    """

    def setUp(self) -> None:
        super().setUp()
        self.db = makeOurDatabase(self.dbPath)
        self.addCleanup(self.db.close)
        for i in range(5):
            playerId = addPlayer(self.db, f"p{i}@example.org")
            self.db.execute(
                "INSERT INTO player_data VALUES (?, 'Base', ?)", (playerId, BASE_VALUE)
            )
        self.backupDir = os.path.abspath(self.mktemp())
        os.makedirs(self.backupDir)

    def test_backup(self) -> None:
        """
        The copy holds the same rows, is mode 0600, is a self-contained
        rollback-journal file, and the summary line names size and counts.
        """
        dest = os.path.join(self.backupDir, "copy.db")
        code, out, err = self.run_("backup", dest)
        self.assertEqual((code, err), (0, ""))
        size = os.path.getsize(dest)
        self.assertIn(f"to {dest}: {size} bytes, schema version {SCHEMA_VERSION}", out)
        self.assertIn("5 players, 5 player data rows", out)
        self.assertEqual(stat.S_IMODE(os.stat(dest).st_mode), 0o600)
        self.assertEqual(self.query("SELECT COUNT(*) FROM players", path=dest), [(5,)])
        self.assertEqual(self.query("PRAGMA journal_mode", path=dest), [("delete",)])
        self.assertEqual(sorted(os.listdir(self.backupDir)), ["copy.db"])

    def test_duringWriteTransaction(self) -> None:
        """
        While another connection holds an open write transaction in WAL
        mode, the backup succeeds at once with every committed row (also
        those only in the C{-wal} file) and none of the uncommitted ones;
        the writer then commits normally.
        """
        self.db.execute("PRAGMA wal_autocheckpoint = 0")
        addPlayer(self.db, "committed@example.org")
        self.assertTrue(os.path.getsize(self.dbPath + "-wal") > 0)
        self.db.execute("BEGIN IMMEDIATE")
        addPlayer(self.db, "uncommitted@example.org")
        dest = os.path.join(self.backupDir, "copy.db")
        code, _out, err = self.run_("backup", dest)
        self.assertEqual((code, err), (0, ""))
        emails = {e for (e,) in self.query("SELECT email FROM players", path=dest)}
        self.assertIn("committed@example.org", emails)
        self.assertNotIn("uncommitted@example.org", emails)
        self.assertEqual(len(emails), 6)
        self.db.execute("COMMIT")
        self.assertEqual(self.query("SELECT COUNT(*) FROM players"), [(7,)])

    def test_intoDirectory(self) -> None:
        """
        A directory as DEST gets a file named after the time.
        """
        code, out, err = self.run_("backup", self.backupDir)
        self.assertEqual((code, err), (0, ""))
        name = "app-" + time.strftime("%Y%m%d-%H%M%S", time.gmtime(NOW)) + ".db"
        self.assertEqual(os.listdir(self.backupDir), [name])
        self.assertIn(name, out)

    def test_replacesExisting(self) -> None:
        """
        An existing DEST is replaced by the new copy, leaving no
        temporary file.
        """
        dest = os.path.join(self.backupDir, "copy.db")
        with open(dest, "w") as f:
            f.write("old backup")
        code, _, err = self.run_("backup", dest)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.query("SELECT COUNT(*) FROM players", path=dest), [(5,)])
        self.assertEqual(os.listdir(self.backupDir), ["copy.db"])

    def test_noDatabase(self) -> None:
        """
        Without a database there is nothing to back up: status 1.
        """
        code, _, err = run(
            "--data-dir", os.path.abspath(self.mktemp()), "backup", self.backupDir
        )
        self.assertEqual(code, 1)
        self.assertIn("no database at", err)

    def test_missingDestinationDirectory(self) -> None:
        """
        DEST in a directory that does not exist is reported.
        """
        self.assertOneLineError(
            self.run_("backup", os.path.join(self.backupDir, "nope", "copy.db")),
            "does not exist",
        )

    def test_notOverLiveDatabase(self) -> None:
        """
        The live database cannot be its own backup.
        """
        self.assertOneLineError(self.run_("backup", self.dbPath), "live database")
        self.assertEqual(self.query("SELECT COUNT(*) FROM players"), [(5,)])

    def test_garbageDatabase(self) -> None:
        """
        A database that is not SQLite is reported and no file is left at
        DEST.
        """
        dataDir = os.path.abspath(self.mktemp())
        self.writeGarbage(os.path.join(dataDir, "app.db"))
        self.assertOneLineError(
            run("--data-dir", dataDir, "backup", self.backupDir),
            "is not an SQLite database",
        )
        self.assertEqual(os.listdir(self.backupDir), [])

    def test_foreignDatabase(self) -> None:
        """
        A database not made by pocketrelay is refused; no temporary file
        is left.
        """
        dataDir = os.path.abspath(self.mktemp())
        os.makedirs(dataDir)
        makeRustDatabase(os.path.join(dataDir, "app.db"))
        self.assertOneLineError(
            run("--data-dir", dataDir, "backup", self.backupDir),
            "not a pocketrelay database",
        )
        self.assertEqual(os.listdir(self.backupDir), [])


class RestoreTests(_AdminTestCase):
    """
    C{restore SRC}.
    """

    def setUp(self) -> None:
        super().setUp()
        self.patch(backupModule, "_LOCK_TIMEOUT", 0.05)
        # The backup: two players.
        self.backupPath = os.path.abspath(self.mktemp())
        backup = makeOurDatabase(self.backupPath)
        addPlayer(backup, "old1@example.org")
        addPlayer(backup, "old2@example.org")
        backup.execute("PRAGMA journal_mode = DELETE")
        backup.close()
        # The live database: three players, one only in the -wal file.
        live = makeOurDatabase(self.dbPath)
        live.execute("PRAGMA wal_autocheckpoint = 0")
        for i in range(3):
            addPlayer(live, f"new{i}@example.org")
        self.live: sqlite3.Connection | None = live

    def closeLive(self) -> None:
        if self.live is not None:
            self.live.close()
            self.live = None

    def tearDown(self) -> None:
        self.closeLive()

    def keptName(self) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(NOW))
        return f"{self.dbPath}.before-restore-{stamp}"

    def test_restore(self) -> None:
        """
        The backup replaces the live database, whose full content
        (including its -wal) is kept as C{app.db.before-restore-<time>};
        no stale -wal/-shm is left for the restored file.
        """
        self.closeLive()
        code, out, err = self.run_("restore", self.backupPath)
        self.assertEqual((code, err), (0, ""))
        kept = self.keptName()
        self.assertIn(f"kept as {kept}", out)
        self.assertIn("2 players", out)
        self.assertEqual(
            sorted(e for (e,) in self.query("SELECT email FROM players")),
            ["old1@example.org", "old2@example.org"],
        )
        self.assertEqual(self.query("SELECT COUNT(*) FROM players", path=kept), [(3,)])
        self.assertFalse(os.path.exists(kept + "-wal"))
        self.assertEqual(
            self.query("SELECT MAX(version) FROM schema_version"), [(SCHEMA_VERSION,)]
        )

    def test_staleWalRemoved(self) -> None:
        """
        A leftover C{-wal} of the previous database (after a crash) ends
        up in the kept copy, not in the restored database.
        """
        self.closeLive()
        # Make a -wal with a committed but uncheckpointed row, then keep
        # copies of both files as a crash would leave them.
        writer = sqlite3.connect(self.dbPath, isolation_level=None)
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        addPlayer(writer, "inwal@example.org")
        with open(self.dbPath, "rb") as f:
            mainFile = f.read()
        with open(self.dbPath + "-wal", "rb") as f:
            wal = f.read()
        writer.close()
        with open(self.dbPath, "wb") as f:
            f.write(mainFile)
        with open(self.dbPath + "-wal", "wb") as f:
            f.write(wal)
        with open(self.dbPath + "-shm", "wb") as f:
            f.write(b"\0" * 32768)
        code, _, err = self.run_("restore", self.backupPath)
        self.assertEqual((code, err), (0, ""))
        kept = self.keptName()
        self.assertIn(
            ("inwal@example.org",),
            self.query("SELECT email FROM players", path=kept),
        )
        self.assertEqual(self.query("SELECT COUNT(*) FROM players"), [(2,)])

    def test_refusesWhileInUse(self) -> None:
        """
        While another connection has the database open (as the server's
        store does), restore refuses with one line and changes nothing.
        """
        self.assertIsNotNone(self.live)
        self.assertOneLineError(
            self.run_("restore", self.backupPath), "in use by another process"
        )
        self.assertEqual(self.query("SELECT COUNT(*) FROM players"), [(3,)])
        self.assertEqual(
            [
                n
                for n in os.listdir(self.dataDir)
                if "before-restore" in n or n.endswith(".tmp")
            ],
            [],
        )

    def test_forceSkipsCheck(self) -> None:
        """
        C{--force} restores even though another connection is open.
        """
        code, _, err = self.run_("restore", self.backupPath, "--force")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(self.query("SELECT COUNT(*) FROM players"), [(2,)])
        self.assertEqual(
            self.query("SELECT COUNT(*) FROM players", path=self.keptName()), [(3,)]
        )

    def test_refusesNewerSchema(self) -> None:
        """
        A backup from a newer pocketrelay (higher schema version) is
        refused; the live database is untouched.
        """
        self.closeLive()
        newer = os.path.abspath(self.mktemp())
        makeOurDatabase(newer, version=SCHEMA_VERSION + 1).close()
        self.assertOneLineError(
            self.run_("restore", newer), f"schema version {SCHEMA_VERSION + 1}, newer"
        )
        self.assertEqual(self.query("SELECT COUNT(*) FROM players"), [(3,)])

    def test_refusesGarbage(self) -> None:
        """
        A file that is not SQLite is refused with one line.
        """
        self.closeLive()
        garbage = os.path.abspath(self.mktemp())
        self.writeGarbage(garbage)
        self.assertOneLineError(
            self.run_("restore", garbage), "is not an SQLite database"
        )
        self.assertEqual(self.query("SELECT COUNT(*) FROM players"), [(3,)])

    def test_refusesForeignDatabase(self) -> None:
        """
        An SQLite file not made by pocketrelay (a Rust app.db) is refused.
        """
        self.closeLive()
        rust = os.path.abspath(self.mktemp())
        makeRustDatabase(rust)
        self.assertOneLineError(
            self.run_("restore", rust), "not a pocketrelay database"
        )

    def test_refusesEmptyDatabase(self) -> None:
        """
        An empty SQLite file is not a backup.
        """
        self.closeLive()
        empty = os.path.abspath(self.mktemp())
        sqlite3.connect(empty).close()
        self.assertOneLineError(self.run_("restore", empty), "it is empty")

    def test_missingSource(self) -> None:
        """
        A backup path that does not exist is reported.
        """
        self.assertOneLineError(
            self.run_("restore", "/nonexistent/backup.db"), "no backup at"
        )

    def test_refusesLiveDatabase(self) -> None:
        """
        The live database is not a backup of itself.
        """
        self.closeLive()
        self.assertOneLineError(
            self.run_("restore", self.dbPath), "live database itself"
        )

    def test_intoEmptyDataDirectory(self) -> None:
        """
        On a new machine (no data directory) the backup is put in place
        and migrated.
        """
        dataDir = os.path.abspath(self.mktemp())
        code, out, err = run("--data-dir", dataDir, "restore", self.backupPath)
        self.assertEqual((code, err), (0, ""))
        self.assertIn("there was no previous database", out)
        self.assertEqual(
            self.query(
                "SELECT COUNT(*) FROM players", path=os.path.join(dataDir, "app.db")
            ),
            [(2,)],
        )

    def test_replacesGarbage(self) -> None:
        """
        A live C{app.db} that is not a database (the reason to restore) is
        kept by renaming it, with a warning.
        """
        self.closeLive()
        for suffix in ("", "-wal", "-shm"):
            _removeIfExists(self.dbPath + suffix)
        self.writeGarbage(self.dbPath)
        code, _, err = self.run_("restore", self.backupPath)
        self.assertEqual(code, 0)
        self.assertIn("warning: the current", err)
        self.assertEqual(self.query("SELECT COUNT(*) FROM players"), [(2,)])
        with open(self.keptName(), "rb") as f:
            self.assertTrue(f.read().startswith(b"this is not an SQLite file"))


def _removeIfExists(path: str) -> None:
    if os.path.exists(path):
        os.unlink(path)


class RestoreWhileServerRunsTests(TestCase):
    """
    C{restore} against the server's real L{Store}.
    """

    def test_refusesWhileStoreOpen(self) -> defer.Deferred[None]:
        """
        While a L{Store} has the database open, restore refuses; once it
        is stopped, restore succeeds.
        """
        self.patch(backupModule, "_LOCK_TIMEOUT", 0.05)
        dataDir = os.path.abspath(self.mktemp())
        os.makedirs(dataDir)
        dbPath = os.path.join(dataDir, "app.db")
        backupPath = os.path.abspath(self.mktemp())
        backup = makeOurDatabase(backupPath)
        addPlayer(backup, "restored@example.org")
        backup.close()
        store = Store(dbPath, globalReactor)
        d = store.start()
        self.addCleanup(store.stop)

        def started(_: object) -> Any:
            return store.createPlayer("live@example.org", "Live", None, now=NOW)

        def created(_: object) -> Any:
            code, _out, err = run("--data-dir", dataDir, "restore", backupPath)
            self.assertEqual(code, 1)
            self.assertIn("in use by another process", err)
            return store.stop()

        def stopped(_: object) -> None:
            code, _out, err = run("--data-dir", dataDir, "restore", backupPath)
            self.assertEqual((code, err), (0, ""))
            db = sqlite3.connect(dbPath)
            try:
                self.assertEqual(
                    db.execute("SELECT email FROM players").fetchall(),
                    [("restored@example.org",)],
                )
            finally:
                db.close()

        d.addCallback(started)
        d.addCallback(created)
        d.addCallback(stopped)
        return d


class ImportRustRevokesTests(TestCase):
    """
    C{import-rust --replace} against the server's real L{Store}: the
    replaced account's earlier login tokens stop working.
    """

    def test_replaceRevokesTokens(self) -> defer.Deferred[None]:
        """
        A login token issued for an account before C{import-rust --replace}
        overwrites it is refused afterwards by L{playerForToken}
        (L{RevokedToken}); a token issued after the import is accepted.
        """
        dataDir = os.path.abspath(self.mktemp())
        dbPath = os.path.join(dataDir, "app.db")
        rustDir = os.path.abspath(self.mktemp())
        os.makedirs(rustDir)
        rustPath = os.path.join(rustDir, "app.db")
        makeRustDatabase(rustPath)
        db = makeOurDatabase(dbPath)
        ours = addPlayer(db, "shepard@example.org", "OurShepard", 0, "$argon2id$ours")
        db.close()
        clock = Clock()
        clock.advance(NOW)
        signer = TokenSigner(b"k" * 32, clock)
        before = signer.issueToken(ours)
        code, _out, err = run("--data-dir", dataDir, "import-rust", rustPath, "--replace")
        self.assertEqual((code, err), (0, ""))
        store = Store(dbPath, globalReactor)
        d = store.start()
        self.addCleanup(store.stop)

        def started(_: object) -> Any:
            return self.assertFailure(
                playerForToken(signer, store, before), RevokedToken
            )

        def refused(_: object) -> Any:
            return store.getPlayer(ours)

        def fresh(player: Any) -> Any:
            return playerForToken(signer, store, signer.issueFor(player))

        def accepted(player: Any) -> None:
            self.assertEqual(player.id, ours)

        d.addCallback(started)
        d.addCallback(refused)
        d.addCallback(fresh)
        d.addCallback(accepted)
        return d


class ImportRustTests(_AdminTestCase):
    """
    C{import-rust PATH}.
    """

    def setUp(self) -> None:
        super().setUp()
        self.rustDir = os.path.abspath(self.mktemp())
        os.makedirs(self.rustDir)
        self.rustPath = os.path.join(self.rustDir, "app.db")
        makeRustDatabase(self.rustPath)

    def players(self) -> dict[str, tuple[Any, ...]]:
        return {
            row[1]: row
            for row in self.query(
                "SELECT id, email, display_name, password, role, created_at, "
                "last_login_at FROM players"
            )
        }

    def test_import(self) -> None:
        """
        Players, player data, Galaxy at War, leaderboards and game reports
        are copied with new ids; passwords still verify; times become Unix
        seconds; the summary line has the counts.
        """
        code, out, err = self.run_("import-rust", self.rustPath)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(
            out,
            f"Imported from {self.rustPath}: 3 players (0 replaced, 0 skipped), "
            "5 player data rows, 2 Galaxy at War rows, 3 leaderboard rows, "
            "1 game reports (0 already present); 0 warnings\n",
        )
        players = self.players()
        shepard = players["shepard@example.org"]
        garrus = players["garrus@example.org"]
        tali = players["tali@example.org"]
        self.assertEqual([shepard[0], garrus[0], tali[0]], [1, 2, 3])
        self.assertEqual(shepard[2], "Shepard")
        self.assertEqual(shepard[3], rustHash())
        self.assertTrue(PasswordHasher().verifyPassword(shepard[3], RUST_PASSWORD))
        self.assertEqual((shepard[4], garrus[4], tali[4]), (2, 0, 1))
        self.assertIsNone(garrus[3])
        self.assertEqual(shepard[5], NOW)
        self.assertEqual(shepard[6], utc(2024, 7, 14, 2, 35, 35))
        self.assertEqual(garrus[6], utc(2024, 7, 15, 8, 0, 0))
        self.assertIsNone(tali[6])
        self.assertEqual(
            self.query(
                "SELECT player_id, key FROM player_data ORDER BY player_id, key"
            ),
            [
                (1, "Base"),
                (1, "FaceCodes"),
                (1, "class1"),
                (2, "Base"),
                (3, "csreward"),
            ],
        )
        self.assertEqual(
            self.query(
                "SELECT value FROM player_data WHERE player_id = 1 AND key = 'Base'"
            ),
            [(BASE_VALUE,)],
        )
        self.assertEqual(
            self.query("SELECT * FROM galaxy_at_war ORDER BY player_id"),
            [
                (1, utc(2024, 7, 10, 8), 5100, 5200, 5300, 5400, 5500),
                (2, utc(2024, 7, 11, 9, 30), 5000, 5000, 5000, 5000, 10099),
            ],
        )
        self.assertEqual(
            self.query(
                "SELECT type, player_id, value FROM leaderboard ORDER BY type, player_id"
            ),
            [(0, 1, 812), (0, 2, 650), (1, 1, 4500)],
        )
        [(data, created, finished)] = self.query(
            "SELECT data, created_at, finished_at FROM game_reports"
        )
        report = json.loads(data)
        self.assertEqual([p["player_id"] for p in report["players"]], [1, 2])
        self.assertEqual(report["seed"], 1234)
        self.assertEqual(created, utc(2025, 3, 12, 8, 30, 54))
        self.assertEqual(finished, utc(2025, 3, 12, 9, 5))

    def test_rustDatabaseUnchanged(self) -> None:
        """
        The Rust database is only read: its content is the same after.
        """
        before = fileDigest(self.rustPath)
        self.assertEqual(self.run_("import-rust", self.rustPath)[0], 0)
        self.assertEqual(fileDigest(self.rustPath), before)

    def test_dataDirectoryPath(self) -> None:
        """
        PATH may be the Rust data directory, or the directory above it
        (the Rust server's working directory with C{data/app.db}).
        """
        code, out, _ = self.run_("import-rust", self.rustDir)
        self.assertEqual(code, 0)
        self.assertIn("3 players", out)
        parent = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(parent, "data"))
        makeRustDatabase(os.path.join(parent, "data", "app.db"))
        code, out, _ = run(
            "--data-dir", os.path.abspath(self.mktemp()), "import-rust", parent
        )
        self.assertEqual(code, 0)
        self.assertIn(os.path.join(parent, "data", "app.db"), out)

    def test_conflictSkipped(self) -> None:
        """
        An email that already has an account (in canonical form) is
        skipped with a warning; its account and data stay as they were;
        the other players are imported.
        """
        db = makeOurDatabase(self.dbPath)
        ours = addPlayer(db, "Shepard@Example.org", "OurShepard", 0, "$argon2id$ours")
        db.execute("INSERT INTO player_data VALUES (?, 'Base', 'ours')", (ours,))
        db.close()
        code, out, err = self.run_("import-rust", self.rustPath)
        self.assertEqual(code, 0)
        self.assertIn(
            "warning: player 3: an account with email shepard@example.org exists", err
        )
        self.assertIn("2 players (0 replaced, 1 skipped)", out)
        self.assertIn("2 player data rows", out)
        players = self.players()
        self.assertEqual(
            players["Shepard@Example.org"][2:5], ("OurShepard", "$argon2id$ours", 0)
        )
        self.assertEqual(
            self.query("SELECT value FROM player_data WHERE player_id = ?", ours),
            [("ours",)],
        )
        # The report's Rust id 3 now names our existing account.
        [(data,)] = self.query("SELECT data FROM game_reports")
        self.assertEqual(json.loads(data)["players"][0]["player_id"], ours)

    def test_conflictReplaced(self) -> None:
        """
        With C{--replace} the existing account keeps its id but takes the
        Rust account's name, password, role and data.
        """
        db = makeOurDatabase(self.dbPath)
        ours = addPlayer(db, "shepard@example.org", "OurShepard", 0, "$argon2id$ours")
        db.execute("INSERT INTO player_data VALUES (?, 'Stale', 'x')", (ours,))
        db.execute("INSERT INTO leaderboard VALUES (?, 0, 99999)", (ours,))
        db.close()
        code, out, err = self.run_("import-rust", self.rustPath, "--replace")
        self.assertEqual((code, err), (0, ""))
        self.assertIn("2 players (1 replaced, 0 skipped)", out)
        shepard = self.players()["shepard@example.org"]
        self.assertEqual(shepard[0], ours)
        self.assertEqual(shepard[2], "Shepard")
        self.assertEqual(shepard[4], 2)
        self.assertTrue(FAST_HASHER.verifyPassword(shepard[3], RUST_PASSWORD))
        self.assertEqual(
            self.query(
                "SELECT key FROM player_data WHERE player_id = ? ORDER BY key", ours
            ),
            [("Base",), ("FaceCodes",), ("class1",)],
        )
        self.assertEqual(
            self.query(
                "SELECT type, value FROM leaderboard WHERE player_id = ? ORDER BY type",
                ours,
            ),
            [(0, 812), (1, 4500)],
        )

    def test_importTwice(self) -> None:
        """
        Importing the same database again adds nothing: every player is
        skipped and the game report is recognised as already present.
        """
        self.assertEqual(self.run_("import-rust", self.rustPath)[0], 0)
        code, out, _ = self.run_("import-rust", self.rustPath)
        self.assertEqual(code, 0)
        self.assertIn("0 players (0 replaced, 3 skipped)", out)
        self.assertIn("0 game reports (1 already present)", out)
        self.assertEqual(self.query("SELECT COUNT(*) FROM players"), [(3,)])
        self.assertEqual(self.query("SELECT COUNT(*) FROM game_reports"), [(1,)])

    def test_allOrNothing(self) -> None:
        """
        A database error in the middle of the import rolls everything
        back: one line, status 1, no player added.
        """

        def broken(self: Any) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        self.patch(rustimport._Importer, "gameReports", broken)
        self.assertOneLineError(
            self.run_("import-rust", self.rustPath), "nothing was imported"
        )
        self.assertEqual(self.query("SELECT COUNT(*) FROM players"), [(0,)])
        self.assertEqual(self.query("SELECT COUNT(*) FROM player_data"), [(0,)])

    def test_dryRun(self) -> None:
        """
        C{--dry-run} reports the counts and writes nothing.
        """
        code, out, _ = self.run_("import-rust", self.rustPath, "--dry-run")
        self.assertEqual(code, 0)
        self.assertIn("nothing written; would import", out)
        self.assertIn("3 players", out)
        self.assertEqual(self.query("SELECT COUNT(*) FROM players"), [(0,)])

    def test_legacyLayout(self) -> None:
        """
        A database of an older Pocket Relay (no leaderboard_data, no
        game_report, no last_login_at) imports with one warning each.
        """
        legacy = os.path.join(os.path.abspath(self.mktemp()) + ".db")
        makeRustDatabase(legacy, legacy=True)
        code, out, err = self.run_("import-rust", legacy)
        self.assertEqual(code, 0, err)
        self.assertIn("no column last_login_at", err)
        self.assertIn("no leaderboard_data table", err)
        self.assertIn("no game_report table", err)
        self.assertEqual(len(err.splitlines()), 3)
        self.assertIn("3 players", out)
        self.assertIn("; 3 warnings", out)
        self.assertIn("0 leaderboard rows", out)
        self.assertEqual(self.query("SELECT last_login_at FROM players"), [(None,)] * 3)
        self.assertTrue(
            PasswordHasher().verifyPassword(
                self.players()["shepard@example.org"][3], RUST_PASSWORD
            )
        )

    def test_badValues(self) -> None:
        """
        Bad rows are warned about and adjusted or skipped: an unparseable
        date becomes NULL (last login) or the import time (Galaxy at War),
        an unknown role becomes Default, an unknown leaderboard type and a
        report that is not JSON are skipped, and orphan rows are skipped.
        """
        db = sqlite3.connect(self.rustPath, isolation_level=None)
        db.execute("UPDATE players SET last_login_at = 'yesterday' WHERE id = 7")
        db.execute("UPDATE players SET role = 9 WHERE id = 9")
        db.execute(
            "UPDATE galaxy_at_war SET last_modified = '2024-13-45 99:00:00' WHERE player_id = 3"
        )
        db.execute(
            "INSERT INTO leaderboard_data (player_id, ty, value) VALUES (9, 5, 1)"
        )
        db.execute(
            "INSERT INTO player_data (player_id, key, value) VALUES (42, 'Base', 'x')"
        )
        db.execute(
            "INSERT INTO game_report (data, created_at, finished_at) VALUES ('{oops', 'x', 'y')"
        )
        db.close()
        code, out, err = self.run_("import-rust", self.rustPath)
        self.assertEqual(code, 0)
        self.assertIn("bad last_login_at 'yesterday'", err)
        self.assertIn("unknown role 9", err)
        self.assertIn("bad last_modified", err)
        self.assertIn("unknown type 5", err)
        self.assertIn("unknown player id 42", err)
        self.assertIn("game_report 2: not a JSON object", err)
        self.assertIn("6 warnings", out)
        players = self.players()
        self.assertIsNone(players["garrus@example.org"][6])
        self.assertEqual(players["tali@example.org"][4], 0)
        self.assertEqual(
            self.query("SELECT last_modified FROM galaxy_at_war WHERE player_id = 1"),
            [(NOW,)],
        )
        self.assertEqual(self.query("SELECT COUNT(*) FROM game_reports"), [(1,)])

    def test_manyWarnings(self) -> None:
        """
        At most 100 warning lines are printed, then one line with the
        number left out; the summary counts all of them.
        """
        db = sqlite3.connect(self.rustPath, isolation_level=None)
        db.executemany(
            "INSERT INTO player_data (player_id, key, value) VALUES (?, 'Base', 'x')",
            [(1000 + i,) for i in range(150)],
        )
        db.close()
        code, out, err = self.run_("import-rust", self.rustPath)
        self.assertEqual(code, 0)
        lines = err.splitlines()
        self.assertEqual(len(lines), 101)
        self.assertEqual(
            lines[-1], "pocketrelay-admin: warning: 50 more warnings not shown"
        )
        self.assertIn("; 150 warnings", out)

    def test_duplicateEmailsInRust(self) -> None:
        """
        Two Rust accounts whose emails differ only in case: the second is
        skipped, since our emails are unique in canonical form.
        """
        db = sqlite3.connect(self.rustPath, isolation_level=None)
        db.execute(
            "INSERT INTO players (id, email, display_name, role) "
            "VALUES (12, 'TALI@example.org', 'Tali2', 0)"
        )
        db.close()
        code, out, err = self.run_("import-rust", self.rustPath, "--replace")
        self.assertEqual(code, 0)
        self.assertIn("repeats an earlier Rust account", err)
        self.assertIn("3 players (0 replaced, 1 skipped)", out)

    def test_canonicalEmails(self) -> None:
        """
        Rust emails are stored in canonical form; a Rust account whose
        email equals an earlier one only once canonical (a KELVIN SIGN for
        the C{k}) is skipped with a warning saying so.
        """
        db = sqlite3.connect(self.rustPath, isolation_level=None)
        db.executemany(
            "INSERT INTO players (id, email, display_name, role) VALUES (?, ?, ?, 0)",
            [(12, "Kaidan@Example.ORG", "Kaidan"), (13, "\u212aaidan@example.org", "K2")],
        )
        db.close()
        code, out, err = self.run_("import-rust", self.rustPath)
        self.assertEqual(code, 0)
        self.assertIn(
            "player 13: email kaidan@example.org repeats an earlier Rust account "
            "(emails compare in canonical form); skipped",
            err,
        )
        self.assertIn("4 players (0 replaced, 1 skipped)", out)
        self.assertEqual(self.players()["kaidan@example.org"][2], "Kaidan")

    def test_garbageFile(self) -> None:
        """
        A file that is not SQLite is one line and status 1; our database
        is not created.
        """
        garbage = os.path.abspath(self.mktemp())
        self.writeGarbage(garbage)
        self.assertOneLineError(
            self.run_("import-rust", garbage), "is not an SQLite database"
        )
        self.assertFalse(os.path.exists(self.dbPath))

    def test_missingPath(self) -> None:
        """
        A path that does not exist, or a directory without an app.db, is
        reported.
        """
        self.assertOneLineError(
            self.run_("import-rust", "/nonexistent/app.db"), "no Rust database at"
        )
        empty = os.path.abspath(self.mktemp())
        os.makedirs(empty)
        self.assertOneLineError(self.run_("import-rust", empty), "no app.db in")

    def test_pocketrelayDatabase(self) -> None:
        """
        One of our own databases is not imported: restore is for that.
        """
        ours = os.path.abspath(self.mktemp())
        makeOurDatabase(os.path.join(ours, "app.db")).close()
        self.assertOneLineError(self.run_("import-rust", ours), "use restore")

    def test_notPocketRelay(self) -> None:
        """
        An SQLite database without a players table is refused.
        """
        other = os.path.abspath(self.mktemp())
        db = sqlite3.connect(other)
        db.execute("CREATE TABLE notes (text)")
        db.close()
        self.assertOneLineError(self.run_("import-rust", other), "no players table")

    def test_ourDatabaseGarbage(self) -> None:
        """
        When our own app.db is not SQLite, nothing is imported.
        """
        self.writeGarbage(self.dbPath)
        self.assertOneLineError(
            self.run_("import-rust", self.rustPath), "is not an SQLite database"
        )


class StatsTests(_AdminTestCase):
    """
    C{stats}.
    """

    def test_counts(self) -> None:
        """
        Schema version, counts per table and per role.
        """
        db = makeOurDatabase(self.dbPath)
        addPlayer(db, "a@example.org", role=2)
        playerId = addPlayer(db, "b@example.org")
        db.execute("INSERT INTO player_data VALUES (?, 'Base', 'x')", (playerId,))
        db.execute(
            "INSERT INTO game_reports (data, created_at, finished_at) VALUES ('{}', 1, 2)"
        )
        db.close()
        code, out, err = self.run_("stats")
        self.assertEqual((code, err), (0, ""))
        lines = out.splitlines()
        self.assertIn(
            f"schema version: {SCHEMA_VERSION} (this pocketrelay: {SCHEMA_VERSION})",
            lines,
        )
        self.assertIn("players: 2", lines)
        self.assertIn("player data rows: 1", lines)
        self.assertIn("game reports: 1", lines)
        self.assertIn("roles: 1 DEFAULT, 0 ADMIN, 1 SUPER_ADMIN", lines)

    def test_noDatabase(self) -> None:
        """
        Without a database: one line, status 1, and nothing is created.
        """
        self.assertOneLineError(self.run_("stats"), "no database at")
        self.assertFalse(os.path.exists(self.dataDir))

    def test_garbage(self) -> None:
        """
        A database that is not SQLite: one line, status 1.
        """
        self.writeGarbage(self.dbPath)
        self.assertOneLineError(self.run_("stats"), "is not an SQLite database")

    def test_dataDirectoryAsDatabase(self) -> None:
        """
        An C{app.db} that is a directory is reported, not opened.
        """
        os.makedirs(self.dbPath)
        self.assertOneLineError(self.run_("stats"), "is not a file")


class ParseRustTimeTests(SynchronousTestCase):
    """
    L{parseRustTime} reads the Rust server's stored times.
    """

    def test_seaOrmText(self) -> None:
        """
        SeaORM's C{YYYY-MM-DD HH:MM:SS} text, with or without fractions,
        is UTC.
        """
        self.assertEqual(
            parseRustTime("2024-07-14 02:35:35"), utc(2024, 7, 14, 2, 35, 35)
        )
        self.assertEqual(
            parseRustTime("2024-07-14 02:35:35.999999"), utc(2024, 7, 14, 2, 35, 35)
        )
        self.assertEqual(
            parseRustTime("2024-07-14 02:35:35 UTC"), utc(2024, 7, 14, 2, 35, 35)
        )

    def test_rfc3339(self) -> None:
        """
        RFC 3339 with C{Z} or a numeric offset, nanoseconds included.
        """
        self.assertEqual(
            parseRustTime("2024-07-14T02:35:35Z"), utc(2024, 7, 14, 2, 35, 35)
        )
        self.assertEqual(
            parseRustTime("2024-07-14T02:35:35.123456789+02:00"),
            utc(2024, 7, 14, 0, 35, 35),
        )
        self.assertEqual(
            parseRustTime("2024-07-14 02:35:35 -05:30"), utc(2024, 7, 14, 8, 5, 35)
        )

    def test_numbers(self) -> None:
        """
        Integers (and integer text) are Unix seconds already.
        """
        self.assertEqual(parseRustTime(1720924535), 1720924535)
        self.assertEqual(parseRustTime("1720924535"), 1720924535)
        self.assertEqual(parseRustTime(1720924535.7), 1720924535)

    def test_bad(self) -> None:
        """
        Anything else is L{None}, never an exception.
        """
        values: tuple[object, ...] = (
            "yesterday",
            "",
            "2024-02-30 00:00:00",
            "2024-07-14 25:00:00",
            "2024-07-14T02:35:35+99:99x",
            None,
            True,
            b"\xff",
            float("nan"),
            [],
        )
        for value in values:
            self.assertIsNone(parseRustTime(value), value)
