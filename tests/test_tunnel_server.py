# -*- test-case-name: tests.test_tunnel_server -*-
"""
Tests for L{pocketrelay.server.tunnel}: the relay, its UDP port and the
HTTP tunnel, in memory (a L{ServerHarness} hub on a L{Clock},
L{FakeDatagramTransport}, L{StringTransport}).
"""

from __future__ import annotations

import random
import socket
from typing import Any

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.testing import (
    FakeDatagramTransport,
    StringTransport,
)
from twisted.logger import LogLevel
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from pocketrelay.me3.messages.gameenums import PlayerRemovedReason
from pocketrelay.server import tap
from pocketrelay.server.security import TokenSigner
from pocketrelay.server.session import Session
from pocketrelay.server.tunnel import (
    HttpTunnelProtocol,
    TunnelRelay,
    UdpTunnelProtocol,
    tunnelResource,
)
from pocketrelay.testing.gameclient import GameClient
from pocketrelay.testing.logs import captureLogs, infoTexts
from pocketrelay.testing.loopback import sleep
from pocketrelay.testing.server import ServerHarness
from pocketrelay.tunnelwire import (
    KEEP_ALIVE_FRAME,
    UNASSIGNED,
    Forward,
    FrameDecoder,
    Initiate,
    Initiated,
    KeepAlive,
    TunnelFrame,
    decodeDatagram,
    encodeDatagram,
    encodeFrame,
)


class _Players:
    """
    Logged-in sessions, each with its own association token, and games
    made directly through the hub's L{Games}.
    """

    def __init__(self, harness: ServerHarness) -> None:
        self.harness = harness
        self.hub = harness.hub
        self._count = 0

    def player(self, name: str) -> tuple[Session, str]:
        self._count += 1
        token = self.hub.signer.issueAssociation()
        session = self.hub.newSession(f"203.0.113.{self._count}", token)
        self.hub.bindPlayer(session, self.harness.createPlayer(f"{name}@example.org"))
        return session, token

    def create(self, host: Session) -> int:
        game, _ = self.hub.games.create(
            self.hub.playerInfo(host), GameClient.ME3_ATTRIBUTES, 0x1F, self.harness.clock.seconds()
        )
        return game.gameId

    def join(self, gameId: int, session: Session) -> None:
        self.hub.games.join(gameId, self.hub.playerInfo(session), self.harness.clock.seconds())

    def leave(self, gameId: int, session: Session) -> None:
        assert session.player is not None
        self.hub.deliver(self.hub.games.remove(
            gameId, session.player.id, PlayerRemovedReason.PLAYER_LEFT, self.harness.clock.seconds()
        ))

    def slots(self, gameId: int) -> list[int]:
        return [p.playerId for p in self.hub.games.games[gameId].players]


class _IdSource(random.Random):
    """
    Gives the tunnel ids it is told to, then random ones.
    """

    def __init__(self, ids: list[int]) -> None:
        super().__init__(5)
        self.ids = ids

    def getrandbits(self, k: int) -> int:
        if self.ids:
            return self.ids.pop(0)
        return super().getrandbits(k)


class _RelayTestMixin:
    harness: ServerHarness
    relay: TunnelRelay
    udp: UdpTunnelProtocol
    wire: FakeDatagramTransport

    def makeRelay(self, testCase: SynchronousTestCase, **kwargs: Any) -> None:
        self.harness = ServerHarness(FilePath(testCase.mktemp()))
        self.clock = self.harness.clock
        self.hub = self.harness.hub
        self.players = _Players(self.harness)
        kwargs.setdefault("rng", random.Random(1))
        self.relay = TunnelRelay(self.hub, **kwargs)
        self.udp = UdpTunnelProtocol(self.relay)
        self.wire = FakeDatagramTransport()
        self.udp.makeConnection(self.wire)

    def receive(self, data: bytes, addr: tuple[str, int]) -> None:
        self.udp.datagramReceived(data, addr)

    def initiate(self, token: str, addr: tuple[str, int]) -> int:
        before = len(self.wire.written)
        self.receive(encodeDatagram(UNASSIGNED, Initiate(token)), addr)
        assert len(self.wire.written) == before + 1, "no answer to Initiate"
        data, to = self.wire.written[-1]
        assert to == addr
        reply = decodeDatagram(data)
        assert isinstance(reply.message, Initiated)
        return reply.message.tunnelId

    def sent(self) -> list[tuple[Any, Any]]:
        """
        The datagrams written since the last call, decoded, with their
        destination.
        """
        written, self.wire.written = self.wire.written, []
        return [(decodeDatagram(data), addr) for data, addr in written]


