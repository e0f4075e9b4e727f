# -*- test-case-name: tests.test_web_content -*-
"""
Static files from the C{public/} folder of the data directory: the game's
C{/content/...} images (C{IMG_MNGR_BASE_URL}, e.g.
C{/content/ChallengeBanners/*.dds}) and any other file an operator puts
there.  A request for C{/a/b.ext} serves C{<data_dir>/public/a/b.ext}.

Safety: the URL path is split into percent-decoded segments and every
segment must be a plain name: not empty, not C{.} or C{..}, not starting
with a dot (hidden files such as C{.git} stay private), without C{/},
C{\\}, NUL or control characters.  The resolved file (symbolic links
followed) must still lie inside C{public/}; links pointing out of it, and
directories, are answered 404.  Only C{GET} and C{HEAD}.

Caching: C{Cache-Control: public, max-age=3600}, C{Last-Modified} and a
weak C{ETag} from the file's size and modification time; conditional
requests (C{If-None-Match}, C{If-Modified-Since}) get 304.  Range requests
are honoured.

MIME types come from the fixed table L{CONTENT_TYPES} (not the host's
C{mimetypes} database, so answers do not vary between machines).  DDS
textures are C{image/vnd-ms.dds}, the IANA-registered type; the game
ignores the type (the reference server sends C{text/plain}).  Unknown
extensions are C{application/octet-stream}.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final
from urllib.parse import unquote_to_bytes

from twisted.python.filepath import FilePath
from twisted.web import http, static
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request

__all__ = [
    "CACHE_CONTROL",
    "CONTENT_TYPES",
    "DEFAULT_CONTENT_TYPE",
    "PublicFiles",
    "PublicRoot",
    "contentType",
    "safeSegments",
]

#: The Cache-Control of every served file.
CACHE_CONTROL: Final = b"public, max-age=3600"

#: The type of files whose extension is not in L{CONTENT_TYPES}.
DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"

#: Content types by lower-case extension.
CONTENT_TYPES: Final[Mapping[str, str]] = {
    ".dds": "image/vnd-ms.dds",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "text/xml; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".wasm": "application/wasm",
    ".webmanifest": "application/manifest+json",
    ".tlk": "application/octet-stream",
    ".bin": "application/octet-stream",
}

_FORBIDDEN_CHARACTERS = frozenset("/\\\x00") | frozenset(chr(c) for c in range(0x20)) | {"\x7f"}

#: Longest accepted URL path segment and number of segments.
_MAX_SEGMENT = 255
_MAX_SEGMENTS = 32


def contentType(name: str) -> str:
    """
    The content type for a file name, by its extension.
    """
    extension = os.path.splitext(name)[1].lower()
    return CONTENT_TYPES.get(extension, DEFAULT_CONTENT_TYPE)


def safeSegments(rawPath: bytes) -> list[str] | None:
    """
    The decoded segments of a raw URL path (C{/a/b%20c} gives
    C{["a", "b c"]}), or L{None} if any segment is unsafe to use as a file
    name (see the module docstring).
    """
    if not rawPath.startswith(b"/"):
        return None
    parts = rawPath[1:].split(b"/")
    if len(parts) > _MAX_SEGMENTS:
        return None
    segments = []
    for part in parts:
        try:
            segment = unquote_to_bytes(part).decode("utf-8")
        except UnicodeDecodeError:
            return None
        if (
            not segment
            or len(segment) > _MAX_SEGMENT
            or segment.startswith(".")
            or not _FORBIDDEN_CHARACTERS.isdisjoint(segment)
        ):
            return None
        segments.append(segment)
    return segments


def _notFound(request: Request) -> bytes:
    request.setResponseCode(404)
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    request.setHeader(b"cache-control", b"no-store")
    return b"Not found"


class _File(static.File):
    """
    One checked regular file.
    """

    def directoryListing(self) -> Resource:  # never used for a checked file
        return _NotFound()


class _NotFound(Resource):
    isLeaf = True

    def render(self, request: Request) -> bytes:
        return _notFound(request)


class PublicFiles(Resource):
    """
    A leaf serving files below C{directory} by the request's whole URL
    path (so it answers the same wherever it is mounted).

    @ivar directory: the C{public/} folder; it need not exist.
    @ivar fallback: renders requests for missing files (the dashboard puts
        its single-page app here); by default a plain 404.
    """

    isLeaf = True

    def __init__(self, directory: FilePath[str], fallback: IResource | None = None) -> None:
        super().__init__()
        self.directory = directory
        self.fallback = fallback

    def resolve(self, rawPath: bytes) -> FilePath[str] | None:
        """
        The regular file inside L{directory} that C{rawPath} names, or
        L{None}.
        """
        segments = safeSegments(rawPath)
        if segments is None:
            return None
        root = os.path.realpath(self.directory.path)
        candidate = os.path.join(root, *segments)
        real = os.path.realpath(candidate)
        if os.path.commonpath([root, real]) != root or real == root:
            return None
        if not os.path.isfile(real):
            return None
        return FilePath(real)

    def render(self, request: Request) -> bytes | int:
        if request.method not in (b"GET", b"HEAD"):
            request.setResponseCode(405)
            request.setHeader(b"allow", b"GET, HEAD")
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"Method not allowed"
        found = self.resolve(request.path)
        if found is None:
            if self.fallback is not None:
                return self.fallback.render(request)
            return _notFound(request)
        try:
            info = os.stat(found.path)
        except OSError:
            return _notFound(request)
        request.setHeader(b"cache-control", CACHE_CONTROL)
        request.setHeader(b"x-content-type-options", b"nosniff")
        etag = f'W/"{info.st_size:x}-{info.st_mtime_ns:x}"'.encode("ascii")
        if request.setETag(etag) is http.CACHED:
            return b""
        resource = _File(found.path, defaultType=DEFAULT_CONTENT_TYPE)
        resource.type = contentType(found.basename())
        resource.encoding = None
        return resource.render(request)


class PublicRoot(Resource):
    """
    A site root: its children answer their own paths; any other path is
    looked up in L{files}.
    """

    def __init__(self, files: PublicFiles) -> None:
        super().__init__()
        self.files = files

    def getChild(self, path: bytes, request: Request) -> IResource:
        return self.files

    def render(self, request: Request) -> bytes | int:
        return self.files.render(request)
