"""Streams release their connection on completion, break, exception and garbage collection,
and a completed stream's connection goes back to the pool (counted on the emulator)."""

from __future__ import annotations

import gc

import pytest

from chatgpt_sync import OpenaiTemplate
from chatgpt_sync.errors import ResponseError
from chatgpt_sync.testing.openai_api import OpenAIEmulator

from conftest import USER, wait_until


@pytest.fixture
def long_server():
    with OpenAIEmulator(stream_tokens=2000) as server:  # far more than one socket buffer
        yield server


def test_completed_streams_reuse_one_connection(long_server) -> None:
    provider = OpenaiTemplate(base_url=long_server.base_url)
    for _ in range(20):
        assert provider.create_completion("gpt-4o-mini", USER, stream=True).text().startswith(" tok0 tok1")
    assert long_server.connections_opened == 1
    provider.close()
    assert wait_until(lambda: long_server.connections_open == 0)


def test_break_inside_with_releases_the_connection(long_server) -> None:
    provider = OpenaiTemplate(base_url=long_server.base_url)
    with provider.create_completion("gpt-4o-mini", USER, stream=True) as stream:
        for piece in stream:
            break
    # the half-read connection cannot be reused: it is closed, not leaked
    assert wait_until(lambda: long_server.connections_open == 0)


def test_abandoned_stream_is_released_by_garbage_collection(long_server) -> None:
    provider = OpenaiTemplate(base_url=long_server.base_url)
    stream = provider.create_completion("gpt-4o-mini", USER, stream=True)
    next(iter(stream))
    assert long_server.connections_open == 1
    del stream
    gc.collect()
    assert wait_until(lambda: long_server.connections_open == 0)


def test_error_mid_stream_releases_the_connection(long_server) -> None:
    provider = OpenaiTemplate(base_url=long_server.base_url)
    with pytest.raises(ResponseError):
        list(provider.create_completion("gpt-4o-mini", [{"role": "user", "content": "INBAND_ERROR"}],
                                        stream=True))
    assert wait_until(lambda: long_server.connections_open <= 1)
    # and the provider still works afterwards
    assert provider.create_completion("gpt-4o-mini", USER, stream=True).text()


def test_class_level_calls_do_not_leak_sockets(long_server) -> None:
    for _ in range(30):
        OpenaiTemplate.create_completion("gpt-4o-mini", USER, stream=True, base_url=long_server.base_url).text()
    assert wait_until(lambda: long_server.connections_open == 0)
    assert long_server.connections_opened == 30


def test_threads_share_one_provider(long_server) -> None:
    from concurrent.futures import ThreadPoolExecutor
    provider = OpenaiTemplate(base_url=long_server.base_url)

    def call(_: int) -> str:
        return provider.create_completion("gpt-4o-mini", USER, stream=True).text()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(40)))
    assert len(set(results)) == 1
    assert long_server.connections_opened <= 8
