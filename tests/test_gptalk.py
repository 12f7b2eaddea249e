"""GPTalk against its strict loopback emulator: the answer, the token's limits, threads, failures.

The emulator refuses what the service refuses (unknown, expired or used-up login tokens, bad stream
tokens, missing fields) and counts logins and token uses server side, so the limits are checked
where they matter: at the server.
"""

from __future__ import annotations

import json
import pickle
import threading
from typing import Any, Iterator

import pytest
import requests

from chatgpt_sync import Timeout
from chatgpt_sync.errors import (
    APIConnectionError, APITimeoutError, AuthenticationError, InternalServerError, InvalidRequestError,
    PermissionDeniedError, ResponseError, UnknownParameterError,
)
from chatgpt_sync.providers.gptalk import CumulativeText, GPTalk, format_prompt
from chatgpt_sync.testing.gptalk import LOGIN_PATH, STREAM_PATH, TEXT_PATH, GPTalkEmulator
from chatgpt_sync.types import FinishReason

TIMEOUT = Timeout(connect=2, read=5, stream_idle=5)
HELLO = [{"role": "user", "content": "hello there"}]
ECHO = "Echo: hello there"


@pytest.fixture(scope="module")
def running() -> Iterator[GPTalkEmulator]:
    with GPTalkEmulator() as emulator:
        yield emulator


@pytest.fixture
def server(running: GPTalkEmulator) -> GPTalkEmulator:
    running.reset()  # one server for the module (stopping one costs a poll interval), fresh state per test
    return running


@pytest.fixture
def provider(server: GPTalkEmulator, sleeps: Any) -> Iterator[GPTalk]:
    with GPTalk(base_url=server.base_url, timeout=TIMEOUT, sleep=sleeps) as p:
        yield p


def text_of(chunks: list[Any]) -> str:
    return "".join(c for c in chunks if isinstance(c, str))


def finishes(chunks: list[Any]) -> list[Any]:
    return [c for c in chunks if isinstance(c, FinishReason)]


def paths(server: GPTalkEmulator) -> list[str]:
    return [r.path.split("?")[0] for r in server.requests]


def ask(provider: GPTalk, stream: bool = True, **kwargs: Any) -> list[Any]:
    return list(provider.create_completion("gpt-3.5-turbo", HELLO, stream=stream, **kwargs))


# ------------------------------------------------------------------------------ the answer
@pytest.mark.parametrize("stream", [True, False])
def test_answer_then_exactly_one_stop(provider, server, stream) -> None:
    chunks = ask(provider, stream)
    pieces = [c for c in chunks if isinstance(c, str)]
    assert "".join(pieces) == ECHO
    assert len(pieces) == (3 if stream else 1)  # one word per event, or the whole answer at once
    assert chunks[-1] == FinishReason("stop") and finishes(chunks) == [FinishReason("stop")]
    assert paths(server) == [LOGIN_PATH, TEXT_PATH, STREAM_PATH]
    assert server.prompts == ["hello there"]


def test_deltas_join_exactly_to_the_final_text_even_multibyte(provider, server) -> None:
    reply = "Привет, мир! 👋 Ünïcödé  spaced\nlines\tand tabs "
    server.reply = reply
    chunks = ask(provider)
    pieces = [c for c in chunks if isinstance(c, str)]
    assert "".join(pieces) == reply and len(pieces) > 5


def test_request_shape(provider, server) -> None:
    ask(provider, headers={"User-Agent": "my-agent/1.0", "X-Extra": "yes"})
    login, text, stream = server.requests
    assert login.json() == {"fingerprint": server.fingerprints[0], "platform": "fingerprint"}
    body = text.json()
    assert body["content"] == "hello there" and body["model"] == "gpt-3.5-turbo"
    assert body["accept"] == "stream" and body["user_agent"] == "my-agent/1.0"
    assert text.header("authorization") == f"Bearer {server.issued_tokens[0]}"
    assert stream.path == f"{STREAM_PATH}?token={server.issued_stream_tokens[0]}"
    for request in server.requests:
        assert request.header("user-agent") == "my-agent/1.0"  # one header, the caller's
        assert request.header("x-extra") == "yes" and request.header("x-auth-appid") == "2229"
    assert stream.header("authorization") is None  # the login token goes only where it is needed


