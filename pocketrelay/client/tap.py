# -*- test-case-name: tests.test_client_tap -*-
"""
C{twistd pocketrelay-client}: options and service tree.

C{makeService} builds, without starting anything, a L{ClientService} whose
children are the local servers, all on 127.0.0.1:

  - the HTTP proxy (42131), the QoS responder (UDP 42130), telemetry
    (42129), the Blaze proxy (42128) and the redirector (42127, SSL 3.0);
  - the tunnel's pool of UDP sockets (the first on 42132), for games the
    server relays;
  - the hosts-file entry for C{gosredirector.ea.com} (unless
    C{--no-hosts}).

When started, the L{ClientService} first checks the server
(C{GET {base}api/server}); only when it answers as a Pocket Relay server
of a supported version are the children started, in the order above
(the hosts entry last, removed first at stop).  A server that cannot be
used, or a port that is taken, stops the client with one log line and
exit status 1.  For a server that cannot be used, that line is the
first failing step of C{doctor}'s checks and its one-sentence diagnosis
(L{pocketrelay.doctor.explainStartup}).

What the client does is kept in its L{ClientService.status} (see
L{pocketrelay.client.status}): the command line logs its changes, the
app's window (C{pocketrelay-app}) shows them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import attrs
from twisted.application import service
from twisted.internet import defer
from twisted.internet.error import CannotListenError
from twisted.logger import (
    FilteringLogObserver,
    ILogFilterPredicate,
    ILogObserver,
    LogEvent,
    Logger,
    LogLevel,
    PredicateResult,
)
from twisted.python import usage
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgent, IResponse
from zope.interface import implementer

from pocketrelay import __version__
from pocketrelay.client.discovery import (
    USER_AGENT,
    BadServerURL,
    CertificateNotTrusted,
    ClientTLS,
    DiscoveryError,
    NotPocketRelayServer,
    ServerInfo,
    ServerTooOld,
    ServerUnreachable,
    ServerURL,
    TLSConfigError,
    discoverServer,
    makeAgent,
    normaliseServerURL,
    readLimitedBody,
    upstreamEndpoint,
)
from pocketrelay.client.settings import (
    SettingsError,
    defaultDataDir,
    loadSavedServer,
    saveServer,
)
from pocketrelay.client.status import (
    ClientStatus,
    ListenerStatus,
    ServerStatus,
    StatusModel,
)
from pocketrelay.logs import LEVELS, LoggingMultiService, filteredObserver

__all__ = [
    "DEFAULT_PORTS",
    "ClientService",
    "HostsService",
    "LocalListener",
    "Options",
    "Ports",
    "StartupError",
    "StartupFailed",
    "TelemetryForwarder",
    "makeService",
]

log = Logger()

#: Where the local servers listen; only 127.0.0.1.
INTERFACE = "127.0.0.1"


@attrs.frozen
class Ports:
    """
    The local ports.  The game and the server expect the defaults; other
    values are for tests (0 picks a free port).

    @ivar tunnel: the UDP port of the tunnel pool's first socket (the
        server advertises 127.0.0.1:42132 to the game for tunnelled
        players: L{pocketrelay.client.tunnel.HOST_PORT}).
    """

    redirector: int = 42127
    blaze: int = 42128
    telemetry: int = 42129
    qos: int = 42130
    http: int = 42131
    tunnel: int = 42132

    @classmethod
    def parse(cls, text: str) -> Ports:
        """
        Parse C{REDIRECTOR,BLAZE,TELEMETRY,QOS,HTTP[,TUNNEL]}; without
        C{TUNNEL} the tunnel keeps its default port.

        @raise ValueError: if it is not five or six ports.
        """
        parts = [part.strip() for part in text.split(",")]
        if len(parts) not in (5, 6) or not all(part.isdigit() for part in parts):
            raise ValueError(
                f"--ports expects five or six ports separated by commas, not {text!r}"
            )
        numbers = [int(part) for part in parts]
        if any(number > 65535 for number in numbers):
            raise ValueError(f"--ports: {text!r} has a port above 65535")
        return cls(*numbers)


DEFAULT_PORTS = Ports()


class StartupError(SystemExit):
    """
    A fatal problem found before the reactor runs: twistd prints the
    message and exits with status 1.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"pocketrelay-client: {message}")


