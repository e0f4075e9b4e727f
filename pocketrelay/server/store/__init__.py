# -*- test-case-name: tests.test_store -*-
"""
Persistence: players, player data, Galaxy at War ratings, leaderboards and
game reports, in SQLite by default.

Use L{Store}; the values it returns are the frozen classes exported here.
"""

from __future__ import annotations

from pocketrelay.server.store.schema import SCHEMA_VERSION
from pocketrelay.server.store.store import (
    MAX_DATA_KEY_LENGTH,
    MAX_DATA_KEYS,
    MAX_DATA_VALUE_SIZE,
    MAX_DISPLAY_NAME_LENGTH,
    MAX_EMAIL_LENGTH,
    MAX_FILTER_IDS,
    MAX_PAGE_SIZE,
    MAX_QUERY_LENGTH,
    MAX_REPORT_SIZE,
    DirectStore,
    GalaxyAtWar,
    GameReport,
    InvalidValue,
    LeaderboardEntry,
    LeaderboardType,
    Player,
    PlayerExists,
    PlayerRole,
    Store,
    StoreError,
    UnknownPlayer,
    prepareConnection,
)

__all__ = [
    "MAX_DATA_KEYS",
    "MAX_DATA_KEY_LENGTH",
    "MAX_DATA_VALUE_SIZE",
    "MAX_DISPLAY_NAME_LENGTH",
    "MAX_EMAIL_LENGTH",
    "MAX_FILTER_IDS",
    "MAX_PAGE_SIZE",
    "MAX_QUERY_LENGTH",
    "MAX_REPORT_SIZE",
    "SCHEMA_VERSION",
    "DirectStore",
    "GalaxyAtWar",
    "GameReport",
    "InvalidValue",
    "LeaderboardEntry",
    "LeaderboardType",
    "Player",
    "PlayerExists",
    "PlayerRole",
    "Store",
    "StoreError",
    "UnknownPlayer",
    "prepareConnection",
]
