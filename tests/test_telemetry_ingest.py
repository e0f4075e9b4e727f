# -*- test-case-name: tests.test_telemetry_ingest -*-
"""
Tests for L{pocketrelay.server.web.api.telemetry}: the telemetry ingest
(C{POST /api/server/telemetry}), its checks, its window of recent records
and who may read it (C{GET /api/server/telemetry}).
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import defer
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pocketrelay.client.telemetry import decodeRecord
from pocketrelay.server.store import PlayerRole
from pocketrelay.server.web.api import ROUTES
from pocketrelay.server.web.api.openapi import buildDocument
from pocketrelay.server.web.api.telemetry import (
    MAX_BODY,
    MAX_KEY_LENGTH,
    MAX_VALUES,
    InvalidTelemetry,
    TelemetryEntry,
    TelemetryWindow,
    parseValues,
)
from pocketrelay.testing.web import WebHarness


def _record(body: bytes) -> bytes:
    return bytes(10) + (len(body) + 12).to_bytes(2, "big") + body


class ParseValuesTests(SynchronousTestCase):
    """
    L{parseValues} checks the shape, types and counts of C{values}.
    """

    def test_clientRecord(self) -> None:
        """
        What the client sends for a decoded record is accepted as it is.
        """
        record = decodeRecord(_record(b"AUTH=abc\nTLM3=@8a-dXU\nRAW=\xff\x01"))
        document = json.loads(json.dumps(record.toJSON()))
        self.assertEqual(parseValues(document["values"]), record.values)

    def test_nulInValue(self) -> None:
        """
        Values may hold any character (a decoded TLM3 value ends in NUL).
        """
        self.assertEqual(parseValues([["TLM3", "x\x00"]]), (("TLM3", "x\x00"),))

    def assertInvalid(self, values: object, fragment: str) -> None:
        error = self.assertRaises(InvalidTelemetry, parseValues, values)
        self.assertIn(fragment, str(error))
        self.assertLess(len(str(error)), 120)

    def test_shape(self) -> None:
        """
        Not a list, an empty list, or an element that is not a pair of
        strings is refused, naming the element.
        """
        self.assertInvalid({"A": "b"}, "must be a list")
        self.assertInvalid([], "empty")
        self.assertInvalid([["A", "b"], ["A"]], "values[1] is not a [key, value] pair")
        self.assertInvalid([["A", "b", "c"]], "not a [key, value] pair")
        self.assertInvalid(["A=b"], "not a [key, value] pair")
        self.assertInvalid([["A", 1]], "two strings")
        self.assertInvalid([[None, "b"]], "two strings")

    def test_keys(self) -> None:
        """
        Keys are 1 to MAX_KEY_LENGTH printable ASCII characters.
        """
        for key in ("", "A B", "K\u00e9", "K\n", "K" * (MAX_KEY_LENGTH + 1)):
            self.assertInvalid([[key, "v"]], "printable ASCII")
        self.assertEqual(parseValues([["K" * MAX_KEY_LENGTH, ""]])[0][1], "")

    def test_counts(self) -> None:
        """
        At most MAX_VALUES pairs; values at most 65535 characters.
        """
        self.assertEqual(len(parseValues([["K", "v"]] * MAX_VALUES)), MAX_VALUES)
        self.assertInvalid([["K", "v"]] * (MAX_VALUES + 1), f"more than {MAX_VALUES}")
        self.assertInvalid([["K", "v" * 0x10000]], "longer than 65535")


class WindowTests(SynchronousTestCase):
    """
    L{TelemetryWindow} keeps the most recent records within its bounds.
    """

    def entry(self, n: int, value: str = "v") -> TelemetryEntry:
        return TelemetryEntry(float(n), "203.0.113.1", (("N", str(n)), ("V", value)))

    def test_recordBound(self) -> None:
        """
        Beyond C{maxRecords} the oldest go; the newest come first.
        """
        window = TelemetryWindow(maxRecords=1000)
        for n in range(1005):
            window.add(self.entry(n))
        self.assertEqual(len(window), 1000)
        self.assertEqual(window.received, 1005)
        newest = window.recent(3)
        self.assertEqual([e.receivedAt for e in newest], [1004.0, 1003.0, 1002.0])
        self.assertEqual(list(window)[-1].receivedAt, 5.0)

    def test_sizeBound(self) -> None:
        """
        Beyond C{maxSize} characters the oldest go; a record larger than
        the whole window is not kept.
        """
        window = TelemetryWindow(maxRecords=100, maxSize=1000)
        for n in range(10):
            window.add(self.entry(n, "x" * 300))
        self.assertLessEqual(window.size, 1000)
        self.assertEqual([e.receivedAt for e in window], [9.0, 8.0, 7.0])
        window.add(self.entry(99, "y" * 2000))
        self.assertEqual(len(window), 3)
        self.assertEqual(window.received, 11)

    def test_clear(self) -> None:
        """
        L{TelemetryWindow.clear} empties it.
        """
        window = TelemetryWindow()
        window.add(self.entry(1))
        window.clear()
        self.assertEqual((len(window), window.size), (0, 0))

    def test_logText(self) -> None:
        """
        The log rendering is one line: control characters are escaped,
        and it is cut at the limit.
        """
        entry = TelemetryEntry(0.0, "a", (("A", "x\ny\x00"), ("B", "\u00ff")))
        self.assertEqual(entry.logText(), "A=x\\ny\\x00 B=\\xff")
        long = TelemetryEntry(0.0, "a", (("A", "z" * 5000),))
        self.assertEqual(len(long.logText(100)), 103)


class _IngestTestCase(TestCase):
    settings: dict[str, Any] = {}

    @defer.inlineCallbacks
    def setUp(self) -> Any:  # type: ignore[override]
        self.web = WebHarness(self, **self.settings)
        yield self.web.start()
        self.tokens = {}
        for name, role in (("default", PlayerRole.DEFAULT), ("admin", PlayerRole.ADMIN),
                           ("super", PlayerRole.SUPER_ADMIN)):
            _, self.tokens[name] = yield self.web.createPlayer(f"{name}@example.com", role)

    def post(self, body: Any) -> defer.Deferred[Any]:
        return self.web.request("POST", "/api/server/telemetry", body)

    def recent(self, caller: str | None = "super", query: str = "") -> defer.Deferred[Any]:
        token = self.tokens[caller] if caller is not None else None
        return self.web.request("GET", "/api/server/telemetry" + query, token=token)


class IngestTests(_IngestTestCase):
    """
    C{POST /api/server/telemetry} and C{GET /api/server/telemetry}.
    """

    @defer.inlineCallbacks
    def test_acceptedAndLogged(self) -> Any:
        """
        A record is answered 200 C{{}} and logged at debug level, in one
        event with named fields.
        """
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        response = yield self.post({"values": [["AUTH", "abc"], ["TLM3", "a\nb"]]})
        self.assertEqual((response.code, response.json()), (200, {}))
        [event] = [e for e in events if e.get("log_format", "").startswith("Telemetry from")]
        self.assertEqual(event["log_level"], LogLevel.debug)
        self.assertEqual(event["address"], "127.0.0.1")
        self.assertEqual(event["count"], 2)
        self.assertEqual(event["keys"], ["AUTH", "TLM3"])
        self.assertEqual(event["values"], "AUTH=abc TLM3=a\\nb")

    @defer.inlineCallbacks
    def test_readNewestFirst(self) -> Any:
        """
        A super admin reads the kept records, newest first, with their time
        and address; C{count} limits how many.
        """
        for n in range(3):
            yield self.post({"values": [["N", str(n)]]})
            self.web.clock.advance(1)
        response = yield self.recent()
        self.assertEqual(response.code, 200)
        document = response.json()
        self.assertEqual([r["values"] for r in document["records"]],
                         [[["N", "2"]], [["N", "1"]], [["N", "0"]]])
        self.assertEqual(document["records"][0]["address"], "127.0.0.1")
        self.assertEqual(document["records"][2]["received_at"], "2024-01-01T00:00:00Z")
        self.assertEqual((document["kept"], document["total_received"]), (3, 3))
        limited = yield self.recent(query="?count=1")
        self.assertEqual(len(limited.json()["records"]), 1)

    @defer.inlineCallbacks
    def test_roles(self) -> Any:
        """
        Only super admins read telemetry: others get 403, no token 401.
        """
        for caller, code in (("default", 403), ("admin", 403), (None, 401), ("super", 200)):
            response = yield self.recent(caller)
            self.assertEqual(response.code, code, caller)

    @defer.inlineCallbacks
    def test_invalid(self) -> Any:
        """
        Malformed bodies are 400 with a short plain-text message and are
        not kept.
        """
        for body, fragment in (
            (b"{", "not valid JSON"),
            (b"[]", "JSON object"),
            ({}, "Missing field 'values'"),
            ({"values": "A=b"}, "must be a list"),
            ({"values": []}, "empty"),
            ({"values": [["A", 1]]}, "two strings"),
            ({"values": [["A B", "c"]]}, "printable ASCII"),
        ):
            response = yield self.post(body)
            self.assertEqual(response.code, 400, body)
            self.assertIn(fragment, response.text)
            self.assertTrue((response.header("content-type") or "").startswith("text/plain"))
        response = yield self.recent()
        self.assertEqual(response.json()["records"], [])

    @defer.inlineCallbacks
    def test_sizeLimited(self) -> Any:
        """
        A body over 64 KiB is 413.
        """
        body = {"values": [["K", "v" * MAX_BODY]]}
        response = yield self.post(body)
        self.assertEqual(response.code, 413)

    def test_documented(self) -> None:
        """
        Both routes are in the OpenAPI document with their body, access and
        the 429 of the rate limit.
        """
        document = buildDocument(ROUTES, "1.0")
        operations = document["paths"]["/api/server/telemetry"]
        self.assertIn("values", operations["post"]["requestBody"]["content"]
                      ["application/json"]["schema"]["properties"])
        self.assertIn("429", operations["post"]["responses"])
        self.assertNotIn("security", operations["post"])
        self.assertIn("403", operations["get"]["responses"])


class IngestRateLimitTests(_IngestTestCase):
    """
    Telemetry is rate-limited per client address.
    """

    settings = {"limits__telemetry_rate": 60, "limits__telemetry_burst": 2}

    @defer.inlineCallbacks
    def test_limited(self) -> Any:
        """
        Beyond the burst, records are answered 429 and not kept.
        """
        codes = []
        for _ in range(3):
            response = yield self.post({"values": [["K", "v"]]})
            codes.append(response.code)
        self.assertEqual(codes, [200, 200, 429])
        response = yield self.recent()
        self.assertEqual(response.json()["kept"], 2)
        self.web.clock.advance(1)
        response = yield self.post({"values": [["K", "v"]]})
        self.assertEqual(response.code, 200)
