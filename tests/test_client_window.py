# -*- test-case-name: tests.test_client_window -*-
"""
The app's window, used as a player uses it: under Xvfb (started here, on
a display number it picks), the real window is opened, the address of a
loopback server typed key by key, Connect pressed with the mouse events
Tk would get, a simulated game logged in through the client, Disconnect
pressed; each state is saved as a screenshot in the test's temporary
directory (and, when C{APP_SCREENSHOTS} names a directory, copied
there: C{make screenshots} does that for C{docs/images/}).

Hosts files are temporary files, never the system's.  Xvfb must be
installed (Debian's C{xvfb}); the tests fail without it rather than skip.
"""

from __future__ import annotations

import os
import shutil
import tkinter
from typing import Any

from twisted.internet import defer
from twisted.internet import reactor as _reactor
from twisted.internet.address import IPv4Address
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import (
    FilteringLogObserver,
    ILogFilterPredicate,
    LogEvent,
    PredicateResult,
    globalLogPublisher,
)
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.resource import Resource
from twisted.web.static import Data
from zope.interface import implementer

from pocketrelay import __version__
from pocketrelay.blaze import tdf
from pocketrelay.client.app import AppController, LogBuffer, quietObserver
from pocketrelay.client.discovery import TLSConfigError
from pocketrelay.client.hosts import OUR_LINE
from pocketrelay.client.redirector import ServerInstanceInfo
from pocketrelay.client.status import ListenerStatus, ServerStatus, explainError
from pocketrelay.client.window import (
    ALL_WELL,
    WINDOW_CLASS,
    ClientWindow,
    TkBridge,
    serverChecker,
)
from pocketrelay.doctor import Settings
from pocketrelay.me3.messages.redirector import ServerInstanceRequest
from pocketrelay.ssl3 import SSLv3ClientFactory
from pocketrelay.testing.gameclient import GameClient
from pocketrelay.testing.loopback import (
    OneProtocolFactory,
    ServerFixture,
    closedPort,
    listenSite,
    spawnApp,
)
from pocketrelay.testing.loopback import until as _until
from pocketrelay.testing.screenshot import encodePNG, grab
from pocketrelay.testing.xvfb import Xvfb

#: The global reactor, typed loosely (its interfaces are split in stubs).
reactor: Any = _reactor

#: Where C{make screenshots} asks for copies.
SCREENSHOTS_ENV = "APP_SCREENSHOTS"

_KEYSYMS = {":": "colon", ".": "period", "/": "slash", "-": "minus", "_": "underscore"}


@implementer(ILogFilterPredicate)
class _ClientEvents:
    """
    Lets through only the client's events.
    """

    def __call__(self, event: LogEvent) -> PredicateResult:
        namespace = str(event.get("log_namespace", ""))
        if namespace.startswith("pocketrelay.client"):
            return PredicateResult.maybe
        return PredicateResult.no


class FakeTk:
    """
    Stands in for a Tk root in L{TkBridge}: C{pending} events are handled
    one per C{dooneevent} call.
    """

    def __init__(self) -> None:
        self.pending = 0
        self.handled = 0
        self.tk = self

    def dooneevent(self, flags: int) -> int:
        if self.pending:
            self.pending -= 1
            self.handled += 1
            return 1
        return 0


class TkBridgeTests(SynchronousTestCase):
    """
    L{TkBridge} turns Tk's loop often while there are events and backs off
    to C{maxInterval} when there are none.
    """

    def test_backsOffWhenIdle(self) -> None:
        """
        With nothing to do, the wait doubles up to C{maxInterval}; so an
        idle window costs ten turns a second.
        """
        clock, root = Clock(), FakeTk()
        bridge = TkBridge(root, clock, minInterval=0.01, maxInterval=0.1)
        bridge.start()
        delays = []
        for _ in range(6):
            delays.append(bridge.delay)
            clock.advance(bridge.delay)
        self.assertEqual(delays, [0.02, 0.04, 0.08, 0.1, 0.1, 0.1])

    def test_fastWhenBusy(self) -> None:
        """
        Pending events are all handled in one turn and the next turn comes
        after C{minInterval}.
        """
        clock, root = Clock(), FakeTk()
        bridge = TkBridge(root, clock, minInterval=0.01, maxInterval=0.1)
        bridge.start()
        clock.advance(0.02)
        clock.advance(0.04)
        root.pending = 5
        clock.advance(bridge.delay)
        self.assertEqual(root.handled, 5)
        self.assertEqual(bridge.delay, 0.01)

    def test_stop(self) -> None:
        """
        After C{stop}, no turn is scheduled.
        """
        clock, root = Clock(), FakeTk()
        bridge = TkBridge(root, clock)
        bridge.start()
        self.assertTrue(bridge.running)
        bridge.stop()
        self.assertFalse(bridge.running)
        self.assertEqual(clock.getDelayedCalls(), [])


