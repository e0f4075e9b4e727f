# -*- test-case-name: tests.test_tunnelwire -*-
"""
The two wire formats of the Pocket Relay tunnel, as pure codecs (no
Twisted): shared by the server's relay and the client's endpoint.

UDP tunnel datagrams (all integers big-endian)::

    version:u8 (= 1) | tunnelId:u32 | type:u8 | body

    type 0 Initiate   (client -> server)  len:u16 | association token (UTF-8)
    type 1 Initiated  (server -> client)  tunnelId:u32
    type 2 Forward    (both ways)         index:u8 | len:u16 | payload
    type 3 KeepAlive  (both ways)         (empty)

C{tunnelId} is L{UNASSIGNED} (C{0xFFFFFFFF}) until the server has
assigned one.

HTTP tunnel frames, after C{Upgrade: tunnel}::

    index:u8 | len:u16 | payload

An index of L{KEEP_ALIVE_INDEX} (255) with an empty payload is a
keep-alive.  L{FrameDecoder} parses a frame as soon as its 3-byte header
and payload are there: a lone keep-alive is decoded at once.

Every decoding error is a L{TunnelWireError} naming what was wrong.

Sizes: both formats describe a game datagram of up to L{MAX_LENGTH}
(65,535) bytes, and the HTTP tunnel carries that much.  A UDP datagram
holds less: at most L{MAX_UDP_PAYLOAD_IPV4} bytes over IPv4 and
L{MAX_UDP_PAYLOAD_IPV6} over IPv6, so a Forward datagram carries a game
datagram of at most L{maxForwardPayload} bytes, and a game (on
127.0.0.1) sends and receives at most L{maxUdpPayload}C{("127.0.0.1")}
bytes.  Whoever meets a datagram larger than the next hop carries drops
that datagram and keeps the tunnel.
"""

from __future__ import annotations

import struct
from typing import Final

import attrs

__all__ = [
    "DATAGRAM_HEADER_SIZE",
    "FORWARD_OVERHEAD",
    "FRAME_HEADER_SIZE",
    "KEEP_ALIVE_FRAME",
    "KEEP_ALIVE_INDEX",
    "MAX_LENGTH",
    "MAX_UDP_PAYLOAD_IPV4",
    "MAX_UDP_PAYLOAD_IPV6",
    "UNASSIGNED",
    "VERSION",
    "Datagram",
    "Forward",
    "FrameDecoder",
    "Initiate",
    "Initiated",
    "KeepAlive",
    "Message",
    "MessageType",
    "TunnelFrame",
    "TunnelWireError",
    "decodeDatagram",
    "encodeDatagram",
    "encodeFrame",
    "maxForwardPayload",
    "maxUdpPayload",
]

#: The only UDP tunnel protocol version.
VERSION: Final = 1

#: The tunnel id of a client that has none yet.
UNASSIGNED: Final = 0xFFFFFFFF

#: The largest payload or token a u16 length can describe.
MAX_LENGTH: Final = 0xFFFF

#: version, tunnel id, type.
DATAGRAM_HEADER_SIZE: Final = 6

#: Bytes a Forward datagram adds to its payload.
FORWARD_OVERHEAD: Final = DATAGRAM_HEADER_SIZE + 3

#: index, length.
FRAME_HEADER_SIZE: Final = 3

#: The HTTP-tunnel frame index meaning "keep-alive".
KEEP_ALIVE_INDEX: Final = 255

#: The largest UDP payload over IPv4: 65,535 less the 20-byte IP and the
#: 8-byte UDP header.
MAX_UDP_PAYLOAD_IPV4: Final = 0xFFFF - 20 - 8

#: The largest UDP payload over IPv6 without jumbograms: the 16-bit
#: payload length counts the 8-byte UDP header.
MAX_UDP_PAYLOAD_IPV6: Final = 0xFFFF - 8


