"""DESIGN rule 11: a request goes out once per attempt, on fresh and reused connections.

Each row opens one request whose answer has a given framing (Content-Length, chunked, empty, an
error status), leaves it in a given state (read whole, not read at all, the error still held by the
caller), then sends a second request. The server counts what it received: every path exactly once,
and the second answer arrives whole, for every transport.

The defect this guards against: http.client's ``read1`` does not close a response whose
Content-Length body has run out (and a ``Content-Length: 0`` body is never read at all), so the
connection went back to the pool with a response still open on it. The next request on it was sent,
then failed with ``ResponseNotReady('Request-sent')``; retried, it reached the server twice.
"""

from __future__ import annotations

import itertools
from typing import Any, Iterator

import pytest

from chatgpt_sync import OpenaiTemplate
from chatgpt_sync._core import HTTPCore
from chatgpt_sync._transport import make_transport
from chatgpt_sync.errors import ChatGPTSyncError, NotFoundError
from chatgpt_sync.testing._server import EmulatorHandler, EmulatorServer
from chatgpt_sync.testing.openai_api import OpenAIEmulator
from chatgpt_sync.types import Timeout

from conftest import USER

SSE = b"".join(b'data: {"n": %d}\n\n' % i for i in range(50)) + b"data: [DONE]\n\n"
JSON = b'{"ok": true, "pad": "' + b"x" * 3000 + b'"}'


class _Handler(EmulatorHandler):
    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self.read_body()
        route = self.path.split("?")[0].strip("/").split("/")[0]
        if route == "json-cl":
            self.send_bytes(200, JSON, "application/json")
        elif route == "json-chunked":
            self.start_chunked(200, "application/json")
            self.write_chunk(JSON[:100])
            self.write_chunk(JSON[100:])
            self.end_chunked()
        elif route == "sse-cl":
            self.send_bytes(200, SSE, "text/event-stream")
        elif route == "sse-chunked":
            self.start_chunked()
            for line in SSE.split(b"\n\n")[:-1]:
                self.write_chunk(line + b"\n\n")
            self.end_chunked()
        elif route == "err-cl":
            self.send_bytes(404, b'{"error": {"message": "no such model", "code": "model_not_found"}}',
                            "application/json")
        elif route == "err-chunked":
            self.start_chunked(404, "application/json")
            self.write_chunk(b'{"error": {"message": "no such route"}}')
            self.end_chunked()
        elif route == "empty-204":
            self.send_response(204)
            self.end_headers()
        elif route == "empty-201":
            self.send_bytes(201, b"", "application/json")
        else:
            self.send_bytes(400, b"unknown route", "text/plain")


class RouteServer(EmulatorServer):
    handler_class = _Handler

    def count(self, route: str) -> int:
        return sum(1 for r in self.requests if r.path.strip("/").split("/")[0] == route)


@pytest.fixture(scope="module")
def server() -> Iterator[RouteServer]:
    with RouteServer() as srv:
        yield srv  # type: ignore[misc]


TRANSPORTS = ["requests", "curl_cffi", "tls_client"]
FIRST = ["json-cl", "json-chunked", "sse-cl", "sse-chunked", "err-cl", "err-chunked", "empty-204", "empty-201"]
STATES = ["read", "unread", "held"]
TIMEOUT = Timeout(connect=5, read=5, stream_idle=5)


def _core(name: str) -> HTTPCore:
    if name != "requests":
        pytest.importorskip(name)
    return HTTPCore(make_transport(name), sleep=lambda s: None)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("first, state", list(itertools.product(FIRST, STATES)))
