"""One attempt at one prompt, run in this process (a thread) or on a Dask worker.

An attempt never raises: it returns an :class:`Outcome` of plain values, because our exceptions
take keyword arguments and do not survive the trip back from a Dask worker, and because the caller
decides about retries (the shared rate limit lives on the calling side).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ._retry import is_retryable, parse_retry_after
from .errors import APIStatusError, RateLimitError
from .types import FinishReason, Usage

__all__ = ["Outcome", "attempt", "LocalRunner", "DaskRunner", "check_picklable"]


class Outcome:
    """What one attempt gave: the answer, or the error with what the retry policy needs to know."""

    __slots__ = ("text", "finish_reason", "usage", "error", "error_type", "retryable", "rate_limited",
                 "retry_after", "elapsed", "cancelled")

    def __init__(self, text: str | None = None, finish_reason: str | None = None,
                 usage: dict[str, Any] | None = None, error: str | None = None, error_type: str | None = None,
                 retryable: bool = False, rate_limited: bool = False, retry_after: float | None = None,
                 elapsed: float = 0.0, cancelled: bool = False) -> None:
        self.text, self.finish_reason, self.usage = text, finish_reason, usage
        self.error, self.error_type = error, error_type
        self.retryable, self.rate_limited, self.retry_after = retryable, rate_limited, retry_after
        self.elapsed = elapsed
        #: The attempt never ran to an answer or an error of its own (a Dask task cancelled or
        #: interrupted): not a result for the prompt, which is asked again (or left for a resume).
        self.cancelled = cancelled

    def __reduce__(self) -> tuple[Any, ...]:
        return (Outcome, tuple(getattr(self, name) for name in self.__slots__))


def attempt(provider: Any, model: str | None, messages: list[dict[str, Any]], kwargs: dict[str, Any]) -> Outcome:
    """Ask once (``kwargs`` carries ``max_retries=0``) and read the whole answer."""
    started = time.perf_counter()
    parts: list[str] = []
    finish: str | None = None
    usage: dict[str, Any] | None = None
    try:
        with provider.create_completion(model, messages, **kwargs) as stream:
            for piece in stream:
                if piece.__class__ is str:
                    parts.append(piece)
                elif isinstance(piece, FinishReason):
                    if piece.index == 0:
                        finish = piece.reason
                elif isinstance(piece, Usage):
                    usage = {"prompt_tokens": piece.prompt_tokens, "completion_tokens": piece.completion_tokens,
                             "total_tokens": piece.total_tokens}
    except Exception as exc:  # recorded for this prompt; never fatal to the batch
        return describe(exc, time.perf_counter() - started)
    return Outcome("".join(parts), finish, usage, elapsed=time.perf_counter() - started)


def describe(exc: BaseException, elapsed: float = 0.0) -> Outcome:
    """An error as an Outcome: a readable message, the class name, and whether to try again."""
    message = str(exc).strip() or type(exc).__name__
    retry_after = None
    if isinstance(exc, APIStatusError):
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is None:
            retry_after = parse_retry_after(exc.headers)
    rate_limited = isinstance(exc, RateLimitError) or getattr(exc, "status_code", None) == 429
    return Outcome(error=message, error_type=type(exc).__name__, retryable=is_retryable(exc),
                   rate_limited=rate_limited, retry_after=retry_after, elapsed=elapsed)


class LocalRunner:
    """Attempts in the calling thread, through the one shared provider instance."""

    def __init__(self, provider: Any, model: str | None, kwargs: dict[str, Any]) -> None:
        self._provider, self._model, self._kwargs = provider, model, kwargs

    def __call__(self, messages: list[dict[str, Any]], abandon: threading.Event) -> Outcome | None:
        return attempt(self._provider, self._model, messages, self._kwargs)

    def close(self) -> None:
        pass


class DaskRunner:
    """Attempts as Dask tasks. The provider is sent to every worker once; each calling thread waits
    for its own task, so ``threads`` bounds the prompts in flight on the cluster."""

    POLL = 0.25  # seconds between checks whether an interrupted batch has given up on its tasks

    def __init__(self, client: Any, provider: Any, model: str | None, kwargs: dict[str, Any]) -> None:
        self._client, self._model, self._kwargs = client, model, kwargs
        # hash=False: a provider holds settings, not data; two equal ones need not share a key.
        self._provider = client.scatter(provider, broadcast=True, hash=False)

    def __call__(self, messages: list[dict[str, Any]], abandon: threading.Event) -> Outcome | None:
        # pure=False: a retry of the same prompt is a new request, never the cached old result.
        future = self._client.submit(attempt, self._provider, self._model, messages, self._kwargs, pure=False)
        finished = threading.Event()
        future.add_done_callback(lambda _: finished.set())  # called from Dask's thread: no polling delay
        while not finished.wait(self.POLL):
            if abandon.is_set():
                future.cancel()
                return None
        try:
            outcome: Outcome = future.result()
        except BaseException as exc:  # the task failed (a worker died running it) or was cancelled
            if _cancellation(exc):
                # Ctrl-C on a terminal reaches the LocalCluster's worker processes too, and Dask
                # cancels what the client forgets: neither is an answer or an error of the prompt.
                return Outcome(error=f"the Dask task was cancelled ({type(exc).__name__})",
                               error_type=type(exc).__name__, retryable=True, cancelled=True)
            return describe(exc)
        return outcome

    def close(self) -> None:
        try:
            self._provider.release()
        except Exception:  # the cluster may be gone already; nothing is left to free then
            pass


def _cancellation(exc: BaseException) -> bool:
    """A task that was cancelled or interrupted rather than one that failed (this runs in a worker
    thread of ours, where signals are never delivered: a KeyboardInterrupt here came from the task)."""
    import concurrent.futures
    return isinstance(exc, (concurrent.futures.CancelledError, KeyboardInterrupt)) or \
        type(exc).__name__.endswith("CancelledError")


def check_picklable(what: str, value: Any) -> None:
    """Fail before anything is sent when ``value`` cannot travel to a Dask worker."""
    try:  # what Dask uses: it also takes lambdas and local functions
        import cloudpickle as pickler  # type: ignore[import-untyped]
    except ImportError:
        import pickle as pickler
    try:
        pickler.dumps(value)
    except Exception as exc:
        from .errors import InvalidRequestError
        raise InvalidRequestError(f"{what} cannot be sent to Dask workers (it does not pickle: "
                                  f"{type(exc).__name__}: {exc}); build it from plain settings") from exc
