"""Providers and Client across processes: pickling, spawn, process pools, fork, Dask.

A pickle carries the settings (credentials included) and never a connection; after ``fork`` the child
opens its own connections (the emulator counts them) and the parent's pooled one keeps working.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import pickle
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from chatgpt_sync import ChatGpt, Client, OpenaiChat, OpenaiTemplate, RetryProvider, Timeout
from chatgpt_sync.providers import provider_classes
from chatgpt_sync.testing.chatgpt_web import ChatGptWebEmulator
from chatgpt_sync.testing.openai_api import OpenAIEmulator
from chatgpt_sync.testing.openai_chat import OpenaiChatEmulator

from conftest import API_KEY, USER

TIMEOUT = Timeout(connect=2, read=5, stream_idle=5)
JOIN = 20.0  # seconds: no test waits on a child longer than this
SECRET = "sk-secret-0123456789abcdef"
ECHO = "Echo: hello world"
WEB_REPLY = "You said: hello world. Turn 1."

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")


def _ask(provider: Any) -> str:
    """What a child process does with the provider it was given (module level: spawn imports it)."""
    return str(provider.create_completion("gpt-4o-mini", USER).text())


def _ask_into(provider: Any, results: Any) -> None:
    results.put(_ask(provider))


def _instance(cls: Any) -> Any:
    if cls is RetryProvider:
        return RetryProvider([OpenaiTemplate(base_url="http://127.0.0.1:9/v1", api_key=SECRET, timeout=3),
                              ChatGpt(timeout=4)], shuffle=True, random=7)
    settings: dict[str, Any] = {"timeout": TIMEOUT, "max_retries": 1, "headers": {"X-Test": "1"},
                                "proxy": "http://user:pw@127.0.0.1:9"}
    if cls.takes_api_key:
        settings["api_key"] = SECRET
    return cls(**settings)


# ------------------------------------------------------------------------------------ pickle
@pytest.mark.parametrize("cls", provider_classes(), ids=lambda cls: cls.__name__)
def test_every_provider_pickles_with_its_settings_and_without_connections(cls: Any) -> None:
    provider = _instance(cls)
    members = provider.providers if cls is RetryProvider else [provider]
    for member in members:
        member.core(member._base)  # a pool in the original: it must not travel
    copy = pickle.loads(pickle.dumps(provider))
    assert type(copy) is cls
    assert copy._base == provider._base and copy._settings == provider._settings
    copied = copy.providers if cls is RetryProvider else [copy]
    assert [type(m) for m in copied] == [type(m) for m in members]
    for original, clone in zip(members, copied):
        assert clone._base == original._base  # api_key, timeout, headers, proxy, sleep
        assert clone._cores == {} and original._cores
        assert clone._lock is not original._lock and not clone._lock.locked()
        assert SECRET not in repr(clone) and "pw@" not in repr(clone)
    if cls is RetryProvider:
        assert copy.provider_names == provider.provider_names and copy.shuffle
        assert copy._random.getstate() == provider._random.getstate()
    provider.close()


def test_a_retry_provider_and_its_members_stay_shared_in_one_pickle() -> None:
    member = OpenaiTemplate(base_url="http://127.0.0.1:9/v1", api_key=SECRET)
    retry = RetryProvider([member, ChatGpt])
    retry_copy, member_copy = pickle.loads(pickle.dumps((retry, member)))
    assert retry_copy.providers[0] is member_copy
    assert retry_copy._members[0].owned is False and retry_copy._members[1].owned is True


def test_client_and_its_views_pickle() -> None:
    client = Client(base_url="http://127.0.0.1:9/v1", api_key=SECRET, timeout=7, max_retries=1)
    view = client.with_options(timeout=3, default_headers={"X-View": "1"})
    for original in (client, view):
        copy = pickle.loads(pickle.dumps(original))
        assert copy._call_settings == original._call_settings
        assert copy.api_key == SECRET and copy.base_url == original.base_url
        assert copy.timeout == original.timeout and copy.max_retries == 1
        assert copy.chat.completions._client is copy and copy.models._client is copy
        assert copy._owns_provider is original._owns_provider
        assert SECRET not in repr(copy)
        assert copy.provider._cores == {}
    client.close()


def test_a_pickled_client_answers(openai_server: OpenAIEmulator) -> None:
    with Client(base_url=openai_server.base_url, api_key=API_KEY, timeout=TIMEOUT) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=USER)
        copy = pickle.loads(pickle.dumps(client.with_options(max_retries=0)))
        answer = copy.chat.completions.create(model="gpt-4o-mini", messages=USER)
        assert answer.choices[0].message.content == ECHO
        copy.provider.close()


def test_open_chat_credentials_travel_without_locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHATGPT_ACCESS_TOKEN", raising=False)
    with OpenaiChatEmulator() as server:
        provider = OpenaiChat(base_url=server.base_url, api_key=server.access_token(), timeout=TIMEOUT,
                              auth_file=str(tmp_path / "auth.json"))
        assert provider.create_completion("auto", USER).text() == WEB_REPLY
        copy = pickle.loads(pickle.dumps(provider))
        (original,), (account,) = provider._state.accounts.values(), copy._state.accounts.values()
        assert account.auth == original.auth and account.lock is not original.lock
        assert copy.create_completion("auto", USER).text() == WEB_REPLY
        provider.close()
        copy.close()


# ------------------------------------------------------------------------------------ other processes
def test_a_pickled_provider_answers_in_a_spawned_process(openai_server: OpenAIEmulator) -> None:
    provider = OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY, timeout=TIMEOUT)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_ask_into, args=(provider, results))
    child.start()
    try:
        assert results.get(timeout=JOIN) == ECHO
    finally:
        child.join(JOIN)
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0


@pytest.mark.parametrize("method", [m for m in ("spawn", "fork") if m in multiprocessing.get_all_start_methods()])
def test_a_process_pool_answers(openai_server: OpenAIEmulator, method: str) -> None:
    context = multiprocessing.get_context(method)
    with OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY, timeout=TIMEOUT) as provider:
        assert _ask(provider) == ECHO  # the parent holds a pooled connection while the workers start
        with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
            futures = [pool.submit(_ask, provider) for _ in range(4)]
            assert [f.result(timeout=JOIN) for f in futures] == [ECHO] * 4
        assert _ask(provider) == ECHO


# ------------------------------------------------------------------------------------ fork
def _forked(work: Callable[[], bool]) -> int:
    """Run ``work`` in a forked child; its exit status: 0 when it returned True."""
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            code = 0 if work() else 2
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    deadline = time.monotonic() + JOIN
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child did not finish")
        time.sleep(0.01)


def _fork_round(server: Any, provider: Any, ask: Callable[[], str], expected: str) -> None:
    assert ask() == expected
    before = server.connections_opened
    assert before >= 1
    assert _forked(lambda: ask() == expected and ask() == expected) == 0
    assert server.connections_opened > before  # the child opened its own connection
    after_child = server.connections_opened
    assert ask() == expected  # the parent's pooled connection still works...
    assert server.connections_opened == after_child  # ...and was reused, not replaced


@needs_fork
def test_fork_openai_template(openai_server: OpenAIEmulator) -> None:
    with OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY, timeout=TIMEOUT) as provider:
        _fork_round(openai_server, provider, lambda: _ask(provider), ECHO)


@needs_fork
def test_fork_client(openai_server: OpenAIEmulator) -> None:
    with Client(base_url=openai_server.base_url, api_key=API_KEY, timeout=TIMEOUT) as client:
        def ask() -> str:
            answer = client.chat.completions.create(model="gpt-4o-mini", messages=USER)
            return str(answer.choices[0].message.content)
        _fork_round(openai_server, client.provider, ask, ECHO)


@needs_fork
def test_fork_chatgpt() -> None:
    with ChatGptWebEmulator() as server, ChatGpt(base_url=server.base_url, timeout=TIMEOUT) as provider:
        _fork_round(server, provider, lambda: str(provider.create_completion("auto", USER).text()), WEB_REPLY)


@needs_fork
def test_fork_openai_chat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHATGPT_ACCESS_TOKEN", raising=False)
    with OpenaiChatEmulator() as server:
        with OpenaiChat(base_url=server.base_url, api_key=server.access_token(), timeout=TIMEOUT,
                        auth_file=str(tmp_path / "auth.json")) as provider:
            _fork_round(server, provider, lambda: str(provider.create_completion("auto", USER).text()),
                        WEB_REPLY)


@needs_fork
def test_fork_while_another_thread_holds_the_lock(openai_server: OpenAIEmulator) -> None:
    """A lock held by a parent's thread at the fork is never released in the child: it is replaced."""
    with OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY, timeout=TIMEOUT) as provider:
        assert _ask(provider) == ECHO
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with provider._lock:
                held.set()
                release.wait(JOIN)

        thread = threading.Thread(target=hold)
        thread.start()
        try:
            assert held.wait(JOIN)
            assert _forked(lambda: (provider.close(), _ask(provider))[1] == ECHO) == 0
        finally:
            release.set()
            thread.join(JOIN)
        assert _ask(provider) == ECHO


# ------------------------------------------------------------------------------------ Dask
@pytest.fixture
def dask_cluster() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


def test_a_dask_worker_answers(dask_cluster: Any, openai_server: OpenAIEmulator) -> None:
    provider = OpenaiTemplate(base_url=openai_server.base_url, api_key=API_KEY, timeout=TIMEOUT)
    future = dask_cluster.submit(lambda p: p.create_completion("gpt-4o-mini", USER).text(), provider)
    assert future.result(timeout=JOIN) == ECHO
