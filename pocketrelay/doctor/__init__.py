# -*- test-case-name: tests.test_doctor -*-
"""
C{doctor}: checking a Pocket Relay deployment from the outside, the way a
player's client reaches it.

    from pocketrelay.doctor import runChecks, Settings
    d = runChecks(reactor, "https://me3.example.org/", Settings(caFile=None))
    d.addCallback(lambda report: print(report.render()))

L{runChecks} fires with a L{Report}: one L{Step} per check (name, title,
L{Status}, seconds, detail, and for a failure one sentence naming the
likely cause and the fix).  L{Report.firstFailure} is the step to show a
player.  C{pocketrelay-admin doctor URL} prints it (L{cli}); the client
uses L{explainStartup} when it cannot start.
"""

from pocketrelay.doctor.checks import (
    STARTUP_SETTINGS,
    STEPS,
    Settings,
    explainStartup,
    runChecks,
)
from pocketrelay.doctor.report import Report, Status, Step

__all__ = [
    "STARTUP_SETTINGS",
    "STEPS",
    "Report",
    "Settings",
    "Status",
    "Step",
    "explainStartup",
    "runChecks",
]