@pytest.mark.parametrize("retries", [0, 2])
def test_each_request_reaches_the_server_once(server: RouteServer, transport: str, first: str, state: str,
                                              retries: int) -> None:
    core = _core(transport)
    server.reset_counters()
    held: list[Any] = []
    expect = "sse" if first.startswith("sse") else "any"
    try:
        try:
            response = core.open("POST", f"{server.base_url}/{first}", headers={}, body=b"{}", timeout=TIMEOUT,
                                 max_retries=retries, expect=expect)
        except ChatGPTSyncError as exc:
            assert first.startswith("err"), exc
            if state == "held":
                held.append(exc)
        else:
            assert not first.startswith("err")
            if state == "read":
                body = response.read()
                assert body == (SSE if first.startswith("sse") else JSON if first.startswith("json") else b"")
            if state != "held":
                response.close()
            else:
                held.append(response)  # still open while the next request goes out
        second = core.request_json("POST", f"{server.base_url}/json-cl", headers={}, body=b"{}",
                                   timeout=TIMEOUT, max_retries=retries)
        assert second["ok"] is True and len(second["pad"]) == 3000
        paths = [r.path for r in server.requests]
        assert paths == [f"/{first}", "/json-cl"], paths
    finally:
        for item in held:
            if hasattr(item, "close"):
                item.close()
        core.close()


@pytest.mark.parametrize("first", ["json-cl", "sse-cl", "err-cl", "empty-204", "empty-201", "sse-chunked"])
def test_a_fully_read_answer_gives_its_connection_back(server: RouteServer, first: str) -> None:
    # Not only "no duplicate": the connection really is reused after a complete body.
    core = _core("requests")
    server.reset_counters()
    opened = server.connections_opened
    try:
        for _ in range(3):
            try:
                response = core.open("POST", f"{server.base_url}/{first}", headers={}, body=b"{}",
                                     timeout=TIMEOUT, max_retries=0, expect="any")
            except NotFoundError:
                continue
            response.read()
            response.close()
        assert core.request_json("POST", f"{server.base_url}/json-cl", headers={}, body=b"{}",
                                 timeout=TIMEOUT, max_retries=0)["ok"]
        assert server.connections_opened - opened == 1
        assert server.count(first) == (4 if first == "json-cl" else 3)
    finally:
        core.close()


def test_interleaved_requests_while_a_content_length_stream_is_read(server: RouteServer) -> None:
    core = _core("requests")
    server.reset_counters()
    try:
        stream = core.open("POST", f"{server.base_url}/sse-cl", headers={}, body=b"{}", timeout=TIMEOUT,
                           max_retries=2, expect="sse")
        pieces = stream.iter_bytes()
        got = [next(pieces)]
        for _ in range(3):  # new requests while the first body is still open
            assert core.request_json("POST", f"{server.base_url}/json-cl", headers={}, body=b"{}",
                                     timeout=TIMEOUT, max_retries=2)["ok"]
        got.extend(pieces)
        stream.close()
        assert b"".join(got) == SSE
        assert core.request_json("POST", f"{server.base_url}/json-cl", headers={}, body=b"{}",
                                 timeout=TIMEOUT, max_retries=2)["ok"]
        assert server.count("sse-cl") == 1 and server.count("json-cl") == 4
    finally:
        core.close()


@pytest.mark.parametrize("retries", [0, 2])
@pytest.mark.parametrize("stream", [False, True])
def test_provider_error_then_good_call_sends_one_post_each(retries: int, stream: bool) -> None:
    # The user-level scenario: a 404 for an unknown model, then a good call on the same instance.
    with OpenAIEmulator(api_key="sk-x") as api:
        llm = OpenaiTemplate(base_url=api.base_url, api_key="sk-x", max_retries=retries)
        with pytest.raises(NotFoundError) as caught:
            llm.create_completion("no-such-model", USER, stream=stream).text()
        assert llm.create_completion("gpt-4o-mini", USER, stream=stream).text() == "Echo: hello world"
        assert caught.value.status_code == 404  # the exception is still held here
        assert sum(1 for r in api.requests if r.method == "POST") == 2
        assert api.connections_opened == 1
        llm.close()
