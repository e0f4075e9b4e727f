# -*- test-case-name: tests.test_tdf,tests.test_frames,tests.test_coalesced,tests.test_tlk -*-

"""
Hypothesis strategies for the TDF codec, the Fire frame codec and the
game-data codecs (coalesced, talk files).

Every strategy the tests use lives here: tags (valid and invalid),
varints, each generic TDF value type with bounded nesting, instances of a
few declared structs that between them use every kind, and frames.

Generic values are generated in I{any} order (struct members shuffled,
map entries unsorted); L{canonical} gives the form the encoder writes, so a
test can compare C{decode(encode(x))} with C{canonical(x)}.
"""

from __future__ import annotations

import functools
from typing import Any

import attrs
from hypothesis import settings
from hypothesis import strategies as st

from pocketrelay.blaze import frames as _frames
from pocketrelay.blaze import tdf
from pocketrelay.blaze.tdf import (
    ListValue,
    MapValue,
    Member,
    ObjectId,
    ObjectType,
    StructValue,
    TdfType,
    UnionValue,
    VariableValue,
)
from pocketrelay.me3 import coalesced as _coalesced
from pocketrelay.me3 import tlk as _tlk

__all__ = [
    "NETWORK_ADDRESS",
    "TAG_ALPHABET",
    "Everything",
    "IpAddress",
    "IpPair",
    "blobs",
    "canonical",
    "coalescedModels",
    "coalescedNames",
    "coalescedTexts",
    "codecSettings",
    "everythings",
    "fireFrames",
    "floats32",
    "frameSplits",
    "genericValues",
    "heatIndexes",
    "invalidTags",
    "ipAddresses",
    "ipPairs",
    "members",
    "mutated",
    "objectIds",
    "objectTypes",
    "outOfRangeInts",
    "structValues",
    "tags",
    "talkFiles",
    "talkStrings",
    "tdfStrings",
    "varints",
]

#: The characters a tag may use.
TAG_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

#: How deeply generated generic values nest by default.
DEFAULT_DEPTH = 3


# ---------------------------------------------------------------------------
# Scalars


def tags() -> st.SearchStrategy[str]:
    """
    Valid member labels: 1 to 4 characters from A-Z and 0-9.
    """
    return st.text(TAG_ALPHABET, min_size=1, max_size=4)


def invalidTags() -> st.SearchStrategy[str]:
    """
    Labels L{tdf.encodeTag} must refuse: empty, longer than 4 characters,
    or with a lowercase letter, punctuation or another character.
    """
    valid = st.sampled_from(TAG_ALPHABET)
    bad = st.characters(codec="utf-8", exclude_characters=TAG_ALPHABET)
    tooLong = st.text(TAG_ALPHABET, min_size=5, max_size=8)
    withBad = st.tuples(
        st.lists(valid, max_size=3),
        st.one_of(st.sampled_from("abcxyz!-_ .:\0"), bad),
        st.lists(valid, max_size=3),
    ).map(lambda t: "".join(t[0]) + t[1] + "".join(t[2]))
    return st.one_of(
        st.just(""), tooLong, withBad.filter(lambda s: 1 <= len(s) <= 4), withBad
    )


def varints() -> st.SearchStrategy[int]:
    """
    Integers over the whole range a TDF varint carries:
    C{[-2**63, 2**64 - 1]}, with the edges and small values favoured.
    """
    return st.one_of(
        st.integers(tdf.INT64_MIN, tdf.UINT64_MAX),
        st.integers(-200, 200),
        st.sampled_from(
            [
                tdf.INT64_MIN,
                tdf.INT64_MIN + 1,
                -64,
                -63,
                63,
                64,
                tdf.INT64_MAX,
                tdf.INT64_MAX + 1,
                tdf.UINT64_MAX,
            ]
        ),
    )


def outOfRangeInts() -> st.SearchStrategy[int]:
    """
    Integers no varint can carry.
    """
    return st.one_of(
        st.integers(max_value=tdf.INT64_MIN - 1),
        st.integers(min_value=tdf.UINT64_MAX + 1),
    )


def tdfStrings(maxSize: int = 20) -> st.SearchStrategy[str]:
    """
    Unicode strings (no lone surrogates), NULs included.
    """
    return st.text(max_size=maxSize)


def blobs(maxSize: int = 20) -> st.SearchStrategy[bytes]:
    """
    Byte strings of up to C{maxSize} bytes.
    """
    return st.binary(max_size=maxSize)


