# -*- test-case-name: tests.test_reports -*-
"""
Game reports: when the host marks a match finished (ME3gameState =
IN_GAME_FINISHING), the server records who played, with which kit and
weapons, and whether they extracted, by comparing each player's
C{Progress} with the snapshot taken when the player joined.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.internet import defer
from twisted.logger import Logger

from pocketrelay.me3.progress import compareProgress, parseCharacter

if TYPE_CHECKING:
    from pocketrelay.server.games import Game
    from pocketrelay.server.store import Store

__all__ = ["recordGameReport", "snapshotProgress"]

log = Logger()


@defer.inlineCallbacks
def snapshotProgress(store: Store, game: Game, playerId: int) -> Any:
    """
    Remember the player's C{Progress} as it is when joining C{game}.
    """
    value = yield store.getPlayerDataValue(playerId, "Progress")
    if game.find(playerId) is not None:
        game.joinSnapshots[playerId] = value or ""


@defer.inlineCallbacks
def recordGameReport(store: Store, game: Game, now: float) -> Any:
    """
    Store the report of a finished match; fires with its id.
    """
    players = []
    extractedAny = False
    for member in list(game.players):
        playerId = member.playerId
        progress = yield store.getPlayerDataValue(playerId, "Progress")
        extracted, kit = compareProgress(game.joinSnapshots.get(playerId), progress)
        extractedAny = extractedAny or extracted
        character = parseCharacter(
            (yield store.getPlayerDataValue(playerId, f"char{kit}")) if kit is not None else None
        )
        players.append({
            "player_id": playerId,
            "player_name": member.info.name,
            "kit_name": character.kitName or None,
            "character_name": character.characterName or None,
            "weapons": list(character.weapons),
            "weapon_mods": list(character.weaponMods),
            "powers": list(character.powers),
            "extracted": extracted,
        })
    report = {
        "game_id": game.gameId,
        "attributes": dict(game.attributes),
        "players": players,
        "seed": game.seed,
        "extracted": extractedAny,
    }
    reportId = yield store.addGameReport(report, int(game.createdAt), int(now))
    log.info("Stored report {reportId} of game {gameId} ({count} players)",
             reportId=reportId, gameId=game.gameId, count=len(players))
    return reportId
