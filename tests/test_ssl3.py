# -*- test-case-name: tests.test_ssl3 -*-
"""
Tests for L{pocketrelay.ssl3}: the record gate, the DER helpers, the
credentials and the SSL 3.0 protocol wrapper, all in memory.
"""

from __future__ import annotations

import os
from typing import Any

from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st
from tlslite.api import HandshakeSettings
from twisted.internet.protocol import Factory
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.client.certificate import generateCertificate
from pocketrelay.ssl3 import (
    RecordScanner,
    SSLv3Credentials,
    SSLv3RecordError,
    SSLv3ServerFactory,
    clientSettings,
    der,
    loadCertificate,
)
from pocketrelay.ssl3.protocol import describeFirstBytes
from pocketrelay.ssl3.records import HANDSHAKE_FAILURE_ALERT, MAX_RECORD_BODY
from pocketrelay.testing.logs import captureLogs, infoTexts, warningTexts
from pocketrelay.testing.ssl3 import (
    Recorder,
    clientHello,
    connectInMemory,
    splitRecords,
    testCredentialsPEM,
)


class RecordScannerTests(SynchronousTestCase):
    """
    L{RecordScanner}: only SSL 3.0 records get through.
    """

    def test_sslv3RecordsPass(self) -> None:
        """
        SSL 3.0 records of every content type pass, however they are split.
        """
        stream = b"".join(
            bytes([kind, 3, 0, 0, 3]) + b"abc" for kind in (20, 21, 22, 23)
        )
        scanner = RecordScanner()
        for byte in stream:
            scanner.feed(bytes([byte]))
        self.assertEqual(scanner.records, 4)

    def test_tlsRecord(self) -> None:
        """
        A TLS 1.0-1.2 record header is refused, flagged as TLS (worth an
        alert).
        """
        error = self.assertRaises(
            SSLv3RecordError,
            RecordScanner().feed,
            clientHello(recordVersion=b"\x03\x01"),
        )
        self.assertTrue(error.looksLikeTLS)
        self.assertIn("TLS 1.0", error.reason)

    def test_garbage(self) -> None:
        """
        Bytes that are not a record header are refused, not flagged as TLS.
        """
        error = self.assertRaises(
            SSLv3RecordError, RecordScanner().feed, b"GET / HTTP/1.1\r\n"
        )
        self.assertFalse(error.looksLikeTLS)
        self.assertIn("not an SSL record", error.reason)

    def test_sslv2Hello(self) -> None:
        """
        An SSLv2-format hello is refused.
        """
        error = self.assertRaises(
            SSLv3RecordError, RecordScanner().feed, b"\x80\x2e\x01\x03\x00"
        )
        self.assertIn("SSLv2", error.reason)

    def test_oversized(self) -> None:
        """
        A record longer than the limit is refused from its header alone.
        """
        header = bytes([23, 3, 0]) + (MAX_RECORD_BODY + 1).to_bytes(2, "big")
        self.assertRaises(SSLv3RecordError, RecordScanner().feed, header)

    def test_failureSticks(self) -> None:
        """
        After a refusal every later feed is refused too.
        """
        scanner = RecordScanner()
        self.assertRaises(SSLv3RecordError, scanner.feed, b"\x00\x00\x00\x00\x00")
        self.assertRaises(SSLv3RecordError, scanner.feed, bytes([23, 3, 0, 0, 0]))

    @given(st.binary(max_size=200))
    def test_randomBytes(self, data: bytes) -> None:
        """
        Random bytes pass or raise L{SSLv3RecordError}, nothing else.
        """
        try:
            RecordScanner().feed(data)
        except SSLv3RecordError:
            pass


