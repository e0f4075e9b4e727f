# -*- test-case-name: tests.test_doctor_nginx -*-
"""
C{doctor} against real misconfigurations: Debian's nginx (run as in
L{tests.test_tls}, from C{contrib/nginx/pocketrelay.conf} with one thing
changed) in front of the project's server, everything on 127.0.0.1.
Each broken set-up must produce its own diagnosis sentence; the correct
one must pass every step.

Timeouts are short (1-2 s) so the module stays well under a minute.

The server's data directory holds synthetic game data, so its health
step reads complete unless a test breaks it.  With C{DOCTOR_EXAMPLES}
set to a directory, the scenarios shown in the docs write their
checklists there (L{recordExample}); C{make doc-examples} puts them in
C{docs/operations.md} and C{docs/tls.md}.
"""

from __future__ import annotations

import datetime
import socket
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet import reactor as _reactor
from twisted.trial.unittest import TestCase

from pocketrelay.doctor import Report, Settings, Status, runChecks
from pocketrelay.testing.doctorexamples import recordExample
from pocketrelay.testing.gamedata import syntheticInstallation
from pocketrelay.testing.loopback import ServerFixture
from pocketrelay.testing.nginx import (
    Directive,
    NginxProcess,
    adaptedConfiguration,
    replaceIn,
    requireNginx,
)
from pocketrelay.testing.tlsca import TestCA, issueCertificate

#: The global reactor, typed loosely (its interfaces are split in stubs).
reactor: Any = _reactor

#: What every run here allows: short waits, as the set-ups are local.
FAST: dict[str, Any] = {"connectTimeout": 2.0, "replyTimeout": 2.0, "udpTimeout": 1.0,
                        "pings": 2}


def _freeUdpPort() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def withoutHeaders(*names: str) -> Callable[[tuple[Directive, ...]], list[Directive]]:
    """
    A change of C{location /} that drops the C{proxy_set_header}
    directives of these headers.
    """
    def change(directives: tuple[Directive, ...]) -> list[Directive]:
        return [d for d in directives
                if not (d.name == "proxy_set_header" and d.args[0] in names)]

    return change


def without(*directiveNames: str) -> Callable[[tuple[Directive, ...]], list[Directive]]:
    """
    A change of a block that drops every directive of these names.
    """
    def change(directives: tuple[Directive, ...]) -> list[Directive]:
        return [d for d in directives if d.name not in directiveNames]

    return change


def adding(*extra: Directive) -> Callable[[tuple[Directive, ...]], list[Directive]]:
    def change(directives: tuple[Directive, ...]) -> list[Directive]:
        return [*directives, *extra]

    return change