def test_prompt_formatting() -> None:
    assert format_prompt([{"role": "user", "content": "hi"}]) == "hi"
    history = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
               {"role": "assistant", "content": "hello"},
               {"role": "user", "content": [{"type": "text", "text": "again"}]}]
    assert format_prompt(history) == "System: be brief\nUser: hi\nAssistant: hello\nUser: again\nAssistant:"


def test_class_call_and_default_model(server) -> None:
    chunks = list(GPTalk.create_completion("", HELLO, stream=True, base_url=server.base_url))
    assert text_of(chunks) == ECHO
    assert server.requests[1].json()["model"] == "gpt-3.5-turbo"


def test_fingerprint_is_per_instance_and_hex(server) -> None:
    first, second = GPTalk(base_url=server.base_url), GPTalk(base_url=server.base_url)
    ask(first)
    ask(second)
    server.expire_tokens_now()
    ask(first)  # logs in again, as the same anonymous user
    a, b, a_again = server.fingerprints
    assert a == a_again and a != b and len(a) == 32 and int(a, 16) >= 0


# ------------------------------------------------------------------------------ token limits
def test_six_calls_use_two_logins_and_never_a_sixth_use(provider, server) -> None:
    for _ in range(6):
        assert text_of(ask(provider, stream=False)) == ECHO
    assert server.logins == 2
    assert server.token_uses == [5, 1]
    assert server.rejections == []


def test_token_expired_at_the_server_logs_in_once_more(provider, server) -> None:
    ask(provider)
    server.expire_tokens_now()
    assert text_of(ask(provider)) == ECHO
    assert server.logins == 2
    assert server.rejections == ["token_expired"]
    assert server.token_uses == [1, 1]


def test_token_near_its_expires_at_is_replaced_before_use(provider, server) -> None:
    # expires_at is within the client's safety margin: the second call logs in without wasting a request.
    server.token_ttl = 1.0
    ask(provider)
    ask(provider)
    assert server.logins == 2 and server.rejections == []


def test_a_token_refused_even_when_fresh_gives_one_clear_error(provider, server) -> None:
    server.faults.refuse_tokens = True
    with pytest.raises(AuthenticationError) as info:
        ask(provider)
    assert server.logins == 2 and server.text_requests == 2  # exactly one fresh login, no loop
    assert "refused a freshly issued login token" in str(info.value)
    assert info.value.status_code == 401
    for token in server.issued_tokens:
        assert token not in str(info.value) and token not in repr(info.value.body)


