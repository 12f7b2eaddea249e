"""What a stream delivered, gathered while it is displayed or read with ``text()``.

A :class:`Transcript` is kept on the stream object, so a notebook cell that shows the stream after
it ran (or after it was interrupted) shows what arrived. Plain iteration of a stream never feeds one:
that path stays a bare generator.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .types import (
    ChoiceText, Conversation, FinishReason, ImageResponse, Reasoning, Refusal, ResponseMeta, Sources,
    TitleGeneration, ToolCalls, Usage,
)

__all__ = ["Transcript"]


class Transcript:
    """The answer so far: text, reasoning, refusal, tool calls, images, sources, and how it ended.

    ``state`` is "streaming", "done", "interrupted" (KeyboardInterrupt, or closed early) or "error"
    (``error`` holds the exception)."""

    __slots__ = ("parts", "reasoning", "refusal", "tool_calls", "images", "sources", "choices", "title",
                 "finish_reason", "usage", "conversation", "meta", "state", "error")

    def __init__(self) -> None:
        self.parts: List[str] = []
        self.reasoning: List[str] = []
        self.refusal: List[str] = []
        self.tool_calls: List[Dict[str, Any]] = []
        self.images: List[ImageResponse] = []
        self.sources: List[Dict[str, Any]] = []
        self.choices: Dict[int, List[str]] = {}  # text of choices other than the first (n > 1)
        self.title: Optional[str] = None
        self.finish_reason: Optional[str] = None
        self.usage: Optional[Usage] = None
        self.conversation: Optional[Conversation] = None
        self.meta: Optional[ResponseMeta] = None
        self.state = "streaming"
        self.error: Optional[BaseException] = None

    @property
    def text(self) -> str:
        """The answer text (the ``str`` pieces joined)."""
        return "".join(self.parts)

    def add(self, piece: Any) -> None:
        """Take one piece of a provider stream (``str`` or a response object)."""
        kind = piece.__class__
        if kind is str:
            self.parts.append(piece)
        elif kind is Reasoning:
            self.reasoning.append(piece.text)
        elif kind is Refusal:
            self.refusal.append(piece.text)
        elif kind is ToolCalls:
            self.tool_calls.extend(piece.tool_calls)
        elif kind is ImageResponse:
            self.images.append(piece)
        elif kind is Sources:
            self.sources.extend(piece.sources)
        elif kind is ChoiceText:
            self.choices.setdefault(piece.index, []).append(piece.text)
        elif kind is FinishReason:
            if piece.index == 0:
                self.finish_reason = piece.reason
        elif kind is Usage:
            self.usage = piece
        elif kind is Conversation:
            self.conversation = piece
        elif kind is TitleGeneration:
            self.title = piece.title
        elif kind is ResponseMeta:
            self.meta = piece

    def add_chunk(self, chunk: Any) -> None:
        """Take one ``ChatCompletionChunk`` of the Client's stream."""
        for choice in chunk.choices:
            delta = choice.delta
            if choice.index:
                if delta.content:
                    self.choices.setdefault(choice.index, []).append(delta.content)
                continue
            if delta.content:
                self.parts.append(delta.content)
            if delta.reasoning_content:
                self.reasoning.append(delta.reasoning_content)
            if delta.refusal:
                self.refusal.append(delta.refusal)
            for call in delta.tool_calls or ():
                self._merge_call(call)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        if chunk.usage is not None:
            self.usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens, chunk.usage.total_tokens)

    def _merge_call(self, call: Any) -> None:
        # OpenAI streams a call's arguments in fragments under one index; join them.
        while len(self.tool_calls) <= call.index:
            self.tool_calls.append({"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
        # The same rule as the providers' joiner (_openai_chunks._ToolCallParts): id and name are set
        # once, never concatenated, since servers repeat them on later fragments; arguments append.
        entry = self.tool_calls[call.index]
        entry["id"] = entry["id"] or call.id
        if call.function is not None:
            entry["function"]["name"] = entry["function"]["name"] or call.function.name or ""
            entry["function"]["arguments"] += call.function.arguments or ""

    def stop(self, exc: BaseException | None) -> None:
        """Record how the stream ended: normally (None), interrupted, or with an error."""
        if self.state != "streaming":
            return
        if exc is None:
            self.state = "done"
        elif isinstance(exc, (KeyboardInterrupt, GeneratorExit)):
            self.state = "interrupted"
        else:
            self.state, self.error = "error", exc
