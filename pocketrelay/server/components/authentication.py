# -*- test-case-name: tests.test_components -*-
"""
Authentication (component 1): accounts, logins and the legal documents.

Passwords are verified and hashed in a thread (argon2id is deliberately
slow); the reply to createAccount is sent after the account is committed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from twisted.internet import defer
from twisted.logger import Logger

from pocketrelay.blaze.ids import (
    AuthenticationCommand,
    AuthError,
    Component,
    GlobalError,
)
from pocketrelay.blaze.protocol import BlazeError
from pocketrelay.me3.messages.auth import (
    CreateAccountParameters,
    Entitlements,
    FullLoginResponse,
    GetAuthTokenResponse,
    GetLegalDocContentRequest,
    GetLegalDocContentResponse,
    GetLegalDocsInfoResponse,
    ListUserEntitlements2Request,
    LoginPersonaRequest,
    LoginRequest,
    LoginResponse,
    OriginLoginRequest,
    PasswordForgotRequest,
    SilentLoginRequest,
)
from pocketrelay.me3.messages.common import PersonaDetails, SessionInfo
from pocketrelay.server.components.base import command
from pocketrelay.server.limits import LOGIN_ADDRESS, TOKEN_LOGIN_ADDRESS
from pocketrelay.server.security import HashingBusy
from pocketrelay.server.store.emails import MAX_EMAIL_LENGTH as MAX_EMAIL
from pocketrelay.server.store.emails import checkedEmail, isValidEmail, loginEmail

if TYPE_CHECKING:
    from pocketrelay.server.session import Session
    from pocketrelay.server.store import Player

__all__ = ["isValidEmail", "loginResponse", "sessionInfo", "tokenLogin"]

log = Logger()

MAX_PASSWORD = 256


def personaDetails(player: Player) -> PersonaDetails:
    return PersonaDetails(
        displayName=player.displayName,
        lastAuthenticated=player.lastLoginAt or 0,
        personaId=player.id,
    )


def sessionInfo(player: Player, token: str) -> SessionInfo:
    return SessionInfo(
        blazeUserId=player.id,
        sessionKey=token,
        lastLogin=player.lastLoginAt or 0,
        email=player.email,
        personaDetails=personaDetails(player),
        userId=player.id,
    )


def loginResponse(player: Player, token: str) -> LoginResponse:
    return LoginResponse(
        pcLoginToken=token,
        personas=[personaDetails(player)],
        sessionKey=token,
        userId=player.id,
    )


def _now(session: Session) -> int:
    return int(session.hub.clock.seconds())


#: The error reply to a login or account creation over its rate limit
#: (see L{pocketrelay.server.limits}): the game reports a timed-out request
#: and the player can retry; an AuthError would claim a wrong password.
RATE_LIMITED = GlobalError.TIMEOUT


def _rateLimit(session: Session, *checks: tuple[str, object]) -> None:
    """
    Take a token from each named rate limit for its key.

    @raise BlazeError: L{RATE_LIMITED} when one has none left.
    """
    if session.hub.limits.check(*checks) is not None:
        raise BlazeError(RATE_LIMITED)


def _loginChecks(session: Session, email: str) -> None:
    """
    Take the rate limits of a password check for the account C{email}:
    per client address, per (email, address) and the per-email fallback
    (see L{pocketrelay.server.limits.ServerLimits.loginChecks}).
    """
    limits = session.hub.limits
    _rateLimit(session, (LOGIN_ADDRESS, session.peerHost),
               *limits.loginChecks(email, session.peerHost))


@defer.inlineCallbacks
def _passwordWork(d: Any) -> Any:
    """
    The result of password work from the fair hashing queue; a full queue
    is answered like a rate limit.
    """
    try:
        result = yield d
    except HashingBusy:
        raise BlazeError(RATE_LIMITED)
    return result


def _completeLogin(session: Session, player: Player) -> tuple[Player, str]:
    """
    Bind the session to C{player} and issue its token.  The last-login
    time is bookkeeping, not something the reply acknowledges, so the reply
    does not wait for it to be written.
    """
    hub = session.hub
    now = _now(session)
    d = hub.store.setLastLogin(player.id, now)
    d.addErrback(lambda f: log.failure("Recording the login of {playerId} failed", f,
                                       playerId=player.id))
    player = attrs.evolve(player, lastLoginAt=now)
    hub.bindPlayer(session, player)
    _loadN7Rating(session, player.id)
    return player, hub.signer.issueFor(player)


def _loadN7Rating(session: Session, playerId: int) -> None:
    """
    Other players see the N7 rating in the player's extended data: load it
    from the leaderboard (where game reports put it) once logged in.
    """
    from pocketrelay.server.store import LeaderboardType

    def loaded(entry: Any) -> None:
        if entry is not None and session.player is not None and session.player.id == playerId:
            session.extra["n7Rating"] = entry.value
            session.hub.playerUpdated(session)

    d = session.hub.store.getLeaderboardRank(LeaderboardType.N7_RATING, playerId)
    d.addCallback(loaded)
    d.addErrback(lambda f: log.failure("Loading the N7 rating of {playerId} failed", f,
                                       playerId=playerId))


@command(Component.AUTHENTICATION, AuthenticationCommand.CREATE_ACCOUNT,
         CreateAccountParameters, auth=False)
@defer.inlineCallbacks
def createAccount(session: Session, request: CreateAccountParameters) -> Any:
    from pocketrelay.server.store import PlayerExists, PlayerRole

    hub = session.hub
    if hub.settings["dashboard.disable_registration"]:
        log.info("Refused account creation for {email}: registration is disabled",
                 email=request.email.strip()[:MAX_EMAIL])
        raise BlazeError(AuthError.DISABLED)
    email = checkedEmail(request.email)
    if email is None:
        raise BlazeError(AuthError.INVALID_EMAIL)
    if not request.password or len(request.password) > MAX_PASSWORD:
        raise BlazeError(AuthError.INVALID_PASSWORD)
    _loginChecks(session, email)
    existing = yield hub.store.getPlayerByEmail(email)
    if existing is not None:
        raise BlazeError(AuthError.EXISTS)
    displayName = (request.personaName.strip() or email.split("@", 1)[0])[:99]
    # Never SuperAdmin: that role belongs to an account, given at start or
    # by pocketrelay-admin, not to whoever registers an address.
    passwordHash = yield _passwordWork(
        hub.passwords.hash(request.password, session.peerHost)
    )
    try:
        player = yield hub.store.createPlayer(
            email, displayName, passwordHash, role=PlayerRole.DEFAULT, now=_now(session)
        )
    except PlayerExists:
        raise BlazeError(AuthError.EXISTS)
    log.info("Account {playerId} ({name}) created from the game",
             playerId=player.id, name=player.displayName)
    hub.limits.loginSucceeded(email, session.peerHost)
    player, token = _completeLogin(session, player)
    return loginResponse(player, token)


@command(Component.AUTHENTICATION, AuthenticationCommand.LOGIN, LoginRequest, auth=False)
@defer.inlineCallbacks
def login(session: Session, request: LoginRequest) -> Any:
    hub = session.hub
    email = loginEmail(request.email)
    if email is None:
        raise BlazeError(AuthError.INVALID_EMAIL)
    _loginChecks(session, email)
    player = yield hub.store.getPlayerByEmail(email)
    if player is None:
        log.info("Login refused from {peer}: no account {email}",
                 peer=session.peerHost, email=email)
        # As slow as a wrong password, so the reply's timing adds nothing
        # to what the error code already says.
        yield _passwordWork(
            hub.passwords.verifyAbsent(request.password[:MAX_PASSWORD], session.peerHost)
        )
        raise BlazeError(AuthError.INVALID_USER)
    if len(request.password) > MAX_PASSWORD:
        raise BlazeError(AuthError.INVALID_PASSWORD)
    ok = yield _passwordWork(
        hub.passwords.verify(player.passwordHash, request.password, session.peerHost)
    )
    if not ok:
        log.info("Login refused for {email}: wrong password", email=email)
        raise BlazeError(AuthError.INVALID_PASSWORD)
    hub.limits.loginSucceeded(email, session.peerHost)
    player, token = _completeLogin(session, player)
    return loginResponse(player, token)


@defer.inlineCallbacks
def _tokenPlayer(session: Session, token: str) -> Any:
    from pocketrelay.server.security import ExpiredToken, TokenError, playerForToken

    hub = session.hub
    try:
        player = yield playerForToken(hub.signer, hub.store, token)
    except ExpiredToken:
        raise BlazeError(AuthError.EXPIRED_TOKEN)
    except TokenError:
        # Forged, malformed or revoked (password change, log out
        # everywhere): the game shows its login screen.
        raise BlazeError(AuthError.INVALID_TOKEN)
    if player is None:
        raise BlazeError(AuthError.INVALID_TOKEN)
    return player


@defer.inlineCallbacks
def tokenLogin(session: Session, token: str) -> Any:
    player = yield _tokenPlayer(session, token)
    player, token = _completeLogin(session, player)
    return FullLoginResponse(pcLoginToken=token, session=sessionInfo(player, token))


@command(Component.AUTHENTICATION, AuthenticationCommand.SILENT_LOGIN,
         SilentLoginRequest, auth=False)
def silentLogin(session: Session, request: SilentLoginRequest) -> Any:
    _rateLimit(session, (TOKEN_LOGIN_ADDRESS, session.peerHost))
    return tokenLogin(session, request.authToken)


@command(Component.AUTHENTICATION, AuthenticationCommand.ORIGIN_LOGIN,
         OriginLoginRequest, auth=False)
def originLogin(session: Session, request: OriginLoginRequest) -> None:
    """
    Origin logins need EA's servers, which are gone.  The game then shows
    its login screen, where the player uses email and password.
    """
    log.info(
        "Origin login from {peer} refused: Origin accounts cannot be checked "
        "without EA's servers; log in with email and password",
        peer=session.peerHost,
    )
    raise BlazeError(AuthError.INVALID_TOKEN)


@command(Component.AUTHENTICATION, AuthenticationCommand.LOGIN_PERSONA, LoginPersonaRequest)
def loginPersona(session: Session, request: LoginPersonaRequest) -> SessionInfo:
    player = session.player
    assert player is not None
    return sessionInfo(player, session.hub.signer.issueFor(player))


@command(Component.AUTHENTICATION, AuthenticationCommand.LOGOUT)
def logout(session: Session, request: None) -> None:
    player = session.player
    session.hub.unbindPlayer(session)
    if player is not None:
        log.info("Player {name} ({playerId}) logged out", name=player.displayName,
                 playerId=player.id)


@command(Component.AUTHENTICATION, AuthenticationCommand.GET_AUTH_TOKEN)
def getAuthToken(session: Session, request: None) -> Any:
    """
    A fresh login token for Galaxy at War, issued only while the account
    has not revoked its tokens since this session logged in: the server
    updates its sessions when it revokes itself, but C{pocketrelay-admin}
    (another process) changes only the database.  A session whose account
    was revoked or deleted meanwhile is logged out and closed, as the
    dashboard's own revocations close it.
    """
    player = session.player
    assert player is not None
    return _checkedAuthToken(session, player)


@defer.inlineCallbacks
def _checkedAuthToken(session: Session, player: Player) -> Any:
    hub = session.hub
    stored = yield hub.store.getPlayer(player.id)
    current = session.player
    if current is None or current.id != player.id:
        raise BlazeError(GlobalError.AUTHENTICATION_REQUIRED)
    if stored is None or stored.tokenMinExpiry > current.tokenMinExpiry:
        log.info(
            "Account {playerId} revoked its login tokens or was deleted outside "
            "the server; its game session is closed",
            playerId=player.id,
        )
        hub.unbindPlayer(session)
        session.disconnect()
        raise BlazeError(GlobalError.AUTHENTICATION_REQUIRED)
    return GetAuthTokenResponse(authToken=hub.signer.issueFor(current))


@command(Component.AUTHENTICATION, AuthenticationCommand.LIST_USER_ENTITLEMENTS_2,
         ListUserEntitlements2Request)
def listUserEntitlements2(session: Session, request: ListUserEntitlements2Request) -> Any:
    if request.entitlementTag:
        return None
    return Entitlements(entitlements=session.hub.gameData.entitlements(session.playerId))


@command(Component.AUTHENTICATION, AuthenticationCommand.GET_LEGAL_DOCS_INFO, auth=False)
def getLegalDocsInfo(session: Session, request: None) -> GetLegalDocsInfoResponse:
    return GetLegalDocsInfoResponse()


def _legal(content: str, path: str) -> GetLegalDocContentResponse:
    return GetLegalDocContentResponse(
        version=path, contentLength=len(content.encode("utf-8")), content=content
    )


@command(Component.AUTHENTICATION, AuthenticationCommand.GET_TERMS_OF_SERVICE_CONTENT,
         GetLegalDocContentRequest, auth=False)
def getTermsOfServiceContent(session: Session, request: Any) -> GetLegalDocContentResponse:
    return _legal(session.hub.gameData.termsOfService(), "webterms/au/en/pc/default/09082020/02042022")


@command(Component.AUTHENTICATION, AuthenticationCommand.GET_PRIVACY_POLICY_CONTENT,
         GetLegalDocContentRequest, auth=False)
def getPrivacyPolicyContent(session: Session, request: Any) -> GetLegalDocContentResponse:
    return _legal(session.hub.gameData.privacyPolicy(), "webprivacy/au/en/pc/default/08202020/02042022")


@command(Component.AUTHENTICATION, AuthenticationCommand.PASSWORD_FORGOT,
         PasswordForgotRequest, auth=False)
def passwordForgot(session: Session, request: PasswordForgotRequest) -> None:
    log.info(
        "Password reset asked for {email}; this server sends no email: an "
        "admin can set a new password in the dashboard",
        email=request.email[:MAX_EMAIL],
    )
