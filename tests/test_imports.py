# -*- test-case-name: tests.test_imports -*-
"""
The import graph of the C{pocketrelay} package has no cycle, counting the
imports inside functions too: a lazy import must not hide one.  Test
modules share helpers through L{pocketrelay.testing}, never by importing
each other.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Iterator, Mapping

from twisted.trial.unittest import SynchronousTestCase

import pocketrelay
from pocketrelay.testing.sources import parsedModules

#: The package whose modules are checked.
PACKAGE = "pocketrelay"


def _isTypeChecking(node: ast.If) -> bool:
    """
    Whether C{node} is C{if TYPE_CHECKING:} (or C{typing.TYPE_CHECKING}).
    """
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def findModules(directory: str, package: str) -> dict[str, str]:
    """
    Every module of the package in C{directory}: dotted name to file.
    """
    modules = {}
    for path, _, files in os.walk(directory):
        for name in files:
            if not name.endswith(".py"):
                continue
            relative = os.path.relpath(os.path.join(path, name), directory)
            parts = [package, *relative[: -len(".py")].split(os.sep)]
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = os.path.join(path, name)
    return modules


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """
    Every import statement in C{tree}, at any depth (inside functions,
    classes, C{try} blocks...), except those under C{if TYPE_CHECKING:}.
    """
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.If) and _isTypeChecking(child):
            for node in child.orelse:
                yield from _imports(ast.Module(body=[node], type_ignores=[]))
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _imports(child)


def _ancestors(module: str) -> list[str]:
    """
    The packages containing C{module}, outermost first.
    """
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def importsOf(
    module: str, source: str, isPackage: bool, modules: Mapping[str, str]
) -> set[str]:
    """
    The modules of the package that C{module} imports.

    C{from a import b} counts as importing C{a.b} when that is a module,
    else C{a}.  Importing C{a.b.c} also runs the C{__init__} of C{a.b}
    and C{a}, so those count too, except the packages C{module} is
    itself in (they are initialised before it runs).  The reactor import
    is not counted: it is from Twisted, like every other outside import.
    """
    found = set()
    for node in _imports(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                if not isPackage:
                    parts.pop()
                if node.level > 1:
                    parts = parts[: -(node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        for target in targets:
            if target in modules:
                found.add(target)
                found.update(a for a in _ancestors(target) if a in modules)
    own = set(_ancestors(module))
    if isPackage:
        own.add(module)
    return {target for target in found if target not in own}


def importGraph(directory: str, package: str) -> dict[str, set[str]]:
    """
    The import graph of the package in C{directory}: each module to the
    modules of the package it imports (see L{importsOf}).
    """
    modules = findModules(directory, package)
    graph = {}
    for name, path in modules.items():
        with open(path, encoding="utf-8") as f:
            source = f.read()
        graph[name] = importsOf(name, source, path.endswith("__init__.py"), modules)
    return graph


def findCycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """
    A cycle of C{graph}, as the modules along it with the first repeated
    at the end, or L{None} if there is none.
    """
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path = [start]
        onPath = {start}
        stack = [iter(sorted(graph[start]))]
        while stack:
            target = next(stack[-1], None)
            if target is None:
                stack.pop()
                finished = path.pop()
                onPath.discard(finished)
                done.add(finished)
                continue
            if target in onPath:
                return [*path[path.index(target) :], target]
            if target in done or target not in graph:
                continue
            path.append(target)
            onPath.add(target)
            stack.append(iter(sorted(graph[target])))
    return None


class ImportGraphTests(SynchronousTestCase):
    """
    L{importGraph} and L{findCycle}, and the package's own graph.
    """

    def test_noCycle(self) -> None:
        """
        No module of C{pocketrelay} imports, directly or through others,
        itself, counting imports inside functions.
        """
        directory = os.path.dirname(pocketrelay.__file__)
        graph = importGraph(directory, PACKAGE)
        self.assertIn("pocketrelay.server.hub", graph)
        cycle = findCycle(graph)
        if cycle is not None:
            self.fail("import cycle: " + " -> ".join(cycle))

    def test_hubImportsNoHandler(self) -> None:
        """
        The hub (the controller) imports no Blaze handler module: the
        session, which dispatches to them, does.
        """
        directory = os.path.dirname(pocketrelay.__file__)
        graph = importGraph(directory, PACKAGE)
        handlers = {
            name for name in graph[PACKAGE + ".server.hub"]
            if name.startswith(PACKAGE + ".server.components")
        }
        self.assertEqual(handlers, set())
        self.assertIn(PACKAGE + ".server.components", graph[PACKAGE + ".server.session"])

    def test_findsCycleInFunction(self) -> None:
        """
        An import inside a function closes a cycle like any other; the
        cycle is reported module by module.
        """
        directory = self.mktemp()
        os.makedirs(os.path.join(directory, "sub"))
        files = {
            "__init__.py": "",
            "a.py": "from p import b\n",
            "b.py": "def f():\n    from p.sub import c\n",
            "sub/__init__.py": "",
            "sub/c.py": "import p.a\n",
        }
        for name, text in files.items():
            with open(os.path.join(directory, name), "w") as f:
                f.write(text)
        graph = importGraph(directory, "p")
        self.assertEqual(graph["p.b"], {"p.sub", "p.sub.c"})
        self.assertEqual(findCycle(graph), ["p.a", "p.b", "p.sub.c", "p.a"])

    def test_ignored(self) -> None:
        """
        Imports under C{if TYPE_CHECKING:} and imports from outside the
        package (such as the reactor) are not edges; an C{else} branch of
        C{if TYPE_CHECKING:} is.
        """
        source = (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from p import a\n"
            "else:\n"
            "    from p import b\n"
            "def f():\n"
            "    from twisted.internet import reactor\n"
        )
        modules = {"p": "", "p.a": "", "p.b": "", "p.c": ""}
        self.assertEqual(importsOf("p.c", source, False, modules), {"p.b"})

    def test_packageInit(self) -> None:
        """
        Importing a module runs its packages' C{__init__}, an edge to
        each, except to the packages the importer is itself in.  Relative
        imports resolve against the importer.
        """
        modules = {"p": "", "p.q": "", "p.q.r": "", "p.s": "", "p.s.t": ""}
        self.assertEqual(
            importsOf("p.s.t", "from p.q import r\n", False, modules),
            {"p.q", "p.q.r"},
        )
        self.assertEqual(
            importsOf("p.s.t", "from ..q.r import x\nfrom . import u\n", False, modules),
            {"p.q", "p.q.r"},
        )
        self.assertEqual(importsOf("p.q", "from .r import x\n", True, modules), {"p.q.r"})


class TestModulesTests(SynchronousTestCase):
    """
    Test modules do not import each other.
    """

    def test_noTestImportsTest(self) -> None:
        """
        No module in C{tests/} imports C{tests} or one of its modules (at
        any depth): shared helpers live in L{pocketrelay.testing}.
        """
        directory = os.path.dirname(os.path.abspath(__file__))
        found = []
        for name, tree in parsedModules(directory):
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    modules = ["." if node.level else node.module or ""]
                else:
                    continue
                for module in modules:
                    if module == "." or module.split(".")[0] == "tests":
                        found.append(f"{name}:{node.lineno}: {module}")
        self.assertEqual(found, [])

