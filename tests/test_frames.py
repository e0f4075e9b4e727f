# -*- test-case-name: tests.test_frames -*-
"""
Tests for L{pocketrelay.blaze.frames}: the Fire frame header, jumbo
frames, and the incremental L{FrameDecoder}.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.blaze.frames import (
    DEFAULT_MAX_FRAME_SIZE,
    HEADER_SIZE,
    Frame,
    FrameDecoder,
    FrameError,
    MessageType,
    Options,
    notification,
    parseFrame,
    request,
)
from pocketrelay.testing import strategies as S

_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)


def _decodeAll(
    pieces: list[bytes], maxFrameSize: int = DEFAULT_MAX_FRAME_SIZE
) -> list[Frame]:
    decoder = FrameDecoder(maxFrameSize)
    found = []
    for piece in pieces:
        found.extend(decoder.feed(piece))
    if decoder.buffered:
        raise AssertionError(f"{decoder.buffered} bytes left over")
    return found


_SMALL = [
    request(9, 2, 1),
    Frame(5, 1, MessageType.REQUEST, 0, 0, b"\x8b\x39\x2b\x01\x02a\x00"),
    Frame(1, 0x28, MessageType.ERROR_REPLY, 5, 0x0B),
    Frame(4, 0x14, MessageType.NOTIFICATION, 0, 0, b"body", context=b"ctx4"),
    Frame(
        0x7802,
        3,
        MessageType.REPLY,
        0xFFFFF,
        0,
        b"x" * 40,
        Options.IMMEDIATE,
        2,
        b"8 bytes!",
    ),
]


class FrameEncodingTests(SynchronousTestCase):
    """
    L{Frame.encode} and L{parseFrame}.
    """

    def test_headerLayout(self) -> None:
        """
        The 12-byte header holds length, component, command, error,
        type and user index, options and the 20-bit sequence number.
        """
        frame = Frame(
            component=0x7802,
            command=0x14,
            type=MessageType.NOTIFICATION,
            seq=0xABCDE,
            error=0x1234,
            body=b"xy",
            options=Options.IMMEDIATE,
            userIndex=3,
        )
        raw = frame.encode()
        self.assertEqual(raw, bytes.fromhex("0002 7802 0014 1234 23 4a bcde") + b"xy")
        self.assertEqual(parseFrame(raw), frame)

    def test_sequenceNumber(self) -> None:
        """
        The sequence number has 20 bits: the top four go to the low nibble
        of byte 9.
        """
        raw = request(1, 1, (1 << 20) - 1).encode()
        self.assertEqual(raw[9:12], b"\x0f\xff\xff")
        self.assertEqual(parseFrame(raw).seq, (1 << 20) - 1)
        self.assertEqual(request(1, 1, 0x10000).encode()[9:12], b"\x01\x00\x00")

    def test_context(self) -> None:
        """
        A 4-byte context sets HAS_CONTEXT, an 8-byte one also JUMBO_CONTEXT;
        the context follows the header.
        """
        for context, flags in ((b"abcd", 0x2), (b"abcdefgh", 0xA)):
            frame = Frame(9, 2, body=b"B", context=context)
            raw = frame.encode()
            self.assertEqual(raw[9] >> 4, flags)
            self.assertEqual(raw[HEADER_SIZE:], context + b"B")
            self.assertEqual(raw[0:2], b"\x00\x01")
            self.assertEqual(parseFrame(raw), frame)

    def test_jumbo(self) -> None:
        """
        A body over 65535 bytes sets JUMBO_FRAME and carries the high 16
        bits of its length after the header: length = (ext << 16) | low.
        """
        body = bytes(range(256)) * 273 + b"\x00" * 112
        self.assertEqual(len(body), 70000)
        frame = Frame(9, 1, MessageType.REPLY, 7, body=body)
        raw = frame.encode()
        self.assertEqual(raw[:14], bytes.fromhex("1170 0009 0001 0000 10 10 0007 0001"))
        self.assertEqual(raw[14:], body)
        self.assertEqual(parseFrame(raw), frame)

    def test_jumboWithContext(self) -> None:
        """
        A jumbo frame with an 8-byte context has the 22-byte header: the
        length extension first, then the context.
        """
        body = b"\x01" * 0x20005
        frame = Frame(4, 0x14, MessageType.NOTIFICATION, body=body, context=b"ABCDEFGH")
        raw = frame.encode()
        self.assertEqual(raw[0:2], b"\x00\x05")
        self.assertEqual(raw[9] >> 4, 0x1 | 0x2 | 0x8)
        self.assertEqual(raw[12:22], b"\x00\x02ABCDEFGH")
        self.assertEqual(raw[22:], body)
        self.assertEqual(parseFrame(raw), frame)

    def test_largestPlainFrame(self) -> None:
        """
        A body of exactly 65535 bytes does not need a jumbo frame.
        """
        raw = Frame(9, 1, body=b"z" * 0xFFFF).encode()
        self.assertEqual(raw[0:2], b"\xff\xff")
        self.assertEqual(raw[9], 0)
        self.assertEqual(len(raw), HEADER_SIZE + 0xFFFF)

    def test_derivedOptions(self) -> None:
        """
        Jumbo and context bits given in C{options} are ignored: they are
        derived from the body and context.
        """
        frame = Frame(9, 2, options=Options.JUMBO_FRAME | Options.HAS_CONTEXT)
        self.assertEqual(frame.encode()[9], 0)

    def test_outOfRange(self) -> None:
        """
        Fields that do not fit their place in the header raise
        L{FrameError}.
        """
        for frame in (
            Frame(-1, 0),
            Frame(0x10000, 0),
            Frame(0, 0x10000),
            Frame(0, -1),
            Frame(0, 0, error=0x10000),
            Frame(0, 0, seq=1 << 20),
            Frame(0, 0, seq=-1),
            Frame(0, 0, userIndex=16),
            Frame(0, 0, type=16),  # type: ignore[arg-type]
            Frame(0, 0, context=b"abc"),
            Frame(0, 0, context=b"abcdefghi"),
        ):
            self.assertRaises(FrameError, frame.encode)

    @_SETTINGS
    @given(S.fireFrames())
    def test_roundTrip(self, frame: Frame) -> None:
        """
        Every frame parses back to itself.
        """
        self.assertEqual(parseFrame(frame.encode()), frame)

    def test_reply(self) -> None:
        """
        A reply echoes component, command, sequence number and user index.
        """
        req = Frame(0x7802, 0x14, MessageType.REQUEST, 0x12345, userIndex=1)
        reply = req.reply(b"body")
        self.assertEqual(
            reply,
            Frame(0x7802, 0x14, MessageType.REPLY, 0x12345, 0, b"body", userIndex=1),
        )

    def test_errorReply(self) -> None:
        """
        An error reply echoes the request and carries the error code.
        """
        req = request(1, 0x28, 5)
        reply = req.errorReply(0x0B)
        self.assertEqual(reply, Frame(1, 0x28, MessageType.ERROR_REPLY, 5, 0x0B))
        self.assertEqual(reply.encode(), bytes.fromhex("000000010028000b30000005"))

    def test_notification(self) -> None:
        """
        Notifications have type 2, sequence number 0 and no error.
        """
        frame = notification(4, 0x1E, b"b")
        self.assertEqual(
            (frame.type, frame.seq, frame.error), (MessageType.NOTIFICATION, 0, 0)
        )
        self.assertEqual(frame.encode()[8], 0x20)

    def test_parseFrameRefusesPartsAndExtras(self) -> None:
        """
        L{parseFrame} wants exactly one whole frame.
        """
        raw = request(9, 2, 1, b"abc").encode()
        self.assertRaises(FrameError, parseFrame, raw[:-1])
        self.assertRaises(FrameError, parseFrame, raw[:5])
        self.assertRaises(FrameError, parseFrame, raw + b"\x00")
        self.assertRaises(FrameError, parseFrame, raw + raw)


class FrameDecoderTests(SynchronousTestCase):
    """
    L{FrameDecoder}: any split of a stream gives the same frames; limits are
    enforced before buffering.
    """

    def test_everySplitOfSmallFrames(self) -> None:
        """
        A stream of small frames cut in two or three pieces at every pair
        of points decodes to the same frames.
        """
        stream = b"".join(f.encode() for f in _SMALL)
        for i in range(len(stream) + 1):
            self.assertEqual(_decodeAll([stream[:i], stream[i:]]), _SMALL, i)
        for i in range(0, len(stream) + 1, 3):
            for j in range(i, len(stream) + 1):
                self.assertEqual(
                    _decodeAll([stream[:i], stream[i:j], stream[j:]]), _SMALL, (i, j)
                )

    def test_byteByByte(self) -> None:
        """
        Feeding one byte at a time gives each frame exactly when its last
        byte arrives.
        """
        encoded = [f.encode() for f in _SMALL]
        decoder = FrameDecoder()
        for frame, raw in zip(_SMALL, encoded, strict=True):
            for byte in raw[:-1]:
                self.assertEqual(decoder.feed(bytes([byte])), [])
            self.assertEqual(decoder.feed(raw[-1:]), [frame])
            self.assertEqual(decoder.buffered, 0)

    def test_splitsAroundJumbo(self) -> None:
        """
        A stream with small frames around a jumbo frame decodes the same
        when split anywhere in the headers and at a sample of body points.
        """
        jumbo = Frame(
            9, 1, MessageType.REPLY, 3, body=bytes(range(256)) * 300, context=b"ctx4"
        )
        expected = [_SMALL[0], _SMALL[3], jumbo, _SMALL[4]]
        parts = [f.encode() for f in expected]
        stream = b"".join(parts)
        jumboStart = len(parts[0]) + len(parts[1])
        jumboEnd = jumboStart + len(parts[2])
        points = set(range(jumboStart + 40))
        points.update(range(jumboEnd - 20, len(stream) + 1))
        points.update(range(jumboStart, jumboEnd, 997))
        for i in sorted(points):
            self.assertEqual(_decodeAll([stream[:i], stream[i:]]), expected, i)

    @_SETTINGS
    @given(st.lists(S.fireFrames(), min_size=1, max_size=5), st.data())
    def test_anySplit(self, frames: list[Frame], data: st.DataObject) -> None:
        """
        Any stream of frames cut anywhere decodes to the same frames.
        """
        stream = b"".join(f.encode() for f in frames)
        pieces = data.draw(S.frameSplits(stream))
        self.assertEqual(_decodeAll(pieces), frames)

    def test_missing(self) -> None:
        """
        L{FrameDecoder.missing} says how many bytes the frame in progress
        needs at least.
        """
        raw = Frame(9, 2, body=b"12345", context=b"abcd").encode()
        decoder = FrameDecoder()
        self.assertEqual(decoder.missing(), HEADER_SIZE)
        decoder.feed(raw[:4])
        self.assertEqual(decoder.missing(), HEADER_SIZE - 4)
        decoder.feed(raw[4:14])
        self.assertEqual(decoder.missing(), len(raw) - 14)
        self.assertEqual(decoder.buffered, 14)

    def test_maxFrames(self) -> None:
        """
        With C{maxFrames}, at most that many frames come out; the others
        stay buffered as bytes (L{FrameDecoder.hasFrame}) and come out of
        later calls, in order; an error in them is raised when reached.
        """
        frames = [Frame(9, 2, seq=n, body=b"x" * n) for n in range(5)]
        decoder = FrameDecoder()
        self.assertFalse(decoder.hasFrame())
        self.assertEqual(decoder.feed(b"".join(f.encode() for f in frames) + b"\0", 2),
                         frames[:2])
        self.assertTrue(decoder.hasFrame())
        self.assertEqual(decoder.feed(b"", 2), frames[2:4])
        self.assertEqual(decoder.feed(b"", 2), frames[4:])
        self.assertFalse(decoder.hasFrame())
        self.assertEqual(decoder.buffered, 1)
        bad = FrameDecoder()
        bad.feed(frames[0].encode() + b"\0\0\0\0\0\0\0\0\xf0\0\0\0", 1)
        with self.assertRaises(FrameError):
            bad.feed(b"", 1)

    def test_tooLargeRaisedAtHeader(self) -> None:
        """
        A frame larger than the limit is refused as soon as its header is
        in, before any of its body is buffered.
        """
        raw = request(9, 2, 1, b"x" * 101).encode()
        decoder = FrameDecoder(maxFrameSize=100)
        error = self.assertRaises(FrameError, decoder.feed, raw[:HEADER_SIZE])
        self.assertEqual(error.offset, 0)
        self.assertEqual(decoder.buffered, 0)
        self.assertEqual(
            len(_decodeAll([request(9, 2, 1, b"x" * 100).encode()], 100)), 1
        )

    def test_tooLargeJumbo(self) -> None:
        """
        A jumbo frame over the limit is refused once the length extension
        is in, without its body.
        """
        header = Frame(9, 1, body=b"\x00" * 70000).encode()[:14]
        decoder = FrameDecoder(maxFrameSize=65536)
        self.assertEqual(decoder.feed(header[:13]), [])
        self.assertRaises(FrameError, decoder.feed, header[13:])
        self.assertEqual(decoder.buffered, 0)

    def test_hugeLengthWithDefaultLimit(self) -> None:
        """
        A header announcing a 4 GiB body is refused by the default limit.
        """
        header = bytes.fromhex("ffff 0009 0001 0000 10 10 0001 ffff")
        decoder = FrameDecoder()
        self.assertRaises(FrameError, decoder.feed, header)
        self.assertEqual(decoder.buffered, 0)

    def test_errorOffset(self) -> None:
        """
        The error's offset is where the bad frame starts in the stream.
        """
        good = request(9, 2, 1, b"abc").encode()
        bad = bytearray(request(9, 2, 2).encode())
        bad[8] = 0x60
        decoder = FrameDecoder()
        self.assertEqual(len(decoder.feed(good)), 1)
        error = self.assertRaises(FrameError, decoder.feed, good + bytes(bad))
        self.assertEqual(error.offset, 2 * len(good))

    def test_failedStaysFailed(self) -> None:
        """
        After a L{FrameError} every further feed raises it again, even with
        valid bytes.
        """
        decoder = FrameDecoder(maxFrameSize=10)
        first = self.assertRaises(
            FrameError, decoder.feed, request(9, 2, 1, b"x" * 11).encode()
        )
        again = self.assertRaises(FrameError, decoder.feed, request(9, 2, 1).encode())
        self.assertEqual((again.reason, again.offset), (first.reason, first.offset))
        self.assertEqual(again.frames, [])
        self.assertRaises(FrameError, decoder.feed, b"")

    def test_framesBeforeErrorKept(self) -> None:
        """
        The error carries the whole frames that came before the bad one in
        the same feed, so the caller can still answer them.
        """
        good = request(9, 2, 1)
        bad = bytearray(request(9, 2, 2).encode())
        bad[8] = 0x60
        error = self.assertRaises(
            FrameError, FrameDecoder().feed, good.encode() + bytes(bad)
        )
        self.assertEqual(error.frames, [good])
        self.assertEqual(error.offset, len(good.encode()))

    def test_unknownMessageType(self) -> None:
        """
        Message types above 5 (ping reply) are refused.
        """
        for kind in range(6, 16):
            raw = bytearray(request(9, 2, 1).encode())
            raw[8] = kind << 4
            self.assertRaises(FrameError, FrameDecoder().feed, bytes(raw))
        for kind in range(6):
            raw = bytearray(request(9, 2, 1).encode())
            raw[8] = kind << 4
            self.assertEqual(FrameDecoder().feed(bytes(raw))[0].type, MessageType(kind))

    def test_negativeLimit(self) -> None:
        """
        A negative limit is a programming error.
        """
        self.assertRaises(ValueError, FrameDecoder, -1)

    @_SETTINGS
    @given(st.binary(max_size=300), st.integers(0, 300))
    def test_garbage(self, data: bytes, limit: int) -> None:
        """
        Random bytes give frames or L{FrameError}, nothing else, and the
        same result whichever way they are split.
        """
        try:
            whole = FrameDecoder(limit).feed(data)
        except FrameError as e:
            self.assertIsInstance(e.offset, int)
            return
        decoder = FrameDecoder(limit)
        pieces = []
        for i in range(0, len(data), 7):
            pieces.extend(decoder.feed(data[i : i + 7]))
        self.assertEqual(pieces, whole)
