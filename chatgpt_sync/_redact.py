"""Secret redaction for logs, reprs and error messages (DESIGN.md rule 7).

A leaf module: it imports nothing from the package, so errors, logging and reprs can all use it.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

REDACTED = "[redacted]"

# Header names whose values are secrets, compared lower-case.
SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
    "openai-sentinel-chat-requirements-token", "openai-sentinel-proof-token",
    "openai-sentinel-turnstile-token", "openai-sentinel-arkose-token", "x-conduit-token",
})

# JSON keys whose string values are secrets wherever they appear in a body, compared lower-case
# with "-" read as "_" (servers echo credentials back in error bodies under such names).
SECRET_KEYS = frozenset({
    "authorization", "proxy_authorization", "cookie", "set_cookie", "x_api_key", "api_key", "apikey",
    "access_token", "refresh_token", "session_token", "id_token", "token", "password", "secret",
    "client_secret",
})

# Deeper than this a body is not walked any further but replaced whole (no RecursionError on hostile JSON).
_MAX_DEPTH = 64

# Values that look like secrets wherever they appear in free text: the password of a URL
# (scheme://user:password@host, as in a base_url or a proxy), bearer credentials, OpenAI-style keys,
# JWTs (access tokens), sentinel tokens ("gAAAAA..."), and cookie/key assignments.
# Compiled on first use (see _patterns): most runs never redact anything, and compiling costs import time.
_PATTERN_SOURCES = (
    # RFC 3986 userinfo cannot hold "/", "?", "#" or "@", so the match cannot run into a path.
    r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/?#@]*:)[^\s/?#@]+(?=@)",
    r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}",
    r"\bsk-[A-Za-z0-9_-]{8,}",
    r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
    r"\bgAAAAA[A-Za-z0-9_=+/-]{16,}",
    r"(?i)((?:api[_-]?key|access[_-]?token|session[_-]?token|__Secure-next-auth\.session-token|"
    r"cookie|password|secret)[\"']?\s*[:=]\s*[\"']?)[^\"'\s,;&}]{4,}",
    # Credentials carried in a URL's query (GPTalk's stream token, ?key= APIs): logged URLs stay safe.
    r"(?i)([?&](?:token|stream_token|access_token|key|api[_-]?key|sig|signature)=)[^&\s#\"']+",
)
_compiled: tuple[re.Pattern[str], ...] = ()


def _patterns() -> tuple[re.Pattern[str], ...]:
    global _compiled
    if not _compiled:  # a race only compiles twice; the assignment is atomic
        _compiled = tuple(re.compile(source) for source in _PATTERN_SOURCES)
    return _compiled


def redact_text(text: str) -> str:
    """Replace anything in ``text`` that looks like a credential with ``[redacted]``."""
    if not text:
        return text
    for pattern in _patterns():
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def redact_value(value: Any, _depth: int = 0) -> Any:
    """A copy of a parsed body (dicts, lists, tuples, strings) with every secret in it redacted.

    Strings go through :func:`redact_text`; string values under a secret key name (``api_key``,
    ``token``, ...) are replaced whole. Other values are returned as they are.
    """
    if isinstance(value, str):
        return redact_text(value)
    if _depth >= _MAX_DEPTH and isinstance(value, (Mapping, list, tuple)):
        return REDACTED
    if isinstance(value, Mapping):
        return {key: (REDACTED if isinstance(item, str) and item and isinstance(key, str)
                      and key.lower().replace("-", "_") in SECRET_KEYS
                      else redact_value(item, _depth + 1))
                for key, item in value.items()}
    if isinstance(value, list):
        return [redact_value(item, _depth + 1) for item in value]
    if isinstance(value, tuple):
        return tuple(redact_value(item, _depth + 1) for item in value)
    return value


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with secret values replaced."""
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def mask_secret(value: str | None) -> str:
    """Show that a secret is set without showing it (for reprs)."""
    if not value:
        return "None"
    return REDACTED
