# -*- test-case-name: tests.test_protocol -*-
"""
Hand-written fakes for tests.

L{RecordingDispatcher} is an L{IBlazeDispatcher} that records everything a
L{BlazeProtocol} hands it and answers requests with a handler function or
with L{Deferred}s the test fires when it chooses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
from twisted.internet import defer
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request
from zope.interface import implementer

from pocketrelay.blaze.frames import Frame
from pocketrelay.blaze.protocol import BlazeProtocol, IBlazeDispatcher

__all__ = ["RecordingDispatcher"]


@implementer(IBlazeDispatcher)
@attrs.define(eq=False)
class RecordingDispatcher:
    """
    An L{IBlazeDispatcher} that records what it is given.

    Requests are answered by their entry in C{routes} when there is one,
    else by C{handler} when one is set; otherwise, when C{deferring} is
    true, by a new unfired L{Deferred} kept in C{waiting} (in arrival
    order); otherwise with an empty body.

    @ivar handler: called with each request L{Frame}; its result (or
        exception) is the dispatcher's answer.
    @ivar deferring: answer with unfired L{Deferred}s when no handler is set.
    @ivar protocol: the protocol given to L{connectionMade}.
    @ivar requests: the requests received, in order.
    @ivar waiting: the L{Deferred}s handed out, paired with their request.
    @ivar notifications: the notifications received, in order.
    @ivar lost: the reasons given to L{connectionLost}.
    @ivar routes: C{(component, command)} to a callable that takes the
        request L{Frame} and answers it like C{handler}.
    """

    handler: Callable[[Frame], Any] | None = None
    deferring: bool = False
    protocol: BlazeProtocol | None = None
    requests: list[Frame] = attrs.Factory(list)
    waiting: list[tuple[Frame, defer.Deferred[Any]]] = attrs.Factory(list)
    notifications: list[Frame] = attrs.Factory(list)
    lost: list[Failure] = attrs.Factory(list)
    routes: dict[tuple[int, int], Callable[[Frame], Any]] = attrs.Factory(dict)

    def connectionMade(self, protocol: BlazeProtocol) -> None:
        self.protocol = protocol

    def requestReceived(self, request: Frame) -> Any:
        self.requests.append(request)
        route = self.routes.get((request.component, request.command))
        if route is not None:
            return route(request)
        if self.handler is not None:
            return self.handler(request)
        if self.deferring:
            d: defer.Deferred[Any] = defer.Deferred()
            self.waiting.append((request, d))
            return d
        return None

    def notificationReceived(self, notification: Frame) -> None:
        self.notifications.append(notification)

    def connectionLost(self, reason: Failure) -> None:
        self.lost.append(reason)

    def fireNext(self, result: Any = None) -> None:
        """
        Fire the oldest unfired L{Deferred} in C{waiting} with C{result}.
        """
        for _, d in self.waiting:
            if not d.called:
                d.callback(result)
                return
        raise AssertionError("no request is waiting")


class FakeServerResource(Resource):
    """
    Answers C{GET .../api/server} with C{answer} (a JSON-able value, or
    bytes as they are) and C{code}; C{hang} leaves requests unanswered.
    """

    isLeaf = True

    def __init__(self, answer: Any = None, code: int = 200, hang: bool = False) -> None:
        super().__init__()
        if answer is None:
            answer = {
                "ident": "POCKET_RELAY_SERVER",
                "version": "0.9.0",
                "association": "token.signature",
                "tunnel_port": 9032,
                "client_address": "203.0.113.7",
            }
        self.answer = answer
        self.code = code
        self.hang = hang
        self.requests: list[Request] = []

    def render_GET(self, request: Request) -> bytes | int:
        self.requests.append(request)
        if self.hang:
            return NOT_DONE_YET
        request.setResponseCode(self.code)
        if isinstance(self.answer, bytes):
            return self.answer
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(self.answer).encode()


class FakeTelemetry(Resource):
    """
    C{POST /api/server/telemetry}: keeps each body (with its content
    type); C{arrived} fires with the first.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[Any] = []
        self.arrived: defer.Deferred[None] = defer.Deferred()

    def render_POST(self, request: Request) -> bytes:
        assert request.content is not None
        self.bodies.append((request.getHeader(b"content-type"), json.loads(request.content.read())))
        if not self.arrived.called:
            self.arrived.callback(None)
        return b"{}"


class FakeRoutes(Resource):
    """
    C{/api/server} and C{/api/server/telemetry}; 404 elsewhere.
    """

    isLeaf = True

    def __init__(self, info: Resource, telemetry: Resource) -> None:
        super().__init__()
        self.info = info
        self.telemetry = telemetry

    def render(self, request: Request) -> Any:
        if request.path == b"/api/server":
            return self.info.render(request)
        if request.path == b"/api/server/telemetry":
            return self.telemetry.render(request)
        request.setResponseCode(404)
        return b"not found"
