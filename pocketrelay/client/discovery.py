# -*- test-case-name: tests.test_client_discovery -*-
"""
Finding and checking the Pocket Relay server, and reaching it over HTTP or
HTTPS.

  - L{normaliseServerURL} turns what the player typed into the base URL,
    the way the Pocket Relay client does: C{http://} is added when no
    scheme is given, a trailing C{/} is always added (so servers installed
    under a sub-path work), and an inferred scheme on port 443 becomes
    C{https}.
  - L{parseServerInfo} checks the answer to C{GET {base}api/server}: the
    C{ident} must be C{POCKET_RELAY_SERVER} and the C{version} a semantic
    version of at least L{MIN_SERVER_VERSION}.
  - L{discoverServer} does the request with a L{twisted.web.client.Agent}
    and turns every failure into one L{DiscoveryError} whose message is
    what the player reads.
  - L{ClientTLS} is the TLS policy of every connection to the server:
    the system's certificate authorities (Windows' store included, see
    L{PlatformTrust}) plus an optional extra CA file,
    host name checked with C{service_identity}, and an optional client
    certificate (PEM, or PKCS#12 like the Pocket Relay client's
    C{pocket-relay-identity.p12}).
"""

from __future__ import annotations

import ipaddress
import json
import re
import sys
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
from twisted.internet import defer, error
from twisted.internet._sslverify import IOpenSSLTrustRoot
from twisted.internet.interfaces import (
    IOpenSSLClientConnectionCreator,
    IReactorTime,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import (
    Agent,
    HTTPConnectionPool,
    IPolicyForHTTPS,
    ResponseDone,
    ResponseFailed,
    ResponseNeverReceived,
)
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgent, IResponse
from zope.interface import implementer

from pocketrelay import __version__
from pocketrelay.addresses import ipv4

__all__ = [
    "DISCOVERY_TIMEOUT",
    "MIN_SERVER_VERSION",
    "SERVER_IDENT",
    "USER_AGENT",
    "BadServerURL",
    "CertificateNotTrusted",
    "ClientTLS",
    "DiscoveryError",
    "NotPocketRelayServer",
    "PlatformTrust",
    "ServerInfo",
    "ServerTooOld",
    "ServerURL",
    "ServerUnreachable",
    "TLSConfigError",
    "discoverServer",
    "explainFailure",
    "loadClientTLS",
    "makeAgent",
    "normaliseServerURL",
    "parseServerInfo",
    "parseVersion",
    "readLimitedBody",
    "upstreamEndpoint",
]

#: What a Pocket Relay server answers in C{ident}.
SERVER_IDENT = "POCKET_RELAY_SERVER"

#: The oldest server version accepted (the Pocket Relay client's minimum).
MIN_SERVER_VERSION = (0, 5, 0)

#: Sent with every request to the server.
USER_AGENT = f"pocketrelay-client/{__version__}"

#: Seconds the whole discovery request may take.
DISCOVERY_TIMEOUT = 30.0

#: Seconds a TCP connection to the server may take to open.
CONNECT_TIMEOUT = 10.0

#: The largest answer to C{GET {base}api/server} read.
MAX_INFO_SIZE = 64 * 1024

_MIN_TEXT = ".".join(map(str, MIN_SERVER_VERSION))

log = Logger()


# -- errors


class DiscoveryError(Exception):
    """
    The server cannot be used.  C{str(error)} is the message for the
    player.
    """


class BadServerURL(DiscoveryError, ValueError):
    """
    What the player gave is not a usable server URL.
    """


class NotPocketRelayServer(DiscoveryError):
    """
    Something answered, but it is not a Pocket Relay server.
    """

    def __init__(self, url: object, detail: str) -> None:
        super().__init__(f"{url} is not a Pocket Relay server ({detail})")
        self.detail = detail


class ServerTooOld(DiscoveryError):
    """
    A Pocket Relay server older than L{MIN_SERVER_VERSION}.
    """

    def __init__(self, url: object, version: str) -> None:
        super().__init__(f"{url}: server too old (version {version}, need {_MIN_TEXT})")
        self.version = version


class ServerUnreachable(DiscoveryError):
    """
    No answer could be had from the server.
    """

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"cannot reach {host}: {reason}")
        self.host = host
        self.reason = reason


