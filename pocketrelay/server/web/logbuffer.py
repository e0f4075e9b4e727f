# -*- test-case-name: tests.test_web_api -*-
"""
L{LogBuffer}: the recent log events kept in memory for the dashboard's
log page (C{GET /api/server/log}), bounded in both lines and bytes.

The server writes its log where twistd sends it (standard output or
C{--logfile}); it keeps no log file of its own for the API to read, so the
API serves this buffer instead.  L{LogBufferService} registers the buffer
on the global log publisher while the server runs.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Final

from twisted.application import service
from twisted.logger import (
    ILogObserver,
    LogLevel,
    LogPublisher,
    formatEventAsClassicLogText,
    globalLogPublisher,
)
from zope.interface import implementer

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_LINES",
    "MAX_ENTRY_SIZE",
    "LogBuffer",
    "LogBufferService",
]

#: Most characters kept in total.
DEFAULT_MAX_BYTES: Final = 1024 * 1024
#: Most log events kept.
DEFAULT_MAX_LINES: Final = 5000
#: Longest single entry kept (a long traceback is cut), in characters.
MAX_ENTRY_SIZE: Final = 16 * 1024

_LEVELS = {
    "debug": LogLevel.debug,
    "info": LogLevel.info,
    "warn": LogLevel.warn,
    "error": LogLevel.error,
    "critical": LogLevel.critical,
}


def _utcTime(when: float | None) -> str:
    if when is None:
        return "-"
    seconds = int(when)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + "Z"


@implementer(ILogObserver)
class LogBuffer:
    """
    A log observer keeping the most recent events as text lines, oldest
    first, like the classic log file format with UTC times.  Thread-safe:
    events may be emitted from any thread.

    @ivar maxBytes: most characters kept in total.
    @ivar maxLines: most events kept.
    @ivar level: the least severe level kept.
    """

    def __init__(
        self,
        maxBytes: int = DEFAULT_MAX_BYTES,
        maxLines: int = DEFAULT_MAX_LINES,
        level: LogLevel | str = LogLevel.info,
    ) -> None:
        if maxBytes < 1 or maxLines < 1:
            raise ValueError("a log buffer needs room for at least one entry")
        self.maxBytes = maxBytes
        self.maxLines = maxLines
        self.level = _LEVELS[level] if isinstance(level, str) else level
        self._lines: deque[str] = deque()
        self._size = 0
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        level = event.get("log_level", LogLevel.info)
        try:
            if level < self.level:
                return
        except TypeError:
            pass
        try:
            text = formatEventAsClassicLogText(event, formatTime=_utcTime)
        except Exception:
            text = "(unformattable log event)\n"
        if not text:
            return
        if len(text) > MAX_ENTRY_SIZE:
            text = text[: MAX_ENTRY_SIZE - 20] + " ... (cut)\n"
        with self._lock:
            self._lines.append(text)
            self._size += len(text)
            while self._lines and (
                len(self._lines) > self.maxLines or self._size > self.maxBytes
            ):
                self._size -= len(self._lines.popleft())

    def text(self) -> str:
        """
        Every kept event, oldest first, one per line (tracebacks span
        several lines).
        """
        with self._lock:
            return "".join(self._lines)

    def clear(self) -> None:
        """
        Forget every kept event.
        """
        with self._lock:
            self._lines.clear()
            self._size = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._lines)


class LogBufferService(service.Service):
    """
    Adds a L{LogBuffer} to a log publisher while running.
    """

    def __init__(self, buffer: LogBuffer, publisher: LogPublisher | None = None) -> None:
        self.buffer = buffer
        self.publisher = publisher if publisher is not None else globalLogPublisher

    def startService(self) -> None:
        super().startService()
        self.publisher.addObserver(self.buffer)

    def stopService(self) -> None:
        super().stopService()
        self.publisher.removeObserver(self.buffer)
