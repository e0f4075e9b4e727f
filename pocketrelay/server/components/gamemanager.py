# -*- test-case-name: tests.test_review_blaze,tests.test_integration_games -*-
"""
GameManager (component 4): lobbies, matchmaking, the host's view of the
peer mesh.  The rules live in the pure L{pocketrelay.server.games} model;
these handlers translate requests, reply, and hand the model's notices to
the hub for delivery (after the reply, which the protocol guarantees for
the requesting session).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from twisted.logger import Logger

from pocketrelay.blaze import tdf
from pocketrelay.blaze.ids import Component, GameManagerCommand, GameManagerError
from pocketrelay.blaze.protocol import BlazeError
from pocketrelay.me3.messages.gamemanager import (
    AdvanceGameStateRequest,
    CancelMatchmakingRequest,
    CreateGameRequest,
    CreateGameResponse,
    GameBrowserDataList,
    GetGameDataFromIdRequest,
    JoinGameRequest,
    JoinGameResponse,
    PlayerRemovedReason,
    RemovePlayerRequest,
    ReplayGameRequest,
    SetGameAttributesRequest,
    SetGameSettingsRequest,
    StartMatchmakingRequest,
    StartMatchmakingResponse,
    UpdateAdminListRequest,
    UpdateMeshConnectionRequest,
)
from pocketrelay.server.components.base import command
from pocketrelay.server.games import GameError, MatchRules

if TYPE_CHECKING:
    from pocketrelay.server.session import Session

log = Logger()

#: The most games one getGameDataFromId answers (further ids are ignored).
MAX_GAME_DATA_IDS = 16


@tdf.tdfStruct
@attrs.define
class GameIdRequest:
    """
    A request that names a game only (finalizeGameCreation,
    updateGameHostMigrationStatus).  Tags: C{GID}.
    """

    gameId: int = tdf.member("GID", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class DestroyGameRequest:
    """
    destroyGame (4/0x02).  Tags: C{GID}, C{REAS}.
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    reason: int = tdf.member("REAS", tdf.Int)


