"""The objects :class:`chatgpt_sync.Client` returns, with openai-python's attribute names.

Plain ``__slots__`` classes, not pydantic: a streamed answer builds three of them per token and the
streaming path is benchmarked. Fields openai-python always has but we never fill (``logprobs``,
``system_fingerprint``, ``function_call``...) are class-level ``None`` constants, so reading them
works and costs nothing per object. ``to_dict()`` / ``model_dump()`` give openai-shaped JSON.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar, Iterator, List, Optional

from .types import Conversation, ImageResponse, ResponseMeta, Usage

__all__ = [
    "ClientObject", "Function", "ChatCompletionMessageToolCall", "ChatCompletionMessage", "Choice",
    "CompletionUsage", "ChatCompletion", "ChoiceDeltaToolCallFunction", "ChoiceDeltaToolCall",
    "ChoiceDelta", "ChunkChoice", "ChatCompletionChunk", "Model", "SyncPage", "Image", "ImagesResponse",
    "Details", "RawResponse",
]


def _plain(value: Any, exclude_none: bool) -> Any:
    if isinstance(value, ClientObject):
        return value.to_dict(exclude_none=exclude_none)
    if isinstance(value, list):
        return [_plain(item, exclude_none) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item, exclude_none) for key, item in value.items()
                if not (exclude_none and item is None)}
    return value


class ClientObject:
    """Base: ``to_dict()``, ``model_dump()``, ``model_dump_json()``, equality by fields, a readable repr."""

    __slots__ = ()
    #: Fields in the order openai-python dumps them (slots and class constants alike).
    _fields: ClassVar[tuple[str, ...]] = ()
    #: Fields that are our extensions to the openai shape: dumped only when set.
    _optional: ClassVar[frozenset[str]] = frozenset()

    def to_dict(self, *, exclude_none: bool = False) -> dict[str, Any]:
        """The object as plain JSON-ready data, shaped like the OpenAI API's."""
        out: dict[str, Any] = {}
        for name in self._fields:
            value = getattr(self, name)
            if value is None and (exclude_none or name in self._optional):
                continue
            out[name] = _plain(value, exclude_none)
        return out

    def model_dump(self, *, exclude_none: bool = False, exclude_unset: bool = False,
                   **_ignored: Any) -> dict[str, Any]:
        """Same as :meth:`to_dict` (the pydantic name openai-python code calls).

        ``exclude_unset`` leaves out what the server did not send; here every ``None`` is unset, so
        it is the same as ``exclude_none`` (a tool-call message then has no ``content`` key, which
        this SDK and the API accept back)."""
        return self.to_dict(exclude_none=exclude_none or exclude_unset)

    def model_dump_json(self, *, indent: int | None = None, exclude_none: bool = False,
                        exclude_unset: bool = False, **_ignored: Any) -> str:
        return json.dumps(self.model_dump(exclude_none=exclude_none, exclude_unset=exclude_unset),
                          indent=indent, ensure_ascii=False)

    def to_json(self, *, indent: int | None = 2, exclude_none: bool = False,
                exclude_unset: bool = True) -> str:
        """JSON text, as openai-python's ``to_json()`` (indented, unset fields left out by default)."""
        return self.model_dump_json(indent=indent, exclude_none=exclude_none, exclude_unset=exclude_unset)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._fields)

    __hash__ = None  # type: ignore[assignment]  # mutable, like pydantic models

    def __repr__(self) -> str:
        parts = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields
                          if not (name in self._optional and getattr(self, name) is None))
        return f"{type(self).__name__}({parts})"


def _attrs(value: Any) -> Any:
    """Nested JSON read by attribute: dicts become Details, lists keep their order."""
    if isinstance(value, dict):
        return Details(value)
    if isinstance(value, list):
        return [_attrs(item) for item in value]
    return value


