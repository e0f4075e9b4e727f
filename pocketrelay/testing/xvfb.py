# -*- test-case-name: tests.test_client_window -*-
"""
An Xvfb server for tests that open windows: the app's window tests
(C{tests.test_client_window}) and the one-file build's smoke test
(C{contrib/pyinstaller/smoke.py}).  Linux only; needs Debian's C{xvfb}.
"""

from __future__ import annotations

import atexit
import os
import select
import shutil
import subprocess

from pocketrelay.testing.screenshot import connect

__all__ = ["Xvfb"]


class Xvfb:
    """
    An Xvfb server on a free display, for the whole test run: Tk keeps
    its connection to a display until the process ends, so one server
    serves every test and is stopped at exit.
    """

    _running: Xvfb | None = None

    def __init__(self, timeout: float = 15) -> None:
        executable = shutil.which("Xvfb")
        if executable is None:
            raise RuntimeError("Xvfb is not installed (Debian: apt-get install xvfb)")
        read, write = os.pipe()
        self.process = subprocess.Popen(
            # -terminate: exit once the last client is gone, should this
            # process die without stopping it; the connection kept below
            # keeps it until then.
            [executable, "-displayfd", str(write), "-screen", "0", "1024x768x24",
             "-nolisten", "tcp", "-terminate"],
            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(write)
        number = b""
        try:
            while not number.endswith(b"\n"):
                ready, _, _ = select.select([read], [], [], timeout)
                if not ready:
                    self.stop()
                    raise RuntimeError(f"Xvfb gave no display number within {timeout:g} s")
                chunk = os.read(read, 16)
                if not chunk:
                    raise RuntimeError("Xvfb exited before giving a display number")
                number += chunk
        finally:
            os.close(read)
        self.display = f":{number.decode().strip()}"
        self.connection = connect(self.display)
        atexit.register(self.stop)

    @classmethod
    def shared(cls) -> Xvfb:
        """
        The run's Xvfb, started on first use.
        """
        if cls._running is None or cls._running.process.poll() is not None:
            cls._running = cls()
        return cls._running

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
