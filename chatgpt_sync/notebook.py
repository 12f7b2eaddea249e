"""Answers in Jupyter: a live Markdown view for streams, and inline audio and images.

``stream.display()`` (on what ``create_completion`` or ``client.chat.completions.create(stream=True)``
returns) uses :func:`show_stream`. :class:`Audio` plays bytes inline (``OpenaiChat.synthesize``);
:class:`Image` shows bytes, a URL or an ``ImageResponse``.

IPython is imported only when a notebook kernel is already running it: importing this module, or
``chatgpt_sync``, never does. There is no asyncio here: the view is updated from the loop that reads
the stream, so it works under Jupyter's running event loop.
"""

from __future__ import annotations

import base64
import importlib
import sys
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, TextIO, TypeVar, Union

from ._render import answer_markdown, answer_plain
from ._transcript import Transcript
from .errors import InvalidRequestError
from .types import ImageResponse

__all__ = ["show_stream", "in_notebook", "Audio", "Image", "Transcript"]

T = TypeVar("T")


def in_notebook() -> bool:
    """Whether code runs in a Jupyter kernel (not terminal IPython, not a plain interpreter)."""
    ipython = sys.modules.get("IPython")  # never imported here: a notebook kernel has it loaded
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def show_stream(pieces: Iterator[T], transcript: Transcript, feed: Callable[[Transcript, T], None],
                close: Callable[[], None], interval: float = 0.1) -> str:
    """Read ``pieces`` to the end, feeding ``transcript`` and showing it; return the answer text.

    ``close`` runs however the loop ends (end, error, KeyboardInterrupt), so the connection is
    released at once; the transcript keeps what arrived and how it ended."""
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0:
        raise InvalidRequestError(f"interval must be a number of seconds >= 0, not {interval!r}")
    view: Union[_NotebookView, _PrintView] = (
        _NotebookView(transcript, float(interval)) if in_notebook() else _PrintView(sys.stdout))
    failed = True
    try:
        for piece in pieces:
            feed(transcript, piece)
            view.update(transcript)
        failed = False
    except BaseException as exc:
        transcript.stop(exc)
        raise
    finally:
        close()
        if not failed:
            transcript.stop(None)
        try:
            view.finish(transcript)
        except Exception:
            if not failed:
                raise
            # Showing the end must never hide the error (or the interrupt) that ended the stream.
    return transcript.text


class _NotebookView:
    """One display (``display_id``) updated in place: at most every ``interval`` seconds while
    the stream runs, and always once at the end with the final state."""

    def __init__(self, transcript: Transcript, interval: float) -> None:
        # Looked up at run time: IPython is optional and untyped, and only a kernel gets here.
        display: Any = getattr(importlib.import_module("IPython.display"), "display")
        self._interval = interval
        self._handle = display(_bundle(transcript, live=True), raw=True, display_id=True)
        self._last = time.monotonic()

    def update(self, transcript: Transcript) -> None:
        # A fast stream sends hundreds of pieces a second; every update re-sends the whole answer
        # to the front-end, so updates are spaced out and the pieces in between wait for the next
        # one (no timer thread: while the server is silent, the last interval's pieces wait too).
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._handle.update(_bundle(transcript, live=True), raw=True)
            self._last = now

    def finish(self, transcript: Transcript) -> None:
        self._handle.update(_bundle(transcript, live=False), raw=True)


def _bundle(transcript: Transcript, live: bool) -> Dict[str, str]:
    return {"text/markdown": answer_markdown(transcript, live=live), "text/plain": answer_plain(transcript)}


