"""The conversation stream of the ChatGPT web emulator, as a list of SSE frames.

Two encodings (protocols.md §1.2.8): **legacy** full-message snapshots, and **v1** delta patches with
typed events. Both carry the traps real streams carry: the user's own message echoed back, an optional
tool call addressed to ``python``, typed events between shorthand ``{"v": ...}`` continuations, the
title after ``message_stream_complete``, and an answer that repeats itself ("haha").
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

__all__ = ["INBAND_ERROR", "StreamPlan", "build_frames", "make_title", "split_tokens"]

INBAND_ERROR = "Something went wrong while generating the response."
# Stop tokens as the real server reports them in finish_details (values from captured streams).
_STOP_TOKENS = [200002]
_TOOL_STOP_TOKENS = [200007]
_TOOL_CODE = ["import math\n", "print(", "math.sqrt(16))"]
_TOOL_OUTPUT = "4.0"


@dataclass(frozen=True)
class StreamPlan:
    """Everything one streamed answer needs."""

    conversation_id: str
    assistant_id: str
    user_id: str
    user_text: str
    model_slug: str
    reply: str
    title: str | None  # None: not a new conversation, so no title_generation event
    v1: bool
    tool_message: bool = False
    inband_error: bool = False
    title_after_complete: bool = True


def split_tokens(text: str) -> list[str]:
    """Split ``text`` into small pieces (two visible characters, with leading blanks) that join back exactly."""
    return re.findall(r"\s*\S{1,2}|\s+", text) or [""]


def make_title(text: str) -> str:
    """A short title from the first user message, as title_generation would produce."""
    words = text.split()[:5]
    return " ".join(words).capitalize() if words else "New chat"


def _frame(data: Any, event: str | None = None) -> bytes:
    # Raw UTF-8 on the wire (ensure_ascii=False), so clients must decode multibyte text properly.
    line = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {line}\n\n".encode()


def _message(plan: StreamPlan, *, message_id: str, role: str, content: dict[str, Any], status: str,
             recipient: str = "all", end_turn: bool | None = None,
             metadata: dict[str, Any] | None = None, name: str | None = None) -> dict[str, Any]:
    base_meta: dict[str, Any] = {"citations": [], "content_references": [], "message_type": "next",
                                 "model_slug": plan.model_slug, "default_model_slug": "auto",
                                 "parent_id": plan.user_id}
    return {
        "id": message_id, "author": {"role": role, "name": name, "metadata": {}},
        "create_time": round(time.time(), 3), "update_time": None, "content": content,
        "status": status, "end_turn": end_turn, "weight": 1.0,
        "metadata": {**base_meta, **(metadata or {})}, "recipient": recipient, "channel": None,
    }


def _text(parts: str) -> dict[str, Any]:
    return {"content_type": "text", "parts": [parts]}


def _user_echo(plan: StreamPlan) -> dict[str, Any]:
    echo = _message(plan, message_id=plan.user_id, role="user", content=_text(plan.user_text),
                    status="finished_successfully", metadata={"message_type": None})
    echo["metadata"].pop("parent_id")
    return echo


def _finish_meta(stop_tokens: list[int]) -> dict[str, Any]:
    return {"is_complete": True, "finish_details": {"type": "stop", "stop_tokens": stop_tokens}}


def _envelope(plan: StreamPlan, message: dict[str, Any]) -> dict[str, Any]:
    return {"message": message, "conversation_id": plan.conversation_id, "error": None}


def _error_frame(plan: StreamPlan) -> bytes:
    return _frame({"message": None, "conversation_id": plan.conversation_id, "error": INBAND_ERROR})


def _tool_messages(plan: StreamPlan) -> tuple[str, str]:
    # Deterministic per answer, so a test can find these ids in the stream if it wants to.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, plan.assistant_id + "/code")), \
        str(uuid.uuid5(uuid.NAMESPACE_URL, plan.assistant_id + "/output"))


# ------------------------------------------------------------------------------ v1 (delta encoding)
def _v1_tool(plan: StreamPlan) -> list[bytes]:
    code_id, output_id = _tool_messages(plan)
    code = _message(plan, message_id=code_id, role="assistant", recipient="python", status="in_progress",
                    content={"content_type": "code", "language": "unknown", "text": ""})
    frames = [_frame({"p": "", "o": "add", "v": _envelope(plan, code), "c": 0}, "delta"),
              _frame({"p": "/message/content/text", "o": "append", "v": _TOOL_CODE[0]}, "delta")]
    # Bare continuations of a non-text path: a client that ignores the recipient leaks code here.
    frames += [_frame({"v": piece}, "delta") for piece in _TOOL_CODE[1:]]
    frames.append(_frame({"p": "", "o": "patch", "v": [
        {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
        {"p": "/message/end_turn", "o": "replace", "v": False},
        {"p": "/message/metadata", "o": "append", "v": _finish_meta(_TOOL_STOP_TOKENS)},
    ]}, "delta"))
    output = _message(plan, message_id=output_id, role="tool", name="python", status="finished_successfully",
                      content={"content_type": "execution_output", "text": _TOOL_OUTPUT})
    frames.append(_frame({"p": "", "o": "add", "v": _envelope(plan, output), "c": 1}, "delta"))
    return frames


def _v1_frames(plan: StreamPlan) -> list[bytes]:
    cid = plan.conversation_id
    frames = [_frame('"v1"', "delta_encoding"),
              _frame({"type": "input_message", "input_message": _user_echo(plan), "conversation_id": cid})]
    counter = 0
    if plan.tool_message:
        frames += _v1_tool(plan)
        counter = 2
    answer = _message(plan, message_id=plan.assistant_id, role="assistant", content=_text(""),
                      status="in_progress")
    frames.append(_frame({"p": "", "o": "add", "v": _envelope(plan, answer), "c": counter}, "delta"))
    tokens = split_tokens(plan.reply)
    *body, last = tokens
    if plan.inband_error:
        shown = body[: max(1, len(body) // 2)] if body else [last]
        frames.append(_frame({"p": "/message/content/parts/0", "o": "append", "v": shown[0]}, "delta"))
        frames += [_frame({"v": tok}, "delta") for tok in shown[1:]]
        return frames + [_error_frame(plan), _frame("[DONE]")]
    for i, tok in enumerate(body):
        if i == 0:
            frames.append(_frame({"p": "/message/content/parts/0", "o": "append", "v": tok}, "delta"))
            # Real streams put a typed marker between the first append and its shorthand followers.
            frames.append(_frame({"type": "message_marker", "conversation_id": cid,
                                  "message_id": plan.assistant_id, "marker": "user_visible_token",
                                  "event": "first"}))
        else:
            frames.append(_frame({"v": tok}, "delta"))
    frames.append(_frame({"p": "", "o": "patch", "v": [
        {"p": "/message/content/parts/0", "o": "append", "v": last},
        {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
        {"p": "/message/end_turn", "o": "replace", "v": True},
        {"p": "/message/metadata", "o": "append", "v": _finish_meta(_STOP_TOKENS)},
    ]}, "delta"))
    return frames + _v1_tail(plan)


def _v1_tail(plan: StreamPlan) -> list[bytes]:
    cid = plan.conversation_id
    complete = _frame({"type": "message_stream_complete", "conversation_id": cid})
    tail = [_frame({"type": "server_ste_metadata", "conversation_id": cid,
                    "metadata": {"tool_invoked": plan.tool_message, "turn_use_case": "text"}})]
    if plan.title is None:
        tail.append(complete)
    else:
        title = _frame({"type": "title_generation", "title": plan.title, "conversation_id": cid})
        tail += [complete, title] if plan.title_after_complete else [title, complete]
    return tail + [_frame("[DONE]")]


# ------------------------------------------------------------------------------ legacy snapshots
def _legacy_tool(plan: StreamPlan) -> list[bytes]:
    code_id, output_id = _tool_messages(plan)
    frames: list[bytes] = []
    code = ""
    for i, piece in enumerate(_TOOL_CODE):
        code += piece
        done = i == len(_TOOL_CODE) - 1
        msg = _message(plan, message_id=code_id, role="assistant", recipient="python",
                       status="finished_successfully" if done else "in_progress",
                       end_turn=False if done else None,
                       metadata=_finish_meta(_TOOL_STOP_TOKENS) if done else None,
                       content={"content_type": "code", "language": "unknown", "text": code})
        frames.append(_frame(_envelope(plan, msg)))
    output = _message(plan, message_id=output_id, role="tool", name="python", status="finished_successfully",
                      content={"content_type": "execution_output", "text": _TOOL_OUTPUT})
    frames.append(_frame(_envelope(plan, output)))
    return frames


def _legacy_frames(plan: StreamPlan) -> list[bytes]:
    frames = [_frame(_envelope(plan, _user_echo(plan)))]
    if plan.tool_message:
        frames += _legacy_tool(plan)
    tokens = split_tokens(plan.reply)
    if plan.inband_error:
        tokens = tokens[: max(1, len(tokens) // 2)]
    text = ""
    for tok in tokens:
        text += tok
        msg = _message(plan, message_id=plan.assistant_id, role="assistant", content=_text(text),
                       status="in_progress")
        frames.append(_frame(_envelope(plan, msg)))
    if plan.inband_error:
        return frames + [_error_frame(plan), _frame("[DONE]")]
    # The closing snapshot repeats the whole text; only status and finish details are new.
    final = _message(plan, message_id=plan.assistant_id, role="assistant", content=_text(text),
                     status="finished_successfully", end_turn=True, metadata=_finish_meta(_STOP_TOKENS))
    frames.append(_frame(_envelope(plan, final)))
    if plan.title is not None:
        frames.append(_frame({"type": "title_generation", "title": plan.title,
                              "conversation_id": plan.conversation_id}))
    return frames + [_frame("[DONE]")]


def build_frames(plan: StreamPlan) -> list[bytes]:
    """All SSE frames of one answer, in order; each frame is one event (the unit drop/stall count)."""
    return _v1_frames(plan) if plan.v1 else _legacy_frames(plan)
