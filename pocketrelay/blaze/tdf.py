# -*- test-case-name: tests.test_tdf -*-
"""
The TDF ("Heat2") encoding used in the bodies of Blaze frames.

This module is a pure codec: bytes in, values out, no Twisted import.  It
offers two layers:

  1. A generic value model (L{Member}, L{StructValue}, L{ListValue},
     L{MapValue}, L{UnionValue}, L{VariableValue}, L{ObjectType},
     L{ObjectId}) with L{decodeStruct} and L{encodeStruct}.  It can read any
     well-formed body without knowing its schema, which is what the
     command-line tool and the tests use.

  2. Declared messages: a class decorated with L{tdfStruct} whose attributes
     are declared with L{member} and a I{kind} (L{Int}, L{Str}, L{ListOf},
     L{MapOf}, L{UnionOf}, L{StructOf} ...).  The decorator compiles an
     encoder and a decoder once; L{encode} and L{decode} use them.

Encoding is canonical: struct members are written in ascending tag order
and string-keyed maps in case-insensitive key order.  Decoding is
tolerant: unknown members are skipped by type, members out of order or
with an unexpected type are recorded in L{DecodeContext.anomalies} rather
than raising.  Malformed input raises L{TdfDecodeError}, which carries the
byte offset of the problem; nothing else escapes the decoder.

All sizes are bounded: a collection cannot claim more elements than the
bytes left in the input, nesting is limited by L{MAX_DEPTH}.
"""

from __future__ import annotations

import enum
import itertools
import linecache
import struct as _struct
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, TypeVar

import attrs

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_DEPTH",
    "UINT64_MAX",
    "UNSET_INDEX",
    "Blob",
    "Bool",
    "Choice",
    "DecodeContext",
    "Float",
    "GenericStruct",
    "Int",
    "Kind",
    "ListOf",
    "ListValue",
    "MapOf",
    "MapValue",
    "Member",
    "ObjId",
    "ObjType",
    "ObjectId",
    "ObjectType",
    "Str",
    "StructOf",
    "StructValue",
    "TdfDecodeError",
    "TdfEncodeError",
    "TdfError",
    "TdfType",
    "UInt",
    "UnionOf",
    "UnionValue",
    "Var",
    "VariableValue",
    "decode",
    "decodeStruct",
    "decodeTag",
    "decodeVarint",
    "encode",
    "encodeStruct",
    "encodeTag",
    "encodeVarint",
    "member",
    "tdfStruct",
]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1

#: The union index meaning "no member is set".
UNSET_INDEX = 0x7F

#: An unset union as an element of a list ("heat bug" form): the index and
#: the terminator of an empty struct body.
_UNSET_ELEMENT = bytes([UNSET_INDEX, 0])

#: How deeply structs, lists, maps, unions and variables may nest.
MAX_DEPTH = 32

#: The longest varint that can carry 64 bits: 6 bits, then 7 bits a byte.
_MAX_VARINT_BYTES = 10


class TdfType(enum.IntEnum):
    """
    The type codes of TDF members (the fourth byte of a member header).
    """

    INT = 0x0
    STRING = 0x1
    BLOB = 0x2
    STRUCT = 0x3
    LIST = 0x4
    MAP = 0x5
    UNION = 0x6
    VARIABLE = 0x7
    OBJECT_TYPE = 0x8
    OBJECT_ID = 0x9
    FLOAT = 0xA


_TYPE_NAMES = {t.value: t.name.lower() for t in TdfType}

# The type codes as plain ints and the members by code: the hot paths
# compare and convert with these, which is several times faster than
# looking up or calling the enum.
(
    _T_INT,
    _T_STRING,
    _T_BLOB,
    _T_STRUCT,
    _T_LIST,
    _T_MAP,
    _T_UNION,
    _T_VARIABLE,
    _T_OBJECT_TYPE,
    _T_OBJECT_ID,
    _T_FLOAT,
) = range(11)
_TYPES = tuple(TdfType)
_TYPE_BY_VALUE = {t.value: t for t in TdfType}


def _asType(code: Any) -> TdfType:
    """
    C{TdfType(code)}, faster for the valid codes.
    """
    try:
        return _TYPE_BY_VALUE[code]
    except (KeyError, TypeError):
        return TdfType(code)


class TdfError(ValueError):
    """
    A value could not be encoded or bytes could not be decoded as TDF.

    @ivar reason: what is wrong, in words.
    @ivar offset: the byte offset in the input where it went wrong, or
        L{None} when not applicable.
    """

    def __init__(self, reason: str, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        if offset is None:
            super().__init__(reason)
        else:
            super().__init__(f"{reason} (at byte {offset})")


class TdfDecodeError(TdfError):
    """
    The input is not well-formed TDF.
    """


class TdfEncodeError(TdfError):
    """
    A value cannot be represented in TDF (a bad tag, an out-of-range
    integer, a value of the wrong Python type).
    """


# ---------------------------------------------------------------------------
# Tags

_TAG_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_tagCache: dict[str, bytes] = {}
_labelCache: dict[bytes, str] = {}
_CACHE_LIMIT = 4096


def encodeTag(label: str) -> bytes:
    """
    Compress a member label (1 to 4 characters from C{A-Z} and C{0-9}) to
    its 3-byte wire form.

    @raise TdfEncodeError: if the label is empty, too long or has another
        character.
    """
    cached = _tagCache.get(label)
    if cached is not None:
        return cached
    if not isinstance(label, str) or not 1 <= len(label) <= 4:
        raise TdfEncodeError(f"tag {label!r} must be 1 to 4 characters")
    if not _TAG_CHARS.issuperset(label):
        raise TdfEncodeError(f"tag {label!r} may only use A-Z and 0-9")
    packed = 0
    for char in label.ljust(4, "\0"):
        packed = (packed << 6) | ((ord(char) - 0x20) if char != "\0" else 0)
    raw = packed.to_bytes(3, "big")
    if len(_tagCache) < _CACHE_LIMIT:
        _tagCache[label] = raw
    return raw


def decodeTag(raw: bytes, offset: int = 0) -> str:
    """
    Expand a 3-byte tag to its label.

    @param offset: where the tag was found, for the error message.
    @raise TdfDecodeError: if the bytes are not a tag that L{encodeTag}
        could have written.
    """
    raw = bytes(raw)
    cached = _labelCache.get(raw)
    if cached is not None:
        return cached
    if len(raw) != 3:
        raise TdfDecodeError("a tag is 3 bytes", offset)
    packed = int.from_bytes(raw, "big")
    chars = []
    ended = False
    for shift in (18, 12, 6, 0):
        value = (packed >> shift) & 0x3F
        if value == 0:
            ended = True
            continue
        char = chr(value + 0x20)
        if ended or char not in _TAG_CHARS:
            raise TdfDecodeError(f"invalid tag bytes {raw.hex()}", offset)
        chars.append(char)
    if not chars:
        raise TdfDecodeError(f"invalid tag bytes {raw.hex()}", offset)
    label = "".join(chars)
    if len(_labelCache) < _CACHE_LIMIT:
        _labelCache[raw] = label
    return label


# ---------------------------------------------------------------------------
# Varints (sign-magnitude: first byte more|sign|6 bits, then more|7 bits)


def _writeVarint(out: bytearray, value: int) -> None:
    if 0 <= value < 0x40:
        out.append(value)
        return
    if 0 < value <= UINT64_MAX:
        # The common case, a positive value of two bytes or more.
        rest = value >> 6
        out.append(0x80 | (value & 0x3F))
        while rest >= 0x80:
            out.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out.append(rest)
        return
    if value < 0:
        if value < INT64_MIN:
            raise TdfEncodeError(f"integer {value} is below the 64-bit range")
        if value == INT64_MIN:
            # The lone "negative zero" byte stands for the smallest value.
            out.append(0x40)
            return
        magnitude = -value
        first = 0x40 | (magnitude & 0x3F)
    else:
        if value > UINT64_MAX:
            raise TdfEncodeError(f"integer {value} is above the 64-bit range")
        magnitude = value
        first = magnitude & 0x3F
    magnitude >>= 6
    if magnitude:
        first |= 0x80
    out.append(first)
    while magnitude:
        byte = magnitude & 0x7F
        magnitude >>= 7
        if magnitude:
            byte |= 0x80
        out.append(byte)


def encodeVarint(value: int) -> bytes:
    """
    Encode an integer in the range C{[-2**63, 2**64 - 1]}.

    Negative values use the sign bit (0x40 of the first byte) and their
    magnitude; values of 2**63 and above are written as unsigned
    magnitudes.

    @raise TdfEncodeError: if the value is outside that range.
    """
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, int):
        raise TdfEncodeError(f"expected an integer, not {type(value).__name__}")
    out = bytearray()
    _writeVarint(out, value)
    return bytes(out)


