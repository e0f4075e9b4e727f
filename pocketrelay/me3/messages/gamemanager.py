# -*- test-case-name: tests.test_messages -*-

"""
GameManager (component 4): games, matchmaking and their notifications
(blaze-wire.md sections 5.9 to 5.11, server-behaviour.md section 1.2).

Requests and replies:

  - createGame (0x01): L{CreateGameRequest} -> L{CreateGameResponse}
  - advanceGameState (0x03): L{AdvanceGameStateRequest}
  - setGameSettings (0x04): L{SetGameSettingsRequest}
  - setGameAttributes (0x07): L{SetGameAttributesRequest}
  - joinGame (0x09): L{JoinGameRequest} -> L{JoinGameResponse}
  - removePlayer (0x0B): L{RemovePlayerRequest}
  - startMatchmaking (0x0D): L{StartMatchmakingRequest} ->
    L{StartMatchmakingResponse}
  - cancelMatchmaking (0x0E): L{CancelMatchmakingRequest}
  - replayGame (0x13): L{ReplayGameRequest}
  - updateMeshConnection (0x1D): L{UpdateMeshConnectionRequest}
  - getGameDataFromId (0x69): L{GetGameDataFromIdRequest} ->
    L{GameBrowserDataList}
  - addAdminPlayer (0x6A): L{UpdateAdminListRequest}

Notifications: L{NotifyMatchmakingFailed} (0x0A),
L{NotifyMatchmakingAsyncStatus} (0x0C), L{NotifyGameRemoved} (0x10),
L{NotifyGameSetup} (0x14), L{NotifyPlayerJoining} (0x15),
L{NotifyPlayerJoinCompleted} (0x1E), L{NotifyPlayerRemoved} (0x28),
L{NotifyHostMigrationFinished} (0x3C), L{NotifyHostMigrationStart} (0x46),
L{NotifyPlatformHostInitialized} (0x47), L{NotifyGameAttribChange} (0x50),
L{NotifyGameStateChange} (0x64), L{NotifyGameSettingsChange} (0x6E),
L{NotifyGameReportingIdChange} (0x71), L{NotifyGamePlayerStateChange}
(0x74), L{NotifyAdminListChange} (0xCA).

The host address lists (C{HNET}) are lists of the C{NetworkAddress} union;
the codec writes them in the "heat bug" form by itself.  The enums are in
L{pocketrelay.me3.messages.gameenums} and re-exported here.
"""

from __future__ import annotations

import attrs

from pocketrelay.blaze import tdf
from pocketrelay.me3.messages.common import (
    NetworkAddress,
    NetworkQosData,
    UserIdentification,
)
from pocketrelay.me3.messages.gameenums import (
    AdminListOperation,
    DatalessContext,
    GameDestructionReason,
    GameEntryType,
    GameNetworkTopology,
    GameSettings,
    GameSetupReasonIndex,
    GameState,
    HostMigrationType,
    JoinMethod,
    JoinState,
    MatchmakingResult,
    MatchmakingSessionMode,
    PlayerNetConnectionStatus,
    PlayerRemovedReason,
    PlayerState,
    PresenceMode,
    SlotType,
    VoipTopology,
)
from pocketrelay.me3.version import PROTOCOL_VERSION_HASH, VERSION_STRING

__all__ = [
    "DEFAULT_LOCALE",
    "GAME_PROTOCOL_VERSION",
    "GAME_PROTOCOL_VERSION_HASH",
    "GAME_UUID",
    "MATCHMAKING_FIT_SCORE",
    "ME3_CREATE_GAME_SETTINGS",
    "ME3_MATCHMAKING_SETTINGS",
    "NO_TEAM",
    "AddAdminPlayerRequest",
    "AdminListOperation",
    "AdvanceGameStateRequest",
    "CancelMatchmakingRequest",
    "CreateGameRequest",
    "CreateGameResponse",
    "CreateGameStatus",
    "DNFRulePrefs",
    "DNFRuleStatus",
    "DatalessContext",
    "DatalessSetupContext",
    "FindGameStatus",
    "GameBrowserDataList",
    "GameBrowserGameData",
    "GameBrowserPlayerData",
    "GameBrowserTeamInfo",
    "GameDestructionReason",
    "GameEntryType",
    "GameNameRuleCriteria",
    "GameNetworkTopology",
    "GameSettings",
    "GameSetupReason",
    "GameSetupReasonIndex",
    "GameSizeRulePrefs",
    "GameSizeRuleStatus",
    "GameState",
    "GenericRulePrefs",
    "GenericRuleStatus",
    "GeoLocationRuleCriteria",
    "GeoLocationRuleStatus",
    "GetGameDataFromIdRequest",
    "GetGameDataFromIdResponse",
    "HostBalanceRuleStatus",
    "HostBalancingRulePrefs",
    "HostInfo",
    "HostMigrationType",
    "HostViabilityRulePrefs",
    "HostViabilityRuleStatus",
    "IndirectJoinGameSetupContext",
    "IndirectMatchmakingSetupContext",
    "JoinGameRequest",
    "JoinGameResponse",
    "JoinMethod",
    "JoinState",
    "MatchmakingAsyncStatus",
    "MatchmakingCriteriaData",
    "MatchmakingCustomAsyncStatus",
    "MatchmakingCustomCriteriaData",
    "MatchmakingResult",
    "MatchmakingSessionMode",
    "MatchmakingSetupContext",
    "NotifyAdminListChange",
    "NotifyGameAttribChange",
    "NotifyGamePlayerStateChange",
    "NotifyGameRemoved",
    "NotifyGameReportingIdChange",
    "NotifyGameSettingsChange",
    "NotifyGameSetup",
    "NotifyGameStateChange",
    "NotifyHostMigrationFinished",
    "NotifyHostMigrationStart",
    "NotifyMatchmakingAsyncStatus",
    "NotifyMatchmakingFailed",
    "NotifyPlatformHostInitialized",
    "NotifyPlayerJoinCompleted",
    "NotifyPlayerJoining",
    "NotifyPlayerRemoved",
    "PingSiteRulePrefs",
    "PingSiteRuleStatus",
    "PlayerConnectionStatus",
    "PlayerNetConnectionStatus",
    "PlayerRemovedReason",
    "PlayerState",
    "PresenceMode",
    "RankRuleStatus",
    "RankedGameRulePrefs",
    "RemovePlayerRequest",
    "ReplayGameRequest",
    "ReplicatedGameData",
    "ReplicatedGamePlayer",
    "ResetDedicatedServerSetupContext",
    "RosterSizeRulePrefs",
    "SetGameAttributesRequest",
    "SetGameSettingsRequest",
    "SkillRulePrefs",
    "SkillRuleStatus",
    "SlotType",
    "StartMatchmakingRequest",
    "StartMatchmakingResponse",
    "TeamSizeRulePrefs",
    "TeamSizeRuleStatus",
    "UEDRuleCriteria",
    "UEDRuleStatus",
    "UpdateAdminListRequest",
    "UpdateMeshConnectionRequest",
    "VirtualGameRulePrefs",
    "VirtualGameRuleStatus",
    "VoipTopology",
    "datalessSetup",
    "matchmakingSetup",
]

#: C{VSTR}: the protocol version string of the last ME3 release.
GAME_PROTOCOL_VERSION = VERSION_STRING

#: C{GPVH}: its hash, 0x05a4f2b378b715c6.
GAME_PROTOCOL_VERSION_HASH = PROTOCOL_VERSION_HASH

#: The game C{UUID} the reference server sends.
GAME_UUID = "286a2373-3e6e-46b9-8294-3ef05e479503"

#: C{TIDX} meaning "no team".
NO_TEAM = 0xFFFF

#: The player locale (C{LOC}) the reference server sends ("deDE").
DEFAULT_LOCALE = 0x64654445

#: The fit score the reference server reports for matchmaking joins.
MATCHMAKING_FIT_SCORE = 21600

#: C{GSET} ME3 sends with createGame (287).
ME3_CREATE_GAME_SETTINGS = 0x11F

#: C{GSET} ME3 sends with startMatchmaking (1311).
ME3_MATCHMAKING_SETTINGS = 0x51F


def _slotCapacities() -> list[int]:
    return [4, 0]


# ---------------------------------------------------------------------------
# Game data


@tdf.tdfStruct
@attrs.define
class HostInfo:
    """
    A host (C{Blaze::GameManager::HostInfo}): C{PHST} and C{THST} of
    L{ReplicatedGameData}.

    Tags: C{HPID}, C{HSLT}.

    @ivar playerId: the host's player id.
    @ivar slotId: the host's slot (u8), 0.
    """

    playerId: int = tdf.member("HPID", tdf.Int)
    slotId: int = tdf.member("HSLT", tdf.Int)


