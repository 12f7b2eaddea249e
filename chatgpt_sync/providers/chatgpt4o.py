"""Chatgpt4o: chatgpt4o.one, a WordPress site running the "AI Power" chat plugin (``wpaicg``).

One call:

1. ``GET {base_url}/`` (only when this instance holds no page values for the site): scrape the chat
   widget's ``data-post-id`` and ``data-nonce`` (and ``data-bot-id`` / ``data-url`` when present),
   whatever the attribute order and quoting. Cookies the site sets are kept.
2. ``POST {base_url}/wp-admin/admin-ajax.php``, form-encoded, with the fields the plugin's own
   script sends (``action=wpaicg_chat_shortcode_message``, ``_wpnonce``, ``post_id``, ``message`` =
   the conversation as one prompt, ...). The answer is whole: ``{"status": "success", "data": text}``.

A refused nonce is answered in several shapes, depending on the plugin and WordPress versions (all
read from their source; see tests/test_chatgpt4o.py): HTTP 403 with ``-1`` (``check_ajax_referer``)
or "The link you followed has expired." (``check_admin_referer``); ``{"status": "error", "msg":
"Nonce verification failed"}`` (the plugin's own check); ``{"success": false, ...}``
(``wp_send_json_error``). On any of them the page is loaded once more and the message sent once
more; a second refusal is a clear error. The model name is never sent: the site decides.

Thread safety: the page values and cookies live on the instance, per ``base_url``, behind locks;
threads sharing an instance load the page once and re-load it once when its nonce goes stale.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import CookieError, SimpleCookie
from typing import Any, ClassVar, Generator, Mapping
from urllib.parse import urlencode

from .._core import is_challenge, blocked_error, looks_like_html, redirect_error
from .._messages import single_prompt
from .._transport import Response
from .._urls import join_url
from ..errors import (
    BadRequestError, BlockedError, InvalidRequestError, PermissionDeniedError, ResponseError, status_error_class,
)
from ..types import Chunk, FinishReason
from .base import CallSettings, Provider, fork_lock

__all__ = ["Chatgpt4o", "PageValues", "format_prompt", "scrape_page"]

AJAX_PATH = "/wp-admin/admin-ajax.php"
ACTION = "wpaicg_chat_shortcode_message"
DEFAULT_USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/130.0.0.0 Safari/537.36")
BODY_LIMIT = 4 << 20  # a chat page is a few hundred kB, an answer a few; more is not what we want
# The plugin's nonce-failure messages: "Nonce verification failed" (1.8.x), "Security check" and
# "Invalid nonce. ..." (2023), WordPress's "The link you followed has expired." (check_admin_referer).
_STALE_WORDS = re.compile(r"nonce|security check|link you followed has expired", re.IGNORECASE)
_NONCE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # wp_create_nonce gives 10 hex digits
_TAGS = re.compile(r"<[^>]*>")
_WIDGET_ATTRIBUTES = ("data-nonce", "data-post-id", "data-bot-id", "data-url")


def format_prompt(messages: list[dict[str, Any]]) -> str:
    """The conversation as Chatgpt4o's one prompt (the service takes no message list). The plugin would answer "It appears that nothing was inputted." to an empty one: refused first."""
    return single_prompt(messages, who="Chatgpt4o")


@dataclass(frozen=True)
class PageValues:
    """What the chat widget on the page says: the values the admin-ajax.php form needs."""

    post_id: str
    nonce: str = field(repr=False)  # a credential for the form: never shown
    bot_id: str = "0"
    url: str = ""


