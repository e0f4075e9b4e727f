# -*- test-case-name: tests.test_components_auth -*-
"""
Tests for L{pocketrelay.server.components.authentication}: accounts,
logins, tokens and the legal documents, through a L{BlazeProtocol} on a
L{StringTransport} (see L{tests.test_components}).
"""

from __future__ import annotations

from typing import Any

from pocketrelay.blaze.frames import MessageType
from pocketrelay.blaze.ids import (
    AuthenticationCommand,
    AuthError,
    Component,
    GlobalError,
    UtilCommand,
)
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
    LoginResponse,
    OriginLoginRequest,
    PasswordForgotRequest,
    SilentLoginRequest,
)
from pocketrelay.me3.messages.common import SessionInfo
from pocketrelay.me3.messages.util import PostAuthResponse
from pocketrelay.server.gamedata import LegalDocument
from pocketrelay.server.security import TOKEN_LIFETIME, playerForToken, revocationExpiry
from pocketrelay.server.store import PlayerRole
from pocketrelay.testing.server import (
    DEFAULT_NOW,
    BlazeConnection,
    ServerTestCase,
    resultOf,
)

_AUTH = Component.AUTHENTICATION


class CreateAccountTests(ServerTestCase):
    """
    Authentication.createAccount.
    """

    def create(
        self,
        connection: BlazeConnection,
        email: str,
        password: str = "secret",
        name: str = "",
    ) -> Any:
        return connection.request(
            _AUTH,
            AuthenticationCommand.CREATE_ACCOUNT,
            CreateAccountParameters(email=email, password=password, personaName=name),
        )

    def test_created(self) -> None:
        """
        A new account gets the name from C{PNAM}; the session is logged in
        to it, the reply carries its id and a token for it, and the
        password is stored hashed.
        """
        connection = self.server.connect(preAuth=True)
        reply = self.create(connection, "shepard@example.org", "normandy", "Commander")
        response = self.decode(reply, LoginResponse)
        player = self.stored("shepard@example.org")
        self.assertEqual(player.displayName, "Commander")
        self.assertEqual(player.role, PlayerRole.DEFAULT)
        self.assertNotIn("normandy", player.passwordHash or "")
        self.assertTrue(player.passwordHash)
        self.assertEqual(response.userId, player.id)
        self.assertEqual([p.displayName for p in response.personas], ["Commander"])
        self.assertEqual(self.server.signer.verifyToken(response.sessionKey), player.id)
        self.assertEqual(response.pcLoginToken, response.sessionKey)
        self.assertIs(self.hub.online[player.id], connection.session)
        self.assertLogged("created", "Commander")

    def decode(self, frame: Any, cls: type) -> Any:
        from pocketrelay.blaze import tdf

        self.assertEqual(frame.type, MessageType.REPLY, frame)
        return tdf.decode(cls, frame.body)

    def test_nameFromEmail(self) -> None:
        """
        Without C{PNAM} the display name is the local part of the email.
        """
        connection = self.server.connect(preAuth=True)
        response = self.decode(
            self.create(connection, "liara.tsoni@example.org"), LoginResponse
        )
        self.assertEqual(response.personas[0].displayName, "liara.tsoni")

    def test_duplicate(self) -> None:
        """
        An email already used, in any letter case, is answered EXISTS
        (0x0F) and no second account is made.
        """
        self.server.createPlayer("Garrus@Example.org")
        connection = self.server.connect(preAuth=True)
        reply = self.create(connection, "garrus@example.ORG")
        self.assertEqual(
            (reply.type, reply.error), (MessageType.ERROR_REPLY, AuthError.EXISTS)
        )
        _, total = resultOf(self.store.listPlayers(0, 10))
        self.assertEqual(total, 1)
        self.assertIsNone(connection.session.player)

    def test_invalidEmail(self) -> None:
        """
        An address that is not an email is answered INVALID_EMAIL (0x16).
        """
        connection = self.server.connect(preAuth=True)
        for email in (
            "not-an-email",
            "",
            "a@b",
            "two@@example.org",
            "x" * 250 + "@example.org",
        ):
            reply = self.create(connection, email)
            self.assertEqual(reply.error, AuthError.INVALID_EMAIL, email)
        self.assertEqual(resultOf(self.store.listPlayers(0, 10))[1], 0)

    def test_invalidPassword(self) -> None:
        """
        An empty or over-long password is answered INVALID_PASSWORD.
        """
        connection = self.server.connect(preAuth=True)
        for password in ("", "p" * 257):
            reply = self.create(connection, "kaidan@example.org", password)
            self.assertEqual(reply.error, AuthError.INVALID_PASSWORD)