def decodeVarint(data: bytes, pos: int, end: int | None = None) -> tuple[int, int]:
    """
    Decode a varint at C{data[pos:]}.

    @return: the value and the offset just after it.
    @raise TdfDecodeError: if the input ends inside the varint or the
        varint does not fit 64 bits.
    """
    if end is None:
        end = len(data)
    if pos >= end:
        raise TdfDecodeError("input ends where an integer was expected", pos)
    first = data[pos]
    if first < 0x80:
        if first & 0x40:
            return (-(first & 0x3F) if first != 0x40 else INT64_MIN), pos + 1
        return first, pos + 1
    start = pos
    magnitude = first & 0x3F
    shift = 6
    pos += 1
    while True:
        if pos >= end:
            raise TdfDecodeError("input ends inside an integer", start)
        byte = data[pos]
        pos += 1
        magnitude |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
        if pos - start >= _MAX_VARINT_BYTES:
            raise TdfDecodeError("integer is longer than 64 bits", start)
    if first & 0x40:
        if magnitude > 1 << 63:
            raise TdfDecodeError("negative integer is below the 64-bit range", start)
        return -magnitude, pos
    if magnitude > UINT64_MAX:
        raise TdfDecodeError("integer is above the 64-bit range", start)
    return magnitude, pos


# ---------------------------------------------------------------------------
# Decoding context


@attrs.define
class DecodeContext:
    """
    What a decode noticed without failing.

    @ivar anomalies: one line for each member that was out of order or
        had an unexpected type, or another tolerated irregularity, with its
        byte offset.
    """

    anomalies: list[str] = attrs.field(factory=list)

    #: Stop recording after this many, so hostile input cannot grow it.
    limit: ClassVar[int] = 100

    def note(self, what: str, offset: int) -> None:
        if len(self.anomalies) < self.limit:
            self.anomalies.append(f"{what} (at byte {offset})")


def _need(pos: int, count: int, end: int, what: str) -> None:
    if pos + count > end:
        raise TdfDecodeError(f"input ends inside {what}", pos)