def maxUdpPayload(host: str) -> int:
    """
    The largest UDP datagram that can be sent to or from C{host}.

    @param host: an IPv4 or IPv6 address.  An IPv4-mapped IPv6 address
        (C{::ffff:192.0.2.1}, what a dual-stack socket reports for an IPv4
        peer) travels as IPv4.
    """
    if ":" not in host or (host.lower().startswith("::ffff:") and "." in host):
        return MAX_UDP_PAYLOAD_IPV4
    return MAX_UDP_PAYLOAD_IPV6


def maxForwardPayload(host: str) -> int:
    """
    The largest game datagram a Forward datagram to or from C{host} can
    carry: 65,498 bytes over IPv4, 65,518 over IPv6.
    """
    return maxUdpPayload(host) - FORWARD_OVERHEAD

_HEADER = struct.Struct(">BIB")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_FORWARD = struct.Struct(">BH")
_FRAME = struct.Struct(">BH")


class TunnelWireError(ValueError):
    """
    Bytes that are not a valid tunnel datagram or frame.
    """


class MessageType:
    """
    The C{type} byte of a UDP tunnel datagram.
    """

    INITIATE: Final = 0
    INITIATED: Final = 1
    FORWARD: Final = 2
    KEEP_ALIVE: Final = 3


@attrs.frozen
class Initiate:
    """
    Client -> server: open a tunnel for this association token.
    """

    association: str


@attrs.frozen
class Initiated:
    """
    Server -> client: the tunnel is open with this id.
    """

    tunnelId: int


@attrs.frozen
class Forward:
    """
    Both ways: a game datagram.  From a client, C{index} is the slot of the
    player it is for; from the server, the slot of the player who sent it.
    """

    index: int
    payload: bytes


@attrs.frozen
class KeepAlive:
    """
    Both ways: nothing but "still here".
    """


Message = Initiate | Initiated | Forward | KeepAlive


@attrs.frozen
class Datagram:
    """
    A decoded UDP tunnel datagram.

    @ivar tunnelId: the tunnel id in the header (L{UNASSIGNED} for none).
    @ivar message: the body.
    """

    tunnelId: int
    message: Message


