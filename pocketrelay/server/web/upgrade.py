# -*- test-case-name: tests.test_upgrade -*-
"""
Taking over a twisted.web connection after an HTTP/1.1 Upgrade.

Twisted has no public API for handing a request's connection to another
protocol; L{takeOver} follows the recipe in C{conventions.md}, which works
on the Twisted versions pinned in C{setup.cfg}.  The in-memory tests in
C{tests.test_upgrade} exercise every internal it touches, so a Twisted
release that moves them fails CI rather than production.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.internet.interfaces import IProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

if TYPE_CHECKING:
    from pocketrelay.server.limits import RefusalLog

__all__ = ["UpgradeRefused", "UpgradeResource", "refuseUpgrade", "takeOver", "wantsUpgrade"]

log = Logger()


class UpgradeRefused(Exception):
    """
    Raised by a protocol factory to refuse an upgrade with an HTTP error.

    @ivar code: the HTTP status code.
    @ivar message: the plain-text body, shown to the operator of the client.
    """

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _tokens(request: Request, name: bytes) -> set[bytes]:
    values = request.requestHeaders.getRawHeaders(name, [])
    return {
        token.strip().lower()
        for value in values
        for token in value.split(b",")
        if token.strip()
    }


def wantsUpgrade(request: Request, protocolName: bytes) -> str | None:
    """
    Check that C{request} can be upgraded to C{protocolName}.

    @return: L{None} if it can, else the reason it cannot.
    """
    if not isinstance(request.channel, http.HTTPChannel) or request.channel.transport is None:
        return "the connection cannot be upgraded (HTTP/2 or closed)"
    if request.clientproto != b"HTTP/1.1":
        return "an upgrade needs HTTP/1.1"
    if b"upgrade" not in _tokens(request, b"connection"):
        return "the Connection header does not contain 'upgrade'"
    if protocolName.lower() not in _tokens(request, b"upgrade"):
        return f"the Upgrade header does not offer '{protocolName.decode()}'"
    return None


def refuseUpgrade(request: Request, protocolName: bytes, reason: str) -> bytes:
    """
    Answer 426 Upgrade Required with a plain-text reason.
    """
    # Twisted has no reason phrase for 426, so give it explicitly.
    request.setResponseCode(426, b"Upgrade Required")
    request.setHeader(b"upgrade", protocolName)
    request.setHeader(b"connection", b"Upgrade")
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    return f"{reason}\n".encode()


def takeOver(request: Request, protocolName: bytes, protocol: IProtocol) -> None:
    """
    Answer C{101 Switching Protocols} and give the connection to
    C{protocol}: every later byte goes to C{protocol.dataReceived}, bytes
    already read after the request are delivered first, and the channel's
    connection loss reaches C{protocol.connectionLost}.

    The request is never finished: the caller must return L{NOT_DONE_YET}.
    """
    # The takeover touches twisted.web internals; tests.test_upgrade pins
    # each of them.
    channel: Any = request.channel
    transport: Any = channel.transport
    assert transport is not None
    channel.writeHeaders(
        b"HTTP/1.1",
        b"101",
        b"Switching Protocols",
        [(b"Connection", b"Upgrade"), (b"Upgrade", protocolName)],
    )
    # The channel registered itself as the transport's producer; the new
    # protocol registers its own for back-pressure.
    transport.unregisterProducer()
    channel.setTimeout(None)
    channel._savedTimeOut = None
    channel.dataReceived = protocol.dataReceived
    channel.rawDataReceived = protocol.dataReceived

    channelLost = channel.connectionLost

    def connectionLost(reason: Failure) -> None:
        try:
            protocol.connectionLost(reason)
        finally:
            # Let the channel clean up its (unfinished) request.
            channelLost(reason)

    channel.connectionLost = connectionLost
    buffered = b"".join(channel._dataBuffer)
    channel._dataBuffer = []
    protocol.makeConnection(transport)
    if buffered:
        protocol.dataReceived(buffered)
    transport.resumeProducing()


ProtocolFactory = Callable[[Request], Any]


class UpgradeResource(Resource):
    """
    A leaf resource that upgrades C{GET} requests to C{protocolName} and
    hands the connection to the protocol built by C{buildProtocol(request)}.

    C{buildProtocol} returns an L{IProtocol} or raises L{UpgradeRefused}.

    Refusals are logged one line each, or, given a L{RefusalLog}, through
    it (a flood of refused upgrades then costs a few lines, not one each).
    """

    isLeaf = True

    def __init__(
        self,
        protocolName: bytes,
        buildProtocol: ProtocolFactory,
        refusals: RefusalLog | None = None,
    ) -> None:
        super().__init__()
        self.protocolName = protocolName
        self.buildProtocol = buildProtocol
        self.refusals = refusals

    def _refused(self, request: Request, reason: str) -> None:
        protocol = self.protocolName.decode()
        if self.refusals is not None:
            self.refusals.refused(f"{protocol} upgrade", _peer(request), reason)
            return
        log.info("Refused {protocol} upgrade from {peer}: {reason}",
                 protocol=protocol, peer=_peer(request), reason=reason)

    def render_GET(self, request: Request) -> bytes | int:
        reason = wantsUpgrade(request, self.protocolName)
        if reason is not None:
            self._refused(request, reason)
            return refuseUpgrade(request, self.protocolName, reason)
        try:
            protocol = self.buildProtocol(request)
        except UpgradeRefused as e:
            self._refused(request, e.message)
            request.setResponseCode(e.code)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return f"{e.message}\n".encode()
        takeOver(request, self.protocolName, protocol)
        return NOT_DONE_YET


def _peer(request: Request) -> str:
    address = request.getClientAddress()
    return str(getattr(address, "host", address))
