# -*- test-case-name: tests.test_admin -*-
"""
C{pocketrelay-admin super-admin}: make an account a super admin, creating
it if missing, optionally setting its password and name.  Safe while the
server runs.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sqlite3
from typing import Final, TextIO, cast

import attrs

from pocketrelay.admin.command import Command, Console, Invocation
from pocketrelay.admin.database import AdminError, _openForWrite, _sqliteError
from pocketrelay.server.security import PasswordHasher, revocationExpiry
from pocketrelay.server.store import (
    MAX_DISPLAY_NAME_LENGTH,
    DirectStore,
    PlayerRole,
    StoreError,
)
from pocketrelay.server.store.emails import checkedEmail

__all__ = ["COMMAND", "MAX_PASSWORD_LENGTH", "SuperAdminResult", "setSuperAdmin"]

#: Longest password accepted, in characters (the dashboard's limit).
MAX_PASSWORD_LENGTH: Final = 256


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
    given, checked = email, checkedEmail(email)
    if checked is None:
        raise AdminError(f"{given.strip()!r} is not a valid email address")
    email = checked
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
    store = DirectStore(connection)
    try:
        if store.getPlayerByEmail(email) is None and password is None:
            raise AdminError(
                f"no account with email {email}; give a password "
                f"(--password-stdin) to create it"
            )
        # Hash before taking the write lock: it takes tens of milliseconds.
        passwordHash = hasher.hashPassword(password) if password is not None else None
        connection.execute("BEGIN IMMEDIATE")
        try:
            player = store.getPlayerByEmail(email)
            if player is None:
                if passwordHash is None:
                    raise AdminError(f"account {email} was deleted meanwhile")
                displayName = name or email.split("@", 1)[0][:MAX_DISPLAY_NAME_LENGTH]
                player = store.createPlayer(
                    email, displayName, passwordHash, PlayerRole.SUPER_ADMIN, int(now)
                )
                created = True
            else:
                # A new password or a new role revokes the account's
                # earlier tokens, as in the dashboard.
                revokes = (
                    passwordHash is not None
                    or player.role != PlayerRole.SUPER_ADMIN
                )
                promoted = store.updatePlayer(
                    player.id,
                    displayName=name,
                    passwordHash=passwordHash,
                    role=PlayerRole.SUPER_ADMIN,
                    tokenMinExpiry=revocationExpiry(now) if revokes else None,
                )
                assert promoted is not None
                player, created = promoted, False
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return SuperAdminResult(
            player.id,
            player.email,
            player.displayName,
            created,
            created or passwordHash is not None,
        )
    except sqlite3.Error as e:
        raise _sqliteError(databasePath, e)
    except StoreError as e:
        raise AdminError(f"{databasePath}: {e}")
    finally:
        connection.close()


def _checkPassword(password: str) -> None:
    if not password:
        raise AdminError("the password must not be empty")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AdminError(
            f"the password is longer than {MAX_PASSWORD_LENGTH} characters"
        )



def _readPassword(console: Console) -> str:
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



def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email", metavar="EMAIL")
    source = parser.add_mutually_exclusive_group()
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
    parser.add_argument("--name", metavar="NAME", help="display name to set")


def _run(invocation: Invocation) -> int:
    args, console = invocation.args, invocation.console
    password = args.password
    if password is not None:
        console.warn(
            "--password is visible to other users in the process list; "
            "prefer --password-stdin"
        )
    elif args.passwordStdin:
        password = _readPassword(console)
    outcome = setSuperAdmin(
        invocation.databasePath,
        args.email,
        password,
        args.name,
        invocation.hasher,
        invocation.now,
    )
    verb = "Created" if outcome.created else "Promoted"
    note = (
        " and set its password" if outcome.passwordSet and not outcome.created else ""
    )
    console.say(
        f"{verb} super admin {outcome.email} ({outcome.displayName!r}, "
        f"id {outcome.playerId}){note} in {invocation.databasePath}"
    )
    return 0


#: C{pocketrelay-admin super-admin}.
COMMAND: Final = Command(
    "super-admin",
    help="create or promote a super admin account",
    description="Make EMAIL a super admin, creating the account if missing "
    "(a password is then required), optionally setting its password.",
    run=_run,
    arguments=_arguments,
)
