# -*- test-case-name: tests.test_components -*-
"""
GameReporting (component 0x1C): the end-of-match report that carries the
player's N7 rating and challenge points for the leaderboards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.internet import defer
from twisted.logger import Logger

from pocketrelay.blaze import tdf
from pocketrelay.blaze.ids import (
    Component,
    GameReportingCommand,
    GameReportingNotification,
)
from pocketrelay.me3.messages.gamereporting import (
    ResultNotification,
    SubmitGameReportRequest,
    playerReports,
)
from pocketrelay.server.components.base import command
from pocketrelay.server.store import LeaderboardType

if TYPE_CHECKING:
    from pocketrelay.server.session import Session

log = Logger()

#: The largest leaderboard value the store keeps (64-bit signed).
_MAX_VALUE = (1 << 63) - 1


@command(Component.GAME_REPORTING, GameReportingCommand.SUBMIT_OFFLINE_GAME_REPORT,
         SubmitGameReportRequest)
@defer.inlineCallbacks
def submitOfflineGameReport(session: Session, request: SubmitGameReportRequest) -> Any:
    """
    Record the submitting player's N7 rating and challenge points, then
    (after the commit) reply and send the result notification.

    Only the submitter's own line is believed: a client cannot set other
    players' leaderboard values.
    """
    playerId = session.playerId
    try:
        reports = playerReports(request.report)
    except tdf.TdfDecodeError as e:
        log.warn("Unreadable game report from {name}: {reason}",
                 name=session.player.displayName if session.player else "?", reason=str(e))
        reports = {}
    own = reports.get(playerId)
    others = len(reports) - (own is not None)
    if others:
        log.info("Ignored {count} other players' lines in the report of {playerId}",
                 count=others, playerId=playerId)
    if own is not None and max(own.n7Rating, own.challengePoints) > _MAX_VALUE:
        log.warn("Ignored out-of-range values in the report of {playerId}: N7 rating "
                 "{n7Rating}, challenge points {points}", playerId=playerId,
                 n7Rating=own.n7Rating, points=own.challengePoints)
        own = None
    if own is not None:
        store = session.hub.store
        yield store.setLeaderboardValue(LeaderboardType.N7_RATING, playerId, own.n7Rating)
        yield store.setLeaderboardValue(
            LeaderboardType.CHALLENGE_POINTS, playerId, own.challengePoints
        )
        session.extra["n7Rating"] = own.n7Rating
    session.notify(
        Component.GAME_REPORTING,
        GameReportingNotification.RESULT,
        ResultNotification(final=True, gameReportingId=request.report.gameReportingId),
    )
    return None
