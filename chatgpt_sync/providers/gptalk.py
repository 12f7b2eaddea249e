"""GPTalk (gptalk.net): fingerprint login, a short-lived token, a stream token, cumulative SSE.

The flow of one call (the *opening step*, retried as a whole per the retry policy):

1. ``POST /api/chatgpt/user/login`` with ``{"fingerprint": <32 hex>, "platform": "fingerprint"}``
   when the instance holds no usable token; the answer's ``data`` has ``token`` and ``expires_at``
   (unix seconds). A token serves at most :attr:`GPTalk.max_token_uses` chat jobs.
2. ``POST /api/chatgpt/chatapi/text`` with ``authorization: Bearer <token>`` and the whole
   conversation as one prompt; ``data.token`` is a single-use *stream token*. When the server
   refuses the login token (HTTP 401, or an error body with code 401) the instance logs in again
   and repeats this step once.
3. ``GET /api/chatgpt/chatapi/stream?token=<stream token>``: SSE events ``{"content": <the whole
   answer so far>}`` ending with ``[DONE]``, turned into deltas by prefix (see
   :class:`CumulativeText` for what happens when the server rewrites text it already sent).

Thread safety: the login token and its use count live on the instance, per ``base_url``, behind a
lock that is also held while logging in, so threads sharing an instance never use a token more than
five times and never log in twice for one expiry. A class call (``GPTalk.create_completion``) uses a
throwaway instance and so logs in every time; keep an instance to reuse its token.

Processes: a pickled instance (or a forked child) keeps the settings and the fingerprint but not
the login tokens, whose five uses the server counts: each process logs in for itself.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Generator, Iterable, Iterator, Mapping
from urllib.parse import quote

from .._core import HTTPCore
from .._messages import single_prompt
from .._redact import REDACTED
from .._retry import call_with_retry
from .._sse import event_batches
from .._streaming import attach_progress
from .._transport import Response
from .._urls import join_url
from ..errors import AuthenticationError, ChatGPTSyncError, InvalidRequestError, ResponseError
from ..types import Chunk, FinishReason
from .base import CallSettings, Provider, fork_lock

__all__ = ["GPTalk", "CumulativeText", "format_prompt"]

LOGIN_PATH = "/api/chatgpt/user/login"
TEXT_PATH = "/api/chatgpt/chatapi/text"
STREAM_PATH = "/api/chatgpt/chatapi/stream"
APP_ID = "2229"  # the web app's constant x-auth-appid
DEFAULT_USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/117.0.0.0 Safari/537.36")
#: A token this close to its ``expires_at`` is replaced before use: the check and the server's
#: own check are a round trip apart.
EXPIRY_MARGIN = 5.0


def format_prompt(messages: list[dict[str, Any]]) -> str:
    """The conversation as GPTalk's one prompt (the service takes no message list)."""
    return single_prompt(messages, who="GPTalk")


class CumulativeText:
    """Turns snapshots of the whole answer so far into deltas, by prefix (never by replace).

    - a snapshot that extends the text shown so far yields the extension;
    - a shorter snapshot that is a prefix of it (a stale or trimmed repeat) yields nothing;
    - anything else is a *rewrite* of text already shown: nothing is yielded and ``rewritten`` is
      set, because text handed to the caller cannot be taken back. ``latest`` is always the
      server's last snapshot, which is the answer a non-streamed call returns.
    """

    __slots__ = ("shown", "latest", "rewritten")

    def __init__(self) -> None:
        self.shown = ""
        self.latest = ""
        self.rewritten = False

    def feed(self, snapshot: str) -> str:
        self.latest = snapshot
        if self.rewritten:
            return ""
        shown = self.shown
        if len(snapshot) >= len(shown) and snapshot.startswith(shown):
            self.shown = snapshot
            return snapshot[len(shown):]
        if not shown.startswith(snapshot):
            self.rewritten = True
        return ""


@dataclass
class _Token:
    """A login token and how many chat jobs it has served. The value never shows in a repr."""

    value: str = field(repr=False)
    expires_at: float
    uses: int = 0


