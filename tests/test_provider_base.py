"""The call shape every provider shares: settings, eager validation, class and instance use."""

from __future__ import annotations

import pytest

from chatgpt_sync import OpenaiAPI, OpenaiTemplate, Timeout
from chatgpt_sync.errors import InvalidRequestError, MissingAuthError, UnknownParameterError
from chatgpt_sync.providers import get_provider
from chatgpt_sync.providers.base import Provider

from conftest import API_KEY, USER


BAD_MESSAGES = [
    ("not a list", "hello", "must be a list"),
    ("empty", [], "empty"),
    ("not a dict", ["hi"], "messages[0] must be a dict"),
    ("bad role", [{"role": "robot", "content": "x"}], "messages[0].role"),
    ("no content", [{"role": "user"}], "has no 'content'"),
    ("int content", [{"role": "user", "content": 5}], "messages[0].content must be a string"),
    ("None content for user", [{"role": "user", "content": None}], "only an assistant message"),
    ("bad part", [{"role": "user", "content": [{"type": "video"}]}], "content[0].type"),
    ("text part without text", [{"role": "user", "content": [{"type": "text"}]}], "content[0].text"),
    ("image part without url", [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
     "image_url must be"),
    ("tool without id", [{"role": "tool", "content": "42"}], "tool_call_id"),
    ("second message bad", [{"role": "user", "content": "ok"}, {"role": "user", "content": 1.5}],
     "messages[1].content"),
]


@pytest.mark.parametrize("name, messages, fragment", BAD_MESSAGES, ids=[c[0] for c in BAD_MESSAGES])
def test_malformed_messages_fail_before_any_request(openai_server, name, messages, fragment) -> None:
    provider = OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY)
    with pytest.raises(InvalidRequestError) as info:
        provider.create_completion("gpt-4o-mini", messages)  # raised at the call, not on iteration
    assert fragment in str(info.value)
    assert openai_server.requests == type(openai_server.requests)()  # nothing was sent


def test_unknown_keyword_is_an_error_with_a_suggestion(openai_server) -> None:
    provider = OpenaiTemplate(base_url=openai_server.base_url)
    with pytest.raises(UnknownParameterError) as info:
        provider.create_completion("gpt-4o-mini", USER, temprature=0.2)
    assert "'temprature'" in str(info.value) and "temperature" in str(info.value)
    with pytest.raises(UnknownParameterError):
        OpenaiTemplate(base_url=openai_server.base_url, colour="blue")
    assert len(openai_server.requests) == 0


@pytest.mark.parametrize("settings, fragment", [
    ({"timeout": -1}, "timeout"),
    ({"timeout": "10"}, "timeout"),
    ({"max_retries": -1}, "max_retries"),
    ({"max_retries": 1.5}, "max_retries"),
    ({"base_url": "localhost:8080"}, "base_url"),
    ({"proxy": "localhost:3128"}, "proxy"),
    ({"transport": "httpx"}, "transport"),
    ({"headers": ["x"]}, "headers"),
])
def test_bad_settings_are_rejected(settings, fragment) -> None:
    with pytest.raises(InvalidRequestError) as info:
        OpenaiTemplate(**settings)
    assert fragment in str(info.value)


def test_class_level_and_instance_calls_give_the_same_answer(openai_server) -> None:
    on_class = list(OpenaiTemplate.create_completion("gpt-4o-mini", USER, base_url=openai_server.base_url,
                                                     api_key=API_KEY))
    instance = OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY)
    on_instance = list(instance.create_completion("gpt-4o-mini", USER))
    def without_ids(pieces):  # the server's ids differ per answer by nature
        return [p for p in pieces if type(p).__name__ != "ResponseMeta"]
    assert without_ids(on_class) == without_ids(on_instance)
    assert "".join(p for p in on_class if isinstance(p, str)) == "Echo: hello world"


def test_per_call_keyword_overrides_the_instance(openai_server) -> None:
    provider = OpenaiTemplate(base_url=openai_server.base_url, api_key="sk-wrong-key-000000",
                              headers={"X-Trace": "instance"})
    list(provider.create_completion("gpt-4o-mini", USER, api_key=API_KEY, headers={"X-Trace": "call"}))
    sent = openai_server.requests[-1]
    assert sent.header("Authorization") == f"Bearer {API_KEY}"
    assert sent.header("X-Trace") == "call"


def test_timeout_accepts_a_number_or_a_timeout() -> None:
    assert Timeout.coerce(5) == Timeout(5.0, 5.0, 5.0)
    assert Timeout.coerce(Timeout(connect=1, read=2, stream_idle=3)).stream_idle == 3
    assert Timeout.coerce(None) == Timeout(None, None, None)


def test_missing_key_names_the_env_var_and_argument(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(MissingAuthError) as info:
        OpenaiAPI.create_completion("gpt-4o-mini", USER)
    assert "OPENAI_API_KEY" in str(info.value) and "api_key=" in str(info.value)


def test_openai_api_reads_key_and_base_url_from_the_environment(monkeypatch, openai_server) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    text = OpenaiAPI().create_completion("gpt-4o-mini", USER).text()
    assert text == "Echo: hello world"


def test_repr_never_shows_the_key() -> None:
    provider = OpenaiTemplate(base_url="http://127.0.0.1:9/v1", api_key="sk-supersecret-123456")
    assert "supersecret" not in repr(provider)
    assert "[redacted]" in repr(provider)


def test_template_without_base_url_says_how_to_set_one() -> None:
    with pytest.raises(InvalidRequestError) as info:
        OpenaiTemplate.create_completion("llama3", USER)
    assert "base_url" in str(info.value)


def test_registry_finds_providers_by_name() -> None:
    assert get_provider("openaitemplate") is OpenaiTemplate
    assert get_provider(OpenaiAPI) is OpenaiAPI
    with pytest.raises(InvalidRequestError):
        get_provider("Nope")


def test_model_aliases_and_default() -> None:
    class Demo(Provider):
        default_model = "auto"
        models = ["auto", "big"]
        model_aliases = {"large": "big"}
        validates_models = True

    assert Demo.get_model("") == "auto"
    assert Demo.get_model("large") == "big"
    with pytest.raises(InvalidRequestError):
        Demo.get_model("tiny")


def test_environment_proxies_are_honoured_per_host(openai_server, monkeypatch) -> None:
    from chatgpt_sync.errors import APIConnectionError
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there: a refused proxy
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(APIConnectionError):
        list(OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY, max_retries=0)
             .create_completion("gpt-4o-mini", USER))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY).create_completion(
        "gpt-4o-mini", USER).text() == "Echo: hello world"
