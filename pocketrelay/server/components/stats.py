# -*- test-case-name: tests.test_components -*-
"""
Stats (component 7): the N7 rating and challenge point leaderboards.

The game names boards with a locale suffix (C{N7RatingGlobal},
C{ChallengePointsGlobal}, ...); every locale shares one board.  Ranks are
global ranks, also for centered and filtered queries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pocketrelay.blaze.ids import Component, StatsCommand
from pocketrelay.me3.countries import countryName
from pocketrelay.me3.messages.stats import (
    CenteredLeaderboardStatsRequest,
    EntityCount,
    FilteredLeaderboardStatsRequest,
    LeaderboardEntityCountRequest,
    LeaderboardGroupRequest,
    LeaderboardGroupResponse,
    LeaderboardStatsRequest,
    LeaderboardStatValues,
    countryScope,
    leaderboardGroup,
    leaderboardRow,
)
from pocketrelay.server.components.base import command
from pocketrelay.server.store import MAX_FILTER_IDS as _STORE_MAX_FILTER_IDS
from pocketrelay.server.store import InvalidValue, LeaderboardType

if TYPE_CHECKING:
    from pocketrelay.server.session import Session
    from pocketrelay.server.store import LeaderboardEntry

__all__ = ["boardScope", "boardType"]

#: The most rows one leaderboard reply carries.
MAX_ROWS = 100

#: The most ids one filtered query may name (further ids are ignored):
#: what the store accepts in one query.
MAX_FILTER_IDS = _STORE_MAX_FILTER_IDS


def boardType(name: str) -> LeaderboardType | None:
    """
    Which board a leaderboard name means, or L{None} for an unknown one.
    """
    if name.startswith("N7Rating"):
        return LeaderboardType.N7_RATING
    if name.startswith("ChallengePoints"):
        return LeaderboardType.CHALLENGE_POINTS
    return None


def boardScope(name: str, prefix: str) -> tuple[str, int]:
    """
    What the suffix of a board name after C{prefix} selects: the place
    named in the description and the C{accountcountry} key scope.  A
    two-letter suffix is a country (C{DE}: "Germany", 0x4445); anything
    else (C{Global}, nothing) is the global board, scope 0.
    """
    suffix = name[len(prefix):]
    try:
        return countryName(suffix), countryScope(suffix)
    except ValueError:
        return suffix or "Global", 0


@command(Component.STATS, StatsCommand.GET_LEADERBOARD_GROUP, LeaderboardGroupRequest)
def getLeaderboardGroup(session: Session, request: LeaderboardGroupRequest) -> LeaderboardGroupResponse | None:
    """
    The board's description as EA's server gave it; a country board is
    described with the country's name and scoped to its code (every board
    holds every player: the server keeps no account country).
    """
    board = boardType(request.boardName)
    if board == LeaderboardType.N7_RATING:
        place, scope = boardScope(request.boardName, "N7Rating")
        return leaderboardGroup(
            request.boardName,
            f"N7 Rating - {place}",
            "n7rating",
            "N7 Rating",
            "ME3LeaderboardGroup",
            scope=scope,
        )
    if board == LeaderboardType.CHALLENGE_POINTS:
        place, scope = boardScope(request.boardName, "ChallengePoints")
        return leaderboardGroup(
            request.boardName,
            f"Challenge Points - {place}",
            "ChallengePoints",
            "Challenge Points",
            "ME3ChallengePoints",
            category="ME3ChallengeStats",
            scope=scope,
        )
    return None


def _rows(entries: list[LeaderboardEntry]) -> LeaderboardStatValues:
    return LeaderboardStatValues(
        rows=[
            leaderboardRow(entry.playerId, entry.playerName, entry.rank, entry.value)
            for entry in entries
        ]
    )


def _count(requested: int) -> int:
    return max(0, min(requested, MAX_ROWS))


def _noRows(failure: Any) -> LeaderboardStatValues:
    # A player id or start the store cannot hold (outside 64 bits) is on
    # no board.
    failure.trap(InvalidValue)
    return LeaderboardStatValues()


@command(Component.STATS, StatsCommand.GET_LEADERBOARD, LeaderboardStatsRequest)
def getLeaderboard(session: Session, request: LeaderboardStatsRequest) -> Any:
    board = boardType(request.boardName)
    if board is None:
        return LeaderboardStatValues()
    d = session.hub.store.getLeaderboardPage(
        board, max(0, request.rankStart), _count(request.count)
    )
    return d.addCallbacks(_rows, _noRows)


@command(Component.STATS, StatsCommand.GET_CENTERED_LEADERBOARD,
         CenteredLeaderboardStatsRequest)
def getCenteredLeaderboard(session: Session, request: CenteredLeaderboardStatsRequest) -> Any:
    board = boardType(request.boardName)
    if board is None:
        return LeaderboardStatValues()
    d = session.hub.store.getLeaderboardCentered(board, request.center, _count(request.count))
    return d.addCallbacks(_rows, _noRows)


@command(Component.STATS, StatsCommand.GET_FILTERED_LEADERBOARD,
         FilteredLeaderboardStatsRequest)
def getFilteredLeaderboard(session: Session, request: FilteredLeaderboardStatsRequest) -> Any:
    board = boardType(request.boardName)
    if board is None or not request.ids:
        return LeaderboardStatValues()
    d = session.hub.store.getLeaderboardEntries(board, request.ids[:MAX_FILTER_IDS])
    return d.addCallbacks(_rows, _noRows)


@command(Component.STATS, StatsCommand.GET_LEADERBOARD_ENTITY_COUNT,
         LeaderboardEntityCountRequest)
def getLeaderboardEntityCount(session: Session, request: LeaderboardEntityCountRequest) -> Any:
    board = boardType(request.boardName)
    if board is None:
        return EntityCount()
    d = session.hub.store.countLeaderboard(board)
    return d.addCallback(lambda count: EntityCount(count=count))
