# -*- test-case-name: tests.test_games -*-
"""
Scenario tests for L{pocketrelay.server.games}: every flow of the pure game
and matchmaking model, checked by the exact notices it returns (order,
recipients, component/command and the body fields that matter).

Every notice any test sees goes through L{checked}, which encodes its body
with the TDF codec, so a notice the hub could not send fails the test.
The randomised state-machine tests are in L{tests.test_games_stateful}.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.blaze import tdf
from pocketrelay.blaze.ids import (
    Component,
    GameManagerError,
    GameManagerNotification,
    UserSessionsNotification,
)
from pocketrelay.me3.messages.common import (
    IpAddress,
    NetworkAddressIndex,
)
from pocketrelay.me3.messages.gamemanager import (
    GAME_PROTOCOL_VERSION,
    GAME_PROTOCOL_VERSION_HASH,
    MATCHMAKING_FIT_SCORE,
    ME3_CREATE_GAME_SETTINGS,
    AdminListOperation,
    DatalessContext,
    DatalessSetupContext,
    GameNetworkTopology,
    GameSettings,
    GameSetupReasonIndex,
    GameState,
    HostMigrationType,
    MatchmakingResult,
    MatchmakingSetupContext,
    NotifyGameSetup,
    PlayerRemovedReason,
    PlayerState,
)
from pocketrelay.me3.messages.usersessions import UserDataFlags
from pocketrelay.server.games import (
    MAX_ATTRIBUTE_LENGTH,
    MAX_ATTRIBUTES,
    MAX_ECHOED_RULES,
    MAX_ECHOED_VALUES,
    MAX_PLAYERS,
    TUNNEL_HOST,
    Game,
    GameError,
    Games,
    MatchRules,
    Notice,
    PlayerInfo,
)
from pocketrelay.testing.games import LOBBY, checked, player

GM = Component.GAME_MANAGER
US = Component.USER_SESSIONS
N = GameManagerNotification
U = UserSessionsNotification

#: Rules that match L{LOBBY}.
LOBBY_RULES = MatchRules({"ME3map": "map2"}, frozenset({"ME3_dlc2300"}))


def shape(notices: Sequence[Notice]) -> list[tuple[tuple[int, ...], int, int]]:
    """
    The (recipients, component, command) of each notice, for comparing
    whole sequences.
    """
    return [(n.recipients, n.component, n.command) for n in notices]


def userAddedPair(newcomer: int, member: int) -> list[tuple[tuple[int, ...], int, int]]:
    """
    The four UserSessions notices exchanged when C{newcomer} meets C{member}.
    """
    return [
        ((member,), US, U.USER_ADDED),
        ((member,), US, U.USER_UPDATED),
        ((newcomer,), US, U.USER_ADDED),
        ((newcomer,), US, U.USER_UPDATED),
    ]


def userRemovedPair(leaver: int, member: int) -> list[tuple[tuple[int, ...], int, int]]:
    """
    The two UserRemoved notices between a leaver and a remaining member.
    """
    return [((member,), US, U.USER_REMOVED), ((leaver,), US, U.USER_REMOVED)]


def migration(members: tuple[int, ...]) -> list[tuple[tuple[int, ...], int, int]]:
    """
    The host migration sequence, to C{members}.
    """
    return [
        (members, GM, N.GAME_STATE_CHANGE),
        (members, GM, N.HOST_MIGRATION_START),
        (members, GM, N.GAME_STATE_CHANGE),
        (members, GM, N.HOST_MIGRATION_FINISHED),
    ]


class GamesTestMixin:
    """
    A L{Games} with a seeded random number generator and helpers that run
    every operation's notices through L{checked}.
    """

    tunnelPolicy = "stricter"
    now = 100.0

    games: Games
    finished: list[Game]
    joined: list[tuple[int, int]]

    def setUp(self) -> None:
        self.games = Games(rng=random.Random(7), tunnelPolicy=self.tunnelPolicy)
        self.finished = []
        self.joined = []
        self.games.onFinished = self.finished.append
        self.games.onJoined = lambda game, playerId: self.joined.append(
            (game.gameId, playerId)
        )

    def tearDown(self) -> None:
        self.games.checkInvariants()

    def create(
        self,
        host: int | PlayerInfo,
        attributes: dict[str, str] | None = None,
        settings: int = ME3_CREATE_GAME_SETTINGS,
    ) -> tuple[Game, list[Notice]]:
        info = host if isinstance(host, PlayerInfo) else player(host)
        game, notices = self.games.create(
            info, LOBBY if attributes is None else attributes, settings, self.now
        )
        return game, checked(notices)

    def join(self, game: Game, *playerIds: int) -> list[Notice]:
        notices: list[Notice] = []
        for playerId in playerIds:
            notices = checked(self.games.join(game.gameId, player(playerId), self.now))
        return notices

    def lobby(self, *playerIds: int, **kw: Any) -> Game:
        """
        A game hosted by the first player and joined by the others.
        """
        game, _ = self.create(playerIds[0], **kw)
        self.join(game, *playerIds[1:])
        return game

    def matchmake(
        self, playerId: int, rules: MatchRules = LOBBY_RULES, durationMs: int = 60_000
    ) -> tuple[int, list[Notice]]:
        msid, notices = self.games.startMatchmaking(
            player(playerId), rules, durationMs, self.now
        )
        return msid, checked(notices)

    def ids(self, game: Game) -> list[int]:
        return list(game.memberIds)


class CreateTests(GamesTestMixin, SynchronousTestCase):
    """
    L{Games.create}.
    """

    def test_hostInSlotZero(self) -> None:
        """
        The creator is the only player, in slot 0, ACTIVE_CONNECTED, and the
        only admin; the game starts INITIALIZING with the given attributes
        and settings.
        """
        game, _ = self.create(1)
        self.assertEqual(self.ids(game), [1])
        self.assertEqual(game.players[0].state, PlayerState.ACTIVE_CONNECTED)
        self.assertEqual(game.admins, [1])
        self.assertEqual(game.state, GameState.INITIALIZING)
        self.assertEqual(game.attributes, LOBBY)
        self.assertEqual(game.settings, ME3_CREATE_GAME_SETTINGS)
        self.assertIs(self.games.gameOf(1), game)
        self.assertEqual(self.joined, [(game.gameId, 1)])

    def test_notices(self) -> None:
        """
        The host gets GameSetup with the dataless CREATE_GAME_SETUP reason
        (union index 0), then its extended data naming the game in C{ULST}.
        """
        game, notices = self.create(1)
        self.assertEqual(
            shape(notices),
            [((1,), GM, N.GAME_SETUP), ((1,), US, U.USER_SESSION_EXTENDED_DATA_UPDATE)],
        )
        setup = notices[0].body
        self.assertEqual(setup.reason.index, GameSetupReasonIndex.DATALESS)
        self.assertEqual(setup.reason.value, DatalessSetupContext(DatalessContext.CREATE_GAME_SETUP))
        update = notices[1].body
        self.assertEqual(update.userId, 1)
        self.assertEqual(update.data.games, [tdf.ObjectId(GM, 1, game.gameId)])
        self.assertEqual(update.data.dataMap, {0x70001: 10})

    def test_setupGameData(self) -> None:
        """
        The replicated game carries the id, host name, admins, attributes,
        settings, state, reporting id, random seed and the protocol
        version hash and string defaults; the player list holds the host.
        """
        game, notices = self.create(1)
        data = notices[0].body.game
        self.assertEqual(data.gameId, game.gameId)
        self.assertEqual(data.gameName, "Player1")
        self.assertEqual(data.admins, [1])
        self.assertEqual(data.attributes, LOBBY)
        self.assertEqual(data.settings, ME3_CREATE_GAME_SETTINGS)
        self.assertEqual(data.state, GameState.INITIALIZING)
        self.assertEqual(data.reportingId, game.reportingId)
        self.assertNotEqual(game.reportingId, 0)
        self.assertEqual(data.sharedSeed, game.seed)
        self.assertEqual(game.seed, random.Random(7).getrandbits(32))
        self.assertEqual(data.protocolVersionHash, GAME_PROTOCOL_VERSION_HASH)
        self.assertEqual(data.protocolVersionHash, 0x05A4F2B378B715C6)
        self.assertEqual(data.protocolVersion, GAME_PROTOCOL_VERSION)
        self.assertEqual(data.hostSessionId, 1001)
        self.assertEqual(data.platformHost.playerId, 1)
        self.assertEqual(data.topologyHost.playerId, 1)
        [host] = notices[0].body.players
        self.assertEqual(
            (host.playerId, host.slotId, host.state, host.gameId, host.sessionId),
            (1, 0, PlayerState.ACTIVE_CONNECTED, game.gameId, 1001),
        )

    def test_idsIncrease(self) -> None:
        """
        Game ids count from 1 and every game gets its own reporting id.
        """
        first, _ = self.create(1)
        second, _ = self.create(2)
        self.assertEqual((first.gameId, second.gameId), (1, 2))
        self.assertNotEqual(first.reportingId, second.reportingId)

    def test_alreadyMember(self) -> None:
        """
        A player already in a game cannot create another: ALREADY_GAME_MEMBER,
        and nothing changes.
        """
        game = self.lobby(1, 2)
        for playerId in (1, 2):
            e = self.assertRaises(GameError, self.create, playerId)
            self.assertEqual(e.code, GameManagerError.ALREADY_GAME_MEMBER)
        self.assertEqual(list(self.games.games), [game.gameId])

    def test_oversizeAttributes(self) -> None:
        """
        Too many or too long attributes are refused with
        INVALID_GAME_SETTINGS; a queued creator stays queued.
        """
        self.matchmake(1, MatchRules({"ME3map": "nowhere"}))
        tooMany = {f"k{i}": "v" for i in range(MAX_ATTRIBUTES + 1)}
        tooLong = {"ME3map": "m" * (MAX_ATTRIBUTE_LENGTH + 1)}
        longKey = {"k" * (MAX_ATTRIBUTE_LENGTH + 1): "v"}
        for attributes in (tooMany, tooLong, longKey):
            e = self.assertRaises(GameError, self.create, 1, attributes)
            self.assertEqual(e.code, GameManagerError.INVALID_GAME_SETTINGS)
        self.assertEqual(self.games.games, {})
        self.assertIsNotNone(self.games.queued(1))

    def test_creatorLeavesQueue(self) -> None:
        """
        A queued player who creates a game leaves the queue.
        """
        self.matchmake(1, MatchRules({"ME3map": "nowhere"}))
        self.create(1)
        self.assertIsNone(self.games.queued(1))


class JoinTests(GamesTestMixin, SynchronousTestCase):
    """
    L{Games.join} (joinGame).
    """

    def test_secondPlayer(self) -> None:
        """
        UserAdded+UserUpdated both ways, PlayerJoining to the host, GameSetup
        to the newcomer, then the newcomer's extended data to everyone.
        """
        game, _ = self.create(1)
        notices = self.join(game, 2)
        self.assertEqual(
            shape(notices),
            [*userAddedPair(2, 1), ((1,), GM, N.PLAYER_JOINING), ((2,), GM, N.GAME_SETUP), ((1, 2), US, U.USER_SESSION_EXTENDED_DATA_UPDATE)],
        )
        self.assertEqual(self.joined, [(game.gameId, 1), (game.gameId, 2)])

    def test_userSessionBodies(self) -> None:
        """
        Each UserAdded names the other player with its extended data (game
        in C{ULST}); UserUpdated says subscribed and online; the final
        extended data update is the newcomer's with the game id.
        """
        game, _ = self.create(1)
        notices = self.join(game, 2)
        added1, updated1, added2, updated2 = (n.body for n in notices[:4])
        self.assertEqual((added1.user.blazeId, added1.user.name), (2, "Player2"))
        self.assertEqual(added1.data.games, [tdf.ObjectId(GM, 1, game.gameId)])
        self.assertEqual(added1.data.address, player(2).address)
        self.assertEqual(updated1.blazeId, 2)
        self.assertEqual(updated1.statusFlags, UserDataFlags.SUBSCRIBED | UserDataFlags.ONLINE)
        self.assertEqual(added2.user.blazeId, 1)
        self.assertEqual(added2.data.games, [tdf.ObjectId(GM, 1, game.gameId)])
        self.assertEqual(updated2.blazeId, 1)
        update = notices[-1].body
        self.assertEqual(update.userId, 2)
        self.assertEqual(update.data.games, [tdf.ObjectId(GM, 1, game.gameId)])

    def test_thirdPlayer(self) -> None:
        """
        A third player meets each member in slot order; PlayerJoining goes to
        the two members already there.
        """
        game = self.lobby(1, 2)
        notices = self.join(game, 3)
        self.assertEqual(
            shape(notices),
            userAddedPair(3, 1)
            + userAddedPair(3, 2)
            + [
                ((1, 2), GM, N.PLAYER_JOINING),
                ((3,), GM, N.GAME_SETUP),
                ((1, 2, 3), US, U.USER_SESSION_EXTENDED_DATA_UPDATE),
            ],
        )
        joining = notices[8].body
        self.assertEqual(joining.gameId, game.gameId)
        self.assertEqual(
            (joining.player.playerId, joining.player.slotId, joining.player.state),
            (3, 2, PlayerState.ACTIVE_CONNECTING),
        )

    def test_setupForNewcomer(self) -> None:
        """
        The newcomer's GameSetup has the JOIN_GAME_SETUP dataless reason and
        every player in slot order, the joiners ACTIVE_CONNECTING.
        """
        game = self.lobby(1, 2)
        setup = self.join(game, 3)[9].body
        self.assertIsInstance(setup, NotifyGameSetup)
        self.assertEqual(setup.reason, tdf.Choice(
            GameSetupReasonIndex.DATALESS, DatalessSetupContext(DatalessContext.JOIN_GAME_SETUP)))
        self.assertEqual(
            [(p.playerId, p.slotId, p.state) for p in setup.players],
            [
                (1, 0, PlayerState.ACTIVE_CONNECTED),
                (2, 1, PlayerState.ACTIVE_CONNECTING),
                (3, 2, PlayerState.ACTIVE_CONNECTING),
            ],
        )
        self.assertEqual(setup.game.gameId, game.gameId)
        self.assertEqual(setup.game.admins, [1])

    def test_full(self) -> None:
        """
        The fifth player is refused with GAME_FULL and the game is unchanged.
        """
        game = self.lobby(1, 2, 3, 4)
        self.assertEqual(len(game.players), MAX_PLAYERS)
        e = self.assertRaises(GameError, self.join, game, 5)
        self.assertEqual(e.code, GameManagerError.GAME_FULL)
        self.assertEqual(self.ids(game), [1, 2, 3, 4])
        self.assertIsNone(self.games.gameOf(5))

    def test_unknownGame(self) -> None:
        """
        Joining a game id that does not exist gives INVALID_GAME_ID.
        """
        e = self.assertRaises(GameError, self.games.join, 99, player(1), self.now)
        self.assertEqual(e.code, GameManagerError.INVALID_GAME_ID)

    def test_alreadyMember(self) -> None:
        """
        A player in a game cannot join it again or join another one.
        """
        game = self.lobby(1, 2)
        other, _ = self.create(3)
        for target in (game, other):
            e = self.assertRaises(GameError, self.join, target, 2)
            self.assertEqual(e.code, GameManagerError.ALREADY_GAME_MEMBER)
        self.assertEqual(self.ids(game), [1, 2])
        self.assertEqual(self.ids(other), [3])

    def test_leavesQueue(self) -> None:
        """
        A queued player who joins a game directly leaves the queue.
        """
        game = self.lobby(1)
        self.matchmake(2, MatchRules({"ME3map": "nowhere"}))
        self.join(game, 2)
        self.assertIsNone(self.games.queued(2))


class MatchRulesTests(SynchronousTestCase):
    """
    L{MatchRules}.
    """

    def test_fromRules(self) -> None:
        """
        Known rules map to their attributes; "abstain" is dropped; unknown
        rules are ignored; the first value of a rule counts; DLC rules with a
        value say which DLC the seeker has.
        """
        rules = MatchRules.fromRules([
            ("ME3_gameMapMatchRule", ["map5", "map7"]),
            ("ME3_gameEnemyTypeRule", ["abstain"]),
            ("ME3_gameDifficultyRule", ["difficulty2"]),
            ("ME3_gameStateMatchRule", ["IN_LOBBY"]),
            ("ME3_characterSkill_Rule", ["1"]),
            ("ME3_rule_dlc2300", ["required"]),
            ("ME3_rule_dlc2500", ["abstain"]),
            ("ME3_rule_dlc3225", ["required", "abstain"]),
        ])
        self.assertEqual(
            dict(rules.required), {"ME3map": "map5", "ME3gameDifficulty": "difficulty2"}
        )
        self.assertEqual(rules.dlc, frozenset({"ME3_dlc2300", "ME3_dlc3225"}))

    def test_emptyValues(self) -> None:
        """
        A rule without values means "any".
        """
        rules = MatchRules.fromRules([("ME3_gameMapMatchRule", []), ("ME3_rule_dlc2300", [])])
        self.assertEqual((dict(rules.required), rules.dlc), ({}, frozenset()))

    def test_matchesPrivacy(self) -> None:
        """
        Public games (or games without C{ME3privacy}) match; PRIVATE and
        FRIENDS games never do.
        """
        rules = MatchRules()
        self.assertTrue(rules.matches({"ME3privacy": "PUBLIC"}))
        self.assertTrue(rules.matches({}))
        self.assertFalse(rules.matches({"ME3privacy": "PRIVATE"}))
        self.assertFalse(rules.matches({"ME3privacy": "FRIENDS"}))

    def test_matchesRequired(self) -> None:
        """
        Every required attribute must be present with the same value.
        """
        rules = MatchRules({"ME3map": "map2", "ME3gameDifficulty": "difficulty1"})
        self.assertTrue(rules.matches({"ME3map": "map2", "ME3gameDifficulty": "difficulty1"}))
        self.assertFalse(rules.matches({"ME3map": "map3", "ME3gameDifficulty": "difficulty1"}))
        self.assertFalse(rules.matches({"ME3map": "map2"}))

    def test_matchesDlc(self) -> None:
        """
        A DLC the game requires must be owned by the seeker; owning more is
        fine.
        """
        game = {"ME3_dlc2300": "required", "ME3_dlc2500": "required"}
        self.assertTrue(MatchRules(dlc=frozenset({"ME3_dlc2300", "ME3_dlc2500"})).matches(game))
        self.assertTrue(MatchRules(dlc=frozenset(
            {"ME3_dlc2300", "ME3_dlc2500", "ME3_dlc3225"})).matches(game))
        self.assertFalse(MatchRules(dlc=frozenset({"ME3_dlc2300"})).matches(game))
        self.assertFalse(MatchRules().matches(game))


class MatchmakingTests(GamesTestMixin, SynchronousTestCase):
    """
    L{Games.startMatchmaking}, the queue, L{Games.tick} and
    L{Games.cancelMatchmaking}.
    """

    def assertMatchmakingJoin(
        self, notices: Sequence[Notice], seeker: int, members: tuple[int, ...]
    ) -> None:
        """
        C{notices} are a matchmaking join of C{seeker} into a game of
        C{members}: the async status first, then the join notices with a
        matchmaking GameSetup.
        """
        expected: list[tuple[tuple[int, ...], int, int]] = [
            ((seeker,), GM, N.MATCHMAKING_ASYNC_STATUS)]
        for member in members:
            expected += userAddedPair(seeker, member)
        expected += [
            (members, GM, N.PLAYER_JOINING),
            ((seeker,), GM, N.GAME_SETUP),
            ((*members, seeker), US, U.USER_SESSION_EXTENDED_DATA_UPDATE),
        ]
        self.assertEqual(shape(notices), expected)
        status = notices[0].body
        self.assertEqual((status.sessionId, status.userSessionId), (seeker, 1000 + seeker))
        self.assertEqual(len(status.statuses), 1)
        reason = notices[-2].body.reason
        self.assertEqual(reason.index, GameSetupReasonIndex.MATCHMAKING)
        self.assertEqual(reason.value, MatchmakingSetupContext(
            fitScore=MATCHMAKING_FIT_SCORE,
            maxFitScore=MATCHMAKING_FIT_SCORE,
            sessionId=seeker,
            result=MatchmakingResult.SUCCESS_JOINED_EXISTING_GAME,
            userSessionId=1000 + seeker,
        ))

    def test_joinsOldestMatch(self) -> None:
        """
        The seeker joins the oldest matching game, skipping games that do
        not match; the session id is its player id.
        """
        self.create(1, {**LOBBY, "ME3map": "map3"})
        older = self.lobby(2, 3)
        newer, _ = self.create(4)
        msid, notices = self.matchmake(5)
        self.assertEqual(msid, 5)
        self.assertMatchmakingJoin(notices, 5, (2, 3))
        self.assertEqual(self.ids(older), [2, 3, 5])
        self.assertEqual(self.ids(newer), [4])
        self.assertIsNone(self.games.queued(5))

    def test_queued(self) -> None:
        """
        Without a match the seeker waits in the queue and gets one async
        status at once.
        """
        self.create(1, {**LOBBY, "ME3map": "map3"})
        _msid, notices = self.matchmake(2)
        self.assertEqual(shape(notices), [((2,), GM, N.MATCHMAKING_ASYNC_STATUS)])
        self.assertEqual((notices[0].body.sessionId, notices[0].body.userSessionId), (2, 1002))
        entry = self.games.queued(2)
        assert entry is not None
        self.assertEqual(entry.rules, LOBBY_RULES)
        self.assertEqual(entry.deadline, self.now + 60)
        self.assertIsNone(self.games.gameOf(2))

    def test_alreadyMatchmakingOrInGame(self) -> None:
        """
        A queued player gets ALREADY_IN_QUEUE, a player in a game
        ALREADY_GAME_MEMBER.
        """
        self.lobby(1)
        self.matchmake(2, MatchRules({"ME3map": "nowhere"}))
        e = self.assertRaises(GameError, self.matchmake, 2)
        self.assertEqual(e.code, GameManagerError.ALREADY_IN_QUEUE)
        e = self.assertRaises(GameError, self.matchmake, 1)
        self.assertEqual(e.code, GameManagerError.ALREADY_GAME_MEMBER)
        self.assertEqual([e.info.playerId for e in self.games.queue], [2])

    def test_durationCapped(self) -> None:
        """
        The client's duration is capped at C{maxMatchmakingDuration}.
        """
        self.matchmake(1, durationMs=2**32 - 1)
        entry = self.games.queued(1)
        assert entry is not None
        self.assertEqual(entry.deadline, self.now + self.games.maxMatchmakingDuration)

    def test_queueOnCreate(self) -> None:
        """
        A new game is offered to the queue: after the host's own notices
        the queued seeker is joined with the matchmaking sequence.
        """
        self.matchmake(2)
        game, notices = self.create(1)
        self.assertEqual(
            shape(notices[:2]),
            [((1,), GM, N.GAME_SETUP), ((1,), US, U.USER_SESSION_EXTENDED_DATA_UPDATE)],
        )
        self.assertMatchmakingJoin(notices[2:], 2, (1,))
        self.assertEqual(self.ids(game), [1, 2])
        self.assertEqual(self.games.queue, [])

    def test_queueOnAttributeChange(self) -> None:
        """
        When a game's attributes change to match a waiting seeker, the
        attribute notice comes first, then the seeker joins.
        """
        game = self.lobby(1, attributes={**LOBBY, "ME3map": "map3"})
        self.matchmake(2)
        notices = checked(self.games.setAttributes(game.gameId, 1, {"ME3map": "map2"}, self.now))
        self.assertEqual(shape(notices[:1]), [((1,), GM, N.GAME_ATTRIB_CHANGE)])
        self.assertMatchmakingJoin(notices[1:], 2, (1,))

    def test_queueOnPrivacyChange(self) -> None:
        """
        A private game is not matched; once it turns public the seeker joins.
        """
        game = self.lobby(1, attributes={**LOBBY, "ME3privacy": "PRIVATE"})
        self.matchmake(2)
        self.assertIsNotNone(self.games.queued(2))
        notices = checked(self.games.setAttributes(
            game.gameId, 1, {"ME3privacy": "PUBLIC"}, self.now))
        self.assertMatchmakingJoin(notices[1:], 2, (1,))

    def test_queueOnFreeSlot(self) -> None:
        """
        When a player leaves a full game, a waiting seeker takes the free
        slot after the removal notices.
        """
        game = self.lobby(1, 2, 3, 4)
        self.matchmake(5)
        self.assertIsNotNone(self.games.queued(5))
        notices = checked(self.games.remove(game.gameId, 3, PlayerRemovedReason.PLAYER_LEFT, self.now))
        self.assertEqual(shape(notices[:1]), [((1, 2, 4, 3), GM, N.PLAYER_REMOVED)])
        self.assertMatchmakingJoin(notices[8:], 5, (1, 2, 4))
        self.assertEqual(self.ids(game), [1, 2, 4, 5])

    def test_nonMatchingHeadDoesNotBlock(self) -> None:
        """
        A queue head that does not suit the game is skipped (the
        reference's spin bug); the next matching entry joins and the head
        keeps its place.
        """
        self.matchmake(2, MatchRules({"ME3map": "map9"}))
        self.matchmake(3)
        game, notices = self.create(1)
        self.assertMatchmakingJoin(notices[2:], 3, (1,))
        self.assertEqual([e.info.playerId for e in self.games.queue], [2])
        self.assertEqual(self.ids(game), [1, 3])

    def test_neverOverfilled(self) -> None:
        """
        A game is filled from the queue oldest-first only up to four
        players; the rest keep waiting in order.
        """
        game = self.lobby(1, 2, 3, 4)
        for seeker in (5, 6, 7):
            self.matchmake(seeker)
        self.games.remove(game.gameId, 4, PlayerRemovedReason.PLAYER_LEFT, self.now)
        self.games.remove(game.gameId, 3, PlayerRemovedReason.PLAYER_LEFT, self.now)
        self.assertEqual(self.ids(game), [1, 2, 5, 6])
        self.assertEqual([e.info.playerId for e in self.games.queue], [7])

    def test_fillsSeveralFromQueue(self) -> None:
        """
        A new game takes as many waiting seekers as fit, oldest first.
        """
        for seeker in (2, 3, 4, 5, 6):
            self.matchmake(seeker)
        game, notices = self.create(1)
        self.assertEqual(self.ids(game), [1, 2, 3, 4])
        setups = [n.recipients for n in notices if n.command == N.GAME_SETUP]
        self.assertEqual(setups, [(1,), (2,), (3,), (4,)])
        self.assertEqual([e.info.playerId for e in self.games.queue], [5, 6])

    def test_notOpenToMatchmaking(self) -> None:
        """
        A game without OPEN_TO_MATCHMAKING is not matched, neither when the
        seeker starts nor when the game is created or changed.
        """
        closed = ME3_CREATE_GAME_SETTINGS & ~GameSettings.OPEN_TO_MATCHMAKING
        self.create(1, settings=closed)
        self.matchmake(2)
        game, notices = self.create(3, settings=closed)
        self.assertEqual(len(notices), 2)
        self.games.setAttributes(game.gameId, 3, {"ME3map": "map3"}, self.now)
        notices = checked(self.games.setAttributes(game.gameId, 3, {"ME3map": "map2"}, self.now))
        self.assertEqual(shape(notices), [((3,), GM, N.GAME_ATTRIB_CHANGE)])
        self.assertIsNotNone(self.games.queued(2))
        self.assertEqual(self.ids(game), [3])

    def test_settingsClosedToMatchmaking(self) -> None:
        """
        After setSettings clears OPEN_TO_MATCHMAKING an existing game is no
        longer matched.
        """
        game = self.lobby(1)
        self.games.setSettings(
            game.gameId, 1, ME3_CREATE_GAME_SETTINGS & ~GameSettings.OPEN_TO_MATCHMAKING)
        _, notices = self.matchmake(2)
        self.assertEqual(shape(notices), [((2,), GM, N.MATCHMAKING_ASYNC_STATUS)])
        self.assertEqual(self.ids(game), [1])

    def test_expiredEntryNotMatched(self) -> None:
        """
        An entry past its deadline is not matched even before the next tick.
        """
        self.matchmake(2, durationMs=1000)
        self.now += 1
        game, _ = self.create(1)
        self.assertEqual(self.ids(game), [1])

    def test_tickTimeout(self) -> None:
        """
        A seeker past its deadline gets MatchmakingFailed (SESSION_TIMED_OUT)
        and leaves the queue; others keep waiting.
        """
        self.matchmake(2, durationMs=5000)
        self.matchmake(3, durationMs=60_000)
        notices = checked(self.games.tick(self.now + 5))
        self.assertEqual(shape(notices), [((2,), GM, N.MATCHMAKING_FAILED)])
        failed = notices[0].body
        self.assertEqual(
            (failed.sessionId, failed.userSessionId, failed.result),
            (2, 1002, MatchmakingResult.SESSION_TIMED_OUT),
        )
        self.assertEqual([e.info.playerId for e in self.games.queue], [3])
        self.assertEqual(self.games.tick(self.now + 6), [])

    def test_tickStatus(self) -> None:
        """
        A waiting seeker gets an async status every C{statusInterval}
        seconds, and nothing in between.
        """
        self.matchmake(2)
        interval = self.games.statusInterval
        self.assertEqual(self.games.tick(self.now + interval / 2), [])
        notices = checked(self.games.tick(self.now + interval))
        self.assertEqual(shape(notices), [((2,), GM, N.MATCHMAKING_ASYNC_STATUS)])
        self.assertEqual(notices[0].body.sessionId, 2)
        self.assertEqual(self.games.tick(self.now + interval * 1.5), [])
        self.assertEqual(len(self.games.tick(self.now + interval * 2)), 1)
        self.assertIsNotNone(self.games.queued(2))

    def test_cancelQueued(self) -> None:
        """
        Cancelling while queued leaves the queue without notices.
        """
        self.matchmake(2)
        self.assertEqual(self.games.cancelMatchmaking(2, self.now), [])
        self.assertEqual(self.games.queue, [])
        self.assertEqual(self.games.tick(self.now + 10_000), [])

    def test_cancelAfterMatch(self) -> None:
        """
        Cancelling after being placed in a game leaves the game (PLAYER_LEFT).
        """
        game = self.lobby(1)
        self.matchmake(2)
        notices = checked(self.games.cancelMatchmaking(2, self.now))
        self.assertEqual(shape(notices[:1]), [((1, 2), GM, N.PLAYER_REMOVED)])
        self.assertEqual(notices[0].body.reason, PlayerRemovedReason.PLAYER_LEFT)
        self.assertEqual(self.ids(game), [1])

    def test_cancelUnknown(self) -> None:
        """
        Cancelling without matchmaking or a game does nothing.
        """
        self.assertEqual(self.games.cancelMatchmaking(9, self.now), [])

    def test_leaveAllDequeues(self) -> None:
        """
        A disconnecting seeker leaves the queue without notices.
        """
        self.matchmake(2)
        self.assertEqual(self.games.leaveAll(2, PlayerRemovedReason.PLAYER_CONN_LOST, self.now), [])
        self.assertEqual(self.games.queue, [])


class MeshTests(GamesTestMixin, SynchronousTestCase):
    """
    L{Games.updateMesh}.
    """

    def test_hostReportsConnected(self) -> None:
        """
        The host reporting a joiner connected (status 2) makes it
        ACTIVE_CONNECTED; every member hears GamePlayerStateChange then
        PlayerJoinCompleted.
        """
        game = self.lobby(1, 2, 3)
        notices = checked(self.games.updateMesh(game.gameId, 1, [(3, 2)]))
        self.assertEqual(
            shape(notices),
            [((1, 2, 3), GM, N.GAME_PLAYER_STATE_CHANGE), ((1, 2, 3), GM, N.PLAYER_JOIN_COMPLETED)],
        )
        change, completed = notices[0].body, notices[1].body
        self.assertEqual(
            (change.gameId, change.playerId, change.state),
            (game.gameId, 3, PlayerState.ACTIVE_CONNECTED),
        )
        self.assertEqual((completed.gameId, completed.playerId), (game.gameId, 3))
        self.assertEqual(
            [p.state for p in game.players],
            [PlayerState.ACTIVE_CONNECTED, PlayerState.ACTIVE_CONNECTING,
             PlayerState.ACTIVE_CONNECTED],
        )

    def test_severalTargets(self) -> None:
        """
        Each connected target in one report gets its own pair of notices.
        """
        game = self.lobby(1, 2, 3)
        notices = checked(self.games.updateMesh(game.gameId, 1, [(2, 2), (3, 1), (3, 2)]))
        self.assertEqual(
            [(n.command, n.body.playerId) for n in notices],
            [(N.GAME_PLAYER_STATE_CHANGE, 2), (N.PLAYER_JOIN_COMPLETED, 2),
             (N.GAME_PLAYER_STATE_CHANGE, 3), (N.PLAYER_JOIN_COMPLETED, 3)],
        )

    def test_onlyHostCounts(self) -> None:
        """
        A non-host's report changes nothing and sends nothing.
        """
        game = self.lobby(1, 2, 3)
        self.assertEqual(self.games.updateMesh(game.gameId, 2, [(3, 2)]), [])
        self.assertEqual(game.players[2].state, PlayerState.ACTIVE_CONNECTING)

    def test_repeated(self) -> None:
        """
        Reporting an already connected player again sends nothing.
        """
        game = self.lobby(1, 2)
        self.games.updateMesh(game.gameId, 1, [(2, 2)])
        self.assertEqual(self.games.updateMesh(game.gameId, 1, [(2, 2)]), [])

    def test_notConnected(self) -> None:
        """
        Status 0 (disconnected) and 1 (establishing) change nothing; unknown
        targets are ignored.
        """
        game = self.lobby(1, 2)
        self.assertEqual(self.games.updateMesh(game.gameId, 1, [(2, 0), (2, 1), (9, 2)]), [])
        self.assertEqual(game.players[1].state, PlayerState.ACTIVE_CONNECTING)

    def test_notMember(self) -> None:
        """
        A player outside the game gets PLAYER_NOT_FOUND.
        """
        game = self.lobby(1, 2)
        e = self.assertRaises(GameError, self.games.updateMesh, game.gameId, 5, [(2, 2)])
        self.assertEqual(e.code, GameManagerError.PLAYER_NOT_FOUND)


class AttributeTests(GamesTestMixin, SynchronousTestCase):
    """
    L{Games.setAttributes}.
    """

    def test_onlyChangedKeys(self) -> None:
        """
        Members hear only the keys whose values changed; the game's map is
        merged.  An admin other than the host may change them.
        """
        game = self.lobby(1, 2)
        self.games.addAdmin(game.gameId, 1, 2)
        notices = checked(self.games.setAttributes(
            game.gameId, 2, {"ME3map": "map2", "ME3gameState": "IN_LOBBY",
                             "ME3gameDifficulty": "difficulty3"}, self.now))
        self.assertEqual(shape(notices), [((1, 2), GM, N.GAME_ATTRIB_CHANGE)])
        self.assertEqual(notices[0].body.gameId, game.gameId)
        self.assertEqual(
            notices[0].body.attributes,
            {"ME3gameState": "IN_LOBBY", "ME3gameDifficulty": "difficulty3"},
        )
        self.assertEqual(
            game.attributes,
            {**LOBBY, "ME3gameState": "IN_LOBBY", "ME3gameDifficulty": "difficulty3"},
        )

    def test_unchanged(self) -> None:
        """
        Setting the values the game already has sends nothing.
        """
        game = self.lobby(1, 2)
        self.assertEqual(self.games.setAttributes(game.gameId, 1, dict(LOBBY), self.now), [])
        self.assertEqual(self.games.setAttributes(game.gameId, 1, {}, self.now), [])

    def test_finishingByHost(self) -> None:
        """
        The host setting C{ME3gameState} to IN_GAME_FINISHING reports the
        match once; setting it again does not report again.
        """
        game = self.lobby(1, 2)
        self.games.setAttributes(game.gameId, 1, {"ME3gameState": "IN_GAME_MIDGAME"}, self.now)
        self.assertEqual(self.finished, [])
        self.games.setAttributes(game.gameId, 1, {"ME3gameState": "IN_GAME_FINISHING"}, self.now)
        self.assertEqual(self.finished, [game])
        self.games.setAttributes(game.gameId, 1, {"ME3gameState": "IN_GAME_FINISHING"}, self.now)
        self.assertEqual(self.finished, [game])

    def test_finishingByNonHost(self) -> None:
        """
        A non-host admin setting IN_GAME_FINISHING does not report the
        match (the change is still applied and notified).
        """
        game = self.lobby(1, 2)
        self.games.addAdmin(game.gameId, 1, 2)
        notices = self.games.setAttributes(
            game.gameId, 2, {"ME3gameState": "IN_GAME_FINISHING"}, self.now)
        self.assertEqual(self.finished, [])
        self.assertEqual(shape(notices), [((1, 2), GM, N.GAME_ATTRIB_CHANGE)])

    def test_oversize(self) -> None:
        """
        Too long keys or values, or too many keys in the request or in the
        merged map, are refused with INVALID_GAME_SETTINGS and nothing
        changes.
        """
        game = self.lobby(1, 2)
        before = dict(game.attributes)
        filler = {f"k{i}": "v" for i in range(MAX_ATTRIBUTES - len(LOBBY) + 1)}
        for attributes in (
            {"ME3map": "m" * (MAX_ATTRIBUTE_LENGTH + 1)},
            {"k" * (MAX_ATTRIBUTE_LENGTH + 1): "v"},
            {f"k{i}": "v" for i in range(MAX_ATTRIBUTES + 1)},
            filler,
        ):
            e = self.assertRaises(
                GameError, self.games.setAttributes, game.gameId, 1, attributes, self.now)
            self.assertEqual(e.code, GameManagerError.INVALID_GAME_SETTINGS)
        self.assertEqual(game.attributes, before)

    def test_fullMapStillChangeable(self) -> None:
        """
        A game holding the maximum number of attributes can still change the
        value of one it has.
        """
        game = self.lobby(1)
        filler = {f"k{i}": "v" for i in range(MAX_ATTRIBUTES - len(LOBBY))}
        self.games.setAttributes(game.gameId, 1, filler, self.now)
        self.assertEqual(len(game.attributes), MAX_ATTRIBUTES)
        notices = self.games.setAttributes(game.gameId, 1, {"ME3map": "map9"}, self.now)
        self.assertEqual(notices[0].body.attributes, {"ME3map": "map9"})
        e = self.assertRaises(
            GameError, self.games.setAttributes, game.gameId, 1, {"new": "x"}, self.now)
        self.assertEqual(e.code, GameManagerError.INVALID_GAME_SETTINGS)

    def test_notMember(self) -> None:
        """
        Only members may change attributes; unknown games are refused.
        """
        game = self.lobby(1)
        e = self.assertRaises(
            GameError, self.games.setAttributes, game.gameId, 2, {"a": "b"}, self.now)
        self.assertEqual(e.code, GameManagerError.PLAYER_NOT_FOUND)
        e = self.assertRaises(GameError, self.games.setAttributes, 99, 1, {"a": "b"}, self.now)
        self.assertEqual(e.code, GameManagerError.INVALID_GAME_ID)


class LeaveTests(GamesTestMixin, SynchronousTestCase):
    """
    L{Games.remove}, L{Games.leaveAll}, L{Games.destroy} and
    L{Games.migrateHost}.
    """

    def remove(self, game: Game, playerId: int,
               reason: PlayerRemovedReason = PlayerRemovedReason.PLAYER_LEFT) -> list[Notice]:
        return checked(self.games.remove(game.gameId, playerId, reason, self.now))

    def test_memberLeaves(self) -> None:
        """
        PlayerRemoved goes to the remaining players and the leaver, then
        UserRemoved both ways with each remaining player, then the leaver's
        extended data without the game.
        """
        game = self.lobby(1, 2, 3)
        notices = self.remove(game, 2)
        self.assertEqual(
            shape(notices),
            [((1, 3, 2), GM, N.PLAYER_REMOVED), *userRemovedPair(2, 1), *userRemovedPair(2, 3), ((2,), US, U.USER_SESSION_EXTENDED_DATA_UPDATE)],
        )
        removed = notices[0].body
        self.assertEqual(
            (removed.gameId, removed.playerId, removed.reason),
            (game.gameId, 2, PlayerRemovedReason.PLAYER_LEFT),
        )
        self.assertEqual(
            [n.body.blazeUserId for n in notices[1:5]], [2, 1, 2, 3])
        self.assertEqual(notices[-1].body.userId, 2)
        self.assertEqual(notices[-1].body.data.games, [])
        self.assertIsNone(self.games.gameOf(2))

    def test_slotsCompacted(self) -> None:
        """
        The remaining players keep their order and their slot is their
        index; the next joiner takes the last slot.
        """
        game = self.lobby(1, 2, 3, 4)
        self.remove(game, 2)
        self.assertEqual(self.ids(game), [1, 3, 4])
        notices = self.join(game, 5)
        setup = next(n for n in notices if n.command == N.GAME_SETUP).body
        self.assertEqual(
            [(p.playerId, p.slotId) for p in setup.players], [(1, 0), (3, 1), (4, 2), (5, 3)])

    def test_adminLeaves(self) -> None:
        """
        When an admin leaves, the remaining players hear AdminListChange
        REMOVE (from the host) right after PlayerRemoved.
        """
        game = self.lobby(1, 2, 3)
        self.games.addAdmin(game.gameId, 1, 3)
        notices = self.remove(game, 3)
        self.assertEqual(
            shape(notices[:2]),
            [((1, 2, 3), GM, N.PLAYER_REMOVED), ((1, 2), GM, N.ADMIN_LIST_CHANGE)],
        )
        change = notices[1].body
        self.assertEqual(
            (change.adminPlayerId, change.gameId, change.operation, change.updaterId),
            (3, game.gameId, AdminListOperation.REMOVE, 1),
        )
        self.assertEqual(game.admins, [1])

    def test_hostLeaves(self) -> None:
        """
        The host leaving: PlayerRemoved, AdminListChange REMOVE, UserRemoved
        pairs, the leaver's extended data, then the migration sequence to
        the remaining players only, naming the new slot-0 host and going
        back to the previous state.
        """
        game = self.lobby(1, 2, 3)
        self.games.setState(game.gameId, 1, GameState.IN_GAME)
        notices = self.remove(game, 1)
        self.assertEqual(
            shape(notices),
            [((2, 3, 1), GM, N.PLAYER_REMOVED), ((2, 3), GM, N.ADMIN_LIST_CHANGE), *userRemovedPair(1, 2), *userRemovedPair(1, 3), ((1,), US, U.USER_SESSION_EXTENDED_DATA_UPDATE), *migration((2, 3))],
        )
        migrating, start, back, finished = (n.body for n in notices[-4:])
        self.assertEqual((migrating.gameId, migrating.state), (game.gameId, GameState.MIGRATING))
        self.assertEqual(
            (start.gameId, start.newHostId, start.migrationType, start.slot),
            (game.gameId, 2, HostMigrationType.TOPOLOGY_PLATFORM_HOST, 0),
        )
        self.assertEqual((back.gameId, back.state), (game.gameId, GameState.IN_GAME))
        self.assertEqual(finished.gameId, game.gameId)
        self.assertEqual(self.ids(game), [2, 3])
        self.assertEqual(game.state, GameState.IN_GAME)
        self.assertIn(2, game.admins)
        self.assertNotIn(1, game.admins)

    def test_newHostInSetup(self) -> None:
        """
        After a migration, a joiner's GameSetup names the new host.
        """
        game = self.lobby(1, 2)
        self.remove(game, 1)
        setup = self.join(game, 3)[-2].body
        self.assertEqual(setup.game.platformHost.playerId, 2)
        self.assertEqual(setup.game.gameName, "Player2")
        self.assertEqual(setup.game.admins, [2])

    def test_lastPlayerLeaves(self) -> None:
        """
        The last player leaving deletes the game, without migration.
        """
        game = self.lobby(1)
        notices = self.remove(game, 1)
        self.assertEqual(
            shape(notices),
            [((1,), GM, N.PLAYER_REMOVED), ((1,), US, U.USER_SESSION_EXTENDED_DATA_UPDATE)],
        )
        self.assertEqual(self.games.games, {})
        e = self.assertRaises(GameError, self.games.get, game.gameId)
        self.assertEqual(e.code, GameManagerError.INVALID_GAME_ID)

    def test_notMember(self) -> None:
        """
        Removing a player who is not in the game gives PLAYER_NOT_FOUND.
        """
        game = self.lobby(1)
        self.lobby(2)
        e = self.assertRaises(GameError, self.remove, game, 2)
        self.assertEqual(e.code, GameManagerError.PLAYER_NOT_FOUND)
        self.assertEqual(self.games.gameOf(2).memberIds, (2,))  # type: ignore[union-attr]

    def test_leaveAllReason(self) -> None:
        """
        leaveAll (a disconnect) removes the player with the given reason.
        """
        game = self.lobby(1, 2)
        notices = checked(self.games.leaveAll(2, PlayerRemovedReason.PLAYER_CONN_LOST, self.now))
        self.assertEqual(shape(notices[:1]), [((1, 2), GM, N.PLAYER_REMOVED)])
        self.assertEqual(notices[0].body.reason, PlayerRemovedReason.PLAYER_CONN_LOST)
        self.assertEqual(self.ids(game), [1])
        self.assertEqual(self.games.leaveAll(2, PlayerRemovedReason.PLAYER_CONN_LOST, self.now), [])

    def test_destroy(self) -> None:
        """
        The host destroying the game removes every player with
        GAME_DESTROYED, last slot first, without migration, and deletes it.
        """
        game = self.lobby(1, 2, 3)
        notices = checked(self.games.destroy(game.gameId, 1, self.now))
        removed = [n for n in notices if n.command == N.PLAYER_REMOVED]
        self.assertEqual(
            [(n.recipients, n.body.playerId, n.body.reason) for n in removed],
            [((1, 2, 3), 3, PlayerRemovedReason.GAME_DESTROYED),
             ((1, 2), 2, PlayerRemovedReason.GAME_DESTROYED),
             ((1,), 1, PlayerRemovedReason.GAME_DESTROYED)],
        )
        self.assertNotIn(N.HOST_MIGRATION_START, [n.command for n in notices])
        self.assertEqual(self.games.games, {})
        self.assertEqual(self.games.byPlayer, {})

    def test_destroyNotRefilled(self) -> None:
        """
        Players waiting for a match are not put into a game being destroyed.
        """
        game = self.lobby(1, 2, 3, 4)
        self.matchmake(5)
        notices = checked(self.games.destroy(game.gameId, 1, self.now))
        self.assertNotIn(5, {r for n in notices for r in n.recipients})
        self.assertEqual(self.games.games, {})
        self.assertIsNotNone(self.games.queued(5))

    def test_destroyByNonHost(self) -> None:
        """
        Only the host may destroy: PERMISSION_DENIED otherwise.
        """
        game = self.lobby(1, 2)
        e = self.assertRaises(GameError, self.games.destroy, game.gameId, 2, self.now)
        self.assertEqual(e.code, GameManagerError.PERMISSION_DENIED)
        self.assertEqual(self.ids(game), [1, 2])

    def test_migrateHost(self) -> None:
        """
        The host handing the game to another member moves that member to
        slot 0 (the old host to slot 1, the others after) and sends the
        migration sequence to every member.
        """
        game = self.lobby(1, 2, 3)
        notices = checked(self.games.migrateHost(game.gameId, 1, 3))
        self.assertEqual(shape(notices), migration((3, 1, 2)))
        self.assertEqual(notices[1].body.newHostId, 3)
        self.assertEqual(self.ids(game), [3, 1, 2])
        self.assertIn(3, game.admins)

    def test_migrateHostRefused(self) -> None:
        """
        A non-host gets PERMISSION_DENIED; a target outside the game
        PLAYER_NOT_FOUND; migrating to the current host does nothing.
        """
        game = self.lobby(1, 2)
        e = self.assertRaises(GameError, self.games.migrateHost, game.gameId, 2, 2)
        self.assertEqual(e.code, GameManagerError.PERMISSION_DENIED)
        e = self.assertRaises(GameError, self.games.migrateHost, game.gameId, 1, 7)
        self.assertEqual(e.code, GameManagerError.PLAYER_NOT_FOUND)
        self.assertEqual(self.games.migrateHost(game.gameId, 1, 1), [])
        self.assertEqual(self.ids(game), [1, 2])


class GameChangeTests(GamesTestMixin, SynchronousTestCase):
    """
    L{Games.setState}, L{Games.setSettings}, L{Games.replay},
    L{Games.finalizeCreation}, L{Games.addAdmin} and L{Games.updatePlayer}.
    """

    def test_setState(self) -> None:
        """
        An admin changes the Blaze state; every member hears
        GameStateChange.
        """
        game = self.lobby(1, 2)
        self.games.addAdmin(game.gameId, 1, 2)
        notices = checked(self.games.setState(game.gameId, 2, GameState.IN_GAME))
        self.assertEqual(shape(notices), [((1, 2), GM, N.GAME_STATE_CHANGE)])
        self.assertEqual((notices[0].body.gameId, notices[0].body.state),
                         (game.gameId, GameState.IN_GAME))
        self.assertEqual(game.state, GameState.IN_GAME)

    def test_setStateRefused(self) -> None:
        """
        An unknown state value gives INVALID_GAME_STATE_TRANSITION, a
        non-member PLAYER_NOT_FOUND; the state is unchanged.
        """
        game = self.lobby(1)
        for value in (0x84, -1, 2**40):
            e = self.assertRaises(GameError, self.games.setState, game.gameId, 1, value)
            self.assertEqual(e.code, GameManagerError.INVALID_GAME_STATE_TRANSITION)
        e = self.assertRaises(GameError, self.games.setState, game.gameId, 2, GameState.IN_GAME)
        self.assertEqual(e.code, GameManagerError.PLAYER_NOT_FOUND)
        self.assertEqual(game.state, GameState.INITIALIZING)

    def test_setSettings(self) -> None:
        """
        New settings (kept to 32 bits) are announced to every member.
        """
        game = self.lobby(1, 2)
        notices = checked(self.games.setSettings(game.gameId, 1, 0x1_0000_051F))
        self.assertEqual(shape(notices), [((1, 2), GM, N.GAME_SETTINGS_CHANGE)])
        self.assertEqual((notices[0].body.settings, notices[0].body.gameId), (0x51F, game.gameId))
        self.assertEqual(game.settings, 0x51F)
        e = self.assertRaises(GameError, self.games.setSettings, game.gameId, 3, 0)
        self.assertEqual(e.code, GameManagerError.PLAYER_NOT_FOUND)

    def test_replay(self) -> None:
        """
        replayGame returns to PRE_GAME with a new reporting id; members hear
        the state and the new reporting id.
        """
        game = self.lobby(1, 2)
        self.games.addAdmin(game.gameId, 1, 2)
        self.games.setState(game.gameId, 1, GameState.POST_GAME)
        old = game.reportingId
        self.now += 50
        notices = checked(self.games.replay(game.gameId, 2, self.now))
        self.assertEqual(
            shape(notices),
            [((1, 2), GM, N.GAME_STATE_CHANGE), ((1, 2), GM, N.GAME_REPORTING_ID_CHANGE)],
        )
        self.assertEqual(notices[0].body.state, GameState.PRE_GAME)
        self.assertNotEqual(game.reportingId, old)
        self.assertEqual((notices[1].body.gameId, notices[1].body.reportingId),
                         (game.gameId, game.reportingId))
        self.assertEqual(game.createdAt, self.now)
        e = self.assertRaises(GameError, self.games.replay, game.gameId, 3, self.now)
        self.assertEqual(e.code, GameManagerError.PLAYER_NOT_FOUND)

    def test_finalizeCreation(self) -> None:
        """
        The host finalizing an initializing game moves it to PRE_GAME (once);
        a non-host gets PERMISSION_DENIED.
        """
        game = self.lobby(1, 2)
        e = self.assertRaises(GameError, self.games.finalizeCreation, game.gameId, 2)
        self.assertEqual(e.code, GameManagerError.PERMISSION_DENIED)
        notices = checked(self.games.finalizeCreation(game.gameId, 1))
        self.assertEqual(shape(notices), [((1, 2), GM, N.GAME_STATE_CHANGE)])
        self.assertEqual(notices[0].body.state, GameState.PRE_GAME)
        self.assertEqual(self.games.finalizeCreation(game.gameId, 1), [])

    def test_addAdmin(self) -> None:
        """
        The host adds an admin: every member hears AdminListChange ADD with
        the host as updater; adding again does nothing.
        """
        game = self.lobby(1, 2, 3)
        notices = checked(self.games.addAdmin(game.gameId, 1, 2))
        self.assertEqual(shape(notices), [((1, 2, 3), GM, N.ADMIN_LIST_CHANGE)])
        change = notices[0].body
        self.assertEqual(
            (change.adminPlayerId, change.gameId, change.operation, change.updaterId),
            (2, game.gameId, AdminListOperation.ADD, 1),
        )
        self.assertEqual(game.admins, [1, 2])
        self.assertEqual(self.games.addAdmin(game.gameId, 1, 2), [])

    def test_addAdminRefused(self) -> None:
        """
        A non-host (even an admin) gets PERMISSION_DENIED; a target outside
        the game PLAYER_NOT_FOUND.
        """
        game = self.lobby(1, 2, 3)
        self.games.addAdmin(game.gameId, 1, 2)
        e = self.assertRaises(GameError, self.games.addAdmin, game.gameId, 2, 3)
        self.assertEqual(e.code, GameManagerError.PERMISSION_DENIED)
        e = self.assertRaises(GameError, self.games.addAdmin, game.gameId, 1, 9)
        self.assertEqual(e.code, GameManagerError.PLAYER_NOT_FOUND)
        self.assertEqual(game.admins, [1, 2])

    def test_updatePlayerInGame(self) -> None:
        """
        New network details reach every member of the player's game and are
        used in later GameSetups.
        """
        game = self.lobby(1, 2)
        info = player(2, natType=1, name="Renamed")
        notices = checked(self.games.updatePlayer(info))
        self.assertEqual(shape(notices), [((1, 2), US, U.USER_SESSION_EXTENDED_DATA_UPDATE)])
        self.assertEqual(notices[0].body.data.qosData.natType, 1)
        self.assertEqual(notices[0].body.data.games, [tdf.ObjectId(GM, 1, game.gameId)])
        self.assertIs(game.players[1].info, info)

    def test_updatePlayerAlone(self) -> None:
        """
        A player outside any game hears only its own update; a queued
        player's snapshot is refreshed.
        """
        self.matchmake(2)
        info = player(2, natType=0)
        notices = checked(self.games.updatePlayer(info))
        self.assertEqual(shape(notices), [((2,), US, U.USER_SESSION_EXTENDED_DATA_UPDATE)])
        self.assertEqual(notices[0].body.data.games, [])
        entry = self.games.queued(2)
        assert entry is not None
        self.assertIs(entry.info, info)


class BrowserDataTests(GamesTestMixin, SynchronousTestCase):
    """
    L{Games.browserData}.
    """

    tunnelPolicy = "always"

    def test_realHostAddress(self) -> None:
        """
        GetGameDataFromId shows a member the host's real address and
        peer-hosted topology even when games are tunnelled.
        """
        game = self.lobby(1, 2)
        data = self.games.browserData(game, 2)
        tdf.encode(data)
        self.assertEqual(data.hostNetwork, [player(1).address])
        self.assertEqual(data.networkTopology, GameNetworkTopology.CLIENT_SERVER_PEER_HOSTED)
        self.assertEqual(
            (data.gameId, data.gameName, data.hostId, data.playerCounts, data.admins),
            (game.gameId, "Player1", 1, [2, 0], [1]),
        )
        self.assertEqual(data.attributes, LOBBY)

    def test_noAddressForOutsiders(self) -> None:
        """
        A player outside the game (or an unnamed requester) sees the game
        but one unset host address: addresses go only to members.
        """
        game = self.lobby(1, 2)
        external = tdf.encodeVarint(player(1).address.value.external.ip)
        for requester in (3, None):
            data = self.games.browserData(game, requester)
            self.assertEqual(data.hostNetwork, [tdf.Choice()])
            self.assertEqual((data.gameId, data.hostId), (game.gameId, 1))
            self.assertNotIn(external, tdf.encode(data))


class TunnelPolicyTests(SynchronousTestCase):
    """
    The C{tunnel} setting decides the host address and topology in
    GameSetup.
    """

    def setup(self, policy: str, natType: int | None = None) -> NotifyGameSetup:
        games = Games(rng=random.Random(1), tunnelPolicy=policy)
        host = player(1) if natType is None else player(1, natType=natType)
        _, notices = games.create(host, LOBBY, ME3_CREATE_GAME_SETTINGS, 0.0)
        setup = checked(notices)[0].body
        # The HNET list survives the codec (heat-bug form in lists).
        decoded = tdf.decode(NotifyGameSetup, tdf.encode(setup))
        self.assertEqual(decoded.game.hostNetwork, setup.game.hostNetwork)
        return setup

    def assertTunnelled(self, setup: NotifyGameSetup) -> None:
        self.assertEqual(
            setup.game.hostNetwork,
            [tdf.Choice(NetworkAddressIndex.IP, IpAddress(ip=0x7F000001, port=42132))],
        )
        self.assertEqual(setup.game.hostNetwork[0].value, TUNNEL_HOST)
        self.assertEqual(setup.game.networkTopology, GameNetworkTopology.CLIENT_SERVER_DEDICATED)

    def assertDirect(self, setup: NotifyGameSetup) -> None:
        self.assertEqual(setup.game.hostNetwork, [player(1).address])
        self.assertEqual(setup.game.networkTopology, GameNetworkTopology.CLIENT_SERVER_PEER_HOSTED)

    def test_always(self) -> None:
        """
        "always": the host appears at 127.0.0.1:42132 (union index 3) as a
        dedicated server, even with an open NAT.
        """
        self.assertTunnelled(self.setup("always", natType=0))

    def test_disabled(self) -> None:
        """
        "disabled": the host's own address, peer hosted, whatever its NAT.
        """
        self.assertDirect(self.setup("disabled", natType=3))

    def test_stricter(self) -> None:
        """
        "stricter": tunnelled unless the host reported an open NAT (0); the
        default (unknown, 4) is tunnelled.
        """
        self.assertDirect(self.setup("stricter", natType=0))
        for natType in (1, 2, 3):
            self.assertTunnelled(self.setup("stricter", natType=natType))
        self.assertTunnelled(self.setup("stricter"))
        self.assertEqual(PlayerInfo(1, "x", 1).qos.natType, 4)


class QueueRecheckTests(GamesTestMixin, SynchronousTestCase):
    """
    setGameSettings and advanceGameState re-check the queue when given the
    time.
    """

    def test_settingsOpenToMatchmaking(self) -> None:
        """
        A game opened to matchmaking by setSettings takes a waiting seeker,
        after the settings notice.
        """
        closed = ME3_CREATE_GAME_SETTINGS & ~GameSettings.OPEN_TO_MATCHMAKING
        game = self.lobby(1, settings=closed)
        self.matchmake(2)
        notices = checked(self.games.setSettings(
            game.gameId, 1, ME3_CREATE_GAME_SETTINGS, self.now))
        self.assertEqual(shape(notices[:1]), [((1,), GM, N.GAME_SETTINGS_CHANGE)])
        self.assertMatchmakingJoinOf(notices[1:], 2)
        self.assertEqual(self.ids(game), [1, 2])

    def test_settingsWithoutTime(self) -> None:
        """
        Without C{now} setSettings only announces the settings.
        """
        closed = ME3_CREATE_GAME_SETTINGS & ~GameSettings.OPEN_TO_MATCHMAKING
        game = self.lobby(1, settings=closed)
        self.matchmake(2)
        notices = self.games.setSettings(game.gameId, 1, ME3_CREATE_GAME_SETTINGS)
        self.assertEqual(shape(notices), [((1,), GM, N.GAME_SETTINGS_CHANGE)])
        self.assertIsNotNone(self.games.queued(2))

    def test_stateLeavesDestructing(self) -> None:
        """
        A game is not matched while DESTRUCTING; when its state changes
        back, a waiting seeker joins after the state notice.
        """
        game = self.lobby(1)
        self.games.setState(game.gameId, 1, GameState.DESTRUCTING, self.now)
        self.matchmake(2)
        self.assertIsNotNone(self.games.queued(2))
        notices = checked(self.games.setState(game.gameId, 1, GameState.PRE_GAME, self.now))
        self.assertEqual(shape(notices[:1]), [((1,), GM, N.GAME_STATE_CHANGE)])
        self.assertMatchmakingJoinOf(notices[1:], 2)

    def assertMatchmakingJoinOf(self, notices: Sequence[Notice], seeker: int) -> None:
        self.assertEqual(shape(notices[:1]), [((seeker,), GM, N.MATCHMAKING_ASYNC_STATUS)])
        setups = [n for n in notices if n.command == N.GAME_SETUP]
        self.assertEqual([n.recipients for n in setups], [(seeker,)])
        self.assertEqual(setups[0].body.reason.index, GameSetupReasonIndex.MATCHMAKING)


class QueueLeftTests(GamesTestMixin, SynchronousTestCase):
    """
    C{onQueueLeft} reports every way out of matchmaking once.
    """

    def setUp(self) -> None:
        super().setUp()
        self.left: list[tuple[int, str, float]] = []
        self.games.onQueueLeft = lambda *call: self.left.append(call)

    def test_immediateMatch(self) -> None:
        """
        A seeker placed at once is "matched" after 0 seconds.
        """
        self.lobby(1)
        self.matchmake(2)
        self.assertEqual(self.left, [(2, "matched", 0.0)])

    def test_matchedFromQueue(self) -> None:
        """
        A waiting seeker placed in a new game is "matched" after the time
        it waited.
        """
        self.matchmake(2)
        self.assertEqual(self.left, [])
        self.now += 42
        self.create(1)
        self.assertEqual(self.left, [(2, "matched", 42.0)])

    def test_timedOut(self) -> None:
        """
        A seeker failed by tick is "timed_out".
        """
        self.matchmake(2, durationMs=5000)
        self.games.tick(self.now + 7)
        self.assertEqual(self.left, [(2, "timed_out", 7.0)])

    def test_cancelled(self) -> None:
        """
        Cancelling, disconnecting, creating or joining a game oneself all
        count as "cancelled".
        """
        other = self.lobby(9)
        nowhere = MatchRules({"ME3map": "nowhere"})
        for playerId in (2, 3, 4, 5):
            self.matchmake(playerId, nowhere)
        self.now += 3
        self.games.cancelMatchmaking(2, self.now)
        self.games.leaveAll(3, PlayerRemovedReason.PLAYER_CONN_LOST, self.now)
        self.create(4)
        self.join(other, 5)
        self.assertEqual(
            self.left,
            [(2, "cancelled", 3.0), (3, "cancelled", 3.0), (4, "cancelled", 3.0),
             (5, "cancelled", 3.0)],
        )

    def test_notQueued(self) -> None:
        """
        Leaving, creating or joining without matchmaking reports nothing.
        """
        game = self.lobby(1, 2, 4)
        self.games.cancelMatchmaking(2, self.now)
        self.games.leaveAll(1, PlayerRemovedReason.PLAYER_LEFT, self.now)
        self.join(game, 3)
        self.create(5)
        self.assertEqual(self.ids(game), [4, 3])
        self.assertEqual(self.left, [])


class InvariantTests(GamesTestMixin, SynchronousTestCase):
    """
    L{Games.checkInvariants} notices broken state.
    """

    def test_holds(self) -> None:
        """
        Normal operations keep the invariants.
        """
        game = self.lobby(1, 2, 3)
        self.games.addAdmin(game.gameId, 1, 3)
        self.games.remove(game.gameId, 1, PlayerRemovedReason.PLAYER_LEFT, self.now)
        self.matchmake(4, MatchRules({"ME3map": "nowhere"}))
        self.games.checkInvariants()

    def test_broken(self) -> None:
        """
        Each kind of corruption raises L{AssertionError}.
        """
        def corruptions() -> Iterable[Any]:
            yield lambda g, games: g.players.clear()
            yield lambda g, games: games.byPlayer.pop(2)
            yield lambda g, games: games.byPlayer.__setitem__(9, g.gameId)
            yield lambda g, games: g.admins.append(2) or g.admins.append(2)
            yield lambda g, games: g.admins.append(7)
            yield lambda g, games: g.admins.remove(1)
            yield lambda g, games: games.queue.append(games.queue[0])
            yield lambda g, games: setattr(games.queue[0], "info", player(1))
        for corrupt in corruptions():
            self.setUp()
            game = self.lobby(1, 2)
            self.matchmake(3, MatchRules({"ME3map": "nowhere"}))
            self.games.checkInvariants()
            corrupt(game, self.games)
            self.assertRaises(AssertionError, self.games.checkInvariants)
        self.setUp()


class AdminRightsTests(GamesTestMixin, SynchronousTestCase):
    """
    setGameAttributes, advanceGameState, setGameSettings and replayGame
    need an admin of the game (security issue, item 7).
    """

    def changes(self, gameId: int, playerId: int) -> dict[str, Any]:
        """
        Each admin-only change, as a callable for C{playerId}.
        """
        return {
            "setAttributes": lambda: self.games.setAttributes(
                gameId, playerId, {"ME3privacy": "PRIVATE", "ME3map": "map9"}, self.now),
            "setState": lambda: self.games.setState(
                gameId, playerId, GameState.IN_GAME, self.now),
            "setSettings": lambda: self.games.setSettings(gameId, playerId, 0, self.now),
            "replay": lambda: self.games.replay(gameId, playerId, self.now),
        }

    def test_memberNotAdminRefused(self) -> None:
        """
        A player who joined but was never made an admin is refused every
        change with PERMISSION_DENIED, and the game is unchanged.
        """
        game = self.lobby(1, 2)
        before = (dict(game.attributes), game.state, game.settings, game.reportingId)
        for name, change in self.changes(game.gameId, 2).items():
            e = self.assertRaises(GameError, change)
            self.assertEqual(e.code, GameManagerError.PERMISSION_DENIED, name)
        self.assertEqual(
            (dict(game.attributes), game.state, game.settings, game.reportingId), before
        )

    def test_outsiderRefused(self) -> None:
        """
        A player outside the game is refused with PLAYER_NOT_FOUND.
        """
        game = self.lobby(1, 2)
        for name, change in self.changes(game.gameId, 3).items():
            e = self.assertRaises(GameError, change)
            self.assertEqual(e.code, GameManagerError.PLAYER_NOT_FOUND, name)

    def test_adminAllowed(self) -> None:
        """
        The host, and a member once the host made it an admin with
        addAdminPlayer (as ME3's host does for every joiner), may change the
        game.
        """
        game = self.lobby(1, 2)
        for name, change in self.changes(game.gameId, 1).items():
            self.assertTrue(checked(change()), name)
        self.games.addAdmin(game.gameId, 1, 2)
        for change in self.changes(game.gameId, 2).values():
            checked(change())
        self.assertEqual(game.attributes["ME3map"], "map9")
        self.assertEqual(game.state, GameState.PRE_GAME)

    def test_newHostIsAdmin(self) -> None:
        """
        A member who becomes host by migration may change the game, though
        never made admin before.
        """
        game = self.lobby(1, 2, 3)
        self.games.remove(game.gameId, 1, PlayerRemovedReason.PLAYER_LEFT, self.now)
        checked(self.games.setState(game.gameId, 2, GameState.IN_GAME, self.now))
        e = self.assertRaises(GameError, self.games.setState, game.gameId, 3, GameState.PRE_GAME)
        self.assertEqual(e.code, GameManagerError.PERMISSION_DENIED)


class AdminListTests(GamesTestMixin, SynchronousTestCase):
    """
    The admin list through a join, an addAdminPlayer and a host migration,
    as in captures of EA's server.
    """

    def test_joinAddAdminMigrate(self) -> None:
        """
        The creator is the only admin; a joiner is no admin until the host
        adds it (AdminListChange ADD, updater the host, to every member);
        when the host leaves, every remaining member hears AdminListChange
        REMOVE of the old host with the new host as updater, and the list
        is the new host alone, with no second ADD notice.
        """
        game, notices = self.create(1)
        self.assertEqual(notices[0].body.game.admins, [1])
        notices = self.join(game, 2)
        setup = [n for n in notices if n.command == N.GAME_SETUP and n.component == GM]
        self.assertEqual(setup[0].body.game.admins, [1])
        self.assertEqual(game.admins, [1])
        self.assertNotIn(N.ADMIN_LIST_CHANGE, [n.command for n in notices if n.component == GM])

        notices = checked(self.games.addAdmin(game.gameId, 1, 2))
        self.assertEqual(shape(notices), [((1, 2), GM, N.ADMIN_LIST_CHANGE)])
        self.assertEqual(
            [(m.tag, m.value) for m in tdf.decodeStruct(tdf.encode(notices[0].body)).members],
            [("ALST", 2), ("GID", game.gameId), ("OPER", AdminListOperation.ADD), ("UID", 1)],
        )
        self.assertEqual(game.admins, [1, 2])

        notices = checked(self.games.remove(
            game.gameId, 1, PlayerRemovedReason.PLAYER_LEFT, self.now))
        changes = [n for n in notices if n.component == GM and n.command == N.ADMIN_LIST_CHANGE]
        self.assertEqual(len(changes), 1)
        self.assertEqual(changes[0].recipients, (2,))
        self.assertEqual(
            [(m.tag, m.value) for m in tdf.decodeStruct(tdf.encode(changes[0].body)).members],
            [("ALST", 1), ("GID", game.gameId), ("OPER", AdminListOperation.REMOVE),
             ("UID", 2)],
        )
        self.assertEqual(game.admins, [2])
        self.assertEqual(shape(notices[-4:]), migration((2,)))

        notices = self.join(game, 3)
        setup = [n for n in notices if n.command == N.GAME_SETUP and n.component == GM]
        self.assertEqual(setup[0].body.game.admins, [2])


class PrivateGameTests(GamesTestMixin, SynchronousTestCase):
    """
    A PRIVATE game admits nobody new: the server has no friend lists and
    cannot check an invitation (security issue, item 7).
    """

    def test_joinRefused(self) -> None:
        """
        joinGame into a private game is refused with PERMISSION_DENIED; the
        game and the refused player are unchanged.
        """
        game = self.lobby(1, attributes={**LOBBY, "ME3privacy": "PRIVATE"})
        e = self.assertRaises(GameError, self.games.join, game.gameId, player(3), self.now)
        self.assertEqual(e.code, GameManagerError.PERMISSION_DENIED)
        self.assertEqual(self.ids(game), [1])
        self.assertIsNone(self.games.gameOf(3))

    def test_lockedAfterFriendsJoined(self) -> None:
        """
        Friends join while the lobby is public; once the host makes it
        private, nobody else gets in; public again, players join.
        """
        game = self.lobby(1, 2)
        self.games.setAttributes(game.gameId, 1, {"ME3privacy": "PRIVATE"}, self.now)
        e = self.assertRaises(GameError, self.games.join, game.gameId, player(3), self.now)
        self.assertEqual(e.code, GameManagerError.PERMISSION_DENIED)
        self.games.setAttributes(game.gameId, 1, {"ME3privacy": "PUBLIC"}, self.now)
        self.join(game, 3)
        self.assertEqual(self.ids(game), [1, 2, 3])


class HostWithoutAddressTests(SynchronousTestCase):
    """
    A host whose address is unknown is announced with one unset address in
    C{HNET}, as the reference server sends.
    """

    def test_unsetHostAddress(self) -> None:
        """
        Untunnelled, a host with no address gives C{HNET} one unset element,
        written C{7F 00}; GameSetup and the browser data alike.
        """
        games = Games(rng=random.Random(1), tunnelPolicy="disabled")
        host = PlayerInfo(playerId=1, name="Host", sessionId=11)
        game, notices = games.create(host, LOBBY, ME3_CREATE_GAME_SETTINGS, 0.0)
        setup = notices[0].body
        self.assertEqual(setup.game.hostNetwork, [tdf.Choice()])
        raw = tdf.encode(setup)
        hnet = tdf.encodeTag("HNET") + bytes([tdf.TdfType.LIST, tdf.TdfType.STRUCT, 1])
        self.assertIn(hnet + b"\x7f\x00", raw)
        decoded = tdf.decode(NotifyGameSetup, raw)
        self.assertEqual(decoded.game.hostNetwork, [tdf.Choice()])
        self.assertEqual(decoded.game.gameId, game.gameId)
        self.assertEqual(games.browserData(game, 1).hostNetwork, [tdf.Choice()])


#: ME3's generic matchmaking rules: a player who asks for any map and
#: difficulty, enemy2, and owns four of the five DLC it names.
ME3_RULES: list[tuple[str, list[str]]] = [
    ("ME3_gameStateMatchRule", ["MATCH_MAKING"]),
    ("ME3_gameMapMatchRule", ["abstain"]),
    ("ME3_gameEnemyTypeRule", ["enemy2"]),
    ("ME3_gameDifficultyRule", ["abstain"]),
    ("ME3_rule_dlc2500", ["required"]),
    ("ME3_rule_dlc2300", ["required"]),
    ("ME3_rule_dlc2700", ["required"]),
    ("ME3_rule_dlc3050", ["required"]),
    ("ME3_rule_dlc3225", ["abstain"]),
]


class AsyncStatusEchoTests(GamesTestMixin, SynchronousTestCase):
    """
    NotifyMatchmakingAsyncStatus echoes the player's rules as EA's server
    did (review issue, item 10).
    """

    rules = MatchRules.fromRules(ME3_RULES, ["ME3_characterSkill_Rule"])

    def status(self, notice: Notice) -> Any:
        """
        The first C{ASIL} entry of a status notice, decoded without schema
        from its encoded body.
        """
        self.assertEqual((notice.component, notice.command), (GM, N.MATCHMAKING_ASYNC_STATUS))
        body = tdf.decodeStruct(tdf.encode(notice.body))
        (entry,) = body["ASIL"].items
        return entry

    def assertEcho(self, entry: Any, n7: int) -> None:
        grda = entry["GRDA"]
        self.assertEqual((grda.keyType, grda.valueType), (tdf.TdfType.STRING, tdf.TdfType.STRUCT))
        expected = {
            "ME3_gameStateMatchRule": ["MATCH_MAKING"],
            "ME3_gameMapMatchRule": ["abstain"],
            "ME3_gameEnemyTypeRule": ["enemy2"],
            "ME3_gameDifficultyRule": ["abstain"],
            "ME3_rule_dlc2300": ["required", "preferred"],
            "ME3_rule_dlc2500": ["required", "preferred"],
            "ME3_rule_dlc2700": ["required", "preferred"],
            "ME3_rule_dlc3050": ["required", "preferred"],
            "ME3_rule_dlc3225": ["abstain"],
        }
        self.assertEqual(sorted(k for k, _ in grda.items), sorted(expected))
        for name, value in grda.items:
            self.assertEqual([m.tag for m in value.members], ["NAME", "VALU"])
            self.assertEqual(value["NAME"], name)
            self.assertEqual(value["VALU"].elementType, tdf.TdfType.STRING)
            self.assertEqual(list(value["VALU"].items), expected[name], name)
        ueds = entry["UEDS"]
        self.assertEqual([k for k, _ in ueds.items], ["ME3_characterSkill_Rule"])
        rule = ueds.asDict()["ME3_characterSkill_Rule"]
        self.assertEqual(
            [(m.tag, m.value) for m in rule.members],
            [("AMAX", 500), ("AMIN", 0), ("MUED", n7), ("NAME", "ME3_characterSkill_Rule")],
        )

    def test_queued(self) -> None:
        """
        The status sent on entering the queue, and the periodic ones,
        echo the rules; MUED is the player's N7 rating.
        """
        _, notices = self.games.startMatchmaking(player(2), self.rules, 60_000, self.now)
        self.assertEcho(self.status(notices[0]), 20)
        notices = self.games.tick(self.now + 10)
        self.assertEcho(self.status(notices[0]), 20)

    def test_matched(self) -> None:
        """
        The status that precedes the GameSetup of a match echoes the rules,
        whether the match is immediate or found for a waiting player.
        """
        self.lobby(1, 8, 9, attributes={**LOBBY, "ME3gameEnemyType": "enemy2"})
        _, notices = self.games.startMatchmaking(player(2), self.rules, 60_000, self.now)
        self.assertEcho(self.status(notices[0]), 20)
        self.games.startMatchmaking(player(4), self.rules, 60_000, self.now)
        self.assertIsNone(self.games.gameOf(4))
        notices = self.games.create(player(5), {**LOBBY, "ME3gameEnemyType": "enemy2"},
                                    ME3_CREATE_GAME_SETTINGS, self.now)[1]
        statuses = [n for n in notices if n.command == N.MATCHMAKING_ASYNC_STATUS]
        self.assertEqual([n.recipients for n in statuses], [(4,)])
        self.assertEcho(self.status(statuses[0]), 40)

    def test_ratingKeptInRange(self) -> None:
        """
        MUED stays within AMIN..AMAX: EA's server sent 500 for a player
        rated 16538.
        """
        rated = PlayerInfo(playerId=7, name="N7", sessionId=17, n7Rating=16538)
        _, notices = self.games.startMatchmaking(rated, self.rules, 60_000, self.now)
        self.assertEcho(self.status(notices[0]), 500)

    def test_bounded(self) -> None:
        """
        At most MAX_ECHOED_RULES rules with MAX_ECHOED_VALUES values each
        are kept for the echo.
        """
        many = [(f"rule{i}", [str(v) for v in range(100)]) for i in range(50)]
        rules = MatchRules.fromRules(many, [f"ued{i}" for i in range(50)])
        self.assertEqual(len(rules.echo), MAX_ECHOED_RULES)
        self.assertEqual({len(values) for _, values in rules.echo}, {MAX_ECHOED_VALUES})
        self.assertEqual(len(rules.uedRules), MAX_ECHOED_RULES)
