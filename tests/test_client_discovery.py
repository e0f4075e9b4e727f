# -*- test-case-name: tests.test_client_discovery -*-
"""
Tests for L{pocketrelay.client.discovery}: URL normalisation, the server
check, TLS set-up, and discovery over loopback HTTP and HTTPS.
"""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from OpenSSL import SSL
from service_identity import VerificationError
from twisted.internet import defer, error
from twisted.internet import reactor as _reactor
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import ResponseNeverReceived
from twisted.web.resource import Resource

from pocketrelay.client import discovery
from pocketrelay.client.discovery import (
    BadServerURL,
    CertificateNotTrusted,
    NotPocketRelayServer,
    ServerTooOld,
    ServerUnreachable,
    ServerURL,
    TLSConfigError,
    discoverServer,
    explainFailure,
    loadClientTLS,
    makeAgent,
    normaliseServerURL,
    parseServerInfo,
    parseVersion,
)
from pocketrelay.testing.fakes import FakeServerResource
from pocketrelay.testing.loopback import closedPort, listenSite
from pocketrelay.testing.pki import TestPKI

#: The global reactor, typed loosely (its interfaces are split in stubs).
reactor: Any = _reactor

# -- shared helpers


def agentFor(testCase: TestCase, tls: discovery.ClientTLS | None = None) -> Any:
    agent, pool = makeAgent(reactor, tls or loadClientTLS())
    testCase.addCleanup(pool.closeCachedConnections)
    return agent


# -- tests


class NormaliseTests(SynchronousTestCase):
    """
    L{normaliseServerURL} follows the Pocket Relay client's rules.
    """

    def test_noScheme(self) -> None:
        """
        Without a scheme, C{http://} is assumed and a slash added.
        """
        self.assertEqual(str(normaliseServerURL("me3.example.org")), "http://me3.example.org/")
        self.assertEqual(
            normaliseServerURL("me3.example.org:8080"),
            ServerURL("http", "me3.example.org", 8080, "/"),
        )

    def test_inferredPort443(self) -> None:
        """
        An inferred scheme on port 443 becomes https; an explicit http on
        443 stays http.
        """
        self.assertEqual(str(normaliseServerURL("me3.example.org:443")), "https://me3.example.org/")
        self.assertEqual(
            str(normaliseServerURL("http://me3.example.org:443")), "http://me3.example.org:443/"
        )

    def test_explicitSchemes(self) -> None:
        """
        http and https keep their default ports, in any letter case.
        """
        url = normaliseServerURL("HTTPS://ME3.Example.org")
        self.assertEqual((url.scheme, url.host, url.port), ("https", "me3.example.org", 443))
        self.assertEqual(normaliseServerURL("http://h").port, 80)

    def test_trailingSlash(self) -> None:
        """
        A slash is always added, so a sub-path install is a directory.
        """
        self.assertEqual(str(normaliseServerURL("h/relay")), "http://h/relay/")
        self.assertEqual(str(normaliseServerURL("h/relay/")), "http://h/relay/")
        self.assertEqual(normaliseServerURL("h/relay").child("api/server"), "http://h/relay/api/server")

    def test_addresses(self) -> None:
        """
        IPv4 and bracketed IPv6 addresses work; the netloc brackets IPv6.
        """
        self.assertEqual(str(normaliseServerURL("127.0.0.1:8080")), "http://127.0.0.1:8080/")
        url = normaliseServerURL("[::1]:8080")
        self.assertEqual(url.host, "::1")
        self.assertEqual(url.netloc, "[::1]:8080")

    def test_whitespace(self) -> None:
        """
        Surrounding whitespace is ignored.
        """
        self.assertEqual(str(normaliseServerURL("  h  ")), "http://h/")

    def test_bad(self) -> None:
        """
        Unusable input raises L{BadServerURL} with a reason.
        """
        for text in ("", "   ", "ftp://h", "http://", "http://u:p@h/", "h/?x=1",
                     "h#frag", "h:0", "h:99999", "h:port", "bad host"):
            self.assertRaises(BadServerURL, normaliseServerURL, text)


