# -*- test-case-name: tests.test_tunnel_server -*-
"""
The tunnel relay: game traffic of players behind NAT, carried through the
server.

A tunnelled game tells its joiners that the "dedicated server" is at
127.0.0.1:42132, where the player's Pocket Relay client listens; each
client opens one tunnel to this server and sends the game's datagrams
through it, each tagged with the slot of the player it is for.  The relay
delivers it to that player's tunnel, tagged with the sender's slot (see
C{docs/tunnel.md}).

Tunnels come in two transports, both handled by one L{TunnelRelay}:
  - L{UdpTunnelProtocol}: the UDP port C{udp_tunnel.port}, one socket for
    every tunnel (L{UdpTunnel});
  - L{tunnelResource}: C{GET /api/server/tunnel} with C{Upgrade: tunnel},
    one TCP connection per tunnel (L{HttpTunnel}, L{HttpTunnelProtocol}).

A tunnel carries the association token its client got from
C{/api/server}; the client sends the same token on its Blaze upgrades.
The relay links a tunnel to the live Blaze session with that token (never
by IP address), and routes on the games' B{live} membership: a message to
index M{i} goes to whoever is in slot M{i} of the sender's game now, and
arrives tagged with the sender's slot now.  Nothing about slots is cached,
so when a player leaves and the others move up, traffic follows.

The relay sends a keep-alive on every tunnel each L{KEEP_ALIVE_INTERVAL}
seconds and removes a tunnel nothing came from for L{TUNNEL_TIMEOUT}
seconds; L{TunnelRelay.tick} does both and runs on a timer.

Every game datagram the wire formats carry is relayed (up to 65,535
bytes); one larger than the receiver's tunnel carries (a UDP tunnel holds
65,498 bytes on IPv4) is dropped and counted, and both tunnels stay open.

Tunnel slots are bounded (see C{docs/operations.md}, "Security"):
  - at most L{TunnelRelay.maxTunnels} in all and
    L{TunnelRelay.maxPerAddress} per client address (an IPv6 /64), so one
    address cannot take every slot;
  - one tunnel per association token, and a Blaze session presents one
    token: a session holds at most one tunnel;
  - a tunnel is I{claimed} while the live Blaze session that presented its
    token is logged in; one unclaimed for L{TunnelRelay.claimTimeout}
    seconds is dropped, whatever keep-alives it sends (its client opens a
    new one when it needs it).
Opening and closing tunnels is logged at debug level; drops for silence
or for being unclaimed are summed up in at most one line per kind every
L{LOG_INTERVAL} seconds.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import TYPE_CHECKING, Any

from twisted.internet import error
from twisted.internet.interfaces import IPushProducer, IReactorTime
from twisted.internet.protocol import DatagramProtocol, Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.server import Request
from zope.interface import implementer

from pocketrelay.addresses import clientHost
from pocketrelay.server.limits import ConnectionCounter, addressKey
from pocketrelay.server.web.upgrade import UpgradeRefused, UpgradeResource
from pocketrelay.tunnelwire import (
    KEEP_ALIVE_FRAME,
    KEEP_ALIVE_INDEX,
    MAX_LENGTH,
    UNASSIGNED,
    Forward,
    FrameDecoder,
    Initiate,
    Initiated,
    KeepAlive,
    TunnelWireError,
    decodeDatagram,
    encodeDatagram,
    encodeFrame,
    maxForwardPayload,
)

if TYPE_CHECKING:
    from pocketrelay.server.hub import Hub
    from pocketrelay.server.web.upgrade import UpgradeResource

__all__ = [
    "KEEP_ALIVE_INTERVAL",
    "MAX_ASSOCIATION_LENGTH",
    "MAX_PAYLOAD",
    "TICK_INTERVAL",
    "TUNNEL_TIMEOUT",
    "HttpTunnel",
    "HttpTunnelProtocol",
    "Tunnel",
    "TunnelRelay",
    "UdpTunnel",
    "UdpTunnelProtocol",
    "tunnelResource",
]

#: Seconds between the keep-alives the server sends on each tunnel.
KEEP_ALIVE_INTERVAL = 10.0

#: Seconds of silence after which a tunnel is removed.
TUNNEL_TIMEOUT = 40.0

#: Seconds between two runs of L{TunnelRelay.tick}.
TICK_INTERVAL = 1.0

#: The largest game datagram relayed: all that the wire formats can
#: describe (ME3's largest is about 1.25 KB, but the reference programs
#: relay any length).  What the receiver's tunnel cannot carry (a UDP
#: tunnel carries at most 65,498 bytes over IPv4) is dropped, see
#: L{Tunnel.maxPayload}.
MAX_PAYLOAD = MAX_LENGTH

#: The longest association token looked at (ours are about 70 bytes).
MAX_ASSOCIATION_LENGTH = 512

#: The default bound on open tunnels.
MAX_TUNNELS = 5000

#: The default bound on open tunnels per client address (an IPv6 /64), as
#: many as Blaze sessions per address by default.
MAX_TUNNELS_PER_ADDRESS = 16

#: Seconds a tunnel may stay without a logged-in Blaze session presenting
#: its association token before it is dropped.
CLAIM_TIMEOUT = 60.0

#: Seconds between two log lines about the same kind of bad traffic.
LOG_INTERVAL = 10.0

#: Largest UDP datagram read (bigger ones are cut and then rejected).
MAX_DATAGRAM = 65536


class _Throttle:
    """
    Decides when a recurring complaint may be logged: the first at once,
    then at most one per C{interval} seconds per key, with the number of
    occurrences since the last line.
    """

    def __init__(self, clock: IReactorTime, interval: float = LOG_INTERVAL) -> None:
        self.clock = clock
        self.interval = interval
        self._last: dict[str, float] = {}
        self._pending: Counter[str] = Counter()

    def __call__(self, key: str) -> int:
        """
        Count one occurrence of C{key}.

        @return: the occurrences to report if a line is due now, else 0.
        """
        self._pending[key] += 1
        now = self.clock.seconds()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            return 0
        self._last[key] = now
        return self._pending.pop(key)


class Tunnel:
    """
    One client's tunnel, whatever its transport.

    @ivar association: the association token it was opened with.
    @ivar peer: a printable address of the client, for logs.
    @ivar addressKey: the client address it is counted under (see
        L{pocketrelay.server.limits.addressKey}); it stays the same when
        the client's port or address changes.
    @ivar lastSeen: when something last came from it.
    @ivar lastKeepAlive: when the relay last sent it a keep-alive.
    @ivar unclaimedSince: since when no logged-in session has presented
        its association token, or L{None} while one does.
    """

    kind = "?"

    def __init__(self, association: str, peer: str, now: float, host: str | None = None) -> None:
        self.association = association
        self.peer = peer
        self.addressKey = addressKey(host if host is not None else peer.rpartition(":")[0])
        self.lastSeen = now
        self.lastKeepAlive = now
        self.unclaimedSince: float | None = now
        self.counted = False
        self.closed = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.peer}>"

    @property
    def maxPayload(self) -> int:
        """
        The largest game datagram this tunnel's transport carries: all the
        format describes, unless the transport holds less.
        """
        return MAX_LENGTH

    def send(self, index: int, payload: bytes) -> bool:
        """
        Send a game datagram from the player in slot C{index}.

        @return: whether it was handed to the transport.
        """
        raise NotImplementedError()

    def sendKeepAlive(self) -> None:
        """
        Send a keep-alive.
        """
        raise NotImplementedError()

    def close(self) -> None:
        """
        The relay drops this tunnel (replaced or expired).
        """
        self.closed = True


class UdpTunnel(Tunnel):
    """
    A tunnel over the relay's UDP port.

    @ivar tunnelId: the id its client puts in each datagram.
    @ivar address: the client's current (host, port); any datagram with
        the tunnel's id moves it (NAT rebinding).
    """

    kind = "udp"

    def __init__(
        self,
        server: UdpTunnelProtocol,
        tunnelId: int,
        association: str,
        address: tuple[str, int],
        now: float,
    ) -> None:
        super().__init__(association, _showAddress(address), now, host=str(address[0]))
        self.server = server
        self.tunnelId = tunnelId
        self.address = address

    @property
    def maxPayload(self) -> int:
        """
        What one Forward datagram to the tunnel's current address carries.
        """
        return maxForwardPayload(str(self.address[0]))

    def send(self, index: int, payload: bytes) -> bool:
        return self.server.sendTo(
            self.address, encodeDatagram(self.tunnelId, Forward(index, payload))
        )

    def sendKeepAlive(self) -> None:
        self.server.sendTo(self.address, encodeDatagram(self.tunnelId, KeepAlive()))

    def close(self) -> None:
        super().close()
        if self.server.relay.udpTunnels.get(self.tunnelId) is self:
            del self.server.relay.udpTunnels[self.tunnelId]


class HttpTunnel(Tunnel):
    """
    A tunnel over an upgraded HTTP connection.
    """

    kind = "http"

    def __init__(
        self,
        protocol: HttpTunnelProtocol,
        association: str,
        peer: str,
        now: float,
        host: str | None = None,
    ) -> None:
        super().__init__(association, peer, now, host)
        self.protocol = protocol

    def send(self, index: int, payload: bytes) -> bool:
        return self.protocol.sendFrame(index, payload)

    def sendKeepAlive(self) -> None:
        self.protocol.sendKeepAlive()

    def close(self) -> None:
        super().close()
        self.protocol.close()


def _showAddress(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


class TunnelRelay:
    """
    The controller of every tunnel: opens, replaces and expires them, and
    routes game datagrams between them by live game membership.

    At most one tunnel per association token: a new one replaces the old.

    @ivar maxTunnels: the most tunnels open at once.
    @ivar maxPerAddress: the most tunnels open at once from one client
        address; 0 for no limit.
    @ivar claimTimeout: seconds a tunnel may stay unclaimed (no logged-in
        session presented its token) before it is dropped.

    Counters (plain attributes, for the dashboard and tests):

    @ivar relayed: game datagrams delivered to another tunnel.
    @ivar relayedBytes: their payload bytes.
    @ivar dropped: game datagrams not delivered; L{drops} counts them by
        reason.
    @ivar garbage: datagrams or frames that could not be decoded.
    @ivar refused: tunnels not opened (bad token, tunnel limit).
    @ivar opened: tunnels opened.
    @ivar expired: tunnels removed after L{timeout} seconds of silence.
    @ivar unclaimed: tunnels removed after L{claimTimeout} seconds without
        a logged-in session.
    """

    log = Logger()

    def __init__(
        self,
        hub: Hub,
        clock: IReactorTime | None = None,
        maxTunnels: int = MAX_TUNNELS,
        maxPayload: int = MAX_PAYLOAD,
        keepAliveInterval: float = KEEP_ALIVE_INTERVAL,
        timeout: float = TUNNEL_TIMEOUT,
        rng: random.Random | None = None,
        maxPerAddress: int | None = None,
        claimTimeout: float | None = None,
    ) -> None:
        """
        @param maxPerAddress: default: the C{limits.max_tunnels_per_address}
            setting.
        @param claimTimeout: default: the C{limits.tunnel_login_timeout}
            setting.
        """
        self.hub = hub
        self.clock: IReactorTime = clock if clock is not None else hub.clock
        self.maxTunnels = maxTunnels
        settings = hub.settings
        self.maxPerAddress: int = (
            maxPerAddress if maxPerAddress is not None
            else settings["limits.max_tunnels_per_address"]
        )
        self.claimTimeout: float = (
            claimTimeout if claimTimeout is not None else settings["limits.tunnel_login_timeout"]
        )
        #: Open tunnels per client address.
        self.perAddress = ConnectionCounter(self.maxPerAddress)
        self.maxPayload = maxPayload
        self.keepAliveInterval = keepAliveInterval
        self.timeout = timeout
        self.rng = rng if rng is not None else random.SystemRandom()
        #: The open tunnel of each association token.
        self.tunnels: dict[str, Tunnel] = {}
        #: The open UDP tunnels by tunnel id.
        self.udpTunnels: dict[int, UdpTunnel] = {}
        #: The UDP tunnel port announced to clients (C{tunnel_port} in
        #: C{/api/server}), or L{None} while there is no UDP tunnel.
        self.udpPort: int | None = None
        self.relayed = 0
        self.relayedBytes = 0
        self.dropped = 0
        self.drops: Counter[str] = Counter()
        self.garbage = 0
        self.refused = 0
        self.opened = 0
        self.expired = 0
        self.unclaimed = 0
        self.throttle = _Throttle(self.clock)

    # -- tunnels

    @property
    def full(self) -> bool:
        """
        Whether the tunnel limit is reached.
        """
        return len(self.tunnels) >= self.maxTunnels

    def refusal(self, association: str, host: str) -> str | None:
        """
        Whether a new tunnel for C{association} from C{host} may open.  A
        tunnel replacing the open one of its association from the same
        address is always allowed.

        @return: L{None} if it may, else why not.
        """
        existing = self.tunnels.get(association)
        key = addressKey(host)
        if existing is not None and existing.addressKey == key:
            return None
        if existing is None and self.full:
            return f"{self.maxTunnels} tunnels open"
        if not self.perAddress.allowed(key):
            return f"{self.perAddress.count(key)} tunnels open from this address"
        return None

    def verify(self, association: str) -> bool:
        """
        Whether C{association} is a token this server issued.
        """
        return len(association) <= MAX_ASSOCIATION_LENGTH and self.hub.signer.verifyAssociation(
            association
        )

    def newTunnelId(self) -> int:
        """
        A random tunnel id, not L{UNASSIGNED} and not in use.
        """
        while True:
            tunnelId = self.rng.getrandbits(32)
            if tunnelId != UNASSIGNED and tunnelId not in self.udpTunnels:
                return tunnelId

    def add(self, tunnel: Tunnel) -> None:
        """
        Make C{tunnel} the tunnel of its association; an older one is
        closed.
        """
        old = self.tunnels.get(tunnel.association)
        self.tunnels[tunnel.association] = tunnel
        if isinstance(tunnel, UdpTunnel):
            self.udpTunnels[tunnel.tunnelId] = tunnel
        if not tunnel.counted:
            tunnel.counted = True
            self.perAddress.add(tunnel.addressKey)
        self.opened += 1
        self._claim(tunnel, self.clock.seconds())
        if old is not None and old is not tunnel:
            self._uncount(old)
            self.log.debug(
                "Tunnel from {peer} ({kind}) replaces the one from {old} ({oldKind})",
                peer=tunnel.peer, kind=tunnel.kind, old=old.peer, oldKind=old.kind,
            )
            old.close()
        else:
            self.log.debug("Tunnel opened from {peer} ({kind})", peer=tunnel.peer, kind=tunnel.kind)

    def _uncount(self, tunnel: Tunnel) -> None:
        if tunnel.counted:
            tunnel.counted = False
            self.perAddress.release(tunnel.addressKey)

    def remove(self, tunnel: Tunnel) -> None:
        """
        Forget C{tunnel} (its transport is gone); a replaced tunnel is
        already forgotten.
        """
        if self.tunnels.get(tunnel.association) is tunnel:
            del self.tunnels[tunnel.association]
            self._uncount(tunnel)
            self.log.debug("Tunnel from {peer} ({kind}) closed", peer=tunnel.peer, kind=tunnel.kind)
        if isinstance(tunnel, UdpTunnel) and self.udpTunnels.get(tunnel.tunnelId) is tunnel:
            del self.udpTunnels[tunnel.tunnelId]

    def _claim(self, tunnel: Tunnel, now: float) -> bool:
        """
        Note whether a logged-in session presents C{tunnel}'s token now.

        @return: whether C{tunnel} may stay: claimed, or unclaimed for less
            than L{claimTimeout} seconds.
        """
        session = self.hub.sessionForAssociation(tunnel.association)
        player = session.player if session is not None else None
        if player is not None:
            if tunnel.unclaimedSince is not None:
                tunnel.unclaimedSince = None
                self.log.info(
                    "Tunnel from {peer} ({kind}) belongs to player {name} ({playerId})",
                    peer=tunnel.peer, kind=tunnel.kind, name=player.displayName,
                    playerId=player.id,
                )
            return True
        if tunnel.unclaimedSince is None:
            # Its session logged out or closed: the deadline starts again.
            tunnel.unclaimedSince = now
        return now - tunnel.unclaimedSince < self.claimTimeout

    def seen(self, tunnel: Tunnel) -> None:
        """
        Something arrived from C{tunnel}.
        """
        tunnel.lastSeen = self.clock.seconds()

    def tick(self) -> None:
        """
        Send keep-alives that are due and remove silent tunnels.
        """
        now = self.clock.seconds()
        for tunnel in list(self.tunnels.values()):
            if now - tunnel.lastSeen >= self.timeout:
                self.expired += 1
                self.log.debug(
                    "Tunnel from {peer} ({kind}) silent for {seconds:.0f} s; removed",
                    peer=tunnel.peer, kind=tunnel.kind, seconds=now - tunnel.lastSeen,
                )
                self.complain("silent", "Removed tunnels silent for {seconds:g} s",
                              seconds=self.timeout)
                self.remove(tunnel)
                tunnel.close()
            elif not self._claim(tunnel, now):
                self.unclaimed += 1
                self.log.debug(
                    "Tunnel from {peer} ({kind}) has no logged-in session after "
                    "{seconds:g} s; removed",
                    peer=tunnel.peer, kind=tunnel.kind, seconds=self.claimTimeout,
                )
                self.complain("unclaimed", "Removed tunnels without a logged-in Blaze "
                              "session after {seconds:g} s", seconds=self.claimTimeout)
                self.remove(tunnel)
                tunnel.close()
            elif now - tunnel.lastKeepAlive >= self.keepAliveInterval:
                tunnel.lastKeepAlive = now
                tunnel.sendKeepAlive()

    def stop(self) -> None:
        """
        Close every tunnel (the server is stopping).
        """
        for tunnel in list(self.tunnels.values()):
            self.remove(tunnel)
            tunnel.close()

    # -- routing

    def drop(self, reason: str) -> bool:
        """
        Count a game datagram that is not delivered.

        @return: L{False}.
        """
        self.dropped += 1
        self.drops[reason] += 1
        return False

    def forward(self, source: Tunnel, index: int, payload: bytes) -> bool:
        """
        Route a game datagram from C{source}, meant for the player in slot
        C{index} of the sender's game; it arrives tagged with the sender's
        slot.  Slots are read from the game as it is now.

        @return: whether it was delivered to a tunnel.
        """
        if len(payload) > self.maxPayload:
            return self.drop("too large")
        hub = self.hub
        session = hub.sessionForAssociation(source.association)
        player = session.player if session is not None else None
        if player is None:
            return self.drop("no player")
        game = hub.games.gameOf(player.id)
        if game is None:
            return self.drop("not in a game")
        players = game.players
        if index >= len(players):
            return self.drop("empty slot")
        targetId = players[index].playerId
        if targetId == player.id:
            return self.drop("to itself")
        slot = game.slotOf(player.id)
        if slot is None:  # pragma: no cover (gameOf and players agree)
            return self.drop("not in a game")
        targetSession = hub.online.get(targetId)
        association = targetSession.association if targetSession is not None else None
        target = self.tunnels.get(association) if association is not None else None
        if target is None:
            return self.drop("no tunnel")
        if len(payload) > target.maxPayload:
            self.complain(
                "too large", "Dropped a {size}-byte game datagram from {peer}: the {kind} "
                "tunnel of its receiver carries at most {limit} bytes",
                size=len(payload), peer=source.peer, kind=target.kind, limit=target.maxPayload,
            )
            return self.drop("too large for the receiver's tunnel")
        if not target.send(slot, payload):
            return self.drop("send failed")
        self.relayed += 1
        self.relayedBytes += len(payload)
        return True

    # -- complaints

    def complain(self, key: str, message: str, **fields: Any) -> None:
        """
        Log a recurring problem at most every few seconds per C{key}.
        """
        count = self.throttle(key)
        if count:
            self.log.info(message + " ({count} since the last report)", count=count, **fields)


class UdpTunnelProtocol(DatagramProtocol):
    """
    The relay's UDP port: one socket for every UDP tunnel.
    """

    log = Logger()
    noisy = False

    def __init__(self, relay: TunnelRelay) -> None:
        self.relay = relay

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        relay = self.relay
        try:
            datagram = decodeDatagram(data)
        except TunnelWireError as e:
            relay.garbage += 1
            relay.complain("udp garbage", "Ignored a bad tunnel datagram from {peer}: {reason}",
                           peer=_showAddress(addr), reason=str(e))
            return
        message = datagram.message
        if isinstance(message, Initiate):
            self._initiate(message.association, addr)
            return
        tunnel = relay.udpTunnels.get(datagram.tunnelId)
        if tunnel is None:
            relay.drop("unknown tunnel")
            relay.complain("udp unknown", "Ignored a datagram for unknown tunnel {tunnelId} "
                           "from {peer}", tunnelId=datagram.tunnelId, peer=_showAddress(addr))
            return
        if tunnel.address != addr:
            self.log.debug("Tunnel {tunnelId} moved from {old} to {new}",
                           tunnelId=tunnel.tunnelId, old=tunnel.peer, new=_showAddress(addr))
            tunnel.address = addr
            tunnel.peer = _showAddress(addr)
        relay.seen(tunnel)
        if isinstance(message, Forward):
            relay.forward(tunnel, message.index, message.payload)
        elif not isinstance(message, KeepAlive):
            relay.garbage += 1
            relay.complain("udp unexpected", "Ignored an unexpected {kind} datagram from {peer}",
                           kind=type(message).__name__, peer=tunnel.peer)

    def _initiate(self, association: str, addr: Any) -> None:
        relay = self.relay
        if not relay.verify(association):
            relay.refused += 1
            relay.complain("udp association", "Refused a tunnel from {peer}: invalid "
                           "association token", peer=_showAddress(addr))
            return
        existing = relay.tunnels.get(association)
        if isinstance(existing, UdpTunnel) and existing.address == addr:
            # A repeated Initiate (our answer was lost): same tunnel.
            relay.seen(existing)
            self._initiated(existing)
            return
        refusal = relay.refusal(association, str(addr[0]))
        if refusal is not None:
            relay.refused += 1
            relay.complain("udp refused", "Refused a tunnel from {peer}: {reason}",
                           peer=_showAddress(addr), reason=refusal)
            return
        tunnel = UdpTunnel(self, relay.newTunnelId(), association, addr, relay.clock.seconds())
        relay.add(tunnel)
        self._initiated(tunnel)

    def _initiated(self, tunnel: UdpTunnel) -> None:
        self.sendTo(tunnel.address, encodeDatagram(tunnel.tunnelId, Initiated(tunnel.tunnelId)))

    def sendTo(self, address: Any, data: bytes) -> bool:
        """
        Send one datagram; a failure is counted and logged, not raised.
        """
        if self.transport is None:
            return False
        try:
            self.transport.write(data, address)
        except (OSError, error.MessageLengthError) as e:
            self.relay.complain("udp send", "Cannot send to tunnel {peer}: {reason}",
                                peer=_showAddress(address), reason=str(e))
            return False
        return True

    def stopProtocol(self) -> None:
        for tunnel in list(self.relay.udpTunnels.values()):
            if tunnel.server is self:
                self.relay.remove(tunnel)
                tunnel.close()


@implementer(IPushProducer)
class HttpTunnelProtocol(Protocol):
    """
    One HTTP tunnel after C{101 Switching Protocols}.

    While the connection's send buffer is full (the transport paused us as
    its producer) game datagrams for it are dropped, not queued: they are
    real-time traffic.
    """

    log = Logger()

    def __init__(
        self, relay: TunnelRelay, association: str, peer: str, host: str | None = None
    ) -> None:
        """
        @param host: the client's address (what it is counted under);
            default: C{peer} without its port.
        """
        self.relay = relay
        self.association = association
        self.peer = peer
        self.host = host
        # Every frame the format describes is read; one larger than the
        # relay passes on is dropped by TunnelRelay.forward, not the tunnel.
        self.decoder = FrameDecoder()
        self.tunnel: HttpTunnel | None = None
        self.congested = False
        self._closing = False

    def connectionMade(self) -> None:
        self.transport.registerProducer(self, True)  # type: ignore[union-attr]
        self.tunnel = HttpTunnel(
            self, self.association, self.peer, self.relay.clock.seconds(), self.host
        )
        self.relay.add(self.tunnel)

    def dataReceived(self, data: bytes) -> None:
        tunnel = self.tunnel
        if tunnel is None or self._closing:
            return
        relay = self.relay
        try:
            frames = self.decoder.feed(data)
        except TunnelWireError as e:
            relay.garbage += 1
            self.log.info("Closing the HTTP tunnel from {peer}: {reason}", peer=self.peer,
                          reason=str(e))
            self.close()
            return
        relay.seen(tunnel)
        for frame in frames:
            if frame.index == KEEP_ALIVE_INDEX:
                continue
            relay.forward(tunnel, frame.index, frame.payload)

    def sendFrame(self, index: int, payload: bytes) -> bool:
        """
        Send one game datagram, unless the connection is congested.
        """
        if self.transport is None or self._closing or self.congested:
            return False
        self.transport.write(encodeFrame(index, payload))
        return True

    def sendKeepAlive(self) -> None:
        """
        Send the keep-alive frame.
        """
        if self.transport is not None and not self._closing:
            self.transport.write(KEEP_ALIVE_FRAME)

    def close(self) -> None:
        """
        Close the connection.
        """
        if self._closing:
            return
        self._closing = True
        transport: Any = self.transport
        if transport is not None:
            transport.unregisterProducer()
            transport.loseConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._closing = True
        if self.tunnel is not None:
            self.relay.remove(self.tunnel)
            self.tunnel.closed = True

    # -- IPushProducer: the transport tells us when its buffer is full.

    def pauseProducing(self) -> None:
        self.congested = True

    def resumeProducing(self) -> None:
        self.congested = False

    def stopProducing(self) -> None:
        self.congested = True


def tunnelResource(relay: TunnelRelay) -> UpgradeResource:
    """
    C{GET /api/server/tunnel}: the HTTP tunnel.  The request needs
    C{Upgrade: tunnel} (else 426) and a valid C{x-association} token
    (else 400); past the tunnel limits it is refused with 503 (all slots
    taken) or 429 (too many from the client's address).
    """
    settings = relay.hub.settings

    def buildProtocol(request: Request) -> HttpTunnelProtocol:
        raw = request.getHeader(b"x-association")
        if raw is None:
            raise UpgradeRefused(400, "the x-association header is missing")
        association = raw.decode("ascii", "replace").strip()
        if not relay.verify(association):
            raise UpgradeRefused(400, "the association token is not valid")
        peer = clientHost(request, settings["reverse_proxy"], settings["trusted_proxies"])
        if relay.full and association not in relay.tunnels:
            raise UpgradeRefused(503, "the server has reached its tunnel limit")
        if relay.refusal(association, peer) is not None:
            raise UpgradeRefused(
                429, "too many tunnels from your address; close one and retry"
            )
        address = request.getClientAddress()
        port = getattr(address, "port", None)
        return HttpTunnelProtocol(relay, association, f"{peer}:{port}" if port else peer, peer)

    return UpgradeResource(b"tunnel", buildProtocol, refusals=relay.hub.limits.refusals)
