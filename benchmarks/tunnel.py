# -*- test-case-name: tests.test_benchmarks -*-
"""
Tunnel relay benchmark: game datagrams relayed per second by the server.

Two measurements, on an in-memory hub (L{ServerHarness}) with a lobby of
two players, each with a UDP tunnel:

  1. relay: the cost of the relay itself, C{UdpTunnelProtocol.
     datagramReceived} (decode, route by live slot, encode, write) with a
     transport that discards what is written;
  2. loopback: the same through real UDP sockets on 127.0.0.1 (the
     server's tunnel port and two client sockets), with at most
     C{--window} datagrams in flight.

Targets (floors that catch a regression, recorded with
L{benchmarks.report}; the run exits with status 1 when one is missed): at
least L{MIN_RELAY_RATE} datagrams/s through the relay in memory and
L{MIN_LOOPBACK_RATE} end to end on loopback, for 1200-byte datagrams.
The short form (the default) relays 50000 datagrams and pumps loopback
for 1 s; C{--full} 200000 and 3 s.

Run: C{python -m benchmarks.tunnel [--full] [--count N] [--seconds S]
[--size 1200]}.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

from twisted.internet.protocol import DatagramProtocol
from twisted.python.filepath import FilePath

from benchmarks import report
from pocketrelay.server.tunnel import TunnelRelay, UdpTunnelProtocol
from pocketrelay.testing.gameclient import GameClient
from pocketrelay.testing.server import ServerHarness
from pocketrelay.testing.tunnels import tunnelLobby
from pocketrelay.tunnelwire import (
    UNASSIGNED,
    Forward,
    Initiate,
    Initiated,
    decodeDatagram,
    encodeDatagram,
)

#: Targets: datagrams per second in memory and through loopback UDP.
MIN_RELAY_RATE = 50_000
MIN_LOOPBACK_RATE = 10_000

#: Datagrams relayed in memory and seconds of loopback pumping, in the
#: short form and with C{--full}.
SHORT = (50_000, 1.0)
FULL = (200_000, 3.0)


def makeLobby() -> tuple[TunnelRelay, list[str]]:
    """
    A relay on an in-memory hub with two logged-in players in one game;
    their association tokens.
    """
    harness = ServerHarness(FilePath(tempfile.mkdtemp(prefix="tunnel-bench-")))
    tokens = tunnelLobby(harness, GameClient.ME3_ATTRIBUTES)
    return TunnelRelay(harness.hub), tokens


class _NullTransport:
    def write(self, data: bytes, addr: Any = None) -> None:
        pass


def benchRelay(count: int, size: int) -> float:
    """
    Datagrams per second through L{UdpTunnelProtocol.datagramReceived}.
    """
    relay, tokens = makeLobby()
    server = UdpTunnelProtocol(relay)
    server.makeConnection(_NullTransport())  # type: ignore[arg-type]
    for n, token in enumerate(tokens):
        server.datagramReceived(encodeDatagram(UNASSIGNED, Initiate(token)), ("10.0.0.1", 1000 + n))
    host: Any = relay.tunnels[tokens[0]]
    datagram = encodeDatagram(host.tunnelId, Forward(1, b"x" * size))
    address = ("10.0.0.1", 1000)
    started = time.perf_counter()
    for _ in range(count):
        server.datagramReceived(datagram, address)
    elapsed = time.perf_counter() - started
    assert relay.relayed == count, relay.drops
    return count / elapsed


class _Client(DatagramProtocol):
    noisy = False

    def __init__(self) -> None:
        self.tunnelId: int | None = None
        self.received = 0

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        message = decodeDatagram(data).message
        if isinstance(message, Initiated):
            self.tunnelId = message.tunnelId
        elif isinstance(message, Forward):
            self.received += 1


class _Pump:
    """
    Keeps up to C{window} datagrams in flight from C{sender} to
    C{receiver} through the relay, for C{seconds} once both tunnels are
    open.
    """

    def __init__(self, reactor: Any, sender: _Client, receiver: _Client, target: tuple[str, int],
                 size: int, window: int, seconds: float) -> None:
        self.reactor = reactor
        self.sender = sender
        self.receiver = receiver
        self.target = target
        self.size = size
        self.window = window
        self.seconds = seconds
        self.sent = 0
        self.started = 0.0
        self.baseline = 0
        self.payload = b""
        self.rate: float | None = None

    def __call__(self) -> None:
        sender, receiver = self.sender, self.receiver
        if sender.tunnelId is None or receiver.tunnelId is None or self.rate is not None:
            return
        now = time.perf_counter()
        if not self.started:
            self.started, self.baseline = now, receiver.received
            self.sent = receiver.received
            self.payload = encodeDatagram(sender.tunnelId, Forward(1, b"x" * self.size))
        elif now - self.started >= self.seconds:
            self.rate = (receiver.received - self.baseline) / (now - self.started)
            self.reactor.stop()
            return
        inFlight = self.sent - receiver.received
        # Datagrams lost on the way never arrive: forget them after a while.
        if inFlight > self.window * 4:
            self.sent = receiver.received
            inFlight = 0
        transport: Any = sender.transport
        for _ in range(max(0, self.window - inFlight)):
            transport.write(self.payload, self.target)
            self.sent += 1


def benchLoopback(seconds: float, size: int, window: int) -> float:
    """
    Datagrams per second through the relay's UDP port on 127.0.0.1.
    """
    from twisted.internet import reactor as defaultReactor
    from twisted.internet import task

    reactor: Any = defaultReactor
    relay, tokens = makeLobby()
    serverPort = reactor.listenUDP(0, UdpTunnelProtocol(relay), interface="127.0.0.1")
    target = ("127.0.0.1", serverPort.getHost().port)
    sender, receiver = _Client(), _Client()
    ports = [reactor.listenUDP(0, client, interface="127.0.0.1") for client in (sender, receiver)]
    for port, token in zip(ports, tokens, strict=True):
        port.write(encodeDatagram(UNASSIGNED, Initiate(token)), target)
    pump = _Pump(reactor, sender, receiver, target, size, window, seconds)
    loop = task.LoopingCall(pump)
    loop.start(0.0005)
    guard = reactor.callLater(seconds + 10, reactor.stop)
    reactor.run()
    if guard.active():
        guard.cancel()
    if loop.running:
        loop.stop()
    for port in [serverPort, *ports]:
        port.stopListening()
    return pump.rate or 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true",
                        help=f"{FULL[0]} datagrams in memory and {FULL[1]:g} s on loopback "
                             f"(default {SHORT[0]} and {SHORT[1]:g} s)")
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--size", type=int, default=1200)
    parser.add_argument("--window", type=int, default=64)
    args = parser.parse_args(argv)
    form = FULL if args.full else SHORT
    count = args.count or form[0]
    seconds = args.seconds or form[1]
    rate = benchRelay(count, args.size)
    figures = [report.record("tunnel", f"relay in memory, {args.size}-byte datagrams", rate,
                             "/s", atLeast=MIN_RELAY_RATE)]
    rate = benchLoopback(seconds, args.size, args.window)
    figures.append(report.record("tunnel", f"loopback UDP end to end, {args.size}-byte "
                                 "datagrams", rate, "/s", atLeast=MIN_LOOPBACK_RATE))
    print(f"loopback UDP: {rate * args.size * 8 / 1e6:,.0f} Mbit/s of payload")
    return report.exitCode(figures)


if __name__ == "__main__":
    raise SystemExit(main())