class RegistrationDisabledTests(ServerTestCase):
    """
    createAccount with C{dashboard.disable_registration}.
    """

    overrides = (("dashboard.disable_registration", True),)

    def test_refused(self) -> None:
        """
        With registration disabled createAccount is answered with an error
        and a log line says why; no account is made.
        """
        connection = self.server.connect(preAuth=True)
        code = connection.error(
            _AUTH,
            AuthenticationCommand.CREATE_ACCOUNT,
            CreateAccountParameters(email="ashley@example.org", password="secret"),
        )
        self.assertEqual(code, AuthError.DISABLED)
        self.assertLogged("registration is disabled", "ashley@example.org")
        self.assertIsNone(resultOf(self.store.getPlayerByEmail("ashley@example.org")))

    def test_loginStillWorks(self) -> None:
        """
        Existing accounts can still log in.
        """
        self.server.createPlayer("ashley@example.org", "secret")
        connection = self.server.connect(preAuth=True)
        self.assertEqual(
            connection.login("ashley@example.org", "secret").personas[0].displayName,
            "ashley",
        )


class SuperAdminTests(ServerTestCase):
    """
    createAccount with C{dashboard.super_email}.
    """

    overrides = (("dashboard.super_email", "admin@example.org"),)

    def test_superAdmin(self) -> None:
        """
        Creating the account whose email is the super email (in any
        spelling, KELVIN SIGN for the "k" included) gives no role: every
        new account is Default.
        """
        self.hub.settings = self.hub.settings.replace(
            dashboard__super_email="kate@kiwi.example")
        connection = self.server.connect(preAuth=True)
        for email in ("ADMIN@example.org", "\u212aate@kiwi.example", "user@example.org"):
            connection.call(
                _AUTH,
                AuthenticationCommand.CREATE_ACCOUNT,
                CreateAccountParameters(email=email, password="secret"),
                LoginResponse,
            )
        roles = [self.stored(email).role
                 for email in ("admin@example.org", "kate@kiwi.example", "user@example.org")]
        self.assertEqual(roles, [PlayerRole.DEFAULT] * 3)