class _TokenGuard:
    """The instance's login tokens (one per base URL) and their use counts, shared by threads.

    The lock is held during a login as well: a thread that finds the token spent waits for the
    login in progress instead of starting a second one.
    """

    def __init__(self, max_uses: int) -> None:
        self.max_uses = max_uses
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        # A forked child must not reuse the parent's token: both would count the same five uses.
        self._pid = os.getpid()

    def lease(self, key: str, login: Callable[[], _Token]) -> _Token:
        """A token with a use left, counted as used; logs in (once, under the lock) when needed."""
        if self._pid != os.getpid():
            with fork_lock():  # once, even when several of the child's threads get here together
                if self._pid != os.getpid():
                    self._reset()
        with self._lock:
            token = self._tokens.get(key)
            if (token is None or token.uses >= self.max_uses
                    or token.expires_at - time.time() <= EXPIRY_MARGIN):
                # A token just issued is used even if our clock calls it expired: the server's
                # clock is the one that counts, and it just said the token is good.
                token = login()
                self._tokens[key] = token
            token.uses += 1  # counted before the request: an attempt that may have reached the server
            return token

    def discard(self, key: str, token: _Token) -> None:
        """Forget a refused token, unless another thread has already replaced it."""
        with self._lock:
            if self._tokens.get(key) is token:
                del self._tokens[key]

    def __getstate__(self) -> dict[str, Any]:
        return {"max_uses": self.max_uses}  # tokens and the lock stay in this process

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.max_uses = state["max_uses"]
        self._reset()


class _TokenRefused(Exception):
    """The server refused the login token (internal: triggers the one fresh login)."""

    def __init__(self, message: str, status: int, cause: BaseException | None, body: Any) -> None:
        super().__init__(message)
        self.message, self.status, self.cause, self.body = message, status, cause, body


@dataclass(frozen=True)
class _Job:
    prompt: str
    model: str
    user_agent: str


