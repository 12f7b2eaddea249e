"""HTTP handler of the authenticated chatgpt.com emulator: routing, the walls every route shares,
the cookie session, and the conversation flow (prepare, sentinel, streamed conversation).

Checks on every ``/backend-api`` route, in order: the challenge page and rate-limit faults, a
User-Agent whose ``sec-ch-ua-platform`` agrees with it, ``Authorization: Bearer <JWT>`` (401 when
missing, garbled or expired), then ``oai-device-id`` equal to the ``oai-did`` cookie. The state lives
on the emulator; this module reads requests, applies checks and writes responses.
"""

from __future__ import annotations

import base64
import json
import os
import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable

from ..chatgpt_web.checks import (Rejection, check_challenge_headers, parse_cookies, request_device,
                                  request_user_agent)
from ..chatgpt_web.handler import CHALLENGE_HTML, UNUSUAL_ACTIVITY
from ..pow_verifier import decode_token_config, verify_requirements_token
from ._state import Refusal, SentinelGrant
from .auth import session_cookie_value
from .body import parse_chat_body, parse_prepare_body
from .login_page import LOGIN_PATH, login_failed_page, page_extra, parse_login_form, session_cookie_header
from .resources import ResourceRoutes

if TYPE_CHECKING:
    from .auth import Claims

__all__ = ["OpenaiChatHandler", "ROUTES", "PREPARE_PATH", "SENTINEL_PATH", "CONVERSATION_PATH"]

PREPARE_PATH = "/backend-api/f/conversation/prepare"
SENTINEL_PATH = "/backend-api/sentinel/chat-requirements"
CONVERSATION_PATH = "/backend-api/f/conversation"
_ID = r"(?P<{}>[^/]+)"
#: (method, path pattern, counter name, handler method). The counter name is the key of ``counts``.
ROUTES: tuple[tuple[str, str, str, str], ...] = (
    ("GET", "/", "navigation", "route_navigation"),
    ("GET", "/api/auth/session", "session", "route_session"),
    ("POST", LOGIN_PATH, "login", "route_login"),
    ("POST", PREPARE_PATH, "prepare", "route_prepare"),
    ("POST", SENTINEL_PATH, "sentinel", "route_sentinel"),
    ("POST", CONVERSATION_PATH, "conversation", "route_conversation"),
    ("GET", "/backend-api/me", "me", "route_me"),
    ("GET", "/backend-api/models", "models", "route_models"),
    ("POST", "/backend-api/files", "files", "route_files"),
    ("POST", f"/backend-api/files/{_ID.format('file_id')}/uploaded", "uploaded", "route_uploaded"),
    ("GET", f"/backend-api/files/{_ID.format('file_id')}/download", "download", "route_download"),
    ("GET", f"/backend-api/files/download/{_ID.format('file_id')}", "download", "route_download"),
    ("GET", f"/backend-api/conversation/{_ID.format('conversation_id')}/attachment/{_ID.format('file_id')}"
            "/download", "attachment", "route_attachment"),
    ("GET", "/backend-api/conversations", "conversations", "route_conversations"),
    ("GET", f"/backend-api/conversation/{_ID.format('conversation_id')}", "conversation_get",
     "route_conversation_get"),
    ("PATCH", f"/backend-api/conversation/{_ID.format('conversation_id')}", "conversation_patch",
     "route_conversation_patch"),
    ("GET", "/backend-api/synthesize", "synthesize", "route_synthesize"),
)
_COMPILED = [(method, re.compile(pattern), name, func) for method, pattern, name, func in ROUTES]
_HOME_HTML = """<!DOCTYPE html><html lang="en-US" data-build="{build}" dir="ltr"><head><meta charset="utf-8">
<title>ChatGPT</title></head><body><div id="__next"><main>ChatGPT (loopback emulator)</main></div>
<script>window.__remixContext = {context};</script>{extra}</body></html>"""


