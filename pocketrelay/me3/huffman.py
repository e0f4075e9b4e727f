# -*- test-case-name: tests.test_coalesced,tests.test_tlk -*-
"""
The static Huffman code shared by the binary coalesced and the talk files
(game-data-formats.md section 1.2), and the coalesced's CRC.

A tree is a list of node pairs C{(left, right)}: a value C{v >= 0} is the
index of another pair, C{v < 0} a leaf for symbol C{-1 - v}.  Symbol 0 is
the string terminator.  Bit 0 takes the left branch, bit 1 the right one.
Bits are numbered least-significant first within each byte.

For speed the bit streams are handled as Python strings of C{"0"} and
C{"1"} characters, bit C{p} at index C{p}: encoding a text is one
C{str.translate} (each character becomes its code), packing is one
C{int(..., 2)}, and decoding looks up whole runs of bits in a table built
as it goes instead of walking the tree one bit at a time.

Pure: no I/O, no Twisted.
"""

from __future__ import annotations

import binascii
import heapq
from collections.abc import Mapping, Sequence

__all__ = [
    "MAX_CODE_LENGTH",
    "TERMINATOR",
    "HuffmanError",
    "Tree",
    "bitString",
    "buildTree",
    "crc32bzip2",
    "packBits",
]

#: The symbol that ends every string.
TERMINATOR = 0

#: The longest code a tree may have.  A Huffman code for N symbols whose
#: frequencies add up to F is at most about log1.618(F) bits long (the
#: Fibonacci worst case): 64 bits would need more than 10**13 characters.
MAX_CODE_LENGTH = 64

#: How many bits the decoder looks up at once.
_LOOKUP_BITS = 12

_REVERSED_BYTES = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def crc32bzip2(data: bytes) -> int:
    """
    The CRC-32/BZIP2 of C{data} (polynomial 0x04C11DB7 MSB-first, initial
    and final XOR 0xFFFFFFFF, no reflection; section 1.1).

    Computed with the zlib CRC, which is the same code with every byte and
    the result bit-reversed.
    """
    reflected = binascii.crc32(data.translate(_REVERSED_BYTES))
    return int(f"{reflected:032b}"[::-1], 2)


