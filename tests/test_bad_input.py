"""Bad input fails fast and clearly; failures that cannot heal are not retried; secrets stay hidden.

DESIGN.md rules 7, 9 and 11: a wrong model type, a malformed base_url, a bare-string image_url and an
untrusted certificate are reported once, as what they are, before (or instead of) any retry.
"""

from __future__ import annotations

import json
import logging
import ssl
from typing import Any, Iterator

import pytest

from chatgpt_sync import Client, OpenaiAPI, OpenaiTemplate, Timeout
from chatgpt_sync._redact import redact_text, redact_value
from chatgpt_sync._retry import is_retryable
from chatgpt_sync._transport import RequestsTransport
from chatgpt_sync._urls import join_url
from chatgpt_sync.errors import (
    APIConnectionError, AuthenticationError, BlockedError, CertificateError, ChatGPTSyncError,
    InvalidRequestError,
)
from chatgpt_sync.providers.chatgpt import ChatGpt
from chatgpt_sync.testing._server import EmulatorHandler, EmulatorServer
from chatgpt_sync.testing.openai_api import OpenAIEmulator

from conftest import API_KEY, USER

UNREACHABLE = "http://127.0.0.1:1/v1"  # nothing listens on port 1: connection refused at once


# ------------------------------------------------------------------------------------------ model
@pytest.mark.parametrize("model", [123, ["gpt-4o-mini"], {"name": "gpt-4o-mini"}, 1.5, b"gpt-4o-mini"])
def test_a_model_that_is_not_a_string_is_invalid(openai_server, model: Any) -> None:
    provider = OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY)
    with pytest.raises(InvalidRequestError, match="model must be a string"):
        provider.create_completion(model, USER)
    with pytest.raises(InvalidRequestError, match="model must be a string"):
        OpenaiTemplate.create_completion(model, USER, base_url=openai_server.base_url)
    with pytest.raises(InvalidRequestError, match="model must be a string"):
        ChatGpt.create_completion(model, USER)  # which used to mean "the default model" for a list
    assert not openai_server.requests


@pytest.mark.parametrize("model", [None, ""])
def test_no_model_still_means_the_default(openai_server, model: Any) -> None:
    class WithDefault(OpenaiTemplate):
        default_model = "gpt-4o"

    provider = WithDefault(base_url=openai_server.base_url, api_key=API_KEY)
    assert provider.create_completion(model, USER).text() == "Echo: hello world"
    assert openai_server.requests[-1].json()["model"] == "gpt-4o"