class OpenaiChatHandler(ResourceRoutes):
    """Serves the site root, the cookie session and every ``/backend-api`` route."""

    _backend_number = 0  # this request's number among /backend-api requests (for unauthorized_first)

    # ---------------------------------------------------------------- routing
    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_PATCH(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def _dispatch(self) -> None:
        body = self.read_body()
        path = self.path.split("?", 1)[0]
        found = [(m, name, func, match) for m, pattern, name, func in _COMPILED
                 if (match := pattern.fullmatch(path)) is not None]
        chosen = next((item for item in found if item[0] == self.command), None)
        if chosen is None:
            status, detail = (405, "Method Not Allowed") if found else (404, "Not Found")
            self.send_json(status, {"detail": detail})
            return
        _, name, func, match = chosen
        self._backend_number = self.state.count("backend-api") if path.startswith("/backend-api/") else 0
        try:
            if self._walls(name):
                return
            handler: Callable[..., None] = getattr(self, func)
            handler(body, **match.groupdict())
        except Rejection as rejection:
            body_out = rejection.body if isinstance(rejection, Refusal) else {"detail": rejection.detail}
            headers = rejection.headers if isinstance(rejection, Refusal) else None
            self.send_json(rejection.status, body_out, headers)

    def _walls(self, route: str) -> bool:
        """Count the request and apply the faults that come before any check; True if answered."""
        faults = self.state.faults
        number = self.state.count(route)
        if faults.html_block:
            # Cloudflare's managed challenge: 403, HTML, and the cf-mitigated marker header.
            self.send_html(403, CHALLENGE_HTML, {"cf-mitigated": "challenge",
                                                 "Cache-Control": "private, max-age=0, no-store"})
            return True
        if route == faults.rate_limit_route and number <= faults.rate_limit_first:
            retry = {"Retry-After": faults.retry_after} if faults.retry_after is not None else None
            self.send_json(429, {"detail": "Too many requests in 1 hour. Try again later."}, retry)
            return True
        if route == "conversation" and faults.conversation_status is not None \
                and number <= faults.conversation_status_first:
            try:
                phrase = HTTPStatus(faults.conversation_status).phrase
            except ValueError:
                phrase = "Error"
            self.send_json(faults.conversation_status, {"detail": f"{phrase} (emulated fault)."})
            return True
        return False

    # ---------------------------------------------------------------- common checks
    def _user_agent(self) -> str:
        return request_user_agent(self.headers)

    def _device(self) -> str:
        return request_device(self.headers)

    def _authed(self) -> tuple[str, Claims, str]:
        if self._backend_number <= self.state.faults.unauthorized_first:
            raise Refusal(401, "Your authentication token has been invalidated. Please try signing in again.",
                          body={"detail": {"message": "Your authentication token has been invalidated. Please "
                                                      "try signing in again.", "type": "invalid_request_error",
                                           "param": None, "code": "token_invalidated"}})
        user_agent = self._user_agent()
        claims = self.state.authenticate(self.headers.get("Authorization"))
        return user_agent, claims, self._device()

    # ---------------------------------------------------------------- site root and session
    def route_navigation(self, body: bytes) -> None:
        if not self.headers.get("User-Agent"):
            self.send_html(403, "<!DOCTYPE html><html><head><title>Access denied</title></head>"
                                "<body>A User-Agent header is required.</body></html>")
            return
        cookies = parse_cookies(self.headers.get("Cookie"))
        device = self.state.device_for(cookies.get("oai-did"))
        session = self.state.exchange_session(session_cookie_value(cookies))
        context = {"state": {"loaderData": {"root": {"clientBootstrap": {
            "session": session or None, "authStatus": "logged_in" if session else "logged_out"}}}}}
        page = _HOME_HTML.format(build=self.state.data_build, context=json.dumps(context),
                                 extra=page_extra(bool(session))).encode()
        secure = "; Secure" if self.state.secure else ""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.send_header("Set-Cookie", f"oai-did={device}; Path=/; Max-Age=31536000; SameSite=Lax{secure}")
        self.send_header("Set-Cookie", f"__cf_bm={base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}; "
                                       f"Path=/; Max-Age=1800; HttpOnly; SameSite=Lax{secure}")
        self.end_headers()
        self.wfile.write(page)

    def route_session(self, body: bytes) -> None:
        self._user_agent()
        cookies = parse_cookies(self.headers.get("Cookie"))
        self.send_json(200, self.state.exchange_session(session_cookie_value(cookies)))

    def route_login(self, body: bytes) -> None:
        """The sign-in form's POST: the session cookie and a redirect home, or 401 and the form."""
        email, password = parse_login_form(body)
        cookie = self.state.sign_in(email, password)
        if cookie is None:
            self.send_html(401, login_failed_page())
            return
        self.send_response(303)
        self.send_header("Location", "/")
        self.send_header("Content-Length", "0")
        self.send_header("Set-Cookie", session_cookie_header(cookie))
        self.end_headers()

    # ---------------------------------------------------------------- the conversation flow
    def route_prepare(self, body: bytes) -> None:
        _, claims, device = self._authed()
        request = parse_prepare_body(body)
        self.send_json(200, {"status": "ok", "conduit_token": self.state.prepare(claims, device, request)})

    def route_sentinel(self, body: bytes) -> None:
        user_agent, claims, device = self._authed()
        try:
            data: Any = json.loads(body.decode("utf-8"))
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise Rejection(400, 'Request body must be a JSON object {"p": <requirements token>}.')
        requirements = data.get("p")
        config = decode_token_config(requirements) if isinstance(requirements, str) else None
        if not isinstance(requirements, str) or not verify_requirements_token(requirements) or config is None:
            raise Rejection(403, "Invalid requirements token in body.p: expected gAAAAAC + base64 of an "
                                 "18-element config array whose element 4 is the User-Agent.")
        if config[4] != user_agent:
            raise Rejection(403, "Inconsistent browser fingerprint: the requirements token's user agent "
                                 f"{config[4]!r} is not the request's User-Agent.")
        if self.state.faults.unusual_activity:
            raise Rejection(403, UNUSUAL_ACTIVITY)
        grant = self.state.issue_sentinel(claims, device, user_agent)
        self.send_json(200, _sentinel_answer(grant, self.state.token_ttl))

    def route_conversation(self, body: bytes) -> None:
        user_agent, claims, device = self._authed()
        content_type = self.headers.get("Content-Type") or ""
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise Rejection(403, f"Content-Type must be application/json, got {content_type!r}.")
        accept = self.headers.get("Accept") or ""
        if "text/event-stream" not in accept.lower():
            raise Rejection(403, f"Accept must include text/event-stream, got {accept!r}.")
        conduit = self.state.take_conduit(self.headers.get("x-conduit-token"), claims, device)
        grant = self.state.take_sentinel(self.headers.get("openai-sentinel-chat-requirements-token"),
                                         claims, device, user_agent)
        self._check_challenges(grant, user_agent)
        request = parse_chat_body(body)
        if conduit.conversation_id != request.conversation_id:
            raise Rejection(403, f"x-conduit-token was prepared for conversation {conduit.conversation_id}, "
                                 f"not {request.conversation_id}: prepare the same conversation you send.")
        faults = self.state.faults
        v1 = faults.stream_format == "v1" or (faults.stream_format == "auto" and request.wants_v1)
        self._stream(self.state.accept_turn(claims, request, v1=v1))

    def _check_challenges(self, grant: SentinelGrant, user_agent: str) -> None:
        """Verify the proof of work against the grant's own seed, then turnstile and arkose."""
        check_challenge_headers(self.headers, grant, user_agent, turnstile_answer=self.state.faults.turnstile_answer,
                                arkose_answer=self.state.arkose_answer)

    def _stream(self, frames: list[bytes]) -> None:
        faults = self.state.faults
        self.write_frames(frames, drop_after=faults.drop_after, stall_after=faults.stall_after,
                          stall_seconds=faults.stall_seconds)


def _sentinel_answer(grant: SentinelGrant, ttl: float) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "persona": "chatgpt-paid", "token": grant.token, "expire_after": int(ttl),
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
