# -*- test-case-name: tests.test_tlk -*-
"""
Tests for L{pocketrelay.me3.tlk}.  All data is made here; none of it is
EA's.
"""

from __future__ import annotations

import json
import struct

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.me3 import tlk
from pocketrelay.me3.huffman import Tree, bitString
from pocketrelay.me3.tlk import (
    MAX_TLK_JSON_SIZE,
    MAX_TLK_SIZE,
    TalkFile,
    TalkString,
    TlkError,
    canonical,
    parseTlk,
    serializeTlk,
    tlkFromJson,
    tlkToJson,
)
from pocketrelay.testing.strategies import codecSettings, mutated, talkFiles

#: The 53-byte worked example of game-data-formats.md section 5.4.
EXAMPLE = bytes.fromhex(
    "546c6b000300000002000000010000000000000002000000010000000100000000000000"
    "ffffffff0100000097ffffff96ffffff0d"
)

_HEADER = struct.Struct("<4s6I")


def _corrupt(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def assemble(
    refs: list[tuple[int, int]],
    pairs: list[tuple[int, int]],
    data: bytes,
    female: int = 0,
) -> bytes:
    """
    A talk file built by hand: the last C{female} refs are female.
    """
    header = _HEADER.pack(
        b"Tlk\0", 3, 2, len(refs) - female, female, len(pairs), len(data)
    )
    return (
        header
        + b"".join(struct.pack("<II", *ref) for ref in refs)
        + b"".join(struct.pack("<ii", *pair) for pair in pairs)
        + data
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

    def test_serialize(self) -> None:
        """
        The example's model serializes to the same header, the same ref,
        two pairs with the root first and one data byte; it parses back.
        """
        model = parseTlk(EXAMPLE)
        data = serializeTlk(model)
        self.assertEqual(len(data), 53)
        self.assertEqual(data[:0x24], EXAMPLE[:0x24])
        self.assertEqual(parseTlk(data), model)


class RoundTripTests(SynchronousTestCase):
    """
    Generated talk files survive both encodings.
    """

    @codecSettings(150)
    @given(talkFiles())
    def test_binary(self, talk: TalkFile) -> None:
        """
        C{parseTlk(serializeTlk(t)) == canonical(t)}; deterministic; the
        length matches the header; strings are back to back from bit 0,
        male then female, sorted by id; the tree's root is node 0.
        """
        data = serializeTlk(talk)
        self.assertEqual(parseTlk(data), canonical(talk))
        self.assertEqual(serializeTlk(talk), data)
        self.assertEqual(serializeTlk(canonical(talk)), data)
        _, version, minVersion, male, female, nodes, length = _HEADER.unpack_from(data)
        self.assertEqual(len(data), 28 + 8 * (male + female + nodes) + length)
        self.assertEqual((version, minVersion), (talk.version, talk.minVersion))
        refs = struct.unpack_from(f"<{2 * (male + female)}I", data, 28)
        ids = refs[0::2]
        self.assertEqual(list(ids[:male]), sorted(s.id for s in talk.male))
        self.assertEqual(list(ids[male:]), sorted(s.id for s in talk.female))
        treeAt = 28 + 8 * (male + female)
        flat = struct.unpack_from(f"<{2 * nodes}i", data, treeAt)
        tree = Tree(list(zip(flat[0::2], flat[1::2], strict=True)), 0, 0xFFFF)
        bits = bitString(data[treeAt + 8 * nodes :])
        position = 0
        for offset in refs[1::2]:
            self.assertEqual(offset, position)
            _, position = tree.decode(bits, offset, len(bits), len(bits))
        self.assertEqual((position + 7) // 8, length)
        self.assertEqual(bits[position:], "0" * (len(bits) - position))

    @codecSettings(100)
    @given(talkFiles())
    def test_json(self, talk: TalkFile) -> None:
        """
        C{tlkFromJson(tlkToJson(t)) == t}, order kept; deterministic.
        """
        text = tlkToJson(talk)
        self.assertEqual(tlkFromJson(text), talk)
        self.assertEqual(tlkToJson(talk), text)

    def test_unicode(self) -> None:
        """
        Characters above U+FFFF take two code units and come back whole;
        a lone surrogate comes back as it was; the JSON stays UTF-8 and
        readable unless a lone surrogate forces escapes.
        """
        talk = TalkFile([TalkString(1, "日本語 ™ 😀"), TalkString(2, "x\ud800y")])
        self.assertEqual(parseTlk(serializeTlk(talk)), talk)
        data = serializeTlk(TalkFile([TalkString(1, "😀")]))
        # Two surrogate units and the terminator: three symbols, two nodes.
        self.assertEqual(struct.unpack_from("<I", data, 20), (2,))
        readable = tlkToJson(TalkFile([TalkString(1, "日本語")]))
        self.assertIn("日本語".encode(), readable)
        escaped = tlkToJson(talk)
        self.assertIn(b"\\ud800", escaped)
        self.assertEqual(tlkFromJson(escaped), talk)

    def test_surrogatePairsJoined(self) -> None:
        """
        A text holding a surrogate pair as two characters is the same as one
        holding the character they encode, so it survives the file.
        """
        self.assertEqual(TalkString(1, "\ud83d\ude00a").text, "😀a")
        self.assertEqual(TalkString(1, "\ude00\ud83d").text, "\ude00\ud83d")
        talk = TalkFile([TalkString(1, "\ud83d\ude00")])
        self.assertEqual(parseTlk(serializeTlk(talk)), talk)

    def test_empty(self) -> None:
        """
        A talk file without strings has one tree node and no data.
        """
        data = serializeTlk(TalkFile())
        self.assertEqual(len(data), 28 + 8)
        self.assertEqual(parseTlk(data), TalkFile())

    def test_jsonSchema(self) -> None:
        """
        The JSON form is C{version}, C{minVersion}, C{male} and C{female}
        lists of C{{id, text}}; version fields and lists may be left out.
        """
        talk = TalkFile([TalkString(7, "a")], [TalkString(7, "b")], 3, 2)
        self.assertEqual(
            json.loads(tlkToJson(talk)),
            {
                "version": 3,
                "minVersion": 2,
                "male": [{"id": 7, "text": "a"}],
                "female": [{"id": 7, "text": "b"}],
            },
        )
        self.assertEqual(
            tlkFromJson(b'{"male": [{"id": 7, "text": "a"}]}'),
            TalkFile([TalkString(7, "a")]),
        )


class BinaryErrorTests(SynchronousTestCase):
    """
    Malformed talk files are refused with a TlkError naming the offset.
    """

    def assertError(self, data: bytes, offset: int | None, *words: str) -> None:
        e = self.assertRaises(TlkError, parseTlk, data)
        self.assertEqual(e.offset, offset, str(e))
        for word in words:
            self.assertIn(word, str(e))

    def test_header(self) -> None:
        """
        A wrong magic, a short header, counts that do not add up to the
        length, input above the limit.
        """
        self.assertError(b"Tlk\1" + EXAMPLE[4:], 0, "b'Tlk\\x01'")
        self.assertError(EXAMPLE[:27], 27, "header")
        self.assertError(EXAMPLE + b"\0", 53, "53")
        self.assertError(_corrupt(EXAMPLE, 12, "<I", 1000), 53, "make")
        self.assertError(b"Tlk\0" + bytes(MAX_TLK_SIZE), MAX_TLK_SIZE, "limit")
        tooMany = _corrupt(EXAMPLE, 16, "<I", tlk.MAX_STRINGS + 1)
        self.assertError(tooMany, 16, "female strings")

    def test_everyTruncation(self) -> None:
        """
        Every prefix of a valid talk file is refused.
        """
        for length in range(len(EXAMPLE)):
            self.assertRaises(TlkError, parseTlk, EXAMPLE[:length])

    def test_tree(self) -> None:
        """
        A child outside the tree, a cycle, strings without a tree.
        """
        self.assertError(_corrupt(EXAMPLE, 0x28, "<i", 2), 0x24, "outside")
        self.assertError(_corrupt(EXAMPLE, 0x28, "<i", 0), 0x24, "already")
        noTree = assemble([(1, 0)], [], b"\x0d")
        self.assertError(noTree, 0x24, "no Huffman tree")

    def test_strings(self) -> None:
        """
        A bit offset past the data, a string without a terminator.
        """
        self.assertError(_corrupt(EXAMPLE, 0x20, "<I", 8), 0x20, "past the 8 bits")
        unterminated = assemble([(1, 0)], [(-1, 1), (-105, -106)], b"\xff")
        self.assertError(unterminated, 0x20, "without a terminator")

    def test_sharedAndOverlapping(self) -> None:
        """
        Two refs at the same bits share the text; refs into the middle of
        one long text, decoding far more than the data holds, are refused.
        """
        shared = assemble([(1, 0), (2, 0)], [(-1, 1), (-105, -106)], b"\x0d")
        self.assertEqual(
            parseTlk(shared), TalkFile([TalkString(1, "hi"), TalkString(2, "hi")])
        )
        count = 200
        longText = b"\xff" * 2000 + b"\x00"  # 'a' is bit 1, NUL bit 0
        refs = [(i, i) for i in range(count)]
        data = assemble(refs, [(-1, -98)], longText)
        e = self.assertRaises(TlkError, parseTlk, data)
        self.assertIn("overlap", str(e))

    def test_female(self) -> None:
        """
        Refs after the male count are the female list.
        """
        data = assemble([(1, 0), (1, 0)], [(-1, 1), (-105, -106)], b"\x0d", female=1)
        self.assertEqual(
            parseTlk(data), TalkFile([TalkString(1, "hi")], [TalkString(1, "hi")])
        )

    @codecSettings(300)
    @given(st.binary(max_size=200))
    def test_randomBytes(self, data: bytes) -> None:
        """
        Random bytes, with or without the magic, are a talk file or a
        TlkError.
        """
        for candidate in (data, b"Tlk\0" + data):
            try:
                parseTlk(candidate)
            except TlkError:
                pass

    @codecSettings(300)
    @given(st.data())
    def test_mutated(self, data: st.DataObject) -> None:
        """
        A valid talk file with a few bytes changed is a talk file (which
        then serializes, or is refused cleanly) or a TlkError.
        """
        source = serializeTlk(data.draw(talkFiles(4)))
        try:
            talk = parseTlk(data.draw(mutated(source)))
        except TlkError:
            return
        try:
            again = serializeTlk(talk)
        except TlkError:
            return
        self.assertEqual(parseTlk(again), canonical(talk))


class SerializeErrorTests(SynchronousTestCase):
    """
    Models a talk file cannot hold are refused.
    """

    def assertRefused(self, talk: TalkFile, *words: str) -> None:
        e = self.assertRaises(TlkError, serializeTlk, talk)
        for word in words:
            self.assertIn(word, str(e))

    def test_refused(self) -> None:
        """
        A repeated id, an id or version outside 32 bits, a text with
        U+0000, a non-text, too many strings.
        """
        self.assertRefused(TalkFile([TalkString(1, "a"), TalkString(1, "b")]), "id 1")
        self.assertRefused(TalkFile([TalkString(-1, "a")]), "-1")
        self.assertRefused(TalkFile([TalkString(2**32, "a")]), str(2**32))
        self.assertRefused(TalkFile(version=-1), "version")
        self.assertRefused(TalkFile([TalkString(1, "a\0")]), "U+0000")
        self.assertRefused(TalkFile([TalkString(1, None)]), "no text")  # type: ignore[arg-type]
        many = [TalkString(i, "") for i in range(tlk.MAX_STRINGS + 1)]
        self.assertRefused(TalkFile(many), "more than")
        self.assertRefused(TalkFile(female=many), "more than")


class JsonErrorTests(SynchronousTestCase):
    """
    Malformed JSON talk files are refused naming the path or offset.
    """

    def assertError(self, data: bytes, *words: str) -> TlkError:
        e = self.assertRaises(TlkError, tlkFromJson, data)
        for word in words:
            self.assertIn(word, str(e))
        return e

    def test_errors(self) -> None:
        """
        Each structural problem names its JSON path; syntax errors their
        offset.
        """
        self.assertError(b"[]", "$", "object")
        self.assertError(b'{"male": {}}', "$.male", "array")
        self.assertError(b'{"male": [1]}', "$.male[0]", "object")
        self.assertError(b'{"male": [{"id": 1}]}', "$.male[0].text", "string")
        self.assertError(
            b'{"male": [{"id": 1, "text": "a\\u0000"}]}', "$.male[0].text", "U+0000"
        )
        self.assertError(
            b'{"female": [{"id": -1, "text": ""}]}', "$.female[0].id", "integer"
        )
        self.assertError(b'{"male": [{"id": true, "text": ""}]}', "$.male[0].id")
        self.assertError(b'{"version": 1.5}', "$.version")
        e = self.assertError(b'{"male": [,]}', "line 1 column 11")
        self.assertEqual(e.offset, 10)
        e = self.assertError(b" " * (MAX_TLK_JSON_SIZE + 1), "limit")
        self.assertEqual(e.offset, MAX_TLK_JSON_SIZE)

    @codecSettings(200)
    @given(st.data())
    def test_mutatedJson(self, data: st.DataObject) -> None:
        """
        Damaged JSON is a talk file or a TlkError.
        """
        source = tlkToJson(data.draw(talkFiles(3)))
        try:
            tlkFromJson(data.draw(mutated(source, 6)))
        except TlkError:
            pass
