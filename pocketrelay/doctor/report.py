# -*- test-case-name: tests.test_doctor -*-
"""
What C{doctor} found: one L{Step} per check, in the order a player's
client meets them, gathered in a L{Report} that renders as the checklist
or as JSON.

A step that failed carries C{diagnosis}: one sentence naming the likely
cause and the fix.  L{Report.firstFailure} is the step a player (the
client, the player app) is shown: the first one that failed.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from typing import Any

import attrs

__all__ = ["Report", "Status", "Step"]


class Status(enum.Enum):
    """
    How a step ended.
    """

    PASSED = "passed"
    WARNED = "warned"
    FAILED = "failed"
    SKIPPED = "skipped"


#: The mark of each status in the checklist.
_MARKS = {
    Status.PASSED: "ok  ",
    Status.WARNED: "WARN",
    Status.FAILED: "FAIL",
    Status.SKIPPED: "skip",
}


@attrs.frozen
class Step:
    """
    One check and its outcome.

    @ivar name: a stable identifier (C{"dns"}, C{"upgrade"}, ...).
    @ivar title: what was checked, for people.
    @ivar status: the outcome.
    @ivar seconds: how long the check took.
    @ivar detail: what was seen (an address, a version, a status line).
    @ivar diagnosis: for a failure or a warning, one sentence naming the
        likely cause and the fix; empty otherwise.
    @ivar required: whether play needs this step to pass.
    """

    name: str
    title: str
    status: Status
    seconds: float = 0.0
    detail: str = ""
    diagnosis: str = ""
    required: bool = True

    @property
    def failed(self) -> bool:
        """
        Whether the step failed.
        """
        return self.status is Status.FAILED

    @property
    def sentence(self) -> str:
        """
        What a player is shown for this step: C{"TITLE failed: DIAGNOSIS"}
        (or C{"TITLE: DETAIL"} when there is no diagnosis).
        """
        if self.diagnosis:
            verb = {Status.FAILED: "failed", Status.WARNED: "warning"}.get(self.status, "")
            return f"{self.title} {verb}: {self.diagnosis}" if verb else self.diagnosis
        return f"{self.title}: {self.detail}"

    def toJSON(self) -> dict[str, Any]:
        """
        The step as a JSON object.
        """
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status.value,
            "seconds": round(self.seconds, 3),
            "detail": self.detail,
            "diagnosis": self.diagnosis or None,
            "required": self.required,
        }


@attrs.frozen
class Report:
    """
    Every step of one run of the checks.

    @ivar url: the server's base URL as checked.
    @ivar steps: the steps, in order.
    """

    url: str
    steps: Sequence[Step]

    @property
    def firstFailure(self) -> Step | None:
        """
        The first step that failed, or L{None}.
        """
        return next((step for step in self.steps if step.failed), None)

    @property
    def playable(self) -> bool:
        """
        Whether every step play needs passed (or only warned).
        """
        return not any(step.failed and step.required for step in self.steps)

    @property
    def exitCode(self) -> int:
        """
        0 when L{playable}, else 1.
        """
        return 0 if self.playable else 1

    def step(self, name: str) -> Step:
        """
        The step called C{name}.

        @raise KeyError: if there is none.
        """
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def summary(self) -> str:
        """
        One line: ready for play or not, and how many problems.
        """
        failed = [step for step in self.steps if step.failed]
        warned = [step for step in self.steps if step.status is Status.WARNED]
        counts = []
        if failed:
            counts.append(f"{len(failed)} failed")
        if warned:
            counts.append(f"{len(warned)} warning{'s' if len(warned) > 1 else ''}")
        tail = f" ({', '.join(counts)})" if counts else ""
        if self.playable:
            if failed:
                optional = f"{len(failed)} optional step{'s' if len(failed) > 1 else ''} failed"
                tail = f" ({', '.join([optional, *counts[1:]])})"
            return f"Ready for play{tail}."
        first = self.firstFailure
        assert first is not None
        return f"NOT ready for play{tail}: {first.title} failed first."

    def render(self) -> str:
        """
        The checklist: one line per step (mark, title, time, detail), the
        diagnosis of each failure or warning under it, and the summary.
        """
        width = max((len(step.title) for step in self.steps), default=0)
        lines = [f"Checking {self.url}"]
        for step in self.steps:
            took = f"{step.seconds * 1000:6.0f} ms" if step.status is not Status.SKIPPED else " " * 9
            line = f"[{_MARKS[step.status]}] {step.title:<{width}}  {took}  {step.detail}"
            lines.append(line.rstrip())
            if step.diagnosis and step.status in (Status.FAILED, Status.WARNED):
                lines.append(f"       -> {step.diagnosis}")
        lines.append(self.summary())
        return "\n".join(lines) + "\n"

    def toJSON(self) -> dict[str, Any]:
        """
        The report as a JSON object.
        """
        first = self.firstFailure
        return {
            "url": self.url,
            "playable": self.playable,
            "first_failure": first.toJSON() if first is not None else None,
            "steps": [step.toJSON() for step in self.steps],
        }

    def renderJSON(self) -> str:
        """
        L{toJSON} as indented JSON text.
        """
        return json.dumps(self.toJSON(), indent=2, ensure_ascii=False) + "\n"
