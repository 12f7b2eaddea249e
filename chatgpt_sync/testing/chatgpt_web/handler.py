"""HTTP handler of the ChatGPT web emulator: routing, the three endpoints, walls and stream faults.

The state (devices, issued tokens, conversations) lives on the emulator; this module only reads
requests, applies the checks, and writes responses.
"""

from __future__ import annotations

import base64
import json
import os
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import urlsplit

from .checks import (Rejection, check_challenge_headers, parse_conversation_body, parse_cookies, request_device,
                     request_user_agent)
from .stream import build_frames
from .._server import EmulatorHandler
from ..pow_verifier import decode_token_config, verify_requirements_token

from ._state import IssuedToken, WebState

__all__ = ["ChatGptWebHandler", "CHALLENGE_HTML", "SENTINEL_PATH", "CONVERSATION_PATH", "UNUSUAL_ACTIVITY"]

SENTINEL_PATH = "/backend-anon/sentinel/chat-requirements"
CONVERSATION_PATH = "/backend-anon/conversation"
UNUSUAL_ACTIVITY = "Unusual activity has been detected from your device. Try again later."
CHALLENGE_HTML = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta name="robots" content="noindex,nofollow">
</head><body><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">chatgpt.com</h1>
<h2 id="challenge-running" class="h2">Verifying you are human. This may take a few seconds.</h2>
<div id="challenge-body-text" class="core-msg spacer">chatgpt.com needs to review the security of your
connection before proceeding.</div></div></div>
<script>(function(){window._cf_chl_opt={cvId: '3',cZone: "chatgpt.com",cType: 'managed'};}());</script>
</body></html>"""
_HOME_HTML = """<!DOCTYPE html><html lang="en-US" data-build="{build}" dir="ltr"><head><meta charset="utf-8">
<title>ChatGPT</title><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><div id="__next"><main>ChatGPT (loopback emulator)</main></div></body></html>"""


class ChatGptWebHandler(EmulatorHandler):
    """Serves ``GET /``, the sentinel and the conversation endpoint."""

    @property
    def web(self) -> WebState:
        return cast(WebState, self.server.emulator)

    # ---------------------------------------------------------------- routing
    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.read_body()
        if urlsplit(self.path).path != "/":
            self.send_json(404, {"detail": "Not Found"})
            return
        self._navigate()

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        body = self.read_body()
        path = urlsplit(self.path).path
        try:
            if path == SENTINEL_PATH:
                self._sentinel(body)
            elif path == CONVERSATION_PATH:
                self._conversation(body)
            else:
                self.send_json(404, {"detail": "Not Found"})
        except Rejection as rejection:
            self.send_json(rejection.status, {"detail": rejection.detail})

    # ---------------------------------------------------------------- walls
    def _challenge(self) -> None:
        # Cloudflare's managed challenge: 403, HTML, and the cf-mitigated marker header.
        self.send_html(403, CHALLENGE_HTML, {"cf-mitigated": "challenge",
                                             "Cache-Control": "private, max-age=0, no-store"})

    def _rate_limited(self, detail: str) -> None:
        retry_after = self.web.faults.retry_after
        self.send_json(429, {"detail": detail}, {"Retry-After": retry_after} if retry_after is not None else None)

    # ---------------------------------------------------------------- common checks
    def _user_agent(self) -> str:
        return request_user_agent(self.headers)

    def _device(self) -> str:
        cookie = request_device(self.headers)
        if not self.web.is_known_device(cookie):
            raise Rejection(403, f"Unknown device {cookie}: the oai-did cookie was not issued by this server.")
        return cookie

    # ---------------------------------------------------------------- GET /
    def _navigate(self) -> None:
        self.web.count("navigation")
        if self.web.faults.html_block:
            self._challenge()
            return
        if not self.headers.get("User-Agent"):
            self.send_html(403, "<!DOCTYPE html><html><head><title>Access denied</title></head>"
                                "<body>A User-Agent header is required.</body></html>")
            return
        cookie = parse_cookies(self.headers.get("Cookie")).get("oai-did")
        device = self.web.device_for(cookie)
        attrs = "; Path=/; Max-Age=31536000; SameSite=Lax" + ("; Secure" if self.web.secure else "")
        cf_bm = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
        body = _HOME_HTML.format(build=self.web.data_build).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        # Two Set-Cookie headers, so send_html (one value per name) can't be used here.
        self.send_header("Set-Cookie", f"oai-did={device}{attrs}")
        self.send_header("Set-Cookie", f"__cf_bm={cf_bm}; Path=/; Max-Age=1800; HttpOnly; SameSite=Lax"
                         + ("; Secure" if self.web.secure else ""))
        self.end_headers()
        self.wfile.write(body)

    # ---------------------------------------------------------------- sentinel
    def _sentinel(self, body: bytes) -> None:
        faults = self.web.faults
        number = self.web.count("sentinel")
        if faults.html_block:
            self._challenge()
            return
        if number <= faults.rate_limit_first:
            self._rate_limited("Too many requests. Please slow down and try again later.")
            return
        user_agent = self._user_agent()
        device = self._device()
        requirements = _requirements_token(body)
        config = decode_token_config(requirements)
        if not verify_requirements_token(requirements) or config is None:
            raise Rejection(403, "Invalid requirements token in body.p: expected gAAAAAC + base64 of an "
                                 "18-element config array whose element 4 is the User-Agent.")
        if config[4] != user_agent:
            raise Rejection(403, "Inconsistent browser fingerprint: the requirements token's user agent "
                                 f"{config[4]!r} is not the request's User-Agent.")
        if faults.unusual_activity:
            raise Rejection(403, UNUSUAL_ACTIVITY)
        if faults.force_login:
            self.send_json(200, {"persona": "chatgpt-noauth", "force_login": True, "expire_after": 540,
                                 "turnstile": {"required": False}, "proofofwork": {"required": False}})
            return
        grant = self.web.issue_token(device, user_agent)
        self.send_json(200, _sentinel_answer(grant, self.web.token_ttl))

    # ---------------------------------------------------------------- conversation
    def _conversation(self, body: bytes) -> None:
        faults = self.web.faults
        if faults.html_block:
            self._challenge()
            return
        number = self.web.count("conversation")
        # A forced status comes before any check, like a gateway error: nothing is consumed or stored.
        if faults.conversation_status is not None and number <= faults.conversation_status_first:
            self._forced_status(faults.conversation_status)
            return
        user_agent = self._user_agent()
        device = self._device()
        content_type = self.headers.get("Content-Type") or ""
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise Rejection(403, f"Content-Type must be application/json, got {content_type!r}.")
        accept = self.headers.get("Accept") or ""
        if "text/event-stream" not in accept.lower():
            raise Rejection(403, f"Accept must include text/event-stream, got {accept!r}.")
        grant = self.web.take_token(self.headers.get("openai-sentinel-chat-requirements-token"),
                                    device, user_agent)
        self._check_challenges(grant, user_agent)
        request = parse_conversation_body(body)
        v1 = faults.stream_format == "v1" or (faults.stream_format == "auto" and request.wants_v1)
        plan = self.web.accept(request, v1=v1)
        self._stream(build_frames(plan))

    def _check_challenges(self, grant: IssuedToken, user_agent: str) -> None:
        """Verify the proof of work against the grant's own seed, then turnstile and arkose."""
        check_challenge_headers(self.headers, grant, user_agent, turnstile_answer=self.web.faults.turnstile_answer,
                                arkose_answer=self.web.arkose_answer)

    def _forced_status(self, status: int) -> None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        if status == 429:
            self._rate_limited(f"{phrase} (emulated fault).")
        else:
            self.send_json(status, {"detail": f"{phrase} (emulated fault)."})

    def _stream(self, frames: list[bytes]) -> None:
        faults = self.web.faults
        self.write_frames(frames, drop_after=faults.drop_after, stall_after=faults.stall_after,
                          stall_seconds=faults.stall_seconds)


