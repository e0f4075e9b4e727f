# -*- test-case-name: tests.test_fuzz_regressions -*-
"""
A game of two players ready to tunnel, on a L{ServerHarness}'s hub: the
set-up the tunnel benchmark and the tunnel fuzz targets share.
"""

from __future__ import annotations

from collections.abc import Mapping

from pocketrelay.testing.server import ServerHarness

__all__ = ["tunnelLobby"]


def tunnelLobby(
    harness: ServerHarness,
    attributes: Mapping[str, str] | None = None,
    prefix: str = "",
) -> list[str]:
    """
    Log two players in on C{harness}'s hub (each session with an
    association token, as after C{GET /api/server}), the first hosting a
    game with C{attributes} and the second joined to it.

    @param prefix: put before the players' email addresses.
    @return: their association tokens, host first.
    """
    hub = harness.hub
    tokens, infos = [], []
    for name in ("host", "joiner"):
        token = hub.signer.issueAssociation()
        session = hub.newSession("127.0.0.1", token)
        hub.bindPlayer(session, harness.createPlayer(f"{prefix}{name}@example.org"))
        tokens.append(token)
        infos.append(hub.playerInfo(session))
    game, _ = hub.games.create(infos[0], attributes or {"ME3map": "map2"}, 0x1F, 0)
    hub.games.join(game.gameId, infos[1], 0)
    return tokens
