# -*- test-case-name: tests.test_gamedatacommand -*-
"""
C{pocketrelay-admin game-data}: install, inspect and convert the game data
(see C{docs/game-data.md}).

    pocketrelay-admin game-data install [--from SOURCE] [--data-dir DIR]
                                        [--if-missing] [--force]
                                        [--timeout SECONDS]
                                        [--answer-deadline SECONDS]
    pocketrelay-admin game-data status [--data-dir DIR]
    pocketrelay-admin game-data compile coalesced IN.json OUT.bin
    pocketrelay-admin game-data decompile coalesced IN.bin OUT.json
    pocketrelay-admin game-data compile tlk IN.json OUT.tlk
    pocketrelay-admin game-data decompile tlk IN.tlk OUT.json

The data directory is the one every C{pocketrelay-admin} command uses
(C{--data-dir}, else the server's C{data_dir} setting).  Installing and
describing the data is L{pocketrelay.server.gamedatainstall}'s job; this
module parses the command line, runs the reactor for a download and
prints.
"""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable
from typing import Any, Final

from twisted.internet import defer
from twisted.python.failure import Failure

from pocketrelay.admin.command import Command, Invocation, addWhereOptions
from pocketrelay.admin.database import AdminError
from pocketrelay.files import writeAtomically
from pocketrelay.server.gamedata import INSTALL_COMMAND, MAX_FILE_SIZE
from pocketrelay.server.gamedatainstall import (
    DEFAULT_TIMEOUT,
    AgentFetcher,
    AnswerDeadline,
    IFetcher,
    InstallError,
    InstallResult,
    gameDataStatus,
    installGameData,
)

__all__ = ["COMMAND", "MAX_INPUT_SIZE", "convert", "gameDataCommand"]

#: The largest input file compile and decompile read, in bytes: the largest
#: the codecs accept (L{pocketrelay.server.gamedata.MAX_FILE_SIZE}).
MAX_INPUT_SIZE: Final = MAX_FILE_SIZE


def _arguments(parser: argparse.ArgumentParser) -> None:
    """
    The subcommands of C{game-data} and their arguments.
    """
    actions = parser.add_subparsers(dest="action", metavar="COMMAND", required=True)
    install = actions.add_parser(
        "install",
        help="install the coalesced, talk files, entitlements, store and images",
        description="Install the game data into the data directory, all or nothing. "
        "Without --from, the Rust Pocket Relay server's files at a pinned commit "
        "are downloaded from GitHub, each checked against its pinned SHA-256.",
    )
    addWhereOptions(install)
    install.add_argument(
        "--from",
        dest="source",
        metavar="SOURCE",
        help="a directory (Rust or Kotlin server checkout, src/resources, or the "
        "files directly), a .zip or .tar.gz of one, or an https:// base URL",
    )
    mode = install.add_mutually_exclusive_group()
    mode.add_argument(
        "--if-missing",
        action="store_true",
        dest="ifMissing",
        help="do nothing when the data is complete; else add only what is absent",
    )
    mode.add_argument(
        "--force", action="store_true", help="replace installed files that differ"
    )
    install.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"give up a download after this long without progress "
        f"[default: {DEFAULT_TIMEOUT:g}]",
    )
    install.add_argument(
        "--answer-deadline",
        type=float,
        default=None,
        dest="answerDeadline",
        metavar="SECONDS",
        help="give up when no file has arrived this long after the first download "
        "started (an unreachable or silent source), whatever --timeout says",
    )
    status = actions.add_parser(
        "status",
        help="what the game gets for each config id, and what is missing",
        description="Read and check every game-data file; exit status 0 when "
        "the data is complete and usable, 1 otherwise.",
    )
    addWhereOptions(status)
    for verb, inputName, outputName in (
        ("compile", "IN.json", "OUT"),
        ("decompile", "IN", "OUT.json"),
    ):
        convertParser = actions.add_parser(
            verb,
            help=f"{verb} a coalesced or talk file "
            + ("from JSON" if verb == "compile" else "to JSON"),
            description=(
                "Write the binary form (coalesced: the game's mrmf; tlk: a talk "
                "file) of a JSON file."
                if verb == "compile"
                else "Write the JSON form of a binary coalesced (raw or NIBC) or "
                "talk file."
            ),
        )
        convertParser.add_argument(
            "kind", choices=("coalesced", "tlk"), metavar="KIND", help="coalesced or tlk"
        )
        convertParser.add_argument("input", metavar=inputName)
        convertParser.add_argument("output", metavar=outputName)


def _wait(d: defer.Deferred[InstallResult], reactor: Any) -> InstallResult:
    """
    The result of C{d}, running C{reactor} until it fires if needed.
    """
    outcome: list[InstallResult | Failure] = []
    d.addBoth(outcome.append)
    if not outcome:
        d.addBoth(lambda _: reactor.stop())
        reactor.run()
    if not outcome:
        raise InstallError("interrupted")
    result = outcome[0]
    if isinstance(result, Failure):
        result.raiseException()
    assert isinstance(result, InstallResult)
    return result


