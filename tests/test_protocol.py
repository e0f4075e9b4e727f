# -*- test-case-name: tests.test_protocol -*-
"""
Tests for L{pocketrelay.blaze.protocol}.
"""

from __future__ import annotations

from typing import Any

import attrs
from twisted.internet import defer
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.task import Clock
from twisted.internet.testing import EventLoggingObserver, StringTransport
from twisted.logger import LogLevel
from twisted.python.failure import Failure
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from pocketrelay.blaze import tdf
from pocketrelay.blaze.frames import Frame, FrameDecoder, MessageType
from pocketrelay.blaze.ids import GlobalError
from pocketrelay.blaze.protocol import (
    BlazeError,
    BlazeProtocol,
    IBlazeDispatcher,
)
from pocketrelay.testing.fakes import RecordingDispatcher
from pocketrelay.testing.logs import captureLogs

_NAMESPACE = "pocketrelay.blaze.protocol.BlazeProtocol"


@tdf.tdfStruct
@attrs.define
class _ServerTime:
    serverTime: int = tdf.member("STIM", tdf.Int)


def _request(component: int, command: int, seq: int, body: bytes = b"") -> bytes:
    return Frame(component, command, MessageType.REQUEST, seq, 0, body).encode()


def _frames(data: bytes) -> list[Frame]:
    """
    Decode everything written, insisting that it is whole frames.
    """
    decoder = FrameDecoder()
    result = decoder.feed(data)
    assert decoder.buffered == 0, "a partial frame was written"
    return result


def _connect(
    dispatcher: Any, **kwargs: Any
) -> tuple[BlazeProtocol, StringTransport, Clock]:
    clock = Clock()
    protocol = BlazeProtocol(dispatcher, clock=clock, **kwargs)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, transport, clock


def _protocolEvents(observer: EventLoggingObserver) -> list[dict[str, Any]]:
    return [e for e in observer if e.get("log_namespace") == _NAMESPACE]


class RecordingDispatcherTests(SynchronousTestCase):
    """
    The fake dispatcher provides L{IBlazeDispatcher}.
    """

    def test_interfaces(self) -> None:
        """
        L{RecordingDispatcher} provides L{IBlazeDispatcher}.
        """
        self.assertTrue(verifyObject(IBlazeDispatcher, RecordingDispatcher()))

    def test_connectionMade(self) -> None:
        """
        The dispatcher is told about the connection and given the protocol.
        """
        dispatcher = RecordingDispatcher()
        protocol, _, _ = _connect(dispatcher)
        self.assertIs(dispatcher.protocol, protocol)


