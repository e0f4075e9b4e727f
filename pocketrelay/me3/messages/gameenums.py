# -*- test-case-name: tests.test_messages -*-
"""
The enums and flags of GameManager messages as ME3 uses them
(blaze-wire.md sections 5.9 and 5.10, server-behaviour.md section 4.1).

They are plain L{enum.IntEnum} / L{enum.IntFlag} values, so they can be
assigned to the C{int} members of the declared messages directly;
decoded messages hold plain integers, which compare equal to these.
"""

from __future__ import annotations

import enum

__all__ = [
    "AdminListOperation",
    "DatalessContext",
    "GameDestructionReason",
    "GameEntryType",
    "GameNetworkTopology",
    "GameSettings",
    "GameSetupReasonIndex",
    "GameState",
    "HostMigrationType",
    "JoinMethod",
    "JoinState",
    "MatchmakingResult",
    "MatchmakingSessionMode",
    "PlayerNetConnectionStatus",
    "PlayerRemovedReason",
    "PlayerState",
    "PresenceMode",
    "SlotType",
    "VoipTopology",
]


class GameState(enum.IntEnum):
    """
    C{GSTA}: the Blaze state of a game.  ME3's own lobby state is the
    C{ME3gameState} attribute, not this.

    C{CONNECTION_VERIFICATION}, C{UNRESPONSIVE} and
    C{GAME_GROUP_INITIALIZED} are newer SDK names the reference server
    declares; ME3 (Blaze 3.15) does not use them.
    """

    NEW_STATE = 0x0
    INITIALIZING = 0x1
    VIRTUAL = 0x2
    CONNECTION_VERIFICATION = 0x3
    POST_GAME = 0x4
    MIGRATING = 0x5
    DESTRUCTING = 0x6
    RESETABLE = 0x7
    REPLAY_SETUP = 0x8
    UNRESPONSIVE = 0x9
    GAME_GROUP_INITIALIZED = 0x10
    PRE_GAME = 0x82
    IN_GAME = 0x83


class PlayerState(enum.IntEnum):
    """
    C{STAT} of a game player.  The host is C{ACTIVE_CONNECTED} at once;
    joiners are C{ACTIVE_CONNECTING} until the host reports the mesh
    connection.
    """

    RESERVED = 0
    QUEUED = 1
    ACTIVE_CONNECTING = 2
    ACTIVE_MIGRATING = 3
    ACTIVE_CONNECTED = 4
    ACTIVE_KICK_PENDING = 5


class PlayerRemovedReason(enum.IntEnum):
    """
    C{REAS} of removePlayer and NotifyPlayerRemoved.
    """

    JOIN_TIMEOUT = 0
    PLAYER_CONN_LOST = 1
    BLAZESERVER_CONN_LOST = 2
    MIGRATION_FAILED = 3
    GAME_DESTROYED = 4
    GAME_ENDED = 5
    PLAYER_LEFT = 6
    GROUP_LEFT = 7
    PLAYER_KICKED = 8
    PLAYER_KICKED_WITH_BAN = 9
    PLAYER_JOIN_FROM_QUEUE_FAILED = 10
    PLAYER_RESERVATION_TIMEOUT = 11
    HOST_EJECTED = 12


class MatchmakingResult(enum.IntEnum):
    """
    C{RSLT} of the matchmaking setup context and NotifyMatchmakingFailed.
    """

    SUCCESS_CREATED_GAME = 0
    SUCCESS_JOINED_NEW_GAME = 1
    SUCCESS_JOINED_EXISTING_GAME = 2
    SESSION_TIMED_OUT = 3
    SESSION_CANCELED = 4
    SESSION_TERMINATED = 5
    SESSION_ERROR_GAME_SETUP_FAILED = 6


class GameSetupReasonIndex(enum.IntEnum):
    """
    The alternatives of the C{GameSetupReason} union (C{REAS} of
    NotifyGameSetup).
    """

    DATALESS = 0
    RESET_DEDICATED_SERVER = 1
    INDIRECT_JOIN_GAME = 2
    MATCHMAKING = 3
    INDIRECT_MATCHMAKING = 4


class DatalessContext(enum.IntEnum):
    """
    C{DCTX} of the dataless setup context: why a player gets the game
    setup.  The creator gets C{CREATE_GAME_SETUP}, joinGame
    C{JOIN_GAME_SETUP}.
    """

    CREATE_GAME_SETUP = 0
    JOIN_GAME_SETUP = 1
    INDIRECT_JOIN_GAME_FROM_QUEUE_SETUP = 2
    INDIRECT_JOIN_GAME_FROM_RESERVATION_CONTEXT = 3
    HOST_INJECTION_SETUP_CONTEXT = 4


