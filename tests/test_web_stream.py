"""The chatgpt.com web stream decoder: both stream formats, every delta op, and the typed events."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatgpt_sync.errors import ResponseError
from chatgpt_sync.providers._web.patch import apply_op, split_pointer
from chatgpt_sync.providers._web.stream import WebStreamDecoder
from chatgpt_sync.types import (Chunk, Conversation, FinishReason, ImageResponse, Reasoning, ResponseMeta, Sources,
                                TitleGeneration)

CID = "67f0c0de-0000-8000-8000-c0a7e55a7100"
USER_ID = "aaaaaaaa-0000-4000-8000-000000000001"
ASSIST_ID = "bbbbbbbb-0000-4000-8000-000000000002"
TOOL_ID = "cccccccc-0000-4000-8000-000000000003"
FINAL_ID = "dddddddd-0000-4000-8000-000000000004"
PART = "/message/content/parts/0"

Event = Union[Tuple[str, Any], Any]  # (event name, data) or data alone ("message" / "delta")


def message(mid: str, text: Any = "", *, role: str = "assistant", recipient: str = "all",
            status: str = "in_progress", content_type: str = "text", end_turn: Optional[bool] = None,
            metadata: Optional[Dict[str, Any]] = None, name: Optional[str] = None) -> Dict[str, Any]:
    """A chatgpt.com message object as the server sends it."""
    content: Dict[str, Any] = {"content_type": content_type}
    if content_type == "code":
        content.update(language="unknown", text=text)
    elif content_type == "execution_output":
        content["text"] = text
    elif content_type == "thoughts":
        content.update(thoughts=text, source_analysis_msg_id="x")
    else:
        content["parts"] = text if isinstance(text, list) else [text]
    return {"id": mid, "author": {"role": role, "name": name, "metadata": {}}, "create_time": 1.7e9,
            "update_time": None, "content": content, "status": status, "end_turn": end_turn,
            "weight": 1.0, "metadata": {"message_type": "next", "model_slug": "gpt-4o", **(metadata or {})},
            "recipient": recipient, "channel": None}


def add(msg: Dict[str, Any], c: int = 0) -> Tuple[str, Dict[str, Any]]:
    return ("delta", {"p": "", "o": "add", "v": {"message": msg, "conversation_id": CID, "error": None}, "c": c})


def op(p: Optional[str] = None, o: Optional[str] = None, v: Any = None) -> Tuple[str, Dict[str, Any]]:
    line: Dict[str, Any] = {"v": v}
    if o is not None:
        line = {"o": o, **line}
    if p is not None:
        line = {"p": p, **line}
    return ("delta", line)


def snapshot(msg: Dict[str, Any]) -> Dict[str, Any]:
    return {"message": msg, "conversation_id": CID, "error": None}


STOP_PATCH = op("", "patch", [
    {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
    {"p": "/message/end_turn", "o": "replace", "v": True},
    {"p": "/message/metadata", "o": "append",
     "v": {"is_complete": True, "finish_details": {"type": "stop", "stop_tokens": [200002]}}},
])
V1 = ("delta_encoding", '"v1"')
INPUT_MESSAGE = {"type": "input_message", "conversation_id": CID,
                 "input_message": message(USER_ID, "Say hello, please", role="user", status="finished_successfully")}
COMPLETE = {"type": "message_stream_complete", "conversation_id": CID}


def feed_all(events: Sequence[Event], decoder: Optional[WebStreamDecoder] = None,
             meta: bool = False) -> List[Chunk]:
    """Decoded pieces; the answer's ResponseMeta is left out unless ``meta`` (it has its own test)."""
    decoder = decoder if decoder is not None else WebStreamDecoder()
    out: List[Chunk] = []
    for item in events:
        name, data = item if isinstance(item, tuple) else ("message", item)
        out += decoder.feed(data if isinstance(data, str) else json.dumps(data), name)
    return out if meta else [c for c in out if not isinstance(c, ResponseMeta)]


