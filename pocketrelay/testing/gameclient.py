# -*- test-case-name: tests.test_integration -*-
"""
A simulated Mass Effect 3 client for tests and benchmarks.

L{GameClient} speaks Blaze the way ME3 does (request bodies built from the
reference message layouts) over any stream transport: directly, or after
an HTTP upgrade done by L{UpgradingProtocol} (what a Pocket Relay client
does for the game).  Its methods return L{Deferred}s of decoded replies;
notifications are collected in L{GameClient.notifications}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from pocketrelay.blaze import tdf
from pocketrelay.blaze.frames import Frame
from pocketrelay.blaze.ids import (
    AuthenticationCommand,
    Component,
    GameManagerCommand,
    MessagingCommand,
    UserSessionsCommand,
    UtilCommand,
)
from pocketrelay.blaze.protocol import BlazeProtocol, IBlazeDispatcher
from pocketrelay.me3.messages import auth, common, gamemanager, usersessions, util

__all__ = ["GameClient", "UpgradeFailed", "UpgradingProtocol"]


class UpgradeFailed(Exception):
    """
    The server did not answer the upgrade request with 101.

    @ivar status: the status line received.
    """

    def __init__(self, status: bytes, body: bytes = b"") -> None:
        super().__init__(f"upgrade refused: {status.decode('latin-1')} {body[:200]!r}")
        self.status = status
        self.body = body


class UpgradingProtocol(Protocol):
    """
    Sends C{GET path} with C{Upgrade: blaze} and, after C{101}, hands the
    connection to C{inner}.  C{upgraded} fires with C{inner} or fails with
    L{UpgradeFailed}.
    """

    maxHead = 16384

    def __init__(
        self,
        inner: Protocol,
        host: str = "127.0.0.1",
        path: bytes = b"/api/server/upgrade",
        headers: dict[bytes, bytes] | None = None,
    ) -> None:
        self.inner = inner
        self.host = host
        self.path = path
        self.headers = headers or {}
        self.upgraded: defer.Deferred[Protocol] = defer.Deferred()
        self._buffer = b""
        self._switched = False

    def connectionMade(self) -> None:
        lines = [
            b"GET " + self.path + b" HTTP/1.1",
            b"Host: " + self.host.encode("ascii"),
            b"Connection: Upgrade",
            b"Upgrade: blaze",
            b"x-pocket-relay-scheme: http",
            b"x-pocket-relay-host: 127.0.0.1",
            b"x-pocket-relay-port: 42131",
            b"x-pocket-relay-local-http: true",
        ]
        lines.extend(name + b": " + value for name, value in self.headers.items())
        self.transport.write(b"\r\n".join(lines) + b"\r\n\r\n")  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        if self._switched:
            self.inner.dataReceived(data)
            return
        self._buffer += data
        head, sep, rest = self._buffer.partition(b"\r\n\r\n")
        if not sep:
            if len(self._buffer) > self.maxHead:
                self._fail(UpgradeFailed(b"response head too large"))
            return
        status = head.split(b"\r\n", 1)[0]
        if status.split(b" ")[1:2] != [b"101"]:
            self._fail(UpgradeFailed(status, rest))
            return
        self._switched = True
        self._buffer = b""
        self.inner.makeConnection(self.transport)
        self.upgraded.callback(self.inner)
        if rest:
            self.inner.dataReceived(rest)

    def _fail(self, error: Exception) -> None:
        self._switched = True
        self.inner = Protocol()
        self.transport.loseConnection()  # type: ignore[union-attr]
        if not self.upgraded.called:
            self.upgraded.errback(error)

    def connectionLost(self, reason: Failure = Failure(ConnectionError())) -> None:  # noqa: B008
        if self._switched:
            self.inner.connectionLost(reason)
        if not self.upgraded.called:
            self.upgraded.errback(reason)


@implementer(IBlazeDispatcher)
class _Collector:
    def __init__(self, client: GameClient) -> None:
        self.client = client

    def connectionMade(self, protocol: BlazeProtocol) -> None:
        pass

    def requestReceived(self, request: Frame) -> None:
        return None

    def notificationReceived(self, notification: Frame) -> None:
        self.client.notifications.append(notification)
        waiters, self.client._waiters = self.client._waiters, []
        for match, d in waiters:
            if match(notification):
                d.callback(notification)
            else:
                self.client._waiters.append((match, d))

    def connectionLost(self, reason: Failure) -> None:
        self.client.lost.append(reason)


class GameClient:
    """
    One simulated game.

    @ivar protocol: the client-side L{BlazeProtocol}; connect it (or an
        L{UpgradingProtocol} wrapping it, see L{upgrading}) to a transport.
    @ivar notifications: every notification received, in order.
    """

    def __init__(self, clock: Any = None) -> None:
        self.notifications: list[Frame] = []
        self.lost: list[Failure] = []
        self._waiters: list[tuple[Callable[[Frame], bool], defer.Deferred[Frame]]] = []
        self.protocol = BlazeProtocol(_Collector(self), clock=clock)
        self.token: str | None = None
        self.userId: int | None = None

    def upgrading(self, **kwargs: Any) -> UpgradingProtocol:
        """
        A protocol to connect to the server's HTTP port: it upgrades, then
        carries this client's Blaze traffic.
        """
        return UpgradingProtocol(self.protocol, **kwargs)

    def waitForNotification(self, component: int, command: int) -> defer.Deferred[Frame]:
        """
        Fire with the first notification (already received or future) with
        this component and command.
        """
        for frame in self.notifications:
            if (frame.component, frame.command) == (component, command):
                return defer.succeed(frame)
        d: defer.Deferred[Frame] = defer.Deferred()
        self._waiters.append(
            (lambda f: (f.component, f.command) == (component, command), d)
        )
        return d

    def request(
        self, component: int, command: int, body: Any = b"", reply: type | None = None
    ) -> defer.Deferred[Any]:
        """
        Send a request; fire with the decoded reply (or the raw L{Frame} when
        C{reply} is L{None}).
        """
        d = self.protocol.sendRequest(component, command, body)
        if reply is not None:
            d.addCallback(lambda frame: tdf.decode(reply, frame.body))
        return d

    # -- the game's requests

    def preAuth(self) -> defer.Deferred[Any]:
        return self.request(
            Component.UTIL,
            UtilCommand.PRE_AUTH,
            util.PreAuthRequest(
                fetchClientConfig=util.FetchClientConfigRequest(configId="BlazeSDK")
            ),
            util.PreAuthResponse,
        )

    def _loggedIn(self, response: Any) -> Any:
        if isinstance(response, auth.LoginResponse):
            self.token, self.userId = response.sessionKey, response.userId
        elif isinstance(response, auth.FullLoginResponse):
            self.token, self.userId = response.session.sessionKey, response.session.userId
        return response

    def createAccount(self, email: str, password: str) -> defer.Deferred[Any]:
        d = self.request(
            Component.AUTHENTICATION,
            AuthenticationCommand.CREATE_ACCOUNT,
            auth.CreateAccountParameters(email=email, password=password),
            auth.LoginResponse,
        )
        return d.addCallback(self._loggedIn)

    def login(self, email: str, password: str) -> defer.Deferred[Any]:
        d = self.request(
            Component.AUTHENTICATION,
            AuthenticationCommand.LOGIN,
            auth.LoginRequest(email=email, password=password),
            auth.LoginResponse,
        )
        return d.addCallback(self._loggedIn)

    def silentLogin(self, token: str, personaId: int = 0) -> defer.Deferred[Any]:
        d = self.request(
            Component.AUTHENTICATION,
            AuthenticationCommand.SILENT_LOGIN,
            auth.SilentLoginRequest(authToken=token, personaId=personaId),
            auth.FullLoginResponse,
        )
        return d.addCallback(self._loggedIn)

    def postAuth(self) -> defer.Deferred[Any]:
        return self.request(
            Component.UTIL, UtilCommand.POST_AUTH, b"", util.PostAuthResponse
        )

    def logout(self) -> defer.Deferred[Any]:
        return self.request(Component.AUTHENTICATION, AuthenticationCommand.LOGOUT)

    def ping(self) -> defer.Deferred[Any]:
        return self.request(Component.UTIL, UtilCommand.PING, b"", util.PingResponse)

    def fetchConfig(self, configId: str) -> defer.Deferred[Any]:
        return self.request(
            Component.UTIL,
            UtilCommand.FETCH_CLIENT_CONFIG,
            util.FetchClientConfigRequest(configId=configId),
            util.FetchConfigResponse,
        )

    def saveSetting(self, key: str, data: str) -> defer.Deferred[Any]:
        return self.request(
            Component.UTIL,
            UtilCommand.USER_SETTINGS_SAVE,
            util.UserSettingsSaveRequest(data=data, key=key, userId=self.userId or 0),
        )

    def loadSettings(self) -> defer.Deferred[Any]:
        return self.request(
            Component.UTIL,
            UtilCommand.USER_SETTINGS_LOAD_ALL,
            util.UserSettingsLoadAllRequest(userId=self.userId or 0),
            util.UserSettingsLoadAllResponse,
        )

    def updateNetworkInfo(self, internalIp: str = "192.168.1.20", port: int = 3659) -> defer.Deferred[Any]:
        pair = common.IpPairAddress(
            external=common.IpAddress(ip=0, port=0),
            internal=common.IpAddress.fromString(internalIp, port),
        )
        return self.request(
            Component.USER_SESSIONS,
            UserSessionsCommand.UPDATE_NETWORK_INFO,
            usersessions.NetworkInfo(
                address=tdf.Choice(common.NetworkAddressIndex.IP_PAIR, pair),
                pingSiteLatencies={"ea-sjc": 20},
                qosData=common.NetworkQosData(natType=1),
            ),
        )

    def fetchMessages(self) -> defer.Deferred[Any]:
        return self.request(Component.MESSAGING, MessagingCommand.FETCH_MESSAGES, b"")

    def statsCommand(self, command: int, body: Any, reply: type | None) -> defer.Deferred[Any]:
        return self.request(Component.STATS, command, body, reply)

    # -- games

    ME3_ATTRIBUTES = {
        "ME3_dlc2300": "required",
        "ME3_dlc2500": "required",
        "ME3gameDifficulty": "difficulty1",
        "ME3gameEnemyType": "enemy1",
        "ME3map": "map2",
        "ME3privacy": "PUBLIC",
        "ME3gameState": "IN_LOBBY",
    }

    def createGame(self, attributes: dict[str, str] | None = None) -> defer.Deferred[Any]:
        return self.request(
            Component.GAME_MANAGER,
            GameManagerCommand.CREATE_GAME,
            gamemanager.CreateGameRequest(
                attributes=dict(self.ME3_ATTRIBUTES if attributes is None else attributes),
            ),
            gamemanager.CreateGameResponse,
        )

    def startMatchmaking(self, rules: dict[str, str] | None = None,
                         durationMs: int = 1_800_000) -> defer.Deferred[Any]:
        wanted = {
            "ME3_gameMapMatchRule": "abstain",
            "ME3_gameEnemyTypeRule": "abstain",
            "ME3_gameDifficultyRule": "abstain",
            "ME3_rule_dlc2300": "required",
            "ME3_rule_dlc2500": "required",
        }
        wanted.update(rules or {})
        criteria = gamemanager.MatchmakingCriteriaData(
            genericRules=[
                gamemanager.GenericRulePrefs(name=name, threshold="OSDK_matchAny", values=[value])
                for name, value in wanted.items()
            ]
        )
        return self.request(
            Component.GAME_MANAGER,
            GameManagerCommand.START_MATCHMAKING,
            gamemanager.StartMatchmakingRequest(criteria=criteria, durationMs=durationMs),
            gamemanager.StartMatchmakingResponse,
        )

    def updateMesh(self, gameId: int, playerId: int, status: int = 2) -> defer.Deferred[Any]:
        return self.request(
            Component.GAME_MANAGER,
            GameManagerCommand.UPDATE_MESH_CONNECTION,
            gamemanager.UpdateMeshConnectionRequest(
                gameId=gameId,
                targets=[gamemanager.PlayerConnectionStatus(playerId=playerId, status=status)],
            ),
        )

    def setGameAttributes(self, gameId: int, attributes: dict[str, str]) -> defer.Deferred[Any]:
        return self.request(
            Component.GAME_MANAGER,
            GameManagerCommand.SET_GAME_ATTRIBUTES,
            gamemanager.SetGameAttributesRequest(attributes=attributes, gameId=gameId),
        )

    def removePlayer(self, gameId: int, playerId: int, reason: int = 6) -> defer.Deferred[Any]:
        return self.request(
            Component.GAME_MANAGER,
            GameManagerCommand.REMOVE_PLAYER,
            gamemanager.RemovePlayerRequest(gameId=gameId, playerId=playerId, reason=reason),
        )

    def disconnect(self) -> None:
        self.protocol.close()