class UdpHandshakeTests(_RelayTestMixin, SynchronousTestCase):
    """
    Opening UDP tunnels.
    """

    def setUp(self) -> None:
        self.makeRelay(self)

    def test_initiate(self) -> None:
        """
        A valid association token opens a tunnel: the answer, sent to the
        source address, is Initiated with a fresh id (also in the header).
        """
        _, token = self.players.player("shepard")
        tunnelId = self.initiate(token, ("198.51.100.1", 4000))
        self.assertNotEqual(tunnelId, UNASSIGNED)
        self.assertEqual(decodeDatagram(self.wire.written[-1][0]).tunnelId, tunnelId)
        tunnel = self.relay.tunnels[token]
        self.assertIs(self.relay.udpTunnels[tunnelId], tunnel)
        self.assertEqual(self.relay.opened, 1)

    def test_repeatedInitiate(self) -> None:
        """
        The same Initiate again from the same address (the answer was
        lost) gets the same tunnel; from another address it replaces the
        tunnel, whose old id is then unknown.
        """
        _, token = self.players.player("shepard")
        first = self.initiate(token, ("198.51.100.1", 4000))
        self.assertEqual(self.initiate(token, ("198.51.100.1", 4000)), first)
        second = self.initiate(token, ("198.51.100.1", 4001))
        self.assertNotEqual(second, first)
        self.assertNotIn(first, self.relay.udpTunnels)
        self.assertEqual(list(self.relay.tunnels), [token])
        self.sent()
        self.receive(encodeDatagram(first, KeepAlive()), ("198.51.100.1", 4000))
        self.assertEqual(self.relay.drops["unknown tunnel"], 1)

    def test_badAssociation(self) -> None:
        """
        A token that is not ours (forged, from another key, or too long)
        opens nothing and gets no answer.
        """
        other = TokenSigner(b"x" * 64, self.clock).issueAssociation()
        for token in ["nonsense", other, "a" * 1000]:
            self.receive(encodeDatagram(UNASSIGNED, Initiate(token)), ("198.51.100.9", 1))
        self.assertEqual(self.wire.written, [])
        self.assertEqual(self.relay.tunnels, {})
        self.assertEqual(self.relay.refused, 3)

    def test_tunnelLimit(self) -> None:
        """
        Past the tunnel limit new associations are refused, but an open
        one can still reopen its tunnel.
        """
        self.makeRelay(self, maxTunnels=2)
        tokens = [self.hub.signer.issueAssociation() for _ in range(3)]
        self.initiate(tokens[0], ("198.51.100.1", 1))
        self.initiate(tokens[1], ("198.51.100.2", 1))
        self.receive(encodeDatagram(UNASSIGNED, Initiate(tokens[2])), ("198.51.100.3", 1))
        self.assertEqual(len(self.wire.written), 2)
        self.assertEqual(self.relay.refused, 1)
        self.initiate(tokens[0], ("198.51.100.1", 2))
        self.assertEqual(len(self.relay.tunnels), 2)

    def test_tunnelIds(self) -> None:
        """
        Tunnel ids come from the random source, skipping 0xFFFFFFFF and
        ids in use.
        """
        self.makeRelay(self, rng=_IdSource([UNASSIGNED, 5, 5, 6]))
        first = self.initiate(self.hub.signer.issueAssociation(), ("198.51.100.1", 1))
        second = self.initiate(self.hub.signer.issueAssociation(), ("198.51.100.2", 1))
        self.assertEqual((first, second), (5, 6))

    def test_defaultIdsAreRandom(self) -> None:
        """
        Without an injected source, ids come from the system's random
        generator: not sequential.
        """
        relay = TunnelRelay(self.hub)
        ids = {relay.newTunnelId() for _ in range(50)}
        self.assertEqual(len(ids), 50)
        self.assertNotEqual(sorted(ids), list(range(min(ids), min(ids) + 50)))


