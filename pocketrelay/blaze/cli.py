# -*- test-case-name: tests.test_cli -*-
"""
C{python -m pocketrelay.blaze}: look inside Fire frames and TDF bodies.

Subcommands::

    decode [--body] HEX...     print frames (or a bare body) as a tree
    reencode [--body] HEX...   print the canonical re-encoding as hex

C{HEX} may be split over several arguments and may contain spaces, colons,
newlines and C{0x} prefixes; C{-} reads it from standard input.  Malformed
input is reported on one line of standard error with its offset, and the
exit code is 2.

Pure presentation: everything is decoded with L{pocketrelay.blaze.frames}
and the generic model of L{pocketrelay.blaze.tdf}.
"""

from __future__ import annotations

import argparse
import contextlib
import struct
import sys
from collections.abc import Sequence
from typing import IO, Any

import attrs

from pocketrelay.blaze import tdf
from pocketrelay.blaze.frames import (
    HEADER_SIZE,
    Frame,
    FrameDecoder,
    FrameError,
    MessageType,
    Options,
)
from pocketrelay.blaze.ids import commandName, errorName, notificationName
from pocketrelay.blaze.tdf import (
    ListValue,
    MapValue,
    Member,
    StructValue,
    TdfType,
    UnionValue,
    VariableValue,
)

__all__ = [
    "InputError",
    "decodeFrames",
    "describeBody",
    "describeFrame",
    "main",
    "parseHex",
]

#: Blobs longer than this are shown truncated.
BLOB_PREVIEW = 32

_PROG = "python -m pocketrelay.blaze"
_MAX_BODY = (1 << 32) - 1
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

_TYPE_LABELS = {
    MessageType.REQUEST: "request",
    MessageType.REPLY: "reply",
    MessageType.NOTIFICATION: "notification",
    MessageType.ERROR_REPLY: "error reply",
    MessageType.PING: "ping",
    MessageType.PING_REPLY: "ping reply",
}


class InputError(Exception):
    """
    The input cannot be decoded.

    @ivar what: what is wrong, in words.
    @ivar offset: where, or L{None}.
    @ivar unit: what C{offset} counts: C{"byte"} or C{"character"}.
    """

    def __init__(
        self, what: str, offset: int | None = None, unit: str = "byte"
    ) -> None:
        self.what = what
        self.offset = offset
        self.unit = unit
        super().__init__(what)

    def __str__(self) -> str:
        if self.offset is None:
            return self.what
        return f"{self.what} (at {self.unit} {self.offset})"


@attrs.define
class _OffsetContext(tdf.DecodeContext):
    """
    A L{tdf.DecodeContext} whose offsets count from the start of the whole
    input rather than the body.
    """

    base: int = 0

    def note(self, what: str, offset: int) -> None:
        super().note(what, offset + self.base)


# ---------------------------------------------------------------------------
# Input


def parseHex(text: str) -> bytes:
    """
    Turn hex digits into bytes.  Whitespace and colons are ignored, and so
    is C{0x} at the start of a run of digits.

    @raise InputError: for any other character (with its position in
        C{text}) or an odd number of digits.
    """
    digits: list[str] = []
    tokenStart = True
    i = 0
    length = len(text)
    while i < length:
        char = text[i]
        if char.isspace() or char == ":":
            tokenStart = True
            i += 1
            continue
        if tokenStart and char == "0" and text[i + 1 : i + 2] in ("x", "X"):
            tokenStart = False
            i += 2
            continue
        if char not in _HEX_DIGITS:
            raise InputError(f"bad hex: {char!r} is not a hex digit", i, "character")
        digits.append(char)
        tokenStart = False
        i += 1
    if len(digits) % 2:
        raise InputError(
            f"bad hex: odd number of hex digits ({len(digits)}), the last byte "
            f"is incomplete",
            len(digits) // 2,
        )
    return bytes.fromhex("".join(digits))


def decodeFrames(data: bytes) -> list[tuple[int, int, Frame]]:
    """
    Split C{data} into whole frames.

    @return: for each frame its offset in C{data}, its header size and the
        L{Frame}.
    @raise InputError: if C{data} is empty, ends inside a frame or holds
        an invalid frame header.
    """
    if not data:
        raise InputError("no frame: the input is empty", 0)
    decoder = FrameDecoder(_MAX_BODY)
    try:
        frames = decoder.feed(data)
    except FrameError as e:
        raise InputError(f"bad frame: {e.reason}", e.offset)
    if decoder.buffered:
        start = len(data) - decoder.buffered
        raise InputError(
            f"truncated frame: {decoder.buffered} bytes present, "
            f"{decoder.missing()} more needed",
            start,
        )
    result = []
    pos = 0
    for frame in frames:
        headerSize = HEADER_SIZE + len(frame.context)
        if (data[pos + 9] >> 4) & Options.JUMBO_FRAME:
            headerSize += 2
        result.append((pos, headerSize, frame))
        pos += headerSize + len(frame.body)
    return result