def floats32() -> st.SearchStrategy[float]:
    """
    Floats a 32-bit IEEE-754 value represents exactly (no NaN, so that
    equality holds).
    """
    return st.floats(width=32, allow_nan=False)


def objectTypes() -> st.SearchStrategy[ObjectType]:
    """
    L{ObjectType} values with components and types over the varint range.
    """
    return st.builds(ObjectType, varints(), varints())


def objectIds() -> st.SearchStrategy[ObjectId]:
    """
    L{ObjectId} values with every part over the varint range.
    """
    return st.builds(ObjectId, varints(), varints(), varints())


def heatIndexes() -> st.SearchStrategy[int]:
    """
    Union indexes that can be written inside a list (the "heat bug"
    form): not 0 (an empty struct), not 0x7F (unset) and no byte that
    starts a member header.
    """
    return st.one_of(st.integers(1, 0x3F), st.integers(0x68, 0x7E))


# ---------------------------------------------------------------------------
# Generic values

_SCALARS = (
    TdfType.INT,
    TdfType.STRING,
    TdfType.BLOB,
    TdfType.OBJECT_TYPE,
    TdfType.OBJECT_ID,
    TdfType.FLOAT,
)

#: Element types of generated lists.  Lists of maps and lists of lists are
#: left out: they are written with element type struct (the "heat bug")
#: and a schema-less decoder cannot tell them from structs.
_LIST_ELEMENTS = (*_SCALARS, TdfType.STRUCT, TdfType.UNION, TdfType.VARIABLE)

_MAP_KEYS = (TdfType.INT, TdfType.STRING, TdfType.BLOB)


def _scalar(code: TdfType) -> st.SearchStrategy[Any]:
    return {
        TdfType.INT: varints(),
        TdfType.STRING: tdfStrings(),
        TdfType.BLOB: blobs(),
        TdfType.OBJECT_TYPE: objectTypes(),
        TdfType.OBJECT_ID: objectIds(),
        TdfType.FLOAT: floats32(),
    }[code]


@functools.cache
def genericValues(code: TdfType, depth: int = DEFAULT_DEPTH) -> st.SearchStrategy[Any]:
    """
    Values of the generic model for a member of type C{code}, nesting at
    most C{depth} composite levels below it.
    """
    code = TdfType(code)
    if code in _SCALARS:
        return _scalar(code)
    if code == TdfType.STRUCT:
        return structValues(depth)
    if code == TdfType.LIST:
        return _listValues(depth)
    if code == TdfType.MAP:
        return _mapValues(depth)
    if code == TdfType.UNION:
        return _unionValues(depth)
    return _variableValues(depth)


def _anyCode(depth: int) -> st.SearchStrategy[TdfType]:
    return st.sampled_from(list(TdfType) if depth > 0 else list(_SCALARS))


@functools.cache
def members(depth: int = DEFAULT_DEPTH) -> st.SearchStrategy[Member]:
    """
    Generic members of every type; composite ones nest at most C{depth}
    levels.
    """
    inner = max(depth - 1, 0)
    return st.tuples(tags(), _anyCode(depth)).flatmap(
        lambda tc: genericValues(tc[1], inner).map(lambda v: Member(tc[0], tc[1], v))
    )


@functools.cache
def structValues(depth: int = DEFAULT_DEPTH) -> st.SearchStrategy[StructValue]:
    """
    Generic structs with distinct member tags, in no particular order.
    """
    if depth <= 0:
        return st.lists(
            st.tuples(tags(), st.sampled_from(_SCALARS)).flatmap(
                lambda tc: _scalar(tc[1]).map(lambda v: Member(tc[0], tc[1], v))
            ),
            max_size=3,
            unique_by=lambda m: m.tag,
        ).map(lambda ms: StructValue(tuple(ms)))
    return st.lists(members(depth), max_size=4, unique_by=lambda m: m.tag).map(
        lambda ms: StructValue(tuple(ms))
    )


def _heatUnions(depth: int) -> st.SearchStrategy[UnionValue]:
    inner = max(depth - 1, 0)
    return st.one_of(
        st.just(UnionValue()),
        st.builds(
            lambda index, body: UnionValue(index, Member("VALU", TdfType.STRUCT, body)),
            heatIndexes(),
            structValues(inner),
        ),
    )


