# -*- test-case-name: tests.test_fuzz_regressions -*-
"""
Every fuzz target, run on the seed vectors, on every saved crash input in
C{fuzz/regressions/TARGET/}, and on a short burst of random inputs, so the
targets keep working and fixed crashes stay fixed.  The long runs are
C{make fuzz}.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.blaze.frames import Frame, MessageType, request
from pocketrelay.blaze.protocol import BlazeProtocol
from pocketrelay.testing import fuzzing
from pocketrelay.testing.fuzzing import SEEDS, TARGETS, UnexpectedFailure

HERE = FilePath(__file__).parent()
REGRESSIONS = HERE.sibling("fuzz").child("regressions")


def _seeds() -> list[bytes]:
    vectors = json.loads(HERE.child("data").child("tdf-vectors.json").getContent())
    found = []
    for vector in vectors:
        data = bytes.fromhex(vector["hex"])
        found.append(data)
        if vector["id"].startswith("D") and len(data) > 12:
            found.append(data[12:])
    return found


class FuzzTargetTests(SynchronousTestCase):
    """
    The fuzz targets accept their seeds, their saved regressions and random
    input without an unexpected error.
    """

    def runTarget(self, name: str) -> None:
        target = TARGETS[name]
        inputs = _seeds()
        inputs.extend(SEEDS.get(name, list)())
        saved = REGRESSIONS.child(name)
        if saved.isdir():
            inputs.extend(child.getContent() for child in saved.children())
        rng = random.Random(name)
        for _ in range(300):
            inputs.append(rng.randbytes(rng.randrange(0, 300)))
        for data in inputs:
            try:
                target(data)
            except Exception as e:  # pragma: no cover - a found bug
                self.fail(f"{name} failed on {data.hex()}: {e!r}")

    def test_everyTargetListed(self) -> None:
        """
        The targets cover the decoders and protocols that face the network.
        """
        self.assertEqual(
            sorted(TARGETS),
            sorted(["tdf-generic", "tdf-declared", "frames", "blaze-server",
                    "http-server", "telemetry", "redirector", "coalesced", "tlk",
                    "udp-tunnel", "http-tunnel"]),
        )


def _makeTest(name: str) -> Callable[[FuzzTargetTests], None]:
    def test(self: FuzzTargetTests) -> None:
        self.runTarget(name)

    test.__doc__ = f"The {name} fuzz target handles seeds, regressions and random bytes."
    return test


for _name in TARGETS:
    setattr(FuzzTargetTests, "test_" + _name.replace("-", "_"), _makeTest(_name))


class _Written:
    """
    A stand-in for L{pocketrelay.testing.server.BlazeConnection}: the
    frames the server wrote, and its protocol's frame size limit.
    """

    def __init__(self, frames: list[Frame]) -> None:
        self.frames = frames
        self.protocol = BlazeProtocol.__new__(BlazeProtocol)
        self.protocol.maxFrameSize = 65536

    def written(self) -> list[Frame]:
        return self.frames


class OneReplyTests(SynchronousTestCase):
    """
    The blaze-server target checks that every complete request got
    exactly one reply.
    """

    def test_check(self) -> None:
        """
        One reply per request passes; a missing reply, a second reply or a
        reply to no request fails.  Notifications do not count, and an
        incomplete request at the end needs no reply.
        """
        first, second = request(9, 7, 0, b""), request(1, 0x28, 1, b"")
        stream = first.encode() + second.encode() + request(9, 2, 2, b"").encode()[:-1]
        notice = Frame(4, 0x14, MessageType.NOTIFICATION, 0)
        fuzzing._checkReplies(stream, _Written([first.reply(b""), notice, second.reply(b"")]))
        for written in ([first.reply(b"")],
                        [first.reply(b""), second.reply(b""), second.reply(b"")],
                        [first.reply(b""), second.reply(b""), request(9, 2, 2, b"").reply(b"")]):
            self.assertRaises(UnexpectedFailure, fuzzing._checkReplies, stream,
                              _Written(written))

    def test_framingError(self) -> None:
        """
        Requests before a framing error count; nothing after it does.
        """
        first = request(9, 7, 0, b"")
        oversized = b"\xff\xff\xff\xff" + bytes(8)
        stream = first.encode() + oversized + request(9, 2, 1, b"").encode()
        fuzzing._checkReplies(stream, _Written([first.reply(b"")]))

    def test_serverMissingReply(self) -> None:
        """
        A server that forgets to answer a request fails the target.
        """
        data = bytes([0, 0]) * 3
        TARGETS["blaze-server"](data)
        original = BlazeProtocol._writeReply
        calls: list[int] = []

        def forgetful(protocol: BlazeProtocol, frame: Frame) -> None:
            calls.append(frame.seq)
            if frame.seq != 1:
                original(protocol, frame)

        self.patch(BlazeProtocol, "_writeReply", forgetful)
        self.assertRaises(UnexpectedFailure, TARGETS["blaze-server"], data)
        self.assertEqual(calls, [0, 1, 2])


class TunnelTargetTests(SynchronousTestCase):
    """
    The tunnel targets check what they claim.
    """

    def test_udpRoundTrip(self) -> None:
        """
        A decoder and encoder that disagree fail the udp-tunnel target.
        """
        from pocketrelay import tunnelwire

        seed = SEEDS["udp-tunnel"]()[0]
        TARGETS["udp-tunnel"](seed)
        original = tunnelwire.encodeDatagram

        def skewed(tunnelId: int, message: Any) -> bytes:
            if isinstance(message, tunnelwire.Forward):
                message = tunnelwire.Forward(message.index, message.payload + b"!")
            return original(tunnelId, message)

        self.patch(tunnelwire, "encodeDatagram", skewed)
        self.assertRaises(UnexpectedFailure, TARGETS["udp-tunnel"], seed)

    def test_httpCut(self) -> None:
        """
        A tunnel frame decoder whose frames depend on how the stream is
        cut fails the http-tunnel target.
        """
        from pocketrelay import tunnelwire

        seed = SEEDS["http-tunnel"]()[0]
        TARGETS["http-tunnel"](seed)
        original = tunnelwire.FrameDecoder.feed

        def oneAtATime(decoder: Any, data: bytes) -> list[Any]:
            return original(decoder, data)[:1]

        self.patch(tunnelwire.FrameDecoder, "feed", oneAtATime)
        self.assertRaises(UnexpectedFailure, TARGETS["http-tunnel"], b"\x00" + seed[1:])


class SeedDirectoryTests(SynchronousTestCase):
    """
    L{fuzz.run.seeds}: the corpus C{make fuzz} starts a target from.
    """

    def test_seeds(self) -> None:
        """
        The directory holds every reference vector (a TDF body with the
        declared target's leading byte for C{tdf-declared}) and the
        target's own L{SEEDS}, in order.
        """
        from fuzz import run

        for name in ("udp-tunnel", "coalesced", "tdf-declared"):
            directory = FilePath(run.seeds(name))
            self.addCleanup(directory.remove)
            vectors = json.loads(HERE.child("data").child("tdf-vectors.json").getContent())
            for vector in vectors:
                self.assertTrue(directory.child(vector["id"]).isfile(), vector["id"])
            own = SEEDS.get(name, list)()
            self.assertEqual(
                [directory.child(f"shaped-{n}").getContent() for n in range(len(own))], own
            )
            self.assertFalse(directory.child(f"shaped-{len(own)}").exists())
        declared = FilePath(run.seeds("tdf-declared"))
        self.addCleanup(declared.remove)
        first = vectors[0]
        self.assertEqual(declared.child(first["id"]).getContent()[:1], b"\x00")

