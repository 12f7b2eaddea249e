"""Your chatgpt.com account's conversations: a turn's requests, the stored conversations, text to
speech, models and profile.

:class:`AccountSession` is the web session whose ``headers()`` carry the account's access token;
every function here takes one and does its requests through the core (status and wall checks
included). A turn is ``prepare`` (conduit token) + sentinel + conversation POST
(:func:`open_turn`), with bodies built once per turn (:func:`turn_bodies`). The conversation
tree (``mapping``) is read here too: :func:`history_from` walks it from ``current_node`` up to the
root, which gives the active branch (edits and regenerations leave other branches in the tree);
:func:`poll_conversation` fetches it again while an async image task is running.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import urllib.parse
from typing import Any, Callable, Iterator, Mapping

from ..._messages import content_text
from ..._redact import mask_secret
from ..._transport import Response
from ..._urls import join_url
from ...errors import InvalidRequestError, NotFoundError, PermissionDeniedError, ResponseError
from ...types import ConversationHistory, ConversationSummary, HistoryMessage, Timeout
from .flow import TurnOptions, TurnPaths, open_conversation
from .patch import TextTrack
from .pow import random_uuid
from .sentinel import wall
from .session import BrowserProfile, WebSession

__all__ = ["AccountSession", "warm_up", "web_messages", "timezone", "turn_bodies", "open_turn", "Resume",
           "CLIENT_ROOT", "PATHS", "list_conversations", "get_conversation_data", "history_from",
           "rename_conversation", "hide_conversation", "open_synthesis", "get_models", "get_me",
           "poll_conversation", "FALLBACK_MODELS"]

PREPARE_PATH = "/backend-api/f/conversation/prepare"
PATHS = TurnPaths("/backend-api/sentinel/chat-requirements", "/backend-api/f/conversation",
                  who="your account's session")
CLIENT_ROOT = "client-created-root"   # the parent the website names for a conversation's first message
WEB_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
#: Used only when the backend has no model list (404), never to hide another failure.
FALLBACK_MODELS = ["auto", "gpt-5", "gpt-4o", "gpt-4o-mini", "o4-mini", "gpt-image"]
_VISIBLE_TYPES = ("text", "multimodal_text")
POLL_SECONDS = 3.0


# ------------------------------------------------------------------------- a turn's requests

class AccountSession(WebSession):
    """A web session whose every request to the service carries the account's access token."""

    def __init__(self, core: Any, base_url: str, profile: BrowserProfile, cookies: dict[str, str],
                 access_token: str, data_build: str | None = None) -> None:
        super().__init__(core, base_url, profile, cookies, data_build=data_build)
        self.access_token = access_token
        self.remember_cookies({})  # the device id header follows the account's oai-did cookie

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        result = super().headers()
        result["authorization"] = f"Bearer {self.access_token}"
        result.update(extra or {})
        return result

    def __repr__(self) -> str:
        return (f"AccountSession(base_url={self.base_url!r}, access_token={mask_secret(self.access_token)}, "
                f"cookies=[{', '.join(sorted(self.cookies))}])")


def warm_up(session: WebSession, *, timeout: Timeout, max_retries: int) -> None:
    """GET the site root as a browser does (with the account's cookies): keeps the cookies it sets
    (``oai-did``, which the device id header must equal) and the page's ``data-build``."""
    headers = session.profile.navigation_headers()
    if session.cookies:
        headers["cookie"] = session.cookie_header()
    response = session.core.open("GET", join_url(session.base_url, "/"), headers=headers, timeout=timeout,
                                 max_retries=max_retries, expect="any", where=session.base_url)
    try:
        page = response.read()
    finally:
        response.close()
    session.remember_cookies(response.headers, response.cookies)
    match = re.search(rb'data-build="([^"]+)"', page[:65536])
    session.data_build = match.group(1).decode("ascii", "replace") if match else session.data_build