def _listValues(depth: int) -> st.SearchStrategy[ListValue]:
    inner = max(depth - 1, 0)
    codes = _LIST_ELEMENTS if depth > 0 else _SCALARS

    def items(code: TdfType) -> st.SearchStrategy[ListValue]:
        element = (
            _heatUnions(depth) if code == TdfType.UNION else genericValues(code, inner)
        )
        return st.lists(element, max_size=4).map(lambda xs: ListValue(code, tuple(xs)))

    return st.sampled_from(codes).flatmap(items)


def _mapValues(depth: int) -> st.SearchStrategy[MapValue]:
    inner = max(depth - 1, 0)
    valueCodes = list(TdfType) if depth > 0 else list(_SCALARS)

    def entries(kv: tuple[TdfType, TdfType]) -> st.SearchStrategy[MapValue]:
        keyCode, valueCode = kv
        return st.lists(
            st.tuples(_scalar(keyCode), genericValues(valueCode, inner)),
            max_size=4,
            unique_by=lambda e: e[0],
        ).map(lambda es: MapValue(keyCode, valueCode, tuple(es)))

    return st.tuples(st.sampled_from(_MAP_KEYS), st.sampled_from(valueCodes)).flatmap(
        entries
    )


def _unionValues(depth: int) -> st.SearchStrategy[UnionValue]:
    inner = max(depth - 1, 0)
    return st.one_of(
        st.just(UnionValue()),
        st.builds(UnionValue, st.integers(0, tdf.UNSET_INDEX - 1), members(inner)),
    )


def _variableValues(depth: int) -> st.SearchStrategy[VariableValue | None]:
    inner = max(depth - 1, 0)
    return st.one_of(st.none(), st.builds(VariableValue, varints(), members(inner)))


def canonical(value: Any) -> Any:
    """
    The generic value as the encoder writes it and the decoder returns it:
    struct members in ascending tag order, map entries in the canonical key
    order, lists of unions with element type struct, every union without
    a member or with index 0x7F as the plain unset union.
    """
    if isinstance(value, StructValue):
        return StructValue(
            tuple(
                sorted(
                    (canonical(m) for m in value.members),
                    key=lambda m: tdf.encodeTag(m.tag),
                )
            )
        )
    if isinstance(value, Member):
        return Member(value.tag, value.type, canonical(value.value))
    if isinstance(value, ListValue):
        code = (
            TdfType.STRUCT if value.elementType == TdfType.UNION else value.elementType
        )
        return ListValue(code, tuple(canonical(x) for x in value.items))
    if isinstance(value, MapValue):
        items = [(canonical(k), canonical(v)) for k, v in value.items]
        if value.keyType == TdfType.STRING:
            items.sort(key=lambda kv: (kv[0].lower(), kv[0]))
        else:
            items.sort(key=lambda kv: kv[0])
        return MapValue(value.keyType, value.valueType, tuple(items))
    if isinstance(value, UnionValue):
        if value.member is None or value.index == tdf.UNSET_INDEX:
            return UnionValue()
        return UnionValue(value.index, canonical(value.member))
    if isinstance(value, VariableValue):
        return VariableValue(value.tdfId, canonical(value.member))
    return value


# ---------------------------------------------------------------------------
# Declared structs


