# -*- test-case-name: tests.test_ids -*-
"""
The numbering of Blaze components, commands, notifications and errors as
Mass Effect 3 uses them (blaze-wire.md section 4).

The enums name the values the code uses; L{commandName} and
L{notificationName} resolve any known pair to a readable name for logs and
the command-line tool.
"""

from __future__ import annotations

import enum

__all__ = [
    "AssociationListsCommand",
    "AuthError",
    "AuthenticationCommand",
    "Component",
    "GameManagerCommand",
    "GameManagerError",
    "GameManagerNotification",
    "GameReportingCommand",
    "GameReportingNotification",
    "GlobalError",
    "MessagingCommand",
    "MessagingNotification",
    "RedirectorCommand",
    "StatsCommand",
    "UserSessionsCommand",
    "UserSessionsError",
    "UserSessionsNotification",
    "UtilCommand",
    "UtilError",
    "commandName",
    "componentName",
    "errorName",
    "notificationName",
]


class Component(enum.IntEnum):
    AUTHENTICATION = 0x0001
    GAME_MANAGER = 0x0004
    REDIRECTOR = 0x0005
    STATS = 0x0007
    UTIL = 0x0009
    MESSAGING = 0x000F
    ASSOCIATION_LISTS = 0x0019
    GAME_REPORTING = 0x001C
    DYNAMIC_INET_FILTER = 0x07D0
    USER_SESSIONS = 0x7802


class AuthenticationCommand(enum.IntEnum):
    CREATE_ACCOUNT = 0x0A
    UPDATE_ACCOUNT = 0x14
    UPDATE_PARENTAL_EMAIL = 0x1C
    LIST_USER_ENTITLEMENTS_2 = 0x1D
    GET_ACCOUNT = 0x1E
    GRANT_ENTITLEMENT = 0x1F
    LIST_ENTITLEMENTS = 0x20
    HAS_ENTITLEMENT = 0x21
    GET_USE_COUNT = 0x22
    DECREMENT_USE_COUNT = 0x23
    GET_AUTH_TOKEN = 0x24
    GET_HANDOFF_TOKEN = 0x25
    GET_PASSWORD_RULES = 0x26
    GRANT_ENTITLEMENT_2 = 0x27
    LOGIN = 0x28
    ACCEPT_TOS = 0x29
    GET_TOS_INFO = 0x2A
    MODIFY_ENTITLEMENT_2 = 0x2B
    CONSUME_CODE = 0x2C
    PASSWORD_FORGOT = 0x2D
    GET_TERMS_AND_CONDITIONS_CONTENT = 0x2E
    GET_PRIVACY_POLICY_CONTENT = 0x2F
    LIST_PERSONA_ENTITLEMENTS_2 = 0x30
    SILENT_LOGIN = 0x32
    CHECK_AGE_REQ = 0x33
    GET_OPT_IN = 0x34
    ENABLE_OPT_IN = 0x35
    DISABLE_OPT_IN = 0x36
    EXPRESS_LOGIN = 0x3C
    LOGOUT = 0x46
    CREATE_PERSONA = 0x50
    GET_PERSONA = 0x5A
    LIST_PERSONAS = 0x64
    LOGIN_PERSONA = 0x6E
    LOGOUT_PERSONA = 0x78
    DELETE_PERSONA = 0x8C
    DISABLE_PERSONA = 0x8D
    LIST_DEVICE_ACCOUNTS = 0x8F
    XBOX_CREATE_ACCOUNT = 0x96
    ORIGIN_LOGIN = 0x98
    XBOX_ASSOCIATE_ACCOUNT = 0xA0
    XBOX_LOGIN = 0xAA
    PS3_CREATE_ACCOUNT = 0xB4
    PS3_ASSOCIATE_ACCOUNT = 0xBE
    PS3_LOGIN = 0xC8
    VALIDATE_SESSION_KEY = 0xD2
    CREATE_WAL_USER_SESSION = 0xE6
    ACCEPT_LEGAL_DOCS = 0xF1
    GET_LEGAL_DOCS_INFO = 0xF2
    GET_TERMS_OF_SERVICE_CONTENT = 0xF6
    DEVICE_LOGIN_GUEST = 0x12C


