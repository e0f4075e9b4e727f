# -*- test-case-name: tests.test_config -*-
"""
Server settings: built-in defaults, a TOML file, environment variables and
the command line, in that order of precedence (later wins).

Every setting is declared once in L{SETTINGS} with its TOML key, type,
default and help text; the TOML reader, the environment reader, the
C{--set KEY=VALUE} option and C{docs/configuration.md} all derive from that
table, so they cannot disagree.

Environment variables are C{POCKETRELAY_} followed by the key upper-cased
with dots replaced by underscores: C{dashboard.super_email} is
C{POCKETRELAY_DASHBOARD_SUPER_EMAIL}.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import attrs

from pocketrelay.me3.clientconfig import DEFAULT_MENU_MESSAGE

__all__ = [
    "SETTINGS",
    "ConfigError",
    "Setting",
    "Settings",
    "environmentName",
    "loadSettings",
    "readSecretFiles",
    "secretWarnings",
]

_ENV_PREFIX = "POCKETRELAY_"
_MAX_CONFIG_BYTES = 1024 * 1024


class ConfigError(Exception):
    """
    A setting is unknown or has a bad value, or the file cannot be read.
    The message is one line meant for the operator.
    """


@attrs.frozen
class Setting:
    """
    The declaration of one setting.

    @ivar key: the dotted TOML key, e.g. C{"dashboard.super_email"}.
    @ivar kind: C{str}, C{int}, C{float} or C{bool}.
    @ivar default: the built-in value (L{None} for "not set").
    @ivar help: one sentence for the docs and C{--help}.
    @ivar choices: the allowed values, if limited.
    @ivar minimum: the smallest allowed number, if any.
    @ivar maximum: the largest allowed number, if any.
    @ivar secret: never shown in logs.
    """

    key: str
    kind: type
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    secret: bool = False

    def convert(self, value: Any, origin: str) -> Any:
        """
        Check and convert a value from a TOML file (already typed) or from
        text (environment, command line).

        @param origin: where the value came from, for the error message.
        @raise ConfigError: if the value does not fit.
        """
        kind = self.kind
        if isinstance(value, str) and kind is not str:
            value = self._parseText(value, origin)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is str and value is None:
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(
                f"{origin}: {self.key} must be {_kindName(kind)}, not {value!r}"
            )
        if self.choices is not None and value not in self.choices:
            raise ConfigError(
                f"{origin}: {self.key} must be one of {', '.join(self.choices)}, "
                f"not {value!r}"
            )
        if self.minimum is not None and value < self.minimum:  # type: ignore[operator]
            raise ConfigError(f"{origin}: {self.key} must be at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:  # type: ignore[operator]
            raise ConfigError(f"{origin}: {self.key} must be at most {self.maximum}")
        return value

    def _parseText(self, text: str, origin: str) -> Any:
        text = text.strip()
        try:
            if self.kind is bool:
                lowered = text.lower()
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise ValueError(text)
            if self.kind is int:
                return int(text, 0)
            if self.kind is float:
                return float(text)
        except ValueError:
            raise ConfigError(
                f"{origin}: {self.key} must be {_kindName(self.kind)}, not {text!r}"
            )
        return text


def _kindName(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}[
        kind
    ]


#: Every setting of the server.
SETTINGS: tuple[Setting, ...] = (
    Setting("listen", str, "tcp:8080",
            "HTTP listener as a Twisted strports description, e.g. tcp:80, "
            "tcp:8080:interface=127.0.0.1, ssl:443:privateKey=key.pem:certKey=cert.pem, "
            "systemd:domain=INET:index=0."),
    Setting("data_dir", str, "data",
            "Data directory: database, secret key, game data files, public/ content. "
            "Created on first run."),
    Setting("log_level", str, "info", "Least severe log level written.",
            choices=("debug", "info", "warn", "error")),
    Setting("log_format", str, "text",
            "Log line format: text (readable lines) or json (one JSON object per "
            "line, with every named field of the event).",
            choices=("text", "json")),
    Setting("menu_message", str, DEFAULT_MENU_MESSAGE,
            "Message shown in the game's main menu; {v} is the server version, "
            "{n} the player's name."),
    Setting("reverse_proxy", bool, False,
            "Trust X-Real-IP / X-Forwarded-For from the peer (only behind a proxy "
            "you run)."),
    Setting("trusted_proxies", str, "127.0.0.1,::1",
            "Comma-separated peer addresses whose forwarding headers are believed "
            "when reverse_proxy is true."),
    Setting("tunnel", str, "stricter",
            "When games are tunnelled: stricter (host is not on an open NAT), "
            "always, or disabled.",
            choices=("stricter", "always", "disabled")),
    Setting("udp_tunnel.port", int, 9032,
            "UDP port of the tunnel; 0 disables the UDP tunnel.", minimum=0, maximum=65535),
    Setting("udp_tunnel.external_port", int, 0,
            "UDP tunnel port as seen by clients (behind NAT/proxy); 0 means the same "
            "as udp_tunnel.port.", minimum=0, maximum=65535),
    Setting("qos.type", str, "local",
            "Where the game measures latency: local (through the player's client), "
            "official, custom, or disabled.",
            choices=("local", "official", "custom", "disabled")),
    Setting("qos.host", str, "127.0.0.1", "QoS host for qos.type = custom."),
    Setting("qos.port", int, 42131, "QoS port for qos.type = custom.", minimum=1,
            maximum=65535),
    Setting("dashboard.super_email", str, None,
            "Email of the first super admin: while no account is SuperAdmin, the "
            "account with this email is created at start (with "
            "dashboard.super_password) or, if it exists, promoted when "
            "dashboard.super_password is its password. Once a SuperAdmin exists "
            "this setting changes nothing (use pocketrelay-admin super-admin)."),
    Setting("dashboard.super_password", str, None,
            "Password of the first super admin account (see dashboard.super_email); "
            "an existing password is kept. Give it in the environment or with "
            "dashboard.super_password_file, not with --set, which other users see "
            "in the process list.",
            secret=True),
    Setting("dashboard.super_password_file", str, None,
            "File holding dashboard.super_password (its first line), read at start; "
            "used when dashboard.super_password is not set."),
    Setting("dashboard.disable_registration", bool, False,
            "Refuse new accounts from the game and the dashboard."),
    Setting("galaxy_at_war.decay", float, 0.0,
            "Galaxy at War readiness lost per day since the last change (0 to 1).",
            minimum=0.0, maximum=1.0),
    Setting("galaxy_at_war.promotions", bool, True,
            "Count class promotions as a Galaxy at War asset."),
    Setting("api.public_games", bool, False, "Let anyone list the live games."),
    Setting("api.public_games_hide_players", bool, True,
            "Hide player names from the public game list."),
    Setting("metrics.allow", str, "127.0.0.1,::1",
            "Comma-separated client addresses or CIDR networks that may read the "
            "Prometheus metrics at /metrics (others get 403); * allows everyone. "
            "Behind a reverse proxy, set reverse_proxy so the real client address "
            "is checked, not the proxy's."),
    Setting("limits.max_frame_size", int, 4 * 1024 * 1024,
            "Largest Blaze frame body accepted, in bytes.", minimum=65536,
            maximum=64 * 1024 * 1024),
    Setting("limits.frame_timeout", float, 30.0,
            "Seconds a Blaze frame may take to arrive once its first byte came; then "
            "the session is closed (the idle timeout restarts on every byte).",
            minimum=1.0),
    Setting("limits.anonymous_frame_memory", int, 16 * 1024 * 1024,
            "Most bytes held, all together, in incomplete Blaze frames of sessions "
            "that have not logged in; a session that would pass it is closed. "
            "0: no limit.", minimum=0),
    Setting("limits.idle_timeout", float, 60.0,
            "Seconds without a message (the game pings every 15 s) before a Blaze "
            "session is closed.", minimum=5.0),
    Setting("limits.max_sessions", int, 5000,
            "Most Blaze sessions at once; further upgrades are refused with 503.",
            minimum=1),
    Setting("limits.max_sessions_per_address", int, 16,
            "Most Blaze sessions at once from one client address (an IPv6 /64); "
            "further upgrades are refused with 429. 0: no limit.", minimum=0),
    Setting("limits.max_tunnels_per_address", int, 16,
            "Most game tunnels (UDP and HTTP) open at once from one client address "
            "(an IPv6 /64); further ones are refused (HTTP: 429). 0: no limit.",
            minimum=0),
    Setting("limits.tunnel_login_timeout", float, 60.0,
            "Seconds a game tunnel may stay open without a logged-in Blaze session "
            "that presented its association token; then it is dropped (the client "
            "opens a new one when it needs it).", minimum=5.0),
    Setting("limits.session_request_rate", float, 1200.0,
            "Blaze requests handled per minute per session (the game pings every "
            "15 s and sends a few dozen requests at login); faster ones wait their "
            "turn. 0: no limit.", minimum=0.0),
    Setting("limits.session_request_burst", int, 200,
            "How many Blaze requests of one session may come at once before "
            "limits.session_request_rate applies.", minimum=1),
    Setting("limits.address_request_rate", float, 2400.0,
            "Blaze requests handled per minute for all sessions of one client "
            "address (an IPv6 /64) together; faster ones wait their turn. 0: no "
            "limit.", minimum=0.0),
    Setting("limits.address_request_burst", int, 400,
            "How many Blaze requests from one address may come at once before "
            "limits.address_request_rate applies.", minimum=1),
    Setting("limits.max_connections_per_address", int, 64,
            "Most open HTTP connections from one peer address, upgraded Blaze "
            "connections included; more are answered 503 and closed. Trusted "
            "proxies are exempt when reverse_proxy is true. 0: no limit.", minimum=0),
    Setting("limits.max_header_size", int, 16 * 1024,
            "Largest HTTP request head (request line and headers), in bytes; "
            "larger is answered 431 and closed.", minimum=1024, maximum=1024 * 1024),
    Setting("limits.max_headers", int, 100,
            "Most header lines in an HTTP request; more is answered 431 and closed.",
            minimum=8, maximum=10000),
    Setting("limits.request_head_timeout", float, 10.0,
            "Seconds a client has to send a complete HTTP request head from the "
            "start of the connection (or of a later request on it); then 408 and "
            "closed. 0: no deadline.", minimum=0.0),
    Setting("limits.request_timeout", float, 60.0,
            "Seconds a client has to send a whole HTTP request, body included, from "
            "the same moment; then 408 and closed. 0: no deadline.", minimum=0.0),
    Setting("limits.login_rate", float, 10.0,
            "Password checks (game and dashboard logins, account creations, "
            "dashboard login-code exchanges, password changes and account "
            "deletions) allowed per minute per client address, and per account "
            "email and address pair. 0: no limit.", minimum=0.0),
    Setting("limits.login_burst", int, 5,
            "How many of those may come at once before limits.login_rate applies.",
            minimum=1),
    Setting("limits.login_email_rate", float, 0.5,
            "Password logins to one account allowed per minute from all addresses "
            "together, except from addresses it logged in from in the last 30 days "
            "(the slower fallback behind the per email and address limit of "
            "limits.login_rate). 0: no limit.", minimum=0.0),
    Setting("limits.login_email_burst", int, 30,
            "How many of those may come at once before limits.login_email_rate "
            "applies.", minimum=1),
    Setting("limits.password_queue_per_address", int, 4,
            "Password checks (Argon2 hashes) one client address may have waiting; "
            "more are refused at once (429, or a timeout in the game), and one "
            "address runs one hash at a time. 0: no per-address bound (load tests "
            "from one address); 256 may wait in all.", minimum=0, maximum=256),
    Setting("limits.refusal_delay", float, 1.0,
            "Seconds an API answer 429 (over a rate limit, or too many password "
            "checks waiting) is held before it is sent, so that a client ignoring "
            "Retry-After cannot make the server answer refusals as fast as it "
            "sends. 0: no delay.", minimum=0.0, maximum=30.0),
    Setting("limits.token_login_rate", float, 60.0,
            "Token logins (the game's silent login on reconnect) allowed per minute "
            "per client address. 0: no limit.", minimum=0.0),
    Setting("limits.token_login_burst", int, 16,
            "How many token logins may come at once from one address.", minimum=1),
    Setting("limits.login_code_rate", float, 2.0,
            "Dashboard login-code requests allowed per minute per client address and "
            "per player. 0: no limit.", minimum=0.0),
    Setting("limits.login_code_burst", int, 3,
            "How many login-code requests may come at once.", minimum=1),
    Setting("limits.telemetry_rate", float, 120.0,
            "Telemetry records accepted per minute per client address. 0: no limit.",
            minimum=0.0),
    Setting("limits.telemetry_burst", int, 60,
            "How many telemetry records may come at once from one address.", minimum=1),
)

_BY_KEY = {setting.key: setting for setting in SETTINGS}


def environmentName(key: str) -> str:
    """
    The environment variable that sets C{key}.
    """
    return _ENV_PREFIX + key.replace(".", "_").upper()


@attrs.frozen
class Settings:
    """
    The effective settings: a read-only mapping from dotted key to value,
    with the origin of each value kept for start-up messages.
    """

    values: Mapping[str, Any]
    origins: Mapping[str, str] = attrs.field(factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def replace(self, **changes: Any) -> Settings:
        """
        A copy with some values changed (keys with dots given with
        double underscores), validated.
        """
        values = dict(self.values)
        for name, value in changes.items():
            key = name.replace("__", ".")
            values[key] = _BY_KEY[key].convert(value, "override")
        return Settings(values, self.origins)

    def describe(self) -> Iterable[tuple[str, str, str]]:
        """
        (key, shown value, origin) for every setting that is not at its
        default; secrets are masked.
        """
        for setting in SETTINGS:
            origin = self.origins.get(setting.key)
            if origin is None:
                continue
            value = self.values[setting.key]
            yield setting.key, "********" if setting.secret else repr(value), origin


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            yield from _flatten(value, key + ".")
        else:
            yield key, value


def _readToml(path: str) -> Mapping[str, Any]:
    try:
        with open(path, "rb") as f:
            raw = f.read(_MAX_CONFIG_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"cannot read configuration file {path}: {e.strerror or e}")
    if len(raw) > _MAX_CONFIG_BYTES:
        raise ConfigError(f"configuration file {path} is larger than 1 MiB")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"configuration file {path} is not UTF-8 text")
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"configuration file {path} is not valid TOML: {e}")


def loadSettings(
    configFile: str | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Iterable[tuple[str, Any]] = (),
    readToml: Callable[[str], Mapping[str, Any]] = _readToml,
) -> Settings:
    """
    Build the effective settings.

    @param configFile: a TOML file, or L{None}.
    @param environ: the environment (defaults to C{os.environ}); variables
        starting with C{POCKETRELAY_} that name no setting are an error, so
        a typo does not go unnoticed.
    @param overrides: (key, value) pairs from the command line, applied
        last; values may be text.
    @raise ConfigError: for an unknown key or a bad value, naming where it
        came from.
    """
    values = {setting.key: setting.default for setting in SETTINGS}
    origins: dict[str, str] = {}

    if configFile is not None:
        for key, value in _flatten(readToml(configFile)):
            setting = _BY_KEY.get(key)
            if setting is None:
                raise ConfigError(f"{configFile}: unknown setting {key!r}")
            values[key] = setting.convert(value, configFile)
            origins[key] = configFile

    environ = os.environ if environ is None else environ
    byEnv = {environmentName(s.key): s for s in SETTINGS}
    for name in sorted(environ):
        if not name.startswith(_ENV_PREFIX):
            continue
        setting = byEnv.get(name)
        if setting is None:
            raise ConfigError(f"environment variable {name} names no setting")
        values[setting.key] = setting.convert(environ[name], name)
        origins[setting.key] = f"environment {name}"

    for key, value in overrides:
        setting = _BY_KEY.get(key)
        if setting is None:
            raise ConfigError(f"command line: unknown setting {key!r}")
        values[key] = setting.convert(value, "command line")
        origins[key] = "command line"

    return Settings(values, origins)


#: The secret settings that may also come from a file, and the setting
#: naming that file.
SECRET_FILES: Final = (("dashboard.super_password", "dashboard.super_password_file"),)


def readSecretFiles(settings: Settings) -> Settings:
    """
    Fill in the secrets of L{SECRET_FILES} that are not set from the files
    their C{_file} settings name (the first line, without its line end).

    @raise ConfigError: when a file cannot be read or is empty; the
        message names the file, never its content.
    """
    for key, fileKey in SECRET_FILES:
        path = settings[fileKey]
        if not path or settings[key]:
            continue
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read(64 * 1024)
        except (OSError, UnicodeDecodeError) as e:
            reason = getattr(e, "strerror", None) or str(e)
            raise ConfigError(f"{fileKey}: cannot read {path}: {reason}")
        value = text.splitlines()[0] if text.splitlines() else ""
        if not value:
            raise ConfigError(f"{fileKey}: {path} is empty")
        settings = Settings({**settings.values, key: value},
                            {**settings.origins, key: f"file {path}"})
    return settings


def secretWarnings(settings: Settings) -> list[str]:
    """
    One warning per secret setting given on the command line, where other
    users of the machine can read it (C{ps}); the value is never part of
    it.
    """
    return [
        f"{setting.key} was given on the command line, where other users can "
        f"read it (ps, /proc); set {environmentName(setting.key)} or "
        f"{setting.key}_file instead"
        for setting in SETTINGS
        if setting.secret and settings.origins.get(setting.key) == "command line"
    ]


def settingsDocumentation() -> str:
    """
    The Markdown table of every setting, for C{docs/configuration.md}.
    """
    lines = [
        "| Key | Type | Default | Environment variable | Meaning |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        default = "(not set)" if s.default is None else repr(s.default)
        if s.kind is bool and s.default is not None:
            default = "true" if s.default else "false"
        meaning = s.help
        if s.choices:
            meaning += f" One of: {', '.join(s.choices)}."
        lines.append(
            f"| `{s.key}` | {s.kind.__name__} | `{default}` | "
            f"`{environmentName(s.key)}` | {meaning} |"
        )
    return "\n".join(lines) + "\n"
