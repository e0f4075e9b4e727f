# -*- test-case-name: tests.test_client_discovery -*-
"""
L{TestPKI}: a throw-away certificate authority that issues server and
client certificates, for tests of the client's TLS set-up.
"""

from __future__ import annotations

import os
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from twisted.internet import ssl

from pocketrelay.testing.tlsca import (
    certificateName,
    keyPem,
    pem,
    signCertificate,
    writeFile,
)

__all__ = ["TestPKI"]


class TestPKI:
    """
    A certificate authority made for one test, in C{directory}: a single
    root that signs directly (unlike L{pocketrelay.testing.tlsca.TestCA},
    which signs servers with an intermediate), its certificates made by
    L{signCertificate}.

    @ivar caPath: the CA certificate, PEM.
    """

    def __init__(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self.caKey = ec.generate_private_key(ec.SECP256R1())
        name = certificateName("pocketrelay test CA")
        self.caCert = signCertificate(
            name, self.caKey.public_key(), name, self.caKey, ca=True)
        self.caPath = self.write("ca.pem", pem(self.caCert))

    def write(self, name: str, data: bytes) -> str:
        """
        Write a file in the directory and return its path.
        """
        return writeFile(self.directory, name, data)

    def issue(
        self, commonName: str, names: tuple[str, ...] = (), addresses: tuple[str, ...] = (),
        client: bool = False,
    ) -> tuple[x509.Certificate, Any]:
        """
        A certificate (and its key) signed by this CA.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = signCertificate(
            certificateName(commonName), key.public_key(), self.caCert.subject, self.caKey,
            ca=False, dnsNames=names, addresses=addresses,
            usage=ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH,
        )
        return certificate, key

    def issueFiles(self, stem: str, *args: Any, **kwargs: Any) -> tuple[str, str]:
        """
        L{issue}, written as C{stem.pem} (certificate) and C{stem.key}.
        """
        certificate, key = self.issue(*args, **kwargs)
        return self.write(f"{stem}.pem", pem(certificate)), self.write(f"{stem}.key", keyPem(key))

    def serverOptions(self, certPath: str, keyPath: str, requireClient: bool = False) -> Any:
        """
        Twisted TLS server options for a certificate issued by L{issueFiles}.
        """
        with open(certPath, "rb") as f:
            certificate = f.read()
        with open(keyPath, "rb") as f:
            key = f.read()
        private = ssl.PrivateCertificate.loadPEM(certificate + key)
        if requireClient:
            with open(self.caPath, "rb") as f:
                ca = ssl.Certificate.loadPEM(f.read())
            return private.options(ca)
        return private.options()
