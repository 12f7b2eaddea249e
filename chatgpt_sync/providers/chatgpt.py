"""ChatGpt: the anonymous chatgpt.com web backend, synchronously.

The flow (one opening step, retried as a whole so a spent sentinel token is never reused):

1. ``init_session``: GET the site root with one consistent browser profile and keep its cookies
   (the device id header then equals the ``oai-did`` cookie).
2. ``get_config`` + ``get_requirements_token``, POST ``/backend-anon/sentinel/chat-requirements``;
   answer its demands: the proof of work (``get_answer_token``, only when required), turnstile (the
   caller's ``turnstile_token=`` or ``turnstile_solver=``, else :class:`TurnstileRequiredError`).
   "Unusual activity", ``force_login``, arkose, HTML pages and 403s raise :class:`BlockedError`.
3. POST ``/backend-anon/conversation`` with the sentinel headers and ``supported_encodings: ["v1"]``,
   and decode the stream (both encodings) with the shared web stream decoder. No fixed sleeps.

Continue a conversation by passing the yielded :class:`Conversation` back as ``conversation=``: only
the messages after the last assistant message are sent, with the previous assistant message as parent.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any, ClassVar, Generator

from .._messages import content_text
from .._transport import Response
from ..errors import InvalidRequestError
from ..types import Chunk, Conversation
from ._web.flow import TurnOptions, TurnPaths, open_conversation, run_conversation
from ._web.pow import get_answer_token, get_config, get_requirements_token, random_uuid
from ._web.session import DEFAULT_USER_AGENT, WebSession, init_session
from .base import CallSettings, Provider

__all__ = ["ChatGpt", "format_conversation", "init_session", "get_config", "get_requirements_token",
           "get_answer_token"]

SENTINEL_PATH = "/backend-anon/sentinel/chat-requirements"
CONVERSATION_PATH = "/backend-anon/conversation"
PATHS = TurnPaths(SENTINEL_PATH, CONVERSATION_PATH, who="the anonymous session")
WEB_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


def format_conversation(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat messages as ChatGPT web message objects (a fresh uuid each, text parts, create_time).

    List content is reduced to its text parts; images are not accepted by the anonymous backend.
    """
    formatted = []
    for i, message in enumerate(messages):
        role = WEB_ROLES.get(message.get("role", ""))
        if role is None:
            raise InvalidRequestError(
                f"messages[{i}].role {message.get('role')!r} is not supported by the ChatGPT web backend "
                f"(use system, user or assistant)")
        content = message.get("content")
        if isinstance(content, list) and any(p.get("type") != "text" for p in content):
            raise InvalidRequestError(
                f"messages[{i}] has non-text parts; the anonymous ChatGPT backend takes text only "
                "(use OpenaiTemplate/OpenaiAPI for images)")
        formatted.append({
            "id": random_uuid(),
            "author": {"role": role},
            "content": {"content_type": "text", "parts": [content_text(content)]},
            "metadata": {"serialization_metadata": {"custom_symbol_offsets": []}},
            "create_time": round(time.time(), 3),
        })
    return formatted


