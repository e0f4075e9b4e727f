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

Datagrams of 1,600 and 65,000 bytes cross each kind of tunnel both ways,
and one too large for a hop is dropped there while the tunnels go on
carrying the next ones (also between a UDP and an HTTP tunnel).
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


class _TunnelE2EBase:
    """
    A server with a UDP tunnel port, and players joining it.
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
    def join(self, name: str, create: bool, useUdp: bool | None = None) -> Any:
        if useUdp is None:
            useUdp = self.useUdp
        player = Player(name)
        self.players.append(player)
        udp: Any = reactor
        player.gamePort = udp.listenUDP(0, player.game, interface="127.0.0.1",
                                        maxPacketSize=65536)
        url = normaliseServerURL(f"http://127.0.0.1:{self.server.port}/")
        info = yield discoverServer(Agent(reactor), url, reactor)
        testCase: Any = self
        testCase.assertEqual(info.tunnelPort, self.udpPort)
        player.tunnel = TunnelClientService(
            url,
            info.association,
            info.tunnelPort if useUdp else None,
            reactor,
            connectHTTP=httpConnector(reactor, url, ClientTLS()),
            gamePort=player.gamePort.getHost().port,
            hostPort=0,
        )
        player.tunnel.startService()
        tunnel = player.tunnel
        yield self.waitUntil(lambda: tunnel.state == "open", f"{name}'s tunnel")
        testCase.assertEqual(tunnel.kind, "udp" if useUdp else "http")

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
        testCase.fail(f"{data[:20]!r} ({len(data)} bytes) did not reach {receiver.name}; "
                      f"got {[(d[:20], len(d), port) for d, port in receiver.game.received]}")

    @defer.inlineCallbacks
    def assertLost(self, receiver: Player, data: bytes, send: Any) -> Any:
        """
        C{send()} sends C{data} (too large for some hop): it must not reach
        C{receiver}'s game.
        """
        send()
        yield sleep(0.2)
        testCase: Any = self
        testCase.assertNotIn(data, [d for d, _ in receiver.game.received])

    @defer.inlineCallbacks
    def exchangeSizes(self, host: Player, joiner: Player) -> Any:
        """
        Datagrams of 1,600 and 65,000 bytes go from host to joiner and
        back through the tunnel.
        """
        for size in (1600, 65000):
            yield self.assertArrives(host, 1, joiner, 0, b"h" * (size - 1) + b"!")
            yield self.assertArrives(joiner, 0, host, 1, b"j" * (size - 1) + b"!")



class _TunnelE2EMixin(_TunnelE2EBase):
    """
    The scenarios; subclasses choose UDP or HTTP.
    """

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


    @defer.inlineCallbacks
    def test_sizes(self) -> Any:
        """
        1,600- and 65,000-byte game datagrams cross the tunnel both ways;
        over the UDP tunnel a 65,500-byte one (more than a tunnel datagram
        holds) is dropped by the sending client, over the HTTP tunnel it
        arrives; a 65,535-byte frame, more than the game can be sent, is
        dropped by the receiving client.  The tunnels stay open and carry
        the next datagrams.
        """
        host = yield self.join("host", create=True)
        joiner = yield self.join("joiner", create=False)
        yield self.exchangeSizes(host, joiner)
        testCase: Any = self
        big = b"b" * 65500
        if self.useUdp:
            yield self.assertLost(joiner, big, lambda: host.sendTo(1, big))
        else:
            yield self.assertArrives(host, 1, joiner, 0, big)
        # 65,535 bytes, past the sending client's own check: over UDP the
        # system refuses to send it; over HTTP the receiving client cannot
        # hand it to its game.
        yield self.assertLost(host, b"c" * 65535, lambda: joiner.tunnel.link.send(0, b"c" * 65535))
        yield self.waitUntil(lambda: host.tunnel.tooLarge == 1, "the host's client to drop one")
        yield self.assertArrives(host, 1, joiner, 0, b"after the big one")
        yield self.assertArrives(joiner, 0, host, 1, b"after the big one, back")
        for player in (host, joiner):
            testCase.assertEqual(player.tunnel.state, "open")
        testCase.assertEqual(self.server.service.tunnels.garbage, 0)


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


class MixedTunnelE2ETests(_TunnelE2EBase, TestCase):
    """
    A host on the UDP tunnel and a joiner on the HTTP tunnel.
    """

    @defer.inlineCallbacks
    def test_sizes(self) -> Any:
        """
        Large datagrams cross between a UDP and an HTTP tunnel both ways;
        a 65,500-byte one fits the joiner's HTTP tunnel but not the host's
        UDP tunnel, so the server drops it and counts it; everything goes
        on.
        """
        host = yield self.join("host", create=True, useUdp=True)
        joiner = yield self.join("joiner", create=False, useUdp=False)
        yield self.exchangeSizes(host, joiner)
        big = b"b" * 65500
        relay = self.server.service.tunnels
        yield self.assertLost(host, big, lambda: joiner.sendTo(0, big))
        testCase: Any = self
        testCase.assertGreaterEqual(relay.drops["too large for the receiver's tunnel"], 1)
        yield self.assertLost(joiner, big, lambda: host.sendTo(1, big))
        testCase.assertEqual(host.tunnel.tooLarge, 1)
        yield self.assertArrives(joiner, 0, host, 1, b"still here")
        yield self.assertArrives(host, 1, joiner, 0, b"me too")
        testCase.assertEqual(sorted(t.kind for t in relay.tunnels.values()), ["http", "udp"])
