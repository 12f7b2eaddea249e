"""Decoder for the chatgpt.com web conversation stream, shared by ``ChatGpt`` and ``OpenaiChat``.

Pure: it takes already-decoded SSE events and returns the text pieces and response objects they
produce. Both stream formats (protocols.md §1.2.8) feed one model: a message document per message
id. Legacy events (format A) replace the document with a full snapshot; "v1" delta lines (format B)
patch it (:mod:`.patch`). After every event the visible text is derived from the document and
compared with what was already emitted, so append, replace, truncate and snapshots share one diff.

What the decoder yields, in stream order: ``ResponseMeta`` (once), answer text pieces (``str``),
``Reasoning`` (``thoughts`` summaries and contents, ``reasoning_recap``), ``TitleGeneration``,
``ImageResponse`` (one per generated image, see below); at :meth:`WebStreamDecoder.finish`:
``Sources`` (once), exactly one ``FinishReason``, then ``Conversation``.

Citations (§1.2.9) become numbered Markdown links and entities their name (:mod:`.citations`); a
marker sequence is held back only while it is open or its source has not arrived, for at most
``STALL_LIMIT`` characters; no character of U+E200..U+E2FF is ever yielded.

Generated images are yielded as ``ImageResponse([pointer], alt, raw=<content part>)``, the url
still the asset pointer (:mod:`.images`), each pointer once, and kept in
:attr:`WebStreamDecoder.images`. An async image task (gpt-image) leaves
:attr:`WebStreamDecoder.awaiting_images` true at the end of the stream; its images are fed in later
from the websocket (:meth:`WebStreamDecoder.feed_message`) or from polling the conversation
(:meth:`WebStreamDecoder.feed_conversation`), deduplicated against the stream's. A turn cut at the
output limit finishes with ``FinishReason("length")`` and :attr:`WebStreamDecoder.continuable`
(send ``action: "continue"`` with ``message_id`` as parent).
"""

from __future__ import annotations

import copy
import json
from typing import Any, Dict, List, Optional, Set, Tuple

from ...errors import ResponseError
from ...types import (Chunk, Conversation, FinishReason, ImageResponse, Reasoning, ResponseMeta, Sources,
                     TitleGeneration)
from .citations import Citations, touches_metadata
from .images import ImagePointer, download_path, new_images, parse_pointer, turn_messages
from .patch import STALL_LIMIT, TextTrack, apply_op, is_op_list, render_plain

__all__ = ["ImagePointer", "STALL_LIMIT", "WebStreamDecoder", "download_path", "parse_pointer"]

_TEXT_PART = "/message/content/parts/0"
_ANSWER_TYPES = ("text", "multimodal_text")
# finish_details.type → FinishReason.reason; "interrupted" means the turn did not finish.
_REASONS: Dict[str, Optional[str]] = {
    "stop": "stop", "max_tokens": "length", "length": "length", "interrupted": None,
    "content_filter": "content_filter", "tool_calls": "tool_calls",
}
_DONE_STATUSES = ("finished_successfully", "finished_partial_completion")


def _dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _error_text(error: Any) -> str:
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        for key in ("message", "detail", "error", "code", "type"):
            if isinstance(error.get(key), str) and error[key]:
                return str(error[key])
    return json.dumps(error, ensure_ascii=False, default=str)[:500]


def _meta(message: Dict[str, Any], metadata: Dict[str, Any]) -> ResponseMeta:
    """The answer's identifiers as the web backend gives them: the message id, the model that
    answered (``model_slug``, e.g. "gpt-4o-mini" for "auto") and the message's creation time."""
    created = message.get("create_time")
    slug = metadata.get("model_slug") or metadata.get("default_model_slug")
    return ResponseMeta(message.get("id"), slug if isinstance(slug, str) and slug else None,
                        int(created) if isinstance(created, (int, float)) and not isinstance(created, bool) else None,
                        raw=copy.deepcopy(message))