class Details(ClientObject):
    """A nested details object (``usage.completion_tokens_details``...) read by attribute.

    Unknown keys read as ``None`` rather than failing, since servers differ in which they send."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # private and dunder lookups (copy, pickle) must not recurse
            raise AttributeError(name)
        return _attrs(self._data.get(name))

    def to_dict(self, *, exclude_none: bool = False) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if not (exclude_none and v is None)}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Details) and other._data == self._data

    def __repr__(self) -> str:
        return f"Details({', '.join(f'{k}={v!r}' for k, v in self._data.items())})"


# ------------------------------------------------------------------------ non-streamed answers
class Function(ClientObject):
    """The function a tool call invokes; ``arguments`` is a JSON string, as the model wrote it."""

    __slots__ = ("name", "arguments")
    _fields = ("arguments", "name")

    def __init__(self, name: str, arguments: str) -> None:
        self.name = name
        self.arguments = arguments


class ChatCompletionMessageToolCall(ClientObject):
    __slots__ = ("id", "type", "function")
    _fields = ("id", "function", "type")

    def __init__(self, id: str, type: str, function: Function) -> None:  # noqa: A002 - openai's names
        self.id = id
        self.type = type
        self.function = function

    @classmethod
    def from_dict(cls, call: dict[str, Any]) -> ChatCompletionMessageToolCall:
        function = call.get("function") or {}
        return cls(call.get("id") or "", call.get("type") or "function",
                   Function(function.get("name") or "", function.get("arguments") or ""))


class ChatCompletionMessage(ClientObject):
    """The assistant's message. ``content`` is None for a tool-call or refusal answer."""

    __slots__ = ("content", "refusal", "role", "tool_calls", "reasoning_content", "parsed")
    _fields = ("content", "refusal", "role", "annotations", "audio", "function_call", "tool_calls",
               "reasoning_content", "parsed")
    _optional = frozenset({"reasoning_content", "parsed"})
    annotations: ClassVar[None] = None
    audio: ClassVar[None] = None
    function_call: ClassVar[None] = None

    def __init__(self, content: Optional[str] = None, refusal: Optional[str] = None, role: str = "assistant",
                 tool_calls: Optional[List[ChatCompletionMessageToolCall]] = None,
                 reasoning_content: Optional[str] = None) -> None:
        self.content = content
        self.refusal = refusal
        self.role = role
        self.tool_calls = tool_calls
        self.reasoning_content = reasoning_content
        self.parsed: Any = None  # set by chat.completions.parse(): the content as the given model


class Choice(ClientObject):
    __slots__ = ("index", "message", "finish_reason", "logprobs")
    _fields = ("finish_reason", "index", "logprobs", "message")

    def __init__(self, index: int, message: ChatCompletionMessage, finish_reason: Optional[str],
                 logprobs: Optional[Details] = None) -> None:
        self.index = index
        self.message = message
        self.finish_reason = finish_reason
        self.logprobs = logprobs


class CompletionUsage(ClientObject):
    __slots__ = ("prompt_tokens", "completion_tokens", "total_tokens", "completion_tokens_details",
                 "prompt_tokens_details")
    _fields = ("completion_tokens", "prompt_tokens", "total_tokens", "completion_tokens_details",
               "prompt_tokens_details")

    def __init__(self, prompt_tokens: Optional[int], completion_tokens: Optional[int],
                 total_tokens: Optional[int], completion_tokens_details: Optional[Details] = None,
                 prompt_tokens_details: Optional[Details] = None) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.total_tokens = total_tokens
        self.completion_tokens_details = completion_tokens_details
        self.prompt_tokens_details = prompt_tokens_details

    @classmethod
    def from_usage(cls, usage: Usage) -> CompletionUsage:
        raw = usage.raw if isinstance(usage.raw, dict) else {}
        completion = raw.get("completion_tokens_details")
        prompt = raw.get("prompt_tokens_details")
        return cls(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens,
                   Details(completion) if isinstance(completion, dict) else None,
                   Details(prompt) if isinstance(prompt, dict) else None)


