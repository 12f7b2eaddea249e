"""An independent sentinel proof-of-work verifier, for tests and the local emulator.

Written from the protocol description only (server-side view, protocols.md §2.6) and
deliberately shares no code with the solver in :mod:`chatgpt_sync.providers._web.pow`, so a
bug in one is not silently mirrored by the other. Stdlib only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

__all__ = [
    "ANSWER_PREFIX",
    "REQUIREMENTS_PREFIX",
    "GIVE_UP_PREFIX",
    "decode_token_config",
    "verify_answer_token",
    "verify_requirements_token",
]

ANSWER_PREFIX = "gAAAAAB"
REQUIREMENTS_PREFIX = "gAAAAAC"
# A client that gave up sends this marker followed by base64('"' + seed + '"').
GIVE_UP_PREFIX = "wQ8Lk5FbGpA2NcR9dShT6gYjU7VxZ4D"
_HEX = frozenset("0123456789abcdef")


def _payload(token: str, prefix: str) -> str | None:
    """Return the base64 payload after ``prefix``, without any ``~...`` suffix."""
    if not isinstance(token, str) or not token.startswith(prefix):
        return None
    # Browser-captured tokens may carry a "~..." suffix that is not part of the hashed payload.
    return token[len(prefix):].split("~", 1)[0]


def _decode_array(payload: str) -> list[Any] | None:
    """Strictly base64-decode ``payload`` into a JSON array, or ``None``."""
    try:
        raw = base64.b64decode(payload.encode("ascii"), validate=True)
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeError, binascii.Error, ValueError):
        return None
    return value if isinstance(value, list) else None


def decode_token_config(token: str) -> list[Any] | None:
    """Return the config array carried by a ``gAAAAAB``/``gAAAAAC`` token, or ``None``."""
    for prefix in (ANSWER_PREFIX, REQUIREMENTS_PREFIX):
        payload = _payload(token, prefix)
        if payload is not None:
            if payload.startswith(GIVE_UP_PREFIX):
                return None
            return _decode_array(payload)
    return None


def verify_answer_token(token: str, seed: str, difficulty: str) -> bool:
    """True iff ``token`` is a solved answer token for ``seed`` at ``difficulty``."""
    payload = _payload(token, ANSWER_PREFIX)
    if payload is None or not payload or payload.startswith(GIVE_UP_PREFIX):
        return False
    if not difficulty or not set(difficulty.lower()) <= _HEX:
        return False
    if _decode_array(payload) is None:
        return False
    # Hash the exact received text; re-encoding could differ from what the client hashed.
    digest = hashlib.sha3_512((seed + payload).encode("utf-8")).hexdigest()
    return digest[: len(difficulty)] <= difficulty.lower()


def verify_requirements_token(token: str) -> bool:
    """True iff ``token`` is a well-formed requirements token (18-element config, string UA)."""
    payload = _payload(token, REQUIREMENTS_PREFIX)
    if payload is None or payload.startswith(GIVE_UP_PREFIX):
        return False
    # The seed is never sent, so only the fingerprint's shape can be checked.
    config = _decode_array(payload)
    return config is not None and len(config) == 18 and isinstance(config[4], str)