@implementer(IHostnameResolver)
class _Resolver:
    """
    A name resolver that finds C{addresses} for every name.
    """

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    def resolveHostName(
        self, receiver: IResolutionReceiver, hostName: str, portNumber: int = 0,
        addressTypes: Any = None, transportSemantics: str = "TCP",
    ) -> Any:
        receiver.resolutionBegan(None)  # type: ignore[arg-type]
        for address in self.addresses:
            receiver.addressResolved(IPv4Address("TCP", address, portNumber))
        receiver.resolutionComplete()
        return receiver


class ServerCheckerTests(SynchronousTestCase):
    """
    L{serverChecker}: "Check this server" runs doctor's checks and turns
    the report into one sentence (in memory; no window).
    """

    def check(self, address: str, *found: str, **kwargs: Any) -> str:
        reactor = MemoryReactorClock()
        reactor.nameResolver = _Resolver(*found)
        return self.successResultOf(serverChecker(reactor, **kwargs)(address))

    def test_firstFailure(self) -> None:
        """
        The first failed step's sentence, as doctor and the client say it;
        the address is used as typed, spaces around it aside.
        """
        sentence = (
            "Name resolution failed: me3.example.org does not resolve to an address: check "
            "the spelling of the URL and the server's DNS record (an A record with its "
            "public address)"
        )
        self.assertEqual(self.check("me3.example.org"), sentence)
        self.assertEqual(self.check(" me3.example.org "), sentence)

    def test_allWell(self) -> None:
        """
        When every step run passes, the sentence says that play works.
        """
        sentence = self.check("me3.example.org", "127.0.0.1",
                              settings=Settings(lastStep="dns"))
        self.assertEqual(sentence, ALL_WELL)
        self.assertIn("Everything needed for play works", sentence)

    def test_badAddress(self) -> None:
        """
        An address the client cannot use: the client's reason, no check.
        """
        self.assertEqual(
            self.check("ftp://me3"),
            "This address cannot be used: unsupported scheme 'ftp' in 'ftp://me3': "
            "use http or https",
        )

    def test_badCertificateSettings(self) -> None:
        """
        The client's TLS settings are read at each check; when they cannot
        be used, the sentence says so.
        """

        def broken() -> Any:
            raise TLSConfigError("ca.pem: no certificate in it")

        self.assertEqual(
            self.check("me3.example.org", tls=broken),
            "The client's certificate settings cannot be used: ca.pem: no certificate in it",
        )


class ScreenshotTests(SynchronousTestCase):
    """
    L{encodePNG} writes a PNG that says what it holds.
    """

    def test_png(self) -> None:
        """
        The PNG signature, then an IHDR of the given size, 8-bit RGB.
        """
        data = encodePNG(2, 1, [b"\xff\x00\x00\x00\xff\x00"])
        self.assertTrue(data.startswith(b"\x89PNG\r\n\x1a\n"))
        self.assertEqual(data[12:16], b"IHDR")
        self.assertEqual(data[16:26], b"\x00\x00\x00\x02\x00\x00\x00\x01\x08\x02")
        self.assertRaises(ValueError, encodePNG, 2, 1, [b"\x00"])