class _PrintView:
    """Outside a notebook: the text (and any refusal) printed as it arrives, the rest at the end."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._parts = 0
        self._refusal = 0

    def update(self, transcript: Transcript) -> None:
        parts, refusal = transcript.parts, transcript.refusal
        if len(parts) == self._parts and len(refusal) == self._refusal:
            return
        new = "".join(parts[self._parts:])
        if len(refusal) > self._refusal:
            if not self._refusal:
                new += ("\n" if self._parts or new else "") + "Refused: "
            new += "".join(refusal[self._refusal:])
        self._parts, self._refusal = len(parts), len(refusal)
        self._out.write(new)
        self._out.flush()

    def finish(self, transcript: Transcript) -> None:
        self.update(transcript)
        lines: List[str] = []
        for call in transcript.tool_calls:
            function = call.get("function") or {}
            lines.append(f"[tool call] {function.get('name')}({function.get('arguments') or ''})")
        lines.extend(f"[image] {url if len(url) < 200 else url[:60] + '...'}"
                     for image in transcript.images for url in image.urls)
        if transcript.state == "interrupted":
            lines.append("[interrupted]")
        printed = bool(self._parts or self._refusal)
        self._out.write(("\n" if printed else "") + "".join(line + "\n" for line in lines))
        self._out.flush()


# ---------------------------------------------------------------------------------- media
_AUDIO_TYPES = {"aac": "audio/aac", "mp3": "audio/mpeg", "opus": "audio/ogg", "ogg": "audio/ogg",
                "wav": "audio/wav", "flac": "audio/flac", "webm": "audio/webm", "m4a": "audio/mp4"}
_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
                (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))


def _bytes_of(data: Union[bytes, bytearray, memoryview, Iterable[bytes]]) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    chunks = iter(data)
    try:
        return b"".join(chunks)
    finally:
        closing = getattr(chunks, "close", None)  # a streamed body: release its connection now
        if closing is not None:
            closing()


class Audio:
    """Audio played inline: ``Audio(provider.synthesize(conversation_id, message_id))``.

    ``data`` is bytes or an iterator of byte chunks (read to the end here); ``format`` one of aac,
    mp3, opus, ogg, wav, flac, webm, m4a. Shows as an ``<audio>`` element with a ``data:`` URL."""

    def __init__(self, data: Union[bytes, bytearray, memoryview, Iterable[bytes]], format: str = "aac",
                 *, autoplay: bool = False) -> None:
        if format not in _AUDIO_TYPES:
            raise InvalidRequestError(f"format must be one of {', '.join(sorted(_AUDIO_TYPES))}, not {format!r}")
        self.data = _bytes_of(data)
        self.format = format
        self.autoplay = autoplay

    @property
    def mime_type(self) -> str:
        return _AUDIO_TYPES[self.format]

    def _repr_html_(self) -> str:
        encoded = base64.b64encode(self.data).decode("ascii")
        autoplay = " autoplay" if self.autoplay else ""
        return f'<audio controls{autoplay} src="data:{self.mime_type};base64,{encoded}"></audio>'

    def __repr__(self) -> str:
        return f"Audio({len(self.data)} bytes, format={self.format!r})"


class Image:
    """An image shown inline: bytes (PNG, JPEG, GIF, WebP), a ``data:`` or http(s) URL, or an
    :class:`~chatgpt_sync.ImageResponse` (all of its images)."""

    def __init__(self, source: Union[bytes, bytearray, memoryview, str, ImageResponse],
                 alt: Optional[str] = None) -> None:
        self.data: Optional[bytes] = None
        if isinstance(source, ImageResponse):
            self.urls, self.alt = list(source.urls), alt or source.alt
            return
        self.alt = alt
        if isinstance(source, str):
            self.urls = [source]
            if source.startswith("data:image/") and ";base64," in source[:40]:
                self.data = base64.b64decode(source.split(",", 1)[1])
            return
        if not isinstance(source, (bytes, bytearray, memoryview)):
            raise InvalidRequestError(f"Image takes bytes, a URL or an ImageResponse, not {type(source).__name__}")
        self.data = bytes(source)
        mime = _image_type(self.data)
        self.urls = [f"data:{mime};base64,{base64.b64encode(self.data).decode('ascii')}"]

    def _repr_html_(self) -> str:
        return ImageResponse(self.urls, self.alt)._repr_html_()

    def _repr_png_(self) -> Optional[bytes]:
        # For front-ends and converters that take images but not HTML.
        return self.data if self.data is not None and self.data.startswith(_IMAGE_MAGIC[0][0]) else None

    def __repr__(self) -> str:
        return f"Image({len(self.urls)} image(s), alt={self.alt!r})"


def _image_type(data: bytes) -> str:
    for magic, mime in _IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise InvalidRequestError("these bytes are not a PNG, JPEG, GIF or WebP image")
