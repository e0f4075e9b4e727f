# -*- test-case-name: tests.test_reports -*-
"""
Tests for L{pocketrelay.me3.progress} (reading C{Progress} and C{charN}
player data) and L{pocketrelay.server.reports} (the end-of-match report
built from them).
"""

from __future__ import annotations

import random

from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.blaze import tdf
from pocketrelay.me3.messages.common import (
    IpAddress,
    IpPairAddress,
    NetworkAddressIndex,
)
from pocketrelay.me3.messages.gameenums import PlayerRemovedReason
from pocketrelay.me3.progress import (
    EXTRACTION_INDEX,
    KIT_COUNTERS,
    Character,
    compareProgress,
    parseCharacter,
)
from pocketrelay.server.games import Game, Games, PlayerInfo
from pocketrelay.server.reports import recordGameReport, snapshotProgress
from pocketrelay.testing.server import SynchronousStore, resultOf

#: A C{Progress} string: the format version then 811 counters, all 5.
_FIELDS = KIT_COUNTERS[-1] + 1


def progress(**changes: int) -> str:
    """
    A C{Progress} string with every counter at 5 except C{changes}
    (C{i745=6} sets field 745).
    """
    fields = ["22"] + ["5"] * (_FIELDS - 1)
    for name, value in changes.items():
        fields[int(name[1:])] = str(value)
    return ",".join(fields)


#: A C{charN} entry in the game's format: kit, name, then the numbers,
#: powers (field 16), hotkeys, weapons, weapon mods, deployed, leveled up.
CHARACTER = ";".join([
    "20", "4", "AdeptHumanMale", "Jane", "10", "3", "0", "12", "0.5000",
    "0.2500", "2", "123456", "2012", "3", "14", "3600",
    "Singularity 42 6.0000 1 0 1 0 0 0 5 True,"
    "Warp 43 4.0000 0 0 1 1 0 0 2 False",
    "",
    "12,27",
    "3 4,18 19",
    "True", "False",
])


class CompareProgressTests(SynchronousTestCase):
    """
    L{compareProgress} finds extraction and the kit played from two
    C{Progress} strings.
    """

    def test_indices(self) -> None:
        """
        The extraction counter is field 745 and the 66 kit counters follow
        it, fields 746 to 811 (server-behaviour section 5.5).
        """
        self.assertEqual(EXTRACTION_INDEX, 745)
        self.assertEqual((KIT_COUNTERS[0], KIT_COUNTERS[-1], len(KIT_COUNTERS)),
                         (746, 811, 66))

    def test_unchanged(self) -> None:
        """
        The same string twice: not extracted, no kit.
        """
        self.assertEqual(compareProgress(progress(), progress()), (False, None))

    def test_extracted(self) -> None:
        """
        A higher extraction counter means extracted.
        """
        self.assertEqual(compareProgress(progress(), progress(i745=6)), (True, None))

    def test_extractionLower(self) -> None:
        """
        A lower extraction counter is not an extraction.
        """
        self.assertEqual(compareProgress(progress(i745=6), progress()), (False, None))

    def test_kit(self) -> None:
        """
        The kit whose counter went up is named by its number: field 746 is
        kit 0, field 749 kit 3, field 811 kit 65.
        """
        self.assertEqual(compareProgress(progress(), progress(i746=9)), (False, 0))
        self.assertEqual(compareProgress(progress(), progress(i749=6, i745=7)),
                         (True, 3))
        self.assertEqual(compareProgress(progress(), progress(i811=6)), (False, 65))

    def test_firstKitWins(self) -> None:
        """
        When several kit counters went up, the first one is reported.
        """
        self.assertEqual(compareProgress(progress(), progress(i760=6, i750=6)),
                         (False, 4))

    def test_kitLower(self) -> None:
        """
        A kit counter that went down is not the kit played.
        """
        self.assertEqual(compareProgress(progress(i750=6), progress()), (False, None))

    def test_missing(self) -> None:
        """
        No snapshot, or no current value, gives no finding.
        """
        for before, after in [(None, progress(i745=6)), ("", progress(i745=6)),
                              (progress(), None), (None, None)]:
            self.assertEqual(compareProgress(before, after), (False, None))

    def test_short(self) -> None:
        """
        Strings too short to reach the counters give no finding, without
        an exception.
        """
        self.assertEqual(compareProgress("22,1,2", "22,1,3"), (False, None))
        short = ",".join(["22"] + ["5"] * 749)
        longer = progress(i745=6, i747=6)
        self.assertEqual(compareProgress(short, longer), (True, 1))

    def test_malformed(self) -> None:
        """
        A field that is not a number counts as unknown; the others are
        still compared.
        """
        before = progress().split(",")
        before[745] = "x"
        before[748] = ""
        self.assertEqual(
            compareProgress(",".join(before), progress(i745=9, i748=9, i751=9)),
            (False, 5),
        )


