# -*- test-case-name: tests.test_benchmarks -*-
"""
Throughput of the TDF codec and the Fire frame decoder.

Run from the project root::

    python -m benchmarks.codec            # about 3 seconds, rougher numbers
    python -m benchmarks.codec --full     # about 20 seconds

Three representative ME3 messages are declared here (independently of
L{pocketrelay.me3}, so the benchmark measures the codec, not the message
catalogue):

  - a four-player C{NotifyGameSetup} (deep structs, lists, unions, many
    small integers: the worst case for a pure-Python codec);
  - a C{UserSettingsLoadAll} reply carrying about 40 KB of player data in a
    string map with a few long values;
  - a chunked C{FetchClientConfig} reply carrying a 165 KB blob (232 KB on
    the wire): 863 base64 strings of 255 characters in a string map.

For each, the declared codec (L{tdf.encode}, L{tdf.decode}), the generic
path (L{tdf.decodeStruct}, L{tdf.encodeStruct}) and, as a yardstick, the
standard library's C{json.dumps} + C{json.loads} on the same logical
content are timed.  The project's target is a declared decode + encode no
slower than five times C{json} on the same content; the ratio for each
message is recorded (L{benchmarks.report}) with that target, and the run
exits with status 1 when one misses it.

Every figure is the median of seven repetitions, each long enough to be
timed reliably (about C{--seconds / 7}), with the garbage collector off as
C{timeit} does (see L{measure}).
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from benchmarks import report
from pocketrelay.blaze import frames, tdf

# ---------------------------------------------------------------------------
# Declarations (GameManager 4 / NotifyGameSetup 0x14, blaze-wire.md 5.8, 5.10)


@tdf.tdfStruct
@attrs.define
class IpAddress:
    ip: int = tdf.member("IP", tdf.UInt)
    port: int = tdf.member("PORT", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class IpPairAddress:
    external: IpAddress = tdf.member("EXIP", tdf.StructOf(IpAddress))
    internal: IpAddress = tdf.member("INIP", tdf.StructOf(IpAddress))


#: NetworkAddress, with only the alternative ME3 uses.
NetworkAddress = tdf.UnionOf({2: tdf.StructOf(IpPairAddress)})


@tdf.tdfStruct
@attrs.define
class NetworkQosData:
    downstreamBps: int = tdf.member("DBPS", tdf.UInt)
    natType: int = tdf.member("NATT", tdf.Int)
    upstreamBps: int = tdf.member("UBPS", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class HostInfo:
    playerId: int = tdf.member("HPID", tdf.Int)
    slot: int = tdf.member("HSLT", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class ReplicatedGameData:
    admins: list[int] = tdf.member("ADMN", tdf.ListOf(tdf.Int))
    attributes: dict[str, str] = tdf.member("ATTR", tdf.MapOf(tdf.Str, tdf.Str))
    capacity: list[int] = tdf.member("CAP", tdf.ListOf(tdf.UInt))
    gameId: int = tdf.member("GID", tdf.UInt)
    gameName: str = tdf.member("GNAM", tdf.Str)
    protocolHash: int = tdf.member("GPVH", tdf.UInt)
    settings: int = tdf.member("GSET", tdf.UInt)
    reportingId: int = tdf.member("GSID", tdf.UInt)
    state: int = tdf.member("GSTA", tdf.Int)
    gameType: str = tdf.member("GTYP", tdf.Str)
    hostNetwork: list[tdf.Choice] = tdf.member("HNET", tdf.ListOf(NetworkAddress))
    hostSession: int = tdf.member("HSES", tdf.UInt)
    ignoreEntryChecks: bool = tdf.member("IGNO", tdf.Bool)
    maxCapacity: int = tdf.member("MCAP", tdf.UInt)
    hostQos: NetworkQosData = tdf.member("NQOS", tdf.StructOf(NetworkQosData))
    notResettable: bool = tdf.member("NRES", tdf.Bool)
    topology: int = tdf.member("NTOP", tdf.Int)
    persistedId: str = tdf.member("PGID", tdf.Str)
    persistedSecret: bytes = tdf.member("PGSR", tdf.Blob)
    platformHost: HostInfo = tdf.member("PHST", tdf.StructOf(HostInfo))
    presence: int = tdf.member("PRES", tdf.Int)
    pingSite: str = tdf.member("PSAS", tdf.Str)
    queueCapacity: int = tdf.member("QCAP", tdf.UInt)
    seed: int = tdf.member("SEED", tdf.UInt)
    teamCapacity: int = tdf.member("TCAP", tdf.UInt)
    topologyHost: HostInfo = tdf.member("THST", tdf.StructOf(HostInfo))
    uuid: str = tdf.member("UUID", tdf.Str)
    voip: int = tdf.member("VOIP", tdf.Int)
    version: str = tdf.member("VSTR", tdf.Str)
    xnnc: bytes = tdf.member("XNNC", tdf.Blob)
    xses: bytes = tdf.member("XSES", tdf.Blob)


@tdf.tdfStruct
@attrs.define
class ReplicatedGamePlayer:
    blob: bytes = tdf.member("BLOB", tdf.Blob)
    externalId: int = tdf.member("EXID", tdf.UInt)
    gameId: int = tdf.member("GID", tdf.UInt)
    locale: int = tdf.member("LOC", tdf.UInt)
    name: str = tdf.member("NAME", tdf.Str)
    playerId: int = tdf.member("PID", tdf.Int)
    network: tdf.Choice = tdf.member("PNET", NetworkAddress)
    slotId: int = tdf.member("SID", tdf.UInt)
    slotType: int = tdf.member("SLOT", tdf.Int)
    state: int = tdf.member("STAT", tdf.Int)
    teamIndex: int = tdf.member("TIDX", tdf.UInt)
    joinTime: int = tdf.member("TIME", tdf.Int)
    userGroupId: tdf.ObjectId = tdf.member("UGID", tdf.ObjId)
    sessionId: int = tdf.member("UID", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class DatalessSetupContext:
    context: int = tdf.member("DCTX", tdf.Int)


@tdf.tdfStruct
@attrs.define
class MatchmakingSetupContext:
    fitScore: int = tdf.member("FIT", tdf.UInt)
    maxFitScore: int = tdf.member("MAXF", tdf.UInt)
    sessionId: int = tdf.member("MSID", tdf.UInt)
    result: int = tdf.member("RSLT", tdf.Int)
    userSessionId: int = tdf.member("USID", tdf.UInt)


@tdf.tdfStruct
@attrs.define
class NotifyGameSetup:
    game: ReplicatedGameData = tdf.member("GAME", tdf.StructOf(ReplicatedGameData))
    players: list[ReplicatedGamePlayer] = tdf.member(
        "PROS", tdf.ListOf(tdf.StructOf(ReplicatedGamePlayer))
    )
    reason: tdf.Choice = tdf.member(
        "REAS",
        tdf.UnionOf(
            {
                0: tdf.StructOf(DatalessSetupContext),
                3: tdf.StructOf(MatchmakingSetupContext),
            }
        ),
    )


@tdf.tdfStruct
@attrs.define
class UserSettingsLoadAllResponse:
    settings: dict[str, str] = tdf.member("SMAP", tdf.MapOf(tdf.Str, tdf.Str))


@tdf.tdfStruct
@attrs.define
class FetchConfigResponse:
    config: dict[str, str] = tdf.member("CONF", tdf.MapOf(tdf.Str, tdf.Str))


# ---------------------------------------------------------------------------
# Sample content (deterministic)

_VERSION = "ME3-295976325-179181965240128"
_PROTOCOL_HASH = 0x05A4F2B378B715C6
_LOCALE_EN_US = 0x656E5553


def _address(rng: random.Random) -> tdf.Choice:
    external = IpAddress(
        rng.randrange(0x01000000, 0xDF000000), rng.randrange(1024, 65536)
    )
    internal = IpAddress(0xC0A80000 | rng.randrange(1, 0xFFFF), 3659)
    return tdf.Choice(2, IpPairAddress(external, internal))


def notifyGameSetup() -> NotifyGameSetup:
    """
    A C{NotifyGameSetup} for a full four-player lobby, as the host sends it
    to a player joining through matchmaking.
    """
    rng = random.Random(14)
    gameId = 1234567
    hostId = 1000042
    names = ["Shepard", "Garrus_Vakarian", "TaliZorah", "xX_Vanguard_Xx"]
    players = []
    for slot, name in enumerate(names):
        playerId = hostId + slot * 17
        players.append(
            ReplicatedGamePlayer(
                blob=b"",
                externalId=0,
                gameId=gameId,
                locale=_LOCALE_EN_US,
                name=name,
                playerId=playerId,
                network=_address(rng),
                slotId=slot,
                slotType=0,
                state=4 if slot < 3 else 2,
                teamIndex=0xFFFF,
                joinTime=1_700_000_000_000_000 + slot * 31_415_926,
                userGroupId=tdf.ObjectId(0, 0, 0),
                sessionId=playerId,
            )
        )
    hostNetwork = players[0].network
    game = ReplicatedGameData(
        admins=[hostId],
        attributes={
            "ME3_dlc2300": "required",
            "ME3_dlc2500": "required",
            "ME3_dlc2700": "required",
            "ME3_dlc3050": "required",
            "ME3_dlc3225": "required",
            "ME3gameDifficulty": "difficulty2",
            "ME3gameEnemyType": "enemy4",
            "ME3gameState": "IN_LOBBY",
            "ME3map": "map11",
            "ME3privacy": "PUBLIC",
        },
        capacity=[4, 0],
        gameId=gameId,
        gameName=names[0],
        protocolHash=_PROTOCOL_HASH,
        settings=0x11F,
        reportingId=gameId,
        state=0x82,
        gameType="",
        hostNetwork=[hostNetwork],
        hostSession=hostId,
        ignoreEntryChecks=False,
        maxCapacity=4,
        hostQos=NetworkQosData(downstreamBps=0, natType=1, upstreamBps=0),
        notResettable=False,
        topology=0,
        persistedId="",
        persistedSecret=b"",
        platformHost=HostInfo(hostId, 0),
        presence=1,
        pingSite="ea-sjc",
        queueCapacity=0,
        seed=rng.randrange(1 << 32),
        teamCapacity=0,
        topologyHost=HostInfo(hostId, 0),
        uuid="286a2373-3e6e-46b9-8294-3ef05e479503",
        voip=2,
        version=_VERSION,
        xnnc=b"",
        xses=b"",
    )
    reason = tdf.Choice(
        3,
        MatchmakingSetupContext(
            fitScore=21600,
            maxFitScore=21600,
            sessionId=hostId + 51,
            result=2,
            userSessionId=hostId + 51,
        ),
    )
    return NotifyGameSetup(game=game, players=players, reason=reason)


_CLASSES = ["Adept", "Soldier", "Engineer", "Sentinel", "Infiltrator", "Vanguard"]
_RACES = [
    "HumanMale",
    "HumanFemale",
    "Asari",
    "Drell",
    "Krogan",
    "Salarian",
    "Turian",
    "Quarian",
    "Geth",
    "Batarian",
    "Vorcha",
]
_POWERS = [
    "Singularity",
    "Warp",
    "Throw",
    "Cryo Blast",
    "Incinerate",
    "Overload",
    "Tactical Cloak",
    "Biotic Charge",
    "Nova",
    "Shockwave",
    "Adrenaline Rush",
    "Concussive Shot",
    "Frag Grenade",
    "Sabotage",
]


def _numbers(rng: random.Random, count: int, high: int) -> str:
    return ",".join(str(rng.randrange(high)) for _ in range(count))


def userSettings() -> UserSettingsLoadAllResponse:
    """
    A C{UserSettingsLoadAll} reply with about 40 KB of player data shaped
    like a real profile (server-behaviour.md 5.2).
    """
    rng = random.Random(12)
    data: dict[str, str] = {}
    inventory = "".join(f"{rng.randrange(256):02x}" for _ in range(671))
    data["Base"] = (
        f"20;4;{rng.randrange(10**7)};-1;0;{rng.randrange(10**8)};0;1234;987654;0;{inventory}"
    )
    for index, name in enumerate(_CLASSES, 1):
        data[f"class{index}"] = (
            f"20;4;{name};{rng.randrange(1, 21)};{rng.randrange(10**6)}.0000;{rng.randrange(5)}"
        )
    for index in range(31):
        kit = f"{_CLASSES[index % 6]}{_RACES[index % len(_RACES)]}"
        powers = ",".join(
            f"{rng.choice(_POWERS)} {rng.randrange(200)} {rng.randrange(7)}.0000 "
            f"{rng.randrange(2)} 0 {rng.randrange(2)} {rng.randrange(2)} 0 0 "
            f"{rng.randrange(6)} {rng.choice(['True', 'False'])}"
            for _ in range(14)
        )
        weapons = _numbers(rng, 2, 120)
        mods = ",".join(f"{rng.randrange(60)} {rng.randrange(60)}" for _ in range(8))
        data[f"char{index}"] = (
            f"20;4;{kit};Kit{index};{rng.randrange(40)};{rng.randrange(40)};"
            f"{rng.randrange(20)};{rng.randrange(40)};{rng.random():.4f};"
            f"{rng.random():.4f};{rng.randrange(6)};{rng.randrange(10**6)};"
            f"2012;{rng.randrange(1, 13)};{rng.randrange(1, 29)};"
            f"{rng.randrange(86400)};{powers};;{weapons};{mods};True;False"
        )
    data["Completion"] = "22," + _numbers(rng, 746, 100)
    data["Progress"] = "22," + _numbers(rng, 745, 1000)
    data["cscompletion"] = "22," + _numbers(rng, 221, 1000)
    for key in ("cstimestamps", "cstimestamps2", "cstimestamps3"):
        data[key] = ",".join(
            str(1_330_000_000 + rng.randrange(10**8)) for _ in range(300)
        )
    data["csreward"] = "133"
    data["FaceCodes"] = "20;"
    data["NewItem"] = "20;4;21 320,21 321,21 322,24 1800"
    return UserSettingsLoadAllResponse(settings=data)


#: The size of the raw blob in the chunked configuration reply.
CONFIG_BLOB_SIZE = 165_000
_CHUNK = 255


def chunkedConfig() -> FetchConfigResponse:
    """
    A C{FetchClientConfig} reply carrying a 165 KB blob, base64-encoded and
    split into C{CHUNK_n} entries of 255 characters (blaze-wire.md 5.5).
    """
    rng = random.Random(9)
    blob = rng.randbytes(CONFIG_BLOB_SIZE)
    encoded = base64.b64encode(blob).decode("ascii")
    config = {
        f"CHUNK_{index}": encoded[start : start + _CHUNK]
        for index, start in enumerate(range(0, len(encoded), _CHUNK))
    }
    config["CHUNK_SIZE"] = str(_CHUNK)
    config["DATA_SIZE"] = str(len(encoded))
    return FetchConfigResponse(config=config)


def toPlain(value: Any) -> Any:
    """
    The same logical content as plain JSON-able Python values: structs as
    dicts keyed by attribute name, unions as C{{"index", "value"}} dicts,
    blobs as hex strings, object ids as lists.
    """
    if isinstance(value, tdf.Choice):
        return {"index": value.index, "value": toPlain(value.value)}
    if isinstance(value, tdf.ObjectId):
        return [value.component, value.type, value.id]
    if attrs.has(type(value)):
        return {
            field.name: toPlain(getattr(value, field.name))
            for field in attrs.fields(type(value))
        }
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list):
        return [toPlain(item) for item in value]
    if isinstance(value, dict):
        return {key: toPlain(item) for key, item in value.items()}
    return value


def samples() -> list[tuple[str, type, Any]]:
    """
    The benchmarked messages: C{(name, declared class, instance)}.
    """
    return [
        ("NotifyGameSetup", NotifyGameSetup, notifyGameSetup()),
        ("UserSettingsLoadAll", UserSettingsLoadAllResponse, userSettings()),
        ("FetchClientConfig", FetchConfigResponse, chunkedConfig()),
    ]


def smallFrameStream(count: int = 1000) -> bytes:
    """
    C{count} small frames back to back: pings, pings replies and short
    requests with bodies of a few dozen bytes.
    """
    pieces = []
    for seq in range(count):
        body = bytes(range(seq % 48))
        frame = frames.request(9, 2 + seq % 3, seq & 0xFFFFF, body)
        pieces.append(frame.encode())
    return b"".join(pieces)


# ---------------------------------------------------------------------------
# Measurement

#: Repetitions of each measurement; the median is reported.
REPEAT = 7


def measure(func: Callable[[], object], seconds: float, repeat: int = REPEAT) -> float:
    """
    Time C{func} the way C{timeit} does: find a loop count whose run takes
    at least C{seconds / repeat}, run that loop C{repeat} times with the
    garbage collector off and return the median time of one call, in
    seconds.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _measure(func, seconds, repeat)
    finally:
        if enabled:
            gc.enable()