class _WindowCase(TestCase):
    """
    The real window under Xvfb, and how a player uses it.
    """

    timeout = 120

    def setUp(self) -> None:
        self.xvfb = Xvfb.shared()
        self.root = tkinter.Tk(screenName=self.xvfb.display, className=WINDOW_CLASS)
        self.addCleanup(self.root.destroy)
        self.hosts = os.path.abspath(self.mktemp())
        with open(self.hosts, "w") as f:
            f.write("127.0.0.1 localhost\n")
        self.dataDir = os.path.abspath(self.mktemp())
        self.shots = os.path.abspath(self.mktemp())
        os.makedirs(self.shots)
        self.controller = AppController(
            reactor, self.dataDir, ["--hosts-file", self.hosts, "--ports", "0,0,0,0,0,0"]
        )
        self.addCleanup(self.controller.disconnect)
        self.buffer = LogBuffer()
        # Only the client's events: in the app the server is elsewhere.
        observer = FilteringLogObserver(quietObserver(self.buffer), [_ClientEvents()])
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        self.opened: list[str] = []
        self.root.geometry("720x640+0+0")
        self.bridge = TkBridge(self.root, reactor)
        self.bridge.start()
        self.addCleanup(self.bridge.stop)
        # As runWindow builds it, so the screenshots show what players see.
        self.window = self.openWindow(checkServer=serverChecker(reactor))

    def openWindow(self, **kwargs: Any) -> ClientWindow:
        """
        Build the window in the root (replacing any built before).
        """
        previous = getattr(self, "window", None)
        if previous is not None:
            previous.detach()
        for child in self.root.winfo_children():
            child.destroy()
        kwargs.setdefault("platform", "linux")
        self.window = ClientWindow(
            self.root, self.controller, self.buffer,
            settings=lambda: {"data directory": self.dataDir},
            openLogFolder=lambda: self.opened.append("logs"),
            **kwargs,
        )
        self.settle()
        return self.window

    def settle(self) -> None:
        """
        Let Tk handle what is pending and redraw.
        """
        self.root.update_idletasks()
        self.root.update()

    def screenshot(self, name: str) -> str:
        """
        Save the window as C{name}.png in the test's directory (and in
        C{$APP_SCREENSHOTS}).
        """
        self.settle()
        root = self.root
        data = grab(self.xvfb.display, root.winfo_rootx(), root.winfo_rooty(),
                    root.winfo_width(), root.winfo_height())
        path = os.path.join(self.shots, f"{name}.png")
        with open(path, "wb") as f:
            f.write(data)
        copies = os.environ.get(SCREENSHOTS_ENV)
        if copies:
            os.makedirs(copies, exist_ok=True)
            shutil.copyfile(path, os.path.join(copies, f"app-{name}.png"))
        return path

    def type(self, text: str) -> None:
        """
        Replace the address with C{text}, typed key by key.
        """
        box = self.window.address
        box.focus_force()
        self.settle()
        box.select_range(0, "end")
        box.icursor("end")
        box.event_generate("<KeyPress>", keysym="BackSpace")
        self.assertEqual(box.get(), "")
        for character in text:
            box.event_generate("<KeyPress>", keysym=_KEYSYMS.get(character, character))
        self.settle()
        self.assertEqual(box.get(), text)

    def press(self, button: Any) -> None:
        """
        Click C{button}: pointer in, button down, button up.
        """
        self.settle()
        button.event_generate("<Enter>", x=5, y=5)
        button.event_generate("<ButtonPress-1>", x=5, y=5)
        button.event_generate("<ButtonRelease-1>", x=5, y=5)
        button.event_generate("<Leave>")

    def says(self) -> dict[str, str]:
        """
        What the window shows, by line.
        """
        shown = {name: str(label.cget("text")) for name, label in self.window.fields.items()}
        shown["headline"] = str(self.window.headline.cget("text"))
        shown["detail"] = str(self.window.detail.cget("text"))
        return shown

    def phase(self, phase: str) -> defer.Deferred[None]:
        return _until(lambda: self.controller.status.current.phase == phase, 30)

    def hostsText(self) -> str:
        with open(self.hosts) as f:
            return f.read()



