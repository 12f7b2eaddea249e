"""RetryProvider against two or three loopback OpenAI emulators (and scripted providers for the
corner cases the emulator cannot produce, such as a Conversation before the first text)."""

from __future__ import annotations

import logging
import pickle
import sys
import threading
from random import Random
from typing import Any, Generator, Iterator

import pytest

from chatgpt_sync import Client
from chatgpt_sync.errors import (
    APIConnectionError, AuthenticationError, BlockedError, ChatGPTSyncError, InternalServerError,
    InvalidRequestError, MissingAuthError, NotFoundError, ResponseError, UnknownParameterError,
)
from chatgpt_sync.providers.base import CallSettings, Provider
from chatgpt_sync.providers.chatgpt import ChatGpt
from chatgpt_sync.providers.openai_template import OpenaiTemplate
from chatgpt_sync.providers.retry import AllProvidersFailedError, RetryProvider, RetryStream
from chatgpt_sync.testing.openai_api import DEFAULT_MODELS, Faults, OpenAIEmulator
from chatgpt_sync.types import Chunk, Conversation, FinishReason, Reasoning, Timeout

from conftest import API_KEY, USER, wait_until

FAST = Timeout(connect=2, read=5, stream_idle=5)


# One emulator per name for the whole module (stopping one costs ~50 ms), reset before each test.
@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, OpenAIEmulator]]:
    with OpenAIEmulator(api_key=API_KEY, reply="from A") as a, \
            OpenAIEmulator(api_key=API_KEY, reply="from B") as b, \
            OpenAIEmulator(api_key=API_KEY, reply="from C") as c:
        yield {"A": a, "B": b, "C": c}


def _fresh(server: OpenAIEmulator) -> OpenAIEmulator:
    server.faults = Faults()
    server.models = list(DEFAULT_MODELS)
    server.reset_counters()
    return server


@pytest.fixture
def a(servers: dict[str, OpenAIEmulator]) -> OpenAIEmulator:
    return _fresh(servers["A"])


@pytest.fixture
def b(servers: dict[str, OpenAIEmulator]) -> OpenAIEmulator:
    return _fresh(servers["B"])


@pytest.fixture
def c(servers: dict[str, OpenAIEmulator]) -> OpenAIEmulator:
    return _fresh(servers["C"])


def member(server: OpenAIEmulator, sleeps: Any, **settings: Any) -> OpenaiTemplate:
    settings = {"api_key": API_KEY, "max_retries": 0, "timeout": FAST, **settings}
    return OpenaiTemplate(base_url=server.base_url, sleep=sleeps, **settings)


def text_of(chunks: list[Chunk]) -> str:
    return "".join(p for p in chunks if isinstance(p, str))


def fail_with_500(server: OpenAIEmulator) -> None:
    server.faults.error_status = 500
    server.faults.error_first = 100


# ------------------------------------------------------------------------------ falling through
@pytest.mark.parametrize("fault, stream", [
    (fault, stream) for fault in ("500", "401", "html") for stream in (True, False)
] + [("drop_before_text", True)])  # the drop switch applies to streams
def test_falls_through_while_nothing_was_yielded(a, b, sleeps, fault, stream) -> None:
    attempts = 1
    settings: dict[str, Any] = {}
    if fault == "500":
        fail_with_500(a)
        settings["max_retries"], attempts = 1, 2  # its own retries run first: 2 attempts
    elif fault == "401":
        settings["api_key"] = "sk-wrong-key-000000000000"
    elif fault == "html":
        a.faults.html_challenge = True
    else:
        a.faults.drop_after = 1  # the role-only delta, then the connection dies: no text yet
    first, second = member(a, sleeps, **settings), member(b, sleeps)
    retry = RetryProvider([first, second])
    result = retry.create_completion("gpt-4o-mini", USER, stream=stream)
    chunks = list(result)
    assert text_of(chunks) == "from B"
    assert sum(isinstance(p, FinishReason) for p in chunks) == 1
    assert a.chat_requests == attempts
    assert b.chat_requests == 1
    assert isinstance(result, RetryStream)
    assert result.provider == retry.provider_names[1]
    expected = {"500": InternalServerError, "401": AuthenticationError, "html": BlockedError,
                "drop_before_text": APIConnectionError}[fault]
    assert [(name, type(exc)) for name, exc in result.errors] == [(retry.provider_names[0], expected)]


