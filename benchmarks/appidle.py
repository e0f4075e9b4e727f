# -*- test-case-name: tests.test_benchmarks -*-
"""
Player app idle CPU: what the app's window costs with nothing happening.

The real app (C{python -m pocketrelay.client.app}, this checkout's code)
is started with its window on its own Xvfb, with a temporary data
directory and hosts file and every local port chosen by the system
(C{--ports 0,0,0,0,0,0}), twice:

  1. idle: the window open, not connected;
  2. connected: with C{--connect} to a loopback server started as the
     other benchmarks start theirs (L{benchmarks.sessions.startServer}),
     once the client logged that it is ready (its local services
     listening, the hosts line written, the server's tunnel open).

After L{SETTLE} seconds to settle, the user + system CPU time of the app
and of any process it started (C{/proc/PID/stat}: its own C{utime} and
C{stime}, those of its children it waited for, and those of its live
descendants) is read over the measuring interval and recorded as a
percentage of one core.  Target (issue 13): at most L{MAX_PERCENT} % in
both states.  The short form (the default) measures 20 s each; C{--full}
60 s each.

Run: C{python -m benchmarks.appidle [--full] [--seconds S]}.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping

import attrs

from benchmarks import report
from benchmarks.sessions import (
    ROOT,
    freePort,
    serverEnvironment,
    startServer,
    stopProcess,
)

#: Target: percent of one core, idle and connected.
MAX_PERCENT = 1.0

#: Seconds measured in each state, in the short form and with C{--full}.
SHORT_SECONDS = 20.0
FULL_SECONDS = 60.0

#: Seconds the app is left alone after it is ready, before measuring.
SETTLE = 5.0

#: Seconds the app may take to open its window or to connect.
START_TIMEOUT = 60.0

#: What the app logs once its window is open, and once connected.
WINDOW_OPEN = "The window is open"
READY = "Ready: start Mass Effect 3"


@attrs.frozen
class ProcessTimes:
    """
    The fields of one C{/proc/PID/stat} line this benchmark uses.

    @ivar pid: the process.
    @ivar parent: its parent's pid.
    @ivar ticks: user + system time of the process itself, in clock ticks.
    @ivar childTicks: user + system time of its children that have ended
        and were waited for, in clock ticks.
    """

    pid: int
    parent: int
    ticks: int
    childTicks: int


def parseStat(text: str) -> ProcessTimes:
    """
    Parse one C{/proc/PID/stat} line (see proc(5)).  The command name,
    field 2, is in parentheses and may itself hold spaces and
    parentheses, so the fields are counted from the last C{")"}.

    @raise ValueError: naming the offset, when C{text} is not such a line.
    """
    close = text.rfind(")")
    if close < 0:
        raise ValueError("not a /proc/PID/stat line: no ')' ending the command name")
    head = text[:close].split("(", 1)[0].strip()
    if not head.isdigit():
        raise ValueError("not a /proc/PID/stat line: no process id at offset 0")
    # Fields 3 onwards, with their offsets: state, ppid (4), ..., utime
    # (14), stime (15), cutime (16), cstime (17).
    fields = [(m.start(), m.group()) for m in re.finditer(r"\S+", text[close + 1:])]
    if len(fields) < 15:
        raise ValueError(
            f"not a /proc/PID/stat line: {len(fields) + 2} fields, at least 17 needed "
            f"(text ends at offset {len(text)})"
        )
    values = []
    for number in (4, 14, 15, 16, 17):
        offset, field = fields[number - 3]
        try:
            values.append(int(field))
        except ValueError:
            raise ValueError(
                f"/proc/PID/stat field {number} at offset {close + 1 + offset} is not a "
                f"number: {field!r}"
            ) from None
    parent, utime, stime, cutime, cstime = values
    return ProcessTimes(int(head), parent, utime + stime, cutime + cstime)


def treeTicks(root: int, processes: Iterable[ProcessTimes]) -> int:
    """
    The CPU ticks used by C{root} and everything it started: its own, its
    ended children's (counted in its C{cutime}/C{cstime}, which include
    their own ended children's), and those of its live descendants.
    """
    byParent: dict[int, list[ProcessTimes]] = {}
    byPid: dict[int, ProcessTimes] = {}
    for process in processes:
        byPid[process.pid] = process
        byParent.setdefault(process.parent, []).append(process)
    if root not in byPid:
        raise ValueError(f"process {root} is not running")
    total = 0
    pending = [byPid[root]]
    seen = set()
    while pending:
        process = pending.pop()
        if process.pid in seen:
            continue
        seen.add(process.pid)
        total += process.ticks + process.childTicks
        pending.extend(byParent.get(process.pid, []))
    return total


def percentOfCore(ticks: int, seconds: float, ticksPerSecond: float) -> float:
    """
    C{ticks} of CPU time over C{seconds} of wall time, as a percentage of
    one core.
    """
    if seconds <= 0 or ticksPerSecond <= 0:
        raise ValueError("the interval and the clock tick rate must be positive")
    return 100.0 * ticks / ticksPerSecond / seconds


def readProcesses(proc: str = "/proc") -> list[ProcessTimes]:
    """
    Every process's L{ProcessTimes} (those that end while being read are
    left out).
    """
    processes = []
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        try:
            with open(os.path.join(proc, name, "stat"), encoding="utf-8",
                      errors="replace") as f:
                processes.append(parseStat(f.read()))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return processes


def measure(
    pid: int,
    seconds: float,
    sample: Callable[[], list[ProcessTimes]] = readProcesses,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    ticksPerSecond: float | None = None,
) -> float:
    """
    The percentage of one core that process C{pid} and its descendants
    used over the next C{seconds}.

    @param ticksPerSecond: the clock tick rate of C{/proc}; by default
        the system's C{SC_CLK_TCK}.
    """
    if ticksPerSecond is None:
        ticksPerSecond = os.sysconf("SC_CLK_TCK")
    before, start = treeTicks(pid, sample()), clock()
    sleep(seconds)
    after, end = treeTicks(pid, sample()), clock()
    return percentOfCore(after - before, end - start, ticksPerSecond)


def waitForLog(path: str, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """
    Wait until the file at C{path} contains C{text}.

    @raise SystemExit: when the process exits first or C{timeout} passes.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the app exited with status {process.returncode}")
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                if text in f.read():
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the app did not log {text!r} within {timeout:g} s")


