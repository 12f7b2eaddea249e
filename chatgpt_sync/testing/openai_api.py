"""A strict loopback emulator of the OpenAI Chat Completions API.

Good enough that the official ``openai`` package runs against it unchanged::

    with OpenAIEmulator(api_key="sk-test") as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test")
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

Routes (under ``/v1``): ``GET /models``, ``GET /models/<id>``, ``POST /chat/completions``,
``POST /images/generations``; plus ``GET /files/<name>`` serving the generated PNG. Requests are
validated like api.openai.com does (400/401/404 with OpenAI's error JSON). Replies are
deterministic ("Echo: " + the last user text unless ``reply`` is given), with magic words in the
user text: ``REFUSE`` gives a refusal, ``INBAND_ERROR`` an error object in the middle of a stream.
:class:`Faults` switches on the failure modes a client must survive.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

from ._openai_replies import (INBAND_ERROR, PNG_BYTES, Plan, build_plan, completion_json, delta_event,
                              images_json, stream_events, stream_head)
from ._openai_validate import ApiError, unparseable, validate_chat, validate_images
from ._server import EmulatorHandler, EmulatorServer

__all__ = ["Faults", "OpenAIEmulator", "LoggedRequest", "DEFAULT_MODELS"]

DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "deepseek-reasoner", "dall-e-3")

_CHALLENGE_HTML = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"></head>
<body><div id="challenge-body-text">Checking if the site connection is secure</div>
<script>window._cf_chl_opt={cType:'managed'};</script></body></html>
"""
_SERVER_ERRORS = {
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The engine is currently overloaded, please try again later.",
    504: "Gateway timeout.",
}


