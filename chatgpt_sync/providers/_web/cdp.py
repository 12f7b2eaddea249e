"""A minimal synchronous Chrome DevTools Protocol client over one WebSocket (``websocket-client``).

Commands carry increasing ids; :meth:`CdpConnection.call` waits for the answer with the same id and
keeps every event that arrives meanwhile, so :meth:`CdpConnection.next_event` hands them out in
order later. Sessions are "flat" (``Target.attachToTarget(flatten=True)``): a page's commands and
events travel on the browser's socket, tagged with its ``sessionId``. No threads, no asyncio.

The ``websocket`` import is deferred to :func:`require_websocket`, so the package imports without
the optional ``browser`` extra.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any, Deque

from ...errors import InvalidRequestError

__all__ = ["INSTALL_HINT", "CdpConnection", "CdpError", "CdpClosed", "require_websocket"]

INSTALL_HINT = "pip install 'chatgpt-sync[browser]'"


class CdpError(Exception):
    """A command answered with an ``error`` object (the browser refused it)."""


class CdpClosed(Exception):
    """The DevTools socket closed: the browser went away."""


def require_websocket() -> Any:
    """The ``websocket`` module (websocket-client), or InvalidRequestError with the install hint."""
    try:
        import websocket
    except ImportError:
        raise InvalidRequestError("logging in with a browser needs the optional 'browser' extra "
                                  f"(websocket-client): {INSTALL_HINT}") from None
    return websocket


class CdpConnection:
    """One DevTools WebSocket: ``call`` commands, read events with a deadline, ``close``."""

    def __init__(self, ws_url: str, *, timeout: float = 10.0) -> None:
        websocket = require_websocket()
        self._closed_errors: tuple[type[BaseException], ...] = (
            websocket.WebSocketConnectionClosedException, ConnectionError, OSError)
        self._timeout_errors: tuple[type[BaseException], ...] = (websocket.WebSocketTimeoutException,
                                                                  TimeoutError)
        try:
            # No Origin header: Chromium refuses DevTools connections from unlisted origins.
            self._ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True,
                                                   enable_multithread=False)
        except (websocket.WebSocketException, OSError) as exc:
            raise CdpClosed(f"could not connect to the browser's DevTools ({type(exc).__name__}: {exc})") from exc
        self._next_id = 0
        self._events: Deque[dict[str, Any]] = deque()

    def __enter__(self) -> CdpConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._ws.close(timeout=1)
        except Exception:  # closing a dead socket is not an error worth reporting
            pass

    def send(self, method: str, params: dict[str, Any] | None = None, *, session_id: str | None = None) -> int:
        """Send a command without waiting for its answer; return its id."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        try:
            self._ws.send(json.dumps(message))
        except self._closed_errors as exc:
            raise CdpClosed(f"the DevTools connection closed ({type(exc).__name__})") from exc
        return self._next_id

    def call(self, method: str, params: dict[str, Any] | None = None, *, session_id: str | None = None,
             timeout: float = 10.0) -> dict[str, Any]:
        """Send a command and return its ``result``; CdpError when it fails, TimeoutError when the
        answer does not come within ``timeout`` seconds."""
        wanted = self.send(method, params, session_id=session_id)
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline - time.monotonic())
            if message is None:
                raise TimeoutError(f"no answer to {method} within {timeout:g} s")
            if message.get("id") == wanted:
                if "error" in message:
                    error = message["error"]
                    said = error.get("message") if isinstance(error, dict) else error
                    raise CdpError(f"{method}: {said}")
                result = message.get("result")
                return result if isinstance(result, dict) else {}
            if "method" in message:
                self._events.append(message)
            # an answer to a command sent with send() alone is dropped: nobody waits for it

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        """The next event (``method``, ``params``, maybe ``sessionId``), or None after ``timeout`` s."""
        if self._events:
            return self._events.popleft()
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline - time.monotonic())
            if message is None:
                return None
            if "method" in message:
                return message

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        """One message, or None when ``timeout`` passes first (at least a short poll)."""
        self._ws.settimeout(max(timeout, 0.01))
        try:
            raw = self._ws.recv()
        except self._timeout_errors:
            return None
        except self._closed_errors as exc:
            raise CdpClosed(f"the DevTools connection closed ({type(exc).__name__})") from exc
        if not raw:  # recv() gives "" when the peer closed the socket cleanly
            raise CdpClosed("the DevTools connection closed")
        try:
            message = json.loads(raw)
        except ValueError:
            return {}
        return message if isinstance(message, dict) else {}