@pytest.mark.parametrize("threads, calls", [(2, 6), (6, 5)])
def test_threads_sharing_an_instance_respect_the_limit(server, threads, calls) -> None:
    # A slow login widens the window in which a careless client would log in twice.
    server.login_delay = 0.03
    with GPTalk(base_url=server.base_url, timeout=TIMEOUT) as shared:
        start = threading.Barrier(threads)
        errors: list[BaseException] = []
        answers: list[str] = []

        def work() -> None:
            start.wait()
            try:
                for _ in range(calls):
                    answers.append(text_of(ask(shared, stream=True)))
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(10)
    total = threads * calls
    assert errors == [] and answers == [ECHO] * total
    assert server.rejections == []
    assert max(server.token_uses) <= 5 and sum(server.token_uses) == total
    assert server.logins == -(-total // 5)  # one login per five uses, never two for one expiry


def test_tokens_are_kept_per_base_url(server) -> None:
    with GPTalkEmulator() as other:
        p = GPTalk(base_url=server.base_url, timeout=TIMEOUT)
        ask(p)
        ask(p, base_url=other.base_url)
        assert other.logins == 1  # the first server's token never went to the second
        assert other.requests[1].header("authorization") == f"Bearer {other.issued_tokens[0]}"


def test_a_forked_child_logs_in_for_itself(provider, server, monkeypatch) -> None:
    ask(provider)
    monkeypatch.setattr("chatgpt_sync.providers.gptalk.os.getpid", lambda: -1)  # as seen in a child
    ask(provider)
    assert server.logins == 2 and server.token_uses == [1, 1]


def test_token_state_never_travels_or_shows(provider, server) -> None:
    ask(provider)
    token = server.issued_tokens[0]
    assert token not in repr(provider) and token not in repr(provider._auth._tokens)
    clone = pickle.loads(pickle.dumps(provider._auth))  # a copy in another process starts without it
    assert clone._tokens == {} and clone.max_uses == 5


# ------------------------------------------------------------------------------ failures
def test_login_refused_in_the_body(provider, server) -> None:
    server.faults.login_refused = True
    with pytest.raises(ResponseError, match="GPTalk login was refused: fingerprint login refused"):
        ask(provider)
    assert paths(server) == [LOGIN_PATH]


def test_login_http_error(provider, server) -> None:
    server.faults.login_status = 403
    with pytest.raises(PermissionDeniedError, match="GPTalk login .* returned HTTP 403"):
        ask(provider)
    assert server.login_requests == 1  # 403 is not retried


def test_login_server_error_is_retried_then_reported(provider, server, sleeps) -> None:
    server.faults.login_status = 502
    with pytest.raises(InternalServerError):
        ask(provider)
    assert server.login_requests == 3 and len(sleeps.calls) == 2


def test_error_body_instead_of_stream_token(provider, server) -> None:
    server.faults.text_error_body = True
    with pytest.raises(ResponseError, match="instead of a stream token: the model is busy"):
        ask(provider)
    assert paths(server) == [LOGIN_PATH, TEXT_PATH]


def test_chat_job_server_error_retries_with_a_new_use(provider, server, sleeps) -> None:
    server.faults.text_status = 503
    with pytest.raises(InternalServerError):
        ask(provider)
    assert server.text_requests == 3 and server.logins == 1 and server.token_uses == [3]


def test_rejected_stream_token(provider, server) -> None:
    server.faults.reject_stream_token = True
    with pytest.raises(ResponseError, match="refused to open the stream: stream token is invalid") as info:
        ask(provider)
    assert server.issued_stream_tokens[0] not in str(info.value)


@pytest.mark.parametrize("stream", [True, False])
def test_drop_mid_stream_keeps_the_partial_text(provider, server, stream) -> None:
    server.faults.drop_after = 2
    received: list[Any] = []
    with pytest.raises(APIConnectionError) as info:
        for chunk in provider.create_completion("gpt-3.5-turbo", HELLO, stream=stream):
            received.append(chunk)
    assert info.value.partial_text == "Echo: hello "
    assert text_of(received) == ("Echo: hello " if stream else "")


def test_stall_past_stream_idle_is_a_timeout_with_partial_text(server) -> None:
    server.faults.stall_after = 1
    with pytest.raises(APITimeoutError) as info:
        ask(GPTalk(base_url=server.base_url, timeout=Timeout(connect=2, read=2, stream_idle=0.1)))
    assert info.value.partial_text == "Echo: "


def test_stream_without_done_finishes_with_none(provider, server) -> None:
    server.faults.no_done = True
    chunks = ask(provider)
    assert text_of(chunks) == ECHO and finishes(chunks) == [FinishReason(None)]
    assert chunks[-1] == FinishReason(None)


@pytest.mark.parametrize("stream", [True, False])
def test_empty_stream_is_an_error_not_an_empty_answer(provider, server, stream) -> None:
    server.faults.empty_stream = True
    with pytest.raises(ResponseError, match="carried no answer text"):
        ask(provider, stream)


def test_inband_error_event(provider, server) -> None:
    server.faults.inband_error_at = 1
    with pytest.raises(ResponseError, match="error in the stream: upstream model error") as info:
        ask(provider)
    assert info.value.partial_text == "Echo: "


def test_events_without_blank_lines_still_give_the_exact_text(provider, server) -> None:
    server.faults.no_blank_lines = True
    chunks = ask(provider)
    assert text_of(chunks) == ECHO and chunks[-1] == FinishReason("stop")


# ------------------------------------------------------------------------------ rewrites
def test_cumulative_text_rules() -> None:
    text = CumulativeText()
    assert [text.feed(s) for s in ["He", "Hello", "Hel", "Hello", "Hello!"]] == ["He", "llo", "", "", "!"]
    assert not text.rewritten
    assert text.feed("Goodbye") == "" and text.rewritten and text.shown == "Hello!"
    assert text.feed("Goodbye!!") == "" and text.latest == "Goodbye!!"


def test_stale_shorter_snapshot_is_not_repeated(provider, server) -> None:
    server.faults.stale_at = 2
    assert text_of(ask(provider)) == ECHO


def test_rewrite_non_streamed_returns_the_final_text(provider, server) -> None:
    server.faults.rewrite_at = 1
    chunks = ask(provider, stream=False)
    assert text_of(chunks) == "(revised) " + ECHO and chunks[-1] == FinishReason("stop")


def test_rewrite_streamed_is_reported_with_both_texts(provider, server) -> None:
    server.faults.rewrite_at = 1
    received: list[Any] = []
    with pytest.raises(ResponseError, match="rewrote text it had already streamed") as info:
        for chunk in provider.create_completion("gpt-3.5-turbo", HELLO, stream=True):
            received.append(chunk)
    assert text_of(received) == info.value.partial_text == "Echo: "
    assert info.value.body == {"content": "(revised) " + ECHO}


# ------------------------------------------------------------------------------ bad input
def test_unknown_kwarg_fails_before_any_request(server) -> None:
    with pytest.raises(UnknownParameterError, match="temprature"):
        GPTalk(base_url=server.base_url).create_completion("gpt-3.5-turbo", HELLO, temprature=1)
    with pytest.raises(UnknownParameterError):
        GPTalk(base_url=server.base_url, fingerprint="abc")
    assert len(server.requests) == 0


@pytest.mark.parametrize("messages, kwargs", [
    ([], {}),
    ([{"role": "user", "content": "   "}], {}),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}], {}),
    (HELLO, {"api_key": "sk-should-not-be-here"}),
    (HELLO, {"timeout": -1}),
])
def test_bad_input_fails_before_any_request(server, messages, kwargs) -> None:
    with pytest.raises(InvalidRequestError):
        GPTalk(base_url=server.base_url).create_completion("gpt-3.5-turbo", messages, **kwargs)
    assert len(server.requests) == 0