class OrderingTests(SynchronousTestCase):
    """
    Requests are handled one at a time and answered exactly once, in order.
    """

    def test_serialWhileDeferred(self) -> None:
        """
        While the first request's handler has not finished, later requests
        wait; once it finishes the replies come out in arrival order.
        """
        dispatcher = RecordingDispatcher(deferring=True)
        protocol, transport, _ = _connect(dispatcher)
        protocol.dataReceived(_request(9, 2, 1) + _request(9, 3, 2) + _request(4, 9, 3))
        self.assertEqual([f.seq for f in dispatcher.requests], [1])
        self.assertEqual(transport.value(), b"")

        dispatcher.fireNext(b"")
        self.assertEqual([f.seq for f in dispatcher.requests], [1, 2])
        self.assertEqual([f.seq for f in _frames(transport.value())], [1])

        dispatcher.fireNext(b"")
        dispatcher.fireNext(b"")
        self.assertEqual([f.seq for f in dispatcher.requests], [1, 2, 3])
        self.assertEqual([f.seq for f in _frames(transport.value())], [1, 2, 3])

    def test_laterRequestWaitsAcrossReads(self) -> None:
        """
        A request that arrives in a later read while a handler is still
        running also waits for it.
        """
        dispatcher = RecordingDispatcher(deferring=True)
        protocol, _, _ = _connect(dispatcher)
        protocol.dataReceived(_request(9, 2, 1))
        protocol.dataReceived(_request(9, 2, 2))
        self.assertEqual(len(dispatcher.requests), 1)
        dispatcher.fireNext(b"")
        self.assertEqual(len(dispatcher.requests), 2)

    def test_oneReplyEchoingEachRequest(self) -> None:
        """
        Each request gets exactly one reply, which echoes its component,
        command and message number.
        """
        dispatcher = RecordingDispatcher(routes=
            {(9, 2): lambda frame: _ServerTime(5), (1, 0x28): lambda frame: b""}
        )
        protocol, transport, _ = _connect(dispatcher)
        sent = [(9, 2, 7), (1, 0x28, 0x12345), (9, 2, 0), (0x7802, 0x14, 9)]
        protocol.dataReceived(b"".join(_request(*key) for key in sent))
        replies = _frames(transport.value())
        self.assertEqual([(f.component, f.command, f.seq) for f in replies], sent)
        self.assertEqual({f.type for f in replies}, {MessageType.REPLY})
        self.assertEqual(tdf.decode(_ServerTime, replies[0].body), _ServerTime(5))

    def test_unknownCommandEmptyReply(self) -> None:
        """
        A request that the dispatcher answers with L{None} gets an empty
        reply.
        """
        protocol, transport, _ = _connect(RecordingDispatcher())
        protocol.dataReceived(_request(0x7D0, 0x99, 4, b"\x00"))
        self.assertEqual(
            _frames(transport.value()),
            [Frame(0x7D0, 0x99, MessageType.REPLY, 4)],
        )

    def test_pingFrame(self) -> None:
        """
        A Fire2 ping frame is answered with a ping reply with its number.
        """
        protocol, transport, _ = _connect(RecordingDispatcher())
        protocol.dataReceived(Frame(0, 0, MessageType.PING, 3).encode())
        self.assertEqual(
            _frames(transport.value()), [Frame(0, 0, MessageType.PING_REPLY, 3)]
        )


class NotificationOrderTests(SynchronousTestCase):
    """
    The reply to a request goes out before notifications sent while it was
    being handled; notifications sent while idle go out at once.
    """

    def test_replyFirstSynchronous(self) -> None:
        """
        A notification sent by a synchronous handler follows its reply.
        """
        dispatcher = RecordingDispatcher()

        def handler(frame: Frame) -> bytes:
            assert dispatcher.protocol is not None
            dispatcher.protocol.sendNotification(4, 0x1E, _ServerTime(1))
            return b"reply"

        dispatcher.handler = handler
        protocol, transport, _ = _connect(dispatcher)
        protocol.dataReceived(_request(4, 9, 2))
        out = _frames(transport.value())
        self.assertEqual(
            [f.type for f in out], [MessageType.REPLY, MessageType.NOTIFICATION]
        )
        self.assertEqual(out[0].body, b"reply")
        self.assertEqual((out[1].component, out[1].command, out[1].seq), (4, 0x1E, 0))
        self.assertEqual(out[1].body, tdf.encode(_ServerTime(1)))

    def test_replyFirstAsynchronous(self) -> None:
        """
        A notification sent while an asynchronous handler is pending is
        held until that handler's reply has been written.
        """
        dispatcher = RecordingDispatcher(deferring=True)
        protocol, transport, _ = _connect(dispatcher)
        protocol.dataReceived(_request(4, 9, 2))
        protocol.sendNotification(4, 0x14, b"a")
        protocol.sendNotification(4, 0x15, b"b")
        self.assertEqual(transport.value(), b"")
        dispatcher.fireNext(b"reply")
        out = _frames(transport.value())
        self.assertEqual(
            [(f.type, f.command, f.body) for f in out],
            [
                (MessageType.REPLY, 9, b"reply"),
                (MessageType.NOTIFICATION, 0x14, b"a"),
                (MessageType.NOTIFICATION, 0x15, b"b"),
            ],
        )

    def test_idleNotificationImmediate(self) -> None:
        """
        A notification sent while no request is being handled is written
        immediately.
        """
        protocol, transport, _ = _connect(RecordingDispatcher())
        protocol.sendNotification(0x7802, 2, b"x")
        self.assertEqual(
            _frames(transport.value()),
            [Frame(0x7802, 2, MessageType.NOTIFICATION, 0, 0, b"x")],
        )

    def test_badNotificationRaisesToCaller(self) -> None:
        """
        A notification that cannot be encoded raises to its sender, also
        while a request is being handled, and the request still gets exactly
        one (normal) reply.
        """
        dispatcher = RecordingDispatcher(deferring=True)
        protocol, transport, _ = _connect(dispatcher)
        self.assertRaises(ValueError, protocol.sendNotification, 0x10000, 1)
        protocol.dataReceived(_request(4, 9, 2))
        self.assertRaises(ValueError, protocol.sendNotification, 0x10000, 1)
        dispatcher.fireNext(b"ok")
        self.assertEqual(
            _frames(transport.value()), [Frame(4, 9, MessageType.REPLY, 2, 0, b"ok")]
        )


