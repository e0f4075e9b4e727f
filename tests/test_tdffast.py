# -*- test-case-name: tests.test_tdffast -*-
"""
Tests for the generated encoders and decoders of declared TDF structs
(L{pocketrelay.blaze.tdf._StructCodec}): their inlined fast paths must give
exactly what the general, tolerant loop gives, values, anomalies and
errors alike.
"""

from __future__ import annotations

import contextlib
import functools
import random
from collections.abc import Callable, Iterator
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from benchmarks import codec as samples
from pocketrelay.blaze import tdf
from pocketrelay.testing import strategies

_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _declared(*modules: Any) -> list[type]:
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type) and "__tdf_codec__" in value.__dict__
    ]


_CLASSES = _declared(strategies, samples)


def _oracleWrite(codec: Any) -> Callable[[bytearray, Any, int], None]:
    """
    The plain member-by-member encoder the generated one replaces.
    """

    def write(out: bytearray, value: Any, depth: int) -> None:
        name = codec.cls.__name__
        if value.__class__ is not codec.cls and not isinstance(value, codec.cls):
            raise tdf.TdfEncodeError(f"expected {name}, not {type(value).__name__}")
        if depth > tdf.MAX_DEPTH:
            raise tdf.TdfEncodeError("values nest too deeply")
        for spec in codec.specs:
            item = getattr(value, spec.name)
            if spec.optional and item is None:
                continue
            out += spec.header
            try:
                spec.kind.write(out, item, depth)
            except tdf.TdfEncodeError as e:
                if e.reason.startswith(f"{name}."):
                    raise
                raise tdf.TdfEncodeError(f"{name}.{spec.name}: {e.reason}")

    return write


def _oracleRead(codec: Any) -> Callable[..., Any]:
    """
    The general decoding loop alone, from the start of the struct.
    """

    def read(
        data: bytes, pos: int, end: int, nested: bool, depth: int, ctx: Any
    ) -> Any:
        if depth > tdf.MAX_DEPTH:
            raise tdf.TdfDecodeError("values nest too deeply", pos)
        return codec._readRest(data, pos, end, nested, depth, ctx, {}, b"")

    return read


@contextlib.contextmanager
def _withoutFastPaths() -> Iterator[None]:
    """
    Make every declared test struct use the oracle codecs.  Nested structs
    are reached through the codec attributes, so none of the generated code
    runs meanwhile.
    """
    saved = []
    for cls in _CLASSES:
        codec = cls.__dict__["__tdf_codec__"]
        saved.append((codec, codec.read, codec.write))
        codec.read = _oracleRead(codec)
        codec.write = _oracleWrite(codec)
    try:
        yield
    finally:
        for codec, read, write in saved:
            codec.read = read
            codec.write = write


def _decodeOutcome(cls: type, data: bytes) -> tuple[Any, ...]:
    ctx = tdf.DecodeContext()
    try:
        value: Any = tdf.decode(cls, data, ctx)
    except tdf.TdfDecodeError as e:
        return ("error", e.reason, e.offset, tuple(ctx.anomalies))
    # repr, not ==, so that a NaN float compares equal to itself.
    return ("value", repr(value), tuple(ctx.anomalies))


def _encodeOutcome(value: Any) -> tuple[Any, ...]:
    try:
        return ("bytes", tdf.encode(value))
    except tdf.TdfEncodeError as e:
        return ("error", e.reason)


def _bothWays(func: Callable[[], Any]) -> tuple[Any, Any]:
    fast = func()
    with _withoutFastPaths():
        slow = func()
    return fast, slow


def _reorder(rng: random.Random, body: bytes) -> bytes:
    """
    Rewrite a body with members dropped, repeated, swapped, retyped or
    added, keeping the result well-formed.
    """
    members = list(tdf.decodeStruct(body).members)
    for _ in range(rng.randint(1, 3)):
        if not members:
            break
        i = rng.randrange(len(members))
        op = rng.randrange(5)
        if op == 0:
            del members[i]
        elif op == 1:
            members.insert(rng.randrange(len(members) + 1), members[i])
        elif op == 2:
            j = rng.randrange(len(members))
            members[i], members[j] = members[j], members[i]
        elif op == 3:
            members[i] = tdf.Member(members[i].tag, tdf.TdfType.STRING, "x")
        else:
            tag = rng.choice(["A", "GIC", "ZZZZ", "NAMF", "AGE"])
            members.insert(i, tdf.Member(tag, tdf.TdfType.INT, rng.randrange(99)))
    # One member at a time keeps the order chosen here.
    return b"".join(tdf.encodeStruct([item]) for item in members)


