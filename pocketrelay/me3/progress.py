# -*- test-case-name: tests.test_reports -*-
"""
Reading ME3's player data strings for game reports (server-behaviour
§5.2, §5.5): the C{Progress} counters and the C{charN} kit entries.

Pure functions; malformed strings give empty results, never exceptions.
"""

from __future__ import annotations

import attrs

__all__ = ["EXTRACTION_INDEX", "KIT_COUNTERS", "Character", "compareProgress", "parseCharacter"]

#: In C{Progress} (comma-separated, the first field the format version):
#: the match-extraction counter, then one counter per kit.
EXTRACTION_INDEX = 745
KIT_COUNTERS = range(746, 812)


def _counters(progress: str | None) -> list[int | None]:
    if not progress:
        return []
    values: list[int | None] = []
    for field in progress.split(","):
        try:
            values.append(int(field))
        except ValueError:
            values.append(None)
    return values


def _at(values: list[int | None], index: int) -> int | None:
    return values[index] if index < len(values) else None


def compareProgress(before: str | None, after: str | None) -> tuple[bool, int | None]:
    """
    From the C{Progress} strings at join time and at the end of a match:
    whether the extraction counter went up, and which kit's counter went
    up (as the kit number N of C{charN}), if any.
    """
    old, new = _counters(before), _counters(after)
    first, last = _at(old, EXTRACTION_INDEX), _at(new, EXTRACTION_INDEX)
    extracted = first is not None and last is not None and last > first
    kit = None
    for number, index in enumerate(KIT_COUNTERS):
        first, last = _at(old, index), _at(new, index)
        if first is not None and last is not None and last > first:
            kit = number
            break
    return extracted, kit


@attrs.frozen
class Character:
    """
    The parts of a C{charN} entry a report shows.
    """

    kitName: str = ""
    characterName: str = ""
    powers: tuple[str, ...] = ()
    weapons: tuple[str, ...] = ()
    weaponMods: tuple[str, ...] = ()


def parseCharacter(value: str | None) -> Character:
    """
    Parse C{20;4;KitName;CharacterName;...;powers;hotkeys;weapons;
    weaponMods;deployed;leveledUp}: powers are a comma list whose first
    word is the power name, weapons a comma list of ids, weapon mods a
    comma list of space-separated ids.
    """
    if not value:
        return Character()
    fields = value.split(";")

    def field(index: int) -> str:
        return fields[index] if index < len(fields) else ""

    def items(text: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in text.split(",") if part.strip())

    return Character(
        kitName=field(2),
        characterName=field(3),
        powers=tuple(power.split(" ")[0] for power in items(field(16))),
        weapons=items(field(18)),
        weaponMods=items(field(19)),
    )
