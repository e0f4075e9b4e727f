# -*- test-case-name: tests.test_benchmarks -*-
"""
Run every benchmark, print one table of their figures, and fail when a
target is missed or a benchmark fails (C{make bench}).

Each benchmark of L{BENCHMARKS} runs as C{python -m benchmarks.NAME} in its
own process (in its short form, or with C{--full}), with
L{report.RESULTS_ENV} naming a file its L{report.record} calls append to.
The table is printed at the end; the exit status is 1 if any figure missed
its target, or any benchmark exited non-zero, timed out or recorded no
figure.

C{--write docs/performance.md} also writes the table as the generated
page the documentation quotes, with the machine, the date and the commit
it was measured on.

Run: C{python -m benchmarks.run [--full] [--write PATH] [NAME ...]}.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence

import attrs

from benchmarks import report

#: The benchmarks C{make bench} runs, in this order: modules of this
#: package whose C{main(argv) -> int} records its figures with
#: L{report.record} and returns L{report.exitCode}, short by default and
#: long with C{--full}.  A new benchmark is added here.
BENCHMARKS: tuple[str, ...] = (
    "codec", "tunnel", "proxy", "sessions", "matchmaking", "passwords", "flood", "gamedata",
    "appidle",
)

#: Seconds one benchmark may run before it is stopped and counted failed,
#: in the short form and with C{--full}.
TIMEOUT = 600.0
FULL_TIMEOUT = 3600.0

#: The command that regenerates the performance page.
WRITE_COMMAND = 'make bench BENCH_ARGS="--write docs/performance.md"'

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)


def exists(name: str) -> bool:
    """
    Whether C{benchmarks/NAME.py} exists.
    """
    return os.path.isfile(os.path.join(_HERE, f"{name}.py"))


@attrs.frozen
class Outcome:
    """
    What one benchmark process did.

    @ivar name: the benchmark (its module name).
    @ivar status: its exit status; L{None} if it was stopped at the
        timeout.
    @ivar seconds: how long it ran.
    @ivar figures: the figures it recorded.
    """

    name: str
    status: int | None
    seconds: float
    figures: tuple[report.Figure, ...]

    @property
    def missed(self) -> bool:
        """
        Whether a figure missed its target.
        """
        return report.exitCode(self.figures) != 0

    @property
    def problem(self) -> str:
        """
        Why the benchmark failed other than by missing a target, or C{""}.
        """
        if self.status is None:
            return "timed out"
        if not self.figures:
            return f"recorded no figure (exit status {self.status})"
        if self.status != 0 and not self.missed:
            return f"exit status {self.status} with every target met"
        return ""

    @property
    def verdict(self) -> str:
        """
        One word for the benchmark: C{ok}, C{MISSED} or C{FAILED}.
        """
        if self.problem:
            return "FAILED"
        return "MISSED" if self.missed else "ok"


def runOne(
    name: str,
    arguments: Sequence[str] = (),
    timeout: float = TIMEOUT,
    command: Sequence[str] | None = None,
    quiet: bool = False,
) -> Outcome:
    """
    Run C{python -m benchmarks.NAME ARGUMENTS} from the repository's root
    with its figures going to a fresh results file; its output goes to
    this process's.

    @param command: what to run instead of C{python -m benchmarks.NAME}
        (tests).
    @param quiet: discard the benchmark's output (tests).
    """
    if command is None:
        command = [sys.executable, "-m", f"benchmarks.{name}"]
    fd, results = tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".jsonl")
    os.close(fd)
    env = dict(os.environ)
    env[report.RESULTS_ENV] = results
    # The server and client processes a benchmark starts (twistd) import
    # this tree's code, not whatever copy is installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
    started = time.monotonic()
    status: int | None
    try:
        print(f"== {name}", flush=True)
        try:
            status = subprocess.run(
                [*command, *arguments],
                cwd=_ROOT, env=env, timeout=timeout, check=False,
                stdout=subprocess.DEVNULL if quiet else None,
            ).returncode
        except subprocess.TimeoutExpired:
            status = None
        figures = tuple(report.readResults(results))
    finally:
        os.unlink(results)
    return Outcome(name, status, time.monotonic() - started, figures)


def exitStatus(outcomes: Iterable[Outcome]) -> int:
    """
    C{1} if any benchmark missed a target or failed, else C{0}.
    """
    return 1 if any(outcome.verdict != "ok" for outcome in outcomes) else 0


def _rows(outcomes: Sequence[Outcome]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for outcome in outcomes:
        for figure in outcome.figures:
            rows.append((figure.benchmark, figure.name, report.formatValue(figure.value),
                         figure.unit, figure.target, figure.verdict))
        if outcome.problem:
            rows.append((outcome.name, outcome.problem, "", "", "", "FAILED"))
    return rows


_HEADER = ("benchmark", "figure", "value", "unit", "target", "")


def table(outcomes: Sequence[Outcome]) -> str:
    """
    The figures of every benchmark as an aligned text table, then one
    line per benchmark with its verdict and duration.
    """
    rows = [_HEADER, *_rows(outcomes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell.rjust(width) if column == 2 else cell.ljust(width)
                 for column, (cell, width) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    lines.append("")
    for outcome in outcomes:
        lines.append(f"{outcome.name:<12} {outcome.verdict:<7} {outcome.seconds:6.0f} s")
    return "\n".join(lines)


def machine() -> str:
    """
    The CPU model, its cores and memory, the OS and Python.
    """
    model = platform.processor() or platform.machine()
    memory = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    memory = f", {int(line.split()[1]) / 2**20:.1f} GiB memory"
                    break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} cores{memory}; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}")


def commit() -> str:
    """
    The checked-out commit, marked C{-dirty} when the tree has changes;
    C{"unknown"} outside a git checkout.
    """
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=_ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        changes = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                 cwd=_ROOT, capture_output=True, text=True,
                                 check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if changes else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def loadAverage() -> str:
    """
    The 1-minute load average, which shows other work on the machine.
    """
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


def markdown(
    outcomes: Sequence[Outcome],
    full: bool,
    machineText: str,
    date: str,
    commitText: str,
    load: str = "unknown",
) -> str:
    """
    The performance page: what it is and how it was made, then the table.

    @param load: the load average when the run started.
    """
    form = "long form (`--full`)" if full else "short form (the default)"
    lines = [
        "<!-- Generated by benchmarks/run.py; do not edit by hand. -->",
        "# Performance",
        "",
        f"This page is generated: `{WRITE_COMMAND}` runs every benchmark",
        "(`benchmarks/`) and writes it. Numbers quoted elsewhere in the",
        "documentation come from here. Each benchmark's module docstring says what",
        "it measures; `make bench` fails when a figure misses its target.",
        "",
        f"* Machine: {machineText}",
        f"* Date: {date}; load average when the run started: {load} (other work on "
        "the machine slows the benchmarks)",
        f"* Commit: {commitText}",
        f"* Run: {form}; "
        + ", ".join(f"{o.name} {o.verdict} in {o.seconds:.0f} s" for o in outcomes),
        "",
        "| " + " | ".join(_HEADER[:5]) + " | |",
        "|---|---|--:|---|---|---|",
    ]
    for row in _rows(outcomes):
        lines.append("| " + " | ".join(_cell(cell) for cell in row) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0].strip()
    )
    parser.add_argument("--full", action="store_true", help="the long form of each benchmark")
    parser.add_argument("--write", metavar="PATH",
                        help="also write the table as the performance page (all benchmarks)")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: {', '.join(BENCHMARKS)})")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = [name for name in names if not exists(name)]
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)} in {_HERE}")
    if args.write and args.names:
        parser.error("--write runs every benchmark: give no NAME")
    measuredAt, load = commit(), loadAverage()
    arguments = ["--full"] if args.full else []
    timeout = FULL_TIMEOUT if args.full else TIMEOUT
    outcomes = [runOne(name, arguments, timeout) for name in names]
    print()
    print(table(outcomes))
    if args.write:
        date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        with open(args.write, "w", encoding="utf-8") as f:
            f.write(markdown(outcomes, args.full, machine(), date, measuredAt, load))
        print(f"wrote {args.write}")
    return exitStatus(outcomes)


if __name__ == "__main__":
    raise SystemExit(main())
