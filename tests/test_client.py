"""The OpenAI-shaped Client, end to end against the OpenAI API emulator."""

from __future__ import annotations

import base64
import json
import time
from typing import Any, Generator, Iterator

import pytest

from chatgpt_sync import Client, OpenaiAPI, OpenaiTemplate
from chatgpt_sync.client import ChatCompletionStream
from chatgpt_sync._client_types import ChatCompletion, ChatCompletionChunk
from chatgpt_sync.errors import (
    AuthenticationError, InvalidRequestError, MissingAuthError, NotFoundError, ResponseError, UnknownParameterError,
)
from chatgpt_sync.providers.base import Provider
from chatgpt_sync.testing.openai_api import OpenAIEmulator
from chatgpt_sync.types import (
    ChoiceText, Conversation, FinishReason, ImageResponse, Reasoning, Sources, TitleGeneration, Usage,
)

KEY = "sk-test-client-0123456789"
MODEL = "gpt-4o-mini"
SERVED = "gpt-4o-mini-2024-07-18"  # the snapshot the emulator (like api.openai.com) says answered
TOOLS = [{"type": "function", "function": {"name": "lookup", "description": "Look it up",
                                           "parameters": {"type": "object", "properties": {}}}}]


def ask(text: str = "hello world") -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@pytest.fixture
def server() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator(api_key=KEY) as emulator:
        yield emulator


@pytest.fixture
def client(server: OpenAIEmulator) -> Iterator[Client]:
    with Client(base_url=server.base_url, api_key=KEY, max_retries=0) as instance:
        yield instance


def chunks_of(client: Client, **params: Any) -> list[ChatCompletionChunk]:
    params.setdefault("model", MODEL)
    params.setdefault("messages", ask())
    with client.chat.completions.create(stream=True, **params) as stream:
        return list(stream)


def wait_for(condition: Any, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())


# ------------------------------------------------------------------------------ non-streamed
def test_non_stream_answer(client: Client) -> None:
    answer = client.chat.completions.create(model=MODEL, messages=ask())
    assert isinstance(answer, ChatCompletion)
    assert answer.id.startswith("chatcmpl-") and len(answer.id) > len("chatcmpl-")
    assert answer.object == "chat.completion"
    assert isinstance(answer.created, int) and abs(answer.created - time.time()) < 60
    assert answer.model == SERVED and answer.system_fingerprint == "fp_e5a2b3c4d1"
    assert answer._request_id.startswith("req_")
    assert len(answer.choices) == 1
    choice = answer.choices[0]
    assert choice.index == 0
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == "Echo: hello world"
    assert choice.message.tool_calls is None
    assert choice.message.refusal is None
    assert choice.message.reasoning_content is None
    assert choice.logprobs is None and choice.message.function_call is None
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (2, 3, 5)


def test_ids_differ_per_call(client: Client) -> None:
    first = client.chat.completions.create(model=MODEL, messages=ask())
    second = client.chat.completions.create(model=MODEL, messages=ask())
    assert first.id != second.id


def test_model_dump_is_openai_json(client: Client) -> None:
    answer = client.chat.completions.create(model=MODEL, messages=ask())
    data = answer.model_dump()
    assert data == answer.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"] == {
        "content": "Echo: hello world", "refusal": None, "role": "assistant", "annotations": None,
        "audio": None, "function_call": None, "tool_calls": None}
    assert data["usage"]["total_tokens"] == 5
    assert "reasoning_content" not in data["choices"][0]["message"]  # an extension: only when set
    assert json.loads(answer.model_dump_json())["id"] == answer.id
    assert "null" not in json.dumps(answer.model_dump(exclude_none=True))
    assert repr(answer).startswith("ChatCompletion(id='chatcmpl-")
    assert "content='Echo: hello world'" in repr(answer)


def test_tool_call_answer(client: Client) -> None:
    answer = client.chat.completions.create(model=MODEL, messages=ask("weather in Oslo"), tools=TOOLS)
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None and len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert (call.id, call.type, call.function.name) == ("call_0", "function", "lookup")
    assert json.loads(call.function.arguments) == {"query": "weather in Oslo"}
    assert answer.model_dump()["choices"][0]["message"]["tool_calls"] == [
        {"id": "call_0", "function": {"arguments": call.function.arguments, "name": "lookup"}, "type": "function"}]


