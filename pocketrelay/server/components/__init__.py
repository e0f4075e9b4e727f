# -*- test-case-name: tests.test_components -*-
"""
The Blaze components of the server, one module each.  Importing this
package registers every handler in L{base.REGISTRY}.
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

__all__ = [
    "associations",
    "authentication",
    "gamemanager",
    "gamereporting",
    "messaging",
    "stats",
    "usersessions",
    "util",
]
