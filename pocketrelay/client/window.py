# -*- test-case-name: tests.test_client_window -*-
"""
The app's window (tkinter): the server address, Connect / Disconnect,
the status in plain words, the log, and the helpers around them.

It is a view: everything it shows comes from the L{AppController}'s
L{StatusModel} and L{LogBuffer}; every button calls the controller or an
injected action.  Tk and the Twisted reactor share one thread: the
reactor runs, and L{TkBridge} lets Tk handle its pending events, often
while the player uses the window and ten times a second when nothing
happens (Twisted's C{tksupport} calls C{update()} every 10 ms, always;
the idle app stays under 1 % of a core, see docs/client.md).
"""

from __future__ import annotations

import _tkinter
import sys
import tkinter
from collections.abc import Callable, Sequence
from tkinter import ttk
from typing import TYPE_CHECKING, Any

import attrs
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from pocketrelay.client.controller import (
    AppController,
    AppOptions,
    LogBuffer,
    diagnostics,
    logDirectory,
    openFolder,
    redact,
)
from pocketrelay.client.discovery import (
    BadServerURL,
    ClientTLS,
    TLSConfigError,
    loadClientTLS,
)
from pocketrelay.client.status import ClientStatus, describe

if TYPE_CHECKING:
    from pocketrelay.doctor import Report, Settings

__all__ = [
    "ALL_WELL",
    "WINDOW_CLASS",
    "ClientWindow",
    "ServerChecker",
    "TkBridge",
    "runWindow",
    "serverChecker",
]

#: The window's class (X11 C{WM_CLASS}), which the C{.desktop} file's
#: C{StartupWMClass} names.
WINDOW_CLASS = "PocketRelay"

#: Tcl's C{TCL_DONT_WAIT}: handle what is pending, do not block.
_DONT_WAIT: int = _tkinter.DONT_WAIT

#: What "Check this server" calls: the address in, a sentence out.
ServerChecker = Callable[[str], "defer.Deferred[str]"]

_COLOURS = {
    "idle": "#555555",
    "busy": "#9a6700",
    "good": "#1a7f37",
    "warning": "#bc4c00",
    "bad": "#cf222e",
}


@attrs.define(eq=False)
class TkBridge:
    """
    Runs Tk's event loop from the reactor: handles Tk's pending events,
    then looks again after C{minInterval} seconds when there were some,
    or after twice the last wait (at most C{maxInterval}) when there were
    none.  So a busy window is answered within C{minInterval} and an idle
    one costs a few turns a second.
    """

    root: Any
    clock: Any
    minInterval: float = 0.01
    maxInterval: float = 0.1
    maxEvents: int = 1000
    delay: float = attrs.field(default=0.0, init=False)
    _call: Any = attrs.field(default=None, init=False)

    def start(self) -> None:
        """
        Start turning Tk's loop.
        """
        self.delay = self.minInterval
        self._turn()

    def _turn(self) -> None:
        self._call = None
        handled = 0
        try:
            while handled < self.maxEvents and self.root.tk.dooneevent(_DONT_WAIT):
                handled += 1
        except tkinter.TclError:
            # The window was destroyed.
            return
        if handled:
            self.delay = self.minInterval
        else:
            self.delay = min(self.delay * 2, self.maxInterval)
        self._call = self.clock.callLater(self.delay, self._turn)

    @property
    def running(self) -> bool:
        """
        Whether a turn is scheduled.
        """
        return self._call is not None

    def stop(self) -> None:
        """
        Stop turning Tk's loop.
        """
        call, self._call = self._call, None
        if call is not None and call.active():
            call.cancel()


def _hostsAdvice(status: ClientStatus, platform: str) -> str:
    path = status.hostsPath or "the hosts file"
    if platform == "win32":
        first = "Press \u201cRestart as administrator\u201d and accept Windows' prompt"
    else:
        first = "Start the app with the rights to change it"
    return (
        f"The hosts file needs administrator rights. {first}, or add this line to "
        f"{path} yourself:  127.0.0.1 gosredirector.ea.com  \u2014 the app then uses "
        f"your line and leaves the file alone."
    )


