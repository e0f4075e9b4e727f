# -*- test-case-name: tests.test_doctor -*-
"""
The network side of C{doctor}: thin protocols that do one exchange each
and report what they saw, never deciding what it means (that is
L{pocketrelay.doctor.checks}).

  - L{resolveHost}: every address a host name resolves to.
  - L{connect}: one TCP connection (TLS on top for C{https}) to one
    resolved address.
  - L{PermissiveTLS}: TLS that accepts any certificate, so the
    certificate can be examined (L{TLSProbe}) and the other checks still
    run behind a bad one; the verdict on the certificate is the client's
    own trust store's (L{pocketrelay.doctor.checks}).
  - L{HTTPExchange}: one HTTP/1.1 request and its response, or the
    response head of an upgrade after which the connection goes to
    another protocol.
  - L{BlazeProbe}: preAuth and pings over an upgraded connection.
  - L{UdpProbe}: a tunnel Initiate to the UDP tunnel port, answered by
    Initiated.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Any

import attrs
from OpenSSL import SSL
from twisted.internet import defer, error
from twisted.internet.interfaces import (
    IHandshakeListener,
    IOpenSSLClientConnectionCreator,
    IResolutionReceiver,
)
from twisted.internet.protocol import DatagramProtocol, Protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from pocketrelay.blaze.protocol import BlazeProtocol, IBlazeDispatcher
from pocketrelay.client.blazeproxy import (
    ResponseHead,
    ResponseHeadError,
    parseResponseHead,
)
from pocketrelay.tunnelwire import (
    UNASSIGNED,
    Initiate,
    Initiated,
    TunnelWireError,
    decodeDatagram,
    encodeDatagram,
)

__all__ = [
    "MAX_BODY",
    "MAX_HEAD",
    "BlazeProbe",
    "HTTPExchange",
    "HTTPResponse",
    "PermissiveTLS",
    "ProtocolError",
    "TLSProbe",
    "TLSSession",
    "UdpProbe",
    "UdpRefused",
    "connect",
    "isAddress",
    "resolveHost",
]

#: The largest response head read.
MAX_HEAD = 64 * 1024

#: The largest response body read; the rest is dropped.
MAX_BODY = 1024 * 1024


class ProtocolError(Exception):
    """
    The peer answered something that is not what the exchange expects
    (not HTTP, a closed connection before the answer); the message says
    what.

    @ivar received: the first bytes received, if any.
    """

    def __init__(self, message: str, received: bytes = b"") -> None:
        super().__init__(message)
        self.received = received


def isAddress(host: str) -> bool:
    """
    Whether C{host} is an IP address rather than a name.
    """
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@implementer(IResolutionReceiver)
class _Addresses:
    def __init__(self) -> None:
        self.found: list[str] = []
        self.done: defer.Deferred[list[str]] = defer.Deferred()

    def resolutionBegan(self, resolutionInProgress: Any) -> None:
        pass

    def addressResolved(self, address: Any) -> None:
        host = str(address.host)
        if host not in self.found:
            self.found.append(host)

    def resolutionComplete(self) -> None:
        self.done.callback(self.found)


def resolveHost(reactor: Any, host: str, port: int) -> defer.Deferred[list[str]]:
    """
    Every address of C{host} for TCP, as the client's L{HostnameEndpoint}
    finds them (IPv4 and IPv6); an address is its own answer.

    @return: a L{Deferred} firing with the addresses (maybe none).
    """
    if isAddress(host):
        return defer.succeed([host])
    receiver = _Addresses()
    reactor.nameResolver.resolveHostName(receiver, host, port)
    return receiver.done


@implementer(IOpenSSLClientConnectionCreator)
class PermissiveTLS:
    """
    A TLS client that sends the host name (SNI) and accepts whatever
    certificate comes, so that it can be examined.

    @ivar host: the server's host name or address.
    """

    def __init__(
        self, host: str, clientCertificate: Any = None, chain: Sequence[Any] = ()
    ) -> None:
        """
        @param clientCertificate: a L{twisted.internet.ssl.PrivateCertificate}
            to present, as the client's C{--client-cert}, or L{None}.
        @param chain: its extra chain certificates (pyOpenSSL C{X509}).
        """
        self.host = host
        self._context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        self._context.set_verify(SSL.VERIFY_NONE, lambda *args: True)
        if clientCertificate is not None:
            self._context.use_certificate(clientCertificate.original)
            self._context.use_privatekey(clientCertificate.privateKey.original)
            for extra in chain:
                self._context.add_extra_chain_cert(extra)

    def clientConnectionForTLS(self, tlsProtocol: Any) -> SSL.Connection:
        connection = SSL.Connection(self._context, None)
        connection.set_app_data(tlsProtocol)
        if not isAddress(self.host):
            connection.set_tlsext_host_name(self.host.encode("idna"))
        connection.set_connect_state()
        return connection


def connect(
    reactor: Any,
    address: str,
    port: int,
    protocol: Protocol,
    timeout: float,
    tls: IOpenSSLClientConnectionCreator | None = None,
) -> defer.Deferred[Protocol]:
    """
    Connect C{protocol} to C{address}:C{port} over TCP, in TLS when
    C{tls} is given.
    """
    from twisted.internet.endpoints import (
        TCP4ClientEndpoint,
        TCP6ClientEndpoint,
        connectProtocol,
        wrapClientTLS,
    )

    endpoint: Any
    if ":" in address:
        endpoint = TCP6ClientEndpoint(reactor, address, port, timeout=timeout)
    else:
        endpoint = TCP4ClientEndpoint(reactor, address, port, timeout=timeout)
    if tls is not None:
        endpoint = wrapClientTLS(tls, endpoint)
    return connectProtocol(endpoint, protocol)


@attrs.frozen
class TLSSession:
    """
    What a TLS handshake showed.

    @ivar version: the protocol version (C{"TLSv1.3"}).
    @ivar cipher: the cipher suite.
    @ivar chain: the certificates the server sent, its own first, as
        C{cryptography} certificates.
    """

    version: str
    cipher: str
    chain: tuple[Any, ...]


@implementer(IHandshakeListener)
class TLSProbe(Protocol):
    """
    Completes a TLS handshake (over L{PermissiveTLS}), records the
    L{TLSSession} and closes the connection.

    @ivar done: fires with the L{TLSSession} once the connection is
        closed, or fails with the reason the handshake did not complete.
    """

    def __init__(self) -> None:
        self.done: defer.Deferred[TLSSession] = defer.Deferred()
        self.session: TLSSession | None = None

    def handshakeCompleted(self) -> None:
        handle: SSL.Connection = self.transport.getHandle()  # type: ignore[union-attr]
        chain = tuple(
            certificate.to_cryptography() for certificate in handle.get_peer_cert_chain() or ()
        )
        session = TLSSession(
            version=handle.get_protocol_version_name(),
            cipher=handle.get_cipher_name() or "",
            chain=chain,
        )
        self.session = session
        # Fire once the connection is really gone.
        self.transport.abortConnection()  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure = Failure(error.ConnectionDone())) -> None:  # noqa: B008
        if self.done.called:
            return
        if self.session is not None:
            self.done.callback(self.session)
        else:
            self.done.errback(reason)


@attrs.frozen
class HTTPResponse:
    """
    A response: its head and (unless it switched protocols) its body.

    @ivar truncated: the body was longer than L{MAX_BODY}.
    """

    head: ResponseHead
    body: bytes = b""
    truncated: bool = False

    @property
    def code(self) -> int:
        return self.head.code

    @property
    def status(self) -> str:
        return self.head.status

    def header(self, name: str) -> str | None:
        """
        The first value of header C{name}, or L{None}.
        """
        return self.head.header(name)

    @property
    def text(self) -> str:
        """
        The start of the body as one line of text.
        """
        text = re.sub(r"<[^>]*>", " ", self.body[:600].decode("utf-8", "replace"))
        return " ".join(text.split())[:300]


def _dechunk(body: bytes) -> bytes | None:
    """
    A complete chunked body decoded, or L{None} while it is incomplete.
    """
    out = bytearray()
    while True:
        size, sep, rest = body.partition(b"\r\n")
        if not sep:
            return None
        try:
            length = int(size.split(b";")[0].strip(), 16)
        except ValueError:
            raise ProtocolError("a malformed chunked body") from None
        if length == 0:
            return bytes(out)
        if len(rest) < length + 2:
            return None
        out += rest[:length]
        body = rest[length + 2 :]


class HTTPExchange(Protocol):
    """
    Sends one request and reads its response.

    With C{upgradeTo}, a C{101} response hands the connection to that
    protocol (bytes after the head included) and L{done} fires with the
    head alone; any other response is read as usual.

    @ivar done: fires with the L{HTTPResponse}, or fails with
        L{ProtocolError} (or the connection's reason) when there is no
        complete response.
    """

    def __init__(self, request: bytes, upgradeTo: Protocol | None = None) -> None:
        self.request = request
        self.upgradeTo = upgradeTo
        self.done: defer.Deferred[HTTPResponse] = defer.Deferred()
        self._buffer = b""
        self._head: ResponseHead | None = None
        self._switched = False

    def connectionMade(self) -> None:
        self.transport.write(self.request)  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        if self._switched:
            assert self.upgradeTo is not None
            self.upgradeTo.dataReceived(data)
            return
        if self.done.called:
            return
        self._buffer += data
        if self._head is None:
            head, sep, rest = self._buffer.partition(b"\r\n\r\n")
            if not sep:
                if len(self._buffer) > MAX_HEAD:
                    self._fail(ProtocolError("a response head larger than 64 KiB"))
                elif not self._buffer.startswith(b"HTTP/"[: len(self._buffer)]):
                    self._fail(ProtocolError("an answer that is not HTTP", self._buffer[:64]))
                return
            try:
                self._head = parseResponseHead(head)
            except ResponseHeadError as e:
                self._fail(ProtocolError(str(e), self._buffer[:64]))
                return
            self._buffer = rest
            if self._head.code == 101 and self.upgradeTo is not None:
                self._switched = True
                self._buffer = b""
                self.upgradeTo.makeConnection(self.transport)
                self.done.callback(HTTPResponse(self._head))
                if rest:
                    self.upgradeTo.dataReceived(rest)
                return
        self._bodyProgress()

    def _bodyProgress(self) -> None:
        head = self._head
        assert head is not None
        if head.code in (204, 304) or 100 <= head.code < 200:
            self._finish(b"")
            return
        if "chunked" in (head.header("transfer-encoding") or "").lower():
            body = _dechunk(self._buffer)
            if body is not None:
                self._finish(body)
        elif head.header("content-length") is not None:
            try:
                length = int(head.header("content-length") or "")
            except ValueError:
                self._fail(ProtocolError("a malformed Content-Length"))
                return
            if len(self._buffer) >= length:
                self._finish(self._buffer[:length])
        if not self.done.called and len(self._buffer) > MAX_BODY:
            self._finish(self._buffer[:MAX_BODY], truncated=True)

    def _finish(self, body: bytes, truncated: bool = False) -> None:
        assert self._head is not None
        self.done.callback(HTTPResponse(self._head, body, truncated))
        self.transport.loseConnection()  # type: ignore[union-attr]

    def _fail(self, reason: Exception) -> None:
        self.done.errback(reason)
        self.transport.loseConnection()  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure = Failure(error.ConnectionDone())) -> None:  # noqa: B008
        if self._switched:
            assert self.upgradeTo is not None
            self.upgradeTo.connectionLost(reason)
            return
        if self.done.called:
            return
        if self._head is not None:
            # Read until the connection closed.
            self.done.callback(HTTPResponse(self._head, self._buffer[:MAX_BODY]))
        elif self._buffer:
            self.done.errback(ProtocolError("an incomplete response", self._buffer[:64]))
        else:
            self.done.errback(reason)


@implementer(IBlazeDispatcher)
class _Quiet:
    """
    A dispatcher for the client side of a probe: it serves no requests
    and keeps what closes the connection.
    """

    def __init__(self) -> None:
        self.lost: defer.Deferred[None] = defer.Deferred()
        self.reason: Failure | None = None

    def connectionMade(self, protocol: BlazeProtocol) -> None:
        pass

    def requestReceived(self, request: Any) -> None:
        return None

    def notificationReceived(self, notification: Any) -> None:
        pass

    def connectionLost(self, reason: Failure) -> None:
        if not self.lost.called:
            self.reason = reason
            self.lost.callback(None)


class BlazeProbe:
    """
    The game's side of a Blaze connection, reduced to what the check
    needs: C{Util.preAuth}, C{Util.ping} and C{Util.suspendUserPing}.

    @ivar protocol: the L{BlazeProtocol} to hand the upgraded connection.
    @ivar lost: fires (with L{None}) when the connection closes.
    """

    def __init__(self, clock: Any) -> None:
        self._dispatcher = _Quiet()
        self.protocol = BlazeProtocol(self._dispatcher, clock=clock)
        self.lost = self._dispatcher.lost

    def preAuth(self) -> defer.Deferred[Any]:
        """
        C{Util.preAuth} as ME3 sends it; fires with the decoded reply.
        """
        from pocketrelay.blaze import tdf
        from pocketrelay.blaze.ids import Component, UtilCommand
        from pocketrelay.me3.messages import util

        d = self.protocol.sendRequest(
            Component.UTIL,
            UtilCommand.PRE_AUTH,
            util.PreAuthRequest(fetchClientConfig=util.FetchClientConfigRequest(configId="BlazeSDK")),
        )
        return d.addCallback(lambda frame: tdf.decode(util.PreAuthResponse, frame.body))

    def ping(self) -> defer.Deferred[Any]:
        """
        C{Util.ping}; fires with the decoded reply.
        """
        from pocketrelay.blaze import tdf
        from pocketrelay.blaze.ids import Component, UtilCommand
        from pocketrelay.me3.messages import util

        d = self.protocol.sendRequest(Component.UTIL, UtilCommand.PING, b"")
        return d.addCallback(lambda frame: tdf.decode(util.PingResponse, frame.body))

    def suspendPing(self, seconds: float) -> defer.Deferred[Any]:
        """
        C{Util.suspendUserPing} for C{seconds}, as ME3 sends it while it
        loads a level: the server then allows that much more silence.
        The answer is an error frame even when granted, so the
        L{Deferred} fails with a L{pocketrelay.blaze.protocol.BlazeError}
        either way (its code says whether it was granted).
        """
        from pocketrelay.blaze.ids import Component, UtilCommand
        from pocketrelay.me3.messages import util

        return self.protocol.sendRequest(
            Component.UTIL, UtilCommand.SUSPEND_USER_PING,
            util.SuspendUserPingRequest(timeValue=round(seconds * 1_000_000)),
        )

    def close(self) -> None:
        """
        Close the connection.
        """
        transport: Any = self.protocol.transport
        if transport is not None:
            try:
                transport.unregisterProducer()
            except Exception:
                pass
            transport.loseConnection()


class UdpRefused(Exception):
    """
    An ICMP "port unreachable" answered a datagram: nothing listens there,
    or a firewall rejects it.
    """

    def __init__(self, address: str, port: int) -> None:
        super().__init__(f"UDP {address}:{port} is unreachable")
        self.address = address
        self.port = port


class UdpProbe(DatagramProtocol):
    """
    Opens a UDP tunnel the way the client does: C{Initiate} with the
    association token to the tunnel port, sent again every
    C{interval} seconds, until C{Initiated} comes back.

    @ivar done: fires with the tunnel id the server assigned, or fails
        with L{UdpRefused} when the port is reported unreachable (ICMP:
        C{connectionRefused}, or the socket closing before an answer, as
        Twisted's epoll reactor reports it); its caller puts a timeout on
        it.
    @ivar sent: how many Initiate datagrams went out.
    @ivar errors: ICMP errors reported by the socket (port unreachable).
    """

    noisy = False

    def __init__(
        self, clock: Any, address: str, port: int, association: str, interval: float = 0.5
    ) -> None:
        self.clock = clock
        self.address = address
        self.port = port
        self.association = association
        self.interval = interval
        self.done: defer.Deferred[int] = defer.Deferred()
        self.sent = 0
        self.errors: list[str] = []
        self._call: Any = None
        self._datagram = encodeDatagram(UNASSIGNED, Initiate(association))

    def startProtocol(self) -> None:
        # A connected socket hears of ICMP "port unreachable" answers.
        assert self.transport is not None
        self.transport.connect(self.address, self.port)
        self._send()

    def _send(self) -> None:
        self._call = None
        if self.done.called or self.transport is None:
            return
        try:
            self.transport.write(self._datagram, None)
            self.sent += 1
        except OSError as e:
            self.errors.append(e.strerror or str(e))
        self._call = self.clock.callLater(self.interval, self._send)

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        if self.done.called:
            return
        try:
            datagram = decodeDatagram(data)
        except TunnelWireError:
            return
        if isinstance(datagram.message, Initiated):
            self.stop()
            self.done.callback(datagram.message.tunnelId)

    def connectionRefused(self) -> None:
        self.errors.append("port unreachable")
        self._refused()

    def stopProtocol(self) -> None:
        # With epoll, an ICMP error on a connected UDP socket is reported
        # as a lost connection rather than through connectionRefused.
        self._refused()

    def _refused(self) -> None:
        if not self.done.called:
            self.stop()
            self.done.errback(UdpRefused(self.address, self.port))

    def stop(self) -> None:
        """
        Stop sending.
        """
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
