"""Reply planning and rendering for the OpenAI API emulator.

Pure functions, no sockets: :mod:`chatgpt_sync.testing.openai_api` turns a validated body into a
:class:`Plan` (what each choice says, split into stream pieces) and renders it either as one
``chat.completion`` object or as a list of ready-to-write SSE events.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import zip_longest
from typing import Any

__all__ = ["Plan", "build_plan", "completion_json", "stream_events", "stream_head", "delta_event",
           "images_json", "PNG_BYTES", "REASONING_MODELS", "INBAND_ERROR"]

REASONING_MODELS = frozenset({"deepseek-reasoner"})
REASONING_TEXT = "Thinking about it."
REFUSAL_TEXT = "I can't help with that."
INBAND_ERROR = {"message": "The server had an error while processing your request.", "type": "server_error"}
_TOKEN = re.compile(r"\s*\S+|\s+$")


# ------------------------------------------------------------------------------------ planning
def split_tokens(text: str) -> tuple[str, ...]:
    """Words keeping their leading whitespace; joined they give ``text`` back exactly."""
    return tuple(_TOKEN.findall(text))


@lru_cache(maxsize=8)
def numbered_tokens(count: int) -> tuple[str, ...]:
    return tuple(f" tok{i}" for i in range(count))


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p["text"] for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


@dataclass
class Choice:
    """What one choice says, already split into the pieces a stream sends."""

    index: int
    content: tuple[str, ...] | None = None
    refusal: tuple[str, ...] | None = None
    reasoning: tuple[str, ...] = ()
    tool_calls: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)  # (id, name, fragments)
    finish_reason: str = "stop"

    def pieces(self) -> int:
        return (len(self.content or ()) + len(self.refusal or ()) + len(self.reasoning)
                + sum(len(frags) for _, _, frags in self.tool_calls))


@dataclass
class Plan:
    """A whole answer: choices, usage numbers and whether it fails mid-stream."""

    model: str
    choices: list[Choice]
    prompt_tokens: int
    include_usage: bool = False
    inband_error: bool = False
    logprobs: bool = False

    def usage(self) -> dict[str, Any]:
        completion = sum(c.pieces() for c in self.choices)
        usage: dict[str, Any] = {"prompt_tokens": self.prompt_tokens, "completion_tokens": completion,
                                 "total_tokens": self.prompt_tokens + completion}
        reasoning = sum(len(c.reasoning) for c in self.choices)
        if reasoning:
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        return usage


def _tool_calls(body: dict[str, Any], user_text: str) -> list[tuple[str, str, tuple[str, ...]]]:
    names = [tool["function"]["name"] for tool in body["tools"]]
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        names = [choice["function"]["name"]]
    elif body.get("parallel_tool_calls") is False:
        names = names[:1]
    arguments = json.dumps({"query": user_text})
    step = -(-len(arguments) // 3)  # ceil, so the arguments always arrive in three fragments
    fragments = tuple(arguments[i:i + step] for i in range(0, len(arguments), step))
    return [(f"call_{i}", name, fragments) for i, name in enumerate(names[:2])]


def build_plan(body: dict[str, Any], reply: str | None, stream_tokens: int | None) -> Plan:
    """Decide, deterministically from the request, what the answer says."""
    messages = body["messages"]
    user_text = next((_text_of(m.get("content")) for m in reversed(messages) if m["role"] == "user"), "")
    prompt_tokens = sum(len(_text_of(m.get("content")).split()) for m in messages)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    stops = [body["stop"]] if isinstance(body.get("stop"), str) else body.get("stop") or []
    reasoning = split_tokens(REASONING_TEXT) if body["model"] in REASONING_MODELS else ()
    # A finished tool round (last message from a tool) gets text, or a tool loop would never end.
    wants_tools = bool(body.get("tools")) and body.get("tool_choice") != "none" and messages[-1]["role"] != "tool"
    text = reply if reply is not None else "Echo: " + user_text
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        text = json.dumps(schema_instance(fmt["json_schema"].get("schema") or {}, text))
    elif fmt.get("type") == "json_object":
        text = json.dumps({"echo": text})
    for stop in stops:
        if stop and stop in text:
            text = text[:text.index(stop)]
    count = body.get("n") or 1
    choices = []
    for i in range(count):
        choice = Choice(index=i, reasoning=reasoning)
        if "REFUSE" in user_text:
            choice.refusal, choice.reasoning = split_tokens(REFUSAL_TEXT), ()
        elif wants_tools:
            choice.tool_calls, choice.finish_reason = _tool_calls(body, user_text), "tool_calls"
        else:
            if stream_tokens is not None:
                tokens = numbered_tokens(stream_tokens)
                tokens = (f"[{i}]",) + tokens if count > 1 else tokens
            else:
                tokens = split_tokens(f"[{i}] {text}" if count > 1 else text)
            if limit is not None and len(tokens) > limit:
                tokens, choice.finish_reason = tokens[:limit], "length"
            choice.content = tokens
        choices.append(choice)
    include_usage = bool(body.get("stream") and (body.get("stream_options") or {}).get("include_usage"))
    return Plan(SERVED_MODELS.get(body["model"], body["model"]), choices, prompt_tokens, include_usage,
                "INBAND_ERROR" in user_text, bool(body.get("logprobs")))


def schema_instance(schema: Any, text: str, defs: dict[str, Any] | None = None) -> Any:
    """A value that satisfies ``schema`` (the structured-output subset), deterministically: strings
    are the echo text, numbers 1, booleans true, arrays one item, enums their first value."""
    if not isinstance(schema, dict):
        return None
    defs = defs if defs is not None else schema.get("$defs") or {}
    if "$ref" in schema:
        return schema_instance(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), text, defs)
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return schema_instance(schema[key][0], text, defs)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {name: schema_instance(sub, text, defs) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [schema_instance(schema.get("items") or {}, text, defs)]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return text


# Like api.openai.com, an alias is answered by a dated snapshot, and the answer names the snapshot.
SERVED_MODELS = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18", "gpt-4o": "gpt-4o-2024-08-06"}
SYSTEM_FINGERPRINT = "fp_e5a2b3c4d1"


def token_logprobs(tokens: tuple[str, ...]) -> list[dict[str, Any]]:
    """Deterministic per-token log probabilities in OpenAI's shape."""
    return [{"token": t, "logprob": round(-0.01 * (i + 1), 4), "bytes": list(t.encode()), "top_logprobs": []}
            for i, t in enumerate(tokens)]


