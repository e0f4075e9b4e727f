# -*- test-case-name: tests.test_coalesced -*-
"""
Tests for L{pocketrelay.me3.coalesced} (the binary coalesced and
C{coalesced.json}) and L{pocketrelay.me3.huffman} (the code both game-data
formats share).  All data is made here; none of it is EA's.
"""

from __future__ import annotations

import itertools
import json
import struct

import attrs
from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.me3 import coalesced
from pocketrelay.me3.coalesced import (
    MAX_BINARY_SIZE,
    MAX_JSON_SIZE,
    Coalesced,
    CoalescedError,
    CoalescedFile,
    Property,
    Section,
    Value,
    ValueType,
    canonical,
    nameHash,
    parseBinary,
    parseJson,
    serializeBinary,
    serializeJson,
)
from pocketrelay.me3.huffman import (
    MAX_CODE_LENGTH,
    HuffmanError,
    Tree,
    bitString,
    buildTree,
    crc32bzip2,
    packBits,
)
from pocketrelay.testing.strategies import (
    coalescedModels,
    coalescedTexts,
    codecSettings,
    mutated,
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

#: The invented example of game-data-formats.md section 3.2.
INVENTED_JSON = rb"""{
  "version": 1,
  "files": [
    {
      "path": "..\\..\\biogame\\config\\demo.ini",
      "sections": [
        {
          "name": "demopackage.demoklass",
          "properties": [
            {
              "name": "maxwidgets",
              "values": [
                { "ty": "New", "text": "12" }
              ]
            },
            {
              "name": "widgetlist",
              "values": [
                { "ty": "RemoveProperty", "text": null },
                { "ty": "AddUnique", "text": "(Name=\"alpha\",Size=3)" },
                { "ty": "Remove", "text": "(Name=\"beta\",Size=4)" }
              ]
            }
          ]
        }
      ]
    }
  ]
}"""

#: Two different names with the same CRC-32/BZIP2 (0xE953FEED).
COLLIDING = ("name14591828", "name40040200")

_HEADER = struct.Struct("<4s7I")


def _crcBitwise(data: bytes) -> int:
    """
    CRC-32/BZIP2 computed one bit at a time, straight from its definition.
    """
    register = 0xFFFFFFFF
    for byte in data:
        register ^= byte << 24
        for _ in range(8):
            carry = register & 0x80000000
            register = (register << 1) & 0xFFFFFFFF
            if carry:
                register ^= 0x04C11DB7
    return register ^ 0xFFFFFFFF


def assemble(
    names: list[str],
    pairs: list[tuple[int, int]],
    index: bytes,
    bits: str,
    *,
    maxValue: int = 1000,
    totalBits: int | None = None,
    version: int = 1,
) -> bytes:
    """
    A binary coalesced built by hand from its parts (names in the order
    given, the tree as given, the index bytes as given).
    """
    records = b""
    entries = b""
    for name in names:
        raw = name.encode("utf-8")
        entries += struct.pack("<II", crc32bzip2(raw), 8 * len(names) + len(records))
        records += struct.pack("<H", len(raw)) + raw
    table = (
        struct.pack("<II", 8 + len(entries) + len(records), len(names))
        + entries
        + records
    )
    tree = struct.pack("<H", len(pairs)) + b"".join(
        struct.pack("<ii", *p) for p in pairs
    )
    data = packBits(bits)
    header = _HEADER.pack(
        b"mrmf", version, 0, maxValue, len(table), len(tree), len(index), len(data)
    )
    total = len(bits) if totalBits is None else totalBits
    return header + table + tree + index + struct.pack("<I", total) + data


def singleValueIndex(word: int) -> bytes:
    """
    An index with file 0 / section 0 / property 0 holding one value word.
    """
    return (
        struct.pack("<HHI", 1, 0, 8)  # file table -> file block at 8
        + struct.pack("<HHI", 1, 0, 8)  # section table -> section block at +8
        + struct.pack("<HHI", 1, 0, 8)  # property table -> property block at +8
        + struct.pack("<HI", 1, word)
    )


@attrs.frozen
class Layout:
    """
    The parts of a binary coalesced, read with the header's sizes.
    """

    header: tuple[int, ...]
    table: bytes
    tree: bytes
    index: bytes
    totalBits: int
    data: bytes


def split(binary: bytes) -> Layout:
    """
    Cut a binary into its blocks.
    """
    header = _HEADER.unpack_from(binary)
    tableSize, treeSize, indexSize, dataSize = header[4:]
    at = 32
    table = binary[at : at + tableSize]
    at += tableSize
    tree = binary[at : at + treeSize]
    at += treeSize
    index = binary[at : at + indexSize]
    at += indexSize
    (totalBits,) = struct.unpack_from("<I", binary, at)
    return Layout(
        header, table, tree, index, totalBits, binary[at + 4 : at + 4 + dataSize]
    )


def crateLayout(binary: bytes) -> bytes:
    """
    C{binary} (compact) with its index re-laid out as the Rust tool does:
    a run of zero bytes after every file block's and section block's table,
    as long as that table.
    """
    parts = split(binary)
    index = parts.index

    def table(at: int) -> list[tuple[int, int]]:
        (count,) = struct.unpack_from("<H", index, at)
        return [struct.unpack_from("<HI", index, at + 2 + 6 * i) for i in range(count)]

    def emit(entries: list[tuple[int, bytes]], gap: bool) -> bytes:
        head = 2 + 6 * len(entries)
        offset = head * (2 if gap else 1)
        out = struct.pack("<H", len(entries))
        for nameIndex, block in entries:
            out += struct.pack("<HI", nameIndex, offset)
            offset += len(block)
        if gap:
            out += b"\0" * head
        return out + b"".join(block for _, block in entries)

    def valueBlock(at: int) -> bytes:
        (count,) = struct.unpack_from("<H", index, at)
        return index[at : at + 2 + 4 * count]

    files = []
    for fileName, fileAt in table(0):
        sections = []
        for sectionName, sectionOffset in table(fileAt):
            sectionAt = fileAt + sectionOffset
            properties = [
                (propertyName, valueBlock(sectionAt + propertyOffset))
                for propertyName, propertyOffset in table(sectionAt)
            ]
            sections.append((sectionName, emit(properties, True)))
        files.append((fileName, emit(sections, True)))
    newIndex = emit(files, False)
    header = list(parts.header)
    header[6] = len(newIndex)
    return (
        _HEADER.pack(*header)
        + parts.table
        + parts.tree
        + newIndex
        + struct.pack("<I", parts.totalBits)
        + parts.data
    )


def checkInvariants(case: SynchronousTestCase, model: Coalesced, binary: bytes) -> None:
    """
    The layout invariants of game-data-formats.md section 6 (4 to 8) hold
    for C{binary}, the serializer's output for C{model}.
    """
    parts = split(binary)
    magic, version, maxKey, maxValue, tableSize, treeSize, indexSize, dataSize = (
        parts.header
    )
    case.assertEqual((magic, version), (b"mrmf", 1))
    case.assertEqual(len(binary), 32 + tableSize + treeSize + indexSize + 4 + dataSize)
    # String table: own size word, hashes strictly ascending and right,
    # records contiguous from 8 * count to the end.
    size, count = struct.unpack_from("<II", parts.table)
    case.assertEqual(size, tableSize)
    names = []
    expected = 8 * count
    for i in range(count):
        crc, offset = struct.unpack_from("<II", parts.table, 8 + 8 * i)
        case.assertEqual(offset, expected)
        (length,) = struct.unpack_from("<H", parts.table, 8 + offset)
        raw = parts.table[10 + offset : 10 + offset + length]
        case.assertEqual(crc, crc32bzip2(raw))
        names.append(raw.decode("utf-8"))
        expected += 2 + length
    case.assertEqual(8 + expected, tableSize)
    hashes = [nameHash(n) for n in names]
    case.assertEqual(hashes, sorted(set(hashes)))
    case.assertIn("", names)
    case.assertEqual(maxKey, max(len(n.encode("utf-8")) for n in names))
    texts = {
        v.text
        for f in model.files
        for s in f.sections
        for p in s.properties
        for v in p.values
        if v.text is not None
    }
    case.assertEqual(maxValue, max((len(t.encode("utf-8")) for t in texts), default=0))
    # Tree: 2 + 8 * pairs, a proper tree with the root last.
    (pairCount,) = struct.unpack_from("<H", parts.tree)
    case.assertEqual(treeSize, 2 + 8 * pairCount)
    flat = struct.unpack_from(f"<{2 * pairCount}i", parts.tree, 2)
    pairs = list(zip(flat[0::2], flat[1::2], strict=True))
    tree = Tree(pairs, pairCount - 1, 0xFF)
    # Data: exactly ceil(total_bits / 8) bytes, padding bits zero.
    case.assertEqual(dataSize, (parts.totalBits + 7) // 8)
    bits = bitString(parts.data)
    case.assertEqual(bits[parts.totalBits :], "0" * (len(bits) - parts.totalBits))
    # Index: compact (no gaps, no overlaps), tables sorted by name index,
    # each text stored once, every text decodes and stops inside the data.
    covered = 0
    offsets: dict[str, int] = {}

    def table(at: int) -> list[tuple[int, int]]:
        nonlocal covered
        (n,) = struct.unpack_from("<H", parts.index, at)
        case.assertEqual(at, covered)
        covered += 2 + 6 * n
        entries = [
            struct.unpack_from("<HI", parts.index, at + 2 + 6 * i) for i in range(n)
        ]
        case.assertEqual([e[0] for e in entries], sorted({e[0] for e in entries}))
        return entries

    for _, fileAt in table(0):
        for _, sectionOffset in table(fileAt):
            sectionAt = fileAt + sectionOffset
            for _, propertyOffset in table(sectionAt):
                at = sectionAt + propertyOffset
                case.assertEqual(at, covered)
                (n,) = struct.unpack_from("<H", parts.index, at)
                covered += 2 + 4 * n
                for word in struct.unpack_from(f"<{n}I", parts.index, at + 2):
                    if word >> 29 == 1:
                        case.assertEqual(word, 0x20000000)
                        continue
                    offset = word & 0x1FFFFFFF
                    text, _ = tree.decode(bits, offset, parts.totalBits, maxValue)
                    case.assertEqual(offsets.setdefault(text, offset), offset)
    case.assertEqual(covered, indexSize)


class CrcTests(SynchronousTestCase):
    """
    L{crc32bzip2} is CRC-32/BZIP2.
    """

    def test_vectors(self) -> None:
        """
        The catalogue's check value and the reference's vectors.
        """
        self.assertEqual(crc32bzip2(b"123456789"), 0xFC891918)
        self.assertEqual(crc32bzip2(b""), 0)
        self.assertEqual(crc32bzip2(b"a"), 0x19939B6B)
        self.assertEqual(crc32bzip2(b"demo.settings"), 0x0572151C)
        self.assertEqual(nameHash("demo.ini"), 0x8F38B610)

    @codecSettings(100)
    @given(st.binary(max_size=64))
    def test_definition(self, data: bytes) -> None:
        """
        The fast computation agrees with the bitwise definition.
        """
        self.assertEqual(crc32bzip2(data), _crcBitwise(data))

    def test_collision(self) -> None:
        """
        The colliding names used below really collide.
        """
        self.assertEqual(nameHash(COLLIDING[0]), nameHash(COLLIDING[1]))

    def test_nameNotUnicode(self) -> None:
        """
        A name UTF-8 cannot encode (a lone surrogate) is a CoalescedError.
        """
        self.assertRaises(CoalescedError, nameHash, "a\ud800")


class HuffmanTests(SynchronousTestCase):
    """
    The shared Huffman code.
    """

    def test_buildTreeDeterministic(self) -> None:
        """
        Ties are broken by symbol order, so the same frequencies give the
        same tree, whatever the mapping's order; the root is last and
        internal nodes are numbered breadth-first.
        """
        forward = buildTree({0: 2, 0x61: 1, 0x62: 1})
        backward = buildTree(dict(reversed(list({0: 2, 0x61: 1, 0x62: 1}.items()))))
        self.assertEqual(forward, backward)
        self.assertEqual(forward, [(-98, -99), (-1, 0)])

    def test_smallTrees(self) -> None:
        """
        With no symbol or one symbol, the tree is a single pair with the
        symbol on both sides.
        """
        self.assertEqual(buildTree({}), [(-1, -1)])
        self.assertEqual(buildTree({0: 5}), [(-1, -1)])
        tree = Tree(buildTree({0: 5}), 0, 0xFF)
        self.assertEqual(tree.encode(""), "0")

    @codecSettings(100)
    @given(st.dictionaries(st.integers(1, 0xFF), st.integers(1, 10**6), max_size=60))
    def test_properTree(self, frequencies: dict[int, int]) -> None:
        """
        A built tree is a proper tree holding every symbol and the
        terminator, with prefix-free codes.
        """
        frequencies = {0: 1, **frequencies}
        pairs = buildTree(frequencies)
        tree = Tree(pairs, len(pairs) - 1, 0xFF)
        self.assertEqual(set(tree.codes), set(frequencies))
        self.assertEqual(len(pairs), max(1, len(frequencies) - 1))
        codes = sorted(tree.codes.values())
        for a, b in itertools.pairwise(codes):
            self.assertFalse(b.startswith(a))

    @codecSettings(100)
    @given(st.lists(coalescedTexts(), min_size=1, max_size=6))
    def test_encodeDecode(self, texts: list[str]) -> None:
        """
        Texts encoded back to back decode from their start bits.
        """
        frequencies: dict[int, int] = {0: len(texts)}
        for c in "".join(texts):
            frequencies[ord(c)] = frequencies.get(ord(c), 0) + 1
        pairs = buildTree(frequencies)
        tree = Tree(pairs, len(pairs) - 1, 0xFF)
        starts, pieces, at = [], [], 0
        for text in texts:
            starts.append(at)
            pieces.append(tree.encode(text))
            at += len(pieces[-1])
        bits = bitString(packBits("".join(pieces)))
        for start, text in zip(starts, texts, strict=True):
            self.assertEqual(tree.decode(bits, start, at, 1000)[0], text)

    def test_longCodes(self) -> None:
        """
        Codes longer than the decoder's lookup width (a very skewed
        distribution: powers of two) still decode.
        """
        frequencies = {0: 1}
        for i, symbol in enumerate(range(0x41, 0x41 + 25)):
            frequencies[symbol] = 1 << i
        pairs = buildTree(frequencies)
        tree = Tree(pairs, len(pairs) - 1, 0xFF)
        self.assertGreater(max(len(c) for c in tree.codes.values()), 20)
        text = "".join(chr(s) for s in range(0x41, 0x41 + 25)) * 3
        bits = tree.encode(text)
        self.assertEqual(tree.decode(bits + "0" * 40, 0, len(bits), 1000), (text, len(bits)))

    def test_bitOrder(self) -> None:
        """
        Bits are packed least significant first; padding is zero.
        """
        self.assertEqual(packBits("10110"), b"\x0d")
        self.assertEqual(packBits(""), b"")
        self.assertEqual(bitString(b"\x0d\x80"), "1011000000000001")
        self.assertEqual(bitString(b""), "")

    def test_badTrees(self) -> None:
        """
        A child outside the array, a cycle, a shared node, a symbol above
        the limit, no terminator, no root, a code longer than 64 bits:
        each a HuffmanError naming the pair.
        """
        cases = [
            ([(-1, 5)], 0, 0),
            ([(-1, 0)], 0, 0),
            ([(-2, -3), (0, 0)], 1, 1),
            ([(-1, -0x101)], 0, 0),
            ([(-2, -3)], 0, 0),
        ]
        for pairs, root, position in cases:
            e = self.assertRaises(HuffmanError, Tree, pairs, root, 0xFF)
            self.assertEqual(e.position, position, pairs)
        self.assertRaises(HuffmanError, Tree, [], 0, 0xFF)
        chain = [(-2 - i, i + 1) for i in range(69)] + [(-1, -1)]
        e = self.assertRaises(HuffmanError, Tree, chain, 0, 0xFF)
        self.assertEqual(e.position, MAX_CODE_LENGTH)
        self.assertIn("deeper than 64", str(e))
        deepest = [(-2 - i, i + 1) for i in range(MAX_CODE_LENGTH - 1)] + [(-1, -1)]
        self.assertEqual(max(map(len, Tree(deepest, 0, 0xFF).codes.values())), 64)

    def test_unterminated(self) -> None:
        """
        A string that runs off the end of the stream, or is longer than
        allowed, is a HuffmanError.
        """
        tree = Tree([(-98, -99), (-1, 0)], 1, 0xFF)
        bits = tree.encode("ab")
        e = self.assertRaises(HuffmanError, tree.decode, bits, 0, len(bits) - 1, 100)
        self.assertEqual(e.position, len(bits) - 1)
        longBits = tree.encode("ab" * 20)
        self.assertRaises(HuffmanError, tree.decode, longBits, 0, len(longBits), 10)


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

    def test_serialize(self) -> None:
        """
        With its own tree the serializer writes the same index and string
        order, plus the empty name first; the output keeps the invariants.
        """
        binary = serializeBinary(EXAMPLE_MODEL)
        checkInvariants(self, EXAMPLE_MODEL, binary)
        parts = split(binary)
        self.assertEqual(parts.header[2:4], (13, 2))
        self.assertEqual(struct.unpack_from("<II", parts.table), (88, 5))
        self.assertEqual(struct.unpack_from("<I", parts.table, 8), (0,))
        self.assertEqual(parts.totalBits, 10)
        self.assertEqual(parseBinary(binary), EXAMPLE_MODEL)

    def test_withoutEmptyName(self) -> None:
        """
        C{emptyName=False} leaves the empty string out, as the Rust tool
        does.
        """
        parts = split(serializeBinary(EXAMPLE_MODEL, emptyName=False))
        self.assertEqual(struct.unpack_from("<II", parts.table), (78, 4))
        self.assertEqual(parts.table, split(EXAMPLE).table)

    def test_json(self) -> None:
        """
        The model survives the JSON, which looks like the Rust server's.
        """
        text = serializeJson(EXAMPLE_MODEL)
        self.assertEqual(parseJson(text), EXAMPLE_MODEL)
        self.assertTrue(text.startswith(b'{\n  "version": 1,\n  "files": [\n    {\n'))
        self.assertIn(b'"ty": "RemoveProperty",\n                  "text": null', text)
        self.assertFalse(text.endswith(b"\n"))


class RoundTripTests(SynchronousTestCase):
    """
    Generated models survive both encodings.
    """

    @codecSettings(150)
    @given(coalescedModels())
    def test_binary(self, model: Coalesced) -> None:
        """
        C{parseBinary(serializeBinary(m)) == canonical(m)}; serializing is
        deterministic and the canonical model serializes to the same bytes;
        the output keeps the layout invariants.
        """
        binary = serializeBinary(model)
        self.assertEqual(parseBinary(binary), canonical(model))
        self.assertEqual(serializeBinary(model), binary)
        self.assertEqual(serializeBinary(canonical(model)), binary)
        checkInvariants(self, model, binary)

    @codecSettings(100)
    @given(coalescedModels())
    def test_json(self, model: Coalesced) -> None:
        """
        C{parseJson(serializeJson(m)) == m}, order kept; deterministic.
        """
        text = serializeJson(model)
        self.assertEqual(parseJson(text), model)
        self.assertEqual(serializeJson(model), text)

    @codecSettings(50)
    @given(coalescedModels())
    def test_crateLayout(self, model: Coalesced) -> None:
        """
        A binary laid out as the Rust tool does (zero runs in the index)
        parses to the same model: the parser follows offsets.
        """
        binary = serializeBinary(model)
        self.assertEqual(parseBinary(crateLayout(binary)), parseBinary(binary))

    def test_canonicalOrder(self) -> None:
        """
        Files, sections and properties are written in CRC order of their
        names; values keep their order.
        """
        values = [Value(ValueType.Add, "z"), Value(ValueType.New, "a")]
        names = ["speed", "list", "demo.settings", "demo.ini", "x", "y"]
        model = Coalesced(
            [
                CoalescedFile(
                    name,
                    [Section(s, [Property(p, values) for p in names]) for s in names],
                )
                for name in names
            ]
        )
        parsed = parseBinary(serializeBinary(model))
        byCrc = sorted(names, key=nameHash)
        self.assertEqual([f.path for f in parsed.files], byCrc)
        self.assertEqual([s.name for s in parsed.files[0].sections], byCrc)
        self.assertEqual(
            [p.name for p in parsed.files[0].sections[0].properties], byCrc
        )
        self.assertEqual(
            parsed.files[0].sections[0].properties[0].values, tuple(values)
        )
        self.assertEqual(parsed, canonical(model))

    def test_sharedTexts(self) -> None:
        """
        Values with the same text point at the same stored bits; a
        RemoveProperty value's word is 0x20000000.
        """
        model = Coalesced(
            [
                CoalescedFile(
                    "f",
                    [
                        Section(
                            "s",
                            [
                                Property(
                                    "p",
                                    [
                                        Value(ValueType.RemoveProperty),
                                        Value(ValueType.New, "same"),
                                        Value(ValueType.Remove, "same"),
                                    ],
                                )
                            ],
                        )
                    ],
                )
            ]
        )
        index = split(serializeBinary(model)).index
        words = struct.unpack_from("<3I", index, len(index) - 12)
        self.assertEqual(words, (0x20000000, 0x00000000, 0x80000000))

    def test_emptyModels(self) -> None:
        """
        A model without files, or whose texts are all empty, serializes
        (a one-pair tree) and parses back.
        """
        empty = Coalesced()
        self.assertEqual(parseBinary(serializeBinary(empty)), empty)
        blank = Coalesced(
            [
                CoalescedFile(
                    "f", [Section("s", [Property("p", [Value(ValueType.New, "")])])]
                )
            ]
        )
        binary = serializeBinary(blank)
        self.assertEqual(split(binary).totalBits, 1)
        self.assertEqual(parseBinary(binary), blank)
        bare = Coalesced([CoalescedFile("f", [Section("s", [Property("p")])])])
        self.assertEqual(parseBinary(serializeBinary(bare)), bare)


class ModelTests(SynchronousTestCase):
    """
    The model's own rule.
    """

    def test_textMatchesType(self) -> None:
        """
        RemoveProperty values have no text; every other type has one.
        """
        self.assertRaises(CoalescedError, Value, ValueType.RemoveProperty, "x")
        self.assertRaises(CoalescedError, Value, ValueType.New)
        self.assertEqual(Value(3, "x").type, ValueType.AddUnique)


def _corrupt(binary: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(binary)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


class BinaryErrorTests(SynchronousTestCase):
    """
    Malformed binaries are refused with a CoalescedError naming the offset.
    """

    def assertError(
        self, data: bytes, offset: int | None, *words: str
    ) -> CoalescedError:
        e = self.assertRaises(CoalescedError, parseBinary, data)
        self.assertEqual(e.offset, offset, str(e))
        for word in words:
            self.assertIn(word, str(e))
        return e

    def test_magic(self) -> None:
        """
        A wrong magic is refused, with a hint for a byte-swapped, a
        compressed and a JSON file.
        """
        body = EXAMPLE[4:]
        self.assertError(b"XXXX" + body, 0, "b'XXXX'")
        self.assertError(b"fmrm" + body, 0, "big-endian")
        self.assertError(b"NIBC" + body, 0, "decompress")
        self.assertError(b'{"version": 1, "files": []}       ', 0, "JSON")

    def test_version(self) -> None:
        """
        A version other than 1 is refused.
        """
        self.assertError(_corrupt(EXAMPLE, 4, "<I", 2), 4, "version 2")

    def test_everyTruncation(self) -> None:
        """
        Every prefix of a valid binary, and the binary with a byte more,
        is refused.
        """
        for length in range(len(EXAMPLE)):
            self.assertRaises(CoalescedError, parseBinary, EXAMPLE[:length])
        self.assertError(EXAMPLE + b"\0", 180, "180")
        self.assertError(EXAMPLE[:20], 20, "header")

    def test_sizes(self) -> None:
        """
        Header sizes that do not add up to the input, a string table whose
        own size word differs, a Huffman size that is not 2 + 8 * pairs.
        """
        self.assertError(_corrupt(EXAMPLE, 16, "<I", 79), 180, "add up")
        self.assertError(_corrupt(EXAMPLE, 32, "<I", 77), 32, "string table says")
        self.assertError(_corrupt(EXAMPLE, 0x6E, "<H", 3), 0x6E, "3 pairs")
        self.assertError(_corrupt(EXAMPLE, 0x6E, "<H", 0), 0x6E)
        # More data bits declared than the data holds.
        self.assertError(_corrupt(EXAMPLE, 0xAE, "<I", 17), 0xAE, "total_bits")

    def test_stringTable(self) -> None:
        """
        A count past the block, a record outside the block, a CRC that does
        not match the name, a name that is not UTF-8.
        """
        self.assertError(_corrupt(EXAMPLE, 36, "<I", 10), 36, "10 strings")
        self.assertError(_corrupt(EXAMPLE, 0x2C, "<I", 200), 40 + 200, "outside")
        self.assertError(_corrupt(EXAMPLE, 0x48, "<H", 60), 0x4A, "outside")
        self.assertError(_corrupt(EXAMPLE, 0x28, "<I", 0x0572151D), 0x28, "CRC")
        self.assertError(_corrupt(EXAMPLE, 0x4A, "<B", 0xFF), 0x4A, "UTF-8")

    def test_tree(self) -> None:
        """
        A child outside the tree, a cycle, a symbol above U+00FF: each
        refused naming the pair's offset.
        """
        self.assertError(_corrupt(EXAMPLE, 0x7C, "<i", 2), 0x78, "outside the 2 pairs")
        self.assertError(_corrupt(EXAMPLE, 0x7C, "<i", 1), 0x78, "already")
        self.assertError(_corrupt(EXAMPLE, 0x70, "<i", -0x200), 0x70, "symbol 0x1ff")

    def test_index(self) -> None:
        """
        Offsets outside the index, counts past it, name indices past the
        string table, unknown value types, text offsets past the data.
        """
        self.assertError(
            _corrupt(EXAMPLE, 0x84, "<I", 100), 0x80 + 100, "section count"
        )
        self.assertError(_corrupt(EXAMPLE, 0x80, "<H", 9), 0x82, "file table of 9")
        self.assertError(_corrupt(EXAMPLE, 0x82, "<H", 4), 0x82, "name index 4")
        self.assertError(
            _corrupt(EXAMPLE, 0x8C, "<I", 0x1000), 0x1088, "property count"
        )
        self.assertError(_corrupt(EXAMPLE, 0x9E, "<H", 30), 0xA0, "30 value words")
        self.assertError(_corrupt(EXAMPLE, 0xA0, "<I", 0xA0000000), 0xA0, "type 5")
        self.assertError(_corrupt(EXAMPLE, 0xA0, "<I", 10), 0xA0, "past the 10 bits")

    def test_texts(self) -> None:
        """
        A text that runs off the data, or is longer than the header's
        maximum value length, is refused.
        """
        self.assertError(_corrupt(EXAMPLE, 0xAE, "<I", 9), 0xB2 + 1, "past the end")
        self.assertError(_corrupt(EXAMPLE, 12, "<I", 1), 0xB2, "longer than 1")

    def test_tooLarge(self) -> None:
        """
        Input above the size limit is refused before anything is read.
        """
        self.assertError(b"mrmf" + bytes(MAX_BINARY_SIZE), MAX_BINARY_SIZE, "limit")

    def test_sharedIndexBlocks(self) -> None:
        """
        Index tables whose entries all point at one block (so the model
        would be far larger than the index) are refused.
        """
        count = 2000
        index = (
            struct.pack("<H", count)
            + struct.pack("<HI", 0, 2 + 6 * count) * count
            + struct.pack("<HHI", 1, 0, 8)
            + struct.pack("<HHI", 1, 0, 8)
            + struct.pack("<H", 0)
        )
        data = assemble([""], [(-1, -1)], index, "0")
        e = self.assertRaises(CoalescedError, parseBinary, data)
        self.assertIn("overlap", str(e))

    def test_overlappingTexts(self) -> None:
        """
        Many values pointing into the middle of one long text (so decoding
        would produce far more text than the data holds) are refused.
        """
        text = "a" * 30000
        count = 60
        words = b"".join(struct.pack("<I", i) for i in range(count))
        index = (
            struct.pack("<HHI", 1, 0, 8)
            + struct.pack("<HHI", 1, 0, 8)
            + struct.pack("<HHI", 1, 0, 8)
            + struct.pack("<H", count)
            + words
        )
        bits = "1" * len(text) + "0"
        data = assemble([""], [(-1, -98)], index, bits, maxValue=len(text))
        e = self.assertRaises(CoalescedError, parseBinary, data)
        self.assertIn("overlap", str(e))

    def test_suffixSharing(self) -> None:
        """
        A value pointing into the middle of another's text (as the game's
        file does for suffixes) reads the suffix.
        """
        tree = Tree([(-98, -99), (-1, 0)], 1, 0xFF)
        bits = tree.encode("abab")
        index = (
            struct.pack("<HHI", 1, 0, 8)
            + struct.pack("<HHI", 1, 0, 8)
            + struct.pack("<HHI", 1, 0, 8)
            + struct.pack("<HII", 2, 0, 0x60000004)
        )
        model = parseBinary(assemble([""], [(-98, -99), (-1, 0)], index, bits))
        values = model.files[0].sections[0].properties[0].values
        self.assertEqual(
            values, (Value(ValueType.New, "abab"), Value(ValueType.AddUnique, "ab"))
        )

    def test_singleValueIndexHelper(self) -> None:
        """
        The hand-built single-value binary parses (so the error tests built
        on it fail for the reason they test).
        """
        data = assemble([""], [(-1, -98)], singleValueIndex(0), "110")
        model = parseBinary(data)
        self.assertEqual(
            model.files[0].sections[0].properties[0].values, (Value(0, "aa"),)
        )

    @codecSettings(300)
    @given(st.binary(max_size=300))
    def test_randomBytes(self, data: bytes) -> None:
        """
        Random bytes, with or without the magic, are a model or a
        CoalescedError, never another exception.
        """
        for candidate in (data, b"mrmf\x01\0\0\0" + data):
            try:
                parseBinary(candidate)
            except CoalescedError:
                pass

    @codecSettings(300)
    @given(st.data())
    def test_mutated(self, data: st.DataObject) -> None:
        """
        A valid binary with a few bytes changed is a model (which then
        serializes, or is refused cleanly) or a CoalescedError.
        """
        source = serializeBinary(data.draw(coalescedModels(3)))
        damaged = data.draw(mutated(source))
        try:
            model = parseBinary(damaged)
        except CoalescedError:
            return
        try:
            again = serializeBinary(model)
        except CoalescedError:
            return
        self.assertEqual(parseBinary(again), canonical(model))


class SerializeErrorTests(SynchronousTestCase):
    """
    Models the binary cannot hold are refused with a clear CoalescedError.
    """

    def one(self, text: str = "x", name: str = "p") -> Coalesced:
        return Coalesced(
            [
                CoalescedFile(
                    "f", [Section("s", [Property(name, [Value(ValueType.New, text)])])]
                )
            ]
        )

    def assertRefused(self, model: Coalesced, *words: str) -> None:
        e = self.assertRaises(CoalescedError, serializeBinary, model)
        self.assertIsNone(e.offset)
        for word in words:
            self.assertIn(word, str(e))

    def test_characters(self) -> None:
        """
        Texts with U+0000 or above U+00FF are refused, naming the property.
        """
        self.assertRefused(self.one("a\0b"), "U+0000", "'p'")
        self.assertRefused(self.one("\u2122"), "U+2122", "'f' / 's' / 'p'")
        self.assertEqual(
            parseBinary(serializeBinary(self.one("\xff\x01\t"))), self.one("\xff\x01\t")
        )

    def test_duplicates(self) -> None:
        """
        A name repeated in one table is refused.
        """
        prop = Property("p", [Value(ValueType.New, "1")])
        self.assertRefused(Coalesced([CoalescedFile("f"), CoalescedFile("f")]), "'f'")
        self.assertRefused(
            Coalesced([CoalescedFile("f", [Section("s"), Section("s")])]), "'s'"
        )
        self.assertRefused(
            Coalesced([CoalescedFile("f", [Section("s", [prop, prop])])]), "'p'"
        )

    def test_crcCollision(self) -> None:
        """
        Two different names with the same CRC are refused.
        """
        model = Coalesced([CoalescedFile(COLLIDING[0]), CoalescedFile(COLLIDING[1])])
        self.assertRefused(model, "same CRC", COLLIDING[0], COLLIDING[1])

    def test_limits(self) -> None:
        """
        More than 65,535 entries in a table, a name longer than 65,535
        bytes, a name that is not Unicode: refused.
        """
        self.assertRefused(
            Coalesced(
                [
                    CoalescedFile(
                        "f",
                        [
                            Section(
                                "s", [Property("p", [Value(ValueType.New, "")] * 65536)]
                            )
                        ],
                    )
                ]
            ),
            "65536",
        )
        self.assertRefused(self.one(name="n" * 65536), "65536 bytes")
        self.assertRefused(self.one(name="\udc00"), "Unicode")

    def test_tooLarge(self) -> None:
        """
        A model whose binary would pass the size limit is refused.
        """
        long = "n" * 65000
        files = [CoalescedFile(f"{long}{i}") for i in range(260)]
        self.assertRefused(Coalesced(files), "limit")


class JsonTests(SynchronousTestCase):
    """
    Pocket Relay's coalesced.json.
    """

    def test_inventedExample(self) -> None:
        """
        The reference's invented example reads as written.
        """
        model = parseJson(INVENTED_JSON)
        self.assertEqual(len(model.files), 1)
        self.assertEqual(model.files[0].path, "..\\..\\biogame\\config\\demo.ini")
        section = model.files[0].sections[0]
        self.assertEqual(section.name, "demopackage.demoklass")
        self.assertEqual(
            section.properties[1].values,
            (
                Value(ValueType.RemoveProperty),
                Value(ValueType.AddUnique, '(Name="alpha",Size=3)'),
                Value(ValueType.Remove, '(Name="beta",Size=4)'),
            ),
        )
        self.assertEqual(parseBinary(serializeBinary(model)), canonical(model))

    def test_rustLayout(self) -> None:
        """
        The writer's layout is the Rust server's (serde pretty): 2-space
        indent, keys in schema order, no trailing newline; it re-reads to
        the same bytes.
        """
        model = parseJson(INVENTED_JSON)
        text = serializeJson(model)
        self.assertEqual(
            text, json.dumps(json.loads(INVENTED_JSON), indent=2).encode("utf-8")
        )
        self.assertEqual(serializeJson(parseJson(text)), text)

    def test_serdeLayoutLiteral(self) -> None:
        """
        The writer reproduces, byte for byte, a document laid out as serde's
        pretty printer lays out the Rust server's C{coalesced.json} (checked
        against that file): a section name with a space, a property name
        with brackets, escaped quotes, backslashes and a tab, a
        C{RemoveProperty} first with C{"text": null}, an empty value list as
        C{[]}, no trailing newline.
        """
        lines = [
            "{",
            '  "version": 1,',
            '  "files": [',
            "    {",
            r'      "path": "..\\..\\demo\\config\\demo.ini",',
            '      "sections": [',
            "        {",
            '          "name": "demo_one.widget demo.widget",',
            '          "properties": [',
            "            {",
            '              "name": "list[2]",',
            '              "values": [',
            "                {",
            '                  "ty": "RemoveProperty",',
            '                  "text": null',
            "                },",
            "                {",
            '                  "ty": "AddUnique",',
            r'                  "text": "(Name=\"a\", Path=\"..\\\\x\",\tSize=1)"',
            "                }",
            "              ]",
            "            },",
            "            {",
            '              "name": "empty",',
            '              "values": []',
            "            }",
            "          ]",
            "        }",
            "      ]",
            "    }",
            "  ]",
            "}",
        ]
        document = "\n".join(lines).encode("ascii")
        model = parseJson(document)
        self.assertEqual(
            model.files[0].sections[0].properties[0].values[1].text,
            '(Name="a", Path="..\\\\x",\tSize=1)',
        )
        self.assertEqual(serializeJson(model), document)

    def test_tolerated(self) -> None:
        """
        As the Rust server reads it: unknown keys ignored, a missing text is
        null, a RemoveProperty text dropped, a null text of another type
        read as empty, a byte-order mark accepted.
        """
        document = {
            "version": 1,
            "comment": "ignored",
            "files": [
                {
                    "path": "f",
                    "x": 1,
                    "sections": [
                        {
                            "name": "s",
                            "properties": [
                                {
                                    "name": "p",
                                    "values": [
                                        {"ty": "RemoveProperty", "text": "lost"},
                                        {"ty": "RemoveProperty"},
                                        {"ty": "New", "text": None},
                                        {"ty": "Add"},
                                    ],
                                }
                            ],
                        }
                    ],
                }
            ],
        }
        data = json.dumps(document).encode("utf-8")
        for raw in (data, b"\xef\xbb\xbf" + data):
            values = parseJson(raw).files[0].sections[0].properties[0].values
            self.assertEqual(
                values,
                (
                    Value(ValueType.RemoveProperty),
                    Value(ValueType.RemoveProperty),
                    Value(ValueType.New, ""),
                    Value(ValueType.Add, ""),
                ),
            )

    def assertPath(self, document: object, path: str, *words: str) -> None:
        data = json.dumps(document).encode("utf-8")
        e = self.assertRaises(CoalescedError, parseJson, data)
        self.assertIn(path, str(e))
        for word in words:
            self.assertIn(word, str(e))

    def test_structureErrors(self) -> None:
        """
        Every kind of wrong structure names the JSON path.
        """
        value: dict[str, object] = {"ty": "New", "text": "x"}
        prop: dict[str, object] = {"name": "p", "values": [value]}
        section: dict[str, object] = {"name": "s", "properties": [prop]}
        file: dict[str, object] = {"path": "f", "sections": [section]}

        def doc(**changes: object) -> dict[str, object]:
            return {"version": 1, "files": [file], **changes}

        self.assertPath([], "$", "expected an object, found an array")
        self.assertPath({"files": []}, "$", "missing 'version'")
        self.assertPath(doc(version=2), "$.version", "must be 1")
        self.assertPath(doc(version=True), "$.version", "boolean")
        self.assertPath(doc(version="1"), "$.version", "a string")
        self.assertPath(doc(files={}), "$.files", "an array")
        self.assertPath(doc(files=[3]), "$.files[0]", "an integer")
        self.assertPath(doc(files=[{"path": "f"}]), "$.files[0]", "missing 'sections'")
        self.assertPath(doc(files=[{**file, "path": None}]), "$.files[0].path", "null")
        bad = {
            **file,
            "sections": [
                {**section, "properties": [{**prop, "values": [{"ty": "new"}]}]}
            ],
        }
        self.assertPath(
            doc(files=[bad]),
            "$.files[0].sections[0].properties[0].values[0].ty",
            "'new'",
        )
        bad = {
            **file,
            "sections": [{**section, "properties": [{**prop, "values": [{"ty": 0}]}]}],
        }
        self.assertPath(doc(files=[bad]), ".values[0].ty", "a string")
        bad = {
            **file,
            "sections": [
                {
                    **section,
                    "properties": [{**prop, "values": [{"ty": "New", "text": 5}]}],
                }
            ],
        }
        self.assertPath(doc(files=[bad]), ".values[0].text", "a string")
        bad = {**file, "sections": [{**section, "properties": [{"values": []}]}]}
        self.assertPath(
            doc(files=[bad]), "$.files[0].sections[0].properties[0]", "missing 'name'"
        )

    def assertSyntax(self, data: bytes, offset: int | None, *words: str) -> None:
        e = self.assertRaises(CoalescedError, parseJson, data)
        self.assertEqual(e.offset, offset, str(e))
        for word in words:
            self.assertIn(word, str(e))

    def test_syntaxErrors(self) -> None:
        """
        Not UTF-8, not JSON, non-finite numbers, absurd nesting, too large:
        each a CoalescedError with the byte offset where known.
        """
        self.assertSyntax(b'{"version": 1, \xff}', 15, "UTF-8")
        self.assertSyntax(b'{"version": 1,, }', 14, "line 1 column 15")
        self.assertSyntax(b'\xef\xbb\xbf{"version": 1,, }', 17)
        self.assertSyntax('{"é": 1,, }'.encode(), 9)
        self.assertSyntax(b'{"version": NaN, "files": []}', None, "NaN")
        self.assertSyntax(b"[" * 100000 + b"]" * 100000, None)
        self.assertSyntax(b" " * (MAX_JSON_SIZE + 1), MAX_JSON_SIZE, "limit")

    @codecSettings(200)
    @given(st.data())
    def test_mutatedJson(self, data: st.DataObject) -> None:
        """
        Damaged JSON is a model or a CoalescedError, never another
        exception.
        """
        source = serializeJson(data.draw(coalescedModels(2)))
        try:
            parseJson(data.draw(mutated(source, 6)))
        except CoalescedError:
            pass


class LimitTests(SynchronousTestCase):
    """
    The limits are explicit and sensible.
    """

    def test_constants(self) -> None:
        """
        The limits leave room for the real files (a 369 kB binary, a
        1.08 MB JSON) and match the format's field widths.
        """
        self.assertGreater(MAX_BINARY_SIZE, 10 * 369_253)
        self.assertGreater(MAX_JSON_SIZE, 10 * 1_081_493)
        self.assertEqual(coalesced.MAX_TABLE_ENTRIES, 0xFFFF)
        self.assertEqual(coalesced.MAX_NAME_LENGTH, 0xFFFF)
        self.assertEqual(coalesced.MAX_SYMBOL, 0xFF)


class BenchmarkSampleTests(SynchronousTestCase):
    """
    The benchmark's generated sample has the shape it claims.
    """

    def test_shape(self) -> None:
        """
        7 files, 333 sections, 942 properties, 3,969 values, about 1 MB of
        JSON; it compiles and parses back to itself (it is canonical
        neither in order nor required to be, so compare canonically).
        """
        from benchmarks import gamedata

        model = gamedata.sampleModel()
        sections = [s for f in model.files for s in f.sections]
        properties = [p for s in sections for p in s.properties]
        values = [v for p in properties for v in p.values]
        self.assertEqual(
            (len(model.files), len(sections), len(properties), len(values)),
            (7, 333, 942, 3969),
        )
        self.assertTrue(1_000_000 < len(gamedata.sampleJson()) < 1_150_000)
        binary = serializeBinary(parseJson(gamedata.sampleJson()))
        self.assertEqual(parseBinary(binary), canonical(model))

    def test_main(self) -> None:
        """
        A default run of the benchmark records the sample size, the compile
        time (within its target) and the parse time, and succeeds.
        """
        import contextlib
        import io

        from benchmarks import gamedata

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = gamedata.main([])
        self.assertEqual(code, 0, out.getvalue())
        for name in ("JSON size", "compile 1 MB coalesced.json", "parse binary"):
            self.assertIn(name, out.getvalue())
