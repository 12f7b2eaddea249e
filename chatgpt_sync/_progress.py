"""A batch's progress on standard error: a tqdm bar on a terminal when tqdm is installed, a status line
otherwise (redrawn in place on a terminal, one line every few seconds in a file or a pipe)."""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol, TextIO

__all__ = ["Progress", "make_progress", "is_terminal"]

#: The plain status line is redrawn at most this often (seconds) on a terminal...
REDRAW = 0.1
#: ...and written as a new line at most this often when standard error is a file or a pipe.
LOG_EVERY = 5.0


class Progress(Protocol):
    def update(self, failed: bool) -> None: ...
    def note(self, text: str) -> None: ...
    def close(self) -> None: ...


def make_progress(enabled: bool | None, total: int, done: int, failed: int) -> Progress | None:
    """A progress display, or None. ``enabled=None`` means: only when stderr is a terminal."""
    stream = sys.stderr  # looked up now, so a redirected (or captured) stderr is honoured
    if enabled is None:
        enabled = is_terminal(stream)
    if not enabled:
        return None
    if not is_terminal(stream):  # a log file or a pipe: tqdm would write one \r-joined line; ours writes lines
        return StatusLine(stream, total, done, failed)
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:
        return StatusLine(stream, total, done, failed)
    return _TqdmBar(tqdm(total=total, initial=done, unit="prompt", desc="batch", file=stream,
                         dynamic_ncols=True), failed)


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal (False for a replaced object without ``isatty``, or a closed one)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


class _TqdmBar:
    def __init__(self, bar: Any, failed: int) -> None:
        self._bar = bar
        self._failed = failed
        if failed:
            bar.set_postfix_str(f"{failed} failed", refresh=False)

    def update(self, failed: bool) -> None:
        if failed:
            self._failed += 1
            self._bar.set_postfix_str(f"{self._failed} failed", refresh=False)
        self._bar.update(1)

    def note(self, text: str) -> None:
        self._bar.write(text, file=self._bar.fp)  # above the bar, which is redrawn below it

    def close(self) -> None:
        self._bar.close()


class StatusLine:
    """``batch: 120/200 (60%), 2 failed, 41.3/s, 2s left``, redrawn in place on a terminal."""

    def __init__(self, stream: TextIO, total: int, done: int, failed: int) -> None:
        self._stream = stream
        self._tty = is_terminal(stream)
        self._total, self._done, self._failed = total, done, failed
        self._start_done = done
        self._started = self._shown = time.monotonic()
        self._width = 0
        self._drawn = (-1, -1)
        self._draw(force=True)

    def update(self, failed: bool) -> None:
        self._done += 1
        self._failed += failed
        self._draw(force=self._done == self._total)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._shown < (REDRAW if self._tty else LOG_EVERY):
            return
        self._shown = now
        self._drawn = (self._done, self._failed)
        percent = 100 * self._done // self._total if self._total else 100
        text = f"batch: {self._done}/{self._total} ({percent}%)"
        if self._failed:
            text += f", {self._failed} failed"
        asked, elapsed = self._done - self._start_done, now - self._started
        if asked and elapsed > 0:
            rate = asked / elapsed
            text += f", {rate:.1f}/s, {(self._total - self._done) / rate:.0f}s left"
        if self._tty:
            # Pad over what the previous, longer line left behind.
            self._stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def note(self, text: str) -> None:
        """A message on a line of its own (the status line is redrawn after it on a terminal)."""
        if self._tty:
            self._stream.write("\r" + text.ljust(self._width) + "\n")
            self._drawn = (-1, -1)
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._drawn != (self._done, self._failed):
            self._draw(force=True)
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()
