"""Errors say what happened and what to do, in the user's terms (found by trying it as a new user)."""

from __future__ import annotations

import socket

import pytest

from chatgpt_sync import OpenaiTemplate
from chatgpt_sync.errors import APIConnectionError, APITimeoutError, InternalServerError, NotFoundError

from conftest import USER


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_refused_connection_names_the_address() -> None:
    port = _free_port()
    with pytest.raises(APIConnectionError) as info:
        OpenaiTemplate(base_url=f"http://127.0.0.1:{port}/v1", max_retries=0).create_completion("m", USER).text()
    assert f"could not connect to 127.0.0.1:{port}" in str(info.value)
    assert "Max retries exceeded" not in str(info.value)  # urllib3's own retries are off; don't talk of them


def test_a_dropped_stream_says_the_answer_was_cut(openai_server) -> None:
    openai_server.faults.drop_after = 3
    with pytest.raises(APIConnectionError, match="closed the connection before the answer was complete") as info:
        OpenaiTemplate(base_url=openai_server.base_url, api_key="sk-test-0123456789abcdef",
                       max_retries=0).create_completion("gpt-4o-mini", USER, stream=True).text()
    assert "IncompleteRead" not in str(info.value)


def test_an_idle_stream_names_the_limit_and_the_setting(openai_server) -> None:
    openai_server.faults.stall_after = 2
    openai_server.faults.stall_seconds = 2
    with pytest.raises(APITimeoutError, match=r"nothing for 0.4 s .*stream_idle.*timeout="):
        OpenaiTemplate(base_url=openai_server.base_url, api_key="sk-test-0123456789abcdef", max_retries=0,
                       timeout=0.4).create_completion("gpt-4o-mini", USER, stream=True).text()


def test_a_404_without_v1_asks_about_the_base_url(openai_server) -> None:
    with pytest.raises(NotFoundError, match="does base_url end in /v1"):
        OpenaiTemplate(base_url=openai_server.origin, api_key="sk-test-0123456789abcdef",
                       max_retries=0).create_completion("gpt-4o-mini", USER).text()


def test_a_5xx_does_not_claim_it_was_retried_when_it_was_not(openai_server) -> None:
    openai_server.faults.error_first = 1
    with pytest.raises(InternalServerError) as info:
        OpenaiTemplate(base_url=openai_server.base_url, api_key="sk-test-0123456789abcdef",
                       max_retries=0).create_completion("gpt-4o-mini", USER).text()
    assert "retried" not in str(info.value) and "try again later" in str(info.value)
    assert len(openai_server.requests) == 1
