# -*- test-case-name: tests.test_games,tests.test_games_stateful -*-
"""
Games and matchmaking: a pure state machine, no I/O.

L{Games} owns every game and the matchmaking queue.  Each operation
changes the state and returns the notifications it causes as L{Notice}
values addressed to player ids, in the order they must be sent; the caller
(the hub) delivers them.  Times are passed in, so everything here is
deterministic and testable without a reactor.

Rules (docs/protocol.md, section 5): changing a game needs one of its
admins (the host and the members it made admins); a private game admits
nobody new; a game's host address goes only to its members.

Invariants (checked by L{Games.checkInvariants} and the property tests):
  - a player is in at most one game, and not in the queue while in one;
  - the players of a game occupy slots 0..n-1, the host in slot 0;
  - a game with players has a host; an empty game is removed;
  - the admins are members, each listed once, the host among them;
  - at most L{MAX_PLAYERS} players per game;
  - every notice is addressed only to members of the game it concerns
    (or to the player it concerns, e.g. a removed player).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

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
    NetworkQosData,
    UserIdentification,
    UserSessionExtendedData,
)
from pocketrelay.me3.messages.gameenums import DatalessContext
from pocketrelay.me3.messages.gamemanager import (
    AdminListOperation,
    GameBrowserGameData,
    GameNetworkTopology,
    GameSettings,
    GameState,
    GenericRuleStatus,
    HostInfo,
    HostMigrationType,
    MatchmakingAsyncStatus,
    MatchmakingResult,
    NotifyAdminListChange,
    NotifyGameAttribChange,
    NotifyGamePlayerStateChange,
    NotifyGameReportingIdChange,
    NotifyGameSettingsChange,
    NotifyGameSetup,
    NotifyGameStateChange,
    NotifyHostMigrationFinished,
    NotifyHostMigrationStart,
    NotifyMatchmakingAsyncStatus,
    NotifyMatchmakingFailed,
    NotifyPlayerJoinCompleted,
    NotifyPlayerJoining,
    NotifyPlayerRemoved,
    PlayerRemovedReason,
    PlayerState,
    ReplicatedGameData,
    ReplicatedGamePlayer,
    UEDRuleStatus,
    datalessSetup,
    matchmakingSetup,
)
from pocketrelay.me3.messages.usersessions import (
    NotifyUserAdded,
    NotifyUserRemoved,
    UserDataFlags,
    UserSessionExtendedDataUpdate,
    UserStatus,
)

__all__ = [
    "MAX_PLAYERS",
    "Game",
    "GameError",
    "Games",
    "MatchRules",
    "Notice",
    "PlayerInfo",
]

#: ME3 co-op games hold four players.
MAX_PLAYERS = 4

#: The attribute ME3 keeps its own lobby state in.
GAME_STATE_ATTRIBUTE = "ME3gameState"

#: The value of L{GAME_STATE_ATTRIBUTE} when a match ends.
FINISHING = "IN_GAME_FINISHING"

#: The local address a tunnelled game's "dedicated server" appears at
#: (the Pocket Relay client's tunnel socket).
TUNNEL_HOST = IpAddress(ip=0x7F000001, port=42132)

#: The N7 rating key in user extended data.
N7_RATING_KEY = 0x70001

#: Matchmaking rules ME3 sends and the attribute each one compares.
RULE_ATTRIBUTES = {
    "ME3_gameMapMatchRule": "ME3map",
    "ME3_gameEnemyTypeRule": "ME3gameEnemyType",
    "ME3_gameDifficultyRule": "ME3gameDifficulty",
}

#: The prefix of DLC rules: C{ME3_rule_dlc2300} compares C{ME3_dlc2300}.
DLC_RULE_PREFIX = "ME3_rule_dlc"
DLC_ATTRIBUTE_PREFIX = "ME3_dlc"

#: A rule value meaning "any".
ABSTAIN = "abstain"

#: The attribute holding a lobby's privacy, and its values.
PRIVACY_ATTRIBUTE = "ME3privacy"
PUBLIC = "PUBLIC"

#: What EA's server echoed for a DLC rule of a player who has the DLC: the
#: game attribute values such a player accepts.
DLC_RULE_ECHO = ("required", "preferred")

#: The accepted range EA's server reported for ME3's user-extended-data
#: rule (C{ME3_characterSkill_Rule}); the player's own value is its N7
#: rating kept in that range.
UED_RULE_MIN = 0
UED_RULE_MAX = 500

#: Bounds on the rules echoed back in matchmaking status notices.
MAX_ECHOED_RULES = 32
MAX_ECHOED_VALUES = 64

#: Bounds on what clients can make us hold.
MAX_ATTRIBUTES = 128
MAX_ATTRIBUTE_LENGTH = 256


class GameError(Exception):
    """
    An operation is refused; C{code} is the GameManager error to answer.
    """

    def __init__(self, code: GameManagerError, message: str) -> None:
        super().__init__(message)
        self.code = code


@attrs.frozen
class Notice:
    """
    One notification to send.

    @ivar recipients: player ids, in sending order.
    """

    recipients: tuple[int, ...]
    component: int
    command: int
    body: Any


@attrs.frozen
class PlayerInfo:
    """
    What games need to know about a logged-in player: a snapshot the hub
    refreshes when the player's session reports new network details.
    """

    playerId: int
    name: str
    sessionId: int
    address: tdf.Choice = attrs.field(factory=tdf.Choice)
    qos: NetworkQosData = attrs.field(factory=lambda: NetworkQosData(natType=4))
    hardwareFlags: int = 0
    latencies: tuple[int, ...] = ()
    n7Rating: int = 0
    locale: int = 0x656E5553


@attrs.define
class GamePlayer:
    """
    A player in a game.
    """

    info: PlayerInfo
    state: PlayerState
    joinedAt: float

    @property
    def playerId(self) -> int:
        return self.info.playerId


def isPrivate(attributes: Mapping[str, str]) -> bool:
    """
    Whether a game with these attributes is closed: its C{ME3privacy} is
    anything but C{PUBLIC} (a game without the attribute is public).
    """
    return attributes.get(PRIVACY_ATTRIBUTE, PUBLIC) != PUBLIC


@attrs.frozen
class MatchRules:
    """
    What a matchmaking player asked for: attribute values (L{ABSTAIN}
    rules dropped) and the DLC it has.

    @ivar echo: every generic rule of the request as (name, values), in
        request order, for the status notices (see L{asyncStatus}).
    @ivar uedRules: the names of the request's user-extended-data rules.
    """

    required: Mapping[str, str] = attrs.field(factory=dict)
    dlc: frozenset[str] = frozenset()
    echo: tuple[tuple[str, tuple[str, ...]], ...] = ()
    uedRules: tuple[str, ...] = ()

    @classmethod
    def fromRules(
        cls,
        rules: Iterable[tuple[str, Iterable[str]]],
        uedRules: Iterable[str] = (),
    ) -> MatchRules:
        """
        Build from (rule name, values) pairs as ME3 sends them; unknown
        rules are ignored, the first value of each rule counts.  At most
        L{MAX_ECHOED_RULES} rules of each kind (with at most
        L{MAX_ECHOED_VALUES} values) are kept for the echo.
        """
        required: dict[str, str] = {}
        dlc: set[str] = set()
        echo: dict[str, tuple[str, ...]] = {}
        for name, values in rules:
            kept = tuple(values)[:MAX_ECHOED_VALUES]
            if len(echo) < MAX_ECHOED_RULES or name in echo:
                echo[name] = kept
            value = kept[0] if kept else ABSTAIN
            if name.startswith(DLC_RULE_PREFIX):
                if value != ABSTAIN:
                    dlc.add(DLC_ATTRIBUTE_PREFIX + name[len(DLC_RULE_PREFIX):])
                continue
            attribute = RULE_ATTRIBUTES.get(name)
            if attribute is not None and value != ABSTAIN:
                required[attribute] = value
        ued = tuple(dict.fromkeys(uedRules))[:MAX_ECHOED_RULES]
        return cls(required, frozenset(dlc), tuple(echo.items()), ued)

    def matches(self, attributes: Mapping[str, str]) -> bool:
        """
        Whether a game with these attributes suits: public, every required
        value equal, and every DLC the game requires owned.
        """
        if isPrivate(attributes):
            return False
        for key, value in self.required.items():
            if attributes.get(key) != value:
                return False
        for key, value in attributes.items():
            if key.startswith(DLC_ATTRIBUTE_PREFIX) and value == "required" and key not in self.dlc:
                return False
        return True


@attrs.define
class QueueEntry:
    """
    A player waiting in the matchmaking queue.
    """

    info: PlayerInfo
    rules: MatchRules
    startedAt: float
    deadline: float
    lastStatus: float


@attrs.define(eq=False)
class Game:
    """
    One game.  Players are kept in slot order: slot = index, host first.
    """

    gameId: int
    settings: int
    attributes: dict[str, str]
    seed: int
    reportingId: int
    createdAt: float
    state: GameState = GameState.INITIALIZING
    players: list[GamePlayer] = attrs.field(factory=list)
    admins: list[int] = attrs.field(factory=list)
    #: Progress snapshots taken at join, for game reports.
    joinSnapshots: dict[int, str] = attrs.field(factory=dict)

    @property
    def host(self) -> GamePlayer | None:
        return self.players[0] if self.players else None

    @property
    def memberIds(self) -> tuple[int, ...]:
        return tuple(p.playerId for p in self.players)

    def find(self, playerId: int) -> GamePlayer | None:
        for player in self.players:
            if player.playerId == playerId:
                return player
        return None

    def slotOf(self, playerId: int) -> int | None:
        for slot, player in enumerate(self.players):
            if player.playerId == playerId:
                return slot
        return None

    @property
    def isFull(self) -> bool:
        return len(self.players) >= MAX_PLAYERS

    @property
    def isJoinable(self) -> bool:
        return not self.isFull and self.state != GameState.DESTRUCTING and bool(self.players)


def _tunnelled(policy: str, host: GamePlayer | None) -> bool:
    if policy == "always":
        return True
    if policy == "disabled" or host is None:
        return False
    return host.info.qos.natType != 0


def _hostNetwork(game: Game, tunnelled: bool) -> list[tdf.Choice]:
    if tunnelled:
        return [tdf.Choice(NetworkAddressIndex.IP, TUNNEL_HOST)]
    host = game.host
    if host is None or not host.info.address.isSet:
        # One unset address, as the reference server sends for a host
        # whose address it does not know.
        return [tdf.Choice()]
    return [host.info.address]


def replicatedPlayer(game: Game, slot: int, player: GamePlayer) -> ReplicatedGamePlayer:
    info = player.info
    return ReplicatedGamePlayer(
        gameId=game.gameId,
        locale=info.locale,
        name=info.name,
        playerId=info.playerId,
        address=info.address,
        slotId=slot,
        state=player.state,
        joinedTime=int(player.joinedAt * 1_000_000),
        sessionId=info.sessionId,
    )


def replicatedGame(game: Game, tunnelPolicy: str) -> ReplicatedGameData:
    host = game.host
    tunnelled = _tunnelled(tunnelPolicy, host)
    hostInfo = HostInfo(playerId=host.playerId if host else 0, slotId=0)
    return ReplicatedGameData(
        admins=list(game.admins),
        attributes=dict(game.attributes),
        gameId=game.gameId,
        gameName=host.info.name if host else "",
        settings=game.settings,
        reportingId=game.reportingId,
        state=game.state,
        hostNetwork=_hostNetwork(game, tunnelled),
        hostSessionId=host.info.sessionId if host else 0,
        hostQos=host.info.qos if host else NetworkQosData(),
        networkTopology=(
            GameNetworkTopology.CLIENT_SERVER_DEDICATED
            if tunnelled
            else GameNetworkTopology.CLIENT_SERVER_PEER_HOSTED
        ),
        platformHost=hostInfo,
        sharedSeed=game.seed,
        topologyHost=attrs.evolve(hostInfo),
    )


def extendedData(info: PlayerInfo, games: Iterable[int]) -> UserSessionExtendedData:
    return UserSessionExtendedData(
        address=info.address,
        dataMap={N7_RATING_KEY: info.n7Rating},
        hardwareFlags=info.hardwareFlags,
        latencies=list(info.latencies),
        qosData=info.qos,
        games=[tdf.ObjectId(Component.GAME_MANAGER, 1, gameId) for gameId in games],
    )


def identification(info: PlayerInfo) -> UserIdentification:
    return UserIdentification(accountId=info.playerId, blazeId=info.playerId, name=info.name)


def asyncStatus(info: PlayerInfo, rules: MatchRules) -> NotifyMatchmakingAsyncStatus:
    """
    NotifyMatchmakingAsyncStatus for a matchmaking player, echoing its
    rules as EA's server did: C{GRDA} maps each generic rule of the
    request to its name and requested values (a DLC rule the player
    satisfies to L{DLC_RULE_ECHO}), C{UEDS} maps each user-extended-data
    rule to the accepted range and the player's value (its N7 rating, kept
    in that range).  The matchmaking session id is the player id.
    """
    generic = {}
    for name, values in rules.echo:
        echoed = list(values)
        if name.startswith(DLC_RULE_PREFIX) and values and values[0] != ABSTAIN:
            echoed = list(DLC_RULE_ECHO)
        generic[name] = GenericRuleStatus(ruleName=name, matchedValues=echoed)
    myValue = min(max(info.n7Rating, UED_RULE_MIN), UED_RULE_MAX)
    ued = {
        name: UEDRuleStatus(
            maxAccepted=UED_RULE_MAX, minAccepted=UED_RULE_MIN, myValue=myValue, ruleName=name
        )
        for name in rules.uedRules
    }
    return NotifyMatchmakingAsyncStatus(
        statuses=[MatchmakingAsyncStatus(genericRules=generic, uedRules=ued)],
        sessionId=info.playerId,
        userSessionId=info.sessionId,
    )


def _gm(recipients: Iterable[int], command: int, body: Any) -> Notice:
    return Notice(tuple(recipients), Component.GAME_MANAGER, command, body)


def _us(recipients: Iterable[int], command: int, body: Any) -> Notice:
    return Notice(tuple(recipients), Component.USER_SESSIONS, command, body)


class Games:
    """
    Every game and the matchmaking queue.

    @param rng: randomness for seeds (injected for tests).
    @param tunnelPolicy: C{stricter}, C{always} or C{disabled} (see the
        C{tunnel} setting).
    @param statusInterval: seconds between NotifyMatchmakingAsyncStatus to
        a waiting player.
    """

    def __init__(
        self,
        rng: random.Random | None = None,
        tunnelPolicy: str = "stricter",
        statusInterval: float = 10.0,
        maxMatchmakingDuration: float = 1800.0,
    ) -> None:
        self.rng = rng or random.Random()
        self.tunnelPolicy = tunnelPolicy
        self.statusInterval = statusInterval
        self.maxMatchmakingDuration = maxMatchmakingDuration
        self.games: dict[int, Game] = {}
        self.byPlayer: dict[int, int] = {}
        self.queue: list[QueueEntry] = []
        self._nextGameId = 1
        self._nextReportingId = 1
        #: Called with (game, player ids) when a match finishes (the host
        #: set ME3gameState to IN_GAME_FINISHING): the hub stores a report.
        self.onFinished: Callable[[Game], None] | None = None
        #: Called with (game, player id) whenever a player enters a game
        #: (created, joined or matched): the hub snapshots its progress.
        self.onJoined: Callable[[Game, int], None] | None = None
        #: Called with (player id, outcome, seconds waited) when a
        #: matchmaking player stops waiting: C{"matched"} (placed in a
        #: game, also at once without queueing: 0 seconds), C{"timed_out"}
        #: or C{"cancelled"} (cancelled, left, or created or joined a game
        #: itself).  The hub's metrics observe it.
        self.onQueueLeft: Callable[[int, str, float], None] | None = None

    # -- queries

    def gameOf(self, playerId: int) -> Game | None:
        gameId = self.byPlayer.get(playerId)
        return self.games.get(gameId) if gameId is not None else None

    def get(self, gameId: int) -> Game:
        game = self.games.get(gameId)
        if game is None:
            raise GameError(GameManagerError.INVALID_GAME_ID, f"no game {gameId}")
        return game

    def queued(self, playerId: int) -> QueueEntry | None:
        for entry in self.queue:
            if entry.info.playerId == playerId:
                return entry
        return None

    def browserData(self, game: Game, requester: int | None = None) -> GameBrowserGameData:
        """
        What GetGameDataFromId answers: the real host address (never the
        tunnel's) to a member of the game, an unset address to anybody
        else: network addresses go only to the players who connect to
        them.
        """
        host = game.host
        hostNetwork = (
            _hostNetwork(game, False) if requester in game.memberIds else [tdf.Choice()]
        )
        return GameBrowserGameData(
            admins=list(game.admins),
            attributes=dict(game.attributes),
            gameId=game.gameId,
            gameName=host.info.name if host else "",
            settings=game.settings,
            state=game.state,
            hostNetwork=hostNetwork,
            hostId=host.playerId if host else 0,
            playerCounts=[len(game.players), 0],
        )

    # -- helpers

    def _newGameId(self) -> int:
        gameId = self._nextGameId
        self._nextGameId += 1
        return gameId

    def _newReportingId(self) -> int:
        reportingId = self._nextReportingId
        self._nextReportingId += 1
        return reportingId

    def _requireMember(self, game: Game, playerId: int) -> GamePlayer:
        player = game.find(playerId)
        if player is None:
            raise GameError(GameManagerError.PLAYER_NOT_FOUND,
                            f"player {playerId} is not in game {game.gameId}")
        return player

    @staticmethod
    def requireJoinable(game: Game) -> None:
        """
        Refuse a join into C{game} as L{join} would: GAME_FULL when it is
        full or being destroyed, PERMISSION_DENIED when it is private.
        """
        if not game.isJoinable:
            raise GameError(GameManagerError.GAME_FULL, f"game {game.gameId} cannot be joined")
        if isPrivate(game.attributes):
            # No friend lists, no invitations the server could check: a
            # private game admits nobody new (docs/protocol.md, section 5).
            raise GameError(GameManagerError.PERMISSION_DENIED,
                            f"game {game.gameId} is private")

    def _requireAdmin(self, game: Game, playerId: int) -> GamePlayer:
        """
        Changes to a game need one of its admins: the host and the members
        the host made admins (ME3's host makes every joiner one).  A
        non-member gets PLAYER_NOT_FOUND, a member who is no admin
        PERMISSION_DENIED.
        """
        player = self._requireMember(game, playerId)
        if playerId not in game.admins:
            raise GameError(GameManagerError.PERMISSION_DENIED,
                            f"player {playerId} is not an admin of game {game.gameId}")
        return player

    def _requireHost(self, game: Game, playerId: int) -> None:
        host = game.host
        if host is None or host.playerId != playerId:
            raise GameError(GameManagerError.PERMISSION_DENIED,
                            f"player {playerId} is not the host of game {game.gameId}")

    def _checkAttributes(self, attributes: Mapping[str, str]) -> dict[str, str]:
        if len(attributes) > MAX_ATTRIBUTES or any(
            len(k) > MAX_ATTRIBUTE_LENGTH or len(v) > MAX_ATTRIBUTE_LENGTH
            for k, v in attributes.items()
        ):
            raise GameError(GameManagerError.INVALID_GAME_SETTINGS, "attributes too large")
        return dict(attributes)

    def _setupNotice(self, game: Game, recipient: int, reason: tdf.Choice) -> Notice:
        body = NotifyGameSetup(
            game=replicatedGame(game, self.tunnelPolicy),
            players=[replicatedPlayer(game, s, p) for s, p in enumerate(game.players)],
            reason=reason,
        )
        return _gm((recipient,), GameManagerNotification.GAME_SETUP, body)

    def _extendedUpdate(self, info: PlayerInfo, recipients: Iterable[int]) -> Notice:
        game = self.gameOf(info.playerId)
        body = UserSessionExtendedDataUpdate(
            data=extendedData(info, [game.gameId] if game else []),
            userId=info.playerId,
        )
        return _us(recipients, UserSessionsNotification.USER_SESSION_EXTENDED_DATA_UPDATE, body)

    # -- creating and joining

    def create(
        self,
        host: PlayerInfo,
        attributes: Mapping[str, str],
        settings: int,
        now: float,
    ) -> tuple[Game, list[Notice]]:
        """
        Create a game hosted by C{host}.  Notices: GameSetup (create
        context) to the host, its extended data, then whatever the
        matchmaking queue finds for the new game.
        """
        if host.playerId in self.byPlayer:
            raise GameError(GameManagerError.ALREADY_GAME_MEMBER,
                            f"player {host.playerId} is already in a game")
        # Refuse bad attributes before changing anything (the queue entry).
        checked = self._checkAttributes(attributes)
        notices = self._dequeue(host.playerId, now)
        game = Game(
            gameId=self._newGameId(),
            settings=settings,
            attributes=checked,
            seed=self.rng.getrandbits(32),
            reportingId=self._newReportingId(),
            createdAt=now,
        )
        game.players.append(GamePlayer(host, PlayerState.ACTIVE_CONNECTED, now))
        game.admins.append(host.playerId)
        self.games[game.gameId] = game
        self.byPlayer[host.playerId] = game.gameId
        notices.append(self._setupNotice(game, host.playerId, datalessSetup()))
        notices.append(self._extendedUpdate(host, (host.playerId,)))
        if self.onJoined is not None:
            self.onJoined(game, host.playerId)
        notices.extend(self._matchQueue(game, now))
        return game, notices

    def join(
        self,
        gameId: int,
        info: PlayerInfo,
        now: float,
        matchmakingSession: int | None = None,
        rules: MatchRules | None = None,
    ) -> list[Notice]:
        """
        Add C{info} to a game (joinGame, or a match found for a queued
        player when C{matchmakingSession} is given, with the C{rules} it
        asked for).  A private game (see L{isPrivate}) is refused with
        PERMISSION_DENIED.

        Notices, in order: MatchmakingAsyncStatus (matchmaking only);
        UserAdded + UserUpdated between the newcomer and every member;
        PlayerJoining to the members; GameSetup to the newcomer; extended
        data updates (the newcomer is now in the game).
        """
        game = self.get(gameId)
        if info.playerId in self.byPlayer:
            raise GameError(GameManagerError.ALREADY_GAME_MEMBER,
                            f"player {info.playerId} is already in a game")
        self.requireJoinable(game)
        notices = self._dequeue(
            info.playerId, now, "matched" if matchmakingSession is not None else "cancelled"
        )
        if matchmakingSession is not None:
            status = asyncStatus(info, rules or MatchRules())
            status.sessionId = matchmakingSession
            notices.append(_gm(
                (info.playerId,), GameManagerNotification.MATCHMAKING_ASYNC_STATUS, status
            ))
        members = [p.info for p in game.players]
        newcomer = GamePlayer(info, PlayerState.ACTIVE_CONNECTING, now)
        game.players.append(newcomer)
        self.byPlayer[info.playerId] = gameId
        for member in members:
            notices.extend(self._userAdded(info, member, gameId))
            notices.extend(self._userAdded(member, info, gameId))
        slot = len(game.players) - 1
        notices.append(_gm(
            [m.playerId for m in members],
            GameManagerNotification.PLAYER_JOINING,
            NotifyPlayerJoining(gameId=gameId, player=replicatedPlayer(game, slot, newcomer)),
        ))
        reason = (
            matchmakingSetup(matchmakingSession, info.sessionId)
            if matchmakingSession is not None
            else datalessSetup(DatalessContext.JOIN_GAME_SETUP)
        )
        notices.append(self._setupNotice(game, info.playerId, reason))
        notices.append(self._extendedUpdate(info, game.memberIds))
        if self.onJoined is not None:
            self.onJoined(game, info.playerId)
        return notices

    def _userAdded(self, about: PlayerInfo, to: PlayerInfo, gameId: int) -> list[Notice]:
        recipient = (to.playerId,)
        return [
            _us(recipient, UserSessionsNotification.USER_ADDED,
                NotifyUserAdded(data=extendedData(about, [gameId]), user=identification(about))),
            _us(recipient, UserSessionsNotification.USER_UPDATED,
                UserStatus(statusFlags=UserDataFlags.SUBSCRIBED | UserDataFlags.ONLINE,
                           blazeId=about.playerId)),
        ]

    # -- leaving

    def remove(
        self,
        gameId: int,
        playerId: int,
        reason: PlayerRemovedReason,
        now: float,
    ) -> list[Notice]:
        """
        Remove a player.  Notices: PlayerRemoved to the remaining players
        and the removed one; AdminListChange (removed); UserRemoved between
        the leaver and each remaining player; host migration if the host
        left and players remain; then the matchmaking queue gets a chance
        at the free slot.  An empty game is deleted.
        """
        game = self.get(gameId)
        slot = game.slotOf(playerId)
        if slot is None:
            raise GameError(GameManagerError.PLAYER_NOT_FOUND,
                            f"player {playerId} is not in game {gameId}")
        leaver = game.players.pop(slot)
        del self.byPlayer[playerId]
        game.joinSnapshots.pop(playerId, None)
        remaining = game.memberIds
        notices = [
            _gm((*remaining, playerId), GameManagerNotification.PLAYER_REMOVED,
                NotifyPlayerRemoved(gameId=gameId, playerId=playerId, reason=reason)),
        ]
        if playerId in game.admins:
            game.admins.remove(playerId)
            if remaining:
                notices.append(_gm(remaining, GameManagerNotification.ADMIN_LIST_CHANGE,
                                   NotifyAdminListChange(
                                       adminPlayerId=playerId, gameId=gameId,
                                       operation=AdminListOperation.REMOVE,
                                       updaterId=remaining[0])))
        for other in remaining:
            notices.append(_us((other,), UserSessionsNotification.USER_REMOVED,
                               NotifyUserRemoved(blazeUserId=playerId)))
            notices.append(_us((playerId,), UserSessionsNotification.USER_REMOVED,
                               NotifyUserRemoved(blazeUserId=other)))
        notices.append(self._extendedUpdate(leaver.info, (playerId,)))
        if not game.players:
            del self.games[gameId]
            return notices
        if slot == 0:
            notices.extend(self._migrate(game))
        notices.extend(self._matchQueue(game, now))
        return notices

    def _migrate(self, game: Game) -> list[Notice]:
        """
        The host left: the player now in slot 0 hosts.  Notices to every
        member: GameStateChange(MIGRATING), HostMigrationStart,
        GameStateChange(back to the state before), HostMigrationFinished.
        """
        newHost = game.players[0]
        members = game.memberIds
        previous = game.state
        if newHost.playerId not in game.admins:
            game.admins.insert(0, newHost.playerId)
        return [
            _gm(members, GameManagerNotification.GAME_STATE_CHANGE,
                NotifyGameStateChange(gameId=game.gameId, state=GameState.MIGRATING)),
            _gm(members, GameManagerNotification.HOST_MIGRATION_START,
                NotifyHostMigrationStart(
                    gameId=game.gameId, newHostId=newHost.playerId,
                    migrationType=HostMigrationType.TOPOLOGY_PLATFORM_HOST, slot=0)),
            _gm(members, GameManagerNotification.GAME_STATE_CHANGE,
                NotifyGameStateChange(gameId=game.gameId, state=previous)),
            _gm(members, GameManagerNotification.HOST_MIGRATION_FINISHED,
                NotifyHostMigrationFinished(gameId=game.gameId)),
        ]

    def migrateHost(self, gameId: int, requester: int, newHostId: int) -> list[Notice]:
        """
        migrateGame: the host hands the game to another member.
        """
        game = self.get(gameId)
        self._requireHost(game, requester)
        slot = game.slotOf(newHostId)
        if slot is None:
            raise GameError(GameManagerError.PLAYER_NOT_FOUND, f"player {newHostId} not in game")
        if slot == 0:
            return []
        game.players.insert(0, game.players.pop(slot))
        return self._migrate(game)

    def destroy(self, gameId: int, requester: int, now: float) -> list[Notice]:
        """
        destroyGame (host only): everyone is removed with GAME_DESTROYED.
        """
        game = self.get(gameId)
        self._requireHost(game, requester)
        # Not joinable any more: each removal frees a slot, and the
        # matchmaking queue must not refill a game being destroyed.
        game.state = GameState.DESTRUCTING
        notices: list[Notice] = []
        for playerId in reversed(game.memberIds):
            notices.extend(self.remove(gameId, playerId, PlayerRemovedReason.GAME_DESTROYED, now))
        return notices

    def leaveAll(self, playerId: int, reason: PlayerRemovedReason, now: float) -> list[Notice]:
        """
        A player is gone (disconnected, logged out): out of the queue and
        out of its game.
        """
        notices = self._dequeue(playerId, now)
        game = self.gameOf(playerId)
        if game is not None:
            notices.extend(self.remove(game.gameId, playerId, reason, now))
        return notices

    # -- changes by admins (see _requireAdmin)

    def setAttributes(
        self, gameId: int, playerId: int, attributes: Mapping[str, str], now: float
    ) -> list[Notice]:
        """
        setGameAttributes (admins only): merge attributes; notify the
        members of the changed keys only; a finishing match is reported;
        the queue is re-checked.
        """
        game = self.get(gameId)
        self._requireAdmin(game, playerId)
        changed = {
            key: value
            for key, value in self._checkAttributes(attributes).items()
            if game.attributes.get(key) != value
        }
        # Only new keys make the map grow; changing a value must stay
        # possible in a game that already holds MAX_ATTRIBUTES keys.
        if len(game.attributes.keys() | changed.keys()) > MAX_ATTRIBUTES:
            raise GameError(GameManagerError.INVALID_GAME_SETTINGS, "too many attributes")
        game.attributes.update(changed)
        notices: list[Notice] = []
        if changed:
            notices.append(_gm(game.memberIds, GameManagerNotification.GAME_ATTRIB_CHANGE,
                               NotifyGameAttribChange(attributes=changed, gameId=gameId)))
        if (
            changed.get(GAME_STATE_ATTRIBUTE) == FINISHING
            and game.host is not None
            and game.host.playerId == playerId
            and self.onFinished is not None
        ):
            self.onFinished(game)
        if changed:
            notices.extend(self._matchQueue(game, now))
        return notices

    def setState(
        self, gameId: int, playerId: int, state: int, now: float | None = None
    ) -> list[Notice]:
        """
        advanceGameState (admins only).  With C{now}, the queue is re-checked (a game
        leaving L{GameState.DESTRUCTING} is joinable again).
        """
        game = self.get(gameId)
        self._requireAdmin(game, playerId)
        try:
            game.state = GameState(state)
        except ValueError:
            raise GameError(GameManagerError.INVALID_GAME_STATE_TRANSITION,
                            f"unknown game state {state}")
        notices = [_gm(game.memberIds, GameManagerNotification.GAME_STATE_CHANGE,
                       NotifyGameStateChange(gameId=gameId, state=game.state))]
        if now is not None:
            notices.extend(self._matchQueue(game, now))
        return notices

    def setSettings(
        self, gameId: int, playerId: int, settings: int, now: float | None = None
    ) -> list[Notice]:
        """
        setGameSettings (admins only).  With C{now}, the queue is re-checked (the game
        may have opened to matchmaking).
        """
        game = self.get(gameId)
        self._requireAdmin(game, playerId)
        game.settings = settings & 0xFFFFFFFF
        notices = [_gm(game.memberIds, GameManagerNotification.GAME_SETTINGS_CHANGE,
                       NotifyGameSettingsChange(settings=game.settings, gameId=gameId))]
        if now is not None:
            notices.extend(self._matchQueue(game, now))
        return notices

    def replay(self, gameId: int, playerId: int, now: float) -> list[Notice]:
        """
        replayGame (admins only): back to the lobby with a new reporting
        id.
        """
        game = self.get(gameId)
        self._requireAdmin(game, playerId)
        game.state = GameState.PRE_GAME
        game.createdAt = now
        game.reportingId = self._newReportingId()
        members = game.memberIds
        return [
            _gm(members, GameManagerNotification.GAME_STATE_CHANGE,
                NotifyGameStateChange(gameId=gameId, state=game.state)),
            _gm(members, GameManagerNotification.GAME_REPORTING_ID_CHANGE,
                NotifyGameReportingIdChange(gameId=gameId, reportingId=game.reportingId)),
        ]

    def finalizeCreation(self, gameId: int, playerId: int) -> list[Notice]:
        """
        finalizeGameCreation: a game still initializing moves to pre-game.
        """
        game = self.get(gameId)
        self._requireHost(game, playerId)
        if game.state != GameState.INITIALIZING:
            return []
        return self.setState(gameId, playerId, GameState.PRE_GAME)

    def updateMesh(self, gameId: int, playerId: int, targets: Iterable[tuple[int, int]]) -> list[Notice]:
        """
        The host reports its connection to other players: a target now
        connected (status 2) becomes ACTIVE_CONNECTED and everyone hears
        GamePlayerStateChange then PlayerJoinCompleted.
        """
        game = self.get(gameId)
        self._requireMember(game, playerId)
        host = game.host
        if host is None or host.playerId != playerId:
            return []
        notices: list[Notice] = []
        for targetId, status in targets:
            target = game.find(targetId)
            if target is None or status != 2 or target.state == PlayerState.ACTIVE_CONNECTED:
                continue
            target.state = PlayerState.ACTIVE_CONNECTED
            members = game.memberIds
            notices.append(_gm(members, GameManagerNotification.GAME_PLAYER_STATE_CHANGE,
                               NotifyGamePlayerStateChange(
                                   gameId=gameId, playerId=targetId,
                                   state=PlayerState.ACTIVE_CONNECTED)))
            notices.append(_gm(members, GameManagerNotification.PLAYER_JOIN_COMPLETED,
                               NotifyPlayerJoinCompleted(gameId=gameId, playerId=targetId)))
        return notices

    def addAdmin(self, gameId: int, requester: int, playerId: int) -> list[Notice]:
        game = self.get(gameId)
        self._requireHost(game, requester)
        self._requireMember(game, playerId)
        if playerId in game.admins:
            return []
        game.admins.append(playerId)
        return [_gm(game.memberIds, GameManagerNotification.ADMIN_LIST_CHANGE,
                    NotifyAdminListChange(adminPlayerId=playerId, gameId=gameId,
                                          operation=AdminListOperation.ADD,
                                          updaterId=requester))]

    def updatePlayer(self, info: PlayerInfo) -> list[Notice]:
        """
        A player's network details changed: refresh its snapshot and tell
        it and its game's members.
        """
        game = self.gameOf(info.playerId)
        recipients: tuple[int, ...] = (info.playerId,)
        if game is not None:
            player = game.find(info.playerId)
            if player is not None:
                player.info = info
            recipients = game.memberIds
        entry = self.queued(info.playerId)
        if entry is not None:
            entry.info = info
        return [self._extendedUpdate(info, recipients)]

    # -- matchmaking

    def startMatchmaking(
        self, info: PlayerInfo, rules: MatchRules, durationMs: int, now: float
    ) -> tuple[int, list[Notice]]:
        """
        Look for a game; join the first one that matches (oldest first) or
        wait in the queue.  The matchmaking session id is the player id.
        """
        if info.playerId in self.byPlayer:
            raise GameError(GameManagerError.ALREADY_GAME_MEMBER, "already in a game")
        if self.queued(info.playerId) is not None:
            raise GameError(GameManagerError.ALREADY_IN_QUEUE, "already matchmaking")
        msid = info.playerId
        # Games are kept in creation order (dict order), oldest first.
        for game in self.games.values():
            if self._matchable(game) and rules.matches(game.attributes):
                notices = self.join(
                    game.gameId, info, now, matchmakingSession=msid, rules=rules
                )
                if self.onQueueLeft is not None:
                    self.onQueueLeft(info.playerId, "matched", 0.0)
                return msid, notices
        duration = min(max(durationMs, 0) / 1000, self.maxMatchmakingDuration)
        self.queue.append(QueueEntry(info, rules, now, now + duration, now))
        notice = _gm((info.playerId,), GameManagerNotification.MATCHMAKING_ASYNC_STATUS,
                     asyncStatus(info, rules))
        return msid, [notice]

    def cancelMatchmaking(self, playerId: int, now: float) -> list[Notice]:
        """
        Leave the queue, or (if a match was already found) the game.
        """
        if self.queued(playerId) is not None:
            self._dequeue(playerId, now)
            return []
        game = self.gameOf(playerId)
        if game is not None:
            return self.remove(game.gameId, playerId, PlayerRemovedReason.PLAYER_LEFT, now)
        return []

    @staticmethod
    def _matchable(game: Game) -> bool:
        return game.isJoinable and bool(game.settings & GameSettings.OPEN_TO_MATCHMAKING)

    def _dequeue(
        self, playerId: int, now: float, outcome: str = "cancelled"
    ) -> list[Notice]:
        entry = self.queued(playerId)
        if entry is None:
            return []
        self.queue = [e for e in self.queue if e is not entry]
        if self.onQueueLeft is not None:
            self.onQueueLeft(playerId, outcome, max(0.0, now - entry.startedAt))
        return []

    def _matchQueue(self, game: Game, now: float) -> list[Notice]:
        """
        Offer a game to the queue, oldest waiter first, until it is full.
        Every entry is looked at once (no spinning on a non-matching head).
        """
        notices: list[Notice] = []
        for entry in list(self.queue):
            if not self._matchable(game):
                break
            if entry.deadline <= now or not entry.rules.matches(game.attributes):
                continue
            notices.extend(self.join(
                game.gameId, entry.info, now,
                matchmakingSession=entry.info.playerId, rules=entry.rules,
            ))
        return notices

    def tick(self, now: float) -> list[Notice]:
        """
        Periodic work: queued players past their deadline get
        MatchmakingFailed (timed out) and leave the queue; the others get a
        MatchmakingAsyncStatus every L{statusInterval} seconds.
        """
        notices: list[Notice] = []
        keep: list[QueueEntry] = []
        for entry in self.queue:
            info = entry.info
            if entry.deadline <= now:
                if self.onQueueLeft is not None:
                    self.onQueueLeft(info.playerId, "timed_out", max(0.0, now - entry.startedAt))
                notices.append(_gm((info.playerId,), GameManagerNotification.MATCHMAKING_FAILED,
                                   NotifyMatchmakingFailed(
                                       sessionId=info.playerId,
                                       result=MatchmakingResult.SESSION_TIMED_OUT,
                                       userSessionId=info.sessionId)))
                continue
            if now - entry.lastStatus >= self.statusInterval:
                entry.lastStatus = now
                notices.append(_gm((info.playerId,), GameManagerNotification.MATCHMAKING_ASYNC_STATUS,
                                   asyncStatus(info, entry.rules)))
            keep.append(entry)
        self.queue = keep
        return notices

    # -- checking

    def checkInvariants(self) -> None:
        """
        Raise L{AssertionError} if an invariant of the module docstring is
        broken.
        """
        seen: set[int] = set()
        for gameId, game in self.games.items():
            assert game.gameId == gameId
            assert game.players, f"game {gameId} is empty but kept"
            assert len(game.players) <= MAX_PLAYERS
            for player in game.players:
                assert player.playerId not in seen, f"player {player.playerId} in two games"
                seen.add(player.playerId)
                assert self.byPlayer.get(player.playerId) == gameId
            admins = game.admins
            assert len(admins) == len(set(admins)), f"game {gameId} lists an admin twice"
            assert set(admins) <= set(game.memberIds), f"game {gameId} has an admin who left"
            assert game.players[0].playerId in admins, f"the host of game {gameId} is no admin"
        assert set(self.byPlayer) == seen
        queued = [e.info.playerId for e in self.queue]
        assert len(queued) == len(set(queued)), "a player is queued twice"
        assert not set(queued) & seen, "a queued player is in a game"
