"""A two-turn streamed conversation with chatgpt.com, without an account.

What you need: nothing but network access (no account, no API key).

Environment variables it reads:
  CHATGPT_SYNC_BASE_URL    optional: point at an emulator or a proxy instead of https://chatgpt.com
  CHATGPT_TURNSTILE_TOKEN  optional: a turnstile token taken from your own browser session

The live service may demand a turnstile (anti-bot) token; without one the call raises
TurnstileRequiredError, whose message explains the options (a token, a solver callable, an access
token for OpenaiChat, or the API). This SDK does not solve such challenges.

Run offline with ``--demo``: it starts the loopback ChatGptWebEmulator and talks to it instead.

    python examples/chatgpt_anonymous.py          # the live service (or CHATGPT_SYNC_BASE_URL)
    python examples/chatgpt_anonymous.py --demo   # the local emulator, no network needed
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from chatgpt_sync import ChatGpt, ChatGPTSyncError, Conversation, TitleGeneration

QUESTIONS = ["Name one planet of the solar system.", "And one of its moons?"]


def converse(base_url: str | None, turnstile_token: str | None) -> None:
    """Ask the questions in one conversation, printing the answers as they stream in."""
    settings: dict[str, Any] = {}
    if base_url:
        settings["base_url"] = base_url
    if turnstile_token:
        settings["turnstile_token"] = turnstile_token
    messages: list[dict[str, Any]] = []
    conversation: Conversation | None = None
    with ChatGpt(**settings) as chat:
        for question in QUESTIONS:
            messages.append({"role": "user", "content": question})
            print(f"> {question}")
            answer: list[str] = []
            for piece in chat.create_completion("auto", messages, stream=True, conversation=conversation):
                if isinstance(piece, str):
                    answer.append(piece)
                    print(piece, end="", flush=True)
                elif isinstance(piece, Conversation):
                    conversation = piece  # passed back so the next turn continues this conversation
                elif isinstance(piece, TitleGeneration):
                    print(f"\n[title: {piece.title}]", end="")
            print()
            messages.append({"role": "assistant", "content": "".join(answer)})


def main(argv: list[str] | None = None) -> int:
    """Run the conversation; with ``--demo`` against a local emulator. Returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--demo", action="store_true", help="run against the local ChatGptWebEmulator")
    args = parser.parse_args(argv)
    try:
        if args.demo:
            from chatgpt_sync.testing.chatgpt_web import ChatGptWebEmulator

            with ChatGptWebEmulator() as server:
                print(f"(demo: emulator at {server.base_url})")
                converse(server.base_url, None)
        else:
            converse(os.environ.get("CHATGPT_SYNC_BASE_URL") or None,
                     os.environ.get("CHATGPT_TURNSTILE_TOKEN") or None)
    except ChatGPTSyncError as exc:
        print(f"\n{type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
