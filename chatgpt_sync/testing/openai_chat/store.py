"""The conversations of the authenticated emulator: turn acceptance and the history routes.

:meth:`ConversationStore.accept` checks a conversation request against what is stored (the parent
must be the conversation's last assistant message; ``continue`` needs an answer cut by
``max_tokens``; ``variant`` re-answers a stored question), checks the files it references, decides
what the answer carries (thinking, search, images) and stores the turn. Callers hold the lock.
"""

from __future__ import annotations

import copy
import re
import time
import uuid
from typing import Any, Callable

from ..chatgpt_web.checks import Rejection
from ..chatgpt_web.stream import INBAND_ERROR, make_title, split_tokens
from ._state import ChatFaults
from .body import ChatMessage, ChatRequest
from .conversations import DRAFT_TEXT, PendingTask, StoredConversation
from .files import FileRegistry
from .models import IMAGE_MODELS, THINKING_MODELS, answering_slug
from .turns import BuiltTurn, TurnSpec, build_turn, search_text

__all__ = ["ConversationStore", "Reply", "IMAGE_PROMPT"]

Reply = Callable[[str], str]
#: A prompt that asks for a picture (answered with a generated image by image-capable models).
IMAGE_PROMPT = re.compile(r"\b(draw|paint|sketch|(generate|create|make) an? (image|picture)|"
                          r"(image|picture|photo) of)\b", re.IGNORECASE)
_MARKERS = re.compile("\ue200[^\ue201]*\ue201|[\ue200-\ue206]")


