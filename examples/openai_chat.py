"""Chat with chatgpt.com as yourself: a streamed two-turn conversation, then your conversation list.

What you need: your own chatgpt.com account's credentials, one of (first found wins):
  - an access token: signed in at https://chatgpt.com, open https://chatgpt.com/api/auth/session
    and copy "accessToken" (it expires after a while);
  - a cookie export of a signed-in browser (cookies.txt or JSON), exchanged for a token;
  - a HAR file recorded on chatgpt.com while signed in (developer tools, Network tab);
  - the auth cache file written by an earlier successful call.

Environment variables it reads:
  CHATGPT_ACCESS_TOKEN     an access token (OpenaiChat reads it itself)
  CHATGPT_COOKIES          optional: the path of a cookie export
  CHATGPT_HAR_FILE         optional: the path of a .har file (or a folder of them)
  CHATGPT_SYNC_BASE_URL    optional: point at an emulator or a proxy instead of https://chatgpt.com

Run offline with ``--demo``: it starts the loopback OpenaiChatEmulator, takes a token it issues,
and talks to it instead (with a throwaway auth cache file).

    python examples/openai_chat.py          # the live service, with your credentials
    python examples/openai_chat.py --demo   # the local emulator, no network or account needed
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from chatgpt_sync import ChatGPTSyncError, Conversation, OpenaiChat, TitleGeneration

QUESTIONS = ["Name one planet of the solar system.", "And one of its moons?"]


def converse(settings: dict[str, Any]) -> None:
    """Ask the questions in one conversation (streamed), then list the latest conversations."""
    messages: list[dict[str, Any]] = []
    conversation: Conversation | None = None
    with OpenaiChat(**settings) as chat:
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
        print("Your latest conversations:")
        for summary in chat.list_conversations(limit=5):
            print(f"  {summary.id}  {summary.title or '(untitled)'}")


def main(argv: list[str] | None = None) -> int:
    """Run the conversation; with ``--demo`` against a local emulator. Returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--demo", action="store_true", help="run against the local OpenaiChatEmulator")
    args = parser.parse_args(argv)
    try:
        if args.demo:
            from chatgpt_sync.testing.openai_chat import OpenaiChatEmulator

            with OpenaiChatEmulator() as server, tempfile.TemporaryDirectory() as cache:
                print(f"(demo: emulator at {server.base_url})")
                converse({"base_url": server.base_url, "api_key": server.access_token(),
                          "auth_file": str(Path(cache) / "auth.json")})
        else:
            settings: dict[str, Any] = {}
            if os.environ.get("CHATGPT_SYNC_BASE_URL"):
                settings["base_url"] = os.environ["CHATGPT_SYNC_BASE_URL"]
            if os.environ.get("CHATGPT_COOKIES"):
                settings["cookies"] = os.environ["CHATGPT_COOKIES"]
            if os.environ.get("CHATGPT_HAR_FILE"):
                settings["har_file"] = os.environ["CHATGPT_HAR_FILE"]
            converse(settings)
    except ChatGPTSyncError as exc:
        print(f"\n{type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
