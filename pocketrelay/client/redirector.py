# -*- test-case-name: tests.test_redirector -*-
"""
The local redirector: stands in for C{gosredirector.ea.com:42127}.

The game connects over SSL 3.0 (see L{pocketrelay.ssl3}), sends one
C{Redirector.getServerInstance} request (component 5, command 1) and is
told where the Blaze server is: here, the client's local Blaze proxy, in
plain TCP (C{SECU} 0).  Every other request gets an empty reply.  After
answering C{getServerInstance} the connection is closed, as the Pocket
Relay client's redirector does.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

import attrs
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from pocketrelay.blaze import tdf
from pocketrelay.blaze.frames import Frame
from pocketrelay.blaze.protocol import BlazeProtocol, IBlazeDispatcher
from pocketrelay.ssl3 import SSLv3Credentials, SSLv3ServerFactory

if TYPE_CHECKING:
    from twisted.internet.interfaces import IAddress, IReactorTime

__all__ = [
    "BLAZE_PORT",
    "GET_SERVER_INSTANCE",
    "REDIRECTOR_COMPONENT",
    "REDIRECTOR_PORT",
    "IpAddress",
    "RedirectorDispatcher",
    "RedirectorFactory",
    "ServerInstanceInfo",
]

#: Where the game expects the redirector.
REDIRECTOR_PORT = 42127

#: Where the client's Blaze proxy listens.
BLAZE_PORT = 42128

#: The Redirector component and its getServerInstance command.
REDIRECTOR_COMPONENT = 0x0005
GET_SERVER_INSTANCE = 0x0001

#: Seconds without a complete frame before the connection is dropped.
FRAME_TIMEOUT = 60.0


@tdf.tdfStruct
@attrs.define
class IpAddress:
    """
    C{IpAddress}: where the Blaze server is.  Either C{HOST} (a name) or
    C{IP} (an IPv4 address as a big-endian u32) is sent, then C{PORT}.
    """

    host: str | None = tdf.member("HOST", tdf.Str, optional=True)
    ip: int | None = tdf.member("IP", tdf.UInt, optional=True)
    port: int = tdf.member("PORT", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class ServerInstanceInfo:
    """
    The getServerInstance reply: C{ADDR} is a union whose alternative 0
    (C{VALU}) is an L{IpAddress}; C{SECU} says whether the Blaze server
    wants SSL; C{XDNS} is the default DNS address, 0.
    """

    address: tdf.Choice = tdf.member("ADDR", tdf.UnionOf({0: tdf.StructOf(IpAddress)}))
    secure: bool = tdf.member("SECU", tdf.Bool)
    defaultDns: int = tdf.member("XDNS", tdf.UInt)


def _blazeAddress(host: str, port: int) -> IpAddress:
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        return IpAddress(host=host, port=port)
    return IpAddress(ip=int(address), port=port)


@implementer(IBlazeDispatcher)
class RedirectorDispatcher:
    """
    Answers the game's redirector requests.

    @ivar reply: the L{ServerInstanceInfo} sent to every getServerInstance.
    @ivar closeAfterRedirect: close the connection once getServerInstance
        has been answered.
    """

    log = Logger()

    def __init__(
        self,
        blazeHost: str,
        blazePort: int,
        clock: IReactorTime,
        closeAfterRedirect: bool = True,
    ) -> None:
        self.reply = ServerInstanceInfo(
            address=tdf.Choice(0, _blazeAddress(blazeHost, blazePort)),
            secure=False,
            defaultDns=0,
        )
        self.blazeHost = blazeHost
        self.blazePort = blazePort
        self.clock = clock
        self.closeAfterRedirect = closeAfterRedirect
        self.protocol: BlazeProtocol | None = None

    def connectionMade(self, protocol: BlazeProtocol) -> None:
        self.protocol = protocol

    def requestReceived(self, request: Frame) -> Any:
        if (request.component, request.command) != (
            REDIRECTOR_COMPONENT,
            GET_SERVER_INSTANCE,
        ):
            return None
        client = version = "?"
        try:
            fields = tdf.decodeStruct(request.body)
            client = str(fields.get("CLNT", "?"))
            version = str(fields.get("CVER", "?"))
        except tdf.TdfError:
            pass
        peer = self.protocol.peer if self.protocol is not None else "?"
        self.log.info(
            "Redirecting {client} {version} at {peer} to Blaze at {host}:{port}",
            client=client,
            version=version,
            peer=peer,
            host=self.blazeHost,
            port=self.blazePort,
        )
        if self.closeAfterRedirect and self.protocol is not None:
            # The reply is written as soon as this returns; close after it.
            transport = self.protocol.transport
            self.clock.callLater(0, transport.loseConnection)  # type: ignore[union-attr]
        return self.reply

    def notificationReceived(self, notification: Frame) -> None:
        pass

    def connectionLost(self, reason: Failure) -> None:
        self.protocol = None


class _RedirectorBlazeFactory(Factory):
    """
    Makes the plain Blaze protocol that runs inside the SSL connection.
    """

    noisy = False

    def __init__(self, blazeHost: str, blazePort: int, clock: IReactorTime) -> None:
        self.blazeHost = blazeHost
        self.blazePort = blazePort
        self.clock = clock

    def buildProtocol(self, addr: IAddress | None) -> BlazeProtocol:
        dispatcher = RedirectorDispatcher(self.blazeHost, self.blazePort, self.clock)
        protocol = BlazeProtocol(
            dispatcher, clock=self.clock, idleTimeout=FRAME_TIMEOUT
        )
        protocol.factory = self
        return protocol


class RedirectorFactory(SSLv3ServerFactory):
    """
    The factory to listen with on 127.0.0.1:42127: SSL 3.0 outside, the
    redirector's Blaze protocol inside.

    @param blazeHost: the Blaze server's address as the game should reach
        it, normally C{"127.0.0.1"}; an IPv4 literal is sent as C{IP},
        anything else as C{HOST}.
    @param blazePort: its port, normally L{BLAZE_PORT}.
    @param certificate: the certificate, PEM or DER (see
        L{pocketrelay.client.certificate}).
    @param key: its private key, PEM.
    @param clock: the clock for timeouts; the global reactor if L{None}.
    """

    def __init__(
        self,
        blazeHost: str,
        blazePort: int,
        certificate: bytes | str,
        key: bytes | str,
        clock: IReactorTime | None = None,
    ) -> None:
        if clock is None:
            from twisted.internet import reactor

            clock = reactor
        super().__init__(
            _RedirectorBlazeFactory(blazeHost, blazePort, clock),
            SSLv3Credentials.fromPEM(certificate, key),
            clock=clock,
            handshakeTimeout=FRAME_TIMEOUT,
        )
