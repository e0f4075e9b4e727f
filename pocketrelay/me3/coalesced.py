# -*- test-case-name: tests.test_coalesced -*-
"""
The ME3 coalesced: the game's server-side ini overrides.

Two encodings of one model (game-data-formats.md sections 2 and 3):

  - the game's binary form (magic C{mrmf}): L{parseBinary},
    L{serializeBinary};
  - Pocket Relay's editable C{coalesced.json} (the Rust server's format):
    L{parseJson}, L{serializeJson}.

The model is a tree of frozen values: a L{Coalesced} holds
L{CoalescedFile}s (an ini file path each), each holds L{Section}s, each
holds L{Property}s, each an ordered tuple of L{Value}s tagged with a
L{ValueType} (the ini operation: set, clear, add, add unique, remove).

The binary serializer is deterministic (same model, same bytes) and writes
the game's own layout: names sorted by CRC-32/BZIP2 (including the empty
name, as the game's file does), files, sections and properties in
ascending CRC order, a compact index with no gaps, each distinct text
stored once.  So C{parseBinary(serializeBinary(m)) == canonical(m)}, where
L{canonical} sorts files, sections and properties by the CRC of their
names and keeps the order of values.

Every parser answers malformed input with L{CoalescedError}, whose message
says what is wrong and where (a byte offset for the binary, a JSON path for
the JSON); sizes and counts are bounded by the module's C{MAX_*}
constants.  Pure: no I/O, no Twisted.
"""

from __future__ import annotations

import enum
import itertools
import struct
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from pocketrelay.me3.huffman import (
    HuffmanError,
    Tree,
    bitString,
    buildTree,
    crc32bzip2,
    packBits,
)
from pocketrelay.me3.jsonform import dumpJson, loadJson

__all__ = [
    "MAX_BINARY_SIZE",
    "MAX_JSON_SIZE",
    "MAX_NAME_LENGTH",
    "MAX_SYMBOL",
    "MAX_TABLE_ENTRIES",
    "Coalesced",
    "CoalescedError",
    "CoalescedFile",
    "Property",
    "Section",
    "Value",
    "ValueType",
    "canonical",
    "nameHash",
    "parseBinary",
    "parseJson",
    "serializeBinary",
    "serializeJson",
]

#: The largest binary coalesced L{parseBinary} reads and
#: L{serializeBinary} writes, in bytes (the game's is 369,253).
MAX_BINARY_SIZE = 16 * 1024 * 1024

#: The largest C{coalesced.json} L{parseJson} reads, in bytes (the Rust
#: server's is 1,081,493).
MAX_JSON_SIZE = 32 * 1024 * 1024

#: The most entries in one table (files, sections of a file, properties of
#: a section, values of a property, names, Huffman pairs): the format's
#: 16-bit counts.
MAX_TABLE_ENTRIES = 0xFFFF

#: The longest name, in UTF-8 bytes (a 16-bit length).
MAX_NAME_LENGTH = 0xFFFF

#: The largest character code in a value text.  The reference tool keeps
#: only 8 bits per character and the game's own file is ASCII, so texts
#: are limited to U+0001..U+00FF (game-data-formats.md section 8, point 2).
MAX_SYMBOL = 0xFF

#: The game's binary coalesced starts with these bytes.
MAGIC = b"mrmf"

_VERSION = 1
_HEADER = struct.Struct("<4s7I")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_ENTRY = struct.Struct("<HI")
_PAIR = struct.Struct("<ii")
_TYPE_SHIFT = 29
_OFFSET_MASK = (1 << _TYPE_SHIFT) - 1
# How many times over the parser reads the data bits to decode all texts
# (texts may share bits, but not without bound), plus a fixed allowance.
_DECODE_BUDGET_PER_BIT = 2
_DECODE_BUDGET_EXTRA = 1 << 20


