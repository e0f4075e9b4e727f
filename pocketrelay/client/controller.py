# -*- test-case-name: tests.test_client_app -*-
"""
What the app's window and its headless mode share:

  - L{AppController}, which builds the client service the command line
    runs (L{pocketrelay.client.tap.makeService}) for the address typed,
    starts and stops it, and mirrors its L{StatusModel} into its own;
  - L{AppOptions}, the app's command line;
  - L{LogBuffer}, the recent log lines, and L{diagnostics}, the text a
    player copies when asking for help.

The window (L{pocketrelay.client.window}) is a view over these;
L{pocketrelay.client.app} is the C{pocketrelay-app} command.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from twisted.internet import defer
from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogEvent,
    Logger,
    LogLevelFilterPredicate,
    formatEvent,
)
from twisted.python import usage
from twisted.python.failure import Failure
from zope.interface import implementer

from pocketrelay import __version__
from pocketrelay.client import tap
from pocketrelay.client.discovery import BadServerURL, normaliseServerURL
from pocketrelay.client.settings import (
    SettingsError,
    defaultDataDir,
    loadRecentServers,
    loadSavedServer,
    rememberServer,
)
from pocketrelay.client.status import ClientStatus, StatusModel, describe
from pocketrelay.logs import LEVELS

__all__ = [
    "DIAGNOSTIC_LOG_LINES",
    "LOG_FILE",
    "AppController",
    "AppOptions",
    "LogBuffer",
    "diagnostics",
    "logDirectory",
    "openFolder",
    "quietObserver",
    "redact",
    "statusLine",
    "versions",
]

#: The app's log file, in L{logDirectory}.
LOG_FILE = "pocketrelay-app.log"

#: Lines kept for the log pane and the diagnostics.
MAX_LOG_LINES = 500

#: Lines of the log included in the diagnostics.
DIAGNOSTIC_LOG_LINES = 40


def logDirectory(dataDir: str) -> str:
    """
    Where the app writes its log: C{logs} in the data directory.
    """
    return os.path.join(dataDir, "logs")


@implementer(ILogObserver)
@attrs.define(eq=False)
class LogBuffer:
    """
    The last log lines, for the log pane and the diagnostics; listeners
    are called with each new line.
    """

    maxLines: int = MAX_LOG_LINES
    lines: deque[str] = attrs.field(init=False)
    listeners: list[Callable[[str], None]] = attrs.field(factory=list, init=False)

    def __attrs_post_init__(self) -> None:
        self.lines = deque(maxlen=self.maxLines)

    def __call__(self, event: LogEvent) -> None:
        text = formatEvent(event)
        if not text:
            return
        failure = event.get("log_failure")
        if isinstance(failure, Failure):
            text = f"{text}: {failure.getErrorMessage()}"
        level = event.get("log_level")
        name = getattr(level, "name", "info")
        line = text if name == "info" else f"[{name}] {text}"
        self.lines.append(line)
        for listener in list(self.listeners):
            listener(line)


def quietObserver(observer: ILogObserver, level: str = "info") -> ILogObserver:
    """
    C{observer} behind the command line's filters: events at C{level} or
    above, without Twisted's factory and port chatter.
    """
    predicate = LogLevelFilterPredicate(defaultLogLevel=LEVELS[level])
    filters: list[Any] = [predicate]
    if level != "debug":
        filters.append(tap._Quiet())
    return FilteringLogObserver(observer, filters)


def statusLine(status: ClientStatus) -> str:
    """
    The status as one line of C{key=value} words (for the headless mode's
    C{Status:} lines).
    """
    server = status.server
    parts = [
        f"phase={status.phase}",
        f"server={'-' if server is None else server.name}",
        f"version={'-' if server is None else server.version}",
        f"scheme={'-' if server is None else ('https' if server.secure else 'http')}",
        f"hosts={status.hosts}",
        f"listening={len(status.listeners)}",
        f"games={status.games}",
        f"tunnel={status.tunnel}",
    ]
    if status.errorKind is not None:
        parts.append(f"error={status.errorKind}")
    return " ".join(parts)


# -- the controller


@attrs.define(eq=False)
class AppController:
    """
    Builds, starts and stops the client service for the address the
    player typed, and mirrors its status.

    @ivar reactor: the reactor.
    @ivar dataDir: the client's data directory (settings, certificate,
        logs).
    @ivar extraArguments: further C{twistd pocketrelay-client} options for
        every client (e.g. C{--hosts-file}, C{--ports}).
    @ivar build: makes the client service from parsed options (the
        command line's L{tap.makeService}).
    @ivar status: the status of the current client (idle before the
        first one).
    @ivar client: the current client service, if any.
    """

    reactor: Any
    dataDir: str
    extraArguments: Sequence[str] = ()
    build: Callable[[tap.Options, Any], tap.ClientService] = tap.makeService
    status: StatusModel = attrs.field(factory=StatusModel)
    client: tap.ClientService | None = attrs.field(default=None, init=False)
    _unobserve: Callable[[], None] | None = attrs.field(default=None, init=False)
    log = Logger()

    def recentServers(self) -> list[str]:
        """
        The servers used recently, most recent first (empty when the
        settings file cannot be read).
        """
        try:
            return loadRecentServers(self.dataDir)
        except SettingsError:
            return []

    def initialAddress(self) -> str:
        """
        The address to show at start: the saved server, else the most
        recent one, else nothing.
        """
        try:
            saved = loadSavedServer(self.dataDir)
        except SettingsError:
            saved = None
        recent = self.recentServers()
        return saved or (recent[0] if recent else "")

    def _mirror(self, old: ClientStatus, new: ClientStatus) -> None:
        if new.phase == "connected" and old.phase != "connected" and new.server is not None:
            # Before the observers hear of it, so they see it remembered.
            try:
                rememberServer(self.dataDir, new.server.url)
            except SettingsError as e:
                self.log.warn("Cannot remember the server: {reason}", reason=str(e))
        self.status.update(**attrs.asdict(new, recurse=False))

    def _refuse(self, message: str, kind: str) -> defer.Deferred[None]:
        self.log.error("pocketrelay-app: {problem}", problem=message)
        self.status.update(
            **attrs.asdict(ClientStatus(), recurse=False)
            | {"phase": "failed", "lastError": message, "errorKind": kind}
        )
        return defer.succeed(None)

    def connect(self, address: str) -> defer.Deferred[None]:
        """
        Start a client for C{address} (stopping the current one first).
        The L{Deferred} fires once it runs or has failed (see
        L{status}); it does not fail.
        """
        d = self.disconnect()
        d.addCallback(lambda _: self._connect(address))
        return d

    def _connect(self, address: str) -> defer.Deferred[None]:
        try:
            normaliseServerURL(address)
        except BadServerURL as e:
            return self._refuse(str(e), "bad-address")
        options = tap.Options()
        try:
            options.parseOptions(
                ["--server", address, "--data-dir", self.dataDir, *self.extraArguments]
            )
            client = self.build(options, self.reactor)
        except (usage.UsageError, tap.StartupError) as e:
            return self._refuse(str(e).removeprefix("pocketrelay-client: "), "other")
        except Exception as e:
            # A bug, or a one-file build missing a module: said, not a
            # window (or a headless run) left waiting for nothing.
            self.log.failure("Cannot build the client")
            return self._refuse(f"cannot start the client: {e}", "other")
        client.fatal = lambda reactor, status: None
        if self._unobserve is not None:
            self._unobserve()
        self.client = client
        self._unobserve = client.status.observe(self._mirror)
        self._mirror(client.status.current, client.status.current)
        client.startService()
        d = client.whenReady()
        d.addErrback(lambda f: self._startFailed(client, f))
        return d

    def _startFailed(self, client: tap.ClientService, failure: Failure) -> defer.Deferred[Any] | None:
        if not failure.check(tap.StartupFailed):
            self.log.failure("Unexpected failure of the client", failure)
        if client.running:
            return client.stopService().addCallback(lambda _: None)
        return None

    def disconnect(self) -> defer.Deferred[None]:
        """
        Stop the current client (removing the hosts line); fires when it
        has stopped.
        """
        client = self.client
        if client is None or not client.running:
            return defer.succeed(None)
        return client.stopService().addCallback(lambda _: None)


# -- diagnostics


_SECRET = re.compile(
    r"(?i)((?:password|passwd|token|secret|association|session[_ ]?key|cookie)"
    r"[\w-]*[\"']?\s*[=:]\s*[\"']?)[^\s\"',}]+"
)

_SECRET_OPTIONS = ("--client-cert-password",)


def redact(arguments: Sequence[str]) -> list[str]:
    """
    Command-line arguments with the value of every secret option hidden.
    """
    shown: list[str] = []
    hideNext = False
    for argument in arguments:
        if hideNext:
            shown.append("(hidden)")
            hideNext = False
            continue
        name, sep, _ = argument.partition("=")
        if name in _SECRET_OPTIONS:
            if sep:
                shown.append(f"{name}=(hidden)")
            else:
                shown.append(argument)
                hideNext = True
            continue
        shown.append(argument)
    return shown


def versions() -> dict[str, str]:
    """
    The versions that matter when something goes wrong.
    """
    import twisted

    found = {
        "pocketrelay": __version__,
        "Python": platform.python_version(),
        "Twisted": twisted.__version__,
        "system": platform.platform(),
    }
    try:
        import tkinter

        found["Tk"] = str(tkinter.TkVersion)
    except ImportError:
        found["Tk"] = "not available"
    try:
        import ssl

        found["OpenSSL"] = ssl.OPENSSL_VERSION
    except ImportError:
        pass
    return found


def diagnostics(
    status: ClientStatus,
    settings: Mapping[str, object],
    logLines: Sequence[str],
    versionInfo: Mapping[str, str] | None = None,
) -> str:
    """
    The text of "copy diagnostics": versions, settings, status (in plain
    words) and the last log lines, with passwords and tokens hidden.
    """
    if versionInfo is None:
        versionInfo = versions()
    words = describe(status)
    lines = ["Pocket Relay app diagnostics", "", "Versions:"]
    lines += [f"  {name}: {value}" for name, value in versionInfo.items()]
    lines += ["", "Settings:"]
    lines += [f"  {name}: {value}" for name, value in settings.items()]
    lines += ["", "Status:", f"  {statusLine(status)}"]
    lines += [f"  {name}: {value}" for name, value in words.items()]
    if status.hostsProblem:
        lines.append(f"  hosts problem: {status.hostsProblem}")
    lines += ["", f"Last {min(len(logLines), DIAGNOSTIC_LOG_LINES)} log lines:"]
    lines += [f"  {line}" for line in list(logLines)[-DIAGNOSTIC_LOG_LINES:]]
    return _SECRET.sub(r"\1(hidden)", "\n".join(lines) + "\n")


def openFolder(
    path: str,
    platform: str | None = None,
    startfile: Callable[[str], Any] | None = None,
    run: Callable[[list[str]], Any] = subprocess.Popen,
) -> None:
    """
    Open C{path} in the system's file manager (created if missing).
    """
    if platform is None:
        platform = sys.platform
    os.makedirs(path, exist_ok=True)
    if platform == "win32":
        if startfile is None:
            startfile = os.startfile  # type: ignore[attr-defined]
        startfile(path)
    elif platform == "darwin":
        run(["open", path])
    else:
        run(["xdg-open", path])


# -- the command line


class AppOptions(usage.Options):
    """
    Options of C{pocketrelay-app}.
    """

    synopsis = "[options]"
    longdesc = (
        "The Pocket Relay client in one window: type the server's address, press "
        "Connect. With --headless, runs the same client without a window until "
        "stopped (Ctrl+C), logging each status change. See docs/client.md."
    )
    optParameters = [
        ["server", "s", None, "The server's address [default: the saved server]."],
        ["data-dir", "d", None,
         f"Where the settings, certificate and logs go [default: {defaultDataDir()}]."],
        ["hosts-file", None, None, "Hosts file to edit [default: the system's]."],
        ["ca-file", None, None, "Extra trusted certificate authorities (PEM)."],
        ["client-cert", None, None, "Client certificate (PEM or PKCS#12)."],
        ["client-key", None, None, "PEM private key of --client-cert."],
        ["client-cert-password", None, None, "Password of the certificate or key."],
        ["log-level", None, "info", "debug, info, warn or error."],
        ["ports", None, None,
         "For tests: REDIRECTOR,BLAZE,TELEMETRY,QOS,HTTP[,TUNNEL] local ports "
         "(0 = any free port; TUNNEL is UDP, 42132 when left out)."],
    ]
    optFlags = [
        ["headless", None, "No window: run the client until stopped, logging its status."],
        ["connect", None, "With the window: connect at once to --server (or the saved "
                          "server)."],
        ["no-hosts", None, "Do not edit the hosts file (it already maps "
                           "gosredirector.ea.com to 127.0.0.1)."],
    ]

    def opt_version(self) -> None:
        """
        Print the pocketrelay version and exit.
        """
        # A console-less launcher (pythonw) has no standard output.
        if sys.stdout is not None:
            sys.stdout.write(f"pocketrelay-app {__version__}\n")
        sys.exit(0)

    def postOptions(self) -> None:
        if self["log-level"] not in LEVELS:
            raise usage.UsageError(
                f"--log-level must be one of {', '.join(LEVELS)}, not {self['log-level']!r}"
            )
        if self["no-hosts"] and self["hosts-file"] is not None:
            raise usage.UsageError("--hosts-file and --no-hosts contradict each other")
        self["data-dir"] = self["data-dir"] or defaultDataDir()

    def clientArguments(self) -> list[str]:
        """
        The C{twistd pocketrelay-client} options every client gets (all
        but C{--server} and C{--data-dir}).
        """
        arguments = ["--log-level", self["log-level"]]
        for name in ("hosts-file", "ca-file", "client-cert", "client-key",
                     "client-cert-password", "ports"):
            if self[name] is not None:
                arguments += [f"--{name}", self[name]]
        if self["no-hosts"]:
            arguments.append("--no-hosts")
        return arguments