class Options(usage.Options):
    """
    Options of C{twistd pocketrelay-client}.
    """

    synopsis = "[options]"
    longdesc = (
        "Runs beside Mass Effect 3 and connects it to a Pocket Relay server: "
        "points gosredirector.ea.com at 127.0.0.1 in the hosts file and runs the "
        "local redirector (42127), Blaze proxy (42128), telemetry (42129), QoS "
        "(42130/udp) and HTTP proxy (42131). See docs/client.md."
    )
    optParameters = [
        ["server", "s", None,
         "URL of the Pocket Relay server, e.g. me3.example.org or "
         "https://me3.example.org/ [default: the saved server]."],
        ["data-dir", "d", None,
         f"Where the client keeps its settings and certificate [default: {defaultDataDir()}]."],
        ["hosts-file", None, None, "Hosts file to edit [default: the system's]."],
        ["ca-file", None, None,
         "Extra trusted certificate authorities (PEM) for an HTTPS server."],
        ["client-cert", None, None,
         "Client certificate for servers that require one: PEM (key included or "
         "in --client-key) or PKCS#12 (.p12/.pfx, key included)."],
        ["client-key", None, None, "PEM private key of --client-cert."],
        ["client-cert-password", None, None,
         "Password of the PKCS#12 file or of the key [default: none]."],
        ["log-level", None, "info", "debug, info, warn or error."],
        ["ports", None, None,
         "For tests: REDIRECTOR,BLAZE,TELEMETRY,QOS,HTTP[,TUNNEL] local ports "
         "(0 = any free port; TUNNEL is UDP, 42132 when left out). The game "
         "expects the defaults 42127-42132."],
    ]
    optFlags = [
        ["save", None, "Remember --server as the default server once it has answered."],
        ["no-hosts", None, "Do not edit the hosts file (it already maps "
                           "gosredirector.ea.com to 127.0.0.1)."],
    ]

    def __init__(self) -> None:
        super().__init__()
        self.url: ServerURL | None = None
        self.tls: ClientTLS | None = None
        self.ports = DEFAULT_PORTS
        self.dataDir = ""
        self.hostsPath: str | None = None

    def opt_version(self) -> None:
        """
        Print the pocketrelay version and exit.
        """
        sys.stdout.write(f"pocketrelay {__version__}\n")
        sys.exit(0)

    def postOptions(self) -> None:
        from pocketrelay.client.discovery import loadClientTLS
        from pocketrelay.client.hosts import defaultHostsPath

        if self["log-level"] not in LEVELS:
            raise usage.UsageError(
                f"--log-level must be one of {', '.join(LEVELS)}, not {self['log-level']!r}"
            )
        self.dataDir = self["data-dir"] or defaultDataDir()
        given = self["server"]
        if given is None:
            if self["save"]:
                raise usage.UsageError("--save needs --server URL")
            try:
                given = loadSavedServer(self.dataDir)
            except SettingsError as e:
                raise usage.UsageError(f"{e}; give the server with --server URL")
            if given is None:
                raise usage.UsageError(
                    "no server: give one with --server URL (add --save to remember it)"
                )
        try:
            self.url = normaliseServerURL(given)
        except BadServerURL as e:
            raise usage.UsageError(str(e))
        try:
            self.tls = loadClientTLS(
                self["ca-file"],
                self["client-cert"],
                self["client-key"],
                self["client-cert-password"],
            )
        except TLSConfigError as e:
            raise usage.UsageError(str(e))
        if self["ports"] is not None:
            try:
                self.ports = Ports.parse(self["ports"])
            except ValueError as e:
                raise usage.UsageError(str(e))
        if self["no-hosts"]:
            if self["hosts-file"] is not None:
                raise usage.UsageError("--hosts-file and --no-hosts contradict each other")
            self.hostsPath = None
        else:
            self.hostsPath = self["hosts-file"] or defaultHostsPath()


