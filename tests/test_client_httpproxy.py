# -*- test-case-name: tests.test_client_httpproxy -*-
"""
Tests for L{pocketrelay.client.httpproxy}: header filtering, target
paths, and requests forwarded over loopback to HTTP and HTTPS servers.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import defer
from twisted.internet import reactor as _reactor
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from pocketrelay.client.discovery import (
    ClientTLS,
    loadClientTLS,
    makeAgent,
    normaliseServerURL,
)
from pocketrelay.client.httpproxy import (
    BytesProducer,
    ProxySite,
    ServerProxyResource,
    endToEndHeaders,
    relativeTarget,
)
from pocketrelay.testing.loopback import closedPort, listenSite
from pocketrelay.testing.pki import TestPKI

#: The global reactor, typed loosely (its interfaces are split in stubs).
reactor: Any = _reactor


class HeaderTests(SynchronousTestCase):
    """
    L{endToEndHeaders} and L{relativeTarget}.
    """

    def test_hopByHop(self) -> None:
        """
        Hop-by-hop headers, those named in Connection and those asked to
        be dropped go; the rest stay with all their values.
        """
        headers = Headers({
            b"Connection": [b"keep-alive, X-Private"],
            b"Keep-Alive": [b"timeout=5"],
            b"Transfer-Encoding": [b"chunked"],
            b"Upgrade": [b"blaze"],
            b"X-Private": [b"1"],
            b"Host": [b"127.0.0.1:42131"],
            b"Accept": [b"*/*"],
            b"Set-Cookie": [b"a=1", b"b=2"],
        })
        copy = endToEndHeaders(headers, frozenset({b"host"}))
        self.assertEqual(
            sorted(name for name, _ in copy.getAllRawHeaders()), [b"Accept", b"Set-Cookie"]
        )
        self.assertEqual(copy.getRawHeaders(b"set-cookie"), [b"a=1", b"b=2"])

    def test_relativeTarget(self) -> None:
        """
        Origin-form and absolute-form targets become relative paths with
        their query.
        """
        self.assertEqual(relativeTarget(b"/qos/qos?qtyp=1"), b"qos/qos?qtyp=1")
        self.assertEqual(relativeTarget(b"http://127.0.0.1:42131/gaw/x?y"), b"gaw/x?y")
        self.assertEqual(relativeTarget(b"/"), b"")
        self.assertEqual(relativeTarget(b"//double"), b"double")


class _Echo(Resource):
    """
    Answers with what it received, as JSON, plus a few headers.
    """

    isLeaf = True

    def render(self, request: Request) -> bytes:
        assert request.content is not None
        request.setHeader(b"x-upstream", b"yes")
        request.setHeader(b"keep-alive", b"timeout=5")
        request.setHeader(b"content-type", b"application/json")
        if request.path.endswith(b"/missing"):
            request.setResponseCode(404, b"Not Here")
        return json.dumps({
            "method": request.method.decode(),
            "uri": request.uri.decode(),
            "headers": {k.decode().lower(): [v.decode() for v in vs]
                        for k, vs in request.requestHeaders.getAllRawHeaders()},
            "body": request.content.read().decode("latin-1"),
        }).encode()


class _Big(Resource):
    """
    Streams C{size} bytes in 16 KiB writes, without a length.
    """

    isLeaf = True

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def render_GET(self, request: Request) -> int:
        block = bytes(range(256)) * 64
        sent = 0
        while sent < self.size:
            piece = block[: self.size - sent]
            request.write(piece)
            sent += len(piece)
        request.finish()
        return NOT_DONE_YET


class _Hang(Resource):
    """
    Never answers; records when the request goes away.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.gone: defer.Deferred[None] = defer.Deferred()

    def render_GET(self, request: Request) -> int:
        request.notifyFinish().addBoth(lambda _: self.gone.callback(None))
        return NOT_DONE_YET


