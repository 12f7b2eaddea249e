"""The Client against the official ``openai`` package: the same calls, the same emulator, the same answers.

Each case runs through ``openai.OpenAI`` and through ``chatgpt_sync.Client`` and the results are read
with the same attribute-access code, so a name missing or shaped differently on our side fails here.
Generated ids and timestamps differ by nature and are not compared.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import openai
import pytest

import chatgpt_sync.errors as errors
from chatgpt_sync import Client
from chatgpt_sync.testing.openai_api import OpenAIEmulator

KEY = "sk-compat-0123456789abcdef"
MODEL = "gpt-4o-mini"
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
]
TOOL_ROUND = [
    {"role": "user", "content": "weather in Oslo?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
    {"role": "tool", "tool_call_id": "call_0", "content": "rainy, 8 C"},
]

CASES: dict[str, dict[str, Any]] = {
    "text": {"messages": [{"role": "user", "content": "hello there, world"}]},
    "system and parts": {"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "describe"}, {"type": "text", "text": "this"}]}]},
    "tool call": {"messages": [{"role": "user", "content": "weather in Oslo?"}], "tools": TOOLS[:1]},
    "parallel tool calls": {"messages": [{"role": "user", "content": "weather and time"}], "tools": TOOLS},
    "forced tool": {"messages": [{"role": "user", "content": "now"}], "tools": TOOLS,
                    "tool_choice": {"type": "function", "function": {"name": "get_time"}}},
    "tool result round": {"messages": TOOL_ROUND, "tools": TOOLS},
    "n=2": {"messages": [{"role": "user", "content": "two answers"}], "n": 2},
    "n=2 tools": {"messages": [{"role": "user", "content": "call"}], "n": 2, "tools": TOOLS[:1]},
    "reasoning": {"model": "deepseek-reasoner", "messages": [{"role": "user", "content": "think"}]},
    "refusal": {"messages": [{"role": "user", "content": "REFUSE to do it"}]},
    "length": {"messages": [{"role": "user", "content": "a b c d e f"}], "max_tokens": 3},
    "stop": {"messages": [{"role": "user", "content": "alpha beta gamma"}], "stop": ["gamma"]},
    "sampling params": {"messages": [{"role": "user", "content": "x"}], "temperature": 0.2, "top_p": 0.9,
                        "seed": 1, "presence_penalty": 0.1, "user": "u-1"},
}


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator(api_key=KEY) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def theirs(server: OpenAIEmulator) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
    yield client
    client.close()


@pytest.fixture(scope="module")
def ours(server: OpenAIEmulator) -> Iterator[Client]:
    with Client(base_url=server.base_url, api_key=KEY) as client:
        yield client


# ------------------------------------------------------------------------------ readers
# Written once against openai-python's attribute names and applied to both clients' results.

def read_completion(answer: Any) -> dict[str, Any]:
    choices = []
    for choice in answer.choices:
        message = choice.message
        calls = [(c.id, c.type, c.function.name, c.function.arguments) for c in message.tool_calls or []]
        choices.append({
            "index": choice.index, "role": message.role, "content": message.content,
            "refusal": message.refusal, "tool_calls": calls if message.tool_calls is not None else None,
            "reasoning": getattr(message, "reasoning_content", None), "finish_reason": choice.finish_reason,
        })
    usage = answer.usage
    return {"object": answer.object, "model": answer.model, "choices": choices,
            "usage": None if usage is None else (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)}


def read_stream(chunks: list[Any]) -> dict[str, Any]:
    """Deltas folded per choice index, plus the stream's structure (ids, last choice chunk, usage chunk)."""
    per_choice: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            state = per_choice.setdefault(choice.index, {
                "role": None, "content": None, "refusal": None, "reasoning": None, "calls": {},
                "finish_reason": None})
            delta = choice.delta
            if delta.role and state["role"] is None:
                state["role"] = delta.role
            for field, value in (("content", delta.content), ("refusal", delta.refusal),
                                 ("reasoning", getattr(delta, "reasoning_content", None))):
                if value:
                    state[field] = (state[field] or "") + value
            for call in delta.tool_calls or []:
                entry = state["calls"].setdefault(call.index, {"id": None, "type": None, "name": "", "arguments": ""})
                entry["id"] = call.id or entry["id"]
                entry["type"] = call.type or entry["type"]
                if call.function is not None:
                    entry["name"] += call.function.name or ""
                    entry["arguments"] += call.function.arguments or ""
            if choice.finish_reason:
                state["finish_reason"] = choice.finish_reason
    choice_chunks = [c for c in chunks if c.choices]
    usage_chunks = [c for c in chunks if c.usage is not None]
    for state in per_choice.values():
        state["calls"] = [(e["id"], e["type"], e["name"], e["arguments"]) for _, e in sorted(state["calls"].items())]
    return {
        "choices": {i: per_choice[i] for i in sorted(per_choice)},
        "one id": len({c.id for c in chunks}) == 1,
        "objects": {c.object for c in chunks},
        "models": {c.model for c in chunks},
        "last choice chunk finish": choice_chunks[-1].choices[-1].finish_reason if choice_chunks else None,
        "usage chunks": [(c.choices, c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.total_tokens)
                         for c in usage_chunks],
        "usage is last": bool(usage_chunks) and chunks[-1] is usage_chunks[-1],
    }


