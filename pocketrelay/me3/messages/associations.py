# -*- test-case-name: tests.test_messages -*-

"""
AssociationLists (component 0x19): getLists (server-behaviour.md section
1.7).  The reference server answers with one empty friend list.
"""

from __future__ import annotations

import attrs

from pocketrelay.blaze import tdf

__all__ = [
    "ASSOCIATION_LIST_OBJECT_TYPE",
    "FRIEND_LIST_OBJECT_ID",
    "GetListsRequest",
    "ListIdentification",
    "ListInfo",
    "ListMemberId",
    "ListMemberInfo",
    "ListMembers",
    "Lists",
    "friendList",
]

#: The object type of association lists: component 0x19, type 1.
ASSOCIATION_LIST_OBJECT_TYPE = tdf.ObjectType(0x19, 1)

#: The object id the reference server gives the friend list.
FRIEND_LIST_OBJECT_ID = tdf.ObjectId(0x19, 1, 0x74B09C4)


@tdf.tdfStruct
@attrs.define
class ListIdentification:
    """
    Which list (C{Blaze::Association::ListIdentification}).

    Tags: C{LNM}, C{TYPE}.
    """

    listName: str = tdf.member("LNM", tdf.Str)
    listType: int = tdf.member("TYPE", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class ListInfo:
    """
    A list's description (C{Blaze::Association::ListInfo}).

    Tags: C{BOID}, C{FLGS}, C{LID}, C{LMS}, C{PRID}.

    @ivar statusFlags: list status flags (the friend list has 4).
    @ivar maxSize: the capacity (200 for the friend list).
    """

    blazeObjectId: tdf.ObjectId = tdf.member("BOID", tdf.ObjId)
    statusFlags: int = tdf.member("FLGS", tdf.Int)
    listId: ListIdentification = tdf.member(
        "LID",
        tdf.StructOf(ListIdentification),
        default=attrs.Factory(ListIdentification),
    )
    maxSize: int = tdf.member("LMS", tdf.UInt)
    pairId: int = tdf.member("PRID", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class ListMemberId:
    """
    A member of a list (C{Blaze::Association::ListMemberId}).

    Tags: C{BLID}, C{PNAM}, C{XREF}, C{XTYP}.
    """

    blazeId: int = tdf.member("BLID", tdf.Int)
    personaName: str = tdf.member("PNAM", tdf.Str)
    externalId: int = tdf.member("XREF", tdf.UInt)
    externalSystemId: int = tdf.member("XTYP", tdf.Int)


@tdf.tdfStruct
@attrs.define
class ListMemberInfo:
    """
    A member and when it was added (C{Blaze::Association::ListMemberInfo}).

    Tags: C{LMID}, C{TIME}.
    """

    memberId: ListMemberId = tdf.member(
        "LMID", tdf.StructOf(ListMemberId), default=attrs.Factory(ListMemberId)
    )
    timeAdded: int = tdf.member("TIME", tdf.Int)


@tdf.tdfStruct
@attrs.define
class ListMembers:
    """
    A list with (a page of) its members (C{Blaze::Association::ListMembers}).

    Tags: C{INFO}, C{MEML}, C{OFRC}, C{TOCT}.
    """

    info: ListInfo = tdf.member(
        "INFO", tdf.StructOf(ListInfo), default=attrs.Factory(ListInfo)
    )
    members: list[ListMemberInfo] = tdf.member(
        "MEML", tdf.ListOf(tdf.StructOf(ListMemberInfo))
    )
    offset: int = tdf.member("OFRC", tdf.UInt)
    totalCount: int = tdf.member("TOCT", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class GetListsRequest:
    """
    getLists (0x19/0x06) request (C{Blaze::Association::GetListsRequest}).

    Tags: C{ALST}, C{MXRC}, C{OFRC}.
    """

    lists: list[ListInfo] = tdf.member("ALST", tdf.ListOf(tdf.StructOf(ListInfo)))
    maxResultCount: int = tdf.member("MXRC", tdf.UInt)
    offset: int = tdf.member("OFRC", tdf.UInt)


def friendList() -> ListMembers:
    """
    The empty friend list the reference server answers with.
    """
    return ListMembers(
        info=ListInfo(
            blazeObjectId=FRIEND_LIST_OBJECT_ID,
            statusFlags=4,
            listId=ListIdentification("friendList", 1),
            maxSize=200,
        )
    )


@tdf.tdfStruct
@attrs.define
class Lists:
    """
    getLists (0x19/0x06) reply (C{Blaze::Association::Lists}).  The
    default is what the reference server sends: one empty L{friendList}.

    Tags: C{LMAP}.
    """

    lists: list[ListMembers] = tdf.member(
        "LMAP",
        tdf.ListOf(tdf.StructOf(ListMembers)),
        default=attrs.Factory(lambda: [friendList()]),
    )