class LoginTests(ServerTestCase):
    """
    login, silentLogin, logout and the one-session-per-account rule.
    """

    def setUp(self) -> None:
        super().setUp()
        self.account = self.server.createPlayer("tali@example.org", "rannoch", "Tali")

    def test_unknownUser(self) -> None:
        """
        An email without an account is answered INVALID_USER (0x0B).
        """
        connection = self.server.connect(preAuth=True)
        code = connection.error(
            _AUTH, AuthenticationCommand.LOGIN, _login("nobody@example.org", "x")
        )
        self.assertEqual(code, AuthError.INVALID_USER)

    def test_wrongPassword(self) -> None:
        """
        A wrong password is answered INVALID_PASSWORD (0x0C) and the
        session stays logged out.
        """
        connection = self.server.connect(preAuth=True)
        for password in ("wrong", "", "x" * 300):
            code = connection.error(
                _AUTH, AuthenticationCommand.LOGIN, _login("tali@example.org", password)
            )
            self.assertEqual(code, AuthError.INVALID_PASSWORD, password)
        self.assertIsNone(connection.session.player)
        self.assertEqual(self.hub.online, {})

    def test_invalidEmail(self) -> None:
        """
        A login with something that is not an email is answered
        INVALID_EMAIL (0x16).
        """
        connection = self.server.connect(preAuth=True)
        code = connection.error(
            _AUTH, AuthenticationCommand.LOGIN, _login("tali", "rannoch")
        )
        self.assertEqual(code, AuthError.INVALID_EMAIL)

    def test_success(self) -> None:
        """
        A correct login binds the session to the account (C{hub.online}),
        records the login time and answers with the account and a token;
        the email matches in any letter case.
        """
        self.server.clock.advance(500)
        connection = self.server.connect(preAuth=True)
        reply = connection.login("TALI@example.org", "rannoch")
        self.assertEqual(reply.userId, self.account.id)
        self.assertEqual(reply.personas[0].displayName, "Tali")
        self.assertEqual(reply.personas[0].lastAuthenticated, DEFAULT_NOW + 500)
        self.assertEqual(
            self.server.signer.verifyToken(reply.sessionKey), self.account.id
        )
        self.assertIs(self.hub.online[self.account.id], connection.session)
        self.assertEqual(self.player(connection).id, self.account.id)
        self.assertEqual(self.stored("tali@example.org").lastLoginAt, DEFAULT_NOW + 500)
        connection.call(Component.UTIL, UtilCommand.POST_AUTH, reply=PostAuthResponse)

    def silentLogin(self, connection: BlazeConnection, token: str) -> Any:
        return connection.request(
            _AUTH,
            AuthenticationCommand.SILENT_LOGIN,
            SilentLoginRequest(authToken=token),
        )

    def test_silentLogin(self) -> None:
        """
        silentLogin with a valid token logs in and answers with the full
        session details and a fresh token.
        """
        token = self.server.signer.issueToken(self.account.id)
        connection = self.server.connect(preAuth=True)
        reply = connection.call(
            _AUTH,
            AuthenticationCommand.SILENT_LOGIN,
            SilentLoginRequest(authToken=token),
            FullLoginResponse,
        )
        session = reply.session
        self.assertEqual(
            (session.blazeUserId, session.userId), (self.account.id, self.account.id)
        )
        self.assertEqual(session.email, "tali@example.org")
        self.assertEqual(session.personaDetails.displayName, "Tali")
        self.assertEqual(
            self.server.signer.verifyToken(session.sessionKey), self.account.id
        )
        self.assertEqual(reply.pcLoginToken, session.sessionKey)
        self.assertIs(self.hub.online[self.account.id], connection.session)

    def test_silentLoginTampered(self) -> None:
        """
        A token whose signature or payload was changed, or garbage, is
        answered INVALID_TOKEN (0x0D).
        """
        token = self.server.signer.issueToken(self.account.id)
        message, signature = token.split(".")
        flipped = "A" if signature[0] != "A" else "B"
        connection = self.server.connect(preAuth=True)
        for bad in (
            f"{message}.{flipped}{signature[1:]}",
            f"{self.server.signer.issueToken(self.account.id + 1).split('.')[0]}.{signature}",
            "",
            "garbage",
            "é" * 100,
        ):
            reply = self.silentLogin(connection, bad)
            self.assertEqual(reply.error, AuthError.INVALID_TOKEN, bad)
        self.assertIsNone(connection.session.player)

    def test_silentLoginExpired(self) -> None:
        """
        A token older than 30 days is answered EXPIRED_TOKEN (0x0E).
        """
        token = self.server.signer.issueToken(self.account.id)
        self.server.clock.advance(TOKEN_LIFETIME - 1)
        connection = self.server.connect(preAuth=True)
        self.assertEqual(self.silentLogin(connection, token).type, MessageType.REPLY)
        self.server.clock.advance(1)
        other = self.server.connect(preAuth=True)
        self.assertEqual(self.silentLogin(other, token).error, AuthError.EXPIRED_TOKEN)

    def test_silentLoginDeletedAccount(self) -> None:
        """
        A genuine token of an account that was deleted is answered
        INVALID_TOKEN.
        """
        token = self.server.signer.issueToken(self.account.id)
        resultOf(self.store.deletePlayer(self.account.id))
        connection = self.server.connect(preAuth=True)
        self.assertEqual(
            self.silentLogin(connection, token).error, AuthError.INVALID_TOKEN
        )

    def test_secondLogin(self) -> None:
        """
        Logging in to an account that is logged in elsewhere disconnects
        the older session; C{hub.online} points at the new one, also after
        the old connection is gone.
        """
        first = self.server.connect(preAuth=True)
        first.login("tali@example.org", "rannoch")
        second = self.server.connect(preAuth=True)
        second.login("tali@example.org", "rannoch")
        self.assertTrue(first.transport.disconnecting)
        self.assertFalse(second.transport.disconnecting)
        self.assertIsNone(first.session.player)
        self.assertIs(self.hub.online[self.account.id], second.session)
        first.lose()
        self.assertIs(self.hub.online[self.account.id], second.session)
        self.assertNotIn(first.session.sessionId, self.hub.sessions)
        self.assertLogged("logged in again")

    def test_loginAfterDisconnect(self) -> None:
        """
        A login that completes after its connection closed (the database
        answered late) binds nothing: the account is not shown online on
        a dead session.
        """
        dying = self.server.connect(preAuth=True)
        self.store.holding = True
        dying.send(
            _AUTH, AuthenticationCommand.LOGIN, _login("tali@example.org", "rannoch")
        )
        dying.lose()
        self.store.release()
        self.assertIsNone(dying.session.player)
        self.assertEqual(self.hub.online, {})

    def test_lateLoginKeepsLiveSession(self) -> None:
        """
        A login completing for a closed connection does not log out or
        disconnect the account's live session elsewhere.
        """
        live = self.server.connect(preAuth=True)
        live.login("tali@example.org", "rannoch")
        dying = self.server.connect(preAuth=True)
        self.store.holding = True
        token = self.server.signer.issueToken(self.account.id)
        dying.send(
            _AUTH,
            AuthenticationCommand.SILENT_LOGIN,
            SilentLoginRequest(authToken=token),
        )
        dying.lose()
        self.store.release()
        self.assertIs(self.hub.online[self.account.id], live.session)
        self.assertFalse(live.transport.disconnecting)
        self.assertIsNotNone(live.session.player)

    def test_relogOtherAccount(self) -> None:
        """
        A session that logs in to another account leaves the first one
        offline.
        """
        other = self.server.createPlayer("kal@example.org", "reegar")
        connection = self.server.connect(preAuth=True)
        connection.login("tali@example.org", "rannoch")
        connection.login("kal@example.org", "reegar")
        self.assertEqual(list(self.hub.online), [other.id])
        self.assertFalse(connection.transport.disconnecting)

    def test_logout(self) -> None:
        """
        logout unbinds the session: it leaves C{hub.online}, commands that
        need a login are refused, the connection stays open.
        """
        connection = self.server.connect(preAuth=True)
        connection.login("tali@example.org", "rannoch")
        reply = connection.request(_AUTH, AuthenticationCommand.LOGOUT)
        self.assertEqual((reply.type, reply.body), (MessageType.REPLY, b""))
        self.assertIsNone(connection.session.player)
        self.assertEqual(self.hub.online, {})
        self.assertEqual(
            connection.error(Component.UTIL, UtilCommand.POST_AUTH),
            GlobalError.AUTHENTICATION_REQUIRED,
        )
        self.assertFalse(connection.transport.disconnecting)
        self.assertLogged("logged out")


