# -*- test-case-name: tests.test_tunnelwire -*-
"""
Tests for L{pocketrelay.tunnelwire}: the UDP tunnel datagrams and the HTTP
tunnel frames.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay import tunnelwire as w

_ids = st.integers(0, 0xFFFFFFFF)
_payloads = st.binary(max_size=2000)
_messages = st.one_of(
    st.builds(w.Initiate, st.text(max_size=200)),
    st.builds(w.Initiated, _ids),
    st.builds(w.Forward, st.integers(0, 255), _payloads),
    st.just(w.KeepAlive()),
)


class DatagramTests(SynchronousTestCase):
    """
    UDP tunnel datagrams.
    """

    def test_knownBytes(self) -> None:
        """
        Each message type has the layout of the reference: version 1, the
        big-endian tunnel id, the type byte, then the body.
        """
        self.assertEqual(
            w.encodeDatagram(w.UNASSIGNED, w.Initiate("ab")),
            b"\x01\xff\xff\xff\xff\x00\x00\x02ab",
        )
        self.assertEqual(
            w.encodeDatagram(7, w.Initiated(0x01020304)),
            b"\x01\x00\x00\x00\x07\x01\x01\x02\x03\x04",
        )
        self.assertEqual(
            w.encodeDatagram(0x0A0B0C0D, w.Forward(2, b"xyz")),
            b"\x01\x0a\x0b\x0c\x0d\x02\x02\x00\x03xyz",
        )
        self.assertEqual(w.encodeDatagram(9, w.KeepAlive()), b"\x01\x00\x00\x00\x09\x03")

    @given(_ids, _messages)
    def test_roundTrip(self, tunnelId: int, message: w.Message) -> None:
        """
        Every message decodes to what was encoded.
        """
        data = w.encodeDatagram(tunnelId, message)
        self.assertEqual(w.decodeDatagram(data), w.Datagram(tunnelId, message))

    @given(_ids, _messages, st.data())
    def test_truncatedOrExtended(self, tunnelId: int, message: w.Message, data: st.DataObject) -> None:
        """
        A datagram cut short or with bytes appended is refused with
        L{TunnelWireError}.
        """
        encoded = w.encodeDatagram(tunnelId, message)
        cut = data.draw(st.integers(0, len(encoded) - 1))
        self.assertRaises(w.TunnelWireError, w.decodeDatagram, encoded[:cut])
        extra = data.draw(st.binary(min_size=1, max_size=10))
        self.assertRaises(w.TunnelWireError, w.decodeDatagram, encoded + extra)

    @given(st.binary(max_size=300))
    def test_garbage(self, data: bytes) -> None:
        """
        Random bytes either decode or raise L{TunnelWireError}, nothing
        else.
        """
        try:
            decoded = w.decodeDatagram(data)
        except w.TunnelWireError:
            return
        self.assertEqual(w.encodeDatagram(decoded.tunnelId, decoded.message), data)

    def test_errors(self) -> None:
        """
        Wrong version, unknown type, a token that is not UTF-8: each with
        its own message.
        """
        cases = {
            b"\x02\x00\x00\x00\x00\x03": "version 2",
            b"\x01\x00\x00\x00\x00\x09": "type 9",
            b"\x01\x00\x00\x00\x00\x00\x00\x01\xff": "not UTF-8",
            b"\x01\x00\x00": "too short",
            b"\x01\x00\x00\x00\x00\x02\x00\x00\x05ab": "5 bytes, 2 present",
        }
        for data, expected in cases.items():
            e = self.assertRaises(w.TunnelWireError, w.decodeDatagram, data)
            self.assertIn(expected, str(e))

    def test_encodeLimits(self) -> None:
        """
        Values that do not fit their fields are refused when encoding.
        """
        self.assertRaises(w.TunnelWireError, w.encodeDatagram, 1 << 32, w.KeepAlive())
        self.assertRaises(w.TunnelWireError, w.encodeDatagram, 1, w.Forward(256, b""))
        self.assertRaises(w.TunnelWireError, w.encodeDatagram, 1, w.Forward(0, b"x" * 65536))
        self.assertRaises(w.TunnelWireError, w.encodeDatagram, 1, w.Initiated(-1))
        self.assertRaises(w.TunnelWireError, w.encodeDatagram, 1, object())


class SizeTests(SynchronousTestCase):
    """
    How large a game datagram each format and transport carries.
    """

    def test_udpLimits(self) -> None:
        """
        A UDP datagram holds 65,507 bytes over IPv4 and 65,527 over IPv6
        (an IPv4-mapped address counts as IPv4); a Forward datagram of the
        largest game datagram fills it exactly.
        """
        self.assertEqual((w.MAX_UDP_PAYLOAD_IPV4, w.MAX_UDP_PAYLOAD_IPV6), (65507, 65527))
        cases = {"127.0.0.1": 65507, "::1": 65527, "2001:db8::1": 65527,
                 "::ffff:192.0.2.1": 65507, "::FFFF:192.0.2.1": 65507}
        for host, limit in cases.items():
            self.assertEqual(w.maxUdpPayload(host), limit, host)
            self.assertEqual(w.maxForwardPayload(host), limit - 9, host)
        largest = w.encodeDatagram(7, w.Forward(1, b"x" * w.maxForwardPayload("192.0.2.1")))
        self.assertEqual(len(largest), 65507)

    def test_largestOfEachFormat(self) -> None:
        """
        Both formats carry game datagrams of 1,600, 65,000 and 65,535
        bytes: they encode and decode whole.
        """
        for size in (1600, 65000, 65535):
            payload = bytes([size % 256]) * size
            datagram = w.encodeDatagram(3, w.Forward(2, payload))
            self.assertEqual(w.decodeDatagram(datagram).message, w.Forward(2, payload))
            frame = w.encodeFrame(2, payload)
            self.assertEqual(w.FrameDecoder().feed(frame), [w.TunnelFrame(2, payload)])


class FrameTests(SynchronousTestCase):
    """
    HTTP tunnel frames and L{FrameDecoder}.
    """

    def test_encode(self) -> None:
        """
        A frame is index, big-endian length, payload; the keep-alive is
        C{ff 00 00}.
        """
        self.assertEqual(w.encodeFrame(3, b"abc"), b"\x03\x00\x03abc")
        self.assertEqual(w.KEEP_ALIVE_FRAME, b"\xff\x00\x00")
        self.assertTrue(w.TunnelFrame(255, b"").isKeepAlive)
        self.assertFalse(w.TunnelFrame(255, b"x").isKeepAlive)
        self.assertRaises(w.TunnelWireError, w.encodeFrame, 256, b"")
        self.assertRaises(w.TunnelWireError, w.encodeFrame, 0, b"x" * 65536)

    def test_loneKeepAlive(self) -> None:
        """
        A keep-alive alone is decoded at once (the reference waits for
        five bytes).
        """
        decoder = w.FrameDecoder()
        self.assertEqual(decoder.feed(w.KEEP_ALIVE_FRAME), [w.TunnelFrame(255, b"")])
        self.assertEqual(decoder.buffered, 0)

    def test_everySplit(self) -> None:
        """
        Frames cut at every pair of positions come out the same.
        """
        frames = [
            w.TunnelFrame(0, b"hello"),
            w.TunnelFrame(255, b""),
            w.TunnelFrame(3, b""),
            w.TunnelFrame(1, bytes(range(40))),
        ]
        stream = b"".join(w.encodeFrame(f.index, f.payload) for f in frames)
        for i in range(len(stream) + 1):
            for j in range(i, len(stream) + 1):
                decoder = w.FrameDecoder()
                out = decoder.feed(stream[:i]) + decoder.feed(stream[i:j]) + decoder.feed(stream[j:])
                self.assertEqual(out, frames, (i, j))
                self.assertEqual(decoder.buffered, 0)

    @given(st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=300)), max_size=8), st.data())
    def test_randomSplits(self, items: list[tuple[int, bytes]], data: st.DataObject) -> None:
        """
        Any frames, fed in any pieces, decode to themselves in order.
        """
        stream = b"".join(w.encodeFrame(i, p) for i, p in items)
        cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
        decoder = w.FrameDecoder()
        out: list[w.TunnelFrame] = []
        start = 0
        for cut in [*cuts, len(stream)]:
            out.extend(decoder.feed(stream[start:cut]))
            start = cut
        self.assertEqual(out, [w.TunnelFrame(i, p) for i, p in items])

    def test_tooLarge(self) -> None:
        """
        A frame announcing more than the limit is refused from its header,
        and the decoder stays failed.
        """
        decoder = w.FrameDecoder(maxPayload=10)
        self.assertEqual(decoder.feed(w.encodeFrame(1, b"x" * 10)), [w.TunnelFrame(1, b"x" * 10)])
        e = self.assertRaises(w.TunnelWireError, decoder.feed, b"\x02\x00\x0b")
        self.assertIn("limit of 10", str(e))
        self.assertRaises(w.TunnelWireError, decoder.feed, w.KEEP_ALIVE_FRAME)

    @given(st.binary(max_size=500))
    def test_garbageStream(self, data: bytes) -> None:
        """
        Any byte stream gives frames or L{TunnelWireError}, nothing else.
        """
        decoder = w.FrameDecoder(maxPayload=100)
        try:
            frames = decoder.feed(data)
        except w.TunnelWireError:
            return
        consumed = b"".join(w.encodeFrame(f.index, f.payload) for f in frames)
        self.assertEqual(consumed + data[len(consumed):], data)
        self.assertEqual(len(data) - len(consumed), decoder.buffered)
