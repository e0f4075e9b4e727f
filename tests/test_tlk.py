# -*- test-case-name: tests.test_tlk -*-
"""
Tests for L{pocketrelay.me3.tlk}.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.me3.tlk import TalkFile, TalkString, parseTlk, serializeTlk

#: The 53-byte worked example of game-data-formats.md section 5.4.
EXAMPLE = bytes.fromhex(
    "546c6b000300000002000000010000000000000002000000010000000100000000000000"
    "ffffffff0100000097ffffff96ffffff0d"
)


class WorkedExampleTests(SynchronousTestCase):
    """
    The reference's worked example of a talk file.
    """

    def test_parse(self) -> None:
        """
        The 53 bytes parse to one male string, id 1, "hi".
        """
        self.assertEqual(parseTlk(EXAMPLE), TalkFile([TalkString(1, "hi")]))

    def test_roundTrip(self) -> None:
        """
        The example's model survives serializing.
        """
        model = parseTlk(EXAMPLE)
        self.assertEqual(parseTlk(serializeTlk(model)), model)
