# -*- test-case-name: tests.test_telemetry -*-
"""
The game's telemetry: records read from TCP port 42129, decoded into the
JSON the Pocket Relay server takes at C{POST {server}api/server/telemetry}.

Record layout (all sizes in bytes)::

    0   10  header, meaning unknown; kept but not interpreted
    10   2  total record length, big-endian, including these 12 bytes
    12  ..  body: lines separated by "\\n", each "key=value"

Lines without C{=} are dropped; only the first C{=} splits.  The value of
the key C{TLM3} is C{<prefix>-<cipher>}: each cipher byte is XORed with
the key C{"The truth is back in style."} (repeating) and its high bit is
cleared.  Other values are sent as text decoded as latin-1 (the Pocket
Relay client sends them as a debug list of byte values; the server only
logs them either way).

Layers: L{decodeTlm3} and L{decodeRecord} are pure functions,
L{TelemetryDecoder} splits a byte stream into records, and
L{TelemetryProtocol} feeds it from a connection and hands each record to a
sink (the HTTP forwarder).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger

__all__ = [
    "HEADER_SIZE",
    "MAX_RECORD_SIZE",
    "TELEMETRY_PORT",
    "TLM3_KEY",
    "TelemetryDecoder",
    "TelemetryError",
    "TelemetryFactory",
    "TelemetryFramingError",
    "TelemetryProtocol",
    "TelemetryRecord",
    "TelemetryRecordError",
    "decodeRecord",
    "decodeTlm3",
]

#: Where the game sends telemetry (the server's TELE ADRS/PORT).
TELEMETRY_PORT = 42129

#: The fixed part of a record: 10 opaque bytes and the length.
HEADER_SIZE = 12

#: The largest record accepted; the length field cannot say more.
MAX_RECORD_SIZE = 0xFFFF

#: The XOR key of TLM3 values.
TLM3_KEY = b"The truth is back in style."

#: The most key=value lines a record may carry.
MAX_VALUES = 1024


class TelemetryError(ValueError):
    """
    Telemetry input could not be decoded.
    """


class TelemetryRecordError(TelemetryError):
    """
    One record is malformed or too large.  It has been skipped; the records
    after it can still be read.
    """


class TelemetryFramingError(TelemetryError):
    """
    The stream cannot be split into records any more (a record claims to
    be shorter than its own header), so nothing after this point can be
    trusted.  The connection should be closed.
    """


@attrs.frozen
class TelemetryRecord:
    """
    One decoded telemetry record.

    @ivar header: the first 10 bytes of the record, uninterpreted.
    @ivar values: the C{(key, value)} pairs in the order they came.
    """

    header: bytes
    values: tuple[tuple[str, str], ...]

    def toJSON(self) -> dict[str, Any]:
        """
        The body of C{POST {server}api/server/telemetry}:
        C{{"values": [["KEY", "value"], ...]}}.
        """
        return {"values": [[key, value] for key, value in self.values]}


def decodeTlm3(value: bytes) -> str:
    """
    Decode the value of a C{TLM3} line.

    @param value: C{<prefix>-<cipher>}.  Without a C{-} the value is
        returned as it is, decoded as latin-1.
    @return: the plaintext, one character per cipher byte (7-bit ASCII).
    """
    _, dash, cipher = value.partition(b"-")
    if not dash:
        return value.decode("latin-1")
    size = len(TLM3_KEY)
    return bytes(
        (byte ^ TLM3_KEY[i % size]) & 0x7F for i, byte in enumerate(cipher)
    ).decode("ascii")


def _checkKey(key: bytes) -> str:
    if not key:
        raise TelemetryRecordError("a line has an empty key")
    if any(byte < 0x21 or byte > 0x7E for byte in key):
        raise TelemetryRecordError(f"a key is not printable ASCII: {key[:32]!r}")
    return key.decode("ascii")


def decodeBody(body: bytes) -> tuple[tuple[str, str], ...]:
    """
    Decode the lines of a record body into C{(key, value)} pairs.

    @raise TelemetryRecordError: if there is no C{key=value} line, a key is
        empty or not printable ASCII, or there are more than L{MAX_VALUES}
        lines.
    """
    values: list[tuple[str, str]] = []
    for line in body.split(b"\n"):
        key, equals, value = line.partition(b"=")
        if not equals:
            continue
        if len(values) >= MAX_VALUES:
            raise TelemetryRecordError(f"more than {MAX_VALUES} values")
        name = _checkKey(key)
        text = decodeTlm3(value) if name == "TLM3" else value.decode("latin-1")
        values.append((name, text))
    if not values:
        raise TelemetryRecordError("no key=value line")
    return tuple(values)


def decodeRecord(record: bytes) -> TelemetryRecord:
    """
    Decode one complete record, header included.

    @raise TelemetryRecordError: if the length field does not match
        C{len(record)} or the body is malformed (see L{decodeBody}).
    """
    if len(record) < HEADER_SIZE:
        raise TelemetryRecordError(
            f"a record of {len(record)} bytes has no room for its header"
        )
    length = int.from_bytes(record[10:12], "big")
    if length != len(record):
        raise TelemetryRecordError(
            f"the length field says {length}, the record has {len(record)}"
        )
    return TelemetryRecord(bytes(record[:10]), decodeBody(bytes(record[HEADER_SIZE:])))


class TelemetryDecoder:
    """
    Splits a telemetry byte stream into records, whatever the chunking.

    Feed bytes with L{feed}, then call L{nextRecord} until it returns
    L{None}.  A malformed record makes L{nextRecord} raise
    L{TelemetryRecordError} once, after which decoding continues with the
    next record; a record larger than C{maxRecordSize} is reported as soon
    as its header arrives and its body is skipped without being buffered.

    @ivar maxRecordSize: the largest record accepted, header included.
    """

    def __init__(self, maxRecordSize: int = MAX_RECORD_SIZE) -> None:
        if not HEADER_SIZE <= maxRecordSize <= MAX_RECORD_SIZE:
            raise ValueError(
                f"maxRecordSize must be {HEADER_SIZE} to {MAX_RECORD_SIZE}"
            )
        self.maxRecordSize = maxRecordSize
        self._buffer = bytearray()
        self._skip = 0
        self._failed: TelemetryFramingError | None = None

    @property
    def buffered(self) -> int:
        """
        How many received bytes wait to be decoded.
        """
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        """
        Add received bytes.
        """
        if self._failed is not None:
            return
        if self._skip:
            step = min(self._skip, len(data))
            self._skip -= step
            data = data[step:]
        self._buffer += data

    def nextRecord(self) -> TelemetryRecord | None:
        """
        Decode the next complete record.

        @return: the record, or L{None} if more bytes are needed.
        @raise TelemetryRecordError: the next record is malformed; it has
            been consumed.
        @raise TelemetryFramingError: the stream cannot be decoded further;
            raised again on every later call.
        """
        if self._failed is not None:
            raise self._failed
        if self._skip or len(self._buffer) < HEADER_SIZE:
            return None
        length = int.from_bytes(self._buffer[10:12], "big")
        if length < HEADER_SIZE:
            self._failed = TelemetryFramingError(
                f"a record claims {length} bytes, less than its {HEADER_SIZE}-byte header"
            )
            self._buffer.clear()
            raise self._failed
        if length > self.maxRecordSize:
            available = min(length, len(self._buffer))
            del self._buffer[:available]
            self._skip = length - available
            raise TelemetryRecordError(
                f"a record of {length} bytes is larger than the {self.maxRecordSize}-byte limit"
            )
        if len(self._buffer) < length:
            return None
        record = bytes(self._buffer[:length])
        del self._buffer[:length]
        return decodeRecord(record)


class TelemetryProtocol(Protocol):
    """
    One telemetry connection from the game.  Each decoded record goes to
    C{sink}; a malformed one is logged and dropped and the connection
    carries on; a stream that cannot be framed is logged and closed.

    @ivar sink: called with each L{TelemetryRecord}.
    """

    log = Logger()

    def __init__(
        self,
        sink: Callable[[TelemetryRecord], object],
        maxRecordSize: int = MAX_RECORD_SIZE,
    ) -> None:
        self.sink = sink
        self._decoder = TelemetryDecoder(maxRecordSize)
        self._closing = False
        self.peer = "?"
        self.received = 0
        self.dropped = 0

    def connectionMade(self) -> None:
        try:
            address = self.transport.getPeer()  # type: ignore[union-attr]
            self.peer = (
                f"{getattr(address, 'host', address)}:{getattr(address, 'port', '')}"
            )
        except Exception:
            self.peer = "?"

    def dataReceived(self, data: bytes) -> None:
        if self._closing:
            return
        self._decoder.feed(data)
        while True:
            try:
                record = self._decoder.nextRecord()
            except TelemetryFramingError as e:
                self.log.warn(
                    "Closing telemetry connection from {peer}: {reason}",
                    peer=self.peer,
                    reason=str(e),
                )
                self._closing = True
                self.transport.loseConnection()  # type: ignore[union-attr]
                return
            except TelemetryRecordError as e:
                self.dropped += 1
                self.log.warn(
                    "Dropping a telemetry record from {peer}: {reason}",
                    peer=self.peer,
                    reason=str(e),
                )
                continue
            if record is None:
                return
            self.received += 1
            try:
                self.sink(record)
            except Exception:
                self.log.failure(
                    "Forwarding a telemetry record from {peer} failed", peer=self.peer
                )


class TelemetryFactory(Factory):
    """
    Makes a L{TelemetryProtocol} for each connection, all sharing one sink.
    """

    noisy = False

    def __init__(
        self,
        sink: Callable[[TelemetryRecord], object],
        maxRecordSize: int = MAX_RECORD_SIZE,
    ) -> None:
        self.sink = sink
        self.maxRecordSize = maxRecordSize

    def buildProtocol(self, addr: Any) -> TelemetryProtocol:
        protocol = TelemetryProtocol(self.sink, self.maxRecordSize)
        protocol.factory = self
        return protocol
