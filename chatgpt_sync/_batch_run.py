"""The engine of a batch: worker threads, the hand-over to the caller, interrupts and winding down.

Workers pull prompt indices from one shared iterator, pass the shared rate gate, attempt (here or on
Dask, see ``_batch_runners``), retry, write the result to the checkpoint and only then hand it to the
calling thread, which updates the progress display and yields it.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from typing import Any, Callable, Iterator

from ._batch_results import STOPS_THE_BATCH, BatchInterrupted, BatchResult, BatchStopped, to_record
from ._batch_runners import DaskRunner, LocalRunner, Outcome
from ._checkpoint import Checkpoint
from ._log import logger
from ._progress import make_progress
from ._ratelimit import RateGate
from ._retry import MAX_RETRY_AFTER, backoff_seconds

__all__ = ["Run"]


class _Stopped(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt for the duration of a batch."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Stopped()


def _nothing() -> None:
    pass


def _catch_sigterm() -> Callable[[], None]:
    """Treat SIGTERM like Ctrl-C while the batch runs, unless the application handles it itself."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        return _nothing
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None):
        return _nothing
    signal.signal(signal.SIGTERM, _on_sigterm)

    def restore() -> None:
        try:
            signal.signal(signal.SIGTERM, previous)
        except ValueError:  # the generator was finished from another thread
            pass
    return restore


_EXITED = object()  # a worker's last message