@tdf.tdfStruct
@attrs.define
class ReplicatedGameData:
    """
    A game as its players see it (C{Blaze::GameManager::ReplicatedGameData}),
    C{GAME} of L{NotifyGameSetup}.

    Tags: C{ADMN}, C{ATTR}, C{CAP}, C{CRIT}, C{GID}, C{GNAM}, C{GPVH},
    C{GSET}, C{GSID}, C{GSTA}, C{GTYP}, C{HNET}, C{HSES}, C{IGNO}, C{MATR},
    C{MCAP}, C{NQOS}, C{NRES}, C{NTOP}, C{PGID}, C{PGSR}, C{PHST}, C{PRES},
    C{PSAS}, C{QCAP}, C{SEED}, C{TCAP}, C{THST}, C{TIDS}, C{UUID}, C{VOIP},
    C{VSTR}, C{XNNC}, C{XSES}.

    Server-specific: C{admins} (all player ids), C{attributes},
    C{gameId}, C{gameName} (the host's display name), C{settings},
    C{reportingId}, C{state}, C{hostNetwork} (the host's address, one
    element: never leave it empty), C{hostSessionId} and
    C{platformHost}/C{topologyHost} (the host's player id), C{hostQos},
    C{networkTopology} (dedicated when tunnelled), C{sharedSeed} (a random
    u32 per game).  C{CRIT}, C{MATR} and C{TIDS} are left out by the
    emulators and written empty here, as the official server does.
    """

    admins: list[int] = tdf.member("ADMN", tdf.ListOf(tdf.Int))
    attributes: dict[str, str] = tdf.member("ATTR", tdf.MapOf(tdf.Str, tdf.Str))
    slotCapacities: list[int] = tdf.member(
        "CAP", tdf.ListOf(tdf.Int), default=attrs.Factory(_slotCapacities)
    )
    entryCriteria: dict[str, str] = tdf.member("CRIT", tdf.MapOf(tdf.Str, tdf.Str))
    gameId: int = tdf.member("GID", tdf.UInt)
    gameName: str = tdf.member("GNAM", tdf.Str)
    protocolVersionHash: int = tdf.member(
        "GPVH", tdf.UInt, default=GAME_PROTOCOL_VERSION_HASH
    )
    settings: int = tdf.member("GSET", tdf.Int)
    reportingId: int = tdf.member("GSID", tdf.UInt)
    state: int = tdf.member("GSTA", tdf.Int, default=GameState.INITIALIZING)
    gameType: str = tdf.member("GTYP", tdf.Str)
    hostNetwork: list[tdf.Choice] = tdf.member("HNET", tdf.ListOf(NetworkAddress))
    hostSessionId: int = tdf.member("HSES", tdf.UInt)
    ignoreEntryCriteriaWithInvite: bool = tdf.member("IGNO", tdf.Bool)
    meshAttributes: dict[str, str] = tdf.member("MATR", tdf.MapOf(tdf.Str, tdf.Str))
    maxPlayerCapacity: int = tdf.member("MCAP", tdf.Int, default=4)
    hostQos: NetworkQosData = tdf.member(
        "NQOS", tdf.StructOf(NetworkQosData), default=attrs.Factory(NetworkQosData)
    )
    serverNotResetable: bool = tdf.member("NRES", tdf.Bool)
    networkTopology: int = tdf.member(
        "NTOP", tdf.Int, default=GameNetworkTopology.CLIENT_SERVER_PEER_HOSTED
    )
    persistedGameId: str = tdf.member("PGID", tdf.Str)
    persistedGameIdSecret: bytes = tdf.member("PGSR", tdf.Blob)
    platformHost: HostInfo = tdf.member(
        "PHST", tdf.StructOf(HostInfo), default=attrs.Factory(HostInfo)
    )
    presenceMode: int = tdf.member("PRES", tdf.Int, default=PresenceMode.STANDARD)
    pingSiteAlias: str = tdf.member("PSAS", tdf.Str, default="ea-sjc")
    queueCapacity: int = tdf.member("QCAP", tdf.Int)
    sharedSeed: int = tdf.member("SEED", tdf.UInt, default=0x4CBC8585)
    teamCapacity: int = tdf.member("TCAP", tdf.Int)
    topologyHost: HostInfo = tdf.member(
        "THST", tdf.StructOf(HostInfo), default=attrs.Factory(HostInfo)
    )
    teamIds: list[int] = tdf.member("TIDS", tdf.ListOf(tdf.Int))
    uuid: str = tdf.member("UUID", tdf.Str, default=GAME_UUID)
    voipTopology: int = tdf.member("VOIP", tdf.Int, default=VoipTopology.PEER_TO_PEER)
    protocolVersion: str = tdf.member("VSTR", tdf.Str, default=GAME_PROTOCOL_VERSION)
    xnetNonce: bytes = tdf.member("XNNC", tdf.Blob)
    xnetSession: bytes = tdf.member("XSES", tdf.Blob)


@tdf.tdfStruct
@attrs.define
class ReplicatedGamePlayer:
    """
    A player of a game (C{Blaze::GameManager::ReplicatedGamePlayer}):
    elements of C{PROS} in L{NotifyGameSetup} and C{PDAT} of
    L{NotifyPlayerJoining}.

    Tags: C{BLOB}, C{EXID}, C{GID}, C{LOC}, C{NAME}, C{PATT}, C{PID},
    C{PNET}, C{SID}, C{SLOT}, C{STAT}, C{TIDX}, C{TIME}, C{UGID}, C{UID}.

    Server-specific: C{gameId}, C{name}, C{playerId}, C{address} (a
    L{NetworkAddress} choice, normal union form), C{slotId} (the index in
    the game, host 0), C{state} (a L{PlayerState}), C{sessionId} (the
    reference server uses the player id).

    @ivar locale: account locale, four big-endian ASCII bytes.
    @ivar teamIndex: u16, L{NO_TEAM}.
    """

    customData: bytes = tdf.member("BLOB", tdf.Blob)
    externalId: int = tdf.member("EXID", tdf.UInt)
    gameId: int = tdf.member("GID", tdf.UInt)
    locale: int = tdf.member("LOC", tdf.UInt, default=DEFAULT_LOCALE)
    name: str = tdf.member("NAME", tdf.Str)
    attributes: dict[str, str] = tdf.member("PATT", tdf.MapOf(tdf.Str, tdf.Str))
    playerId: int = tdf.member("PID", tdf.Int)
    address: tdf.Choice = tdf.member("PNET", NetworkAddress)
    slotId: int = tdf.member("SID", tdf.Int)
    slotType: int = tdf.member("SLOT", tdf.Int, default=SlotType.PUBLIC)
    state: int = tdf.member("STAT", tdf.Int, default=PlayerState.RESERVED)
    teamIndex: int = tdf.member("TIDX", tdf.Int, default=NO_TEAM)
    joinedTime: int = tdf.member("TIME", tdf.Int)
    userGroupId: tdf.ObjectId = tdf.member("UGID", tdf.ObjId)
    sessionId: int = tdf.member("UID", tdf.UInt)


# ---------------------------------------------------------------------------
# Game setup reasons


@tdf.tdfStruct
@attrs.define
class DatalessSetupContext:
    """
    Setup reason without data (C{Blaze::GameManager::DatalessSetupContext}).

    Tags: C{DCTX}.

    @ivar context: a L{DatalessContext}: 0 for the creator, 1 for joinGame.
    """

    context: int = tdf.member(
        "DCTX", tdf.Int, default=DatalessContext.CREATE_GAME_SETUP
    )