@dataclass
class Faults:
    """Failure switches, all off by default; mutate them freely between requests.

    Stream positions count SSE events written (keep-alive extras included). The "first K" switches
    count the requests they have failed, so a client's retries use them up; assigning one of them
    again re-arms it (``faults.rate_limit_first = 2`` means: the next two requests).
    """

    stall_after: int | None = None
    stall_seconds: float = 5.0
    drop_after: int | None = None
    rate_limit_first: int = 0
    retry_after: str | None = None
    retry_after_ms: str | None = None
    error_status: int | None = None
    error_first: int = 0
    html_challenge: bool = False
    html_status: int = 403
    malformed_lines: bool = False
    invalid_utf8: bool = False
    no_done: bool = False
    keepalive_comments: bool = False
    reject_stream_options: bool = False
    no_models_endpoint: bool = False
    chunk_split: int | None = None
    rate_limited: int = field(default=0, init=False, repr=False, compare=False)
    errored: int = field(default=0, init=False, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "rate_limit_first":
            object.__setattr__(self, "rate_limited", 0)
        elif name in ("error_first", "error_status"):
            object.__setattr__(self, "errored", 0)
        object.__setattr__(self, name, value)


@dataclass(frozen=True)
class LoggedRequest:
    """One request in :attr:`OpenAIEmulator.request_log`: when it arrived and how it was answered."""

    arrived: float  #: ``time.monotonic()`` when its headers had been read
    method: str
    path: str
    status: int  #: the status sent, or 0 when the connection ended before any
    body: bytes = field(repr=False)

    def json(self) -> Any:
        return json.loads(self.body)


class _OpenAIHandler(EmulatorHandler):
    """Routes one request; every answer carries an ``x-request-id`` header."""

    request_id = ""
    status = 0
    #: (arrived, method, path) of the request being answered, until it is in the request log.
    _pending: tuple[float, str, str] | None = None
    _raw = b""

    @property
    def api(self) -> OpenAIEmulator:
        return cast(OpenAIEmulator, self.server.emulator)

    def setup(self) -> None:
        super().setup()
        # One small write per SSE event: without NODELAY, Nagle plus delayed ACKs adds 40 ms gaps.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    # Other verbs get OpenAI's JSON 404 rather than the stdlib's HTML 501.
    do_PUT = do_PATCH = do_DELETE = do_POST

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"x-request-id": self.request_id, **(extra or {})}

    def send_response(self, code: int, message: str | None = None) -> None:
        self.status = code
        if self._pending is not None:
            # Logged before the answer goes out, so a client that has its answer finds it in the log.
            self.api.log_request(LoggedRequest(*self._pending, status=code, body=self._raw))
            self._pending = None
        super().send_response(code, message)

    def _dispatch(self) -> None:
        self.request_id = "req_" + uuid.uuid4().hex
        arrived = time.monotonic()
        self.status = 0
        # Always drain the body first: an error answer must leave the connection reusable.
        raw = self._raw = self.read_body()
        path = urlsplit(self.path).path
        self._pending = (arrived, self.command, path)
        try:
            self._route(path, raw)
        finally:
            if self._pending is not None:  # the connection ended before any answer
                self.api.log_request(LoggedRequest(*self._pending, status=0, body=raw))
                self._pending = None

    def _route(self, path: str, raw: bytes) -> None:
        route = (self.command, path)
        try:
            if route == ("POST", "/v1/chat/completions"):
                self._chat(raw)
            elif route == ("POST", "/v1/images/generations"):
                self._images(raw)
            elif self.command == "GET" and (path == "/v1/models" or path.startswith("/v1/models/")):
                self._models(path)
            elif self.command == "GET" and path.startswith("/files/"):
                self._file(path)
            else:
                raise _unknown_url(self.command, path)
        except ApiError as err:
            extra = {}
            if err.status == 429:
                extra = self._retry_headers()
            self.send_json(err.status, err.payload(), self._headers(extra))

    # ------------------------------------------------------------------ gate: faults and auth
    def _gate(self, endpoint: str) -> bool:
        """Count the request and apply challenge, auth and "first K" faults; False if answered."""
        api = self.api
        faults = api.faults
        api.count(endpoint)
        if faults.html_challenge:
            # Cloudflare answers before the origin sees the request: no JSON, no auth check.
            self.send_html(faults.html_status, _CHALLENGE_HTML,
                           self._headers({"cf-mitigated": "challenge", "cf-ray": "8f00emulator-LHR"}))
            return False
        self._check_auth(api.api_key)
        fault = api.take_fault()
        if fault == "rate_limit":
            raise ApiError(429, "Rate limit reached for requests. Please try again later.", type_="requests",
                           code="rate_limit_exceeded")
        if fault == "error":
            status = faults.error_status or 500
            raise ApiError(status, _SERVER_ERRORS.get(status, "The server had an error processing your request."),
                           type_="server_error")
        return True

    def _retry_headers(self) -> dict[str, str]:
        faults = self.api.faults
        headers = {"x-ratelimit-remaining-requests": "0"}
        if faults.retry_after is not None:
            headers["retry-after"] = faults.retry_after
        if faults.retry_after_ms is not None:
            headers["retry-after-ms"] = faults.retry_after_ms
        return headers

    def _check_auth(self, api_key: str | None) -> None:
        if api_key is None:
            return
        header = self.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if not header or scheme.lower() != "bearer" or not given.strip():
            raise ApiError(401, "You didn't provide an API key. You need to provide your API key in an "
                           "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as "
                           "the password field (with blank username) if you're accessing the API from your "
                           "browser and are prompted for a username and password. You can obtain an API key "
                           "from https://platform.openai.com/account/api-keys.")
        given = given.strip()
        if given != api_key:
            raise ApiError(401, f"Incorrect API key provided: {_mask(given)}. You can find your API key at "
                           "https://platform.openai.com/account/api-keys.", code="invalid_api_key")

    # ------------------------------------------------------------------ endpoints
    def _models(self, path: str) -> None:
        api = self.api
        if api.faults.no_models_endpoint:
            api.count("models")
            raise _unknown_url(self.command, path)
        if not self._gate("models"):
            return
        entries = [{"id": m, "object": "model", "created": api.created, "owned_by": "emulator"} for m in api.models]
        if path == "/v1/models":
            self.send_json(200, {"object": "list", "data": entries}, self._headers())
            return
        wanted = path[len("/v1/models/"):]
        for entry in entries:
            if entry["id"] == wanted:
                self.send_json(200, entry, self._headers())
                return
        raise ApiError(404, f"The model '{wanted}' does not exist", param="model", code="model_not_found")

    def _file(self, path: str) -> None:
        name = path[len("/files/"):]
        if not (name.startswith("img-") and name.endswith(".png") and name[4:-4].isdigit()):
            raise _unknown_url(self.command, path)
        self.send_bytes(200, PNG_BYTES, "image/png", self._headers())

    def _images(self, raw: bytes) -> None:
        if not self._gate("images"):
            return
        body = _parse(raw)
        validate_images(body, self.api.models)
        self.send_json(200, images_json(body, self.api.origin, int(time.time())), self._headers())

    def _chat(self, raw: bytes) -> None:
        if not self._gate("chat"):
            return
        api = self.api
        body = _parse(raw)
        if api.faults.reject_stream_options and isinstance(body, dict) and "stream_options" in body:
            # Some OpenAI-compatible servers predate stream_options and reject it as unknown.
            raise ApiError(400, "Unrecognized request argument supplied: stream_options", param="stream_options")
        validate_chat(body, api.models)
        plan = build_plan(body, api.reply, api.stream_tokens)
        completion_id = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())
        if body.get("stream"):
            self._stream(plan, completion_id, created)
        elif plan.inband_error:
            raise ApiError(500, INBAND_ERROR["message"], type_="server_error")
        else:
            self.send_json(200, completion_json(plan, completion_id, created), self._headers())

    # ------------------------------------------------------------------ streaming
    def _stream(self, plan: Plan, completion_id: str, created: int) -> None:
        faults = self.api.faults
        # Read the switches once, so a test mutating them mid-stream can't tear this stream.
        stall_after, stall_seconds, drop_after = faults.stall_after, faults.stall_seconds, faults.drop_after
        split = faults.chunk_split
        events = _apply_stream_faults(stream_events(plan, completion_id, created), faults,
                                      stream_head(plan, completion_id, created))
        self.start_chunked(headers=self._headers())
        try:
            for position in range(len(events) + 1):
                if position == stall_after:
                    self.stall(stall_seconds)
                if position == drop_after:
                    self.drop_connection()
                    return
                if position < len(events):
                    self._write_event(events[position], split)
            self.end_chunked()
        except OSError:
            self.close_connection = True  # the client hung up (often on purpose, after a stall)

    def _write_event(self, event: bytes, split: int | None) -> None:
        if not split:
            self.write_chunk(event)
            return
        for start in range(0, len(event), split):
            self.write_chunk(event[start:start + split])


