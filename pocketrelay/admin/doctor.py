# -*- test-case-name: tests.test_doctor -*-
"""
C{pocketrelay-admin doctor URL [--json] ...}: check a server from outside,
the way a player's client reaches it (see C{docs/operations.md}).

The checks, their report and the command's own options are
L{pocketrelay.doctor}'s; this module makes them a subcommand.  The doctor
needs no database: C{--config} and C{--data-dir} are accepted, as by
every subcommand, and do not change what it checks.

Exit status: 0 when everything play needs passed, 1 when something it
needs failed, 2 for a bad command line (as for every subcommand).
"""

from __future__ import annotations

import functools
from typing import Any, Final

from pocketrelay.admin.command import Command, Invocation
from pocketrelay.doctor.cli import DESCRIPTION, addArguments, runParsed

__all__ = ["COMMAND", "doctorCommand"]


def _run(invocation: Invocation, reactor: Any) -> int:
    console = invocation.console
    return runParsed(invocation.args, console.stdout, console.stderr, reactor)


def doctorCommand(reactor: Any = None) -> Command:
    """
    The C{doctor} subcommand.

    @param reactor: runs the checks; default the global reactor, run
        until the report is printed.
    """
    return Command(
        "doctor",
        help="check a server from outside, as a player's client reaches it "
        "(docs/operations.md)",
        description=DESCRIPTION,
        run=functools.partial(_run, reactor=reactor),
        arguments=addArguments,
    )


#: C{pocketrelay-admin doctor}.
COMMAND: Final = doctorCommand()
