# -*- test-case-name: tests.test_doctor -*-
"""
Tests for L{pocketrelay.doctor}: the report, the pure judgements of each
step, the probes on in-memory transports, the Blaze step's buffering
diagnosis on a clock, the command line and the admin hook.  The checks
against real nginx are in L{tests.test_doctor_nginx}.
"""

from __future__ import annotations

import datetime
import io
import json
from typing import Any

from twisted.internet import defer, error
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay import admin
from pocketrelay.admin.cli import COMMANDS
from pocketrelay.admin.doctor import COMMAND as DOCTOR
from pocketrelay.admin.doctor import doctorCommand
from pocketrelay.client.blazeproxy import parseResponseHead
from pocketrelay.client.discovery import ClientTLS, PlatformTrust, normaliseServerURL
from pocketrelay.doctor import STEPS, Report, Settings, Status, Step, checks, cli
from pocketrelay.doctor.probes import (
    BlazeProbe,
    HTTPExchange,
    HTTPResponse,
    ProtocolError,
    UdpProbe,
    UdpRefused,
)
from pocketrelay.testing.server import resultOf
from pocketrelay.testing.tlsca import TestCA, issueCertificate
from pocketrelay.tunnelwire import (
    UNASSIGNED,
    Initiate,
    Initiated,
    decodeDatagram,
    encodeDatagram,
)


def response(raw: bytes, body: bytes = b"") -> HTTPResponse:
    """
    An L{HTTPResponse} from a head (without its blank line) and a body.
    """
    return HTTPResponse(parseResponseHead(raw), body)


def _step(name: str, status: Status, required: bool = True, diagnosis: str = "") -> Step:
    return Step(name, name.upper(), status, 0.012, f"{name} detail", diagnosis, required)


class ReportTests(SynchronousTestCase):
    """
    L{Report}: the first failure, whether play works, the checklist and
    the JSON.
    """

    def test_firstFailureAndPlayable(self) -> None:
        """
        The first failed step is the one shown; play works while only
        optional steps fail, and the exit code says so.
        """
        report = Report("http://a/", (
            _step("dns", Status.PASSED),
            _step("udp-tunnel", Status.FAILED, required=False, diagnosis="UDP port 9 ..."),
            _step("gaw", Status.FAILED, diagnosis="gaw broken"),
        ))
        first = report.firstFailure
        assert first is not None
        self.assertEqual(first.name, "udp-tunnel")
        self.assertFalse(report.playable)
        self.assertEqual(report.exitCode, 1)
        optionalOnly = Report("http://a/", report.steps[:2])
        self.assertTrue(optionalOnly.playable)
        self.assertEqual(optionalOnly.exitCode, 0)
        self.assertIsNone(Report("http://a/", report.steps[:1]).firstFailure)

    def test_render(self) -> None:
        """
        One line per step with its mark, time and detail, the diagnosis
        under a failure or a warning, and a summary line.
        """
        report = Report("http://a/", (
            _step("dns", Status.PASSED),
            _step("tls", Status.SKIPPED),
            _step("gaw", Status.FAILED, diagnosis="the fix"),
            _step("health", Status.WARNED, diagnosis="a warning"),
        ))
        lines = report.render().splitlines()
        self.assertEqual(lines[0], "Checking http://a/")
        self.assertEqual(lines[1], "[ok  ] DNS         12 ms  dns detail")
        self.assertEqual(lines[2], "[skip] TLS                tls detail")
        self.assertEqual(lines[4], "       -> the fix")
        self.assertEqual(lines[6], "       -> a warning")
        self.assertEqual(lines[-1], "NOT ready for play (1 failed, 1 warning): GAW failed first.")

    def test_json(self) -> None:
        """
        The JSON has every step with its status value and the first
        failure.
        """
        report = Report("http://a/", (_step("dns", Status.PASSED),
                                      _step("tcp", Status.FAILED, diagnosis="x")))
        document = json.loads(report.renderJSON())
        self.assertFalse(document["playable"])
        self.assertEqual(document["first_failure"]["name"], "tcp")
        self.assertEqual([s["status"] for s in document["steps"]], ["passed", "failed"])
        self.assertEqual(document["steps"][0]["diagnosis"], None)
        self.assertEqual(document["steps"][1]["seconds"], 0.012)