def assert_same_where_we_answer(ours: Any, theirs: Any, path: str = "") -> None:
    """Every key of our dump is in theirs with an equal value (ids and timestamps aside)."""
    if isinstance(ours, dict):
        assert isinstance(theirs, dict), path
        for key, value in ours.items():
            if key in ("id", "created") and not path.endswith("tool_calls]"):
                continue
            assert key in theirs, f"{path}.{key} missing from openai's dump"
            assert_same_where_we_answer(value, theirs[key], f"{path}.{key}")
    elif isinstance(ours, list):
        assert isinstance(theirs, list) and len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same_where_we_answer(a, b, f"{path}[{i}" + ("tool_calls]" if path.endswith("tool_calls") else "]"))
    else:
        assert ours == theirs, f"{path}: ours {ours!r} != openai {theirs!r}"


def run(client: Any, stream: bool, case: dict[str, Any]) -> Any:
    params = {"model": MODEL, **case}
    if stream:
        params["stream_options"] = {"include_usage": True}
        with client.chat.completions.create(stream=True, **params) as chunks:
            return list(chunks)
    return client.chat.completions.create(**params)


# ------------------------------------------------------------------------------ chat completions
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_same_answer(theirs: Any, ours: Client, case: str, stream: bool) -> None:
    expected, got = run(theirs, stream, CASES[case]), run(ours, stream, CASES[case])
    if not stream:
        assert read_completion(got) == read_completion(expected)
        assert_same_where_we_answer(got.model_dump(), expected.model_dump())
        return
    assert read_stream(got) == read_stream(expected)
    summary = read_stream(got)
    assert summary["one id"] and summary["usage is last"]
    assert summary["usage chunks"] and summary["usage chunks"][0][0] == []
    # Chunks that carry only a finish reason or only usage are dumped alike, key for key.
    assert_same_where_we_answer(got[-1].model_dump(), expected[-1].model_dump())


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_same_text_and_finish_by_reading_like_user_code(theirs: Any, ours: Client, stream: bool) -> None:
    """The everyday loops of openai-python users give the same strings."""
    messages = [{"role": "user", "content": "the quick brown fox"}]
    results: list[tuple[Any, Any]] = []
    clients: tuple[Any, ...] = (theirs, ours)
    for client in clients:
        if stream:
            text, finish = "", None
            for chunk in client.chat.completions.create(model=MODEL, messages=messages, stream=True,
                                                        stream_options={"include_usage": True}):
                if chunk.choices:
                    text += chunk.choices[0].delta.content or ""
                    finish = chunk.choices[0].finish_reason or finish
            results.append((text, finish))
        else:
            answer = client.chat.completions.create(model=MODEL, messages=messages)
            results.append((answer.choices[0].message.content, answer.choices[0].finish_reason))
    assert results[0] == results[1] == ("Echo: the quick brown fox", "stop")