class ClientWindow:
    """
    The window's widgets and what they do.

    @ivar address: the server address box (with the recent servers).
    @ivar connectButton: starts the client for the address.
    @ivar disconnectButton: stops it.
    @ivar headline: the state in one or two words.
    @ivar detail: the sentence under it (what to do, or what went wrong).
    @ivar fields: the status lines by name (C{server}, C{hosts},
        C{services}, C{game}, C{tunnel}, C{error}).
    @ivar logText: the log pane.
    """

    log = Logger()

    def __init__(
        self,
        root: Any,
        controller: AppController,
        buffer: LogBuffer,
        settings: Callable[[], dict[str, object]],
        openLogFolder: Callable[[], None],
        checkServer: ServerChecker | None = None,
        restartAsAdministrator: Callable[[str], bool] | None = None,
        address: str | None = None,
        platform: str | None = None,
        onClose: Callable[[], None] | None = None,
    ) -> None:
        self.root = root
        self.controller = controller
        self.buffer = buffer
        self.settings = settings
        self.openLogFolder = openLogFolder
        self.checkServer = checkServer
        self.restartAsAdministrator = restartAsAdministrator
        self.initialAddress = address
        self.platform = platform or sys.platform
        self.onClose = onClose
        self.closing: defer.Deferred[None] | None = None
        self._build()
        self._unobserve = controller.status.observe(self._changed)
        buffer.listeners.append(self._logged)
        for line in buffer.lines:
            self._logged(line)
        self.show(controller.status.current)
        root.protocol("WM_DELETE_WINDOW", self.close)
        root.report_callback_exception = self._callbackFailed

    def _callbackFailed(self, kind: type[BaseException], value: BaseException,
                        traceback: Any) -> None:
        # Tk would print to standard error, which a console-less app lacks.
        self.log.failure("Error in the window", Failure(value, kind, traceback))

    # -- building

    def _build(self) -> None:
        root = self.root
        root.title("Pocket Relay")
        root.minsize(640, 520)
        style = ttk.Style(root)
        if self.platform != "win32" and "clam" in style.theme_names():
            style.theme_use("clam")
        base = ttk.Frame(root, padding=14)
        base.grid(sticky="nsew")
        root.columnconfigure(0, weight=1)
        root.rowconfigure(0, weight=1)
        base.columnconfigure(0, weight=1)

        top = ttk.Frame(base)
        top.grid(row=0, column=0, sticky="ew")
        top.columnconfigure(1, weight=1)
        ttk.Label(top, text="Server address").grid(row=0, column=0, padx=(0, 8))
        self.address = ttk.Combobox(top, values=self.controller.recentServers())
        self.address.grid(row=0, column=1, sticky="ew")
        self.address.insert(0, self.initialAddress or self.controller.initialAddress())
        self.address.bind("<Return>", lambda event: self.connect())
        self.connectButton = ttk.Button(top, text="Connect", command=self.connect)
        self.connectButton.grid(row=0, column=2, padx=(8, 0))
        self.disconnectButton = ttk.Button(top, text="Disconnect", command=self.disconnect)
        self.disconnectButton.grid(row=0, column=3, padx=(6, 0))

        self.headline = ttk.Label(base, font=("TkDefaultFont", 16, "bold"))
        self.headline.grid(row=1, column=0, sticky="w", pady=(14, 2))
        self.detail = ttk.Label(base, wraplength=600, justify="left")
        self.detail.grid(row=2, column=0, sticky="ew")
        self.adminFrame = ttk.Frame(base)
        self.adminFrame.columnconfigure(0, weight=1)
        self.adminText = ttk.Label(self.adminFrame, wraplength=600, justify="left")
        self.adminText.grid(row=0, column=0, sticky="ew", pady=(8, 0))
        self.adminButton = ttk.Button(
            self.adminFrame, text="Restart as administrator", command=self.restartElevated
        )

        status = ttk.LabelFrame(base, text="Status", padding=(10, 6))
        status.grid(row=4, column=0, sticky="ew", pady=(12, 0))
        status.columnconfigure(1, weight=1)
        self.fields: dict[str, ttk.Label] = {}
        names = [("server", "Server"), ("hosts", "Hosts file"), ("services", "Local services"),
                 ("game", "Game"), ("tunnel", "Tunnel"), ("error", "Last error")]
        for row, (name, label) in enumerate(names):
            ttk.Label(status, text=label).grid(row=row, column=0, sticky="nw", padx=(0, 12))
            value = ttk.Label(status, wraplength=480, justify="left")
            value.grid(row=row, column=1, sticky="w")
            self.fields[name] = value

        actions = ttk.Frame(base)
        actions.grid(row=5, column=0, sticky="ew", pady=(10, 0))
        self.checkButton = ttk.Button(actions, text="Check this server", command=self.check)
        if self.checkServer is not None:
            self.checkButton.pack(side="left", padx=(0, 6))
        self.folderButton = ttk.Button(actions, text="Open the log folder", command=self.openFolder)
        self.folderButton.pack(side="left", padx=(0, 6))
        self.copyButton = ttk.Button(actions, text="Copy diagnostics", command=self.copyDiagnostics)
        self.copyButton.pack(side="left")
        self.note = ttk.Label(actions, foreground="#555555")
        self.note.pack(side="left", padx=(10, 0))

        logFrame = ttk.LabelFrame(base, text="Log", padding=(6, 4))
        logFrame.grid(row=6, column=0, sticky="nsew", pady=(12, 0))
        base.rowconfigure(6, weight=1)
        logFrame.columnconfigure(0, weight=1)
        logFrame.rowconfigure(0, weight=1)
        self.logText = tkinter.Text(
            logFrame, height=9, wrap="word", state="disabled", relief="flat",
            font=("TkFixedFont", 9), background="#fafafa",
        )
        self.logText.grid(row=0, column=0, sticky="nsew")
        scroll = ttk.Scrollbar(logFrame, orient="vertical", command=self.logText.yview)
        scroll.grid(row=0, column=1, sticky="ns")
        self.logText["yscrollcommand"] = scroll.set

    # -- showing

    def _changed(self, old: ClientStatus, new: ClientStatus) -> None:
        self.show(new)
        if new.phase == "connected" and old.phase != "connected":
            self.address["values"] = self.controller.recentServers()

    def show(self, status: ClientStatus) -> None:
        """
        Show C{status} in plain words.
        """
        words = describe(status)
        self.headline.configure(text=words["headline"],
                                foreground=_COLOURS.get(words["tone"], "#000000"))
        self.detail.configure(text=words["detail"])
        for name, label in self.fields.items():
            label.configure(text=words[name])
        busy = status.phase in ("connecting", "connected", "stopping")
        self.connectButton.state(["disabled"] if busy else ["!disabled"])
        self.disconnectButton.state(["!disabled"] if busy else ["disabled"])
        if status.hosts == "needs-admin":
            self.adminFrame.grid(row=3, column=0, sticky="ew")
            self.adminText.configure(text=_hostsAdvice(status, self.platform))
            if self.restartAsAdministrator is not None:
                self.adminButton.grid(row=1, column=0, sticky="w", pady=(6, 0))
        elif status.hosts == "error":
            self.adminFrame.grid(row=3, column=0, sticky="ew")
            self.adminText.configure(text=status.hostsProblem or "")
            self.adminButton.grid_remove()
        else:
            self.adminFrame.grid_remove()

    def _logged(self, line: str) -> None:
        text = self.logText
        text.configure(state="normal")
        text.insert("end", line + "\n")
        excess = int(text.index("end-1c").split(".")[0]) - 1 - self.buffer.maxLines
        if excess > 0:
            text.delete("1.0", f"{excess + 1}.0")
        text.configure(state="disabled")
        text.see("end")

    # -- actions

    def connect(self) -> defer.Deferred[None]:
        """
        Connect to the address typed.
        """
        self.note.configure(text="")
        return self.controller.connect(self.address.get())

    def disconnect(self) -> defer.Deferred[None]:
        """
        Stop the client.
        """
        return self.controller.disconnect()

    def check(self) -> defer.Deferred[None] | None:
        """
        Run the injected server check on the address typed and show its
        sentence.
        """
        if self.checkServer is None:
            return None
        self.note.configure(text="Checking the server…")
        d = self.checkServer(self.address.get())

        def done(sentence: str) -> None:
            self.note.configure(text=sentence)

        def failed(failure: Failure) -> None:
            self.note.configure(text=f"The check failed: {failure.getErrorMessage()}")

        return d.addCallbacks(done, failed)

    def openFolder(self) -> None:
        """
        Open the log folder.
        """
        try:
            self.openLogFolder()
        except OSError as e:
            self.note.configure(text=f"Cannot open the log folder: {e}")

    def diagnosticsText(self) -> str:
        """
        What "Copy diagnostics" puts on the clipboard.
        """
        return diagnostics(self.controller.status.current, self.settings(), list(self.buffer.lines))

    def copyDiagnostics(self) -> str:
        """
        Put the diagnostics on the clipboard.
        """
        text = self.diagnosticsText()
        self.root.clipboard_clear()
        self.root.clipboard_append(text)
        self.note.configure(text="Diagnostics copied: paste them where you ask for help.")
        return text

    def restartElevated(self) -> defer.Deferred[None]:
        """
        Stop the client (freeing its ports), start the app again as
        administrator for the address typed, then close this window; if
        Windows did not start it, say so (Connect goes on without).
        """
        restart = self.restartAsAdministrator
        if restart is None:
            return defer.succeed(None)
        address = self.address.get()

        def stopped(result: object) -> None:
            if restart(address):
                self.close()
            else:
                self.note.configure(text="Windows did not restart the app as administrator; "
                                         "press Connect to go on without.")

        return self.controller.disconnect().addCallback(stopped)

    def detach(self) -> None:
        """
        Stop following the status and the log.
        """
        self._unobserve()
        if self._logged in self.buffer.listeners:
            self.buffer.listeners.remove(self._logged)

    def close(self) -> defer.Deferred[None]:
        """
        Stop the client (removing the hosts line), then call C{onClose}.
        """
        if self.closing is None:
            self.closing = self.controller.disconnect()

            def closed(result: object) -> None:
                self.detach()
                if self.onClose is not None:
                    self.onClose()

            self.closing.addBoth(closed)
        return self.closing


