"""The loopback HTTP server every emulator is built on.

A stdlib ``ThreadingHTTPServer`` bound to 127.0.0.1 on port 0, served from a background thread,
usable as a context manager. It speaks HTTP/1.1 with keep-alive (so connection reuse can be
observed), counts the TCP connections it accepts and still holds open, and records requests
(bounded) so tests can check what a client sent.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Deque, Mapping

__all__ = ["EmulatorServer", "EmulatorHandler", "RecordedRequest"]

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True  # a stalled handler must never keep the process alive
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops connects when 8 client threads open at once

    def __init__(self, emulator: EmulatorServer, handler: type[BaseHTTPRequestHandler],
                 ssl_context: ssl.SSLContext | None) -> None:
        self.emulator = emulator
        self._ssl_context = ssl_context
        super().__init__((LOOPBACK, 0), handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self._ssl_context is not None:
            sock = self._ssl_context.wrap_socket(sock, server_side=True)
        return sock, addr

    def process_request(self, request: Any, client_address: Any) -> None:
        self.emulator._connection_opened()
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        try:
            super().shutdown_request(request)
        finally:
            self.emulator._connection_closed()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-stream are part of the tests; don't print tracebacks for them.
        pass


class EmulatorServer:
    """Base class: start with ``with Emulator() as server:`` and point a client at ``server.base_url``."""

    handler_class: ClassVar[type[EmulatorHandler]]
    max_recorded = 1000

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context
        self._lock = threading.Lock()
        self._server: _CountingServer | None = None
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.connections_opened = 0
        self.connections_open = 0
        self.requests: Deque[RecordedRequest] = deque(maxlen=self.max_recorded)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> EmulatorServer:
        if self._server is not None:
            return self
        self.stopping.clear()
        self._server = _CountingServer(self, self.handler_class, self._ssl_context)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{type(self).__name__}-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping.set()  # wakes handlers sleeping in a stall
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- addresses
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running; use it as a context manager or call start()")
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        scheme = "https" if self._ssl_context is not None else "http"
        host = "localhost" if self._ssl_context is not None else LOOPBACK
        return f"{scheme}://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The URL a client should use as its ``base_url``."""
        return self.origin

    # ---------------------------------------------------------------- bookkeeping
    def _connection_opened(self) -> None:
        with self._lock:
            self.connections_opened += 1
            self.connections_open += 1

    def _connection_closed(self) -> None:
        with self._lock:
            self.connections_open -= 1

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def reset_counters(self) -> None:
        with self._lock:
            self.connections_opened = self.connections_open
            self.requests.clear()


class EmulatorHandler(BaseHTTPRequestHandler):
    """Request handler base with the helpers every emulator needs."""

    protocol_version = "HTTP/1.1"
    server: _CountingServer
    server_version = "chatgpt-sync-emulator/1"
    sys_version = ""

    @property
    def emulator(self) -> Any:
        return self.server.emulator

    def setup(self) -> None:
        super().setup()
        # Replies are written in small pieces (headers, then body or events): without NODELAY, Nagle
        # plus the client's delayed ACK adds ~40 ms to each answer.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    # ---------------------------------------------------------------- reading
    def read_body(self) -> bytes:
        """Read the request body (Content-Length or chunked) and record the request."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(parts)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        self.emulator.record(RecordedRequest(self.command, self.path, dict(self.headers.items()), body))
        return body

    # ---------------------------------------------------------------- writing
    def send_bytes(self, status: int, body: bytes, content_type: str,
                   headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def send_html(self, status: int, html: str, headers: Mapping[str, str] | None = None) -> None:
        self.send_bytes(status, html.encode(), "text/html; charset=utf-8", headers)

    def start_chunked(self, status: int = 200, content_type: str = "text/event-stream; charset=utf-8",
                      headers: Mapping[str, str] | None = None) -> None:
        """Begin a chunked response (an SSE stream by default)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def drop_connection(self) -> None:
        """Hang up abruptly, mid-response (a fault switch)."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def write_frames(self, frames: list[bytes], *, drop_after: int | None, stall_after: int | None,
                     stall_seconds: float) -> None:
        """Write ``frames`` as one chunked SSE answer: dropped before frame ``drop_after``, silent for
        ``stall_seconds`` before frame ``stall_after`` (the web emulators' stream faults)."""
        self.start_chunked(200, headers={"X-Accel-Buffering": "no"})
        try:
            for index, frame in enumerate(frames):
                if drop_after is not None and index >= drop_after:
                    self.drop_connection()
                    return
                if stall_after is not None and index == stall_after:
                    self.stall(stall_seconds)
                self.write_chunk(frame)
            self.end_chunked()
        except OSError:
            self.close_connection = True  # the client hung up mid-stream (a test breaking out early)

    def stall(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (bounded: returns early when the server stops)."""
        self.emulator.stopping.wait(seconds)
