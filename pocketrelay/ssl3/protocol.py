# -*- test-case-name: tests.test_ssl3 -*-
"""
SSL 3.0 as a protocol wrapper: tlslite-ng driven from Twisted, without
blocking the reactor.

L{SSLv3ServerProtocol} sits between a transport and an inner protocol, the
way C{twisted.protocols.tls} does: the transport's bytes go through the SSL
engine and the inner protocol sees plaintext; what the inner protocol
writes is encrypted.  The inner protocol is connected only once the
handshake has finished, so for it the connection starts secure.

tlslite-ng expects a socket.  L{_SocketShim} is one: C{recv} hands out
bytes that arrived through C{dataReceived} and raises C{BlockingIOError}
(C{EWOULDBLOCK}) when there are none, which makes tlslite's asynchronous
generators (C{handshakeServerAsync}, C{readAsync}) yield C{0} ("waiting
to read"); they are resumed when more bytes arrive.  C{send} writes to
the transport, so writing never waits.

Every incoming record header is checked by a L{RecordScanner} first:
anything but an SSL 3.0 record ends the connection with one log line.

L{SSLv3ClientProtocol} is the client side, offering what the game offers;
it is meant for tests and simulated game clients and does not verify the
server's certificate.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from tlslite.api import TLSConnection
from tlslite.constants import (
    AlertDescription,
    AlertLevel,
    AlgorithmOID,
    HashAlgorithm,
    SignatureAlgorithm,
)
from tlslite.errors import BaseTLSException, TLSRemoteAlert
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, TimeoutMixin, WrappingFactory
from twisted.python.failure import Failure
from zope.interface import directlyProvides, providedBy

from pocketrelay.ssl3 import der
from pocketrelay.ssl3.credentials import (
    SSLv3Credentials,
    clientSettings,
    serverSettings,
)
from pocketrelay.ssl3.records import (
    HANDSHAKE_FAILURE_ALERT,
    RecordScanner,
    SSLv3RecordError,
)

if TYPE_CHECKING:
    from tlslite.api import HandshakeSettings
    from twisted.internet.interfaces import IProtocolFactory, IReactorTime

__all__ = [
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "MAX_HANDSHAKE_BYTES",
    "SSLv3ClientFactory",
    "SSLv3ClientProtocol",
    "SSLv3ServerFactory",
    "SSLv3ServerProtocol",
    "describeAlert",
    "describeFirstBytes",
]

#: Seconds a handshake may take before the connection is dropped.
DEFAULT_HANDSHAKE_TIMEOUT = 60.0

#: The most bytes a client may send before its handshake is done.  The
#: game's whole side of the handshake is about 250 bytes.
MAX_HANDSHAKE_BYTES = 16384

_SUITE_NAMES = {0x0004: "RC4-MD5", 0x0005: "RC4-SHA"}

#: Alerts with which a peer says it does not accept the certificate.
_CERTIFICATE_ALERTS = frozenset(
    {
        AlertDescription.bad_certificate,
        AlertDescription.unsupported_certificate,
        AlertDescription.certificate_revoked,
        AlertDescription.certificate_expired,
        AlertDescription.certificate_unknown,
        AlertDescription.unknown_ca,
    }
)

#: How many of the first bytes a connection sent are kept, to say what
#: they were: a record header and the handshake message type.
_FIRST_BYTES = 6

_NEW = "new"
_HANDSHAKING = "handshaking"
_OPEN = "open"
_CLOSING = "closing"
_FAILED = "failed"
_CLOSED = "closed"


class _SocketShim:
    """
    The socket that tlslite-ng reads from and writes to.

    @ivar eof: the peer closed the connection; C{recv} then returns C{b""}
        once the buffer is drained.
    """

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write
        self._incoming = bytearray()
        self.eof = False

    def feed(self, data: bytes) -> None:
        self._incoming += data

    def recv(self, size: int) -> bytes:
        if not self._incoming:
            if self.eof:
                return b""
            raise BlockingIOError(errno.EWOULDBLOCK, "no data yet")
        chunk = bytes(self._incoming[:size])
        del self._incoming[:size]
        return chunk

    def send(self, data: bytes) -> int:
        self._write(bytes(data))
        return len(data)

    def sendall(self, data: bytes) -> None:
        self._write(bytes(data))

    def close(self) -> None:
        # tlslite "closes the socket" when the session ends; the wrapper
        # closes the transport itself.
        pass


def _describe(error: BaseException) -> str:
    if isinstance(error, TLSRemoteAlert):
        return describeAlert(error.level, error.description)
    text = str(error).strip()
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def describeAlert(level: int, description: int) -> str:
    """
    Say what an alert received from the peer means, in one phrase.

    @param level: the alert level (1 warning, 2 fatal).
    @param description: the alert description number.
    """
    name = AlertDescription.toStr(description)
    kind = {AlertLevel.warning: "warning", AlertLevel.fatal: "fatal"}.get(
        level, f"level-{level}"
    )
    text = f"the peer sent a {kind} {name} alert"
    if description in _CERTIFICATE_ALERTS:
        text += ": it does not accept the certificate"
    return text


def describeFirstBytes(first: bytes) -> str:
    """
    What the first bytes of a connection were, as far as telling a
    ClientHello from anything else goes: C{"nothing"}, C{"hello"} (an SSL
    3.0 handshake record starting a ClientHello, complete or not) or
    C{"other"}.

    @param first: up to the first six bytes received.
    """
    if not first:
        return "nothing"
    expected = b"\x16\x03\x00"
    if len(first) < 6:
        # Too short to see the message type: a ClientHello if it starts
        # like one.
        prefix = first[: len(expected)]
        return "hello" if expected.startswith(prefix) else "other"
    if first[:3] == expected and first[5] == 1:
        return "hello"
    return "other"


class _SSLv3Protocol(ProtocolWrapper, TimeoutMixin):
    """
    The machinery shared by both sides: the socket shim, stepping tlslite's
    generators, the state of the connection and its single log line.
    """

    log = Logger()

    def __init__(self, factory: WrappingFactory[Any], wrappedProtocol: Any) -> None:
        super().__init__(factory, wrappedProtocol)
        self._state = _NEW
        self._scanner = RecordScanner()
        self._socket = _SocketShim(self._writeRaw)
        self._tls = TLSConnection(self._socket)
        self._handshake: Iterator[Any] | None = None
        self._reader: Iterator[Any] | None = None
        self._innerConnected = False
        self._handshakeDone = False
        self._handshakeBytes = 0
        self._firstBytes = b""
        self._handshakeBytesSent = 0
        self._version: tuple[int, int] | None = None
        self.peer = "?"

    # -- to be provided by each side

    def _startHandshake(self) -> Iterator[Any]:
        raise NotImplementedError()

    @property
    def _clock(self) -> IReactorTime:
        return self.factory.clock

    @property
    def _handshakeTimeout(self) -> float | None:
        return self.factory.handshakeTimeout

    @property
    def _sendCloseNotify(self) -> bool:
        return bool(getattr(self.factory, "sendCloseNotify", False))

    # -- what the session looks like, once open

    @property
    def cipherName(self) -> str | None:
        """
        The negotiated suite in OpenSSL's naming (C{"RC4-SHA"} or
        C{"RC4-MD5"}), or L{None} before the handshake has finished.
        """
        suite = self.cipherSuite
        if suite is None:
            return None
        return _SUITE_NAMES.get(suite, f"0x{suite:04x}")

    @property
    def cipherSuite(self) -> int | None:
        """
        The negotiated cipher suite number, or L{None} before the handshake
        has finished.
        """
        if not self._handshakeDone or self._tls.session is None:
            return None
        return int(self._tls.session.cipherSuite)

    @property
    def version(self) -> tuple[int, int] | None:
        """
        The negotiated protocol version, C{(3, 0)}, or L{None} before the
        handshake has finished.
        """
        return self._version

    # -- connection set-up

    def makeConnection(self, transport: Any) -> None:
        directlyProvides(self, providedBy(transport))
        Protocol.makeConnection(self, transport)
        self.factory.registerProtocol(self)

    def connectionMade(self) -> None:
        try:
            address = self.transport.getPeer()  # type: ignore[union-attr]
            self.peer = (
                f"{getattr(address, 'host', address)}:{getattr(address, 'port', '')}"
            )
        except Exception:
            self.peer = "?"
        self.callLater = self._clock.callLater  # type: ignore[assignment]
        self.setTimeout(self._handshakeTimeout)
        self._state = _HANDSHAKING
        try:
            self._handshake = self._startHandshake()
        except Exception:
            self.log.failure(
                "Could not start the SSLv3 handshake with {peer}", peer=self.peer
            )
            self._state = _FAILED
            self.setTimeout(None)
            self.transport.loseConnection()  # type: ignore[union-attr]
            return
        self._pump()

    def _writeRaw(self, data: bytes) -> None:
        if self.transport is not None and self._state not in (_CLOSED,):
            if self._state == _HANDSHAKING:
                self._handshakeBytesSent += len(data)
            self.transport.write(data)

    # -- receiving

    def dataReceived(self, data: bytes) -> None:
        if self._state not in (_HANDSHAKING, _OPEN):
            return
        if self._state == _HANDSHAKING:
            self._handshakeBytes += len(data)
            if len(self._firstBytes) < _FIRST_BYTES:
                self._firstBytes += data[: _FIRST_BYTES - len(self._firstBytes)]
            if self._handshakeBytes > MAX_HANDSHAKE_BYTES:
                self._fail(
                    f"more than {MAX_HANDSHAKE_BYTES} bytes before the handshake finished"
                )
                return
        try:
            self._scanner.feed(data)
        except SSLv3RecordError as e:
            if e.looksLikeTLS and self._state == _HANDSHAKING:
                self._writeRaw(HANDSHAKE_FAILURE_ALERT)
            self._fail(e.reason)
            return
        self._socket.feed(data)
        self._pump()

    def _pump(self) -> None:
        if self._state == _HANDSHAKING and not self._stepHandshake():
            return
        self._readAvailable()

    def _stepHandshake(self) -> bool:
        """
        Run the handshake as far as the bytes received allow.

        @return: whether the handshake has finished.
        """
        assert self._handshake is not None
        try:
            while True:
                if next(self._handshake) == 0:
                    return False
        except StopIteration:
            pass
        except (BaseTLSException, OSError) as e:
            self._fail(self._handshakeFailure(e))
            return False
        except Exception:
            self.log.failure(
                "SSLv3 handshake with {peer} failed unexpectedly", peer=self.peer
            )
            self._fail(None)
            return False
        self._handshake = None
        self._handshakeDone = True
        self._version = (int(self._tls.version[0]), int(self._tls.version[1]))
        self._state = _OPEN
        self.setTimeout(None)
        self.log.debug(
            "SSLv3 handshake with {peer} done: {cipher}",
            peer=self.peer,
            cipher=self.cipherName,
        )
        self._innerConnected = True
        self.wrappedProtocol.makeConnection(self)  # type: ignore[arg-type]
        return True

    def _readAvailable(self) -> None:
        while self._state == _OPEN:
            if self._reader is None:
                self._reader = self._tls.readAsync()
            try:
                result = next(self._reader)
            except StopIteration:
                self._reader = None
                continue
            except (BaseTLSException, OSError) as e:
                self._fail(_describe(e))
                return
            except Exception:
                self.log.failure(
                    "Reading SSLv3 data from {peer} failed", peer=self.peer
                )
                self._fail(None)
                return
            if isinstance(result, int):
                if result == 0:
                    return
                continue
            self._reader = None
            if not result:
                # close_notify: the peer is done.
                self._state = _CLOSING
                self.transport.loseConnection()  # type: ignore[union-attr]
                return
            self.wrappedProtocol.dataReceived(bytes(result))

    # -- failing and closing

    def _fail(self, reason: str | None) -> None:
        """
        End the connection after an SSL error, with one log line (unless
        C{reason} is L{None}: the caller has logged already).
        """
        if self._state in (_FAILED, _CLOSED):
            return
        during = "handshake" if self._state == _HANDSHAKING else "connection"
        self._state = _FAILED
        self._handshake = self._reader = None
        self.setTimeout(None)
        if reason is not None:
            self.log.warn(
                "SSLv3 {during} with {peer} failed: {reason}",
                during=during,
                peer=self.peer,
                reason=reason,
            )
        self.transport.loseConnection()  # type: ignore[union-attr]

    def timeoutConnection(self) -> None:
        if self._handshakeBytes:
            self.log.warn(
                "SSLv3 handshake with {peer} failed: nothing completed it within "
                "{seconds} seconds",
                peer=self.peer,
                seconds=self._handshakeTimeout,
            )
        else:
            self.log.info(
                "Connection from {peer} sent nothing within {seconds} seconds; closed "
                "(a port probe or connection test, not a game)",
                peer=self.peer,
                seconds=self._handshakeTimeout,
            )
        self._state = _FAILED
        self._handshake = None
        transport = self.transport
        abort = getattr(transport, "abortConnection", None)
        if abort is not None:
            abort()
        else:
            transport.loseConnection()  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure = Failure(ConnectionDone())) -> None:  # noqa: B008
        state, self._state = self._state, _CLOSED
        self.setTimeout(None)
        self._handshake = self._reader = None
        self._socket.eof = True
        if self in self.factory.protocols:
            self.factory.unregisterProtocol(self)
        if state == _HANDSHAKING:
            self._logHangUp(reason)
        if self._innerConnected:
            self._innerConnected = False
            wrapped, self.wrappedProtocol = self.wrappedProtocol, None  # type: ignore[assignment]
            wrapped.connectionLost(reason)

    def _handshakeFailure(self, error: BaseException) -> str:
        """
        The reason logged when the SSL engine ends the handshake with
        C{error}.
        """
        return _describe(error)

    def _logHangUp(self, reason: Failure) -> None:
        """
        Log the one line for a peer that closed the connection during the
        handshake, without an alert.
        """
        self.log.warn(
            "SSLv3 handshake with {peer} failed: the peer closed the "
            "connection ({reason})",
            peer=self.peer,
            reason=reason.getErrorMessage(),
        )

    # -- the transport the inner protocol sees

    def write(self, data: bytes) -> None:
        if self._state != _OPEN or not data:
            return
        try:
            for _ in self._tls.writeAsync(data):
                pass
        except (BaseTLSException, OSError) as e:
            self._fail(_describe(e))

    def writeSequence(self, data: Any) -> None:
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        if self._state in (_CLOSING, _FAILED, _CLOSED):
            return
        self.disconnecting = 1
        if self._state == _OPEN and self._sendCloseNotify:
            try:
                for _ in self._tls.closeAsync():
                    pass
            except (BaseTLSException, OSError):
                pass
        self._state = _CLOSING
        self.setTimeout(None)
        self.transport.loseConnection()  # type: ignore[union-attr]

    def abortConnection(self) -> None:
        if self._state == _CLOSED:
            return
        self.disconnecting = 1
        self._state = _CLOSING
        self.setTimeout(None)
        transport = self.transport
        abort = getattr(transport, "abortConnection", None)
        if abort is not None:
            abort()
        else:
            transport.loseConnection()  # type: ignore[union-attr]


class SSLv3ServerProtocol(_SSLv3Protocol):
    """
    The server side of SSL 3.0 with RC4, as EA's ProtoSSL expects it.

    Created by L{SSLv3ServerFactory}; the inner protocol comes from the
    wrapped factory and is connected when the handshake has finished.

    A connection closed during the handshake without an alert is logged
    according to what it sent: nothing at all (a port probe: one C{info}
    line), bytes that are not a ClientHello, part of a ClientHello, or a
    whole ClientHello that was answered with the certificate (the way a
    game that rejects the certificate ends the handshake).  An alert is
    logged with its name.
    """

    def _handshakeFailure(self, error: BaseException) -> str:
        reason = _describe(error)
        if isinstance(error, TLSRemoteAlert):
            return reason
        if describeFirstBytes(self._firstBytes) != "other":
            return reason
        return f"not a ClientHello (first bytes {self._firstBytes.hex(' ')}): {reason}"

    def _logHangUp(self, reason: Failure) -> None:
        why = reason.getErrorMessage()
        first = describeFirstBytes(self._firstBytes)
        if first == "nothing":
            self.log.info(
                "Connection from {peer} closed before sending anything ({reason}): "
                "a port probe or connection test, not a game",
                peer=self.peer,
                reason=why,
            )
        elif self._handshakeBytesSent:
            self.log.warn(
                "SSLv3 handshake with {peer} failed: the peer closed the connection "
                "({reason}) after our certificate, without an alert; a game that "
                "rejects the certificate closes this way",
                peer=self.peer,
                reason=why,
            )
        elif first == "hello":
            self.log.warn(
                "SSLv3 handshake with {peer} failed: the peer closed the connection "
                "({reason}) in the middle of its ClientHello ({count} bytes); the "
                "certificate was never sent",
                peer=self.peer,
                reason=why,
                count=self._handshakeBytes,
            )
        else:
            self.log.warn(
                "SSLv3 handshake with {peer} failed: the peer closed the connection "
                "({reason}) after {count} bytes that are not a ClientHello (first "
                "bytes {first}); not a game",
                peer=self.peer,
                reason=why,
                count=self._handshakeBytes,
                first=self._firstBytes.hex(" "),
            )

    def _startHandshake(self) -> Iterator[Any]:
        factory: SSLv3ServerFactory = self.factory
        return self._tls.handshakeServerAsync(
            certChain=factory.credentials.certChain,
            privateKey=factory.credentials.privateKey,
            settings=factory.settings,
        )


class SSLv3ServerFactory(WrappingFactory):
    """
    Wraps a factory so that its protocols are served over SSL 3.0.

    @ivar credentials: the certificate chain and key presented.
    @ivar settings: the tlslite-ng C{HandshakeSettings}
        (L{serverSettings} unless given).
    @ivar clock: the clock used for the handshake timeout.
    @ivar handshakeTimeout: seconds a handshake may take, or L{None}.
    @ivar sendCloseNotify: whether closing an open connection sends a
        C{close_notify} alert first.  blaze-ssl-async does not; neither do
        we by default.
    """

    protocol = SSLv3ServerProtocol
    noisy = False

    def __init__(
        self,
        wrappedFactory: IProtocolFactory,
        credentials: SSLv3Credentials,
        clock: IReactorTime | None = None,
        handshakeTimeout: float | None = DEFAULT_HANDSHAKE_TIMEOUT,
        sendCloseNotify: bool = False,
        settings: HandshakeSettings | None = None,
    ) -> None:
        super().__init__(wrappedFactory)
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self.credentials = credentials
        self.settings = settings if settings is not None else serverSettings()
        self.handshakeTimeout = handshakeTimeout
        self.sendCloseNotify = sendCloseNotify


def _acceptRsaEncryptionSignatures() -> None:
    # The game's certificate carries rsaEncryption as its outer signature
    # algorithm; tlslite-ng's client-side X.509 parser raises KeyError on it
    # unless the OID is in this table.  Only the client side needs this.
    AlgorithmOID.oid.setdefault(
        der.RSA_ENCRYPTION, (HashAlgorithm.md5, SignatureAlgorithm.rsa)
    )


class SSLv3ClientProtocol(_SSLv3Protocol):
    """
    The client side of SSL 3.0 with RC4, offering what ME3 offers.  The
    server certificate is not verified.
    """

    def _startHandshake(self) -> Iterator[Any]:
        _acceptRsaEncryptionSignatures()
        factory: SSLv3ClientFactory = self.factory
        return self._tls.handshakeClientCert(settings=factory.settings, async_=True)


class SSLv3ClientFactory(WrappingFactory):
    """
    Wraps a client factory so that its protocols speak SSL 3.0.

    @ivar settings: the tlslite-ng C{HandshakeSettings}
        (L{clientSettings} unless given).
    """

    protocol = SSLv3ClientProtocol
    noisy = False

    def __init__(
        self,
        wrappedFactory: IProtocolFactory,
        clock: IReactorTime | None = None,
        handshakeTimeout: float | None = DEFAULT_HANDSHAKE_TIMEOUT,
        settings: HandshakeSettings | None = None,
    ) -> None:
        super().__init__(wrappedFactory)
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self.settings = settings if settings is not None else clientSettings()
        self.handshakeTimeout = handshakeTimeout
        self.sendCloseNotify = False