def _login(email: str, password: str) -> Any:
    from pocketrelay.me3.messages.auth import LoginRequest

    return LoginRequest(email=email, password=password)


class LoggedInTests(ServerTestCase):
    """
    Authentication commands of a logged-in player.
    """

    def setUp(self) -> None:
        super().setUp()
        self.connection = self.server.loggedIn("jack@example.org")

    def test_getAuthToken(self) -> None:
        """
        getAuthToken answers a token the signer accepts for the player.
        """
        reply = self.connection.call(
            _AUTH, AuthenticationCommand.GET_AUTH_TOKEN, reply=GetAuthTokenResponse
        )
        self.assertEqual(
            self.server.signer.verifyToken(reply.authToken),
            self.player(self.connection).id,
        )

    def test_getAuthTokenAfterOutsideRevocation(self) -> None:
        """
        When the account's tokens were revoked in the database behind the
        server's back (as C{pocketrelay-admin} does), getAuthToken issues
        no token: it answers AUTHENTICATION_REQUIRED, logs the session out
        and closes it.
        """
        player = self.player(self.connection)
        resultOf(self.store.updatePlayer(
            player.id, tokenMinExpiry=revocationExpiry(self.server.clock.seconds())))
        self.server.clock.advance(5)
        self.assertEqual(
            self.connection.error(_AUTH, AuthenticationCommand.GET_AUTH_TOKEN),
            GlobalError.AUTHENTICATION_REQUIRED,
        )
        self.assertTrue(self.connection.transport.disconnecting)
        self.assertEqual(self.hub.online, {})
        self.assertLogged("revoked its login tokens", str(player.id))

    def test_getAuthTokenAfterServerRevocation(self) -> None:
        """
        A revocation the server made itself (which updates the session's
        copy of the account, as a role change does) leaves getAuthToken
        working, and its token is not revoked.
        """
        player = self.player(self.connection)
        updated = resultOf(self.store.updatePlayer(
            player.id, tokenMinExpiry=revocationExpiry(self.server.clock.seconds())))
        assert updated is not None
        self.hub.updatePlayer(updated)
        reply = self.connection.call(
            _AUTH, AuthenticationCommand.GET_AUTH_TOKEN, reply=GetAuthTokenResponse
        )
        self.assertEqual(
            resultOf(playerForToken(self.server.signer, self.store, reply.authToken)),
            updated,
        )
        self.assertFalse(self.connection.transport.disconnecting)

    def test_getAuthTokenDeletedAccount(self) -> None:
        """
        An account deleted behind the server's back gets no token either.
        """
        player = self.player(self.connection)
        resultOf(self.store.deletePlayer(player.id))
        self.assertEqual(
            self.connection.error(_AUTH, AuthenticationCommand.GET_AUTH_TOKEN),
            GlobalError.AUTHENTICATION_REQUIRED,
        )
        self.assertTrue(self.connection.transport.disconnecting)

    def test_loginPersona(self) -> None:
        """
        loginPersona answers the account as its only persona.
        """
        player = self.player(self.connection)
        reply = self.connection.call(
            _AUTH,
            AuthenticationCommand.LOGIN_PERSONA,
            LoginPersonaRequest(personaName="jack"),
            SessionInfo,
        )
        self.assertEqual((reply.blazeUserId, reply.userId), (player.id, player.id))
        self.assertEqual(reply.email, "jack@example.org")
        self.assertEqual(reply.personaDetails.displayName, "jack")
        self.assertEqual(reply.personaDetails.personaId, player.id)
        self.assertEqual(self.server.signer.verifyToken(reply.sessionKey), player.id)

    def test_entitlementsWithTag(self) -> None:
        """
        listUserEntitlements2 with a non-empty C{ETAG} is answered empty.
        """
        reply = self.connection.request(
            _AUTH,
            AuthenticationCommand.LIST_USER_ENTITLEMENTS_2,
            ListUserEntitlements2Request(entitlementTag="ONLINE_ACCESS"),
        )
        self.assertEqual((reply.type, reply.body), (MessageType.REPLY, b""))

    def test_entitlements(self) -> None:
        """
        listUserEntitlements2 without C{ETAG} answers the entitlement list
        of the game data, for this player.
        """
        reply = self.connection.call(
            _AUTH,
            AuthenticationCommand.LIST_USER_ENTITLEMENTS_2,
            ListUserEntitlements2Request(),
            Entitlements,
        )
        self.assertIsInstance(reply.entitlements, list)
        self.assertGreater(len(reply.entitlements), 0)
        playerId = self.player(self.connection).id
        self.assertEqual(
            reply.entitlements, list(self.hub.gameData.entitlements(playerId))
        )


