"""A strict loopback emulator of the anonymous chatgpt.com web backend.

Three endpoints, each checked the way the real service checks them (protocols.md §1.1, §2, §3):

* ``GET /`` sets the ``oai-did`` (device id) and ``__cf_bm`` cookies; a User-Agent is required.
* ``POST /backend-anon/sentinel/chat-requirements`` takes ``{"p": <requirements token>}`` whose
  fingerprint must name the request's User-Agent, from the device the cookie says; it issues a
  single-use chat-requirements token with a proof-of-work seed and difficulty.
* ``POST /backend-anon/conversation`` verifies the sentinel headers (the proof of work against *that*
  token's seed), the body, and conversation continuity, then streams the answer in the legacy or the
  v1 delta encoding.

Anything wrong is refused with a status and a JSON ``detail`` naming the problem. ``WebFaults``
switches turn on walls (Cloudflare page, turnstile, arkose, unusual activity, login, 429) and
stream faults (drop, stall, in-band error, tool-call noise). Usage::

    with ChatGptWebEmulator() as server:
        ChatGpt.create_completion("auto", messages, base_url=server.base_url)
"""

from __future__ import annotations

import base64
import os
import random
import ssl
import threading
import time
import uuid
from dataclasses import dataclass

from ._state import IssuedToken, WebFaults
from .checks import ConversationRequest, Rejection
from .handler import ChatGptWebHandler
from .stream import StreamPlan, make_title
from .._server import EmulatorServer

__all__ = ["ChatGptWebEmulator"]


