# -*- test-case-name: tests.test_protocol -*-
"""
L{BlazeProtocol}: Fire frames over a stream transport, with a pluggable
dispatcher.

The protocol owns framing, ordering, timeouts and back-pressure; what a
request means is decided by an L{IBlazeDispatcher}.  The same protocol
serves the server side (requests in, replies and notifications out) and
the client side (L{BlazeProtocol.sendRequest} returns a L{Deferred} that
fires with the reply).

Guarantees:
  - requests are handled one at a time, in arrival order, even when a
    handler returns a L{Deferred};
  - every request gets exactly one reply that echoes its component,
    command and message number;
  - the reply is written before any notification sent while handling it;
  - a malformed frame closes this connection with one log line;
  - with a L{IRequestGate}, requests (and Fire2 pings) are handled no
    faster than it admits them: while it says wait, the protocol handles
    nothing and, once L{BlazeProtocol.maxQueued} requests wait, stops
    reading, so a flooding peer costs neither CPU nor memory beyond that;
    and at most L{BlazeProtocol.maxQueued} requests are handled in one go
    before the reactor serves other connections (the rest follow in the
    next reactor turn).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.internet import defer
from twisted.internet.error import ConnectionLost
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure
from zope.interface import Interface, implementer

from pocketrelay.blaze import tdf
from pocketrelay.blaze.frames import (
    DEFAULT_MAX_FRAME_SIZE,
    Frame,
    FrameDecoder,
    FrameError,
    MessageType,
)
from pocketrelay.blaze.ids import GlobalError, commandName, errorName

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime

__all__ = [
    "BlazeError",
    "BlazeProtocol",
    "IBlazeDispatcher",
    "IInputBudget",
    "IRequestGate",
    "encodeBody",
]

_MAX_SEQ = (1 << 20) - 1


class BlazeError(Exception):
    """
    Raised by a handler to answer with an error reply.

    Raised by L{BlazeProtocol.sendRequest}'s L{Deferred} when the peer
    answered with an error reply.

    @ivar code: the 16-bit wire error code.
    @ivar body: the error reply's body: bytes or a L{tdf.tdfStruct} value.
    @ivar frame: the error reply received (client side), else L{None}.
    """

    def __init__(
        self, code: int, body: Any = b"", frame: Frame | None = None
    ) -> None:
        self.code = int(code)
        self.body = body
        self.frame = frame
        super().__init__(f"Blaze error 0x{self.code:04x}")


class IBlazeDispatcher(Interface):
    """
    What a L{BlazeProtocol} hands its messages to.
    """

    def connectionMade(protocol: BlazeProtocol) -> None:
        """
        The connection is up; C{protocol} can send notifications.
        """

    def requestReceived(request: Frame) -> Any:
        """
        Handle a request.

        @return: the reply body (C{bytes}, a L{tdf.tdfStruct} value, or
            L{None} for an empty body) or a L{Deferred} firing with one.
            Raise (or fail with) L{BlazeError} for an error reply.
        """

    def notificationReceived(notification: Frame) -> None:
        """
        A notification arrived (client side).
        """

    def connectionLost(reason: Failure) -> None:
        """
        The connection is gone.
        """


class IInputBudget(Interface):
    """
    A bound on the bytes held by incomplete frames, shared by several
    L{BlazeProtocol}s (see C{BlazeProtocol.inputBudget}).
    """

    def hold(owner: object, size: int, peer: str) -> bool:
        """
        C{owner} now holds C{size} bytes of an incomplete frame (0: none).

        @param peer: who C{owner} is, for the log line of a refusal.
        @return: whether that fits the budget; when it does not, C{owner}
            is counted as holding nothing and must drop its connection.
        """

    def release(owner: object) -> None:
        """
        C{owner} holds nothing any more (closed, or no longer counted).
        """


class IRequestGate(Interface):
    """
    Decides when a L{BlazeProtocol} may handle its next request (see
    C{BlazeProtocol.requestGate}): a rate limit.
    """

    def admit() -> float:
        """
        Ask to handle one request now.

        @return: 0 when it may (and it is counted), else the seconds to
            wait before asking again.
        """


def encodeBody(value: Any) -> bytes:
    """
    Turn a handler's result into body bytes.
    """
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return tdf.encode(value)


@implementer(IPushProducer)
class BlazeProtocol(Protocol, TimeoutMixin):
    """
    Fire frames over a stream, dispatched serially.

    @ivar dispatcher: the L{IBlazeDispatcher}.
    @ivar idleTimeout: seconds without any received byte after which the
        connection is dropped (the keep-alive), or L{None}.
    @ivar maxFrameSize: the largest frame body accepted.
    @ivar maxQueued: how many received requests may wait before reading
        from the transport is paused.
    @ivar requestObserver: L{None}, or a callable run as
        C{requestObserver(reply, seconds, errorCode)} each time the reply to
        a request is written: the reply L{Frame} (same component, command
        and number as the request), the seconds since the request was
        taken from the queue, and the error code (0 for a normal reply).
        It must be cheap (it runs for every request) and should not
        raise; an exception is logged and ignored.
    @ivar timer: the monotonic clock in seconds that L{requestObserver}'s
        durations are measured with.
    @ivar maxPausedOutput: how many bytes of notifications may be written
        while the transport has paused this protocol (its buffer is full:
        the peer is not reading) before the connection is dropped.
    @ivar frameTimeout: seconds a frame may take to arrive once its first
        byte came (the idle timeout restarts on every byte, so a peer
        trickling a large frame would otherwise hold its buffer for good);
        L{None} for no deadline.
    @ivar inputBudget: L{None}, or the L{IInputBudget} the bytes of an
        incomplete frame are counted against; when it refuses, the
        connection is dropped.  Change it with L{setInputBudget}.
    @ivar requestGate: L{None}, or the L{IRequestGate} asked before each
        request (or Fire2 ping) is handled; with one, at most L{maxQueued}
        requests are handled per reactor turn.
    """

    log = Logger()
    timer: Callable[[], float] = staticmethod(time.perf_counter)

    def __init__(
        self,
        dispatcher: IBlazeDispatcher,
        clock: IReactorTime | None = None,
        idleTimeout: float | None = None,
        maxFrameSize: int = DEFAULT_MAX_FRAME_SIZE,
        maxQueued: int = 32,
        maxPausedOutput: int = 4 * 1024 * 1024,
        frameTimeout: float | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self.callLater = clock.callLater  # type: ignore[method-assign,assignment,union-attr]
        self.idleTimeout = idleTimeout
        self.maxFrameSize = maxFrameSize
        self.maxQueued = maxQueued
        self.maxPausedOutput = maxPausedOutput
        self.frameTimeout = frameTimeout
        self.inputBudget: IInputBudget | None = None
        self.requestGate: IRequestGate | None = None
        self._frameCall: Any = None
        self._gateCall: Any = None
        # Notification bytes written since the transport paused us.
        self._pausedOutput = 0
        self._overflowed = False
        self._decoder = FrameDecoder(maxFrameSize)
        self._queue: deque[Frame] = deque()
        self._busy = False
        self._dispatching = False
        # Notifications sent while a request is handled, already encoded
        # so that an unencodable one fails its sender, not the reply.
        self._held: list[bytes] = []
        self._pending: dict[int, tuple[defer.Deferred[Frame], int, int]] = {}
        self._nextSeq = 0
        self._writePaused = False
        self._readPaused = False
        self._closed = False
        self._inputRefused = False
        self.peer = "?"
        self.requestObserver: Callable[[Frame, float, int], None] | None = None
        self._requestStarted = 0.0

    # -- connection lifecycle

    def connectionMade(self) -> None:
        try:
            address = self.transport.getPeer()  # type: ignore[union-attr]
            self.peer = f"{getattr(address, 'host', address)}:{getattr(address, 'port', '')}"
        except Exception:
            self.peer = "?"
        self.transport.registerProducer(self, True)  # type: ignore[union-attr]
        self.setTimeout(self.idleTimeout)
        self.dispatcher.connectionMade(self)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._closed:
            return
        self._closed = True
        self.setTimeout(None)
        self._cancelFrameDeadline()
        gateCall, self._gateCall = self._gateCall, None
        if gateCall is not None and gateCall.active():
            gateCall.cancel()
        self.setInputBudget(None)
        self._queue.clear()
        self._held = []
        pending, self._pending = self._pending, {}
        for d, _, _ in pending.values():
            d.errback(Failure(ConnectionLost("Blaze connection closed")))
        try:
            self.transport.unregisterProducer()  # type: ignore[union-attr]
        except Exception:
            pass
        self.dispatcher.connectionLost(reason)

    def timeoutConnection(self) -> None:
        self.log.info(
            "Closing Blaze connection from {peer}: nothing received for "
            "{seconds} seconds",
            peer=self.peer,
            seconds=self.idleTimeout,
        )
        self._abort()

    def _abort(self) -> None:
        transport = self.transport
        if transport is None:
            return
        abort = getattr(transport, "abortConnection", None)
        if abort is not None:
            abort()
        else:
            transport.loseConnection()

    # -- receiving

    def _refuseInput(self) -> None:
        """
        Stop reading; answer the requests already received, then close the
        connection once what was written has been sent.
        """
        self._inputRefused = True
        self.setTimeout(None)
        self._cancelFrameDeadline()
        self.setInputBudget(None)
        self._closeIfDrained()

    def _closeIfDrained(self) -> None:
        if self._inputRefused and not self._busy and not self._queue and not self._closed:
            self.close()

    def close(self) -> None:
        """
        Close the connection once what was written has been sent.

        The protocol stops being the transport's producer first: a TLS
        transport does not finish closing while a producer is registered.
        """
        transport = self.transport
        if transport is None or self._closed:
            return
        try:
            transport.unregisterProducer()  # type: ignore[attr-defined]
        except Exception:
            pass
        transport.loseConnection()

    def setInputBudget(self, budget: IInputBudget | None) -> None:
        """
        Count incomplete frames against C{budget} from now on (L{None}: no
        budget); the previous budget forgets this connection.
        """
        old, self.inputBudget = self.inputBudget, budget
        if old is not None and old is not budget:
            old.release(self)

    def _cancelFrameDeadline(self) -> None:
        call, self._frameCall = self._frameCall, None
        if call is not None and call.active():
            call.cancel()

    def _frameTimedOut(self) -> None:
        self._frameCall = None
        if self._closed:
            return
        self.log.info(
            "Closing Blaze connection from {peer}: a frame took longer than {seconds:g} s "
            "to arrive ({size} bytes of it received)",
            peer=self.peer,
            seconds=self.frameTimeout,
            size=self._decoder.buffered,
        )
        self._dropInput()

    def _dropInput(self) -> None:
        """
        Read nothing more, forget the incomplete frame and drop the
        connection.
        """
        self._inputRefused = True
        self.setTimeout(None)
        self._cancelFrameDeadline()
        self.setInputBudget(None)
        self._decoder = FrameDecoder(self.maxFrameSize)
        self._abort()

    def _watchIncomplete(self, completed: bool) -> bool:
        """
        After a read: start the frame deadline when a frame is under way
        (a new one if frames were completed) and count the bytes held
        against the input budget.

        Whole frames left in the decoder (see L{_decode}) are held by
        choice, not a slow peer's doing: no deadline runs for them.

        @return: whether the connection may go on.
        """
        decoder = self._decoder
        held = decoder.buffered
        if not held or decoder.hasFrame():
            self._cancelFrameDeadline()
        elif self.frameTimeout is not None and (completed or self._frameCall is None):
            self._cancelFrameDeadline()
            self._frameCall = self.callLater(self.frameTimeout, self._frameTimedOut)
        budget = self.inputBudget
        if budget is not None and not budget.hold(self, held, self.peer):
            self._dropInput()
            return False
        return True

    def _decode(self, data: bytes) -> bool:
        """
        Add C{data} to the decoder and take out at most as many frames as
        the request queue has room for; the rest stay in the decoder as
        bytes (cheaper than decoded frames: a flooding peer's read of 64
        KiB holds thousands of pings) and reading pauses until the queue
        drains.

        @return: whether the connection may go on.
        """
        room = max(1, self.maxQueued - len(self._queue))
        try:
            frames = self._decoder.feed(data, room)
            if not self._watchIncomplete(bool(frames)):
                return False
        except FrameError as e:
            self.log.warn(
                "Closing Blaze connection from {peer}: malformed frame: {reason}",
                peer=self.peer,
                reason=str(e),
            )
            for frame in e.frames:
                self._frameReceived(frame)
            self._refuseInput()
            return False
        for frame in frames:
            self._frameReceived(frame)
        if self._decoder.hasFrame() and not self._readPaused and not self._closed:
            self._readPaused = True
            self.transport.pauseProducing()  # type: ignore[union-attr]
        return True

    def dataReceived(self, data: bytes) -> None:
        if self._closed or self._inputRefused:
            return
        self.resetTimeout()
        self._decode(data)
        self._dispatch()

    def _frameReceived(self, frame: Frame) -> None:
        kind = frame.type
        if kind == MessageType.REQUEST or kind == MessageType.PING:
            # Pings wait their turn like requests (and pass the same gate).
            self._queue.append(frame)
            if len(self._queue) >= self.maxQueued and not self._readPaused:
                self._readPaused = True
                self.transport.pauseProducing()  # type: ignore[union-attr]
        elif kind in (MessageType.REPLY, MessageType.ERROR_REPLY):
            self._replyReceived(frame)
        elif kind == MessageType.NOTIFICATION:
            try:
                self.dispatcher.notificationReceived(frame)
            except Exception:
                self.log.failure(
                    "Handling notification {command} failed",
                    command=commandName(frame.component, frame.command),
                )

    def _replyReceived(self, frame: Frame) -> None:
        entry = self._pending.pop(frame.seq, None)
        if entry is None:
            self.log.warn(
                "Ignoring reply {command} #{seq} from {peer}: no such request",
                command=commandName(frame.component, frame.command),
                seq=frame.seq,
                peer=self.peer,
            )
            return
        d, component, command = entry
        if (frame.component, frame.command) != (component, command):
            self.log.warn(
                "Reply #{seq} from {peer} is for {got}, expected {expected}",
                seq=frame.seq,
                peer=self.peer,
                got=commandName(frame.component, frame.command),
                expected=commandName(component, command),
            )
        if frame.type == MessageType.ERROR_REPLY:
            d.errback(Failure(BlazeError(frame.error, frame.body, frame)))
        else:
            d.callback(frame)

    # -- dispatching requests, one at a time

    def _dispatch(self) -> None:
        if self._dispatching:
            return
        self._dispatching = True
        handled = 0
        try:
            while True:
                handled += self._handleQueued(self.maxQueued - handled)
                if self.requestGate is not None and handled >= self.maxQueued and self._queue:
                    # Enough for one go: let the reactor serve others.
                    if self._gateCall is None:
                        self._gateCall = self.callLater(0, self._gateOpened)
                    break
                if not (
                    self._readPaused
                    and len(self._queue) <= self.maxQueued // 2
                    and not self._closed
                    and not self._inputRefused
                ):
                    break
                if self._decoder.hasFrame():
                    # Frames held back by _decode: take the next ones.
                    if not self._decode(b""):
                        break
                    if self._queue:
                        continue
                if not self._decoder.hasFrame():
                    self._readPaused = False
                    self.transport.resumeProducing()  # type: ignore[union-attr]
                break
        finally:
            self._dispatching = False
        self._closeIfDrained()

    def _handleQueued(self, most: int) -> int:
        """
        Hand queued requests to the dispatcher, one at a time, as long as
        nothing holds them back (a request being handled, a paused
        transport, the request gate).

        @param most: with a request gate, hand at most this many.
        @return: how many were handed.
        """
        handed = 0
        while (
            not self._busy
            and not self._writePaused
            and self._queue
            and not self._closed
            and self._gateCall is None
        ):
            gate = self.requestGate
            if gate is not None:
                if handed >= most:
                    break
                wait = gate.admit()
                if wait > 0:
                    self._gateCall = self.callLater(wait, self._gateOpened)
                    break
            handed += 1
            frame = self._queue.popleft()
            if frame.type == MessageType.PING:
                self.sendFrame(
                    Frame(frame.component, frame.command, MessageType.PING_REPLY, frame.seq)
                )
                continue
            self._busy = True
            if self.requestObserver is not None:
                self._requestStarted = self.timer()
            d = defer.maybeDeferred(self.dispatcher.requestReceived, frame)
            d.addCallbacks(
                self._handled,
                self._handlerFailed,
                callbackArgs=(frame,),
                errbackArgs=(frame,),
            )
            d.addErrback(self._replyFailed, frame)
            d.addCallback(self._requestDone)
        return handed

    def _gateOpened(self) -> None:
        self._gateCall = None
        self._dispatch()

    def _handled(self, result: Any, frame: Frame) -> None:
        self._writeReply(frame.reply(encodeBody(result)))

    def _handlerFailed(self, failure: Failure, frame: Frame) -> None:
        command = commandName(frame.component, frame.command)
        if failure.check(BlazeError):
            error: BlazeError = failure.value  # type: ignore[assignment]
            self.log.debug(
                "{command} answered with error {error}",
                command=command,
                error=errorName(frame.component, error.code),
            )
            self._writeReply(frame.errorReply(error.code, encodeBody(error.body)))
        elif failure.check(tdf.TdfDecodeError):
            self.log.warn(
                "Malformed {command} request from {peer}: {reason}",
                command=command,
                peer=self.peer,
                reason=str(failure.value),
            )
            self._writeReply(frame.errorReply(GlobalError.SYSTEM))
        else:
            self.log.failure(
                "Handling {command} from {peer} failed",
                failure,
                command=command,
                peer=self.peer,
            )
            self._writeReply(frame.errorReply(GlobalError.SYSTEM))

    def _replyFailed(self, failure: Failure, frame: Frame) -> None:
        # Encoding the reply (or the error body) failed: still answer.
        self.log.failure(
            "Could not send the reply to {command}",
            failure,
            command=commandName(frame.component, frame.command),
        )
        self._writeReply(frame.errorReply(GlobalError.SYSTEM))

    def _writeReply(self, reply: Frame) -> None:
        if not self._closed:
            self.transport.write(reply.encode())  # type: ignore[union-attr]
        held, self._held = self._held, []
        self._busy = False
        if held and not self._closed:
            self._writeNotifications(b"".join(held))
        observer = self.requestObserver
        if observer is not None:
            try:
                observer(reply, self.timer() - self._requestStarted, reply.error)
            except Exception:
                self.log.failure(
                    "Observing the reply to {command} failed",
                    command=commandName(reply.component, reply.command),
                )

    def _requestDone(self, _: object) -> None:
        self._busy = False
        self._dispatch()

    # -- sending

    def sendFrame(self, frame: Frame) -> None:
        """
        Write a frame now (or, for a notification while a request is being
        handled, right after that request's reply).

        @raise FrameError: at once if the frame cannot be encoded.
        """
        if self._closed or self.transport is None:
            return
        data = frame.encode()
        if self._busy and frame.type == MessageType.NOTIFICATION:
            self._held.append(data)
            return
        self._writeNotifications(data)

    def _writeNotifications(self, data: bytes) -> None:
        """
        Write frames that are not a reply.  While the transport is paused
        they are counted: a peer that stops reading is dropped once
        L{maxPausedOutput} bytes wait, instead of buffering without bound.
        """
        if self._overflowed:
            return
        if self._writePaused:
            self._pausedOutput += len(data)
            if self._pausedOutput > self.maxPausedOutput:
                self._overflowed = True
                self.log.warn(
                    "Closing Blaze connection from {peer}: it is not reading "
                    "({size} bytes of notifications waiting)",
                    peer=self.peer,
                    size=self._pausedOutput,
                )
                self._abort()
                return
        self.transport.write(data)  # type: ignore[union-attr]

    def sendNotification(self, component: int, command: int, body: Any = b"") -> None:
        """
        Send a notification; while a request is being handled it follows
        that request's reply.
        """
        self.sendFrame(
            Frame(component, command, MessageType.NOTIFICATION, 0, 0, encodeBody(body))
        )

    def sendRequest(
        self, component: int, command: int, body: Any = b""
    ) -> defer.Deferred[Frame]:
        """
        Send a request and return a L{Deferred} that fires with the reply
        L{Frame}, or fails with L{BlazeError} for an error reply or
        L{ConnectionLost} if the connection closes first.
        """
        if self._closed or self.transport is None:
            return defer.fail(ConnectionLost("Blaze connection is closed"))
        seq = self._nextSeq
        self._nextSeq = (seq + 1) & _MAX_SEQ
        d: defer.Deferred[Frame] = defer.Deferred()
        self._pending[seq] = (d, int(component), int(command))
        self.transport.write(
            Frame(component, command, MessageType.REQUEST, seq, 0, encodeBody(body)).encode()
        )
        return d

    # -- IPushProducer: the transport tells us when its buffer is full

    def pauseProducing(self) -> None:
        self._writePaused = True

    def resumeProducing(self) -> None:
        self._writePaused = False
        self._pausedOutput = 0
        self._dispatch()

    def stopProducing(self) -> None:
        self._writePaused = True
