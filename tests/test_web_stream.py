"""The chatgpt.com web stream decoder: both stream formats, every delta op, and the typed events."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatgpt_sync.errors import ResponseError
from chatgpt_sync.providers._web.patch import apply_op, split_pointer
from chatgpt_sync.providers._web.stream import (STALL_LIMIT, ImagePointer, WebStreamDecoder, download_path,
                                                 parse_pointer)
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


def test_citation_markers_are_buffered_rendered_and_sources_reported() -> None:
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
    # The citation waits (bounded) for its reference, which arrives after the text: then it reads
    # as a numbered link, and the entity as its name.
    assert chunks == ["Paris is big. ", "[1](https://en.wikipedia.org/wiki/Paris) It is in France. See Lyon too.",
                      Sources([{"url": "https://en.wikipedia.org/wiki/Paris", "title": "Paris - Wikipedia"},
                               {"url": "https://www.britannica.com/place/Paris", "title": "Britannica"},
                               {"url": "https://news.example/a?x=1", "title": "News"},
                               {"url": "https://old.example/", "title": "Old"}]),
                      *END]
    assert decoder.text == "Paris is big. [1](https://en.wikipedia.org/wiki/Paris) It is in France. See Lyon too."


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


# ------------------------------------------------------------- what the authenticated stream adds

WIKI = "https://en.wikipedia.org/wiki/Paris"
BRIT = "https://www.britannica.com/place/Paris"
NEWS = "https://news.example/paris-2026"
CONTROL_CHARS = "".join(map(chr, range(0xE200, 0xE300)))


def cite(*ids: str) -> str:
    return "\ue200cite" + "".join("\ue202" + i for i in ids) + "\ue201"


def entity(kind: str, name: str, description: str) -> str:
    return "\ue200entity\ue202" + json.dumps([kind, name, description]) + "\ue201"


def result(url: str, title: str, ref_type: str, ref_index: int) -> Dict[str, Any]:
    return {"type": "search_result", "url": url + "?utm_source=chatgpt.com", "title": title, "snippet": "...",
            "ref_id": {"turn_index": 0, "ref_type": ref_type, "ref_index": ref_index}, "pub_date": None,
            "attribution": url.split("/")[2]}


SEARCH_GROUPS = [
    {"type": "search_result_group", "domain": "en.wikipedia.org",
     "entries": [result(WIKI, "Paris - Wikipedia", "search", 0)]},
    {"type": "search_result_group", "domain": "www.britannica.com",
     "entries": [result(BRIT, "Paris | History", "search", 1)]},
    {"type": "search_result_group", "domain": "news.example", "entries": [result(NEWS, "Paris news", "news", 0)]},
]
ALL_SOURCES = [{"url": WIKI, "title": "Paris - Wikipedia"}, {"url": BRIT, "title": "Paris | History"},
               {"url": NEWS, "title": "Paris news"}]
# A search turn: the model's query to the search tool, then the tool's message with the results.
SEARCH_PRELUDE: List[Event] = [
    V1, ("delta", INPUT_MESSAGE),
    add(message("q1", '{"search_query": [{"q": "Paris"}]}', recipient="web.run", content_type="code")),
    op("", "patch", [{"p": "/message/status", "o": "replace", "v": "finished_successfully"}]),
    add(message("w1", "", role="tool", name="web.run"), 1),
    op("", "patch", [{"p": "/message/metadata/search_result_groups", "o": "replace", "v": SEARCH_GROUPS},
                     {"p": "/message/status", "o": "replace", "v": "finished_successfully"}]),
]
# A content reference as a signed-in search answer carries it (captured conversation shape).
PVRPV = "https://www.pvrpv.com/"
PVRPV_REF = {
    "matched_text": cite("turn0search7"), "start_idx": 11, "end_idx": 30, "refs": [], "alt": "",
    "prompt_text": f"([pvrpv.com]({PVRPV}?utm_source=chatgpt.com))",
    "type": "grouped_webpages_model_predicted_fallback",
    "items": [{"title": "Condos and Villas Rental in Puerto Vallarta", "url": PVRPV + "?utm_source=chatgpt.com",
               "pub_date": None, "snippet": "Vacation Rentals in Puerto Vallarta.", "attribution_segments": None,
               "supporting_websites": [], "refs": [{"turn_index": 0, "ref_type": "search", "ref_index": 7}],
               "hue": None, "attributions": None}],
    "status": "done", "error": None, "style": None,
}
HIDDEN_REF = {"matched_text": "\ue203", "start_idx": 1, "end_idx": 2, "refs": ["hidden"], "alt": None,
              "prompt_text": None, "type": "hidden", "invalid": False}


def content(mid: str, body: Dict[str, Any], status: str = "in_progress", **kw: Any) -> Dict[str, Any]:
    """A message whose content is ``body`` as given (thoughts, reasoning_recap)."""
    msg = message(mid, "", status=status, **kw)
    msg["content"] = body
    return msg


RECAP = {"content_type": "reasoning_recap", "content": "Thought for 7s"}

AUTHED_STREAMS: Dict[str, Tuple[List[Event], List[Chunk]]] = {
    "v1 search: a citation links to its search result": ([
        *SEARCH_PRELUDE, add(message(ASSIST_ID), 2), op(PART, "append", "Paris is the capital of France. "),
        op(v=cite("turn0search0")), op(v=" It has 2.1 million people."), STOP_PATCH,
    ], ["Paris is the capital of France. ", f"[1]({WIKI})", " It has 2.1 million people.",
        Sources(ALL_SOURCES), *END]),
    "v1 search: results patched into the answer's own metadata": ([
        V1, add(message(ASSIST_ID)), op("/message/metadata/search_result_groups", "replace", SEARCH_GROUPS),
        op(PART, "append", "Big city " + cite("turn0news0") + "."), STOP_PATCH,
    ], [f"Big city [1]({NEWS}).", Sources([ALL_SOURCES[2], *ALL_SOURCES[:2]]), *END]),
    "v1 search: a repeated source keeps its number": ([
        *SEARCH_PRELUDE, add(message(ASSIST_ID), 2), op(PART, "append", "A " + cite("turn0search1")),
        op(v=" B " + cite("turn0search0", "turn0news0")), op(v=" C " + cite("turn0search1") + "."), STOP_PATCH,
    ], [f"A [1]({BRIT})", f" B [2]({WIKI}) [3]({NEWS})", f" C [1]({BRIT}).",
        Sources([ALL_SOURCES[1], ALL_SOURCES[0], ALL_SOURCES[2]]), *END]),
    "v1 search: a content reference arriving after the marker releases it": ([
        V1, add(message(ASSIST_ID)), op(PART, "append", "Rent here. " + cite("turn0search7")),
        op(v=" More text."),
        op("", "patch", [{"p": "/message/metadata/content_references", "o": "append", "v": [HIDDEN_REF, PVRPV_REF]},
                         {"p": PART, "o": "append", "v": " End."}]),
        STOP_PATCH,
    ], ["Rent here. ", f"[1]({PVRPV}) More text. End.",
        Sources([{"url": PVRPV, "title": "Condos and Villas Rental in Puerto Vallarta"}]), *END]),
    "v1: entities, image embeds, navlists and unknown markers": ([
        *SEARCH_PRELUDE, add(message(ASSIST_ID), 2),
        op(PART, "append", "Visit " + entity("city", "Lyon", "French city") + " or \ue203Nice\ue204"),
        op(v="\ue200i\ue202turn0image2\ue201\ue200weird\ue202x\ue201\ue200\ue201 \ue206.\n"),
        op(v="\ue200navlist\ue202Latest news\ue202turn0news0,turn0search1\ue201"), STOP_PATCH,
    ], ["Visit Lyon or Nice", " .\n", f"Latest news [1]({NEWS}) [2]({BRIT})",
        Sources([ALL_SOURCES[2], ALL_SOURCES[1], ALL_SOURCES[0]]), *END]),
    "v1: a citation that never resolves is dropped at the end": ([
        V1, add(message(ASSIST_ID, "Fact " + cite("turn3search9"))), op(PART, "append", " end."), STOP_PATCH,
    ], ["Fact ", " end.", *END]),
    "legacy search snapshots": ([
        snapshot(message("w1", "", role="tool", name="web.run", status="finished_successfully",
                         metadata={"search_result_groups": SEARCH_GROUPS})),
        snapshot(message(ASSIST_ID, "Paris is big. \ue200cite\ue202turn0")),
        snapshot(message(ASSIST_ID, "Paris is big. " + cite("turn0search0", "turn0search1") + " Yes")),
        snapshot(message(ASSIST_ID, "Paris is big. " + cite("turn0search0", "turn0search1") + " Yes.",
                         status="finished_successfully", end_turn=True,
                         metadata={"finish_details": {"type": "stop"}, "is_complete": True})),
    ], ["Paris is big. ", f"[1]({WIKI}) [2]({BRIT}) Yes", ".", Sources(ALL_SOURCES), *END]),
    "legacy: a content reference in a later snapshot releases the marker": ([
        snapshot(message(ASSIST_ID, "Rent here. " + cite("turn0search7") + " Now")),
        snapshot(message(ASSIST_ID, "Rent here. " + cite("turn0search7") + " Now.", status="finished_successfully",
                         end_turn=True, metadata={"content_references": [PVRPV_REF]})),
    ], ["Rent here. ", f"[1]({PVRPV}) Now.",
        Sources([{"url": PVRPV, "title": "Condos and Villas Rental in Puerto Vallarta"}]), *END]),
    "v1 thinking: thoughts and the reasoning recap are Reasoning": ([
        V1, add(content("t1", {"content_type": "thoughts", "thoughts": [], "source_analysis_msg_id": "x"})),
        op("/message/content/thoughts", "append",
           [{"summary": "Looking up Paris", "content": "I search.", "chunks": [], "finished": False}]),
        op("/message/content/thoughts/0/content", "append", " Then I answer."),
        op("", "patch", [{"p": "/message/status", "o": "replace", "v": "finished_successfully"}]),
        add(content("r1", RECAP, status="finished_successfully",
                    metadata={"reasoning_status": "reasoning_ended", "finished_duration_sec": 7}), 1),
        add(message(ASSIST_ID, "Answer"), 2), STOP_PATCH,
    ], [Reasoning("Looking up Paris"), Reasoning("\n\nI search."), Reasoning(" Then I answer."),
        Reasoning("\n\nThought for 7s"), "Answer", *END]),
    "legacy thinking snapshots": ([
        snapshot(content("t1", {"content_type": "thoughts", "thoughts": [{"summary": "Plan", "content": "Think"}]})),
        snapshot(content("t1", {"content_type": "thoughts", "thoughts": [{"summary": "Plan", "content": "Think more"}]},
                         status="finished_successfully")),
        snapshot(content("r1", RECAP, status="finished_successfully")),
        snapshot(message(ASSIST_ID, "Done.", status="finished_successfully", end_turn=True)),
    ], [Reasoning("Plan"), Reasoning("\n\nThink"), Reasoning(" more"), Reasoning("\n\nThought for 7s"), "Done.", *END]),
    "legacy o1 thinking in a tool message between initial_text and finished_text": ([
        snapshot(message("th", "Considering the question", role="tool", name="a8km123",
                         metadata={"initial_text": "Thinking", "finished_text": "Thought for 5 seconds"})),
        snapshot(message("th", "Considering the question.", role="tool", name="a8km123", status="finished_successfully",
                         metadata={"initial_text": "Thinking", "finished_text": "Thought for 5 seconds"})),
        snapshot(message(ASSIST_ID, "Yes.", status="finished_successfully", end_turn=True)),
    ], [Reasoning("Considering the question"), Reasoning("."), "Yes.", *END]),
    "v1 max_tokens with a partial completion is length": ([
        V1, add(message(ASSIST_ID, "A long ")), op(PART, "append", "answer"),
        op("", "patch", [{"p": "/message/status", "o": "replace", "v": "finished_partial_completion"},
                         {"p": "/message/end_turn", "o": "replace", "v": False},
                         {"p": "/message/metadata", "o": "append",
                          "v": {"is_complete": True, "finish_details": {"type": "max_tokens"}}}]),
        COMPLETE,
    ], ["A long ", "answer", FinishReason("length"), Conversation(CID, ASSIST_ID)]),
    "legacy max_tokens is length": ([
        snapshot(message(ASSIST_ID, "A long")),
        snapshot(message(ASSIST_ID, "A long answer", status="finished_partial_completion", end_turn=False,
                         metadata={"finish_details": {"type": "max_tokens"}})),
    ], ["A long", " answer", FinishReason("length"), Conversation(CID, ASSIST_ID)]),
}


@pytest.mark.parametrize("name", list(AUTHED_STREAMS))
def test_authenticated_streams(name: str) -> None:
    events, expected = AUTHED_STREAMS[name]
    chunks, decoder = run(events)
    assert chunks == expected
    assert decoder.text == joined(expected)
    finishes = [c for c in chunks if isinstance(c, FinishReason)]
    assert len(finishes) == 1 and decoder.finish_reason == finishes[0].reason
    assert not any(set(c if isinstance(c, str) else c.text) & set(CONTROL_CHARS)
                   for c in chunks if isinstance(c, (str, Reasoning)))


@pytest.mark.parametrize("name, continuable", [
    ("v1 max_tokens with a partial completion is length", True), ("legacy max_tokens is length", True),
    ("v1 search: a citation links to its search result", False),
])
def test_max_tokens_can_be_continued(name: str, continuable: bool) -> None:
    _, decoder = run(AUTHED_STREAMS[name][0])
    assert decoder.continuable is continuable
    assert (decoder.message_id, decoder.conversation_id) == (ASSIST_ID, CID)


def test_continuable_needs_a_finish_and_a_partial_completion_without_details_is_continuable() -> None:
    decoder = WebStreamDecoder()
    feed_all(AUTHED_STREAMS["legacy max_tokens is length"][0], decoder)
    assert not decoder.continuable  # not before finish()
    _, decoder = run([snapshot(message(ASSIST_ID, "cut", status="finished_partial_completion"))])
    assert decoder.continuable and decoder.finish_reason is None
    _, decoder = run([V1, add(message(ASSIST_ID, "x", status="finished_partial_completion",
                                      metadata={"finish_details": {"type": "interrupted"}}))])
    assert not decoder.continuable


SPLIT_TEXT = "Paris " + cite("turn0search0") + " is in " + entity("country", "France", "country in Europe") + "."
SPLIT_EXPECTED = f"Paris [1]({WIKI}) is in France."


def rendered_prefix(at: int) -> str:
    """What the first delta, ``SPLIT_TEXT[:at]``, may show at once: up to an unclosed marker."""
    head = SPLIT_TEXT[:at]
    opener = head.rfind("\ue200")
    if opener >= 0 and head.find("\ue201", opener) < 0:
        head = head[:opener]
    return (head.replace(cite("turn0search0"), f"[1]({WIKI})")
            .replace(entity("country", "France", "country in Europe"), "France"))


def test_markers_split_at_every_position_across_two_deltas() -> None:
    for at in range(len(SPLIT_TEXT) + 1):
        decoder = WebStreamDecoder()
        first = feed_all([*SEARCH_PRELUDE, add(message(ASSIST_ID, SPLIT_TEXT[:at]), 2)], decoder)
        assert joined(first) == rendered_prefix(at), at   # held back only while the marker is open
        rest = feed_all([op(PART, "append", SPLIT_TEXT[at:]), STOP_PATCH, "[DONE]"], decoder) + decoder.finish()
        pieces = [c for c in first + rest if isinstance(c, str)]
        assert "".join(pieces) == SPLIT_EXPECTED, at
        assert not any(set(p) & set(CONTROL_CHARS) for p in pieces)
        # the same split in legacy snapshots
        chunks, _ = run([
            snapshot(message("w1", "", role="tool", status="finished_successfully",
                             metadata={"search_result_groups": SEARCH_GROUPS})),
            snapshot(message(ASSIST_ID, SPLIT_TEXT[:at])),
            snapshot(message(ASSIST_ID, SPLIT_TEXT, status="finished_successfully", end_turn=True)),
        ])
        assert joined(chunks) == SPLIT_EXPECTED, at


def test_an_open_marker_is_held_back_for_a_bounded_stretch_only() -> None:
    decoder = WebStreamDecoder()
    feed_all([V1, add(message(ASSIST_ID, "a \ue200cite\ue202turn0search0")), op(PART, "append", "x" * 200)], decoder)
    assert decoder.text == "a "                       # 218 characters since the opener: still held
    feed_all([op(v="y" * 100)], decoder)              # past STALL_LIMIT: not a marker after all
    assert STALL_LIMIT == 256
    assert decoder.text == "a citeturn0search0" + "x" * 200 + "y" * 100
    feed_all([op(v="\ue201 z")], decoder)             # its late closer is a stray character
    assert decoder.text.endswith("y z")
    # A closed citation whose source never arrives waits for the same stretch, then vanishes.
    decoder = WebStreamDecoder()
    feed_all([V1, add(message(ASSIST_ID, "b " + cite("turn9search9"))), op(PART, "append", "x" * 200)], decoder)
    assert decoder.text == "b "
    feed_all([op(v="x" * 100)], decoder)
    assert decoder.text == "b " + "x" * 300
    # A closer farther than the bound from its opener closes nothing.
    chunks, _ = run([V1, add(message(ASSIST_ID, "c \ue200" + "w" * 300 + "\ue201 d"))])
    assert joined(chunks) == "c " + "w" * 300 + " d"


noisy_text = st.lists(st.sampled_from([
    "\ue200", "\ue201", "\ue202", "\ue203", "\ue204", "\ue206", "\ue250", "\ue2ff", "cite", "entity", "navlist", "i",
    "turn0search0", "turn0news0", "turn9search9", '["city","Lyon","x"]', "a", " ", ",", "Paris", "\ue200cite\ue202",
]), max_size=40).map("".join)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), text=noisy_text, styles=st.lists(st.integers(0, 2), max_size=5),
       where=st.sampled_from(["answer", "answer with sources", "thought", "legacy"]))
def test_no_control_character_is_ever_yielded(data: st.DataObject, text: str, styles: List[int], where: str) -> None:
    points = data.draw(cuts(text))
    if where == "thought":
        pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)])]
        events: List[Event] = [V1, add(content("t1", {"content_type": "thoughts",
                                                      "thoughts": [{"summary": pieces[0], "content": ""}]}))]
        events += [op("/message/content/thoughts/0/content", "append", piece) for piece in pieces[1:]]
    elif where == "legacy":
        events = [snapshot(message(ASSIST_ID, text[:n])) for n in points] + [snapshot(message(ASSIST_ID, text))]
    else:
        events = (SEARCH_PRELUDE if where == "answer with sources" else []) + v1_events(text, points, styles)
    chunks, decoder = run(events)
    for chunk in chunks:
        if isinstance(chunk, (str, Reasoning)):
            assert not set(chunk if isinstance(chunk, str) else chunk.text) & set(CONTROL_CHARS)
    assert decoder.text == joined(chunks)


# ------------------------------------------------------------------- generated images for the provider

def test_image_pointer_patched_in_via_asset_pointer_path_once_with_its_ids() -> None:
    blank = {"content_type": "image_asset_pointer", "asset_pointer": "", "size_bytes": 0, "width": 1024,
             "height": 1024, "metadata": None}
    tool = message(TOOL_ID, [blank], role="tool", name="t2uay3k.sj1i4kz", content_type="multimodal_text")
    chunks, decoder = run([
        V1, ("delta", INPUT_MESSAGE),
        add(message(ASSIST_ID, '{"prompt": "a red fox", "size": "1024x1024"}', recipient="t2uay3k.sj1i4kz",
                    content_type="code", status="finished_successfully")),
        add(tool, 1),
        op("", "patch", [{"p": "/message/content/parts/0/asset_pointer", "o": "replace", "v": "sediment://file_fox"},
                         {"p": "/message/metadata/image_gen_title", "o": "replace", "v": "Red fox"},
                         {"p": "/message/status", "o": "replace", "v": "finished_successfully"}]),
        op("", "patch", [{"p": "/message/metadata/x", "o": "replace", "v": 1}]),   # the message again
        add(message(FINAL_ID, "Here it is."), 2), STOP_PATCH,
    ])
    assert objects(chunks) == [ImageResponse(["sediment://file_fox"], "Red fox"), FinishReason("stop"),
                               Conversation(CID, FINAL_ID)]
    assert decoder.images == [ImagePointer("sediment://file_fox", "file_fox", "Red fox", CID, TOOL_ID,
                                           dict(blank, asset_pointer="sediment://file_fox"))]
    assert decoder.images[0].download_path == f"/backend-api/conversation/{CID}/attachment/file_fox/download"
    assert not decoder.awaiting_images and decoder.image_gen_task_id is None


def test_image_in_a_legacy_event_alt_from_the_tool_prompt() -> None:
    part = image_part("file-service://file-Dog1")
    chunks, decoder = run([
        snapshot(message(ASSIST_ID, '{"prompt": "a dog", "size": "1024x1024"}', recipient="dalle.text2im",
                         content_type="code", status="finished_successfully")),
        snapshot(message(TOOL_ID, [part], role="tool", name="dalle.text2im", content_type="multimodal_text",
                         status="finished_successfully")),
        snapshot(message(FINAL_ID, [part, "A dog."], content_type="multimodal_text",   # echoed: still once
                         status="finished_successfully", end_turn=True)),
    ])
    assert objects(chunks) == [ImageResponse(["file-service://file-Dog1"], "a dog"), FinishReason("stop"),
                               Conversation(CID, FINAL_ID)]
    assert [image.download_path for image in decoder.images] == ["/backend-api/files/file-Dog1/download"]


ASYNC_TASK = "imagegen-task-1"
PROCESSING = ("Processing image\n\nLots of people are creating images right now, so this might take a bit. "
              "We'll notify you when your image is ready.")


def async_image_stream() -> List[Event]:
    return [
        V1, ("delta", INPUT_MESSAGE),
        add(message(ASSIST_ID, '{"prompt": "a red fox", "size": "1024x1024"}', recipient="t2uay3k.sj1i4kz",
                    content_type="code", status="finished_successfully")),
        add(message(TOOL_ID, PROCESSING, role="tool", name="t2uay3k.sj1i4kz", status="finished_successfully",
                    metadata={"image_gen_async": True, "image_gen_task_id": ASYNC_TASK,
                              "async_task_title": "Red fox", "trigger_async_ux": True}), 1),
        COMPLETE,
    ]


def finished_image_message(pointer: str = "sediment://file_fox2",
                           status: str = "finished_successfully") -> Dict[str, Any]:
    part = {"content_type": "image_asset_pointer", "asset_pointer": pointer, "size_bytes": 2048, "width": 1024,
            "height": 1024, "fovea": None,
            "metadata": {"dalle": None, "generation": {"gen_id": "g2", "gen_size": "xlimage", "height": 1024,
                                                        "width": 1024, "transparent_background": False}}}
    return message("ffffffff-0000-4000-8000-000000000005", [part], role="tool", name="t2uay3k.sj1i4kz",
                   content_type="multimodal_text", status=status,
                   metadata={"image_gen_task_id": ASYNC_TASK, "async_task_title": "Red fox"})


def test_async_image_task_from_the_websocket_message_once() -> None:
    chunks, decoder = run(async_image_stream())
    assert not any(isinstance(c, ImageResponse) for c in chunks)
    assert decoder.image_gen_task_id == ASYNC_TASK and decoder.awaiting_images
    ws: Dict[str, Any] = {"type": "conversation-update", "payload": {
        "conversation_id": CID, "update_type": "async-task-update-message",
        "update_content": {"message": finished_image_message(status="in_progress")}}}
    assert decoder.feed_message(ws["payload"]["update_content"]["message"]) == []   # a preview
    assert decoder.awaiting_images
    ws["payload"]["update_content"]["message"] = finished_image_message()
    images = decoder.feed_message(ws["payload"]["update_content"]["message"])
    assert images == [ImageResponse(["sediment://file_fox2"], "Red fox")]
    assert not decoder.awaiting_images
    assert decoder.feed_message(finished_image_message()) == []    # each image once
    assert decoder.images[-1].download_path == f"/backend-api/conversation/{CID}/attachment/file_fox2/download"


def test_async_image_task_by_polling_the_conversation() -> None:
    decoder = WebStreamDecoder()
    feed_all(async_image_stream() + ["[DONE]"], decoder)
    decoder.finish()
    user = message(USER_ID, "Say hello, please", role="user", status="finished_successfully")
    old_image = finished_image_message("sediment://file_from_an_earlier_turn")

    def node(msg: Dict[str, Any], parent: Optional[str]) -> Dict[str, Any]:
        return {"id": msg["id"], "message": msg, "parent": parent, "children": []}

    mapping = {"root": {"id": "root", "message": None, "parent": None, "children": []},
               "old": node(dict(old_image, id="old"), "root"),
               USER_ID: node(user, "old"),
               ASSIST_ID: node(message(ASSIST_ID, "{}", recipient="t2uay3k.sj1i4kz", content_type="code",
                                       status="finished_successfully"), USER_ID),
               TOOL_ID: node(message(TOOL_ID, PROCESSING, role="tool", status="finished_successfully",
                                     metadata={"image_gen_task_id": ASYNC_TASK}), ASSIST_ID)}
    polled = {"title": "Red fox", "current_node": TOOL_ID, "mapping": mapping, "conversation_id": CID}
    assert decoder.feed_conversation(polled) == [] and decoder.awaiting_images   # not there yet
    final = finished_image_message()
    mapping[final["id"]] = node(final, TOOL_ID)
    polled["current_node"] = final["id"]
    assert decoder.feed_conversation(polled) == [ImageResponse(["sediment://file_fox2"], "Red fox")]
    assert decoder.feed_conversation(polled) == [] and not decoder.awaiting_images
    assert [image.url for image in decoder.images] == ["sediment://file_fox2"]   # not the earlier turn's


@pytest.mark.parametrize("url, parsed, path", [
    ("file-service://file-AbC123", ("file-service", "file-AbC123"), "/backend-api/files/file-AbC123/download"),
    ("sediment://file_00000000abc", ("sediment", "file_00000000abc"),
     f"/backend-api/conversation/{CID}/attachment/file_00000000abc/download"),
    ("sediment://", None, None), ("sediment://a/../b", None, None), ("https://x.example/a.png", None, None),
])
def test_pointer_helpers(url: str, parsed: Optional[Tuple[str, str]], path: Optional[str]) -> None:
    assert parse_pointer(url) == parsed
    assert download_path(url, CID) == path
    assert download_path("sediment://file_1", None) is None


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

plain_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters=CONTROL_CHARS),
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
