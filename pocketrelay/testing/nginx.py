# -*- test-case-name: tests.test_tls -*-
"""
nginx for tests: reading, adapting and rendering
C{contrib/nginx/pocketrelay.conf} (L{parseNginx}, L{adaptedConfiguration},
L{renderNginx}) and running it (L{NginxProcess}, on 127.0.0.1 only, in
its own process group, stopped by every test that starts it).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs
from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.python.filepath import FilePath
from twisted.trial.unittest import TestCase

from pocketrelay.testing.environment import findTool, requireTool

__all__ = [
    "CONTRIB_CONF",
    "NGINX",
    "Directive",
    "NginxProcess",
    "NginxSyntaxError",
    "adaptedConfiguration",
    "contribTree",
    "mainConfiguration",
    "nginxSeconds",
    "only",
    "parseNginx",
    "renderNginx",
    "replaceIn",
    "requireNginx",
    "walk",
]

#: The configuration shipped for nginx.
CONTRIB_CONF = (
    FilePath(__file__).parent().parent().sibling("contrib").child("nginx")
    .child("pocketrelay.conf")
)


#: Where nginx is when C{/usr/sbin} is not on C{PATH}.
_NGINX_ALTERNATIVES = ("/usr/sbin/nginx",)

#: The nginx program, or L{None} when it is not installed.
NGINX = findTool("nginx", _NGINX_ALTERNATIVES)


def _sleep(seconds: float) -> defer.Deferred[None]:
    from twisted.internet import reactor

    return task.deferLater(reactor, seconds, lambda: None)


_TOKENS = re.compile(r"""#[^\n]*|'[^']*'|"[^"]*"|[{};]|[^\s{};'"#]+""")


@attrs.frozen
class Directive:
    """
    One directive of an nginx configuration: its name, its arguments (as
    written, quotes kept) and its block (L{None} for a simple directive).
    """

    name: str
    args: tuple[str, ...] = ()
    block: tuple[Directive, ...] | None = None


class NginxSyntaxError(ValueError):
    """
    The configuration text is not well-formed.
    """


def parseNginx(text: str) -> tuple[Directive, ...]:
    """
    Parse nginx configuration text (comments dropped) into a tree of
    L{Directive}s.

    @raise NginxSyntaxError: for unbalanced braces or a directive without
        its C{;}.
    """
    tokens = [t for t in _TOKENS.findall(text) if not t.startswith("#")]
    position = 0

    def block(nested: bool) -> tuple[Directive, ...]:
        nonlocal position
        found: list[Directive] = []
        words: list[str] = []
        while position < len(tokens):
            token = tokens[position]
            position += 1
            if token == ";":
                if not words:
                    raise NginxSyntaxError("empty directive")
                found.append(Directive(words[0], tuple(words[1:])))
                words = []
            elif token == "{":
                if not words:
                    raise NginxSyntaxError("block without a name")
                found.append(Directive(words[0], tuple(words[1:]), block(True)))
                words = []
            elif token == "}":
                if not nested or words:
                    raise NginxSyntaxError("unexpected }")
                return tuple(found)
            else:
                words.append(token)
        if nested or words:
            raise NginxSyntaxError("unexpected end of the configuration")
        return tuple(found)

    return block(False)


def renderNginx(directives: Iterable[Directive], indent: str = "") -> str:
    """
    Configuration text for a tree of L{Directive}s.
    """
    lines = []
    for directive in directives:
        head = " ".join((directive.name, *directive.args))
        if directive.block is None:
            lines.append(f"{indent}{head};")
        else:
            lines.append(f"{indent}{head} {{")
            lines.append(renderNginx(directive.block, indent + "    "))
            lines.append(f"{indent}}}")
    return "\n".join(line for line in lines if line)


def walk(directives: Iterable[Directive]) -> Iterator[Directive]:
    """
    Every directive of the tree, depth first.
    """
    for directive in directives:
        yield directive
        if directive.block is not None:
            yield from walk(directive.block)


def only(directives: Iterable[Directive], name: str, args: tuple[str, ...] | None = None) -> Directive:
    """
    The one directive called C{name} (with C{args}, if given) among
    C{directives}.
    """
    found = [d for d in directives if d.name == name and (args is None or d.args == args)]
    if len(found) != 1:
        raise AssertionError(f"expected one {name} {args or ''} directive, found {len(found)}")
    return found[0]