def test_parallel_tool_calls(client: Client) -> None:
    tools = TOOLS + [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
    answer = client.chat.completions.create(model=MODEL, messages=ask("x"), tools=tools)
    calls = answer.choices[0].message.tool_calls
    assert calls is not None
    assert [(c.id, c.function.name) for c in calls] == [("call_0", "lookup"), ("call_1", "search")]


def test_n_choices(client: Client) -> None:
    answer = client.chat.completions.create(model=MODEL, messages=ask("hi"), n=3)
    assert [c.index for c in answer.choices] == [0, 1, 2]
    assert [c.message.content for c in answer.choices] == ["[0] Echo: hi", "[1] Echo: hi", "[2] Echo: hi"]
    assert all(c.finish_reason == "stop" for c in answer.choices)


def test_reasoning(client: Client) -> None:
    answer = client.chat.completions.create(model="deepseek-reasoner", messages=ask("hi"))
    message = answer.choices[0].message
    assert message.reasoning_content == "Thinking about it."
    assert message.content == "Echo: hi"
    assert answer.model_dump()["choices"][0]["message"]["reasoning_content"] == "Thinking about it."
    assert answer.usage is not None and answer.usage.completion_tokens_details is not None
    assert answer.usage.completion_tokens_details.reasoning_tokens == 3


def test_refusal(client: Client) -> None:
    answer = client.chat.completions.create(model=MODEL, messages=ask("REFUSE this"))
    message = answer.choices[0].message
    assert message.content is None
    assert message.refusal == "I can't help with that."
    assert answer.choices[0].finish_reason == "stop"


def test_length_finish(client: Client) -> None:
    answer = client.chat.completions.create(model=MODEL, messages=ask("one two three four"), max_tokens=2)
    assert answer.choices[0].finish_reason == "length"
    assert answer.choices[0].message.content == "Echo: one"


# ------------------------------------------------------------------------------ streamed
def test_stream_chunks(client: Client) -> None:
    chunks = chunks_of(client, stream_options={"include_usage": True})
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert {c.model for c in chunks} == {SERVED}
    assert {c.system_fingerprint for c in chunks} == {"fp_e5a2b3c4d1"}
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.created for c in chunks}) == 1
    with_choices = [c for c in chunks if c.choices]
    assert "".join(c.choices[0].delta.content or "" for c in with_choices) == "Echo: hello world"
    assert with_choices[0].choices[0].delta.role == "assistant"
    assert all(c.choices[0].delta.role is None for c in with_choices[1:])
    assert all(c.choices[0].index == 0 for c in with_choices)
    assert [c.choices[0].finish_reason for c in with_choices] == [None] * (len(with_choices) - 1) + ["stop"]
    usage = chunks[-1]
    assert usage.choices == []
    assert usage.usage is not None and usage.usage.total_tokens == 5
    assert all(c.usage is None for c in chunks[:-1])


def test_usage_chunk_iterates_safely(client: Client) -> None:
    # The common openai-python loop body; an empty choices list must not break it.
    text = ""
    for chunk in client.chat.completions.create(model=MODEL, messages=ask(), stream=True):
        for choice in chunk.choices:
            text += choice.delta.content or ""
    assert text == "Echo: hello world"


def test_stream_without_usage(client: Client) -> None:
    chunks = chunks_of(client, stream_options={"include_usage": False})
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)


def test_stream_tool_calls(client: Client) -> None:
    chunks = chunks_of(client, messages=ask("weather"), tools=TOOLS)
    calls = [tc for c in chunks for ch in c.choices for tc in (ch.delta.tool_calls or [])]
    assert len(calls) == 1
    call = calls[0]
    assert (call.index, call.id, call.type) == (0, "call_0", "function")
    assert call.function is not None and call.function.name == "lookup"
    assert json.loads(call.function.arguments or "") == {"query": "weather"}
    finishes = [ch.finish_reason for c in chunks for ch in c.choices if ch.finish_reason]
    assert finishes == ["tool_calls"]
    assert all(ch.delta.content is None for c in chunks for ch in c.choices)