@tdf.tdfStruct
@attrs.define
class IpAddress:
    """
    An IPv4 address and port (Blaze C{IpAddress}).
    """

    ip: int = tdf.member("IP", tdf.UInt)
    port: int = tdf.member("PORT", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class IpPair:
    """
    External and internal address (Blaze C{IpPairAddress}).
    """

    external: IpAddress = tdf.member("EXIP", tdf.StructOf(IpAddress))
    internal: IpAddress = tdf.member("INIP", tdf.StructOf(IpAddress))


#: The union ME3 uses for host addresses: index 2 is an L{IpPair}.
NETWORK_ADDRESS = tdf.UnionOf({2: tdf.StructOf(IpPair)})


@tdf.tdfStruct
@attrs.define
class Everything:
    """
    A declared struct with a member of every kind, declared out of tag
    order on purpose.
    """

    name: str = tdf.member("NAME", tdf.Str)
    age: int = tdf.member("AGE", tdf.Int)
    unsigned: int = tdf.member("UINT", tdf.UInt)
    flag: bool = tdf.member("FLAG", tdf.Bool)
    blob: bytes = tdf.member("BLOB", tdf.Blob)
    ratio: float = tdf.member("RATE", tdf.Float)
    objType: ObjectType = tdf.member("OTYP", tdf.ObjType)
    objId: ObjectId = tdf.member("OID", tdf.ObjId)
    variable: Any = tdf.member("CVAR", tdf.Var)
    generic: StructValue = tdf.member("GEN", tdf.GenericStruct)
    address: IpAddress = tdf.member("ADDR", tdf.StructOf(IpAddress))
    numbers: list[int] = tdf.member("NUMS", tdf.ListOf(tdf.Int))
    words: list[str] = tdf.member("WRDS", tdf.ListOf(tdf.Str))
    addresses: list[IpAddress] = tdf.member("ALST", tdf.ListOf(tdf.StructOf(IpAddress)))
    hosts: list[tdf.Choice] = tdf.member("HNET", tdf.ListOf(NETWORK_ADDRESS))
    attributes: dict[str, str] = tdf.member("ATTR", tdf.MapOf(tdf.Str, tdf.Str))
    counts: dict[str, int] = tdf.member("NLMP", tdf.MapOf(tdf.Str, tdf.Int))
    byId: dict[int, IpAddress] = tdf.member(
        "PLYR", tdf.MapOf(tdf.Int, tdf.StructOf(IpAddress))
    )
    choice: tdf.Choice = tdf.member(
        "PNET", tdf.UnionOf({0: tdf.StructOf(IpPair), 1: tdf.Str, 3: tdf.Int})
    )
    extra: int | None = tdf.member("XTRA", tdf.Int, optional=True)


def ipAddresses() -> st.SearchStrategy[IpAddress]:
    """
    L{IpAddress} values with 32-bit addresses and 16-bit ports.
    """
    return st.builds(IpAddress, st.integers(0, 2**32 - 1), st.integers(0, 2**16 - 1))


def ipPairs() -> st.SearchStrategy[IpPair]:
    """
    L{IpPair} values.
    """
    return st.builds(IpPair, ipAddresses(), ipAddresses())


def _choices() -> st.SearchStrategy[tdf.Choice]:
    return st.one_of(
        st.just(tdf.Choice()),
        st.builds(tdf.Choice, st.just(0), ipPairs()),
        st.builds(tdf.Choice, st.just(1), tdfStrings()),
        st.builds(tdf.Choice, st.just(3), varints()),
    )


def _hosts() -> st.SearchStrategy[tdf.Choice]:
    return st.one_of(
        st.just(tdf.Choice()), st.builds(tdf.Choice, st.just(2), ipPairs())
    )


def everythings(depth: int = 2) -> st.SearchStrategy[Everything]:
    """
    Instances of L{Everything}; its generic parts are in canonical form,
    so that C{decode(encode(x)) == x}.
    """
    return st.builds(
        Everything,
        name=tdfStrings(),
        age=varints(),
        unsigned=st.integers(0, tdf.UINT64_MAX),
        flag=st.booleans(),
        blob=blobs(),
        ratio=floats32(),
        objType=objectTypes(),
        objId=objectIds(),
        variable=_variableValues(depth).map(canonical),
        generic=structValues(depth).map(canonical),
        address=ipAddresses(),
        numbers=st.lists(varints(), max_size=5),
        words=st.lists(tdfStrings(), max_size=4),
        addresses=st.lists(ipAddresses(), max_size=3),
        hosts=st.lists(_hosts(), max_size=3),
        attributes=st.dictionaries(tdfStrings(8), tdfStrings(), max_size=4),
        counts=st.dictionaries(tdfStrings(8), varints(), max_size=4),
        byId=st.dictionaries(varints(), ipAddresses(), max_size=3),
        choice=_choices(),
        extra=st.none() | varints(),
    )


# ---------------------------------------------------------------------------
# Frames


def fireFrames(maxBody: int = 64) -> st.SearchStrategy[_frames.Frame]:
    """
    Fire frames with every header field over its whole range (bodies up to
    C{maxBody} bytes; no jumbo frames unless C{maxBody} exceeds 65535).
    """
    return st.builds(
        _frames.Frame,
        component=st.integers(0, 0xFFFF),
        command=st.integers(0, 0xFFFF),
        type=st.sampled_from(_frames.MessageType),
        seq=st.integers(0, (1 << 20) - 1),
        error=st.integers(0, 0xFFFF),
        body=st.binary(max_size=maxBody),
        options=st.sampled_from([_frames.Options.NONE, _frames.Options.IMMEDIATE]),
        userIndex=st.integers(0, 15),
        context=st.sampled_from([b"", b"\x01\x02\x03\x04", b"abcdefgh"]),
    )


def frameSplits(data: bytes, maxPieces: int = 8) -> st.SearchStrategy[list[bytes]]:
    """
    C{data} cut into consecutive pieces at random points (empty pieces
    included).
    """
    return st.lists(st.integers(0, len(data)), max_size=maxPieces).map(
        lambda cuts: [
            data[a:b]
            for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(data)], strict=True)
        ]
    )