class ErrorReplyTests(SynchronousTestCase):
    """
    Failures in handlers become error replies and never close the
    connection.
    """

    def setUp(self) -> None:
        self.observer = captureLogs(self)

    def test_blazeError(self) -> None:
        """
        L{BlazeError}C{(code, body)} raised by a handler becomes an error
        reply with that code and body.
        """

        def handler(frame: Frame) -> None:
            raise BlazeError(0x0B, b"\x01\x02")

        protocol, transport, _ = _connect(RecordingDispatcher(handler))
        protocol.dataReceived(_request(1, 0x28, 5))
        self.assertEqual(
            _frames(transport.value()),
            [Frame(1, 0x28, MessageType.ERROR_REPLY, 5, 0x0B, b"\x01\x02")],
        )

    def test_blazeErrorStructBody(self) -> None:
        """
        The body of a L{BlazeError} may be a L{tdf.tdfStruct} value; a
        L{Deferred} may fail with it too.
        """

        def handler(frame: Frame) -> defer.Deferred[None]:
            return defer.fail(BlazeError(0x12E, _ServerTime(77)))

        protocol, transport, _ = _connect(RecordingDispatcher(handler))
        protocol.dataReceived(_request(9, 0x1B, 6))
        (reply,) = _frames(transport.value())
        self.assertEqual(
            (reply.type, reply.error, reply.seq), (MessageType.ERROR_REPLY, 0x12E, 6)
        )
        self.assertEqual(tdf.decode(_ServerTime, reply.body), _ServerTime(77))

    def test_unexpectedException(self) -> None:
        """
        An unexpected exception becomes error reply 0x4001 and one logged
        failure; the connection stays open and serves the next request.
        """
        calls = []

        def handler(frame: Frame) -> bytes:
            calls.append(frame.seq)
            if frame.seq == 1:
                raise ZeroDivisionError()
            return b"fine"

        protocol, transport, _ = _connect(RecordingDispatcher(handler))
        protocol.dataReceived(_request(9, 2, 1))
        events = _protocolEvents(self.observer)
        self.assertEqual(len(events), 1)
        self.assertIn("log_failure", events[0])
        self.assertEqual(events[0]["log_level"], LogLevel.critical)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.assertFalse(transport.disconnecting)

        protocol.dataReceived(_request(9, 2, 2))
        self.assertEqual(
            _frames(transport.value()),
            [
                Frame(9, 2, MessageType.ERROR_REPLY, 1, GlobalError.SYSTEM),
                Frame(9, 2, MessageType.REPLY, 2, 0, b"fine"),
            ],
        )
        self.assertEqual(calls, [1, 2])

    def test_malformedBody(self) -> None:
        """
        A handler that fails to decode its request body with
        L{tdf.TdfDecodeError} gets error reply 0x4001 and one warning, not a
        logged traceback.
        """

        def handler(frame: Frame) -> object:
            return tdf.decode(_ServerTime, frame.body)

        protocol, transport, _ = _connect(RecordingDispatcher(handler))
        protocol.dataReceived(_request(9, 2, 3, b"\xcf\x4a\x6d\x00"))
        self.assertEqual(
            _frames(transport.value()),
            [Frame(9, 2, MessageType.ERROR_REPLY, 3, GlobalError.SYSTEM)],
        )
        events = _protocolEvents(self.observer)
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["log_level"], LogLevel.warn)
        self.assertNotIn("log_failure", events[0])
        self.assertFalse(transport.disconnecting)

    def test_unencodableResult(self) -> None:
        """
        A handler result that cannot be encoded still gets exactly one
        reply: error 0x4001.
        """
        protocol, transport, _ = _connect(RecordingDispatcher(lambda f: object()))
        protocol.dataReceived(_request(9, 2, 3))
        self.assertEqual(
            _frames(transport.value()),
            [Frame(9, 2, MessageType.ERROR_REPLY, 3, GlobalError.SYSTEM)],
        )
        self.assertEqual(len(self.flushLoggedErrors()), 1)


