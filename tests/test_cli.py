# -*- test-case-name: tests.test_cli -*-
"""
Tests for L{pocketrelay.blaze.cli}, the C{python -m pocketrelay.blaze} tool.
"""

from __future__ import annotations

import io
import runpy
import sys

from twisted.trial.unittest import SynchronousTestCase

from pocketrelay.blaze import tdf
from pocketrelay.blaze.cli import InputError, main, parseHex
from pocketrelay.blaze.tdf import (
    ListValue,
    MapValue,
    Member,
    StructValue,
    TdfType,
    UnionValue,
)

# Vectors from docs/reference/tdf-vectors.json (derived, not captures).
D2 = (
    "00bb000500010000000000008b392b0109332e31352e362e30008b4a6d011544656320"
    "323120323031322031323a34373a3130008ecbb4010f4d617373456666656374332d70"
    "63008ecd3000008f3af50107313334383435008f6972010a30353432372e3132340093"
    "392b0109382e31342e372e310096ed80010570726f64009b0a64067fb2f8c0009ab9f2"
    "d60cba1b6501106d6173736566666563742d332d706300c2c874010857696e646f7773"
    "00c32be601127374616e646172645365637572655f763300"
)
D4 = "000900090002000010000001cf4a6d0080c49fd50c"
D5 = "000000010028000b30000005"
D6 = "000a0004001e0000200000009e99000001c299000002"

#: GID 1, PID 2 in that order, and the same members reversed.
ORDERED_BODY = "9e99000001c299000002"
REVERSED_BODY = "c2990000029e99000001"


def _run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stdin=io.StringIO(stdin), stderr=err)
    return code, out.getvalue(), err.getvalue()


class DecodeFrameTests(SynchronousTestCase):
    """
    C{decode HEX} prints each frame's header line and its body as a tree.
    """

    def test_reply(self) -> None:
        """
        D4, the Util.ping reply, shows type, name, numbers, body length and
        the STIM member.
        """
        self.assertEqual(
            _run("decode", D4),
            (
                0,
                "reply Util.ping (0x0009/0x0002) seq=1 body=9 bytes\n"
                "  STIM (int) 1700000000 (0x6553f100)\n",
                "",
            ),
        )

    def test_request(self) -> None:
        """
        D2, the getServerInstance request, shows every member in wire order,
        strings quoted and the unset union.
        """
        code, out, err = _run("decode", D2)
        self.assertEqual((code, err), (0, ""))
        lines = out.splitlines()
        self.assertEqual(
            lines[0],
            "request Redirector.getServerInstance (0x0005/0x0001) seq=0 body=187 bytes",
        )
        self.assertEqual(len(lines), 14)
        self.assertEqual(lines[1], '  BSDK (string) "3.15.6.0"')
        self.assertEqual(lines[4], "  CLTP (int) 0")
        self.assertEqual(lines[9], "  FPID (union) unset")
        self.assertEqual(lines[10], "  LOC (int) 1701727834 (0x656e4e5a)")
        self.assertEqual(lines[13], '  PROF (string) "standardSecure_v3"')

    def test_errorReply(self) -> None:
        """
        D5 shows the error code and its name for the component.
        """
        self.assertEqual(
            _run("decode", D5),
            (
                0,
                "error reply Authentication.login (0x0001/0x0028) seq=5 "
                "error=0x000b (invalidUser) body=0 bytes\n",
                "",
            ),
        )

    def test_notification(self) -> None:
        """
        D6 is named with the component's notification names.
        """
        self.assertEqual(
            _run("decode", D6)[1],
            "notification GameManager.playerJoinCompleted (0x0004/0x001e) "
            "seq=0 body=10 bytes\n"
            "  GID (int) 1\n"
            "  PID (int) 2\n",
        )

    def test_concatenated(self) -> None:
        """
        Several frames in one input are printed in order, separated by a
        blank line.
        """
        code, out, _ = _run("decode", D4 + D5 + D6)
        self.assertEqual(code, 0)
        self.assertEqual(
            out,
            _run("decode", D4)[1]
            + "\n"
            + _run("decode", D5)[1]
            + "\n"
            + _run("decode", D6)[1],
        )

    def test_separators(self) -> None:
        """
        Spaces, colons, newlines, a 0x prefix and several arguments are
        accepted.
        """
        expected = _run("decode", D4)
        spaced = " ".join(D4[i : i + 2] for i in range(0, len(D4), 2))
        coloned = ":".join(D4[i : i + 2] for i in range(0, len(D4), 2))
        self.assertEqual(_run("decode", spaced), expected)
        self.assertEqual(_run("decode", "0x" + D4.upper()), expected)
        self.assertEqual(_run("decode", coloned), expected)
        self.assertEqual(_run("decode", D4[:10], D4[10:]), expected)
        self.assertEqual(_run("decode", D4[:10] + "\n" + D4[10:]), expected)

    def test_stdin(self) -> None:
        """
        C{-} reads the hex from standard input.
        """
        self.assertEqual(
            _run("decode", "-", stdin=f"0x{D4[:20]}\n{D4[20:]}\n"),
            _run("decode", D4),
        )

    def test_notes(self) -> None:
        """
        Anomalies are printed as notes after the tree, with offsets in the
        whole input, and do not fail.
        """
        frame = D6[:24] + REVERSED_BODY
        code, out, err = _run("decode", frame)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(
            out.splitlines()[1:],
            [
                "  PID (int) 2",
                "  GID (int) 1",
                "note: member GID is out of order (at byte 17)",
            ],
        )