def test_first_provider_answering_means_the_others_are_never_called(a, b, sleeps) -> None:
    retry = RetryProvider([member(a, sleeps), member(b, sleeps)])
    assert retry.create_completion("gpt-4o-mini", USER, stream=True).text() == "from A"
    assert (a.chat_requests, b.chat_requests) == (1, 0)


@pytest.mark.parametrize("fault", ["drop", "inband"])
def test_error_after_the_first_piece_propagates_without_fallback(a, b, sleeps, fault) -> None:
    messages = USER
    if fault == "drop":
        a.faults.drop_after = 2  # role delta + "from", then the connection dies
    else:
        messages = [{"role": "user", "content": "INBAND_ERROR"}]
    retry = RetryProvider([member(a, sleeps), member(b, sleeps)])
    seen: list[Chunk] = []
    with pytest.raises(ChatGPTSyncError) as info:
        for piece in retry.create_completion("gpt-4o-mini", messages, stream=True):
            seen.append(piece)
    expected = APIConnectionError if fault == "drop" else ResponseError
    assert isinstance(info.value, expected) and not isinstance(info.value, AllProvidersFailedError)
    assert text_of(seen) == info.value.partial_text != ""
    assert info.value.partial_text == ("from" if fault == "drop" else "from A")
    assert b.chat_requests == 0


def test_all_fail_raises_one_error_naming_each(a, b, c, sleeps) -> None:
    fail_with_500(a)
    b.faults.html_challenge = True
    members = [member(a, sleeps), member(b, sleeps), member(c, sleeps, api_key="sk-wrong-key-000000000000")]
    retry = RetryProvider(members)
    with pytest.raises(AllProvidersFailedError) as info:
        list(retry.create_completion("gpt-4o-mini", USER, stream=True))
    err = info.value
    assert isinstance(err, ChatGPTSyncError)
    assert [name for name, _ in err.errors] == retry.provider_names
    assert len(set(retry.provider_names)) == 3  # same class, told apart by address
    assert [type(exc) for _, exc in err.errors] == [InternalServerError, BlockedError, AuthenticationError]
    for name, exc in err.errors:
        assert name in str(err) and type(exc).__name__ in str(err)
    assert (a.chat_requests, b.chat_requests, c.chat_requests) == (1, 1, 1)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="except* is Python 3.11+")
def test_all_failed_is_an_exception_group(a, b, sleeps) -> None:
    fail_with_500(a)
    retry = RetryProvider([member(a, sleeps), member(b, sleeps, api_key="sk-wrong-key-000000000000")])
    caught: list[type[BaseException]] = []
    try:
        list(retry.create_completion("gpt-4o-mini", USER))
    except* InternalServerError as group:
        caught += [type(e) for e in group.exceptions]
    except* AuthenticationError as group:
        caught += [type(e) for e in group.exceptions]
    assert caught == [InternalServerError, AuthenticationError]


def test_all_failed_error_pickles_with_its_list() -> None:
    err = AllProvidersFailedError([("A", MissingAuthError("no key")), ("B", APIConnectionError("refused"))])
    copy = pickle.loads(pickle.dumps(err))
    assert [(n, type(e), str(e)) for n, e in copy.errors] == [
        ("A", MissingAuthError, "no key"), ("B", APIConnectionError, "refused")]
    assert str(copy) == str(err) and "A: MissingAuthError: no key" in str(err)


# ------------------------------------------------------------------------------ models
@pytest.mark.parametrize("stream", [True, False])
def test_per_provider_models_reach_each_server(a, b, sleeps, stream) -> None:
    fail_with_500(a)
    first, second = member(a, sleeps), member(b, sleeps)
    retry = RetryProvider([first, second], models={first: "gpt-4o", second: "deepseek-reasoner"})
    chunks = list(retry.create_completion("whatever", USER, stream=stream))
    assert a.requests[-1].json()["model"] == "gpt-4o"
    assert b.requests[-1].json()["model"] == "deepseek-reasoner"
    kinds = [type(p) for p in chunks]
    assert Reasoning in kinds and kinds.index(Reasoning) < kinds.index(str)  # B's reasoning model answered
    assert text_of(chunks) == "from B"


