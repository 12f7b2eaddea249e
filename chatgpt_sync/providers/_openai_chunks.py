"""Interpreting Chat Completions answers: streamed chunks and whole JSON bodies, into our chunk types.

Streamed tool-call fragments are joined by (choice index, call index), so parallel calls stay apart;
the first choice's text is yielded as ``str``, other choices' as :class:`ChoiceText`.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping

from ..errors import ResponseError
from ..types import (
    Chunk, ChoiceText, FinishReason, LogProbs, Reasoning, Refusal, ResponseMeta, ToolCalls, Usage,
)

__all__ = ["ChoiceAccumulator", "message_chunks", "error_message"]


def error_message(error: Any) -> str:
    """The message of an OpenAI-style error object (or whatever the server put there)."""
    if isinstance(error, dict):
        inner = error.get("error", error)
        if isinstance(inner, dict):
            return str(inner.get("message") or inner.get("code") or json.dumps(inner)[:300])
        return str(inner)
    return str(error)


class _ToolCallParts:
    __slots__ = ("id", "type", "name", "arguments")

    def __init__(self) -> None:
        self.id = ""
        self.type = "function"
        self.name = ""
        self.arguments: list[str] = []

    def merge(self, fragment: dict[str, Any]) -> None:
        if fragment.get("id"):
            self.id = fragment["id"]
        if fragment.get("type"):
            self.type = fragment["type"]
        function = fragment.get("function") or {}
        if function.get("name"):
            self.name += function["name"]
        if function.get("arguments"):
            self.arguments.append(function["arguments"])

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type,
                "function": {"name": self.name, "arguments": "".join(self.arguments)}}


class ChoiceAccumulator:
    """Turns ``chat.completion.chunk`` objects into text pieces and objects, remembering what the
    end of the stream needs (finish reasons, tool calls, usage) and the text so far."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.reasons: dict[int, Any] = {}
        self.tool_calls: dict[int, dict[int, _ToolCallParts]] = {}
        self.emitted_tools: set[int] = set()
        self.usage: Usage | None = None
        self.seen: set[int] = {0}

    def text(self) -> str:
        return "".join(self.parts)

    def feed(self, chunk: dict[str, Any]) -> Iterator[Chunk]:
        error = chunk.get("error")
        if error:
            raise ResponseError(f"the server reported an error mid-stream: {error_message(error)}",
                                body=chunk, partial_text=self.text())
        choices = chunk.get("choices")
        if choices:
            for choice in choices:
                index = choice.get("index", 0) or 0
                delta = choice.get("delta") or {}
                content = delta.get("content")
                if content:
                    if index == 0:
                        self.parts.append(content)
                        yield content
                    else:
                        self.seen.add(index)
                        yield ChoiceText(content, index)
                if len(delta) > 1 or content is None:
                    yield from self._rare_fields(index, delta)
                logprobs = choice.get("logprobs")
                if logprobs:
                    yield LogProbs.from_dict(logprobs, index)
                reason = choice.get("finish_reason")
                if reason:
                    self.seen.add(index)
                    self.reasons[index] = reason
                    calls = self._complete_calls(index)
                    if calls is not None:
                        yield calls
        usage = chunk.get("usage")
        if usage:
            self.usage = Usage.from_dict(usage)

    def _rare_fields(self, index: int, delta: dict[str, Any]) -> Iterator[Chunk]:
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            yield Reasoning(reasoning, index)
        refusal = delta.get("refusal")
        if refusal:
            yield Refusal(refusal, index)
        fragments = delta.get("tool_calls")
        if fragments:
            calls = self.tool_calls.setdefault(index, {})
            for position, fragment in enumerate(fragments):
                call_index = fragment.get("index", position)
                calls.setdefault(call_index, _ToolCallParts()).merge(fragment)

    def _complete_calls(self, index: int) -> ToolCalls | None:
        calls = self.tool_calls.get(index)
        if not calls or index in self.emitted_tools:
            return None
        self.emitted_tools.add(index)
        return ToolCalls([calls[k].as_dict() for k in sorted(calls)], index)

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


def _normalise_reason(reason: Any) -> str | None:
    if reason in (None, ""):
        return None
    if reason == "function_call":
        return "tool_calls"
    return str(reason)


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
        if message.get("tool_calls"):
            yield ToolCalls([dict(call) for call in message["tool_calls"]], index)
        if isinstance(choice.get("logprobs"), dict):
            yield LogProbs.from_dict(choice["logprobs"], index)
        finishes.append(FinishReason(_normalise_reason(choice.get("finish_reason")), index))
    yield from finishes
    if isinstance(data.get("usage"), dict):
        yield Usage.from_dict(data["usage"])
