"""A strict loopback emulator of the *authenticated* chatgpt.com web backend (``/backend-api``).

It is the test double of the ``OpenaiChat`` provider, so it follows protocols.md §1.2 and is
strict where the service is: a Bearer access token on every ``/backend-api`` route (``exp``
checked; unsigned JWTs accepted, see :func:`~.auth.make_access_token`), the device id header equal to
the ``oai-did`` cookie, a conduit token from ``/f/conversation/prepare`` and single-use sentinel
tokens with a verified proof of work on every conversation request, uploads that really happened
(on a separate blob-store origin) and images whose stated size matches their bytes. Usage::

    with OpenaiChatEmulator() as server:
        token = server.access_token()                # or: cookies=server.cookies() -> /api/auth/session
        OpenaiChat(api_key=token, base_url=server.base_url).create_completion("auto", messages)

``server.faults`` (:class:`~._state.ChatFaults`) switches walls and broken streams on;
``server.counts`` counts requests per route; ``server.uploads`` lists what the blob store received.
"""

from __future__ import annotations

import base64
import os
import random
import socket
import ssl
import threading
import time
import uuid
from typing import Any

from ..chatgpt_web.checks import Rejection, _is_uuid
from .._server import EmulatorServer
from ._state import ChatFaults, ConduitGrant, SentinelGrant
from .auth import DEFAULT_EMAIL, SESSION_COOKIE, SESSION_COOKIE_NAME, Claims, decode_access_token, \
    expired_refusal, iso_time, make_access_token, user_id_for
from .blobstore import BlobStore, Upload
from .body import ChatRequest, PrepareRequest
from .conversations import StoredConversation
from .files import FileRegistry
from .handler import ROUTES, OpenaiChatHandler
from .login_page import DEFAULT_PASSWORD
from .store import ConversationStore, Reply
from .stream import encode

__all__ = ["OpenaiChatEmulator"]

_CHAT_REQUIREMENTS = "openai-sentinel-chat-requirements-token"