class CertificateTests(SynchronousTestCase):
    """
    L{checks.certificateProblem} with certificates from a test authority.
    """

    def setUp(self) -> None:
        self.ca = TestCA(self.mktemp())
        self.trust = PlatformTrust(self.ca.rootPath)
        self.now = datetime.datetime.now(datetime.UTC)

    def chain(self, stem: str, full: bool = True, **kwargs: Any) -> list[Any]:
        from cryptography import x509

        single, fullchain, _ = issueCertificate(self.ca, stem, **kwargs)
        with open(fullchain if full else single, "rb") as f:
            return x509.load_pem_x509_certificates(f.read())

    def test_good(self) -> None:
        """
        A complete chain to a trusted root, naming the host, far from
        expiry, passes with what was seen.
        """
        outcome = checks.certificateProblem(self.chain("good"), "127.0.0.1", self.trust, self.now)
        self.assertIs(outcome.status, Status.PASSED)
        self.assertIn("valid for 127.0.0.1", outcome.detail)
        self.assertIn("2 certificates sent", outcome.detail)

    def test_expiringSoon(self) -> None:
        """
        Fewer than C{warnDays} days left is a warning to renew.
        """
        outcome = checks.certificateProblem(
            self.chain("soon", validFor=(-1, 10)), "127.0.0.1", self.trust, self.now
        )
        self.assertIs(outcome.status, Status.WARNED)
        self.assertIn("the certificate expires in 10 days", outcome.diagnosis)

    def test_expired(self) -> None:
        """
        An expired certificate fails, with its date.
        """
        outcome = checks.certificateProblem(
            self.chain("old", validFor=(-30, -3)), "127.0.0.1", self.trust, self.now
        )
        self.assertIs(outcome.status, Status.FAILED)
        self.assertIn("the certificate expired on", outcome.diagnosis)
        self.assertIn("(3 days ago)", outcome.diagnosis)

    def test_notYetValid(self) -> None:
        """
        A certificate valid only from tomorrow points at a clock.
        """
        outcome = checks.certificateProblem(
            self.chain("future", validFor=(1, 30)), "127.0.0.1", self.trust, self.now
        )
        self.assertIn("clock is wrong", outcome.diagnosis)

    def test_missingIntermediate(self) -> None:
        """
        The certificate alone, without its intermediate: the full-chain
        fix for nginx and for the server's own listener.
        """
        outcome = checks.certificateProblem(
            self.chain("alone", full=False), "127.0.0.1", self.trust, self.now
        )
        self.assertIn("without the intermediate certificate", outcome.diagnosis)
        self.assertIn("fullchain.pem", outcome.diagnosis)

    def test_untrustedAuthority(self) -> None:
        """
        A complete chain to a root not trusted here: --ca-file.
        """
        outcome = checks.certificateProblem(
            self.chain("private"), "127.0.0.1", PlatformTrust(None), self.now
        )
        self.assertIn("authority 'pocketrelay test root CA' is not trusted here", outcome.diagnosis)
        self.assertIn("--ca-file", outcome.diagnosis)

    def test_otherName(self) -> None:
        """
        A certificate for other names lists them.
        """
        outcome = checks.certificateProblem(
            self.chain("other", dnsNames=["a.example.org"], addresses=()),
            "me3.example.org", self.trust, self.now,
        )
        self.assertIn("the certificate is for a.example.org, not me3.example.org",
                      outcome.diagnosis)

    def test_noCertificate(self) -> None:
        """
        No certificate at all is a failure.
        """
        outcome = checks.certificateProblem([], "h", self.trust, self.now)
        self.assertIn("the server sent no certificate", outcome.diagnosis)


