# -*- test-case-name: tests.test_limits -*-
"""
Limits that keep one client from exhausting the server.

  - L{RateLimiter}: token buckets per key (a client address, an email, a
    player id), on an injected clock, with a bounded table: keys whose
    bucket has refilled are forgotten and the least recently used key is
    evicted when the table is full.
  - L{ConnectionCounter}: open connections (or Blaze sessions) per address,
    with a cap.
  - L{RefusalLog}: one log line per refusal, itself rate-limited, with a
    count of the lines left out.
  - L{LimitedSite} and L{LimitedHTTPChannel}: the HTTP side.  Explicit
    request head limits (size and header count, answered 431), early
    refusal of request bodies over the limit of their path (413), a cap on
    open connections per client address (503, then close) and a deadline
    for the complete request head and one for the complete request, body
    included (408, then close): Twisted's idle timeout restarts on every
    byte, so a client dribbling a byte every few seconds would otherwise
    hold a connection forever.
  - L{BufferBudget}: a server-wide cap on the bytes held in incomplete
    Blaze frames of sessions that have not logged in.
  - L{BlazeRequestLimits} and L{SessionGate}: Blaze requests per session
    and per client address; a session over either rate waits (its
    requests are handled later, reading from it stops meanwhile).
  - L{ServerLimits}: all of the above for one server, built from the
    settings; the L{pocketrelay.server.hub.Hub} holds it as C{hub.limits}.

Client addresses are compared by L{addressKey}: IPv4 as is (IPv4-mapped
IPv6 as IPv4), IPv6 by its /64 network, since one IPv6 customer usually
holds a whole /64.
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.server import Site
from zope.interface import implementer

from pocketrelay.blaze.protocol import IInputBudget, IRequestGate
from pocketrelay.server.store.emails import canonicalEmail

if TYPE_CHECKING:
    from twisted.internet.interfaces import IDelayedCall, IReactorTime

    from pocketrelay.server.config import Settings

__all__ = [
    "BUCKETS",
    "DEFAULT_MAX_KEYS",
    "LOAD_TEST_SETTINGS",
    "LOGIN_ADDRESS",
    "LOGIN_CODE_ADDRESS",
    "LOGIN_CODE_PLAYER",
    "LOGIN_EMAIL",
    "LOGIN_EMAIL_ADDRESS",
    "OTHER_MAX_BODY",
    "TELEMETRY_ADDRESS",
    "TOKEN_LOGIN_ADDRESS",
    "BlazeRequestLimits",
    "Bucket",
    "BufferBudget",
    "ConnectionCounter",
    "HttpLimits",
    "KnownLogins",
    "LimitedHTTPChannel",
    "LimitedSite",
    "Rate",
    "RateLimiter",
    "RefusalLog",
    "ServerLimits",
    "SessionGate",
    "SiteLimits",
    "addressKey",
    "limitSite",
    "loadTestArguments",
    "retryAfterHeader",
]

#: Most keys a L{RateLimiter} remembers.
DEFAULT_MAX_KEYS: Final = 10_000

#: The largest request body accepted outside the prefixes given to
#: L{LimitedSite} (no route outside C{/api} takes a body), in bytes.
OTHER_MAX_BODY: Final = 64 * 1024


def addressKey(host: str) -> str:
    """
    The key that groups a client address for per-address limits: an IPv4
    address as it is (also when written IPv4-mapped, C{::ffff:1.2.3.4}), an
    IPv6 address as its /64 network (C{2001:db8:1:2::/64}), and anything
    that is not an IP address (a UNIX socket path) as it is.
    """
    try:
        address = ipaddress.ip_address(host.strip())
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return str(address)


# -- token buckets --------------------------------------------------------------


@attrs.frozen
class Rate:
    """
    A token bucket's parameters.

    @ivar perMinute: tokens added per minute; 0 disables the limit.
    @ivar burst: the bucket's size: how many requests may come at once.
    """

    perMinute: float
    burst: int

    @property
    def enabled(self) -> bool:
        """
        Whether this rate limits anything.
        """
        return self.perMinute > 0

    @property
    def perSecond(self) -> float:
        """
        Tokens added per second.
        """
        return self.perMinute / 60.0


@attrs.define
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """
    A token bucket per key: each key starts with C{rate.burst} tokens, a
    request takes one, and tokens come back at C{rate.perMinute}.

    Memory is bounded: a key whose bucket is full again is the same as an
    unknown key and is forgotten (checked from the least recently used
    end on every call, so the cost is amortised constant), and when more
    than C{maxKeys} keys are still refilling the least recently used is
    evicted (it starts again with a full bucket).

    @ivar rate: the L{Rate}.
    """

    def __init__(
        self, rate: Rate, clock: IReactorTime, maxKeys: int = DEFAULT_MAX_KEYS
    ) -> None:
        if rate.burst < 1:
            raise ValueError("a rate's burst must be at least 1")
        if maxKeys < 1:
            raise ValueError("maxKeys must be at least 1")
        self.rate = rate
        self._clock = clock
        self._maxKeys = maxKeys
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()
        # Seconds after which an untouched bucket is full again.
        self._refill = rate.burst / rate.perSecond if rate.enabled else 0.0

    def __len__(self) -> int:
        return len(self._buckets)

    def _forgetIdle(self, now: float) -> None:
        buckets = self._buckets
        while buckets:
            key, bucket = next(iter(buckets.items()))
            if now - bucket.updated < self._refill:
                break
            del buckets[key]

    def _current(self, key: Hashable, now: float) -> _Bucket | None:
        bucket = self._buckets.get(key)
        if bucket is None:
            return None
        # A clock going backwards refills nothing (and takes nothing).
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(float(self.rate.burst), bucket.tokens + elapsed * self.rate.perSecond)
        bucket.updated = max(bucket.updated, now)
        return bucket

    def allow(self, key: Hashable) -> bool:
        """
        Take a token from C{key}'s bucket.

        @return: whether there was one (the request may go ahead).
        """
        if not self.rate.enabled:
            return True
        now = self._clock.seconds()
        self._forgetIdle(now)
        bucket = self._current(key, now)
        if bucket is None:
            bucket = _Bucket(float(self.rate.burst), now)
            self._buckets[key] = bucket
            while len(self._buckets) > self._maxKeys:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(key)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        return False

    def retryAfter(self, key: Hashable) -> float:
        """
        Seconds until C{key}'s bucket has a token again (0 when it has one).
        """
        if not self.rate.enabled:
            return 0.0
        bucket = self._current(key, self._clock.seconds())
        if bucket is None or bucket.tokens >= 1.0:
            return 0.0
        return (1.0 - bucket.tokens) / self.rate.perSecond


# -- connection counts --------------------------------------------------------------


class ConnectionCounter:
    """
    Open connections (or sessions) per key, with a cap.  Only keys with at
    least one open connection are kept, so memory follows the number of
    connections.

    @ivar limit: the most at once per key; 0 for no limit.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._open)

    def count(self, key: str) -> int:
        """
        How many are open for C{key}.
        """
        return self._open.get(key, 0)

    def allowed(self, key: str) -> bool:
        """
        Whether one more may open for C{key}.
        """
        return not self.limit or self._open.get(key, 0) < self.limit

    def acquire(self, key: str) -> bool:
        """
        Count one more for C{key} if the cap allows.

        @return: whether it was counted; if not, refuse the connection and
            do not call L{release}.
        """
        if not self.allowed(key):
            return False
        self._open[key] = self._open.get(key, 0) + 1
        return True

    def add(self, key: str) -> None:
        """
        Count one more for C{key} whatever the cap.
        """
        self._open[key] = self._open.get(key, 0) + 1

    def release(self, key: str) -> None:
        """
        One for C{key} closed.
        """
        count = self._open.get(key, 0) - 1
        if count > 0:
            self._open[key] = count
        else:
            self._open.pop(key, None)


