# -*- test-case-name: tests.test_components_games -*-
"""
Over Blaze, who may see and change what of a game: lookupUser gives
network addresses only to players in the same game, game changes need an
admin, private games admit nobody new, and getGameDataFromId answers
unknown games with the GameManager error (security issue items 6 and 7,
review issue item 11).
"""

from __future__ import annotations

from typing import Any

from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.blaze import tdf
from pocketrelay.blaze.frames import MessageType
from pocketrelay.blaze.ids import (
    Component,
    GameManagerCommand,
    GameManagerError,
    GameManagerNotification,
    UserSessionsCommand,
)
from pocketrelay.me3.messages.common import (
    IpAddress,
    IpPairAddress,
    NetworkQosData,
    UserIdentification,
    ipv4ToInt,
    networkAddress,
)
from pocketrelay.me3.messages.gamemanager import (
    AdvanceGameStateRequest,
    CreateGameRequest,
    CreateGameResponse,
    GameBrowserDataList,
    GameState,
    GenericRulePrefs,
    GetGameDataFromIdRequest,
    JoinGameRequest,
    JoinGameResponse,
    MatchmakingCriteriaData,
    ReplayGameRequest,
    SetGameAttributesRequest,
    SetGameSettingsRequest,
    StartMatchmakingRequest,
    UEDRuleCriteria,
    UpdateAdminListRequest,
)
from pocketrelay.me3.messages.usersessions import NetworkInfo, UserData
from pocketrelay.testing.server import BlazeConnection, ServerHarness

GM = Component.GAME_MANAGER

#: A public ME3 lobby.
LOBBY = {
    "ME3map": "map2",
    "ME3gameEnemyType": "enemy1",
    "ME3gameDifficulty": "difficulty0",
    "ME3privacy": "PUBLIC",
}


class GameServerTestCase(SynchronousTestCase):
    """
    A server harness and three logged-in players with known addresses:
    C{host}, C{joiner} and C{stranger}.
    """

    def setUp(self) -> None:
        self.server = ServerHarness(FilePath(self.mktemp()))
        self.host = self.player("shepard@example.org", "203.0.113.10", "198.51.100.10")
        self.joiner = self.player("liara@example.org", "203.0.113.11", "198.51.100.11")
        self.stranger = self.player("wrex@example.org", "203.0.113.12", "198.51.100.12")

    def player(self, email: str, peer: str, external: str) -> BlazeConnection:
        """
        A logged-in connection that reported an address, ping sites and a
        NAT type.
        """
        connection = self.server.loggedIn(email, peerHost=peer)
        info = NetworkInfo(
            address=networkAddress(IpPairAddress(
                external=IpAddress(ipv4ToInt(external), 3659),
                internal=IpAddress(ipv4ToInt("192.168.1.20"), 3659),
            )),
            pingSiteLatencies={"ea-sjc": 42},
            qosData=NetworkQosData(natType=1),
        )
        reply = connection.request(
            Component.USER_SESSIONS, UserSessionsCommand.UPDATE_NETWORK_INFO, info
        )
        self.assertEqual(reply.type, MessageType.REPLY)
        return connection

    def playerId(self, connection: BlazeConnection) -> int:
        player = connection.session.player
        assert player is not None
        return player.id

    def create(self, attributes: dict[str, str] | None = None) -> int:
        """
        C{host} creates a lobby; its game id.
        """
        created: CreateGameResponse = self.host.call(
            GM, GameManagerCommand.CREATE_GAME,
            CreateGameRequest(attributes=dict(LOBBY if attributes is None else attributes)),
            CreateGameResponse,
        )
        return created.gameId

    def join(self, connection: BlazeConnection, gameId: int) -> int:
        joined: JoinGameResponse = connection.call(
            GM, GameManagerCommand.JOIN_GAME, JoinGameRequest(gameId=gameId), JoinGameResponse
        )
        return joined.gameId


