# -*- test-case-name: tests.test_dashboard -*-
"""
Tests for L{pocketrelay.server.web.dashboard}: the built-in dashboard's
files served in memory (types, caching, the app's routes, refused paths)
and its place in the server's resource tree.
"""

from __future__ import annotations

import re
from typing import Any

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.server import Site

from pocketrelay.server.web.dashboard import (
    CONTENT_TYPES,
    RESERVED_PREFIXES,
    DashboardResource,
    StaticFile,
    loadFiles,
)
from pocketrelay.testing.web import HttpResponse, WebHarness, parseResponse

#: Paths the single-page app routes itself.
APP_ROUTES = (
    "/", "/login", "/register", "/account", "/profile", "/players", "/players/12",
    "/players/12/profile", "/games", "/leaderboard", "/leaderboard/cp", "/log",
    "/players?q=shep&page=2", "/index.html",
)


def get(resource: DashboardResource, path: str, method: str = "GET",
        **headers: str) -> HttpResponse:
    """
    Send one request for C{path} to a site whose root is C{resource}.
    """
    site = Site(resource)
    channel = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
    transport = StringTransport()
    channel.makeConnection(transport)
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    channel.dataReceived(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
    return parseResponse(transport.value())


class FilesTests(SynchronousTestCase):
    """
    The files the package ships.
    """

    def setUp(self) -> None:
        self.files = loadFiles()

    def test_shipped(self) -> None:
        """
        The page, its script, its style sheet and icon are there; Python
        sources and caches are not.
        """
        for name in ("index.html", "app.js", "style.css", "icon.svg", "api.js",
                     "playerdata.js", "me3.js"):
            self.assertIn(name, self.files)
        for name in self.files:
            self.assertNotRegex(name, r"\.py|__pycache__")

    def test_modulesResolve(self) -> None:
        """
        Every module a script imports, and every asset the page names,
        is a shipped file, so the app loads without a build step.
        """
        for item in self.files.values():
            if not item.name.endswith(".js"):
                continue
            text = item.body.decode("utf-8")
            for target in re.findall(r'from\s+"\./([^"]+)"', text):
                self.assertIn(target, self.files, f"{item.name} imports {target}")
            self.assertNotRegex(text, r'from\s+"(?!\./)', f"{item.name}: only local modules")
        page = self.files["index.html"].body.decode("utf-8")
        assets = re.findall(r'"/assets/([^"]+)"', page)
        self.assertIn("app.js", assets)
        for target in assets:
            self.assertIn(target, self.files)

    def test_noHtmlInjection(self) -> None:
        """
        No script inserts HTML: data reaches the page only as text nodes
        and attribute values.
        """
        for item in self.files.values():
            if item.name.endswith(".js"):
                text = item.body.decode("utf-8")
                for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML",
                             "document.write", "eval(", "new Function"):
                    self.assertNotIn(sink, text, item.name)

    def test_nothingExternal(self) -> None:
        """
        The page and style sheet load nothing from other origins (the
        dashboard works offline).
        """
        for name in ("index.html", "style.css"):
            text = self.files[name].body.decode("utf-8")
            self.assertNotRegex(text, r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", name)
            self.assertNotIn("@import", text)

    def test_types(self) -> None:
        """
        Types come from the extension; other extensions are not servable.
        """
        self.assertEqual(StaticFile.fromBytes("a.js", b"").contentType,
                         "text/javascript; charset=utf-8")
        self.assertEqual(StaticFile.fromBytes("A.CSS", b"").contentType,
                         "text/css; charset=utf-8")
        self.assertRaises(KeyError, StaticFile.fromBytes, "a.py", b"")
        self.assertNotIn(".py", CONTENT_TYPES)

    def test_etagFromContent(self) -> None:
        """
        The entity tag changes with the content, not with the name.
        """
        one = StaticFile.fromBytes("a.js", b"1")
        self.assertEqual(one.etag, StaticFile.fromBytes("b.js", b"1").etag)
        self.assertNotEqual(one.etag, StaticFile.fromBytes("a.js", b"2").etag)


class ResourceTests(SynchronousTestCase):
    """
    L{DashboardResource} answers the app's routes with the page, its files
    with the right types and caching, and everything else with 404.
    """

    def setUp(self) -> None:
        self.resource = DashboardResource()
        self.page = self.resource.files["index.html"]

    def test_page(self) -> None:
        """
        C{/} is the page: HTML, revalidated, with a strict content
        security policy and no framing.
        """
        response = get(self.resource, "/")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.header("content-type"), "text/html; charset=utf-8")
        self.assertEqual(response.header("cache-control"), "no-cache")
        self.assertEqual(response.header("x-content-type-options"), "nosniff")
        self.assertEqual(response.header("x-frame-options"), "DENY")
        policy = response.header("content-security-policy") or ""
        self.assertIn("script-src 'self'", policy)
        self.assertIn("frame-ancestors 'none'", policy)
        self.assertIn(b'<script type="module"', response.body)
        self.assertEqual(response.body, self.page.body)

    def test_appRoutes(self) -> None:
        """
        Every path of the app's own pages is the page, so the app can route
        it in the browser; other paths are 404 (a mistyped URL, such as a
        wrong upgrade path, is not answered with the page).
        """
        for path in APP_ROUTES:
            response = get(self.resource, path)
            self.assertEqual((response.code, response.body), (200, self.page.body), path)
        for path in ("/no/such/page", "/nope/api/server/upgrade", "/x"):
            self.assertEqual(get(self.resource, path).code, 404, path)

    def test_versionedAssets(self) -> None:
        """
        The page names its files below C{/assets/<version>/}, which are
        cached for a year; the version is a digest of the files.
        """
        version = self.resource.version
        self.assertRegex(version, "^[0-9a-f]{12}$")
        body = self.page.body.decode("utf-8")
        self.assertIn(f'src="/assets/{version}/app.js"', body)
        self.assertIn(f'href="/assets/{version}/style.css"', body)
        self.assertNotRegex(body, r'"/assets/(?![0-9a-f]{12}/)')
        for name, item in self.resource.files.items():
            if name == "index.html":
                continue
            response = get(self.resource, f"/assets/{version}/{name}")
            self.assertEqual(response.code, 200, name)
            self.assertEqual(response.body, item.body, name)
            self.assertEqual(response.header("content-type"),
                             CONTENT_TYPES[name[name.rindex("."):]], name)
            self.assertEqual(response.header("cache-control"),
                             "public, max-age=31536000, immutable", name)
        other = DashboardResource({"index.html": self.page,
                                   "app.js": StaticFile.fromBytes("app.js", b"changed")})
        self.assertNotEqual(other.version, version)

    def test_unversionedAssets(self) -> None:
        """
        Unversioned and stale-versioned asset URLs still answer, but are
        revalidated on every use.
        """
        for path in ("/assets/app.js", "/assets/000000000000/app.js"):
            response = get(self.resource, path)
            self.assertEqual(response.code, 200, path)
            self.assertEqual(response.body, self.resource.files["app.js"].body)
            self.assertEqual(response.header("cache-control"), "no-cache", path)

    def test_notShadowing(self) -> None:
        """
        The page never stands in for the API, Galaxy at War, QoS, content,
        metrics, missing assets or files with an extension: those are
        plain 404s.
        """
        paths = [f"/{prefix}" for prefix in RESERVED_PREFIXES]
        paths += [f"/{prefix}/x/y" for prefix in RESERVED_PREFIXES]
        paths += ["/API/server", "/Content/banner", "/assets/missing.js", "/assets/",
                  "/favicon.ico", "/robots.txt", "/players/1.json", "/assets/index.html"]
        for path in ("/api", "/content", "/qos", "/galaxyatwar", "/authentication",
                     "/metrics"):
            self.assertIn(path.lstrip("/"), RESERVED_PREFIXES)
        for path in paths:
            response = get(self.resource, path)
            self.assertEqual(response.code, 404, path)
            self.assertEqual(response.body, b"Not found", path)
            self.assertEqual(response.header("cache-control"), "no-store", path)

    def test_noTraversal(self) -> None:
        """
        Files are looked up by exact name in memory: dot segments, encoded
        slashes, NUL and invalid UTF-8 reach nothing outside the app, and
        the package's Python source is never served.
        """
        attempts = [
            "/assets/../__init__.py", "/assets/%2e%2e/__init__.py", "/assets/__init__.py",
            "/assets/..%2f..%2fsetup.cfg", "/assets/%2F" + "etc%2Fpasswd",
            "/assets/app.js%00.html", "/assets/%ff.js", "/assets/.hidden.js",
            "/assets/..\\__init__.py", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
            "/assets/" + "a/" * 600 + "app.js",
        ]
        for path in attempts:
            response = get(self.resource, path)
            self.assertEqual(response.code, 404, path)
            self.assertNotIn(b"import", response.body, path)
            self.assertNotIn(b"root:", response.body, path)

    def test_conditional(self) -> None:
        """
        A request with the current entity tag gets 304 and no body.
        """
        first = get(self.resource, "/assets/style.css")
        etag = first.header("etag")
        self.assertTrue(etag)
        again = get(self.resource, "/assets/style.css", If_None_Match=etag or "")
        self.assertEqual((again.code, again.body), (304, b""))
        page = get(self.resource, "/players", If_None_Match=self.page.etag.decode())
        self.assertEqual(page.code, 304)

    def test_head(self) -> None:
        """
        HEAD answers the headers of GET without a body.
        """
        response = get(self.resource, "/assets/app.js", method="HEAD")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.header("content-type"), "text/javascript; charset=utf-8")
        self.assertEqual(response.body, b"")

    def test_otherMethods(self) -> None:
        """
        Only GET and HEAD are served.
        """
        response = get(self.resource, "/players", method="POST")
        self.assertEqual(response.code, 405)

    def test_operatorIndex(self) -> None:
        """
        An C{index.html} in the public folder replaces the built-in page
        for the app's routes (without the built-in page's policy, which
        another app may not satisfy); the built-in assets stay served.
        A file too large is ignored.
        """
        public = FilePath(self.mktemp())
        public.makedirs()
        resource = DashboardResource(publicDirectory=public)
        self.assertEqual(get(resource, "/games").body, resource.files["index.html"].body)
        public.child("index.html").setContent(b"<!doctype html><p>mine</p>")
        response = get(resource, "/games")
        self.assertEqual((response.code, response.body), (200, b"<!doctype html><p>mine</p>"))
        self.assertIsNone(response.header("content-security-policy"))
        self.assertEqual(get(resource, "/assets/app.js").code, 200)
        public.child("index.html").setContent(b"x" * (1024 * 1024 + 1))
        self.assertEqual(get(resource, "/").body, resource.files["index.html"].body)

    def test_noPage(self) -> None:
        """
        Without a page (an incomplete install) the app's routes are 404,
        not an error.
        """
        resource = DashboardResource({"app.js": StaticFile.fromBytes("app.js", b"1")})
        self.assertEqual(get(resource, "/").code, 404)
        self.assertEqual(get(resource, "/assets/app.js").code, 200)


