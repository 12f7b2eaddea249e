"""OpenaiChat: chatgpt.com with your own account (``/backend-api``), synchronously.

Credentials, first found wins (:func:`~._web.auth.find_credentials`): ``api_key=`` (an access
token), ``cookies=`` (exchanged at ``/api/auth/session``), ``har_file=``, ``$CHATGPT_ACCESS_TOKEN``,
the auth cache file. An expired token is refused before any request; a token that came with cookies
(cookies, a HAR, a cache entry) is renewed from them once when the server answers 401. After a
successful call the credentials in use are written to the cache file (mode 0600).

A turn: warm-up GET of the site root (once per account), ``prepare`` (conduit token), the sentinel
(requirements token, proof of work, turnstile by the caller's token or solver), then
``POST /backend-api/f/conversation`` with the Bearer token and every sentinel header. The whole
opening step is retried, so a spent sentinel token is never reused. Generated images are resolved
to download URLs; an async image task is awaited by polling the stored conversation;
``auto_continue=`` sends a real ``action: "continue"`` when the answer stopped at the length limit.

Thread safety: an instance may be shared between threads. Credentials, cookies and the upload cache
live on the instance (never on the class) behind a lock; each call works on its own session copy.

Processes: a pickled instance carries its settings and the credentials learned so far (a renewed
token, cookies) and the upload cache; never connections or locks. A forked child keeps the same and
opens its own connections.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from typing import Any, Callable, ClassVar, Generator, Iterator, Mapping, TypeVar

from .._log import logger
from .._messages import last_user_text
from .._streaming import attach_progress
from .._transport import Response
from ..errors import AuthenticationError, ChatGPTSyncError, InvalidRequestError, MissingAuthError, ResponseError
from ..types import (AuthResult, Chunk, Conversation, ConversationHistory, ConversationSummary, FinishReason,
                     ImageResponse, ResponseMeta)
from ._web import conversations as stored
from ._web.auth import (CredentialSource, account_key, check_not_expired, default_auth_file, exchange_session,
                        find_credentials, missing_auth_message, token_expired, write_auth_file)
from ._web.conversations import AccountSession
from ._web.files import MediaFile, Uploaded, attach_uploads, read_media, resolve_image, upload_media
from ._web.flow import TurnOptions, gather, run_conversation
from ._web.session import DEFAULT_USER_AGENT, BrowserProfile
from ._web.stream import WebStreamDecoder
from .base import CallSettings, Provider, fork_lock

__all__ = ["OpenaiChat"]

T = TypeVar("T")
MAX_CONTINUES = 8                     # auto_continue rounds per call: a bound, never an endless loop
TEXT_MODELS = ["auto", "gpt-5-2", "gpt-5-1", "gpt-5", "gpt-4", "gpt-4-1", "gpt-4-1-mini", "gpt-4-5", "gpt-4o",
               "gpt-4o-mini", "o1", "o1-mini", "o3-mini", "o3-mini-high", "o4-mini", "o4-mini-high"]


class _Account:
    """One set of credentials and what was learned with them: the token, cookies, the page's build.

    Pickles without its lock (the copy gets a fresh one): credentials travel, locks do not."""

    def __init__(self, source: CredentialSource) -> None:
        self.source = source
        self.auth = source.auth
        self.cookies = dict(source.auth.cookies)
        self.data_build: str | None = None
        self.warmed: set[str] = set()
        self.saved: AuthResult | None = source.auth if source.kind == "auth_file" else None
        self.lock = threading.Lock()  # one exchange or warm-up at a time for this account

    def __repr__(self) -> str:
        return f"<account from {self.source.kind}, cookies [{', '.join(sorted(self.cookies))}]>"

    def __getstate__(self) -> dict[str, Any]:
        with self.lock:  # a consistent token and cookies, not one half-way through a renewal
            return {k: (dict(v) if k == "cookies" else set(v) if k == "warmed" else v)
                    for k, v in self.__dict__.items() if k != "lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.lock = threading.Lock()


class _State:
    """The instance's accounts and upload cache; a lock guards them.

    Pickled, the accounts (their credentials, as renewed so far) and the upload cache (file ids the
    server holds) travel, the locks do not. A forked child keeps them too, with fresh locks: a lock
    held by a parent's thread at the fork would never be released in the child. Connections are the
    provider's (``Provider.core``) and never travel."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self, accounts: dict[str, _Account] | None = None,
               uploads: dict[tuple[str, str], Uploaded] | None = None) -> None:
        self.lock = threading.Lock()
        self.accounts: dict[str, _Account] = accounts or {}
        self.uploads: dict[tuple[str, str], Uploaded] = uploads or {}
        self.pid = os.getpid()

    def check_fork(self) -> None:
        if self.pid == os.getpid():
            return
        with fork_lock():
            if self.pid != os.getpid():
                for account in self.accounts.values():
                    account.lock = threading.Lock()
                self._reset(self.accounts, self.uploads)

    def __getstate__(self) -> dict[str, Any]:
        self.check_fork()
        with self.lock:
            return {"accounts": dict(self.accounts), "uploads": dict(self.uploads)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._reset(state.get("accounts"), state.get("uploads"))


class OpenaiChat(Provider):
    """chatgpt.com with your own account (``/backend-api``)."""

    label = "OpenaiChat"
    url = "https://chatgpt.com"
    working = True  # against the protocol as documented; the live service may put up walls
    needs_auth = True
    api_key_env = "CHATGPT_ACCESS_TOKEN"  # read (in the CONTRACT's order) by find_credentials
    default_model = "auto"
    default_image_model = "gpt-image"
    image_models: ClassVar[list[str]] = ["gpt-image"]
    models: ClassVar[list[str]] = [*TEXT_MODELS, "gpt-image"]
    model_aliases: ClassVar[dict[str, str]] = {
        "gpt-5.2": "gpt-5-2", "gpt-5.1": "gpt-5-1", "gpt-4.1": "gpt-4-1", "gpt-4.1-mini": "gpt-4-1-mini",
        "gpt-4.5": "gpt-4-5", "dall-e-3": "gpt-image"}
    default_base_url = "https://chatgpt.com"
    extra_settings = frozenset({"cookies", "har_file", "auth_file", "user_agent", "turnstile_token",
                                "turnstile_solver", "pow_workers", "image_timeout"})
    call_params = frozenset({"conversation", "temporary", "web_search", "reasoning_effort", "gizmo_id", "media",
                             "auto_continue", "prompt"})

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self._state = _State()

    # ------------------------------------------------------------------ credentials
    def _account(self, call: CallSettings, params: Mapping[str, Any]) -> _Account:
        """The credentials for this call's settings (found once per distinct set of them)."""
        cookies = self.setting("cookies", params)
        har_file, auth_file = self.setting("har_file", params), self.setting("auth_file", params)
        env_token = os.environ.get("CHATGPT_ACCESS_TOKEN")
        # A digest, so the secrets themselves are not kept (or shown) as dictionary keys.
        key = hashlib.sha256(json.dumps([call.base_url, call.api_key, cookies, str(har_file), str(auth_file),
                                         env_token], sort_keys=True, default=str).encode()).hexdigest()
        self._state.check_fork()
        with self._state.lock:
            account = self._state.accounts.get(key)
        if account is None:
            source = find_credentials(api_key=call.api_key, cookies=cookies, har_file=har_file,
                                      auth_file=auth_file, env=os.environ)
            if source is None:
                raise MissingAuthError(missing_auth_message())
            with self._state.lock:
                account = self._state.accounts.setdefault(key, _Account(source))
        if account.auth.access_token and account.source.cookies_source is None:
            check_not_expired(account.auth, source=account.source.kind)  # nothing to renew it from
        return account

    def _token(self, account: _Account, call: CallSettings, *, refused: str | None = None) -> AuthResult:
        """The account's usable credentials; exchanges its cookies for a token when it has none, when
        it expired, or when the server ``refused`` it (unless another thread has renewed it since)."""
        with account.lock:
            auth = account.auth
            stale = (not auth.access_token or token_expired(auth.access_token)
                     or (refused is not None and auth.access_token == refused))
            if stale and account.source.cookies_source is not None:
                fresh = exchange_session(self.core(call), call.base_url, account.cookies,
                                         user_agent=auth.user_agent or DEFAULT_USER_AGENT,
                                         timeout=call.timeout, max_retries=call.max_retries)
                auth = account.auth = AuthResult(fresh.access_token, fresh.cookies, auth.user_agent,
                                                 fresh.expires)
                account.cookies.update(fresh.cookies)
            check_not_expired(auth, source=account.source.kind)
            if not auth.access_token:
                raise MissingAuthError(missing_auth_message())
            return auth

    def _session(self, account: _Account, call: CallSettings, params: Mapping[str, Any]) -> AccountSession:
        """A session copy for one call, after the account's warm-up GET of the site root (once)."""
        auth = self._token(account, call)
        user_agent = self.setting("user_agent", params) or auth.user_agent or DEFAULT_USER_AGENT
        with account.lock:
            session = AccountSession(self.core(call), call.base_url, BrowserProfile(user_agent),
                                     dict(account.cookies), str(auth.access_token), account.data_build)
            if call.base_url not in account.warmed:
                stored.warm_up(session, timeout=call.timeout, max_retries=call.max_retries)
                account.data_build = session.data_build
                account.cookies.update(session.cookies)
                account.warmed.add(call.base_url)
        return session

    def _renew(self, account: _Account, call: CallSettings, session: AccountSession,
               exc: AuthenticationError) -> None:
        """After a 401: renew the token from the account's cookies, or explain what to do."""
        if account.source.cookies_source is None:
            raise AuthenticationError(
                f"chatgpt.com refused the access token from {account.source.kind} (HTTP 401): it has expired "
                f"or was revoked. Pass a new one (api_key=, cookies=, har_file=) or call login(). "
                f"Server: {exc.message}", status_code=401, headers=exc.headers, body=exc.body,
                request_id=exc.request_id) from exc
        auth = self._token(account, call, refused=session.access_token)
        session.access_token = str(auth.access_token)
        session.cookies.update(account.cookies)

    def _save(self, account: _Account, params: Mapping[str, Any]) -> None:
        """Write the credentials in use to the auth cache file, when they changed."""
        with account.lock:
            auth = AuthResult(account.auth.access_token, account.cookies, account.auth.user_agent,
                              account.auth.expires)
            if auth == account.saved:
                return
            path = self.setting("auth_file", params) or default_auth_file()
            try:
                write_auth_file(path, auth)
                account.saved = auth
            except OSError as exc:  # the call succeeded; a cache that cannot be written is not fatal
                logger.warning("could not write the auth cache file %s: %s", path, exc)

    def _authed(self, call: CallSettings, params: Mapping[str, Any], fn: Callable[[AccountSession], T]) -> T:
        """Run ``fn`` with the account's session; renew once on a 401; save the credentials after."""
        account = self._account(call, params)
        session = self._session(account, call, params)
        try:
            result = fn(session)
        except AuthenticationError as exc:
            self._renew(account, call, session, exc)
            result = fn(session)
        self._save(account, params)
        return result

    # ------------------------------------------------------------------ the call
    def _start(self, model: str, messages: list[dict[str, Any]], stream: bool, call: CallSettings,
               params: dict[str, Any]) -> Generator[Chunk, None, None]:
        conversation = params.get("conversation")
        if isinstance(conversation, dict):
            conversation = Conversation.from_dict(conversation)
        if conversation is not None and not isinstance(conversation, Conversation):
            raise InvalidRequestError("conversation= must be a chatgpt_sync.Conversation (or its to_dict())")
        if conversation is not None and conversation.conversation_id and not conversation.message_id:
            raise InvalidRequestError("this Conversation has no message_id (the stream broke before the answer "
                                      "began), so it cannot be continued; start a new conversation")
        solver = self.setting("turnstile_solver", params)
        if solver is not None and not callable(solver):
            raise InvalidRequestError("turnstile_solver must be a callable (dx, requirements_token) -> token")
        continuing = conversation is not None and bool(conversation.conversation_id)
        new = messages
        if continuing:
            last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=-1)
            new = messages[last + 1:]
            if not new:
                raise InvalidRequestError("to continue a conversation, send at least one new message")
        prompt = params.get("prompt")
        if prompt is not None and not isinstance(prompt, str):
            raise InvalidRequestError("prompt= must be a string")
        image = model in self.image_models
        hints = (["picture_v2"] if image else []) + (["reason"] if params.get("reasoning_effort") not in
                                                     (None, "none", "minimal", "low") else []) \
            + (["search"] if params.get("web_search") else [])
        formatted = stored.web_messages(new, hints)
        if prompt and image:  # the image prompt is what the last user message says
            users = [m for m in formatted if m["author"]["role"] == "user"]
            if users:
                users[-1]["content"]["parts"] = [prompt]
        media = read_media(params.get("media"), [m for m in new if m["role"] == "user"])
        gizmo = params.get("gizmo_id")
        offset, zone = stored.timezone()
        base: dict[str, Any] = {
            "model": self.default_model if image else model, "timezone_offset_min": offset, "timezone": zone,
            "conversation_mode": {"kind": "gizmo_interaction", "gizmo_id": gizmo} if gizmo
            else {"kind": "primary_assistant"},
            "system_hints": hints, "supports_buffering": True, "supported_encodings": ["v1"]}
        if params.get("temporary"):
            base["history_and_training_disabled"] = True
        if params.get("reasoning_effort") is not None:
            base["reasoning_effort"] = params["reasoning_effort"]
        account = self._account(call, params)  # missing or expired credentials fail here, before any request
        image_timeout = float(self.setting("image_timeout", params, 120.0))
        turn = TurnOptions(timeout=call.timeout, headers=dict(call.headers),
                           turnstile_token=self.setting("turnstile_token", params), turnstile_solver=solver,
                           pow_workers=int(self.setting("pow_workers", params, 1)))
        alt = prompt or last_user_text(new) or None
        return self._run(account, call, params, stream, base, formatted, media, conversation, turn,
                         bool(params.get("auto_continue")), image_timeout, alt)

    def _run(self, account: _Account, call: CallSettings, params: Mapping[str, Any], stream: bool,
             base: dict[str, Any], messages: list[dict[str, Any]], media: list[MediaFile],
             conversation: Conversation | None, turn: TurnOptions, auto_continue: bool, image_timeout: float,
             alt: str | None) -> Generator[Chunk, None, None]:
        text: list[str] = []
        where: list[str | None] = [conversation.conversation_id if conversation else None,
                                   conversation.message_id if conversation else None]
        try:
            produced = self._turns(account, call, params, base, messages, media, turn, auto_continue,
                                   image_timeout, alt, text, where)
            yield from produced if stream else gather(list(produced))
        except ChatGPTSyncError as exc:
            # Everything yielded so far, across continuation rounds (the stream knows only its own round).
            exc.partial_text = "".join(text) or exc.partial_text
            attach_progress(exc, "", Conversation(where[0], where[1]) if where[0] else None)
            raise

    def _turns(self, account: _Account, call: CallSettings, params: Mapping[str, Any], base: dict[str, Any],
               messages: list[dict[str, Any]], media: list[MediaFile], turn: TurnOptions, auto_continue: bool,
               image_timeout: float, alt: str | None, text: list[str],
               where: list[str | None]) -> Iterator[Chunk]:
        """The pieces of every round in order; FinishReason and Conversation once, after the last."""
        session = self._session(account, call, params)
        seen: set[str] = set()
        meta_seen = saved = False
        tail: list[Chunk] = []
        io: dict[str, Any] = {"timeout": call.timeout, "max_retries": call.max_retries}

        renewed: list[bool] = []

        def guarded(step: Callable[[], T]) -> T:
            try:
                return step()
            except AuthenticationError as exc:
                if renewed:
                    raise
                renewed.append(True)
                self._renew(account, call, session, exc)  # once per call, then the same step again
                return step()

        def attempt(prepare: bytes, body: bytes) -> Callable[[], Response]:
            return lambda: guarded(lambda: stored.open_turn(session, prepare, body, turn))

        uploads = guarded(lambda: upload_media(session, media, self._state.uploads, self._state.lock,
                                               account_key(account.auth), **io))
        if uploads and messages:
            attach_uploads(messages[-1], uploads)
        action: str = "next"
        batch: list[dict[str, Any]] | None = messages
        resume: stored.Resume | None = None
        for round_ in range(MAX_CONTINUES + 1):
            prepare, body = stored.turn_bodies(base, action, where[1] or stored.CLIENT_ROOT, where[0], batch)
            decoder = WebStreamDecoder()
            tail = []
            for piece in run_conversation(attempt(prepare, body), stream=True, max_retries=call.max_retries,
                                          sleep=call.sleep, decoder=decoder):
                if not saved:
                    saved = True
                    self._save(account, params)  # the server took the credentials
                if isinstance(piece, (FinishReason, Conversation)):
                    tail.append(piece)
                    continue
                if isinstance(piece, ResponseMeta):
                    if meta_seen:
                        continue  # one per call, not one per continuation round
                    meta_seen = True
                if isinstance(piece, ImageResponse):
                    resolved = resolve_image(session, piece, decoder.conversation_id, seen, alt, **io)
                    if resolved is None:
                        continue
                    piece = resolved
                if isinstance(piece, str):
                    piece = resume.feed(piece) if resume is not None else piece
                    if not piece:
                        continue
                    text.append(piece)
                yield piece
            where[0] = decoder.conversation_id or where[0]
            where[1] = decoder.message_id or where[1]
            if decoder.awaiting_images and where[0]:  # an async image task: poll until it delivers
                for data in stored.poll_conversation(session, where[0], limit=image_timeout, sleep=call.sleep, **io):
                    for piece in decoder.feed_conversation(data):
                        if isinstance(piece, ImageResponse):
                            image = resolve_image(session, piece, where[0], seen, alt, **io)
                            if image is not None:
                                yield image
                    if not decoder.awaiting_images:
                        break
                else:
                    raise ResponseError(f"the image task {decoder.image_gen_task_id} did not finish within "
                                        f"{image_timeout:g} s (image_timeout=); its images may still appear "
                                        f"in conversation {where[0]}")
            if not (auto_continue and decoder.continuable and round_ < MAX_CONTINUES):
                break
            action, batch = "continue", None  # the same assistant message goes on
            resume = stored.Resume(["".join(text), decoder.text])
        yield from tail

    # ------------------------------------------------------------------ account methods
    def login(self, *, browser: bool = False, headless: bool = False, browser_path: str | None = None,
              timeout: float = 300, profile_dir: str | os.PathLike[str] | None = None) -> AuthResult:
        """The credentials in use (cookies exchanged for a token when needed), also written to the
        auth cache file.

        ``browser=True``: open ``base_url`` in Chromium or Chrome (on PATH, or ``browser_path``) with a
        profile kept under the cache folder (or ``profile_dir``), wait up to ``timeout`` seconds for
        you to sign in there, and capture the token, cookies and user agent (needs the ``browser``
        extra). The SDK types nothing; the browser is always closed. MissingAuthError when no
        sign-in is seen in time; InvalidRequestError, before anything starts, when no browser is found.
        """
        if not browser:
            account = self._account(self._base, {})
            auth = self._token(account, self._base)
            self._save(account, {})
            return auth
        from ._web.browser_login import browser_login

        captured = browser_login(self._base.base_url, headless=headless, browser_path=browser_path,
                                 timeout=timeout, profile_dir=profile_dir)
        auth = captured.auth
        path = self.setting("auth_file", {}) or default_auth_file()
        try:
            write_auth_file(path, auth)
        except OSError as exc:  # the sign-in worked; say where it could not be kept
            raise InvalidRequestError(f"signed in, but the auth cache file {path} could not be written "
                                      f"({exc.strerror or exc}): pass another auth_file=") from exc
        self._state.check_fork()
        with self._state.lock:  # credentials read from the old cache file are stale now
            for key, account in list(self._state.accounts.items()):
                if account.source.kind == "auth_file":
                    del self._state.accounts[key]
        logger.info("browser login: credentials written to %s (page build %s)", path, captured.build)
        return auth

    def _call(self, fn: Callable[[AccountSession, CallSettings], T]) -> T:
        call = self._base
        return self._authed(call, {}, lambda session: fn(session, call))

    def list_conversations(self, offset: int = 0, limit: int = 28) -> list[ConversationSummary]:
        """Your conversations, newest activity first (the server's order)."""
        return self._call(lambda s, c: stored.list_conversations(
            s, offset=offset, limit=limit, timeout=c.timeout, max_retries=c.max_retries))

    def get_conversation(self, conversation_id: str) -> ConversationHistory:
        """A stored conversation: its active branch from the root to ``current_node``."""
        data = self._call(lambda s, c: stored.get_conversation_data(
            s, conversation_id, timeout=c.timeout, max_retries=c.max_retries))
        return stored.history_from(conversation_id, data)

    def rename_conversation(self, conversation_id: str, title: str) -> None:
        self._call(lambda s, c: stored.rename_conversation(
            s, conversation_id, title, timeout=c.timeout, max_retries=c.max_retries))

    def delete_conversation(self, conversation_id: str) -> None:
        """Delete as the website does: the conversation is hidden."""
        self._call(lambda s, c: stored.hide_conversation(
            s, conversation_id, timeout=c.timeout, max_retries=c.max_retries))

    def synthesize(self, conversation_id: str, message_id: str, voice: str = "maple",
                   format: str = "aac") -> Iterator[bytes]:
        """The message read aloud: an iterator of audio bytes, streamed."""
        return self._call(lambda s, c: stored.open_synthesis(
            s, conversation_id, message_id, voice=voice, format=format, timeout=c.timeout,
            max_retries=c.max_retries))

    def get_models(self) -> list[str]:
        """The model slugs your account offers (the static list only when the backend has none)."""
        return self._call(lambda s, c: stored.get_models(s, timeout=c.timeout, max_retries=c.max_retries))

    def me(self) -> dict[str, Any]:
        """Your account's profile, as ``/backend-api/me`` gives it."""
        return self._call(lambda s, c: stored.get_me(s, timeout=c.timeout, max_retries=c.max_retries))

    get_quota = me