class DERTests(SynchronousTestCase):
    """
    L{pocketrelay.ssl3.der}.
    """

    def test_oids(self) -> None:
        """
        The OID encoder produces the well-known encodings.
        """
        self.assertEqual(
            der.objectIdentifier("1.2.840.113549.1.1.1"), der.RSA_ENCRYPTION
        )
        self.assertEqual(der.objectIdentifier("1.2.840.113549.1.1.4"), der.MD5_WITH_RSA)
        self.assertEqual(der.objectIdentifier("2.5.4.3"), bytes.fromhex("0603550403"))

    def test_integers(self) -> None:
        """
        INTEGERs use the shortest two's complement form.
        """
        self.assertEqual(der.integer(0), b"\x02\x01\x00")
        self.assertEqual(der.integer(127), b"\x02\x01\x7f")
        self.assertEqual(der.integer(128), b"\x02\x02\x00\x80")

    def test_longLength(self) -> None:
        """
        Lengths of 128 and more use the long form, and read back.
        """
        element = der.tlv(0x04, b"x" * 300)
        self.assertEqual(element[:4], b"\x04\x82\x01\x2c")
        self.assertEqual(der.readElement(element).end, len(element))

    def test_replaceOuterAlgorithm(self) -> None:
        """
        Replacing the outer algorithm changes only those bytes.
        """
        certificate, _ = generateCertificate()
        self.assertEqual(der.outerSignatureAlgorithm(certificate), der.RSA_ENCRYPTION)
        patched = der.replaceOuterSignatureAlgorithm(certificate, der.MD5_WITH_RSA)
        self.assertEqual(der.outerSignatureAlgorithm(patched), der.MD5_WITH_RSA)
        self.assertEqual(der.tbsCertificate(patched), der.tbsCertificate(certificate))
        self.assertEqual(len(patched), len(certificate))
        self.assertEqual(
            sum(a != b for a, b in zip(patched, certificate, strict=True)), 1
        )

    def test_notACertificate(self) -> None:
        """
        Garbage gives L{der.DERError}.
        """
        for data in [b"", b"\x30", b"\x30\x05abc", b"\x30\x00", b"\x02\x01\x00"]:
            self.assertRaises(der.DERError, der.outerSignatureAlgorithm, data)

    def test_printableOnly(self) -> None:
        """
        Characters PrintableString cannot hold are refused.
        """
        self.assertRaises(der.DERError, der.printableString, "a@b")


class CredentialsTests(SynchronousTestCase):
    """
    L{loadCertificate} and L{SSLv3Credentials}.
    """

    def test_rsaEncryptionOuterOIDLoads(self) -> None:
        """
        A certificate whose outer algorithm is rsaEncryption loads, and the
        original bytes are what tlslite sends.
        """
        certificate, key = testCredentialsPEM()
        x509 = loadCertificate(certificate)
        self.assertEqual(x509.certAlg, "rsa")
        self.assertEqual(
            der.outerSignatureAlgorithm(bytes(x509.bytes)), der.RSA_ENCRYPTION
        )
        credentials = SSLv3Credentials.fromPEM(certificate, key)
        self.assertEqual(len(credentials.privateKey), 1024)

    def test_garbage(self) -> None:
        """
        Garbage certificates and keys give L{ValueError}.
        """
        certificate, _ = testCredentialsPEM()
        self.assertRaises(ValueError, loadCertificate, b"not a certificate")
        self.assertRaises(
            ValueError, loadCertificate, b"-----BEGIN CERTIFICATE-----\n!!\n"
        )
        self.assertRaises(ValueError, SSLv3Credentials.fromPEM, certificate, b"nope")

    def test_mismatchedKey(self) -> None:
        """
        A key that does not belong to the certificate is refused.
        """
        certificate, _ = testCredentialsPEM()
        _, other = generateCertificate()
        otherPEM = other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        error = self.assertRaises(
            ValueError, SSLv3Credentials.fromPEM, certificate, otherPEM
        )
        self.assertIn("does not match", str(error))