class WebStreamDecoder:
    """Turns chatgpt.com conversation SSE events into text pieces and response objects.

    Public state the provider reads: ``conversation_id``, ``message_id`` (the last visible
    assistant message: the parent of the next turn or of a continuation), ``finish_reason`` and
    :attr:`continuable` (after :meth:`finish`), ``image_gen_task_id`` and :attr:`awaiting_images`
    (an async image task still owes its images), :attr:`images` (every image pointer yielded),
    ``text`` (the answer so far).
    """

    def __init__(self) -> None:
        self.done = False
        self.conversation_id: Optional[str] = None
        self.message_id: Optional[str] = None
        self.finish_reason: Optional[str] = None
        self.delta_encoding: Optional[str] = None      # "v1" once the stream announced deltas
        self.image_gen_task_id: Optional[str] = None   # async image task (the provider waits on it)
        self.images: List[ImagePointer] = []           # every generated image yielded, in order
        self._pieces: List[str] = []
        self._doc: Any = None                   # v1: {"message": ..., "conversation_id": ...}
        self._last_p: Optional[str] = None
        self._last_o: Optional[str] = None
        self._messages: Dict[str, Dict[str, Any]] = {}   # latest state per message key, in order
        self._tracks: Dict[Tuple[Any, ...], TextTrack] = {}
        self._cur_key: Optional[str] = None
        self._cur_msg: Any = None
        self._settled: Set[str] = set()
        self._turn_key: Optional[str] = None    # last visible assistant/tool message: decides the finish
        self._user_message_id: Optional[str] = None
        self._stream_complete = False
        self._finished = False
        self._continuable = False
        self._anonymous = 0
        self._any_reasoning = False
        self._task_images = False               # an image arrived since image_gen_task_id was set
        self._citations = Citations()

    @property
    def text(self) -> str:
        """The visible answer text emitted so far."""
        if len(self._pieces) > 1:
            self._pieces[:] = ["".join(self._pieces)]
        return self._pieces[0] if self._pieces else ""

    @property
    def continuable(self) -> bool:
        """After :meth:`finish`: the answer stopped at the model's output limit (``max_tokens``,
        FinishReason "length", or a partial completion) and can be continued with a request whose
        ``action`` is "continue" and whose parent is :attr:`message_id`."""
        return self._continuable and self.conversation_id is not None and self.message_id is not None

    @property
    def awaiting_images(self) -> bool:
        """An async image task (``image_gen_task_id``) was started and none of its images arrived
        yet: the provider waits for them (websocket or polling) and feeds them back in."""
        return self.image_gen_task_id is not None and not self._task_images

    # ------------------------------------------------------------------------------------ events

    def feed(self, data: str, event: str = "message") -> List[Chunk]:
        """One SSE event. Returns the text pieces (str) and objects it produces, in order."""
        if self.done or self._finished:
            return []
        stripped = data.strip()
        if stripped == "[DONE]":
            self.done = True
            return []
        try:
            obj: Any = json.loads(stripped)
        except (ValueError, RecursionError):
            obj = None
        if event == "error":  # `event: error` carries the failure in its data, JSON or plain text
            detail = (obj.get("error") or obj) if isinstance(obj, dict) else obj if isinstance(obj, str) \
                else stripped
            raise self._error(_error_text(detail) or "error event in the stream",
                              {"event": event, "data": data})
        if isinstance(obj, str) and event == "delta_encoding":
            self.delta_encoding = obj
        if not isinstance(obj, dict):
            return []
        self._check_error(obj)
        is_delta = "p" in obj or "o" in obj or "v" in obj
        if isinstance(obj.get("type"), str) and not is_delta:
            return self._typed(obj["type"], obj)
        self._take_conversation_id(obj.get("conversation_id"))
        if is_delta:
            return self._delta(obj)
        if isinstance(obj.get("message"), dict):
            message = obj["message"]
            key = message["id"] if isinstance(message.get("id"), str) else ""
            self._citations.dirty = True  # a legacy snapshot may bring new references
            return self._message(key, message)
        return []

    def feed_message(self, message: Any) -> List[Chunk]:
        """A message obtained outside the stream: the websocket's ``payload.update_content.message``
        of an ``async-task-update-message``, or a message of the polled conversation. Returns an
        ``ImageResponse`` for each generated image in it not yielded before, once the message is
        finished (a message still in progress holds previews). Works after :meth:`finish` too."""
        if not isinstance(message, dict) or message.get("status") not in _DONE_STATUSES:
            return []
        self._take_conversation_id(message.get("conversation_id"))
        return self._image_parts(message)

    def feed_conversation(self, conversation: Any) -> List[Chunk]:
        """The body of ``GET /backend-api/conversation/{id}`` (polling for an async image task):
        the messages of this turn, the branch from ``current_node`` back to this turn's user
        message, are fed to :meth:`feed_message` in order."""
        if not isinstance(conversation, dict) or not isinstance(conversation.get("mapping"), dict):
            return []
        self._take_conversation_id(conversation.get("conversation_id") or conversation.get("id"))
        out: List[Chunk] = []
        for message in turn_messages(conversation, self._user_message_id):
            out += self.feed_message(message)
        return out

    def _check_error(self, obj: Dict[str, Any]) -> None:
        if obj.get("error"):
            raise self._error(_error_text(obj["error"]), obj)
        kind = obj.get("type")
        if isinstance(kind, str) and (kind == "error" or kind.endswith(("_error", ".error"))):
            raise self._error(_error_text(obj.get("message") or obj), obj)
        moderation = _dict(obj.get("moderation_response"))
        if moderation.get("blocked") is True or (kind == "moderation" and obj.get("blocked") is True):
            raise self._error("the answer was blocked by moderation", obj)

    def _error(self, message: str, body: Any) -> ResponseError:
        conversation = None
        if self.conversation_id or self.message_id:
            conversation = Conversation(self.conversation_id, self.message_id)
        return ResponseError(message, partial_text=self.text, conversation=conversation, body=body)

    def _take_conversation_id(self, value: Any) -> None:
        if self.conversation_id is None and isinstance(value, str) and value:
            self.conversation_id = value

    def _typed(self, kind: str, obj: Dict[str, Any]) -> List[Chunk]:
        # server_ste_metadata, conversation_detail_metadata ...: only their ids matter here.
        self._take_conversation_id(obj.get("conversation_id"))
        if kind == "title_generation" and isinstance(obj.get("title"), str):
            return [TitleGeneration(obj["title"], raw=obj)]
        if kind == "message_stream_complete":
            self._stream_complete = True
        elif kind == "message_marker" and self.message_id is None \
                and isinstance(obj.get("message_id"), str):
            self.message_id = obj["message_id"]
        elif kind == "input_message":  # the echoed user message: where this turn starts
            self._take_user_message(_dict(obj.get("input_message")))
        return []

    def _take_user_message(self, message: Dict[str, Any]) -> None:
        if _dict(message.get("author")).get("role") == "user" and isinstance(message.get("id"), str):
            self._user_message_id = message["id"]

    def _delta(self, obj: Dict[str, Any]) -> List[Chunk]:
        p = obj["p"] if isinstance(obj.get("p"), str) else None
        o = obj["o"] if isinstance(obj.get("o"), str) else None
        value = obj.get("v")
        if p is None and o is None and isinstance(value, dict) and isinstance(value.get("message"), dict):
            p, o = "", "add"        # `{"v": {"message": {...}, ...}, "c": 1}`: a new message snapshot
        elif p is None and o is None and is_op_list(value):
            p, o = "", "patch"      # `{"v": [{"p": ..., "o": ..., "v": ...}, ...]}`: a bare batch
        else:
            # Shorthand lines omit p and/or o and continue the previous line's: after
            # `{"p": "/message/content/parts/0", "o": "append", "v": "Hel"}` comes `{"v": "lo"}`.
            p = p if p is not None else self._last_p
            o = o if o is not None else self._last_o
        if p is None:
            p = "" if o == "patch" else _TEXT_PART
        if o is None:
            o = "append"
        # A root op (snapshot or batch) leaves no path to continue: a bare `{"v": "..."}` after it
        # falls back to the usual shorthand, an append to the answer part.
        self._last_p, self._last_o = (p, o) if p else (None, None)
        if touches_metadata(p, o, value):
            self._citations.dirty = True
        doc = apply_op(self._doc if isinstance(self._doc, dict) else {}, p, o, *(
            [value] if "v" in obj else []))
        if not isinstance(doc, dict):
            return []  # a root replaced by a non-object: keep the document we have
        self._doc = doc
        if doc.get("error"):
            raise self._error(_error_text(doc["error"]), obj)
        self._take_conversation_id(doc.get("conversation_id"))
        message = doc.get("message")
        if not isinstance(message, dict):
            return []
        if message is not self._cur_msg or self._cur_key is None:
            if isinstance(message.get("id"), str):
                return self._message(message["id"], message)
            self._anonymous += 1
            return self._message(f"#{self._anonymous}", message)
        return self._message(self._cur_key, message)

    # ---------------------------------------------------------------------------------- messages

    def _message(self, key: str, message: Dict[str, Any]) -> List[Chunk]:
        out: List[Chunk] = []
        if self._cur_key is not None and key != self._cur_key:
            out += self._settle(self._cur_key)  # the previous message is over: flush it first
        self._cur_key, self._cur_msg = key, message
        self._messages[key] = message
        self._settled.discard(key)
        role = _dict(message.get("author")).get("role")
        metadata = _dict(message.get("metadata"))
        content = _dict(message.get("content"))
        hidden = metadata.get("is_visually_hidden_from_conversation") is True
        recipient = message.get("recipient") or "all"
        if role == "user":
            self._take_user_message(message)
        if role == "assistant" and recipient == "all" and isinstance(message.get("id"), str):
            if self.message_id is None:
                out.append(_meta(message, metadata))  # the server's ids, before the first text piece
            self.message_id = message["id"]
        if role in ("assistant", "tool") and not hidden:
            self._turn_key = key
        task = metadata.get("image_gen_task_id")
        if isinstance(task, str) and task and task != self.image_gen_task_id:
            self.image_gen_task_id, self._task_images = task, False
        kind = content.get("content_type")
        if hidden or role not in ("assistant", "tool") or recipient != "all":
            pass
        elif role == "assistant" and kind in _ANSWER_TYPES:
            piece = self._track((key,), answer=True).update(_joined_parts(content.get("parts")))
            if piece:
                self._pieces.append(piece)
                out.append(piece)
        elif kind == "thoughts" and isinstance(content.get("thoughts"), list):
            # Reasoning models: `{"content_type": "thoughts", "thoughts": [{"summary", "content"}]}`,
            # grown by patches under /message/content/thoughts. Never answer text.
            for index, thought in enumerate(content["thoughts"]):
                for field in ("summary", "content"):
                    value = _dict(thought).get(field)
                    if isinstance(value, str):
                        out += self._reason(self._track((key, index, field)), value)
        elif kind == "reasoning_recap" and isinstance(content.get("content"), str):
            # `{"content_type": "reasoning_recap", "content": "Thought for 7s"}`
            out += self._reason(self._track((key, "recap")), content["content"])
        elif role == "tool" and kind == "text" and isinstance(metadata.get("initial_text"), str):
            # Early o1: the thinking streamed as a tool message between initial_text and finished_text.
            out += self._reason(self._track((key, "tool")), _joined_parts(content.get("parts")))
        status = message.get("status")
        if isinstance(status, str) and status != "in_progress":
            out += self._image_parts(message)
        return out

    def _track(self, key: Tuple[Any, ...], answer: bool = False) -> TextTrack:
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = TextTrack(self._render if answer else render_plain)
        return track

    def _reason(self, track: TextTrack, value: str) -> List[Chunk]:
        first = not track.started
        piece = track.update(value)
        if not piece:
            return []
        if first and self._any_reasoning:
            piece = "\n\n" + piece  # a new thought or summary: keep it apart from the previous one
        self._any_reasoning = True
        return [Reasoning(piece)]

    def _render(self, body: str, final: bool) -> Optional[str]:
        # An answer's marker sequence: a citation, an entity (None while its sources are unknown).
        return self._citations.render(body, final, self._messages.values())

    def _settle(self, key: str) -> List[Chunk]:
        """A message is over: emit what its marker buffers still hold, and its images."""
        if key in self._settled:
            return []
        self._settled.add(key)
        out: List[Chunk] = []
        for track_key, track in self._tracks.items():
            if track_key[0] != key or not track.pending:
                continue
            piece = track.flush()
            if piece and len(track_key) == 1:
                self._pieces.append(piece)
                out.append(piece)
            elif piece:
                out.append(Reasoning(piece))
        message = self._messages.get(key)
        if message is not None:
            metadata = _dict(message.get("metadata"))
            # An image message left in progress while its async task runs holds a preview: the
            # finished image comes from the task.
            if message.get("status") != "in_progress" or not (
                    metadata.get("image_gen_async") is True or metadata.get("image_gen_task_id")):
                out += self._image_parts(message)
        return out

    def _image_parts(self, message: Dict[str, Any]) -> List[Chunk]:
        # Emitted once the message is done, so the alt text (image_gen_title may arrive after the
        # pointer) is known and previews are skipped.
        found = new_images(message, self._messages.values(), {image.url for image in self.images},
                           self.conversation_id)
        self.images += found
        if found and self.image_gen_task_id is not None:
            self._task_images = True
        return [ImageResponse([image.url], image.alt, raw=copy.deepcopy(image.part)) for image in found]

    # ------------------------------------------------------------------------------------ finish

    def finish(self) -> List[Chunk]:
        """At end of stream ([DONE] or EOF): what is still pending, Sources, exactly one
        FinishReason, then the Conversation when known. A second call returns nothing."""
        if self._finished:
            return []
        self._finished = True
        out: List[Chunk] = []
        for key in list(self._messages):
            out += self._settle(key)
        sources = self._citations.sources(list(self._messages.values()))
        if sources:
            out.append(Sources(sources))
        reason, raw = self._finish_reason()
        self.finish_reason = reason
        out.append(FinishReason(reason, raw=raw))
        if self.conversation_id or self.message_id:
            out.append(Conversation(self.conversation_id, self.message_id))
        return out

    def _finish_reason(self) -> Tuple[Optional[str], Any]:
        message = self._messages.get(self._turn_key) if self._turn_key is not None else None
        if message is None:
            return None, None
        metadata = _dict(message.get("metadata"))
        details = metadata.get("finish_details")
        status = message.get("status")
        # Some servers put `finish_details: {"type": "stop"}` on an event still "in_progress";
        # it is trusted only once the message or the stream says it completed.
        complete = (status in _DONE_STATUSES or metadata.get("is_complete") is True
                    or self._stream_complete)
        if isinstance(details, dict) and isinstance(details.get("type"), str) and complete:
            kind = details["type"]
            reason = _REASONS.get(kind, kind)
            self._continuable = reason == "length"
            return reason, details
        if status == "finished_partial_completion":
            # The web UI offers "Continue" for a partial completion that says no more.
            self._continuable = True
            return None, None
        if status == "finished_successfully" and (message.get("end_turn") is True or self._stream_complete):
            return "stop", None
        return None, None


def _joined_parts(parts: Any) -> str:
    """The text of a message's parts (its string parts, joined)."""
    if not isinstance(parts, list):
        return ""
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0]
    return "".join(p for p in parts if isinstance(p, str))
