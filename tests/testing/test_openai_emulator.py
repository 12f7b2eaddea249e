"""The OpenAI API emulator, checked with plain ``requests`` and with the official ``openai`` client."""

from __future__ import annotations

import base64
import json
import struct
import time
import zlib
from typing import Any, Iterator

import openai
import pytest
import requests

from chatgpt_sync.testing.openai_api import DEFAULT_MODELS, Faults, OpenAIEmulator

KEY = "sk-emulator-test-0123456789"
USER = [{"role": "user", "content": "hello there"}]
TOOLS = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}},
         {"type": "function", "function": {"name": "lookup"}}]


@pytest.fixture
def server() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator(api_key=KEY) as emulator:
        yield emulator


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {KEY}"
        yield session


def client(server: OpenAIEmulator, **kwargs: Any) -> Any:
    """The official client; typed Any because its overloads want TypedDict messages."""
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 10)
    return openai.OpenAI(base_url=server.base_url, api_key=KEY, **kwargs)


def chat(http: requests.Session, server: OpenAIEmulator, timeout: float = 10, **body: Any) -> requests.Response:
    body.setdefault("model", "gpt-4o-mini")
    body.setdefault("messages", USER)
    return http.post(server.base_url + "/chat/completions", json=body, timeout=timeout)


def events(raw: bytes) -> list[Any]:
    """The ``data:`` payloads of an SSE body, JSON-decoded where possible."""
    out: list[Any] = []
    for block in raw.split(b"\n\n"):
        for line in block.split(b"\n"):
            if line.startswith(b"data: "):
                data = line[6:]
                out.append(data.decode() if data == b"[DONE]" else json.loads(data))
    return out


def streamed_text(chunks: list[Any], index: int = 0, key: str = "content") -> str:
    return "".join(c["choices"][0]["delta"].get(key) or "" for c in chunks
                   if isinstance(c, dict) and c.get("choices") and c["choices"][0]["index"] == index)


# ------------------------------------------------------------------------------------ models
def test_models_list_and_retrieve(server: OpenAIEmulator, http: requests.Session) -> None:
    listing = http.get(server.base_url + "/models").json()
    assert listing["object"] == "list"
    assert [m["id"] for m in listing["data"]] == list(DEFAULT_MODELS)
    assert all(m["object"] == "model" and m["owned_by"] == "emulator" for m in listing["data"])
    assert [m.id for m in client(server).models.list()] == list(DEFAULT_MODELS)
    assert client(server).models.retrieve("gpt-4o").id == "gpt-4o"
    with pytest.raises(openai.NotFoundError):
        client(server).models.retrieve("gpt-9")
    assert server.models_requests == 4


def test_custom_models() -> None:
    with OpenAIEmulator(models=["only-one"]) as server:
        assert [m["id"] for m in requests.get(server.base_url + "/models", timeout=5).json()["data"]] == ["only-one"]


# ------------------------------------------------------------------------------------ chat
def test_non_stream_reply(server: OpenAIEmulator, http: requests.Session) -> None:
    response = chat(http, server, messages=[{"role": "system", "content": "be brief"}, *USER])
    assert response.status_code == 200
    assert response.headers["x-request-id"].startswith("req_")
    assert int(response.headers["Content-Length"]) == len(response.content)
    body = response.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Echo: hello there", "refusal": None}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}
    result = client(server).chat.completions.create(model="gpt-4o", messages=USER)
    assert result.choices[0].message.content == "Echo: hello there"
    assert result.model == "gpt-4o-2024-08-06"  # an alias is answered by a dated snapshot, as OpenAI does


