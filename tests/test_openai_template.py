"""OpenaiTemplate against the loopback emulator: answers, faults, and what the request looked like."""

from __future__ import annotations

import base64

import pytest

from chatgpt_sync import OpenaiTemplate, Timeout
from chatgpt_sync.errors import (
    APIConnectionError, APITimeoutError, BadRequestError, AuthenticationError, BlockedError, InternalServerError,
    NotFoundError, RateLimitError, ResponseError,
)
from chatgpt_sync.types import (
    ChoiceText, FinishReason, ImageResponse, Reasoning, Refusal, ToolCalls, Usage,
)

from conftest import API_KEY, USER

TOOLS = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}},
         {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]


@pytest.fixture
def provider(openai_server, sleeps):
    with OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY, sleep=sleeps,
                        timeout=Timeout(connect=2, read=5, stream_idle=5)) as p:
        yield p


def text_of(chunks) -> str:
    return "".join(c for c in chunks if isinstance(c, str))


def kinds(chunks) -> list[str]:
    return [type(c).__name__ for c in chunks if not isinstance(c, str)]


@pytest.mark.parametrize("stream", [True, False])
def test_text_finish_and_usage(provider, openai_server, stream) -> None:
    chunks = list(provider.create_completion("gpt-4o-mini", USER, stream=stream))
    assert text_of(chunks) == "Echo: hello world"
    assert kinds(chunks) == ["ResponseMeta", "FinishReason", "Usage"]
    meta = chunks[0]
    # The server's own identifiers, not the name asked for, and the request id from its headers.
    assert meta.id.startswith("chatcmpl-") and meta.model == "gpt-4o-mini-2024-07-18"
    assert meta.system_fingerprint == "fp_e5a2b3c4d1" and isinstance(meta.created, int)
    assert meta.request_id.startswith("req_") and meta.status_code == 200
    assert chunks[-2] == FinishReason("stop")
    assert chunks[-1] == Usage(2, 3, 5)
    body = openai_server.requests[-1].json()
    assert body["stream"] is stream
    assert ("stream_options" in body) is stream  # usage is asked for in streams


def test_stream_yields_pieces_as_they_arrive(provider) -> None:
    chunks = list(provider.create_completion("gpt-4o-mini", USER, stream=True))
    assert [c for c in chunks if isinstance(c, str)] == ["Echo:", " hello", " world"]


@pytest.mark.parametrize("stream", [True, False])
def test_parallel_tool_calls_are_joined_and_kept_apart(provider, stream) -> None:
    chunks = list(provider.create_completion("gpt-4o-mini", [{"role": "user", "content": "find cats"}],
                                             stream=stream, tools=TOOLS))
    calls = [c for c in chunks if isinstance(c, ToolCalls)]
    assert len(calls) == 1
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls[0].tool_calls] == [
        ("call_0", "search", '{"query": "find cats"}'), ("call_1", "lookup", '{"query": "find cats"}')]
    assert text_of(chunks) == ""
    assert FinishReason("tool_calls") in chunks


@pytest.mark.parametrize("stream", [True, False])
def test_reasoning_refusal_and_several_choices(provider, stream) -> None:
    reasoning = list(provider.create_completion("deepseek-reasoner", USER, stream=stream))
    assert "".join(c.text for c in reasoning if isinstance(c, Reasoning)) == "Thinking about it."
    assert text_of(reasoning) == "Echo: hello world"
    refused = list(provider.create_completion("gpt-4o-mini", [{"role": "user", "content": "REFUSE"}],
                                              stream=stream))
    assert "".join(c.text for c in refused if isinstance(c, Refusal)) == "I can't help with that."
    assert text_of(refused) == ""
    two = list(provider.create_completion("gpt-4o-mini", USER, stream=stream, n=2))
    assert text_of(two) == "[0] Echo: hello world"
    assert "".join(c.text for c in two if isinstance(c, ChoiceText) and c.index == 1) == "[1] Echo: hello world"
    assert [c.index for c in two if isinstance(c, FinishReason)] == [0, 1]


def test_max_tokens_gives_length(provider) -> None:
    chunks = list(provider.create_completion("gpt-4o-mini", USER, stream=True, max_tokens=1))
    assert text_of(chunks) == "Echo:" and FinishReason("length") in chunks


def test_in_band_error_keeps_the_partial_text(provider) -> None:
    with pytest.raises(ResponseError) as info:
        list(provider.create_completion("gpt-4o-mini", [{"role": "user", "content": "INBAND_ERROR now"}],
                                        stream=True))
    assert "server had an error" in str(info.value)
    assert info.value.partial_text == "Echo: INBAND_ERROR"


