# -*- test-case-name: tests.test_benchmarks -*-
"""
Figures that a benchmark measured, with the target each must meet.

Every benchmark module records what it measured through L{record}, so that
one runner can collect the figures of all of them into one table and the
documentation's numbers come from that output.  A benchmark's C{main}
returns L{exitCode} of its figures: non-zero when any target was missed.

When the environment variable C{POCKETRELAY_BENCH_RESULTS} names a file,
each figure is also appended to it as one JSON object per line (the runner
reads them from there).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

import attrs
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

#: Environment variable naming the JSON-lines file figures are appended to.
RESULTS_ENV = "POCKETRELAY_BENCH_RESULTS"


@attrs.frozen
class Figure:
    """
    One measured figure.

    @ivar benchmark: the benchmark's name (its module, e.g. C{"codec"}).
    @ivar name: what was measured, in words.
    @ivar value: the measured value.
    @ivar unit: the unit of C{value} (C{"ms"}, C{"x"}, C{"MiB"}, ...).
    @ivar target: the target in words (C{"<= 50"}), or C{""} when the
        figure is informational.
    @ivar ok: whether the target was met; L{None} for an informational
        figure.
    """

    benchmark: str
    name: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None

    @property
    def verdict(self) -> str:
        """
        C{"ok"}, C{"MISSED"}, or C{""} for an informational figure.
        """
        return {True: "ok", False: "MISSED", None: ""}[self.ok]

    def line(self) -> str:
        """
        One line for a terminal.
        """
        target = f"(target {self.target} {self.unit})".replace(" )", ")") if self.target else ""
        return (
            f"{self.benchmark:<12} {self.name:<52} {formatValue(self.value):>12} "
            f"{self.unit:<8} {target} {self.verdict}".rstrip()
        )


def formatValue(value: float) -> str:
    """
    A figure for people: thousands separated and no exponent for large
    values, three significant digits for small ones.
    """
    if value != value:
        return "nan"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100 or value == int(value):
        return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
    return f"{value:.3g}"


def record(
    benchmark: str,
    name: str,
    value: float,
    unit: str,
    *,
    atMost: float | None = None,
    atLeast: float | None = None,
) -> Figure:
    """
    Record a figure, print it, and append it to the results file if one is
    named by L{RESULTS_ENV}.

    @param atMost: the figure's target is to be at most this.
    @param atLeast: the figure's target is to be at least this.
    """
    target = ""
    ok: bool | None = None
    if atMost is not None:
        target, ok = f"<= {atMost:g}", value <= atMost
    if atLeast is not None:
        target = f"{target}, >= {atLeast:g}" if target else f">= {atLeast:g}"
        ok = (ok is not False) and value >= atLeast
    figure = Figure(benchmark, name, float(value), unit, target, ok)
    print(figure.line(), flush=True)
    path = os.environ.get(RESULTS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(attrs.asdict(figure)) + "\n")
    return figure


def readResults(path: str) -> list[Figure]:
    """
    Read the figures appended to a results file.
    """
    figures = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                figures.append(Figure(**json.loads(line)))
    return figures


def exitCode(figures: Iterable[Figure]) -> int:
    """
    C{1} if any figure missed its target, else C{0}.
    """
    return 1 if any(figure.ok is False for figure in figures) else 0


def runReactor(reactor: Any, d: Deferred[Any], crash: bool = False) -> bool:
    """
    Run C{reactor} until C{d} fires, then stop it (or crash it, so that it
    can be run again).

    @param reactor: the global reactor, not yet running.
    @param d: the benchmark's work.
    @param crash: L{True} to leave with C{reactor.crash()} rather than
        C{reactor.stop()}.
    @return: L{True} when C{d} succeeded; L{False} when it failed, after
        printing the failure's traceback.
    """
    outcome: list[Any] = []
    d.addBoth(outcome.append)
    d.addBoth(lambda _: reactor.crash() if crash else reactor.stop())
    reactor.run()
    if outcome and isinstance(outcome[0], Failure):
        print(outcome[0].getTraceback())
        return False
    return True
