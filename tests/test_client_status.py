# -*- test-case-name: tests.test_client_status -*-
"""
Tests for L{pocketrelay.client.status} and for the status the client
service keeps in it (the one model the command line logs and the window
shows).

Hosts files are always temporary files, never the system's.
"""

from __future__ import annotations

import errno
import os
from typing import Any

from twisted.internet import defer
from twisted.internet import reactor as _reactor
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import LogLevel, formatEvent
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pocketrelay.client import tap
from pocketrelay.client.discovery import loadClientTLS, normaliseServerURL
from pocketrelay.client.hosts import HostsEntry
from pocketrelay.client.status import (
    ERROR_KINDS,
    ClientStatus,
    ListenerStatus,
    ServerStatus,
    StatusModel,
    describe,
    explainError,
)
from pocketrelay.testing.fakes import FakeRoutes, FakeServerResource, FakeTelemetry
from pocketrelay.testing.logs import captureLogs
from pocketrelay.testing.loopback import closedPort, listenSite


def parse(*args: str) -> tap.Options:
    """
    The client's options from C{args}.
    """
    options = tap.Options()
    options.parseOptions(list(args))
    return options

#: The global reactor, typed loosely (its interfaces are split in stubs).
reactor: Any = _reactor


class StatusModelTests(SynchronousTestCase):
    """
    L{StatusModel}: observers see each change, once.
    """

    def test_observersToldOfChanges(self) -> None:
        """
        An update that changes something calls each observer with the old
        and new values; one that changes nothing calls nobody.
        """
        model = StatusModel()
        seen: list[tuple[ClientStatus, ClientStatus]] = []
        model.observe(lambda old, new: seen.append((old, new)))
        model.update(phase="connecting", url="http://a/")
        model.update(phase="connecting")
        self.assertEqual(len(seen), 1)
        old, new = seen[0]
        self.assertEqual((old.phase, new.phase, new.url), ("idle", "connecting", "http://a/"))
        self.assertIs(model.current, new)

    def test_stopObserving(self) -> None:
        """
        The function L{StatusModel.observe} returns stops the observation.
        """
        model = StatusModel()
        seen: list[str] = []
        stop = model.observe(lambda old, new: seen.append(new.phase))
        model.update(phase="connecting")
        stop()
        stop()
        model.update(phase="connected")
        self.assertEqual(seen, ["connecting"])

    def test_failingObserver(self) -> None:
        """
        An observer that raises is logged; the others are still told.
        """
        events = captureLogs(self)
        model = StatusModel()
        seen: list[str] = []

        def broken(old: ClientStatus, new: ClientStatus) -> None:
            raise RuntimeError("boom")

        model.observe(broken)
        model.observe(lambda old, new: seen.append(new.phase))
        model.update(phase="connecting")
        self.assertEqual(seen, ["connecting"])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertTrue(any(e.get("log_format") == "A status observer failed" for e in events))


