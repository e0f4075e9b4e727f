# -*- test-case-name: tests.test_gamedatacommand -*-
"""
Tests for L{pocketrelay.admin.gamedata}: C{pocketrelay-admin
game-data} install, status, compile and decompile, through
L{pocketrelay.admin.main}.
"""

from __future__ import annotations

import io
import os
import socket
import stat
import subprocess
import sys
import time

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from pocketrelay import admin
from pocketrelay.admin import cli, gamedata
from pocketrelay.me3 import coalesced, tlk
from pocketrelay.me3.chunking import compressCoalesced
from pocketrelay.server.gamedatainstall import FetchError, IFetcher
from pocketrelay.testing.gamedata import (
    syntheticCoalesced,
    syntheticRepository,
    syntheticTalkFile,
    writeTree,
)


@implementer(IFetcher)
class Unreachable:
    """
    A fetcher for a machine without a connection.
    """

    def fetch(self, url: str, limit: int) -> defer.Deferred[bytes]:
        return defer.fail(FetchError(f"{url}: DNS lookup failed"))


class CommandTestCase(SynchronousTestCase):
    """
    Runs the command with captured output.
    """

    def setUp(self) -> None:
        self.base = os.path.abspath(self.mktemp())
        os.makedirs(self.base)
        self.dataDir = os.path.join(self.base, "data")

    def command(self, *argv: str, fetcher: IFetcher | None = None) -> tuple[int, str, str]:
        """
        Run C{pocketrelay-admin game-data ARGV}.

        @return: the exit status, standard output and standard error.
        """
        out, err = io.StringIO(), io.StringIO()
        commands = cli.COMMANDS if fetcher is None else (gamedata.gameDataCommand(
            fetcher=fetcher),)
        status = admin.main(["game-data", *argv], stdout=out, stderr=err, environ={},
                            commands=commands)
        return status, out.getvalue(), err.getvalue()

    def path(self, name: str) -> str:
        return os.path.join(self.base, name)

    def write(self, name: str, data: bytes) -> str:
        with open(self.path(name), "wb") as f:
            f.write(data)
        return self.path(name)

    def read(self, name: str) -> bytes:
        with open(self.path(name), "rb") as f:
            return f.read()


