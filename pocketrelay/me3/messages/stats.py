# -*- test-case-name: tests.test_messages -*-

"""
Stats (component 7): the leaderboard commands ME3 uses
(server-behaviour.md section 1.4).

  - getLeaderboardGroup (0x0A): L{LeaderboardGroupRequest} ->
    L{LeaderboardGroupResponse} (see L{leaderboardGroup}).
  - getLeaderboard (0x0C): L{LeaderboardStatsRequest},
    getCenteredLeaderboard (0x0D): L{CenteredLeaderboardStatsRequest},
    getFilteredLeaderboard (0x0E): L{FilteredLeaderboardStatsRequest} ->
    L{LeaderboardStatValues} of L{LeaderboardStatValuesRow}.
  - getLeaderboardEntityCount (0x12): L{LeaderboardEntityCountRequest} ->
    L{EntityCount}.

ME3 names its boards C{N7Rating<locale>} and C{ChallengePoints<locale>}
(e.g. C{N7RatingGlobal}).
"""

from __future__ import annotations

import attrs

from pocketrelay.blaze import tdf

__all__ = [
    "ENTITY_TYPE_USER",
    "CenteredLeaderboardStatsRequest",
    "EntityCount",
    "FilteredLeaderboardStatsRequest",
    "LeaderboardEntityCountRequest",
    "LeaderboardGroupRequest",
    "LeaderboardGroupResponse",
    "LeaderboardStatValues",
    "LeaderboardStatValuesRow",
    "LeaderboardStatsRequest",
    "ScopeValues",
    "StatDescSummary",
    "StatRawValue",
    "countryScope",
    "leaderboardGroup",
    "leaderboardRow",
]

#: The entity type of ME3's leaderboards: users (0x7802, 1).
ENTITY_TYPE_USER = tdf.ObjectType(0x7802, 1)

#: The C{StatRawValue} union: 0 float, 1 int, 2 string.
StatRawValue: tdf.Kind = tdf.UnionOf({0: tdf.Float, 1: tdf.Int, 2: tdf.Str})


# ---------------------------------------------------------------------------
# Requests


@tdf.tdfStruct
@attrs.define
class LeaderboardGroupRequest:
    """
    getLeaderboardGroup (7/0x0A) request
    (C{Blaze::Stats::LeaderboardGroupRequest}).

    Tags: C{LBID}, C{NAME}.
    """

    boardId: int = tdf.member("LBID", tdf.Int)
    boardName: str = tdf.member("NAME", tdf.Str)


@tdf.tdfStruct
@attrs.define
class LeaderboardStatsRequest:
    """
    getLeaderboard (7/0x0C) request (C{Blaze::Stats::LeaderboardStatsRequest}):
    C{count} rows from rank C{rankStart}.

    Tags: C{COUN}, C{KSUM}, C{LBID}, C{NAME}, C{POFF}, C{STRT}, C{TIME},
    C{USET}.
    """

    count: int = tdf.member("COUN", tdf.Int)
    keyScopes: dict[str, int] = tdf.member("KSUM", tdf.MapOf(tdf.Str, tdf.Int))
    boardId: int = tdf.member("LBID", tdf.Int)
    boardName: str = tdf.member("NAME", tdf.Str)
    periodOffset: int = tdf.member("POFF", tdf.Int)
    rankStart: int = tdf.member("STRT", tdf.Int)
    time: int = tdf.member("TIME", tdf.Int)
    userSetId: tdf.ObjectId = tdf.member("USET", tdf.ObjId)


@tdf.tdfStruct
@attrs.define
class CenteredLeaderboardStatsRequest:
    """
    getCenteredLeaderboard (7/0x0D) request
    (C{Blaze::Stats::CenteredLeaderboardStatsRequest}): C{count} rows
    around the player C{center}.

    Tags: C{BOTT}, C{CENT}, C{COUN}, C{KSUM}, C{LBID}, C{NAME}, C{POFF},
    C{TIME}, C{USET}.
    """

    showAtBottomIfNotFound: bool = tdf.member("BOTT", tdf.Bool)
    center: int = tdf.member("CENT", tdf.Int)
    count: int = tdf.member("COUN", tdf.Int)
    keyScopes: dict[str, int] = tdf.member("KSUM", tdf.MapOf(tdf.Str, tdf.Int))
    boardId: int = tdf.member("LBID", tdf.Int)
    boardName: str = tdf.member("NAME", tdf.Str)
    periodOffset: int = tdf.member("POFF", tdf.Int)
    time: int = tdf.member("TIME", tdf.Int)
    userSetId: tdf.ObjectId = tdf.member("USET", tdf.ObjId)