def test_tool_round_trip_with_our_answer(theirs: Any, ours: Client) -> None:
    """An assistant message built from our tool-call answer is accepted back, as openai's is."""
    first = [{"role": "user", "content": "weather in Oslo?"}]
    answers = []
    clients: tuple[Any, ...] = (theirs, ours)
    for client in clients:
        answer = client.chat.completions.create(model=MODEL, messages=first, tools=TOOLS[:1])
        call = answer.choices[0].message.tool_calls[0]
        follow = first + [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": call.id, "type": call.type,
                 "function": {"name": call.function.name, "arguments": call.function.arguments}}]},
            {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"sky": "rain"})},
        ]
        final = client.chat.completions.create(model=MODEL, messages=follow, tools=TOOLS[:1])
        answers.append((call.function.arguments, final.choices[0].message.content, final.choices[0].finish_reason))
    assert answers[0] == answers[1]


# ------------------------------------------------------------------------------ models, images, errors
def test_same_models(theirs: Any, ours: Client, server: OpenAIEmulator) -> None:
    their_ids = [m.id for m in theirs.models.list()]
    our_page = ours.models.list()
    assert sorted(m.id for m in our_page) == sorted(their_ids) == sorted(server.models)
    assert sorted(m.id for m in our_page.data) == sorted(m.id for m in theirs.models.list().data)
    assert {m.object for m in our_page} == {"model"}


@pytest.mark.parametrize("response_format", [None, "url", "b64_json"])
def test_same_images(theirs: Any, ours: Client, response_format: str | None) -> None:
    params: dict[str, Any] = {"prompt": "a teal square", "model": "dall-e-3", "n": 2}
    if response_format:
        params["response_format"] = response_format
    expected, got = theirs.images.generate(**params), ours.images.generate(**params)
    assert [(i.url, i.b64_json, i.revised_prompt) for i in got.data] == \
           [(i.url, i.b64_json, i.revised_prompt) for i in expected.data]
    assert_same_where_we_answer(got.model_dump(), expected.model_dump())


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("model, api_key, their_error, our_error", [
    (MODEL, "sk-wrong-0000000000", openai.AuthenticationError, errors.AuthenticationError),
    ("gpt-missing", KEY, openai.NotFoundError, errors.NotFoundError),
], ids=["401", "404"])
def test_same_errors(server: OpenAIEmulator, stream: bool, model: str, api_key: str,
                     their_error: type[Exception], our_error: type[Exception]) -> None:
    messages = [{"role": "user", "content": "hi"}]
    theirs: Any = openai.OpenAI(base_url=server.base_url, api_key=api_key, max_retries=0)
    with pytest.raises(their_error) as their_info:
        theirs.chat.completions.create(model=model, messages=messages, stream=stream)
    # With stream=True too, both raise from create() itself, not from the first iteration.
    with Client(base_url=server.base_url, api_key=api_key) as ours, pytest.raises(our_error) as our_info:
        ours.chat.completions.create(model=model, messages=messages, stream=stream)
    theirs.close()
    assert getattr(our_info.value, "status_code") == getattr(their_info.value, "status_code")
    # Both carry the server's x-request-id (a new one per request, so only the form is compared).
    assert str(getattr(our_info.value, "request_id")).startswith("req_")
    assert str(getattr(their_info.value, "request_id")).startswith("req_")
    assert isinstance(our_info.value, errors.APIStatusError)


# ------------------------------------------------------------------------------ the server's own values
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_server_identifiers_are_carried_not_invented(theirs: Any, ours: Client, server: OpenAIEmulator,
                                                     stream: bool) -> None:
    results = []
    clients: tuple[Any, ...] = (theirs, ours)
    for client in clients:
        server.reset_counters()
        if stream:
            with client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                                stream=True) as chunks:
                got = list(chunks)
            results.append(({c.id for c in got}, {c.model for c in got}, {c.created for c in got},
                            {c.system_fingerprint for c in got}))
        else:
            answer = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
            results.append(({answer.id}, {answer.model}, {answer.created}, {answer.system_fingerprint}))
    (their_ids, their_models, their_created, their_fp), (our_ids, our_models, our_created, our_fp) = results
    assert their_models == our_models == {"gpt-4o-2024-08-06"}  # what answered, not what was asked
    assert their_fp == our_fp == {"fp_e5a2b3c4d1"}
    assert len(our_ids) == len(our_created) == 1 and next(iter(our_ids)).startswith("chatcmpl-")
    assert our_ids != their_ids  # each is the id the server gave that answer


