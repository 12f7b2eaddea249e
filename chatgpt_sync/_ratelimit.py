"""One gate that every worker of a batch passes before it sends a request.

When the server answers 429, every worker waits, not only the one that was told: the server's limit
is per key, so a request from another worker during the wait would only earn another 429 (and with
some servers, a longer ban). The gate can also pace requests to a steady rate.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

__all__ = ["RateGate"]


class RateGate:
    """A shared pause (``pause_until``) and an optional pace of ``per_second`` requests."""

    def __init__(self, per_second: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_second is not None and not per_second > 0:
            raise ValueError(f"per_second must be > 0, not {per_second!r}")
        self._interval = 1.0 / per_second if per_second else 0.0
        self._clock = clock
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self._next_slot = 0.0

    @property
    def paused_until(self) -> float:
        """The clock reading before which nobody sends (in the past when there is no pause)."""
        return self._paused_until

    def pause_for(self, seconds: float) -> float:
        """Hold every worker for ``seconds`` from now (a pause never shortens one already set)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
            return self._paused_until

    def wait(self, stop: threading.Event) -> bool:
        """Block until this worker may send; False if ``stop`` was set meanwhile."""
        have_slot = False
        while True:
            with self._lock:
                now = self._clock()
                delay = self._paused_until - now
                if delay <= 0:
                    if have_slot or not self._interval:
                        return not stop.is_set()
                    # Reserve the next slot of the pace, then sleep until it; a pause set while we
                    # sleep is seen on the next round, and the slot then simply goes unused.
                    slot = max(now, self._next_slot)
                    self._next_slot = slot + self._interval
                    have_slot = True
                    delay = slot - now
                    if delay <= 0:
                        return not stop.is_set()
            if stop.wait(delay):
                return False
