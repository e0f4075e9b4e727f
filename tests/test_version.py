# -*- test-case-name: tests.test_version -*-
"""
Tests for L{pocketrelay.me3.version}.
"""

from __future__ import annotations

import json

from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.me3.version import (
    PROTOCOL_VERSION_HASH,
    VERSION_STRING,
    protocolVersionHash,
)

_VECTORS_FILE = FilePath(__file__).sibling("data").child("tdf-vectors.json")


def _vector(vectorId: str) -> int:
    for entry in json.loads(_VECTORS_FILE.getContent()):
        if entry["id"] == vectorId:
            return int(entry["hex"], 16)
    raise KeyError(vectorId)


class ProtocolVersionHashTests(SynchronousTestCase):
    """
    Tests for L{protocolVersionHash} and the ME3 constants.
    """

    def test_vectorH1(self) -> None:
        """
        The hash of the ME3 version string is test vector H1.
        """
        self.assertEqual(protocolVersionHash(VERSION_STRING), _vector("H1"))
        self.assertEqual(protocolVersionHash(VERSION_STRING), 0x05A4F2B378B715C6)

    def test_constants(self) -> None:
        """
        L{PROTOCOL_VERSION_HASH} is the hash of L{VERSION_STRING}, the
        version string of the last ME3 release.
        """
        self.assertEqual(VERSION_STRING, "ME3-295976325-179181965240128")
        self.assertEqual(PROTOCOL_VERSION_HASH, 0x05A4F2B378B715C6)

    def test_empty(self) -> None:
        """
        The empty string hashes to the starting value, the 32-bit FNV
        offset basis.
        """
        self.assertEqual(protocolVersionHash(""), 2166136261)

    def test_multiplyThenXor(self) -> None:
        """
        Each byte is folded in by multiplying first, then XORing, modulo
        2**64.
        """
        expected = ((2166136261 * 16777619) % 2**64) ^ ord("a")
        expected = ((expected * 16777619) % 2**64) ^ ord("b")
        self.assertEqual(protocolVersionHash("ab"), expected)

    def test_fits64Bits(self) -> None:
        """
        The result of a long string stays an unsigned 64-bit number.
        """
        value = protocolVersionHash("x" * 1000)
        self.assertTrue(0 <= value < 2**64)