class InstallCommandTests(CommandTestCase):
    """
    C{game-data install}.
    """

    def test_fromDirectory(self) -> None:
        """
        Installing from a checkout prints a line per file and a summary and
        exits 0; C{status} then says complete.
        """
        source = writeTree(self.path("checkout"), syntheticRepository())
        status, out, err = self.command("install", "--from", source, "--data-dir", self.dataDir)
        self.assertEqual((status, err), (0, ""))
        lines = out.splitlines()
        self.assertEqual(len(lines), 15)
        self.assertIn("coalesced.json: read", out)
        self.assertEqual(lines[-1], f"Game data in {self.dataDir}: 14 installed")
        status, out, err = self.command("status", "--data-dir", self.dataDir)
        self.assertEqual(status, 0)
        self.assertEqual(out.splitlines()[-1], "Complete.")

    def test_dataDirFromEnvironment(self) -> None:
        """
        Without C{--data-dir} the server's C{data_dir} setting is used.
        """
        source = writeTree(self.path("checkout"), syntheticRepository())
        out, err = io.StringIO(), io.StringIO()
        status = admin.main(["game-data", "install", "--from", source], stdout=out,
                            stderr=err, environ={"POCKETRELAY_DATA_DIR": self.dataDir})
        self.assertEqual(status, 0, err.getvalue())
        self.assertTrue(os.path.isfile(os.path.join(self.dataDir, "coalesced.json")))

    def test_refused(self) -> None:
        """
        A refused installation exits 1 with one line on standard error.
        """
        status, _out, err = self.command("install", "--from", self.path("nothing"),
                                    "--data-dir", self.dataDir)
        self.assertEqual(status, 1)
        self.assertEqual(len(err.splitlines()), 1)
        self.assertIn("no such file or directory", err)

    def test_offlineIfMissing(self) -> None:
        """
        C{--if-missing} without a connection (what C{make run} does) exits 1
        with one line saying how to install later, and writes nothing.
        """
        status, out, err = self.command("install", "--if-missing", "--data-dir", self.dataDir,
                                    fetcher=Unreachable())
        self.assertEqual((status, out), (1, ""))
        self.assertEqual(len(err.splitlines()), 1)
        self.assertIn("DNS lookup failed", err)
        self.assertIn("Install it later with: pocketrelay-admin game-data install", err)
        self.assertFalse(os.path.exists(self.dataDir))

    def test_ifMissingComplete(self) -> None:
        """
        C{--if-missing} with complete data says so without downloading.
        """
        writeTree(self.path("checkout"), syntheticRepository())
        self.command("install", "--from", self.path("checkout"), "--data-dir", self.dataDir)
        status, out, err = self.command("install", "--if-missing", "--data-dir", self.dataDir,
                                    fetcher=Unreachable())
        self.assertEqual((status, err), (0, ""))
        self.assertIn("complete; nothing to do", out)

    def test_usage(self) -> None:
        """
        C{--if-missing} with C{--force}, or no command, is a usage error
        (2); C{--help} exits 0.
        """
        self.assertEqual(self.command("install", "--if-missing", "--force")[0], 2)
        self.assertEqual(self.command()[0], 2)
        status, out, _ = self.command("--help")
        self.assertEqual(status, 0)
        for command in ("install", "status", "compile", "decompile"):
            self.assertIn(command, out)

    def test_globalOptionsFirst(self) -> None:
        """
        C{pocketrelay-admin --data-dir DIR game-data ...} and
        C{pocketrelay-admin game-data --data-dir DIR status} work like the
        option after the last command.
        """
        source = writeTree(self.path("checkout"), syntheticRepository())
        out, err = io.StringIO(), io.StringIO()
        status = admin.main(["--data-dir", self.dataDir, "game-data", "install", "--from",
                             source], stdout=out, stderr=err, environ={})
        self.assertEqual(status, 0, err.getvalue())
        self.assertTrue(os.path.isfile(os.path.join(self.dataDir, "dime.xml")))
        out = io.StringIO()
        status = admin.main(["game-data", "--data-dir", self.dataDir, "status"],
                            stdout=out, stderr=io.StringIO(), environ={})
        self.assertEqual(status, 0)
        self.assertEqual(out.getvalue().splitlines()[0], f"Game data in {self.dataDir}:")

    def test_listedInAdminHelp(self) -> None:
        """
        C{pocketrelay-admin --help} lists the C{game-data} command.
        """
        out = io.StringIO()
        self.assertEqual(admin.main(["--help"], stdout=out, stderr=io.StringIO()), 0)
        self.assertIn("game-data", out.getvalue())

    def test_inCommandTable(self) -> None:
        """
        C{game-data} is an entry of the admin package's table of
        subcommands, not a special case before the parser.
        """
        self.assertIn(gamedata.COMMAND, cli.COMMANDS)
        self.assertEqual(gamedata.COMMAND.name, "game-data")

    def test_errorLine(self) -> None:
        """
        A refused command is one line on standard error in the form of
        every C{pocketrelay-admin} error.
        """
        status, _out, err = self.command("install", "--from", self.path("nothing"),
                                         "--data-dir", self.dataDir)
        self.assertEqual(status, 1)
        self.assertTrue(err.startswith("pocketrelay-admin: "), err)


class StatusCommandTests(CommandTestCase):
    """
    C{game-data status}.
    """

    def test_empty(self) -> None:
        """
        An empty data directory: each config id with its fallback, what is
        missing and the command to install it; exit status 1.
        """
        status, out, _err = self.command("status", "--data-dir", self.dataDir)
        self.assertEqual(status, 1)
        self.assertIn("ME3_BINI_PC_COMPRESSED", out)
        self.assertIn("built-in fallback (an empty map)", out)
        self.assertIn("Missing: coalesced.json, default.tlk, entitlements.dmap, dime.xml, "
                      "public/content/", out)
        self.assertIn(f"Install with: pocketrelay-admin game-data install --data-dir "
                      f"{self.dataDir}", out)


