# -*- test-case-name: tests.test_chunking -*-
"""
Tests for L{pocketrelay.me3.chunking}.
"""

from __future__ import annotations

import base64
import struct
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.me3 import chunking
from pocketrelay.me3.chunking import (
    ChunkError,
    CoalescedError,
    chunk,
    compressCoalesced,
    decompressCoalesced,
    isCompressedCoalesced,
    unchunk,
)

_SETTINGS = settings(max_examples=150, deadline=None, database=None)


def _nibc(
    body: bytes, rawSize: int, *, magic: bytes = b"NIBC", version: int = 1
) -> bytes:
    return struct.pack("<4sIII", magic, version, len(body), rawSize) + body


class ChunkTests(SynchronousTestCase):
    """
    Tests for L{chunk}.
    """

    def test_layout(self) -> None:
        """
        The base64 text is cut into C{CHUNK_<n>} entries of 255 characters,
        the last one shorter, with C{CHUNK_SIZE} "255" and C{DATA_SIZE} the
        length of the whole text.
        """
        blob = bytes(range(256)) * 3
        text = base64.b64encode(blob).decode("ascii")
        self.assertEqual(len(text), 1024)
        result = chunk(blob)
        self.assertEqual(result["CHUNK_SIZE"], "255")
        self.assertEqual(result["DATA_SIZE"], "1024")
        self.assertEqual(
            sorted(k for k in result if k.startswith("CHUNK_") and k != "CHUNK_SIZE"),
            sorted(f"CHUNK_{i}" for i in range(5)),
        )
        for i in range(4):
            self.assertEqual(result[f"CHUNK_{i}"], text[i * 255 : (i + 1) * 255])
        self.assertEqual(result["CHUNK_4"], text[1020:])
        self.assertEqual(len(result), 7)

    def test_empty(self) -> None:
        """
        An empty blob gives no chunk and C{DATA_SIZE} "0".
        """
        self.assertEqual(chunk(b""), {"CHUNK_SIZE": "255", "DATA_SIZE": "0"})

    def test_exactChunkBoundary(self) -> None:
        """
        Text whose length is a multiple of 255 fills its last chunk exactly
        (765 bytes are 1020 characters, 4 chunks); one base64 group more
        starts a new chunk and one less shortens the last.
        """
        for byteCount, textLength, chunks, lastLength in [
            (762, 1016, 4, 251),
            (765, 1020, 4, 255),
            (768, 1024, 5, 4),
        ]:
            blob = bytes(i % 7 for i in range(byteCount))
            result = chunk(blob)
            self.assertEqual(result["DATA_SIZE"], str(textLength))
            keys = [k for k in result if k[6:].isdigit()]
            self.assertEqual(len(keys), chunks, byteCount)
            self.assertEqual(len(result[f"CHUNK_{chunks - 1}"]), lastLength)
            self.assertNotIn(f"CHUNK_{chunks}", result)
            self.assertEqual(unchunk(result), blob)

    def test_bytesSizes0_255_256(self) -> None:
        """
        Blobs of 0, 255 and 256 bytes round-trip and have the expected
        C{DATA_SIZE} (4 characters per 3 bytes, padded).
        """
        for size, dataSize, chunks in [(0, 0, 0), (255, 340, 2), (256, 344, 2)]:
            blob = bytes(i % 251 for i in range(size))
            result = chunk(blob)
            self.assertEqual(result["DATA_SIZE"], str(dataSize))
            self.assertEqual(len([k for k in result if k[6:].isdigit()]), chunks)
            self.assertEqual(unchunk(result), blob)

    def test_otherChunkSize(self) -> None:
        """
        A different chunk size is honoured and reported.
        """
        result = chunk(b"hello world", chunkSize=4)
        self.assertEqual(result["CHUNK_SIZE"], "4")
        self.assertEqual(result["CHUNK_0"], "aGVs")
        self.assertEqual(unchunk(result), b"hello world")

    def test_badChunkSize(self) -> None:
        """
        A chunk size below 1 is refused.
        """
        self.assertRaises(ValueError, chunk, b"x", 0)

    def test_tooLarge(self) -> None:
        """
        A blob above L{chunking.MAX_BLOB_SIZE} is refused.
        """
        self.patch(chunking, "MAX_BLOB_SIZE", 10)
        self.assertRaises(ValueError, chunk, b"x" * 11)
        chunk(b"x" * 10)

    @_SETTINGS
    @given(st.binary(max_size=3000), st.integers(min_value=1, max_value=600))
    def test_roundTrip(self, blob: bytes, chunkSize: int) -> None:
        """
        L{unchunk} gives back what L{chunk} was given, for any chunk size.
        """
        self.assertEqual(unchunk(chunk(blob, chunkSize)), blob)


