"""DESIGN rule 10, never a silent empty answer: a table of unusable 2xx/3xx answers, streamed and not.

Each row is an answer a misconfigured proxy, a wall or a wrong base_url really gives. Before the
rule was enforced (commit d00fb1e and earlier) a stream request turned most of them into an empty
string and ``FinishReason(None)``, which looks like a model that chose to say nothing; redirects were
not followed but not reported either. Now each raises an error that says what came back, or, for a
whole JSON completion sent to a stream request, gives the same pieces as ``stream=False``. Every row
also checks that the request reached the server exactly once (a redirect is never followed).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Iterator

import pytest

from chatgpt_sync import OpenaiTemplate, Timeout
from chatgpt_sync.errors import APIStatusError, BlockedError, ResponseError
from chatgpt_sync.types import FinishReason, ResponseMeta, Usage

from conftest import USER
from test_server_quirks import RawReply, RawReplyServer


@dataclass(frozen=True)
class Expect:
    """``raises`` with ``match`` (a regex) in its text; or None: a good answer."""

    raises: type[Exception] | None = None
    match: str = ""


ANSWER = Expect()

COMPLETION = (b'{"id":"chatcmpl-9x","object":"chat.completion","created":1750000000,"model":"m-2025",'
              b'"system_fingerprint":"fp_1","choices":[{"index":0,"message":{"role":"assistant",'
              b'"content":"Hello there."},"logprobs":null,"finish_reason":"stop"}],'
              b'"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}')
CHALLENGE = (b'<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
             b'<meta http-equiv="refresh" content="390"></head><body><div id="cf-please-wait">'
             b'Checking your browser</div><script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1">'
             b'</script></body></html>')
NGINX_301 = (b"<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n<center><h1>301 Moved "
             b"Permanently</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
MALFORMED = (b'data: {"choices": [\n\n'
             b"data: not json at all\n\n"
             b'data: {"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"content": "cut\n\n'
             b"data: {'single': 'quotes'}\n\n")

# (row id, the reply, what stream=True must give, what stream=False must give)
ROWS: list[tuple[str, RawReply, Expect, Expect]] = [
    ("redirect-301",
     RawReply(301, {"Content-Type": "text/html", "Location": "https://api.example.com/v1/chat/completions"},
              NGINX_301, "length"),
     Expect(APIStatusError, r"HTTP 301, a redirect to https://api\.example\.com/v1/chat/completions"),
     Expect(APIStatusError, r"HTTP 301, a redirect to https://api\.example\.com/v1/chat/completions")),
    ("redirect-307",
     RawReply(307, {"Location": "https://llm.internal:8443/v1/chat/completions"}, b"", "length"),
     Expect(APIStatusError, r"HTTP 307, a redirect to https://llm\.internal:8443/v1/chat/completions"),
     Expect(APIStatusError, r"HTTP 307, a redirect to https://llm\.internal:8443/v1/chat/completions")),
    ("redirect-loop",  # Location: the very URL that was asked for
     RawReply(302, {"Location": "{url}", "Content-Type": "text/plain"}, b"Found", "length"),
     Expect(APIStatusError, r"HTTP 302, a redirect to http://127\.0\.0\.1:\d+/redirect-loop/v1/chat/completions"),
     Expect(APIStatusError, r"HTTP 302, a redirect to http://127\.0\.0\.1:\d+/redirect-loop/v1/chat/completions")),
    ("json-error-200",
     RawReply(200, {"Content-Type": "application/json"},
              b'{"error":{"message":"The model `gpt-5-turbo` does not exist or you do not have access to it.",'
              b'"type":"invalid_request_error","param":null,"code":"model_not_found"}}', "length"),
     Expect(ResponseError, r"The model `gpt-5-turbo` does not exist"),
     Expect(ResponseError, r"The model `gpt-5-turbo` does not exist")),
    ("empty-200-event-stream",
     RawReply(200, {"Content-Type": "text/event-stream"}, b"", "length"),
     Expect(ResponseError, r"event stream with no usable event"),
     Expect(ResponseError, r"empty body")),
    ("empty-200-chunked-event-stream",
     RawReply(200, {"Content-Type": "text/event-stream"}, b"", "chunked"),
     Expect(ResponseError, r"event stream with no usable event"),
     Expect(ResponseError, r"empty body")),
    ("empty-200-no-content-type",
     RawReply(200, {}, b"", "length"),
     Expect(ResponseError, r"empty body \(no content type\)"),
     Expect(ResponseError, r"empty body")),
    ("text-plain-200",
     RawReply(200, {"Content-Type": "text/plain; charset=utf-8"}, b"Upstream model is warming up, retry in 30s\n",
              "length"),
     Expect(ResponseError, r"text/plain.*Upstream model is warming up, retry in 30s"),
     Expect(ResponseError, r"not JSON \(text/plain.*Upstream model is warming up, retry in 30s")),
    ("html-challenge-no-content-type",
     RawReply(200, {}, CHALLENGE, "length"),
     Expect(BlockedError, r"anti-bot challenge page titled \"Just a moment\.\.\.\""),
     Expect(BlockedError, r"anti-bot challenge page titled \"Just a moment\.\.\.\"")),
    ("only-malformed-events",
     RawReply(200, {"Content-Type": "text/event-stream"}, MALFORMED, "chunked"),
     Expect(ResponseError, r"no usable event; 4 malformed data line\(s\) were skipped, the first: "
                           r"'\{\"choices\": \['"),
     Expect(ResponseError, r"not JSON \(text/event-stream\)")),
    ("json-completion-to-a-stream-request",
     RawReply(200, {"Content-Type": "application/json"}, COMPLETION, "length"),
     ANSWER, ANSWER),
]


@pytest.fixture(scope="module")
def server() -> Iterator[RawReplyServer]:
    with RawReplyServer({row[0]: row[1] for row in ROWS}) as srv:
        yield srv  # type: ignore[misc]


def _pieces(server: RawReplyServer, route: str, stream: bool) -> list[Any]:
    with OpenaiTemplate(base_url=server.base_url_for(route), max_retries=0,
                        timeout=Timeout(connect=5, read=5, stream_idle=5)) as provider:
        return list(provider.create_completion("m", USER, stream=stream))


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("route, reply, on_stream, on_json", ROWS, ids=[row[0] for row in ROWS])
def test_never_a_silent_empty_answer(server: RawReplyServer, route: str, reply: RawReply, on_stream: Expect,
                                     on_json: Expect, stream: bool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="chatgpt_sync")
    server.reset_counters()
    expected = on_stream if stream else on_json
    if expected.raises is None:
        pieces = _pieces(server, route, stream)
        assert "".join(p for p in pieces if isinstance(p, str)) == "Hello there."
        assert [p for p in pieces if not isinstance(p, str)][1:] == [FinishReason("stop"), Usage(7, 3, 10)]
        assert isinstance(pieces[0], ResponseMeta) and pieces[0].id == "chatcmpl-9x"
    else:
        with pytest.raises(expected.raises) as info:
            _pieces(server, route, stream)
        assert re.search(expected.match, str(info.value)), str(info.value)
        if isinstance(info.value, APIStatusError):
            assert info.value.status_code == reply.status
    assert server.count(route) == 1  # sent once, never followed to the Location


def test_a_json_completion_to_a_stream_request_gives_the_same_pieces(server: RawReplyServer) -> None:
    route = "json-completion-to-a-stream-request"
    streamed, whole = _pieces(server, route, True), _pieces(server, route, False)
    assert streamed == whole
    assert [type(p).__name__ for p in streamed] == ["ResponseMeta", "str", "FinishReason", "Usage"]


def test_each_skipped_line_is_logged_the_first_few(server: RawReplyServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="chatgpt_sync")
    with pytest.raises(ResponseError):
        _pieces(server, "only-malformed-events", True)
    logged = [r.getMessage() for r in caplog.records if "skipped a data line" in r.getMessage()]
    # One warning per skipped line, up to three (the fourth is only counted in the error).
    assert len(logged) == 3, logged
    for line, message in zip(['{"choices": [', "not json at all", '{"id": "chatcmpl-1"'], logged):
        assert repr(line)[:-1] in message, (line, message)
