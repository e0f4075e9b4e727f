# -*- test-case-name: tests.test_redirector -*-
"""
The redirector's certificate: made on first run, kept in the client's data
directory, reused afterwards.

Mass Effect 3 checks the redirector's certificate with EA's ProtoSSL,
whose flaw makes a certificate pass when:
  - the issuer DN equals, field by field, the OTG3 CA compiled into the
    game;
  - the signature is as long as that CA's modulus (128 bytes: sign with
    any 1024-bit RSA key);
  - the outer C{signatureAlgorithm} (the copy after the TBS part, which
    ProtoSSL does not validate) is an OID ProtoSSL has no hash for, so it
    compares zero bytes of hash;
  - the subject CN is C{gosredirector.ea.com} and the certificate parses.

L{generateCertificate} builds exactly that, from scratch: an X.509 v1
certificate signed with md5WithRSA by its own fresh 1024-bit key, whose
outer algorithm is rsaEncryption.  No certificate or key is copied from
anywhere.
"""

from __future__ import annotations

import datetime
import os
import secrets

import attrs
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from twisted.logger import Logger

from pocketrelay.files import writeAtomically
from pocketrelay.ssl3 import der

__all__ = [
    "CERTIFICATE_FILE",
    "ISSUER",
    "KEY_FILE",
    "KEY_SIZE",
    "NOT_AFTER",
    "SUBJECT",
    "CertificateError",
    "CertificateStore",
    "RedirectorCertificate",
    "checkCertificate",
    "generateCertificate",
]

#: The file names in the data directory.
CERTIFICATE_FILE = "redirector-certificate.pem"
KEY_FILE = "redirector-key.pem"

#: The key size that gives the 128-byte signature the game expects.
KEY_SIZE = 1024

_C, _ST, _L, _O, _OU, _CN = (
    "2.5.4.6",
    "2.5.4.8",
    "2.5.4.7",
    "2.5.4.10",
    "2.5.4.11",
    "2.5.4.3",
)

#: The issuer DN: EA's OTG3 CA, as the game knows it.
ISSUER = (
    (_C, "US"),
    (_ST, "California"),
    (_L, "Redwood City"),
    (_O, "Electronic Arts, Inc."),
    (_OU, "Online Technology Group"),
    (_CN, "OTG3 Certificate Authority"),
)

#: The subject DN of EA's redirector.
SUBJECT = (
    (_C, "US"),
    (_ST, "California"),
    (_O, "Electronic Arts, Inc."),
    (_OU, "Global Online Studio"),
    (_CN, "gosredirector.ea.com"),
)

#: The end of validity: the last instant a UTCTime can express.
NOT_AFTER = datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)


class CertificateError(ValueError):
    """
    A stored certificate or key is missing, unreadable or not the kind the
    game accepts.
    """


@attrs.frozen
class RedirectorCertificate:
    """
    The redirector's identity.

    @ivar certificate: the certificate, PEM.
    @ivar key: its private key, PKCS#8 PEM.
    @ivar created: it was made by this call rather than loaded.
    """

    certificate: bytes
    key: bytes
    created: bool = False


def generateCertificate(
    key: rsa.RSAPrivateKey | None = None,
    now: datetime.datetime | None = None,
    serial: int | None = None,
) -> tuple[bytes, rsa.RSAPrivateKey]:
    """
    Build a certificate the game accepts.

    @param key: the 1024-bit RSA key to certify and sign with; a new one
        if L{None}.
    @param now: the generation time (the certificate is valid from a day
        before it); the current time if L{None}.
    @param serial: the serial number; 16 random bytes if L{None}.
    @return: the DER certificate and its key.
    """
    if key is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    if key.key_size != KEY_SIZE:
        raise CertificateError(f"the key must have {KEY_SIZE} bits, not {key.key_size}")
    if now is None:
        now = datetime.datetime.now(datetime.UTC)
    notBefore = (now - datetime.timedelta(days=1)).replace(microsecond=0)
    if serial is None:
        serial = int.from_bytes(secrets.token_bytes(16), "big") >> 1 | 1 << 126
    publicKeyInfo = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    tbs = der.sequence(
        # No [0] version: X.509 v1, like the certificate shipped with
        # blaze-ssl-async.
        der.integer(serial),
        der.algorithmIdentifier(der.MD5_WITH_RSA),
        der.name(ISSUER),
        der.sequence(der.utcTime(notBefore), der.utcTime(NOT_AFTER)),
        der.name(SUBJECT),
        publicKeyInfo,
    )
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.MD5())
    certificate = der.sequence(
        tbs,
        # The trick: rsaEncryption names no hash, so ProtoSSL checks none.
        der.algorithmIdentifier(der.RSA_ENCRYPTION),
        der.bitString(signature),
    )
    return certificate, key