class LookupUserTests(GameServerTestCase):
    """
    lookupUser gives network details only to players who connect to the
    looked-up player (security issue, item 6).
    """

    def lookup(self, by: BlazeConnection, target: BlazeConnection) -> tuple[UserData, bytes]:
        frame = by.request(
            Component.USER_SESSIONS, UserSessionsCommand.LOOKUP_USER,
            UserIdentification(blazeId=self.playerId(target)),
        )
        self.assertEqual(frame.type, MessageType.REPLY)
        return tdf.decode(UserData, frame.body), frame.body

    def test_strangerGetsNoAddress(self) -> None:
        """
        A player who shares no game with the looked-up player gets its
        name, id and N7 rating but no address (external or LAN), no port,
        no ping sites and an unknown NAT type.
        """
        data, raw = self.lookup(self.stranger, self.host)
        self.assertEqual(data.user.blazeId, self.playerId(self.host))
        self.assertEqual(data.user.name, "shepard")
        self.assertIn(0x70001, data.extendedData.dataMap)
        self.assertFalse(data.extendedData.address.isSet)
        self.assertEqual(data.extendedData.latencies, [])
        self.assertEqual(data.extendedData.qosData, NetworkQosData(natType=4))
        for address in ("198.51.100.10", "192.168.1.20", "203.0.113.10"):
            self.assertNotIn(tdf.encodeVarint(ipv4ToInt(address)), raw)

    def test_strangerWhileInGame(self) -> None:
        """
        Being in a game does not reveal the address to outsiders; the game
        list still shows.
        """
        gameId = self.create()
        data, _ = self.lookup(self.stranger, self.host)
        self.assertFalse(data.extendedData.address.isSet)
        self.assertEqual(data.extendedData.games, [tdf.ObjectId(GM, 1, gameId)])

    def test_sameGame(self) -> None:
        """
        Members of the same game see each other's address, ping sites and
        NAT type.
        """
        gameId = self.create()
        self.join(self.joiner, gameId)
        for by, target in ((self.joiner, self.host), (self.host, self.joiner)):
            data, _ = self.lookup(by, target)
            self.assertEqual(data.extendedData.address, target.session.network.address)
            self.assertEqual(data.extendedData.qosData.natType, 1)
            self.assertEqual(data.extendedData.latencies, [42])

    def test_self(self) -> None:
        """
        A player looking itself up sees its own address.
        """
        data, _ = self.lookup(self.host, self.host)
        self.assertEqual(data.extendedData.address, self.host.session.network.address)


class AdminRightsTests(GameServerTestCase):
    """
    Game changes over Blaze need an admin of the game (security issue,
    item 7).
    """

    def requests(self, gameId: int) -> list[tuple[int, Any]]:
        return [
            (GameManagerCommand.SET_GAME_ATTRIBUTES,
             SetGameAttributesRequest(attributes={"ME3privacy": "PRIVATE"}, gameId=gameId)),
            (GameManagerCommand.ADVANCE_GAME_STATE,
             AdvanceGameStateRequest(gameId=gameId, state=GameState.IN_GAME)),
            (GameManagerCommand.SET_GAME_SETTINGS,
             SetGameSettingsRequest(gameId=gameId, settings=0)),
            (GameManagerCommand.REPLAY_GAME, ReplayGameRequest(gameId=gameId)),
        ]

    def test_joinerRefusedUntilAdmin(self) -> None:
        """
        A player who joined is refused every change with PERMISSION_DENIED
        until the host makes it an admin with addAdminPlayer; then the same
        requests succeed.
        """
        gameId = self.create()
        self.join(self.joiner, gameId)
        game = self.server.hub.games.games[gameId]
        before = (dict(game.attributes), game.state, game.settings)
        for command, body in self.requests(gameId):
            self.assertEqual(
                self.joiner.error(GM, command, body), GameManagerError.PERMISSION_DENIED
            )
        self.assertEqual((dict(game.attributes), game.state, game.settings), before)
        self.host.call(GM, GameManagerCommand.ADD_ADMIN_PLAYER, UpdateAdminListRequest(
            gameId=gameId, playerId=self.playerId(self.joiner)))
        for command, body in self.requests(gameId):
            self.assertEqual(self.joiner.request(GM, command, body).type, MessageType.REPLY)
        self.assertEqual(game.attributes["ME3privacy"], "PRIVATE")

    def test_outsiderRefused(self) -> None:
        """
        A player outside the game is refused with PLAYER_NOT_FOUND.
        """
        gameId = self.create()
        for command, body in self.requests(gameId):
            self.assertEqual(
                self.stranger.error(GM, command, body), GameManagerError.PLAYER_NOT_FOUND
            )


