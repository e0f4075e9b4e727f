# -*- test-case-name: tests.test_fuzz_regressions -*-
"""
Every fuzz target, run on the seed vectors, on every saved crash input in
C{fuzz/regressions/TARGET/}, and on a short burst of random inputs, so the
targets keep working and fixed crashes stay fixed.  The long runs are
C{make fuzz}.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.testing.fuzzing import SEEDS, TARGETS

HERE = FilePath(__file__).parent()
REGRESSIONS = HERE.sibling("fuzz").child("regressions")


def _seeds() -> list[bytes]:
    vectors = json.loads(HERE.child("data").child("tdf-vectors.json").getContent())
    found = []
    for vector in vectors:
        data = bytes.fromhex(vector["hex"])
        found.append(data)
        if vector["id"].startswith("D") and len(data) > 12:
            found.append(data[12:])
    return found


class FuzzTargetTests(SynchronousTestCase):
    """
    The fuzz targets accept their seeds, their saved regressions and random
    input without an unexpected error.
    """

    def runTarget(self, name: str) -> None:
        target = TARGETS[name]
        inputs = _seeds() + SEEDS.get(name, [])
        saved = REGRESSIONS.child(name)
        if saved.isdir():
            inputs.extend(child.getContent() for child in saved.children())
        rng = random.Random(name)
        for _ in range(300):
            inputs.append(rng.randbytes(rng.randrange(0, 300)))
        for data in inputs:
            try:
                target(data)
            except Exception as e:  # pragma: no cover - a found bug
                self.fail(f"{name} failed on {data.hex()}: {e!r}")

    def test_everyTargetListed(self) -> None:
        """
        The targets cover the decoders and protocols that face the network.
        """
        self.assertEqual(
            sorted(TARGETS),
            sorted(["tdf-generic", "tdf-declared", "frames", "blaze-server",
                    "http-server", "telemetry", "redirector", "coalesced", "tlk"]),
        )


def _makeTest(name: str) -> Callable[[FuzzTargetTests], None]:
    def test(self: FuzzTargetTests) -> None:
        self.runTarget(name)

    test.__doc__ = f"The {name} fuzz target handles seeds, regressions and random bytes."
    return test


for _name in TARGETS:
    setattr(FuzzTargetTests, "test_" + _name.replace("-", "_"), _makeTest(_name))
