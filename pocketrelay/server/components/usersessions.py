# -*- test-case-name: tests.test_components -*-
"""
UserSessions (component 0x7802): what a session reports about its network
and what other players see of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from twisted.logger import Logger

from pocketrelay.addresses import fillExternalAddress
from pocketrelay.blaze import tdf
from pocketrelay.blaze.ids import Component, UserSessionsCommand, UserSessionsError
from pocketrelay.blaze.protocol import BlazeError
from pocketrelay.me3.messages.common import (
    NetworkQosData,
    UserIdentification,
    UserSessionExtendedData,
)
from pocketrelay.me3.messages.usersessions import (
    NetworkInfo,
    ResumeSessionRequest,
    UpdateHardwareFlagsRequest,
    UserData,
    UserDataFlags,
)
from pocketrelay.server.components.authentication import tokenLogin
from pocketrelay.server.components.base import command

if TYPE_CHECKING:
    from pocketrelay.server.session import Session

__all__ = ["extendedData", "publicExtendedData", "userIdentification"]

log = Logger()

#: The most ping sites kept from updateNetworkInfo.
MAX_PING_SITES = 8

#: The DMAP key of the N7 rating shown to other players.
N7_RATING_KEY = 0x70001


def userIdentification(session: Session) -> UserIdentification:
    player = session.player
    if player is None:
        return UserIdentification()
    return UserIdentification(accountId=player.id, blazeId=player.id, name=player.displayName)


def extendedData(session: Session) -> UserSessionExtendedData:
    """
    What other players see of C{session}: its address, QoS, hardware flags
    and the games it is in.
    """
    network = session.network
    player = session.player
    game = session.hub.games.gameOf(player.id) if player is not None else None
    games = (game.gameId,) if game is not None else ()
    return UserSessionExtendedData(
        address=network.address,
        dataMap={N7_RATING_KEY: session.extra.get("n7Rating", 0)},
        hardwareFlags=network.hardwareFlags,
        latencies=list(network.pingSiteLatency.values()),
        qosData=network.qos if network.qos is not None else NetworkQosData(natType=4),
        games=[tdf.ObjectId(4, 1, gameId) for gameId in games],
    )


def _published(session: Session) -> None:
    session.hub.playerUpdated(session)


@command(Component.USER_SESSIONS, UserSessionsCommand.UPDATE_NETWORK_INFO, NetworkInfo)
def updateNetworkInfo(session: Session, request: NetworkInfo) -> None:
    network = session.network
    network.address = fillExternalAddress(request.address, session.peerHost, network.upnpAddress)
    network.qos = request.qosData
    # Published to every game member: keep it small (ME3 reports one site).
    network.pingSiteLatency = {
        name[:64]: latency
        for name, latency in list(request.pingSiteLatencies.items())[:MAX_PING_SITES]
    }
    _published(session)


@command(Component.USER_SESSIONS, UserSessionsCommand.UPDATE_HARDWARE_FLAGS,
         UpdateHardwareFlagsRequest)
def updateHardwareFlags(session: Session, request: UpdateHardwareFlagsRequest) -> None:
    session.network.hardwareFlags = request.hardwareFlags
    _published(session)


def _connectsTo(session: Session, other: Session) -> bool:
    """
    Whether C{session} needs C{other}'s network details: it is C{other},
    or they are in the same game.
    """
    me = session.playerId
    if other.player is not None and other.player.id == me:
        return True
    game = session.hub.games.gameOf(other.player.id) if other.player is not None else None
    return game is not None and game.find(me) is not None


def publicExtendedData(data: UserSessionExtendedData) -> UserSessionExtendedData:
    """
    C{data} without what locates the player on the network: no address,
    no ping-site latencies, and QoS reduced to an unknown NAT type.  The
    name, rating, hardware flags and games stay.
    """
    return attrs.evolve(
        data, address=tdf.Choice(), latencies=[], qosData=NetworkQosData(natType=4)
    )


@command(Component.USER_SESSIONS, UserSessionsCommand.LOOKUP_USER, UserIdentification)
def lookupUser(session: Session, request: UserIdentification) -> UserData:
    """
    Any online player can be looked up (its name, ids, N7 rating, games),
    but only a player in the same game gets its address, ping sites and
    NAT type.
    """
    other = session.hub.sessionForPlayer(request.blazeId)
    if other is None:
        raise BlazeError(UserSessionsError.USER_NOT_FOUND)
    data = extendedData(other)
    if not _connectsTo(session, other):
        data = publicExtendedData(data)
    return UserData(
        extendedData=data,
        statusFlags=UserDataFlags.SUBSCRIBED | UserDataFlags.ONLINE,
        user=userIdentification(other),
    )


@command(Component.USER_SESSIONS, UserSessionsCommand.RESUME_SESSION,
         ResumeSessionRequest, auth=False)
def resumeSession(session: Session, request: ResumeSessionRequest) -> Any:
    return tokenLogin(session, request.sessionKey)