class HostMigrationType(enum.IntEnum):
    """
    C{PMIG} of NotifyHostMigrationStart; the emulators send
    C{TOPOLOGY_PLATFORM_HOST}.
    """

    TOPOLOGY_HOST = 0
    PLATFORM_HOST = 1
    TOPOLOGY_PLATFORM_HOST = 2


class GameSettings(enum.IntFlag):
    """
    C{GSET}: game settings flags.  ME3 creates games with 0x11F and
    matchmakes with 0x51F.
    """

    NONE = 0
    OPEN_TO_BROWSING = 0x1
    OPEN_TO_MATCHMAKING = 0x2
    OPEN_TO_INVITES = 0x4
    OPEN_TO_JOIN_BY_PLAYER = 0x8
    HOST_MIGRATABLE = 0x10
    RANKED = 0x20
    ADMIN_ONLY_INVITES = 0x40
    ENFORCE_SINGLE_GROUP_JOIN = 0x80
    JOIN_IN_PROGRESS_SUPPORTED = 0x100
    ADMIN_INVITE_ONLY_IGNORE_ENTRY_CHECKS = 0x200
    IGNORE_ENTRY_CRITERIA_WITH_INVITE = 0x400
    ENABLE_PERSISTED_GAME_ID = 0x800
    ALLOW_SAME_TEAM_ID = 0x1000
    VIRTUALIZED = 0x2000
    SEND_ORPHANED_GAME_REPORT_EVENT = 0x4000
    ALLOW_ANY_REPUTATION = 0x8000


class GameDestructionReason(enum.IntEnum):
    """
    C{REAS} of NotifyGameRemoved.
    """

    SYS_GAME_ENDING = 0
    SYS_CREATION_FAILED = 1
    HOST_LEAVING = 2
    HOST_INJECTION = 3
    HOST_EJECTION = 4
    LOCAL_PLAYER_LEAVING = 5
    TITLE_REASON_BASE_GAME_DESTRUCTION_REASON = 6


class JoinState(enum.IntEnum):
    """
    C{JGS} of the joinGame reply.
    """

    JOINED_GAME = 0
    IN_QUEUE = 1
    GROUP_PARTIALLY_JOINED = 2


class PlayerNetConnectionStatus(enum.IntEnum):
    """
    C{STAT} of a mesh connection in updateMeshConnection.
    """

    DISCONNECTED = 0
    ESTABLISHING_CONNECTION = 1
    CONNECTED = 2


class AdminListOperation(enum.IntEnum):
    """
    C{OPER} of NotifyAdminListChange.
    """

    ADD = 0
    REMOVE = 1
    MIGRATE = 2


class GameNetworkTopology(enum.IntEnum):
    """
    C{NTOP}: ME3 games are peer hosted; the reference server announces
    C{CLIENT_SERVER_DEDICATED} for tunnelled games.
    """

    CLIENT_SERVER_PEER_HOSTED = 0
    CLIENT_SERVER_DEDICATED = 1
    PEER_TO_PEER_FULL_MESH = 0x82
    PEER_TO_PEER_PARTIAL_MESH = 0x83
    PEER_TO_PEER_DIRTYCAST_FAILOVER = 0x84


class VoipTopology(enum.IntEnum):
    """
    C{VOIP}; ME3 uses C{PEER_TO_PEER}.
    """

    DISABLED = 0
    DEDICATED_SERVER = 1
    PEER_TO_PEER = 2


class PresenceMode(enum.IntEnum):
    """
    C{PRES}; ME3 games use C{STANDARD}.
    """

    NONE = 0
    STANDARD = 1
    PRIVATE = 2


class SlotType(enum.IntEnum):
    """
    C{SLOT}: the kind of player slot.
    """

    PUBLIC = 0
    PRIVATE = 1


class GameEntryType(enum.IntEnum):
    """
    C{GENT}: how a player enters a game.
    """

    DIRECT = 0
    MAKE_RESERVATION = 1
    CLAIM_RESERVATION = 2


class JoinMethod(enum.IntEnum):
    """
    C{JMET} of joinGame.
    """

    JOIN_BY_BROWSING = 1
    JOIN_BY_MATCHMAKING = 2
    JOIN_BY_INVITES = 4
    JOIN_BY_PLAYER = 8
    SYS_JOIN_BY_FOLLOWLEADER_CREATEGAME = 15
    SYS_JOIN_BY_RESETDEDICATEDSERVER = 16
    SYS_JOIN_BY_FOLLOWLEADER_RESETDEDICATEDSERVER = 32
    SYS_JOIN_BY_FOLLOWLEADER_CREATEGAME_HOST = 64


class MatchmakingSessionMode(enum.IntFlag):
    """
    C{MODE} of startMatchmaking.
    """

    NONE = 0
    FIND_GAME = 1
    CREATE_GAME = 2
