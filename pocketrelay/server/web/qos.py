# -*- test-case-name: tests.test_web_qos -*-
"""
QoS over HTTP (server-behaviour.md section 2.3, client-behaviour.md 4.1),
used when C{qos.type} is C{local}: the game asks C{127.0.0.1:42131}, the
Pocket Relay client's HTTP proxy, which forwards here; the UDP probes then
go to the client's own QoS echo on C{127.0.0.1:42130}.

  - C{GET /qos/qos?prpt=..&vers=..&qtyp=..}: C{qtyp=1} (address probe)
    asks for no probes; any other type (2, bandwidth and latency) asks for
    10 probes of 1200 bytes.  The game sends C{qtyp}; the reference server
    reads C{qtype} (its bug 9.9), so both are accepted, C{qtyp} first.  A
    missing or non-numeric type is treated as a type other than 1.
  - C{GET /qos/firewall}: a fixed C{<firewall>} document.
  - C{GET /qos/firetype}: C{<firetype><firetype>2</firetype></firetype>}.

Documents are exactly the reference server's, without an XML
declaration.
"""

from __future__ import annotations

from typing import Final

from twisted.web.resource import Resource
from twisted.web.server import Request

__all__ = [
    "FIRETYPE_XML",
    "FIREWALL_XML",
    "QOS_IP",
    "QOS_PORT",
    "QosResource",
    "firewallXml",
    "qosResource",
    "qosXml",
]

#: Where the game sends its UDP probes: the client's QoS echo.
QOS_PORT: Final = 42130
#: 127.0.0.1 as the decimal u32 the game expects.
QOS_IP: Final = 0x7F000001

#: The fixed firewall interfaces of the reference server.
_FIREWALL_IPS: Final = (2733913518, 2733913519)
_FIREWALL_PORTS: Final = (17500, 17501)
_FIREWALL_REQUEST_ID: Final = 747
_FIREWALL_SECRET: Final = 502


def qosXml(qosType: int | None) -> str:
    """
    The C{<qos>} document for a probe type: no probes for type 1, else 10
    probes of 1200 bytes with request secret 1.
    """
    if qosType == 1:
        probes, size, secret = 0, 0, 0
    else:
        probes, size, secret = 10, 1200, 1
    return (
        f"<qos><numprobes>{probes}</numprobes><qosport>{QOS_PORT}</qosport>"
        f"<probesize>{size}</probesize><qosip>{QOS_IP}</qosip>"
        f"<requestid>1</requestid><reqsecret>{secret}</reqsecret></qos>"
    )


def firewallXml() -> str:
    """
    The fixed C{<firewall>} document.
    """
    ips = "".join(f"<ips>{ip}</ips>" for ip in _FIREWALL_IPS)
    ports = "".join(f"<ports>{port}</ports>" for port in _FIREWALL_PORTS)
    return (
        f"<firewall><ips>{ips}</ips><numinterfaces>{len(_FIREWALL_IPS)}</numinterfaces>"
        f"<ports>{ports}</ports><requestid>{_FIREWALL_REQUEST_ID}</requestid>"
        f"<reqsecret>{_FIREWALL_SECRET}</reqsecret></firewall>"
    )


FIREWALL_XML: Final = firewallXml()
FIRETYPE_XML: Final = "<firetype><firetype>2</firetype></firetype>"


def _qosType(request: Request) -> int | None:
    args = request.args or {}
    for name in (b"qtyp", b"qtype"):
        values = args.get(name)
        if values:
            text = values[0].strip()
            if text.isdigit() and len(text) <= 9:
                return int(text)
            return None
    return None


class QosResource(Resource):
    """
    C{/qos}: its three documents, by the single path segment below it.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        postpath = request.postpath or []
        name = postpath[0] if len(postpath) == 1 else None
        if name == b"qos":
            text = qosXml(_qosType(request))
        elif name == b"firewall":
            text = FIREWALL_XML
        elif name == b"firetype":
            text = FIRETYPE_XML
        else:
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"Unknown QoS document"
        request.setHeader(b"content-type", b"text/xml; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        return text.encode("ascii")


def qosResource() -> Resource:
    """
    The C{/qos} resource.
    """
    return QosResource()
