# -*- test-case-name: tests.test_components -*-
"""
L{Hub}: the server's controller.  It owns the live sessions and the
player-to-session map, and holds the shared services (settings, store,
game data, token signer, password hasher, clock) that handlers reach
through C{session.hub}.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from twisted.logger import Logger

from pocketrelay._version import __version__
from pocketrelay.addresses import fillExternalAddress
from pocketrelay.blaze import tdf
from pocketrelay.blaze.protocol import BlazeProtocol, encodeBody
from pocketrelay.me3.messages.gameenums import PlayerRemovedReason
from pocketrelay.server.games import Game, Games, Notice, PlayerInfo
from pocketrelay.server.limits import ServerLimits
from pocketrelay.server.metrics import ServerMetrics
from pocketrelay.server.session import Session

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime

    from pocketrelay.server.config import Settings
    from pocketrelay.server.gamedata import GameData
    from pocketrelay.server.security import Passwords, TokenSigner
    from pocketrelay.server.store import Player, Store

__all__ = ["Hub"]


class Hub:
    """
    The controller shared by every Blaze session.

    @ivar sessions: live sessions by session id.
    @ivar online: the session of each logged-in player, by player id.
    """

    log = Logger()

    def __init__(
        self,
        settings: Settings,
        store: Store,
        gameData: GameData,
        signer: TokenSigner,
        passwords: Passwords,
        clock: IReactorTime,
        version: str = __version__,
    ) -> None:
        self.settings = settings
        self.store = store
        self.gameData = gameData
        self.signer = signer
        self.passwords = passwords
        self.clock = clock
        self.version = version
        self.sessions: dict[int, Session] = {}
        #: The newest live session that sent each tunnel association token
        #: (how the tunnel relay finds a tunnel's player).
        self.byAssociation: dict[str, Session] = {}
        self.online: dict[int, Session] = {}
        self._sessionIds = itertools.count(1)
        self.games = Games(tunnelPolicy=settings["tunnel"])
        self.games.onFinished = self._gameFinished
        self.games.onJoined = self._gameJoined
        #: Rate limits and per-address caps (see L{ServerLimits}).
        self.limits = ServerLimits(settings, clock)
        #: The server's Prometheus metrics (C{GET /metrics}).
        self.metrics = ServerMetrics(self)
        self.games.onQueueLeft = self.metrics.queueLeft

    # -- sessions

    def newSession(self, peerHost: str, association: str | None = None) -> Session:
        """
        Create the session for a new Blaze connection.
        """
        session = Session(self, next(self._sessionIds), peerHost, association)
        self.sessions[session.sessionId] = session
        self.limits.sessionOpened(peerHost)
        if association is not None:
            self.byAssociation[association] = session
        return session

    def buildProtocol(self, peerHost: str, association: str | None = None) -> BlazeProtocol:
        """
        A L{BlazeProtocol} whose dispatcher is a new L{Session}.
        """
        session = self.newSession(peerHost, association)
        protocol = BlazeProtocol(
            session,
            clock=self.clock,
            idleTimeout=self.settings["limits.idle_timeout"],
            maxFrameSize=self.settings["limits.max_frame_size"],
            frameTimeout=self.settings["limits.frame_timeout"],
        )
        # Until it logs in, its incomplete frames count against the budget
        # of anonymous sessions.
        protocol.setInputBudget(self.limits.frameBudget)
        # Requests per session and per address are rate-limited, and
        # handled a queue's worth per reactor turn.
        if self.limits.requests.enabled:
            protocol.requestGate = self.limits.requests.gate(session.sessionId, peerHost)
        protocol.requestObserver = self.metrics.requests.observe
        return protocol

    def sessionClosed(self, session: Session) -> None:
        """
        Forget a session whose connection closed; its player leaves its
        game (reason: the Blaze server lost the connection) and the
        matchmaking queue.
        """
        if session.player is not None:
            # The server lost the player's connection (reference §9.10:
            # not "player left").
            self._leaveGames(session, PlayerRemovedReason.BLAZESERVER_CONN_LOST)
        if self.sessions.pop(session.sessionId, None) is not None:
            self.limits.sessionClosed(session.peerHost)
        self._forgetAssociation(session)
        player = session.player
        if player is not None and self.online.get(player.id) is session:
            del self.online[player.id]

    def _forgetAssociation(self, session: Session) -> None:
        association = session.association
        if association is None or self.byAssociation.get(association) is not session:
            return
        del self.byAssociation[association]
        # Rare: another live session sent the same token; it takes over.
        for other in reversed(list(self.sessions.values())):
            if other.association == association and not other.closed:
                self.byAssociation[association] = other
                break

    def sessionForAssociation(self, association: str) -> Session | None:
        """
        The newest live session that presented C{association} on its
        upgrade, if any.
        """
        return self.byAssociation.get(association)

    @property
    def full(self) -> bool:
        """
        Whether the configured maximum number of sessions is reached.
        """
        return len(self.sessions) >= self.settings["limits.max_sessions"]

    # -- authentication

    def bindPlayer(self, session: Session, player: Player) -> None:
        """
        Make C{player} the account of C{session}.  An older session of the
        same account is logged out and disconnected: one live session per
        account.

        A session whose connection closed while its login was being
        checked is not bound: it would stay in L{online} for good.
        """
        if session.closed:
            self.log.info(
                "Player {name} ({playerId}) logged in on session {sessionId}, "
                "which has closed meanwhile; ignored",
                name=player.displayName,
                playerId=player.id,
                sessionId=session.sessionId,
            )
            return
        previous = self.online.get(player.id)
        if previous is not None and previous is not session:
            self.log.info(
                "Player {name} ({playerId}) logged in again; closing session "
                "{old}",
                name=player.displayName,
                playerId=player.id,
                old=previous.sessionId,
            )
            self.unbindPlayer(previous)
            previous.disconnect()
        if session.player is not None and session.player.id != player.id:
            self.unbindPlayer(session)
        session.player = player
        self.online[player.id] = session
        if session.protocol is not None:
            session.protocol.setInputBudget(None)
        self.log.info(
            "Player {name} ({playerId}) logged in on session {sessionId} from {peer}",
            name=player.displayName,
            playerId=player.id,
            sessionId=session.sessionId,
            peer=session.peerHost,
        )

    def unbindPlayer(self, session: Session) -> None:
        """
        Log C{session} out (its connection stays open).
        """
        player = session.player
        if player is None:
            return
        self._leaveGames(session, PlayerRemovedReason.PLAYER_LEFT)
        if self.online.get(player.id) is session:
            del self.online[player.id]
        session.player = None
        if session.protocol is not None and not session.closed:
            session.protocol.setInputBudget(self.limits.frameBudget)

    def sessionForPlayer(self, playerId: int) -> Session | None:
        """
        The live session of a logged-in player.
        """
        return self.online.get(playerId)

    def updatePlayer(self, player: Player) -> None:
        """
        A player's account changed (name, role): refresh the live session's
        copy.
        """
        session = self.online.get(player.id)
        if session is not None:
            session.player = player

    # -- games

    def deliver(self, notices: list[Notice]) -> None:
        """
        Send each notice to its recipients' sessions, encoding its body once.
        """
        for notice in notices:
            body = encodeBody(notice.body)
            for playerId in notice.recipients:
                session = self.online.get(playerId)
                if session is not None:
                    session.notify(notice.component, notice.command, body)

    def playerInfo(self, session: Session, fallbackAddress: tdf.Choice | None = None) -> PlayerInfo:
        """
        The snapshot of a logged-in session that games keep.  When the
        session has not reported its network yet, the address from the
        request (C{fallbackAddress}) is used, with the observed address
        filled in.
        """
        player = session.player
        assert player is not None
        network = session.network
        address = network.address
        if not address.isSet and fallbackAddress is not None and fallbackAddress.isSet:
            address = fillExternalAddress(fallbackAddress, session.peerHost, network.upnpAddress)
            network.address = address
        kwargs: dict[str, Any] = {}
        if network.qos is not None:
            kwargs["qos"] = network.qos
        return PlayerInfo(
            playerId=player.id,
            name=player.displayName,
            sessionId=session.sessionId,
            address=address,
            hardwareFlags=network.hardwareFlags,
            latencies=tuple(network.pingSiteLatency.values()),
            n7Rating=session.extra.get("n7Rating", 0),
            **kwargs,
        )

    def playerUpdated(self, session: Session) -> None:
        """
        A session reported new network details: games and game members
        see the new snapshot.
        """
        if session.player is not None:
            self.deliver(self.games.updatePlayer(self.playerInfo(session)))

    def _gameJoined(self, game: Game, playerId: int) -> None:
        """
        A player entered C{game}: remember its progress for the report.
        """
        from pocketrelay.server.reports import snapshotProgress

        d = snapshotProgress(self.store, game, playerId)
        d.addErrback(lambda f: self.log.failure("Snapshot of {playerId} failed", f,
                                                playerId=playerId))

    def _leaveGames(self, session: Session, reason: PlayerRemovedReason) -> None:
        player = session.player
        if player is None:
            return
        game = self.games.gameOf(player.id)
        notices = self.games.leaveAll(player.id, reason, self.clock.seconds())
        if game is not None:
            self.log.info("Player {name} left game {gameId} ({reason})",
                          name=player.displayName, gameId=game.gameId, reason=reason.name)
        self.deliver(notices)

    def tick(self) -> None:
        """
        Periodic work: matchmaking timeouts and status updates.
        """
        self.deliver(self.games.tick(self.clock.seconds()))

    def _gameFinished(self, game: Game) -> None:
        from pocketrelay.server.reports import recordGameReport

        d = recordGameReport(self.store, game, self.clock.seconds())
        d.addErrback(lambda f: self.log.failure("Storing the report of game {gameId} failed",
                                                f, gameId=game.gameId))