def test_rate_limit_is_retried_with_the_servers_delay(provider, openai_server, sleeps) -> None:
    openai_server.faults.retry_after = "1"
    openai_server.faults.rate_limit_first = 2
    assert provider.create_completion("gpt-4o-mini", USER, stream=True).text() == "Echo: hello world"
    assert sleeps.calls == [1.0, 1.0]
    assert openai_server.chat_requests == 3


def test_rate_limit_after_retries_raises_with_retry_after(provider, openai_server, sleeps) -> None:
    openai_server.faults.retry_after_ms = "250"
    openai_server.faults.rate_limit_first = 5
    with pytest.raises(RateLimitError) as info:
        list(provider.create_completion("gpt-4o-mini", USER, stream=True, max_retries=1))
    assert info.value.retry_after == 0.25 and info.value.request_id
    assert openai_server.chat_requests == 2


@pytest.mark.parametrize("code", [500, 502, 503])
def test_server_errors_are_retried(provider, openai_server, code) -> None:
    openai_server.faults.error_status = code
    openai_server.faults.error_first = 2
    assert provider.create_completion("gpt-4o-mini", USER).text() == "Echo: hello world"
    openai_server.faults.error_first = 3
    with pytest.raises(InternalServerError):
        list(provider.create_completion("gpt-4o-mini", USER))


def test_wrong_key_is_not_retried(openai_server, sleeps) -> None:
    provider = OpenaiTemplate(base_url=openai_server.base_url, api_key="sk-wrong-0000000000", sleep=sleeps)
    with pytest.raises(AuthenticationError) as info:
        list(provider.create_completion("gpt-4o-mini", USER, stream=True))
    assert openai_server.chat_requests == 1 and sleeps.calls == []
    assert "sk-wrong-0000000000" not in str(info.value)


def test_unknown_model_is_not_found(provider) -> None:
    with pytest.raises(NotFoundError):
        list(provider.create_completion("gpt-9", USER))


@pytest.mark.parametrize("stream", [True, False])
def test_html_challenge_is_blocked_error(provider, openai_server, stream) -> None:
    openai_server.faults.html_challenge = True
    with pytest.raises(BlockedError) as info:
        list(provider.create_completion("gpt-4o-mini", USER, stream=stream))
    assert info.value.kind == "cloudflare" and "Just a moment" in str(info.value)
    openai_server.faults.html_status = 200  # a wall served with 200 is still a wall
    with pytest.raises(BlockedError):
        list(provider.create_completion("gpt-4o-mini", USER, stream=stream))


@pytest.mark.parametrize("fault", ["malformed_lines", "keepalive_comments", "no_done"])
def test_stream_quirks_are_tolerated(provider, openai_server, fault) -> None:
    setattr(openai_server.faults, fault, True)
    chunks = list(provider.create_completion("gpt-4o-mini", USER, stream=True))
    assert text_of(chunks) == "Echo: hello world"
    assert FinishReason("stop") in chunks


def test_invalid_utf8_becomes_a_replacement_character(provider, openai_server) -> None:
    openai_server.faults.invalid_utf8 = True
    text = provider.create_completion("gpt-4o-mini", USER, stream=True).text()
    assert "\ufffd" in text


@pytest.mark.parametrize("split", [1, 3, 7])
def test_events_split_across_reads(provider, openai_server, split) -> None:
    openai_server.faults.chunk_split = split
    assert provider.create_completion("gpt-4o-mini", USER, stream=True).text() == "Echo: hello world"


def test_server_rejecting_stream_options_still_answers(provider, openai_server) -> None:
    openai_server.faults.reject_stream_options = True
    chunks = list(provider.create_completion("gpt-4o-mini", USER, stream=True))
    assert text_of(chunks) == "Echo: hello world"
    assert "stream_options" not in openai_server.requests[-1].json()
    assert len(openai_server.requests) == 2  # the refused one, then the one without stream_options


def test_any_other_400_on_a_stream_is_raised_after_one_request(provider, openai_server) -> None:
    # Only a 400 about the stream_options we added is answered by a second request (rule 11).
    with pytest.raises(BadRequestError):
        list(provider.create_completion("gpt-4o-mini", USER, stream=True, temperature=5))
    assert len(openai_server.requests) == 1


def test_drop_mid_stream_raises_connection_error_with_partial_text(provider, openai_server) -> None:
    openai_server.faults.drop_after = 3
    pieces: list[str] = []
    with pytest.raises(APIConnectionError) as info:
        for piece in provider.create_completion("gpt-4o-mini", USER, stream=True):
            if isinstance(piece, str):
                pieces.append(piece)
    assert info.value.partial_text == "".join(pieces) != ""


