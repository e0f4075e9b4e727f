# -*- test-case-name: tests.test_gamedatainstall -*-
"""
Synthetic game data for tests: files laid out like the Rust Pocket Relay
server's repository, built with the codecs.  Nothing here is EA's data.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile
from collections.abc import Mapping

from pocketrelay.me3.clientconfig import TALK_FILE_LANGUAGES
from pocketrelay.me3.coalesced import (
    Coalesced,
    CoalescedFile,
    Property,
    Section,
    Value,
    ValueType,
    serializeJson,
)
from pocketrelay.me3.tlk import TalkFile, TalkString, serializeTlk
from pocketrelay.server.gamedatainstall import PinnedFile

__all__ = [
    "RESOURCES",
    "syntheticCoalesced",
    "syntheticDataDirectory",
    "syntheticPins",
    "syntheticRepository",
    "syntheticTalkFile",
    "tarGzArchive",
    "writeTree",
    "zipArchive",
]

#: Where the Rust server keeps its game data in its repository.
RESOURCES = "src/resources/"


def syntheticCoalesced(marker: str = "12") -> Coalesced:
    """
    A small coalesced with every kind of value; C{marker} is one value's
    text, so two calls can give different models.
    """
    return Coalesced(
        [
            CoalescedFile(
                "..\\..\\biogame\\config\\demo.ini",
                [
                    Section(
                        "demopackage.demoklass",
                        [
                            Property("maxwidgets", [Value(ValueType.New, marker)]),
                            Property(
                                "widgetlist",
                                [
                                    Value(ValueType.RemoveProperty),
                                    Value(ValueType.AddUnique, '(Name="alpha",Size=3)'),
                                    Value(ValueType.Remove, '(Name="beta",Size=4)'),
                                    Value(ValueType.Add, "plain"),
                                ],
                            ),
                        ],
                    ),
                ],
            ),
            CoalescedFile(
                "..\\..\\biogame\\config\\other.ini",
                [Section("other.thing", [Property("enabled", [Value(ValueType.New, "true")])])],
            ),
        ]
    )


def syntheticTalkFile(language: str) -> bytes:
    """
    A small talk file whose strings name C{language}.
    """
    return serializeTlk(
        TalkFile(
            male=[TalkString(1, f"hello {language}"), TalkString(7, "Galaxy at War")],
            female=[TalkString(7, f"Galaxy at War ({language})")],
        )
    )


def syntheticRepository(prefix: str = RESOURCES) -> dict[str, bytes]:
    """
    The game-data files of a Rust server checkout, by path, under
    C{prefix}: C{data/coalesced.json}, C{data/tlk/<lang>.tlk} and
    C{default.tlk}, C{data/entitlements.dmap}, C{data/dime.xml} and two
    images under C{public/content/}.
    """
    files = {
        "data/coalesced.json": serializeJson(syntheticCoalesced()),
        "data/entitlements.dmap": b"CERBERUS_OFFER_ID=1\nENT_1_entitlement=SYNTHETIC\n"
        b"ENT_1_ID=3225\n",
        "data/dime.xml": b'<?xml version="1.0"?><dime><store id="synthetic"/></dime>',
        "public/content/ChallengeBanners/Synthetic.dds": b"DDS " + bytes(range(60)),
        "public/content/StoreSynthetic.dds": b"DDS " + b"\x01" * 100,
    }
    for language in TALK_FILE_LANGUAGES:
        files[f"data/tlk/{language}.tlk"] = syntheticTalkFile(language)
    files["data/tlk/default.tlk"] = files["data/tlk/en.tlk"]
    return {prefix + path: data for path, data in files.items()}


def syntheticDataDirectory() -> dict[str, bytes]:
    """
    L{syntheticRepository}'s files as the installer lays them out in the
    server's data directory (C{coalesced.json}, the talk files,
    C{entitlements.dmap} and C{dime.xml} at its top, the images under
    C{public/content/}), for L{writeTree}: a server with them reports its
    game data complete.
    """
    installed = {}
    for path, data in syntheticRepository(prefix="").items():
        if path.startswith("public/"):
            installed[path] = data
        else:
            installed[path.rsplit("/", 1)[-1]] = data
    return installed


def syntheticPins(files: Mapping[str, bytes]) -> tuple[PinnedFile, ...]:
    """
    A pinned-file table for C{files} (path to content), as the installer
    uses for downloads.
    """
    return tuple(
        PinnedFile(path, len(data), hashlib.sha256(data).hexdigest())
        for path, data in sorted(files.items())
    )


def writeTree(root: str, files: Mapping[str, bytes]) -> str:
    """
    Write C{files} (relative POSIX path to content) under C{root}.

    @return: C{root}.
    """
    for path, data in files.items():
        full = os.path.join(root, *path.split("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
    return root


def zipArchive(path: str, files: Mapping[str, bytes], top: str = "") -> str:
    """
    Write a zip archive of C{files}, each under the folder C{top}.
    """
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(top + name, data)
    return path


def tarGzArchive(path: str, files: Mapping[str, bytes], top: str = "") -> str:
    """
    Write a gzip-compressed tar archive of C{files}, each under the folder
    C{top}.
    """
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(top + name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path