class GPTalk(Provider):
    """gptalk.net, a free GPT-3.5 front end with an automatic anonymous login.

    ``working`` is False: the service cannot be reached from here to check it, and the public
    implementation (gpt4free) marked it not working in 2024-03 and deleted it in 2025-05. The
    protocol is implemented as that implementation documents it and tested against
    :class:`chatgpt_sync.testing.gptalk.GPTalkEmulator`; the shape of the service's error bodies
    was never captured and is handled generically (HTTP status, or ``{"code", "message"}``).
    """

    label = "GPTalk"
    url = "https://gptalk.net"
    working = False
    supports_stream = True
    supports_message_history = True  # the whole history goes into the one prompt
    supports_system_message = True
    takes_api_key = False
    api_key_hint = ": it logs in by itself with a fingerprint"
    default_model = "gpt-3.5-turbo"
    models: ClassVar[list[str]] = ["gpt-3.5-turbo"]
    default_base_url = "https://gptalk.net"
    #: Chat jobs one login token serves (the service's limit).
    max_token_uses: ClassVar[int] = 5

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        # Per instance, not per process: two instances are two anonymous users.
        self._fingerprint = secrets.token_hex(16)
        self._auth = _TokenGuard(self.max_token_uses)

    # ------------------------------------------------------------------ the call
    def _start(self, model: str, messages: list[dict[str, Any]], stream: bool, call: CallSettings,
               params: dict[str, Any]) -> Generator[Chunk, None, None]:
        if call.api_key:
            raise InvalidRequestError("GPTalk logs in by itself (fingerprint login); it takes no api_key")
        user_agent = next((v for k, v in call.headers.items() if k.lower() == "user-agent"),
                          DEFAULT_USER_AGENT)
        return self._run(_Job(format_prompt(messages), model, user_agent), call, stream)

    def _run(self, job: _Job, call: CallSettings, stream: bool) -> Generator[Chunk, None, None]:
        response, stream_token = call_with_retry(lambda: self._open(job, call), max_retries=call.max_retries,
                                                 sleep=call.sleep)
        text = CumulativeText()
        head = bytearray()  # the body's first bytes, to quote when it held no usable event
        done = False
        unusable = 0
        try:
            for events in event_batches(_tap(response.iter_bytes(), head)):
                for event in events:
                    for payload in _payloads(event.data):
                        if payload == "[DONE]":
                            done = True
                            break
                        snapshot = _snapshot(payload)
                        if snapshot is None:
                            unusable += 1
                            continue
                        delta = text.feed(snapshot)
                        if delta and stream:
                            yield delta
                    if done:
                        break
                if done:
                    response.drain()  # read to the end so the connection goes back to the pool
                    break
            if not text.latest:
                detail = (f"{unusable} event(s) without answer text" if unusable else
                          f"the body began {bytes(head[:200]).decode('utf-8', 'replace')!r}" if head else
                          "an empty body")
                raise ResponseError(f"GPTalk's stream carried no answer text ({detail})")
            if stream and text.rewritten:
                raise ResponseError(
                    "GPTalk rewrote text it had already streamed, so the pieces shown are not a prefix of "
                    "its answer; partial_text is what was shown, body['content'] the server's final text "
                    "(stream=False always returns the final text)", body={"content": text.latest})
            if not stream:
                yield text.latest
            yield FinishReason("stop" if done else None)
        except ChatGPTSyncError as exc:
            _scrub(exc, stream_token)
            attach_progress(exc, text.shown if stream else text.latest, None)
            raise
        finally:
            response.close()

    # ------------------------------------------------------------------ the opening step
    def _open(self, job: _Job, call: CallSettings) -> tuple[Response, str]:
        """Login if needed, chat job, open the stream; one fresh login if the token is refused."""
        core = self.core(call)
        key = call.base_url
        for fresh in (False, True):
            token = self._auth.lease(key, lambda: self._login(core, call, job.user_agent))
            try:
                stream_token = self._chat_job(core, call, job, token)
            except _TokenRefused as refused:
                self._auth.discard(key, token)
                if not fresh:
                    continue
                error = AuthenticationError(
                    f"GPTalk refused a freshly issued login token too ({refused.message}); the service "
                    "may have changed its login protocol", status_code=refused.status, body=refused.body)
                raise error from refused.cause
            return self._open_stream(core, call, job, stream_token), stream_token
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _headers(self, call: CallSettings, user_agent: str, extra: Mapping[str, str]) -> dict[str, str]:
        headers = {
            "accept": "*/*", "origin": call.base_url, "referer": call.base_url + "/",
            "user-agent": user_agent, "x-auth-appid": APP_ID, "x-auth-openid": "", "x-auth-platform": "",
            "x-auth-timestamp": str(int(time.time())), **extra,
        }
        # The caller's headers win, whatever their capitalisation.
        overridden = {k.lower() for k in call.headers}
        return {**{k: v for k, v in headers.items() if k not in overridden}, **call.headers}

    def _login(self, core: HTTPCore, call: CallSettings, user_agent: str) -> _Token:
        url = join_url(call.base_url, LOGIN_PATH)
        body = {"fingerprint": self._fingerprint, "platform": "fingerprint"}
        data = core.request_json("POST", url, headers=self._headers(call, user_agent, _JSON),
                                 body=_encode(body), timeout=call.timeout, max_retries=0,
                                 where=f"GPTalk login (POST {url})")
        auth = data.get("data") if isinstance(data, dict) else None
        if not isinstance(auth, dict) or not isinstance(auth.get("token"), str) or not auth["token"]:
            raise ResponseError(f"GPTalk login was refused: {_message(data)}", body=data)
        return _Token(auth["token"], _expiry(auth.get("expires_at")))

    def _chat_job(self, core: HTTPCore, call: CallSettings, job: _Job, token: _Token) -> str:
        """POST the prompt; the stream token from the answer."""
        url = join_url(call.base_url, TEXT_PATH)
        now = int(time.time())
        body = {
            "content": job.prompt, "accept": "stream", "from": 1, "model": job.model, "is_mobile": 0,
            "user_agent": job.user_agent, "is_open_ctx": 0, "prompt": "", "roid": 111, "temperature": 0,
            "ctx_msg_count": 3, "created_at": now,
        }
        headers = self._headers(call, job.user_agent, {**_JSON, "authorization": f"Bearer {token.value}"})
        try:
            data = core.request_json("POST", url, headers=headers, body=_encode(body), timeout=call.timeout,
                                     max_retries=0, where=f"GPTalk chat job (POST {url})")
        except AuthenticationError as exc:
            raise _TokenRefused(f"HTTP 401: {_message(exc.body)}", 401, exc, exc.body) from exc
        inner = data.get("data") if isinstance(data, dict) else None
        stream_token = inner.get("token") if isinstance(inner, dict) else None
        if isinstance(stream_token, str) and stream_token:
            return stream_token
        if isinstance(data, dict) and data.get("code") == 401:
            raise _TokenRefused(_message(data), 401, None, data)
        raise ResponseError(f"GPTalk answered the chat job with an error instead of a stream token: "
                            f"{_message(data)}", body=data)

    def _open_stream(self, core: HTTPCore, call: CallSettings, job: _Job, stream_token: str) -> Response:
        where = f"GPTalk stream (GET {call.base_url}{STREAM_PATH})"  # never the token-bearing URL
        url = join_url(call.base_url, STREAM_PATH, {"token": stream_token})
        headers = self._headers(call, job.user_agent, {"accept": "text/event-stream"})
        try:
            response = core.open("GET", url, headers=headers, timeout=call.timeout, max_retries=0,
                                 expect="sse", where=where)
            if "json" not in response.headers.get("content-type", ""):
                return response
            # An error envelope where the event stream should be (e.g. a refused stream token).
            try:
                raw = response.read()
            finally:
                response.close()
        except ChatGPTSyncError as exc:
            _scrub(exc, stream_token)  # transport messages may quote the URL, token included
            raise
        try:
            data: Any = json.loads(raw)
        except ValueError:
            data = raw[:300].decode("utf-8", "replace")
        raise ResponseError(f"GPTalk refused to open the stream: {_message(data)}", body=data)


