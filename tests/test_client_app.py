# -*- test-case-name: tests.test_client_app -*-
"""
Tests for L{pocketrelay.client.app} (the controller, the diagnostics,
the options, the headless mode as a process) and
L{pocketrelay.client.elevate} (Windows' elevation, through an injected
C{shell32}).

Hosts files are always temporary files, never the system's.
"""

from __future__ import annotations

import os
import re
import sys
from io import StringIO
from typing import Any

from twisted.internet import defer
from twisted.internet import reactor as _reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.logger import LogLevel
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pocketrelay import __version__
from pocketrelay.client import app, elevate
from pocketrelay.client.hosts import OUR_LINE
from pocketrelay.client.status import ClientStatus, ServerStatus
from pocketrelay.testing.fakes import FakeRoutes, FakeServerResource, FakeTelemetry
from pocketrelay.testing.gameclient import GameClient
from pocketrelay.testing.loopback import (
    AppProcess,
    ServerFixture,
    closedPort,
    listenSite,
    spawnApp,
    until,
)

#: The global reactor, typed loosely (its interfaces are split in stubs).
reactor: Any = _reactor

_ROOT = FilePath(__file__).parent().parent().path


class FakeShell32:
    """
    Records C{ShellExecuteW} calls and answers C{result}.
    """

    def __init__(self, result: int = 42, admin: int = 0) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.result = result
        self.admin = admin

    def ShellExecuteW(self, *args: Any) -> int:
        self.calls.append(args)
        return self.result

    def IsUserAnAdmin(self) -> int:
        return self.admin


class ElevateTests(SynchronousTestCase):
    """
    "Restart as administrator" through C{ShellExecuteW(..., "runas", ...)}.
    """

    def test_frozen(self) -> None:
        """
        A one-file build restarts itself with the same arguments, quoted
        for Windows' command line.
        """
        shell = FakeShell32()
        started = elevate.restartAsAdministrator(
            shell, ["app.exe", "--server", "me3 server"], executable="C:\\app.exe", frozen=True
        )
        self.assertTrue(started)
        self.assertEqual(shell.calls, [
            (None, "runas", "C:\\app.exe", '--server "me3 server"', None, 1),
        ])

    def test_python(self) -> None:
        """
        Installed with pip, Python runs the app's module again.
        """
        shell = FakeShell32()
        elevate.restartAsAdministrator(shell, ["pocketrelay-app"], executable="pythonw.exe",
                                       frozen=False)
        self.assertEqual(shell.calls[0][2:4], ("pythonw.exe", "-m pocketrelay.client.app"))

    def test_declined(self) -> None:
        """
        A result of 32 or less (the player said no) is not a restart.
        """
        self.assertFalse(elevate.restartAsAdministrator(FakeShell32(result=5), ["a"], frozen=True))

    def test_withServer(self) -> None:
        """
        The restarted app gets the address typed and C{--connect}, in place
        of any C{--server} and C{--connect} it was started with.
        """
        self.assertEqual(
            elevate.withServer(["app", "--server", "old", "-sold2", "--server=old3", "--connect",
                                "--no-hosts"], " me3.example.org "),
            ["app", "--no-hosts", "--server", "me3.example.org", "--connect"],
        )
        self.assertEqual(elevate.withServer(["app", "-s", "old"], ""), ["app"])

    def test_canElevate(self) -> None:
        """
        Offered only on Windows and only when not already administrator.
        """
        self.assertFalse(elevate.canElevate(None))
        self.assertTrue(elevate.canElevate(FakeShell32(admin=0)))
        self.assertFalse(elevate.canElevate(FakeShell32(admin=1)))
        self.assertIsNone(elevate.windowsShell32("linux"))

    def test_elevationForWindows(self) -> None:
        """
        On Windows without administrator rights, the window gets an action
        that restarts the app through C{ShellExecuteW(..., "runas", ...)}
        with the typed address and C{--connect} in place of its
        C{--server}; it says whether Windows started it.
        """
        shell = FakeShell32(admin=0)
        action = elevate.elevationFor(
            ["app.exe", "--server", "old", "--no-hosts"], "win32", shell,
            executable="C:\\app.exe", frozen=True,
        )
        assert action is not None
        self.assertEqual(shell.calls, [])
        self.assertTrue(action("me3.example.org"))
        self.assertEqual(shell.calls, [
            (None, "runas", "C:\\app.exe", "--no-hosts --server me3.example.org --connect",
             None, 1),
        ])
        shell.result = 5
        self.assertFalse(action("me3.example.org"))

    def test_elevationForDefaults(self) -> None:
        """
        Without C{relaunchCommand} arguments, the action restarts this
        Python running the app's module.
        """
        shell = FakeShell32(admin=0)
        action = elevate.elevationFor(["pocketrelay-app"], "win32", shell)
        assert action is not None
        action("h")
        self.assertEqual(
            shell.calls[0][2:4],
            (sys.executable, "-m pocketrelay.client.app --server h --connect"),
        )

    def test_noElevation(self) -> None:
        """
        There is no such action when the app already runs as administrator,
        nor off Windows (whatever C{shell32} is).
        """
        self.assertIsNone(elevate.elevationFor(["app"], "win32", FakeShell32(admin=1)))
        self.assertIsNone(elevate.elevationFor(["app"], "linux", FakeShell32(admin=0)))
        self.assertIsNone(elevate.elevationFor(["app"], "darwin", FakeShell32(admin=0)))


