"""Checking and reading chat messages before anything is sent (DESIGN.md rule 9)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .errors import InvalidRequestError

__all__ = ["validate_messages", "content_text", "last_user_text"]

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
        url = image.get("url") if isinstance(image, Mapping) else image
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
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise InvalidRequestError(f"{where} must be a dict with 'role' and 'content', got {type(message).__name__}")
        role = message.get("role")
        if role not in ROLES:
            raise InvalidRequestError(f"{where}.role must be one of {sorted(ROLES)}, got {role!r}")
        if "content" not in message:
            raise InvalidRequestError(f"{where} has no 'content'")
        content = message["content"]
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
