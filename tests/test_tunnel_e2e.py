# -*- test-case-name: tests.test_tunnel_e2e -*-
"""
End-to-end tests of the tunnel on 127.0.0.1: a real server (the service
tree of C{twistd pocketrelay-server} with a UDP tunnel port), three
simulated games in one lobby, each with its own client tunnel endpoint
(pool and tunnel) and a UDP socket standing for the game's port 3659.

Each player discovers the server (C{/api/server}: association token and
tunnel port), opens its tunnel, and logs in over a Blaze connection
upgraded with the same token.  Datagrams the "games" send to pool sockets
must reach the right peer from the pool socket of the sender's slot, also
after the middle player leaves and the last one moves up a slot; once
over the UDP tunnel and once over the HTTP tunnel.
"""

from __future__ import annotations

import socket
from typing import Any

from twisted.internet import defer, reactor
from twisted.internet.protocol import DatagramProtocol
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent

from pocketrelay.blaze.ids import Component
from pocketrelay.blaze.ids import GameManagerNotification as N
from pocketrelay.client.discovery import (
    ClientTLS,
    discoverServer,
    normaliseServerURL,
)
from pocketrelay.client.tunnel import TunnelClientService, httpConnector
from pocketrelay.testing.gameclient import GameClient
from pocketrelay.testing.loopback import ServerFixture, sleep

GM = Component.GAME_MANAGER


def freeUdpPort() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeGame(DatagramProtocol):
    """
    The game's UDP socket: records what arrives, with the source port.
    """

    def __init__(self) -> None:
        self.received: list[tuple[bytes, int]] = []

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.received.append((data, addr[1]))


