# -*- test-case-name: tests.test_components -*-
"""
AssociationLists (component 0x19): the friend list, which this server does
not keep (ME3 players invite through the game's own overlay).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pocketrelay.blaze.ids import AssociationListsCommand, Component
from pocketrelay.me3.messages.associations import GetListsRequest, Lists
from pocketrelay.server.components.base import command

if TYPE_CHECKING:
    from pocketrelay.server.session import Session


@command(Component.ASSOCIATION_LISTS, AssociationListsCommand.GET_LISTS, GetListsRequest)
def getLists(session: Session, request: GetListsRequest) -> Lists:
    """
    One empty friend list.
    """
    return Lists()
