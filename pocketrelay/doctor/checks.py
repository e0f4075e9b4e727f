# -*- test-case-name: tests.test_doctor -*-
"""
The checks of C{doctor}, in the order a player's client meets them, and
what each outcome means.

L{runChecks} runs them against a server URL over an injected reactor and
fires with a L{Report}.  Each step turns what the probes of
L{pocketrelay.doctor.probes} saw into a L{Step}: passed, warned, failed
or skipped, with what was seen and, for a failure or a warning, one
sentence naming the likely cause and the fix.  The sentence-making
functions (L{certificateProblem}, L{upgradeProblem}, L{httpProblem},
L{healthOutcome}, ...) are pure, so they are tested without a network.

Every connection is made the way the client makes it (the same
C{/api/server} parsing, upgrade and tunnel requests), except that TLS
accepts any certificate: the certificate step judges it with the
client's own trust store, and the later steps still run behind a bad
certificate, so one run shows every problem.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import attrs
from twisted.internet import defer, error
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from pocketrelay.client.discovery import (
    MIN_SERVER_VERSION,
    USER_AGENT,
    BadServerURL,
    ClientTLS,
    NotPocketRelayServer,
    ServerInfo,
    ServerTooOld,
    ServerURL,
    normaliseServerURL,
    parseServerInfo,
)
from pocketrelay.doctor.probes import (
    BlazeProbe,
    HTTPExchange,
    HTTPResponse,
    PermissiveTLS,
    ProtocolError,
    TLSProbe,
    TLSSession,
    UdpProbe,
    UdpRefused,
    connect,
    isAddress,
    resolveHost,
)
from pocketrelay.doctor.report import Report, Status, Step

__all__ = [
    "GAME_SILENCE",
    "STARTUP_SETTINGS",
    "STEPS",
    "Outcome",
    "Settings",
    "certificateProblem",
    "explainStartup",
    "healthOutcome",
    "httpProblem",
    "idleRisk",
    "proxyAddressProblem",
    "proxyEvidence",
    "runChecks",
    "upgradeHeld",
    "upgradeProblem",
]

log = Logger()

_MIN_TEXT = ".".join(map(str, MIN_SERVER_VERSION))

#: The steps, in order: name and title.
STEPS: tuple[tuple[str, str], ...] = (
    ("dns", "Name resolution"),
    ("tcp", "TCP connection"),
    ("tls", "TLS handshake"),
    ("certificate", "Certificate"),
    ("server", "Pocket Relay server (GET /api/server)"),
    ("upgrade", "Blaze upgrade (GET /api/server/upgrade)"),
    ("blaze", "Blaze through the upgrade (preAuth, pings)"),
    ("idle", "Silent Blaze connection kept open"),
    ("udp-tunnel", "UDP tunnel"),
    ("http-tunnel", "HTTP tunnel (GET /api/server/tunnel)"),
    ("gaw", "Galaxy at War"),
    ("qos", "QoS"),
    ("content", "Content (/content/)"),
    ("telemetry", "Telemetry (POST /api/server/telemetry)"),
    ("health", "Server health (GET /api/server/health)"),
)

#: Steps play does not need: the game works without them (degraded).
_OPTIONAL = frozenset({"idle", "udp-tunnel", "content", "telemetry"})

_SEE_TLS = "see docs/tls.md"
_SEE_TUNNEL = "see docs/tunnel.md"

#: Seconds the game can leave its Blaze connection silent: it pings every
#: 15 s, but while it loads a level it asks to be excused for 90 s
#: (C{suspendUserPing}; the server's
#: C{pocketrelay.server.components.util.PING_SUSPENSION}).
GAME_SILENCE = 90

#: What C{pocketrelay-server}'s own C{Server} header starts with (Twisted
#: Web's); another one, or a C{Via} header, means a proxy answered.
SERVER_HEADER = "TwistedWeb/"

#: The C{--idle} that checks a proxy's read timeout against nginx's
#: default of 60 s.
IDLE_SUGGESTED = 65


@attrs.frozen
class Settings:
    """
    How patient the checks are.

    @ivar connectTimeout: seconds for a name to resolve and for a TCP
        connection (and its TLS handshake) to open.
    @ivar replyTimeout: seconds for an HTTP answer or a Blaze reply.
    @ivar pings: how many Blaze pings measure the round-trip time.
    @ivar udpTimeout: seconds for the UDP tunnel to answer.
    @ivar idle: seconds the Blaze connection stays silent before a last
        ping; 0 skips that check.
    @ivar warnDays: a certificate expiring sooner is a warning.
    @ivar caFile: extra trusted authorities (PEM), as the client's
        C{--ca-file} (ignored when L{runChecks} is given the client's
        L{ClientTLS}).
    @ivar lastStep: the name of the last step to run, or L{None} for
        all; later steps are left out of the report.
    @ivar stopAtFailure: skip every step after the first failure.
    """

    connectTimeout: float = 5.0
    replyTimeout: float = 5.0
    pings: int = 3
    udpTimeout: float = 3.0
    idle: float = 0.0
    warnDays: int = 14
    caFile: str | None = None
    lastStep: str | None = None
    stopAtFailure: bool = False


@attrs.frozen
class Outcome:
    """
    What one step concluded (the runner adds its name, title and time).
    """

    status: Status
    detail: str = ""
    diagnosis: str = ""

    @classmethod
    def passed(cls, detail: str) -> Outcome:
        """
        A pass, with what was seen.
        """
        return cls(Status.PASSED, detail)

    @classmethod
    def failed(cls, diagnosis: str, detail: str = "") -> Outcome:
        """
        A failure: the sentence naming cause and fix, and what was seen.
        """
        return cls(Status.FAILED, detail, diagnosis)

    @classmethod
    def warned(cls, diagnosis: str, detail: str = "") -> Outcome:
        """
        A warning: play works, but the sentence says what to fix.
        """
        return cls(Status.WARNED, detail, diagnosis)

    @classmethod
    def skipped(cls, detail: str) -> Outcome:
        """
        Not checked, and why.
        """
        return cls(Status.SKIPPED, detail)


class _Failed(Exception):
    """
    Raised inside a step to end it with a failure.
    """

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.diagnosis)
        self.outcome = outcome


# -- what answers mean (pure)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _commonName(name: Any) -> str:
    from cryptography.x509.oid import NameOID

    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else name.rfc4514_string()


def _certificateNames(certificate: Any) -> list[str]:
    from cryptography import x509

    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return [_commonName(certificate.subject)]
    names = [str(n) for n in extension.value.get_values_for_type(x509.DNSName)]
    names += [str(a) for a in extension.value.get_values_for_type(x509.IPAddress)]
    return names


def _matchesHost(certificate: Any, host: str) -> bool:
    from service_identity import CertificateError, VerificationError
    from service_identity.cryptography import (
        verify_certificate_hostname,
        verify_certificate_ip_address,
    )

    try:
        if isAddress(host):
            verify_certificate_ip_address(certificate, host)
        else:
            verify_certificate_hostname(certificate, host)
    except (VerificationError, CertificateError):
        return False
    return True


def _verifyChain(chain: Sequence[Any], trust: Any, now: datetime.datetime) -> tuple[int, int, str] | None:
    """
    Verify C{chain} (the server's certificate first) with OpenSSL against
    C{trust} (an L{IOpenSSLTrustRoot}) as of C{now}.

    @return: L{None} when it verifies, else OpenSSL's error code, depth
        and message.
    """
    from OpenSSL import SSL, crypto

    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    trust._addCACertsToContext(context)
    store = context.get_cert_store()
    assert store is not None
    store.set_time(now)
    leaf = crypto.X509.from_cryptography(chain[0])
    untrusted = [crypto.X509.from_cryptography(c) for c in chain[1:]]
    try:
        crypto.X509StoreContext(store, leaf, untrusted).verify_certificate()
    except crypto.X509StoreContextError as e:
        code, depth, message = [*e.errors, 0, 0, str(e)][:3]
        return int(code), int(depth), str(message)
    return None


#: OpenSSL verification errors (X509_V_ERR_*).
_UNABLE_TO_GET_ISSUER = (2, 20)
_SELF_SIGNED = (18, 19)
_EXPIRED = 10


def certificateProblem(
    chain: Sequence[Any],
    host: str,
    trust: Any,
    now: datetime.datetime,
    warnDays: int = 14,
) -> Outcome:
    """
    Judge the certificates a server sent, as the client would: in time,
    chained to a trusted authority with what the server sent, and naming
    C{host}.

    @param chain: C{cryptography} certificates, the server's first.
    @param trust: the client's L{IOpenSSLTrustRoot}.
    @param now: an aware datetime.
    """
    if not chain:
        return Outcome.failed(
            "the server sent no certificate: its TLS configuration is broken — " + _SEE_TLS
        )
    leaf = chain[0]
    after = leaf.not_valid_after_utc
    before = leaf.not_valid_before_utc
    days = (after - now).total_seconds() / 86400
    issuer = _commonName(leaf.issuer)
    if after < now:
        return Outcome.failed(
            f"the certificate expired on {after:%Y-%m-%d} ({-days:.0f} days ago): renew it "
            f"(certbot renew) and reload nginx, or restart the server for its own ssl: "
            f"listener — {_SEE_TLS}",
            f"expired {after:%Y-%m-%d}",
        )
    if before > now:
        return Outcome.failed(
            f"the certificate is valid only from {before:%Y-%m-%d %H:%M} UTC: the server's or "
            f"this computer's clock is wrong, or the certificate was issued with a wrong date",
        )
    problem = _verifyChain(chain, trust, now)
    if problem is not None:
        code, depth, message = problem
        if code in _UNABLE_TO_GET_ISSUER and len(chain) == 1 and leaf.issuer != leaf.subject:
            return Outcome.failed(
                f"the server sends its certificate without the intermediate certificate of "
                f"{issuer!r}, so clients that lack it refuse the server: with nginx, "
                f"ssl_certificate must be the full chain (fullchain.pem); with the server's "
                f"own ssl: listener, give the intermediates in extraCertChain — {_SEE_TLS}",
                "chain incomplete: 1 certificate sent",
            )
        if code in _UNABLE_TO_GET_ISSUER or code in _SELF_SIGNED:
            top = _commonName(chain[-1].issuer)
            return Outcome.failed(
                f"the certificate's authority {top!r} is not trusted here: use a certificate "
                f"from a public authority, or give players that authority's certificate for "
                f"--ca-file (and run doctor with --ca-file) — {_SEE_TLS}",
                f"untrusted authority {top!r}",
            )
        if code == _EXPIRED:
            return Outcome.failed(
                f"a certificate in the chain the server sends has expired (depth {depth}): "
                f"update the intermediate certificates (certbot's fullchain.pem) — {_SEE_TLS}",
            )
        return Outcome.failed(
            f"the certificate chain does not verify ({message}, depth {depth}): fix the "
            f"certificate files — {_SEE_TLS}",
        )
    if not _matchesHost(leaf, host):
        names = ", ".join(_certificateNames(leaf)[:4]) or "no name"
        return Outcome.failed(
            f"the certificate is for {names}, not {host}: get a certificate that names {host} "
            f"(or use a name it names in the URL) — {_SEE_TLS}",
            f"issued for {names}",
        )
    detail = (
        f"valid for {host}, issued by {issuer!r}, {len(chain)} certificates sent, "
        f"expires {after:%Y-%m-%d} (in {days:.0f} days)"
    )
    if days < warnDays:
        return Outcome.warned(
            f"the certificate expires in {days:.0f} days ({after:%Y-%m-%d}): renew it now "
            f"(certbot renew) and reload — {_SEE_TLS}",
            detail,
        )
    return Outcome.passed(detail)


def httpProblem(response: HTTPResponse, what: str) -> str:
    """
    The sentence for an unexpected HTTP answer to C{what} (a request
    description such as C{"GET /api/server"}).
    """
    code = response.code
    text = response.text
    server = response.header("server") or ""
    front = f"the proxy ({server})" if server and "twisted" not in server.lower() else "the server"
    if code == 400 and "plain HTTP request was sent to HTTPS port" in text:
        return (
            "this port expects HTTPS but the URL says http://: use https:// in the URL — "
            + _SEE_TLS
        )
    if code == 400 and "SSL certificate" in text:
        return (
            f"{front} wants a client certificate ({text[:80]}): start the client with "
            f"--client-cert (and doctor from a computer that has one) — {_SEE_TLS}"
        )
    if code in (502, 504):
        return (
            f"{front} answered {response.status[9:]} to {what}: it cannot reach the Pocket "
            f"Relay server behind it — start pocketrelay-server, and check that proxy_pass "
            f"names the server's listen address — {_SEE_TLS}"
        )
    if code == 404:
        return (
            f"{front} answered 404 to {what}: this path does not reach the Pocket Relay "
            f"server — check the URL's path, and that the proxy passes every path to it "
            f"(nginx: location / with proxy_pass) — {_SEE_TLS}"
        )
    shown = f" ({text[:120]})" if text else ""
    return f"{front} answered {response.status[9:]} to {what}{shown}"


def upgradeProblem(response: HTTPResponse, kind: str = "blaze") -> str:
    """
    The sentence for an upgrade (to C{kind}) that was not answered 101.
    """
    code = response.code
    text = response.text
    directives = (
        "nginx needs `proxy_http_version 1.1`, `proxy_set_header Upgrade $http_upgrade` and "
        "`proxy_set_header Connection $connection_upgrade`"
    )
    if code == 426:
        if "HTTP/1.1" in text:
            return (
                f"the upgrade reached the server over HTTP/1.0 (it answered 426: {text}): the "
                f"proxy talks HTTP/1.0 to it — {directives} — {_SEE_TLS}"
            )
        if "HTTP/2" in text:
            return (
                f"the server cannot upgrade this connection (426: {text}): the proxy must "
                f"speak HTTP/1.1 to it — {directives} — {_SEE_TLS}"
            )
        reason = f" ({text})" if text else ""
        return (
            f"the proxy did not pass the upgrade on, so the server answered 426{reason}: "
            f"{directives} — {_SEE_TLS}"
        )
    if code in (429, 503) and "twisted" in (response.header("server") or "twisted").lower():
        return f"the server refused the connection ({code}: {text}): it is at a session limit"
    if 200 <= code < 300:
        return (
            f"the upgrade was answered {response.status[9:]} instead of 101 Switching Protocols: "
            f"something in front of the server answers without passing the upgrade on — "
            f"{directives} — {_SEE_TLS}"
        )
    if code in (404, 502, 504):
        return httpProblem(response, f"the {kind} upgrade")
    return (
        f"the {kind} upgrade was answered {response.status[9:]}"
        f"{f' ({text[:120]})' if text else ''} instead of 101 Switching Protocols: a proxy "
        f"that does not pass upgrades on — {directives} — {_SEE_TLS}"
    )


def upgradeHeld(what: str, timeout: float) -> str:
    """
    The sentence for an upgrade request that got no answer at all.

    The server answers an upgrade at once (101 or an error), so silence
    means a proxy holds the answer.  nginx does that with the server's
    C{101} when the request it received carried no C{Upgrade} header:
    it does not switch to a tunnel and waits for a final answer, keeping
    the 101 and every byte after it (C{tests.test_doctor_nginx} shows it
    with fixed upgrade headers behind a proxy that drops the player's).
    """
    return (
        f"no answer to {what} within {timeout:g} s: a proxy on the way holds the server's "
        f"101 Switching Protocols instead of switching to a tunnel, as nginx does when the "
        f"request it got carried no Upgrade header — every proxy must pass the player's own "
        f"headers on (nginx: `proxy_set_header Upgrade $http_upgrade` and `Connection "
        f"$connection_upgrade`, not fixed values, with `proxy_http_version 1.1`) — {_SEE_TLS}"
    )


def proxyAddressProblem(connectedTo: str, clientAddress: str | None) -> str | None:
    """
    The warning when the server believes a connection from outside came
    from its own host: a proxy on the server's host, without
    C{reverse_proxy}, makes every player look the same to the server.

    @param connectedTo: the address doctor connected to.
    @param clientAddress: the address the server says it sees.
    """

    if clientAddress is None:
        return None
    try:
        ours = ipaddress.ip_address(connectedTo)
        seen = ipaddress.ip_address(clientAddress)
    except ValueError:
        return None
    if ours.is_loopback or not seen.is_loopback:
        return None
    return (
        f"the server sees this computer as {clientAddress}, the address of a proxy on its own "
        f"host, and so sees every player there, which breaks games between them: set "
        f"reverse_proxy = true and trusted_proxies to the proxy's address (nginx: proxy_set_header "
        f"X-Real-IP $remote_addr) — {_SEE_TLS}"
    )


def proxyEvidence(
    response: HTTPResponse, connectedTo: str, clientAddress: str | None
) -> str | None:
    """
    What shows that C{GET /api/server} was answered through a reverse
    proxy, or L{None} when nothing does: a C{Via} header, a C{Server}
    header that is not the server's own (nginx, Caddy and Apache put
    their own name there), or a server at a public address that sees
    this computer at its own loopback address (L{proxyAddressProblem}).
    A proxy that passes the server's C{Server} header on and adds no
    C{Via} is not seen.

    @param connectedTo: the address doctor connected to.
    @param clientAddress: the address the server says it sees.
    """
    via = response.header("via")
    if via:
        return f"Via: {via}"
    server = response.header("server")
    if server and not server.startswith(SERVER_HEADER):
        return f"Server: {server}"
    if proxyAddressProblem(connectedTo, clientAddress) is not None:
        return f"the server sees you as {clientAddress}"
    return None


def idleRisk() -> str:
    """
    The warning for a server behind a reverse proxy when the silence was
    not checked: the proxy's read timeout may close the game's
    connection while it loads a level.
    """
    return (
        f"through a reverse proxy, an upgraded connection silent for longer than the proxy's "
        f"read timeout is closed (nginx's proxy_read_timeout defaults to 60 s; the game is "
        f"silent up to {GAME_SILENCE} s between pings): set proxy_read_timeout 1h — "
        f"{_SEE_TLS}; run doctor with --idle {IDLE_SUGGESTED} to check"
    )


def healthOutcome(response: HTTPResponse) -> Outcome:
    """
    Judge C{GET /api/server/health}: the database must answer; game data
    reported unusable (a file present that the server cannot use, with
    the reason) or incomplete is a warning, game data not reported is
    unknown.
    """
    if response.code == 404:
        return Outcome.skipped("this server has no health check (not pocketrelay?)")
    try:
        document = json.loads(response.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        document = None
    if not isinstance(document, dict):
        return Outcome.failed(httpProblem(response, "GET /api/server/health"))
    database = document.get("database")
    if response.code != 200 or document.get("status") != "ok":
        return Outcome.failed(
            f"the server's database does not answer (health says database: {database}): look "
            f"at the server's log, and at the disk and the database file — see "
            f"docs/operations.md",
            f"status {document.get('status')!r}, database {database!r}",
        )
    detail = f"database {database}, {document.get('sessions', '?')} sessions"
    gameData = document.get("game_data")
    if not isinstance(gameData, dict) or not isinstance(gameData.get("complete"), bool):
        return Outcome.passed(detail + ", game data: unknown (not reported)")
    unusable = gameData.get("unusable")
    unusableNames = [
        f"{entry.get('file')} ({entry.get('reason')})"
        for entry in (unusable if isinstance(unusable, list) else [])
        if isinstance(entry, dict)
    ]
    if unusableNames:
        return Outcome.warned(
            f"the server cannot use some of its game data ({'; '.join(unusableNames[:6])}); "
            f"the game gets the built-in fallback instead: replace it with "
            f"pocketrelay-admin game-data install --force — see docs/game-data.md",
            detail + ", game data unusable",
        )
    if not gameData["complete"]:
        missing = gameData.get("missing")
        names = (
            ", ".join(str(m) for m in missing[:6])
            if isinstance(missing, list) and missing
            else "some files"
        )
        return Outcome.warned(
            f"the server's game data is incomplete (missing {names}): install it with "
            f"pocketrelay-admin game-data install — see docs/game-data.md",
            detail + ", game data incomplete",
        )
    return Outcome.passed(detail + ", game data complete")


def _sslText(failure: Failure) -> str | None:
    from OpenSSL import SSL

    value = failure.value
    if not isinstance(value, SSL.Error):
        return None
    texts = []
    for arg in value.args:
        for entry in arg if isinstance(arg, list) else [arg]:
            texts.append(str(entry[-1]) if isinstance(entry, tuple) and entry else str(entry))
    return "; ".join(t for t in texts if t) or "TLS error"


def _connectionProblem(failure: Failure, address: str, port: int, timeout: float) -> str:
    """
    The sentence for a connection that could not be opened or broke
    before an answer.
    """
    where = f"{address} port {port}"
    if failure.check(error.ConnectionRefusedError):
        return (
            f"nothing accepts connections on {where}: start the server (or the proxy in front "
            f"of it), or fix the port in the URL (the server's listen setting; 443 behind nginx)"
        )
    if failure.check(error.TimeoutError, defer.TimeoutError, defer.CancelledError):
        return (
            f"no answer from {where} within {timeout:g} s: a firewall drops the connection, "
            f"or the router does not forward port {port} to the server"
        )
    if failure.check(error.NoRouteError):
        return f"no route to {where}: the address is wrong or the network is down"
    ssl = _sslText(failure)
    if ssl is not None:
        if any(m in ssl for m in ("wrong version number", "packet length too long", "record layer")):
            return (
                f"{where} does not speak TLS (it seems to answer plain HTTP): use http:// in "
                f"the URL, or put TLS on that port — {_SEE_TLS}"
            )
        if "certificate required" in ssl or "handshake failure" in ssl:
            return (
                f"the TLS handshake with {where} failed ({ssl}): the server may want a client "
                f"certificate (--client-cert for the client) or offer no protocol in common — "
                f"{_SEE_TLS}"
            )
        return f"the TLS handshake with {where} failed ({ssl}) — {_SEE_TLS}"
    if isinstance(failure.value, ProtocolError):
        received = failure.value.received
        if received[:1] == b"\x15" or received[:1] == b"\x16":
            return f"{where} answered in TLS: use https:// in the URL — {_SEE_TLS}"
        return f"{where} answered {failure.getErrorMessage()}: is this the right port?"
    if failure.check(error.ConnectionDone, error.ConnectionLost):
        return (
            f"{where} closed the connection without an answer: a proxy or firewall in front "
            f"cut it, or the port runs something else"
        )
    return f"cannot talk to {where}: {failure.getErrorMessage()}"


# -- the run


class _Run:
    """
    One run of the checks: what is known so far and each step.
    """

    def __init__(
        self,
        reactor: Any,
        url: ServerURL,
        settings: Settings,
        tls: ClientTLS,
        now: Callable[[], datetime.datetime],
        timer: Callable[[], float],
        progress: Callable[[Step], None] | None = None,
    ) -> None:
        self.reactor = reactor
        self.progress = progress
        self.trust = tls.trustRoot
        self.clientCertificate = tls.clientCertificate
        self.chain = tls.chain
        self.url = url
        self.settings = settings
        self.now = now
        self.timer = timer
        self.addresses: list[str] = []
        self.address = url.host
        self.session: TLSSession | None = None
        self.info: ServerInfo | None = None
        self.probe: BlazeProbe | None = None
        self.proxy: str | None = None
        self.steps: list[Step] = []
        self.blocked: str | None = None
        self.blockedBlaze: str | None = None

    # -- connections

    def _tls(self) -> PermissiveTLS | None:
        if not self.url.secure:
            return None
        return PermissiveTLS(self.url.host, self.clientCertificate, self.chain)

    async def _connect(self, protocol: Protocol) -> Protocol:
        d = connect(
            self.reactor, self.address, self.url.port, protocol,
            self.settings.connectTimeout, self._tls(),
        )
        try:
            return await d.addTimeout(self.settings.connectTimeout + 1, self.reactor)
        except Exception:
            raise _Failed(Outcome.failed(self._problem(Failure()))) from None

    def _problem(self, failure: Failure) -> str:
        return _connectionProblem(
            failure, self.address, self.url.port, self.settings.connectTimeout
        )

    async def _exchange(
        self, request: bytes, what: str, upgradeTo: Protocol | None = None
    ) -> HTTPResponse:
        """
        Send C{request} on a new connection and read the answer (an
        upgrade's head, with C{upgradeTo}).

        @raise _Failed: when there is no answer in time, or no connection.
        """
        exchange = HTTPExchange(request, upgradeTo)
        await self._connect(exchange)
        d = exchange.done
        timeout = self.settings.replyTimeout
        try:
            return await d.addTimeout(timeout, self.reactor)
        except defer.TimeoutError:
            if exchange.transport is not None:
                exchange.transport.abortConnection()  # type: ignore[attr-defined]
            if upgradeTo is not None:
                raise _Failed(Outcome.failed(upgradeHeld(what, timeout))) from None
            raise _Failed(Outcome.failed(
                f"no answer to {what} within {timeout:g} s: a proxy in front holds the request "
                f"(is it waiting for the server?) or the server is overloaded — look at the "
                f"proxy's and the server's logs"
            )) from None
        except Exception:
            raise _Failed(Outcome.failed(self._problem(Failure()))) from None

    def _request(self, method: str, path: str, body: bytes | None = None,
                 accept: str = "*/*") -> bytes:
        lines = [
            f"{method} {self.url.path}{path} HTTP/1.1",
            f"Host: {self.url.netloc}",
            f"User-Agent: {USER_AGENT} (doctor)",
            f"Accept: {accept}",
            "Connection: close",
        ]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + (body or b"")

    # -- the steps

    async def dns(self) -> Outcome:
        host = self.url.host
        try:
            found = await resolveHost(self.reactor, host, self.url.port).addTimeout(
                self.settings.connectTimeout, self.reactor
            )
        except Exception:
            found = []
        if not found:
            self.blocked = f"{host} does not resolve"
            return Outcome.failed(
                f"{host} does not resolve to an address: check the spelling of the URL and the "
                f"server's DNS record (an A record with its public address)"
            )
        self.addresses = found
        if isAddress(host):
            return Outcome.passed(f"{host} is an address")
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        return Outcome.passed(f"{host} is {found[0]}{more}")

    async def tcp(self) -> Outcome:
        problems = []
        for address in self.addresses[:4]:
            self.address = address
            protocol = Protocol()
            d = connect(self.reactor, address, self.url.port, protocol,
                        self.settings.connectTimeout)
            try:
                await d.addTimeout(self.settings.connectTimeout + 1, self.reactor)
            except Exception:
                problems.append(self._problem(Failure()))
                continue
            assert protocol.transport is not None
            protocol.transport.loseConnection()
            return Outcome.passed(f"{address} port {self.url.port}")
        self.address = self.addresses[0]
        self.blocked = "no TCP connection"
        return Outcome.failed(problems[0])

    async def tls(self) -> Outcome:
        if not self.url.secure:
            return Outcome.skipped("http:// URL: no TLS")
        probe = TLSProbe()
        await self._connectOrBlock(probe, "no TLS handshake")
        timeout = self.settings.connectTimeout
        try:
            session = await probe.done.addTimeout(timeout, self.reactor)
        except defer.TimeoutError:
            self.blocked = "no TLS handshake"
            if probe.transport is not None:
                probe.transport.abortConnection()  # type: ignore[attr-defined]
            return Outcome.failed(
                f"{self.address} port {self.url.port} accepted the connection but did not "
                f"answer the TLS handshake within {timeout:g} s: it does not speak TLS (a plain "
                f"HTTP port?) — use http:// in the URL, or put TLS on that port — {_SEE_TLS}"
            )
        except Exception:
            self.blocked = "no TLS handshake"
            return Outcome.failed(self._problem(Failure()))
        self.session = session
        detail = f"{session.version}, {session.cipher}"
        if session.version not in ("TLSv1.2", "TLSv1.3"):
            return Outcome.warned(
                f"{session.version} is obsolete and refused by up-to-date clients: allow "
                f"TLSv1.2 and TLSv1.3 (nginx: ssl_protocols TLSv1.2 TLSv1.3) — {_SEE_TLS}",
                detail,
            )
        return Outcome.passed(detail)

    async def _connectOrBlock(self, protocol: Protocol, blocked: str) -> None:
        try:
            await self._connect(protocol)
        except _Failed:
            self.blocked = blocked
            raise

    async def certificate(self) -> Outcome:
        if not self.url.secure:
            return Outcome.skipped("http:// URL: no certificate")
        assert self.session is not None
        return certificateProblem(
            self.session.chain, self.url.host, self.trust, self.now(), self.settings.warnDays
        )

    async def server(self) -> Outcome:
        self.blocked = "the server is not a usable Pocket Relay server"
        response = await self._exchange(
            self._request("GET", "api/server", accept="application/json"), "GET /api/server"
        )
        if not 200 <= response.code < 300:
            problem = httpProblem(response, "GET /api/server")
            if response.code not in (400, 502, 504):
                problem = self._notPocketRelay(f"GET /api/server answered {response.status[9:]}")
            raise _Failed(Outcome.failed(problem, response.status))
        try:
            info = parseServerInfo(
                self.url, response.code, response.status[13:].encode("latin-1"), response.body
            )
        except ServerTooOld as e:
            return Outcome.failed(
                f"the server runs Pocket Relay {e.version}, older than {_MIN_TEXT} that clients "
                f"need: update the server"
            )
        except NotPocketRelayServer as e:
            return Outcome.failed(self._notPocketRelay(e.detail), response.text[:60])
        self.info = info
        self.blocked = None
        parts = [f"Pocket Relay server {info.version}, compatible (clients need {_MIN_TEXT}+)"]
        if info.tunnelPort is not None:
            parts.append(f"UDP tunnel port {info.tunnelPort}")
        if info.clientAddress:
            parts.append(f"sees you as {info.clientAddress}")
        self.proxy = proxyEvidence(response, self.address, info.clientAddress)
        warning = proxyAddressProblem(self.address, info.clientAddress)
        if warning is not None:
            return Outcome.warned(warning, ", ".join(parts))
        return Outcome.passed(", ".join(parts))

    def _notPocketRelay(self, detail: str) -> str:
        return (
            f"{self.url} answers, but it is not a Pocket Relay server ({detail}): check the "
            f"URL's host, port and path, and that a proxy in front passes every path to "
            f"pocketrelay-server (nginx: location / with proxy_pass) — {_SEE_TLS}"
        )

    async def upgrade(self) -> Outcome:
        from pocketrelay.client.blazeproxy import upgradeRequest

        assert self.info is not None
        self.blockedBlaze = "no upgraded connection"
        probe = BlazeProbe(self.reactor)
        response = await self._exchange(
            upgradeRequest(self.url, self.info.association), "the Blaze upgrade", probe.protocol
        )
        if response.code != 101:
            return Outcome.failed(upgradeProblem(response), response.status)
        self.probe = probe
        self.blockedBlaze = None
        upgrade = (response.header("upgrade") or "").lower()
        connection = (response.header("connection") or "").lower()
        if "blaze" not in upgrade or "upgrade" not in connection:
            return Outcome.warned(
                f"the 101 answer says Upgrade: {upgrade or '(none)'}, Connection: "
                f"{connection or '(none)'}, not blaze and upgrade: a proxy rewrites the "
                f"answer's headers — {_SEE_TLS}",
                response.status,
            )
        return Outcome.passed(f"{response.status}, Upgrade: {response.header('upgrade')}")

    def _noReply(self, what: str) -> _Failed:
        timeout = self.settings.replyTimeout
        return _Failed(Outcome.failed(
            f"no Blaze reply to {what} within {timeout:g} s although the upgrade was accepted: "
            f"a proxy between you and the server buffers the upgraded connection instead of "
            f"passing bytes on at once — it must treat the upgrade as a tunnel (nginx: "
            f"`proxy_http_version 1.1`, `proxy_set_header Upgrade $http_upgrade` and "
            f"`Connection $connection_upgrade`, `proxy_buffering off`; other proxies: their "
            f"WebSocket or upgrade pass-through) — {_SEE_TLS}"
        ))

    async def _reply(self, d: defer.Deferred[Any], what: str) -> float:
        assert self.probe is not None
        started = self.timer()
        try:
            await d.addTimeout(self.settings.replyTimeout, self.reactor)
        except defer.TimeoutError:
            self.probe.close()
            raise self._noReply(what) from None
        except Exception as e:
            from pocketrelay.blaze.protocol import BlazeError

            if isinstance(e, BlazeError):
                raise _Failed(Outcome.failed(
                    f"the server answered {what} with Blaze error {e.args[0] if e.args else e}: "
                    f"look at the server's log"
                )) from None
            raise _Failed(Outcome.failed(
                f"the upgraded connection closed before the reply to {what}: a proxy or the "
                f"server cut it — look at the server's log ({e})"
            )) from None
        return self.timer() - started

    async def blaze(self) -> Outcome:
        probe = self.probe
        assert probe is not None
        try:
            self.blockedBlaze = "no Blaze reply"
            preAuth = await self._reply(probe.preAuth(), "preAuth")
            rtts = []
            for _ in range(self.settings.pings):
                rtts.append(await self._reply(probe.ping(), "a ping"))
            self.blockedBlaze = None
        finally:
            if self.blockedBlaze is not None or self.settings.idle <= 0:
                probe.close()
        detail = f"preAuth {_ms(preAuth)}"
        if rtts:
            average = sum(rtts) / len(rtts)
            detail += (f", {len(rtts)} pings: round trip {_ms(min(rtts))} min, "
                       f"{_ms(average)} average, {_ms(max(rtts))} max")
            if average > 0.5:
                return Outcome.warned(
                    f"Blaze round trips average {_ms(average)}: players will see lag and may "
                    f"time out (over about 500 ms); host the server closer to its players",
                    detail,
                )
        return Outcome.passed(detail)

    async def idle(self) -> Outcome:
        idle = self.settings.idle
        if idle <= 0:
            if self.proxy is not None:
                return Outcome.warned(
                    idleRisk(), f"not checked; a reverse proxy answers ({self.proxy})"
                )
            return Outcome.skipped(
                f"not checked (--idle {IDLE_SUGGESTED} checks that a proxy keeps a silent "
                f"game connection open)"
            )
        probe = self.probe
        assert probe is not None
        # As the game does while it loads a level: the server then allows
        # GAME_SILENCE s more than its limits.idle_timeout, so what closes
        # the connection during the silence is a proxy.
        # Its answer is an error frame, granted (PING_SUSPENDED) or not.
        from pocketrelay.blaze.protocol import BlazeError

        suspended = probe.suspendPing(GAME_SILENCE)
        suspended.addErrback(lambda failure: failure.trap(BlazeError) and None)
        await self._reply(suspended, "suspendUserPing")
        started = self.timer()
        closed: list[float] = []
        waited: defer.Deferred[None] = defer.Deferred()
        call = self.reactor.callLater(idle, waited.callback, None)

        def lost(_: None) -> None:
            closed.append(self.timer() - started)
            if not waited.called:
                call.cancel()
                waited.callback(None)

        probe.lost.addCallback(lost)
        try:
            await waited
            if closed:
                return Outcome.failed(
                    f"the game connection was closed after {closed[0]:.0f} s of silence: a "
                    f"proxy closes quiet upgraded connections (nginx: proxy_read_timeout, "
                    f"default 60 s) — set proxy_read_timeout 1h and proxy_send_timeout 1h — "
                    f"{_SEE_TLS}",
                    f"closed after {closed[0]:.1f} s",
                )
            rtt = await self._reply(probe.ping(), "a ping after the silence")
        finally:
            probe.close()
        return Outcome.passed(f"silent for {idle:g} s, then a ping answered in {_ms(rtt)}")

    async def udpTunnel(self) -> Outcome:
        info = self.info
        assert info is not None
        port = info.tunnelPort
        if port is None:
            return Outcome.warned(
                "the server offers no UDP tunnel (no tunnel_port in /api/server), so tunnelled "
                "games use the slower HTTP tunnel: set udp_tunnel.port (default 9032) and open "
                f"that UDP port — {_SEE_TUNNEL}",
                "no UDP tunnel offered",
            )
        if not info.association:
            return Outcome.skipped("no association token from /api/server")
        address = self.address
        if ":" in address:
            address = await defer.maybeDeferred(self.reactor.resolve, self.url.host)
        probe = UdpProbe(self.reactor, address, port, info.association)
        listening = self.reactor.listenUDP(0, probe)
        timeout = self.settings.udpTimeout
        fix = (
            f"open UDP port {port} in the server's firewall and forward it on the router (or "
            f"relay it with nginx's stream module); if players reach another port, set "
            f"udp_tunnel.external_port to it — {_SEE_TUNNEL}"
        )
        try:
            tunnelId = await probe.done.addTimeout(timeout, self.reactor)
        except UdpRefused:
            return Outcome.failed(
                f"UDP port {port} is not reachable on {address}: it was refused (nothing listens "
                f"there, or a firewall rejects it); {fix}",
                f"refused after {probe.sent} datagrams",
            )
        except defer.TimeoutError:
            return Outcome.failed(
                f"UDP port {port} is not reachable on {address}: no answer to {probe.sent} "
                f"tunnel request{'s' if probe.sent != 1 else ''} in {timeout:g} s; {fix}",
                f"no answer in {timeout:g} s",
            )
        finally:
            probe.stop()
            await defer.maybeDeferred(listening.stopListening)
        return Outcome.passed(f"{address} port {port} answered (tunnel {tunnelId})")

    async def httpTunnel(self) -> Outcome:
        from pocketrelay.client.tunnel import tunnelRequest

        info = self.info
        assert info is not None
        if not info.association:
            return Outcome.skipped("no association token from /api/server")
        inner = Protocol()
        response = await self._exchange(
            tunnelRequest(self.url, info.association), "the tunnel upgrade", inner
        )
        if inner.transport is not None:
            inner.transport.loseConnection()
        if response.code != 101:
            return Outcome.failed(upgradeProblem(response, "tunnel"), response.status)
        return Outcome.passed(response.status)

    async def _get(self, path: str, what: str) -> HTTPResponse:
        return await self._exchange(self._request("GET", path), what)

    async def gaw(self) -> Outcome:
        what = "GET /galaxyatwar/getRatings"
        response = await self._get("galaxyatwar/getRatings/doctor", what)
        if response.code == 200 and response.body.lstrip().startswith(b"<"):
            return Outcome.passed(f"{response.status[9:]}, XML")
        return Outcome.failed(httpProblem(response, what), response.status)

    async def qos(self) -> Outcome:
        what = "GET /qos/qos"
        response = await self._get("qos/qos?prpt=0&vers=12&qtyp=1", what)
        if response.code == 200 and b"<qos>" in response.body:
            return Outcome.passed(f"{response.status[9:]}, <qos>")
        return Outcome.failed(httpProblem(response, what), response.status)

    async def content(self) -> Outcome:
        what = "GET /content/"
        response = await self._get("content/", what)
        if response.code < 500:
            return Outcome.passed(f"answers ({response.status[9:]} for the folder itself)")
        return Outcome.failed(httpProblem(response, what), response.status)

    async def telemetry(self) -> Outcome:
        what = "POST /api/server/telemetry"
        body = json.dumps({"values": [["doctor", "pocketrelay-admin doctor"]]}).encode()
        response = await self._exchange(
            self._request("POST", "api/server/telemetry", body, "application/json"), what
        )
        if 200 <= response.code < 300:
            return Outcome.passed(response.status[9:])
        if response.code == 404:
            return Outcome.warned(
                "the server does not take telemetry (404): clients stop forwarding it; "
                "nothing is lost for play",
                response.status,
            )
        if response.code == 429:
            return Outcome.warned("telemetry is rate-limited for this address (429)",
                                  response.status)
        return Outcome.failed(httpProblem(response, what), response.status)

    async def health(self) -> Outcome:
        response = await self._get("api/server/health", "GET /api/server/health")
        return healthOutcome(response)

    # -- running

    async def run(self) -> Report:
        methods: dict[str, Callable[[], Coroutine[Any, Any, Outcome]]] = {
            "dns": self.dns, "tcp": self.tcp, "tls": self.tls,
            "certificate": self.certificate, "server": self.server,
            "upgrade": self.upgrade, "blaze": self.blaze, "idle": self.idle,
            "udp-tunnel": self.udpTunnel, "http-tunnel": self.httpTunnel,
            "gaw": self.gaw, "qos": self.qos, "content": self.content,
            "telemetry": self.telemetry, "health": self.health,
        }
        blazeSteps = ("blaze", "idle")
        for name, title in STEPS:
            if self.settings.stopAtFailure and self.steps and self.steps[-1].failed:
                self.blocked = self.blocked or "an earlier step failed"
            if name == "udp-tunnel" and self.info is not None and self.info.tunnelPort:
                title = f"UDP tunnel (port {self.info.tunnelPort})"
            blocked = self.blocked or (self.blockedBlaze if name in blazeSteps else None)
            started = self.timer()
            if blocked is not None:
                outcome = Outcome.skipped(f"not checked: {blocked}")
            else:
                try:
                    outcome = await methods[name]()
                except _Failed as e:
                    outcome = e.outcome
                except Exception:
                    log.failure("doctor: the {step} check failed unexpectedly", step=name)
                    outcome = Outcome.failed(
                        f"the check itself failed ({Failure().getErrorMessage()}): please "
                        f"report this"
                    )
            # The silence check counts when asked for (--idle).
            required = name not in _OPTIONAL or (name == "idle" and self.settings.idle > 0)
            if name == "http-tunnel":
                udp = self.steps[-1]
                required = udp.status is not Status.PASSED
            step = Step(
                name=name, title=title, status=outcome.status,
                seconds=self.timer() - started, detail=outcome.detail,
                diagnosis=outcome.diagnosis, required=required,
            )
            self.steps.append(step)
            if self.progress is not None:
                self.progress(step)
            if name == self.settings.lastStep:
                break
        if self.probe is not None:
            self.probe.close()
        return Report(str(self.url), tuple(self.steps))


def _utcNow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def runChecks(
    reactor: Any,
    url: str | ServerURL,
    settings: Settings = Settings(),
    tls: ClientTLS | None = None,
    now: Callable[[], datetime.datetime] = _utcNow,
    timer: Callable[[], float] = time.monotonic,
    progress: Callable[[Step], None] | None = None,
) -> defer.Deferred[Report]:
    """
    Check the Pocket Relay server at C{url} from here, the way a player's
    client reaches it.

    @param reactor: provides TCP, UDP, time and name resolution.
    @param url: the server URL as a player gives it (normalised as the
        client does) or a L{ServerURL}.
    @param tls: the client's TLS settings (trusted authorities, client
        certificate); by default the system's authorities plus
        C{settings.caFile}.
    @param now: the current time for certificate dates (aware datetime).
    @param timer: measures how long each step takes.
    @param progress: called with each L{Step} as soon as it is done (a
        window can show the checklist grow); it must not raise.
    @return: a L{Deferred} firing with the L{Report}; it fails only with
        L{BadServerURL} for a URL that cannot be used at all.
    """
    try:
        parsed = url if isinstance(url, ServerURL) else normaliseServerURL(url)
    except BadServerURL:
        return defer.fail()
    if tls is None:
        tls = ClientTLS(settings.caFile)
    run = _Run(reactor, parsed, settings, tls, now, timer, progress)
    return defer.ensureDeferred(run.run())


#: How the client checks a server it could not use at start-up: only the
#: steps up to C{/api/server}, stopping at the first failure.
STARTUP_SETTINGS = Settings(lastStep="server", stopAtFailure=True)


def explainStartup(
    reactor: Any, url: ServerURL, tls: ClientTLS, settings: Settings = STARTUP_SETTINGS
) -> defer.Deferred[Step | None]:
    """
    Find why the server at C{url} cannot be used: the first failing
    step of the checks up to C{GET /api/server}, the way the client
    connects (its trusted authorities and client certificate).

    @return: a L{Deferred} firing with that L{Step} (its C{diagnosis} is
        the sentence to show the player), or L{None} when every step
        passed this time; it never fails.
    """
    d = runChecks(reactor, url, settings, tls)

    def failed(failure: Failure) -> None:
        if not failure.check(defer.CancelledError):
            log.failure("doctor: checking the server failed", failure)
        return None

    return d.addCallbacks(lambda report: report.firstFailure, failed)
