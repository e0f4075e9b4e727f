# -*- test-case-name: tests.test_fuzz_regressions -*-
"""
Run one fuzz target under atheris (libFuzzer for Python).

    python -m fuzz.run TARGET [-runs=N] [libFuzzer options...]
    python -m fuzz.run --list

Seeds come from the test vectors; crashing inputs are written to
C{fuzz/crashes/TARGET-*}.  Turn each into a regression test by copying it
to C{fuzz/regressions/TARGET/} (C{tests.test_fuzz_regressions} replays
them all) and fixing the bug.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def seeds(target: str) -> str:
    """
    A directory of seed inputs for C{target}: the reference test vectors
    (bodies for TDF targets, whole frames for the others), the target's
    own seeds (L{pocketrelay.testing.fuzzing.SEEDS}) and the saved
    regressions.
    """
    directory = tempfile.mkdtemp(prefix=f"fuzz-{target}-")
    vectors = json.load(open(os.path.join(HERE, "..", "tests", "data", "tdf-vectors.json")))
    for vector in vectors:
        data = bytes.fromhex(vector["hex"])
        if target.startswith("tdf") and vector["id"].startswith("D") and len(data) >= 12:
            data = data[12:]
        if target == "tdf-declared":
            data = b"\x00" + data
        with open(os.path.join(directory, vector["id"]), "wb") as f:
            f.write(data)
    from pocketrelay.testing.fuzzing import SEEDS

    for number, data in enumerate(SEEDS.get(target, list)()):
        with open(os.path.join(directory, f"shaped-{number}"), "wb") as f:
            f.write(data)
    saved = os.path.join(HERE, "regressions", target)
    if os.path.isdir(saved):
        for name in os.listdir(saved):
            with open(os.path.join(saved, name), "rb") as src, open(
                os.path.join(directory, "saved-" + name), "wb"
            ) as dst:
                dst.write(src.read())
    return directory


def main(argv: list[str]) -> int:
    import atheris

    with atheris.instrument_imports(include=["pocketrelay"]):
        from pocketrelay.testing.fuzzing import TARGETS

    if not argv or argv[0] in ("-h", "--help", "--list"):
        print("targets:", " ".join(sorted(TARGETS)))
        return 0
    name, options = argv[0], argv[1:]
    if name not in TARGETS:
        print(f"unknown target {name!r}; targets: {' '.join(sorted(TARGETS))}", file=sys.stderr)
        return 2
    target = TARGETS[name]
    crashes = os.path.join(HERE, "crashes")
    os.makedirs(crashes, exist_ok=True)
    args = [sys.argv[0], *options, f"-artifact_prefix={crashes}/{name}-", seeds(name)]
    atheris.Setup(args, target)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