class DiagnosticsTests(SynchronousTestCase):
    """
    "Copy diagnostics": versions, settings, status, the last log lines,
    and no secret.
    """

    def test_content(self) -> None:
        """
        The text has the versions, the settings, the status in words and
        key=value form, and the last log lines.
        """
        status = ClientStatus(
            phase="connected", url="http://me3/",
            server=ServerStatus("http://me3/", "me3", "0.9.0", False), hosts="ready",
        )
        text = app.diagnostics(status, {"data directory": "/d"}, ["line one", "line two"],
                               {"pocketrelay": "1.2.3"})
        for expected in ("pocketrelay: 1.2.3", "data directory: /d", "phase=connected",
                         "server: me3: Pocket Relay 0.9.0 over HTTP", "  line two"):
            self.assertIn(expected, text)

    def test_lastLines(self) -> None:
        """
        Only the last L{app.DIAGNOSTIC_LOG_LINES} log lines are included.
        """
        lines = [f"line {n}" for n in range(100)]
        text = app.diagnostics(ClientStatus(), {}, lines, {})
        self.assertIn("line 99", text)
        self.assertNotIn("line 59\n", text)
        self.assertIn(f"line {100 - app.DIAGNOSTIC_LOG_LINES}\n", text)

    def test_noSecrets(self) -> None:
        """
        Passwords and tokens are hidden wherever they appear: options,
        settings, status and log lines.
        """
        options = app.redact(["--client-cert", "c.p12", "--client-cert-password", "hunter2",
                              "--client-cert-password=hunter3"])
        self.assertEqual(options, ["--client-cert", "c.p12", "--client-cert-password",
                                   "(hidden)", "--client-cert-password=(hidden)"])
        text = app.diagnostics(
            ClientStatus(lastError="refused: token=tok.sig1"),
            {"options": " ".join(options), "api_token": "t0ps3cret",
             "raw": '{"association": "tok.sig2", "password": "pw"}'},
            ["Login with password: swordfish", "session_key=abcdef"],
            {"pocketrelay": __version__},
        )
        for secret in ("hunter2", "hunter3", "tok.sig1", "t0ps3cret", "tok.sig2", '"pw"',
                       "swordfish", "abcdef"):
            self.assertNotIn(secret, text)
        self.assertIn("(hidden)", text)

    def test_versions(self) -> None:
        """
        The versions name pocketrelay, Python, Twisted and Tk.
        """
        found = app.versions()
        self.assertEqual(found["pocketrelay"], __version__)
        self.assertEqual(set(found) >= {"Python", "Twisted", "Tk", "system"}, True)


class LogBufferTests(SynchronousTestCase):
    """
    L{app.LogBuffer}: the last lines, for the pane and the diagnostics.
    """

    def test_lines(self) -> None:
        """
        Each event becomes one line (warnings and worse prefixed with
        their level); listeners get each line; only C{maxLines} are kept.
        """
        buffer = app.LogBuffer(maxLines=2)
        seen: list[str] = []
        buffer.listeners.append(seen.append)
        buffer({"log_format": "one {n}", "n": 1, "log_level": LogLevel.info})
        buffer({"log_format": "two", "log_level": LogLevel.warn})
        buffer({"log_format": "three", "log_level": LogLevel.info,
                "log_failure": Failure(ValueError("bad"))})
        self.assertEqual(seen, ["one 1", "[warn] two", "three: bad"])
        self.assertEqual(list(buffer.lines), ["[warn] two", "three: bad"])


