# -*- test-case-name: tests.test_ssl3 -*-
"""
SSL 3.0 with RC4, the only security Mass Effect 3's redirector connection
speaks, served with tlslite-ng from a Twisted protocol wrapper.

No OpenSSL-based route can do this any more (SSLv3 and RC4 are compiled
out), so L{SSLv3ServerProtocol} drives tlslite-ng's pure-Python engine
through an in-memory socket.
"""

from pocketrelay.ssl3.credentials import (
    SSLv3Credentials,
    clientSettings,
    loadCertificate,
    serverSettings,
)
from pocketrelay.ssl3.protocol import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    SSLv3ClientFactory,
    SSLv3ClientProtocol,
    SSLv3ServerFactory,
    SSLv3ServerProtocol,
)
from pocketrelay.ssl3.records import RecordScanner, SSLv3RecordError

__all__ = [
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "RecordScanner",
    "SSLv3ClientFactory",
    "SSLv3ClientProtocol",
    "SSLv3Credentials",
    "SSLv3RecordError",
    "SSLv3ServerFactory",
    "SSLv3ServerProtocol",
    "clientSettings",
    "loadCertificate",
    "serverSettings",
]
