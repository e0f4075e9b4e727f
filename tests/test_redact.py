# -*- test-case-name: tests.test_redact -*-
"""
Tests for L{pocketrelay.redact}: no login token reaches a log line.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import (
    LogLevel,
    eventAsJSON,
    formatEvent,
    globalLogPublisher,
)
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.test.requesthelper import DummyRequest

from pocketrelay.blaze.ids import AuthenticationCommand, Component
from pocketrelay.me3.messages.auth import (
    FullLoginResponse,
    GetAuthTokenResponse,
    SilentLoginRequest,
)
from pocketrelay.redact import (
    REDACTED,
    looksLikeToken,
    redactedLogFormatter,
    redactText,
    redactUrl,
)
from pocketrelay.server.web.logbuffer import LogBuffer
from pocketrelay.server.web.site import buildRoot, buildSite
from pocketrelay.testing.logs import captureLogs
from pocketrelay.testing.server import ServerHarness
from pocketrelay.testing.web import HttpResponse, parseResponse

#: A token of the server's login token shape.
TOKEN = "AAAAAQAAAABnKzvA.Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhxdXU"


class RedactUrlTests(SynchronousTestCase):
    """
    L{redactUrl} replaces token path segments and secret query values.
    """

    def test_galaxyAtWarPath(self) -> None:
        """
        The segment after C{/galaxyatwar/<command>/} is replaced, whatever
        its shape, and the rest of the URL is kept.
        """
        self.assertEqual(
            redactUrl(f"/galaxyatwar/getRatings/{TOKEN}"), f"/galaxyatwar/getRatings/{REDACTED}"
        )
        self.assertEqual(
            redactUrl(b"/galaxyatwar/increaseRatings/short?rinc|0=5&rinc|1=3"),
            f"/galaxyatwar/increaseRatings/{REDACTED}?rinc|0=5&rinc|1=3",
        )
        self.assertEqual(
            redactUrl("/GalaxyAtWar/getRatings/abc/more"), f"/GalaxyAtWar/getRatings/{REDACTED}/more"
        )

    def test_secretParameters(self) -> None:
        """
        The values of C{auth}, C{token} and the other secret parameters
        are replaced, in any case; other parameters are kept.
        """
        self.assertEqual(
            redactUrl("/authentication/sharedTokenLogin?auth=xyz&lang=en"),
            f"/authentication/sharedTokenLogin?auth={REDACTED}&lang=en",
        )
        self.assertEqual(redactUrl("/x?Token=1&A%55TH=2"), f"/x?Token={REDACTED}&A%55TH={REDACTED}")

    def test_tokenShapedAnywhere(self) -> None:
        """
        A path segment or query value shaped like a signed token is
        replaced whatever its place or name.
        """
        self.assertEqual(redactUrl(f"/api/x/{TOKEN}/y"), f"/api/x/{REDACTED}/y")
        self.assertEqual(redactUrl(f"/api/x?q={TOKEN}"), f"/api/x?q={REDACTED}")

    def test_absoluteUrl(self) -> None:
        """
        An absolute URL keeps its scheme and authority.
        """
        self.assertEqual(
            redactUrl(f"http://gosredirector.ea.com:42127/galaxyatwar/getRatings/{TOKEN}#top"),
            f"http://gosredirector.ea.com:42127/galaxyatwar/getRatings/{REDACTED}#top",
        )

    def test_plainUrlsUnchanged(self) -> None:
        """
        URLs without secrets come out as they went in.
        """
        for url in ("/", "/api/server", "/api/players/12/data/Base?x=1&y", "/content/a.b.c.xml"):
            self.assertEqual(redactUrl(url), url)

    def test_looksLikeToken(self) -> None:
        """
        Two base64url parts joined by a dot, long enough, look like a token;
        file names and version numbers do not.
        """
        self.assertTrue(looksLikeToken(TOKEN))
        self.assertFalse(looksLikeToken("index.html"))
        self.assertFalse(looksLikeToken("1.2.3"))

    def test_redactText(self) -> None:
        """
        L{redactText} replaces token-shaped words inside free text.
        """
        self.assertEqual(redactText(f"key {TOKEN}, more"), f"key {REDACTED}, more")

    def test_accessLogFormatter(self) -> None:
        """
        The access log line has the target and the referrer redacted and
        the rest of Twisted's combined format.
        """
        request: Any = DummyRequest([b""])
        request.uri = f"/galaxyatwar/getRatings/{TOKEN}".encode()
        request.method = b"GET"
        request.clientproto = b"HTTP/1.1"
        request.code = 200
        request.sentLength = 12
        request.requestHeaders.setRawHeaders(
            b"referer", [f"http://h/authentication/sharedTokenLogin?auth={TOKEN}".encode()]
        )
        line = redactedLogFormatter("[time]", request)
        self.assertNotIn(TOKEN, line)
        self.assertIn(f'"GET /galaxyatwar/getRatings/{REDACTED} HTTP/1.1" 200', line)
        self.assertIn(f"auth={REDACTED}", line)


class ScenarioTests(SynchronousTestCase):
    """
    A full scenario through the real site and Blaze sessions leaves no
    issued token in any log output.
    """

    def setUp(self) -> None:
        self.harness = ServerHarness(FilePath(self.mktemp()))
        self.clock = Clock()
        hub = self.harness.hub
        self.site = buildSite(buildRoot(hub), reactor=self.clock, metrics=hub.metrics,
                              limits=hub.limits)
        # As a listening port does: the access log is opened then.
        self.site.doStart()
        self.addCleanup(self.site.doStop)
        self.events = captureLogs(self)
        # The buffer /api/server/log serves, at its most verbose.
        self.buffer = LogBuffer(level=LogLevel.debug)
        globalLogPublisher.addObserver(self.buffer)
        self.addCleanup(globalLogPublisher.removeObserver, self.buffer)

    def http(
        self, method: str, target: str, token: str | None = None, body: Any = None
    ) -> HttpResponse:
        """
        One request on a new in-memory connection.
        """
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {target} HTTP/1.1", "Host: localhost", "Connection: close",
                f"Content-Length: {len(payload)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        if token is not None:
            head.append(f"X-Token: {token}")
        address = IPv4Address("TCP", "198.51.100.20", 40000)
        channel = self.site.buildProtocol(address)
        transport = StringTransport(peerAddress=address)
        channel.makeConnection(transport)
        channel.dataReceived(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        response = parseResponse(transport.value())
        channel.connectionLost(None)
        return response

    def test_noTokenInLogs(self) -> None:
        """
        Account creation and login (dashboard and Blaze), token login,
        Galaxy at War with the token in path and query, and dashboard API
        calls with a bearer token: every token issued on the way is absent
        from every log event (text and JSON) and from the log buffer.
        """
        issued: list[str] = []
        info = self.http("GET", "/api/server").json()
        issued.append(info["association"])
        # Tokens issued at different times differ.
        tick = self.harness.clock.advance
        created = self.http("POST", "/api/auth/create",
                            body={"email": "ash@example.com", "password": "password1",
                                  "username": "Ash"})
        self.assertEqual(created.code, 200, created.body)
        issued.append(created.json()["token"])
        tick(1)
        login = self.http("POST", "/api/auth/login",
                          body={"email": "ash@example.com", "password": "password1"})
        self.assertEqual(login.code, 200, login.body)
        issued.append(login.json()["token"])
        tick(1)
        me = self.http("GET", "/api/players/self", token=issued[-1])
        self.assertEqual(me.code, 200, me.body)
        self.http("GET", "/api/players/self", token=issued[-1] + "x")

        blaze = self.harness.loggedIn("ash@example.com", "password1")
        sessionKey = blaze.login("ash@example.com", "password1").sessionKey
        issued.append(sessionKey)
        tick(1)
        gaw: GetAuthTokenResponse = blaze.call(
            Component.AUTHENTICATION, AuthenticationCommand.GET_AUTH_TOKEN,
            reply=GetAuthTokenResponse,
        )
        issued.append(gaw.authToken)
        tick(1)
        again = self.harness.connect(preAuth=True)
        silent: FullLoginResponse = again.call(
            Component.AUTHENTICATION, AuthenticationCommand.SILENT_LOGIN,
            SilentLoginRequest(authToken=sessionKey, personaId=blaze.session.playerId),
            FullLoginResponse,
        )
        issued.append(silent.pcLoginToken)
        self.assertEqual(len(set(issued)), len(issued), issued)

        for token in issued[-3:]:
            self.assertEqual(
                self.http("GET", f"/authentication/sharedTokenLogin?auth={token}").code, 200
            )
            self.assertEqual(self.http("GET", f"/galaxyatwar/getRatings/{token}").code, 200)
            self.http("GET", f"/galaxyatwar/increaseRatings/{token}?rinc|0=10&rinc|1=5")
        # Forged or expired tokens are secrets too (a typo of a real one).
        self.http("GET", f"/galaxyatwar/getRatings/{issued[-1]}x")

        # Formatted, and as JSON (the log_format = "json" output carries
        # every field).
        texts = [
            *(formatEvent(event) for event in self.events),
            *(eventAsJSON(event) for event in self.events),
            self.buffer.text(),
        ]
        self.assertTrue(any("getRatings" in text for text in texts), "no access log captured")
        for token in issued:
            self.assertTrue(token, issued)
            for text in texts:
                self.assertNotIn(token, text)
