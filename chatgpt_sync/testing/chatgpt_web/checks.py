"""Request checks for the ChatGPT web emulator: fingerprint consistency and the conversation body.

Pure functions, no I/O: each returns a parsed value or raises :class:`Rejection` carrying the status
and a ``detail`` that names exactly what was wrong, so a failing client test explains itself.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from ..pow_verifier import ANSWER_PREFIX, GIVE_UP_PREFIX, decode_token_config, verify_answer_token

__all__ = [
    "ANON_MODELS",
    "ConversationRequest",
    "Rejection",
    "WebMessage",
    "check_platform",
    "parse_conversation_body",
    "parse_cookies",
    "ua_platform",
]

# The anonymous backend's model names as clients of it have sent them (protocols.md §1.1).
ANON_MODELS = frozenset({
    "auto", "gpt-4o", "gpt-4o-mini", "chatgpt-4o-latest", "gpt-4", "gpt-4-turbo",
    "gpt-3.5-turbo", "text-davinci-002-render-sha",
})
# The web app itself starts a new conversation from this pseudo-id instead of a uuid.
CLIENT_ROOT = "client-created-root"
_ROLES = frozenset({"user", "system", "assistant"})


class Rejection(Exception):
    """A request the emulator refuses: ``status`` plus a JSON ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class WebMessage:
    """One message of the conversation body, reduced to what the emulator stores."""

    id: str
    role: str
    text: str


@dataclass(frozen=True)
class ConversationRequest:
    """A validated ``POST /backend-anon/conversation`` body."""

    messages: list[WebMessage]
    parent_message_id: str
    model: str
    conversation_id: str | None
    wants_v1: bool


# ------------------------------------------------------------------------------ headers
def parse_cookies(header: str | None) -> dict[str, str]:
    """Parse a ``Cookie`` header leniently (``SimpleCookie`` drops the whole header on odd names)."""
    cookies: dict[str, str] = {}
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            cookies[name] = value
    return cookies


def ua_platform(user_agent: str) -> str | None:
    """The ``sec-ch-ua-platform`` a browser with this User-Agent would send, if it can be told."""
    # Order matters: Android UAs contain "Linux", iPhone UAs contain "Mac OS X".
    for needle, platform in (("Windows", "Windows"), ("Android", "Android"), ("CrOS", "Chrome OS"),
                             ("iPhone", "iOS"), ("iPad", "iOS"), ("Macintosh", "macOS"),
                             ("Mac OS X", "macOS"), ("Linux", "Linux"), ("X11", "Linux")):
        if needle in user_agent:
            return platform
    return None


def check_platform(user_agent: str, claimed: str | None) -> None:
    """Reject a ``sec-ch-ua-platform`` header that contradicts the User-Agent (a mixed fingerprint)."""
    expected = ua_platform(user_agent)
    if claimed is None or expected is None:
        return
    if claimed.strip().strip('"').lower() != expected.lower():
        raise Rejection(403, f"Inconsistent browser fingerprint: sec-ch-ua-platform {claimed} does not "
                             f"match the User-Agent, which says {expected!r}.")


# ------------------------------------------------------------------------------ body
def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _field_error(where: str, problem: str) -> Rejection:
    return Rejection(422, f"Invalid request body: {where} {problem}")


def _parse_message(index: int, raw: Any) -> WebMessage:
    where = f"messages[{index}]"
    if not isinstance(raw, dict):
        raise _field_error(where, "must be an object")
    if not _is_uuid(raw.get("id")):
        raise _field_error(f"{where}.id", "must be a uuid string")
    author = raw.get("author")
    if not isinstance(author, dict) or author.get("role") not in _ROLES:
        raise _field_error(f"{where}.author.role", f"must be one of {sorted(_ROLES)}")
    content = raw.get("content")
    if not isinstance(content, dict):
        raise _field_error(f"{where}.content", "must be an object")
    if content.get("content_type") != "text":
        raise _field_error(f"{where}.content.content_type", 'must be "text"')
    parts = content.get("parts")
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
        raise _field_error(f"{where}.content.parts", "must be a non-empty list of strings")
    if "metadata" in raw and not isinstance(raw["metadata"], dict):
        raise _field_error(f"{where}.metadata", "must be an object")
    create_time = raw.get("create_time")
    if create_time is not None and (isinstance(create_time, bool)
                                    or not isinstance(create_time, (int, float))):
        raise _field_error(f"{where}.create_time", "must be a number")
    return WebMessage(id=raw["id"], role=author["role"], text="".join(parts))


def _parse_messages(raw: Any) -> list[WebMessage]:
    if not isinstance(raw, list) or not raw:
        raise _field_error("messages", "must be a non-empty list of message objects")
    messages = [_parse_message(i, item) for i, item in enumerate(raw)]
    if len({m.id for m in messages}) != len(messages):
        raise _field_error("messages", "carry duplicate ids")
    if messages[-1].role != "user":
        raise _field_error("messages", f"must end with a user message, not {messages[-1].role!r}")
    return messages


