# -*- test-case-name: tests.test_integration_games -*-
"""
Integration tests for games: four simulated players on a real server over
loopback create, matchmake, connect, change attributes, leave, survive the
host leaving, and produce a game report.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from pocketrelay.blaze import tdf
from pocketrelay.blaze.ids import Component, GameManagerError
from pocketrelay.blaze.ids import GameManagerNotification as N
from pocketrelay.blaze.protocol import BlazeError
from pocketrelay.me3.messages import gamemanager
from pocketrelay.testing.gameclient import GameClient
from pocketrelay.testing.loopback import ServerFixture, sleep

GM = Component.GAME_MANAGER


class FourPlayerTests(TestCase):
    """
    A whole co-op lobby on a real server.
    """

    timeout = 60

    def setUp(self) -> None:
        self.server = ServerFixture(self)
        self.clients: list[GameClient] = []

    def tearDown(self) -> defer.Deferred[None]:  # type: ignore[override]
        for client in self.clients:
            client.disconnect()
        return sleep(0.1)

    @defer.inlineCallbacks
    def player(self, name: str) -> Any:
        client = yield self.server.connect()
        self.clients.append(client)
        yield client.preAuth()
        yield client.createAccount(f"{name}@example.org", "password-" + name)
        yield client.updateNetworkInfo()
        return client

    def notifications(self, client: GameClient, command: int) -> list[Any]:
        return [f for f in client.notifications if (f.component, f.command) == (GM, command)]

    @defer.inlineCallbacks
    def waitFor(self, client: GameClient, command: int, count: int = 1) -> Any:
        for _ in range(200):
            found = self.notifications(client, command)
            if len(found) >= count:
                return found
            yield sleep(0.01)
        self.fail(f"notification 0x{command:x} x{count} not received")

    @defer.inlineCallbacks
    def test_lobbyLifecycle(self) -> Any:
        """
        Host creates; three players matchmake into the lobby (async status
        before game setup); the host reports mesh connections; attributes
        are shared; the host leaves and the next player hosts; the finish is
        reported; the last players leave and the game disappears.
        """
        host = yield self.player("host")
        created = yield host.createGame()
        gameId = created.gameId
        setup = yield self.waitFor(host, N.GAME_SETUP)
        body = tdf.decode(gamemanager.NotifyGameSetup, setup[0].body)
        self.assertEqual(body.game.gameId, gameId)
        self.assertEqual(body.reason.index, 0)

        joiners = []
        for name in ("liara", "garrus", "tali"):
            joiner = yield self.player(name)
            reply = yield joiner.startMatchmaking()
            self.assertEqual(reply.sessionId, joiner.userId)
            yield self.waitFor(joiner, N.GAME_SETUP)
            ordered = [f.command for f in joiner.notifications if f.component == GM]
            self.assertLess(
                ordered.index(N.MATCHMAKING_ASYNC_STATUS), ordered.index(N.GAME_SETUP)
            )
            joiners.append(joiner)
        self.assertEqual(len(self.server.hub.games.games[gameId].players), 4)

        fifth = yield self.player("wrex")
        yield fifth.startMatchmaking()
        self.assertEqual(len(self.server.hub.games.queue), 1)

        for joiner in joiners:
            yield host.updateMesh(gameId, joiner.userId)
        completed = yield self.waitFor(joiners[2], N.PLAYER_JOIN_COMPLETED, 3)
        self.assertEqual(len(completed), 3)

        yield host.setGameAttributes(gameId, {"ME3map": "map3"})
        change = yield self.waitFor(joiners[0], N.GAME_ATTRIB_CHANGE)
        self.assertEqual(
            tdf.decode(gamemanager.NotifyGameAttribChange, change[-1].body).attributes,
            {"ME3map": "map3"},
        )

        yield host.removePlayer(gameId, host.userId)
        yield self.waitFor(joiners[0], N.HOST_MIGRATION_FINISHED)
        start = self.notifications(joiners[0], N.HOST_MIGRATION_START)
        migration = tdf.decode(gamemanager.NotifyHostMigrationStart, start[0].body)
        self.assertEqual(migration.newHostId, joiners[0].userId)
        game = self.server.hub.games.games[gameId]
        self.assertEqual(game.host.playerId, joiners[0].userId)

        # The free slot went to the waiting player.
        yield self.waitFor(fifth, N.GAME_SETUP)
        self.assertEqual(len(game.players), 4)

        yield joiners[0].setGameAttributes(gameId, {"ME3gameState": "IN_GAME_FINISHING"})
        for _ in range(100):
            reports, total = yield self.server.hub.store.listGameReports(0, 10)
            if total:
                break
            yield sleep(0.02)
        self.assertEqual(total, 1)
        self.assertEqual(len(reports[0].data["players"]), 4)

        for client in [*joiners, fifth]:
            client.disconnect()
        for _ in range(100):
            if gameId not in self.server.hub.games.games:
                break
            yield sleep(0.02)
        self.assertNotIn(gameId, self.server.hub.games.games)

    @defer.inlineCallbacks
    def test_matchmakingTimesOut(self) -> Any:
        """
        A matchmaking request that finds nothing within its duration gets
        MatchmakingFailed and leaves the queue.
        """
        seeker = yield self.player("seeker")
        yield seeker.startMatchmaking(durationMs=500)
        failed = yield self.waitFor(seeker, N.MATCHMAKING_FAILED)
        body = tdf.decode(gamemanager.NotifyMatchmakingFailed, failed[0].body)
        self.assertEqual(body.result, gamemanager.MatchmakingResult.SESSION_TIMED_OUT)
        self.assertEqual(self.server.hub.games.queue, [])

    @defer.inlineCallbacks
    def test_disconnectRemovesWithConnectionLost(self) -> Any:
        """
        A player whose connection drops is removed with reason
        BLAZESERVER_CONN_LOST (not "left"), and the others are told.
        """
        host = yield self.player("shepard")
        created = yield host.createGame()
        joiner = yield self.player("kaidan")
        yield joiner.startMatchmaking()
        yield self.waitFor(joiner, N.GAME_SETUP)
        joiner.disconnect()
        removed = yield self.waitFor(host, N.PLAYER_REMOVED)
        body = tdf.decode(gamemanager.NotifyPlayerRemoved, removed[0].body)
        self.assertEqual(body.gameId, created.gameId)
        self.assertEqual(body.reason, gamemanager.PlayerRemovedReason.BLAZESERVER_CONN_LOST)

    @defer.inlineCallbacks
    def test_privateGameNotMatched(self) -> Any:
        """
        A PRIVATE lobby is never matched; a join into a full or unknown
        game is refused with the GameManager error.
        """
        host = yield self.player("miranda")
        attributes = dict(GameClient.ME3_ATTRIBUTES, ME3privacy="PRIVATE")
        yield host.createGame(attributes)
        seeker = yield self.player("jack")
        yield seeker.startMatchmaking()
        yield sleep(0.1)
        self.assertEqual(self.notifications(seeker, N.GAME_SETUP), [])
        error = yield self.assertFailure(
            seeker.request(GM, 0x09, gamemanager.JoinGameRequest(gameId=999)), BlazeError
        )
        self.assertEqual(error.code, GameManagerError.INVALID_GAME_ID)
