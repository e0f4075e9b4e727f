# -*- test-case-name: tests.test_benchmarks -*-
"""
Session benchmark: N simulated ME3 players against a real server process.

The server runs as C{twistd -n pocketrelay-server} in its own process on a
loopback port (so its memory is measured alone); this process drives the
players with the real reactor.  Phases:

  1. accounts: each player creates its account (not timed per command:
     argon2id hashing is deliberately slow);
  2. password logins: up to 100 at once (argon2id throughput);
  3. sessions: the N players connect through the HTTP upgrade, arriving
     evenly over C{--spread} seconds, and run preAuth, silentLogin (the
     stored token, as ME3 does), postAuth, settings save, settings load,
     two config fetches and pings; each command's latency is recorded;
  4. idle: the N sessions stay connected; server RSS is read.

Targets (recorded with L{benchmarks.report}; the run exits with status 1
when one is missed): with 1000 concurrent players, every command's p99
latency at most L{MAX_P99_MS} ms, and at most L{MAX_SESSION_KIB} KiB of
server memory per idle session.  The players arrive evenly over 10 s
(100 a second), the project's arrival model (the matchmaking benchmark's
too) and the load the target was defined and first met with; they then
all stay connected.  A shorter C{--spread} is a harsher load than the
target's: over 2 s (500 a second, as if every game reconnected at once
after a restart) the p99 includes queueing behind the burst, and
C{--spread 0} starts every session in the same instant (on the 2-core
machine of docs/performance.md, a p99 of a few hundred ms).  Both forms
run the target load; the short form (the default) sends 3 pings per
player, C{--full} 30.

Run: C{python -m benchmarks.sessions [--full] [--players N] [--pings N]
[--spread S]}.
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
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

from benchmarks import report
from pocketrelay.server.limits import loadTestArguments
from pocketrelay.testing.gameclient import GameClient

#: Targets: p99 latency of every command (ms) and server memory per idle
#: session (KiB).
MAX_P99_MS = 50.0
MAX_SESSION_KIB = 64.0

#: The target load: players, and seconds over which they arrive.
PLAYERS = 1000
SPREAD = 10.0

#: Pings per player in the short form and with C{--full}.
SHORT_PINGS = 3
FULL_PINGS = 30


def freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss(pid: int) -> int:
    """
    Resident set size of a process in bytes.
    """
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class Bench:
    def __init__(self, reactor: Any, port: int, players: int, pings: int) -> None:
        self.reactor = reactor
        self.port = port
        self.players = players
        self.pings = pings
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.clients: list[GameClient] = []
        self.requests = 0
        self.tokens: dict[int, str] = {}
        self.passwordLogins: list[float] = []

    @defer.inlineCallbacks
    def connect(self) -> Any:
        client = GameClient(clock=self.reactor)
        endpoint = TCP4ClientEndpoint(self.reactor, "127.0.0.1", self.port, timeout=30)
        upgrading = client.upgrading()
        yield connectProtocol(endpoint, upgrading)
        yield upgrading.upgraded
        return client

    @defer.inlineCallbacks
    def timed(self, name: str, d: defer.Deferred[Any]) -> Any:
        start = time.perf_counter()
        result = yield d
        self.latency[name].append((time.perf_counter() - start) * 1000)
        self.requests += 1
        return result

    @defer.inlineCallbacks
    def createAccount(self, n: int, semaphore: defer.DeferredSemaphore) -> Any:
        yield semaphore.acquire()
        try:
            client = yield self.connect()
            yield client.preAuth()
            created = yield client.createAccount(
                f"player{n}@bench.example", "benchmark-password"
            )
            self.tokens[n] = created.sessionKey
            client.disconnect()
        finally:
            semaphore.release()

    @defer.inlineCallbacks
    def passwordLogin(self, n: int) -> Any:
        client = yield self.connect()
        yield client.preAuth()
        start = time.perf_counter()
        yield client.login(f"player{n}@bench.example", "benchmark-password")
        self.passwordLogins.append((time.perf_counter() - start) * 1000)
        client.disconnect()

    @defer.inlineCallbacks
    def session(self, n: int) -> Any:
        client = yield self.timed("connect+upgrade", self.connect())
        self.clients.append(client)
        yield self.timed("preAuth", client.preAuth())
        # What ME3 does on every start: log in with its stored token.
        yield self.timed("silentLogin", client.silentLogin(self.tokens[n]))
        yield self.timed("postAuth", client.postAuth())
        yield self.timed("userSettingsSave", client.saveSetting("Base", "20;4;" + "0" * 1400))
        yield self.timed("userSettingsLoadAll", client.loadSettings())
        yield self.timed("fetchClientConfig", client.fetchConfig("ME3_DATA"))
        yield self.timed("fetchClientConfig", client.fetchConfig("ME3_ENT"))
        for _ in range(self.pings):
            yield self.timed("ping", client.ping())


#: The checkout this module is in: a benchmark's server runs its code.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def serverEnvironment(firstPaths: Sequence[str] = ()) -> dict[str, str]:
    """
    The environment of a benchmark's server process: this one's without
    any C{POCKETRELAY_*} variable (the server takes those as settings and
    refuses unknown ones, such as the benchmark runner's
    L{report.RESULTS_ENV}), with C{firstPaths} and then this checkout
    first on C{PYTHONPATH}.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("POCKETRELAY_")}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [*firstPaths, ROOT, env.get("PYTHONPATH")])
    )
    return env


