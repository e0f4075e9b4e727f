# -*- test-case-name: tests.test_packaging -*-
"""
pocketrelay: a Twisted implementation of the Pocket Relay system that lets
Mass Effect 3 players play multiplayer on community servers.
"""

from pocketrelay._version import __version__

__all__ = ["__version__"]
