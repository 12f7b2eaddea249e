"""The retry policy: what is retried, how long it waits, and that only the opening step is retried."""

from __future__ import annotations

import email.utils

import pytest

from chatgpt_sync._retry import backoff_seconds, call_with_retry, is_retryable, parse_retry_after
from chatgpt_sync.errors import (
    APIConnectionError, APIStatusError, APITimeoutError, BlockedError, ResponseError, status_error_class,
)


def status(code: int, headers: dict[str, str] | None = None) -> APIStatusError:
    return status_error_class(code)(f"HTTP {code}", status_code=code, headers=headers or {})


NOW = 1_700_000_000.0


@pytest.mark.parametrize("headers, expected", [
    ({}, None),
    ({"retry-after": "3"}, 3.0),
    ({"Retry-After": "2.5"}, 2.5),
    ({"retry-after-ms": "1500"}, 1.5),
    ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # the precise header wins
    ({"retry-after-ms": "junk", "retry-after": "4"}, 4.0),
    ({"retry-after": "-1"}, None),
    ({"retry-after": "soon"}, None),
    ({"retry-after": email.utils.formatdate(NOW + 7, usegmt=True)}, 7.0),
    ({"retry-after": email.utils.formatdate(NOW - 30, usegmt=True)}, 0.0),
])
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == expected


@pytest.mark.parametrize("exc, retryable", [
    (APIConnectionError("reset"), True),
    (APITimeoutError("slow"), True),
    (status(408), True),
    (status(429), True),
    (status(500), True),
    (status(502), True),
    (status(503), True),
    (status(400), False),
    (status(401), False),
    (status(403), False),
    (status(404), False),
    (status(422), False),
    (BlockedError("wall"), False),
    (ResponseError("bad body"), False),
    (ValueError("bug"), False),
])
def test_is_retryable(exc: BaseException, retryable: bool) -> None:
    assert is_retryable(exc) is retryable


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    assert backoff_seconds(1, rng=lambda: 0.0) == 0.5
    assert backoff_seconds(2, rng=lambda: 0.0) == 1.0
    assert backoff_seconds(3, rng=lambda: 1.0) == pytest.approx(2.0 * 0.75)
    assert backoff_seconds(20, rng=lambda: 0.0) == 8.0


class Flaky:
    """Fails with the given errors in order, then returns "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_retries_then_succeeds_honouring_retry_after(sleeps) -> None:
    fn = Flaky(status(429, {"retry-after": "2"}), status(503, {"retry-after-ms": "100"}))
    assert call_with_retry(fn, max_retries=2, sleep=sleeps) == "ok"
    assert fn.calls == 3
    assert sleeps.calls == [2.0, 0.1]


def test_retry_after_is_capped_at_60_seconds(sleeps) -> None:
    fn = Flaky(status(429, {"retry-after": "3600"}))
    assert call_with_retry(fn, max_retries=1, sleep=sleeps) == "ok"
    assert sleeps.calls == [60.0]


def test_backoff_without_hint(sleeps) -> None:
    fn = Flaky(APIConnectionError("x"), APITimeoutError("y"))
    call_with_retry(fn, max_retries=2, sleep=sleeps)
    assert len(sleeps.calls) == 2
    assert 0.375 <= sleeps.calls[0] <= 0.5 and 0.75 <= sleeps.calls[1] <= 1.0


def test_gives_up_after_max_retries_and_raises_the_last_error(sleeps) -> None:
    fn = Flaky(status(500), status(502), status(503), status(504))
    with pytest.raises(APIStatusError) as info:
        call_with_retry(fn, max_retries=2, sleep=sleeps)
    assert info.value.status_code == 503
    assert fn.calls == 3


@pytest.mark.parametrize("code", [400, 401, 403, 404])
def test_client_errors_are_never_retried(code: int, sleeps) -> None:
    fn = Flaky(status(code))
    with pytest.raises(APIStatusError):
        call_with_retry(fn, max_retries=5, sleep=sleeps)
    assert fn.calls == 1 and sleeps.calls == []


def test_max_retries_zero_means_one_attempt(sleeps) -> None:
    fn = Flaky(status(500))
    with pytest.raises(APIStatusError):
        call_with_retry(fn, max_retries=0, sleep=sleeps)
    assert fn.calls == 1


def test_tenacity_is_not_imported_with_the_package() -> None:
    import subprocess
    import sys
    code = "import sys, chatgpt_sync; from chatgpt_sync import OpenaiTemplate; print('tenacity' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
