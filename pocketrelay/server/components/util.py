# -*- test-case-name: tests.test_components -*-
"""
Util (component 9): pre- and post-authentication, keep-alive, client
configuration and the player's settings (the multiplayer profile).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from twisted.internet import defer
from twisted.logger import Logger

from pocketrelay.blaze.ids import Component, UtilCommand, UtilError
from pocketrelay.blaze.protocol import BlazeError
from pocketrelay.me3.messages.util import (
    ClientMetrics,
    FetchClientConfigRequest,
    FetchConfigResponse,
    GetTelemetryServerResponse,
    GetTickerServerResponse,
    PingResponse,
    PostAuthResponse,
    PreAuthRequest,
    PreAuthResponse,
    QosConfigInfo,
    QosPingSiteInfo,
    SuspendUserPingRequest,
    UpnpStatus,
    UserOptions,
    UserSettingsLoadAllResponse,
    UserSettingsLoadRequest,
    UserSettingsResponse,
    UserSettingsSaveRequest,
)
from pocketrelay.server.components.base import command

if TYPE_CHECKING:
    from pocketrelay.server.session import Session

log = Logger()

#: The only suspension the game asks for and the server grants (µs).
PING_SUSPENSION = 90_000_000

#: The ping site name the game's QoS uses.
PING_SITE = "ea-sjc"

#: The host name of the bandwidth site sent for C{qos.type = disabled}
#: (with port 0), as the reference server sends.
DISABLED_SITE_ADDRESS = "0"


def qosSettings(settings: Any) -> QosConfigInfo:
    """
    The QoS section of PreAuth for the configured C{qos.type}.
    """
    kind = settings["qos.type"]
    if kind == "disabled":
        # No ping sites, and a bandwidth site that names no host (what the
        # reference server sends), never EA's retired QoS host.
        disabled = QosPingSiteInfo(address=DISABLED_SITE_ADDRESS, port=0)
        return QosConfigInfo(bandwidthPingSite=disabled, pingSites={})
    if kind == "official":
        site = QosPingSiteInfo()
    elif kind == "custom":
        site = QosPingSiteInfo(address=settings["qos.host"], port=settings["qos.port"])
    else:
        # Through the player's local Pocket Relay client.
        site = QosPingSiteInfo(address="127.0.0.1", port=42131)
    return QosConfigInfo(bandwidthPingSite=site, pingSites={PING_SITE: site})


@command(Component.UTIL, UtilCommand.PRE_AUTH, PreAuthRequest, auth=False, preAuth=True)
def preAuth(session: Session, request: PreAuthRequest) -> PreAuthResponse:
    session.preAuthed = True
    hub = session.hub
    return PreAuthResponse(
        config=FetchConfigResponse(config=hub.gameData.clientConfig("BlazeSDK")),
        qosSettings=qosSettings(hub.settings),
    )


@command(Component.UTIL, UtilCommand.POST_AUTH)
def postAuth(session: Session, request: None) -> PostAuthResponse:
    """
    The session subscribes to itself: after the reply the client hears
    UserAdded about itself, then UserUpdated (subscribed, online), as the
    reference server sends them.
    """
    from pocketrelay.blaze.ids import UserSessionsNotification
    from pocketrelay.me3.messages.usersessions import (
        NotifyUserAdded,
        UserDataFlags,
        UserStatus,
    )
    from pocketrelay.server.components.usersessions import (
        extendedData,
        userIdentification,
    )

    playerId = session.playerId
    session.notify(
        Component.USER_SESSIONS,
        UserSessionsNotification.USER_ADDED,
        NotifyUserAdded(data=extendedData(session), user=userIdentification(session)),
    )
    session.notify(
        Component.USER_SESSIONS,
        UserSessionsNotification.USER_UPDATED,
        UserStatus(statusFlags=UserDataFlags.SUBSCRIBED | UserDataFlags.ONLINE,
                   blazeId=playerId),
    )
    return PostAuthResponse(userOptions=UserOptions(userId=playerId))


@command(Component.UTIL, UtilCommand.PING, auth=False, preAuth=True)
def ping(session: Session, request: None) -> PingResponse:
    protocol = session.protocol
    if protocol is not None and protocol.timeOut != protocol.idleTimeout:
        # A granted ping suspension ends with the next ping.
        protocol.setTimeout(protocol.idleTimeout)
    return PingResponse(serverTime=int(session.hub.clock.seconds()))


@command(Component.UTIL, UtilCommand.FETCH_CLIENT_CONFIG, FetchClientConfigRequest, auth=False)
def fetchClientConfig(session: Session, request: FetchClientConfigRequest) -> FetchConfigResponse:
    return FetchConfigResponse(config=session.hub.gameData.clientConfig(request.configId))


@command(Component.UTIL, UtilCommand.GET_TELEMETRY_SERVER, auth=False)
def getTelemetryServer(session: Session, request: None) -> GetTelemetryServerResponse:
    return GetTelemetryServerResponse()


@command(Component.UTIL, UtilCommand.GET_TICKER_SERVER, auth=False)
def getTickerServer(session: Session, request: None) -> GetTickerServerResponse:
    return GetTickerServerResponse()


#: Largest value one userSettingsSave may store, in bytes of UTF-8.  The
#: game's largest keys (C{Progress}, C{Completion}, the challenge
#: time stamps) are under 10 KiB.
MAX_SETTINGS_VALUE: Final = 64 * 1024
#: Most bytes all of a player's settings may take together through
#: userSettingsSave.  A full profile (C{Base}, six classes, 66 kits, the
#: challenge keys) is tens of KiB.
MAX_SETTINGS_TOTAL: Final = 512 * 1024


@command(Component.UTIL, UtilCommand.USER_SETTINGS_SAVE, UserSettingsSaveRequest)
def userSettingsSave(session: Session, request: UserSettingsSaveRequest) -> Any:
    """
    Save one key of the player's profile; the empty reply is sent only
    after the commit.  A value over L{MAX_SETTINGS_VALUE} bytes, or one
    that would take the player's settings over L{MAX_SETTINGS_TOTAL} or
    the store's key count, is refused with C{USS_TOO_MANY_KEYS} (0xC9);
    a key the store cannot hold with C{USS_RECORD_NOT_FOUND}.
    """
    from pocketrelay.server.store import InvalidValue

    def refuse(reason: str, error: UtilError) -> None:
        log.warn(
            "Refused settings key {key!r} from {name}: {reason}",
            key=request.key[:64],
            name=session.player.displayName if session.player else "?",
            reason=reason,
        )
        raise BlazeError(error)

    def refused(failure: Any) -> None:
        failure.trap(InvalidValue)
        reason = failure.getErrorMessage()
        tooMuch = "limit" in reason or "more than" in reason
        refuse(reason, UtilError.USS_TOO_MANY_KEYS if tooMuch else UtilError.USS_RECORD_NOT_FOUND)

    size = len(request.data.encode("utf-8", "replace"))
    if size > MAX_SETTINGS_VALUE:
        refuse(f"a value of {size} bytes, over the limit of {MAX_SETTINGS_VALUE}",
               UtilError.USS_TOO_MANY_KEYS)
    d = session.hub.store.setPlayerData(
        session.playerId, request.key, request.data, maxTotal=MAX_SETTINGS_TOTAL
    )
    d.addCallback(lambda _: None)
    d.addErrback(refused)
    return d


@command(Component.UTIL, UtilCommand.USER_SETTINGS_LOAD, UserSettingsLoadRequest)
@defer.inlineCallbacks
def userSettingsLoad(session: Session, request: UserSettingsLoadRequest) -> Any:
    from pocketrelay.server.store import InvalidValue

    try:
        value = yield session.hub.store.getPlayerDataValue(session.playerId, request.key)
    except InvalidValue as e:
        # A key the store could never hold (too long, empty) is not there.
        log.warn(
            "Refused settings key {key!r} from {name}: {reason}",
            key=request.key[:64],
            name=session.player.displayName if session.player else "?",
            reason=str(e),
        )
        value = None
    if value is None:
        raise BlazeError(UtilError.USS_RECORD_NOT_FOUND)
    return UserSettingsResponse(data=value, key=request.key)


@command(Component.UTIL, UtilCommand.USER_SETTINGS_LOAD_ALL)
def userSettingsLoadAll(session: Session, request: None) -> Any:
    d = session.hub.store.getPlayerData(session.playerId)
    d.addCallback(lambda data: UserSettingsLoadAllResponse(settings=data))
    return d


@command(Component.UTIL, UtilCommand.SET_CLIENT_METRICS, ClientMetrics)
def setClientMetrics(session: Session, request: ClientMetrics) -> None:
    """
    The game reports its UPnP state.  When UPnP mapped a port and the
    router's WAN address is known, that address is the player's external
    address (unless behind double NAT).
    """
    from pocketrelay.me3.messages.util import BlazeUpnpFlags

    if (
        request.status == UpnpStatus.ENABLED
        and 0 < request.wanAddress <= 0xFFFFFFFF
        and not request.blazeFlags & BlazeUpnpFlags.DOUBLE_NAT
    ):
        session.network.upnpAddress = request.wanAddress
    log.debug(
        "UPnP report from session {sessionId}: status {status}, WAN {wan}",
        sessionId=session.sessionId,
        status=request.status,
        wan=request.wanAddress,
    )
    return None


@command(Component.UTIL, UtilCommand.SUSPEND_USER_PING, SuspendUserPingRequest, auth=False)
def suspendUserPing(session: Session, request: SuspendUserPingRequest) -> None:
    """
    The game asks to be excused from pinging (while it loads a level).
    The answer is always an error frame; PING_SUSPENDED means granted, and
    the session's idle timeout is extended by the suspension once.
    """
    if request.timeValue < PING_SUSPENSION:
        raise BlazeError(UtilError.SUSPEND_PING_TIME_TOO_SMALL)
    if request.timeValue > PING_SUSPENSION:
        raise BlazeError(UtilError.SUSPEND_PING_TIME_TOO_LARGE)
    protocol = session.protocol
    if protocol is not None and protocol.idleTimeout is not None:
        protocol.setTimeout(protocol.idleTimeout + PING_SUSPENSION / 1_000_000)
    raise BlazeError(UtilError.PING_SUSPENDED)

