# -*- test-case-name: tests.test_coalesced -*-
"""
Tests for L{pocketrelay.me3.coalesced} and L{pocketrelay.me3.huffman}.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.me3 import coalesced
from pocketrelay.me3.coalesced import (
    Coalesced,
    CoalescedFile,
    Property,
    Section,
    Value,
    ValueType,
    parseBinary,
    parseJson,
    serializeBinary,
    serializeJson,
)

#: The 180-byte worked example of game-data-formats.md section 2.13.
EXAMPLE = bytes.fromhex(
    "6d726d66010000000d000000020000004e000000120000002e000000020000004e000000"
    "040000001c15720520000000e1be962b2f00000021acd2343600000010b6388f3c000000"
    "0d0064656d6f2e73657474696e6773050073706565640400"
    "6c697374080064656d6f2e696e6902009effffff9dffffffffffffff0000000001000300"
    "080000000100000008000000"
    "020001000e000000020014000000010000000000020000000020050000600a000000ed00"
)

#: The model of L{EXAMPLE}.
EXAMPLE_MODEL = Coalesced(
    [
        CoalescedFile(
            "demo.ini",
            [
                Section(
                    "demo.settings",
                    [
                        Property("speed", [Value(ValueType.New, "ab")]),
                        Property(
                            "list",
                            [
                                Value(ValueType.RemoveProperty),
                                Value(ValueType.AddUnique, "ba"),
                            ],
                        ),
                    ],
                )
            ],
        )
    ]
)


class WorkedExampleTests(SynchronousTestCase):
    """
    The reference's worked example of a binary coalesced.
    """

    def test_parse(self) -> None:
        """
        The 180 bytes parse to the example's model.
        """
        self.assertEqual(parseBinary(EXAMPLE), EXAMPLE_MODEL)

    def test_serializeWithTheExampleTree(self) -> None:
        """
        Given the example's hand-chosen tree and no empty name, the
        serializer reproduces the example byte for byte.
        """
        self.assertEqual(
            coalesced._serialize(EXAMPLE_MODEL, False, [(-98, -99), (-1, 0)]), EXAMPLE
        )

    def test_roundTrips(self) -> None:
        """
        The model survives the binary and the JSON.
        """
        self.assertEqual(parseBinary(serializeBinary(EXAMPLE_MODEL)), EXAMPLE_MODEL)
        self.assertEqual(parseJson(serializeJson(EXAMPLE_MODEL)), EXAMPLE_MODEL)
