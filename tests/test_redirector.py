# -*- test-case-name: tests.test_redirector -*-
"""
Tests for L{pocketrelay.client.redirector} and
L{pocketrelay.client.certificate}.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from tlslite.api import TLSConnection
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.blaze import tdf
from pocketrelay.blaze.frames import FrameDecoder, MessageType, parseFrame
from pocketrelay.client.certificate import (
    ISSUER,
    NOT_AFTER,
    CertificateError,
    CertificateStore,
    checkCertificate,
    generateCertificate,
)
from pocketrelay.client.redirector import (
    IpAddress,
    RedirectorFactory,
    ServerInstanceInfo,
)
from pocketrelay.ssl3 import clientSettings, der
from pocketrelay.ssl3.protocol import _acceptRsaEncryptionSignatures
from pocketrelay.testing.logs import captureLogs, infoTexts, warningTexts
from pocketrelay.testing.ssl3 import (
    Recorder,
    clientHello,
    connectInMemory,
    pemCertificate,
    testCredentialsPEM,
)

#: The project's copy of the reference vectors.
_VECTOR_FILE = Path(__file__).resolve().parent / "data" / "tdf-vectors.json"

#: Vector D2 of tdf-vectors.json: ME3's Redirector.getServerInstance
#: request, a whole frame (component 5, command 1, msgNum 0).
GET_SERVER_INSTANCE = bytes.fromhex(
    "00bb000500010000000000008b392b0109332e31352e362e30008b4a6d011544656320"
    "323120323031322031323a34373a3130008ecbb4010f4d617373456666656374332d70"
    "63008ecd3000008f3af50107313334383435008f6972010a30353432372e3132340093"
    "392b0109382e31342e372e310096ed80010570726f64009b0a64067fb2f8c0009ab9f2"
    "d60cba1b6501106d6173736566666563742d332d706300c2c874010857696e646f7773"
    "00c32be601127374616e646172645365637572655f763300"
)

#: Vector D3: a Util.ping request (component 9, command 2, msgNum 1).
PING = bytes.fromhex("000000090002000000000001")


class VectorTests(SynchronousTestCase):
    """
    The frames used here are the reference vectors.
    """

    def test_vectorsMatch(self) -> None:
        """
        The inlined D2 and D3 frames are those of tdf-vectors.json.
        """
        byId = {
            vector["id"]: vector["hex"]
            for vector in json.loads(_VECTOR_FILE.read_text())
        }
        self.assertEqual(bytes.fromhex(byId["D2"]), GET_SERVER_INSTANCE)
        self.assertEqual(bytes.fromhex(byId["D3"]), PING)


class ReplyTests(SynchronousTestCase):
    """
    The ServerInstanceInfo declaration.
    """

    def test_encoding(self) -> None:
        """
        The reply is ADDR (union index 0, VALU struct {IP, PORT}), SECU 0,
        XDNS 0, with the tags of the reference vectors.
        """
        body = tdf.encode(
            ServerInstanceInfo(
                tdf.Choice(0, IpAddress(ip=0x7F000001, port=42128)), False, 0
            )
        )
        self.assertTrue(body.startswith(bytes.fromhex("8649320600da1b3503a70000")))
        generic = tdf.decodeStruct(body)
        self.assertEqual([m.tag for m in generic.members], ["ADDR", "SECU", "XDNS"])
        union = generic["ADDR"]
        self.assertEqual(union.index, 0)
        self.assertEqual(union.member.tag, "VALU")
        address = union.member.value
        self.assertEqual([m.tag for m in address.members], ["IP", "PORT"])
        self.assertEqual(address["IP"], 0x7F000001)
        self.assertEqual(address["PORT"], 42128)
        self.assertEqual(generic["SECU"], 0)
        self.assertEqual(generic["XDNS"], 0)


class _MemorySocket:
    """
    A socket for a bare tlslite-ng client: reads from a buffer (raising
    EWOULDBLOCK when it is empty), collects what is sent.
    """

    def __init__(self) -> None:
        self.incoming = bytearray()
        self.outgoing = bytearray()

    def recv(self, size: int) -> bytes:
        if not self.incoming:
            raise BlockingIOError(errno.EWOULDBLOCK, "empty")
        chunk = bytes(self.incoming[:size])
        del self.incoming[:size]
        return chunk

    def send(self, data: bytes) -> int:
        self.outgoing += data
        return len(data)

    def sendall(self, data: bytes) -> None:
        self.outgoing += data

    def close(self) -> None:
        pass


class RedirectorTests(SynchronousTestCase):
    """
    L{RedirectorFactory} end to end, in memory.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.observer = captureLogs(self)
        certificate, key = testCredentialsPEM()
        self.factory = RedirectorFactory(
            "127.0.0.1", 42128, certificate, key, clock=self.clock
        )

    def test_getServerInstance(self) -> None:
        """
        An SSL 3.0 RC4 client sending ME3's getServerInstance gets a reply
        pointing at 127.0.0.1:42128 in plain TCP, then the connection is
        closed.
        """
        game = Recorder(greeting=GET_SERVER_INSTANCE)
        server, _, _ = connectInMemory(self.factory, game, self.clock)
        self.assertEqual(server.version, (3, 0))
        self.assertIn(server.cipherName, ("RC4-SHA", "RC4-MD5"))
        reply = parseFrame(game.received)
        self.assertEqual(
            (reply.component, reply.command, reply.type, reply.seq, reply.error),
            (5, 1, MessageType.REPLY, 0, 0),
        )
        info = tdf.decode(ServerInstanceInfo, reply.body)
        self.assertEqual(info.address.index, 0)
        self.assertEqual(info.address.value.ip, 0x7F000001)
        self.assertEqual(info.address.value.port, 42128)
        self.assertIsNone(info.address.value.host)
        self.assertFalse(info.secure)
        self.assertEqual(info.defaultDns, 0)
        self.assertEqual(len(game.lost), 1)
        self.assertEqual(warningTexts(self.observer), [])
        self.assertTrue(
            any("MassEffect3-pc" in str(event.get("client")) for event in self.observer)
        )

    def test_otherRequestsEmptyReply(self) -> None:
        """
        Any other request gets an empty reply echoing its component,
        command and number, and the connection stays open.
        """
        game = Recorder(greeting=PING)
        _, _, pump = connectInMemory(self.factory, game, self.clock)
        reply = parseFrame(game.received)
        self.assertEqual(
            (reply.component, reply.command, reply.type, reply.seq, reply.body),
            (9, 2, MessageType.REPLY, 1, b""),
        )
        self.assertEqual(game.lost, [])
        game.transport.write(GET_SERVER_INSTANCE)  # type: ignore[union-attr]
        pump.flush()
        frames = FrameDecoder().feed(game.received)
        self.assertEqual([(f.component, f.command) for f in frames], [(9, 2), (5, 1)])
        self.assertEqual(len(game.lost), 1)

    def test_hostName(self) -> None:
        """
        A Blaze host that is not an IPv4 literal is sent as HOST.
        """
        certificate, key = testCredentialsPEM()
        factory = RedirectorFactory(
            "blaze.example", 14219, certificate, key, clock=self.clock
        )
        game = Recorder(greeting=GET_SERVER_INSTANCE)
        connectInMemory(factory, game, self.clock)
        info = tdf.decode(ServerInstanceInfo, parseFrame(game.received).body)
        self.assertEqual(
            (info.address.value.host, info.address.value.ip), ("blaze.example", None)
        )
        self.assertEqual(info.address.value.port, 14219)

    def bareClient(self) -> tuple[TLSConnection, StringTransport, Any]:
        """
        A plain tlslite-ng client, limited to SSL 3.0 and RC4, connected
        through a memory pipe to a redirector protocol on a
        L{StringTransport}, after its handshake.

        @return: the client, the server's transport, and a function that
            moves the bytes waiting on either side.
        """
        _acceptRsaEncryptionSignatures()
        server = self.factory.buildProtocol(None)
        transport = StringTransport()
        server.makeConnection(transport)
        sock = _MemorySocket()
        client = TLSConnection(sock)

        def exchange() -> None:
            if sock.outgoing:
                data, sock.outgoing[:] = bytes(sock.outgoing), b""
                server.dataReceived(data)
            sock.incoming += transport.value()
            transport.clear()

        for _ in client.handshakeClientCert(settings=clientSettings(), async_=True):
            exchange()
        exchange()
        return client, transport, exchange

    def readReply(self, client: TLSConnection, exchange: Any) -> bytes:
        result: Any = None
        for result in client.readAsync():
            if isinstance(result, int):
                exchange()
        return bytes(result)

    def test_bareTlsliteClient(self) -> None:
        """
        A plain tlslite-ng client completes the handshake with SSL 3.0 and
        RC4, sends getServerInstance and reads the reply; the server then
        closes.
        """
        client, transport, exchange = self.bareClient()
        self.assertEqual(client.version, (3, 0))
        self.assertEqual(client.getCipherName(), "rc4")
        client.write(GET_SERVER_INSTANCE)
        exchange()
        reply = parseFrame(self.readReply(client, exchange))
        info = tdf.decode(ServerInstanceInfo, reply.body)
        self.assertEqual(info.address.value.port, 42128)
        self.assertFalse(info.secure)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(0)
        self.assertTrue(transport.disconnecting)

    def test_closeNotifyFromClient(self) -> None:
        """
        A client's close_notify closes the connection without a warning.
        """
        client, transport, exchange = self.bareClient()
        client.write(PING)
        exchange()
        self.assertEqual(parseFrame(self.readReply(client, exchange)).command, 2)
        self.assertFalse(transport.disconnecting)
        client.close()
        exchange()
        self.assertTrue(transport.disconnecting)
        self.assertEqual(warningTexts(self.observer), [])

    def refused(self, data: bytes) -> list[str]:
        server = self.factory.buildProtocol(None)
        transport = StringTransport()
        server.makeConnection(transport)
        server.dataReceived(data)
        self.assertTrue(transport.disconnecting)
        return warningTexts(self.observer)

    def test_garbage(self) -> None:
        """
        Garbage instead of a ClientHello: one log line, connection closed.
        """
        self.assertEqual(len(self.refused(b"\x00\xbb\x00\x05" + b"\x00" * 40)), 1)

    def test_tls12Hello(self) -> None:
        """
        A TLS 1.2 ClientHello: one log line, connection closed.
        """
        logged = self.refused(
            clientHello(version=b"\x03\x03", recordVersion=b"\x03\x01")
        )
        self.assertEqual(len(logged), 1)

    def test_nonRC4Offer(self) -> None:
        """
        A ClientHello offering no RC4 suite: one log line, connection
        closed.
        """
        logged = self.refused(clientHello(suites=(0x002F,)))
        self.assertEqual(len(logged), 1)

    def closedDuringHandshake(self, *chunks: bytes) -> list[str]:
        """
        Open a redirector connection, feed it C{chunks}, then close it from
        the game's side.

        @return: every line logged at info level or above.
        """
        server = self.factory.buildProtocol(None)
        transport = StringTransport()
        server.makeConnection(transport)
        for chunk in chunks:
            server.dataReceived(chunk)
        server.connectionLost(Failure(ConnectionDone()))
        return infoTexts(self.observer)

    def test_portProbe(self) -> None:
        """
        A bare TCP connect that never sent a byte is logged as a probe, at
        info level, and not as a certificate problem.
        """
        logged = self.closedDuringHandshake()
        self.assertEqual(len(logged), 1)
        self.assertIn("closed before sending anything", logged[0])
        self.assertNotIn("certificate", logged[0])
        self.assertEqual(warningTexts(self.observer), [])

    def test_notAClientHelloThenClosed(self) -> None:
        """
        A connection that sent a few bytes that do not start a ClientHello
        and closed is logged as not a game, not as a certificate problem.
        """
        logged = self.closedDuringHandshake(b"\x00\xbb")
        self.assertEqual(len(logged), 1)
        self.assertIn("not a ClientHello", logged[0])
        self.assertNotIn("certificate", logged[0])

    def test_garbageRecordIsNotAClientHello(self) -> None:
        """
        Garbage instead of a ClientHello is refused by the record gate with
        one line, and the game's hang-up adds nothing about the
        certificate.
        """
        logged = self.closedDuringHandshake(b"\x00\xbb\x00\x05" + b"\x00" * 40)
        self.assertEqual(len(logged), 1)
        self.assertIn("not an SSL record", logged[0])
        self.assertNotIn("certificate", logged[0])

    def test_certificateRejectedWithoutAlert(self) -> None:
        """
        A game that sent its ClientHello, got the certificate and closed
        without an alert is the one case logged as a rejected certificate.
        """
        logged = self.closedDuringHandshake(clientHello())
        self.assertEqual(len(logged), 1)
        self.assertIn("after our certificate, without an alert", logged[0])
        self.assertIn("rejects the certificate", logged[0])

    def test_certificateRejectedWithAlert(self) -> None:
        """
        A game that answers the certificate with a bad_certificate alert is
        logged with the alert's name.
        """
        alert = bytes([21, 3, 0, 0, 2, 2, 42])
        logged = self.closedDuringHandshake(clientHello(), alert)
        self.assertEqual(len(logged), 1)
        self.assertIn("fatal bad_certificate alert", logged[0])
        self.assertIn("does not accept the certificate", logged[0])
        self.assertNotIn("without an alert", logged[0])

    def test_garbageFrameAfterHandshake(self) -> None:
        """
        A malformed frame inside the secure connection closes it with one
        log line.
        """
        # A header whose message type (15) does not exist.
        game = Recorder(greeting=bytes.fromhex("0000 0005 0001 0000 f0 00 0000"))
        connectInMemory(self.factory, game, self.clock)
        self.assertEqual(len(game.lost), 1)
        self.assertEqual(len(warningTexts(self.observer)), 1)

    def test_idleTimeout(self) -> None:
        """
        After the handshake, a connection silent for 60 seconds is dropped.
        """
        game = Recorder()
        _, _, pump = connectInMemory(self.factory, game, self.clock)
        self.clock.advance(59)
        pump.flush()
        self.assertEqual(game.lost, [])
        self.clock.advance(2)
        pump.flush()
        self.assertEqual(len(game.lost), 1)


