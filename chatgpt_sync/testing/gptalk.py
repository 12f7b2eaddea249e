"""A strict loopback emulator of GPTalk (gptalk.net), with fault switches.

Three endpoints, checked the way the service checks them (protocols.md §1.4):

* ``POST /api/chatgpt/user/login``: JSON ``{"fingerprint": <32 hex>, "platform": "fingerprint"}``
  with ``x-auth-appid: 2229`` and a numeric ``x-auth-timestamp``; issues a login token valid for
  ``token_ttl`` seconds and ``max_uses`` chat jobs.
* ``POST /api/chatgpt/chatapi/text``: ``authorization: Bearer <login token>`` and every field the web
  app sends; each accepted request uses the token once (the 6th use is refused) and issues a
  single-use stream token.
* ``GET /api/chatgpt/chatapi/stream?token=<stream token>``: SSE events ``{"content": <the whole
  answer so far>}`` then ``[DONE]``.

Answers use the envelope ``{"code": 0, "message": "success", "data": {...}}``. Refusals (the live
service's exact codes were never captured, so these are modelled on the envelope its clients read):
HTTP 400/405/415 for malformed requests, HTTP 401 with code 401 for a missing, unknown, expired or
used-up login token, and HTTP 200 with a nonzero code for business errors (a refused login, a busy
model, a bad stream token on ``/stream``). The reply is ``"Echo: " + prompt`` unless ``reply`` is given.
Counters (``logins``, ``token_uses``, ``text_requests``, ``stream_requests``, ``rejections``,
``prompts``) are public so tests can assert on what the server saw.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from ._server import EmulatorHandler, EmulatorServer

__all__ = ["GPTalkEmulator", "GPTalkFaults"]

LOGIN_PATH = "/api/chatgpt/user/login"
TEXT_PATH = "/api/chatgpt/chatapi/text"
STREAM_PATH = "/api/chatgpt/chatapi/stream"
STREAM_TOKEN_TTL = 60.0
_HEX32 = re.compile(r"[0-9a-f]{32}")
# Every field the web app sends with a chat job, and the JSON type it must have.
TEXT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "content": str, "accept": str, "from": int, "model": str, "is_mobile": int, "user_agent": str,
    "is_open_ctx": int, "prompt": str, "roid": int, "temperature": (int, float), "ctx_msg_count": int,
    "created_at": int,
}


@dataclass
class GPTalkFaults:
    """Fault switches, all off by default; mutate ``server.faults`` between requests.

    Stream positions count content events written (``[DONE]`` excluded).
    """

    login_status: int | None = None      # login answers this HTTP status
    login_refused: bool = False          # login answers 200 with an error body, no token
    refuse_tokens: bool = False          # every login token is refused as expired at /text
    text_error_body: bool = False        # /text answers 200 with an error body, no stream token
    text_status: int | None = None       # /text answers this HTTP status (after the token check)
    reject_stream_token: bool = False    # /stream refuses even a good stream token
    drop_after: int | None = None        # hang up after this many events
    stall_after: int | None = None       # go silent for stall_seconds after this many events
    stall_seconds: float = 5.0
    rewrite_at: int | None = None        # from this event on, earlier text is rewritten
    stale_at: int | None = None          # this event repeats an older, shorter snapshot
    no_done: bool = False                # the stream ends without [DONE]
    empty_stream: bool = False           # only [DONE], no content
    no_blank_lines: bool = False         # "data:" lines without the blank line between events
    inband_error_at: int | None = None   # an error object instead of this event


class _Refusal(Exception):
    def __init__(self, status: int, code: int, message: str, reason: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.reason = status, code, message, reason


@dataclass
class _Login:
    index: int
    deadline: float
    uses: int = 0


class _GPTalkHandler(EmulatorHandler):
    @property
    def api(self) -> GPTalkEmulator:
        return cast(GPTalkEmulator, self.server.emulator)

    def setup(self) -> None:
        super().setup()
        # One small write per event: without NODELAY, Nagle plus delayed ACKs adds 40 ms gaps.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _dispatch(self) -> None:
        raw = self.read_body()  # always drain the body: an error answer must leave the connection usable
        url = urlsplit(self.path)
        routes = {LOGIN_PATH: ("POST", self._login), TEXT_PATH: ("POST", self._text),
                  STREAM_PATH: ("GET", self._stream)}
        try:
            if url.path not in routes:
                raise _Refusal(404, 404, f"no route {url.path}", "not_found")
            method, handler = routes[url.path]
            if self.command != method:
                raise _Refusal(405, 405, f"method {self.command} not allowed", "bad_method")
            handler(raw, parse_qs(url.query))
        except _Refusal as refusal:
            self.api.rejected(refusal.reason)
            self.send_json(refusal.status, {"code": refusal.code, "message": refusal.message, "data": None})

    # ------------------------------------------------------------------ checks
    def _json_body(self, raw: bytes) -> dict[str, Any]:
        if "application/json" not in self.headers.get("Content-Type", ""):
            raise _Refusal(415, 415, "content-type must be application/json", "content_type")
        try:
            body = json.loads(raw)
        except ValueError:
            raise _Refusal(400, 400, "request body is not valid JSON", "bad_json") from None
        if not isinstance(body, dict):
            raise _Refusal(400, 400, "request body must be a JSON object", "bad_json")
        return body

    def _check_app_headers(self) -> None:
        if self.headers.get("x-auth-appid") != "2229":
            raise _Refusal(400, 400, "invalid x-auth-appid", "app_headers")
        if not (self.headers.get("x-auth-timestamp") or "").isdigit():
            raise _Refusal(400, 400, "invalid x-auth-timestamp", "app_headers")

    # ------------------------------------------------------------------ endpoints
    def _login(self, raw: bytes, query: dict[str, list[str]]) -> None:
        api = self.api
        api.count("login_requests")
        self._check_app_headers()
        body = self._json_body(raw)
        if body.get("platform") != "fingerprint":
            raise _Refusal(400, 400, "platform must be fingerprint", "missing_field")
        fingerprint = body.get("fingerprint")
        if not isinstance(fingerprint, str) or not _HEX32.fullmatch(fingerprint):
            raise _Refusal(400, 400, "fingerprint must be 32 hex characters", "missing_field")
        if api.login_delay:
            time.sleep(api.login_delay)  # widens the window in which a careless client logs in twice
        faults = api.faults
        if faults.login_status is not None:
            raise _Refusal(faults.login_status, faults.login_status, "login service unavailable", "login_fault")
        if faults.login_refused:
            self.api.rejected("login_refused")
            self.send_json(200, {"code": 10001, "message": "fingerprint login refused", "data": None})
            return
        token, deadline = api.issue_login(fingerprint)
        self.send_json(200, {"code": 0, "message": "success",
                             "data": {"token": token, "expires_at": int(deadline), "platform": "fingerprint"}})

    def _text(self, raw: bytes, query: dict[str, list[str]]) -> None:
        api = self.api
        api.count("text_requests")
        self._check_app_headers()
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _Refusal(401, 401, "missing authorization token", "no_token")
        api.use_login(token)  # refuses unknown, expired and used-up tokens; counts the use
        body = self._json_body(raw)
        for name, kind in TEXT_FIELDS.items():
            value = body.get(name)
            if name not in body or isinstance(value, bool) or not isinstance(value, kind):
                raise _Refusal(400, 400, f"missing or invalid field: {name}", "missing_field")
        if body["accept"] != "stream" or not body["model"] or not body["content"]:
            raise _Refusal(400, 400, "accept must be stream; model and content must not be empty",
                           "missing_field")
        faults = api.faults
        if faults.text_status is not None:
            raise _Refusal(faults.text_status, faults.text_status, "chat service unavailable", "text_fault")
        if faults.text_error_body:
            api.rejected("text_error_body")
            self.send_json(200, {"code": 10002, "message": "the model is busy, please try again later",
                                 "data": None})
            return
        stream_token = api.issue_stream(body["content"])
        self.send_json(200, {"code": 0, "message": "success", "data": {"token": stream_token}})

    def _stream(self, raw: bytes, query: dict[str, list[str]]) -> None:
        api = self.api
        api.count("stream_requests")
        tokens = query.get("token") or [""]
        prompt = api.take_stream(tokens[0])
        if prompt is None or api.faults.reject_stream_token:
            api.rejected("bad_stream_token")
            self.send_json(200, {"code": 10003, "message": "stream token is invalid or expired", "data": None})
            return
        self._write_stream(api.reply if api.reply is not None else f"Echo: {prompt}")

    def _write_stream(self, reply: str) -> None:
        faults = self.api.faults
        events = [] if faults.empty_stream else _snapshots(reply, faults)
        sep = b"\n" if faults.no_blank_lines else b"\n\n"
        self.start_chunked()
        try:
            for position, event in enumerate(events):
                if position == faults.stall_after:
                    self.stall(faults.stall_seconds)
                if position == faults.drop_after:
                    self.drop_connection()
                    return
                self.write_chunk(b"data: " + json.dumps(event, ensure_ascii=False).encode() + sep)
            if faults.drop_after is not None and faults.drop_after >= len(events):
                self.drop_connection()
                return
            if not faults.no_done:
                self.write_chunk(b"data: [DONE]" + sep)
            self.end_chunked()
        except OSError:
            self.close_connection = True  # the client hung up


def _snapshots(reply: str, faults: GPTalkFaults) -> list[dict[str, Any]]:
    """The cumulative events for ``reply``: one more word each, with the switched-on oddities."""
    words = re.findall(r"\S+\s*|\s+", reply) or [reply]
    events: list[dict[str, Any]] = []
    text = ""
    for i, word in enumerate(words):
        text += word
        if i == faults.rewrite_at:
            text = "(revised) " + text  # not an extension of what was sent
        if i == faults.stale_at and events:
            events.append(dict(events[0]))
        events.append({"content": text})
    if faults.inband_error_at is not None and faults.inband_error_at < len(events):
        events[faults.inband_error_at] = {"code": 500, "message": "upstream model error"}
    return events


class GPTalkEmulator(EmulatorServer):
    """GPTalk on 127.0.0.1. ``server.base_url`` replaces ``https://gptalk.net``."""

    handler_class = _GPTalkHandler

    def __init__(self, *, reply: str | None = None, token_ttl: float = 3600.0, max_uses: int = 5,
                 login_delay: float = 0.0) -> None:
        super().__init__()
        self._options = (reply, token_ttl, max_uses, login_delay)
        self._state = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Back to a freshly started server: options as constructed, faults off, no tokens, zero
        counters (so one running emulator can serve many tests)."""
        with self._state:
            self.reply, self.token_ttl, self.max_uses, self.login_delay = self._options
            self.faults = GPTalkFaults()
            self.logins = 0
            self.login_requests = 0
            self.text_requests = 0
            self.stream_requests = 0
            #: Uses of each login token, in the order they were issued.
            self.token_uses: list[int] = []
            #: Every login token issued (test fakes; tests check they never leak).
            self.issued_tokens: list[str] = []
            self.issued_stream_tokens: list[str] = []
            self.fingerprints: list[str] = []
            self.prompts: list[str] = []
            #: Why requests were refused, in order ("token_expired", "token_used_up", ...).
            self.rejections: list[str] = []
            self._logins: dict[str, _Login] = {}
            self._streams: dict[str, tuple[str, float]] = {}
        super().reset_counters()  # the recorded requests and connection counts

    def start(self) -> GPTalkEmulator:
        super().start()
        return self

    def __enter__(self) -> GPTalkEmulator:
        return self.start()

    # ------------------------------------------------------------------ server-side state
    def count(self, name: str) -> None:
        with self._state:
            setattr(self, name, getattr(self, name) + 1)

    def rejected(self, reason: str) -> None:
        with self._state:
            self.rejections.append(reason)

    def issue_login(self, fingerprint: str) -> tuple[str, float]:
        token = secrets.token_urlsafe(24)
        deadline = time.time() + self.token_ttl
        with self._state:
            self._logins[token] = _Login(len(self.token_uses), deadline)
            self.token_uses.append(0)
            self.issued_tokens.append(token)
            self.fingerprints.append(fingerprint)
            self.logins += 1
        return token, deadline

    def use_login(self, token: str) -> None:
        """Count one use of a login token, or refuse it as the service would."""
        with self._state:
            login = self._logins.get(token)
            if login is None:
                raise _Refusal(401, 401, "invalid token", "token_unknown")
            if self.faults.refuse_tokens or login.deadline < time.time():
                raise _Refusal(401, 401, "token expired", "token_expired")
            if login.uses >= self.max_uses:
                raise _Refusal(401, 401, "token usage limit reached", "token_used_up")
            login.uses += 1
            self.token_uses[login.index] = login.uses

    def issue_stream(self, prompt: str) -> str:
        token = secrets.token_hex(16)
        with self._state:
            self._streams[token] = (prompt, time.time() + STREAM_TOKEN_TTL)
            self.issued_stream_tokens.append(token)
            self.prompts.append(prompt)
        return token

    def take_stream(self, token: str) -> str | None:
        """The prompt of a valid stream token, which is then used up; None if it is not valid."""
        with self._state:
            entry = self._streams.pop(token, None)
        if entry is None or entry[1] < time.time():
            return None
        return entry[0]

    def expire_tokens_now(self) -> None:
        """Make every login token issued so far expired, server side (the client cannot know)."""
        with self._state:
            for login in self._logins.values():
                login.deadline = 0.0

    def reset_counters(self) -> None:
        """Zero the counters, keeping the tokens issued so far valid."""
        super().reset_counters()
        with self._state:
            self.logins = self.login_requests = self.text_requests = self.stream_requests = 0
            self.rejections.clear()
            self.prompts.clear()
