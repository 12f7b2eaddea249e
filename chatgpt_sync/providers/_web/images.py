"""Generated images as the chatgpt.com web stream names them: asset pointers, before any download.

A generated image arrives as a content part holding an asset pointer (``file-service://file-...``
or ``sediment://file_...``), in the assistant's or (DALL·E, gpt-image) the image tool's message.
:func:`new_images` picks a message's new ones out as :class:`ImagePointer` (the decoder decides
when a message is done enough to look); the provider turns a pointer into a download URL with
:func:`download_path` (the backend answers ``{"download_url": ...}``, protocols.md §1.2.10).
:func:`turn_messages` finds the turn's messages when an async image task is polled.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Collection, Dict, List, NamedTuple, Optional, Set, Tuple

__all__ = ["ImagePointer", "download_path", "new_images", "parse_pointer", "turn_messages"]

_IMAGE_SCHEMES = ("file-service://", "sediment://")


def parse_pointer(url: Any) -> Optional[Tuple[str, str]]:
    """``("file-service" | "sediment", file_id)`` of a generated image's asset pointer, else None."""
    if not isinstance(url, str):
        return None
    for scheme in _IMAGE_SCHEMES:
        if url.startswith(scheme) and len(url) > len(scheme):
            file_id = url[len(scheme):]
            if "/" not in file_id and "?" not in file_id and "#" not in file_id:
                return scheme[:-3], file_id
    return None


def download_path(url: str, conversation_id: Optional[str]) -> Optional[str]:
    """The backend path that answers ``{"download_url": ...}`` for an asset pointer (§1.2.10):
    ``/backend-api/files/<id>/download`` for ``file-service://<id>``,
    ``/backend-api/conversation/<conversation_id>/attachment/<id>/download`` for
    ``sediment://<id>``. None for anything else (or a sediment pointer without a conversation)."""
    parsed = parse_pointer(url)
    if parsed is None:
        return None
    scheme, file_id = parsed
    if scheme == "file-service":
        return f"/backend-api/files/{file_id}/download"
    if not conversation_id:
        return None
    return f"/backend-api/conversation/{conversation_id}/attachment/{file_id}/download"


class ImagePointer(NamedTuple):
    """A generated image as the stream names it, before it is resolved to a download URL."""

    url: str                        # the asset pointer, e.g. "sediment://file_00000000abc"
    file_id: str
    alt: Optional[str]              # the prompt or the image's title
    conversation_id: Optional[str]
    message_id: Optional[str]       # the message whose content part holds the pointer
    part: Dict[str, Any]            # that content part (width, height, size_bytes, metadata)

    @property
    def download_path(self) -> Optional[str]:
        return download_path(self.url, self.conversation_id)


def _dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def new_images(message: Dict[str, Any], messages: Collection[Dict[str, Any]], seen: Set[str],
               conversation_id: Optional[str]) -> List[ImagePointer]:
    """The generated images of ``message`` whose pointer is not in ``seen`` (added to it), each once.

    User messages are skipped: an uploaded image echoed back is not a generated one. The alt text is
    the DALL·E prompt, else the image's title, else the prompt the assistant sent the image tool
    (looked up in ``messages``, the turn's messages in stream order).
    """
    if _dict(message.get("author")).get("role") not in ("assistant", "tool"):
        return []
    parts = _dict(message.get("content")).get("parts")
    metadata = _dict(message.get("metadata"))
    found: List[ImagePointer] = []
    for part in parts if isinstance(parts, list) else []:
        pointer = _dict(part).get("asset_pointer")
        parsed = parse_pointer(pointer)
        if parsed is None or pointer in seen:
            continue
        assert isinstance(pointer, str)
        seen.add(pointer)
        alt = _dict(_dict(part.get("metadata")).get("dalle")).get("prompt") \
            or metadata.get("image_gen_title") or metadata.get("async_task_title") or _image_prompt(messages)
        alt = alt if isinstance(alt, str) and alt else None
        message_id = message.get("id")
        found.append(ImagePointer(pointer, parsed[1], alt, conversation_id,
                                  message_id if isinstance(message_id, str) else None, copy.deepcopy(part)))
    return found


def _image_prompt(messages: Collection[Dict[str, Any]]) -> Optional[str]:
    """The prompt the assistant sent to the image tool (``{"prompt": ...}``), the alt text of
    last resort."""
    for message in reversed(list(messages)):
        content = _dict(message.get("content"))
        if _dict(message.get("author")).get("role") != "assistant" or (message.get("recipient") or "all") == "all" \
                or not isinstance(content.get("text"), str):
            continue
        try:
            args = json.loads(content["text"])
        except (ValueError, RecursionError):
            continue
        prompt = _dict(args).get("prompt")
        if isinstance(prompt, str) and prompt:
            return prompt
    return None


def turn_messages(conversation: Dict[str, Any], user_message_id: Optional[str]) -> List[Dict[str, Any]]:
    """The messages of the latest turn in a polled ``GET /backend-api/conversation/{id}`` body (where
    an async image task's images end up): the branch from ``current_node`` back to, not including,
    the turn's user message (``user_message_id``, else the first user message met), oldest first."""
    mapping: Dict[str, Any] = conversation["mapping"]
    branch: List[Dict[str, Any]] = []
    node_id = conversation.get("current_node")
    seen: Set[Any] = set()
    while isinstance(node_id, str) and node_id not in seen and isinstance(mapping.get(node_id), dict):
        seen.add(node_id)
        node = mapping[node_id]
        message = _dict(node.get("message"))
        if node_id == user_message_id or message.get("id") == user_message_id \
                or (user_message_id is None and _dict(message.get("author")).get("role") == "user"):
            break
        branch.append(message)
        node_id = node.get("parent")
    return branch[::-1]
