"""Public data types: what goes in (messages, timeouts) and what comes out between text pieces.

Outputs are frozen dataclasses. Each has a ``raw`` field with the provider's original JSON (excluded
from equality and repr) so nothing the server said is out of reach.

They are made by :mod:`chatgpt_sync._frozen` rather than by ``@dataclasses.dataclass`` (import time;
each class writes its ``__init__`` out). Type checkers see the plain ``@dataclass(frozen=True)``
classes, and ``dataclasses.fields``/``replace``/``asdict`` work on them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Dict, List, Literal, Mapping, Optional, Union

from ._html import html_escape, images_html, link_href
from ._redact import redact_headers

if sys.version_info >= (3, 11):
    from typing import NotRequired, TypedDict
else:  # pragma: no cover - typing_extensions costs import time; only 3.10 needs it
    from typing_extensions import NotRequired, TypedDict

__all__ = [
    "Timeout", "TimeoutLike",
    "Message", "Messages", "ContentPart",
    "FinishReason", "Usage", "Conversation", "TitleGeneration", "ToolCalls", "Reasoning",
    "ImageResponse", "Sources", "Refusal", "ChoiceText", "ResponseMeta", "LogProbs", "ResponseObject",
    "Chunk", "AuthResult", "ConversationSummary", "HistoryMessage", "ConversationHistory",
]


if TYPE_CHECKING:  # type checkers see plain frozen dataclasses, which is what these classes behave as
    from dataclasses import dataclass, field
else:
    from ._frozen import field_spec as field, frozen_dataclass as dataclass

from ._frozen import FACTORY

_set = object.__setattr__  # what a frozen dataclass's __init__ uses




# ----------------------------------------------------------------------------------------- inputs

class ImageURL(TypedDict):
    url: str
    detail: NotRequired[str]


class ContentPart(TypedDict, total=False):
    """An OpenAI-style content part: ``{"type": "text", "text": ...}`` or ``{"type": "image_url", ...}``."""

    type: str
    text: str
    image_url: ImageURL


class Message(TypedDict):
    """One chat message. ``content`` is a string or a list of content parts."""

    role: str
    content: Union[str, List[ContentPart], None]
    name: NotRequired[str]
    tool_calls: NotRequired[List[Dict[str, Any]]]
    tool_call_id: NotRequired[str]


Messages = List[Message]


@dataclass(frozen=True)
class Timeout:
    """Timeouts in seconds. ``connect``: opening the connection; ``read``: waiting for the response
    headers (and each read of a non-streamed body); ``stream_idle``: the longest a stream may go
    without receiving a byte before :class:`~chatgpt_sync.errors.APITimeoutError` is raised.

    ``None`` for a part means no limit for that part, and must be asked for explicitly.
    """

    connect: Optional[float] = 10.0
    read: Optional[float] = 60.0
    stream_idle: Optional[float] = 60.0

    def __init__(self, connect: Optional[float] = 10.0, read: Optional[float] = 60.0,
                 stream_idle: Optional[float] = 60.0) -> None:
        _set(self, "connect", connect)
        _set(self, "read", read)
        _set(self, "stream_idle", stream_idle)

    @classmethod
    def coerce(cls, value: TimeoutLike) -> Timeout:
        """A Timeout from a number (all parts alike), a Timeout, or None (no limits)."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(None, None, None)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"timeout must be a positive number or chatgpt_sync.Timeout, not {value!r}")
        seconds = float(value)
        return cls(seconds, seconds, seconds)


TimeoutLike = Union[Timeout, float, int, None]


# ---------------------------------------------------------------------------------------- outputs

@dataclass(frozen=True)
class FinishReason:
    """Why the turn ended: "stop", "length", "tool_calls", "content_filter", or None when the stream
    ended without the backend saying the turn finished. ``index`` is the choice (for ``n > 1``)."""

    reason: Optional[str]
    index: int = 0
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, reason: Optional[str], index: int = 0, raw: Any = None) -> None:
        _set(self, "reason", reason)
        _set(self, "index", index)
        _set(self, "raw", raw)


