# -*- test-case-name: tests.test_config -*-
"""
Tests for L{pocketrelay.server.config}.
"""

from __future__ import annotations

from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.server.config import (
    SETTINGS,
    ConfigError,
    environmentName,
    loadSettings,
    settingsDocumentation,
)


class LoadSettingsTests(SynchronousTestCase):
    """
    Tests for L{loadSettings}: defaults, file, environment, command line.
    """

    def writeConfig(self, text: str) -> str:
        path = FilePath(self.mktemp())
        path.setContent(text.encode("utf-8"))
        return path.path

    def test_defaults(self) -> None:
        """
        Without any source every setting has its declared default.
        """
        settings = loadSettings(None, environ={})
        for setting in SETTINGS:
            self.assertEqual(settings[setting.key], setting.default)
        self.assertEqual(settings["listen"], "tcp:8080")
        self.assertEqual(list(settings.describe()), [])

    def test_file(self) -> None:
        """
        Values from the TOML file, including nested tables, override the
        defaults and remember where they came from.
        """
        path = self.writeConfig(
            'listen = "tcp:9000"\n[dashboard]\ndisable_registration = true\n'
            "[galaxy_at_war]\ndecay = 0\n"
        )
        settings = loadSettings(path, environ={})
        self.assertEqual(settings["listen"], "tcp:9000")
        self.assertIs(settings["dashboard.disable_registration"], True)
        self.assertEqual(settings["galaxy_at_war.decay"], 0.0)
        self.assertIsInstance(settings["galaxy_at_war.decay"], float)
        self.assertEqual(settings.origins["listen"], path)

    def test_precedence(self) -> None:
        """
        The environment overrides the file and the command line overrides
        both.
        """
        path = self.writeConfig('listen = "tcp:9000"\nlog_level = "warn"\n')
        settings = loadSettings(
            path,
            environ={"POCKETRELAY_LISTEN": "tcp:9100", "POCKETRELAY_LOG_LEVEL": "debug"},
            overrides=[("listen", "tcp:9200")],
        )
        self.assertEqual(settings["listen"], "tcp:9200")
        self.assertEqual(settings["log_level"], "debug")
        self.assertEqual(settings.origins["log_level"], "environment POCKETRELAY_LOG_LEVEL")

    def test_textConversion(self) -> None:
        """
        Environment and command-line text is converted to the setting's type.
        """
        settings = loadSettings(
            None,
            environ={"POCKETRELAY_UDP_TUNNEL_PORT": "0",
                     "POCKETRELAY_REVERSE_PROXY": "yes"},
            overrides=[("galaxy_at_war.decay", "0.25")],
        )
        self.assertEqual(settings["udp_tunnel.port"], 0)
        self.assertIs(settings["reverse_proxy"], True)
        self.assertEqual(settings["galaxy_at_war.decay"], 0.25)

    def test_unknownKeyInFile(self) -> None:
        """
        An unknown key in the file is an error naming the file and the key.
        """
        path = self.writeConfig("[dashboard]\nsuper_mail = 'x'\n")
        e = self.assertRaises(ConfigError, loadSettings, path, {})
        self.assertIn("dashboard.super_mail", str(e))
        self.assertIn(path, str(e))

    def test_unknownEnvironmentVariable(self) -> None:
        """
        A POCKETRELAY_ variable that names no setting is an error, so typos
        are noticed; other variables are ignored.
        """
        e = self.assertRaises(
            ConfigError, loadSettings, None, {"POCKETRELAY_LISTN": "x", "HOME": "/"}
        )
        self.assertIn("POCKETRELAY_LISTN", str(e))

    def test_badValues(self) -> None:
        """
        Values of the wrong type, out of range or not among the choices are
        errors naming the key.
        """
        for overrides in (
            [("udp_tunnel.port", "seventy")],
            [("udp_tunnel.port", "70000")],
            [("tunnel", "sometimes")],
            [("reverse_proxy", "maybe")],
            [("nonsense", "1")],
        ):
            e = self.assertRaises(ConfigError, loadSettings, None, {}, overrides)
            self.assertIn(overrides[0][0], str(e))
        path = self.writeConfig("listen = 80\n")
        e = self.assertRaises(ConfigError, loadSettings, path, {})
        self.assertIn("listen must be a string", str(e))

    def test_badFile(self) -> None:
        """
        A missing, non-TOML or non-UTF-8 file is a one-line error.
        """
        e = self.assertRaises(ConfigError, loadSettings, "/nonexistent/x.toml", {})
        self.assertIn("cannot read configuration file", str(e))
        e = self.assertRaises(ConfigError, loadSettings, self.writeConfig("a = = b"), {})
        self.assertIn("not valid TOML", str(e))
        path = FilePath(self.mktemp())
        path.setContent(b"listen = '\xff'\n")
        e = self.assertRaises(ConfigError, loadSettings, path.path, {})
        self.assertIn("not UTF-8", str(e))
        for message in (str(e),):
            self.assertNotIn("\n", message)

    def test_secretsMasked(self) -> None:
        """
        L{Settings.describe} never shows a secret's value.
        """
        settings = loadSettings(
            None, {}, [("dashboard.super_password", "hunter2"),
                       ("dashboard.super_email", "a@b.c")]
        )
        shown = {key: value for key, value, _ in settings.describe()}
        self.assertEqual(shown["dashboard.super_password"], "********")
        self.assertEqual(shown["dashboard.super_email"], "'a@b.c'")


class DocumentationTests(SynchronousTestCase):
    """
    The configuration documentation is generated from the same table.
    """

    def test_everySettingDocumented(self) -> None:
        """
        The generated table and docs/configuration.md name every setting
        and its environment variable.
        """
        table = settingsDocumentation()
        docs = FilePath(__file__).parent().sibling("docs").child("configuration.md")
        text = docs.getContent().decode("utf-8") if docs.exists() else ""
        for setting in SETTINGS:
            self.assertIn(f"`{setting.key}`", table)
            self.assertIn(environmentName(setting.key), table)
            self.assertIn(f"`{setting.key}`", text, f"{setting.key} not in {docs.path}")

    def test_environmentName(self) -> None:
        """
        Dots become underscores under the POCKETRELAY_ prefix.
        """
        self.assertEqual(
            environmentName("dashboard.super_email"), "POCKETRELAY_DASHBOARD_SUPER_EMAIL"
        )


