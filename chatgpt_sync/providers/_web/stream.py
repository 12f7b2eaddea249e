"""Decoder for the chatgpt.com web conversation stream, shared by ``ChatGpt`` and ``OpenaiChat``.

Pure: it takes already-decoded SSE events and returns the text pieces and response objects they
produce. Both stream formats (protocols.md §1.2.8) feed one model: a message document per message
id. Legacy events (format A) replace the document with a full snapshot; "v1" delta lines (format B)
patch it (:mod:`.patch`). After every event the visible text is derived from the document and
compared with what was already emitted, so append, replace, truncate and snapshots share one diff.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Dict, List, Optional, Set, Tuple

from ...errors import ResponseError
from ...types import (Chunk, Conversation, FinishReason, ImageResponse, Reasoning, ResponseMeta, Sources,
                     TitleGeneration)
from .patch import TextTrack, apply_op, is_op_list

__all__ = ["WebStreamDecoder"]

_TEXT_PART = "/message/content/parts/0"
_ANSWER_TYPES = ("text", "multimodal_text")
_IMAGE_SCHEMES = ("file-service://", "sediment://")
# finish_details.type → FinishReason.reason; "interrupted" means the turn did not finish.
_REASONS: Dict[str, Optional[str]] = {
    "stop": "stop", "max_tokens": "length", "length": "length", "interrupted": None,
    "content_filter": "content_filter", "tool_calls": "tool_calls",
}


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


def _strip_utm(url: str) -> str:
    """``url`` without its ``utm_*`` query parameters (kept verbatim otherwise)."""
    base, hash_sign, fragment = url.partition("#")
    path, question, query = base.partition("?")
    if not question:
        return url
    kept = [kv for kv in query.split("&") if kv and not kv.lower().startswith("utm_")]
    return path + ("?" + "&".join(kept) if kept else "") + hash_sign + fragment


def _add_source(entry: Any, found: Dict[str, Dict[str, Any]]) -> None:
    if not isinstance(entry, dict):
        return
    url = entry.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return
    url = _strip_utm(url)
    title = entry.get("title") if isinstance(entry.get("title"), str) else ""
    if url not in found:
        found[url] = {"url": url, "title": title}
    elif title and not found[url]["title"]:
        found[url]["title"] = title


def _meta(message: Dict[str, Any], metadata: Dict[str, Any]) -> ResponseMeta:
    """The answer's identifiers as the web backend gives them: the message id, the model that
    answered (``model_slug``, e.g. "gpt-4o-mini" for "auto") and the message's creation time."""
    created = message.get("create_time")
    slug = metadata.get("model_slug") or metadata.get("default_model_slug")
    return ResponseMeta(message.get("id"), slug if isinstance(slug, str) and slug else None,
                        int(created) if isinstance(created, (int, float)) and not isinstance(created, bool) else None,
                        raw=copy.deepcopy(message))