class UdpRelayTests(_RelayTestMixin, SynchronousTestCase):
    """
    Forwarding between UDP tunnels by live game membership.
    """

    def setUp(self) -> None:
        self.makeRelay(self)
        self.sessions: list[Session] = []
        self.ids: list[int] = []
        self.addresses: list[tuple[str, int]] = []
        for n, name in enumerate(["host", "liara", "garrus", "tali"]):
            session, token = self.players.player(name)
            address = (f"198.51.100.{n + 1}", 5000 + n)
            self.sessions.append(session)
            self.addresses.append(address)
            self.ids.append(self.initiate(token, address))
        self.gameId = self.players.create(self.sessions[0])
        self.players.join(self.gameId, self.sessions[1])
        self.players.join(self.gameId, self.sessions[2])
        self.sent()

    def forward(self, who: int, index: int, payload: bytes) -> None:
        self.receive(encodeDatagram(self.ids[who], Forward(index, payload)), self.addresses[who])

    def assertDelivered(self, who: int, index: int, payload: bytes) -> None:
        self.assertEqual(
            self.sent(),
            [((decodeDatagram(encodeDatagram(self.ids[who], Forward(index, payload)))),
              self.addresses[who])],
        )

    def test_forwardBySlot(self) -> None:
        """
        A datagram for slot i reaches the player in slot i, tagged with
        the sender's slot; the counters count it.
        """
        self.forward(0, 2, b"to garrus")
        self.assertDelivered(2, 0, b"to garrus")
        self.forward(2, 1, b"to liara")
        self.assertDelivered(1, 2, b"to liara")
        self.forward(1, 0, b"to host")
        self.assertDelivered(0, 1, b"to host")
        self.assertEqual(self.relay.relayed, 3)
        self.assertEqual(self.relay.relayedBytes, len(b"to garrus" + b"to liara" + b"to host"))
        self.assertEqual(self.relay.dropped, 0)

    def test_middlePlayerLeaves(self) -> None:
        """
        When the player in slot 1 leaves, the player in slot 2 moves to
        slot 1: traffic to and from it uses the new slot at once, and the
        freed slot 2 is empty until someone joins it.
        """
        self.players.leave(self.gameId, self.sessions[1])
        players = self.players.slots(self.gameId)
        self.assertEqual(players[1], self.sessions[2].player.id)  # type: ignore[union-attr]
        self.forward(0, 1, b"to garrus")
        self.assertDelivered(2, 0, b"to garrus")
        self.forward(2, 0, b"to host")
        self.assertDelivered(0, 1, b"to host")
        self.forward(0, 2, b"nobody")
        self.assertEqual(self.sent(), [])
        self.assertEqual(self.relay.drops["empty slot"], 1)
        self.players.join(self.gameId, self.sessions[3])
        self.forward(0, 2, b"to tali")
        self.assertDelivered(3, 0, b"to tali")
        self.forward(3, 1, b"to garrus")
        self.assertDelivered(2, 2, b"to garrus")

    def test_hostLeaves(self) -> None:
        """
        When the host leaves, the new host (slot 0) gets what is sent to
        index 0.
        """
        self.players.leave(self.gameId, self.sessions[0])
        self.forward(2, 0, b"to new host")
        self.assertDelivered(1, 1, b"to new host")

    def test_drops(self) -> None:
        """
        Datagrams are dropped and counted by reason: sender in no game,
        to itself, target without tunnel, larger than a limit set on the
        relay, sender without a live session.
        """
        self.forward(3, 0, b"not in a game")
        self.forward(1, 1, b"to itself")
        self.relay.maxPayload = 1500
        self.forward(0, 1, b"x" * 1501)
        # Garrus's tunnel goes away.
        garrus = self.relay.tunnels[self.sessions[2].association]  # type: ignore[index]
        self.relay.remove(garrus)
        garrus.close()
        self.forward(0, 2, b"no tunnel")
        # Liara's Blaze session closes: her tunnel has no player.
        self.hub.sessionClosed(self.sessions[1])
        self.forward(1, 0, b"no player")
        self.assertEqual(self.sent(), [])
        self.assertEqual(
            dict(self.relay.drops),
            {"not in a game": 1, "to itself": 1, "too large": 1, "no tunnel": 1, "no player": 1},
        )
        self.assertEqual(self.relay.dropped, 5)
        self.assertEqual(self.relay.relayed, 0)

    def test_largeDatagrams(self) -> None:
        """
        Game datagrams of any length a Forward datagram carries are
        relayed, as the reference relays them: 1,600 bytes, 65,000 bytes
        and the IPv4 maximum of 65,498.
        """
        self.assertEqual(self.relay.maxPayload, 65535)
        for size in (1600, 65000, 65498):
            payload = bytes([size % 251]) * size
            self.forward(0, 2, payload)
            self.assertDelivered(2, 0, payload)
            self.forward(2, 0, payload)
            self.assertDelivered(0, 2, payload)
        self.assertEqual(self.relay.relayed, 6)
        self.assertEqual(self.relay.dropped, 0)

    def test_tooLargeForTheReceiverDropped(self) -> None:
        """
        A datagram larger than the receiver's UDP tunnel carries (here
        65,510 bytes from a client on IPv6 to one on IPv4) is dropped and
        counted with one log line; both tunnels stay open and relay the
        next datagram.
        """
        events = captureLogs(self)
        v6 = ("2001:db8::5", 5005)
        self.receive(encodeDatagram(self.ids[0], Forward(2, b"y" * 65510)), v6)
        self.receive(encodeDatagram(self.ids[0], Forward(1, b"y" * 65510)), v6)
        self.assertEqual(len(self.sent()), 0)
        self.assertEqual(self.relay.drops["too large for the receiver's tunnel"], 2)
        lines = [e for e in events if "carries at most" in e.get("log_format", "")]
        self.assertEqual(len(lines), 1)
        self.assertEqual((lines[0]["size"], lines[0]["limit"], lines[0]["kind"]),
                         (65510, 65498, "udp"))
        self.forward(2, 0, b"small")
        self.assertEqual(self.sent(),
                         [(decodeDatagram(encodeDatagram(self.ids[0], Forward(2, b"small"))), v6)])
        self.receive(encodeDatagram(self.ids[0], Forward(2, b"small too")), v6)
        self.assertDelivered(2, 0, b"small too")
        self.assertEqual(len(self.relay.tunnels), 4)

    def test_newestSessionOfAssociation(self) -> None:
        """
        A tunnel follows its client's newest Blaze session: after the game
        reconnects (a new session with the same token logs in), traffic
        goes to the player of the new session.
        """
        old = self.sessions[2]
        token = old.association
        assert token is not None
        newSession = self.hub.newSession("203.0.113.99", token)
        self.hub.sessionClosed(old)
        self.assertIs(self.hub.sessionForAssociation(token), newSession)
        self.forward(2, 0, b"gone")
        self.assertEqual(self.relay.drops["no player"], 1)

    def test_unknownTunnel(self) -> None:
        """
        A datagram with an unknown tunnel id is dropped and counted.
        """
        self.receive(encodeDatagram(12345, Forward(0, b"x")), ("192.0.2.1", 1))
        self.assertEqual(self.sent(), [])
        self.assertEqual(self.relay.drops["unknown tunnel"], 1)

    def test_natRebinding(self) -> None:
        """
        Any datagram with a tunnel's id moves the tunnel to its source
        address: the next datagrams for it go there.
        """
        moved = ("192.0.2.77", 61000)
        self.receive(encodeDatagram(self.ids[2], KeepAlive()), moved)
        self.forward(0, 2, b"follow me")
        self.assertEqual(self.sent()[0][1], moved)
        self.assertEqual(self.relay.tunnels[self.sessions[2].association].peer,  # type: ignore[index]
                         "192.0.2.77:61000")

    def test_garbage(self) -> None:
        """
        Undecodable datagrams are counted and logged at most once per ten
        seconds, never raised; an Initiated from a client is unexpected.
        """
        events = captureLogs(self)
        for data in [b"", b"\x01", b"\x07" * 20, b"\x01\x00\x00\x00\x00\x09"]:
            self.receive(data, ("192.0.2.1", 1))
        self.receive(encodeDatagram(self.ids[0], Initiated(1)), self.addresses[0])
        self.assertEqual(self.relay.garbage, 5)
        self.assertEqual(self.sent(), [])
        lines = [e for e in events if "bad tunnel datagram" in e.get("log_format", "")]
        self.assertEqual(len(lines), 1)
        self.clock.advance(10)
        self.receive(b"junk", ("192.0.2.1", 1))
        lines = [e for e in events if "bad tunnel datagram" in e.get("log_format", "")]
        self.assertEqual(len(lines), 2)
        self.assertEqual(lines[1]["count"], 4)


