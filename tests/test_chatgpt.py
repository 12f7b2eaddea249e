"""ChatGpt (anonymous chatgpt.com) against the strict loopback web emulator.

The emulator refuses what the real backend refuses (bad proof of work, reused sentinel tokens,
mixed fingerprints, wrong parents), so a completed answer already proves most of the protocol; the
tests below add what it cannot see: what the client yields, what it sent, and how it fails.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from chatgpt_sync import Timeout
from chatgpt_sync.errors import (
    APIConnectionError, APITimeoutError, BlockedError, InternalServerError, InvalidRequestError,
    RateLimitError, ResponseError, TurnstileRequiredError, UnknownParameterError,
)
from chatgpt_sync.providers.chatgpt import (
    ChatGpt, format_conversation, get_answer_token, get_config, get_requirements_token, init_session,
)
from chatgpt_sync.testing.chatgpt_web.checks import parse_cookies, ua_platform
from chatgpt_sync.testing.chatgpt_web.handler import UNUSUAL_ACTIVITY
from chatgpt_sync.testing.chatgpt_web.stream import INBAND_ERROR
from chatgpt_sync.testing.chatgpt_web import ChatGptWebEmulator
from chatgpt_sync.testing.pow_verifier import verify_answer_token, verify_requirements_token
from chatgpt_sync.types import Conversation, FinishReason, ResponseMeta, TitleGeneration

from conftest import wait_until

ROOT = Path(__file__).resolve().parent.parent
SENTINEL = "/backend-anon/sentinel/chat-requirements"
CONVERSATION = "/backend-anon/conversation"
REQUIREMENTS_HEADER = "openai-sentinel-chat-requirements-token"
PROOF_HEADER = "openai-sentinel-proof-token"
TIMEOUT = Timeout(connect=2, read=5, stream_idle=5)
HELLO = [{"role": "user", "content": "hello there"}]
MAC_UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/130.0.0.0 Safari/537.36")


@pytest.fixture
def server() -> Iterator[ChatGptWebEmulator]:
    with ChatGptWebEmulator() as emulator:
        yield emulator


@pytest.fixture
def provider(server, sleeps) -> Iterator[ChatGpt]:
    with ChatGpt(base_url=server.base_url, sleep=sleeps, timeout=TIMEOUT) as p:
        yield p


def text_of(chunks: list[Any]) -> str:
    return "".join(c for c in chunks if isinstance(c, str))


def objects(chunks: list[Any], kind: type) -> list[Any]:
    return [c for c in chunks if isinstance(c, kind)]


def expected_reply(text: str, turn: int) -> str:
    return f"You said: {text}. Turn {turn}."


def sent(server: ChatGptWebEmulator, path: str) -> list[Any]:
    return [r for r in server.requests if r.path == path]


def only(items: list[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]


# ------------------------------------------------------------------------------ the answer
@pytest.mark.parametrize("stream", [True, False])
def test_class_one_liner_streams_the_reply_then_stop_and_conversation(server, stream) -> None:
    chunks = list(ChatGpt.create_completion("auto", HELLO, stream=stream, base_url=server.base_url))
    pieces = [c for c in chunks if isinstance(c, str)]
    assert "".join(pieces) == expected_reply("hello there", 1)
    if stream:
        assert len(pieces) > 3  # pieces as they arrive, not the whole answer at the end
    else:
        assert len(pieces) == 1
    last_text = max(i for i, c in enumerate(chunks) if isinstance(c, str))
    finishes = [i for i, c in enumerate(chunks) if isinstance(c, FinishReason)]
    assert len(finishes) == 1 and finishes[0] > last_text
    assert chunks[finishes[0]] == FinishReason("stop")
    conversation = only(objects(chunks, Conversation))
    assert conversation.conversation_id in server.conversations
    assert conversation.message_id == server.conversations[conversation.conversation_id][-1]["id"]
    # The throwaway instance behind the class call released its connections when the stream ended.
    assert wait_until(lambda: server.connections_open == 0)


@pytest.mark.parametrize("stream_format", ["legacy", "v1"])
def test_both_stream_encodings_give_the_exact_text(stream_format) -> None:
    with ChatGptWebEmulator(reply="haha haha ha") as server:
        server.faults.stream_format = stream_format
        chunks = list(ChatGpt(base_url=server.base_url, timeout=TIMEOUT).create_completion(
            "auto", HELLO, stream=True))
    assert text_of(chunks) == "haha haha ha"
    assert objects(chunks, FinishReason) == [FinishReason("stop")]


@pytest.mark.parametrize("stream_format", ["legacy", "v1"])
@pytest.mark.parametrize("after_complete", [True, False])
def test_title_arrives_wherever_the_server_puts_it(server, provider, stream_format, after_complete) -> None:
    server.faults.stream_format = stream_format
    server.faults.title_after_complete = after_complete
    chunks = list(provider.create_completion("auto", [{"role": "user", "content": "tell me about owls"}],
                                             stream=True))
    conversation = only(objects(chunks, Conversation))
    assert objects(chunks, TitleGeneration) == [TitleGeneration(server.titles[conversation.conversation_id])]
    assert server.titles[conversation.conversation_id] == "Tell me about owls"


@pytest.mark.parametrize("stream_format", ["legacy", "v1"])
def test_code_sent_to_python_is_not_part_of_the_answer(server, provider, stream_format) -> None:
    server.faults.stream_format = stream_format
    server.faults.tool_message = True
    chunks = list(provider.create_completion("auto", HELLO, stream=True))
    text = text_of(chunks)
    assert text == expected_reply("hello there", 1)
    assert "math" not in text and "print(" not in text and "4.0" not in text
    assert objects(chunks, FinishReason) == [FinishReason("stop")]


# ------------------------------------------------------------------------------ continuation
def _second_turn_checks(server: ChatGptWebEmulator, first: Conversation, second_chunks: list[Any]) -> None:
    assert text_of(second_chunks) == expected_reply("and again", 2)
    body = sent(server, CONVERSATION)[-1].json()
    assert body["conversation_id"] == first.conversation_id
    assert body["parent_message_id"] == first.message_id
    assert [(m["author"]["role"], m["content"]["parts"]) for m in body["messages"]] == [("user", ["and again"])]
    second = only(objects(second_chunks, Conversation))
    assert second.conversation_id == first.conversation_id and second.message_id != first.message_id
    assert objects(second_chunks, TitleGeneration) == []  # titles come with new conversations only


def test_two_turns_on_an_instance(server, provider) -> None:
    first_chunks = list(provider.create_completion("auto", HELLO, stream=True))
    first = only(objects(first_chunks, Conversation))
    history = [*HELLO, {"role": "assistant", "content": text_of(first_chunks)},
               {"role": "user", "content": "and again"}]
    second_chunks = list(provider.create_completion("auto", history, stream=True, conversation=first))
    _second_turn_checks(server, first, second_chunks)


def test_two_turns_on_the_class_with_the_conversation_as_a_dict(server) -> None:
    first_chunks = list(ChatGpt.create_completion("auto", HELLO, stream=True, base_url=server.base_url))
    first = only(objects(first_chunks, Conversation))
    history = [{"role": "system", "content": "be brief"}, *HELLO,
               {"role": "assistant", "content": text_of(first_chunks)}, {"role": "user", "content": "and again"}]
    second_chunks = list(ChatGpt.create_completion("auto", history, stream=False, base_url=server.base_url,
                                                   conversation=first.to_dict()))
    _second_turn_checks(server, first, second_chunks)


def test_continuing_needs_a_new_message(server, provider) -> None:
    first = only(objects(list(provider.create_completion("auto", HELLO)), Conversation))
    requests_before = len(server.requests)
    with pytest.raises(InvalidRequestError):
        provider.create_completion("auto", [*HELLO, {"role": "assistant", "content": "hi"}], conversation=first)
    assert len(server.requests) == requests_before


# ------------------------------------------------------------------------------ the wire
def test_requests_in_order_with_verified_tokens(server, provider) -> None:
    list(provider.create_completion("auto", HELLO, stream=True))
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/"), ("POST", SENTINEL), ("POST", CONVERSATION)]
    _, sentinel, conversation = server.requests
    requirements = sentinel.json()["p"]
    assert list(sentinel.json()) == ["p"] and requirements.startswith("gAAAAAC")
    assert verify_requirements_token(requirements)
    token = conversation.header(REQUIREMENTS_HEADER)
    grant = server.issued[token]
    assert grant.used and grant.pow_required
    assert verify_answer_token(conversation.header(PROOF_HEADER), grant.seed, grant.difficulty)
    assert not verify_answer_token(conversation.header(PROOF_HEADER), grant.seed + "x", "000")


def test_no_proof_header_when_no_proof_is_required(server, provider) -> None:
    server.faults.pow_required = False
    assert provider.create_completion("auto", HELLO).text() == expected_reply("hello there", 1)
    conversation = only(sent(server, CONVERSATION))
    assert conversation.header(PROOF_HEADER) is None
    assert conversation.header(REQUIREMENTS_HEADER) in server.issued


@pytest.mark.parametrize("user_agent", [None, MAC_UA])
def test_one_consistent_browser_on_every_request(server, sleeps, user_agent) -> None:
    settings = {"user_agent": user_agent} if user_agent else {}
    provider = ChatGpt(base_url=server.base_url, sleep=sleeps, timeout=TIMEOUT, **settings)
    for _ in range(2):
        list(provider.create_completion("auto", HELLO, stream=True))
    agents = {r.header("User-Agent") for r in server.requests}
    assert len(agents) == 1 and len(server.requests) == 5
    agent = agents.pop()
    if user_agent:
        assert agent == user_agent
    expected_platform = ua_platform(agent)
    assert expected_platform == ("macOS" if user_agent else "Windows")
    for request in server.requests:
        assert request.header("sec-ch-ua-platform") == f'"{expected_platform}"'
        assert ("130" if user_agent else "131") in request.header("sec-ch-ua")
    for request in list(server.requests)[1:]:
        cookie = parse_cookies(request.header("Cookie")).get("oai-did")
        assert cookie and request.header("oai-device-id") == cookie
        assert cookie in server.devices
    provider.close()


def test_conversation_body(server, provider) -> None:
    list(provider.create_completion("gpt-4o", [{"role": "system", "content": "be brief"}, *HELLO]))
    body = only(sent(server, CONVERSATION)).json()
    assert body["supported_encodings"] == ["v1"]
    assert body["action"] == "next"
    assert body["model"] == "chatgpt-4o-latest"
    uuid.UUID(body["websocket_request_id"])
    uuid.UUID(body["parent_message_id"])
    assert "conversation_id" not in body
    assert [(m["author"]["role"], m["content"]["parts"]) for m in body["messages"]] == [
        ("system", ["be brief"]), ("user", ["hello there"])]


def test_a_call_has_no_fixed_sleeps(server, provider, monkeypatch) -> None:
    here = threading.get_ident()
    slept: list[float] = []
    real_sleep = time.sleep

    def recording_sleep(seconds: float) -> None:
        if threading.get_ident() == here:
            slept.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", recording_sleep)
    started = time.monotonic()
    assert provider.create_completion("auto", HELLO, stream=True).text() == expected_reply("hello there", 1)
    assert time.monotonic() - started < 2.0
    assert slept == []


# ------------------------------------------------------------------------------ models and seed helpers
def test_model_names() -> None:
    assert ChatGpt.get_model("gpt-4o") == "chatgpt-4o-latest"
    assert ChatGpt.get_model("gpt-4o-mini") == "gpt-4o-mini"
    assert ChatGpt.get_model("no-such-model") == "auto"
    assert ChatGpt.get_model("") == "auto"


def test_format_conversation_has_the_seed_shape() -> None:
    before = time.time()
    formatted = format_conversation([{"role": "user", "content": "hi"},
                                     {"role": "user", "content": [{"type": "text", "text": "a"},
                                                                  {"type": "text", "text": "b"}]}])
    first, second = formatted
    assert set(first) == {"id", "author", "content", "metadata", "create_time"}
    uuid.UUID(first["id"])
    assert first["id"] != second["id"]
    assert first["author"] == {"role": "user"}
    assert first["content"] == {"content_type": "text", "parts": ["hi"]}
    assert second["content"]["parts"] == ["ab"]
    assert first["metadata"] == {"serialization_metadata": {"custom_symbol_offsets": []}}
    assert before - 1 <= first["create_time"] <= time.time() + 1


def test_seed_helpers_produce_tokens_the_verifier_accepts(server) -> None:
    config = get_config(MAC_UA)
    assert config[4] == MAC_UA
    requirements = get_requirements_token(config)
    assert verify_requirements_token(requirements)
    answer = get_answer_token("0.123", "0fffff", config)
    assert verify_answer_token(answer, "0.123", "0fffff")
    assert not verify_answer_token(answer, "0.124", "00000f")
    session = init_session(MAC_UA, base_url=server.base_url, timeout=TIMEOUT)
    try:
        assert session.device_id in server.devices
        assert session.cookies["oai-did"] == session.device_id
        assert session.data_build == server.data_build
    finally:
        session.core.close()


# ------------------------------------------------------------------------------ walls
def _no_conversation_request(server: ChatGptWebEmulator) -> bool:
    return server.counts["conversation"] == 0 and sent(server, CONVERSATION) == []


@pytest.mark.parametrize("stream", [True, False])
def test_turnstile_required_raises_with_dx(server, provider, sleeps, stream) -> None:
    server.faults.turnstile_required = True
    with pytest.raises(TurnstileRequiredError) as info:
        next(iter(provider.create_completion("auto", HELLO, stream=stream)))
    assert info.value.kind == "turnstile"
    assert len(base64.b64decode(info.value.dx)) == 256
    assert "turnstile_token=" in str(info.value) and "turnstile_solver=" in str(info.value)
    assert _no_conversation_request(server) and sleeps.calls == []


def test_turnstile_token_is_sent(server, provider) -> None:
    server.faults.turnstile_required = True
    assert provider.create_completion("auto", HELLO, turnstile_token="turnstile-ok").text() == \
        expected_reply("hello there", 1)
    assert only(sent(server, CONVERSATION)).header("openai-sentinel-turnstile-token") == "turnstile-ok"


def test_turnstile_solver_gets_dx_and_the_requirements_token(server, sleeps) -> None:
    server.faults.turnstile_required = True
    calls: list[tuple[str, str]] = []

    def solver(dx: str, requirements_token: str) -> str:
        calls.append((dx, requirements_token))
        return "turnstile-ok"

    provider = ChatGpt(base_url=server.base_url, sleep=sleeps, timeout=TIMEOUT, turnstile_solver=solver)
    assert provider.create_completion("auto", HELLO, stream=True).text() == expected_reply("hello there", 1)
    dx, requirements = only(calls)
    assert len(base64.b64decode(dx)) == 256
    assert requirements.startswith("gAAAAAC")
    assert requirements == only(sent(server, SENTINEL)).json()["p"]
    provider.close()


def test_a_solver_that_is_not_callable_is_refused_before_sending(server, provider) -> None:
    with pytest.raises(InvalidRequestError):
        provider.create_completion("auto", HELLO, turnstile_solver="not callable")
    assert len(server.requests) == 0


def test_wrong_turnstile_token_is_a_403_wall_that_says_why(server, provider, sleeps) -> None:
    server.faults.turnstile_required = True
    with pytest.raises(BlockedError) as info:
        list(provider.create_completion("auto", HELLO, turnstile_token="turnstile-wrong"))
    assert info.value.status_code == 403
    assert "turnstile" in str(info.value) and "rejected" in str(info.value)
    assert server.counts["conversation"] == 1 and sleeps.calls == []


@pytest.mark.parametrize("fault, kind, words", [
    ("arkose_required", "arkose", "Arkose"),
    ("unusual_activity", "unusual_activity", UNUSUAL_ACTIVITY),
    ("force_login", "force_login", "logging in"),
    ("html_block", "cloudflare", "Just a moment"),
])
def test_walls_are_blocked_errors_not_retried(server, provider, sleeps, fault, kind, words) -> None:
    setattr(server.faults, fault, True)
    with pytest.raises(BlockedError) as info:
        list(provider.create_completion("auto", HELLO, stream=True))
    assert info.value.kind == kind
    assert words in str(info.value)
    assert not isinstance(info.value, TurnstileRequiredError)
    assert _no_conversation_request(server) and sleeps.calls == []
    assert server.counts["sentinel"] == (0 if fault == "html_block" else 1)


# ------------------------------------------------------------------------------ retries
def test_rate_limit_is_retried_with_the_servers_delay(server, provider, sleeps) -> None:
    server.faults.rate_limit_first = 2
    assert provider.create_completion("auto", HELLO, stream=True).text() == expected_reply("hello there", 1)
    assert sleeps.calls == [1.0, 1.0]
    assert server.counts["sentinel"] == 3 and server.counts["conversation"] == 1


def test_rate_limit_after_the_retries_raises(server, provider, sleeps) -> None:
    server.faults.rate_limit_first = 5
    with pytest.raises(RateLimitError) as info:
        list(provider.create_completion("auto", HELLO, stream=True, max_retries=1))
    assert info.value.status_code == 429 and info.value.retry_after == 1.0
    assert sleeps.calls == [1.0]
    assert server.counts["sentinel"] == 2 and _no_conversation_request(server)


def test_server_error_is_retried_with_a_fresh_sentinel_token_and_the_same_ids(server, provider, sleeps) -> None:
    server.faults.conversation_status = 500
    server.faults.conversation_status_first = 1
    assert provider.create_completion("auto", HELLO, stream=True).text() == expected_reply("hello there", 1)
    attempts = sent(server, CONVERSATION)
    assert len(attempts) == 2 and server.counts["sentinel"] == 2
    tokens = [a.header(REQUIREMENTS_HEADER) for a in attempts]
    assert tokens[0] != tokens[1] and all(t in server.issued for t in tokens)
    bodies = [a.json() for a in attempts]
    assert [m["id"] for m in bodies[0]["messages"]] == [m["id"] for m in bodies[1]["messages"]]
    assert bodies[0]["parent_message_id"] == bodies[1]["parent_message_id"]
    assert bodies[0]["websocket_request_id"] == bodies[1]["websocket_request_id"]
    assert len(sleeps.calls) == 1 and 0 < sleeps.calls[0] <= 0.5  # backoff, no Retry-After on a 500


def test_server_error_after_the_retries_raises(server, provider) -> None:
    server.faults.conversation_status = 502
    server.faults.conversation_status_first = 10
    with pytest.raises(InternalServerError) as info:
        list(provider.create_completion("auto", HELLO, max_retries=1))
    assert info.value.status_code == 502
    assert len(sent(server, CONVERSATION)) == 2


# ------------------------------------------------------------------------------ broken streams
def _collect_until_error(stream: Any, error: type[Exception]) -> tuple[str, Any]:
    pieces: list[str] = []
    with pytest.raises(error) as info:
        for piece in stream:
            if isinstance(piece, str):
                pieces.append(piece)
    return "".join(pieces), info.value


@pytest.mark.parametrize("stream_format", ["legacy", "v1"])
def test_drop_mid_stream_keeps_the_partial_text_and_conversation(server, provider, stream_format) -> None:
    server.faults.stream_format = stream_format
    server.faults.drop_after = 6
    received, error = _collect_until_error(provider.create_completion("auto", HELLO, stream=True),
                                           APIConnectionError)
    assert error.partial_text == received != ""
    assert expected_reply("hello there", 1).startswith(received)
    assert error.conversation is not None and error.conversation.conversation_id in server.conversations


def test_stall_mid_stream_times_out_with_the_partial_text(server, sleeps) -> None:
    server.faults.stall_after = 6
    server.faults.stall_seconds = 3
    provider = ChatGpt(base_url=server.base_url, sleep=sleeps, timeout=Timeout(connect=2, read=5, stream_idle=0.3))
    started = time.monotonic()
    received, error = _collect_until_error(provider.create_completion("auto", HELLO, stream=True),
                                           APITimeoutError)
    assert time.monotonic() - started < 2.0
    assert error.partial_text == received != ""
    assert error.conversation is not None and error.conversation.conversation_id in server.conversations
    provider.close()


@pytest.mark.parametrize("stream_format", ["legacy", "v1"])
def test_in_band_error_keeps_the_partial_text(server, provider, stream_format) -> None:
    server.faults.stream_format = stream_format
    server.faults.inband_error = True
    received, error = _collect_until_error(provider.create_completion("auto", HELLO, stream=True),
                                           ResponseError)
    assert INBAND_ERROR in str(error)
    assert error.partial_text == received != ""
    assert expected_reply("hello there", 1).startswith(received)


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("messages, kwargs, error", [
    ([{"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                   {"type": "image_url", "image_url": {"url": "https://example.test/a.png"}}]}],
     {}, InvalidRequestError),
    ([*HELLO, {"role": "tool", "content": "42", "tool_call_id": "call_1"}], {}, InvalidRequestError),
    (HELLO, {"temperature": 0.5}, UnknownParameterError),
    (HELLO, {"conversation": "junk"}, InvalidRequestError),
])
def test_bad_input_fails_before_any_request(server, provider, messages, kwargs, error) -> None:
    with pytest.raises(error):
        provider.create_completion("auto", messages, stream=True, **kwargs)
    with pytest.raises(error):
        ChatGpt.create_completion("auto", messages, base_url=server.base_url, **kwargs)
    assert len(server.requests) == 0


# ------------------------------------------------------------------------------ connections
def test_connections_are_reused_and_released(server, provider) -> None:
    for _ in range(3):
        assert provider.create_completion("auto", HELLO, stream=True).text() == expected_reply("hello there", 1)
    assert server.counts == {"navigation": 1, "sentinel": 3, "conversation": 3}
    assert server.connections_opened <= 2
    provider.close()
    assert wait_until(lambda: server.connections_open == 0)


def test_an_abandoned_stream_releases_its_connection(server, provider) -> None:
    with provider.create_completion("auto", HELLO, stream=True) as stream:
        meta = next(stream)  # the server's identifiers come first: the message id and model slug
        assert isinstance(meta, ResponseMeta) and meta.id and meta.model == "gpt-4o-mini"
        assert isinstance(next(stream), str)
    assert provider.create_completion("auto", HELLO).text() == expected_reply("hello there", 1)
    provider.close()
    assert wait_until(lambda: server.connections_open == 0)


# ------------------------------------------------------------------------------ transports
def test_curl_cffi_transport(server, sleeps) -> None:
    pytest.importorskip("curl_cffi")
    provider = ChatGpt(base_url=server.base_url, sleep=sleeps, timeout=TIMEOUT, transport="curl_cffi")
    first_chunks = list(provider.create_completion("auto", HELLO, stream=True))
    assert text_of(first_chunks) == expected_reply("hello there", 1)
    first = only(objects(first_chunks, Conversation))
    history = [*HELLO, {"role": "assistant", "content": text_of(first_chunks)},
               {"role": "user", "content": "and again"}]
    second = provider.create_completion("auto", history, stream=True, conversation=first).text()
    assert second == expected_reply("and again", 2)
    provider.close()
    assert wait_until(lambda: server.connections_open == 0)


def test_curl_cffi_transport_pools_its_json_requests(server, sleeps) -> None:
    # curl_cffi duplicates its curl handle for each streamed request, so each event stream costs a
    # connection of its own (a curl_cffi limitation); the navigation and sentinel calls are not
    # streamed and share one pooled connection.
    pytest.importorskip("curl_cffi")
    provider = ChatGpt(base_url=server.base_url, sleep=sleeps, timeout=TIMEOUT, transport="curl_cffi")
    for _ in range(3):
        list(provider.create_completion("auto", HELLO, stream=True))
    provider.close()
    assert server.connections_opened <= 1 + 3


def test_tls_client_transport_buffered(server, sleeps) -> None:
    pytest.importorskip("tls_client")
    provider = ChatGpt(base_url=server.base_url, sleep=sleeps, timeout=TIMEOUT, transport="tls_client")
    try:
        chunks = list(provider.create_completion("auto", HELLO, stream=True))
    except APIConnectionError as exc:
        pytest.skip(f"tls_client could not reach the emulator at {server.base_url} over plain http: {exc}")
    finally:
        provider.close()
    assert text_of(chunks) == expected_reply("hello there", 1)
    assert objects(chunks, FinishReason) == [FinishReason("stop")]
    assert only(objects(chunks, Conversation)).conversation_id in server.conversations


# ------------------------------------------------------------------------------ the example
def test_example_runs_a_two_turn_demo() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("CHATGPT_SYNC_BASE_URL", "CHATGPT_TURNSTILE_TOKEN")}
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "chatgpt_anonymous.py"), "--demo"],
                            capture_output=True, text=True, timeout=20, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "Turn 1." in result.stdout and "Turn 2." in result.stdout
    assert result.stdout.index("Turn 1.") < result.stdout.index("Turn 2.")


def test_example_reports_a_wall_instead_of_a_traceback() -> None:
    with ChatGptWebEmulator() as server:
        server.faults.turnstile_required = True
        env = {**os.environ, "CHATGPT_SYNC_BASE_URL": server.base_url}
        env.pop("CHATGPT_TURNSTILE_TOKEN", None)
        result = subprocess.run([sys.executable, str(ROOT / "examples" / "chatgpt_anonymous.py")],
                                capture_output=True, text=True, timeout=20, env=env, cwd=ROOT)
        assert result.returncode != 0
        assert "turnstile" in result.stderr.lower() and "Traceback" not in result.stderr
        assert server.counts["sentinel"] == 1
        env["CHATGPT_TURNSTILE_TOKEN"] = "turnstile-ok"
        result = subprocess.run([sys.executable, str(ROOT / "examples" / "chatgpt_anonymous.py")],
                                capture_output=True, text=True, timeout=20, env=env, cwd=ROOT)
        assert result.returncode == 0, result.stderr
        assert "Turn 2." in result.stdout



def test_create_completion_without_a_provider_routes_by_model(server, monkeypatch) -> None:
    # No provider, no base_url, no key: the registry's working providers that list "auto" answer
    # (ChatGpt, pointed at the emulator through its default base URL).
    import chatgpt_sync
    from chatgpt_sync.errors import InvalidRequestError

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setattr(ChatGpt, "default_base_url", server.base_url)
    assert chatgpt_sync.create_completion("auto", HELLO).text() == expected_reply("hello there", 1)
    with pytest.raises(InvalidRequestError, match="chatgpt-sync providers"):
        chatgpt_sync.create_completion("no-such-model", HELLO)
    assert len(sent(server, "/backend-anon/conversation")) == 1
