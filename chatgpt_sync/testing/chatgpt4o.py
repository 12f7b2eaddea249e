"""A strict loopback emulator of chatgpt4o.one: WordPress with the AI Power chat plugin (``wpaicg``).

``GET /`` serves a page whose chat widget carries ``data-post-id`` and ``data-nonce`` (attribute
order and quoting switchable) and sets a guest session cookie. ``POST /wp-admin/admin-ajax.php``
answers as WordPress and the plugin do: an action missing or unknown gets WordPress's ``0`` with
HTTP 400; a missing or expired nonce gets the refusal shape chosen in ``faults.stale_style`` (each
one is what a real plugin or WordPress version sends, see :data:`STALE_STYLES`); an empty message
gets the plugin's "It appears that nothing was inputted."; a good one gets
``{"status": "success", "msg": "Something went wrong", "data": <reply>}`` (the plugin never clears
its default ``msg``). The reply is ``"Echo: " + the message as the plugin sees it`` unless ``reply``
is given. Nonces are made as ``wp_create_nonce`` makes them (a 12-hour tick, valid for two ticks),
tied to the guest session cookie the way the ``nonce_user_logged_out`` filter ties them (so a client
that drops cookies is refused). Stricter than the real server: every field the plugin's own script
sends must be present and ``post_id`` must be the page's (else HTTP 400, ``{"status": "error",
"msg": "emulator: ..."}``), so a client drifting from the browser's form is caught.

Counters (public): ``page_loads``, ``ajax_posts``, ``stale_answers``, ``answers``.
"""

from __future__ import annotations

import hmac
import json
import math
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.cookies import CookieError, SimpleCookie
from typing import Any, Mapping, cast
from urllib.parse import parse_qsl, urlsplit

from ._server import EmulatorHandler, EmulatorServer

__all__ = ["Chatgpt4oEmulator", "Chatgpt4oFaults", "STALE_STYLES", "PLUGIN_FIELDS"]

AJAX_PATH = "/wp-admin/admin-ajax.php"
NONCE_ACTION = "wpaicg-chatbox"  # wp_create_nonce('wpaicg-chatbox') in the widget templates
CHAT_ACTIONS = ("wpaicg_chat_shortcode_message", "wpaicg_chatbox_message")
NONCE_LIFE = 86400  # WordPress's default nonce_life
SESSION_COOKIE = "wp_guest_session"
CONVERSATION_COOKIE = "wpaicg_conversation_url_shortcode"
#: The fields the plugin's script (public/js/wpaicg-chat.js) always sends with a text message.
PLUGIN_FIELDS = ("_wpnonce", "post_id", "url", "action", "message", "bot_id", "chatbot_identity",
                 "wpaicg_chat_client_id", "wpaicg_chat_history")
NOTHING_INPUTTED = "It appears that nothing was inputted."
INVALID_NONCE_2023 = ("Invalid nonce. This means we are unable to verify the validity of the nonce. There are "
                      "couple of possible reasons for this. 1. A cache plugin is caching the nonce. 2. The nonce "
                      "has expired. 3. Invalid SSL certificate. 4. Network issue. Please check and try again.")
