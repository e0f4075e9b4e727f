# -*- test-case-name: tests.test_onefile -*-
"""
Smoke test of a one-file build of C{pocketrelay-app} (C{make app-smoke};
the Windows workflow runs it too).

    python contrib/pyinstaller/smoke.py dist/pocketrelay-app

Runs the built program the way a player's machine would, with this
checkout's Python only on the other side (the test server and the
simulated game):

  1. C{BINARY --version} prints C{pocketrelay-app VERSION} (five runs; the
     median wall time is reported);
  2. the bundle lists the client's modules, tlslite-ng, cryptography,
     pyOpenSSL, service-identity and tkinter, and none of the server's
     (no dashboard, store or metrics);
  3. a pocketrelay server starts in this process on 127.0.0.1, and
     C{BINARY --headless --server 127.0.0.1:PORT} with a temporary data
     directory and hosts file reaches C{phase=connected} (the time it took
     is reported), with the hosts line written and a certificate generated
     in the data directory;
  4. a simulated game (L{pocketrelay.testing.gameclient}) asks the app's
     redirector over SSL 3.0 (tlslite-ng and the generated certificate)
     where Blaze is, then creates an account through the app's Blaze
     proxy; the app reports C{games=1};
  5. SIGTERM (on Windows, Ctrl+Break) stops it: exit status 0, the hosts
     file as it was;
  6. unless C{--no-window}: the app with its window (on C{$DISPLAY}, else
     on an Xvfb started here) connects at once (C{--connect}) to the same
     server, and SIGTERM closes it with exit status 0 (Tcl/Tk work from
     the bundle).

Exit status 0 when all of it holds, 1 otherwise (the reason and the app's
output are printed).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from twisted.internet import defer
from twisted.internet import reactor as _reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure

#: The global reactor, typed loosely (its interfaces are split in stubs).
reactor: Any = _reactor

#: Modules the bundle must hold (what the client needs at run time), and
#: Tcl/Tk's library.
REQUIRED_MODULES = (
    "pocketrelay.client.app",
    "pocketrelay.client.tap",
    "pocketrelay.client.window",
    "pocketrelay.client.certificate",
    "pocketrelay.client.redirector",
    "pocketrelay.ssl3.protocol",
    "tlslite.api",
    "cryptography.x509",
    "OpenSSL.SSL",
    "service_identity",
    "attrs",
    "zope.interface",
    "tkinter",
    "_tcl_data/init.tcl",
    "_tk_data/tk.tcl",
)

#: Prefixes of modules the bundle must not hold (the server's side).
FORBIDDEN_PREFIXES = ("pocketrelay.server", "pocketrelay.testing", "prometheus_client",
                      "argon2")

#: Seconds allowed for each step.
STEP_TIMEOUT = 60.0


class SmokeFailure(Exception):
    """
    A step of the smoke test did not hold.
    """


def say(message: str) -> None:
    """
    Print one line of progress.
    """
    print(f"smoke: {message}", flush=True)


def checkVersion(binary: str, runs: int = 5) -> float:
    """
    Run C{binary --version} C{runs} times; it must print this checkout's
    version and exit 0.

    @return: the median wall time in seconds.
    """
    from pocketrelay import __version__

    times = []
    for _ in range(runs):
        started = time.monotonic()
        done = subprocess.run([binary, "--version"], capture_output=True, text=True,
                              timeout=STEP_TIMEOUT)
        times.append(time.monotonic() - started)
        expected = f"pocketrelay-app {__version__}"
        if done.returncode != 0 or done.stdout.strip() != expected:
            raise SmokeFailure(
                f"--version: exit status {done.returncode}, output {done.stdout!r} "
                f"{done.stderr!r}, expected {expected!r}"
            )
    return statistics.median(times)


def bundledModules(binary: str) -> set[str]:
    """
    The Python modules and files in a one-file build's archive (read
    with PyInstaller's own readers).
    """
    try:
        from PyInstaller.archive.readers import CArchiveReader, ZlibArchiveReader
    except ImportError as e:
        raise SmokeFailure(
            f"cannot read the bundle without PyInstaller ({e}): pip install -e '.[app-build]'"
        ) from e

    archive = CArchiveReader(binary)
    names = set(archive.toc)
    for name in list(names):
        if name.endswith(".pyz"):
            with tempfile.TemporaryDirectory() as directory:
                path = os.path.join(directory, "PYZ.pyz")
                with open(path, "wb") as f:
                    f.write(archive.extract(name))
                names |= set(ZlibArchiveReader(path).toc)
    return names


def checkContents(binary: str) -> None:
    """
    The bundle holds L{REQUIRED_MODULES} and nothing that starts with one
    of L{FORBIDDEN_PREFIXES}.
    """
    names = bundledModules(binary)
    missing = [name for name in REQUIRED_MODULES if name not in names]
    if not any(name.split("/")[-1].startswith("_tkinter") for name in names):
        missing.append("the _tkinter extension")
    if missing:
        raise SmokeFailure(f"the bundle lacks {', '.join(missing)}")
    extra = sorted(n for n in names if n.startswith(FORBIDDEN_PREFIXES))
    if extra:
        raise SmokeFailure(f"the bundle carries the server's {', '.join(extra[:5])}")


class _One(Factory):
    def __init__(self, protocol: Protocol) -> None:
        self.instance = protocol

    def buildProtocol(self, addr: Any) -> Protocol:
        return self.instance


def until(check: Callable[[], bool], what: str, seconds: float = STEP_TIMEOUT) -> defer.Deferred[None]:
    """
    Fire once C{check()} is true (polled every 50 ms); fail with
    L{SmokeFailure} naming C{what} after C{seconds}.
    """
    d: defer.Deferred[None] = defer.Deferred()
    deadline = time.monotonic() + seconds

    def poll() -> None:
        if check():
            d.callback(None)
        elif time.monotonic() > deadline:
            d.errback(SmokeFailure(f"timed out waiting for {what}"))
        else:
            reactor.callLater(0.05, poll)

    poll()
    return d


class App:
    """
    The built program running, its output in a file.
    """

    def __init__(self, binary: str, arguments: Sequence[str], outputPath: str,
                 environ: dict[str, str] | None = None) -> None:
        self.outputPath = outputPath
        self._output: TextIO = open(outputPath, "w")
        flags = 0
        if sys.platform == "win32":
            # Ctrl+Break reaches only a process group of its own.
            flags = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        self.started = time.monotonic()
        # A one-file program is two processes: the bootloader, which
        # unpacks and waits, and Python, its child.  In a session of its
        # own (POSIX) both can be killed at once (see kill).
        self.process = subprocess.Popen(
            [binary, *arguments], stdout=self._output, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, creationflags=flags, env=dict(os.environ, **(environ or {})),
            start_new_session=sys.platform != "win32",
        )

    def output(self) -> str:
        with open(self.outputPath, encoding="utf-8", errors="replace") as f:
            return f.read()

    def ended(self) -> bool:
        return self.process.poll() is not None

    def stop(self) -> None:
        """
        Ask the app to stop as a player's Ctrl+C would.
        """
        if sys.platform == "win32":
            self.process.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
        else:
            self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """
        Kill what is left of the app: the bootloader and its child (on
        Windows, the bootloader's job object takes the child with it).
        """
        if sys.platform != "win32":
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        elif not self.ended():
            self.process.kill()
        self.process.wait(10)
        self._output.close()


def startServer(dataDir: str) -> tuple[Any, int]:
    """
    A pocketrelay server on an ephemeral loopback port, in this process.

    @return: its service and its port.
    """
    from pocketrelay.server import tap as serverTap

    options = serverTap.Options()
    options.parseOptions(["--listen", "tcp:0:interface=127.0.0.1", "--data-dir", dataDir,
                          "--set", "udp_tunnel.port=0"])
    service = serverTap.makeService(options, reactor)
    service.privilegedStartService()
    service.startService()
    listener = next(s for s in service.services if isinstance(s, serverTap.ListenerService))
    return service, listener.port.getHost().port


@defer.inlineCallbacks
def runHeadless(binary: str, directory: str, port: int, figures: dict[str, float]) -> Any:
    """
    Steps 3 to 5: the app headless against the server on C{port}, a
    simulated game through it, a clean stop.
    """
    from pocketrelay.blaze import tdf
    from pocketrelay.client.certificate import CERTIFICATE_FILE
    from pocketrelay.client.hosts import OUR_LINE
    from pocketrelay.client.redirector import ServerInstanceInfo
    from pocketrelay.me3.messages.redirector import ServerInstanceRequest
    from pocketrelay.ssl3 import SSLv3ClientFactory
    from pocketrelay.testing.gameclient import GameClient

    hosts = os.path.join(directory, "hosts")
    original = "127.0.0.1 localhost\n"
    with open(hosts, "w") as f:
        f.write(original)
    dataDir = os.path.join(directory, "app")
    app = App(binary, ["--headless", "--server", f"127.0.0.1:{port}", "--data-dir", dataDir,
                       "--hosts-file", hosts, "--ports", "0,0,0,0,0,0"],
              os.path.join(directory, "headless-output.txt"))
    games: list[Any] = []
    try:
        yield until(lambda: "phase=connected" in app.output() or app.ended(),
                    "phase=connected")
        if app.ended():
            raise SmokeFailure(f"the app exited with status {app.process.returncode}")
        figures["connected"] = time.monotonic() - app.started
        say(f"headless app connected after {figures['connected']:.2f} s")
        with open(hosts) as f:
            if OUR_LINE not in f.read():
                raise SmokeFailure("the hosts line is missing while the app runs")
        if not os.path.exists(os.path.join(dataDir, CERTIFICATE_FILE)):
            raise SmokeFailure("the app generated no certificate")
        match = re.search(r"redirector (\d+)", app.output())
        if match is None:
            raise SmokeFailure("no redirector port in the app's 'Listening on' line")

        redirect = GameClient(clock=reactor)
        games.append(redirect)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", int(match.group(1)), timeout=5)
        outer = yield endpoint.connect(SSLv3ClientFactory(_One(redirect.protocol), clock=reactor))
        yield until(lambda: redirect.protocol.transport is not None, "the SSL 3.0 handshake")
        answer = yield redirect.request(5, 1, tdf.encode(ServerInstanceRequest()), ServerInstanceInfo)
        outer.transport.loseConnection()
        blazePort = answer.address.value.port
        say(f"redirector (SSL 3.0) points the game at 127.0.0.1:{blazePort}")

        game = GameClient(clock=reactor)
        games.append(game)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", blazePort, timeout=5)
        yield connectProtocol(endpoint, game.protocol)
        yield game.preAuth()
        created = yield game.createAccount("garrus@example.org", "calibrations")
        if not created.sessionKey:
            raise SmokeFailure("the login through the app gave no session")
        yield until(lambda: "games=1" in app.output(), "games=1")
        say("simulated game logged in through the app (games=1)")

        app.stop()
        yield until(app.ended, "the app to stop")
        if app.process.returncode != 0:
            raise SmokeFailure(f"the app stopped with exit status {app.process.returncode}")
        with open(hosts) as f:
            if f.read() != original:
                raise SmokeFailure("the hosts file was not restored")
        say("clean stop: exit status 0, hosts line removed")
    except BaseException:
        print(f"--- the app's output ({app.outputPath}):\n{app.output()}---", flush=True)
        raise
    finally:
        for game in games:
            game.disconnect()
        app.kill()


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


@defer.inlineCallbacks
def runWindow(binary: str, directory: str, port: int, display: str) -> Any:
    """
    Step 6: the app with its window (Tcl/Tk from the bundle) on
    C{display}, connecting at once to the server on C{port}; SIGTERM
    closes it cleanly.
    """
    from pocketrelay.client.app import LOG_FILE, logDirectory

    dataDir = os.path.join(directory, "window")
    log = os.path.join(logDirectory(dataDir), LOG_FILE)
    app = App(binary, ["--server", f"127.0.0.1:{port}", "--connect", "--data-dir", dataDir,
                       "--no-hosts", "--ports", "0,0,0,0,0,0"],
              os.path.join(directory, "window-output.txt"), {"DISPLAY": display})
    try:
        yield until(lambda: "Ready: start Mass Effect 3" in _read(log) or app.ended(),
                    "the window to connect")
        if app.ended():
            raise SmokeFailure(f"the window app exited with status {app.process.returncode}")
        if "The window is open" not in _read(log):
            raise SmokeFailure("the app connected without opening its window")
        app.stop()
        yield until(app.ended, "the window app to stop")
        if app.process.returncode != 0:
            raise SmokeFailure(f"the window app stopped with exit status "
                               f"{app.process.returncode}")
        say("window: opened, connected, closed cleanly (exit status 0)")
    except BaseException:
        print(f"--- the window app's output:\n{app.output()}--- its log:\n{_read(log)}---",
              flush=True)
        raise
    finally:
        app.kill()


@defer.inlineCallbacks
def runApp(binary: str, directory: str, figures: dict[str, float], window: bool) -> Any:
    """
    Steps 3 to 6 against a server started here.
    """
    server, port = startServer(os.path.join(directory, "server"))
    xvfb = None
    try:
        yield runHeadless(binary, directory, port, figures)
        if window:
            display = os.environ.get("DISPLAY")
            if not display:
                from pocketrelay.testing.xvfb import Xvfb

                if shutil.which("Xvfb") is None:
                    raise SmokeFailure("the window step needs Xvfb (Debian: apt-get install "
                                       "xvfb) or a DISPLAY; --no-window leaves it out")
                xvfb = Xvfb()
                display = xvfb.display
            yield runWindow(binary, directory, port, display)
    finally:
        if xvfb is not None:
            xvfb.stop()
        yield server.stopService()


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run the smoke test; 0 when it passes.
    """
    parser = argparse.ArgumentParser(description="Smoke test of a pocketrelay-app build.")
    parser.add_argument("binary", help="the built program (dist/pocketrelay-app)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--no-window", action="store_true",
                        help="leave out the window step (it needs a DISPLAY or Xvfb)")
    arguments = parser.parse_args(argv)
    binary = os.path.abspath(arguments.binary)
    figures: dict[str, float] = {"size": float(os.path.getsize(binary))}
    say(f"{binary}: {int(figures['size'])} bytes ({figures['size'] / 2**20:.1f} MiB)")
    directory = tempfile.mkdtemp(prefix="pocketrelay-app-smoke-")
    outcome: list[Any] = []

    def run() -> defer.Deferred[None]:
        checkContents(binary)
        say("bundle: client, tlslite-ng, cryptography, pyOpenSSL, service-identity, "
            "tkinter; no server")
        figures["version"] = checkVersion(binary)
        say(f"--version: median {figures['version']:.2f} s of 5 runs")
        return runApp(binary, directory, figures, not arguments.no_window)

    def done(result: Any) -> None:
        outcome.append(result)
        reactor.stop()

    reactor.callWhenRunning(
        lambda: defer.maybeDeferred(run).addBoth(done)
    )
    reactor.run()
    if not arguments.keep:
        shutil.rmtree(directory, ignore_errors=True)
    if not outcome:
        say("FAILED: the reactor stopped before the smoke test ended")
        return 1
    result = outcome[0]
    if isinstance(result, Failure):
        if result.check(SmokeFailure):
            say(f"FAILED: {result.getErrorMessage()}")
        else:
            say("FAILED:")
            result.printTraceback()
        return 1
    say("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