def startServer(
    port: int,
    dataDir: str,
    arguments: Sequence[str] | None = None,
    *,
    logLevel: str = "warn",
    logPath: str | None = None,
    environment: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """
    C{twistd -n pocketrelay-server} on 127.0.0.1:C{port} with no fixed UDP
    port, running this checkout's code; returns once it accepts
    connections.  Every benchmark that starts a server starts it here.

    @param arguments: more command-line arguments; by default those of
        L{loadTestArguments} (every simulated player comes from 127.0.0.1).
    @param logLevel: the server's C{--log-level}.
    @param logPath: a file the server's log is appended to; by default
        its standard error is read only if it exits during start-up.
    @param environment: its environment; by default L{serverEnvironment}.
    """
    if arguments is None:
        arguments = loadTestArguments()
    if environment is None:
        environment = serverEnvironment()
    command = [
        os.path.join(os.path.dirname(sys.executable), "twistd"), "-n", "--pidfile=",
        "pocketrelay-server", "--listen", f"tcp:{port}:interface=127.0.0.1",
        "--data-dir", dataDir, "--log-level", logLevel,
        # No fixed UDP port.
        *arguments, "--set", "udp_tunnel.port=0",
    ]
    if logPath is None:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, env=environment,
        )
    else:
        with open(logPath, "ab") as log:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=environment,
            )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if logPath is None:
                output = process.stderr.read() if process.stderr else b""
            else:
                with open(logPath, "rb") as f:
                    output = f.read()[-3000:]
            raise SystemExit(f"server exited:\n{output.decode('utf-8', 'replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("server did not start within 30 s")


def stopProcess(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """
    Stop a benchmark's child process: SIGTERM, then SIGKILL if it has not
    exited within C{timeout} seconds.
    """
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true",
                        help=f"{FULL_PINGS} pings per player (default {SHORT_PINGS})")
    parser.add_argument("--players", type=int, default=PLAYERS)
    parser.add_argument("--pings", type=int, default=None)
    parser.add_argument(
        "--spread", type=float, default=SPREAD,
        help=f"seconds over which the players start their sessions (default "
             f"{SPREAD:g}; 0: all at the same instant, a burst)",
    )
    args = parser.parse_args(argv)
    players = args.players
    if args.pings is None:
        args.pings = FULL_PINGS if args.full else SHORT_PINGS

    from twisted.internet import reactor

    port = freePort()
    with tempfile.TemporaryDirectory() as dataDir:
        server = startServer(port, dataDir)
        try:
            results: dict[str, Any] = {}
            bench = Bench(reactor, port, players, args.pings)

            @defer.inlineCallbacks
            def run() -> Any:
                baseline = rss(server.pid)
                semaphore = defer.DeferredSemaphore(50)
                start = time.perf_counter()
                yield defer.gatherResults(
                    [bench.createAccount(n, semaphore) for n in range(players)],
                    consumeErrors=True,
                )
                results["accounts"] = time.perf_counter() - start
                logins = min(players, 100)
                start = time.perf_counter()
                yield defer.gatherResults(
                    [bench.passwordLogin(n) for n in range(logins)], consumeErrors=True
                )
                results["passwordLogins"] = (logins, time.perf_counter() - start)
                yield task.deferLater(reactor, 0.5, lambda: None)
                before = rss(server.pid)
                start = time.perf_counter()
                yield defer.gatherResults(
                    [
                        task.deferLater(reactor, n * args.spread / players, bench.session, n)
                        .addCallback(lambda d: d)
                        for n in range(players)
                    ],
                    consumeErrors=True,
                )
                results["sessions"] = time.perf_counter() - start
                yield task.deferLater(reactor, 1.0, lambda: None)
                results["rssBaseline"] = baseline
                results["rssBefore"] = before
                results["rssConnected"] = rss(server.pid)
                for client in bench.clients:
                    client.disconnect()
                yield task.deferLater(reactor, 0.5, lambda: None)

            if not report.runReactor(reactor, run()):
                return 1
        finally:
            server.terminate()
            server.wait(10)

    arrival = "all at once" if not args.spread else f"starting over {args.spread:g} s"
    print(f"players: {players} concurrent ({arrival}), {args.pings} pings each")
    print(f"account creation: {results['accounts']:.1f} s for {players} accounts "
          f"(argon2id, not a per-command target)")
    logins, seconds = results["passwordLogins"]
    print(f"password logins: {logins} at once in {seconds:.2f} s "
          f"({logins / seconds:.0f}/s), p50 {statistics.median(bench.passwordLogins):.0f} ms, "
          f"p99 {percentile(bench.passwordLogins, 0.99):.0f} ms")
    print(f"session phase: {results['sessions']:.2f} s, "
          f"{bench.requests / results['sessions']:.0f} requests/s")
    print(f"{'command':<22}{'count':>7}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, values in bench.latency.items():
        print(f"{name:<22}{len(values):>7}{statistics.median(values):>10.2f}"
              f"{percentile(values, 0.99):>10.2f}{max(values):>10.2f}")
    perSession = (results["rssConnected"] - results["rssBefore"]) / players
    print(f"server RSS: start {results['rssBaseline'] / 2**20:.1f} MiB, before sessions "
          f"{results['rssBefore'] / 2**20:.1f} MiB, {players} sessions idle "
          f"{results['rssConnected'] / 2**20:.1f} MiB")
    load = f"{players} players" + (f" over {args.spread:g} s" if args.spread else " at once")
    figures = [
        report.record("sessions", f"{name} p99, {load}", percentile(values, 0.99),
                      "ms", atMost=MAX_P99_MS)
        for name, values in bench.latency.items()
    ]
    figures.append(report.record("sessions", f"requests/s, {load}",
                                 bench.requests / results["sessions"], "/s"))
    figures.append(report.record("sessions", "server RSS per idle session", perSession / 1024,
                                 "KiB", atMost=MAX_SESSION_KIB))
    figures.append(report.record("sessions", f"password login p99, {logins} at once",
                                 percentile(bench.passwordLogins, 0.99), "ms"))
    return report.exitCode(figures)


if __name__ == "__main__":
    raise SystemExit(main())
