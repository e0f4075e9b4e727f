# -*- test-case-name: tests.test_packaging -*-
"""
The pocketrelay version.

Existing Pocket Relay clients accept a server whose version is semver
0.5.0 or newer, so this stays a plain three-part version.
"""

__version__ = "0.9.0"