class OptionsTests(SynchronousTestCase):
    """
    L{app.AppOptions}.
    """

    def test_clientArguments(self) -> None:
        """
        The client options given are passed on to every client.
        """
        options = app.AppOptions()
        options.parseOptions(["--hosts-file", "/tmp/h", "--ports", "0,0,0,0,0,0",
                              "--data-dir", "/d", "--headless"])
        self.assertEqual(options.clientArguments(), [
            "--log-level", "info", "--hosts-file", "/tmp/h", "--ports", "0,0,0,0,0,0",
        ])
        self.assertEqual(options["data-dir"], "/d")
        options = app.AppOptions()
        options.parseOptions(["--no-hosts"])
        self.assertIn("--no-hosts", options.clientArguments())

    def test_version(self) -> None:
        """
        C{--version} prints the version and exits 0.
        """
        out = StringIO()
        self.patch(sys, "stdout", out)
        error = self.assertRaises(SystemExit, app.AppOptions().parseOptions, ["--version"])
        self.assertEqual(error.code, 0)
        self.assertEqual(out.getvalue(), f"pocketrelay-app {__version__}\n")

    def test_badUsage(self) -> None:
        """
        Contradicting options and an unknown log level are usage errors:
        L{app.main} prints them and returns 2.
        """
        err = StringIO()
        self.patch(sys, "stderr", err)
        self.assertEqual(app.main(["pocketrelay-app", "--no-hosts", "--hosts-file", "x"]), 2)
        self.assertIn("contradict", err.getvalue())
        self.assertEqual(app.main(["pocketrelay-app", "--log-level", "loud"]), 2)

    def test_statusLine(self) -> None:
        """
        The headless mode's C{Status:} words.
        """
        line = app.statusLine(ClientStatus(
            phase="failed", server=ServerStatus("https://a/", "a", "0.9.0", True),
            errorKind="unreachable"))
        self.assertEqual(line, "phase=failed server=a version=0.9.0 scheme=https hosts=pending "
                               "listening=0 games=0 tunnel=off error=unreachable")


class OpenFolderTests(SynchronousTestCase):
    """
    L{app.openFolder} uses each system's way, and creates the folder.
    """

    def test_platforms(self) -> None:
        """
        Windows: C{os.startfile}; macOS: C{open}; others: C{xdg-open}.
        """
        path = os.path.abspath(self.mktemp())
        started: list[str] = []
        ran: list[list[str]] = []
        app.openFolder(path, "win32", startfile=started.append, run=ran.append)
        app.openFolder(path, "darwin", run=ran.append)
        app.openFolder(path, "linux", run=ran.append)
        self.assertEqual(started, [path])
        self.assertEqual(ran, [["open", path], ["xdg-open", path]])
        self.assertTrue(os.path.isdir(path))
        self.assertEqual(app.logDirectory("/d"), os.path.join("/d", "logs"))


