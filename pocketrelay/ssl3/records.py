# -*- test-case-name: tests.test_ssl3 -*-
"""
A gate in front of the SSL engine: every incoming record header must be an
SSL 3.0 record.

Pure codec: no Twisted import.  EA's ProtoSSL writes record version
C{03 00} on every record, including the first ClientHello, and accepts
nothing else; blaze-ssl-async (the Pocket Relay client's redirector)
answers any other record version with a C{handshake_failure} alert.
L{RecordScanner} walks the record headers of the incoming byte stream so
that garbage, an SSLv2-format hello and a TLS hello are refused before
the SSL engine sees them, each with a reason that fits on one log line.
"""

from __future__ import annotations

import enum

__all__ = [
    "HANDSHAKE_FAILURE_ALERT",
    "MAX_RECORD_BODY",
    "ContentType",
    "RecordScanner",
    "SSLv3RecordError",
]

#: The largest record body accepted: 2^14 plaintext bytes plus room for
#: the MAC and any expansion, as blaze-ssl-async allows (16384 + 2048).
MAX_RECORD_BODY = 16384 + 2048

#: A plaintext fatal C{handshake_failure} alert in an SSL 3.0 record.
HANDSHAKE_FAILURE_ALERT = bytes([21, 3, 0, 0, 2, 2, 40])

_HEADER_SIZE = 5


class ContentType(enum.IntEnum):
    """
    SSL 3.0 record content types.
    """

    CHANGE_CIPHER_SPEC = 20
    ALERT = 21
    HANDSHAKE = 22
    APPLICATION_DATA = 23


_CONTENT_TYPES = frozenset(int(kind) for kind in ContentType)


class SSLv3RecordError(ValueError):
    """
    The peer sent something that is not a sequence of SSL 3.0 records.

    @ivar reason: a short, human-readable explanation.
    @ivar looksLikeTLS: the header was well formed except for its version
        (the peer speaks some SSL/TLS, just not 3.0), so an alert is worth
        sending.
    """

    def __init__(self, reason: str, looksLikeTLS: bool = False) -> None:
        self.reason = reason
        self.looksLikeTLS = looksLikeTLS
        super().__init__(reason)


def _describeVersion(major: int, minor: int) -> str:
    names = {(3, 1): "TLS 1.0", (3, 2): "TLS 1.1", (3, 3): "TLS 1.2", (3, 4): "TLS 1.3"}
    return names.get((major, minor), f"{major}.{minor}")


class RecordScanner:
    """
    Checks the record headers of a byte stream as it arrives, without
    keeping the record bodies.

    @ivar maxBody: the largest record body accepted.
    """

    def __init__(self, maxBody: int = MAX_RECORD_BODY) -> None:
        self.maxBody = maxBody
        self._header = bytearray()
        self._remaining = 0
        self._failed: SSLv3RecordError | None = None
        self.records = 0

    def feed(self, data: bytes) -> None:
        """
        Check the record headers in C{data}, which continues what was fed
        before.

        @raise SSLv3RecordError: at the first unacceptable header, and
            again on every later call.
        """
        if self._failed is not None:
            raise self._failed
        pos = 0
        size = len(data)
        while pos < size:
            if self._remaining:
                step = min(self._remaining, size - pos)
                self._remaining -= step
                pos += step
                continue
            need = _HEADER_SIZE - len(self._header)
            self._header += data[pos : pos + need]
            pos += need
            if len(self._header) < _HEADER_SIZE:
                return
            header, self._header = bytes(self._header), bytearray()
            try:
                self._remaining = self._check(header)
            except SSLv3RecordError as e:
                self._failed = e
                raise
            self.records += 1

    def _check(self, header: bytes) -> int:
        kind, major, minor = header[0], header[1], header[2]
        length = int.from_bytes(header[3:5], "big")
        if kind not in _CONTENT_TYPES:
            if kind & 0x80 and self.records == 0:
                raise SSLv3RecordError(
                    "SSLv2-format hello; only SSL 3.0 is spoken here"
                )
            raise SSLv3RecordError(
                f"not an SSL record (first bytes {header[:3].hex(' ')})"
            )
        if (major, minor) != (3, 0):
            if major == 3:
                raise SSLv3RecordError(
                    f"{_describeVersion(major, minor)} record; only SSL 3.0 is "
                    f"spoken here",
                    looksLikeTLS=True,
                )
            raise SSLv3RecordError(f"record version {major}.{minor} is not SSL 3.0")
        if length > self.maxBody:
            raise SSLv3RecordError(
                f"record of {length} bytes is larger than {self.maxBody}"
            )
        return length
