# -*- test-case-name: tests.test_client_tap -*-
"""
Tests for L{pocketrelay.client.tap} and L{pocketrelay.client.settings}:
options, the saved server, the service tree, start-up against a fake
server (and its failures), telemetry forwarding, and C{twistd
pocketrelay-client} as a player runs it.

Hosts files are always temporary files, never the system's.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from typing import Any

from twisted.internet import defer
from twisted.internet import reactor as _reactor
from twisted.internet.error import CannotListenError
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import LogLevel, formatEvent
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, readBody
from twisted.web.resource import Resource

from pocketrelay.client import settings, tap, tunnel
from pocketrelay.client.discovery import ServerInfo, normaliseServerURL
from pocketrelay.client.hosts import OUR_LINE
from pocketrelay.client.telemetry import TelemetryRecord
from pocketrelay.testing.fakes import FakeRoutes, FakeServerResource, FakeTelemetry
from pocketrelay.testing.logs import captureLogs
from pocketrelay.testing.loopback import closedPort, listenSite

#: The global reactor, typed loosely (its interfaces are split in stubs).
reactor: Any = _reactor

_TWISTD = [os.path.join(os.path.dirname(sys.executable), "twistd")]


def parse(*args: str) -> tap.Options:
    options = tap.Options()
    options.parseOptions(list(args))
    return options


class SettingsTests(SynchronousTestCase):
    """
    L{settings}: the data directory and the saved server.
    """

    def test_defaultDataDir(self) -> None:
        """
        %APPDATA%\\pocketrelay on Windows; $XDG_CONFIG_HOME/pocketrelay or
        ~/.config/pocketrelay elsewhere.
        """
        self.assertEqual(
            settings.defaultDataDir("win32", {"APPDATA": "C:\\Users\\p\\AppData\\Roaming"}),
            "C:\\Users\\p\\AppData\\Roaming\\pocketrelay",
        )
        self.assertEqual(settings.defaultDataDir("linux", {}, home="/home/p"),
                         "/home/p/.config/pocketrelay")
        self.assertEqual(settings.defaultDataDir("linux", {"XDG_CONFIG_HOME": "/cfg"}, home="/h"),
                         "/cfg/pocketrelay")

    def test_roundTrip(self) -> None:
        """
        A saved server is read back; other keys in the file are kept; no
        file means no saved server.
        """
        directory = os.path.join(self.mktemp(), "data")
        self.assertIsNone(settings.loadSavedServer(directory))
        path = settings.saveServer(directory, "http://one/")
        with open(path) as f:
            data = json.load(f)
        data["other"] = 1
        with open(path, "w") as f:
            json.dump(data, f)
        settings.saveServer(directory, "https://two/")
        self.assertEqual(settings.loadSavedServer(directory), "https://two/")
        with open(path) as f:
            self.assertEqual(json.load(f), {"connection_url": "https://two/", "other": 1})
        self.assertEqual(stat.S_IMODE(os.stat(directory).st_mode), 0o700)

    def test_corrupt(self) -> None:
        """
        A file that is not a settings object raises L{SettingsError}
        naming it.
        """
        directory = self.mktemp()
        os.makedirs(directory)
        path = os.path.join(directory, settings.SETTINGS_FILE)
        for content in (b"{", b"[]", b'{"connection_url": 5}', b"\xff"):
            with open(path, "wb") as f:
                f.write(content)
            e = self.assertRaises(settings.SettingsError, settings.loadSavedServer, directory)
            self.assertIn(path, str(e))


class RecentServersTests(SynchronousTestCase):
    """
    L{settings.rememberServer} and L{settings.loadRecentServers}: the
    app's short list of recent servers.
    """

    def test_remember(self) -> None:
        """
        The server remembered last comes first, once; it is also the
        default server; the list keeps at most L{settings.MAX_RECENT}.
        """
        dataDir = self.mktemp()
        self.assertEqual(settings.loadRecentServers(dataDir), [])
        for number in range(10):
            settings.rememberServer(dataDir, f"http://s{number}/")
        settings.rememberServer(dataDir, "http://s5/")
        recent = settings.loadRecentServers(dataDir)
        self.assertEqual(recent[:3], ["http://s5/", "http://s9/", "http://s8/"])
        self.assertEqual(len(recent), settings.MAX_RECENT)
        self.assertEqual(recent.count("http://s5/"), 1)
        self.assertEqual(settings.loadSavedServer(dataDir), "http://s5/")

    def test_keepsOtherKeys(self) -> None:
        """
        C{--save} and the recent list share the file without losing each
        other's keys.
        """
        dataDir = self.mktemp()
        settings.rememberServer(dataDir, "http://a/")
        settings.saveServer(dataDir, "http://b/")
        self.assertEqual(settings.loadRecentServers(dataDir), ["http://a/"])
        self.assertEqual(settings.loadSavedServer(dataDir), "http://b/")

    def test_badEntries(self) -> None:
        """
        Entries that are not non-empty strings are ignored, a list that is
        not a list is empty, and an unreadable file is a L{SettingsError}.
        """
        dataDir = self.mktemp()
        os.makedirs(dataDir)
        path = os.path.join(dataDir, settings.SETTINGS_FILE)
        with open(path, "w") as f:
            json.dump({"recent_servers": ["http://a/", 3, "", None, "http://b/"]}, f)
        self.assertEqual(settings.loadRecentServers(dataDir), ["http://a/", "http://b/"])
        with open(path, "w") as f:
            json.dump({"recent_servers": "http://a/"}, f)
        self.assertEqual(settings.loadRecentServers(dataDir), [])
        with open(path, "w") as f:
            f.write("{not json")
        self.assertRaises(settings.SettingsError, settings.loadRecentServers, dataDir)


class OptionsTests(SynchronousTestCase):
    """
    L{tap.Options}.
    """

    def setUp(self) -> None:
        self.dataDir = self.mktemp()

    def test_server(self) -> None:
        """
        --server is normalised; defaults for the rest.
        """
        options = parse("--server", "me3.example.org:443", "--data-dir", self.dataDir, "--no-hosts")
        assert options.url is not None
        self.assertEqual(str(options.url), "https://me3.example.org/")
        self.assertIsNotNone(options.tls)
        self.assertEqual(options.ports, tap.DEFAULT_PORTS)
        self.assertEqual(options.ports.blaze, 42128)
        self.assertIsNone(options.hostsPath)
        self.assertEqual(options.dataDir, self.dataDir)

    def test_hostsPath(self) -> None:
        """
        The system hosts file by default, or the one given.
        """
        from pocketrelay.client.hosts import defaultHostsPath

        options = parse("--server", "h", "--data-dir", self.dataDir)
        self.assertEqual(options.hostsPath, defaultHostsPath())
        options = parse("--server", "h", "--data-dir", self.dataDir, "--hosts-file", "/tmp/x")
        self.assertEqual(options.hostsPath, "/tmp/x")

    def test_savedServer(self) -> None:
        """
        Without --server, the saved server is used.
        """
        settings.saveServer(self.dataDir, "http://saved.example.org/relay/")
        options = parse("--data-dir", self.dataDir, "--no-hosts")
        self.assertEqual(str(options.url), "http://saved.example.org/relay/")

    def test_errors(self) -> None:
        """
        Each mistake gives a usage error that says what to do.
        """
        missing = os.path.join(self.dataDir, "missing.pem")
        for args, text in (
            ([], "--server URL"),
            (["--save"], "--save needs --server"),
            (["--server", "ftp://x"], "unsupported scheme"),
            (["--server", "h", "--log-level", "loud"], "--log-level"),
            (["--server", "h", "--ports", "1,2,3"], "five or six ports"),
            (["--server", "h", "--ports", "1,2,3,4,5,6,7"], "five or six ports"),
            (["--server", "h", "--ports", "1,2,3,4,5,"], "five or six ports"),
            (["--server", "h", "--ports", "1,2,3,4,5,-6"], "five or six ports"),
            (["--server", "h", "--ports", "1,2,3,4,5,udp"], "five or six ports"),
            (["--server", "h", "--ports", "1,2,3,4,99999"], "above 65535"),
            (["--server", "h", "--ports", "1,2,3,4,5,65536"], "above 65535"),
            (["--server", "h", "--ca-file", missing], "cannot read the CA file"),
            (["--server", "h", "--no-hosts", "--hosts-file", "x"], "contradict"),
        ):
            e = self.assertRaises(usage.UsageError, parse, "--data-dir", self.dataDir, *args)
            self.assertIn(text, str(e))

    def test_ports(self) -> None:
        """
        --ports sets the five local ports; the tunnel keeps the port the
        game needs (L{tunnel.HOST_PORT}, 42132), as without --ports.
        """
        options = parse("--server", "h", "--data-dir", self.dataDir, "--ports", "1,2,3,4,5")
        self.assertEqual(options.ports, tap.Ports(1, 2, 3, 4, 5))
        self.assertEqual(options.ports.tunnel, 42132)
        self.assertEqual(tap.DEFAULT_PORTS.tunnel, tunnel.HOST_PORT)
        options = parse("--server", "h", "--data-dir", self.dataDir)
        self.assertEqual(options.ports, tap.DEFAULT_PORTS)

    def test_tunnelPort(self) -> None:
        """
        A sixth entry of --ports is the tunnel's port; 0 asks for any free
        port.
        """
        options = parse("--server", "h", "--data-dir", self.dataDir, "--ports", "1,2,3,4,5,6")
        self.assertEqual(options.ports, tap.Ports(1, 2, 3, 4, 5, 6))
        options = parse("--server", "h", "--data-dir", self.dataDir,
                        "--ports", " 0, 0,0,0,0 , 0")
        self.assertEqual(options.ports, tap.Ports(0, 0, 0, 0, 0, 0))


class _BusyUDPReactor(MemoryReactorClock):
    """
    A memory reactor on which every UDP port is taken: it records the
    (interface, port) each C{listenUDP} asks for.
    """

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[str, int]] = []

    def listenUDP(self, port: int, protocol: Any, interface: str = "",
                  maxPacketSize: int = 8192) -> Any:
        self.asked.append((interface, port))
        raise CannotListenError(interface, port, OSError(98, "Address already in use"))


class ServiceTreeTests(SynchronousTestCase):
    """
    L{tap.makeService} builds the tree without starting anything.
    """

    def test_tree(self) -> None:
        """
        The local servers in start order, the tunnel, then the hosts entry;
        nothing listens yet; the redirector certificate is in the data
        directory.
        """
        dataDir = self.mktemp()
        hosts = self.mktemp()
        reactor = MemoryReactorClock()
        options = parse("--server", "h", "--data-dir", dataDir, "--hosts-file", hosts)
        top = tap.makeService(options, reactor)
        self.assertIsInstance(top, tap.ClientService)
        self.assertEqual([s.name for s in top],
                         ["http", "qos", "telemetry", "blaze", "redirector", "tunnel", "hosts"])
        self.assertEqual(
            [(s.label, s.configuredPort, s.udp) for s in top.listeners.values()],
            [("HTTP proxy", 42131, False), ("QoS", 42130, True), ("telemetry", 42129, False),
             ("Blaze proxy", 42128, False), ("redirector", 42127, False)],
        )
        self.assertEqual(reactor.tcpServers, [])
        self.assertTrue(os.path.exists(os.path.join(dataDir, "redirector-certificate.pem")))
        self.assertFalse(os.path.exists(hosts))

    def test_tunnelPort(self) -> None:
        """
        The tunnel's pool binds its first socket on the sixth --ports
        entry, and on 42132 without one.
        """
        for given, expected in ((None, 42132), ("0,0,0,0,0", 42132), ("0,0,0,0,0,4321", 4321)):
            extra = [] if given is None else ["--ports", given]
            options = parse("--server", "h", "--data-dir", self.mktemp(), "--no-hosts", *extra)
            reactor = _BusyUDPReactor()
            top = tap.makeService(options, reactor)
            top.server = ServerInfo(
                url=normaliseServerURL("http://h/"), version="0.9.0",
                association="token.signature", tunnelPort=9032,
            )
            lazy = top.getServiceNamed("tunnel")
            lazy.startService()
            lazy.stopService()
            self.assertEqual(reactor.asked, [("127.0.0.1", expected)])

    def test_noHosts(self) -> None:
        """
        --no-hosts leaves out the hosts entry.
        """
        options = parse("--server", "h", "--data-dir", self.mktemp(), "--no-hosts")
        top = tap.makeService(options, MemoryReactorClock())
        self.assertNotIn("hosts", [s.name for s in top])

    def test_quietConsole(self) -> None:
        """
        The console observer drops Twisted's factory and port notes below
        debug level, and keeps everything else.
        """
        predicate = tap._Quiet()
        from twisted.logger import PredicateResult

        for event in (
            {"log_level": LogLevel.info, "log_format": "Starting factory {factory!r}"},
            {"log_level": LogLevel.info, "log_format": "{log_text}",
             "log_text": "ProxySite starting on 42131"},
            {"log_level": LogLevel.info, "log_format": "{log_text}",
             "log_text": "(TCP Port 42131 Closed)"},
        ):
            self.assertIs(predicate(event), PredicateResult.no)
        for event in (
            {"log_level": LogLevel.info, "log_format": "Game connected ({peer})"},
            {"log_level": LogLevel.warn, "log_format": "Starting factory {factory!r}"},
        ):
            self.assertIs(predicate(event), PredicateResult.maybe)


class _StoppingReactor:
    def __init__(self, running: bool) -> None:
        self.running = running
        self.triggers: list[tuple[str, str]] = []
        self.calls: list[str] = []

    def addSystemEventTrigger(self, phase: str, event: str, f: Any) -> None:
        self.triggers.append((phase, event))

    def stop(self) -> None:
        self.calls.append("stop")

    def callWhenRunning(self, f: Any) -> None:
        self.calls.append("callWhenRunning")


class ExitTests(SynchronousTestCase):
    """
    L{tap._exitProcess}: the fatal path.
    """

    def test_running(self) -> None:
        """
        The process exit is scheduled after shutdown and the reactor
        stopped.
        """
        reactor = _StoppingReactor(running=True)
        tap._exitProcess(reactor, 1)
        self.assertEqual(reactor.triggers, [("after", "shutdown")])
        self.assertEqual(reactor.calls, ["stop"])

    def test_notRunningYet(self) -> None:
        """
        Before the reactor runs, it is stopped as soon as it does.
        """
        reactor = _StoppingReactor(running=False)
        tap._exitProcess(reactor, 1)
        self.assertEqual(reactor.calls, ["callWhenRunning"])


class ClientStartTests(TestCase):
    """
    Starting and stopping the L{tap.ClientService} against a fake server
    on loopback.
    """

    timeout = 30

    def setUp(self) -> None:
        self.events = captureLogs(self)
        self.exits: list[int] = []
        self.dataDir = self.mktemp()
        self.hosts = os.path.abspath(self.mktemp())
        with open(self.hosts, "w") as f:
            f.write("127.0.0.1 localhost\n")

    def server(self, resource: Resource | None = None) -> int:
        self.telemetry = FakeTelemetry()
        return listenSite(self, resource or FakeRoutes(FakeServerResource(), self.telemetry))

    def start(self, url: str, *extra: str) -> tap.ClientService:
        hosts = [] if "--no-hosts" in extra else ["--hosts-file", self.hosts]
        options = parse("--server", url, "--data-dir", self.dataDir, *hosts,
                        "--ports", "0,0,0,0,0,0", *extra)
        top = tap.makeService(options, reactor)
        top.fatal = lambda reactor, status: self.exits.append(status)
        top.startService()
        self.addCleanup(lambda: top.stopService() if top.running else None)
        return top

    def lines(self, level: LogLevel | None = None) -> list[str]:
        return [formatEvent(e) for e in self.events
                if level is None or e.get("log_level") == level]

    @defer.inlineCallbacks
    def test_start(self) -> Any:
        """
        After the server answered: every port listens on 127.0.0.1, QoS
        reports the server's view of our address, the hosts entry is added
        and the server is saved; stopping removes the entry again.
        """
        port = self.server()
        top = self.start(f"127.0.0.1:{port}", "--save")
        yield top.whenReady()
        self.assertEqual(self.exits, [])
        assert top.server is not None
        self.assertEqual(top.server.version, "0.9.0")
        self.assertEqual(top.qosAddress, "203.0.113.7")
        for listener in top.listeners.values():
            self.assertEqual(listener.port.getHost().host, "127.0.0.1")
            self.assertNotEqual(listener.actualPort, 0)
        with open(self.hosts) as f:
            self.assertIn(OUR_LINE, f.read())
        self.assertEqual(settings.loadSavedServer(self.dataDir), f"http://127.0.0.1:{port}/")
        response = yield Agent(reactor).request(
            b"GET", f"http://127.0.0.1:{top.listeners['http'].actualPort}/api/server".encode()
        )
        body = yield readBody(response)
        self.assertEqual(json.loads(body)["ident"], "POCKET_RELAY_SERVER")
        self.assertTrue(any("Ready" in line for line in self.lines()))
        yield top.stopService()
        with open(self.hosts) as f:
            self.assertEqual(f.read(), "127.0.0.1 localhost\n")

    @defer.inlineCallbacks
    def test_tunnelOnFreePort(self) -> Any:
        """
        With a sixth --ports entry of 0, the tunnel's pool binds a free
        UDP port on 127.0.0.1 rather than 42132, and its log line names the
        ports actually bound.
        """
        port = self.server()
        top = self.start(f"127.0.0.1:{port}", "--no-hosts")
        yield top.whenReady()
        lazy = top.getServiceNamed("tunnel")
        pool = lazy.tunnel.pool
        self.assertEqual(len(pool.ports), 4)
        self.assertNotIn(0, pool.ports)
        self.assertNotEqual(pool.ports[0], tunnel.HOST_PORT)
        self.assertEqual(pool._listening[0].getHost().port, pool.ports[0])
        [line] = [line for line in self.lines() if line.startswith("Tunnel pool on UDP")]
        self.assertIn(f"ports {pool.ports!r}", line)

    @defer.inlineCallbacks
    def test_unreachable(self) -> Any:
        """
        A server that cannot be reached: one critical line naming the
        failed step of doctor's checks and its fix, exit status 1, nothing
        listening, hosts file untouched.
        """
        port = closedPort()
        top = self.start(f"127.0.0.1:{port}")
        e = yield self.assertFailure(top.whenReady(), tap.StartupFailed)
        sentence = (
            f"TCP connection failed: nothing accepts connections on 127.0.0.1 port {port}: "
            f"start the server (or the proxy in front of it), or fix the port in the URL "
            f"(the server's listen setting; 443 behind nginx)"
        )
        self.assertEqual(str(e), sentence)
        self.assertEqual(self.exits, [1])
        critical = self.lines(LogLevel.critical)
        self.assertEqual(critical, [f"pocketrelay-client: {sentence}; stopping"])
        self.assertTrue(all(listener.port is None for listener in top.listeners.values()))
        with open(self.hosts) as f:
            self.assertEqual(f.read(), "127.0.0.1 localhost\n")

    @defer.inlineCallbacks
    def test_unexplained(self) -> Any:
        """
        When doctor's checks find nothing wrong this time (or the client
        has no explainer), the server check's own message is shown.
        """
        port = closedPort()
        options = parse("--server", f"127.0.0.1:{port}", "--data-dir", self.dataDir,
                        "--no-hosts", "--ports", "0,0,0,0,0,0")
        for explain in (lambda *args: defer.succeed(None), None):
            top = tap.makeService(options, reactor)
            top.fatal = lambda reactor, status: self.exits.append(status)
            top.explain = explain
            top.startService()
            e = yield self.assertFailure(top.whenReady(), tap.StartupFailed)
            yield top.stopService()
            self.assertEqual(str(e), f"cannot reach 127.0.0.1:{port}: connection refused")
        self.assertEqual(self.exits, [1, 1])

    @defer.inlineCallbacks
    def test_notPocketRelay(self) -> Any:
        """
        Another web server: the /api/server step fails with "not a Pocket
        Relay server" and what to check, exit status 1.
        """
        port = self.server(Resource())
        top = self.start(f"127.0.0.1:{port}")
        e = yield self.assertFailure(top.whenReady(), tap.StartupFailed)
        self.assertIn("Pocket Relay server (GET /api/server) failed: ", str(e))
        self.assertIn("not a Pocket Relay server (GET /api/server answered 404 Not Found): "
                      "check the URL's host, port and path", str(e))
        self.assertEqual(self.exits, [1])

    @defer.inlineCallbacks
    def test_portTaken(self) -> Any:
        """
        A local port in use stops the client, naming the port.
        """
        import socket

        port = self.server()
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            busy = taken.getsockname()[1]
            options = parse("--server", f"127.0.0.1:{port}", "--data-dir", self.dataDir,
                            "--no-hosts", "--ports", f"0,{busy},0,0,0,0")
            top = tap.makeService(options, reactor)
            top.fatal = lambda reactor, status: self.exits.append(status)
            top.startService()
            e = yield self.assertFailure(top.whenReady(), tap.StartupFailed)
            yield top.stopService()
        self.assertIn(f"cannot listen on 127.0.0.1:{busy} (TCP) for the Blaze proxy", str(e))
        self.assertEqual(self.exits, [1])
        self.assertTrue(all(listener.port is None for listener in top.listeners.values()))

    @defer.inlineCallbacks
    def test_hostsReadOnly(self) -> Any:
        """
        A hosts file we may not change: one warning saying what to do, and
        the client runs.
        """
        os.chmod(self.hosts, 0o444)
        port = self.server()
        top = self.start(f"127.0.0.1:{port}")
        yield top.whenReady()
        warnings = self.lines(LogLevel.warn)
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn("No permission to change", warnings[0])
        self.assertIn("127.0.0.1 gosredirector.ea.com", warnings[0])
        self.assertIsNotNone(top.listeners["blaze"].port)

    @defer.inlineCallbacks
    def test_telemetry(self) -> Any:
        """
        Telemetry records are posted to the server as JSON.
        """
        port = self.server()
        top = self.start(f"127.0.0.1:{port}", "--no-hosts")
        yield top.whenReady()
        assert top.telemetry is not None
        record = TelemetryRecord(b"\0" * 10, (("TLM3", "hello"), ("X", "1")))
        yield top.telemetry(record)
        self.assertEqual(self.telemetry.bodies,
                         [(b"application/json", {"values": [["TLM3", "hello"], ["X", "1"]]})])
        self.assertEqual(top.telemetry.sent, 1)


class TelemetryForwarderTests(TestCase):
    """
    L{tap.TelemetryForwarder} against loopback servers.
    """

    timeout = 30

    def forwarder(self, resource: Resource) -> tap.TelemetryForwarder:
        from pocketrelay.client.discovery import loadClientTLS, makeAgent

        port = listenSite(self, resource)
        agent, pool = makeAgent(reactor, loadClientTLS(), persistent=True)
        self.addCleanup(pool.closeCachedConnections)
        return tap.TelemetryForwarder(agent, f"http://127.0.0.1:{port}/api/server/telemetry",
                                      maxInFlight=2)

    @defer.inlineCallbacks
    def test_notFound(self) -> Any:
        """
        A 404 stops forwarding after one log line.
        """
        events = captureLogs(self)
        forwarder = self.forwarder(Resource())
        record = TelemetryRecord(b"\0" * 10, (("A", "b"),))
        yield forwarder(record)
        self.assertFalse(forwarder.enabled)
        self.assertIsNone(forwarder(record))
        lines = [formatEvent(e) for e in events
                 if e.get("log_namespace", "").startswith("pocketrelay.client.tap")]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("does not take telemetry", lines[0])

    @defer.inlineCallbacks
    def test_inFlightLimit(self) -> Any:
        """
        Records beyond the in-flight limit are dropped.
        """
        forwarder = self.forwarder(FakeTelemetry())
        record = TelemetryRecord(b"\0" * 10, (("A", "b"),))
        pending = [forwarder(record) for _ in range(3)]
        self.assertIsNone(pending[2])
        self.assertEqual(forwarder.dropped, 1)
        yield defer.gatherResults([d for d in pending if d is not None])
        self.assertEqual((forwarder.sent, forwarder.inFlight), (2, 0))

    @defer.inlineCallbacks
    def test_unreachable(self) -> Any:
        """
        A server that is gone: one warning, then debug lines.
        """
        from pocketrelay.client.discovery import loadClientTLS, makeAgent

        events = captureLogs(self)
        agent, _pool = makeAgent(reactor, loadClientTLS())
        forwarder = tap.TelemetryForwarder(agent, f"http://127.0.0.1:{closedPort()}/t")
        record = TelemetryRecord(b"\0" * 10, (("A", "b"),))
        yield forwarder(record)
        yield forwarder(record)
        warnings = [formatEvent(e) for e in events if e.get("log_level") == LogLevel.warn]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertTrue(forwarder.enabled)


class TwistdTests(TestCase):
    """
    C{twistd pocketrelay-client} in a subprocess, as a player runs it.
    """

    timeout = 120

    def twistd(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_TWISTD, "-n", "--pidfile=", "pocketrelay-client", *args],
            capture_output=True, text=True, timeout=60,
        )

    def test_unreachable(self) -> None:
        """
        A server that cannot be reached: one line saying so with doctor's
        sentence (the failed step and its fix), exit status 1.
        """
        port = closedPort()
        result = self.twistd("--server", f"127.0.0.1:{port}", "--data-dir", self.mktemp(),
                             "--no-hosts", "--ports", "0,0,0,0,0,0")
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 1, output)
        lines = [line for line in output.splitlines() if "pocketrelay-client: " in line]
        self.assertEqual(len(lines), 1, output)
        self.assertIn(f"pocketrelay-client: TCP connection failed: nothing accepts connections "
                      f"on 127.0.0.1 port {port}: start the server", lines[0])
        self.assertNotIn("Traceback", output)

    def test_noServer(self) -> None:
        """
        No server given or saved: a usage message, exit status 1.
        """
        result = self.twistd("--data-dir", self.mktemp(), "--no-hosts")
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 1, output)
        self.assertIn("no server: give one with --server URL", output)
        self.assertNotIn("Traceback", output)