# -- children


class ListenError(Exception):
    """
    A local port could not be opened.
    """


class StartupFailed(Exception):
    """
    The client could not start (see L{ClientService.whenReady}); the
    message is the line logged.
    """


class LocalListener(service.Service):
    """
    Listens on 127.0.0.1 when started.  The factory (or datagram protocol)
    is built at that moment by C{buildFactory}, so it can use what the
    client learnt when it started (the server, the other ports).

    @ivar label: what listens, for messages (e.g. C{"Blaze proxy"}).
    @ivar configuredPort: the port asked for (0 for any).
    @ivar udp: a UDP port rather than TCP.
    @ivar port: the listening port once started.
    @ivar factory: what C{buildFactory} returned.
    """

    def __init__(
        self,
        label: str,
        configuredPort: int,
        buildFactory: Callable[[], Any],
        reactor: Any,
        udp: bool = False,
    ) -> None:
        self.label = label
        self.configuredPort = configuredPort
        self.buildFactory = buildFactory
        self.reactor = reactor
        self.udp = udp
        self.port: Any = None
        self.factory: Any = None

    @property
    def actualPort(self) -> int:
        """
        The port listened on (the configured one until started).
        """
        if self.port is None:
            return self.configuredPort
        return int(self.port.getHost().port)

    def startService(self) -> None:
        self.factory = self.buildFactory()
        try:
            if self.udp:
                self.port = self.reactor.listenUDP(
                    self.configuredPort, self.factory, interface=INTERFACE
                )
            else:
                self.port = self.reactor.listenTCP(
                    self.configuredPort, self.factory, interface=INTERFACE
                )
        except CannotListenError as e:
            reason = getattr(e.socketError, "strerror", None) or e.socketError
            kind = "UDP" if self.udp else "TCP"
            raise ListenError(
                f"cannot listen on {INTERFACE}:{self.configuredPort} ({kind}) for the "
                f"{self.label}: {reason} (is another Pocket Relay client running?)"
            )
        super().startService()

    def stopService(self) -> defer.Deferred[None] | None:
        super().stopService()
        closeAll = getattr(self.factory, "closeAll", None)
        if closeAll is not None:
            closeAll()
        if self.port is not None:
            port, self.port = self.port, None
            return defer.maybeDeferred(port.stopListening)
        return None


class HostsService(service.Service):
    """
    Adds the hosts entry for C{gosredirector.ea.com} when started and
    removes our line when stopped.  A problem (no permission) is logged
    with what to do, and the client keeps running.

    @ivar status: the client's L{StatusModel}, told how the file stands.
    """

    def __init__(self, path: str, status: StatusModel | None = None) -> None:
        from pocketrelay.client.hosts import HostsEntry

        self.path = path
        self.entry = HostsEntry(path)
        self.status = status if status is not None else StatusModel()

    def startService(self) -> None:
        from pocketrelay.client.hosts import (
            EntryState,
            HostsError,
            HostsPermissionError,
        )

        super().startService()
        try:
            state = self.entry.apply()
        except HostsError as e:
            log.warn("{problem}", problem=str(e))
            kind = "needs-admin" if isinstance(e, HostsPermissionError) else "error"
            self.status.update(hosts=kind, hostsPath=self.path, hostsProblem=str(e))
        else:
            self.status.update(
                hosts="existing" if state == EntryState.EXISTING else "ready",
                hostsPath=self.path,
                hostsProblem=None,
            )

    def stopService(self) -> None:
        from pocketrelay.client.hosts import HostsError, HostsPermissionError

        super().stopService()
        try:
            self.entry.remove()
        except HostsError as e:
            log.warn("{problem}", problem=str(e))
            kind = "needs-admin" if isinstance(e, HostsPermissionError) else "error"
            self.status.update(hosts=kind, hostsProblem=str(e))
        else:
            self.status.update(hosts="pending", hostsProblem=None)