@tdf.tdfStruct
@attrs.define
class ResetDedicatedServerSetupContext:
    """
    Setup reason after a dedicated server reset
    (C{Blaze::GameManager::ResetDedicatedServerSetupContext}).

    Tags: C{ERR}.
    """

    joinError: int = tdf.member("ERR", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class IndirectJoinGameSetupContext:
    """
    Setup reason of a group join
    (C{Blaze::GameManager::IndirectJoinGameSetupContext}).

    Tags: C{GRID}, C{RPVC}.
    """

    userGroupId: tdf.ObjectId = tdf.member("GRID", tdf.ObjId)
    requiresClientVersionCheck: bool = tdf.member("RPVC", tdf.Bool)


@tdf.tdfStruct
@attrs.define
class MatchmakingSetupContext:
    """
    Setup reason of a matchmaking join
    (C{Blaze::GameManager::MatchmakingSetupContext}).  Defaults are the
    reference server's.

    Tags: C{FIT}, C{MAXF}, C{MSID}, C{RSLT}, C{USID}.

    Server-specific: C{sessionId} (the matchmaking session id, as in
    L{StartMatchmakingResponse}) and C{userSessionId}; the reference server
    uses the player id for both.
    """

    fitScore: int = tdf.member("FIT", tdf.UInt, default=MATCHMAKING_FIT_SCORE)
    maxFitScore: int = tdf.member("MAXF", tdf.UInt, default=MATCHMAKING_FIT_SCORE)
    sessionId: int = tdf.member("MSID", tdf.UInt)
    result: int = tdf.member(
        "RSLT", tdf.Int, default=MatchmakingResult.SUCCESS_JOINED_EXISTING_GAME
    )
    userSessionId: int = tdf.member("USID", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class IndirectMatchmakingSetupContext:
    """
    Setup reason of a group matchmaking join
    (C{Blaze::GameManager::IndirectMatchmakingSetupContext}).

    Tags: C{FIT}, C{GRID}, C{MAXF}, C{MSID}, C{RPVC}, C{RSLT}, C{USID}.
    """

    fitScore: int = tdf.member("FIT", tdf.UInt)
    userGroupId: tdf.ObjectId = tdf.member("GRID", tdf.ObjId)
    maxFitScore: int = tdf.member("MAXF", tdf.UInt)
    sessionId: int = tdf.member("MSID", tdf.UInt)
    requiresClientVersionCheck: bool = tdf.member("RPVC", tdf.Bool)
    result: int = tdf.member("RSLT", tdf.Int)
    userSessionId: int = tdf.member("USID", tdf.UInt)


#: The C{GameSetupReason} union (C{REAS} of L{NotifyGameSetup}): 0
#: L{DatalessSetupContext}, 1 L{ResetDedicatedServerSetupContext}, 2
#: L{IndirectJoinGameSetupContext}, 3 L{MatchmakingSetupContext}, 4
#: L{IndirectMatchmakingSetupContext}.
GameSetupReason: tdf.Kind = tdf.UnionOf(
    {
        GameSetupReasonIndex.DATALESS: tdf.StructOf(DatalessSetupContext),
        GameSetupReasonIndex.RESET_DEDICATED_SERVER: tdf.StructOf(
            ResetDedicatedServerSetupContext
        ),
        GameSetupReasonIndex.INDIRECT_JOIN_GAME: tdf.StructOf(
            IndirectJoinGameSetupContext
        ),
        GameSetupReasonIndex.MATCHMAKING: tdf.StructOf(MatchmakingSetupContext),
        GameSetupReasonIndex.INDIRECT_MATCHMAKING: tdf.StructOf(
            IndirectMatchmakingSetupContext
        ),
    }
)


def datalessSetup(context: int = DatalessContext.CREATE_GAME_SETUP) -> tdf.Choice:
    """
    The setup reason for the creator (L{DatalessContext.CREATE_GAME_SETUP})
    or a joinGame joiner (L{DatalessContext.JOIN_GAME_SETUP}).
    """
    return tdf.Choice(int(GameSetupReasonIndex.DATALESS), DatalessSetupContext(context))


def matchmakingSetup(sessionId: int, userSessionId: int) -> tdf.Choice:
    """
    The setup reason for a player who joined by matchmaking.
    """
    return tdf.Choice(
        int(GameSetupReasonIndex.MATCHMAKING),
        MatchmakingSetupContext(sessionId=sessionId, userSessionId=userSessionId),
    )


# ---------------------------------------------------------------------------
# createGame (0x01)


@tdf.tdfStruct
@attrs.define
class CreateGameRequest:
    """
    createGame (4/0x01) request (C{Blaze::GameManager::CreateGameRequest}).
    Defaults are what ME3 sends, apart from its attributes and address.

    Tags: C{ADMN}, C{ATTR}, C{BTPL}, C{CRIT}, C{GCTR}, C{GENT}, C{GNAM},
    C{GSET}, C{GTYP}, C{GURL}, C{HNET}, C{IGNO}, C{MATR}, C{NRES}, C{NTOP},
    C{PATT}, C{PCAP}, C{PGID}, C{PGSC}, C{PMAX}, C{PRES}, C{QCAP}, C{RGID},
    C{SEAT}, C{SIDL}, C{SLOT}, C{TCAP}, C{TIDS}, C{TIDX}, C{VOIP}, C{VSTR}.

    @ivar attributes: ME3's game attributes (C{ME3map}, C{ME3privacy},
        C{ME3gameDifficulty}, C{ME3gameEnemyType}, C{ME3_dlcNNNN}...).
    @ivar settings: L{GameSettings} flags.
    @ivar hostNetwork: the host's addresses (L{NetworkAddress} choices,
        heat-bug form on the wire).
    """

    admins: list[int] = tdf.member("ADMN", tdf.ListOf(tdf.Int))
    attributes: dict[str, str] = tdf.member("ATTR", tdf.MapOf(tdf.Str, tdf.Str))
    groupId: tdf.ObjectId = tdf.member("BTPL", tdf.ObjId)
    entryCriteria: dict[str, str] = tdf.member("CRIT", tdf.MapOf(tdf.Str, tdf.Str))
    gamePingSiteAlias: str = tdf.member("GCTR", tdf.Str)
    gameEntryType: int = tdf.member("GENT", tdf.Int, default=GameEntryType.DIRECT)
    gameName: str = tdf.member("GNAM", tdf.Str)
    settings: int = tdf.member("GSET", tdf.Int, default=ME3_CREATE_GAME_SETTINGS)
    gameType: str = tdf.member("GTYP", tdf.Str)
    gameStatusUrl: str = tdf.member("GURL", tdf.Str)
    hostNetwork: list[tdf.Choice] = tdf.member("HNET", tdf.ListOf(NetworkAddress))
    ignoreEntryCriteriaWithInvite: bool = tdf.member("IGNO", tdf.Bool)
    meshAttributes: dict[str, str] = tdf.member("MATR", tdf.MapOf(tdf.Str, tdf.Str))
    serverNotResetable: bool = tdf.member("NRES", tdf.Bool)
    networkTopology: int = tdf.member(
        "NTOP", tdf.Int, default=GameNetworkTopology.CLIENT_SERVER_PEER_HOSTED
    )
    hostPlayerAttributes: dict[str, str] = tdf.member(
        "PATT", tdf.MapOf(tdf.Str, tdf.Str)
    )
    slotCapacities: list[int] = tdf.member(
        "PCAP", tdf.ListOf(tdf.Int), default=attrs.Factory(_slotCapacities)
    )
    persistedGameId: str = tdf.member("PGID", tdf.Str)
    persistedGameIdSecret: bytes = tdf.member("PGSC", tdf.Blob)
    maxPlayerCapacity: int = tdf.member("PMAX", tdf.Int, default=4)
    presenceMode: int = tdf.member("PRES", tdf.Int, default=PresenceMode.STANDARD)
    queueCapacity: int = tdf.member("QCAP", tdf.Int)
    reservedGameId: int = tdf.member("RGID", tdf.UInt)
    reservedPlayerSeats: list[int] = tdf.member("SEAT", tdf.ListOf(tdf.Int))
    sessionIds: list[int] = tdf.member("SIDL", tdf.ListOf(tdf.UInt))
    slotType: int = tdf.member("SLOT", tdf.Int, default=SlotType.PUBLIC)
    teamCapacity: int = tdf.member("TCAP", tdf.Int)
    teamIds: list[int] = tdf.member("TIDS", tdf.ListOf(tdf.Int))
    teamIndex: int = tdf.member("TIDX", tdf.Int, default=NO_TEAM)
    voipTopology: int = tdf.member("VOIP", tdf.Int, default=VoipTopology.PEER_TO_PEER)
    protocolVersion: str = tdf.member("VSTR", tdf.Str, default=GAME_PROTOCOL_VERSION)


@tdf.tdfStruct
@attrs.define
class CreateGameResponse:
    """
    createGame (4/0x01) reply (C{Blaze::GameManager::CreateGameResponse}).

    Tags: C{GID}.
    """

    gameId: int = tdf.member("GID", tdf.UInt)


# ---------------------------------------------------------------------------
# joinGame (0x09)


@tdf.tdfStruct
@attrs.define
class JoinGameRequest:
    """
    joinGame (4/0x09) request (C{Blaze::GameManager::JoinGameRequest}).
    ME3 joins a friend by player: the reference server reads only
    C{USER.ID}, the player whose game to join.

    Tags: C{ATTR}, C{BTPL}, C{GENT}, C{GID}, C{GVER}, C{JMET}, C{PLST},
    C{PNET}, C{SLID}, C{SLOT}, C{TIDX}, C{USER}.
    """

    playerAttributes: dict[str, str] = tdf.member("ATTR", tdf.MapOf(tdf.Str, tdf.Str))
    groupId: tdf.ObjectId = tdf.member("BTPL", tdf.ObjId)
    gameEntryType: int = tdf.member("GENT", tdf.Int)
    gameId: int = tdf.member("GID", tdf.UInt)
    protocolVersion: str = tdf.member("GVER", tdf.Str)
    joinMethod: int = tdf.member("JMET", tdf.Int)
    additionalPlayerIds: list[int] = tdf.member("PLST", tdf.ListOf(tdf.Int))
    playerNetwork: tdf.Choice = tdf.member("PNET", NetworkAddress)
    requestedSlotId: int = tdf.member("SLID", tdf.Int)
    requestedSlotType: int = tdf.member("SLOT", tdf.Int)
    teamIndex: int = tdf.member("TIDX", tdf.Int)
    user: UserIdentification = tdf.member(
        "USER",
        tdf.StructOf(UserIdentification),
        default=attrs.Factory(UserIdentification),
    )


@tdf.tdfStruct
@attrs.define
class JoinGameResponse:
    """
    joinGame (4/0x09) reply (C{Blaze::GameManager::JoinGameResponse}).

    Tags: C{GID}, C{JGS}.

    @ivar joinState: a L{JoinState}.
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    joinState: int = tdf.member("JGS", tdf.Int, default=JoinState.JOINED_GAME)


# ---------------------------------------------------------------------------
# startMatchmaking (0x0D): criteria


@tdf.tdfStruct
@attrs.define
class MatchmakingCustomCriteriaData:
    """
    Custom matchmaking criteria (C{Blaze::GameManager::MatchmakingCustomCriteriaData});
    no members.
    """


@tdf.tdfStruct
@attrs.define
class DNFRulePrefs:
    """
    Did-not-finish rule (C{Blaze::GameManager::DNFRulePrefs}).

    Tags: C{DNF}.
    """

    maxDnfValue: int = tdf.member("DNF", tdf.Int)


@tdf.tdfStruct
@attrs.define
class GeoLocationRuleCriteria:
    """
    Geo location rule (C{Blaze::GameManager::GeoLocationRuleCriteria}).

    Tags: C{THLD}.
    """

    threshold: str = tdf.member("THLD", tdf.Str)


@tdf.tdfStruct
@attrs.define
class GameNameRuleCriteria:
    """
    Game name rule (C{Blaze::GameManager::GameNameRuleCriteria}).

    Tags: C{SUBS}.
    """

    searchString: str = tdf.member("SUBS", tdf.Str)


@tdf.tdfStruct
@attrs.define
class HostBalancingRulePrefs:
    """
    Host balancing rule (C{Blaze::GameManager::HostBalancingRulePrefs}).

    Tags: C{THLD}.
    """

    threshold: str = tdf.member("THLD", tdf.Str)


@tdf.tdfStruct
@attrs.define
class PingSiteRulePrefs:
    """
    Ping site rule (C{Blaze::GameManager::PingSiteRulePrefs}).

    Tags: C{THLD}.
    """

    threshold: str = tdf.member("THLD", tdf.Str)


@tdf.tdfStruct
@attrs.define
class RankedGameRulePrefs:
    """
    Ranked game rule (C{Blaze::GameManager::RankedGameRulePrefs}).

    Tags: C{THLD}, C{VALU}.

    @ivar desiredValue: flags: 1 unranked, 2 ranked, 4 random, 8 abstain.
    """

    threshold: str = tdf.member("THLD", tdf.Str)
    desiredValue: int = tdf.member("VALU", tdf.Int)


@tdf.tdfStruct
@attrs.define
class GenericRulePrefs:
    """
    One generic matchmaking rule (C{Blaze::GameManager::GenericRulePrefs}),
    an element of L{MatchmakingCriteriaData.genericRules}.

    Tags: C{NAME}, C{THLD}, C{VALU}.

    ME3's rules: C{ME3_gameStateMatchRule}, C{ME3_gameMapMatchRule},
    C{ME3_gameEnemyTypeRule}, C{ME3_gameDifficultyRule},
    C{ME3_rule_dlc2300} ... C{ME3_rule_dlc3225}; the value "abstain" means
    "don't care".

    @ivar name: the rule name.
    @ivar threshold: the minimum fit threshold name.
    @ivar values: the desired values.
    """

    name: str = tdf.member("NAME", tdf.Str)
    threshold: str = tdf.member("THLD", tdf.Str)
    values: list[str] = tdf.member("VALU", tdf.ListOf(tdf.Str))


@tdf.tdfStruct
@attrs.define
class RosterSizeRulePrefs:
    """
    Roster size rule (C{Blaze::GameManager::RosterSizeRulePrefs}).

    Tags: C{PCAP}, C{PMIN}.
    """

    maxPlayerCount: int = tdf.member("PCAP", tdf.Int)
    minPlayerCount: int = tdf.member("PMIN", tdf.Int)


@tdf.tdfStruct
@attrs.define
class GameSizeRulePrefs:
    """
    Game size rule (C{Blaze::GameManager::GameSizeRulePrefs}).

    Tags: C{ISSG}, C{PCAP}, C{PCNT}, C{PMIN}, C{THLD}.
    """

    singleGroupMatch: int = tdf.member("ISSG", tdf.Int)
    maxPlayerCapacity: int = tdf.member("PCAP", tdf.Int)
    desiredPlayerCount: int = tdf.member("PCNT", tdf.Int)
    minPlayerCount: int = tdf.member("PMIN", tdf.Int)
    threshold: str = tdf.member("THLD", tdf.Str)


@tdf.tdfStruct
@attrs.define
class SkillRulePrefs:
    """
    A skill rule (C{Blaze::GameManager::SkillRulePrefs}).

    Tags: C{SKDS}, C{SKRN}, C{SVOR}, C{THLD}.
    """

    skillValueOverride: int = tdf.member("SKDS", tdf.Int)
    ruleName: str = tdf.member("SKRN", tdf.Str)
    useSkillValueOverride: int = tdf.member("SVOR", tdf.Int)
    threshold: str = tdf.member("THLD", tdf.Str)


@tdf.tdfStruct
@attrs.define
class TeamSizeRulePrefs:
    """
    Team size rule (C{Blaze::GameManager::TeamSizeRulePrefs}).

    Tags: C{PCAP}, C{PCNT}, C{PMIN}, C{SDIF}, C{THLD}, C{TID}, C{TLST}.
    """

    maxPlayerCapacity: int = tdf.member("PCAP", tdf.Int)
    desiredPlayerCount: int = tdf.member("PCNT", tdf.Int)
    minPlayerCount: int = tdf.member("PMIN", tdf.Int)
    maxTeamSizeDifference: int = tdf.member("SDIF", tdf.Int)
    rangeOffsetListName: str = tdf.member("THLD", tdf.Str)
    teamId: int = tdf.member("TID", tdf.Int)
    teamIds: list[int] = tdf.member("TLST", tdf.ListOf(tdf.Int))


@tdf.tdfStruct
@attrs.define
class UEDRuleCriteria:
    """
    A user-extended-data rule (C{Blaze::GameManager::UEDRuleCriteria}); ME3
    sends C{ME3_characterSkill_Rule}.

    Tags: C{CVAL}, C{NAME}, C{OVAL}, C{THLD}.
    """

    clientSearchValue: int = tdf.member("CVAL", tdf.Int)
    ruleName: str = tdf.member("NAME", tdf.Str)
    overrideValue: int = tdf.member("OVAL", tdf.Int)
    threshold: str = tdf.member("THLD", tdf.Str)


@tdf.tdfStruct
@attrs.define
class HostViabilityRulePrefs:
    """
    Host viability rule (C{Blaze::GameManager::HostViabilityRulePrefs}).

    Tags: C{THLD}.
    """

    threshold: str = tdf.member("THLD", tdf.Str)


@tdf.tdfStruct
@attrs.define
class VirtualGameRulePrefs:
    """
    Virtual game rule (C{Blaze::GameManager::VirtualGameRulePrefs}).

    Tags: C{THLD}, C{VALU}.

    @ivar desiredValue: flags: 1 standard, 2 virtualized, 8 abstain.
    """

    threshold: str = tdf.member("THLD", tdf.Str)
    desiredValue: int = tdf.member("VALU", tdf.Int)


@tdf.tdfStruct
@attrs.define
class MatchmakingCriteriaData:
    """
    Matchmaking criteria (C{Blaze::GameManager::MatchmakingCriteriaData}),
    C{CRIT} of L{StartMatchmakingRequest}.  ME3's rules are in
    C{genericRules}; see L{ruleValues}.

    Tags: C{CUST}, C{DNF}, C{GEO}, C{GNAM}, C{NAT}, C{PSR}, C{RANK},
    C{RLST}, C{RSZR}, C{SIZE}, C{SKLZ}, C{TEAM}, C{UED}, C{VIAB}, C{VIRT}.
    """

    custom: MatchmakingCustomCriteriaData = tdf.member(
        "CUST",
        tdf.StructOf(MatchmakingCustomCriteriaData),
        default=attrs.Factory(MatchmakingCustomCriteriaData),
    )
    dnf: DNFRulePrefs = tdf.member(
        "DNF", tdf.StructOf(DNFRulePrefs), default=attrs.Factory(DNFRulePrefs)
    )
    geoLocation: GeoLocationRuleCriteria = tdf.member(
        "GEO",
        tdf.StructOf(GeoLocationRuleCriteria),
        default=attrs.Factory(GeoLocationRuleCriteria),
    )
    gameName: GameNameRuleCriteria = tdf.member(
        "GNAM",
        tdf.StructOf(GameNameRuleCriteria),
        default=attrs.Factory(GameNameRuleCriteria),
    )
    hostBalancing: HostBalancingRulePrefs = tdf.member(
        "NAT",
        tdf.StructOf(HostBalancingRulePrefs),
        default=attrs.Factory(HostBalancingRulePrefs),
    )
    pingSite: PingSiteRulePrefs = tdf.member(
        "PSR", tdf.StructOf(PingSiteRulePrefs), default=attrs.Factory(PingSiteRulePrefs)
    )
    rankedGame: RankedGameRulePrefs = tdf.member(
        "RANK",
        tdf.StructOf(RankedGameRulePrefs),
        default=attrs.Factory(RankedGameRulePrefs),
    )
    genericRules: list[GenericRulePrefs] = tdf.member(
        "RLST", tdf.ListOf(tdf.StructOf(GenericRulePrefs))
    )
    rosterSize: RosterSizeRulePrefs = tdf.member(
        "RSZR",
        tdf.StructOf(RosterSizeRulePrefs),
        default=attrs.Factory(RosterSizeRulePrefs),
    )
    gameSize: GameSizeRulePrefs = tdf.member(
        "SIZE",
        tdf.StructOf(GameSizeRulePrefs),
        default=attrs.Factory(GameSizeRulePrefs),
    )
    skillRules: list[SkillRulePrefs] = tdf.member(
        "SKLZ", tdf.ListOf(tdf.StructOf(SkillRulePrefs))
    )
    teamSize: TeamSizeRulePrefs = tdf.member(
        "TEAM",
        tdf.StructOf(TeamSizeRulePrefs),
        default=attrs.Factory(TeamSizeRulePrefs),
    )
    uedRules: dict[str, UEDRuleCriteria] = tdf.member(
        "UED", tdf.MapOf(tdf.Str, tdf.StructOf(UEDRuleCriteria))
    )
    hostViability: HostViabilityRulePrefs = tdf.member(
        "VIAB",
        tdf.StructOf(HostViabilityRulePrefs),
        default=attrs.Factory(HostViabilityRulePrefs),
    )
    virtualGame: VirtualGameRulePrefs = tdf.member(
        "VIRT",
        tdf.StructOf(VirtualGameRulePrefs),
        default=attrs.Factory(VirtualGameRulePrefs),
    )

    def ruleValues(self) -> dict[str, list[str]]:
        """
        The desired values of each generic rule by rule name (a later rule
        of the same name wins).
        """
        return {rule.name: list(rule.values) for rule in self.genericRules}


@tdf.tdfStruct
@attrs.define
class StartMatchmakingRequest:
    """
    startMatchmaking (4/0x0D) request
    (C{Blaze::GameManager::StartMatchmakingRequest}).  Defaults are what
    ME3 sends apart from its criteria and address.

    Tags: C{ATTR}, C{BTPL}, C{CRIT}, C{DUR}, C{ECRI}, C{GENT}, C{GNAM},
    C{GSET}, C{GVER}, C{IGNO}, C{MODE}, C{NTOP}, C{PATT}, C{PLST}, C{PMAX},
    C{PNET}, C{QCAP}, C{SIDL}, C{VOIP}.

    @ivar durationMs: how long the client matchmakes, in ms (u32; ME3
        1 800 000).
    @ivar sessionMode: L{MatchmakingSessionMode} flags.
    """

    attributes: dict[str, str] = tdf.member("ATTR", tdf.MapOf(tdf.Str, tdf.Str))
    groupId: tdf.ObjectId = tdf.member("BTPL", tdf.ObjId)
    criteria: MatchmakingCriteriaData = tdf.member(
        "CRIT",
        tdf.StructOf(MatchmakingCriteriaData),
        default=attrs.Factory(MatchmakingCriteriaData),
    )
    durationMs: int = tdf.member("DUR", tdf.UInt, default=1_800_000)
    entryCriteria: dict[str, str] = tdf.member("ECRI", tdf.MapOf(tdf.Str, tdf.Str))
    gameEntryType: int = tdf.member("GENT", tdf.Int)
    gameName: str = tdf.member("GNAM", tdf.Str)
    settings: int = tdf.member("GSET", tdf.Int, default=ME3_MATCHMAKING_SETTINGS)
    protocolVersion: str = tdf.member("GVER", tdf.Str)
    ignoreEntryCriteriaWithInvite: bool = tdf.member("IGNO", tdf.Bool)
    sessionMode: int = tdf.member("MODE", tdf.Int)
    networkTopology: int = tdf.member("NTOP", tdf.Int)
    playerAttributes: dict[str, str] = tdf.member("PATT", tdf.MapOf(tdf.Str, tdf.Str))
    playerIds: list[int] = tdf.member("PLST", tdf.ListOf(tdf.Int))
    maxPlayerCapacity: int = tdf.member("PMAX", tdf.Int, default=4)
    playerNetwork: tdf.Choice = tdf.member("PNET", NetworkAddress)
    queueCapacity: int = tdf.member("QCAP", tdf.Int)
    sessionIds: list[int] = tdf.member("SIDL", tdf.ListOf(tdf.UInt))
    voipTopology: int = tdf.member("VOIP", tdf.Int, default=VoipTopology.PEER_TO_PEER)


@tdf.tdfStruct
@attrs.define
class StartMatchmakingResponse:
    """
    startMatchmaking (4/0x0D) reply
    (C{Blaze::GameManager::StartMatchmakingResponse}).

    Tags: C{MSID}.

    @ivar sessionId: the matchmaking session id (u32; the reference server
        uses the player id).
    """

    sessionId: int = tdf.member("MSID", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class CancelMatchmakingRequest:
    """
    cancelMatchmaking (4/0x0E) request
    (C{Blaze::GameManager::CancelMatchmakingRequest}); the reply is empty.

    Tags: C{MSID}.
    """

    sessionId: int = tdf.member("MSID", tdf.UInt)


# ---------------------------------------------------------------------------
# Other requests (replies are empty)


@tdf.tdfStruct
@attrs.define
class AdvanceGameStateRequest:
    """
    advanceGameState (4/0x03) request
    (C{Blaze::GameManager::AdvanceGameStateRequest}).

    Tags: C{GID}, C{GSTA}.

    @ivar state: a L{GameState}.
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    state: int = tdf.member("GSTA", tdf.Int)


@tdf.tdfStruct
@attrs.define
class SetGameSettingsRequest:
    """
    setGameSettings (4/0x04) request
    (C{Blaze::GameManager::SetGameSettingsRequest}).

    Tags: C{GID}, C{GSET}.

    @ivar settings: L{GameSettings} flags.
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    settings: int = tdf.member("GSET", tdf.Int)


@tdf.tdfStruct
@attrs.define
class SetGameAttributesRequest:
    """
    setGameAttributes (4/0x07) request
    (C{Blaze::GameManager::SetGameAttributesRequest}): the changed
    attributes, to merge into the game's.

    Tags: C{ATTR}, C{GID}.
    """

    attributes: dict[str, str] = tdf.member("ATTR", tdf.MapOf(tdf.Str, tdf.Str))
    gameId: int = tdf.member("GID", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class RemovePlayerRequest:
    """
    removePlayer (4/0x0B) request (C{Blaze::GameManager::RemovePlayerRequest}).

    Tags: C{BTPL}, C{CNTX}, C{GID}, C{PID}, C{REAS}.

    @ivar reason: a L{PlayerRemovedReason}.
    @ivar context: a title-defined context (u16).
    """

    groupId: tdf.ObjectId = tdf.member("BTPL", tdf.ObjId)
    context: int = tdf.member("CNTX", tdf.Int)
    gameId: int = tdf.member("GID", tdf.UInt)
    playerId: int = tdf.member("PID", tdf.Int)
    reason: int = tdf.member("REAS", tdf.Int, default=PlayerRemovedReason.PLAYER_LEFT)


@tdf.tdfStruct
@attrs.define
class PlayerConnectionStatus:
    """
    The state of one mesh connection
    (C{Blaze::GameManager::PlayerConnectionStatus}).

    Tags: C{FLGS}, C{PID}, C{STAT}.

    @ivar status: a L{PlayerNetConnectionStatus}; 2 means connected.
    """

    flags: int = tdf.member("FLGS", tdf.Int)
    playerId: int = tdf.member("PID", tdf.Int)
    status: int = tdf.member("STAT", tdf.Int)


@tdf.tdfStruct
@attrs.define
class UpdateMeshConnectionRequest:
    """
    updateMeshConnection (4/0x1D) request
    (C{Blaze::GameManager::UpdateMeshConnectionRequest}).

    Tags: C{GID}, C{TARG}.
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    targets: list[PlayerConnectionStatus] = tdf.member(
        "TARG", tdf.ListOf(tdf.StructOf(PlayerConnectionStatus))
    )


@tdf.tdfStruct
@attrs.define
class UpdateAdminListRequest:
    """
    addAdminPlayer (4/0x6A) request
    (C{Blaze::GameManager::UpdateAdminListRequest}).

    Tags: C{GID}, C{PID}.
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    playerId: int = tdf.member("PID", tdf.Int)


#: addAdminPlayer's request under the name the server code uses.
AddAdminPlayerRequest = UpdateAdminListRequest


@tdf.tdfStruct
@attrs.define
class ReplayGameRequest:
    """
    replayGame (4/0x13) request (C{Blaze::GameManager::ReplayGameRequest}).

    Tags: C{GID}.
    """

    gameId: int = tdf.member("GID", tdf.UInt)


# ---------------------------------------------------------------------------
# getGameDataFromId (0x69)


@tdf.tdfStruct
@attrs.define
class GetGameDataFromIdRequest:
    """
    getGameDataFromId (4/0x69) request
    (C{Blaze::GameManager::GetGameDataFromIdRequest}).

    Tags: C{DNAM}, C{GLST}, C{PIDL}.

    @ivar gameIds: the games asked for (u32).
    """

    listConfigName: str = tdf.member("DNAM", tdf.Str)
    gameIds: list[int] = tdf.member("GLST", tdf.ListOf(tdf.UInt))
    persistedGameIds: list[str] = tdf.member("PIDL", tdf.ListOf(tdf.Str))


@tdf.tdfStruct
@attrs.define
class GameBrowserPlayerData:
    """
    A player in the game browser (C{Blaze::GameManager::GameBrowserPlayerData}).

    Tags: C{EXID}, C{LOC}, C{NAME}, C{PATT}, C{PID}, C{STAT}, C{TIDX}.
    """

    externalId: int = tdf.member("EXID", tdf.UInt)
    locale: int = tdf.member("LOC", tdf.UInt)
    name: str = tdf.member("NAME", tdf.Str)
    attributes: dict[str, str] = tdf.member("PATT", tdf.MapOf(tdf.Str, tdf.Str))
    playerId: int = tdf.member("PID", tdf.Int)
    state: int = tdf.member("STAT", tdf.Int)
    teamIndex: int = tdf.member("TIDX", tdf.Int)


@tdf.tdfStruct
@attrs.define
class GameBrowserTeamInfo:
    """
    A team in the game browser (C{Blaze::GameManager::GameBrowserTeamInfo}).

    Tags: C{TID}, C{TSZE}.
    """

    teamId: int = tdf.member("TID", tdf.Int)
    teamSize: int = tdf.member("TSZE", tdf.Int)


@tdf.tdfStruct
@attrs.define
class GameBrowserGameData:
    """
    A game in the game browser (C{Blaze::GameManager::GameBrowserGameData}),
    the element of L{GameBrowserDataList}.

    Tags: C{ADMN}, C{ATTR}, C{CAP}, C{CRIT}, C{GID}, C{GNAM}, C{GSET},
    C{GSTA}, C{HNET}, C{HOST}, C{NTOP}, C{PCNT}, C{PRES}, C{PSAS}, C{PSID},
    C{QCAP}, C{QCNT}, C{ROST}, C{SID}, C{TCAP}, C{TINF}, C{VOIP}, C{VSTR}.

    Server-specific: C{admins}, C{attributes}, C{gameId}, C{gameName} (the
    host's display name), C{settings}, C{state}, C{hostNetwork},
    C{hostId}, C{playerCounts} (players per slot type: C{[n, 0]}).  The
    reference server leaves out C{CRIT}, C{ROST} and C{TINF} (written empty
    here) and sends C{PRES} 2, which is kept as the default.
    """

    admins: list[int] = tdf.member("ADMN", tdf.ListOf(tdf.Int))
    attributes: dict[str, str] = tdf.member("ATTR", tdf.MapOf(tdf.Str, tdf.Str))
    slotCapacities: list[int] = tdf.member(
        "CAP", tdf.ListOf(tdf.Int), default=attrs.Factory(_slotCapacities)
    )
    entryCriteria: dict[str, str] = tdf.member("CRIT", tdf.MapOf(tdf.Str, tdf.Str))
    gameId: int = tdf.member("GID", tdf.UInt)
    gameName: str = tdf.member("GNAM", tdf.Str)
    settings: int = tdf.member("GSET", tdf.Int)
    state: int = tdf.member("GSTA", tdf.Int)
    hostNetwork: list[tdf.Choice] = tdf.member("HNET", tdf.ListOf(NetworkAddress))
    hostId: int = tdf.member("HOST", tdf.Int)
    networkTopology: int = tdf.member(
        "NTOP", tdf.Int, default=GameNetworkTopology.CLIENT_SERVER_PEER_HOSTED
    )
    playerCounts: list[int] = tdf.member(
        "PCNT", tdf.ListOf(tdf.Int), default=attrs.Factory(lambda: [0, 0])
    )
    presenceMode: int = tdf.member("PRES", tdf.Int, default=PresenceMode.PRIVATE)
    pingSiteAlias: str = tdf.member("PSAS", tdf.Str, default="ea-sjc")
    persistedGameId: str = tdf.member("PSID", tdf.Str)
    queueCapacity: int = tdf.member("QCAP", tdf.Int)
    queueCount: int = tdf.member("QCNT", tdf.Int)
    roster: list[GameBrowserPlayerData] = tdf.member(
        "ROST", tdf.ListOf(tdf.StructOf(GameBrowserPlayerData))
    )
    externalSessionId: int = tdf.member("SID", tdf.UInt)
    teamCapacity: int = tdf.member("TCAP", tdf.Int)
    teams: list[GameBrowserTeamInfo] = tdf.member(
        "TINF", tdf.ListOf(tdf.StructOf(GameBrowserTeamInfo))
    )
    voipTopology: int = tdf.member("VOIP", tdf.Int, default=VoipTopology.PEER_TO_PEER)
    protocolVersion: str = tdf.member("VSTR", tdf.Str, default=GAME_PROTOCOL_VERSION)


@tdf.tdfStruct
@attrs.define
class GameBrowserDataList:
    """
    getGameDataFromId (4/0x69) reply
    (C{Blaze::GameManager::GameBrowserDataList}).

    Tags: C{GDAT}.
    """

    games: list[GameBrowserGameData] = tdf.member(
        "GDAT", tdf.ListOf(tdf.StructOf(GameBrowserGameData))
    )


#: getGameDataFromId's reply under the name the server code uses.
GetGameDataFromIdResponse = GameBrowserDataList


# ---------------------------------------------------------------------------
# Notifications


@tdf.tdfStruct
@attrs.define
class NotifyGameSetup:
    """
    NotifyGameSetup (4/0x14, C{Blaze::GameManager::NotifyGameSetup}): the
    whole game, sent to a player entering it.

    Tags: C{GAME}, C{PROS}, C{QUEU}, C{REAS}.

    @ivar game: the L{ReplicatedGameData}.
    @ivar players: every player, host first.
    @ivar queue: queued players; empty.
    @ivar reason: a L{GameSetupReason} choice: L{datalessSetup} for the
        creator (context 0) and joinGame (context 1), L{matchmakingSetup}
        for matchmaking.  Defaults to the creator's.
    """

    game: ReplicatedGameData = tdf.member(
        "GAME",
        tdf.StructOf(ReplicatedGameData),
        default=attrs.Factory(ReplicatedGameData),
    )
    players: list[ReplicatedGamePlayer] = tdf.member(
        "PROS", tdf.ListOf(tdf.StructOf(ReplicatedGamePlayer))
    )
    queue: list[ReplicatedGamePlayer] = tdf.member(
        "QUEU", tdf.ListOf(tdf.StructOf(ReplicatedGamePlayer))
    )
    reason: tdf.Choice = tdf.member(
        "REAS", GameSetupReason, default=attrs.Factory(datalessSetup)
    )


@tdf.tdfStruct
@attrs.define
class NotifyPlayerJoining:
    """
    NotifyPlayerJoining (4/0x15): a player is joining; sent to the players
    already in the game.  NotifyPlayerJoiningQueue (0x17),
    NotifyPlayerPromotedFromQueue (0x18) and NotifyPlayerClaimingReservation
    (0x19) carry the same payload.

    Tags: C{GID}, C{PDAT}.
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    player: ReplicatedGamePlayer = tdf.member(
        "PDAT",
        tdf.StructOf(ReplicatedGamePlayer),
        default=attrs.Factory(ReplicatedGamePlayer),
    )


@tdf.tdfStruct
@attrs.define
class NotifyPlayerJoinCompleted:
    """
    NotifyPlayerJoinCompleted (4/0x1E): a joiner is connected to the mesh.

    Tags: C{GID}, C{PID}.
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    playerId: int = tdf.member("PID", tdf.Int)


@tdf.tdfStruct
@attrs.define
class NotifyPlayerRemoved:
    """
    NotifyPlayerRemoved (4/0x28): sent to the remaining players and the
    removed one.

    Tags: C{CNTX}, C{GID}, C{PID}, C{REAS}.

    @ivar reason: a L{PlayerRemovedReason}.
    """

    context: int = tdf.member("CNTX", tdf.Int)
    gameId: int = tdf.member("GID", tdf.UInt)
    playerId: int = tdf.member("PID", tdf.Int)
    reason: int = tdf.member("REAS", tdf.Int, default=PlayerRemovedReason.PLAYER_LEFT)


@tdf.tdfStruct
@attrs.define
class NotifyHostMigrationStart:
    """
    NotifyHostMigrationStart (4/0x46).

    Tags: C{GID}, C{HOST}, C{PMIG}, C{SLOT}.

    @ivar newHostId: the new host's player id.
    @ivar migrationType: a L{HostMigrationType}; the emulators send 2.
    @ivar slot: the new host's slot (u8).
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    newHostId: int = tdf.member("HOST", tdf.Int)
    migrationType: int = tdf.member(
        "PMIG", tdf.Int, default=HostMigrationType.TOPOLOGY_PLATFORM_HOST
    )
    slot: int = tdf.member("SLOT", tdf.Int)


@tdf.tdfStruct
@attrs.define
class NotifyHostMigrationFinished:
    """
    NotifyHostMigrationFinished (4/0x3C).

    Tags: C{GID}.
    """

    gameId: int = tdf.member("GID", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class NotifyPlatformHostInitialized:
    """
    NotifyPlatformHostInitialized (4/0x47).

    Tags: C{GID}, C{PHST}.

    @ivar platformHostSlot: the platform host's slot (u8).
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    platformHostSlot: int = tdf.member("PHST", tdf.Int)


@tdf.tdfStruct
@attrs.define
class NotifyGameAttribChange:
    """
    NotifyGameAttribChange (4/0x50): only the changed attributes.

    Tags: C{ATTR}, C{GID}.
    """

    attributes: dict[str, str] = tdf.member("ATTR", tdf.MapOf(tdf.Str, tdf.Str))
    gameId: int = tdf.member("GID", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class NotifyGameStateChange:
    """
    NotifyGameStateChange (4/0x64).

    Tags: C{GID}, C{GSTA}.

    @ivar state: a L{GameState}.
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    state: int = tdf.member("GSTA", tdf.Int)


@tdf.tdfStruct
@attrs.define
class NotifyGameSettingsChange:
    """
    NotifyGameSettingsChange (4/0x6E).  The settings member is tagged
    C{ATTR} (sic).

    Tags: C{ATTR}, C{GID}.

    @ivar settings: L{GameSettings} flags.
    """

    settings: int = tdf.member("ATTR", tdf.Int)
    gameId: int = tdf.member("GID", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class NotifyGameReportingIdChange:
    """
    NotifyGameReportingIdChange (4/0x71).

    Tags: C{GID}, C{GRID}.
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    reportingId: int = tdf.member("GRID", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class NotifyGamePlayerStateChange:
    """
    NotifyGamePlayerStateChange (4/0x74).

    Tags: C{GID}, C{PID}, C{STAT}.

    @ivar state: a L{PlayerState}.
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    playerId: int = tdf.member("PID", tdf.Int)
    state: int = tdf.member("STAT", tdf.Int)


@tdf.tdfStruct
@attrs.define
class NotifyAdminListChange:
    """
    NotifyAdminListChange (4/0xCA).

    Tags: C{ALST}, C{GID}, C{OPER}, C{UID}.

    @ivar adminPlayerId: the player added or removed.
    @ivar operation: an L{AdminListOperation}.
    @ivar updaterId: who made the change (the host).
    """

    adminPlayerId: int = tdf.member("ALST", tdf.Int)
    gameId: int = tdf.member("GID", tdf.UInt)
    operation: int = tdf.member("OPER", tdf.Int, default=AdminListOperation.ADD)
    updaterId: int = tdf.member("UID", tdf.Int)


@tdf.tdfStruct
@attrs.define
class NotifyGameRemoved:
    """
    NotifyGameRemoved (4/0x10); neither emulator sends it.

    Tags: C{GID}, C{REAS}.

    @ivar reason: a L{GameDestructionReason}.
    """

    gameId: int = tdf.member("GID", tdf.UInt)
    reason: int = tdf.member("REAS", tdf.Int)


@tdf.tdfStruct
@attrs.define
class NotifyMatchmakingFailed:
    """
    NotifyMatchmakingFailed (4/0x0A).  ServerKotlin sent C{MAXF} 0x5460 and
    C{RSLT} 4 on its timeout; the defaults are that C{MAXF} and
    L{MatchmakingResult.SESSION_TIMED_OUT}.

    Tags: C{MAXF}, C{MSID}, C{RSLT}, C{USID}.
    """

    maxFitScore: int = tdf.member("MAXF", tdf.UInt, default=0x5460)
    sessionId: int = tdf.member("MSID", tdf.UInt)
    result: int = tdf.member(
        "RSLT", tdf.Int, default=MatchmakingResult.SESSION_TIMED_OUT
    )
    userSessionId: int = tdf.member("USID", tdf.UInt)


# ---------------------------------------------------------------------------
# Matchmaking status


@tdf.tdfStruct
@attrs.define
class CreateGameStatus:
    """
    (C{Blaze::GameManager::CreateGameStatus}).

    Tags: C{EVST}, C{MMSN}, C{NOMP}.

    @ivar evaluateStatus: flags: 1 player count sufficient, 2 acceptable
        host found, 4 team sizes sufficient (the reference server sends 6).
    @ivar sessionCount: matchmaking sessions (1).
    @ivar matchedPlayers: number of matched players.
    """

    evaluateStatus: int = tdf.member("EVST", tdf.Int, default=6)
    sessionCount: int = tdf.member("MMSN", tdf.Int, default=1)
    matchedPlayers: int = tdf.member("NOMP", tdf.Int)


@tdf.tdfStruct
@attrs.define
class MatchmakingCustomAsyncStatus:
    """
    (C{Blaze::GameManager::MatchmakingCustomAsyncStatus}); no members.
    """


@tdf.tdfStruct
@attrs.define
class DNFRuleStatus:
    """
    (C{Blaze::GameManager::DNFRuleStatus}).

    Tags: C{MDNF}, C{XDNF}.
    """

    myDnfValue: int = tdf.member("MDNF", tdf.Int)
    maxDnfValue: int = tdf.member("XDNF", tdf.Int)


@tdf.tdfStruct
@attrs.define
class FindGameStatus:
    """
    (C{Blaze::GameManager::FindGameStatus}).

    Tags: C{GNUM}.
    """

    gameCount: int = tdf.member("GNUM", tdf.Int)


@tdf.tdfStruct
@attrs.define
class GeoLocationRuleStatus:
    """
    (C{Blaze::GameManager::GeoLocationRuleStatus}).

    Tags: C{DIST}.
    """

    maxDistance: int = tdf.member("DIST", tdf.Int)


@tdf.tdfStruct
@attrs.define
class GenericRuleStatus:
    """
    (C{Blaze::GameManager::GenericRuleStatus}).

    Tags: C{NAME}, C{VALU}.
    """

    ruleName: str = tdf.member("NAME", tdf.Str)
    matchedValues: list[str] = tdf.member("VALU", tdf.ListOf(tdf.Str))


@tdf.tdfStruct
@attrs.define
class GameSizeRuleStatus:
    """
    (C{Blaze::GameManager::GameSizeRuleStatus}).

    Tags: C{PMAX}, C{PMIN}.
    """

    maxPlayerCount: int = tdf.member("PMAX", tdf.Int, default=4)
    minPlayerCount: int = tdf.member("PMIN", tdf.Int, default=2)


@tdf.tdfStruct
@attrs.define
class HostBalanceRuleStatus:
    """
    (C{Blaze::GameManager::HostBalanceRuleStatus}).

    Tags: C{BVAL}.

    @ivar balance: 0 strictly balanced, 1 balanced, 2 unbalanced.
    """

    balance: int = tdf.member("BVAL", tdf.Int, default=1)


@tdf.tdfStruct
@attrs.define
class HostViabilityRuleStatus:
    """
    (C{Blaze::GameManager::HostViabilityRuleStatus}).

    Tags: C{VVAL}.

    @ivar viability: 0 connection assured ... 3 unlikely.
    """

    viability: int = tdf.member("VVAL", tdf.Int)


@tdf.tdfStruct
@attrs.define
class PingSiteRuleStatus:
    """
    (C{Blaze::GameManager::PingSiteRuleStatus}); no members.
    """


@tdf.tdfStruct
@attrs.define
class RankRuleStatus:
    """
    (C{Blaze::GameManager::RankRuleStatus}).

    Tags: C{RVAL}.
    """

    matchedRankFlags: int = tdf.member("RVAL", tdf.Int)


@tdf.tdfStruct
@attrs.define
class SkillRuleStatus:
    """
    (C{Blaze::GameManager::SkillRuleStatus}).

    Tags: C{NAME}, C{SKMN}, C{SKMX}.
    """

    ruleName: str = tdf.member("NAME", tdf.Str)
    minSkill: int = tdf.member("SKMN", tdf.Int)
    maxSkill: int = tdf.member("SKMX", tdf.Int)


@tdf.tdfStruct
@attrs.define
class TeamSizeRuleStatus:
    """
    (C{Blaze::GameManager::TeamSizeRuleStatus}).

    Tags: C{TMAX}, C{TMIN}.
    """

    maxTeamSize: int = tdf.member("TMAX", tdf.Int)
    minTeamSize: int = tdf.member("TMIN", tdf.Int)


@tdf.tdfStruct
@attrs.define
class UEDRuleStatus:
    """
    (C{Blaze::GameManager::UEDRuleStatus}).

    Tags: C{AMAX}, C{AMIN}, C{MUED}, C{NAME}.
    """

    maxAccepted: int = tdf.member("AMAX", tdf.Int)
    minAccepted: int = tdf.member("AMIN", tdf.Int)
    myValue: int = tdf.member("MUED", tdf.Int)
    ruleName: str = tdf.member("NAME", tdf.Str)


@tdf.tdfStruct
@attrs.define
class VirtualGameRuleStatus:
    """
    (C{Blaze::GameManager::VirtualGameRuleStatus}).

    Tags: C{VVAL}.
    """

    value: int = tdf.member("VVAL", tdf.Int)


@tdf.tdfStruct
@attrs.define
class MatchmakingAsyncStatus:
    """
    The state of a matchmaking session
    (C{Blaze::GameManager::MatchmakingAsyncStatus}).  The default is the
    fixed status the reference server sends.

    Tags: C{CGS}, C{CUST}, C{DNFS}, C{FGS}, C{GEOS}, C{GRDA}, C{GSRD},
    C{HBRD}, C{HVRD}, C{PSRS}, C{RRDA}, C{SKRS}, C{TSRS}, C{UEDS}, C{VGRS}.
    """

    createGame: CreateGameStatus = tdf.member(
        "CGS", tdf.StructOf(CreateGameStatus), default=attrs.Factory(CreateGameStatus)
    )
    custom: MatchmakingCustomAsyncStatus = tdf.member(
        "CUST",
        tdf.StructOf(MatchmakingCustomAsyncStatus),
        default=attrs.Factory(MatchmakingCustomAsyncStatus),
    )
    dnf: DNFRuleStatus = tdf.member(
        "DNFS", tdf.StructOf(DNFRuleStatus), default=attrs.Factory(DNFRuleStatus)
    )
    findGame: FindGameStatus = tdf.member(
        "FGS", tdf.StructOf(FindGameStatus), default=attrs.Factory(FindGameStatus)
    )
    geoLocation: GeoLocationRuleStatus = tdf.member(
        "GEOS",
        tdf.StructOf(GeoLocationRuleStatus),
        default=attrs.Factory(GeoLocationRuleStatus),
    )
    genericRules: dict[str, GenericRuleStatus] = tdf.member(
        "GRDA", tdf.MapOf(tdf.Str, tdf.StructOf(GenericRuleStatus))
    )
    gameSize: GameSizeRuleStatus = tdf.member(
        "GSRD",
        tdf.StructOf(GameSizeRuleStatus),
        default=attrs.Factory(GameSizeRuleStatus),
    )
    hostBalance: HostBalanceRuleStatus = tdf.member(
        "HBRD",
        tdf.StructOf(HostBalanceRuleStatus),
        default=attrs.Factory(HostBalanceRuleStatus),
    )
    hostViability: HostViabilityRuleStatus = tdf.member(
        "HVRD",
        tdf.StructOf(HostViabilityRuleStatus),
        default=attrs.Factory(HostViabilityRuleStatus),
    )
    pingSite: PingSiteRuleStatus = tdf.member(
        "PSRS",
        tdf.StructOf(PingSiteRuleStatus),
        default=attrs.Factory(PingSiteRuleStatus),
    )
    rank: RankRuleStatus = tdf.member(
        "RRDA", tdf.StructOf(RankRuleStatus), default=attrs.Factory(RankRuleStatus)
    )
    skillRules: dict[str, SkillRuleStatus] = tdf.member(
        "SKRS", tdf.MapOf(tdf.Str, tdf.StructOf(SkillRuleStatus))
    )
    teamSize: TeamSizeRuleStatus = tdf.member(
        "TSRS",
        tdf.StructOf(TeamSizeRuleStatus),
        default=attrs.Factory(TeamSizeRuleStatus),
    )
    uedRules: dict[str, UEDRuleStatus] = tdf.member(
        "UEDS", tdf.MapOf(tdf.Str, tdf.StructOf(UEDRuleStatus))
    )
    virtualGame: VirtualGameRuleStatus = tdf.member(
        "VGRS",
        tdf.StructOf(VirtualGameRuleStatus),
        default=attrs.Factory(VirtualGameRuleStatus),
    )


@tdf.tdfStruct
@attrs.define
class NotifyMatchmakingAsyncStatus:
    """
    NotifyMatchmakingAsyncStatus (4/0x0C).  Must reach a matchmaking
    player at least once, before its NotifyGameSetup.  The default carries
    one default L{MatchmakingAsyncStatus}, as the reference server sends.

    Tags: C{ASIL}, C{MSID}, C{USID}.

    Server-specific: C{sessionId} and C{userSessionId} (the reference
    server uses the player id for both).
    """

    statuses: list[MatchmakingAsyncStatus] = tdf.member(
        "ASIL",
        tdf.ListOf(tdf.StructOf(MatchmakingAsyncStatus)),
        default=attrs.Factory(lambda: [MatchmakingAsyncStatus()]),
    )
    sessionId: int = tdf.member("MSID", tdf.UInt)
    userSessionId: int = tdf.member("USID", tdf.UInt)