@dataclass(frozen=True)
class Usage:
    """Token counts, as the backend reported them."""

    prompt_tokens: Optional[int] = None
    completion_tokens: Optional[int] = None
    total_tokens: Optional[int] = None
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, prompt_tokens: Optional[int] = None, completion_tokens: Optional[int] = None,
                 total_tokens: Optional[int] = None, raw: Any = None) -> None:
        _set(self, "prompt_tokens", prompt_tokens)
        _set(self, "completion_tokens", completion_tokens)
        _set(self, "total_tokens", total_tokens)
        _set(self, "raw", raw)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        prompt = data.get("prompt_tokens", data.get("input_tokens"))
        completion = data.get("completion_tokens", data.get("output_tokens"))
        total = data.get("total_tokens")
        if total is None and isinstance(prompt, int) and isinstance(completion, int):
            total = prompt + completion
        return cls(prompt, completion, total, raw=dict(data))


@dataclass(frozen=True)
class Conversation:
    """Where a web conversation stands. Pass it back as ``conversation=`` to continue it."""

    conversation_id: Optional[str] = None
    message_id: Optional[str] = None
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, conversation_id: Optional[str] = None, message_id: Optional[str] = None,
                 raw: Any = None) -> None:
        _set(self, "conversation_id", conversation_id)
        _set(self, "message_id", message_id)
        _set(self, "raw", raw)

    def to_dict(self) -> Dict[str, Optional[str]]:
        return {"conversation_id": self.conversation_id, "message_id": self.message_id}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Conversation:
        return cls(data.get("conversation_id"), data.get("message_id"))


@dataclass(frozen=True)
class TitleGeneration:
    """A title the backend generated for the conversation."""

    title: str
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, title: str, raw: Any = None) -> None:
        _set(self, "title", title)
        _set(self, "raw", raw)


@dataclass(frozen=True)
class ToolCalls:
    """Complete tool calls: OpenAI-shaped dicts ``{"id", "type", "function": {"name", "arguments"}}``."""

    tool_calls: List[Dict[str, Any]]
    index: int = 0
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, tool_calls: List[Dict[str, Any]], index: int = 0, raw: Any = None) -> None:
        _set(self, "tool_calls", tool_calls)
        _set(self, "index", index)
        _set(self, "raw", raw)

    def _repr_html_(self) -> str:
        parts = []
        for call in self.tool_calls:
            function = call.get("function") or {}
            parts.append(f"<div><strong>Tool call</strong> <code>{html_escape(str(function.get('name')))}</code> "
                         f"<small>{html_escape(str(call.get('id') or ''))}</small>"
                         f"<pre>{html_escape(str(function.get('arguments') or ''))}</pre></div>")
        return "".join(parts)


@dataclass(frozen=True)
class Reasoning:
    """A piece of the model's reasoning (``reasoning_content`` or a thinking summary)."""

    text: str
    index: int = 0
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, text: str, index: int = 0, raw: Any = None) -> None:
        _set(self, "text", text)
        _set(self, "index", index)
        _set(self, "raw", raw)

    def _repr_html_(self) -> str:
        return ('<details><summary>Reasoning</summary><div style="opacity:0.7;white-space:pre-wrap">'
                f"{html_escape(self.text)}</div></details>")


@dataclass(frozen=True)
class Refusal:
    """A piece of a refusal message (the model declined to answer)."""

    text: str
    index: int = 0
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, text: str, index: int = 0, raw: Any = None) -> None:
        _set(self, "text", text)
        _set(self, "index", index)
        _set(self, "raw", raw)

    def _repr_html_(self) -> str:
        return (f'<div style="border-left:3px solid #c60;padding-left:8px"><strong>Refused:</strong> '
                f'<span style="white-space:pre-wrap">{html_escape(self.text)}</span></div>')


@dataclass(frozen=True)
class ImageResponse:
    """Generated (or returned) images: URLs (http(s) or data URLs) and their alt text / prompt."""

    urls: List[str]
    alt: Optional[str] = None
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, urls: List[str], alt: Optional[str] = None, raw: Any = None) -> None:
        _set(self, "urls", urls)
        _set(self, "alt", alt)
        _set(self, "raw", raw)

    def _repr_html_(self) -> str:
        return images_html(self.urls, self.alt)