@tdf.tdfStruct
@attrs.define
class MigrateGameRequest:
    """
    migrateGame (4/0x17): the host names its successor.  Tags: C{GID},
    C{HOST} (the new host, i64), as in the Blaze 3 SDK's
    C{MigrateHostRequest}; not confirmed from an ME3 capture — an unknown
    tag leaves it 0, and the request is then refused with
    PLAYER_NOT_FOUND.
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    newHostId: int = tdf.member("HOST", tdf.Int)


def _now(session: Session) -> float:
    return session.hub.clock.seconds()


def _leaveCurrentGame(session: Session) -> None:
    """
    A player entering a game while still in another (the game skipped
    removePlayer) leaves the old one first, as the reference server does,
    instead of being refused and stuck.
    """
    games = session.hub.games
    playerId = session.playerId
    old = games.gameOf(playerId)
    if old is not None:
        log.info("Player {playerId} entered a game while in game {gameId}; leaving it",
                 playerId=playerId, gameId=old.gameId)
        session.hub.deliver(games.remove(old.gameId, playerId,
                                         PlayerRemovedReason.PLAYER_LEFT, _now(session)))


def _refusal(session: Session, error: GameError) -> BlazeError:
    """
    The error reply for a refused model operation (logged at debug).
    """
    log.debug("GameManager refused session {sessionId}: {reason}",
              sessionId=session.sessionId, reason=str(error))
    return BlazeError(error.code)


def _run(session: Session, action: Any) -> Any:
    """
    Run a model operation: refusals become error replies, notices are
    delivered.
    """
    try:
        result = action()
    except GameError as e:
        raise _refusal(session, e)
    notices = result[1] if isinstance(result, tuple) else result
    session.hub.deliver(notices)
    return result


@command(Component.GAME_MANAGER, GameManagerCommand.CREATE_GAME, CreateGameRequest)
def createGame(session: Session, request: CreateGameRequest) -> CreateGameResponse:
    hub = session.hub
    _leaveCurrentGame(session)
    info = hub.playerInfo(session, fallbackAddress=next(iter(request.hostNetwork), None))
    game, _ = _run(
        session,
        lambda: hub.games.create(info, request.attributes, request.settings, _now(session)),
    )
    log.info("Game {gameId} created by {name}", gameId=game.gameId, name=info.name)
    return CreateGameResponse(gameId=game.gameId)


@command(Component.GAME_MANAGER, GameManagerCommand.JOIN_GAME, JoinGameRequest)
def joinGame(session: Session, request: JoinGameRequest) -> JoinGameResponse:
    """
    Join the game of the player named in the request (an invite or "join
    friend"), or the game id given.
    """
    hub = session.hub
    games = hub.games
    target = games.gameOf(request.user.blazeId) if request.user.blazeId else None
    if target is None:
        target = games.games.get(request.gameId)
    if target is None:
        raise BlazeError(GameManagerError.INVALID_GAME_ID)
    if target.find(session.playerId) is not None:
        return JoinGameResponse(gameId=target.gameId)
    game = target
    try:
        # Refused before the player leaves the game it is in.
        games.requireJoinable(game)
    except GameError as e:
        raise _refusal(session, e)
    _leaveCurrentGame(session)
    info = hub.playerInfo(session, fallbackAddress=request.playerNetwork)
    _run(session, lambda: games.join(game.gameId, info, _now(session)))
    return JoinGameResponse(gameId=game.gameId)


@command(Component.GAME_MANAGER, GameManagerCommand.REMOVE_PLAYER, RemovePlayerRequest)
def removePlayer(session: Session, request: RemovePlayerRequest) -> None:
    """
    Leave (the player itself) or kick (the host removing another).
    """
    games = session.hub.games
    game = games.games.get(request.gameId)
    if game is None:
        raise BlazeError(GameManagerError.INVALID_GAME_ID)
    me = session.playerId
    if request.playerId != me and (game.host is None or game.host.playerId != me):
        raise BlazeError(GameManagerError.PERMISSION_DENIED)
    try:
        reason = PlayerRemovedReason(request.reason)
    except ValueError:
        reason = PlayerRemovedReason.PLAYER_LEFT
    _run(session, lambda: games.remove(request.gameId, request.playerId, reason, _now(session)))
    log.info("Player {playerId} left game {gameId} ({reason})",
             playerId=request.playerId, gameId=request.gameId, reason=reason.name)


@command(Component.GAME_MANAGER, GameManagerCommand.START_MATCHMAKING, StartMatchmakingRequest)
def startMatchmaking(session: Session, request: StartMatchmakingRequest) -> StartMatchmakingResponse:
    hub = session.hub
    _leaveCurrentGame(session)
    criteria = request.criteria
    rules = MatchRules.fromRules(
        ((rule.name, rule.values) for rule in criteria.genericRules), criteria.uedRules
    )
    info = hub.playerInfo(session, fallbackAddress=request.playerNetwork)
    msid, _ = _run(
        session,
        lambda: hub.games.startMatchmaking(info, rules, request.durationMs, _now(session)),
    )
    game = hub.games.gameOf(info.playerId)
    if game is not None:
            log.info("{name} matched into game {gameId}", name=info.name, gameId=game.gameId)
    else:
        log.info("{name} is waiting for a match ({rules})", name=info.name,
                 rules=dict(rules.required))
    return StartMatchmakingResponse(sessionId=msid)


@command(Component.GAME_MANAGER, GameManagerCommand.CANCEL_MATCHMAKING, CancelMatchmakingRequest)
def cancelMatchmaking(session: Session, request: CancelMatchmakingRequest) -> None:
    hub = session.hub
    _run(session, lambda: hub.games.cancelMatchmaking(session.playerId, _now(session)))


@command(Component.GAME_MANAGER, GameManagerCommand.ADVANCE_GAME_STATE, AdvanceGameStateRequest)
def advanceGameState(session: Session, request: AdvanceGameStateRequest) -> None:
    games = session.hub.games
    _run(session, lambda: games.setState(
        request.gameId, session.playerId, request.state, _now(session)))


@command(Component.GAME_MANAGER, GameManagerCommand.SET_GAME_SETTINGS, SetGameSettingsRequest)
def setGameSettings(session: Session, request: SetGameSettingsRequest) -> None:
    games = session.hub.games
    _run(session, lambda: games.setSettings(
        request.gameId, session.playerId, request.settings, _now(session)))


@command(Component.GAME_MANAGER, GameManagerCommand.SET_GAME_ATTRIBUTES, SetGameAttributesRequest)
def setGameAttributes(session: Session, request: SetGameAttributesRequest) -> None:
    games = session.hub.games
    _run(session, lambda: games.setAttributes(
        request.gameId, session.playerId, request.attributes, _now(session)))


@command(Component.GAME_MANAGER, GameManagerCommand.REPLAY_GAME, ReplayGameRequest)
def replayGame(session: Session, request: ReplayGameRequest) -> None:
    games = session.hub.games
    _run(session, lambda: games.replay(request.gameId, session.playerId, _now(session)))


@command(Component.GAME_MANAGER, GameManagerCommand.UPDATE_MESH_CONNECTION,
         UpdateMeshConnectionRequest)
def updateMeshConnection(session: Session, request: UpdateMeshConnectionRequest) -> None:
    games = session.hub.games
    targets = [(target.playerId, target.status) for target in request.targets]
    _run(session, lambda: games.updateMesh(request.gameId, session.playerId, targets))


@command(Component.GAME_MANAGER, GameManagerCommand.ADD_ADMIN_PLAYER, UpdateAdminListRequest)
def addAdminPlayer(session: Session, request: UpdateAdminListRequest) -> None:
    games = session.hub.games
    _run(session, lambda: games.addAdmin(request.gameId, session.playerId, request.playerId))


@command(Component.GAME_MANAGER, GameManagerCommand.GET_GAME_DATA_FROM_ID,
         GetGameDataFromIdRequest)
def getGameDataFromId(session: Session, request: GetGameDataFromIdRequest) -> GameBrowserDataList:
    """
    The browser data of the listed games (at most L{MAX_GAME_DATA_IDS}).
    An unknown game, or an empty list, is answered INVALID_GAME_ID, as the
    reference server does.  Only members of a game see its host's address.
    """
    games = session.hub.games
    requested = request.gameIds[:MAX_GAME_DATA_IDS]
    found = [games.games.get(gameId) for gameId in requested]
    if not found or None in found:
        raise BlazeError(GameManagerError.INVALID_GAME_ID)
    return GameBrowserDataList(
        games=[games.browserData(game, session.playerId) for game in found if game is not None]
    )


@command(Component.GAME_MANAGER, GameManagerCommand.DESTROY_GAME, DestroyGameRequest)
def destroyGame(session: Session, request: DestroyGameRequest) -> None:
    games = session.hub.games
    _run(session, lambda: games.destroy(request.gameId, session.playerId, _now(session)))
    log.info("Game {gameId} destroyed by its host", gameId=request.gameId)


@command(Component.GAME_MANAGER, GameManagerCommand.FINALIZE_GAME_CREATION, GameIdRequest)
def finalizeGameCreation(session: Session, request: GameIdRequest) -> None:
    games = session.hub.games
    _run(session, lambda: games.finalizeCreation(request.gameId, session.playerId))


@command(Component.GAME_MANAGER, GameManagerCommand.MIGRATE_GAME, MigrateGameRequest)
def migrateGame(session: Session, request: MigrateGameRequest) -> None:
    games = session.hub.games
    _run(session, lambda: games.migrateHost(request.gameId, session.playerId, request.newHostId))


@command(Component.GAME_MANAGER, GameManagerCommand.UPDATE_GAME_HOST_MIGRATION_STATUS,
         GameIdRequest)
def updateGameHostMigrationStatus(session: Session, request: GameIdRequest) -> None:
    """
    The new host confirms the migration.  The server completes migrations
    at once (all notifications are sent when the host leaves), so this is
    only checked and logged.
    """
    games = session.hub.games
    game = games.games.get(request.gameId)
    if game is None:
        raise BlazeError(GameManagerError.INVALID_GAME_ID)
    if game.find(session.playerId) is None:
        raise BlazeError(GameManagerError.PLAYER_NOT_FOUND)
    log.debug("Host migration status of game {gameId} from {playerId}",
              gameId=request.gameId, playerId=session.playerId)