def test_stall_mid_stream_raises_timeout_after_the_idle_limit(openai_server) -> None:
    openai_server.faults.stall_after = 2
    openai_server.faults.stall_seconds = 3
    provider = OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY,
                              timeout=Timeout(connect=2, read=5, stream_idle=0.3))
    import time
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        list(provider.create_completion("gpt-4o-mini", USER, stream=True))
    assert time.monotonic() - started < 2.5
    assert info.value.partial_text == "Echo:"


def test_get_models_and_fallback(openai_server) -> None:
    provider = OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY)
    assert provider.get_models() == sorted(["gpt-4o-mini", "gpt-4o", "deepseek-reasoner", "dall-e-3"])
    assert OpenaiTemplate.get_models(api_key=API_KEY, api_base=openai_server.base_url) == provider.get_models()
    openai_server.faults.no_models_endpoint = True
    with pytest.raises(NotFoundError):
        provider.get_models()

    class WithFallback(OpenaiTemplate):
        fallback_models = ["local-model"]

    assert WithFallback(base_url=openai_server.base_url).get_models() == ["local-model"]


@pytest.mark.parametrize("stream", [True, False])
def test_image_models_use_images_generations(provider, openai_server, stream) -> None:
    chunks = list(provider.create_completion("dall-e-3", [{"role": "user", "content": "a red fox"}],
                                             stream=stream))
    images = [c for c in chunks if isinstance(c, ImageResponse)]
    assert len(images) == 1 and images[0].alt == "a red fox"
    assert images[0].urls[0].startswith(openai_server.origin + "/files/")
    assert openai_server.requests[-1].path == "/v1/images/generations"
    b64 = list(provider.create_completion("dall-e-3", USER, prompt="a cat", response_format="b64_json"))
    url = [c for c in b64 if isinstance(c, ImageResponse)][0].urls[0]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]).startswith(b"\x89PNG")


def test_prompt_on_a_chat_model_is_an_error_not_a_silent_switch(provider) -> None:
    from chatgpt_sync.errors import InvalidRequestError
    with pytest.raises(InvalidRequestError):
        provider.create_completion("gpt-4o-mini", USER, prompt="a cat")


def test_media_become_image_parts_of_the_last_user_message(provider, openai_server, tmp_path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    path = tmp_path / "pic.png"
    path.write_bytes(png)
    messages = [{"role": "user", "content": "what is this?"}]
    list(provider.create_completion("gpt-4o-mini", messages,
                                    media=[str(path), b"\xff\xd8\xff\xe0jpeg", "https://example.test/a.png"]))
    sent = openai_server.requests[-1].json()["messages"][-1]["content"]
    assert [p["type"] for p in sent] == ["image_url", "image_url", "image_url", "text"]
    assert sent[0]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(png).decode()
    assert sent[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert sent[2]["image_url"]["url"] == "https://example.test/a.png"
    assert sent[3] == {"type": "text", "text": "what is this?"}
    assert messages == [{"role": "user", "content": "what is this?"}]  # the caller's list is untouched


def test_unreadable_media_fails_before_sending(provider, openai_server) -> None:
    from chatgpt_sync.errors import InvalidRequestError
    with pytest.raises(InvalidRequestError) as info:
        provider.create_completion("gpt-4o-mini", USER, media=["/no/such/file.png"])
    assert "cannot be read" in str(info.value) and len(openai_server.requests) == 0


def test_parameters_and_extra_data_pass_through(provider, openai_server) -> None:
    list(provider.create_completion("gpt-4o-mini", USER, temperature=0.5, top_p=0.9, stop=["x"], seed=3,
                                    extra_data={"presence_penalty": 0.25}))
    body = openai_server.requests[-1].json()
    assert (body["temperature"], body["top_p"], body["stop"], body["seed"], body["presence_penalty"]) == (
        0.5, 0.9, ["x"], 3, 0.25)


def test_strict_servers_reject_what_they_do_not_know(provider) -> None:
    from chatgpt_sync.errors import BadRequestError
    with pytest.raises(BadRequestError) as info:
        list(provider.create_completion("gpt-4o-mini", USER, extra_data={"top_k": 5}))
    assert "top_k" in str(info.value)


def test_get_headers_follows_the_seed() -> None:
    assert OpenaiTemplate.get_headers(True, "k", {"X-A": "1"}) == {
        "Accept": "text/event-stream", "Content-Type": "application/json", "Authorization": "Bearer k", "X-A": "1"}
    assert OpenaiTemplate.get_headers(False) == {"Accept": "application/json", "Content-Type": "application/json"}


def test_last_event_without_a_blank_line_is_not_lost() -> None:
    from chatgpt_sync._sse import event_batches
    body = b'data: {"a": 1}\n\ndata: {"b": 2}'
    assert [e.data for batch in event_batches([body[:9], body[9:]]) for e in batch] == ['{"a": 1}', '{"b": 2}']