class VersionTests(SynchronousTestCase):
    """
    L{parseVersion}.
    """

    def test_valid(self) -> None:
        """
        Release and pre-release versions parse; pre-releases sort first.
        """
        self.assertEqual(parseVersion("0.5.0"), (0, 5, 0, True))
        self.assertEqual(parseVersion("1.2.3-beta.1+build"), (1, 2, 3, False))
        self.assertLess(parseVersion("0.5.0-beta"), parseVersion("0.5.0"))

    def test_invalid(self) -> None:
        """
        Anything else raises L{ValueError}.
        """
        for text in ("0.5", "v0.5.0", "01.0.0", "0.5.0-", "x", "1" * 200 + ".0.0"):
            self.assertRaises(ValueError, parseVersion, text)


URL = normaliseServerURL("me3.example.org")


def _answer(**changes: Any) -> bytes:
    value: dict[str, Any] = {"ident": "POCKET_RELAY_SERVER", "version": "0.8.1"}
    value.update(changes)
    return json.dumps({k: v for k, v in value.items() if v is not ...}).encode()


class ParseServerInfoTests(SynchronousTestCase):
    """
    L{parseServerInfo} accepts Pocket Relay servers only.
    """

    def test_complete(self) -> None:
        """
        All fields are kept.
        """
        info = parseServerInfo(
            URL, 200, b"OK",
            _answer(association="abc.def", tunnel_port=9032, client_address="203.0.113.7"),
        )
        self.assertEqual(info.version, "0.8.1")
        self.assertEqual(info.association, "abc.def")
        self.assertEqual(info.tunnelPort, 9032)
        self.assertEqual(info.clientAddress, "203.0.113.7")
        self.assertEqual(info.url, URL)

    def test_minimal(self) -> None:
        """
        The optional fields may be missing or null.
        """
        info = parseServerInfo(URL, 200, b"OK", _answer(tunnel_port=None))
        self.assertEqual((info.association, info.tunnelPort, info.clientAddress), (None, None, None))

    def test_badOptionalFields(self) -> None:
        """
        Optional fields of the wrong kind are ignored; an IPv4-mapped IPv6
        address is reported as IPv4.
        """
        info = parseServerInfo(
            URL, 200, b"OK",
            _answer(association="has space", tunnel_port=True, client_address="::ffff:10.0.0.2"),
        )
        self.assertEqual((info.association, info.tunnelPort, info.clientAddress),
                         (None, None, "10.0.0.2"))
        info = parseServerInfo(URL, 200, b"OK", _answer(tunnel_port=70000, client_address="::1"))
        self.assertEqual((info.tunnelPort, info.clientAddress), (None, None))

    def test_notPocketRelay(self) -> None:
        """
        A non-2xx status, non-JSON, a non-object, a missing or different
        ident, or an unparsable version: "not a Pocket Relay server".
        """
        for code, body in (
            (404, b"not found"),
            (200, b"<html>"),
            (200, b"[1, 2]"),
            (200, b"\xff"),
            (200, _answer(ident=...)),
            (200, _answer(ident="SOMETHING_ELSE")),
            (200, _answer(version=...)),
            (200, _answer(version=5)),
            (200, _answer(version="five")),
        ):
            e = self.assertRaises(NotPocketRelayServer, parseServerInfo, URL, code, b"X", body)
            self.assertIn("http://me3.example.org/ is not a Pocket Relay server", str(e))

    def test_tooOld(self) -> None:
        """
        Versions below 0.5.0 (pre-releases of 0.5.0 included) are too old.
        """
        for version in ("0.4.9", "0.5.0-beta", "0.1.0"):
            e = self.assertRaises(
                ServerTooOld, parseServerInfo, URL, 200, b"OK", _answer(version=version)
            )
            self.assertIn(f"server too old (version {version}, need 0.5.0)", str(e))
        parseServerInfo(URL, 200, b"OK", _answer(version="0.5.0"))