class TelemetryForwarder:
    """
    Sends each telemetry record to C{POST {base}api/server/telemetry} as
    JSON.  Failures are logged (the first at warning level, later ones at
    debug level); a C{404} means the server does not take telemetry, so
    forwarding stops after one log line.  At most C{maxInFlight} requests
    are outstanding; records beyond that are dropped.
    """

    log = Logger()

    def __init__(self, agent: IAgent, target: str, maxInFlight: int = 8) -> None:
        self.agent = agent
        self.target = target
        self.maxInFlight = maxInFlight
        self.enabled = True
        self.inFlight = 0
        self.sent = 0
        self.dropped = 0
        self._complained = False

    def __call__(self, record: Any) -> defer.Deferred[None] | None:
        from pocketrelay.client.httpproxy import BytesProducer

        if not self.enabled:
            return None
        if self.inFlight >= self.maxInFlight:
            self.dropped += 1
            return None
        body = json.dumps(record.toJSON(), separators=(",", ":")).encode()
        headers = Headers(
            {b"content-type": [b"application/json"], b"user-agent": [USER_AGENT.encode()]}
        )
        self.inFlight += 1
        d: defer.Deferred[Any] = self.agent.request(b"POST", self.target.encode("ascii"), headers, BytesProducer(body))
        d.addCallback(self._answered)
        d.addErrback(self._failed)

        def done(result: object) -> None:
            self.inFlight -= 1

        d.addBoth(done)
        return d

    def _complain(self, message: str) -> None:
        if self._complained:
            self.log.debug("Telemetry: {problem}", problem=message)
        else:
            self._complained = True
            self.log.warn("Telemetry: {problem} (further failures logged at debug level)",
                          problem=message)

    def _answered(self, response: IResponse) -> defer.Deferred[Any]:
        d = readLimitedBody(response, 64 * 1024)
        d.addErrback(lambda failure: None)
        if response.code == 404:
            if self.enabled:
                self.enabled = False
                self.log.info(
                    "The server does not take telemetry (404 for {target}); not forwarding it",
                    target=self.target,
                )
        elif 200 <= response.code < 300:
            self.sent += 1
        else:
            self._complain(f"the server answered {response.code} to {self.target}")
        return d

    def _failed(self, failure: Failure) -> None:
        self._complain(f"cannot send a record to {self.target}: {failure.getErrorMessage()}")


# -- the whole client


def _exitProcess(reactor: Any, status: int) -> None:
    """
    Stop the reactor and end the process with C{status} once it has shut
    down (twistd itself always exits 0 after C{reactor.stop()}).
    """

    def exitNow() -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(status)

    reactor.addSystemEventTrigger("after", "shutdown", exitNow)
    if getattr(reactor, "running", True):
        reactor.stop()
    else:
        # twistd starts the services just before it runs the reactor.
        reactor.callWhenRunning(reactor.stop)


#: Events hidden from the console unless the log level is debug: Twisted's
#: notes about every factory and port, which say nothing to a player.
_CHATTER = ("Starting factory", "Stopping factory")


@implementer(ILogFilterPredicate)
class _Quiet:
    def __call__(self, event: LogEvent) -> Any:
        if event.get("log_level") in (LogLevel.debug, LogLevel.info):
            text = event.get("log_format") or ""
            if isinstance(text, str) and text.startswith(_CHATTER):
                return PredicateResult.no
            legacy = event.get("log_text") or ""
            if isinstance(legacy, str) and (
                " starting on " in legacy
                or (legacy.startswith("(") and legacy.endswith("Closed)"))
            ):
                return PredicateResult.no
        return PredicateResult.maybe


def consoleObserver(twistdOptions: Any, level: str) -> ILogObserver:
    """
    The observer twistd would use, at C{level}, without Twisted's factory
    and port chatter unless C{level} is C{debug}.
    """
    observer = filteredObserver(twistdOptions, level)
    if level == "debug":
        return observer
    return FilteringLogObserver(observer, [_Quiet()])