class Run:
    """One batch in progress: workers pull prompt indices, record results, hand them to the caller."""

    def __init__(self, provider: Any, owned: bool, model: str | None, kwargs: dict[str, Any], given: list[Any],
                 messages: list[list[dict[str, Any]]], threads: int, max_attempts: int, book: Checkpoint | None,
                 dask_client: Any, gate: RateGate, grace: float, resumed: dict[int, BatchResult]) -> None:
        self.provider, self.owned, self.model, self.kwargs = provider, owned, model, kwargs
        self.given, self.messages, self.max_attempts = given, messages, max_attempts
        self.book, self.dask_client, self.gate, self.grace = book, dask_client, gate, grace
        #: Every result so far, filled in by the workers themselves (under ``take``): an interrupt
        #: landing in the calling thread between a hand-over and its bookkeeping loses nothing.
        self.finished = dict(resumed)
        self.pending = iter([i for i in range(len(given)) if i not in resumed])
        self.threads = min(threads, len(given) - len(resumed))
        self.take = threading.Lock()
        self.stop, self.abandon = threading.Event(), threading.Event()
        self.inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.live = 0
        self.runner: LocalRunner | DaskRunner | None = None
        self.refused: BatchResult | None = None  # the first prompt refused for its credentials

    def results(self, progress: bool | None) -> Iterator[BatchResult]:
        """Yield the checkpoint's results, then each new one as a worker finishes it."""
        total = len(self.given)
        bar = None
        restore: Callable[[], None] = _nothing
        try:
            if self.book:
                self.book.open()
            bar = make_progress(progress, total, len(self.finished), sum(not r.ok for r in self.finished.values()))
            restore = _catch_sigterm()
            yield from sorted(self.finished.values(), key=lambda r: r.index)
            if self.threads:
                self.runner = (DaskRunner(self.dask_client, self.provider, self.model, self.kwargs)
                               if self.dask_client is not None else LocalRunner(self.provider, self.model, self.kwargs))
                for number in range(self.threads):
                    threading.Thread(target=self._work, name=f"chatgpt_sync-batch-{number}", daemon=True).start()
                    self.live += 1
            while (result := self._next(None)) is not None:
                if bar:
                    bar.update(not result.ok)
                yield result
            if self.refused is not None:
                self._drain(bar)
                with self.take:
                    done = sorted(self.finished.values(), key=lambda r: r.index)
                refused = self.refused
                raise BatchStopped(done, total, refused.index, refused.error or "", refused.error_type or "",
                                   self.book.path if self.book else None)
        except KeyboardInterrupt as exc:
            self._drain(bar)
            how = "SIGTERM" if isinstance(exc, _Stopped) else "KeyboardInterrupt"
            with self.take:
                done = sorted(self.finished.values(), key=lambda r: r.index)
            raise BatchInterrupted(done, total, how, self.book.path if self.book else None) from None
        finally:
            self._drain(bar)  # the caller stopped early (GeneratorExit) or an error: wind down the same way
            restore()
            if bar:
                bar.close()
            if self.book:
                self.book.close()
            if self.runner:
                self.runner.close()
            if self.owned:
                self.provider.close()

    def _next(self, deadline: float | None) -> BatchResult | None:
        """The next result from a worker; None once all have exited (or at ``deadline``)."""
        while self.live:
            timeout = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if timeout <= 0:
                return None
            try:  # a timeout, so that signals are seen promptly on every platform
                item = self.inbox.get(timeout=timeout)
            except queue.Empty:
                continue
            if item is _EXITED:
                self.live -= 1
            elif isinstance(item, BaseException):
                self.stop.set()
                raise RuntimeError("a batch worker failed unexpectedly") from item
            else:
                return item  # type: ignore[no-any-return]
        return None

    def _drain(self, bar: Any) -> None:
        """Stop handing out prompts; record what is in flight within ``grace``, then abandon the rest."""
        if self.stop.is_set():
            return  # drained already
        self.stop.set()
        deadline = time.monotonic() + self.grace
        if bar and self.live:
            bar.note(f"batch: stopping; waiting up to {self.grace:g} s for the prompts in flight to be recorded "
                     "(Ctrl-C again to abandon them)")
        try:
            while (result := self._next(deadline)) is not None:
                if bar:
                    bar.update(not result.ok)
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: stop waiting
        if self.live:
            logger.warning("batch: %d prompts still in flight after %.1fs; not recorded", self.live, self.grace)
            if bar:
                bar.note("batch: the prompts still in flight were abandoned; they are not recorded, and a resume "
                         "asks them again")
            self.abandon.set()

    def _work(self) -> None:
        try:
            while not self.stop.is_set():
                with self.take:
                    index = next(self.pending, None)
                if index is None:
                    break
                result = self._ask(index)
                if result is None:
                    break
                if result.error_type in STOPS_THE_BATCH:
                    # Refused credentials: every prompt would meet them. Stop handing out prompts, and keep
                    # this one out of the checkpoint, so a rerun with fixed credentials asks it.
                    with self.take:
                        if self.refused is None:
                            self.refused = result
                    self.stop.set()
                    break
                if self.book:  # before handing it on: a kill then loses at most the prompts in flight
                    self.book.write(to_record(result, self.book.hashes[index]))
                with self.take:
                    self.finished[index] = result
                self.inbox.put(result)
        except BaseException as exc:  # a bug of ours: tell the caller rather than hang
            self.inbox.put(exc)
        finally:
            self.inbox.put(_EXITED)

    def _ask(self, index: int) -> BatchResult | None:
        """Attempts until an answer, a final error, or ``max_attempts``; None when stopped first."""
        assert self.runner is not None
        messages, attempts, started = self.messages[index], 0, time.perf_counter()
        while True:
            if not self.gate.wait(self.stop):
                return None
            attempts += 1
            outcome: Outcome | None = self.runner(messages, self.abandon)
            if outcome is None or (outcome.cancelled and self.stop.is_set()):
                return None  # stopped: not a result, so a resume asks it
            if outcome.error is None or not outcome.retryable or attempts >= self.max_attempts:
                break
            hinted = outcome.retry_after
            wait = min(backoff_seconds(attempts) if hinted is None else hinted, MAX_RETRY_AFTER)
            if outcome.rate_limited:
                until = self.gate.pause_for(wait)  # every worker waits, not only this one
                logger.info("batch: rate limited; all workers wait %.2fs (until %.3f)", wait, until)
            elif self.stop.wait(wait):
                return None
        error = outcome.error
        if error is not None and attempts > 1:  # so "wait and retry" advice is read knowing we did
            error = f"{error} (gave up after {attempts} attempts)"
        return BatchResult(index, self.given[index], outcome.text, error, outcome.error_type, attempts,
                           time.perf_counter() - started, outcome.finish_reason, outcome.usage)
