"""A loopback emulator of the authenticated chatgpt.com web backend (``/backend-api``).

``OpenaiChatEmulator`` serves the site root (with a sign-in form for browser logins, see
:mod:`.login_page`), the cookie session (``/api/auth/session``), and every
``/backend-api`` route the ``OpenaiChat`` provider uses: prepare, sentinel (verified proof of work),
the streamed conversation in both encodings (citations, thinking, generated and async images,
``max_tokens`` continuation), files (with a separate blob-store server for the bytes), downloads,
conversation history (list, get with the ``mapping`` tree, rename, hide), read-aloud, models and
``/me``. ``ChatFaults`` switches walls and broken streams on; ``make_access_token`` mints the
unsigned JWTs it accepts.
"""

from __future__ import annotations

from ._state import ChatFaults, Refusal
from .audio import synthesized_audio
from .auth import DEFAULT_EMAIL, SESSION_COOKIE, SESSION_COOKIE_NAME, make_access_token, user_id_for
from .blobstore import BlobStore, Upload
from .emulator import OpenaiChatEmulator
from .images import image_info, png_bytes
from .turns import ASYNC_IMAGE_TEXT, search_results, thought_texts

__all__ = ["OpenaiChatEmulator", "ChatFaults", "Refusal", "make_access_token", "user_id_for", "SESSION_COOKIE",
           "SESSION_COOKIE_NAME", "DEFAULT_EMAIL", "BlobStore", "Upload", "synthesized_audio", "image_info",
           "png_bytes", "ASYNC_IMAGE_TEXT", "search_results", "thought_texts"]
