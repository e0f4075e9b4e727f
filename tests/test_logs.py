# -*- test-case-name: tests.test_logs -*-
"""
Tests for L{pocketrelay.logs.filteredObserver}'s formats.
"""

from __future__ import annotations

import json

from twisted.logger import Logger, eventFromJSON, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.logs import filteredObserver
from pocketrelay.server.config import loadSettings


class LogFormatTests(SynchronousTestCase):
    """
    The observer writes text lines or JSON lines to twistd's log file.
    """

    def setUp(self) -> None:
        self.path = self.mktemp()

    def lines(self) -> list[str]:
        with open(self.path, encoding="utf-8") as f:
            return f.read().splitlines()

    def test_jsonLines(self) -> None:
        """
        In C{json} format every event is one line holding one JSON object
        with the message template, every named field and the level; the
        readable message can be rebuilt from it.
        """
        observer = filteredObserver({"logfile": self.path}, "info", "json")
        log = Logger(namespace="tests.logs", observer=observer)
        log.info("Player {name} ({playerId}) logged in", name="Shepard", playerId=7)
        log.warn("Tunnel from {peer} closed", peer="203.0.113.7:9032")
        lines = self.lines()
        self.assertEqual(len(lines), 2)
        first = json.loads(lines[0])
        self.assertEqual(first["log_format"], "Player {name} ({playerId}) logged in")
        self.assertEqual(first["name"], "Shepard")
        self.assertEqual(first["playerId"], 7)
        self.assertEqual(first["log_namespace"], "tests.logs")
        self.assertEqual(first["log_level"]["name"], "info")
        self.assertIsInstance(first["log_time"], float)
        self.assertEqual(json.loads(lines[1])["peer"], "203.0.113.7:9032")
        self.assertEqual(formatEvent(eventFromJSON(lines[0])), "Player Shepard (7) logged in")

    def test_jsonFailure(self) -> None:
        """
        A failure is kept in the JSON object, with its traceback.
        """
        observer = filteredObserver({"logfile": self.path}, "info", "json")
        log = Logger(namespace="tests.logs", observer=observer)
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            log.failure("Handling {command} failed", Failure(), command="Util.ping")
        (line,) = self.lines()
        event = json.loads(line)
        self.assertEqual(event["command"], "Util.ping")
        self.assertIn("ZeroDivisionError", json.dumps(event["log_failure"]))

    def test_levelFilter(self) -> None:
        """
        C{log_level} still filters in C{json} format.
        """
        observer = filteredObserver({"logfile": self.path}, "warn", "json")
        log = Logger(observer=observer)
        log.info("hidden {x}", x=1)
        log.error("shown {x}", x=2)
        self.assertEqual([json.loads(line)["x"] for line in self.lines()], [2])

    def test_textByDefault(self) -> None:
        """
        Without a format the lines are readable text, not JSON.
        """
        observer = filteredObserver({"logfile": self.path}, "info")
        Logger(observer=observer).info("Player {name} logged in", name="Shepard")
        (line,) = self.lines()
        self.assertTrue(line.endswith("Player Shepard logged in"))
        self.assertRaises(ValueError, json.loads, line)

    def test_unknownFormat(self) -> None:
        """
        An unknown format is refused.
        """
        self.assertRaises(ValueError, filteredObserver, None, "info", "xml")

    def test_setting(self) -> None:
        """
        The C{log_format} setting is C{text} by default and accepts only
        C{text} and C{json}.
        """
        from pocketrelay.server.config import ConfigError

        self.assertEqual(loadSettings(environ={})["log_format"], "text")
        self.assertEqual(
            loadSettings(environ={"POCKETRELAY_LOG_FORMAT": "json"})["log_format"], "json"
        )
        self.assertRaises(
            ConfigError, loadSettings, None, {}, [("log_format", "xml")]
        )


class ServerLogFormatTests(SynchronousTestCase):
    """
    C{twistd pocketrelay-server} writes its log in the configured format.
    """

    def test_makeServiceJson(self) -> None:
        """
        With C{log_format = json} the observer C{makeService} gives twistd
        writes JSON lines to twistd's log file.
        """
        from twisted.internet.task import Clock
        from twisted.internet.testing import MemoryReactor
        from twisted.python.filepath import FilePath

        from pocketrelay.server import tap

        class Reactor(MemoryReactor, Clock):
            def __init__(self) -> None:
                MemoryReactor.__init__(self)
                Clock.__init__(self)

        path = self.mktemp()
        options = tap.Options()
        options.parent = {"logfile": path}  # type: ignore[assignment]
        dataDir = FilePath(self.mktemp())
        options.parseOptions(["--data-dir", dataDir.path, "--set", "log_format=json"])
        service = tap.makeService(options, Reactor())
        assert service.observer is not None
        Logger(observer=service.observer).info("started {what}", what="server")
        with open(path, encoding="utf-8") as f:
            (line,) = f.read().splitlines()
        self.assertEqual(json.loads(line)["what"], "server")
