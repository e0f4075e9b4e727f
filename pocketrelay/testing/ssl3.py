# -*- test-case-name: tests.test_ssl3 -*-
"""
Helpers for tests of the SSL 3.0 transport and the redirector: the
redirector's kind of certificate, ME3-shaped ClientHello records, a
recording inner protocol, and an in-memory client/server pair.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from cryptography.hazmat.primitives import serialization
from tlslite.api import HandshakeSettings
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.test import iosim

from pocketrelay.client.certificate import generateCertificate
from pocketrelay.ssl3 import SSLv3ClientFactory

__all__ = [
    "Recorder",
    "clientHello",
    "connectInMemory",
    "pemCertificate",
    "splitRecords",
    "testCredentialsPEM",
]

_PAIR: tuple[bytes, bytes] | None = None


def testCredentialsPEM() -> tuple[bytes, bytes]:
    """
    A certificate and key made like the redirector's, once per test run
    (a 1024-bit key takes a moment to make).
    """
    global _PAIR
    if _PAIR is None:
        certificate, key = generateCertificate()
        _PAIR = (
            pemCertificate(certificate),
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
    return _PAIR


def pemCertificate(raw: bytes) -> bytes:
    """
    A DER certificate in PEM form.
    """
    body = base64.encodebytes(raw).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        b"-----BEGIN CERTIFICATE-----\n"
        + b"\n".join(lines)
        + b"\n-----END CERTIFICATE-----\n"
    )


def clientHello(
    suites: tuple[int, ...] = (0x0005, 0x0004),
    version: bytes = b"\x03\x00",
    recordVersion: bytes = b"\x03\x00",
) -> bytes:
    """
    A ClientHello record shaped like ME3's ProtoSSL one: empty session ID,
    the given suites, null compression, no extensions.
    """
    suiteBytes = b"".join(s.to_bytes(2, "big") for s in suites)
    body = (
        version
        + os.urandom(32)
        + b"\x00"
        + len(suiteBytes).to_bytes(2, "big")
        + suiteBytes
        + b"\x01\x00"
    )
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16" + recordVersion + len(handshake).to_bytes(2, "big") + handshake


def splitRecords(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """
    Split a byte stream into C{(type, version, body)} records.
    """
    records = []
    pos = 0
    while pos < len(data):
        length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        records.append(
            (data[pos], data[pos + 1 : pos + 3], data[pos + 5 : pos + 5 + length])
        )
        pos += 5 + length
    return records


class Recorder(Protocol):
    """
    An inner protocol that records what happens to it and can echo.
    """

    def __init__(self, greeting: bytes = b"", echo: bool = False) -> None:
        self.greeting = greeting
        self.echo = echo
        self.received = b""
        self.made = 0
        self.lost: list[Failure] = []

    def connectionMade(self) -> None:
        self.made += 1
        if self.greeting:
            self.transport.write(self.greeting)  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if self.echo:
            self.transport.write(data)  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.lost.append(reason)


def connectInMemory(
    serverFactory: Any,
    clientInner: Protocol,
    clock: Clock,
    settings: HandshakeSettings | None = None,
) -> tuple[Any, Any, iosim.IOPump]:
    """
    Connect a server made by C{serverFactory} and an L{SSLv3ClientFactory}
    client around C{clientInner} through C{iosim}, and pump until idle.

    @return: the server wrapper, the client wrapper and the pump.
    """
    clientFactory = SSLv3ClientFactory(
        Factory.forProtocol(lambda: clientInner), clock=clock, settings=settings
    )
    server = serverFactory.buildProtocol(None)
    client = clientFactory.buildProtocol(None)
    pump = iosim.connect(
        server,
        iosim.FakeTransport(server, isServer=True),
        client,
        iosim.FakeTransport(client, isServer=False),
        greet=False,
        clock=clock,
    )
    pump.flush()
    return server, client, pump
