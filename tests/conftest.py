"""Shared fixtures: loopback emulators and a sleep recorder so retry tests never wait."""

from __future__ import annotations

import time
from typing import Callable, Iterator

import pytest

from chatgpt_sync.testing.openai_api import OpenAIEmulator

API_KEY = "sk-test-0123456789abcdef"


class SleepRecorder:
    """Stands in for time.sleep: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def openai_server() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator(api_key=API_KEY) as server:
        yield server


def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Poll ``predicate`` until it holds (servers notice a closed socket asynchronously)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


USER = [{"role": "user", "content": "hello world"}]