class PrivateGameTests(GameServerTestCase):
    """
    A PRIVATE game admits nobody new, by game id or by naming a member.
    """

    def test_joinRefused(self) -> None:
        """
        joinGame by game id or by naming the host is refused with
        PERMISSION_DENIED.
        """
        gameId = self.create({**LOBBY, "ME3privacy": "PRIVATE"})
        for request in (
            JoinGameRequest(gameId=gameId),
            JoinGameRequest(user=UserIdentification(blazeId=self.playerId(self.host))),
        ):
            self.assertEqual(
                self.stranger.error(GM, GameManagerCommand.JOIN_GAME, request),
                GameManagerError.PERMISSION_DENIED,
            )
        self.assertEqual(self.server.hub.games.games[gameId].memberIds,
                         (self.playerId(self.host),))

    def test_refusedJoinKeepsCurrentGame(self) -> None:
        """
        A player in a game whose join into a private game is refused stays
        in its own game.
        """
        private = self.create({**LOBBY, "ME3privacy": "PRIVATE"})
        created: CreateGameResponse = self.joiner.call(
            GM, GameManagerCommand.CREATE_GAME, CreateGameRequest(attributes=dict(LOBBY)),
            CreateGameResponse,
        )
        self.assertEqual(
            self.joiner.error(GM, GameManagerCommand.JOIN_GAME, JoinGameRequest(gameId=private)),
            GameManagerError.PERMISSION_DENIED,
        )
        own = self.server.hub.games.gameOf(self.playerId(self.joiner))
        self.assertIsNotNone(own)
        assert own is not None
        self.assertEqual(own.gameId, created.gameId)


class GameDataTests(GameServerTestCase):
    """
    getGameDataFromId.
    """

    def gameData(self, by: BlazeConnection, *gameIds: int) -> Any:
        return by.request(
            GM, GameManagerCommand.GET_GAME_DATA_FROM_ID,
            GetGameDataFromIdRequest(gameIds=list(gameIds)),
        )

    def test_unknownGame(self) -> None:
        """
        An unknown game, alone or next to a known one, and an empty list
        are answered with GameManager's INVALID_GAME_ID error, not an empty
        list.
        """
        gameId = self.create()
        for ids in ((999,), (gameId, 999), ()):
            frame = self.gameData(self.stranger, *ids)
            self.assertEqual(
                (frame.type, frame.error),
                (MessageType.ERROR_REPLY, GameManagerError.INVALID_GAME_ID),
            )

    def test_addressOnlyForMembers(self) -> None:
        """
        A member sees the host's address in C{HNET}; an outsider sees the
        game with one unset address.
        """
        gameId = self.create()
        self.join(self.joiner, gameId)
        member = tdf.decode(GameBrowserDataList, self.gameData(self.joiner, gameId).body)
        self.assertEqual(member.games[0].hostNetwork, [self.host.session.network.address])
        outsider = self.gameData(self.stranger, gameId)
        (data,) = tdf.decode(GameBrowserDataList, outsider.body).games
        self.assertEqual((data.gameId, data.hostNetwork), (gameId, [tdf.Choice()]))
        self.assertNotIn(tdf.encodeVarint(ipv4ToInt("198.51.100.10")), outsider.body)


class MatchmakingStatusTests(GameServerTestCase):
    """
    The status notice of a real startMatchmaking request echoes its rules
    (review issue, item 10).
    """

    def test_echo(self) -> None:
        """
        C{ASIL[0].GRDA} holds each generic rule of the request with its
        values (an owned DLC as required and preferred), C{ASIL[0].UEDS}
        the user-extended-data rule with the accepted range 0..500.
        """
        criteria = MatchmakingCriteriaData(
            genericRules=[
                GenericRulePrefs(name="ME3_gameMapMatchRule", threshold="quickMatch",
                                 values=["map2"]),
                GenericRulePrefs(name="ME3_rule_dlc2300", threshold="requireExactMatch",
                                 values=["required"]),
            ],
            uedRules={"ME3_characterSkill_Rule": UEDRuleCriteria(
                ruleName="ME3_characterSkill_Rule", threshold="quickMatch")},
        )
        reply = self.stranger.request(
            GM, GameManagerCommand.START_MATCHMAKING, StartMatchmakingRequest(criteria=criteria)
        )
        self.assertEqual(reply.type, MessageType.REPLY)
        (notice,) = self.stranger.notifications(
            GM, GameManagerNotification.MATCHMAKING_ASYNC_STATUS
        )
        (status,) = tdf.decodeStruct(notice.body)["ASIL"].items
        grda = status["GRDA"].asDict()
        self.assertEqual(
            {name: (value["NAME"], list(value["VALU"].items)) for name, value in grda.items()},
            {"ME3_gameMapMatchRule": ("ME3_gameMapMatchRule", ["map2"]),
             "ME3_rule_dlc2300": ("ME3_rule_dlc2300", ["required", "preferred"])},
        )
        ued = status["UEDS"].asDict()["ME3_characterSkill_Rule"]
        self.assertEqual(
            [(m.tag, m.value) for m in ued.members],
            [("AMAX", 500), ("AMIN", 0), ("MUED", 0), ("NAME", "ME3_characterSkill_Rule")],
        )