def _readLength(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    length, after = decodeVarint(data, pos, end)
    if length < 0:
        raise TdfDecodeError(f"negative {what} length {length}", pos)
    if length > end - after:
        raise TdfDecodeError(
            f"{what} length {length} runs past the end of the input", pos
        )
    return length, after


def _readCount(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    count, after = decodeVarint(data, pos, end)
    if count < 0:
        raise TdfDecodeError(f"negative {what} count {count}", pos)
    # Every element takes at least one byte, so a count larger than what
    # is left cannot be honest; refusing it bounds memory by input size.
    if count > end - after:
        raise TdfDecodeError(
            f"{what} count {count} is larger than the input left", pos
        )
    return count, after


def _readTypeByte(data: bytes, pos: int, end: int) -> int:
    _need(pos, 1, end, "a type byte")
    code = data[pos]
    if code > _T_FLOAT:
        raise TdfDecodeError(f"unknown TDF type 0x{code:02x}", pos)
    return code


def _readString(data: bytes, pos: int, end: int) -> tuple[str, int]:
    if pos < end:
        # Fast path: a one- or two-byte length and the terminating NUL.
        length = data[pos]
        start = pos + 1
        if length >= 0x40:
            if length & 0xC0 != 0x80 or start >= end or data[start] >= 0x80:
                length = 0
            else:
                length = (length & 0x3F) | (data[start] << 6)
                start += 1
        stop = start + length
        if length and stop <= end and data[stop - 1] == 0:
            try:
                return data[start : stop - 1].decode(), stop
            except UnicodeDecodeError:
                pass
    length, pos = _readLength(data, pos, end, "string")
    raw = data[pos : pos + length]
    if raw[-1:] == b"\x00":
        raw = raw[:-1]
    try:
        return raw.decode("utf-8"), pos + length
    except UnicodeDecodeError:
        # Tolerant: the game's strings are ASCII, but a stray byte must not
        # lose the whole message.  Surrogate escapes keep it re-encodable.
        return raw.decode("utf-8", "surrogateescape"), pos + length


def _writeString(out: bytearray, value: str) -> None:
    if not isinstance(value, str):
        raise TdfEncodeError(f"expected a string, not {type(value).__name__}")
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise TdfEncodeError("a string has a lone surrogate")
    _writeVarint(out, len(raw) + 1)
    out += raw
    out.append(0)


def _writeBlob(out: bytearray, value: bytes) -> None:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TdfEncodeError(f"expected bytes, not {type(value).__name__}")
    _writeVarint(out, len(value))
    out += value


def _readBlob(data: bytes, pos: int, end: int) -> tuple[bytes, int]:
    length, pos = _readLength(data, pos, end, "blob")
    return bytes(data[pos : pos + length]), pos + length


_FLOAT = _struct.Struct(">f")


def _writeFloat(out: bytearray, value: float) -> None:
    if not isinstance(value, float | int) or isinstance(value, bool):
        raise TdfEncodeError(f"expected a float, not {type(value).__name__}")
    try:
        out += _FLOAT.pack(value)
    except OverflowError:
        raise TdfEncodeError(f"float {value} does not fit 32 bits")


def _readFloat(data: bytes, pos: int, end: int) -> tuple[float, int]:
    _need(pos, 4, end, "a float")
    return _FLOAT.unpack_from(data, pos)[0], pos + 4


def _sortedMapItems(items: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """
    Order map entries the way the official server does: string keys
    case-insensitively (ties broken by the exact key, so the order is
    total), other keys by value.
    """
    listed = list(items)
    try:
        if listed and isinstance(listed[0][0], str):
            return sorted(listed, key=lambda kv: (kv[0].lower(), kv[0]))
        return sorted(listed, key=lambda kv: kv[0])
    except (TypeError, AttributeError):
        raise TdfEncodeError("map keys must be of one orderable type")


def _isHeaderStart(byte: int) -> bool:
    """
    Whether C{byte} can start a member header: the first character of a
    tag is a digit (0x40-0x67) or a letter (0x84-0xEB).
    """
    return 0x40 <= byte <= 0x67 or 0x84 <= byte <= 0xEB


# ---------------------------------------------------------------------------
# Skipping


def _skipValue(data: bytes, pos: int, end: int, code: int, depth: int) -> int:
    """
    Skip one value of type C{code}, as the element of a list or map would
    be written (struct bodies with their terminator).
    """
    if depth > MAX_DEPTH:
        raise TdfDecodeError("values nest too deeply", pos)
    if code == _T_INT:
        return decodeVarint(data, pos, end)[1]
    if code in (_T_STRING, _T_BLOB):
        length, pos = _readLength(data, pos, end, "string or blob")
        return pos + length
    if code == _T_STRUCT:
        return _skipStructBody(data, pos, end, depth + 1)
    if code == _T_LIST:
        elemCode = _readTypeByte(data, pos, end)
        count, pos = _readCount(data, pos + 1, end, "list")
        for _ in range(count):
            pos = _skipListElement(data, pos, end, elemCode, depth + 1)
        return pos
    if code == _T_MAP:
        keyCode = _readTypeByte(data, pos, end)
        valueCode = _readTypeByte(data, pos + 1, end)
        count, pos = _readCount(data, pos + 2, end, "map")
        for _ in range(count):
            pos = _skipValue(data, pos, end, keyCode, depth + 1)
            pos = _skipValue(data, pos, end, valueCode, depth + 1)
        return pos
    if code == _T_UNION:
        _need(pos, 1, end, "a union")
        index = data[pos]
        pos += 1
        if index == UNSET_INDEX:
            return pos
        return _skipMember(data, pos, end, depth + 1)
    if code == _T_VARIABLE:
        _need(pos, 1, end, "a variable")
        present = data[pos]
        pos += 1
        if not present:
            return pos
        pos = decodeVarint(data, pos, end)[1]
        pos = _skipMember(data, pos, end, depth + 1)
        if pos < end and data[pos] == 0:
            pos += 1
        return pos
    if code == _T_OBJECT_TYPE:
        pos = decodeVarint(data, pos, end)[1]
        return decodeVarint(data, pos, end)[1]
    if code == _T_OBJECT_ID:
        pos = decodeVarint(data, pos, end)[1]
        pos = decodeVarint(data, pos, end)[1]
        return decodeVarint(data, pos, end)[1]
    if code == _T_FLOAT:
        _need(pos, 4, end, "a float")
        return pos + 4
    raise TdfDecodeError(f"unknown TDF type 0x{code:02x}", pos)


def _skipListElement(data: bytes, pos: int, end: int, code: int, depth: int) -> int:
    if code == _T_STRUCT:
        _need(pos, 1, end, "a list element")
        first = data[pos]
        if first == UNSET_INDEX:
            return _afterUnsetElement(data, pos + 1, end)
        if first != 0 and not _isHeaderStart(first):
            # The "heat bug" form of a union: index, then a struct body.
            return _skipStructBody(data, pos + 1, end, depth + 1)
    return _skipValue(data, pos, end, code, depth)


def _afterUnsetElement(data: bytes, pos: int, end: int) -> int:
    """
    The position after an unset union element of a list, whose C{7F} ends
    at C{pos}: its empty struct body's C{00} (as the official encoder and
    PocketRelay write it) is skipped when present; a lone C{7F} is
    accepted too.
    """
    if pos < end and data[pos] == 0:
        return pos + 1
    return pos


def _skipMember(data: bytes, pos: int, end: int, depth: int) -> int:
    _need(pos, 4, end, "a member header")
    decodeTag(data[pos : pos + 3], pos)
    code = _readTypeByte(data, pos + 3, end)
    return _skipValue(data, pos + 4, end, code, depth)


def _skipStructBody(data: bytes, pos: int, end: int, depth: int) -> int:
    if depth > MAX_DEPTH:
        raise TdfDecodeError("values nest too deeply", pos)
    while True:
        if pos >= end:
            raise TdfDecodeError("input ends inside a struct", pos)
        if data[pos] == 0:
            return pos + 1
        pos = _skipMember(data, pos, end, depth)


# ---------------------------------------------------------------------------
# The generic value model


@attrs.frozen(order=True)
class ObjectType:
    """
    A Blaze object type: a component and a type within it.
    """

    component: int
    type: int


@attrs.frozen(order=True)
class ObjectId:
    """
    A Blaze object id: a component, a type within it, and an id.
    """

    component: int
    type: int
    id: int


@attrs.frozen
class Member:
    """
    One member of a struct as decoded without a schema.

    @ivar tag: the label, e.g. C{"GID"}.
    @ivar type: the L{TdfType} of the value.
    @ivar value: C{int}, C{str}, C{bytes}, C{float}, L{StructValue},
        L{ListValue}, L{MapValue}, L{UnionValue}, L{VariableValue} (or
        L{None} for an absent variable), L{ObjectType} or L{ObjectId}.
    """

    tag: str
    type: TdfType
    value: Any


@attrs.frozen
class StructValue:
    """
    A struct as decoded without a schema: its members in wire order.
    """

    members: tuple[Member, ...] = ()

    def get(self, tag: str, default: Any = None) -> Any:
        """
        The value of the first member with this tag, or C{default}.
        """
        for item in self.members:
            if item.tag == tag:
                return item.value
        return default

    def __getitem__(self, tag: str) -> Any:
        for item in self.members:
            if item.tag == tag:
                return item.value
        raise KeyError(tag)

    def __contains__(self, tag: object) -> bool:
        return any(item.tag == tag for item in self.members)


@attrs.frozen
class ListValue:
    """
    A list as decoded without a schema.

    @ivar elementType: the element type written on the wire; unions, maps
        and lists inside lists are written as L{TdfType.STRUCT} (the "heat
        bug"), so union elements appear here with that type.
    """

    elementType: TdfType
    items: tuple[Any, ...] = ()


@attrs.frozen
class MapValue:
    """
    A map as decoded without a schema: its entries in wire order.
    """

    keyType: TdfType
    valueType: TdfType
    items: tuple[tuple[Any, Any], ...] = ()

    def asDict(self) -> dict[Any, Any]:
        return dict(self.items)


@attrs.frozen
class UnionValue:
    """
    A union as decoded without a schema.

    @ivar index: the active alternative, L{UNSET_INDEX} when none is.
    @ivar member: the active member, L{None} when unset.  In the list
        ("heat bug") form the member has the tag C{VALU} and a struct value.
    """

    index: int = UNSET_INDEX
    member: Member | None = None


@attrs.frozen
class VariableValue:
    """
    A type-7 ("variable") value that is present.

    @ivar tdfId: the id of the TDF class of the member.
    @ivar member: the member it carries.
    """

    tdfId: int
    member: Member


def _decodeGenericValue(
    data: bytes, pos: int, end: int, code: int, depth: int, ctx: DecodeContext
) -> tuple[Any, int]:
    if depth > MAX_DEPTH:
        raise TdfDecodeError("values nest too deeply", pos)
    if code == _T_INT:
        return decodeVarint(data, pos, end)
    if code == _T_STRING:
        return _readString(data, pos, end)
    if code == _T_BLOB:
        return _readBlob(data, pos, end)
    if code == _T_STRUCT:
        return _decodeGenericStruct(data, pos, end, True, depth + 1, ctx)
    if code == _T_LIST:
        elemCode = _readTypeByte(data, pos, end)
        count, pos = _readCount(data, pos + 1, end, "list")
        items = []
        for _ in range(count):
            item, pos = _decodeGenericListElement(
                data, pos, end, elemCode, depth + 1, ctx
            )
            items.append(item)
        return ListValue(_TYPES[elemCode], tuple(items)), pos
    if code == _T_MAP:
        keyCode = _readTypeByte(data, pos, end)
        valueCode = _readTypeByte(data, pos + 1, end)
        count, pos = _readCount(data, pos + 2, end, "map")
        entries = []
        for _ in range(count):
            key, pos = _decodeGenericValue(data, pos, end, keyCode, depth + 1, ctx)
            value, pos = _decodeGenericValue(data, pos, end, valueCode, depth + 1, ctx)
            entries.append((key, value))
        return MapValue(_TYPES[keyCode], _TYPES[valueCode], tuple(entries)), pos
    if code == _T_UNION:
        _need(pos, 1, end, "a union")
        index = data[pos]
        pos += 1
        if index == UNSET_INDEX:
            return UnionValue(), pos
        item, pos = _decodeGenericMember(data, pos, end, depth + 1, ctx)
        return UnionValue(index, item), pos
    if code == _T_VARIABLE:
        _need(pos, 1, end, "a variable")
        present = data[pos]
        pos += 1
        if not present:
            return None, pos
        tdfId, pos = decodeVarint(data, pos, end)
        item, pos = _decodeGenericMember(data, pos, end, depth + 1, ctx)
        if pos < end and data[pos] == 0:
            pos += 1
        else:
            ctx.note("variable value without its terminator", pos)
        return VariableValue(tdfId, item), pos
    if code == _T_OBJECT_TYPE:
        component, pos = decodeVarint(data, pos, end)
        kind, pos = decodeVarint(data, pos, end)
        return ObjectType(component, kind), pos
    if code == _T_OBJECT_ID:
        component, pos = decodeVarint(data, pos, end)
        kind, pos = decodeVarint(data, pos, end)
        ident, pos = decodeVarint(data, pos, end)
        return ObjectId(component, kind, ident), pos
    if code == _T_FLOAT:
        return _readFloat(data, pos, end)
    raise TdfDecodeError(f"unknown TDF type 0x{code:02x}", pos)


def _decodeGenericListElement(
    data: bytes, pos: int, end: int, code: int, depth: int, ctx: DecodeContext
) -> tuple[Any, int]:
    if code == _T_STRUCT:
        _need(pos, 1, end, "a list element")
        first = data[pos]
        if first == UNSET_INDEX:
            return UnionValue(), _afterUnsetElement(data, pos + 1, end)
        if first != 0 and not _isHeaderStart(first):
            body, pos = _decodeGenericStruct(data, pos + 1, end, True, depth + 1, ctx)
            return UnionValue(first, Member("VALU", _TYPES[_T_STRUCT], body)), pos
    return _decodeGenericValue(data, pos, end, code, depth, ctx)


def _decodeGenericMember(
    data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
) -> tuple[Member, int]:
    # _need, decodeTag and _readTypeByte, inlined.
    if pos + 4 > end:
        raise TdfDecodeError("input ends inside a member header", pos)
    raw = data[pos : pos + 3]
    tag = _labelCache.get(raw) if raw.__class__ is bytes else None
    if tag is None:
        tag = decodeTag(raw, pos)
    code = data[pos + 3]
    if code > _T_FLOAT:
        raise TdfDecodeError(f"unknown TDF type 0x{code:02x}", pos + 3)
    value, pos = _decodeGenericValue(data, pos + 4, end, code, depth, ctx)
    return Member(tag, _TYPES[code], value), pos


def _decodeGenericStruct(
    data: bytes,
    pos: int,
    end: int,
    nested: bool,
    depth: int,
    ctx: DecodeContext,
) -> tuple[StructValue, int]:
    if depth > MAX_DEPTH:
        raise TdfDecodeError("values nest too deeply", pos)
    members = []
    lastRaw = b""
    while True:
        if pos >= end:
            if nested:
                raise TdfDecodeError("input ends inside a struct", pos)
            break
        if nested and data[pos] == 0:
            pos += 1
            break
        raw = data[pos : pos + 3]
        start = pos
        item, pos = _decodeGenericMember(data, pos, end, depth, ctx)
        if raw <= lastRaw:
            ctx.note(f"member {item.tag} is out of order", start)
        lastRaw = raw
        members.append(item)
    return StructValue(tuple(members)), pos


def decodeStruct(
    data: bytes, context: DecodeContext | None = None
) -> StructValue:
    """
    Decode a whole message body (a struct body without terminator) into
    the generic value model.

    @raise TdfDecodeError: if the bytes are malformed.
    """
    data = bytes(data)
    ctx = context if context is not None else DecodeContext()
    value, _ = _decodeGenericStruct(data, 0, len(data), False, 0, ctx)
    return value


def _encodeGenericValue(out: bytearray, code: int, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise TdfEncodeError("values nest too deeply")
    if code == _T_INT:
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int):
            raise TdfEncodeError(f"expected an integer, not {type(value).__name__}")
        _writeVarint(out, value)
    elif code == _T_STRING:
        _writeString(out, value)
    elif code == _T_BLOB:
        _writeBlob(out, value)
    elif code == _T_STRUCT:
        if isinstance(value, UnionValue):
            _encodeHeatUnion(out, value, depth)
            return
        if not isinstance(value, StructValue):
            raise TdfEncodeError(f"expected a StructValue, not {type(value).__name__}")
        _encodeGenericMembers(out, value.members, depth + 1)
        out.append(0)
    elif code == _T_LIST:
        if not isinstance(value, ListValue):
            raise TdfEncodeError(f"expected a ListValue, not {type(value).__name__}")
        elemCode = value.elementType
        wireCode = (
            _T_STRUCT
            if elemCode in (_T_UNION, _T_MAP, _T_LIST)
            else elemCode
        )
        out.append(wireCode)
        _writeVarint(out, len(value.items))
        for item in value.items:
            if elemCode == _T_UNION:
                _encodeHeatUnion(out, item, depth + 1)
            else:
                _encodeGenericValue(out, elemCode, item, depth + 1)
    elif code == _T_MAP:
        if not isinstance(value, MapValue):
            raise TdfEncodeError(f"expected a MapValue, not {type(value).__name__}")
        out.append(value.keyType)
        out.append(value.valueType)
        _writeVarint(out, len(value.items))
        for key, item in _sortedMapItems(value.items):
            _encodeGenericValue(out, value.keyType, key, depth + 1)
            _encodeGenericValue(out, value.valueType, item, depth + 1)
    elif code == _T_UNION:
        if not isinstance(value, UnionValue):
            raise TdfEncodeError(f"expected a UnionValue, not {type(value).__name__}")
        if value.member is None or value.index == UNSET_INDEX:
            out.append(UNSET_INDEX)
        else:
            _checkIndex(value.index)
            out.append(value.index)
            _encodeGenericMember(out, value.member, depth + 1)
    elif code == _T_VARIABLE:
        if value is None:
            out.append(0)
        elif isinstance(value, VariableValue):
            out.append(1)
            _writeVarint(out, value.tdfId)
            _encodeGenericMember(out, value.member, depth + 1)
            out.append(0)
        else:
            raise TdfEncodeError(
                f"expected a VariableValue or None, not {type(value).__name__}"
            )
    elif code == _T_OBJECT_TYPE:
        if not isinstance(value, ObjectType):
            raise TdfEncodeError(f"expected an ObjectType, not {type(value).__name__}")
        _writeVarint(out, value.component)
        _writeVarint(out, value.type)
    elif code == _T_OBJECT_ID:
        if not isinstance(value, ObjectId):
            raise TdfEncodeError(f"expected an ObjectId, not {type(value).__name__}")
        _writeVarint(out, value.component)
        _writeVarint(out, value.type)
        _writeVarint(out, value.id)
    elif code == _T_FLOAT:
        _writeFloat(out, value)
    else:
        raise TdfEncodeError(f"unknown TDF type {code!r}")


def _checkIndex(index: int) -> None:
    if not isinstance(index, int) or not 0 <= index < UNSET_INDEX:
        raise TdfEncodeError(f"union index {index!r} must be 0 to 126")


def _encodeHeatUnion(out: bytearray, value: Any, depth: int) -> None:
    """
    Write a union as an element of a list: index, the struct body of the
    active member without its header, terminator.  Unset is C{7F} and the
    terminator of an empty body: C{7F 00}.
    """
    if not isinstance(value, UnionValue):
        raise TdfEncodeError(f"expected a UnionValue, not {type(value).__name__}")
    if value.member is None or value.index == UNSET_INDEX:
        out += _UNSET_ELEMENT
        return
    _checkIndex(value.index)
    if value.index == 0 or _isHeaderStart(value.index):
        # 0 would read as an empty struct, the others as a member header.
        raise TdfEncodeError(
            f"union index {value.index} cannot be written inside a list"
        )
    body = value.member.value
    if value.member.type != _T_STRUCT or not isinstance(body, StructValue):
        raise TdfEncodeError("a union inside a list must carry a struct")
    out.append(value.index)
    _encodeGenericMembers(out, body.members, depth + 1)
    out.append(0)


def _encodeGenericMember(out: bytearray, item: Member, depth: int) -> None:
    if not isinstance(item, Member):
        raise TdfEncodeError(f"expected a Member, not {type(item).__name__}")
    out += encodeTag(item.tag)
    code = _asType(item.type)
    out.append(code)
    _encodeGenericValue(out, code, item.value, depth)


def _encodeGenericMembers(out: bytearray, members: Iterable[Member], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise TdfEncodeError("values nest too deeply")
    for item in sorted(members, key=lambda m: encodeTag(m.tag)):
        _encodeGenericMember(out, item, depth)


def encodeStruct(value: StructValue | Iterable[Member]) -> bytes:
    """
    Encode generic members as a message body, canonically: members in
    ascending tag order, string-keyed maps in case-insensitive order.

    @raise TdfEncodeError: if a value cannot be represented.
    """
    members = value.members if isinstance(value, StructValue) else tuple(value)
    out = bytearray()
    _encodeGenericMembers(out, members, 0)
    return bytes(out)


# ---------------------------------------------------------------------------
# Kinds: how declared members are encoded and decoded

_Decoded = tuple[Any, int]


class Kind:
    """
    The type of a declared member: how its value is written and read.

    @cvar code: the L{TdfType} written in the member header.
    """

    code: TdfType

    def default(self) -> Any:
        raise NotImplementedError

    def write(self, out: bytearray, value: Any, depth: int) -> None:
        raise NotImplementedError

    def read(
        self, data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
    ) -> _Decoded:
        raise NotImplementedError

    def wireCodeInList(self) -> int:
        """
        The element type written for a list of this kind.
        """
        return self.code

    def writeInList(self, out: bytearray, value: Any, depth: int) -> None:
        self.write(out, value, depth)

    def readInList(
        self, data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
    ) -> _Decoded:
        return self.read(data, pos, end, depth, ctx)

    def describe(self) -> str:
        return _TYPE_NAMES[self.code]


class _IntKind(Kind):
    code = TdfType.INT

    def __init__(self, unsigned: bool = False, boolean: bool = False) -> None:
        self.unsigned = unsigned
        self.boolean = boolean

    def default(self) -> Any:
        return False if self.boolean else 0

    def write(self, out: bytearray, value: Any, depth: int) -> None:
        if value.__class__ is int and 0 <= value < 0x40:
            out.append(value)
            return
        if isinstance(value, bool):
            value = int(value)
        elif not isinstance(value, int):
            raise TdfEncodeError(f"expected an integer, not {type(value).__name__}")
        if self.unsigned and value < 0:
            raise TdfEncodeError(f"unsigned integer {value} is negative")
        _writeVarint(out, value)

    def read(
        self, data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
    ) -> _Decoded:
        value, pos = decodeVarint(data, pos, end)
        if self.boolean:
            return value != 0, pos
        if self.unsigned and value < 0:
            # A4K-style writers cast large unsigned values to signed.
            value &= UINT64_MAX
        return value, pos


class _StrKind(Kind):
    code = TdfType.STRING

    def default(self) -> Any:
        return ""

    def write(self, out: bytearray, value: Any, depth: int) -> None:
        _writeString(out, value)

    def read(
        self, data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
    ) -> _Decoded:
        return _readString(data, pos, end)


class _BlobKind(Kind):
    code = TdfType.BLOB

    def default(self) -> Any:
        return b""

    def write(self, out: bytearray, value: Any, depth: int) -> None:
        _writeBlob(out, value)

    def read(
        self, data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
    ) -> _Decoded:
        return _readBlob(data, pos, end)


class _FloatKind(Kind):
    code = TdfType.FLOAT

    def default(self) -> Any:
        return 0.0

    def write(self, out: bytearray, value: Any, depth: int) -> None:
        _writeFloat(out, value)

    def read(
        self, data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
    ) -> _Decoded:
        return _readFloat(data, pos, end)


class _ObjTypeKind(Kind):
    code = TdfType.OBJECT_TYPE

    def default(self) -> Any:
        return ObjectType(0, 0)

    def write(self, out: bytearray, value: Any, depth: int) -> None:
        _encodeGenericValue(out, _T_OBJECT_TYPE, value, depth)

    def read(
        self, data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
    ) -> _Decoded:
        return _decodeGenericValue(data, pos, end, _T_OBJECT_TYPE, depth, ctx)


class _ObjIdKind(Kind):
    code = TdfType.OBJECT_ID

    def default(self) -> Any:
        return ObjectId(0, 0, 0)

    def write(self, out: bytearray, value: Any, depth: int) -> None:
        _encodeGenericValue(out, _T_OBJECT_ID, value, depth)

    def read(
        self, data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
    ) -> _Decoded:
        return _decodeGenericValue(data, pos, end, _T_OBJECT_ID, depth, ctx)


class _VarKind(Kind):
    """
    Type 7: encoded strictly (present, tdfId, member, terminator), decoded
    tolerantly (a missing terminator is noted, not fatal).
    """

    code = TdfType.VARIABLE

    def default(self) -> Any:
        return None

    def write(self, out: bytearray, value: Any, depth: int) -> None:
        _encodeGenericValue(out, _T_VARIABLE, value, depth)

    def read(
        self, data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
    ) -> _Decoded:
        return _decodeGenericValue(data, pos, end, _T_VARIABLE, depth, ctx)


class _GenericStructKind(Kind):
    """
    A struct member whose schema is not declared: decoded to a
    L{StructValue}.
    """

    code = TdfType.STRUCT

    def __call__(self) -> _GenericStructKind:
        # GenericStruct is a kind like Int; calling it is tolerated.
        return self

    def default(self) -> Any:
        return StructValue()

    def write(self, out: bytearray, value: Any, depth: int) -> None:
        _encodeGenericValue(out, _T_STRUCT, value, depth)

    def read(
        self, data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
    ) -> _Decoded:
        return _decodeGenericStruct(data, pos, end, True, depth + 1, ctx)


#: A signed 64-bit integer (also enums and flags).
Int: Kind = _IntKind()
#: An unsigned 64-bit integer: negative wire values are read modulo 2**64.
UInt: Kind = _IntKind(unsigned=True)
#: An integer read as C{bool}.
Bool: Kind = _IntKind(boolean=True)
#: A UTF-8 string.
Str: Kind = _StrKind()
#: Raw bytes.
Blob: Kind = _BlobKind()
#: An IEEE-754 single-precision float.
Float: Kind = _FloatKind()
#: An L{ObjectType}.
ObjType: Kind = _ObjTypeKind()
#: An L{ObjectId}.
ObjId: Kind = _ObjIdKind()
#: A type-7 variable: a L{VariableValue} or L{None}.
Var: Kind = _VarKind()
#: A struct without a declared schema: a L{StructValue}.
GenericStruct = _GenericStructKind()


class ListOf(Kind):
    """
    A list of values of one kind, decoded to a Python C{list}.

    Lists of unions, maps and lists are written with element type struct
    (the "heat bug"); on reading both that and the plain type are accepted.
    """

    code = TdfType.LIST

    def __init__(self, element: Kind) -> None:
        self.element = element
        self._wireCode = element.wireCodeInList()

    def default(self) -> Any:
        return []

    def describe(self) -> str:
        return f"list<{self.element.describe()}>"

    def write(self, out: bytearray, value: Any, depth: int) -> None:
        if not isinstance(value, list | tuple):
            raise TdfEncodeError(f"expected a list, not {type(value).__name__}")
        out.append(self._wireCode)
        _writeVarint(out, len(value))
        element = self.element
        if element.code == _T_INT:
            for item in value:
                if item.__class__ is int and 0 <= item < 0x40:
                    out.append(item)
                else:
                    element.write(out, item, depth + 1)
            return
        if type(element) is StructOf:
            # What element.writeInList does, without three calls per element.
            write = element.codec.write
            for item in value:
                write(out, item, depth + 2)
                out.append(0)
            return
        for item in value:
            element.writeInList(out, item, depth + 1)

    def read(
        self, data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
    ) -> _Decoded:
        if depth > MAX_DEPTH:
            raise TdfDecodeError("values nest too deeply", pos)
        code = _readTypeByte(data, pos, end)
        count, pos = _readCount(data, pos + 1, end, "list")
        element = self.element
        if code != self._wireCode and code != element.code:
            ctx.note(
                f"list of {_TYPE_NAMES[code]} where {element.describe()} was expected",
                pos,
            )
            for _ in range(count):
                pos = _skipListElement(data, pos, end, code, depth + 1)
            return self.default(), pos
        items: list[Any] = []
        append = items.append
        if code == element.code and code != self._wireCode:
            for _ in range(count):
                item, pos = element.read(data, pos, end, depth + 1, ctx)
                append(item)
        elif type(element) is StructOf:
            # What element.readInList does, without three calls per element.
            read = element.codec.read
            for _ in range(count):
                item, pos = read(data, pos, end, True, depth + 2, ctx)
                append(item)
        else:
            for _ in range(count):
                item, pos = element.readInList(data, pos, end, depth + 1, ctx)
                append(item)
        return items, pos

    def wireCodeInList(self) -> int:
        return TdfType.STRUCT


class MapOf(Kind):
    """
    A map, decoded to a Python C{dict} (later duplicates win).  String keys
    are written in case-insensitive order, other keys ascending.
    """

    code = TdfType.MAP

    def __init__(self, key: Kind, value: Kind) -> None:
        self.key = key
        self.value = value
        self._stringKeys = key.code == TdfType.STRING

    def default(self) -> Any:
        return {}

    def describe(self) -> str:
        return f"map<{self.key.describe()}, {self.value.describe()}>"

    def write(self, out: bytearray, value: Any, depth: int) -> None:
        if not isinstance(value, Mapping):
            raise TdfEncodeError(f"expected a mapping, not {type(value).__name__}")
        out.append(self.key.code)
        out.append(self.value.code)
        _writeVarint(out, len(value))
        if self._stringKeys:
            try:
                # Two stable sorts order by (key.lower(), key) without
                # calling a Python key function for every entry.
                keys = sorted(sorted(value), key=str.lower)
            except TypeError:
                # Not all keys are str: order them as before, so that the
                # key writer reports the bad key.
                try:
                    entries = sorted(
                        value.items(), key=lambda kv: (kv[0].lower(), kv[0])
                    )
                except (AttributeError, TypeError):
                    raise TdfEncodeError("map keys must be strings")
            else:
                entries = [(key, value[key]) for key in keys]
        else:
            try:
                entries = sorted(value.items())
            except TypeError:
                raise TdfEncodeError("map keys must be of one comparable type")
        keyWrite = self.key.write
        valueWrite = self.value.write
        if self._stringKeys and self.value.code == _T_STRING:
            # The common case (attribute and config maps), inlined.
            for key, item in entries:
                rawKey = rawItem = None
                if key.__class__ is str and item.__class__ is str:
                    try:
                        rawKey = key.encode("utf-8", "surrogateescape")
                        rawItem = item.encode("utf-8", "surrogateescape")
                    except UnicodeEncodeError:
                        rawKey = None
                if rawKey is None or rawItem is None:
                    # Not plain strings, or not encodable: the kinds'
                    # writers handle or report them.
                    keyWrite(out, key, depth + 1)
                    valueWrite(out, item, depth + 1)
                    continue
                size = len(rawKey) + 1
                if size < 0x40:
                    out.append(size)
                else:
                    _writeVarint(out, size)
                out += rawKey
                out.append(0)
                size = len(rawItem) + 1
                if size < 0x40:
                    out.append(size)
                elif size < 0x2000:
                    out.append(0x80 | (size & 0x3F))
                    out.append(size >> 6)
                else:
                    _writeVarint(out, size)
                out += rawItem
                out.append(0)
            return
        for key, item in entries:
            keyWrite(out, key, depth + 1)
            valueWrite(out, item, depth + 1)

    def read(
        self, data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
    ) -> _Decoded:
        if depth > MAX_DEPTH:
            raise TdfDecodeError("values nest too deeply", pos)
        keyCode = _readTypeByte(data, pos, end)
        valueCode = _readTypeByte(data, pos + 1, end)
        count, pos = _readCount(data, pos + 2, end, "map")
        if keyCode != self.key.code or valueCode != self.value.code:
            ctx.note(
                f"map<{_TYPE_NAMES[keyCode]}, {_TYPE_NAMES[valueCode]}> where "
                f"{self.describe()} was expected",
                pos,
            )
            for _ in range(count):
                pos = _skipValue(data, pos, end, keyCode, depth + 1)
                pos = _skipValue(data, pos, end, valueCode, depth + 1)
            return self.default(), pos
        result = {}
        if keyCode == _T_STRING and valueCode == _T_STRING:
            for _ in range(count):
                key, pos = _readString(data, pos, end)
                result[key], pos = _readString(data, pos, end)
            return result, pos
        keyRead = self.key.read
        valueRead = self.value.read
        for _ in range(count):
            key, pos = keyRead(data, pos, end, depth + 1, ctx)
            result[key], pos = valueRead(data, pos, end, depth + 1, ctx)
        return result, pos


@attrs.frozen
class Choice:
    """
    The value of a declared union: the active alternative and its value.
    """

    index: int = UNSET_INDEX
    value: Any = None

    @property
    def isSet(self) -> bool:
        return self.index != UNSET_INDEX


class UnionOf(Kind):
    """
    A union, decoded to a L{Choice}.

    @param alternatives: for each index, the kind of the value.  The
        member tag is C{tag} (C{VALU} for every union ME3 uses).
    """

    code = TdfType.UNION

    def __init__(self, alternatives: Mapping[int, Kind], tag: str = "VALU") -> None:
        for index in alternatives:
            _checkIndex(index)
        self.alternatives = dict(alternatives)
        self.tag = tag
        self._header = {
            index: encodeTag(tag) + bytes([kind.code])
            for index, kind in self.alternatives.items()
        }

    def default(self) -> Any:
        return Choice()

    def describe(self) -> str:
        inner = ", ".join(
            f"{i}: {k.describe()}" for i, k in sorted(self.alternatives.items())
        )
        return f"union[{inner}]"

    def _alternative(self, value: Any) -> Kind | None:
        if not isinstance(value, Choice):
            raise TdfEncodeError(f"expected a Choice, not {type(value).__name__}")
        if value.index == UNSET_INDEX:
            return None
        kind = self.alternatives.get(value.index)
        if kind is None:
            raise TdfEncodeError(f"union has no alternative {value.index}")
        return kind

    def write(self, out: bytearray, value: Any, depth: int) -> None:
        kind = self._alternative(value)
        if kind is None:
            out.append(UNSET_INDEX)
            return
        out.append(value.index)
        out += self._header[value.index]
        kind.write(out, value.value, depth + 1)

    def read(
        self, data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
    ) -> _Decoded:
        _need(pos, 1, end, "a union")
        index = data[pos]
        pos += 1
        if index == UNSET_INDEX:
            return Choice(), pos
        header = self._header.get(index)
        if header is not None and data[pos : pos + 4] == header:
            # The usual case: the declared header of a declared alternative.
            value, pos = self.alternatives[index].read(
                data, pos + 4, end, depth + 1, ctx
            )
            return Choice(index, value), pos
        _need(pos, 4, end, "a member header")
        decodeTag(data[pos : pos + 3], pos)
        code = _readTypeByte(data, pos + 3, end)
        kind = self.alternatives.get(index)
        if kind is None or kind.code != code:
            ctx.note(f"union alternative {index} of type {_TYPE_NAMES[code]} is not declared", pos)
            value, pos = _decodeGenericValue(data, pos + 4, end, code, depth + 1, ctx)
            return Choice(index, value), pos
        value, pos = kind.read(data, pos + 4, end, depth + 1, ctx)
        return Choice(index, value), pos

    def wireCodeInList(self) -> int:
        return TdfType.STRUCT

    def writeInList(self, out: bytearray, value: Any, depth: int) -> None:
        kind = self._alternative(value)
        if kind is None:
            out += _UNSET_ELEMENT
            return
        if not isinstance(kind, StructOf):
            raise TdfEncodeError("a union inside a list must carry a struct")
        if value.index == 0 or _isHeaderStart(value.index):
            # 0 would read as an empty struct, the others as a member header.
            raise TdfEncodeError(
                f"union index {value.index} cannot be written inside a list"
            )
        out.append(value.index)
        kind.write(out, value.value, depth + 1)

    def readInList(
        self, data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
    ) -> _Decoded:
        _need(pos, 1, end, "a list element")
        index = data[pos]
        if index == UNSET_INDEX:
            return Choice(), _afterUnsetElement(data, pos + 1, end)
        if index == 0 or _isHeaderStart(index):
            # Not the union form after all: a plain struct.  Keep it under
            # the first struct alternative so nothing is lost.
            ctx.note("union element without its index", pos)
            structIndex = next(
                (i for i, k in sorted(self.alternatives.items()) if isinstance(k, StructOf)),
                None,
            )
            if structIndex is None:
                value, pos = _decodeGenericStruct(data, pos, end, True, depth + 1, ctx)
                return Choice(0, value), pos
            value, pos = self.alternatives[structIndex].read(data, pos, end, depth, ctx)
            return Choice(structIndex, value), pos
        pos += 1
        kind = self.alternatives.get(index)
        if kind is None or not isinstance(kind, StructOf):
            ctx.note(f"union alternative {index} is not declared", pos)
            value, pos = _decodeGenericStruct(data, pos, end, True, depth + 1, ctx)
            return Choice(index, value), pos
        value, pos = kind.read(data, pos, end, depth, ctx)
        return Choice(index, value), pos


# ---------------------------------------------------------------------------
# Declared structs

_T = TypeVar("_T")

_TAG_KEY = "tdf.tag"
_KIND_KEY = "tdf.kind"
_OPTIONAL_KEY = "tdf.optional"


def member(
    tag: str,
    kind: Kind,
    *,
    default: Any = attrs.NOTHING,
    optional: bool = False,
) -> Any:
    """
    Declare a member of a L{tdfStruct} class.

    @param tag: the wire label, 1 to 4 characters from A-Z and 0-9.
    @param kind: how the value is encoded (L{Int}, L{Str}, L{ListOf}...).
    @param default: the default value; without one, the kind's default.
    @param optional: when true the default is L{None} and the member is
        left out of the encoding while it is L{None}.  The official encoder
        writes every member; emulators leave some out, which this allows.
    """
    encodeTag(tag)
    metadata = {_TAG_KEY: tag, _KIND_KEY: kind, _OPTIONAL_KEY: optional}
    if optional:
        return attrs.field(default=None if default is attrs.NOTHING else default,
                           metadata=metadata)
    if default is not attrs.NOTHING:
        return attrs.field(default=default, metadata=metadata)
    sample = kind.default()
    if isinstance(sample, list | dict) or isinstance(kind, StructOf):
        # Mutable: every instance gets its own.
        return attrs.field(factory=kind.default, metadata=metadata)
    return attrs.field(default=sample, metadata=metadata)


@attrs.frozen
class _MemberSpec:
    name: str
    tag: str
    raw: bytes
    header: bytes
    kind: Kind
    optional: bool


class StructOf(Kind):
    """
    A struct member whose schema is a L{tdfStruct} class.
    """

    code = TdfType.STRUCT

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self._codec: _StructCodec | None = None

    @property
    def codec(self) -> _StructCodec:
        codec = self._codec
        if codec is None:
            codec = self._codec = _codecFor(self.cls)
        return codec

    def default(self) -> Any:
        return self.cls()

    def describe(self) -> str:
        return self.cls.__name__

    def write(self, out: bytearray, value: Any, depth: int) -> None:
        self.codec.write(out, value, depth + 1)
        out.append(0)

    def read(
        self, data: bytes, pos: int, end: int, depth: int, ctx: DecodeContext
    ) -> _Decoded:
        return self.codec.read(data, pos, end, True, depth + 1, ctx)


_StructReader = Callable[[bytes, int, int, bool, int, DecodeContext], _Decoded]
_StructWriter = Callable[[bytearray, Any, int], None]


class _StructCodec:
    """
    The compiled encoder and decoder of one L{tdfStruct} class.

    C{read} and C{write} are functions generated for the class (see
    L{_compileRead} and L{_compileWrite}): straight-line code for the
    members in canonical order, with the common cases of integers, strings,
    blobs and nested structs inlined.  Decoding leaves that fast path for
    the general loop (L{_readRest}) at the first member that is not the
    next one expected, so tolerant decoding costs nothing when the input
    is canonical.

    @ivar read: C{(data, pos, end, nested, depth, ctx) -> (value, pos)}.
    @ivar write: C{(out, value, depth) -> None}.
    """

    read: _StructReader
    write: _StructWriter

    def __init__(self, cls: type) -> None:
        self.cls = cls
        specs = []
        aliases = {}
        for field in attrs.fields(cls):
            tag = field.metadata.get(_TAG_KEY)
            if tag is None:
                continue
            kind = field.metadata[_KIND_KEY]
            raw = encodeTag(tag)
            aliases[field.name] = field.alias or field.name
            specs.append(
                _MemberSpec(
                    name=field.name,
                    tag=tag,
                    raw=raw,
                    header=raw + bytes([kind.code]),
                    kind=kind,
                    optional=field.metadata[_OPTIONAL_KEY],
                )
            )
        specs.sort(key=lambda s: s.raw)
        for before, after in itertools.pairwise(specs):
            if before.raw == after.raw:
                raise TypeError(
                    f"{cls.__name__} declares tag {after.tag} twice "
                    f"({before.name} and {after.name})"
                )
        self.specs = tuple(specs)
        self.byRaw = {spec.raw: spec for spec in specs}
        self._aliases = (
            aliases if any(k != v for k, v in aliases.items()) else None
        )
        self.read = self._compileRead()
        self.write = self._compileWrite()

    def _build(self, values: dict[str, Any]) -> Any:
        if self._aliases is not None:
            aliases = self._aliases
            return self.cls(**{aliases[name]: v for name, v in values.items()})
        return self.cls(**values)

    def _readRest(
        self,
        data: bytes,
        pos: int,
        end: int,
        nested: bool,
        depth: int,
        ctx: DecodeContext,
        values: dict[str, Any],
        lastRaw: bytes,
    ) -> _Decoded:
        """
        The general (tolerant) decoding loop, entered with the members the
        fast path has read so far.
        """
        byRaw = self.byRaw
        while True:
            if pos >= end:
                if nested:
                    raise TdfDecodeError(
                        f"input ends inside {self.cls.__name__}", pos
                    )
                break
            if nested and data[pos] == 0:
                pos += 1
                break
            if pos + 4 > end:
                raise TdfDecodeError("input ends inside a member header", pos)
            raw = data[pos : pos + 3]
            code = data[pos + 3]
            start = pos
            pos += 4
            spec = byRaw.get(raw)
            if spec is None:
                decodeTag(raw, start)
                if code > TdfType.FLOAT:
                    raise TdfDecodeError(f"unknown TDF type 0x{code:02x}", start + 3)
                pos = _skipValue(data, pos, end, code, depth)
                if raw < lastRaw:
                    ctx.note(f"unknown member {decodeTag(raw)} is out of order", start)
                else:
                    lastRaw = raw
                continue
            if code != spec.kind.code:
                if code > TdfType.FLOAT:
                    raise TdfDecodeError(f"unknown TDF type 0x{code:02x}", start + 3)
                ctx.note(
                    f"member {spec.tag} has type {_TYPE_NAMES[code]}, "
                    f"expected {spec.kind.describe()}",
                    start,
                )
                pos = _skipValue(data, pos, end, code, depth)
                continue
            if raw <= lastRaw:
                if spec.name in values:
                    ctx.note(f"member {spec.tag} is repeated; the first is kept", start)
                    pos = _skipValue(data, pos, end, code, depth)
                    continue
                ctx.note(f"member {spec.tag} is out of order", start)
            else:
                lastRaw = raw
            values[spec.name], pos = spec.kind.read(data, pos, end, depth, ctx)
        return self._build(values), pos

    def _compileRead(self) -> _StructReader:
        """
        Generate the decoder: for each member in tag order, check that its
        exact header comes next and read its value; at the first surprise
        hand over to L{_readRest}.
        """
        env: dict[str, Any] = {
            "MAX_DEPTH": MAX_DEPTH,
            "TdfDecodeError": TdfDecodeError,
            "UINT64_MAX": UINT64_MAX,
            "decodeVarint": decodeVarint,
            "readString": _readString,
            "readBlob": _readBlob,
            "readRest": self._readRest,
            "cls": self.cls,
        }
        lines = [
            "def read(data, pos, end, nested, depth, ctx):",
            "    if depth > MAX_DEPTH:",
            "        raise TdfDecodeError('values nest too deeply', pos)",
        ]
        done: list[str] = []
        lastRaw = "b''"
        for i, spec in enumerate(self.specs):
            env[f"H{i}"] = spec.header
            env[f"R{i}"] = spec.raw
            rest = (
                "return readRest(data, pos, end, nested, depth, ctx, "
                f"{{{', '.join(done)}}}, {lastRaw})"
            )
            lines.append(f"    if data[pos:pos + 4] != H{i}:")
            lines.append(f"        {rest}")
            lines.append("    pos += 4")
            lines.extend("    " + line for line in _readerLines(i, spec.kind, env))
            done.append(f"{spec.name!r}: v{i}")
            lastRaw = f"R{i}"
        if self._aliases is None:
            build = ", ".join(f"{spec.name}=v{i}" for i, spec in enumerate(self.specs))
        else:
            build = ", ".join(
                f"{self._aliases[spec.name]}=v{i}" for i, spec in enumerate(self.specs)
            )
        lines += [
            "    if nested:",
            "        if pos < end and data[pos] == 0:",
            f"            return cls({build}), pos + 1",
            "    elif pos >= end:",
            f"        return cls({build}), pos",
            "    return readRest(data, pos, end, nested, depth, ctx, "
            f"{{{', '.join(done)}}}, {lastRaw})",
        ]
        return _compileFunction(self.cls, "read", lines, env)

    def _compileWrite(self) -> _StructWriter:
        """
        Generate the encoder: every member in tag order, optional members
        left out while L{None}; errors name the struct and member.
        """
        cls = self.cls
        prefix = f"{cls.__name__}."
        env: dict[str, Any] = {
            "MAX_DEPTH": MAX_DEPTH,
            "TdfEncodeError": TdfEncodeError,
            "writeVarint": _writeVarint,
            "INT64_MAX": INT64_MAX,
            "UINT64_MAX": UINT64_MAX,
            "cls": cls,
            "PREFIX": prefix,
        }
        lines = [
            "def write(out, value, depth):",
            "    if value.__class__ is not cls and not isinstance(value, cls):",
            "        raise TdfEncodeError(",
            f"            {'expected ' + cls.__name__ + ', not '!r}"
            " + type(value).__name__)",
            "    if depth > MAX_DEPTH:",
            "        raise TdfEncodeError('values nest too deeply')",
            "    name = ''",
            "    try:",
        ]
        for i, spec in enumerate(self.specs):
            env[f"H{i}"] = spec.header
            lines.append(f"        name = {spec.name!r}")
            lines.append(f"        item = value.{spec.name}")
            indent = "        "
            if spec.optional:
                lines.append("        if item is not None:")
                indent += "    "
            lines.append(f"{indent}out += H{i}")
            lines.extend(indent + line for line in _writerLines(i, spec.kind, env))
        lines += [
            "        pass",
            "    except TdfEncodeError as e:",
            "        if e.reason.startswith(PREFIX):",
            "            raise",
            "        raise TdfEncodeError(f'{PREFIX}{name}: {e.reason}')",
            "    except UnicodeEncodeError:",
            "        raise TdfEncodeError(f'{PREFIX}{name}: a string has a lone surrogate')",
        ]
        return _compileFunction(cls, "write", lines, env)


def _readerLines(i: int, kind: Kind, env: dict[str, Any]) -> list[str]:
    """
    Source lines that read the value of member C{i} (a C{kind}) at C{pos}
    into C{v<i>} and advance C{pos}.  Only the exact built-in kinds are
    inlined; anything else calls its C{read}.
    """
    target = f"v{i}"
    kindType = type(kind)
    if kindType is _IntKind:
        assert isinstance(kind, _IntKind)
        if kind.boolean:
            small, fix = "b != 0", [f"    {target} = {target} != 0"]
        elif kind.unsigned:
            small = "b"
            fix = [f"    if {target} < 0:", f"        {target} &= UINT64_MAX"]
        else:
            small, fix = "b", []
        return [
            "if pos < end and (b := data[pos]) < 0x40:",
            f"    {target} = {small}",
            "    pos += 1",
            "else:",
            f"    {target}, pos = decodeVarint(data, pos, end)",
            *fix,
        ]
    if kindType is _StrKind:
        return [
            "if pos < end and 0 < (n := data[pos]) < 0x40 and pos + n < end "
            "and data[pos + n] == 0:",
            "    try:",
            f"        {target} = data[pos + 1:pos + n].decode()",
            "    except UnicodeDecodeError:",
            f"        {target} = data[pos + 1:pos + n].decode('utf-8', 'surrogateescape')",
            "    pos += n + 1",
            "else:",
            f"    {target}, pos = readString(data, pos, end)",
        ]
    if kindType is _BlobKind:
        return [
            "if pos < end and data[pos] == 0:",
            f"    {target} = b''",
            "    pos += 1",
            "else:",
            f"    {target}, pos = readBlob(data, pos, end)",
        ]
    if kindType is StructOf:
        assert isinstance(kind, StructOf)
        codec = kind.cls.__dict__.get("__tdf_codec__")
        if isinstance(codec, _StructCodec):
            env[f"S{i}"] = codec.read
            return [f"{target}, pos = S{i}(data, pos, end, True, depth + 1, ctx)"]
    env[f"K{i}"] = kind.read
    return [f"{target}, pos = K{i}(data, pos, end, depth, ctx)"]


def _writerLines(i: int, kind: Kind, env: dict[str, Any]) -> list[str]:
    """
    Source lines that write C{item}, the value of member C{i} (a C{kind}),
    after its header.  Only the exact built-in kinds are inlined; anything
    else (and any value that is not of the plain expected type) goes
    through the kind's C{write}, which also raises the errors.
    """
    env[f"W{i}"] = kind.write
    call = [f"    W{i}(out, item, depth)"]
    kindType = type(kind)
    if kindType is _IntKind:
        assert isinstance(kind, _IntKind)
        if kind.boolean:
            return [
                "if item is True or item is False:",
                "    out.append(item)",
                "else:",
                *call,
            ]
        # Values every integer kind accepts as they are; the rest (negative,
        # huge, bool, other types) go through the kind's checks.
        high = "UINT64_MAX" if kind.unsigned else "INT64_MAX"
        return [
            "if item.__class__ is int and item >= 0:",
            "    if item < 0x40:",
            "        out.append(item)",
            f"    elif item <= {high}:",
            "        writeVarint(out, item)",
            "    else:",
            f"    {call[0]}",
            "else:",
            *call,
        ]
    if kindType is _StrKind:
        # A string the codec cannot encode goes through the kind's write,
        # which reports it.
        return [
            "if item.__class__ is str:",
            "    try:",
            "        raw = item.encode('utf-8', 'surrogateescape')",
            "    except UnicodeEncodeError:",
            f"    {call[0]}",
            "    else:",
            "        n = len(raw) + 1",
            "        if n < 0x40:",
            "            out.append(n)",
            "        else:",
            "            writeVarint(out, n)",
            "        out += raw",
            "        out.append(0)",
            "else:",
            *call,
        ]
    if kindType is _BlobKind:
        return [
            "if item.__class__ is bytes:",
            "    n = len(item)",
            "    if n < 0x40:",
            "        out.append(n)",
            "    else:",
            "        writeVarint(out, n)",
            "    out += item",
            "else:",
            *call,
        ]
    if kindType is StructOf:
        assert isinstance(kind, StructOf)
        codec = kind.cls.__dict__.get("__tdf_codec__")
        if isinstance(codec, _StructCodec):
            env[f"S{i}"] = codec.write
            return [f"S{i}(out, item, depth + 1)", "out.append(0)"]
    return [call[0].strip()]


def _compileFunction(
    cls: type, name: str, lines: list[str], env: dict[str, Any]
) -> Callable[..., Any]:
    """
    Compile generated source; it is registered with L{linecache} so that
    tracebacks through it show the code.
    """
    source = "\n".join(lines) + "\n"
    filename = f"<tdf {name} {cls.__module__}.{cls.__qualname__}>"
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {}
    exec(code, env, namespace)
    return namespace[name]


def _codecFor(cls: type) -> _StructCodec:
    codec = cls.__dict__.get("__tdf_codec__")
    if codec is None:
        raise TypeError(f"{cls.__name__} is not a tdfStruct class")
    return codec


def tdfStruct(cls: type[_T]) -> type[_T]:
    """
    Make C{cls} a declared TDF struct: an C{attrs} class (mutable, with
    slots) whose members declared with L{member} are encoded in ascending
    tag order.  Use it with L{encode}, L{decode} and L{StructOf}.
    """
    if not attrs.has(cls):
        cls = attrs.define(cls)
    codec = _StructCodec(cls)
    type.__setattr__(cls, "__tdf_codec__", codec)
    return cls  # type: ignore[return-value]


def encode(value: Any) -> bytes:
    """
    Encode an instance of a L{tdfStruct} class as a message body.

    @raise TdfEncodeError: if a member's value cannot be represented.
    """
    out = bytearray()
    _codecFor(type(value)).write(out, value, 0)
    return bytes(out)


def decode(
    cls: type[_T], data: bytes, context: DecodeContext | None = None
) -> _T:
    """
    Decode a message body as an instance of the L{tdfStruct} class C{cls}.

    Missing members keep their defaults; unknown ones are skipped.

    @param context: collects tolerated anomalies, if given.
    @raise TdfDecodeError: if the bytes are malformed.
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    ctx = context if context is not None else DecodeContext()
    value, _ = _codecFor(cls).read(data, 0, len(data), False, 0, ctx)
    return value


def typeName(code: int) -> str:
    """
    The lowercase name of a type code, for messages and the CLI.
    """
    return _TYPE_NAMES.get(code, f"0x{code:02x}")