def test_the_servers_identifiers_come_before_the_first_text_piece() -> None:
    message = {"id": "msg-1", "author": {"role": "assistant"}, "recipient": "all", "create_time": 1700000000.5,
               "content": {"content_type": "text", "parts": ["Hi"]}, "status": "in_progress",
               "metadata": {"model_slug": "gpt-4o-mini-2024-07-18"}}
    out = feed_all([{"message": message, "conversation_id": "c-1"}], meta=True)
    assert out == [ResponseMeta("msg-1", "gpt-4o-mini-2024-07-18", 1700000000), "Hi"]
    # once per answer, however many events the message takes
    again = dict(message, content={"content_type": "text", "parts": ["Hi there"]})
    decoder = WebStreamDecoder()
    pieces = feed_all([{"message": message}, {"message": again}], decoder, meta=True)
    assert [type(p).__name__ for p in pieces] == ["ResponseMeta", "str", "str"]


def run(events: Sequence[Event]) -> Tuple[List[Chunk], WebStreamDecoder]:
    decoder = WebStreamDecoder()
    out = feed_all(list(events) + ["[DONE]"], decoder)
    return out + decoder.finish(), decoder


def joined(chunks: Sequence[Chunk]) -> str:
    return "".join(c for c in chunks if isinstance(c, str))


def objects(chunks: Sequence[Chunk]) -> List[Chunk]:
    return [c for c in chunks if not isinstance(c, str)]


# ------------------------------------------------------------------------------ table of streams

END: List[Chunk] = [FinishReason("stop"), Conversation(CID, ASSIST_ID)]