class DescribeTests(SynchronousTestCase):
    """
    L{describe}: the status in plain words.
    """

    def test_idle(self) -> None:
        """
        Before connecting, the window asks for the address.
        """
        words = describe(ClientStatus())
        self.assertEqual(words["headline"], "Not connected")
        self.assertEqual(words["detail"], "Type the server's address and press Connect.")
        self.assertEqual(words["error"], "none")

    def test_connected(self) -> None:
        """
        Connected: the server's name, version and scheme, the hosts file,
        each listener, the game and the tunnel.
        """
        status = ClientStatus(
            phase="connected",
            url="https://me3.example.org/",
            server=ServerStatus("https://me3.example.org/", "me3.example.org", "0.9.0", True),
            hosts="ready",
            listeners=(ListenerStatus("HTTP proxy", 42131), ListenerStatus("QoS", 42130, True)),
            games=1,
            tunnel="http",
        )
        words = describe(status)
        self.assertEqual(words["server"], "me3.example.org: Pocket Relay 0.9.0 over HTTPS")
        self.assertEqual(words["hosts"], "ready (gosredirector.ea.com points to this computer)")
        self.assertEqual(words["services"], "listening on 127.0.0.1: HTTP proxy 42131, QoS 42130/udp")
        self.assertEqual(words["game"], "connected")
        self.assertEqual(words["tunnel"], "open (HTTP fallback)")
        self.assertEqual(describe(_evolve(status, games=0))["game"], "waiting for Mass Effect 3")
        self.assertEqual(describe(_evolve(status, games=2))["game"], "connected (2 sessions)")

    def test_errors(self) -> None:
        """
        Every kind of fatal problem has its own sentence, shown with the
        command line's message as the last error.
        """
        sentences = {explainError(kind) for kind in ERROR_KINDS}
        self.assertEqual(len(sentences), len(ERROR_KINDS))
        words = describe(ClientStatus(phase="failed", lastError="cannot reach x: refused",
                                      errorKind="unreachable"))
        self.assertEqual(words["headline"], "Could not connect")
        self.assertIn("could not be reached", words["detail"])
        self.assertEqual(words["error"], "cannot reach x: refused")
        self.assertEqual(explainError(None), explainError("other"))

    def test_needsAdmin(self) -> None:
        """
        A hosts file the client may not write says it needs administrator
        rights, and the headline says something must be done: the game
        cannot find the client yet.
        """
        words = describe(ClientStatus(phase="connected", hosts="needs-admin"))
        self.assertEqual(words["hosts"], "needs administrator rights")
        self.assertEqual((words["headline"], words["tone"]), ("Action needed", "warning"))
        self.assertIn("cannot find this app until the hosts file has its line", words["detail"])


def _evolve(status: ClientStatus, **changes: Any) -> ClientStatus:
    import attrs

    return attrs.evolve(status, **changes)


class ServiceStatusTests(TestCase):
    """
    The status L{tap.ClientService} keeps while it starts, runs and
    stops, against a fake server on loopback.
    """

    timeout = 30

    def setUp(self) -> None:
        self.events = captureLogs(self)
        self.dataDir = self.mktemp()
        self.hosts = os.path.abspath(self.mktemp())
        with open(self.hosts, "w") as f:
            f.write("127.0.0.1 localhost\n")

    def start(self, url: str, *extra: str) -> tap.ClientService:
        hosts = [] if "--no-hosts" in extra else ["--hosts-file", self.hosts]
        options = parse("--server", url, "--data-dir", self.dataDir, *hosts,
                        "--ports", "0,0,0,0,0,0", *extra)
        top = tap.makeService(options, reactor)
        top.fatal = lambda reactor, status: None
        self.phases: list[str] = []
        top.status.observe(lambda old, new: self.phases.append(new.phase)
                           if new.phase != old.phase else None)
        top.startService()
        self.addCleanup(lambda: top.stopService() if top.running else None)
        return top

    @defer.inlineCallbacks
    def test_runAndStop(self) -> Any:
        """
        Connecting, then connected with the server, the hosts entry and
        every listener; stopping goes back to idle with nothing listening
        and the hosts line removed.
        """
        port = listenSite(self, FakeRoutes(FakeServerResource(), FakeTelemetry()))
        top = self.start(f"127.0.0.1:{port}")
        yield top.whenReady()
        status = top.status.current
        self.assertEqual(status.phase, "connected")
        self.assertEqual(status.server, ServerStatus(
            f"http://127.0.0.1:{port}/", f"127.0.0.1:{port}", "0.9.0", False))
        self.assertEqual((status.hosts, status.hostsPath), ("ready", self.hosts))
        self.assertEqual(
            [listener.label for listener in status.listeners],
            ["HTTP proxy", "QoS", "telemetry", "Blaze proxy", "redirector"],
        )
        self.assertEqual(
            [listener.port for listener in status.listeners],
            [listener.actualPort for listener in top.listeners.values()],
        )
        self.assertEqual(status.tunnel, "connecting")
        yield top.stopService()
        status = top.status.current
        self.assertEqual((status.phase, status.listeners, status.hosts, status.tunnel),
                         ("idle", (), "pending", "off"))
        self.assertEqual(self.phases, ["connecting", "connected", "stopping", "idle"])

    @defer.inlineCallbacks
    def test_noHosts(self) -> Any:
        """
        With C{--no-hosts} the hosts file is shown as not managed.
        """
        port = listenSite(self, FakeRoutes(FakeServerResource(), FakeTelemetry()))
        top = self.start(f"127.0.0.1:{port}", "--no-hosts")
        self.assertEqual(top.status.current.hosts, "skipped")
        yield top.whenReady()
        self.assertEqual(top.status.current.hosts, "skipped")

    @defer.inlineCallbacks
    def check(self, url: str, kind: str) -> Any:
        top = self.start(url)
        yield self.assertFailure(top.whenReady(), tap.StartupFailed)
        status = top.status.current
        self.assertEqual((status.phase, status.errorKind), ("failed", kind))
        critical = [formatEvent(e) for e in self.events if e.get("log_level") == LogLevel.critical]
        self.assertEqual(critical, [f"pocketrelay-client: {status.lastError}; stopping"])
        yield top.stopService()
        self.assertEqual(top.status.current.phase, "failed")

    def test_unreachable(self) -> Any:
        """
        A closed port: C{unreachable}, the CLI's message as last error.
        """
        return self.check(f"127.0.0.1:{closedPort()}", "unreachable")

    def test_notPocketRelay(self) -> Any:
        """
        A web server that answers 404: C{not-pocket-relay}.
        """
        port = listenSite(self, FakeServerResource(code=404))
        return self.check(f"127.0.0.1:{port}", "not-pocket-relay")

    def test_tooOld(self) -> Any:
        """
        A Pocket Relay server below the minimum version: C{too-old}.
        """
        port = listenSite(self, FakeServerResource({"ident": "POCKET_RELAY_SERVER",
                                                    "version": "0.4.0"}))
        return self.check(f"127.0.0.1:{port}", "too-old")