class DoctorNginxTests(TestCase):
    """
    C{runChecks} through nginx to the server, with one misconfiguration
    at a time.
    """

    timeout = 60

    def setUp(self) -> None:
        requireNginx()
        self.ca = TestCA(self.mktemp())
        self.files = self.ca.issue("server")
        self.udpPort = _freeUdpPort()

    def startServer(self, *settings: str,
                    gameData: dict[str, bytes] | None = None) -> ServerFixture:
        """
        The server behind a trusted proxy on 127.0.0.1, with the synthetic
        game data (or C{gameData}) in its data directory.
        """
        return ServerFixture(self, [
            "--set", "reverse_proxy=true", "--set", "trusted_proxies=127.0.0.1",
            "--set", f"udp_tunnel.port={self.udpPort}", *settings,
        ], gameData=syntheticInstallation() if gameData is None else gameData)

    @defer.inlineCallbacks
    def startNginx(
        self,
        server: ServerFixture,
        certificate: str | None = None,
        key: str | None = None,
        location: Callable[[tuple[Directive, ...]], list[Directive]] | None = None,
    ) -> Any:
        """
        nginx running the contrib file in front of C{server}, with the
        given certificate files and a change of C{location /}.
        """
        def build(port: int) -> tuple[Directive, ...]:
            tree = adaptedConfiguration(
                port, server.port, certificate or self.files.fullchain, key or self.files.key
            )
            if location is not None:
                tree = replaceIn(tree, ("server", "location /"), location)
            return tree

        nginx = NginxProcess(self, build)
        yield nginx.start()
        return nginx

    def check(self, nginx: NginxProcess, **settings: Any) -> defer.Deferred[Report]:
        options = {**FAST, "caFile": self.ca.rootPath, **settings}
        return runChecks(reactor, f"https://127.0.0.1:{nginx.port}/", Settings(**options))

    def assertFailedWith(self, report: Report, name: str, *sentences: str) -> None:
        """
        Step C{name} is the first failure and its diagnosis holds every
        sentence part.
        """
        first = report.firstFailure
        self.assertIsNotNone(first, report.render())
        assert first is not None
        self.assertEqual(first.name, name, report.render())
        for sentence in sentences:
            self.assertIn(sentence, first.diagnosis, report.render())

    @defer.inlineCallbacks
    def test_correctDeployment(self) -> Any:
        """
        The contrib file as it is, checked with C{--idle} (short here; a
        proxy found without it is a warning, see
        L{test_bufferingWithoutReadTimeout}): every step passes (game
        data may be reported missing when the data directory is empty),
        and the report says ready for play.
        """
        server = self.startServer()
        nginx = yield self.startNginx(server)
        report = yield self.check(nginx, idle=1.5)
        recordExample("idle-kept", report)
        self.assertTrue(report.playable, report.render())
        self.assertIsNone(report.firstFailure, report.render())
        for step in report.steps:
            if step.name == "health" and step.status is Status.WARNED:
                self.assertIn("game data is incomplete", step.diagnosis)
            else:
                self.assertIs(step.status, Status.PASSED, report.render())
        self.assertIn("TLSv1.3", report.step("tls").detail)
        self.assertIn("Pocket Relay server 0.", report.step("server").detail)
        self.assertEqual(report.exitCode, 0)

    @defer.inlineCallbacks
    def test_correctDeploymentWithoutIdle(self) -> Any:
        """
        The contrib file as it is, checked as an operator first does
        (without C{--idle}), the server holding its game data: the silence
        step warns as nginx answers, every other step passes (the health
        step reading the game data complete), and the report says ready
        for play.
        """
        server = self.startServer()
        nginx = yield self.startNginx(server)
        report = yield self.check(nginx)
        recordExample("correct", report)
        self.assertTrue(report.playable, report.render())
        self.assertEqual([step.name for step in report.steps if step.status is not
                          Status.PASSED], ["idle"], report.render())
        self.assertIs(report.step("idle").status, Status.WARNED)
        self.assertIn("game data complete", report.step("health").detail)
        self.assertEqual(report.exitCode, 0)

    @defer.inlineCallbacks
    def test_unusableGameData(self) -> Any:
        """
        A server whose C{coalesced.json} is corrupt: the health step warns
        that the game data is unusable, naming the file, the parser's
        reason and the fix; play is not blocked.
        """
        server = self.startServer(gameData={**syntheticInstallation(),
                                            "coalesced.json": b"{not json"})
        nginx = yield self.startNginx(server)
        report = yield self.check(nginx)
        recordExample("unusable-game-data", report)
        health = report.step("health")
        self.assertIs(health.status, Status.WARNED, report.render())
        self.assertIn("game data unusable", health.detail)
        self.assertIn("the server cannot use some of its game data (coalesced.json (",
                      health.diagnosis)
        self.assertIn("pocketrelay-admin game-data install --force", health.diagnosis)
        self.assertTrue(report.playable, report.render())

    @defer.inlineCallbacks
    def test_noUpgradeHeaders(self) -> Any:
        """
        nginx without C{proxy_set_header Upgrade} and C{Connection}: nginx
        sends C{Connection: close} and no Upgrade, the server answers 426
        and doctor names both directives.
        """
        server = self.startServer()
        nginx = yield self.startNginx(server, location=withoutHeaders("Upgrade", "Connection"))
        report = yield self.check(nginx)
        recordExample("no-upgrade-headers", report)
        self.assertFailedWith(
            report, "upgrade",
            "the proxy did not pass the upgrade on, so the server answered 426 "
            "(the Connection header does not contain 'upgrade')",
            "`proxy_set_header Upgrade $http_upgrade`",
            "`proxy_set_header Connection $connection_upgrade`", "see docs/tls.md",
        )
        self.assertIs(report.step("blaze").status, Status.SKIPPED)
        self.assertIs(report.step("http-tunnel").status, Status.FAILED)
        self.assertFalse(report.playable)

    @defer.inlineCallbacks
    def test_http10WithoutUpgradeHeaders(self) -> Any:
        """
        nginx's defaults: HTTP/1.0 to the server and no upgrade headers.
        The server refuses the upgrade as HTTP/1.0 (426) and doctor says
        so, naming C{proxy_http_version 1.1} and the headers.
        """
        server = self.startServer()
        nginx = yield self.startNginx(
            server,
            location=lambda d: without("proxy_http_version")(
                tuple(withoutHeaders("Upgrade", "Connection")(d))),
        )
        report = yield self.check(nginx)
        self.assertFailedWith(
            report, "upgrade",
            "the upgrade reached the server over HTTP/1.0 (it answered 426: an upgrade needs "
            "HTTP/1.1): the proxy talks HTTP/1.0 to it",
            "`proxy_http_version 1.1`",
        )

    @defer.inlineCallbacks
    def test_bufferingWithoutReadTimeout(self) -> Any:
        """
        C{proxy_buffering on} and no C{proxy_read_timeout}: nginx relays an
        upgraded connection byte for byte whatever C{proxy_buffering}
        says, so Blaze replies arrive and every step play needs passes.
        What the missing timeout costs is nginx's default of 60 s for a
        silent connection (L{test_shortReadTimeout}), which cannot be
        checked quickly: seeing nginx answer (its C{Server} header), the
        silence step warns about the proxy's read timeout and says how
        to check it, without failing the run.
        """
        server = self.startServer()
        nginx = yield self.startNginx(server, location=lambda d: [
            *without("proxy_buffering", "proxy_read_timeout", "proxy_send_timeout")(d),
            Directive("proxy_buffering", ("on",)),
        ])
        report = yield self.check(nginx)
        recordExample("silence-warning", report)
        self.assertTrue(report.playable, report.render())
        self.assertEqual(report.exitCode, 0)
        self.assertIs(report.step("blaze").status, Status.PASSED, report.render())
        idle = report.step("idle")
        self.assertIs(idle.status, Status.WARNED, report.render())
        self.assertEqual(
            idle.diagnosis,
            "through a reverse proxy, an upgraded connection silent for longer than the "
            "proxy's read timeout is closed (nginx's proxy_read_timeout defaults to 60 s; the "
            "game is silent up to 90 s between pings): set proxy_read_timeout 1h — see "
            "docs/tls.md; run doctor with --idle 65 to check",
        )
        self.assertIn("a reverse proxy answers (Server: nginx", idle.detail)

    @defer.inlineCallbacks
    def test_upgradeHeld(self) -> Any:
        """
        What really keeps Blaze answers from arriving behind nginx: nginx
        with fixed upgrade headers (C{proxy_set_header Upgrade blaze},
        C{Connection upgrade}) and C{proxy_buffering on}, behind a front
        proxy that drops the player's Upgrade header.  The server answers
        the upgrade with 101, but the nginx that receives it got no
        Upgrade header, so it does not switch to a tunnel: it holds the
        101 and everything after it.  Nothing comes back, and doctor says
        which proxy behaviour does that.
        """
        server = self.startServer()

        def inner(port: int) -> tuple[Directive, ...]:
            tree = adaptedConfiguration(port, server.port, self.files.fullchain,
                                        self.files.key)
            tree = replaceIn(tree, ("server",), lambda d: [
                Directive("listen", (f"127.0.0.1:{port}",)),
                *(x for x in d if x.name != "listen" and not x.name.startswith("ssl_")),
            ])
            return replaceIn(tree, ("server", "location /"), lambda d: [
                *without("proxy_buffering")(tuple(withoutHeaders("Upgrade", "Connection")(d))),
                Directive("proxy_set_header", ("Upgrade", "blaze")),
                Directive("proxy_set_header", ("Connection", "upgrade")),
                Directive("proxy_buffering", ("on",)),
            ])

        back = NginxProcess(self, inner)
        yield back.start()

        def front(port: int) -> tuple[Directive, ...]:
            tree = adaptedConfiguration(port, back.port, self.files.fullchain, self.files.key)
            return replaceIn(tree, ("server", "location /"), withoutHeaders("Upgrade",
                                                                            "Connection"))

        nginx = NginxProcess(self, front)
        yield nginx.start()
        accepted: list[str] = []
        newSession = server.hub.newSession

        def recording(peerHost: str, *args: Any) -> Any:
            accepted.append(peerHost)
            return newSession(peerHost, *args)

        server.hub.newSession = recording
        report = yield self.check(nginx)
        # The server did answer 101 and start a Blaze session.
        self.assertEqual(accepted, ["127.0.0.1"])
        self.assertFailedWith(
            report, "upgrade",
            "no answer to the Blaze upgrade within 2 s: a proxy on the way holds the server's "
            "101 Switching Protocols instead of switching to a tunnel, as nginx does when the "
            "request it got carried no Upgrade header",
            "`proxy_set_header Upgrade $http_upgrade`",
        )
        self.assertIs(report.step("server").status, Status.PASSED)

    @defer.inlineCallbacks
    def test_shortReadTimeout(self) -> Any:
        """
        With C{--idle}, a proxy read timeout shorter than the silence (here
        nginx's C{proxy_read_timeout} at 1 s standing for its 60 s
        default) is found: the game connection is closed while silent.
        """
        server = self.startServer()
        nginx = yield self.startNginx(server, location=lambda d: [
            *without("proxy_buffering", "proxy_read_timeout")(d),
            Directive("proxy_buffering", ("on",)),
            Directive("proxy_read_timeout", ("1s",)),
        ])
        report = yield self.check(nginx, idle=2.5)
        recordExample("idle-closed", report)
        # Asked for with --idle, the silence check counts for play.
        self.assertFalse(report.playable, report.render())
        self.assertFailedWith(
            report, "idle",
            "the game connection was closed after 1 s of silence: a proxy closes quiet upgraded "
            "connections (nginx: proxy_read_timeout, default 60 s) — set proxy_read_timeout 1h",
        )
        self.assertIs(report.step("blaze").status, Status.PASSED)

    @defer.inlineCallbacks
    def test_missingIntermediate(self) -> Any:
        """
        nginx serving the certificate alone (cert.pem instead of
        fullchain.pem): the chain is incomplete.
        """
        server = self.startServer()
        nginx = yield self.startNginx(server, certificate=self.files.certificate)
        report = yield self.check(nginx)
        recordExample("missing-intermediate", report)
        self.assertFailedWith(
            report, "certificate",
            "the server sends its certificate without the intermediate certificate of "
            "'pocketrelay test intermediate CA'",
            "ssl_certificate must be the full chain (fullchain.pem)", "extraCertChain",
        )
        # The rest is still checked behind the bad certificate.
        self.assertIs(report.step("blaze").status, Status.PASSED)

    @defer.inlineCallbacks
    def test_expiredCertificate(self) -> Any:
        """
        A certificate that expired: its date and the renewal.
        """
        _, fullchain, key = issueCertificate(self.ca, "expired", validFor=(-60, -2))
        server = self.startServer()
        nginx = yield self.startNginx(server, certificate=fullchain, key=key)
        report = yield self.check(nginx)
        expired = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2))
        self.assertFailedWith(
            report, "certificate",
            f"the certificate expired on {expired:%Y-%m-%d} (2 days ago): renew it",
        )

    @defer.inlineCallbacks
    def test_expiringSoon(self) -> Any:
        """
        A certificate valid for 5 more days is a warning, not a failure.
        """
        _, fullchain, key = issueCertificate(self.ca, "soon", validFor=(-60, 5))
        server = self.startServer()
        nginx = yield self.startNginx(server, certificate=fullchain, key=key)
        report = yield self.check(nginx)
        step = report.step("certificate")
        self.assertIs(step.status, Status.WARNED)
        self.assertIn("the certificate expires in 5 days", step.diagnosis)
        self.assertTrue(report.playable)

    @defer.inlineCallbacks
    def test_otherName(self) -> Any:
        """
        A certificate for another name than the one in the URL.
        """
        _, fullchain, key = issueCertificate(
            self.ca, "other", dnsNames=["me3.example.org"], addresses=()
        )
        server = self.startServer()
        nginx = yield self.startNginx(server, certificate=fullchain, key=key)
        report = yield self.check(nginx)
        self.assertFailedWith(
            report, "certificate",
            "the certificate is for me3.example.org, not 127.0.0.1: get a certificate that "
            "names 127.0.0.1",
        )

    @defer.inlineCallbacks
    def test_udpTunnelFirewalled(self) -> Any:
        """
        The server announces a UDP port nothing answers on (as when it is
        not forwarded): the UDP step fails with the port and the fix, and
        play still works over the HTTP tunnel.  On loopback the kernel
        refuses the datagram (ICMP), so the probe knows at once.
        """
        closed = _freeUdpPort()
        server = self.startServer("--set", f"udp_tunnel.external_port={closed}")
        nginx = yield self.startNginx(server)
        report = yield self.check(nginx)
        self.assertFailedWith(
            report, "udp-tunnel",
            f"UDP port {closed} is not reachable on 127.0.0.1: it was refused (nothing "
            f"listens there, or a firewall rejects it)",
            f"open UDP port {closed} in the server's firewall", "udp_tunnel.external_port",
            "see docs/tunnel.md",
        )
        self.assertIs(report.step("http-tunnel").status, Status.PASSED)
        self.assertTrue(report.step("http-tunnel").required)
        self.assertTrue(report.playable, report.render())

    @defer.inlineCallbacks
    def test_udpTunnelDisabled(self) -> Any:
        """
        A server without a UDP tunnel (C{udp_tunnel.port = 0}): a warning
        naming the setting; the HTTP tunnel carries tunnelled games.
        """
        self.udpPort = 0
        server = self.startServer()
        nginx = yield self.startNginx(server)
        report = yield self.check(nginx)
        step = report.step("udp-tunnel")
        self.assertIs(step.status, Status.WARNED)
        self.assertIn("the server offers no UDP tunnel (no tunnel_port in /api/server)",
                      step.diagnosis)
        self.assertIn("set udp_tunnel.port (default 9032)", step.diagnosis)
        self.assertTrue(report.playable)

    @defer.inlineCallbacks
    def test_notPocketRelay(self) -> Any:
        """
        nginx answering for itself (a web site, not the server): the
        /api/server step says it is not a Pocket Relay server, and the
        Pocket Relay steps are not attempted.
        """
        server = self.startServer()
        nginx = yield self.startNginx(server, location=lambda d: [
            Directive("default_type", ("text/html",)),
            Directive("return", ("200", '"<html>It works!</html>"')),
        ])
        report = yield self.check(nginx)
        self.assertFailedWith(
            report, "server",
            f"https://127.0.0.1:{nginx.port}/ answers, but it is not a Pocket Relay server "
            f"(its answer to api/server is not JSON): check the URL's host, port and path",
        )
        self.assertIs(report.step("upgrade").status, Status.SKIPPED)
        self.assertEqual(report.exitCode, 1)

    @defer.inlineCallbacks
    def test_httpURLForHTTPSPort(self) -> Any:
        """
        An http:// URL for nginx's TLS port: nginx's own 400 page, which
        doctor turns into "use https://".
        """
        server = self.startServer()
        nginx = yield self.startNginx(server)
        report = yield runChecks(reactor, f"http://127.0.0.1:{nginx.port}/", Settings(**FAST))
        self.assertFailedWith(
            report, "server",
            "this port expects HTTPS but the URL says http://: use https:// in the URL",
        )

    @defer.inlineCallbacks
    def test_httpsURLForHTTPPort(self) -> Any:
        """
        An https:// URL for the server's plain HTTP port: doctor says the
        port does not speak TLS.  Which sentence depends on the random
        bytes of the ClientHello: without a line feed among them,
        twisted.web waits for the end of a request head that never comes
        and the handshake gets no answer; with one, it answers C{400} in
        plain HTTP.  Both name the port and the fix.
        """
        server = self.startServer()
        report = yield runChecks(reactor, f"https://127.0.0.1:{server.port}/",
                                 Settings(**FAST))
        self.assertFailedWith(
            report, "tls", f"127.0.0.1 port {server.port} ", "does not speak TLS",
            "use http:// in the URL",
        )
        self.assertIs(report.step("server").status, Status.SKIPPED)
