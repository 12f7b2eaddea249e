"""The emulator's sign-in page, for browser logins driven by a real Chromium.

Logged out, the site root shows a sign-in form; ``POST /auth/login`` with the account's email and
password sets the ``__Secure-next-auth.session-token`` cookie and redirects to ``/``. Logged in, the
page's script does what chatgpt.com's does after a sign-in: it reads ``/api/auth/session`` and calls
``/backend-api/me`` with ``Authorization: Bearer <accessToken>`` and the device id header.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from .auth import SESSION_COOKIE_NAME

__all__ = ["LOGIN_PATH", "DEFAULT_PASSWORD", "page_extra", "parse_login_form", "session_cookie_header",
           "login_failed_page"]

LOGIN_PATH = "/auth/login"
DEFAULT_PASSWORD = "emulator-password"

_FORM = f"""<form id="login" method="post" action="{LOGIN_PATH}">
<label>Email <input name="email" type="email" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Log in</button></form>"""

# What the real site does once signed in: session -> token -> an authorized /backend-api call.
# The result lands in <body data-me="..."> so a test can see the page finished.
_SIGNED_IN_SCRIPT = """<script>
fetch("/api/auth/session", {credentials: "include"}).then(r => r.json()).then(s => {
  const did = (document.cookie.match(/(?:^|; )oai-did=([^;]*)/) || [])[1] || "";
  return fetch("/backend-api/me", {headers: {"Authorization": "Bearer " + s.accessToken, "oai-device-id": did}});
}).then(r => { document.body.dataset.me = String(r.status); }, e => { document.body.dataset.me = "error"; });
</script>"""


def page_extra(signed_in: bool) -> str:
    """What the site root adds after its content: the script when signed in, else the form."""
    return _SIGNED_IN_SCRIPT if signed_in else _FORM


def parse_login_form(body: bytes) -> tuple[str, str]:
    """(email, password) from an ``application/x-www-form-urlencoded`` body ('' when missing)."""
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return fields.get("email", [""])[0], fields.get("password", [""])[0]


def session_cookie_header(value: str) -> str:
    """The Set-Cookie of a signed-in session. ``Secure`` whatever the scheme: the ``__Secure-``
    prefix demands it, and browsers accept it from http://127.0.0.1, a secure context."""
    return f"{SESSION_COOKIE_NAME}={value}; Path=/; Max-Age=2592000; HttpOnly; Secure; SameSite=Lax"


def login_failed_page() -> str:
    return ("<!DOCTYPE html><html><head><title>Log in</title></head><body><p id=\"error\">Wrong email or "
            f"password.</p>{_FORM}</body></html>")
