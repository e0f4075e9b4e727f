# -*- test-case-name: tests.test_admin -*-
"""
C{pocketrelay-admin import-rust}: copy the players, player data, Galaxy
at War ratings, leaderboards and game reports of a Rust Pocket Relay
database into ours, in one transaction.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final, cast

import attrs

from pocketrelay.admin.command import Command, Invocation
from pocketrelay.admin.database import (
    DATABASE_NAME,
    AdminError,
    _ignore,
    _openForWrite,
    _openReadOnly,
    _requireFile,
    _sqliteError,
    _tables,
    _Warn,
)
from pocketrelay.server.security import revocationExpiry
from pocketrelay.server.store import (
    MAX_DATA_KEY_LENGTH,
    MAX_DATA_KEYS,
    MAX_DATA_VALUE_SIZE,
    MAX_DISPLAY_NAME_LENGTH,
    MAX_EMAIL_LENGTH,
    MAX_REPORT_SIZE,
    DirectStore,
    GalaxyAtWar,
    LeaderboardType,
    PlayerRole,
    StoreError,
)
from pocketrelay.server.store.emails import canonicalEmail

__all__ = [
    "COMMAND",
    "ImportResult",
    "findRustDatabase",
    "importRust",
    "parseRustTime",
]

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
    store: DirectStore
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
        email = canonicalEmail(email) if email is not None else None
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

        existing = self.store.getPlayerByEmail(email)
        if existing is not None:
            ours = existing.id
            if ours in self.created:
                self.warn(
                    f"player {identity}: email {email} repeats an earlier Rust "
                    f"account (emails compare in canonical form); skipped"
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
            # The account gets a new password and role: its earlier login
            # tokens are revoked, as a password change in the dashboard does.
            self.store.replacePlayer(
                ours, email, name, password, role, lastLogin,
                tokenMinExpiry=revocationExpiry(self.now),
            )
            self.imported[identity] = ours
            self.result.replaced += 1
            return
        ours = self.store.createPlayer(email, name, password, role, created).id
        if lastLogin is not None:
            self.store.setLastLogin(ours, lastLogin)
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
        # Written per player once all rows are read: a key that comes
        # twice keeps its place and takes the later value.
        values: dict[int, dict[str, str]] = {}
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
            values.setdefault(ours, {})[key] = value
            if key not in owned:
                owned.add(key)
                self.result.playerData += 1
        for ours, data in values.items():
            self.store.setPlayerDataMany(ours, data)

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
            groupA, groupB, groupC, groupD, groupE = cast("list[int]", numbers)
            self.store.saveGalaxyAtWar(
                GalaxyAtWar(ours, modified, groupA, groupB, groupC, groupD, groupE)
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
            if board is None or board not in (
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
            self.store.setLeaderboardValue(board, ours, value)
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
        for stored, createdAt, finishedAt in self.store.gameReportTexts():
            present.setdefault((createdAt, finishedAt), []).append(stored)
        for number, (rawData, rawCreated, rawFinished) in enumerate(rows, start=1):
            report = self._report(number, rawData)
            if report is None:
                continue
            data, text = report
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
            self.store.addGameReport(data, created, finished)
            same.append(text)
            self.result.gameReports += 1

    def _report(
        self, number: int, rawData: object
    ) -> tuple[dict[str, Any], str] | None:
        """
        A report, checked and with the Rust player ids rewritten to ours,
        and its JSON as stored, or L{None} (after a warning).
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
        return data, out


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
    ratings and leaderboard values are replaced and its earlier login
    tokens revoked).  A game report already
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
            importer = _Importer(
                reader, DirectStore(db), int(now), replace, result, counted
            )
            db.execute("BEGIN IMMEDIATE")
            try:
                importer.run()
                db.execute("ROLLBACK" if dryRun else "COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except (sqlite3.Error, StoreError) as e:
            raise AdminError(f"import failed, nothing was imported: {e}")
        finally:
            db.close()
    finally:
        source.close()
    result.warnings = warnings
    return result



def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH")
    parser.add_argument(
        "--replace",
        action="store_true",
        help="overwrite accounts whose email already exists, revoking their "
        "login tokens (default: skip them)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        dest="dryRun",
        help="report what would be imported, write nothing",
    )


def _run(invocation: Invocation) -> int:
    args, console = invocation.args, invocation.console
    imported = importRust(
        args.path,
        invocation.databasePath,
        invocation.now,
        replace=args.replace,
        dryRun=args.dryRun,
        warn=console.warn,
    )
    console.finish()
    console.say(imported.describe())
    return 0


#: C{pocketrelay-admin import-rust}.
COMMAND: Final = Command(
    "import-rust",
    help="import a Rust Pocket Relay data directory or app.db",
    description="Copy players, player data, Galaxy at War, leaderboards "
    "and game reports from a Rust Pocket Relay database, in one transaction.",
    run=_run,
    arguments=_arguments,
)