def parse_conversation_body(body: bytes) -> ConversationRequest:
    """Validate the conversation body: 400 if it is not a JSON object, 422 naming the first bad field."""
    try:
        # UnicodeDecodeError is a ValueError too, so bad bytes land here as well.
        data = json.loads(body.decode("utf-8"))
    except ValueError as exc:
        raise Rejection(400, f"Request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Rejection(400, "Request body must be a JSON object.")
    if data.get("action") != "next":
        raise _field_error("action", f'must be "next", got {data.get("action")!r}')
    messages = _parse_messages(data.get("messages"))
    conversation_id = data.get("conversation_id")
    if conversation_id is not None and not _is_uuid(conversation_id):
        raise _field_error("conversation_id", "must be a uuid string when present")
    parent = data.get("parent_message_id")
    if not (_is_uuid(parent) or (parent == CLIENT_ROOT and conversation_id is None)):
        raise _field_error("parent_message_id", "must be a uuid string")
    model = data.get("model")
    if model not in ANON_MODELS:
        raise _field_error("model", f"{model!r} is not available; use one of {sorted(ANON_MODELS)}")
    offset = data.get("timezone_offset_min")
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise _field_error("timezone_offset_min", "must be an integer")
    mode = data.get("conversation_mode")
    if not isinstance(mode, dict) or mode.get("kind") != "primary_assistant":
        raise _field_error("conversation_mode", 'must be {"kind": "primary_assistant"}')
    if not isinstance(data.get("websocket_request_id"), str):
        raise _field_error("websocket_request_id", "must be a string")
    if "force_use_sse" in data and data["force_use_sse"] is not True:
        # With force_use_sse false the real server answers with a websocket URL; not emulated.
        raise _field_error("force_use_sse", "must be true (websocket delivery is not emulated)")
    encodings = data.get("supported_encodings", [])
    if not isinstance(encodings, list) or not all(isinstance(e, str) for e in encodings):
        raise _field_error("supported_encodings", "must be a list of strings")
    return ConversationRequest(messages=messages, parent_message_id=str(parent), model=str(model),
                               conversation_id=conversation_id, wants_v1="v1" in encodings)


class ChallengeGrant(Protocol):
    """What a sentinel remembers about a chat-requirements token it issued (both web emulators)."""

    seed: str
    difficulty: str
    pow_required: bool
    turnstile_required: bool
    arkose_required: bool


class _Headers(Protocol):
    def get(self, name: str) -> str | None: ...


def check_challenge_headers(headers: _Headers, grant: ChallengeGrant, user_agent: str, *,
                            turnstile_answer: str, arkose_answer: str) -> None:
    """Verify the conversation request answered what the sentinel demanded: the proof of work
    against the grant's own seed (and the same browser fingerprint), then turnstile and arkose."""
    if grant.pow_required:
        proof = headers.get("openai-sentinel-proof-token")
        if not proof:
            raise Rejection(403, "Missing openai-sentinel-proof-token header: the sentinel required "
                                 f"proof of work (seed {grant.seed!r}, difficulty {grant.difficulty!r}).")
        if proof.startswith(ANSWER_PREFIX + GIVE_UP_PREFIX):
            raise Rejection(403, "openai-sentinel-proof-token is a give-up token: the proof of work "
                                 "was not solved.")
        if not verify_answer_token(proof, grant.seed, grant.difficulty):
            raise Rejection(403, "openai-sentinel-proof-token does not solve the proof of work issued "
                                 f"with this chat-requirements token (seed {grant.seed!r}, difficulty "
                                 f"{grant.difficulty!r}).")
        config = decode_token_config(proof)
        if config is None or len(config) < 5 or config[4] != user_agent:
            raise Rejection(403, "Inconsistent browser fingerprint: the proof token's user agent is "
                                 "not the request's User-Agent.")
    if grant.turnstile_required:
        answer = headers.get("openai-sentinel-turnstile-token")
        if not answer:
            raise Rejection(403, "Missing openai-sentinel-turnstile-token header: the sentinel required "
                                 "a turnstile challenge (turnstile.required was true).")
        if answer != turnstile_answer:
            raise Rejection(403, "openai-sentinel-turnstile-token was rejected: wrong or expired "
                                 "turnstile answer.")
    if grant.arkose_required and headers.get("openai-sentinel-arkose-token") != arkose_answer:
        raise Rejection(403, "Missing or wrong openai-sentinel-arkose-token header: the sentinel "
                             "required an arkose challenge (arkose.required was true).")


def request_user_agent(headers: _Headers) -> str:
    """The request's User-Agent, refused when missing or when its client hints disagree with it."""
    user_agent = headers.get("User-Agent")
    if not user_agent:
        raise Rejection(403, "Missing User-Agent header.")
    check_platform(user_agent, headers.get("sec-ch-ua-platform"))
    return user_agent


def request_device(headers: _Headers) -> str:
    """The device id, which must be sent both as the ``oai-device-id`` header and the ``oai-did`` cookie."""
    header = headers.get("oai-device-id")
    cookie = parse_cookies(headers.get("Cookie")).get("oai-did")
    if not header:
        raise Rejection(403, "Missing oai-device-id header: send the value of the oai-did cookie.")
    if not cookie:
        raise Rejection(403, "Missing oai-did cookie: load / (GET) first and keep the cookies it sets.")
    if header != cookie:
        raise Rejection(403, f"oai-device-id header {header} does not match the oai-did cookie {cookie}.")
    return cookie

