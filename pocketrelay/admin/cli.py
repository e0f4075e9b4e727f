# -*- test-case-name: tests.test_admin -*-
"""
The C{pocketrelay-admin} command line: common options, the table of
subcommands (L{COMMANDS}) and L{main}, which parses, finds the database
and runs one subcommand, reporting every expected problem as one line.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any, Final, NoReturn

from pocketrelay.admin import backup, doctor, gamedata, rustimport, stats, superadmin
from pocketrelay.admin.command import (
    PROGRAM,
    Command,
    Console,
    Invocation,
    addWhereOptions,
)
from pocketrelay.admin.database import DATABASE_NAME, AdminError
from pocketrelay.server.config import ConfigError, loadSettings
from pocketrelay.server.security import PasswordHasher

__all__ = ["COMMANDS", "main"]

#: The subcommands, in the order C{--help} lists them.  A new subcommand
#: is a module with a L{Command} entry, added here in one line.
COMMANDS: Final[tuple[Command, ...]] = (
    superadmin.COMMAND,
    backup.BACKUP,
    backup.RESTORE,
    rustimport.COMMAND,
    stats.COMMAND,
    gamedata.COMMAND,
    doctor.COMMAND,
)


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


def _parser(commands: Sequence[Command] | None = None) -> _Parser:
    common = _Parser(add_help=False)
    addWhereOptions(common)
    parser = _Parser(
        prog=PROGRAM,
        parents=[common],
        description="Maintenance of a pocketrelay server's database (app.db).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS if commands is None else commands:
        subparser = subparsers.add_parser(
            command.name,
            parents=[common],
            help=command.help,
            description=command.description,
        )
        command.arguments(subparser)
    return parser


def main(
    argv: Sequence[str] | None = None,
    stdout: IO[str] | None = None,
    stdin: IO[str] | None = None,
    stderr: IO[str] | None = None,
    environ: Mapping[str, str] | None = None,
    hasher: PasswordHasher | None = None,
    clock: Callable[[], float] | None = None,
    commands: Sequence[Command] | None = None,
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
    @param commands: the subcommands; default L{COMMANDS}.
    @return: the exit status: 0 on success, 1 for an error, 2 for a usage
        error.
    """
    console = Console(
        stdout if stdout is not None else sys.stdout,
        stderr if stderr is not None else sys.stderr,
        stdin if stdin is not None else sys.stdin,
    )
    if commands is None:
        commands = COMMANDS
    try:
        args = _parser(commands).parse_args(argv)
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
        invocation = Invocation(
            args,
            console,
            settings,
            databasePath,
            hasher if hasher is not None else PasswordHasher(),
            (clock or time.time)(),
        )
        (command,) = (c for c in commands if c.name == args.command)
        return command.run(invocation)
    except (AdminError, ConfigError) as e:
        console.finish()
        console.stderr.write(f"{PROGRAM}: {e}\n")
        return 1
    except sqlite3.Error as e:
        console.finish()
        console.stderr.write(f"{PROGRAM}: database error: {e}\n")
        return 1
    except OSError as e:
        console.finish()
        where = f"{e.filename}: " if e.filename else ""
        console.stderr.write(f"{PROGRAM}: {where}{e.strerror or e}\n")
        return 1
    except KeyboardInterrupt:
        console.stderr.write(f"{PROGRAM}: interrupted\n")
        return 130
    finally:
        console.finish()