class AnswerTests(SynchronousTestCase):
    """
    The sentences for HTTP answers: L{checks.upgradeProblem},
    L{checks.httpProblem}, L{checks.healthOutcome}.
    """

    def test_upgradeRefusedForHTTP10(self) -> None:
        """
        426 for HTTP/1.0 names proxy_http_version.
        """
        text = checks.upgradeProblem(response(
            b"HTTP/1.1 426 Upgrade Required\r\nServer: nginx", b"an upgrade needs HTTP/1.1\n"))
        self.assertIn("over HTTP/1.0", text)
        self.assertIn("`proxy_http_version 1.1`", text)

    def test_upgradeHeadersDropped(self) -> None:
        """
        426 for missing headers names both proxy_set_header directives.
        """
        text = checks.upgradeProblem(response(
            b"HTTP/1.1 426 Upgrade Required",
            b"the Upgrade header does not offer 'blaze'\n"))
        self.assertIn("the proxy did not pass the upgrade on, so the server answered 426 "
                      "(the Upgrade header does not offer 'blaze')", text)
        self.assertIn("`proxy_set_header Upgrade $http_upgrade`", text)

    def test_upgradeAnswered200(self) -> None:
        """
        A 200 to the upgrade: something answers in the server's place.
        """
        text = checks.upgradeProblem(response(b"HTTP/1.1 200 OK"))
        self.assertIn("answered 200 OK instead of 101", text)

    def test_upgradeOther(self) -> None:
        """
        400 from a proxy: a proxy that does not pass upgrades on.
        """
        text = checks.upgradeProblem(response(b"HTTP/1.1 400 Bad Request", b"nope"), "tunnel")
        self.assertIn("the tunnel upgrade was answered 400 Bad Request (nope)", text)

    def test_badGateway(self) -> None:
        """
        502 from nginx: the server behind it is down or proxy_pass wrong.
        """
        text = checks.httpProblem(
            response(b"HTTP/1.1 502 Bad Gateway\r\nServer: nginx/1.22.1"), "GET /api/server"
        )
        self.assertEqual(
            text,
            "the proxy (nginx/1.22.1) answered 502 Bad Gateway to GET /api/server: it cannot "
            "reach the Pocket Relay server behind it — start pocketrelay-server, and check "
            "that proxy_pass names the server's listen address — see docs/tls.md",
        )

    def test_plainHTTPToHTTPSPort(self) -> None:
        """
        nginx's answer to plain HTTP on its TLS port: use https://.
        """
        text = checks.httpProblem(response(
            b"HTTP/1.1 400 Bad Request",
            b"<html>The plain HTTP request was sent to HTTPS port</html>"), "GET /api/server")
        self.assertIn("use https:// in the URL", text)

    def test_clientCertificateWanted(self) -> None:
        """
        nginx wanting a client certificate: --client-cert.
        """
        text = checks.httpProblem(response(
            b"HTTP/1.1 400 Bad Request\r\nServer: nginx",
            b"<html>400 No required SSL certificate was sent</html>"), "GET /api/server")
        self.assertIn("wants a client certificate", text)
        self.assertIn("--client-cert", text)

    def test_healthGameDataUnknown(self) -> None:
        """
        A health answer without game data: passed, game data unknown.
        """
        outcome = checks.healthOutcome(response(
            b"HTTP/1.1 200 OK", b'{"status":"ok","database":"ok","sessions":2}'))
        self.assertIs(outcome.status, Status.PASSED)
        self.assertIn("game data: unknown", outcome.detail)

    def test_healthGameDataIncomplete(self) -> None:
        """
        Game data reported incomplete: a warning naming what is missing.
        """
        outcome = checks.healthOutcome(response(b"HTTP/1.1 200 OK", json.dumps({
            "status": "ok", "database": "ok",
            "game_data": {"complete": False, "missing": ["default.tlk"]}}).encode()))
        self.assertIs(outcome.status, Status.WARNED)
        self.assertIn("missing default.tlk", outcome.diagnosis)
        self.assertIn("pocketrelay-admin game-data install", outcome.diagnosis)
        complete = checks.healthOutcome(response(b"HTTP/1.1 200 OK", json.dumps({
            "status": "ok", "database": "ok", "game_data": {"complete": True}}).encode()))
        self.assertIn("game data complete", complete.detail)

    def test_healthGameDataUnusable(self) -> None:
        """
        Game data reported unusable: a warning naming each file, its reason
        and the command that replaces it.
        """
        outcome = checks.healthOutcome(response(b"HTTP/1.1 200 OK", json.dumps({
            "status": "ok", "database": "ok",
            "game_data": {"complete": False, "missing": [], "unusable": [
                {"file": "coalesced.json", "reason": "offset 0: not JSON"}]}}).encode()))
        self.assertIs(outcome.status, Status.WARNED)
        self.assertIn("coalesced.json (offset 0: not JSON)", outcome.diagnosis)
        self.assertIn("pocketrelay-admin game-data install --force", outcome.diagnosis)
        self.assertIn("game data unusable", outcome.detail)

    def test_healthDatabaseDown(self) -> None:
        """
        503 with the database timing out: failed.
        """
        outcome = checks.healthOutcome(response(
            b"HTTP/1.1 503 Service Unavailable", b'{"status":"error","database":"timeout"}'))
        self.assertIs(outcome.status, Status.FAILED)
        self.assertIn("database does not answer (health says database: timeout)",
                      outcome.diagnosis)
        self.assertIs(checks.healthOutcome(response(b"HTTP/1.1 404 Not Found")).status,
                      Status.SKIPPED)

    def test_proxyAddress(self) -> None:
        """
        A server reached at a public address that sees us at 127.0.0.1 is
        behind a proxy it does not believe: reverse_proxy.  Through
        loopback, or seen at another address, nothing is said.
        """
        warning = checks.proxyAddressProblem("198.51.100.4", "127.0.0.1")
        assert warning is not None
        self.assertIn("set reverse_proxy = true and trusted_proxies", warning)
        self.assertIsNone(checks.proxyAddressProblem("127.0.0.1", "127.0.0.1"))
        self.assertIsNone(checks.proxyAddressProblem("198.51.100.4", "203.0.113.9"))
        self.assertIsNone(checks.proxyAddressProblem("198.51.100.4", None))

    def test_proxyEvidence(self) -> None:
        """
        A reverse proxy shows in a C{Via} header, in a C{Server} header
        that is not pocketrelay-server's own (Twisted Web's), or in a
        server at a public address seeing this computer at loopback;
        pocketrelay-server answering directly shows none.
        """
        def evidence(headers: bytes, connectedTo: str = "127.0.0.1",
                     seen: str | None = "127.0.0.1") -> str | None:
            return checks.proxyEvidence(response(b"HTTP/1.1 200 OK\r\n" + headers + b"\r\n"),
                                        connectedTo, seen)

        self.assertEqual(evidence(b"Server: nginx/1.22.1\r\n"), "Server: nginx/1.22.1")
        self.assertEqual(evidence(b"Server: TwistedWeb/26.10.0\r\nVia: 1.1 Caddy\r\n"),
                         "Via: 1.1 Caddy")
        self.assertIsNone(evidence(b"Server: TwistedWeb/26.10.0\r\n"))
        self.assertIsNone(evidence(b""))
        self.assertEqual(evidence(b"", "198.51.100.4"), "the server sees you as 127.0.0.1")

    def test_connectionProblems(self) -> None:
        """
        Refused, timed out, not TLS, answered in TLS.
        """
        def problem(value: BaseException) -> str:
            return checks._connectionProblem(Failure(value), "192.0.2.1", 443, 5)

        self.assertIn("nothing accepts connections on 192.0.2.1 port 443",
                      problem(error.ConnectionRefusedError()))
        self.assertIn("no answer from 192.0.2.1 port 443 within 5 s: a firewall",
                      problem(error.TimeoutError()))
        from OpenSSL import SSL

        wrong = SSL.Error([("SSL routines", "", "wrong version number")])
        self.assertIn("does not speak TLS", problem(wrong))
        self.assertIn("answered in TLS: use https://",
                      problem(ProtocolError("an answer that is not HTTP", b"\x15\x03\x01")))