class _WidgetFinder(HTMLParser):
    """The data-* attributes of the element carrying ``data-nonce`` (the chat widget), and the
    first ``data-post-id`` anywhere as a fallback. The parser copes with any attribute order,
    single, double or no quotes, spaces around ``=``, upper case names and entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.widget: dict[str, str] | None = None
        self.any_post_id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value.strip() for name, value in attrs if name in _WIDGET_ATTRIBUTES and value is not None}
        if self.widget is None and found.get("data-nonce"):
            self.widget = found
        if self.any_post_id is None and found.get("data-post-id"):
            self.any_post_id = found["data-post-id"]

    handle_startendtag = handle_starttag


def scrape_page(html: str, page_url: str = "the page") -> PageValues:
    """The widget's values from the page HTML; ResponseError naming what is missing or malformed."""
    finder = _WidgetFinder()
    finder.feed(html)
    finder.close()
    widget = finder.widget or {}
    post_id = widget.get("data-post-id") or finder.any_post_id
    missing = [name for name, value in (("post_id (data-post-id)", post_id),
                                        ("nonce (data-nonce)", widget.get("data-nonce"))) if not value]
    if missing:
        raise ResponseError(
            f"Chatgpt4o: {page_url} has no {' and no '.join(missing)} on its chat widget; the site may have "
            "dropped the AI Power chat plugin, or served another page (a login, maintenance or error page)")
    assert post_id is not None
    if not post_id.isdigit():
        raise ResponseError(f"Chatgpt4o: the data-post-id on {page_url} is not a number: {post_id[:40]!r}")
    nonce = widget["data-nonce"]
    if not _NONCE.fullmatch(nonce):
        raise ResponseError(f"Chatgpt4o: the data-nonce on {page_url} is not a WordPress nonce "
                            "(letters and digits); the widget markup has changed")
    bot_id = widget.get("data-bot-id") or "0"
    return PageValues(post_id=post_id, nonce=nonce, bot_id=bot_id if bot_id.isdigit() else "0",
                      url=widget.get("data-url", ""))


class _Site:
    """One site as one instance knows it: page values and cookies (``lock`` guards both;
    ``refresh`` is held while loading the page, so concurrent callers load it once)."""

    def __init__(self, cookies: Mapping[str, str]) -> None:
        self.lock = threading.Lock()
        self.refresh = threading.Lock()
        self.values: PageValues | None = None
        self.cookies: dict[str, str] = dict(cookies)

    def remember(self, response: Response) -> None:
        learned = dict(getattr(response, "cookies", None) or {})
        raw = response.headers.get("set-cookie")
        if not learned and raw:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(raw)
            except CookieError:
                return  # a malformed cookie must not break the call
            learned = {name: morsel.value for name, morsel in jar.items()}
        if learned:
            with self.lock:
                self.cookies.update(learned)

    def cookie_header(self) -> str:
        with self.lock:
            return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def __repr__(self) -> str:
        return f"_Site(values={'loaded' if self.values else None}, cookies={sorted(self.cookies)})"


class _Sites:
    """The instance's sites by ``base_url``. Learned state (page values, the site's cookies) stays
    in this process: a pickled copy, and a forked child, start without it (and with fresh locks)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._sites: dict[str, _Site] = {}
        self._pid = os.getpid()

    def get(self, base_url: str, cookies: Mapping[str, str]) -> _Site:
        if self._pid != os.getpid():  # forked: a parent's thread may have held these locks
            with fork_lock():
                if self._pid != os.getpid():
                    self._reset()
        with self._lock:
            site = self._sites.get(base_url)
            if site is None:
                site = self._sites[base_url] = _Site(cookies)
            return site

    def __getstate__(self) -> dict[str, Any]:
        return {"sites": None}  # not empty: pickle skips __setstate__ for a falsy state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._reset()


@dataclass(frozen=True)
class _Reply:
    """An admin-ajax.php answer: status, the body parsed as JSON when it is JSON, and its text."""

    status: int
    body: Any
    text: str


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _words(reply: _Reply) -> str:
    """The server's own words, for error messages."""
    body = reply.body
    if isinstance(body, dict):
        data = body.get("data")
        for value in (data.get("message") if isinstance(data, dict) else data, body.get("msg"), body.get("message")):
            if isinstance(value, str) and value.strip():
                return value.strip()[:300]
        return json.dumps(body)[:300]
    text = " ".join(_TAGS.sub(" ", reply.text).split())
    return text[:300] if text else "an empty body"


def _refusal(reply: _Reply) -> str | None:
    """How the answer refuses the nonce, or None when it does not."""
    body, text = reply.body, reply.text.strip()
    if reply.status == 403:  # every 403 of this endpoint comes from a nonce check (a wall was ruled out)
        return f"HTTP 403, {_words(reply)!r}"
    if text == "-1":  # check_ajax_referer outside an Ajax context dies with a bare -1
        return "-1"
    if isinstance(body, dict):
        if body.get("success") is False:  # wp_send_json_error: how newer handlers refuse a nonce
            return f"success: false, {_words(reply)!r}"
        if body.get("status") == "error" and _STALE_WORDS.search(str(body.get("msg") or "")):
            return f"{_words(reply)!r}"
    return None


