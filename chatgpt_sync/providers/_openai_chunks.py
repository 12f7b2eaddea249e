"""Interpreting Chat Completions answers: streamed chunks and whole JSON bodies, into our chunk types.

Streamed tool-call fragments are joined by (choice index, call index), so parallel calls stay apart;
the first choice's text is yielded as ``str``, other choices' as :class:`ChoiceText`.

OpenAI-compatible servers stream, join tool calls and report errors in their own ways. The rules
here follow a survey of llama.cpp, llama-cpp-python, vLLM, Ollama, LM Studio, TGI and LiteLLM;
comments name the quirk (Q1..Q31 of that survey) and the server code that shows it.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping

from ..errors import ResponseError
from ..types import (
    Chunk, ChoiceText, FinishReason, LogProbs, Reasoning, Refusal, ResponseMeta, ToolCalls, Usage,
)

__all__ = ["ChoiceAccumulator", "message_chunks", "error_message", "in_band_error", "stream_error",
           "event_error"]

# Values that mean "no value" in an error object: LiteLLM's proxy fills a missing type/param with
# str(None) (Q28: litellm/proxy/proxy_server.py async_data_generator, ProxyException(type=getattr(e,
# "type", "None"), ...)).
_NO_VALUE = (None, "", "None")


# ---------------------------------------------------------------------------------------- errors
def in_band_error(payload: Mapping[str, Any]) -> Any:
    """The error a JSON object carries in band (the error object itself), or None.

    The shapes servers use, all on a 2xx answer or inside a stream:

    - ``{"error": {...}}`` with any subset of ``message``/``type``/``code``/``param``/
      ``http_status_code``, ``code`` an int or a string (OpenAI; llama.cpp Q1; vLLM Q9; TGI >= 2.4.1
      Q13; LiteLLM Q28; LM Studio Q31, sometimes with a copy of ``message`` beside it);
    - ``{"error": "...", "error_type": "..."}``, the error a string (TGI before 2.4.1, Q13/Q14):
      the whole object is returned, since its ``error_type`` belongs to it;
    - flat ``{"object": "error", "message": ...}`` (vLLM before ~0.10, FastChat, SGLang, Q10).
    """
    error = payload.get("error")
    if error:
        return error if isinstance(error, dict) else payload
    if payload.get("object") == "error":
        return payload
    return None


def error_message(error: Any) -> str:
    """The server's own message in an error, whatever its shape (see :func:`in_band_error`; a whole
    payload wrapping ``{"error": {...}}`` is accepted too). Every field is optional (Q31): with no
    message, the raw JSON is the message."""
    if isinstance(error, dict):
        inner = error.get("error")
        if isinstance(inner, dict):
            return error_message(inner)
        for value in (error.get("message"), inner, error.get("detail")):
            if isinstance(value, str) and value.strip():
                return value
        return json.dumps(error, ensure_ascii=False)[:500]
    if isinstance(error, str):
        return error.strip()[:500] or "(no message)"
    return str(error)


def stream_error(error: Any, *, where: str = "the server", partial_text: str = "",
                 when: str = " mid-stream") -> ResponseError:
    """The exception for an error object received in band (see :func:`in_band_error`).

    ``body`` is the error object; ``code``/``type``/``param`` are read from it, with LiteLLM's
    ``"None"`` strings taken as absent (Q28) and TGI's ``error_type`` as the type (Q13). The message
    quotes the server's message, and the HTTP status TGI puts in the object (always 422 there,
    whatever the cause: router/src/infer/mod.rs:445-466).
    """
    details: list[str] = []
    code = type_ = param = None
    if isinstance(error, dict):
        status = error.get("http_status_code")
        if status not in _NO_VALUE:
            details.append(f"HTTP status {status}")
        type_ = error.get("type")
        if type_ in _NO_VALUE:
            type_ = error.get("error_type")
        code, param = error.get("code"), error.get("param")
        type_, code, param = (None if v in _NO_VALUE else v for v in (type_, code, param))
        details += [f"{name} {value}" for name, value in (("type", type_), ("code", code)) if value is not None]
    suffix = f" ({', '.join(details)})" if details else ""
    exc = ResponseError(f"{where} reported an error{when}: {error_message(error)}{suffix}",
                        body=error, partial_text=partial_text)
    exc.code, exc.type, exc.param = code, type_, param
    return exc


def event_error(data: str, *, where: str = "the server", partial_text: str = "") -> ResponseError:
    """The exception for an SSE event named ``error``: a standard ``event: error`` or the ``error:``
    line of old llama.cpp servers (Q3), whose data is the bare error object
    (``{"code":400,"message":...,"type":"invalid_request_error"}``)."""
    try:
        payload = json.loads(data)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        inner = in_band_error(payload)
        return stream_error(payload if inner is None else inner, where=where, partial_text=partial_text)
    text = data.strip()[:500] or "(no message)"
    return ResponseError(f"{where} sent an error event mid-stream: {text}", body=data, partial_text=partial_text)


# ------------------------------------------------------------------------------------ tool calls
def _text(value: Any) -> str:
    """A string field's value; ``null`` and other non-strings are absent. (An int id is kept as text.)"""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _encode_arguments(value: Any) -> str:
    # Old TGI (before 622908de, 2025-03-07) sent ``arguments`` as a JSON object, not a string (Q18).
    return json.dumps(value, ensure_ascii=False)