def test_logprobs_are_kept(theirs: Any, ours: Client) -> None:
    messages = [{"role": "user", "content": "one two"}]
    def folded(client: Any, stream: bool) -> list[tuple[str, float]]:
        if not stream:
            answer = client.chat.completions.create(model=MODEL, messages=messages, logprobs=True)
            return [(t.token, t.logprob) for t in answer.choices[0].logprobs.content]
        tokens = []
        for chunk in client.chat.completions.create(model=MODEL, messages=messages, logprobs=True, stream=True):
            for choice in chunk.choices:
                if choice.logprobs and choice.logprobs.content:
                    tokens += [(t.token, t.logprob) for t in choice.logprobs.content]
        return tokens
    for stream in (False, True):
        expected = folded(theirs, stream)
        assert expected and folded(ours, stream) == expected


def test_models_in_the_servers_order_with_its_fields(theirs: Any, ours: Client) -> None:
    theirs_dump = [m.model_dump(exclude_none=True) for m in theirs.models.list()]
    assert [m.model_dump(exclude_none=True) for m in ours.models.list()] == theirs_dump
    assert [m.id for m in ours.models.list()] == ["gpt-4o-mini", "gpt-4o", "deepseek-reasoner", "dall-e-3"]
    assert (ours.models.retrieve("gpt-4o").model_dump(exclude_none=True)
            == theirs.models.retrieve("gpt-4o").model_dump(exclude_none=True))
    with pytest.raises(openai.NotFoundError):
        theirs.models.retrieve("no-such-model")
    with pytest.raises(errors.NotFoundError):
        ours.models.retrieve("no-such-model")


# ------------------------------------------------------------------------------ openai-python habits
def test_the_docs_streaming_loop_without_usage(theirs: Any, ours: Client) -> None:
    """``chunk.choices[0]`` on every chunk: no usage-only chunk unless the caller asked for one."""
    outputs = []
    clients: tuple[Any, ...] = (theirs, ours)
    for client in clients:
        text = ""
        stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}],
                                                stream=True)
        for chunk in stream:
            text += chunk.choices[0].delta.content or ""
        outputs.append(text)
    assert outputs[0] == outputs[1] == "Echo: hi"


def test_first_chunk_carries_the_role(theirs: Any, ours: Client) -> None:
    firsts = []
    clients: tuple[Any, ...] = (theirs, ours)
    for client in clients:
        with client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}],
                                            stream=True) as stream:
            firsts.append(next(iter(stream)).choices[0].delta.role)
    assert firsts == ["assistant", "assistant"]


def test_key_from_the_environment(server: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    theirs = openai.OpenAI(base_url=server.base_url, max_retries=0)
    with Client(base_url=server.base_url) as ours:
        for client in (theirs, ours):
            answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
            assert answer.choices[0].message.content == "Echo: hi"
        assert ours.api_key == theirs.api_key == KEY
    theirs.close()


@pytest.mark.parametrize("as_given", ["object", "model_dump", "exclude_unset"])
def test_an_answer_message_goes_back_into_messages(theirs: Any, ours: Client, as_given: str) -> None:
    """The function-calling guide's habit: append the assistant message, then the tool result."""
    finals = []
    clients: tuple[Any, ...] = (theirs, ours)
    for client in clients:
        messages: list[Any] = [{"role": "user", "content": "weather in Oslo?"}]
        answer = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS[:1])
        message = answer.choices[0].message
        if as_given == "model_dump":
            message = message.model_dump(exclude_none=True)
            assert "content" not in message  # the shape that used to be rejected
        elif as_given == "exclude_unset":
            message = message.model_dump(exclude_unset=True)
        messages.append(message)
        messages.append({"role": "tool", "tool_call_id": answer.choices[0].message.tool_calls[0].id,
                         "content": "rainy"})
        final = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS[:1])
        finals.append((final.choices[0].message.content, final.choices[0].finish_reason))
    assert finals[0] == finals[1] == ("Echo: weather in Oslo?", "stop")


def test_malformed_messages_are_still_refused(ours: Client, server: OpenAIEmulator) -> None:
    server.reset_counters()
    for bad in ([{"role": "user"}], [{"role": "assistant", "tool_calls": []}], [object()], [{"content": "x"}]):
        with pytest.raises(errors.InvalidRequestError):
            ours.chat.completions.create(model=MODEL, messages=bad)
    assert not server.requests