def test_stream_n_choices(client: Client) -> None:
    chunks = chunks_of(client, messages=ask("hi"), n=2)
    texts: dict[int, str] = {}
    finishes: dict[int, str] = {}
    roles: dict[int, int] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] = texts.get(choice.index, "") + (choice.delta.content or "")
            if choice.finish_reason:
                finishes[choice.index] = choice.finish_reason
            if choice.delta.role:
                roles[choice.index] = roles.get(choice.index, 0) + 1
    assert texts == {0: "[0] Echo: hi", 1: "[1] Echo: hi"}
    assert finishes == {0: "stop", 1: "stop"}
    assert roles == {0: 1, 1: 1}


def test_stream_reasoning_and_refusal(client: Client) -> None:
    chunks = chunks_of(client, model="deepseek-reasoner", messages=ask("hi"),
                       stream_options={"include_usage": True})
    deltas = [ch.delta for c in chunks for ch in c.choices]
    assert "".join(d.reasoning_content or "" for d in deltas) == "Thinking about it."
    assert "".join(d.content or "" for d in deltas) == "Echo: hi"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens_details is not None

    chunks = chunks_of(client, messages=ask("REFUSE"))
    deltas = [ch.delta for c in chunks for ch in c.choices]
    assert "".join(d.refusal or "" for d in deltas) == "I can't help with that."
    assert all(d.content is None for d in deltas)


def test_chunk_model_dump(client: Client) -> None:
    chunks = chunks_of(client, stream_options={"include_usage": True})
    first = chunks[0].model_dump()
    assert first["object"] == "chat.completion.chunk"
    assert first["choices"][0]["delta"]["role"] == "assistant"
    assert first["choices"][0]["delta"]["content"] == "Echo:"
    assert chunks[-1].to_dict()["choices"] == []
    assert chunks[-1].to_dict()["usage"]["prompt_tokens"] == 2
    assert "ChoiceDelta(content='Echo:'" in repr(chunks[0])
    json.dumps([c.model_dump() for c in chunks])


def test_stream_object(client: Client) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=ask(), stream=True)
    assert isinstance(stream, ChatCompletionStream)
    assert iter(stream) is iter(stream)
    first = next(stream)
    assert first.id == stream.id and stream.model == SERVED
    assert "ChatCompletionStream" in repr(stream)
    stream.close()
    stream.close()  # idempotent
    with pytest.raises(StopIteration):
        next(stream)


def test_stream_context_manager_releases_connection(server: OpenAIEmulator, client: Client) -> None:
    with client.chat.completions.create(model=MODEL, messages=ask("one two three four five"), stream=True) as s:
        next(s)
        assert server.connections_open == 1
    # The body was not read to the end, so the connection cannot be reused: it must be closed.
    assert wait_for(lambda: server.connections_open == 0)


def test_finished_streams_reuse_one_connection(server: OpenAIEmulator, client: Client) -> None:
    for _ in range(3):
        chunks_of(client)
    client.chat.completions.create(model=MODEL, messages=ask())
    client.models.list()
    assert server.connections_opened == 1
    client.close()
    assert wait_for(lambda: server.connections_open == 0)


def test_abandoned_stream_releases_connection(server: OpenAIEmulator, client: Client) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=ask("one two three"), stream=True)
    next(stream)
    del stream  # garbage collected: the generator's finally closes the response
    assert wait_for(lambda: server.connections_open == 0)


# ------------------------------------------------------------------------------ models and images
def test_models_list(server: OpenAIEmulator, client: Client) -> None:
    page = client.models.list()
    ids = [model.id for model in page]
    assert sorted(ids) == sorted(server.models)
    assert [m.id for m in page.data] == ids and len(page) == len(ids) and page[0].id == ids[0]
    assert all(m.object == "model" and m.owned_by == "emulator" for m in page)
    assert ids == list(server.models)  # the server's order, not sorted
    assert page.object == "list" and not page.has_next_page()
    assert page.model_dump()["data"][0]["object"] == "model"


def test_images_url(server: OpenAIEmulator, client: Client) -> None:
    result = client.images.generate(prompt="a teal square", model="dall-e-3", n=2)
    assert isinstance(result.created, int)
    assert len(result.data) == 2
    for image in result.data:
        assert image.url is not None and image.url.startswith(server.origin + "/files/img-")
        assert image.b64_json is None
        assert image.revised_prompt == "a teal square"
    body = server.requests[-1].json()
    assert body == {"prompt": "a teal square", "model": "dall-e-3", "n": 2}


