# -*- test-case-name: tests.test_docs -*-
"""
The documentation (C{README.md} and C{docs/*.md}) agrees with the code:
relative links resolve, every setting, C{POCKETRELAY_*} variable and
command-line option it names exists, and every route in the tables of
C{docs/api.md} is one the server serves.

The pages are parsed just enough: fenced and indented code blocks,
paragraphs, inline code spans (also across line breaks, with C{\\|} in
table cells), links and headings (GitHub's anchor slugs).  Options are
collected from the real L{usage.Options} classes and argparse parsers,
settings from L{pocketrelay.server.config.SETTINGS} and routes from the
API's route table, so a rename in the code fails here until the docs
follow.
"""

from __future__ import annotations

import inspect
import os
import re
import shlex
import tomllib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.server.config import (
    SETTINGS,
    ConfigError,
    environmentName,
    loadSettings,
)

ROOT = FilePath(__file__).parent().parent()
DOCS = ROOT.child("docs")

#: Keys of the Rust Pocket Relay server's C{config.json} that pocketrelay
#: does not have; C{docs/migration.md} and C{docs/api.md} name them to say
#: so.  They look like our dotted keys, hence the exception.
RUST_ONLY_KEYS = frozenset({"api.access_tokens", "udp_tunnel.enabled"})

#: Routes the server serves outside the API's route table and the OpenAPI
#: document's other routes, each with where C{site.buildRoot} mounts it.
#: (C{tests.test_metrics} and C{tests.test_tunnel_server} exercise them.)
SITE_ROUTES = {
    ("GET", "/api/server/health"): r'putChild\(\s*b"health"',
    ("GET", "/api/server/tunnel"): r'putChild\(\s*b"tunnel"',
    ("GET", "/metrics"): r'putChild\(\s*b"metrics"',
}