class SiteTests(TestCase):
    """
    The dashboard in the server's real resource tree.
    """

    def setUp(self) -> Any:
        self.web = WebHarness(self)
        return self.web.start()

    @defer.inlineCallbacks
    def test_mounted(self) -> Any:
        """
        The app's routes get the page, its assets are served, and the
        server's own routes keep answering as before.
        """
        for path in ("/", "/players", "/leaderboard/n7", "/players/3/profile"):
            response = yield self.web.request("GET", path)
            self.assertEqual(response.code, 200, path)
            self.assertIn(b'<script type="module"', response.body, path)
        script = yield self.web.request("GET", "/assets/app.js")
        self.assertEqual(script.header("content-type"), "text/javascript; charset=utf-8")
        server = yield self.web.request("GET", "/api/server")
        self.assertEqual(server.json()["ident"], "POCKET_RELAY_SERVER")
        dashboard = yield self.web.request("GET", "/api/server/dashboard")
        self.assertIn("disable_registration", dashboard.json())
        for path in ("/api/players", "/api/no/such/route", "/qos/firetype",
                     "/galaxyatwar/getRatings/bad", "/content/missing.dds", "/metrics"):
            response = yield self.web.request("GET", path)
            self.assertNotIn(b"<script", response.body, path)
        missing = yield self.web.request("GET", "/content/missing.dds")
        self.assertEqual(missing.code, 404)

    @defer.inlineCallbacks
    def test_publicFilesFirst(self) -> Any:
        """
        A file in the data directory's public/ folder wins over the app,
        and an operator's public/index.html replaces the built-in page.
        """
        public = self.web.dataDir.child("public")
        public.child("assets").makedirs()
        public.child("assets").child("app.js").setContent(b"// operator's")
        response = yield self.web.request("GET", "/assets/app.js")
        self.assertEqual(response.body, b"// operator's")
        public.child("index.html").setContent(b"<!doctype html><title>theirs</title>")
        page = yield self.web.request("GET", "/players")
        self.assertEqual(page.body, b"<!doctype html><title>theirs</title>")