def test_model_table_translates_and_each_provider_resolves_its_aliases(a, b, sleeps) -> None:
    class Aliased(OpenaiTemplate):
        model_aliases = {"fast": "gpt-4o-mini"}

    first = member(a, sleeps)
    second = Aliased(base_url=b.base_url, api_key=API_KEY, max_retries=0, sleep=sleeps)
    retry = RetryProvider([first, second], models={"OpenaiTemplate": {"fast": "gpt-4o"}})
    fail_with_500(a)
    assert text_of(list(retry.create_completion("fast", USER))) == "from B"
    assert a.requests[-1].json()["model"] == "gpt-4o"  # from the table, keyed by class name
    assert b.requests[-1].json()["model"] == "gpt-4o-mini"  # no entry: Aliased.get_model mapped it
    # An unknown model is a 404 on A: a member-specific failure, so B is asked.
    a.faults.error_first = 0
    retry = RetryProvider([first, member(b, sleeps)], models={first: "no-such-model"})
    assert text_of(list(retry.create_completion("gpt-4o-mini", USER))) == "from B"
    assert isinstance(a.requests[-1].json(), dict) and a.requests[-1].json()["model"] == "no-such-model"


def test_models_mapping_keys_must_name_a_member(a, sleeps) -> None:
    with pytest.raises(InvalidRequestError, match="none of the providers"):
        RetryProvider([member(a, sleeps)], models={"ChatGpt": "auto"})
    with pytest.raises(InvalidRequestError, match="model name"):
        RetryProvider([member(a, sleeps)], models={"OpenaiTemplate": 4})


# ------------------------------------------------------------------------------ classes, names, lifetime
def preset(server: OpenAIEmulator) -> type[OpenaiTemplate]:
    return type("Preset", (OpenaiTemplate,), {"default_base_url": server.base_url})


@pytest.mark.parametrize("stream", [True, False])
def test_classes_and_registry_names_as_members(a, b, sleeps, stream) -> None:
    # "OpenaiTemplate" has no base_url: it refuses before sending, and the next member answers.
    retry = RetryProvider(["OpenaiTemplate", preset(b)])
    result = retry.create_completion("gpt-4o-mini", USER, stream=stream, api_key=API_KEY, sleep=sleeps)
    assert text_of(list(result)) == "from B"
    assert isinstance(result, RetryStream)
    assert [type(e) for _, e in result.errors] == [InvalidRequestError]
    assert b.chat_requests == 1


def test_close_releases_owned_members_only(sleeps) -> None:
    # Fresh servers: connections left in other tests' pools would blur the count.
    with OpenAIEmulator(api_key=API_KEY, reply="from A") as a, \
            OpenAIEmulator(api_key=API_KEY, reply="from B") as b:
        borrowed = member(b, sleeps)
        retry = RetryProvider([preset(a), borrowed])
        assert retry.create_completion("gpt-4o-mini", USER, api_key=API_KEY).text() == "from A"
        assert borrowed.create_completion("gpt-4o-mini", USER).text() == "from B"
        assert a.connections_open == 1 and b.connections_open == 1  # pooled, kept alive
        retry.close()
        assert wait_until(lambda: a.connections_open == 0)
        assert b.connections_open == 1  # the borrowed instance is the caller's to close
        borrowed.close()


def test_calling_on_the_class_explains_the_list_is_needed() -> None:
    with pytest.raises(InvalidRequestError, match="needs a list of providers"):
        RetryProvider.create_completion("gpt-4o-mini", USER)
    with pytest.raises(InvalidRequestError):
        RetryProvider([])


# ------------------------------------------------------------------------------ bad input
def test_bad_input_fails_once_before_any_request(a, b, sleeps) -> None:
    retry = RetryProvider([member(a, sleeps), member(b, sleeps)])
    with pytest.raises(UnknownParameterError, match="temperature"):
        retry.create_completion("gpt-4o-mini", USER, temprature=0.2)
    with pytest.raises(InvalidRequestError, match="messages"):
        retry.create_completion("gpt-4o-mini", [{"role": "usr", "content": "x"}])
    with pytest.raises(InvalidRequestError, match="timeout"):
        retry.create_completion("gpt-4o-mini", USER, timeout=-1)
    assert a.chat_requests == b.chat_requests == 0