@tdf.tdfStruct
@attrs.define
class FilteredLeaderboardStatsRequest:
    """
    getFilteredLeaderboard (7/0x0E) request
    (C{Blaze::Stats::FilteredLeaderboardStatsRequest}): the rows of the
    listed players.

    Tags: C{FILT}, C{IDLS}, C{KSUM}, C{LBID}, C{NAME}, C{POFF}, C{TIME},
    C{USET}.
    """

    includeStatlessEntities: bool = tdf.member("FILT", tdf.Bool)
    ids: list[int] = tdf.member("IDLS", tdf.ListOf(tdf.Int))
    keyScopes: dict[str, int] = tdf.member("KSUM", tdf.MapOf(tdf.Str, tdf.Int))
    boardId: int = tdf.member("LBID", tdf.Int)
    boardName: str = tdf.member("NAME", tdf.Str)
    periodOffset: int = tdf.member("POFF", tdf.Int)
    time: int = tdf.member("TIME", tdf.Int)
    userSetId: tdf.ObjectId = tdf.member("USET", tdf.ObjId)


@tdf.tdfStruct
@attrs.define
class LeaderboardEntityCountRequest:
    """
    getLeaderboardEntityCount (7/0x12) request
    (C{Blaze::Stats::LeaderboardEntityCountRequest}).

    Tags: C{KSUM}, C{LBID}, C{NAME}, C{POFF}.
    """

    keyScopes: dict[str, int] = tdf.member("KSUM", tdf.MapOf(tdf.Str, tdf.Int))
    boardId: int = tdf.member("LBID", tdf.Int)
    boardName: str = tdf.member("NAME", tdf.Str)
    periodOffset: int = tdf.member("POFF", tdf.Int)


# ---------------------------------------------------------------------------
# Replies


@tdf.tdfStruct
@attrs.define
class ScopeValues:
    """
    The values of one key scope (C{Blaze::Stats::ScopeValues}).

    Tags: C{KSVL}.
    """

    values: dict[int, int] = tdf.member("KSVL", tdf.MapOf(tdf.Int, tdf.Int))


@tdf.tdfStruct
@attrs.define
class StatDescSummary:
    """
    One stat column of a leaderboard (C{Blaze::Stats::StatDescSummary}).
    Defaults are the reference server's column.

    Tags: C{CATG}, C{DFLT}, C{DRVD}, C{FRMT}, C{KIND}, C{LDSC}, C{META},
    C{NAME}, C{SDSC}, C{TYPE}.

    Per board: C{name} ("n7rating" or "ChallengePoints") and the
    descriptions ("N7 Rating", "Challenge Points").
    """

    category: str = tdf.member("CATG", tdf.Str, default="MassEffectStats")
    defaultValue: str = tdf.member("DFLT", tdf.Str, default="0")
    derived: bool = tdf.member("DRVD", tdf.Bool)
    format: str = tdf.member("FRMT", tdf.Str, default="%d")
    kind: str = tdf.member("KIND", tdf.Str)
    longDescription: str = tdf.member("LDSC", tdf.Str)
    metadata: str = tdf.member(
        "META", tdf.Str, default="W=200, HMC=tableColHeader3, REMC=tableRowEntry3"
    )
    name: str = tdf.member("NAME", tdf.Str)
    shortDescription: str = tdf.member("SDSC", tdf.Str)
    type: int = tdf.member("TYPE", tdf.Int)


_GROUP_METADATA = (
    "RF=@W=150, HMC=tableColHeader1, REMC=tableRowEntry1@ "
    "UF=@W=670, HMC=tableColHeader2, REMC=tableRowEntry2@"
)


@tdf.tdfStruct
@attrs.define
class LeaderboardGroupResponse:
    """
    getLeaderboardGroup (7/0x0A) reply
    (C{Blaze::Stats::LeaderboardGroupResponse}).  Build ME3's with
    L{leaderboardGroup}.

    Tags: C{ASCD}, C{BNAM}, C{DESC}, C{ETYP}, C{KSUM}, C{LBSZ}, C{LIST},
    C{META}, C{NAME}, C{SNAM}.
    """

    ascending: bool = tdf.member("ASCD", tdf.Bool)
    boardName: str = tdf.member("BNAM", tdf.Str)
    description: str = tdf.member("DESC", tdf.Str)
    entityType: tdf.ObjectType = tdf.member(
        "ETYP", tdf.ObjType, default=ENTITY_TYPE_USER
    )
    keyScopes: dict[str, ScopeValues] = tdf.member(
        "KSUM",
        tdf.MapOf(tdf.Str, tdf.StructOf(ScopeValues)),
        default=attrs.Factory(lambda: {"accountcountry": ScopeValues({0: 0})}),
    )
    leaderboardSize: int = tdf.member("LBSZ", tdf.Int, default=0x7270E0)
    columns: list[StatDescSummary] = tdf.member(
        "LIST", tdf.ListOf(tdf.StructOf(StatDescSummary))
    )
    metadata: str = tdf.member("META", tdf.Str, default=_GROUP_METADATA)
    name: str = tdf.member("NAME", tdf.Str)
    statName: str = tdf.member("SNAM", tdf.Str)