# ---------------------------------------------------------------------------
# Damaged input


def mutated(data: bytes, maxMutations: int = 4) -> st.SearchStrategy[bytes]:
    """
    C{data} with a few bytes flipped, inserted or deleted, or cut short.
    """

    def apply(ops: list[tuple[str, int, int]]) -> bytes:
        out = bytearray(data)
        for op, where, byte in ops:
            at = where % (len(out) + 1)
            if op == "flip" and at < len(out):
                out[at] ^= byte or 0xFF
            elif op == "set" and at < len(out):
                out[at] = byte
            elif op == "insert":
                out.insert(at, byte)
            elif op == "delete" and at < len(out):
                del out[at]
            elif op == "truncate":
                del out[at:]
        return bytes(out)

    op = st.tuples(
        st.sampled_from(["flip", "set", "insert", "delete", "truncate"]),
        st.integers(0, 2**16),
        st.integers(0, 255),
    )
    return st.lists(op, min_size=1, max_size=maxMutations).map(apply)


# ---------------------------------------------------------------------------
# Game data: the coalesced and talk files


def codecSettings(examples: int) -> settings:
    """
    Settings for a codec property: C{examples} examples, no deadline (the
    machine may be shared and slow), no example database.
    """
    return settings(max_examples=examples, deadline=None, database=None)


def coalescedNames() -> st.SearchStrategy[str]:
    """
    A file, section or property name: mostly the lower-case ASCII the game
    uses, sometimes any Unicode that UTF-8 can hold (the format allows it).
    """
    return st.one_of(
        st.text("abcdefghijklmnopqrstuvwxyz0123456789._\\", max_size=24),
        st.text(st.characters(exclude_categories=["Cs"]), max_size=8),
    )


def coalescedTexts() -> st.SearchStrategy[str]:
    """
    A value text: any of U+0001..U+00FF, the characters the binary holds.
    """
    return st.text(st.characters(min_codepoint=1, max_codepoint=_coalesced.MAX_SYMBOL), max_size=40)


def _coalescedValues() -> st.SearchStrategy[_coalesced.Value]:
    return st.sampled_from(list(_coalesced.ValueType)).flatmap(
        lambda kind: st.just(_coalesced.Value(kind))
        if kind is _coalesced.ValueType.RemoveProperty
        else coalescedTexts().map(lambda text: _coalesced.Value(kind, text))
    )


def coalescedModels(maxItems: int = 4) -> st.SearchStrategy[_coalesced.Coalesced]:
    """
    A coalesced model in any order, with unique names in each table (the
    serializer refuses repeats).  Compare
    C{parseBinary(serializeBinary(m))} with L{_coalesced.canonical}.
    """
    properties = st.builds(
        _coalesced.Property,
        coalescedNames(),
        st.lists(_coalescedValues(), max_size=maxItems),
    )
    sections = st.builds(
        _coalesced.Section,
        coalescedNames(),
        st.lists(properties, max_size=maxItems, unique_by=lambda p: p.name),
    )
    files = st.builds(
        _coalesced.CoalescedFile,
        coalescedNames(),
        st.lists(sections, max_size=maxItems, unique_by=lambda s: s.name),
    )
    return st.builds(
        _coalesced.Coalesced, st.lists(files, max_size=maxItems, unique_by=lambda f: f.path)
    )


def talkStrings() -> st.SearchStrategy[_tlk.TalkString]:
    """
    A talk-file string: a 32-bit id and any text without U+0000 (lone
    surrogates included: the file holds UTF-16 code units).
    """
    return st.builds(
        _tlk.TalkString,
        st.integers(0, 2**32 - 1),
        st.text(st.characters(min_codepoint=1), max_size=30),
    )


def talkFiles(maxStrings: int = 8) -> st.SearchStrategy[_tlk.TalkFile]:
    """
    A talk file with unique ids in each list, in any order; compare
    C{parseTlk(serializeTlk(t))} with L{_tlk.canonical}.
    """
    strings = st.lists(talkStrings(), max_size=maxStrings, unique_by=lambda s: s.id)
    return st.builds(
        _tlk.TalkFile,
        strings,
        strings,
        st.integers(0, 2**32 - 1),
        st.integers(0, 2**32 - 1),
    )
