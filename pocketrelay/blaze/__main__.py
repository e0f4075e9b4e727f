# -*- test-case-name: tests.test_cli -*-
"""
C{python -m pocketrelay.blaze}: see L{pocketrelay.blaze.cli}.
"""

from pocketrelay.blaze.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
