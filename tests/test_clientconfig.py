# -*- test-case-name: tests.test_clientconfig -*-
"""
Tests for L{pocketrelay.me3.clientconfig}.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from twisted.trial.unittest import SynchronousTestCase

from pocketrelay._version import __version__
from pocketrelay.blaze import tdf
from pocketrelay.me3.chunking import (
    CoalescedError,
    compressCoalesced,
    decompressCoalesced,
    unchunk,
)
from pocketrelay.me3.clientconfig import (
    BUILTIN_ENTITLEMENTS,
    DEFAULT_MENU_MESSAGE,
    DEFAULT_STORE_XML,
    MESSAGE_LANGUAGES,
    TALK_FILE_LANGUAGES,
    ConfigContext,
    Entitlement,
    EntitlementsError,
    MenuMessage,
    MessageType,
    binVersion,
    blazeSdkConfig,
    coalescedConfig,
    entitlementsTable,
    formatMenuMessage,
    isTalkFileConfig,
    meData,
    meDime,
    meMessages,
    parseEntitlements,
    talkFileConfig,
    talkFileConfigId,
    talkFileLanguage,
    welcomeMessage,
)
from pocketrelay.me3.messages.util import (
    TELEMETRY_DISABLED_COUNTRIES,
    FetchConfigResponse,
)


class ConfigContextTests(SynchronousTestCase):
    """
    Tests for L{ConfigContext}.
    """

    def test_defaults(self) -> None:
        """
        By default the game reaches HTTP through the Pocket Relay client's
        local proxy on 127.0.0.1:42131 and telemetry on 127.0.0.1:42129.
        """
        ctx = ConfigContext()
        self.assertEqual(ctx.httpBase, "http://127.0.0.1:42131")
        self.assertEqual(ctx.galaxyAtWarUrl, "http://127.0.0.1:42131/")
        self.assertEqual(ctx.imageUrl, "http://127.0.0.1:42131/content/")
        self.assertEqual((ctx.telemetryHost, ctx.telemetryPort), ("127.0.0.1", 42129))
        self.assertEqual(ctx.serverVersion, __version__)

    def test_trailingSlash(self) -> None:
        """
        A trailing slash on the HTTP base is removed, so URLs never get a
        double slash.
        """
        ctx = ConfigContext(httpBase="https://relay.example/")
        self.assertEqual(ctx.galaxyAtWarUrl, "https://relay.example/")
        self.assertEqual(ctx.imageUrl, "https://relay.example/content/")


class MeDataTests(SynchronousTestCase):
    """
    Tests for L{meData}.
    """

    def test_documentedValues(self) -> None:
        """
        C{ME3_DATA} has exactly the documented keys and values.
        """
        self.assertEqual(
            meData(ConfigContext()),
            {
                "GAW_SERVER_BASE_URL": "http://127.0.0.1:42131/",
                "IMG_MNGR_BASE_URL": "http://127.0.0.1:42131/content/",
                "IMG_MNGR_MAX_BYTES": "1048576",
                "IMG_MNGR_MAX_IMAGES": "5",
                "JOB_THROTTLE_0": "10000",
                "JOB_THROTTLE_1": "5000",
                "JOB_THROTTLE_2": "1000",
                "MATCH_MAKING_RULES_VERSION": "5",
                "MULTIPLAYER_PROTOCOL_VERSION": "3",
                "TEL_DISABLE": TELEMETRY_DISABLED_COUNTRIES,
                "TEL_DOMAIN": "pc/masseffect-3-pc-anon",
                "TEL_FILTER": "-UION/****",
                "TEL_PORT": "42129",
                "TEL_SEND_DELAY": "15000",
                "TEL_SEND_PCT": "75",
                "TEL_SERVER": "127.0.0.1",
            },
        )

    def test_context(self) -> None:
        """
        URLs and the telemetry address come from the context.
        """
        data = meData(
            ConfigContext(
                httpBase="http://10.0.0.5:8080",
                telemetryHost="10.0.0.5",
                telemetryPort=9988,
                telemetryDisabledCountries="",
            )
        )
        self.assertEqual(data["GAW_SERVER_BASE_URL"], "http://10.0.0.5:8080/")
        self.assertEqual(data["IMG_MNGR_BASE_URL"], "http://10.0.0.5:8080/content/")
        self.assertEqual(data["TEL_SERVER"], "10.0.0.5")
        self.assertEqual(data["TEL_PORT"], "9988")
        self.assertEqual(data["TEL_DISABLE"], "")

    def test_encodes(self) -> None:
        """
        The map encodes as a C{FetchConfigResponse} and decodes back.
        """
        response = FetchConfigResponse(meData(ConfigContext()))
        decoded = tdf.decode(FetchConfigResponse, tdf.encode(response))
        self.assertEqual(decoded.config, meData(ConfigContext()))


class MessagesTests(SynchronousTestCase):
    """
    Tests for L{meMessages} and L{welcomeMessage}.
    """

    def test_defaultWelcome(self) -> None:
        """
        By default one terminal message names the server and its version,
        in every language, with title, priority 1 and tracking id 1.
        """
        ctx = ConfigContext(serverVersion="1.2.3")
        result = meMessages(ctx)
        text = "You are connected to Pocket Relay <font color='#FFFF66'>(v1.2.3)</font>"
        self.assertEqual(result["MSG_1_message"], text)
        for language in MESSAGE_LANGUAGES:
            self.assertEqual(result[f"MSG_1_message_{language}"], text)
            self.assertEqual(result[f"MSG_1_title_{language}"], "Pocket Relay")
        self.assertEqual(result["MSG_1_title"], "Pocket Relay")
        self.assertEqual(result["MSG_1_priority"], "1")
        self.assertEqual(result["MSG_1_trackingId"], "1")
        self.assertEqual(result["MSG_1_type"], "0")
        self.assertNotIn("MSG_1_endDate", result)
        self.assertNotIn("MSG_1_image", result)
        self.assertNotIn("MSG_2_message", result)
        self.assertEqual(len(MESSAGE_LANGUAGES), 7)
        self.assertEqual(len(result), 2 * 8 + 3)
        self.assertEqual(meMessages(ctx, [welcomeMessage(ctx)]), result)

    def test_none(self) -> None:
        """
        An empty sequence gives an empty map.
        """
        self.assertEqual(meMessages(ConfigContext(), []), {})

    def test_severalAndOptional(self) -> None:
        """
        Messages are numbered from 1; optional entries appear only when set.
        """
        result = meMessages(
            ConfigContext(),
            [
                MenuMessage("first"),
                MenuMessage(
                    "second",
                    title="News",
                    priority=5,
                    trackingId=42,
                    type=MessageType.MENU_SCROLLING,
                    endDate="2030-01-01",
                    image="news.dds",
                ),
            ],
        )
        self.assertEqual(result["MSG_1_message"], "first")
        self.assertNotIn("MSG_1_title", result)
        self.assertNotIn("MSG_1_trackingId", result)
        self.assertEqual(result["MSG_1_type"], "0")
        self.assertEqual(result["MSG_2_title_ja"], "News")
        self.assertEqual(result["MSG_2_priority"], "5")
        self.assertEqual(result["MSG_2_trackingId"], "42")
        self.assertEqual(result["MSG_2_type"], "3")
        self.assertEqual(result["MSG_2_endDate"], "2030-01-01")
        self.assertEqual(result["MSG_2_image"], "news.dds")

    def test_types(self) -> None:
        """
        Message types: 0 terminal, 3 scrolling, 8 multiplayer.
        """
        self.assertEqual(
            [int(t) for t in MessageType],
            [0, 3, 8],
        )


class EntitlementsTests(SynchronousTestCase):
    """
    Tests for L{entitlementsTable} and L{parseEntitlements}.
    """

    def test_builtin(self) -> None:
        """
        The built-in table maps the entitlement C{ME3_PRC_MP5} to DLC module
        3225 and nothing else.
        """
        self.assertEqual(
            entitlementsTable(),
            {"ENT_1_entitlement": "ME3_PRC_MP5", "ENT_1_ID": "3225"},
        )
        self.assertEqual(entitlementsTable(BUILTIN_ENTITLEMENTS), entitlementsTable())

    def test_rows(self) -> None:
        """
        Each row gives C{ENT_<n>_entitlement}, C{_group}, C{_ID} and C{_param}
        when set, plus C{CERBERUS_OFFER_ID} when given.
        """
        table = entitlementsTable(
            [
                Entitlement(100, "NAME", "Group", 7, "A=1&B=2"),
                Entitlement(2, group="OnlyGroup"),
            ],
            cerberusOfferId=101,
        )
        self.assertEqual(
            table,
            {
                "ENT_100_entitlement": "NAME",
                "ENT_100_group": "Group",
                "ENT_100_ID": "7",
                "ENT_100_param": "A=1&B=2",
                "ENT_2_group": "OnlyGroup",
                "CERBERUS_OFFER_ID": "101",
            },
        )

    def test_duplicateIndex(self) -> None:
        """
        Two rows with the same index are refused.
        """
        self.assertRaises(
            ValueError, entitlementsTable, [Entitlement(1, "A"), Entitlement(1, "B")]
        )

    def test_caseInsensitiveOrderOnWire(self) -> None:
        """
        Encoded, the entries of a row come in case-insensitive order:
        entitlement, group, ID, param.
        """
        table = entitlementsTable([Entitlement(100, "N", "G", 1, "P")])
        body = tdf.encode(FetchConfigResponse(table))
        positions = [
            body.index(key.encode())
            for key in (
                "ENT_100_entitlement",
                "ENT_100_group",
                "ENT_100_ID",
                "ENT_100_param",
            )
        ]
        self.assertEqual(positions, sorted(positions))

    def test_parse(self) -> None:
        """
        C{KEY=VALUE} lines are read; values may contain C{=}; blank lines,
        comments, surrounding spaces and CRLF endings are tolerated.
        """
        text = (
            "# the table\r\n"
            "CERBERUS_OFFER_ID=101\r\n"
            "\r\n"
            "ENT_1_param = MP_DLC=TRUE&x=1 \r\n"
            "ENT_1_ID=3225\r\n"
        )
        self.assertEqual(
            parseEntitlements(text),
            {
                "CERBERUS_OFFER_ID": "101",
                "ENT_1_param": "MP_DLC=TRUE&x=1",
                "ENT_1_ID": "3225",
            },
        )

    def test_parseErrors(self) -> None:
        """
        A line without C{=}, an empty key, a repeated key, or no entry at
        all is an L{EntitlementsError} naming the problem.
        """
        for text, fragment in [
            ("A=1\nnonsense\n", "line 2: no '='"),
            ("=1\n", "line 1: empty key"),
            ("A=1\nA=2\n", "line 2: A appears twice"),
            ("\n# nothing\n", "no KEY=VALUE"),
        ]:
            error = self.assertRaises(EntitlementsError, parseEntitlements, text)
            self.assertIn(fragment, str(error))

    def test_parseLimit(self) -> None:
        """
        More lines than the limit are refused.
        """
        error = self.assertRaises(
            EntitlementsError, parseEntitlements, "A=1\n" * 100_001
        )
        self.assertIn("limit", str(error))


class SmallConfigTests(SynchronousTestCase):
    """
    Tests for L{meDime}, L{binVersion}, L{blazeSdkConfig} and the talk-file
    ids.
    """

    def test_dime(self) -> None:
        """
        C{ME3_DIME} carries the store XML under C{Config}; the built-in
        document is well-formed XML with a C{dime} root.
        """
        self.assertEqual(meDime(), {"Config": DEFAULT_STORE_XML})
        self.assertEqual(meDime("<dime/>"), {"Config": "<dime/>"})
        root = ElementTree.fromstring(DEFAULT_STORE_XML.encode("utf-8"))
        self.assertEqual(root.tag, "dime")
        self.assertEqual(root.findtext("games/game/name"), "Mass Effect 3")

    def test_binVersion(self) -> None:
        """
        C{ME3_BINI_VERSION} names the section and version 40128.
        """
        self.assertEqual(
            binVersion(), {"SECTION": "BINI_PC_COMPRESSED", "VERSION": "40128"}
        )

    def test_blazeSdk(self) -> None:
        """
        The preAuth C{CONF} map has the ping period, headset update rate and
        idle timeout.
        """
        self.assertEqual(
            blazeSdkConfig(),
            {
                "pingPeriod": "15s",
                "voipHeadsetUpdateRate": "1000",
                "xlspConnectionIdleTimeout": "300",
            },
        )

    def test_talkFileIds(self) -> None:
        """
        Talk-file ids are C{ME3_LIVE_TLK_PC_<lang>} for eight languages;
        the language is recognised case-insensitively and anything else,
        including path tricks, is not a known language.
        """
        self.assertEqual(
            TALK_FILE_LANGUAGES, ("de", "en", "es", "fr", "it", "ja", "pl", "ru")
        )
        self.assertEqual(talkFileConfigId("en"), "ME3_LIVE_TLK_PC_en")
        for language in TALK_FILE_LANGUAGES:
            self.assertEqual(talkFileLanguage(talkFileConfigId(language)), language)
        self.assertEqual(talkFileLanguage("ME3_LIVE_TLK_PC_EN"), "en")
        for configId in [
            "ME3_LIVE_TLK_PC_xx",
            "ME3_LIVE_TLK_PC_../../x",
            "ME3_LIVE_TLK_PC_",
            "ME3_LIVE_TLK_PC_en/../../etc",
            "ME3_DATA",
        ]:
            self.assertIsNone(talkFileLanguage(configId), configId)
        self.assertTrue(isTalkFileConfig("ME3_LIVE_TLK_PC_xx"))
        self.assertFalse(isTalkFileConfig("ME3_DATA"))


class BlobConfigTests(SynchronousTestCase):
    """
    Tests for L{coalescedConfig} and L{talkFileConfig}.
    """

    def test_coalescedRaw(self) -> None:
        """
        A raw coalesced is compressed into an C{NIBC} container and chunked.
        """
        raw = b"raw coalesced data" * 50
        blob = unchunk(coalescedConfig(raw))
        self.assertEqual(blob[:4], b"NIBC")
        self.assertEqual(decompressCoalesced(blob), raw)

    def test_coalescedAlreadyCompressed(self) -> None:
        """
        An C{NIBC} container is sent as it is.
        """
        blob = compressCoalesced(b"already")
        self.assertEqual(unchunk(coalescedConfig(blob)), blob)

    def test_coalescedCorruptContainer(self) -> None:
        """
        Something that starts with C{NIBC} but is not a valid container is
        refused rather than compressed a second time.
        """
        self.assertRaises(CoalescedError, coalescedConfig, b"NIBC" + b"\x00" * 20)

    def test_talkFile(self) -> None:
        """
        A talk file is chunked without compression.
        """
        tlk = bytes(range(256)) * 4
        self.assertEqual(unchunk(talkFileConfig(tlk)), tlk)


class MenuMessageTests(SynchronousTestCase):
    """
    Tests for L{formatMenuMessage}.
    """

    def test_default(self) -> None:
        """
        The default template shows grey "Pocket Relay" and the player's name
        in yellow, with a trailing newline.
        """
        self.assertEqual(
            formatMenuMessage(DEFAULT_MENU_MESSAGE, "0.9.0", "Shepard"),
            "<font color='#B2B2B2'>Pocket Relay</font> - "
            "<font color='#FFFF66'>Logged as: Shepard</font>\n",
        )

    def test_placeholders(self) -> None:
        """
        Every C{{v}} and C{{n}} is replaced; other braces stay.
        """
        self.assertEqual(
            formatMenuMessage("{v} {n} {v} {x} {}", "1.0", "Ash"),
            "1.0 Ash 1.0 {x} {}\n",
        )

    def test_onePass(self) -> None:
        """
        A name containing a placeholder is not expanded again.
        """
        self.assertEqual(formatMenuMessage("{n}", "1.0", "{v}"), "{v}\n")

    def test_existingNewline(self) -> None:
        """
        A template that already ends with a newline gets no second one.
        """
        self.assertEqual(formatMenuMessage("Hi {n}\n", "1", "Liara"), "Hi Liara\n")
