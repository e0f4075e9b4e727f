# -*- test-case-name: tests.test_components -*-
"""
Tests for the server's Blaze command handlers (L{pocketrelay.server.components})
as reached through L{Session.requestReceived} and a L{BlazeProtocol} on a
L{StringTransport}, with the in-memory fakes of
L{pocketrelay.testing.server}.

The Authentication component is tested in L{tests.test_components_auth}.
"""

from __future__ import annotations

import inspect
import random
from typing import Any

import attrs
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.blaze import tdf
from pocketrelay.blaze.frames import MessageType
from pocketrelay.blaze.ids import (
    AssociationListsCommand,
    AuthenticationCommand,
    Component,
    GameReportingCommand,
    GameReportingNotification,
    GlobalError,
    MessagingCommand,
    MessagingNotification,
    StatsCommand,
    UserSessionsCommand,
    UserSessionsError,
    UtilCommand,
    UtilError,
    commandName,
)
from pocketrelay.me3.messages.associations import GetListsRequest, Lists
from pocketrelay.me3.messages.auth import FullLoginResponse
from pocketrelay.me3.messages.common import (
    IpAddress,
    IpPairAddress,
    NetworkQosData,
    UserIdentification,
    intToIpv4,
    ipv4ToInt,
    networkAddress,
)
from pocketrelay.me3.messages.gamereporting import (
    GameReport,
    MassEffectPlayerReport,
    MassEffectReport,
    ResultNotification,
    SubmitGameReportRequest,
)
from pocketrelay.me3.messages.messaging import (
    FetchMessageRequest,
    FetchMessageResponse,
    ServerMessage,
    playerObjectId,
)
from pocketrelay.me3.messages.stats import (
    CenteredLeaderboardStatsRequest,
    EntityCount,
    FilteredLeaderboardStatsRequest,
    LeaderboardEntityCountRequest,
    LeaderboardGroupRequest,
    LeaderboardGroupResponse,
    LeaderboardStatsRequest,
    LeaderboardStatValues,
)
from pocketrelay.me3.messages.usersessions import (
    NetworkInfo,
    ResumeSessionRequest,
    UpdateHardwareFlagsRequest,
    UserData,
    UserDataFlags,
)
from pocketrelay.me3.messages.util import (
    COMPONENT_IDS,
    BlazeUpnpFlags,
    ClientMetrics,
    FetchClientConfigRequest,
    FetchConfigResponse,
    GetTelemetryServerResponse,
    GetTickerServerResponse,
    PingResponse,
    PostAuthResponse,
    PreAuthRequest,
    QosPingSiteInfo,
    SuspendUserPingRequest,
    UpnpStatus,
    UserSettingsLoadAllResponse,
    UserSettingsLoadRequest,
    UserSettingsResponse,
    UserSettingsSaveRequest,
)
from pocketrelay.server.components.base import REGISTRY
from pocketrelay.server.components.stats import boardScope
from pocketrelay.server.store import LeaderboardType, Store
from pocketrelay.testing.server import (
    DEFAULT_NOW,
    NoReply,
    ServerTestCase,
    SynchronousStore,
    resultOf,
)

#: Every config id the game asks fetchClientConfig for.
CONFIG_IDS = (
    "ME3_DATA",
    "ME3_MSG",
    "ME3_ENT",
    "ME3_DIME",
    "ME3_BINI_VERSION",
    "ME3_BINI_PC_COMPRESSED",
    "ME3_LIVE_TLK_PC_en",
    "ME3_LIVE_TLK_PC_de",
    "BlazeSDK",
)

_ALWAYS_ALLOWED = {
    (Component.UTIL, UtilCommand.PRE_AUTH),
    (Component.UTIL, UtilCommand.PING),
}

#: Commands that must never run for a session that is not logged in.
_NEED_LOGIN = {
    (Component.UTIL, UtilCommand.POST_AUTH),
    (Component.UTIL, UtilCommand.USER_SETTINGS_SAVE),
    (Component.UTIL, UtilCommand.USER_SETTINGS_LOAD),
    (Component.UTIL, UtilCommand.USER_SETTINGS_LOAD_ALL),
    (Component.AUTHENTICATION, AuthenticationCommand.LOGOUT),
    (Component.AUTHENTICATION, AuthenticationCommand.GET_AUTH_TOKEN),
    (Component.AUTHENTICATION, AuthenticationCommand.LOGIN_PERSONA),
    (Component.AUTHENTICATION, AuthenticationCommand.LIST_USER_ENTITLEMENTS_2),
    (Component.USER_SESSIONS, UserSessionsCommand.UPDATE_NETWORK_INFO),
    (Component.USER_SESSIONS, UserSessionsCommand.UPDATE_HARDWARE_FLAGS),
    (Component.USER_SESSIONS, UserSessionsCommand.LOOKUP_USER),
    (Component.MESSAGING, MessagingCommand.FETCH_MESSAGES),
    (Component.STATS, StatsCommand.GET_LEADERBOARD_GROUP),
    (Component.STATS, StatsCommand.GET_LEADERBOARD),
    (Component.STATS, StatsCommand.GET_CENTERED_LEADERBOARD),
    (Component.STATS, StatsCommand.GET_FILTERED_LEADERBOARD),
    (Component.STATS, StatsCommand.GET_LEADERBOARD_ENTITY_COUNT),
    (Component.ASSOCIATION_LISTS, AssociationListsCommand.GET_LISTS),
    (Component.GAME_REPORTING, GameReportingCommand.SUBMIT_OFFLINE_GAME_REPORT),
}