class LoggedFromStatusTests(SynchronousTestCase):
    """
    The command line's lines come from the status changes.
    """

    def test_linesFromChanges(self) -> None:
        """
        Setting the status of a service that is not even started logs the
        command line's lines for it.
        """
        events = captureLogs(self)
        top = tap.ClientService(normaliseServerURL("me3.example.org"), loadClientTLS(),
                                MemoryReactorClock())
        top.status.update(phase="connecting")
        top.status.update(server=ServerStatus("http://me3.example.org/", "me3.example.org",
                                              "0.9.0", False))
        top.status.update(phase="connected", listeners=(ListenerStatus("QoS", 42130, True),))
        top.status.update(phase="failed", lastError="it broke")
        self.assertEqual([formatEvent(e) for e in events], [
            "Checking the Pocket Relay server at http://me3.example.org/",
            "Server http://me3.example.org/ is a Pocket Relay server, version 0.9.0",
            "Listening on 127.0.0.1: QoS 42130/udp",
            "Ready: start Mass Effect 3 and go to multiplayer",
            "pocketrelay-client: it broke; stopping",
        ])


class HostsStatusTests(SynchronousTestCase):
    """
    L{tap.HostsService} tells the status how the hosts file stands.
    """

    def test_needsAdmin(self) -> None:
        """
        Without the rights to write the file: C{needs-admin}, with the
        message that says what to do.
        """
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write("127.0.0.1 localhost\n")

        def denied(source: str, target: str) -> None:
            raise PermissionError(errno.EACCES, "Permission denied")

        status = StatusModel()
        service = tap.HostsService(path, status)
        service.entry = HostsEntry(path, replace=denied)
        service.startService()
        current = status.current
        self.assertEqual((current.hosts, current.hostsPath), ("needs-admin", path))
        assert current.hostsProblem is not None
        self.assertIn("127.0.0.1 gosredirector.ea.com", current.hostsProblem)

    def test_existing(self) -> None:
        """
        The player's own entry: C{existing}, and the file is not written.
        """
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write("127.0.0.1 gosredirector.ea.com\n")
        status = StatusModel()
        tap.HostsService(path, status).startService()
        self.assertEqual(status.current.hosts, "existing")
