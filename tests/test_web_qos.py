# -*- test-case-name: tests.test_web_qos -*-
"""
Tests for L{pocketrelay.server.web.qos}: the QoS XML documents, element by
element against the reference server's, through the real site.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pocketrelay.server.web.qos import FIRETYPE_XML, FIREWALL_XML, qosXml
from pocketrelay.testing.web import WebHarness


def tree(element: ElementTree.Element) -> Any:
    children = list(element)
    if not children:
        return (element.tag, element.text or "")
    return (element.tag, [tree(child) for child in children])


def qosTree(probes: int, size: int, secret: int) -> Any:
    """
    The reference's C{<qos>} document as a tree.
    """
    return ("qos", [
        ("numprobes", str(probes)),
        ("qosport", "42130"),
        ("probesize", str(size)),
        ("qosip", "2130706433"),
        ("requestid", "1"),
        ("reqsecret", str(secret)),
    ])


ADDRESS_PROBE = qosTree(0, 0, 0)
BANDWIDTH_PROBE = qosTree(10, 1200, 1)

FIREWALL = ("firewall", [
    ("ips", [("ips", "2733913518"), ("ips", "2733913519")]),
    ("numinterfaces", "2"),
    ("ports", [("ports", "17500"), ("ports", "17501")]),
    ("requestid", "747"),
    ("reqsecret", "502"),
])


class DocumentTests(SynchronousTestCase):
    """
    The documents themselves.
    """

    def test_qos(self) -> None:
        """
        Type 1 asks for no probes; any other type for 10 of 1200 bytes.
        """
        self.assertEqual(tree(ElementTree.fromstring(qosXml(1))), ADDRESS_PROBE)
        for other in (2, 0, None):
            self.assertEqual(tree(ElementTree.fromstring(qosXml(other))), BANDWIDTH_PROBE)

    def test_exactText(self) -> None:
        """
        The type-1 document is byte for byte the reference's (no XML
        declaration, no whitespace).
        """
        self.assertEqual(
            qosXml(1),
            "<qos><numprobes>0</numprobes><qosport>42130</qosport><probesize>0</probesize>"
            "<qosip>2130706433</qosip><requestid>1</requestid><reqsecret>0</reqsecret></qos>",
        )
        self.assertEqual(FIRETYPE_XML, "<firetype><firetype>2</firetype></firetype>")

    def test_firewall(self) -> None:
        """
        The fixed firewall document.
        """
        self.assertEqual(tree(ElementTree.fromstring(FIREWALL_XML)), FIREWALL)


class EndpointTests(TestCase):
    """
    The documents through the real site.
    """

    def setUp(self) -> None:
        self.web = WebHarness(self)

    @defer.inlineCallbacks
    def get(self, path: str, code: int = 200) -> Any:
        response = yield self.web.request("GET", path)
        self.assertEqual(response.code, code, response.body)
        if code == 200:
            self.assertEqual(response.header("content-type"), "text/xml; charset=utf-8")
            return tree(ElementTree.fromstring(response.body))
        return response

    @defer.inlineCallbacks
    def test_qtyp(self) -> Any:
        """
        The game's qtyp parameter selects the document.
        """
        first = yield self.get("/qos/qos?prpt=3659&vers=1&qtyp=1")
        self.assertEqual(first, ADDRESS_PROBE)
        second = yield self.get("/qos/qos?prpt=3659&vers=1&qtyp=2")
        self.assertEqual(second, BANDWIDTH_PROBE)

    @defer.inlineCallbacks
    def test_qtype(self) -> Any:
        """
        The reference's qtype spelling works too; qtyp wins when both are
        sent.
        """
        document = yield self.get("/qos/qos?prpt=3659&qtype=1")
        self.assertEqual(document, ADDRESS_PROBE)
        both = yield self.get("/qos/qos?qtyp=2&qtype=1")
        self.assertEqual(both, BANDWIDTH_PROBE)

    @defer.inlineCallbacks
    def test_missingOrBadType(self) -> Any:
        """
        A missing or non-numeric type gets the bandwidth document.
        """
        for path in ("/qos/qos", "/qos/qos?qtyp=", "/qos/qos?qtyp=abc"):
            document = yield self.get(path)
            self.assertEqual(document, BANDWIDTH_PROBE, path)

    @defer.inlineCallbacks
    def test_firewallAndFiretype(self) -> Any:
        """
        firewall and firetype answer their fixed documents whatever the
        query.
        """
        firewall = yield self.get("/qos/firewall?vers=1&nint=2")
        self.assertEqual(firewall, FIREWALL)
        firetype = yield self.get("/qos/firetype?vers=1&rqid=747&rqsc=502&inip=1&inpt=2")
        self.assertEqual(firetype, ("firetype", [("firetype", "2")]))

    @defer.inlineCallbacks
    def test_unknown(self) -> Any:
        """
        Other paths below /qos are 404; other methods 405.
        """
        for path in ("/qos/other", "/qos", "/qos/qos/extra"):
            yield self.get(path, 404)
        response = yield self.web.request("POST", "/qos/qos", b"")
        self.assertEqual(response.code, 405)
