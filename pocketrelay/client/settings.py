# -*- test-case-name: tests.test_client_tap -*-
"""
The client's data directory and the saved default server.

The data directory holds the redirector's certificate and
C{settings.json}, with the default server and the app's recent servers::

    {"connection_url": "https://me3.example.org/",
     "recent_servers": ["https://me3.example.org/", "http://10.0.0.5/"]}

(C{connection_url} is the key the Pocket Relay client uses in its own
file).  The command line writes it only when the player asks for it
(C{--server URL --save}); the app (L{rememberServer}) writes both keys
each time a server answers.  URLs are stored in their normalised form,
after the server has answered as a Pocket Relay server.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

from pocketrelay.files import writeAtomically

__all__ = [
    "MAX_RECENT",
    "MAX_SETTINGS_SIZE",
    "SETTINGS_FILE",
    "SettingsError",
    "defaultDataDir",
    "loadRecentServers",
    "loadSavedServer",
    "rememberServer",
    "saveServer",
]

#: How many recent servers the app remembers.
MAX_RECENT = 8

#: The settings file in the data directory.
SETTINGS_FILE = "settings.json"

#: The largest settings file read.
MAX_SETTINGS_SIZE = 64 * 1024


class SettingsError(Exception):
    """
    The settings file cannot be read or written; the message says which
    file and why.
    """


def defaultDataDir(
    platform: str | None = None,
    environ: Mapping[str, str] | None = None,
    home: str | None = None,
) -> str:
    """
    Where the client keeps its files unless told otherwise:
    C{%APPDATA%\\pocketrelay} on Windows, C{$XDG_CONFIG_HOME/pocketrelay}
    (by default C{~/.config/pocketrelay}) elsewhere.
    """
    if platform is None:
        platform = sys.platform
    if environ is None:
        environ = os.environ
    if platform.startswith("win"):
        appData = environ.get("APPDATA")
        if appData:
            return appData.rstrip("\\/") + "\\pocketrelay"
        if home is None:
            home = os.path.expanduser("~")
        return home.rstrip("\\/") + "\\AppData\\Roaming\\pocketrelay"
    config = environ.get("XDG_CONFIG_HOME")
    if config and os.path.isabs(config):
        return os.path.join(config, "pocketrelay")
    if home is None:
        home = os.path.expanduser("~")
    return os.path.join(home, ".config", "pocketrelay")


def _path(dataDir: str) -> str:
    return os.path.join(dataDir, SETTINGS_FILE)


def _load(dataDir: str) -> dict[str, object]:
    """
    The settings file's object (empty if there is no file).

    @raise SettingsError: if the file exists but cannot be read or is not
        a settings file.
    """
    path = _path(dataDir)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SETTINGS_SIZE + 1)
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise SettingsError(f"cannot read {path}: {e.strerror or e}") from None
    if len(data) > MAX_SETTINGS_SIZE:
        raise SettingsError(f"{path} is larger than {MAX_SETTINGS_SIZE} bytes")
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SettingsError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise SettingsError(f"{path} does not hold a JSON object")
    return value


def loadSavedServer(dataDir: str) -> str | None:
    """
    The saved default server URL, or L{None} if none was saved.

    @raise SettingsError: if the file exists but cannot be read or is not
        a settings file.
    """
    path = _path(dataDir)
    url = _load(dataDir).get("connection_url")
    if url is None:
        return None
    if not isinstance(url, str) or not url.strip():
        raise SettingsError(f"{path}: connection_url is not a non-empty string")
    return url


def loadRecentServers(dataDir: str) -> list[str]:
    """
    The servers the app used, most recent first (at most L{MAX_RECENT});
    entries that are not non-empty strings are ignored.

    @raise SettingsError: if the file exists but cannot be read or is not
        a settings file.
    """
    recent = _load(dataDir).get("recent_servers")
    if not isinstance(recent, list):
        return []
    return [url for url in recent if isinstance(url, str) and url.strip()][:MAX_RECENT]


def rememberServer(dataDir: str, url: str) -> str:
    """
    Save C{url} as the default server and first of the recent servers
    (dropping its older place and those beyond L{MAX_RECENT}).

    @return: the path written.
    @raise SettingsError: if it cannot be read or written.
    """
    recent = [url] + [other for other in loadRecentServers(dataDir) if other != url]
    return _save(dataDir, {"connection_url": url, "recent_servers": recent[:MAX_RECENT]})


def saveServer(dataDir: str, url: str) -> str:
    """
    Save C{url} as the default server, atomically, creating the data
    directory (mode 0700) if needed; other keys in the file are kept.

    @return: the path written.
    @raise SettingsError: if it cannot be written.
    """
    return _save(dataDir, {"connection_url": url})


def _save(dataDir: str, changes: Mapping[str, object]) -> str:
    path = _path(dataDir)
    try:
        current: dict[str, object] = {}
        try:
            with open(path, "rb") as f:
                loaded = json.loads(f.read(MAX_SETTINGS_SIZE).decode("utf-8"))
            if isinstance(loaded, dict):
                current = loaded
        except (FileNotFoundError, UnicodeDecodeError, ValueError):
            pass
        current.update(changes)
        os.makedirs(dataDir, mode=0o700, exist_ok=True)
        writeAtomically(path, (json.dumps(current, indent=2) + "\n").encode("utf-8"))
    except OSError as e:
        raise SettingsError(f"cannot write {path}: {e.strerror or e}") from None
    return path