def _unwrap_tgi_grammar(arguments: str) -> tuple[str, str] | None:
    """TGI before 3.2 never sent a name (``name: null`` on every fragment) and streamed the raw
    output of its tool grammar, ``{"function": {"_name": "get_weather", "location": "Paris"}}``
    (Q18: router/src/lib.rs ChatCompletionChunk::new, server.rs's ``\\{"function":\\{"_name"`` regex).
    Returns the name and the remaining keys as the arguments, when that is what the text is."""
    if '"_name"' not in arguments:
        return None
    try:
        value = json.loads(arguments)
    except ValueError:
        return None
    if not (isinstance(value, dict) and len(value) == 1 and isinstance(value.get("function"), dict)):
        return None
    inner = dict(value["function"])
    name = inner.pop("_name", None)
    if not (isinstance(name, str) and name):
        return None
    return name, json.dumps(inner, ensure_ascii=False)


def _is_complete_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class _ToolCallParts:
    __slots__ = ("id", "type", "name", "arguments")

    def __init__(self) -> None:
        self.id = ""
        self.type = ""
        self.name = ""
        self.arguments: list[str] = []

    def merge(self, fragment: Mapping[str, Any]) -> None:
        # id, type and name are set once: the first non-empty value wins and is never concatenated.
        # Servers repeat them unchanged on every fragment (TGI >= 3.2 Q17, llama-cpp-python Q26),
        # send ``null`` (TGI Q17/Q18) or ``""`` (LM Studio Q30) after the first; a joiner that
        # appends names turns "get_weather" into "get_weatherget_weather".
        if not self.id:
            self.id = _text(fragment.get("id"))
        if not self.type:
            self.type = _text(fragment.get("type"))
        function = fragment.get("function")
        if isinstance(function, dict):
            if not self.name:
                self.name = _text(function.get("name"))
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                if arguments:  # llama.cpp sent "" on name-only fragments (Q5): a no-op
                    self.arguments.append(arguments)
            elif isinstance(arguments, (dict, list)):
                self.arguments.append(_encode_arguments(arguments))

    def complete(self) -> bool:
        """Whether the arguments so far are a whole JSON value (a whole call arrived)."""
        return bool(self.arguments) and _is_complete_json("".join(self.arguments))

    def as_dict(self) -> dict[str, Any]:
        name, arguments = self.name, "".join(self.arguments)
        if not name:
            unwrapped = _unwrap_tgi_grammar(arguments)
            if unwrapped is not None:
                name, arguments = unwrapped
        return {"id": self.id, "type": self.type or "function",
                "function": {"name": name, "arguments": arguments}}


def _whole_call(call: Mapping[str, Any]) -> dict[str, Any]:
    """A non-streamed tool call in OpenAI's shape: ``arguments`` a string (old TGI sent an object,
    Q18), and the name taken out of TGI's grammar wrapper when the server gave none."""
    result = dict(call)
    function = call.get("function")
    if isinstance(function, dict):
        function = dict(function)
        arguments = function.get("arguments")
        if isinstance(arguments, (dict, list)):
            arguments = function["arguments"] = _encode_arguments(arguments)
        if not _text(function.get("name")) and isinstance(arguments, str):
            unwrapped = _unwrap_tgi_grammar(arguments)
            if unwrapped is not None:
                function["name"], function["arguments"] = unwrapped
        result["function"] = function
    return result


