# -*- test-case-name: tests.test_version -*-
"""
The ME3 multiplayer protocol version and its hash.

A game carries the version string in C{VSTR} and its hash in C{GPVH}
(ReplicatedGameData); clients only see games whose hash matches their own
(blaze-wire.md section 6.1).
"""

from __future__ import annotations

__all__ = [
    "PROTOCOL_VERSION_HASH",
    "VERSION_STRING",
    "protocolVersionHash",
]

_FNV_OFFSET_BASIS = 2166136261
_FNV_PRIME = 16777619
_MASK64 = (1 << 64) - 1


def protocolVersionHash(versionString: str) -> int:
    """
    Hash a protocol version string the way ME3 computes C{GPVH}: a 64-bit
    FNV-1-style hash that starts from the 32-bit FNV offset basis and, for
    each byte, first multiplies by the 32-bit FNV prime modulo 2**64 and
    then XORs the byte in.

    @param versionString: the version string; hashed as its UTF-8 bytes.
    @return: the unsigned 64-bit hash.
    """
    value = _FNV_OFFSET_BASIS
    for byte in versionString.encode("utf-8"):
        value = (value * _FNV_PRIME) & _MASK64
        value ^= byte
    return value


#: The protocol version string of the last ME3 release (C{VSTR}).
VERSION_STRING = "ME3-295976325-179181965240128"

#: L{protocolVersionHash} of L{VERSION_STRING} (C{GPVH}), 0x05a4f2b378b715c6.
PROTOCOL_VERSION_HASH = protocolVersionHash(VERSION_STRING)