class ExplainFailureTests(SynchronousTestCase):
    """
    L{explainFailure} gives one readable reason.
    """

    def explain(self, exception: BaseException) -> str:
        return str(explainFailure(Failure(exception), "h:1"))

    def test_connection(self) -> None:
        """
        Refused, unknown host, timeout.
        """
        self.assertEqual(self.explain(error.ConnectionRefusedError()),
                         "cannot reach h:1: connection refused")
        self.assertIn("could not be resolved", self.explain(error.DNSLookupError("h")))
        self.assertIn("timed out", self.explain(error.TimeoutError()))

    def test_tls(self) -> None:
        """
        Certificate problems, wrapped by the agent or not, are "not
        trusted"; other TLS errors are "cannot reach".
        """
        verify = SSL.Error([("SSL routines", "", "certificate verify failed")])
        wrapped = ResponseNeverReceived([Failure(verify)])
        self.assertIn("certificate not trusted for h:1", self.explain(wrapped))
        self.assertIn("certificate not trusted for h:1",
                      self.explain(ResponseNeverReceived([Failure(VerificationError([]))])))
        other = self.explain(SSL.Error([("SSL routines", "", "tlsv13 alert certificate required")]))
        self.assertTrue(other.startswith("cannot reach h:1: TLS failed"), other)
        self.assertIn("--client-cert", other)


class LoadClientTLSTests(SynchronousTestCase):
    """
    L{loadClientTLS} checks its files and says what is wrong.
    """

    def setUp(self) -> None:
        self.pki = TestPKI(self.mktemp())

    def test_defaults(self) -> None:
        """
        No files: platform trust, no client certificate.
        """
        tls = loadClientTLS()
        self.assertIsNone(tls.clientCertificate)
        self.assertIsNotNone(tls.creatorFor("example.org"))

    def test_pemIdentity(self) -> None:
        """
        A PEM certificate with its key in another file, or in the same.
        """
        cert, key = self.pki.issueFiles("client", "player", client=True)
        tls = loadClientTLS(self.pki.caPath, cert, key)
        self.assertIsNotNone(tls.clientCertificate)
        with open(cert, "rb") as f, open(key, "rb") as g:
            both = self.pki.write("both.pem", f.read() + g.read())
        self.assertIsNotNone(loadClientTLS(None, both).clientCertificate)

    def test_pkcs12(self) -> None:
        """
        A PKCS#12 file with a blank password (the Pocket Relay client's
        kind) or a given one; a wrong password is reported.
        """
        certificate, key = self.pki.issue("player", client=True)
        blank = self.pki.write("blank.p12", pkcs12.serialize_key_and_certificates(
            b"id", key, certificate, [self.pki.caCert], serialization.NoEncryption()))
        tls = loadClientTLS(None, blank)
        self.assertIsNotNone(tls.clientCertificate)
        self.assertEqual(len(tls.chain), 1)
        locked = self.pki.write("locked.p12", pkcs12.serialize_key_and_certificates(
            b"id", key, certificate, None, serialization.BestAvailableEncryption(b"pw")))
        self.assertIsNotNone(loadClientTLS(None, locked, password="pw").clientCertificate)
        e = self.assertRaises(TLSConfigError, loadClientTLS, None, locked, password="nope")
        self.assertIn("locked.p12", str(e))

    def test_errors(self) -> None:
        """
        Missing files, a key that does not match, a CA file without
        certificates, a key without certificate.
        """
        cert, key = self.pki.issueFiles("client", "player", client=True)
        _, otherKey = self.pki.issueFiles("other", "someone", client=True)
        missing = os.path.join(self.pki.directory, "missing.pem")
        for kwargs, text in (
            ({"caFile": missing}, "cannot read the CA file"),
            ({"caFile": key}, "holds no PEM certificate"),
            ({"clientCert": missing}, "cannot read the client certificate"),
            ({"clientCert": cert}, "--client-key"),
            ({"clientCert": cert, "clientKey": otherKey}, "does not match"),
            ({"clientKey": key}, "--client-key needs --client-cert"),
        ):
            e = self.assertRaises(TLSConfigError, loadClientTLS, **kwargs)
            self.assertIn(text, str(e))