class WebStreamDecoder:
    """Turns chatgpt.com conversation SSE events into text pieces and response objects."""

    def __init__(self) -> None:
        self.done = False
        self.conversation_id: Optional[str] = None
        self.message_id: Optional[str] = None
        self.finish_reason: Optional[str] = None
        self.delta_encoding: Optional[str] = None      # "v1" once the stream announced deltas
        self.image_gen_task_id: Optional[str] = None   # async image task (the provider waits on it)
        self._pieces: List[str] = []
        self._doc: Any = None                   # v1: {"message": ..., "conversation_id": ...}
        self._last_p: Optional[str] = None
        self._last_o: Optional[str] = None
        self._messages: Dict[str, Dict[str, Any]] = {}   # latest state per message key, in order
        self._tracks: Dict[Tuple[Any, ...], TextTrack] = {}
        self._cur_key: Optional[str] = None
        self._cur_msg: Any = None
        self._settled: Set[str] = set()
        self._images: Set[str] = set()
        self._turn_key: Optional[str] = None    # last visible assistant/tool message: decides the finish
        self._stream_complete = False
        self._finished = False
        self._anonymous = 0
        self._any_reasoning = False

    @property
    def text(self) -> str:
        """The visible answer text emitted so far."""
        if len(self._pieces) > 1:
            self._pieces[:] = ["".join(self._pieces)]
        return self._pieces[0] if self._pieces else ""

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
            return self._message(key, message)
        return []

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
        # input_message (the echoed user message), server_ste_metadata, conversation_detail_metadata
        # ...: only their ids matter here.
        self._take_conversation_id(obj.get("conversation_id"))
        if kind == "title_generation" and isinstance(obj.get("title"), str):
            return [TitleGeneration(obj["title"], raw=obj)]
        if kind == "message_stream_complete":
            self._stream_complete = True
        elif kind == "message_marker" and self.message_id is None \
                and isinstance(obj.get("message_id"), str):
            self.message_id = obj["message_id"]
        return []

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
        if role == "assistant" and recipient == "all" and isinstance(message.get("id"), str):
            if self.message_id is None:
                out.append(_meta(message, metadata))  # the server's ids, before the first text piece
            self.message_id = message["id"]
        if role in ("assistant", "tool") and not hidden:
            self._turn_key = key
        if isinstance(metadata.get("image_gen_task_id"), str):
            self.image_gen_task_id = metadata["image_gen_task_id"]
        kind = content.get("content_type")
        if role == "assistant" and recipient == "all" and not hidden and kind in _ANSWER_TYPES:
            parts = content.get("parts")
            raw = "".join(p for p in parts if isinstance(p, str)) if isinstance(parts, list) else ""
            piece = self._track((key,)).update(raw)
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
        status = message.get("status")
        if isinstance(status, str) and status != "in_progress":
            out += self._image_parts(message)
        return out

    def _track(self, key: Tuple[Any, ...]) -> TextTrack:
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = TextTrack()
        return track

    def _reason(self, track: TextTrack, value: str) -> List[Chunk]:
        first = track.emitted == ""
        piece = track.update(value)
        if not piece:
            return []
        if first and self._any_reasoning:
            piece = "\n\n" + piece  # a new thought or summary: keep it apart from the previous one
        self._any_reasoning = True
        return [Reasoning(piece)]

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
            out += self._image_parts(message)
        return out

    def _image_parts(self, message: Dict[str, Any]) -> List[Chunk]:
        # Generated images arrive as content parts holding an asset pointer, in the assistant's
        # or (DALL·E, gpt-image) the image tool's message. User messages are skipped: an uploaded
        # image echoed back is not a generated one. Emitted once the message is done, so the alt
        # text (image_gen_title may arrive after the pointer) is known and previews are skipped.
        if _dict(message.get("author")).get("role") not in ("assistant", "tool"):
            return []
        parts = _dict(message.get("content")).get("parts")
        metadata = _dict(message.get("metadata"))
        out: List[Chunk] = []
        for part in parts if isinstance(parts, list) else []:
            pointer = _dict(part).get("asset_pointer")
            if not isinstance(pointer, str) or not pointer.startswith(_IMAGE_SCHEMES) \
                    or pointer in self._images:
                continue
            self._images.add(pointer)
            alt = _dict(_dict(part.get("metadata")).get("dalle")).get("prompt") \
                or metadata.get("image_gen_title") or metadata.get("async_task_title")
            out.append(ImageResponse([pointer], alt if isinstance(alt, str) else None,
                                     raw=copy.deepcopy(part)))
        return out

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
        sources = self._sources()
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
        complete = (status == "finished_successfully" or metadata.get("is_complete") is True
                    or self._stream_complete)
        if isinstance(details, dict) and isinstance(details.get("type"), str) and complete:
            kind = details["type"]
            return _REASONS.get(kind, kind), details
        if status == "finished_successfully" and (message.get("end_turn") is True or self._stream_complete):
            return "stop", None
        return None, None

    def _sources(self) -> List[Dict[str, Any]]:
        found: Dict[str, Dict[str, Any]] = {}
        for message in self._messages.values():
            if _dict(message.get("author")).get("role") != "assistant":
                continue
            metadata = _dict(message.get("metadata"))
            references = metadata.get("content_references")
            for ref in references if isinstance(references, list) else []:
                _add_source(ref, found)
                for key in ("items", "fallback_items", "sources"):
                    items = _dict(ref).get(key)
                    for item in items if isinstance(items, list) else []:
                        _add_source(item, found)
                        websites = _dict(item).get("supporting_websites")
                        for site in websites if isinstance(websites, list) else []:
                            _add_source(site, found)
            citations = metadata.get("citations")
            for citation in citations if isinstance(citations, list) else []:
                # Legacy browsing: `{"start_ix": 10, "end_ix": 22, "metadata": {"url", "title"}}`.
                _add_source(_dict(citation).get("metadata") or citation, found)
        return list(found.values())
