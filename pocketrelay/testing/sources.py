# -*- test-case-name: tests.test_imports,tests.test_admin -*-
"""
Reading the project's own source for tests that check a property of the
code itself (no import cycle, no writing SQL outside the store...).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator

__all__ = ["parsedModules"]


def parsedModules(directory: str) -> Iterator[tuple[str, ast.Module]]:
    """
    The Python files directly in C{directory}, parsed, in name order.

    @return: C{(file name, syntax tree)} pairs.
    """
    for name in sorted(os.listdir(directory)):
        if name.endswith(".py"):
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                yield name, ast.parse(f.read(), name)
