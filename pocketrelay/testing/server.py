# -*- test-case-name: tests.test_components -*-
"""
In-memory fakes for testing the Blaze server without sockets or threads.

  - L{SynchronousThreadPool} and L{SynchronousThreads}: a thread pool and
    the thread part of a reactor that run work at once in the calling
    thread, so that L{Passwords} answers synchronously
    (L{synchronousPasswords}).
  - L{SynchronousStore}: the real L{Store} (the same SQL, limits and
    errors) running in the calling thread; its results can be held back
    to test what happens while the database is busy.
  - L{BlazeConnection}: one server session on a L{StringTransport}, seen
    from the game's side: send requests, read the frames written back.
  - L{ServerHarness}: a L{Hub} with all of the above, a L{Clock} and
    tiny Argon2 parameters, plus helpers to create accounts and log in.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import formatEvent
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.blaze import tdf
from pocketrelay.blaze.frames import Frame, FrameDecoder, MessageType
from pocketrelay.blaze.ids import AuthenticationCommand, Component, UtilCommand
from pocketrelay.blaze.protocol import BlazeError, BlazeProtocol, encodeBody
from pocketrelay.me3.clientconfig import ConfigContext
from pocketrelay.me3.messages.auth import LoginRequest, LoginResponse
from pocketrelay.me3.messages.util import PreAuthRequest, PreAuthResponse
from pocketrelay.server.config import loadSettings
from pocketrelay.server.gamedata import GameData
from pocketrelay.server.hub import Hub
from pocketrelay.server.security import PasswordHasher, Passwords, TokenSigner
from pocketrelay.server.store import Player, PlayerRole, Store, StoreError
from pocketrelay.testing.logs import captureLogs

if TYPE_CHECKING:
    import sqlite3

    from pocketrelay.server.session import Session

__all__ = [
    "DEFAULT_NOW",
    "HARNESS_SETTINGS",
    "TEST_SECRET",
    "BlazeConnection",
    "NoReply",
    "ServerHarness",
    "ServerTestCase",
    "SynchronousStore",
    "SynchronousThreadPool",
    "SynchronousThreads",
    "resultOf",
    "synchronousPasswords",
    "tinyHasher",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: The fixed HMAC key of the harness's token signer.
TEST_SECRET = bytes(range(64))

#: The harness clock's start time (Unix seconds, November 2023).
DEFAULT_NOW = 1_700_000_000

#: Settings the harness starts from: every connection comes from one
#: address and logs in many times within a second, so the login rate
#: limits and the per-address session cap are off.  Tests of those limits
#: turn them on again through C{overrides}.
HARNESS_SETTINGS: tuple[tuple[str, Any], ...] = (
    ("limits.login_rate", 0),
    ("limits.token_login_rate", 0),
    ("limits.max_sessions_per_address", 0),
    ("limits.session_request_rate", 0),
    ("limits.address_request_rate", 0),
)


class SynchronousThreadPool:
    """
    A thread pool that runs each call at once in the calling thread.

    @ivar calls: the functions run, in order.
    """

    def __init__(self) -> None:
        self.calls: list[Callable[..., Any]] = []

    def callInThreadWithCallback(
        self,
        onResult: Callable[[bool, Any], None],
        f: Callable[..., Any],
        *args: Any,
        **kwargs: Any,
    ) -> None:
        self.calls.append(f)
        try:
            result = f(*args, **kwargs)
        except BaseException:
            onResult(False, Failure())
        else:
            onResult(True, result)


class SynchronousThreads:
    """
    The thread part of a reactor: C{callFromThread} runs at once and
    C{getThreadPool} gives a L{SynchronousThreadPool}.
    """

    def __init__(self) -> None:
        self.pool = SynchronousThreadPool()

    def callFromThread(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        f(*args, **kwargs)

    def getThreadPool(self) -> SynchronousThreadPool:
        return self.pool


def tinyHasher() -> PasswordHasher:
    """
    An Argon2id hasher with the smallest parameters, so tests stay fast.
    """
    return PasswordHasher(timeCost=1, memoryCost=8, parallelism=1)


def synchronousPasswords(hasher: PasswordHasher | None = None) -> Passwords:
    """
    L{Passwords} whose L{Deferred}s have fired when returned.

    @param hasher: by default L{tinyHasher}.
    """
    threads = SynchronousThreads()
    return Passwords(
        cast(Any, threads),
        cast(Any, threads.pool),
        hasher if hasher is not None else tinyHasher(),
    )


class SynchronousStore(Store):
    """
    The SQLite L{Store} without its worker thread: every operation runs
    in the calling thread, so its L{Deferred} has fired when returned.

    Only the dispatch is replaced; the SQL, the limits and the errors are
    L{Store}'s own.

    While L{holding} is true, operations still run (and commit) at once
    but their L{Deferred}s fire only at L{release}, in call order, as if
    the worker thread were slow to answer.

    @ivar holding: hold results back until L{release}.
    @ivar operations: how many operations ran.
    """

    def __init__(self, path: str = ":memory:", clock: Clock | None = None) -> None:
        """
        @param path: the database file, by default a new in-memory one.
        @param clock: gives the default timestamps.
        """
        super().__init__(path, cast(Any, clock if clock is not None else Clock()))
        self.holding = False
        self.operations = 0
        self._held: list[tuple[defer.Deferred[Any], Any, bool]] = []

    def start(self) -> defer.Deferred[None]:
        """
        Open the database and apply the schema, in the calling thread.
        """
        if self._connection is not None:
            return defer.fail(StoreError("the store is already started"))
        try:
            self._call(self._open, (int(self._time.seconds()),))
        except Exception:
            return defer.fail()
        self._accepting = True
        return defer.succeed(None)

    def stop(self) -> defer.Deferred[None]:
        """
        Close the database; held results are delivered first.
        """
        self.release()
        self._accepting = False
        self._close()
        return defer.succeed(None)

    def _run(
        self,
        write: bool,
        f: Callable[Concatenate[sqlite3.Connection, _P], _R],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> defer.Deferred[_R]:
        if not self._accepting:
            return defer.fail(StoreError("the store is not running"))
        self.operations += 1
        work = functools.partial(self._transaction, write, f, *args, **kwargs)
        d: defer.Deferred[_R] = defer.Deferred()
        try:
            result: Any = self._call(work, ())
            succeeded = True
        except Exception:
            result = Failure()
            succeeded = False
        if self.holding:
            self._held.append((d, result, succeeded))
        elif succeeded:
            d.callback(result)
        else:
            d.errback(result)
        return d

    @property
    def pending(self) -> int:
        """
        How many results are held back.
        """
        return len(self._held)

    def release(self) -> None:
        """
        Stop holding and deliver every held result, in call order.
        """
        self.holding = False
        while self._held:
            d, result, succeeded = self._held.pop(0)
            if succeeded:
                d.callback(result)
            else:
                d.errback(result)


class NoReply(AssertionError):
    """
    A request got no reply (yet).
    """


def resultOf(d: defer.Deferred[_R]) -> _R:
    """
    The result of a L{Deferred} that has fired; its failure is raised.

    @raise AssertionError: if it has not fired.
    """
    results: list[Any] = []
    d.addBoth(results.append)
    if not results:
        raise AssertionError(f"{d!r} has not fired")
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return cast(_R, results[0])


class BlazeConnection:
    """
    One server-side Blaze session on a L{StringTransport}, driven as the
    game would drive it.

    @ivar protocol: the server's L{BlazeProtocol}.
    @ivar session: the L{Session} it dispatches to.
    @ivar transport: the L{StringTransport}; what the server wrote is in
        it.
    @ivar frames: every frame the server wrote so far, in order.
    """

    def __init__(self, protocol: BlazeProtocol, transport: StringTransport) -> None:
        self.protocol = protocol
        self.session = cast("Session", protocol.dispatcher)
        self.transport = transport
        self.frames: list[Frame] = []
        self._decoder = FrameDecoder()
        self._consumed = 0
        self._seq = 0

    # -- reading

    def _pump(self) -> None:
        data = self.transport.value()
        if len(data) > self._consumed:
            self.frames.extend(self._decoder.feed(data[self._consumed :]))
            self._consumed = len(data)

    def written(self) -> list[Frame]:
        """
        Every frame the server wrote so far.
        """
        self._pump()
        return list(self.frames)

    def replyTo(self, seq: int) -> Frame | None:
        """
        The reply (or error reply) to request C{seq}, if written.
        """
        self._pump()
        for frame in self.frames:
            if frame.seq == seq and frame.type in (
                MessageType.REPLY,
                MessageType.ERROR_REPLY,
            ):
                return frame
        return None

    def notifications(
        self, component: int | None = None, command: int | None = None
    ) -> list[Frame]:
        """
        The notifications written so far, optionally only one kind.
        """
        self._pump()
        return [
            frame
            for frame in self.frames
            if frame.type == MessageType.NOTIFICATION
            and (component is None or frame.component == component)
            and (command is None or frame.command == command)
        ]

    # -- writing

    def sendRaw(self, data: bytes) -> None:
        """
        Deliver bytes to the server as if received from the game.
        """
        self.protocol.dataReceived(data)

    def send(self, component: int, command: int, body: Any = b"") -> int:
        """
        Send a request without waiting.

        @param body: bytes or a TDF struct value.
        @return: its message number.
        """
        seq = self._seq
        self._seq += 1
        frame = Frame(component, command, MessageType.REQUEST, seq, 0, encodeBody(body))
        self.sendRaw(frame.encode())
        return seq

    def request(self, component: int, command: int, body: Any = b"") -> Frame:
        """
        Send a request and return the reply frame.

        @raise NoReply: if the server has not answered (a held store).
        """
        seq = self.send(component, command, body)
        reply = self.replyTo(seq)
        if reply is None:
            raise NoReply(f"no reply to request #{seq} ({component:#x}/{command:#x})")
        return reply

    def call(
        self, component: int, command: int, body: Any = b"", reply: type | None = None
    ) -> Any:
        """
        Send a request and decode its reply.

        @param reply: the TDF struct class of the reply, or L{None} to get
            the body bytes.
        @raise BlazeError: for an error reply (with its frame).
        """
        frame = self.request(component, command, body)
        if frame.type == MessageType.ERROR_REPLY:
            raise BlazeError(frame.error, frame.body, frame)
        if reply is None:
            return frame.body
        return tdf.decode(reply, frame.body)

    def error(self, component: int, command: int, body: Any = b"") -> int:
        """
        Send a request that must be refused and return the error code.

        @raise AssertionError: if the reply is not an error reply.
        """
        frame = self.request(component, command, body)
        if frame.type != MessageType.ERROR_REPLY:
            raise AssertionError(
                f"expected an error reply to {component:#x}/{command:#x}, got {frame!r}"
            )
        return frame.error

    # -- common sequences

    def preAuth(self) -> PreAuthResponse:
        """
        Util.preAuth with what ME3 sends.
        """
        result: PreAuthResponse = self.call(
            Component.UTIL, UtilCommand.PRE_AUTH, PreAuthRequest(), PreAuthResponse
        )
        return result

    def login(self, email: str, password: str) -> LoginResponse:
        """
        Authentication.login with email and password.
        """
        result: LoginResponse = self.call(
            Component.AUTHENTICATION,
            AuthenticationCommand.LOGIN,
            LoginRequest(email=email, password=password),
            LoginResponse,
        )
        return result

    # -- the connection

    def lose(self) -> None:
        """
        The connection closes (the game quit or the network failed).
        """
        self.protocol.connectionLost(Failure(ConnectionDone()))


class ServerHarness:
    """
    A L{Hub} on in-memory parts: L{SynchronousStore} on C{":memory:"},
    L{GameData} on C{dataDir}, a L{TokenSigner} and the L{Hub} on one
    L{Clock}, and L{synchronousPasswords}.

    @ivar clock: the clock of everything (starts at L{DEFAULT_NOW}).
    @ivar store: the L{SynchronousStore}.
    @ivar hub: the L{Hub}.
    @ivar connections: every L{BlazeConnection} made.
    """

    def __init__(
        self,
        dataDir: FilePath[str],
        overrides: Iterable[tuple[str, Any]] = (),
        store: SynchronousStore | None = None,
        clock: Clock | None = None,
    ) -> None:
        """
        @param dataDir: the data directory (created if missing).
        @param overrides: settings as (key, value), e.g.
            C{[("qos.type", "disabled")]}, applied after
            L{HARNESS_SETTINGS}.
        @param store: a started L{SynchronousStore} to use instead of a
            new one on C{":memory:"} (e.g. one on a file).
        """
        if clock is None:
            clock = Clock()
            clock.advance(DEFAULT_NOW)
        self.clock = clock
        if not dataDir.exists():
            dataDir.makedirs()
        settings = loadSettings(None, {}, [*HARNESS_SETTINGS, *overrides])
        if store is None:
            store = SynchronousStore(":memory:", clock)
            resultOf(store.start())
        self.store = store
        self.signer = TokenSigner(TEST_SECRET, clock)
        self.gameData = GameData(
            dataDir, ConfigContext(), menuTemplate=settings["menu_message"]
        )
        self.hub = Hub(
            settings=settings,
            store=store,
            gameData=self.gameData,
            signer=self.signer,
            passwords=synchronousPasswords(),
            clock=clock,
        )
        self.connections: list[BlazeConnection] = []
        # Wraps around: long runs (the fuzzer) make more connections.
        self._peerPorts = (50000 + n % 15000 for n in itertools.count())

    def connect(
        self, peerHost: str = "203.0.113.7", preAuth: bool = False
    ) -> BlazeConnection:
        """
        A new Blaze connection from C{peerHost}.

        @param preAuth: send Util.preAuth first.
        """
        protocol = self.hub.buildProtocol(peerHost)
        transport = StringTransport(
            peerAddress=IPv4Address("TCP", peerHost, next(self._peerPorts))
        )
        protocol.makeConnection(transport)
        connection = BlazeConnection(protocol, transport)
        self.connections.append(connection)
        if preAuth:
            connection.preAuth()
        return connection

    def createPlayer(
        self,
        email: str,
        password: str = "password",
        displayName: str | None = None,
        role: int = PlayerRole.DEFAULT,
    ) -> Player:
        """
        Create an account directly in the store.
        """
        passwords = self.hub.passwords
        passwordHash = resultOf(passwords.hash(password))
        d = self.store.createPlayer(
            email,
            displayName if displayName is not None else email.split("@", 1)[0],
            passwordHash,
            role=role,
            now=int(self.clock.seconds()),
        )
        return resultOf(d)

    def loggedIn(
        self, email: str, password: str = "password", peerHost: str = "203.0.113.7"
    ) -> BlazeConnection:
        """
        A connection that has done preAuth and logged in to C{email}'s
        account (created first if it does not exist).
        """
        if resultOf(self.store.getPlayerByEmail(email)) is None:
            self.createPlayer(email, password)
        connection = self.connect(peerHost, preAuth=True)
        connection.login(email, password)
        return connection


class ServerTestCase(SynchronousTestCase):
    """
    A L{ServerHarness} per test and the log events of the test.
    """

    overrides: tuple[tuple[str, Any], ...] = ()

    def setUp(self) -> None:
        self.events = captureLogs(self)
        self.server = ServerHarness(FilePath(self.mktemp()), self.overrides)
        self.hub = self.server.hub
        self.store = self.server.store

    def messages(self) -> list[str]:
        """
        The text of every log event so far.
        """
        return [formatEvent(event) for event in self.events]

    def assertLogged(self, *words: str) -> None:
        """
        Some log event contains all of C{words}.
        """
        for text in self.messages():
            if all(word in text for word in words):
                return
        self.fail(f"no log event contains {words!r}; events: {self.messages()!r}")

    def player(self, connection: BlazeConnection) -> Player:
        """
        The player C{connection} is logged in to.
        """
        player = connection.session.player
        assert player is not None
        return player

    def stored(self, email: str) -> Player:
        """
        The stored account with C{email}.
        """
        player = resultOf(self.store.getPlayerByEmail(email))
        assert player is not None, email
        return player