# ------------------------------------------------------------------------------------ the stream
class ChoiceAccumulator:
    """Turns ``chat.completion.chunk`` objects into text pieces and objects, remembering what the
    end of the stream needs (finish reasons, tool calls, usage) and the text so far."""

    def __init__(self, where: str = "the server") -> None:
        self.where = where
        self.parts: list[str] = []
        self.reasons: dict[int, Any] = {}
        self.tool_calls: dict[int, dict[int, _ToolCallParts]] = {}
        # The call each choice's last fragment went to: where a fragment with neither index nor id
        # belongs (Q23).
        self.last_call: dict[int, int] = {}
        # Legacy ``delta.function_call`` (before tools), one per choice; used only when the choice
        # never streamed ``tool_calls`` (llama-cpp-python sends both, the same fragment twice, Q26).
        self.function_calls: dict[int, _ToolCallParts] = {}
        self.emitted_tools: set[int] = set()
        self.usage: Usage | None = None
        self.seen: set[int] = {0}

    def text(self) -> str:
        return "".join(self.parts)

    @property
    def finished(self) -> bool:
        """Whether any choice has said why it ended (a finish_reason)."""
        return bool(self.reasons)

    def feed(self, chunk: dict[str, Any]) -> Iterator[Chunk]:
        # Errors first, before anything else in the object (Q1, Q9, Q10, Q13, Q28, Q31): an error
        # ends the stream even when choices sit beside it or a [DONE] follows it (vLLM, TGI).
        error = in_band_error(chunk)
        if error is not None:
            raise stream_error(error, where=self.where, partial_text=self.text())
        choices = chunk.get("choices")
        if choices and isinstance(choices, list):
            for choice in choices:
                if not isinstance(choice, dict):
                    continue
                index = choice.get("index", 0) or 0
                delta = choice.get("delta")
                if not isinstance(delta, dict):
                    delta = {}
                content = delta.get("content")
                is_text = isinstance(content, str)
                if is_text and content:
                    if index == 0:
                        self.parts.append(content)
                        yield content
                    else:
                        self.seen.add(index)
                        yield ChoiceText(content, index)
                if len(delta) > 1 or not is_text:
                    yield from self._rare_fields(index, delta)
                logprobs = choice.get("logprobs")
                if logprobs:
                    yield LogProbs.from_dict(logprobs, index)
                # The delta above is applied before the finish reason: vLLM puts the last arguments
                # fragment in the finish chunk itself (Q12, the "remaining_call").
                reason = choice.get("finish_reason")
                if reason:  # absent (LiteLLM drops null keys, Q29), null and "" (Q16) alike
                    self.seen.add(index)
                    self.reasons[index] = reason
                    calls = self._complete_calls(index)
                    if calls is not None:
                        yield calls
        # Usage may come on any chunk, with choices or without (old llama.cpp puts it on the finish
        # chunk, Q6; vLLM's continuous_usage_stats on every chunk, Q11); the last one wins. ``null``
        # (TGI, Q15) and ``{}`` (old LiteLLM, Q29) are absent.
        usage = chunk.get("usage")
        if usage and isinstance(usage, dict):
            self.usage = Usage.from_dict(usage)

    def _rare_fields(self, index: int, delta: dict[str, Any]) -> Iterator[Chunk]:
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            yield Reasoning(reasoning, index)
        refusal = delta.get("refusal")
        if refusal:
            yield Refusal(refusal, index)
        fragments = delta.get("tool_calls")
        if fragments and isinstance(fragments, list):
            calls = self.tool_calls.setdefault(index, {})
            for fragment in fragments:
                if isinstance(fragment, dict):
                    key = self._call_key(index, calls, fragment)
                    calls.setdefault(key, _ToolCallParts()).merge(fragment)
                    self.last_call[index] = key
        elif isinstance(delta.get("function_call"), dict):
            self.function_calls.setdefault(index, _ToolCallParts()).merge({"function": delta["function_call"]})

    def _call_key(self, index: int, calls: dict[int, _ToolCallParts], fragment: Mapping[str, Any]) -> int:
        """Which call of choice ``index`` a fragment belongs to."""
        key = fragment.get("index")
        if isinstance(key, int) and not isinstance(key, bool):
            return key
        if isinstance(key, str) and key.isdigit():
            return int(key)
        # No index: Ollama before v0.5 (commit 5f80511, 2024-11-29) sent whole calls without one,
        # several in one delta or in later chunks (Q23). The call with the same id, else a new call
        # for a new id, else the call the last fragment went to.
        new_key = max(calls, default=-1) + 1
        call_id = _text(fragment.get("id"))
        if call_id:
            for existing, parts in calls.items():
                if parts.id == call_id:
                    return existing
            return new_key
        last = self.last_call.get(index)
        if last is None or last not in calls:
            return new_key
        # Neither index nor id: a fragment naming a function after the last call is whole starts
        # another call; two whole calls without ids must not be glued into one.
        function = fragment.get("function")
        named = isinstance(function, dict) and bool(_text(function.get("name")))
        if named and calls[last].name and calls[last].complete():
            return new_key
        return last

    def _complete_calls(self, index: int) -> ToolCalls | None:
        if index in self.emitted_tools:
            return None
        calls = self.tool_calls.get(index)
        if calls:
            joined = [calls[k].as_dict() for k in sorted(calls)]
        elif index in self.function_calls:
            joined = [self.function_calls[index].as_dict()]
        else:
            return None
        self.emitted_tools.add(index)
        return ToolCalls(joined, index)

    def finish(self) -> Iterator[Chunk]:
        """At the end of the stream: tool calls not yet complete, one FinishReason per choice, usage."""
        for index in sorted(self.seen):
            calls = self._complete_calls(index)
            if calls is not None:
                yield calls
        for index in sorted(self.seen):
            yield FinishReason(_normalise_reason(self.reasons.get(index)), index)
        if self.usage is not None:
            yield self.usage


