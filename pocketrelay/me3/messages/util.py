# -*- test-case-name: tests.test_messages -*-

"""
Util (component 9): preAuth, postAuth, ping, suspendUserPing,
fetchClientConfig, the telemetry and ticker servers, user settings and
client metrics (blaze-wire.md sections 5.2 to 5.6).
"""

from __future__ import annotations

import enum

import attrs

from pocketrelay.blaze import tdf
from pocketrelay.me3.messages.common import ClientType

__all__ = [
    "BLAZE_SERVER_VERSION",
    "COMPONENT_IDS",
    "ME3_LOCALE",
    "PING_SITE_ALIAS",
    "SOURCE_VERSION",
    "TELEMETRY_DISABLED_COUNTRIES",
    "TELEMETRY_KEY",
    "TICKER_KEY",
    "BlazeUpnpFlags",
    "ClientData",
    "ClientInfo",
    "ClientMetrics",
    "FetchClientConfigRequest",
    "FetchConfigResponse",
    "GetTelemetryServerResponse",
    "GetTickerServerResponse",
    "PingResponse",
    "PostAuthResponse",
    "PreAuthRequest",
    "PreAuthResponse",
    "PssConfig",
    "PssReportTypes",
    "QosConfigInfo",
    "QosPingSiteInfo",
    "SuspendUserPingRequest",
    "TelemetryOpt",
    "UpnpStatus",
    "UserOptions",
    "UserSettingsLoadAllRequest",
    "UserSettingsLoadAllResponse",
    "UserSettingsLoadRequest",
    "UserSettingsResponse",
    "UserSettingsSaveRequest",
]

#: "enNZ" as four big-endian ASCII bytes: the locale ME3 and the emulators use.
ME3_LOCALE = 0x656E4E5A

#: The authentication/registration source and PSS project id ("303107").
SOURCE_VERSION = "303107"

#: The server version string of the official ME3 Blaze server (with its
#: trailing newline, as the reference server sends it).
BLAZE_SERVER_VERSION = "Blaze 3.15.08.0 (CL# 1905397)\n"

#: The components the server advertises in PreAuth C{CIDS}.
COMPONENT_IDS = (
    0x1, 0x19, 0x4, 0x1C, 0x7, 0x9, 0xF802, 0x7800,
    0xF, 0x7801, 0x7802, 0x7803, 0x7805, 0x7806, 0x7D0,
)  # fmt: skip

#: The alias of the one QoS ping site, as in C{LTPS} and C{NLMP}.
PING_SITE_ALIAS = "ea-sjc"

#: Countries for which telemetry is disabled (C{TELE.DISA}), as the
#: official server sent them.
TELEMETRY_DISABLED_COUNTRIES = (
    "AD,AF,AG,AI,AL,AM,AN,AO,AQ,AR,AS,AW,AX,AZ,BA,BB,BD,BF,BH,BI,BJ,BM,BN,BO,"
    "BR,BS,BT,BV,BW,BY,BZ,CC,CD,CF,CG,CI,CK,CL,CM,CN,CO,CR,CU,CV,CX,DJ,DM,DO,"
    "DZ,EC,EG,EH,ER,ET,FJ,FK,FM,FO,GA,GD,GE,GF,GG,GH,GI,GL,GM,GN,GP,GQ,GS,GT,"
    "GU,GW,GY,HM,HN,HT,ID,IL,IM,IN,IO,IQ,IR,IS,JE,JM,JO,KE,KG,KH,KI,KM,KN,KP,"
    "KR,KW,KY,KZ,LA,LB,LC,LI,LK,LR,LS,LY,MA,MC,MD,ME,MG,MH,ML,MM,MN,MO,MP,MQ,"
    "MR,MS,MU,MV,MW,MY,MZ,NA,NC,NE,NF,NG,NI,NP,NR,NU,OM,PA,PE,PF,PG,PH,PK,PM,"
    "PN,PS,PW,PY,QA,RE,RS,RW,SA,SB,SC,SD,SG,SH,SJ,SL,SM,SN,SO,SR,ST,SV,SY,SZ,"
    "TC,TD,TF,TG,TH,TJ,TK,TL,TM,TN,TO,TT,TV,TZ,UA,UG,UM,UY,UZ,VA,VC,VE,VG,VN,"
    "VU,WF,WS,YE,YT,ZM,ZW,ZZ"
)

