# -*- test-case-name: tests.test_tdf -*-

"""
Tests for L{pocketrelay.blaze.tdf}: the published test vectors, declared
structs, Hypothesis round-trips and robustness against damaged input.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.blaze import frames, tdf
from pocketrelay.blaze.tdf import (
    DecodeContext,
    ListValue,
    MapValue,
    Member,
    ObjectId,
    ObjectType,
    StructValue,
    TdfDecodeError,
    TdfEncodeError,
    TdfType,
    UnionValue,
    VariableValue,
)
from pocketrelay.me3.messages.gamemanager import ReplicatedGameData
from pocketrelay.me3.version import (
    PROTOCOL_VERSION_HASH,
    VERSION_STRING,
    protocolVersionHash,
)
from pocketrelay.testing import strategies as S
from pocketrelay.testing.environment import unavailable

_VECTORS_FILE = FilePath(__file__).sibling("data").child("tdf-vectors.json")

_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)
_FUZZ = settings(_SETTINGS, max_examples=400)


def _vectors() -> dict[str, bytes]:
    entries = json.loads(_VECTORS_FILE.getContent())
    return {entry["id"]: bytes.fromhex(entry["hex"]) for entry in entries}


def _meanings() -> dict[str, str]:
    entries = json.loads(_VECTORS_FILE.getContent())
    return {entry["id"]: entry["meaning"] for entry in entries}


def _header(tag: str, code: TdfType) -> bytes:
    return tdf.encodeTag(tag) + bytes([code])


def _body(*members: Member) -> bytes:
    """
    Encode members in the order given (L{tdf.encodeStruct} would sort).
    """
    return b"".join(tdf.encodeStruct([m]) for m in members)


def _nestedStructs(depth: int) -> StructValue:
    value = StructValue()
    for _ in range(depth):
        value = StructValue((Member("S", TdfType.STRUCT, value),))
    return value


# ---------------------------------------------------------------------------
# Declared structs used by several tests


@tdf.tdfStruct
@attrs.define
class ServerInstanceRequest:
    """
    Redirector.getServerInstance request (blaze-wire.md section 5.1).
    """

    blazeSdk: str = tdf.member("BSDK", tdf.Str)
    buildTime: str = tdf.member("BTIM", tdf.Str)
    client: str = tdf.member("CLNT", tdf.Str)
    clientType: int = tdf.member("CLTP", tdf.Int)
    sku: str = tdf.member("CSKU", tdf.Str)
    clientVersion: str = tdf.member("CVER", tdf.Str)
    dirtySdk: str = tdf.member("DSDK", tdf.Str)
    environment: str = tdf.member("ENV", tdf.Str)
    firstPartyId: tdf.Choice = tdf.member("FPID", tdf.UnionOf({}))
    locale: int = tdf.member("LOC", tdf.UInt)
    name: str = tdf.member("NAME", tdf.Str)
    platform: str = tdf.member("PLAT", tdf.Str)
    profile: str = tdf.member("PROF", tdf.Str)


@tdf.tdfStruct
@attrs.define
class DatalessSetupContext:
    """
    The context of a game setup without matchmaking data.
    """

    context: int = tdf.member("DCTX", tdf.Int)


@tdf.tdfStruct
@attrs.define
class GameSetupReasonHolder:
    """
    A struct holding the C{REAS} union of NotifyGameSetup.
    """

    reason: tdf.Choice = tdf.member(
        "REAS", tdf.UnionOf({0: tdf.StructOf(DatalessSetupContext)})
    )


@tdf.tdfStruct
@attrs.define
class Reversed:
    """
    Members declared in descending tag order.
    """

    zulu: int = tdf.member("ZULU", tdf.Int)
    mike: str = tdf.member("MIKE", tdf.Str)
    alpha: int = tdf.member("A", tdf.Int)


@tdf.tdfStruct
@attrs.define
class Small:
    """
    Three known members with room for unknown ones around them.
    """

    bravo: int = tdf.member("B", tdf.Int, default=-1)
    mike: str = tdf.member("M", tdf.Str, default="unset")
    tango: list[int] = tdf.member("T", tdf.ListOf(tdf.Int))


@tdf.tdfStruct
@attrs.define
class Defaults:
    """
    One member of each kind, all at their defaults.
    """

    i: int = tdf.member("I", tdf.Int)
    s: str = tdf.member("S", tdf.Str)
    b: bytes = tdf.member("B", tdf.Blob)
    g: StructValue = tdf.member("G", tdf.GenericStruct)
    l: list[int] = tdf.member("L", tdf.ListOf(tdf.Int))  # noqa: E741 (the tag)
    m: dict[str, int] = tdf.member("M", tdf.MapOf(tdf.Str, tdf.Int))
    u: tdf.Choice = tdf.member("U", tdf.UnionOf({0: tdf.Int}))
    v: Any = tdf.member("V", tdf.Var)
    p: ObjectType = tdf.member("P", tdf.ObjType)
    q: ObjectId = tdf.member("Q", tdf.ObjId)
    f: float = tdf.member("F", tdf.Float)


@tdf.tdfStruct
@attrs.define
class Hosts:
    """
    A struct holding an C{HNET} list of network addresses.
    """

    hosts: list[tdf.Choice] = tdf.member("HNET", tdf.ListOf(S.NETWORK_ADDRESS))


@tdf.tdfStruct
@attrs.define
class Report:
    """
    A type-7 member followed by another member.
    """

    game: Any = tdf.member("GAME", tdf.Var)
    after: int = tdf.member("GRID", tdf.Int)


@tdf.tdfStruct
@attrs.define
class Nothing:
    """
    A struct with no members: everything is unknown to it.
    """


@tdf.tdfStruct
@attrs.define
class Holder:
    """
    A struct with one schema-less struct member.
    """

    generic: StructValue = tdf.member("GEN", tdf.GenericStruct)


# ---------------------------------------------------------------------------
# Test vectors


_TAG_VECTORS = re.compile(r"^T\d")
_VARINT_VECTORS = {
    "V3": 4294967295,
    "SM-neg1": -1,
    "SM-neg5": -5,
    "SM-neg63": -63,
    "SM-64": 64,
    "SM-30722": 30722,
    "SM-i64min": tdf.INT64_MIN,
}
_MEMBER_VECTORS: dict[str, Member] = {
    "V2": Member("VALU", TdfType.INT, 1337),
    "S1": Member("VALU", TdfType.STRING, "Hello, World!"),
    "S2": Member("TEST", TdfType.STRING, ""),
    "B1": Member("BLOB", TdfType.BLOB, b"\xde\xad\xbe\xef"),
    "B2": Member("TEST", TdfType.BLOB, b""),
    "G1": Member(
        "STRC",
        TdfType.STRUCT,
        StructValue(
            (
                Member("INT", TdfType.INT, 42),
                Member("STR", TdfType.STRING, "Nested struct"),
            )
        ),
    ),
    "G2": Member("TEST", TdfType.STRUCT, StructValue()),
    "L1": Member("TEST", TdfType.LIST, ListValue(TdfType.INT, ())),
    "M1": Member("TEST", TdfType.MAP, MapValue(TdfType.STRING, TdfType.INT, ())),
    "U1": Member("TEST", TdfType.UNION, UnionValue()),
    "U2": Member("TEST", TdfType.UNION, UnionValue(5, Member("TEST", TdfType.INT, 15))),
    "X1": Member("TEST", TdfType.VARIABLE, None),
    "P1": Member("TEST", TdfType.OBJECT_TYPE, ObjectType(5, 10)),
    "P2": Member("TEST", TdfType.OBJECT_ID, ObjectId(5, 10, 50)),
    "D9": Member(
        "REAS",
        TdfType.UNION,
        UnionValue(
            0,
            Member(
                "VALU",
                TdfType.STRUCT,
                StructValue((Member("DCTX", TdfType.INT, 0),)),
            ),
        ),
    ),
}
_VALUE_VECTORS: dict[str, tuple[TdfType, Any]] = {
    "P3-type": (TdfType.OBJECT_TYPE, ObjectType(0x7802, 1)),
    "P3-id": (TdfType.OBJECT_ID, ObjectId(0x7802, 1, 18)),
    "F1-123.0": (TdfType.FLOAT, 123.0),
    "F1-254.0": (TdfType.FLOAT, 254.0),
    "F1-1.0": (TdfType.FLOAT, 1.0),
    "F1-neg3.0": (TdfType.FLOAT, -3.0),
}
#: (component, command, type, seq, error, body members)
_FRAME_VECTORS: dict[
    str, tuple[int, int, frames.MessageType, int, int, tuple[Member, ...]]
] = {
    "D3": (9, 2, frames.MessageType.REQUEST, 1, 0, ()),
    "D4": (
        9,
        2,
        frames.MessageType.REPLY,
        1,
        0,
        (Member("STIM", TdfType.INT, 1700000000),),
    ),
    "D5": (1, 0x28, frames.MessageType.ERROR_REPLY, 5, 0x0B, ()),
    "D6": (
        4,
        0x1E,
        frames.MessageType.NOTIFICATION,
        0,
        0,
        (Member("GID", TdfType.INT, 1), Member("PID", TdfType.INT, 2)),
    ),
}


class VectorTests(SynchronousTestCase):
    """
    Every vector of C{tests/data/tdf-vectors.json} decodes to its meaning and
    encodes back to the same bytes.
    """

    def setUp(self) -> None:
        self.vectors = _vectors()

    def test_copyIsCurrent(self) -> None:
        """
        The vectors in the repository match the reference copy in shared
        docs, when that is present.
        """
        reference = (
            FilePath(__file__)
            .parent()
            .parent()
            .parent()
            .preauthChild("shared/docs/reference/tdf-vectors.json")
        )
        if not reference.exists():
            unavailable("no shared/ reference copy beside the repository")
        self.assertEqual(
            json.loads(reference.getContent()), json.loads(_VECTORS_FILE.getContent())
        )

    def test_everyVectorIsCovered(self) -> None:
        """
        Every vector id belongs to a group one of these tests checks, so a
        vector added to the file cannot go untested unnoticed.
        """
        covered = set()
        for ident in self.vectors:
            if (
                _TAG_VECTORS.match(ident)
                or ident.startswith("V1-")
                or ident in _VARINT_VECTORS
                or ident in _MEMBER_VECTORS
                or ident in _VALUE_VECTORS
                or ident in _FRAME_VECTORS
                or ident in ("V4", "D2", "H1")
            ):
                covered.add(ident)
        self.assertEqual(set(self.vectors) - covered, set())
        self.assertGreater(len(self.vectors), 60)

    def test_tags(self) -> None:
        """
        Each C{T*} vector is the 3-byte form of the label in its meaning,
        both ways.
        """
        meanings = _meanings()
        seen = 0
        for ident, raw in self.vectors.items():
            if not _TAG_VECTORS.match(ident):
                continue
            match = re.match(r"tag ([A-Z0-9]+)", meanings[ident])
            assert match is not None, ident
            label = match.group(1)
            self.assertEqual(tdf.decodeTag(raw), label, ident)
            self.assertEqual(tdf.encodeTag(label), raw, ident)
            seen += 1
        self.assertEqual(seen, 13)

    def test_unsignedVarints(self) -> None:
        """
        Each C{V1-N} vector decodes to N and N encodes to exactly those
        bytes.
        """
        seen = 0
        for ident, raw in self.vectors.items():
            if not ident.startswith("V1-"):
                continue
            value = int(ident[3:])
            self.assertEqual(tdf.decodeVarint(raw, 0), (value, len(raw)), ident)
            self.assertEqual(tdf.encodeVarint(value), raw, ident)
            seen += 1
        self.assertEqual(seen, 14)

    def test_signMagnitudeVarints(self) -> None:
        """
        V3 and the C{SM-*} vectors (sign-magnitude negatives, i64::MIN as a
        lone C{40}) decode and encode byte-exactly.
        """
        for ident, value in _VARINT_VECTORS.items():
            raw = self.vectors[ident]
            self.assertEqual(tdf.decodeVarint(raw, 0), (value, len(raw)), ident)
            self.assertEqual(tdf.encodeVarint(value), raw, ident)

    def test_twosComplementContrast(self) -> None:
        """
        V4 is the TDF crate's two's-complement -5: this codec writes -5 as
        C{45}, never as V4, and reads V4 as the unsigned value it spells.
        """
        v4 = self.vectors["V4"]
        self.assertEqual(tdf.encodeVarint(-5), b"\x45")
        self.assertNotEqual(tdf.encodeVarint(-5), v4)
        self.assertEqual(tdf.decodeVarint(v4, 0), (2**64 - 5, 10))

    def test_members(self) -> None:
        """
        Each member vector decodes with L{tdf.decodeStruct} to its meaning
        and re-encodes byte-exactly with L{tdf.encodeStruct}.
        """
        for ident, expected in _MEMBER_VECTORS.items():
            raw = self.vectors[ident]
            ctx = DecodeContext()
            decoded = tdf.decodeStruct(raw, ctx)
            self.assertEqual(decoded, StructValue((expected,)), ident)
            self.assertEqual(ctx.anomalies, [], ident)
            self.assertEqual(tdf.encodeStruct(decoded), raw, ident)

    def test_valueBytes(self) -> None:
        """
        The object type/id and float vectors are value bytes only: behind a
        member header they decode to their meaning and encode back exactly.
        """
        for ident, (code, value) in _VALUE_VECTORS.items():
            raw = _header("TEST", code) + self.vectors[ident]
            decoded = tdf.decodeStruct(raw)
            self.assertEqual(decoded["TEST"], value, ident)
            self.assertEqual(tdf.encodeStruct(decoded), raw, ident)

    def test_objectTypeVarints(self) -> None:
        """
        P3-type and P3-id are two and three varints in a row.
        """
        raw = self.vectors["P3-id"]
        component, pos = tdf.decodeVarint(raw, 0)
        kind, pos = tdf.decodeVarint(raw, pos)
        ident, pos = tdf.decodeVarint(raw, pos)
        self.assertEqual((component, kind, ident, pos), (0x7802, 1, 18, len(raw)))
        self.assertEqual(
            self.vectors["P3-type"], tdf.encodeVarint(0x7802) + tdf.encodeVarint(1)
        )

    def test_declaredValueVectors(self) -> None:
        """
        The declared kinds read and write the object and float vectors too.
        """

        @tdf.tdfStruct
        @attrs.define
        class Values:
            objType: ObjectType = tdf.member("OTYP", tdf.ObjType)
            objId: ObjectId = tdf.member("OID", tdf.ObjId)
            ratio: float = tdf.member("RATE", tdf.Float)

        raw = (
            _header("OID", TdfType.OBJECT_ID)
            + self.vectors["P3-id"]
            + _header("OTYP", TdfType.OBJECT_TYPE)
            + self.vectors["P3-type"]
            + _header("RATE", TdfType.FLOAT)
            + self.vectors["F1-neg3.0"]
        )
        value = tdf.decode(Values, raw)
        self.assertEqual(
            value, Values(ObjectType(0x7802, 1), ObjectId(0x7802, 1, 18), -3.0)
        )
        self.assertEqual(tdf.encode(value), raw)

    def test_gameSetupReason(self) -> None:
        """
        D9 decodes with a declared union to index 0 carrying a
        DatalessSetupContext, and encodes back exactly.
        """
        raw = self.vectors["D9"]
        value = tdf.decode(GameSetupReasonHolder, raw)
        self.assertEqual(value.reason, tdf.Choice(0, DatalessSetupContext(0)))
        self.assertEqual(tdf.encode(value), raw)

    def test_gpvh(self) -> None:
        """
        H1 is the GPVH protocol-version hash as a big-endian u64 (not TDF
        bytes): the hash of the version string its meaning quotes, which is
        ME3's version string, and the C{GPVH} every game carries on the
        wire as a TDF integer.
        """
        raw = self.vectors["H1"]
        match = re.search(r'hash of "([^"]+)"', _meanings()["H1"])
        assert match is not None
        self.assertEqual(match.group(1), VERSION_STRING)
        hashed = protocolVersionHash(match.group(1))
        self.assertEqual(hashed.to_bytes(8, "big"), raw)
        self.assertEqual(int.from_bytes(raw, "big"), PROTOCOL_VERSION_HASH)
        game = ReplicatedGameData()
        self.assertEqual(game.protocolVersionHash, int.from_bytes(raw, "big"))
        generic = tdf.decodeStruct(tdf.encode(game))
        self.assertEqual(generic["GPVH"], int.from_bytes(raw, "big"))

    def test_frames(self) -> None:
        """
        D3 to D6 are whole frames: header fields as described, bodies
        decode, and both frame and body re-encode byte-exactly.
        """
        for ident, (
            component,
            command,
            kind,
            seq,
            error,
            body,
        ) in _FRAME_VECTORS.items():
            raw = self.vectors[ident]
            frame = frames.parseFrame(raw)
            self.assertEqual(
                (frame.component, frame.command, frame.type, frame.seq, frame.error),
                (component, command, kind, seq, error),
                ident,
            )
            self.assertEqual(frame.encode(), raw, ident)
            decoded = tdf.decodeStruct(frame.body)
            self.assertEqual(decoded, StructValue(body), ident)
            self.assertEqual(tdf.encodeStruct(decoded), frame.body, ident)

    def test_getServerInstanceFrame(self) -> None:
        """
        D2 is a Redirector.getServerInstance request whose 187-byte body
        carries the ME3 client's fields; generic and declared decoding
        agree and both re-encode byte-exactly.
        """
        raw = self.vectors["D2"]
        frame = frames.parseFrame(raw)
        self.assertEqual(
            (frame.component, frame.command, frame.type, frame.seq, frame.error),
            (5, 1, frames.MessageType.REQUEST, 0, 0),
        )
        self.assertEqual(len(frame.body), 187)
        self.assertEqual(frame.encode(), raw)

        body = tdf.decodeStruct(frame.body)
        self.assertEqual(body["CLNT"], "MassEffect3-pc")
        self.assertEqual(body["LOC"], 0x656E4E5A)
        self.assertEqual(body["FPID"], UnionValue())
        self.assertEqual(body["BSDK"], "3.15.6.0")
        self.assertEqual(body["PROF"], "standardSecure_v3")
        self.assertEqual(
            [m.tag for m in body.members],
            "BSDK BTIM CLNT CLTP CSKU CVER DSDK ENV FPID LOC NAME PLAT PROF".split(),
        )
        self.assertEqual(tdf.encodeStruct(body), frame.body)

        ctx = DecodeContext()
        request = tdf.decode(ServerInstanceRequest, frame.body, ctx)
        self.assertEqual(ctx.anomalies, [])
        self.assertEqual(request.client, "MassEffect3-pc")
        self.assertEqual(request.locale, 0x656E4E5A)
        self.assertEqual(request.buildTime, "Dec 21 2012 12:47:10")
        self.assertFalse(request.firstPartyId.isSet)
        self.assertEqual(tdf.encode(request), frame.body)


# ---------------------------------------------------------------------------
# Tags and varints


class TagTests(SynchronousTestCase):
    """
    L{tdf.encodeTag} and L{tdf.decodeTag}.
    """

    @_SETTINGS
    @given(S.tags())
    def test_roundTrip(self, label: str) -> None:
        """
        Every valid label survives encoding to 3 bytes and back.
        """
        raw = tdf.encodeTag(label)
        self.assertEqual(len(raw), 3)
        self.assertEqual(tdf.decodeTag(raw), label)

    @_SETTINGS
    @given(S.tags(), S.tags())
    def test_orderIsAlphabetical(self, a: str, b: str) -> None:
        """
        The numeric order of encoded tags is the alphabetical order of the
        labels, shorter labels first.
        """
        self.assertEqual(tdf.encodeTag(a) < tdf.encodeTag(b), a < b)

    @_SETTINGS
    @given(S.invalidTags())
    def test_invalidLabels(self, label: str) -> None:
        """
        Empty, too long, lowercase or punctuated labels raise
        L{TdfEncodeError}.
        """
        self.assertRaises(TdfEncodeError, tdf.encodeTag, label)

    def test_invalidLabelExamples(self) -> None:
        """
        A few hand-picked invalid labels raise L{TdfEncodeError}, also when
        used to declare a member.
        """
        for label in ("", "test", "Test", "ABCDE", "A-B", "A B", "É", "A.", "\0"):
            self.assertRaises(TdfEncodeError, tdf.encodeTag, label)
            self.assertRaises(TdfEncodeError, tdf.member, label, tdf.Int)

    def test_invalidBytes(self) -> None:
        """
        Bytes that no valid label encodes to raise L{TdfDecodeError} with
        the offset given.
        """
        for raw in (
            b"\x00\x00\x00",  # empty label
            b"\x04\x00\x00",  # '!' is not allowed
            b"\x84\x00\x21",  # a character after the padding
            b"\xff\xff\xff",
            b"\x84\x00",  # too short
        ):
            error = self.assertRaises(TdfDecodeError, tdf.decodeTag, raw, 7)
            self.assertEqual(error.offset, 7)

    @_FUZZ
    @given(st.binary(min_size=3, max_size=3))
    def test_anyThreeBytes(self, raw: bytes) -> None:
        """
        Any 3 bytes either decode to a label that encodes back to them, or
        raise L{TdfDecodeError}.
        """
        try:
            label = tdf.decodeTag(raw)
        except TdfDecodeError:
            return
        self.assertEqual(tdf.encodeTag(label), raw)


class VarintTests(SynchronousTestCase):
    """
    L{tdf.encodeVarint} and L{tdf.decodeVarint}.
    """

    @_FUZZ
    @given(S.varints())
    def test_roundTrip(self, value: int) -> None:
        """
        Every integer in C{[-2**63, 2**64 - 1]} round-trips in at most 10
        bytes, and a value below 64 in absolute size takes one byte.
        """
        raw = tdf.encodeVarint(value)
        self.assertLessEqual(len(raw), 10)
        self.assertEqual(tdf.decodeVarint(raw, 0), (value, len(raw)))
        self.assertEqual(
            tdf.decodeVarint(b"junk" + raw + b"more", 4), (value, 4 + len(raw))
        )
        if -64 < value < 64:
            self.assertEqual(len(raw), 1)

    @_SETTINGS
    @given(st.integers(1, tdf.INT64_MAX))
    def test_signMagnitude(self, magnitude: int) -> None:
        """
        A negative value is its magnitude's encoding with the sign bit 0x40
        of the first byte set.
        """
        positive = tdf.encodeVarint(magnitude)
        negative = tdf.encodeVarint(-magnitude)
        self.assertEqual(negative[0], positive[0] | 0x40)
        self.assertEqual(negative[1:], positive[1:])

    @_SETTINGS
    @given(S.outOfRangeInts())
    def test_outOfRange(self, value: int) -> None:
        """
        Integers outside the 64-bit range raise L{TdfEncodeError}, also as
        the value of an integer member.
        """
        self.assertRaises(TdfEncodeError, tdf.encodeVarint, value)
        self.assertRaises(
            TdfEncodeError, tdf.encodeStruct, [Member("I", TdfType.INT, value)]
        )
        self.assertRaises(TdfEncodeError, tdf.encode, Small(bravo=value))

    def test_notAnInteger(self) -> None:
        """
        Non-integers raise L{TdfEncodeError}; C{bool} counts as an integer.
        """
        for value in (1.5, "1", None, b"\x01"):
            self.assertRaises(TdfEncodeError, tdf.encodeVarint, value)
        self.assertEqual(tdf.encodeVarint(True), b"\x01")

    def test_truncated(self) -> None:
        """
        Input that ends inside a varint raises L{TdfDecodeError} at the
        varint's first byte.
        """
        for raw in (b"", b"\x80", b"\xff\xff\xff"):
            error = self.assertRaises(TdfDecodeError, tdf.decodeVarint, b"x" + raw, 1)
            self.assertEqual(error.offset, 1)

    def test_tooLong(self) -> None:
        """
        More than 10 bytes, or a value that does not fit 64 bits, raise
        L{TdfDecodeError}.
        """
        self.assertRaises(TdfDecodeError, tdf.decodeVarint, b"\xff" * 12 + b"\x00", 0)
        # 6 + 9 * 7 = 69 bits: anything above 2**64 - 1 is refused.
        self.assertRaises(
            TdfDecodeError, tdf.decodeVarint, b"\xbf" + b"\xff" * 8 + b"\x7f", 0
        )
        self.assertRaises(
            TdfDecodeError, tdf.decodeVarint, b"\xff" + b"\xff" * 8 + b"\x7f", 0
        )
        self.assertEqual(
            tdf.decodeVarint(b"\xbf" + b"\xff" * 8 + b"\x03", 0), (tdf.UINT64_MAX, 10)
        )

    def test_end(self) -> None:
        """
        C{end} limits how far a varint may be read.
        """
        self.assertRaises(TdfDecodeError, tdf.decodeVarint, b"\x80\x01", 0, 1)


# ---------------------------------------------------------------------------
# Generic round-trips


class GenericRoundTripTests(SynchronousTestCase):
    """
    The generic model: L{tdf.encodeStruct} and L{tdf.decodeStruct}.
    """

    @_SETTINGS
    @given(st.data())
    def test_everyType(self, data: st.DataObject) -> None:
        """
        A value of every TDF type (composites nesting two levels) decodes to
        its canonical form and re-encodes to the same bytes.
        """
        members = tuple(
            Member(f"T{int(code)}", code, data.draw(S.genericValues(code, 2)))
            for code in TdfType
        )
        raw = tdf.encodeStruct(members)
        decoded = tdf.decodeStruct(raw)
        self.assertEqual(decoded, S.canonical(StructValue(members)))
        self.assertEqual(tdf.encodeStruct(decoded), raw)

    @_SETTINGS
    @given(S.structValues(3))
    def test_nested(self, value: StructValue) -> None:
        """
        Structs of any members nesting three levels round-trip:
        C{encode(decode(encode(x))) == encode(x)} and C{decode(encode(x))}
        is x in canonical order.
        """
        raw = tdf.encodeStruct(value)
        ctx = DecodeContext()
        decoded = tdf.decodeStruct(raw, ctx)
        self.assertEqual(decoded, S.canonical(value))
        self.assertEqual(tdf.encodeStruct(decoded), raw)
        self.assertEqual(ctx.anomalies, [])

    @_SETTINGS
    @given(S.structValues(2), st.randoms(use_true_random=False))
    def test_orderDoesNotMatter(self, value: StructValue, rng: Any) -> None:
        """
        The encoding does not depend on the order of members given.
        """
        shuffled = list(value.members)
        rng.shuffle(shuffled)
        self.assertEqual(tdf.encodeStruct(shuffled), tdf.encodeStruct(value))

    @_SETTINGS
    @given(S.structValues(2))
    def test_nestedInStruct(self, value: StructValue) -> None:
        """
        A struct member's bytes are its body plus the C{00} terminator.
        """
        raw = tdf.encodeStruct([Member("OUT", TdfType.STRUCT, value)])
        self.assertEqual(
            raw, _header("OUT", TdfType.STRUCT) + tdf.encodeStruct(value) + b"\x00"
        )

    def test_stringMapOrder(self) -> None:
        """
        String keys are written in case-insensitive order, whatever the
        order given.
        """
        keys = ["ENT_100_param", "ENT_100_ID", "ENT_100_group", "ENT_100_entitlement"]
        value = MapValue(TdfType.STRING, TdfType.INT, tuple((k, 1) for k in keys))
        decoded = tdf.decodeStruct(
            tdf.encodeStruct([Member("MAP", TdfType.MAP, value)])
        )
        self.assertEqual(
            [k for k, _ in decoded["MAP"].items],
            ["ENT_100_entitlement", "ENT_100_group", "ENT_100_ID", "ENT_100_param"],
        )

    def test_unionInListForm(self) -> None:
        """
        A list of unions is written with element type struct and each
        element as index, struct body, C{00}; an unset element is C{7F}
        and the C{00} of its empty body.
        """
        body = StructValue((Member("A", TdfType.INT, 5),))
        value = ListValue(
            TdfType.UNION,
            (UnionValue(2, Member("VALU", TdfType.STRUCT, body)), UnionValue()),
        )
        raw = tdf.encodeStruct([Member("L", TdfType.LIST, value)])
        self.assertEqual(
            raw,
            _header("L", TdfType.LIST)
            + b"\x03\x02"
            + b"\x02"
            + _header("A", TdfType.INT)
            + b"\x05\x00"
            + b"\x7f\x00",
        )
        self.assertEqual(
            tdf.decodeStruct(raw)["L"],
            ListValue(TdfType.STRUCT, value.items),
        )

    def test_unionInListRefusals(self) -> None:
        """
        Inside a list a union must carry a struct, and its index can be
        neither 0 nor a byte that starts a member header.
        """
        body = StructValue((Member("A", TdfType.INT, 5),))
        for item in (
            UnionValue(0, Member("VALU", TdfType.STRUCT, body)),
            UnionValue(0x41, Member("VALU", TdfType.STRUCT, body)),
            UnionValue(0x67, Member("VALU", TdfType.STRUCT, body)),
            UnionValue(2, Member("VALU", TdfType.INT, 1)),
        ):
            value = ListValue(TdfType.UNION, (item,))
            self.assertRaises(
                TdfEncodeError, tdf.encodeStruct, [Member("L", TdfType.LIST, value)]
            )

    def test_variable(self) -> None:
        """
        A type-7 value is C{00} when absent; when present C{01}, the tdfId,
        a member and a C{00} terminator.
        """
        inner = Member(
            "GAME", TdfType.STRUCT, StructValue((Member("GRID", TdfType.INT, 7),))
        )
        present = tdf.encodeStruct(
            [Member("V", TdfType.VARIABLE, VariableValue(5, inner))]
        )
        self.assertEqual(
            present,
            _header("V", TdfType.VARIABLE)
            + b"\x01\x05"
            + _header("GAME", TdfType.STRUCT)
            + _header("GRID", TdfType.INT)
            + b"\x07\x00"
            + b"\x00",
        )
        self.assertEqual(tdf.decodeStruct(present)["V"], VariableValue(5, inner))
        absent = tdf.encodeStruct([Member("V", TdfType.VARIABLE, None)])
        self.assertEqual(absent, _header("V", TdfType.VARIABLE) + b"\x00")

    def test_variableWithoutTerminator(self) -> None:
        """
        A present type-7 value without its trailing C{00} is still read,
        at the end of the body or before another member, and noted.
        """
        inner = Member("X", TdfType.INT, 9)
        variable = (
            _header("V", TdfType.VARIABLE)
            + b"\x01\x05"
            + _header("X", TdfType.INT)
            + b"\x09"
        )
        for raw, rest in (
            (variable, ()),
            (
                variable + _header("W", TdfType.INT) + b"\x03",
                (Member("W", TdfType.INT, 3),),
            ),
        ):
            ctx = DecodeContext()
            decoded = tdf.decodeStruct(raw, ctx)
            self.assertEqual(
                decoded,
                StructValue(
                    (Member("V", TdfType.VARIABLE, VariableValue(5, inner)), *rest)
                ),
            )
            self.assertEqual(len(ctx.anomalies), 1)
            self.assertIn("terminator", ctx.anomalies[0])

    def test_outOfOrderNoted(self) -> None:
        """
        Members out of order are kept in wire order and noted.
        """
        raw = _body(Member("B", TdfType.INT, 1), Member("A", TdfType.INT, 2))
        ctx = DecodeContext()
        decoded = tdf.decodeStruct(raw, ctx)
        self.assertEqual([m.tag for m in decoded.members], ["B", "A"])
        self.assertEqual(len(ctx.anomalies), 1)
        self.assertIn("A is out of order", ctx.anomalies[0])

    def test_stringDecoding(self) -> None:
        """
        Strings lose their one terminating NUL; a string without one, or
        with bytes that are not UTF-8, still decodes and re-encodes to the
        same bytes.
        """
        for raw, text in (
            (b"\x03ab\x00", "ab"),
            (b"\x02ab", "ab"),
            (b"\x04a\x00\x00\x00", "a\x00\x00"),
            (b"\x03\xff\xfe\x00", "\udcff\udcfe"),
        ):
            body = _header("S", TdfType.STRING) + raw
            decoded = tdf.decodeStruct(body)
            self.assertEqual(decoded["S"], text)
        self.assertEqual(
            tdf.encodeStruct([Member("S", TdfType.STRING, "\udcff\udcfe")]),
            _header("S", TdfType.STRING) + b"\x03\xff\xfe\x00",
        )

    def test_encodeErrors(self) -> None:
        """
        Values the wire cannot carry raise L{TdfEncodeError}, never another
        exception.
        """
        bad = [
            Member("S", TdfType.STRING, "\ud800"),
            Member("S", TdfType.STRING, 5),
            Member("B", TdfType.BLOB, "text"),
            Member("F", TdfType.FLOAT, 1e300),
            Member("F", TdfType.FLOAT, "1"),
            Member("G", TdfType.STRUCT, {}),
            Member("L", TdfType.LIST, []),
            Member("M", TdfType.MAP, {}),
            Member(
                "M",
                TdfType.MAP,
                MapValue(TdfType.STRING, TdfType.INT, (("a", 1), (2, 3))),
            ),
            Member(
                "M", TdfType.MAP, MapValue(TdfType.INT, TdfType.INT, ((1, 1), ("a", 3)))
            ),
            Member("U", TdfType.UNION, 3),
            Member("U", TdfType.UNION, UnionValue(200, Member("A", TdfType.INT, 1))),
            Member("V", TdfType.VARIABLE, 3),
            Member("P", TdfType.OBJECT_TYPE, (1, 2)),
            Member("Q", TdfType.OBJECT_ID, ObjectType(1, 2)),
            Member("low", TdfType.INT, 1),
        ]
        for item in bad:
            self.assertRaises(TdfEncodeError, tdf.encodeStruct, [item])

    def test_objectKeysSorted(self) -> None:
        """
        Maps keyed by object types or ids, which a decoder may meet, encode
        in ascending key order.
        """
        value = MapValue(
            TdfType.OBJECT_TYPE,
            TdfType.INT,
            ((ObjectType(4, 1), 1), (ObjectType(1, 9), 2)),
        )
        raw = tdf.encodeStruct([Member("M", TdfType.MAP, value)])
        self.assertEqual(
            tdf.decodeStruct(raw)["M"].items,
            ((ObjectType(1, 9), 2), (ObjectType(4, 1), 1)),
        )


# ---------------------------------------------------------------------------
# Declared structs


class DeclaredStructTests(SynchronousTestCase):
    """
    L{tdf.tdfStruct} classes with L{tdf.encode} and L{tdf.decode}.
    """

    def test_ascendingTagOrder(self) -> None:
        """
        Members are written in ascending tag order, not declaration order.
        """
        raw = tdf.encode(Reversed(zulu=1, mike="m", alpha=2))
        self.assertEqual(
            raw,
            _header("A", TdfType.INT)
            + b"\x02"
            + _header("MIKE", TdfType.STRING)
            + b"\x02m\x00"
            + _header("ZULU", TdfType.INT)
            + b"\x01",
        )
        tags = [m.tag for m in tdf.decodeStruct(tdf.encode(S.Everything())).members]
        self.assertEqual(tags, sorted(tags))
        self.assertEqual(len(tags), 19)

    def test_defaults(self) -> None:
        """
        Members at their defaults are written with the canonical default
        bytes (blaze-wire.md section 3.5).
        """
        expected = {
            "B": b"\x00",
            "F": b"\x00\x00\x00\x00",
            "G": b"\x00",
            "I": b"\x00",
            "L": b"\x00\x00",
            "M": b"\x01\x00\x00",
            "P": b"\x00\x00",
            "Q": b"\x00\x00\x00",
            "S": b"\x01\x00",
            "U": b"\x7f",
            "V": b"\x00",
        }
        codes = {
            "B": TdfType.BLOB,
            "F": TdfType.FLOAT,
            "G": TdfType.STRUCT,
            "I": TdfType.INT,
            "L": TdfType.LIST,
            "M": TdfType.MAP,
            "P": TdfType.OBJECT_TYPE,
            "Q": TdfType.OBJECT_ID,
            "S": TdfType.STRING,
            "U": TdfType.UNION,
            "V": TdfType.VARIABLE,
        }
        raw = b"".join(_header(t, codes[t]) + expected[t] for t in sorted(expected))
        self.assertEqual(tdf.encode(Defaults()), raw)
        self.assertEqual(tdf.decode(Defaults, raw), Defaults())

    def test_stringMapOrder(self) -> None:
        """
        String-keyed maps are written in case-insensitive key order.
        """
        keys = ["ENT_100_ID", "ENT_100_param", "ENT_100_entitlement", "ENT_100_group"]
        raw = tdf.encode(S.Everything(attributes={k: "v" for k in keys}))
        found = tdf.decodeStruct(raw)["ATTR"]
        self.assertEqual(
            [k for k, _ in found.items],
            ["ENT_100_entitlement", "ENT_100_group", "ENT_100_ID", "ENT_100_param"],
        )

    def test_intMapOrder(self) -> None:
        """
        Integer-keyed maps are written in ascending key order.
        """
        raw = tdf.encode(
            S.Everything(byId={100: S.IpAddress(), -3: S.IpAddress(), 5: S.IpAddress()})
        )
        found = tdf.decodeStruct(raw)["PLYR"]
        self.assertEqual([k for k, _ in found.items], [-3, 5, 100])

    def test_optionalOmitted(self) -> None:
        """
        An optional member is left out while it is L{None} and written when
        it has a value, even a falsy one.
        """
        self.assertNotIn("XTRA", tdf.decodeStruct(tdf.encode(S.Everything())))
        found = tdf.decodeStruct(tdf.encode(S.Everything(extra=0)))
        self.assertEqual(found["XTRA"], 0)
        self.assertEqual(
            tdf.decode(S.Everything, tdf.encode(S.Everything())).extra, None
        )

    def test_missingMembersKeepDefaults(self) -> None:
        """
        Members absent from the body keep their defaults.
        """
        self.assertEqual(tdf.decode(Small, b""), Small())
        self.assertEqual(Small().bravo, -1)
        raw = _body(Member("M", TdfType.STRING, "here"))
        self.assertEqual(tdf.decode(Small, raw), Small(mike="here"))

    def test_skipsUnknownMembersOfEveryType(self) -> None:
        """
        Unknown members of every type, interleaved with the known ones, are
        skipped without an anomaly.
        """
        body = StructValue((Member("A", TdfType.INT, 1),))
        unknown = {
            TdfType.INT: -12345,
            TdfType.STRING: "skip me",
            TdfType.BLOB: b"\x00\x7f\xff",
            TdfType.STRUCT: StructValue((Member("X", TdfType.STRUCT, body),)),
            TdfType.LIST: ListValue(
                TdfType.UNION,
                (UnionValue(2, Member("VALU", TdfType.STRUCT, body)), UnionValue()),
            ),
            TdfType.MAP: MapValue(TdfType.STRING, TdfType.STRUCT, (("k", body),)),
            TdfType.UNION: UnionValue(1, Member("VALU", TdfType.STRUCT, body)),
            TdfType.VARIABLE: VariableValue(3, Member("GAME", TdfType.STRUCT, body)),
            TdfType.OBJECT_TYPE: ObjectType(0x7802, 1),
            TdfType.OBJECT_ID: ObjectId(4, 1, 2**40),
            TdfType.FLOAT: 1.5,
        }
        known = [
            Member("B", TdfType.INT, 42),
            Member("M", TdfType.STRING, "known"),
            Member("T", TdfType.LIST, ListValue(TdfType.INT, (1, 2, 3))),
        ]
        # Tags before B, between B and M, between M and T and after T.
        prefixes = ["A", "C", "N", "U"]
        for code, value in unknown.items():
            extras = [Member(f"{p}{int(code)}", code, value) for p in prefixes]
            raw = tdf.encodeStruct(known + extras)
            ctx = DecodeContext()
            self.assertEqual(
                tdf.decode(Small, raw, ctx), Small(42, "known", [1, 2, 3]), code
            )
            self.assertEqual(ctx.anomalies, [], code)
            self.assertEqual(tdf.decode(Nothing, raw), Nothing())

    @_SETTINGS
    @given(
        S.structValues(2),
        st.integers(tdf.INT64_MIN, tdf.INT64_MAX),
        st.text(max_size=5),
    )
    def test_skipsArbitraryUnknownMembers(
        self, extra: StructValue, bravo: int, mike: str
    ) -> None:
        """
        Whatever unknown members surround the known ones, the known values
        are decoded.
        """
        others = [m for m in extra.members if m.tag not in ("B", "M", "T")]
        raw = tdf.encodeStruct(
            [
                Member("B", TdfType.INT, bravo),
                Member("M", TdfType.STRING, mike),
                *others,
            ]
        )
        self.assertEqual(tdf.decode(Small, raw), Small(bravo, mike, []))

    def test_outOfOrder(self) -> None:
        """
        Members out of order are still decoded, and noted.
        """
        raw = _body(
            Member("ZULU", TdfType.INT, 1),
            Member("MIKE", TdfType.STRING, "m"),
            Member("A", TdfType.INT, 2),
        )
        ctx = DecodeContext()
        self.assertEqual(tdf.decode(Reversed, raw, ctx), Reversed(1, "m", 2))
        self.assertEqual(len(ctx.anomalies), 2)
        self.assertIn("MIKE is out of order", ctx.anomalies[0])
        self.assertIn("A is out of order", ctx.anomalies[1])

    def test_repeated(self) -> None:
        """
        A repeated member keeps its first value, and is noted.
        """
        raw = _body(Member("B", TdfType.INT, 1), Member("B", TdfType.INT, 2))
        ctx = DecodeContext()
        self.assertEqual(tdf.decode(Small, raw, ctx).bravo, 1)
        self.assertEqual(len(ctx.anomalies), 1)
        self.assertIn("repeated", ctx.anomalies[0])

    def test_wrongType(self) -> None:
        """
        A known member with another type is skipped and noted; it keeps its
        default and the members after it are still decoded.
        """
        raw = _body(
            Member("B", TdfType.STRING, "not an int"),
            Member("M", TdfType.STRUCT, StructValue((Member("X", TdfType.INT, 1),))),
            Member("T", TdfType.LIST, ListValue(TdfType.STRING, ("a",))),
        )
        ctx = DecodeContext()
        self.assertEqual(tdf.decode(Small, raw, ctx), Small())
        self.assertEqual(len(ctx.anomalies), 3)
        self.assertIn("member B has type string", ctx.anomalies[0])
        raw = _body(Member("B", TdfType.STRING, "x"), Member("M", TdfType.STRING, "ok"))
        self.assertEqual(tdf.decode(Small, raw), Small(mike="ok"))

    def test_encodeErrors(self) -> None:
        """
        Bad member values raise L{TdfEncodeError} naming the class and
        member.
        """
        for value in (
            Small(bravo="1"),  # type: ignore[arg-type]
            Small(mike=3),  # type: ignore[arg-type]
            Small(tango=5),  # type: ignore[arg-type]
            S.Everything(unsigned=-1),
            S.Everything(attributes={1: "x"}),  # type: ignore[dict-item]
            S.Everything(attributes={"k": "\ud800"}),
            S.Everything(choice=tdf.Choice(9, 1)),
            S.Everything(hosts=[tdf.Choice(2, S.IpAddress())]),
            S.Everything(address=S.IpPair()),  # type: ignore[arg-type]
        ):
            error = self.assertRaises(TdfEncodeError, tdf.encode, value)
            self.assertIn(f"{type(value).__name__}.", error.reason)

    def test_duplicateTags(self) -> None:
        """
        Declaring two members with one tag is refused.
        """

        class Twice:
            a: int = tdf.member("A", tdf.Int)
            b: int = tdf.member("A", tdf.Int)

        self.assertRaises(TypeError, tdf.tdfStruct, Twice)

    def test_topLevelUnion(self) -> None:
        """
        A union member outside a list keeps its C{VALU} header.
        """
        pair = S.IpPair(S.IpAddress(1, 2), S.IpAddress(3, 4))
        raw = tdf.decodeStruct(tdf.encode(S.Everything(choice=tdf.Choice(0, pair))))
        self.assertEqual(raw["PNET"].index, 0)
        self.assertEqual(raw["PNET"].member.tag, "VALU")
        self.assertEqual(raw["PNET"].member.type, TdfType.STRUCT)
        decoded = tdf.decode(
            S.Everything, tdf.encode(S.Everything(choice=tdf.Choice(0, pair)))
        )
        self.assertEqual(decoded.choice, tdf.Choice(0, pair))

    @_SETTINGS
    @given(S.everythings())
    def test_roundTrip(self, value: S.Everything) -> None:
        """
        Instances of a struct using every kind decode to themselves, and
        the generic codec re-encodes the bytes identically.
        """
        raw = tdf.encode(value)
        ctx = DecodeContext()
        self.assertEqual(tdf.decode(S.Everything, raw, ctx), value)
        self.assertEqual(ctx.anomalies, [])
        self.assertEqual(tdf.encodeStruct(tdf.decodeStruct(raw)), raw)


class HeatBugTests(SynchronousTestCase):
    """
    Unions inside lists: element type struct, index byte, struct body,
    C{00}, no C{VALU} header (blaze-wire.md section 3.6).
    """

    pair = S.IpPair(S.IpAddress(0x7F000001, 3659), S.IpAddress(0xC0A80001, 3659))

    def expectedPair(self) -> bytes:
        ip = tdf.encodeVarint(0x7F000001)
        port = tdf.encodeVarint(3659)
        inner = tdf.encodeVarint(0xC0A80001)
        return (
            _header("EXIP", TdfType.STRUCT)
            + _header("IP", TdfType.INT)
            + ip
            + _header("PORT", TdfType.INT)
            + port
            + b"\x00"
            + _header("INIP", TdfType.STRUCT)
            + _header("IP", TdfType.INT)
            + inner
            + _header("PORT", TdfType.INT)
            + port
            + b"\x00"
        )

    def test_encoding(self) -> None:
        """
        HNET is written with element type C{03} and each element as index
        byte, the IpPair body and C{00}.
        """
        raw = tdf.encode(Hosts([tdf.Choice(2, self.pair)]))
        self.assertEqual(
            raw,
            bytes.fromhex("a2e974")
            + b"\x04\x03\x01\x02"
            + self.expectedPair()
            + b"\x00",
        )

    def test_decoding(self) -> None:
        """
        The declared decoder reads the heat-bug form back.
        """
        value = Hosts([tdf.Choice(2, self.pair), tdf.Choice()])
        ctx = DecodeContext()
        self.assertEqual(tdf.decode(Hosts, tdf.encode(value), ctx), value)
        self.assertEqual(ctx.anomalies, [])

    def test_genericDecoding(self) -> None:
        """
        The generic decoder reads an element as a union of index 2 holding a
        C{VALU} struct member, and writes it back identically.
        """
        raw = tdf.encode(Hosts([tdf.Choice(2, self.pair)]))
        found = tdf.decodeStruct(raw)["HNET"]
        self.assertEqual(found.elementType, TdfType.STRUCT)
        (item,) = found.items
        self.assertEqual(item.index, 2)
        self.assertEqual(item.member.tag, "VALU")
        self.assertEqual(item.member.type, TdfType.STRUCT)
        self.assertEqual([m.tag for m in item.member.value.members], ["EXIP", "INIP"])
        self.assertEqual(item.member.value["EXIP"]["IP"], 0x7F000001)
        self.assertEqual(tdf.encodeStruct(tdf.decodeStruct(raw)), raw)

    def test_unset(self) -> None:
        """
        An unset union inside a list is C{7F} followed by the C{00} of an
        empty struct body, as PocketRelay writes a host without an
        address; the declared and generic decoders and the skipper read it.
        """
        raw = tdf.encode(Hosts([tdf.Choice()]))
        self.assertEqual(raw, bytes.fromhex("a2e974") + b"\x04\x03\x01\x7f\x00")
        self.assertEqual(tdf.decode(Hosts, raw), Hosts([tdf.Choice()]))
        self.assertEqual(tdf.decodeStruct(raw)["HNET"].items, (UnionValue(),))
        self.assertEqual(tdf.encodeStruct(tdf.decodeStruct(raw)), raw)
        # Followed by another member: the element's 00 is not the end of
        # the enclosing struct, whether the member is declared or skipped.
        after = raw + _header("Z", TdfType.INT) + b"\x05"
        self.assertEqual(tdf.decode(Hosts, after), Hosts([tdf.Choice()]))
        self.assertEqual(tdf.decodeStruct(after)["Z"], 5)
        nested = _header("A", TdfType.STRUCT) + after + b"\x00" + _header("B", TdfType.INT) + b"\x07"
        self.assertEqual(tdf.decodeStruct(nested)["B"], 7)

    def test_loneUnset(self) -> None:
        """
        A lone C{7F} element, followed by another element, is read as unset
        too.
        """
        raw = (
            bytes.fromhex("a2e974")
            + b"\x04\x03\x02\x7f\x02"
            + self.expectedPair()
            + b"\x00"
        )
        self.assertEqual(
            tdf.decode(Hosts, raw), Hosts([tdf.Choice(), tdf.Choice(2, self.pair)])
        )

    def test_plainUnionForm(self) -> None:
        """
        A list of unions sent with element type union (each with its
        C{VALU} header) is accepted too.
        """
        element = (
            b"\x02" + _header("VALU", TdfType.STRUCT) + self.expectedPair() + b"\x00"
        )
        raw = bytes.fromhex("a2e974") + b"\x04\x06\x01" + element
        ctx = DecodeContext()
        self.assertEqual(tdf.decode(Hosts, raw, ctx), Hosts([tdf.Choice(2, self.pair)]))
        self.assertEqual(ctx.anomalies, [])

    def test_withoutIndex(self) -> None:
        """
        A plain struct where the union element was expected is kept under
        the union's struct alternative, and noted.
        """
        raw = bytes.fromhex("a2e974") + b"\x04\x03\x01" + self.expectedPair() + b"\x00"
        ctx = DecodeContext()
        self.assertEqual(tdf.decode(Hosts, raw, ctx), Hosts([tdf.Choice(2, self.pair)]))
        self.assertEqual(len(ctx.anomalies), 1)

    def test_refusedIndexes(self) -> None:
        """
        Index 0 (an empty struct) and indexes that look like a member header
        cannot be written inside a list.
        """
        for index in (0, 0x40, 0x67):
            kind = tdf.UnionOf({index: tdf.StructOf(S.IpPair)})

            @tdf.tdfStruct
            @attrs.define
            class Listed:
                items: list[tdf.Choice] = tdf.member("L", tdf.ListOf(kind))

            self.assertRaises(
                TdfEncodeError, tdf.encode, Listed([tdf.Choice(index, self.pair)])
            )


class VariableTests(SynchronousTestCase):
    """
    Type 7 in declared structs: L{tdf.Var}.
    """

    inner = Member(
        "GAME", TdfType.STRUCT, StructValue((Member("GTYP", TdfType.INT, 3),))
    )

    def test_absent(self) -> None:
        """
        L{None} is written as C{00} and read back as L{None}.
        """
        raw = tdf.encode(Report(None, 1))
        self.assertEqual(
            raw,
            _header("GAME", TdfType.VARIABLE)
            + b"\x00"
            + _header("GRID", TdfType.INT)
            + b"\x01",
        )
        self.assertEqual(tdf.decode(Report, raw), Report(None, 1))

    def test_present(self) -> None:
        """
        A value is written as C{01}, the tdfId, the member and C{00}.
        """
        raw = tdf.encode(Report(VariableValue(0x10, self.inner), 1))
        self.assertEqual(
            raw,
            _header("GAME", TdfType.VARIABLE)
            + b"\x01\x10"
            + _header("GAME", TdfType.STRUCT)
            + _header("GTYP", TdfType.INT)
            + b"\x03\x00"
            + b"\x00"
            + _header("GRID", TdfType.INT)
            + b"\x01",
        )
        self.assertEqual(
            tdf.decode(Report, raw), Report(VariableValue(0x10, self.inner), 1)
        )

    def test_missingTerminator(self) -> None:
        """
        Without its final C{00} the value is still read, followed by the
        next member or the end of the body, and the gap is noted.
        """
        head = (
            _header("GAME", TdfType.VARIABLE)
            + b"\x01\x10"
            + _header("GAME", TdfType.STRUCT)
            + _header("GTYP", TdfType.INT)
            + b"\x03\x00"
        )
        for raw, grid in (
            (head, 0),
            (head + _header("GRID", TdfType.INT) + b"\x05", 5),
        ):
            ctx = DecodeContext()
            self.assertEqual(
                tdf.decode(Report, raw, ctx),
                Report(VariableValue(0x10, self.inner), grid),
            )
            self.assertEqual(len(ctx.anomalies), 1)
            self.assertIn("terminator", ctx.anomalies[0])

    def test_wrongValue(self) -> None:
        """
        Anything but L{None} or a L{VariableValue} is refused.
        """
        self.assertRaises(TdfEncodeError, tdf.encode, Report([1], 0))


# ---------------------------------------------------------------------------
# Robustness


def _decodeBoth(test: SynchronousTestCase, data: bytes) -> None:
    """
    Feed C{data} to the generic and declared decoders: each either succeeds
    or raises L{TdfDecodeError} with an offset inside the input.
    """
    for decoder in (
        tdf.decodeStruct,
        lambda d: tdf.decode(S.Everything, d),
        lambda d: tdf.decode(Hosts, d),
        lambda d: tdf.decode(Nothing, d),
    ):
        try:
            decoder(data)
        except TdfDecodeError as e:
            test.assertIsInstance(e.offset, int)
            assert e.offset is not None
            test.assertTrue(0 <= e.offset <= len(data), (e.offset, len(data)))


class RobustnessTests(SynchronousTestCase):
    """
    Damaged input gets L{TdfDecodeError} and nothing else.
    """

    @_FUZZ
    @given(st.binary(max_size=200))
    def test_randomBytes(self, data: bytes) -> None:
        """
        Random bytes raise only L{TdfDecodeError}, with an offset.
        """
        _decodeBoth(self, data)

    @_FUZZ
    @given(st.data())
    def test_mutatedDeclared(self, data: st.DataObject) -> None:
        """
        Valid bodies of a struct using every kind, with bytes flipped,
        inserted, deleted or cut, raise only L{TdfDecodeError}.
        """
        raw = tdf.encode(data.draw(S.everythings(depth=1)))
        _decodeBoth(self, data.draw(S.mutated(raw)))

    @_FUZZ
    @given(st.data())
    def test_mutatedGeneric(self, data: st.DataObject) -> None:
        """
        Valid generic bodies with damage raise only L{TdfDecodeError}.
        """
        raw = tdf.encodeStruct(data.draw(S.structValues(3)))
        _decodeBoth(self, data.draw(S.mutated(raw)))

    def _deepBodies(self, depth: int) -> dict[str, bytes]:
        """
        Bodies nesting C{depth} levels of each composite type.
        """
        struct = _header("A", TdfType.STRUCT) * depth + b"\x00" * depth
        listed = (
            _header("A", TdfType.LIST)
            + b"\x04\x01"
            + (b"\x04\x01" * depth)
            + b"\x00\x00"
        )
        union = (
            _header("A", TdfType.UNION)
            + (b"\x01" + _header("A", TdfType.UNION)) * depth
            + b"\x7f"
        )
        variable = (
            _header("A", TdfType.VARIABLE)
            + (b"\x01\x00" + _header("A", TdfType.VARIABLE)) * depth
            + b"\x00"
        )
        mapped = (
            _header("A", TdfType.MAP) + b"\x00\x05\x01\x00" * depth + b"\x00\x00\x00"
        )
        structList = (
            _header("A", TdfType.LIST)
            + (b"\x03\x01" + _header("A", TdfType.LIST)) * depth
            + b"\x00\x00"
            + b"\x00" * depth
        )
        heat = (
            _header("A", TdfType.LIST)
            + (b"\x03\x01\x02" + _header("A", TdfType.LIST)) * depth
            + b"\x00\x00"
            + b"\x00" * depth
        )
        return {
            "struct": struct,
            "list": listed,
            "union": union,
            "variable": variable,
            "map": mapped,
            "structList": structList,
            "heat": heat,
        }

    def test_deepNesting(self) -> None:
        """
        Nesting deeper than L{tdf.MAX_DEPTH} raises L{TdfDecodeError}, not
        C{RecursionError}, through every decoding and skipping path.
        """
        for name, body in self._deepBodies(tdf.MAX_DEPTH + 5).items():
            for decoder in (
                tdf.decodeStruct,
                lambda d: tdf.decode(Nothing, d),
                lambda d: tdf.decode(
                    Holder, _header("GEN", TdfType.STRUCT) + b"\x00" + d
                ),
            ):
                error = self.assertRaises(TdfDecodeError, decoder, body)
                self.assertIn("nest", error.reason, name)
        holder = _header("GEN", TdfType.STRUCT) * (tdf.MAX_DEPTH + 5)
        self.assertRaises(
            TdfDecodeError, tdf.decode, Holder, holder + b"\x00" * (tdf.MAX_DEPTH + 5)
        )
        # Shallow versions of the same bodies are fine.
        for name, body in self._deepBodies(5).items():
            tdf.decodeStruct(body)
            tdf.decode(Nothing, body)
            self.assertTrue(name)

    def test_veryDeepNesting(self) -> None:
        """
        Nesting far beyond the recursion limit still raises
        L{TdfDecodeError}.
        """
        self.assertRaises(
            TdfDecodeError, tdf.decodeStruct, self._deepBodies(5000)["struct"]
        )

    def test_encoderAndDecoderAgreeOnDepth(self) -> None:
        """
        The deepest struct nesting the encoder accepts is decoded, and one
        level more is refused by the encoder with L{TdfEncodeError}.
        """
        depth = 1
        while True:
            try:
                raw = tdf.encodeStruct(_nestedStructs(depth + 1))
            except TdfEncodeError:
                break
            depth += 1
            self.assertLess(depth, 1000)
        self.assertEqual(tdf.decodeStruct(raw), _nestedStructs(depth))
        self.assertGreaterEqual(depth, tdf.MAX_DEPTH)
        self.assertRaises(TdfEncodeError, tdf.encodeStruct, _nestedStructs(5000))

    def test_hugeCounts(self) -> None:
        """
        A list, map, string or blob claiming 2**40 elements in a body of a
        few bytes is refused at once, without allocating.
        """
        huge = tdf.encodeVarint(2**40)
        bodies = [
            _header("A", TdfType.LIST) + b"\x00" + huge,
            _header("A", TdfType.MAP) + b"\x00\x00" + huge,
            _header("A", TdfType.STRING) + huge,
            _header("A", TdfType.BLOB) + huge,
            _header("T", TdfType.LIST) + b"\x00" + huge,  # a declared member
        ]
        self.assertEqual(len(bodies[0]), 11)
        start = time.perf_counter()
        for body in bodies:
            for decoder in (tdf.decodeStruct, lambda d: tdf.decode(Small, d)):
                error = self.assertRaises(TdfDecodeError, decoder, body)
                self.assertIsInstance(error.offset, int)
        self.assertLess(time.perf_counter() - start, 1.0)

    def test_negativeCounts(self) -> None:
        """
        Negative counts and lengths are refused.
        """
        for body in (
            _header("A", TdfType.LIST) + b"\x00\x41",
            _header("A", TdfType.STRING) + b"\x41",
        ):
            self.assertRaises(TdfDecodeError, tdf.decodeStruct, body)

    def test_unknownTypeCode(self) -> None:
        """
        Type codes above 0x0A are refused, in a header and as an element
        type.
        """
        for body in (
            _header("A", TdfType.INT)[:3] + b"\x0b\x00",
            _header("A", TdfType.LIST) + b"\x0c\x00",
            _header("B", TdfType.INT)[:3] + b"\xff\x00",
        ):
            error = self.assertRaises(TdfDecodeError, tdf.decodeStruct, body)
            self.assertIn("type", error.reason)
            self.assertRaises(TdfDecodeError, tdf.decode, Small, body)

    def test_anomaliesBounded(self) -> None:
        """
        However many irregularities a body has, at most
        L{DecodeContext.limit} are recorded.
        """
        raw = b"".join(
            _body(Member("B", TdfType.INT, 1), Member("A", TdfType.INT, 1))
            for _ in range(200)
        )
        ctx = DecodeContext()
        tdf.decodeStruct(raw, ctx)
        self.assertEqual(len(ctx.anomalies), DecodeContext.limit)
