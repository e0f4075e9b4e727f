# -*- test-case-name: tests.test_benchmarks -*-
"""
Flood benchmark: one address floods the server with Blaze pings while a
player from another address plays on.

The server runs as C{twistd -n pocketrelay-server} in its own process on
a loopback port with its default limits.  This process drives, with the
real reactor:

  - the victim: a simulated game from C{127.0.0.2} (its socket is bound
    there; the whole 127/8 is loopback on Linux, so the server sees
    another client address) that creates its account, logs in and then
    pings every 100 ms, as fast as a game ever would (it pings every 15 s);
  - the flood: C{--flooders} (16, the per-address session cap) Blaze
    sessions from C{127.0.0.1} that write Util.ping requests as fast as
    the connection takes them, without waiting for replies;
  - a monitor: C{GET /api/server/health} every 250 ms from C{127.0.0.3}.

Phases: the victim pings alone for C{--baseline} seconds, then during the
flood for C{--seconds} seconds.  Target (issue 10, item 9): the victim's
ping p99 during the flood is at most 50 ms.

Run: C{python -m benchmarks.flood} (about 30 s), C{--full} for a two
minute flood.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol
from twisted.web.client import Agent, readBody
from zope.interface import implementer

from benchmarks import report
from benchmarks.sessions import freePort, percentile, rss, startServer
from pocketrelay.blaze.frames import Frame, FrameDecoder, MessageType
from pocketrelay.blaze.ids import Component, UtilCommand
from pocketrelay.testing.gameclient import GameClient, UpgradingProtocol

BENCHMARK = "flood"

#: The victim's ping p99 target during the flood, in milliseconds.
PING_P99_TARGET = 50.0

#: One write of the flood: 1,000 Util.ping requests.
_PINGS = b"".join(
    Frame(Component.UTIL, UtilCommand.PING, MessageType.REQUEST, seq).encode()
    for seq in range(1000)
)


@implementer(IPushProducer)
class Flooder(Protocol):
    """
    After the upgrade: writes pings whenever the connection takes more,
    reads and discards the replies.

    @ivar received: replies received.
    """

    def __init__(self) -> None:
        self.received = 0
        self.decoder = FrameDecoder()
        self.paused = False
        self.running = False
        self.lost = False

    def connectionMade(self) -> None:
        self.transport.registerProducer(self, True)  # type: ignore[union-attr]

    def start(self) -> None:
        self.running = True
        self.resumeProducing()

    def stop(self) -> None:
        self.running = False
        self.transport.loseConnection()  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        self.received += len(self.decoder.feed(data))

    def connectionLost(self, reason: Any = None) -> None:
        self.lost = True
        self.running = False

    # -- IPushProducer: write while the transport is not full.

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        # Write until the transport pauses us (its buffer is full); a few
        # writes per call so that this process stays responsive.
        for _ in range(8):
            if self.paused or not self.running or self.lost:
                return
            self.transport.write(_PINGS)  # type: ignore[union-attr]
        from twisted.internet import reactor

        reactor.callLater(0, self._more)

    def _more(self) -> None:
        if not self.paused:
            self.resumeProducing()

    def stopProducing(self) -> None:
        self.running = False


class Bench:
    def __init__(self, reactor: Any, port: int, flooders: int) -> None:
        self.reactor = reactor
        self.port = port
        self.flooderCount = flooders
        self.flooders: list[Flooder] = []
        self.pings: dict[str, list[float]] = {"baseline": [], "flood": []}
        self.health: dict[str, list[float]] = {"baseline": [], "flood": []}
        self.phase = "baseline"
        self.errors = 0

    def endpoint(self, source: str) -> TCP4ClientEndpoint:
        return TCP4ClientEndpoint(
            self.reactor, "127.0.0.1", self.port, timeout=30, bindAddress=(source, 0)
        )

    @defer.inlineCallbacks
    def victim(self) -> Any:
        client = GameClient(clock=self.reactor)
        upgrading = client.upgrading()
        yield connectProtocol(self.endpoint("127.0.0.2"), upgrading)
        yield upgrading.upgraded
        yield client.preAuth()
        yield client.createAccount("victim@bench.example", "benchmark-password")
        yield client.postAuth()
        return client

    @defer.inlineCallbacks
    def flooder(self) -> Any:
        flooder = Flooder()
        upgrading = UpgradingProtocol(flooder)
        yield connectProtocol(self.endpoint("127.0.0.1"), upgrading)
        yield upgrading.upgraded
        return flooder

    def ping(self, client: GameClient) -> None:
        start = time.perf_counter()
        phase = self.phase

        def done(_: object) -> None:
            self.pings[phase].append((time.perf_counter() - start) * 1000)

        def failed(_: object) -> None:
            self.errors += 1

        client.ping().addCallbacks(done, failed)

    def checkHealth(self, agent: Agent) -> None:
        start = time.perf_counter()
        phase = self.phase
        d = agent.request(b"GET", f"http://127.0.0.1:{self.port}/api/server/health".encode())
        d.addCallback(readBody)

        def done(_: object) -> None:
            self.health[phase].append((time.perf_counter() - start) * 1000)

        def failed(_: object) -> None:
            self.errors += 1

        d.addCallbacks(done, failed)

    @defer.inlineCallbacks
    def run(self, baseline: float, seconds: float) -> Any:
        from twisted.web.client import HTTPConnectionPool

        client = yield self.victim()

        class _Monitor:
            # Health checks come from 127.0.0.3.
            def endpointForURI(inner, uri: Any) -> Any:
                return self.endpoint("127.0.0.3")

        agent = Agent.usingEndpointFactory(
            self.reactor, _Monitor(), pool=HTTPConnectionPool(self.reactor)
        )
        pinger = task.LoopingCall(self.ping, client)
        pinger.clock = self.reactor
        monitor = task.LoopingCall(self.checkHealth, agent)
        monitor.clock = self.reactor
        pinger.start(0.1)
        monitor.start(0.25)
        yield task.deferLater(self.reactor, baseline, lambda: None)
        self.flooders = yield defer.gatherResults(
            [self.flooder() for _ in range(self.flooderCount)], consumeErrors=True
        )
        self.phase = "flood"
        for flooder in self.flooders:
            flooder.start()
        yield task.deferLater(self.reactor, seconds, lambda: None)
        pinger.stop()
        monitor.stop()
        for flooder in self.flooders:
            flooder.stop()
        client.disconnect()
        yield task.deferLater(self.reactor, 0.5, lambda: None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flooders", type=int, default=16)
    parser.add_argument("--baseline", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=20.0, help="flood duration")
    parser.add_argument("--full", action="store_true", help="a two minute flood")
    args = parser.parse_args(argv)
    seconds = 120.0 if args.full else args.seconds

    from twisted.internet import reactor

    port = freePort()
    bench = Bench(reactor, port, args.flooders)
    memory: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as dataDir:
        # The server's default limits: per-address limits on.
        server = startServer(port, dataDir, arguments=[])
        try:
            memory["start"] = rss(server.pid)

            def measureEnd(result: Any) -> Any:
                memory["end"] = rss(server.pid)
                return result

            if not report.runReactor(
                    reactor, bench.run(args.baseline, seconds).addBoth(measureEnd)):
                return 1
        finally:
            server.terminate()
            server.wait(10)

    replies = sum(flooder.received for flooder in bench.flooders)
    print(f"{args.flooders} sessions flood pings from 127.0.0.1 for {seconds:g} s; the "
          f"victim (127.0.0.2) pings every 100 ms; health checks from 127.0.0.3")
    figures = [
        report.record(BENCHMARK, "victim ping p50, no flood", percentile(
            bench.pings["baseline"], 0.5), "ms"),
        report.record(BENCHMARK, "victim ping p99, no flood", percentile(
            bench.pings["baseline"], 0.99), "ms"),
        report.record(BENCHMARK, "victim ping p50 during the flood", percentile(
            bench.pings["flood"], 0.5), "ms"),
        report.record(BENCHMARK, "victim ping p99 during the flood", percentile(
            bench.pings["flood"], 0.99), "ms", atMost=PING_P99_TARGET),
        report.record(BENCHMARK, "victim pings answered during the flood",
                      len(bench.pings["flood"]), "pings", atLeast=seconds * 10 * 0.9),
        report.record(BENCHMARK, "health check p50 during the flood", percentile(
            bench.health["flood"], 0.5), "ms"),
        report.record(BENCHMARK, "health check p99 during the flood", percentile(
            bench.health["flood"], 0.99), "ms"),
        report.record(BENCHMARK, "flood pings answered per second", replies / seconds,
                      "1/s"),
        report.record(BENCHMARK, "server RSS after the flood", memory.get("end", 0) / 2**20,
                      "MiB"),
        report.record(BENCHMARK, "failed victim pings or health checks", bench.errors,
                      "count", atMost=0),
    ]
    return report.exitCode(figures)


if __name__ == "__main__":
    raise SystemExit(main())
