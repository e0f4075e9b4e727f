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
    jsonFileLogObserver,
    textFileLogObserver,
)
from twisted.python import logfile

__all__ = ["FORMATS", "LEVELS", "LoggingMultiService", "filteredObserver"]

LEVELS = {
    "debug": LogLevel.debug,
    "info": LogLevel.info,
    "warn": LogLevel.warn,
    "error": LogLevel.error,
}


#: The log formats: C{text} (twistd's readable lines) and C{json} (one
#: JSON object per line, as L{twisted.logger.eventAsJSON} makes it: every
#: named field kept, a failure with its traceback).
FORMATS = ("text", "json")


def filteredObserver(twistdOptions: Any, level: str, logFormat: str = "text") -> ILogObserver:
    """
    The observer twistd would use for its C{--logfile} option (standard
    output for C{-} or none), letting through events at C{level} or above.

    @param logFormat: one of L{FORMATS}.
    """
    if logFormat not in FORMATS:
        raise ValueError(f"unknown log format {logFormat!r}")
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
    if logFormat == "json":
        # JSON lines: no record separator before each object (the default
        # is RFC 7464's \x1e), one object per line.
        observer = jsonFileLogObserver(output, recordSeparator="")
    else:
        observer = textFileLogObserver(output)
    return FilteringLogObserver(observer, [predicate])


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