class CertificateNotTrusted(DiscoveryError):
    """
    The server's TLS certificate was not accepted.
    """

    def __init__(self, host: str, detail: str) -> None:
        super().__init__(
            f"certificate not trusted for {host}: {detail} (if the server uses "
            f"its own certificate authority, give its certificate with --ca-file)"
        )
        self.host = host
        self.detail = detail


class TLSConfigError(Exception):
    """
    A CA file or client certificate given on the command line cannot be
    used; the message says which file and why.
    """


# -- the URL


@attrs.frozen
class ServerURL:
    """
    The base URL of a Pocket Relay server.

    @ivar scheme: C{"http"} or C{"https"}.
    @ivar host: the host name (lower case, IDNA) or IP address (IPv6
        without brackets).
    @ivar port: the TCP port.
    @ivar path: the base path, starting and ending with C{/}.
    """

    scheme: str
    host: str
    port: int
    path: str = "/"

    @property
    def secure(self) -> bool:
        """
        Whether connections use TLS.
        """
        return self.scheme == "https"

    @property
    def netloc(self) -> str:
        """
        C{host} or C{host:port} when the port is not the scheme's default;
        IPv6 addresses in brackets.  This is also the C{Host} header.
        """
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.secure else 80
        return host if self.port == default else f"{host}:{self.port}"

    def child(self, relative: str) -> str:
        """
        The URL of C{relative} (a path, maybe with a query, without a
        leading C{/}) under this base.
        """
        return f"{self}{relative.lstrip('/')}"

    def __str__(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.path}"


_SAFE_PATH = "/%:@!$&'()*+,;=-._~"


def normaliseServerURL(text: str) -> ServerURL:
    """
    Turn what the player typed into the server's base URL.

    @raise BadServerURL: if it is not an http or https URL of a host.
    """
    given = text.strip()
    if not given:
        raise BadServerURL("the server URL is empty")
    lowered = given.lower()
    inferred = not lowered.startswith(("http://", "https://"))
    if inferred:
        if "://" in given:
            scheme = given.split("://", 1)[0]
            raise BadServerURL(f"unsupported scheme {scheme!r} in {given!r}: use http or https")
        given = "http://" + given
    try:
        parts = urllib.parse.urlsplit(given)
        port = parts.port
    except ValueError as e:
        raise BadServerURL(f"{text.strip()!r} is not a valid URL: {e}") from None
    scheme = parts.scheme.lower()
    if parts.username is not None or parts.password is not None:
        raise BadServerURL("the server URL must not contain a user name or password")
    if parts.query or parts.fragment or given.endswith(("?", "#")):
        raise BadServerURL("the server URL must not have a ?query or #fragment")
    host = parts.hostname or ""
    if not host:
        raise BadServerURL(f"{text.strip()!r} has no host name")
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise BadServerURL(f"{host!r} is not a valid host name") from None
        if not re.fullmatch(r"[a-z0-9._-]+", host):
            raise BadServerURL(f"{host!r} is not a valid host name")
    if port is None:
        port = 443 if scheme == "https" else 80
    elif port == 0:
        raise BadServerURL("port 0 is not a valid server port")
    if inferred and port == 443:
        scheme = "https"
    path = urllib.parse.quote(parts.path or "/", safe=_SAFE_PATH)
    if not path.startswith("/"):
        path = "/" + path
    if not path.endswith("/"):
        path += "/"
    return ServerURL(scheme, host, port, path)


# -- the answer


_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)


def parseVersion(text: str) -> tuple[int, int, int, bool]:
    """
    Parse a semantic version.

    @return: C{(major, minor, patch, release)}, where C{release} is false
        for a pre-release (C{0.5.0-beta} sorts before C{0.5.0}).
    @raise ValueError: if C{text} is not a semantic version.
    """
    match = _SEMVER.fullmatch(text) if len(text) <= 128 else None
    if match is None:
        raise ValueError(f"{text!r} is not a semantic version")
    major, minor, patch = (int(match.group(i)) for i in (1, 2, 3))
    return major, minor, patch, match.group(4) is None


def _optionalToken(value: object, limit: int = 1024) -> str | None:
    # Sent back in a header: printable ASCII without spaces only.
    if isinstance(value, str) and 0 < len(value) <= limit and re.fullmatch(r"[!-~]+", value):
        return value
    return None


