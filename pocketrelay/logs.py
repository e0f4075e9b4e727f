# -*- test-case-name: tests.test_tap -*-
"""
Log set-up shared by the twistd plugins: the observer twistd would make,
filtered by the configured level.
"""

from __future__ import annotations

import sys
from typing import Any

from twisted.application.service import MultiService
from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    textFileLogObserver,
)
from twisted.python import logfile

__all__ = ["LEVELS", "LoggingMultiService", "filteredObserver"]

LEVELS = {
    "debug": LogLevel.debug,
    "info": LogLevel.info,
    "warn": LogLevel.warn,
    "error": LogLevel.error,
}


def filteredObserver(twistdOptions: Any, level: str) -> ILogObserver:
    """
    The observer twistd would use for its C{--logfile} option (standard
    output for C{-} or none), letting through events at C{level} or above.
    """
    logName = None
    if twistdOptions is not None:
        try:
            logName = twistdOptions["logfile"]
        except KeyError:
            logName = None
    if not logName or logName == "-":
        output: Any = sys.stdout
    else:
        output = logfile.LogFile.fromFullPath(logName)
    predicate = LogLevelFilterPredicate(defaultLogLevel=LEVELS[level])
    return FilteringLogObserver(textFileLogObserver(output), [predicate])


class LoggingMultiService(MultiService):
    """
    A L{MultiService} that, when twistd puts it into its application, sets
    the application's log observer (unless one is already set, e.g. by
    C{twistd --logger}).
    """

    def __init__(self, observer: ILogObserver | None = None) -> None:
        super().__init__()
        self.observer = observer

    def setServiceParent(self, parent: Any) -> None:
        super().setServiceParent(parent)
        if self.observer is None or not hasattr(parent, "getComponent"):
            return
        if parent.getComponent(ILogObserver, None) is None:
            parent.setComponent(ILogObserver, self.observer)


