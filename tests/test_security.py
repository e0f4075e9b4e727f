# -*- test-case-name: tests.test_security -*-
"""
Tests for L{pocketrelay.server.security}.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
import struct
import threading
import uuid
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import reactor as globalReactor
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.logger import LogLevel
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pocketrelay.server import security
from pocketrelay.server.security import (
    SECRET_SIZE,
    TOKEN_LIFETIME,
    ExpiredToken,
    InvalidToken,
    PasswordHasher,
    Passwords,
    SecretFileError,
    TokenError,
    TokenSigner,
    hashPasswordInThread,
    loadOrCreateSecret,
    verifyPasswordInThread,
)
from pocketrelay.testing.logs import captureLogs
from pocketrelay.testing.server import SynchronousThreadPool

#: Tiny Argon2 parameters so that tests stay fast.
_TINY = {"timeCost": 1, "memoryCost": 8, "parallelism": 1}

_SECRET = bytes(range(64))
_NOW = 1_700_000_000


def _tinyHasher() -> PasswordHasher:
    return PasswordHasher(**_TINY)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _SynchronousReactor:
    """
    The thread-related part of a reactor, with a L{SynchronousThreadPool}
    and C{callFromThread} running at once.
    """

    def __init__(self) -> None:
        self.pool = SynchronousThreadPool()
        self.poolRequests = 0

    def callFromThread(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        f(*args, **kwargs)

    def getThreadPool(self) -> SynchronousThreadPool:
        self.poolRequests += 1
        return self.pool


def _result(d: Deferred[Any]) -> Any:
    results: list[Any] = []
    d.addBoth(results.append)
    assert len(results) == 1, "the Deferred has not fired"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


class PasswordHasherTests(SynchronousTestCase):
    """
    Tests for L{PasswordHasher}.
    """

    def test_roundTrip(self) -> None:
        """
        A password verifies against its own hash and a different password
        does not.
        """
        hasher = _tinyHasher()
        hashed = hasher.hashPassword("correct horse")
        self.assertTrue(hasher.verifyPassword(hashed, "correct horse"))
        self.assertFalse(hasher.verifyPassword(hashed, "correct horse "))
        self.assertFalse(hasher.verifyPassword(hashed, ""))

    def test_argon2idPhcString(self) -> None:
        """
        Hashes are Argon2id PHC strings carrying the configured parameters,
        and the password does not appear in them.
        """
        hashed = _tinyHasher().hashPassword("secret-password")
        self.assertTrue(hashed.startswith("$argon2id$v=19$m=8,t=1,p=1$"), hashed)
        self.assertNotIn("secret-password", hashed)

    def test_defaultParameters(self) -> None:
        """
        By default the hasher uses the OWASP minimum for Argon2id: 19 MiB,
        2 iterations, 1 lane.
        """
        self.assertEqual(security.DEFAULT_MEMORY_COST, 19456)
        self.assertEqual(security.DEFAULT_TIME_COST, 2)
        self.assertEqual(security.DEFAULT_PARALLELISM, 1)
        hashed = PasswordHasher().hashPassword("pw")
        self.assertTrue(hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), hashed)

    def test_saltedHashesDiffer(self) -> None:
        """
        Hashing the same password twice gives different hashes (random
        salt), both of which verify.
        """
        hasher = _tinyHasher()
        first = hasher.hashPassword("pw")
        second = hasher.hashPassword("pw")
        self.assertNotEqual(first, second)
        self.assertTrue(hasher.verifyPassword(first, "pw"))
        self.assertTrue(hasher.verifyPassword(second, "pw"))

    def test_unicodePassword(self) -> None:
        """
        Non-ASCII passwords hash and verify.
        """
        hasher = _tinyHasher()
        hashed = hasher.hashPassword("pässwörd✓")
        self.assertTrue(hasher.verifyPassword(hashed, "pässwörd✓"))
        self.assertFalse(hasher.verifyPassword(hashed, "passwort"))

    def test_verifyGarbageHash(self) -> None:
        """
        An empty, missing, unparseable or truncated hash, or arguments of
        the wrong type, give L{False} rather than an exception.
        """
        hasher = _tinyHasher()
        good = hasher.hashPassword("pw")
        for bad in [
            None,
            "",
            "not a hash",
            "$argon2id$",
            "$argon2id$v=19$m=8,t=1,p=1$",
            good[:-5],
            good.replace("argon2id", "argon2xx"),
            "$2b$12$abcdefghijklmnopqrstuu",
            b"bytes",
            12,
        ]:
            self.assertFalse(hasher.verifyPassword(bad, "pw"), repr(bad))  # type: ignore[arg-type]
        self.assertFalse(hasher.verifyPassword(good, None))  # type: ignore[arg-type]
        self.assertFalse(hasher.verifyPassword(good, b"pw"))  # type: ignore[arg-type]

    @given(st.text(max_size=200))
    def test_verifyArbitraryText(self, text: str) -> None:
        """
        Any text given as a hash verifies to L{False} without raising.
        """
        self.assertFalse(_tinyHasher().verifyPassword(text, "pw"))

    def test_hashNonString(self) -> None:
        """
        Hashing something other than a string is a L{TypeError}.
        """
        self.assertRaises(TypeError, _tinyHasher().hashPassword, b"pw")

    def test_needsRehash(self) -> None:
        """
        A hash made with other parameters, or an unparseable one, needs a
        rehash; a hash made with the hasher's own parameters does not.
        """
        tiny = _tinyHasher()
        hashed = tiny.hashPassword("pw")
        self.assertFalse(tiny.needsRehash(hashed))
        self.assertTrue(PasswordHasher().needsRehash(hashed))
        self.assertTrue(tiny.needsRehash("garbage"))
        self.assertTrue(tiny.needsRehash(None))
        self.assertTrue(tiny.needsRehash(""))


class PasswordsTests(SynchronousTestCase):
    """
    Tests for L{Passwords} and the C{*InThread} functions.
    """

    def test_hashAndVerifyInPool(self) -> None:
        """
        L{Passwords.hash} and L{Passwords.verify} run the hasher in the
        given thread pool and deliver the results through Deferreds.
        """
        reactor = _SynchronousReactor()
        passwords = Passwords(reactor, reactor.pool, _tinyHasher())  # type: ignore[arg-type]
        hashed = _result(passwords.hash("pw"))
        self.assertTrue(_result(passwords.verify(hashed, "pw")))
        self.assertFalse(_result(passwords.verify(hashed, "other")))
        self.assertFalse(_result(passwords.verify("garbage", "pw")))
        self.assertFalse(_result(passwords.verify(None, "pw")))
        self.assertEqual(len(reactor.pool.calls), 5)
        self.assertEqual(reactor.poolRequests, 0)
        self.assertFalse(passwords.needsRehash(hashed))

    def test_reactorPoolByDefault(self) -> None:
        """
        Without a thread pool, L{Passwords} uses the reactor's.
        """
        reactor = _SynchronousReactor()
        passwords = Passwords(reactor, hasher=_tinyHasher())  # type: ignore[arg-type]
        hashed = _result(passwords.hash("pw"))
        self.assertTrue(_result(passwords.verify(hashed, "pw")))
        self.assertEqual(len(reactor.pool.calls), 2)
        self.assertEqual(reactor.poolRequests, 1)

    def test_defaultHasher(self) -> None:
        """
        Without a hasher, L{Passwords} uses the OWASP parameters.
        """
        reactor = _SynchronousReactor()
        passwords = Passwords(reactor)  # type: ignore[arg-type]
        self.assertIn("$m=19456,t=2,p=1$", _result(passwords.hash("pw")))

    def test_hashFailure(self) -> None:
        """
        An error while hashing fails the Deferred.
        """
        reactor = _SynchronousReactor()
        passwords = Passwords(reactor, reactor.pool, _tinyHasher())  # type: ignore[arg-type]
        self.assertRaises(TypeError, _result, passwords.hash(None))  # type: ignore[arg-type]

    def test_functions(self) -> None:
        """
        L{hashPasswordInThread} and L{verifyPasswordInThread} do the same
        through the given pool.
        """
        reactor = _SynchronousReactor()
        hasher = _tinyHasher()
        hashed = _result(
            hashPasswordInThread(reactor, reactor.pool, "pw", hasher)  # type: ignore[arg-type]
        )
        self.assertTrue(
            _result(verifyPasswordInThread(reactor, reactor.pool, hashed, "pw", hasher))  # type: ignore[arg-type]
        )
        self.assertFalse(
            _result(verifyPasswordInThread(reactor, reactor.pool, hashed, "x", hasher))  # type: ignore[arg-type]
        )
        self.assertEqual(len(reactor.pool.calls), 3)


class _ThreadRecordingHasher(PasswordHasher):
    """
    A hasher that records the thread it runs in.
    """

    def __init__(self) -> None:
        super().__init__(**_TINY)
        self.threads: list[threading.Thread] = []

    def hashPassword(self, password: str) -> str:
        self.threads.append(threading.current_thread())
        return super().hashPassword(password)


class PasswordsThreadTests(TestCase):
    """
    L{Passwords} with the real reactor and its thread pool.
    """

    def test_runsOffTheReactorThread(self) -> Deferred[None]:
        """
        Hashing runs in a pool thread, and the result arrives in the
        reactor thread.
        """
        hasher = _ThreadRecordingHasher()
        passwords = Passwords(globalReactor, hasher=hasher)  # type: ignore[arg-type]
        callbackThreads = []

        def hashed(value: str) -> Deferred[bool]:
            callbackThreads.append(threading.current_thread())
            return passwords.verify(value, "pw")

        def verified(ok: bool) -> None:
            self.assertTrue(ok)
            self.assertEqual(len(hasher.threads), 1)
            self.assertIsNot(hasher.threads[0], threading.current_thread())
            self.assertIs(callbackThreads[0], threading.current_thread())

        return passwords.hash("pw").addCallback(hashed).addCallback(verified)


class SecretTests(SynchronousTestCase):
    """
    Tests for L{loadOrCreateSecret}.
    """

    def setUp(self) -> None:
        self.directory = FilePath(self.mktemp())
        self.directory.makedirs()
        self.path = self.directory.child("secret.bin")
        self.events = captureLogs(self)

    def _mode(self) -> int:
        return stat.S_IMODE(os.stat(self.path.path).st_mode)

    def _assertSecretNotLogged(self, secret: bytes) -> None:
        for event in self.events:
            text = repr(event)
            self.assertNotIn(secret.hex(), text)
            self.assertNotIn(repr(secret), text)

    def test_createdOnFirstRun(self) -> None:
        """
        The first call creates a file of 64 random bytes and returns them;
        no temporary file is left behind.
        """
        secret = loadOrCreateSecret(self.path)
        self.assertEqual(len(secret), SECRET_SIZE)
        self.assertEqual(self.path.getContent(), secret)
        self.assertEqual(self.directory.listdir(), ["secret.bin"])
        self._assertSecretNotLogged(secret)

    def test_reused(self) -> None:
        """
        Later calls return the key already in the file.
        """
        first = loadOrCreateSecret(self.path)
        self.assertEqual(loadOrCreateSecret(self.path), first)
        self.assertEqual(loadOrCreateSecret(FilePath(self.path.path)), first)

    def test_randomPerFile(self) -> None:
        """
        Two new key files hold different keys.
        """
        other = self.directory.child("other.bin")
        self.assertNotEqual(loadOrCreateSecret(self.path), loadOrCreateSecret(other))

    def test_parentCreated(self) -> None:
        """
        A missing data directory is created.
        """
        path = self.directory.child("a").child("b").child("secret.bin")
        secret = loadOrCreateSecret(path)
        self.assertEqual(path.getContent(), secret)

    def test_createdPrivate(self) -> None:
        """
        The new file has mode 0600 even under a permissive umask.
        """
        if os.name != "posix":
            raise self.skipTest("POSIX permissions only")
        old = os.umask(0)
        try:
            loadOrCreateSecret(self.path)
        finally:
            os.umask(old)
        self.assertEqual(self._mode(), 0o600)

    def test_loosePermissionsTightened(self) -> None:
        """
        An existing key file readable by others is set to mode 0600, still
        used, and a warning naming the file is logged.
        """
        if os.name != "posix":
            raise self.skipTest("POSIX permissions only")
        secret = os.urandom(SECRET_SIZE)
        self.path.setContent(secret)
        os.chmod(self.path.path, 0o644)
        self.assertEqual(loadOrCreateSecret(self.path), secret)
        self.assertEqual(self._mode(), 0o600)
        warnings = [e for e in self.events if e["log_level"] == LogLevel.warn]
        self.assertEqual(len(warnings), 1)
        self.assertEqual(warnings[0]["path"], self.path.path)
        self._assertSecretNotLogged(secret)

    def test_privateFileNotChanged(self) -> None:
        """
        A key file with mode 0600 or stricter is left alone.
        """
        if os.name != "posix":
            raise self.skipTest("POSIX permissions only")
        secret = os.urandom(SECRET_SIZE)
        self.path.setContent(secret)
        os.chmod(self.path.path, 0o400)
        self.assertEqual(loadOrCreateSecret(self.path), secret)
        self.assertEqual(self._mode(), 0o400)
        self.assertEqual(list(self.events), [])

    def test_wrongSize(self) -> None:
        """
        A key file of the wrong size is a L{SecretFileError} naming the
        file, and is left untouched.
        """
        for content in [b"", b"x" * 10, b"y" * (SECRET_SIZE + 1), b"z" * 4096]:
            self.path.setContent(content)
            error = self.assertRaises(SecretFileError, loadOrCreateSecret, self.path)
            self.assertIn(self.path.path, str(error))
            self.assertIn("expected 64", str(error))
            if content:
                self.assertNotIn(content[:10].decode(), str(error))
            self.assertEqual(self.path.getContent(), content)

    def test_directoryInTheWay(self) -> None:
        """
        A directory where the key file should be is a L{SecretFileError}.
        """
        self.path.makedirs()
        error = self.assertRaises(SecretFileError, loadOrCreateSecret, self.path)
        self.assertIn(self.path.path, str(error))

    def test_concurrentCreation(self) -> None:
        """
        If another process creates the key file between our check and our
        link, its key is used and ours is discarded.
        """
        theirs = os.urandom(SECRET_SIZE)
        realLink = os.link

        def racingLink(source: str, destination: str) -> None:
            FilePath(destination).setContent(theirs)
            realLink(source, destination)

        self.patch(os, "link", racingLink)
        self.assertEqual(loadOrCreateSecret(self.path), theirs)
        self.assertEqual(self.directory.listdir(), ["secret.bin"])


class TokenSignerTests(SynchronousTestCase):
    """
    Tests for L{TokenSigner} login tokens.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(_NOW)
        self.signer = TokenSigner(_SECRET, self.clock)

    def test_roundTrip(self) -> None:
        """
        A token verifies to the player id it was issued for.
        """
        for playerId in [0, 1, 12345, 0xFFFFFFFF]:
            token = self.signer.issueToken(playerId)
            self.assertEqual(self.signer.verifyToken(token), playerId)

    def test_wireFormat(self) -> None:
        """
        A token is base64url(u32 BE id + u64 BE expiry) "." base64url(
        HMAC-SHA256 of the first part's ASCII), unpadded, with a 30-day
        lifetime.
        """
        token = self.signer.issueToken(7)
        message, signature = token.split(".")
        self.assertEqual(_unb64(message), struct.pack(">IQ", 7, _NOW + 30 * 24 * 3600))
        expected = hmac.new(_SECRET, message.encode("ascii"), hashlib.sha256).digest()
        self.assertEqual(_unb64(signature), expected)
        self.assertNotIn("=", token)
        self.assertEqual(TOKEN_LIFETIME, 30 * 24 * 3600)

    def test_knownToken(self) -> None:
        """
        The format is pinned: this key, time and player give this exact
        token (as Pocket Relay's format defines it).
        """
        self.assertEqual(
            self.signer.issueToken(1),
            "AAAAAQAAAABle34A.338Wvp9F7GZ8F11lG0TURVLG9AeLGSHRn5NGkWNtTbg",
        )
        self.assertEqual(
            self.signer.verifyToken(
                "3q2-7wAAAABlU_E8._GUTW3E-h19YS9L1XGnmi7JqBhG4hwcbaJjXoSeUm1I"
            ),
            0xDEADBEEF,
        )

    def test_expiry(self) -> None:
        """
        A token is valid until its expiry second and expired from then on;
        expiry is L{ExpiredToken}, distinct from L{InvalidToken}.
        """
        token = self.signer.issueToken(5, lifetime=100)
        self.clock.advance(99)
        self.assertEqual(self.signer.verifyToken(token), 5)
        self.clock.advance(1)
        error = self.assertRaises(ExpiredToken, self.signer.verifyToken, token)
        self.assertNotIsInstance(error, InvalidToken)
        self.assertIsInstance(error, TokenError)

    def test_defaultLifetime(self) -> None:
        """
        Without a lifetime, a token lasts 30 days.
        """
        token = self.signer.issueToken(5)
        self.clock.advance(TOKEN_LIFETIME - 1)
        self.assertEqual(self.signer.verifyToken(token), 5)
        self.clock.advance(1)
        self.assertRaises(ExpiredToken, self.signer.verifyToken, token)

    def test_survivesRestart(self) -> None:
        """
        A new signer with the same key accepts earlier tokens; one with
        another key does not.
        """
        token = self.signer.issueToken(9)
        self.assertEqual(TokenSigner(_SECRET, self.clock).verifyToken(token), 9)
        other = TokenSigner(os.urandom(64), self.clock)
        self.assertRaises(InvalidToken, other.verifyToken, token)

    def test_tamperedPayload(self) -> None:
        """
        Changing the player id or the expiry breaks the signature.
        """
        token = self.signer.issueToken(7)
        message, signature = token.split(".")
        payload = _unb64(message)
        for forged in [
            struct.pack(">IQ", 8, _NOW + 100),
            payload[:4] + struct.pack(">Q", 0xFFFFFFFFFFFFFFFF),
        ]:
            self.assertRaises(
                InvalidToken, self.signer.verifyToken, f"{_b64(forged)}.{signature}"
            )

    def test_tamperedMac(self) -> None:
        """
        Changing any character of the signature makes the token invalid.
        """
        token = self.signer.issueToken(7)
        message, signature = token.split(".")
        for i in range(len(signature)):
            replacement = "A" if signature[i] != "A" else "B"
            forged = signature[:i] + replacement + signature[i + 1 :]
            self.assertRaises(
                InvalidToken, self.signer.verifyToken, f"{message}.{forged}"
            )

    def test_nonCanonicalMac(self) -> None:
        """
        A signature whose unused low bits are set (decoding to the same
        bytes) is refused: only the canonical spelling is accepted.
        """
        token = self.signer.issueToken(7)
        message, signature = token.split(".")
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        last = alphabet.index(signature[-1])
        variant = signature[:-1] + alphabet[last | 1]
        self.assertEqual(_unb64(variant), _unb64(signature))
        self.assertRaises(InvalidToken, self.signer.verifyToken, f"{message}.{variant}")

    def test_expiredAndTamperedIsInvalid(self) -> None:
        """
        The signature is checked before the expiry: a forged expired token
        is invalid, not expired.
        """
        token = self.signer.issueToken(7, lifetime=1)
        self.clock.advance(10)
        self.assertRaises(InvalidToken, self.signer.verifyToken, token[:-1] + "A")
        self.assertRaises(ExpiredToken, self.signer.verifyToken, token)

    def test_garbage(self) -> None:
        """
        Malformed tokens of every kind are L{InvalidToken}.
        """
        token = self.signer.issueToken(7)
        message, signature = token.split(".")
        for bad in [
            "",
            ".",
            "a.b",
            message,
            f"{message}.",
            f".{signature}",
            f"{message}.{signature}.",
            f"{message}.{signature}=",
            f"{message}=.{signature}",
            f" {token}",
            f"{token}\n",
            token.replace("-", "+").replace("_", "/"),
            f"{message[:-1]}é.{signature}",
            "é" * 60,
            f"{message}{signature}",
            f"{message}A.{signature}",
            f"{message}.{signature}A",
            None,
            b"bytes." + token.encode(),
            token.encode(),
            12345,
        ]:
            self.assertRaises(InvalidToken, self.signer.verifyToken, bad)

    def test_associationIsNotALoginToken(self) -> None:
        """
        An association token signed with the same key is not accepted as
        a login token.
        """
        association = self.signer.issueAssociation()
        self.assertRaises(InvalidToken, self.signer.verifyToken, association)

    @given(st.text(max_size=120))
    def test_arbitraryText(self, text: str) -> None:
        """
        Arbitrary text is refused with L{InvalidToken} and nothing else.
        """
        signer = TokenSigner(_SECRET, Clock())
        self.assertRaises(InvalidToken, signer.verifyToken, text)

    @given(st.data())
    def test_mutatedTokens(self, data: st.DataObject) -> None:
        """
        A genuine token with one character replaced, inserted or removed is
        refused with L{InvalidToken}.
        """
        clock = Clock()
        signer = TokenSigner(_SECRET, clock)
        token = signer.issueToken(data.draw(st.integers(0, 0xFFFFFFFF)))
        index = data.draw(st.integers(0, len(token) - 1))
        action = data.draw(st.sampled_from(["replace", "insert", "remove"]))
        char = data.draw(st.characters())
        if action == "replace":
            if char == token[index]:
                return
            mutated = token[:index] + char + token[index + 1 :]
        elif action == "insert":
            mutated = token[:index] + char + token[index:]
        else:
            mutated = token[:index] + token[index + 1 :]
        self.assertRaises(InvalidToken, signer.verifyToken, mutated)

    def test_playerIdRange(self) -> None:
        """
        Player ids that do not fit 32 bits cannot be issued.
        """
        self.assertRaises(ValueError, self.signer.issueToken, -1)
        self.assertRaises(ValueError, self.signer.issueToken, 1 << 32)

    def test_badSecret(self) -> None:
        """
        An empty or non-bytes secret is refused.
        """
        self.assertRaises(ValueError, TokenSigner, b"", self.clock)
        self.assertRaises(ValueError, TokenSigner, "text", self.clock)

    def test_reprHidesSecret(self) -> None:
        """
        The signer's repr does not show the key.
        """
        self.assertNotIn(repr(_SECRET), repr(self.signer))
        self.assertNotIn(_SECRET.hex(), repr(self.signer))


