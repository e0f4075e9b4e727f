# -*- test-case-name: tests.test_tap -*-
"""
C{twistd pocketrelay-server}: options and service tree.

C{makeService} builds, without starting anything:

  - the data directory (created with mode 0700 on first run) and its secret
    key (C{secret.bin}, mode 0600);
  - the SQLite store (C{app.db}), opened and migrated when the service
    starts;
  - the L{Hub} and the HTTP site on the configured strports listener;
  - the tunnel relay: its keep-alive timer and, unless C{udp_tunnel.port}
    is 0, its UDP port (on the HTTP listener's interface).

Start-up errors (bad setting, unusable data directory, port in use,
database that cannot be opened) end twistd with one line and exit status 1.
The UDP tunnel port is the exception: if it cannot be bound, the server
logs an error and runs without it (clients use the HTTP tunnel).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from twisted.application import service
from twisted.internet import defer
from twisted.internet.error import CannotListenError
from twisted.logger import Logger
from twisted.python import usage
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath

from pocketrelay import __version__
from pocketrelay.logs import LoggingMultiService, filteredObserver
from pocketrelay.server.config import (
    ConfigError,
    Settings,
    loadSettings,
    readSecretFiles,
    secretWarnings,
    settingsDocumentation,
)

__all__ = ["Options", "makeService"]

log = Logger()


class StartupError(SystemExit):
    """
    A fatal start-up problem: twistd prints the message and exits with 1.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"pocketrelay-server: {message}")


