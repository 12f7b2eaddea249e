"""Shared chatgpt.com web logic: one consistent browser profile, the session warm-up, the sentinel.

Used by both web providers (the anonymous ``ChatGpt`` and the authenticated ``OpenaiChat``); neither
imports the other. Walls are reported, not defeated (DESIGN.md rule 8): the proof of work is part of
the protocol and is computed; turnstile needs the caller's token or solver; everything else becomes
a :class:`~chatgpt_sync.errors.BlockedError` that says what to do.
"""

from __future__ import annotations

import json
import re
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .._client import HTTPCore
from .._urls import join_url
from ..errors import (
    BlockedError, PermissionDeniedError, TurnstileRequiredError,
)
from .._frozen import FACTORY as _FACTORY
from ..types import Timeout
from ._pow import get_answer_token, get_requirements_token, random_uuid

if TYPE_CHECKING:  # type checkers see frozen dataclasses; at run time they are made without exec (see types)
    from dataclasses import dataclass
else:
    from .._frozen import frozen_dataclass as dataclass

__all__ = ["BrowserProfile", "WebSession", "SentinelGrant", "DEFAULT_USER_AGENT", "init_session",
           "request_sentinel", "TurnstileSolver"]

DEFAULT_USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/131.0.0.0 Safari/537.36")
TurnstileSolver = Callable[[str, str], str]

WALL_ADVICE = ("Options: pass an access token to OpenaiChat, use a HAR/cookies file from your own browser "
               "session, use the API (OpenaiAPI with OPENAI_API_KEY), or try later from another network.")


@dataclass(frozen=True)
class BrowserProfile:
    """A user agent and the client-hint headers that agree with it, sent on every request.

    The public implementation mixed a Windows UA with macOS navigation hints and Linux API hints;
    a server comparing them sees three browsers. Here they are derived from the one UA.
    """

    user_agent: str = DEFAULT_USER_AGENT
    language: str = "en-US"

    def __init__(self, user_agent: str = DEFAULT_USER_AGENT, language: str = "en-US") -> None:
        object.__setattr__(self, "user_agent", user_agent)
        object.__setattr__(self, "language", language)

    @property
    def platform(self) -> str:
        ua = self.user_agent
        if "Windows" in ua:
            return "Windows"
        if "Mac OS X" in ua or "Macintosh" in ua:
            return "macOS"
        if "Android" in ua:
            return "Android"
        return "Linux"

    @property
    def sec_ch_ua(self) -> str:
        match = re.search(r"Chrome/(\d+)", self.user_agent)
        major = match.group(1) if match else "131"
        return f'"Google Chrome";v="{major}", "Chromium";v="{major}", "Not_A Brand";v="24"'

    def client_hints(self) -> dict[str, str]:
        return {
            "user-agent": self.user_agent,
            "sec-ch-ua": self.sec_ch_ua,
            "sec-ch-ua-mobile": "?1" if self.platform == "Android" else "?0",
            "sec-ch-ua-platform": f'"{self.platform}"',
            "accept-language": f"{self.language},{self.language.split('-')[0]};q=0.9",
        }

    def navigation_headers(self) -> dict[str, str]:
        return {
            **self.client_hints(),
            "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "cache-control": "no-cache", "pragma": "no-cache", "priority": "u=0, i",
            "sec-fetch-dest": "document", "sec-fetch-mode": "navigate", "sec-fetch-site": "none",
            "sec-fetch-user": "?1", "upgrade-insecure-requests": "1",
        }

    def api_headers(self, origin: str) -> dict[str, str]:
        return {
            **self.client_hints(),
            "accept": "*/*", "content-type": "application/json", "oai-language": self.language,
            "origin": origin, "referer": f"{origin}/", "priority": "u=1, i",
            "sec-fetch-dest": "empty", "sec-fetch-mode": "cors", "sec-fetch-site": "same-origin",
        }


