"""A stored conversation: the ``mapping`` tree of ``GET /backend-api/conversation/{id}``.

Every node is ``{"id", "message", "parent", "children"}``. The root (``client-created-root``)
has no message; under it sits a hidden system message (``is_visually_hidden_from_conversation``),
then the turns. Regenerated answers (``action: "variant"``) and the draft the emulator plants
under the first question are siblings *off* the active path, so the only right way to read a
conversation is to walk from ``current_node`` up to the root.
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..chatgpt_web.checks import CLIENT_ROOT
from .auth import iso_time

__all__ = ["DRAFT_TEXT", "Node", "PendingTask", "StoredConversation", "hidden_system_message"]

DRAFT_TEXT = "An earlier draft of this answer, replaced when the answer was regenerated."
_SEQUENCE = itertools.count()


@dataclass
class Node:
    id: str
    message: dict[str, Any] | None
    parent: str | None
    children: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "message": self.message, "parent": self.parent, "children": list(self.children)}


@dataclass
class PendingTask:
    """An async image task: the message's finished state, shown after ``polls_left`` more GETs."""

    done: dict[str, Any]
    polls_left: int


def hidden_system_message() -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "author": {"role": "system", "name": None, "metadata": {}},
            "create_time": None, "update_time": None, "content": {"content_type": "text", "parts": [""]},
            "status": "finished_successfully", "end_turn": True, "weight": 0.0,
            "metadata": {"is_visually_hidden_from_conversation": True}, "recipient": "all", "channel": None}


class StoredConversation:
    """One conversation of one account."""

    def __init__(self, conversation_id: str, owner: str, *, model_slug: str, temporary: bool,
                 gizmo_id: str | None) -> None:
        now = time.time()
        self.id = conversation_id
        self.owner = owner
        self.title: str | None = None
        self.create_time = now
        self.update_time = now
        self.sequence = next(_SEQUENCE)  # breaks update_time ties: newest first stays well defined
        self.model_slug = model_slug
        self.temporary = temporary
        self.gizmo_id = gizmo_id
        self.visible = True
        self.archived = False
        self.mapping: dict[str, Node] = {CLIENT_ROOT: Node(CLIENT_ROOT, None, None)}
        system = hidden_system_message()
        self.system_id: str = system["id"]
        self.add(system, CLIENT_ROOT)
        self.current_node: str = self.system_id
        self.pending: dict[str, PendingTask] = {}
        self.remaining: dict[str, list[str]] = {}  # answer id -> text still to send (max_tokens cuts)

    # ---------------------------------------------------------------- the tree
    def add(self, message: dict[str, Any], parent: str, *, first: bool = False) -> None:
        """Hang ``message`` under ``parent`` (``first``: as its oldest child)."""
        self.mapping[message["id"]] = Node(message["id"], message, parent)
        children = self.mapping[parent].children
        if first:
            children.insert(0, message["id"])
        else:
            children.append(message["id"])
        self.touch()

    def update(self, message: dict[str, Any]) -> None:
        self.mapping[message["id"]].message = message
        self.touch()

    def touch(self) -> None:
        self.update_time = time.time()
        self.sequence = next(_SEQUENCE)

    def message(self, message_id: str) -> dict[str, Any] | None:
        node = self.mapping.get(message_id)
        return node.message if node is not None else None

    def active_path(self, node_id: str | None = None) -> list[Node]:
        """The nodes from the root down to ``node_id`` (default: ``current_node``)."""
        path = []
        node_id = self.current_node if node_id is None else node_id
        while node_id is not None:
            node = self.mapping[node_id]
            path.append(node)
            node_id = node.parent
        return path[::-1]

    def user_turns(self, node_id: str | None = None) -> int:
        """User messages from the root down to ``node_id`` (default: ``current_node``)."""
        return sum(1 for node in self.active_path(node_id)
                   if node.message is not None and node.message["author"]["role"] == "user")

    # ---------------------------------------------------------------- async image tasks
    def poll_tasks(self) -> None:
        """One GET went by: finish the tasks whose time has come, count down the others."""
        for message_id, task in list(self.pending.items()):
            if task.polls_left <= 0:
                self.update(task.done)
                del self.pending[message_id]
            else:
                task.polls_left -= 1

    def finish_tasks(self) -> int:
        for task in self.pending.values():
            self.update(task.done)
        count = len(self.pending)
        self.pending.clear()
        return count

    # ---------------------------------------------------------------- JSON shapes
    def to_json(self) -> dict[str, Any]:
        """The body of ``GET /backend-api/conversation/{id}`` (times are epoch seconds here)."""
        return {
            "title": self.title, "create_time": self.create_time, "update_time": self.update_time,
            "mapping": {node_id: node.to_json() for node_id, node in self.mapping.items()},
            "moderation_results": [], "current_node": self.current_node, "plugin_ids": None,
            "conversation_id": self.id, "conversation_template_id": None, "gizmo_id": self.gizmo_id,
            "gizmo_type": "gpt" if self.gizmo_id else None, "is_archived": self.archived, "is_starred": None,
            "safe_urls": [], "blocked_urls": [], "default_model_slug": self.model_slug,
            "conversation_origin": None, "voice": None, "async_status": 1 if self.pending else None,
            "disabled_tool_ids": [], "is_do_not_remember": self.temporary, "memory_scope": "global_enabled",
            "id": self.id,
        }

    def summary(self) -> dict[str, Any]:
        """One item of ``GET /backend-api/conversations`` (times are ISO 8601 strings here)."""
        return {
            "id": self.id, "title": self.title, "create_time": iso_time(self.create_time),
            "update_time": iso_time(self.update_time), "mapping": None, "current_node": None,
            "conversation_template_id": None, "gizmo_id": self.gizmo_id, "is_archived": self.archived,
            "is_starred": None, "is_do_not_remember": self.temporary, "memory_scope": "global_enabled",
            "workspace_id": None, "async_status": 1 if self.pending else None, "safe_urls": [],
            "blocked_urls": [], "conversation_origin": None, "snippet": None,
        }