class ChatCompletion(ClientObject):
    """A whole answer. ``conversation`` (an extension) is set by providers that have one (ChatGPT web)."""

    __slots__ = ("id", "choices", "created", "model", "usage", "conversation", "system_fingerprint",
                 "_request_id")
    _fields = ("id", "choices", "created", "model", "object", "system_fingerprint", "usage", "conversation")
    _optional = frozenset({"conversation"})
    object: ClassVar[str] = "chat.completion"

    def __init__(self, id: Optional[str], choices: List[Choice], created: Optional[int],  # noqa: A002
                 model: Optional[str], usage: Optional[CompletionUsage] = None,
                 conversation: Optional[Conversation] = None, system_fingerprint: Optional[str] = None,
                 request_id: Optional[str] = None) -> None:
        self.id = id
        self.choices = choices
        self.created = created
        self.model = model
        self.usage = usage
        self.conversation = conversation
        self.system_fingerprint = system_fingerprint
        self._request_id = request_id  # openai-python's name: the server's x-request-id

    def to_dict(self, *, exclude_none: bool = False) -> dict[str, Any]:
        out = super().to_dict(exclude_none=exclude_none)
        if self.conversation is not None:
            out["conversation"] = self.conversation.to_dict()
        return out

    def _repr_markdown_(self) -> str:
        """In a notebook: the answer as Markdown (reasoning collapsed, refusals marked), then model,
        finish reason and token counts."""
        from ._render import completion_markdown

        return completion_markdown(self)


# ------------------------------------------------------------------------ streamed answers
class ChoiceDeltaToolCallFunction(ClientObject):
    __slots__ = ("name", "arguments")
    _fields = ("arguments", "name")

    def __init__(self, name: Optional[str], arguments: Optional[str]) -> None:
        self.name = name
        self.arguments = arguments


class ChoiceDeltaToolCall(ClientObject):
    """One tool call in a delta. We send each call complete in one delta, a valid OpenAI delta."""

    __slots__ = ("index", "id", "type", "function")
    _fields = ("index", "id", "function", "type")

    def __init__(self, index: int, id: Optional[str], type: Optional[str],  # noqa: A002
                 function: Optional[ChoiceDeltaToolCallFunction]) -> None:
        self.index = index
        self.id = id
        self.type = type
        self.function = function

    @classmethod
    def from_calls(cls, calls: List[dict[str, Any]]) -> List[ChoiceDeltaToolCall]:
        """Deltas for complete OpenAI-shaped call dicts, indexed by position."""
        out = []
        for position, call in enumerate(calls):
            function = call.get("function") or {}
            out.append(cls(position, call.get("id"), call.get("type") or "function",
                           ChoiceDeltaToolCallFunction(function.get("name"), function.get("arguments"))))
        return out


class ChoiceDelta(ClientObject):
    __slots__ = ("content", "role", "tool_calls", "refusal", "reasoning_content")
    _fields = ("content", "function_call", "refusal", "role", "tool_calls", "reasoning_content")
    _optional = frozenset({"reasoning_content"})
    function_call: ClassVar[None] = None

    def __init__(self, content: Optional[str] = None, role: Optional[str] = None,
                 tool_calls: Optional[List[ChoiceDeltaToolCall]] = None, refusal: Optional[str] = None,
                 reasoning_content: Optional[str] = None) -> None:
        self.content = content
        self.role = role
        self.tool_calls = tool_calls
        self.refusal = refusal
        self.reasoning_content = reasoning_content


class ChunkChoice(ClientObject):
    """A choice in a chunk (openai-python's ``chat_completion_chunk.Choice``)."""

    __slots__ = ("index", "delta", "finish_reason", "logprobs")
    _fields = ("delta", "finish_reason", "index", "logprobs")

    def __init__(self, index: int, delta: ChoiceDelta, finish_reason: Optional[str] = None,
                 logprobs: Optional[Details] = None) -> None:
        self.index = index
        self.delta = delta
        self.finish_reason = finish_reason
        self.logprobs = logprobs


class ChatCompletionChunk(ClientObject):
    """One streamed event. A usage-only chunk has ``choices == []`` and ``usage`` set."""

    __slots__ = ("id", "choices", "created", "model", "usage", "system_fingerprint")
    _fields = ("id", "choices", "created", "model", "object", "system_fingerprint", "usage")
    object: ClassVar[str] = "chat.completion.chunk"

    def __init__(self, id: Optional[str], choices: List[ChunkChoice], created: Optional[int],  # noqa: A002
                 model: Optional[str], usage: Optional[CompletionUsage] = None,
                 system_fingerprint: Optional[str] = None) -> None:
        self.id = id
        self.choices = choices
        self.created = created
        self.model = model
        self.usage = usage
        self.system_fingerprint = system_fingerprint


