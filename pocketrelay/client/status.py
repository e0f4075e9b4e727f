# -*- test-case-name: tests.test_client_status -*-
"""
What the client is doing, as one observable value.

The client's service (L{pocketrelay.client.tap.ClientService}) keeps a
L{StatusModel}; every part of the client that changes something a player
cares about (the server check, the hosts file, the local listeners, the
game's Blaze session, the tunnel) updates it.  Observers are told each
change as C{(old, new)} L{ClientStatus} values:

  - the command line (C{twistd pocketrelay-client}) logs the changes;
  - the window (L{pocketrelay.client.window}) shows them, in the plain
    words of L{describe}.

So both show the same facts, from one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from twisted.logger import Logger

__all__ = [
    "ERROR_KINDS",
    "HOSTS_STATES",
    "PHASES",
    "TUNNEL_STATES",
    "ClientStatus",
    "ListenerStatus",
    "ServerStatus",
    "StatusModel",
    "StatusObserver",
    "describe",
    "explainError",
]

#: The client's phases: not started, checking the server, running (the
#: local servers listen), stopped after a fatal problem, stopping.
PHASES = ("idle", "connecting", "connected", "failed", "stopping")

#: The hosts file: not touched yet; our line added; the player's own
#: entry found; not managed (C{--no-hosts}); no permission; another
#: problem.
HOSTS_STATES = ("pending", "ready", "existing", "skipped", "needs-admin", "error")

#: The tunnel: not running; trying; open over UDP; open over the HTTP
#: fallback; given up.
TUNNEL_STATES = ("off", "connecting", "udp", "http", "failed")

#: What kind of fatal problem stopped the client (see L{explainError}).
ERROR_KINDS = (
    "unreachable",
    "not-pocket-relay",
    "too-old",
    "certificate",
    "bad-address",
    "port-taken",
    "other",
)


@attrs.frozen
class ServerStatus:
    """
    The server once it answered as a Pocket Relay server.

    @ivar url: its base URL.
    @ivar name: its host (and port, when not the default).
    @ivar version: the version it reported.
    @ivar secure: whether it is reached over HTTPS.
    """

    url: str
    name: str
    version: str
    secure: bool


@attrs.frozen
class ListenerStatus:
    """
    One local server listening on 127.0.0.1.
    """

    label: str
    port: int
    udp: bool = False

    def __str__(self) -> str:
        return f"{self.label} {self.port}{'/udp' if self.udp else ''}"


@attrs.frozen
class ClientStatus:
    """
    Everything the player is shown, at one moment.

    @ivar phase: one of L{PHASES}.
    @ivar url: the server being used (normalised), if any.
    @ivar server: the server once it answered.
    @ivar hosts: one of L{HOSTS_STATES}.
    @ivar hostsPath: the hosts file managed, if any.
    @ivar hostsProblem: the message when C{hosts} is C{needs-admin} or
        C{error} (it says what to do).
    @ivar listeners: the local servers listening.
    @ivar games: game connections whose Blaze session runs through the
        proxy (upgraded to the server).
    @ivar tunnel: one of L{TUNNEL_STATES}.
    @ivar lastError: the last fatal problem, as the one-line message the
        command line prints.
    @ivar errorKind: one of L{ERROR_KINDS} when C{lastError} is set.
    """

    phase: str = "idle"
    url: str | None = None
    server: ServerStatus | None = None
    hosts: str = "pending"
    hostsPath: str | None = None
    hostsProblem: str | None = None
    listeners: tuple[ListenerStatus, ...] = ()
    games: int = 0
    tunnel: str = "off"
    lastError: str | None = None
    errorKind: str | None = None


#: Called with the status before and after each change.
StatusObserver = Callable[[ClientStatus, ClientStatus], None]


@attrs.define(eq=False)
class StatusModel:
    """
    The current L{ClientStatus} and the observers of its changes.
    """

    current: ClientStatus = attrs.field(factory=ClientStatus)
    _observers: list[StatusObserver] = attrs.field(factory=list, init=False)
    log = Logger()

    def observe(self, observer: StatusObserver) -> Callable[[], None]:
        """
        Call C{observer(old, new)} after each change.

        @return: a function that stops the observation.
        """
        self._observers.append(observer)

        def stop() -> None:
            if observer in self._observers:
                self._observers.remove(observer)

        return stop

    def update(self, **changes: Any) -> None:
        """
        Change the named fields; observers are told only if something
        changed.  An observer that raises is logged and the others are
        still told.
        """
        new = attrs.evolve(self.current, **changes)
        if new == self.current:
            return
        old, self.current = self.current, new
        for observer in list(self._observers):
            try:
                observer(old, new)
            except Exception:
                self.log.failure("A status observer failed")


# -- plain words


_ERRORS = {
    "unreachable": "The server could not be reached. Check the address, that the server "
                   "is running, and that this computer is online.",
    "not-pocket-relay": "Something answered at this address, but it is not a Pocket Relay "
                        "server. Check the address (and the port) with the server's owner.",
    "too-old": "This Pocket Relay server is too old for this app. Ask the server's owner "
               "to update it.",
    "certificate": "The server's security certificate is not trusted, so the connection "
                   "was refused. Ask the server's owner which certificate it uses.",
    "bad-address": "That is not a server address. Type it as the server's owner gave it, "
                   "for example me3.example.org or https://me3.example.org/.",
    "port-taken": "Another program uses a port this app needs (is another Pocket Relay "
                  "client running?). Close it, then press Connect again.",
    "other": "Something went wrong while connecting. The details are below and in the log.",
}


def explainError(kind: str | None) -> str:
    """
    The sentence a player reads for a fatal problem of C{kind}.
    """
    return _ERRORS.get(kind or "other", _ERRORS["other"])


_HOSTS = {
    "pending": "not changed yet",
    "ready": "ready (gosredirector.ea.com points to this computer)",
    "existing": "ready (your own entry for gosredirector.ea.com is used)",
    "skipped": "not managed by this app (it must already point gosredirector.ea.com "
               "to 127.0.0.1)",
    "needs-admin": "needs administrator rights",
    "error": "cannot be changed",
}

_TUNNEL = {
    "off": "off",
    "connecting": "connecting",
    "udp": "open (UDP)",
    "http": "open (HTTP fallback)",
    "failed": "off (the server's tunnel could not be reached)",
}


def describe(status: ClientStatus) -> dict[str, str]:
    """
    The status in plain words, by line: C{headline}, C{detail},
    C{server}, C{hosts}, C{services}, C{game}, C{tunnel} and C{error};
    and C{tone}, how the headline should look: C{idle}, C{busy},
    C{good}, C{warning} or C{bad}.
    """
    phase = status.phase
    url = status.url or ""
    tone = {"connecting": "busy", "connected": "good", "failed": "bad",
            "stopping": "busy"}.get(phase, "idle")
    if phase == "connected" and status.hosts in ("needs-admin", "error"):
        headline = "Action needed"
        detail = ("Connected to the server, but Mass Effect 3 cannot find this app until "
                  "the hosts file has its line (see below).")
        tone = "warning"
    elif phase == "connecting":
        headline = "Connecting…"
        detail = f"Checking the server at {url}"
    elif phase == "connected":
        headline = "Connected"
        detail = ("Start Mass Effect 3 and go to multiplayer."
                  if status.games == 0 else "Mass Effect 3 is connected to the server.")
    elif phase == "failed":
        headline = "Could not connect"
        detail = explainError(status.errorKind)
    elif phase == "stopping":
        headline = "Disconnecting…"
        detail = ""
    else:
        headline = "Not connected"
        detail = "Type the server's address and press Connect."
    server = status.server
    if server is None:
        serverText = "checking…" if phase == "connecting" else "—"
    else:
        scheme = "HTTPS" if server.secure else "HTTP"
        serverText = f"{server.name}: Pocket Relay {server.version} over {scheme}"
    if status.hosts == "pending" and phase != "connected":
        hostsText = "—"
    else:
        hostsText = _HOSTS.get(status.hosts, status.hosts)
    if status.listeners:
        services = ", ".join(map(str, status.listeners))
        servicesText = f"listening on 127.0.0.1: {services}"
    else:
        servicesText = "not listening"
    if status.games:
        game = "connected" if status.games == 1 else f"connected ({status.games} sessions)"
    elif phase == "connected":
        game = "waiting for Mass Effect 3"
    else:
        game = "—"
    return {
        "tone": tone,
        "headline": headline,
        "detail": detail,
        "server": serverText,
        "hosts": hostsText,
        "services": servicesText,
        "game": game,
        "tunnel": _TUNNEL.get(status.tunnel, status.tunnel),
        "error": status.lastError or "none",
    }
