# -*- test-case-name: tests.test_telemetry_ingest -*-
"""
The telemetry ingest: C{POST /api/server/telemetry} takes one decoded game
telemetry record from a Pocket Relay client (C{{"values": [[key, value],
...]}}, see L{pocketrelay.client.telemetry.TelemetryRecord.toJSON}),
checks it, logs it at debug level and keeps it in a bounded window of
recent records that super admins read with C{GET /api/server/telemetry},
newest first.

L{parseValues} is the pure check of the C{values} list; L{TelemetryWindow}
is the window; L{submitTelemetry} and L{recentTelemetry} are the route
handlers (the route table is in L{pocketrelay.server.web.api.routes}).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any, Final

import attrs
from twisted.logger import Logger

from pocketrelay.server.web.api.accounts import isoTime
from pocketrelay.server.web.api.router import ApiError, Call, clientAddress

__all__ = [
    "LOG_TEXT_LIMIT",
    "MAX_BODY",
    "MAX_KEY_LENGTH",
    "MAX_VALUES",
    "MAX_VALUE_LENGTH",
    "WINDOW_BYTES",
    "WINDOW_RECORDS",
    "InvalidTelemetry",
    "TelemetryEntry",
    "TelemetryWindow",
    "parseValues",
    "recentTelemetry",
    "submitTelemetry",
]

log = Logger()

#: The largest request body of C{POST /api/server/telemetry}, in bytes.
MAX_BODY: Final = 64 * 1024

#: The most C{[key, value]} pairs in one record (as the client decodes).
MAX_VALUES: Final = 1024

#: The longest key, in characters.
MAX_KEY_LENGTH: Final = 256

#: The longest value, in characters (a record is at most 64 KiB).
MAX_VALUE_LENGTH: Final = 0xFFFF

#: The most records the window keeps.
WINDOW_RECORDS: Final = 1000

#: The most characters of keys and values the window keeps (about 4 MiB).
WINDOW_BYTES: Final = 4 * 1024 * 1024

#: The longest rendering of a record's values in its log line.
LOG_TEXT_LIMIT: Final = 2000


class InvalidTelemetry(ValueError):
    """
    A telemetry record does not have the expected shape; the message is
    short and names the problem.
    """


def _printableKey(key: str) -> bool:
    return all("\x21" <= char <= "\x7e" for char in key)


def parseValues(values: object) -> tuple[tuple[str, str], ...]:
    """
    Check the C{values} of a telemetry record: a list of 1 to
    L{MAX_VALUES} pairs C{[key, value]} of strings, keys of 1 to
    L{MAX_KEY_LENGTH} printable ASCII characters without spaces (as the
    game writes them), values of at most L{MAX_VALUE_LENGTH} characters
    (any; a decoded C{TLM3} value ends with a NUL).

    @return: the pairs as tuples.
    @raise InvalidTelemetry: naming the first problem.
    """
    if not isinstance(values, list):
        raise InvalidTelemetry("'values' must be a list of [key, value] pairs")
    if not values:
        raise InvalidTelemetry("'values' is empty")
    if len(values) > MAX_VALUES:
        raise InvalidTelemetry(f"more than {MAX_VALUES} values")
    pairs = []
    for index, pair in enumerate(values):
        if not (isinstance(pair, list) and len(pair) == 2):
            raise InvalidTelemetry(f"values[{index}] is not a [key, value] pair")
        key, value = pair
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidTelemetry(f"values[{index}] must hold two strings")
        if not key or len(key) > MAX_KEY_LENGTH or not _printableKey(key):
            raise InvalidTelemetry(
                f"values[{index}] has a key that is not 1 to {MAX_KEY_LENGTH} "
                f"printable ASCII characters"
            )
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidTelemetry(
                f"values[{index}] has a value longer than {MAX_VALUE_LENGTH} characters"
            )
        pairs.append((key, value))
    return tuple(pairs)


def _isoTime(seconds: float) -> str | None:
    return isoTime(seconds)


@attrs.frozen
class TelemetryEntry:
    """
    One received telemetry record.

    @ivar receivedAt: when, in Unix seconds.
    @ivar address: the client address it came from.
    @ivar values: the C{(key, value)} pairs in their order.
    """

    receivedAt: float
    address: str
    values: tuple[tuple[str, str], ...]

    @property
    def size(self) -> int:
        """
        The characters of its keys and values (what the window counts).
        """
        return sum(len(key) + len(value) for key, value in self.values)

    def toJSON(self) -> dict[str, Any]:
        """
        The record as C{GET /api/server/telemetry} shows it:
        C{{received_at, address, values: [[key, value], ...]}}.
        """
        return {
            "received_at": _isoTime(self.receivedAt),
            "address": self.address,
            "values": [[key, value] for key, value in self.values],
        }

    def logText(self, limit: int = LOG_TEXT_LIMIT) -> str:
        """
        The values as one line, C{KEY=value} separated by spaces, with
        control and non-ASCII characters escaped, cut at C{limit}
        characters.
        """
        text = " ".join(
            f"{key}={value.encode('unicode_escape').decode('ascii')}"
            for key, value in self.values
        )
        if len(text) > limit:
            text = text[:limit] + "..."
        return text


class TelemetryWindow:
    """
    The most recent telemetry records: at most C{maxRecords} of them and
    at most C{maxSize} characters of keys and values; the oldest go first.

    @ivar received: how many records were ever added.
    """

    def __init__(self, maxRecords: int = WINDOW_RECORDS, maxSize: int = WINDOW_BYTES) -> None:
        if maxRecords < 1 or maxSize < 1:
            raise ValueError("a telemetry window must hold something")
        self.maxRecords = maxRecords
        self.maxSize = maxSize
        self.received = 0
        self._entries: deque[TelemetryEntry] = deque()
        self._size = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[TelemetryEntry]:
        """
        The records kept, newest first.
        """
        return reversed(self._entries)

    @property
    def size(self) -> int:
        """
        The characters of keys and values kept.
        """
        return self._size

    def add(self, entry: TelemetryEntry) -> None:
        """
        Keep C{entry}, dropping the oldest records beyond the bounds (a
        record larger than the whole window is not kept).
        """
        self.received += 1
        size = entry.size
        if size > self.maxSize:
            return
        self._entries.append(entry)
        self._size += size
        while len(self._entries) > self.maxRecords or self._size > self.maxSize:
            self._size -= self._entries.popleft().size

    def recent(self, count: int) -> list[TelemetryEntry]:
        """
        The C{count} newest records, newest first.
        """
        result: list[TelemetryEntry] = []
        for entry in self:
            if len(result) >= count:
                break
            result.append(entry)
        return result

    def clear(self) -> None:
        """
        Forget every record kept.
        """
        self._entries.clear()
        self._size = 0


def submitTelemetry(call: Call) -> Any:
    """
    POST /server/telemetry {values}: check, log and keep one record.
    """
    try:
        values = parseValues((call.body or {}).get("values"))
    except InvalidTelemetry as e:
        raise ApiError(400, str(e))
    entry = TelemetryEntry(call.hub.clock.seconds(), clientAddress(call), values)
    call.api.telemetry.add(entry)
    log.debug(
        "Telemetry from {address}: {count} values: {values}",
        address=entry.address,
        count=len(values),
        values=entry.logText(),
        keys=[key for key, _ in values],
    )
    return {}


def recentTelemetry(call: Call) -> Any:
    """
    GET /server/telemetry?count=: the newest records first.
    """
    window = call.api.telemetry
    records = window.recent(call.query["count"])
    return {
        "records": [entry.toJSON() for entry in records],
        "kept": len(window),
        "total_received": window.received,
    }