def countryScope(code: str) -> int:
    """
    The C{accountcountry} key scope value of a two-letter country code:
    its two ASCII letters, big-endian (C{DE} is 0x4445, 17477).
    """
    upper = code.upper()
    if len(upper) != 2 or not (upper.isascii() and upper.isalpha()):
        raise ValueError(f"not a two-letter country code: {code!r}")
    return (ord(upper[0]) << 8) | ord(upper[1])


def leaderboardGroup(
    boardName: str,
    description: str,
    statName: str,
    statDescription: str,
    groupName: str,
    category: str = "MassEffectStats",
    scope: int = 0,
) -> LeaderboardGroupResponse:
    """
    The group reply as EA's server sent it, e.g. for C{N7RatingGlobal}:
    description "N7 Rating - Global", stat "n7rating" / "N7 Rating" in
    category "MassEffectStats", group "ME3LeaderboardGroup"; for challenge
    points "ChallengePoints" / "Challenge Points" in "ME3ChallengeStats",
    group "ME3ChallengePoints".

    @param scope: the C{accountcountry} key scope: 0 for a global board, a
        L{countryScope} for a country's (sent as the range C{scope} to
        C{scope} in C{KSVL}).
    """
    column = StatDescSummary(
        category=category,
        longDescription=statDescription,
        name=statName,
        shortDescription=statDescription,
    )
    return LeaderboardGroupResponse(
        boardName=boardName,
        description=description,
        keyScopes={"accountcountry": ScopeValues({scope: scope})},
        columns=[column],
        name=groupName,
        statName=statName,
    )


@tdf.tdfStruct
@attrs.define
class LeaderboardStatValuesRow:
    """
    One leaderboard row (C{Blaze::Stats::LeaderboardStatValuesRow}).  Build
    it with L{leaderboardRow}.

    Tags: C{ENAM}, C{ENID}, C{RANK}, C{RSTA}, C{RWFG}, C{RWOT}, C{RWST},
    C{STAT}, C{UATT}.

    @ivar rankedStat: the ranked value as a string.
    @ivar otherStats: the stat columns as strings (ME3: the value again).
    @ivar rankedRawStat: a L{StatRawValue} choice; unset.
    @ivar otherRawStats: L{StatRawValue} choices; empty.
    """

    entityName: str = tdf.member("ENAM", tdf.Str)
    entityId: int = tdf.member("ENID", tdf.Int)
    rank: int = tdf.member("RANK", tdf.Int)
    rankedStat: str = tdf.member("RSTA", tdf.Str)
    rawStats: bool = tdf.member("RWFG", tdf.Bool)
    otherRawStats: list[tdf.Choice] = tdf.member("RWOT", tdf.ListOf(StatRawValue))
    rankedRawStat: tdf.Choice = tdf.member("RWST", StatRawValue)
    otherStats: list[str] = tdf.member("STAT", tdf.ListOf(tdf.Str))
    attribute: int = tdf.member("UATT", tdf.UInt)


def leaderboardRow(
    playerId: int, playerName: str, rank: int, value: int
) -> LeaderboardStatValuesRow:
    """
    A row as the reference server writes it: the value as a string in
    C{RSTA} and as the only C{STAT} column.
    """
    text = str(value)
    return LeaderboardStatValuesRow(
        entityName=playerName,
        entityId=playerId,
        rank=rank,
        rankedStat=text,
        otherStats=[text],
    )


@tdf.tdfStruct
@attrs.define
class LeaderboardStatValues:
    """
    getLeaderboard, getCenteredLeaderboard and getFilteredLeaderboard reply
    (C{Blaze::Stats::LeaderboardStatValues}).

    Tags: C{LDLS}.
    """

    rows: list[LeaderboardStatValuesRow] = tdf.member(
        "LDLS", tdf.ListOf(tdf.StructOf(LeaderboardStatValuesRow))
    )


@tdf.tdfStruct
@attrs.define
class EntityCount:
    """
    getLeaderboardEntityCount (7/0x12) reply (C{Blaze::Stats::EntityCount}).

    Tags: C{CNT}.
    """

    count: int = tdf.member("CNT", tdf.Int)