class KeepAliveTests(_RelayTestMixin, SynchronousTestCase):
    """
    Keep-alives and expiry of silent tunnels.
    """

    def setUp(self) -> None:
        self.makeRelay(self)
        _, self.token = self.players.player("shepard")
        self.address = ("198.51.100.1", 4000)
        self.tunnelId = self.initiate(self.token, self.address)
        self.sent()

    def elapse(self, seconds: int) -> None:
        for _ in range(seconds):
            self.clock.advance(1)
            self.relay.tick()

    def test_keepAliveEveryTenSeconds(self) -> None:
        """
        The server sends a KeepAlive to the tunnel's address every ten
        seconds.
        """
        self.elapse(9)
        self.assertEqual(self.sent(), [])
        self.elapse(1)
        (datagram, to), = self.sent()
        self.assertEqual((datagram.tunnelId, datagram.message, to),
                         (self.tunnelId, KeepAlive(), self.address))
        self.elapse(10)
        self.assertEqual(len(self.sent()), 1)

    def test_expiry(self) -> None:
        """
        A tunnel nothing came from for 40 seconds is removed; one that
        answers keep-alives stays.
        """
        _, otherToken = self.players.player("liara")
        otherId = self.initiate(otherToken, ("198.51.100.2", 4000))
        for _ in range(39):
            self.elapse(1)
            self.receive(encodeDatagram(otherId, KeepAlive()), ("198.51.100.2", 4000))
        self.assertIn(self.token, self.relay.tunnels)
        self.elapse(1)
        self.assertNotIn(self.token, self.relay.tunnels)
        self.assertNotIn(self.tunnelId, self.relay.udpTunnels)
        self.assertIn(otherToken, self.relay.tunnels)
        self.assertEqual(self.relay.expired, 1)
        self.sent()
        self.receive(encodeDatagram(self.tunnelId, KeepAlive()), self.address)
        self.assertEqual(self.relay.drops["unknown tunnel"], 1)


