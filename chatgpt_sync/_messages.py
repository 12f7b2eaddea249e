"""Checking and reading chat messages before anything is sent (DESIGN.md rule 9)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence  # isinstance on these is cheaper than on typing's aliases
from typing import Any

from .errors import InvalidRequestError

__all__ = ["validate_messages", "content_text", "last_user_text", "messages_as_dicts", "message_as_dict",
           "single_prompt"]

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
PART_TYPES = frozenset({"text", "image_url", "input_audio", "file"})


def _check_part(where: str, part: Any) -> None:
    if not isinstance(part, Mapping):
        raise InvalidRequestError(f"{where} must be a content part dict, got {type(part).__name__}")
    kind = part.get("type")
    if kind not in PART_TYPES:
        raise InvalidRequestError(f"{where}.type must be one of {sorted(PART_TYPES)}, got {kind!r}")
    if kind == "text" and not isinstance(part.get("text"), str):
        raise InvalidRequestError(f"{where}.text must be a string")
    if kind == "image_url":
        image = part.get("image_url")
        if isinstance(image, str):
            # OpenAI answers 400 to a bare string; show the shape it wants, with the caller's URL in it.
            shown = image if len(image) <= 80 else image[:60] + "..."
            raise InvalidRequestError(
                f'{where}.image_url must be an object, not a string: write '
                f'{{"type": "image_url", "image_url": {{"url": "{shown}"}}}}')
        url = image.get("url") if isinstance(image, Mapping) else None
        if not isinstance(url, str) or not url:
            raise InvalidRequestError(f'{where}.image_url must be {{"url": "<http(s) or data URL>"}}')


def validate_messages(messages: Any) -> list[dict[str, Any]]:
    """Raise InvalidRequestError, naming the offending message and field, unless ``messages`` is a
    non-empty list of ``{"role", "content"}`` dicts. Returns the messages as a list of dicts."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise InvalidRequestError(
            f'messages must be a list of {{"role": ..., "content": ...}} dicts, got {type(messages).__name__}')
    if not messages:
        raise InvalidRequestError("messages is empty: send at least one message")
    checked: list[dict[str, Any]] = []
    for i, message in enumerate(messages_as_dicts(messages)):
        where = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise InvalidRequestError(f"{where} must be a dict with 'role' and 'content', got {type(message).__name__}")
        role = message.get("role")
        if role not in ROLES:
            raise InvalidRequestError(f"{where}.role must be one of {sorted(ROLES)}, got {role!r}")
        calls = role == "assistant" and bool(message.get("tool_calls") or message.get("function_call"))
        if "content" not in message and not calls:
            # An assistant message with tool calls may leave content out (what model_dump(exclude_none=True)
            # of an openai-python answer gives); every other message must say what it says.
            raise InvalidRequestError(f"{where} has no 'content'")
        content = message.get("content")
        if content is None:
            if not (role == "assistant" and (message.get("tool_calls") or message.get("function_call"))):
                raise InvalidRequestError(f"{where}.content is None; only an assistant message with tool_calls may omit it")
        elif isinstance(content, list):
            for j, part in enumerate(content):
                _check_part(f"{where}.content[{j}]", part)
        elif not isinstance(content, str):
            raise InvalidRequestError(
                f"{where}.content must be a string or a list of content parts, got {type(content).__name__}")
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            raise InvalidRequestError(f"{where} is a tool message without a 'tool_call_id'")
        checked.append(dict(message))
    return checked


# The fields of a chat message the API takes back; an answer object converted to a message keeps these.
MESSAGE_FIELDS = ("role", "content", "name", "tool_calls", "tool_call_id", "function_call", "refusal", "audio")


def message_as_dict(message: Any) -> Any:
    """A message given as an object (an answer's ``message``: pydantic, ours, or any object with the
    attributes) as a dict of the fields the API takes back; dicts and anything else pass through."""
    if isinstance(message, Mapping) or isinstance(message, (str, bytes)):
        return message
    dump = getattr(message, "model_dump", None) or getattr(message, "to_dict", None)
    data: Any = dump() if callable(dump) else None
    if not isinstance(data, Mapping):
        if not hasattr(message, "role"):
            return message  # not message-like: validation names it
        data = {name: getattr(message, name, None) for name in MESSAGE_FIELDS}
    converted = {k: v for k, v in data.items() if k in MESSAGE_FIELDS and v is not None}
    if converted.get("tool_calls"):
        converted["tool_calls"] = [_plain_call(call) for call in converted["tool_calls"]]
    return converted


def _plain_call(call: Any) -> Any:
    if isinstance(call, Mapping):
        return dict(call)
    dump = getattr(call, "model_dump", None) or getattr(call, "to_dict", None)
    if callable(dump):
        return dump()
    function = getattr(call, "function", None)
    return {"id": getattr(call, "id", None), "type": getattr(call, "type", "function"),
            "function": {"name": getattr(function, "name", None), "arguments": getattr(function, "arguments", None)}}


def messages_as_dicts(messages: Any) -> Any:
    """``messages`` with object messages converted (see :func:`message_as_dict`); other values as given."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        return messages
    return [message_as_dict(message) for message in messages]


def single_prompt(messages: Sequence[Mapping[str, Any]], *, who: str) -> str:
    """The conversation as one text prompt, for services that take no message list: a lone message
    as it is, otherwise ``Role: text`` lines (empty ones left out) ending in ``Assistant:``.

    Raises InvalidRequestError, naming ``who``, for non-text parts or when there is no text at all.
    """
    texts = []
    for i, message in enumerate(messages):
        content = message.get("content")
        if isinstance(content, list) and any(part.get("type") != "text" for part in content):
            raise InvalidRequestError(f"messages[{i}] has non-text parts; {who} takes text only")
        texts.append(content_text(content))
    if not "".join(texts).strip():
        raise InvalidRequestError(f"the messages carry no text; {who} needs a prompt")
    if len(messages) == 1:
        return texts[0]
    lines = [f"{str(m['role']).capitalize()}: {text}" for m, text in zip(messages, texts) if text]
    return "\n".join(lines) + "\nAssistant:"


def content_text(content: Any) -> str:
    """The text of a message's content: the string itself, or its text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type") == "text")
    return ""


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return ""