class GameManagerCommand(enum.IntEnum):
    CREATE_GAME = 0x01
    DESTROY_GAME = 0x02
    ADVANCE_GAME_STATE = 0x03
    SET_GAME_SETTINGS = 0x04
    SET_PLAYER_CAPACITY = 0x05
    SET_PRESENCE_MODE = 0x06
    SET_GAME_ATTRIBUTES = 0x07
    SET_PLAYER_ATTRIBUTES = 0x08
    JOIN_GAME = 0x09
    REMOVE_PLAYER = 0x0B
    START_MATCHMAKING = 0x0D
    CANCEL_MATCHMAKING = 0x0E
    FINALIZE_GAME_CREATION = 0x0F
    LIST_GAMES = 0x11
    SET_PLAYER_CUSTOM_DATA = 0x12
    REPLAY_GAME = 0x13
    RETURN_DEDICATED_SERVER_TO_POOL = 0x14
    JOIN_GAME_BY_GROUP = 0x15
    LEAVE_GAME_BY_GROUP = 0x16
    MIGRATE_GAME = 0x17
    UPDATE_GAME_HOST_MIGRATION_STATUS = 0x18
    RESET_DEDICATED_SERVER = 0x19
    UPDATE_GAME_SESSION = 0x1A
    BAN_PLAYER = 0x1B
    UPDATE_MESH_CONNECTION = 0x1D
    REMOVE_PLAYER_FROM_BANNED_LIST = 0x1F
    CLEAR_BANNED_LIST = 0x20
    GET_BANNED_LIST = 0x21
    ADD_QUEUED_PLAYER_TO_GAME = 0x26
    UPDATE_GAME_NAME = 0x27
    EJECT_HOST = 0x28
    GET_GAME_LIST_SNAPSHOT = 0x64
    GET_GAME_LIST_SUBSCRIPTION = 0x65
    DESTROY_GAME_LIST = 0x66
    GET_FULL_GAME_DATA = 0x67
    GET_MATCHMAKING_CONFIG = 0x68
    GET_GAME_DATA_FROM_ID = 0x69
    ADD_ADMIN_PLAYER = 0x6A
    REMOVE_ADMIN_PLAYER = 0x6B
    SET_PLAYER_TEAM = 0x6C
    CHANGE_GAME_TEAM_ID = 0x6D
    MIGRATE_ADMIN_PLAYER = 0x6E
    GET_USER_SET_GAME_LIST_SUBSCRIPTION = 0x6F
    SWAP_PLAYERS_TEAM = 0x70
    REGISTER_DYNAMIC_DEDICATED_SERVER_CREATOR = 0x96
    UNREGISTER_DYNAMIC_DEDICATED_SERVER_CREATOR = 0x97


class GameManagerNotification(enum.IntEnum):
    MATCHMAKING_FAILED = 0x0A
    MATCHMAKING_ASYNC_STATUS = 0x0C
    GAME_CREATED = 0x0F
    GAME_REMOVED = 0x10
    GAME_SETUP = 0x14
    PLAYER_JOINING = 0x15
    JOINING_PLAYER_INITIATE_CONNECTIONS = 0x16
    PLAYER_JOINING_QUEUE = 0x17
    PLAYER_PROMOTED_FROM_QUEUE = 0x18
    PLAYER_CLAIMING_RESERVATION = 0x19
    PLAYER_JOIN_COMPLETED = 0x1E
    PLAYER_REMOVED = 0x28
    HOST_MIGRATION_FINISHED = 0x3C
    HOST_MIGRATION_START = 0x46
    PLATFORM_HOST_INITIALIZED = 0x47
    GAME_ATTRIB_CHANGE = 0x50
    PLAYER_ATTRIB_CHANGE = 0x5A
    PLAYER_CUSTOM_DATA_CHANGE = 0x5F
    GAME_STATE_CHANGE = 0x64
    GAME_SETTINGS_CHANGE = 0x6E
    GAME_CAPACITY_CHANGE = 0x6F
    GAME_RESET = 0x70
    GAME_REPORTING_ID_CHANGE = 0x71
    GAME_SESSION_UPDATED = 0x73
    GAME_PLAYER_STATE_CHANGE = 0x74
    GAME_PLAYER_TEAM_CHANGE = 0x75
    GAME_TEAM_ID_CHANGE = 0x76
    PROCESS_QUEUE = 0x77
    PRESENCE_MODE_CHANGED = 0x78
    GAME_PLAYER_QUEUE_POSITION_CHANGE = 0x79
    GAME_LIST_UPDATE = 0xC9
    ADMIN_LIST_CHANGE = 0xCA
    CREATE_DYNAMIC_DEDICATED_SERVER_GAME = 0xDC
    GAME_NAME_CHANGE = 0xE6