STREAMS: Dict[str, Tuple[List[Event], List[Chunk]]] = {
    "v1 full turn": ([
        V1, ("delta", INPUT_MESSAGE),
        {"type": "message_marker", "conversation_id": CID, "message_id": ASSIST_ID,
         "marker": "user_visible_token", "event": "first"},
        add(message(ASSIST_ID)), op(PART, "append", "Hel"), op(v="lo"), op(v=", wor"),
        op("", "patch", [{"p": PART, "o": "append", "v": "ld!"},
                         {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
                         {"p": "/message/end_turn", "o": "replace", "v": True},
                         {"p": "/message/metadata", "o": "append",
                          "v": {"is_complete": True, "finish_details": {"type": "stop", "stop_tokens": [200002]}}}]),
        COMPLETE,
        {"type": "title_generation", "title": "Friendly greeting", "conversation_id": CID},
        {"type": "conversation_detail_metadata", "conversation_id": CID, "banner_info": None},
    ], ["Hel", "lo", ", wor", "ld!", TitleGeneration("Friendly greeting"), *END]),
    "root add carries initial text": ([
        V1, add(message(ASSIST_ID, "Hello")), op(PART, "append", " there"), STOP_PATCH,
    ], ["Hello", " there", *END]),
    "bare v snapshot with counter": ([
        V1, ("delta", {"v": {"message": message(ASSIST_ID, "Hi"), "conversation_id": CID, "error": None}, "c": 1}),
        op(v="!"), STOP_PATCH,
    ], ["Hi", "!", *END]),
    "bare batch without p and o": ([
        V1, add(message(ASSIST_ID)), op(PART, "append", "a"),
        ("delta", {"v": [{"p": PART, "o": "append", "v": "b"},
                         {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
                         {"p": "/message/end_turn", "o": "replace", "v": True}]}),
    ], ["a", "b", *END]),
    "replace extends the text": ([
        V1, add(message(ASSIST_ID)), op(PART, "append", "Hello"), op(PART, "replace", "Hello world"), STOP_PATCH,
    ], ["Hello", " world", *END]),
    # A rewrite cannot be taken back from an already-streamed answer: only what follows the common
    # prefix ("Hello w") is emitted, so the joined text keeps the stale "rld".
    "replace rewrites earlier text": ([
        V1, add(message(ASSIST_ID)), op(PART, "append", "Hello wrld"), op(PART, "replace", "Hello world!"),
        STOP_PATCH,
    ], ["Hello wrld", "orld!", *END]),
    "truncate then append": ([
        V1, add(message(ASSIST_ID)), op(PART, "append", "Hello world"), op(PART, "truncate", 5),
        op(PART, "append", "!"), STOP_PATCH,
    ], ["Hello world", "!", *END]),
    "p without o and o without p continue the previous line": ([
        V1, add(message(ASSIST_ID)), op(PART, "append", "one"), op(p=PART, v=" two"),
        op(o="append", v=" three"), STOP_PATCH,
    ], ["one", " two", " three", *END]),
    # g4f tracked only p, so this replace continuation was appended: "HelloHello world".
    "bare v continues a replace": ([
        V1, add(message(ASSIST_ID)), op(PART, "replace", "Hello"), op(v="Hello world"), STOP_PATCH,
    ], ["Hello", " world", *END]),
    "remove drops a finish_details": ([
        V1, add(message(ASSIST_ID, "x")),
        op("/message/metadata", "append", {"finish_details": {"type": "max_tokens"}}),
        ("delta", {"p": "/message/metadata/finish_details", "o": "remove"}),
        op("", "patch", [{"p": "/message/status", "o": "replace", "v": "finished_successfully"},
                         {"p": "/message/end_turn", "o": "replace", "v": True}]),
    ], ["x", *END]),
    "legacy snapshots diff by prefix": ([
        snapshot(message(USER_ID, "Hi", role="user", status="finished_successfully")),
        snapshot(message(ASSIST_ID, "")), snapshot(message(ASSIST_ID, "H")), snapshot(message(ASSIST_ID, "Hello")),
        snapshot(message(ASSIST_ID, "Hello")),
        snapshot(message(ASSIST_ID, "Hello, world", status="finished_successfully", end_turn=True,
                         metadata={"finish_details": {"type": "stop"}, "is_complete": True})),
        {"conversation_id": CID, "message_id": ASSIST_ID, "is_completion": True,
         "moderation_response": {"flagged": False, "blocked": False, "moderation_id": "modr-1"}},
    ], ["H", "ello", ", world", *END]),
    "legacy messages each have their own baseline": ([
        snapshot(message("a0", "First.", status="finished_successfully")),
        snapshot(message(ASSIST_ID, "Second")),
        snapshot(message(ASSIST_ID, "Second.", status="finished_successfully", end_turn=True)),
    ], ["First.", "Second", ".", *END]),
    "legacy ha becomes haha": ([
        snapshot(message(ASSIST_ID, "ha")), snapshot(message(ASSIST_ID, "haha")), snapshot(message(ASSIST_ID, "hahaha")),
    ], ["ha", "ha", "ha", FinishReason(None), Conversation(CID, ASSIST_ID)]),
    "legacy rewrite emits after the common prefix": ([
        snapshot(message(ASSIST_ID, "The cat")), snapshot(message(ASSIST_ID, "The dog sat")),
    ], ["The cat", "dog sat", FinishReason(None), Conversation(CID, ASSIST_ID)]),
    "code to python and the tool output are not answer text": ([
        V1, ("delta", INPUT_MESSAGE),
        add(message(ASSIST_ID, "Let me compute. ")), op(PART, "append", "One moment."),
        op("", "patch", [{"p": "/message/status", "o": "replace", "v": "finished_successfully"}]),
        add(message(TOOL_ID, "print(6*7)", recipient="python", content_type="code"), 1),
        op("/message/content/text", "append", "\n"),
        add(message("e0", "42\n", role="tool", name="python", content_type="execution_output",
                    status="finished_successfully"), 2),
        add(message(FINAL_ID, "The answer is "), 3), op(PART, "append", "42."), STOP_PATCH,
    ], ["Let me compute. ", "One moment.", "The answer is ", "42.", FinishReason("stop"), Conversation(CID, FINAL_ID)]),
    "hidden system and assistant messages are not answer text": ([
        V1, add(message("s1", "You are ChatGPT", role="system", status="finished_successfully",
                        metadata={"is_visually_hidden_from_conversation": True})),
        add(message("h1", "model editable context", metadata={"is_visually_hidden_from_conversation": True}), 1),
        add(message(ASSIST_ID, "Visible"), 2), STOP_PATCH,
    ], ["Visible", *END]),
    "reasoning thoughts are never answer text": ([
        V1, add(message("t1", [], content_type="thoughts")),
        op("/message/content/thoughts", "append", [{"summary": "Planning", "content": "", "chunks": [], "finished": False}]),
        op("/message/content/thoughts/0/content", "append", "Think"), op(v=" harder"),
        op("", "patch", [{"p": "/message/status", "o": "replace", "v": "finished_successfully"}]),
        add(message("r1", "", content_type="reasoning_recap"), 1),
        add(message(ASSIST_ID, "Answer"), 2), STOP_PATCH,
    ], [Reasoning("Planning"), Reasoning("\n\nThink"), Reasoning(" harder"), "Answer", *END]),
    "title after the stream completed": ([
        V1, add(message(ASSIST_ID, "ok")), STOP_PATCH, COMPLETE,
        {"type": "title_generation", "title": "Short", "conversation_id": CID},
        {"type": "title_generation", "title": "Better title", "conversation_id": CID},
    ], ["ok", TitleGeneration("Short"), TitleGeneration("Better title"), *END]),
    "stop finish_details on an in_progress event then EOF": ([
        V1, add(message(ASSIST_ID, "partial")),
        op("/message/metadata", "append", {"finish_details": {"type": "stop"}}),
    ], ["partial", FinishReason(None), Conversation(CID, ASSIST_ID)]),
    "stop finish_details confirmed by message_stream_complete": ([
        V1, add(message(ASSIST_ID, "done")),
        op("/message/metadata", "append", {"finish_details": {"type": "stop"}}), COMPLETE,
    ], ["done", *END]),
    "max_tokens is length": ([
        V1, add(message(ASSIST_ID, "long")),
        op("", "patch", [{"p": "/message/status", "o": "replace", "v": "finished_successfully"},
                         {"p": "/message/metadata", "o": "append", "v": {"finish_details": {"type": "max_tokens"}}}]),
    ], ["long", FinishReason("length"), Conversation(CID, ASSIST_ID)]),
    "interrupted is no finish": ([
        V1, add(message(ASSIST_ID, "cut")),
        op("/message/metadata", "append", {"is_complete": True, "finish_details": {"type": "interrupted"}}),
    ], ["cut", FinishReason(None), Conversation(CID, ASSIST_ID)]),
    "nothing at all": ([], [FinishReason(None)]),
    "garbage lines never crash": ([
        "not json", "{broken", "[1, 2]", "42", "null", '"v1"', "", ("ping", "{}"),
        V1, add(message(ASSIST_ID, "fine")), ("delta", {"p": "/message/content/parts/7/x", "o": "truncate", "v": "a"}),
        ("delta", {"p": 5, "o": ["x"], "v": "?"}), STOP_PATCH,
    ], ["fine", *END]),
}


@pytest.mark.parametrize("name", list(STREAMS))
def test_streams(name: str) -> None:
    events, expected = STREAMS[name]
    chunks, decoder = run(events)
    assert chunks == expected
    assert decoder.text == joined(expected)
    finishes = [c for c in chunks if isinstance(c, FinishReason)]
    assert len(finishes) == 1 and decoder.finish_reason == finishes[0].reason
    last_text = max((i for i, c in enumerate(chunks) if isinstance(c, str)), default=-1)
    assert chunks.index(finishes[0]) > last_text


def test_v1_mode_and_ids() -> None:
    decoder = WebStreamDecoder()
    feed_all([("message", '"v1"')], decoder)
    assert decoder.delta_encoding is None  # a "v1" string outside a delta_encoding event is noise
    feed_all([V1, ("delta", INPUT_MESSAGE)], decoder)
    assert decoder.delta_encoding == "v1"
    assert decoder.conversation_id == CID and decoder.message_id is None  # the user message is no parent
    feed_all([add(message(ASSIST_ID, "x"))], decoder)
    assert decoder.message_id == ASSIST_ID


def test_done_and_finish_are_final() -> None:
    decoder = WebStreamDecoder()
    feed_all([add(message(ASSIST_ID, "a")), "[DONE]"], decoder)
    assert decoder.done
    assert decoder.feed(json.dumps({"p": PART, "o": "append", "v": "late"}), "delta") == []
    assert decoder.finish() == [FinishReason(None), Conversation(CID, ASSIST_ID)]
    assert decoder.finish() == []
    assert decoder.text == "a"


# ----------------------------------------------------------------------------------- images

def image_part(pointer: str, prompt: Optional[str] = None) -> Dict[str, Any]:
    meta = {"dalle": {"gen_id": "g1", "prompt": prompt, "seed": 1}} if prompt else None
    return {"content_type": "image_asset_pointer", "asset_pointer": pointer, "size_bytes": 1000,
            "width": 1024, "height": 1024, "fovea": 512, "metadata": meta}


def test_dalle_image_in_tool_message_once() -> None:
    part = image_part("file-service://file-AbC123", "a cat in a hat")
    tool = message(TOOL_ID, [part], role="tool", name="dalle.text2im", content_type="multimodal_text",
                   status="finished_successfully")
    chunks, _ = run([
        snapshot(message(ASSIST_ID, '{"prompt": "a cat in a hat"}', recipient="dalle.text2im",
                         content_type="code", status="finished_successfully")),
        snapshot(tool), snapshot(tool),
        snapshot(message(FINAL_ID, "Here is your cat.", status="finished_successfully", end_turn=True)),
    ])
    assert chunks == [ImageResponse(["file-service://file-AbC123"], "a cat in a hat"), "Here is your cat.",
                      FinishReason("stop"), Conversation(CID, FINAL_ID)]
    image = chunks[0]
    assert isinstance(image, ImageResponse) and image.raw == part


def test_sediment_image_alt_from_title_arriving_after_pointer() -> None:
    tool = message(TOOL_ID, [image_part("sediment://file_00000000abc")], role="tool",
                   name="t2uay3k.sj1i4kz", content_type="multimodal_text")
    chunks, decoder = run([
        V1, add(message(USER_ID, [image_part("file-service://file-upload")], role="user",
                        content_type="multimodal_text", status="finished_successfully")),
        add(tool, 1),
        op("", "patch", [{"p": "/message/metadata/image_gen_title", "o": "replace", "v": "Cat in hat"},
                         {"p": "/message/metadata/image_gen_task_id", "o": "replace", "v": "task-9"},
                         {"p": "/message/status", "o": "replace", "v": "finished_successfully"}]),
        COMPLETE,
    ])
    # The uploaded image echoed in the user message is not a generated one.
    assert chunks == [ImageResponse(["sediment://file_00000000abc"], "Cat in hat"), FinishReason("stop"),
                      Conversation(CID, None)]
    assert decoder.image_gen_task_id == "task-9"


def test_image_pointer_patched_in_is_emitted_at_finish() -> None:
    chunks, _ = run([
        V1, add(message(ASSIST_ID, [{"content_type": "image_asset_pointer", "asset_pointer": ""}, "caption"],
                        content_type="multimodal_text")),
        op("/message/content/parts/0/asset_pointer", "replace", "sediment://file_9"),
    ])
    assert chunks == ["caption", ImageResponse(["sediment://file_9"], None), FinishReason(None),
                      Conversation(CID, ASSIST_ID)]


# -------------------------------------------------------------------------------- citations

CITE = "\ue200cite\ue202turn0search0\ue202turn0news1\ue201"


def test_citation_markers_are_buffered_and_stripped_and_sources_reported() -> None:
    references = [
        {"matched_text": CITE, "type": "grouped_webpages", "start_idx": 13, "end_idx": 40,
         "items": [{"title": "Paris - Wikipedia", "url": "https://en.wikipedia.org/wiki/Paris?utm_source=chatgpt.com",
                    "attribution": "Wikipedia",
                    "supporting_websites": [{"title": "Britannica", "url": "https://www.britannica.com/place/Paris"}]}],
         "fallback_items": [{"title": "", "url": "https://en.wikipedia.org/wiki/Paris"}]},
        {"type": "sources_footnote", "sources": [{"title": "News", "url": "https://news.example/a?x=1&utm_medium=ai"}]},
        {"type": "hidden", "matched_text": " ", "alt": None},
    ]
    chunks, decoder = run([
        V1, add(message(ASSIST_ID)),
        op(PART, "append", "Paris is big. \ue200cite\ue202turn0"), op(v="search0\ue202turn0news1"),
        op(v="\ue201 It is in \ue203France\ue204. "),
        op(v="See \ue200entity\ue202[\"city\",\"Lyon\",\"French city\"]\ue201 too."),
        op("", "patch", [{"p": "/message/metadata/content_references", "o": "append", "v": references},
                         {"p": "/message/metadata/citations", "o": "replace",
                          "v": [{"start_ix": 0, "end_ix": 5, "metadata": {"type": "webpage", "title": "Old",
                                                                           "url": "https://old.example/"}}]}]),
        STOP_PATCH,
    ])
    assert chunks == ["Paris is big. ", " It is in France. ", "See Lyon too.",
                      Sources([{"url": "https://en.wikipedia.org/wiki/Paris", "title": "Paris - Wikipedia"},
                               {"url": "https://www.britannica.com/place/Paris", "title": "Britannica"},
                               {"url": "https://news.example/a?x=1", "title": "News"},
                               {"url": "https://old.example/", "title": "Old"}]),
                      *END]
    assert decoder.text == "Paris is big.  It is in France. See Lyon too."


def test_entity_split_across_appends_is_held_back_until_closed() -> None:
    chunks, _ = run([V1, add(message(ASSIST_ID, "Visit \ue200entity\ue202[\"city\",")),
                     op(PART, "append", "\"Rome\"]"), op(v="\ue201 soon"), STOP_PATCH])
    assert chunks == ["Visit ", "Rome soon", *END]


def test_eof_without_done() -> None:
    decoder = WebStreamDecoder()
    chunks = feed_all([V1, add(message(ASSIST_ID, "cut off"))], decoder)
    assert not decoder.done
    assert chunks + decoder.finish() == ["cut off", FinishReason(None), Conversation(CID, ASSIST_ID)]


def test_unclosed_marker_at_end_is_dropped_but_plain_text_kept() -> None:
    chunks, _ = run([V1, add(message(ASSIST_ID, "a \ue200cite\ue202turn0sea"))])
    assert joined(chunks) == "a "
    chunks, _ = run([V1, add(message(ASSIST_ID, "a \ue200not a marker"))])
    assert joined(chunks) == "a not a marker"


# ------------------------------------------------------------------------------------ errors

@pytest.mark.parametrize("event, data, text", [
    ("message", {"error": "Something went wrong while generating the response."},
     "Something went wrong while generating the response."),
    ("message", {"type": "error", "error": {"message": "Too many requests", "code": "rate_limit"}}, "Too many requests"),
    ("message", {"type": "moderation", "conversation_id": CID, "message_id": ASSIST_ID,
                 "moderation_response": {"flagged": True, "blocked": True, "moderation_id": "modr-2"}},
     "the answer was blocked by moderation"),
    ("error", "upstream overloaded", "upstream overloaded"),
    ("error", '"Rate limited"', "Rate limited"),
    ("error", "", "error event in the stream"),
    ("delta", {"p": "", "o": "add", "v": {"message": None, "conversation_id": CID, "error": "Conversation not found"}},
     "Conversation not found"),
])
def test_in_stream_errors_carry_partial_text(event: str, data: Any, text: str) -> None:
    decoder = WebStreamDecoder()
    feed_all([V1, add(message(ASSIST_ID, "Half an ")), op(PART, "append", "answer")], decoder)
    raw = data if isinstance(data, str) else json.dumps(data)
    with pytest.raises(ResponseError) as info:
        decoder.feed(raw, event)
    assert info.value.message == text
    assert info.value.partial_text == "Half an answer"
    assert info.value.conversation == Conversation(CID, ASSIST_ID)
    assert info.value.body is not None


# ------------------------------------------------------------------------------- patch engine

def test_patch_engine_ops() -> None:
    doc: Any = {"message": {"content": {"parts": ["ab"]}, "metadata": {"a": 1}, "list": [1, 2, 3]}}
    doc = apply_op(doc, "/message/content/parts/0", "append", "c")
    doc = apply_op(doc, "/message/list", "append", [4, 5])
    doc = apply_op(doc, "/message/list", "append", 6)
    doc = apply_op(doc, "/message/list", "truncate", 4)
    doc = apply_op(doc, "/message/list/0", "remove")
    doc = apply_op(doc, "/message/list/0", "add", 9)
    doc = apply_op(doc, "/message/list/-", "replace", 7)
    doc = apply_op(doc, "/message/metadata", "append", {"b": 2})
    doc = apply_op(doc, "/message/new/deep", "replace", "x")
    doc = apply_op(doc, "/message/a~1b", "add", "slash")
    doc = apply_op(doc, "/message", "patch", [{"p": "/metadata/a", "o": "replace", "v": 3}, {"p": "/metadata/c", "v": 4}])
    assert doc == {"message": {"content": {"parts": ["abc"]}, "metadata": {"a": 3, "b": 2, "c": 4},
                               "list": [9, 2, 3, 4, 7], "new": {"deep": "x"}, "a/b": "slash"}}
    assert apply_op(doc, "", "add", {"fresh": True}) == {"fresh": True}
    assert split_pointer("/a/~0b/c~1d") == ["a", "~b", "c/d"]


json_values = st.recursive(st.none() | st.booleans() | st.integers(-3, 9) | st.text(max_size=3),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("ab0"), inner, max_size=3),
                           max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(doc=json_values, path=st.lists(st.sampled_from(["a", "b", "0", "1", "-", "x"]), max_size=3),
       o=st.sampled_from(["add", "replace", "append", "truncate", "remove", "patch", "bogus"]), v=json_values)
def test_patch_engine_is_total(doc: Any, path: List[str], o: str, v: Any) -> None:
    apply_op(doc, "/" + "/".join(path) if path else "", o, v)


# ---------------------------------------------------------------------------------- properties

plain_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="".join(map(chr, range(0xE200, 0xE207)))),
                     max_size=60)
