"""What the authenticated emulator's handlers and the emulator share: fault switches, the grants it
issues, and the state interface the handlers work through (so a handler never imports the emulator)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Protocol

from ..chatgpt_web import IssuedToken
from ..chatgpt_web.checks import Rejection

if TYPE_CHECKING:
    from .auth import Claims
    from .body import ChatRequest, PrepareRequest

__all__ = ["ChatFaults", "ChatState", "ConduitGrant", "Refusal", "SentinelGrant"]


class Refusal(Rejection):
    """A refused request whose body is not only ``{"detail": <text>}`` (``body``), or that carries
    extra response headers (``headers``: Retry-After, ...)."""

    def __init__(self, status: int, detail: str, *, body: Any = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status, detail)
        self.body = body if body is not None else {"detail": detail}
        self.headers = dict(headers or {})


@dataclass
class ChatFaults:
    """Fault and wall switches, all off by default. Mutate ``server.faults`` between requests."""

    # --- auth
    token_expired: bool = False         # every bearer token is refused as expired (401 token_expired)
    unauthorized_first: int = 0         # the first N /backend-api requests: 401 token_invalidated
    # --- walls
    html_block: bool = False            # every chatgpt.com route answers Cloudflare's challenge page
    rate_limit_first: int = 0           # the first N requests to rate_limit_route: 429 + Retry-After
    rate_limit_route: str = "conversation"
    retry_after: str | None = "1"
    conversation_status: int | None = None  # the first conversation_status_first conversations: this status
    conversation_status_first: int = 1
    turnstile_required: bool = False
    turnstile_answer: str = "turnstile-ok"
    arkose_required: bool = False
    unusual_activity: bool = False      # the sentinel refuses with the "Unusual activity" 403
    pow_required: bool = True
    difficulty: str = "0fffff"
    # --- the answer stream
    stream_format: str = "auto"         # "auto" (per supported_encodings), "v1" or "legacy"
    drop_after: int | None = None       # hang up after this many SSE events
    stall_after: int | None = None      # pause stall_seconds before this SSE event
    stall_seconds: float = 5.0
    inband_error: bool = False          # half the answer, then {"error": ...} in the stream
    max_tokens: int = 0                 # cut each new answer N times (finish_details max_tokens)
    async_image: bool = False           # image requests become an async task finished later
    async_image_polls: int = 1          # conversation GETs that still show the task pending
    title_after_complete: bool = True   # title_generation after message_stream_complete


@dataclass
class SentinelGrant(IssuedToken):
    """A chat-requirements token, bound to the account as well as the device and User-Agent."""

    user_id: str = ""


@dataclass
class ConduitGrant:
    """What ``/f/conversation/prepare`` handed out: good for one conversation request."""

    token: str
    user_id: str
    device_id: str
    conversation_id: str | None
    expires_at: float
    used: bool = False


class ChatState(Protocol):
    """The emulator as its request handlers see it."""

    faults: ChatFaults
    data_build: str
    arkose_answer: str
    token_ttl: float

    @property
    def secure(self) -> bool: ...
    def count(self, kind: str) -> int: ...
    def device_for(self, cookie_value: str | None) -> str: ...
    def authenticate(self, authorization: str | None) -> Claims: ...
    def exchange_session(self, cookie_value: str | None) -> dict[str, Any]: ...
    def sign_in(self, email: str, password: str) -> str | None: ...
    def me(self, claims: Claims) -> dict[str, Any]: ...
    def prepare(self, claims: Claims, device_id: str, request: PrepareRequest) -> str: ...
    def take_conduit(self, token: str | None, claims: Claims, device_id: str) -> ConduitGrant: ...
    def issue_sentinel(self, claims: Claims, device_id: str, user_agent: str) -> SentinelGrant: ...
    def take_sentinel(self, token: str | None, claims: Claims, device_id: str,
                      user_agent: str) -> SentinelGrant: ...
    def accept_turn(self, claims: Claims, request: ChatRequest, *, v1: bool) -> list[bytes]: ...
    def create_file(self, claims: Claims, name: Any, size: Any, use_case: Any) -> dict[str, Any]: ...
    def confirm_upload(self, claims: Claims, file_id: str) -> dict[str, Any]: ...
    def file_download(self, claims: Claims, file_id: str, conversation_id: str | None) -> dict[str, Any]: ...
    def attachment_download(self, claims: Claims, conversation_id: str, file_id: str) -> dict[str, Any]: ...
    def list_conversations(self, claims: Claims, offset: int, limit: int) -> dict[str, Any]: ...
    def get_conversation(self, claims: Claims, conversation_id: str) -> dict[str, Any]: ...
    def patch_conversation(self, claims: Claims, conversation_id: str, changes: dict[str, Any]) -> None: ...
    def speech_text(self, claims: Claims, conversation_id: str, message_id: str) -> str: ...