class MalformedFrameTests(SynchronousTestCase):
    """
    A malformed frame closes the connection with one log line.
    """

    def setUp(self) -> None:
        self.observer = captureLogs(self)

    def _check(
        self,
        protocol: BlazeProtocol,
        transport: StringTransport,
        dispatcher: RecordingDispatcher,
        bad: bytes,
    ) -> None:
        protocol.dataReceived(bad)
        self.assertTrue(transport.disconnecting)
        events = _protocolEvents(self.observer)
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["log_level"], LogLevel.warn)
        protocol.dataReceived(_request(9, 2, 1))
        protocol.dataReceived(bad)
        self.assertEqual(dispatcher.requests, [])
        self.assertEqual(transport.value(), b"")
        self.assertEqual(len(_protocolEvents(self.observer)), 1)

    def test_unknownMessageType(self) -> None:
        """
        A frame with message type 6 closes the connection; later data is
        ignored.
        """
        dispatcher = RecordingDispatcher()
        protocol, transport, _ = _connect(dispatcher)
        bad = bytearray(_request(9, 2, 1))
        bad[8] = 0x60
        self._check(protocol, transport, dispatcher, bytes(bad))

    def test_tooLarge(self) -> None:
        """
        A frame whose header claims more than C{maxFrameSize} bytes closes
        the connection as soon as the header is seen.
        """
        dispatcher = RecordingDispatcher()
        protocol, transport, _ = _connect(dispatcher, maxFrameSize=16)
        header = _request(9, 2, 1, b"x" * 17)[:12]
        self._check(protocol, transport, dispatcher, header)


class IdleTimeoutTests(SynchronousTestCase):
    """
    The connection is dropped after C{idleTimeout} seconds without data.
    """

    def setUp(self) -> None:
        self.observer = captureLogs(self)

    def test_dataResetsTimeout(self) -> None:
        """
        Received bytes, even part of a frame, restart the timeout.
        """
        protocol, transport, clock = _connect(RecordingDispatcher(), idleTimeout=60)
        clock.advance(59)
        protocol.dataReceived(b"\x00")
        clock.advance(59)
        protocol.dataReceived(b"\x00")
        clock.advance(59)
        self.assertFalse(transport.disconnecting)
        self.assertEqual(_protocolEvents(self.observer), [])

    def test_silenceAborts(self) -> None:
        """
        Silence for C{idleTimeout} seconds aborts the connection with one
        log line.
        """
        protocol, transport, clock = _connect(RecordingDispatcher(), idleTimeout=60)
        protocol.dataReceived(_request(9, 2, 1))
        clock.advance(59.9)
        self.assertFalse(transport.disconnecting)
        clock.advance(0.1)
        self.assertTrue(transport.disconnecting)
        self.assertTrue(transport.disconnected, "not aborted")
        events = _protocolEvents(self.observer)
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["seconds"], 60)

    def test_noTimeout(self) -> None:
        """
        Without C{idleTimeout} nothing is scheduled.
        """
        _, transport, clock = _connect(RecordingDispatcher())
        self.assertEqual(clock.getDelayedCalls(), [])
        clock.advance(10**6)
        self.assertFalse(transport.disconnecting)

    def test_connectionLostCancels(self) -> None:
        """
        Losing the connection cancels the timeout.
        """
        protocol, _, clock = _connect(RecordingDispatcher(), idleTimeout=60)
        self.assertEqual(len(clock.getDelayedCalls()), 1)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(clock.getDelayedCalls(), [])


