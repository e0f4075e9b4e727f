# -*- test-case-name: tests.test_messages -*-

"""
GameReporting (component 0x1C): submitOfflineGameReport and the result
notification (blaze-wire.md section 5.12).

The report itself (C{RPRT.GAME}) is a type-7 variable; for ME3 it carries
a struct with the C{PLYR} map, which L{playerReports} decodes into
L{MassEffectPlayerReport} values.
"""

from __future__ import annotations

import attrs

from pocketrelay.blaze import tdf

__all__ = [
    "GameReport",
    "MassEffectPlayerReport",
    "MassEffectReport",
    "ResultNotification",
    "SubmitGameReportRequest",
    "SubmitOfflineGameReportRequest",
    "playerReports",
]


@tdf.tdfStruct
@attrs.define
class GameReport:
    """
    A game report (C{Blaze::GameReporting::GameReport}).

    Tags: C{GAME}, C{GRID}, C{GTYP}.

    @ivar game: the title's report, a type-7 value (L{playerReports}
        reads ME3's).
    @ivar gameReportingId: u64.
    @ivar gameType: "massEffectReport" for ME3.
    """

    game: tdf.VariableValue | None = tdf.member("GAME", tdf.Var)
    gameReportingId: int = tdf.member("GRID", tdf.UInt)
    gameType: str = tdf.member("GTYP", tdf.Str, default="massEffectReport")


@tdf.tdfStruct
@attrs.define
class SubmitGameReportRequest:
    """
    submitOfflineGameReport (0x1C/0x02) request
    (C{Blaze::GameReporting::SubmitGameReportRequest}); the reply is empty
    and a L{ResultNotification} follows.

    Tags: C{FNSH}, C{PRVT}, C{RPRT}.

    @ivar finishedStatus: an enum (finished/DNF).
    """

    finishedStatus: int = tdf.member("FNSH", tdf.Int)
    privateReport: tdf.VariableValue | None = tdf.member("PRVT", tdf.Var)
    report: GameReport = tdf.member(
        "RPRT", tdf.StructOf(GameReport), default=attrs.Factory(GameReport)
    )


#: The offline game report request under the name the server code uses.
SubmitOfflineGameReportRequest = SubmitGameReportRequest


@tdf.tdfStruct
@attrs.define
class MassEffectPlayerReport:
    """
    One player's line in ME3's game report.

    Tags: C{CTRY}, C{NCHP}, C{NRAT}.

    @ivar country: the locale as four big-endian ASCII bytes.
    @ivar challengePoints: the player's challenge points.
    @ivar n7Rating: the player's N7 rating.
    """

    country: int = tdf.member("CTRY", tdf.UInt)
    challengePoints: int = tdf.member("NCHP", tdf.UInt)
    n7Rating: int = tdf.member("NRAT", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class MassEffectReport:
    """
    ME3's game report, the struct inside L{GameReport.game}.

    Tags: C{PLYR}.
    """

    players: dict[int, MassEffectPlayerReport] = tdf.member(
        "PLYR", tdf.MapOf(tdf.Int, tdf.StructOf(MassEffectPlayerReport))
    )


def playerReports(report: GameReport) -> dict[int, MassEffectPlayerReport]:
    """
    The per-player values (challenge points, N7 rating) of ME3's report,
    by player id.  An absent report or one that is not a struct gives an
    empty dict.

    @raise tdf.TdfDecodeError: if the report's struct is malformed.
    """
    game = report.game
    if game is None or not isinstance(game.member.value, tdf.StructValue):
        return {}
    try:
        body = tdf.encodeStruct(game.member.value)
    except tdf.TdfEncodeError as e:
        raise tdf.TdfDecodeError(f"game report cannot be read: {e.reason}")
    return tdf.decode(MassEffectReport, body).players


@tdf.tdfStruct
@attrs.define
class ResultNotification:
    """
    The game report result notification (0x1C/0x72,
    C{Blaze::GameReporting::ResultNotification}).  The reference server
    sends the defaults: C{DATA} absent (C{07 00}) and zeros.

    Tags: C{DATA}, C{EROR}, C{FNL}, C{GHID}, C{GRID}.
    """

    data: tdf.VariableValue | None = tdf.member("DATA", tdf.Var)
    error: int = tdf.member("EROR", tdf.Int)
    final: bool = tdf.member("FNL", tdf.Bool)
    gameHistoryId: int = tdf.member("GHID", tdf.UInt)
    gameReportingId: int = tdf.member("GRID", tdf.UInt)