def test_a_keyword_some_members_lack_skips_them(b, sleeps) -> None:
    # ChatGpt takes no temperature=; it is skipped (never asked), not sent a request without it.
    web = ChatGpt(base_url="http://127.0.0.1:9", max_retries=0)
    retry = RetryProvider([web, member(b, sleeps)])
    result = retry.create_completion("gpt-4o-mini", USER, temperature=0.5)
    assert result.text() == "from B"
    assert b.requests[-1].json()["temperature"] == 0.5
    assert isinstance(result, RetryStream)
    [(name, skipped)] = result.errors
    assert name == "ChatGpt" and isinstance(skipped, UnknownParameterError) and "temperature" in str(skipped)
    # No member takes both: the call is refused up front, naming who lacks what.
    with pytest.raises(UnknownParameterError, match="no provider accepts") as info:
        retry.create_completion("gpt-4o-mini", USER, temperature=0.5, conversation=Conversation("c", "m"))
    assert "ChatGpt does not accept temperature" in str(info.value)
    assert b.chat_requests == 1


# ------------------------------------------------------------------------------ what counts as yielded
class Scripted(Provider):
    """A provider that plays a script: objects are yielded, exceptions raised."""

    working = True

    def __init__(self, script: list[Any], log: list[str], name: str, **settings: Any) -> None:
        super().__init__(**settings)
        self.script, self.log, self.name = script, log, name

    def _start(self, model: str, messages: list[dict[str, Any]], stream: bool, call: CallSettings,
               params: dict[str, Any]) -> Generator[Chunk, None, None]:
        return self._play()

    def _play(self) -> Generator[Chunk, None, None]:
        self.log.append(f"{self.name} open")
        try:
            for item in self.script:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.log.append(f"{self.name} closed")


def scripted(*scripts: list[Any]) -> tuple[RetryProvider, list[str]]:
    log: list[str] = []
    names = "ABC"
    return RetryProvider([Scripted(s, log, names[i]) for i, s in enumerate(scripts)]), log


def test_objects_before_the_first_text_are_held_back_and_dropped_on_failure() -> None:
    retry, log = scripted([Conversation("from-A", "m"), APIConnectionError("reset")],
                          [Conversation("from-B", "m"), "hi", FinishReason("stop")])
    chunks = list(retry.create_completion("m", USER, stream=True))
    assert chunks == [Conversation("from-B", "m"), "hi", FinishReason("stop")]
    assert log == ["A open", "A closed", "B open", "B closed"]  # A released before B opened


def test_reasoning_is_part_of_the_answer_so_it_commits() -> None:
    retry, log = scripted([Reasoning("thinking"), APIConnectionError("reset")], ["never"])
    seen: list[Chunk] = []
    with pytest.raises(APIConnectionError):
        for piece in retry.create_completion("m", USER, stream=True):
            seen.append(piece)
    assert seen == [Reasoning("thinking")]
    assert "B open" not in log


@pytest.mark.parametrize("script, answered", [
    ([], False),                                      # nothing at all: a broken member
    ([FinishReason(None)], False),                    # stopped before any answer
    ([FinishReason("content_filter")], True),         # the backend's answer, even without text
])
def test_a_stream_that_ends_without_text(script, answered) -> None:
    retry, _ = scripted(script, ["fallback", FinishReason("stop")])
    result = retry.create_completion("m", USER)
    chunks = list(result)
    assert isinstance(result, RetryStream)
    if answered:
        assert chunks == script and result.provider == "Scripted#1"
    else:
        assert chunks == ["fallback", FinishReason("stop")] and result.provider == "Scripted#2"
        assert isinstance(result.errors[0][1], ResponseError)


def test_progress_is_attached_when_the_member_did_not() -> None:
    conversation = Conversation("conv", "msg")
    retry, _ = scripted([conversation, "a", "b", APIConnectionError("reset")], ["never"])
    with pytest.raises(APIConnectionError) as info:
        list(retry.create_completion("m", USER, stream=True))
    assert info.value.partial_text == "ab"
    assert info.value.conversation == conversation