class UnchunkTests(SynchronousTestCase):
    """
    Tests for L{unchunk}'s validation.
    """

    def setUp(self) -> None:
        self.blob = bytes(range(256)) * 2
        self.mapping = chunk(self.blob)

    def assertChunkError(self, mapping: dict[str, str], fragment: str) -> None:
        error = self.assertRaises(ChunkError, unchunk, mapping)
        self.assertIn(fragment, str(error))

    def test_ignoresOtherKeys(self) -> None:
        """
        Entries that are not part of the chunking are ignored.
        """
        self.mapping["SOMETHING"] = "else"
        self.assertEqual(unchunk(self.mapping), self.blob)

    def test_missingChunk(self) -> None:
        """
        A missing chunk is reported by name.
        """
        del self.mapping["CHUNK_1"]
        self.assertChunkError(self.mapping, "CHUNK_1 is missing")

    def test_missingSizes(self) -> None:
        """
        C{CHUNK_SIZE} and C{DATA_SIZE} are required.
        """
        for key in ("CHUNK_SIZE", "DATA_SIZE"):
            mapping = dict(self.mapping)
            del mapping[key]
            self.assertChunkError(mapping, f"no {key}")

    def test_wrongDataSize(self) -> None:
        """
        A C{DATA_SIZE} that does not match the chunks is refused: too small
        leaves an unexpected chunk or a wrong-length last chunk, too large a
        chunk shorter than expected.
        """
        total = int(self.mapping["DATA_SIZE"])
        for wrong, fragment in [
            (total - 1, "CHUNK_2 has"),
            (total + 1, "CHUNK_2 has"),
            (total - 200, "unexpected CHUNK_2"),
            (total + 300, "CHUNK_2 has 174 characters"),
        ]:
            mapping = dict(self.mapping, DATA_SIZE=str(wrong))
            self.assertChunkError(mapping, fragment)

    def test_notNumbers(self) -> None:
        """
        Sizes must be plain decimal numbers, C{CHUNK_SIZE} positive.
        """
        for key, value in [
            ("DATA_SIZE", "-1"),
            ("DATA_SIZE", "1e3"),
            ("CHUNK_SIZE", "abc"),
            ("CHUNK_SIZE", "٣"),
            ("DATA_SIZE", "9" * 40),
        ]:
            self.assertChunkError(dict(self.mapping, **{key: value}), key)
        self.assertChunkError(dict(self.mapping, CHUNK_SIZE="0"), "at least 1")

    def test_shortMiddleChunk(self) -> None:
        """
        A chunk other than the last must be exactly C{CHUNK_SIZE} long.
        """
        self.mapping["CHUNK_0"] = self.mapping["CHUNK_0"][:-1]
        self.assertChunkError(self.mapping, "CHUNK_0 has 254 characters")

    def test_badBase64(self) -> None:
        """
        Text that is not base64 is refused.
        """
        self.mapping["CHUNK_0"] = "!" + self.mapping["CHUNK_0"][1:]
        self.assertChunkError(self.mapping, "not valid base64")

    def test_nonAsciiText(self) -> None:
        """
        Non-ASCII text is refused as not base64.
        """
        self.mapping["CHUNK_0"] = "é" + self.mapping["CHUNK_0"][1:]
        self.assertChunkError(self.mapping, "not valid base64")

    def test_tooLarge(self) -> None:
        """
        A C{DATA_SIZE} above the limit is refused before any work.
        """
        self.assertChunkError({"CHUNK_SIZE": "255", "DATA_SIZE": str(10**11)}, "limit")

    @_SETTINGS
    @given(
        st.dictionaries(
            st.sampled_from(
                ["CHUNK_0", "CHUNK_1", "CHUNK_2", "CHUNK_SIZE", "DATA_SIZE", "X"]
            ),
            st.text(max_size=20),
        )
    )
    def test_garbage(self, mapping: dict[str, str]) -> None:
        """
        Any map either decodes or raises L{ChunkError}.
        """
        try:
            unchunk(mapping)
        except ChunkError:
            pass


