# -*- test-case-name: tests.test_messages -*-

"""
UserSessions (component 0x7802): network info, hardware flags, user
lookup, session resume and the notifications that keep players informed
about each other (blaze-wire.md section 5.8).

The shared structs (L{UserIdentification}, L{UserSessionExtendedData},
L{NetworkQosData}, the C{NetworkAddress} union) live in
L{pocketrelay.me3.messages.common} and are re-exported here.
"""

from __future__ import annotations

import enum

import attrs

from pocketrelay.blaze import tdf
from pocketrelay.me3.messages.common import (
    NetworkAddress,
    NetworkQosData,
    UserIdentification,
    UserSessionExtendedData,
)

__all__ = [
    "HardwareFlags",
    "LookupUserRequest",
    "NetworkAddress",
    "NetworkInfo",
    "NetworkQosData",
    "NotifyUserAdded",
    "NotifyUserRemoved",
    "ResumeSessionRequest",
    "UpdateHardwareFlagsRequest",
    "UserData",
    "UserDataFlags",
    "UserIdentification",
    "UserSessionExtendedData",
    "UserSessionExtendedDataUpdate",
    "UserStatus",
]


class HardwareFlags(enum.IntFlag):
    """
    C{HWFG} in L{UpdateHardwareFlagsRequest} and L{UserSessionExtendedData}.
    """

    NONE = 0
    VOIP_HEADSET = 1


class UserDataFlags(enum.IntFlag):
    """
    C{FLGS} in L{UserData} and L{UserStatus}.
    """

    NONE = 0
    SUBSCRIBED = 1
    ONLINE = 2


@tdf.tdfStruct
@attrs.define
class NetworkInfo:
    """
    updateNetworkInfo (0x7802/0x14) request (C{Blaze::NetworkInfo}); the
    reply is empty.

    Tags: C{ADDR}, C{NLMP}, C{NQOS}.

    ME3 sends C{ADDR} as alternative 2 (L{IpPairAddress
    <pocketrelay.me3.messages.common.IpPairAddress>}), with an external
    address of 0.0.0.0:0 when QoS did not run.  C{NLMP} may be missing;
    it then decodes as an empty map.

    @ivar address: a L{NetworkAddress} choice.
    @ivar pingSiteLatencies: latency in milliseconds per ping-site alias;
        unreachable sites read 0xFFF0FFF.
    """

    address: tdf.Choice = tdf.member("ADDR", NetworkAddress)
    pingSiteLatencies: dict[str, int] = tdf.member("NLMP", tdf.MapOf(tdf.Str, tdf.Int))
    qosData: NetworkQosData = tdf.member(
        "NQOS", tdf.StructOf(NetworkQosData), default=attrs.Factory(NetworkQosData)
    )


@tdf.tdfStruct
@attrs.define
class UpdateHardwareFlagsRequest:
    """
    updateHardwareFlags (0x7802/0x08) request
    (C{Blaze::UpdateHardwareFlagsRequest}); the reply is empty.

    Tags: C{HWFG}.

    @ivar hardwareFlags: L{HardwareFlags}.
    """

    hardwareFlags: int = tdf.member("HWFG", tdf.Int)


#: lookupUser (0x7802/0x0C) request: a L{UserIdentification}, of which the
#: reference server reads only C{ID}.
LookupUserRequest = UserIdentification


@tdf.tdfStruct
@attrs.define
class UserData:
    """
    lookupUser (0x7802/0x0C) reply (C{Blaze::UserData}).

    Tags: C{EDAT}, C{FLGS}, C{USER}.

    @ivar statusFlags: L{UserDataFlags}.
    """

    extendedData: UserSessionExtendedData = tdf.member(
        "EDAT",
        tdf.StructOf(UserSessionExtendedData),
        default=attrs.Factory(UserSessionExtendedData),
    )
    statusFlags: int = tdf.member("FLGS", tdf.Int)
    user: UserIdentification = tdf.member(
        "USER",
        tdf.StructOf(UserIdentification),
        default=attrs.Factory(UserIdentification),
    )


@tdf.tdfStruct
@attrs.define
class ResumeSessionRequest:
    """
    resumeSession (0x7802/0x23) request (C{Blaze::ResumeSessionRequest});
    answered with a L{FullLoginResponse
    <pocketrelay.me3.messages.auth.FullLoginResponse>}.

    Tags: C{SKEY}.
    """

    sessionKey: str = tdf.member("SKEY", tdf.Str)


# ---------------------------------------------------------------------------
# Notifications


@tdf.tdfStruct
@attrs.define
class UserSessionExtendedDataUpdate:
    """
    Notification 0x01 (C{Blaze::UserSessionExtendedDataUpdate}): a session's
    extended data changed; sent to its subscribers.

    Tags: C{DATA}, C{USID}.

    @ivar userId: the session's user (player) id.
    """

    data: UserSessionExtendedData = tdf.member(
        "DATA",
        tdf.StructOf(UserSessionExtendedData),
        default=attrs.Factory(UserSessionExtendedData),
    )
    userId: int = tdf.member("USID", tdf.Int)


@tdf.tdfStruct
@attrs.define
class NotifyUserAdded:
    """
    Notification 0x02 (UserAdded): a user became visible.

    Tags: C{DATA}, C{USER}.
    """

    data: UserSessionExtendedData = tdf.member(
        "DATA",
        tdf.StructOf(UserSessionExtendedData),
        default=attrs.Factory(UserSessionExtendedData),
    )
    user: UserIdentification = tdf.member(
        "USER",
        tdf.StructOf(UserIdentification),
        default=attrs.Factory(UserIdentification),
    )


@tdf.tdfStruct
@attrs.define
class NotifyUserRemoved:
    """
    Notification 0x03 (UserRemoved): a user is no longer visible.

    Tags: C{BUID}.
    """

    blazeUserId: int = tdf.member("BUID", tdf.Int)


@tdf.tdfStruct
@attrs.define
class UserStatus:
    """
    Notification 0x05 (UserUpdated) (C{Blaze::UserStatus}); the reference
    server sends C{FLGS} 3 (subscribed | online) right after UserAdded.

    Tags: C{FLGS}, C{ID}.
    """

    statusFlags: int = tdf.member(
        "FLGS", tdf.Int, default=UserDataFlags.SUBSCRIBED | UserDataFlags.ONLINE
    )
    blazeId: int = tdf.member("ID", tdf.Int)
