# -*- test-case-name: tests.test_web_api,tests.test_health -*-
"""
The server's HTTP resource tree and L{Site}.

Routes built here:
  - C{GET /api/server}: what existing Pocket Relay clients check;
  - C{GET /api/server/upgrade}: the Blaze connection (HTTP Upgrade);
  - C{GET /api/server/tunnel}: the HTTP tunnel (HTTP Upgrade, see
    L{pocketrelay.server.tunnel});
  - C{GET /api/server/dashboard}: the dashboard's public settings.
Other modules add their resources to the tree returned by L{buildRoot}.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from pocketrelay.addresses import clientHost
from pocketrelay.redact import redactedLogFormatter
from pocketrelay.server.limits import limitSite
from pocketrelay.server.tunnel import tunnelResource
from pocketrelay.server.web.api import MAX_REQUEST_BODY, BoundedRequest, buildApi
from pocketrelay.server.web.content import PublicFiles, PublicRoot
from pocketrelay.server.web.dashboard import DashboardResource
from pocketrelay.server.web.gaw import (
    GalaxyAtWarService,
    authenticationResource,
    galaxyAtWarResource,
)
from pocketrelay.server.web.monitoring import (
    AddressFilter,
    HealthResource,
    MeteredSite,
    MetricsResource,
)
from pocketrelay.server.web.qos import qosResource
from pocketrelay.server.web.upgrade import UpgradeRefused, UpgradeResource

if TYPE_CHECKING:
    from pocketrelay.server.hub import Hub
    from pocketrelay.server.limits import ServerLimits
    from pocketrelay.server.metrics import ServerMetrics
    from pocketrelay.server.tunnel import TunnelRelay
    from pocketrelay.server.web.logbuffer import LogBuffer

__all__ = ["SERVER_IDENT", "buildRoot", "buildSite"]

#: What C{GET /api/server} answers in C{ident}; clients check it.
SERVER_IDENT = "POCKET_RELAY_SERVER"

log = Logger()


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

    def __init__(self, hub: Hub, tunnelPort: int | Callable[[], int | None] | None) -> None:
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
                "tunnel_port": (
                    self.tunnelPort() if callable(self.tunnelPort) else self.tunnelPort
                ),
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
        if not hub.limits.sessionAllowed(peer):
            raise UpgradeRefused(
                429, "too many Blaze sessions from your address; close one and retry"
            )
        return hub.buildProtocol(peer, association)

    return UpgradeResource(b"blaze", buildProtocol, refusals=hub.limits.refusals)


def buildRoot(
    hub: Hub,
    tunnelPort: int | Callable[[], int | None] | None = None,
    logBuffer: LogBuffer | None = None,
    tunnels: TunnelRelay | None = None,
) -> Resource:
    """
    The root resource with the server routes in place: C{/api} (the JSON
    API, see L{pocketrelay.server.web.api}), Galaxy at War, QoS, any
    other path served from C{public/} in the data directory, and the
    built-in dashboard for the rest (see
    L{pocketrelay.server.web.dashboard}).

    @param tunnelPort: the UDP tunnel port announced in C{/api/server}
        (L{None} when there is no UDP tunnel), or a callable returning it
        when asked.
    @param logBuffer: the recent log served at C{/api/server/log}.
    @param tunnels: the tunnel relay; when given, C{/api/server/tunnel}
        serves the HTTP tunnel.

    Monitoring (see C{docs/metrics.md}): C{/metrics} (Prometheus, open to
    the C{metrics.allow} addresses) and C{/api/server/health}.

    @raise ValueError: when the C{metrics.allow} setting is malformed.
    """
    public = hub.gameData.dataDir.child("public")
    # Paths that are no child and no file in public/ get the dashboard.
    root = PublicRoot(PublicFiles(public, fallback=DashboardResource(publicDirectory=public)))
    api = buildApi(hub, logBuffer)
    root.putChild(b"api", api)
    server = ServerInfoResource(hub, tunnelPort)
    api.putChild(b"server", server)
    server.putChild(b"upgrade", _blazeUpgrade(hub))
    if tunnels is not None:
        server.putChild(b"tunnel", tunnelResource(tunnels))
        hub.metrics.watchTunnelRelay(tunnels)
    server.putChild(b"dashboard", DashboardInfoResource(hub))
    server.putChild(b"log", api.leaf)
    server.putChild(b"telemetry", api.leaf)
    server.putChild(b"health", HealthResource(hub))
    root.putChild(
        b"metrics",
        MetricsResource(
            hub.metrics, AddressFilter.fromSetting(hub.settings["metrics.allow"]), hub.settings
        ),
    )
    gaw = GalaxyAtWarService.fromHub(hub)
    root.putChild(b"authentication", authenticationResource(hub, gaw))
    root.putChild(b"galaxyatwar", galaxyAtWarResource(hub, gaw))
    root.putChild(b"qos", qosResource())
    return root


def buildSite(
    root: Resource,
    reactor: Any = None,
    metrics: ServerMetrics | None = None,
    limits: ServerLimits | None = None,
) -> Site:
    """
    A L{Site} for the tree, with an idle timeout for plain HTTP requests
    (upgraded connections manage their own), an access log without
    secrets (L{pocketrelay.redact.redactUrl}) and the HTTP limits of
    L{pocketrelay.server.limits} (request head size, header count and
    deadline, bodies, connections per address).

    @param metrics: when given, finished responses are counted there by
        status class.
    @param limits: the server's limits (C{hub.limits}); without them the
        defaults of L{HttpLimits} apply, with a connection counter of the
        site's own.
    """
    # The access log never shows a token (Galaxy at War puts them in paths
    # and queries): see pocketrelay.redact.
    if metrics is not None:
        site: Site = MeteredSite(
            metrics, root, timeout=60, reactor=reactor, logFormatter=redactedLogFormatter
        )
    else:
        site = Site(root, timeout=60, reactor=reactor, logFormatter=redactedLogFormatter)
    site.displayTracebacks = False
    # Request bodies are bounded (Twisted would spool any size to disk).
    site.requestFactory = BoundedRequest
    # Only the API takes bodies beyond 64 KiB; larger ones are refused
    # (413) as soon as announced or received, before they are read.
    bodyLimits = [(b"/api/", MAX_REQUEST_BODY)]
    if limits is not None:
        limitSite(site, limits.http, limits.connections, limits.refusals, bodyLimits)
    else:
        limitSite(site, bodyLimits=bodyLimits)
    return site