class Options(usage.Options):
    """
    Options of C{twistd pocketrelay-server}.  Every setting can also come
    from the configuration file, an environment variable or C{--set}.
    """

    synopsis = "[options]"
    longdesc = (
        "Mass Effect 3 community server (Pocket Relay compatible). Serves the "
        "game's Blaze protocol through HTTP upgrade, the JSON API and the "
        "dashboard on one HTTP port. Settings come from built-in defaults, "
        "then --config FILE (TOML), then POCKETRELAY_* environment variables, "
        "then the command line; see docs/configuration.md or --help-settings."
    )
    optParameters = [
        ["listen", "l", None,
         "HTTP listener, a strports description [default: tcp:8080]."],
        ["data-dir", "d", None, "Data directory, created on first run [default: data]."],
        ["config", "c", None, "Configuration file (TOML)."],
        ["log-level", None, None, "debug, info, warn or error [default: info]."],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["set"] = []
        self.settings: Settings | None = None

    def opt_set(self, assignment: str) -> None:
        """
        Set any setting: --set KEY=VALUE (repeatable), e.g.
        --set dashboard.disable_registration=true
        """
        key, sep, value = assignment.partition("=")
        if not sep or not key.strip():
            raise usage.UsageError(f"--set expects KEY=VALUE, not {assignment!r}")
        self["set"].append((key.strip(), value))

    def opt_help_settings(self) -> None:
        """
        Print every setting with its default and environment variable.
        """
        sys.stdout.write(settingsDocumentation())
        sys.exit(0)

    def opt_version(self) -> None:
        """
        Print the pocketrelay version and exit.
        """
        sys.stdout.write(f"pocketrelay {__version__}\n")
        sys.exit(0)

    def postOptions(self) -> None:
        overrides: list[tuple[str, Any]] = []
        for option, key in (
            ("listen", "listen"),
            ("data-dir", "data_dir"),
            ("log-level", "log_level"),
        ):
            if self[option] is not None:
                overrides.append((key, self[option]))
        overrides.extend(self["set"])
        try:
            self.settings = readSecretFiles(
                loadSettings(self["config"], os.environ, overrides)
            )
        except ConfigError as e:
            raise usage.UsageError(str(e))
        from pocketrelay.server.web.monitoring import AddressFilter

        try:
            AddressFilter.fromSetting(self.settings["metrics.allow"])
        except ValueError as e:
            raise usage.UsageError(f"metrics.allow: {e}")


def prepareDataDirectory(path: FilePath[str]) -> FilePath[str]:
    """
    Create the data directory (mode 0700) if missing.

    @raise StartupError: if it cannot be created or is not a directory.
    """
    try:
        if not path.exists():
            path.makedirs()
            os.chmod(path.path, 0o700)
    except OSError as e:
        raise StartupError(f"cannot create data directory {path.path}: {e.strerror}")
    if not path.isdir():
        raise StartupError(f"data directory {path.path} is not a directory")
    if not os.access(path.path, os.W_OK | os.X_OK):
        raise StartupError(f"data directory {path.path} is not writable")
    return path


#: The listen backlog given to TCP listeners that do not set one: the
#: default of 50 overflows when hundreds of games reconnect at once (after
#: a restart), which costs each of them seconds of SYN retries.
DEFAULT_BACKLOG = 1024


def withBacklog(description: str) -> str:
    """
    Add C{backlog=1024} to a C{tcp:} (or bare port) strports description
    that has none.
    """
    kind = description.split(":", 1)[0]
    if kind not in ("tcp", "tcp6") and not kind.isdigit():
        return description
    if "backlog=" in description:
        return description
    return f"{description}:backlog={DEFAULT_BACKLOG}"


class ListenerService(service.Service):
    """
    Listens on a strports endpoint when started; a failure to listen is a
    fatal start-up error with one clear line.
    """

    def __init__(self, description: str, factory: Any, reactor: Any) -> None:
        #: What the operator configured, for messages.
        self.configured = description
        self.description = withBacklog(description)
        self.factory = factory
        self.reactor = reactor
        self.port: Any = None

    def privilegedStartService(self) -> None:
        from twisted.internet import endpoints

        try:
            endpoint = endpoints.serverFromString(self.reactor, self.description)
        except (ValueError, KeyError, TypeError) as e:
            raise StartupError(f"invalid listen description {self.configured!r}: {e}")
        d = endpoint.listen(self.factory)
        if not d.called:
            # Asynchronous endpoints (rare): note the port when ready.
            d.addCallback(self._listening)
            d.addErrback(lambda f: log.failure("Cannot listen on {description}", f,
                                               description=self.description))
            super().privilegedStartService()
            return
        result: list[Any] = []
        d.addBoth(result.append)
        outcome = result[0]
        if isinstance(outcome, Failure):
            reason = outcome.value
            if isinstance(reason, CannotListenError):
                raise StartupError(
                    f"cannot listen on {self.configured}: "
                    f"{getattr(reason.socketError, 'strerror', None) or reason.socketError}"
                )
            raise StartupError(f"cannot listen on {self.configured}: {reason}")
        self._listening(outcome)
        super().privilegedStartService()

    def _listening(self, port: Any) -> None:
        self.port = port
        address = port.getHost()
        log.info(
            "pocketrelay {version} listening for HTTP on {host}:{port}",
            version=__version__,
            host=getattr(address, "host", address),
            port=getattr(address, "port", ""),
        )

    def stopService(self) -> defer.Deferred[None] | None:
        super().stopService()
        if self.port is not None:
            port, self.port = self.port, None
            return defer.maybeDeferred(port.stopListening)
        return None


class StoreService(service.Service):
    """
    Opens the store when started and closes it when stopped; a store that
    cannot be opened stops the server with one log line and exit status 1.
    """

    def __init__(self, store: Any, reactor: Any, afterStart: Any = None) -> None:
        self.store = store
        self.reactor = reactor
        #: Called with no argument once the store is open (may return a
        #: Deferred); its failure is logged, not fatal.
        self.afterStart = afterStart

    def startService(self) -> None:
        super().startService()
        d = self.store.start()
        d.addCallbacks(self._started, self._failed)

    def _started(self, _: object) -> Any:
        if self.afterStart is None:
            return None
        d = defer.maybeDeferred(self.afterStart)
        d.addErrback(lambda f: log.failure("Start-up work after opening the database failed", f))
        return d

    def _failed(self, failure: Any) -> None:
        log.critical(
            "Cannot open the database: {reason}; stopping", reason=failure.getErrorMessage()
        )
        # twistd exits 0 after reactor.stop(); make the failure visible.
        self.reactor.addSystemEventTrigger("after", "shutdown", os._exit, 1)
        self.reactor.stop()

    def stopService(self) -> defer.Deferred[None]:
        super().stopService()
        return self.store.stop()


class ThreadPoolService(service.Service):
    """
    Starts and stops a thread pool with the service tree.
    """

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    def startService(self) -> None:
        super().startService()
        self.pool.start()

    def stopService(self) -> None:
        super().stopService()
        self.pool.stop()


#: Threads hashing passwords at once.  Each argon2id hash holds 19 MiB
#: while it runs, and the machine has few cores: two bound both memory and
#: CPU use during login storms.
PASSWORD_THREADS = 2


def listenInterface(description: str) -> str:
    """
    The C{interface=} of a strports description (unescaped), or C{""}
    (every interface) when it has none: the UDP tunnel binds where HTTP
    does.
    """
    parts: list[str] = []
    current = ""
    escaped = False
    for char in description:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ":":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    for part in parts[1:]:
        if part.startswith("interface="):
            return part[len("interface="):]
    return ""


def udpListener(
    port: int,
    protocol: Any,
    interface: str,
    reactor: Any,
    announce: Any = None,
    externalPort: int = 0,
) -> service.Service:
    """
    An L{internet.UDPServer} for the tunnel.  A port that cannot be bound
    is logged as an error and leaves the server running without the UDP
    tunnel (clients then use the HTTP tunnel).

    @param announce: called with the port to announce to clients
        (C{externalPort} or the bound port) once listening, and with
        L{None} if the port cannot be bound or when the service stops.
    """
    from twisted.application import internet

    from pocketrelay.server.tunnel import MAX_DATAGRAM

    def tell(value: int | None) -> None:
        if announce is not None:
            announce(value)

    class UdpListenerService(internet.UDPServer):
        _tried = False

        def _listen(self) -> None:
            self._tried = True
            try:
                self._port = self._getPort()
            except CannotListenError as e:
                reason = getattr(e.socketError, "strerror", None) or e.socketError
                log.error(
                    "Cannot listen on UDP {interface}:{port} ({reason}): the UDP tunnel is "
                    "off, clients will use the HTTP tunnel",
                    interface=interface or "*", port=port, reason=str(reason),
                )
                tell(None)
                return
            listening: Any = self._port
            address = listening.getHost()
            log.info("Tunnel listening on UDP {host}:{port}", host=address.host,
                     port=address.port)
            tell(externalPort or address.port)

        def privilegedStartService(self) -> None:
            service.Service.privilegedStartService(self)
            self._listen()

        def startService(self) -> None:
            service.Service.startService(self)
            if not self._tried:
                self._listen()

        def stopService(self) -> Any:
            tell(None)
            return super().stopService()

    return UdpListenerService(
        port, protocol, interface=interface, maxPacketSize=MAX_DATAGRAM, reactor=reactor
    )


class ServerService(LoggingMultiService):
    """
    The server's service tree.

    @ivar hub: the L{Hub} (sessions, shared services).
    @ivar store: the L{Store}.
    """

    hub: Any = None
    store: Any = None
    #: The L{pocketrelay.server.tunnel.TunnelRelay}; its tunnels are
    #: closed when the service stops.
    tunnels: Any = None
    #: A L{pocketrelay.server.web.logbuffer.LogBuffer} added to the global
    #: log publisher while the service runs, or L{None}.
    logBuffer: Any = None

    def startService(self) -> None:
        if self.logBuffer is not None:
            from twisted.logger import globalLogPublisher

            globalLogPublisher.addObserver(self.logBuffer)
        super().startService()

    def stopService(self) -> Any:
        d = super().stopService()
        if self.tunnels is not None:
            self.tunnels.stop()
        if self.logBuffer is not None:
            from twisted.logger import globalLogPublisher

            globalLogPublisher.removeObserver(self.logBuffer)
        return d


def makeService(options: Options, reactor: Any = None) -> ServerService:
    """
    Build the server's service tree from parsed options.
    """
    if reactor is None:
        from twisted.internet import reactor as defaultReactor

        reactor = defaultReactor
    settings = options.settings
    assert settings is not None

    from pocketrelay.me3.clientconfig import ConfigContext
    from pocketrelay.server.gamedata import GameData
    from pocketrelay.server.hub import Hub
    from pocketrelay.server.security import (
        Passwords,
        SecretFileError,
        TokenSigner,
        loadOrCreateSecret,
    )
    from pocketrelay.server.store import Store
    from pocketrelay.server.web.site import buildRoot, buildSite

    dataDir = prepareDataDirectory(FilePath(settings["data_dir"]))
    try:
        secret = loadOrCreateSecret(dataDir.child("secret.bin"))
    except (SecretFileError, OSError) as e:
        raise StartupError(str(e))

    top = ServerService(
        filteredObserver(
            getattr(options, "parent", None), settings["log_level"], settings["log_format"]
        )
    )
    from pocketrelay.server.web.logbuffer import LogBuffer

    # The recent log served at /api/server/log; observing while running.
    top.logBuffer = logBuffer = LogBuffer(level=settings["log_level"])
    store = Store(dataDir.child("app.db").path, reactor)
    storeService = StoreService(store, reactor)
    storeService.setServiceParent(top)

    from twisted.python.threadpool import ThreadPool

    passwordPool = ThreadPool(0, PASSWORD_THREADS, name="pocketrelay-passwords")
    ThreadPoolService(passwordPool).setServiceParent(top)

    gameData = GameData(
        dataDir, ConfigContext(), menuTemplate=settings["menu_message"]
    )
    # One warn line naming missing game data and how to install it.
    gameData.logMissing()
    hub = Hub(
        settings=settings,
        store=store,
        gameData=gameData,
        signer=TokenSigner(secret, reactor),
        passwords=Passwords.perAddress(
            reactor, passwordPool, settings["limits.password_queue_per_address"],
            PASSWORD_THREADS,
        ),
        clock=reactor,
    )
    for key, value, origin in settings.describe():
        log.info("Setting {key} = {value} (from {origin})", key=key, value=value, origin=origin)
    for warning in secretWarnings(settings):
        log.warn("{problem}", problem=warning)

    from twisted.application.internet import TimerService

    ticker = TimerService(1.0, hub.tick)
    ticker.clock = reactor
    ticker.setServiceParent(top)

    from pocketrelay.server.web.api import ensureSuperAdmin

    storeService.afterStart = lambda: ensureSuperAdmin(store, hub.passwords, settings)
    from pocketrelay.server.tunnel import TICK_INTERVAL, TunnelRelay, UdpTunnelProtocol

    relay = TunnelRelay(hub, clock=reactor, maxTunnels=settings["limits.max_sessions"])
    root = buildRoot(hub, tunnelPort=lambda: relay.udpPort, logBuffer=logBuffer, tunnels=relay)
    site = buildSite(root, reactor, metrics=hub.metrics, limits=hub.limits)
    # Tunnel keep-alives and expiry; the UDP tunnel unless disabled (0).
    tunnelTicker = TimerService(TICK_INTERVAL, relay.tick)
    tunnelTicker.clock = reactor
    tunnelTicker.setServiceParent(top)
    if settings["udp_tunnel.port"]:
        def announce(port: int | None) -> None:
            relay.udpPort = port

        udpListener(
            settings["udp_tunnel.port"],
            UdpTunnelProtocol(relay),
            listenInterface(settings["listen"]),
            reactor,
            announce=announce,
            externalPort=settings["udp_tunnel.external_port"],
        ).setServiceParent(top)
    # The HTTP listener last: when clients can connect, everything they
    # reach (store, tunnel) is already started.
    ListenerService(settings["listen"], site, reactor).setServiceParent(top)
    top.tunnels = relay
    top.hub = hub
    top.store = store
    return top

