"""Access tokens and the cookie session of the authenticated chatgpt.com emulator.

The real access token is an RS256 JWT issued by auth.openai.com; the emulator accepts *unsigned*
ones (``base64url(header).base64url(payload).``) but reads them the way the service does: three
dot-separated URL-safe base64 segments, a JSON payload with a numeric ``exp`` that must be in the
future, and the account claims under ``https://api.openai.com/auth`` / ``.../profile``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from ._state import Refusal

__all__ = [
    "AUTH_CLAIM",
    "DEFAULT_EMAIL",
    "PROFILE_CLAIM",
    "SESSION_COOKIE",
    "SESSION_COOKIE_NAME",
    "Claims",
    "decode_access_token",
    "expired_refusal",
    "iso_time",
    "make_access_token",
    "session_cookie_value",
    "user_id_for",
]

SESSION_COOKIE_NAME = "__Secure-next-auth.session-token"
#: The emulator's fixed session cookie value (an encrypted next-auth JWE in real life; opaque here).
SESSION_COOKIE = ("eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..ZW11bGF0b3Itc2Vzc2lvbg."
                  "bG9vcGJhY2stb25seS1zZXNzaW9uLWNvb2tpZS1mb3ItdGVzdHM.Y2hhdGdwdC1zeW5j")
DEFAULT_EMAIL = "user@example.com"
PROFILE_CLAIM = "https://api.openai.com/profile"
AUTH_CLAIM = "https://api.openai.com/auth"
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_EXPIRED = {"message": "Your authentication token has expired. Please try signing in again.",
            "type": "invalid_request_error", "param": None, "code": "token_expired"}


@dataclass(frozen=True)
class Claims:
    """What the emulator takes from a valid access token."""

    token: str
    user_id: str
    email: str
    name: str
    exp: float
    iat: float | None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def user_id_for(email: str) -> str:
    """The account id the emulator gives ``email`` (stable: the same email is the same account)."""
    return "user-" + hashlib.sha256(email.lower().encode()).hexdigest()[:24]


def iso_time(seconds: float) -> str:
    """``2025-01-31T12:00:00.000000Z``: the timestamp form the web backend uses in JSON."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_access_token(*, exp: float | None = None, email: str = DEFAULT_EMAIL, name: str | None = None,
                      user_id: str | None = None, iat: float | None = None, lifetime: float = 3600.0) -> str:
    """An unsigned access token the emulator accepts: ``header.payload.`` (URL-safe base64, no padding).

    ``exp`` defaults to ``iat + lifetime`` (``iat`` defaults to now); pass a past ``exp`` to get a
    token the emulator refuses as expired. Each call makes a distinct token (a fresh ``jti``).
    """
    issued = int(time.time()) if iat is None else int(iat)
    expires = issued + lifetime if exp is None else exp
    header = {"alg": "none", "typ": "JWT"}
    profile: dict[str, Any] = {"email": email, "email_verified": True}
    if name is not None:
        profile["name"] = name
    payload = {
        "aud": ["https://api.openai.com/v1"],
        "client_id": "app_X8zY6vW2pQ9tR3dE7nK1jL5gH",
        "exp": int(expires),
        PROFILE_CLAIM: profile,
        AUTH_CLAIM: {"user_id": user_id or user_id_for(email), "poid": "org-emulator"},
        "iat": issued,
        "iss": "https://auth.openai.com",
        "jti": str(uuid.uuid4()),
        "nbf": issued,
        "scp": ["openid", "email", "profile", "offline_access", "model.request", "model.read"],
        "sub": "auth0|" + hashlib.sha256(email.lower().encode()).hexdigest()[:24],
    }
    return (_b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
            + _b64url(json.dumps(payload, separators=(",", ":")).encode()) + ".")


def _segment_json(segment: str) -> Any:
    if not _SEGMENT.fullmatch(segment):
        raise ValueError("not URL-safe base64")
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    return json.loads(raw.decode("utf-8"))


def _unparsable(problem: str) -> Refusal:
    return Refusal(401, f"Could not parse your authentication token ({problem}). Please try signing in again.")


def decode_access_token(authorization: str | None, *, now: float | None = None) -> Claims:
    """Check an ``Authorization`` header: Bearer, a well-formed JWT, ``exp`` in the future.

    Raises :class:`Refusal` 401: missing or non-Bearer header, a token that does not parse, or an
    expired one (the service's ``token_expired`` error object).
    """
    if not authorization:
        raise Refusal(401, "Missing Authorization header: send 'Authorization: Bearer <access token>' "
                           "(the accessToken of /api/auth/session).")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refusal(401, "Authorization header must be 'Bearer <access token>'.")
    token = token.strip()
    parts = token.split(".")
    if len(parts) != 3:
        raise _unparsable(f"a JWT has 3 dot-separated segments, this has {len(parts)}")
    try:
        header, payload = _segment_json(parts[0]), _segment_json(parts[1])
    except (ValueError, binascii.Error):
        raise _unparsable("its header or payload is not URL-safe base64 of JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise _unparsable("the header has no alg")
    if not isinstance(payload, dict):
        raise _unparsable("the payload is not a JSON object")
    exp = payload.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        raise _unparsable("the payload has no numeric exp")
    auth, profile = payload.get(AUTH_CLAIM), payload.get(PROFILE_CLAIM)
    user_id = auth.get("user_id") if isinstance(auth, dict) else None
    email = profile.get("email") if isinstance(profile, dict) else None
    if not isinstance(user_id, str) or not user_id or not isinstance(email, str) or not email:
        raise _unparsable(f"it carries no {AUTH_CLAIM} user_id or {PROFILE_CLAIM} email")
    if exp <= (time.time() if now is None else now):
        raise expired_refusal()
    name = profile.get("name") if isinstance(profile, dict) else None
    iat = payload.get("iat")
    return Claims(token=token, user_id=user_id, email=email,
                  name=name if isinstance(name, str) and name else email.split("@")[0].capitalize(),
                  exp=float(exp), iat=float(iat) if isinstance(iat, (int, float)) else None)


def expired_refusal() -> Refusal:
    """401 with the service's ``token_expired`` error object as ``detail``."""
    return Refusal(401, str(_EXPIRED["message"]), body={"detail": dict(_EXPIRED)})


def session_cookie_value(cookies: Mapping[str, str]) -> str | None:
    """The next-auth session cookie, joined when next-auth split it (``name.0``, ``name.1``, ...)."""
    whole = cookies.get(SESSION_COOKIE_NAME)
    if whole is not None:
        return whole
    pieces = []
    index = 0
    while f"{SESSION_COOKIE_NAME}.{index}" in cookies:
        pieces.append(cookies[f"{SESSION_COOKIE_NAME}.{index}"])
        index += 1
    return "".join(pieces) if pieces else None