class OpenaiChatEmulator(EmulatorServer):
    """The authenticated ChatGPT web backend on 127.0.0.1; ``base_url`` replaces ``https://chatgpt.com``.

    ``email``/``name``: the account behind the session cookie. ``reply``: the answer text (a string,
    or a function of the user's text; default ``"You said: <text>. Turn <n>."``). ``token_lifetime``:
    seconds an access token from ``/api/auth/session`` is valid.
    """

    handler_class = OpenaiChatHandler
    #: The build id in ``<html data-build=...>`` (a client may copy it into its fingerprint).
    data_build = "prod-7c1e0b5f3a9d4e2b8f6a1c3d5e7f9a0b2c4d6e8f"
    #: The value accepted in ``openai-sentinel-arkose-token`` when arkose is required.
    arkose_answer = "arkose-ok"
    #: Custom GPTs this account may talk to (``conversation_mode.gizmo_id`` → name).
    default_gizmos = {"g-emulator0001": "Emulator Helper"}

    def __init__(self, *, email: str = DEFAULT_EMAIL, name: str | None = None, reply: str | Reply | None = None,
                 token_lifetime: float = 10 * 24 * 3600.0, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(ssl_context=ssl_context)
        self.email = email
        self.name = name
        self.user_id = user_id_for(email)
        #: The value of the ``__Secure-next-auth.session-token`` cookie that logs this account in.
        self.session_cookie = SESSION_COOKIE
        #: The password the sign-in form (``POST /auth/login``) accepts for ``email``.
        self.password = DEFAULT_PASSWORD
        self.token_lifetime = token_lifetime
        self.faults = ChatFaults()
        self.token_ttl = 540.0   # seconds a chat-requirements token stays valid (the real expire_after)
        self.conduit_ttl = 300.0
        self.gizmos = dict(self.default_gizmos)
        #: The blob store (its own loopback server) that upload and download URLs point to.
        self.blob_store = BlobStore()
        self.files = FileRegistry(self.blob_store)
        self.store = ConversationStore(self.files, reply=reply, gizmos=self.gizmos)
        self.devices: set[str] = set()
        self.sentinel_tokens: dict[str, SentinelGrant] = {}
        self.conduits: dict[str, ConduitGrant] = {}
        #: Access tokens minted by session exchanges (``/api/auth/session`` and a logged-in ``GET /``).
        self.tokens_issued: list[str] = []
        #: Requests per route (refused ones included); "backend-api" totals every /backend-api request.
        self.counts: dict[str, int] = dict.fromkeys([name for _, _, name, _ in ROUTES] + ["backend-api"], 0)
        self._seen_tokens: set[str] = set()
        self._expired_tokens: set[str] = set()
        self._state = threading.Lock()

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> OpenaiChatEmulator:
        super().start()  # the blob store starts itself when it hands out its first URL
        return self

    def stop(self) -> None:
        blob_stopper = threading.Thread(target=self.blob_store.stop, name="blob-store-stop", daemon=True)
        blob_stopper.start()
        if self._server is not None:
            port = self.port
            stopper = threading.Thread(target=EmulatorServer.stop, args=(self,), name="emulator-stop", daemon=True)
            stopper.start()
            # serve_forever looks at the shutdown flag only between 50 ms polls; an incoming
            # connection wakes it at once (the handler sees an empty request and leaves).
            while stopper.is_alive():
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                except OSError:
                    pass
                stopper.join(0.005)
        blob_stopper.join(timeout=5)

    def __enter__(self) -> OpenaiChatEmulator:
        return self.start()

    @property
    def secure(self) -> bool:
        """True when serving HTTPS (cookies then carry ``Secure``)."""
        return self._ssl_context is not None

    # ---------------------------------------------------------------- conveniences for tests
    def access_token(self, *, exp: float | None = None) -> str:
        """A valid access token for this emulator's account (``exp`` in the past: an expired one)."""
        return make_access_token(email=self.email, name=self.name, exp=exp, lifetime=self.token_lifetime)

    def cookies(self) -> dict[str, str]:
        """The browser cookies of a logged-in session (exchange them at ``/api/auth/session``)."""
        return {SESSION_COOKIE_NAME: self.session_cookie}

    def expire_tokens(self) -> None:
        """Every access token presented or issued so far is expired from now on (fresh ones work)."""
        with self._state:
            self._expired_tokens |= self._seen_tokens | set(self.tokens_issued)

    def finish_image_tasks(self) -> int:
        """Complete every pending async image task now; return how many there were."""
        with self._state:
            return self.store.finish_tasks()

    @property
    def uploads(self) -> list[Upload]:
        """What the blob store received (file id, bytes, headers), in order."""
        return list(self.blob_store.uploads)

    @property
    def conversations(self) -> dict[str, StoredConversation]:
        return self.store.conversations

    def reset_counters(self) -> None:
        """Zero ``counts`` and forget recorded requests and uploads (here and on the blob store)."""
        super().reset_counters()
        self.blob_store.reset_counters()
        with self._state:
            self.counts = dict.fromkeys(self.counts, 0)
            self.tokens_issued.clear()
        self.blob_store.clear_uploads()

    def count(self, kind: str) -> int:
        """Count one request of ``kind``; return its number."""
        with self._state:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            return self.counts[kind]

    # ---------------------------------------------------------------- devices and auth
    def device_for(self, cookie_value: str | None) -> str:
        """Keep a device id the browser already has (a uuid); otherwise issue a new one."""
        with self._state:
            device = cookie_value if _is_uuid(cookie_value) and cookie_value else str(uuid.uuid4())
            self.devices.add(device)
            return device

    def authenticate(self, authorization: str | None) -> Claims:
        claims = decode_access_token(authorization)
        with self._state:
            if self.faults.token_expired or claims.token in self._expired_tokens:
                raise expired_refusal()
            self._seen_tokens.add(claims.token)
        return claims

    def exchange_session(self, cookie_value: str | None) -> dict[str, Any]:
        """``/api/auth/session``: the session JSON for the right cookie, ``{}`` without it."""
        if cookie_value != self.session_cookie:
            return {}
        token = self.access_token()
        with self._state:
            self.tokens_issued.append(token)
        name = self.name or self.email.split("@")[0].capitalize()
        now = time.time()
        return {"user": {"id": self.user_id, "name": name, "email": self.email, "image": None, "picture": None,
                         "idp": "auth0", "iat": int(now), "mfa": False, "groups": [], "intercom_hash": "0" * 64},
                "expires": iso_time(now + 30 * 24 * 3600), "accessToken": token, "authProvider": "auth0"}

    def sign_in(self, email: str, password: str) -> str | None:
        """The sign-in form: the session cookie value for the right email and password, else None."""
        if email.strip().lower() == self.email.lower() and password == self.password:
            return self.session_cookie
        return None

    def me(self, claims: Claims) -> dict[str, Any]:
        return {"object": "user", "id": claims.user_id, "email": claims.email, "name": claims.name,
                "picture": None, "created": int(claims.iat or time.time()), "phone_number": None,
                "mfa_flag_enabled": False, "amr": [], "groups": [], "orgs": {"object": "list", "data": []},
                "has_payg_project_spend_limit": True}

    # ---------------------------------------------------------------- prepare (conduit tokens)
    def prepare(self, claims: Claims, device_id: str, request: PrepareRequest) -> str:
        with self._state:
            if request.conversation_id is not None:
                self.store.load(claims.user_id, request.conversation_id)
            token = "ct_" + base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("=")
            self.conduits[token] = ConduitGrant(token, claims.user_id, device_id, request.conversation_id,
                                                time.monotonic() + self.conduit_ttl)
        return token

    def take_conduit(self, token: str | None, claims: Claims, device_id: str) -> ConduitGrant:
        if not token:
            raise Rejection(403, "Missing x-conduit-token header: POST /backend-api/f/conversation/prepare "
                                 "first and send its conduit_token.")
        with self._state:
            grant = self.conduits.get(token)
            if grant is None:
                raise Rejection(403, "Invalid x-conduit-token: this server never issued that token.")
            if grant.used:
                raise Rejection(403, "x-conduit-token was already used: prepare each conversation request.")
            grant.used = True
        if time.monotonic() > grant.expires_at:
            raise Rejection(403, "x-conduit-token has expired; prepare again.")
        if grant.user_id != claims.user_id or grant.device_id != device_id:
            raise Rejection(403, "x-conduit-token was issued to another account or device.")
        return grant

    # ---------------------------------------------------------------- sentinel
    def issue_sentinel(self, claims: Claims, device_id: str, user_agent: str) -> SentinelGrant:
        faults = self.faults
        # Real tokens are Fernet tokens ("gAAAAAB" + urlsafe base64); opaque to the client.
        token = "gAAAAAB" + base64.urlsafe_b64encode(os.urandom(120)).decode()
        grant = SentinelGrant(token=token, device_id=device_id, user_agent=user_agent, seed=str(random.random()),
                              difficulty=faults.difficulty, pow_required=faults.pow_required,
                              turnstile_required=faults.turnstile_required, arkose_required=faults.arkose_required,
                              expires_at=time.monotonic() + self.token_ttl, user_id=claims.user_id)
        with self._state:
            self.sentinel_tokens[token] = grant
        return grant

    def take_sentinel(self, token: str | None, claims: Claims, device_id: str, user_agent: str) -> SentinelGrant:
        """Consume a chat-requirements token: ours, unused, unexpired, for this account, device and UA."""
        if not token:
            raise Rejection(403, f"Missing {_CHAT_REQUIREMENTS} header: POST /backend-api/sentinel/"
                                 "chat-requirements first and send its token.")
        with self._state:
            grant = self.sentinel_tokens.get(token)
            if grant is None:
                raise Rejection(403, f"Invalid {_CHAT_REQUIREMENTS}: this server never issued that token.")
            if grant.used:
                raise Rejection(403, f"{_CHAT_REQUIREMENTS} was already used: each token is good for one "
                                     "conversation request; ask the sentinel for a new one.")
            grant.used = True  # presenting a live token spends it, even if a later check fails
        if time.monotonic() > grant.expires_at:
            raise Rejection(403, f"{_CHAT_REQUIREMENTS} has expired; ask the sentinel for a new one.")
        if grant.user_id != claims.user_id:
            raise Rejection(403, f"{_CHAT_REQUIREMENTS} was issued to another account.")
        if grant.device_id != device_id:
            raise Rejection(403, f"{_CHAT_REQUIREMENTS} was issued to device {grant.device_id}, not to "
                                 f"oai-device-id {device_id}.")
        if grant.user_agent != user_agent:
            raise Rejection(403, f"{_CHAT_REQUIREMENTS} was issued to a different User-Agent "
                                 "(inconsistent browser fingerprint).")
        return grant

    # ---------------------------------------------------------------- conversations
    def accept_turn(self, claims: Claims, request: ChatRequest, *, v1: bool) -> list[bytes]:
        with self._state:
            built = self.store.accept(claims.user_id, request, self.faults)
        return encode(built.turn, v1=v1)

    def list_conversations(self, claims: Claims, offset: int, limit: int) -> dict[str, Any]:
        with self._state:
            return self.store.listing(claims.user_id, offset, limit)

    def get_conversation(self, claims: Claims, conversation_id: str) -> dict[str, Any]:
        with self._state:
            return self.store.get(claims.user_id, conversation_id)

    def patch_conversation(self, claims: Claims, conversation_id: str, changes: dict[str, Any]) -> None:
        with self._state:
            self.store.patch(claims.user_id, conversation_id, changes)

    def speech_text(self, claims: Claims, conversation_id: str, message_id: str) -> str:
        with self._state:
            return self.store.speech_text(claims.user_id, conversation_id, message_id)

    # ---------------------------------------------------------------- files
    def create_file(self, claims: Claims, name: Any, size: Any, use_case: Any) -> dict[str, Any]:
        with self._state:
            return self.files.create(claims.user_id, name, size, use_case)

    def confirm_upload(self, claims: Claims, file_id: str) -> dict[str, Any]:
        with self._state:
            return self.files.confirm(claims.user_id, file_id)

    def file_download(self, claims: Claims, file_id: str, conversation_id: str | None) -> dict[str, Any]:
        with self._state:
            return self.files.download(claims.user_id, file_id, conversation_id)

    def attachment_download(self, claims: Claims, conversation_id: str, file_id: str) -> dict[str, Any]:
        with self._state:
            self.store.load(claims.user_id, conversation_id)
            return self.files.attachment(claims.user_id, conversation_id, file_id)