#: The opaque telemetry key (C{TELE.SKEY}) the official server sent.
TELEMETRY_KEY = bytes.fromhex(
    "5e2020202020202020202020202020"
    "20cea420de8a2020dcb020202020202020"
    "20e4b19920c78e202020202020202020"
    "20c28920c3ac2020202020202020202020"
    "20cc892020cc9a20c8992020d89720"
    "20cd9b20cc9920202020ebb2a6202020"
    "20c4a120c68c20202020202020cbb2ee"
    "8895d28020"
).decode("utf-8")

#: The ticker key (C{TICK.SKEY}): player id, ticker address, game name and
#: values whose meaning is unknown.
TICKER_KEY = "1,10.23.15.2:8999,masseffect-3-pc,10,50,50,50,50,0,12"


# ---------------------------------------------------------------------------
# preAuth (9/7)


@tdf.tdfStruct
@attrs.define
class ClientData:
    """
    The client's own description in preAuth (C{Blaze::Util::ClientData}).

    Tags: C{IITO}, C{LANG}, C{SVCN}, C{TYPE}.

    @ivar locale: four big-endian ASCII bytes, e.g. L{ME3_LOCALE}.
    @ivar clientType: a L{ClientType}.
    """

    ignoreInactivityTimeout: bool = tdf.member("IITO", tdf.Bool)
    locale: int = tdf.member("LANG", tdf.UInt, default=ME3_LOCALE)
    serviceName: str = tdf.member("SVCN", tdf.Str, default="masseffect-3-pc")
    clientType: int = tdf.member("TYPE", tdf.Int, default=ClientType.GAMEPLAY_USER)


@tdf.tdfStruct
@attrs.define
class ClientInfo:
    """
    The client's build in preAuth (C{Blaze::ClientInfo}).  Defaults are what
    ME3 PC sends.

    Tags: C{BSDK}, C{BTIM}, C{CLNT}, C{CSKU}, C{CVER}, C{DSDK}, C{ENV},
    C{LOC}, C{MAC}, C{PLAT}.
    """

    blazeSdkVersion: str = tdf.member("BSDK", tdf.Str, default="3.15.6.0")
    blazeSdkBuildDate: str = tdf.member("BTIM", tdf.Str, default="Dec 21 2012 12:46:51")
    clientName: str = tdf.member("CLNT", tdf.Str, default="MassEffect3-pc")
    clientSkuId: str = tdf.member("CSKU", tdf.Str, default="134845")
    clientVersion: str = tdf.member("CVER", tdf.Str, default="05427.124")
    dirtySdkVersion: str = tdf.member("DSDK", tdf.Str, default="8.14.7.1")
    environment: str = tdf.member("ENV", tdf.Str, default="prod")
    locale: int = tdf.member("LOC", tdf.UInt, default=ME3_LOCALE)
    macAddress: str = tdf.member("MAC", tdf.Str)
    platform: str = tdf.member("PLAT", tdf.Str, default="Windows")


@tdf.tdfStruct
@attrs.define
class FetchClientConfigRequest:
    """
    fetchClientConfig (9/1) request, also C{FCCR} in preAuth
    (C{Blaze::Util::FetchClientConfigRequest}).

    Tags: C{CFID}.

    @ivar configId: e.g. C{"ME3_DATA"}; C{"BlazeSDK"} inside preAuth.
    """

    configId: str = tdf.member("CFID", tdf.Str)