def test_options_raw_response_and_client_attributes(theirs: Any, ours: Client, server: OpenAIEmulator) -> None:
    for client in (theirs, ours):
        quick = client.with_options(timeout=7.5, max_retries=1)
        assert quick.max_retries == 1 and quick.base_url is not None
        assert str(quick.base_url).rstrip("/") == server.base_url
        answer = quick.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
        assert answer.choices[0].message.content == "Echo: hi"
        raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
        assert raw.headers["x-request-id"].startswith("req_")
        assert raw.parse().choices[0].message.content == "Echo: hi"
        with client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}],
                                            stream=True) as stream:
            assert stream.response.headers["x-request-id"].startswith("req_")
            assert "".join(c.choices[0].delta.content or "" for c in stream) == "Echo: hi"
    assert ours.with_options(timeout=7.5).timeout.read == 7.5
    assert ours.api_key == theirs.api_key == KEY
    ours.with_options(max_retries=0).close()  # closing a view leaves the shared client working
    assert ours.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}]).choices


def test_extra_query_reaches_the_server(theirs: Any, ours: Client, server: OpenAIEmulator) -> None:
    paths = []
    for client in (theirs, ours):
        server.reset_counters()
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}],
                                       extra_query={"trace": "on", "n": 2})
        paths.append(server.requests[-1].path)
    assert paths[0] == paths[1] == "/v1/chat/completions?trace=on&n=2"


def test_to_json_and_dumps(theirs: Any, ours: Client) -> None:
    dumps = []
    for client in (theirs, ours):
        answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
        dumps.append(json.loads(answer.to_json()))
        assert answer.choices[0].message.model_dump(exclude_unset=True)["content"] == "Echo: hi"
    for dump in dumps:
        dump.pop("id"), dump.pop("created")
    ours_dump, theirs_dump = dumps[1], dumps[0]
    assert_same_where_we_answer(ours_dump, theirs_dump)


def test_structured_output_with_a_pydantic_model(theirs: Any, ours: Client) -> None:
    pydantic = pytest.importorskip("pydantic")

    class Step(pydantic.BaseModel):
        explanation: str
        output: str

    class Solution(pydantic.BaseModel):
        steps: list[Step]
        final_answer: str
        confident: bool

    results = []
    for client in (theirs, ours):
        answer = client.chat.completions.parse(model=MODEL, messages=[{"role": "user", "content": "solve x"}],
                                               response_format=Solution)
        parsed = answer.choices[0].message.parsed
        assert isinstance(parsed, Solution)
        results.append(parsed.model_dump())
    assert results[0] == results[1]


@pytest.mark.parametrize("status", [400, 401, 404])
def test_error_attributes_match(server: OpenAIEmulator, status: int) -> None:
    cases = {400: (MODEL, KEY, {"temperature": 5}), 401: (MODEL, "sk-wrong-0000000000", {}),
             404: ("gpt-missing", KEY, {})}
    model, key, extra = cases[status]
    theirs = openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)
    with pytest.raises(openai.APIStatusError) as their_info:
        theirs.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], **extra)
    theirs.close()
    with Client(base_url=server.base_url, api_key=key) as ours, pytest.raises(errors.APIStatusError) as our_info:
        ours.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], **extra)
    t, o = their_info.value, our_info.value
    assert type(o).__name__ == type(t).__name__
    assert isinstance(o, errors.APIError) and isinstance(o, errors.OpenAIError)
    assert (o.status_code, o.code, o.type, o.param) == (t.status_code, t.code, t.type, t.param)
    assert o.message in t.message  # theirs is "Error code: N - {...}", ours the server's words
    # No URL prefix in .message (str(e) keeps where it happened and what to do).
    assert server.base_url not in o.message and server.base_url in str(o)
    # The server echoes a masked key; the body is the inner error object, as openai-python gives it.
    assert o.body == t.body
    assert o.response.status_code == t.response.status_code == status
    assert o.response.json() == t.response.json()


def test_status_classes_are_importable_from_the_root() -> None:
    import chatgpt_sync
    for name in ("BadRequestError", "ConflictError", "UnprocessableEntityError", "OpenAIError", "APIError"):
        assert getattr(chatgpt_sync, name) is getattr(errors, name)
        assert hasattr(openai, name)  # the same names openai-python code catches