class CertificateTests(SynchronousTestCase):
    """
    L{generateCertificate}, L{checkCertificate} and L{CertificateStore}.
    """

    def test_properties(self) -> None:
        """
        The certificate is X.509 v1, issued by the exact OTG3 DN to
        gosredirector.ea.com, for a 1024-bit RSA key; the TBS says
        md5WithRSA, the outer algorithm is rsaEncryption, and the 128-byte
        signature is a valid MD5 signature by the certificate's own key.
        """
        raw, key = generateCertificate()
        certificate = x509.load_der_x509_certificate(raw)
        self.assertEqual(certificate.version, x509.Version.v1)
        self.assertEqual(
            certificate.issuer.rfc4514_string(),
            "CN=OTG3 Certificate Authority,OU=Online Technology Group,"
            "O=Electronic Arts\\, Inc.,L=Redwood City,ST=California,C=US",
        )
        self.assertEqual(
            certificate.subject.rfc4514_string(),
            "CN=gosredirector.ea.com,OU=Global Online Studio,"
            "O=Electronic Arts\\, Inc.,ST=California,C=US",
        )
        self.assertEqual(
            certificate.signature_algorithm_oid.dotted_string, "1.2.840.113549.1.1.1"
        )
        publicKey = certificate.public_key()
        assert isinstance(publicKey, rsa.RSAPublicKey)
        self.assertEqual(publicKey.key_size, 1024)
        self.assertEqual(len(certificate.signature), 128)
        tbs = der.tbsCertificate(raw)
        self.assertIn(der.algorithmIdentifier(der.MD5_WITH_RSA), tbs)
        self.assertIn(der.name(ISSUER), tbs)
        publicKey.verify(certificate.signature, tbs, padding.PKCS1v15(), hashes.MD5())
        self.assertEqual(certificate.not_valid_after_utc, NOT_AFTER)
        self.assertLess(certificate.not_valid_before_utc, NOT_AFTER)
        self.assertEqual(key.public_key().public_numbers(), publicKey.public_numbers())

    def test_storeCreatesOnceAndReuses(self) -> None:
        """
        The first call makes and stores the pair (key file mode 0600); the
        next returns the same pair without making a new one.
        """
        directory = os.path.join(self.mktemp(), "data")
        store = CertificateStore(directory)
        first = store.loadOrCreate()
        self.assertTrue(first.created)
        self.assertEqual(stat.S_IMODE(os.stat(store.keyPath).st_mode), 0o600)
        second = CertificateStore(directory).loadOrCreate()
        self.assertFalse(second.created)
        self.assertEqual(
            (second.certificate, second.key), (first.certificate, first.key)
        )
        self.assertEqual(
            sorted(os.listdir(directory)),
            ["redirector-certificate.pem", "redirector-key.pem"],
        )
        # The stored pair serves the redirector.
        factory = RedirectorFactory(
            "127.0.0.1", 42128, second.certificate, second.key, clock=Clock()
        )
        game = Recorder(greeting=GET_SERVER_INSTANCE)
        connectInMemory(factory, game, factory.clock)  # type: ignore[arg-type]
        self.assertEqual(parseFrame(game.received).component, 5)

    def test_unusableStoreReplaced(self) -> None:
        """
        A damaged or mismatched stored pair is replaced, with a log line.
        """
        observer = captureLogs(self)
        directory = self.mktemp()
        store = CertificateStore(directory)
        first = store.loadOrCreate()
        with open(store.keyPath, "wb") as f:
            f.write(b"garbage")
        second = store.loadOrCreate()
        self.assertTrue(second.created)
        self.assertNotEqual(second.certificate, first.certificate)
        self.assertEqual(len(warningTexts(observer)), 1)
        self.assertFalse(store.loadOrCreate().created)

    def test_checkRefusesOthers(self) -> None:
        """
        L{checkCertificate} refuses a certificate whose outer algorithm was
        not patched, a key that does not match, and garbage.
        """
        certificate, key = testCredentialsPEM()
        checkCertificate(certificate, key)
        raw, _ = generateCertificate()
        unpatched = der.replaceOuterSignatureAlgorithm(raw, der.MD5_WITH_RSA)
        self.assertRaises(
            CertificateError, checkCertificate, pemCertificate(unpatched), key
        )
        self.assertRaises(CertificateError, checkCertificate, pemCertificate(raw), key)
        self.assertRaises(CertificateError, checkCertificate, b"junk", key)
        otherKey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.assertRaises(
            CertificateError,
            checkCertificate,
            certificate,
            otherKey.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )

    def test_wrongKeySize(self) -> None:
        """
        A key that is not 1024 bits is refused at generation.
        """
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.assertRaises(CertificateError, generateCertificate, key)
