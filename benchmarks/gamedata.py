# -*- test-case-name: tests.test_benchmarks,tests.test_coalesced,tests.test_gamedatainstall -*-
"""
Cost of the game-data codecs.

Run from the project root::

    python -m benchmarks.gamedata          # a few seconds
    python -m benchmarks.gamedata --full   # more repetitions

The sample is a generated coalesced of the shape of the Rust Pocket Relay
server's C{coalesced.json} (7 files, 333 sections, 942 properties, about
4,000 values, texts with repeats; about 1.07 MB of JSON), made by
L{sampleModel}: no EA data.  Measured, each the median of several runs:

  - compiling: C{coalesced.json} bytes to the binary coalesced
    (L{parseJson} then L{serializeBinary}); target under 1 s;
  - parsing the binary back (L{parseBinary}), for information;
  - C{Util.fetchClientConfig ME3_BINI_PC_COMPRESSED} at the server once the
    map is built (L{fetchCost}): from the request's bytes arriving on a
    logged-in session to the reply frame written (decoding, the cached
    map, TDF encoding of about 700 chunks); target under 2 ms.  The first
    fetch (reading, compiling, compressing and chunking
    C{coalesced.json}) is reported for information.

Other figures about game data are added as a function in L{MEASUREMENTS}
(it may use L{sampleModel}, L{sampleJson} and L{measure}).
"""

from __future__ import annotations

import argparse
import functools
import gc
import random
import statistics
import time
from collections.abc import Callable, Sequence

from benchmarks import report
from pocketrelay.me3.coalesced import (
    Coalesced,
    CoalescedFile,
    Property,
    Section,
    Value,
    ValueType,
    parseBinary,
    parseJson,
    serializeBinary,
    serializeJson,
)

__all__ = [
    "MEASUREMENTS",
    "coalescedFigures",
    "main",
    "measure",
    "sampleJson",
    "sampleModel",
]

BENCHMARK = "gamedata"

#: The target for compiling the sample JSON, in seconds.
COMPILE_TARGET = 1.0
#: The target for a fetch of the built coalesced map at the server, in
#: seconds.
FETCH_TARGET = 0.002

_FILES = ("bioai", "bioengine", "biogame", "bioinput", "bioqa", "bioui", "biocredits")
_SECTIONS_PER_FILE = (254, 30, 20, 12, 8, 5, 4)  # 333
_PROPERTIES = 942
_VALUES = 3969
_WORDS = (
    "sfxgame sfxgamecontent sfxweapon assaultrifle shotgun pistol sniperrifle "
    "smg avenger mattock claymore carnifex widow tempest biowaypointset "
    "sfxpowercustomaction reward mpchallenge galaxyatwar readiness item "
    "consumable gear kit character level rank mission banner store pack "
    "commendation medal"
).split()


def _name(rng: random.Random, parts: int) -> str:
    return ".".join(rng.choice(_WORDS) + str(rng.randrange(100)) for _ in range(parts))


def _text(rng: random.Random) -> str:
    """
    An ini value: a number, a word, or a struct of fields, sometimes long.
    """
    shape = rng.random()
    if shape < 0.15:
        return str(rng.randrange(100000)) if rng.random() < 0.5 else f"{rng.random() * 10:.3f}"
    if shape < 0.25:
        return rng.choice(_WORDS).capitalize() + "_" + rng.choice(_WORDS)
    fields = rng.choice((3, 4, 7, 11)) if rng.random() < 0.97 else rng.randrange(40, 70)
    return "(" + ",".join(
        f"{rng.choice(_WORDS).capitalize()}="
        + (
            f'"SFXGameContent.{rng.choice(_WORDS)}_{rng.randrange(40)}"'
            if rng.random() < 0.4
            else str(rng.randrange(1000))
        )
        for _ in range(fields)
    ) + ")"


@functools.cache
def sampleModel(seed: int = 11) -> Coalesced:
    """
    A deterministic coalesced of the Rust server's shape and size: 7 files,
    333 sections, 942 properties (one with 342 values), 3,969 values, about
    three quarters of the texts distinct; about 1.07 MB as JSON.
    """
    rng = random.Random(seed)
    # Properties per section: one each, the rest spread at random.
    perSection = [1] * sum(_SECTIONS_PER_FILE)
    for _ in range(_PROPERTIES - len(perSection)):
        perSection[rng.randrange(len(perSection))] += 1
    # Values per property: one long list, the rest spread at random.
    perProperty = [1] * _PROPERTIES
    perProperty[0] = 342
    for _ in range(_VALUES - sum(perProperty)):
        perProperty[rng.randrange(1, _PROPERTIES)] += 1
    kinds = [ValueType.New] * 17 + [ValueType.AddUnique] * 77 + [ValueType.Remove] * 5
    texts: list[str] = []
    properties = iter(perProperty)
    sectionSizes = iter(perSection)
    files = []
    for fileName, sectionCount in zip(_FILES, _SECTIONS_PER_FILE, strict=True):
        sections = []
        for _ in range(sectionCount):
            props = []
            for _ in range(next(sectionSizes)):
                values = [Value(ValueType.RemoveProperty)] if rng.random() < 0.01 else []
                for _ in range(next(properties) - len(values)):
                    if texts and rng.random() < 0.27:
                        text = rng.choice(texts)
                    else:
                        text = _text(rng)
                        texts.append(text)
                    values.append(Value(rng.choice(kinds), text))
                props.append(Property(_name(rng, 1), values))
            sections.append(Section(_name(rng, 2), props))
        files.append(CoalescedFile(f"..\\..\\biogame\\config\\{fileName}.ini", sections))
    return Coalesced(files)