class ConvertCommandTests(CommandTestCase):
    """
    C{game-data compile} and C{decompile}.
    """

    def test_coalescedRoundTrip(self) -> None:
        """
        Compiling a C{coalesced.json} and decompiling the result gives the
        JSON of the same model back.
        """
        model = coalesced.canonical(syntheticCoalesced())
        source = self.write("in.json", coalesced.serializeJson(model))
        status, out, err = self.command("compile", "coalesced", source, self.path("out.bin"))
        self.assertEqual((status, err), (0, ""))
        self.assertIn("Wrote", out)
        self.assertEqual(coalesced.parseBinary(self.read("out.bin")), model)
        status, _, err = self.command("decompile", "coalesced", self.path("out.bin"),
                                  self.path("back.json"))
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(self.read("back.json"), coalesced.serializeJson(model))

    def test_decompileCompressed(self) -> None:
        """
        Decompiling accepts a compressed (C{NIBC}) coalesced.
        """
        model = syntheticCoalesced()
        self.write("in.bin", compressCoalesced(coalesced.serializeBinary(model)))
        status, _, err = self.command("decompile", "coalesced", self.path("in.bin"),
                                  self.path("out.json"))
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(coalesced.parseJson(self.read("out.json")),
                         coalesced.canonical(model))

    def test_talkFileRoundTrip(self) -> None:
        """
        Decompiling a talk file and compiling the JSON gives the same talk
        file.
        """
        original = syntheticTalkFile("fr")
        self.write("fr.tlk", original)
        self.assertEqual(self.command("decompile", "tlk", self.path("fr.tlk"),
                                  self.path("fr.json"))[0], 0)
        self.assertEqual(tlk.tlkFromJson(self.read("fr.json")), tlk.parseTlk(original))
        self.assertEqual(self.command("compile", "tlk", self.path("fr.json"),
                                  self.path("again.tlk"))[0], 0)
        self.assertEqual(tlk.parseTlk(self.read("again.tlk")), tlk.parseTlk(original))

    def test_outputPermissions(self) -> None:
        """
        A new output file gets the default permissions (C{0666} less the
        umask), not the C{0600} of the temporary file it is written
        through, so a server running as another user can read a compiled
        C{coalesced.bin}.
        """
        source = self.write("in.json", coalesced.serializeJson(syntheticCoalesced()))
        previous = os.umask(0o022)
        try:
            status, _, err = self.command("compile", "coalesced", source, self.path("out.bin"))
        finally:
            os.umask(previous)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(stat.S_IMODE(os.stat(self.path("out.bin")).st_mode), 0o644)

    def test_replacedFileKeepsPermissions(self) -> None:
        """
        Compiling over an existing file keeps that file's permissions.
        """
        source = self.write("in.json", coalesced.serializeJson(syntheticCoalesced()))
        target = self.write("out.bin", b"old")
        os.chmod(target, 0o640)
        status, _, err = self.command("compile", "coalesced", source, target)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(stat.S_IMODE(os.stat(target).st_mode), 0o640)
        self.assertNotEqual(self.read("out.bin"), b"old")

    def test_badInput(self) -> None:
        """
        Input the codec refuses exits 1 naming the file and the problem;
        no output file is left.
        """
        source = self.write("bad.json", b'{"version": 1}')
        status, _, err = self.command("compile", "coalesced", source, self.path("out.bin"))
        self.assertEqual(status, 1)
        self.assertIn("bad.json", err)
        self.assertFalse(os.path.exists(self.path("out.bin")))
        status, _, err = self.command("decompile", "tlk", source, self.path("out.json"))
        self.assertEqual(status, 1)
        self.assertEqual(sorted(os.listdir(self.base)), ["bad.json"])

    def test_missingInput(self) -> None:
        """
        A missing input file exits 1 naming it.
        """
        status, _, err = self.command("compile", "tlk", self.path("none.json"), self.path("x"))
        self.assertEqual(status, 1)
        self.assertIn("none.json", err)

    def test_unknownKind(self) -> None:
        """
        A kind other than C{coalesced} or C{tlk} is a usage error.
        """
        self.assertEqual(self.command("compile", "bini", "a", "b")[0], 2)


