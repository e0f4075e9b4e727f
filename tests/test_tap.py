# -*- test-case-name: tests.test_tap -*-
"""
Tests for L{pocketrelay.server.tap} and the twistd plugins: options, the
service tree, and start-up errors as an operator sees them.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from typing import Any

from twisted.application.service import IService, IServiceMaker
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactor
from twisted.logger import ILogObserver
from twisted.plugin import getPlugins
from twisted.python import usage
from twisted.python.components import Componentized
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.server import tap
from pocketrelay.testing.logs import captureLogs, warningTexts

_TWISTD = [os.path.join(os.path.dirname(sys.executable), "twistd")]


class _Reactor(MemoryReactor, Clock):
    def __init__(self) -> None:
        MemoryReactor.__init__(self)
        Clock.__init__(self)


class PluginTests(SynchronousTestCase):
    """
    The twistd plugins are found and name their tap modules.
    """

    def test_plugins(self) -> None:
        """
        Both plugins are listed by twistd's plugin system.
        """
        import twisted.plugins

        names = {plugin.tapname: plugin for plugin in getPlugins(IServiceMaker, twisted.plugins)}
        self.assertIn("pocketrelay-server", names)
        self.assertIn("pocketrelay-client", names)
        self.assertIsInstance(names["pocketrelay-server"].options(), tap.Options)


class OptionsTests(SynchronousTestCase):
    """
    Tests for L{tap.Options}.
    """

    def test_defaults(self) -> None:
        """
        Without arguments the embedded defaults apply.
        """
        options = tap.Options()
        options.parseOptions([])
        assert options.settings is not None
        self.assertEqual(options.settings["listen"], "tcp:8080")
        self.assertEqual(options.settings["data_dir"], "data")

    def test_shortcutsAndSet(self) -> None:
        """
        --listen, --data-dir, --log-level and --set override settings.
        """
        options = tap.Options()
        options.parseOptions(
            ["--listen", "tcp:9999", "-d", "/tmp/x", "--log-level", "debug",
             "--set", "dashboard.disable_registration=true",
             "--set", "menu_message=hello {n}"]
        )
        assert options.settings is not None
        self.assertEqual(options.settings["listen"], "tcp:9999")
        self.assertEqual(options.settings["data_dir"], "/tmp/x")
        self.assertEqual(options.settings["log_level"], "debug")
        self.assertIs(options.settings["dashboard.disable_registration"], True)
        self.assertEqual(options.settings["menu_message"], "hello {n}")

    def test_badSettings(self) -> None:
        """
        Unknown keys, bad values and malformed --set are usage errors.
        """
        for argv in (
            ["--set", "nonsense=1"],
            ["--set", "udp_tunnel.port=abc"],
            ["--set", "nokeyvalue"],
            ["--log-level", "loud"],
            ["--config", "/nonexistent/pocketrelay.toml"],
        ):
            self.assertRaises(usage.UsageError, tap.Options().parseOptions, argv)

    def test_backlog(self) -> None:
        """
        TCP listeners get a large backlog unless one is given.
        """
        self.assertEqual(tap.withBacklog("tcp:80"), "tcp:80:backlog=1024")
        self.assertEqual(tap.withBacklog("tcp:80:backlog=10"), "tcp:80:backlog=10")
        self.assertEqual(
            tap.withBacklog("systemd:domain=INET:index=0"), "systemd:domain=INET:index=0"
        )
        self.assertEqual(tap.withBacklog("8080"), "8080:backlog=1024")


class MakeServiceTests(SynchronousTestCase):
    """
    Tests for L{tap.makeService}, without starting anything.
    """

    def makeService(self, *argv: str) -> tap.ServerService:
        options = tap.Options()
        options.parseOptions(["--data-dir", self.dataDir.path, *argv])
        return tap.makeService(options, _Reactor())

    def setUp(self) -> None:
        self.dataDir = FilePath(self.mktemp())

    def test_tree(self) -> None:
        """
        The tree holds the store, the password pool, the matchmaking and
        tunnel timers, the UDP tunnel and the HTTP listener, and
        the data directory and its secret are created with tight modes.
        """
        service = self.makeService("--listen", "tcp:0")
        kinds = [type(child).__name__ for child in service]
        self.assertEqual(
            kinds,
            ["StoreService", "ThreadPoolService", "TimerService", "TimerService",
             "UdpListenerService", "ListenerService"],
        )
        IService(service)
        self.assertEqual(stat.S_IMODE(os.stat(self.dataDir.path).st_mode), 0o700)
        secret = self.dataDir.child("secret.bin")
        self.assertEqual(stat.S_IMODE(os.stat(secret.path).st_mode), 0o600)
        self.assertIsNotNone(service.hub)

    def test_secretReused(self) -> None:
        """
        A second start reuses the secret made by the first.
        """
        self.makeService()
        first = self.dataDir.child("secret.bin").getContent()
        self.makeService()
        self.assertEqual(self.dataDir.child("secret.bin").getContent(), first)

    def test_dataDirIsAFile(self) -> None:
        """
        A data directory path that is a file is a start-up error naming it.
        """
        self.dataDir.setContent(b"")
        e = self.assertRaises(SystemExit, self.makeService)
        self.assertIn(self.dataDir.path, str(e))
        self.assertIn("not a directory", str(e))

    def test_missingGameDataWarned(self) -> None:
        """
        At start one warn line names the missing game data and the command
        that installs it.
        """
        events = captureLogs(self)
        self.makeService()
        warnings = warningTexts(events)
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn("Game data missing", warnings[0])
        self.assertIn("coalesced.json", warnings[0])
        self.assertIn("pocketrelay-admin game-data install --data-dir", warnings[0])

    def test_unusableGameDataWarned(self) -> None:
        """
        At start a corrupt game-data file gets a warn line of its own naming
        the file, the reason and the command that replaces it.
        """
        self.dataDir.makedirs(ignoreExistingDirectory=True)
        self.dataDir.child("coalesced.json").setContent(b"{corrupt")
        events = captureLogs(self)
        self.makeService()
        warnings = warningTexts(events)
        self.assertEqual(len(warnings), 2, warnings)
        self.assertIn("Game data missing", warnings[0])
        self.assertNotIn("coalesced.json", warnings[0])
        self.assertIn("Game data unusable", warnings[1])
        self.assertIn("coalesced.json (", warnings[1])
        self.assertIn("pocketrelay-admin game-data install --force --data-dir", warnings[1])

    def test_logObserver(self) -> None:
        """
        Put into twistd's application, the tree sets a level-filtering log
        observer unless one is set already.
        """
        service = self.makeService()
        application = Componentized()
        service.setServiceParent(_Parent(application))
        self.assertIsNotNone(application.getComponent(ILogObserver))

    def test_listenFailure(self) -> None:
        """
        A port that cannot be bound is a one-line start-up error.
        """
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            listener = tap.ListenerService(
                f"tcp:{port}:interface=127.0.0.1", object(), _RealReactor()
            )
            e = self.assertRaises(SystemExit, listener.privilegedStartService)
        self.assertIn(f"cannot listen on tcp:{port}", str(e))
        self.assertNotIn("\n", str(e))

    def test_badListenDescription(self) -> None:
        """
        A listen description that is not a strports string is an error.
        """
        listener = tap.ListenerService("bogus:1", object(), _RealReactor())
        e = self.assertRaises(SystemExit, listener.privilegedStartService)
        self.assertIn("invalid listen description", str(e))


class _Parent(Componentized):
    """
    Stands in for twistd's application: a componentized service parent.
    """

    def __init__(self, application: Componentized) -> None:
        super().__init__()
        self.application = application
        self.services: list[object] = []

    def addService(self, service: object) -> None:
        self.services.append(service)

    def getComponent(self, interface: Any, default: Any = None) -> Any:
        return self.application.getComponent(interface, default)

    def setComponent(self, interface: Any, component: Any) -> None:
        self.application.setComponent(interface, component)


def _RealReactor() -> object:
    from twisted.internet import reactor

    return reactor


class TwistdTests(SynchronousTestCase):
    """
    Start-up errors as an operator sees them: one line and exit status 1.
    """

    def twistd(self, *argv: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("POCKETRELAY_")}
        return subprocess.run(
            [*_TWISTD, "-n", "--pidfile=", "pocketrelay-server", *argv],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )

    def test_portTaken(self) -> None:
        """
        A port in use: one line naming the port, exit status 1.
        """
        dataDir = self.mktemp()
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            result = self.twistd("--listen", f"tcp:{port}:interface=127.0.0.1",
                              "--data-dir", dataDir)
        # twistd -n logs to standard output, standard error included.
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 1, output)
        lines = [line for line in output.splitlines() if "cannot listen" in line]
        self.assertEqual(len(lines), 1, output)
        self.assertIn(f"cannot listen on tcp:{port}:interface=127.0.0.1: ", lines[0])
        self.assertNotIn("backlog", lines[0])
        self.assertNotIn("Traceback", result.stdout + result.stderr)

    def test_badSetting(self) -> None:
        """
        An unknown setting: a usage message naming it, exit status 1.
        """
        result = self.twistd("--set", "no_such_setting=1")
        self.assertEqual(result.returncode, 1)
        self.assertIn("no_such_setting", result.stdout + result.stderr)
        self.assertNotIn("Traceback", result.stdout + result.stderr)

    def test_clientUnreachableServer(self) -> None:
        """
        The client exits 1 with one clear line when its server cannot be
        reached: doctor's sentence naming the failed step and its fix.
        """
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        result = subprocess.run(
            [*_TWISTD, "-n", "--pidfile=", "pocketrelay-client",
             "--server", f"http://127.0.0.1:{port}/", "--no-hosts",
             "--data-dir", self.mktemp(), "--ports", "0,0,0,0,0,0"],
            capture_output=True, text=True, timeout=60,
        )
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 1, output)
        self.assertIn(f"pocketrelay-client: TCP connection failed: nothing accepts connections "
                      f"on 127.0.0.1 port {port}", output)
        self.assertNotIn("Traceback", output)