class HTTPExchangeTests(SynchronousTestCase):
    """
    L{HTTPExchange} on a L{StringTransport}.
    """

    def exchange(self, upgradeTo: Protocol | None = None) -> tuple[HTTPExchange, StringTransport]:
        protocol = HTTPExchange(b"GET / HTTP/1.1\r\n\r\n", upgradeTo)
        transport = StringTransport()
        protocol.makeConnection(transport)
        self.assertEqual(transport.value(), b"GET / HTTP/1.1\r\n\r\n")
        return protocol, transport

    def test_contentLengthByteByByte(self) -> None:
        """
        A response arriving a byte at a time is read to its length.
        """
        protocol, transport = self.exchange()
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello and more":
            protocol.dataReceived(bytes([byte]))
        result = resultOf(protocol.done)
        self.assertEqual((result.code, result.body), (200, b"hello"))
        self.assertTrue(transport.disconnecting)

    def test_chunked(self) -> None:
        """
        A chunked body is decoded.
        """
        protocol, _ = self.exchange()
        protocol.dataReceived(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc")
        self.assertNoResult(protocol.done)
        protocol.dataReceived(b"\r\n2\r\nde\r\n0\r\n\r\n")
        self.assertEqual(resultOf(protocol.done).body, b"abcde")

    def test_untilClose(self) -> None:
        """
        Without a length, the body ends with the connection.
        """
        protocol, _ = self.exchange()
        protocol.dataReceived(b"HTTP/1.0 200 OK\r\n\r\nbody")
        protocol.connectionLost(Failure(error.ConnectionDone()))
        self.assertEqual(resultOf(protocol.done).body, b"body")

    def test_upgrade(self) -> None:
        """
        101 hands the connection, and the bytes after the head, to the
        inner protocol.
        """
        received: list[bytes] = []
        inner = Protocol()
        inner.dataReceived = received.append  # type: ignore[method-assign,assignment]
        protocol, transport = self.exchange(inner)
        protocol.dataReceived(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: blaze\r\n\r\nAB")
        self.assertEqual(resultOf(protocol.done).header("upgrade"), "blaze")
        protocol.dataReceived(b"CD")
        self.assertEqual(received, [b"AB", b"CD"])
        self.assertIs(inner.transport, transport)
        self.assertFalse(transport.disconnecting)

    def test_notHTTP(self) -> None:
        """
        Bytes that cannot start an HTTP response fail at once, keeping
        them for the diagnosis.
        """
        protocol, transport = self.exchange()
        protocol.dataReceived(b"\x15\x03\x01\x00\x02\x02\x16")
        failure = self.failureResultOf(protocol.done, ProtocolError)
        self.assertEqual(failure.value.received[:2], b"\x15\x03")
        self.assertTrue(transport.disconnecting)

    def test_closedWithoutAnswer(self) -> None:
        """
        A connection closed before any byte fails with its reason.
        """
        protocol, _ = self.exchange()
        protocol.connectionLost(Failure(error.ConnectionLost()))
        self.failureResultOf(protocol.done, error.ConnectionLost)


class FakeDatagramTransport:
    """
    A connected UDP transport that records what is written.
    """

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.connected: tuple[str, int] | None = None

    def connect(self, host: str, port: int) -> None:
        self.connected = (host, port)

    def write(self, data: bytes, addr: Any = None) -> None:
        self.written.append(data)

    stopped = False

    def stopListening(self) -> None:
        self.stopped = True


class UdpProbeTests(SynchronousTestCase):
    """
    L{UdpProbe} on a fake transport and a clock.
    """

    def probe(self) -> tuple[UdpProbe, FakeDatagramTransport, Clock]:
        clock = Clock()
        probe = UdpProbe(clock, "192.0.2.1", 9032, "token", interval=0.5)
        transport = FakeDatagramTransport()
        probe.makeConnection(transport)  # type: ignore[arg-type]
        return probe, transport, clock

    def test_initiateRepeatedUntilAnswered(self) -> None:
        """
        Initiate with the token goes to the connected port, again every
        interval, until Initiated comes; then it stops.
        """
        probe, transport, clock = self.probe()
        self.assertEqual(transport.connected, ("192.0.2.1", 9032))
        self.assertEqual(decodeDatagram(transport.written[0]).message, Initiate("token"))
        clock.advance(0.5)
        self.assertEqual(len(transport.written), 2)
        probe.datagramReceived(b"junk", ("192.0.2.1", 9032))
        self.assertNoResult(probe.done)
        probe.datagramReceived(encodeDatagram(UNASSIGNED, Initiated(77)), ("192.0.2.1", 9032))
        self.assertEqual(resultOf(probe.done), 77)
        clock.advance(5)
        self.assertEqual(len(transport.written), 2)

    def test_refused(self) -> None:
        """
        An ICMP refusal fails at once with L{UdpRefused}, whether it comes
        as C{connectionRefused} or as the socket closing (epoll).
        """
        for refuse in ("connectionRefused", "doStop"):
            probe, transport, clock = self.probe()
            getattr(probe, refuse)()
            self.failureResultOf(probe.done, UdpRefused)
            clock.advance(5)
            self.assertEqual(len(transport.written), 1)


class BlazeStepTests(SynchronousTestCase):
    """
    The Blaze step of L{checks._Run} over an in-memory connection.
    """

    def test_noReplyIsBuffering(self) -> None:
        """
        After an accepted upgrade, a preAuth reply that does not come
        within the reply timeout is diagnosed as a buffering proxy, and
        the connection is closed.
        """
        clock = MemoryReactorClock()
        run = checks._Run(clock, normaliseServerURL("http://me3.example.org/"),
                          Settings(replyTimeout=3), ClientTLS(),
                          lambda: datetime.datetime.now(datetime.UTC), clock.seconds)
        run.probe = BlazeProbe(clock)
        transport = StringTransport()
        run.probe.protocol.makeConnection(transport)
        d = defer.ensureDeferred(run.blaze())
        self.assertNotEqual(transport.value(), b"")
        clock.advance(2.9)
        self.assertNoResult(d)
        clock.advance(0.1)
        failure = self.failureResultOf(d, checks._Failed)
        self.assertIn("no Blaze reply to preAuth within 3 s although the upgrade was accepted: "
                      "a proxy between you and the server buffers the upgraded connection",
                      failure.value.outcome.diagnosis)
        self.assertTrue(transport.disconnecting)


class IdleStepTests(SynchronousTestCase):
    """
    The silence step of L{checks._Run}: a warning behind a proxy when it
    is not asked for, a real check when it is.
    """

    def makeRun(self, idle: float) -> tuple[checks._Run, MemoryReactorClock, StringTransport]:
        clock = MemoryReactorClock()
        run = checks._Run(clock, normaliseServerURL("https://me3.example.org/"),
                          Settings(replyTimeout=3, idle=idle), ClientTLS(),
                          lambda: datetime.datetime.now(datetime.UTC), clock.seconds)
        run.probe = BlazeProbe(clock)
        transport = StringTransport()
        run.probe.protocol.makeConnection(transport)
        return run, clock, transport

    def test_proxyWarns(self) -> None:
        """
        Without C{--idle}, a server reached through a reverse proxy gets
        the read-timeout warning, with what showed the proxy; nothing is
        sent on the connection.
        """
        run, _, transport = self.makeRun(0)
        run.proxy = "Server: nginx/1.22.1"
        outcome = self.successResultOf(defer.ensureDeferred(run.idle()))
        self.assertIs(outcome.status, Status.WARNED)
        self.assertEqual(outcome.diagnosis, checks.idleRisk())
        self.assertEqual(outcome.detail, "not checked; a reverse proxy answers "
                                         "(Server: nginx/1.22.1)")
        self.assertEqual(transport.value(), b"")

    def test_directSkipped(self) -> None:
        """
        Without C{--idle} and with no proxy seen, the step is skipped and
        says how to run it.
        """
        run, _, _ = self.makeRun(0)
        outcome = self.successResultOf(defer.ensureDeferred(run.idle()))
        self.assertIs(outcome.status, Status.SKIPPED)
        self.assertIn("--idle 65 checks", outcome.detail)

    def test_suspendsPingFirst(self) -> None:
        """
        With C{--idle}, the game's C{suspendUserPing} for 90 s is sent
        first (so the server's own idle timeout does not close the
        connection during the silence); its answer is an error frame,
        which is fine.  Then nothing is sent for the silence, and a ping
        answered after it passes.
        """
        from pocketrelay.blaze import frames, tdf
        from pocketrelay.blaze.ids import Component, UtilCommand
        from pocketrelay.me3.messages import util

        run, clock, transport = self.makeRun(100)
        d = defer.ensureDeferred(run.idle())
        decoder = frames.FrameDecoder()
        [suspend] = decoder.feed(transport.value())
        transport.clear()
        self.assertEqual((suspend.component, suspend.command),
                         (Component.UTIL, UtilCommand.SUSPEND_USER_PING))
        request = tdf.decode(util.SuspendUserPingRequest, suspend.body)
        self.assertEqual(request.timeValue, 90_000_000)
        assert run.probe is not None
        run.probe.protocol.dataReceived(suspend.errorReply(0x12E).encode())
        clock.advance(99)
        self.assertEqual(transport.value(), b"")
        self.assertNoResult(d)
        clock.advance(1)
        [ping] = decoder.feed(transport.value())
        self.assertEqual(ping.command, UtilCommand.PING)
        run.probe.protocol.dataReceived(ping.reply(tdf.encode(util.PingResponse())).encode())
        outcome = self.successResultOf(d)
        self.assertIs(outcome.status, Status.PASSED)
        self.assertIn("silent for 100 s", outcome.detail)

    def test_gameSilence(self) -> None:
        """
        The silence the warning names is the server's ping suspension.
        """
        from pocketrelay.server.components.util import PING_SUSPENSION

        self.assertEqual(checks.GAME_SILENCE, PING_SUSPENSION / 1_000_000)
        self.assertIn("the game is silent up to 90 s between pings", checks.idleRisk())
        self.assertIn("run doctor with --idle 65 to check", checks.idleRisk())


class _UdpReactor(MemoryReactorClock):
    """
    A memory reactor whose UDP ports are L{FakeDatagramTransport}s.
    """

    def __init__(self) -> None:
        super().__init__()
        self.udp: list[tuple[Any, FakeDatagramTransport]] = []

    def listenUDP(self, port: int, protocol: Any, interface: str = "",
                  maxPacketSize: int = 8192) -> Any:
        transport = FakeDatagramTransport()
        protocol.makeConnection(transport)
        self.udp.append((protocol, transport))
        return transport


class UdpStepTests(SynchronousTestCase):
    """
    The UDP tunnel step of L{checks._Run} on a memory reactor.
    """

    def test_noAnswer(self) -> None:
        """
        A tunnel port that never answers (a firewall dropping datagrams):
        after the UDP timeout, "UDP port N is not reachable" with what to
        forward or set, and the socket is closed.
        """
        from pocketrelay.client.discovery import ServerInfo

        clock = _UdpReactor()
        url = normaliseServerURL("http://me3.example.org/")
        run = checks._Run(clock, url, Settings(udpTimeout=3), ClientTLS(),
                          lambda: datetime.datetime.now(datetime.UTC), clock.seconds)
        run.address = "192.0.2.1"
        run.info = ServerInfo(url, "0.9.0", association="token", tunnelPort=9032)
        d = defer.ensureDeferred(run.udpTunnel())
        ((_, transport),) = clock.udp
        self.assertEqual(transport.connected, ("192.0.2.1", 9032))
        clock.pump([0.1] * 29)
        self.assertNoResult(d)
        # Initiate sent again every half second.
        self.assertEqual(len(transport.written), 6)
        clock.advance(0.1)
        outcome = self.successResultOf(d)
        self.assertIs(outcome.status, Status.FAILED)
        self.assertIn("UDP port 9032 is not reachable on 192.0.2.1: no answer to",
                      outcome.diagnosis)
        self.assertIn("forward it on the router", outcome.diagnosis)
        self.assertIn("udp_tunnel.external_port", outcome.diagnosis)
        self.assertTrue(transport.stopped)


class StepListTests(SynchronousTestCase):
    """
    What L{runChecks} does before it touches the network.
    """

    def test_badURL(self) -> None:
        """
        A URL the client cannot use fails the Deferred at once.
        """
        from pocketrelay.client.discovery import BadServerURL

        self.failureResultOf(checks.runChecks(MemoryReactorClock(), "ftp://x"), BadServerURL)

    def test_stopAtFailureAndLastStep(self) -> None:
        """
        The client's start-up settings stop at the first failure and end
        the report with the /api/server step; each step is reported to
        C{progress} as it ends; the failed step's sentence is its title
        and diagnosis.
        """
        reactor = MemoryReactorClock()
        seen: list[Step] = []
        d = checks.runChecks(reactor, "http://127.0.0.1:1/", checks.STARTUP_SETTINGS,
                             progress=seen.append)
        self.assertEqual([step.name for step in seen], ["dns"])
        # The TCP connection attempt fails.
        reactor.tcpClients[0][2].clientConnectionFailed(
            reactor.connectors[0], Failure(error.ConnectionRefusedError())
        )
        report = self.successResultOf(d)
        self.assertEqual([s.name for s in report.steps],
                         [name for name, _ in STEPS][: [n for n, _ in STEPS].index("server") + 1])
        self.assertEqual(report.step("tcp").status, Status.FAILED)
        self.assertEqual(seen, list(report.steps))
        tcp = report.step("tcp")
        self.assertEqual(tcp.sentence, f"TCP connection failed: {tcp.diagnosis}")
        self.assertEqual(report.step("server").detail, "not checked: no TCP connection")


class _NoAddresses:
    """
    A name resolver that finds nothing.
    """

    def resolveHostName(self, receiver: Any, hostName: str, portNumber: int = 0) -> Any:
        receiver.resolutionBegan(None)
        receiver.resolutionComplete()
        return receiver


class NameResolutionTests(SynchronousTestCase):
    """
    The name resolution step.
    """

    def test_unresolvable(self) -> None:
        """
        A name without addresses fails the first step, with what to
        check, and nothing else is attempted.
        """
        reactor = MemoryReactorClock()
        reactor.nameResolver = _NoAddresses()  # type: ignore[assignment]
        report = self.successResultOf(checks.runChecks(reactor, "https://me3.example.org/"))
        first = report.firstFailure
        assert first is not None
        self.assertEqual(first.name, "dns")
        self.assertIn("me3.example.org does not resolve to an address: check the spelling",
                      first.diagnosis)
        self.assertEqual(reactor.tcpClients, [])
        self.assertEqual({step.status for step in report.steps[1:]}, {Status.SKIPPED})


class CommandLineTests(SynchronousTestCase):
    """
    C{pocketrelay-admin doctor}: the subcommand of L{admin.main} and the
    arguments.
    """

    def runAdmin(self, *argv: str) -> tuple[int, str, str]:
        """
        Run C{pocketrelay-admin doctor} with C{argv} on a reactor that
        resolves no name.

        @return: the exit status, standard output and standard error.
        """
        self.reactor = MemoryReactorClock()
        self.reactor.nameResolver = _NoAddresses()  # type: ignore[assignment]
        out, err = io.StringIO(), io.StringIO()
        status = admin.main(["doctor", *argv], stdout=out, stderr=err, environ={},
                            commands=[doctorCommand(self.reactor)])
        return status, out.getvalue(), err.getvalue()

    def test_registered(self) -> None:
        """
        C{doctor} is one of C{pocketrelay-admin}'s subcommands.
        """
        self.assertIn(DOCTOR, COMMANDS)
        self.assertEqual(DOCTOR.name, "doctor")

    def test_adminRunsChecks(self) -> None:
        """
        C{pocketrelay-admin doctor URL} runs the checks on the reactor,
        prints the checklist with the failure's sentence and exits 1 when
        something play needs failed; with C{--json}, the same report as
        JSON.
        """
        status, out, _ = self.runAdmin("https://me3.example.org/")
        self.assertTrue(self.reactor.hasRun)
        self.assertEqual(status, 1)
        self.assertIn("me3.example.org does not resolve to an address", out)
        status, out, _ = self.runAdmin("https://me3.example.org/", "--json")
        self.assertEqual(status, 1)
        self.assertIn("does not resolve", json.dumps(json.loads(out)))

    def test_adminUsageErrors(self) -> None:
        """
        A URL the client would refuse, or a C{--ca-file} that is not a
        PEM file: status 2 with the reason, as before the subcommand
        table.
        """
        status, _, err = self.runAdmin("ftp://x/")
        self.assertEqual(status, 2)
        self.assertIn("unsupported scheme 'ftp'", err)
        missing = self.mktemp()
        status, _, err = self.runAdmin("https://me3.example.org/", "--ca-file", missing)
        self.assertEqual(status, 2)
        self.assertIn("pocketrelay-admin doctor: ", err)
        self.assertFalse(self.reactor.hasRun)

    def test_help(self) -> None:
        """
        C{pocketrelay-admin doctor --help} prints the doctor's usage and
        exits 0, without running a reactor.
        """
        out, err = io.StringIO(), io.StringIO()
        self.assertEqual(admin.main(["doctor", "--help"], stdout=out, stderr=err), 0)
        self.assertIn("usage: pocketrelay-admin doctor", out.getvalue())
        self.assertIn("--json", out.getvalue())

    def test_usageErrors(self) -> None:
        """
        No URL, or a bad timeout: status 2 with the reason.
        """
        out, err = io.StringIO(), io.StringIO()
        self.assertEqual(admin.main(["doctor"], stdout=out, stderr=err), 2)
        self.assertIn("the following arguments are required: URL", err.getvalue())
        self.assertEqual(cli.main(["http://a/", "--timeout", "0"], out, err), 2)
        self.assertIn("0 is not between 0 and 3600 seconds", err.getvalue())

    def test_settings(self) -> None:
        """
        The options become the check settings.
        """
        _, settings = cli.parseArguments(["http://a/", "--timeout", "2", "--idle", "50",
                                          "--udp-timeout", "1.5"])
        self.assertEqual(settings, Settings(connectTimeout=2, replyTimeout=2, udpTimeout=1.5,
                                            idle=50))

    def test_runBadURL(self) -> None:
        """
        A URL the client would refuse: status 2 and the client's reason.
        """
        out, err = io.StringIO(), io.StringIO()
        d = cli.run(MemoryReactorClock(), ["ftp://x/"], out, err)
        self.assertEqual(self.successResultOf(d), 2)
        self.assertIn("unsupported scheme 'ftp'", err.getvalue())