def _measure(func: Callable[[], object], seconds: float, repeat: int) -> float:
    clock = time.perf_counter
    target = seconds / repeat
    loops = 1
    while True:
        start = clock()
        for _ in range(loops):
            func()
        elapsed = clock() - start
        if elapsed >= target:
            break
        if elapsed <= 0:
            loops *= 10
        else:
            loops = max(loops + 1, min(loops * 10, int(loops * target / elapsed * 1.1)))
    # The calibration runs were the warm-up; they are not counted.
    results = []
    for _ in range(repeat):
        start = clock()
        for _ in range(loops):
            func()
        results.append((clock() - start) / loops)
    return statistics.median(results)


@attrs.frozen
class Result:
    """
    One line of the table.

    @ivar seconds: median time of one operation.
    @ivar size: bytes processed by one operation.
    @ivar count: messages (or frames) handled by one operation.
    """

    subject: str
    operation: str
    seconds: float
    size: int
    count: int = 1

    @property
    def perSecond(self) -> float:
        return self.count / self.seconds

    @property
    def megabytesPerSecond(self) -> float:
        return self.size / self.seconds / 1e6


def _checkRoundTrip(name: str, cls: type, body: bytes) -> None:
    """
    Make sure the codec paths being timed agree with each other.
    """
    if tdf.encode(tdf.decode(cls, body)) != body:
        raise SystemExit(f"{name}: declared decode+encode changes the bytes")
    if tdf.encodeStruct(tdf.decodeStruct(body)) != body:
        raise SystemExit(f"{name}: generic decode+encode changes the bytes")


