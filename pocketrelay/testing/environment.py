# -*- test-case-name: tests.test_testing_environment -*-
"""
What a test needs from its machine (a program from a Debian package, a
reference copy beside the repository): missing, the test skips on a
developer's machine but fails under CI (the C{CI} environment variable
set, as CI services and C{.ci/run} do), where a skip would hide a test
that never ran.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from typing import NoReturn

from twisted.trial.unittest import FailTest, SkipTest

__all__ = ["findTool", "inCI", "requireTool", "unavailable"]

#: Values of C{CI} that do not mean CI.
_NOT_CI = ("", "0", "false", "no")


def inCI(environ: Mapping[str, str] | None = None) -> bool:
    """
    Whether the tests run under CI: C{CI} is set to anything but empty,
    C{0}, C{false} or C{no}.

    @param environ: the environment; by default C{os.environ}.
    """
    value = (os.environ if environ is None else environ).get("CI")
    return value is not None and value.strip().lower() not in _NOT_CI


def unavailable(reason: str, environ: Mapping[str, str] | None = None) -> NoReturn:
    """
    Give up a test whose machine lacks something: skip it (L{SkipTest}),
    or fail it (L{FailTest}) under CI (L{inCI}).

    @param reason: what is missing and how to install it.
    """
    if inCI(environ):
        raise FailTest(f"{reason}; CI must provide it (CI is set, so this fails, not skips)")
    raise SkipTest(reason)


def findTool(name: str, alternatives: Sequence[str] = ()) -> str | None:
    """
    The path of program C{name} on C{PATH}, else of the first of
    C{alternatives} found (other names on C{PATH}, or absolute paths for
    programs outside a user's C{PATH} such as C{/usr/sbin/nginx}); L{None}
    if none is installed.
    """
    for candidate in (name, *alternatives):
        found = shutil.which(candidate)
        if found:
            return found
    return None


def requireTool(
    name: str,
    debianPackage: str,
    alternatives: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> str:
    """
    The path of program C{name} (L{findTool}); when it is not installed,
    the test skips, or fails under CI (L{unavailable}), naming the
    C{apt-get install} that provides it.

    @param debianPackage: the Debian package holding C{name}.
    """
    found = findTool(name, alternatives)
    if found is None:
        unavailable(
            f"{name} is not installed (Debian: apt-get install {debianPackage})", environ
        )
    return found
