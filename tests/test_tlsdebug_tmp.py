from twisted.internet import defer
from twisted.internet.endpoints import connectProtocol
from pocketrelay.client.discovery import loadClientTLS, normaliseServerURL, upstreamEndpoint
from pocketrelay.testing.gameclient import GameClient
from tests import test_tls as T
from tests.test_integration import ServerFixture

class DebugTests(T.TestCase):
    timeout = 60
    @defer.inlineCallbacks
    def connect(self, server, ca):
        game = GameClient(clock=T.reactor)
        ep = upstreamEndpoint(T.reactor, normaliseServerURL(f"https://127.0.0.1:{server.port}/"), loadClientTLS(ca.rootPath))
        up = game.upgrading()
        yield connectProtocol(ep, up)
        yield up.upgraded
        def close():
            t = game.protocol.transport
            if t is not None:
                t.abortConnection()
        self.addCleanup(close)
        return game
    @defer.inlineCallbacks
    def test_dup(self):
        ca = T.TestCA(self.mktemp()); f = ca.issue("server")
        server = ServerFixture(self, ["--listen", f"ssl:0:interface=127.0.0.1:privateKey={f.key}:certKey={f.certificate}:extraCertChain={ca.chainPath}"])
        first = yield self.connect(server, ca)
        yield first.preAuth()
        created = yield first.createAccount("garrus@example.org", "calibrations")
        second = yield self.connect(server, ca)
        yield second.preAuth()
        yield second.silentLogin(created.sessionKey)
        for _ in range(100):
            if first.lost: break
            yield T._sleep(0.02)
        print("first lost:", bool(first.lost), "online:", len(server.hub.online), "sessions", server.hub.sessions)
        self.assertTrue(first.lost)