class AssociationTokenTests(SynchronousTestCase):
    """
    Tests for L{TokenSigner} association tokens.
    """

    def setUp(self) -> None:
        self.signer = TokenSigner(_SECRET, Clock())

    def test_roundTrip(self) -> None:
        """
        An issued association verifies; two associations differ.
        """
        first = self.signer.issueAssociation()
        second = self.signer.issueAssociation()
        self.assertTrue(self.signer.verifyAssociation(first))
        self.assertTrue(self.signer.verifyAssociation(second))
        self.assertNotEqual(first, second)

    def test_wireFormat(self) -> None:
        """
        An association is base64url(16 bytes of a UUID4) "." base64url(
        HMAC-SHA256 of the first part's ASCII).
        """
        message, signature = self.signer.issueAssociation().split(".")
        value = uuid.UUID(bytes=_unb64(message))
        self.assertEqual(value.version, 4)
        expected = hmac.new(_SECRET, message.encode("ascii"), hashlib.sha256).digest()
        self.assertEqual(_unb64(signature), expected)

    def test_knownAssociation(self) -> None:
        """
        An association issued earlier with this key still verifies.
        """
        self.assertTrue(
            self.signer.verifyAssociation(
                "8yZnaZnFTlCFN5AxfcGSdg.Yw92oy7WfDb1LEqXVdajD5ew-nQeGoQYmLD1Q_OI8UE"
            )
        )

    def test_refused(self) -> None:
        """
        Forged, foreign, login and garbage tokens are not associations.
        """
        association = self.signer.issueAssociation()
        signature = association.split(".")[1]
        other = TokenSigner(os.urandom(64), Clock())
        for bad in [
            f"{_b64(uuid.uuid4().bytes)}.{signature}",
            other.issueAssociation(),
            self.signer.issueToken(1),
            association[:-1],
            association + "A",
            "",
            ".",
            None,
            b"x",
        ]:
            self.assertFalse(self.signer.verifyAssociation(bad), repr(bad))  # type: ignore[arg-type]

    @given(st.text(max_size=120))
    def test_arbitraryText(self, text: str) -> None:
        """
        Arbitrary text is never an association, and never raises.
        """
        signer = TokenSigner(_SECRET, Clock())
        self.assertFalse(signer.verifyAssociation(text))
