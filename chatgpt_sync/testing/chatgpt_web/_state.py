"""What the chatgpt.com web emulator's handler and emulator share: fault switches, issued tokens,
and the state interface the handler works through (so the handler never imports the emulator)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .checks import ConversationRequest
from .stream import StreamPlan

__all__ = ["WebFaults", "IssuedToken", "WebState"]


@dataclass
class WebFaults:
    """Fault and wall switches; all off by default. Mutate ``server.faults`` between requests."""

    turnstile_required: bool = False
    turnstile_answer: str = "turnstile-ok"
    arkose_required: bool = False
    unusual_activity: bool = False
    force_login: bool = False
    html_block: bool = False
    rate_limit_first: int = 0
    retry_after: str | None = "1"
    conversation_status: int | None = None
    conversation_status_first: int = 0
    drop_after: int | None = None
    stall_after: int | None = None
    stall_seconds: float = 5.0
    inband_error: bool = False
    title_after_complete: bool = True
    stream_format: str = "auto"
    pow_required: bool = True
    difficulty: str = "0fffff"
    tool_message: bool = False


@dataclass
class IssuedToken:
    """What the sentinel remembers about one chat-requirements token it issued."""

    token: str
    device_id: str
    user_agent: str
    seed: str
    difficulty: str
    pow_required: bool
    turnstile_required: bool
    arkose_required: bool
    expires_at: float  # time.monotonic() deadline
    used: bool = False


class WebState(Protocol):
    """The emulator as its request handler sees it."""

    faults: WebFaults
    token_ttl: float
    data_build: str
    arkose_answer: str

    @property
    def secure(self) -> bool: ...
    def count(self, kind: str) -> int: ...
    def device_for(self, cookie_value: str | None) -> str: ...
    def is_known_device(self, device_id: str) -> bool: ...
    def issue_token(self, device_id: str, user_agent: str) -> IssuedToken: ...
    def take_token(self, token: str | None, device_id: str, user_agent: str) -> IssuedToken: ...
    def accept(self, request: ConversationRequest, *, v1: bool) -> StreamPlan: ...
