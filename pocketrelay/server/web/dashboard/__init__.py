# -*- test-case-name: tests.test_dashboard -*-
"""
The built-in web dashboard: a single-page app of plain HTML, CSS and
JavaScript modules shipped in this package (no build step, nothing
fetched from other sites), served by L{DashboardResource}.

URL layout:

  - C{/assets/<name>} and C{/assets/<version>/<name>}: the app's files.
    The page refers to them through the versioned folder, whose name is a
    digest of every file, so they can be cached for a year: a new release
    changes the digest.  Unversioned (or stale-versioned) URLs still work
    and are revalidated on every use.
  - any other path without a file extension (C{/}, C{/players},
    C{/players/12/profile} ...): the app's C{index.html}, which routes on
    the URL in the browser.  Exceptions, answered 404 so that the app
    never stands in for them: paths below L{RESERVED_PREFIXES} (the API,
    Galaxy at War, QoS, content, metrics...) and paths whose last segment
    has an extension (C{/favicon.ico}, C{/robots.txt}).

Files are read once from the package into memory and looked up by exact
name, so no request path ever reaches the file system: there is nothing
to traverse.  Paths with C{.} or C{..} segments, encoded slashes or
backslashes, NUL or invalid UTF-8 are 404 all the same.

An operator can replace the app: when C{index.html} exists in the public
folder given to L{DashboardResource}, that file is served for app routes
instead (for example the Pocket Relay SvelteKit dashboard's build copied
into C{<data_dir>/public/}; its other files are served by
L{pocketrelay.server.web.content.PublicFiles}).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Final
from urllib.parse import unquote_to_bytes

import attrs
from twisted.logger import Logger
from twisted.python.filepath import FilePath
from twisted.web import http
from twisted.web.resource import Resource
from twisted.web.server import Request

__all__ = [
    "ASSET_PREFIX",
    "CONTENT_TYPES",
    "RESERVED_PREFIXES",
    "DashboardResource",
    "StaticFile",
    "loadFiles",
]

#: The first URL segment of the app's files.
ASSET_PREFIX: Final = "assets"

#: First URL segments the app never answers for (404 instead of the app):
#: they belong to other resources even when those are not mounted.
RESERVED_PREFIXES: Final = frozenset(
    {"api", "content", "qos", "galaxyatwar", "gaw", "authentication", "metrics",
     ASSET_PREFIX}
)

#: First URL segments of the app's own pages (see ROUTES in app.js); any
#: other path is 404, so a wrong URL (a mistyped upgrade path, say) is not
#: answered with the app's page.
APP_SEGMENTS: Final = frozenset(
    {"login", "register", "account", "profile", "players", "games", "leaderboard", "log"}
)

#: Content types of the files the package may ship, by extension; files
#: with other extensions (the Python modules) are never served.
CONTENT_TYPES: Final[Mapping[str, str]] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
}

#: The Cache-Control of versioned assets.
IMMUTABLE: Final = b"public, max-age=31536000, immutable"
#: The Cache-Control of the page and of unversioned assets: always
#: revalidate (cheap: a 304 by ETag).
REVALIDATE: Final = b"no-cache"

#: Content-Security-Policy of the built-in page: everything from this
#: origin only, no inline script or style, no framing.
CONTENT_SECURITY_POLICY: Final = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    b"form-action 'self'; frame-ancestors 'none'"
)

#: Largest file loaded from the package, and largest operator index.html.
MAX_FILE_SIZE: Final = 1024 * 1024
#: Longest URL path considered (longer ones are 404).
MAX_PATH_LENGTH: Final = 2048

_PACKAGE: Final = __name__
_INDEX: Final = "index.html"
_VERSION: Final = re.compile("[0-9a-f]{12}")
_UNSAFE: Final = frozenset("/\\\x00")


@attrs.frozen
class StaticFile:
    """
    One file of the app, in memory.

    @ivar name: its path relative to the package (C{app.js}).
    @ivar body: its bytes.
    @ivar contentType: its C{Content-Type}.
    @ivar etag: a strong entity tag from its content.
    """

    name: str
    body: bytes
    contentType: str
    etag: bytes

    @classmethod
    def fromBytes(cls, name: str, body: bytes) -> StaticFile:
        """
        A file with its type taken from the name's extension.

        @raise KeyError: for an extension not in L{CONTENT_TYPES}.
        """
        contentType = CONTENT_TYPES[os.path.splitext(name)[1].lower()]
        digest = hashlib.sha256(body).hexdigest()[:20]
        return cls(name, body, contentType, f'"{digest}"'.encode("ascii"))


def loadFiles(package: str = _PACKAGE) -> dict[str, StaticFile]:
    """
    The servable files of C{package} (top level and sub-folders), by
    relative name: those whose extension is in L{CONTENT_TYPES}, not
    hidden, at most L{MAX_FILE_SIZE} bytes.
    """
    found: dict[str, StaticFile] = {}

    def walk(folder: resources.abc.Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            name = entry.name
            if name.startswith((".", "_")):
                continue
            if entry.is_dir():
                walk(entry, f"{prefix}{name}/")
            elif os.path.splitext(name)[1].lower() in CONTENT_TYPES:
                body = entry.read_bytes()
                if len(body) <= MAX_FILE_SIZE:
                    found[prefix + name] = StaticFile.fromBytes(prefix + name, body)

    walk(resources.files(package), "")
    return found


@functools.cache
def _packageFiles() -> Mapping[str, StaticFile]:
    return loadFiles()


def assetVersion(files: Iterable[StaticFile]) -> str:
    """
    A short digest of every file except the page: the name of the
    versioned asset folder.
    """
    digest = hashlib.sha256()
    for item in sorted(files, key=lambda f: f.name):
        if item.name != _INDEX:
            digest.update(item.name.encode("utf-8") + b"\0" + item.etag + b"\0")
    return digest.hexdigest()[:12]


def _segments(rawPath: bytes) -> list[str] | None:
    """
    The percent-decoded segments of a URL path (empty ones dropped), or
    L{None} when it is not a plain, reasonable path.
    """
    if not rawPath.startswith(b"/") or len(rawPath) > MAX_PATH_LENGTH:
        return None
    segments = []
    for part in rawPath.split(b"/"):
        if not part:
            continue
        try:
            segment = unquote_to_bytes(part).decode("utf-8")
        except UnicodeDecodeError:
            return None
        if segment in (".", "..") or not _UNSAFE.isdisjoint(segment):
            return None
        segments.append(segment)
    return segments


class DashboardResource(Resource):
    """
    Serves the app (see the module docstring) for the request's whole URL
    path, so it answers the same wherever it is mounted: as a site's
    fallback for unknown children, or as the fallback of
    L{pocketrelay.server.web.content.PublicFiles}.

    @ivar files: the app's files by name.
    @ivar version: the name of the versioned asset folder.
    @ivar publicDirectory: where an operator's C{index.html} replaces the
        built-in page, or L{None}.
    """

    isLeaf = True
    log = Logger()

    def __init__(
        self,
        files: Mapping[str, StaticFile] | None = None,
        publicDirectory: FilePath[str] | None = None,
    ) -> None:
        super().__init__()
        loaded = dict(_packageFiles() if files is None else files)
        self.version = assetVersion(loaded.values())
        index = loaded.get(_INDEX)
        if index is not None:
            # Point the page at the versioned (cacheable) folder.
            body = index.body.replace(
                b'"/assets/', f'"/{ASSET_PREFIX}/{self.version}/'.encode("ascii")
            )
            loaded[_INDEX] = StaticFile.fromBytes(_INDEX, body)
        self.files: Mapping[str, StaticFile] = loaded
        self.publicDirectory = publicDirectory

    def render_GET(self, request: Request) -> bytes:
        segments = _segments(request.path)
        if segments is None:
            return self._notFound(request)
        if segments and segments[0] == ASSET_PREFIX:
            return self._asset(request, segments[1:])
        if segments and segments[0].lower() in RESERVED_PREFIXES:
            return self._notFound(request)
        if segments == [_INDEX] or not segments:
            return self._page(request)
        if segments[0] in APP_SEGMENTS and "." not in segments[-1]:
            return self._page(request)
        return self._notFound(request)

    render_HEAD = render_GET

    def _asset(self, request: Request, rest: list[str]) -> bytes:
        cacheControl = REVALIDATE
        if len(rest) > 1 and _VERSION.fullmatch(rest[0]):
            # Only the current version may be cached for long: a page of
            # an older release gets today's files, revalidated.
            if rest[0] == self.version:
                cacheControl = IMMUTABLE
            rest = rest[1:]
        found = self.files.get("/".join(rest))
        if found is None or found.name == _INDEX:
            return self._notFound(request)
        return self._send(request, found, cacheControl)

    def _page(self, request: Request) -> bytes:
        override = self._operatorIndex()
        if override is not None:
            return self._send(request, override, REVALIDATE)
        index = self.files.get(_INDEX)
        if index is None:
            return self._notFound(request)
        request.setHeader(b"content-security-policy", CONTENT_SECURITY_POLICY)
        request.setHeader(b"x-frame-options", b"DENY")
        request.setHeader(b"referrer-policy", b"same-origin")
        return self._send(request, index, REVALIDATE)

    def _operatorIndex(self) -> StaticFile | None:
        if self.publicDirectory is None:
            return None
        candidate = self.publicDirectory.child(_INDEX)
        try:
            if not candidate.isfile() or candidate.getsize() > MAX_FILE_SIZE:
                return None
            return StaticFile.fromBytes(_INDEX, candidate.getContent())
        except OSError:
            self.log.failure("Cannot read the operator's {path}", path=candidate.path)
            return None

    @staticmethod
    def _send(request: Request, item: StaticFile, cacheControl: bytes) -> bytes:
        request.setHeader(b"content-type", item.contentType.encode("ascii"))
        request.setHeader(b"cache-control", cacheControl)
        request.setHeader(b"x-content-type-options", b"nosniff")
        if request.setETag(item.etag) is http.CACHED:
            return b""
        request.setHeader(b"content-length", str(len(item.body)).encode("ascii"))
        return item.body

    @staticmethod
    def _notFound(request: Request) -> bytes:
        request.setResponseCode(404)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"x-content-type-options", b"nosniff")
        return b"Not found"