_TIME_UNITS = {"ms": 0.001, "": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800,
               "M": 2592000, "y": 31536000}


def nginxSeconds(value: str) -> float:
    """
    An nginx time value (C{90}, C{120s}, C{1h}, C{1h30m}, C{500ms}) in
    seconds.
    """
    parts = re.findall(r"(\d+)(ms|[smhdwMy]?)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"not an nginx time: {value!r}")
    return sum(int(number) * _TIME_UNITS[unit] for number, unit in parts)


def contribTree() -> tuple[Directive, ...]:
    """
    C{contrib/nginx/pocketrelay.conf}, parsed.
    """
    return parseNginx(CONTRIB_CONF.getContent().decode("utf-8"))


def replaceIn(
    directives: tuple[Directive, ...], path: tuple[str, ...], change: Any
) -> tuple[Directive, ...]:
    """
    Apply C{change} (directives -> directives) to the block reached by
    C{path} (block names, e.g. C{("server", "location /")}), which must
    exist exactly once at each step.
    """
    if not path:
        return tuple(change(directives))
    name, _, argument = path[0].partition(" ")
    target = only([d for d in directives if d.block is not None], name,
                  (argument,) if argument else None)
    assert target.block is not None
    return tuple(
        attrs.evolve(d, block=replaceIn(target.block, path[1:], change)) if d is target else d
        for d in directives
    )


def _substitute(name: str, args: tuple[str, ...]) -> Any:
    def change(directives: tuple[Directive, ...]) -> list[Directive]:
        only(directives, name)
        return [Directive(name, args) if d.name == name else d for d in directives]

    return change


def adaptedConfiguration(
    listenPort: int,
    upstreamPort: int,
    certificate: str,
    key: str,
    location: Mapping[str, tuple[str, ...]] | None = None,
    server: Iterable[Directive] = (),
) -> tuple[Directive, ...]:
    """
    The http-context directives of C{contrib/nginx/pocketrelay.conf} as
    the test runs them: the same directives, with its listeners replaced
    by one on C{127.0.0.1:listenPort}, the test certificate, and the
    server's port in C{proxy_pass}.

    @param location: directives of C{location /} to replace (name to
        arguments), to show what they do.
    @param server: directives to add to the C{server} block.
    """
    tree = contribTree()

    def listeners(directives: tuple[Directive, ...]) -> list[Directive]:
        ports = [d.args for d in directives if d.name == "listen"]
        if ports != [("443", "ssl"), ("[::]:443", "ssl")]:
            raise AssertionError(f"unexpected listen directives in {CONTRIB_CONF.path}: {ports}")
        kept = [d for d in directives if d.name != "listen"]
        return [Directive("listen", (f"127.0.0.1:{listenPort}", "ssl")), *kept, *server]

    tree = replaceIn(tree, ("server",), listeners)
    tree = replaceIn(tree, ("server",), _substitute("ssl_certificate", (f'"{certificate}"',)))
    tree = replaceIn(tree, ("server",), _substitute("ssl_certificate_key", (f'"{key}"',)))
    tree = replaceIn(
        tree, ("server", "location /"),
        _substitute("proxy_pass", (f"http://127.0.0.1:{upstreamPort}",)),
    )
    for name, args in (location or {}).items():
        tree = replaceIn(tree, ("server", "location /"), _substitute(name, args))
    return tree


def mainConfiguration(prefix: str, http: Iterable[Directive]) -> str:
    """
    A complete nginx configuration around C{http} directives, keeping
    every file of nginx in C{prefix} and running in the foreground.
    """
    def quoted(name: str) -> str:
        return '"' + os.path.join(prefix, name) + '"'

    lines = [
        "daemon off;",
        "master_process on;",
        "worker_processes 1;",
        f"pid {quoted('nginx.pid')};",
        f"error_log {quoted('error.log')} notice;",
        "events { worker_connections 128; }",
        "http {",
        f"    access_log {quoted('access.log')};",
        f"    client_body_temp_path {quoted('client_body')};",
        f"    proxy_temp_path {quoted('proxy')};",
        f"    fastcgi_temp_path {quoted('fastcgi')};",
        f"    uwsgi_temp_path {quoted('uwsgi')};",
        f"    scgi_temp_path {quoted('scgi')};",
        renderNginx(http, "    "),
        "}",
    ]
    if os.geteuid() == 0:
        # Workers would otherwise switch to "nobody", who may not reach
        # the test's directory.
        lines.insert(0, "user root;")
    return "\n".join(lines) + "\n"


def _freePort() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NginxProcess:
    """
    nginx running a configuration in a temporary directory, in its own
    process group, listening on a free port of 127.0.0.1.

    @ivar port: the port nginx listens on, once started.
    """

    startTimeout = 10.0
    stopTimeout = 10.0

    def __init__(self, testCase: TestCase, build: Any) -> None:
        """
        @param build: C{port -> tuple[Directive, ...]}, the http-context
            directives for nginx listening on C{port}.
        """
        assert NGINX is not None
        self.testCase = testCase
        self.build = build
        self.prefix = os.path.abspath(testCase.mktemp())
        os.makedirs(self.prefix)
        self.configPath = os.path.join(self.prefix, "nginx.conf")
        self.errorLog = os.path.join(self.prefix, "error.log")
        self.outputPath = os.path.join(self.prefix, "output.log")
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.tree: tuple[Directive, ...] = ()

    def command(self, *extra: str) -> list[str]:
        assert NGINX is not None
        return [NGINX, "-p", self.prefix + "/", "-c", self.configPath, "-e", self.errorLog,
                *extra]

    def output(self) -> str:
        text = ""
        for path in (self.outputPath, self.errorLog):
            if os.path.exists(path):
                with open(path, encoding="utf-8", errors="replace") as f:
                    text += f.read()
        return text

    def check(self) -> None:
        """
        C{nginx -t}: the configuration is valid.
        """
        result = subprocess.run(self.command("-t"), capture_output=True, text=True,
                                timeout=30, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise AssertionError(f"nginx -t failed:\n{result.stderr}\n{self.configuration()}")

    def configuration(self) -> str:
        with open(self.configPath, encoding="utf-8") as f:
            return f.read()

    @defer.inlineCallbacks
    def start(self) -> Any:
        """
        Write the configuration, check it, start nginx and wait until it
        accepts connections (a port taken meanwhile is retried).
        """
        for attempt in range(3):
            self.port = _freePort()
            self.tree = tuple(self.build(self.port))
            with open(self.configPath, "w", encoding="utf-8") as f:
                f.write(mainConfiguration(self.prefix, self.tree))
            self.check()
            with open(self.outputPath, "wb") as output:
                self.process = subprocess.Popen(
                    self.command(), stdin=subprocess.DEVNULL, stdout=output,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )
            self.testCase.addCleanup(self.stop)
            listening = yield self.waitListening()
            if listening:
                return None
            yield self.stop()
            if "Address already in use" not in self.output() or attempt == 2:
                raise AssertionError(f"nginx did not start:\n{self.output()}")
        return None

    @defer.inlineCallbacks
    def waitListening(self) -> Any:
        assert self.process is not None
        from twisted.internet import reactor

        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port, timeout=1)
        for _ in range(int(self.startTimeout / 0.05)):
            if self.process.poll() is not None:
                return False
            try:
                probe = yield connectProtocol(endpoint, Protocol())
            except Exception:
                yield _sleep(0.05)
            else:
                probe.transport.loseConnection()
                return True
        return False

    def signal(self, number: int) -> None:
        """
        Send a signal to the master process.
        """
        assert self.process is not None
        os.kill(self.process.pid, number)

    @defer.inlineCallbacks
    def stop(self) -> Any:
        """
        Stop nginx: SIGTERM to its process group, SIGKILL after
        L{stopTimeout} seconds.
        """
        process = self.process
        if process is None or process.poll() is not None:
            return None
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        for _ in range(int(self.stopTimeout / 0.05)):
            if process.poll() is not None:
                break
            yield _sleep(0.05)
        else:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(5)
        return None


def requireNginx() -> None:
    """
    Skip the test when nginx is not installed, or fail it under CI
    (L{pocketrelay.testing.environment.requireTool}).
    """
    requireTool("nginx", "nginx", _NGINX_ALTERNATIVES)

