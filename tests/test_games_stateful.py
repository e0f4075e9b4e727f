# -*- test-case-name: tests.test_games_stateful -*-
"""
A Hypothesis state machine driving L{pocketrelay.server.games.Games}
with random creates, joins, matchmaking, attribute changes, removals,
disconnects, mesh reports, ticks and destroys by a pool of eight players.

After every step: L{Games.checkInvariants}; a refused operation
(L{GameError}) changed nothing; every notice encodes, and is addressed
only to players entitled to it (see L{GamesMachine.checkNotices}).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.blaze.ids import (
    Component,
    GameManagerNotification,
    UserSessionsNotification,
)
from pocketrelay.me3.messages.gamemanager import (
    ME3_CREATE_GAME_SETTINGS,
    GameSettings,
    GameSetupReasonIndex,
    GameState,
    PlayerRemovedReason,
)
from pocketrelay.server.games import (
    FINISHING,
    GAME_STATE_ATTRIBUTE,
    Game,
    GameError,
    Games,
    MatchRules,
    Notice,
    PlayerInfo,
    isPrivate,
)
from pocketrelay.testing.games import LOBBY, checked, player

GM = Component.GAME_MANAGER
US = Component.USER_SESSIONS
N = GameManagerNotification
U = UserSessionsNotification

#: The pool: player ids 1..8 with a mix of NAT types.
POOL = [player(i, natType=i % 5) for i in range(1, 9)]

#: An id that is never a game.
NO_GAME = 999_999

poolPlayers = st.sampled_from(POOL)

#: Which player starts something: mostly one that is idle (in no game and
#: not matchmaking), sometimes any pool player (see L{GamesMachine.idle}).
newcomers = st.integers(min_value=0, max_value=11)
indexes = st.integers(min_value=0, max_value=7)
reasons = st.sampled_from(list(PlayerRemovedReason))

#: Which player acts on a game: 0-3 pick a member by slot (0, the host,
#: most often), 4-11 any pool player (a member or a stranger).
actors = st.one_of(st.just(0), st.integers(min_value=0, max_value=11))

#: Which ME3 owns both DLC of the lobbies below.
_ALL_DLC = [("ME3_rule_dlc2300", ["required"]), ("ME3_rule_dlc2500", ["required"])]

#: Matchmaking rules: a few realistic sets (most of which match some
#: lobby), or random rules from a small set including "abstain".
ruleSets = st.one_of(
    st.sampled_from([
        _ALL_DLC,
        [("ME3_gameMapMatchRule", ["abstain"]), *_ALL_DLC],
        [("ME3_gameMapMatchRule", ["map2"]), *_ALL_DLC],
        [("ME3_gameMapMatchRule", ["map3"]), ("ME3_rule_dlc2300", ["required"])],
        [("ME3_gameDifficultyRule", ["difficulty0"]), ("ME3_gameStateMatchRule", ["IN_LOBBY"]),
         *_ALL_DLC],
    ]),
    st.lists(
        st.tuples(
            st.sampled_from([
                "ME3_gameMapMatchRule",
                "ME3_gameDifficultyRule",
                "ME3_gameStateMatchRule",
                "ME3_rule_dlc2300",
                "ME3_rule_dlc2500",
            ]),
            st.lists(st.sampled_from(["map2", "map3", "difficulty0", "required", "abstain"]),
                     max_size=2),
        ),
        max_size=4,
    ),
).map(MatchRules.fromRules)

attributeChanges = st.dictionaries(
    st.sampled_from(["ME3map", "ME3privacy", GAME_STATE_ATTRIBUTE, "ME3_dlc2500"]),
    st.sampled_from(["map2", "map3", "PUBLIC", "PRIVATE", "FRIENDS", "IN_LOBBY",
                     FINISHING, "required"]),
    max_size=3,
)

createAttributes = st.builds(
    lambda map_, privacy, dlc: {
        **LOBBY, "ME3map": map_, "ME3privacy": privacy,
        **({"ME3_dlc2500": "required"} if dlc else {}),
    },
    st.sampled_from(["map2", "map3"]),
    st.sampled_from(["PUBLIC", "PUBLIC", "PUBLIC", "PRIVATE", "FRIENDS"]),
    st.booleans(),
)

_OPEN = ME3_CREATE_GAME_SETTINGS
_CLOSED = ME3_CREATE_GAME_SETTINGS & ~GameSettings.OPEN_TO_MATCHMAKING
createSettings = st.sampled_from([_OPEN, _OPEN, _CLOSED])


def fingerprint(games: Games) -> Any:
    """
    Everything observable about the model's state, for "a refused
    operation changed nothing".
    """
    return (
        [
            (gid, g.state, g.settings, sorted(g.attributes.items()), list(g.admins),
             [(p.playerId, p.state) for p in g.players], g.reportingId)
            for gid, g in games.games.items()
        ],
        dict(games.byPlayer),
        [(e.info.playerId, e.deadline, e.lastStatus) for e in games.queue],
        games._nextGameId,
    )


def membership(games: Games) -> dict[int, frozenset[int]]:
    return {gid: frozenset(g.memberIds) for gid, g in games.games.items()}


def gameOfPlayer(members: dict[int, frozenset[int]], playerId: int) -> int | None:
    for gid, ids in members.items():
        if playerId in ids:
            return gid
    return None


def _hasGames(machine: GamesMachine) -> bool:
    return bool(machine.games.games)


def _hasPlayers(machine: GamesMachine) -> bool:
    return bool(machine.games.queue or machine.games.byPlayer)


class GamesMachine(RuleBasedStateMachine):
    """
    Random operations on one L{Games}.
    """

    def __init__(self) -> None:
        super().__init__()
        self.games = Games(rng=random.Random(0), statusInterval=10.0,
                           maxMatchmakingDuration=300.0)
        self.now = 0.0
        self.finished: list[Game] = []
        self.games.onFinished = self.finished.append
        self.leftQueue: list[tuple[int, str, float]] = []
        self.games.onQueueLeft = lambda *call: self.leftQueue.append(call)

    # -- running a step

    def pickGame(self, index: int) -> int:
        ids = list(self.games.games)
        return ids[index % len(ids)] if ids else NO_GAME

    def step(self, action: Callable[[], Any]) -> list[Notice]:
        """
        Run one operation and check what it did.
        """
        before = fingerprint(self.games)
        membersBefore = membership(self.games)
        queuedBefore = {e.info.playerId for e in self.games.queue}
        del self.leftQueue[:]
        try:
            result = action()
        except GameError:
            assert fingerprint(self.games) == before, "a refused operation changed the state"
            assert self.leftQueue == [], "a refused operation reported a queue exit"
            return []
        notices = result[1] if isinstance(result, tuple) else result
        self.checkNotices(checked(notices), membersBefore, queuedBefore)
        self.checkQueueExits(notices, queuedBefore)
        return notices

    def adminStep(self, gid: int, actor: int, action: Callable[[], Any]) -> list[Notice]:
        """
        Run a change that needs an admin: from anybody else it is refused
        and changes nothing.
        """
        game = self.games.games.get(gid)
        wasAdmin = game is not None and actor in game.admins
        before = fingerprint(self.games)
        notices = self.step(action)
        if not wasAdmin:
            assert notices == [], "a change by a non-admin was accepted"
            assert fingerprint(self.games) == before, "a non-admin changed a game"
        return notices

    def checkQueueExits(self, notices: Sequence[Notice], queuedBefore: set[int]) -> None:
        """
        C{onQueueLeft} was called once for every player who left the queue
        (and for an immediate match), with the outcome the notices show:
        "matched" with a matchmaking GameSetup, "timed_out" with
        MatchmakingFailed, "cancelled" with neither.
        """
        queuedAfter = {e.info.playerId for e in self.games.queue}
        reported = [playerId for playerId, _, _ in self.leftQueue]
        assert len(reported) == len(set(reported)), f"queue exit reported twice: {reported}"
        assert queuedBefore - queuedAfter <= set(reported), "a queue exit was not reported"
        matched = {
            n.recipients[0] for n in notices
            if n.command == N.GAME_SETUP and n.component == GM
            and n.body.reason.index == GameSetupReasonIndex.MATCHMAKING
        }
        failed = {
            n.recipients[0] for n in notices
            if n.command == N.MATCHMAKING_FAILED and n.component == GM
        }
        for playerId, outcome, waited in self.leftQueue:
            assert waited >= 0
            assert playerId not in queuedAfter
            if playerId not in queuedBefore:
                assert (outcome, waited) == ("matched", 0.0), "immediate match misreported"
            expected = ("matched" if playerId in matched
                        else "timed_out" if playerId in failed else "cancelled")
            assert outcome == expected, f"player {playerId}: {outcome}, expected {expected}"

    def checkNotices(
        self,
        notices: Sequence[Notice],
        before: dict[int, frozenset[int]],
        queuedBefore: set[int],
    ) -> None:
        """
        Every notice goes only to players entitled to it:
          - game notices to members of that game before or after the step,
            a GameSetup only to a member after, a matchmaking GameSetup
            after an async status to the same player;
          - matchmaking status to the seeker (queued or placed after),
            MatchmakingFailed to a seeker that was queued and no longer is;
          - UserAdded/UserUpdated between players newly sharing a game,
            UserRemoved between players who no longer do;
          - extended data to the player and its game's members, naming the
            game it is in after the step.
        """
        after = membership(self.games)
        queuedAfter = {e.info.playerId for e in self.games.queue}
        statusSent: set[int] = set()

        def share(members: dict[int, frozenset[int]], a: int, b: int) -> bool:
            gid = gameOfPlayer(members, a)
            return gid is not None and b in members[gid]

        for notice in notices:
            recipients = notice.recipients
            assert recipients, f"{notice} has no recipients"
            assert len(set(recipients)) == len(recipients), f"duplicate recipients in {notice}"
            body = notice.body
            if notice.component == GM:
                if notice.command == N.MATCHMAKING_ASYNC_STATUS:
                    assert recipients == (body.sessionId,)
                    seeker = body.sessionId
                    assert seeker in queuedAfter or gameOfPlayer(after, seeker) is not None
                    statusSent.add(seeker)
                elif notice.command == N.MATCHMAKING_FAILED:
                    assert recipients == (body.sessionId,)
                    assert body.sessionId in queuedBefore
                    assert body.sessionId not in queuedAfter
                elif notice.command == N.GAME_SETUP:
                    gid = body.game.gameId
                    (recipient,) = recipients
                    assert recipient in after.get(gid, ()), "GameSetup to a non-member"
                    assert [p.playerId for p in body.players] == list(
                        self.games.games[gid].memberIds[: len(body.players)])
                    if body.reason.index == GameSetupReasonIndex.MATCHMAKING:
                        assert recipient in statusSent, "no async status before the setup"
                else:
                    gid = body.gameId
                    allowed = before.get(gid, frozenset()) | after.get(gid, frozenset())
                    assert set(recipients) <= allowed, f"{notice} to non-members"
            else:
                assert notice.component == US
                if notice.command in (U.USER_ADDED, U.USER_UPDATED):
                    about = (body.user.blazeId if notice.command == U.USER_ADDED
                             else body.blazeId)
                    for recipient in recipients:
                        assert recipient != about
                        assert share(after, about, recipient), f"{notice}: not together"
                        assert not share(before, about, recipient), f"{notice}: already met"
                elif notice.command == U.USER_REMOVED:
                    about = body.blazeUserId
                    for recipient in recipients:
                        assert share(before, about, recipient), f"{notice}: never met"
                        assert not share(after, about, recipient), f"{notice}: still together"
                else:
                    assert notice.command == U.USER_SESSION_EXTENDED_DATA_UPDATE
                    about = body.userId
                    entitled = {about}
                    for members in (before, after):
                        gid = gameOfPlayer(members, about)
                        if gid is not None:
                            entitled |= members[gid]
                    assert set(recipients) <= entitled, f"{notice} to strangers"
                    now = gameOfPlayer(after, about)
                    assert [o.id for o in body.data.games] == ([] if now is None else [now])

    # -- rules

    def idle(self, which: int) -> PlayerInfo:
        """
        The player L{newcomers} picked: the C{which}-th idle player, or a
        pool player if there are not that many.
        """
        busy = set(self.games.byPlayer) | {e.info.playerId for e in self.games.queue}
        free = [p for p in POOL if p.playerId not in busy]
        return free[which] if which < len(free) else POOL[which % len(POOL)]

    @rule(which=newcomers, attributes=createAttributes, settings=createSettings)
    def create(self, which: int, attributes: dict[str, str], settings: int) -> None:
        host = self.idle(which)
        self.step(lambda: self.games.create(host, attributes, settings, self.now))

    @initialize(host=poolPlayers, attributes=createAttributes)
    def firstGame(self, host: PlayerInfo, attributes: dict[str, str]) -> None:
        self.step(lambda: self.games.create(host, attributes, _OPEN, self.now))

    def actor(self, gid: int, which: int) -> int:
        """
        The player id L{actors} picked for game C{gid}.
        """
        game = self.games.games.get(gid)
        if which < 4 and game is not None:
            return game.memberIds[which % len(game.memberIds)]
        return POOL[which % len(POOL)].playerId

    @precondition(_hasGames)
    @rule(which=newcomers, index=indexes)
    def join(self, which: int, index: int) -> None:
        self.joinOne(self.pickGame(index), self.idle(which))

    @precondition(_hasGames)
    @rule(index=indexes, count=st.integers(min_value=1, max_value=3))
    def fill(self, index: int, count: int) -> None:
        """
        Several idle players join one game (full games are otherwise rare).
        """
        gid = self.pickGame(index)
        for _ in range(count):
            self.joinOne(gid, self.idle(0))

    def joinOne(self, gid: int, who: PlayerInfo) -> None:
        """
        C{who} joins game C{gid}; a private game admits nobody new (C{who}
        may be one of its members already: L{idle} falls back to any pool
        player).
        """
        game = self.games.games.get(gid)
        outsider = self.games.byPlayer.get(who.playerId) != gid
        private = game is not None and isPrivate(game.attributes)
        self.step(lambda: self.games.join(gid, who, self.now))
        if private and outsider:
            assert self.games.byPlayer.get(who.playerId) != gid, (
                "a private game admitted a player")

    @rule(which=newcomers, rules=ruleSets,
          durationMs=st.sampled_from([0, 5_000, 60_000, 1_800_000, 1_800_000]))
    def startMatchmaking(self, which: int, rules: MatchRules, durationMs: int) -> None:
        who = self.idle(which)
        self.step(lambda: self.games.startMatchmaking(who, rules, durationMs, self.now))

    @precondition(_hasGames)
    @rule(which=newcomers, index=indexes)
    def seek(self, which: int, index: int) -> None:
        """
        startMatchmaking with rules made to suit one game (which may be
        full, closed or private: then the seeker waits).
        """
        who = self.idle(which)
        attributes = self.games.games[self.pickGame(index)].attributes
        rules = MatchRules(
            {"ME3map": attributes.get("ME3map", "map2")},
            frozenset(k for k in attributes if k.startswith("ME3_dlc")),
        )
        self.step(lambda: self.games.startMatchmaking(who, rules, 1_800_000, self.now))

    @precondition(_hasPlayers)
    @rule(who=poolPlayers)
    def cancelMatchmaking(self, who: PlayerInfo) -> None:
        self.step(lambda: self.games.cancelMatchmaking(who.playerId, self.now))
        assert self.games.queued(who.playerId) is None

    @precondition(_hasGames)
    @rule(index=indexes, which=actors, changes=attributeChanges)
    def setAttributes(self, index: int, which: int, changes: dict[str, str]) -> None:
        gid = self.pickGame(index)
        actor = self.actor(gid, which)
        game = self.games.games.get(gid)
        wasHost = game is not None and game.memberIds[0] == actor
        newlyFinishing = (
            game is not None
            and changes.get(GAME_STATE_ATTRIBUTE) == FINISHING
            and game.attributes.get(GAME_STATE_ATTRIBUTE) != FINISHING
        )
        reports = len(self.finished)
        self.adminStep(gid, actor, lambda: self.games.setAttributes(gid, actor, changes, self.now))
        expected = reports + (1 if wasHost and newlyFinishing else 0)
        assert len(self.finished) == expected, "match reported wrongly"

    @precondition(_hasGames)
    @rule(index=indexes, which=actors, reason=reasons)
    def remove(self, index: int, which: int, reason: PlayerRemovedReason) -> None:
        gid = self.pickGame(index)
        playerId = self.actor(gid, which)
        self.step(lambda: self.games.remove(gid, playerId, reason, self.now))
        assert self.games.gameOf(playerId) is None or self.games.byPlayer[playerId] != gid

    @rule(who=poolPlayers, reason=reasons)
    def leaveAll(self, who: PlayerInfo, reason: PlayerRemovedReason) -> None:
        self.step(lambda: self.games.leaveAll(who.playerId, reason, self.now))
        assert self.games.gameOf(who.playerId) is None
        assert self.games.queued(who.playerId) is None

    @precondition(_hasGames)
    @rule(index=indexes, which=actors, other=st.integers(min_value=1, max_value=7),
          status=st.sampled_from([0, 1, 2, 2]))
    def updateMesh(self, index: int, which: int, other: int, status: int) -> None:
        gid = self.pickGame(index)
        game = self.games.games.get(gid)
        target = game.memberIds[other % len(game.memberIds)] if game else other + 1
        reporter = self.actor(gid, which)
        self.step(lambda: self.games.updateMesh(gid, reporter, [(target, status)]))

    @rule(seconds=st.sampled_from([1.0, 5.0, 10.0, 10.0, 60.0, 400.0]))
    def tick(self, seconds: float) -> None:
        self.now += seconds
        self.step(lambda: self.games.tick(self.now))
        assert all(e.deadline > self.now for e in self.games.queue)

    @precondition(_hasGames)
    @rule(index=indexes, which=actors)
    def destroy(self, index: int, which: int) -> None:
        gid = self.pickGame(index)
        requester = self.actor(gid, which)
        if self.step(lambda: self.games.destroy(gid, requester, self.now)):
            assert gid not in self.games.games, "a destroyed game survived"

    @precondition(_hasGames)
    @rule(index=indexes, which=actors, other=indexes)
    def migrateHost(self, index: int, which: int, other: int) -> None:
        gid = self.pickGame(index)
        requester = self.actor(gid, which)
        target = self.actor(gid, other)
        self.step(lambda: self.games.migrateHost(gid, requester, target))

    @precondition(_hasGames)
    @rule(index=indexes, which=actors, other=indexes)
    def addAdmin(self, index: int, which: int, other: int) -> None:
        gid = self.pickGame(index)
        requester = self.actor(gid, which)
        target = self.actor(gid, other)
        self.step(lambda: self.games.addAdmin(gid, requester, target))

    @precondition(_hasGames)
    @rule(index=indexes, which=actors,
          state=st.sampled_from([GameState.PRE_GAME, GameState.IN_GAME,
                                 GameState.DESTRUCTING, 0x84]))
    def setState(self, index: int, which: int, state: int) -> None:
        gid = self.pickGame(index)
        requester = self.actor(gid, which)
        self.adminStep(
            gid, requester, lambda: self.games.setState(gid, requester, state, self.now)
        )

    @precondition(_hasGames)
    @rule(index=indexes, which=actors)
    def toggleMatchmaking(self, index: int, which: int) -> None:
        """
        setGameSettings flipping OPEN_TO_MATCHMAKING.
        """
        gid = self.pickGame(index)
        requester = self.actor(gid, which)
        settings = self.games.games[gid].settings ^ GameSettings.OPEN_TO_MATCHMAKING
        self.adminStep(
            gid, requester, lambda: self.games.setSettings(gid, requester, settings, self.now)
        )

    # -- invariants

    @invariant()
    def consistent(self) -> None:
        self.games.checkInvariants()

    @invariant()
    def queueSettled(self) -> None:
        """
        No waiting seeker (before its deadline) matches a game open to
        matchmaking with a free slot: every change that can make a game
        matchable re-checks the queue.
        """
        for entry in self.games.queue:
            if entry.deadline <= self.now:
                continue
            for game in self.games.games.values():
                open_ = game.isJoinable and game.settings & GameSettings.OPEN_TO_MATCHMAKING
                assert not (open_ and entry.rules.matches(game.attributes)), (
                    f"player {entry.info.playerId} waits while game {game.gameId} suits it")


class GamesStateMachineTests(SynchronousTestCase):
    """
    L{GamesMachine}.
    """

    def test_randomOperations(self) -> None:
        """
        Random sequences of operations keep the model consistent, leave it
        unchanged when refused, and address every notice correctly.
        """
        run_state_machine_as_test(
            GamesMachine,
            settings=settings(
                max_examples=200,
                stateful_step_count=40,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
