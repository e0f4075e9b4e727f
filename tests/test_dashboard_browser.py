# -*- test-case-name: tests.test_dashboard_browser -*-
"""
The built-in dashboard in a real browser: headless Chromium, driven by
Selenium through chromedriver, against a real server on loopback.

The server runs in this process's reactor; every blocking Selenium call
runs in a thread (L{threads.deferToThread}) with its own time limits, and
the driver is always quit.  Effects of the pages are checked through the
server's store.  A PNG screenshot of every page is saved in the test's
temporary directory (its path is logged and kept in C{self.shots}).

C{DASHBOARD_TEST_SCREENSHOTS} names a directory to save them in instead
(one sub-directory per test), to keep them after the run.

Skipped, with the reason, when Selenium, Chromium or chromedriver is
missing.  C{DASHBOARD_TEST_CHROMIUM} and C{DASHBOARD_TEST_CHROMEDRIVER}
name other binaries than C{chromium} / C{chromedriver} on the C{PATH}.
(Not C{POCKETRELAY_*}: the server refuses unknown variables with that
prefix.)
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from twisted.internet import defer, reactor, threads
from twisted.python.filepath import FilePath
from twisted.trial.unittest import TestCase

from pocketrelay.server.store import GalaxyAtWar, LeaderboardType, PlayerRole
from pocketrelay.testing.environment import requireTool, unavailable
from pocketrelay.testing.gameclient import GameClient
from pocketrelay.testing.loopback import ServerFixture

if TYPE_CHECKING:
    from selenium.webdriver import Chrome as WebDriver
    from selenium.webdriver.remote.webelement import WebElement

_T = TypeVar("_T")

SUPER_EMAIL = "commander@example.org"
SUPER_PASSWORD = "normandy-sr2"

#: The player whose data the admin edits.
BASE = "20;4;12345;-1;0;500;0;42;7260;0;" + "00ff" * 10
CLASSES = {
    "class1": "20;4;Adept;20;5400.5;3",
    "class2": "20;4;Soldier;12;1200;0",
    "class3": "20;4;Engineer;1;0;0",
    "class4": "20;4;Sentinel;20;0;1",
    "class5": "20;4;Infiltrator;7;45;0",
    "class6": "20;4;Vanguard;20;0;2",
}
POWERS = "Singularity 186 6.0 0 0 0 0 0 0 0 True,Warp 187 6.0 0 0 0 0 0 0 1 True"
CHARACTERS = {
    "char0": f"20;4;AdeptHumanMale;Shepard;0;0;0;0;0;0;0;3600;2013;4;1;0;{POWERS};;1,2;3 4,5;True;False",
    "char4": "20;4;SoldierKrogan;Wrex;0;0;0;0;0;0;0;600;2013;4;1;0;;;;;True;False",
    "char9": "20;4;EngineerQuarian;;0;0;0;0;0;0;0;0;2013;4;1;0;;;;;False;False",
}

#: Never hang: page loads, element waits and one browser step.
PAGE_LOAD_TIMEOUT = 30
WAIT_TIMEOUT = 15
STEP_TIMEOUT = 90


def findBrowser() -> tuple[str, str]:
    """
    The paths of Chromium and chromedriver; without them (or selenium),
    the test skips, or fails under CI
    (L{pocketrelay.testing.environment.unavailable}).
    """
    try:
        import selenium  # noqa: F401
    except ImportError:
        unavailable("selenium is not installed (pip install selenium, or '.[dev]')")
    chromium = os.environ.get("DASHBOARD_TEST_CHROMIUM") or requireTool(
        "chromium", "chromium chromium-driver", ["chromium-browser"]
    )
    driver = os.environ.get("DASHBOARD_TEST_CHROMEDRIVER") or requireTool(
        "chromedriver", "chromium-driver"
    )
    return chromium, driver


class Browser:
    """
    One headless Chromium session; every method blocks (run it in a
    thread).
    """

    def __init__(self, base: str, shots: FilePath[str], chromium: str, chromedriver: str) -> None:
        self.base = base
        self.shots = shots
        self.chromium = chromium
        self.chromedriver = chromedriver
        self.driver: WebDriver | None = None
        self.saved: list[str] = []

    def start(self, profile: str, log: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = self.chromium
        for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--no-proxy-server",
                         "--window-size=1280,900", f"--user-data-dir={profile}"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=self.chromedriver, log_output=log)
        self.driver = webdriver.Chrome(options=options, service=service)
        self.driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
        self.driver.set_script_timeout(WAIT_TIMEOUT)

    def quit(self) -> None:
        if self.driver is not None:
            driver, self.driver = self.driver, None
            driver.quit()

    @property
    def d(self) -> WebDriver:
        assert self.driver is not None, "the browser is not running"
        return self.driver

    # -- helpers

    def wait(self, condition: Callable[[WebDriver], Any], what: str) -> Any:
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.d, WAIT_TIMEOUT, poll_frequency=0.1).until(condition)
        except TimeoutException:
            raise AssertionError(
                f"timed out waiting for {what} on {self.d.current_url}: "
                f"{self.text()[:1500]!r}"
            )

    def text(self) -> str:
        from selenium.webdriver.common.by import By

        return str(self.d.find_element(By.TAG_NAME, "main").text)

    def waitText(self, text: str) -> None:
        self.wait(lambda d: text in self.text(), repr(text))

    def ready(self) -> None:
        self.wait(lambda d: d.execute_script("return document.documentElement.dataset.ready")
                  == "true", "the app to start")
        self.wait(lambda d: not d.find_elements("css selector", "main .loading"),
                  "the page to load")

    def open(self, path: str) -> None:
        self.d.get(self.base + path)
        self.ready()

    def path(self) -> str:
        return urlsplit(self.d.current_url).path

    def css(self, selector: str) -> WebElement:
        from selenium.webdriver.common.by import By

        return self.wait(lambda d: d.find_element(By.CSS_SELECTOR, selector), selector)

    def label(self, text: str, scope: str = "main") -> WebElement:
        """
        The input whose label is C{text}.
        """
        from selenium.webdriver.common.by import By

        def find(d: WebDriver) -> Any:
            for label in d.find_elements(By.CSS_SELECTOR, f"{scope} label"):
                if label.text.strip() == text:
                    return d.find_element(By.ID, label.get_attribute("for"))
            return False

        return self.wait(find, f"the field {text!r}")

    def fill(self, label: str, value: str, scope: str = "main") -> None:
        element = self.label(label, scope)
        element.clear()
        element.send_keys(value)

    def button(self, text: str, scope: str = "main") -> WebElement:
        from selenium.webdriver.common.by import By

        def find(d: WebDriver) -> Any:
            for element in d.find_elements(By.CSS_SELECTOR, f"{scope} button"):
                if element.text.strip() == text and element.is_enabled():
                    return element
            return False

        return self.wait(find, f"the button {text!r}")

    def link(self, text: str, scope: str = "body") -> WebElement:
        from selenium.webdriver.common.by import By

        def find(d: WebDriver) -> Any:
            for element in d.find_elements(By.CSS_SELECTOR, f"{scope} a"):
                if element.text.strip() == text:
                    return element
            return False

        return self.wait(find, f"the link {text!r}")

    def screenshot(self, name: str) -> str:
        """
        Save the whole page (not only the window) as C{<name>.png}.
        """
        metrics = self.d.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = self.d.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"],
                     "height": min(size["height"], 6000), "scale": 1},
        })
        target = self.shots.child(f"{name}.png")
        target.setContent(base64.b64decode(shot["data"]))
        self.saved.append(target.path)
        return target.path

    def scriptErrors(self) -> list[str]:
        """
        Console messages that mean a broken page: uncaught exceptions,
        failed module loads, content security policy refusals.
        """
        bad = ("Uncaught", "SyntaxError", "TypeError", "ReferenceError", "Refused to",
               "Failed to load module")
        return [entry["message"] for entry in self.d.get_log("browser")
                if any(word in entry["message"] for word in bad)]

    def logIn(self, email: str, password: str) -> None:
        self.open("/login")
        self.fill("Email", email)
        self.fill("Password", password)
        self.button("Log in").click()
        self.wait(lambda d: self.path() == "/" and "Welcome" in self.text(), "the home page")


class DashboardBrowserTests(TestCase):
    """
    Pages of the dashboard in headless Chromium against a real server.
    """

    timeout = 300

    def setUp(self) -> Any:
        self.chromium, self.chromedriver = findBrowser()
        self.server = ServerFixture(self, [
            "--set", f"dashboard.super_email={SUPER_EMAIL}",
            "--set", f"dashboard.super_password={SUPER_PASSWORD}",
            # No UDP tunnel: its fixed port may be taken by another run.
            "--set", "udp_tunnel.port=0",
            "--log-level", "info",
        ])
        self.store = self.server.hub.store
        keep = os.environ.get("DASHBOARD_TEST_SCREENSHOTS")
        if keep:
            self.shots = FilePath(keep).child(self._testMethodName)
        else:
            self.shots = FilePath(self.mktemp())
        self.shots.makedirs(ignoreExistingDirectory=True)
        return self.populate()

    @defer.inlineCallbacks
    def populate(self) -> Any:
        """
        Wait for the super admin from the settings; add players with
        player data, leaderboard values and Galaxy at War ratings.
        """
        deadline = time.monotonic() + 20
        self.superAdmin = None
        while self.superAdmin is None:
            if time.monotonic() > deadline:
                raise AssertionError("the super admin was not created at start-up")
            yield defer.Deferred.fromCoroutine(self._sleep(0.05))
            if self.store.running:
                self.superAdmin = yield self.store.getPlayerByEmail(SUPER_EMAIL)
        passwords = self.server.hub.passwords
        self.playerPassword = "tuchanka-2186"
        hashed = yield passwords.hash(self.playerPassword)
        self.shepard = yield self.store.createPlayer("shepard@example.org", "Shepard", hashed)
        self.garrus = yield self.store.createPlayer("garrus@example.org", "Garrus", hashed)
        self.admin = yield self.store.createPlayer("liara@example.org", "Liara", hashed,
                                                   role=PlayerRole.ADMIN)
        for number in range(6):
            yield self.store.createPlayer(f"recruit{number}@example.org", f"Recruit {number}",
                                          None)
        data = {"Base": BASE, **CLASSES, **CHARACTERS, "Unknown": "kept; as it is"}
        for key, value in data.items():
            yield self.store.setPlayerData(self.shepard.id, key, value)
        for rank, player in enumerate((self.shepard, self.garrus, self.admin)):
            yield self.store.setLeaderboardValue(LeaderboardType.N7_RATING, player.id,
                                                 900 - 100 * rank)
            yield self.store.setLeaderboardValue(LeaderboardType.CHALLENGE_POINTS, player.id,
                                                 12000 + 1000 * rank)
        now = int(time.time())
        yield self.store.saveGalaxyAtWar(
            GalaxyAtWar(self.shepard.id, now, 5000, 7550, 10099, 6000, 8800))

    async def _sleep(self, seconds: float) -> None:
        d: defer.Deferred[None] = defer.Deferred()
        reactor.callLater(seconds, d.callback, None)
        await d

    @defer.inlineCallbacks
    def startBrowser(self) -> Any:
        browser = Browser(f"http://127.0.0.1:{self.server.port}", self.shots,
                          self.chromium, self.chromedriver)
        profile = FilePath(self.mktemp())
        profile.makedirs()
        self.addCleanup(lambda: threads.deferToThread(browser.quit))
        yield self.step(browser.start, profile.path, self.shots.child("chromedriver.log").path)
        return browser

    def step(self, f: Callable[..., _T], *args: Any) -> defer.Deferred[_T]:
        """
        Run a blocking browser step in a thread, within L{STEP_TIMEOUT}.
        """
        d = threads.deferToThread(f, *args)
        return d.addTimeout(STEP_TIMEOUT, reactor)

    def hostGame(self) -> defer.Deferred[Any]:
        """
        A game client hosting a game (Reapers, Gold, on Firebase Ghost).
        """

        @defer.inlineCallbacks
        def host() -> Any:
            client = yield self.server.connect()
            self.addCleanup(client.disconnect)
            yield client.preAuth()
            yield client.createAccount("host@example.org", "password-host")
            yield client.updateNetworkInfo()
            yield client.createGame({
                **GameClient.ME3_ATTRIBUTES,
                "ME3map": "map3", "ME3gameEnemyType": "enemy3",
                "ME3gameDifficulty": "difficulty2",
            })
            return client

        return host()

    @defer.inlineCallbacks
    def apiGames(self) -> Any:
        """
        What GET /api/games answers a super admin, straight from the API.
        """
        from twisted.web.client import Agent, readBody
        from twisted.web.http_headers import Headers

        assert self.superAdmin is not None
        token = self.server.hub.signer.issueToken(self.superAdmin.id)
        response = yield Agent(reactor).request(
            b"GET", self.server.url("/api/games"), Headers({b"x-token": [token.encode()]}))
        body = yield readBody(response)
        return json.loads(body)

    @defer.inlineCallbacks
    def test_superAdmin(self) -> Any:
        """
        A super admin logs in and sees every page (the home page says
        which game data is missing and which is unusable); renames a player and
        makes another one admin from the players pages; changes credits
        and a class level on a player's profile, which the store then
        holds with every other field of those strings unchanged.
        """
        yield self.hostGame()
        # A corrupt talk file: the home page names it as unusable.
        self.server.hub.gameData.dataDir.child("de.tlk").setContent(b"not a talk file")
        browser = yield self.startBrowser()
        b = browser

        def loginAndHome() -> None:
            b.open("/login")
            b.screenshot("01-login")
            b.logIn(SUPER_EMAIL, SUPER_PASSWORD)
            b.waitText("Welcome, commander")
            b.link("Players", "header")
            b.link("Server log", "header")
            b.wait(lambda d: "…" not in b.text(), "the ranks")
            # Admins see what game data the server lacks (none installed).
            b.waitText("Game data missing: coalesced.json, default.tlk")
            b.waitText("pocketrelay-admin game-data install")
            b.waitText("Game data unusable: de.tlk (")
            b.waitText("pocketrelay-admin game-data install --force")
            b.screenshot("02-home")

        yield self.step(loginAndHome)

        shepard = self.shepard

        def players() -> None:
            b.link("Players", "header").click()
            b.waitText("Recruit 5")
            b.screenshot("03-players")
            b.fill("Name or email contains", "shep")
            b.button("Search").click()
            b.wait(lambda d: "1 player found" in b.text(), "the search")
            assert "Garrus" not in b.text(), b.text()
            assert "q=shep" in b.d.current_url, b.d.current_url
            # Paging: 5 per page of 11 players (with the game's host).
            b.open("/players?count=5")
            b.waitText("Page 1 of 3")
            b.button("Next").click()
            b.wait(lambda d: "Page 2 of 3" in b.text(), "page 2")
            assert "Recruit 5" in b.text() and "Recruit 0" not in b.text(), b.text()
            b.open(f"/players/{shepard.id}")
            b.waitText("shepard@example.org")
            b.fill("Display name", "Commander Shepard")
            b.button("Save").click()
            b.waitText("Name and email saved.")
            b.screenshot("04-player")

        yield self.step(players)
        renamed = yield self.store.getPlayer(shepard.id)
        self.assertEqual(renamed.displayName, "Commander Shepard")
        self.assertEqual(renamed.email, "shepard@example.org")

        garrus = self.garrus

        def role() -> None:
            from selenium.webdriver.support.select import Select

            b.open(f"/players/{garrus.id}")
            Select(b.label("Role")).select_by_value("Admin")
            b.button("Set the role").click()
            b.waitText("Role set to Admin.")

        yield self.step(role)
        promoted = yield self.store.getPlayer(garrus.id)
        self.assertEqual(promoted.role, PlayerRole.ADMIN)

        def profile() -> None:
            b.open(f"/players/{shepard.id}/profile")
            b.waitText("Profile of Commander Shepard")
            text = b.text()
            for expected in ("12,345", "Adept", "Vanguard", "Adept Human Male", "Wrex",
                             "Soldier Krogan", "Group C", "100.99 %"):
                assert expected in text, (expected, text)
            # Only deployed characters by default.
            assert "Engineer Quarian" not in text
            b.label("Only deployed characters").click()
            b.waitText("Engineer Quarian")
            b.wait(lambda d: "Readiness level" in b.text(), "Galaxy at War")
            b.screenshot("05-profile")
            b.fill("Credits", "999999")
            b.fill("Adept level", "15")
            b.button("Save changes").click()
            b.waitText("Saved Base, class1.")
            b.waitText("999,999")

        yield self.step(profile)
        data = yield self.store.getPlayerData(shepard.id)
        self.assertEqual(data["Base"], BASE.replace("12345", "999999", 1))
        self.assertEqual(data["class1"], "20;4;Adept;15;5400.5;3")
        for key, value in {**CLASSES, **CHARACTERS, "Unknown": "kept; as it is"}.items():
            if key != "class1":
                self.assertEqual(data[key], value, key)

        listed = yield self.apiGames()
        self.assertEqual(listed["total_items"], 1, listed)

        def games() -> None:
            b.link("Games", "header").click()
            b.waitText("1 game is running.")
            b.waitText("Firebase Ghost")
            text = b.text()
            for expected in ("Benning", "Reapers", "Gold", "Public", "In the lobby", "1 of 4",
                             "host Host", "internal 192.168.1.20:3659"):
                assert expected in text, (expected, text)
            b.screenshot("06-games")
            b.d.execute_cdp_cmd("Emulation.setEmulatedMedia", {
                "features": [{"name": "prefers-color-scheme", "value": "dark"}]})
            b.screenshot("06-games-dark")
            b.d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})

        yield self.step(games)

        def leaderboards() -> None:
            b.link("Leaderboards", "header").click()
            b.waitText("Commander Shepard")
            text = b.text()
            assert text.index("Commander Shepard") < text.index("Garrus") < text.index("Liara")
            assert "Your rank" in text or "not ranked" in text
            b.screenshot("07-leaderboard-n7")
            b.link("Challenge points").click()
            b.wait(lambda d: b.path() == "/leaderboard/cp", "the CP board")
            b.waitText("14,000")
            text = b.text()
            assert text.index("Liara") < text.index("Garrus") < text.index("Commander Shepard")
            b.screenshot("08-leaderboard-cp")

        yield self.step(leaderboards)

        def serverLog() -> None:
            b.link("Server log", "header").click()
            b.wait(lambda d: "lines." in b.text() or "empty" in b.text(), "the log")
            assert "Error" not in b.text().split("\n")[0]
            b.screenshot("09-log")
            b.button("Clear the log").click()
            b.d.switch_to.alert.accept()
            b.waitText("The log was cleared.")

        yield self.step(serverLog)

        def account() -> None:
            b.open("/account")
            b.waitText("Delete my account")
            b.screenshot("10-account")
            b.d.set_window_size(390, 844)
            b.open(f"/players/{shepard.id}/profile")
            b.waitText("Profile of Commander Shepard")
            b.screenshot("11-profile-narrow")
            b.button("Menu", "header").click()
            b.wait(lambda d: b.link("Players", "header").is_displayed(), "the menu")
            b.screenshot("12-menu-narrow")
            b.d.set_window_size(1280, 900)

        yield self.step(account)

        def tables() -> Any:
            # The attribute tables, from the very modules the page loaded.
            return b.d.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "const base = document.querySelector('script[type=module]').src"
                "  .replace(/app\\.js$/, 'me3.js');"
                "import(base).then((m) => done([m.mapName('map17'), m.mapName('map10'),"
                "  m.enemyName('enemy4'), m.difficultyName('difficulty0'),"
                "  m.mapName('random'), m.mapName('map99')]), (e) => done(String(e)));"
            )

        names = yield self.step(tables)
        self.assertEqual(names, ["Firebase Glacier (Hazard)", "Firebase Hydra", "Collectors",
                                 "Bronze", "Any map", "Unknown map (map99)"])
        errors = yield self.step(browser.scriptErrors)
        self.assertEqual(errors, [])
        self.screenshotsSaved(browser, 13)

    @defer.inlineCallbacks
    def test_player(self) -> Any:
        """
        A new player creates an account; a player (Default role) sees
        their own profile without editing, no admin pages (nor the game
        data report), and is refused
        the players list; a wrong password shows the server's error text;
        changing one's email asks for the current password and keeps the
        page logged in; logging out forgets the token.
        """
        browser = yield self.startBrowser()
        b = browser

        def register() -> None:
            b.open("/register")
            b.fill("Display name", "Vega")
            b.fill("Email", "vega@example.org")
            b.fill("Password", "lieutenant")
            b.fill("Repeat the password", "lieutenant-typo")
            b.button("Create the account").click()
            b.waitText("Error: The passwords do not match")
            b.fill("Repeat the password", "lieutenant")
            b.screenshot("00-register")
            b.button("Create the account").click()
            b.waitText("Welcome, Vega")
            b.button("Log out", "header").click()
            b.wait(lambda d: b.path() == "/login", "the login page")

        yield self.step(register)
        vega = yield self.store.getPlayerByEmail("vega@example.org")
        self.assertEqual((vega.displayName, vega.role), ("Vega", PlayerRole.DEFAULT))

        def player() -> None:
            b.open("/login")
            b.fill("Email", "shepard@example.org")
            b.fill("Password", "wrong")
            b.button("Log in").click()
            b.waitText("Error: Incorrect email or password")
            b.screenshot("01-login-error")
            b.logIn("shepard@example.org", self.playerPassword)
            header = b.d.find_element("css selector", "header").text
            assert "Players" not in header and "Server log" not in header, header
            b.waitText("Welcome, ")
            assert "game data" not in b.text().lower(), b.text()
            b.link("My profile", "header").click()
            b.waitText("12,345")
            text = b.text()
            assert "Save changes" not in text and "Edit player data" not in text, text
            # Players see their own Galaxy at War readiness (read-only).
            b.waitText("Readiness level")
            b.screenshot("02-own-profile")
            b.open("/players")
            b.waitText("Not allowed")
            b.open("/log")
            b.waitText("Not allowed")
            b.screenshot("03-forbidden")
            b.open("/account")
            # A new email needs the current password; the page keeps working
            # with the new token the answer carries (the old one is revoked).
            b.fill("Email", "shepard@normandy.example")
            b.button("Save").click()
            b.waitText("Error: Enter your current password to change the email")
            b.fill("Current password (to change the email)", "wrong")
            b.button("Save").click()
            b.waitText("Error: Incorrect current password")
            b.fill("Current password (to change the email)", self.playerPassword)
            b.button("Save").click()
            b.waitText("Saved. Your other logins were signed out.")
            b.open("/account")
            b.waitText("Delete my account")
            email = b.label("Email").get_attribute("value")
            assert email == "shepard@normandy.example", email
            b.button("Log out").click()
            b.wait(lambda d: b.path() == "/login", "the login page")
            assert b.d.execute_script("return localStorage.length") == 0
            b.open("/profile")
            b.wait(lambda d: b.path() == "/login", "the redirect to log in")
            assert "next=%2Fprofile" in b.d.current_url, b.d.current_url

        yield self.step(player)
        errors = yield self.step(browser.scriptErrors)
        self.assertEqual(errors, [])
        self.screenshotsSaved(browser, 4)

    def screenshotsSaved(self, browser: Browser, count: int) -> None:
        self.assertEqual(len(browser.saved), count)
        for path in browser.saved:
            content = FilePath(path).getContent()
            self.assertTrue(content.startswith(b"\x89PNG\r\n\x1a\n"), path)
            self.assertGreater(len(content), 5000, path)
