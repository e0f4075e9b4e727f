# -*- test-case-name: tests.test_client_httpproxy -*-
"""
The local HTTP proxy (127.0.0.1:42131).

The server tells the game to fetch Galaxy at War, QoS and content from
C{http://127.0.0.1:42131/}: the game's HTTP client cannot reach an HTTPS
server itself.  Each request is forwarded to C{{base}path?query} on the
server, over HTTP or HTTPS: the method, the body and the end-to-end
headers go up; the status, the end-to-end headers and the body stream
back (with back-pressure).  Hop-by-hop headers are dropped both ways.

The Pocket Relay client forwards everything as a body-less C{GET}; this
proxy forwards the method and body as well, which the server's routes
accept the same way.

A server that cannot be reached, or does not answer within
L{RESPONSE_TIMEOUT} seconds, gives C{502 Bad Gateway} with a short text
body.
"""

from __future__ import annotations

import re
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IConsumer, IDelayedCall, IReactorTime
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.client import ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH, IAgent, IBodyProducer, IResponse
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site
from zope.interface import implementer

from pocketrelay.client.discovery import USER_AGENT, ServerURL, explainFailure
from pocketrelay.redact import redactUrl

__all__ = [
    "HOP_BY_HOP",
    "HTTP_PORT",
    "MAX_REQUEST_BODY",
    "RESPONSE_TIMEOUT",
    "BytesProducer",
    "ProxySite",
    "ServerProxyResource",
    "endToEndHeaders",
    "relativeTarget",
]

#: Where the game sends its HTTP requests.
HTTP_PORT = 42131

#: Headers that belong to one connection and are never forwarded.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)

#: The largest request body forwarded.
MAX_REQUEST_BODY = 16 * 1024 * 1024

#: Seconds the server may take to start answering.
RESPONSE_TIMEOUT = 60.0

_ABSOLUTE = re.compile(rb"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")


def endToEndHeaders(headers: Headers, drop: frozenset[bytes] = frozenset()) -> Headers:
    """
    A copy of C{headers} without the hop-by-hop ones (the fixed list,
    those named in C{Connection}) and those in C{drop} (lower case).
    """
    named = {
        token.strip().lower()
        for value in headers.getRawHeaders(b"connection", [])
        for token in value.split(b",")
    }
    excluded = HOP_BY_HOP | drop | named
    copy = Headers()
    for name, values in headers.getAllRawHeaders():
        if name.lower() not in excluded:
            copy.setRawHeaders(name, list(values))
    return copy


def relativeTarget(uri: bytes) -> bytes:
    """
    The request target as a path (with its query) relative to the
    server's base URL: an absolute-form target loses its scheme and
    authority, then the leading C{/} go.
    """
    uri = _ABSOLUTE.sub(b"", uri, count=1)
    return uri.lstrip(b"/")


@implementer(IBodyProducer)
class BytesProducer:
    """
    A request body held in memory.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.length = len(data)

    def startProducing(self, consumer: IConsumer) -> defer.Deferred[None]:
        consumer.write(self.data)
        return defer.succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class _Relay(Protocol):
    """
    Writes a response body from the server into the game's request, with
    the body's transport registered as the request's producer.
    """

    log = Logger()

    def __init__(self, request: Request, exchange: _Exchange) -> None:
        self.request = request
        self.exchange = exchange

    def connectionMade(self) -> None:
        self.request.registerProducer(self.transport, True)

    def dataReceived(self, data: bytes) -> None:
        if not self.exchange.gone:
            self.request.write(data)

    def connectionLost(self, reason: Failure = Failure(ResponseDone())) -> None:  # noqa: B008
        self.exchange.relay = None
        if self.exchange.gone:
            return
        self.request.unregisterProducer()
        if reason.check(ResponseDone, PotentialDataLoss):
            self.request.finish()
            return
        self.log.warn(
            "HTTP proxy: the server's answer to {target} broke off: {reason}",
            target=redactUrl(self.exchange.target),
            reason=reason.getErrorMessage(),
        )
        self.request.loseConnection()


class _Exchange:
    """
    The state of one forwarded request.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.gone = False
        self.pending: defer.Deferred[Any] | None = None
        self.relay: _Relay | None = None
        self.timer: IDelayedCall | None = None
        self.timedOut = False

    def stopTimer(self) -> None:
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None


