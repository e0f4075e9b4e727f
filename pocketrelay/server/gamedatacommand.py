# -*- test-case-name: tests.test_gamedatacommand -*-
"""
C{pocketrelay-admin game-data}: install, inspect and convert the game data
(see C{docs/game-data.md}).

    pocketrelay-admin game-data install [--from SOURCE] [--data-dir DIR]
                                        [--if-missing] [--force]
                                        [--timeout SECONDS]
    pocketrelay-admin game-data status [--data-dir DIR]
    pocketrelay-admin game-data compile coalesced IN.json OUT.bin
    pocketrelay-admin game-data decompile coalesced IN.bin OUT.json
    pocketrelay-admin game-data compile tlk IN.json OUT.tlk
    pocketrelay-admin game-data decompile tlk IN.tlk OUT.json

The data directory is found as the server finds it (C{--config FILE},
C{POCKETRELAY_DATA_DIR}, default C{./data}) unless C{--data-dir} names it.
L{main} is called by L{pocketrelay.admin.main} for the C{game-data}
command.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any, NoReturn

from twisted.internet import defer
from twisted.python.failure import Failure

from pocketrelay.server.gamedata import INSTALL_COMMAND
from pocketrelay.server.gamedatainstall import (
    DEFAULT_TIMEOUT,
    AgentFetcher,
    IFetcher,
    InstallError,
    InstallResult,
    gameDataStatus,
    installGameData,
)

__all__ = ["main"]

_PROGRAM = "pocketrelay-admin game-data"
#: The largest input file compile and decompile read, in bytes.
MAX_INPUT_SIZE = 64 * 1024 * 1024


class _UsageError(Exception):
    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.usage = usage


class _HelpShown(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """
    Raises instead of printing and exiting, so L{main} reports to its own
    streams.
    """

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: error: {message}", self.format_usage())

    def print_help(self, file: Any = None) -> None:
        raise _HelpShown(self.format_help())

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _UsageError(message or "", self.format_usage())


#: The options of C{pocketrelay-admin} that may come before C{game-data}.
_GLOBAL_OPTIONS = ("--config", "--data-dir")


def commandArguments(arguments: Sequence[str]) -> list[str] | None:
    """
    The arguments for L{main} if C{arguments} (a C{pocketrelay-admin}
    command line) runs C{game-data}: the words after C{game-data}, preceded
    by the global C{--config}/C{--data-dir} options given before it.

    @return: L{None} if the command is not C{game-data}.
    """
    leading: list[str] = []
    index = 0
    while index < len(arguments):
        word = arguments[index]
        if word in _GLOBAL_OPTIONS and index + 1 < len(arguments):
            leading += arguments[index : index + 2]
            index += 2
        elif word.split("=", 1)[0] in _GLOBAL_OPTIONS and "=" in word:
            leading.append(word)
            index += 1
        elif word == "game-data":
            return [*leading, *arguments[index + 1 :]]
        else:
            return None
    return None


def _whereOptions(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="the server's configuration file, read for data_dir",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        dest="dataDir",
        default=argparse.SUPPRESS,
        help="the data directory [default: the server's data_dir setting]",
    )


def _parser() -> _Parser:
    where = _Parser(add_help=False)
    _whereOptions(where)
    parser = _Parser(
        prog=_PROGRAM,
        description="Install, inspect and convert the game data the server sends "
        "to Mass Effect 3.",
    )
    _whereOptions(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    install = commands.add_parser(
        "install",
        parents=[where],
        help="install the coalesced, talk files, entitlements, store and images",
        description="Install the game data into the data directory, all or nothing. "
        "Without --from, the Rust Pocket Relay server's files at a pinned commit "
        "are downloaded from GitHub, each checked against its pinned SHA-256.",
    )
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
    commands.add_parser(
        "status",
        parents=[where],
        help="what the game gets for each config id, and what is missing",
        description="Read and check every game-data file; exit status 0 when "
        "the data is complete and usable, 1 otherwise.",
    )
    for verb, inputName, outputName in (
        ("compile", "IN.json", "OUT"),
        ("decompile", "IN", "OUT.json"),
    ):
        command = commands.add_parser(
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
        command.add_argument("kind", choices=("coalesced", "tlk"), metavar="KIND",
                             help="coalesced or tlk")
        command.add_argument("input", metavar=inputName)
        command.add_argument("output", metavar=outputName)
    return parser


def _dataDir(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    from pocketrelay.server.config import loadSettings

    dataDir = getattr(args, "dataDir", None)
    overrides = [("data_dir", dataDir)] if dataDir is not None else []
    settings = loadSettings(getattr(args, "config", None), environ, overrides)
    return str(settings["data_dir"])


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
    unusable = [line.what for line in lines if "UNUSABLE" in line.description
                or "cannot read" in line.description]
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


def _writeOutput(path: str, data: bytes) -> None:
    """
    Write C{data} to C{path} through a temporary file and a rename.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".game-data-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise


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
        output = convert(args.command, args.kind, data)
    except ValueError as e:
        raise InstallError(f"{args.input}: {e}")
    _writeOutput(args.output, output)
    say(f"Wrote {args.output} ({len(output)} bytes) from {args.input} ({len(data)} bytes)")
    return 0


def main(
    argv: Sequence[str],
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    environ: Mapping[str, str] | None = None,
    reactor: Any = None,
    fetcher: IFetcher | None = None,
) -> int:
    """
    Run C{pocketrelay-admin game-data}.

    @param argv: the arguments after C{game-data}.
    @param environ: where C{POCKETRELAY_*} settings come from; default
        C{os.environ}.
    @param reactor: runs downloads; default the global reactor, which is
        run (and stopped) only if a download is needed.
    @param fetcher: downloads files; default an L{AgentFetcher}.
    @return: 0 on success, 1 for an error (or, for C{status}, missing or
        unusable data), 2 for a usage error.
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr

    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    try:
        args = _parser().parse_args(argv)
    except _HelpShown as shown:
        out.write(str(shown))
        return 0
    except _UsageError as e:
        err.write(e.usage)
        if str(e):
            err.write(str(e).rstrip("\n") + "\n")
        return 2
    from pocketrelay.server.config import ConfigError

    try:
        if args.command in ("compile", "decompile"):
            return _convert(args, say)
        dataDir = _dataDir(args, os.environ if environ is None else environ)
        if args.command == "status":
            return _status(dataDir, say)
        return _install(args, dataDir, say, reactor, fetcher)
    except InstallError as e:
        if getattr(args, "ifMissing", False):
            err.write(
                f"{_PROGRAM}: the game data was not installed ({e}); the server "
                f"works without it but the game may not be playable. Install it "
                f"later with: {INSTALL_COMMAND}\n"
            )
        else:
            err.write(f"{_PROGRAM}: {e}\n")
        return 1
    except ConfigError as e:
        err.write(f"{_PROGRAM}: {e}\n")
        return 1
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        err.write(f"{_PROGRAM}: {where}{e.strerror or e}\n")
        return 1
    except KeyboardInterrupt:
        err.write(f"{_PROGRAM}: interrupted; nothing was changed\n")
        return 130
