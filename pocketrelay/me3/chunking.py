# -*- test-case-name: tests.test_chunking -*-
"""
Large values in Util.fetchClientConfig maps (blaze-wire.md section 5.5).

A config map carries only strings, so a binary blob (the coalesced ini
overrides, a talk file) travels as base64 text cut into entries of 255
characters::

    CHUNK_0 .. CHUNK_<n-1>   consecutive pieces of the base64 text
    CHUNK_SIZE               "255"
    DATA_SIZE                the length of the whole base64 text

The coalesced blob is additionally wrapped in an C{NIBC} container before
chunking: C{b"NIBC"}, u32 LE 1, u32 LE compressed length, u32 LE
uncompressed length, then the zlib stream.

Everything here is pure and refuses bad input with L{ChunkError} or
L{CoalescedError}, each with a message fit for a log line.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import zlib
from collections.abc import Mapping

__all__ = [
    "CHUNK_SIZE",
    "MAX_BLOB_SIZE",
    "MAX_COALESCED_SIZE",
    "NIBC_MAGIC",
    "ChunkError",
    "CoalescedError",
    "chunk",
    "compressCoalesced",
    "decompressCoalesced",
    "isCompressedCoalesced",
    "unchunk",
]

#: The number of base64 characters in each C{CHUNK_<n>} entry.
CHUNK_SIZE = 255

#: The largest blob L{chunk} and L{unchunk} handle, in bytes.
MAX_BLOB_SIZE = 64 * 1024 * 1024

#: The largest uncompressed coalesced L{compressCoalesced} and
#: L{decompressCoalesced} accept, in bytes.
MAX_COALESCED_SIZE = 64 * 1024 * 1024

#: The first four bytes of a compressed coalesced.
NIBC_MAGIC = b"NIBC"

_NIBC_HEADER = struct.Struct("<4sIII")
_NIBC_VERSION = 1
_ZLIB_LEVEL = 6
_CHUNK_KEY = re.compile(r"CHUNK_(0|[1-9][0-9]*)\Z")


class ChunkError(ValueError):
    """
    A chunked config map is incomplete or inconsistent, or its text is not
    base64.
    """


class CoalescedError(ValueError):
    """
    A blob is not a well-formed C{NIBC} container, or is too large.
    """


def chunk(blob: bytes, chunkSize: int = CHUNK_SIZE) -> dict[str, str]:
    """
    Encode C{blob} as a chunked config map.

    @param blob: the bytes to send.
    @param chunkSize: base64 characters per C{CHUNK_<n>} entry; ME3 uses
        255.
    @return: C{CHUNK_0} .. C{CHUNK_<n-1>}, C{CHUNK_SIZE} and C{DATA_SIZE}.
        An empty blob gives no C{CHUNK_<n>} entry and C{DATA_SIZE} "0".
    @raise ValueError: if C{chunkSize} is not positive or C{blob} is larger
        than L{MAX_BLOB_SIZE}.
    """
    if chunkSize < 1:
        raise ValueError(f"chunk size must be positive, not {chunkSize}")
    if len(blob) > MAX_BLOB_SIZE:
        raise ValueError(
            f"blob of {len(blob)} bytes is larger than the {MAX_BLOB_SIZE} byte limit"
        )
    text = base64.b64encode(blob).decode("ascii")
    result = {
        f"CHUNK_{index}": text[offset : offset + chunkSize]
        for index, offset in enumerate(range(0, len(text), chunkSize))
    }
    result["CHUNK_SIZE"] = str(chunkSize)
    result["DATA_SIZE"] = str(len(text))
    return result


def _sizeEntry(mapping: Mapping[str, str], key: str, minimum: int) -> int:
    value = mapping.get(key)
    if value is None:
        raise ChunkError(f"chunked data has no {key}")
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise ChunkError(f"{key} is not a decimal number: {value!r:.40}")
    if len(value) > 12:
        raise ChunkError(f"{key} is too large: {value:.40}")
    number = int(value)
    if number < minimum:
        raise ChunkError(f"{key} must be at least {minimum}, not {number}")
    return number


def unchunk(mapping: Mapping[str, str]) -> bytes:
    """
    Reassemble and decode a map made by L{chunk}.

    Entries other than C{CHUNK_<n>}, C{CHUNK_SIZE} and C{DATA_SIZE} are
    ignored.

    @raise ChunkError: if C{CHUNK_SIZE} or C{DATA_SIZE} is missing or not a
        number, a chunk is missing, has the wrong length or is not expected,
        the text is not base64, or the data is larger than
        L{MAX_BLOB_SIZE}.
    """
    chunkSize = _sizeEntry(mapping, "CHUNK_SIZE", 1)
    dataSize = _sizeEntry(mapping, "DATA_SIZE", 0)
    maxText = 4 * -(-MAX_BLOB_SIZE // 3)
    if dataSize > maxText:
        raise ChunkError(
            f"DATA_SIZE {dataSize} is larger than the limit of {maxText} characters"
        )
    count = -(-dataSize // chunkSize)
    for key in mapping:
        match = _CHUNK_KEY.match(key)
        if match is not None and int(match.group(1)) >= count:
            raise ChunkError(
                f"unexpected {key}: DATA_SIZE {dataSize} and CHUNK_SIZE "
                f"{chunkSize} make {count} chunks"
            )
    pieces = []
    for index in range(count):
        key = f"CHUNK_{index}"
        piece = mapping.get(key)
        if piece is None:
            raise ChunkError(f"{key} is missing ({count} chunks expected)")
        expected = min(chunkSize, dataSize - index * chunkSize)
        if len(piece) != expected:
            raise ChunkError(
                f"{key} has {len(piece)} characters, expected {expected} "
                f"(DATA_SIZE {dataSize}, CHUNK_SIZE {chunkSize})"
            )
        pieces.append(piece)
    text = "".join(pieces)
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as e:
        raise ChunkError(f"chunked data is not valid base64: {e}")


def isCompressedCoalesced(blob: bytes) -> bool:
    """
    Whether C{blob} starts like an C{NIBC} container (without checking the
    rest; use L{decompressCoalesced} for that).
    """
    return blob[: len(NIBC_MAGIC)] == NIBC_MAGIC


def compressCoalesced(raw: bytes) -> bytes:
    """
    Wrap a raw coalesced in an C{NIBC} container.

    @param raw: the coalesced file as the game reads it.
    @return: C{b"NIBC"}, u32 LE 1, u32 LE compressed length, u32 LE
        uncompressed length, then C{raw} compressed with zlib.
    @raise CoalescedError: if C{raw} is larger than L{MAX_COALESCED_SIZE}.
    """
    if len(raw) > MAX_COALESCED_SIZE:
        raise CoalescedError(
            f"coalesced of {len(raw)} bytes is larger than the "
            f"{MAX_COALESCED_SIZE} byte limit"
        )
    compressed = zlib.compress(raw, _ZLIB_LEVEL)
    header = _NIBC_HEADER.pack(NIBC_MAGIC, _NIBC_VERSION, len(compressed), len(raw))
    return header + compressed


def decompressCoalesced(blob: bytes) -> bytes:
    """
    Check an C{NIBC} container and return the raw coalesced it holds.

    @raise CoalescedError: if the header is short or wrong (magic, version,
        compressed length), the uncompressed length is larger than
        L{MAX_COALESCED_SIZE}, the zlib stream is corrupt or truncated, has
        trailing bytes, or does not inflate to exactly the stated length.
    """
    if len(blob) < _NIBC_HEADER.size:
        raise CoalescedError(
            f"compressed coalesced is {len(blob)} bytes, shorter than its "
            f"{_NIBC_HEADER.size} byte header"
        )
    magic, version, compressedSize, rawSize = _NIBC_HEADER.unpack_from(blob)
    if magic != NIBC_MAGIC:
        raise CoalescedError(f"compressed coalesced starts with {magic!r}, not b'NIBC'")
    if version != _NIBC_VERSION:
        raise CoalescedError(f"compressed coalesced has version {version}, not 1")
    body = blob[_NIBC_HEADER.size :]
    if compressedSize != len(body):
        raise CoalescedError(
            f"compressed coalesced header says {compressedSize} compressed bytes "
            f"but {len(body)} follow"
        )
    if rawSize > MAX_COALESCED_SIZE:
        raise CoalescedError(
            f"compressed coalesced would inflate to {rawSize} bytes, more than "
            f"the {MAX_COALESCED_SIZE} byte limit"
        )
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(body, rawSize + 1)
    except zlib.error as e:
        raise CoalescedError(f"compressed coalesced has a corrupt zlib stream: {e}")
    if len(raw) > rawSize or inflater.unconsumed_tail:
        raise CoalescedError(
            f"compressed coalesced inflates to more than the {rawSize} bytes "
            f"its header says"
        )
    if not inflater.eof:
        raise CoalescedError("compressed coalesced has a truncated zlib stream")
    if inflater.unused_data:
        raise CoalescedError(
            f"compressed coalesced has {len(inflater.unused_data)} bytes after "
            f"its zlib stream"
        )
    if len(raw) != rawSize:
        raise CoalescedError(
            f"compressed coalesced inflates to {len(raw)} bytes, not the "
            f"{rawSize} its header says"
        )
    return raw