# -- memory held by incomplete frames ---------------------------------------------


@implementer(IInputBudget)
class BufferBudget:
    """
    A cap on the bytes held, all owners together, in incomplete frames:
    the L{IInputBudget} of the Blaze sessions that have not logged in (see
    L{pocketrelay.blaze.protocol.BlazeProtocol.inputBudget}).  An owner
    whose new total would pass the cap is refused (its connection is then
    dropped) and the refusal logged through a L{RefusalLog}.

    @ivar limit: the most bytes held in total; 0 for no limit.
    @ivar total: the bytes held now.
    """

    def __init__(self, limit: int, refusals: RefusalLog | None = None) -> None:
        self.limit = limit
        self.refusals = refusals
        self.total = 0
        self._held: dict[object, int] = {}

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, owner: object, size: int, peer: str) -> bool:
        """
        See L{IInputBudget.hold}.
        """
        before = self._held.pop(owner, 0)
        self.total -= before
        if not size:
            return True
        if self.limit and self.total + size > self.limit:
            if self.refusals is not None:
                self.refusals.refused(
                    "incomplete Blaze frame", peer,
                    f"sessions not logged in already hold {self.total} bytes of incomplete "
                    f"frames (limit {self.limit})",
                )
            return False
        self._held[owner] = size
        self.total += size
        return True

    def release(self, owner: object) -> None:
        """
        See L{IInputBudget.release}.
        """
        self.total -= self._held.pop(owner, 0)


