"""How the command line shows one answer: text or JSON lines on standard output, and a status line
on standard error while the first piece is awaited."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import threading
import time
from typing import Any, TextIO

from ._progress import is_terminal
from .types import Conversation, Refusal

__all__ = ["Printer", "Spinner", "Turn", "send", "as_json"]


class Printer:
    """Writes one answer's pieces to standard output: as text (refusals on a "[refusal] " line of their
    own) or, with --json, as one JSON object per piece."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.wrote_newline = True
        self.refusing = False  # inside a "[refusal] " line (a refusal may arrive in several pieces)

    def piece(self, piece: Any) -> None:
        if self.as_json:
            self._write(json.dumps(as_json(piece), default=str) + "\n")
            return
        if isinstance(piece, str):
            text = piece
            if self.refusing:
                text, self.refusing = "\n" + text, False
        elif isinstance(piece, Refusal) and piece.index == 0:
            # Printed, not dropped: a declined request must not look like an empty answer.
            text = piece.text
            if not self.refusing:
                text, self.refusing = ("" if self.wrote_newline else "\n") + "[refusal] " + text, True
        else:
            return
        if text:
            self._write(text)

    def end(self) -> None:
        """Ends the answer on a line of its own (also after an interrupted or failed one)."""
        if not self.wrote_newline:
            self._write("\n")
        self.refusing = False

    def _write(self, text: str) -> None:
        self.wrote_newline = text.endswith("\n")
        sys.stdout.write(text)
        sys.stdout.flush()


_NOT_DUMPED = frozenset({"raw", "headers"})  # the whole server JSON and the HTTP headers: too big


def as_json(piece: Any) -> dict[str, Any]:
    """``{"type": "text", "text": ...}`` for a text piece, ``{"type": "<class name>", ...its public
    fields}`` for a response object."""
    if isinstance(piece, str):
        return {"type": "text", "text": piece}
    row: dict[str, Any] = {"type": type(piece).__name__}
    if dataclasses.is_dataclass(piece):
        for f in dataclasses.fields(piece):
            if f.name not in _NOT_DUMPED:
                row[f.name] = getattr(piece, f.name)
    return row


class Spinner:
    """A status line on standard error ("waiting for gpt-4o-mini ... 1.2 s") until the first piece.

    Drawn only when both standard output and standard error are terminals, so piped output and
    captured logs never see it. A daemon thread redraws it; :meth:`stop` erases it before anything is
    printed, so it never mixes with the answer.
    """

    FRAMES = "|/-\\"
    INTERVAL = 0.1

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self._stream = sys.stderr if stream is None else stream
        self._label = label
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = 0  # width of what is on the line now

    @staticmethod
    def wanted() -> bool:
        return is_terminal(sys.stdout) and is_terminal(sys.stderr)

    def start(self) -> Spinner:
        self._thread = threading.Thread(target=self._run, name="chatgpt-sync-spinner", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop and erase the line. Idempotent; returns once the line is clean."""
        if self._thread is None:
            return
        self._done.set()
        self._thread.join()
        self._thread = None
        if self._drawn:
            self._stream.write("\r" + " " * self._drawn + "\r")
            self._stream.flush()
            self._drawn = 0

    def _run(self) -> None:
        started = time.monotonic()
        frame = 0
        # A short grace period: a fast backend answers before any status line is worth drawing.
        if self._done.wait(0.15):
            return
        while not self._done.is_set():
            line = f"{self.FRAMES[frame % len(self.FRAMES)]} {self._label} {time.monotonic() - started:.1f} s"
            pad = max(0, self._drawn - len(line))
            self._stream.write("\r" + line + " " * pad)
            self._stream.flush()
            self._drawn = len(line)
            frame += 1
            self._done.wait(self.INTERVAL)


class Turn:
    """What one answer left behind, for the next turn of an interactive session."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.refusal: list[str] = []
        self.conversation: Conversation | None = None

    @property
    def answer(self) -> str:
        return "".join(self.text) or "".join(self.refusal)


def send(provider: Any, model: str, messages: list[dict[str, Any]], conversation: Conversation | None,
         args: argparse.Namespace, printer: Printer) -> Turn:
    """Sends ``messages`` and prints the answer as it comes; the stream is closed (its connection
    released) and the status line erased however this returns, Ctrl-C included."""
    turn = Turn()
    extra: dict[str, Any] = {} if conversation is None else {"conversation": conversation}
    spinner = Spinner(f"waiting for {model} ...").start() if Spinner.wanted() else None
    try:
        with provider.create_completion(model, messages, stream=not args.no_stream, **extra) as stream:
            for piece in stream:
                # Metadata (ResponseMeta, Conversation, ...) may come before the first token; the status
                # line stays until something is printed.
                if spinner is not None and (printer.as_json or isinstance(piece, (str, Refusal))):
                    spinner.stop()
                    spinner = None
                printer.piece(piece)
                if isinstance(piece, str):
                    turn.text.append(piece)
                elif isinstance(piece, Refusal) and piece.index == 0:
                    turn.refusal.append(piece.text)
                elif isinstance(piece, Conversation):
                    turn.conversation = piece
    finally:
        if spinner is not None:
            spinner.stop()
    return turn