#: What "Check this server" says when every step play needs passed.
ALL_WELL = "Everything needed for play works: this server can be used from here."


def serverChecker(
    reactor: Any,
    tls: Callable[[], ClientTLS] | None = None,
    settings: Settings | None = None,
) -> ServerChecker:
    """
    What "Check this server" runs: a function of the address typed that
    returns a L{Deferred} firing with the sentence to show.  It runs
    C{pocketrelay-admin doctor}'s checks (L{pocketrelay.doctor.runChecks})
    and says the first failed step's sentence (L{Step.sentence}), or
    L{ALL_WELL} (followed by the first failure of a step play does not
    need, if any); an address the client cannot use is answered with the
    reason.  It never fails.

    @param tls: gives the client's TLS settings (its C{--ca-file} and
        client certificate), read at each check; by default the system's
        trusted authorities.
    @param settings: how patient the checks are; default doctor's.
    """
    from pocketrelay.doctor import Settings as CheckSettings
    from pocketrelay.doctor import runChecks

    checkSettings = settings if settings is not None else CheckSettings()

    def checkServer(address: str) -> defer.Deferred[str]:
        try:
            clientTLS = tls() if tls is not None else None
        except TLSConfigError as e:
            return defer.succeed(f"The client's certificate settings cannot be used: {e}")
        d = runChecks(reactor, address.strip(), checkSettings, clientTLS)

        def reported(report: Report) -> str:
            first = report.firstFailure
            if first is None:
                return ALL_WELL
            if report.playable:
                return f"{ALL_WELL} But: {first.sentence}"
            required = next(step for step in report.steps if step.failed and step.required)
            return required.sentence

        def refused(failure: Failure) -> str:
            if failure.check(BadServerURL):
                return f"This address cannot be used: {failure.value}"
            ClientWindow.log.failure("Checking the server failed", failure)
            return f"The check failed: {failure.getErrorMessage()}"

        return d.addCallbacks(reported, refused)

    return checkServer


