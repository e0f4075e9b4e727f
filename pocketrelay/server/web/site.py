# -*- test-case-name: tests.test_web_server -*-
"""
The server's HTTP resource tree and L{Site}.

Routes built here:
  - C{GET /api/server}: what existing Pocket Relay clients check;
  - C{GET /api/server/upgrade}: the Blaze connection (HTTP Upgrade);
  - C{GET /api/server/dashboard}: the dashboard's public settings.
Other modules add their resources to the tree returned by L{buildRoot}.
"""

from __future__ import annotations

import ipaddress
import json
from typing import TYPE_CHECKING, Any

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from pocketrelay.server.web.upgrade import UpgradeRefused, UpgradeResource

if TYPE_CHECKING:
    from pocketrelay.server.hub import Hub
    from pocketrelay.server.web.logbuffer import LogBuffer

__all__ = ["SERVER_IDENT", "buildRoot", "buildSite", "clientHost"]

#: What C{GET /api/server} answers in C{ident}; clients check it.
SERVER_IDENT = "POCKET_RELAY_SERVER"

log = Logger()


def _trusted(peer: str, trustedProxies: str) -> bool:
    wanted = {entry.strip() for entry in trustedProxies.split(",") if entry.strip()}
    return peer in wanted or "*" in wanted


def _ipv4(text: str | None) -> str | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        return str(mapped) if mapped is not None else None
    return str(address)


def clientHost(request: Request, reverseProxy: bool, trustedProxies: str) -> str:
    """
    The client's IP address: the peer of the connection, or, when
    C{reverseProxy} is on and the peer is a trusted proxy, the address the
    proxy forwarded in C{X-Real-IP} or (last entry of) C{X-Forwarded-For}.
    The game only understands IPv4; an IPv6 peer is reported as given.
    """
    address = request.getClientAddress()
    peer = str(getattr(address, "host", ""))
    if reverseProxy and _trusted(peer, trustedProxies):
        forwarded = _ipv4(request.getHeader(b"x-real-ip"))  # type: ignore[arg-type]
        if forwarded is None:
            chain = request.getHeader(b"x-forwarded-for")
            if chain:
                forwarded = _ipv4(chain.split(b",")[-1].decode("ascii", "replace"))
        if forwarded is not None:
            return forwarded
    return _ipv4(peer) or peer


def jsonBody(request: Request, value: Any, code: int = 200) -> bytes:
    """
    Answer with C{value} as JSON.
    """
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    return json.dumps(value, separators=(",", ":")).encode()


class ServerInfoResource(Resource):
    """
    C{/api/server}: identifies the server to Pocket Relay clients and hands
    out a fresh tunnel association token.
    """

    def __init__(self, hub: Hub, tunnelPort: int | None) -> None:
        super().__init__()
        self.hub = hub
        self.tunnelPort = tunnelPort

    def getChild(self, path: bytes, request: Request) -> Resource:
        if path == b"":
            return self
        return super().getChild(path, request)

    def render_GET(self, request: Request) -> bytes:
        settings = self.hub.settings
        return jsonBody(
            request,
            {
                "ident": SERVER_IDENT,
                "version": self.hub.version,
                "association": self.hub.signer.issueAssociation(),
                "tunnel_port": self.tunnelPort,
                # Our addition: the address this server sees for the
                # client, so our client needs no third-party IP lookup.
                "client_address": clientHost(
                    request, settings["reverse_proxy"], settings["trusted_proxies"]
                ),
            },
        )


class DashboardInfoResource(Resource):
    """
    C{/api/server/dashboard}: public settings the dashboard needs before
    login.
    """

    isLeaf = True

    def __init__(self, hub: Hub) -> None:
        super().__init__()
        self.hub = hub

    def render_GET(self, request: Request) -> bytes:
        return jsonBody(
            request,
            {"disable_registration": self.hub.settings["dashboard.disable_registration"]},
        )


def _blazeUpgrade(hub: Hub) -> UpgradeResource:
    settings = hub.settings

    def buildProtocol(request: Request) -> Any:
        if hub.full:
            raise UpgradeRefused(503, "the server has reached its session limit")
        raw = request.getHeader(b"x-association")
        association = raw.decode("ascii", "replace") if raw is not None else None
        if association is not None and not hub.signer.verifyAssociation(association):
            log.info("Ignoring an invalid association token from {peer}",
                     peer=clientHost(request, settings["reverse_proxy"],
                                     settings["trusted_proxies"]))
            association = None
        peer = clientHost(request, settings["reverse_proxy"], settings["trusted_proxies"])
        return hub.buildProtocol(peer, association)

    return UpgradeResource(b"blaze", buildProtocol)


def buildRoot(
    hub: Hub, tunnelPort: int | None = None, logBuffer: LogBuffer | None = None
) -> Resource:
    """
    The root resource with the server routes in place: C{/api} (the JSON
    API, see L{pocketrelay.server.web.api}), Galaxy at War, QoS, and any
    other path served from C{public/} in the data directory.

    @param logBuffer: the recent log served at C{/api/server/log}.
    """
    from pocketrelay.server.web.api import buildApi
    from pocketrelay.server.web.content import PublicFiles, PublicRoot
    from pocketrelay.server.web.gaw import (
        GalaxyAtWarService,
        authenticationResource,
        galaxyAtWarResource,
    )
    from pocketrelay.server.web.qos import qosResource

    root = PublicRoot(PublicFiles(hub.gameData.dataDir.child("public")))
    api = buildApi(hub, logBuffer)
    root.putChild(b"api", api)
    server = ServerInfoResource(hub, tunnelPort)
    api.putChild(b"server", server)
    server.putChild(b"upgrade", _blazeUpgrade(hub))
    server.putChild(b"dashboard", DashboardInfoResource(hub))
    server.putChild(b"log", api.leaf)
    gaw = GalaxyAtWarService.fromHub(hub)
    root.putChild(b"authentication", authenticationResource(hub, gaw))
    root.putChild(b"galaxyatwar", galaxyAtWarResource(hub, gaw))
    root.putChild(b"qos", qosResource())
    return root


def buildSite(root: Resource, reactor: Any = None) -> Site:
    """
    A L{Site} for the tree, with an idle timeout for plain HTTP requests
    (upgraded connections manage their own).
    """
    from pocketrelay.server.web.api import BoundedRequest

    site = Site(root, timeout=60, reactor=reactor)
    site.displayTracebacks = False
    # Request bodies are bounded (Twisted would spool any size to disk).
    site.requestFactory = BoundedRequest
    return site
