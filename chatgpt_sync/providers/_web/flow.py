"""One conversation turn on the chatgpt.com web backend: the retried opening step, then the stream.

Both web providers call :func:`open_conversation` and :func:`run_conversation` with their own paths
and headers; the opening step (sentinel, proof of work, conversation POST) is retried as a whole, so
a retry always gets a fresh single-use chat-requirements token (DESIGN.md rule 2).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Generator, Mapping

from ..._core import is_event_stream, server_message
from ..._retry import call_with_retry
from ..._sse import iter_sse
from ..._streaming import attach_progress
from ..._transport import Response
from ..._urls import join_url
from ...errors import ChatGPTSyncError, PermissionDeniedError, ResponseError
from ...types import Chunk, Conversation, Timeout
from .pow import get_config
from .sentinel import TurnstileSolver, request_sentinel, wall
from .session import WebSession

if TYPE_CHECKING:  # loaded on the first turn: the decoder is most of the web code's import time
    from .stream import WebStreamDecoder

__all__ = ["TurnPaths", "TurnOptions", "open_conversation", "run_conversation", "gather"]


# Plain classes, not dataclasses: importing dataclasses costs ~10 ms, which a script pays once.
class TurnPaths:
    """Where a backend keeps its sentinel and conversation endpoints, and whose session it is."""

    __slots__ = ("sentinel", "conversation", "who")

    def __init__(self, sentinel: str, conversation: str, who: str = "the session") -> None:
        self.sentinel = sentinel
        self.conversation = conversation
        self.who = who

    def __repr__(self) -> str:
        return f"TurnPaths({self.sentinel!r}, {self.conversation!r}, who={self.who!r})"


class TurnOptions:
    """The per-call inputs of the opening step besides the body."""

    __slots__ = ("timeout", "headers", "turnstile_token", "turnstile_solver", "pow_workers", "sentinel_body")

    def __init__(self, timeout: Timeout, headers: Mapping[str, str] | None = None,
                 turnstile_token: str | None = None, turnstile_solver: TurnstileSolver | None = None,
                 pow_workers: int = 1, sentinel_body: dict[str, Any] | None = None) -> None:
        self.timeout = timeout
        self.headers: Mapping[str, str] = headers or {}
        self.turnstile_token = turnstile_token
        self.turnstile_solver = turnstile_solver
        self.pow_workers = pow_workers
        self.sentinel_body: dict[str, Any] = sentinel_body or {}


def open_conversation(session: WebSession, paths: TurnPaths, body: bytes, options: TurnOptions) -> Response:
    """The opening step (not retried here): sentinel, proof of work, then the conversation POST."""
    config = get_config(session.profile.user_agent)
    if session.data_build:
        config[6] = session.data_build  # the build the page announced, as a browser would report
    grant = request_sentinel(session, config, path=paths.sentinel, timeout=options.timeout,
                             turnstile_token=options.turnstile_token, turnstile_solver=options.turnstile_solver,
                             pow_workers=options.pow_workers, who=paths.who, extra_body=options.sentinel_body)
    headers = session.headers({**grant.headers, **options.headers, "accept": "text/event-stream"})
    url = join_url(session.base_url, paths.conversation)
    try:
        return session.core.open("POST", url, headers=headers, body=body, timeout=options.timeout,
                                 max_retries=0, expect="sse", where=url)
    except PermissionDeniedError as exc:
        detail = exc.body.get("detail") if isinstance(exc.body, dict) else None
        raise wall(str(detail or exc.message), "forbidden", exc.status_code, session=paths.who) from exc


def run_conversation(open_step: Callable[[], Response], *, stream: bool, max_retries: int,
                     sleep: Callable[[float], None],
                     decoder: WebStreamDecoder | None = None) -> Generator[Chunk, None, None]:
    """Open (retrying the whole step) and decode the stream; ``stream=False`` gathers the text."""
    response = call_with_retry(open_step, max_retries=max_retries, sleep=sleep)
    if not is_event_stream(response.headers):
        # JSON where the conversation stream was expected ({"detail": ...}): never an empty answer.
        try:
            payload = json.loads(response.read() or b"null")
        finally:
            response.close()
        raise ResponseError(f"the conversation endpoint answered with JSON instead of a stream: "
                            f"{server_message(payload) or payload!r}", body=payload)
    if decoder is None:
        from .stream import WebStreamDecoder
        decoder = WebStreamDecoder()
    try:
        # The web backend always streams; stream=False yields the same pieces, gathered.
        pieces: list[Chunk] = []
        for event in iter_sse(response.iter_bytes()):
            produced = decoder.feed(event.data, event.event)
            if stream:
                yield from produced
            else:
                pieces.extend(produced)
            if decoder.done:
                response.drain()
                break
        pieces.extend(decoder.finish())
        if stream:
            yield from pieces
        else:
            yield from gather(pieces)
    except ChatGPTSyncError as exc:
        known = (Conversation(decoder.conversation_id, decoder.message_id)
                 if decoder.conversation_id else None)
        attach_progress(exc, decoder.text, known)
        raise
    finally:
        response.close()


def gather(pieces: list[Chunk]) -> Generator[Chunk, None, None]:
    """For stream=False: the text as one piece, in the place of its first piece; objects as they came."""
    text = "".join(p for p in pieces if isinstance(p, str))
    placed = False
    for piece in pieces:
        if isinstance(piece, str):
            if not placed and text:
                placed = True
                yield text
        else:
            yield piece