class RedirectorCommand(enum.IntEnum):
    GET_SERVER_INSTANCE = 0x01


class StatsCommand(enum.IntEnum):
    GET_STAT_DESCS = 0x01
    GET_STATS = 0x02
    GET_STAT_GROUP_LIST = 0x03
    GET_STAT_GROUP = 0x04
    GET_STATS_BY_GROUP = 0x05
    GET_DATE_RANGE = 0x06
    GET_ENTITY_COUNT = 0x07
    GET_LEADERBOARD_GROUP = 0x0A
    GET_LEADERBOARD_FOLDER_GROUP = 0x0B
    GET_LEADERBOARD = 0x0C
    GET_CENTERED_LEADERBOARD = 0x0D
    GET_FILTERED_LEADERBOARD = 0x0E
    GET_KEY_SCOPES_MAP = 0x0F
    GET_STATS_BY_GROUP_ASYNC = 0x10
    GET_LEADERBOARD_TREE_ASYNC = 0x11
    GET_LEADERBOARD_ENTITY_COUNT = 0x12
    GET_STAT_CATEGORY_LIST = 0x13
    GET_PERIOD_IDS = 0x14
    GET_LEADERBOARD_RAW = 0x15
    GET_CENTERED_LEADERBOARD_RAW = 0x16
    GET_FILTERED_LEADERBOARD_RAW = 0x17
    CHANGE_KEYSCOPE_VALUE = 0x18


class UtilCommand(enum.IntEnum):
    FETCH_CLIENT_CONFIG = 0x01
    PING = 0x02
    SET_CLIENT_DATA = 0x03
    LOCALIZE_STRINGS = 0x04
    GET_TELEMETRY_SERVER = 0x05
    GET_TICKER_SERVER = 0x06
    PRE_AUTH = 0x07
    POST_AUTH = 0x08
    USER_SETTINGS_LOAD = 0x0A
    USER_SETTINGS_SAVE = 0x0B
    USER_SETTINGS_LOAD_ALL = 0x0C
    DELETE_USER_SETTINGS = 0x0E
    FILTER_FOR_PROFANITY = 0x14
    FETCH_QOS_CONFIG = 0x15
    SET_CLIENT_METRICS = 0x16
    SET_CONNECTION_STATE = 0x17
    GET_PSS_CONFIG = 0x18
    GET_USER_OPTIONS = 0x19
    SET_USER_OPTIONS = 0x1A
    SUSPEND_USER_PING = 0x1B


class MessagingCommand(enum.IntEnum):
    SEND_MESSAGE = 0x01
    FETCH_MESSAGES = 0x02
    PURGE_MESSAGES = 0x03
    TOUCH_MESSAGES = 0x04
    GET_MESSAGES = 0x05


class MessagingNotification(enum.IntEnum):
    MESSAGE = 0x01


class AssociationListsCommand(enum.IntEnum):
    ADD_USERS_TO_LIST = 0x01
    REMOVE_USERS_FROM_LIST = 0x02
    CLEAR_LIST = 0x03
    SET_USERS_TO_LIST = 0x04
    GET_LIST_FOR_USER = 0x05
    GET_LISTS = 0x06
    SUBSCRIBE_TO_LISTS = 0x07
    UNSUBSCRIBE_FROM_LISTS = 0x08
    GET_CONFIG_LISTS_INFO = 0x09


class AssociationListsNotification(enum.IntEnum):
    UPDATE_LIST_MEMBERSHIP = 0x01