def _damage(rng: random.Random, body: bytes) -> bytes:
    """
    Flip, drop, insert or cut bytes.
    """
    data = bytearray(body)
    for _ in range(rng.randint(1, 3)):
        if not data:
            break
        i = rng.randrange(len(data))
        op = rng.randrange(4)
        if op == 0:
            data[i] = rng.randrange(256)
        elif op == 1:
            del data[i : i + rng.randint(1, 6)]
        elif op == 2:
            data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 3)))
        else:
            del data[i:]
    return bytes(data)


class FastPathAgreementTests(SynchronousTestCase):
    """
    The generated codecs and the general loop agree on every input.
    """

    @_SETTINGS
    @given(strategies.everythings())
    def test_canonicalRoundTrip(self, value: strategies.Everything) -> None:
        """
        Canonical bodies decode to the same value without anomalies, and
        values encode to the same bytes, along both paths.
        """
        fast, slow = _bothWays(lambda: _encodeOutcome(value))
        self.assertEqual(fast, slow)
        body = fast[1]
        fastRead, slowRead = _bothWays(
            lambda: _decodeOutcome(strategies.Everything, body)
        )
        self.assertEqual(fastRead, slowRead)
        self.assertEqual(fastRead[2], ())

    @_SETTINGS
    @given(strategies.everythings(), st.randoms(use_true_random=False))
    def test_reorderedMembers(
        self, value: strategies.Everything, rng: random.Random
    ) -> None:
        """
        Missing, repeated, out-of-order, mistyped and unknown members give
        the same value and the same anomalies along both paths.
        """
        body = _reorder(rng, tdf.encode(value))
        fast, slow = _bothWays(lambda: _decodeOutcome(strategies.Everything, body))
        self.assertEqual(fast, slow)

    @_SETTINGS
    @given(strategies.everythings(), st.randoms(use_true_random=False))
    def test_damagedBytes(
        self, value: strategies.Everything, rng: random.Random
    ) -> None:
        """
        Damaged bodies give the same value or the same error, with the
        same offset, along both paths.
        """
        body = _damage(rng, tdf.encode(value))
        fast, slow = _bothWays(lambda: _decodeOutcome(strategies.Everything, body))
        self.assertEqual(fast, slow)

    def test_benchmarkMessages(self) -> None:
        """
        The benchmark's ME3 messages, intact, reordered and damaged, decode
        the same along both paths.
        """
        rng = random.Random(5)
        for _, cls, message in samples.samples()[:2]:
            body = tdf.encode(message)
            encoded = _bothWays(functools.partial(tdf.encode, message))
            self.assertEqual(encoded, (body, body))
            bodies = [body]
            bodies += [_reorder(rng, body) for _ in range(30)]
            bodies += [_damage(rng, body) for _ in range(30)]
            for data in bodies:
                fast, slow = _bothWays(functools.partial(_decodeOutcome, cls, data))
                self.assertEqual(fast, slow)

    def test_irregularScalars(self) -> None:
        """
        Scalars the fast path reads itself in their unusual forms (negative
        unsigned values, strings without terminator or with bad UTF-8,
        two-byte lengths, booleans other than 0 and 1, the lone negative
        zero) read the same along both paths.
        """

        canonical = tdf.decodeStruct(tdf.encode(strategies.Everything())).members

        def member(tag: str, code: int, value: bytes) -> bytes:
            # A whole canonical body with this member replaced, so that the
            # fast path reaches it.
            raw = tdf.encodeTag(tag) + bytes([code]) + value
            return b"".join(
                raw if item.tag == tag else tdf.encodeStruct([item])
                for item in canonical
            )

        name = lambda value: member("NAME", tdf.TdfType.STRING, value)  # noqa: E731
        bodies = {
            "unsigned": member("UINT", tdf.TdfType.INT, tdf.encodeVarint(-5)),
            "noNul": name(b"\x03abc"),
            "badUtf8": name(b"\x04a\xffb\x00"),
            "long": name(tdf.encodeVarint(101) + b"n" * 100 + b"\x00"),
            "longNoNul": name(tdf.encodeVarint(100) + b"n" * 100),
            "empty": name(b"\x00"),
            "flag": member("FLAG", tdf.TdfType.INT, b"\x02"),
            "minimum": member("AGE", tdf.TdfType.INT, b"\x40"),
            "blob": member("BLOB", tdf.TdfType.BLOB, b"\x02\x00\x01"),
        }
        outcomes = {}
        for key, body in bodies.items():
            fast, slow = _bothWays(
                functools.partial(_decodeOutcome, strategies.Everything, body)
            )
            self.assertEqual(fast, slow, key)
            outcomes[key] = tdf.decode(strategies.Everything, body)
        self.assertEqual(outcomes["unsigned"].unsigned, 2**64 - 5)
        self.assertEqual(outcomes["noNul"].name, "abc")
        self.assertEqual(outcomes["badUtf8"].name, "a\udcffb")
        self.assertEqual(outcomes["long"].name, "n" * 100)
        self.assertEqual(outcomes["longNoNul"].name, "n" * 100)
        self.assertIs(outcomes["flag"].flag, True)
        self.assertEqual(outcomes["minimum"].age, tdf.INT64_MIN)
        self.assertEqual(outcomes["blob"].blob, b"\x00\x01")

    def test_badMemberValues(self) -> None:
        """
        Every member set to a value of the wrong type or range is reported
        with the same error (naming struct and member) by both encoders, or
        encoded to the same bytes.
        """
        badValues: list[Any] = [
            None, True, -1, 2**63, 2**64, -(2**63) - 1, "x", "\ud800",
            b"x" * 70, bytearray(b"ab"), 1.5, [1], {"a": "b"}, tdf.Choice(),
            object(),
        ]  # fmt: skip
        for name in [f.name for f in attrs.fields(samples.ReplicatedGamePlayer)]:
            for bad in badValues:
                player = samples.notifyGameSetup().players[0]
                setattr(player, name, bad)
                fast, slow = _bothWays(functools.partial(_encodeOutcome, player))
                self.assertEqual(fast, slow, (name, bad))