class ClientService(LoggingMultiService):
    """
    The client's service tree.  Starting it checks the server, then
    starts the children (the local servers and the hosts entry).

    @ivar url: the server's base URL.
    @ivar server: the L{ServerInfo} once the server has answered.
    @ivar qosAddress: the address the QoS answers report, once known.
    @ivar listeners: the L{LocalListener}s by name: C{"http"}, C{"qos"},
        C{"telemetry"}, C{"blaze"}, C{"redirector"}.
    @ivar failed: the fatal start-up message, if starting failed.
    @ivar telemetry: the L{TelemetryForwarder} once started.
    @ivar status: the L{StatusModel} every part of the client updates; the
        notable changes are logged from it (L{_logChange}), and the window
        shows it.
    """

    log = Logger()

    def __init__(
        self,
        url: ServerURL,
        tls: ClientTLS,
        reactor: Any,
        observer: ILogObserver | None = None,
        dataDir: str | None = None,
        save: bool = False,
        fatal: Callable[[Any, int], None] = _exitProcess,
        explain: Callable[[Any, ServerURL, ClientTLS], defer.Deferred[Any]] | None = None,
    ) -> None:
        super().__init__(observer)
        self.url = url
        self.tls = tls
        self.reactor = reactor
        self.dataDir = dataDir
        self.save = save
        self.fatal = fatal
        self.server: ServerInfo | None = None
        self.qosAddress: str | None = None
        self.listeners: dict[str, LocalListener] = {}
        self.failed: str | None = None
        self.telemetry: TelemetryForwarder | None = None
        self.agent, self.pool = makeAgent(reactor, tls, persistent=True)
        #: Explains a server that cannot be used: C{(reactor, url, tls) ->
        #: Deferred[Step | None]}, the first failing step of doctor's
        #: checks (L{pocketrelay.doctor.explainStartup}); L{None} keeps
        #: the check's own message.
        self.explain: Callable[[Any, ServerURL, ClientTLS], defer.Deferred[Any]] | None = (
            explain
        )
        self._starting: defer.Deferred[Any] | None = None
        self._waiting: list[defer.Deferred[None]] = []
        self._ready = False
        self._startFailure: Failure | None = None
        self.status = StatusModel(ClientStatus(url=str(url)))
        self.status.observe(self._logChange)

    def _logChange(self, old: ClientStatus, new: ClientStatus) -> None:
        """
        Log the notable changes of the status: the command line's lines.
        """
        if new.phase == "connecting" and old.phase != "connecting":
            self.log.info("Checking the Pocket Relay server at {url}", url=new.url)
        if new.server is not None and new.server != old.server:
            self.log.info(
                "Server {url} is a Pocket Relay server, version {version}",
                url=new.server.url,
                version=new.server.version,
            )
        if new.phase == "connected" and old.phase != "connected":
            summary = ", ".join(map(str, new.listeners))
            self.log.info("Listening on {interface}: {summary}", interface=INTERFACE, summary=summary)
            self.log.info("Ready: start Mass Effect 3 and go to multiplayer")
        if new.phase == "failed" and old.phase != "failed":
            self.log.critical("pocketrelay-client: {problem}; stopping", problem=new.lastError)

    def whenReady(self) -> defer.Deferred[None]:
        """
        A L{Deferred} that fires when the children have started, or fails
        with L{StartupFailed} when starting failed.
        """
        if self._ready:
            return defer.succeed(None)
        if self._startFailure is not None:
            return defer.fail(self._startFailure)
        d: defer.Deferred[None] = defer.Deferred()
        self._waiting.append(d)
        return d

    def _settle(self, failure: Failure | None) -> None:
        self._ready = failure is None
        self._startFailure = failure
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            if failure is None:
                d.callback(None)
            else:
                d.errback(failure)

    def addListener(self, name: str, listener: LocalListener) -> LocalListener:
        """
        Add a L{LocalListener} child under C{name}.
        """
        self.listeners[name] = listener
        listener.setName(name)
        listener.setServiceParent(self)
        return listener

    def startService(self) -> None:
        # Children start only once the server has answered.
        service.Service.startService(self)
        self.status.update(phase="connecting", lastError=None, errorKind=None)
        d = discoverServer(self.agent, self.url, self.reactor)
        self._starting = d
        d.addCallback(self._discovered)
        d.addCallback(lambda _: self._startChildren())
        d.addErrback(self._startFailed)

    def _discovered(self, server: ServerInfo) -> defer.Deferred[None]:
        from pocketrelay.client.qos import publicAddress

        self.server = server
        self.status.update(server=ServerStatus(
            url=str(server.url),
            name=server.url.netloc,
            version=server.version,
            secure=server.url.secure,
        ))
        if self.save and self.dataDir is not None:
            try:
                path = saveServer(self.dataDir, str(server.url))
            except SettingsError as e:
                self.log.warn("Cannot save the default server: {reason}", reason=str(e))
            else:
                self.log.info("Saved {url} as the default server in {path}",
                              url=str(server.url), path=path)
        d = publicAddress(server, self.reactor.resolve)

        def known(address: str) -> None:
            self.qosAddress = address

        return d.addCallback(known)

    def _startChildren(self) -> None:
        self._starting = None
        if not self.running:
            return
        for child in self:
            child.startService()
        self.status.update(
            phase="connected",
            listeners=tuple(
                ListenerStatus(listener.label, listener.actualPort, listener.udp)
                for listener in self.listeners.values()
            ),
        )
        self._settle(None)

    def _startFailed(self, failure: Failure) -> None:
        self._starting = None
        if not self.running:
            return
        if failure.check(DiscoveryError) and self.explain is not None:
            # Say which step failed and what fixes it, as doctor would.
            d = self.explain(self.reactor, self.url, self.tls)
            self._starting = d

            def explained(step: Any) -> None:
                self._starting = None
                if not self.running:
                    return
                if step is None:
                    self._stop(str(failure.value), failure)
                else:
                    self.log.debug("The server check said: {reason}", reason=str(failure.value))
                    self._stop(step.sentence, failure)

            d.addCallback(explained)
            return
        if failure.check(DiscoveryError, ListenError):
            message = str(failure.value)
        else:
            self.log.failure("Unexpected error while starting", failure)
            message = f"unexpected error while starting: {failure.getErrorMessage()}"
        self._stop(message, failure)

    def _stop(self, message: str, failure: Failure) -> None:
        """
        Stop the client for a start-up failure: C{message} says why (it
        becomes the status's C{lastError}), C{failure} is what failed.
        """
        self.failed = message
        self.status.update(phase="failed", lastError=message, errorKind=_errorKind(failure))
        self.fatal(self.reactor, 1)
        self._settle(Failure(StartupFailed(message)))

    def stopService(self) -> defer.Deferred[Any]:
        service.Service.stopService(self)
        if self._starting is not None:
            d, self._starting = self._starting, None
            d.cancel()
        failed = self.status.current.phase == "failed"
        if not failed:
            self.status.update(phase="stopping")
        stopping = [
            defer.maybeDeferred(child.stopService)
            for child in reversed(list(self))
            if child.running
        ]
        stopping.append(defer.maybeDeferred(self.pool.closeCachedConnections))

        def stopped(result: object) -> object:
            self.status.update(
                phase="failed" if failed else "idle", listeners=(), games=0, tunnel="off"
            )
            return result

        return defer.DeferredList(stopping).addCallback(stopped)