class ServerProxyResource(Resource):
    """
    Forwards every request below it to the server.

    @ivar agent: the L{IAgent} used (HTTP and HTTPS).
    @ivar base: the server's base URL.
    @ivar clock: for the response timeout.
    """

    isLeaf = True
    log = Logger()

    def __init__(
        self,
        agent: IAgent,
        base: ServerURL,
        clock: IReactorTime,
        timeout: float = RESPONSE_TIMEOUT,
        maxBody: int = MAX_REQUEST_BODY,
    ) -> None:
        super().__init__()
        self.agent = agent
        self.base = base
        self.clock = clock
        self.timeout = timeout
        self.maxBody = maxBody

    def render(self, request: Request) -> int | bytes:
        method: bytes = request.method
        relative = relativeTarget(request.uri)
        target = str(self.base).encode("ascii") + relative
        exchange = _Exchange(target.decode("ascii", "replace"))
        content = request.content
        body = b""
        if content is not None:
            content.seek(0)
            body = content.read(self.maxBody + 1)
        if len(body) > self.maxBody:
            request.setResponseCode(413)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return f"Request body larger than {self.maxBody} bytes\n".encode()
        headers = endToEndHeaders(
            request.requestHeaders, frozenset({b"host", b"content-length"})
        )
        if not headers.hasHeader(b"user-agent"):
            headers.setRawHeaders(b"user-agent", [USER_AGENT.encode()])
        producer = BytesProducer(body) if body or method in (b"POST", b"PUT", b"PATCH") else None
        d = self.agent.request(method, target, headers, producer)
        exchange.pending = d
        exchange.timer = self.clock.callLater(self.timeout, self._expire, exchange)
        d.addCallbacks(
            self._respond,
            self._failed,
            callbackArgs=(request, exchange),
            errbackArgs=(request, exchange),
        )
        request.notifyFinish().addErrback(self._gone, exchange)
        return NOT_DONE_YET

    def _expire(self, exchange: _Exchange) -> None:
        exchange.timer = None
        exchange.timedOut = True
        if exchange.pending is not None:
            exchange.pending.cancel()

    def _gone(self, failure: Failure, exchange: _Exchange) -> None:
        exchange.gone = True
        exchange.stopTimer()
        if exchange.pending is not None:
            d, exchange.pending = exchange.pending, None
            d.cancel()
        if exchange.relay is not None and exchange.relay.transport is not None:
            exchange.relay.transport.stopProducing()  # type: ignore[attr-defined]

    def _respond(self, response: IResponse, request: Request, exchange: _Exchange) -> None:
        exchange.pending = None
        exchange.stopTimer()
        if exchange.gone:
            response.deliverBody(Protocol())
            return
        request.setResponseCode(response.code, response.phrase)
        for name, values in endToEndHeaders(response.headers).getAllRawHeaders():
            request.responseHeaders.setRawHeaders(name, list(values))
        # The agent keeps the length out of the headers; send it on (not for
        # answers without a body, whose length describes another answer).
        bodiless = request.method == b"HEAD" or response.code in (204, 304)
        if (
            response.length is not UNKNOWN_LENGTH
            and not bodiless
            and not request.responseHeaders.hasHeader(b"content-length")
        ):
            request.responseHeaders.setRawHeaders(b"content-length", [b"%d" % response.length])
        relay = _Relay(request, exchange)
        exchange.relay = relay
        response.deliverBody(relay)

    def _failed(self, failure: Failure, request: Request, exchange: _Exchange) -> None:
        exchange.pending = None
        exchange.stopTimer()
        if exchange.gone:
            return
        if exchange.timedOut:
            reason = f"no answer from {self.base.netloc} within {self.timeout:g} seconds"
        else:
            reason = str(explainFailure(failure, self.base.netloc))
        self.log.warn(
            "HTTP proxy: {method} {target} failed: {reason}",
            method=request.method.decode("ascii", "replace"),
            target=redactUrl(exchange.target),
            reason=reason,
        )
        request.setResponseCode(502)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        request.write(f"Bad gateway: {reason}\n".encode())
        request.finish()


class ProxySite(Site):
    """
    The HTTP proxy's site: requests are logged at debug level only.
    """

    noisy = False
    _proxyLog = Logger()

    def __init__(self, resource: Resource, reactor: Any = None) -> None:
        super().__init__(resource, timeout=60, reactor=reactor)
        self.displayTracebacks = False

    def log(self, request: http.Request) -> None:
        self._proxyLog.debug(
            "HTTP proxy: {method} {uri} -> {code}",
            method=request.method.decode("ascii", "replace"),
            uri=redactUrl(request.uri),
            code=request.code,
        )
