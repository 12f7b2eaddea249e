"""What a batch gives back: one :class:`BatchResult` per prompt, a summary, the interrupt error."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from .errors import ChatGPTSyncError

__all__ = ["BatchResult", "BatchSummary", "summarize", "BatchInterrupted", "BatchStopped", "STOPS_THE_BATCH",
           "to_record", "from_record"]


@dataclass(frozen=True)
class BatchResult:
    """One prompt's outcome. ``text`` is the answer, or None when the prompt failed; then ``error``
    is a readable message and ``error_type`` the exception's class name (``"BadRequestError"``)."""

    index: int
    prompt: Any
    text: str | None
    error: str | None = None
    error_type: str | None = None
    #: Requests sent for this prompt (a 429 counts); 0 for a prompt taken from the checkpoint as is.
    attempts: int = 0
    #: Seconds from the first attempt to the last answer, waits included.
    elapsed: float = 0.0
    finish_reason: str | None = None
    usage: dict[str, Any] | None = field(default=None, compare=False)
    #: True when an earlier run answered it (read back from the checkpoint).
    from_checkpoint: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class BatchSummary:
    """Counts over a batch's results; ``str()`` gives a one-line report."""

    total: int
    answered: int
    failed: int
    from_checkpoint: int
    not_done: int
    attempts: int
    errors: dict[str, int] = field(default_factory=dict)  # error_type -> count

    def __str__(self) -> str:
        text = f"{self.total} prompts: {self.answered} answered, {self.failed} failed"
        if self.not_done:
            text += f", {self.not_done} not done"
        if self.from_checkpoint:
            text += f" ({self.from_checkpoint} from the checkpoint)"
        if self.errors:
            text += "; errors: " + ", ".join(f"{name} x{count}" for name, count in self.errors.items())
        return text


def summarize(results: Iterable[BatchResult], total: int | None = None) -> BatchSummary:
    """Count answers, failures, resumed prompts and attempts (``total`` counts prompts not done)."""
    listed = list(results)
    failed = [r for r in listed if not r.ok]
    return BatchSummary(
        total=len(listed) if total is None else total, answered=len(listed) - len(failed), failed=len(failed),
        from_checkpoint=sum(r.from_checkpoint for r in listed),
        not_done=0 if total is None else total - len(listed), attempts=sum(r.attempts for r in listed),
        errors=dict(Counter(r.error_type or "Error" for r in failed).most_common()))


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped the batch. ``results`` holds what finished (input order); they are
    in the checkpoint too, so a rerun with it asks only the rest."""

    def __init__(self, results: list[BatchResult], total: int, how: str, checkpoint: str | None) -> None:
        hint = f"; run again with checkpoint={checkpoint!r} to resume" if checkpoint else ""
        super().__init__(f"batch interrupted ({how}): {len(results)} of {total} prompts done{hint}")
        self.results, self.total, self.checkpoint = results, total, checkpoint

    def summary(self) -> BatchSummary:
        return summarize(self.results, self.total)


class BatchStopped(ChatGPTSyncError):
    """The server refused the credentials (HTTP 401), which every other prompt would meet too, so the
    batch stopped rather than send each of them. ``results`` holds what finished (input order, also
    in the checkpoint); the refused prompt is not recorded, so a rerun with fixed credentials and the
    same checkpoint asks it and the rest."""

    def __init__(self, results: list[BatchResult], total: int, index: int, error: str, error_type: str,
                 checkpoint: str | None) -> None:
        hint = (f"; fix the credentials and run again with checkpoint={checkpoint!r} to resume" if checkpoint
                else "; fix the credentials and run again")
        super().__init__(f"batch stopped: prompt {index} was refused with {error_type} ({error}), which every "
                         f"prompt would meet; {len(results)} of {total} prompts done{hint}")
        self.results, self.total, self.checkpoint = results, total, checkpoint
        self.index, self.error, self.error_type = index, error, error_type

    def summary(self) -> BatchSummary:
        return summarize(self.results, self.total)


#: Errors that are about the credentials, not the prompt: the batch stops at the first one.
STOPS_THE_BATCH = frozenset({"AuthenticationError"})


# ------------------------------------------------------------------ as a checkpoint line
def to_record(result: BatchResult, hashed: str) -> dict[str, Any]:
    """The checkpoint line for a result (``hashed``: its prompt's hash); the prompt itself is not kept."""
    return {"i": result.index, "h": hashed, "text": result.text, "error": result.error,
            "error_type": result.error_type, "attempts": result.attempts, "elapsed": round(result.elapsed, 4),
            "finish_reason": result.finish_reason, "usage": result.usage}


def from_record(index: int, prompt: Any, record: dict[str, Any]) -> BatchResult:
    """A result read back from its checkpoint line."""
    return BatchResult(index, prompt, record.get("text"), record.get("error"), record.get("error_type"),
                       record.get("attempts", 0), record.get("elapsed", 0.0), record.get("finish_reason"),
                       record.get("usage"), from_checkpoint=True)
