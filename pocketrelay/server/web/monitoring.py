# -*- test-case-name: tests.test_metrics -*-
"""
HTTP resources for monitoring (see C{docs/metrics.md}):

  - L{MetricsResource}: C{GET /metrics}, the Prometheus scrape, open only
    to the addresses of the C{metrics.allow} setting (L{AddressFilter});
  - L{HealthResource}: C{GET /api/server/health}, whether the server and
    its database answer, for load balancers and uptime checks;
  - L{MeteredSite}: a L{Site} that counts finished responses by status
    class.
"""

from __future__ import annotations

import ipaddress
import json
from typing import TYPE_CHECKING, Any, Final

import attrs
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from pocketrelay.addresses import clientHost

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime

    from pocketrelay.server.hub import Hub
    from pocketrelay.server.metrics import ServerMetrics

__all__ = [
    "HEALTH_TIMEOUT",
    "AddressFilter",
    "HealthResource",
    "MeteredSite",
    "MetricsResource",
]

#: Seconds the health check waits for the database before answering 503.
HEALTH_TIMEOUT: Final = 2.0

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@attrs.frozen
class AddressFilter:
    """
    Which client addresses may do something: a list of addresses and
    networks, or everyone.

    @ivar networks: the allowed networks (a single address is a /32 or
        /128 network).
    @ivar everyone: whether C{*} was given.
    """

    networks: tuple[_Network, ...] = ()
    everyone: bool = False

    @classmethod
    def fromSetting(cls, text: str) -> AddressFilter:
        """
        Parse a comma-separated list of addresses and CIDR networks (e.g.
        C{"127.0.0.1,::1,10.0.0.0/8"}); C{*} allows everyone.  An empty
        list allows no one.

        @raise ValueError: naming an entry that is neither.
        """
        networks: list[_Network] = []
        everyone = False
        for raw in text.split(","):
            entry = raw.strip()
            if not entry:
                continue
            if entry == "*":
                everyone = True
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network")
        return cls(tuple(networks), everyone)

    def allows(self, host: str) -> bool:
        """
        Whether the client at C{host} (an IP address as text; IPv4-mapped
        IPv6 addresses count as their IPv4 address) is allowed.
        """
        if self.everyone:
            return True
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


def _noStore(request: Request) -> None:
    request.setHeader(b"cache-control", b"no-store")


class MetricsResource(Resource):
    """
    C{GET /metrics}: the Prometheus text format (or OpenMetrics when the
    scraper asks for it) of the server's L{ServerMetrics}.  Clients the
    L{AddressFilter} does not allow get 403.  The client address is the
    one L{pocketrelay.addresses.clientHost} gives, so behind a trusted reverse proxy the
    forwarded address is checked.
    """

    isLeaf = True
    log = Logger()

    def __init__(self, metrics: ServerMetrics, allowed: AddressFilter, settings: Any) -> None:
        """
        @param settings: the server settings (C{reverse_proxy},
            C{trusted_proxies}).
        """
        super().__init__()
        self.metrics = metrics
        self.allowed = allowed
        self.settings = settings

    def render_GET(self, request: Request) -> bytes:
        _noStore(request)
        if request.postpath not in ([], [b""]):
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"Not found\n"
        host = clientHost(
            request, self.settings["reverse_proxy"], self.settings["trusted_proxies"]
        )
        if not self.allowed.allows(host):
            self.log.info("Refused /metrics to {peer} (not in metrics.allow)", peer=host)
            request.setResponseCode(403)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"Forbidden: this address may not read the metrics (see metrics.allow)\n"
        accept = request.getHeader(b"accept")
        try:
            body, contentType = self.metrics.exposition(
                accept.decode("latin-1") if accept is not None else None
            )
        except Exception:
            self.log.failure("Collecting the metrics failed")
            request.setResponseCode(500)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"Collecting the metrics failed\n"
        request.setHeader(b"content-type", contentType.encode("latin-1"))
        return body


class HealthResource(Resource):
    """
    C{GET /api/server/health}: 200 with
    C{{"status": "ok", "database": "ok", "sessions": N,
    "players_online": N, "version": V, "game_data": {"complete": B,
    "missing": [...], "unusable": [{"file": F, "reason": R}, ...]}}}
    (C{missing} names the absent game-data files, see
    L{pocketrelay.server.gamedata.missingGameData}; C{unusable} the present
    ones the server cannot use, see
    L{pocketrelay.server.gamedata.GameData.unusable}; C{complete} is true
    when both are empty; missing or unusable game data does not make the
    server unhealthy) when a trivial query answers
    within L{timeout} seconds, else 503 with C{"status": "error"} and
    C{"database"} saying C{"timeout"} or C{"unavailable"}.  A stuck
    database therefore gives a 503 in bounded time, never a request that
    hangs.
    """

    isLeaf = True
    log = Logger()

    def __init__(
        self,
        hub: Hub,
        timeout: float = HEALTH_TIMEOUT,
        clock: IReactorTime | None = None,
    ) -> None:
        """
        @param clock: measures the timeout; by default the hub's clock.
        """
        super().__init__()
        self.hub = hub
        self.timeout = timeout
        self.clock = clock if clock is not None else hub.clock

    def _document(self, database: str) -> dict[str, Any]:
        hub = self.hub
        missing = hub.gameData.missing()
        unusable = [
            {"file": u.file, "reason": u.reason} for u in hub.gameData.unusable()
        ]
        return {
            "status": "ok" if database == "ok" else "error",
            "database": database,
            "sessions": len(hub.sessions),
            "players_online": len(hub.online),
            "version": hub.version,
            "game_data": {
                "complete": not missing and not unusable,
                "missing": missing,
                "unusable": unusable,
            },
        }

    def render_GET(self, request: Request) -> int:
        _noStore(request)
        d: defer.Deferred[Any] = defer.maybeDeferred(self.hub.store.ping)
        d.addTimeout(self.timeout, self.clock)
        d.addCallbacks(lambda _: "ok", self._failed)
        finished = [False]
        request.notifyFinish().addBoth(lambda _: finished.__setitem__(0, True))

        def answer(database: str) -> None:
            if finished[0]:
                return
            request.setResponseCode(200 if database == "ok" else 503)
            request.setHeader(b"content-type", b"application/json")
            body = json.dumps(self._document(database), separators=(",", ":")).encode()
            request.setHeader(b"content-length", str(len(body)).encode("ascii"))
            request.write(body)
            request.finish()

        d.addCallback(answer)
        d.addErrback(lambda f: self.log.failure("Answering the health check failed", f))
        return NOT_DONE_YET

    def _failed(self, failure: Failure) -> str:
        if failure.check(defer.TimeoutError, defer.CancelledError):
            self.log.warn(
                "Health check: the database did not answer within {timeout} s",
                timeout=self.timeout,
            )
            return "timeout"
        self.log.warn(
            "Health check: the database failed: {reason}", reason=failure.getErrorMessage()
        )
        return "unavailable"


class MeteredSite(Site):
    """
    A L{Site} that tells L{ServerMetrics.httpResponse} the status of each
    finished response (upgraded connections never finish and are not
    counted).
    """

    def __init__(self, metrics: ServerMetrics, resource: Resource, **kwargs: Any) -> None:
        super().__init__(resource, **kwargs)
        self.metrics = metrics

    def log(self, request: http.Request) -> None:
        super().log(request)
        code = request.code
        if isinstance(code, int):
            self.metrics.httpResponse(code)
