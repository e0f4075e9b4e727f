# -*- test-case-name: tests.test_onefile -*-
"""
The one-file build's entry point: C{pocketrelay-app} (the C{gui_scripts}
entry point L{pocketrelay.client.app.main}) as a script for PyInstaller.
"""

import sys

from pocketrelay.client.app import main

if __name__ == "__main__":
    sys.exit(main())