# ------------------------------------------------------------------------ models and images
class Model(ClientObject):
    """A model as the server listed it: ``id``, ``created``, ``owned_by``, ``object``, and any other
    field the server sent, readable by attribute (``None`` when the server did not send it)."""

    __slots__ = ("id", "created", "owned_by", "object", "_extra")
    _fields = ("id", "created", "object", "owned_by")
    _optional = frozenset({"created", "owned_by"})

    def __init__(self, id: str, created: Optional[int] = None, owned_by: Optional[str] = None,  # noqa: A002
                 object: str = "model", extra: Optional[dict[str, Any]] = None) -> None:  # noqa: A002
        self.id = id
        self.created = created
        self.owned_by = owned_by
        self.object = object
        self._extra = extra or {}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        extra = {k: v for k, v in data.items() if k not in ("id", "created", "owned_by", "object")}
        created = data.get("created")
        owned_by = data.get("owned_by")
        return cls(str(data.get("id", data.get("name", ""))), created if isinstance(created, int) else None,
                   owned_by if isinstance(owned_by, str) else None, str(data.get("object") or "model"), extra)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return _attrs(self._extra.get(name))

    def to_dict(self, *, exclude_none: bool = False) -> dict[str, Any]:
        out = super().to_dict(exclude_none=exclude_none)
        out.update({k: v for k, v in self._extra.items() if not (exclude_none and v is None)})
        return out


class SyncPage(ClientObject):
    """A list page: iterate it directly, or read ``.data``."""

    __slots__ = ("data",)
    _fields = ("data", "object")
    object: ClassVar[str] = "list"

    def __init__(self, data: List[Model]) -> None:
        self.data = data

    def __iter__(self) -> Iterator[Model]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> Model:
        return self.data[index]

    def has_next_page(self) -> bool:
        return False


class Image(ClientObject):
    """One generated image: ``url`` or ``b64_json`` (by ``response_format``), and the revised prompt."""

    __slots__ = ("url", "b64_json", "revised_prompt")
    _fields = ("b64_json", "revised_prompt", "url")

    def __init__(self, url: Optional[str] = None, b64_json: Optional[str] = None,
                 revised_prompt: Optional[str] = None) -> None:
        self.url = url
        self.b64_json = b64_json
        self.revised_prompt = revised_prompt


class ImagesResponse(ClientObject):
    __slots__ = ("created", "data")
    _fields = ("created", "data")

    def __init__(self, created: int, data: List[Image]) -> None:
        self.created = created
        self.data = data

    @classmethod
    def from_images(cls, images: List[ImageResponse], response_format: Optional[str]) -> ImagesResponse:
        """From provider ImageResponses; a ``data:`` URL becomes ``b64_json`` when that format was asked."""
        created = int(time.time())
        data: List[Image] = []
        for image in images:
            raw = image.raw if isinstance(image.raw, dict) else {}
            if isinstance(raw.get("created"), int):
                created = raw["created"]
            listed = raw.get("data")
            items: List[Any] = listed if isinstance(listed, list) else []
            for position, url in enumerate(image.urls):
                item = items[position] if position < len(items) and isinstance(items[position], dict) else {}
                revised = item.get("revised_prompt")
                if response_format == "b64_json" and url.startswith("data:") and "base64," in url:
                    data.append(Image(b64_json=url.split("base64,", 1)[1], revised_prompt=revised))
                else:
                    data.append(Image(url=url, revised_prompt=revised))
        return cls(created, data)


class RawResponse:
    """The HTTP side of an answer (openai-python's ``with_raw_response`` object and ``stream.response``):
    ``status_code``, ``headers`` (secret ones redacted), ``request_id``; ``parse()`` gives the result."""

    def __init__(self, status_code: Optional[int], headers: dict[str, str], request_id: Optional[str]) -> None:
        self.status_code = status_code
        self.headers = headers
        self.request_id = request_id
        self.parsed: Any = None

    @classmethod
    def from_meta(cls, meta: Optional[ResponseMeta]) -> RawResponse:
        if meta is None:
            return cls(None, {}, None)
        return cls(meta.status_code, dict(meta.headers or {}), meta.request_id)

    def parse(self) -> Any:
        """The ChatCompletion (or, for ``stream=True``, the ChatCompletionStream)."""
        return self.parsed

    def __repr__(self) -> str:
        return f"<RawResponse [{self.status_code}] request_id={self.request_id!r}>"
