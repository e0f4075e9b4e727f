# -*- test-case-name: tests.test_onefile -*-
"""
Checks of the one-file build's recipe, C{contrib/pyinstaller/}, that need
no build: what the spec leaves out is nothing the client imports, and the
client imports nothing of the server.  (The build itself is tested by
running it: C{make app-smoke}, C{contrib/pyinstaller/smoke.py}.)
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

ROOT = FilePath(__file__).parent().parent()
RECIPE = ROOT.child("contrib").child("pyinstaller")

#: Imports every module of the client (the window's too) and prints the
#: names of all the modules then loaded.
_IMPORT_CLIENT = """
import json, pkgutil, importlib, sys
import pocketrelay.client
for module in pkgutil.iter_modules(pocketrelay.client.__path__, "pocketrelay.client."):
    importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


def specExcludes(spec: FilePath[str]) -> list[str]:
    """
    The module names the spec's C{excludes = [...]} lists.
    """
    tree = ast.parse(spec.getContent().decode("utf-8"))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "excludes"):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list)
            return [str(name) for name in value]
    raise AssertionError(f"{spec.path} has no excludes list")


def clientModules() -> list[str]:
    """
    The modules loaded once every module of C{pocketrelay.client} is
    imported, in a fresh interpreter running this checkout.
    """
    output = subprocess.run(
        [sys.executable, "-c", _IMPORT_CLIENT], cwd=ROOT.path, capture_output=True,
        text=True, check=True, timeout=60,
    ).stdout
    modules = json.loads(output)
    assert isinstance(modules, list)
    return [str(name) for name in modules]


def _under(name: str, packages: list[str]) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


class SpecTests(SynchronousTestCase):
    """
    C{contrib/pyinstaller/pocketrelay-app.spec} against what the client
    imports.
    """

    def setUp(self) -> None:
        self.excludes = specExcludes(RECIPE.child("pocketrelay-app.spec"))
        self.modules = clientModules()

    def test_excludesNothingTheClientImports(self) -> None:
        """
        No module the client loads is one the spec excludes (an excluded
        one would be missing from the build: twisted.web.server needs
        twisted.spread, tlslite-ng needs xmlrpc and pydoc).
        """
        self.assertIn("twisted.spread.pb", self.modules)
        self.assertIn("tlslite.api", self.modules)
        self.assertIn("tkinter", self.modules)
        self.assertEqual([m for m in self.modules if _under(m, self.excludes)], [])

    def test_serverLeftOut(self) -> None:
        """
        The spec excludes the server and its dependencies, and the client
        loads none of them: the build is dashboard-free without breaking.
        """
        server = ["pocketrelay.server", "pocketrelay.testing", "prometheus_client", "argon2"]
        self.assertEqual([name for name in server if name not in self.excludes], [])
        self.assertEqual([m for m in self.modules if _under(m, server)], [])

    def test_entryPoint(self) -> None:
        """
        The spec builds the entry script, which runs the C{gui_scripts}
        entry point C{pocketrelay.client.app:main}.
        """
        spec = RECIPE.child("pocketrelay-app.spec").getContent().decode("utf-8")
        self.assertIn('"pocketrelay-app.py"', spec)
        script = RECIPE.child("pocketrelay-app.py").getContent().decode("utf-8")
        self.assertIn("from pocketrelay.client.app import main", script)
        self.assertIn("sys.exit(main())", script)
        setup = ROOT.child("setup.cfg").getContent().decode("utf-8")
        self.assertIn("pocketrelay-app = pocketrelay.client.app:main", setup)
