"""The object ``create_completion`` returns: an iterator that is also a context manager.

Iterating a :class:`Stream` iterates the provider's generator directly (no per-item wrapper cost).
The generator's ``finally`` releases the connection, so it is released when iteration ends, when the
caller breaks out and the stream is closed or garbage collected, and when an error is raised
(DESIGN.md rule 4). ``with`` makes the release immediate even if the caller stops early.
"""

from __future__ import annotations

from types import TracebackType
from typing import Generator, Iterator

from .errors import ChatGPTSyncError
from .types import Chunk, Conversation

__all__ = ["Stream", "attach_progress"]


class Stream(Iterator[Chunk]):
    """Text pieces (``str``) and response objects, in the order the backend produced them."""

    __slots__ = ("_gen",)

    def __init__(self, generator: Generator[Chunk, None, None]) -> None:
        self._gen = generator

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

    def text(self) -> str:
        """Consume the rest of the stream and return its answer text (the ``str`` pieces joined)."""
        with self:
            return "".join(piece for piece in self._gen if isinstance(piece, str))


def attach_progress(exc: ChatGPTSyncError, partial_text: str, conversation: Conversation | None) -> None:
    """Record on an error what the stream had delivered when it broke (nothing is lost)."""
    if not exc.partial_text:
        exc.partial_text = partial_text
    if exc.conversation is None:
        exc.conversation = conversation
