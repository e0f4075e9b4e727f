# -*- test-case-name: tests.test_web_content -*-
"""
Tests for L{pocketrelay.server.web.content}: static files from C{public/}
through the real site, MIME types, caching headers, and refused paths.
"""

from __future__ import annotations

import os
from typing import Any

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pocketrelay.server.web.content import (
    CONTENT_TYPES,
    DEFAULT_CONTENT_TYPE,
    contentType,
    safeSegments,
)
from pocketrelay.testing.web import WebHarness

BANNER = b"DDS |" + bytes(range(256)) * 4


class HelperTests(SynchronousTestCase):
    """
    Path checking and content types.
    """

    def test_safeSegments(self) -> None:
        """
        Plain names are decoded; anything that could leave the folder, hide
        a file or confuse the file system is refused.
        """
        self.assertEqual(safeSegments(b"/content/Challenge%20Banners/a.dds"),
                         ["content", "Challenge Banners", "a.dds"])
        for bad in (b"/content/../secret", b"/content/%2e%2e/secret", b"/%2E%2E/x",
                    b"/content/..%2fsecret", b"/content/%2Fetc%2Fpasswd", b"//etc/passwd",
                    b"/content/", b"/content//a", b"/.git/config", b"/content/.hidden",
                    b"/a%00b", b"/a%5Cb", b"/a\\b", b"/%ff", b"etc/passwd", b"/",
                    b"/a/./b", b"/a%0ab", b"http://host/x"):
            self.assertIsNone(safeSegments(bad), bad)

    def test_types(self) -> None:
        """
        DDS textures are image/vnd-ms.dds; the dashboard's types are right;
        unknown extensions are application/octet-stream.
        """
        self.assertEqual(contentType("Banner.DDS"), "image/vnd-ms.dds")
        self.assertEqual(contentType("app.js"), "text/javascript; charset=utf-8")
        self.assertEqual(contentType("index.html"), "text/html; charset=utf-8")
        self.assertEqual(contentType("font.woff2"), "font/woff2")
        self.assertEqual(contentType("x.webp"), "image/webp")
        self.assertEqual(contentType("README"), DEFAULT_CONTENT_TYPE)
        self.assertEqual(contentType("x.exe"), DEFAULT_CONTENT_TYPE)
        self.assertIn(".json", CONTENT_TYPES)