_JSON = {"content-type": "application/json"}


def _encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _message(body: Any) -> str:
    """The server's words from an error envelope ``{"code", "message"}`` (or whatever it sent)."""
    if isinstance(body, dict):
        text = body.get("message") or body.get("msg") or body.get("error")
        code = body.get("code")
        if text or code is not None:
            return f"{text or 'no message'}" + (f" (code {code})" if code is not None else "")
        return json.dumps(body)[:300]
    if body is None or body == "":
        return "an empty answer"
    return str(body)[:300]


def _expiry(value: Any) -> float:
    """``expires_at`` as unix seconds; unknown means "until the server refuses it"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return float("inf")
    # Milliseconds would put the expiry thousands of years out; JavaScript backends send them.
    return value / 1000.0 if value > 1e11 else float(value)


def _payloads(data: str) -> list[str]:
    """The JSON payloads of one event. Normally one; several when a server omits the blank lines
    between events (the SSE rules then join their ``data:`` lines into one event)."""
    if "\n" not in data:
        return [data]
    try:
        json.loads(data)
        return [data]  # one JSON value spread over several data lines
    except ValueError:
        return [line for line in data.split("\n") if line.strip()]


def _snapshot(payload: str) -> str | None:
    """The cumulative text of one event; None for an event without any. An error event raises."""
    try:
        obj = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    content = obj.get("content")
    if isinstance(content, str):
        return content
    code = obj.get("code")
    if obj.get("error") or obj.get("message") or (isinstance(code, int) and code != 0):
        raise ResponseError(f"GPTalk reported an error in the stream: {_message(obj)}", body=obj)
    return None


def _tap(chunks: Iterable[bytes], head: bytearray, limit: int = 512) -> Iterator[bytes]:
    for chunk in chunks:
        if len(head) < limit:
            head += chunk[:limit - len(head)]
        yield chunk


def _scrub(exc: ChatGPTSyncError, secret: str) -> None:
    """Remove a stream token from an error's message (it travels in the URL's query string)."""
    message = exc.message
    for variant in (secret, quote(secret, safe="")):
        if variant:
            message = message.replace(variant, REDACTED)
    if message != exc.message:
        exc.message = message
        exc.args = (message, *exc.args[1:])
