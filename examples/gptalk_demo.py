"""Stream a few answers from GPTalk (gptalk.net) with one instance, showing its token reuse.

What you need: network access; no account or key (GPTalk logs in by itself, anonymously).

Environment variables it reads:
  GPTALK_BASE_URL   optional: point at an emulator or a mirror instead of https://gptalk.net

GPTalk.working is False: the live service could not be checked and the public implementation
dropped it, so expect a connection or status error against the real site. ``--demo`` runs the same
code against the loopback GPTalkEmulator and prints what the server counted (logins, token uses).

    python examples/gptalk_demo.py          # the live service (or GPTALK_BASE_URL)
    python examples/gptalk_demo.py --demo   # the local emulator, no network needed
"""

from __future__ import annotations

import argparse
import os
import sys

from chatgpt_sync.errors import ChatGPTSyncError
from chatgpt_sync.providers.gptalk import GPTalk
from chatgpt_sync.types import FinishReason

QUESTIONS = ["Name a planet.", "Name a moon.", "Name a comet.", "Name a star.", "Name a galaxy.",
             "Name a nebula."]


def ask_all(base_url: str | None) -> None:
    """Ask each question on one instance: one login serves five of them."""
    settings = {"base_url": base_url} if base_url else {}
    with GPTalk(**settings) as chat:
        for question in QUESTIONS:
            print(f"> {question}")
            for piece in chat.create_completion("gpt-3.5-turbo", [{"role": "user", "content": question}],
                                                stream=True):
                if isinstance(piece, str):
                    print(piece, end="", flush=True)
                elif isinstance(piece, FinishReason) and piece.reason is None:
                    print(" [the stream ended before the answer was finished]", end="")
            print()


def main(argv: list[str] | None = None) -> int:
    """Run the questions; with ``--demo`` against a local emulator. Returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--demo", action="store_true", help="run against the local GPTalkEmulator")
    args = parser.parse_args(argv)
    try:
        if args.demo:
            from chatgpt_sync.testing.gptalk import GPTalkEmulator

            with GPTalkEmulator() as server:
                print(f"(demo: emulator at {server.base_url})")
                ask_all(server.base_url)
                print(f"(server saw {server.logins} logins; uses per token: {server.token_uses})")
        else:
            ask_all(os.environ.get("GPTALK_BASE_URL") or None)
    except ChatGPTSyncError as exc:
        print(f"\n{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
