# -*- test-case-name: tests.test_web_api -*-
"""
The JSON API's small router: a table of L{Route}s, each a method, a path
template, the access it needs, the request body and query it accepts and
the handler that answers it.

One table drives three things, so they cannot disagree: the dispatch done
by L{ApiDispatcher}, the checks made before a handler runs (token, role,
body size, body fields, query parameters), and the OpenAPI document built
by L{pocketrelay.server.web.api.openapi}.

Handlers take a L{Call} and return (or fire a L{Deferred} with) a value to
send as JSON with status 200, or a L{Text} for a plain-text answer; they
raise L{ApiError} for an error answer.  Error answers are short plain text
because the Pocket Relay dashboard shows the body verbatim.

Cross-origin requests: every response under C{/api} carries
C{Access-Control-Allow-Origin: *}, and any C{OPTIONS} request under
C{/api} is a preflight answered with C{204} (see L{ApiResource}).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, Final
from urllib.parse import unquote_to_bytes

import attrs
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import server
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET, Request

from pocketrelay.addresses import clientHost

if TYPE_CHECKING:
    from pocketrelay.server.hub import Hub
    from pocketrelay.server.store import Player

__all__ = [
    "CORS_HEADERS",
    "DEFAULT_MAX_BODY",
    "MAX_REQUEST_BODY",
    "PATH_PARAMETERS",
    "Access",
    "ApiDispatcher",
    "ApiError",
    "ApiResource",
    "BoundedRequest",
    "Call",
    "Field",
    "PathParameter",
    "QueryParam",
    "Route",
    "Text",
    "clientAddress",
    "rateLimit",
    "requireJson",
]

#: The largest request body any route accepts by default, in bytes.
DEFAULT_MAX_BODY: Final = 64 * 1024

#: The largest request body the site keeps at all, in bytes: the largest
#: route limit (a player data value of 1 MiB plus its JSON wrapping).
#: Bytes beyond it are discarded as they arrive and the request is marked
#: L{BoundedRequest.bodyTooLarge}.
MAX_REQUEST_BODY: Final = 1024 * 1024 + 4096

#: The CORS headers on every C{/api} response.
CORS_HEADERS: Final = (
    (b"Access-Control-Allow-Origin", b"*"),
)

#: The extra CORS headers of a preflight answer.
PREFLIGHT_HEADERS: Final = (
    (b"Access-Control-Allow-Methods", b"GET, HEAD, POST, PUT, DELETE, OPTIONS"),
    (b"Access-Control-Allow-Headers", b"X-Token, Content-Type"),
    (b"Access-Control-Max-Age", b"86400"),
)


class _Discard:
    """
    A write-only sink for request bytes beyond the limit.
    """

    def write(self, data: bytes) -> None:
        pass


class BoundedRequest(server.Request):
    """
    A L{server.Request} that keeps at most L{MAX_REQUEST_BODY} bytes of
    body.  Twisted otherwise spools any body, of any size, to a temporary
    file before a resource sees it.  A larger body (announced by
    C{Content-Length} or found while receiving a chunked one) is discarded
    as it arrives; L{bodyTooLarge} tells resources to answer 413.

    @ivar maxBody: the limit for this request.
    @ivar bodyTooLarge: whether the body was over the limit.
    """

    maxBody: int = MAX_REQUEST_BODY
    bodyTooLarge: bool = False
    _received: int = 0

    def gotLength(self, length: int | None) -> None:
        if length is not None and length > self.maxBody:
            self.bodyTooLarge = True
        super().gotLength(None if self.bodyTooLarge else length)

    def handleContentChunk(self, data: bytes) -> None:
        if self.bodyTooLarge:
            return
        self._received += len(data)
        if self._received > self.maxBody:
            self.bodyTooLarge = True
            # Drop what was kept so far: the request is refused anyway.
            self.content = _resetContent(self.content)  # type: ignore[arg-type]
            return
        super().handleContentChunk(data)


def _resetContent(content: IO[bytes]) -> IO[bytes]:
    import io

    try:
        content.close()
    except Exception:
        pass
    return io.BytesIO()


class Access(enum.Enum):
    """
    Who may call a route.

      - C{PUBLIC}: anyone; a token is not checked (the dashboard sends its
        stored token everywhere, even to the login route).
      - C{USER}: any valid token.
      - C{ADMIN}: a token of an Admin or SuperAdmin.
      - C{SUPER_ADMIN}: a token of a SuperAdmin.
      - C{GAMES}: as C{USER}, or anyone when the setting
        C{api.public_games} is on (a token, when sent, must then be
        valid).
    """

    PUBLIC = "public"
    USER = "user"
    ADMIN = "admin"
    SUPER_ADMIN = "super_admin"
    GAMES = "games"


class ApiError(Exception):
    """
    An error answer: an HTTP status and a short plain-text message.
    """

    def __init__(self, code: int, message: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = tuple(headers)


@attrs.frozen
class Text:
    """
    A plain-text success answer (C{text/plain; charset=utf-8}).
    """

    text: str
    code: int = 200


@attrs.frozen
class Field:
    """
    A member of a JSON request body.

    @ivar name: the JSON key.
    @ivar kind: the Python type the value must have (C{str} or C{int}).
    @ivar required: whether the key must be present.
    @ivar maxLength: for strings, the longest accepted, in characters.
    @ivar enum: the accepted values, if limited.
    @ivar description: for the OpenAPI document.
    """

    name: str
    kind: type = str
    required: bool = True
    maxLength: int | None = None
    enum: tuple[str, ...] | None = None
    description: str = ""


@attrs.frozen
class QueryParam:
    """
    A query-string parameter.

    @ivar default: the value when absent (L{None}: absent stays L{None}).
    @ivar minimum: for integers, the smallest accepted.
    @ivar maximum: for integers, the largest accepted.
    """

    name: str
    kind: type = int
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    maxLength: int | None = None
    description: str = ""


@attrs.frozen
class PathParameter:
    """
    How a C{{name}} placeholder in a path template matches a segment.

    @ivar pattern: the whole segment must match it.
    @ivar convert: turns the matched text into the handler's value.
    @ivar schema: the OpenAPI schema of the parameter.
    """

    pattern: re.Pattern[str]
    convert: Callable[[str], Any]
    schema: Mapping[str, Any]
    description: str = ""


_INT64_MAX = (1 << 63) - 1

#: Every placeholder a route template may use.
PATH_PARAMETERS: Final[Mapping[str, PathParameter]] = {
    "id": PathParameter(
        re.compile(r"[0-9]{1,18}"), int,
        {"type": "integer", "format": "int64", "minimum": 0},
        "A player id.",
    ),
    "player_id": PathParameter(
        re.compile(r"[0-9]{1,18}"), int,
        {"type": "integer", "format": "int64", "minimum": 0},
        "A player id.",
    ),
    "game_id": PathParameter(
        re.compile(r"[0-9]{1,18}"), int,
        {"type": "integer", "format": "int64", "minimum": 0},
        "A game id.",
    ),
    "report_id": PathParameter(
        re.compile(r"[0-9]{1,18}"), int,
        {"type": "integer", "format": "int64", "minimum": 0},
        "A game report id.",
    ),
    "key": PathParameter(
        re.compile(r".{1,1024}", re.DOTALL), str,
        {"type": "string", "minLength": 1, "maxLength": 64},
        "A player data key, e.g. Base, class1, char0.",
    ),
    "board": PathParameter(
        re.compile(r"n7|cp"), str,
        {"type": "string", "enum": ["n7", "cp"]},
        "The leaderboard: n7 (N7 rating) or cp (challenge points).",
    ),
}

_PLACEHOLDER = re.compile(r"^\{([a-z_]+)\}$")


@attrs.define(eq=False)
class Call:
    """
    One API request being answered.

    @ivar api: the L{ApiDispatcher} (hub, login codes, log buffer).
    @ivar request: the twisted.web request.
    @ivar route: the matched route.
    @ivar params: path placeholders, converted.
    @ivar query: query parameters, converted, defaults filled in.
    @ivar body: the JSON body's declared fields (absent optional fields
        are missing), or L{None} for routes without a body.
    @ivar player: the caller's account, or L{None} when anonymous.
    """

    api: ApiDispatcher
    request: Request
    route: Route
    params: dict[str, Any] = attrs.Factory(dict)
    query: dict[str, Any] = attrs.Factory(dict)
    body: dict[str, Any] | None = None
    player: Player | None = None

    @property
    def hub(self) -> Hub:
        """
        The server's L{Hub}.
        """
        return self.api.hub

    @property
    def now(self) -> int:
        """
        The current Unix time from the hub's clock.
        """
        return int(self.api.hub.clock.seconds())


Handler = Callable[[Call], Any]


@attrs.frozen
class Route:
    """
    One API route.

    @ivar method: C{GET}, C{POST}, C{PUT} or C{DELETE} (C{GET} routes
        answer C{HEAD} too).
    @ivar path: the template below C{/api}, e.g. C{/players/{id}/data/{key}}.
    @ivar handler: answers the call.
    @ivar access: who may call it.
    @ivar summary: one line for the OpenAPI document.
    @ivar body: the JSON body's fields, or L{None} for no body.
    @ivar query: the query parameters.
    @ivar response: the OpenAPI component schema of the 200 answer, or
        C{"text"} for plain text.
    @ivar errors: the error statuses the handler itself may answer (the
        router adds 400, 401, 403 and 413 as they apply).
    @ivar maxBody: the largest body accepted, in bytes.
    @ivar description: more detail for the OpenAPI document.
    @ivar rateLimit: the name of a rate limit of
        L{pocketrelay.server.limits.BUCKETS} taken per client address once
        the body is parsed, before the handler runs (429 when over; list
        429 in C{errors}).
    """

    method: str
    path: str
    handler: Handler = attrs.field(eq=False, repr=False)
    access: Access
    summary: str
    body: tuple[Field, ...] | None = None
    query: tuple[QueryParam, ...] = ()
    response: str = "Empty"
    errors: tuple[int, ...] = ()
    maxBody: int = DEFAULT_MAX_BODY
    description: str = ""
    rateLimit: str | None = None
    _segments: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"route path {self.path!r} must start with /")
        segments = tuple(self.path[1:].split("/"))
        for segment in segments:
            found = _PLACEHOLDER.match(segment)
            if found is not None and found.group(1) not in PATH_PARAMETERS:
                raise ValueError(f"unknown placeholder {segment} in {self.path}")
            if found is None and ("{" in segment or "}" in segment):
                raise ValueError(f"bad segment {segment!r} in {self.path}")
        object.__setattr__(self, "_segments", segments)

    @property
    def placeholders(self) -> list[str]:
        """
        The names of the path placeholders, in order.
        """
        names = []
        for segment in self._segments:
            found = _PLACEHOLDER.match(segment)
            if found is not None:
                names.append(found.group(1))
        return names

    def match(self, segments: Sequence[str]) -> dict[str, Any] | None:
        """
        The converted placeholders if C{segments} (the decoded path below
        C{/api}) fits this route's template, else L{None}.
        """
        if len(segments) != len(self._segments):
            return None
        params: dict[str, Any] = {}
        for template, actual in zip(self._segments, segments, strict=True):
            found = _PLACEHOLDER.match(template)
            if found is None:
                if template != actual:
                    return None
                continue
            parameter = PATH_PARAMETERS[found.group(1)]
            if not parameter.pattern.fullmatch(actual):
                return None
            value = parameter.convert(actual)
            if isinstance(value, int) and value > _INT64_MAX:
                return None
            params[found.group(1)] = value
        return params


def _setHeaders(request: Request, headers: Iterable[tuple[bytes, bytes]]) -> None:
    for name, value in headers:
        request.setHeader(name, value)


def setCorsHeaders(request: Request) -> None:
    """
    Add the CORS headers every C{/api} response carries.
    """
    _setHeaders(request, CORS_HEADERS)


def _plain(request: Request, code: int, message: str) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    request.setHeader(b"cache-control", b"no-store")
    request.setHeader(b"x-content-type-options", b"nosniff")
    return message.encode("utf-8")


def encodeJson(value: Any) -> bytes:
    """
    Compact JSON as UTF-8 bytes.
    """
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("utf-8")


class _PreflightResource(Resource):
    """
    Answers a CORS preflight (any C{OPTIONS} request below C{/api}).
    """

    isLeaf = True

    def render(self, request: Request) -> bytes:
        setCorsHeaders(request)
        _setHeaders(request, PREFLIGHT_HEADERS)
        request.setResponseCode(204)
        return b""


def _refuseUnsafe(value: object) -> Any:
    raise ValueError(f"{value} is not allowed")


def _decodeSegments(rawPath: bytes, prefix: int) -> list[str] | None:
    """
    The percent-decoded segments of C{rawPath} after the first C{prefix}
    ones, or L{None} if one is not UTF-8.
    """
    parts = rawPath.split(b"/")[1:]
    try:
        return [unquote_to_bytes(part).decode("utf-8") for part in parts[prefix:]]
    except UnicodeDecodeError:
        return None


class ApiDispatcher:
    """
    Matches a request against the route table and runs the route.

    @ivar hub: the server's L{Hub}.
    @ivar routes: the route table.
    @ivar loginCodes: the pending dashboard login codes.
    @ivar logBuffer: the recent log events served at C{/api/server/log},
        or L{None} when the server keeps none.
    @ivar telemetry: the recent telemetry records (a
        L{pocketrelay.server.web.api.telemetry.TelemetryWindow}, made by
        L{pocketrelay.server.web.api.buildApi}), or L{None} for a route
        table without the telemetry routes.
    """

    log = Logger()

    def __init__(
        self,
        hub: Hub,
        routes: Sequence[Route],
        loginCodes: Any = None,
        logBuffer: Any = None,
        telemetry: Any = None,
    ) -> None:
        self.hub = hub
        self.routes = tuple(routes)
        self.loginCodes = loginCodes
        self.logBuffer = logBuffer
        self.telemetry = telemetry
        seen = set()
        for route in self.routes:
            key = (route.method, route.path)
            if key in seen:
                raise ValueError(f"route {route.method} {route.path} is declared twice")
            seen.add(key)

    # -- matching

    def resolve(self, method: str, segments: Sequence[str]) -> tuple[Route, dict[str, Any]]:
        """
        Find the route for C{method} and the path C{segments} below
        C{/api}.

        @raise ApiError: 404 when no route has this path, 405 (with an
            C{Allow} header) when routes have it but not for C{method}.
        """
        allowed = []
        wanted = "GET" if method == "HEAD" else method
        for route in self.routes:
            params = route.match(segments)
            if params is None:
                continue
            if route.method == wanted:
                return route, params
            allowed.append(route.method)
        if not allowed:
            raise ApiError(404, "Unknown API route")
        if "GET" in allowed:
            allowed.append("HEAD")
        allow = ", ".join(sorted({*allowed, "OPTIONS"}))
        raise ApiError(405, f"Method {method} not allowed here",
                       [(b"Allow", allow.encode("ascii"))])

    # -- the request

    def render(self, request: Request) -> bytes | int:
        """
        Answer C{request} (its whole URL path names the route).
        """
        setCorsHeaders(request)
        request.setHeader(b"cache-control", b"no-store")
        method = request.method.decode("ascii", "replace").upper()
        segments = _decodeSegments(request.path, 1)
        try:
            if segments is None:
                raise ApiError(400, "The URL path is not valid UTF-8")
            route, params = self.resolve(method, segments)
            if getattr(request, "bodyTooLarge", False) or self._bodySize(request) > route.maxBody:
                raise ApiError(413, f"Request body is larger than {route.maxBody} bytes",
                               [(b"Connection", b"close")])
        except ApiError as e:
            return self._error(request, e)
        call = Call(self, request, route, params)
        finished = [False]
        request.notifyFinish().addBoth(lambda _: finished.__setitem__(0, True))
        d = defer.maybeDeferred(self._run, call)
        d.addCallback(self._answer, call)
        d.addErrback(self._failed, call)
        d.addErrback(self._lastResort, call)

        def finish(body: bytes) -> None:
            if finished[0]:
                # The client went away; nothing to write to.
                return
            request.write(body)
            request.finish()

        d.addCallback(finish)
        return NOT_DONE_YET

    @staticmethod
    def _bodySize(request: Request) -> int:
        content = request.content
        if content is None:
            return 0
        try:
            position = content.tell()
            content.seek(0, 2)
            size = content.tell()
            content.seek(position)
        except (OSError, ValueError):
            return 0
        return int(size)

    @defer.inlineCallbacks
    def _run(self, call: Call) -> Any:
        route = call.route
        call.player = yield self.authenticate(call.request, route.access)
        call.query = parseQuery(call.request, route.query)
        if route.body is not None:
            call.body = parseBody(call.request, route.body)
        if route.rateLimit is not None:
            rateLimit(call, (route.rateLimit, clientAddress(call)))
        result = yield route.handler(call)
        return result

    def _answer(self, result: Any, call: Call) -> bytes:
        request = call.request
        if isinstance(result, Text):
            return _plain(request, result.code, result.text)
        body = encodeJson(result)
        request.setResponseCode(200)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"content-length", str(len(body)).encode("ascii"))
        return body

    def _failed(self, failure: Failure, call: Call) -> bytes:
        from pocketrelay.server.security import HashingBusy
        from pocketrelay.server.store import (
            InvalidValue,
            PlayerExists,
            StoreError,
            UnknownPlayer,
        )

        error = failure.value
        if isinstance(error, HashingBusy):
            from pocketrelay.server.limits import retryAfterHeader

            error = ApiError(429, f"Too many password checks waiting: {error}; try again",
                             [retryAfterHeader(1)])
        if isinstance(error, ApiError):
            body = self._error(call.request, error)
            if error.code == 429:
                return self._refusalDelayed(body)
            return body
        if isinstance(error, InvalidValue):
            return self._error(call.request, ApiError(400, str(error)))
        if isinstance(error, PlayerExists):
            return self._error(call.request, ApiError(409, "Email address already in use"))
        if isinstance(error, UnknownPlayer):
            return self._error(call.request, ApiError(404, "Unknown player"))
        if isinstance(error, StoreError):
            self.log.failure("Database error answering {method} {path}", failure,
                             method=call.route.method, path=call.route.path)
            return self._error(call.request, ApiError(503, "Database unavailable"))
        self.log.failure("Unexpected error answering {method} {path}", failure,
                         method=call.route.method, path=call.route.path)
        return self._error(call.request, ApiError(500, "Internal server error"))

    def _refusalDelayed(self, body: bytes) -> Any:
        """
        Hold a 429 answer for C{limits.refusal_delay} seconds, so that a
        client ignoring C{Retry-After} gets at most one answer per
        connection and delay (the connections per address are capped)
        instead of making the server answer refusals as fast as it sends.
        """
        delay = self.hub.settings.get("limits.refusal_delay") or 0.0
        if delay <= 0:
            return body
        from twisted.internet import task

        return task.deferLater(self.hub.clock, delay, lambda: body)

    def _lastResort(self, failure: Failure, call: Call) -> bytes:
        self.log.failure("Answering {method} {path} with an error failed", failure,
                         method=call.route.method, path=call.route.path)
        call.request.setResponseCode(500)
        return b"Internal server error"

    @staticmethod
    def _error(request: Request, error: ApiError) -> bytes:
        _setHeaders(request, error.headers)
        body = _plain(request, error.code, error.message)
        request.setHeader(b"content-length", str(len(body)).encode("ascii"))
        return body

    # -- authentication

    @defer.inlineCallbacks
    def authenticate(self, request: Request, access: Access) -> Any:
        """
        The caller's L{Player} (or L{None} when anonymous is allowed).

        @raise ApiError: 401 for a missing, malformed, forged, expired or
            revoked token or a deleted account; 403 for a role below the
            route's.
        """
        from pocketrelay.server.security import (
            ExpiredToken,
            RevokedToken,
            TokenError,
            playerForToken,
        )
        from pocketrelay.server.store import PlayerRole

        if access is Access.PUBLIC:
            return None
        raw = request.getHeader(b"x-token")
        if access is Access.GAMES and self.hub.settings["api.public_games"] and raw is None:
            return None
        if raw is None or not raw.strip():
            raise ApiError(401, "Missing X-Token header: log in first")
        token = raw.strip().decode("ascii", "replace")
        try:
            player = yield playerForToken(self.hub.signer, self.hub.store, token)
        except ExpiredToken:
            raise ApiError(401, "Token expired: log in again")
        except RevokedToken:
            raise ApiError(401, "Token revoked (password change or log out "
                                "everywhere): log in again")
        except TokenError:
            raise ApiError(401, "Invalid token: log in again")
        if player is None:
            raise ApiError(401, "The account of this token no longer exists")
        needed = {
            Access.ADMIN: PlayerRole.ADMIN,
            Access.SUPER_ADMIN: PlayerRole.SUPER_ADMIN,
        }.get(access, PlayerRole.DEFAULT)
        if player.role < needed:
            raise ApiError(403, "Insufficient permission")
        return player


def _typeName(kind: type) -> str:
    return {str: "a string", int: "an integer", bool: "true or false",
            list: "a list"}.get(kind, kind.__name__)


def clientAddress(call: Call) -> str:
    """
    The caller's address: the peer, or the address a trusted reverse proxy
    forwarded (see L{pocketrelay.addresses.clientHost}).
    """
    settings = call.hub.settings
    return clientHost(call.request, settings["reverse_proxy"], settings["trusted_proxies"])


def rateLimit(call: Call, *checks: tuple[str, object]) -> None:
    """
    Take a token from each named rate limit for its key (see
    L{pocketrelay.server.limits.ServerLimits.check}).

    @raise ApiError: 429 with C{Retry-After} when one has none left.
    """
    from pocketrelay.server.limits import retryAfterHeader

    limits = getattr(call.hub, "limits", None)
    if limits is None:
        return
    wait = limits.check(*checks)
    if wait is not None:
        header = retryAfterHeader(wait)
        raise ApiError(429, f"Too many requests; try again in {header[1].decode()} seconds",
                       [header])


def parseQuery(request: Request, params: Sequence[QueryParam]) -> dict[str, Any]:
    """
    The declared query parameters of C{request}, converted; undeclared ones
    are ignored.

    @raise ApiError: 400 naming the parameter when one is malformed or out
        of range.
    """
    args = request.args or {}
    values: dict[str, Any] = {}
    for param in params:
        raw = args.get(param.name.encode("ascii"))
        if not raw or not raw[0].strip():
            # Absent or blank (?count=): the default.
            values[param.name] = param.default
            continue
        try:
            text = raw[0].decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, f"Query parameter {param.name} is not valid UTF-8")
        if param.kind is int:
            text = text.strip()
            if not re.fullmatch(r"-?[0-9]{1,18}", text):
                raise ApiError(400, f"Query parameter {param.name} must be an integer")
            number = int(text)
            if param.minimum is not None and number < param.minimum:
                raise ApiError(400, f"Query parameter {param.name} must be at least {param.minimum}")
            if param.maximum is not None and number > param.maximum:
                raise ApiError(400, f"Query parameter {param.name} must be at most {param.maximum}")
            values[param.name] = number
        else:
            if param.maxLength is not None and len(text) > param.maxLength:
                raise ApiError(
                    400, f"Query parameter {param.name} is longer than {param.maxLength} characters"
                )
            values[param.name] = text
    return values


def requireJson(request: Request) -> None:
    """
    Refuse a request body that is not declared as JSON.  A web page of
    another site can send a cross-origin C{POST} with C{text/plain} (or a
    form type) without a preflight; C{application/json} needs one, which
    a browser makes before sending anything.

    @raise ApiError: 415 unless the C{Content-Type} is
        C{application/json} (parameters such as C{charset} allowed).
    """
    raw = request.getHeader(b"content-type")
    mediaType = (raw or b"").split(b";", 1)[0].strip().lower()
    if mediaType != b"application/json":
        raise ApiError(415, "The request body must be sent as Content-Type: "
                            "application/json")


def parseBody(request: Request, fields: Sequence[Field]) -> dict[str, Any]:
    """
    The declared fields of C{request}'s JSON object body; undeclared keys
    are ignored.

    @raise ApiError: 415 for a body not sent as C{application/json} (see
        L{requireJson}); 400 with a message naming the problem: no body, not
        UTF-8, not JSON, not an object, a missing field, a value of the wrong
        type, too long or not one of the allowed values.
    """
    content = request.content
    if content is not None:
        # twisted.web has read a form body already to parse it.
        content.seek(0)
    raw = content.read() if content is not None else b""
    if not raw.strip():
        raise ApiError(400, "Missing JSON request body")
    requireJson(request)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "Request body is not valid UTF-8")
    try:
        document = json.loads(text, parse_constant=_refuseUnsafe)
    except RecursionError:
        raise ApiError(400, "Request body is nested too deeply")
    except ValueError as e:
        raise ApiError(400, f"Request body is not valid JSON: {e}")
    if not isinstance(document, dict):
        raise ApiError(400, "Request body must be a JSON object")
    values: dict[str, Any] = {}
    for field in fields:
        if field.name not in document or document[field.name] is None:
            if field.required:
                raise ApiError(400, f"Missing field {field.name!r}")
            continue
        value = document[field.name]
        if not isinstance(value, field.kind) or (field.kind is int and isinstance(value, bool)):
            raise ApiError(400, f"Field {field.name!r} must be {_typeName(field.kind)}")
        if isinstance(value, str):
            if field.maxLength is not None and len(value) > field.maxLength:
                raise ApiError(
                    400, f"Field {field.name!r} is longer than {field.maxLength} characters"
                )
            if "\x00" in value:
                raise ApiError(400, f"Field {field.name!r} contains a NUL character")
        if field.enum is not None and value not in field.enum:
            raise ApiError(
                400, f"Field {field.name!r} must be one of {', '.join(field.enum)}"
            )
        values[field.name] = value
    return values


class _DispatchResource(Resource):
    """
    A leaf that hands every request to the dispatcher.
    """

    isLeaf = True

    def __init__(self, dispatcher: ApiDispatcher) -> None:
        super().__init__()
        self.dispatcher = dispatcher

    def render(self, request: Request) -> bytes | int:
        return self.dispatcher.render(request)


class ApiResource(Resource):
    """
    The C{/api} resource.  Children put on it (C{/api/server} and its
    children) answer their own paths; every other path goes to the
    L{ApiDispatcher}.  Every response below C{/api} gets the CORS headers,
    and every C{OPTIONS} request below it is a preflight answered C{204}.

    @ivar dispatcher: the L{ApiDispatcher}.
    @ivar leaf: the resource to mount where a route lives below another
        resource (e.g. C{/api/server/log}).
    """

    def __init__(self, dispatcher: ApiDispatcher) -> None:
        super().__init__()
        self.dispatcher = dispatcher
        self.leaf = _DispatchResource(dispatcher)
        self._preflight = _PreflightResource()

    def getChildWithDefault(self, path: bytes, request: Request) -> IResource:
        setCorsHeaders(request)
        if request.method == b"OPTIONS":
            return self._preflight
        if path in self.children:
            return self.children[path]
        # The dispatcher routes on the whole URL path.
        return self.leaf

    def render(self, request: Request) -> bytes | int:
        if request.method == b"OPTIONS":
            return self._preflight.render(request)
        return self.dispatcher.render(request)