# -- Blaze request rates -----------------------------------------------------------


class BlazeRequestLimits:
    """
    Token buckets for Blaze requests, one per session and one per client
    address (an IPv6 /64), shared by the L{SessionGate}s of a server.

    @ivar perSession: the L{RateLimiter} keyed by session id.
    @ivar perAddress: the L{RateLimiter} keyed by L{addressKey}.
    """

    def __init__(
        self,
        perSession: Rate,
        perAddress: Rate,
        clock: IReactorTime,
        refusals: RefusalLog | None = None,
    ) -> None:
        self.perSession = RateLimiter(perSession, clock)
        self.perAddress = RateLimiter(perAddress, clock)
        self.refusals = refusals

    @property
    def enabled(self) -> bool:
        """
        Whether either rate limits anything.
        """
        return self.perSession.rate.enabled or self.perAddress.rate.enabled

    def gate(self, sessionId: int, peer: str) -> SessionGate:
        """
        The L{IRequestGate} of one session.
        """
        return SessionGate(self, sessionId, addressKey(peer))

    def admit(self, sessionId: int, address: str) -> float:
        """
        Take a token from the session's and the address's buckets if both
        have one.

        @return: 0 if taken, else the seconds until both may have one.
        """
        wait = max(self.perSession.retryAfter(sessionId), self.perAddress.retryAfter(address))
        if wait > 0:
            # At least a few milliseconds: a wait of a rounding error
            # would not move a clock on and be asked again at once.
            return max(wait, 0.005)
        self.perSession.allow(sessionId)
        self.perAddress.allow(address)
        return 0.0


@implementer(IRequestGate)
class SessionGate:
    """
    The L{IRequestGate} of one Blaze session: L{BlazeRequestLimits} for its
    session id and client address.  The first time the session has to wait,
    one line is logged (through the L{RefusalLog}, itself rate-limited).
    """

    def __init__(self, limits: BlazeRequestLimits, sessionId: int, address: str) -> None:
        self.limits = limits
        self.sessionId = sessionId
        self.address = address
        self.throttled = 0

    def admit(self) -> float:
        """
        See L{IRequestGate.admit}.
        """
        wait = self.limits.admit(self.sessionId, self.address)
        if wait > 0:
            self.throttled += 1
            if self.throttled == 1 and self.limits.refusals is not None:
                session = self.limits.perSession.rate
                address = self.limits.perAddress.rate
                self.limits.refusals.refused(
                    "Blaze requests", f"session {self.sessionId} from {self.address}",
                    f"over {session.perMinute:g} per minute per session or "
                    f"{address.perMinute:g} per address; its requests are slowed down",
                )
        return wait


# -- logging refusals -------------------------------------------------------------


class RefusalLog:
    """
    Logs each refusal as one line, at most C{rate} lines per kind of
    refusal; the lines left out are counted in the next line of that kind.
    """

    log = Logger()

    def __init__(self, clock: IReactorTime, rate: Rate = Rate(30.0, 10)) -> None:
        self._lines = RateLimiter(rate, clock, maxKeys=256)
        self._suppressed: dict[str, int] = {}

    def refused(self, what: str, client: object, reason: str) -> None:
        """
        Note one refusal.

        @param what: the kind of refusal (also the rate-limiting key).
        @param client: who was refused (an address, an email, a player id).
        @param reason: why, for the operator.
        """
        if not self._lines.allow(what):
            self._suppressed[what] = self._suppressed.get(what, 0) + 1
            return
        suppressed = self._suppressed.pop(what, 0)
        self.log.info(
            "Refused {what} from {client}: {reason}{more}",
            what=what,
            client=client,
            reason=reason,
            suppressed=suppressed,
            more=f" ({suppressed} more {what} refusals not logged)" if suppressed else "",
        )


# -- the HTTP side -------------------------------------------------------------------


def _trustedSet(settings: Settings) -> tuple[frozenset[str], bool]:
    if not settings["reverse_proxy"]:
        return frozenset(), False
    wanted = frozenset(
        entry.strip() for entry in (settings["trusted_proxies"] or "").split(",")
        if entry.strip()
    )
    return wanted, "*" in wanted