class WindowTests(_WindowCase):
    """
    The real window under Xvfb, with a real client and server on
    loopback.
    """

    @defer.inlineCallbacks
    def test_playerSession(self) -> Any:
        """
        Idle, then the address typed and Connect pressed: "Connecting…",
        then "Connected" with the server's name, version and scheme, the
        hosts entry and the local services; a game logs in through the
        client and the window says the game is connected; Disconnect
        removes the hosts line.  Each state is a screenshot.
        """
        server = ServerFixture(self)
        self.assertEqual(self.says()["headline"], "Not connected")
        self.screenshot("idle")

        address = f"127.0.0.1:{server.port}"
        self.type(address)
        self.press(self.window.connectButton)
        self.assertEqual(self.says()["headline"], "Connecting…")
        self.assertIn(f"http://{address}/", self.says()["detail"])
        self.screenshot("connecting")

        yield self.phase("connected")
        self.settle()
        shown = self.says()
        self.assertEqual(shown["headline"], "Connected")
        self.assertEqual(shown["server"], f"{address}: Pocket Relay {__version__} over HTTP")
        self.assertTrue(shown["hosts"].startswith("ready"))
        self.assertIn("Blaze proxy", shown["services"])
        self.assertEqual(shown["game"], "waiting for Mass Effect 3")
        self.assertIn(OUR_LINE, self.hostsText())
        self.assertEqual(self.controller.recentServers(), [f"http://{address}/"])
        self.assertEqual(list(self.root.tk.splitlist(self.window.address["values"])),
                         [f"http://{address}/"])

        game = yield self.login()
        yield _until(lambda: self.controller.status.current.games == 1, 30)
        yield _until(lambda: self.controller.status.current.tunnel in ("udp", "http"), 30)
        self.settle()
        shown = self.says()
        self.assertEqual(shown["game"], "connected")
        self.assertEqual(shown["detail"], "Mass Effect 3 is connected to the server.")
        self.assertIn(shown["tunnel"], ("open (UDP)", "open (HTTP fallback)"))
        self.assertTrue(any("Game connected" in line for line in self.buffer.lines))
        self.assertIn("Game connected", self.window.logText.get("1.0", "end"))
        self.screenshot("connected")
        game.disconnect()

        self.press(self.window.disconnectButton)
        yield self.phase("idle")
        self.settle()
        self.assertEqual(self.says()["headline"], "Not connected")
        self.assertEqual(self.hostsText(), "127.0.0.1 localhost\n")

    @defer.inlineCallbacks
    def login(self) -> Any:
        """
        A simulated game: the redirector over SSL 3.0, then a Blaze login
        through the proxy.
        """
        client = self.controller.client
        assert client is not None
        redirect = GameClient(clock=reactor)
        endpoint = TCP4ClientEndpoint(
            reactor, "127.0.0.1", client.listeners["redirector"].actualPort, timeout=5
        )
        outer = yield endpoint.connect(SSLv3ClientFactory(OneProtocolFactory(redirect.protocol), clock=reactor))
        self.addCleanup(lambda: _until(lambda: bool(redirect.lost)))
        self.addCleanup(outer.transport.loseConnection)
        yield _until(lambda: redirect.protocol.transport is not None)
        answer = yield redirect.request(5, 1, tdf.encode(ServerInstanceRequest()), ServerInstanceInfo)
        game = GameClient(clock=reactor)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", answer.address.value.port, timeout=5)
        yield connectProtocol(endpoint, game.protocol)
        self.addCleanup(game.disconnect)
        yield game.preAuth()
        created = yield game.createAccount("liara@example.org", "shadow-broker")
        self.assertTrue(created.sessionKey)
        return game

    @defer.inlineCallbacks
    def test_unreachable(self) -> Any:
        """
        A server that cannot be reached: "Could not connect" and a
        sentence a player understands; the CLI's one-line message, doctor's
        sentence naming the failed step and its fix, is the last error;
        the hosts file is untouched.
        """
        port = closedPort()
        address = f"127.0.0.1:{port}"
        self.type(address)
        self.press(self.window.connectButton)
        yield self.phase("failed")
        self.settle()
        shown = self.says()
        self.assertEqual(shown["headline"], "Could not connect")
        self.assertEqual(shown["detail"], explainError("unreachable"))
        self.assertIn("could not be reached", shown["detail"])
        self.assertEqual(
            shown["error"],
            f"TCP connection failed: nothing accepts connections on 127.0.0.1 port {port}: "
            f"start the server (or the proxy in front of it), or fix the port in the URL "
            f"(the server's listen setting; 443 behind nginx)",
        )
        self.assertTrue(self.window.connectButton.instate(["!disabled"]))
        self.screenshot("error-unreachable")
        self.assertEqual(self.hostsText(), "127.0.0.1 localhost\n")

    @defer.inlineCallbacks
    def test_notPocketRelay(self) -> Any:
        """
        A web server that is not a Pocket Relay server: a sentence that
        says so and what to check.
        """
        site = Resource()
        site.putChild(b"", Data(b"<h1>It works!</h1>", "text/html"))
        port = listenSite(self, site)
        self.type(f"127.0.0.1:{port}")
        self.press(self.window.connectButton)
        yield self.phase("failed")
        self.settle()
        shown = self.says()
        self.assertEqual(shown["detail"], explainError("not-pocket-relay"))
        self.assertIn("it is not a Pocket Relay server", shown["detail"])
        self.assertIn("is not a Pocket Relay server", shown["error"])
        self.screenshot("error-not-pocket-relay")

    @defer.inlineCallbacks
    def test_closeStopsEverything(self) -> Any:
        """
        Closing the window (the window manager's close) stops the client
        and removes the hosts line.
        """
        server = ServerFixture(self)
        closed: list[bool] = []
        self.window.onClose = lambda: closed.append(True)
        self.type(f"127.0.0.1:{server.port}")
        self.press(self.window.connectButton)
        yield self.phase("connected")
        self.assertIn(OUR_LINE, self.hostsText())
        self.root.tk.call(self.root.protocol("WM_DELETE_WINDOW"))
        yield _until(lambda: bool(closed), 30)
        assert self.controller.client is not None
        self.assertFalse(self.controller.client.running)
        self.assertEqual(self.hostsText(), "127.0.0.1 localhost\n")