class ParseCharacterTests(SynchronousTestCase):
    """
    L{parseCharacter} reads the parts of a C{charN} entry a report shows.
    """

    def test_full(self) -> None:
        """
        Kit and character name, power names (the first word of each
        power), weapon ids and weapon mod pairs.
        """
        self.assertEqual(
            parseCharacter(CHARACTER),
            Character(
                kitName="AdeptHumanMale",
                characterName="Jane",
                powers=("Singularity", "Warp"),
                weapons=("12", "27"),
                weaponMods=("3 4", "18 19"),
            ),
        )

    def test_empty(self) -> None:
        """
        No entry, or an empty one, is an empty L{Character}.
        """
        self.assertEqual(parseCharacter(None), Character())
        self.assertEqual(parseCharacter(""), Character())

    def test_short(self) -> None:
        """
        An entry cut short keeps what it has and leaves the rest empty.
        """
        self.assertEqual(parseCharacter("20;4;SoldierKrogan"),
                         Character(kitName="SoldierKrogan"))

    def test_blankItems(self) -> None:
        """
        Empty items of a comma list (doubled or trailing commas, spaces)
        are left out.
        """
        fields = CHARACTER.split(";")
        fields[18] = " 12,, 27 ,"
        fields[16] = ""
        character = parseCharacter(";".join(fields))
        self.assertEqual((character.weapons, character.powers), (("12", "27"), ()))


def _info(playerId: int, name: str) -> PlayerInfo:
    address = IpPairAddress(
        external=IpAddress(ip=0x0A000000 + playerId, port=3659),
        internal=IpAddress(ip=0xC0A80000 + playerId, port=3659),
    )
    return PlayerInfo(
        playerId=playerId,
        name=name,
        sessionId=1000 + playerId,
        address=tdf.Choice(NetworkAddressIndex.IP_PAIR, address),
    )


class RecordGameReportTests(SynchronousTestCase):
    """
    L{snapshotProgress} at join and L{recordGameReport} at the end of a
    match, against the real store.
    """

    def setUp(self) -> None:
        self.store = SynchronousStore()
        resultOf(self.store.start())
        self.addCleanup(self.store.stop)
        self.games = Games(rng=random.Random(3), tunnelPolicy="disabled")
        self.host = resultOf(self.store.createPlayer("h@example.org", "Host", None, now=1))
        self.guest = resultOf(self.store.createPlayer("g@example.org", "Guest", None, now=1))

    def setData(self, playerId: int, key: str, value: str) -> None:
        resultOf(self.store.setPlayerData(playerId, key, value))

    def lobby(self) -> Game:
        """
        A game of the host and the guest, with both progress snapshots.
        """
        game, _ = self.games.create(_info(self.host.id, "Host"),
                                    {"ME3map": "map2"}, 0x11F, 100.0)
        self.games.join(game.gameId, _info(self.guest.id, "Guest"), 110.0)
        for playerId in (self.host.id, self.guest.id):
            resultOf(snapshotProgress(self.store, game, playerId))
        return game

    def test_snapshot(self) -> None:
        """
        The snapshot is the player's C{Progress} at join, or C{""} when it
        has none.
        """
        self.setData(self.host.id, "Progress", progress())
        game = self.lobby()
        self.assertEqual(game.joinSnapshots,
                         {self.host.id: progress(), self.guest.id: ""})

    def test_snapshotAfterLeaving(self) -> None:
        """
        A player who left before the snapshot was read gets none.
        """
        game = self.lobby()
        game.joinSnapshots.clear()
        self.games.leaveAll(self.guest.id, PlayerRemovedReason.PLAYER_LEFT, 120.0)
        resultOf(snapshotProgress(self.store, game, self.guest.id))
        self.assertNotIn(self.guest.id, game.joinSnapshots)

    def test_report(self) -> None:
        """
        The stored report names each player, the kit played with the
        character's weapons, mods and powers, and who extracted; the match
        is extracted when anyone did.  It is stored with the game's
        creation time and the finishing time.
        """
        self.setData(self.host.id, "Progress", progress())
        self.setData(self.guest.id, "Progress", progress())
        game = self.lobby()
        self.setData(self.host.id, "Progress", progress(i745=6, i749=6))
        self.setData(self.host.id, "char3", CHARACTER)
        reportId = resultOf(recordGameReport(self.store, game, 500.0))
        report = resultOf(self.store.getGameReport(reportId))
        assert report is not None
        self.assertEqual((report.createdAt, report.finishedAt), (100, 500))
        self.assertEqual(report.data["game_id"], game.gameId)
        self.assertEqual(report.data["attributes"], {"ME3map": "map2"})
        self.assertEqual(report.data["seed"], game.seed)
        self.assertIs(report.data["extracted"], True)
        host, guest = report.data["players"]
        self.assertEqual(host, {
            "player_id": self.host.id,
            "player_name": "Host",
            "kit_name": "AdeptHumanMale",
            "character_name": "Jane",
            "weapons": ["12", "27"],
            "weapon_mods": ["3 4", "18 19"],
            "powers": ["Singularity", "Warp"],
            "extracted": True,
        })
        self.assertEqual(guest, {
            "player_id": self.guest.id,
            "player_name": "Guest",
            "kit_name": None,
            "character_name": None,
            "weapons": [],
            "weapon_mods": [],
            "powers": [],
            "extracted": False,
        })

    def test_nobodyExtracted(self) -> None:
        """
        A match where no counter moved is stored as not extracted, with no
        kit for anyone.
        """
        self.setData(self.host.id, "Progress", progress())
        game = self.lobby()
        reportId = resultOf(recordGameReport(self.store, game, 500.0))
        report = resultOf(self.store.getGameReport(reportId))
        assert report is not None
        self.assertIs(report.data["extracted"], False)
        self.assertEqual([p["kit_name"] for p in report.data["players"]], [None, None])
