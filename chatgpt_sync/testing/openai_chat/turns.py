"""What an authenticated turn says: the messages of one answer, as :class:`~.stream.Script` objects.

A turn is a chain under the user's message: an optional thinking message (``content_type``
``thoughts``) and its ``reasoning_recap``; an optional web search (a call addressed to ``web.run``,
then the tool's result); an optional image generation (a call to the image tool, then the tool's
``image_asset_pointer`` message, or, for an async task, a "processing" message carrying
``image_gen_task_id``); then the visible answer, whose text may carry citation markers
(U+E200 ``cite`` U+E202 ``turn0search0`` U+E201) resolved by its ``content_references``.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..chatgpt_web.stream import StreamPlan, _message, split_tokens
from .stream import Op, Script, Turn, final_state, op

__all__ = ["ASYNC_IMAGE_TEXT", "GeneratedImage", "TurnSpec", "BuiltTurn", "build_turn", "image_part",
           "search_results", "search_text", "thought_texts"]

OPEN, CLOSE, SEP = "\ue200", "\ue201", "\ue202"
ASYNC_IMAGE_TEXT = ("Processing image\n\nLots of people are creating images right now, so this might take a "
                    "bit. We'll notify you when your image is ready.")
_DALLE = "dalle.text2im"
_IMAGE_TOOL = "t2uay3k.sj1i4kz"
_STOP_TOKENS = [200002]
_TOOL_STOP_TOKENS = [200007]


@dataclass(frozen=True)
class GeneratedImage:
    """An image the emulator made for a turn (its bytes are on the blob store)."""

    file_id: str
    pointer: str            # file-service://file-... or sediment://file_...
    width: int
    height: int
    size_bytes: int
    preview_pointer: str | None = None


@dataclass(frozen=True)
class TurnSpec:
    """Everything the emulator decided about one answer."""

    conversation_id: str
    parent_id: str                      # the message the first new one hangs under
    model_slug: str
    prompt: str
    answer_id: str
    answer_text: str                    # the text this stream adds to the answer
    message_type: str = "next"          # next | continue | variant
    finish: str = "stop"                # stop | max_tokens
    continued: dict[str, Any] | None = None  # action "continue": the stored answer it extends
    thinking: bool = False
    search: bool = False
    image: str | None = None            # None | "dalle" | "gpt-image" | "async"
    generated: GeneratedImage | None = None
    task_id: str | None = None
    error: str | None = None            # an in-band error cuts the answer in half
    gizmo_id: str | None = None


@dataclass
class BuiltTurn:
    turn: Turn
    stored: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (final message, parent id)
    task: tuple[str, dict[str, Any]] | None = None  # async image: (message id, its finished state)


def thought_texts(prompt: str) -> list[tuple[str, str]]:
    """The (summary, content) pairs of the thinking message for ``prompt``."""
    return [("Reading the question", f"The user wrote: {prompt}"),
            ("Planning the answer", "A short, direct reply will do.")]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "query"


def search_results(query: str) -> list[dict[str, Any]]:
    """The search results the emulator "finds" for ``query`` (URLs carry the service's utm tail)."""
    slug = _slug(query)
    rows = [("search", 0, "docs.python.org", f"https://docs.python.org/3/search.html?q={slug}",
             "Search — Python documentation"),
            ("search", 1, "en.wikipedia.org", f"https://en.wikipedia.org/wiki/{slug}", f"{query} - Wikipedia"),
            ("news", 0, "news.example.com", f"https://news.example.com/{slug}", f"Latest news on {query}")]
    return [{"type": "search_result", "url": url + ("&" if "?" in url else "?") + "utm_source=chatgpt.com",
             "title": title, "snippet": f"{title}: what the page says about {query}.",
             "ref_id": {"turn_index": 0, "ref_type": kind, "ref_index": index}, "pub_date": None,
             "attribution": domain} for kind, index, domain, url, title in rows]


def search_text(base: str) -> str:
    """The answer text of a search turn, citation and entity markers included."""
    return (f"{base} Sources agree{OPEN}cite{SEP}turn0search0{SEP}turn0search1{CLOSE}, and the "
            f'{OPEN}entity{SEP}["software","Python","programming language"]{CLOSE} docs say more'
            f"{OPEN}cite{SEP}turn0news0{CLOSE}.")


def _references(text: str, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_ref = {f"turn0{r['ref_id']['ref_type']}{r['ref_id']['ref_index']}": r for r in results}
    refs: list[dict[str, Any]] = []
    for match in re.finditer(f"{OPEN}([^{CLOSE}]*){CLOSE}", text):
        fields = match.group(1).split(SEP)
        base = {"matched_text": match.group(0), "start_idx": match.start(), "end_idx": match.end()}
        if fields[0] == "entity":
            refs.append({**base, "type": "entity", "name": json.loads(fields[1])[1], "alt": None})
            continue
        items = [by_ref[f] for f in fields[1:] if f in by_ref]
        refs.append({**base, "type": "grouped_webpages", "refs": [i["ref_id"] for i in items],
                     "alt": " ".join(f"([{i['attribution']}]({i['url']}))" for i in items), "prompt_text": None,
                     "items": [{"title": i["title"], "url": i["url"], "snippet": i["snippet"], "pub_date": None,
                                "attribution": i["attribution"], "refs": [i["ref_id"]], "supporting_websites": []}
                               for i in items],
                     "safe_urls": [i["url"] for i in items], "status": "done", "error": None})
    refs.append({"matched_text": " ", "start_idx": len(text), "end_idx": len(text), "type": "sources_footnote",
                 "sources": [{"title": r["title"], "url": r["url"], "attribution": r["attribution"]}
                             for r in results], "has_images": False})
    return refs


def _finish(finish: str, extra: dict[str, Any] | None = None) -> list[Op]:
    details: dict[str, Any] = {"type": finish}
    if finish == "stop":
        details["stop_tokens"] = _STOP_TOKENS
    return [op("/message/status", "replace", "finished_successfully"),
            op("/message/end_turn", "replace", finish == "stop"),
            op("/message/metadata", "append", {"is_complete": True, "finish_details": details, **(extra or {})})]


def _tool_call(plan: StreamPlan, parent: str, recipient: str, payload: dict[str, Any]) -> Script:
    message = _message(plan, message_id=str(uuid.uuid4()), role="assistant", recipient=recipient,
                       status="in_progress", content={"content_type": "code", "language": "unknown", "text": ""},
                       metadata={"parent_id": parent})
    code = json.dumps(payload, ensure_ascii=False)
    half = len(code) // 2
    steps = [[op("/message/content/text", "append", code[:half])],
             [op("/message/content/text", "append", code[half:])],
             [op("/message/status", "replace", "finished_successfully"), op("/message/end_turn", "replace", False),
              op("/message/metadata", "append", {"is_complete": True, "finish_details": {
                  "type": "stop", "stop_tokens": _TOOL_STOP_TOKENS}})]]
    return Script(message, steps)


def _thinking(plan: StreamPlan, spec: TurnSpec, parent: str) -> list[Script]:
    thoughts_id = str(uuid.uuid4())
    message = _message(plan, message_id=thoughts_id, role="assistant", status="in_progress",
                       content={"content_type": "thoughts", "thoughts": [], "source_analysis_msg_id": str(uuid.uuid4())},
                       metadata={"parent_id": parent, "reasoning_status": "is_reasoning"})
    steps: list[list[Op]] = []
    for index, (summary, content) in enumerate(thought_texts(spec.prompt)):
        steps.append([op("/message/content/thoughts", "append",
                         [{"summary": summary, "content": "", "chunks": [], "finished": False}])])
        steps += [[op(f"/message/content/thoughts/{index}/content", "append", piece)]
                  for piece in split_tokens(content)]
        steps.append([op(f"/message/content/thoughts/{index}/finished", "replace", True)])
    steps.append([op("/message/status", "replace", "finished_successfully"),
                  op("/message/metadata", "append", {"finished_text": "Thought for 2s",
                                                     "reasoning_status": "reasoning_ended"})])
    recap = _message(plan, message_id=str(uuid.uuid4()), role="assistant", status="finished_successfully",
                     content={"content_type": "reasoning_recap", "content": "Thought for 2s"},
                     metadata={"parent_id": thoughts_id, "reasoning_status": "reasoning_ended",
                               "finished_duration_sec": 2})
    return [Script(message, steps), Script(recap)]


def _search(plan: StreamPlan, spec: TurnSpec, parent: str) -> list[Script]:
    call = _tool_call(plan, parent, "web.run", {"search_query": [{"q": spec.prompt, "recency": None}]})
    groups = _groups(search_results(spec.prompt))
    result = _message(plan, message_id=str(uuid.uuid4()), role="tool", name="web.run",
                      status="finished_successfully", content={"content_type": "text", "parts": [""]},
                      metadata={"parent_id": call.message["id"], "search_result_groups": groups,
                                "is_visually_hidden_from_conversation": True})
    return [call, Script(result)]


def _groups(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "search_result_group", "domain": r["attribution"], "entries": [r]} for r in results]


def image_part(image: GeneratedImage, prompt: str, pointer: str | None = None) -> dict[str, Any]:
    """The ``image_asset_pointer`` content part of a generated image."""
    return {"content_type": "image_asset_pointer", "asset_pointer": pointer or image.pointer,
            "size_bytes": image.size_bytes, "width": image.width, "height": image.height, "fovea": None,
            "metadata": {"dalle": {"gen_id": image.file_id[-12:], "prompt": prompt, "seed": 42,
                                   "parent_gen_id": None, "edit_op": None,
                                   "serialization_title": "DALL-E generation metadata"},
                         "generation": {"gen_id": image.file_id[-12:], "gen_size": "image",
                                        "width": image.width, "height": image.height,
                                        "transparent_background": False},
                         "container_pixel_height": image.height, "container_pixel_width": image.width}}


def _image(plan: StreamPlan, spec: TurnSpec, parent: str) -> tuple[list[Script], dict[str, Any] | None]:
    image, title = spec.generated, spec.prompt[:60]
    assert image is not None
    tool = _DALLE if spec.image == "dalle" else _IMAGE_TOOL
    call = _tool_call(plan, parent, tool, {"prompt": spec.prompt, "size": f"{image.width}x{image.height}", "n": 1})
    meta = {"parent_id": call.message["id"], "image_gen_title": None}
    result_id = str(uuid.uuid4())
    if spec.image == "async":
        content = {"content_type": "text", "parts": [ASYNC_IMAGE_TEXT]}
        pending = _message(plan, message_id=result_id, role="tool", name=tool, status="finished_successfully",
                           content=content, metadata={**meta, "image_gen_task_id": spec.task_id,
                                                      "async_task_title": title, "image_gen_async": True,
                                                      "trigger_async_ux": True})
        done = {**pending, "status": "finished_successfully",
                "content": {"content_type": "multimodal_text", "parts": [image_part(image, spec.prompt)]},
                "metadata": {**pending["metadata"], "image_gen_title": title}}
        return [call, Script(pending)], done
    if spec.image == "dalle":
        result = _message(plan, message_id=result_id, role="tool", name=tool, status="finished_successfully",
                          content={"content_type": "multimodal_text", "parts": [image_part(image, spec.prompt)]},
                          metadata={**meta, "image_gen_title": title})
        return [call, Script(result)], None
    # gpt-image: a preview first, then the final pointer patched in with the status, as one batch.
    preview = _message(plan, message_id=result_id, role="tool", name=tool, status="in_progress",
                       content={"content_type": "multimodal_text",
                                "parts": [image_part(image, spec.prompt, image.preview_pointer)]},
                       metadata={**meta, "image_gen_async": False})
    steps = [[op("/message/content/parts/0/asset_pointer", "replace", image.pointer),
              op("/message/status", "replace", "finished_successfully"),
              op("/message/metadata/image_gen_title", "replace", title)]]
    return [call, Script(preview, steps)], None


def _answer(plan: StreamPlan, spec: TurnSpec, parent: str) -> Script:
    if spec.continued is not None:
        message = {**spec.continued, "status": "in_progress", "end_turn": None,
                   "metadata": {k: v for k, v in spec.continued["metadata"].items()
                                if k not in ("finish_details", "is_complete")} | {"message_type": "continue"}}
    else:
        message = _message(plan, message_id=spec.answer_id, role="assistant", content={
            "content_type": "text", "parts": [""]}, status="in_progress",
            metadata={"parent_id": parent, "message_type": spec.message_type,
                      **({"gizmo_id": spec.gizmo_id} if spec.gizmo_id else {})})
    steps: list[list[Op]] = []
    results = search_results(spec.prompt) if spec.search else []
    if results:
        steps.append([op("/message/metadata/search_result_groups", "append", _groups(results))])
    tokens = [t for t in split_tokens(spec.answer_text) if t]
    if spec.error is not None:
        tokens = tokens[: max(1, len(tokens) // 2)]
        steps += [[op("/message/content/parts/0", "append", t)] for t in tokens]
        return Script(message, steps, marker=bool(tokens))
    *body, last = tokens or [""]
    steps += [[op("/message/content/parts/0", "append", t)] for t in body]
    full_text = (message["content"]["parts"][0] or "") + spec.answer_text
    extra = {"content_references": _references(full_text, results)} if results else None
    steps.append([op("/message/content/parts/0", "append", last), *_finish(spec.finish, extra)])
    return Script(message, steps, marker=True)


def build_turn(spec: TurnSpec, *, echo: dict[str, Any] | None, title: str | None,
               title_after_complete: bool = True) -> BuiltTurn:
    """The scripts of one answer, and what the conversation tree stores for it."""
    plan = StreamPlan(conversation_id=spec.conversation_id, assistant_id=spec.answer_id, user_id=spec.parent_id,
                      user_text=spec.prompt, model_slug=spec.model_slug, reply=spec.answer_text, title=title,
                      v1=True)
    scripts: list[Script] = []
    task = None
    if spec.continued is None:
        if spec.thinking:
            scripts += _thinking(plan, spec, spec.parent_id)
        if spec.search:
            scripts += _search(plan, spec, scripts[-1].message["id"] if scripts else spec.parent_id)
        if spec.image is not None:
            image_scripts, done = _image(plan, spec, scripts[-1].message["id"] if scripts else spec.parent_id)
            scripts += image_scripts
            if done is not None:
                task = (done["id"], done)
    answer_parent = scripts[-1].message["id"] if scripts else spec.parent_id
    scripts.append(_answer(plan, spec, answer_parent))
    turn = Turn(conversation_id=spec.conversation_id, echo=echo, scripts=scripts, title=title, error=spec.error,
                title_after_complete=title_after_complete, model_slug=spec.model_slug,
                tool_invoked=spec.search or spec.image is not None)
    parents = [spec.parent_id] + [s.message["id"] for s in scripts[:-1]]
    if spec.continued is not None:
        parents = [str(spec.continued["metadata"].get("parent_id") or spec.parent_id)]
    built = BuiltTurn(turn, [(final_state(s), p) for s, p in zip(scripts, parents)], task)
    if task is not None:  # stored as still running until the task completes
        for message, _ in built.stored:
            if message["id"] == task[0]:
                message["status"] = "in_progress"
    return built