def _segments(text: str, count: int) -> list[str]:
    tokens = split_tokens(text)
    count = max(1, min(count, len(tokens)))
    size = -(-len(tokens) // count)
    return ["".join(tokens[i:i + size]) for i in range(0, len(tokens), size)]


def _user_message(message: ChatMessage, images: list[dict[str, Any]],
                  attachments: list[dict[str, Any]]) -> dict[str, Any]:
    content: dict[str, Any] = {"content_type": "text", "parts": [message.text]}
    if images:
        content = {"content_type": "multimodal_text", "parts": [*images, message.text]}
    metadata: dict[str, Any] = {"serialization_metadata": {"custom_symbol_offsets": []}}
    if attachments:
        metadata["attachments"] = attachments
    return {"id": message.id, "author": {"role": message.role, "name": None, "metadata": {}},
            "create_time": round(time.time(), 3), "update_time": None, "content": content,
            "status": "finished_successfully", "end_turn": None, "weight": 1.0, "metadata": metadata,
            "recipient": "all", "channel": None}


class ConversationStore:
    """Conversations by id, each owned by one account (others get 404, as for a missing one)."""

    def __init__(self, files: FileRegistry, *, reply: str | Reply | None, gizmos: dict[str, str]) -> None:
        self.files = files
        self.reply = reply
        self.gizmos = gizmos
        self.draft_branch = True
        self.conversations: dict[str, StoredConversation] = {}

    # ---------------------------------------------------------------- lookup
    def load(self, owner: str, conversation_id: str) -> StoredConversation:
        found = self.conversations.get(conversation_id)
        if found is None or found.owner != owner or not found.visible:
            raise Rejection(404, f"Can't load conversation {conversation_id}: not found for this account.")
        return found

    def _reply(self, text: str, turn: int) -> str:
        if callable(self.reply):
            return self.reply(text)
        return str(self.reply) if self.reply is not None else f"You said: {text}. Turn {turn}."

    # ---------------------------------------------------------------- a turn
    def _conversation(self, owner: str, request: ChatRequest) -> tuple[StoredConversation, bool]:
        if request.gizmo_id is not None and request.gizmo_id not in self.gizmos:
            raise Rejection(404, f"Gizmo {request.gizmo_id} not found.")
        if request.conversation_id is None:
            conversation = StoredConversation(str(uuid.uuid4()), owner, model_slug=request.model,
                                              temporary=request.temporary, gizmo_id=request.gizmo_id)
            return conversation, True
        conversation = self.load(owner, request.conversation_id)
        if request.gizmo_id != conversation.gizmo_id:
            raise Rejection(400, f"Conversation {conversation.id} is with "
                                 f"{conversation.gizmo_id or 'the primary assistant'}, not "
                                 f"{request.gizmo_id or 'the primary assistant'} (conversation_mode).")
        return conversation, False

    def _check_parent(self, conversation: StoredConversation, request: ChatRequest) -> str:
        """The node the new messages hang under."""
        if request.action == "variant":
            question = conversation.message(request.messages[0].id)
            node = conversation.mapping.get(request.messages[0].id)
            if question is None or node is None or question["author"]["role"] != "user":
                raise Rejection(400, f'action "variant": {request.messages[0].id} is not a user message of '
                                     f"conversation {conversation.id}.")
            if request.parent_message_id != node.parent:
                raise Rejection(400, f'action "variant": parent_message_id must be the parent of the question '
                                     f"being answered again ({node.parent}).")
            return node.id
        current = conversation.current_node
        if request.parent_message_id != current:
            raise Rejection(400, f"parent_message_id {request.parent_message_id} is not the last assistant "
                                 f"message of conversation {conversation.id} (expected {current}).")
        if request.action == "continue" and not conversation.remaining.get(current):
            raise Rejection(400, f'action "continue": message {current} was not cut short (its finish_details '
                                 'type is not "max_tokens"), so there is nothing to continue.')
        return current

    def _user_parts(self, owner: str, message: ChatMessage) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                                     str]:
        images: list[dict[str, Any]] = []
        notes: list[str] = []
        for ref in message.images:
            info = self.files.check_image(owner, ref)
            images.append({"content_type": "image_asset_pointer", "asset_pointer": ref.pointer,
                           "size_bytes": self.files.own(owner, ref.file_id).size, "width": ref.width,
                           "height": ref.height, "fovea": None, "metadata": None})
            notes.append(f"{info.width}x{info.height} {info.mime_type.split('/')[1].upper()}")
        attachments: list[dict[str, Any]] = []
        documents: list[str] = []
        for attachment in message.attachments:
            stored = self.files.check_attachment(owner, attachment)
            attachments.append({"id": stored.id, "name": stored.name, "size": stored.size})
            if stored.image is None:
                documents.append(stored.name)
        extra = f" I see {len(notes)} image(s): {', '.join(notes)}." if notes else ""
        if documents:
            extra += f" Attached: {', '.join(documents)}."
        return images, attachments, extra

    def accept(self, owner: str, request: ChatRequest, faults: ChatFaults) -> BuiltTurn:
        """Check the request against the store, store the turn, and return it (to be streamed)."""
        conversation, new = self._conversation(owner, request)
        parent = conversation.system_id if new else self._check_parent(conversation, request)
        echo: dict[str, Any] | None = None
        extra = ""
        if request.action == "next":
            taken = sorted(m.id for m in request.messages if m.id in conversation.mapping)
            if taken:
                raise Rejection(400, f"Message ids {taken} already exist in conversation {conversation.id}; "
                                     "each new message needs a new id.")
            # Every file reference is checked before anything is stored: a refused turn leaves no trace.
            checked = [(message, self._user_parts(owner, message)) for message in request.messages]
            for message, (images, attachments, extra) in checked:
                echo = _user_message(message, images, attachments)
                conversation.add(echo, parent)
                parent = message.id
        elif request.action == "variant":
            echo = conversation.message(parent)
        if request.action == "continue":
            spec = self._continue(conversation, request, faults)
        else:
            spec = self._spec(owner, conversation, request, faults, parent, extra)
        first = next((m.text for m in request.messages if m.role == "user"), "")
        title = make_title(first) if new else None
        built = build_turn(spec, echo=copy.deepcopy(echo), title=title,
                           title_after_complete=faults.title_after_complete)
        for stored, message_parent in built.stored:
            if spec.continued is not None:
                conversation.update(stored)
            else:
                conversation.add(stored, message_parent)
        conversation.current_node = spec.answer_id
        conversation.model_slug = request.model
        if built.task is not None:
            conversation.pending[built.task[0]] = PendingTask(built.task[1], max(0, faults.async_image_polls))
        if new:
            conversation.title = title
            self.conversations[conversation.id] = conversation
            if self.draft_branch and echo is not None:
                self._plant_draft(conversation, echo["id"], spec.model_slug)
        return built

    def _spec(self, owner: str, conversation: StoredConversation, request: ChatRequest, faults: ChatFaults,
              parent: str, extra: str) -> TurnSpec:
        question = conversation.message(parent) or {}
        prompt = "".join(p for p in question.get("content", {}).get("parts", []) if isinstance(p, str))
        hints = set(request.system_hints)
        reply = self._reply(prompt, conversation.user_turns(parent)) + extra
        if request.gizmo_id is not None:
            reply = f"[{self.gizmos[request.gizmo_id]}] {reply}"
        if request.action == "variant":
            reply += f" (Variant {len(conversation.mapping[parent].children) + 1}.)"
        image = None
        if "picture_v2" in hints or request.model in IMAGE_MODELS or IMAGE_PROMPT.search(prompt):
            image = "async" if faults.async_image else (
                "gpt-image" if "picture_v2" in hints or request.model in IMAGE_MODELS else "dalle")
            reply = (f"Your image of {prompt} is being created; it will appear in this conversation when it "
                     "is ready." if image == "async" else f"Here is the image you asked for: {prompt}.")
        search = "search" in hints
        if search:
            reply = search_text(reply)
        answer_text, finish = reply, "stop"
        answer_id = str(uuid.uuid4())
        if faults.max_tokens > 0:
            first, *rest = _segments(reply, faults.max_tokens + 1)
            answer_text, finish = first, "max_tokens" if rest else "stop"
            if rest:
                conversation.remaining[answer_id] = rest
        generated = None
        if image is not None:
            generated = self.files.generate(owner, conversation.id, sediment=image != "dalle")
        return TurnSpec(conversation_id=conversation.id, parent_id=parent, model_slug=answering_slug(request.model),
                        prompt=prompt, answer_id=answer_id, answer_text=answer_text,
                        message_type=request.action, finish=finish,
                        thinking=request.model in THINKING_MODELS or "reason" in hints
                        or request.reasoning_effort is not None,
                        search=search, image=image, generated=generated,
                        task_id=f"task_{uuid.uuid4().hex}" if image == "async" else None,
                        error=INBAND_ERROR if faults.inband_error else None, gizmo_id=request.gizmo_id)

    def _continue(self, conversation: StoredConversation, request: ChatRequest, faults: ChatFaults) -> TurnSpec:
        answer_id = conversation.current_node
        rest = conversation.remaining[answer_id]
        text = rest.pop(0)
        if not rest:
            del conversation.remaining[answer_id]
        stored = copy.deepcopy(conversation.message(answer_id) or {})
        parent = str(stored.get("metadata", {}).get("parent_id") or answer_id)
        return TurnSpec(conversation_id=conversation.id, parent_id=parent,
                        model_slug=answering_slug(request.model), prompt="", answer_id=answer_id,
                        answer_text=text, message_type="continue", finish="max_tokens" if rest else "stop",
                        continued=stored, error=INBAND_ERROR if faults.inband_error else None)

    def _plant_draft(self, conversation: StoredConversation, question_id: str, model_slug: str) -> None:
        """An older sibling answer to the first question, off the active path (a regenerated answer)."""
        draft = {"id": str(uuid.uuid4()), "author": {"role": "assistant", "name": None, "metadata": {}},
                 "create_time": round(conversation.create_time - 60, 3), "update_time": None,
                 "content": {"content_type": "text", "parts": [DRAFT_TEXT]}, "status": "finished_successfully",
                 "end_turn": True, "weight": 1.0, "recipient": "all", "channel": None,
                 "metadata": {"message_type": "next", "model_slug": model_slug, "parent_id": question_id,
                              "is_complete": True, "finish_details": {"type": "stop", "stop_tokens": [200002]}}}
        conversation.add(draft, question_id, first=True)

    # ---------------------------------------------------------------- history routes
    def listing(self, owner: str, offset: int, limit: int) -> dict[str, Any]:
        mine = [c for c in self.conversations.values()
                if c.owner == owner and c.visible and not c.temporary and not c.archived]
        mine.sort(key=lambda c: (c.update_time, c.sequence), reverse=True)
        return {"items": [c.summary() for c in mine[offset:offset + limit]], "total": len(mine), "limit": limit,
                "offset": offset, "has_missing_conversations": False}

    def get(self, owner: str, conversation_id: str) -> dict[str, Any]:
        conversation = self.load(owner, conversation_id)
        conversation.poll_tasks()
        return copy.deepcopy(conversation.to_json())

    def patch(self, owner: str, conversation_id: str, changes: dict[str, Any]) -> None:
        conversation = self.load(owner, conversation_id)
        allowed = {"title": str, "is_visible": bool, "is_archived": bool, "is_starred": bool}
        if not changes:
            raise Rejection(422, f"Invalid request body: nothing to change; send one of {sorted(allowed)}")
        for key, value in changes.items():
            if key not in allowed:
                raise Rejection(422, f"Invalid request body: {key!r} cannot be changed; send one of {sorted(allowed)}")
            if not isinstance(value, allowed[key]) or (key == "title" and not str(value).strip()):
                raise Rejection(422, f"Invalid request body: {key} must be a "
                                     f"{'non-empty string' if key == 'title' else 'boolean'}")
        if "title" in changes:
            conversation.title = changes["title"]
        if "is_visible" in changes:
            conversation.visible = changes["is_visible"]
        if "is_archived" in changes:
            conversation.archived = changes["is_archived"]

    def speech_text(self, owner: str, conversation_id: str, message_id: str) -> str:
        conversation = self.load(owner, conversation_id)
        message = conversation.message(message_id)
        content = (message or {}).get("content", {})
        if message is None or message["author"]["role"] != "assistant" or content.get("content_type") != "text":
            raise Rejection(404, f"Message {message_id} not found in conversation {conversation_id} "
                                 "(read-aloud takes an assistant text message).")
        return _MARKERS.sub("", "".join(p for p in content.get("parts", []) if isinstance(p, str)))

    def finish_tasks(self) -> int:
        return sum(c.finish_tasks() for c in self.conversations.values())
