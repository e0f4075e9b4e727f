# -*- test-case-name: tests.test_client_e2e -*-
"""
End to end: the whole client (the service tree of C{twistd
pocketrelay-client}) in front of a real pocketrelay server, both on
loopback, driven the way Mass Effect 3 uses it: the redirector over SSL
3.0, then Blaze through the proxy, HTTP, QoS and telemetry.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

from twisted.internet import defer
from twisted.internet import reactor as _reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import DatagramProtocol, Protocol
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody

from pocketrelay.blaze import tdf
from pocketrelay.client import tap
from pocketrelay.client.hosts import OUR_LINE
from pocketrelay.client.qos import qosReply
from pocketrelay.client.redirector import ServerInstanceInfo
from pocketrelay.me3.messages.redirector import ServerInstanceRequest
from pocketrelay.ssl3 import SSLv3ClientFactory
from pocketrelay.testing.gameclient import GameClient
from pocketrelay.testing.loopback import OneProtocolFactory, ServerFixture, until

#: The global reactor, typed loosely (its interfaces are split in stubs).
reactor: Any = _reactor


class ClientEndToEndTests(TestCase):
    """
    A simulated game through the complete client to a real server.
    """

    timeout = 60

    @defer.inlineCallbacks
    def setUp(self) -> Any:  # type: ignore[override]
        self.server = ServerFixture(self)
        self.hosts = os.path.abspath(self.mktemp())
        with open(self.hosts, "w") as f:
            f.write("127.0.0.1 localhost\n")
        options = tap.Options()
        options.parseOptions([
            "--server", f"127.0.0.1:{self.server.port}", "--data-dir", self.mktemp(),
            "--hosts-file", self.hosts, "--ports", "0,0,0,0,0,0",
        ])
        self.client = tap.makeService(options, reactor)
        self.exits: list[int] = []
        self.client.fatal = lambda reactor, status: self.exits.append(status)
        self.client.startService()
        self.addCleanup(self.stop)
        yield self.client.whenReady()

    def stop(self) -> defer.Deferred[Any] | None:
        if self.client.running:
            return self.client.stopService()
        return None

    def port(self, name: str) -> int:
        return self.client.listeners[name].actualPort

    @defer.inlineCallbacks
    def test_game(self) -> Any:
        """
        The redirector points the game at the Blaze proxy, where it creates
        an account, saves and loads settings; the hosts entry is in place
        while the client runs and gone after.
        """
        with open(self.hosts) as f:
            self.assertIn(OUR_LINE, f.read())

        redirect = GameClient(clock=reactor)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port("redirector"), timeout=5)
        outer = yield endpoint.connect(SSLv3ClientFactory(OneProtocolFactory(redirect.protocol), clock=reactor))
        self.addCleanup(lambda: until(lambda: bool(redirect.lost)))
        self.addCleanup(outer.transport.loseConnection)
        # The Blaze protocol is connected once the SSL handshake is done.
        yield until(lambda: redirect.protocol.transport is not None)
        answer = yield redirect.request(5, 1, tdf.encode(ServerInstanceRequest()), ServerInstanceInfo)
        self.assertFalse(answer.secure)
        self.assertEqual(answer.address.value.ip, 0x7F000001)
        self.assertEqual(answer.address.value.port, self.port("blaze"))

        game = GameClient(clock=reactor)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", answer.address.value.port, timeout=5)
        yield connectProtocol(endpoint, game.protocol)
        self.addCleanup(game.disconnect)
        yield game.preAuth()
        created = yield game.createAccount("tali@example.org", "keelah-selai")
        self.assertTrue(created.sessionKey)
        yield game.saveSetting("class3", "20;4;Engineer;20;0;2")
        loaded = yield game.loadSettings()
        self.assertEqual(loaded.settings, {"class3": "20;4;Engineer;20;0;2"})
        game.disconnect()

        yield self.client.stopService()
        with open(self.hosts) as f:
            self.assertEqual(f.read(), "127.0.0.1 localhost\n")

    @defer.inlineCallbacks
    def test_http(self) -> Any:
        """
        The HTTP proxy reaches the server's routes.
        """
        url = f"http://127.0.0.1:{self.port('http')}/api/server/dashboard"
        response = yield Agent(reactor).request(b"GET", url.encode())
        body = yield readBody(response)
        self.assertEqual(response.code, 200)
        self.assertIn("disable_registration", json.loads(body))

    @defer.inlineCallbacks
    def test_qos(self) -> Any:
        """
        A QoS probe is answered with the address the server saw.
        """
        received: defer.Deferred[bytes] = defer.Deferred()

        class Game(DatagramProtocol):
            def datagramReceived(self, datagram: bytes, addr: Any) -> None:
                if not received.called:
                    received.callback(datagram)

        udp = reactor.listenUDP(0, Game(), interface="127.0.0.1")
        self.addCleanup(udp.stopListening)
        probe = struct.pack(">IIIII", 2, 1, 0, 0, 99)
        udp.write(probe, ("127.0.0.1", self.port("qos")))
        reply = yield received.addTimeout(5, reactor)
        self.assertEqual(reply, qosReply(probe, "127.0.0.1", udp.getHost().port))

    @defer.inlineCallbacks
    def test_telemetry(self) -> Any:
        """
        A telemetry record from the game is decoded and forwarded to the
        server, which keeps it in its recent window.
        """
        body = b"A=b\nTLM3=@8a-\x00\n"
        record = b"\x00" * 10 + struct.pack(">H", 12 + len(body)) + body
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port("telemetry"), timeout=5)
        protocol = yield connectProtocol(endpoint, Protocol())
        protocol.transport.write(record)
        self.addCleanup(protocol.transport.loseConnection)
        forwarder = self.client.telemetry
        assert forwarder is not None
        yield until(lambda: forwarder.sent >= 1)
        self.assertTrue(forwarder.enabled)