@attrs.frozen
class HttpLimits:
    """
    The limits of the HTTP side.

    @ivar maxHeaderSize: the most bytes of request line plus header lines
        (line ends not counted); also the longest single line.
    @ivar maxHeaders: the most header lines per request.
    @ivar maxConnectionsPerAddress: the most open connections per client
        address (upgraded Blaze connections included); 0 for no limit.
    @ivar requestHeadTimeout: seconds from the start of a connection (or
        from the first byte of a later request on it) until its request
        head must be complete; 0 for no deadline.
    @ivar requestTimeout: seconds from the same moment until the whole
        request, body included, must be received; 0 for no deadline.
    @ivar exemptPeers: peers not subject to the connection cap: the trusted
        reverse proxies when C{reverse_proxy} is on (all clients come
        through them; their real addresses are known only from the
        request's headers).
    @ivar exemptAll: every peer is exempt (C{trusted_proxies = "*"}).
    """

    maxHeaderSize: int = 16 * 1024
    maxHeaders: int = 100
    maxConnectionsPerAddress: int = 64
    requestHeadTimeout: float = 10.0
    requestTimeout: float = 60.0
    exemptPeers: frozenset[str] = frozenset()
    exemptAll: bool = False

    @classmethod
    def fromSettings(cls, settings: Settings) -> HttpLimits:
        """
        The limits configured in C{settings}.
        """
        exempt, everyone = _trustedSet(settings)
        return cls(
            maxHeaderSize=settings["limits.max_header_size"],
            maxHeaders=settings["limits.max_headers"],
            maxConnectionsPerAddress=settings["limits.max_connections_per_address"],
            requestHeadTimeout=settings["limits.request_head_timeout"],
            requestTimeout=settings["limits.request_timeout"],
            exemptPeers=exempt,
            exemptAll=everyone,
        )

    def exempt(self, peer: str) -> bool:
        """
        Whether connections from C{peer} are not counted.
        """
        return self.exemptAll or peer in self.exemptPeers