def _apply_stream_faults(tagged: list[tuple[str, bytes]], faults: Faults, head: bytes) -> list[bytes]:
    """Turn tagged events into the byte events to write, with the stream fault switches applied."""
    if not (faults.keepalive_comments or faults.malformed_lines or faults.invalid_utf8 or faults.no_done):
        return [event for _, event in tagged]
    events: list[bytes] = [b": keep-alive\n\n"] if faults.keepalive_comments else []
    for kind, event in tagged:
        if kind == "done" and faults.no_done:
            continue
        events.append(event)
        if kind == "delta" and faults.keepalive_comments:
            events += [b": keep-alive\n\n", delta_event(head, 0, {})]
    if faults.invalid_utf8:
        # A delta whose JSON string holds a raw 0xFF byte: never valid UTF-8 anywhere.
        events.insert(1, head + b'"choices":[{"index":0,"delta":{"content":"\xff"},"finish_reason":null}]}\n\n')
    if faults.malformed_lines:
        events[1:1] = [
            b"x-emulator-note: an SSE field no client knows\n\n",
            head + b'"x_emulator_unknown":true,"choices":[{"index":0,"delta":{},"finish_reason":null}]}\n\n',
            b'data: {"choices": [\n\n',
        ]
    return events


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise unparseable() from None


def _unknown_url(method: str, path: str) -> ApiError:
    return ApiError(404, f"Invalid URL ({method} {path})", code="unknown_url")


def _mask(key: str) -> str:
    # OpenAI shows a few characters of a wrong key; never enough of it to be the key.
    if len(key) <= 8:
        return "*" * len(key)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


class OpenAIEmulator(EmulatorServer):
    """The OpenAI Chat Completions API on 127.0.0.1; ``base_url`` ends in ``/v1``."""

    handler_class = _OpenAIHandler
    max_logged = 20_000

    def __init__(self, *, api_key: str | None = None, models: list[str] | None = None, reply: str | None = None,
                 stream_tokens: int | None = None, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(ssl_context=ssl_context)
        self.api_key = api_key
        self.models = list(models) if models is not None else list(DEFAULT_MODELS)
        self.reply = reply
        self.stream_tokens = stream_tokens
        self.faults = Faults()
        self.created = int(time.time())
        self.chat_requests = 0
        self.models_requests = 0
        self.images_requests = 0
        #: Every request with its arrival time and status, oldest first (bounded), for tests that
        #: check when requests came (none during a Retry-After wait) or count them per prompt.
        self.request_log: deque[LoggedRequest] = deque(maxlen=self.max_logged)
        self._fault_lock = threading.Lock()

    def start(self) -> OpenAIEmulator:
        super().start()
        return self

    def __enter__(self) -> OpenAIEmulator:
        return self.start()

    @property
    def base_url(self) -> str:
        return self.origin + "/v1"

    def count(self, endpoint: str) -> None:
        """Count one request to ``chat``, ``models`` or ``images`` (faulted ones included)."""
        with self._fault_lock:
            name = f"{endpoint}_requests"
            setattr(self, name, getattr(self, name) + 1)

    def log_request(self, entry: LoggedRequest) -> None:
        with self._fault_lock:
            self.request_log.append(entry)

    def take_fault(self) -> str | None:
        """Use up one "first K" fault if any is armed: ``rate_limit``, ``error`` or None."""
        with self._fault_lock:
            faults = self.faults
            if faults.rate_limited < faults.rate_limit_first:
                faults.rate_limited += 1
                return "rate_limit"
            # error_first alone fails with 500 (error_status picks another status).
            if faults.errored < faults.error_first:
                faults.errored += 1
                return "error"
            return None

    def reset_counters(self) -> None:
        super().reset_counters()
        with self._fault_lock:
            self.chat_requests = self.models_requests = self.images_requests = 0
            self.request_log.clear()