def test_reply_and_content_parts() -> None:
    with OpenAIEmulator(reply="Fixed answer here.") as server:
        parts = [{"type": "text", "text": "look"},
                 {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]
        body = requests.post(server.base_url + "/chat/completions", timeout=5, json={
            "model": "gpt-4o", "messages": [{"role": "user", "content": parts}]}).json()
        assert body["choices"][0]["message"]["content"] == "Fixed answer here."


def test_stream_events_and_usage(server: OpenAIEmulator, http: requests.Session) -> None:
    response = chat(http, server, stream=True, stream_options={"include_usage": True})
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["x-request-id"].startswith("req_")
    chunks = events(response.content)
    assert chunks[-1] == "[DONE]"
    first, finish, usage = chunks[0], chunks[-3], chunks[-2]
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == first["id"] for c in chunks[:-1])
    assert [c["choices"][0]["delta"]["content"] for c in chunks[1:-3]] == ["Echo:", " hello", " there"]
    assert finish["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 3
    # Without stream_options there is no usage chunk.
    assert all(c == "[DONE]" or c["choices"] for c in events(chat(http, server, stream=True).content))


def test_openai_stream_matches_non_stream(server: OpenAIEmulator) -> None:
    api = client(server)
    stream = api.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True,
                                         stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: hello there"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 5
    whole = api.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert whole.choices[0].message.content == "Echo: hello there"


def test_stream_tokens_benchmark_mode() -> None:
    with OpenAIEmulator(stream_tokens=20_000) as server:
        started = time.perf_counter()
        response = requests.post(server.base_url + "/chat/completions", timeout=30, json={
            "model": "gpt-4o", "messages": USER, "stream": True})
        chunks = events(response.content)
        assert time.perf_counter() - started < 10
        assert len(chunks) == 20_000 + 3
        assert chunks[1]["choices"][0]["delta"]["content"] == " tok0"
        assert streamed_text(chunks).endswith(" tok19998 tok19999")
        text = client(server).chat.completions.create(model="gpt-4o", messages=USER,
                                                      max_tokens=5).choices[0]
        assert text.message.content == " tok0 tok1 tok2 tok3 tok4" and text.finish_reason == "length"


def test_max_tokens_n_and_stop(server: OpenAIEmulator, http: requests.Session) -> None:
    body = chat(http, server, max_tokens=2).json()
    assert body["choices"][0]["message"]["content"] == "Echo: hello"
    assert body["choices"][0]["finish_reason"] == "length"
    body = chat(http, server, n=2).json()
    assert [c["message"]["content"] for c in body["choices"]] == ["[0] Echo: hello there", "[1] Echo: hello there"]
    chunks = events(chat(http, server, n=2, stream=True).content)
    assert streamed_text(chunks, 1) == "[1] Echo: hello there"
    finishes = [c["choices"][0] for c in chunks if c != "[DONE]" and c["choices"][0]["finish_reason"]]
    assert [f["index"] for f in finishes] == [0, 1]
    assert chat(http, server, stop=[" there"]).json()["choices"][0]["message"]["content"] == "Echo: hello"


def test_tool_calls_streamed_and_reassembled_by_openai(server: OpenAIEmulator) -> None:
    with client(server).chat.completions.stream(model="gpt-4o", messages=[{"role": "user", "content": "find cats"}],
                                                tools=TOOLS) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert final.choices[0].finish_reason == "tool_calls"
    assert [(c.id, c.function.name) for c in calls] == [("call_0", "search"), ("call_1", "lookup")]
    assert all(json.loads(c.function.arguments) == {"query": "find cats"} for c in calls)


def test_tool_call_wire_shape(server: OpenAIEmulator, http: requests.Session) -> None:
    chunks = events(chat(http, server, tools=TOOLS, parallel_tool_calls=False, stream=True).content)
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1]]
    opening = deltas[1]["tool_calls"][0]
    assert opening == {"index": 0, "id": "call_0", "type": "function", "function": {"name": "search", "arguments": ""}}
    fragments = [d["tool_calls"][0] for d in deltas[2:-1]]
    assert len(fragments) >= 3 and all(set(f) == {"index", "function"} for f in fragments)
    assert json.loads("".join(f["function"]["arguments"] for f in fragments)) == {"query": "hello there"}
    body = chat(http, server, tools=TOOLS).json()["choices"][0]
    assert body["message"]["content"] is None and len(body["message"]["tool_calls"]) == 2
    # Once the tool has answered, the model answers with text, so tool loops terminate.
    done = [*USER, {"role": "assistant", "content": None, "tool_calls": [body["message"]["tool_calls"][0]]},
            {"role": "tool", "tool_call_id": "call_0", "content": "42"}]
    assert chat(http, server, tools=TOOLS, messages=done).json()["choices"][0]["message"]["content"] == \
        "Echo: hello there"
    named = chat(http, server, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "lookup"}})
    assert [c["function"]["name"] for c in named.json()["choices"][0]["message"]["tool_calls"]] == ["lookup"]


