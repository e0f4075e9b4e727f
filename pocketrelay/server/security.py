# -*- test-case-name: tests.test_security -*-
"""
Passwords, the server's secret key, and signed tokens.

  - L{PasswordHasher} hashes passwords with Argon2id into PHC strings
    (C{$argon2id$v=19$m=...}), the format the Rust Pocket Relay stores, so
    its password hashes can be imported unchanged.  L{Passwords} runs the
    same work in a thread pool because one hash takes tens of milliseconds
    of CPU and must never block the reactor.
  - L{loadOrCreateSecret} keeps the 64-byte HMAC key in the data directory
    (C{secret.bin}), created on first run with mode C{0600}.
  - L{TokenSigner} issues and checks the stateless login tokens and the
    association tokens, in the Rust server's wire format.  Tokens survive a
    restart because the key is on disk; replacing the key invalidates every
    token ever issued.
  - L{playerForToken} checks a login token against its account, whose
    C{tokenMinExpiry} revokes the tokens issued before a password change,
    a role change, a change of one's own email, an account replaced by
    C{import-rust --replace} or a "log out everywhere" (see
    L{revocationExpiry}).
  - L{FairScheduler} runs the password work of L{Passwords} a few jobs at
    a time, fairly between client addresses, with bounded queues.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import stat
import struct
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

import argon2
import attrs
from argon2.exceptions import InvalidHashError, VerificationError
from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IReactorThreads
    from twisted.python.filepath import FilePath
    from twisted.python.threadpool import ThreadPool

    from pocketrelay.server.store import Player, Store

__all__ = [
    "ASSOCIATION_PAYLOAD_SIZE",
    "DEFAULT_HASH_CONCURRENCY",
    "DEFAULT_HASH_QUEUE",
    "DEFAULT_HASH_QUEUE_PER_CLIENT",
    "DEFAULT_HASH_RUNNING_PER_CLIENT",
    "DEFAULT_MEMORY_COST",
    "DEFAULT_PARALLELISM",
    "DEFAULT_TIME_COST",
    "SECRET_SIZE",
    "TOKEN_LIFETIME",
    "ExpiredToken",
    "FairScheduler",
    "HashingBusy",
    "InvalidToken",
    "PasswordHasher",
    "Passwords",
    "RevokedToken",
    "SecretFileError",
    "TokenError",
    "TokenSigner",
    "hashPasswordInThread",
    "loadOrCreateSecret",
    "playerForToken",
    "revocationExpiry",
    "verifyPasswordInThread",
]

log = Logger()

#: Argon2id memory cost in KiB: 19 MiB, the OWASP minimum for Argon2id.
DEFAULT_MEMORY_COST: Final = 19 * 1024
#: Argon2id iterations (OWASP minimum together with 19 MiB).
DEFAULT_TIME_COST: Final = 2
#: Argon2id lanes (OWASP minimum together with 19 MiB).
DEFAULT_PARALLELISM: Final = 1

#: Size of the HMAC key in C{secret.bin}, in bytes.
SECRET_SIZE: Final = 64

#: How long a login token is valid, in seconds: 30 days, as in Pocket Relay.
TOKEN_LIFETIME: Final = 30 * 24 * 60 * 60

#: Size of a login token's payload: u32 player id and u64 expiry.
_TOKEN_PAYLOAD = struct.Struct(">IQ")
#: Size of an association token's payload: the 16 bytes of a UUID4.
ASSOCIATION_PAYLOAD_SIZE: Final = 16

# Unpadded base64url of n bytes has ceil(4n/3) characters.
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}")
_ASSOCIATION_RE = re.compile(r"[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}")


class PasswordHasher:
    """
    Argon2id password hashing producing PHC strings.

    The defaults are Argon2id with 19 MiB of memory, 2 iterations and 1
    lane: the minimum OWASP's Password Storage Cheat Sheet recommends for
    Argon2id, and the defaults of the Rust C{argon2} crate that Pocket Relay
    uses, so hashes imported from it need no rehash.  Tests pass tiny
    parameters to stay fast.

    Every method is CPU-heavy (except L{needsRehash}); from the reactor
    thread use L{Passwords} instead.
    """

    def __init__(
        self,
        timeCost: int = DEFAULT_TIME_COST,
        memoryCost: int = DEFAULT_MEMORY_COST,
        parallelism: int = DEFAULT_PARALLELISM,
    ) -> None:
        """
        @param timeCost: Argon2 iterations.
        @param memoryCost: Argon2 memory in KiB.
        @param parallelism: Argon2 lanes.
        """
        self._hasher = argon2.PasswordHasher(
            time_cost=timeCost,
            memory_cost=memoryCost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )

    def hashPassword(self, password: str) -> str:
        """
        Hash C{password} with a fresh random salt.

        @return: an Argon2id PHC string.
        @raise TypeError: if C{password} is not a L{str}.
        """
        if not isinstance(password, str):
            raise TypeError("password must be a str")
        return self._hasher.hash(password)

    def verifyPassword(self, hash: str | None, password: str) -> bool:
        """
        Check C{password} against a stored hash.

        Never raises for bad input: a mismatch, an empty or L{None} hash (an
        account without a password), an unparseable hash or a non-string
        argument all give L{False}.
        """
        if not hash or not isinstance(hash, str) or not isinstance(password, str):
            return False
        try:
            return bool(self._hasher.verify(hash, password))
        except (VerificationError, InvalidHashError, ValueError, TypeError):
            return False
        except Exception:
            # argon2's C library reports odd parameters in a crafted hash
            # with its own errors; none of them may escape.
            log.failure("Unexpected error verifying a password hash")
            return False

    def needsRehash(self, hash: str | None) -> bool:
        """
        Whether C{hash} was made with other parameters (or another algorithm)
        than this hasher's, so it should be replaced after the next
        successful login.  An unparseable hash gives L{True}.
        """
        if not hash or not isinstance(hash, str):
            return True
        try:
            return bool(self._hasher.check_needs_rehash(hash))
        except Exception:
            return True


#: Password hashes computed at once by L{Passwords} (the server has a
#: thread pool of this size for them).
DEFAULT_HASH_CONCURRENCY: Final = 2
#: Password hashes one client address may have waiting; more are refused
#: at once with L{HashingBusy}.
DEFAULT_HASH_QUEUE_PER_CLIENT: Final = 4
#: Password hashes all clients together may have waiting.
DEFAULT_HASH_QUEUE: Final = 256
#: Password hashes one client address may have running at once: below
#: L{DEFAULT_HASH_CONCURRENCY}, so one address never holds every thread.
DEFAULT_HASH_RUNNING_PER_CLIENT: Final = 1


#: Clients whose last turn a L{FairScheduler} remembers.
_MAX_SERVED: Final = 4096


class HashingBusy(Exception):
    """
    A password hash was refused without being computed: too many are
    waiting already, from this client address (C{perClient}) or from all.
    Answer it like a rate limit (HTTP 429, Blaze timeout).

    @ivar perClient: whether the client's own queue was full.
    """

    def __init__(self, message: str, perClient: bool) -> None:
        super().__init__(message)
        self.perClient = perClient


@attrs.define(eq=False)
class _Job:
    work: Callable[[], Any]
    deferred: defer.Deferred[Any]


class FairScheduler:
    """
    Runs jobs at most C{concurrency} at a time, fairly between clients.

    Each client (an address) has its own first-in first-out queue, and a
    free slot takes the next job of the waiting client that was served
    least recently (round robin; a client never or not lately served
    comes first), and one client runs at most C{runningPerClient} jobs at
    once: with a C{concurrency} above that, a client with many jobs queued
    never holds every slot, and another client's job starts at once.  A client may have at most C{perClient} jobs waiting and
    all together C{total}; beyond that L{submit} fails at once with
    L{HashingBusy}, so memory and waiting time stay bounded.

    @ivar concurrency: jobs run at once.
    @ivar perClient: jobs one client may have waiting.
    @ivar total: jobs all clients may have waiting.
    @ivar runningPerClient: jobs one client may have running.
    """

    def __init__(
        self,
        run: Callable[[Callable[[], Any]], defer.Deferred[Any]],
        concurrency: int = DEFAULT_HASH_CONCURRENCY,
        perClient: int = DEFAULT_HASH_QUEUE_PER_CLIENT,
        total: int = DEFAULT_HASH_QUEUE,
        runningPerClient: int = DEFAULT_HASH_RUNNING_PER_CLIENT,
    ) -> None:
        """
        @param run: starts a job (in a thread) and returns a L{Deferred}
            firing with its result.
        """
        if min(concurrency, perClient, total, runningPerClient) < 1:
            raise ValueError("concurrency and queue sizes must be at least 1")
        self._run = run
        self.concurrency = concurrency
        self.perClient = perClient
        self.total = total
        self.runningPerClient = runningPerClient
        self._runningFor: dict[str, int] = {}
        self._queues: OrderedDict[str, deque[_Job]] = OrderedDict()
        # When each client was last served (a serial number), least
        # recent first; bounded, forgetting the least recent.
        self._served: OrderedDict[str, int] = OrderedDict()
        self._serial = 0
        self._waiting = 0
        self._running = 0

    @property
    def waiting(self) -> int:
        """
        Jobs waiting for a slot.
        """
        return self._waiting

    @property
    def running(self) -> int:
        """
        Jobs running.
        """
        return self._running

    def submit(self, client: str, work: Callable[[], Any]) -> defer.Deferred[Any]:
        """
        Queue C{work} for C{client}.

        @return: a L{Deferred} firing with C{work}'s result, or failing
            with L{HashingBusy} (at once) when a queue is full.
        """
        queue = self._queues.get(client)
        if queue is not None and len(queue) >= self.perClient:
            return defer.fail(HashingBusy(
                f"{self.perClient} password checks from this address are waiting", True
            ))
        if self._waiting >= self.total:
            return defer.fail(HashingBusy(f"{self.total} password checks are waiting", False))
        job = _Job(work, defer.Deferred())
        if queue is None:
            queue = self._queues[client] = deque()
        queue.append(job)
        self._waiting += 1
        self._pump()
        return job.deferred

    def _pump(self) -> None:
        while self._running < self.concurrency and self._queues:
            ready = [name for name in self._queues
                     if self._runningFor.get(name, 0) < self.runningPerClient]
            if not ready:
                return
            client = min(ready, key=lambda name: self._served.get(name, -1))
            queue = self._queues[client]
            job = queue.popleft()
            self._waiting -= 1
            if not queue:
                del self._queues[client]
            self._serial += 1
            self._served.pop(client, None)
            self._served[client] = self._serial
            while len(self._served) > _MAX_SERVED:
                self._served.popitem(last=False)
            self._running += 1
            self._runningFor[client] = self._runningFor.get(client, 0) + 1
            self._start(client, job)

    def _start(self, client: str, job: _Job) -> None:
        try:
            d = self._run(job.work)
        except BaseException:
            d = defer.fail()

        def done(result: object) -> None:
            self._running -= 1
            left = self._runningFor.pop(client) - 1
            if left:
                self._runningFor[client] = left
            if isinstance(result, Failure):
                job.deferred.errback(result)
            else:
                job.deferred.callback(result)
            self._pump()

        d.addBoth(done)


class Passwords:
    """
    L{PasswordHasher} run in a thread pool, for use from the reactor thread,
    through a L{FairScheduler}: every method takes the C{client} address
    the work is done for, and fails with L{HashingBusy} when that client
    (or everyone) has too many waiting.

    @ivar hasher: the L{PasswordHasher} doing the work.
    @ivar scheduler: the L{FairScheduler}.
    """

    def __init__(
        self,
        reactor: IReactorThreads,
        threadpool: ThreadPool | None = None,
        hasher: PasswordHasher | None = None,
        concurrency: int = DEFAULT_HASH_CONCURRENCY,
        perClient: int = DEFAULT_HASH_QUEUE_PER_CLIENT,
        total: int = DEFAULT_HASH_QUEUE,
        runningPerClient: int = DEFAULT_HASH_RUNNING_PER_CLIENT,
    ) -> None:
        """
        @param reactor: delivers results back to the reactor thread.
        @param threadpool: where hashing runs; by default the reactor's
            own pool (C{reactor.getThreadPool()}), looked up at first use.
        @param hasher: the hasher; by default L{PasswordHasher} with the
            OWASP parameters.
        @param concurrency: hashes computed at once.
        @param perClient: hashes one client address may have waiting.
        @param total: hashes all clients may have waiting.
        @param runningPerClient: hashes one client address may have
            running.
        """
        self._reactor = reactor
        self._threadpool = threadpool
        self._dummyHash: str | None = None
        self.hasher = hasher if hasher is not None else PasswordHasher()
        self.scheduler = FairScheduler(
            self._inThread, concurrency, perClient, total, runningPerClient
        )

    @classmethod
    def perAddress(
        cls,
        reactor: IReactorThreads,
        threadpool: ThreadPool | None,
        perClient: int,
        concurrency: int = DEFAULT_HASH_CONCURRENCY,
    ) -> Passwords:
        """
        L{Passwords} with the OWASP parameters whose queue lets one client
        address have C{perClient} hashes waiting and one running; 0 lifts
        both per-address bounds (only L{DEFAULT_HASH_QUEUE} in all
        remains), for load tests whose players share one address.
        """
        if perClient:
            return cls(reactor, threadpool, concurrency=concurrency, perClient=perClient)
        return cls(reactor, threadpool, concurrency=concurrency,
                   perClient=DEFAULT_HASH_QUEUE, runningPerClient=concurrency)

    def _pool(self) -> ThreadPool:
        if self._threadpool is None:
            self._threadpool = self._reactor.getThreadPool()
        return self._threadpool

    def _inThread(self, work: Callable[[], Any]) -> defer.Deferred[Any]:
        return deferToThreadPool(self._reactor, self._pool(), work)

    def _submit(self, client: str | None, work: Callable[[], Any]) -> defer.Deferred[Any]:
        from pocketrelay.server.limits import addressKey

        return self.scheduler.submit(addressKey(client) if client else "", work)

    def hash(self, password: str, client: str | None = None) -> Deferred[str]:
        """
        Hash C{password} in the thread pool.

        @param client: the address the work is done for (L{None}: the
            server's own, as at start).
        @return: a L{Deferred} firing with the PHC string.
        """
        return self._submit(client, lambda: self.hasher.hashPassword(password))

    def verify(
        self, hash: str | None, password: str, client: str | None = None
    ) -> Deferred[bool]:
        """
        Check C{password} against C{hash} in the thread pool.

        @param client: as for L{hash}.
        @return: a L{Deferred} firing with L{True} or L{False}; it never
            fails for bad input (see L{PasswordHasher.verifyPassword}),
            only with L{HashingBusy}.
        """
        return self._submit(client, lambda: self.hasher.verifyPassword(hash, password))

    def needsRehash(self, hash: str | None) -> bool:
        """
        See L{PasswordHasher.needsRehash}; cheap, so synchronous.
        """
        return self.hasher.needsRehash(hash)

    def verifyAbsent(self, password: str, client: str | None = None) -> Deferred[bool]:
        """
        Spend the time of a real check when there is no account to check
        against, so the answer's timing does not tell which emails have an
        account.  Fires with L{False}.
        """

        def check() -> bool:
            if self._dummyHash is None:
                self._dummyHash = self.hasher.hashPassword("pocketrelay-no-such-account")
            self.hasher.verifyPassword(self._dummyHash, password)
            return False

        return self._submit(client, check)


def hashPasswordInThread(
    reactor: IReactorThreads,
    threadpool: ThreadPool,
    password: str,
    hasher: PasswordHasher | None = None,
) -> Deferred[str]:
    """
    Hash C{password} in C{threadpool}; see L{Passwords.hash}.
    """
    return Passwords(reactor, threadpool, hasher).hash(password)


def verifyPasswordInThread(
    reactor: IReactorThreads,
    threadpool: ThreadPool,
    hash: str | None,
    password: str,
    hasher: PasswordHasher | None = None,
) -> Deferred[bool]:
    """
    Check C{password} against C{hash} in C{threadpool}; see
    L{Passwords.verify}.
    """
    return Passwords(reactor, threadpool, hasher).verify(hash, password)


class SecretFileError(Exception):
    """
    The secret key file cannot be created or read, or has the wrong size.
    The message names the file and never contains the key.
    """


def loadOrCreateSecret(path: FilePath[str]) -> bytes:
    """
    Load the server's HMAC key from C{path}, creating it on first run.

    A new key is L{SECRET_SIZE} bytes from C{os.urandom}, written to a
    temporary file created with C{O_CREAT|O_EXCL} and mode C{0600}, synced,
    then hard-linked into place so that C{path} never exists half-written
    (and a concurrent start loads whichever key won).  An existing file
    that other users could read is tightened to C{0600} and still used.
    The key is never logged.

    @param path: the key file, usually C{data/secret.bin}; missing parent
        directories are created.
    @return: the key.
    @raise SecretFileError: the file has the wrong size, is not a regular
        file, or cannot be read or created.
    """
    try:
        return _loadSecret(path)
    except FileNotFoundError:
        pass
    _createSecret(path)
    return _loadSecret(path)


def _loadSecret(path: FilePath[str]) -> bytes:
    """
    Read an existing key file, tightening its permissions if needed.

    @raise FileNotFoundError: if there is no file at C{path}.
    """
    name = path.path
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(name, flags)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise SecretFileError(f"cannot open secret key file {name}: {e.strerror}")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretFileError(f"secret key file {name} is not a regular file")
        if os.name == "posix" and stat.S_IMODE(info.st_mode) & 0o077:
            log.warn(
                "Secret key file {path} was readable by others (mode {mode}); "
                "setting mode 0600",
                path=name,
                mode=oct(stat.S_IMODE(info.st_mode)),
            )
            try:
                os.fchmod(fd, 0o600)
            except OSError as e:
                raise SecretFileError(
                    f"cannot set mode 0600 on secret key file {name}: {e.strerror}"
                )
        data = b""
        while len(data) <= SECRET_SIZE:
            chunk = os.read(fd, SECRET_SIZE + 1 - len(data))
            if not chunk:
                break
            data += chunk
    except OSError as e:
        raise SecretFileError(f"cannot read secret key file {name}: {e.strerror}")
    finally:
        os.close(fd)
    if len(data) != SECRET_SIZE:
        size = f"{len(data)} bytes" if len(data) <= SECRET_SIZE else "too many bytes"
        raise SecretFileError(
            f"secret key file {name} has {size}, expected {SECRET_SIZE}; "
            f"remove it to generate a new key (every issued token then "
            f"becomes invalid)"
        )
    return data


def _createSecret(path: FilePath[str]) -> None:
    """
    Create C{path} with a new random key unless it exists already.
    """
    name = path.path
    parent = path.parent()
    try:
        if not parent.isdir():
            parent.makedirs(ignoreExistingDirectory=True)
    except OSError as e:
        raise SecretFileError(
            f"cannot create directory {parent.path} for the secret key: {e.strerror}"
        )
    temporary = f"{name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(temporary, flags, 0o600)
    except OSError as e:
        raise SecretFileError(f"cannot create secret key file {name}: {e.strerror}")
    try:
        try:
            view = memoryview(os.urandom(SECRET_SIZE))
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, name)
        except FileExistsError:
            # Someone else created it meanwhile: use theirs.
            return
        syncDirectory(parent.path)
        log.info("Created a new secret key in {path}", path=name)
    except OSError as e:
        raise SecretFileError(f"cannot write secret key file {name}: {e.strerror}")
    finally:
        try:
            os.unlink(temporary)
        except OSError:
            pass


def syncDirectory(directory: str) -> None:
    """
    Make a new directory entry durable, where the platform allows it.
    """
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class TokenError(Exception):
    """
    A token was refused.  Base of L{InvalidToken} and L{ExpiredToken}.
    """


class InvalidToken(TokenError):
    """
    The token is malformed or its signature does not match.
    """


class ExpiredToken(TokenError):
    """
    The token is well-formed and genuine but its expiry time has passed.
    """


class RevokedToken(TokenError):
    """
    The token is genuine and unexpired but was issued before its account
    revoked its tokens (see L{revocationExpiry}).
    """


def revocationExpiry(now: float) -> int:
    """
    The C{tokenMinExpiry} that revokes every login token of an account
    issued up to C{now}: one second past the expiry of a token issued now.
    Tokens issued afterwards (also within the same second) get at least
    this expiry (see L{TokenSigner.issueToken}), so they stay valid.

    The token format is the Rust server's (player id and expiry only), so
    revocation compares expiries: a token is revoked when its expiry is
    before its account's C{tokenMinExpiry}.
    """
    return int(now) + TOKEN_LIFETIME + 1


def playerForToken(signer: TokenSigner, store: Store, token: str) -> Deferred[Player | None]:
    """
    The account a login token belongs to.

    @return: a L{Deferred} firing with the L{Player}, or L{None} when the
        account no longer exists; failing with L{InvalidToken},
        L{ExpiredToken} or L{RevokedToken}.
    """
    try:
        playerId, expiry = signer.readToken(token)
    except TokenError:
        return defer.fail()

    def check(player: Player | None) -> Player | None:
        if player is not None and expiry < player.tokenMinExpiry:
            raise RevokedToken("token revoked")
        return player

    return store.getPlayer(playerId).addCallback(check)


class _Clock(Protocol):
    def seconds(self) -> float: ...


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """
    Decode canonical unpadded base64url already checked against the
    alphabet; anything else raises L{InvalidToken}.
    """
    padded = text + "=" * (-len(text) % 4)
    try:
        data = base64.urlsafe_b64decode(padded)
    except ValueError:
        raise InvalidToken("bad base64")
    if _b64encode(data) != text:
        raise InvalidToken("non-canonical base64")
    return data


class TokenSigner:
    """
    Issues and checks HMAC-SHA256 signed tokens in Pocket Relay's format.

    A login token is C{base64url(u32 BE player id || u64 BE expiry)} C{"."}
    C{base64url(HMAC-SHA256(secret, first part as ASCII))}, unpadded
    base64url, expiry in Unix seconds.  An association token has the same
    shape with the 16 random bytes of a UUID4 as payload.  The payload
    sizes differ (12 and 16 bytes), so neither kind passes for the other.
    """

    def __init__(self, secret: bytes, clock: _Clock) -> None:
        """
        @param secret: the HMAC key, see L{loadOrCreateSecret}.
        @param clock: gives the current Unix time through C{seconds()}
            (the reactor, or a L{twisted.internet.task.Clock} in tests).
        """
        if not isinstance(secret, bytes) or not secret:
            raise ValueError("the token secret must be non-empty bytes")
        self._secret = secret
        self._clock = clock

    def __repr__(self) -> str:
        return "<TokenSigner>"

    def _mac(self, message: str) -> bytes:
        return hmac.new(self._secret, message.encode("ascii"), hashlib.sha256).digest()

    def _sign(self, message: str) -> str:
        return _b64encode(self._mac(message))

    def _check(self, token: object, pattern: re.Pattern[str]) -> bytes:
        """
        Check a token's shape and signature and return its payload.
        """
        if not isinstance(token, str) or not pattern.fullmatch(token):
            raise InvalidToken("malformed token")
        message, signature = token.split(".")
        if not hmac.compare_digest(self._mac(message), _b64decode(signature)):
            raise InvalidToken("bad token signature")
        return _b64decode(message)

    def issueToken(
        self, playerId: int, lifetime: float = TOKEN_LIFETIME, minExpiry: int = 0
    ) -> str:
        """
        Issue a login token for C{playerId}.

        @param playerId: the player's id, 0 to 2**32 - 1.
        @param lifetime: seconds from now until the token expires.
        @param minExpiry: the account's C{tokenMinExpiry}: the expiry is at
            least this, so a token issued right after a revocation (in the
            same second) is not revoked itself.
        @raise ValueError: if the id or the expiry does not fit the format.
        """
        expiry = max(int(self._clock.seconds() + lifetime), minExpiry)
        if not 0 <= playerId <= 0xFFFFFFFF:
            raise ValueError(f"player id {playerId} does not fit 32 bits")
        if not 0 <= expiry <= 0xFFFFFFFFFFFFFFFF:
            raise ValueError("token expiry does not fit 64 bits")
        message = _b64encode(_TOKEN_PAYLOAD.pack(playerId, expiry))
        return f"{message}.{self._sign(message)}"

    def issueFor(self, player: Player) -> str:
        """
        Issue a login token for C{player}, valid despite its earlier
        revocations (see L{issueToken}'s C{minExpiry}).
        """
        return self.issueToken(player.id, minExpiry=player.tokenMinExpiry)

    def verifyToken(self, token: str) -> int:
        """
        Check a login token (not its revocation: see L{playerForToken}).

        @return: the player id it was issued for.
        @raise InvalidToken: for anything that is not a genuine login token
            from this key (any type, length or character).
        @raise ExpiredToken: if it is genuine but its expiry has passed: it
            is valid up to, not including, its expiry second.
        """
        return self.readToken(token)[0]

    def readToken(self, token: str) -> tuple[int, int]:
        """
        Check a login token as L{verifyToken} does.

        @return: the player id and the expiry (Unix seconds).
        """
        payload = self._check(token, _TOKEN_RE)
        if len(payload) != _TOKEN_PAYLOAD.size:
            raise InvalidToken("wrong token payload size")
        playerId, expiry = _TOKEN_PAYLOAD.unpack(payload)
        if self._clock.seconds() >= expiry:
            raise ExpiredToken("token expired")
        return int(playerId), int(expiry)

    def issueAssociation(self) -> str:
        """
        Issue an association token: a signed random UUID4 that a client
        presents to be recognised as the same installation (the tunnel).
        """
        message = _b64encode(uuid.uuid4().bytes)
        return f"{message}.{self._sign(message)}"

    def verifyAssociation(self, token: str) -> bool:
        """
        Whether C{token} is a genuine association token from this key.
        Never raises.
        """
        try:
            payload = self._check(token, _ASSOCIATION_RE)
        except InvalidToken:
            return False
        return len(payload) == ASSOCIATION_PAYLOAD_SIZE