repetitive = st.lists(st.sampled_from(["ha", "h", "a", "haha", " ", "ah"]), max_size=25).map("".join)


def cuts(text: str) -> st.SearchStrategy[List[int]]:
    return st.lists(st.integers(0, len(text)), max_size=12).map(sorted)


def v1_events(text: str, points: List[int], styles: List[int]) -> List[Event]:
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)])]
    events: List[Event] = [V1, add(message(ASSIST_ID, pieces[0]))]
    for i, piece in enumerate(pieces[1:]):
        style = styles[i % len(styles)] if styles else 0
        if style == 0:
            events.append(op(PART, "append", piece))
        elif style == 1:
            events.append(op(v=piece))
        else:
            events.append(op("", "patch", [{"p": PART, "o": "append", "v": piece},
                                           {"p": "/message/metadata/x", "o": "replace", "v": i}]))
    return events + [STOP_PATCH]


@settings(max_examples=200, deadline=None)
@given(data=st.data(), text=plain_text | repetitive, styles=st.lists(st.integers(0, 2), max_size=5))
def test_v1_appends_reconstruct_text(data: st.DataObject, text: str, styles: List[int]) -> None:
    chunks, decoder = run(v1_events(text, data.draw(cuts(text)), styles))
    assert joined(chunks) == text == decoder.text
    assert objects(chunks) == END


@settings(max_examples=200, deadline=None)
@given(data=st.data(), text=plain_text | repetitive)
def test_legacy_snapshots_reconstruct_text(data: st.DataObject, text: str) -> None:
    events: List[Event] = [snapshot(message(ASSIST_ID, text[:n])) for n in data.draw(cuts(text))]
    events.append(snapshot(message(ASSIST_ID, text, status="finished_successfully", end_turn=True)))
    chunks, _ = run(events)
    assert joined(chunks) == text
    assert objects(chunks) == END


@settings(max_examples=150, deadline=None)
@given(data=st.data(), words=st.lists(plain_text, min_size=1, max_size=5))
def test_citations_anywhere_in_any_split_vanish(data: st.DataObject, words: List[str]) -> None:
    raw = CITE.join(words)
    chunks, _ = run(v1_events(raw, data.draw(cuts(raw)), [0, 1]))
    assert joined(chunks) == "".join(words)
