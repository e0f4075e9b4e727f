# -*- test-case-name: tests.test_client_app -*-
"""
C{pocketrelay-app}: the player's client in one window.

The window (L{pocketrelay.client.window}) is a view over the same client
service the command line runs (L{pocketrelay.client.tap.makeService}):
L{AppController} (in L{pocketrelay.client.controller}, with the other
pieces the window and the headless mode share) builds one for the
address typed, starts and stops it, and mirrors its L{StatusModel} into
its own, which the window shows.

Without a window, C{pocketrelay-app --headless --server URL} runs the
same controller until it is stopped by a signal (SIGINT, SIGTERM; on
Windows Ctrl+C), logging each status change as one C{Status: ...} line;
it exits 0 after a clean stop and 1 when the client could not start.
This is what the one-file builds' smoke tests drive.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO, cast

from twisted.logger import ILogObserver, Logger, textFileLogObserver
from twisted.python import usage

from pocketrelay import __version__
from pocketrelay.client.controller import (
    DIAGNOSTIC_LOG_LINES,
    LOG_FILE,
    AppController,
    AppOptions,
    LogBuffer,
    diagnostics,
    logDirectory,
    openFolder,
    quietObserver,
    redact,
    statusLine,
    versions,
)
from pocketrelay.client.status import ClientStatus

__all__ = [
    "DIAGNOSTIC_LOG_LINES",
    "LOG_FILE",
    "AppController",
    "AppOptions",
    "LogBuffer",
    "diagnostics",
    "logDirectory",
    "main",
    "openFolder",
    "quietObserver",
    "redact",
    "runHeadless",
    "statusLine",
    "versions",
]


def _startLogging(
    options: AppOptions, buffer: LogBuffer, console: TextIO | None
) -> None:
    from twisted.logger import globalLogBeginner
    from twisted.python.logfile import LogFile

    observers: list[ILogObserver] = [quietObserver(buffer, options["log-level"])]
    directory = logDirectory(options["data-dir"])
    try:
        os.makedirs(directory, exist_ok=True)
        logFile = LogFile(LOG_FILE, directory, rotateLength=1_000_000, maxRotatedFiles=5)
    except OSError:
        pass
    else:
        output = cast(TextIO, logFile)
        observers.append(quietObserver(textFileLogObserver(output), options["log-level"]))
    if console is not None:
        observers.append(quietObserver(textFileLogObserver(console), options["log-level"]))
    globalLogBeginner.beginLoggingTo(observers, redirectStandardIO=False)


def runHeadless(reactor: Any, controller: AppController, address: str) -> list[int]:
    """
    Run C{controller} for C{address} without a window: each status change
    is logged as a C{Status:} line; a client that cannot start stops the
    reactor with exit status 1; a signal stops it cleanly (status 0).

    @return: a list that holds the exit status once the reactor stopped.
    """
    log = Logger(namespace="pocketrelay.client.app")
    exitStatus = [0]

    def changed(old: ClientStatus, new: ClientStatus) -> None:
        log.info("Status: {status}", status=statusLine(new))

    controller.status.observe(changed)

    def started(_: object) -> None:
        if controller.status.current.phase == "failed":
            exitStatus[0] = 1
            reactor.stop()

    reactor.callWhenRunning(lambda: controller.connect(address).addCallback(started))
    return exitStatus


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run the app (the C{pocketrelay-app} command).
    """
    if argv is None:
        argv = sys.argv
    options = AppOptions()
    try:
        options.parseOptions(list(argv[1:]))
    except usage.UsageError as e:
        if sys.stderr is not None:
            sys.stderr.write(f"{options}\npocketrelay-app: {e}\n")
        return 2

    from twisted.internet import reactor

    buffer = LogBuffer()
    headless = bool(options["headless"])
    _startLogging(options, buffer, sys.stdout if headless else None)
    Logger(namespace="pocketrelay.client.app").info(
        "pocketrelay-app {version}: settings and logs in {dataDir}",
        version=__version__, dataDir=options["data-dir"],
    )
    controller = AppController(reactor, options["data-dir"], options.clientArguments())
    reactor.addSystemEventTrigger("before", "shutdown", controller.disconnect)
    if headless:
        address = options["server"] or controller.initialAddress()
        if not address:
            sys.stderr.write("pocketrelay-app: --headless needs --server URL\n")
            return 2
        exitStatus = runHeadless(reactor, controller, address)
        reactor.run()
        return exitStatus[0]

    from pocketrelay.client.window import runWindow

    return runWindow(reactor, controller, buffer, options, argv)


if __name__ == "__main__":
    sys.exit(main())
