# -*- test-case-name: tests.test_client_app -*-
"""
Windows: restarting the app as administrator, so that it may write the
hosts file.

L{restartAsAdministrator} asks Windows for the elevation prompt through
C{ShellExecuteW(..., "runas", ...)}; C{shell32} is injected (on Windows
it is C{ctypes.windll.shell32}), so the calls are unit-tested on any
system.  These paths have not run on Windows here.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "canElevate",
    "elevationFor",
    "relaunchCommand",
    "restartAsAdministrator",
    "windowsShell32",
    "withServer",
]

#: C{ShellExecuteW} returns a value above 32 on success.
_SHELL_EXECUTE_OK = 32

#: C{SW_SHOWNORMAL}.
_SHOW_NORMAL = 1


def windowsShell32(platform: str | None = None) -> Any:
    """
    C{ctypes.windll.shell32} on Windows, else L{None}.
    """
    if (platform or sys.platform) != "win32":
        return None
    import ctypes

    return ctypes.windll.shell32  # type: ignore[attr-defined]


def canElevate(shell32: Any) -> bool:
    """
    Whether the app can offer "restart as administrator": on Windows, when
    it does not already run as administrator.
    """
    if shell32 is None:
        return False
    try:
        return not bool(shell32.IsUserAnAdmin())
    except (AttributeError, OSError):
        return True


def relaunchCommand(
    argv: Sequence[str], executable: str | None = None, frozen: bool | None = None
) -> tuple[str, list[str]]:
    """
    The program and arguments that start this app again with the same
    arguments: the executable itself when it is a one-file build, else
    Python running C{pocketrelay.client.app}.
    """
    if executable is None:
        executable = sys.executable
    if frozen is None:
        frozen = bool(getattr(sys, "frozen", False))
    if frozen:
        return executable, list(argv[1:])
    return executable, ["-m", "pocketrelay.client.app", *argv[1:]]


def withServer(argv: Sequence[str], address: str) -> list[str]:
    """
    C{argv} with C{--server ADDRESS --connect} instead of any C{--server}
    or C{--connect} it had: the restarted app connects at once to the
    address the player typed.
    """
    kept = [argv[0]]
    skip = False
    for argument in argv[1:]:
        if skip:
            skip = False
            continue
        if argument in ("--server", "-s"):
            skip = True
            continue
        if argument.startswith("--server=") or argument == "--connect":
            continue
        if argument.startswith("-s") and len(argument) > 2:
            continue
        kept.append(argument)
    if address.strip():
        kept += ["--server", address.strip(), "--connect"]
    return kept


def restartAsAdministrator(shell32: Any, argv: Sequence[str], **kwargs: Any) -> bool:
    """
    Start this app again, elevated (Windows shows its prompt).

    @param kwargs: passed to L{relaunchCommand}.
    @return: whether Windows started it (false when the player declined
        the prompt or it failed); on success the caller should quit.
    """
    program, arguments = relaunchCommand(argv, **kwargs)
    result = shell32.ShellExecuteW(
        None, "runas", program, subprocess.list2cmdline(arguments), None, _SHOW_NORMAL
    )
    return int(result) > _SHELL_EXECUTE_OK


def elevationFor(
    argv: Sequence[str], platform: str | None = None, shell32: Any = None, **kwargs: Any
) -> Callable[[str], bool] | None:
    """
    The window's "restart as administrator" action, if it can offer one
    (L{canElevate}): on Windows, when the app is not already
    administrator, a callable that takes the address the player typed and
    restarts the app elevated (L{restartAsAdministrator}) with C{argv}
    connecting there (L{withServer}); else L{None}.

    @param platform: C{sys.platform} by default.
    @param shell32: C{ctypes.windll.shell32} by default (L{windowsShell32}).
    @param kwargs: passed to L{relaunchCommand}.
    """
    if (platform or sys.platform) != "win32":
        return None
    if shell32 is None:
        shell32 = windowsShell32(platform)
    if not canElevate(shell32):
        return None

    def elevate(address: str) -> bool:
        return restartAsAdministrator(shell32, withServer(argv, address), **kwargs)

    return elevate