def _optionalPort(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536:
        return value
    return None


@attrs.frozen
class ServerInfo:
    """
    A checked Pocket Relay server.

    @ivar url: its base URL.
    @ivar version: the version it reported.
    @ivar association: the association token it handed out (sent with
        each Blaze connection, used by the tunnel), if any.
    @ivar tunnelPort: its UDP tunnel port, if it has one.
    @ivar clientAddress: the IPv4 address the server sees this client
        at, if it said (pocketrelay servers do).
    """

    url: ServerURL
    version: str
    association: str | None = None
    tunnelPort: int | None = None
    clientAddress: str | None = None


def parseServerInfo(url: ServerURL, code: int, phrase: bytes, body: bytes) -> ServerInfo:
    """
    Check the answer to C{GET {base}api/server}.

    Optional fields (C{association}, C{tunnel_port}, C{client_address})
    that are missing or of the wrong type are treated as absent.

    @raise NotPocketRelayServer: if it is not a 2xx JSON object with the
        Pocket Relay C{ident} and a semantic C{version}.
    @raise ServerTooOld: if the version is below L{MIN_SERVER_VERSION}.
    """
    if not 200 <= code < 300:
        status = f"{code} {phrase.decode('latin-1')}".strip()
        raise NotPocketRelayServer(url, f"GET {url.child('api/server')} answered HTTP {status}")
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise NotPocketRelayServer(url, "its answer to api/server is not JSON") from None
    if not isinstance(value, dict):
        raise NotPocketRelayServer(url, "its answer to api/server is not a JSON object")
    ident = value.get("ident")
    if ident != SERVER_IDENT:
        detail = "no ident" if ident is None else f"ident {str(ident)[:64]!r}"
        raise NotPocketRelayServer(url, detail)
    version = value.get("version")
    if not isinstance(version, str):
        raise NotPocketRelayServer(url, "no version")
    try:
        parsed = parseVersion(version)
    except ValueError:
        raise NotPocketRelayServer(url, f"version {version[:64]!r} is not a semantic version") from None
    if parsed < (*MIN_SERVER_VERSION, True):
        raise ServerTooOld(url, version)
    return ServerInfo(
        url=url,
        version=version,
        association=_optionalToken(value.get("association")),
        tunnelPort=_optionalPort(value.get("tunnel_port")),
        clientAddress=ipv4(value.get("client_address")),
    )


# -- TLS


#: The extended key usage that lets a certificate authority vouch for
#: servers, in Windows' certificate store.
_SERVER_AUTH = "1.3.6.1.5.5.7.3.1"


def _windowsStoreCertificates(enumerateStore: Callable[[str], Any] | None = None) -> list[bytes]:
    """
    The DER certificates Windows trusts for server authentication, from
    its C{ROOT} and C{CA} stores.
    """
    if enumerateStore is None:
        import ssl

        enumerateStore = getattr(ssl, "enum_certificates", None)
        if enumerateStore is None:
            return []
    found = []
    for store in ("ROOT", "CA"):
        try:
            entries = enumerateStore(store)
        except OSError:
            continue
        for der, encoding, trust in entries:
            if encoding == "x509_asn" and (trust is True or _SERVER_AUTH in trust):
                found.append(bytes(der))
    return found


@implementer(IOpenSSLTrustRoot)
class PlatformTrust:
    """
    The certificate authorities the system trusts, plus those of an
    optional PEM file.

    OpenSSL's default verify paths cover Linux and most Unix systems; they
    are empty on Windows, so there the certificates of Windows' own store
    are added as well (Twisted's L{platformTrust} does not do this).

    @ivar caFile: the extra PEM file, or L{None}.
    """

    def __init__(
        self,
        caFile: str | None = None,
        platform: str | None = None,
        enumerateStore: Callable[[str], Any] | None = None,
    ) -> None:
        self.caFile = caFile
        self.platform = sys.platform if platform is None else platform
        self._enumerate = enumerateStore

    def _addCACertsToContext(self, context: Any) -> None:
        context.set_default_verify_paths()
        if self.platform.startswith("win"):
            from cryptography import x509
            from OpenSSL import crypto

            store = context.get_cert_store()
            for der in _windowsStoreCertificates(self._enumerate):
                try:
                    certificate = crypto.X509.from_cryptography(x509.load_der_x509_certificate(der))
                    store.add_cert(certificate)
                except (ValueError, crypto.Error):
                    # Unparsable, or already present.
                    continue
        if self.caFile:
            context.load_verify_locations(self.caFile.encode("utf-8"))


def _read(path: str, what: str, limit: int = 1 << 20) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise TLSConfigError(f"cannot read the {what} {path}: {e.strerror or e}") from None
    if len(data) > limit:
        raise TLSConfigError(f"the {what} {path} is larger than {limit} bytes")
    return data


def _checkCAFile(path: str) -> None:
    from cryptography import x509

    data = _read(path, "CA file")
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise TLSConfigError(f"the CA file {path} holds no PEM certificate: {e}") from None
    if not certificates:
        raise TLSConfigError(f"the CA file {path} holds no PEM certificate")


def _password(password: str | None) -> bytes | None:
    return password.encode("utf-8") if password else None


def _loadIdentity(
    certPath: str, keyPath: str | None, password: str | None
) -> tuple[Any, Any, list[Any]]:
    """
    The client key, certificate and extra chain, as C{cryptography}
    objects.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    data = _read(certPath, "client certificate")
    if b"-----BEGIN" not in data:
        # PKCS#12; the Pocket Relay client's identity file has a blank
        # password, so try none, then empty, when none is given.
        attempts = [_password(password)] if password else [None, b""]
        problem: Exception | None = None
        for attempt in attempts:
            try:
                key, certificate, extra = pkcs12.load_key_and_certificates(data, attempt)
                break
            except (ValueError, TypeError) as e:
                problem = e
        else:
            raise TLSConfigError(
                f"cannot load the PKCS#12 client certificate {certPath}: {problem} "
                f"(wrong --client-cert-password?)"
            )
        if key is None or certificate is None:
            raise TLSConfigError(f"{certPath} does not hold both a certificate and its key")
        return key, certificate, list(extra)
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise TLSConfigError(f"cannot load the client certificate {certPath}: {e}") from None
    keyData = _read(keyPath, "client key") if keyPath else data
    try:
        key = serialization.load_pem_private_key(keyData, _password(password))
    except (ValueError, TypeError) as e:
        where = keyPath or certPath
        hint = "" if keyPath else " (give the key with --client-key)"
        raise TLSConfigError(f"cannot load the client key from {where}: {e}{hint}") from None
    return key, certificates[0], certificates[1:]


def _matches(key: Any, certificate: Any) -> bool:
    from cryptography.hazmat.primitives import serialization

    def spki(public: Any) -> bytes:
        return bytes(
            public.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    return spki(key.public_key()) == spki(certificate.public_key())


@implementer(IPolicyForHTTPS)
class ClientTLS:
    """
    How connections to the server are secured: the server's certificate
    must chain to a trusted authority (the platform's, plus an optional CA
    file) and name the host; an optional client certificate is presented.

    Also an L{IPolicyForHTTPS} for L{Agent}.

    @ivar caFile: the extra CA file (PEM), or L{None}.
    @ivar clientCertificate: a L{twisted.internet.ssl.PrivateCertificate},
        or L{None}.
    @ivar chain: extra certificates sent after the client certificate
        (pyOpenSSL C{X509} objects).
    """

    def __init__(
        self,
        caFile: str | None = None,
        clientCertificate: Any = None,
        chain: Sequence[Any] = (),
    ) -> None:
        self.caFile = caFile
        self.clientCertificate = clientCertificate
        self.chain = list(chain)
        self.trustRoot: IOpenSSLTrustRoot = PlatformTrust(caFile)
        self._creators: dict[str, IOpenSSLClientConnectionCreator] = {}

    def creatorFor(self, host: str) -> IOpenSSLClientConnectionCreator:
        """
        The connection creator for C{host} (cached, so the TLS context is
        made once per host).
        """
        creator = self._creators.get(host)
        if creator is None:
            from twisted.internet.ssl import optionsForClientTLS

            extra: dict[str, Any] = {}
            if self.chain:
                extra["extraCertChain"] = list(self.chain)
            creator = optionsForClientTLS(
                host,
                trustRoot=self.trustRoot,
                clientCertificate=self.clientCertificate,
                extraCertificateOptions=extra,
            )
            self._creators[host] = creator
        return creator

    def creatorForNetloc(self, hostname: bytes, port: int) -> IOpenSSLClientConnectionCreator:
        return self.creatorFor(hostname.decode("ascii"))


def loadClientTLS(
    caFile: str | None = None,
    clientCert: str | None = None,
    clientKey: str | None = None,
    password: str | None = None,
) -> ClientTLS:
    """
    Build the L{ClientTLS} from the command-line files.

    @param caFile: extra trusted CA certificates, PEM.
    @param clientCert: the client certificate: PEM (the key in the same
        file or in C{clientKey}, extra chain certificates after the first)
        or PKCS#12 (key and chain included).
    @param clientKey: the PEM private key, if not in C{clientCert}.
    @param password: the PKCS#12 or key password; a PKCS#12 file without
        one is tried with none and with an empty one.
    @raise TLSConfigError: if a file cannot be read or used.
    """
    if caFile is not None:
        _checkCAFile(caFile)
    if clientCert is None:
        if clientKey is not None:
            raise TLSConfigError("--client-key needs --client-cert")
        return ClientTLS(caFile)
    from OpenSSL import crypto
    from twisted.internet.ssl import Certificate, KeyPair, PrivateCertificate

    key, certificate, extra = _loadIdentity(clientCert, clientKey, password)
    if not _matches(key, certificate):
        raise TLSConfigError(f"the client key does not match the certificate in {clientCert}")
    private = PrivateCertificate.fromCertificateAndKeyPair(
        Certificate(crypto.X509.from_cryptography(certificate)),
        KeyPair(crypto.PKey.from_cryptography_key(key)),
    )
    chain = [crypto.X509.from_cryptography(c) for c in extra]
    return ClientTLS(caFile, private, chain)


# -- reaching the server


def makeAgent(
    reactor: Any, tls: ClientTLS, persistent: bool = False, connectTimeout: float = CONNECT_TIMEOUT
) -> tuple[IAgent, HTTPConnectionPool]:
    """
    An L{Agent} for the server with its connection pool (close the pool's
    cached connections when done).
    """
    pool = HTTPConnectionPool(reactor, persistent=persistent)
    pool.maxPersistentPerHost = 4
    pool.retryAutomatically = False
    agent = Agent(reactor, contextFactory=tls, connectTimeout=connectTimeout, pool=pool)
    return agent, pool


def upstreamEndpoint(
    reactor: Any, url: ServerURL, tls: ClientTLS, timeout: float = CONNECT_TIMEOUT
) -> IStreamClientEndpoint:
    """
    The endpoint of a raw connection to the server: TCP, wrapped in TLS
    for C{https}.
    """
    from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS

    endpoint: IStreamClientEndpoint = HostnameEndpoint(reactor, url.host, url.port, timeout=timeout)
    if url.secure:
        endpoint = wrapClientTLS(tls.creatorFor(url.host), endpoint)
    return endpoint


def _leaves(failure: Failure) -> Iterator[Failure]:
    value = failure.value
    if isinstance(value, (ResponseNeverReceived, ResponseFailed)):
        for reason in value.reasons:
            yield from _leaves(reason)
        return
    nested = getattr(value, "reasons", None)
    if isinstance(nested, list) and nested and all(isinstance(r, Failure) for r in nested):
        for reason in nested:
            yield from _leaves(reason)
        return
    yield failure


def _sslText(value: BaseException) -> str:
    texts = []
    for arg in value.args:
        if isinstance(arg, list):
            for entry in arg:
                if isinstance(entry, tuple) and entry:
                    texts.append(str(entry[-1]))
                else:
                    texts.append(str(entry))
        else:
            texts.append(str(arg))
    return "; ".join(t for t in texts if t) or type(value).__name__


def explainFailure(failure: Failure, host: str) -> DiscoveryError:
    """
    Turn the failure of a connection or request to the server into the
    L{DiscoveryError} the player reads.
    """
    from OpenSSL import SSL
    from service_identity import VerificationError

    if isinstance(failure.value, DiscoveryError):
        return failure.value
    leaves = list(_leaves(failure)) or [failure]
    for leaf in leaves:
        value = leaf.value
        if isinstance(value, VerificationError):
            return CertificateNotTrusted(host, f"the certificate is not valid for {host}")
        if isinstance(value, SSL.Error):
            text = _sslText(value)
            if "certificate verify failed" in text:
                return CertificateNotTrusted(host, "the certificate's authority is not trusted")
            if "certificate required" in text or "handshake failure" in text:
                text += " (does the server want a client certificate? see --client-cert)"
            return ServerUnreachable(host, f"TLS failed: {text}")
    value = leaves[0].value
    if isinstance(value, error.DNSLookupError):
        return ServerUnreachable(host, "the host name could not be resolved")
    if isinstance(value, error.ConnectionRefusedError):
        return ServerUnreachable(host, "connection refused")
    if isinstance(value, (error.TimeoutError, defer.TimeoutError)):
        return ServerUnreachable(host, "the connection timed out")
    if isinstance(value, error.NoRouteError):
        return ServerUnreachable(host, "no route to host")
    if isinstance(value, (error.ConnectionDone, error.ConnectionLost, PotentialDataLoss)):
        return ServerUnreachable(host, "the connection was closed before an answer came")
    if isinstance(value, error.ConnectError) and value.osError is not None:
        return ServerUnreachable(host, str(getattr(value.osError, "strerror", value.osError)))
    text = str(value) or type(value).__name__
    return ServerUnreachable(host, text)


class _BodyTooLarge(Exception):
    pass


class _LimitedBody(Protocol):
    def __init__(self, limit: int, finished: defer.Deferred[bytes]) -> None:
        self.limit = limit
        self.finished = finished
        self.parts: list[bytes] = []
        self.size = 0

    def dataReceived(self, data: bytes) -> None:
        if self.finished.called:
            return
        self.size += len(data)
        if self.size > self.limit:
            self.transport.stopProducing()  # type: ignore[union-attr]
            self.finished.errback(_BodyTooLarge(self.limit))
            return
        self.parts.append(data)

    def connectionLost(self, reason: Failure = Failure(ResponseDone())) -> None:  # noqa: B008
        if self.finished.called:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            self.finished.callback(b"".join(self.parts))
        else:
            self.finished.errback(reason)


def readLimitedBody(response: IResponse, limit: int) -> defer.Deferred[bytes]:
    """
    Read a response body of at most C{limit} bytes; a longer one fails
    with an internal error after the connection is dropped.
    """
    def cancel(d: defer.Deferred[bytes]) -> None:
        if protocol.transport is not None:
            protocol.transport.stopProducing()  # type: ignore[attr-defined]

    finished: defer.Deferred[bytes] = defer.Deferred(cancel)
    protocol = _LimitedBody(limit, finished)
    response.deliverBody(protocol)
    return finished


def discoverServer(
    agent: IAgent,
    url: ServerURL,
    clock: IReactorTime,
    timeout: float = DISCOVERY_TIMEOUT,
) -> defer.Deferred[ServerInfo]:
    """
    Ask the server who it is: C{GET {base}api/server}.

    @return: a L{Deferred} firing with the L{ServerInfo}, or failing with a
        L{DiscoveryError} (L{NotPocketRelayServer}, L{ServerTooOld},
        L{ServerUnreachable} or L{CertificateNotTrusted}).
    """
    target = url.child("api/server").encode("ascii")
    headers = Headers({b"accept": [b"application/json"], b"user-agent": [USER_AGENT.encode()]})

    def received(response: IResponse) -> defer.Deferred[ServerInfo]:
        body = readLimitedBody(response, MAX_INFO_SIZE)

        def tooLarge(failure: Failure) -> Failure:
            if failure.check(_BodyTooLarge):
                raise NotPocketRelayServer(url, f"its answer is larger than {MAX_INFO_SIZE} bytes")
            return failure

        body.addErrback(tooLarge)
        return body.addCallback(
            lambda data: parseServerInfo(url, response.code, response.phrase, data)
        )

    timedOut = False

    def expire() -> None:
        nonlocal timedOut
        timedOut = True
        d.cancel()

    timer = clock.callLater(timeout, expire)

    def finished(result: object) -> object:
        if timer.active():
            timer.cancel()
        return result

    def failed(failure: Failure) -> Failure:
        if timedOut:
            raise ServerUnreachable(url.netloc, f"no answer within {timeout:g} seconds")
        if failure.check(DiscoveryError, defer.CancelledError):
            return failure
        if any(leaf.check(defer.CancelledError) for leaf in _leaves(failure)):
            raise defer.CancelledError()
        raise explainFailure(failure, url.netloc)

    d: defer.Deferred[Any] = agent.request(b"GET", target, headers)
    d.addCallback(received)
    d.addBoth(finished)
    d.addErrback(failed)
    return d