@tdf.tdfStruct
@attrs.define
class PreAuthRequest:
    """
    preAuth (9/7) request (C{Blaze::Util::PreAuthRequest}).

    Tags: C{CDAT}, C{CINF}, C{FCCR}.
    """

    clientData: ClientData = tdf.member(
        "CDAT", tdf.StructOf(ClientData), default=attrs.Factory(ClientData)
    )
    clientInfo: ClientInfo = tdf.member(
        "CINF", tdf.StructOf(ClientInfo), default=attrs.Factory(ClientInfo)
    )
    fetchClientConfig: FetchClientConfigRequest = tdf.member(
        "FCCR",
        tdf.StructOf(FetchClientConfigRequest),
        default=attrs.Factory(lambda: FetchClientConfigRequest("BlazeSDK")),
    )


@tdf.tdfStruct
@attrs.define
class FetchConfigResponse:
    """
    A configuration map (C{Blaze::Util::FetchConfigResponse}): the
    fetchClientConfig (9/1) reply and C{CONF} in preAuth.  Large values are
    chunked by the caller (C{CHUNK_n}, C{CHUNK_SIZE}, C{DATA_SIZE}).

    Tags: C{CONF}.
    """

    config: dict[str, str] = tdf.member("CONF", tdf.MapOf(tdf.Str, tdf.Str))


def _preAuthConfig() -> FetchConfigResponse:
    return FetchConfigResponse(
        {
            "pingPeriod": "15s",
            "voipHeadsetUpdateRate": "1000",
            "xlspConnectionIdleTimeout": "300",
        }
    )


@tdf.tdfStruct
@attrs.define
class QosPingSiteInfo:
    """
    A QoS ping site (C{Blaze::QosPingSiteInfo}).  The defaults are the
    official site.

    Tags: C{PSA}, C{PSP}, C{SNA}.

    @ivar address: host name or address of the QoS server.
    @ivar port: its port (u16).
    @ivar siteName: the site name.
    """

    address: str = tdf.member("PSA", tdf.Str, default="gossjcprod-qos01.ea.com")
    port: int = tdf.member("PSP", tdf.Int, default=17502)
    siteName: str = tdf.member("SNA", tdf.Str, default="prod-sjc")


@tdf.tdfStruct
@attrs.define
class QosConfigInfo:
    """
    QoS configuration in preAuth (C{Blaze::QosConfigInfo}).

    Tags: C{BWPS}, C{LNP}, C{LTPS}, C{SVID}.

    Server-specific: C{bandwidthPingSite} and C{pingSites} (default: the
    official site, under L{PING_SITE_ALIAS}; an empty map disables
    latency probing).

    @ivar latencyProbes: number of latency probes (u16); the reference
        server sends 1.
    @ivar serviceId: u32, 0x45410805 as the official server sent.
    """

    bandwidthPingSite: QosPingSiteInfo = tdf.member(
        "BWPS", tdf.StructOf(QosPingSiteInfo), default=attrs.Factory(QosPingSiteInfo)
    )
    latencyProbes: int = tdf.member("LNP", tdf.Int, default=1)
    pingSites: dict[str, QosPingSiteInfo] = tdf.member(
        "LTPS",
        tdf.MapOf(tdf.Str, tdf.StructOf(QosPingSiteInfo)),
        default=attrs.Factory(lambda: {PING_SITE_ALIAS: QosPingSiteInfo()}),
    )
    serviceId: int = tdf.member("SVID", tdf.UInt, default=0x45410805)


