# -*- test-case-name: tests.test_benchmarks -*-
"""
Blaze proxy benchmark: what the client's Blaze proxy adds between the game
and the server.

Three processes on loopback: the server (C{twistd -n pocketrelay-server}),
the client (C{twistd -n pocketrelay-client}, in front of that server) and
this driver, which runs two simulated games at once:

  - direct: upgraded to Blaze on the server's HTTP port itself, as a
    Pocket Relay client's upstream connection is;
  - proxied: connected to the client's Blaze port, as the game is.

Measured in the same run, alternating between the two paths:

  1. latency: sequential C{Util.ping} round trips, median and p99;
  2. throughput: a stream of C{userSettingsSave} requests (about 1 KB each,
     the size of a class or character record) with up to C{--window}
     outstanding.  The games are not logged in, so the server answers each
     with an error frame without touching its database, and its Blaze
     request rate limits are off: the run measures the transport, not
     SQLite or the limits.

Targets: at most 0.3 ms added to the median round trip, and at least half
the direct throughput; both are recorded with L{benchmarks.report} and the
run exits with status 1 when one is missed.  The short form (the default)
sends 500 pings and 6000 frames per path, C{--full} 2000 and 20000.
Run: C{python -m benchmarks.proxy [--full] [--pings N] [--frames N]}.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

from benchmarks import report
from benchmarks.sessions import freePort, percentile, serverEnvironment, startServer
from pocketrelay.blaze import frames, tdf
from pocketrelay.blaze.ids import Component, UtilCommand
from pocketrelay.me3.messages import util
from pocketrelay.testing.gameclient import GameClient

#: Targets from the task: added median latency and throughput ratio.
MAX_ADDED_MEDIAN_MS = 0.3
MIN_THROUGHPUT_RATIO = 0.5

#: The server's Blaze request rate limits are off: the stream sends far
#: more requests per session (and from 127.0.0.1) than a game does, and
#: the run measures the transport, not the limits.
UNLIMITED_REQUESTS = [
    "--set", "limits.session_request_rate=0", "--set", "limits.address_request_rate=0",
]

#: Pings and stream frames per path in the short form and with C{--full}.
SHORT = (500, 6000)
FULL = (2000, 20000)


def _twistd(*args: str) -> list[str]:
    return [os.path.join(os.path.dirname(sys.executable), "twistd"), "-n", "--pidfile=", *args]


def _waitForPort(process: subprocess.Popen[bytes], port: int, name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise SystemExit(f"{name} exited: {error}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{name} did not start within 30 s")


def startClient(serverPort: int, ports: list[int], dataDir: str) -> subprocess.Popen[bytes]:
    """
    Start C{twistd pocketrelay-client} for the server on C{serverPort},
    on the five local C{ports} (redirector, Blaze, telemetry, QoS, HTTP)
    and any free UDP port for the tunnel (not 42132, so that it runs
    beside a player's client or a test).
    """
    process = subprocess.Popen(
        _twistd("pocketrelay-client", "--server", f"127.0.0.1:{serverPort}", "--no-hosts",
                "--data-dir", dataDir, "--log-level", "warn",
                "--ports", ",".join(map(str, [*ports, 0]))),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=serverEnvironment(),
    )
    _waitForPort(process, ports[1], "client")
    return process


def settingsFrameBody(size: int) -> bytes:
    """
    A userSettingsSave body of about C{size} bytes.
    """
    record = ("20;4;Adept;20;0;2;" * (size // 18 + 1))[:size]
    return tdf.encode(util.UserSettingsSaveRequest(data=record, key="char12", userId=0))


class Bench:
    def __init__(self, reactor: Any, serverPort: int, blazePort: int) -> None:
        self.reactor = reactor
        self.serverPort = serverPort
        self.blazePort = blazePort
        self.games: dict[str, GameClient] = {}

    @defer.inlineCallbacks
    def connect(self) -> Any:
        direct = GameClient(clock=self.reactor)
        upgrading = direct.upgrading()
        endpoint = TCP4ClientEndpoint(self.reactor, "127.0.0.1", self.serverPort, timeout=10)
        yield connectProtocol(endpoint, upgrading)
        yield upgrading.upgraded
        proxied = GameClient(clock=self.reactor)
        endpoint = TCP4ClientEndpoint(self.reactor, "127.0.0.1", self.blazePort, timeout=10)
        yield connectProtocol(endpoint, proxied.protocol)
        self.games = {"direct": direct, "proxied": proxied}
        for game in self.games.values():
            yield game.preAuth()

    @defer.inlineCallbacks
    def pings(self, count: int, block: int = 50) -> Any:
        """
        C{count} sequential pings on each path, in alternating blocks.
        """
        times: dict[str, list[float]] = {name: [] for name in self.games}
        for game in self.games.values():  # warm-up
            for _ in range(block):
                yield game.ping()
        done = 0
        while done < count:
            for name, game in self.games.items():
                for _ in range(min(block, count - done)):
                    start = time.perf_counter()
                    yield game.ping()
                    times[name].append((time.perf_counter() - start) * 1000)
            done += block
        return times

    @defer.inlineCallbacks
    def stream(self, game: GameClient, body: bytes, count: int, window: int) -> Any:
        """
        Send C{count} requests with at most C{window} outstanding.

        @return: (seconds, request bytes sent).
        """
        finished: defer.Deferred[None] = defer.Deferred()
        state = {"sent": 0, "done": 0}
        frameSize = len(
            frames.request(Component.UTIL, UtilCommand.USER_SETTINGS_SAVE, 0, body).encode()
        )

        def sendOne() -> None:
            state["sent"] += 1
            d = game.request(Component.UTIL, UtilCommand.USER_SETTINGS_SAVE, body)
            d.addBoth(answered)

        def answered(result: object) -> None:
            state["done"] += 1
            if state["sent"] < count:
                sendOne()
            elif state["done"] == count and not finished.called:
                finished.callback(None)

        start = time.perf_counter()
        for _ in range(min(window, count)):
            sendOne()
        yield finished
        return time.perf_counter() - start, frameSize * count

    @defer.inlineCallbacks
    def throughput(self, body: bytes, count: int, window: int, rounds: int = 3) -> Any:
        results: dict[str, list[tuple[float, int]]] = {name: [] for name in self.games}
        for game in self.games.values():  # warm-up
            yield self.stream(game, body, min(count, 1000), window)
        for _ in range(rounds):
            for name, game in self.games.items():
                result = yield self.stream(game, body, count // rounds, window)
                results[name].append(result)
        return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--full", action="store_true",
                        help=f"{FULL[0]} pings and {FULL[1]} frames per path (default "
                             f"{SHORT[0]} and {SHORT[1]})")
    parser.add_argument("--pings", type=int, default=None, help="round trips per path")
    parser.add_argument("--frames", type=int, default=None, help="stream frames per path")
    parser.add_argument("--size", type=int, default=1000, help="settings record size in bytes")
    parser.add_argument("--window", type=int, default=64, help="outstanding requests")
    args = parser.parse_args(argv)
    form = FULL if args.full else SHORT
    args.pings = args.pings or form[0]
    args.frames = args.frames or form[1]

    from twisted.internet import reactor

    serverPort = freePort()
    ports = [freePort() for _ in range(5)]
    body = settingsFrameBody(args.size)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as serverDir, tempfile.TemporaryDirectory() as clientDir:
        server = startServer(serverPort, serverDir, arguments=UNLIMITED_REQUESTS)
        client = None
        try:
            client = startClient(serverPort, ports, clientDir)
            bench = Bench(reactor, serverPort, ports[1])

            @defer.inlineCallbacks
            def run() -> Any:
                yield bench.connect()
                results["pings"] = yield bench.pings(args.pings)
                results["stream"] = yield bench.throughput(body, args.frames, args.window)
                for game in bench.games.values():
                    game.disconnect()

            if not report.runReactor(reactor, run()):
                return 1
        finally:
            for process in (client, server):
                if process is not None:
                    process.terminate()
                    process.wait(10)

    print(f"Blaze proxy benchmark: {args.pings} pings and {args.frames} frames of "
          f"{len(body) + 12} bytes per path, window {args.window}")
    medians = {}
    for name, times in results["pings"].items():
        medians[name] = statistics.median(times)
        print(f"  {name:8} ping round trip: median {medians[name]:.3f} ms, "
              f"p99 {percentile(times, 0.99):.3f} ms")
    rates = {}
    for name, runs in results["stream"].items():
        seconds = sum(s for s, _ in runs)
        sent = sum(b for _, b in runs)
        rates[name] = args.frames // 3 * 3 / seconds
        print(f"  {name:8} stream: {rates[name]:,.0f} frames/s, {sent / seconds / 1e6:.2f} MB/s")
    added = medians["proxied"] - medians["direct"]
    ratio = rates["proxied"] / rates["direct"]
    figures = [
        report.record("proxy", "direct ping round trip, median", medians["direct"], "ms"),
        report.record("proxy", "added median round trip through the proxy", added, "ms",
                      atMost=MAX_ADDED_MEDIAN_MS),
        report.record("proxy", "direct stream", rates["direct"], "frames/s"),
        report.record("proxy", "proxied stream / direct stream", ratio, "x",
                      atLeast=MIN_THROUGHPUT_RATIO),
    ]
    return report.exitCode(figures)


if __name__ == "__main__":
    raise SystemExit(main())