def test_metadata() -> None:
    assert GPTalk.working is False and GPTalk.url == "https://gptalk.net"
    assert GPTalk()._base.base_url == "https://gptalk.net"


# ------------------------------------------------------------------------------ the emulator itself
def _login(server: GPTalkEmulator, session: requests.Session) -> str:
    r = session.post(server.base_url + LOGIN_PATH, json={"fingerprint": "ab" * 16, "platform": "fingerprint"},
                     headers={"x-auth-appid": "2229", "x-auth-timestamp": "1"})
    assert r.status_code == 200
    return str(r.json()["data"]["token"])


def _text(server: GPTalkEmulator, session: requests.Session, token: str, **override: Any) -> requests.Response:
    body = {"content": "hi", "accept": "stream", "from": 1, "model": "gpt-3.5-turbo", "is_mobile": 0,
            "user_agent": "ua", "is_open_ctx": 0, "prompt": "", "roid": 111, "temperature": 0,
            "ctx_msg_count": 3, "created_at": 1, **override}
    body = {k: v for k, v in body.items() if v is not None}
    return session.post(server.base_url + TEXT_PATH, data=json.dumps(body),
                        headers={"x-auth-appid": "2229", "x-auth-timestamp": "1", "content-type": "application/json",
                                 "authorization": f"Bearer {token}"})


def test_emulator_is_strict(server) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    with requests.Session() as session:
        base = server.base_url
        no_app = session.post(base + LOGIN_PATH, json={"fingerprint": "ab" * 16, "platform": "fingerprint"})
        assert no_app.status_code == 400
        short = session.post(base + LOGIN_PATH, json={"fingerprint": "abc", "platform": "fingerprint"},
                             headers={"x-auth-appid": "2229", "x-auth-timestamp": "1"})
        assert short.status_code == 400
        token = _login(server, session)
        assert _text(server, session, "wrong").status_code == 401
        assert _text(server, session, token, model=None).status_code == 400  # a missing field
        plain = session.post(base + TEXT_PATH, data="{}", headers={
            "x-auth-appid": "2229", "x-auth-timestamp": "1", "authorization": f"Bearer {token}",
            "content-type": "text/plain"})
        assert plain.status_code == 415
        stream_tokens = [_text(server, session, token).json()["data"]["token"] for _ in range(3)]
        refused = _text(server, session, token)  # the 6th use (two uses above were invalid bodies)
        assert refused.status_code == 401 and refused.json() == {
            "code": 401, "message": "token usage limit reached", "data": None}
        first = session.get(base + STREAM_PATH, params={"token": stream_tokens[0]})
        assert first.headers["content-type"].startswith("text/event-stream")
        assert first.text.endswith("data: [DONE]\n\n") and '"content": "Echo: hi"' in first.text
        again = session.get(base + STREAM_PATH, params={"token": stream_tokens[0]})
        assert again.json()["code"] == 10003  # stream tokens are single-use
        assert session.get(base + STREAM_PATH).json()["code"] == 10003
        assert session.get(base + LOGIN_PATH).status_code == 405
    assert server.token_uses == [5]
    assert "token_used_up" in server.rejections and "token_unknown" in server.rejections
