# -*- test-case-name: tests.test_web_gaw -*-
"""
Galaxy at War over HTTP (server-behaviour.md sections 2.2 and 5.3).

ME3 reaches these through the Pocket Relay client's HTTP proxy (the
C{GAW_SERVER_BASE_URL} of C{ME3_DATA}), authenticating with the token the
Blaze command Authentication.getAuthToken gave it:

  - C{GET /authentication/sharedTokenLogin?auth=<token>}: a C{<fulllogin>}
    document echoing the token as the session key;
  - C{GET /galaxyatwar/getRatings/<token>}: the player's readiness;
  - C{GET /galaxyatwar/increaseRatings/<token>?rinc|0=..&..&rinc|4=..}:
    adds to the five ratings and answers the new readiness.

Ratings: five war theatres (groups A to E), created at L{MIN_RATING} on
first read, kept within [L{MIN_RATING}, L{MAX_RATING}].  With
C{galaxy_at_war.decay} above 0 they lose C{decay * 100} points per whole
day since they last I{changed}, never below L{MIN_RATING}.  Unlike the
reference server (its bug 9.6), reading does not reset the decay clock:
the stored C{last_modified} moves only when the ratings change (an
increase, or the first read creating them), and the decay is computed from
it on every read.

An invalid or expired token gets the Blaze C{ERR_AUTHENTICATION_REQUIRED}
error document with status 200, as the reference server answers; a
database failure gets status 500 and an error document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final
from xml.sax.saxutils import escape

import attrs
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

if TYPE_CHECKING:
    from pocketrelay.server.hub import Hub
    from pocketrelay.server.store import Store

__all__ = [
    "ASSET_COUNT",
    "AUTH_ERROR_XML",
    "DAY",
    "MAX_RATING",
    "MIN_RATING",
    "GalaxyAtWarService",
    "applyDecay",
    "authenticationResource",
    "galaxyAtWarResource",
    "increase",
    "level",
    "parseIncrements",
    "promotions",
    "ratingsXml",
    "sharedTokenLoginXml",
]

#: The lowest rating, and the value of new ratings.
MIN_RATING: Final = 5000
#: The highest rating.
MAX_RATING: Final = 10099
#: Seconds in a day of decay.
DAY: Final = 24 * 60 * 60
#: The number of C{<assets>} values in a ratings document.
ASSET_COUNT: Final = 10
#: The largest single increment accepted (the ratings are 16-bit).
MAX_INCREMENT: Final = 0xFFFF

_XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'

#: The answer to an invalid or expired token (HTTP 200, as the reference).
AUTH_ERROR_XML: Final = (
    _XML_HEAD + "<error><component>2049</component><errorCode>1074003968</errorCode>"
    "<errorName>ERR_AUTHENTICATION_REQUIRED</errorName></error>\n"
)

_CLASS_KEY = re.compile(r"class[0-9]{1,3}")


# -- pure arithmetic -----------------------------------------------------


def clamp(value: int) -> int:
    """
    C{value} moved into [L{MIN_RATING}, L{MAX_RATING}].
    """
    return max(MIN_RATING, min(MAX_RATING, value))


def decayAmount(lastModified: int, now: int, decay: float) -> int:
    """
    The points lost since C{lastModified}: C{decay * 100} per whole day,
    rounded down; 0 when the clock went backwards or C{decay} is 0.
    """
    if decay <= 0 or now <= lastModified:
        return 0
    days = (now - lastModified) // DAY
    return int(decay * days * 100)


def applyDecay(
    groups: Iterable[int], lastModified: int, now: int, decay: float
) -> tuple[int, ...]:
    """
    The ratings as they stand at C{now}: each loses L{decayAmount}, never
    going below L{MIN_RATING} (a rating already below it is left alone).
    """
    amount = decayAmount(lastModified, now, decay)
    if amount == 0:
        return tuple(groups)
    return tuple(value if value < MIN_RATING else max(MIN_RATING, value - amount)
                 for value in groups)


def increase(groups: Iterable[int], increments: Iterable[int]) -> tuple[int, ...]:
    """
    Each rating plus its increment, clamped to [L{MIN_RATING},
    L{MAX_RATING}].
    """
    return tuple(clamp(value + inc) for value, inc in zip(groups, increments, strict=True))


def level(groups: Iterable[int]) -> int:
    """
    The readiness level: the integer mean of the ratings.
    """
    values = list(groups)
    return sum(values) // len(values) if values else 0


def promotions(data: Mapping[str, str]) -> int:
    """
    The total of the C{Promotions} field (the sixth, in
    C{20;4;Name;Level;Exp;Promotions}) over a player's C{classN} data
    values; malformed values count 0.
    """
    total = 0
    for key, value in data.items():
        if not _CLASS_KEY.fullmatch(key) or not isinstance(value, str):
            continue
        fields = value.split(";")
        if len(fields) < 6:
            continue
        text = fields[5].strip()
        if text.isascii() and text.isdigit() and len(text) <= 9:
            total += int(text)
    return total


def parseIncrements(args: Mapping[bytes, list[bytes]]) -> tuple[int, int, int, int, int]:
    """
    The five increments C{rinc|0} to C{rinc|4} of an increaseRatings
    query; a missing one is 0.

    @raise ValueError: when one is not a whole number from 0 to 65535.
    """
    values = []
    for index in range(5):
        raw = args.get(f"rinc|{index}".encode("ascii"))
        if not raw:
            values.append(0)
            continue
        text = raw[0].strip()
        if not re.fullmatch(rb"[0-9]{1,5}", text) or int(text) > MAX_INCREMENT:
            raise ValueError(f"rinc|{index} must be a whole number from 0 to {MAX_INCREMENT}")
        values.append(int(text))
    return (values[0], values[1], values[2], values[3], values[4])


# -- documents -------------------------------------------------------------


def ratingsXml(groups: Iterable[int], promotionsAsset: int = 0) -> str:
    """
    The C{<galaxyatwargetratings>} document: the five C{<ratings>}, the
    C{<level>} and L{ASSET_COUNT} C{<assets>}, the first being
    C{promotionsAsset}.
    """
    values = list(groups)
    ratings = "".join(f"<ratings>{int(v)}</ratings>" for v in values)
    assets = [promotionsAsset] + [0] * (ASSET_COUNT - 1)
    assetsXml = "".join(f"<assets>{int(a)}</assets>" for a in assets)
    return (
        f"{_XML_HEAD}<galaxyatwargetratings><ratings>{ratings}</ratings>"
        f"<level>{level(values)}</level><assets>{assetsXml}</assets>"
        f"</galaxyatwargetratings>\n"
    )


def sharedTokenLoginXml(token: str) -> str:
    """
    The C{<fulllogin>} document of sharedTokenLogin: the FullLoginResponse
    shape with C{sessioninfo/sessionkey} set to C{token} and every other
    member empty or 0, the persona status UNKNOWN and its external
    reference type BLAZE_EXTERNAL_REF_TYPE_UNKNOWN.
    """
    return (
        f"{_XML_HEAD}<fulllogin>"
        "<canageup>0</canageup>"
        "<legaldochost></legaldochost>"
        "<needslegaldoc>0</needslegaldoc>"
        "<pclogintoken></pclogintoken>"
        "<privacypolicyuri></privacypolicyuri>"
        "<sessioninfo>"
        "<blazeuserid>0</blazeuserid>"
        "<isfirstlogin>0</isfirstlogin>"
        f"<sessionkey>{escape(token)}</sessionkey>"
        "<lastlogindatetime>0</lastlogindatetime>"
        "<email></email>"
        "<personadetails>"
        "<displayname></displayname>"
        "<lastauthenticated>0</lastauthenticated>"
        "<personaid>0</personaid>"
        "<status>UNKNOWN</status>"
        "<extid>0</extid>"
        "<exttype>BLAZE_EXTERNAL_REF_TYPE_UNKNOWN</exttype>"
        "</personadetails>"
        "<userid>0</userid>"
        "</sessioninfo>"
        "<isoflegalcontactage>0</isoflegalcontactage>"
        "<toshost></toshost>"
        "<termsofserviceuri></termsofserviceuri>"
        "<tosuri></tosuri>"
        "</fulllogin>\n"
    )


def errorXml(code: int, name: str) -> str:
    """
    A server-side error document (C{<errorcode>}, C{<errorname>}).
    """
    return (
        f"{_XML_HEAD}<error><errorcode>{int(code)}</errorcode>"
        f"<errorname>{escape(name)}</errorname></error>\n"
    )


# -- the ratings service ------------------------------------------------------


@attrs.frozen
class Readiness:
    """
    A player's effective ratings at some moment.

    @ivar groups: the five ratings, decay applied.
    @ivar lastModified: when the stored ratings last changed.
    @ivar promotions: the promotions asset (0 when not counted).
    """

    groups: tuple[int, ...]
    lastModified: int
    promotions: int = 0


class GalaxyAtWarService:
    """
    Reads and changes ratings in the store.  Operations run one at a time
    (a read that creates the row and an increase are read-modify-write).

    @ivar store: the L{Store}.
    @ivar decay: readiness lost per day (the C{galaxy_at_war.decay}
        setting).
    @ivar countPromotions: whether the first asset is the total of class
        promotions (C{galaxy_at_war.promotions}).
    """

    def __init__(self, store: Store, decay: float = 0.0, countPromotions: bool = True) -> None:
        self.store = store
        self.decay = decay
        self.countPromotions = countPromotions
        self._lock = defer.DeferredLock()

    @classmethod
    def fromHub(cls, hub: Hub) -> GalaxyAtWarService:
        """
        A service using the hub's store and settings.
        """
        settings = hub.settings
        return cls(hub.store, settings["galaxy_at_war.decay"],
                   settings["galaxy_at_war.promotions"])

    def peek(self, playerId: int, now: int) -> defer.Deferred[Readiness]:
        """
        The player's effective ratings without storing anything (new
        ratings are shown as they would be created).
        """
        return self._lock.run(self._peek, playerId, now)

    @defer.inlineCallbacks
    def _peek(self, playerId: int, now: int) -> Any:
        row = yield self.store.getGalaxyAtWar(playerId)
        if row is None:
            return Readiness((MIN_RATING,) * 5, now)
        return Readiness(applyDecay(row.groups, row.lastModified, now, self.decay),
                         row.lastModified)

    def ratings(self, playerId: int, now: int) -> defer.Deferred[Readiness]:
        """
        The player's effective ratings, creating them on first read.
        """
        return self._lock.run(self._ratings, playerId, now)

    @defer.inlineCallbacks
    def _ratings(self, playerId: int, now: int) -> Any:
        row = yield self._current(playerId, now)
        groups = applyDecay(row.groups, row.lastModified, now, self.decay)
        count = yield self._promotions(playerId)
        return Readiness(groups, row.lastModified, count)

    def increase(
        self, playerId: int, increments: Iterable[int], now: int
    ) -> defer.Deferred[Readiness]:
        """
        Add C{increments} to the effective ratings, clamp and store them
        with C{last_modified} = C{now} (the decay clock restarts).  When
        nothing changes (all increments 0, or every rating at the maximum)
        nothing is stored and the clock keeps running.
        """
        return self._lock.run(self._increase, playerId, tuple(increments), now)

    @defer.inlineCallbacks
    def _increase(self, playerId: int, increments: tuple[int, ...], now: int) -> Any:
        from pocketrelay.server.store import GalaxyAtWar

        row = yield self._current(playerId, now)
        current = applyDecay(row.groups, row.lastModified, now, self.decay)
        groups = increase(current, increments)
        if groups != current:
            yield self.store.saveGalaxyAtWar(GalaxyAtWar(playerId, now, *groups))
            lastModified = now
        else:
            lastModified = row.lastModified
        count = yield self._promotions(playerId)
        return Readiness(groups, lastModified, count)

    @defer.inlineCallbacks
    def _current(self, playerId: int, now: int) -> Any:
        from pocketrelay.server.store import GalaxyAtWar

        row = yield self.store.getGalaxyAtWar(playerId)
        if row is None:
            row = GalaxyAtWar(playerId, now, *(MIN_RATING,) * 5)
            yield self.store.saveGalaxyAtWar(row)
        return row

    @defer.inlineCallbacks
    def _promotions(self, playerId: int) -> Any:
        if not self.countPromotions:
            return 0
        data = yield self.store.getPlayerData(playerId)
        return promotions(data)


# -- resources ---------------------------------------------------------------


class _XmlResource(Resource):
    """
    Common answering for the GAW documents.
    """

    log = Logger()
    isLeaf = True

    def __init__(self, hub: Hub, service: GalaxyAtWarService) -> None:
        super().__init__()
        self.hub = hub
        self.service = service

    def _send(self, request: Request, text: str, code: int = 200) -> bytes:
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"text/xml; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        return text.encode("utf-8")

    def _respond(self, request: Request, d: defer.Deferred[Any]) -> int:
        """
        Write the document C{d} fires with (a (text, code) pair), or a 500
        error document if it fails.
        """
        finished = [False]
        request.notifyFinish().addBoth(lambda _: finished.__setitem__(0, True))

        def failed(failure: Failure) -> tuple[str, int]:
            from pocketrelay.server.store import UnknownPlayer

            if failure.check(UnknownPlayer):
                return AUTH_ERROR_XML, 200
            self.log.failure("Galaxy at War request failed", failure)
            return errorXml(500, "ERR_SYSTEM"), 500

        def write(result: tuple[str, int]) -> None:
            if finished[0]:
                return
            body = self._send(request, *result)
            request.setHeader(b"content-length", str(len(body)).encode("ascii"))
            request.write(body)
            request.finish()

        d.addErrback(failed)
        d.addCallback(write)
        d.addErrback(lambda f: self.log.failure("Writing a Galaxy at War answer failed", f))
        return NOT_DONE_YET

    def _player(self, token: str | None) -> defer.Deferred[Any]:
        """
        The player of a GAW token, or L{None}.
        """
        from pocketrelay.server.security import TokenError, playerForToken

        if not token:
            return defer.succeed(None)
        d = playerForToken(self.hub.signer, self.hub.store, token)
        d.addErrback(lambda failure: failure.trap(TokenError) and None)
        return d


class SharedTokenLoginResource(_XmlResource):
    """
    C{/authentication/sharedTokenLogin?auth=<token>}.
    """

    def render_GET(self, request: Request) -> bytes | int:
        raw = (request.args or {}).get(b"auth")
        token = raw[0].decode("ascii", "replace") if raw else None

        def answer(player: Any) -> tuple[str, int]:
            if player is None:
                return AUTH_ERROR_XML, 200
            assert token is not None
            return sharedTokenLoginXml(token), 200

        return self._respond(request, self._player(token).addCallback(answer))


class RatingsResource(_XmlResource):
    """
    C{/galaxyatwar/getRatings/<token>} and
    C{/galaxyatwar/increaseRatings/<token>}.
    """

    def render_GET(self, request: Request) -> bytes | int:
        postpath = request.postpath or []
        if len(postpath) != 2 or postpath[0] not in (b"getRatings", b"increaseRatings"):
            return self._send(request, errorXml(404, "ERR_NOT_FOUND"), 404)
        action, rawToken = postpath
        token = rawToken.decode("ascii", "replace")
        increments: tuple[int, ...] = ()
        if action == b"increaseRatings":
            try:
                increments = parseIncrements(request.args or {})
            except ValueError as e:
                return self._send(request, errorXml(400, str(e)), 400)
        now = int(self.hub.clock.seconds())

        @defer.inlineCallbacks
        def work() -> Any:
            player = yield self._player(token)
            if player is None:
                return AUTH_ERROR_XML, 200
            if increments:
                readiness = yield self.service.increase(player.id, increments, now)
            else:
                readiness = yield self.service.ratings(player.id, now)
            return ratingsXml(readiness.groups, readiness.promotions), 200

        return self._respond(request, work())


def authenticationResource(hub: Hub, service: GalaxyAtWarService | None = None) -> Resource:
    """
    The C{/authentication} resource (its child C{sharedTokenLogin}).
    """
    resource = Resource()
    resource.putChild(b"sharedTokenLogin",
                      SharedTokenLoginResource(hub, service or GalaxyAtWarService.fromHub(hub)))
    return resource


def galaxyAtWarResource(hub: Hub, service: GalaxyAtWarService | None = None) -> Resource:
    """
    The C{/galaxyatwar} resource.
    """
    return RatingsResource(hub, service or GalaxyAtWarService.fromHub(hub))
