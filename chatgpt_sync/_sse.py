"""The package's one Server-Sent Events decoder: bytes in, events out (DESIGN.md rule 1).

Follows the WHATWG event-stream interpretation
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
CR, LF and CRLF line ends (also a CRLF split across two chunks), ``:`` comments, multi-line
``data``, ``event``/``id``/``retry`` fields, one leading BOM, and UTF-8 with invalid bytes replaced
by U+FFFD. Chunks may be split anywhere, even inside a multibyte character.

Two deliberate deviations:

- At end of stream, an event that has data lines but never got its terminating blank line is
  dispatched instead of discarded, so servers that forget the final blank line do not lose their
  last event.
- A line whose field name is ``error`` is not ignored (the spec ignores unknown fields): it ends
  the event in progress as a blank line would, then is dispatched as an event of its own with
  ``event="error"`` and the line's value as ``data``. Old llama.cpp servers (up to about b5000,
  Feb 2025) wrote errors that way, ``error: {"code":400,"message":...}`` and then ``data: [DONE]``
  (ggerganov/llama.cpp@c392e50 examples/server/server.cpp:3911, utils.hpp:487 server_sent_event);
  a decoder following the spec to the letter drops the error and the stream looks like a clean,
  short success. Ending the pending event first keeps the events in wire order.

No I/O and no domain knowledge; it imports nothing from the package.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, cast

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # a frozen dataclass made without exec (import time): see chatgpt_sync._frozen
    from ._frozen import frozen_dataclass as dataclass

__all__ = ["ServerSentEvent", "SSEDecoder", "iter_sse", "event_batches"]

_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event."""

    data: str
    """The event's data lines joined with ``"\\n"``."""
    event: str = "message"
    """The ``event:`` field; ``"message"`` when absent or empty."""
    id: str | None = None
    """The last event ID at dispatch time (it persists across events); None if never set."""
    retry: int | None = None
    """This event's ``retry:`` field in milliseconds, if it had a valid one."""

    def __init__(self, data: str, event: str = "message", id: str | None = None, retry: int | None = None) -> None:
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "event", event)
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "retry", retry)

    def json(self) -> Any:
        """Parse ``data`` as JSON."""
        return json.loads(self.data)


# A frozen dataclass's __init__ sets each field through object.__setattr__, which is about half the
# decoder's per-event cost. The hot path sets the slots directly instead (same result, checked by
# the tests): allocate, then write the four slot descriptors.
_new = object.__new__
_SlotSetter = Callable[[ServerSentEvent, Any], None]
_set_data, _set_event, _set_id, _set_retry = (
    cast(_SlotSetter, vars(ServerSentEvent)[name].__set__) for name in ("data", "event", "id", "retry"))


def _make_event(data: str, event: str, id: str | None, retry: int | None) -> ServerSentEvent:
    ev: ServerSentEvent = _new(ServerSentEvent)
    _set_data(ev, data)
    _set_event(ev, event)
    _set_id(ev, id)
    _set_retry(ev, retry)
    return ev