#: How a refused nonce is answered: style -> (status, content type, body). "{referer}" is filled in.
STALE_STYLES: dict[str, tuple[int, str, str]] = {
    # plugin 1.8.x up to 1.8.90: wp_verify_nonce, then wp_send_json of its result array
    "plugin_json": (200, "json", '{"status":"error","msg":"Nonce verification failed"}'),
    # plugin 2023 (AI Power): the same shape, with WPAICG_NONCE_ERROR as the message
    "plugin_json_2023": (200, "json", '{"status":"error","msg":"%s"}' % INVALID_NONCE_2023),
    # plugin 1.8.91+: check_admin_referer -> wp_nonce_ays -> wp_die(..., 403) in the Ajax handler
    "admin_referer": (403, "html", "The link you followed has expired.{referer}"),
    # WordPress's check_ajax_referer: wp_die(-1, 403)
    "ajax_referer": (403, "html", "-1"),
    # wp_send_json_error('Nonce verification failed.'), the plugin's lead form (1.8.88-1.8.90)
    "json_error": (200, "json", '{"success":false,"data":"Nonce verification failed."}'),
    # plugin 2.x chat: wp_send_json_error(['message' => ...], 403)
    "json_error_403": (403, "json", '{"success":false,"data":{"message":"Security check failed. Please '
                                    'refresh the page and try again."}}'),
}
_CHALLENGE_HTML = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head>
<body><div id="challenge-body-text">Checking if the site connection is secure</div>
<script>window._cf_chl_opt={cType:'managed'};</script></body></html>
"""
_JSON = "application/json; charset=UTF-8"
_HTML = "text/html; charset=UTF-8"  # admin-ajax.php sends this header before anything else


@dataclass
class Chatgpt4oFaults:
    """Failure switches, all off by default; mutate them freely between requests.

    ``stale_nonce_first = K``: the next K admin-ajax posts find the nonce expired (the nonce key
    rotates just before the check), refused in ``stale_style``. Assigning it again re-arms it.
    """

    stale_nonce_first: int = 0
    stale_style: str = "plugin_json"
    page_without_nonce: bool = False
    page_without_post_id: bool = False
    challenge_page: bool = False
    challenge_ajax: bool = False
    challenge_status: int = 403
    success_false: str | None = None  # wp_send_json_error(['message' => ...]) after a good nonce
    plugin_error: str | None = None  # the plugin's own error: {"status": "error", "msg": ...}
    empty_data: bool = False
    stale_used: int = field(default=0, init=False, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "stale_nonce_first":
            object.__setattr__(self, "stale_used", 0)
        if name == "stale_style" and value not in STALE_STYLES:
            raise ValueError(f"stale_style must be one of {sorted(STALE_STYLES)}")
        object.__setattr__(self, name, value)


class _Handler(EmulatorHandler):
    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate small writes; without NODELAY, Nagle plus delayed
        # ACKs add 40 ms to every answer.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    @property
    def site(self) -> Chatgpt4oEmulator:
        return cast(Chatgpt4oEmulator, self.server.emulator)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def _dispatch(self) -> None:
        raw = self.read_body()  # always drained, so an error answer leaves the connection reusable
        path = urlsplit(self.path).path
        if path == AJAX_PATH:
            self._ajax(raw)
        elif self.command == "GET" and path in ("/", "/index.php"):
            self._page()
        else:
            self.send_html(404, "<!DOCTYPE html><html><head><title>Page not found</title></head></html>")

    def _cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except CookieError:
            return {}
        return {name: morsel.value for name, morsel in jar.items()}

    # ------------------------------------------------------------------ the page
    def _page(self) -> None:
        site, faults = self.site, self.site.faults
        site.count("page_loads")
        if faults.challenge_page:
            self.send_html(faults.challenge_status, _CHALLENGE_HTML)
            return
        session = self._cookies().get(SESSION_COOKIE)
        headers = {}
        if not session:
            session = secrets.token_hex(16)
            headers["Set-Cookie"] = f"{SESSION_COOKIE}={session}; path=/; HttpOnly; SameSite=Lax"
        self.send_html(200, site.page_html(session), headers)

    # ------------------------------------------------------------------ admin-ajax.php
    def _ajax(self, raw: bytes) -> None:
        site, faults = self.site, self.site.faults
        site.count("ajax_posts")
        if faults.challenge_ajax:
            self.send_html(faults.challenge_status, _CHALLENGE_HTML)
            return
        form = _form(self.path, self.headers.get("Content-Type", ""), raw)
        if form.get("action") not in CHAT_ACTIONS:  # admin-ajax.php: no such (nopriv) action
            self.send_bytes(400, b"0", _HTML)
            return
        if site.take_stale():
            site.rotate_nonce()
        cookies = self._cookies()
        if not site.verify_nonce(form.get("_wpnonce", ""), cookies.get(SESSION_COOKIE, "")):
            site.count("stale_answers")
            status, kind, body = STALE_STYLES[faults.stale_style]
            referer = self.headers.get("Referer")
            link = f'</p><p><a href="{referer}">Please try again.</a>' if referer else ""
            self.send_bytes(status, body.replace("{referer}", link).encode(), _JSON if kind == "json" else _HTML)
            return
        problem = site.form_problem(form)
        if problem:
            self.send_json(400, {"status": "error", "msg": f"emulator: {problem}"})
            return
        message = _sanitize_text_field(form.get("message", ""))
        if not message:
            self.send_json(200, {"status": "error", "msg": NOTHING_INPUTTED})
        elif faults.success_false is not None:
            self.send_json(200, {"success": False, "data": {"message": faults.success_false}})
        elif faults.plugin_error is not None:
            self.send_json(200, {"status": "error", "msg": faults.plugin_error})
        else:
            data = "" if faults.empty_data else (site.reply if site.reply is not None else f"Echo: {message}")
            site.count("answers")
            cookie = f"{CONVERSATION_COOKIE}={secrets.token_hex(16)}; path=/; expires=Fri, 01 Jan 2100 00:00:00 GMT"
            self.send_json(200, {"status": "success", "msg": "Something went wrong", "data": data},
                           {"Set-Cookie": cookie})

    def send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        # wp_send_json's header, charset included
        self.send_bytes(status, json.dumps(payload).encode(), _JSON, headers)


def _form(path: str, content_type: str, raw: bytes) -> dict[str, str]:
    """``$_REQUEST``: the query string and the body, url-encoded or multipart (the browser's FormData)."""
    fields = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if name and isinstance(payload, bytes):
                fields[str(name)] = payload.decode("utf-8", "replace")
    else:
        fields.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return fields


def _sanitize_text_field(text: str) -> str:
    """Roughly WordPress's sanitize_text_field: tags stripped, whitespace runs (newlines too) made
    one space, trimmed. The plugin applies it to the message, so the model sees one line."""
    return " ".join(re.sub(r"<[^>]*>", "", text).split())


def _attribute(name: str, value: str, quote: str, spaced: bool) -> str:
    return f"{name}{' = ' if spaced else '='}{quote}{value}{quote}"


class Chatgpt4oEmulator(EmulatorServer):
    """chatgpt4o.one on 127.0.0.1. Page options are public attributes, mutable between requests:
    ``attribute_order`` ("plugin": the plugin template's order, "reversed"), ``quote`` ('"', "'" or
    "" for unquoted) and ``spaced`` (spaces around ``=``, as parts of the real template have)."""

    handler_class = _Handler

    def __init__(self, *, reply: str | None = None, post_id: int = 42, bot_id: str = "0",
                 attribute_order: str = "plugin", quote: str = '"', spaced: bool = False) -> None:
        super().__init__()
        self.reply = reply
        self.post_id = post_id
        self.bot_id = bot_id
        self.attribute_order = attribute_order
        self.quote = quote
        self.spaced = spaced
        self.faults = Chatgpt4oFaults()
        self._key = secrets.token_bytes(32)
        self._count_lock = threading.Lock()
        self.page_loads = self.ajax_posts = self.stale_answers = self.answers = 0

    def start(self) -> Chatgpt4oEmulator:
        super().start()
        return self

    def __enter__(self) -> Chatgpt4oEmulator:
        return self.start()

    # ------------------------------------------------------------------ nonces, as WordPress makes them
    def _nonce(self, tick: int, session: str) -> str:
        # wp_create_nonce: substr(wp_hash("$tick|$action|$uid|$token", 'nonce'), -12, 10), wp_hash
        # being an HMAC-MD5; for a guest the filtered uid is the session (token is empty).
        digest = hmac.new(self._key, f"{tick}|{NONCE_ACTION}|{session}|".encode(), "md5").hexdigest()
        return digest[-12:-2]

    @staticmethod
    def _tick() -> int:
        return math.ceil(time.time() / (NONCE_LIFE / 2))

    def create_nonce(self, session: str) -> str:
        with self._count_lock:
            return self._nonce(self._tick(), session)

    def verify_nonce(self, nonce: str, session: str) -> bool:
        """wp_verify_nonce: good for this tick and the one before (12-24 hours)."""
        if not nonce:
            return False
        with self._count_lock:
            tick = self._tick()
            return any(hmac.compare_digest(self._nonce(t, session), nonce) for t in (tick, tick - 1))

    def rotate_nonce(self) -> None:
        """Expire every nonce issued so far (what time does to a real one)."""
        with self._count_lock:
            self._key = secrets.token_bytes(32)

    # ------------------------------------------------------------------ bookkeeping
    def count(self, name: str) -> None:
        with self._count_lock:
            setattr(self, name, getattr(self, name) + 1)

    def take_stale(self) -> bool:
        with self._count_lock:
            if self.faults.stale_used < self.faults.stale_nonce_first:
                self.faults.stale_used += 1
                return True
            return False

    def reset(self) -> None:
        """Counters, recorded requests and faults back to the start; page options kept."""
        self.reset_counters()
        with self._count_lock:
            self.page_loads = self.ajax_posts = self.stale_answers = self.answers = 0
        self.faults = Chatgpt4oFaults()

    def form_problem(self, form: dict[str, str]) -> str | None:
        missing = [name for name in PLUGIN_FIELDS if name not in form]
        if missing:
            return f"missing form field(s): {', '.join(missing)}"
        if form["post_id"] != str(self.post_id):
            return f"post_id {form['post_id']!r} is not this page's ({self.post_id})"
        return None

    # ------------------------------------------------------------------ the page
    def page_html(self, session: str) -> str:
        attributes = [("class", "wpaicg-chat-shortcode"), ("data-user-bg-color", "#444654"),
                      ("data-ai-name", "AI"), ("data-post-id", str(self.post_id)),
                      ("data-nonce", self.create_nonce(session)), ("data-url", self.origin + "/"),
                      ("data-bot-id", self.bot_id), ("data-type", "shortcode")]
        if self.faults.page_without_nonce:
            attributes = [a for a in attributes if a[0] != "data-nonce"]
        if self.faults.page_without_post_id:
            attributes = [a for a in attributes if a[0] != "data-post-id"]
        if self.attribute_order == "reversed":
            attributes.reverse()
        widget = " ".join(_attribute(n, v, self.quote, self.spaced) for n, v in attributes)
        # A theme element with another post id before the widget: the widget's own must win.
        decoy = "" if self.faults.page_without_post_id else '<a class="related" data-post-id="7" href="/?p=7">More</a>'
        return ("<!DOCTYPE html>\n<html lang=\"en-US\"><head><meta charset=\"UTF-8\">"
                "<title>ChatGPT 4o Free</title></head>\n"
                f"<body class=\"home page-id-{self.post_id}\">{decoy}\n<div {widget}>\n"
                "<div class=\"wpaicg-chat-shortcode-messages\"></div></div>\n</body></html>\n")