def benchmarkMessage(
    name: str, cls: type, message: Any, seconds: float
) -> tuple[list[Result], float]:
    """
    Time one message through every path.

    @return: the table lines and the ratio of the declared decode + encode
        time to the C{json} dumps + loads time.
    """
    body = tdf.encode(message)
    _checkRoundTrip(name, cls, body)
    plain = toPlain(message)
    text = json.dumps(plain)
    size = len(body)
    encode, decode = tdf.encode, tdf.decode
    decodeStruct, encodeStruct = tdf.decodeStruct, tdf.encodeStruct
    dumps, loads = json.dumps, json.loads

    results = [
        Result(name, "encode", measure(lambda: encode(message), seconds), size),
        Result(name, "decode", measure(lambda: decode(cls, body), seconds), size),
        Result(
            name,
            "decode+encode",
            measure(lambda: encode(decode(cls, body)), seconds),
            size,
        ),
        Result(
            name,
            "generic decode+encode",
            measure(lambda: encodeStruct(decodeStruct(body)), seconds),
            size,
        ),
        Result(
            name,
            "json dumps+loads",
            measure(lambda: loads(dumps(plain)), seconds),
            len(text),
        ),
    ]
    return results, results[2].seconds / results[4].seconds


def benchmarkFrames(seconds: float) -> list[Result]:
    """
    Time L{frames.FrameDecoder.feed} on a stream of 1000 small frames (fed
    in 64 KiB reads, as a reactor would) and on one jumbo frame carrying the
    configuration reply.
    """
    stream = smallFrameStream()
    reads = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]
    decoder = frames.FrameDecoder()
    if sum(len(decoder.feed(piece)) for piece in reads) != 1000:
        raise SystemExit("frame decoder did not return 1000 frames")

    def feedSmall() -> None:
        for piece in reads:
            decoder.feed(piece)

    body = tdf.encode(chunkedConfig())
    jumbo = frames.Frame(9, 1, frames.MessageType.REPLY, 7, body=body).encode()
    jumboReads = [jumbo[i : i + 65536] for i in range(0, len(jumbo), 65536)]

    def feedJumbo() -> None:
        for piece in jumboReads:
            decoder.feed(piece)

    return [
        Result(
            "FrameDecoder",
            "1000 small frames",
            measure(feedSmall, seconds),
            len(stream),
            1000,
        ),
        Result(
            "FrameDecoder",
            f"jumbo frame ({len(jumbo) // 1000} KB)",
            measure(feedJumbo, seconds),
            len(jumbo),
        ),
    ]


