"""The retry policy, in one place, built from tenacity pieces (DESIGN.md rule 2).

Only the step that *opens* a request (send + status check) is retried; a stream that has started is
never retried. Retried: connection errors, timeouts, 408, 429 and >= 500. Never: 400/401/403/404,
anti-bot walls, certificate errors and malformed URLs (they cannot heal). The server's
``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date) is honoured up to ``MAX_RETRY_AFTER``;
otherwise exponential backoff with jitter. ``sleep`` is injectable so tests do not wait.

tenacity is imported on first use, not at package import (it costs ~12 ms of import time).
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from typing import Any, Callable, Mapping, TypeVar

from .errors import APIConnectionError, APIStatusError, APITimeoutError, CertificateError, InvalidRequestError

__all__ = ["call_with_retry", "is_retryable", "parse_retry_after", "DEFAULT_MAX_RETRIES"]

T = TypeVar("T")
log = logging.getLogger("chatgpt_sync")

DEFAULT_MAX_RETRIES = 2
MAX_RETRY_AFTER = 60.0
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
RETRY_STATUSES = frozenset({408, 429})


def is_retryable(exc: BaseException) -> bool:
    """Whether an error from the opening step is worth another attempt."""
    if isinstance(exc, (CertificateError, InvalidRequestError)):
        return False  # the same certificate or the same malformed URL meets every attempt (rule 11)
    if isinstance(exc, (APIConnectionError, APITimeoutError)):
        return True
    if isinstance(exc, APIStatusError):
        return exc.status_code in RETRY_STATUSES or exc.status_code >= 500
    return False


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, from ``retry-after-ms`` or ``retry-after``; None if absent.

    Header names are matched case-insensitively. Negative or unparsable values are ignored.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            value = float(millis) / 1000.0
            if value >= 0:
                return value
        except ValueError:
            pass
    text = lowered.get("retry-after")
    if not text:
        return None
    try:
        value = float(text)
        return value if value >= 0 else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    delta = when.timestamp() - (time.time() if now is None else now)
    return max(delta, 0.0)


def backoff_seconds(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter for the given 1-based attempt number."""
    base: float = min(INITIAL_BACKOFF * (2.0 ** (attempt - 1)), MAX_BACKOFF)
    return base * (1 - 0.25 * rng())


def _wait_seconds(exc: BaseException | None, attempt: int) -> float:
    if isinstance(exc, APIStatusError):
        hinted = parse_retry_after(exc.headers)
        if hinted is not None:
            return min(hinted, MAX_RETRY_AFTER)
    return backoff_seconds(attempt)


_tenacity: Any = None


def _load_tenacity() -> Any:
    global _tenacity  # a cached module reference, not mutable state
    if _tenacity is None:
        import tenacity
        _tenacity = tenacity
    return _tenacity


def call_with_retry(fn: Callable[[], T], *, max_retries: int = DEFAULT_MAX_RETRIES,
                    sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``fn`` (the opening step), retrying retryable errors up to ``max_retries`` more times.

    The first attempt is a plain call: most requests succeed at once, and building a tenacity
    ``Retrying`` costs about 25 us, which is measurable in a batch of thousands of short calls
    (bench/bench_batch.py). Only after a retryable failure does tenacity take over, with the attempt
    numbers (and so the waits) continuing from 2."""
    if max_retries <= 0:
        return fn()
    try:
        return fn()
    except Exception as exc:
        if not is_retryable(exc):
            raise
        first = exc
    tenacity = _load_tenacity()
    total = max_retries + 1

    def wait(state: Any) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        return _wait_seconds(exc, state.attempt_number + 1)

    def log_retry(exc: BaseException | None, attempt: int, seconds: float) -> None:
        log.debug("retrying after %s (attempt %d of %d), waiting %.2fs", type(exc).__name__, attempt, total, seconds)

    def before_sleep(state: Any) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        log_retry(exc, state.attempt_number + 1, state.next_action.sleep if state.next_action else 0)

    seconds = _wait_seconds(first, 1)
    log_retry(first, 1, seconds)
    sleep(seconds)
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max_retries),  # the attempts after the first
        wait=wait,
        retry=tenacity.retry_if_exception(is_retryable),
        sleep=sleep,
        reraise=True,
        before_sleep=before_sleep,
    )
    result: T = retrying(fn)
    return result