def test_breaking_early_closes_the_member_stream() -> None:
    retry, log = scripted([APIConnectionError("down")], ["one", "two", FinishReason("stop")])
    with retry.create_completion("m", USER, stream=True) as result:
        assert next(result) == "one"
    assert log == ["A open", "A closed", "B open", "B closed"]


def test_a_retry_provider_can_be_a_member(a, b, sleeps) -> None:
    fail_with_500(a)
    inner = RetryProvider([member(a, sleeps)])
    retry = RetryProvider([inner, member(b, sleeps)])
    assert retry.create_completion("gpt-4o-mini", USER, temperature=0).text() == "from B"
    assert (a.chat_requests, b.chat_requests) == (1, 1)


# ------------------------------------------------------------------------------ Client, shuffle, threads, logs
@pytest.mark.parametrize("stream", [True, False])
def test_via_client(a, b, sleeps, stream) -> None:
    fail_with_500(a)
    client = Client(provider=RetryProvider([member(a, sleeps), member(b, sleeps)]))
    if stream:
        chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True))
        assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "from B"
    else:
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=USER)
        assert answer.choices[0].message.content == "from B"
        assert answer.choices[0].finish_reason == "stop"
    assert (a.chat_requests, b.chat_requests) == (1, 1)
    a.faults.error_first = 0
    b.models = ["only-on-b", "gpt-4o"]
    ids = [m.id for m in client.models.list()]
    assert ids[-1] == "only-on-b" and ids.count("gpt-4o") == 1


def test_client_all_failed_raises_from_create(a, b, sleeps) -> None:
    fail_with_500(a)
    fail_with_500(b)
    client = Client(provider=RetryProvider([member(a, sleeps), member(b, sleeps)]))
    with pytest.raises(AllProvidersFailedError):
        client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)


def test_shuffle_uses_the_seeded_rng_per_call(a, b, c, sleeps) -> None:
    servers = [a, b, c]
    retry = RetryProvider([member(s, sleeps) for s in servers], shuffle=True, random=Random(1234))
    twin = Random(1234)
    expected = []
    for _ in range(9):
        order = [0, 1, 2]  # each call shuffles the configured order afresh
        twin.shuffle(order)
        expected.append(order[0])
    answers = [retry.create_completion("gpt-4o-mini", USER).text() for _ in range(9)]
    assert answers == [f"from {'ABC'[i]}" for i in expected]
    assert len(set(expected)) > 1  # the seed really varies the first choice
    assert [s.chat_requests for s in servers] == [expected.count(i) for i in range(3)]
    # Without shuffle the order is the configured one.
    fixed = RetryProvider([member(s, sleeps) for s in servers])
    assert {fixed.create_completion("gpt-4o-mini", USER).text() for _ in range(3)} == {"from A"}


def test_shared_between_threads(a, b, sleeps) -> None:
    fail_with_500(a)
    retry = RetryProvider([member(a, sleeps), member(b, sleeps)])
    results: list[str] = []
    lock = threading.Lock()

    def ask() -> None:
        text = retry.create_completion("gpt-4o-mini", USER, stream=True).text()
        with lock:
            results.append(text)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == ["from B"] * 8
    assert (a.chat_requests, b.chat_requests) == (8, 8)


def test_logs_which_provider_answered(a, b, sleeps, caplog) -> None:
    fail_with_500(a)
    retry = RetryProvider([member(a, sleeps), member(b, sleeps)])
    with caplog.at_level(logging.INFO, logger="chatgpt_sync"):
        retry.create_completion("gpt-4o-mini", USER).text()
    messages = [r.getMessage() for r in caplog.records if r.name == "chatgpt_sync"]
    first, second = retry.provider_names
    assert any(first in m and "failed" in m and "InternalServerError" in m for m in messages)
    assert any(m.startswith(f"RetryProvider: {second} answered") for m in messages)


def test_not_found_on_one_server_is_a_fallthrough(a, b, sleeps) -> None:
    a.models = ["something-else"]
    retry = RetryProvider([member(a, sleeps), member(b, sleeps)])
    result = retry.create_completion("gpt-4o-mini", USER)
    assert result.text() == "from B"
    assert isinstance(result, RetryStream) and isinstance(result.errors[0][1], NotFoundError)
