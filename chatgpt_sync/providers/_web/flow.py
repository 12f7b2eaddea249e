"""One conversation turn on the chatgpt.com web backend: the retried opening step, then the stream.

Both web providers call :func:`open_conversation` and :func:`run_conversation` with their own paths
and headers; the opening step (sentinel, proof of work, conversation POST) is retried as a whole, so
a retry always gets a fresh single-use chat-requirements token (DESIGN.md rule 2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Mapping

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
from .stream import WebStreamDecoder

__all__ = ["TurnPaths", "TurnOptions", "open_conversation", "run_conversation", "gather"]


@dataclass(frozen=True)
class TurnPaths:
    """Where a backend keeps its sentinel and conversation endpoints, and whose session it is."""

    sentinel: str
    conversation: str
    who: str = "the session"


@dataclass
class TurnOptions:
    """The per-call inputs of the opening step besides the body."""

    timeout: Timeout
    headers: Mapping[str, str] = field(default_factory=dict)
    turnstile_token: str | None = None
    turnstile_solver: TurnstileSolver | None = None
    pow_workers: int = 1
    sentinel_body: dict[str, Any] = field(default_factory=dict)


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
    decoder = decoder if decoder is not None else WebStreamDecoder()
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
