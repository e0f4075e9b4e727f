# -*- test-case-name: tests.test_games -*-
"""
Values for tests of the game model (L{pocketrelay.server.games}): a
lobby's attributes, players with distinct addresses, and a check that
notices can be sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from pocketrelay.blaze import tdf
from pocketrelay.me3.messages.common import (
    IpAddress,
    IpPairAddress,
    NetworkAddressIndex,
    NetworkQosData,
)
from pocketrelay.server.games import Notice, PlayerInfo

__all__ = ["LOBBY", "checked", "player"]

#: A public ME3 lobby on map2 with one DLC requirement.
LOBBY: Final = {
    "ME3map": "map2",
    "ME3gameEnemyType": "enemy1",
    "ME3gameDifficulty": "difficulty0",
    "ME3privacy": "PUBLIC",
    "ME3_dlc2300": "required",
}


def player(playerId: int, natType: int = 4, name: str | None = None) -> PlayerInfo:
    """
    A player with a distinct name, session id and IP-pair address.
    """
    address = IpPairAddress(
        external=IpAddress(ip=0x0A000000 + playerId, port=3659),
        internal=IpAddress(ip=0xC0A80000 + playerId, port=3659),
    )
    return PlayerInfo(
        playerId=playerId,
        name=name or f"Player{playerId}",
        sessionId=1000 + playerId,
        address=tdf.Choice(NetworkAddressIndex.IP_PAIR, address),
        qos=NetworkQosData(natType=natType),
        n7Rating=10 * playerId,
    )


def checked(notices: Iterable[Notice]) -> list[Notice]:
    """
    Encode the body of every notice (raising if one cannot be sent) and
    return them as a list.
    """
    result = list(notices)
    for notice in result:
        if not isinstance(notice, Notice):
            raise AssertionError(f"{notice!r} is not a Notice")
        tdf.encode(notice.body)
    return result