# TGI reports "stop_sequence" and, on its native routes, "eos_token" (Q16: router/src/lib.rs
# FinishReason::format); "eos" is the short form some servers use. The legacy "function_call" is
# today's "tool_calls". Other values ("length", "content_filter", ...) pass through as sent.
_REASONS = {"stop_sequence": "stop", "eos_token": "stop", "eos": "stop", "function_call": "tool_calls"}


def _normalise_reason(reason: Any) -> str | None:
    if reason is None or reason == "":
        return None
    if not isinstance(reason, str):
        return str(reason)
    return _REASONS.get(reason, reason)


def message_chunks(data: dict[str, Any], status_code: int | None = None,
                   headers: Mapping[str, str] | None = None) -> Iterator[Chunk]:
    """The chunks for a whole (non-streamed) ``chat.completion`` body, in streaming order."""
    choices = data.get("choices") or []
    if not choices:
        raise ResponseError("the answer has no choices", body=data)
    yield ResponseMeta.from_completion(data, status_code, headers)
    finishes: list[FinishReason] = []
    for choice in sorted(choices, key=lambda c: c.get("index", 0) or 0):
        index = choice.get("index", 0) or 0
        message = choice.get("message") or {}
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            yield Reasoning(reasoning, index)
        content = message.get("content")
        if isinstance(content, str) and content:
            yield content if index == 0 else ChoiceText(content, index)
        if message.get("refusal"):
            yield Refusal(message["refusal"], index)
        tool_calls = message.get("tool_calls")
        if tool_calls and isinstance(tool_calls, list):
            yield ToolCalls([_whole_call(call) for call in tool_calls if isinstance(call, dict)], index)
        elif isinstance(message.get("function_call"), dict):  # the legacy single call (before tools)
            yield ToolCalls([_whole_call({"id": "", "type": "function", "function": message["function_call"]})],
                            index)
        if isinstance(choice.get("logprobs"), dict):
            yield LogProbs.from_dict(choice["logprobs"], index)
        finishes.append(FinishReason(_normalise_reason(choice.get("finish_reason")), index))
    yield from finishes
    if isinstance(data.get("usage"), dict) and data["usage"]:
        yield Usage.from_dict(data["usage"])