def _timezone_offset_min() -> int:
    # JavaScript's Date.getTimezoneOffset(): minutes to add to local time to get UTC.
    return -int(time.localtime().tm_gmtoff // 60)


class ChatGpt(Provider):
    """chatgpt.com without an account (``/backend-anon``)."""

    label = "ChatGpt"
    url = "https://chatgpt.com"
    working = True  # against the protocol as documented; the live service may demand turnstile
    supports_message_history = True
    supports_system_message = True
    supports_stream = True
    takes_api_key = False
    api_key_hint = ": it is the anonymous chatgpt.com backend, which sends no credentials (an access token is for OpenaiChat, planned)"
    default_model = "auto"
    models: ClassVar[list[str]] = ["auto", "gpt-3.5-turbo", "gpt-4o", "gpt-4o-mini", "gpt-4", "gpt-4-turbo",
                                   "chatgpt-4o-latest"]
    # Aliases are applied first, so gpt-4o → chatgpt-4o-latest; any unknown name → "auto".
    model_aliases: ClassVar[dict[str, str]] = {"gpt-4o": "chatgpt-4o-latest"}
    unknown_model_is_default = True
    default_base_url = "https://chatgpt.com"
    extra_settings = frozenset({"user_agent", "turnstile_token", "turnstile_solver", "pow_workers"})
    call_params = frozenset({"conversation", "turnstile_token", "turnstile_solver", "user_agent", "pow_workers"})

    #: Web sessions hold the instance's connection pools: they stay in their process.
    process_local = Provider.process_local | {"_sessions"}

    def _new_process_state(self) -> None:
        self._sessions: dict[tuple[str, str, int], WebSession] = {}
        super()._new_process_state()

    # ------------------------------------------------------------------ the call
    def _start(self, model: str, messages: list[dict[str, Any]], stream: bool, call: CallSettings,
               params: dict[str, Any]) -> Generator[Chunk, None, None]:
        conversation = params.get("conversation")
        if conversation is not None and not isinstance(conversation, Conversation):
            if isinstance(conversation, dict):
                conversation = Conversation.from_dict(conversation)
            else:
                raise InvalidRequestError("conversation= must be a chatgpt_sync.Conversation (or its to_dict())")
        if conversation is not None and conversation.conversation_id and not conversation.message_id:
            raise InvalidRequestError(
                "this Conversation has no message_id (the stream broke before the answer began), so it "
                "cannot be continued; start a new conversation or resend the last message without it")
        solver = self.setting("turnstile_solver", params)
        if solver is not None and not callable(solver):
            raise InvalidRequestError("turnstile_solver must be a callable (dx, requirements_token) -> token")
        new_messages = messages
        if conversation is not None and conversation.conversation_id:
            last_assistant = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=-1)
            new_messages = messages[last_assistant + 1:]
            if not new_messages:
                raise InvalidRequestError("to continue a conversation, send at least one new message")
        body = {
            "action": "next",
            "messages": format_conversation(new_messages),
            "parent_message_id": (conversation.message_id if conversation and conversation.message_id
                                  else random_uuid()),
            "model": model,
            "timezone_offset_min": _timezone_offset_min(),
            "suggestions": [],
            "history_and_training_disabled": False,
            "conversation_mode": {"kind": "primary_assistant"},
            "force_paragen": False,
            "force_paragen_model_slug": "",
            "force_nulligen": False,
            "force_rate_limit": False,
            "reset_rate_limits": False,
            "websocket_request_id": random_uuid(),
            "system_hints": [],
            "force_use_sse": True,
            "conversation_origin": None,
            "supported_encodings": ["v1"],
            "client_contextual_info": {
                "is_dark_mode": False, "time_since_loaded": random.randint(20, 40),
                "page_height": random.randint(700, 1000), "page_width": random.randint(1200, 1800),
                "pixel_ratio": 1, "screen_height": 1080, "screen_width": 1920,
            },
        }
        if conversation is not None and conversation.conversation_id:
            body["conversation_id"] = conversation.conversation_id
        options = {
            "user_agent": self.setting("user_agent", params, DEFAULT_USER_AGENT),
            "turnstile_token": self.setting("turnstile_token", params),
            "turnstile_solver": solver,
            "pow_workers": int(self.setting("pow_workers", params, 1)),
        }
        # The body (and so every client-generated id) is built once, before any attempt.
        return self._run(json.dumps(body).encode(), call, options, stream)

    def _session(self, call: CallSettings, user_agent: str) -> WebSession:
        key = (call.base_url, user_agent, id(self.core(call)))  # core() first: it drops a parent's sessions
        session = self._sessions.get(key)
        if session is None:
            session = init_session(user_agent, core=self.core(call), base_url=call.base_url,
                                   timeout=call.timeout)
            with self._lock:
                self._sessions[key] = session
        return session

    def _run(self, body: bytes, call: CallSettings, options: dict[str, Any],
             stream: bool) -> Generator[Chunk, None, None]:
        turn = TurnOptions(timeout=call.timeout, headers=call.headers, turnstile_token=options["turnstile_token"],
                           turnstile_solver=options["turnstile_solver"], pow_workers=options["pow_workers"])

        def open_step() -> Response:
            return open_conversation(self._session(call, options["user_agent"]), PATHS, body, turn)

        return run_conversation(open_step, stream=stream, max_retries=call.max_retries, sleep=call.sleep)
