# -*- test-case-name: tests.test_web_api -*-
"""
Handlers of the account routes: logging in (password or in-game login
code), creating accounts, the players list, one player, player data and
a player's Galaxy at War ratings; and L{ensureSuperAdmin}, run at start.

Permissions follow the reference server: roles Default < Admin <
SuperAdmin, and a caller has I{permission over} a player when it is the
same account or the caller's role is strictly higher.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs
from twisted.internet import defer
from twisted.logger import Logger

from pocketrelay.server.limits import LOGIN_ADDRESS, LOGIN_CODE_PLAYER
from pocketrelay.server.security import revocationExpiry
from pocketrelay.server.store import (
    MAX_DISPLAY_NAME_LENGTH,
    PlayerRole,
)
from pocketrelay.server.store.emails import checkedEmail, loginEmail
from pocketrelay.server.web.api.router import ApiError, Call, clientAddress, rateLimit

if TYPE_CHECKING:
    from pocketrelay.server.config import Settings
    from pocketrelay.server.hub import Hub
    from pocketrelay.server.security import Passwords
    from pocketrelay.server.store import Player, Store

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "CODE_LIFETIME",
    "MAX_PASSWORD_LENGTH",
    "ROLE_NAMES",
    "LoginCodes",
    "ensureSuperAdmin",
    "hasPermissionOver",
    "isoTime",
    "loginCodeMessage",
    "playerJson",
    "roleFromName",
]

log = Logger()

#: The JSON names of the roles.
ROLE_NAMES: Final[Mapping[PlayerRole, str]] = {
    PlayerRole.DEFAULT: "Default",
    PlayerRole.ADMIN: "Admin",
    PlayerRole.SUPER_ADMIN: "SuperAdmin",
}

#: Longest password accepted, in characters (as in-game account creation).
MAX_PASSWORD_LENGTH: Final = 256

#: Login codes: 5 characters from A-Z and 0-9, valid 30 minutes, one use.
CODE_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
CODE_LENGTH: Final = 5
CODE_LIFETIME: Final = 30 * 60
#: Seconds a player must wait between two code requests.
CODE_COOLDOWN: Final = 10
#: Most login codes pending at once (a bound on memory).
MAX_PENDING_CODES: Final = 10000

_CODE = re.compile(f"[A-Z0-9]{{{CODE_LENGTH}}}")


def isoTime(seconds: int | float | None) -> str | None:
    """
    A Unix time as an ISO 8601 UTC string (C{2024-05-01T12:00:00Z}), or
    L{None}.
    """
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(seconds)))


def roleName(role: PlayerRole) -> str:
    """
    The JSON name of a role.
    """
    return ROLE_NAMES[PlayerRole(role)]


def roleFromName(name: str) -> PlayerRole:
    """
    The role with a JSON name.

    @raise KeyError: for an unknown name.
    """
    for role, roleText in ROLE_NAMES.items():
        if roleText == name:
            return role
    raise KeyError(name)


def playerJson(player: Player) -> dict[str, Any]:
    """
    A player as the dashboard reads it.
    """
    return {
        "id": player.id,
        "email": player.email,
        "display_name": player.displayName,
        "role": roleName(player.role),
        "last_login_at": isoTime(player.lastLoginAt),
    }


def hasPermissionOver(actor: Player, target: Player) -> bool:
    """
    Whether C{actor} may act on C{target}: the same account, or a strictly
    higher role.
    """
    return actor.id == target.id or actor.role > target.role


def _checkedEmail(value: str) -> str:
    """
    The canonical form of a new address (see
    L{pocketrelay.server.store.emails}).
    """
    email = checkedEmail(value)
    if email is None:
        raise ApiError(400, "Invalid email address (letters, digits and symbols "
                            "of ASCII only)")
    return email


def _checkedName(value: str) -> str:
    name = value.strip()
    if not name:
        raise ApiError(400, "The username must not be empty")
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise ApiError(400, f"The username is longer than {MAX_DISPLAY_NAME_LENGTH} characters")
    return name


def _checkedPassword(value: str) -> str:
    if not value:
        raise ApiError(400, "The password must not be empty")
    if len(value) > MAX_PASSWORD_LENGTH:
        raise ApiError(400, f"The password is longer than {MAX_PASSWORD_LENGTH} characters")
    return value


def _caller(call: Call) -> Player:
    player = call.player
    if player is None:  # the route table guarantees a caller
        raise ApiError(401, "Missing X-Token header: log in first")
    return player


@defer.inlineCallbacks
def _target(call: Call, permission: bool = True) -> Any:
    """
    The player named by the path's C{{id}}; with C{permission}, the caller
    must have permission over them.
    """
    player = yield call.hub.store.getPlayer(call.params["id"])
    if player is None:
        raise ApiError(404, "Unknown player")
    if permission and not hasPermissionOver(_caller(call), player):
        raise ApiError(403, "Insufficient permission over this player")
    return player


def _refresh(hub: Hub, player: Player | None) -> None:
    if player is not None:
        hub.updatePlayer(player)


def _verify(call: Call, passwordHash: str | None, password: str) -> Any:
    """
    Check a password in the fair hashing queue of the caller's address
    (a full queue fails with L{HashingBusy}, answered 429 by the router).
    """
    return call.hub.passwords.verify(passwordHash, password, clientAddress(call))


def _hash(call: Call, password: str) -> Any:
    """
    Hash a password in the fair hashing queue of the caller's address.
    """
    return call.hub.passwords.hash(password, clientAddress(call))


def _limitPasswordCheck(call: Call, email: str) -> None:
    """
    Take the rate limits of a password check for the account C{email}
    (per email and address, then the per-email fallback; the route took
    the per-address one).
    """
    limits = getattr(call.hub, "limits", None)
    if limits is not None:
        rateLimit(call, *limits.loginChecks(email, clientAddress(call)))


@defer.inlineCallbacks
def _checkOwnPassword(call: Call, me: Player, password: str | None, message: str) -> Any:
    """
    Require the caller's current password (rate limited like a login).

    @raise ApiError: 400 when it is missing, 403 when it is wrong.
    """
    if not password:
        raise ApiError(400, "Give your current password (current_password)")
    _limitPasswordCheck(call, me.email)
    ok = yield _verify(call, me.passwordHash, password)
    if not ok:
        log.info("Wrong current password for account {playerId} from the dashboard",
                 playerId=me.id)
        raise ApiError(403, message)


@defer.inlineCallbacks
def revokeTokens(
    hub: Hub, player: Player, now: int, disconnect: bool, **changes: Any
) -> Any:
    """
    Apply C{changes} to C{player} and revoke its earlier login tokens in the
    same write (see L{pocketrelay.server.security.revocationExpiry}); with
    C{disconnect}, also end its game session, which logged in with the old
    password or token.

    @return: a L{Deferred} firing with the updated L{Player}.
    @raise ApiError: 404 when the account is gone.
    """
    updated = yield hub.store.updatePlayer(
        player.id, tokenMinExpiry=revocationExpiry(now), **changes
    )
    if updated is None:
        raise ApiError(404, "Unknown player")
    session = hub.sessionForPlayer(updated.id)
    if session is not None:
        if disconnect:
            hub.unbindPlayer(session)
            session.disconnect()
        else:
            hub.updatePlayer(updated)
    log.info("Earlier login tokens of account {playerId} revoked", playerId=updated.id)
    return updated


# -- login codes ----------------------------------------------------------


@attrs.define
class _Code:
    playerId: int
    expires: float


def _codeKey(code: str) -> bytes:
    """
    The key a login code is kept under: its SHA-256.  Looking a guess up
    compares digests, so the time taken tells nothing about how much of
    a pending code the guess got right.
    """
    return hashlib.sha256(code.encode("utf-8")).digest()


class LoginCodes:
    """
    The pending in-game login codes: a code is issued for a player, shown
    in the game, and exchanged once in the dashboard for a token.  Codes
    are kept by digest (see L{_codeKey}), never compared as text.

    @ivar clock: gives the time (C{seconds()}).
    """

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self._codes: dict[bytes, _Code] = {}
        self._issued: dict[int, float] = {}

    def __len__(self) -> int:
        self._purge()
        return len(self._codes)

    def _purge(self) -> None:
        now = self.clock.seconds()
        for key, entry in list(self._codes.items()):
            if entry.expires <= now:
                del self._codes[key]
        for playerId, when in list(self._issued.items()):
            if when + CODE_COOLDOWN <= now:
                del self._issued[playerId]

    def issue(self, playerId: int) -> str:
        """
        A new code for C{playerId}, replacing any earlier one.

        @raise ApiError: 429 when the player asked less than
            L{CODE_COOLDOWN} seconds ago; 503 when too many are pending.
        """
        self._purge()
        if playerId in self._issued:
            raise ApiError(429, "A login code was sent a moment ago; wait before asking again")
        if len(self._codes) >= MAX_PENDING_CODES:
            raise ApiError(503, "Too many login codes are pending; try again later")
        for old, entry in list(self._codes.items()):
            if entry.playerId == playerId:
                del self._codes[old]
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            key = _codeKey(code)
            if key not in self._codes:
                break
        now = self.clock.seconds()
        self._codes[key] = _Code(playerId, now + CODE_LIFETIME)
        self._issued[playerId] = now
        return code

    def exchange(self, code: str) -> int | None:
        """
        The player of a valid code, which is used up; L{None} for an
        unknown or expired code.
        """
        self._purge()
        entry = self._codes.pop(_codeKey(code), None)
        return entry.playerId if entry is not None else None


def loginCodeMessage(code: str) -> str:
    """
    The in-game message carrying a login code: a plain line, then a
    C{[SYSTEM_TERMINAL]} line with the JSON the Pocket Relay plugin shows
    as a terminal message.
    """
    text = (
        f"Your dashboard login code is {code}. It is valid for "
        f"{CODE_LIFETIME // 60} minutes."
    )
    terminal = {
        "title": "Dashboard login code",
        "message": text,
        "image": "",
        "ty": 0,
        "tracking_id": 0,
        "priority": 1,
    }
    return f"{text}\n[SYSTEM_TERMINAL]{json.dumps(terminal, separators=(',', ':'))}\n"


def sendInGameMessage(hub: Hub, playerId: int, text: str) -> bool:
    """
    Push C{text} as a Messaging message notification to the player's live
    Blaze session.

    @return: whether the player had a session.
    """
    from pocketrelay.blaze.ids import Component, MessagingNotification
    from pocketrelay.me3.messages.messaging import (
        ClientMessage,
        ServerMessage,
        playerObjectId,
    )

    session = hub.sessionForPlayer(playerId)
    if session is None:
        return False
    target = playerObjectId(playerId)
    session.notify(
        Component.MESSAGING,
        MessagingNotification.MESSAGE,
        ServerMessage(sourceName=text, payload=ClientMessage(target=target), source=target),
    )
    return True


# -- auth routes -----------------------------------------------------------


@defer.inlineCallbacks
def login(call: Call) -> Any:
    """
    POST /auth/login {email, password} -> {token}.
    """
    body = call.body or {}
    email = loginEmail(body["email"])
    if email is None:
        raise ApiError(401, "Incorrect email or password")
    # Per address is checked by the route; then per email and address,
    # and guesses spread over many addresses per account.
    _limitPasswordCheck(call, email)
    player = yield call.hub.store.getPlayerByEmail(email)
    if player is None:
        # As slow as a wrong password: timing must not reveal accounts.
        yield call.hub.passwords.verifyAbsent(body["password"], clientAddress(call))
        raise ApiError(401, "Incorrect email or password")
    if not player.passwordHash:
        raise ApiError(401, "This account has no password; ask an admin to set one")
    ok = yield _verify(call, player.passwordHash, body["password"])
    if not ok:
        log.info("Dashboard login refused for {email}: wrong password", email=email)
        raise ApiError(401, "Incorrect email or password")
    limits = getattr(call.hub, "limits", None)
    if limits is not None:
        limits.loginSucceeded(email, clientAddress(call))
    return {"token": call.hub.signer.issueFor(player)}


@defer.inlineCallbacks
def createAccount(call: Call) -> Any:
    """
    POST /auth/create {username, email, password} -> {token}.
    """
    hub = call.hub
    if hub.settings["dashboard.disable_registration"]:
        raise ApiError(403, "Registration is disabled on this server")
    body = call.body or {}
    email = _checkedEmail(body["email"])
    name = _checkedName(body["username"])
    password = _checkedPassword(body["password"])
    existing = yield hub.store.getPlayerByEmail(email)
    if existing is not None:
        raise ApiError(409, "Email address already in use")
    # Never SuperAdmin: that role belongs to an account, given at start or
    # by pocketrelay-admin, not to whoever registers an address.
    passwordHash = yield _hash(call, password)
    player = yield hub.store.createPlayer(email, name, passwordHash, now=call.now)
    log.info("Account {playerId} ({name}) created from the dashboard",
             playerId=player.id, name=player.displayName)
    limits = getattr(hub, "limits", None)
    if limits is not None:
        limits.loginSucceeded(email, clientAddress(call))
    return {"token": hub.signer.issueFor(player)}


@defer.inlineCallbacks
def requestCode(call: Call) -> Any:
    """
    POST /auth/request-code {email}: send a login code into the game of
    the (online) player.
    """
    hub = call.hub
    email = loginEmail((call.body or {})["email"])
    player = yield hub.store.getPlayerByEmail(email) if email else None
    if player is None:
        raise ApiError(404, "No account with this email address")
    if hub.sessionForPlayer(player.id) is None:
        raise ApiError(400, "The player must be logged in to the game to receive a code")
    rateLimit(call, (LOGIN_CODE_PLAYER, player.id))
    code = call.api.loginCodes.issue(player.id)
    sendInGameMessage(hub, player.id, loginCodeMessage(code))
    log.info("Sent a dashboard login code to player {playerId} in game", playerId=player.id)
    return {}


@defer.inlineCallbacks
def exchangeCode(call: Call) -> Any:
    """
    POST /auth/exchange-code {login_code} -> {token}.
    """
    code = (call.body or {})["login_code"].strip().upper()
    if not _CODE.fullmatch(code):
        raise ApiError(400, f"A login code is {CODE_LENGTH} letters or digits")
    playerId = call.api.loginCodes.exchange(code)
    if playerId is None:
        raise ApiError(400, "Invalid or expired login code")
    player = yield call.hub.store.getPlayer(playerId)
    if player is None:
        raise ApiError(400, "Invalid or expired login code")
    return {"token": call.hub.signer.issueFor(player)}


# -- players -------------------------------------------------------------


@defer.inlineCallbacks
def listPlayers(call: Call) -> Any:
    """
    GET /players?offset=&count=&query= (offset is a page index).
    """
    offset, count = call.query["offset"], call.query["count"]
    players, total = yield call.hub.store.listPlayers(
        offset * count, count, call.query.get("query") or None
    )
    return {
        "players": [playerJson(p) for p in players],
        "more": (offset + 1) * count < total,
        "total_pages": -(-total // count),
        "total_items": total,
    }


def getSelf(call: Call) -> Any:
    """
    GET /players/self.
    """
    return playerJson(_caller(call))


@defer.inlineCallbacks
def deleteSelf(call: Call) -> Any:
    """
    DELETE /players/self {password}.
    """
    me = _caller(call)
    yield _checkOwnPassword(call, me, (call.body or {})["password"], "Incorrect password")
    yield _delete(call.hub, me)
    return {}


@defer.inlineCallbacks
def _changeOwnPassword(call: Call, current: str | None, new: str) -> Any:
    """
    Change the caller's own password after checking the current one;
    revoke its earlier tokens and answer the player with a new C{token}
    for the caller's dashboard.
    """
    me = _caller(call)
    new = _checkedPassword(new)
    yield _checkOwnPassword(call, me, current, "Incorrect current password")
    passwordHash = yield _hash(call, new)
    player = yield revokeTokens(call.hub, me, call.now, True, passwordHash=passwordHash)
    log.info("Account {playerId} changed its password", playerId=player.id)
    return {**playerJson(player), "token": call.hub.signer.issueFor(player)}


def setOwnPassword(call: Call) -> Any:
    """
    PUT /players/self/password {current_password, new_password}.
    """
    body = call.body or {}
    return _changeOwnPassword(call, body["current_password"], body["new_password"])


@defer.inlineCallbacks
def logoutEverywhere(call: Call) -> Any:
    """
    POST /players/self/logout: revoke every login token of the caller
    (also the one used for this call) and end its game session.
    """
    me = _caller(call)
    yield revokeTokens(call.hub, me, call.now, True)
    return {}


@defer.inlineCallbacks
def logoutPlayer(call: Call) -> Any:
    """
    POST /players/{id}/logout: revoke every login token of a player the
    caller has permission over and end its game session.
    """
    target = yield _target(call)
    player = yield revokeTokens(call.hub, target, call.now, True)
    return playerJson(player)


@defer.inlineCallbacks
def _setDetails(call: Call, target: Player) -> Any:
    """
    Change C{target}'s display name and email.  Changing one's own email
    needs one's current password (rate limited as a login): with a stolen
    token alone nobody can take the login address and lock the owner out.
    It revokes the account's earlier tokens, and the answer carries a new
    token for the caller's dashboard.  An admin changing another player's
    email needs only permission over them (checked by the caller).
    """
    body = call.body or {}
    email = _checkedEmail(body["email"])
    name = _checkedName(body["username"])
    own = target.id == _caller(call).id
    if email != target.email:
        if own:
            rateLimit(call, (LOGIN_ADDRESS, clientAddress(call)))
            yield _checkOwnPassword(call, target, body.get("current_password"),
                                    "Incorrect current password")
        other = yield call.hub.store.getPlayerByEmail(email)
        if other is not None and other.id != target.id:
            raise ApiError(409, "Email address already in use")
        if own:
            player = yield revokeTokens(call.hub, target, call.now, False,
                                        email=email, displayName=name)
            log.info("Account {playerId} changed its email", playerId=player.id)
            return {**playerJson(player), "token": call.hub.signer.issueFor(player)}
    player = yield call.hub.store.updatePlayer(target.id, email=email, displayName=name)
    if player is None:
        raise ApiError(404, "Unknown player")
    _refresh(call.hub, player)
    return playerJson(player)


def setOwnDetails(call: Call) -> Any:
    """
    PUT /players/self/details {username, email, current_password}.
    """
    return _setDetails(call, _caller(call))


@defer.inlineCallbacks
def getPlayer(call: Call) -> Any:
    """
    GET /players/{id}.
    """
    player = yield _target(call, permission=False)
    return playerJson(player)


@defer.inlineCallbacks
def _delete(hub: Hub, player: Player) -> Any:
    deleted = yield hub.store.deletePlayer(player.id)
    if not deleted:
        raise ApiError(404, "Unknown player")
    session = hub.sessionForPlayer(player.id)
    if session is not None:
        hub.unbindPlayer(session)
        session.disconnect()
    log.info("Account {playerId} ({name}) deleted from the dashboard",
             playerId=player.id, name=player.displayName)


@defer.inlineCallbacks
def deletePlayer(call: Call) -> Any:
    """
    DELETE /players/{id}: needs a strictly higher role (not oneself; use
    DELETE /players/self).
    """
    me = _caller(call)
    target = yield _target(call, permission=False)
    if target.id == me.id:
        raise ApiError(403, "Delete your own account from your settings page")
    if not me.role > target.role:
        raise ApiError(403, "Insufficient permission over this player")
    yield _delete(call.hub, target)
    return {}


@defer.inlineCallbacks
def setPassword(call: Call) -> Any:
    """
    PUT /players/{id}/password {password, current_password}: an admin
    sets the password of a player of a lower role, revoking the player's
    tokens; for one's own account C{current_password} is required, as on
    C{PUT /players/self/password}.
    """
    target = yield _target(call)
    body = call.body or {}
    if target.id == _caller(call).id:
        rateLimit(call, (LOGIN_ADDRESS, clientAddress(call)))
        result = yield _changeOwnPassword(call, body.get("current_password"),
                                          body["password"])
        return result
    password = _checkedPassword(body["password"])
    passwordHash = yield _hash(call, password)
    player = yield revokeTokens(call.hub, target, call.now, True, passwordHash=passwordHash)
    log.info("Account {playerId}'s password was set by account {adminId}",
             playerId=player.id, adminId=_caller(call).id)
    return playerJson(player)


@defer.inlineCallbacks
def setDetails(call: Call) -> Any:
    """
    PUT /players/{id}/details {username, email, current_password}: for
    one's own account as C{PUT /players/self/details}.
    """
    target = yield _target(call)
    result = yield _setDetails(call, target)
    return result


@defer.inlineCallbacks
def setRole(call: Call) -> Any:
    """
    PUT /players/{id}/role {role}: Default or Admin; super admins come from
    the settings and cannot be granted or changed here.
    """
    target = yield _target(call, permission=False)
    role = roleFromName((call.body or {})["role"])
    if role is PlayerRole.SUPER_ADMIN:
        raise ApiError(403, "The SuperAdmin role cannot be granted")
    if target.role is PlayerRole.SUPER_ADMIN:
        raise ApiError(403, "The role of a SuperAdmin cannot be changed")
    player = yield revokeTokens(call.hub, target, call.now, False, role=role)
    log.info("Player {playerId} is now {role}", playerId=player.id, role=roleName(player.role))
    return playerJson(player)


# -- player data -------------------------------------------------------------


@defer.inlineCallbacks
def getAllData(call: Call) -> Any:
    """
    GET /players/{id}/data: every key to its value.
    """
    target = yield _target(call)
    data = yield call.hub.store.getPlayerData(target.id)
    return dict(data)


@defer.inlineCallbacks
def getData(call: Call) -> Any:
    """
    GET /players/{id}/data/{key} -> {key, value}.
    """
    target = yield _target(call)
    key = call.params["key"]
    value = yield call.hub.store.getPlayerDataValue(target.id, key)
    if value is None:
        raise ApiError(404, "No such player data key")
    return {"key": key, "value": value}


@defer.inlineCallbacks
def putData(call: Call) -> Any:
    """
    PUT /players/{id}/data/{key} {value} -> {key, value}.
    """
    target = yield _target(call)
    key = call.params["key"]
    value = (call.body or {})["value"]
    yield call.hub.store.setPlayerData(target.id, key, value)
    return {"key": key, "value": value}


@defer.inlineCallbacks
def deleteData(call: Call) -> Any:
    """
    DELETE /players/{id}/data/{key} -> {} (also when the key was absent).
    """
    target = yield _target(call)
    yield call.hub.store.deletePlayerData(target.id, call.params["key"])
    return {}


@defer.inlineCallbacks
def getGalaxyAtWar(call: Call) -> Any:
    """
    GET /players/{id}/galaxy_at_war: the effective ratings (decay applied;
    nothing is stored).
    """
    from pocketrelay.server.web.gaw import GalaxyAtWarService

    target = yield _target(call)
    readiness = yield GalaxyAtWarService.fromHub(call.hub).peek(target.id, call.now)
    groups = readiness.groups
    return {
        "last_modified": isoTime(readiness.lastModified),
        "group_a": groups[0],
        "group_b": groups[1],
        "group_c": groups[2],
        "group_d": groups[3],
        "group_e": groups[4],
    }


# -- start-up ------------------------------------------------------------------


@defer.inlineCallbacks
def ensureSuperAdmin(store: Store, passwords: Passwords, settings: Settings) -> Any:
    """
    Make the first super admin from C{dashboard.super_email} and
    C{dashboard.super_password}, once the store runs.

    The SuperAdmin role belongs to an account (its id), never to an email
    address: once any account is SuperAdmin this does nothing but check
    that it is the configured one, so a player who takes the configured
    address (after its owner changed it, or by changing their own) gains
    nothing, also at a later start.  While no account is SuperAdmin:

      - no account has the address: it is created as SuperAdmin with the
        password, if one is configured;
      - an account has it: it is promoted only if the configured password
        is its password (or it has none, and then gets it), so that a
        stranger who registered the operator's address first is not.

    Anything else is logged with what to do (C{pocketrelay-admin
    super-admin} promotes an account explicitly).

    @return: a L{Deferred} firing with the configured super admin
        L{Player}, or L{None} when there is none.
    """
    from pocketrelay.server.store import PlayerExists

    configured = (settings["dashboard.super_email"] or "").strip()
    password = settings["dashboard.super_password"] or ""
    if not configured:
        return None
    email = checkedEmail(configured)
    if email is None:
        log.error("dashboard.super_email {email!r} is not a valid email address",
                  email=configured)
        return None
    admins = yield store.playersWithRole(PlayerRole.SUPER_ADMIN)
    player = yield store.getPlayerByEmail(email)
    if admins:
        if player is not None and player.role is PlayerRole.SUPER_ADMIN:
            if password and not player.passwordHash:
                passwordHash = yield passwords.hash(password)
                player = yield store.updatePlayer(player.id, passwordHash=passwordHash)
            return player
        log.warn(
            "dashboard.super_email is {email}, but the SuperAdmin is account "
            "{playerIds}; the setting only makes the first super admin. Use "
            "pocketrelay-admin super-admin to promote another account",
            email=email, playerIds=", ".join(str(admin.id) for admin in admins),
        )
        return None
    if player is None:
        if not password:
            log.warn("No account {email} yet: set dashboard.super_password to create "
                     "it as SuperAdmin at start, or use pocketrelay-admin super-admin",
                     email=email)
            return None
        passwordHash = yield passwords.hash(password)
        name = email.split("@", 1)[0][:MAX_DISPLAY_NAME_LENGTH]
        try:
            player = yield store.createPlayer(email, name, passwordHash,
                                              role=PlayerRole.SUPER_ADMIN)
        except PlayerExists:
            log.warn("Account {email} was created meanwhile; not made SuperAdmin "
                     "(restart to try again)", email=email)
            return None
        log.info("Created the super admin account {email} ({playerId})",
                 email=email, playerId=player.id)
        return player
    changes: dict[str, Any] = {"role": PlayerRole.SUPER_ADMIN}
    if player.passwordHash:
        ok = bool(password) and (yield passwords.verify(player.passwordHash, password))
        if not ok:
            log.warn(
                "Account {playerId} has the address {email} of dashboard.super_email "
                "but dashboard.super_password is not its password: not made "
                "SuperAdmin. Use pocketrelay-admin super-admin if it is yours",
                playerId=player.id, email=email,
            )
            return None
    elif password:
        changes["passwordHash"] = yield passwords.hash(password)
    else:
        log.warn("Account {email} has no password: set dashboard.super_password to "
                 "make it SuperAdmin", email=email)
        return None
    player = yield store.updatePlayer(player.id, **changes)
    log.info("Account {email} ({playerId}) is the super admin", email=email,
             playerId=player.id if player is not None else None)
    return player
