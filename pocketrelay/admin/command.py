# -*- test-case-name: tests.test_admin -*-
"""
What a C{pocketrelay-admin} subcommand is: its L{Command} entry (name,
help, arguments and the function that runs it) and the L{Invocation} that
function receives.  The subcommands are listed in
L{pocketrelay.admin.cli.COMMANDS}.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import IO, Final

import attrs

from pocketrelay.server.config import Settings
from pocketrelay.server.security import PasswordHasher

__all__ = ["PROGRAM", "Command", "Console", "Invocation", "addWhereOptions"]

#: The program's name, at the start of its error and warning lines.
PROGRAM: Final = "pocketrelay-admin"

#: Most warning lines printed; further ones are only counted.
_MAX_WARNINGS_SHOWN = 100


@attrs.define
class Console:
    """
    The streams of one run and the warning printer.
    """

    stdout: IO[str]
    stderr: IO[str]
    stdin: IO[str]
    shown: int = 0
    hidden: int = 0

    def say(self, line: str) -> None:
        """
        Write one line of output.
        """
        self.stdout.write(line + "\n")

    def warn(self, message: str) -> None:
        """
        Write one warning line, or only count it past the first
        L{_MAX_WARNINGS_SHOWN}.
        """
        if self.shown >= _MAX_WARNINGS_SHOWN:
            self.hidden += 1
            return
        self.shown += 1
        self.stderr.write(f"{PROGRAM}: warning: {message}\n")

    def finish(self) -> None:
        """
        Say how many warnings were counted but not shown.
        """
        if self.hidden:
            self.stderr.write(
                f"{PROGRAM}: warning: {self.hidden} more warnings not shown\n"
            )
            self.hidden = 0


@attrs.frozen
class Invocation:
    """
    One run of a subcommand.

    @ivar args: the parsed command line.
    @ivar console: where the subcommand writes its output and warnings.
    @ivar settings: the server's settings (configuration file,
        C{POCKETRELAY_*} environment variables, C{--data-dir}).
    @ivar databasePath: the server's database, C{app.db} in its data
        directory.
    @ivar hasher: hashes new passwords.
    @ivar now: the current Unix time.
    """

    args: argparse.Namespace
    console: Console
    settings: Settings
    databasePath: str
    hasher: PasswordHasher
    now: float


def addWhereOptions(parser: argparse.ArgumentParser) -> None:
    """
    Add the options every subcommand takes, which say where the server's
    data is: C{--config FILE} and C{--data-dir DIR}.  They are left out of
    the parsed namespace unless given, so they may come before or after
    the subcommand (and its own subcommand, as C{game-data install}'s).
    """
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="the server's configuration file (TOML), read for data_dir",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        dest="dataDir",
        default=argparse.SUPPRESS,
        help="the data directory [default: the server's data_dir setting]",
    )


def _noArguments(parser: argparse.ArgumentParser) -> None:
    """
    For a subcommand that takes no argument of its own.
    """


@attrs.frozen
class Command:
    """
    One subcommand of C{pocketrelay-admin}.

    @ivar name: the word that selects it on the command line.
    @ivar help: its line in the list of subcommands.
    @ivar description: the text of its own C{--help}.
    @ivar run: runs it: returns the exit status, or raises
        L{pocketrelay.admin.database.AdminError} for an expected problem.
    @ivar arguments: adds its own arguments to its parser (the common
        C{--config} and C{--data-dir} are added for it).
    """

    name: str
    help: str
    description: str
    run: Callable[[Invocation], int]
    arguments: Callable[[argparse.ArgumentParser], None] = _noArguments