@dataclass(frozen=True)
class Sources:
    """Sources the answer cites: ``[{"url": ..., "title": ...}, ...]``."""

    sources: List[Dict[str, Any]]
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, sources: List[Dict[str, Any]], raw: Any = None) -> None:
        _set(self, "sources", sources)
        _set(self, "raw", raw)

    def _repr_html_(self) -> str:
        items = []
        for source in self.sources:
            url = str(source.get("url") or "")
            title = html_escape(str(source.get("title") or url or "source"))
            href = link_href(url)
            items.append(f'<li><a href="{html_escape(href)}" target="_blank" rel="noopener noreferrer">{title}</a></li>'
                         if href else f"<li>{title}</li>")
        return f"<div><strong>Sources</strong><ol>{''.join(items)}</ol></div>"


@dataclass(frozen=True)
class ChoiceText:
    """Text of a choice other than the first, when ``n > 1`` was asked for.

    The first choice's text is yielded as plain ``str``; the others come as ChoiceText so that joining
    the ``str`` pieces still gives exactly one answer.
    """

    text: str
    index: int
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, text: str, index: int, raw: Any = None) -> None:
        _set(self, "text", text)
        _set(self, "index", index)
        _set(self, "raw", raw)


@dataclass(frozen=True)
class ResponseMeta:
    """The server's own identifiers for the answer, yielded once, before its first text piece.

    Every field is what the server sent (``None`` when it sent nothing): ``id`` (``chatcmpl-...``, or
    the web backend's message id), ``model`` (the model that answered, e.g. ``gpt-4o-2024-08-06``,
    not the name that was asked for), ``created`` (Unix seconds), ``system_fingerprint``, and
    ``request_id`` (the ``x-request-id`` header, to quote to the service's support).
    """

    id: Optional[str] = None
    model: Optional[str] = None
    created: Optional[int] = None
    system_fingerprint: Optional[str] = None
    request_id: Optional[str] = None
    raw: Any = field(default=None, compare=False, repr=False)
    #: The HTTP status and headers of the answer (secret headers redacted), for ``with_raw_response``.
    status_code: Optional[int] = field(default=None, compare=False, repr=False)
    headers: Optional[Dict[str, str]] = field(default=None, compare=False, repr=False)

    def __init__(self, id: Optional[str] = None, model: Optional[str] = None, created: Optional[int] = None,
                 system_fingerprint: Optional[str] = None, request_id: Optional[str] = None, raw: Any = None,
                 status_code: Optional[int] = None, headers: Optional[Dict[str, str]] = None) -> None:
        _set(self, "id", id)
        _set(self, "model", model)
        _set(self, "created", created)
        _set(self, "system_fingerprint", system_fingerprint)
        _set(self, "request_id", request_id)
        _set(self, "raw", raw)
        _set(self, "status_code", status_code)
        _set(self, "headers", headers)

    @classmethod
    def from_completion(cls, data: Mapping[str, Any], status_code: Optional[int] = None,
                        headers: Optional[Mapping[str, str]] = None) -> ResponseMeta:
        """From a ``chat.completion`` body or its first ``chat.completion.chunk``, and the answer's
        status and (lower-case) headers."""
        def text(name: str) -> Optional[str]:
            value = data.get(name)
            return value if isinstance(value, str) and value else None

        created = data.get("created")
        shown = redact_headers(headers) if headers else None
        request_id = (shown or {}).get("x-request-id")
        return cls(text("id"), text("model"), created if isinstance(created, int) else None,
                   text("system_fingerprint"), request_id, dict(data), status_code, shown)


@dataclass(frozen=True)
class LogProbs:
    """Token log probabilities, as the server sent them (asked for with ``logprobs=True``).

    ``content`` and ``refusal`` are lists of ``{"token", "logprob", "bytes", "top_logprobs"}`` dicts.
    Streamed, each object covers the tokens of one chunk; otherwise, the whole choice.
    """

    content: Optional[List[Dict[str, Any]]] = None
    refusal: Optional[List[Dict[str, Any]]] = None
    index: int = 0
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, content: Optional[List[Dict[str, Any]]] = None,
                 refusal: Optional[List[Dict[str, Any]]] = None, index: int = 0, raw: Any = None) -> None:
        _set(self, "content", content)
        _set(self, "refusal", refusal)
        _set(self, "index", index)
        _set(self, "raw", raw)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], index: int = 0) -> LogProbs:
        content, refusal = data.get("content"), data.get("refusal")
        return cls(content if isinstance(content, list) else None,
                   refusal if isinstance(refusal, list) else None, index, raw=dict(data))


