# -*- test-case-name: tests.test_web_api -*-
"""
The OpenAPI 3.1 document served at C{/api/openapi.json}, built from the
API's route table (L{pocketrelay.server.web.api.routes.ROUTES}) so that it
cannot drift from what the router dispatches, plus L{OTHER_ROUTES}: the
routes other resources serve (the server information and Blaze upgrade
in C{site.py}, Galaxy at War, QoS and static content), which the tests
request through the real site.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs

from pocketrelay.server.web.api.router import (
    PATH_PARAMETERS,
    Access,
    Field,
    QueryParam,
    Route,
)

__all__ = ["OTHER_ROUTES", "SCHEMAS", "OtherRoute", "buildDocument", "cachedDocument"]

_ROLE = {"type": "string", "enum": ["Default", "Admin", "SuperAdmin"]}
_TIME = {"type": ["string", "null"], "format": "date-time",
         "description": "ISO 8601 UTC time, or null."}
_ID = {"type": "integer", "format": "int64"}
_PLAYER: Final[Mapping[str, Any]] = {
    "id": _ID,
    "email": {"type": "string"},
    "display_name": {"type": "string"},
    "role": _ROLE,
    "last_login_at": _TIME,
}

#: The component schemas the routes' C{response} names refer to.
SCHEMAS: Final[Mapping[str, Any]] = {
    "Empty": {"type": "object", "description": "An empty object, {}."},
    "Token": {
        "type": "object",
        "required": ["token"],
        "properties": {"token": {"type": "string",
                                 "description": "Send it as the X-Token header."}},
    },
    "Player": {
        "type": "object",
        "required": list(_PLAYER),
        "properties": _PLAYER,
    },
    "PlayerWithToken": {
        "type": "object",
        "required": [*_PLAYER, "token"],
        "properties": {
            **_PLAYER,
            "token": {"type": "string",
                      "description": "A new token: the earlier ones are revoked."},
        },
    },
    "PlayerList": {
        "type": "object",
        "required": ["players", "more", "total_pages", "total_items"],
        "properties": {
            "players": {"type": "array", "items": {"$ref": "#/components/schemas/Player"}},
            "more": {"type": "boolean"},
            "total_pages": {"type": "integer"},
            "total_items": {"type": "integer"},
        },
    },
    "PlayerData": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "Every data key of the player to its value.",
    },
    "PlayerDataValue": {
        "type": "object",
        "required": ["key", "value"],
        "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
    },
    "GalaxyAtWar": {
        "type": "object",
        "required": ["last_modified", "group_a", "group_b", "group_c", "group_d", "group_e"],
        "properties": {
            "last_modified": _TIME,
            **{f"group_{g}": {"type": "integer", "minimum": 0, "maximum": 65535}
               for g in "abcde"},
        },
    },
    "GamePlayer": {
        "type": "object",
        "required": ["player_id", "display_name"],
        "properties": {
            "player_id": _ID,
            "display_name": {"type": "string"},
            "net": {"type": "object", "description": "Admin viewers only: "
                    "groups.internal/external.{address, port} and qos.natt."},
        },
    },
    "Game": {
        "type": "object",
        "required": ["id", "state", "setting", "attributes", "players",
                     "total_players", "created_at"],
        "properties": {
            "id": _ID,
            "state": {"type": "integer"},
            "setting": {"type": "integer"},
            "attributes": {"type": "object", "additionalProperties": {"type": "string"}},
            "players": {"type": ["array", "null"],
                        "items": {"$ref": "#/components/schemas/GamePlayer"}},
            "total_players": {"type": "integer"},
            "created_at": _TIME,
        },
    },
    "GameList": {
        "type": "object",
        "required": ["games", "more", "total_items"],
        "properties": {
            "games": {"type": "array", "items": {"$ref": "#/components/schemas/Game"}},
            "more": {"type": "boolean"},
            "total_items": {"type": "integer"},
        },
    },
    "GameReport": {
        "type": "object",
        "required": ["id", "data", "created_at", "finished_at"],
        "properties": {
            "id": _ID,
            "data": {"type": "object", "description": "{attributes, players, seed, "
                     "extracted} as recorded when the match finished."},
            "created_at": _TIME,
            "finished_at": _TIME,
        },
    },
    "GameReportList": {
        "type": "object",
        "required": ["reports", "more", "total_items"],
        "properties": {
            "reports": {"type": "array",
                        "items": {"$ref": "#/components/schemas/GameReport"}},
            "more": {"type": "boolean"},
            "total_items": {"type": "integer"},
        },
    },
    "LeaderboardEntry": {
        "type": "object",
        "required": ["player_id", "player_name", "value", "rank"],
        "properties": {
            "player_id": _ID,
            "player_name": {"type": "string"},
            "value": {"type": "integer"},
            "rank": {"type": "integer", "minimum": 1,
                     "description": "Global rank: by value descending, then player id."},
        },
    },
    "Leaderboard": {
        "type": "object",
        "required": ["total", "entries", "more"],
        "properties": {
            "total": {"type": "integer"},
            "entries": {"type": "array",
                        "items": {"$ref": "#/components/schemas/LeaderboardEntry"}},
            "more": {"type": "boolean"},
        },
    },
    "ServerInfo": {
        "type": "object",
        "required": ["ident", "version", "association", "tunnel_port"],
        "properties": {
            "ident": {"type": "string", "const": "POCKET_RELAY_SERVER"},
            "version": {"type": "string"},
            "association": {"type": "string"},
            "tunnel_port": {"type": ["integer", "null"]},
            "client_address": {"type": "string"},
        },
    },
    "DashboardInfo": {
        "type": "object",
        "required": ["disable_registration"],
        "properties": {"disable_registration": {"type": "boolean"}},
    },
    "OpenApi": {"type": "object", "description": "An OpenAPI 3.1 document."},
    "TelemetryRecord": {
        "type": "object",
        "required": ["received_at", "address", "values"],
        "properties": {
            "received_at": {"type": "string", "format": "date-time"},
            "address": {"type": "string", "description": "The client address."},
            "values": {
                "type": "array",
                "items": {"type": "array", "minItems": 2, "maxItems": 2,
                          "items": {"type": "string"}},
            },
        },
    },
    "TelemetryRecords": {
        "type": "object",
        "required": ["records", "kept", "total_received"],
        "properties": {
            "records": {"type": "array",
                        "items": {"$ref": "#/components/schemas/TelemetryRecord"}},
            "kept": {"type": "integer", "description": "Records in memory."},
            "total_received": {"type": "integer",
                               "description": "Records received since start."},
        },
    },
}

_ERRORS: Final = {
    400: "Bad request: malformed JSON, wrong field type, bad parameter.",
    401: "Missing, invalid or expired X-Token, or wrong credentials.",
    403: "Insufficient role or no permission over the player.",
    404: "Not found.",
    405: "Method not allowed.",
    409: "Email address already in use.",
    413: "Request body too large.",
    429: "Too many requests.",
    503: "Service unavailable (database).",
}


@attrs.frozen
class OtherRoute:
    """
    A route served by another resource than the API router.

    @ivar contentType: the media type of the success answer.
    @ivar schema: the component schema of a JSON answer, if any.
    @ivar status: the success status.
    @ivar query: documented query parameters.
    """

    method: str
    path: str
    summary: str
    contentType: str
    schema: str | None = None
    status: int = 200
    description: str = ""
    query: tuple[QueryParam, ...] = ()


#: Routes served outside the API router (full paths).
OTHER_ROUTES: Final[tuple[OtherRoute, ...]] = (
    OtherRoute("GET", "/api/server", "Identify the server (Pocket Relay clients)",
               "application/json", "ServerInfo"),
    OtherRoute("GET", "/api/server/dashboard", "Dashboard settings needed before login",
               "application/json", "DashboardInfo"),
    OtherRoute("GET", "/api/server/upgrade", "Blaze connection (HTTP Upgrade: blaze)",
               "application/octet-stream", status=101,
               description="Connection: Upgrade and Upgrade: blaze; optional "
                           "x-association. 426 when not an upgrade request."),
    OtherRoute("GET", "/authentication/sharedTokenLogin",
               "Galaxy at War login (ME3, through the client's HTTP proxy)",
               "text/xml", query=(QueryParam("auth", str, description="Token from "
                                             "Authentication.getAuthToken."),)),
    OtherRoute("GET", "/galaxyatwar/getRatings/{token}", "Galaxy at War ratings",
               "text/xml"),
    OtherRoute("GET", "/galaxyatwar/increaseRatings/{token}",
               "Increase Galaxy at War ratings", "text/xml",
               query=tuple(QueryParam(f"rinc|{i}", int, 0, 0, 65535) for i in range(5))),
    OtherRoute("GET", "/qos/qos", "QoS probe parameters", "text/xml",
               query=(QueryParam("prpt", int), QueryParam("vers", int),
                      QueryParam("qtyp", int, description="1: address probe; 2: "
                                 "bandwidth. qtype is accepted too."))),
    OtherRoute("GET", "/qos/firewall", "QoS firewall probe parameters", "text/xml"),
    OtherRoute("GET", "/qos/firetype", "QoS firewall type", "text/xml"),
    OtherRoute("GET", "/content/{path}", "Static files from public/ in the data directory",
               "application/octet-stream",
               description="Any path not served otherwise is looked up in public/; "
                           "DDS textures are image/vnd-ms.dds."),
)


def _fieldSchema(field: Field) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": {str: "string", int: "integer", bool: "boolean",
                                       list: "array"}[field.kind]}
    if field.maxLength is not None:
        schema["maxLength"] = field.maxLength
    if field.enum is not None:
        schema["enum"] = list(field.enum)
    if field.description:
        schema["description"] = field.description
    return schema


def _queryParameter(param: QueryParam) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer" if param.kind is int else "string"}
    if param.default is not None:
        schema["default"] = param.default
    if param.minimum is not None:
        schema["minimum"] = param.minimum
    if param.maximum is not None:
        schema["maximum"] = param.maximum
    if param.maxLength is not None:
        schema["maxLength"] = param.maxLength
    parameter: dict[str, Any] = {"name": param.name, "in": "query", "required": False,
                                 "schema": schema}
    if param.description:
        parameter["description"] = param.description
    return parameter


def _pathParameters(names: Sequence[str]) -> list[dict[str, Any]]:
    result = []
    for name in names:
        parameter = PATH_PARAMETERS.get(name)
        schema = dict(parameter.schema) if parameter is not None else {"type": "string"}
        entry: dict[str, Any] = {"name": name, "in": "path", "required": True,
                                 "schema": schema}
        if parameter is not None and parameter.description:
            entry["description"] = parameter.description
        result.append(entry)
    return result


def _errorResponse(code: int) -> dict[str, Any]:
    return {
        "description": _ERRORS.get(code, "Error."),
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }


def _operation(route: Route) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.handler.__name__,
        "summary": route.summary,
        "tags": [route.path.split("/")[1]],
    }
    if route.description:
        operation["description"] = route.description
    parameters = _pathParameters(route.placeholders)
    parameters += [_queryParameter(q) for q in route.query]
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {
                "type": "object",
                "required": [f.name for f in route.body if f.required],
                "properties": {f.name: _fieldSchema(f) for f in route.body},
            }}},
        }
    if route.response == "text":
        success = {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}
    else:
        success = {"description": "OK", "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{route.response}"}}}}
    codes = set(route.errors)
    if route.body is not None or route.query or route.placeholders:
        codes.add(400)
    if route.body is not None:
        codes.update((400, 413))
    if route.access is not Access.PUBLIC:
        codes.add(401)
        operation["security"] = [{"token": []}]
        if route.access is Access.GAMES:
            operation["security"].append({})
    if route.access in (Access.ADMIN, Access.SUPER_ADMIN) or "permission" in route.description:
        codes.add(403)
    responses: dict[str, Any] = {"200": success}
    for code in sorted(codes):
        responses[str(code)] = _errorResponse(code)
    operation["responses"] = responses
    return operation


def _otherOperation(route: OtherRoute) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": route.summary, "tags": ["other"]}
    if route.description:
        operation["description"] = route.description
    names = [part[1:-1] for part in route.path.split("/") if part.startswith("{")]
    parameters = _pathParameters(names) + [_queryParameter(q) for q in route.query]
    if parameters:
        operation["parameters"] = parameters
    content: dict[str, Any] = {"schema": {"type": "string"}}
    if route.schema is not None:
        content = {"schema": {"$ref": f"#/components/schemas/{route.schema}"}}
    operation["responses"] = {str(route.status): {
        "description": "OK", "content": {route.contentType: content}}}
    return operation


def buildDocument(routes: Sequence[Route], version: str) -> dict[str, Any]:
    """
    The OpenAPI 3.1 document for C{routes} (paths below C{/api}) and
    L{OTHER_ROUTES}.
    """
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault("/api" + route.path, {})[route.method.lower()] = _operation(route)
    for other in OTHER_ROUTES:
        paths.setdefault(other.path, {})[other.method.lower()] = _otherOperation(other)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pocketrelay server API",
            "version": version,
            "description": "The JSON API of a Pocket Relay compatible Mass Effect 3 "
                           "server, compatible with the Pocket Relay dashboard. Errors "
                           "are short plain-text bodies. See docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"token": {"type": "apiKey", "in": "header",
                                          "name": "X-Token"}},
            "schemas": copy.deepcopy(dict(SCHEMAS)),
        },
        "paths": paths,
    }


@functools.lru_cache(maxsize=4)
def cachedDocument(routes: tuple[Route, ...], version: str) -> dict[str, Any]:
    """
    L{buildDocument}, built once per route table and version.  Do not
    change the result.
    """
    return buildDocument(routes, version)