class PlatformTrustTests(SynchronousTestCase):
    """
    L{discovery.PlatformTrust} adds Windows' store on Windows.
    """

    def verifies(self, context: Any, certificate: Any) -> bool:
        from OpenSSL import crypto

        try:
            crypto.X509StoreContext(
                context.get_cert_store(), crypto.X509.from_cryptography(certificate)
            ).verify_certificate()
        except crypto.X509StoreContextError:
            return False
        return True

    def test_windowsStore(self) -> None:
        """
        Authorities Windows trusts for servers (for every purpose or with
        the server-auth usage) are trusted; those for other purposes, other
        encodings and unparsable entries are skipped; duplicates are fine.
        """
        trusted = TestPKI(self.mktemp())
        emailOnly = TestPKI(self.mktemp())
        serverAuth = TestPKI(self.mktemp())
        der = serialization.Encoding.DER
        stores = {
            "ROOT": [
                (trusted.caCert.public_bytes(der), "x509_asn", True),
                (emailOnly.caCert.public_bytes(der), "x509_asn", {"1.3.6.1.5.5.7.3.4"}),
                (b"garbage", "x509_asn", True),
                (trusted.caCert.public_bytes(der), "pkcs_7_asn", True),
            ],
            "CA": [
                (serverAuth.caCert.public_bytes(der), "x509_asn", {"1.3.6.1.5.5.7.3.1"}),
                (trusted.caCert.public_bytes(der), "x509_asn", True),
            ],
        }
        trust = discovery.PlatformTrust(platform="win32", enumerateStore=stores.__getitem__)
        context = SSL.Context(SSL.TLS_METHOD)
        trust._addCACertsToContext(context)
        self.assertTrue(self.verifies(context, trusted.issue("a", ("a.example",))[0]))
        self.assertTrue(self.verifies(context, serverAuth.issue("b", ("b.example",))[0]))
        self.assertFalse(self.verifies(context, emailOnly.issue("c", ("c.example",))[0]))

    def test_otherPlatforms(self) -> None:
        """
        Elsewhere Windows' store is not asked for; the CA file is added.
        """
        pki = TestPKI(self.mktemp())

        def enumerateStore(name: str) -> Any:
            raise AssertionError("not on Windows")

        trust = discovery.PlatformTrust(pki.caPath, platform="linux", enumerateStore=enumerateStore)
        context = SSL.Context(SSL.TLS_METHOD)
        trust._addCACertsToContext(context)
        self.assertTrue(self.verifies(context, pki.issue("a", ("a.example",))[0]))


class DiscoveryTests(TestCase):
    """
    L{discoverServer} over loopback HTTP.
    """

    timeout = 30

    def discover(self, resource: Resource, path: str = "", **kwargs: Any) -> defer.Deferred[Any]:
        port = listenSite(self, resource)
        url = normaliseServerURL(f"127.0.0.1:{port}{path}")
        return discoverServer(agentFor(self), url, reactor, **kwargs)

    @defer.inlineCallbacks
    def test_found(self) -> Any:
        """
        A Pocket Relay server: its info, asked for with JSON accepted and
        our User-Agent.
        """
        resource = FakeServerResource()
        info = yield self.discover(resource)
        self.assertEqual(info.version, "0.9.0")
        self.assertEqual(info.association, "token.signature")
        self.assertEqual(info.tunnelPort, 9032)
        self.assertEqual(info.clientAddress, "203.0.113.7")
        request = resource.requests[0]
        self.assertEqual(request.path, b"/api/server")
        self.assertEqual(request.getHeader(b"accept"), b"application/json")
        self.assertTrue((request.getHeader(b"user-agent") or b"").startswith(b"pocketrelay-client/"))

    @defer.inlineCallbacks
    def test_subPath(self) -> Any:
        """
        A server under a sub-path is asked at {base}api/server.
        """
        root = Resource()
        resource = FakeServerResource()
        relay = Resource()
        api = Resource()
        root.putChild(b"relay", relay)
        relay.putChild(b"api", api)
        api.putChild(b"server", resource)
        yield self.discover(root, "/relay")
        self.assertEqual(resource.requests[0].path, b"/relay/api/server")

    @defer.inlineCallbacks
    def test_notPocketRelay(self) -> Any:
        """
        Another web server, or a 404: "not a Pocket Relay server".
        """
        e = yield self.assertFailure(self.discover(FakeServerResource(b"<html>hello")),
                                     NotPocketRelayServer)
        self.assertIn("not a Pocket Relay server", str(e))
        e = yield self.assertFailure(self.discover(Resource()), NotPocketRelayServer)
        self.assertIn("404", str(e))

    @defer.inlineCallbacks
    def test_tooOld(self) -> Any:
        """
        An old server: "server too old".
        """
        e = yield self.assertFailure(
            self.discover(FakeServerResource({"ident": "POCKET_RELAY_SERVER", "version": "0.4.0"})),
            ServerTooOld,
        )
        self.assertIn("server too old (version 0.4.0, need 0.5.0)", str(e))

    @defer.inlineCallbacks
    def test_tooLarge(self) -> Any:
        """
        An endless answer is cut off.
        """
        e = yield self.assertFailure(self.discover(FakeServerResource(b" " * 200_000)),
                                     NotPocketRelayServer)
        self.assertIn("larger than", str(e))

    @defer.inlineCallbacks
    def test_unreachable(self) -> Any:
        """
        Nothing listening: "cannot reach HOST: connection refused".
        """
        port = closedPort()
        url = normaliseServerURL(f"127.0.0.1:{port}")
        e = yield self.assertFailure(discoverServer(agentFor(self), url, reactor), ServerUnreachable)
        self.assertEqual(str(e), f"cannot reach 127.0.0.1:{port}: connection refused")

    @defer.inlineCallbacks
    def test_timeout(self) -> Any:
        """
        A server that never answers: "cannot reach", with the time waited.
        """
        e = yield self.assertFailure(
            self.discover(FakeServerResource(hang=True), timeout=0.3), ServerUnreachable
        )
        self.assertIn("no answer within 0.3 seconds", str(e))


