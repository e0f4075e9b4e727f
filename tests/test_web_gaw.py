# -*- test-case-name: tests.test_web_gaw -*-
"""
Tests for L{pocketrelay.server.web.gaw}: Galaxy at War arithmetic, its XML
documents, and the HTTP endpoints on a real store.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pocketrelay.server.web.gaw import (
    ASSET_COUNT,
    AUTH_ERROR_XML,
    DAY,
    MAX_RATING,
    MIN_RATING,
    applyDecay,
    clamp,
    decayAmount,
    increase,
    level,
    parseIncrements,
    promotions,
    ratingsXml,
    sharedTokenLoginXml,
)
from pocketrelay.testing.web import WebHarness


def tree(element: ElementTree.Element) -> Any:
    """
    An element as (tag, text) for leaves or (tag, [children]) otherwise.
    """
    children = list(element)
    if not children:
        return (element.tag, element.text or "")
    return (element.tag, [tree(child) for child in children])


def parse(text: str | bytes) -> Any:
    return tree(ElementTree.fromstring(text))


def ratingsTree(groups: tuple[int, ...], asset: int = 0) -> Any:
    """
    The reference's getRatings document as a tree.
    """
    return ("galaxyatwargetratings", [
        ("ratings", [("ratings", str(g)) for g in groups]),
        ("level", str(sum(groups) // 5)),
        ("assets", [("assets", str(asset))] + [("assets", "0")] * 9),
    ])


class ArithmeticTests(SynchronousTestCase):
    """
    Clamping, decay, level, promotions and increments.
    """

    def test_clamp(self) -> None:
        """
        Ratings stay within [5000, 10099].
        """
        self.assertEqual((MIN_RATING, MAX_RATING), (5000, 10099))
        self.assertEqual(clamp(4000), 5000)
        self.assertEqual(clamp(20000), 10099)
        self.assertEqual(increase((5000, 10000, 6000, 5000, 5000), (10, 500, 0, 0, 5099)),
                         (5010, 10099, 6000, 5000, 10099))

    def test_decayAmount(self) -> None:
        """
        decay * whole days * 100, rounded down; nothing for partial days,
        a zero decay or a clock that went backwards.
        """
        self.assertEqual(decayAmount(0, 3 * DAY, 0.5), 150)
        self.assertEqual(decayAmount(0, 3 * DAY - 1, 0.5), 100)
        self.assertEqual(decayAmount(0, DAY - 1, 1.0), 0)
        self.assertEqual(decayAmount(0, 10 * DAY, 0.0), 0)
        self.assertEqual(decayAmount(5 * DAY, 0, 1.0), 0)
        self.assertEqual(decayAmount(0, DAY, 0.333), 33)

    def test_applyDecay(self) -> None:
        """
        Decay never takes a rating below 5000.
        """
        self.assertEqual(applyDecay((6000, 5100, 5000, 10099, 5050), 0, 2 * DAY, 0.5),
                         (5900, 5000, 5000, 9999, 5000))
        self.assertEqual(applyDecay((4000,) * 5, 0, 9 * DAY, 1.0), (4000,) * 5)

    def test_level(self) -> None:
        """
        The level is the integer mean.
        """
        self.assertEqual(level((5000, 5001, 5001, 5001, 5001)), 5000)
        self.assertEqual(level((6000, 7000, 8000, 9000, 10000)), 8000)

    def test_promotions(self) -> None:
        """
        The sixth field of every classN value counts; other keys and
        malformed values count 0.
        """
        data = {
            "class1": "20;4;Adept;20;1000;3",
            "class2": "20;4;Soldier;20;0;2",
            "class3": "20;4;Engineer;broken",
            "class4": "20;4;Sentinel;1;0;-4",
            "char0": "20;4;x;y;1;1;1",
            "Base": "20;4;1;2;3;99",
            "class10": "20;4;Z;1;0;1",
        }
        self.assertEqual(promotions(data), 6)

    def test_parseIncrements(self) -> None:
        """
        rinc|0..4 are read, missing ones are 0, bad ones raise.
        """
        self.assertEqual(parseIncrements({b"rinc|0": [b"10"], b"rinc|4": [b"65535"]}),
                         (10, 0, 0, 0, 65535))
        for bad in (b"-1", b"x", b"65536", b"1.5", b"1e3"):
            self.assertRaises(ValueError, parseIncrements, {b"rinc|2": [bad]})


class DocumentTests(SynchronousTestCase):
    """
    The XML documents, element by element, against the reference shapes.
    """

    def test_ratings(self) -> None:
        """
        getRatings: 5 ratings, the level, 10 assets with the promotions
        first.
        """
        groups = (5000, 6000, 7000, 8000, 9000)
        self.assertEqual(parse(ratingsXml(groups, 7)), ratingsTree(groups, 7))
        self.assertEqual(ASSET_COUNT, 10)
        self.assertTrue(ratingsXml(groups).startswith('<?xml version="1.0" encoding="UTF-8"?>'))

    def test_sharedTokenLogin(self) -> None:
        """
        fulllogin: the FullLoginResponse members, sessionkey = the token,
        the rest empty or 0, status UNKNOWN, exttype
        BLAZE_EXTERNAL_REF_TYPE_UNKNOWN.
        """
        self.assertEqual(parse(sharedTokenLoginXml("tok.en")), ("fulllogin", [
            ("canageup", "0"),
            ("legaldochost", ""),
            ("needslegaldoc", "0"),
            ("pclogintoken", ""),
            ("privacypolicyuri", ""),
            ("sessioninfo", [
                ("blazeuserid", "0"),
                ("isfirstlogin", "0"),
                ("sessionkey", "tok.en"),
                ("lastlogindatetime", "0"),
                ("email", ""),
                ("personadetails", [
                    ("displayname", ""),
                    ("lastauthenticated", "0"),
                    ("personaid", "0"),
                    ("status", "UNKNOWN"),
                    ("extid", "0"),
                    ("exttype", "BLAZE_EXTERNAL_REF_TYPE_UNKNOWN"),
                ]),
                ("userid", "0"),
            ]),
            ("isoflegalcontactage", "0"),
            ("toshost", ""),
            ("termsofserviceuri", ""),
            ("tosuri", ""),
        ]))

    def test_escaped(self) -> None:
        """
        A token is escaped in the document.
        """
        self.assertEqual(parse(sharedTokenLoginXml("<&>"))[1][5][1][2], ("sessionkey", "<&>"))

    def test_authError(self) -> None:
        """
        The invalid-token document is Blaze's ERR_AUTHENTICATION_REQUIRED.
        """
        self.assertEqual(parse(AUTH_ERROR_XML), ("error", [
            ("component", "2049"),
            ("errorCode", "1074003968"),
            ("errorName", "ERR_AUTHENTICATION_REQUIRED"),
        ]))


class _GawTestCase(TestCase):
    settings: dict[str, Any] = {}

    @defer.inlineCallbacks
    def setUp(self) -> Any:  # type: ignore[override]
        self.web = WebHarness(self, **self.settings)
        yield self.web.start()
        self.player, self.token = yield self.web.createPlayer("shepard@example.com")

    @defer.inlineCallbacks
    def get(self, path: str, code: int = 200) -> Any:
        response = yield self.web.request("GET", path)
        self.assertEqual(response.code, code, response.body)
        self.assertEqual(response.header("content-type"), "text/xml; charset=utf-8")
        return parse(response.body)

    def ratings(self, increments: str = "") -> defer.Deferred[Any]:
        # A fresh token, as the game asks for one each session (tokens
        # expire after 30 days and these tests move the clock further).
        token = self.web.signer.issueToken(self.player.id)
        if increments:
            return self.get(f"/galaxyatwar/increaseRatings/{token}?{increments}")
        return self.get(f"/galaxyatwar/getRatings/{token}")

    def later(self, days: float) -> None:
        self.web.clock.advance(days * DAY)


class EndpointTests(_GawTestCase):
    """
    The three endpoints with the default settings (no decay, promotions
    counted).
    """

    @defer.inlineCallbacks
    def test_sharedTokenLogin(self) -> Any:
        """
        A valid token is echoed as the session key.
        """
        document = yield self.get(f"/authentication/sharedTokenLogin?auth={self.token}")
        self.assertEqual(document[1][5][1][2], ("sessionkey", self.token))

    @defer.inlineCallbacks
    def test_invalidTokens(self) -> Any:
        """
        A missing, forged or expired token, or one of a deleted account,
        gets the authentication error document with status 200 (never a
        traceback).
        """
        expired = self.web.signer.issueToken(self.player.id, lifetime=5)
        other, orphan = yield self.web.createPlayer("gone@example.com")
        yield self.web.store.deletePlayer(other.id)
        self.web.clock.advance(5)
        error = parse(AUTH_ERROR_XML)
        for path in ("/authentication/sharedTokenLogin",
                     "/authentication/sharedTokenLogin?auth=nope",
                     f"/authentication/sharedTokenLogin?auth={expired}",
                     f"/authentication/sharedTokenLogin?auth={orphan}",
                     "/galaxyatwar/getRatings/nope",
                     f"/galaxyatwar/getRatings/{expired}",
                     f"/galaxyatwar/getRatings/{orphan}",
                     "/galaxyatwar/increaseRatings/x%00y?rinc|0=5",
                     f"/galaxyatwar/increaseRatings/{orphan}?rinc|0=5"):
            document = yield self.get(path)
            self.assertEqual(document, error, path)
        row = yield self.web.store.getGalaxyAtWar(other.id)
        self.assertIsNone(row)

    @defer.inlineCallbacks
    def test_createdOnFirstRead(self) -> Any:
        """
        The first read creates ratings of 5000 stamped now.
        """
        document = yield self.ratings()
        self.assertEqual(document, ratingsTree((5000,) * 5))
        row = yield self.web.store.getGalaxyAtWar(self.player.id)
        self.assertEqual(row.groups, (5000,) * 5)
        self.assertEqual(row.lastModified, int(self.web.clock.seconds()))

    @defer.inlineCallbacks
    def test_increase(self) -> Any:
        """
        increaseRatings adds each rinc to its group, clamps, stores and
        answers the new document.
        """
        document = yield self.ratings("rinc|0=100&rinc|1=200&rinc|2=0&rinc|3=6000&rinc|4=1")
        expected = (5100, 5200, 5000, 10099, 5001)
        self.assertEqual(document, ratingsTree(expected))
        row = yield self.web.store.getGalaxyAtWar(self.player.id)
        self.assertEqual(row.groups, expected)
        again = yield self.ratings()
        self.assertEqual(again, ratingsTree(expected))

    @defer.inlineCallbacks
    def test_badIncrement(self) -> Any:
        """
        A malformed increment is 400 with an error document; nothing is
        stored.
        """
        document = yield self.get(
            f"/galaxyatwar/increaseRatings/{self.token}?rinc|0=lots", 400)
        self.assertEqual(document[0], "error")
        row = yield self.web.store.getGalaxyAtWar(self.player.id)
        self.assertIsNone(row)

    @defer.inlineCallbacks
    def test_promotionsAsset(self) -> Any:
        """
        The first asset is the total of class promotions.
        """
        yield self.web.store.setPlayerDataMany(self.player.id, {
            "class1": "20;4;Adept;20;0;3", "class2": "20;4;Soldier;20;0;2"})
        document = yield self.ratings()
        self.assertEqual(document, ratingsTree((5000,) * 5, 5))

    @defer.inlineCallbacks
    def test_noDecayByDefault(self) -> Any:
        """
        With decay 0, ratings keep their value over time.
        """
        yield self.ratings("rinc|0=500")
        self.later(30)
        document = yield self.ratings()
        self.assertEqual(document[1][0], ("ratings", [("ratings", "5500")] +
                                          [("ratings", "5000")] * 4))

    @defer.inlineCallbacks
    def test_unknownPath(self) -> Any:
        """
        Other paths below /galaxyatwar are 404.
        """
        yield self.get(f"/galaxyatwar/other/{self.token}", 404)
        yield self.get("/galaxyatwar/getRatings", 404)

    @defer.inlineCallbacks
    def test_databaseDown(self) -> Any:
        """
        A database failure is a 500 error document, not a traceback.
        """
        from pocketrelay.server.store import StoreError

        yield self.web.store.stop()
        document = yield self.get(f"/galaxyatwar/getRatings/{self.token}", 500)
        self.assertEqual(document[0], "error")
        self.assertEqual(dict(document[1])["errorcode"], "500")
        self.assertEqual(len(self.flushLoggedErrors(StoreError)), 1)


class DecayTests(_GawTestCase):
    """
    galaxy_at_war.decay = 0.5: 50 points per whole day since the last
    change, never below 5000; reading does not reset the clock.
    """

    settings = {"galaxy_at_war__decay": 0.5}

    @defer.inlineCallbacks
    def test_decayOverDays(self) -> Any:
        """
        Repeated reads see the decay grow with the days since the change,
        because reads do not move last_modified (the reference's bug 9.6).
        """
        yield self.ratings("rinc|0=1000&rinc|1=1000&rinc|2=1000&rinc|3=1000&rinc|4=1000")
        changed = int(self.web.clock.seconds())
        seen = []
        for _ in range(4):
            self.later(0.5)
            document = yield self.ratings()
            seen.append(int(document[1][0][1][0][1]))
        # 0.5, 1, 1.5, 2 days after the change.
        self.assertEqual(seen, [6000, 5950, 5950, 5900])
        row = yield self.web.store.getGalaxyAtWar(self.player.id)
        self.assertEqual(row.lastModified, changed)
        self.assertEqual(row.groups, (6000,) * 5)

    @defer.inlineCallbacks
    def test_floor(self) -> Any:
        """
        Decay stops at 5000.
        """
        yield self.ratings("rinc|0=300")
        self.later(100)
        document = yield self.ratings()
        self.assertEqual(document, ratingsTree((5000,) * 5))

    @defer.inlineCallbacks
    def test_increaseRestartsClock(self) -> Any:
        """
        An increase applies the decay so far, adds, and restarts the clock.
        """
        yield self.ratings("rinc|0=1000")
        self.later(2)
        document = yield self.ratings("rinc|0=50")
        self.assertEqual(document[1][0][1][0], ("ratings", "5950"))
        row = yield self.web.store.getGalaxyAtWar(self.player.id)
        self.assertEqual(row.lastModified, int(self.web.clock.seconds()))
        self.later(1)
        document = yield self.ratings()
        self.assertEqual(document[1][0][1][0], ("ratings", "5900"))

    @defer.inlineCallbacks
    def test_zeroIncreaseKeepsClock(self) -> Any:
        """
        An increase that changes nothing stores nothing.
        """
        yield self.ratings("rinc|0=1000")
        changed = int(self.web.clock.seconds())
        self.later(0.5)
        yield self.ratings("rinc|0=0")
        row = yield self.web.store.getGalaxyAtWar(self.player.id)
        self.assertEqual(row.lastModified, changed)

    @defer.inlineCallbacks
    def test_apiShowsDecay(self) -> Any:
        """
        The admin API shows the decayed ratings without storing them.
        """
        _, adminToken = yield self.web.createPlayer("admin@example.com", role=1)
        yield self.ratings("rinc|2=1000")
        self.later(3)
        response = yield self.web.request(
            "GET", f"/api/players/{self.player.id}/galaxy_at_war", token=adminToken)
        self.assertEqual(response.json()["group_c"], 5850)
        self.assertEqual(response.json()["group_a"], 5000)
        row = yield self.web.store.getGalaxyAtWar(self.player.id)
        self.assertEqual(row.groupC, 6000)


class NoPromotionsTests(_GawTestCase):
    """
    galaxy_at_war.promotions = false.
    """

    settings = {"galaxy_at_war__promotions": False}

    @defer.inlineCallbacks
    def test_zeroAsset(self) -> Any:
        """
        The first asset is 0 whatever the classes hold.
        """
        yield self.web.store.setPlayerData(self.player.id, "class1", "20;4;Adept;20;0;3")
        document = yield self.ratings()
        self.assertEqual(document, ratingsTree((5000,) * 5, 0))
