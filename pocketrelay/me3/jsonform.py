# -*- test-case-name: tests.test_coalesced,tests.test_tlk -*-
"""
Reading and writing the JSON forms of the game data (the coalesced's
C{coalesced.json}, the talk files' JSON): strict UTF-8 in, indented UTF-8
out, errors as the caller's exception type with a byte offset.

Pure: no I/O, no Twisted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["dumpJson", "loadJson"]


def _rejectConstant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loadJson(
    data: bytes, limit: int, what: str, error: Callable[[str, int | None], ValueError]
) -> Any:
    """
    Decode UTF-8 JSON (a byte-order mark allowed) of at most C{limit}
    bytes, or raise C{error(message, offset)}.
    """
    if len(data) > limit:
        raise error(f"{what} of {len(data)} bytes is larger than the {limit} byte limit", limit)
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise error(f"{what} is not UTF-8: {e.reason} at offset {e.start}", e.start)
    try:
        return json.loads(text, parse_constant=_rejectConstant)
    except json.JSONDecodeError as e:
        offset = len(text[: e.pos].encode("utf-8")) + (3 if data[:3] == b"\xef\xbb\xbf" else 0)
        raise error(f"{what} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}", offset)
    except (ValueError, RecursionError) as e:
        raise error(f"{what} is not valid JSON: {e}", None)


def dumpJson(document: Any) -> bytes:
    """
    Indented JSON, UTF-8; characters UTF-8 cannot hold (lone surrogates)
    make the whole document ASCII with escapes.
    """
    try:
        return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(document, indent=2, ensure_ascii=True).encode("ascii")