class ServingTests(TestCase):
    """
    Files served through the real site.
    """

    def setUp(self) -> None:
        self.web = WebHarness(self)
        self.public = self.web.dataDir.child("public")
        banners = self.public.child("content").child("ChallengeBanners")
        banners.makedirs()
        banners.child("Banner 1.dds").setContent(BANNER)
        self.public.child("robots.txt").setContent(b"User-agent: *\n")
        self.public.child(".env").setContent(b"SECRET=1")
        self.outside = self.web.dataDir.child("secret.txt")
        self.outside.setContent(b"top secret")

    def get(self, path: str, **headers: str) -> defer.Deferred[Any]:
        return self.web.request("GET", path, headers=headers)

    @defer.inlineCallbacks
    def test_dds(self) -> Any:
        """
        A banner is served whole with its type and caching headers.
        """
        response = yield self.get("/content/ChallengeBanners/Banner%201.dds")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.body, BANNER)
        self.assertEqual(response.header("content-type"), "image/vnd-ms.dds")
        self.assertEqual(response.header("content-length"), str(len(BANNER)))
        self.assertEqual(response.header("cache-control"), "public, max-age=3600")
        self.assertIsNotNone(response.header("last-modified"))
        self.assertTrue(response.header("etag").startswith('W/"'))

    @defer.inlineCallbacks
    def test_otherFiles(self) -> Any:
        """
        Any file of public/ is served at its path.
        """
        response = yield self.get("/robots.txt")
        self.assertEqual((response.code, response.body), (200, b"User-agent: *\n"))
        self.assertEqual(response.header("content-type"), "text/plain; charset=utf-8")

    @defer.inlineCallbacks
    def test_conditional(self) -> Any:
        """
        If-None-Match with the ETag, or If-Modified-Since at the
        modification time, gets 304 without a body.
        """
        first = yield self.get("/content/ChallengeBanners/Banner%201.dds")
        etag = first.header("etag")
        again = yield self.get("/content/ChallengeBanners/Banner%201.dds",
                               **{"If-None-Match": etag})
        self.assertEqual((again.code, again.body), (304, b""))
        since = yield self.get("/content/ChallengeBanners/Banner%201.dds",
                               **{"If-Modified-Since": first.header("last-modified")})
        self.assertEqual(since.code, 304)
        other = yield self.get("/content/ChallengeBanners/Banner%201.dds",
                               **{"If-None-Match": 'W/"other"'})
        self.assertEqual(other.code, 200)

    @defer.inlineCallbacks
    def test_headAndRange(self) -> Any:
        """
        HEAD gives the headers only; a Range gives the part.
        """
        head = yield self.web.request("HEAD", "/content/ChallengeBanners/Banner%201.dds")
        self.assertEqual((head.code, head.body), (200, b""))
        self.assertEqual(head.header("content-length"), str(len(BANNER)))
        part = yield self.get("/content/ChallengeBanners/Banner%201.dds", Range="bytes=0-3")
        self.assertEqual((part.code, part.body), (206, b"DDS "))

    @defer.inlineCallbacks
    def test_traversalRefused(self) -> Any:
        """
        ../, encoded dots and slashes, absolute paths and backslashes never
        reach files outside public/.
        """
        attempts = [
            "/../secret.txt",
            "/content/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/content/%2E%2E/%2e%2e/secret.txt",
            "/content/..%2F..%2Fsecret.txt",
            "/%2F" + self.outside.path.lstrip("/").replace("/", "%2F"),
            "/" + self.outside.path,
            "//" + self.outside.path.lstrip("/"),
            "/..%5C..%5Csecret.txt",
            "/content/%00/secret.txt",
        ]
        for path in attempts:
            response = yield self.get(path)
            self.assertEqual(response.code, 404, path)
            self.assertNotIn(b"top secret", response.body, path)

    @defer.inlineCallbacks
    def test_symlinkOut(self) -> Any:
        """
        A symbolic link pointing out of public/ is refused; one inside it
        is followed.
        """
        if not hasattr(os, "symlink"):
            raise self.skipTest("no symbolic links here")
        os.symlink(self.outside.path, self.public.child("leak.txt").path)
        os.symlink(self.web.dataDir.path, self.public.child("datadir").path)
        os.symlink(self.public.child("robots.txt").path, self.public.child("alias.txt").path)
        for path in ("/leak.txt", "/datadir/secret.txt", "/datadir/app.db"):
            response = yield self.get(path)
            self.assertEqual(response.code, 404, path)
        inside = yield self.get("/alias.txt")
        self.assertEqual((inside.code, inside.body), (200, b"User-agent: *\n"))

    @defer.inlineCallbacks
    def test_hiddenAndDirectories(self) -> Any:
        """
        Dot files, directories (no listing) and missing files are 404 (the
        root itself is the dashboard).
        """
        for path in ("/.env", "/content", "/content/", "/content/ChallengeBanners",
                     "/content/missing.dds"):
            response = yield self.get(path)
            self.assertEqual(response.code, 404, path)
            self.assertNotIn(b"Banner", response.body)

    @defer.inlineCallbacks
    def test_methods(self) -> Any:
        """
        Only GET and HEAD.
        """
        response = yield self.web.request("POST", "/robots.txt", b"")
        self.assertEqual(response.code, 405)
        self.assertEqual(response.header("allow"), "GET, HEAD")

    @defer.inlineCallbacks
    def test_noPublicFolder(self) -> Any:
        """
        Without a public/ folder every file is 404.
        """
        self.public.remove()
        response = yield self.get("/robots.txt")
        self.assertEqual(response.code, 404)
