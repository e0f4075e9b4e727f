# -*- test-case-name: tests.test_telemetry -*-
"""
Tests for L{pocketrelay.client.telemetry}.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.client.telemetry import (
    MAX_VALUES,
    TelemetryDecoder,
    TelemetryError,
    TelemetryFactory,
    TelemetryFramingError,
    TelemetryProtocol,
    TelemetryRecord,
    TelemetryRecordError,
    decodeBody,
    decodeRecord,
    decodeTlm3,
)
from pocketrelay.testing.logs import captureLogs

#: The TLM3 test vector of client-behaviour.md section 3 (the Pocket Relay
#: client's test_tlm3_line): the whole value, prefix included.
TLM3_VALUE = bytes.fromhex(
    """
    40 38 61 2d 64 58 55 90 44 40 31 32 47 8d 52 43 90 52 51 53 5b 92 5b 41
    62 3c 3b 2d 43 36 6b 87 3b 4a 6f 38 3c 32 5b 1e 4c 87 94 1d 2b 2f 37 4d
    54 85 80 47 4e bd 37 38 49 1e 64 58 55 90 46 36 33 5b 45 1b 59 43 90 52
    51 53 59 93 46 21 6e 3f 3a 56 2e 29 6f 8e 47 21 63 3b 3c 5a 16 8d 52 1b
    4e 8d 50 50 57 5d 16 5a 5f 16 4b 44 5f 8a 16 5a 35 55 54 91 52 86 86 80
    89 1d 5a 55 53 87 92 90 56 50 8a 19 44 19 80 36 2f 33 5e 90 68
    """
)

#: Its documented plaintext, ending in a NUL.
TLM3_PLAIN = (
    "000002DF/-;00000022/BOOT/SESS/OLNG/vlng=INT&tlng=INT,"
    "000002DF/-;00000023/ONLN/BLAZ/DCON/berr=-2146631680&fsta=11&tsta=3"
    "&sess=pcwdjtOCVpD\0"
)

HEADER = bytes(range(10))


def record(body: bytes, header: bytes = HEADER) -> bytes:
    """
    Frame C{body} as a telemetry record.
    """
    return header + (len(body) + 12).to_bytes(2, "big") + body


SAMPLE_BODY = b"AUTH=player\nSKEY=key\nTLM3=" + TLM3_VALUE + b"\nnoise\n"
SAMPLE = record(SAMPLE_BODY)


class DecodingTests(SynchronousTestCase):
    """
    The pure functions.
    """

    def test_tlm3Vector(self) -> None:
        """
        The documented TLM3 vector decodes to its documented output.
        """
        self.assertEqual(len(TLM3_VALUE), 141)
        self.assertEqual(decodeTlm3(TLM3_VALUE), TLM3_PLAIN)

    def test_tlm3WithoutDash(self) -> None:
        """
        A TLM3 value without C{-} is passed through as text.
        """
        self.assertEqual(decodeTlm3(b"plain"), "plain")

    def test_tlm3HighBitCleared(self) -> None:
        """
        The high bit of each decoded byte is cleared.
        """
        # 'T' ^ 0x80 ^ 'T' = 0x80 -> 0x00; 'h' ^ 'A' ^ 'h' = 'A'
        self.assertEqual(
            decodeTlm3(b"p-" + bytes([ord("T") ^ 0x80, ord("h") ^ ord("A")])), "\0A"
        )

    def test_record(self) -> None:
        """
        A record decodes into its header and C{(key, value)} pairs in order;
        lines without C{=} are dropped; only the first C{=} splits.
        """
        decoded = decodeRecord(record(b"A=1=2\nnoise\nB=\xe9\nTLM3=" + TLM3_VALUE))
        self.assertEqual(decoded.header, HEADER)
        self.assertEqual(
            decoded.values, (("A", "1=2"), ("B", "\xe9"), ("TLM3", TLM3_PLAIN))
        )

    def test_json(self) -> None:
        """
        The JSON body is C{{"values": [[key, value], ...]}}.
        """
        decoded = decodeRecord(SAMPLE)
        body = json.loads(json.dumps(decoded.toJSON()))
        self.assertEqual(
            body,
            {"values": [["AUTH", "player"], ["SKEY", "key"], ["TLM3", TLM3_PLAIN]]},
        )

    def test_malformedBodies(self) -> None:
        """
        A body without any C{key=value}, with an empty key, a key that is
        not printable ASCII, or too many lines is a L{TelemetryRecordError}.
        """
        for body in [b"", b"no pairs here", b"=value", b"K\x01=v", b"a b=c"]:
            self.assertRaises(TelemetryRecordError, decodeBody, body)
        self.assertRaises(TelemetryRecordError, decodeBody, b"k=v\n" * (MAX_VALUES + 1))

    def test_lengthMismatch(self) -> None:
        """
        A record whose length field disagrees with its size is refused.
        """
        self.assertRaises(TelemetryRecordError, decodeRecord, SAMPLE + b"x")
        self.assertRaises(TelemetryRecordError, decodeRecord, SAMPLE[:11])


class DecoderTests(SynchronousTestCase):
    """
    L{TelemetryDecoder}, the incremental splitter.
    """

    def drain(self, decoder: TelemetryDecoder) -> list[TelemetryRecord | str]:
        results: list[TelemetryRecord | str] = []
        while True:
            try:
                item = decoder.nextRecord()
            except TelemetryRecordError as e:
                results.append(f"error: {e}")
                continue
            if item is None:
                return results
            results.append(item)

    def test_byteByByte(self) -> None:
        """
        Records fed one byte at a time come out whole, once each.
        """
        decoder = TelemetryDecoder()
        results: list[TelemetryRecord | str] = []
        for byte in SAMPLE * 2:
            decoder.feed(bytes([byte]))
            results.extend(self.drain(decoder))
        self.assertEqual(results, [decodeRecord(SAMPLE)] * 2)
        self.assertEqual(decoder.buffered, 0)

    @given(st.lists(st.integers(0, len(SAMPLE) * 3), max_size=6))
    def test_anySplit(self, cuts: list[int]) -> None:
        """
        However the stream is cut, the same records come out.
        """
        stream = SAMPLE * 3
        points = [*sorted(set(cuts)), len(stream)]
        decoder = TelemetryDecoder()
        results: list[TelemetryRecord | str] = []
        start = 0
        for point in points:
            decoder.feed(stream[start:point])
            start = point
            results.extend(self.drain(decoder))
        self.assertEqual(results, [decodeRecord(SAMPLE)] * 3)

    def test_malformedRecordSkipped(self) -> None:
        """
        A malformed record raises once and the next record still decodes.
        """
        decoder = TelemetryDecoder()
        decoder.feed(record(b"garbage without pairs") + SAMPLE)
        results = self.drain(decoder)
        self.assertEqual(len(results), 2)
        self.assertIsInstance(results[0], str)
        self.assertEqual(results[1], decodeRecord(SAMPLE))

    def test_oversizedRecordSkippedWithoutBuffering(self) -> None:
        """
        A record over the limit is reported when its header arrives and its
        body is skipped as it comes, never buffered.
        """
        decoder = TelemetryDecoder(maxRecordSize=100)
        big = record(b"K=" + b"v" * 500)
        decoder.feed(big[:20])
        self.assertRaises(TelemetryRecordError, decoder.nextRecord)
        self.assertEqual(decoder.buffered, 0)
        for i in range(20, len(big), 7):
            decoder.feed(big[i : i + 7])
            self.assertIsNone(decoder.nextRecord())
            self.assertEqual(decoder.buffered, 0)
        decoder.feed(record(b"A=1"))
        self.assertEqual(decoder.nextRecord(), decodeRecord(record(b"A=1")))

    def test_shortLengthIsFatal(self) -> None:
        """
        A length below the header size breaks framing for good.
        """
        decoder = TelemetryDecoder()
        decoder.feed(HEADER + b"\x00\x05" + SAMPLE)
        self.assertRaises(TelemetryFramingError, decoder.nextRecord)
        decoder.feed(SAMPLE)
        self.assertRaises(TelemetryFramingError, decoder.nextRecord)

    def test_limitChecked(self) -> None:
        """
        The record size limit must lie between the header size and 65535.
        """
        self.assertRaises(ValueError, TelemetryDecoder, 11)
        self.assertRaises(ValueError, TelemetryDecoder, 65536)

    @given(st.binary(max_size=300))
    def test_garbageGivesCleanErrors(self, data: bytes) -> None:
        """
        Random bytes give records or L{TelemetryError}s, nothing else.
        """
        decoder = TelemetryDecoder()
        decoder.feed(data)
        for _ in range(len(data) + 1):
            try:
                if decoder.nextRecord() is None:
                    break
            except TelemetryFramingError:
                break
            except TelemetryError:
                continue


class ProtocolTests(SynchronousTestCase):
    """
    L{TelemetryProtocol} over a L{StringTransport}.
    """

    def setUp(self) -> None:
        self.records: list[TelemetryRecord] = []
        self.observer = captureLogs(self)
        self.protocol = TelemetryFactory(self.records.append).buildProtocol(None)
        self.transport = StringTransport()
        self.protocol.makeConnection(self.transport)

    def warnings(self) -> list[str]:
        return [
            e["log_format"].format(**e)
            for e in self.observer
            if e["log_level"] >= LogLevel.warn
        ]

    def test_recordsReachSink(self) -> None:
        """
        Each record, however it is chunked, is handed to the sink once.
        """
        stream = SAMPLE * 2
        self.protocol.dataReceived(stream[:30])
        self.protocol.dataReceived(stream[30:])
        self.assertEqual(self.records, [decodeRecord(SAMPLE)] * 2)
        self.assertFalse(self.transport.disconnecting)
        self.assertEqual(self.warnings(), [])

    def test_malformedDroppedConnectionStays(self) -> None:
        """
        A malformed record is dropped with one log line and the connection
        carries on.
        """
        self.protocol.dataReceived(record(b"nothing useful") + SAMPLE)
        self.assertEqual(self.records, [decodeRecord(SAMPLE)])
        self.assertEqual(len(self.warnings()), 1)
        self.assertIn("no key=value line", self.warnings()[0])
        self.assertFalse(self.transport.disconnecting)
        self.protocol.dataReceived(SAMPLE)
        self.assertEqual(len(self.records), 2)

    def test_brokenFramingCloses(self) -> None:
        """
        A record shorter than its header closes the connection with one log
        line; later bytes are ignored.
        """
        self.protocol.dataReceived(SAMPLE + HEADER + b"\x00\x00")
        self.assertEqual(len(self.records), 1)
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(len(self.warnings()), 1)
        self.protocol.dataReceived(SAMPLE)
        self.assertEqual(len(self.records), 1)

    def test_sinkFailureLogged(self) -> None:
        """
        A sink that raises is logged; the next record still gets through.
        """
        calls: list[TelemetryRecord] = []

        def sink(decoded: TelemetryRecord) -> None:
            calls.append(decoded)
            if len(calls) == 1:
                raise RuntimeError("upstream down")

        protocol = TelemetryProtocol(sink)
        protocol.makeConnection(StringTransport())
        protocol.dataReceived(SAMPLE * 2)
        self.assertEqual(len(calls), 2)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
