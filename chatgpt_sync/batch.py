"""Many prompts through one provider: bounded threads, one shared rate limit, progress, a checkpoint.

::

    from chatgpt_sync import OpenaiTemplate
    from chatgpt_sync.batch import run_batch

    provider = OpenaiTemplate(base_url="http://localhost:11434/v1")
    results = run_batch(provider, ["Hi", "Name a colour"], model="llama3", checkpoint="answers.jsonl")
    for result in results:  # in input order
        print(result.index, result.text if result.ok else result.error)

- ``threads`` workers share one provider instance (and its connection pool). A prompt gets up to
  ``max_attempts`` attempts: connection errors, timeouts, 408, 429 and 5xx are tried again; any other
  error (a 400 for that prompt, say) is recorded on its :class:`BatchResult` at once. An error about
  the prompt never stops the batch; refused credentials (401), which every prompt would meet, stop it
  with :class:`BatchStopped` (the refused prompt is not recorded, so a rerun asks it).
- A 429 pauses *every* worker for the server's ``Retry-After`` (a backoff when it names none, at most
  60 s): nobody sends until then. ``requests_per_second`` paces the workers too.
- With ``checkpoint=path`` each finished prompt (answer or error) is appended to a JSON Lines file as
  it finishes; a rerun with the same path and prompt list skips those (``retry_failed=True`` asks the
  failed ones again). A checkpoint written for another prompt list or model is refused.
- Ctrl-C or SIGTERM: no new prompt starts, prompts in flight get ``grace`` seconds to finish and are
  recorded, then :class:`BatchInterrupted` (a ``KeyboardInterrupt``) is raised with the results so far.
  A hard kill (SIGKILL) cannot record the prompts in flight at that moment: on resume at most
  ``threads`` prompts are then asked a second time.
- ``dask_client=`` (a ``dask.distributed.Client``) runs each attempt as a task on the cluster; the
  checkpoint, the rate limit and the progress stay on the calling side, and ``threads`` bounds the
  prompts in flight on the cluster. Dask itself may run a task again when a worker dies.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Iterator, Mapping, Sequence, Union

from ._batch_results import BatchInterrupted, BatchResult, BatchStopped, BatchSummary, from_record, summarize
from ._batch_run import Run
from ._batch_runners import check_picklable
from ._checkpoint import Checkpoint, CheckpointMismatchError, prompt_hash
from ._log import logger
from ._messages import validate_messages
from ._ratelimit import RateGate
from .errors import InvalidRequestError
from .providers import get_provider

__all__ = ["run_batch", "iter_batch", "BatchResult", "BatchSummary", "summarize", "BatchInterrupted",
           "BatchStopped", "CheckpointMismatchError", "Prompt"]

#: One prompt: a string (one user message) or a list of ``{"role", "content"}`` message dicts.
Prompt = Union[str, Sequence[Mapping[str, Any]]]
DEFAULT_MAX_ATTEMPTS = 5


def run_batch(provider: Any, prompts: Iterable[Prompt], *, model: str | None, threads: int = 8,
              checkpoint: str | os.PathLike[str] | None = None, progress: bool | None = None, dask_client: Any = None,
              max_attempts: int = DEFAULT_MAX_ATTEMPTS, requests_per_second: float | None = None,
              retry_failed: bool = False, grace: float = 10.0, stream: bool = False,
              **kwargs: Any) -> list[BatchResult]:
    """Ask every prompt and return one :class:`BatchResult` per prompt, in input order.

    ``provider`` is a provider class, a configured instance (``OpenaiTemplate(base_url=...)``) or a
    registry name. ``model`` and ``kwargs`` (``temperature=...``, provider settings) go to each
    ``create_completion``. ``progress``: None shows a bar only when stderr is a terminal. Bad input
    (arguments, prompts, a mismatched checkpoint, an unpicklable provider for Dask) raises
    :class:`~chatgpt_sync.errors.InvalidRequestError` before anything is sent.
    """
    results = list(iter_batch(provider, prompts, model=model, threads=threads, checkpoint=checkpoint,
                              progress=progress, dask_client=dask_client, max_attempts=max_attempts,
                              requests_per_second=requests_per_second, retry_failed=retry_failed,
                              grace=grace, stream=stream, **kwargs))
    results.sort(key=lambda r: r.index)
    return results


def iter_batch(provider: Any, prompts: Iterable[Prompt], *, model: str | None, threads: int = 8,
               checkpoint: str | os.PathLike[str] | None = None, progress: bool | None = None, dask_client: Any = None,
               max_attempts: int = DEFAULT_MAX_ATTEMPTS, requests_per_second: float | None = None,
               retry_failed: bool = False, grace: float = 10.0, stream: bool = False,
               **kwargs: Any) -> Iterator[BatchResult]:
    """:func:`run_batch`, yielding each result as it finishes (those from the checkpoint first).

    The arguments are checked now; the work starts with the first ``next()``. The workers do not wait
    for the caller's loop; every result is in the checkpoint as soon as it exists. Closing the iterator
    (``break`` out of a ``for`` over it, or ``.close()`` when you keep a reference) stops them: prompts
    in flight get ``grace`` seconds to finish and be recorded.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InvalidRequestError(f"threads must be a whole number >= 1, not {threads!r}")
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise InvalidRequestError(f"max_attempts must be a whole number >= 1, not {max_attempts!r}")
    if not isinstance(grace, (int, float)) or grace < 0:
        raise InvalidRequestError(f"grace must be a number of seconds >= 0, not {grace!r}")
    if requests_per_second is not None and not (isinstance(requests_per_second, (int, float))
                                                and requests_per_second > 0):
        raise InvalidRequestError(f"requests_per_second must be > 0 or None, not {requests_per_second!r}")
    if progress not in (None, True, False):
        raise InvalidRequestError(f"progress must be True, False or None (auto), not {progress!r}")
    if "max_retries" in kwargs:
        raise InvalidRequestError("run_batch retries by itself, with one rate limit for all workers: "
                                  "pass max_attempts= instead of max_retries=")
    if dask_client is not None and not (hasattr(dask_client, "submit") and hasattr(dask_client, "scatter")):
        raise InvalidRequestError(f"dask_client must be a dask.distributed.Client, not {type(dask_client).__name__}")
    given, messages = _prompts(prompts)
    instance, owned = _provider_instance(provider)
    call_kwargs = {**kwargs, "stream": bool(stream), "max_retries": 0}
    try:
        if messages:  # names, settings, model and credentials are checked here; nothing is sent
            instance.create_completion(model, messages[0], **call_kwargs).close()
        if dask_client is not None:
            check_picklable("the provider", instance)
            check_picklable("the keyword arguments", call_kwargs)
        book = None
        if checkpoint is not None:
            book = Checkpoint(checkpoint, [prompt_hash(m) for m in messages], model)
    except BaseException:
        if owned:
            instance.close()
        raise
    resumed = {}
    for index, record in (book.records.items() if book else ()):
        if record.get("error") is None or not retry_failed:
            resumed[index] = from_record(index, given[index], record)
    if resumed:
        logger.info("resuming from %s: %d of %d prompts already done", book.path if book else "", len(resumed),
                    len(given))
    run = Run(instance, owned, model, call_kwargs, given, messages, threads, max_attempts, book, dask_client,
              RateGate(requests_per_second), grace, resumed)
    return run.results(progress)


