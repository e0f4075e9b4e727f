# -*- test-case-name: tests.test_components -*-
"""
L{Session}: the state of one Blaze connection to the server.

A session is the L{IBlazeDispatcher} of one L{BlazeProtocol}.  It owns its
own authentication state, network details and subscriptions; it asks the
L{Hub} for everything shared (the store, other sessions, games).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from pocketrelay.blaze import tdf
from pocketrelay.blaze.frames import Frame
from pocketrelay.blaze.ids import (
    Component,
    GlobalError,
    UtilCommand,
    commandName,
    notificationName,
)
from pocketrelay.blaze.protocol import BlazeError, BlazeProtocol, IBlazeDispatcher
from pocketrelay.server.components import REGISTRY
from pocketrelay.server.components.base import Registry

if TYPE_CHECKING:
    from pocketrelay.server.hub import Hub
    from pocketrelay.server.store import Player

__all__ = ["NetworkDetails", "Session"]

_ALWAYS_ALLOWED = {
    (Component.UTIL, UtilCommand.PRE_AUTH),
    (Component.UTIL, UtilCommand.PING),
}


class NetworkDetails:
    """
    What a session reported about its network (UpdateNetworkInfo,
    UpdateHardwareFlags, SetClientMetrics).

    @ivar address: the NetworkAddress union value (a L{tdf.Choice}).
    @ivar qos: the NetworkQosData struct, or L{None} before it is reported.
    @ivar pingSiteLatency: ping site name to milliseconds.
    @ivar hardwareFlags: HWFG.
    """

    def __init__(self) -> None:
        self.address: tdf.Choice = tdf.Choice()
        self.qos: Any = None
        self.pingSiteLatency: dict[str, int] = {}
        self.hardwareFlags = 0
        #: The router's WAN address reported through UPnP (an IPv4 int).
        self.upnpAddress = 0


@implementer(IBlazeDispatcher)
class Session:
    """
    One Blaze connection.

    @ivar sessionId: unique for the life of the server process.
    @ivar peerHost: the client's IP address as seen by the server (or as
        forwarded by a trusted proxy).
    @ivar association: the tunnel association token the client sent, if
        any.
    @ivar player: the logged-in L{Player}, or L{None}.
    @ivar preAuthed: whether Util.preAuth was received.
    @ivar network: the L{NetworkDetails}.
    """

    log = Logger()

    def __init__(
        self,
        hub: Hub,
        sessionId: int,
        peerHost: str,
        association: str | None = None,
        registry: Registry = REGISTRY,
    ) -> None:
        self.hub = hub
        self.sessionId = sessionId
        self.peerHost = peerHost
        self.association = association
        self.registry = registry
        self.protocol: BlazeProtocol | None = None
        self.player: Player | None = None
        self.preAuthed = False
        self.network = NetworkDetails()
        self.closed = False
        #: Opaque per-feature state (the game a player is in, etc.), owned
        #: by the hub's subsystems.
        self.extra: dict[str, Any] = {}

    def __repr__(self) -> str:
        who = self.player.displayName if self.player is not None else "anonymous"
        return f"<Session {self.sessionId} {who} from {self.peerHost}>"

    # -- IBlazeDispatcher

    def connectionMade(self, protocol: BlazeProtocol) -> None:
        self.protocol = protocol
        self.log.info(
            "Blaze session {sessionId} connected from {peer}",
            sessionId=self.sessionId,
            peer=self.peerHost,
        )

    def requestReceived(self, request: Frame) -> Any:
        key = (request.component, request.command)
        spec = self.registry.lookup(*key)
        if not self.preAuthed and key not in _ALWAYS_ALLOWED and (
            spec is None or not spec.preAuth
        ):
            self.log.info(
                "Session {sessionId} sent {command} before preAuth; refused",
                sessionId=self.sessionId,
                command=commandName(*key),
            )
            raise BlazeError(GlobalError.AUTHENTICATION_REQUIRED)
        if spec is None:
            self.log.debug(
                "No handler for {command}; answering empty", command=commandName(*key)
            )
            return None
        if spec.auth and self.player is None:
            raise BlazeError(GlobalError.AUTHENTICATION_REQUIRED)
        body: Any = None
        if spec.request is not None:
            context = tdf.DecodeContext()
            body = tdf.decode(spec.request, request.body, context)
            if context.anomalies:
                self.log.debug(
                    "{command} from session {sessionId}: {anomalies}",
                    command=commandName(*key),
                    sessionId=self.sessionId,
                    anomalies="; ".join(context.anomalies),
                )
        return spec.handler(self, body)

    def notificationReceived(self, notification: Frame) -> None:
        self.log.debug(
            "Ignoring notification {name} from the client",
            name=notificationName(notification.component, notification.command),
        )

    def connectionLost(self, reason: Failure) -> None:
        if self.closed:
            return
        self.closed = True
        self.log.info(
            "Blaze session {sessionId} ({who}) disconnected",
            sessionId=self.sessionId,
            who=self.player.displayName if self.player is not None else "anonymous",
        )
        self.hub.sessionClosed(self)

    # -- used by handlers and the hub

    def notify(self, component: int, command: int, body: Any = b"") -> None:
        """
        Send a notification to this session's client (after the reply of
        the request being handled, if any).
        """
        if self.protocol is not None and not self.closed:
            self.protocol.sendNotification(component, command, body)

    def disconnect(self) -> None:
        """
        Close the connection (e.g. when the account logs in elsewhere).
        """
        if self.protocol is not None:
            self.protocol.close()

    @property
    def playerId(self) -> int:
        """
        The logged-in player's id.

        @raise BlazeError: AUTHENTICATION_REQUIRED when not logged in.
        """
        if self.player is None:
            raise BlazeError(GlobalError.AUTHENTICATION_REQUIRED)
        return self.player.id
