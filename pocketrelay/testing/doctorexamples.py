# -*- test-case-name: tests.test_docs -*-
"""
The C{pocketrelay-admin doctor} checklists shown in C{docs/operations.md}
and C{docs/tls.md}, generated from real runs rather than pasted.

C{tests/test_doctor_nginx.py} runs each set-up for real (Debian's nginx in
front of the server, on 127.0.0.1).  When the environment variable
L{ENVIRONMENT} names a directory, its tests write each scenario's
L{Report.render} there as C{NAME.txt} (L{recordExample}).  C{make
doc-examples} (C{python -m pocketrelay.testing.doctorexamples}) runs that
module with the variable set and replaces every block between markers::

    <!-- doctor-example: NAME only=STEP,...,summary; free text -->

        (the rendered checklist, indented as a code block)

    <!-- /doctor-example -->

with the report recorded as C{NAME}.  Without C{only=} the whole
checklist is shown; with it, only those steps' lines (and their
diagnoses), then C{...} and the summary line when C{summary} is listed.
Ports, tunnel ids, dates and times are kept as the run gave them.

C{tests.test_docs} checks every marked block with L{blockProblems}: its
step titles, in order, are the doctor's L{STEPS}, its status marks are the
checklist's, and its summary line agrees with them.  A change of the
doctor's steps therefore fails that test until the examples are
regenerated.

This is a test helper: it is not part of what the server or the
command-line tools import.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence

import attrs

from pocketrelay.doctor.checks import STEPS
from pocketrelay.doctor.report import Report

__all__ = [
    "ENVIRONMENT",
    "PAGES",
    "Marker",
    "blockProblems",
    "markers",
    "recordExample",
    "renderExample",
    "replaceExamples",
]

#: The environment variable naming the directory the tests record the
#: reports to (deliberately not a C{POCKETRELAY_*} name: the server refuses
#: unknown ones).
ENVIRONMENT = "DOCTOR_EXAMPLES"

#: The pages holding marked examples, relative to the checkout.
PAGES = ("docs/operations.md", "docs/tls.md")

#: The test module that records the examples.
TEST_MODULE = "tests.test_doctor_nginx"

_MARKER = re.compile(
    r"<!-- doctor-example: (?P<name>[a-z0-9-]+)(?P<options>[^>]*?)-->\n"
    r"(?P<body>.*?)"
    r"<!-- /doctor-example -->",
    re.DOTALL,
)
_ONLY = re.compile(r"\bonly=(?P<steps>[a-z0-9,-]+)")
_STEP_LINE = re.compile(r"^\[(?P<mark>.{4})\] (?P<title>.+?)(?: {2,}(?P<rest>.*))?$")
_SUMMARY = re.compile(
    r"^(?P<verdict>Ready for play|NOT ready for play)"
    r"(?: \((?P<counts>[^)]*)\))?"
    r"(?:: (?P<first>.+) failed first)?\.$"
)
_PORT_TITLE = re.compile(r"^UDP tunnel \(port \d+\)$")

#: The status marks of L{Report.render}.
MARKS = {"ok  ": "passed", "WARN": "warned", "FAIL": "failed", "skip": "skipped"}

_INDENT = "    "


def recordExample(name: str, report: Report) -> None:
    """
    Write C{report}'s checklist as C{NAME.txt} in the directory named by
    L{ENVIRONMENT}; nothing when it is not set.
    """
    directory = os.environ.get(ENVIRONMENT)
    if not directory:
        return
    with open(os.path.join(directory, f"{name}.txt"), "w", encoding="utf-8") as f:
        f.write(report.render())


@attrs.frozen
class Marker:
    """
    One marked example in a page.

    @ivar name: the recorded report it shows.
    @ivar only: the step names (and C{"summary"}) shown, or empty for the
        whole checklist.
    @ivar lines: the block's lines, unindented, without blank lines.
    """

    name: str
    only: tuple[str, ...]
    lines: tuple[str, ...]


def _only(options: str) -> tuple[str, ...]:
    match = _ONLY.search(options)
    return tuple(match.group("steps").split(",")) if match else ()


def markers(text: str) -> Iterator[Marker]:
    """
    The marked examples of a page's C{text}.
    """
    for match in _MARKER.finditer(text):
        lines = tuple(
            line[len(_INDENT):] if line.startswith(_INDENT) else line
            for line in match.group("body").splitlines() if line.strip()
        )
        yield Marker(match.group("name"), _only(match.group("options")), lines)


def _stepName(title: str) -> str | None:
    if _PORT_TITLE.match(title):
        title = "UDP tunnel"
    return next((name for name, known in STEPS if known == title), None)


def renderExample(rendered: str, only: Sequence[str] = ()) -> list[str]:
    """
    The lines a marked block shows of a checklist C{rendered} by
    L{Report.render}: all of them, or those of the steps in C{only} (each
    with its diagnosis), then C{...} and the summary when C{only} holds
    C{"summary"}.
    """
    lines = rendered.splitlines()
    if not only:
        return lines
    shown: list[str] = []
    keep = False
    for line in lines[1:-1]:
        step = _STEP_LINE.match(line)
        if step is not None:
            keep = _stepName(step.group("title")) in only
        if keep:
            shown.append(line)
    if "summary" in only:
        shown += ["...", lines[-1]]
    return shown


def replaceExamples(text: str, examples: Mapping[str, str]) -> tuple[str, list[str]]:
    """
    C{text} with each marked block replaced by its recorded example.

    @param examples: rendered checklists by name.
    @return: the new text and the names of markers with no example.
    """
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in examples:
            missing.append(name)
            return match.group(0)
        lines = renderExample(examples[name], _only(match.group("options")))
        body = "".join(f"{_INDENT}{line}\n" for line in lines)
        head = match.group(0)[:match.start("body") - match.start(0)]
        return f"{head}\n{body}\n<!-- /doctor-example -->"

    return _MARKER.sub(replace, text), missing


def blockProblems(marker: Marker) -> list[str]:
    """
    What keeps a marked block from being the shape of a current
    L{Report.render}: unknown lines, status marks or step titles, titles
    not in the order of L{STEPS} (all of them, or those C{only=} names),
    a diagnosis under a step that neither failed nor warned, a summary
    line that does not agree with the marks.

    @return: one sentence per problem; empty when the block is fine.
    """
    problems: list[str] = []
    lines = list(marker.lines)
    whole = not marker.only
    if whole:
        if not lines or not lines[0].startswith("Checking "):
            problems.append("the first line is not 'Checking URL'")
        else:
            lines = lines[1:]
    summary = None
    if "summary" in marker.only or whole:
        if not lines or _SUMMARY.match(lines[-1]) is None:
            problems.append("the last line is not a summary ('Ready for play...')")
        else:
            summary = _SUMMARY.match(lines.pop())
        if not whole and lines and lines[-1] == "...":
            lines.pop()
    names: list[str] = []
    marks: list[str] = []
    titles: list[str] = []
    for line in lines:
        if line.startswith("       -> "):
            if not marks or marks[-1] not in ("WARN", "FAIL"):
                problems.append(f"a diagnosis under a step that neither failed nor warned: "
                                f"{line.strip()!r}")
            continue
        step = _STEP_LINE.match(line)
        if step is None:
            problems.append(f"not a checklist line: {line!r}")
            continue
        mark, title = step.group("mark"), step.group("title")
        if mark not in MARKS:
            problems.append(f"unknown status mark [{mark}] for {title!r}")
        name = _stepName(title)
        if name is None:
            problems.append(f"no doctor step is titled {title!r}")
            continue
        names.append(name)
        marks.append(mark)
        titles.append(title)
    expected = [name for name, _ in STEPS] if whole else [
        name for name, _ in STEPS if name in marker.only]
    if names != expected:
        problems.append(f"the steps are {names}, the doctor's are {expected}")
    if summary is not None and whole:
        problems += _summaryProblems(summary, marks, titles)
    return problems


def _summaryProblems(summary: re.Match[str], marks: list[str], titles: list[str]) -> list[str]:
    failed, warned = marks.count("FAIL"), marks.count("WARN")
    counts = summary.group("counts") or ""
    found = {kind: int(number) for number, kind in
             re.findall(r"(\d+) (failed|warning|optional step)", counts)}
    problems = []
    if found.get("failed", found.get("optional step", 0)) != failed:
        problems.append(f"the summary counts {counts or 'no'} failures, the block has {failed}")
    if found.get("warning", 0) != warned:
        problems.append(f"the summary counts {counts or 'no'} warnings, the block has {warned}")
    if summary.group("verdict") == "NOT ready for play":
        first = titles[marks.index("FAIL")] if "FAIL" in marks else None
        if summary.group("first") != first:
            problems.append(f"the summary names {summary.group('first')!r} as the first "
                            f"failure, the block {first!r}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run L{TEST_MODULE} recording the examples, then rewrite the marked
    blocks of L{PAGES}.

    @return: the exit status: 1 when the tests fail or a marker has no
        recorded example.
    """
    parser = argparse.ArgumentParser(
        prog="python -m pocketrelay.testing.doctorexamples",
        description="Regenerate the doctor examples in the docs from real runs.")
    parser.add_argument("--root", default=".", help="the checkout (default: .)")
    parser.add_argument("--from", dest="source", metavar="DIR",
                        help="use the reports already recorded in DIR instead of running "
                        "the tests")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as recorded:
        source = options.source
        if source is None:
            source = recorded
            status = subprocess.call(
                [sys.executable, "-m", "twisted.trial", TEST_MODULE],
                cwd=options.root, env={**os.environ, ENVIRONMENT: recorded})
            if status != 0:
                print(f"{TEST_MODULE} failed: the docs are left as they are", file=sys.stderr)
                return 1
        examples = {}
        for entry in sorted(os.listdir(source)):
            if entry.endswith(".txt"):
                with open(os.path.join(source, entry), encoding="utf-8") as f:
                    examples[entry[:-len(".txt")]] = f.read()
        missing: list[str] = []
        for page in PAGES:
            path = os.path.join(options.root, page)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            new, absent = replaceExamples(text, examples)
            missing += [f"{page}: {name}" for name in absent]
            if new != text:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(new)
                print(f"rewrote {page}")
    if missing:
        print("no recorded example for: " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
