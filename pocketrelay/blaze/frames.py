# -*- test-case-name: tests.test_frames -*-
"""
The Fire frame: the 12-byte header (plus jumbo length and context words)
that carries every Blaze message.

Pure codec: no Twisted import.  L{Frame} is one message; L{FrameDecoder}
turns a byte stream, split anywhere, into frames and refuses any frame
larger than its limit before buffering its body.

Header layout (all big-endian)::

    0  u16  body length (low 16 bits when jumbo)
    2  u16  component
    4  u16  command (or notification id)
    6  u16  error code
    8  u8   message type << 4 | user index
    9  u8   options << 4 | message number bits 19..16
    10 u16  message number bits 15..0
    12 u16  body length bits 31..16          (only with JUMBO_FRAME)
    .. 4/8  context                         (only with HAS_CONTEXT)
"""

from __future__ import annotations

import enum
import struct

import attrs

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "HEADER_SIZE",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "MessageType",
    "Options",
    "notification",
    "parseFrame",
    "request",
]

#: The size of the fixed part of the header.
HEADER_SIZE = 12

#: The largest body a L{FrameDecoder} accepts unless told otherwise.  The
#: largest ME3 message (the chunked coalesced config) is about 165 KB.
DEFAULT_MAX_FRAME_SIZE = 4 * 1024 * 1024

_MAX_SEQ = (1 << 20) - 1
_MAX_BODY = (1 << 32) - 1

_HEADER = struct.Struct(">HHHHBBH")


