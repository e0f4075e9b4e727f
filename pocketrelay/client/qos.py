# -*- test-case-name: tests.test_client_qos -*-
"""
The local QoS responder (UDP 127.0.0.1:42130).

After fetching C{/qos/qos} through the HTTP proxy the game sends UDP
probes here.  Each probe is answered, to its sender, with::

    the probe itself || public IPv4 (4 bytes) || sender's UDP port (u16 BE)
                     || 00 00 00 00

so a 20-byte address probe gets a 30-byte answer and a 1200-byte
bandwidth probe a 1210-byte one, as the Pocket Relay client answers.

The public address is the one the server saw this client at (the
C{client_address} of C{GET {base}api/server}, which pocketrelay servers
send).  Without it, it is the address of the local interface that routes
to the server (a UDP socket "connected" towards the server, which sends
nothing), and failing that C{0.0.0.0}, which the server replaces by the
address it sees.  No third-party address service is asked.

Datagrams too short to be a probe, or too long, are logged (at most one
line per L{GARBAGE_LOG_INTERVAL} seconds) and dropped.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from pocketrelay.client.discovery import ServerInfo

__all__ = [
    "GARBAGE_LOG_INTERVAL",
    "MAX_PROBE",
    "MIN_PROBE",
    "QOS_PORT",
    "QosProbeError",
    "QosProtocol",
    "RateLimiter",
    "localAddressTowards",
    "publicAddress",
    "qosReply",
]

#: Where the game sends its QoS probes.
QOS_PORT = 42130

#: The smallest probe answered: the 16-byte probe header.
MIN_PROBE = 16

#: The largest probe answered (the game's bandwidth probes are 1200 bytes).
MAX_PROBE = 1500

#: Seconds between two log lines about dropped datagrams.
GARBAGE_LOG_INTERVAL = 10.0

#: What is reported when no address is known; the server replaces it.
UNKNOWN_ADDRESS = "0.0.0.0"


class QosProbeError(ValueError):
    """
    A datagram is not a QoS probe.
    """


def qosReply(probe: bytes, address: str, port: int) -> bytes:
    """
    The answer to a QoS probe.

    @param probe: the datagram received.
    @param address: the public IPv4 address to report.
    @param port: the UDP port the probe came from.
    @raise QosProbeError: if C{probe} is shorter than L{MIN_PROBE} or
        longer than L{MAX_PROBE} bytes.
    """
    if len(probe) < MIN_PROBE:
        raise QosProbeError(f"{len(probe)} bytes, shorter than a {MIN_PROBE}-byte probe header")
    if len(probe) > MAX_PROBE:
        raise QosProbeError(f"{len(probe)} bytes, longer than the {MAX_PROBE}-byte limit")
    return probe + ipaddress.IPv4Address(address).packed + port.to_bytes(2, "big") + bytes(4)


class RateLimiter:
    """
    Lets one event through per C{interval} seconds and counts the others.
    """

    def __init__(self, clock: IReactorTime, interval: float) -> None:
        self.clock = clock
        self.interval = interval
        self._last: float | None = None
        self.suppressed = 0

    def allow(self) -> int | None:
        """
        @return: L{None} if this event should be suppressed, else how many
            were suppressed since the last one let through.
        """
        now = self.clock.seconds()
        if self._last is not None and now - self._last < self.interval:
            self.suppressed += 1
            return None
        self._last = now
        count, self.suppressed = self.suppressed, 0
        return count


class QosProtocol(DatagramProtocol):
    """
    Answers the game's QoS probes.

    @ivar address: the public IPv4 address reported.
    @ivar answered: probes answered.
    @ivar dropped: datagrams dropped.
    """

    noisy = False
    log = Logger()

    def __init__(self, address: str, clock: IReactorTime) -> None:
        ipaddress.IPv4Address(address)
        self.address = address
        self.answered = 0
        self.dropped = 0
        self._limiter = RateLimiter(clock, GARBAGE_LOG_INTERVAL)

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        host, port = addr[0], addr[1]
        try:
            reply = qosReply(datagram, self.address, port)
        except QosProbeError as e:
            self.dropped += 1
            suppressed = self._limiter.allow()
            if suppressed is not None:
                self.log.warn(
                    "QoS: ignoring a datagram from {host}:{port}: {reason}{more}",
                    host=host,
                    port=port,
                    reason=str(e),
                    more=f" ({suppressed} more since the last report)" if suppressed else "",
                )
            return
        try:
            self.transport.write(reply, (host, port))  # type: ignore[union-attr]
        except OSError as e:
            self.log.debug("QoS: cannot answer {host}:{port}: {error}", host=host, port=port, error=e)
            return
        self.answered += 1


SocketFactory = Callable[[int, int], Any]


def localAddressTowards(
    host: str, port: int, socketFactory: SocketFactory = socket.socket
) -> str | None:
    """
    The IPv4 address of the local interface that routes to C{host} (an
    IPv4 address): a UDP socket is connected towards it, which sends
    nothing, and its local address read.

    @return: the address, or L{None} if there is no route.
    """
    try:
        with socketFactory(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((host, port))
            address = s.getsockname()[0]
    except OSError:
        return None
    if not isinstance(address, str) or address == UNKNOWN_ADDRESS:
        return None
    return address


def publicAddress(
    server: ServerInfo,
    resolve: Callable[[str], defer.Deferred[str]],
    socketFactory: SocketFactory = socket.socket,
) -> defer.Deferred[str]:
    """
    The IPv4 address the QoS answers report: the server's view of this
    client if it gave one, else the local address that routes to the
    server, else C{0.0.0.0}.

    @param resolve: resolves a host name to an IPv4 address (the
        reactor's C{resolve}).
    """
    if server.clientAddress:
        return defer.succeed(server.clientAddress)
    host = server.url.host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        d = resolve(host)
    else:
        if isinstance(address, ipaddress.IPv6Address):
            return defer.succeed(UNKNOWN_ADDRESS)
        d = defer.succeed(host)

    def towards(ip: str) -> str:
        return localAddressTowards(ip, server.url.port, socketFactory) or UNKNOWN_ADDRESS

    def failed(failure: Failure) -> str:
        return UNKNOWN_ADDRESS

    d.addCallback(towards)
    d.addErrback(failed)
    return d