class HTTPProxyTests(TestCase):
    """
    The proxy in front of a loopback server.
    """

    timeout = 30

    def proxy(self, base: str, tls: ClientTLS | None = None, timeout: float = 60) -> str:
        agent, pool = makeAgent(reactor, tls or loadClientTLS(), persistent=True)
        self.addCleanup(pool.closeCachedConnections)
        resource = ServerProxyResource(agent, normaliseServerURL(base), reactor, timeout=timeout)
        site = ProxySite(resource, reactor)
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return f"http://127.0.0.1:{port.getHost().port}"

    def upstream(self, resource: Resource, tlsOptions: Any = None) -> int:
        return listenSite(self, resource, tlsOptions)

    @defer.inlineCallbacks
    def fetch(self, url: str, method: bytes = b"GET", headers: dict[bytes, list[bytes]] | None = None,
              body: bytes | None = None) -> Any:
        agent = Agent(reactor)
        response = yield agent.request(
            method, url.encode(), Headers(headers or {}),
            BytesProducer(body) if body is not None else None,
        )
        data = yield readBody(response)
        return response, data

    def relay(self) -> Resource:
        root = Resource()
        root.putChild(b"relay", _Echo())
        return root

    @defer.inlineCallbacks
    def test_get(self) -> Any:
        """
        A GET with a query reaches {base}path?query; status, end-to-end
        headers and body come back, hop-by-hop headers do not.
        """
        port = self.upstream(self.relay())
        proxy = self.proxy(f"127.0.0.1:{port}/relay")
        response, data = yield self.fetch(f"{proxy}/qos/qos?prpt=3659&vers=1&qtyp=1",
                                          headers={b"x-game": [b"me3"]})
        self.assertEqual(response.code, 200)
        echo = json.loads(data)
        self.assertEqual(echo["method"], "GET")
        self.assertEqual(echo["uri"], "/relay/qos/qos?prpt=3659&vers=1&qtyp=1")
        self.assertEqual(echo["headers"]["x-game"], ["me3"])
        self.assertEqual(echo["headers"]["host"], [f"127.0.0.1:{port}"])
        self.assertEqual(response.headers.getRawHeaders(b"x-upstream"), [b"yes"])
        self.assertIsNone(response.headers.getRawHeaders(b"keep-alive"))
        # The length is sent as Content-Length, not chunked.
        self.assertEqual(response.length, len(data))

    @defer.inlineCallbacks
    def test_post(self) -> Any:
        """
        The method, body and content type go up; hop-by-hop request
        headers do not.
        """
        port = self.upstream(self.relay())
        proxy = self.proxy(f"127.0.0.1:{port}/relay/")
        _response, data = yield self.fetch(
            f"{proxy}/gaw/update", method=b"POST",
            headers={b"content-type": [b"text/plain"], b"proxy-authorization": [b"x"]},
            body=b"rating=5000",
        )
        echo = json.loads(data)
        self.assertEqual((echo["method"], echo["uri"], echo["body"]),
                         ("POST", "/relay/gaw/update", "rating=5000"))
        self.assertEqual(echo["headers"]["content-type"], ["text/plain"])
        self.assertNotIn("proxy-authorization", echo["headers"])

    @defer.inlineCallbacks
    def test_status(self) -> Any:
        """
        The server's status code and phrase come back as they are.
        """
        port = self.upstream(self.relay())
        proxy = self.proxy(f"127.0.0.1:{port}/relay/")
        response, data = yield self.fetch(f"{proxy}/content/missing")
        self.assertEqual((response.code, response.phrase), (404, b"Not Here"))
        self.assertEqual(json.loads(data)["uri"], "/relay/content/missing")

    @defer.inlineCallbacks
    def test_streaming(self) -> Any:
        """
        A 2 MB body without a length is relayed whole.
        """
        root = Resource()
        size = 2 * 1024 * 1024
        root.putChild(b"big", _Big(size))
        port = self.upstream(root)
        proxy = self.proxy(f"127.0.0.1:{port}")
        response, data = yield self.fetch(f"{proxy}/big")
        self.assertEqual(response.code, 200)
        self.assertEqual(len(data), size)
        self.assertEqual(data[:512], bytes(range(256)) * 2)

    @defer.inlineCallbacks
    def test_unreachable(self) -> Any:
        """
        No server: 502 with a short text body.
        """
        port = closedPort()
        proxy = self.proxy(f"127.0.0.1:{port}")
        response, data = yield self.fetch(f"{proxy}/gaw")
        self.assertEqual(response.code, 502)
        self.assertEqual(response.headers.getRawHeaders(b"content-type"),
                         [b"text/plain; charset=utf-8"])
        self.assertEqual(data, f"Bad gateway: cannot reach 127.0.0.1:{port}: connection refused\n".encode())

    @defer.inlineCallbacks
    def test_timeout(self) -> Any:
        """
        A server that does not answer in time: 502, and its request is
        abandoned.
        """
        root = Resource()
        hang = _Hang()
        root.putChild(b"hang", hang)
        port = self.upstream(root)
        proxy = self.proxy(f"127.0.0.1:{port}", timeout=0.3)
        response, data = yield self.fetch(f"{proxy}/hang")
        self.assertEqual(response.code, 502)
        self.assertIn(b"no answer from", data)
        yield hang.gone

    @defer.inlineCallbacks
    def test_https(self) -> Any:
        """
        An HTTPS server is reached with the given CA.
        """
        pki = TestPKI(self.mktemp())
        cert, key = pki.issueFiles("server", "server", addresses=("127.0.0.1",))
        port = self.upstream(self.relay(), pki.serverOptions(cert, key))
        proxy = self.proxy(f"https://127.0.0.1:{port}/relay", loadClientTLS(pki.caPath))
        response, data = yield self.fetch(f"{proxy}/x")
        self.assertEqual(json.loads(data)["uri"], "/relay/x")
        untrusted = self.proxy(f"https://127.0.0.1:{port}/relay")
        response, data = yield self.fetch(f"{untrusted}/x")
        self.assertEqual(response.code, 502)
        self.assertIn(b"certificate not trusted", data)
