"""A two-turn conversation with chatgpt4o.one (a WordPress chat page), without an account.

What you need: nothing but network access (no account, no API key).

Environment variables it reads:
  CHATGPT4O_BASE_URL   optional: another site running the same WordPress chat plugin, or a proxy,
                       instead of https://chatgpt4o.one

``Chatgpt4o.working`` is False: the live site could not be checked when this was written, so the
live run may fail (the error says how). The site answers whole, so each answer arrives as one piece.

Run offline with ``--demo``: it starts the loopback Chatgpt4oEmulator and talks to it instead, and
expires the nonce between the turns to show the one automatic reload of the page.

    python examples/chatgpt4o_demo.py          # the live site (or CHATGPT4O_BASE_URL)
    python examples/chatgpt4o_demo.py --demo   # the local emulator, no network needed
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable

from chatgpt_sync import ChatGPTSyncError
from chatgpt_sync.providers.chatgpt4o import Chatgpt4o

QUESTIONS = ["Name one planet of the solar system.", "And one of its moons?"]


def converse(base_url: str | None, between_turns: Callable[[], None] = lambda: None) -> None:
    """Ask the questions in one conversation (the history goes with every question)."""
    settings: dict[str, Any] = {"base_url": base_url} if base_url else {}
    messages: list[dict[str, Any]] = []
    with Chatgpt4o(**settings) as chat:  # one instance: it keeps the page's nonce and the cookies
        for turn, question in enumerate(QUESTIONS):
            if turn:
                between_turns()
            messages.append({"role": "user", "content": question})
            print(f"> {question}")
            answer = []
            for piece in chat.create_completion("gpt-4o-mini", messages, stream=True):
                if isinstance(piece, str):
                    answer.append(piece)
                    print(piece, end="", flush=True)
            print()
            messages.append({"role": "assistant", "content": "".join(answer)})


def main(argv: list[str] | None = None) -> int:
    """Run the conversation; with ``--demo`` against a local emulator. Returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--demo", action="store_true", help="run against the local Chatgpt4oEmulator")
    args = parser.parse_args(argv)
    try:
        if args.demo:
            from chatgpt_sync.testing.chatgpt4o import Chatgpt4oEmulator

            with Chatgpt4oEmulator() as server:
                print(f"(demo: emulator at {server.base_url})")
                converse(server.base_url, between_turns=server.rotate_nonce)
                print(f"(page loads: {server.page_loads}, posts to admin-ajax.php: {server.ajax_posts}, "
                      f"stale nonces: {server.stale_answers})")
        else:
            converse(os.environ.get("CHATGPT4O_BASE_URL") or None)
    except ChatGPTSyncError as exc:
        print(f"\n{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