class WebSession:
    """Cookies and the device id of one browser-like session with chatgpt.com.

    Belongs to one provider instance (never process-global); the device id header always equals
    the ``oai-did`` cookie the server set, when it set one. (The ``__init__``, ``__repr__`` and
    ``__eq__`` of a plain ``@dataclass``, written out: the decorator costs import time.)
    """

    def __init__(self, core: HTTPCore, base_url: str, profile: BrowserProfile = _FACTORY,
                 cookies: dict[str, str] = _FACTORY, device_id: str = _FACTORY, data_build: str | None = None) -> None:
        self.core = core
        self.base_url = base_url
        self.profile = BrowserProfile() if profile is _FACTORY else profile
        self.cookies = {} if cookies is _FACTORY else cookies
        self.device_id = random_uuid() if device_id is _FACTORY else device_id
        self.data_build = data_build

    def _fields(self) -> tuple[Any, ...]:
        return (self.core, self.base_url, self.profile, self.cookies, self.device_id, self.data_build)

    def __repr__(self) -> str:
        return (f"{self.__class__.__qualname__}(core={self.core!r}, base_url={self.base_url!r}, "
                f"profile={self.profile!r}, cookies={self.cookies!r}, device_id={self.device_id!r}, "
                f"data_build={self.data_build!r})")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._fields() == other._fields()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq

    def remember_cookies(self, headers: Mapping[str, str], cookies: Mapping[str, str] | None = None) -> None:
        if cookies:
            self.cookies.update(cookies)
        else:
            raw = headers.get("set-cookie")
            if raw:
                jar: SimpleCookie = SimpleCookie()
                try:
                    jar.load(raw)
                except Exception:  # a malformed cookie must not break the session
                    return
                self.cookies.update({name: morsel.value for name, morsel in jar.items()})
        if self.cookies.get("oai-did"):
            self.device_id = self.cookies["oai-did"]

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        result = self.profile.api_headers(self.base_url)
        result["oai-device-id"] = self.device_id
        if self.cookies:
            result["cookie"] = self.cookie_header()
        if extra:
            result.update(extra)
        return result


def init_session(user_agent: str = DEFAULT_USER_AGENT, *, core: HTTPCore | None = None,
                 base_url: str = "https://chatgpt.com", timeout: Timeout | None = None,
                 max_retries: int = 0) -> WebSession:
    """Open a session the way a browser does: GET the site root and keep its cookies.

    Raises BlockedError when the root is a challenge page (checked, unlike the public version).
    """
    if core is None:
        from .._transport import RequestsTransport
        core = HTTPCore(RequestsTransport())
    session = WebSession(core=core, base_url=base_url.rstrip("/"), profile=BrowserProfile(user_agent))
    headers = session.profile.navigation_headers()
    response = core.open("GET", join_url(session.base_url, "/"), headers=headers, timeout=timeout or Timeout(),
                         max_retries=max_retries, expect="any", where=session.base_url)
    try:
        body = response.read()
    finally:
        response.close()
    session.remember_cookies(response.headers, getattr(response, "cookies", None))
    match = re.search(rb'data-build="([^"]+)"', body[:65536])
    if match:
        session.data_build = match.group(1).decode("ascii", "replace")
    return session


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


def _wall(detail: str, kind: str, status: int | None) -> BlockedError:
    return BlockedError(f"chatgpt.com refused the anonymous session ({kind}): {detail.rstrip('. ')}. {WALL_ADVICE}",
                        kind=kind, status_code=status)


def request_sentinel(session: WebSession, config: list[Any], *, path: str, timeout: Timeout,
                     turnstile_token: str | None = None, turnstile_solver: TurnstileSolver | None = None,
                     pow_workers: int = 1) -> SentinelGrant:
    """POST the requirements token to the sentinel and answer what it demands.

    Not retried here: the caller retries the whole opening step, so a failed attempt never reuses a
    spent chat-requirements token.
    """
    requirements = get_requirements_token(config)
    url = join_url(session.base_url, path)
    try:
        data = session.core.request_json("POST", url, headers=session.headers(),
                                         body=json.dumps({"p": requirements}).encode(), timeout=timeout,
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
