"""ChatGPT access tokens as JWTs: their claims and expiry, read (never verified: the server does).

A module of its own so that :mod:`.har` (which picks the freshest token of a recording) and
:mod:`.auth` both use it without importing each other.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

__all__ = ["jwt_claims", "jwt_expiry", "token_expired"]


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, decoded with the URL-safe alphabet (RFC 7515; the public implementation
    used the standard one and broke on ``-``/``_``), missing padding tolerated. ``{}`` when ``token``
    is not a JWT."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or not parts[1]:
        return {}
    payload = parts[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return {}
    return claims if isinstance(claims, dict) else {}


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim (Unix seconds), or None when the token is not a JWT or has none."""
    exp = jwt_claims(token).get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    return float(exp)


def token_expired(token: str, *, now: float | None = None, leeway: float = 30.0) -> bool:
    """True when the JWT's ``exp`` is less than ``leeway`` seconds away (or past). A token without a
    readable expiry is not judged expired: the server decides."""
    exp = jwt_expiry(token)
    if exp is None:
        return False
    return (time.time() if now is None else now) + leeway >= exp