def web_messages(messages: list[dict[str, Any]], hints: list[str]) -> list[dict[str, Any]]:
    """Chat messages as web message objects (the system hints on each, as the website sends them)."""
    formatted = []
    for i, message in enumerate(messages):
        role = WEB_ROLES.get(message.get("role", ""))
        if role is None:
            raise InvalidRequestError(f"messages[{i}].role {message.get('role')!r} is not supported by the "
                                      f"ChatGPT web backend (use system, user or assistant)")
        metadata: dict[str, Any] = {"serialization_metadata": {"custom_symbol_offsets": []}}
        if hints:
            metadata["system_hints"] = list(hints)
        formatted.append({"id": random_uuid(), "author": {"role": role}, "create_time": round(time.time(), 3),
                          "content": {"content_type": "text", "parts": [content_text(message.get("content"))]},
                          "metadata": metadata})
    return formatted


def timezone() -> tuple[int, str]:
    """JavaScript's ``getTimezoneOffset()`` and a zone name that agrees with it."""
    offset = -int(time.localtime().tm_gmtoff // 60)
    zone = os.environ.get("TZ", "")
    if "/" not in zone:
        hours = -offset // 60
        zone = "Etc/UTC" if offset == 0 else f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"
    return offset, zone


def turn_bodies(base: dict[str, Any], action: str, parent: str, conversation_id: str | None,
                messages: list[dict[str, Any]] | None) -> tuple[bytes, bytes]:
    """The prepare and conversation bodies of one turn (ids made once, before any attempt)."""
    common = {"action": action, "parent_message_id": parent, **base}
    if conversation_id:
        common["conversation_id"] = conversation_id
    prepare = {**common, "fork_from_shared_post": False}
    body = {**common, "enable_message_followups": True, "paragen_cot_summary_display_override": "allow",
            "client_contextual_info": {"is_dark_mode": False, "time_since_loaded": random.randint(20, 500),
                                       "page_height": 578, "page_width": 1850, "pixel_ratio": 1,
                                       "screen_height": 1080, "screen_width": 1920}}
    if messages is not None:
        body["messages"] = messages
    return json.dumps(prepare).encode(), json.dumps(body).encode()


def open_turn(session: WebSession, prepare: bytes, body: bytes, turn: TurnOptions) -> Response:
    """The opening step of a turn (retried whole by the caller): ``prepare`` (its conduit token),
    then the sentinel and the conversation POST."""
    url = join_url(session.base_url, PREPARE_PATH)
    headers = dict(turn.headers)
    try:
        data = session.core.request_json("POST", url, headers=session.headers(), body=prepare,
                                         timeout=turn.timeout, max_retries=0, where=url)
        conduit = data.get("conduit_token") if isinstance(data, dict) else None
        if isinstance(conduit, str) and conduit:
            headers["x-conduit-token"] = conduit
    except NotFoundError:
        pass  # a backend without the prepare step: the conversation goes ahead without a conduit
    except PermissionDeniedError as exc:
        detail = exc.body.get("detail") if isinstance(exc.body, dict) else None
        raise wall(str(detail or exc.message), "forbidden", 403, session=PATHS.who) from exc
    options = TurnOptions(timeout=turn.timeout, headers=headers, turnstile_token=turn.turnstile_token,
                          turnstile_solver=turn.turnstile_solver, pow_workers=turn.pow_workers)
    return open_conversation(session, PATHS, body, options)


class Resume:
    """The new text of a continuation round. The server may send the continued message whole again
    (its text so far, then more) or only what follows: text that repeats what was already yielded
    (the whole answer, or the last round's) is held back until it is known which, then skipped."""

    def __init__(self, before: list[str]) -> None:
        self.before = [b for b in before if b]
        self.pending: str | None = "" if self.before else None

    def feed(self, piece: str) -> str:
        if self.pending is None:
            return piece
        self.pending += piece
        for before in self.before:
            if self.pending.startswith(before):
                new, self.pending = self.pending[len(before):], None
                return new
        if any(before.startswith(self.pending) for before in self.before):
            return ""  # still a repeat so far
        new, self.pending = self.pending, None
        return new


# -------------------------------------------------------------------- stored conversations

def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _get(session: WebSession, path: str, *, timeout: Timeout, max_retries: int,
         query: dict[str, Any] | None = None) -> Any:
    url = join_url(session.base_url, path, query)
    return session.core.request_json("GET", url, headers=session.headers(), timeout=timeout,
                                     max_retries=max_retries, where=join_url(session.base_url, path))


def _patch(session: WebSession, conversation_id: str, body: dict[str, Any], *, timeout: Timeout,
           max_retries: int) -> None:
    url = join_url(session.base_url, f"/backend-api/conversation/{_quote(conversation_id)}")
    data = session.core.request_json("PATCH", url, headers=session.headers(), body=json.dumps(body).encode(),
                                     timeout=timeout, max_retries=max_retries, where=url)
    if isinstance(data, dict) and data.get("success") is False:
        raise ResponseError(f"{url} did not apply the change: {str(data)[:200]!r}", body=data)


def _time_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def list_conversations(session: WebSession, *, offset: int, limit: int, timeout: Timeout,
                       max_retries: int) -> list[ConversationSummary]:
    """``GET /backend-api/conversations``: the summaries in the server's order."""
    data = _get(session, "/backend-api/conversations", timeout=timeout, max_retries=max_retries,
                query={"offset": offset, "limit": limit, "order": "updated"})
    items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ResponseError(f"the conversation list has no items: {str(data)[:200]!r}", body=data)
    return [ConversationSummary(str(item["id"]), item.get("title") if isinstance(item.get("title"), str) else None,
                                _time_text(item.get("create_time")), _time_text(item.get("update_time")),
                                raw=item)
            for item in items if isinstance(item, dict) and item.get("id")]


def get_conversation_data(session: WebSession, conversation_id: str, *, timeout: Timeout,
                          max_retries: int) -> Any:
    """``GET /backend-api/conversation/{id}``: the stored conversation with its ``mapping`` tree."""
    return _get(session, f"/backend-api/conversation/{_quote(conversation_id)}", timeout=timeout,
                max_retries=max_retries)


def _visible_text(parts: list[Any]) -> str:
    track = TextTrack()
    text = track.update("".join(p for p in parts if isinstance(p, str)))
    return text + track.flush()


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _history_message(node_id: str, message: dict[str, Any]) -> HistoryMessage:
    role = str(_dict(message.get("author")).get("role") or "")
    content, metadata = _dict(message.get("content")), _dict(message.get("metadata"))
    parts: list[Any] = content["parts"] if isinstance(content.get("parts"), list) else []
    kind = content.get("content_type")
    images = [p["asset_pointer"] for p in parts
              if isinstance(p, dict) and isinstance(p.get("asset_pointer"), str)]
    text = _visible_text(parts) if kind in _VISIBLE_TYPES else ""
    recipient = message.get("recipient") or "all"
    # What the website does not show: flagged messages, system prompts, messages addressed to a
    # tool, and tool output that is not an image.
    hidden = (metadata.get("is_visually_hidden_from_conversation") is True or role == "system"
              or recipient != "all" or (role == "tool" and not images)
              or (kind not in _VISIBLE_TYPES and not images))
    message_id = message["id"] if isinstance(message.get("id"), str) else node_id
    return HistoryMessage(message_id, role, text, images, hidden, raw=message)


def history_from(conversation_id: str, data: Any) -> ConversationHistory:
    """The active branch of a stored conversation: from the root to ``current_node``, in order."""
    if not isinstance(data, dict) or not isinstance(data.get("mapping"), dict):
        raise ResponseError(f"conversation {conversation_id} came without its message tree: "
                            f"{str(data)[:200]!r}", body=data)
    mapping: dict[str, Any] = data["mapping"]
    current = data.get("current_node") if isinstance(data.get("current_node"), str) else None
    branch: list[HistoryMessage] = []
    seen: set[str] = set()
    node_id = current
    while isinstance(node_id, str) and node_id in mapping and node_id not in seen:  # a cycle ends the walk
        seen.add(node_id)
        node = mapping[node_id] if isinstance(mapping[node_id], dict) else {}
        message = node.get("message")
        if isinstance(message, dict):  # the root node has none
            branch.append(_history_message(node_id, message))
        node_id = node.get("parent")
    branch.reverse()
    title = data.get("title") if isinstance(data.get("title"), str) else None
    return ConversationHistory(str(data.get("conversation_id") or data.get("id") or conversation_id), title,
                               current, branch, raw=data)


def poll_conversation(session: WebSession, conversation_id: str, *, limit: float, sleep: Callable[[float], None],
                      timeout: Timeout, max_retries: int) -> Iterator[Any]:
    """The stored conversation, fetched again each time the caller asks for the next one, every
    ``POLL_SECONDS`` (an async image task shows up there when it is done). Bounded twice: by
    ``limit`` seconds of the clock and by the number of polls that many seconds allow, so an
    injected ``sleep`` cannot make it endless; when the bound is reached the iterator just ends."""
    deadline = time.monotonic() + limit
    for poll in range(int(limit / POLL_SECONDS) + 1):
        if poll:
            if time.monotonic() >= deadline:
                return
            sleep(POLL_SECONDS)
        yield get_conversation_data(session, conversation_id, timeout=timeout, max_retries=max_retries)


def rename_conversation(session: WebSession, conversation_id: str, title: str, *, timeout: Timeout,
                        max_retries: int) -> None:
    _patch(session, conversation_id, {"title": title}, timeout=timeout, max_retries=max_retries)


def hide_conversation(session: WebSession, conversation_id: str, *, timeout: Timeout, max_retries: int) -> None:
    """Delete as the website does: the conversation is hidden (``is_visible: false``)."""
    _patch(session, conversation_id, {"is_visible": False}, timeout=timeout, max_retries=max_retries)


def open_synthesis(session: WebSession, conversation_id: str, message_id: str, *, voice: str, format: str,
                   timeout: Timeout, max_retries: int) -> Iterator[bytes]:
    """``GET /backend-api/synthesize``, opened now (errors raise here); the audio is streamed as the
    returned iterator is read, and the connection is released when it ends or is closed."""
    where = join_url(session.base_url, "/backend-api/synthesize")
    url = join_url(session.base_url, "/backend-api/synthesize",
                   {"conversation_id": conversation_id, "message_id": message_id, "voice": voice,
                    "format": format})
    response = session.core.open("GET", url, headers=session.headers({"accept": "audio/*, */*"}),
                                 timeout=timeout, max_retries=max_retries, expect="json", where=where)
    content_type = response.headers.get("content-type", "")
    if "json" in content_type:
        try:
            body = response.read()
        finally:
            response.close()
        raise ResponseError(f"{where} answered with JSON instead of audio: {body[:200]!r}",
                            body=body.decode("utf-8", "replace"))

    def chunks() -> Iterator[bytes]:
        try:
            yield from response.iter_bytes()
        finally:
            response.close()

    return chunks()


def get_models(session: WebSession, *, timeout: Timeout, max_retries: int) -> list[str]:
    """The model slugs the account may use, from ``/backend-api/models``; the static list only when
    the backend has no such endpoint (404)."""
    try:
        data = _get(session, "/backend-api/models", timeout=timeout, max_retries=max_retries)
    except NotFoundError:
        return list(FALLBACK_MODELS)
    models = data.get("models") if isinstance(data, dict) else data
    if not isinstance(models, list):
        raise ResponseError(f"the model list has no models: {str(data)[:200]!r}", body=data)
    slugs = [m.get("slug") if isinstance(m, dict) else m for m in models]
    return [slug for slug in slugs if isinstance(slug, str) and slug]


def get_me(session: WebSession, *, timeout: Timeout, max_retries: int) -> dict[str, Any]:
    """``GET /backend-api/me``: the account's profile (id, name, email, ...) as the server sends it."""
    data = _get(session, "/backend-api/me", timeout=timeout, max_retries=max_retries)
    if not isinstance(data, dict):
        raise ResponseError(f"/backend-api/me answered {str(data)[:200]!r}", body=data)
    return data
