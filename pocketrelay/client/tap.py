# -*- test-case-name: tests.test_plugins -*-
"""
C{twistd pocketrelay-client}: options and service tree.
"""

from __future__ import annotations

from twisted.python import usage

DEFAULT_SERVER_NOTE = "(the saved default server)"


class Options(usage.Options):
    """
    Options of C{twistd pocketrelay-client}.
    """

    synopsis = "[options]"
    longdesc = (
        "Runs beside Mass Effect 3 and connects it to a Pocket Relay server. "
        "NOT YET AVAILABLE: the client services are still being built; this "
        "command refuses to start rather than pretend to work."
    )
    optParameters = [
        ["server", "s", None, "URL of the Pocket Relay server, e.g. https://me3.example.org/"],
        ["hosts-file", None, None, "Path of the hosts file to edit (default: the system's)."],
        ["data-dir", "d", None, "Where the client keeps its certificate and settings."],
    ]
    optFlags = [
        ["no-hosts", None, "Do not edit the hosts file."],
    ]

    def postOptions(self) -> None:
        raise usage.UsageError(
            "pocketrelay-client is not implemented yet: the redirector, "
            "Blaze proxy, HTTP proxy, QoS, telemetry and tunnel are planned "
            "but not built. Use the Pocket Relay client for now."
        )


def makeService(options: Options):  # type: ignore[no-untyped-def]
    raise NotImplementedError("pocketrelay-client is not implemented yet")
