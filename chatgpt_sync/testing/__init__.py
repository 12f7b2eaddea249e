"""Loopback emulators of the backends' protocols, for this package's tests and for yours.

Each emulator is a stdlib HTTP server on 127.0.0.1 (a free port), served from a background thread,
used as a context manager; ``server.base_url`` is what a client should use. They are strict: a
malformed body, a missing header or a wrong proof of work is rejected as the real service would.

- :class:`OpenAIEmulator`: the OpenAI Chat Completions API (``.faults`` for 429, 5xx, drops, stalls,
  HTML walls, malformed lines, ...).
- :class:`ChatGptWebEmulator`: the anonymous chatgpt.com web backend (sentinel that verifies proofs
  of work, both stream encodings, turnstile/blocked/rate-limit switches, a conversation store).
- :class:`OpenaiChatEmulator`: the authenticated chatgpt.com backend (``/backend-api``: session from
  cookies, prepare, sentinel, conversations with citations, thinking and images, files with a
  separate blob store, conversation history, speech, models).
- :class:`GPTalkEmulator`: gptalk.net (fingerprint login, tokens that expire and serve five
  requests, counted per token; stream tokens; cumulative-text SSE).
- :class:`Chatgpt4oEmulator`: the chatgpt4o.one WordPress plugin (page with ``post_id`` and nonce,
  ``admin-ajax.php``, every stale-nonce answer WordPress and the plugin give).
- :func:`verify_answer_token`: an independent proof-of-work verifier.
"""

from __future__ import annotations

from .chatgpt4o import Chatgpt4oEmulator, Chatgpt4oFaults
from .chatgpt_web import ChatGptWebEmulator, WebFaults
from .gptalk import GPTalkEmulator, GPTalkFaults
from .openai_chat import ChatFaults, OpenaiChatEmulator
from .openai_api import Faults, OpenAIEmulator
from .pow_verifier import verify_answer_token, verify_requirements_token

__all__ = ["OpenAIEmulator", "Faults", "ChatGptWebEmulator", "WebFaults", "GPTalkEmulator", "GPTalkFaults",
           "Chatgpt4oEmulator", "Chatgpt4oFaults", "OpenaiChatEmulator", "ChatFaults", "verify_answer_token", "verify_requirements_token"]
