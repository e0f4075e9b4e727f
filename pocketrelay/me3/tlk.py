# -*- test-case-name: tests.test_tlk -*-
"""
ME3 talk files (TLK): the game's localised strings, by id
(game-data-formats.md section 5).

A talk file holds two lists of C{(id, text)}: the male strings and the
female variants.  L{parseTlk} and L{serializeTlk} read and write the
binary; L{tlkToJson} and L{tlkFromJson} an editable JSON form::

    {
      "version": 3,
      "minVersion": 2,
      "male": [{"id": 1, "text": "..."}, ...],
      "female": [{"id": 1, "text": "..."}, ...]
    }

Texts are Unicode strings; the file stores UTF-16 code units, so a
character above U+FFFF takes two units, and a lone surrogate unit (which
real files do not have) is kept as it is.

The serializer is deterministic: each list is written sorted by id (as the
game's files are), strings back to back in that order, male then female,
with a Huffman tree built by L{pocketrelay.me3.huffman.buildTree}.  So
C{parseTlk(serializeTlk(t)) == canonical(t)}.

Malformed input is a L{TlkError} naming the byte offset; sizes and counts
are bounded by the C{MAX_*} constants.  Pure: no I/O, no Twisted.
"""

from __future__ import annotations

import array
import re
import struct
import sys
from collections import Counter
from collections.abc import Iterable
from typing import Any

import attrs

from pocketrelay.me3.huffman import HuffmanError, Tree, bitString, buildTree, packBits
from pocketrelay.me3.jsonform import dumpJson, loadJson

__all__ = [
    "MAX_STRINGS",
    "MAX_TLK_JSON_SIZE",
    "MAX_TLK_SIZE",
    "TalkFile",
    "TalkString",
    "TlkError",
    "canonical",
    "parseTlk",
    "serializeTlk",
    "tlkFromJson",
    "tlkToJson",
]

#: The largest talk file L{parseTlk} reads and L{serializeTlk} writes, in
#: bytes (the game's are about 11 to 13 kB).
MAX_TLK_SIZE = 16 * 1024 * 1024

#: The largest JSON talk file L{tlkFromJson} reads, in bytes.
MAX_TLK_JSON_SIZE = 32 * 1024 * 1024

#: The most strings in each list (the game's files have about 300).
MAX_STRINGS = 100_000

#: The first four bytes of a talk file.
MAGIC = b"Tlk\0"

_HEADER = struct.Struct("<4s6I")
_U32_MAX = 0xFFFFFFFF
_MAX_SYMBOL = 0xFFFF
_DECODE_BUDGET_PER_BIT = 2