def appCommand(dataDir: str, hostsFile: str, server: str | None) -> list[str]:
    """
    The app's command line: window, temporary data directory and hosts
    file, every local port chosen by the system; with C{server}, connect
    to it at once.
    """
    command = [
        sys.executable, "-m", "pocketrelay.client.app", "--data-dir", dataDir,
        "--hosts-file", hostsFile, "--ports", "0,0,0,0,0,0",
    ]
    if server is not None:
        command += ["--server", server, "--connect"]
    return command


def runApp(directory: str, display: str, seconds: float, server: str | None,
           environment: Mapping[str, str]) -> float:
    """
    Start the app on C{display}, wait until it is ready and settled,
    measure its CPU over C{seconds}, stop it; return the percentage.
    """
    from pocketrelay.client.controller import LOG_FILE, logDirectory

    dataDir = os.path.join(directory, "app")
    hostsFile = os.path.join(directory, "hosts")
    with open(hostsFile, "w", encoding="utf-8") as f:
        f.write("127.0.0.1 localhost\n")
    app = subprocess.Popen(
        appCommand(dataDir, hostsFile, server), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
        env=dict(environment, DISPLAY=display),
    )
    try:
        waitForLog(os.path.join(logDirectory(dataDir), LOG_FILE),
                   READY if server else WINDOW_OPEN, app, START_TIMEOUT)
        time.sleep(SETTLE)
        return measure(app.pid, seconds)
    finally:
        stopProcess(app)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true",
                        help=f"measure {FULL_SECONDS:g} s in each state "
                             f"(default {SHORT_SECONDS:g} s)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="seconds measured in each state")
    args = parser.parse_args(argv)
    seconds = args.seconds or (FULL_SECONDS if args.full else SHORT_SECONDS)

    from pocketrelay.testing.xvfb import Xvfb

    environment = serverEnvironment()
    figures = []
    xvfb = Xvfb()
    try:
        with tempfile.TemporaryDirectory() as directory:
            os.mkdir(os.path.join(directory, "idle"))
            percent = runApp(os.path.join(directory, "idle"), xvfb.display, seconds, None,
                             environment)
            figures.append(report.record(
                "appidle", "window open, not connected: CPU", percent, "% core",
                atMost=MAX_PERCENT,
            ))
            port = freePort()
            server = startServer(port, os.path.join(directory, "server"))
            try:
                os.mkdir(os.path.join(directory, "connected"))
                percent = runApp(os.path.join(directory, "connected"), xvfb.display,
                                 seconds, f"127.0.0.1:{port}", environment)
            finally:
                stopProcess(server)
            figures.append(report.record(
                "appidle", "window open, connected to loopback server: CPU", percent,
                "% core", atMost=MAX_PERCENT,
            ))
    finally:
        xvfb.stop()
    return report.exitCode(figures)


if __name__ == "__main__":
    sys.exit(main())