class GameReportingCommand(enum.IntEnum):
    SUBMIT_GAME_REPORT = 0x01
    SUBMIT_OFFLINE_GAME_REPORT = 0x02
    SUBMIT_GAME_EVENTS = 0x03
    GET_GAME_REPORT_QUERY = 0x04
    GET_GAME_REPORT_QUERIES_LIST = 0x05
    GET_GAME_REPORTS = 0x06
    GET_GAME_REPORT_VIEW = 0x07
    GET_GAME_REPORT_VIEW_INFO = 0x08
    GET_GAME_REPORT_VIEW_INFO_LIST = 0x09
    GET_GAME_REPORT_TYPES = 0x0A
    UPDATE_METRIC = 0x0B
    GET_GAME_REPORT_COLUMN_INFO = 0x0C
    GET_GAME_REPORT_COLUMN_VALUES = 0x0D
    SUBMIT_TRUSTED_MID_GAME_REPORT = 0x64
    SUBMIT_TRUSTED_END_GAME_REPORT = 0x65


class GameReportingNotification(enum.IntEnum):
    RESULT = 0x72


class UserSessionsCommand(enum.IntEnum):
    FETCH_EXTENDED_DATA = 0x03
    UPDATE_EXTENDED_DATA_ATTRIBUTE = 0x05
    UPDATE_HARDWARE_FLAGS = 0x08
    LOOKUP_USER = 0x0C
    LOOKUP_USERS = 0x0D
    LOOKUP_USERS_BY_PREFIX = 0x0E
    UPDATE_NETWORK_INFO = 0x14
    LOOKUP_USER_GEO_IP_DATA = 0x17
    OVERRIDE_USER_GEO_IP_DATA = 0x18
    UPDATE_USER_SESSION_CLIENT_DATA = 0x19
    SET_USER_INFO_ATTRIBUTE = 0x1A
    RESET_USER_GEO_IP_DATA = 0x1B
    LOOKUP_USER_SESSION_ID = 0x20
    FETCH_LAST_LOCALE_USED_AND_AUTH_ERROR = 0x21
    FETCH_USER_FIRST_LAST_AUTH_TIME = 0x22
    RESUME_SESSION = 0x23


class UserSessionsNotification(enum.IntEnum):
    USER_SESSION_EXTENDED_DATA_UPDATE = 0x01
    USER_ADDED = 0x02
    USER_REMOVED = 0x03
    USER_SESSION_DISCONNECTED = 0x04
    USER_UPDATED = 0x05


class GlobalError(enum.IntEnum):
    """
    Framework errors: the wire code is C{0x4000 | n}.
    """

    SYSTEM = 0x4001
    COMPONENT_NOT_FOUND = 0x4002
    COMMAND_NOT_FOUND = 0x4003
    AUTHENTICATION_REQUIRED = 0x4004
    TIMEOUT = 0x4005
    DISCONNECTED = 0x4006
    DUPLICATE_LOGIN = 0x4007
    AUTHORIZATION_REQUIRED = 0x4008
    CANCELED = 0x4009
    DB_SYSTEM = 0x4065


class AuthError(enum.IntEnum):
    TOS_REQUIRED = 0x02
    INVALID_COUNTRY = 0x0A
    INVALID_USER = 0x0B
    INVALID_PASSWORD = 0x0C
    INVALID_TOKEN = 0x0D
    EXPIRED_TOKEN = 0x0E
    EXISTS = 0x0F
    TOO_YOUNG = 0x10
    NO_ACCOUNT = 0x11
    PERSONA_NOT_FOUND = 0x12
    PERSONA_INACTIVE = 0x13
    INVALID_PMAIL = 0x14
    INVALID_FIELD = 0x15
    INVALID_EMAIL = 0x16
    INVALID_STATUS = 0x17
    INVALID_SESSION_KEY = 0x1F
    PERSONA_BANNED = 0x20
    INVALID_PERSONA = 0x21
    PENDING = 0x2A
    BANNED = 0x2B
    DISABLED = 0x2C
    NEED_PCCDKEY = 0x32
    CODE_ALREADY_USED = 0x33
    INVALID_CODE = 0x34
    FIELD_INVALID_CHARS = 0xC9
    FIELD_TOO_SHORT = 0xCA
    FIELD_TOO_LONG = 0xCB