class ControllerTests(TestCase):
    """
    L{app.AppController} against a fake server on loopback.
    """

    timeout = 30

    def setUp(self) -> None:
        self.hosts = os.path.abspath(self.mktemp())
        with open(self.hosts, "w") as f:
            f.write("127.0.0.1 localhost\n")
        self.dataDir = os.path.abspath(self.mktemp())
        self.controller = app.AppController(
            reactor, self.dataDir, ["--hosts-file", self.hosts, "--ports", "0,0,0,0,0,0"]
        )
        self.addCleanup(self.controller.disconnect)

    @defer.inlineCallbacks
    def test_connectRemembersAndSwitches(self) -> Any:
        """
        A server that answers is remembered first among the recent
        servers; connecting to another stops the first (its hosts line
        goes) before starting the second.
        """
        first = listenSite(self, FakeRoutes(FakeServerResource(), FakeTelemetry()))
        yield self.controller.connect(f"127.0.0.1:{first}")
        self.assertEqual(self.controller.status.current.phase, "connected")
        self.assertEqual(self.controller.initialAddress(), f"http://127.0.0.1:{first}/")
        firstClient = self.controller.client
        assert firstClient is not None
        yield self.controller.connect(f"127.0.0.1:{closedPort()}")
        self.assertFalse(firstClient.running)
        self.assertEqual(self.controller.status.current.errorKind, "unreachable")
        with open(self.hosts) as f:
            self.assertEqual(f.read(), "127.0.0.1 localhost\n")
        self.assertEqual(self.controller.recentServers(), [f"http://127.0.0.1:{first}/"])

    @defer.inlineCallbacks
    def test_failureExplainedByDoctor(self) -> Any:
        """
        A server that cannot be used: the app's clients are the command
        line's (with its C{explain}), so the status's last error is
        doctor's sentence naming the failed step and its fix.
        """
        port = closedPort()
        yield self.controller.connect(f"127.0.0.1:{port}")
        status = self.controller.status.current
        self.assertEqual((status.phase, status.errorKind), ("failed", "unreachable"))
        self.assertEqual(
            status.lastError,
            f"TCP connection failed: nothing accepts connections on 127.0.0.1 port {port}: "
            f"start the server (or the proxy in front of it), or fix the port in the URL "
            f"(the server's listen setting; 443 behind nginx)",
        )

    @defer.inlineCallbacks
    def test_badAddress(self) -> Any:
        """
        An address that is not a URL fails at once as C{bad-address}, with
        the command line's message; no client is built.
        """
        yield self.controller.connect("ftp://me3")
        status = self.controller.status.current
        self.assertEqual((status.phase, status.errorKind), ("failed", "bad-address"))
        self.assertIn("unsupported scheme", status.lastError or "")
        self.assertIsNone(self.controller.client)

    @defer.inlineCallbacks
    def test_buildFails(self) -> Any:
        """
        A client that cannot be built for an unexpected reason (a bug, or
        a one-file build missing a module) fails the connection with the
        reason in a line, logged with its traceback, rather than leaving
        the status idle.
        """
        def build(options: Any, reactor: Any) -> Any:
            raise ModuleNotFoundError("No module named 'twisted.spread'")

        controller = app.AppController(reactor, self.dataDir, build=build)
        yield controller.connect("127.0.0.1:1")
        status = controller.status.current
        self.assertEqual((status.phase, status.errorKind), ("failed", "other"))
        self.assertEqual(status.lastError,
                         "cannot start the client: No module named 'twisted.spread'")
        self.assertIsNone(controller.client)
        self.assertEqual(len(self.flushLoggedErrors(ModuleNotFoundError)), 1)


def _until(check: Any, seconds: float = 30) -> defer.Deferred[None]:
    return until(check, seconds)


class HeadlessTests(TestCase):
    """
    C{pocketrelay-app --headless} as a process: what the one-file builds'
    smoke tests run.
    """

    timeout = 90

    def spawn(self, *arguments: str) -> AppProcess:
        self.hosts = os.path.abspath(self.mktemp())
        with open(self.hosts, "w") as f:
            f.write("127.0.0.1 localhost\n")
        return spawnApp(self, "--headless", "--data-dir", os.path.abspath(self.mktemp()),
                        "--hosts-file", self.hosts, "--ports", "0,0,0,0,0,0", *arguments)

    @defer.inlineCallbacks
    def test_loginAndStop(self) -> Any:
        """
        Against a real server: the client starts, a simulated game logs in
        through its Blaze proxy (C{games=1}), and SIGTERM stops it cleanly
        (exit status 0, hosts line removed).
        """
        server = ServerFixture(self)
        lines = self.spawn("--server", f"127.0.0.1:{server.port}")
        yield _until(lambda: "phase=connected" in lines.output or lines.ended.called)
        self.assertIn("Ready: start Mass Effect 3", lines.output)
        with open(self.hosts) as f:
            self.assertIn(OUR_LINE, f.read())
        match = re.search(r"Blaze proxy (\d+)", lines.output)
        assert match is not None, lines.output
        game = GameClient(clock=reactor)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", int(match.group(1)), timeout=5)
        yield connectProtocol(endpoint, game.protocol)
        self.addCleanup(game.disconnect)
        yield game.preAuth()
        yield game.createAccount("garrus@example.org", "calibrations")
        yield _until(lambda: "games=1" in lines.output)
        lines.transport.signalProcess("TERM")  # type: ignore[union-attr]
        status = yield lines.ended
        self.assertEqual(status, 0, lines.output)
        with open(self.hosts) as f:
            self.assertEqual(f.read(), "127.0.0.1 localhost\n")

    @defer.inlineCallbacks
    def test_failure(self) -> Any:
        """
        A server that cannot be reached: the CLI's critical line, with
        doctor's sentence (the failed step and its fix), a C{Status:} line
        with C{error=unreachable}, exit status 1.
        """
        port = closedPort()
        lines = self.spawn("--server", f"127.0.0.1:{port}")
        status = yield lines.ended
        self.assertEqual(status, 1, lines.output)
        self.assertIn(f"pocketrelay-client: TCP connection failed: nothing accepts connections "
                      f"on 127.0.0.1 port {port}: start the server", lines.output)
        self.assertIn("phase=failed", lines.output)
        self.assertIn("error=unreachable", lines.output)