_REASONS: Final[Mapping[int, bytes]] = {
    408: b"Request Timeout",
    413: b"Content Too Large",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


def _requestPath(target: bytes) -> bytes:
    """
    The path of a request target (origin form or absolute form).
    """
    if not target.startswith(b"/"):
        _, separator, rest = target.partition(b"://")
        if separator:
            target = b"/" + rest.partition(b"/")[2]
    return target.split(b"?", 1)[0]


@attrs.define(eq=False)
class SiteLimits:
    """
    What the L{LimitedHTTPChannel}s of one site share.

    @ivar limits: the L{HttpLimits}.
    @ivar connections: open connections per client address.
    @ivar refusals: where refusals are logged.
    @ivar bodyLimits: (path prefix, largest body) pairs, first match wins.
    @ivar defaultBodyLimit: the largest body for other paths.
    """

    limits: HttpLimits
    connections: ConnectionCounter
    refusals: RefusalLog
    bodyLimits: tuple[tuple[bytes, int], ...] = ()
    defaultBodyLimit: int = OTHER_MAX_BODY

    def bodyLimit(self, path: bytes) -> int:
        """
        The largest request body accepted for C{path}.
        """
        for prefix, limit in self.bodyLimits:
            if path.startswith(prefix) or path == prefix.rstrip(b"/"):
                return limit
        return self.defaultBodyLimit


class LimitedHTTPChannel(http.HTTPChannel):
    """
    An L{http.HTTPChannel} that enforces the L{SiteLimits} found on its
    factory as C{httpLimits} (see L{limitSite}).

    The HTTP upgrade of L{pocketrelay.server.web.upgrade} keeps working:
    the deadlines end once the request is received, and the takeover chains the
    channel's C{connectionLost}, so the connection stays counted until the
    upgraded connection closes.
    """

    _guard: SiteLimits | None = None
    _peer: str = ""
    _countedAs: str | None = None
    _headCall: IDelayedCall | None = None
    _requestCall: IDelayedCall | None = None
    _inHead = True
    _headBytes = 0
    _headLines = 0
    _headerCount = 0
    _refused = False

    @property
    def limits(self) -> HttpLimits:
        """
        The L{HttpLimits} in force.
        """
        return self._guard.limits if self._guard is not None else _DEFAULT_LIMITS

    # -- connection

    def connectionMade(self) -> None:
        guard = getattr(self.factory, "httpLimits", None)
        if isinstance(guard, SiteLimits):
            self._guard = guard
        limits = self.limits
        # Twisted's own checks, at the same values (ours answer first).
        self.totalHeadersSize = limits.maxHeaderSize
        self.maxHeaders = limits.maxHeaders
        self.MAX_LENGTH = limits.maxHeaderSize
        super().connectionMade()
        peer = self.transport.getPeer() if self.transport is not None else None
        self._peer = str(getattr(peer, "host", "") or "")
        if self._guard is not None and self._peer and not limits.exempt(self._peer):
            counter = self._guard.connections
            key = addressKey(self._peer)
            if not counter.acquire(key):
                self._logRefusal(
                    "connection", f"already {counter.count(key)} connections open from this address"
                )
                self._refuse(503, "Too many connections from your address; try again later")
                return
            self._countedAs = key
        self._armHead()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._cancelHead()
        self._cancelRequest()
        key, self._countedAs = self._countedAs, None
        if key is not None and self._guard is not None:
            self._guard.connections.release(key)
        super().connectionLost(reason)

    # -- the request head

    def dataReceived(self, data: bytes) -> None:
        if not self._refused and not self._handlingRequest:
            # The first byte of a later request on a kept-alive connection
            # (or of the body of a request that was pipelined).
            if self._inHead and self._headCall is None:
                self._armHead()
            elif self._requestCall is None:
                self._armRequest()
        super().dataReceived(data)

    def lineReceived(self, line: bytes) -> None:
        if self._inHead:
            self._headLines += 1
            self._headBytes += len(line)
            if self._headBytes > self.limits.maxHeaderSize:
                self._headTooLarge(self._headLines == 1)
                return
        super().lineReceived(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        self._headTooLarge(self._inHead and self._headLines == 0)

    def headerReceived(self, line: bytes) -> bool:
        self._headerCount += 1
        limit = self.limits.maxHeaders
        if self._headerCount > limit:
            self._logRefusal("request", f"more than {limit} header lines")
            self._refuse(431, f"More than {limit} header lines")
            return False
        return bool(super().headerReceived(line))

    def allHeadersReceived(self) -> None:
        self._inHead = False
        self._cancelHead()
        request = self.requests[-1]
        path = _requestPath(getattr(self, "_path", b"") or b"")
        limit = self._guard.bodyLimit(path) if self._guard is not None else None
        if limit is not None:
            if self.length is not None and self.length > limit:
                self._logRefusal("request", f"a body of {self.length} bytes (limit {limit})")
                self._refuse(413, f"Request body is larger than {limit} bytes")
                return
            if hasattr(request, "maxBody"):
                request.maxBody = limit
        super().allHeadersReceived()

    def allContentReceived(self) -> None:
        self._cancelRequest()
        super().allContentReceived()

    def rawDataReceived(self, data: bytes) -> None:
        super().rawDataReceived(data)
        if self._refused or self._handlingRequest or not self.requests:
            return
        request = self.requests[-1]
        if getattr(request, "bodyTooLarge", False):
            # A chunked body past the limit of its path.
            limit = getattr(request, "maxBody", None)
            self._logRefusal("request", f"a chunked body over {limit} bytes")
            self._refuse(413, f"Request body is larger than {limit} bytes")

    def requestDone(self, request: Any) -> None:
        if self.persistent:
            # The next request's head starts (it may be buffered already).
            self._inHead = True
            self._headBytes = self._headLines = self._headerCount = 0
        super().requestDone(request)

    # -- the deadline

    def _armHead(self) -> None:
        timeout = self.limits.requestHeadTimeout
        if timeout and self._headCall is None:
            self._headCall = self.callLater(timeout, self._headTimedOut)
        self._armRequest()

    def _armRequest(self) -> None:
        timeout = self.limits.requestTimeout
        if timeout and self._requestCall is None:
            self._requestCall = self.callLater(timeout, self._requestTimedOut)

    def _cancelHead(self) -> None:
        call, self._headCall = self._headCall, None
        if call is not None and call.active():
            call.cancel()

    def _cancelRequest(self) -> None:
        call, self._requestCall = self._requestCall, None
        if call is not None and call.active():
            call.cancel()

    def _requestTimedOut(self) -> None:
        self._requestCall = None
        transport = self.transport
        if self._refused or transport is None or getattr(transport, "disconnecting", False):
            return
        timeout = self.limits.requestTimeout
        self._logRefusal("slow request", f"no complete request within {timeout:g} s")
        self._refuse(408, f"The request took longer than {timeout:g} seconds to arrive")

    def _headTimedOut(self) -> None:
        self._headCall = None
        if not self._inHead or self._refused or self.transport is None:
            return
        timeout = self.limits.requestHeadTimeout
        self._logRefusal("slow request", f"no complete request head within {timeout:g} s")
        self._refuse(408, f"The request head took longer than {timeout:g} seconds")

    # -- refusing

    def _headTooLarge(self, requestLine: bool) -> None:
        limit = self.limits.maxHeaderSize
        if requestLine:
            self._logRefusal("request", f"a request line over {limit} bytes")
            self._refuse(414, f"The request line is longer than {limit} bytes")
        else:
            self._logRefusal("request", f"a request head over {limit} bytes")
            self._refuse(431, f"The request head is larger than {limit} bytes")

    def _logRefusal(self, what: str, reason: str) -> None:
        if self._guard is not None:
            self._guard.refusals.refused(what, self._peer or "unknown", reason)

    def _refuse(self, code: int, message: str) -> None:
        """
        Answer C{code} with a plain-text C{message}, stop reading and close
        (abort after C{abortTimeout} if the peer does not let it close).
        """
        if self._refused:
            return
        self._refused = True
        self._cancelHead()
        self._cancelRequest()
        body = (message + "\n").encode("utf-8")
        head = [
            b"HTTP/1.1 %d %s" % (code, _REASONS.get(code, b"Error")),
            b"Content-Type: text/plain; charset=utf-8",
            b"Content-Length: %d" % (len(body),),
            b"Connection: close",
            b"Access-Control-Allow-Origin: *",
        ]
        if self.transport is not None:
            self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        # Nothing more is parsed, also from the rest of the current read.
        self.dataReceived = _ignore  # type: ignore[method-assign, assignment]
        self.lineReceived = _ignore  # type: ignore[method-assign, assignment]
        self.rawDataReceived = _ignore  # type: ignore[method-assign, assignment]
        self.setTimeout(None)
        self.loseConnection()
        if self.abortTimeout is not None:
            self._abortingCall = self.callLater(self.abortTimeout, self.forceAbortClient)


_DEFAULT_LIMITS: Final = HttpLimits()


def _ignore(*args: object) -> None:
    pass


def limitSite(
    site: Site,
    limits: HttpLimits | None = None,
    connections: ConnectionCounter | None = None,
    refusals: RefusalLog | None = None,
    bodyLimits: Iterable[tuple[bytes, int]] = (),
    defaultBodyLimit: int = OTHER_MAX_BODY,
) -> Site:
    """
    Make C{site} (a L{Site} or subclass) serve with L{LimitedHTTPChannel}s.

    HTTP/2 is not offered afterwards (the server never negotiated it: an
    HTTP upgrade needs HTTP/1.1).

    @param limits: the L{HttpLimits} (defaults: C{HttpLimits()}).
    @param connections: the per-address counter to use (a new one with the
        cap of C{limits} if not given).
    @param refusals: where refusals are logged (a new L{RefusalLog} on the
        site's reactor if not given).
    @param bodyLimits: (path prefix, largest body) pairs, e.g.
        C{[(b"/api/", 1052672)]}.
    @param defaultBodyLimit: the largest body elsewhere.
    @return: C{site}.
    """
    limits = limits if limits is not None else HttpLimits()
    site.protocol = LimitedHTTPChannel  # type: ignore[assignment]
    site.httpLimits = SiteLimits(  # type: ignore[attr-defined]
        limits,
        connections if connections is not None
        else ConnectionCounter(limits.maxConnectionsPerAddress),
        refusals if refusals is not None else RefusalLog(site.reactor),
        tuple(bodyLimits),
        defaultBodyLimit,
    )
    return site


class LimitedSite(Site):
    """
    A L{Site} made with L{limitSite}.
    """

    httpLimits: SiteLimits

    def __init__(
        self,
        resource: Any,
        limits: HttpLimits | None = None,
        connections: ConnectionCounter | None = None,
        refusals: RefusalLog | None = None,
        bodyLimits: Iterable[tuple[bytes, int]] = (),
        defaultBodyLimit: int = OTHER_MAX_BODY,
        timeout: float = 60,
        reactor: Any = None,
    ) -> None:
        """
        See L{limitSite}; C{timeout} is the idle timeout in seconds and
        C{reactor} runs the deadlines.
        """
        super().__init__(resource, timeout=timeout, reactor=reactor)
        limitSite(self, limits, connections, refusals, bodyLimits, defaultBodyLimit)


# -- rate limits of the server ---------------------------------------------------------


@attrs.frozen
class Bucket:
    """
    A named rate limit of the server.

    @ivar name: what refusals are logged as.
    @ivar setting: the settings prefix: C{<setting>_rate} (per minute) and
        C{<setting>_burst}.
    @ivar kind: what the key is: C{"address"} (grouped by L{addressKey}),
        C{"email"} (in canonical form), C{"email and address"} (a pair of
        those) or C{"player"} (an id).
    """

    name: str
    setting: str
    kind: str


#: Password logins and account creation (Blaze login and createAccount,
#: dashboard login, account creation and login-code exchange), per client
#: address.
LOGIN_ADDRESS: Final = "login per address"
#: Password logins per account email from all addresses together (Blaze
#: and dashboard): the slower fallback behind L{LOGIN_EMAIL_ADDRESS}, not
#: taken from addresses the account logged in from (see
#: L{ServerLimits.loginChecks}).
LOGIN_EMAIL: Final = "login per email"
#: Password logins and password checks per (account email, client
#: address) pair.
LOGIN_EMAIL_ADDRESS: Final = "login per email and address"
#: Token logins (Blaze silentLogin) per client address.
TOKEN_LOGIN_ADDRESS: Final = "token login per address"
#: Dashboard login-code requests per client address.
LOGIN_CODE_ADDRESS: Final = "login code per address"
#: Dashboard login-code requests per player.
LOGIN_CODE_PLAYER: Final = "login code per player"
#: Telemetry records per client address.
TELEMETRY_ADDRESS: Final = "telemetry per address"

#: Every rate limit, by name.
BUCKETS: Final[Mapping[str, Bucket]] = {
    bucket.name: bucket
    for bucket in (
        Bucket(LOGIN_ADDRESS, "limits.login", "address"),
        Bucket(LOGIN_EMAIL, "limits.login_email", "email"),
        Bucket(LOGIN_EMAIL_ADDRESS, "limits.login", "email and address"),
        Bucket(TOKEN_LOGIN_ADDRESS, "limits.token_login", "address"),
        Bucket(LOGIN_CODE_ADDRESS, "limits.login_code", "address"),
        Bucket(LOGIN_CODE_PLAYER, "limits.login_code", "player"),
        Bucket(TELEMETRY_ADDRESS, "limits.telemetry", "address"),
    )
}


def _bucketKey(kind: str, key: object) -> Hashable:
    if kind == "address":
        return addressKey(str(key))
    if kind == "email":
        return canonicalEmail(str(key))
    if kind == "email and address" and isinstance(key, tuple) and len(key) == 2:
        return (canonicalEmail(str(key[0])), addressKey(str(key[1])))
    return key if isinstance(key, Hashable) else repr(key)


class ServerLimits:
    """
    The limit state of one server, built from its settings.

    @ivar http: the L{HttpLimits}.
    @ivar connections: open HTTP connections per client address.
    @ivar sessions: open Blaze sessions per client address.
    @ivar refusals: the L{RefusalLog}.
    @ivar rates: a L{RateLimiter} per name of L{BUCKETS}.
    @ivar frameBudget: the L{BufferBudget} of the Blaze sessions that have
        not logged in.
    @ivar requests: the L{BlazeRequestLimits}.
    """

    def __init__(self, settings: Settings, clock: IReactorTime) -> None:
        self.http = HttpLimits.fromSettings(settings)
        self.connections = ConnectionCounter(self.http.maxConnectionsPerAddress)
        self.sessions = ConnectionCounter(settings["limits.max_sessions_per_address"])
        self.refusals = RefusalLog(clock)
        self.frameBudget = BufferBudget(
            settings["limits.anonymous_frame_memory"], self.refusals
        )
        self.requests = BlazeRequestLimits(
            Rate(settings["limits.session_request_rate"], settings["limits.session_request_burst"]),
            Rate(settings["limits.address_request_rate"], settings["limits.address_request_burst"]),
            clock,
            self.refusals,
        )
        self.rates = {
            name: RateLimiter(
                Rate(settings[bucket.setting + "_rate"], settings[bucket.setting + "_burst"]),
                clock,
            )
            for name, bucket in BUCKETS.items()
        }
        self.knownLogins = KnownLogins(clock)

    def loginChecks(self, email: str, address: str) -> list[tuple[str, object]]:
        """
        The rate limits a password check for the account C{email} from
        C{address} takes (besides the per-address L{LOGIN_ADDRESS}, which
        the caller takes first): the (email, address) pair, so strangers'
        wrong passwords do not lock the owner out; and the slower
        per-email fallback against guesses spread over many addresses,
        except from an address the account logged in from recently (see
        L{KnownLogins}), so even those cannot lock out its owner.
        """
        checks: list[tuple[str, object]] = [(LOGIN_EMAIL_ADDRESS, (email, address))]
        if not self.knownLogins.known(email, address):
            checks.append((LOGIN_EMAIL, email))
        return checks

    def loginSucceeded(self, email: str, address: str) -> None:
        """
        Remember that the account C{email} logged in with its password
        from C{address}.
        """
        self.knownLogins.add(email, address)

    def check(self, *checks: tuple[str, object]) -> float | None:
        """
        Take a token from each named bucket for its key, in order, stopping
        at the first that has none (that refusal is logged).

        @param checks: (bucket name, key) pairs; keys are grouped by the
            bucket's kind (see L{Bucket}).
        @return: L{None} when every bucket allowed, else the seconds until
            the refusing one allows again.
        """
        for name, key in checks:
            bucket = BUCKETS[name]
            normalized = _bucketKey(bucket.kind, key)
            limiter = self.rates[name]
            if not limiter.allow(normalized):
                rate = limiter.rate
                self.refusals.refused(
                    name, normalized,
                    f"over {rate.perMinute:g} per minute (burst {rate.burst})",
                )
                return max(limiter.retryAfter(normalized), 1.0)
        return None

    def sessionAllowed(self, peer: str) -> bool:
        """
        Whether one more Blaze session may open from C{peer} (the refusal
        is logged).
        """
        key = addressKey(peer)
        if self.sessions.allowed(key):
            return True
        self.refusals.refused(
            "Blaze session", key, f"already {self.sessions.count(key)} sessions from this address"
        )
        return False

    def sessionOpened(self, peer: str) -> None:
        """
        A Blaze session opened from C{peer}.
        """
        self.sessions.add(addressKey(peer))

    def sessionClosed(self, peer: str) -> None:
        """
        A Blaze session from C{peer} closed.
        """
        self.sessions.release(addressKey(peer))


class KnownLogins:
    """
    The addresses each account logged in from with its password lately,
    so that a flood of wrong passwords from elsewhere does not lock it
    out from them.  Bounded: at most C{perAccount} addresses per account
    and C{maxAccounts} accounts (least recently used go first), each kept
    for C{lifetime} seconds.
    """

    def __init__(
        self,
        clock: IReactorTime,
        lifetime: float = 30 * 24 * 3600,
        perAccount: int = 8,
        maxAccounts: int = DEFAULT_MAX_KEYS,
    ) -> None:
        self._clock = clock
        self.lifetime = lifetime
        self.perAccount = perAccount
        self.maxAccounts = maxAccounts
        self._seen: OrderedDict[str, OrderedDict[str, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, email: str, address: str) -> None:
        """
        C{email} logged in from C{address} now.
        """
        key = canonicalEmail(email)
        addresses = self._seen.pop(key, None) or OrderedDict()
        where = addressKey(address)
        addresses.pop(where, None)
        addresses[where] = self._clock.seconds()
        while len(addresses) > self.perAccount:
            addresses.popitem(last=False)
        self._seen[key] = addresses
        while len(self._seen) > self.maxAccounts:
            self._seen.popitem(last=False)

    def known(self, email: str, address: str) -> bool:
        """
        Whether C{email} logged in from C{address} in the last
        C{lifetime} seconds.
        """
        addresses = self._seen.get(canonicalEmail(email))
        if addresses is None:
            return False
        when = addresses.get(addressKey(address))
        return when is not None and self._clock.seconds() - when < self.lifetime


#: Settings that turn the per-address limits off, for load tests and
#: benchmarks whose simulated players all come from one address.
LOAD_TEST_SETTINGS: Final[tuple[tuple[str, str], ...]] = (
    ("limits.max_connections_per_address", "0"),
    ("limits.max_sessions_per_address", "0"),
    ("limits.login_rate", "0"),
    ("limits.login_email_rate", "0"),
    ("limits.password_queue_per_address", "0"),
    ("limits.token_login_rate", "0"),
    ("limits.login_code_rate", "0"),
    ("limits.telemetry_rate", "0"),
    ("limits.address_request_rate", "0"),
    ("limits.max_tunnels_per_address", "0"),
)


def loadTestArguments() -> list[str]:
    """
    L{LOAD_TEST_SETTINGS} as C{--set KEY=VALUE} arguments of C{twistd
    pocketrelay-server}.
    """
    return [arg for key, value in LOAD_TEST_SETTINGS for arg in ("--set", f"{key}={value}")]


def retryAfterHeader(seconds: float) -> tuple[bytes, bytes]:
    """
    A C{Retry-After} header for a wait of C{seconds}.
    """
    return (b"Retry-After", str(max(1, math.ceil(seconds))).encode("ascii"))