class GameManagerError(enum.IntEnum):
    INVALID_GAME_SETTINGS = 0x01
    INVALID_GAME_ID = 0x02
    JOIN_METHOD_NOT_SUPPORTED = 0x03
    GAME_FULL = 0x04
    INVALID_GAME_STATE_TRANSITION = 0x05
    GAME_PROTOCOL_VERSION_MISMATCH = 0x0A
    GAME_IN_PROGRESS = 0x0B
    PERMISSION_DENIED = 0x1E
    PLAYER_NOT_FOUND = 0x65
    ALREADY_GAME_MEMBER = 0x67
    REMOVE_PLAYER_FAILED = 0x68
    JOIN_PLAYER_FAILED = 0x6C
    PLAYER_BANNED = 0x6E
    ALREADY_IN_QUEUE = 0x70
    INVALID_MATCHMAKING_CRITERIA = 0xC8
    UNKNOWN_MATCHMAKING_SESSION_ID = 0xC9
    MATCHMAKING_NO_JOINABLE_GAMES = 0xCB
    TEAM_FULL = 0xFF


class UtilError(enum.IntEnum):
    CONFIG_NOT_FOUND = 0x64
    NO_PSS_SERVERS = 0x91
    NO_TELEMETRY_SERVERS = 0x96
    NO_TICKER_SERVERS = 0x9B
    USS_RECORD_NOT_FOUND = 0xC8
    #: UTIL_USS_TOO_MANY_KEYS in the Blaze SDK: over the storage allowed
    #: for the user's settings.
    USS_TOO_MANY_KEYS = 0xC9
    SUSPEND_PING_TIME_TOO_LARGE = 0x12C
    SUSPEND_PING_TIME_TOO_SMALL = 0x12D
    PING_SUSPENDED = 0x12E


class UserSessionsError(enum.IntEnum):
    #: PocketRelay's number (A4K's table has 0x01); see docs/protocol.md.
    USER_NOT_FOUND = 0x0B


_COMMANDS: dict[int, type[enum.IntEnum]] = {
    Component.AUTHENTICATION: AuthenticationCommand,
    Component.GAME_MANAGER: GameManagerCommand,
    Component.REDIRECTOR: RedirectorCommand,
    Component.STATS: StatsCommand,
    Component.UTIL: UtilCommand,
    Component.MESSAGING: MessagingCommand,
    Component.ASSOCIATION_LISTS: AssociationListsCommand,
    Component.GAME_REPORTING: GameReportingCommand,
    Component.USER_SESSIONS: UserSessionsCommand,
}

_NOTIFICATIONS: dict[int, type[enum.IntEnum]] = {
    Component.GAME_MANAGER: GameManagerNotification,
    Component.MESSAGING: MessagingNotification,
    Component.ASSOCIATION_LISTS: AssociationListsNotification,
    Component.GAME_REPORTING: GameReportingNotification,
    Component.USER_SESSIONS: UserSessionsNotification,
}

_COMPONENT_ERRORS: dict[int, type[enum.IntEnum]] = {
    Component.AUTHENTICATION: AuthError,
    Component.GAME_MANAGER: GameManagerError,
    Component.UTIL: UtilError,
    Component.USER_SESSIONS: UserSessionsError,
}


def _camel(name: str) -> str:
    head, *rest = name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


def componentName(component: int) -> str:
    """
    C{"Util"} for 9; C{"0x1234"} for an unknown component.
    """
    try:
        return "".join(p.capitalize() for p in Component(component).name.split("_"))
    except ValueError:
        return f"0x{component:04x}"


def _lookup(table: dict[int, type[enum.IntEnum]], component: int, value: int) -> str:
    enumType = table.get(component)
    if enumType is not None:
        try:
            return _camel(enumType(value).name)
        except ValueError:
            pass
    return f"0x{value:02x}"


def commandName(component: int, command: int) -> str:
    """
    C{"Util.ping"} for (9, 2); unknown parts are shown in hex.
    """
    return f"{componentName(component)}.{_lookup(_COMMANDS, component, command)}"


def notificationName(component: int, notification: int) -> str:
    """
    C{"GameManager.gameSetup"} for (4, 0x14); unknown parts in hex.
    """
    return f"{componentName(component)}.{_lookup(_NOTIFICATIONS, component, notification)}"


def errorName(component: int, error: int) -> str:
    """
    The name of an error code sent in reply to a command of C{component}:
    a framework error (C{0x4000} bit) or the component's own.
    """
    if error & 0x4000:
        try:
            return _camel(GlobalError(error).name)
        except ValueError:
            return f"0x{error:04x}"
    return _lookup(_COMPONENT_ERRORS, component, error)
