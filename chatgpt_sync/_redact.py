"""Secret redaction for logs, reprs and error messages (DESIGN.md rule 7).

A leaf module: it imports nothing from the package, so errors, logging and reprs can all use it.
"""

from __future__ import annotations

import re
from typing import Mapping

REDACTED = "[redacted]"

# Header names whose values are secrets, compared lower-case.
SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
    "openai-sentinel-chat-requirements-token", "openai-sentinel-proof-token",
    "openai-sentinel-turnstile-token", "openai-sentinel-arkose-token", "x-conduit-token",
})

# Values that look like secrets wherever they appear in free text: bearer credentials, OpenAI-style
# keys, JWTs (access tokens), sentinel tokens ("gAAAAA..."), and cookie/key assignments.
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    re.compile(r"\bgAAAAA[A-Za-z0-9_=+/-]{16,}"),
    re.compile(r"(?i)((?:api[_-]?key|access[_-]?token|session[_-]?token|__Secure-next-auth\.session-token|"
               r"cookie|password|secret)[\"']?\s*[:=]\s*[\"']?)[^\"'\s,;&}]{4,}"),
]


def redact_text(text: str) -> str:
    """Replace anything in ``text`` that looks like a credential with ``[redacted]``."""
    if not text:
        return text
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with secret values replaced."""
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def mask_secret(value: str | None) -> str:
    """Show that a secret is set without showing it (for reprs)."""
    if not value:
        return "None"
    return REDACTED
