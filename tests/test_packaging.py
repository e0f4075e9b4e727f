# -*- test-case-name: tests.test_packaging -*-
"""
The packaging lists every package, so a normal (non-editable) install has
all the code.
"""

from __future__ import annotations

import configparser

from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

TOP = FilePath(__file__).parent().parent()


class PackagesTests(SynchronousTestCase):
    """
    Tests for the C{packages} list in C{setup.cfg}.
    """

    def test_everyPackageListed(self) -> None:
        """
        Every directory under pocketrelay/ with an __init__.py is listed,
        and so is twisted.plugins, which has none.
        """
        config = configparser.ConfigParser()
        config.read(TOP.child("setup.cfg").path)
        listed = set(config["options"]["packages"].split())
        found = {
            ".".join(init.parent().segmentsFrom(TOP))
            for init in TOP.child("pocketrelay").walk()
            if init.basename() == "__init__.py"
        }
        self.assertEqual(found - listed, set())
        self.assertIn("twisted.plugins", listed)
        self.assertFalse(TOP.child("twisted").child("__init__.py").exists())
        self.assertFalse(TOP.child("twisted").child("plugins").child("__init__.py").exists())