class HuffmanError(ValueError):
    """
    A Huffman tree is malformed or a bit stream does not decode.

    @ivar position: the index of the offending pair (for a tree), or the
        bit offset where decoding failed.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


def buildTree(frequencies: Mapping[int, int]) -> list[tuple[int, int]]:
    """
    Build a Huffman tree, root last, for the given symbol frequencies.

    Deterministic: ties are broken by insertion order, the leaves being
    inserted in ascending symbol order and each new internal node after
    them.  The two smallest items become the left and right child of a new
    node.  Internal nodes are numbered breadth-first from the root (left
    before right), the root last, as the reference tool does.

    With fewer than two symbols the tree is the single pair C{(s, s)} for
    that symbol (C{(-1, -1)}, the terminator, when there is none), whose
    code is the single bit C{0}.
    """
    symbols = sorted(frequencies)
    if len(symbols) < 2:
        leaf = -1 - (symbols[0] if symbols else TERMINATOR)
        return [(leaf, leaf)]
    heap = [(frequencies[symbol], order, -1 - symbol) for order, symbol in enumerate(symbols)]
    heapq.heapify(heap)
    order = len(heap)
    children: list[tuple[int, int]] = []
    while len(heap) > 1:
        weightLeft, _, left = heapq.heappop(heap)
        weightRight, _, right = heapq.heappop(heap)
        children.append((left, right))
        heapq.heappush(heap, (weightLeft + weightRight, order, len(children) - 1))
        order += 1
    root = len(children) - 1
    discovered: list[int] = []
    queue = [root]
    for node in queue:
        for child in children[node]:
            if child >= 0:
                discovered.append(child)
                queue.append(child)
    number = {node: index for index, node in enumerate(discovered)}
    number[root] = len(discovered)
    pairs = [(0, 0)] * len(children)
    for node, index in number.items():
        left, right = children[node]
        pairs[index] = (
            number[left] if left >= 0 else left,
            number[right] if right >= 0 else right,
        )
    return pairs


def packBits(bits: str) -> bytes:
    """
    Pack a string of C{"0"}/C{"1"} (bit C{p} at index C{p}) into bytes,
    least-significant bit first, the last byte padded with zero bits.
    """
    if not bits:
        return b""
    return int(bits[::-1], 2).to_bytes((len(bits) + 7) // 8, "little")


def bitString(data: bytes) -> str:
    """
    The bits of C{data} as a string of C{"0"}/C{"1"}, bit C{p} (byte
    C{p >> 3}, mask C{1 << (p & 7)}) at index C{p}.
    """
    if not data:
        return ""
    return format(int.from_bytes(data, "little"), "b").zfill(len(data) * 8)[::-1]


class Tree:
    """
    A validated Huffman tree, ready to encode and decode.

    @ivar pairs: the node pairs.
    @ivar root: the index of the root pair.
    @ivar codes: each symbol's code as a string of C{"0"}/C{"1"}.
    """

    def __init__(self, pairs: Sequence[tuple[int, int]], root: int, maxSymbol: int) -> None:
        """
        Check the tree: every child index inside the array, every node
        reachable from the root at most once (no cycles, no sharing), every
        symbol at most C{maxSymbol}, no code longer than
        L{MAX_CODE_LENGTH}, and the terminator present.

        @raise HuffmanError: naming the offending pair's index.
        """
        count = len(pairs)
        if not 0 <= root < count:
            raise HuffmanError(f"the tree has no root pair ({count} pairs)", root)
        self.pairs = list(pairs)
        self.root = root
        codes: dict[int, str] = {}
        seen = {root}
        stack = [(root, "")]
        while stack:
            node, prefix = stack.pop()
            if len(prefix) >= MAX_CODE_LENGTH:
                raise HuffmanError(
                    f"pair {node} is deeper than {MAX_CODE_LENGTH} levels in the tree",
                    node,
                )
            for bit, child in zip("01", self.pairs[node], strict=True):
                code = prefix + bit
                if child < 0:
                    symbol = -1 - child
                    if symbol > maxSymbol:
                        raise HuffmanError(
                            f"pair {node} has a leaf for symbol {symbol:#x}, above "
                            f"the largest allowed {maxSymbol:#x}",
                            node,
                        )
                    codes.setdefault(symbol, code)
                elif child >= count:
                    raise HuffmanError(
                        f"pair {node} points to pair {child}, outside the "
                        f"{count} pairs of the tree",
                        node,
                    )
                elif child in seen:
                    raise HuffmanError(
                        f"pair {node} points to pair {child}, which is already "
                        f"in the tree (a cycle or a shared node)",
                        node,
                    )
                else:
                    seen.add(child)
                    stack.append((child, code))
        if TERMINATOR not in codes:
            raise HuffmanError("the tree has no leaf for the terminator (symbol 0)", root)
        self.codes = codes
        self._table: dict[str, tuple[str, int, bool]] = {}

    def encode(self, text: str) -> str:
        """
        The bits of C{text} followed by the terminator.  Every character of
        C{text} must have a code (the caller checks).
        """
        return (text + "\0").translate(self.codes)

    def _walk(self, bits: str) -> tuple[str, int, bool]:
        """
        Decode as many whole symbols as C{bits} holds, starting at the root.

        @return: the characters decoded, the number of bits they used, and
            whether the terminator ended them.
        """
        pairs = self.pairs
        node = self.root
        out: list[str] = []
        used = 0
        for position, bit in enumerate(bits, 1):
            child = pairs[node][bit == "1"]
            if child >= 0:
                node = child
                continue
            used = position
            symbol = -1 - child
            if symbol == TERMINATOR:
                return "".join(out), used, True
            out.append(chr(symbol))
            node = self.root
        return "".join(out), used, False

    def decode(self, bits: str, start: int, end: int, maxLength: int) -> tuple[str, int]:
        """
        Decode one string starting at bit C{start}.

        Each step costs at most L{MAX_CODE_LENGTH} bits' work, so decoding
        costs time in proportion to the bits it reads.

        @param bits: the whole bit stream (see L{bitString}).
        @param end: the first bit past the usable stream.
        @param maxLength: the most characters the string may have.
        @return: the string and the bit after its terminator.
        @raise HuffmanError: if the stream ends before the terminator
            (position: C{end}) or the string is longer than C{maxLength}
            (position: C{start}).
        """
        table = self._table
        width = _LOOKUP_BITS
        out: list[str] = []
        length = 0
        position = start
        while True:
            if position + width <= end:
                key = bits[position : position + width]
                entry = table.get(key)
                if entry is None:
                    entry = table[key] = self._walk(key)
                text, used, done = entry
            else:
                text, used, done = "", 0, False
            if not used:
                # A code longer than the lookup width, or near the end of
                # the stream: one symbol at a time.
                text, used, done = self._walk(self._first(bits, position, end, start))
            out.append(text)
            length += len(text)
            if length > maxLength:
                raise HuffmanError(
                    f"the string starting at bit {start} is longer than "
                    f"{maxLength} characters",
                    start,
                )
            position += used
            if done:
                return "".join(out), position

    def _first(self, bits: str, position: int, end: int, start: int) -> str:
        """
        The bits of the one code that starts at C{position}.

        @raise HuffmanError: if the stream ends inside the code.
        """
        pairs = self.pairs
        node = self.root
        for index in range(position, end):
            child = pairs[node][bits[index] == "1"]
            if child < 0:
                return bits[position : index + 1]
            node = child
        raise HuffmanError(
            f"the string starting at bit {start} runs past the end of the "
            f"data (bit {end}) without a terminator",
            end,
        )
