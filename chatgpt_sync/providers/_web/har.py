"""HAR recordings for ``OpenaiChat``'s ``har_file=``: the access token, cookies and user agent in them.

Better than the public implementation (protocols.md §1.2.4): a HAR without sentinel headers is fine
(and its stale sentinel headers are never reused), a token is never taken from a request to another
host, the freshest of several tokens wins, and in a folder of HARs one bad file does not hide the
others. A path that cannot be used is bad input reported before any network call (DESIGN rule 9);
tokens and cookies never reach a log line or a message (rule 7).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..._log import logger
from ...errors import InvalidRequestError, MissingAuthError
from ...types import AuthResult
from .cookies import host_matches, read_export
from .jwt import jwt_expiry

__all__ = ["HOW_TO_RECORD_HAR", "SESSION_PATH", "read_har"]

# Its JSON answer holds a signed-in browser's access token: a HAR's best source of one, and where
# auth.exchange_session trades cookies for a token.
SESSION_PATH = "/api/auth/session"
HOW_TO_RECORD_HAR = (
    "record a new one: sign in at https://chatgpt.com, open the developer tools' Network tab, reload "
    "the page so the /api/auth/session request is captured, then export the HAR with its content and "
    "sensitive data (Chrome: 'Export HAR (with sensitive data)'; Firefox: 'Save All As HAR')")


def _cookie_header(value: str) -> dict[str, str]:
    """The cookies of a ``Cookie`` request header, ``a=1; b=2``."""
    pairs = (part.partition("=") for part in value.split(";"))
    return {name.strip(): val.strip() for name, eq, val in pairs if eq and name.strip()}


def _items(value: Any) -> list[dict[str, Any]]:
    """The dicts of a HAR list field (headers, cookies, entries), whatever junk surrounds them."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _session_token(content: Any) -> tuple[str | None, str]:
    """(token, what the /api/auth/session response said) from a HAR response ``content``."""
    content = _mapping(content)
    text = _text(content.get("text"))
    if not text:
        return None, "its /api/auth/session response has no body saved"
    if content.get("encoding") == "base64":
        try:
            text = base64.b64decode(text).decode("utf-8", "replace")
        except (ValueError, binascii.Error):
            return None, "its /api/auth/session response body is not valid base64"
    try:
        body = json.loads(text)
    except ValueError:
        match = re.search(r'"accessToken"\s*:\s*"([^"]+)"', text)
        return (match.group(1), "") if match else (None, "its /api/auth/session response is not JSON")
    token = body.get("accessToken") if isinstance(body, dict) else None
    if isinstance(token, str) and token:
        return token, ""
    return None, "its /api/auth/session response says the browser was not signed in"


def _har_auth(data: Any, host: str) -> tuple[AuthResult | None, str]:
    """The credentials in one parsed HAR, or (None, what it lacked)."""
    log = data.get("log") if isinstance(data, dict) else None
    entries = _items(log.get("entries")) if isinstance(log, dict) else []
    if not entries:
        return None, "it has no entries (is it a HAR file?)"
    tokens: list[str] = []
    cookies: dict[str, str] = {}
    user_agent: str | None = None
    on_host = 0
    lacks = ""
    for entry in entries:
        request, response = _mapping(entry.get("request")), _mapping(entry.get("response"))
        url = urlsplit(_text(request.get("url")))
        # A token sent to any other host (an upload URL, an analytics service) is not ours to take.
        if not host_matches(url.hostname or "", host):
            continue
        on_host += 1
        for header in _items(request.get("headers")):
            name, value = _text(header.get("name")).lower(), _text(header.get("value"))
            if name == "authorization" and value[:7].lower() == "bearer ":
                if value[7:].strip() not in ("", "undefined", "null"):
                    tokens.append(value[7:].strip())
            elif name == "cookie":
                cookies.update(_cookie_header(value))
            elif name == "user-agent" and value:
                user_agent = value
        for cookie in _items(request.get("cookies")) + _items(response.get("cookies")):
            name = _text(cookie.get("name"))
            if name:
                cookies[name] = _text(cookie.get("value"))
        if url.path.rstrip("/").endswith(SESSION_PATH):
            token, lacks = _session_token(response.get("content"))
            if token:
                tokens.append(token)
    if not on_host:
        return None, f"none of its {len(entries)} requests went to {host}"
    if not tokens:
        return None, (lacks or f"none of its {on_host} requests to {host} carried an Authorization header "
                      f"and it has no /api/auth/session response")
    # The freshest token: the latest expiry, and among equals the last one recorded.
    token = max(reversed(tokens), key=lambda t: jwt_expiry(t) or 0.0)
    return AuthResult(token, cookies, user_agent, jwt_expiry(token)), ""


def read_har(path: str | os.PathLike[str], *, host: str = "chatgpt.com") -> AuthResult:
    """The access token, cookies and user agent recorded in a ``.har`` file, or in the newest HAR of
    a folder that yields a token. Sentinel headers (proof tokens) are neither needed nor kept: they
    are stale by the time the HAR is read.

    A path that is missing or unreadable, or a lone file that is not JSON, raises
    InvalidRequestError; a HAR without a token raises MissingAuthError saying what it lacked.
    """
    base = Path(path).expanduser()
    folder = base.is_dir()
    if folder:
        files = [p for p in base.iterdir() if p.suffix.lower() == ".har" and p.is_file()]
        if not files:
            raise InvalidRequestError(f"har_file: the folder {str(base)!r} holds no .har file")
        files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    else:
        files = [base]
    problems: list[str] = []
    unreadable = 0
    for file in files:
        try:
            text = read_export(file, "HAR file")
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise InvalidRequestError(f"HAR file {str(file)!r} is not valid JSON: {exc}") from None
        except InvalidRequestError as exc:
            if not folder:
                raise
            problems.append(exc.message)  # in a folder, one bad file does not hide the others
            unreadable += 1
            continue
        auth, lacks = _har_auth(data, host)
        if auth is not None:
            logger.debug("credentials read from the HAR file %s", file)
            return auth
        problems.append(f"{str(file)!r}: {lacks}")
    if unreadable == len(files):
        raise InvalidRequestError("har_file: no HAR could be read: " + "; ".join(problems))
    raise MissingAuthError("no ChatGPT access token in the HAR: " + "; ".join(problems)
                           + "; " + HOW_TO_RECORD_HAR)