# ------------------------------------------------------------------------------------ rendering
def completion_json(plan: Plan, completion_id: str, created: int) -> dict[str, Any]:
    """The non-streamed ``chat.completion`` object."""
    choices = []
    for c in plan.choices:
        message: dict[str, Any] = {"role": "assistant",
                                   "content": None if c.content is None else "".join(c.content),
                                   "refusal": None if c.refusal is None else "".join(c.refusal)}
        if c.reasoning:
            message["reasoning_content"] = "".join(c.reasoning)
        if c.tool_calls:
            message["tool_calls"] = [{"id": call_id, "type": "function",
                                      "function": {"name": name, "arguments": "".join(frags)}}
                                     for call_id, name, frags in c.tool_calls]
        logprobs = ({"content": token_logprobs(c.content or ()), "refusal": None} if plan.logprobs else None)
        choices.append({"index": c.index, "message": message, "logprobs": logprobs,
                        "finish_reason": c.finish_reason})
    return {"id": completion_id, "object": "chat.completion", "created": created, "model": plan.model,
            "choices": choices, "usage": plan.usage(), "system_fingerprint": SYSTEM_FINGERPRINT}


def _fragment(index: int, delta: dict[str, Any], finish: str | None = None,
              logprobs: dict[str, Any] | None = None) -> bytes:
    choice: dict[str, Any] = {"index": index, "delta": delta, "finish_reason": finish}
    if logprobs is not None:
        choice["logprobs"] = logprobs
    return b'"choices":[' + json.dumps(choice, separators=(",", ":")).encode() + b"]}\n\n"


