# -*- test-case-name: tests.test_admin -*-
"""
C{python -m pocketrelay.admin}: the same as C{pocketrelay-admin}.
"""

from __future__ import annotations

import sys

from pocketrelay.admin.cli import main

if __name__ == "__main__":
    sys.exit(main())
