# -*- test-case-name: tests.test_review_blaze -*-
"""
Regression tests for problems found in a review of the server's Blaze path
against blaze-wire.md and server-behaviour.md: each test failed before its
fix.
"""

from __future__ import annotations

from typing import Any, cast

import attrs
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.test.requesthelper import DummyRequest

from pocketrelay.addresses import clientHost
from pocketrelay.blaze import tdf
from pocketrelay.blaze.frames import MessageType
from pocketrelay.blaze.ids import (
    Component,
    GameManagerCommand,
    GameManagerNotification,
    UserSessionsCommand,
    UserSessionsNotification,
    UtilCommand,
)
from pocketrelay.blaze.protocol import BlazeProtocol
from pocketrelay.me3.messages import gamemanager as gm
from pocketrelay.me3.messages.common import (
    IpAddress,
    IpPairAddress,
    NetworkQosData,
    networkAddress,
)
from pocketrelay.me3.messages.usersessions import (
    NetworkInfo,
    NotifyUserAdded,
    UserDataFlags,
    UserStatus,
)
from pocketrelay.me3.messages.util import PostAuthResponse
from pocketrelay.testing.fakes import RecordingDispatcher
from pocketrelay.testing.server import BlazeConnection, ServerHarness

GM = Component.GAME_MANAGER


