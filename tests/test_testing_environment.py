# -*- test-case-name: tests.test_testing_environment -*-
"""
Tests for L{pocketrelay.testing.environment}: a missing program skips a
test on a developer's machine and fails it under CI.
"""

from __future__ import annotations

import os
import stat
import subprocess

from twisted.python.filepath import FilePath
from twisted.trial.unittest import FailTest, SkipTest, SynchronousTestCase

from pocketrelay.testing.environment import findTool, inCI, requireTool, unavailable

#: The script C{.ci/run} names skipped tests with.
SKIPPED_SCRIPT = FilePath(__file__).parent().sibling(".ci").child("skipped")

#: The end of a trial run's output with skips under two reasons, a
#: failure and an error.
TRIAL_LOG = """\
  VectorTests
    test_copyIsCurrent ...                                            [SKIPPED]
    test_frames ...                                                        [OK]

===============================================================================
[SKIPPED]
no shared/ reference copy beside the repository

tests.test_tdf.VectorTests.test_copyIsCurrent
===============================================================================
[SKIPPED]
nginx is not installed (Debian: apt-get install nginx)

tests.test_tls.NginxTests.test_a
tests.test_tls.NginxTests.test_b
===============================================================================
[FAIL]
Traceback (most recent call last):
twisted.trial.unittest.FailTest: not equal

tests.test_x.XTests.test_failing
===============================================================================
[ERROR]
Traceback (most recent call last):
builtins.KeyError: 1

tests.test_y.YTests.test_erring
-------------------------------------------------------------------------------
Ran 6 tests in 0.012s

FAILED (failures=1, errors=1, skips=3, successes=1)
"""

#: A program name no machine has.
ABSENT = "pocketrelay-no-such-program-7f3a"


class InCITests(SynchronousTestCase):
    """
    L{inCI} reads the C{CI} environment variable.
    """

    def test_values(self) -> None:
        """
        C{CI} set to C{true}, C{1} or anything else means CI; unset, empty,
        C{0}, C{false} or C{no} (any case) does not.
        """
        for value in ("true", "1", "yes", "TRUE", "github"):
            self.assertTrue(inCI({"CI": value}), value)
        for environ in ({}, {"CI": ""}, {"CI": "0"}, {"CI": "false"}, {"CI": "False"},
                        {"CI": "no"}):
            self.assertFalse(inCI(environ), environ)


class UnavailableTests(SynchronousTestCase):
    """
    L{unavailable} skips a test, or fails it under CI.
    """

    def test_skipsLocally(self) -> None:
        """
        Without C{CI}, it raises L{SkipTest} with the reason.
        """
        with self.assertRaises(SkipTest) as caught:
            unavailable("nginx is not installed", {})
        self.assertEqual(str(caught.exception), "nginx is not installed")

    def test_failsInCI(self) -> None:
        """
        With C{CI} set, it raises L{FailTest} (a failure, not a skip),
        keeping the reason.
        """
        with self.assertRaises(FailTest) as caught:
            unavailable("nginx is not installed", {"CI": "true"})
        self.assertNotIsInstance(caught.exception, SkipTest)
        self.assertIn("nginx is not installed", str(caught.exception))
        self.assertIn("CI", str(caught.exception))


class RequireToolTests(SynchronousTestCase):
    """
    L{requireTool} gives a program's path, or gives the test up naming the
    Debian package to install.
    """

    def program(self) -> str:
        """
        An executable file in a fresh directory.
        """
        directory = FilePath(self.mktemp())
        directory.makedirs()
        program = directory.child("tool")
        program.setContent(b"#!/bin/sh\n")
        os.chmod(program.path, stat.S_IRWXU)
        return program.path

    def test_found(self) -> None:
        """
        A program on C{PATH} gives its path, under CI too.
        """
        self.assertEqual(requireTool("sh", "dash", environ={"CI": "true"}), findTool("sh"))
        self.assertTrue(os.path.isabs(requireTool("sh", "dash", environ={})))

    def test_alternatives(self) -> None:
        """
        When C{name} is not on C{PATH}, the first alternative found (a path
        or another name) is given.
        """
        program = self.program()
        self.assertEqual(requireTool(ABSENT, "x", [ABSENT + "-2", program], {}), program)
        self.assertEqual(findTool(ABSENT, ["sh"]), findTool("sh"))
        self.assertIsNone(findTool(ABSENT, [ABSENT + "-2"]))

    def test_missingSkipsLocally(self) -> None:
        """
        A missing program skips the test, naming the apt-get command.
        """
        with self.assertRaises(SkipTest) as caught:
            requireTool(ABSENT, "some-package", environ={"CI": "false"})
        self.assertEqual(
            str(caught.exception),
            f"{ABSENT} is not installed (Debian: apt-get install some-package)",
        )

    def test_missingFailsInCI(self) -> None:
        """
        Under CI a missing program fails the test, with the apt-get hint.
        """
        with self.assertRaises(FailTest) as caught:
            requireTool(ABSENT, "some-package", environ={"CI": "true"})
        self.assertNotIsInstance(caught.exception, SkipTest)
        self.assertIn("apt-get install some-package", str(caught.exception))

    def test_notExecutable(self) -> None:
        """
        A file that is not executable is not the program.
        """
        program = self.program()
        os.chmod(program, stat.S_IRUSR | stat.S_IWUSR)
        self.assertIsNone(findTool(ABSENT, [program]))


class CISkippedTests(SynchronousTestCase):
    """
    C{.ci/skipped} (used by C{.ci/run}) names the tests a trial log reports
    as skipped, so a skip in CI is visible.
    """

    def skipped(self, log: str) -> list[str]:
        """
        Run C{.ci/skipped} on C{log}; its output lines.
        """
        result = subprocess.run(
            ["bash", SKIPPED_SCRIPT.path], input=log, capture_output=True, text=True,
            timeout=30, check=True,
        )
        return result.stdout.splitlines()

    def test_names(self) -> None:
        """
        Every skipped test's name is printed, under every reason; failed
        and erring tests are not.
        """
        self.assertEqual(
            self.skipped(TRIAL_LOG),
            ["tests.test_tdf.VectorTests.test_copyIsCurrent",
             "tests.test_tls.NginxTests.test_a", "tests.test_tls.NginxTests.test_b"],
        )

    def test_none(self) -> None:
        """
        A run without skips prints nothing.
        """
        self.assertEqual(self.skipped("Ran 2 tests in 0.1s\n\nPASSED (successes=2)\n"), [])

    def test_ciRunUsesIt(self) -> None:
        """
        C{.ci/run} prints the skipped tests through C{.ci/skipped} and
        runs the tests with C{CI} set.
        """
        run = SKIPPED_SCRIPT.sibling("run").getContent().decode("utf-8")
        self.assertIn(".ci/skipped \"$log\"", run)
        self.assertIn('export CI="${CI:-true}"', run)