class Player:
    """
    One player: a Blaze client, a game socket and a tunnel endpoint.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.game = FakeGame()
        self.gamePort: Any = None
        self.tunnel: TunnelClientService | None = None
        self.client: GameClient | None = None

    @property
    def pool(self) -> list[int]:
        assert self.tunnel is not None
        return self.tunnel.pool.ports

    def sendTo(self, index: int, data: bytes) -> None:
        """
        The game sends C{data} to pool socket C{index}.
        """
        self.gamePort.write(data, ("127.0.0.1", self.pool[index]))


class _TunnelE2EMixin:
    """
    The scenario; subclasses choose UDP or HTTP.
    """

    timeout = 60
    useUdp = True

    server: ServerFixture
    players: list[Player]

    def setUp(self) -> None:
        testCase: Any = self
        self.udpPort = freeUdpPort()
        self.server = ServerFixture(
            testCase, ["--set", f"udp_tunnel.port={self.udpPort}", "--set", "tunnel=always"]
        )
        self.players = []
        testCase.addCleanup(self._stopPlayers)

    @defer.inlineCallbacks
    def _stopPlayers(self) -> Any:
        for player in self.players:
            if player.client is not None:
                player.client.disconnect()
            if player.tunnel is not None and player.tunnel.running:
                yield player.tunnel.stopService()
            if player.gamePort is not None:
                yield player.gamePort.stopListening()
        yield sleep(0.1)

    @defer.inlineCallbacks
    def waitUntil(self, condition: Any, what: str, seconds: float = 10) -> Any:
        for _ in range(int(seconds / 0.02)):
            if condition():
                return
            yield sleep(0.02)
        testCase: Any = self
        testCase.fail(f"timed out waiting for {what}")

    @defer.inlineCallbacks
    def join(self, name: str, create: bool) -> Any:
        player = Player(name)
        self.players.append(player)
        udp: Any = reactor
        player.gamePort = udp.listenUDP(0, player.game, interface="127.0.0.1")
        url = normaliseServerURL(f"http://127.0.0.1:{self.server.port}/")
        info = yield discoverServer(Agent(reactor), url, reactor)
        testCase: Any = self
        testCase.assertEqual(info.tunnelPort, self.udpPort)
        player.tunnel = TunnelClientService(
            url,
            info.association,
            info.tunnelPort if self.useUdp else None,
            reactor,
            connectHTTP=httpConnector(reactor, url, ClientTLS()),
            gamePort=player.gamePort.getHost().port,
            hostPort=0,
        )
        player.tunnel.startService()
        tunnel = player.tunnel
        yield self.waitUntil(lambda: tunnel.state == "open", f"{name}'s tunnel")
        testCase.assertEqual(tunnel.kind, "udp" if self.useUdp else "http")

        client = yield self.server.connect(headers={b"x-association": info.association.encode()})
        player.client = client
        yield client.preAuth()
        yield client.createAccount(f"{name}@example.org", "password-" + name)
        yield client.updateNetworkInfo()
        if create:
            created = yield client.createGame()
            self.gameId = created.gameId
        else:
            yield client.startMatchmaking()
        yield client.waitForNotification(GM, N.GAME_SETUP).addTimeout(10, reactor)
        return player

    @defer.inlineCallbacks
    def assertArrives(self, sender: Player, index: int, receiver: Player, senderSlot: int,
                      data: bytes) -> Any:
        """
        C{sender}'s game sends C{data} to its pool socket C{index}: it must
        reach C{receiver}'s game from the pool socket C{senderSlot}.  UDP
        may lose a datagram, so it is sent again (bounded) until it comes.
        """
        expected = (data, receiver.pool[senderSlot])
        for _ in range(20):
            sender.sendTo(index, data)
            for _ in range(25):
                if expected in receiver.game.received:
                    return
                yield sleep(0.01)
        testCase: Any = self
        testCase.fail(f"{data!r} did not reach {receiver.name}; got {receiver.game.received}")

    @defer.inlineCallbacks
    def test_threePlayers(self) -> Any:
        """
        Host, joiner and second joiner in slots 0, 1, 2 exchange datagrams
        through the tunnel, each arriving from the pool socket of the
        sender's slot; after the middle player leaves, the last player is
        in slot 1 and traffic follows; the counters show the relaying.
        """
        host = yield self.join("host", create=True)
        liara = yield self.join("liara", create=False)
        garrus = yield self.join("garrus", create=False)
        game = self.server.hub.games.games[self.gameId]
        testCase: Any = self
        testCase.assertEqual(
            [p.playerId for p in game.players],
            [host.client.userId, liara.client.userId, garrus.client.userId],
        )
        yield self.assertArrives(host, 2, garrus, 0, b"host to garrus")
        yield self.assertArrives(garrus, 1, liara, 2, b"garrus to liara")
        yield self.assertArrives(liara, 0, host, 1, b"liara to host")
        yield self.assertArrives(garrus, 0, host, 2, b"garrus to host")

        yield liara.client.removePlayer(self.gameId, liara.client.userId)
        yield self.waitUntil(lambda: len(game.players) == 2, "liara to leave")
        yield self.assertArrives(host, 1, garrus, 0, b"host to garrus, now slot 1")
        yield self.assertArrives(garrus, 0, host, 1, b"garrus, now slot 1, to host")
        before = len(liara.game.received)
        host.sendTo(2, b"slot 2 is empty")
        yield sleep(0.1)
        testCase.assertEqual(len(liara.game.received), before)

        relay = self.server.service.tunnels
        testCase.assertGreaterEqual(relay.relayed, 6)
        testCase.assertGreaterEqual(relay.drops["empty slot"], 1)
        kinds = {tunnel.kind for tunnel in relay.tunnels.values()}
        testCase.assertEqual(kinds, {"udp" if self.useUdp else "http"})


class UdpTunnelE2ETests(_TunnelE2EMixin, TestCase):
    """
    Three players through the UDP tunnel.
    """

    useUdp = True


class HttpTunnelE2ETests(_TunnelE2EMixin, TestCase):
    """
    Three players through the HTTP tunnel (the server's UDP port is not
    used by the clients).
    """

    useUdp = False