def _prompts(prompts: Iterable[Prompt]) -> tuple[list[Any], list[list[dict[str, Any]]]]:
    """The prompts as given, and as message lists (each checked)."""
    if isinstance(prompts, (str, bytes, Mapping)):
        raise InvalidRequestError(f"prompts must be a list of prompts, got one {type(prompts).__name__}: "
                                  "wrap a single prompt in a list")
    try:
        given = list(prompts)
    except TypeError:
        raise InvalidRequestError(f"prompts must be a list of prompts, not {type(prompts).__name__}") from None
    messages = []
    for index, prompt in enumerate(given):
        if isinstance(prompt, str):
            messages.append([{"role": "user", "content": prompt}])
            continue
        try:
            messages.append(validate_messages(prompt))
        except InvalidRequestError as exc:
            raise InvalidRequestError(
                f"prompts[{index}] is not a string or a list of messages: {exc.message}") from None
    return given, messages


def _provider_instance(provider: Any) -> tuple[Any, bool]:
    """One instance for all workers (a class gets one, closed at the end); and whether we own it."""
    if isinstance(provider, str):
        provider = get_provider(provider)
    if isinstance(provider, type) and callable(getattr(provider, "create_completion", None)):
        return provider(), True
    if isinstance(provider, type) or not callable(getattr(provider, "create_completion", None)):
        raise InvalidRequestError(f"provider must be a provider class, instance or registry name, not {provider!r}")
    return provider, False
