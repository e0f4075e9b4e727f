# -*- test-case-name: tests.test_tap -*-
"""
twistd plugins for pocketrelay: C{twistd pocketrelay-server} and
C{twistd pocketrelay-client}.

This file is imported whenever twistd lists its plugins, so it imports
nothing but L{twisted.application.service}; the real modules load only
when a plugin is used.
"""

from twisted.application.service import ServiceMaker

pocketrelayServer = ServiceMaker(
    "pocketrelay server",
    "pocketrelay.server.tap",
    "Mass Effect 3 community server: Blaze over HTTP upgrade, JSON API, "
    "dashboard, Galaxy at War, QoS and tunnel on one HTTP port.",
    "pocketrelay-server",
)

pocketrelayClient = ServiceMaker(
    "pocketrelay client",
    "pocketrelay.client.tap",
    "Runs beside Mass Effect 3: local redirector (SSLv3), Blaze and HTTP "
    "proxies, QoS, telemetry and tunnel towards a Pocket Relay server.",
    "pocketrelay-client",
)
