# -*- test-case-name: tests.test_ssl3 -*-
"""
Just enough DER to build and patch the redirector's certificate.

Pure codec: no Twisted import.  The writers build the handful of ASN.1
types an X.509 v1 certificate needs; the reader walks tag-length-value
elements so that the outer C{signatureAlgorithm} of a certificate can be
found and replaced without re-encoding anything else.
"""

from __future__ import annotations

import datetime

import attrs

__all__ = [
    "MD5_WITH_RSA",
    "RSA_ENCRYPTION",
    "DERError",
    "Element",
    "algorithmIdentifier",
    "bitString",
    "children",
    "integer",
    "name",
    "null",
    "objectIdentifier",
    "outerSignatureAlgorithm",
    "printableString",
    "readElement",
    "replaceOuterSignatureAlgorithm",
    "sequence",
    "setOf",
    "tbsCertificate",
    "tlv",
    "utcTime",
]

#: The OID 1.2.840.113549.1.1.1 (rsaEncryption), DER-encoded with its header.
RSA_ENCRYPTION = bytes.fromhex("06092a864886f70d010101")

#: The OID 1.2.840.113549.1.1.4 (md5WithRSAEncryption), DER-encoded.
MD5_WITH_RSA = bytes.fromhex("06092a864886f70d010104")

_SEQUENCE = 0x30
_SET = 0x31
_INTEGER = 0x02
_BIT_STRING = 0x03
_NULL = 0x05
_OID = 0x06
_PRINTABLE_STRING = 0x13
_UTC_TIME = 0x17

_PRINTABLE = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"
)


class DERError(ValueError):
    """
    The bytes are not the DER this module expects.

    @ivar offset: where the problem is, or L{None}.
    """

    def __init__(self, reason: str, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        super().__init__(reason if offset is None else f"{reason} (at byte {offset})")


# -- writing


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def tlv(tag: int, content: bytes) -> bytes:
    """
    One element: C{tag}, the DER length of C{content}, then C{content}.
    """
    return bytes([tag]) + _length(len(content)) + content


def sequence(*parts: bytes) -> bytes:
    """
    A SEQUENCE of already-encoded elements.
    """
    return tlv(_SEQUENCE, b"".join(parts))


def setOf(*parts: bytes) -> bytes:
    """
    A SET OF already-encoded elements (DER sorts them).
    """
    return tlv(_SET, b"".join(sorted(parts)))


def integer(value: int) -> bytes:
    """
    An INTEGER in the shortest two's complement form.
    """
    size = value.bit_length() // 8 + 1
    return tlv(_INTEGER, value.to_bytes(size, "big", signed=True))


def null() -> bytes:
    """
    NULL.
    """
    return tlv(_NULL, b"")


def objectIdentifier(dotted: str) -> bytes:
    """
    An OBJECT IDENTIFIER from its dotted form, e.g. C{"2.5.4.3"}.
    """
    arcs = [int(arc) for arc in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] > 39):
        raise DERError(f"not an object identifier: {dotted!r}")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return tlv(_OID, bytes(out))


def printableString(text: str) -> bytes:
    """
    A PrintableString.

    @raise DERError: if C{text} has a character PrintableString cannot hold.
    """
    bad = set(text) - _PRINTABLE
    if bad:
        raise DERError(f"not printable: {''.join(sorted(bad))!r}")
    return tlv(_PRINTABLE_STRING, text.encode("ascii"))


def utcTime(when: datetime.datetime) -> bytes:
    """
    A UTCTime C{YYMMDDHHMMSSZ}; only years 1950 to 2049 can be written.
    """
    when = when.astimezone(datetime.UTC)
    if not 1950 <= when.year <= 2049:
        raise DERError(f"UTCTime cannot hold the year {when.year}")
    return tlv(_UTC_TIME, when.strftime("%y%m%d%H%M%SZ").encode("ascii"))


def bitString(data: bytes) -> bytes:
    """
    A BIT STRING holding whole bytes.
    """
    return tlv(_BIT_STRING, b"\x00" + data)