def _errorKind(failure: Failure) -> str:
    """
    The L{pocketrelay.client.status.ERROR_KINDS} value for a start-up
    failure.
    """
    kinds: list[tuple[type[BaseException], str]] = [
        (ServerUnreachable, "unreachable"),
        (NotPocketRelayServer, "not-pocket-relay"),
        (ServerTooOld, "too-old"),
        (CertificateNotTrusted, "certificate"),
        (BadServerURL, "bad-address"),
        (ListenError, "port-taken"),
    ]
    for kind, name in kinds:
        if failure.check(kind):
            return name
    return "other"


def makeService(options: Options, reactor: Any = None) -> ClientService:
    """
    Build the client's service tree from parsed options.
    """
    if reactor is None:
        from twisted.internet import reactor as defaultReactor

        reactor = defaultReactor
    url, tls = options.url, options.tls
    assert url is not None and tls is not None
    ports = options.ports

    from twisted.internet.endpoints import connectProtocol

    from pocketrelay.client.blazeproxy import BlazeProxyFactory
    from pocketrelay.client.httpproxy import ProxySite, ServerProxyResource
    from pocketrelay.client.qos import QosProtocol
    from pocketrelay.client.telemetry import TelemetryFactory
    from pocketrelay.doctor import explainStartup

    redirector: Any = None
    try:
        from pocketrelay.client.certificate import CertificateError, CertificateStore
        from pocketrelay.client.redirector import RedirectorFactory
    except ImportError as e:
        log.warn("The redirector is not available ({reason}); the game cannot find the "
                 "server without it", reason=str(e))
    else:
        try:
            redirector = CertificateStore(options.dataDir).loadOrCreate()
        except (OSError, CertificateError) as e:
            raise StartupError(
                f"cannot prepare the redirector certificate in {options.dataDir}: "
                f"{getattr(e, 'strerror', None) or e}"
            )

    top = ClientService(
        url,
        tls,
        reactor,
        observer=consoleObserver(getattr(options, "parent", None), options["log-level"]),
        dataDir=options.dataDir,
        save=bool(options["save"]),
        explain=explainStartup,
    )

    def server() -> ServerInfo:
        assert top.server is not None
        return top.server

    def buildHTTP() -> Any:
        resource = ServerProxyResource(top.agent, server().url, reactor)
        return ProxySite(resource, reactor)

    def buildQoS() -> Any:
        return QosProtocol(top.qosAddress or "0.0.0.0", reactor)

    def buildTelemetry() -> Any:
        forwarder = TelemetryForwarder(top.agent, server().url.child("api/server/telemetry"))
        factory = TelemetryFactory(forwarder)
        top.telemetry = forwarder
        return factory

    def buildBlaze() -> Any:
        def connect(protocol: Any) -> defer.Deferred[Any]:
            return connectProtocol(upstreamEndpoint(reactor, server().url, tls), protocol)

        return BlazeProxyFactory(
            server(),
            connect,
            reactor,
            httpPort=http.actualPort,
            sessionsChanged=lambda count: top.status.update(games=count),
        )

    def buildRedirector() -> Any:
        return RedirectorFactory(
            INTERFACE,
            blaze.actualPort,
            redirector.certificate,
            redirector.key,
            clock=reactor,
        )

    http = top.addListener("http", LocalListener("HTTP proxy", ports.http, buildHTTP, reactor))
    top.addListener("qos", LocalListener("QoS", ports.qos, buildQoS, reactor, udp=True))
    top.addListener(
        "telemetry", LocalListener("telemetry", ports.telemetry, buildTelemetry, reactor)
    )
    blaze = top.addListener("blaze", LocalListener("Blaze proxy", ports.blaze, buildBlaze, reactor))
    if redirector is not None:
        top.addListener(
            "redirector",
            LocalListener("redirector", ports.redirector, buildRedirector, reactor),
        )
    from pocketrelay.client.tunnel import LazyTunnelService, httpConnector

    # The tunnel for games the server relays (players behind strict NAT):
    # UDP when the server offers a port, else the HTTP upgrade.
    def tunnelChanged(state: str, kind: str) -> None:
        shown = {"stopped": "off", "connecting": "connecting", "failed": "failed"}
        top.status.update(tunnel=shown.get(state, kind))

    tunnel = LazyTunnelService(
        server,
        reactor,
        connectHTTP=httpConnector(reactor, url, tls),
        stateChanged=tunnelChanged,
        hostPort=ports.tunnel,
    )
    tunnel.setName("tunnel")
    tunnel.setServiceParent(top)
    if options.hostsPath is None:
        top.status.update(hosts="skipped")
    else:
        hosts = HostsService(options.hostsPath, top.status)
        hosts.setName("hosts")
        hosts.setServiceParent(top)
    return top
