"""Tests for the SSE decoder: a table of streams, each decoded under every chunking that matters."""

from __future__ import annotations

import dataclasses
import re
from typing import Iterable, List, Optional, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatgpt_sync._sse import ServerSentEvent, SSEDecoder, _make_event, iter_sse

# (event, data, id, retry)
Expected = Tuple[str, str, Optional[str], Optional[int]]

M = "message"

CASES: List[Tuple[str, bytes, List[Expected]]] = [
    ("empty stream", b"", []),
    ("lf", b"data: a\n\ndata: b\n\n", [(M, "a", None, None), (M, "b", None, None)]),
    ("cr", b"data: a\r\rdata: b\r\r", [(M, "a", None, None), (M, "b", None, None)]),
    ("crlf", b"data: a\r\n\r\ndata: b\r\n\r\n", [(M, "a", None, None), (M, "b", None, None)]),
    ("mixed line ends", b"data: a\r\ndata: b\rdata: c\n\r\n", [(M, "a\nb\nc", None, None)]),
    # LF then CR is two line ends; CR then CRLF is two; CRLF then LF is two.
    ("lf cr", b"data: a\n\rdata: b\n\n", [(M, "a", None, None), (M, "b", None, None)]),
    ("cr crlf", b"data: a\r\r\ndata: b\r\r\n", [(M, "a", None, None), (M, "b", None, None)]),
    ("crlf lf", b"data: a\r\n\ndata: b\r\n\n", [(M, "a", None, None), (M, "b", None, None)]),
    ("cr only blank lines", b"\r\r\r", []),
    ("comments", b": hello\ndata: a\n:another\n:\n\n", [(M, "a", None, None)]),
    ("comment only", b": ping\n\n: ping\n\n", []),
    ("multi-line data", b"data: a\ndata: b\ndata:c\n\n", [(M, "a\nb\nc", None, None)]),
    ("event type resets", b"event: add\ndata: 1\n\ndata: 2\n\n",
     [("add", "1", None, None), (M, "2", None, None)]),
    ("empty event type", b"event:\ndata: x\n\n", [(M, "x", None, None)]),
    ("last event type wins", b"event: a\nevent: b\ndata: x\n\n", [("b", "x", None, None)]),
    ("event without data is dropped", b"event: x\n\ndata: y\n\n", [(M, "y", None, None)]),
    ("id persists", b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
     [(M, "a", "1", None), (M, "b", "1", None), (M, "c", "", None)]),
    ("id without data still sets it", b"id: 7\n\ndata: a\n\n", [(M, "a", "7", None)]),
    ("id after data", b"data: a\nid: 9\n\n", [(M, "a", "9", None)]),
    ("id with nul ignored", b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
     [(M, "a", "1", None), (M, "b", "1", None)]),
    ("retry", b"retry: 1500\ndata: a\n\ndata: b\n\n", [(M, "a", None, 1500), (M, "b", None, None)]),
    ("retry leading zeros", b"retry: 0010\ndata: a\n\nretry:0\ndata: b\n\n",
     [(M, "a", None, 10), (M, "b", None, 0)]),
    ("invalid retry", b"retry: 15x\ndata: a\n\nretry: -1\ndata: b\n\nretry:\ndata: c\n\n"
     b"retry: 1.5\ndata: d\n\nretry: \xd9\xa3\ndata: e\n\nretry:  10\ndata: f\n\n",
     [(M, d, None, None) for d in "abcdef"]),
    ("invalid retry keeps valid one", b"retry: 10\nretry: x\ndata: a\n\n", [(M, "a", None, 10)]),
    ("huge retry ignored", b"retry: " + b"9" * 4301 + b"\ndata: a\n\n", [(M, "a", None, None)]),
    ("field without colon", b"data\n\ndata\ndata\n\n", [(M, "", None, None), (M, "\n", None, None)]),
    ("no space after colon", b"data:a\n\n", [(M, "a", None, None)]),
    ("only one space stripped", b"data:  a\n\n", [(M, " a", None, None)]),
    ("tab not stripped", b"data:\ta\n\n", [(M, "\ta", None, None)]),
    ("trailing spaces kept", b'data: {"a": 1}  \n\n', [(M, '{"a": 1}  ', None, None)]),
    ("colons in value", b"data: a:b: c\n\n", [(M, "a:b: c", None, None)]),
    ("bom stripped", b"\xef\xbb\xbfdata: a\n\n", [(M, "a", None, None)]),
    ("only one bom stripped", b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n", [(M, "b", None, None)]),
    ("bom later kept", b"data: a\n\n\xef\xbb\xbfdata: b\n\ndata: \xef\xbb\xbfc\n\n",
     [(M, "a", None, None), (M, "\ufeffc", None, None)]),
    ("empty data event", b"data:\n\ndata: \n\n", [(M, "", None, None), (M, "", None, None)]),
    ("blank lines only", b"\n\n\n", []),
    ("no final blank line", b"data: a", [(M, "a", None, None)]),
    ("no final blank line, lf", b"data: a\n", [(M, "a", None, None)]),
    ("no final blank line, cr", b"data: a\r", [(M, "a", None, None)]),
    ("no final blank line, several", b"data: a\n\ndata: b\ndata: c",
     [(M, "a", None, None), (M, "b\nc", None, None)]),
    ("no final blank line, fields", b"data: a\nevent: e\nid: 3\nretry: 5",
     [("e", "a", "3", 5)]),
    ("eof without data", b"data: a\n\nevent: x\nid: 1", [(M, "a", None, None)]),
    ("unknown fields ignored", b"foo: bar\nData: x\n data: y\ndata: a\nbaz\n\n", [(M, "a", None, None)]),
    ("invalid utf-8", b"data: a\xffb\n\ndata: \xe2\x82\n\n",
     [(M, "a\ufffdb", None, None), (M, "\ufffd", None, None)]),
    ("truncated utf-8 at eof", b"data: x\xf0\x9f", [(M, "x\ufffd", None, None)]),
    ("4-byte emoji", "data: 😀 ok 你好\n\nevent: é\ndata: 🎉\n\n".encode(),
     [(M, "😀 ok 你好", None, None), ("é", "🎉", None, None)]),
    ("nul in data kept", b"data: a\x00b\n\n", [(M, "a\x00b", None, None)]),
    # The documented deviation: an ``error:`` line is an event of its own (old llama.cpp, Q3:
    # ggerganov/llama.cpp@c392e50 examples/server/server.cpp:3911 then :3917 ev_done).
    ("error field (old llama.cpp)", b'error: {"code":400,"message":"too long"}\n\ndata: [DONE]\n\n',
     [("error", '{"code":400,"message":"too long"}', None, None), (M, "[DONE]", None, None)]),
    ("error field ends the pending event", b"event: e\nid: 4\nretry: 9\ndata: a\nerror: b\ndata: c\n\n",
     [("e", "a", "4", 9), ("error", "b", "4", None), (M, "c", "4", None)]),
    ("error field resets event and retry", b"event: e\nretry: 9\nerror: x\ndata: y\n\n",
     [("error", "x", None, None), (M, "y", None, None)]),
    ("error field without value", b"error\nerror:\nerror: \n\n",
     [("error", "", None, None), ("error", "", None, None), ("error", "", None, None)]),
    ("error field no space, crlf", b"error:x\r\n\r\nerror:  y\r\n",
     [("error", "x", None, None), ("error", " y", None, None)]),
    ("error field at eof without line end", b"data: a\nerror: x", [(M, "a", None, None), ("error", "x", None, None)]),
    ("error field name is exact", b"Error: x\nerrors: y\n error: z\nerror-x: w\ndata: a\n\n",
     [(M, "a", None, None)]),
    ("event named error is standard", b"event: error\ndata: {\"m\": 1}\n\n", [("error", '{"m": 1}', None, None)]),
    ("everything", b"\xef\xbb\xbf: start\r\nretry: 3000\r\nid: 42\r\nevent: delta\r\ndata: {\"x\":\r\n"
     b"data:  1}\r\n\r\n: keep-alive\r\rdata: [DONE]\n\n",
     [("delta", '{"x":\n 1}', "42", 3000), (M, "[DONE]", "42", None)]),
]


def _as_tuples(events: Iterable[ServerSentEvent]) -> List[Expected]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


def _decode(chunks: Iterable[bytes]) -> List[Expected]:
    return _as_tuples(iter_sse(chunks))


def _split_after_line_ends(stream: bytes) -> List[bytes]:
    """Chunks that each end at a CR or LF: whole-event chunks, which take the decoder's fast path."""
    chunks, start = [], 0
    for i, byte in enumerate(stream):
        if byte in (10, 13):
            chunks.append(stream[start:i + 1])
            start = i + 1
    chunks.append(stream[start:])
    return chunks


def _split_after_events(stream: bytes) -> List[bytes]:
    parts = stream.split(b"\n\n")
    return [p + b"\n\n" for p in parts[:-1]] + [parts[-1]]


@pytest.mark.parametrize("name, stream, expected", CASES, ids=[c[0] for c in CASES])
def test_table(name: str, stream: bytes, expected: List[Expected]) -> None:
    assert _reference_decode(stream) == expected
    assert _decode([stream]) == expected
    for i in range(len(stream) + 1):
        assert _decode([stream[:i], stream[i:]]) == expected, f"split at {i}"
    assert _decode(stream[i:i + 1] for i in range(len(stream))) == expected
    assert _decode(_split_after_line_ends(stream)) == expected
    assert _decode(_split_after_events(stream)) == expected


def test_crlf_split_across_feeds_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n") == []
    assert _as_tuples(decoder.feed(b"\r")) == [(M, "a", None, None)]
    assert decoder.feed(b"\n") == []  # the LF completing that CRLF, not another blank line
    assert decoder.feed(b"data: b\r\n") == []
    assert _as_tuples(decoder.feed(b"\r\n")) == [(M, "b", None, None)]
    assert decoder.flush() == []


def test_fast_path_respects_pending_state() -> None:
    # Each second chunk looks like a complete plain event, but earlier chunks left state behind.
    for first, expected in [
        (b"event: e\n", ("e", "x", None, None)),
        (b"retry: 5\n", (M, "x", None, 5)),
        (b"data: w\n", (M, "w\nx", None, None)),
        (b"id: 1\n\n", (M, "x", "1", None)),
        (b"data: w", (M, "wdata: x", None, None)),
    ]:
        decoder = SSEDecoder()
        decoder.feed(b"data: warm\n\n")
        decoder.feed(first)
        assert _as_tuples(decoder.feed(b"data: x\n\n") + decoder.flush()) == [expected], first


def test_flush_resets_for_a_new_stream_but_keeps_last_id() -> None:
    decoder = SSEDecoder()
    assert _as_tuples(decoder.feed(b"id: 5\ndata: a\n\nevent: e\ndata: b")) == [(M, "a", "5", None)]
    assert _as_tuples(decoder.flush()) == [("e", "b", "5", None)]
    assert decoder.flush() == []
    assert _as_tuples(decoder.feed(b"\xef\xbb\xbfdata: c\n\n")) == [(M, "c", "5", None)]


def test_server_sent_event() -> None:
    event = ServerSentEvent('{"a": [1, 2]}  ')
    assert (event.event, event.id, event.retry) == ("message", None, None)
    assert event.json() == {"a": [1, 2]}
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.data = "x"  # type: ignore[misc]
    assert not hasattr(event, "__dict__")


def test_fast_constructor_matches_dataclass() -> None:
    # _make_event bypasses __init__ by writing the slots; it must stay in step with the fields.
    assert [f.name for f in dataclasses.fields(ServerSentEvent)] == ["data", "event", "id", "retry"]
    made = _make_event("d", "e", "i", 7)
    assert made == ServerSentEvent("d", "e", "i", 7)
    assert repr(made) == repr(ServerSentEvent("d", "e", "i", 7))
    assert hash(made) == hash(ServerSentEvent("d", "e", "i", 7))


def test_long_line_in_tiny_chunks() -> None:
    payload = "x" * 200_000
    stream = f"data: {payload}\n\n".encode()
    assert _decode(stream[i:i + 3] for i in range(0, len(stream), 3)) == [(M, payload, None, None)]


# ------------------------------------------------------------------------------------ properties

_LINE_ENDS = st.sampled_from(["\n", "\r", "\r\n"])
_LINE_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
_ID_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\0"), max_size=12)
_SPACE = st.sampled_from(["", " "])


@st.composite
def _chunked(draw: st.DrawFn, stream: bytes) -> List[bytes]:
    cuts = sorted(draw(st.sets(st.integers(0, len(stream)), max_size=12)))
    bounds = [0, *cuts, len(stream)]
    return [stream[a:b] for a, b in zip(bounds, bounds[1:])]


@st.composite
def _stream_and_events(draw: st.DrawFn) -> Tuple[bytes, List[Expected]]:
    out: List[str] = [draw(st.sampled_from(["", "\ufeff"]))]
    expected: List[Expected] = []
    last_id: Optional[str] = None

    def field(name: str, value: str) -> None:
        # A value that starts with a space needs the separating space, or it would be stripped.
        sep = " " if value.startswith(" ") else draw(_SPACE)
        out.append(f"{name}:{sep}{value}{draw(_LINE_ENDS)}")

    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            out.append(f":{draw(_LINE_TEXT)}{draw(_LINE_ENDS)}")
        event = draw(st.one_of(st.none(), _LINE_TEXT))
        event_id = draw(st.one_of(st.none(), _ID_TEXT))
        retry = draw(st.one_of(st.none(), st.integers(0, 10**12)))
        lines = draw(st.lists(_LINE_TEXT, min_size=1, max_size=3))
        fields = [("data", line) for line in lines]
        if event is not None:
            fields.append(("event", event))
        if event_id is not None:
            fields.append(("id", event_id))
            last_id = event_id
        if retry is not None:
            fields.append(("retry", str(retry)))
        # Field order does not matter except among data lines, which keep theirs.
        others = draw(st.permutations(fields[len(lines):]))
        for name, value in [*fields[:len(lines)], *others]:
            field(name, value)
        # The blank line: after a CR, a lone LF would merely complete a CRLF.
        out.append(draw(st.sampled_from(["\r", "\r\n"]) if out[-1].endswith("\r") else _LINE_ENDS))
        expected.append((event or "message", "\n".join(lines), last_id, retry))
    text = "".join(out)
    if draw(st.booleans()) and expected:
        text = text[:-2] if text.endswith("\r\n") else text[:-1]  # drop the final blank line
    return text.encode(), expected


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_roundtrip_random_events_and_chunking(data: st.DataObject) -> None:
    stream, expected = data.draw(_stream_and_events())
    assert _decode([stream]) == expected
    assert _decode(data.draw(_chunked(stream))) == expected
    assert _decode(_split_after_line_ends(stream)) == expected


def _reference_decode(stream: bytes) -> List[Expected]:
    """The spec's algorithm written plainly (whole stream at once), plus our EOF dispatch and our
    ``error:`` line."""
    text = stream.decode("utf-8", "replace")
    text = text[1:] if text.startswith("\ufeff") else text
    lines = re.split(r"\r\n|\r|\n", text)
    if lines[-1] == "":
        lines.pop()  # the stream ended with a line end, not with a partial line
    events: List[Expected] = []
    data, event, last_id, retry = "", "", None, None
    for line in [*lines, ""]:
        if line == "":
            if data:
                events.append((event or "message", data[:-1], last_id, retry))
            data, event, retry = "", "", None
            continue
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            data += value + "\n"
        elif name == "event":
            event = value
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value and all(c in "0123456789" for c in value):
            if len(value.lstrip("0")) <= 18:  # our addition: absurd delays are ignored
                retry = int(value)
        elif name == "error":  # our deviation (old llama.cpp): end the event, dispatch this line
            if data:
                events.append((event or "message", data[:-1], last_id, retry))
            data, event, retry = "", "", None
            events.append(("error", value, last_id, None))
    return events


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_arbitrary_bytes_match_reference_under_any_chunking(data: st.DataObject) -> None:
    alphabet = st.sampled_from([b"\r", b"\n", b":", b" ", b"data", b"event", b"id", b"retry", b"error", b"1",
                                b"\x00", b"\xef\xbb\xbf", b"\xff", b"\xf0\x9f\x98\x80", b"x"])
    stream = b"".join(data.draw(st.lists(alphabet, max_size=40)))
    whole = _decode([stream])
    assert whole == _reference_decode(stream)
    assert _decode(data.draw(_chunked(stream))) == whole
    assert _decode(_split_after_line_ends(stream)) == whole