def _parameters(f: Any) -> list[tuple[str, Any, Any]]:
    """
    The names, kinds and defaults of a function's parameters.
    """
    return [
        (p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()
    ]


class SynchronousStoreTests(SynchronousTestCase):
    """
    L{SynchronousStore} is L{Store} without the worker thread.
    """

    def test_sameApi(self) -> None:
        """
        L{SynchronousStore} has every public method of L{Store} with the
        same signature, and replaces none but C{start} and C{stop}: the
        components see the real store's behaviour.
        """
        for name, member in inspect.getmembers(Store):
            if name.startswith("_"):
                continue
            self.assertTrue(hasattr(SynchronousStore, name), name)
            if not callable(member):
                continue
            self.assertEqual(
                _parameters(getattr(SynchronousStore, name)), _parameters(member), name
            )
            if name not in ("start", "stop"):
                self.assertIs(getattr(SynchronousStore, name), member, name)

    def test_synchronous(self) -> None:
        """
        Operations have fired when they return.
        """
        store = SynchronousStore()
        resultOf(store.start())
        player = resultOf(store.createPlayer("a@example.org", "a", None, now=5))
        self.assertEqual(resultOf(store.getPlayer(player.id)), player)

    def test_hold(self) -> None:
        """
        While holding, operations commit at once but their results are
        delivered, in order, only at C{release}.
        """
        store = SynchronousStore()
        resultOf(store.start())
        store.holding = True
        created = store.createPlayer("a@example.org", "a", None, now=5)
        results: list[Any] = []
        created.addCallback(lambda player: results.append(player.id))
        found: Any = store.getPlayerByEmail("a@example.org")
        found.addCallback(lambda player: results.append(player.email))
        self.assertEqual((results, store.pending), ([], 2))
        store.release()
        self.assertEqual(results, [1, "a@example.org"])

    def test_notRunning(self) -> None:
        """
        A store that is not started refuses operations like L{Store}.
        """
        store = SynchronousStore()
        self.failureResultOf(store.getPlayer(1))


class SessionGateTests(ServerTestCase):
    """
    What a session allows before preAuth and before login, and how it
    answers bad requests and goes away.
    """

    def test_beforePreAuth(self) -> None:
        """
        Before Util.preAuth every routed command except preAuth and ping,
        and an unrouted one, is answered AUTHENTICATION_REQUIRED (0x4004),
        each with a log event naming the command.
        """
        connection = self.server.connect()
        refused = [key for key in REGISTRY.commands if key not in _ALWAYS_ALLOWED]
        refused.append((Component.UTIL, 0x3FF))
        self.assertGreater(len(refused), 20)
        for component, command in refused:
            self.assertEqual(
                connection.error(component, command),
                GlobalError.AUTHENTICATION_REQUIRED,
                commandName(component, command),
            )
            self.assertLogged("before preAuth", commandName(component, command))
        self.assertFalse(connection.session.preAuthed)
        self.assertFalse(connection.transport.disconnecting)

    def test_pingBeforePreAuth(self) -> None:
        """
        Util.ping is answered before preAuth.
        """
        connection = self.server.connect()
        pong = connection.call(Component.UTIL, UtilCommand.PING, reply=PingResponse)
        self.assertEqual(pong.serverTime, DEFAULT_NOW)

    def test_loginRequired(self) -> None:
        """
        After preAuth but before login, every command that acts for a
        player is answered AUTHENTICATION_REQUIRED (0x4004).
        """
        connection = self.server.connect(preAuth=True)
        needLogin = {key for key, spec in REGISTRY.commands.items() if spec.auth}
        self.assertEqual(_NEED_LOGIN - needLogin, set())
        for component, command in sorted(needLogin):
            self.assertEqual(
                connection.error(component, command),
                GlobalError.AUTHENTICATION_REQUIRED,
                commandName(component, command),
            )

    def test_unroutedAfterPreAuth(self) -> None:
        """
        After preAuth a command without a handler gets an empty reply, as
        the game waits for an answer to every request.
        """
        connection = self.server.connect(preAuth=True)
        reply = connection.request(Component.UTIL, 0x3FF)
        self.assertEqual((reply.type, reply.body), (MessageType.REPLY, b""))

    def test_malformedBody(self) -> None:
        """
        A request whose body does not decode as the command's request
        struct is answered SYSTEM (0x4001) with a log line; the connection
        stays open and the next request is answered.
        """
        connection = self.server.connect(preAuth=True)
        garbage = tdf.encodeTag("CFID") + bytes([tdf.TdfType.STRING, 0x3F, 0x41])
        self.assertEqual(
            connection.error(Component.UTIL, UtilCommand.FETCH_CLIENT_CONFIG, garbage),
            GlobalError.SYSTEM,
        )
        self.assertLogged("Malformed", "fetchClientConfig")
        self.assertFalse(connection.transport.disconnecting)
        config = connection.call(
            Component.UTIL,
            UtilCommand.FETCH_CLIENT_CONFIG,
            FetchClientConfigRequest("ME3_BINI_VERSION"),
            FetchConfigResponse,
        )
        self.assertEqual(config.config["VERSION"], "40128")

    def test_malformedBodyLoggedIn(self) -> None:
        """
        A logged-in command with an undecodable body is answered SYSTEM
        too, and the session stays logged in.
        """
        connection = self.server.loggedIn("garrus@example.org")
        self.assertEqual(
            connection.error(
                Component.UTIL, UtilCommand.USER_SETTINGS_SAVE, b"\xff\xff\xff"
            ),
            GlobalError.SYSTEM,
        )
        self.assertIsNotNone(connection.session.player)
        connection.call(Component.UTIL, UtilCommand.POST_AUTH, reply=PostAuthResponse)

    def test_disconnectForgets(self) -> None:
        """
        A session whose connection closes is removed from C{hub.sessions}
        and, if logged in, from C{hub.online}.
        """
        anonymous = self.server.connect()
        connection = self.server.loggedIn("tali@example.org")
        playerId = self.player(connection).id
        self.assertIs(
            self.hub.sessions[connection.session.sessionId], connection.session
        )
        self.assertIs(self.hub.online[playerId], connection.session)
        connection.lose()
        anonymous.lose()
        self.assertEqual(self.hub.sessions, {})
        self.assertEqual(self.hub.online, {})
        self.assertTrue(connection.session.closed)
        self.assertTrue(anonymous.session.closed)


class UtilTests(ServerTestCase):
    """
    Util (component 9).
    """

    def test_preAuthLocalQos(self) -> None:
        """
        preAuth marks the session pre-authenticated and answers with the
        C{BlazeSDK} config (C{pingPeriod} 15s), the component list and, for
        C{qos.type = local}, the player's local client at
        127.0.0.1:42131 as the one C{ea-sjc} ping site.
        """
        connection = self.server.connect()
        reply = connection.preAuth()
        self.assertTrue(connection.session.preAuthed)
        self.assertEqual(reply.config.config["pingPeriod"], "15s")
        self.assertEqual(reply.componentIds, list(COMPONENT_IDS))
        self.assertIn(Component.USER_SESSIONS, reply.componentIds)
        qos = reply.qosSettings
        self.assertEqual(list(qos.pingSites), ["ea-sjc"])
        site = qos.pingSites["ea-sjc"]
        self.assertEqual((site.address, site.port), ("127.0.0.1", 42131))
        self.assertEqual(
            (qos.bandwidthPingSite.address, qos.bandwidthPingSite.port),
            ("127.0.0.1", 42131),
        )


class QosDisabledTests(ServerTestCase):
    """
    preAuth with C{qos.type = disabled}.
    """

    overrides = (("qos.type", "disabled"),)

    def test_preAuthDisabledQos(self) -> None:
        """
        With QoS disabled the ping site map C{LTPS} is empty.
        """
        reply = self.server.connect().preAuth()
        self.assertEqual(reply.qosSettings.pingSites, {})
        self.assertEqual(reply.config.config["pingPeriod"], "15s")

    def test_noOfficialHost(self) -> None:
        """
        With QoS disabled the C{QOSS} section names no QoS host at all (not
        EA's retired one): the bandwidth site C{BWPS} is the reference
        server's empty site (C{PSA} "0", C{PSP} 0), C{LTPS} an empty map.
        """
        frame = self.server.connect().request(
            Component.UTIL, UtilCommand.PRE_AUTH, PreAuthRequest()
        )
        qos = tdf.decodeStruct(frame.body)["QOSS"]
        self.assertEqual([m.tag for m in qos.members], ["BWPS", "LNP", "LTPS", "SVID"])
        site = qos["BWPS"]
        self.assertEqual(
            [(m.tag, m.value) for m in site.members],
            [("PSA", "0"), ("PSP", 0), ("SNA", "prod-sjc")],
        )
        self.assertEqual(qos["LTPS"].items, ())
        self.assertNotIn(b"ea.com", frame.body)


class QosCustomTests(ServerTestCase):
    """
    preAuth with C{qos.type = custom}.
    """

    overrides = (
        ("qos.type", "custom"),
        ("qos.host", "qos.example.net"),
        ("qos.port", 17499),
    )

    def test_preAuthCustomQos(self) -> None:
        """
        With a custom QoS server, the ping site and the bandwidth site
        are the configured host and port.
        """
        qos = self.server.connect().preAuth().qosSettings
        site = qos.pingSites["ea-sjc"]
        self.assertEqual((site.address, site.port), ("qos.example.net", 17499))
        self.assertEqual(
            (qos.bandwidthPingSite.address, qos.bandwidthPingSite.port),
            ("qos.example.net", 17499),
        )


class QosOfficialTests(ServerTestCase):
    """
    preAuth with C{qos.type = official}.
    """

    overrides = (("qos.type", "official"),)

    def test_preAuthOfficialQos(self) -> None:
        """
        With the official QoS type, the ping site is EA's former QoS host.
        """
        qos = self.server.connect().preAuth().qosSettings
        self.assertEqual(qos.pingSites, {"ea-sjc": QosPingSiteInfo()})


class UtilLoggedInTests(ServerTestCase):
    """
    Util commands of a logged-in player.
    """

    def setUp(self) -> None:
        super().setUp()
        self.connection = self.server.loggedIn("shepard@example.org")
        self.protocol = self.connection.protocol

    def test_postAuth(self) -> None:
        """
        postAuth's C{UROP.UID} is the player's id.
        """
        reply = self.connection.call(
            Component.UTIL, UtilCommand.POST_AUTH, reply=PostAuthResponse
        )
        self.assertEqual(reply.userOptions.userId, self.player(self.connection).id)
        self.assertNotEqual(reply.userOptions.userId, 0)

    def test_pingTime(self) -> None:
        """
        ping's C{STIM} is the clock's time in Unix seconds.
        """
        self.server.clock.advance(123.7)
        pong = self.connection.call(
            Component.UTIL, UtilCommand.PING, reply=PingResponse
        )
        self.assertEqual(pong.serverTime, DEFAULT_NOW + 123)

    def test_suspendUserPingGranted(self) -> None:
        """
        suspendUserPing for exactly 90 s is answered with the error
        PING_SUSPENDED (0x12E) and extends the idle timeout by 90 s: the
        connection survives a silence longer than the idle timeout.
        """
        idle = self.hub.settings["limits.idle_timeout"]
        self.assertEqual(self.protocol.timeOut, idle)
        code = self.connection.error(
            Component.UTIL,
            UtilCommand.SUSPEND_USER_PING,
            SuspendUserPingRequest(90_000_000),
        )
        self.assertEqual(code, UtilError.PING_SUSPENDED)
        self.assertEqual(self.protocol.timeOut, idle + 90)
        self.server.clock.advance(idle + 30)
        self.assertFalse(self.connection.transport.disconnecting)
        self.server.clock.advance(61)
        self.assertTrue(self.connection.transport.disconnecting)

    def test_suspensionEndsWithPing(self) -> None:
        """
        The next ping after a granted suspension restores the normal idle
        timeout.
        """
        idle = self.hub.settings["limits.idle_timeout"]
        self.connection.error(
            Component.UTIL,
            UtilCommand.SUSPEND_USER_PING,
            SuspendUserPingRequest(90_000_000),
        )
        self.server.clock.advance(30)
        self.connection.call(Component.UTIL, UtilCommand.PING, reply=PingResponse)
        self.assertEqual(self.protocol.timeOut, idle)
        self.server.clock.advance(idle - 1)
        self.assertFalse(self.connection.transport.disconnecting)
        self.server.clock.advance(2)
        self.assertTrue(self.connection.transport.disconnecting)

    def test_suspendUserPingRefused(self) -> None:
        """
        A suspension shorter than 90 s is answered
        SUSPEND_PING_TIME_TOO_SMALL (0x12D), a longer one
        SUSPEND_PING_TIME_TOO_LARGE (0x12C); the idle timeout is unchanged.
        """
        idle = self.hub.settings["limits.idle_timeout"]
        for value, expected in (
            (89_999_999, UtilError.SUSPEND_PING_TIME_TOO_SMALL),
            (0, UtilError.SUSPEND_PING_TIME_TOO_SMALL),
            (-1, UtilError.SUSPEND_PING_TIME_TOO_SMALL),
            (90_000_001, UtilError.SUSPEND_PING_TIME_TOO_LARGE),
            (2**63, UtilError.SUSPEND_PING_TIME_TOO_LARGE),
        ):
            code = self.connection.error(
                Component.UTIL,
                UtilCommand.SUSPEND_USER_PING,
                SuspendUserPingRequest(value),
            )
            self.assertEqual(code, expected, value)
            self.assertEqual(self.protocol.timeOut, idle)

    def test_fetchClientConfig(self) -> None:
        """
        Every config id the game asks for is answered with a map; ME3_DATA
        has the Galaxy at War URL; an unknown id gets an empty map.
        """
        for configId in CONFIG_IDS:
            reply = self.connection.call(
                Component.UTIL,
                UtilCommand.FETCH_CLIENT_CONFIG,
                FetchClientConfigRequest(configId),
                FetchConfigResponse,
            )
            self.assertIsInstance(reply.config, dict, configId)
            self.assertEqual(reply.config, self.hub.gameData.clientConfig(configId))
        data = self.connection.call(
            Component.UTIL,
            UtilCommand.FETCH_CLIENT_CONFIG,
            FetchClientConfigRequest("ME3_DATA"),
            FetchConfigResponse,
        )
        self.assertIn("GAW_SERVER_BASE_URL", data.config)
        unknown = self.connection.call(
            Component.UTIL,
            UtilCommand.FETCH_CLIENT_CONFIG,
            FetchClientConfigRequest("NO_SUCH_CONFIG"),
            FetchConfigResponse,
        )
        self.assertEqual(unknown.config, {})

    def test_telemetryAndTicker(self) -> None:
        """
        getTelemetryServer and getTickerServer point at the client-local
        servers.
        """
        tele = self.connection.call(
            Component.UTIL,
            UtilCommand.GET_TELEMETRY_SERVER,
            reply=GetTelemetryServerResponse,
        )
        self.assertEqual((tele.address, tele.port), ("127.0.0.1", 42129))
        tick = self.connection.call(
            Component.UTIL, UtilCommand.GET_TICKER_SERVER, reply=GetTickerServerResponse
        )
        self.assertEqual((tick.address, tick.port), ("127.0.0.1", 8999))

    def save(self, key: str, data: str) -> Any:
        return self.connection.request(
            Component.UTIL,
            UtilCommand.USER_SETTINGS_SAVE,
            UserSettingsSaveRequest(data, key),
        )

    def test_settingsSaveLoad(self) -> None:
        """
        Saved settings are returned by userSettingsLoad (one key) and
        userSettingsLoadAll (every key); saving a key again replaces it.
        """
        self.assertEqual(self.save("Base", "20;4;1").body, b"")
        self.save("class1", "20;4;Adept")
        self.save("Base", "20;4;2")
        one = self.connection.call(
            Component.UTIL,
            UtilCommand.USER_SETTINGS_LOAD,
            UserSettingsLoadRequest("class1"),
            UserSettingsResponse,
        )
        self.assertEqual((one.key, one.data), ("class1", "20;4;Adept"))
        everything = self.connection.call(
            Component.UTIL,
            UtilCommand.USER_SETTINGS_LOAD_ALL,
            reply=UserSettingsLoadAllResponse,
        )
        self.assertEqual(
            everything.settings, {"Base": "20;4;2", "class1": "20;4;Adept"}
        )
        playerId = self.player(self.connection).id
        self.assertEqual(
            resultOf(self.store.getPlayerData(playerId)),
            {"Base": "20;4;2", "class1": "20;4;Adept"},
        )

    def test_settingsReplyAfterCommit(self) -> None:
        """
        The reply to userSettingsSave is sent only once the store has
        confirmed the write.
        """
        self.store.holding = True
        seq = self.connection.send(
            Component.UTIL,
            UtilCommand.USER_SETTINGS_SAVE,
            UserSettingsSaveRequest("x", "Base"),
        )
        self.assertIsNone(self.connection.replyTo(seq))
        self.store.release()
        reply = self.connection.replyTo(seq)
        assert reply is not None
        self.assertEqual(reply.type, MessageType.REPLY)

    def test_settingsLoadMissing(self) -> None:
        """
        userSettingsLoad of a key never saved is answered
        USS_RECORD_NOT_FOUND (0xC8).
        """
        code = self.connection.error(
            Component.UTIL,
            UtilCommand.USER_SETTINGS_LOAD,
            UserSettingsLoadRequest("nope"),
        )
        self.assertEqual(code, UtilError.USS_RECORD_NOT_FOUND)

    def test_settingsLoadAllEmpty(self) -> None:
        """
        userSettingsLoadAll of a new player is an empty map.
        """
        everything = self.connection.call(
            Component.UTIL,
            UtilCommand.USER_SETTINGS_LOAD_ALL,
            reply=UserSettingsLoadAllResponse,
        )
        self.assertEqual(everything.settings, {})

    def test_settingsKeyTooLong(self) -> None:
        """
        A key of 65 characters is refused with a Blaze error reply on save
        and on load, with a log line and no logged traceback; nothing is
        stored and the connection stays usable.
        """
        key = "k" * 65
        saved = self.save(key, "value")
        self.assertEqual(saved.type, MessageType.ERROR_REPLY)
        self.assertNotEqual(saved.error, GlobalError.SYSTEM)
        loaded = self.connection.request(
            Component.UTIL, UtilCommand.USER_SETTINGS_LOAD, UserSettingsLoadRequest(key)
        )
        self.assertEqual(loaded.type, MessageType.ERROR_REPLY)
        self.assertEqual(loaded.error, UtilError.USS_RECORD_NOT_FOUND)
        self.assertLogged("k" * 64)
        self.assertEqual(
            resultOf(self.store.getPlayerData(self.player(self.connection).id)), {}
        )
        self.assertEqual(self.save("k" * 64, "value").type, MessageType.REPLY)


class UserSessionsTests(ServerTestCase):
    """
    UserSessions (component 0x7802).
    """

    def setUp(self) -> None:
        super().setUp()
        self.connection = self.server.loggedIn(
            "liara@example.org", peerHost="203.0.113.50"
        )

    def updateNetworkInfo(self, external: str = "0.0.0.0", port: int = 0) -> None:
        info = NetworkInfo(
            address=networkAddress(
                IpPairAddress(
                    external=IpAddress(ipv4ToInt(external), port),
                    internal=IpAddress(ipv4ToInt("192.168.1.20"), 3659),
                )
            ),
            pingSiteLatencies={"ea-sjc": 42},
            qosData=NetworkQosData(natType=1),
        )
        reply = self.connection.request(
            Component.USER_SESSIONS, UserSessionsCommand.UPDATE_NETWORK_INFO, info
        )
        self.assertEqual((reply.type, reply.body), (MessageType.REPLY, b""))

    def external(self) -> tuple[str, int]:
        value = self.connection.session.network.address.value
        assert isinstance(value, IpPairAddress)
        return intToIpv4(value.external.ip), value.external.port

    def setUpnp(self, status: int, wan: str, flags: int = 0) -> None:
        metrics = ClientMetrics(
            blazeFlags=flags, status=status, wanAddress=ipv4ToInt(wan)
        )
        reply = self.connection.request(
            Component.UTIL, UtilCommand.SET_CLIENT_METRICS, metrics
        )
        self.assertEqual(reply.type, MessageType.REPLY)

    def test_externalAddressFromPeer(self) -> None:
        """
        An external address of 0 is replaced by the address the server
        sees with the internal port; the ping latencies and QoS are kept.
        """
        self.updateNetworkInfo()
        self.assertEqual(self.external(), ("203.0.113.50", 3659))
        network = self.connection.session.network
        self.assertEqual(network.pingSiteLatency, {"ea-sjc": 42})
        self.assertEqual(network.qos, NetworkQosData(natType=1))

    def test_externalAddressKept(self) -> None:
        """
        An external address the game found itself is kept.
        """
        self.updateNetworkInfo("198.51.100.1", 3659)
        self.assertEqual(self.external(), ("198.51.100.1", 3659))

    def test_upnpAddress(self) -> None:
        """
        After an UPnP report (enabled, a WAN address, no double NAT), the
        WAN address is the external address.
        """
        self.setUpnp(UpnpStatus.ENABLED, "198.51.100.9")
        self.updateNetworkInfo()
        self.assertEqual(self.external(), ("198.51.100.9", 3659))

    def test_upnpIgnored(self) -> None:
        """
        An UPnP report behind double NAT, or with UPnP only found, does
        not change the external address.
        """
        self.setUpnp(UpnpStatus.ENABLED, "198.51.100.9", BlazeUpnpFlags.DOUBLE_NAT)
        self.setUpnp(UpnpStatus.FOUND, "198.51.100.10")
        self.updateNetworkInfo()
        self.assertEqual(self.external(), ("203.0.113.50", 3659))

    def test_upnpAddressNotIpv4(self) -> None:
        """
        A WAN address that does not fit 32 bits is not an IPv4 address and
        is ignored.
        """
        metrics = ClientMetrics(status=UpnpStatus.ENABLED, wanAddress=2**40 + 5)
        reply = self.connection.request(
            Component.UTIL, UtilCommand.SET_CLIENT_METRICS, metrics
        )
        self.assertEqual(reply.type, MessageType.REPLY)
        self.updateNetworkInfo()
        self.assertEqual(self.external(), ("203.0.113.50", 3659))

    def test_ipv6Peer(self) -> None:
        """
        A game connected over IPv6 that did not find its external address
        keeps the address it sent (there is no IPv4 address to fill in).
        """
        self.connection = self.server.loggedIn(
            "grunt@example.org", peerHost="2001:db8::7"
        )
        self.updateNetworkInfo()
        self.assertEqual(self.external(), ("0.0.0.0", 0))

    def test_hardwareFlags(self) -> None:
        """
        updateHardwareFlags is kept on the session.
        """
        reply = self.connection.request(
            Component.USER_SESSIONS,
            UserSessionsCommand.UPDATE_HARDWARE_FLAGS,
            UpdateHardwareFlagsRequest(1),
        )
        self.assertEqual(reply.type, MessageType.REPLY)
        self.assertEqual(self.connection.session.network.hardwareFlags, 1)

    def test_lookupUser(self) -> None:
        """
        lookupUser of an online player answers with that player's name,
        id and the subscribed and online flags; a player outside its game
        gets no network address (tests.test_components_games has more).
        """
        self.updateNetworkInfo()
        other = self.server.loggedIn("wrex@example.org", peerHost="203.0.113.60")
        target = self.player(self.connection)
        data = other.call(
            Component.USER_SESSIONS,
            UserSessionsCommand.LOOKUP_USER,
            UserIdentification(blazeId=target.id),
            UserData,
        )
        self.assertEqual(data.user.name, "liara")
        self.assertEqual(data.user.blazeId, target.id)
        self.assertEqual(
            data.statusFlags, UserDataFlags.SUBSCRIBED | UserDataFlags.ONLINE
        )
        self.assertTrue(self.connection.session.network.address.isSet)
        self.assertFalse(data.extendedData.address.isSet)

    def test_lookupUnknownUser(self) -> None:
        """
        lookupUser of a player who is not online is answered
        USER_NOT_FOUND (0x0B).
        """
        offline = self.server.createPlayer("mordin@example.org")
        for playerId in (offline.id, 999, 2**64 - 1):
            code = self.connection.error(
                Component.USER_SESSIONS,
                UserSessionsCommand.LOOKUP_USER,
                UserIdentification(blazeId=playerId),
            )
            self.assertEqual(code, UserSessionsError.USER_NOT_FOUND)

    def test_resumeSession(self) -> None:
        """
        resumeSession with a login token logs a new connection in to that
        player.
        """
        player = self.player(self.connection)
        token = self.server.signer.issueToken(player.id)
        fresh = self.server.connect(preAuth=True)
        reply = fresh.call(
            Component.USER_SESSIONS,
            UserSessionsCommand.RESUME_SESSION,
            ResumeSessionRequest(token),
            FullLoginResponse,
        )
        self.assertEqual(reply.session.blazeUserId, player.id)
        self.assertEqual(reply.session.email, "liara@example.org")
        self.assertEqual(
            self.server.signer.verifyToken(reply.session.sessionKey), player.id
        )
        self.assertIs(self.hub.online[player.id], fresh.session)


class MenuMessageTests(ServerTestCase):
    """
    Messaging (component 0xF).
    """

    overrides = (("menu_message", "Hello {n} - pocketrelay {v}"),)

    def test_fetchMessages(self) -> None:
        """
        fetchMessages replies C{MCNT} 1 and then, after the reply on the
        wire, sends the menu message with the player's name and the
        server version, addressed to the player.
        """
        connection = self.server.loggedIn("jack@example.org")
        seq = connection.send(
            Component.MESSAGING, MessagingCommand.FETCH_MESSAGES, FetchMessageRequest()
        )
        frames = connection.written()
        reply = connection.replyTo(seq)
        assert reply is not None
        self.assertEqual(tdf.decode(FetchMessageResponse, reply.body).count, 1)
        [note] = connection.notifications(
            Component.MESSAGING, MessagingNotification.MESSAGE
        )
        self.assertLess(frames.index(reply), frames.index(note))
        message = tdf.decode(ServerMessage, note.body)
        version = self.hub.gameData.context.serverVersion
        self.assertEqual(message.sourceName, f"Hello jack - pocketrelay {version}\n")
        player = self.player(connection)
        self.assertEqual(message.payload.target, playerObjectId(player.id))
        self.assertEqual(message.source, playerObjectId(player.id))


class AssociationListsTests(ServerTestCase):
    """
    AssociationLists (component 0x19).
    """

    def test_getLists(self) -> None:
        """
        getLists answers with one empty friend list.
        """
        connection = self.server.loggedIn("kasumi@example.org")
        lists = connection.call(
            Component.ASSOCIATION_LISTS,
            AssociationListsCommand.GET_LISTS,
            GetListsRequest(),
            Lists,
        )
        [friends] = lists.lists
        self.assertEqual(friends.info.listId.listName, "friendList")
        self.assertEqual(friends.members, [])


class StatsTests(ServerTestCase):
    """
    Stats (component 7): leaderboards.
    """

    #: N7 ratings by account; two share a value (ties rank by player id).
    ratings = {"p1": 300, "p2": 500, "p3": 100, "p4": 400, "p5": 300, "p6": 50}

    def setUp(self) -> None:
        super().setUp()
        self.ids: dict[str, int] = {}
        for name, value in self.ratings.items():
            player = self.server.createPlayer(f"{name}@example.org")
            self.ids[name] = player.id
            resultOf(
                self.store.setLeaderboardValue(
                    LeaderboardType.N7_RATING, player.id, value
                )
            )
        resultOf(
            self.store.setLeaderboardValue(
                LeaderboardType.CHALLENGE_POINTS, self.ids["p6"], 7
            )
        )
        self.connection = self.server.loggedIn("p1@example.org")

    def rows(self, command: int, request: Any) -> list[tuple[str, int, int, str]]:
        reply = self.connection.call(
            Component.STATS, command, request, LeaderboardStatValues
        )
        return [
            (row.entityName, row.entityId, row.rank, row.rankedStat)
            for row in reply.rows
        ]

    def row(self, name: str, rank: int) -> tuple[str, int, int, str]:
        return (name, self.ids[name], rank, str(self.ratings[name]))

    def test_group(self) -> None:
        """
        getLeaderboardGroup describes the N7 rating and challenge point
        boards for any locale suffix.
        """
        n7 = self.connection.call(
            Component.STATS,
            StatsCommand.GET_LEADERBOARD_GROUP,
            LeaderboardGroupRequest(boardName="N7RatingGlobal"),
            LeaderboardGroupResponse,
        )
        self.assertEqual(
            (n7.boardName, n7.name), ("N7RatingGlobal", "ME3LeaderboardGroup")
        )
        self.assertEqual(n7.description, "N7 Rating - Global")
        self.assertEqual([column.name for column in n7.columns], ["n7rating"])
        points = self.connection.call(
            Component.STATS,
            StatsCommand.GET_LEADERBOARD_GROUP,
            LeaderboardGroupRequest(boardName="ChallengePointsGlobal"),
            LeaderboardGroupResponse,
        )
        self.assertEqual(points.name, "ME3ChallengePoints")
        self.assertEqual(
            [column.name for column in points.columns], ["ChallengePoints"]
        )
        local = self.connection.call(
            Component.STATS,
            StatsCommand.GET_LEADERBOARD_GROUP,
            LeaderboardGroupRequest(boardName="N7RatingDE"),
            LeaderboardGroupResponse,
        )
        self.assertEqual(local.description, "N7 Rating - Germany")

    def groupWire(self, boardName: str) -> Any:
        frame = self.connection.request(
            Component.STATS,
            StatsCommand.GET_LEADERBOARD_GROUP,
            LeaderboardGroupRequest(boardName=boardName),
        )
        self.assertEqual(frame.type, MessageType.REPLY)
        return tdf.decodeStruct(frame.body)

    def test_groupCountryWire(self) -> None:
        """
        A country board's group is scoped, as EA's server sent it, to the
        country code as C{KSVL} key and value (17477, "DE") and described
        with the country's name; the global board's scope is 0.
        """
        for name, description, scope in (
            ("N7RatingDE", "N7 Rating - Germany", 17477),
            ("ChallengePointsDE", "Challenge Points - Germany", 0x4445),
            ("N7RatingUS", "N7 Rating - United States", 0x5553),
            ("N7RatingGlobal", "N7 Rating - Global", 0),
            ("ChallengePointsGlobal", "Challenge Points - Global", 0),
        ):
            decoded = self.groupWire(name)
            self.assertEqual(decoded["BNAM"], name)
            self.assertEqual(decoded["DESC"], description)
            ksum = decoded["KSUM"]
            self.assertEqual([key for key, _ in ksum.items], ["accountcountry"])
            ksvl = ksum.asDict()["accountcountry"]["KSVL"]
            self.assertEqual(
                (ksvl.keyType, ksvl.valueType, ksvl.items),
                (tdf.TdfType.INT, tdf.TdfType.INT, ((scope, scope),)),
            )

    def test_boardScope(self) -> None:
        """
        A two-letter suffix (any case) is a country, named when known; any
        other suffix is global, scope 0.
        """
        self.assertEqual(boardScope("N7Ratingde", "N7Rating"), ("Germany", 0x4445))
        self.assertEqual(boardScope("N7RatingZZ", "N7Rating"), ("ZZ", 0x5A5A))
        self.assertEqual(boardScope("N7Rating", "N7Rating"), ("Global", 0))
        self.assertEqual(boardScope("N7Rating12", "N7Rating"), ("12", 0))
        self.assertEqual(boardScope("N7RatingÄÖ", "N7Rating"), ("ÄÖ", 0))

    def test_groupCategories(self) -> None:
        """
        The stat column's category is "MassEffectStats" for the N7 rating
        and "ME3ChallengeStats" for challenge points, as EA's server sent.
        """
        for name, category, stat in (
            ("N7RatingGlobal", "MassEffectStats", "n7rating"),
            ("ChallengePointsDE", "ME3ChallengeStats", "ChallengePoints"),
        ):
            (column,) = self.groupWire(name)["LIST"].items
            self.assertEqual((column["CATG"], column["NAME"]), (category, stat))

    def test_groupUnknown(self) -> None:
        """
        getLeaderboardGroup of an unknown board is answered empty.
        """
        reply = self.connection.request(
            Component.STATS,
            StatsCommand.GET_LEADERBOARD_GROUP,
            LeaderboardGroupRequest(boardName="KillsGlobal"),
        )
        self.assertEqual((reply.type, reply.body), (MessageType.REPLY, b""))

    def test_pages(self) -> None:
        """
        getLeaderboard pages carry global ranks, ties broken by player id.
        """
        first = self.rows(
            StatsCommand.GET_LEADERBOARD,
            LeaderboardStatsRequest(boardName="N7RatingGlobal", rankStart=0, count=3),
        )
        self.assertEqual(
            first, [self.row("p2", 1), self.row("p4", 2), self.row("p1", 3)]
        )
        second = self.rows(
            StatsCommand.GET_LEADERBOARD,
            LeaderboardStatsRequest(boardName="N7RatingGlobal", rankStart=3, count=10),
        )
        self.assertEqual(
            second, [self.row("p5", 4), self.row("p3", 5), self.row("p6", 6)]
        )

    def test_pageLimits(self) -> None:
        """
        Negative and huge starts and counts give an empty page or the
        clipped page, never an error.
        """
        for start, count in (
            (-5, 2),
            (0, -1),
            (2**63 - 1, 5),
            (2**64 - 1, 5),
            (0, 2**63),
        ):
            rows = self.rows(
                StatsCommand.GET_LEADERBOARD,
                LeaderboardStatsRequest(
                    boardName="N7RatingGlobal", rankStart=start, count=count
                ),
            )
            self.assertLessEqual(len(rows), 6, (start, count))

    def test_centered(self) -> None:
        """
        getCenteredLeaderboard answers the window around the player with
        global ranks; near the top the window starts at rank 1; a player
        not on the board gets no rows.
        """
        around = self.rows(
            StatsCommand.GET_CENTERED_LEADERBOARD,
            CenteredLeaderboardStatsRequest(
                boardName="N7RatingGlobal", center=self.ids["p3"], count=3
            ),
        )
        self.assertEqual(
            around, [self.row("p5", 4), self.row("p3", 5), self.row("p6", 6)]
        )
        top = self.rows(
            StatsCommand.GET_CENTERED_LEADERBOARD,
            CenteredLeaderboardStatsRequest(
                boardName="N7RatingGlobal", center=self.ids["p2"], count=3
            ),
        )
        self.assertEqual(top, [self.row("p2", 1), self.row("p4", 2), self.row("p1", 3)])
        absent = self.rows(
            StatsCommand.GET_CENTERED_LEADERBOARD,
            CenteredLeaderboardStatsRequest(
                boardName="N7RatingGlobal", center=999, count=3
            ),
        )
        self.assertEqual(absent, [])

    def test_filtered(self) -> None:
        """
        getFilteredLeaderboard answers the named players with their global
        ranks (not 1, 2, ...), in rank order, leaving out players not on
        the board.
        """
        rows = self.rows(
            StatsCommand.GET_FILTERED_LEADERBOARD,
            FilteredLeaderboardStatsRequest(
                boardName="N7RatingGlobal", ids=[self.ids["p6"], 999, self.ids["p1"]]
            ),
        )
        self.assertEqual(rows, [self.row("p1", 3), self.row("p6", 6)])

    def test_filteredEmpty(self) -> None:
        """
        getFilteredLeaderboard without ids answers no rows.
        """
        rows = self.rows(
            StatsCommand.GET_FILTERED_LEADERBOARD,
            FilteredLeaderboardStatsRequest(boardName="N7RatingGlobal", ids=[]),
        )
        self.assertEqual(rows, [])

    def test_filteredManyIds(self) -> None:
        """
        A filtered query naming more ids than the store accepts in one
        query is still answered with the rows of the first ids.
        """
        ids = [self.ids["p2"], *range(10_000, 12_000)]
        rows = self.rows(
            StatsCommand.GET_FILTERED_LEADERBOARD,
            FilteredLeaderboardStatsRequest(boardName="N7RatingGlobal", ids=ids),
        )
        self.assertEqual(rows, [self.row("p2", 1)])

    def test_badPlayerIds(self) -> None:
        """
        Player ids outside the 64-bit signed range in centered and
        filtered queries give no rows, not an error.
        """
        centered = self.rows(
            StatsCommand.GET_CENTERED_LEADERBOARD,
            CenteredLeaderboardStatsRequest(
                boardName="N7RatingGlobal", center=2**64 - 1, count=3
            ),
        )
        self.assertEqual(centered, [])
        filtered = self.rows(
            StatsCommand.GET_FILTERED_LEADERBOARD,
            FilteredLeaderboardStatsRequest(
                boardName="N7RatingGlobal", ids=[2**64 - 1]
            ),
        )
        self.assertEqual(filtered, [])

    def test_entityCount(self) -> None:
        """
        getLeaderboardEntityCount counts the players on each board.
        """
        for name, expected in (
            ("N7RatingGlobal", 6),
            ("ChallengePointsGlobal", 1),
            ("KillsGlobal", 0),
        ):
            reply = self.connection.call(
                Component.STATS,
                StatsCommand.GET_LEADERBOARD_ENTITY_COUNT,
                LeaderboardEntityCountRequest(boardName=name),
                EntityCount,
            )
            self.assertEqual(reply.count, expected, name)

    def test_boardsSeparate(self) -> None:
        """
        The challenge point board has its own values and ranks.
        """
        rows = self.rows(
            StatsCommand.GET_LEADERBOARD,
            LeaderboardStatsRequest(boardName="ChallengePointsGlobal", count=10),
        )
        self.assertEqual(rows, [("p6", self.ids["p6"], 1, "7")])

    def test_unknownBoard(self) -> None:
        """
        An unknown board gives no rows for pages, centered and filtered
        queries.
        """
        for command, request in (
            (
                StatsCommand.GET_LEADERBOARD,
                LeaderboardStatsRequest(boardName="Kills", count=5),
            ),
            (
                StatsCommand.GET_CENTERED_LEADERBOARD,
                CenteredLeaderboardStatsRequest(
                    boardName="Kills", center=self.ids["p1"], count=5
                ),
            ),
            (
                StatsCommand.GET_FILTERED_LEADERBOARD,
                FilteredLeaderboardStatsRequest(
                    boardName="Kills", ids=[self.ids["p1"]]
                ),
            ),
        ):
            self.assertEqual(self.rows(command, request), [], command)


def _report(
    players: dict[int, tuple[int, int]], reportingId: int = 77
) -> SubmitGameReportRequest:
    """
    A submitOfflineGameReport request whose C{GAME} value carries
    C{PLYR} with (challenge points, N7 rating) per player id.
    """
    game = MassEffectReport(
        players={
            playerId: MassEffectPlayerReport(
                country=0x656E4E5A, challengePoints=points, n7Rating=rating
            )
            for playerId, (points, rating) in players.items()
        }
    )
    struct = tdf.decodeStruct(tdf.encode(game))
    return SubmitGameReportRequest(
        report=GameReport(
            game=tdf.VariableValue(
                0x1C0001, tdf.Member("GAME", tdf.TdfType.STRUCT, struct)
            ),
            gameReportingId=reportingId,
        )
    )


class GameReportingTests(ServerTestCase):
    """
    GameReporting (component 0x1C).
    """

    def setUp(self) -> None:
        super().setUp()
        self.connection = self.server.loggedIn("miranda@example.org")
        self.own = self.player(self.connection).id
        self.other = self.server.createPlayer("jacob@example.org").id
        resultOf(
            self.store.setLeaderboardValue(LeaderboardType.N7_RATING, self.other, 10)
        )
        resultOf(
            self.store.setLeaderboardValue(
                LeaderboardType.CHALLENGE_POINTS, self.other, 20
            )
        )

    def values(self, playerId: int) -> tuple[Any, Any]:
        n7 = resultOf(
            self.store.getLeaderboardRank(LeaderboardType.N7_RATING, playerId)
        )
        points = resultOf(
            self.store.getLeaderboardRank(LeaderboardType.CHALLENGE_POINTS, playerId)
        )
        return (
            n7.value if n7 is not None else None,
            points.value if points is not None else None,
        )

    def test_submitOwnValues(self) -> None:
        """
        submitOfflineGameReport records only the submitter's N7 rating and
        challenge points (another player's line is ignored, with a log
        line), then replies, then sends the result notification.
        """
        request = _report({self.own: (1234, 567), self.other: (99999, 99999)})
        seq = self.connection.send(
            Component.GAME_REPORTING,
            GameReportingCommand.SUBMIT_OFFLINE_GAME_REPORT,
            request,
        )
        self.assertEqual(self.values(self.own), (567, 1234))
        self.assertEqual(self.values(self.other), (10, 20))
        self.assertLogged("Ignored 1 other")
        frames = self.connection.written()
        reply = self.connection.replyTo(seq)
        assert reply is not None
        self.assertEqual((reply.type, reply.body), (MessageType.REPLY, b""))
        [note] = self.connection.notifications(
            Component.GAME_REPORTING, GameReportingNotification.RESULT
        )
        self.assertEqual(frames[-2:], [reply, note])
        result = tdf.decode(ResultNotification, note.body)
        self.assertEqual((result.final, result.gameReportingId), (True, 77))

    def test_replyAfterCommit(self) -> None:
        """
        Neither the reply nor the notification is sent before the store
        confirmed the leaderboard writes; then both, reply first.
        """
        self.store.holding = True
        seq = self.connection.send(
            Component.GAME_REPORTING,
            GameReportingCommand.SUBMIT_OFFLINE_GAME_REPORT,
            _report({self.own: (1, 2)}),
        )
        before = len(self.connection.written())
        self.assertIsNone(self.connection.replyTo(seq))
        self.store.release()
        frames = self.connection.written()[before:]
        self.assertEqual(
            [(frame.type, frame.command) for frame in frames],
            [
                (MessageType.REPLY, GameReportingCommand.SUBMIT_OFFLINE_GAME_REPORT),
                (MessageType.NOTIFICATION, GameReportingNotification.RESULT),
            ],
        )

    def test_noOwnLine(self) -> None:
        """
        A report without the submitter's line, or without a game value,
        changes nothing but is still answered and notified.
        """
        for request in (_report({self.other: (5, 5)}), SubmitGameReportRequest()):
            reply = self.connection.request(
                Component.GAME_REPORTING,
                GameReportingCommand.SUBMIT_OFFLINE_GAME_REPORT,
                request,
            )
            self.assertEqual(reply.type, MessageType.REPLY)
        self.assertEqual(self.values(self.own), (None, None))
        self.assertEqual(self.values(self.other), (10, 20))
        self.assertEqual(
            len(
                self.connection.notifications(
                    Component.GAME_REPORTING, GameReportingNotification.RESULT
                )
            ),
            2,
        )

    def test_valuesOutOfRange(self) -> None:
        """
        Values the store cannot keep (above the 64-bit signed range) are
        refused with a log line, not a traceback; the report is still
        answered and the old values stay.
        """
        resultOf(self.store.setLeaderboardValue(LeaderboardType.N7_RATING, self.own, 3))
        reply = self.connection.request(
            Component.GAME_REPORTING,
            GameReportingCommand.SUBMIT_OFFLINE_GAME_REPORT,
            _report({self.own: (2**64 - 1, 2**64 - 1)}),
        )
        self.assertEqual(reply.type, MessageType.REPLY)
        self.assertEqual(self.values(self.own), (3, None))


class HarnessTests(ServerTestCase):
    """
    The L{ServerHarness} helpers themselves.
    """

    def test_noReply(self) -> None:
        """
        L{BlazeConnection.request} raises L{NoReply} while the store holds
        the answer back.
        """
        connection = self.server.loggedIn("zaeed@example.org")
        self.store.holding = True
        self.assertRaises(
            NoReply,
            connection.request,
            Component.UTIL,
            UtilCommand.USER_SETTINGS_LOAD_ALL,
        )
        self.store.release()


def _edgeValue(kind: tdf.Kind, edge: int, text: str, depth: int = 0) -> Any:
    """
    A value of C{kind} made of extreme pieces: every integer C{edge}
    (0 for a negative C{edge} where the kind is unsigned), every string
    C{text}, one element per list and map.
    """
    if kind is tdf.Bool:
        return bool(edge)
    if kind is tdf.UInt:
        return max(edge, 0)
    if kind is tdf.Int:
        return edge
    if kind is tdf.Str:
        return text
    if kind is tdf.Blob:
        return text.encode("utf-8")
    if kind is tdf.Float:
        return -1.0
    if kind is tdf.ObjType:
        return tdf.ObjectType(0xFFFF, 0xFFFF)
    if kind is tdf.ObjId:
        return tdf.ObjectId(0xFFFF, 0xFFFF, max(edge, 0))
    if kind is tdf.Var:
        return None
    if kind is tdf.GenericStruct:
        return tdf.StructValue(())
    if isinstance(kind, tdf.StructOf):
        return _edgeInstance(kind.cls, edge, text, depth + 1)
    if isinstance(kind, tdf.ListOf):
        if depth > 3 or isinstance(kind.element, tdf.UnionOf):
            return []
        return [_edgeValue(kind.element, edge, text, depth + 1)]
    if isinstance(kind, tdf.MapOf):
        if depth > 3:
            return {}
        return {
            _edgeValue(kind.key, edge, text, depth + 1): _edgeValue(
                kind.value, edge, text, depth + 1
            )
        }
    if isinstance(kind, tdf.UnionOf):
        return tdf.Choice()
    raise AssertionError(f"no value for {kind!r}")


def _edgeInstance(cls: type, edge: int, text: str, depth: int = 0) -> Any:
    """
    An instance of the TDF struct class C{cls} made by L{_edgeValue}.
    """
    values = {}
    for field in attrs.fields(cls):
        kind = next(
            (v for v in field.metadata.values() if isinstance(v, tdf.Kind)), None
        )
        if kind is not None:
            values[field.name] = _edgeValue(kind, edge, text, depth)
    return cls(**values)


_ENTITLEMENTS = (
    Component.AUTHENTICATION,
    AuthenticationCommand.LIST_USER_ENTITLEMENTS_2,
)


class RobustnessTests(ServerTestCase):
    """
    Every routed command answers hostile requests with one reply (or
    error reply), without a logged traceback and without closing the
    connection.
    """

    def bodies(self, cls: type | None) -> list[bytes]:
        rng = random.Random(0x9E3779B9)
        bodies = [b"", b"\x00", b"\xff" * 12]
        bodies += [rng.randbytes(rng.randrange(1, 40)) for _ in range(8)]
        if cls is not None:
            for edge in (2**64 - 1, -(2**63), 2**63, 0, 1):
                for text in ("", "\u00e9" * 70, "\x00{v}{n}%s", "N7RatingGlobal"):
                    bodies.append(tdf.encode(_edgeInstance(cls, edge, text)))
        return bodies

    def test_hostileBodies(self) -> None:
        """
        Garbage bytes, and well-formed requests whose every integer is at
        the edge of the 64-bit ranges and every string empty, long or
        odd, are each answered; the logged-in session keeps working.
        (Trial fails the test for any logged traceback.)
        """
        ranked = self.server.createPlayer("ranked@example.org")
        resultOf(
            self.store.setLeaderboardValue(LeaderboardType.N7_RATING, ranked.id, 1)
        )
        for number, (key, spec) in enumerate(sorted(REGISTRY.commands.items())):
            if key == (Component.AUTHENTICATION, AuthenticationCommand.LOGOUT):
                continue
            if key == _ENTITLEMENTS and not hasattr(self.hub.gameData, "entitlements"):
                # Tested (or skipped) in tests.test_components_auth.
                continue
            email = f"fuzz{number}@example.org"
            connection = self.server.loggedIn(email)
            for body in self.bodies(spec.request):
                reply = connection.request(*key, body)
                self.assertIn(
                    reply.type,
                    (MessageType.REPLY, MessageType.ERROR_REPLY),
                    commandName(*key),
                )
            self.assertFalse(connection.transport.disconnecting, commandName(*key))
            connection.call(Component.UTIL, UtilCommand.PING, reply=PingResponse)
            connection.lose()
