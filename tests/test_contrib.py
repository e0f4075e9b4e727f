# -*- test-case-name: tests.test_contrib -*-
"""
Checks of the deployment files in C{contrib/}.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.testing.environment import requireTool

CONTRIB = FilePath(__file__).parent().sibling("contrib")
TWISTD = os.path.join(os.path.dirname(sys.executable), "twistd")
ADMIN = os.path.join(os.path.dirname(sys.executable), "pocketrelay-admin")


class SystemdUnitTests(SynchronousTestCase):
    """
    The systemd units pass C{systemd-analyze verify}.
    """

    def test_verify(self) -> None:
        """
        Every unit verifies without errors or warnings once its ExecStart
        points at an installed twistd (and ExecStartPre at an installed
        pocketrelay-admin).
        """
        analyze = requireTool("systemd-analyze", "systemd")
        target = FilePath(self.mktemp())
        target.makedirs()
        units = CONTRIB.child("systemd").globChildren("pocketrelay-*")
        self.assertEqual(len(units), 3)
        for unit in units:
            text = unit.getContent().decode("utf-8")
            copy = target.child(unit.basename())
            text = text.replace("/opt/pocketrelay/bin/twistd", TWISTD).replace(
                "/opt/pocketrelay/bin/pocketrelay-admin", ADMIN
            )
            copy.setContent(text.encode("utf-8"))
            os.chmod(copy.path, 0o644)
        result = subprocess.run(
            [analyze, "verify", *(child.path for child in target.children())],
            capture_output=True, text=True, timeout=120,
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(result.stderr.strip(), "", result.stderr)

    def test_serverUsesSocket(self) -> None:
        """
        The service listens through the socket unit with Twisted's systemd
        endpoint and keeps its data in /var/lib/pocketrelay.
        """
        service = CONTRIB.child("systemd").child("pocketrelay-server.service")
        text = service.getContent().decode("utf-8")
        self.assertIn("--listen systemd:domain=INET:index=0", text)
        self.assertIn("Requires=pocketrelay-server.socket", text)
        self.assertIn("StateDirectory=pocketrelay", text)
        for option in ("NoNewPrivileges=yes", "ProtectSystem=strict", "User=pocketrelay"):
            self.assertIn(option, text)

    def test_installsGameData(self) -> None:
        """
        Before the server starts, the service installs missing game data,
        bounded in time and without failing the start.
        """
        service = CONTRIB.child("systemd").child("pocketrelay-server.service")
        text = service.getContent().decode("utf-8")
        self.assertIn(
            "ExecStartPre=-/opt/pocketrelay/bin/pocketrelay-admin game-data install "
            "--if-missing --timeout 8 --answer-deadline 6\n",
            text,
        )


class NginxConfigTests(SynchronousTestCase):
    """
    Static checks of C{contrib/nginx/pocketrelay.conf} (the real nginx runs
    in C{tests.test_tls}).
    """

    def test_metricsNotPublished(self) -> None:
        """
        The proxy refuses /metrics: nginx connects from loopback, which the
        server allows to scrape.
        """
        text = CONTRIB.child("nginx").child("pocketrelay.conf").getContent().decode()
        block = text[text.index("location = /metrics"):]
        block = block[: block.index("}")]
        self.assertIn("return 404;", block)


class DesktopFileTests(SynchronousTestCase):
    """
    C{contrib/desktop/pocketrelay-app.desktop}: the app's launcher on Linux
    desktops and the Steam Deck's desktop mode.
    """

    path = CONTRIB.child("desktop").child("pocketrelay-app.desktop")

    def test_validates(self) -> None:
        """
        C{desktop-file-validate} (Debian's desktop-file-utils) finds
        nothing to say.
        """
        validate = shutil.which("desktop-file-validate")
        self.assertIsNotNone(validate, "desktop-file-validate is not installed "
                                       "(Debian: apt-get install desktop-file-utils)")
        assert validate is not None
        result = subprocess.run([validate, self.path.path], capture_output=True, text=True,
                                timeout=60)
        self.assertEqual((result.returncode, result.stdout + result.stderr), (0, ""))

    def test_launchesTheApp(self) -> None:
        """
        It runs the C{gui_scripts} command setup.cfg installs, without a
        terminal, and its window class is the one the app gives Tk.
        """
        import configparser

        entry = configparser.ConfigParser(interpolation=None)
        entry.optionxform = str  # type: ignore[assignment,method-assign]
        entry.read_string(self.path.getContent().decode("utf-8"))
        section = entry["Desktop Entry"]
        setup = configparser.ConfigParser()
        setup.read(CONTRIB.sibling("setup.cfg").path)
        scripts = setup["options.entry_points"]["gui_scripts"]
        self.assertIn("pocketrelay-app = pocketrelay.client.app:main", scripts)
        self.assertEqual(section["Exec"], "pocketrelay-app")
        self.assertEqual(section["Terminal"], "false")
        from pocketrelay.client.window import WINDOW_CLASS

        self.assertEqual(section["StartupWMClass"], WINDOW_CLASS)
