# -*- test-case-name: tests.test_doctor -*-
"""
C{pocketrelay-admin doctor URL [--json]}: run the checks of
L{pocketrelay.doctor.checks} and print the checklist (or JSON).

Exit status: 0 when everything play needs passed, 1 when something it
needs failed, 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import IO, Any, NoReturn

from twisted.internet import defer

from pocketrelay.client.discovery import BadServerURL, TLSConfigError, _checkCAFile
from pocketrelay.doctor.checks import Settings, runChecks

__all__ = [
    "DESCRIPTION",
    "addArguments",
    "checkSettings",
    "main",
    "parseArguments",
    "run",
    "runParsed",
]

PROGRAM = "pocketrelay-admin doctor"


#: What the command does, for its C{--help}.
DESCRIPTION = (
    "Check a Pocket Relay server from here, the way a player's client reaches it: "
    "name resolution, TCP, TLS and certificate, /api/server, the Blaze upgrade and "
    "Blaze through it, the UDP and HTTP tunnels, Galaxy at War, QoS, content, "
    "telemetry and the server's health. Every failure is explained in one sentence "
    "with its fix. Exit status 0 when everything play needs passed."
)


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.format_usage()}{self.prog}: error: {message}\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _UsageError(message or "")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 3600 seconds")
    return value


def addArguments(parser: argparse.ArgumentParser) -> None:
    """
    Add doctor's arguments to C{parser} (also used by
    C{pocketrelay-admin}'s own parser for its C{doctor} subcommand).
    """
    parser.add_argument("url", metavar="URL", help="the server URL players use")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--ca-file", dest="caFile", metavar="PEM",
                        help="extra trusted certificate authorities, as the client's --ca-file")
    parser.add_argument("--timeout", type=_positive, default=5.0, metavar="SECONDS",
                        help="seconds for each connection and each answer [default: 5]")
    parser.add_argument("--udp-timeout", dest="udpTimeout", type=_positive, default=3.0,
                        metavar="SECONDS",
                        help="seconds for the UDP tunnel to answer [default: 3]")
    parser.add_argument("--idle", type=_positive, default=None, metavar="SECONDS",
                        help="also keep the game connection silent this long, then ping, "
                        "and fail if it was closed (checks a proxy's read timeout; --idle 65 "
                        "for nginx's default 60 s). Like the game loading a level, doctor "
                        "first asks the server for 90 s more than its limits.idle_timeout")


def parseArguments(argv: Sequence[str]) -> tuple[argparse.Namespace, Settings]:
    """
    Parse the command line into the options and the check L{Settings}.

    @raise _UsageError: with the message for a bad command line (or the
        help text, for C{--help}).
    """
    parser = _HelpParser(prog=PROGRAM, description=DESCRIPTION)
    addArguments(parser)
    args = parser.parse_args(list(argv))
    return args, checkSettings(args)


def checkSettings(args: argparse.Namespace) -> Settings:
    """
    The check L{Settings} of options parsed with L{addArguments}.

    @raise _UsageError: when the C{--ca-file} is not a usable PEM file.
    """
    if args.caFile is not None:
        try:
            _checkCAFile(args.caFile)
        except TLSConfigError as e:
            raise _UsageError(f"{PROGRAM}: {e}\n") from None
    return Settings(
        connectTimeout=args.timeout,
        replyTimeout=args.timeout,
        udpTimeout=args.udpTimeout,
        idle=args.idle or 0.0,
        caFile=args.caFile,
    )


def _usage(error: _UsageError, stdout: IO[str], stderr: IO[str]) -> int:
    text = str(error)
    if "error:" in text or not text.startswith("usage:"):
        stderr.write(text)
        return 2
    stdout.write(text)
    return 0


class _HelpParser(_Parser):
    def print_help(self, file: Any = None) -> None:
        raise _UsageError(self.format_help())


def run(reactor: Any, argv: Sequence[str], stdout: IO[str], stderr: IO[str]) -> Any:
    """
    Run the command on C{reactor}.

    @return: a L{Deferred} firing with the exit status.
    """
    try:
        args, settings = parseArguments(argv)
    except _UsageError as e:
        return defer.succeed(_usage(e, stdout, stderr))
    return _check(reactor, args, settings, stdout, stderr)


@defer.inlineCallbacks
def _check(
    reactor: Any, args: argparse.Namespace, settings: Settings, stdout: IO[str], stderr: IO[str]
) -> Any:
    """
    Run the checks on C{reactor} and print the report.

    @return: a L{Deferred} firing with the exit status.
    """
    try:
        report = yield runChecks(reactor, args.url, settings)
    except BadServerURL as e:
        stderr.write(f"{PROGRAM}: {e}\n")
        return 2
    stdout.write(report.renderJSON() if args.json else report.render())
    return report.exitCode


def runParsed(
    args: argparse.Namespace, stdout: IO[str], stderr: IO[str], reactor: Any = None
) -> int:
    """
    Run the command with options parsed by L{addArguments}, running
    C{reactor} until the report is printed (a bad C{--ca-file} is
    answered without it).  C{pocketrelay-admin}'s C{doctor} subcommand
    (L{pocketrelay.admin.doctor}) comes here.

    @param reactor: default: the global reactor.
    @return: the exit status.
    """
    try:
        settings = checkSettings(args)
    except _UsageError as e:
        return _usage(e, stdout, stderr)
    if reactor is None:
        from twisted.internet import reactor as globalReactor

        reactor = globalReactor
    status: list[int] = []

    def done(result: Any) -> None:
        status.append(result if isinstance(result, int) else 1)
        if not isinstance(result, int):
            stderr.write(f"{PROGRAM}: {result.getErrorMessage()}\n")
        reactor.stop()

    def start() -> None:
        _check(reactor, args, settings, stdout, stderr).addBoth(done)

    reactor.callWhenRunning(start)
    reactor.run()
    return status[0] if status else 1


def main(
    argv: Sequence[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """
    Run the doctor on the global reactor (a bad command line or C{--help}
    is answered without it).

    @param argv: the arguments after C{doctor}.
    @return: the exit status.
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    arguments = list(sys.argv[2:] if argv is None else argv)
    try:
        args, _ = parseArguments(arguments)
    except _UsageError as e:
        return _usage(e, out, err)
    return runParsed(args, out, err)
