# -*- test-case-name: tests.test_ssl3 -*-
"""
Helpers for tests that read log events: L{captureLogs} collects them
with L{EventLoggingObserver.createWithCleanup}; L{infoTexts} and
L{warningTexts} format those at info and at warning level or above.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from twisted.internet.testing import EventLoggingObserver
from twisted.logger import LogEvent, LogLevel, formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase

__all__ = ["captureLogs", "infoTexts", "warningTexts"]


def infoTexts(events: Iterable[LogEvent]) -> list[str]:
    """
    The formatted events at info level or above.
    """
    return [formatEvent(e) for e in events if e["log_level"] >= LogLevel.info]


def warningTexts(events: Iterable[LogEvent]) -> list[str]:
    """
    The formatted events at warning level or above.
    """
    return [formatEvent(e) for e in events if e["log_level"] >= LogLevel.warn]


def captureLogs(testCase: SynchronousTestCase) -> EventLoggingObserver:
    """
    The events of the global log publisher from now until the end of the
    test: L{EventLoggingObserver.createWithCleanup}, which also works for a
    L{SynchronousTestCase} (its annotation names the asynchronous
    C{TestCase} only).
    """
    return EventLoggingObserver.createWithCleanup(
        cast(TestCase, testCase), globalLogPublisher
    )
