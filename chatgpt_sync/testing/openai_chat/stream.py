"""The answer stream of the authenticated emulator: a turn of several messages, in both encodings.

An authenticated turn is more than one message (thinking, a search or image tool call and its
result, then the answer), so each message is a :class:`Script`: its first state and the steps it
grows by. The same scripts give both encodings (protocols.md §1.2.8): **v1** sends the first state
as a root ``add`` and each step as one delta line (a lone append, shortened to ``{"v": ...}`` while
it continues the previous line's path, or a ``patch`` batch); **legacy** sends a full snapshot of
the message after every step. What is stored in the conversation tree is each script's final state,
so the stream and ``GET /backend-api/conversation/{id}`` always agree.

SSE framing, the message skeleton and the token splitter are the anonymous emulator's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ..chatgpt_web.stream import INBAND_ERROR, _frame

__all__ = ["INBAND_ERROR", "Op", "Script", "Turn", "apply_ops", "encode", "final_state", "op"]

Op = dict[str, Any]


def op(path: str, kind: str, value: Any) -> Op:
    """One delta op: ``{"p": path, "o": kind, "v": value}``."""
    return {"p": path, "o": kind, "v": value}


@dataclass
class Script:
    """One message of a turn: the state it is announced in, then one op list per stream event."""

    message: dict[str, Any]
    steps: list[list[Op]] = field(default_factory=list)
    marker: bool = False  # the visible answer: a message_marker follows its first text piece


@dataclass
class Turn:
    """Everything one streamed answer carries."""

    conversation_id: str
    echo: dict[str, Any] | None          # the user's message, echoed first (None when continuing)
    scripts: list[Script]
    title: str | None = None              # a new conversation's title_generation
    error: str | None = None              # in-band error after the last script's steps
    title_after_complete: bool = True
    model_slug: str = "auto"
    tool_invoked: bool = False


# ------------------------------------------------------------------------------ applying ops
def _container(doc: Any, tokens: list[str]) -> Any:
    for token in tokens:
        doc = doc[int(token)] if isinstance(doc, list) else doc.setdefault(token, {})
    return doc


def apply_ops(doc: dict[str, Any], ops: list[Op]) -> None:
    """Apply ops (the kinds this emulator sends: append, replace, patch) to an envelope, in place."""
    for item in ops:
        if item["o"] == "patch":
            apply_ops(doc, item["v"])
            continue
        tokens = item["p"].split("/")[1:]
        parent = _container(doc, tokens[:-1])
        key: Any = int(tokens[-1]) if isinstance(parent, list) else tokens[-1]
        if item["o"] == "replace":
            parent[key] = copy.deepcopy(item["v"])
            continue
        current = parent[key] if isinstance(parent, list) else parent.get(key)
        value = copy.deepcopy(item["v"])
        if current is None:
            parent[key] = value
        elif isinstance(current, dict):
            current.update(value)
        elif isinstance(current, list):
            current.extend(value if isinstance(value, list) else [value])
        else:
            parent[key] = current + value


def _envelope(conversation_id: str, message: dict[str, Any]) -> dict[str, Any]:
    return {"message": message, "conversation_id": conversation_id, "error": None}


def final_state(script: Script) -> dict[str, Any]:
    """The message once every step of its script has been applied (what the server stores)."""
    doc = _envelope("", copy.deepcopy(script.message))
    for step in script.steps:
        apply_ops(doc, step)
    message: dict[str, Any] = doc["message"]
    return message


# ------------------------------------------------------------------------------ typed events
def _marker(turn: Turn, message_id: str) -> bytes:
    return _frame({"type": "message_marker", "conversation_id": turn.conversation_id, "message_id": message_id,
                   "marker": "user_visible_token", "event": "first"})


def _tail(turn: Turn) -> list[bytes]:
    cid = turn.conversation_id
    tail = [
        _frame({"type": "server_ste_metadata", "conversation_id": cid,
                "metadata": {"tool_invoked": turn.tool_invoked, "turn_use_case": "text",
                             "model_slug": turn.model_slug, "did_auto_switch_to_reasoning": False}}),
        _frame({"type": "conversation_detail_metadata", "conversation_id": cid, "banner_info": None,
                "blocked_features": [], "model_limits": [], "default_model_slug": "auto",
                "limits_progress": [{"feature_name": "file_upload", "remaining": 80,
                                     "reset_after": None}]}),
    ]
    complete = _frame({"type": "message_stream_complete", "conversation_id": cid})
    if turn.title is None:
        tail.append(complete)
    else:
        title = _frame({"type": "title_generation", "title": turn.title, "conversation_id": cid})
        tail += [complete, title] if turn.title_after_complete else [title, complete]
    return tail


def _error(turn: Turn) -> list[bytes]:
    return [_frame({"message": None, "conversation_id": turn.conversation_id, "error": turn.error}),
            _frame("[DONE]")]


# ------------------------------------------------------------------------------ v1
def _v1(turn: Turn) -> list[bytes]:
    frames = [_frame('"v1"', "delta_encoding")]
    if turn.echo is not None:
        frames.append(_frame({"type": "input_message", "input_message": turn.echo,
                              "conversation_id": turn.conversation_id}))
    for counter, script in enumerate(turn.scripts):
        frames.append(_frame({"p": "", "o": "add", "v": _envelope(turn.conversation_id, script.message),
                              "c": counter}, "delta"))
        last: tuple[str, str] | None = None
        marked = not script.marker
        for step in script.steps:
            if len(step) == 1 and step[0]["o"] == "append" and isinstance(step[0]["v"], str):
                here = (step[0]["p"], step[0]["o"])
                # Continuations of the previous line's path and op are sent as a bare {"v": ...}.
                line = {"v": step[0]["v"]} if here == last else dict(step[0])
                last = here
            else:
                line = {"p": "", "o": "patch", "v": step} if len(step) > 1 else dict(step[0])
                last = None
            frames.append(_frame(line, "delta"))
            if not marked and any(item["p"] == "/message/content/parts/0" for item in step):
                # Real streams put a typed marker after the first visible token, between an append
                # and its shorthand followers.
                marked = True
                frames.append(_marker(turn, script.message["id"]))
    if turn.error is not None:
        return frames + _error(turn)
    return frames + _tail(turn) + [_frame("[DONE]")]


# ------------------------------------------------------------------------------ legacy
def _legacy(turn: Turn) -> list[bytes]:
    frames = []
    if turn.echo is not None:
        frames.append(_frame(_envelope(turn.conversation_id, turn.echo)))
    for script in turn.scripts:
        doc = _envelope(turn.conversation_id, copy.deepcopy(script.message))
        frames.append(_frame(doc))
        for step in script.steps:
            apply_ops(doc, step)
            frames.append(_frame(doc))
    if turn.error is not None:
        return frames + _error(turn)
    return frames + _tail(turn) + [_frame("[DONE]")]


def encode(turn: Turn, *, v1: bool) -> list[bytes]:
    """All SSE frames of a turn, one event each (the unit the drop and stall faults count)."""
    return _v1(turn) if v1 else _legacy(turn)