class HTTPSDiscoveryTests(TestCase):
    """
    L{discoverServer} over loopback HTTPS, with certificate checks.
    """

    timeout = 30

    def setUp(self) -> None:
        self.pki = TestPKI(self.mktemp())

    def serve(self, requireClient: bool = False, addresses: tuple[str, ...] = ("127.0.0.1",)) -> ServerURL:
        cert, key = self.pki.issueFiles("server", "server", addresses=addresses)
        port = listenSite(self, FakeServerResource(),
                          self.pki.serverOptions(cert, key, requireClient=requireClient))
        return normaliseServerURL(f"https://127.0.0.1:{port}")

    @defer.inlineCallbacks
    def test_trustedCA(self) -> Any:
        """
        A server certificate from the CA given with --ca-file is accepted.
        """
        url = self.serve()
        info = yield discoverServer(agentFor(self, loadClientTLS(self.pki.caPath)), url, reactor)
        self.assertEqual(info.version, "0.9.0")

    @defer.inlineCallbacks
    def test_untrustedCA(self) -> Any:
        """
        Without the CA: "certificate not trusted for HOST".
        """
        url = self.serve()
        e = yield self.assertFailure(discoverServer(agentFor(self), url, reactor),
                                     CertificateNotTrusted)
        self.assertIn(f"certificate not trusted for {url.netloc}", str(e))
        self.assertIn("--ca-file", str(e))

    @defer.inlineCallbacks
    def test_wrongName(self) -> Any:
        """
        A trusted certificate for another address is not accepted.
        """
        url = self.serve(addresses=("127.0.0.2",))
        e = yield self.assertFailure(
            discoverServer(agentFor(self, loadClientTLS(self.pki.caPath)), url, reactor),
            CertificateNotTrusted,
        )
        self.assertIn("not valid for 127.0.0.1", str(e))

    @defer.inlineCallbacks
    def test_clientCertificate(self) -> Any:
        """
        A server that requires a client certificate accepts ours (PEM or
        PKCS#12) and turns away a client without one.
        """
        url = self.serve(requireClient=True)
        cert, key = self.pki.issueFiles("client", "player", client=True)
        info = yield discoverServer(
            agentFor(self, loadClientTLS(self.pki.caPath, cert, key)), url, reactor
        )
        self.assertEqual(info.version, "0.9.0")
        certificate, privateKey = self.pki.issue("player2", client=True)
        p12 = self.pki.write("id.p12", pkcs12.serialize_key_and_certificates(
            b"id", privateKey, certificate, None, serialization.NoEncryption()))
        info = yield discoverServer(
            agentFor(self, loadClientTLS(self.pki.caPath, p12)), url, reactor
        )
        self.assertEqual(info.version, "0.9.0")
        yield self.assertFailure(
            discoverServer(agentFor(self, loadClientTLS(self.pki.caPath)), url, reactor),
            ServerUnreachable,
        )
