# -*- test-case-name: tests.test_redact -*-
"""
Keeping secrets out of log lines.

Login tokens travel in URLs: Galaxy at War puts one in the path
(C{/galaxyatwar/getRatings/<token>}), the game's shared-token login in the
query (C{/authentication/sharedTokenLogin?auth=<token>}).  Anything that
logs a URL or a request path passes it through L{redactUrl} first: the
server's access log (L{redactedLogFormatter}), the client's HTTP proxy,
error lines about requests.

What is replaced by L{REDACTED}:
  - the token segment of Galaxy at War paths (the segment after
    C{/galaxyatwar/<command>/});
  - every path segment shaped like a signed token (two base64url parts
    joined by a dot, see L{looksLikeToken});
  - the value of every query parameter named in L{SECRET_PARAMETERS}
    (compared case-insensitively), and every query value shaped like a
    signed token whatever its name.

Pure functions, no Twisted import except in L{redactedLogFormatter}.
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import unquote

__all__ = [
    "REDACTED",
    "SECRET_PARAMETERS",
    "looksLikeToken",
    "redactText",
    "redactUrl",
    "redactedLogFormatter",
]

#: What a secret is replaced with.
REDACTED: Final = "<redacted>"

#: Query parameters whose values are always secret.
SECRET_PARAMETERS: Final = frozenset({
    "access_token",
    "association",
    "auth",
    "authtoken",
    "code",
    "key",
    "login_code",
    "password",
    "secret",
    "sessionkey",
    "token",
})

# A signed token: base64url payload "." base64url signature (ours are 16
# or 22 characters, then 43; the bounds leave room for other formats).
_TOKEN: Final = r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{20,}"
_TOKEN_WHOLE: Final = re.compile(_TOKEN + r"\Z")
_TOKEN_ANYWHERE: Final = re.compile(r"(?<![A-Za-z0-9_.-])" + _TOKEN + r"(?![A-Za-z0-9_-])")

# Path prefixes (as segments) followed by one free segment and then the
# token: /galaxyatwar/<command>/<token>.
_TOKEN_AFTER: Final = {"galaxyatwar": 1}


def looksLikeToken(text: str) -> bool:
    """
    Whether C{text} (percent-decoded) is shaped like a signed token: at
    least 8 base64url characters, a dot, at least 20 more.
    """
    return _TOKEN_WHOLE.match(unquote(text)) is not None


def redactText(text: str) -> str:
    """
    C{text} with every token-shaped word replaced by L{REDACTED}.
    """
    return _TOKEN_ANYWHERE.sub(REDACTED, text)


def _redactPath(path: str) -> str:
    segments = path.split("/")
    # segments[0] is "" for an absolute path.
    skip = None
    for position, segment in enumerate(segments):
        lowered = unquote(segment).lower()
        if skip is not None and position == skip:
            segments[position] = REDACTED
            skip = None
            continue
        if looksLikeToken(segment):
            segments[position] = REDACTED
        elif lowered in _TOKEN_AFTER and skip is None:
            skip = position + 1 + _TOKEN_AFTER[lowered]
    return "/".join(segments)


def _redactQuery(query: str) -> str:
    parts = []
    for part in query.split("&"):
        name, separator, value = part.partition("=")
        if separator and value and (
            unquote(name).strip().lower() in SECRET_PARAMETERS or looksLikeToken(value)
        ):
            part = f"{name}={REDACTED}"
        parts.append(part)
    return "&".join(parts)


def redactUrl(url: str | bytes) -> str:
    """
    C{url} (a request target, a path, or an absolute URL) with its secrets
    replaced by L{REDACTED}; bytes are decoded as Latin-1 (every byte kept).
    """
    text = url.decode("latin-1") if isinstance(url, bytes) else url
    prefix = ""
    scheme, separator, rest = text.partition("://")
    if separator and "/" not in scheme:
        authority, slash, path = rest.partition("/")
        prefix = f"{scheme}://{authority}"
        text = slash + path
    path, mark, query = text.partition("?")
    query, hashMark, fragment = query.partition("#") if mark else ("", "", "")
    if not mark:
        path, hashMark, fragment = path.partition("#")
    result = prefix + _redactPath(path)
    if mark:
        result += "?" + _redactQuery(query)
    if hashMark:
        result += "#" + redactText(fragment)
    return result


class _RedactedRequest:
    """
    A request as L{twisted.web.http.combinedLogFormatter} reads it, with
    the secrets of its target and referrer replaced.
    """

    def __init__(self, request: Any) -> None:
        self._request = request
        self.uri = redactUrl(request.uri).encode("latin-1")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)

    def getHeader(self, name: bytes) -> bytes | None:
        value: bytes | None = self._request.getHeader(name)
        if value is not None and name.lower() == b"referer":
            return redactUrl(value).encode("latin-1")
        return value


def redactedLogFormatter(timestamp: str, request: Any) -> str:
    """
    Twisted's combined access log line (L{twisted.web.http.combinedLogFormatter})
    with the request target and the referrer passed through L{redactUrl}.
    """
    from twisted.web import http

    return str(http.combinedLogFormatter(timestamp, _RedactedRequest(request)))