def _header(bodySize: int) -> bytes:
    """
    The header of a request frame (jumbo when needed) announcing
    C{bodySize} bytes of body.
    """
    return Frame(9, 2, MessageType.REQUEST, 1, 0, b"\0" * bodySize).encode()[:-bodySize]


class FrameDeadlineTests(SynchronousTestCase):
    """
    A frame must arrive within C{frameTimeout} seconds of its first byte,
    and the bytes of incomplete frames count against the C{inputBudget}
    (issue 10, item 8).
    """

    def setUp(self) -> None:
        self.observer = captureLogs(self)

    def test_trickledFrameClosed(self) -> None:
        """
        The attack: a large frame trickled one byte every 20 seconds (each
        byte resets the idle timeout) is cut 30 seconds after it started,
        with one log line.
        """
        protocol, transport, clock = _connect(RecordingDispatcher(), idleTimeout=60, frameTimeout=30)
        protocol.dataReceived(_header(4000) + b"x")
        clock.advance(20)
        protocol.dataReceived(b"x")
        clock.advance(9.9)
        self.assertFalse(transport.disconnecting)
        clock.advance(0.1)
        self.assertTrue(transport.disconnected, "not aborted")
        [event] = _protocolEvents(self.observer)
        self.assertEqual((event["seconds"], event["size"]), (30, len(_header(4000)) + 2))
        protocol.dataReceived(b"x" * 4000)
        self.assertEqual(len(protocol._queue), 0)

    def test_eachFrameHasItsOwnDeadline(self) -> None:
        """
        A stream of frames, each split over reads and each complete within
        the deadline, is never cut, however long the stream lasts.
        """
        dispatcher = RecordingDispatcher()
        protocol, transport, clock = _connect(dispatcher, idleTimeout=60, frameTimeout=30)
        frame = _request(9, 2, 1, b"y" * 100)
        for _ in range(10):
            protocol.dataReceived(frame[:50])
            clock.advance(25)
            protocol.dataReceived(frame[50:] + frame[:10])
            clock.advance(25)
            protocol.dataReceived(frame[10:])
        self.assertFalse(transport.disconnecting)
        self.assertEqual(len(dispatcher.requests), 20)

    def test_noDeadlineBetweenFrames(self) -> None:
        """
        After whole frames nothing but the idle timeout is scheduled.
        """
        protocol, transport, clock = _connect(RecordingDispatcher(), idleTimeout=60, frameTimeout=30)
        protocol.dataReceived(_request(9, 2, 1)[:5])
        protocol.dataReceived(_request(9, 2, 1)[5:])
        self.assertEqual(len(clock.getDelayedCalls()), 1)
        clock.advance(45)
        self.assertFalse(transport.disconnecting)

    def test_budgetShared(self) -> None:
        """
        Two connections share a L{BufferBudget}: the one whose incomplete
        frame would pass it is dropped; a completed frame frees its bytes,
        and a connection that leaves the budget is no longer counted.
        """
        from pocketrelay.server.limits import BufferBudget

        budget = BufferBudget(1000)
        first, t1, _ = _connect(RecordingDispatcher())
        second, t2, _ = _connect(RecordingDispatcher())
        first.setInputBudget(budget)
        second.setInputBudget(budget)
        frame = _request(9, 2, 1, b"z" * 700)
        first.dataReceived(frame[:600])
        self.assertEqual(budget.total, 600)
        second.dataReceived(frame[:600])
        self.assertTrue(t2.disconnected)
        self.assertFalse(t1.disconnecting)
        self.assertEqual(budget.total, 600)
        first.dataReceived(frame[600:])
        self.assertEqual(budget.total, 0)
        first.setInputBudget(None)
        first.dataReceived(frame[:-1] * 2)
        self.assertEqual(budget.total, 0)
        self.assertFalse(t1.disconnecting)

    def test_connectionLostReleases(self) -> None:
        """
        A closed connection's incomplete frame no longer counts.
        """
        from pocketrelay.server.limits import BufferBudget

        budget = BufferBudget(1000)
        protocol, _, _ = _connect(RecordingDispatcher())
        protocol.setInputBudget(budget)
        protocol.dataReceived(_request(9, 2, 1, b"z" * 700)[:300])
        self.assertEqual((budget.total, len(budget)), (300, 1))
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual((budget.total, len(budget)), (0, 0))