def _pem(kind: str, data: bytes) -> bytes:
    import base64
    import textwrap

    body = "\n".join(textwrap.wrap(base64.b64encode(data).decode("ascii"), 64))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n".encode("ascii")


def _unpem(kind: str, data: bytes) -> bytes:
    import base64
    import binascii

    begin = f"-----BEGIN {kind}-----".encode("ascii")
    end = f"-----END {kind}-----".encode("ascii")
    start = data.find(begin)
    stop = data.find(end, start + 1)
    if start < 0 or stop < 0:
        raise CertificateError(f"no PEM {kind} block")
    try:
        return base64.b64decode(
            b"".join(data[start + len(begin) : stop].split()), validate=True
        )
    except binascii.Error as e:
        raise CertificateError(f"bad PEM {kind} block: {e}") from None


def checkCertificate(certificate: bytes, key: bytes) -> None:
    """
    Check that a PEM certificate and PEM key are a pair the game accepts:
    the issuer and subject above, a 1024-bit RSA key that matches, a
    signature of 128 bytes and rsaEncryption as outer algorithm.

    @raise CertificateError: saying what is wrong.
    """
    raw = _unpem("CERTIFICATE", certificate)
    try:
        if der.outerSignatureAlgorithm(raw) != der.RSA_ENCRYPTION:
            raise CertificateError("the outer signature algorithm is not rsaEncryption")
        root = der.readElement(raw)
        tbsElement, _, signatureElement = der.children(raw, root)
        fields = der.children(raw, tbsElement)
        if fields and fields[0].tag == 0xA0:
            fields = fields[1:]
        if len(fields) < 6:
            raise CertificateError("the TBS part is incomplete")
        issuer, subject, publicKeyInfo = fields[2], fields[4], fields[5]
        if raw[issuer.start : issuer.end] != der.name(ISSUER):
            raise CertificateError("the issuer is not the OTG3 CA")
        if raw[subject.start : subject.end] != der.name(SUBJECT):
            raise CertificateError("the subject is not gosredirector.ea.com")
        signatureLength = signatureElement.end - signatureElement.contentStart - 1
        if signatureLength != KEY_SIZE // 8:
            raise CertificateError(
                f"the signature has {signatureLength} bytes, not 128"
            )
        spki = raw[publicKeyInfo.start : publicKeyInfo.end]
    except der.DERError as e:
        raise CertificateError(f"the certificate does not parse: {e}") from None
    except ValueError as e:
        raise CertificateError(f"the certificate does not parse: {e}") from None
    try:
        privateKey = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError) as e:
        raise CertificateError(f"the key does not load: {e}") from None
    if not isinstance(privateKey, rsa.RSAPrivateKey) or privateKey.key_size != KEY_SIZE:
        raise CertificateError(f"the key is not a {KEY_SIZE}-bit RSA key")
    mine = privateKey.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if mine != spki:
        raise CertificateError("the key does not match the certificate")


@attrs.define
class CertificateStore:
    """
    Keeps the redirector's certificate and key in a directory.

    @ivar directory: the client's data directory.
    """

    directory: str
    log = Logger()

    @property
    def certificatePath(self) -> str:
        return os.path.join(self.directory, CERTIFICATE_FILE)

    @property
    def keyPath(self) -> str:
        return os.path.join(self.directory, KEY_FILE)

    def load(self) -> RedirectorCertificate:
        """
        Read and check the stored pair.

        @raise CertificateError: if it is missing or unusable.
        """
        try:
            with open(self.certificatePath, "rb") as f:
                certificate = f.read(1 << 16)
            with open(self.keyPath, "rb") as f:
                key = f.read(1 << 16)
        except FileNotFoundError as e:
            raise CertificateError(f"{e.filename} does not exist") from None
        except OSError as e:
            raise CertificateError(f"cannot read {e.filename}: {e.strerror}") from None
        checkCertificate(certificate, key)
        return RedirectorCertificate(certificate, key, created=False)

    def loadOrCreate(
        self, now: datetime.datetime | None = None
    ) -> RedirectorCertificate:
        """
        Return the stored pair, or make, store and return a new one if
        there is none or it is unusable.  The key file is readable by its
        owner only.

        @raise OSError: if the directory or files cannot be written.
        """
        try:
            return self.load()
        except CertificateError as e:
            if os.path.exists(self.certificatePath) or os.path.exists(self.keyPath):
                self.log.warn(
                    "Replacing the redirector certificate in {directory}: {reason}",
                    directory=self.directory,
                    reason=str(e),
                )
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        certificate, key = generateCertificate(now=now)
        keyPEM = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        certificatePEM = _pem("CERTIFICATE", certificate)
        writeAtomically(self.keyPath, keyPEM, 0o600)
        writeAtomically(self.certificatePath, certificatePEM, 0o644)
        self.log.info(
            "Made the redirector certificate {path}", path=self.certificatePath
        )
        return RedirectorCertificate(certificatePEM, keyPEM, created=True)