class MakefileTests(SynchronousTestCase):
    """
    C{make run} installs missing game data before starting the server.
    """

    def test_runInstallsFirst(self) -> None:
        """
        The C{run} target runs C{game-data install --if-missing} with a
        short timeout and a 6-second answer deadline (so an unreachable
        source ends well within ten seconds), ignoring its failure, before
        C{twistd}.
        """
        makefile = os.path.join(os.path.dirname(os.path.dirname(__file__)), "Makefile")
        with open(makefile, encoding="utf-8") as f:
            text = f.read()
        target = text.split("\nrun:", 1)[1].split("\n\n", 1)[0]
        lines = [line.strip() for line in target.splitlines()[1:]]
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[0].startswith(
            "-@$(BIN)/pocketrelay-admin game-data install --if-missing --timeout 8 "
            "--answer-deadline 6"))
        self.assertTrue(lines[1].startswith("$(BIN)/twistd"))


class _Backlog:
    """
    A loopback port that black-holes new connections: a listening socket
    with a backlog of one that is full and never accepted, so the kernel
    drops further connection attempts (SYNs go unanswered).
    """

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers: list[socket.socket] = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(filler)

    def close(self) -> None:
        for s in [*self.fillers, self.listener]:
            s.close()


class _Silent:
    """
    A loopback port that accepts connections (the kernel does, into the
    backlog) and never sends a byte.
    """

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]

    def close(self) -> None:
        self.listener.close()


class AnswerDeadlineCommandTests(SynchronousTestCase):
    """
    C{game-data install --if-missing --answer-deadline}, run as C{make run}
    runs it (a new process), against a source that never answers: it ends
    within the deadline with the one line saying how to install later.
    """

    def install(self, port: int) -> tuple[float, int, str, str]:
        """
        Run the install against C{http://127.0.0.1:PORT/} with a 30-second
        per-operation timeout and a 2-second answer deadline.

        @return: the seconds it took, the exit status, standard output and
            standard error.
        """
        dataDir = os.path.abspath(self.mktemp())
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=root)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pocketrelay.admin", "game-data", "install",
             "--if-missing", "--from", f"http://127.0.0.1:{port}/", "--data-dir", dataDir,
             "--timeout", "30", "--answer-deadline", "2"],
            capture_output=True, text=True, env=env, timeout=60, cwd=root,
        )
        elapsed = time.monotonic() - started
        self.assertFalse(os.path.exists(os.path.join(dataDir, "coalesced.json")))
        return elapsed, done.returncode, done.stdout, done.stderr

    def assertGaveUp(self, elapsed: float, status: int, out: str, err: str) -> None:
        self.assertEqual(status, 1, err)
        self.assertLess(elapsed, 2 + 4, "did not give up within the deadline")
        self.assertGreaterEqual(elapsed, 2)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("no answer within 2 s", err)
        self.assertIn("Install it later with: pocketrelay-admin game-data install", err)

    def test_silentSource(self) -> None:
        """
        A source that accepts the connection and never answers: the install
        gives up once the deadline passes, not after the 30-second timeout.
        """
        server = _Silent()
        self.addCleanup(server.close)
        self.assertGaveUp(*self.install(server.port))

    def test_blackHoledSource(self) -> None:
        """
        A source whose connection attempts go unanswered (a full backlog):
        the install gives up once the deadline passes.
        """
        server = _Backlog()
        self.addCleanup(server.close)
        self.assertGaveUp(*self.install(server.port))