def _decodeBody(body: bytes, base: int, where: str) -> tuple[StructValue, list[str]]:
    context = _OffsetContext(base=base)
    try:
        value = tdf.decodeStruct(body, context)
    except tdf.TdfDecodeError as e:
        offset = base + (e.offset if e.offset is not None else 0)
        raise InputError(f"bad TDF in {where}: {e.reason}", offset)
    return value, list(context.anomalies)


# ---------------------------------------------------------------------------
# Output


def _quote(text: str) -> str:
    """
    A double-quoted string with backslash escapes for quotes, backslashes
    and anything not printable; bytes that were not UTF-8 (kept as
    surrogate escapes by the decoder) are shown as C{\\xNN}.
    """
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char.isprintable():
            out.append(char)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _float(value: float) -> str:
    """
    The shortest decimal that reads back as the same 32-bit float.
    """
    packed = struct.pack(">f", value)
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        if struct.pack(">f", float(text)) == packed:
            break
    if "e" not in text and "." not in text and text.lstrip("-").isdigit():
        text += ".0"
    return text


def _scalar(code: int, value: Any) -> str:
    if code == TdfType.INT:
        if value >= 0x10000:
            return f"{value} (0x{value:x})"
        return str(value)
    if code == TdfType.STRING:
        return _quote(value)
    if code == TdfType.BLOB:
        if not value:
            return "(empty)"
        if len(value) > BLOB_PREVIEW:
            return f"{value[:BLOB_PREVIEW].hex()}... ({len(value)} bytes)"
        return str(value.hex())
    if code == TdfType.FLOAT:
        return _float(value)
    if code == TdfType.OBJECT_TYPE:
        return f"({value.component}, {value.type})"
    if code == TdfType.OBJECT_ID:
        return f"({value.component}, {value.type}, {value.id})"
    return repr(value)


def _typeLabel(code: int, value: Any) -> str:
    if code == TdfType.LIST and isinstance(value, ListValue):
        return f"list<{tdf.typeName(value.elementType)}>"
    if code == TdfType.MAP and isinstance(value, MapValue):
        return f"map<{tdf.typeName(value.keyType)}, {tdf.typeName(value.valueType)}>"
    return tdf.typeName(code)


def _count(number: int, word: str, plural: str | None = None) -> str:
    if number == 1:
        return f"{number} {word}"
    return f"{number} {plural if plural is not None else word + 's'}"


def _describeMembers(members: Sequence[Member], depth: int, out: list[str]) -> None:
    for item in members:
        _describeMember(item, depth, out)


def _describeMember(item: Member, depth: int, out: list[str]) -> None:
    label = f"{item.tag} ({_typeLabel(item.type, item.value)})"
    _describeValue(label, item.type, item.value, depth, out)


def _describeValue(
    label: str, code: int, value: Any, depth: int, out: list[str]
) -> None:
    pad = "  " * depth
    if isinstance(value, UnionValue) and code == TdfType.STRUCT:
        # A union element of a list, in the "heat bug" form.
        if value.member is None:
            out.append(f"{pad}{label} union unset")
            return
        out.append(
            f"{pad}{label} union index {value.index} (list form, no VALU header)"
        )
        body = value.member.value
        if isinstance(body, StructValue):
            _describeMembers(body.members, depth + 1, out)
        return
    if code == TdfType.STRUCT:
        if not value.members:
            out.append(f"{pad}{label} {{}}")
            return
        out.append(f"{pad}{label}")
        _describeMembers(value.members, depth + 1, out)
    elif code == TdfType.LIST:
        out.append(f"{pad}{label} {_count(len(value.items), 'item')}")
        for index, element in enumerate(value.items):
            _describeValue(f"[{index}]", value.elementType, element, depth + 1, out)
    elif code == TdfType.MAP:
        out.append(f"{pad}{label} {_count(len(value.items), 'entry', 'entries')}")
        for key, element in value.items:
            _describeValue(
                f"{_scalar(value.keyType, key)} =>",
                value.valueType,
                element,
                depth + 1,
                out,
            )
    elif code == TdfType.UNION:
        if value.member is None:
            out.append(f"{pad}{label} unset")
            return
        out.append(f"{pad}{label} index {value.index}")
        _describeMember(value.member, depth + 1, out)
    elif code == TdfType.VARIABLE:
        if not isinstance(value, VariableValue):
            out.append(f"{pad}{label} absent")
            return
        out.append(f"{pad}{label} tdfId {value.tdfId}")
        _describeMember(value.member, depth + 1, out)
    else:
        out.append(f"{pad}{label} {_scalar(code, value)}")