def algorithmIdentifier(oid: bytes) -> bytes:
    """
    An AlgorithmIdentifier of an RSA algorithm: the encoded C{oid} and NULL
    parameters.
    """
    return sequence(oid, null())


def name(attributes: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> bytes:
    """
    A distinguished name: one RDN per C{(oid, text)} pair, in the given
    order, each value a PrintableString.
    """
    return sequence(
        *(
            setOf(sequence(objectIdentifier(oid), printableString(text)))
            for oid, text in attributes
        )
    )


# -- reading


@attrs.frozen
class Element:
    """
    One element found by L{readElement}.

    @ivar tag: the identifier octet.
    @ivar start: the offset of the identifier octet.
    @ivar contentStart: the offset of the first content byte.
    @ivar end: the offset just past the content.
    """

    tag: int
    start: int
    contentStart: int
    end: int


def readElement(data: bytes, pos: int = 0, end: int | None = None) -> Element:
    """
    Read the header of the element at C{pos}, checking that it fits before
    C{end}.  Only single-octet tags and definite lengths are accepted.

    @raise DERError: if the element is truncated or not DER.
    """
    if end is None:
        end = len(data)
    if pos + 2 > end:
        raise DERError("truncated element header", pos)
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DERError("multi-byte tags are not supported", pos)
    first = data[pos + 1]
    cursor = pos + 2
    if first < 0x80:
        size = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise DERError("unsupported length form", pos + 1)
        if cursor + count > end:
            raise DERError("truncated length", pos + 1)
        size = int.from_bytes(data[cursor : cursor + count], "big")
        cursor += count
    if cursor + size > end:
        raise DERError("element runs past its container", pos)
    return Element(tag, pos, cursor, cursor + size)


def children(data: bytes, parent: Element) -> list[Element]:
    """
    The elements directly inside a constructed element.
    """
    result = []
    pos = parent.contentStart
    while pos < parent.end:
        child = readElement(data, pos, parent.end)
        result.append(child)
        pos = child.end
    return result


def _certificateParts(der: bytes) -> tuple[Element, Element, Element]:
    certificate = readElement(der)
    if certificate.tag != _SEQUENCE or certificate.end != len(der):
        raise DERError("a certificate is one SEQUENCE", 0)
    parts = children(der, certificate)
    if len(parts) != 3 or [p.tag for p in parts] != [_SEQUENCE, _SEQUENCE, _BIT_STRING]:
        raise DERError("a certificate is SEQUENCE {tbs, algorithm, signature}", 0)
    return parts[0], parts[1], parts[2]


def outerSignatureAlgorithm(der: bytes) -> bytes:
    """
    The encoded OID of the certificate's outer C{signatureAlgorithm} (the
    one after the TBS part, which EA's ProtoSSL does not validate).

    @raise DERError: if C{der} is not shaped like a certificate.
    """
    _, algorithm, _ = _certificateParts(der)
    oid = readElement(der, algorithm.contentStart, algorithm.end)
    if oid.tag != _OID:
        raise DERError("signatureAlgorithm does not start with an OID", oid.start)
    return der[oid.start : oid.end]


def replaceOuterSignatureAlgorithm(der: bytes, newOid: bytes) -> bytes:
    """
    Return C{der} with the OID of its outer C{signatureAlgorithm} replaced
    by the encoded C{newOid}, which must have the same length (so that no
    enclosing length changes).  The TBS part and the signature are kept
    byte for byte.

    @raise DERError: if C{der} is not shaped like a certificate or the
        lengths differ.
    """
    _, algorithm, _ = _certificateParts(der)
    oid = readElement(der, algorithm.contentStart, algorithm.end)
    if oid.tag != _OID:
        raise DERError("signatureAlgorithm does not start with an OID", oid.start)
    if oid.end - oid.start != len(newOid):
        raise DERError("the replacement OID has a different length", oid.start)
    return der[: oid.start] + newOid + der[oid.end :]


def tbsCertificate(der: bytes) -> bytes:
    """
    The encoded TBSCertificate, the part the signature covers.
    """
    tbs, _, _ = _certificateParts(der)
    return der[tbs.start : tbs.end]