def _resolveInDaemonThreads(reactor: Any) -> None:
    """
    Resolve host names in daemon threads that the reactor does not join
    when it stops, so a name lookup stuck without a network cannot keep
    the command running past its timeout.
    """
    from threading import Thread

    from twisted.internet._resolver import GAIResolver  # no public equivalent
    from twisted.python.threadpool import ThreadPool

    class DaemonThreadPool(ThreadPool):
        @staticmethod
        def threadFactory(*args: Any, **kwargs: Any) -> Thread:  # type: ignore[override]
            return Thread(*args, daemon=True, **kwargs)

    pool = DaemonThreadPool(0, 4, name="pocketrelay-resolver")
    pool.start()
    reactor.installNameResolver(GAIResolver(reactor, getThreadPool=lambda: pool))


def _install(
    args: argparse.Namespace,
    dataDir: str,
    say: Callable[[str], None],
    reactor: Any,
    fetcher: IFetcher | None,
) -> int:
    if fetcher is None:
        if reactor is None:
            from twisted.internet import reactor as defaultReactor

            reactor = defaultReactor
            _resolveInDaemonThreads(reactor)
        fetcher = AgentFetcher(reactor, timeout=args.timeout)
    if args.answerDeadline is not None and reactor is not None:
        fetcher = AnswerDeadline(fetcher, reactor, args.answerDeadline)
    if args.source is None and not args.ifMissing:
        say("Downloading the Rust Pocket Relay server's game data (pinned commit)")
    result = _wait(
        installGameData(
            dataDir,
            args.source,
            ifMissing=args.ifMissing,
            force=args.force,
            fetcher=fetcher,
            progress=say,
        ),
        reactor,
    )
    say(result.describe())
    return 0


def _status(dataDir: str, say: Callable[[str], None]) -> int:
    lines, missing = gameDataStatus(dataDir)
    say(f"Game data in {dataDir}:")
    width = max(len(line.what) for line in lines)
    for line in lines:
        say(f"  {line.what:<{width}}  {line.description}")
    unusable = [
        line.what
        for line in lines
        if "UNUSABLE" in line.description or "cannot read" in line.description
    ]
    if missing:
        say("Missing: " + ", ".join(missing))
        say(f"Install with: {INSTALL_COMMAND} --data-dir {dataDir}")
    elif unusable:
        say("Unusable files for: " + ", ".join(unusable))
    else:
        say("Complete.")
    return 1 if missing or unusable else 0


def _readInput(path: str) -> bytes:
    size = os.path.getsize(path)
    if size > MAX_INPUT_SIZE:
        raise InstallError(f"{path} is {size} bytes, more than the limit of {MAX_INPUT_SIZE}")
    with open(path, "rb") as f:
        return f.read(MAX_INPUT_SIZE + 1)


def convert(verb: str, kind: str, data: bytes) -> bytes:
    """
    Compile (JSON to binary) or decompile (binary to JSON) a coalesced or
    talk file.

    @param verb: C{"compile"} or C{"decompile"}.
    @param kind: C{"coalesced"} or C{"tlk"}.
    @raise ValueError: for input the codec refuses.
    """
    if kind == "coalesced":
        from pocketrelay.me3 import coalesced
        from pocketrelay.me3.chunking import decompressCoalesced, isCompressedCoalesced

        if verb == "compile":
            return coalesced.serializeBinary(coalesced.parseJson(data))
        if isCompressedCoalesced(data):
            data = decompressCoalesced(data)
        return coalesced.serializeJson(coalesced.parseBinary(data))
    from pocketrelay.me3 import tlk

    if verb == "compile":
        return tlk.serializeTlk(tlk.tlkFromJson(data))
    return tlk.tlkToJson(tlk.parseTlk(data))


def _convert(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    data = _readInput(args.input)
    try:
        output = convert(args.action, args.kind, data)
    except ValueError as e:
        raise InstallError(f"{args.input}: {e}")
    writeAtomically(args.output, output)
    say(f"Wrote {args.output} ({len(output)} bytes) from {args.input} ({len(data)} bytes)")
    return 0


def _run(invocation: Invocation, reactor: Any, fetcher: IFetcher | None) -> int:
    """
    Run C{game-data}; an L{InstallError} becomes an L{AdminError} (one
    line and exit status 1), which after C{--if-missing} says how to
    install the data later.
    """
    args = invocation.args
    console = invocation.console

    def say(line: str) -> None:
        console.say(line)
        console.stdout.flush()

    try:
        if args.action in ("compile", "decompile"):
            return _convert(args, say)
        dataDir = str(invocation.settings["data_dir"])
        if args.action == "status":
            return _status(dataDir, say)
        return _install(args, dataDir, say, reactor, fetcher)
    except InstallError as e:
        if getattr(args, "ifMissing", False):
            raise AdminError(
                f"the game data was not installed ({e}); the server works without "
                f"it but the game may not be playable. Install it later with: "
                f"{INSTALL_COMMAND}"
            ) from e
        raise AdminError(str(e)) from e


def gameDataCommand(reactor: Any = None, fetcher: IFetcher | None = None) -> Command:
    """
    The C{game-data} subcommand.

    @param reactor: runs downloads; default the global reactor, which is
        run (and stopped) only if a download is needed.
    @param fetcher: downloads files; default an L{AgentFetcher}.
    """
    return Command(
        "game-data",
        help="install, inspect and convert the game data (game-data --help)",
        description="Install, inspect and convert the game data the server sends "
        "to Mass Effect 3.",
        run=functools.partial(_run, reactor=reactor, fetcher=fetcher),
        arguments=_arguments,
    )


#: C{pocketrelay-admin game-data}.
COMMAND: Final = gameDataCommand()
