# -*- test-case-name: tests.test_client_window -*-
"""
Screenshots of an X display (Xvfb in the tests) as PNG, with nothing but
the standard library and Xlib (C{libX11}, which Tk itself uses): the
pixels come from C{XGetImage} through C{ctypes}; L{encodePNG} writes
them with C{zlib}.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
import zlib

__all__ = ["ScreenshotError", "connect", "encodePNG", "grab"]

_ALL_PLANES = 0xFFFFFFFFFFFFFFFF
_Z_PIXMAP = 2


class ScreenshotError(Exception):
    """
    The display could not be read.
    """


class _XImage(ctypes.Structure):
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("xoffset", ctypes.c_int),
        ("format", ctypes.c_int),
        ("data", ctypes.POINTER(ctypes.c_ubyte)),
        ("byte_order", ctypes.c_int),
        ("bitmap_unit", ctypes.c_int),
        ("bitmap_bit_order", ctypes.c_int),
        ("bitmap_pad", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("bytes_per_line", ctypes.c_int),
        ("bits_per_pixel", ctypes.c_int),
        ("red_mask", ctypes.c_ulong),
        ("green_mask", ctypes.c_ulong),
        ("blue_mask", ctypes.c_ulong),
    ]


def _xlib() -> ctypes.CDLL:
    name = ctypes.util.find_library("X11") or "libX11.so.6"
    try:
        lib = ctypes.CDLL(name)
    except OSError as e:
        raise ScreenshotError(f"cannot load Xlib ({name}): {e}") from None
    lib.XOpenDisplay.restype = ctypes.c_void_p
    lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    lib.XDefaultRootWindow.restype = ctypes.c_ulong
    lib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    lib.XGetImage.restype = ctypes.POINTER(_XImage)
    lib.XGetImage.argtypes = [
        ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int,
        ctypes.c_uint, ctypes.c_uint, ctypes.c_ulong, ctypes.c_int,
    ]
    lib.XFree.argtypes = [ctypes.c_void_p]
    lib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    return lib


def connect(display: str) -> int:
    """
    Open a connection to the X display C{display} and keep it (until the
    process ends): an Xvfb started with C{-terminate} then lives as long
    as this process.

    @return: the connection (an Xlib C{Display *}).
    @raise ScreenshotError: if the display cannot be opened.
    """
    connection = _xlib().XOpenDisplay(display.encode())
    if not connection:
        raise ScreenshotError(f"cannot open the X display {display}")
    return int(connection)


def _shift(mask: int) -> int:
    return (mask & -mask).bit_length() - 1


def grab(display: str, x: int, y: int, width: int, height: int) -> bytes:
    """
    The rectangle of the X display C{display}'s root window as PNG bytes.

    @raise ScreenshotError: if the display cannot be opened or read, or
        its pixels are not 24/32-bit true colour.
    """
    lib = _xlib()
    connection = lib.XOpenDisplay(display.encode())
    if not connection:
        raise ScreenshotError(f"cannot open the X display {display}")
    try:
        root = lib.XDefaultRootWindow(connection)
        pointer = lib.XGetImage(connection, root, x, y, width, height, _ALL_PLANES, _Z_PIXMAP)
        if not pointer:
            raise ScreenshotError(f"XGetImage failed for {width}x{height}+{x}+{y}")
        image = pointer.contents
        try:
            if image.bits_per_pixel != 32:
                raise ScreenshotError(f"{image.bits_per_pixel} bits per pixel is not supported")
            size = image.bytes_per_line * image.height
            raw = ctypes.string_at(image.data, size)
            shifts = [_shift(image.red_mask), _shift(image.green_mask), _shift(image.blue_mask)]
            if any(shift % 8 for shift in shifts):
                raise ScreenshotError("colour masks are not byte-aligned")
            # Each colour is one byte of each 32-bit pixel.
            offsets = [shift // 8 if image.byte_order == 0 else 3 - shift // 8 for shift in shifts]
            rows = []
            for row in range(image.height):
                start = row * image.bytes_per_line
                pixels = raw[start:start + 4 * image.width]
                rgb = bytearray(3 * image.width)
                for colour, offset in enumerate(offsets):
                    rgb[colour::3] = pixels[offset::4]
                rows.append(bytes(rgb))
        finally:
            lib.XFree(image.data)
            lib.XFree(pointer)
    finally:
        lib.XCloseDisplay(connection)
    return encodePNG(width, height, rows)


def encodePNG(width: int, height: int, rows: list[bytes]) -> bytes:
    """
    An 8-bit RGB PNG of C{rows} (each C{3 * width} bytes).
    """
    if len(rows) != height or any(len(row) != 3 * width for row in rows):
        raise ValueError("rows do not match the size")

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = b"".join(b"\x00" + row for row in rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels, 9))
        + chunk(b"IEND", b"")
    )