class CoalescedTests(SynchronousTestCase):
    """
    Tests for L{compressCoalesced} and L{decompressCoalesced}.
    """

    def test_layout(self) -> None:
        """
        The container is C{NIBC}, version 1, the compressed and the raw
        length as little-endian u32, then a zlib stream of the raw data.
        """
        raw = b"coalesced " * 100
        blob = compressCoalesced(raw)
        magic, version, compressedSize, rawSize = struct.unpack_from("<4sIII", blob)
        self.assertEqual(magic, b"NIBC")
        self.assertEqual(version, 1)
        self.assertEqual(compressedSize, len(blob) - 16)
        self.assertEqual(rawSize, len(raw))
        self.assertEqual(zlib.decompress(blob[16:]), raw)
        self.assertTrue(isCompressedCoalesced(blob))
        self.assertFalse(isCompressedCoalesced(raw))

    @_SETTINGS
    @given(st.binary(max_size=5000))
    def test_roundTrip(self, raw: bytes) -> None:
        """
        L{decompressCoalesced} gives back what L{compressCoalesced} was given.
        """
        self.assertEqual(decompressCoalesced(compressCoalesced(raw)), raw)

    def assertCoalescedError(self, blob: bytes, fragment: str) -> None:
        error = self.assertRaises(CoalescedError, decompressCoalesced, blob)
        self.assertIn(fragment, str(error))

    def test_short(self) -> None:
        """
        A blob shorter than the header is refused.
        """
        self.assertCoalescedError(b"NIBC\x01\x00", "shorter than")

    def test_badMagic(self) -> None:
        """
        The magic must be C{NIBC}.
        """
        self.assertCoalescedError(_nibc(zlib.compress(b"x"), 1, magic=b"BINC"), "BINC")

    def test_badVersion(self) -> None:
        """
        The version must be 1.
        """
        self.assertCoalescedError(_nibc(zlib.compress(b"x"), 1, version=2), "version 2")

    def test_wrongCompressedLength(self) -> None:
        """
        The compressed length must match the bytes that follow.
        """
        blob = compressCoalesced(b"hello")
        self.assertCoalescedError(blob[:-1], "compressed bytes")
        self.assertCoalescedError(blob + b"\x00", "compressed bytes")

    def test_wrongRawLength(self) -> None:
        """
        The stream must inflate to exactly the stated length.
        """
        body = zlib.compress(b"hello")
        self.assertCoalescedError(_nibc(body, 6), "not the 6")
        self.assertCoalescedError(_nibc(body, 4), "more than the 4")

    def test_corruptStream(self) -> None:
        """
        A corrupt zlib stream is refused.
        """
        self.assertCoalescedError(_nibc(b"not zlib at all", 5), "corrupt zlib")

    def test_truncatedStream(self) -> None:
        """
        A zlib stream cut short is refused.
        """
        body = zlib.compress(bytes(range(256)) * 10)
        self.assertCoalescedError(_nibc(body[:-6], 2560), "truncated")

    def test_trailingData(self) -> None:
        """
        Bytes after the end of the zlib stream are refused.
        """
        body = zlib.compress(b"hello") + b"junk"
        self.assertCoalescedError(_nibc(body, 5), "after its zlib stream")

    def test_tooLarge(self) -> None:
        """
        An uncompressed length above 64 MiB is refused without inflating,
        and L{compressCoalesced} refuses such input.
        """
        self.assertEqual(chunking.MAX_COALESCED_SIZE, 64 * 1024 * 1024)
        self.assertCoalescedError(
            _nibc(zlib.compress(b"x"), 64 * 1024 * 1024 + 1), "limit"
        )
        self.patch(chunking, "MAX_COALESCED_SIZE", 4)
        self.assertRaises(CoalescedError, compressCoalesced, b"12345")

    def test_zipBomb(self) -> None:
        """
        A stream that inflates to far more than its header says is stopped
        at the stated size.
        """
        body = zlib.compress(b"\x00" * (8 * 1024 * 1024))
        self.assertCoalescedError(_nibc(body, 10), "more than the 10")

    @_SETTINGS
    @given(st.binary(max_size=200))
    def test_garbage(self, tail: bytes) -> None:
        """
        Any blob either decodes or raises L{CoalescedError}.
        """
        for blob in (tail, b"NIBC" + tail, b"NIBC\x01\x00\x00\x00" + tail):
            try:
                decompressCoalesced(blob)
            except CoalescedError:
                pass