#: File extensions: C{api.md} or C{metrics.py} are file names, not keys.
_EXTENSIONS = frozenset(
    {"md", "py", "js", "css", "html", "json", "toml", "conf", "service", "socket",
     "svg", "db", "pem", "txt"}
)

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_LINK = re.compile(r"\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_ENVIRONMENT = re.compile(r"\bPOCKETRELAY_[A-Z0-9_]*[A-Z0-9]\b")
_DOTTED = re.compile(r"(?<![\w.\-/@$])([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)(?![\w\-/(])")
_ASSIGNMENT = re.compile(
    r"^([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)\s+=\s+"
    r"(\"[^\"]*\"|'[^']*'|[\w.:/*,-]+)$"
)
_NAMED_SETTING = re.compile(r"\bsetting\s+`([^`]+)`|`([^`]+)`\s+setting\b", re.IGNORECASE)
_ROUTE_CELL = re.compile(r"^(GET|HEAD|POST|PUT|DELETE|OPTIONS)\s+`([^`]+)`")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_SHELL_END = frozenset({"|", "||", "&&", ";", ">", ">>", "<", "2>&1"})


@attrs.frozen
class CodeBlock:
    """
    A fenced (with its info string) or indented code block.
    """

    info: str
    lines: tuple[str, ...]

    def commandLines(self) -> Iterator[str]:
        """
        The block's lines with shell continuations (a trailing C{\\})
        joined.
        """
        pending = ""
        for line in self.lines:
            stripped = line.rstrip()
            if stripped.endswith("\\") and not stripped.endswith("\\\\"):
                pending += stripped[:-1] + " "
                continue
            yield (pending + stripped).strip()
            pending = ""
        if pending:
            yield pending.strip()


@attrs.frozen
class Page:
    """
    One Markdown page, split into prose paragraphs and code blocks.
    """

    path: FilePath[str]
    text: str
    paragraphs: tuple[str, ...]
    blocks: tuple[CodeBlock, ...]
    headings: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.path.path[len(ROOT.path) + 1:]

    def spans(self) -> Iterator[str]:
        """
        Every inline code span of the prose, whitespace runs (line
        breaks) made single spaces and C{\\|} unescaped.
        """
        for paragraph in self.paragraphs:
            for match in _SPAN.finditer(paragraph):
                content = " ".join(match.group(2).split())
                yield content.replace("\\|", "|")

    def proseWithoutSpans(self) -> Iterator[str]:
        """
        The prose paragraphs with their code spans removed.
        """
        for paragraph in self.paragraphs:
            yield _SPAN.sub(" ", paragraph)

    def anchors(self) -> set[str]:
        """
        The anchors GitHub makes for the page's headings.
        """
        seen: dict[str, int] = {}
        anchors = set()
        for heading in self.headings:
            slug = slugify(heading)
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
        return anchors


def slugify(heading: str) -> str:
    """
    GitHub's anchor for a heading: the text (links and code reduced to
    their text) lower-cased, punctuation other than C{-} and C{_} dropped,
    spaces made hyphens.
    """
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def parsePage(path: FilePath[str]) -> Page:
    """
    Split a Markdown file into prose paragraphs, code blocks and headings.
    """
    text = path.getContent().decode("utf-8")
    paragraphs: list[str] = []
    blocks: list[CodeBlock] = []
    headings: list[str] = []
    current: list[str] = []
    indented: list[str] = []
    fence: tuple[str, str, list[str]] | None = None
    previousBlank = True

    def endParagraph() -> None:
        if current:
            paragraphs.append("\n".join(current))
            current.clear()

    def endIndented() -> None:
        if indented:
            blocks.append(CodeBlock("", tuple(line[4:] for line in indented)))
            indented.clear()

    for line in text.splitlines():
        if fence is not None:
            marker, info, body = fence
            if line.strip().startswith(marker[0] * len(marker)) and not line.strip().strip(
                marker[0]
            ):
                blocks.append(CodeBlock(info, tuple(body)))
                fence = None
            else:
                body.append(line)
            continue
        opening = _FENCE.match(line)
        if opening is not None:
            endParagraph()
            endIndented()
            fence = (opening.group(1), opening.group(2).lower(), [])
            previousBlank = False
            continue
        blank = not line.strip()
        if (line.startswith("    ") or line.startswith("\t")) and not blank and (
            previousBlank or indented
        ):
            endParagraph()
            indented.append(line.replace("\t", "    ", 1))
            previousBlank = False
            continue
        if blank:
            endParagraph()
            if indented:
                indented.append("    ")
            previousBlank = True
            continue
        endIndented()
        heading = _HEADING.match(line)
        if heading is not None:
            endParagraph()
            headings.append(heading.group(2))
        current.append(line)
        previousBlank = False
    endParagraph()
    endIndented()
    if fence is not None:
        raise AssertionError(f"{path.path}: unclosed code fence")
    return Page(path, text, tuple(paragraphs), tuple(blocks), tuple(headings))


def allPages() -> list[Page]:
    """
    README.md and every page of docs/.
    """
    paths = [ROOT.child("README.md")]
    paths += sorted(DOCS.globChildren("*.md"), key=lambda p: p.basename())
    return [parsePage(path) for path in paths]


# -- what the code knows -----------------------------------------------------


def _settingKeys() -> set[str]:
    return {setting.key for setting in SETTINGS}


def _usageOptions(options: Any) -> set[str]:
    """
    The long (C{--name}) and short (C{-x}) options of a L{usage.Options}.
    """
    names = {"--" + name.rstrip("=") for name in options.longOpt}
    names |= {"-" + letter for letter in options.shortOpt if letter != ":"}
    return names


def _argparseOptions(parser: Any) -> tuple[set[str], dict[str, set[str]]]:
    """
    The options of an argparse parser, and those of each subcommand
    (including those of its own subcommands, as C{game-data install}'s).
    """
    import argparse

    own: set[str] = set()
    commands: dict[str, set[str]] = {}
    for action in parser._actions:
        own.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                subOwn, subCommands = _argparseOptions(subparser)
                commands[name] = subOwn.union(*subCommands.values())
    return own, commands


@attrs.frozen
class KnownOptions:
    """
    The options of every program the docs show.
    """

    twistd: frozenset[str]
    server: frozenset[str]
    client: frozenset[str]
    admin: frozenset[str]
    adminCommands: dict[str, frozenset[str]]
    blaze: frozenset[str]
    app: frozenset[str] = frozenset()

    @classmethod
    def collect(cls) -> KnownOptions:
        from twisted.scripts.twistd import ServerOptions

        from pocketrelay.admin import cli as adminCli
        from pocketrelay.blaze import cli
        from pocketrelay.client.app import AppOptions
        from pocketrelay.client.tap import Options as ClientOptions
        from pocketrelay.server.tap import Options as ServerPluginOptions

        adminOwn, adminCommands = _argparseOptions(adminCli._parser())
        blazeOwn, blazeCommands = _argparseOptions(cli._parser())
        blaze = set(blazeOwn)
        for options in blazeCommands.values():
            blaze |= options
        return cls(
            twistd=frozenset(_usageOptions(ServerOptions())),
            server=frozenset(_usageOptions(ServerPluginOptions())),
            client=frozenset(_usageOptions(ClientOptions())),
            admin=frozenset(adminOwn),
            adminCommands={name: frozenset(adminOwn | options)
                           for name, options in adminCommands.items()},
            blaze=frozenset(blaze),
            app=frozenset(_usageOptions(AppOptions())),
        )

    def everything(self) -> frozenset[str]:
        union = self.twistd | self.server | self.client | self.admin | self.blaze | self.app
        for options in self.adminCommands.values():
            union |= options
        return union


def _tokens(line: str) -> list[str]:
    try:
        lexer = shlex.shlex(line, posix=False)
        lexer.whitespace_split = True
        lexer.commenters = ""
        tokens = list(lexer)
    except ValueError:
        tokens = line.split()
    return [token.strip("[]") for token in tokens]


def _optionName(token: str) -> str | None:
    """
    The option a command-line token names (C{--data-dir=x} is
    C{--data-dir}), or L{None} for a token that is no option.
    """
    if not token.startswith("-") or token in ("-", "--"):
        return None
    name = token.split("=", 1)[0].rstrip(":,.;)")
    if re.fullmatch(r"--[a-z][a-z0-9-]*|-[a-zA-Z]", name):
        return name
    return None


def _basename(token: str) -> str:
    return re.split(r"[/\\=]", token)[-1].lower().removesuffix(".exe")


def commandOptions(line: str, known: KnownOptions) -> Iterator[tuple[str, frozenset[str], str]]:
    """
    The options of the pocketrelay programs a command line runs, each
    with the options it must be one of and the program's name: twistd's
    own before the plugin name, the plugin's after it; for
    C{pocketrelay-admin} its common options and its subcommand's.
    """
    tokens = _tokens(line)
    program: str | None = None
    allowed: frozenset[str] = frozenset()
    for token in tokens:
        if token in _SHELL_END or token.startswith("#"):
            program = None
            continue
        base = _basename(token)
        if base == "twistd":
            program, allowed = "twistd", known.twistd
            continue
        if token in ("pocketrelay-server", "pocketrelay-client") and program == "twistd":
            program = token
            allowed = known.server if token == "pocketrelay-server" else known.client
            continue
        if base == "pocketrelay-admin":
            program, allowed = "pocketrelay-admin", known.admin
            continue
        if base == "pocketrelay-app":
            program, allowed = "pocketrelay-app", known.app
            continue
        if program is None:
            continue
        if program == "pocketrelay-admin" and token in known.adminCommands:
            program = f"pocketrelay-admin {token}"
            allowed = known.adminCommands[token]
            continue
        name = _optionName(token)
        if name is not None:
            yield name, allowed, program


def _runsProgram(line: str) -> bool:
    return any(
        _basename(token) in ("twistd", "pocketrelay-admin", "pocketrelay-app")
        for token in _tokens(line)
    )


# -- the tests ---------------------------------------------------------------


class PagesTests(SynchronousTestCase):
    """
    The set of pages and their map.
    """

    def test_indexNamesEveryPage(self) -> None:
        """
        docs/index.md links to every other page of docs/.
        """
        index = parsePage(DOCS.child("index.md"))
        linked = set()
        for prose in index.proseWithoutSpans():
            for match in _LINK.finditer(prose):
                linked.add(match.group(1).split("#", 1)[0])
        pages = {path.basename() for path in DOCS.globChildren("*.md")} - {"index.md"}
        self.assertEqual(pages - linked, set())

    def test_readmeSetUp(self) -> None:
        """
        The README's set-up section shows exactly two commands, make run
        and make test.
        """
        readme = parsePage(ROOT.child("README.md"))
        setUp = readme.text.split("## Set-up", 1)[1].split("\n## ", 1)[0]
        commands = [line.strip() for line in setUp.splitlines() if line.startswith("    ")]
        self.assertEqual(commands, ["make run", "make test"])

    def test_parser(self) -> None:
        """
        The page parser finds code blocks, spans across lines, escaped
        pipes and headings, and GitHub's anchors.
        """
        path = FilePath(self.mktemp())
        path.setContent(
            b"# Title: `GET /x`\n\nSee `a\nb` and [l](other.md#x-y).\n\n"
            b"    indented --code\n\n| `{n7\\|cp}` |\n\n```toml\nk = 1\n```\n"
            b"## Title: `GET /x`\n"
        )
        page = parsePage(path)
        self.assertEqual(list(page.spans()), ["GET /x", "a b", "{n7|cp}", "GET /x"])
        self.assertEqual(
            [(block.info, block.lines) for block in page.blocks],
            [("", ("indented --code", "")), ("toml", ("k = 1",))],
        )
        self.assertEqual(page.anchors(), {"title-get-x", "title-get-x-1"})
        links = [m.group(1) for p in page.proseWithoutSpans() for m in _LINK.finditer(p)]
        self.assertEqual(links, ["other.md#x-y"])


class LinkTests(SynchronousTestCase):
    """
    Relative links between the pages.
    """

    def test_relativeLinksResolve(self) -> None:
        """
        Every relative link of every page names an existing file, and an
        anchor names a heading of the linked page.
        """
        pages = {page.path.path: page for page in allPages()}
        problems = []
        checked = 0
        for page in pages.values():
            for prose in page.proseWithoutSpans():
                for match in _LINK.finditer(prose):
                    target = match.group(1)
                    if _SCHEME.match(target):
                        continue
                    checked += 1
                    location, _, anchor = target.partition("#")
                    linked = page.path
                    if location:
                        linked = FilePath(
                            os.path.normpath(os.path.join(page.path.dirname(), location))
                        )
                        if not linked.path.startswith(ROOT.path + os.sep):
                            problems.append(f"{page.name}: {target}: outside the project")
                            continue
                    if not linked.exists():
                        problems.append(f"{page.name}: {target}: no such file")
                        continue
                    if anchor:
                        other = pages.get(linked.path) or parsePage(linked)
                        if anchor not in other.anchors():
                            problems.append(f"{page.name}: {target}: no such heading")
        self.assertEqual(problems, [])
        self.assertGreater(checked, 20)


class SettingsTests(SynchronousTestCase):
    """
    Settings and environment variables named in the docs.
    """

    def test_environmentVariables(self) -> None:
        """
        Every POCKETRELAY_* variable the docs name is the variable of a
        setting (or the client unit's own POCKETRELAY_SERVER; or a quoted
        "names no setting" error), and every NAME=VALUE line in a code
        block has a valid value.
        """
        known = {environmentName(setting.key) for setting in SETTINGS}
        unit = CONTRIB_CLIENT_UNIT.getContent().decode("utf-8")
        clientUnit = set(re.findall(r"\$\{(POCKETRELAY_\w+)\}", unit))
        self.assertEqual(clientUnit, {"POCKETRELAY_SERVER"})
        problems = []
        seen = 0
        for page in allPages():
            for match in _ENVIRONMENT.finditer(page.text):
                name = match.group()
                seen += 1
                # Quoting the server's error for a misspelt variable.
                if page.text.startswith(" names no setting", match.end()):
                    continue
                if name not in known | clientUnit:
                    problems.append(f"{page.name}: {name} names no setting")
            for block in page.blocks:
                for line in block.lines:
                    assignment = re.match(r"^\s*(POCKETRELAY_\w+)=(.*)$", line)
                    if assignment is None or assignment.group(1) not in known:
                        continue
                    try:
                        loadSettings(environ={assignment.group(1): assignment.group(2)})
                    except ConfigError as e:
                        problems.append(f"{page.name}: {line.strip()}: {e}")
        self.assertEqual(problems, [])
        self.assertGreater(seen, 10)

    def test_dottedKeys(self) -> None:
        """
        Every dotted key whose section is one of ours (C{limits.x},
        C{udp_tunnel.x}...) is a setting, except the Rust server's keys
        the migration page names.
        """
        keys = _settingKeys()
        sections = {key.split(".", 1)[0] for key in keys if "." in key}
        problems = []
        seen = 0
        for page in allPages():
            for match in _DOTTED.finditer(page.text):
                section, rest = match.groups()
                if section not in sections or rest in _EXTENSIONS:
                    continue
                seen += 1
                key = f"{section}.{rest}"
                if key not in keys and key not in RUST_ONLY_KEYS:
                    problems.append(f"{page.name}: {key} is not a setting")
        self.assertEqual(problems, [])
        self.assertGreater(seen, 50)

    def test_namedKeys(self) -> None:
        """
        Code spans that assign a setting (C{reverse_proxy = true}) or that
        the text calls a setting (C{the `listen` setting}) name settings.
        """
        keys = _settingKeys()
        problems = []
        seen = 0
        for page in allPages():
            for span in page.spans():
                assignment = _ASSIGNMENT.match(span)
                if assignment is not None:
                    seen += 1
                    if assignment.group(1) not in keys:
                        problems.append(f"{page.name}: `{span}` assigns no setting")
            for paragraph in page.paragraphs:
                flat = " ".join(paragraph.split())
                for match in _NAMED_SETTING.finditer(flat):
                    key = match.group(1) or match.group(2)
                    seen += 1
                    if key not in keys:
                        problems.append(f"{page.name}: `{key}` is called a setting")
        self.assertEqual(problems, [])
        self.assertGreater(seen, 5)

    def test_tomlExamples(self) -> None:
        """
        Every TOML example is valid TOML that the server would load.
        """
        problems = []
        seen = 0
        for page in allPages():
            for block in page.blocks:
                if block.info != "toml":
                    continue
                seen += 1
                source = "\n".join(block.lines)
                try:
                    table = tomllib.loads(source)
                    loadSettings("example", environ={}, readToml=_constant(table))
                except (tomllib.TOMLDecodeError, ConfigError) as e:
                    problems.append(f"{page.name}: {e}")
        self.assertEqual(problems, [])
        self.assertGreater(seen, 3)


def _constant(table: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
    """
    A TOML reader that returns C{table} whatever the path.
    """
    return lambda _path: table


CONTRIB_CLIENT_UNIT = ROOT.child("contrib").child("systemd").child(
    "pocketrelay-client.service"
)


class OptionsTests(SynchronousTestCase):
    """
    Command-line options shown in the docs.
    """

    def setUp(self) -> None:
        self.known = KnownOptions.collect()

    def test_collected(self) -> None:
        """
        The collected options include the ones every page relies on, so
        the collection itself works.
        """
        self.assertIn("--help-settings", self.known.server)
        self.assertIn("--no-hosts", self.known.client)
        self.assertIn("-s", self.known.client)
        self.assertIn("--pidfile", self.known.twistd)
        self.assertIn("--data-dir", self.known.admin)
        self.assertIn("--dry-run", self.known.adminCommands["import-rust"])
        self.assertNotIn("--dry-run", self.known.adminCommands["restore"])
        self.assertIn("--body", self.known.blaze)
        self.assertIn("--headless", self.known.app)

    def test_commandContext(self) -> None:
        """
        Options are checked against the program they follow.
        """
        line = (".venv/bin/twistd -n --pidfile= pocketrelay-client --server x --save "
                "| pocketrelay-admin --data-dir d restore --force SRC")
        self.assertEqual(
            [(name, program) for name, _, program in commandOptions(line, self.known)],
            [("-n", "twistd"), ("--pidfile", "twistd"), ("--server", "pocketrelay-client"),
             ("--save", "pocketrelay-client"), ("--data-dir", "pocketrelay-admin"),
             ("--force", "pocketrelay-admin restore")],
        )
        wrong = list(commandOptions("twistd pocketrelay-server --save", self.known))
        self.assertEqual(len(wrong), 1)
        self.assertNotIn(wrong[0][0], wrong[0][1])

    def _commandLines(self, page: Page) -> Iterable[str]:
        for block in page.blocks:
            yield from block.commandLines()
        yield from page.spans()

    def test_commandLines(self) -> None:
        """
        In every command line of the docs (code blocks and code spans)
        that runs twistd pocketrelay-server, twistd pocketrelay-client or
        pocketrelay-admin, each option exists for the program it follows.
        """
        problems = []
        seen = 0
        for page in allPages():
            for line in self._commandLines(page):
                for name, allowed, program in commandOptions(line, self.known):
                    seen += 1
                    if name not in allowed:
                        problems.append(f"{page.name}: {program} has no {name}: {line}")
        self.assertEqual(problems, [])
        self.assertGreater(seen, 40)

    def test_optionsMentioned(self) -> None:
        """
        Option names standing alone (a code span such as C{--ca-file FILE},
        or a code line continuing a command) are options of one of the
        programs.
        """
        everything = self.known.everything()
        problems = []
        seen = 0
        for page in allPages():
            candidates = [span for span in page.spans() if span.startswith("-")]
            for block in page.blocks:
                candidates += [line for line in block.commandLines() if line.startswith("-")]
            for candidate in candidates:
                if _runsProgram(candidate):
                    continue
                for token in _tokens(candidate):
                    name = _optionName(token)
                    if name is None:
                        continue
                    seen += 1
                    if name not in everything:
                        problems.append(f"{page.name}: no program has {name}")
        self.assertEqual(problems, [])
        self.assertGreater(seen, 30)


class ApiRoutesTests(SynchronousTestCase):
    """
    The route tables of docs/api.md.
    """

    def documentedRoutes(self) -> list[tuple[str, str]]:
        """
        (method, path) of every row of the route tables: a first cell
        C{GET `/path`}, or a path in a table whose header says
        C{GET path}.
        """
        page = parsePage(DOCS.child("api.md"))
        routes = []
        for paragraph in page.paragraphs:
            lines = paragraph.splitlines()
            if not lines or not lines[0].startswith("|"):
                continue
            headerMethod = None
            header = lines[0].strip("| ").split("|")[0].strip()
            if re.fullmatch(r"(GET|POST|PUT|DELETE) path", header):
                headerMethod = header.split()[0]
            for row in lines[2:]:
                cell = re.split(r"(?<!\\)\|", row.strip().strip("|"))[0].strip()
                match = _ROUTE_CELL.match(cell)
                if match is not None:
                    routes.append((match.group(1), match.group(2)))
                elif headerMethod is not None:
                    path = re.match(r"`([^`]+)`", cell)
                    if path is not None:
                        routes.append((headerMethod, path.group(1)))
        return [(method, path.replace("\\|", "|")) for method, path in routes]

    def served(self) -> set[tuple[str, str]]:
        from pocketrelay.server.web import site
        from pocketrelay.server.web.api.openapi import OTHER_ROUTES
        from pocketrelay.server.web.api.routes import ROUTES

        source = inspect.getsource(site.buildRoot)
        for route, mounted in SITE_ROUTES.items():
            self.assertTrue(re.search(mounted, source), f"{route} is not mounted")
        table = {(route.method, "/api" + route.path) for route in ROUTES}
        table |= {(route.method, route.path) for route in OTHER_ROUTES}
        return table | set(SITE_ROUTES)

    def test_documentedRoutesExist(self) -> None:
        """
        Every route in the tables of docs/api.md is in the route table
        (with C{{n7|cp}}-style alternatives and C{<token>} placeholders).
        """
        served = self.served()
        documented = self.documentedRoutes()
        self.assertGreater(len(documented), 30)
        problems = [
            f"{method} {path}"
            for method, path in documented
            if not any(_routeMatches(method, path, m, p) for m, p in served)
        ]
        self.assertEqual(problems, [])

    def test_everyApiRouteDocumented(self) -> None:
        """
        Every route of the API's route table has a row in docs/api.md.
        """
        from pocketrelay.server.web.api.routes import ROUTES

        documented = self.documentedRoutes()
        missing = [
            f"{route.method} /api{route.path}"
            for route in ROUTES
            if not any(_routeMatches(m, p, route.method, "/api" + route.path)
                       for m, p in documented)
        ]
        self.assertEqual(missing, [])

    def test_matching(self) -> None:
        """
        Placeholders match placeholders, alternatives match a
        placeholder, a query string is ignored.
        """
        self.assertTrue(_routeMatches("GET", "/api/leaderboard/{n7|cp}?offset=",
                                      "GET", "/api/leaderboard/{board}"))
        self.assertTrue(_routeMatches("GET", "/galaxyatwar/getRatings/<token>",
                                      "GET", "/galaxyatwar/getRatings/{token}"))
        self.assertFalse(_routeMatches("GET", "/api/players/{id}",
                                       "GET", "/api/players/self"))
        self.assertFalse(_routeMatches("PUT", "/api/players/{id}",
                                       "GET", "/api/players/{id}"))
        self.assertFalse(_routeMatches("GET", "/api/player", "GET", "/api/players"))


def _segments(path: str) -> list[str]:
    path = path.split("?", 1)[0]
    return [segment for segment in path.split("/") if segment]


def _isPlaceholder(segment: str) -> bool:
    return bool(re.fullmatch(r"\{[^}]*\}|<[^>]*>", segment))


def _routeMatches(docMethod: str, docPath: str, method: str, path: str) -> bool:
    """
    Whether a documented route is the served route C{method path}.
    """
    if docMethod != method:
        return False
    documented, served = _segments(docPath), _segments(path)
    if len(documented) != len(served):
        return False
    for doc, real in zip(documented, served, strict=True):
        alternatives = re.fullmatch(r"\{([^}]*\|[^}]*)\}", doc)
        if alternatives is not None:
            if not _isPlaceholder(real) and real not in alternatives.group(1).split("|"):
                return False
        elif _isPlaceholder(doc):
            if not _isPlaceholder(real):
                return False
        elif doc != real and not _isPlaceholder(real):
            return False
    return True


def _mebibytes(size: int) -> str:
    """
    C{size} as the docs write it, e.g. C{"16 MiB"}.
    """
    assert size % (1024 * 1024) == 0, size
    return f"{size // (1024 * 1024)} MiB"


class GameDataLimitsTests(SynchronousTestCase):
    """
    The size limits docs/game-data.md states for the game-data files are
    the codecs' constants, which the server and the installer apply.
    """

    def setUp(self) -> None:
        self.text = " ".join(DOCS.child("game-data.md").getContent().decode("utf-8").split())

    def operatorFileRow(self, name: str) -> str:
        match = re.search(
            r"\| `" + re.escape(name) + r"` \| `ME3_[^|]*\|([^|]*)\|", self.text)
        assert match is not None, name
        return match.group(1)

    def test_operatorFileTable(self) -> None:
        """
        The operator-file table gives C{coalesced.json}, C{coalesced.bin}
        and the talk files the limits of L{fileSizeLimit}, which are the
        codecs' constants.
        """
        from pocketrelay.me3.coalesced import MAX_BINARY_SIZE, MAX_JSON_SIZE
        from pocketrelay.me3.tlk import MAX_TLK_SIZE
        from pocketrelay.server.gamedata import fileSizeLimit

        for name, constant in [("coalesced.json", MAX_JSON_SIZE),
                               ("coalesced.bin", MAX_BINARY_SIZE),
                               ("en.tlk", MAX_TLK_SIZE)]:
            self.assertEqual(fileSizeLimit(name), constant)
        self.assertIn(f"At most {_mebibytes(MAX_JSON_SIZE)}.",
                      self.operatorFileRow("coalesced.json"))
        self.assertIn(f"At most {_mebibytes(MAX_BINARY_SIZE)} (uncompressed).",
                      self.operatorFileRow("coalesced.bin"))
        talk = re.search(r"\| `<lang>.tlk`[^|]*\| `ME3_[^|]*\|([^|]*)\|", self.text)
        assert talk is not None
        self.assertIn(f"At most {_mebibytes(MAX_TLK_SIZE)}.", talk.group(1))

    def test_installerAndLimitsTable(self) -> None:
        """
        The installer's paragraph and the Limits table state the same
        figures, and no 64 MiB limit remains for these files.
        """
        from pocketrelay.me3.coalesced import MAX_BINARY_SIZE, MAX_JSON_SIZE
        from pocketrelay.me3.tlk import MAX_TLK_SIZE

        self.assertIn(
            f"its size ({_mebibytes(MAX_JSON_SIZE)} for `coalesced.json`, "
            f"{_mebibytes(MAX_BINARY_SIZE)} for `coalesced.bin` and for talk files",
            self.text)
        self.assertEqual(MAX_BINARY_SIZE, MAX_TLK_SIZE)
        self.assertIn(f"| Binary coalesced | {_mebibytes(MAX_BINARY_SIZE)} ", self.text)
        self.assertIn(f"| `coalesced.json` | {_mebibytes(MAX_JSON_SIZE)} ", self.text)
        self.assertIn(f"| Talk file | {_mebibytes(MAX_TLK_SIZE)};", self.text)
        self.assertNotIn("64 MiB", self.text)


def _checklist(
    titles: Iterable[tuple[str, str]] | None = None,
    status: Callable[[str], Any] | None = None,
) -> str:
    """
    A checklist as L{Report.render} gives it, of steps with these names
    and titles (the doctor's by default), each passed unless C{status}
    says otherwise.
    """
    from pocketrelay.doctor import Report, Status, Step
    from pocketrelay.doctor.checks import STEPS

    steps = []
    for name, title in (STEPS if titles is None else titles):
        outcome = Status.PASSED if status is None else status(name)
        diagnosis = "fix it" if outcome in (Status.FAILED, Status.WARNED) else ""
        steps.append(Step(name, title, outcome, 0.002, "seen", diagnosis))
    return Report("https://127.0.0.1:1/", tuple(steps)).render()


class DoctorExampleTests(SynchronousTestCase):
    """
    The doctor's checklists in the docs are generated (C{make
    doc-examples}, L{pocketrelay.testing.doctorexamples}) and have the
    shape of a current L{Report.render}: a change of the doctor's steps
    fails here until they are regenerated.
    """

    def pageMarkers(self) -> dict[str, Any]:
        from pocketrelay.testing.doctorexamples import PAGES, markers

        found: dict[str, Any] = {}
        for page in PAGES:
            for marker in markers(ROOT.preauthChild(page).getContent().decode("utf-8")):
                self.assertNotIn(marker.name, found, f"{page}: {marker.name} twice")
                found[marker.name] = marker
        return found

    def test_blocksHaveCurrentShape(self) -> None:
        """
        Every marked example in docs/operations.md and docs/tls.md shows
        the doctor's steps in the order of C{STEPS} (those its C{only=}
        names, or all of them), with valid status marks and a summary
        that agrees with them; the scenarios the pages talk about are all
        there.
        """
        from pocketrelay.testing.doctorexamples import blockProblems

        found = self.pageMarkers()
        self.assertEqual(sorted(found), [
            "correct", "idle-closed", "idle-kept", "missing-intermediate",
            "no-upgrade-headers", "silence-warning", "unusable-game-data"])
        for name, marker in found.items():
            self.assertTrue(marker.lines, name)
            self.assertEqual(blockProblems(marker), [], name)

    def test_everyMarkerIsRecorded(self) -> None:
        """
        Each marked example names a report that tests/test_doctor_nginx.py
        records, so C{make doc-examples} fills every marker.
        """
        source = ROOT.child("tests").child("test_doctor_nginx.py").getContent().decode("utf-8")
        for name in self.pageMarkers():
            self.assertIn(f'recordExample("{name}", report)', source)

    def test_noChecklistOutsideMarkers(self) -> None:
        """
        No page shows a checklist line of the doctor outside the markers:
        a pasted example would escape the shape check and the generator.
        """
        pattern = re.compile(r"^\s+\[(ok  |WARN|FAIL|skip)\] |^\s+Checking https?://",
                             re.MULTILINE)
        for page in [*DOCS.globChildren("*.md"), ROOT.child("README.md")]:
            text = page.getContent().decode("utf-8")
            text = re.sub(r"<!-- doctor-example:.*?<!-- /doctor-example -->", "", text,
                          flags=re.DOTALL)
            self.assertEqual(pattern.findall(text), [], page.basename())

    def test_shapeOfARender(self) -> None:
        """
        L{blockProblems} accepts a current render, whole or cut to some
        steps and the summary by C{only=}, with any UDP port in the UDP
        step's title.
        """
        from pocketrelay.doctor import Status
        from pocketrelay.doctor.checks import STEPS
        from pocketrelay.testing.doctorexamples import (
            Marker,
            blockProblems,
            renderExample,
        )

        def status(name: str) -> Status:
            return {"idle": Status.WARNED, "upgrade": Status.FAILED,
                    "blaze": Status.SKIPPED}.get(name, Status.PASSED)

        titles = [(n, "UDP tunnel (port 9032)" if n == "udp-tunnel" else t) for n, t in STEPS]
        rendered = _checklist(titles, status)
        whole = Marker("x", (), tuple(renderExample(rendered)))
        self.assertEqual(blockProblems(whole), [])
        only = ("idle", "health", "summary")
        cut = Marker("x", only, tuple(renderExample(rendered, only)))
        self.assertEqual([line[:6] for line in cut.lines],
                         ["[WARN]", "      ", "[ok  ]", "...", "NOT re"])
        self.assertEqual(blockProblems(cut), [])

    def test_shapeRefusesAnOldRender(self) -> None:
        """
        A block with a step the doctor no longer has (renamed or added in
        the block), a missing step, steps out of order, an unknown status
        mark or a summary that disagrees with the marks is refused.
        """
        from pocketrelay.doctor.checks import STEPS
        from pocketrelay.testing.doctorexamples import Marker, blockProblems

        def problems(text: str, only: tuple[str, ...] = ()) -> list[str]:
            return blockProblems(Marker("x", only, tuple(text.splitlines())))

        renamed = [(n, "Server health" if n == "health" else t) for n, t in STEPS]
        self.assertIn("no doctor step is titled 'Server health'",
                      problems(_checklist(renamed)))
        self.assertTrue(problems(_checklist(STEPS[:-1])))
        self.assertTrue(problems(_checklist([*STEPS, ("extra", "Extra")])))
        swapped = [STEPS[1], STEPS[0], *STEPS[2:]]
        self.assertTrue(problems(_checklist(swapped)))
        good = _checklist()
        self.assertEqual(problems(good), [])
        self.assertTrue(problems(good.replace("[ok  ] QoS", "[OK  ] QoS")))
        self.assertTrue(problems(good.replace("Ready for play.",
                                              "Ready for play (1 warning).")))
        self.assertTrue(problems(good.replace("Ready for play.", "")))
        self.assertTrue(problems("[ok  ] QoS   1 ms  ok", ("idle",)))

    def test_replaceExamples(self) -> None:
        """
        L{replaceExamples} puts each recorded checklist, indented as a
        code block, between its markers (cut to C{only=}), keeps the
        marker comment, leaves markers with no recording alone and names
        them; a second run changes nothing.
        """
        from pocketrelay.testing.doctorexamples import markers, replaceExamples

        text = ("Intro:\n\n<!-- doctor-example: a; note -->\n\n    old\n\n"
                "<!-- /doctor-example -->\n\nThen:\n\n"
                "<!-- doctor-example: b only=qos; note -->\n\n"
                "<!-- /doctor-example -->\n\n<!-- doctor-example: c -->\n"
                "<!-- /doctor-example -->\n")
        rendered = _checklist()
        new, missing = replaceExamples(text, {"a": rendered, "b": rendered})
        self.assertEqual(missing, ["c"])
        self.assertEqual(replaceExamples(new, {"a": rendered, "b": rendered})[0], new)
        self.assertIn("<!-- doctor-example: a; note -->\n\n    Checking https://127.0.0.1:1/\n",
                      new)
        self.assertNotIn("old", new)
        found = {m.name: m for m in markers(new)}
        self.assertEqual(found["a"].lines, tuple(rendered.splitlines()))
        self.assertEqual(len(found["b"].lines), 1)
        self.assertTrue(found["b"].lines[0].startswith("[ok  ] QoS "))
        self.assertTrue(new.endswith("<!-- doctor-example: c -->\n<!-- /doctor-example -->\n"))
