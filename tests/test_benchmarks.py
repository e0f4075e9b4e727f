# -*- test-case-name: tests.test_benchmarks -*-
"""
Tests for L{benchmarks.codec}: its sample messages are what they claim to
be, and a (very short) run completes and reports the ratios.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json

from twisted.trial.unittest import SynchronousTestCase

from benchmarks import codec
from pocketrelay.blaze import frames, tdf


class SampleTests(SynchronousTestCase):
    """
    The benchmarked messages.
    """

    def test_roundTrip(self) -> None:
        """
        Every sample encodes, decodes to an equal value, and re-encodes to
        the same bytes along the declared and the generic paths.
        """
        for name, cls, message in codec.samples():
            body = tdf.encode(message)
            self.assertEqual(tdf.decode(cls, body), message, name)
            self.assertEqual(tdf.encodeStruct(tdf.decodeStruct(body)), body, name)

    def test_gameSetup(self) -> None:
        """
        The game setup has four players, the host first, ten attributes and
        the host address in the heat-bug list form.
        """
        message = codec.notifyGameSetup()
        self.assertEqual(len(message.players), 4)
        self.assertEqual(
            message.players[0].playerId, message.game.platformHost.playerId
        )
        self.assertEqual(len(message.game.attributes), 10)
        self.assertEqual([c.index for c in message.game.hostNetwork], [2])
        body = tdf.encode(message)
        generic = tdf.decodeStruct(body)["GAME"]["HNET"]
        self.assertEqual(generic.elementType, tdf.TdfType.STRUCT)

    def test_userSettingsSize(self) -> None:
        """
        The settings reply carries about 40 KB in the expected keys.
        """
        message = codec.userSettings()
        self.assertTrue(38_000 < len(tdf.encode(message)) < 44_000)
        keys = set(message.settings)
        self.assertTrue({"Base", "class1", "class6", "char0", "char30"} <= keys)
        self.assertTrue(message.settings["Completion"].startswith("22,"))

    def test_chunkedConfig(self) -> None:
        """
        The configuration reply's chunks join and decode back to a blob of
        L{codec.CONFIG_BLOB_SIZE} bytes, and its size entries are right.
        """
        config = codec.chunkedConfig().config
        count = len(config) - 2
        joined = "".join(config[f"CHUNK_{i}"] for i in range(count))
        self.assertEqual(config["CHUNK_SIZE"], "255")
        self.assertEqual(config["DATA_SIZE"], str(len(joined)))
        self.assertTrue(all(len(config[f"CHUNK_{i}"]) == 255 for i in range(count - 1)))
        self.assertEqual(len(base64.b64decode(joined)), codec.CONFIG_BLOB_SIZE)

    def test_samplesAreDeterministic(self) -> None:
        """
        Building the samples twice gives the same bytes.
        """
        first = [tdf.encode(m) for _, _, m in codec.samples()]
        second = [tdf.encode(m) for _, _, m in codec.samples()]
        self.assertEqual(first, second)

    def test_plainContent(self) -> None:
        """
        The json yardstick holds the same content as plain values.
        """
        plain = codec.toPlain(codec.notifyGameSetup())
        self.assertEqual(json.loads(json.dumps(plain)), plain)
        self.assertEqual(plain["players"][0]["network"]["index"], 2)
        self.assertEqual(plain["players"][0]["userGroupId"], [0, 0, 0])

    def test_smallFrames(self) -> None:
        """
        The small-frame stream is 1000 frames.
        """
        decoded = frames.FrameDecoder().feed(codec.smallFrameStream())
        self.assertEqual(len(decoded), 1000)


class RunTests(SynchronousTestCase):
    """
    Running the benchmark.
    """

    def test_measure(self) -> None:
        """
        L{codec.measure} returns the time of one call, a positive number.
        """
        calls = []
        seconds = codec.measure(lambda: calls.append(1), 0.001, repeat=3)
        self.assertGreater(seconds, 0)
        self.assertGreater(len(calls), 3)

    def test_main(self) -> None:
        """
        A short run prints the table and a ratio for each message, and
        returns 0.
        """
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = codec.main(["--seconds", "0.002"])
        self.assertEqual(status, 0)
        text = out.getvalue()
        for name, _, _ in codec.samples():
            self.assertIn(name, text)
        self.assertIn("json dumps+loads", text)
        self.assertIn("FrameDecoder", text)
        self.assertEqual(text.count("x  "), 3)


class FlooderTests(SynchronousTestCase):
    """
    L{benchmarks.flood.Flooder}: the flooding session of the flood
    benchmark.
    """

    def test_writesUntilPausedAndCountsReplies(self) -> None:
        """
        Started, it writes whole ping requests until the transport pauses
        it, and counts the reply frames it receives.
        """
        from twisted.internet.testing import StringTransport

        from benchmarks import flood

        flooder = flood.Flooder()
        transport = StringTransport()

        class _Pausing(StringTransport):
            def write(self, data: bytes) -> None:
                transport.write(data)
                flooder.pauseProducing()

        wire = _Pausing()
        flooder.makeConnection(wire)
        self.assertIs(wire.producer, flooder)
        flooder.start()
        written = frames.FrameDecoder().feed(transport.value())
        self.assertEqual(len(written), 1000)
        self.assertEqual({(f.component, f.command, f.type) for f in written},
                         {(9, 2, frames.MessageType.REQUEST)})
        reply = frames.Frame(9, 2, frames.MessageType.REPLY, 1).encode()
        flooder.dataReceived(reply * 3 + reply[:5])
        self.assertEqual(flooder.received, 3)