class SSEDecoder:
    """Incremental decoder: ``feed`` chunks as they arrive, ``flush`` at end of stream.

    Not thread-safe; use one decoder per stream. After ``flush`` the decoder is ready for a new
    stream and keeps only the last event ID, as the spec keeps it across reconnections.
    """

    __slots__ = ("_pending", "_skip_lf", "_started", "_data", "_event", "_id", "_retry", "_idle")

    def __init__(self) -> None:
        # Bytes of the current, still unterminated line (never contains CR or LF). A list rather
        # than one growing bytes object so a long line fed in tiny chunks stays linear.
        self._pending: list[bytes] = []
        # The previous chunk ended with CR: an LF starting the next chunk ends the same line.
        self._skip_lf = False
        # Whether the stream's first line was decoded (the BOM is stripped from it only).
        self._started = False
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        # True when nothing is carried over between chunks (no partial line, no partial event,
        # BOM already handled), so a chunk holding exactly one plain data event can skip the
        # general path.
        self._idle = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode one chunk; return the events it completes (often none or one)."""
        # Fast path for the typical chunk, b"data: <payload>\n\n", arriving between events.
        # (An int needle skips the buffer setup a bytes needle costs on every call.)
        if (self._idle and chunk.find(10) == len(chunk) - 2 and chunk[-1] == 10
                and 13 not in chunk and chunk.startswith(b"data: ")):
            return [_make_event(chunk[6:-2].decode("utf-8", "replace"), "message", self._id, None)]

        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == 10:
                chunk = chunk[1:]
        if 13 in chunk:
            # Normalise to LF. A trailing CR already ends its line; remember it so an LF at the
            # start of the next chunk is not taken for a second, empty line.
            if chunk[-1] == 13:
                self._skip_lf = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = chunk.rfind(10)
        if end < 0:
            if chunk:
                self._pending.append(chunk)
                self._idle = False
            return []
        # Decode only whole lines: CR and LF never occur inside a UTF-8 multibyte sequence, so a
        # character split across chunks always sits in the unterminated tail kept for later.
        if self._pending:
            self._pending.append(chunk[:end])
            block = b"".join(self._pending)
            self._pending = []
        else:
            block = chunk[:end]
        if end + 1 < len(chunk):
            self._pending.append(chunk[end + 1:])
        events = self._lines(self._decode(block).split("\n"))
        self._idle = not (self._pending or self._skip_lf or self._data or self._event
                          or self._retry is not None)
        return events

    def flush(self) -> list[ServerSentEvent]:
        """End the stream: take the unterminated last line, dispatch any event still pending."""
        lines: list[str] = []
        if self._pending:
            lines.append(self._decode(b"".join(self._pending)))
            self._pending = []
        lines.append("")  # the blank line the server may have left out
        events = self._lines(lines)
        self._skip_lf = False
        self._started = False
        self._idle = False
        return events

    def _decode(self, block: bytes) -> str:
        text = block.decode("utf-8", "replace")
        if not self._started:
            self._started = True
            if text.startswith(_BOM):
                text = text[1:]
        return text

    def _lines(self, lines: list[str]) -> list[ServerSentEvent]:
        """Interpret complete lines; return the events dispatched by blank lines among them."""
        events: list[ServerSentEvent] = []
        data = self._data
        for line in lines:
            if line.startswith("data: "):  # the common case first
                data.append(line[6:])
                continue
            if not line:
                if data:
                    events.append(_make_event(
                        "\n".join(data), self._event or "message", self._id, self._retry))
                    data = self._data = []
                self._event = ""
                self._retry = None
                continue
            name, _, value = line.partition(":")
            if not name:
                continue  # a comment
            if value.startswith(" "):
                value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id":
                if "\0" not in value:
                    self._id = value
            elif name == "retry":
                if value.isascii() and value.isdigit():
                    # Ignore absurd delays (over 18 significant digits, ~30 million years) so
                    # int() never hits Python's digit limit, whatever that is set to.
                    digits = value.lstrip("0")
                    if len(digits) <= 18:
                        self._retry = int(digits or "0")
            elif name == "error":
                # The documented deviation (old llama.cpp's ``error:`` lines, see the module
                # docstring): end the pending event as a blank line would, then dispatch this one.
                if data:
                    events.append(_make_event(
                        "\n".join(data), self._event or "message", self._id, self._retry))
                    data = self._data = []
                self._event = ""
                self._retry = None
                events.append(_make_event(value, "error", self._id, None))
            # Any other field is ignored, as the spec says.
        return events


def iter_sse(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Decode an iterable of byte chunks into events, flushing at its end."""
    decoder = SSEDecoder()
    feed = decoder.feed
    for chunk in chunks:
        events = feed(chunk)
        if events:
            yield from events
    yield from decoder.flush()


def event_batches(chunks: Iterable[bytes]) -> Iterator[list[ServerSentEvent]]:
    """The events of each chunk as one list, then what :meth:`SSEDecoder.flush` finds at the end.

    One generator step per chunk instead of one per event: the cheaper shape for hot loops.
    """
    decoder = SSEDecoder()
    feed = decoder.feed
    for chunk in chunks:
        yield feed(chunk)
    yield decoder.flush()
