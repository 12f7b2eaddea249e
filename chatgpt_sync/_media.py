"""Turning the user's media (paths, bytes, URLs) into OpenAI ``image_url`` content parts."""

from __future__ import annotations

import base64
import mimetypes
import os
from pathlib import Path
from typing import Any, Iterable

from .errors import InvalidRequestError

__all__ = ["media_parts", "to_image_url", "sniff_mime"]

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"%PDF", "application/pdf"),
)


def sniff_mime(data: bytes, name: str | None = None) -> str:
    """The MIME type of ``data`` from its magic number, else from ``name``'s extension."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if name:
        guessed = mimetypes.guess_type(name)[0]
        if guessed:
            return guessed
    return "application/octet-stream"


def to_image_url(item: Any) -> str:
    """A URL for one media item: http(s)/data URLs as given; bytes and local files as data URLs."""
    name: str | None = None
    if isinstance(item, tuple) and len(item) == 2:
        item, name = item
    if isinstance(item, str) and item.startswith(("http://", "https://", "data:")):
        return item
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidRequestError(f"media item {str(item)!r} is not a URL and cannot be read as a file: {exc}") from exc
        name = name or path.name
    elif isinstance(item, (bytes, bytearray, memoryview)):
        data = bytes(item)
    else:
        raise InvalidRequestError(
            f"media items must be paths, bytes, or http(s)/data URLs (optionally (item, name) tuples), "
            f"not {type(item).__name__}")
    mime = sniff_mime(data, name)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def media_parts(media: Iterable[Any] | None) -> list[dict[str, Any]]:
    """``image_url`` content parts for a list of media items."""
    if media is None:
        return []
    if isinstance(media, (str, bytes, tuple, os.PathLike)):
        media = [media]
    return [{"type": "image_url", "image_url": {"url": to_image_url(item)}} for item in media]