class HeldBackFramesTests(SynchronousTestCase):
    """
    A read holding more requests than the queue has room for is decoded
    a queue's worth at a time; the rest stays as bytes until the queue
    drains (a flood of 64 KiB of pings costs neither thousands of decoded
    frames nor the time to decode them at once).
    """

    def test_allAnsweredInOrder(self) -> None:
        """
        With a synchronous dispatcher, every request of a large read is
        answered at once, in order.
        """
        protocol, transport, _ = _connect(RecordingDispatcher(), maxQueued=8)
        protocol.dataReceived(b"".join(_request(9, 2, n) for n in range(1000)))
        self.assertEqual([f.seq for f in _frames(transport.value())], list(range(1000)))
        self.assertEqual(transport.producerState, "producing")

    def test_heldWhileBusy(self) -> None:
        """
        While requests wait (a handler has not answered), no more than
        C{maxQueued} are decoded and reading is paused; answering resumes
        decoding and then reading.
        """
        dispatcher = RecordingDispatcher(deferring=True)
        protocol, transport, _ = _connect(dispatcher, maxQueued=8)
        protocol.dataReceived(b"".join(_request(9, 2, n) for n in range(100)))
        self.assertEqual(len(protocol._queue), 7)
        self.assertTrue(protocol._decoder.hasFrame())
        self.assertEqual(transport.producerState, "paused")
        answered = 0
        while answered < len(dispatcher.waiting):
            dispatcher.waiting[answered][1].callback(None)
            answered += 1
        self.assertEqual(len(dispatcher.requests), 100)
        self.assertEqual(transport.producerState, "producing")

    def test_malformedAfterHeldFrames(self) -> None:
        """
        A malformed frame behind held-back frames closes the connection
        once reached; the frames before it are answered.
        """
        protocol, transport, _ = _connect(RecordingDispatcher(), maxQueued=4)
        protocol.dataReceived(
            b"".join(_request(9, 2, n) for n in range(20)) + b"\0" * 8 + b"\xf0" + b"\0" * 3
        )
        self.assertEqual(len(_frames(transport.value())), 20)
        self.assertTrue(transport.disconnecting)


class SendRequestTests(SynchronousTestCase):
    """
    L{BlazeProtocol.sendRequest} numbers requests and matches replies.
    """

    def setUp(self) -> None:
        self.observer = captureLogs(self)
        self.dispatcher = RecordingDispatcher()
        self.protocol, self.transport, _ = _connect(self.dispatcher)

    def test_numbering(self) -> None:
        """
        Requests are numbered 0, 1, 2 ... and carry the given body.
        """
        self.protocol.sendRequest(9, 7, _ServerTime(3))
        self.protocol.sendRequest(9, 2)
        self.assertEqual(
            _frames(self.transport.value()),
            [
                Frame(9, 7, MessageType.REQUEST, 0, 0, tdf.encode(_ServerTime(3))),
                Frame(9, 2, MessageType.REQUEST, 1),
            ],
        )

    def test_reply(self) -> None:
        """
        The reply with the request's number fires its L{Deferred} with the
        reply L{Frame}, whatever the order of replies.
        """
        first = self.protocol.sendRequest(9, 7)
        second = self.protocol.sendRequest(9, 2)
        self.protocol.dataReceived(
            Frame(9, 2, MessageType.REPLY, 1, 0, b"two").encode()
        )
        self.assertNoResult(first)
        self.assertEqual(self.successResultOf(second).body, b"two")
        self.protocol.dataReceived(Frame(9, 7, MessageType.REPLY, 0).encode())
        self.assertEqual(self.successResultOf(first).seq, 0)

    def test_errorReply(self) -> None:
        """
        An error reply fails the L{Deferred} with L{BlazeError} carrying the
        code, body and frame.
        """
        d = self.protocol.sendRequest(1, 0x28)
        frame = Frame(1, 0x28, MessageType.ERROR_REPLY, 0, 0x0B, b"b")
        self.protocol.dataReceived(frame.encode())
        error = self.failureResultOf(d, BlazeError).value
        assert isinstance(error, BlazeError)
        self.assertEqual((error.code, error.body, error.frame), (0x0B, b"b", frame))

    def test_connectionLost(self) -> None:
        """
        Requests still pending when the connection is lost fail with
        L{ConnectionLost}; new ones fail at once.
        """
        d = self.protocol.sendRequest(9, 2)
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.failureResultOf(d, ConnectionLost)
        self.failureResultOf(self.protocol.sendRequest(9, 2), ConnectionLost)

    def test_unknownSeq(self) -> None:
        """
        A reply to no pending request is logged and ignored.
        """
        d = self.protocol.sendRequest(9, 2)
        self.protocol.dataReceived(Frame(9, 2, MessageType.REPLY, 5).encode())
        self.assertNoResult(d)
        events = _protocolEvents(self.observer)
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["seq"], 5)
        self.assertFalse(self.transport.disconnecting)
        self.protocol.dataReceived(Frame(9, 2, MessageType.REPLY, 0).encode())
        self.assertEqual(self.successResultOf(d).seq, 0)

    def test_notificationReceived(self) -> None:
        """
        A received notification is handed to the dispatcher.
        """
        frame = Frame(4, 0x14, MessageType.NOTIFICATION, 0, 0, b"n")
        self.protocol.dataReceived(frame.encode())
        self.assertEqual(self.dispatcher.notifications, [frame])