def test_images_b64(server: OpenAIEmulator, client: Client) -> None:
    result = client.images.generate(prompt="a teal square", model="dall-e-3", response_format="b64_json",
                                    size="1024x1024")
    image = result.data[0]
    assert image.url is None
    assert image.b64_json is not None
    assert base64.b64decode(image.b64_json).startswith(b"\x89PNG")
    assert result.model_dump()["data"][0]["b64_json"] == image.b64_json
    assert server.requests[-1].json()["size"] == "1024x1024"


def test_image_model_in_chat_is_markdown(client: Client) -> None:
    answer = client.chat.completions.create(model="dall-e-3", messages=ask("a teal square"))
    content = answer.choices[0].message.content
    assert content is not None and content.startswith("![a teal square](http")


# ------------------------------------------------------------------------------ parameters
def test_openai_call_keywords(server: OpenAIEmulator, client: Client) -> None:
    client.chat.completions.create(model=MODEL, messages=ask(), extra_headers={"X-Trace": "abc"},
                                   extra_body={"seed": 7}, timeout=5, temperature=0.5)
    request = server.requests[-1]
    assert request.header("X-Trace") == "abc"
    body = request.json()
    assert body["seed"] == 7 and body["temperature"] == 0.5


def test_unknown_keyword_is_the_providers_error(server: OpenAIEmulator, client: Client) -> None:
    with pytest.raises(UnknownParameterError, match="temprature"):
        client.chat.completions.create(model=MODEL, messages=ask(), temprature=0.5)
    assert server.chat_requests == 0


def test_constructor_settings(server: OpenAIEmulator) -> None:
    with Client(base_url=server.base_url, api_key=KEY, default_headers={"X-App": "demo"},
                organization="org-1", headers={"X-Other": "1"}) as client:
        client.chat.completions.create(model=MODEL, messages=ask())
    request = server.requests[-1]
    assert request.header("X-App") == "demo" and request.header("X-Other") == "1"
    assert request.header("OpenAI-Organization") == "org-1"


def test_provider_forms(server: OpenAIEmulator) -> None:
    by_name = Client("OpenaiTemplate", base_url=server.base_url, api_key=KEY)
    assert type(by_name.provider) is OpenaiTemplate
    by_class = Client(OpenaiTemplate, base_url=server.base_url, api_key=KEY)
    instance = OpenaiTemplate(base_url=server.base_url)
    by_instance = Client(instance, api_key=KEY)  # settings apply per call to a given instance
    assert by_instance.provider is instance
    for client in (by_name, by_class, by_instance):
        assert client.chat.completions.create(model=MODEL, messages=ask()).choices[0].message.content
        assert MODEL in [m.id for m in client.models.list()]
        client.close()
    # The caller's instance stays usable after the client that borrowed it closes.
    assert "".join(p for p in instance.create_completion(MODEL, ask(), api_key=KEY) if isinstance(p, str))


def test_default_provider(monkeypatch: pytest.MonkeyPatch, server: OpenAIEmulator) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert type(Client(base_url=server.base_url).provider) is OpenaiTemplate
    client = Client()
    assert type(client.provider) is OpenaiAPI
    with pytest.raises(MissingAuthError, match="OPENAI_API_KEY"):
        client.chat.completions.create(model=MODEL, messages=ask())


# ------------------------------------------------------------------------------ errors
def test_wrong_key(server: OpenAIEmulator) -> None:
    client = Client(base_url=server.base_url, api_key="sk-wrong-key-000000")
    with pytest.raises(AuthenticationError) as info:
        client.chat.completions.create(model=MODEL, messages=ask())
    assert info.value.status_code == 401
    assert "sk-wrong-key-000000" not in str(info.value)
    with pytest.raises(AuthenticationError):  # from create(), as openai-python raises it
        client.chat.completions.create(model=MODEL, messages=ask(), stream=True)
    assert wait_for(lambda: server.connections_open <= 1)
    with pytest.raises(AuthenticationError):
        client.models.list()
    with pytest.raises(AuthenticationError):
        client.images.generate(prompt="x", model="dall-e-3")


