"""Files on the chatgpt.com account backend: uploads, image dimensions, generated-image downloads.

An upload is three requests (protocols.md §1.2.10): ``POST /backend-api/files`` names the file and
gets an ``upload_url`` (a blob store, usually another host), the bytes are ``PUT`` there, and
``POST /backend-api/files/{file_id}/uploaded`` marks it done. The PUT carries no access token and
no cookies: the upload URL is signed on its own, and it is not the service (DESIGN.md rule 7).

Images become ``multimodal_text`` parts with their ``asset_pointer``, ``width`` and ``height`` (read
from the image header here, no Pillow needed); other files are attachments only. Generated images
come back as asset pointers (``file-service://file-...``, ``sediment://file_...``), turned into
download URLs through the backend's download endpoints.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import struct
import urllib.parse
from pathlib import Path
from typing import Any, ContextManager, Iterable, Mapping, MutableMapping, NamedTuple

from ..._media import sniff_mime
from ..._urls import join_url
from ...errors import InvalidRequestError, ResponseError
from ...types import ImageResponse, Timeout
from .session import WebSession
from .images import download_path, parse_pointer

__all__ = ["MediaFile", "Uploaded", "read_media", "fetch_media", "image_size", "content_hash", "upload_file",
           "upload_media", "attach_uploads", "download_url", "resolve_image"]

FILES_PATH = "/backend-api/files"
# The blob store's protocol (Azure block blobs): what the website sends with the PUT.
BLOB_HEADERS = {"x-ms-blob-type": "BlockBlob", "x-ms-version": "2020-04-08",
                "accept": "application/json, text/plain, */*", "sec-fetch-dest": "empty",
                "sec-fetch-mode": "cors", "sec-fetch-site": "cross-site"}
_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
               "image/bmp": ".bmp", "application/pdf": ".pdf"}


class MediaFile(NamedTuple):
    """One file to upload: its bytes (or, for an http(s) URL, where to fetch them) and name."""

    name: str | None
    data: bytes | None
    url: str | None = None


class Uploaded(NamedTuple):
    """A file the backend holds: what a message needs to reference it."""

    file_id: str
    name: str
    mime: str
    size: int
    width: int | None
    height: int | None

    @property
    def is_image(self) -> bool:
        return self.width is not None and self.height is not None

    @property
    def asset_pointer(self) -> str:
        return f"file-service://{self.file_id}"


# ------------------------------------------------------------------------------------ reading media

def _one_media(item: Any, where: str) -> MediaFile:
    name: str | None = None
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], (str, type(None))):
        item, name = item
    if isinstance(item, str) and item.startswith("data:"):
        header, comma, payload = item.partition(",")
        if not comma:
            raise InvalidRequestError(f"{where} is a data URL without a comma")
        try:
            data = (base64.b64decode(payload, validate=False) if header.endswith(";base64")
                    else urllib.parse.unquote_to_bytes(payload))
        except (binascii.Error, ValueError) as exc:
            raise InvalidRequestError(f"{where} is a data URL that does not decode: {exc}") from exc
        return MediaFile(name, data)
    if isinstance(item, str) and item.startswith(("http://", "https://")):
        return MediaFile(name or _url_name(item), None, item)
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidRequestError(
                f"{where} {str(item)!r} is not a URL and cannot be read as a file: {exc}") from exc
        return MediaFile(name or path.name, data)
    if isinstance(item, (bytes, bytearray, memoryview)):
        return MediaFile(name, bytes(item))
    raise InvalidRequestError(
        f"{where} must be a path, bytes, or an http(s)/data URL (optionally an (item, name) tuple), "
        f"not {type(item).__name__}")


def _url_name(url: str) -> str | None:
    tail = urllib.parse.urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return urllib.parse.unquote(tail) or None


def read_media(media: Any, messages: Iterable[Mapping[str, Any]] = ()) -> list[MediaFile]:
    """The files to upload, read now (bad input fails before any request): the ``media=`` items, then
    the ``image_url`` parts of ``messages`` (the new messages of this turn)."""
    items: list[tuple[Any, str]] = []
    if media is not None:
        if isinstance(media, (str, bytes, bytearray, tuple, os.PathLike)):
            media = [media]
        if not isinstance(media, (list, Iterable)):
            raise InvalidRequestError("media= must be a list of paths, bytes or URLs")
        items += [(item, f"media[{i}]") for i, item in enumerate(media)]
    for i, message in enumerate(messages):
        content = message.get("content")
        for j, part in enumerate(content if isinstance(content, list) else []):
            if isinstance(part, Mapping) and part.get("type") == "image_url":
                url = part["image_url"]["url"]
                items.append((url, f"messages[{i}].content[{j}].image_url.url"))
    return [_one_media(item, where) for item, where in items]


def fetch_media(session: WebSession, url: str, *, timeout: Timeout, max_retries: int) -> bytes:
    """The bytes of a media item given as an http(s) URL: a plain GET, without the account's
    credentials (the URL is someone else's host)."""
    headers = {**session.profile.client_hints(), "accept": "*/*"}
    response = session.core.open("GET", url, headers=headers, timeout=timeout, max_retries=max_retries,
                                 expect="json", where=url)
    try:
        return response.read()
    finally:
        response.close()


# ------------------------------------------------------------------------------- image dimensions

def image_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from a PNG, JPEG, GIF or WEBP header; None for anything else."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return int(width), int(height)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack("<HH", data[6:10])
            return int(width), int(height)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data[:3] == b"\xff\xd8\xff":
            return _jpeg_size(data)
    except struct.error:
        return None  # a truncated header
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # lossy: a key frame's start code
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20:21] == b"\x2f":  # lossless: 14-bit (size - 1) fields
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: 24-bit (size - 1) fields
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD9)):  # standalone markers: no length
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return int(width), int(height)
        if marker == 0xDA:  # start of scan: the frame header should have come before
            return None
        i += 2 + length
    return None


