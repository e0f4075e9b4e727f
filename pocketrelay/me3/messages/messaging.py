# -*- test-case-name: tests.test_messages -*-

"""
Messaging (component 0xF): fetchMessages and the message notification
(server-behaviour.md section 1.6).

ME3 calls fetchMessages once after login; the reference server answers
L{FetchMessageResponse} with C{MCNT} 1 and then sends one
L{ServerMessage} notification (0x01) carrying the menu message text in
C{NAME}.
"""

from __future__ import annotations

import attrs

from pocketrelay.blaze import tdf

__all__ = [
    "MESSAGE_ATTRIBUTES",
    "PLAYER_OBJECT_TYPE",
    "ClientMessage",
    "FetchMessageRequest",
    "FetchMessageResponse",
    "NotifyMessage",
    "ServerMessage",
    "playerObjectId",
]

#: The object type of users: component UserSessions (0x7802), type 1.
PLAYER_OBJECT_TYPE = tdf.ObjectType(0x7802, 1)


def playerObjectId(playerId: int) -> tdf.ObjectId:
    """
    The object id C{(0x7802, 1, playerId)} naming a user as a message
    source or target.
    """
    return tdf.ObjectId(PLAYER_OBJECT_TYPE.component, PLAYER_OBJECT_TYPE.type, playerId)


#: The payload attributes the reference server sends with the menu message.
MESSAGE_ATTRIBUTES = {"B0000": "160"}


@tdf.tdfStruct
@attrs.define
class FetchMessageRequest:
    """
    fetchMessages (0xF/0x02) request (C{Blaze::Messaging::FetchMessageRequest}).

    Tags: C{FLAG}, C{MGID}, C{PIDX}, C{PSIZ}, C{SMSK}, C{SORT}, C{SRCE},
    C{STAT}, C{TARG}, C{TYPE}, C{TYPL}.
    """

    flags: int = tdf.member("FLAG", tdf.Int)
    messageId: int = tdf.member("MGID", tdf.UInt)
    pageIndex: int = tdf.member("PIDX", tdf.UInt)
    pageSize: int = tdf.member("PSIZ", tdf.UInt)
    statusMask: int = tdf.member("SMSK", tdf.UInt)
    orderBy: int = tdf.member("SORT", tdf.Int)
    source: tdf.ObjectId = tdf.member("SRCE", tdf.ObjId)
    status: int = tdf.member("STAT", tdf.UInt)
    target: tdf.ObjectId = tdf.member("TARG", tdf.ObjId)
    type: int = tdf.member("TYPE", tdf.UInt)
    types: list[int] = tdf.member("TYPL", tdf.ListOf(tdf.UInt))


@tdf.tdfStruct
@attrs.define
class FetchMessageResponse:
    """
    fetchMessages (0xF/0x02) reply (C{Blaze::Messaging::FetchMessageResponse}):
    how many message notifications follow.

    Tags: C{MCNT}.
    """

    count: int = tdf.member("MCNT", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class ClientMessage:
    """
    The payload of a message (C{Blaze::Messaging::ClientMessage}), C{PYLD}
    of L{ServerMessage}.

    Tags: C{ATTR}, C{FLAG}, C{STAT}, C{TAG}, C{TARG}, C{TYPE}.

    C{ATTR} is written with string keys as the reference server does
    (L{MESSAGE_ATTRIBUTES}; BF3's SDK types it C{map<u32, str>}).
    Server-specific: C{target}, the recipient's L{playerObjectId}.
    """

    attributes: dict[str, str] = tdf.member(
        "ATTR",
        tdf.MapOf(tdf.Str, tdf.Str),
        default=attrs.Factory(lambda: dict(MESSAGE_ATTRIBUTES)),
    )
    flags: int = tdf.member("FLAG", tdf.Int, default=1)
    status: int = tdf.member("STAT", tdf.UInt)
    tag: int = tdf.member("TAG", tdf.UInt)
    target: tdf.ObjectId = tdf.member("TARG", tdf.ObjId)
    type: int = tdf.member("TYPE", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class ServerMessage:
    """
    The message notification (0xF/0x01, C{Blaze::Messaging::ServerMessage}).

    Tags: C{FLAG}, C{MGID}, C{NAME}, C{PYLD}, C{SRCE}, C{TIME}.

    Server-specific: C{sourceName} (the text ME3 shows: the reference
    server puts its menu message here, with a trailing newline),
    C{payload.target} and C{source} (the recipient's L{playerObjectId}).
    """

    flags: int = tdf.member("FLAG", tdf.Int, default=1)
    messageId: int = tdf.member("MGID", tdf.UInt, default=1)
    sourceName: str = tdf.member("NAME", tdf.Str)
    payload: ClientMessage = tdf.member(
        "PYLD", tdf.StructOf(ClientMessage), default=attrs.Factory(ClientMessage)
    )
    source: tdf.ObjectId = tdf.member("SRCE", tdf.ObjId)
    timestamp: int = tdf.member("TIME", tdf.UInt)


#: The message notification under the name the server code uses.
NotifyMessage = ServerMessage