class BackPressureTests(SynchronousTestCase):
    """
    The protocol is a streaming producer and bounds its request queue.
    """

    def test_registersProducer(self) -> None:
        """
        The protocol registers itself as a streaming producer.
        """
        protocol, transport, _ = _connect(RecordingDispatcher())
        self.assertIs(transport.producer, protocol)
        self.assertTrue(transport.streaming)

    def test_pauseStopsDispatch(self) -> None:
        """
        After C{pauseProducing} no request is dispatched until
        C{resumeProducing}.
        """
        dispatcher = RecordingDispatcher()
        protocol, transport, _ = _connect(dispatcher)
        protocol.pauseProducing()
        protocol.dataReceived(_request(9, 2, 1) + _request(9, 2, 2))
        self.assertEqual(dispatcher.requests, [])
        self.assertEqual(transport.value(), b"")
        protocol.resumeProducing()
        self.assertEqual([f.seq for f in dispatcher.requests], [1, 2])
        self.assertEqual([f.seq for f in _frames(transport.value())], [1, 2])

    def test_queueLimit(self) -> None:
        """
        When C{maxQueued} requests wait, reading is paused; it resumes once
        the queue has drained to half.
        """
        dispatcher = RecordingDispatcher(deferring=True)
        protocol, transport, _ = _connect(dispatcher, maxQueued=4)
        # One is being handled, three wait: below the limit.
        for n in range(4):
            protocol.dataReceived(_request(9, 2, n))
        self.assertEqual(transport.producerState, "producing")
        self.assertEqual(len(dispatcher.requests), 1)
        protocol.dataReceived(_request(9, 2, 4))
        self.assertEqual(transport.producerState, "paused")
        dispatcher.fireNext()
        self.assertEqual(transport.producerState, "paused")
        dispatcher.fireNext()
        self.assertEqual(transport.producerState, "producing")
        for _ in range(3):
            dispatcher.fireNext()
        self.assertEqual(len(_frames(transport.value())), 5)

    def test_connectionLostOnce(self) -> None:
        """
        C{connectionLost} reaches the dispatcher once, and the protocol
        unregisters as producer.
        """
        dispatcher = RecordingDispatcher()
        protocol, transport, _ = _connect(dispatcher)
        reason = Failure(ConnectionDone())
        protocol.connectionLost(reason)
        protocol.connectionLost(reason)
        self.assertEqual(dispatcher.lost, [reason])
        self.assertIsNone(transport.producer)

    def test_replyAfterConnectionLost(self) -> None:
        """
        A handler that finishes after the connection was lost writes
        nothing, and queued requests are dropped.
        """
        dispatcher = RecordingDispatcher(deferring=True)
        protocol, transport, _ = _connect(dispatcher)
        protocol.dataReceived(_request(9, 2, 1) + _request(9, 2, 2))
        protocol.connectionLost(Failure(ConnectionDone()))
        dispatcher.fireNext(b"late")
        self.assertEqual(transport.value(), b"")
        self.assertEqual(len(dispatcher.requests), 1)