class TlkError(ValueError):
    """
    A talk file (binary or JSON) is malformed or too large, or a model
    cannot be written.

    @ivar offset: the byte offset in the input where the problem is, or
        L{None}.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


_SURROGATE = re.compile("[\ud800-\udfff]")


def _joinSurrogates(text: str) -> str:
    """
    C{text} with each high surrogate followed by a low one joined into the
    character they encode (as the file would give it back); lone
    surrogates kept.
    """
    if not isinstance(text, str) or _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


@attrs.frozen
class TalkString:
    """
    One string: its id and its text.

    @ivar text: the text; a surrogate pair in it is joined into the one
        character it encodes, so a model equals what its file reads back.
    """

    id: int
    text: str = attrs.field(converter=_joinSurrogates)


def _toTuple(items: Iterable[TalkString]) -> tuple[TalkString, ...]:
    return tuple(items)


@attrs.frozen
class TalkFile:
    """
    A talk file.

    @ivar male: the strings, in file order.
    @ivar female: the female variants, in file order.
    @ivar version: the header's version (3 in the game's files).
    @ivar minVersion: the header's minimum version (2 in the game's files).
    """

    male: tuple[TalkString, ...] = attrs.field(converter=_toTuple, default=())
    female: tuple[TalkString, ...] = attrs.field(converter=_toTuple, default=())
    version: int = 3
    minVersion: int = 2


def canonical(talk: TalkFile) -> TalkFile:
    """
    C{talk} as L{serializeTlk} writes it: each list sorted (stably) by id.
    """
    return attrs.evolve(
        talk,
        male=sorted(talk.male, key=lambda s: s.id),
        female=sorted(talk.female, key=lambda s: s.id),
    )


def _toUnits(text: str) -> str:
    """
    Text as UTF-16 code units, one character each.
    """
    if text.isascii() or max(text) <= "\uffff":
        return text
    raw = array.array("H")
    raw.frombytes(text.encode("utf-16-le", "surrogatepass"))
    if sys.byteorder == "big":  # pragma: no cover
        raw.byteswap()
    return "".join(map(chr, raw))


def parseTlk(data: bytes) -> TalkFile:
    """
    Parse a talk file.

    Lists come out in file order, with ids as stored (not re-sorted, not
    de-duplicated).

    @raise TlkError: on a wrong magic, sizes that do not add up to the
        input's length, a Huffman tree that is not a proper tree, a bit
        offset outside the data, a string without a terminator, or input
        larger than L{MAX_TLK_SIZE}.
    """
    data = bytes(data)
    if len(data) > MAX_TLK_SIZE:
        raise TlkError(
            f"talk file of {len(data)} bytes is larger than the {MAX_TLK_SIZE} byte limit",
            MAX_TLK_SIZE,
        )
    if len(data) < _HEADER.size:
        raise TlkError(
            f"talk file is {len(data)} bytes, shorter than its {_HEADER.size} byte header",
            len(data),
        )
    magic, version, minVersion, maleCount, femaleCount, nodeCount, dataLength = (
        _HEADER.unpack_from(data)
    )
    if magic != MAGIC:
        raise TlkError(f"talk file starts with {magic!r}, not {MAGIC!r}", 0)
    for count, name, offset in ((maleCount, "male", 12), (femaleCount, "female", 16)):
        if count > MAX_STRINGS:
            raise TlkError(f"{count} {name} strings, more than {MAX_STRINGS}", offset)
    expected = _HEADER.size + 8 * (maleCount + femaleCount + nodeCount) + dataLength
    if expected != len(data):
        raise TlkError(
            f"header counts ({maleCount} male, {femaleCount} female, {nodeCount} "
            f"nodes, {dataLength} data bytes) make {expected} bytes but the input "
            f"has {len(data)}",
            min(expected, len(data)),
        )
    refCount = maleCount + femaleCount
    refs = struct.unpack_from(f"<{2 * refCount}I", data, _HEADER.size)
    treeStart = _HEADER.size + 8 * refCount
    dataStart = treeStart + 8 * nodeCount
    if refCount and not nodeCount:
        raise TlkError("talk file has strings but no Huffman tree", treeStart)
    flat = struct.unpack_from(f"<{2 * nodeCount}i", data, treeStart)
    tree: Tree | None = None
    if nodeCount:
        try:
            tree = Tree(list(zip(flat[0::2], flat[1::2], strict=True)), 0, _MAX_SYMBOL)
        except HuffmanError as e:
            raise TlkError(f"Huffman tree: {e}", treeStart + 8 * e.position)
    bits = bitString(data[dataStart:])
    end = len(bits)
    budget = _DECODE_BUDGET_PER_BIT * end + (1 << 20)
    cache: dict[int, str] = {}
    strings = []
    for index in range(refCount):
        stringId, offset = refs[2 * index], refs[2 * index + 1]
        where = _HEADER.size + 8 * index
        text = cache.get(offset)
        if text is None:
            if offset >= end or tree is None:
                raise TlkError(
                    f"string {stringId} at offset {where} starts at bit {offset}, "
                    f"past the {end} bits of data",
                    where + 4,
                )
            try:
                units, after = tree.decode(bits, offset, end, end)
            except HuffmanError as e:
                raise TlkError(f"string {stringId} at offset {where}: {e}", where + 4)
            budget -= after - offset
            if budget < 0:
                raise TlkError(
                    "strings overlap too much: decoding them would read the data "
                    "more than twice over",
                    where,
                )
            text = cache[offset] = _joinSurrogates(units)
        strings.append(TalkString(stringId, text))
    return TalkFile(strings[:maleCount], strings[maleCount:], version, minVersion)


def _check(talk: TalkFile) -> None:
    for field in ("version", "minVersion"):
        value = getattr(talk, field)
        if not isinstance(value, int) or not 0 <= value <= _U32_MAX:
            raise TlkError(f"{field} {value!r} is not a 32-bit unsigned number")
    for name, strings in (("male", talk.male), ("female", talk.female)):
        if len(strings) > MAX_STRINGS:
            raise TlkError(f"{len(strings)} {name} strings, more than {MAX_STRINGS}")
        ids = [s.id for s in strings]
        for s in strings:
            if not isinstance(s.id, int) or not 0 <= s.id <= _U32_MAX:
                raise TlkError(f"{name} string id {s.id!r} is not a 32-bit unsigned number")
            if not isinstance(s.text, str):
                raise TlkError(f"{name} string {s.id} has no text")
            if "\0" in s.text:
                raise TlkError(f"{name} string {s.id} contains U+0000")
        if len(set(ids)) != len(ids):
            repeated = min(i for i, n in Counter(ids).items() if n > 1)
            raise TlkError(f"{name} string id {repeated} is used more than once")


def serializeTlk(talk: TalkFile) -> bytes:
    """
    Write C{talk} as a talk file (see the module docstring for the layout).

    @raise TlkError: if an id is repeated within a list or is not a 32-bit
        unsigned number, a text contains U+0000, or the result would be
        larger than L{MAX_TLK_SIZE}.
    """
    _check(talk)
    ordered = canonical(talk)
    strings = [*ordered.male, *ordered.female]
    units = [_toUnits(s.text) for s in strings]
    frequencies = {ord(c): n for c, n in Counter("".join(units)).items()}
    if units:
        frequencies[0] = len(units)
    pairs = buildTree(frequencies)
    tree = Tree(pairs, len(pairs) - 1, _MAX_SYMBOL)
    pieces = []
    refs: list[int] = []
    position = 0
    for s, text in zip(strings, units, strict=True):
        encoded = tree.encode(text)
        refs += (s.id, position)
        pieces.append(encoded)
        position += len(encoded)
    if position > _U32_MAX:
        raise TlkError(f"the strings need {position} bits, more than a 32-bit offset")
    body = packBits("".join(pieces))
    # TLK keeps the root first: reverse the array and renumber.
    last = len(pairs) - 1
    flat = [
        half if half < 0 else last - half for pair in reversed(pairs) for half in pair
    ]
    size = _HEADER.size + 8 * (len(strings) + len(pairs)) + len(body)
    if size > MAX_TLK_SIZE:
        raise TlkError(f"the talk file would be {size} bytes, more than {MAX_TLK_SIZE}")
    header = _HEADER.pack(
        MAGIC,
        talk.version,
        talk.minVersion,
        len(ordered.male),
        len(ordered.female),
        len(pairs),
        len(body),
    )
    return b"".join(
        (
            header,
            struct.pack(f"<{len(refs)}I", *refs),
            struct.pack(f"<{len(flat)}i", *flat),
            body,
        )
    )


def tlkToJson(talk: TalkFile) -> bytes:
    """
    C{talk} as editable JSON (schema in the module docstring): UTF-8,
    2-space indent, lists in the model's order.  Deterministic;
    L{tlkFromJson} reads it back to C{talk}.
    """
    document = {
        "version": talk.version,
        "minVersion": talk.minVersion,
        "male": [{"id": s.id, "text": s.text} for s in talk.male],
        "female": [{"id": s.id, "text": s.text} for s in talk.female],
    }
    return dumpJson(document)


def _jsonError(path: str, problem: str) -> TlkError:
    return TlkError(f"talk file JSON {path}: {problem}")


def _number(obj: dict[str, Any], path: str, key: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _U32_MAX:
        raise _jsonError(f"{path}.{key}", f"expected an integer 0..{_U32_MAX}, found {value!r:.40}")
    return value


def tlkFromJson(data: bytes) -> TalkFile:
    """
    Read the JSON form written by L{tlkToJson}.  Unknown keys are ignored;
    C{version} and C{minVersion} default to 3 and 2, a missing list is
    empty.

    @raise TlkError: naming the JSON path of the problem (or the byte
        offset of a syntax error), or for input larger than
        L{MAX_TLK_JSON_SIZE}.
    """
    document = loadJson(data, MAX_TLK_JSON_SIZE, "talk file JSON", TlkError)
    if not isinstance(document, dict):
        raise _jsonError("$", "expected an object")
    lists: dict[str, list[TalkString]] = {}
    for name in ("male", "female"):
        items = document.get(name, [])
        if not isinstance(items, list):
            raise _jsonError(f"$.{name}", "expected an array")
        if len(items) > MAX_STRINGS:
            raise _jsonError(f"$.{name}", f"{len(items)} strings, more than {MAX_STRINGS}")
        strings = []
        for i, item in enumerate(items):
            path = f"$.{name}[{i}]"
            if not isinstance(item, dict):
                raise _jsonError(path, "expected an object")
            text = item.get("text")
            if not isinstance(text, str):
                raise _jsonError(f"{path}.text", f"expected a string, found {text!r:.40}")
            if "\0" in text:
                raise _jsonError(f"{path}.text", "contains U+0000")
            strings.append(TalkString(_number(item, path, "id"), text))
        lists[name] = strings
    return TalkFile(
        lists["male"],
        lists["female"],
        _number(document, "$", "version") if "version" in document else 3,
        _number(document, "$", "minVersion") if "minVersion" in document else 2,
    )