@lru_cache(maxsize=16)
def _content_fragments(tokens: tuple[str, ...], index: int) -> tuple[bytes, ...]:
    # The benchmark path: 20,000 tokens must not cost 20,000 json.dumps calls per request.
    return tuple(_fragment(index, {"content": token}) for token in tokens)


def _choice_fragments(c: Choice, logprobs: bool = False) -> list[bytes]:
    first: dict[str, Any] = {"role": "assistant", "content": "" if c.content is not None else None}
    frags = [_fragment(c.index, first)]
    frags += [_fragment(c.index, {"reasoning_content": piece}) for piece in c.reasoning]
    if c.content is not None and logprobs:
        frags += [_fragment(c.index, {"content": token}, None, {"content": token_logprobs((token,)), "refusal": None})
                  for token in c.content]
    elif c.content is not None:
        frags += _content_fragments(c.content, c.index)
    frags += [_fragment(c.index, {"refusal": piece}) for piece in c.refusal or ()]
    for n, (call_id, name, pieces) in enumerate(c.tool_calls):
        opening = {"index": n, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
        frags.append(_fragment(c.index, {"tool_calls": [opening]}))
        frags += [_fragment(c.index, {"tool_calls": [{"index": n, "function": {"arguments": piece}}]})
                  for piece in pieces]
    return frags


def stream_head(plan: Plan, completion_id: str, created: int) -> bytes:
    """The bytes every chunk event starts with, up to its ``choices`` key."""
    model = json.dumps(plan.model)
    return (f'data: {{"id":"{completion_id}","object":"chat.completion.chunk","created":{created},'
            f'"model":{model},"system_fingerprint":"{SYSTEM_FINGERPRINT}",').encode()


def delta_event(head: bytes, index: int, delta: dict[str, Any]) -> bytes:
    return head + _fragment(index, delta)


def stream_events(plan: Plan, completion_id: str, created: int) -> list[tuple[str, bytes]]:
    """Every SSE event of the streamed answer, tagged ``delta``/``finish``/``usage``/``done``/``error``."""
    head = stream_head(plan, completion_id, created)
    if plan.inband_error:
        # Two tokens of the first choice, then the error object OpenAI sends when generation dies.
        tokens = (plan.choices[0].content or ())[:2]
        frags = [_fragment(0, {"role": "assistant", "content": ""})] + [_fragment(0, {"content": t}) for t in tokens]
        error = b"data: " + json.dumps({"error": INBAND_ERROR}).encode() + b"\n\n"
        return [("delta", head + f) for f in frags] + [("error", error)]
    per_choice = [_choice_fragments(c, plan.logprobs) for c in plan.choices]
    if len(per_choice) == 1:
        events = [("delta", head + f) for f in per_choice[0]]
    else:
        # OpenAI interleaves the choices of an n>1 stream; clients must route deltas by index.
        events = [("delta", head + f) for group in zip_longest(*per_choice) for f in group if f is not None]
    events += [("finish", head + _fragment(c.index, {}, c.finish_reason)) for c in plan.choices]
    if plan.include_usage:
        usage = json.dumps({"choices": [], "usage": plan.usage()}, separators=(",", ":"))
        events.append(("usage", head + usage[1:].encode() + b"\n\n"))
    events.append(("done", b"data: [DONE]\n\n"))
    return events


# ------------------------------------------------------------------------------------ images
def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 1x1, 8-bit RGBA
    pixels = zlib.compress(b"\x00\x10\xa3\x7f\xff")  # filter byte + one teal pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG_BYTES = _png()


def images_json(body: dict[str, Any], origin: str, created: int) -> dict[str, Any]:
    """The ``/images/generations`` answer: URLs served by the emulator, or inline base64."""
    prompt = body["prompt"]
    data: list[dict[str, Any]] = []
    for i in range(body.get("n") or 1):
        if body.get("response_format") == "b64_json":
            data.append({"b64_json": base64.b64encode(PNG_BYTES).decode(), "revised_prompt": prompt})
        else:
            data.append({"url": f"{origin}/files/img-{i}.png", "revised_prompt": prompt})
    return {"created": created, "data": data}