def test_unknown_model(client: Client) -> None:
    with pytest.raises(NotFoundError) as info:
        client.chat.completions.create(model="gpt-nope", messages=ask())
    assert info.value.status_code == 404


def test_error_mid_stream_carries_partial_text(client: Client) -> None:
    seen = ""
    with pytest.raises(ResponseError) as info:
        for chunk in client.chat.completions.create(model=MODEL, messages=ask("INBAND_ERROR now"), stream=True):
            for choice in chunk.choices:
                seen += choice.delta.content or ""
    assert seen and info.value.partial_text == seen


def test_stream_closed_before_iterating_releases_connection(server: OpenAIEmulator, client: Client) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=ask("one two three"), stream=True)
    stream.close()
    assert wait_for(lambda: server.connections_open == 0)
    assert list(stream) == []


# ------------------------------------------------------------------------------ any provider
class ScriptedProvider(Provider):
    """A provider that yields a fixed script of pieces, to reach every piece kind without a backend."""

    working = True
    models = ["scripted-1", "scripted-2"]
    script: list[Any] = []

    def _start(self, model: str, messages: list[dict[str, Any]], stream: bool, call: Any,
               params: dict[str, Any]) -> Generator[Any, None, None]:
        script = list(self.script)
        yield from script


SCRIPT = [
    Conversation("conv-1", "msg-1"), Reasoning("Hmm."), "Here ", "it is",
    ImageResponse(["https://img.example/1.png"], alt="a cat"), Sources([{"url": "u", "title": "t"}]),
    ChoiceText("other", 1), FinishReason("stop"), FinishReason(None, 1), TitleGeneration("Cats"),
    Usage(4, 5, 9),
]


def test_any_provider_non_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ScriptedProvider, "script", SCRIPT)
    client = Client(ScriptedProvider)
    answer = client.chat.completions.create(model="scripted-1", messages=ask())
    first, second = answer.choices
    assert first.message.content == "Here it is![a cat](https://img.example/1.png)"
    assert first.message.reasoning_content == "Hmm." and first.finish_reason == "stop"
    assert (second.index, second.message.content, second.finish_reason) == (1, "other", None)
    assert answer.usage is not None and answer.usage.total_tokens == 9
    assert answer.usage.completion_tokens_details is None
    assert answer.conversation == Conversation("conv-1", "msg-1")
    assert answer.model_dump()["conversation"] == {"conversation_id": "conv-1", "message_id": "msg-1"}
    assert [m.id for m in client.models.list()] == ["scripted-1", "scripted-2"]


def test_any_provider_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ScriptedProvider, "script", SCRIPT)
    with Client(ScriptedProvider()).chat.completions.create(model="m", messages=ask(), stream=True,
                                                          stream_options={"include_usage": True}) as stream:
        chunks = list(stream)
        assert stream.conversation == Conversation("conv-1", "msg-1")
    deltas = [(c.choices[0].index, c.choices[0].delta.role, c.choices[0].delta.content,
               c.choices[0].delta.reasoning_content, c.choices[0].finish_reason) for c in chunks if c.choices]
    assert deltas == [
        (0, "assistant", None, "Hmm.", None), (0, None, "Here ", None, None), (0, None, "it is", None, None),
        (0, None, "![a cat](https://img.example/1.png)", None, None), (1, "assistant", "other", None, None),
        (0, None, None, None, "stop"),
    ]  # a None finish reason (the turn did not finish) sends no chunk, as OpenAI would send none
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 9


def test_chunk_objects_are_slotted(client: Client) -> None:
    # The streaming path is benchmarked: per-token objects must stay dict-free.
    chunk = chunks_of(client)[0]
    for obj in (chunk, chunk.choices[0], chunk.choices[0].delta):
        assert not hasattr(obj, "__dict__")


def test_with_options_checks_names_and_values_at_once(client: Client) -> None:
    with pytest.raises(UnknownParameterError, match="timeout"):
        client.with_options(timout=5)
    with pytest.raises(InvalidRequestError):
        client.with_options(timeout=-1)
    assert client.with_options(max_retries=0).max_retries == 0
    assert client.beta.chat.completions.parse.__func__ is client.chat.completions.parse.__func__