def _answer(reply: _Reply, where: str) -> str:
    """The answer text, or a ResponseError: never a silently empty answer."""
    body, text = reply.body, reply.text.strip()
    if text == "0":
        # admin-ajax.php's closing wp_die('0'): the handler returned without answering.
        raise ResponseError(f"{where} answered 0: WordPress ran the chat action but nothing answered", body=0)
    if not isinstance(body, dict):
        if looks_like_html("", reply.text.encode()):  # admin-ajax.php labels everything text/html
            raise blocked_error(reply.status, reply.text.encode(), where=where)
        raise ResponseError(f"{where} answered {_words(reply)!r} where the chat plugin's JSON was expected",
                            body=body)
    if body.get("status") == "error":
        raise ResponseError(f"the Chatgpt4o chat plugin reported an error: {_words(reply)}", body=body)
    data = body.get("data")
    if not isinstance(data, str) or not data.strip():
        shown = "empty" if data in ("", None) else f"a {type(data).__name__}"
        raise ResponseError(f"{where} answered without answer text (its data is {shown})", body=body)
    return data


def _check_cookies(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidRequestError("cookies must be a dict of cookie name -> value (strings)")
    return dict(value)


class Chatgpt4o(Provider):
    """chatgpt4o.one, a free "GPT-4o mini" chat page built on the WordPress AI Power plugin.

    ``working`` is False: the site cannot be reached from here to check it, and the public
    implementation (gpt4free) marked it not working in 2024-11 and deleted it in 2025-12. The
    protocol is the plugin's, read from its source, and tested against
    :class:`chatgpt_sync.testing.chatgpt4o.Chatgpt4oEmulator`. Keyword ``cookies=`` (a dict)
    seeds the cookies sent to the site; the site's own cookies are kept on the instance.
    """

    label = "Chatgpt4o"
    url = "https://chatgpt4o.one"
    working = False
    supports_stream = True  # the answer comes whole; stream=True yields it as one piece
    supports_message_history = True  # the whole history goes into the one message
    supports_system_message = True
    takes_api_key = False
    api_key_hint = ": the site needs no account"
    default_model = "gpt-4o-mini-2024-07-18"
    models: ClassVar[list[str]] = ["gpt-4o-mini-2024-07-18"]
    model_aliases: ClassVar[dict[str, str]] = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18"}
    unknown_model_is_default = True  # the model is never sent: the plugin's settings decide
    default_base_url = "https://chatgpt4o.one"
    extra_settings = frozenset({"cookies"})
    call_params = frozenset({"cookies"})

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self._cookies = _check_cookies(settings.get("cookies"))
        self._sites = _Sites()
        # The plugin's script keeps one random 10-character client id per browser.
        self._client_id = secrets.token_urlsafe(8)[:10]

    # ------------------------------------------------------------------ the call
    def _start(self, model: str, messages: list[dict[str, Any]], stream: bool, call: CallSettings,
               params: dict[str, Any]) -> Generator[Chunk, None, None]:
        if call.api_key:
            raise InvalidRequestError("Chatgpt4o takes no api_key (the site needs no account)")
        cookies = _check_cookies(params.get("cookies"))
        return self._run(format_prompt(messages), cookies, call)

    def _run(self, prompt: str, cookies: dict[str, str], call: CallSettings) -> Generator[Chunk, None, None]:
        site = self._sites.get(call.base_url, self._cookies)
        if cookies:
            with site.lock:
                site.cookies.update(cookies)
        values = self._values(call, site, stale=None)
        reply = self._post(call, site, values, prompt)
        first = _refusal(reply)
        if first is not None:
            reply = self._post(call, site, self._values(call, site, stale=values), prompt)
            again = _refusal(reply)
            if again is not None:
                raise _refused_twice(reply, first, again, call.base_url + AJAX_PATH)
        yield _answer(reply, f"Chatgpt4o ({call.base_url}{AJAX_PATH})")
        yield FinishReason("stop")  # the plugin answers only with a finished completion

    # ------------------------------------------------------------------ the page
    def _values(self, call: CallSettings, site: _Site, stale: PageValues | None) -> PageValues:
        """The page values to use: the ones held, unless they are missing or ``stale``."""
        with site.lock:
            if site.values is not None and site.values is not stale:
                return site.values
        with site.refresh:
            with site.lock:  # another thread may have loaded the page while we waited
                if site.values is not None and site.values is not stale:
                    return site.values
            values = self._load_page(call, site)
            with site.lock:
                site.values = values
            return values

    def _load_page(self, call: CallSettings, site: _Site) -> PageValues:
        page_url = join_url(call.base_url, "/")
        where = f"Chatgpt4o page (GET {page_url})"
        headers = self._headers(call, site, {
            "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "sec-fetch-dest": "document", "sec-fetch-mode": "navigate", "sec-fetch-site": "none",
        })
        response = self.core(call).open("GET", page_url, headers=headers, timeout=call.timeout,
                                        max_retries=call.max_retries, expect="any", where=where)
        raw = _read(response, BODY_LIMIT, where)
        if 300 <= response.status_code < 400:
            raise redirect_error(response.status_code, response.headers, where=where)
        site.remember(response)
        if is_challenge(raw):
            raise blocked_error(response.status_code, raw, where=where)
        # The values wanted are ASCII, so UTF-8 (WordPress's default charset) reads them in any page.
        return scrape_page(raw.decode("utf-8", "replace"), page_url)

    # ------------------------------------------------------------------ admin-ajax.php
    def _post(self, call: CallSettings, site: _Site, values: PageValues, prompt: str) -> _Reply:
        url = join_url(call.base_url, AJAX_PATH)
        where = f"Chatgpt4o (POST {url})"
        form = {
            "_wpnonce": values.nonce, "post_id": values.post_id, "url": values.url or call.base_url,
            "action": ACTION, "message": prompt, "bot_id": values.bot_id,
            "chatbot_identity": "shortcode" if values.bot_id == "0" else f"custom_bot_{values.bot_id}",
            "wpaicg_chat_client_id": self._client_id,
            # The history is already in the prompt; the plugin would prepend this list to it again.
            "wpaicg_chat_history": "[]",
        }
        headers = self._headers(call, site, {
            "accept": "*/*", "content-type": "application/x-www-form-urlencoded; charset=UTF-8",
            "origin": call.base_url, "sec-fetch-dest": "empty", "sec-fetch-mode": "cors",
            "sec-fetch-site": "same-origin",
        })
        try:
            response = self.core(call).open("POST", url, headers=headers, body=urlencode(form).encode(),
                                            timeout=call.timeout, max_retries=call.max_retries, expect="any",
                                            where=where)
        except BlockedError as exc:
            # WordPress refuses a nonce with text/html and HTTP 403, which the core reads as a wall;
            # only a real challenge page is one.
            if exc.kind == "cloudflare" or exc.status_code != 403:
                raise
            text = str(exc.body or "")
            return _Reply(403, _parse(text), text)
        except PermissionDeniedError as exc:  # JSON with 403: wp_send_json_error(..., 403)
            return _Reply(403, exc.body, exc.body if isinstance(exc.body, str) else json.dumps(exc.body))
        except BadRequestError as exc:
            if exc.body != 0:
                raise
            raise BadRequestError(
                f"{where} answered 0 with HTTP 400: WordPress has no handler for the action {ACTION!r}, so the "
                "site no longer runs the AI Power chat plugin", status_code=400, headers=exc.headers, body=0,
            ) from exc
        raw = _read(response, BODY_LIMIT, where)
        if 300 <= response.status_code < 400:
            raise redirect_error(response.status_code, response.headers, where=where)
        site.remember(response)
        if is_challenge(raw):
            raise blocked_error(response.status_code, raw, where=where)
        text = raw.decode("utf-8", "replace")
        return _Reply(response.status_code, _parse(text), text)

    def _headers(self, call: CallSettings, site: _Site, extra: Mapping[str, str]) -> dict[str, str]:
        headers = {"user-agent": DEFAULT_USER_AGENT, "accept-language": "en-US,en;q=0.9",
                   "referer": call.base_url + "/", **extra}
        cookie = site.cookie_header()
        if cookie:
            headers["cookie"] = cookie
        overridden = {name.lower() for name in call.headers}  # the caller's headers win
        return {**{k: v for k, v in headers.items() if k not in overridden}, **call.headers}


def _read(response: Response, limit: int, where: str) -> bytes:
    parts: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            parts.append(chunk)
            size += len(chunk)
            if size > limit:
                raise ResponseError(f"{where} answered with more than {limit} bytes")
    finally:
        response.close()
    return b"".join(parts)


def _refused_twice(reply: _Reply, first: str, again: str, url: str) -> Exception:
    message = (f"Chatgpt4o: {url} refused the nonce ({first}), and refused the one from a freshly loaded page "
               f"too ({again}). The site may serve a cached page with an expired nonce, or tie nonces to a "
               "session it could not keep; try again later")
    if reply.status >= 400:
        return status_error_class(reply.status)(message, status_code=reply.status, body=reply.body)
    return ResponseError(message, body=reply.body)
