# -*- test-case-name: tests.test_components -*-
"""
The registry that maps Blaze (component, command) pairs to handlers.

Each module in L{pocketrelay.server.components} declares its handlers with
L{command}::

    @command(Component.UTIL, UtilCommand.PING, auth=False)
    def ping(session: Session, request: None) -> PingResponse:
        ...

A handler receives the L{Session} and the decoded request (an instance of
the declared request class, or L{None} when none is declared) and returns
the reply body: a declared TDF struct, C{bytes}, L{None} for an empty
body, or a L{Deferred} of one of those.  Raising
L{pocketrelay.blaze.protocol.BlazeError} answers with an error reply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["REGISTRY", "CommandSpec", "Registry", "command"]

Handler = Callable[[Any, Any], Any]


@attrs.frozen
class CommandSpec:
    """
    One routed command.

    @ivar request: the TDF struct class of the request body, or L{None}.
    @ivar auth: whether the session must be logged in.
    @ivar preAuth: whether the command may come before Util.preAuth.
    """

    component: int
    command: int
    handler: Handler
    request: type | None
    auth: bool
    preAuth: bool


@attrs.define
class Registry:
    """
    The table of routed commands.
    """

    commands: dict[tuple[int, int], CommandSpec] = attrs.field(factory=dict)

    def add(self, spec: CommandSpec) -> None:
        key = (spec.component, spec.command)
        if key in self.commands:
            raise ValueError(f"command {key} is routed twice")
        self.commands[key] = spec

    def lookup(self, component: int, commandId: int) -> CommandSpec | None:
        return self.commands.get((component, commandId))


#: The registry every component module adds to.
REGISTRY = Registry()


def command(
    component: int,
    commandId: int,
    request: type | None = None,
    *,
    auth: bool = True,
    preAuth: bool = False,
    registry: Registry = REGISTRY,
) -> Callable[[Handler], Handler]:
    """
    Route C{component}/C{commandId} to the decorated handler.
    """

    def decorate(handler: Handler) -> Handler:
        registry.add(
            CommandSpec(int(component), int(commandId), handler, request, auth, preAuth)
        )
        return handler

    return decorate
