"""A loopback emulator of the anonymous chatgpt.com web backend (``/backend-anon``).

``ChatGptWebEmulator`` serves the site root, the sentinel (which verifies proofs of work and issues
single-use chat-requirements tokens bound to the device and user agent) and the streamed
conversation in both encodings, with ``faults`` switches for walls, rate limits and broken streams.
"""

from __future__ import annotations

from ._state import IssuedToken, WebFaults
from .emulator import ChatGptWebEmulator

__all__ = ["ChatGptWebEmulator", "WebFaults", "IssuedToken"]
