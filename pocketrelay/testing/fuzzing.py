# -*- test-case-name: tests.test_fuzz_regressions -*-
"""
Fuzz targets: functions that feed arbitrary bytes to one parser or
protocol and raise only when it misbehaves.

A target returns normally when the input was handled, whether accepted or
refused with the parser's own error; anything else escaping (or, for
protocols, a failure logged as unexpected) is a bug.  C{make fuzz} runs
them under atheris (C{fuzz/run.py}); C{tests.test_fuzz_regressions} runs
every saved crash input in C{fuzz/regressions/} on every test run.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import FakeDatagramTransport, StringTransport
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from zope.interface import implementer

from pocketrelay.blaze import tdf
from pocketrelay.blaze.frames import FrameDecoder, FrameError, MessageType, request

__all__ = ["SEEDS", "TARGETS", "UnexpectedFailure"]


class UnexpectedFailure(AssertionError):
    """
    A protocol logged a failure it did not expect (a bug), or left the
    connection in an impossible state.
    """


@implementer(ILogObserver)
class _FailureWatch:
    """
    Collects failures logged while a protocol handles fuzz input.
    """

    def __init__(self) -> None:
        self.failures: list[str] = []

    def __call__(self, event: LogEvent) -> None:
        failure = event.get("log_failure")
        if failure is not None:
            self.failures.append(failure.getTraceback())

    def __enter__(self) -> _FailureWatch:
        globalLogPublisher.addObserver(self)
        return self

    def __exit__(self, *exc: object) -> None:
        globalLogPublisher.removeObserver(self)
        if self.failures and exc[0] is None:
            raise UnexpectedFailure(self.failures[0])


def tdfGeneric(data: bytes) -> None:
    """
    The schema-less TDF decoder, then the canonical re-encoding of
    whatever it accepted.
    """
    try:
        value = tdf.decodeStruct(data)
    except tdf.TdfDecodeError:
        return
    try:
        tdf.encodeStruct(value)
    except tdf.TdfEncodeError:
        # Tolerated on decode but not representable (e.g. union index
        # 0x80); the encoder says so clearly.
        pass


@functools.cache
def _declared() -> list[type]:
    from pocketrelay.me3.messages import (
        auth,
        gamemanager,
        gamereporting,
        usersessions,
        util,
    )

    return [
        util.PreAuthRequest,
        auth.LoginRequest,
        auth.CreateAccountParameters,
        usersessions.NetworkInfo,
        gamemanager.CreateGameRequest,
        gamemanager.StartMatchmakingRequest,
        gamemanager.NotifyGameSetup,
        gamereporting.SubmitGameReportRequest,
    ]


def tdfDeclared(data: bytes) -> None:
    """
    Decode into a declared message (the first byte picks which), then
    re-encode the result.
    """
    if not data:
        return
    classes = _declared()
    cls = classes[data[0] % len(classes)]
    try:
        value: Any = tdf.decode(cls, data[1:])
    except tdf.TdfDecodeError:
        return
    try:
        tdf.encode(value)
    except tdf.TdfEncodeError:
        pass


def frames(data: bytes) -> None:
    """
    The frame decoder fed in pieces (sizes taken from the input).
    """
    decoder = FrameDecoder(maxFrameSize=65536)
    position = 0
    step = 1
    try:
        while position < len(data):
            step = (data[position] % 23) + 1
            decoder.feed(data[position : position + step])
            position += step
    except FrameError:
        return


@functools.cache
def _serverHarness() -> Any:
    import tempfile

    from pocketrelay.testing.server import ServerHarness

    return ServerHarness(FilePath(tempfile.mkdtemp(prefix="pocketrelay-fuzz-")))


_COMMANDS = [
    (9, 7), (9, 2), (9, 1), (9, 8), (9, 0x0B), (9, 0x0C), (9, 0x16), (9, 0x1B),
    (1, 0x0A), (1, 0x28), (1, 0x32), (1, 0x24), (1, 0x1D), (1, 0x46),
    (0x7802, 0x14), (0x7802, 0x08), (0x7802, 0x0C),
    (4, 0x01), (4, 0x09), (4, 0x0B), (4, 0x0D), (4, 0x0E), (4, 0x07), (4, 0x1D), (4, 0x69),
    (7, 0x0A), (7, 0x0C), (7, 0x0D), (7, 0x0E), (0x0F, 0x02), (0x1C, 0x02), (0x19, 0x06),
    (0x1234, 0x99),
]


def _requestsIn(stream: bytes, maxFrameSize: int) -> Counter[tuple[int, int, int]]:
    """
    The complete requests a server reading C{stream} receives, by
    (component, command, message number): every request frame before the
    first framing error, which closes the connection.
    """
    decoder = FrameDecoder(maxFrameSize)
    try:
        received = decoder.feed(stream)
    except FrameError as e:
        received = e.frames
    return Counter(
        (frame.component, frame.command, frame.seq)
        for frame in received
        if frame.type == MessageType.REQUEST
    )


def _checkReplies(stream: bytes, connection: Any) -> None:
    """
    Every complete request in C{stream} got exactly one reply (or error
    reply) with its component, command and message number.

    @raise UnexpectedFailure: if not.
    """
    requests = _requestsIn(stream, connection.protocol.maxFrameSize)
    replies = Counter(
        (frame.component, frame.command, frame.seq)
        for frame in connection.written()
        if frame.type in (MessageType.REPLY, MessageType.ERROR_REPLY)
    )
    if replies != requests:
        unanswered = sorted((requests - replies).items())
        extra = sorted((replies - requests).items())
        raise UnexpectedFailure(
            f"requests (component, command, number) without exactly one reply: "
            f"unanswered {unanswered[:5]}, answered too often or never asked {extra[:5]}"
        )


def blazeServer(data: bytes) -> None:
    """
    A real server session (in-memory store) fed a sequence of requests
    made from the input: each chunk names a command and carries a body;
    the tail is sent as raw bytes.  Every complete request must get
    exactly one reply, and no failure may be logged.
    """
    harness = _serverHarness()
    with _FailureWatch():
        connection = harness.connect()
        try:
            stream = bytearray()
            position = 0
            seq = 0
            while position + 2 <= len(data):
                pick, length = data[position], data[position + 1]
                body = data[position + 2 : position + 2 + length]
                position += 2 + length
                component, command = _COMMANDS[pick % len(_COMMANDS)]
                stream += request(component, command, seq, bytes(body)).encode()
                seq += 1
            stream += data[position:]
            connection.sendRaw(bytes(stream))
            _checkReplies(bytes(stream), connection)
        finally:
            connection.lose()
            # The harness keeps every connection; a fuzz run makes millions.
            harness.connections.clear()


def httpServer(data: bytes) -> None:
    """
    The server's HTTP site (with the Blaze upgrade) fed raw bytes.
    """
    from pocketrelay.server.web.site import buildRoot, buildSite

    harness = _serverHarness()
    clock = Clock()
    with _FailureWatch():
        site = buildSite(buildRoot(harness.hub), reactor=clock)
        address = IPv4Address("TCP", "198.51.100.9", 4444)
        channel = site.buildProtocol(address)
        transport = StringTransport(peerAddress=address)
        channel.makeConnection(transport)
        try:
            for start in range(0, len(data), 97):
                channel.dataReceived(data[start : start + 97])
        finally:
            channel.connectionLost(Failure(ConnectionDone("fuzz done")))


def telemetry(data: bytes) -> None:
    """
    The client's telemetry record decoder.
    """
    from pocketrelay.client.telemetry import TelemetryDecoder, TelemetryError

    decoder = TelemetryDecoder()
    try:
        decoder.feed(data)
        for _ in range(len(data) + 1):
            try:
                if decoder.nextRecord() is None:
                    break
            except TelemetryError as e:
                if type(e).__name__ == "TelemetryFramingError":
                    return
    except TelemetryError:
        return


@functools.cache
def _redirectorFactory() -> Any:
    from cryptography.hazmat.primitives import serialization

    from pocketrelay.client.certificate import generateCertificate
    from pocketrelay.client.redirector import RedirectorFactory

    certificate, key = generateCertificate()
    keyPEM = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return RedirectorFactory("127.0.0.1", 42128, certificate, keyPEM, clock=Clock())


def redirector(data: bytes) -> None:
    """
    The client's SSLv3 redirector (tlslite-ng behind a Twisted protocol)
    fed raw bytes.
    """
    factory = _redirectorFactory()
    with _FailureWatch():
        protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5555))
        transport = StringTransport()
        protocol.makeConnection(transport)
        try:
            for start in range(0, len(data), 61):
                if transport.disconnecting:
                    break
                protocol.dataReceived(data[start : start + 61])
        finally:
            protocol.connectionLost(Failure(ConnectionDone("fuzz done")))


def coalesced(data: bytes) -> None:
    """
    The binary coalesced parser and the C{coalesced.json} parser; whatever
    either accepts must survive its writers (or be refused by them cleanly)
    and read back to the same model.
    """
    from pocketrelay.me3 import coalesced as codec

    try:
        model = codec.parseBinary(data)
    except codec.CoalescedError:
        pass
    else:
        _checkCoalesced(model)
    try:
        model = codec.parseJson(data)
    except codec.CoalescedError:
        return
    if codec.parseJson(codec.serializeJson(model)) != model:
        raise AssertionError("coalesced JSON does not read back to its model")
    _checkCoalesced(model)


def _checkCoalesced(model: Any) -> None:
    from pocketrelay.me3 import coalesced as codec

    try:
        binary = codec.serializeBinary(model)
    except codec.CoalescedError:
        return
    if codec.parseBinary(binary) != codec.canonical(model):
        raise AssertionError("binary coalesced does not read back to its model")


def tlk(data: bytes) -> None:
    """
    The talk-file parser and its JSON reader, with the same round trips.
    """
    from pocketrelay.me3 import tlk as codec

    talks = []
    try:
        talks.append(codec.parseTlk(data))
    except codec.TlkError:
        pass
    try:
        talks.append(codec.tlkFromJson(data))
    except codec.TlkError:
        pass
    for talk in talks:
        if codec.tlkFromJson(codec.tlkToJson(talk)) != talk:
            raise AssertionError("talk file JSON does not read back to its model")
        try:
            binary = codec.serializeTlk(talk)
        except codec.TlkError:
            continue
        if codec.parseTlk(binary) != codec.canonical(talk):
            raise AssertionError("talk file does not read back to its model")


def _gameDataSeeds() -> dict[str, list[bytes]]:
    """
    Inputs of the game-data targets: a coalesced file (binary and JSON)
    and a talk file (binary and JSON), keyed by target.
    """
    from pocketrelay.me3 import coalesced as c
    from pocketrelay.me3 import tlk as t

    model = c.Coalesced(
        [
            c.CoalescedFile(
                "..\\..\\biogame\\config\\demo.ini",
                [
                    c.Section(
                        "demopackage.demoklass",
                        [
                            c.Property("maxwidgets", [c.Value(c.ValueType.New, "12")]),
                            c.Property(
                                "widgetlist",
                                [
                                    c.Value(c.ValueType.RemoveProperty),
                                    c.Value(c.ValueType.AddUnique, '(Name="alpha",Size=3)'),
                                    c.Value(c.ValueType.Remove, '(Name="beta",Size=4)'),
                                ],
                            ),
                        ],
                    )
                ],
            )
        ]
    )
    talk = t.TalkFile(
        [t.TalkString(1, "hi"), t.TalkString(7, "Pocket Relay \u2122")],
        [t.TalkString(7, "she")],
    )
    return {
        "coalesced": [c.serializeBinary(model), c.serializeJson(model)],
        "tlk": [t.serializeTlk(talk), t.tlkToJson(talk)],
    }


@functools.cache
def _tunnelLobby() -> tuple[Any, list[str]]:
    """
    A hub (of its own in-memory server) with a game of two logged-in
    players; their association tokens, host first.
    """
    import tempfile

    from pocketrelay.testing.server import ServerHarness
    from pocketrelay.testing.tunnels import tunnelLobby

    harness = ServerHarness(FilePath(tempfile.mkdtemp(prefix="pocketrelay-fuzz-tunnel-")))
    return harness.hub, tunnelLobby(harness, prefix="fuzz-")


def _chunks(data: bytes) -> list[tuple[int, bytes]]:
    """
    Cut fuzz input into (control byte, chunk) pairs: each chunk is a
    control byte, a big-endian u16 length and that many bytes (fewer at
    the end).
    """
    chunks = []
    position = 0
    while position + 3 <= len(data):
        control = data[position]
        length = int.from_bytes(data[position + 1 : position + 3], "big")
        chunks.append((control, data[position + 3 : position + 3 + length]))
        position += 3 + length
    return chunks


def udpTunnel(data: bytes) -> None:
    """
    The server's UDP tunnel port, with the two tunnels of a game open, fed
    datagrams made from the input (from the host's address, the
    joiner's, or a stranger's; with a live tunnel id or the input's).
    Every datagram the tunnel decoder accepts re-encodes to one that
    decodes the same; no failure may be logged.
    """
    from pocketrelay.server.tunnel import TunnelRelay, UdpTunnelProtocol
    from pocketrelay.tunnelwire import (
        UNASSIGNED,
        Initiate,
        TunnelWireError,
        decodeDatagram,
        encodeDatagram,
    )

    hub, tokens = _tunnelLobby()
    relay = TunnelRelay(hub, rng=random.Random(len(data)))
    server = UdpTunnelProtocol(relay)
    server.makeConnection(FakeDatagramTransport())
    addresses = [("198.51.100.1", 3000), ("198.51.100.2", 3001), ("203.0.113.9", 3002)]
    with _FailureWatch():
        try:
            for token, address in zip(tokens, addresses, strict=False):
                server.datagramReceived(encodeDatagram(UNASSIGNED, Initiate(token)), address)
            live = [tunnel.tunnelId for tunnel in relay.udpTunnels.values()]
            for control, datagram in _chunks(data):
                if control & 0x04 and len(datagram) >= 5:
                    # Aim at a live tunnel so that routing is reached.
                    tunnelId = live[control >> 7 & 1] if live else UNASSIGNED
                    datagram = datagram[:1] + tunnelId.to_bytes(4, "big") + datagram[5:]
                try:
                    decoded = decodeDatagram(datagram)
                except TunnelWireError:
                    pass
                else:
                    try:
                        again = decodeDatagram(encodeDatagram(decoded.tunnelId, decoded.message))
                    except TunnelWireError as e:
                        raise UnexpectedFailure(f"{decoded!r} decodes but does not "
                                                f"re-encode: {e}") from e
                    if again != decoded:
                        raise UnexpectedFailure(f"{decoded!r} re-encodes as {again!r}")
                server.datagramReceived(datagram, addresses[control % 3])
        finally:
            server.stopProtocol()
            relay.stop()


def httpTunnel(data: bytes) -> None:
    """
    The server's HTTP tunnel (after the upgrade) of a game's host, the
    joiner's tunnel open too, fed the input in pieces whose sizes come
    from the input.  The tunnel frame decoder finds the same frames
    however the stream is cut; a stream it refuses closes the
    connection; no failure may be logged.
    """
    from pocketrelay.server.tunnel import HttpTunnelProtocol, TunnelRelay
    from pocketrelay.tunnelwire import FrameDecoder as TunnelFrameDecoder
    from pocketrelay.tunnelwire import TunnelWireError

    if not data:
        return
    hub, tokens = _tunnelLobby()
    relay = TunnelRelay(hub)
    whole: list[Any] = []
    refused = False
    try:
        whole = TunnelFrameDecoder(relay.maxPayload).feed(data[1:])
    except TunnelWireError:
        refused = True
    with _FailureWatch():
        joiner = HttpTunnelProtocol(relay, tokens[1], "198.51.100.2:4001")
        joiner.makeConnection(StringTransport())
        host = HttpTunnelProtocol(relay, tokens[0], "198.51.100.1:4000")
        transport = StringTransport()
        host.makeConnection(transport)
        pieces = TunnelFrameDecoder(relay.maxPayload)
        cut: list[Any] = []
        cutRefused = False
        try:
            step = data[0] % 29 + 1
            stream = data[1:]
            for start in range(0, len(stream), step):
                piece = stream[start : start + step]
                if not cutRefused:
                    try:
                        cut.extend(pieces.feed(piece))
                    except TunnelWireError:
                        cutRefused = True
                host.dataReceived(piece)
        finally:
            host.connectionLost(Failure(ConnectionDone("fuzz done")))
            joiner.connectionLost(Failure(ConnectionDone("fuzz done")))
            relay.stop()
    if cutRefused != refused or (not refused and cut != whole):
        raise UnexpectedFailure(f"frames depend on how the stream is cut: {cut!r} "
                                f"(refused: {cutRefused}) != {whole!r} (refused: {refused})")
    if refused and not transport.disconnecting:
        raise UnexpectedFailure("a refused tunnel stream left the connection open")


#: Every target by name.
TARGETS: dict[str, Callable[[bytes], None]] = {
    "tdf-generic": tdfGeneric,
    "tdf-declared": tdfDeclared,
    "frames": frames,
    "blaze-server": blazeServer,
    "http-server": httpServer,
    "telemetry": telemetry,
    "redirector": redirector,
    "coalesced": coalesced,
    "tlk": tlk,
    "udp-tunnel": udpTunnel,
    "http-tunnel": httpTunnel,
}


def _chunk(control: int, body: bytes) -> bytes:
    return bytes([control]) + len(body).to_bytes(2, "big") + body


def _udpTunnelSeeds() -> list[bytes]:
    """
    Inputs of the shapes L{udpTunnel} reads: forwards between the two
    players (live tunnel ids), keep-alives, an Initiate with a bad token,
    a datagram from a stranger.
    """
    from pocketrelay.tunnelwire import (
        UNASSIGNED,
        Forward,
        Initiate,
        KeepAlive,
        encodeDatagram,
    )

    forward = encodeDatagram(0, Forward(1, b"game datagram"))
    back = encodeDatagram(0, Forward(0, b"\x00" * 40))
    keepAlive = encodeDatagram(0, KeepAlive())
    return [
        _chunk(0x04, forward) + _chunk(0x85, back),
        _chunk(0x04, keepAlive) + _chunk(0x04, encodeDatagram(0, Forward(3, b"x"))),
        _chunk(0x00, encodeDatagram(UNASSIGNED, Initiate("not-a-token"))),
        _chunk(0x06, forward) + _chunk(0x04, encodeDatagram(0, Forward(1, b"y" * 1400))),
    ]


def _httpTunnelSeeds() -> list[bytes]:
    """
    Inputs of the shape L{httpTunnel} reads: a piece size, then tunnel
    frames (forwards to the joiner, keep-alives, an oversized header).
    """
    from pocketrelay.tunnelwire import KEEP_ALIVE_FRAME, encodeFrame

    frames = encodeFrame(1, b"game datagram") + KEEP_ALIVE_FRAME + encodeFrame(0, b"x" * 300)
    return [
        b"\x00" + frames,
        b"\x06" + frames + encodeFrame(2, b"")[:2],
        b"\x1c" + encodeFrame(1, b"z" * 1200) + b"\x01\xff\xff",
    ]


#: Seed inputs of the targets whose input is not a Blaze vector.
SEEDS: dict[str, Callable[[], list[bytes]]] = {
    "udp-tunnel": _udpTunnelSeeds,
    "http-tunnel": _httpTunnelSeeds,
    "coalesced": lambda: _gameDataSeeds()["coalesced"],
    "tlk": lambda: _gameDataSeeds()["tlk"],
}