@tdf.tdfStruct
@attrs.define
class _Inner:
    count: int = tdf.member("CNT", tdf.Int)


@tdf.tdfStruct
@attrs.define
class _Outer:
    inner: _Inner = tdf.member("INNR", tdf.StructOf(_Inner))
    label: str = tdf.member("LABL", tdf.Str)
    secret: int = attrs.field(default=0, alias="hidden", metadata={})
    _private: int = tdf.member("PRIV", tdf.UInt)


class GeneratedCodecTests(SynchronousTestCase):
    """
    Details of the generated codecs.
    """

    def test_privateAttribute(self) -> None:
        """
        A member with a leading underscore is built through its attrs
        alias, along the fast path and the general one.
        """
        value = _Outer(_Inner(3), "x", private=7)
        body = tdf.encode(value)
        self.assertEqual(tdf.decode(_Outer, body), value)
        missingLabel = b"".join(
            tdf.encodeStruct([m])
            for m in tdf.decodeStruct(body).members
            if m.tag != "LABL"
        )
        self.assertEqual(
            tdf.decode(_Outer, missingLabel), _Outer(_Inner(3), "", private=7)
        )

    def test_nestedErrorNamesMembers(self) -> None:
        """
        An encoding error deep inside names each struct and member on the
        way down.
        """
        value = _Outer(_Inner("three"), "x")  # type: ignore[arg-type]
        with self.assertRaises(tdf.TdfEncodeError) as caught:
            tdf.encode(value)
        self.assertEqual(
            caught.exception.reason,
            "_Outer.inner: _Inner.count: expected an integer, not str",
        )

    def test_structDefaultsAreFresh(self) -> None:
        """
        A struct member's default is a new instance for every instance,
        also when decoding leaves the member out.
        """
        first, second = _Outer(), _Outer()
        first.inner.count = 5
        self.assertEqual(second.inner.count, 0)
        decoded = tdf.decode(_Outer, b"")
        self.assertIsNot(decoded.inner, tdf.decode(_Outer, b"").inner)
        self.assertIsNot(decoded.inner, second.inner)

    def test_tracebackShowsGeneratedSource(self) -> None:
        """
        The generated functions' source is available to tracebacks.
        """
        import linecache

        code = _Outer.__dict__["__tdf_codec__"].read.__code__
        source = "".join(linecache.getlines(code.co_filename))
        self.assertIn("def read(data, pos, end, nested, depth, ctx):", source)
        self.assertIn("_Outer", code.co_filename)
