# -*- test-case-name: tests.test_headers -*-
"""
Every module names the tests that exercise it in a
C{# -*- test-case-name: tests.test_x -*-} header (read by
C{trial --testmodule} and by editors), and every name there is a test
module that exists.
"""

from __future__ import annotations

import ast

from twisted.python.filepath import FilePath
from twisted.scripts.trial import loadLocalVariables
from twisted.trial.unittest import SynchronousTestCase

#: The repository's root.
ROOT = FilePath(__file__).parent().parent()

#: The trees (relative POSIX paths) whose modules must carry a header.
TREES = ("pocketrelay", "benchmarks", "twisted", "tests", "fuzz", "contrib/pyinstaller")

#: How the names of Python files end: modules, and PyInstaller specs
#: (Python run by PyInstaller).
PYTHON_EXTENSIONS = (".py", ".spec")


def relative(path: FilePath[str]) -> str:
    """
    C{path} relative to the repository's root, as a POSIX path.
    """
    return "/".join(path.segmentsFrom(ROOT))


def modules() -> list[FilePath[str]]:
    """
    Every Python file of L{TREES}, sorted.
    """
    found = []
    for tree in TREES:
        for path in ROOT.descendant(tree.split("/")).walk():
            if path.basename().endswith(PYTHON_EXTENSIONS) and path.isfile():
                found.append(path)
    return sorted(found, key=lambda path: path.path)


def hasCode(path: FilePath[str]) -> bool:
    """
    Whether a module holds more than a docstring (a package's
    C{__init__.py} that only documents the package needs no header).
    """
    body = ast.parse(path.getContent()).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return bool(body)


def testModules(path: FilePath[str]) -> list[str]:
    """
    The module names a file's header lists, in order; empty without one.
    """
    names = loadLocalVariables(path.path).get("test-case-name", "")
    return [name.strip() for name in names.split(",") if name.strip()]


def exists(moduleName: str) -> bool:
    """
    Whether C{moduleName} is a module (or package) file of this repository.
    """
    path = ROOT.descendant(moduleName.split("."))
    return path.siblingExtension(".py").isfile() or path.child("__init__.py").isfile()


class HeaderTests(SynchronousTestCase):
    """
    The C{test-case-name} headers of the repository's modules.
    """

    def test_found(self) -> None:
        """
        The walk finds the modules (so the other tests check something).
        """
        paths = [relative(path) for path in modules()]
        self.assertEqual(
            {tree for tree in TREES for path in paths if path.startswith(tree + "/")},
            set(TREES),
        )
        self.assertGreater(len(paths), 150)

    def test_contrib(self) -> None:
        """
        The one-file app's Python under C{contrib/pyinstaller} (its entry
        point, smoke test and PyInstaller spec) is checked too.
        """
        paths = [relative(path) for path in modules()]
        for name in ("pocketrelay-app.py", "pocketrelay-app.spec", "smoke.py"):
            self.assertIn("contrib/pyinstaller/" + name, paths)

    def test_namesExist(self) -> None:
        """
        Every name in a header is a test module of the repository.
        """
        wrong = []
        for path in modules():
            for name in testModules(path):
                if not name.startswith("tests.") or not exists(name):
                    wrong.append(f"{relative(path)}: {name}")
        self.assertEqual(wrong, [])

    def test_everyModule(self) -> None:
        """
        Every module with code has a header in its first two lines.
        """
        missing = [
            relative(path)
            for path in modules()
            if hasCode(path) and not testModules(path)
        ]
        self.assertEqual(missing, [])

    def test_testModulesNameThemselves(self) -> None:
        """
        A test module's header names the module itself (so
        C{trial --testmodule tests/test_x.py} runs it).
        """
        wrong = []
        for path in ROOT.child("tests").children():
            base = path.basename()
            if base.startswith("test_") and base.endswith(".py"):
                own = "tests." + base[: -len(".py")]
                if own not in testModules(path):
                    wrong.append(base)
        self.assertEqual(wrong, [])

    def test_detects(self) -> None:
        """
        The checks see a missing header, a header naming no existing
        module, and a docstring-only module.
        """
        directory = FilePath(self.mktemp())
        directory.makedirs()
        plain = directory.child("plain.py")
        plain.setContent(b'"""doc"""\nx = 1\n')
        named = directory.child("named.py")
        named.setContent(b"# -*- test-case-name: tests.test_nothing_here -*-\nx = 1\n")
        docOnly = directory.child("doc.py")
        docOnly.setContent(b'"""\nOnly a docstring.\n"""\n')
        self.assertEqual((testModules(plain), hasCode(plain)), ([], True))
        self.assertEqual(testModules(named), ["tests.test_nothing_here"])
        self.assertFalse(exists("tests.test_nothing_here"))
        self.assertTrue(exists("tests.test_headers"))
        self.assertTrue(exists("pocketrelay.server"))
        self.assertFalse(hasCode(docOnly))