def runWindow(
    reactor: Any, controller: AppController, buffer: LogBuffer, options: AppOptions,
    argv: Sequence[str],
) -> int:
    """
    Open the window and run until it is closed.
    """
    from pocketrelay.client.elevate import elevationFor

    try:
        root = tkinter.Tk(className=WINDOW_CLASS)
    except tkinter.TclError as e:
        if sys.stderr is not None:
            sys.stderr.write(f"pocketrelay-app: cannot open a window ({e}); "
                             f"use --headless --server URL\n")
        return 1
    elevate = elevationFor(argv)
    dataDir = options["data-dir"]

    def settings() -> dict[str, object]:
        return {
            "data directory": dataDir,
            "log folder": logDirectory(dataDir),
            "recent servers": ", ".join(controller.recentServers()) or "none",
            "options": " ".join(redact(controller.extraArguments)),
        }

    window = ClientWindow(
        root, controller, buffer, settings,
        address=options["server"],
        openLogFolder=lambda: openFolder(logDirectory(dataDir)),
        checkServer=serverChecker(reactor, lambda: loadClientTLS(
            options["ca-file"], options["client-cert"], options["client-key"],
            options["client-cert-password"],
        )),
        restartAsAdministrator=elevate,
        onClose=reactor.stop,
    )
    bridge = TkBridge(root, reactor)
    bridge.start()
    reactor.callWhenRunning(ClientWindow.log.info, "The window is open")
    if options["connect"]:
        reactor.callWhenRunning(window.connect)
    reactor.run()
    bridge.stop()
    try:
        root.destroy()
    except tkinter.TclError:
        pass
    return 0