def _checkU8(name: str, value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise TunnelWireError(f"{name} {value} does not fit in a byte")


def _checkLength(name: str, data: bytes) -> None:
    if len(data) > MAX_LENGTH:
        raise TunnelWireError(f"{name} of {len(data)} bytes is longer than {MAX_LENGTH}")


def encodeDatagram(tunnelId: int, message: Message) -> bytes:
    """
    Encode a UDP tunnel datagram.

    @raise TunnelWireError: if a value does not fit its field.
    """
    if not 0 <= tunnelId <= 0xFFFFFFFF:
        raise TunnelWireError(f"tunnel id {tunnelId} does not fit in 32 bits")
    if isinstance(message, Forward):
        _checkU8("index", message.index)
        _checkLength("payload", message.payload)
        return (
            _HEADER.pack(VERSION, tunnelId, MessageType.FORWARD)
            + _FORWARD.pack(message.index, len(message.payload))
            + message.payload
        )
    if isinstance(message, KeepAlive):
        return _HEADER.pack(VERSION, tunnelId, MessageType.KEEP_ALIVE)
    if isinstance(message, Initiate):
        token = message.association.encode("utf-8")
        _checkLength("association token", token)
        return (
            _HEADER.pack(VERSION, tunnelId, MessageType.INITIATE)
            + _U16.pack(len(token))
            + token
        )
    if isinstance(message, Initiated):
        if not 0 <= message.tunnelId <= 0xFFFFFFFF:
            raise TunnelWireError(f"tunnel id {message.tunnelId} does not fit in 32 bits")
        return _HEADER.pack(VERSION, tunnelId, MessageType.INITIATED) + _U32.pack(
            message.tunnelId
        )
    raise TunnelWireError(f"not a tunnel message: {message!r}")


def _lengthPrefixed(what: str, body: bytes) -> bytes:
    if len(body) < 2:
        raise TunnelWireError(f"{what}: {len(body)} bytes, too short for a length")
    (length,) = _U16.unpack_from(body)
    if len(body) - 2 != length:
        raise TunnelWireError(
            f"{what}: length says {length} bytes, {len(body) - 2} present"
        )
    return body[2:]


def decodeDatagram(data: bytes) -> Datagram:
    """
    Decode a UDP tunnel datagram.  Its length must match exactly what its
    fields announce.

    @raise TunnelWireError: with the reason, for anything else.
    """
    if len(data) < DATAGRAM_HEADER_SIZE:
        raise TunnelWireError(f"{len(data)} bytes, too short for a tunnel header")
    version, tunnelId, kind = _HEADER.unpack_from(data)
    if version != VERSION:
        raise TunnelWireError(f"unknown tunnel protocol version {version}")
    body = data[DATAGRAM_HEADER_SIZE:]
    message: Message
    if kind == MessageType.FORWARD:
        if len(body) < 3:
            raise TunnelWireError(f"Forward: {len(body)} bytes, too short for index and length")
        index = body[0]
        message = Forward(index, _lengthPrefixed("Forward", body[1:]))
    elif kind == MessageType.KEEP_ALIVE:
        if body:
            raise TunnelWireError(f"KeepAlive with {len(body)} unexpected bytes")
        message = KeepAlive()
    elif kind == MessageType.INITIATE:
        token = _lengthPrefixed("Initiate", body)
        try:
            message = Initiate(token.decode("utf-8"))
        except UnicodeDecodeError:
            raise TunnelWireError("Initiate: the association token is not UTF-8") from None
    elif kind == MessageType.INITIATED:
        if len(body) != 4:
            raise TunnelWireError(f"Initiated: {len(body)} bytes instead of 4")
        message = Initiated(_U32.unpack(body)[0])
    else:
        raise TunnelWireError(f"unknown tunnel message type {kind}")
    return Datagram(tunnelId, message)


# -- HTTP tunnel frames


@attrs.frozen
class TunnelFrame:
    """
    One HTTP tunnel frame.
    """

    index: int
    payload: bytes

    @property
    def isKeepAlive(self) -> bool:
        """
        Whether this is a keep-alive (index 255, nothing in it).
        """
        return self.index == KEEP_ALIVE_INDEX and not self.payload


def encodeFrame(index: int, payload: bytes) -> bytes:
    """
    Encode an HTTP tunnel frame.

    @raise TunnelWireError: if the index or length does not fit.
    """
    _checkU8("index", index)
    _checkLength("payload", payload)
    return _FRAME.pack(index, len(payload)) + payload


#: The keep-alive frame.
KEEP_ALIVE_FRAME: Final = encodeFrame(KEEP_ALIVE_INDEX, b"")


class FrameDecoder:
    """
    Splits a byte stream into L{TunnelFrame}s, however it is cut.

    @ivar maxPayload: the largest payload accepted; a frame announcing
        more is an error (detected from its header, before the payload is
        buffered).
    """

    def __init__(self, maxPayload: int = MAX_LENGTH) -> None:
        self.maxPayload = maxPayload
        self._buffer = bytearray()
        self._failed: TunnelWireError | None = None

    @property
    def buffered(self) -> int:
        """
        Bytes received and not yet part of a complete frame.
        """
        return len(self._buffer)

    def feed(self, data: bytes) -> list[TunnelFrame]:
        """
        Add bytes; return the frames completed by them, in order.

        @raise TunnelWireError: when a frame announces a payload larger
            than L{maxPayload}; the decoder stays failed afterwards.
        """
        if self._failed is not None:
            raise self._failed
        buffer = self._buffer
        buffer += data
        frames: list[TunnelFrame] = []
        offset = 0
        end = len(buffer)
        while end - offset >= FRAME_HEADER_SIZE:
            index, length = _FRAME.unpack_from(buffer, offset)
            if length > self.maxPayload:
                self._failed = TunnelWireError(
                    f"frame for index {index} announces {length} bytes, "
                    f"more than the limit of {self.maxPayload}"
                )
                del buffer[:]
                raise self._failed
            stop = offset + FRAME_HEADER_SIZE + length
            if stop > end:
                break
            frames.append(TunnelFrame(index, bytes(buffer[offset + FRAME_HEADER_SIZE : stop])))
            offset = stop
        if offset:
            del buffer[:offset]
        return frames