class DecodeBodyTests(SynchronousTestCase):
    """
    C{decode --body HEX} prints a bare TDF body.
    """

    def test_body(self) -> None:
        """
        The body of D4 alone decodes to its member.
        """
        self.assertEqual(
            _run("decode", "--body", D4[24:]),
            (0, "STIM (int) 1700000000 (0x6553f100)\n", ""),
        )

    def test_empty(self) -> None:
        """
        An empty body is valid and says so.
        """
        self.assertEqual(_run("decode", "--body", ""), (0, "(empty body)\n", ""))

    def test_nested(self) -> None:
        """
        Structs, lists (with their element type), maps (with key and value
        types), unions, variables, object ids, blobs and strings are shown
        nested, with escapes and truncation.
        """
        T = TdfType
        address = StructValue((Member("IP", T.INT, 1), Member("PORT", T.INT, 2)))
        body = tdf.encodeStruct(
            [
                Member(
                    "ATTR",
                    T.MAP,
                    MapValue(T.STRING, T.STRING, (("b", "2"), ("A", "1"))),
                ),
                Member("BIG", T.BLOB, bytes(range(40))),
                Member("BLOB", T.BLOB, b"\xde\xad"),
                Member("CVAR", T.VARIABLE, None),
                Member(
                    "HNET",
                    T.LIST,
                    ListValue(
                        T.UNION,
                        (
                            UnionValue(
                                2,
                                Member(
                                    "VALU",
                                    T.STRUCT,
                                    StructValue((Member("EXIP", T.STRUCT, address),)),
                                ),
                            ),
                            UnionValue(),
                        ),
                    ),
                ),
                Member("NAME", T.STRING, 'a"\\\n\x01\udcff'),
                Member(
                    "REAS", T.UNION, UnionValue(0, Member("VALU", T.STRUCT, address))
                ),
                Member(
                    "ULST", T.LIST, ListValue(T.OBJECT_ID, (tdf.ObjectId(4, 1, 9),))
                ),
            ]
        )
        code, out, _ = _run("decode", "--body", body.hex())
        self.assertEqual(code, 0)
        self.assertEqual(
            out.splitlines(),
            [
                "ATTR (map<string, string>) 2 entries",
                '  "A" => "1"',
                '  "b" => "2"',
                "BIG (blob) " + bytes(range(32)).hex() + "... (40 bytes)",
                "BLOB (blob) dead",
                "CVAR (variable) absent",
                "HNET (list<struct>) 2 items",
                "  [0] union index 2 (list form, no VALU header)",
                "    EXIP (struct)",
                "      IP (int) 1",
                "      PORT (int) 2",
                "  [1] union unset",
                'NAME (string) "a\\"\\\\\\n\\x01\\xff"',
                "REAS (union) index 0",
                "  VALU (struct)",
                "    IP (int) 1",
                "    PORT (int) 2",
                "ULST (list<object_id>) 1 item",
                "  [0] (4, 1, 9)",
            ],
        )


class ReencodeTests(SynchronousTestCase):
    """
    C{reencode} prints the canonical encoding as lowercase hex.
    """

    def test_framesRoundTrip(self) -> None:
        """
        Canonical frames come out unchanged, one line each.
        """
        self.assertEqual(
            _run("reencode", D2.upper(), D4, D5, D6),
            (0, f"{D2}\n{D4}\n{D5}\n{D6}\n", ""),
        )

    def test_bodyOrdered(self) -> None:
        """
        A body with members out of order comes out in ascending tag order;
        the anomaly is noted on standard error.
        """
        code, out, err = _run("reencode", "--body", REVERSED_BODY)
        self.assertEqual((code, out), (0, ORDERED_BODY + "\n"))
        self.assertEqual(err, "note: member GID is out of order (at byte 5)\n")

    def test_frameBodyOrdered(self) -> None:
        """
        In a frame the body is re-encoded and the header kept.
        """
        code, out, _ = _run("reencode", D6[:24] + REVERSED_BODY)
        self.assertEqual((code, out), (0, D6 + "\n"))

    def test_mapOrder(self) -> None:
        """
        String-keyed maps come out in case-insensitive key order.
        """
        # map<string, int> with keys "b", "a", "C" in that order.
        body = "874d3205010003026200010261000202430003"
        code, out, _ = _run("reencode", "--body", body)
        self.assertEqual(code, 0)
        self.assertEqual(
            tdf.decodeStruct(bytes.fromhex(out))["ATTR"].items,
            (("a", 2), ("b", 1), ("C", 3)),
        )


