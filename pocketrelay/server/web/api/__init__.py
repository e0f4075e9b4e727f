# -*- test-case-name: tests.test_web_api -*-
"""
The JSON API below C{/api}, compatible with the Pocket Relay dashboard
(see C{docs/api.md}).

L{buildApi} makes the C{/api} resource; C{site.buildRoot} puts the
server's own children (C{/api/server}...) on it.  L{ensureSuperAdmin} is
run by the tap once the store is open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pocketrelay.server.web.api.accounts import LoginCodes, ensureSuperAdmin
from pocketrelay.server.web.api.router import (
    MAX_REQUEST_BODY,
    ApiDispatcher,
    ApiResource,
    BoundedRequest,
)
from pocketrelay.server.web.api.routes import ROUTES, gameSnapshots
from pocketrelay.server.web.api.telemetry import TelemetryWindow

if TYPE_CHECKING:
    from pocketrelay.server.hub import Hub
    from pocketrelay.server.web.logbuffer import LogBuffer

__all__ = [
    "MAX_REQUEST_BODY",
    "ROUTES",
    "ApiDispatcher",
    "ApiResource",
    "BoundedRequest",
    "LoginCodes",
    "buildApi",
    "ensureSuperAdmin",
    "gameSnapshots",
]


def buildApi(hub: Hub, logBuffer: LogBuffer | None = None) -> ApiResource:
    """
    The C{/api} resource serving L{ROUTES}.

    @param logBuffer: the recent log served at C{/api/server/log}; without
        one that route answers an empty log.
    """
    dispatcher = ApiDispatcher(hub, ROUTES, loginCodes=LoginCodes(hub.clock),
                               logBuffer=logBuffer, telemetry=TelemetryWindow())
    return ApiResource(dispatcher)
