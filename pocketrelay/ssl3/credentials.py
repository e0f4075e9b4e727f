# -*- test-case-name: tests.test_ssl3 -*-
"""
The server identity and the tlslite-ng settings for SSL 3.0 with RC4.

The certificate the game accepts has its outer C{signatureAlgorithm} set
to rsaEncryption (see L{pocketrelay.client.certificate}), an OID that
tlslite-ng 0.8's X.509 parser does not know (it raises C{KeyError}).
Rather than register that OID in tlslite's global table, L{loadCertificate}
parses a copy whose outer OID is md5WithRSA and then puts the original
bytes back, so that the patched certificate is what goes on the wire.
"""

from __future__ import annotations

from typing import Any

import attrs
from tlslite.api import X509, HandshakeSettings, X509CertChain, parsePEMKey
from tlslite.utils.pem import dePem

from pocketrelay.ssl3 import der

__all__ = [
    "SSLv3Credentials",
    "clientSettings",
    "loadCertificate",
    "serverSettings",
]


def serverSettings() -> HandshakeSettings:
    """
    tlslite-ng server settings that accept exactly what the game offers:
    SSL 3.0, RSA key exchange, RC4-128 with SHA-1 (0x0005, preferred) or MD5
    (0x0004) MACs.  No session cache is used, so the session ID in the
    ServerHello stays empty, as blaze-ssl-async sends it.
    """
    settings = HandshakeSettings()
    settings.minVersion = (3, 0)
    settings.maxVersion = (3, 0)
    settings.cipherNames = ["rc4"]
    settings.macNames = ["sha", "md5"]
    settings.keyExchangeNames = ["rsa"]
    return settings


def clientSettings() -> HandshakeSettings:
    """
    tlslite-ng client settings that offer what the game offers: SSL 3.0,
    RSA, RC4-128 with SHA-1 or MD5.  For tests and simulated game clients.
    """
    settings = serverSettings()
    return settings


def _certificateDER(certificate: bytes | str) -> bytes:
    if isinstance(certificate, str):
        certificate = certificate.encode("ascii")
    if certificate.lstrip().startswith(b"-----BEGIN"):
        try:
            return bytes(dePem(certificate.decode("ascii"), "CERTIFICATE"))
        except (SyntaxError, ValueError, UnicodeDecodeError) as e:
            raise ValueError(f"not a PEM certificate: {e}") from None
    return certificate


def loadCertificate(certificate: bytes | str) -> X509:
    """
    Parse a certificate (PEM or DER) for tlslite-ng, accepting an outer
    C{signatureAlgorithm} of rsaEncryption.  The returned object sends the
    original bytes.

    @raise ValueError: if the certificate cannot be parsed.
    """
    raw = _certificateDER(certificate)
    try:
        outer = der.outerSignatureAlgorithm(raw)
        parseable = raw
        if outer == der.RSA_ENCRYPTION:
            parseable = der.replaceOuterSignatureAlgorithm(raw, der.MD5_WITH_RSA)
    except der.DERError as e:
        raise ValueError(f"not a certificate: {e}") from None
    x509 = X509()
    try:
        x509.parseBinary(parseable)
    except Exception as e:
        raise ValueError(f"tlslite-ng cannot parse the certificate: {e!r}") from None
    x509.bytes = bytearray(raw)
    return x509


@attrs.frozen
class SSLv3Credentials:
    """
    What the SSL 3.0 server presents: a certificate chain and its key, in
    tlslite-ng's types.

    @ivar certChain: a tlslite C{X509CertChain}.
    @ivar privateKey: a tlslite C{RSAKey}.
    """

    certChain: Any
    privateKey: Any

    @classmethod
    def fromPEM(cls, certificate: bytes | str, key: bytes | str) -> SSLv3Credentials:
        """
        Build credentials from a certificate (PEM or DER) and a PEM private
        key (PKCS#1 or PKCS#8, unencrypted).

        @raise ValueError: if either cannot be parsed or they do not match.
        """
        x509 = loadCertificate(certificate)
        if isinstance(key, bytes):
            key = key.decode("ascii", "replace")
        try:
            privateKey = parsePEMKey(key, private=True)
        except Exception as e:
            raise ValueError(f"not a PEM private key: {e!r}") from None
        if privateKey is None or not privateKey.hasPrivateKey():
            raise ValueError("not a PEM private key")
        publicKey = x509.publicKey
        if (int(publicKey.n), int(publicKey.e)) != (
            int(privateKey.n),
            int(privateKey.e),
        ):
            raise ValueError("the private key does not match the certificate")
        return cls(X509CertChain([x509]), privateKey)
