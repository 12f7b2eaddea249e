"""Image headers, read the way the file service does (no third-party imaging library), and tiny
PNG files for generated images.

The upload check compares what a client *says* about an image (``width``/``height`` in the
``multimodal_text`` part) with what the bytes it uploaded say, so the dimensions are taken from
the file's own header: PNG ``IHDR``, GIF logical screen, JPEG ``SOFn``, WebP ``VP8 ``/``VP8L``/``VP8X``.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

__all__ = ["ImageInfo", "image_info", "png_bytes"]


@dataclass(frozen=True)
class ImageInfo:
    """What an image file's header says: its MIME type and pixel size."""

    mime_type: str
    width: int
    height: int


def _png(data: bytes) -> ImageInfo | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return ImageInfo("image/png", width, height)


def _gif(data: bytes) -> ImageInfo | None:
    if len(data) < 10:
        return None
    width, height = struct.unpack("<HH", data[6:10])
    return ImageInfo("image/gif", width, height)


# SOF markers carry the frame size; C4 (DHT), C8 (JPG extension) and CC (DAC) share the range but don't.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg(data: bytes) -> ImageInfo | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _SOF:
            if i + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return ImageInfo("image/jpeg", width, height)
        if marker == 0xDA or length < 2:  # start of scan before any frame header: not an image we read
            return None
        i += 2 + length
    return None


def _webp(data: bytes) -> ImageInfo | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return ImageInfo("image/webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return ImageInfo("image/webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return ImageInfo("image/webp", width, height)
    return None


def image_info(data: bytes) -> ImageInfo | None:
    """The type and size of a PNG, GIF, JPEG or WebP file, or ``None`` for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png(data)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _gif(data)
    if data.startswith(b"\xff\xd8"):
        return _jpeg(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    return None


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bytes(width: int, height: int, rgb: tuple[int, int, int] = (16, 163, 127)) -> bytes:
    """A valid solid-colour RGB PNG of the given size (the emulator's "generated image")."""
    row = b"\x00" + bytes(rgb) * width  # filter byte 0, then the pixels
    pixels = zlib.compress(row * height, 9)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")