def describeBody(body: StructValue, depth: int = 0) -> list[str]:
    """
    The lines of the tree of a decoded body: one per member, C{TAG (type)
    value}, with nested values indented by two spaces a level.
    """
    out: list[str] = []
    _describeMembers(body.members, depth, out)
    return out


def describeFrame(frame: Frame) -> str:
    """
    The one-line summary of a frame: type, command name, numbers, error
    and body length.
    """
    kind = _TYPE_LABELS.get(frame.type, f"type {int(frame.type)}")
    if frame.type == MessageType.NOTIFICATION:
        name = notificationName(frame.component, frame.command)
    else:
        name = commandName(frame.component, frame.command)
    parts = [
        kind,
        name,
        f"(0x{frame.component:04x}/0x{frame.command:04x})",
        f"seq={frame.seq}",
    ]
    if frame.type == MessageType.ERROR_REPLY or frame.error:
        parts.append(
            f"error=0x{frame.error:04x} ({errorName(frame.component, frame.error)})"
        )
    parts.append(f"body={_count(len(frame.body), 'byte')}")
    if frame.options:
        parts.append(f"options={frame.options!r}")
    if frame.userIndex:
        parts.append(f"user={frame.userIndex}")
    if frame.context:
        parts.append(f"context={frame.context.hex()}")
    return " ".join(parts)


# ---------------------------------------------------------------------------
# Commands


def _decode(data: bytes, bodyOnly: bool, stdout: IO[str]) -> None:
    if bodyOnly:
        value, notes = _decodeBody(data, 0, "the body")
        lines = describeBody(value) if value.members else ["(empty body)"]
        lines += [f"note: {note}" for note in notes]
        stdout.write("".join(line + "\n" for line in lines))
        return
    blocks = []
    for number, (offset, headerSize, frame) in enumerate(decodeFrames(data), 1):
        value, notes = _decodeBody(
            frame.body, offset + headerSize, f"the body of frame {number}"
        )
        lines = [describeFrame(frame)]
        lines += describeBody(value, 1)
        lines += [f"note: {note}" for note in notes]
        blocks.append("".join(line + "\n" for line in lines))
    stdout.write("\n".join(blocks))


def _reencodeBody(body: bytes, base: int, where: str) -> tuple[bytes, list[str]]:
    value, notes = _decodeBody(body, base, where)
    try:
        return tdf.encodeStruct(value), notes
    except tdf.TdfEncodeError as e:
        raise InputError(f"cannot re-encode {where}: {e.reason}", base)


def _reencode(data: bytes, bodyOnly: bool, stdout: IO[str], stderr: IO[str]) -> None:
    notes: list[str] = []
    if bodyOnly:
        encoded, notes = _reencodeBody(data, 0, "the body")
        lines = [encoded.hex()]
    else:
        lines = []
        for number, (offset, headerSize, frame) in enumerate(decodeFrames(data), 1):
            body, more = _reencodeBody(
                frame.body, offset + headerSize, f"the body of frame {number}"
            )
            notes += more
            lines.append(attrs.evolve(frame, body=body).encode().hex())
    stdout.write("".join(line + "\n" for line in lines))
    stderr.write("".join(f"note: {note}\n" for note in notes))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Decode and re-encode Blaze (Fire) frames and TDF bodies.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, summary in (
        ("decode", "print frames, or a bare TDF body, as a tree"),
        ("reencode", "print the canonical re-encoding as lowercase hex"),
    ):
        command = commands.add_parser(name, help=summary, description=summary)
        command.add_argument(
            "--body",
            action="store_true",
            help="the input is a bare TDF body, without frame header",
        )
        command.add_argument(
            "hex",
            nargs="+",
            metavar="HEX",
            help="hex digits (spaces, colons, newlines and 0x prefixes are "
            "ignored); '-' reads them from standard input",
        )
    return parser


def main(
    argv: Sequence[str] | None = None,
    stdout: IO[str] | None = None,
    stdin: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """
    Run the command line tool.

    @param argv: the arguments (without the program name); default
        C{sys.argv[1:]}.
    @param stdout: where results go; default C{sys.stdout}.
    @param stdin: where C{-} reads hex from; default C{sys.stdin}.
    @param stderr: where errors and re-encoding notes go; default
        C{sys.stderr}.
    @return: the exit code: 0 on success, 2 for a usage error or malformed
        input.
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = _parser().parse_args(argv)
        except SystemExit as e:
            return e.code if isinstance(e.code, int) else 2
    if args.hex == ["-"]:
        source = stdin if stdin is not None else sys.stdin
        text = source.read()
        if isinstance(text, bytes):
            text = text.decode("ascii", "replace")
    else:
        text = " ".join(args.hex)
    try:
        data = parseHex(text)
        if args.command == "decode":
            _decode(data, args.body, out)
        else:
            _reencode(data, args.body, out, err)
    except InputError as e:
        err.write(f"error: {e}\n")
        return 2
    return 0