def _requirements_token(body: bytes) -> str:
    try:
        data: Any = json.loads(body.decode("utf-8"))
    except ValueError:
        raise Rejection(400, "Request body is not valid JSON; expected {\"p\": <requirements token>}.") from None
    if not isinstance(data, dict):
        raise Rejection(400, "Request body must be a JSON object {\"p\": <requirements token>}.")
    token = data.get("p")
    if not isinstance(token, str) or not token:
        raise Rejection(400, "body.p must be the requirements token string (gAAAAAC...), "
                             f"got {type(token).__name__}.")
    return token


def _sentinel_answer(grant: IssuedToken, ttl: float) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "persona": "chatgpt-noauth", "token": grant.token, "expire_after": int(ttl),
        "proofofwork": ({"required": True, "seed": grant.seed, "difficulty": grant.difficulty}
                        if grant.pow_required else {"required": False}),
        "turnstile": {"required": False},
        "arkose": {"required": False, "dx": None},
    }
    if grant.turnstile_required:
        # dx is an obfuscated program a browser would run; opaque bytes stand in for it here.
        answer["turnstile"] = {"required": True, "dx": base64.b64encode(os.urandom(256)).decode()}
    if grant.arkose_required:
        answer["arkose"] = {"required": True, "dx": base64.b64encode(os.urandom(64)).decode()}
    return answer