# ------------------------------------------------------------------------------------------ URLs
BAD_URLS = ["http://[::1/v1", "http://localhost:port/v1", "http://localhost:99999/v1", "http:///v1",
            "https://?x=1"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_malformed_base_url_is_invalid_and_never_retried(url: str, sleeps) -> None:
    with pytest.raises(InvalidRequestError, match="base_url"):
        OpenaiTemplate(base_url=url)
    provider = OpenaiTemplate(base_url=UNREACHABLE, sleep=sleeps)
    with pytest.raises(InvalidRequestError, match="base_url"):
        provider.create_completion("gpt-4o-mini", USER, base_url=url)
    with pytest.raises(InvalidRequestError, match="base_url"):
        ChatGpt(base_url=url)
    assert sleeps.calls == []


@pytest.mark.parametrize("url", ["http://[::1/v1/x", "http://localhost:port/x", "http:///x", "ftp://h/x"])
def test_the_transport_maps_url_errors_to_invalid_request(url: str) -> None:
    transport = RequestsTransport()
    try:
        with pytest.raises(InvalidRequestError):
            transport.send("GET", url, headers={}, body=None, timeout=Timeout(connect=1, read=1))
    finally:
        transport.close()


def test_errors_that_cannot_heal_are_not_retryable() -> None:
    assert not is_retryable(InvalidRequestError("bad URL"))
    assert not is_retryable(CertificateError("untrusted"))
    assert is_retryable(APIConnectionError("refused"))  # a plain network failure still is


@pytest.mark.parametrize(("base", "path", "query", "expected"), [
    ("https://h/v1", "/chat/completions", None, "https://h/v1/chat/completions"),
    ("https://h/v1", "models", None, "https://h/v1/models"),
    ("https://h/v1/", "/models", None, "https://h/v1/models"),
    ("https://h/v1?api-version=1", "/chat/completions", None, "https://h/v1/chat/completions?api-version=1"),
    ("https://h/v1/?api-version=1", "models", None, "https://h/v1/models?api-version=1"),
    ("https://h/v1?api-version=1", "/models", {"a": "b c"}, "https://h/v1/models?api-version=1&a=b+c"),
    ("https://h/v1?api-version=1&x=2", "/m", {"api-version": "2"}, "https://h/v1/m?x=2&api-version=2"),
    ("https://h/v1", "/m", {"n": 3, "flag": True}, "https://h/v1/m?n=3&flag=true"),
    ("https://h/v1", "/m", {"skip": None}, "https://h/v1/m"),
    ("https://h", "/", None, "https://h/"),
    ("https://h?x=1", "/", None, "https://h/?x=1"),
    ("https://h/v1#frag", "/m", None, "https://h/v1/m"),
])
def test_join_url(base: str, path: str, query: Any, expected: str) -> None:
    assert join_url(base, path, query) == expected


@pytest.mark.parametrize("stream", [True, False])
def test_a_base_url_query_string_is_kept_after_the_path(openai_server, stream: bool) -> None:
    provider = OpenaiTemplate(base_url=openai_server.base_url + "?api-version=2024-10-21", api_key=API_KEY)
    assert provider.create_completion("gpt-4o-mini", USER, stream=stream).text() == "Echo: hello world"
    assert openai_server.requests[-1].path == "/v1/chat/completions?api-version=2024-10-21"
    assert "gpt-4o" in provider.get_models()
    assert openai_server.requests[-1].path == "/v1/models?api-version=2024-10-21"
    list(provider.create_completion("dall-e-3", [{"role": "user", "content": "a fox"}]))
    assert openai_server.requests[-1].path == "/v1/images/generations?api-version=2024-10-21"


# ------------------------------------------------------------------------------------------ TLS
class _CountingContext(ssl.SSLContext):
    """A server context that counts TLS handshakes, failed ones included (one per TCP connection)."""

    handshakes = 0

    def wrap_socket(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        type(self).handshakes += 1
        return super().wrap_socket(*args, **kwargs)


@pytest.fixture
def untrusted_server(tmp_path) -> Iterator[tuple[OpenAIEmulator, type[_CountingContext], str]]:
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    counting = type("Counting", (_CountingContext,), {"handshakes": 0})
    context = counting(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("localhost").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    with OpenAIEmulator(ssl_context=context) as server:
        yield server, counting, str(bundle)


@pytest.mark.parametrize("transport", ["requests", "curl_cffi", "tls_client"])
@pytest.mark.parametrize("stream", [True, False])
def test_an_untrusted_certificate_fails_once_without_retrying(untrusted_server, sleeps, transport: str,
                                                              stream: bool) -> None:
    server, counting, _ = untrusted_server
    provider = OpenaiTemplate(base_url=server.base_url, transport=transport, sleep=sleeps,
                              timeout=Timeout(connect=5, read=5, stream_idle=5))
    try:
        with pytest.raises(CertificateError) as info:
            provider.create_completion("gpt-4o-mini", USER, stream=stream).text()
    finally:
        provider.close()
    assert isinstance(info.value, APIConnectionError)  # still caught by `except APIConnectionError`
    assert "certificate" in str(info.value).lower()
    assert sleeps.calls == []
    assert counting.handshakes == 1
    assert not server.requests


def test_a_trusted_certificate_still_works(untrusted_server, sleeps) -> None:
    server, counting, bundle = untrusted_server
    with OpenaiTemplate(base_url=server.base_url, verify=bundle, sleep=sleeps) as provider:
        assert provider.create_completion("gpt-4o-mini", USER).text() == "Echo: hello world"
    assert counting.handshakes == 1


# ------------------------------------------------------------------------------------------ messages
def test_a_bare_string_image_url_is_rejected_with_the_right_shape(openai_server) -> None:
    provider = OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY)
    messages = [{"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                             {"type": "image_url", "image_url": "http://example.com/a.png"}]}]
    with pytest.raises(InvalidRequestError) as info:
        provider.create_completion("gpt-4o-mini", messages)
    message = str(info.value)
    assert "messages[0].content[1].image_url" in message
    assert '{"url": "http://example.com/a.png"}' in message
    assert not openai_server.requests
    messages[0]["content"][1]["image_url"] = {"url": "http://example.com/a.png"}  # type: ignore[index]
    assert provider.create_completion("gpt-4o-mini", messages).text() == "Echo: what is this?"


# ------------------------------------------------------------------------------------------ secrets
def test_redact_text_hides_url_passwords() -> None:
    assert redact_text("GET http://user:s3cr3t@127.0.0.1:1/v1/models") == \
        "GET http://user:[redacted]@127.0.0.1:1/v1/models"
    assert redact_text("socks5://me:p%40ss@proxy:1080 and https://:tok@h/x") == \
        "socks5://me:[redacted]@proxy:1080 and https://:[redacted]@h/x"
    assert redact_text("http://127.0.0.1:8080/v1 and mailto:a@b.c") == "http://127.0.0.1:8080/v1 and mailto:a@b.c"


def test_redact_value_walks_dicts_and_lists() -> None:
    body = {"error": {"message": f"Incorrect API key provided: {API_KEY}", "code": "invalid_api_key",
                      "param": None, "n": 3},
            "echo": [f"Bearer {API_KEY}", ("x", API_KEY)], "api_key": "plain-looking-value"}
    redacted = redact_value(body)
    assert API_KEY not in repr(redacted) and "plain-looking-value" not in repr(redacted)
    assert redacted["error"]["code"] == "invalid_api_key" and redacted["error"]["n"] == 3
    assert redacted["error"]["param"] is None
    assert body["error"]["message"].endswith(API_KEY)  # the original is left alone
    assert redact_value("fine") == "fine" and redact_value(None) is None


def test_a_password_in_base_url_never_shows(caplog, sleeps) -> None:
    caplog.set_level(logging.DEBUG, logger="chatgpt_sync")
    provider = OpenaiTemplate(base_url="http://user:secret@127.0.0.1:1/v1", api_key=API_KEY, sleep=sleeps,
                              max_retries=1)
    assert "secret" not in repr(provider) and "user:[redacted]@" in repr(provider)
    with pytest.raises(APIConnectionError) as info:
        provider.create_completion("gpt-4o-mini", USER).text()
    assert "secret" not in str(info.value) and "secret" not in repr(info.value)
    assert sleeps.calls  # it was retried, so the retry log line is covered too
    messages = [record.getMessage() for record in caplog.records]
    assert any("127.0.0.1:1" in m for m in messages)  # logging was on
    assert not any("secret" in m for m in messages)


class _EchoingHandler(EmulatorHandler):
    """A server that echoes the whole key back in its 401 body (some do)."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.do_POST()

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self.read_body()
        key = self.headers.get("Authorization", "").partition(" ")[2]
        self.send_json(401, {"error": {"message": f"Incorrect API key provided: {key}.", "type": "auth",
                                       "key": key}})


class _EchoingServer(EmulatorServer):
    handler_class = _EchoingHandler


@pytest.fixture
def echoing_server() -> Iterator[_EchoingServer]:
    with _EchoingServer() as server:
        yield server


def test_an_echoed_key_is_hidden_in_the_message(echoing_server) -> None:
    provider = OpenaiTemplate(base_url=echoing_server.base_url, api_key=API_KEY)
    with pytest.raises(AuthenticationError) as info:
        provider.create_completion("gpt-4o-mini", USER).text()
    assert API_KEY not in str(info.value)


def test_an_echoed_key_is_hidden_in_the_error_body(echoing_server) -> None:
    provider = OpenaiTemplate(base_url=echoing_server.base_url, api_key=API_KEY)
    with pytest.raises(AuthenticationError) as info:
        provider.create_completion("gpt-4o-mini", USER).text()
    assert info.value.body is not None
    assert API_KEY not in repr(info.value.body)


# ------------------------------------------------------------------------------------------ models
def test_models_fallback_only_when_the_server_has_no_listing(openai_server, sleeps) -> None:
    class WithFallback(OpenaiAPI):
        fallback_models = ["local-model"]

    right = WithFallback(base_url=openai_server.base_url, api_key=API_KEY, sleep=sleeps)
    wrong = WithFallback(base_url=openai_server.base_url, api_key="sk-wrong-0000000000", sleep=sleeps)
    assert "gpt-4o" in right.get_models()
    with pytest.raises(AuthenticationError):
        wrong.get_models()
    with pytest.raises(AuthenticationError):
        Client(provider=WithFallback, base_url=openai_server.base_url, api_key="sk-wrong-0000000000").models.list()
    with pytest.raises(APIConnectionError):
        WithFallback(base_url=UNREACHABLE, api_key=API_KEY, sleep=sleeps).get_models()
    openai_server.faults.html_challenge = True
    with pytest.raises(BlockedError):
        right.get_models()
    openai_server.faults.html_challenge = False
    openai_server.faults.no_models_endpoint = True  # 404: the server has no /models
    assert right.get_models() == ["local-model"]
    assert Client(provider=WithFallback, base_url=openai_server.base_url,
                  api_key=API_KEY).models.list().data[0].id == "local-model"


def test_every_error_here_is_a_package_error() -> None:
    assert issubclass(CertificateError, ChatGPTSyncError)
    assert json.loads(json.dumps(redact_value({"a": [1, "b"]}))) == {"a": [1, "b"]}


def test_a_token_in_a_url_query_never_reaches_the_logs(caplog) -> None:
    # GPTalk's protocol puts its stream token in the query string of the stream URL.
    import logging

    from chatgpt_sync.providers.gptalk import GPTalk
    from chatgpt_sync.testing.gptalk import GPTalkEmulator

    assert "?token=[redacted]" in redact_text("GET http://h/stream?token=abc123def456")
    with GPTalkEmulator() as server, caplog.at_level(logging.DEBUG, logger="chatgpt_sync"):
        provider = GPTalk(base_url=server.base_url)
        assert provider.create_completion("gpt-3.5-turbo", [{"role": "user", "content": "hi"}]).text()
        provider.close()
        assert server.issued_stream_tokens
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert "/stream" in logged
        for token in server.issued_stream_tokens:
            assert token not in logged


@pytest.mark.parametrize("name", ["ChatGpt", "GPTalk", "Chatgpt4o"])
def test_an_api_key_for_a_provider_that_sends_none_is_refused(name) -> None:
    # Never silently dropped: the caller would believe the key was used.
    from chatgpt_sync.providers import get_provider
    cls = get_provider(name)
    with pytest.raises(InvalidRequestError, match="takes no api_key"):
        cls(api_key="sk-not-used-0000000000")
    with pytest.raises(InvalidRequestError, match="takes no api_key"):
        cls().create_completion(cls.default_model, [{"role": "user", "content": "hi"}], api_key="sk-x-000000000")
