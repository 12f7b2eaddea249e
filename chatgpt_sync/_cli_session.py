"""The interactive ``chatgpt-sync chat`` session: each line is the next turn of one conversation.

The prompt marker goes to standard error, so standard output carries only answers (and stays pure
JSON lines with --json). The history is the message list (what an API provider needs) plus the last
:class:`Conversation` a web provider yielded (passed back as ``conversation=``). A turn that fails
or is interrupted is left out of the history.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ._cli_output import Printer, send
from .errors import ChatGPTSyncError
from .types import Conversation

__all__ = ["PROMPT_MARKER", "MORE_MARKER", "HELP", "run_session"]

PROMPT_MARKER = "> "
MORE_MARKER = "... "
_BLOCK = '"""'

HELP = """\
commands:
  /exit, /quit      leave (Ctrl-D too)
  /reset            start a new conversation (the system message is kept)
  /model [NAME]     show the model, or switch to NAME for the next turns
  /save FILE        write the conversation so far to FILE (Markdown)
  /help             this list
multi-line input: end a line with \\ to go on, or put \"\"\" on a line of its own before and after
a line starting with // is sent with one / removed; Ctrl-C stops an answer, at the prompt it leaves"""


class _History:
    """The turns so far, with the model that gave each answer (for /save)."""

    def __init__(self, system: list[dict[str, Any]]) -> None:
        self.system = system
        self.turns: list[tuple[str, str, str]] = []  # (user text, answer, model)
        self.conversation: Conversation | None = None

    def messages(self, user_text: str) -> list[dict[str, Any]]:
        out = list(self.system)
        for question, answer, _ in self.turns:
            out += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        return [*out, {"role": "user", "content": user_text}]

    def reset(self) -> None:
        self.turns = []
        self.conversation = None

    def transcript(self) -> str:
        lines = ["# chatgpt-sync conversation", ""]
        for message in self.system:
            lines += ["## System", "", str(message["content"]), ""]
        for question, answer, model in self.turns:
            lines += ["## You", "", question, "", f"## Assistant ({model})", "", answer, ""]
        return "\n".join(lines)


def _read_line() -> str | None:
    """One line without its end, or None at end of file."""
    line = sys.stdin.readline()
    return None if not line else line.rstrip("\r\n")


def _prompt(marker: str) -> None:
    sys.stderr.write(marker)
    sys.stderr.flush()


def _read_input() -> str | None:
    """The next user input: one line, several joined by a trailing backslash, or a \"\"\" block.

    Ctrl-C while a multi-line input is being typed drops that input (back to the prompt, as Python's
    REPL does); Ctrl-C at the prompt itself propagates."""
    _prompt(PROMPT_MARKER)
    line = _read_line()
    if line is None:
        return None
    try:
        return _read_more(line)
    except KeyboardInterrupt:
        _say("\n(input dropped)")
        return ""


def _read_more(line: str) -> str:
    if line.strip() == _BLOCK:
        parts: list[str] = []
        while True:
            _prompt(MORE_MARKER)
            more = _read_line()
            if more is None or more.strip() == _BLOCK:
                return "\n".join(parts)
            parts.append(more)
    parts = []
    while line.endswith("\\"):
        parts.append(line[:-1])
        _prompt(MORE_MARKER)
        more = _read_line()
        if more is None:
            return "\n".join(parts)
        line = more
    parts.append(line)
    return "\n".join(parts)


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def run_session(provider: Any, model: str, system: list[dict[str, Any]], args: argparse.Namespace,
                printer: Printer) -> int:
    """Runs the session until /exit, /quit or end of file (0). Ctrl-C during an answer stops it and
    returns to the prompt; Ctrl-C at the prompt propagates (the caller exits with 130)."""
    history = _History(system)
    while True:
        text = _read_input()
        if text is None:  # end of file (Ctrl-D)
            sys.stderr.write("\n")
            return 0
        if not text.strip():
            continue
        command = text.strip()
        if command.startswith("/") and not command.startswith("//"):
            name, _, rest = command.partition(" ")
            rest = rest.strip()
            if name in ("/exit", "/quit"):
                return 0
            if name == "/help":
                _say(HELP)
            elif name == "/reset":
                history.reset()
                _say("(a new conversation)")
            elif name == "/model":
                if rest:
                    model = rest
                    _say(f"(model: {model})")
                else:
                    _say(f"model: {model}")
            elif name == "/save":
                _save(history, rest)
            else:
                _say(f"unknown command {name!r}; /help lists the commands (start with // to send a line "
                     f"beginning with /)")
            continue
        if command.startswith("//"):
            text = text.replace("//", "/", 1)
        try:
            turn = send(provider, model, history.messages(text), history.conversation, args, printer)
        except KeyboardInterrupt:
            printer.end()
            if printer.as_json:
                sys.stderr.write("\n")
            continue
        except ChatGPTSyncError as exc:
            printer.end()
            _say(f"chatgpt-sync: {type(exc).__name__}: {exc}")
            continue
        printer.end()
        history.turns.append((text, turn.answer, model))
        if turn.conversation is not None:
            history.conversation = turn.conversation


def _save(history: _History, target: str) -> None:
    if not target:
        _say("usage: /save FILE")
        return
    path = os.path.expanduser(target)
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(history.transcript())
    except OSError as exc:
        _say(f"could not write {path}: {exc.strerror or exc}")
        return
    _say(f"(saved {len(history.turns)} turn{'s' if len(history.turns) != 1 else ''} to {path})")