class ChatGptWebEmulator(EmulatorServer):
    """The anonymous ChatGPT web backend on 127.0.0.1; ``base_url`` replaces ``https://chatgpt.com``."""

    handler_class = ChatGptWebHandler
    #: The build id in ``<html data-build=...>`` (a client may copy it into its fingerprint).
    data_build = "prod-0e8f5a3c9d1b2e4f6a7b8c9d0e1f2a3b4c5d6e7f"
    #: The value accepted in ``openai-sentinel-arkose-token`` when arkose is required.
    arkose_answer = "arkose-ok"

    def __init__(self, *, reply: str | None = None, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(ssl_context=ssl_context)
        self.reply = reply
        self.faults = WebFaults()
        self.token_ttl = 540.0  # seconds a chat-requirements token stays valid (the real expire_after)
        self.devices: set[str] = set()
        self.issued: dict[str, IssuedToken] = {}
        self.conversations: dict[str, list[dict[str, str]]] = {}
        self.titles: dict[str, str] = {}
        #: Requests seen per endpoint: "navigation" (GET /), "sentinel", "conversation".
        self.counts: dict[str, int] = {"navigation": 0, "sentinel": 0, "conversation": 0}
        self._state = threading.Lock()

    @property
    def secure(self) -> bool:
        """True when serving HTTPS (cookies then carry ``Secure``)."""
        return self._ssl_context is not None

    # ---------------------------------------------------------------- counters
    def count(self, kind: str) -> int:
        """Count one request of ``kind`` ("navigation", "sentinel", "conversation"); return its number."""
        with self._state:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            return self.counts[kind]

    # ---------------------------------------------------------------- devices and tokens
    def device_for(self, cookie_value: str | None) -> str:
        """Keep a device id this server issued before; otherwise issue a new one."""
        with self._state:
            if cookie_value and cookie_value in self.devices:
                return cookie_value
            device = str(uuid.uuid4())
            self.devices.add(device)
            return device

    def is_known_device(self, device_id: str) -> bool:
        with self._state:
            return device_id in self.devices

    def issue_token(self, device_id: str, user_agent: str) -> IssuedToken:
        """Mint a chat-requirements token with this moment's fault settings baked in."""
        faults = self.faults
        # Real tokens are Fernet tokens ("gAAAAAB" + urlsafe base64); opaque to the client.
        token = "gAAAAAB" + base64.urlsafe_b64encode(os.urandom(120)).decode()
        grant = IssuedToken(token=token, device_id=device_id, user_agent=user_agent,
                            seed=str(random.random()), difficulty=faults.difficulty,
                            pow_required=faults.pow_required, turnstile_required=faults.turnstile_required,
                            arkose_required=faults.arkose_required,
                            expires_at=time.monotonic() + self.token_ttl)
        with self._state:
            self.issued[token] = grant
        return grant

    def take_token(self, token: str | None, device_id: str, user_agent: str) -> IssuedToken:
        """Consume a chat-requirements token: it must be ours, unused, unexpired, for this device."""
        name = "openai-sentinel-chat-requirements-token"
        if not token:
            raise Rejection(403, f"Missing {name} header: POST /backend-anon/sentinel/chat-requirements "
                                 "first and send its token.")
        with self._state:
            grant = self.issued.get(token)
            if grant is None:
                raise Rejection(403, f"Invalid {name}: this server never issued that token.")
            if grant.used:
                raise Rejection(403, f"{name} was already used: each token is good for one conversation "
                                     "request; ask the sentinel for a new one.")
            # Presenting a live token spends it, even if a later check fails (single use).
            grant.used = True
        if time.monotonic() > grant.expires_at:
            raise Rejection(403, f"{name} has expired (it is valid for {self.token_ttl:g} s); "
                                 "ask the sentinel for a new one.")
        if grant.device_id != device_id:
            raise Rejection(403, f"{name} was issued to device {grant.device_id}, not to oai-device-id "
                                 f"{device_id}.")
        if grant.user_agent != user_agent:
            raise Rejection(403, f"{name} was issued to a different User-Agent "
                                 "(inconsistent browser fingerprint).")
        return grant

    # ---------------------------------------------------------------- conversations
    def accept(self, request: ConversationRequest, *, v1: bool) -> StreamPlan:
        """Store the request's messages and the reply; return the plan of the answer stream."""
        with self._state:
            if request.conversation_id is None:
                conversation_id = str(uuid.uuid4())
                history: list[dict[str, str]] = []
                parent = request.parent_message_id
            else:
                conversation_id = request.conversation_id
                stored = self.conversations.get(conversation_id)
                if stored is None:
                    raise Rejection(404, f"Can't load conversation {conversation_id}: it does not exist.")
                history = stored
                parent = self._check_parent(history, request.parent_message_id, conversation_id)
            new_rows = []
            for message in request.messages:
                new_rows.append({"role": message.role, "content": message.text, "id": message.id,
                                 "parent": parent})
                parent = message.id
            all_rows = history + new_rows
            turn = sum(1 for row in all_rows if row["role"] == "user")
            user_text = request.messages[-1].text
            reply = self.reply if self.reply is not None else f"You said: {user_text}. Turn {turn}."
            assistant_id = str(uuid.uuid4())
            all_rows.append({"role": "assistant", "content": reply, "id": assistant_id, "parent": parent})
            self.conversations[conversation_id] = all_rows
            title = None
            if request.conversation_id is None:
                title = make_title(next((m.text for m in request.messages if m.role == "user"), user_text))
                self.titles[conversation_id] = title
        faults = self.faults
        return StreamPlan(conversation_id=conversation_id, assistant_id=assistant_id,
                          user_id=request.messages[-1].id, user_text=user_text,
                          model_slug="gpt-4o-mini" if request.model == "auto" else request.model,
                          reply=reply, title=title, v1=v1, tool_message=faults.tool_message,
                          inband_error=faults.inband_error, title_after_complete=faults.title_after_complete)

    @staticmethod
    def _check_parent(history: list[dict[str, str]], parent: str, conversation_id: str) -> str:
        last = next((row for row in reversed(history) if row["role"] == "assistant"), None)
        if last is None or parent != last["id"]:
            expected = last["id"] if last else "(none)"
            raise Rejection(400, f"parent_message_id {parent} is not the last assistant message of "
                                 f"conversation {conversation_id} (expected {expected}).")
        return parent