class FrameError(ValueError):
    """
    The byte stream is not a sequence of acceptable Fire frames.

    @ivar offset: the offset in the stream where the bad frame starts, or
        L{None}.
    """

    def __init__(self, reason: str, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        #: Whole frames that came before the bad one in the same feed; the
        #: caller may still act on them.
        self.frames: list[Frame] = []
        super().__init__(reason if offset is None else f"{reason} (at byte {offset})")


class MessageType(enum.IntEnum):
    """
    The high nibble of header byte 8.
    """

    REQUEST = 0
    REPLY = 1
    NOTIFICATION = 2
    ERROR_REPLY = 3
    PING = 4
    PING_REPLY = 5


class Options(enum.IntFlag):
    """
    The option bits (high nibble of header byte 9).
    """

    NONE = 0
    JUMBO_FRAME = 0x1
    HAS_CONTEXT = 0x2
    IMMEDIATE = 0x4
    JUMBO_CONTEXT = 0x8


# Lookup tables for the decoder: calling an enum costs far more than
# indexing a tuple, and it is done for every frame.
_MESSAGE_TYPES = tuple(MessageType(value) for value in range(len(MessageType)))
_LAST_MESSAGE_TYPE = len(_MESSAGE_TYPES) - 1
_KEPT_OPTIONS = {0: Options.NONE, int(Options.IMMEDIATE): Options.IMMEDIATE}


@attrs.frozen
class Frame:
    """
    One Blaze message.

    @ivar component: the component id (e.g. 9 for Util).
    @ivar command: the command id, or the notification id for a
        notification.
    @ivar type: a L{MessageType}.
    @ivar seq: the 20-bit message number that a reply echoes.
    @ivar error: the error code of an error reply, else 0.
    @ivar body: the TDF body.
    @ivar options: option bits other than jumbo and context, which are
        derived from the body and context when encoding.
    @ivar userIndex: the local user index (0 on PC).
    @ivar context: the optional context bytes (empty, 4 or 8 bytes).
    """

    component: int
    command: int
    type: MessageType = MessageType.REQUEST
    seq: int = 0
    error: int = 0
    body: bytes = b""
    options: Options = Options.NONE
    userIndex: int = 0
    context: bytes = b""

    def encode(self) -> bytes:
        """
        The frame's bytes: header, optional jumbo word and context, body.

        @raise FrameError: if a field is out of range.
        """
        for name, value, limit in (
            ("component", self.component, 0xFFFF),
            ("command", self.command, 0xFFFF),
            ("error", self.error, 0xFFFF),
            ("seq", self.seq, _MAX_SEQ),
            ("type", int(self.type), 0xF),
            ("userIndex", self.userIndex, 0xF),
        ):
            if not 0 <= value <= limit:
                raise FrameError(f"frame {name} {value} is out of range")
        length = len(self.body)
        if length > _MAX_BODY:
            raise FrameError(f"frame body of {length} bytes is too large")
        options = int(self.options) & int(Options.IMMEDIATE)
        if length > 0xFFFF:
            options |= Options.JUMBO_FRAME
        if self.context:
            if len(self.context) == 4:
                options |= Options.HAS_CONTEXT
            elif len(self.context) == 8:
                options |= Options.HAS_CONTEXT | Options.JUMBO_CONTEXT
            else:
                raise FrameError("frame context must be 4 or 8 bytes")
        head = _HEADER.pack(
            length & 0xFFFF,
            self.component,
            self.command,
            self.error,
            (int(self.type) << 4) | self.userIndex,
            (options << 4) | (self.seq >> 16),
            self.seq & 0xFFFF,
        )
        parts = [head]
        if options & Options.JUMBO_FRAME:
            parts.append((length >> 16).to_bytes(2, "big"))
        if self.context:
            parts.append(self.context)
        parts.append(self.body)
        return b"".join(parts)

    def reply(self, body: bytes = b"") -> Frame:
        """
        The reply to this request: same component, command and number.
        """
        return Frame(
            self.component, self.command, MessageType.REPLY, self.seq, 0, body,
            userIndex=self.userIndex,
        )

    def errorReply(self, error: int, body: bytes = b"") -> Frame:
        """
        The error reply to this request.
        """
        return Frame(
            self.component, self.command, MessageType.ERROR_REPLY, self.seq,
            error, body, userIndex=self.userIndex,
        )


def notification(component: int, command: int, body: bytes = b"") -> Frame:
    """
    A notification frame (message number 0, no error).
    """
    return Frame(component, command, MessageType.NOTIFICATION, 0, 0, body)


def request(component: int, command: int, seq: int, body: bytes = b"") -> Frame:
    """
    A request frame.
    """
    return Frame(component, command, MessageType.REQUEST, seq, 0, body)


def parseFrame(data: bytes, maxFrameSize: int = DEFAULT_MAX_FRAME_SIZE) -> Frame:
    """
    Decode exactly one frame that fills C{data}.

    @raise FrameError: if C{data} is not one whole frame.
    """
    decoder = FrameDecoder(maxFrameSize)
    frames = decoder.feed(data)
    if len(frames) != 1 or decoder.buffered:
        if not frames:
            raise FrameError(
                f"incomplete frame: {len(data)} bytes, "
                f"{decoder.missing()} more expected"
            )
        raise FrameError(f"expected one frame, found more ({len(frames)} and "
                         f"{decoder.buffered} bytes)")
    return frames[0]


class FrameDecoder:
    """
    Incremental decoder: feed it bytes in pieces of any size and it returns
    the frames they complete, the same frames for every way of splitting.

    After a L{FrameError} the stream cannot be resynchronised and every
    further call raises it again.

    @ivar maxFrameSize: the largest body accepted, in bytes.
    """

    def __init__(self, maxFrameSize: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        if maxFrameSize < 0:
            raise ValueError("maxFrameSize must not be negative")
        self.maxFrameSize = maxFrameSize
        self._buffer = bytearray()
        self._consumed = 0
        self._failed: FrameError | None = None

    @property
    def buffered(self) -> int:
        """
        How many bytes are held waiting for the rest of a frame.
        """
        return len(self._buffer)

    def hasFrame(self) -> bool:
        """
        Whether a whole frame is buffered (left by C{feed(..., maxFrames)}).
        """
        return bool(self._buffer) and self.missing() == 0

    def missing(self) -> int:
        """
        How many more bytes the frame in progress needs at least.
        """
        buf = self._buffer
        if len(buf) < HEADER_SIZE:
            return HEADER_SIZE - len(buf)
        headerSize, bodySize = self._sizes(buf, 0)
        return max(0, headerSize + bodySize - len(buf))

    def _sizes(self, buf: bytearray | bytes, pos: int) -> tuple[int, int]:
        options = buf[pos + 9] >> 4
        headerSize = HEADER_SIZE
        bodySize = (buf[pos] << 8) | buf[pos + 1]
        if options & Options.JUMBO_FRAME:
            headerSize += 2
        if options & Options.HAS_CONTEXT:
            headerSize += 8 if options & Options.JUMBO_CONTEXT else 4
        if options & Options.JUMBO_FRAME and len(buf) >= pos + HEADER_SIZE + 2:
            bodySize |= ((buf[pos + 12] << 8) | buf[pos + 13]) << 16
        return headerSize, bodySize

    def feed(self, data: bytes, maxFrames: int | None = None) -> list[Frame]:
        """
        Add bytes; return the frames completed by them, in order.

        @param maxFrames: decode at most this many frames; the bytes of the
            others stay buffered (see L{hasFrame}) and come out of a later
            call, C{feed(b"")} for instance.
        @raise FrameError: if a frame is larger than L{maxFrameSize} (raised
            as soon as its header is seen) or its header is invalid.
        """
        if self._failed is not None:
            raise self._failed
        buf = self._buffer
        buf += data
        frames: list[Frame] = []
        pos = 0
        size = len(buf)
        try:
            while size - pos >= HEADER_SIZE:
                if maxFrames is not None and len(frames) >= maxFrames:
                    break
                options = buf[pos + 9] >> 4
                headerSize = HEADER_SIZE
                bodySize = (buf[pos] << 8) | buf[pos + 1]
                if options & 0x1:
                    if size - pos < HEADER_SIZE + 2:
                        break
                    headerSize = HEADER_SIZE + 2
                    bodySize |= ((buf[pos + 12] << 8) | buf[pos + 13]) << 16
                if options & 0x2:
                    headerSize += 8 if options & 0x8 else 4
                if bodySize > self.maxFrameSize:
                    raise FrameError(
                        f"frame body of {bodySize} bytes exceeds the limit of "
                        f"{self.maxFrameSize} bytes",
                        self._consumed + pos,
                    )
                kind = buf[pos + 8] >> 4
                if kind > _LAST_MESSAGE_TYPE:
                    raise FrameError(
                        f"unknown message type {kind}", self._consumed + pos
                    )
                total = headerSize + bodySize
                if size - pos < total:
                    break
                (
                    _,
                    component,
                    command,
                    error,
                    typeByte,
                    optionByte,
                    seqLow,
                ) = _HEADER.unpack_from(buf, pos)
                context = b""
                if options & 0x2:
                    start = pos + HEADER_SIZE + (2 if options & 0x1 else 0)
                    context = bytes(buf[start : pos + headerSize])
                frames.append(
                    Frame(
                        component,
                        command,
                        _MESSAGE_TYPES[kind],
                        ((optionByte & 0xF) << 16) | seqLow,
                        error,
                        bytes(buf[pos + headerSize : pos + total]),
                        _KEPT_OPTIONS[options & 0x4],
                        typeByte & 0xF,
                        context,
                    )
                )
                pos += total
        except FrameError as e:
            e.frames = frames
            self._failed = FrameError(e.reason, e.offset)
            del buf[:]
            pos = 0
            raise
        finally:
            if pos:
                del buf[:pos]
                self._consumed += pos
        return frames