class _HttpTunnelMixin(_RelayTestMixin, SynchronousTestCase):
    """
    A relay with the HTTP tunnel resource on a site.
    """

    def setUp(self) -> None:
        self.makeSite()

    def makeSite(self, **kwargs: Any) -> None:
        self.makeRelay(self, **kwargs)
        root = Resource()
        root.putChild(b"tunnel", tunnelResource(self.relay))
        self.site = Site(root, timeout=60, reactor=self.clock)
        self._ports = iter(range(6000, 7000))

    def connect(
        self, token: str | None, upgrade: bytes = b"tunnel", host: str = "10.0.0.5"
    ) -> StringTransport:
        port = next(self._ports)
        channel = self.site.buildProtocol(IPv4Address("TCP", host, port))
        transport = StringTransport(peerAddress=IPv4Address("TCP", host, port))
        channel.makeConnection(transport)
        lines = [b"GET /tunnel HTTP/1.1", b"Host: example", b"Connection: Upgrade",
                 b"Upgrade: " + upgrade]
        if token is not None:
            lines.append(b"x-association: " + token.encode())
        channel.dataReceived(b"\r\n".join(lines) + b"\r\n\r\n")
        return transport

    def upgraded(self, token: str, host: str = "10.0.0.5") -> StringTransport:
        transport = self.connect(token, host=host)
        head, _, _rest = transport.value().partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 101 "), head)
        self.assertIn(b"Upgrade: tunnel", head)
        transport.clear()
        return transport

    def frames(self, transport: StringTransport) -> list[TunnelFrame]:
        data = transport.value()
        transport.clear()
        return FrameDecoder().feed(data)

    def protocolOf(self, token: str) -> HttpTunnelProtocol:
        tunnel: Any = self.relay.tunnels[token]
        protocol: HttpTunnelProtocol = tunnel.protocol
        return protocol

    def inOneGame(self, *names: str) -> list[str]:
        """
        Players in one game, the first its host, in slots in the order
        given.

        @return: their association tokens.
        """
        players = [self.players.player(name) for name in names]
        gameId = self.players.create(players[0][0])
        for session, _ in players[1:]:
            self.players.join(gameId, session)
        return [token for _, token in players]

    def httpHostUdpJoiner(self) -> tuple[str, StringTransport, int]:
        """
        A host on an HTTP tunnel and a joiner on a UDP tunnel (from
        198.51.100.2:9), in one game.

        @return: the host's token and connection, and the joiner's tunnel
            id.
        """
        hostToken, joinerToken = self.inOneGame("host", "joiner")
        hostWire = self.upgraded(hostToken)
        return hostToken, hostWire, self.initiate(joinerToken, ("198.51.100.2", 9))