def test_reasoning_model(server: OpenAIEmulator, http: requests.Session) -> None:
    chunks = events(chat(http, server, model="deepseek-reasoner", stream=True).content)
    assert streamed_text(chunks, key="reasoning_content") == "Thinking about it."
    assert streamed_text(chunks) == "Echo: hello there"
    first_content = next(i for i, c in enumerate(chunks) if c["choices"][0]["delta"].get("content"))
    assert all("reasoning_content" not in c["choices"][0]["delta"] for c in chunks[first_content:-2])
    message = chat(http, server, model="deepseek-reasoner").json()["choices"][0]["message"]
    assert message["reasoning_content"] == "Thinking about it." and message["content"] == "Echo: hello there"


def test_refusal(server: OpenAIEmulator, http: requests.Session) -> None:
    refuse = [{"role": "user", "content": "please REFUSE"}]
    chunks = events(chat(http, server, messages=refuse, stream=True).content)
    assert streamed_text(chunks, key="refusal") == "I can't help with that."
    assert chunks[0]["choices"][0]["delta"]["content"] is None and streamed_text(chunks) == ""
    message = client(server).chat.completions.create(model="gpt-4o", messages=refuse).choices[0].message
    assert message.refusal == "I can't help with that." and message.content is None


def test_inband_error(server: OpenAIEmulator, http: requests.Session) -> None:
    messages = [{"role": "user", "content": "boom INBAND_ERROR now"}]
    chunks = events(chat(http, server, messages=messages, stream=True).content)
    assert streamed_text(chunks[:-1]) == "Echo: boom"
    assert chunks[-1] == {"error": {"message": "The server had an error while processing your request.",
                                    "type": "server_error"}}
    with pytest.raises(openai.APIError, match="server had an error"):
        list(client(server).chat.completions.create(model="gpt-4o", messages=messages, stream=True))
    assert chat(http, server, messages=messages).status_code == 500