class CoalescedError(ValueError):
    """
    A coalesced (binary or JSON) is malformed, too large, or a model cannot
    be written.

    @ivar offset: the byte offset in the input where the problem is, or
        L{None} when it is not about a position in bytes (a model, a JSON
        path).
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class ValueType(enum.IntEnum):
    """
    The operation a value applies to its property, as stored in the top
    three bits of a value word.  The names are the JSON C{ty} strings.
    """

    #: Set the property to this value (replacing what it had).
    New = 0
    #: Clear the property; has no text.
    RemoveProperty = 1
    #: Append the value.
    Add = 2
    #: Append the value unless it is already there.
    AddUnique = 3
    #: Remove the value equal to this text.
    Remove = 4


def _toTuple(items: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(items)


@attrs.frozen
class Value:
    """
    One operation on a property.

    @ivar type: what the value does.
    @ivar text: the value's text; L{None} exactly when C{type} is
        L{ValueType.RemoveProperty}.
    """

    type: ValueType = attrs.field(converter=ValueType)
    text: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.text is None) != (self.type is ValueType.RemoveProperty):
            raise CoalescedError(
                f"a {self.type.name} value must have "
                f"{'no text' if self.type is ValueType.RemoveProperty else 'a text'}"
            )


@attrs.frozen
class Property:
    """
    A named property and its values, in the order they apply.
    """

    name: str
    values: tuple[Value, ...] = attrs.field(converter=_toTuple, default=())


@attrs.frozen
class Section:
    """
    A named ini section (C{package.class}) and its properties.
    """

    name: str
    properties: tuple[Property, ...] = attrs.field(converter=_toTuple, default=())


@attrs.frozen
class CoalescedFile:
    """
    One ini file (C{path} like C{..\\..\\biogame\\config\\bioui.ini}) and
    its sections.
    """

    path: str
    sections: tuple[Section, ...] = attrs.field(converter=_toTuple, default=())


@attrs.frozen
class Coalesced:
    """
    A whole coalesced: its ini files in order.
    """

    files: tuple[CoalescedFile, ...] = attrs.field(converter=_toTuple, default=())


def nameHash(name: str) -> int:
    """
    The CRC-32/BZIP2 of C{name}'s UTF-8 bytes: the key the binary sorts
    names by.

    @raise CoalescedError: if C{name} cannot be encoded as UTF-8.
    """
    try:
        return crc32bzip2(name.encode("utf-8"))
    except UnicodeEncodeError as e:
        raise CoalescedError(f"name {name!r:.80} is not valid Unicode: {e.reason}")


def canonical(model: Coalesced) -> Coalesced:
    """
    C{model} in the order the binary stores it: files, sections and
    properties sorted (stably) by the CRC of their names; values untouched.
    """
    return Coalesced(
        CoalescedFile(
            file.path,
            (
                Section(section.name, sorted(section.properties, key=lambda p: nameHash(p.name)))
                for section in sorted(file.sections, key=lambda s: nameHash(s.name))
            ),
        )
        for file in sorted(model.files, key=lambda f: nameHash(f.path))
    )


# ---------------------------------------------------------------------------
# Binary: parsing


class _Reader:
    """
    Bounds-checked little-endian reads from one block of the input; every
    offset is one in the whole input, so errors name it.
    """

    def __init__(self, data: bytes, start: int, end: int, what: str) -> None:
        self.data = data
        self.start = start
        self.end = end
        self.what = what

    def check(self, offset: int, size: int, thing: str) -> None:
        if offset < self.start or offset + size > self.end:
            raise CoalescedError(
                f"{thing} at offset {offset} ({size} bytes) is outside the "
                f"{self.what} (offsets {self.start} to {self.end})",
                offset,
            )

    def u16(self, offset: int, thing: str) -> int:
        self.check(offset, 2, thing)
        value: int = _U16.unpack_from(self.data, offset)[0]
        return value

    def u32(self, offset: int, thing: str) -> int:
        self.check(offset, 4, thing)
        value: int = _U32.unpack_from(self.data, offset)[0]
        return value


def _header(data: bytes) -> tuple[int, ...]:
    if len(data) > MAX_BINARY_SIZE:
        raise CoalescedError(
            f"binary coalesced of {len(data)} bytes is larger than the "
            f"{MAX_BINARY_SIZE} byte limit",
            MAX_BINARY_SIZE,
        )
    if len(data) < _HEADER.size:
        raise CoalescedError(
            f"binary coalesced is {len(data)} bytes, shorter than its "
            f"{_HEADER.size} byte header",
            len(data),
        )
    magic, *fields = _HEADER.unpack_from(data)
    if magic != MAGIC:
        hint = ""
        if magic == MAGIC[::-1]:
            hint = " (a big-endian console file, which is not supported)"
        elif magic == b"NIBC":
            hint = " (a compressed coalesced: decompress it first)"
        elif data.lstrip()[:1] in (b"{", b"\xef"):
            hint = " (it looks like JSON: use the JSON parser)"
        raise CoalescedError(f"binary coalesced starts with {magic!r}, not {MAGIC!r}{hint}", 0)
    version = fields[0]
    if version != _VERSION:
        raise CoalescedError(f"binary coalesced has version {version}, not {_VERSION}", 4)
    return tuple(fields)


def _parseNames(data: bytes, start: int, size: int) -> list[str]:
    reader = _Reader(data, start, start + size, "string table")
    declared = reader.u32(start, "string table size")
    if declared != size:
        raise CoalescedError(
            f"string table says it is {declared} bytes but the header says {size}", start
        )
    count = reader.u32(start + 4, "string count")
    entries = start + 8
    if count > MAX_TABLE_ENTRIES or 8 + 8 * count > size:
        raise CoalescedError(
            f"string table declares {count} strings, more than its {size} bytes can hold",
            start + 4,
        )
    words = struct.unpack_from(f"<{2 * count}I", data, entries)
    names = []
    for index in range(count):
        expected, offset = words[2 * index], words[2 * index + 1]
        where = entries + offset
        length = reader.u16(where, f"string {index}'s record")
        reader.check(where + 2, length, f"string {index}'s {length} bytes")
        raw = data[where + 2 : where + 2 + length]
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CoalescedError(f"string {index} is not UTF-8: {e.reason}", where + 2 + e.start)
        actual = crc32bzip2(raw)
        if actual != expected:
            raise CoalescedError(
                f"string {index} {name!r:.80} has CRC {actual:#010x} but the table "
                f"says {expected:#010x}",
                entries + 8 * index,
            )
        names.append(name)
    return names


def _parseTree(data: bytes, start: int, size: int) -> Tree:
    if size < 2:
        raise CoalescedError(f"Huffman block of {size} bytes has no pair count", start)
    (count,) = _U16.unpack_from(data, start)
    if size != 2 + 8 * count:
        raise CoalescedError(
            f"Huffman block is {size} bytes but {count} pairs need {2 + 8 * count}", start
        )
    if count == 0:
        raise CoalescedError("Huffman block has no pairs", start)
    flat = struct.unpack_from(f"<{2 * count}i", data, start + 2)
    pairs = list(zip(flat[0::2], flat[1::2], strict=True))
    try:
        return Tree(pairs, count - 1, MAX_SYMBOL)
    except HuffmanError as e:
        raise CoalescedError(f"Huffman tree: {e}", start + 2 + 8 * e.position)


@attrs.define
class _TextDecoder:
    """
    Decodes value texts, each distinct bit offset once, within a budget.
    """

    tree: Tree
    bits: str
    totalBits: int
    dataStart: int
    maxLength: int
    budget: int
    cache: dict[int, str] = attrs.Factory(dict)

    def text(self, offset: int, where: int) -> str:
        cached = self.cache.get(offset)
        if cached is not None:
            return cached
        if offset >= self.totalBits:
            raise CoalescedError(
                f"value word at offset {where} points to bit {offset}, past the "
                f"{self.totalBits} bits of data",
                where,
            )
        try:
            text, after = self.tree.decode(self.bits, offset, self.totalBits, self.maxLength)
        except HuffmanError as e:
            raise CoalescedError(
                f"value word at offset {where}: {e} (header max value length "
                f"{self.maxLength})",
                self.dataStart + e.position // 8,
            )
        self.budget -= after - offset
        if self.budget < 0:
            raise CoalescedError(
                "value texts overlap too much: decoding them would read the data "
                "block more than twice over",
                where,
            )
        self.cache[offset] = text
        return text


def _table(reader: _Reader, offset: int, what: str) -> tuple[int, list[tuple[int, int]]]:
    count = reader.u16(offset, f"{what} count")
    reader.check(offset + 2, 6 * count, f"{what} table of {count} entries")
    return count, [_ENTRY.unpack_from(reader.data, offset + 2 + 6 * i) for i in range(count)]


def parseBinary(data: bytes) -> Coalesced:
    """
    Parse a binary coalesced (section 2.10).

    Files, sections, properties and values come out in table order (not
    re-sorted).

    @raise CoalescedError: on any malformation (magic, version, sizes that
        do not add up to the input's length, a name whose CRC does not
        match, a Huffman tree that is not a proper tree, an offset outside
        its block, a count past the input, an unknown value type, a text
        that runs off the data or is longer than the header's maximum), or
        input larger than L{MAX_BINARY_SIZE}.
    """
    data = bytes(data)
    _, _, maxValue, tableSize, treeSize, indexSize, dataSize = _header(data)
    tableStart = _HEADER.size
    treeStart = tableStart + tableSize
    indexStart = treeStart + treeSize
    bitsAt = indexStart + indexSize
    dataStart = bitsAt + 4
    expected = dataStart + dataSize
    if expected != len(data):
        raise CoalescedError(
            f"header sizes add up to {expected} bytes but the input has {len(data)}",
            min(expected, len(data)),
        )
    names = _parseNames(data, tableStart, tableSize)
    tree = _parseTree(data, treeStart, treeSize)
    (totalBits,) = _U32.unpack_from(data, bitsAt)
    if totalBits > 8 * dataSize:
        raise CoalescedError(
            f"total_bits {totalBits} is more than the {dataSize} data bytes hold", bitsAt
        )
    texts = _TextDecoder(
        tree,
        bitString(data[dataStart:]),
        totalBits,
        dataStart,
        maxValue,
        _DECODE_BUDGET_PER_BIT * totalBits + _DECODE_BUDGET_EXTRA,
    )
    index = _Reader(data, indexStart, indexStart + indexSize, "index")
    # Each entry or value word takes at least 4 bytes of the index unless
    # blocks are shared; refuse more than that (no amplification).
    budget = indexSize // 4

    def name(nameIndex: int, where: int) -> str:
        if nameIndex >= len(names):
            raise CoalescedError(
                f"name index {nameIndex} at offset {where} is past the "
                f"{len(names)} strings",
                where,
            )
        return names[nameIndex]

    def spend(count: int, where: int) -> None:
        nonlocal budget
        budget -= count
        if budget < 0:
            raise CoalescedError(
                "index blocks overlap: more entries than the index can hold", where
            )

    def values(at: int) -> Iterator[Value]:
        count = index.u16(at, "value count")
        index.check(at + 2, 4 * count, f"{count} value words")
        spend(count, at)
        words = struct.unpack_from(f"<{count}I", data, at + 2)
        for position, word in enumerate(words):
            where = at + 2 + 4 * position
            kind = word >> _TYPE_SHIFT
            if kind > ValueType.Remove:
                raise CoalescedError(f"value word at offset {where} has unknown type {kind}", where)
            if kind == ValueType.RemoveProperty:
                yield Value(ValueType.RemoveProperty)
            else:
                yield Value(ValueType(kind), texts.text(word & _OFFSET_MASK, where))

    def entries(at: int, what: str) -> list[tuple[str, int]]:
        count, table = _table(index, at, what)
        spend(count, at)
        return [
            (name(nameIndex, at + 2 + 6 * i), offset)
            for i, (nameIndex, offset) in enumerate(table)
        ]

    files = []
    for path, fileOffset in entries(indexStart, "file"):
        fileAt = indexStart + fileOffset
        sections = []
        for sectionName, sectionOffset in entries(fileAt, "section"):
            sectionAt = fileAt + sectionOffset
            properties = [
                Property(propertyName, values(sectionAt + propertyOffset))
                for propertyName, propertyOffset in entries(sectionAt, "property")
            ]
            sections.append(Section(sectionName, properties))
        files.append(CoalescedFile(path, sections))
    return Coalesced(files)


# ---------------------------------------------------------------------------
# Binary: serializing


def _location(*parts: str) -> str:
    return " / ".join(repr(part)[:80] for part in parts)


def _checkCount(count: int, what: str) -> None:
    if count > MAX_TABLE_ENTRIES:
        raise CoalescedError(f"{what} has {count} entries, more than {MAX_TABLE_ENTRIES}")


def _checkUnique(names: list[str], what: str) -> None:
    if len(set(names)) != len(names):
        repeated = sorted(name for name, n in Counter(names).items() if n > 1)
        raise CoalescedError(f"{what} has the name {repeated[0]!r:.80} more than once")


def _checkTexts(model: Coalesced) -> list[str]:
    """
    The distinct texts of C{model} in first-use order (canonical order), or
    an error naming the first bad one.
    """
    seen: dict[str, None] = {}
    for file in model.files:
        for section in file.sections:
            for prop in section.properties:
                for value in prop.values:
                    if value.text is not None:
                        seen[value.text] = None
    texts = list(seen)
    joined = "".join(texts)
    if "\0" in joined or (joined and max(joined) > chr(MAX_SYMBOL)):
        for file in model.files:
            for section in file.sections:
                for prop in section.properties:
                    for value in prop.values:
                        text = value.text or ""
                        bad = [c for c in text if c == "\0" or c > chr(MAX_SYMBOL)]
                        if bad:
                            raise CoalescedError(
                                f"value of {_location(file.path, section.name, prop.name)} "
                                f"contains U+{ord(bad[0]):04X}: texts may hold only "
                                f"U+0001 to U+{MAX_SYMBOL:04X}"
                            )
    return texts


def serializeBinary(model: Coalesced, *, emptyName: bool = True) -> bytes:
    """
    Write C{model} as a binary coalesced, laid out as the game's own file
    (section 2.11).

    Deterministic.  Files, sections and properties are written in
    ascending CRC order of their names (see L{canonical}); values in their
    order.  Each distinct text is stored once.

    @param emptyName: include the empty string in the string table, as the
        game's file does (the reference tool leaves it out).
    @raise CoalescedError: if the model cannot be written: a name repeated
        within one table, two different names with the same CRC, a text
        with a character outside U+0001..U+00FF, a count or length past the
        format's fields, or a result larger than L{MAX_BINARY_SIZE}.
    """
    return _serialize(canonical(model), emptyName, None)


def _serialize(model: Coalesced, emptyName: bool, pairs: list[tuple[int, int]] | None) -> bytes:
    # Names: validate and index.
    allNames: set[str] = {""} if emptyName else set()
    _checkCount(len(model.files), "the file table")
    _checkUnique([f.path for f in model.files], "the file table")
    for file in model.files:
        allNames.add(file.path)
        _checkCount(len(file.sections), f"file {_location(file.path)}")
        _checkUnique([s.name for s in file.sections], f"file {_location(file.path)}")
        for section in file.sections:
            allNames.add(section.name)
            where = _location(file.path, section.name)
            _checkCount(len(section.properties), f"section {where}")
            _checkUnique([p.name for p in section.properties], f"section {where}")
            for prop in section.properties:
                allNames.add(prop.name)
                _checkCount(len(prop.values), f"property {_location(file.path, section.name, prop.name)}")
    hashed = sorted((nameHash(name), name) for name in allNames)
    _checkCount(len(hashed), "the string table")
    for (hashA, nameA), (hashB, nameB) in itertools.pairwise(hashed):
        if hashA == hashB:
            raise CoalescedError(
                f"names {nameA!r:.80} and {nameB!r:.80} have the same CRC {hashA:#010x}"
            )
    stringIndex = {name: i for i, (_, name) in enumerate(hashed)}
    encodedNames = [name.encode("utf-8") for _, name in hashed]
    for raw in encodedNames:
        if len(raw) > MAX_NAME_LENGTH:
            raise CoalescedError(
                f"name {raw[:40]!r}... is {len(raw)} bytes, more than {MAX_NAME_LENGTH}"
            )
    recordsAt = 8 * len(hashed)
    entryWords: list[int] = []
    records = []
    for (crc, _), raw in zip(hashed, encodedNames, strict=True):
        entryWords += (crc, recordsAt)
        records.append(_U16.pack(len(raw)) + raw)
        recordsAt += 2 + len(raw)
    tableSize = 8 + recordsAt
    stringTable = (
        struct.pack(f"<II{len(entryWords)}I", tableSize, len(hashed), *entryWords)
        + b"".join(records)
    )

    # Texts: the tree, then each distinct text's bits.
    texts = _checkTexts(model)
    if pairs is None:
        frequencies = Counter("".join(texts))
        symbolCounts = {ord(c): n for c, n in frequencies.items()}
        if texts:
            symbolCounts[0] = len(texts)
        pairs = buildTree(symbolCounts)
    _checkCount(len(pairs), "the Huffman tree")
    tree = Tree(pairs, len(pairs) - 1, MAX_SYMBOL)
    offsets: dict[str, int] = {}
    pieces = []
    totalBits = 0
    for text in texts:
        offsets[text] = totalBits
        bits = tree.encode(text)
        pieces.append(bits)
        totalBits += len(bits)
    if totalBits and max(offsets.values()) > _OFFSET_MASK:
        raise CoalescedError(f"the texts need {totalBits} bits, more than a value word can address")
    dataBlock = packBits("".join(pieces))
    flat = [half for pair in pairs for half in pair]
    treeBlock = struct.pack(f"<H{len(flat)}i", len(pairs), *flat)

    # Index: compact, every block right after its parent's table.
    index = _buildIndex(model, stringIndex, offsets)

    maxKey = max((len(raw) for raw in encodedNames), default=0)
    # In UTF-8 bytes, as the reference tool counts (its reader stops there).
    maxValue = max((len(text.encode("utf-8")) for text in texts), default=0)
    size = _HEADER.size + len(stringTable) + len(treeBlock) + len(index) + 4 + len(dataBlock)
    if size > MAX_BINARY_SIZE:
        raise CoalescedError(
            f"the binary would be {size} bytes, more than the {MAX_BINARY_SIZE} byte limit"
        )
    header = _HEADER.pack(
        MAGIC,
        _VERSION,
        maxKey,
        maxValue,
        len(stringTable),
        len(treeBlock),
        len(index),
        len(dataBlock),
    )
    return b"".join((header, stringTable, treeBlock, index, _U32.pack(totalBits), dataBlock))


def _buildIndex(model: Coalesced, stringIndex: dict[str, int], offsets: dict[str, int]) -> bytes:
    """
    The compact index: file table; then each file block followed by its
    section blocks, each section block followed by its property blocks.
    """
    removeWord = ValueType.RemoveProperty << _TYPE_SHIFT

    def propertyBlock(prop: Property) -> bytes:
        words = [
            removeWord if value.text is None else (value.type << _TYPE_SHIFT) | offsets[value.text]
            for value in prop.values
        ]
        return struct.pack(f"<H{len(words)}I", len(words), *words)

    def tableBlock(entries: list[tuple[str, bytes]]) -> bytes:
        """A table of C{(name, child block)} followed by the child blocks."""
        offset = 2 + 6 * len(entries)
        table = [_U16.pack(len(entries))]
        for name, block in entries:
            table.append(_ENTRY.pack(stringIndex[name], offset))
            offset += len(block)
        return b"".join(table) + b"".join(block for _, block in entries)

    return tableBlock(
        [
            (
                file.path,
                tableBlock(
                    [
                        (
                            section.name,
                            tableBlock([(prop.name, propertyBlock(prop)) for prop in section.properties]),
                        )
                        for section in file.sections
                    ]
                ),
            )
            for file in model.files
        ]
    )


# ---------------------------------------------------------------------------
# JSON


def _jsonError(path: str, problem: str) -> CoalescedError:
    return CoalescedError(f"coalesced JSON {path}: {problem}")


def _member(obj: Any, path: str, key: str, kind: type, optional: bool = False) -> Any:
    if not isinstance(obj, dict):
        raise _jsonError(path, f"expected an object, found {_jsonKind(obj)}")
    if key not in obj:
        if optional:
            return None
        raise _jsonError(path, f"missing {key!r}")
    value = obj[key]
    if value is None and optional:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _jsonError(
            f"{path}.{key}", f"expected {_KIND_NAMES[kind]}, found {_jsonKind(value)}"
        )
    return value


_KIND_NAMES = {str: "a string", list: "an array", int: "an integer", dict: "an object"}


def _jsonKind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    for kind, name in _KIND_NAMES.items():
        if isinstance(value, kind):
            return name
    return "a number"


def parseJson(data: bytes) -> Coalesced:
    """
    Read Pocket Relay's C{coalesced.json} (section 3): C{{"version": 1,
    "files": [{"path", "sections": [{"name", "properties": [{"name",
    "values": [{"ty", "text"}]}]}]}]}}.

    As the Rust server reads it: unknown keys are ignored, a missing
    C{text} is C{null}, C{ty} is a type name (C{New}, C{RemoveProperty},
    C{Add}, C{AddUnique}, C{Remove}).  A C{RemoveProperty} value's text is
    dropped (the binary cannot hold it); a missing or C{null} text of any
    other type reads as the empty text.  Lists keep their order.

    @raise CoalescedError: naming the JSON path of the problem (or the
        byte offset of a syntax error), or for input larger than
        L{MAX_JSON_SIZE}.
    """
    document = loadJson(data, MAX_JSON_SIZE, "coalesced JSON", CoalescedError)
    version = _member(document, "$", "version", int)
    if version != _VERSION:
        raise _jsonError("$.version", f"must be {_VERSION}, not {version}")
    files = []
    for f, file in enumerate(_member(document, "$", "files", list)):
        filePath = f"$.files[{f}]"
        sections = []
        for s, section in enumerate(_member(file, filePath, "sections", list)):
            sectionPath = f"{filePath}.sections[{s}]"
            properties = []
            for p, prop in enumerate(_member(section, sectionPath, "properties", list)):
                propertyPath = f"{sectionPath}.properties[{p}]"
                values = []
                for v, value in enumerate(_member(prop, propertyPath, "values", list)):
                    valuePath = f"{propertyPath}.values[{v}]"
                    name = _member(value, valuePath, "ty", str)
                    kind = _TYPES_BY_NAME.get(name)
                    if kind is None:
                        raise _jsonError(
                            f"{valuePath}.ty",
                            f"unknown type {name!r:.40} (expected one of "
                            f"{', '.join(_TYPES_BY_NAME)})",
                        )
                    text = _member(value, valuePath, "text", str, optional=True)
                    if kind is ValueType.RemoveProperty:
                        text = None
                    elif text is None:
                        text = ""
                    values.append(Value(kind, text))
                properties.append(Property(_member(prop, propertyPath, "name", str), values))
            sections.append(Section(_member(section, sectionPath, "name", str), properties))
        files.append(CoalescedFile(_member(file, filePath, "path", str), sections))
    return Coalesced(files)


_TYPES_BY_NAME = {kind.name: kind for kind in ValueType}


def serializeJson(model: Coalesced) -> bytes:
    """
    Write C{model} as Pocket Relay's C{coalesced.json}, in the Rust
    server's layout (2-space indent, keys in schema order, no trailing
    newline), UTF-8.  Deterministic; L{parseJson} reads it back to
    C{model}.  Lists are written in the model's order.
    """
    document = {
        "version": _VERSION,
        "files": [
            {
                "path": file.path,
                "sections": [
                    {
                        "name": section.name,
                        "properties": [
                            {
                                "name": prop.name,
                                "values": [
                                    {"ty": value.type.name, "text": value.text}
                                    for value in prop.values
                                ],
                            }
                            for prop in section.properties
                        ],
                    }
                    for section in file.sections
                ],
            }
            for file in model.files
        ],
    }
    return dumpJson(document)