class LegalAndOriginTests(ServerTestCase):
    """
    Commands answered without a login: legal documents, originLogin,
    passwordForgot.
    """

    def setUp(self) -> None:
        super().setUp()
        self.connection = self.server.connect(preAuth=True)

    def test_originLogin(self) -> None:
        """
        originLogin is answered INVALID_TOKEN (0x0D) and a log line
        explains that Origin accounts cannot be checked.
        """
        code = self.connection.error(
            _AUTH,
            AuthenticationCommand.ORIGIN_LOGIN,
            OriginLoginRequest(authToken="origin"),
        )
        self.assertEqual(code, AuthError.INVALID_TOKEN)
        self.assertLogged("Origin", "email and password")
        self.assertIsNone(self.connection.session.player)

    def test_legalDocsInfo(self) -> None:
        """
        getLegalDocsInfo answers the fixed info struct.
        """
        reply = self.connection.call(
            _AUTH,
            AuthenticationCommand.GET_LEGAL_DOCS_INFO,
            reply=GetLegalDocsInfoResponse,
        )
        self.assertEqual(reply, GetLegalDocsInfoResponse())

    def legal(self, command: int) -> Any:
        return self.connection.call(
            _AUTH, command, GetLegalDocContentRequest(), GetLegalDocContentResponse
        )

    def test_builtInDocuments(self) -> None:
        """
        Without operator files the built-in terms and privacy pages are
        sent, with C{TCOL} the UTF-8 byte length of C{TCOT} and a document
        path.
        """
        terms = self.legal(AuthenticationCommand.GET_TERMS_OF_SERVICE_CONTENT)
        self.assertIn("Terms of Service", terms.content)
        self.assertEqual(terms.contentLength, len(terms.content.encode("utf-8")))
        self.assertTrue(terms.version)
        privacy = self.legal(AuthenticationCommand.GET_PRIVACY_POLICY_CONTENT)
        self.assertIn("Privacy Policy", privacy.content)
        self.assertEqual(privacy.contentLength, len(privacy.content.encode("utf-8")))

    def test_operatorDocuments(self) -> None:
        """
        Operator files are sent as they are; C{TCOL} counts UTF-8 bytes,
        not characters.
        """
        text = {
            LegalDocument.TERMS_OF_SERVICE: "<p>Conditions générales — règles ✓</p>",
            LegalDocument.PRIVACY_POLICY: "<p>Données personnelles: aucune ✓</p>",
        }
        for document, html in text.items():
            self.server.gameData.dataDir.child(document.value).setContent(
                html.encode("utf-8")
            )
        for command, document in (
            (
                AuthenticationCommand.GET_TERMS_OF_SERVICE_CONTENT,
                LegalDocument.TERMS_OF_SERVICE,
            ),
            (
                AuthenticationCommand.GET_PRIVACY_POLICY_CONTENT,
                LegalDocument.PRIVACY_POLICY,
            ),
        ):
            reply = self.legal(command)
            self.assertEqual(reply.content, text[document])
            self.assertEqual(reply.contentLength, len(text[document].encode("utf-8")))
            self.assertNotEqual(reply.contentLength, len(text[document]))

    def test_passwordForgot(self) -> None:
        """
        passwordForgot replies empty and logs the email address.
        """
        reply = self.connection.request(
            _AUTH,
            AuthenticationCommand.PASSWORD_FORGOT,
            PasswordForgotRequest(email="thane@example.org"),
        )
        self.assertEqual((reply.type, reply.body), (MessageType.REPLY, b""))
        self.assertLogged("Password reset", "thane@example.org")