@functools.cache
def sampleJson(seed: int = 11) -> bytes:
    """
    L{sampleModel} as C{coalesced.json} bytes.
    """
    return serializeJson(sampleModel(seed))


def measure(function: Callable[[], object], repeat: int) -> float:
    """
    The median wall time of C{repeat} calls of C{function}, in seconds,
    with the garbage collector off during each call.
    """
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(times)


def fetchCost(repeat: int) -> tuple[float, float, int]:
    """
    The cost of C{fetchClientConfig ME3_BINI_PC_COMPRESSED} at the server
    with L{sampleJson} as the data directory's C{coalesced.json}.

    @return: the first fetch (building the map) and the median of
        C{repeat} later fetches, in seconds, and the reply's size in bytes.
    """
    import tempfile

    from twisted.python.filepath import FilePath

    from pocketrelay.blaze.frames import Frame, MessageType
    from pocketrelay.blaze.ids import Component, UtilCommand
    from pocketrelay.blaze.protocol import encodeBody
    from pocketrelay.me3.messages.util import FetchClientConfigRequest
    from pocketrelay.testing.server import ServerHarness

    with tempfile.TemporaryDirectory() as directory:
        dataDir = FilePath(directory)
        dataDir.child("coalesced.json").setContent(sampleJson())
        harness = ServerHarness(dataDir)
        connection = harness.loggedIn("bench@example.org")
        request = Frame(
            Component.UTIL,
            UtilCommand.FETCH_CLIENT_CONFIG,
            MessageType.REQUEST,
            1000,
            0,
            encodeBody(FetchClientConfigRequest("ME3_BINI_PC_COMPRESSED")),
        ).encode()
        transport = connection.transport

        def fetch() -> int:
            transport.clear()
            connection.sendRaw(request)
            size = len(transport.value())
            if size < 100_000:
                raise RuntimeError(f"the reply has only {size} bytes")
            return size

        start = time.perf_counter()
        size = fetch()
        first = time.perf_counter() - start
        return first, measure(fetch, repeat), size


def coalescedFigures(repeat: int) -> list[report.Figure]:
    """
    Compile the sample JSON to the binary and parse the binary back, each
    the median of C{repeat} runs.
    """
    source = sampleJson()
    binary = serializeBinary(parseJson(source))
    model = sampleModel()
    values = sum(len(p.values) for f in model.files for s in f.sections for p in s.properties)
    print(
        f"sample: {len(source):,} bytes of JSON, {values:,} values -> "
        f"{len(binary):,} bytes of binary; median of {repeat} runs"
    )
    return [
        report.record(BENCHMARK, "coalesced sample JSON size", len(source) / 1e6, "MB"),
        report.record(
            BENCHMARK,
            "compile 1 MB coalesced.json to binary",
            measure(lambda: serializeBinary(parseJson(source)), repeat) * 1000,
            "ms",
            atMost=COMPILE_TARGET * 1000,
        ),
        report.record(
            BENCHMARK,
            "parse binary coalesced",
            measure(lambda: parseBinary(binary), repeat) * 1000,
            "ms",
        ),
    ]


def fetchFigures(repeat: int) -> list[report.Figure]:
    """
    The first and the cached C{fetchClientConfig ME3_BINI_PC_COMPRESSED} at
    the server (L{fetchCost}); C{repeat} times 20 cached fetches.
    """
    first, cached, size = fetchCost(repeat * 20)
    print(f"fetchClientConfig ME3_BINI_PC_COMPRESSED reply: {size:,} bytes")
    return [
        report.record(
            BENCHMARK,
            "fetchClientConfig ME3_BINI_PC_COMPRESSED, first (builds the map)",
            first * 1000,
            "ms",
        ),
        report.record(
            BENCHMARK,
            "fetchClientConfig ME3_BINI_PC_COMPRESSED, built, at the server",
            cached * 1000,
            "ms",
            atMost=FETCH_TARGET * 1000,
        ),
    ]


#: What L{main} measures: each function takes the number of repetitions
#: and returns the figures it recorded.  Add a measurement by appending.
MEASUREMENTS: list[Callable[[int], list[report.Figure]]] = [coalescedFigures, fetchFigures]


def main(argv: Sequence[str] | None = None) -> int:
    """
    Measure and record the figures; non-zero when a target is missed.
    """
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gamedata", description=__doc__.split("\n\n")[0].strip()
    )
    parser.add_argument("--full", action="store_true", help="more repetitions")
    args = parser.parse_args(argv)
    repeat = 15 if args.full else 5
    figures = [figure for measurement in MEASUREMENTS for figure in measurement(repeat)]
    return report.exitCode(figures)


if __name__ == "__main__":
    raise SystemExit(main())
