# -*- test-case-name: tests.test_tls -*-
"""
TLS two ways, for real (docs/tls.md):

  - direct: the server's own C{ssl:} listener with a certificate from a
    certificate authority made in the test (a root and an intermediate),
    and our client (C{pocketrelay.client}'s service tree, in-process) in
    front of a simulated game;
  - behind nginx: C{contrib/nginx/pocketrelay.conf}, with its ports,
    certificate and temporary paths adapted, run with Debian's
    C{/usr/sbin/nginx} in front of the server's plain HTTP port
    (skipped when nginx is not installed).

Also, in memory: which client address the server believes
(C{reverse_proxy}, C{trusted_proxies}, C{X-Real-IP}, C{X-Forwarded-For}).

Everything listens on 127.0.0.1 only; nginx runs in its own process
group, which every test stops.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterable, Mapping
from typing import Any

from twisted.internet import defer, task
from twisted.internet import reactor as _reactor
from twisted.internet.address import IPv4Address
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers

from pocketrelay.blaze import tdf
from pocketrelay.blaze.ids import Component
from pocketrelay.blaze.ids import GameManagerNotification as N
from pocketrelay.client import tap as clienttap
from pocketrelay.client.discovery import (
    loadClientTLS,
    makeAgent,
    normaliseServerURL,
    upstreamEndpoint,
)
from pocketrelay.me3.messages import gamemanager
from pocketrelay.testing.gameclient import GameClient
from pocketrelay.testing.loopback import ServerFixture
from pocketrelay.testing.nginx import (
    CONTRIB_CONF,
    Directive,
    NginxProcess,
    NginxSyntaxError,
    adaptedConfiguration,
    contribTree,
    nginxSeconds,
    only,
    parseNginx,
    renderNginx,
    requireNginx,
    walk,
)
from pocketrelay.testing.tlsca import TestCA
from pocketrelay.testing.web import WebHarness, parseResponse

#: The global reactor, typed loosely (its interfaces are split in stubs).
reactor: Any = _reactor

#: A documentation address (RFC 5737) that a client pretends to be.
FORGED = "203.0.113.5"


def _sleep(seconds: float) -> defer.Deferred[None]:
    return task.deferLater(reactor, seconds, lambda: None)


@defer.inlineCallbacks
def _until(check: Any, what: str, seconds: float = 10.0) -> Any:
    """
    Poll C{check} until it is true, for at most C{seconds}.
    """
    for _ in range(int(seconds / 0.02)):
        if check():
            return None
        yield _sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


# -- our client, in-process


@defer.inlineCallbacks
def startClient(testCase: TestCase, url: str, *extra: str) -> Any:
    """
    Start the client's service tree (as C{twistd pocketrelay-client
    --server URL EXTRA...} builds it) on free loopback ports, without
    touching the hosts file; stop it at the end of the test.

    @return: a L{Deferred} firing with the L{clienttap.ClientService} once
        it is ready, or failing with L{clienttap.StartupFailed}.
    """
    options = clienttap.Options()
    options.parseOptions([
        "--server", url, "--data-dir", testCase.mktemp(), "--no-hosts",
        "--ports", "0,0,0,0,0,0", *extra,
    ])
    client: Any = clienttap.makeService(options, reactor)
    exits: list[int] = []
    client.fatal = lambda reactor, status: exits.append(status)
    client.exits = exits

    def stop() -> Any:
        if client.running:
            return client.stopService()
        return None

    client.startService()
    testCase.addCleanup(stop)
    yield client.whenReady()
    return client


@defer.inlineCallbacks
def connectGame(testCase: TestCase, client: Any) -> Any:
    """
    A L{GameClient} connected to the client's Blaze proxy, as the game is
    after the redirector.
    """
    game = GameClient(clock=reactor)
    port = client.listeners["blaze"].actualPort
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=5)
    yield connectProtocol(endpoint, game.protocol)
    testCase.addCleanup(closeGame, game)
    return game


def closeGame(game: GameClient) -> defer.Deferred[Any]:
    """
    Close a game's connection and wait until it is closed.

    L{GameClient.disconnect} alone never closes a TLS connection: its
    L{BlazeProtocol} stays registered as the transport's producer, and a
    TLS transport waits for the producer to go before it closes (as
    C{ITransport.loseConnection} says).  So the producer is unregistered
    first.
    """
    transport: Any = game.protocol.transport
    if transport is not None:
        transport.unregisterProducer()
        transport.loseConnection()
    return _until(lambda: bool(game.lost), "the game's connection to close")


def _timeout(d: defer.Deferred[Any], seconds: float = 10) -> defer.Deferred[Any]:
    return d.addTimeout(seconds, reactor)


@defer.inlineCallbacks
def playThrough(testCase: TestCase, client: Any, hub: Any) -> Any:
    """
    What a player does, through the client: preAuth, create an account,
    save and load settings, host a game; a second player creates an
    account, logs out, logs in with the password and matchmakes into it.

    @return: the two L{GameClient}s and the game id.
    """
    host = yield connectGame(testCase, client)
    pre = yield _timeout(host.preAuth())
    testCase.assertEqual(pre.config.config.get("pingPeriod"), "15s")
    created = yield _timeout(host.createAccount("shepard@example.org", "normandy-sr2"))
    testCase.assertTrue(created.sessionKey)
    yield _timeout(host.saveSetting("class3", "20;4;Engineer;20;0;2"))
    loaded = yield _timeout(host.loadSettings())
    testCase.assertEqual(loaded.settings, {"class3": "20;4;Engineer;20;0;2"})
    yield _timeout(host.updateNetworkInfo())
    game = yield _timeout(host.createGame())

    joiner = yield connectGame(testCase, client)
    yield _timeout(joiner.preAuth())
    account = yield _timeout(joiner.createAccount("liara@example.org", "shadow-broker"))
    yield _timeout(joiner.logout())
    logged = yield _timeout(joiner.login("liara@example.org", "shadow-broker"))
    testCase.assertEqual(logged.userId, account.userId)
    yield _timeout(joiner.updateNetworkInfo())
    yield _timeout(joiner.startMatchmaking())
    setup = yield _timeout(joiner.waitForNotification(Component.GAME_MANAGER, N.GAME_SETUP))
    body = tdf.decode(gamemanager.NotifyGameSetup, setup.body)
    testCase.assertEqual(body.game.gameId, game.gameId)
    players = {player.playerId for player in hub.games.games[game.gameId].players}
    testCase.assertEqual(players, {host.userId, joiner.userId})
    return host, joiner, game.gameId


@defer.inlineCallbacks
def getJSON(agent: Any, url: str, headers: Mapping[str, str] | None = None) -> Any:
    """
    C{GET url} and parse the JSON answer.
    """
    raw = Headers({name.encode(): [value.encode()] for name, value in (headers or {}).items()})
    response = yield _timeout(agent.request(b"GET", url.encode("ascii"), raw))
    body = yield readBody(response)
    if response.code != 200:
        raise AssertionError(f"GET {url}: {response.code} {body[:200]!r}")
    return json.loads(body)


# -- direct TLS


class DirectTLSTests(TestCase):
    """
    The server's own TLS listener (C{ssl:} strports description), its
    certificate issued by an intermediate authority, and our client
    verifying it against the root given with C{--ca-file}.
    """

    timeout = 60

    def setUp(self) -> None:
        self.ca = TestCA(self.mktemp())
        self.files = self.ca.issue("server")

    def startServer(self, description: str) -> ServerFixture:
        return ServerFixture(self, ["--listen", description])

    def chainedServer(self) -> ServerFixture:
        """
        The server as docs/tls.md configures it: the certificate in
        C{certKey}, the intermediates in C{extraCertChain}.
        """
        return self.startServer(
            f"ssl:0:interface=127.0.0.1:privateKey={self.files.key}"
            f":certKey={self.files.certificate}:extraCertChain={self.ca.chainPath}"
        )

    @defer.inlineCallbacks
    def test_gameThroughClient(self) -> Any:
        """
        Against C{https://127.0.0.1:PORT/} with C{--ca-file}, the client
        starts, and a game through its Blaze proxy logs in, saves and loads
        settings, hosts a game and a second player matchmakes into it.
        """
        server = self.chainedServer()
        url = f"https://127.0.0.1:{server.port}/"
        client = yield startClient(self, url, "--ca-file", self.ca.rootPath)
        assert client.server is not None
        self.assertEqual(str(client.server.url), url)
        self.assertTrue(client.server.url.secure)
        yield playThrough(self, client, server.hub)
        self.assertEqual(client.exits, [])

    @defer.inlineCallbacks
    def test_untrustedWithoutCAFile(self) -> Any:
        """
        Without C{--ca-file} the private authority is not trusted: the
        client does not start, and says why (doctor's certificate step).
        """
        server = self.chainedServer()
        client = startClient(self, f"https://127.0.0.1:{server.port}/")
        failure = yield self.assertFailure(client, clienttap.StartupFailed)
        self.assertIn("Certificate failed: the certificate's authority 'pocketrelay test root "
                      "CA' is not trusted here", str(failure))
        self.assertIn("--ca-file", str(failure))
        self.assertEqual(server.hub.sessions, {})

    @defer.inlineCallbacks
    def test_hostNameChecked(self) -> Any:
        """
        The certificate names 127.0.0.1 only; asked for as C{localhost},
        the server is refused even with the authority trusted.
        """
        server = self.chainedServer()
        client = startClient(
            self, f"https://localhost:{server.port}/", "--ca-file", self.ca.rootPath
        )
        failure = yield self.assertFailure(client, clienttap.StartupFailed)
        self.assertIn(
            "Certificate failed: the certificate is for 127.0.0.1, not localhost",
            str(failure),
        )

    @defer.inlineCallbacks
    def upgraded(self, server: ServerFixture) -> Any:
        """
        A game upgraded straight over TLS to the server, without our
        client.
        """
        game = GameClient(clock=reactor)
        url = normaliseServerURL(f"https://127.0.0.1:{server.port}/")
        endpoint = upstreamEndpoint(reactor, url, loadClientTLS(self.ca.rootPath), timeout=5)
        upgrading = game.upgrading()
        yield connectProtocol(endpoint, upgrading)
        yield _timeout(upgrading.upgraded)
        self.addCleanup(closeGame, game)
        return game

    @defer.inlineCallbacks
    def test_secondLoginClosesFirst(self) -> Any:
        """
        Logging in on a second connection closes the first, over TLS as
        over plain HTTP.
        """
        server = self.chainedServer()
        first = yield self.upgraded(server)
        yield _timeout(first.preAuth())
        created = yield _timeout(first.createAccount("garrus@example.org", "calibrations"))
        second = yield self.upgraded(server)
        yield _timeout(second.preAuth())
        yield _timeout(second.silentLogin(created.sessionKey))
        yield _until(lambda: bool(first.lost), "the first session to be closed", 5)

    @defer.inlineCallbacks
    def test_fullChainInCertKeyIsNotEnough(self) -> Any:
        """
        Twisted's C{ssl:} listener uses only the first certificate of
        C{certKey}: given a full chain there, without C{extraCertChain},
        it does not send the intermediate and clients cannot verify it
        (why docs/tls.md insists on C{extraCertChain}); the client says
        exactly that.
        """
        server = self.startServer(
            f"ssl:0:interface=127.0.0.1:privateKey={self.files.key}"
            f":certKey={self.files.fullchain}"
        )
        client = startClient(
            self, f"https://127.0.0.1:{server.port}/", "--ca-file", self.ca.rootPath
        )
        failure = yield self.assertFailure(client, clienttap.StartupFailed)
        self.assertIn("the server sends its certificate without the intermediate certificate",
                      str(failure))
        self.assertIn("extraCertChain", str(failure))


# -- which address the server believes, in memory


class ClientAddressTests(SynchronousTestCase):
    """
    C{client_address} of C{GET /api/server} and the peer of a Blaze
    session, as the server's real site sees them for requests from a given
    peer with forwarding headers.
    """

    TRUSTED = "127.0.0.1"
    UNTRUSTED = "192.0.2.10"

    def harness(self, reverseProxy: bool, trusted: str = "127.0.0.1") -> WebHarness:
        return WebHarness(self, reverse_proxy=reverseProxy, trusted_proxies=trusted)

    def send(self, harness: WebHarness, peer: str, raw: bytes) -> StringTransport:
        address = IPv4Address("TCP", peer, 40000)
        channel = harness.site.buildProtocol(address)
        transport = StringTransport(peerAddress=address,
                                    hostAddress=IPv4Address("TCP", "127.0.0.1", 8080))
        channel.makeConnection(transport)
        channel.dataReceived(raw)
        return transport

    def clientAddress(
        self, harness: WebHarness, peer: str, headers: Mapping[str, str] | None = None
    ) -> str:
        lines = ["GET /api/server HTTP/1.1", "Host: me3.example.org", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        transport = self.send(harness, peer, ("\r\n".join(lines) + "\r\n\r\n").encode())
        response = parseResponse(transport.value())
        self.assertEqual(response.code, 200, response.body)
        address = response.json()["client_address"]
        assert isinstance(address, str)
        return address

    def test_notBelievedWithoutReverseProxy(self) -> None:
        """
        With C{reverse_proxy} off, a forged C{X-Real-IP} or
        C{X-Forwarded-For} is ignored, even from 127.0.0.1.
        """
        harness = self.harness(False)
        self.assertEqual(self.clientAddress(harness, self.TRUSTED, {"X-Real-IP": FORGED}),
                         self.TRUSTED)
        self.assertEqual(
            self.clientAddress(harness, self.TRUSTED, {"X-Forwarded-For": FORGED}),
            self.TRUSTED,
        )

    def test_believedFromTrustedProxy(self) -> None:
        """
        With C{reverse_proxy} on, a trusted peer's C{X-Real-IP} is the
        client's address; without it, the last C{X-Forwarded-For} entry
        (the one the proxy appended) is.
        """
        harness = self.harness(True)
        self.assertEqual(self.clientAddress(harness, self.TRUSTED, {"X-Real-IP": FORGED}),
                         FORGED)
        self.assertEqual(
            self.clientAddress(
                harness, self.TRUSTED, {"X-Forwarded-For": f"198.51.100.7, {FORGED}"}
            ),
            FORGED,
        )
        self.assertEqual(
            self.clientAddress(
                harness, self.TRUSTED,
                {"X-Real-IP": FORGED, "X-Forwarded-For": "198.51.100.7"},
            ),
            FORGED,
        )
        self.assertEqual(self.clientAddress(harness, self.TRUSTED), self.TRUSTED)

    def test_notBelievedFromUntrustedPeer(self) -> None:
        """
        With C{reverse_proxy} on, a peer that is not in C{trusted_proxies}
        is reported as itself whatever it sends.
        """
        harness = self.harness(True)
        for headers in ({"X-Real-IP": FORGED}, {"X-Forwarded-For": FORGED}):
            self.assertEqual(self.clientAddress(harness, self.UNTRUSTED, headers),
                             self.UNTRUSTED)

    def test_trustedList(self) -> None:
        """
        C{trusted_proxies} is a comma-separated list: a listed peer is
        believed, 127.0.0.1 is not once it is no longer listed.
        """
        harness = self.harness(True, trusted=f"10.0.0.1, {self.UNTRUSTED}")
        self.assertEqual(
            self.clientAddress(harness, self.UNTRUSTED, {"X-Real-IP": FORGED}), FORGED
        )
        self.assertEqual(
            self.clientAddress(harness, self.TRUSTED, {"X-Real-IP": FORGED}), self.TRUSTED
        )

    def test_unusableForwardedAddress(self) -> None:
        """
        A forwarded value that is no IPv4 address (garbage, IPv6) is not
        used: the next header, or the peer, is.
        """
        harness = self.harness(True)
        self.assertEqual(
            self.clientAddress(harness, self.TRUSTED, {"X-Real-IP": "not-an-address"}),
            self.TRUSTED,
        )
        self.assertEqual(
            self.clientAddress(
                harness, self.TRUSTED,
                {"X-Real-IP": "2001:db8::1", "X-Forwarded-For": FORGED},
            ),
            FORGED,
        )

    def upgrade(self, harness: WebHarness, peer: str) -> Any:
        raw = (
            "GET /api/server/upgrade HTTP/1.1\r\nHost: me3.example.org\r\n"
            "Connection: Upgrade\r\nUpgrade: blaze\r\n"
            f"X-Real-IP: {FORGED}\r\n\r\n"
        ).encode()
        transport = self.send(harness, peer, raw)
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 101 "), transport.value())
        (session,) = harness.hub.sessions.values()
        return session

    def test_blazeSessionPeer(self) -> None:
        """
        The Blaze session of an upgraded connection gets the same address:
        the forwarded one from a trusted proxy, the peer otherwise.
        """
        self.assertEqual(self.upgrade(self.harness(True), self.TRUSTED).peerHost, FORGED)
        self.assertEqual(self.upgrade(self.harness(True), self.UNTRUSTED).peerHost,
                         self.UNTRUSTED)
        self.assertEqual(self.upgrade(self.harness(False), self.TRUSTED).peerHost,
                         self.TRUSTED)



class NginxConfigurationTests(SynchronousTestCase):
    """
    What C{contrib/nginx/pocketrelay.conf} says, read with a small parser.
    """

    def location(self) -> tuple[Directive, ...]:
        server = only(contribTree(), "server")
        assert server.block is not None
        location = only(server.block, "location", ("/",))
        assert location.block is not None
        return location.block

    def test_upgradeForwarded(self) -> None:
        """
        HTTP/1.1 to the server, with Upgrade passed on and Connection from
        the C{$connection_upgrade} map (C{upgrade}, or C{close} without an
        Upgrade header).
        """
        location = self.location()
        self.assertEqual(only(location, "proxy_http_version").args, ("1.1",))
        only(location, "proxy_set_header", ("Upgrade", "$http_upgrade"))
        only(location, "proxy_set_header", ("Connection", "$connection_upgrade"))
        mapping = only(contribTree(), "map")
        self.assertEqual(mapping.args, ("$http_upgrade", "$connection_upgrade"))
        assert mapping.block is not None
        self.assertEqual({d.name: d.args for d in mapping.block},
                         {"default": ("upgrade",), "''": ("close",)})

    def test_clientAddressHeaders(self) -> None:
        """
        Host, X-Real-IP (from C{$remote_addr}, so a client cannot forge it)
        and X-Forwarded-For are set.
        """
        location = self.location()
        only(location, "proxy_set_header", ("Host", "$host"))
        only(location, "proxy_set_header", ("X-Real-IP", "$remote_addr"))
        only(location, "proxy_set_header", ("X-Forwarded-For", "$proxy_add_x_forwarded_for"))

    def test_longTimeoutsNoBuffering(self) -> None:
        """
        Upgraded connections may be silent far longer than nginx's 60 s
        default: both timeouts are at least 120 s; responses are not
        buffered.
        """
        location = self.location()
        for name in ("proxy_read_timeout", "proxy_send_timeout"):
            (value,) = only(location, name).args
            self.assertGreaterEqual(nginxSeconds(value), 120, name)
        self.assertEqual(only(location, "proxy_buffering").args, ("off",))

    def test_tls(self) -> None:
        """
        TLS on 443 (IPv4 and IPv6) without HTTP/2, TLS 1.2 and 1.3 only,
        with certificate placeholders an operator replaces.
        """
        server = only(contribTree(), "server")
        assert server.block is not None
        self.assertEqual([d.args for d in server.block if d.name == "listen"],
                         [("443", "ssl"), ("[::]:443", "ssl")])
        self.assertNotIn("http2", [d.name for d in walk(server.block)])
        self.assertEqual(only(server.block, "ssl_protocols").args, ("TLSv1.2", "TLSv1.3"))
        self.assertTrue(only(server.block, "ssl_certificate").args[0].endswith("fullchain.pem"))
        self.assertTrue(only(server.block, "ssl_certificate_key").args[0].endswith("privkey.pem"))

    def test_streamExampleCommented(self) -> None:
        """
        The UDP tunnel example is a comment (a stream block is not allowed
        where this file is included), and is itself well-formed with a UDP
        listener.
        """
        self.assertNotIn("stream", [d.name for d in walk(contribTree())])
        lines = CONTRIB_CONF.getContent().decode("utf-8").splitlines()
        start, end = lines.index("# stream {"), lines.index("# }")
        example = "\n".join(line[1:] for line in lines[start : end + 1])
        stream = only(parseNginx(example), "stream")
        assert stream.block is not None
        server = only(stream.block, "server")
        assert server.block is not None
        self.assertEqual(only(server.block, "listen").args, ("9032", "udp"))
        self.assertEqual(only(server.block, "proxy_pass").args, ("127.0.0.1:9032",))

    def test_adaptedConfiguration(self) -> None:
        """
        The configuration the tests run differs from the file only in its
        listener, certificate paths and upstream port; it keeps the
        timeouts at least 120 s.
        """
        derived = adaptedConfiguration(4443, 18080, "/t/c.pem", "/t/k.pem")
        changed = {"listen", "ssl_certificate", "ssl_certificate_key", "proxy_pass"}

        def kept(tree: Iterable[Directive]) -> list[tuple[str, tuple[str, ...]]]:
            return [(d.name, d.args) for d in walk(tree) if d.name not in changed]

        self.assertEqual(kept(derived), kept(contribTree()))
        server = only(derived, "server")
        assert server.block is not None
        self.assertEqual(only(server.block, "listen").args, ("127.0.0.1:4443", "ssl"))
        self.assertEqual(only(server.block, "ssl_certificate").args, ('"/t/c.pem"',))
        location = only(server.block, "location", ("/",))
        assert location.block is not None
        self.assertEqual(only(location.block, "proxy_pass").args, ("http://127.0.0.1:18080",))
        self.assertGreaterEqual(nginxSeconds(only(location.block, "proxy_read_timeout").args[0]),
                                120)

    def test_parser(self) -> None:
        """
        The parser keeps quoted arguments, drops comments, and refuses
        unbalanced text; nginx times are converted to seconds.
        """
        tree = parseNginx("a 'x y' \"z\"; # c\nb { c 1; }")
        self.assertEqual(tree, (Directive("a", ("'x y'", '"z"')),
                                Directive("b", (), (Directive("c", ("1",)),))))
        self.assertEqual(renderNginx(tree), "a 'x y' \"z\";\nb {\n    c 1;\n}")
        for bad in ("a", "b {", "}", "a { b }", ";"):
            self.assertRaises(NginxSyntaxError, parseNginx, bad)
        self.assertEqual([nginxSeconds(v) for v in ("90", "120s", "1h", "1h30m", "500ms")],
                         [90, 120, 3600, 5400, 0.5])
        self.assertRaises(ValueError, nginxSeconds, "1 hour")


class NginxTests(TestCase):
    """
    The server behind nginx running C{contrib/nginx/pocketrelay.conf}
    (adapted to the test), with C{reverse_proxy = true} and
    C{trusted_proxies = 127.0.0.1}, and our client in front.
    """

    timeout = 90

    def setUp(self) -> None:
        requireNginx()
        self.ca = TestCA(self.mktemp())
        self.files = self.ca.issue("server")
        self.server = ServerFixture(
            self, ["--set", "reverse_proxy=true", "--set", "trusted_proxies=127.0.0.1"]
        )

    @defer.inlineCallbacks
    def startNginx(
        self, location: Mapping[str, tuple[str, ...]] | None = None,
        server: Iterable[Directive] = (),
    ) -> Any:
        """
        nginx in front of the server, serving the full chain as the file
        says (C{ssl_certificate} takes the certificate and intermediates).
        """
        def build(port: int) -> tuple[Directive, ...]:
            return adaptedConfiguration(
                port, self.server.port, self.files.fullchain, self.files.key,
                location=location, server=server,
            )

        nginx = NginxProcess(self, build)
        yield nginx.start()
        return nginx

    def url(self, nginx: NginxProcess, path: str = "") -> str:
        return f"https://127.0.0.1:{nginx.port}/{path}"

    def agent(self, *clientCert: str) -> Any:
        """
        An HTTPS agent trusting the test's root, as our client's.
        """
        tls = loadClientTLS(self.ca.rootPath, *clientCert)
        agent, pool = makeAgent(reactor, tls)
        self.addCleanup(pool.closeCachedConnections)
        return agent

    @defer.inlineCallbacks
    def upgradedThroughNginx(self, nginx: NginxProcess) -> Any:
        """
        A game upgraded straight through nginx (TLS, verified), without
        our client.
        """
        game = GameClient(clock=reactor)
        tls = loadClientTLS(self.ca.rootPath)
        endpoint = upstreamEndpoint(reactor, normaliseServerURL(self.url(nginx)), tls, timeout=5)
        upgrading = game.upgrading(host=f"127.0.0.1:{nginx.port}")
        yield connectProtocol(endpoint, upgrading)
        yield _timeout(upgrading.upgraded)
        self.addCleanup(closeGame, game)
        return game, upgrading

    @defer.inlineCallbacks
    def test_gameThroughNginx(self) -> Any:
        """
        Our client, verifying nginx's certificate with C{--ca-file}, starts;
        a game through it logs in, saves settings and plays; after 3 s of
        silence a ping still goes through the upgraded connection; the
        server saw the Blaze sessions coming from 127.0.0.1 (nginx's
        X-Real-IP).
        """
        nginx = yield self.startNginx()
        client = yield startClient(self, self.url(nginx), "--ca-file", self.ca.rootPath)
        host, _, _ = yield playThrough(self, client, self.server.hub)
        self.assertEqual(
            {session.peerHost for session in self.server.hub.sessions.values()}, {"127.0.0.1"}
        )
        yield _sleep(3)
        pong = yield _timeout(host.ping())
        self.assertGreater(pong.serverTime, 1_600_000_000)
        self.assertEqual(host.lost, [])
        self.assertEqual(client.exits, [])

    @defer.inlineCallbacks
    def test_untrustedWithoutCAFile(self) -> Any:
        """
        Without C{--ca-file}, nginx's certificate from the private
        authority is refused, the client saying so.
        """
        nginx = yield self.startNginx()
        failure = yield self.assertFailure(startClient(self, self.url(nginx)),
                                           clienttap.StartupFailed)
        self.assertIn("the certificate's authority 'pocketrelay test root CA' is not trusted",
                      str(failure))

    @defer.inlineCallbacks
    def test_forgedAddressReplaced(self) -> Any:
        """
        The server believes X-Real-IP from its trusted proxy (asked
        directly from 127.0.0.1, a forged value is taken), but through
        nginx the same forged headers are replaced by the address nginx saw,
        127.0.0.1.
        """
        forged = {"X-Real-IP": FORGED, "X-Forwarded-For": FORGED}
        direct = yield getJSON(Agent(reactor), self.server.url("/api/server").decode(), forged)
        self.assertEqual(direct["client_address"], FORGED)

        nginx = yield self.startNginx()
        proxied = yield getJSON(self.agent(), self.url(nginx, "api/server"), forged)
        self.assertEqual(proxied["ident"], "POCKET_RELAY_SERVER")
        self.assertEqual(proxied["client_address"], "127.0.0.1")
        plain = yield getJSON(self.agent(), self.url(nginx, "api/server"))
        self.assertEqual(plain["client_address"], "127.0.0.1")

    @defer.inlineCallbacks
    def test_readTimeoutGovernsUpgradedConnections(self) -> Any:
        """
        What C{proxy_read_timeout} is for: with it at 1 s, nginx closes a
        Blaze connection silent for 1 s, which the file's value prevents.
        """
        nginx = yield self.startNginx(location={"proxy_read_timeout": ("1s",)})
        game, _ = yield self.upgradedThroughNginx(nginx)
        yield _timeout(game.preAuth())
        yield _until(lambda: bool(game.lost), "nginx to close the silent connection", 10)

    @defer.inlineCallbacks
    def test_reloadKeepsGames(self) -> Any:
        """
        A certificate renewal the nginx way: new files and SIGHUP.  The
        upgraded connection open before keeps working; new connections get
        the new certificate.
        """
        nginx = yield self.startNginx()
        game, upgrading = yield self.upgradedThroughNginx(nginx)
        yield _timeout(game.preAuth())
        before = upgrading.transport.getPeerCertificate().get_serial_number()
        self.assertEqual(before, self.files.serial)

        renewed = self.ca.issue("renewed")
        for source, target in ((renewed.fullchain, self.files.fullchain),
                               (renewed.key, self.files.key)):
            os.replace(source, target)
        nginx.signal(signal.SIGHUP)

        @defer.inlineCallbacks
        def newSerial() -> Any:
            fresh, upgraded = yield self.upgradedThroughNginx(nginx)
            serial = upgraded.transport.getPeerCertificate().get_serial_number()
            yield closeGame(fresh)
            return serial

        for _ in range(100):
            serial = yield newSerial()
            if serial == renewed.serial:
                break
            yield _sleep(0.05)
        self.assertEqual(serial, renewed.serial)
        pong = yield _timeout(game.ping())
        self.assertGreater(pong.serverTime, 0)
        self.assertEqual(game.lost, [])

    @defer.inlineCallbacks
    def test_clientCertificates(self) -> Any:
        """
        nginx requiring client certificates from the test authority
        (docs/tls.md): our client with C{--client-cert} and C{--client-key}
        starts and plays; without, nginx answers 400 and the client does
        not start, saying that a client certificate is wanted.
        """
        nginx = yield self.startNginx(server=[
            Directive("ssl_client_certificate", (f'"{self.ca.rootPath}"',)),
            Directive("ssl_verify_client", ("on",)),
        ])
        player = self.ca.issue("player", client=True)
        client = yield startClient(
            self, self.url(nginx), "--ca-file", self.ca.rootPath,
            "--client-cert", player.certificate, "--client-key", player.key,
        )
        game = yield connectGame(self, client)
        yield _timeout(game.preAuth())
        created = yield _timeout(game.createAccount("tali@example.org", "keelah-selai"))
        self.assertTrue(created.sessionKey)

        failure = yield self.assertFailure(
            startClient(self, self.url(nginx), "--ca-file", self.ca.rootPath),
            clienttap.StartupFailed,
        )
        self.assertIn("(nginx/", str(failure))
        self.assertIn("wants a client certificate (400 No required SSL certificate was sent",
                      str(failure))
