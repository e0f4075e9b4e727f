# -*- test-case-name: tests.test_components -*-
"""
Messaging (component 0xF): the main-menu message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pocketrelay.blaze.ids import Component, MessagingCommand, MessagingNotification
from pocketrelay.me3.messages.messaging import (
    ClientMessage,
    FetchMessageRequest,
    FetchMessageResponse,
    ServerMessage,
    playerObjectId,
)
from pocketrelay.server.components.base import command

if TYPE_CHECKING:
    from pocketrelay.server.session import Session


@command(Component.MESSAGING, MessagingCommand.FETCH_MESSAGES, FetchMessageRequest)
def fetchMessages(session: Session, request: FetchMessageRequest) -> FetchMessageResponse:
    """
    Answer that one message waits, then send it: the configured menu
    message with C{{v}} and C{{n}} filled in.
    """
    player = session.player
    assert player is not None
    target = playerObjectId(player.id)
    session.notify(
        Component.MESSAGING,
        MessagingNotification.MESSAGE,
        ServerMessage(
            sourceName=session.hub.gameData.menuMessage(player.displayName),
            payload=ClientMessage(target=target),
            source=target,
        ),
    )
    return FetchMessageResponse(count=1)