class HttpTunnelTests(_HttpTunnelMixin):
    """
    The HTTP tunnel: the upgrade, frames, keep-alives and expiry.
    """

    def test_refusals(self) -> None:
        """
        Without x-association, or with a token that is not ours, the
        answer is 400; without C{Upgrade: tunnel}, 426.
        """
        self.assertIn(b" 400 ", self.connect(None).value().split(b"\r\n")[0])
        self.assertIn(b" 400 ", self.connect("forged.token").value().split(b"\r\n")[0])
        token = self.hub.signer.issueAssociation()
        self.assertIn(b" 426 ", self.connect(token, b"blaze").value().split(b"\r\n")[0])
        self.assertEqual(self.relay.tunnels, {})

    def test_relayBetweenHttpAndUdp(self) -> None:
        """
        Frames from an HTTP tunnel are relayed by slot like UDP datagrams,
        and datagrams reach an HTTP tunnel as frames.
        """
        hostToken, hostWire, joinerId = self.httpHostUdpJoiner()
        self.sent()
        self.protocolOf(hostToken).dataReceived(encodeFrame(1, b"hello joiner"))
        ((datagram, to),) = self.sent()
        self.assertEqual((datagram.tunnelId, datagram.message, to),
                         (joinerId, Forward(0, b"hello joiner"), ("198.51.100.2", 9)))
        self.receive(encodeDatagram(joinerId, Forward(0, b"hello host")), ("198.51.100.2", 9))
        self.assertEqual(self.frames(hostWire), [TunnelFrame(1, b"hello host")])

    def test_requestAndFrameTogether(self) -> None:
        """
        Frames sent in the same packet as the upgrade request are not
        lost.
        """
        hostToken, joinerToken = self.inOneGame("host", "joiner")
        joinerWire = self.upgraded(joinerToken)
        channel = self.site.buildProtocol(IPv4Address("TCP", "10.0.0.6", 1))
        channel.makeConnection(StringTransport())
        channel.dataReceived(
            b"GET /tunnel HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tunnel\r\n"
            b"x-association: " + hostToken.encode() + b"\r\n\r\n" + encodeFrame(1, b"early")
        )
        self.assertEqual(self.frames(joinerWire), [TunnelFrame(0, b"early")])

    def test_keepAliveAndExpiry(self) -> None:
        """
        The server sends C{ff 00 00} every ten seconds; a lone keep-alive
        from the client counts as life at once; 40 seconds of silence
        close the connection.
        """
        token = self.hub.signer.issueAssociation()
        wire = self.upgraded(token)
        for _ in range(10):
            self.clock.advance(1)
            self.relay.tick()
        self.assertEqual(wire.value(), KEEP_ALIVE_FRAME)
        wire.clear()
        self.protocolOf(token).dataReceived(KEEP_ALIVE_FRAME)
        for _ in range(39):
            self.clock.advance(1)
            self.relay.tick()
        self.assertFalse(wire.disconnecting)
        self.clock.advance(1)
        self.relay.tick()
        self.assertTrue(wire.disconnecting)
        self.assertNotIn(token, self.relay.tunnels)

    def test_largeFrames(self) -> None:
        """
        Frames up to the format's 65,535 bytes are read and relayed to an
        HTTP tunnel, in pieces or whole, and HTTP tunnels get large
        datagrams from UDP tunnels; nothing is closed.
        """
        hostToken, joinerToken, thirdToken = self.inOneGame("host", "joiner", "third")
        hostWire = self.upgraded(hostToken)
        joinerWire = self.upgraded(joinerToken)
        thirdId = self.initiate(thirdToken, ("198.51.100.3", 9))
        for size in (1600, 65000, 65535):
            payload = bytes([size % 251]) * size
            frame = encodeFrame(1, payload)
            self.protocolOf(hostToken).dataReceived(frame[:1000])
            self.protocolOf(hostToken).dataReceived(frame[1000:])
            self.assertEqual(self.frames(joinerWire), [TunnelFrame(0, payload)])
            self.protocolOf(joinerToken).dataReceived(encodeFrame(0, payload))
            self.assertEqual(self.frames(hostWire), [TunnelFrame(1, payload)])
        for size in (1600, 65000, 65498):
            payload = b"u" * size
            self.receive(encodeDatagram(thirdId, Forward(0, payload)), ("198.51.100.3", 9))
            self.assertEqual(self.frames(hostWire), [TunnelFrame(2, payload)])
        self.assertFalse(hostWire.disconnecting or joinerWire.disconnecting)
        self.assertEqual((self.relay.relayed, self.relay.dropped, self.relay.garbage), (9, 0, 0))

    def test_frameTooLargeForUdpDropped(self) -> None:
        """
        A frame larger than a UDP tunnel carries (over 65,498 bytes to an
        IPv4 client) is dropped on its way to one; the HTTP tunnel stays
        open and its next frame is relayed.
        """
        hostToken, hostWire, joinerId = self.httpHostUdpJoiner()
        self.sent()
        self.protocolOf(hostToken).dataReceived(encodeFrame(1, b"z" * 65499))
        self.assertEqual(self.sent(), [])
        self.assertEqual(self.relay.drops["too large for the receiver's tunnel"], 1)
        self.protocolOf(hostToken).dataReceived(encodeFrame(1, b"z" * 65498))
        ((datagram, _),) = self.sent()
        self.assertEqual(datagram.message, Forward(0, b"z" * 65498))
        self.assertEqual(datagram.tunnelId, joinerId)
        self.assertFalse(hostWire.disconnecting)
        self.assertEqual(self.relay.garbage, 0)

    def test_replacedByUdp(self) -> None:
        """
        A UDP tunnel with the same token replaces an HTTP tunnel, whose
        connection is closed.
        """
        token = self.hub.signer.issueAssociation()
        wire = self.upgraded(token)
        self.initiate(token, ("198.51.100.1", 1))
        self.assertTrue(wire.disconnecting)
        self.assertEqual(self.relay.tunnels[token].kind, "udp")

    def test_congestedDrops(self) -> None:
        """
        While the connection's buffer is full (the transport paused the
        tunnel) datagrams for it are dropped, not queued.
        """
        hostToken, hostWire, joinerId = self.httpHostUdpJoiner()
        protocol = self.protocolOf(hostToken)
        self.assertIs(hostWire.producer, protocol)
        protocol.pauseProducing()
        self.receive(encodeDatagram(joinerId, Forward(0, b"lost")), ("198.51.100.2", 9))
        protocol.resumeProducing()
        self.receive(encodeDatagram(joinerId, Forward(0, b"kept")), ("198.51.100.2", 9))
        self.assertEqual(self.frames(hostWire), [TunnelFrame(1, b"kept")])
        self.assertEqual(self.relay.drops["send failed"], 1)

    def test_stop(self) -> None:
        """
        Stopping the relay closes every tunnel.
        """
        token = self.hub.signer.issueAssociation()
        wire = self.upgraded(token)
        self.initiate(self.hub.signer.issueAssociation(), ("198.51.100.1", 1))
        self.relay.stop()
        self.assertTrue(wire.disconnecting)
        self.assertEqual((self.relay.tunnels, self.relay.udpTunnels), ({}, {}))


