# -*- test-case-name: tests.test_emails -*-
"""
Tests for L{pocketrelay.server.store.emails} (the canonical email form)
and schema migration 2, which puts stored emails in that form.
"""

from __future__ import annotations

import sqlite3

from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.server.store.emails import (
    MAX_EMAIL_LENGTH,
    canonicalEmail,
    checkedEmail,
    isValidEmail,
    loginEmail,
)
from pocketrelay.server.store.schema import MIGRATIONS, duplicateEmail, migrate

KELVIN = "\u212a"


class CanonicalEmailTests(SynchronousTestCase):
    """
    L{canonicalEmail}, L{checkedEmail} and L{loginEmail}.
    """

    def test_folding(self) -> None:
        """
        Letter case, the KELVIN SIGN, full-width letters and the sharp s
        fold to one ASCII form; surrounding space goes.
        """
        for given, expected in [
            ("Kate@Kiwi.Example", "kate@kiwi.example"),
            (f"{KELVIN}ate@kiwi.example", "kate@kiwi.example"),
            ("\uff4b\uff41\uff54\uff45@kiwi.example", "kate@kiwi.example"),
            ("  KATE@kiwi.example\t", "kate@kiwi.example"),
            ("stra\u00dfe@x.example", "strasse@x.example"),
            ("STRASSE@x.example", "strasse@x.example"),
        ]:
            self.assertEqual(canonicalEmail(given), expected, given)
            self.assertEqual(checkedEmail(given), expected, given)

    def test_idempotent(self) -> None:
        """
        The canonical form of a canonical form is itself.
        """
        for given in [f"{KELVIN}ate@x.example", "\u0130nci@x.example", "\ufb00@x.example",
                      "k\u0131wi@x.example", "A\u030a@x.example"]:
            once = canonicalEmail(given)
            self.assertEqual(canonicalEmail(once), once, given)

    def test_nonAsciiRefusedForNewAddresses(self) -> None:
        """
        Letters that fold to no ASCII letter (dotless i, dotted capital I,
        Cyrillic look-alikes) cannot be the address of a new account, but
        can still name an existing one at login.
        """
        for given in ["k\u0131wi@x.example", "\u0130nci@x.example",
                      "\u043aate@kiwi.example", "j\u00f6rg@x.example"]:
            self.assertIsNone(checkedEmail(given), given)
            self.assertFalse(isValidEmail(given), given)
            self.assertEqual(loginEmail(given), canonicalEmail(given), given)

    def test_shape(self) -> None:
        """
        One "@", 1 to 64 characters before it, a dot in the domain, no
        space, at most 254 characters.
        """
        for bad in ["", "plain", "a@b", "a b@x.example", "a@@x.example", "@x.example",
                    "x" * 65 + "@x.example", "a@" + "x" * 250 + ".example",
                    "a@x.example\x00", "x" * 10_000]:
            self.assertIsNone(checkedEmail(bad), bad)
            self.assertIsNone(loginEmail(bad), bad)
        self.assertEqual(checkedEmail("a+tag@x.example"), "a+tag@x.example")
        self.assertLessEqual(len("a@" + "x" * 240 + ".example"), MAX_EMAIL_LENGTH)


class CanonicalMigrationTests(SynchronousTestCase):
    """
    Migration 2 stores every email in canonical form and settles
    collisions.
    """

    def database(self, rows: list[tuple[str, int]]) -> sqlite3.Connection:
        """
        A database at schema version 1 with players (email, role).
        """
        connection = sqlite3.connect(":memory:", isolation_level=None)
        self.addCleanup(connection.close)
        migrate(connection, 0, MIGRATIONS[:1])
        for email, role in rows:
            connection.execute(
                "INSERT INTO players (email, display_name, role, created_at) "
                "VALUES (?, 'x', ?, 0)", (email, role))
        return connection

    def players(self, connection: sqlite3.Connection) -> list[tuple[int, str, int]]:
        return [(int(playerId), str(email), int(role)) for playerId, email, role in
                connection.execute("SELECT id, email, role FROM players ORDER BY id")]

    def test_canonicalised(self) -> None:
        """
        Mixed-case and full-width addresses are stored canonical.
        """
        connection = self.database([("Shepard@Example.ORG", 0),
                                    ("\uff47arrus@example.org", 1)])
        migrate(connection, 0)
        self.assertEqual(self.players(connection),
                         [(1, "shepard@example.org", 0), (2, "garrus@example.org", 1)])

    def test_collision(self) -> None:
        """
        The attack of issue 10: the super admin kate@kiwi.example and a
        second account with a KELVIN SIGN, made SuperAdmin by the old
        code.  The account whose address was ASCII keeps it; the other
        gets an address no one can log in with and loses SuperAdmin.
        """
        connection = self.database([(f"{KELVIN}ate@kiwi.example", 2),
                                    ("Kate@kiwi.example", 2),
                                    ("other@kiwi.example", 1)])
        migrate(connection, 0)
        self.assertEqual(self.players(connection), [
            (1, duplicateEmail("kate@kiwi.example", 1), 0),
            (2, "kate@kiwi.example", 2),
            (3, "other@kiwi.example", 1),
        ])
        self.assertIsNone(loginEmail(duplicateEmail("kate@kiwi.example", 1)))

    def test_oldestWinsAmongNonAscii(self) -> None:
        """
        When no address of a collision was ASCII, the oldest account keeps
        the canonical address.
        """
        connection = self.database([("stra\u00dfe@x.example", 0),
                                    ("stra\u1e9ee@x.example", 0)])
        migrate(connection, 0)
        self.assertEqual([email for _, email, _ in self.players(connection)],
                         ["strasse@x.example", duplicateEmail("strasse@x.example", 2)])