# ------------------------------------------------------------------------------------ validation
BAD_BODIES: list[tuple[dict[str, Any], str | None, str]] = [
    ({"messages": USER}, None, "you must provide a model parameter"),
    ({"model": "gpt-4o"}, "messages", "Missing required parameter: 'messages'."),
    ({"model": "gpt-4o", "messages": []}, "messages", "empty array"),
    ({"model": "gpt-4o", "messages": "hi"}, "messages", "expected an array"),
    ({"model": "gpt-4o", "messages": ["hi"]}, "messages[0]", "expected an object"),
    ({"model": "gpt-4o", "messages": [{"role": "bot", "content": "x"}]}, "messages[0].role", "Invalid value: 'bot'"),
    ({"model": "gpt-4o", "messages": [{"content": "x"}]}, "messages[0].role", "Missing required parameter"),
    ({"model": "gpt-4o", "messages": [{"role": "user"}]}, "messages[0].content", "Missing required parameter"),
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": None}]}, "messages[0].content", "Missing"),
    ({"model": "gpt-4o", "messages": [{"role": "assistant", "content": None}]}, "messages[0].content", "Missing"),
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": 5}]}, "messages[0].content", "Invalid type"),
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "audio"}]}]},
     "messages[0].content[0].type", "Invalid value: 'audio'"),
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "text"}]}]},
     "messages[0].content[0].text", "Invalid type"),
    ({"model": "gpt-4o",
      "messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "u"}}]}]},
     "messages[0].content[0].type", "Invalid value"),
    ({"model": "gpt-4o", "messages": [{"role": "tool", "content": "42"}]}, "messages[0].tool_call_id", "Missing"),
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": "x", "reasoning_content": "y"}]},
     "messages[0]", "Additional properties are not allowed ('reasoning_content' was unexpected)"),
    ({"model": "gpt-4o", "messages": USER, "temperature": 2.5}, "temperature", "above maximum value"),
    ({"model": "gpt-4o", "messages": USER, "temperature": "hot"}, "temperature", "Invalid type"),
    ({"model": "gpt-4o", "messages": USER, "top_p": -0.1}, "top_p", "below minimum value"),
    ({"model": "gpt-4o", "messages": USER, "n": 0}, "n", "below minimum value"),
    ({"model": "gpt-4o", "messages": USER, "n": 1.5}, "n", "expected an integer"),
    ({"model": "gpt-4o", "messages": USER, "max_tokens": 0}, "max_tokens", "below minimum value"),
    ({"model": "gpt-4o", "messages": USER, "max_tokens": True}, "max_tokens", "Invalid type"),
    ({"model": "gpt-4o", "messages": USER, "stop": ["a", "b", "c", "d", "e"]}, "stop", "array too long"),
    ({"model": "gpt-4o", "messages": USER, "stop": 3}, "stop", "Invalid type"),
    ({"model": "gpt-4o", "messages": USER, "stream": "yes"}, "stream", "expected a boolean"),
    ({"model": "gpt-4o", "messages": USER, "stream_options": {"include_usage": True}}, "stream_options",
     "only allowed when 'stream' is enabled"),
    ({"model": "gpt-4o", "messages": USER, "tools": [{"type": "function"}]}, "tools[0].function", "Missing"),
    ({"model": "gpt-4o", "messages": USER, "tools": [{"type": "retrieval"}]}, "tools[0].type", "Invalid value"),
    ({"model": "gpt-4o", "messages": USER, "tools": [{"type": "function", "function": {"name": "a b"}}]},
     "tools[0].function.name", "does not match pattern"),
    ({"model": "gpt-4o", "messages": USER, "tool_choice": "auto"}, "tool_choice", "only allowed when 'tools'"),
    ({"model": "gpt-4o", "messages": USER, "tools": []}, "tools", "empty array"),
    ({"model": "gpt-4o", "messages": USER, "tools": TOOLS,
      "tool_choice": {"type": "function", "function": {"name": "x"}}},
     "tool_choice", "not one of the tools"),
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": "x", "tool_calls": []}]}, "messages[0].tool_calls",
     "only allowed for messages with role 'assistant'"),
    ({"model": "gpt-4o", "messages": [{"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]}]},
     "messages[0].tool_calls[0].type", "Invalid value"),
    ({"model": "gpt-4o", "messages": USER, "frobnicate": 1}, None,
     "Unrecognized request argument supplied: frobnicate"),
]


@pytest.mark.parametrize(("body", "param", "message"), BAD_BODIES)
def test_validation_rejects(server: OpenAIEmulator, http: requests.Session, body: dict[str, Any],
                            param: str | None, message: str) -> None:
    response = http.post(server.base_url + "/chat/completions", json=body, timeout=5)
    assert response.status_code == 400, response.text
    assert response.headers["x-request-id"].startswith("req_")
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert message in error["message"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", b"\xff\xfe"])
def test_unparseable_bodies(server: OpenAIEmulator, http: requests.Session, raw: bytes) -> None:
    response = http.post(server.base_url + "/chat/completions", data=raw,
                         headers={"Content-Type": "application/json"}, timeout=5)
    assert response.status_code == 400
    assert "could not parse the JSON body" in response.json()["error"]["message"]


def test_openai_client_sees_bad_request(server: OpenAIEmulator) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(server).chat.completions.create(model="gpt-4o", messages=USER, temperature=9)
    assert caught.value.param == "temperature"


def test_unknown_model_and_url(server: OpenAIEmulator, http: requests.Session) -> None:
    response = chat(http, server, model="gpt-9")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client(server).chat.completions.create(model="gpt-9", messages=USER)
    for method, path in [("GET", "/v1/nothing"), ("POST", "/v1/completions"), ("GET", "/v1/chat/completions"),
                         ("DELETE", "/v1/models/gpt-4o")]:
        response = http.request(method, server.origin + path, timeout=5)
        assert response.status_code == 404
        assert response.json()["error"] == {"message": f"Invalid URL ({method} {path})",
                                            "type": "invalid_request_error", "param": None, "code": "unknown_url"}


# ------------------------------------------------------------------------------------ auth
def test_auth_required_and_key_not_echoed(server: OpenAIEmulator) -> None:
    missing = requests.get(server.base_url + "/models", timeout=5)
    assert missing.status_code == 401 and "didn't provide an API key" in missing.json()["error"]["message"]
    wrong_key = "sk-wrong-key-abcdefghijklmnop"
    wrong = requests.post(server.base_url + "/chat/completions", json={"model": "gpt-4o", "messages": USER},
                          headers={"Authorization": f"Bearer {wrong_key}"}, timeout=5)
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    assert wrong_key not in wrong.text and KEY not in wrong.text and "mnop" in wrong.text
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server.base_url, api_key="short", max_retries=0).models.list()
    assert server.chat_requests == 1 and server.models_requests == 2


def test_no_auth_when_no_key() -> None:
    with OpenAIEmulator() as server:
        assert requests.get(server.base_url + "/models", timeout=5).status_code == 200


# ------------------------------------------------------------------------------------ images
def test_images_url_and_b64(server: OpenAIEmulator, http: requests.Session) -> None:
    result = client(server).images.generate(prompt="a teal pixel", model="dall-e-3", n=2)
    urls = [image.url or "" for image in result.data or []]
    assert urls == [f"{server.origin}/files/img-0.png", f"{server.origin}/files/img-1.png"]
    assert (result.data or [])[0].revised_prompt == "a teal pixel"
    png = requests.get(urls[1], timeout=5)
    assert png.headers["Content-Type"] == "image/png"
    assert_valid_png(png.content)
    b64 = http.post(server.base_url + "/images/generations", timeout=5,
                    json={"prompt": "x", "response_format": "b64_json"}).json()
    assert base64.b64decode(b64["data"][0]["b64_json"]) == png.content
    assert http.post(server.base_url + "/images/generations", json={"n": 1}, timeout=5).status_code == 400
    assert http.post(server.base_url + "/images/generations", json={"prompt": "x", "model": "nope"},
                     timeout=5).status_code == 404
    assert http.get(server.origin + "/files/secret.txt", timeout=5).status_code == 404


def assert_valid_png(data: bytes) -> None:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    position, kinds, idat = 8, [], b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind, payload = data[position + 4:position + 8], data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + payload)
        kinds.append(kind)
        idat += payload if kind == b"IDAT" else b""
        position += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"] and len(zlib.decompress(idat)) == 5


# ------------------------------------------------------------------------------------ faults
def test_rate_limit_with_retry_headers(server: OpenAIEmulator, http: requests.Session) -> None:
    server.faults.rate_limit_first = 2
    server.faults.retry_after = "1"
    server.faults.retry_after_ms = "20"
    first = chat(http, server)
    assert first.status_code == 429
    assert first.headers["retry-after"] == "1" and first.headers["retry-after-ms"] == "20"
    assert first.headers["x-request-id"].startswith("req_")
    assert first.json()["error"]["code"] == "rate_limit_exceeded"
    assert http.get(server.base_url + "/models", timeout=5).status_code == 429  # models count too
    assert chat(http, server).status_code == 200
    # Re-arming counts again from zero; openai's own retries (honouring retry-after-ms) use it up.
    server.faults.rate_limit_first = 1
    result = client(server, max_retries=2).chat.completions.create(model="gpt-4o", messages=USER)
    assert result.choices[0].message.content == "Echo: hello there"
    assert server.chat_requests == 4 and server.models_requests == 1


def test_server_errors(server: OpenAIEmulator, http: requests.Session) -> None:
    server.faults = Faults(error_status=503, error_first=2)
    statuses = [chat(http, server).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    server.faults = Faults(error_status=500, error_first=1, rate_limit_first=1)
    assert [chat(http, server).status_code for _ in range(3)] == [429, 500, 200]
    server.faults = Faults(error_status=502, error_first=1)
    with pytest.raises(openai.InternalServerError) as caught:
        client(server).chat.completions.create(model="gpt-4o", messages=USER)
    assert caught.value.status_code == 502 and caught.value.request_id


def test_html_challenge(server: OpenAIEmulator, http: requests.Session) -> None:
    server.faults.html_challenge = True
    server.faults.html_status = 503
    response = chat(http, server)
    assert response.status_code == 503 and response.headers["Content-Type"].startswith("text/html")
    assert "<title>Just a moment...</title>" in response.text and response.headers["x-request-id"]
    # Cloudflare answers before auth: even a keyless request sees the challenge.
    assert requests.get(server.base_url + "/models", timeout=5).status_code == 503
    server.faults.html_challenge = False
    assert chat(http, server).status_code == 200


def test_malformed_lines(server: OpenAIEmulator, http: requests.Session) -> None:
    server.faults.malformed_lines = True
    raw = chat(http, server, stream=True).content
    assert b'\ndata: {"choices": [\n\n' in raw and b"x-emulator-note:" in raw and b'"x_emulator_unknown":true' in raw
    good = [json.loads(line[6:]) for line in raw.split(b"\n") if line.startswith(b"data: {") and b'"id"' in line]
    assert streamed_text(good) == "Echo: hello there"
    with pytest.raises(ValueError):
        list(client(server).chat.completions.create(model="gpt-4o", messages=USER, stream=True))


def test_invalid_utf8(server: OpenAIEmulator, http: requests.Session) -> None:
    server.faults.invalid_utf8 = True
    raw = chat(http, server, stream=True).content
    assert b'"content":"\xff"' in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_no_done_and_keepalive(server: OpenAIEmulator, http: requests.Session) -> None:
    server.faults.no_done = True
    raw = chat(http, server, stream=True).content
    assert b"[DONE]" not in raw and raw.endswith(b'"finish_reason":"stop"}]}\n\n')
    server.faults = Faults(keepalive_comments=True)
    raw = chat(http, server, stream=True).content
    assert raw.startswith(b": keep-alive\n\n") and raw.count(b": keep-alive") >= 4
    assert raw.count(b'"delta":{}') >= 4
    text = "".join(c.choices[0].delta.content or "" for c in client(server).chat.completions.create(
        model="gpt-4o", messages=USER, stream=True))
    assert text == "Echo: hello there"


def test_chunk_split_frames(server: OpenAIEmulator, http: requests.Session) -> None:
    server.faults.chunk_split = 7
    response = http.post(server.base_url + "/chat/completions", stream=True, timeout=5,
                         json={"model": "gpt-4o", "messages": USER, "stream": True})
    pieces = list(response.raw.read_chunked(decode_content=False))
    assert max(len(p) for p in pieces) <= 7 and len(pieces) > 20
    assert streamed_text(events(b"".join(pieces))) == "Echo: hello there"
    text = "".join(c.choices[0].delta.content or "" for c in client(server).chat.completions.create(
        model="gpt-4o", messages=USER, stream=True))
    assert text == "Echo: hello there"


def test_reject_stream_options_and_no_models(server: OpenAIEmulator, http: requests.Session) -> None:
    server.faults.reject_stream_options = True
    refused = chat(http, server, stream=True, stream_options={"include_usage": True})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "stream_options"
    assert chat(http, server, stream=True).status_code == 200
    server.faults.no_models_endpoint = True
    missing = http.get(server.base_url + "/models", timeout=5)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_url"


def test_drop_mid_stream(server: OpenAIEmulator, http: requests.Session) -> None:
    server.faults.drop_after = 2
    response = http.post(server.base_url + "/chat/completions", stream=True, timeout=5,
                         json={"model": "gpt-4o", "messages": USER, "stream": True})
    received = b""
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        for piece in response.iter_content(None):
            received += piece
    assert len(events(received)) == 2
    with pytest.raises(openai.APIConnectionError):
        list(client(server).chat.completions.create(model="gpt-4o", messages=USER, stream=True))


def test_stall_times_out_client_then_recovers(server: OpenAIEmulator, http: requests.Session) -> None:
    server.faults.stall_after = 1
    server.faults.stall_seconds = 1.0
    response = http.post(server.base_url + "/chat/completions", stream=True, timeout=(5, 0.3),
                         json={"model": "gpt-4o", "messages": USER, "stream": True})
    started = time.perf_counter()
    with pytest.raises(requests.exceptions.ConnectionError):  # requests wraps the read timeout
        for _ in response.iter_content(None):
            pass
    assert time.perf_counter() - started < 0.9
    response.close()
    server.faults.stall_seconds = 0.2
    started = time.perf_counter()
    assert streamed_text(events(chat(http, server, stream=True).content)) == "Echo: hello there"
    assert time.perf_counter() - started >= 0.2


def test_stop_is_prompt_while_stalled() -> None:
    server = OpenAIEmulator().start()
    server.faults = Faults(stall_after=0, stall_seconds=30)
    session = requests.Session()
    response = session.post(server.base_url + "/chat/completions", stream=True, timeout=5,
                            json={"model": "gpt-4o", "messages": USER, "stream": True})
    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 5
    response.close()
    session.close()


# ------------------------------------------------------------------------------------ connections
def test_connection_reuse_across_errors(server: OpenAIEmulator, http: requests.Session) -> None:
    server.reset_counters()
    assert chat(http, server).status_code == 200
    assert chat(http, server, model="gpt-9").status_code == 404
    assert chat(http, server, temperature=5).status_code == 400
    assert http.post(server.base_url + "/chat/completions", data=b"{", timeout=5).status_code == 400
    assert len(events(chat(http, server, stream=True).content)) == 6  # role, 3 tokens, finish, [DONE]
    server.faults.rate_limit_first = 1
    assert chat(http, server).status_code == 429
    assert http.get(server.base_url + "/models", timeout=5).status_code == 200
    assert server.connections_opened == 1
    api = client(server)
    for _ in range(3):
        api.chat.completions.create(model="gpt-4o", messages=USER)
    assert server.connections_opened == 2


def test_tls(tmp_path: Any) -> None:
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    context = __import__("ssl").create_default_context(__import__("ssl").Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    with OpenAIEmulator(ssl_context=context) as server:
        assert server.base_url.startswith("https://localhost:")
        assert requests.get(server.base_url + "/models", verify=str(bundle), timeout=5).status_code == 200


def test_accepts_everything_the_openai_client_sends(server: OpenAIEmulator) -> None:
    api = client(server)
    first = api.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "developer", "content": "terse"}, {"role": "user", "content": "go", "name": "u1"}],
        temperature=0, top_p=1, n=1, max_completion_tokens=50, stop="zzz", seed=7, user="me", presence_penalty=0.5,
        frequency_penalty=-0.5, logprobs=False, metadata={"k": "v"}, response_format={"type": "text"}, store=False,
        tools=TOOLS, tool_choice="required", parallel_tool_calls=False, stream_options=None)
    call = first.choices[0].message.tool_calls[0]
    second = api.chat.completions.create(model="gpt-4o", tools=TOOLS, messages=[
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump(exclude_none=True)]},
        {"role": "tool", "tool_call_id": call.id, "content": [{"type": "text", "text": "result"}]}])
    assert second.choices[0].message.content == "Echo: go" and second.choices[0].finish_reason == "stop"