class TunnelSlotTests(_HttpTunnelMixin):
    """
    Tunnel slots are capped per client address, tied to a logged-in Blaze
    session soon after they open, and their opening is not logged at info
    level (issue 10, item 4).
    """

    def elapse(self, seconds: int) -> None:
        for _ in range(seconds):
            self.clock.advance(1)
            self.relay.tick()

    def test_oneAddressCannotTakeEverySlot(self) -> None:
        """
        The attack: 5,000 association tokens and 5,000 UDP Initiates (and
        HTTP tunnel upgrades) from one address.  That address gets
        C{limits.max_tunnels_per_address} tunnels; a real player from
        another address still gets a UDP and an HTTP tunnel, and the
        attack leaves at most a few lines in the info-level log.
        """
        events = captureLogs(self)
        attacker = "198.51.100.66"
        for port in range(5000):
            token = self.hub.signer.issueAssociation()
            self.receive(encodeDatagram(UNASSIGNED, Initiate(token)), (attacker, 10000 + port))
        for _ in range(20):
            head = self.connect(self.hub.signer.issueAssociation(), host=attacker).value()
            self.assertIn(b" 429 ", head.split(b"\r\n")[0])
        self.assertEqual(len(self.relay.tunnels), 16)
        self.assertEqual(self.relay.refused, 4984)
        # The refusal log's burst of lines, then nothing more.
        lines = infoTexts(events)
        self.assertLess(len(lines), 15, lines)

        _, token = self.players.player("shepard")
        self.initiate(token, ("203.0.113.50", 3659))
        _, other = self.players.player("liara")
        self.upgraded(other, host="203.0.113.51")
        self.assertEqual(len(self.relay.tunnels), 18)

    def test_keepAlivesDoNotHoldUnclaimedSlots(self) -> None:
        """
        A tunnel whose token no logged-in session presented is dropped
        C{limits.tunnel_login_timeout} seconds after it opened, however
        often it sends keep-alives; a logged-in player's tunnel stays.
        """
        stranger = self.hub.signer.issueAssociation()
        strangerId = self.initiate(stranger, ("198.51.100.66", 1))
        httpStranger = self.hub.signer.issueAssociation()
        strangerWire = self.upgraded(httpStranger, host="198.51.100.67")
        strangerProtocol = self.protocolOf(httpStranger)
        _, token = self.players.player("shepard")
        playerId = self.initiate(token, ("203.0.113.50", 3659))
        for _ in range(59):
            self.elapse(1)
            self.receive(encodeDatagram(strangerId, KeepAlive()), ("198.51.100.66", 1))
            strangerProtocol.dataReceived(KEEP_ALIVE_FRAME)
            self.receive(encodeDatagram(playerId, KeepAlive()), ("203.0.113.50", 3659))
        self.assertEqual(len(self.relay.tunnels), 3)
        self.elapse(1)
        self.assertEqual(list(self.relay.tunnels), [token])
        self.assertTrue(strangerWire.disconnecting)
        self.assertEqual(self.relay.unclaimed, 2)
        self.assertEqual(self.relay.perAddress.count("198.51.100.66"), 0)
        for _ in range(120):
            self.elapse(1)
            self.receive(encodeDatagram(playerId, KeepAlive()), ("203.0.113.50", 3659))
        self.assertEqual(list(self.relay.tunnels), [token])

    def test_claimedWhenTheSessionLogsIn(self) -> None:
        """
        A tunnel opened before its Blaze session logs in is kept once the
        session logs in within the deadline; when that session closes,
        the deadline starts again (at the next tick).
        """
        token = self.hub.signer.issueAssociation()
        session = self.hub.newSession("203.0.113.50", token)
        tunnelId = self.initiate(token, ("203.0.113.50", 3659))
        self.elapse(30)
        self.hub.bindPlayer(session, self.harness.createPlayer("shepard@example.org"))
        for _ in range(100):
            self.elapse(1)
            self.receive(encodeDatagram(tunnelId, KeepAlive()), ("203.0.113.50", 3659))
        self.assertIn(token, self.relay.tunnels)
        self.hub.sessionClosed(session)
        for _ in range(60):
            self.elapse(1)
            self.receive(encodeDatagram(tunnelId, KeepAlive()), ("203.0.113.50", 3659))
        self.assertIn(token, self.relay.tunnels)
        self.elapse(1)
        self.assertNotIn(token, self.relay.tunnels)

    def test_perAddressCountFollowsTunnels(self) -> None:
        """
        Replacing a tunnel (same token, same address) needs no new slot;
        the count of an address goes down when its tunnels close,
        expire or are replaced from elsewhere.
        """
        self.makeSite(maxPerAddress=2)
        tokens = [self.hub.signer.issueAssociation() for _ in range(3)]
        self.initiate(tokens[0], ("198.51.100.1", 1))
        wire = self.upgraded(tokens[1], host="198.51.100.1")
        self.receive(encodeDatagram(UNASSIGNED, Initiate(tokens[2])), ("198.51.100.1", 3))
        self.assertEqual(self.relay.refused, 1)
        self.initiate(tokens[0], ("198.51.100.1", 2))
        self.initiate(tokens[1], ("198.51.100.1", 4))
        self.assertTrue(wire.disconnecting)
        self.assertEqual(self.relay.perAddress.count("198.51.100.1"), 2)
        self.initiate(tokens[1], ("198.51.100.2", 4))
        self.assertEqual(self.relay.perAddress.count("198.51.100.1"), 1)
        self.initiate(tokens[2], ("198.51.100.1", 3))
        self.relay.stop()
        self.assertEqual(len(self.relay.perAddress), 0)

    def test_openAndCloseAtDebug(self) -> None:
        """
        Opening, replacing and closing tunnels is logged at debug level.
        """
        events = captureLogs(self)
        token = self.hub.signer.issueAssociation()
        self.initiate(token, ("198.51.100.1", 1))
        self.initiate(token, ("198.51.100.1", 2))
        self.relay.stop()
        self.assertTrue(events)
        self.assertEqual({event["log_level"] for event in events}, {LogLevel.debug})