@dataclass(frozen=True)
class AuthResult:
    """Credentials for your chatgpt.com account, as ``OpenaiChat.login()`` returns and caches them.

    ``access_token`` (a JWT), ``cookies`` (name -> value for chatgpt.com), ``user_agent`` (the browser's,
    when known) and ``expires`` (the token's expiry, Unix seconds, when known). Secrets never show in
    its repr; the auth cache file holds them (mode 0600).
    """

    access_token: Optional[str] = None
    cookies: Dict[str, str] = field(default_factory=dict, repr=False)
    user_agent: Optional[str] = None
    expires: Optional[float] = None

    def __init__(self, access_token: Optional[str] = None, cookies: Dict[str, str] = FACTORY,
                 user_agent: Optional[str] = None, expires: Optional[float] = None) -> None:
        _set(self, "access_token", access_token)
        _set(self, "cookies", {} if cookies is FACTORY else dict(cookies))
        _set(self, "user_agent", user_agent)
        _set(self, "expires", expires)

    def __repr__(self) -> str:
        token = "[redacted]" if self.access_token else None
        return (f"AuthResult(access_token={token!r}, cookies=[{', '.join(sorted(self.cookies))}], "
                f"user_agent={self.user_agent!r}, expires={self.expires!r})")


@dataclass(frozen=True)
class ConversationSummary:
    """One entry of ``OpenaiChat.list_conversations()``, in the server's order."""

    id: str
    title: Optional[str] = None
    create_time: Optional[str] = None
    update_time: Optional[str] = None
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, id: str, title: Optional[str] = None, create_time: Optional[str] = None,
                 update_time: Optional[str] = None, raw: Any = None) -> None:
        _set(self, "id", id)
        _set(self, "title", title)
        _set(self, "create_time", create_time)
        _set(self, "update_time", update_time)
        _set(self, "raw", raw)


@dataclass(frozen=True)
class HistoryMessage:
    """One message of a stored conversation: ``text`` is its visible text; ``images`` the asset
    pointers as the server gives them (``file-service://file-...``, ``sediment://file_...``);
    ``hidden`` marks messages the website does not show (system prompts, tool plumbing)."""

    id: str
    role: str
    text: str = ""
    images: List[str] = field(default_factory=list)
    hidden: bool = False
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, id: str, role: str, text: str = "", images: List[str] = FACTORY, hidden: bool = False,
                 raw: Any = None) -> None:
        _set(self, "id", id)
        _set(self, "role", role)
        _set(self, "text", text)
        _set(self, "images", [] if images is FACTORY else list(images))
        _set(self, "hidden", hidden)
        _set(self, "raw", raw)


@dataclass(frozen=True)
class ConversationHistory:
    """A stored conversation: ``messages`` is the active branch, from the root to ``current_node``."""

    id: str
    title: Optional[str] = None
    current_node: Optional[str] = None
    messages: List[HistoryMessage] = field(default_factory=list)
    raw: Any = field(default=None, compare=False, repr=False)

    def __init__(self, id: str, title: Optional[str] = None, current_node: Optional[str] = None,
                 messages: List[HistoryMessage] = FACTORY, raw: Any = None) -> None:
        _set(self, "id", id)
        _set(self, "title", title)
        _set(self, "current_node", current_node)
        _set(self, "messages", [] if messages is FACTORY else list(messages))
        _set(self, "raw", raw)

    def _repr_html_(self) -> str:
        """A transcript: the visible messages, role by role (hidden ones only counted)."""
        rows = []
        hidden = 0
        for message in self.messages:
            if message.hidden:
                hidden += 1
                continue
            images = images_html(message.images, None) if message.images else ""
            rows.append(f'<div style="margin:6px 0"><strong>{html_escape(message.role)}</strong>'
                        f'<div style="white-space:pre-wrap;margin-left:1em">{html_escape(message.text)}</div>'
                        f"{images}</div>")
        note = f"<div><small>{hidden} hidden message(s) not shown</small></div>" if hidden else ""
        title = html_escape(self.title or "(untitled)")
        return (f"<div><strong>{title}</strong> <small><code>{html_escape(self.id)}</code></small>"
                f"{''.join(rows)}{note}</div>")


ResponseObject = Union[FinishReason, Usage, Conversation, TitleGeneration, ToolCalls, Reasoning,
                       Refusal, ImageResponse, Sources, ChoiceText, ResponseMeta, LogProbs]
Chunk = Union[str, ResponseObject]

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]