class MalformedInputTests(SynchronousTestCase):
    """
    Malformed input gives exit code 2 and one line on standard error
    that says what and where.
    """

    def _fails(self, *argv: str) -> str:
        code, out, err = _run(*argv)
        self.assertEqual((code, out), (2, ""))
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertTrue(err.startswith("error: "), err)
        return err

    def test_badHex(self) -> None:
        """
        A character that is not a hex digit is reported with its position.
        """
        err = self._fails("decode", "0009 00z9")
        self.assertIn("'z'", err)
        self.assertIn("(at character 7)", err)

    def test_oddHex(self) -> None:
        """
        An odd number of digits is reported at the incomplete byte.
        """
        self.assertIn("(at byte 1)", self._fails("decode", "--body", "abc"))

    def test_truncatedFrame(self) -> None:
        """
        A frame cut short is reported at its start.
        """
        err = self._fails("decode", D4 + D5[:10])
        self.assertIn("truncated frame", err)
        self.assertIn("(at byte 21)", err)
        self.assertIn("(at byte 0)", self._fails("reencode", D4[:-2]))

    def test_empty(self) -> None:
        """
        No frame at all is an error.
        """
        self.assertIn("empty", self._fails("decode", " "))

    def test_badMessageType(self) -> None:
        """
        A header with an unknown message type is reported at its frame.
        """
        bad = D4 + D5[:16] + "60" + D5[18:]
        self.assertIn("(at byte 21)", self._fails("decode", bad))

    def test_badTdfInFrame(self) -> None:
        """
        Bad TDF in a frame's body is reported at its offset in the whole
        input, header included.
        """
        # Second frame: D4 with type byte 0x0f instead of 0x00 for STIM.
        bad = D5 + D4[:30] + "0f" + D4[32:]
        err = self._fails("decode", bad)
        self.assertIn("frame 2", err)
        self.assertIn("unknown TDF type 0x0f", err)
        self.assertIn("(at byte 27)", err)
        self.assertIn("(at byte 27)", self._fails("reencode", bad))

    def test_badTdfBody(self) -> None:
        """
        Bad TDF in a bare body is reported at its offset in the body.
        """
        err = self._fails("decode", "--body", ORDERED_BODY + "c29900")
        self.assertIn("(at byte 10)", err)

    def test_cannotReencode(self) -> None:
        """
        A body that decodes but cannot be written canonically (union index
        0x81) is reported rather than crashing.
        """
        self.assertIn(
            "re-encode", self._fails("reencode", "--body", "d25cf40681d25cf4000f")
        )


class UsageTests(SynchronousTestCase):
    """
    Usage errors exit with 2 through argparse.
    """

    def test_noArguments(self) -> None:
        """
        No command is a usage error.
        """
        code, out, err = _run()
        self.assertEqual((code, out), (2, ""))
        self.assertIn("usage:", err)

    def test_unknownCommand(self) -> None:
        """
        An unknown command is a usage error.
        """
        self.assertEqual(_run("frobnicate", "00")[0], 2)

    def test_missingHex(self) -> None:
        """
        C{decode} needs hex.
        """
        self.assertEqual(_run("decode")[0], 2)

    def test_help(self) -> None:
        """
        C{--help} prints usage to standard output and exits 0.
        """
        code, out, _ = _run("--help")
        self.assertEqual(code, 0)
        self.assertIn("decode", out)

    def test_module(self) -> None:
        """
        C{python -m pocketrelay.blaze} runs L{main} and exits with its code.
        """
        out = io.StringIO()
        self.patch(sys, "argv", ["pocketrelay.blaze", "decode", D4])
        self.patch(sys, "stdout", out)
        with self.assertRaises(SystemExit) as caught:
            runpy.run_module("pocketrelay.blaze", run_name="__main__")
        self.assertEqual(caught.exception.code, 0)
        self.assertIn("Util.ping", out.getvalue())


class ParseHexTests(SynchronousTestCase):
    """
    L{parseHex} reads hex digits leniently.
    """

    def test_prefixes(self) -> None:
        """
        Every run of digits may start with 0x.
        """
        self.assertEqual(parseHex("0x01 0X02:0x03\n04"), b"\x01\x02\x03\x04")

    def test_xInside(self) -> None:
        """
        An x that does not follow a leading 0 is an error.
        """
        error = self.assertRaises(InputError, parseHex, "010x")
        self.assertEqual(error.offset, 3)