@tdf.tdfStruct
@attrs.define
class PreAuthResponse:
    """
    preAuth (9/7) reply (C{Blaze::Util::PreAuthResponse}).  The default
    instance is what the reference server sends, with the official QoS site.

    Tags: C{ANON}, C{ASRC}, C{CIDS}, C{CNGN}, C{CONF}, C{INST}, C{MINR},
    C{NASP}, C{PILD}, C{PLAT}, C{PTAG}, C{QOSS}, C{RSRC}, C{SVER}.

    Server-specific: C{qosSettings} (where the QoS ping sites are) and,
    if wanted, C{config} (keep C{pingPeriod}).
    """

    anonymousChildAccounts: bool = tdf.member("ANON", tdf.Bool)
    authenticationSource: str = tdf.member("ASRC", tdf.Str, default=SOURCE_VERSION)
    componentIds: list[int] = tdf.member(
        "CIDS", tdf.ListOf(tdf.Int), default=attrs.Factory(lambda: list(COMPONENT_IDS))
    )
    parentalConsentGroupName: str = tdf.member("CNGN", tdf.Str)
    config: FetchConfigResponse = tdf.member(
        "CONF", tdf.StructOf(FetchConfigResponse), default=attrs.Factory(_preAuthConfig)
    )
    instanceName: str = tdf.member("INST", tdf.Str, default="masseffect-3-pc")
    underageSupported: bool = tdf.member("MINR", tdf.Bool)
    personaNamespace: str = tdf.member("NASP", tdf.Str, default="cem_ea_id")
    legalDocGameIdentifier: str = tdf.member("PILD", tdf.Str)
    platform: str = tdf.member("PLAT", tdf.Str, default="pc")
    parentalConsentTag: str = tdf.member("PTAG", tdf.Str)
    qosSettings: QosConfigInfo = tdf.member(
        "QOSS", tdf.StructOf(QosConfigInfo), default=attrs.Factory(QosConfigInfo)
    )
    registrationSource: str = tdf.member("RSRC", tdf.Str, default=SOURCE_VERSION)
    serverVersion: str = tdf.member("SVER", tdf.Str, default=BLAZE_SERVER_VERSION)


# ---------------------------------------------------------------------------
# postAuth (9/8), getTelemetryServer (9/5), getTickerServer (9/6)


class PssReportTypes(enum.IntFlag):
    """
    L{PssConfig.initialReportTypes} (C{RPRT}).
    """

    NONE = 0
    PURCHASES = 1
    FRIENDS_LIST = 2
    ACHIEVEMENTS = 4
    CONSUMABLES = 8


class TelemetryOpt(enum.IntEnum):
    """
    L{UserOptions.telemetryOpt} (C{TMOP}).
    """

    OPT_OUT = 0
    OPT_IN = 1