class WrapperTests(SynchronousTestCase):
    """
    L{SSLv3ServerProtocol} and L{SSLv3ClientProtocol} in memory.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.observer = captureLogs(self)
        certificate, key = testCredentialsPEM()
        self.credentials = SSLv3Credentials.fromPEM(certificate, key)
        self.inner: list[Recorder] = []

        def makeInner() -> Recorder:
            protocol = Recorder(echo=True)
            self.inner.append(protocol)
            return protocol

        self.factory = SSLv3ServerFactory(
            Factory.forProtocol(makeInner), self.credentials, clock=self.clock
        )

    def serveRaw(self) -> tuple[Any, StringTransport]:
        server = self.factory.buildProtocol(None)
        transport = StringTransport()
        server.makeConnection(transport)
        return server, transport

    def test_handshakeAndEcho(self) -> None:
        """
        A client offering what the game offers gets SSL 3.0 with RC4-SHA,
        and data flows both ways, including more than one record's worth.
        """
        client = Recorder(greeting=b"hello")
        server, wrapper, pump = connectInMemory(self.factory, client, self.clock)
        self.assertEqual(server.version, (3, 0))
        self.assertEqual(server.cipherSuite, 0x0005)
        self.assertEqual(server.cipherName, "RC4-SHA")
        self.assertEqual(wrapper.cipherName, "RC4-SHA")
        self.assertEqual(self.inner[0].received, b"hello")
        self.assertEqual(client.received, b"hello")
        big = os.urandom(40000)
        client.transport.write(big)  # type: ignore[union-attr]
        pump.flush()
        self.assertEqual(self.inner[0].received, b"hello" + big)
        self.assertEqual(client.received, b"hello" + big)
        self.assertEqual(warningTexts(self.observer), [])

    def test_md5Only(self) -> None:
        """
        A client that only offers MD5 MACs gets RC4-MD5 (0x0004).
        """
        settings = clientSettings()
        settings.macNames = ["md5"]
        client = Recorder(greeting=b"x")
        server, _, _ = connectInMemory(self.factory, client, self.clock, settings)
        self.assertEqual(server.cipherSuite, 0x0004)
        self.assertEqual(client.received, b"x")

    def test_innerConnectedAfterHandshake(self) -> None:
        """
        The inner protocol is connected only when the handshake is done,
        and learns when the connection goes.
        """
        server, _ = self.serveRaw()
        self.assertEqual(self.inner[0].made, 0)
        self.assertIsNone(server.cipherSuite)
        server.connectionLost(Failure(Exception("gone")))
        self.assertEqual(self.inner[0].made, 0)
        self.assertEqual(self.inner[0].lost, [])

        client = Recorder()
        server, _, pump = connectInMemory(self.factory, client, self.clock)
        self.assertEqual(self.inner[1].made, 1)
        client.transport.loseConnection()  # type: ignore[union-attr]
        pump.flush()
        self.assertEqual(len(self.inner[1].lost), 1)
        self.assertEqual(self.factory.protocols, {})

    def test_protoSSLHelloWire(self) -> None:
        """
        To ME3's 52-byte ClientHello the server answers SSL 3.0 records:
        ServerHello (version 3.0, empty session ID, suite 0x0005, no
        compression, no extensions), Certificate and ServerHelloDone, each
        in its own record.
        """
        hello = clientHello()
        self.assertEqual(len(hello), 52)
        server, transport = self.serveRaw()
        server.dataReceived(hello)
        records = splitRecords(transport.value())
        self.assertEqual(
            [(kind, version) for kind, version, _ in records], [(22, b"\x03\x00")] * 3
        )
        serverHello = records[0][2]
        self.assertEqual(serverHello[0], 2)
        self.assertEqual(int.from_bytes(serverHello[1:4], "big"), 38)
        self.assertEqual(serverHello[4:6], b"\x03\x00")
        self.assertEqual(serverHello[38], 0)  # session ID length
        self.assertEqual(serverHello[39:41], b"\x00\x05")
        self.assertEqual(serverHello[41], 0)
        self.assertEqual(len(serverHello), 42)  # nothing after: no extensions
        self.assertEqual(records[1][2][0], 11)
        certificate, _ = testCredentialsPEM()
        self.assertIn(bytes(loadCertificate(certificate).bytes), records[1][2])
        self.assertEqual(records[2][2], b"\x0e\x00\x00\x00")
        self.assertFalse(transport.disconnecting)

    def test_protoSSLHelloMD5Only(self) -> None:
        """
        A hello offering only 0x0004 is answered with 0x0004.
        """
        server, transport = self.serveRaw()
        server.dataReceived(clientHello(suites=(0x0004,)))
        self.assertEqual(splitRecords(transport.value())[0][2][39:41], b"\x00\x04")

    def assertRefused(self, data: bytes, expectAlert: bool) -> str:
        server, transport = self.serveRaw()
        server.dataReceived(data)
        self.assertTrue(transport.disconnecting)
        sent = transport.value()
        if expectAlert:
            self.assertTrue(sent.startswith(HANDSHAKE_FAILURE_ALERT[:6]), sent)
        else:
            self.assertEqual(sent, b"")
        server.connectionLost(Failure(Exception("closed")))
        logged = warningTexts(self.observer)
        self.assertEqual(len(logged), 1, logged)
        self.assertEqual(self.inner[-1].made, 0)
        return logged[0]

    def test_tls12Hello(self) -> None:
        """
        A TLS 1.2 ClientHello gets a handshake_failure alert, one log line
        and a closed connection.
        """
        line = self.assertRefused(
            clientHello(
                suites=(0x002F, 0x0005), version=b"\x03\x03", recordVersion=b"\x03\x01"
            ),
            expectAlert=True,
        )
        self.assertIn("TLS 1.0 record", line)

    def test_tlsliteDefaultClient(self) -> None:
        """
        A tlslite-ng client with its default (TLS 1.x) settings is refused.
        """
        client = Recorder(greeting=b"never")
        connectInMemory(self.factory, client, self.clock, HandshakeSettings())
        self.assertEqual(self.inner[0].made, 0)
        self.assertEqual(client.made, 0)
        self.assertTrue(any("only SSL 3.0" in line for line in warningTexts(self.observer)))

    def test_nonRC4Offer(self) -> None:
        """
        An SSL 3.0 hello offering no RC4 suite gets an alert from the
        engine, one log line and a closed connection.
        """
        line = self.assertRefused(
            clientHello(suites=(0x002F, 0x000A)), expectAlert=True
        )
        self.assertIn("No mutual ciphersuite", line)

    def test_garbage(self) -> None:
        """
        Bytes that are not SSL close the connection with one log line and
        no alert.
        """
        line = self.assertRefused(
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", expectAlert=False
        )
        self.assertIn("not an SSL record", line)

    def test_garbageInsideHandshakeRecord(self) -> None:
        """
        A well-framed SSL 3.0 record with a nonsense body is refused by the
        engine with an alert and one log line.
        """
        self.assertRefused(
            b"\x16\x03\x00\x00\x08\x01\x00\x00\x04\xff\xff\xff\xff", expectAlert=True
        )

    def test_handshakeSizeLimit(self) -> None:
        """
        A client that keeps sending handshake bytes (here a ClientHello
        claiming 16 MiB, in many records) is cut off at the limit with one
        log line.
        """
        server, transport = self.serveRaw()
        server.dataReceived(b"\x16\x03\x00\x00\x04\x01\xff\xff\xff")
        chunk = b"\x16\x03\x00\x10\x00" + b"\x00" * 4096
        for _ in range(3):
            server.dataReceived(chunk)
        self.assertFalse(transport.disconnecting)
        server.dataReceived(chunk)
        self.assertTrue(transport.disconnecting)
        logged = warningTexts(self.observer)
        self.assertEqual(len(logged), 1)
        self.assertIn("before the handshake finished", logged[0])

    def test_handshakeTimeout(self) -> None:
        """
        A handshake that does not finish in time is aborted with one log
        line.
        """
        server, transport = self.serveRaw()
        server.dataReceived(clientHello()[:10])
        self.clock.advance(59)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(2)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(len(warningTexts(self.observer)), 1)
        self.assertIn("60", warningTexts(self.observer)[0])

    def test_silentConnectionTimesOut(self) -> None:
        """
        A connection that never sends a byte is closed at the handshake
        timeout with one info line calling it a probe, not a warning.
        """
        _, transport = self.serveRaw()
        self.clock.advance(61)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(warningTexts(self.observer), [])
        logged = infoTexts(self.observer)
        self.assertEqual(len(logged), 1)
        self.assertIn("sent nothing within 60", logged[0])

    def test_peerClosesDuringHandshake(self) -> None:
        """
        A peer that sent a whole ClientHello, got the certificate and hangs
        up without an alert (as a game rejecting the certificate does)
        leaves one warning saying so.
        """
        server, transport = self.serveRaw()
        server.dataReceived(clientHello())
        self.assertNotEqual(transport.value(), b"")
        server.connectionLost(Failure(Exception("reset")))
        logged = warningTexts(self.observer)
        self.assertEqual(len(logged), 1)
        self.assertIn("after our certificate, without an alert", logged[0])
        self.assertIn("rejects the certificate", logged[0])
        self.assertEqual(self.factory.protocols, {})

    def hangUp(self, *chunks: bytes) -> list[str]:
        """
        Feed C{chunks} to a fresh server, then close the connection from
        the peer's side.

        @return: every line logged at info level or above.
        """
        server, _ = self.serveRaw()
        for chunk in chunks:
            server.dataReceived(chunk)
        server.connectionLost(Failure(Exception("closed")))
        self.assertEqual(self.factory.protocols, {})
        return infoTexts(self.observer)

    def test_portProbe(self) -> None:
        """
        A connection closed before sending a byte (a port probe) leaves one
        info line naming it a probe, no warning, and does not speak of the
        certificate.
        """
        logged = self.hangUp()
        self.assertEqual(warningTexts(self.observer), [])
        self.assertEqual(len(logged), 1)
        self.assertIn("closed before sending anything", logged[0])
        self.assertIn("port probe", logged[0])
        self.assertNotIn("certificate", logged[0])

    def test_bytesThatAreNotAHelloThenClose(self) -> None:
        """
        A peer that sent a few bytes the gate cannot judge yet (shorter
        than a record header) that do not start a ClientHello, then
        closed: one warning saying they were not a ClientHello.
        """
        logged = self.hangUp(b"GE")
        self.assertEqual(len(logged), 1)
        self.assertIn("after 2 bytes that are not a ClientHello", logged[0])
        self.assertIn("(first bytes 47 45)", logged[0])
        self.assertNotIn("certificate", logged[0])

    def test_partialHelloThenClose(self) -> None:
        """
        A peer that closed in the middle of its ClientHello never saw the
        certificate, and the warning says so.
        """
        logged = self.hangUp(clientHello()[:20])
        self.assertEqual(len(logged), 1)
        self.assertIn("in the middle of its ClientHello (20 bytes)", logged[0])
        self.assertIn("the certificate was never sent", logged[0])
        self.assertNotIn("rejects", logged[0])

    def test_recordThatIsNotAHello(self) -> None:
        """
        A well-formed SSL 3.0 record that is not a ClientHello is refused
        with one warning that says so.
        """
        logged = self.hangUp(b"\x17\x03\x00\x00\x04abcd")
        self.assertEqual(len(logged), 1)
        self.assertIn("not a ClientHello (first bytes 17 03 00 00 04 61)", logged[0])
        self.assertNotIn("certificate", logged[0])

    def test_certificateAlert(self) -> None:
        """
        A peer that answers the certificate with a certificate alert gets
        one warning naming the alert and saying it rejects the
        certificate; its hang-up after that adds nothing.
        """
        alert = bytes([21, 3, 0, 0, 2, 2, 46])  # fatal certificate_unknown
        logged = self.hangUp(clientHello(), alert)
        self.assertEqual(len(logged), 1)
        self.assertIn(
            "the peer sent a fatal certificate_unknown alert: it does not accept "
            "the certificate",
            logged[0],
        )
        self.assertNotIn("without an alert", logged[0])

    def test_otherAlert(self) -> None:
        """
        Another alert is named, without blaming the certificate.
        """
        alert = bytes([21, 3, 0, 0, 2, 2, 40])  # fatal handshake_failure
        logged = self.hangUp(clientHello(), alert)
        self.assertEqual(len(logged), 1)
        self.assertIn("the peer sent a fatal handshake_failure alert", logged[0])
        self.assertNotIn("certificate", logged[0])

    def test_describeFirstBytes(self) -> None:
        """
        L{describeFirstBytes} tells nothing, a ClientHello (whole or
        begun) and anything else apart.
        """
        hello = clientHello()
        self.assertEqual(describeFirstBytes(b""), "nothing")
        self.assertEqual(describeFirstBytes(hello[:6]), "hello")
        self.assertEqual(describeFirstBytes(hello[:2]), "hello")
        self.assertEqual(describeFirstBytes(b"\x16\x03\x00\x00\x04\x02"), "other")
        self.assertEqual(describeFirstBytes(b"\x16\x03\x01\x00\x04\x01"), "other")
        self.assertEqual(describeFirstBytes(b"GE"), "other")

    def test_noCloseNotifyByDefault(self) -> None:
        """
        When the inner protocol closes, no close_notify is sent by default
        (as blaze-ssl-async), and one is sent when asked.
        """
        for sendCloseNotify in (False, True):
            self.factory.sendCloseNotify = sendCloseNotify
            client = Recorder()
            server, _, pump = connectInMemory(self.factory, client, self.clock)
            sent = len(server.transport.stream)
            self.inner[-1].transport.loseConnection()  # type: ignore[union-attr]
            self.assertEqual(len(server.transport.stream) > sent, sendCloseNotify)
            pump.flush()
            self.assertEqual(len(client.lost), 1)
