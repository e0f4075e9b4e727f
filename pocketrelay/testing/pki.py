# -*- test-case-name: tests.test_client_discovery -*-
"""
L{TestPKI}: a throw-away certificate authority that issues server and
client certificates, for tests of the client's TLS set-up.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from twisted.internet import ssl

__all__ = ["TestPKI"]


class TestPKI:
    """
    A certificate authority made for one test, in C{directory}.

    @ivar caPath: the CA certificate, PEM.
    """

    def __init__(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self.caKey = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pocketrelay test CA")])
        now = datetime.datetime.now(datetime.UTC)
        self.caCert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.caKey.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True,
                    crl_sign=True, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.caKey.public_key()),
                critical=False,
            )
            .sign(self.caKey, hashes.SHA256())
        )
        self.caPath = self.write("ca.pem", self.caCert.public_bytes(serialization.Encoding.PEM))

    def write(self, name: str, data: bytes) -> str:
        path = os.path.join(self.directory, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def issue(
        self, commonName: str, names: tuple[str, ...] = (), addresses: tuple[str, ...] = (),
        client: bool = False,
    ) -> tuple[Any, Any]:
        """
        A certificate (and its key) signed by this CA.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        alternatives: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
        alternatives += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, commonName)]))
            .issuer_name(self.caCert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.caKey.public_key()),
                critical=False,
            )
        )
        if alternatives:
            builder = builder.add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        return builder.sign(self.caKey, hashes.SHA256()), key

    def issueFiles(self, stem: str, *args: Any, **kwargs: Any) -> tuple[str, str]:
        """
        L{issue}, written as C{stem.pem} (certificate) and C{stem.key}.
        """
        certificate, key = self.issue(*args, **kwargs)
        certPath = self.write(f"{stem}.pem", certificate.public_bytes(serialization.Encoding.PEM))
        keyPath = self.write(
            f"{stem}.key",
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        return certPath, keyPath

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