class SplitTests(SynchronousTestCase):
    """
    How the stream is split into reads does not change anything.
    """

    def _output(self, chunks: list[bytes]) -> bytes:
        dispatcher = RecordingDispatcher(routes={(9, 2): lambda frame: _ServerTime(len(frame.body))})
        protocol, transport, _ = _connect(dispatcher)
        for chunk in chunks:
            protocol.dataReceived(chunk)
        return transport.value()

    def test_everyBoundary(self) -> None:
        """
        Two requests split in two reads at every byte boundary, or read one
        byte at a time, give the same output as one read.
        """
        data = _request(9, 2, 1, b"\x00" * 3) + _request(9, 2, 2, b"\x01" * 70)
        expected = self._output([data])
        self.assertEqual(len(_frames(expected)), 2)
        for i in range(1, len(data)):
            self.assertEqual(self._output([data[:i], data[i:]]), expected, i)
        self.assertEqual(
            self._output([data[i : i + 1] for i in range(len(data))]), expected
        )


class LoopbackTests(SynchronousTestCase):
    """
    A client and a server L{BlazeProtocol} talk to each other over
    L{iosim}.
    """

    def setUp(self) -> None:
        def fail(frame: Frame) -> None:
            raise BlazeError(0x0B)

        self.serverDispatcher = RecordingDispatcher(routes=
            {(9, 2): lambda frame: _ServerTime(1700000000), (1, 0x28): fail}
        )
        self.clientDispatcher = RecordingDispatcher()
        self.client, self.server, self.pump = iosim.connectedServerAndClient(
            lambda: BlazeProtocol(self.serverDispatcher, clock=Clock()),
            lambda: BlazeProtocol(self.clientDispatcher, clock=Clock()),
        )

    def test_requestReply(self) -> None:
        """
        The client's request reaches the server's dispatcher; the reply
        fires the client's L{Deferred}.
        """
        d = self.client.sendRequest(9, 2)
        self.pump.flush()
        reply = self.successResultOf(d)
        self.assertEqual((reply.type, reply.seq), (MessageType.REPLY, 0))
        self.assertEqual(tdf.decode(_ServerTime, reply.body), _ServerTime(1700000000))

    def test_errorAndNotification(self) -> None:
        """
        An error reply fails the client's request; a server notification
        reaches the client's dispatcher.
        """
        d = self.client.sendRequest(1, 0x28)
        self.server.sendNotification(4, 0x1E, b"")
        self.pump.flush()
        self.assertEqual(self.failureResultOf(d, BlazeError).value.code, 0x0B)
        self.assertEqual(
            [(f.component, f.command) for f in self.clientDispatcher.notifications],
            [(4, 0x1E)],
        )


class MalformedAfterGoodFrameTests(SynchronousTestCase):
    """
    Requests that arrive before a malformed frame in the same read are
    still answered before the connection closes.
    """

    def test_goodFrameAnsweredBeforeClose(self) -> None:
        """
        A ping followed by a frame of unknown message type in one read: the
        ping is answered, then the connection is closed.
        """
        from pocketrelay.blaze.frames import FrameDecoder, request

        protocol = BlazeProtocol(RecordingDispatcher(), clock=Clock())
        transport = StringTransport()
        protocol.makeConnection(transport)
        bad = bytearray(request(9, 2, 2).encode())
        bad[8] = 0x70
        protocol.dataReceived(request(9, 2, 1).encode() + bytes(bad))
        replies = FrameDecoder().feed(transport.value())
        self.assertEqual([frame.seq for frame in replies], [1])
        self.assertTrue(transport.disconnecting)
