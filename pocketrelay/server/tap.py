# -*- test-case-name: tests.test_plugins -*-
"""
C{twistd pocketrelay-server}: options and service tree.
"""

from __future__ import annotations

from twisted.python import usage


class Options(usage.Options):
    """
    Options of C{twistd pocketrelay-server}.
    """

    synopsis = "[options]"
    longdesc = (
        "Mass Effect 3 community server. NOT YET AVAILABLE: the server "
        "services are still being built; this command refuses to start "
        "rather than pretend to work."
    )
    optParameters = [
        ["listen", "l", "tcp:8080", "HTTP listener, a strports description."],
        ["data-dir", "d", "data", "Data directory (created on first run)."],
        ["config", "c", None, "Configuration file (TOML)."],
        ["log-level", None, "info", "debug, info, warn or error."],
    ]

    def postOptions(self) -> None:
        raise usage.UsageError(
            "pocketrelay-server is not implemented yet: the Blaze session "
            "handling is planned but not built."
        )


def makeService(options: Options):  # type: ignore[no-untyped-def]
    raise NotImplementedError("pocketrelay-server is not implemented yet")
