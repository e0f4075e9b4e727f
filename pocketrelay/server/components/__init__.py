# -*- test-case-name: tests.test_components -*-
"""
The Blaze components of the server, one module each.  Importing this
package registers every handler in L{base.REGISTRY}, exported here as
L{REGISTRY} (so that whoever takes it from here gets it filled).
"""

from pocketrelay.server.components import (
    associations,
    authentication,
    gamemanager,
    gamereporting,
    messaging,
    stats,
    usersessions,
    util,
)
from pocketrelay.server.components.base import REGISTRY

__all__ = [
    "REGISTRY",
    "associations",
    "authentication",
    "gamemanager",
    "gamereporting",
    "messaging",
    "stats",
    "usersessions",
    "util",
]