class TapTests(TestCase):
    """
    The UDP tunnel listener of the server's service tree.
    """

    def test_listenInterface(self) -> None:
        """
        The UDP tunnel binds where the HTTP listener does.
        """
        self.assertEqual(tap.listenInterface("tcp:8080:interface=127.0.0.1"), "127.0.0.1")
        self.assertEqual(tap.listenInterface("tcp:8080"), "")
        self.assertEqual(tap.listenInterface(r"tcp6:80:interface=\:\:1"), "::1")
        self.assertEqual(tap.listenInterface("systemd:domain=INET:index=0"), "")

    @defer.inlineCallbacks
    def test_announcesExternalPort(self) -> Any:
        """
        Once listening, the listener announces C{udp_tunnel.external_port}
        (when set) and withdraws it when stopped; datagrams reach the
        protocol.
        """
        from twisted.internet import reactor

        announced: list[int | None] = []
        received: list[bytes] = []

        class Recorder(DatagramProtocol):
            def datagramReceived(self, data: bytes, addr: Any) -> None:
                received.append(data)

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        listener = tap.udpListener(port, Recorder(), "127.0.0.1", reactor,
                                   announce=announced.append, externalPort=19032)
        listener.privilegedStartService()
        listener.startService()
        self.assertEqual(announced, [19032])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"ping", ("127.0.0.1", port))
        for _ in range(100):
            if received:
                break
            yield sleep(0.01)
        self.assertEqual(received, [b"ping"])
        yield listener.stopService()
        self.assertEqual(announced, [19032, None])

    @defer.inlineCallbacks
    def test_portInUse(self) -> Any:
        """
        A UDP port that cannot be bound is one error line, no crash: the
        server runs on without announcing a UDP tunnel.
        """
        from twisted.internet import reactor

        events = captureLogs(self)
        announced: list[int | None] = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
            taken.bind(("127.0.0.1", 0))
            port = taken.getsockname()[1]
            listener = tap.udpListener(port, DatagramProtocol(), "127.0.0.1", reactor,
                                       announce=announced.append)
            listener.privilegedStartService()
            listener.startService()
        self.assertEqual(announced, [None])
        errors = [e for e in events if e.get("log_level") == LogLevel.error]
        self.assertEqual(len(errors), 1)
        self.assertIn("HTTP tunnel", errors[0]["log_format"])
        yield listener.stopService()