@tdf.tdfStruct
@attrs.define
class _MigrateHostRequest:
    """
    migrateGame (4/0x17) as the Blaze 3 SDK declares it
    (C{MigrateHostRequest}): C{GID} u32, C{HOST} i64 the new host.
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    newHost: int = tdf.member("HOST", tdf.Int)


class _HarnessCase(SynchronousTestCase):
    def setUp(self) -> None:
        self.server = ServerHarness(FilePath(self.mktemp()))
        self.hub = self.server.hub

    def player(self, name: str, ip: int = 0xC6336401) -> BlazeConnection:
        """
        A logged-in connection that reported an open NAT and an address.
        """
        connection = self.server.loggedIn(f"{name}@example.org")
        connection.request(
            Component.USER_SESSIONS,
            UserSessionsCommand.UPDATE_NETWORK_INFO,
            NetworkInfo(
                address=networkAddress(
                    IpPairAddress(IpAddress(ip, 3659), IpAddress(0xC0A80002, 3659))
                ),
                qosData=NetworkQosData(natType=0),
            ),
        )
        return connection

    def playerId(self, connection: BlazeConnection) -> int:
        player = connection.session.player
        assert player is not None
        return player.id


class ClientHostTests(SynchronousTestCase):
    """
    L{clientHost} behind a trusted reverse proxy (server-behaviour.md
    section 2.1: the client address comes from C{X-Real-IP} when
    C{reverse_proxy} is on).
    """

    def request(self, header: bytes, value: bytes) -> Any:
        request = DummyRequest([b""])
        request.client = IPv4Address("TCP", "10.0.0.1", 40000)
        request.requestHeaders.setRawHeaders(header, [value])
        return cast(Any, request)

    def test_realIpFromTrustedProxy(self) -> None:
        """
        A dotted C{X-Real-IP} from a trusted proxy is the client's address.
        """
        request = self.request(b"x-real-ip", b"198.51.100.9")
        self.assertEqual(clientHost(request, True, "10.0.0.1"), "198.51.100.9")

    def test_realIpNotReadAsPackedBytes(self) -> None:
        """
        A four-character C{X-Real-IP} is not taken for a packed IPv4
        address: it is not an address, so the peer is used.
        """
        request = self.request(b"x-real-ip", b"abcd")
        self.assertEqual(clientHost(request, True, "10.0.0.1"), "10.0.0.1")


class PostAuthSubscriptionTests(_HarnessCase):
    """
    postAuth subscribes the session to itself (server-behaviour.md
    section 1.5): after the reply the client hears UserAdded about itself,
    then UserUpdated with FLGS subscribed | online (section 5.8).
    """

    def test_subscribedToItself(self) -> None:
        """
        The postAuth reply is followed by UserAdded (USER.ID = the player)
        and UserUpdated (FLGS 3, ID = the player), in that order.
        """
        connection = self.server.loggedIn("shepard@example.org")
        before = len(connection.written())
        connection.call(Component.UTIL, UtilCommand.POST_AUTH, reply=PostAuthResponse)
        frames = connection.written()[before:]
        self.assertEqual(frames[0].type, MessageType.REPLY)
        kinds = [(f.component, f.command) for f in frames[1:]]
        self.assertEqual(
            kinds,
            [
                (Component.USER_SESSIONS, UserSessionsNotification.USER_ADDED),
                (Component.USER_SESSIONS, UserSessionsNotification.USER_UPDATED),
            ],
        )
        playerId = self.playerId(connection)
        added = tdf.decode(NotifyUserAdded, frames[1].body)
        self.assertEqual(added.user.blazeId, playerId)
        self.assertEqual(added.user.name, "shepard")
        status = tdf.decode(UserStatus, frames[2].body)
        self.assertEqual(
            (status.blazeId, status.statusFlags),
            (playerId, UserDataFlags.SUBSCRIBED | UserDataFlags.ONLINE),
        )


class MigrateGameTests(_HarnessCase):
    """
    migrateGame (4/0x17) names the new host in C{HOST}, as the Blaze 3
    SDK's C{MigrateHostRequest} does.
    """

    def test_newHostFromHostTag(self) -> None:
        """
        The host hands the game to the player named in C{HOST}: the game's
        host changes and HostMigrationStart names that player.
        """
        host = self.player("host")
        guest = self.player("guest")
        created = host.call(GM, GameManagerCommand.CREATE_GAME, gm.CreateGameRequest(),
                            gm.CreateGameResponse)
        guest.call(GM, GameManagerCommand.START_MATCHMAKING, gm.StartMatchmakingRequest(),
                   gm.StartMatchmakingResponse)
        guestId = self.playerId(guest)
        reply = host.request(
            GM, GameManagerCommand.MIGRATE_GAME,
            _MigrateHostRequest(gameId=created.gameId, newHost=guestId),
        )
        self.assertEqual((reply.type, reply.error), (MessageType.REPLY, 0))
        game = self.hub.games.games[created.gameId]
        assert game.host is not None
        self.assertEqual(game.host.playerId, guestId)
        start = guest.notifications(GM, GameManagerNotification.HOST_MIGRATION_START)
        self.assertEqual(len(start), 1)
        body = tdf.decode(gm.NotifyHostMigrationStart, start[0].body)
        self.assertEqual(body.newHostId, guestId)


class AdminGamesAddressTests(_HarnessCase):
    """
    A game client's reported address is client input; an IPv4 value out
    of the 32-bit range must not break the admin view of games.
    """

    def test_outOfRangeAddress(self) -> None:
        """
        The admin JSON of a game whose host reported an IP of 2**40 is
        produced without an exception.
        """
        from pocketrelay.server.web.api.routes import _gameJson

        host = self.player("host", ip=2**40)
        host.call(GM, GameManagerCommand.CREATE_GAME, gm.CreateGameRequest(),
                  gm.CreateGameResponse)
        (game,) = self.hub.games.games.values()
        result = _gameJson(game, True)
        self.assertEqual(len(result["players"]), 1)


class SlowReaderTests(SynchronousTestCase):
    """
    Notifications to a client that stops reading are not buffered without
    bound: while the transport has asked the protocol to pause, at most
    L{BlazeProtocol.maxPausedOutput} bytes of notifications are queued,
    then the connection is dropped.
    """

    def connect(self) -> tuple[BlazeProtocol, StringTransport]:
        protocol = BlazeProtocol(RecordingDispatcher(), clock=Clock(), maxFrameSize=65536)
        transport = StringTransport()
        protocol.makeConnection(transport)
        return protocol, transport

    def test_pausedOutputBounded(self) -> None:
        """
        While paused, notifications beyond the limit abort the connection.
        """
        protocol, transport = self.connect()
        protocol.pauseProducing()
        body = b"x" * 1000
        for _ in range(protocol.maxPausedOutput // 1000 + 10):
            protocol.sendNotification(4, 0x50, body)
            if transport.disconnecting or getattr(transport, "aborted", False):
                break
        self.assertTrue(transport.disconnecting)
        self.assertLessEqual(len(transport.value()), protocol.maxPausedOutput + 2000)

    def test_resumeResetsCount(self) -> None:
        """
        Output written while paused counts only until the transport
        resumes: a reader that keeps up is never dropped.
        """
        protocol, transport = self.connect()
        body = b"x" * 1000
        for _ in range(3):
            protocol.pauseProducing()
            # Just under the limit each time (12 header bytes per frame).
            for _ in range(protocol.maxPausedOutput // 1012 - 1):
                protocol.sendNotification(4, 0x50, body)
            protocol.resumeProducing()
            transport.clear()
        self.assertFalse(transport.disconnecting)
