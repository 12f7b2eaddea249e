"""The object ``create_completion`` returns: an iterator that is also a context manager.

Iterating a :class:`Stream` iterates the provider's generator directly (no per-item wrapper cost).
The generator's ``finally`` releases the connection, so it is released when iteration ends, when the
caller breaks out and the stream is closed or garbage collected, and when an error is raised
(DESIGN.md rule 4). ``with`` makes the release immediate even if the caller stops early.

``display()`` (a live view in a notebook, printing elsewhere) and ``text()`` also keep what arrived
on the stream (``partial_text``, ``transcript``), so a notebook shows it after the cell ran, even
after an interrupt. Plain iteration keeps nothing: it stays the bare generator.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Generator, Iterator

from ._transcript import Transcript
from .errors import ChatGPTSyncError, InvalidRequestError
from .types import Chunk, Conversation

__all__ = ["Stream", "KeepsTranscript", "attach_progress", "require_unread", "state_label"]


class KeepsTranscript:
    """What ``display()``/``text()`` kept, for a stream class with a ``_seen`` slot (this one and the
    Client's chunk stream): ``partial_text``, ``transcript`` and the notebook repr."""

    __slots__ = ()
    _seen: Transcript | None

    @property
    def partial_text(self) -> str:
        """The answer text ``display()`` (or ``text()``) received so far ("" before either)."""
        return self._seen.text if self._seen is not None else ""

    @property
    def transcript(self) -> Transcript | None:
        """Everything ``display()`` (or ``text()``) received (text, reasoning, images...), or None."""
        return self._seen

    def _repr_markdown_(self) -> str:
        if self._seen is not None:
            from ._render import answer_markdown

            return answer_markdown(self._seen)
        return self._unread_markdown()

    def _unread_markdown(self) -> str:
        raise NotImplementedError


class Stream(KeepsTranscript, Iterator[Chunk]):
    """Text pieces (``str``) and response objects, in the order the backend produced them."""

    __slots__ = ("_gen", "_seen")

    def __init__(self, generator: Generator[Chunk, None, None]) -> None:
        self._gen = generator
        self._seen: Transcript | None = None

    def __iter__(self) -> Iterator[Chunk]:
        return self._gen

    def __next__(self) -> Chunk:
        return next(self._gen)

    def close(self) -> None:
        """Stop the stream and release its connection. Idempotent."""
        self._gen.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _transcript(self) -> Transcript:
        if self._seen is None:
            self._seen = Transcript()
        return self._seen

    def text(self) -> str:
        """Read the stream to its end and return its answer text (the ``str`` pieces joined).

        What arrives is kept (``partial_text``), also when an error or Ctrl-C stops it; a second call
        returns the same text. A stream that plain iteration already read is refused with
        :class:`InvalidRequestError` (what it read is gone, and a partial answer must not pass for a
        whole one)."""
        require_unread(self._gen, self._seen, "text")
        seen = self._transcript()
        add, keep = seen.add, seen.parts.append
        try:
            with self:
                for piece in self._gen:
                    if piece.__class__ is str:  # most pieces: no method call per token
                        keep(piece)
                    else:
                        add(piece)
        except BaseException as exc:
            seen.stop(exc)
            raise
        seen.stop(None)
        return seen.text

    def display(self, *, interval: float = 0.1) -> str:
        """Show the answer as it streams and return its text.

        In a Jupyter notebook: Markdown in one display that is updated in place, at most every
        ``interval`` seconds, and once more at the end; reasoning collapsed, refusals marked, images
        inline. Elsewhere (a script, terminal IPython): the text is printed as it arrives.
        Ctrl-C (a notebook's interrupt) stops it, releases the connection and keeps the text that
        arrived in ``partial_text``. Calling it again shows what the stream delivered."""
        from .notebook import show_stream

        require_unread(self._gen, self._seen, "display")
        return show_stream(self._gen, self._transcript(), Transcript.add, self.close, interval)

    def _unread_markdown(self) -> str:
        return (f"*{type(self).__name__} ({state_label(self._gen, self._seen)}): `.display()` or `.text()` "
                "reads it and keeps the answer*")

    def __repr__(self) -> str:
        seen = f", {len(self.partial_text)} characters kept" if self._seen is not None else ""
        return f"<{type(self).__name__} {state_label(self._gen, self._seen)}{seen}>"


def require_unread(generator: Any, seen: Transcript | None, method: str) -> None:
    """Refuse ``display()``/``text()`` on a stream that plain iteration already read.

    Plain iteration keeps nothing (it is the bare generator), so what it read is gone: showing or
    returning only the rest would be a silently partial (or empty) answer."""
    if seen is not None:
        return  # display() or text() ran before: they kept everything
    state = _state(generator)
    if state == "finished":
        raise InvalidRequestError(
            f"{method}() has nothing to show: this stream was already read to its end by iterating it, and "
            f"plain iteration keeps nothing. Call {method}() instead of iterating (it returns the text), or "
            f"join the text pieces yourself while you iterate")
    if state == "started":
        raise InvalidRequestError(
            f"{method}() reads a stream from its first piece, but this one was already partly read by "
            f"iterating it (plain iteration keeps nothing). Call {method}() before iterating, or keep "
            f"iterating and join the text pieces yourself")


def state_label(generator: Any, seen: Transcript | None) -> str:
    """For reprs: how a stream ended when display()/text() saw it end, else where its generator is."""
    if seen is not None and seen.state != "streaming":
        return seen.state
    return _state(generator)


def _state(generator: Any) -> str:
    """Where a generator stands, without importing inspect."""
    if getattr(generator, "gi_running", False):
        return "running"
    frame = getattr(generator, "gi_frame", None)
    if frame is None:
        return "finished"
    suspended = getattr(generator, "gi_suspended", None)  # 3.11+
    started = suspended if suspended is not None else frame.f_lasti >= 0
    return "started" if started else "not started"


def attach_progress(exc: ChatGPTSyncError, partial_text: str, conversation: Conversation | None) -> None:
    """Record on an error what the stream had delivered when it broke (nothing is lost)."""
    if not exc.partial_text:
        exc.partial_text = partial_text
    if exc.conversation is None:
        exc.conversation = conversation