# ---------------------------------------------------------------------------
# Output

_TARGET_RATIO = 5.0


def formatTable(results: Sequence[Result]) -> str:
    """
    The results as an aligned text table.
    """
    header = ("subject", "operation", "bytes", "us/op", "ops/s", "MB/s")
    rows = [header]
    for r in results:
        rows.append(
            (
                r.subject,
                r.operation,
                f"{r.size:,}",
                f"{r.seconds * 1e6:,.1f}",
                f"{r.perSecond:,.0f}",
                f"{r.megabytesPerSecond:,.1f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(width) if column < 2 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run the benchmark, print the table and record the figures.

    @return: 1 if a message's ratio missed the target, else 0.
    """
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.codec", description=__doc__.split("\n\n")[0].strip()
    )
    parser.add_argument(
        "--full", action="store_true", help="long run (steadier numbers)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="time spent on each measurement (default 0.05, 0.5 with --full)",
    )
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (0.5 if args.full else 0.05)

    print(
        f"Python {sys.version.split()[0]}; median of {REPEAT} repetitions, "
        f"~{seconds:g} s per measurement\n"
    )
    results: list[Result] = []
    ratios: list[tuple[str, float]] = []
    for name, cls, message in samples():
        lines, ratio = benchmarkMessage(name, cls, message, seconds)
        results.extend(lines)
        ratios.append((name, ratio))
    frameResults = benchmarkFrames(seconds)
    results.extend(frameResults)
    print(formatTable(results))
    print()
    figures = []
    for name, ratio in ratios:
        declared = next(r for r in results if r.subject == name and r.operation == "decode+encode")
        figures.append(report.record("codec", f"{name} decode+encode", declared.seconds * 1e6,
                                     "µs"))
        figures.append(report.record("codec", f"{name} decode+encode / json", ratio, "x",
                                     atMost=_TARGET_RATIO))
    small, jumbo = frameResults
    figures.append(report.record("codec", "FrameDecoder, small frames", small.perSecond,
                                 "frames/s"))
    figures.append(report.record("codec", f"FrameDecoder, {jumbo.operation}",
                                 jumbo.megabytesPerSecond, "MB/s"))
    return report.exitCode(figures)


if __name__ == "__main__":
    sys.exit(main())