@tdf.tdfStruct
@attrs.define
class PssConfig:
    """
    The player sync service (C{Blaze::Util::PssConfig}), C{PSS} in
    postAuth.  Defaults are the official values.

    Tags: C{ADRS}, C{CSIG}, C{OIDS}, C{PJID}, C{PORT}, C{RPRT}, C{TIID}.
    """

    address: str = tdf.member("ADRS", tdf.Str, default="playersyncservice.ea.com")
    signature: bytes = tdf.member("CSIG", tdf.Blob)
    offerIds: list[str] = tdf.member("OIDS", tdf.ListOf(tdf.Str))
    projectId: str = tdf.member("PJID", tdf.Str, default=SOURCE_VERSION)
    port: int = tdf.member("PORT", tdf.UInt, default=443)
    initialReportTypes: int = tdf.member(
        "RPRT",
        tdf.Int,
        default=PssReportTypes.PURCHASES
        | PssReportTypes.FRIENDS_LIST
        | PssReportTypes.ACHIEVEMENTS
        | PssReportTypes.CONSUMABLES,
    )
    titleId: int = tdf.member("TIID", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class GetTelemetryServerResponse:
    """
    Where to send telemetry (C{Blaze::Util::GetTelemetryServerResponse}):
    the getTelemetryServer (9/5) reply and C{TELE} in postAuth.

    Tags: C{ADRS}, C{ANON}, C{DISA}, C{FILT}, C{LOC}, C{NOOK}, C{PORT},
    C{SDLY}, C{SESS}, C{SKEY}, C{SPCT}, C{STIM}.

    Server-specific: C{address} and C{port}; the defaults are the Pocket
    Relay client's local telemetry server, 127.0.0.1:42129 (the official
    one listened on port 9988).
    """

    address: str = tdf.member("ADRS", tdf.Str, default="127.0.0.1")
    anonymous: bool = tdf.member("ANON", tdf.Bool)
    disabledCountries: str = tdf.member(
        "DISA", tdf.Str, default=TELEMETRY_DISABLED_COUNTRIES
    )
    filter: str = tdf.member("FILT", tdf.Str, default="-UION/****")
    locale: int = tdf.member("LOC", tdf.UInt, default=ME3_LOCALE)
    noToggleOk: str = tdf.member("NOOK", tdf.Str, default="US,CA,MX")
    port: int = tdf.member("PORT", tdf.UInt, default=42129)
    sendDelay: int = tdf.member("SDLY", tdf.UInt, default=15000)
    sessionId: str = tdf.member("SESS", tdf.Str, default="pcwdjtOCVpD")
    key: str = tdf.member("SKEY", tdf.Str, default=TELEMETRY_KEY)
    sendPercentage: int = tdf.member("SPCT", tdf.UInt, default=75)
    useServerTime: str = tdf.member("STIM", tdf.Str)


@tdf.tdfStruct
@attrs.define
class GetTickerServerResponse:
    """
    Where the ticker server is (C{Blaze::Util::GetTickerServerResponse}):
    the getTickerServer (9/6) reply and C{TICK} in postAuth.

    Tags: C{ADRS}, C{PORT}, C{SKEY}.
    """

    address: str = tdf.member("ADRS", tdf.Str, default="127.0.0.1")
    port: int = tdf.member("PORT", tdf.UInt, default=8999)
    key: str = tdf.member("SKEY", tdf.Str, default=TICKER_KEY)


@tdf.tdfStruct
@attrs.define
class UserOptions:
    """
    A user's options (C{Blaze::Util::UserOptions}), C{UROP} in postAuth.

    Tags: C{TMOP}, C{UID}.

    Server-specific: C{userId}.
    """

    telemetryOpt: int = tdf.member("TMOP", tdf.Int, default=TelemetryOpt.OPT_IN)
    userId: int = tdf.member("UID", tdf.Int)


@tdf.tdfStruct
@attrs.define
class PostAuthResponse:
    """
    postAuth (9/8) reply (C{Blaze::Util::PostAuthResponse}); the request
    body is empty.

    Tags: C{PSS}, C{TELE}, C{TICK}, C{UROP}.

    Server-specific: C{userOptions.userId}; C{telemetry} and C{ticker}
    addresses if not the client-local defaults.
    """

    pss: PssConfig = tdf.member(
        "PSS", tdf.StructOf(PssConfig), default=attrs.Factory(PssConfig)
    )
    telemetry: GetTelemetryServerResponse = tdf.member(
        "TELE",
        tdf.StructOf(GetTelemetryServerResponse),
        default=attrs.Factory(GetTelemetryServerResponse),
    )
    ticker: GetTickerServerResponse = tdf.member(
        "TICK",
        tdf.StructOf(GetTickerServerResponse),
        default=attrs.Factory(GetTickerServerResponse),
    )
    userOptions: UserOptions = tdf.member(
        "UROP", tdf.StructOf(UserOptions), default=attrs.Factory(UserOptions)
    )


# ---------------------------------------------------------------------------
# ping (9/2), suspendUserPing (9/0x1B)


@tdf.tdfStruct
@attrs.define
class PingResponse:
    """
    ping (9/2) reply (C{Blaze::Util::PingResponse}); the request body is
    empty.

    Tags: C{STIM}.

    @ivar serverTime: the server time in Unix seconds (u32).
    """

    serverTime: int = tdf.member("STIM", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class SuspendUserPingRequest:
    """
    suspendUserPing (9/0x1B) request (C{Blaze::Util::SuspendUserPingRequest}).
    The reply is an error frame (0x12E granted, 0x12D too small, 0x12C
    too large).

    Tags: C{TVAL}.

    @ivar timeValue: how long to suspend, in microseconds (ME3 asks
        90 000 000).
    """

    timeValue: int = tdf.member("TVAL", tdf.Int)


# ---------------------------------------------------------------------------
# user settings (9/0x0A, 0x0B, 0x0C)


@tdf.tdfStruct
@attrs.define
class UserSettingsSaveRequest:
    """
    userSettingsSave (9/0x0B) request (C{Blaze::Util::UserSettingsSaveRequest});
    the reply is empty.

    Tags: C{DATA}, C{KEY}, C{UID}.

    @ivar data: the value (ME3's player data strings, e.g. C{class1}).
    @ivar key: the key.
    @ivar userId: the user, 0 for the caller.
    """

    data: str = tdf.member("DATA", tdf.Str)
    key: str = tdf.member("KEY", tdf.Str)
    userId: int = tdf.member("UID", tdf.Int)


@tdf.tdfStruct
@attrs.define
class UserSettingsLoadRequest:
    """
    userSettingsLoad (9/0x0A) request (C{Blaze::Util::UserSettingsLoadRequest}).

    Tags: C{KEY}, C{UID}.
    """

    key: str = tdf.member("KEY", tdf.Str)
    userId: int = tdf.member("UID", tdf.Int)


@tdf.tdfStruct
@attrs.define
class UserSettingsResponse:
    """
    userSettingsLoad (9/0x0A) reply (C{Blaze::Util::UserSettingsResponse}).

    Tags: C{DATA}, C{KEY}.
    """

    data: str = tdf.member("DATA", tdf.Str)
    key: str = tdf.member("KEY", tdf.Str)


@tdf.tdfStruct
@attrs.define
class UserSettingsLoadAllRequest:
    """
    userSettingsLoadAll (9/0x0C) request
    (C{Blaze::Util::UserSettingsLoadAllRequest}); ME3 sends it empty.

    Tags: C{UID}.
    """

    userId: int = tdf.member("UID", tdf.Int)


@tdf.tdfStruct
@attrs.define
class UserSettingsLoadAllResponse:
    """
    userSettingsLoadAll (9/0x0C) reply
    (C{Blaze::Util::UserSettingsLoadAllResponse}): every stored key.

    Tags: C{SMAP}.
    """

    settings: dict[str, str] = tdf.member("SMAP", tdf.MapOf(tdf.Str, tdf.Str))


# ---------------------------------------------------------------------------
# setClientMetrics (9/0x16)


class BlazeUpnpFlags(enum.IntFlag):
    """
    L{ClientMetrics.blazeFlags} (C{UBFL}).
    """

    NONE = 0
    NAT_PROMOTED = 1
    DOUBLE_NAT = 2
    PORT_OVERRIDE = 4


class UpnpStatus(enum.IntEnum):
    """
    L{ClientMetrics.status} (C{USTA}).
    """

    UNKNOWN = 0
    FOUND = 1
    ENABLED = 2


@tdf.tdfStruct
@attrs.define
class ClientMetrics:
    """
    setClientMetrics (9/0x16) request (C{Blaze::ClientMetrics}): the
    client's UPnP report; the reply is empty.

    Tags: C{UBFL}, C{UDEV}, C{UFLG}, C{ULRC}, C{UNAT}, C{USTA}, C{UWAN}.

    @ivar blazeFlags: L{BlazeUpnpFlags}.
    @ivar status: an L{UpnpStatus}.
    @ivar wanAddress: the router's WAN address as a big-endian u32.
    """

    blazeFlags: int = tdf.member("UBFL", tdf.Int)
    deviceInfo: str = tdf.member("UDEV", tdf.Str)
    flags: int = tdf.member("UFLG", tdf.Int)
    lastResultCode: int = tdf.member("ULRC", tdf.Int)
    natType: int = tdf.member("UNAT", tdf.Int)
    status: int = tdf.member("USTA", tdf.Int)
    wanAddress: int = tdf.member("UWAN", tdf.UInt)