# ---------------------------------------------------------------------------------------- uploads

def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload_file(session: WebSession, data: bytes, name: str | None, *, timeout: Timeout,
                max_retries: int) -> Uploaded:
    """Create the file, PUT its bytes to the upload URL (without credentials), mark it uploaded."""
    mime = sniff_mime(data, name)
    size = image_size(data) if mime.startswith("image/") else None
    name = name or f"file-{len(data)}{_EXTENSIONS.get(mime, '')}"
    where = join_url(session.base_url, FILES_PATH)
    created = session.core.request_json(
        "POST", where, headers=session.headers(), timeout=timeout, max_retries=max_retries, where=where,
        body=json.dumps({"file_name": name, "file_size": len(data),
                         "use_case": "multimodal" if size else "my_files"}).encode())
    file_id = created.get("file_id") if isinstance(created, dict) else None
    upload_url = created.get("upload_url") if isinstance(created, dict) else None
    if not isinstance(file_id, str) or not file_id or not isinstance(upload_url, str) \
            or not upload_url.startswith(("http://", "https://")):
        raise ResponseError(f"{where} did not give a file id and an upload URL: {str(created)[:200]!r}",
                            body=created)
    # Only what a browser sends cross-site: the user agent and its hints, never the account's secrets.
    headers = {**session.profile.client_hints(), **BLOB_HEADERS, "content-type": mime,
               "origin": session.base_url}
    response = session.core.open("PUT", upload_url, headers=headers, body=data, timeout=timeout,
                                 max_retries=max_retries, expect="json", where="the upload URL")
    try:
        response.read()
    finally:
        response.close()
    done_url = join_url(session.base_url, f"{FILES_PATH}/{urllib.parse.quote(file_id)}/uploaded")
    session.core.request_json("POST", done_url, headers=session.headers(), body=b"{}", timeout=timeout,
                              max_retries=max_retries, where=done_url)
    return Uploaded(file_id, name, mime, len(data), *(size or (None, None)))


def upload_media(session: WebSession, media: list[MediaFile], cache: MutableMapping[tuple[str, str], Uploaded],
                 lock: ContextManager[Any], owner: str, *, timeout: Timeout, max_retries: int) -> list[Uploaded]:
    """Upload each file once: ``cache`` (the caller's, guarded by ``lock``) maps ``(owner, content
    hash)`` to what the backend already holds, so the same bytes are not sent twice."""
    done = []
    for item in media:
        data = item.data if item.data is not None else fetch_media(
            session, str(item.url), timeout=timeout, max_retries=max_retries)
        key = (owner, content_hash(data))
        with lock:
            uploaded = cache.get(key)
        if uploaded is None:
            uploaded = upload_file(session, data, item.name, timeout=timeout, max_retries=max_retries)
            with lock:
                cache[key] = uploaded
        done.append(uploaded)
    return done


def attach_uploads(message: dict[str, Any], uploads: list[Uploaded]) -> dict[str, Any]:
    """``message`` (a web message object) referencing the uploads: images as ``multimodal_text``
    parts before the text, every file in ``metadata.attachments`` (the other metadata is kept)."""
    if not uploads:
        return message
    text_parts = message["content"]["parts"]
    image_parts: list[Any] = [
        {"content_type": "image_asset_pointer", "asset_pointer": up.asset_pointer, "size_bytes": up.size,
         "width": up.width, "height": up.height}
        for up in uploads if up.is_image]
    if image_parts:
        message["content"] = {"content_type": "multimodal_text", "parts": [*image_parts, *text_parts]}
    attachments = []
    for up in uploads:
        entry: dict[str, Any] = {"id": up.file_id, "mimeType": up.mime, "name": up.name, "size": up.size}
        if up.is_image:
            entry.update(width=up.width, height=up.height)
        attachments.append(entry)
    message["metadata"] = {**message.get("metadata", {}), "attachments": attachments}
    return message


# ------------------------------------------------------------------------------ generated images

def download_url(session: WebSession, pointer: str, conversation_id: str | None, *, timeout: Timeout,
                 max_retries: int) -> str:
    """The download URL of a generated image's asset pointer, from the backend's download endpoint
    (``file-service://`` through ``/backend-api/files/<id>/download``, ``sediment://`` through the
    conversation's attachment endpoint)."""
    path = download_path(pointer, conversation_id)
    if path is None:
        raise ResponseError(f"cannot resolve the image pointer {pointer[:80]!r}"
                            + ("" if conversation_id else " without its conversation id"))
    where = join_url(session.base_url, path)
    data = session.core.request_json("GET", where, headers=session.headers(), timeout=timeout,
                                     max_retries=max_retries, where=where)
    url = data.get("download_url") if isinstance(data, dict) else None
    if not isinstance(url, str) or not url:
        raise ResponseError(f"{where} gave no download_url for {pointer!r}: {str(data)[:200]!r}", body=data)
    return url


def resolve_image(session: WebSession, image: ImageResponse, conversation_id: str | None, seen: set[str],
                  alt: str | None, *, timeout: Timeout, max_retries: int) -> ImageResponse | None:
    """``image`` with its asset pointers turned into download URLs, each pointer once per ``seen``;
    None when every pointer was already delivered. ``alt`` stands in for a missing alt text."""
    urls = []
    for pointer in image.urls:
        if pointer in seen:
            continue
        seen.add(pointer)
        urls.append(download_url(session, pointer, conversation_id, timeout=timeout, max_retries=max_retries)
                    if parse_pointer(pointer) else pointer)
    return ImageResponse(urls, image.alt or alt, raw=image.raw) if urls else None
