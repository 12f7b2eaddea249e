"""The sentinel: ask for chat requirements and answer what they demand (DESIGN.md rule 8).

The proof of work is part of the protocol and is computed; turnstile needs the caller's token or
solver; Arkose, "unusual activity", a forced login, HTML pages and 403s become a
:class:`~chatgpt_sync.errors.BlockedError` that says what to do. Shared by both web providers.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from ..._urls import join_url
from ...errors import BlockedError, PermissionDeniedError, TurnstileRequiredError
from ...types import Timeout
from .pow import get_answer_token, get_requirements_token
from .session import WebSession

if TYPE_CHECKING:  # type checkers see frozen dataclasses; at run time they are made without exec
    from dataclasses import dataclass
else:
    from ..._frozen import frozen_dataclass as dataclass

__all__ = ["SentinelGrant", "request_sentinel", "wall", "TurnstileSolver", "WALL_ADVICE"]

TurnstileSolver = Callable[[str, str], str]

WALL_ADVICE = ("Options: pass an access token to OpenaiChat, use a HAR/cookies file from your own browser "
               "session, use the API (OpenaiAPI with OPENAI_API_KEY), or try later from another network.")


@dataclass(frozen=True)
class SentinelGrant:
    """What the sentinel granted: the headers to send with the conversation request."""

    headers: dict[str, str]
    persona: str | None = None

    def __init__(self, headers: dict[str, str], persona: str | None = None) -> None:
        object.__setattr__(self, "headers", headers)
        object.__setattr__(self, "persona", persona)

    def __repr__(self) -> str:
        return f"SentinelGrant(headers=[{', '.join(sorted(self.headers))}], persona={self.persona!r})"


def wall(detail: str, kind: str, status: int | None, *, session: str = "session") -> BlockedError:
    """The BlockedError for a wall the service put up; ``session`` says whose ("the anonymous session",
    "your account's session")."""
    return BlockedError(f"chatgpt.com refused {session} ({kind}): {detail.rstrip('. ')}. {WALL_ADVICE}",
                        kind=kind, status_code=status)


def request_sentinel(session: WebSession, config: list[Any], *, path: str, timeout: Timeout,
                     turnstile_token: str | None = None, turnstile_solver: TurnstileSolver | None = None,
                     pow_workers: int = 1, who: str = "the anonymous session",
                     extra_body: dict[str, Any] | None = None) -> SentinelGrant:
    """POST the requirements token to the sentinel and answer what it demands.

    Not retried here: the caller retries the whole opening step, so a failed attempt never reuses a
    spent chat-requirements token. ``who`` names the session in wall messages; ``extra_body`` adds
    fields to the sentinel request (the authenticated backend sends its conduit token there).
    """

    def _wall(detail: str, kind: str, status: int | None) -> BlockedError:
        return wall(detail, kind, status, session=who)

    requirements = get_requirements_token(config)
    url = join_url(session.base_url, path)
    try:
        data = session.core.request_json("POST", url, headers=session.headers(),
                                         body=json.dumps({"p": requirements, **(extra_body or {})}).encode(), timeout=timeout,
                                         max_retries=0, where=url)
    except PermissionDeniedError as exc:
        detail = str(exc.body.get("detail")) if isinstance(exc.body, dict) and exc.body.get("detail") else str(exc)
        kind = "unusual_activity" if "unusual activity" in detail.lower() else "forbidden"
        raise _wall(detail, kind, exc.status_code) from exc
    if not isinstance(data, dict):
        raise _wall(f"unexpected sentinel answer {str(data)[:100]!r}", "sentinel", 200)
    if data.get("detail") and "unusual activity" in str(data["detail"]).lower():
        raise _wall(str(data["detail"]), "unusual_activity", 200)
    if data.get("force_login"):
        raise _wall("the server requires logging in for this session", "force_login", 200)
    token = data.get("token")
    if not isinstance(token, str) or not token:
        raise _wall("the sentinel answered without a chat-requirements token", "sentinel", 200)
    headers = {"openai-sentinel-chat-requirements-token": token}

    arkose = data.get("arkose") or {}
    if isinstance(arkose, dict) and arkose.get("required"):
        raise _wall("the sentinel demands an Arkose (FunCaptcha) challenge, which this SDK does not solve",
                    "arkose", 200)
    turnstile = data.get("turnstile") or {}
    if isinstance(turnstile, dict) and turnstile.get("required"):
        dx = str(turnstile.get("dx") or "")
        if turnstile_token:
            headers["openai-sentinel-turnstile-token"] = turnstile_token
        elif turnstile_solver is not None:
            headers["openai-sentinel-turnstile-token"] = turnstile_solver(dx, requirements)
        else:
            raise TurnstileRequiredError(
                "chatgpt.com demands a turnstile (anti-bot) token for this session. This SDK does not "
                "solve it: pass turnstile_token=<token from your own browser session> or "
                "turnstile_solver=<callable (dx, requirements_token) -> token>. " + WALL_ADVICE,
                dx=dx, status_code=200)
    proof = data.get("proofofwork") or {}
    if isinstance(proof, dict) and proof.get("required"):
        seed, difficulty = proof.get("seed"), proof.get("difficulty")
        if not isinstance(seed, str) or not isinstance(difficulty, str):
            raise _wall("the sentinel demanded a proof of work without a seed or difficulty", "sentinel", 200)
        headers["openai-sentinel-proof-token"] = get_answer_token(seed, difficulty, config, workers=pow_workers)
    return SentinelGrant(headers=headers, persona=data.get("persona"))
