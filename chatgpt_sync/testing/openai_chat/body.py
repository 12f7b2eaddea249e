"""Request bodies of the authenticated conversation flow (protocols.md §1.2.6), validated.

``POST /backend-api/f/conversation/prepare`` and ``POST /backend-api/f/conversation`` share their
routing fields (action, model, parent, conversation id, mode, hints, temporary); the conversation
body adds the messages. Text messages are checked by the anonymous emulator's own message check;
``multimodal_text`` messages are reduced to it after their image parts are checked here. Every
problem is a 400 (not JSON) or a 422 naming the first bad field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..chatgpt_web.checks import CLIENT_ROOT, Rejection, _is_uuid, _parse_message
from .models import MODEL_SLUGS

__all__ = ["ACTIONS", "SYSTEM_HINTS", "REASONING_EFFORTS", "Attachment", "ChatMessage", "ChatRequest",
           "ImageRef", "PrepareRequest", "parse_chat_body", "parse_prepare_body", "FILE_ID", "GIZMO_ID"]

ACTIONS = ("next", "continue", "variant")
SYSTEM_HINTS = frozenset({"search", "reason", "picture_v2"})
REASONING_EFFORTS = ("minimal", "low", "medium", "high")
FILE_ID = re.compile(r"file-[A-Za-z0-9]{16,40}")
SEDIMENT_ID = re.compile(r"file_[0-9a-f]{32}")
GIZMO_ID = re.compile(r"g-[A-Za-z0-9]{6,40}")


@dataclass(frozen=True)
class ImageRef:
    """An image part of a ``multimodal_text`` message: the pointer and what the client claims."""

    pointer: str
    file_id: str
    width: int
    height: int
    size_bytes: int | None


@dataclass(frozen=True)
class Attachment:
    """An entry of ``metadata.attachments``."""

    file_id: str
    name: str | None
    size: int | None


@dataclass(frozen=True)
class ChatMessage:
    id: str
    role: str
    text: str
    images: tuple[ImageRef, ...] = ()
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class PrepareRequest:
    """The fields both bodies share."""

    action: str
    parent_message_id: str
    model: str
    conversation_id: str | None
    temporary: bool
    system_hints: tuple[str, ...]
    gizmo_id: str | None
    reasoning_effort: str | None


@dataclass(frozen=True)
class ChatRequest(PrepareRequest):
    messages: tuple[ChatMessage, ...] = ()
    wants_v1: bool = False


def _field(where: str, problem: str) -> Rejection:
    return Rejection(422, f"Invalid request body: {where} {problem}")


def _object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise Rejection(400, f"Request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Rejection(400, "Request body must be a JSON object.")
    return data


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _common(data: dict[str, Any]) -> PrepareRequest:
    action = data.get("action")
    if action not in ACTIONS:
        raise _field("action", f"must be one of {list(ACTIONS)}, got {action!r}")
    model = data.get("model")
    if model not in MODEL_SLUGS:
        raise _field("model", f"{model!r} is not a model of this account; GET /backend-api/models lists "
                              f"the slugs ({', '.join(MODEL_SLUGS)})")
    conversation_id = data.get("conversation_id")
    if conversation_id is not None and not _is_uuid(conversation_id):
        raise _field("conversation_id", "must be a uuid string when present")
    parent = data.get("parent_message_id")
    if not (_is_uuid(parent) or (parent == CLIENT_ROOT and conversation_id is None)):
        raise _field("parent_message_id", f'must be a uuid string (or "{CLIENT_ROOT}" for a new conversation)')
    if not _int(data.get("timezone_offset_min")):
        raise _field("timezone_offset_min", "must be an integer")
    temporary = data.get("history_and_training_disabled", False)
    if not isinstance(temporary, bool):
        raise _field("history_and_training_disabled", "must be a boolean")
    hints = data.get("system_hints", [])
    if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
        raise _field("system_hints", "must be a list of strings")
    unknown = sorted(set(hints) - SYSTEM_HINTS)
    if unknown:
        raise _field("system_hints", f"has unknown hints {unknown}; known: {sorted(SYSTEM_HINTS)}")
    effort = data.get("reasoning_effort")
    if effort is not None and effort not in REASONING_EFFORTS:
        raise _field("reasoning_effort", f"must be one of {list(REASONING_EFFORTS)}, got {effort!r}")
    gizmo = _gizmo(data)
    encodings = data.get("supported_encodings", [])
    if not isinstance(encodings, list) or not all(isinstance(e, str) for e in encodings):
        raise _field("supported_encodings", "must be a list of strings")
    return PrepareRequest(action=str(action), parent_message_id=str(parent), model=str(model),
                          conversation_id=conversation_id, temporary=temporary, system_hints=tuple(hints),
                          gizmo_id=gizmo, reasoning_effort=effort)


def _gizmo(data: dict[str, Any]) -> str | None:
    mode = data.get("conversation_mode")
    if not isinstance(mode, dict) or mode.get("kind") not in ("primary_assistant", "gizmo_interaction"):
        raise _field("conversation_mode", 'must be {"kind": "primary_assistant"} or '
                                          '{"kind": "gizmo_interaction", "gizmo_id": "g-..."}')
    gizmo = mode.get("gizmo_id") if mode["kind"] == "gizmo_interaction" else None
    if mode["kind"] == "gizmo_interaction" and not (isinstance(gizmo, str) and GIZMO_ID.fullmatch(gizmo)):
        raise _field("conversation_mode.gizmo_id", 'must be a GPT id such as "g-abc123def"')
    top = data.get("gizmo_id")
    if top is not None and top != gizmo:
        raise _field("gizmo_id", "does not match conversation_mode.gizmo_id (a custom GPT is chosen with "
                                 'conversation_mode {"kind": "gizmo_interaction", "gizmo_id": ...})')
    return gizmo


def parse_prepare_body(body: bytes) -> PrepareRequest:
    """Validate a ``/f/conversation/prepare`` body."""
    data = _object(body)
    request = _common(data)
    if "fork_from_shared_post" in data and not isinstance(data["fork_from_shared_post"], bool):
        raise _field("fork_from_shared_post", "must be a boolean")
    return request


def _image_part(where: str, part: dict[str, Any]) -> ImageRef:
    kind = part.get("content_type", "image_asset_pointer")
    if kind != "image_asset_pointer":
        raise _field(f"{where}.content_type", 'must be "image_asset_pointer" for an image part')
    pointer = part.get("asset_pointer")
    file_id = pointer[len("file-service://"):] if isinstance(pointer, str) \
        and pointer.startswith("file-service://") else ""
    if not FILE_ID.fullmatch(file_id):
        raise _field(f"{where}.asset_pointer", 'must be "file-service://<file_id>" of an uploaded file')
    for key in ("width", "height"):
        if not _int(part.get(key)) or part[key] <= 0:
            raise _field(f"{where}.{key}", "must be a positive integer (the image's pixel size)")
    size = part.get("size_bytes")
    if size is not None and (not _int(size) or size < 0):
        raise _field(f"{where}.size_bytes", "must be a non-negative integer")
    return ImageRef(pointer=str(pointer), file_id=file_id, width=part["width"], height=part["height"],
                    size_bytes=size)


def _attachments(where: str, metadata: Any) -> tuple[Attachment, ...]:
    if not isinstance(metadata, dict) or "attachments" not in metadata:
        return ()
    raw = metadata["attachments"]
    if not isinstance(raw, list):
        raise _field(f"{where}.metadata.attachments", "must be a list")
    found = []
    for j, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not FILE_ID.fullmatch(item["id"]):
            raise _field(f"{where}.metadata.attachments[{j}].id", "must be the file_id of an uploaded file")
        size = item.get("size")
        found.append(Attachment(item["id"], item.get("name") if isinstance(item.get("name"), str) else None,
                                size if _int(size) else None))
    return tuple(found)


def _message(index: int, raw: Any) -> ChatMessage:
    where = f"messages[{index}]"
    content = raw.get("content") if isinstance(raw, dict) else None
    images: list[ImageRef] = []
    plain = raw
    if isinstance(content, dict) and content.get("content_type") == "multimodal_text":
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise _field(f"{where}.content.parts", "must be a non-empty list of strings and image parts")
        texts = []
        for j, part in enumerate(parts):
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                images.append(_image_part(f"{where}.content.parts[{j}]", part))
            else:
                raise _field(f"{where}.content.parts[{j}]", "must be a string or an image_asset_pointer object")
        # The remaining checks (id, author, metadata, create_time) are the anonymous backend's.
        plain = {**raw, "content": {"content_type": "text", "parts": ["".join(texts)]}}
    elif isinstance(content, dict) and content.get("content_type") != "text":
        raise _field(f"{where}.content.content_type", 'must be "text" or "multimodal_text"')
    parsed = _parse_message(index, plain)
    return ChatMessage(id=parsed.id, role=parsed.role, text=parsed.text, images=tuple(images),
                       attachments=_attachments(where, raw.get("metadata")))


def parse_chat_body(body: bytes) -> ChatRequest:
    """Validate a ``/f/conversation`` body."""
    data = _object(body)
    common = _common(data)
    raw_messages = data.get("messages")
    if common.action == "continue":
        if raw_messages not in (None, []):
            raise _field("messages", 'must be absent or empty for action "continue" (it continues the '
                                     "assistant message named by parent_message_id)")
        if common.conversation_id is None:
            raise _field("conversation_id", 'is required for action "continue"')
        messages: tuple[ChatMessage, ...] = ()
    else:
        if not isinstance(raw_messages, list) or not raw_messages:
            raise _field("messages", "must be a non-empty list of message objects")
        messages = tuple(_message(i, item) for i, item in enumerate(raw_messages))
        if len({m.id for m in messages}) != len(messages):
            raise _field("messages", "carry duplicate ids")
        if messages[-1].role != "user":
            raise _field("messages", f"must end with a user message, not {messages[-1].role!r}")
        if any(m.images for m in messages[:-1]):
            raise _field("messages", "may carry images only in the last (new) user message")
        if common.action == "variant" and (len(messages) != 1 or common.conversation_id is None):
            raise _field("messages", 'for action "variant" must be exactly the user message to answer again, '
                                     "in an existing conversation")
    # Hints may also ride in the last message's metadata (create_messages puts them there).
    hints = set(common.system_hints)
    last_meta = raw_messages[-1].get("metadata") if isinstance(raw_messages, list) and raw_messages \
        and isinstance(raw_messages[-1], dict) else None
    if isinstance(last_meta, dict) and isinstance(last_meta.get("system_hints"), list):
        hints.update(h for h in last_meta["system_hints"] if h in SYSTEM_HINTS)
    encodings = data.get("supported_encodings", [])
    return ChatRequest(action=common.action, parent_message_id=common.parent_message_id, model=common.model,
                       conversation_id=common.conversation_id, temporary=common.temporary,
                       system_hints=tuple(sorted(hints)), gizmo_id=common.gizmo_id,
                       reasoning_effort=common.reasoning_effort, messages=messages,
                       wants_v1="v1" in encodings)
