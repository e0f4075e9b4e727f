# -*- test-case-name: tests.test_web_api -*-
"""
The route table of the JSON API (everything below C{/api} except the
routes C{site.py} serves itself: C{/api/server}, C{/api/server/upgrade},
C{/api/server/dashboard}), and the handlers of the small routes: games,
game reports, leaderboards, the server log and the OpenAPI document.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from twisted.internet import defer

from pocketrelay.server.limits import (
    LOGIN_ADDRESS,
    LOGIN_CODE_ADDRESS,
    TELEMETRY_ADDRESS,
)
from pocketrelay.server.store import (
    MAX_DATA_KEY_LENGTH,
    MAX_DATA_VALUE_SIZE,
    MAX_DISPLAY_NAME_LENGTH,
    MAX_EMAIL_LENGTH,
    MAX_PAGE_SIZE,
    MAX_QUERY_LENGTH,
    LeaderboardType,
    PlayerRole,
)
from pocketrelay.server.web.api import accounts, telemetry
from pocketrelay.server.web.api.openapi import cachedDocument
from pocketrelay.server.web.api.router import (
    Access,
    ApiError,
    Call,
    Field,
    QueryParam,
    Route,
    Text,
)

if TYPE_CHECKING:
    from pocketrelay.server.hub import Hub
    from pocketrelay.server.store import LeaderboardEntry, Player

__all__ = ["ROUTES", "gameSnapshots", "leaderboardEntryJson"]

#: The body limit of a player data PUT: one value at the store's limit,
#: plus its JSON wrapping.
DATA_BODY_LIMIT: Final = MAX_DATA_VALUE_SIZE + 4096

_BOARDS: Final = {
    "n7": LeaderboardType.N7_RATING,
    "cp": LeaderboardType.CHALLENGE_POINTS,
}


def _page(defaultCount: int) -> tuple[QueryParam, ...]:
    return (
        QueryParam("offset", int, 0, 0, 1_000_000_000,
                   description="Page index (page number - 1), not a row offset."),
        QueryParam("count", int, defaultCount, 1, MAX_PAGE_SIZE,
                   description="Page size."),
    )


# -- games ---------------------------------------------------------------


def _addressJson(address: Any) -> dict[str, Any]:
    # The game reported these numbers: an IP outside 32 bits is shown as
    # null rather than failing the whole page.
    host = address.host if 0 <= address.ip <= 0xFFFFFFFF else None
    return {"address": host, "port": address.port}


def _netJson(info: Any) -> dict[str, Any]:
    """
    A game member's network details for Admin viewers: C{groups} (the
    dashboard reads C{groups.internal/external.{address, port}}) and
    C{qos} (C{natt} a number, as the dashboard reads it).
    """
    from pocketrelay.me3.messages.common import NetworkAddressIndex

    net: dict[str, Any] = {}
    choice = info.address
    if choice.isSet and choice.index == NetworkAddressIndex.IP_PAIR:
        net["groups"] = {"internal": _addressJson(choice.value.internal),
                         "external": _addressJson(choice.value.external)}
    elif choice.isSet and choice.index == NetworkAddressIndex.IP:
        one = _addressJson(choice.value)
        net["groups"] = {"internal": one, "external": dict(one)}
    qos = info.qos
    net["qos"] = {
        "natt": int(qos.natType),
        "dbps": int(qos.downstreamBitsPerSecond),
        "ubps": int(qos.upstreamBitsPerSecond),
    }
    net["hardware_flags"] = int(info.hardwareFlags)
    return net


def _gameJson(game: Any, admin: bool) -> dict[str, Any]:
    players = []
    for member in game.players:
        entry: dict[str, Any] = {"player_id": member.playerId,
                                 "display_name": member.info.name}
        if admin:
            entry["net"] = _netJson(member.info)
        players.append(entry)
    return {
        "id": game.gameId,
        "state": int(game.state),
        "setting": int(game.settings),
        "attributes": dict(game.attributes),
        "players": players,
        "total_players": len(players),
        "created_at": accounts.isoTime(game.createdAt),
    }


def gameSnapshots(hub: Hub, viewer: Player | None) -> list[dict[str, Any]]:
    """
    The live games (C{hub.games}) as the API shows them, in id order.

    Every game is C{{id, state, setting, attributes, players,
    total_players, created_at}} (C{state} and C{setting} are the Blaze
    numbers); each player C{{player_id, display_name}} plus C{net}
    (C{groups.internal/external.{address, port}}, C{qos.natt}) for Admin
    viewers.  The caller replaces C{players} with L{None} for anonymous
    viewers when C{api.public_games_hide_players} is on.
    """
    registry = getattr(getattr(hub, "games", None), "games", None)
    if not registry:
        return []
    admin = viewer is not None and viewer.role >= PlayerRole.ADMIN
    return [_gameJson(game, admin) for _, game in sorted(registry.items())]


def _gamePlayers(hub: Hub, viewer: Player | None) -> bool:
    return viewer is not None or not hub.settings["api.public_games_hide_players"]


def listGames(call: Call) -> Any:
    """
    GET /games?offset=&count=.
    """
    games = gameSnapshots(call.hub, call.player)
    offset, count = call.query["offset"], call.query["count"]
    start = offset * count
    page = games[start:start + count]
    if not _gamePlayers(call.hub, call.player):
        page = [dict(game, players=None) for game in page]
    return {"games": page, "more": start + count < len(games), "total_items": len(games)}


def getGame(call: Call) -> Any:
    """
    GET /games/{game_id}.
    """
    for game in gameSnapshots(call.hub, call.player):
        if game.get("id") == call.params["game_id"]:
            if not _gamePlayers(call.hub, call.player):
                game = dict(game, players=None)
            return game
    raise ApiError(404, "Unknown game")


# -- game reports ----------------------------------------------------------


def _reportJson(report: Any) -> dict[str, Any]:
    return {
        "id": report.id,
        "data": report.data,
        "created_at": accounts.isoTime(report.createdAt),
        "finished_at": accounts.isoTime(report.finishedAt),
    }


@defer.inlineCallbacks
def listReports(call: Call) -> Any:
    """
    GET /game-reports?offset=&count=, newest first.
    """
    offset, count = call.query["offset"], call.query["count"]
    reports, total = yield call.hub.store.listGameReports(offset * count, count)
    return {
        "reports": [_reportJson(r) for r in reports],
        "more": (offset + 1) * count < total,
        "total_items": total,
    }


@defer.inlineCallbacks
def getReport(call: Call) -> Any:
    """
    GET /game-reports/{report_id}.
    """
    report = yield call.hub.store.getGameReport(call.params["report_id"])
    if report is None:
        raise ApiError(404, "Unknown game report")
    return _reportJson(report)


# -- leaderboards -------------------------------------------------------------


def leaderboardEntryJson(entry: LeaderboardEntry) -> dict[str, Any]:
    """
    A leaderboard entry as the dashboard reads it.
    """
    return {
        "player_id": entry.playerId,
        "player_name": entry.playerName,
        "value": entry.value,
        "rank": entry.rank,
    }


@defer.inlineCallbacks
def leaderboardPage(call: Call) -> Any:
    """
    GET /leaderboard/{board}?offset=&count=: global ranks from 1.
    """
    board = _BOARDS[call.params["board"]]
    offset, count = call.query["offset"], call.query["count"]
    start = offset * count
    total = yield call.hub.store.countLeaderboard(board)
    entries = yield call.hub.store.getLeaderboardPage(board, start, count)
    return {
        "total": total,
        "entries": [leaderboardEntryJson(e) for e in entries],
        "more": start + len(entries) < total,
    }


@defer.inlineCallbacks
def leaderboardEntry(call: Call) -> Any:
    """
    GET /leaderboard/{board}/{player_id}: the player's global rank.
    """
    board = _BOARDS[call.params["board"]]
    entry = yield call.hub.store.getLeaderboardRank(board, call.params["player_id"])
    if entry is None:
        raise ApiError(404, "Player is not ranked on this leaderboard")
    return leaderboardEntryJson(entry)


# -- server ------------------------------------------------------------------


def getLog(call: Call) -> Any:
    """
    GET /server/log: the recent log, oldest first, as plain text.
    """
    buffer = call.api.logBuffer
    return Text(buffer.text() if buffer is not None else "")


def clearLog(call: Call) -> Any:
    """
    DELETE /server/log.
    """
    buffer = call.api.logBuffer
    if buffer is not None:
        buffer.clear()
    return {}


def openApiDocument(call: Call) -> Any:
    """
    GET /openapi.json.
    """
    return cachedDocument(call.api.routes, call.hub.version)


# -- the table -------------------------------------------------------------------

_EMAIL = Field("email", str, maxLength=MAX_EMAIL_LENGTH, description="Login email address.")
_USERNAME = Field("username", str, maxLength=MAX_DISPLAY_NAME_LENGTH,
                  description="Display name shown in game.")
_PASSWORD = Field("password", str, maxLength=accounts.MAX_PASSWORD_LENGTH,
                  description="Password.")
_CURRENT_FOR_EMAIL = Field(
    "current_password", str, required=False, maxLength=accounts.MAX_PASSWORD_LENGTH,
    description="The caller's current password: required to change the caller's "
                "own email.")
_ROLES = tuple(accounts.ROLE_NAMES[r] for r in PlayerRole)

#: Every route of the JSON API, below C{/api}.
ROUTES: Final[tuple[Route, ...]] = (
    Route("POST", "/auth/login", accounts.login, Access.PUBLIC,
          "Log in with email and password",
          body=(_EMAIL, _PASSWORD), response="Token", errors=(401, 429),
          rateLimit=LOGIN_ADDRESS,
          description="429 (with Retry-After) beyond limits.login_rate per client "
                      "address or per email and address, or beyond "
                      "limits.login_email_rate per email from addresses the account "
                      "did not log in from lately."),
    Route("POST", "/auth/create", accounts.createAccount, Access.PUBLIC,
          "Create an account",
          body=(_USERNAME, _EMAIL, _PASSWORD), response="Token", errors=(403, 409, 429),
          rateLimit=LOGIN_ADDRESS,
          description="403 when dashboard.disable_registration is on. The email is "
                      "stored in canonical form (NFKC, case-folded) and must be ASCII "
                      "once canonical. A new account is never SuperAdmin. 429 "
                      "beyond limits.login_rate per client address."),
    Route("POST", "/auth/request-code", accounts.requestCode, Access.PUBLIC,
          "Send a login code into the player's game",
          body=(_EMAIL,), response="Empty", errors=(404, 429, 503),
          rateLimit=LOGIN_CODE_ADDRESS,
          description="The player must be logged in to the game: the code (5 letters "
                      "or digits, valid 30 minutes, single use) arrives as an in-game "
                      "message. 400 when the player is not online. 429 beyond "
                      "limits.login_code_rate per client address or per player."),
    Route("POST", "/auth/exchange-code", accounts.exchangeCode, Access.PUBLIC,
          "Exchange a login code for a token",
          body=(Field("login_code", str, maxLength=64,
                      description="The code shown in game (case-insensitive)."),),
          response="Token", errors=(429,), rateLimit=LOGIN_ADDRESS,
          description="429 beyond limits.login_rate per client address."),
    Route("GET", "/players", accounts.listPlayers, Access.ADMIN,
          "List players",
          query=(*_page(20),
                 QueryParam("query", str, None, maxLength=MAX_QUERY_LENGTH,
                            description="Only players whose display name or email "
                                        "contains this text (case-insensitive).")),
          response="PlayerList"),
    Route("GET", "/players/self", accounts.getSelf, Access.USER,
          "The caller's account", response="Player"),
    Route("DELETE", "/players/self", accounts.deleteSelf, Access.USER,
          "Delete the caller's account",
          body=(Field("password", str, maxLength=accounts.MAX_PASSWORD_LENGTH,
                      description="The current password."),),
          response="Empty", errors=(404, 429), rateLimit=LOGIN_ADDRESS,
          description="403 for a wrong password. Rate limited as a login."),
    Route("PUT", "/players/self/password", accounts.setOwnPassword, Access.USER,
          "Change the caller's password",
          body=(Field("current_password", str, maxLength=accounts.MAX_PASSWORD_LENGTH),
                Field("new_password", str, maxLength=accounts.MAX_PASSWORD_LENGTH)),
          response="PlayerWithToken", errors=(404, 429), rateLimit=LOGIN_ADDRESS,
          description="403 for a wrong current password. Rate limited as a login. "
                      "Revokes every earlier token of the account and ends its game "
                      "session; the answer carries a new token."),
    Route("POST", "/players/self/logout", accounts.logoutEverywhere, Access.USER,
          "Log out everywhere",
          response="Empty",
          description="Revokes every token of the caller's account, the one sent "
                      "included, and ends its game session."),
    Route("PUT", "/players/self/details", accounts.setOwnDetails, Access.USER,
          "Change the caller's display name and email",
          body=(_USERNAME, _EMAIL, _CURRENT_FOR_EMAIL), response="Player",
          errors=(404, 409, 429),
          description="Changing the email needs current_password (400 without, "
                      "403 when wrong, rate limited as a login), revokes every "
                      "earlier token of the account and the answer carries a new "
                      "token; the game session stays. A display name alone needs "
                      "no password."),
    Route("GET", "/players/{id}", accounts.getPlayer, Access.ADMIN,
          "One player", response="Player", errors=(404,)),
    Route("DELETE", "/players/{id}", accounts.deletePlayer, Access.ADMIN,
          "Delete a player", response="Empty", errors=(404,),
          description="Needs a strictly higher role than the player's; not for "
                      "oneself (use DELETE /players/self)."),
    Route("PUT", "/players/{id}/password", accounts.setPassword, Access.ADMIN,
          "Set a player's password",
          body=(_PASSWORD,
                Field("current_password", str, required=False,
                      maxLength=accounts.MAX_PASSWORD_LENGTH,
                      description="The caller's current password: required when "
                                  "the player is the caller.")),
          response="Player", errors=(404, 429),
          description="Needs permission over the player (same account or strictly "
                      "higher role). Revokes the player's earlier tokens and ends "
                      "its game session. For one's own account current_password is "
                      "required (400 without, 403 when wrong, rate limited as a "
                      "login) and the answer carries a new token."),
    Route("POST", "/players/{id}/logout", accounts.logoutPlayer, Access.ADMIN,
          "Log a player out everywhere", response="Player", errors=(404,),
          description="Needs permission over the player. Revokes every token of "
                      "the player and ends its game session."),
    Route("PUT", "/players/{id}/details", accounts.setDetails, Access.ADMIN,
          "Change a player's display name and email",
          body=(_USERNAME, _EMAIL, _CURRENT_FOR_EMAIL), response="Player",
          errors=(404, 409, 429),
          description="Needs permission over the player. For one's own account "
                      "as PUT /players/self/details: an email change needs "
                      "current_password, revokes the earlier tokens and the answer "
                      "carries a new token."),
    Route("PUT", "/players/{id}/role", accounts.setRole, Access.SUPER_ADMIN,
          "Set a player's role",
          body=(Field("role", str, enum=_ROLES,
                      description="Default or Admin; SuperAdmin cannot be granted."),),
          response="Player", errors=(404,),
          description="403 when granting SuperAdmin or changing a SuperAdmin. "
                      "Revokes the player's earlier tokens."),
    Route("GET", "/players/{id}/data", accounts.getAllData, Access.USER,
          "All of a player's data", response="PlayerData", errors=(404,),
          description="Needs permission over the player (owners read their own)."),
    Route("GET", "/players/{id}/data/{key}", accounts.getData, Access.USER,
          "One player data value", response="PlayerDataValue", errors=(404,),
          description="Needs permission over the player."),
    Route("PUT", "/players/{id}/data/{key}", accounts.putData, Access.ADMIN,
          "Set one player data value",
          body=(Field("value", str, maxLength=MAX_DATA_VALUE_SIZE,
                      description="The game's settings string, stored verbatim."),),
          response="PlayerDataValue", errors=(404,), maxBody=DATA_BODY_LIMIT,
          description=f"Needs permission over the player. Keys are 1 to "
                      f"{MAX_DATA_KEY_LENGTH} characters; values up to "
                      f"{MAX_DATA_VALUE_SIZE} bytes of UTF-8."),
    Route("DELETE", "/players/{id}/data/{key}", accounts.deleteData, Access.ADMIN,
          "Delete one player data value", response="Empty", errors=(404,),
          description="Needs permission over the player. Answers {} also when the "
                      "key did not exist."),
    Route("GET", "/players/{id}/galaxy_at_war", accounts.getGalaxyAtWar, Access.USER,
          "A player's Galaxy at War ratings", response="GalaxyAtWar", errors=(404,),
          description="Needs permission over the player (players read their own). "
                      "Decay applied as of now; reading stores nothing."),
    Route("GET", "/games", listGames, Access.GAMES,
          "Live games", query=_page(20), response="GameList",
          description="Needs a token unless api.public_games is on."),
    Route("GET", "/games/{game_id}", getGame, Access.GAMES,
          "One live game", response="Game", errors=(404,)),
    Route("GET", "/game-reports", listReports, Access.GAMES,
          "Stored end-of-game reports, newest first", query=_page(20),
          response="GameReportList"),
    Route("GET", "/game-reports/{report_id}", getReport, Access.GAMES,
          "One end-of-game report", response="GameReport", errors=(404,)),
    Route("GET", "/leaderboard/{board}", leaderboardPage, Access.PUBLIC,
          "A page of a leaderboard", query=_page(40), response="Leaderboard"),
    Route("GET", "/leaderboard/{board}/{player_id}", leaderboardEntry, Access.PUBLIC,
          "A player's leaderboard entry", response="LeaderboardEntry", errors=(404,),
          description="404 when the player is not ranked."),
    Route("GET", "/server/log", getLog, Access.SUPER_ADMIN,
          "The recent server log (plain text)", response="text",
          description="The most recent log events kept in memory, oldest first."),
    Route("DELETE", "/server/log", clearLog, Access.SUPER_ADMIN,
          "Clear the recent server log", response="Empty"),
    Route("POST", "/server/telemetry", telemetry.submitTelemetry, Access.PUBLIC,
          "Submit one game telemetry record (Pocket Relay clients)",
          body=(Field("values", list,
                      description="The record's [key, value] pairs, both strings, in "
                                  f"order: 1 to {telemetry.MAX_VALUES} pairs, keys of "
                                  "printable ASCII."),),
          response="Empty", errors=(429,), maxBody=telemetry.MAX_BODY,
          rateLimit=TELEMETRY_ADDRESS,
          description="The client decodes the game's telemetry and posts each "
                      "record. It is logged at debug level and kept in memory with "
                      f"the last {telemetry.WINDOW_RECORDS}. 400 for a malformed "
                      "record; 429 beyond limits.telemetry_rate per client address."),
    Route("GET", "/server/telemetry", telemetry.recentTelemetry, Access.SUPER_ADMIN,
          "Recently received telemetry records, newest first",
          query=(QueryParam("count", int, 100, 1, telemetry.WINDOW_RECORDS,
                            description="How many records."),),
          response="TelemetryRecords",
          description=f"Kept in memory: the last {telemetry.WINDOW_RECORDS} records "
                      "(fewer when they are large), lost at restart."),
    Route("GET", "/openapi.json", openApiDocument, Access.PUBLIC,
          "This OpenAPI document", response="OpenApi"),
)