class WindowActionsTests(_WindowCase):
    """
    The window's helpers: the hosts file that needs administrator rights,
    "Check this server", "Copy diagnostics", "Open the log folder".
    """

    def test_needsAdministrator(self) -> None:
        """
        On Windows, a hosts file the client may not write shows what to do
        (the line to add by hand) and a "Restart as administrator" button,
        which calls the injected elevation with the address typed and
        closes the window when Windows started the new one.
        """
        restarts: list[str] = []
        closed: list[bool] = []

        def restart(address: str) -> bool:
            restarts.append(address)
            return True

        window = self.openWindow(platform="win32", restartAsAdministrator=restart,
                                 checkServer=serverChecker(reactor),
                                 onClose=lambda: closed.append(True))
        self.assertFalse(window.adminButton.winfo_ismapped())
        path = "C:\\Windows\\System32\\drivers\\etc\\hosts"
        self.type("me3.example.org")
        self.controller.status.update(
            phase="connected", url="https://me3.example.org/",
            server=ServerStatus("https://me3.example.org/", "me3.example.org", __version__, True),
            listeners=(ListenerStatus("HTTP proxy", 42131), ListenerStatus("QoS", 42130, True),
                       ListenerStatus("telemetry", 42129), ListenerStatus("Blaze proxy", 42128),
                       ListenerStatus("redirector", 42127)),
            tunnel="udp", hosts="needs-admin", hostsPath=path,
            hostsProblem=f"No permission to change {path}.",
        )
        self.settle()
        self.assertTrue(window.adminButton.winfo_ismapped())
        advice = str(window.adminText.cget("text"))
        self.assertIn("Restart as administrator", advice)
        self.assertIn(f"add this line to {path} yourself:  127.0.0.1 gosredirector.ea.com", advice)
        self.assertEqual(self.says()["hosts"], "needs administrator rights")
        self.assertEqual(self.says()["headline"], "Action needed")
        self.screenshot("needs-administrator")
        self.press(window.adminButton)
        self.settle()
        self.assertEqual((restarts, closed), (["me3.example.org"], [True]))

    def test_noElevationOffered(self) -> None:
        """
        Without an elevation (not Windows, or already administrator) the
        advice is shown without the button; another hosts problem shows
        its message; a ready hosts file shows neither.
        """
        window = self.openWindow()
        self.controller.status.update(hosts="needs-admin", hostsPath="/etc/hosts")
        self.settle()
        self.assertFalse(window.adminButton.winfo_ismapped())
        self.assertIn("/etc/hosts yourself", str(window.adminText.cget("text")))
        self.controller.status.update(hosts="error", hostsProblem="Cannot write /etc/hosts: No space")
        self.settle()
        self.assertEqual(str(window.adminText.cget("text")), "Cannot write /etc/hosts: No space")
        self.controller.status.update(hosts="ready", hostsProblem=None)
        self.settle()
        self.assertFalse(window.adminFrame.winfo_ismapped())

    def test_checkServer(self) -> None:
        """
        "Check this server" is shown only when a checker is injected; it
        is called with the address typed and its sentence is shown.
        """
        self.assertFalse(self.openWindow().checkButton.winfo_ismapped())
        asked: list[str] = []

        def checker(address: str) -> defer.Deferred[str]:
            asked.append(address)
            return defer.succeed("The server answers on HTTP but the Blaze upgrade is refused.")

        window = self.openWindow(checkServer=checker)
        self.assertTrue(window.checkButton.winfo_ismapped())
        self.type("me3.example.org")
        self.press(window.checkButton)
        self.settle()
        self.assertEqual(asked, ["me3.example.org"])
        self.assertEqual(str(window.note.cget("text")),
                         "The server answers on HTTP but the Blaze upgrade is refused.")

    def test_checkServerRunsDoctor(self) -> None:
        """
        With L{serverChecker}, as C{runWindow} builds it, "Check this
        server" runs doctor's checks on the address typed and shows the
        first failure's sentence.
        """
        checkReactor = MemoryReactorClock()
        checkReactor.nameResolver = _Resolver()
        window = self.openWindow(checkServer=serverChecker(checkReactor))
        self.assertTrue(window.checkButton.winfo_ismapped())
        self.type("me3.example.org")
        self.press(window.checkButton)
        self.settle()
        note = str(window.note.cget("text"))
        self.assertIn("me3.example.org does not resolve to an address", note)
        self.assertTrue(note.startswith("Name resolution failed: "), note)

    def test_copyDiagnostics(self) -> None:
        """
        "Copy diagnostics" puts the diagnostics on the clipboard.
        """
        self.buffer.lines.append("a log line")
        self.press(self.window.copyButton)
        self.settle()
        copied = self.root.clipboard_get()
        self.assertIn("Pocket Relay app diagnostics", copied)
        self.assertIn(f"data directory: {self.dataDir}", copied)
        self.assertIn("  a log line", copied)

    def test_openLogFolder(self) -> None:
        """
        "Open the log folder" calls the injected opener.
        """
        self.press(self.window.folderButton)
        self.settle()
        self.assertEqual(self.opened, ["logs"])

    def test_errorInCallbackLogged(self) -> None:
        """
        An error in a button's action is logged (a console-less app has no
        standard error for Tk to print it to).
        """

        def broken() -> None:
            raise RuntimeError("no file manager")

        self.window.openLogFolder = broken
        self.press(self.window.folderButton)
        self.settle()
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class WindowProcessTests(TestCase):
    """
    C{pocketrelay-app} with its window, as a process under Xvfb.
    """

    timeout = 60

    @defer.inlineCallbacks
    def test_startAndStop(self) -> Any:
        """
        The app opens its window, with C{--connect} connects at once to
        C{--server}, writes its log file in the data directory's C{logs},
        and stops cleanly (exit status 0) on SIGTERM.
        """
        from pocketrelay.client.app import LOG_FILE, logDirectory
        dataDir = os.path.abspath(self.mktemp())
        address = f"127.0.0.1:{closedPort()}"
        lines = spawnApp(self, "--data-dir", dataDir, "--no-hosts", "--log-level", "debug",
                         "--server", address, "--connect", DISPLAY=Xvfb.shared().display)
        log = os.path.join(logDirectory(dataDir), LOG_FILE)
        yield _until(lambda: lines.ended.called or "The window is open" in _read(log), 30)
        self.assertFalse(lines.ended.called, lines.output)
        self.assertIn(f"settings and logs in {dataDir}", _read(log))
        port = address.rpartition(":")[2]
        yield _until(lambda: f"nothing accepts connections on 127.0.0.1 port {port}"
                     in _read(log), 30)
        lines.transport.signalProcess("TERM")  # type: ignore[union-attr]
        status = yield lines.ended
        self.assertEqual(status, 0, lines.output)
        self.assertIn("Main loop terminated", _read(log))


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""
