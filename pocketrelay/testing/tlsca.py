# -*- test-case-name: tests.test_tls -*-
"""
L{TestCA}: a root and an intermediate certificate authority made for one
test, which issue server and client certificates written as PEM files
(L{TestCA.issue}, L{issueCertificate} for other names and validity
periods).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Iterable
from typing import Any

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "ServerFiles", "TestCA", "certificateName", "issueCertificate", "keyPem", "keyUsage", "pem",
    "signCertificate", "writeFile",
]


def certificateName(common: str) -> x509.Name:
    """
    A subject or issuer name with only a common name.
    """
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def keyUsage(ca: bool) -> x509.KeyUsage:
    """
    The key usage of a CA (signs certificates) or of an end entity.
    """
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )


def pem(certificate: x509.Certificate) -> bytes:
    """
    C{certificate} in PEM.
    """
    return certificate.public_bytes(serialization.Encoding.PEM)


def keyPem(key: Any) -> bytes:
    """
    The private C{key} in unencrypted PKCS#8 PEM.
    """
    return bytes(key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))


def writeFile(directory: str, name: str, data: bytes) -> str:
    """
    Write the file C{name} in C{directory} (mode 0600) and return its path.
    """
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def signCertificate(
    subject: x509.Name, publicKey: Any, issuer: x509.Name, issuerKey: Any, ca: bool,
    dnsNames: Iterable[str] = (), addresses: Iterable[str] = (), usage: Any = None,
    validFor: tuple[float, float] = (-1, 30),
) -> x509.Certificate:
    """
    The one place test certificates are made: a certificate for
    C{publicKey} signed by C{issuerKey}, with basic constraints, key usage,
    key identifiers, an optional extended key usage and subject alternative
    names, valid from C{validFor[0]} to C{validFor[1]} days from now.
    """
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(publicKey)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=validFor[0]))
        .not_valid_after(now + datetime.timedelta(days=validFor[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(keyUsage(ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(publicKey), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuerKey.public_key()),
            critical=False,
        )
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dnsNames]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuerKey, hashes.SHA256())


class TestCA:
    """
    A root certificate authority and an intermediate one, made for one
    test with C{cryptography}, writing PEM files into C{directory}.

    @ivar rootPath: the root certificate (what clients are given with
        C{--ca-file}).
    @ivar chainPath: the intermediate certificate (what a server sends
        after its own).
    """

    def __init__(self, directory: str) -> None:
        self.directory = os.path.abspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.rootKey = ec.generate_private_key(ec.SECP256R1())
        self.root = signCertificate(
            certificateName("pocketrelay test root CA"), self.rootKey.public_key(),
            certificateName("pocketrelay test root CA"), self.rootKey, ca=True,
        )
        self.intermediateKey = ec.generate_private_key(ec.SECP256R1())
        self.intermediate = signCertificate(
            certificateName("pocketrelay test intermediate CA"), self.intermediateKey.public_key(),
            self.root.subject, self.rootKey, ca=True,
        )
        self.rootPath = self.write("root.pem", pem(self.root))
        self.chainPath = self.write("chain.pem", pem(self.intermediate))

    def write(self, name: str, data: bytes) -> str:
        """
        Write a file in the directory (mode 0600) and return its path.
        """
        return writeFile(self.directory, name, data)

    def issue(self, stem: str, client: bool = False) -> ServerFiles:
        """
        A certificate for 127.0.0.1 (an IP address subject alternative
        name) signed by the intermediate, or a client certificate signed by
        the root, written as C{stem.pem} (the certificate alone),
        C{stem-fullchain.pem} (certificate and intermediate) and
        C{stem.key}.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        if client:
            certificate = signCertificate(
                certificateName(stem), key.public_key(), self.root.subject, self.rootKey, ca=False,
                usage=ExtendedKeyUsageOID.CLIENT_AUTH,
            )
        else:
            certificate = signCertificate(
                certificateName(stem), key.public_key(), self.intermediate.subject,
                self.intermediateKey, ca=False, addresses=("127.0.0.1",),
                usage=ExtendedKeyUsageOID.SERVER_AUTH,
            )
        return self.writeFiles(stem, certificate, key)

    def writeFiles(self, stem: str, certificate: x509.Certificate, key: Any) -> ServerFiles:
        """
        Write C{certificate} as C{stem.pem}, with the intermediate as
        C{stem-fullchain.pem}, and C{key} as C{stem.key}.
        """
        return ServerFiles(
            certificate=self.write(f"{stem}.pem", pem(certificate)),
            fullchain=self.write(f"{stem}-fullchain.pem",
                                 pem(certificate) + pem(self.intermediate)),
            key=self.write(f"{stem}.key", keyPem(key)),
            serial=certificate.serial_number,
        )


@attrs.frozen
class ServerFiles:
    """
    The files of one issued certificate.
    """

    certificate: str
    fullchain: str
    key: str
    serial: int


def issueCertificate(
    ca: TestCA,
    stem: str,
    dnsNames: Iterable[str] = (),
    addresses: Iterable[str] = ("127.0.0.1",),
    validFor: tuple[float, float] = (-1, 30),
) -> tuple[str, str, str]:
    """
    A server certificate from C{ca}'s intermediate, valid from
    C{validFor[0]} to C{validFor[1]} days from now.

    @return: the paths of the certificate alone, the full chain and the
        key.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = signCertificate(
        certificateName(stem), key.public_key(), ca.intermediate.subject, ca.intermediateKey,
        ca=False, dnsNames=dnsNames, addresses=addresses, usage=ExtendedKeyUsageOID.SERVER_AUTH,
        validFor=validFor,
    )
    files = ca.writeFiles(stem, certificate, key)
    return files.certificate, files.fullchain, files.key
