"""The JSON Lines file that lets an interrupted batch resume without asking a prompt twice.

The first line describes the run: a format tag, the number of prompts, a fingerprint of the whole
prompt list and the model. Every further line is one finished prompt: its index, the hash of its
messages and its outcome. A prompt is identified by index *and* hash, and the header's fingerprint
must match the list given on resume, so a checkpoint is never applied to another list (an edited,
reordered, shortened or grown one): the error says where the lists differ.

Each line goes out in one ``write`` on a descriptor opened with ``O_APPEND``, as soon as the prompt
finishes, so a killed process loses at most the prompts that were in flight. A last line cut short
by a kill is dropped (and cut off the file) when the checkpoint is opened again.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from typing import Any, Sequence

from .errors import InvalidRequestError

__all__ = ["Checkpoint", "CheckpointMismatchError", "FORMAT", "prompt_hash"]

FORMAT = "chatgpt_sync.batch/1"


class CheckpointMismatchError(InvalidRequestError):
    """The checkpoint file belongs to another prompt list or model, or is not a batch checkpoint."""


def prompt_hash(messages: Sequence[Any]) -> str:
    """A short, stable hash of one prompt's messages (key order and whitespace do not matter)."""
    text = json.dumps(messages, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _fingerprint(hashes: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(hashes).encode("ascii")).hexdigest()[:16]


class Checkpoint:
    """A checkpoint file, read and checked: :attr:`records` holds what earlier runs finished (index ->
    record). :meth:`open` it to append; :meth:`close` it when the batch ends."""

    def __init__(self, path: str | os.PathLike[str], hashes: Sequence[str], model: str | None) -> None:
        self.path = os.fspath(path)
        self.hashes = list(hashes)
        self.records: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._size = 0  # bytes read; the file must still be this long when it is opened
        self._torn_at: int | None = None
        self._header = {"format": FORMAT, "prompts": len(hashes), "fingerprint": _fingerprint(hashes),
                        "model": model}
        self._existing = self._read(hashes, self._header)
        folder = os.path.dirname(os.path.abspath(self.path))
        if not self._existing and not os.path.isdir(folder):
            raise InvalidRequestError(f"cannot write the checkpoint {self.path}: the folder {folder} does not "
                                      "exist; create it, or pass another checkpoint path")

    def open(self) -> None:
        """Open for appending (a new file starts with its header line); refused while another batch
        has it open, since two runs on one checkpoint would each ask every prompt."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as exc:
            raise InvalidRequestError(f"cannot write the checkpoint {self.path}: {exc.strerror or exc}; "
                                      "pass another checkpoint path") from exc
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            raise InvalidRequestError(f"the checkpoint {self.path} is in use by another batch that is still "
                                      "running; wait for it, or pass another path") from None
        if os.fstat(fd).st_size != self._size:
            os.close(fd)
            raise InvalidRequestError(f"the checkpoint {self.path} changed since it was read (another batch "
                                      "wrote to it); run again")
        if self._torn_at is not None:
            os.ftruncate(fd, self._torn_at)
        self._fd = fd
        if not self._existing:
            self._write_line(self._header)
            self._existing = True

    def _read(self, hashes: Sequence[str], header: dict[str, Any]) -> bool:
        """Load and check an existing file; False when there is none (or it is empty)."""
        try:
            with open(self.path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise InvalidRequestError(f"cannot read the checkpoint {self.path}: {exc}") from exc
        self._size = len(data)
        if not data.strip():
            self._torn_at = 0 if data else None  # blank: start it afresh
            return False
        complete = data.rfind(b"\n") + 1
        if complete < len(data):
            # A line cut short by a kill mid-write: that prompt was not recorded. It is cut off when
            # the file is opened (under its lock), so the next line starts on a line of its own.
            self._torn_at = complete
        lines = data[:complete].splitlines()
        first = _parse(lines[0] if lines else b"")
        if not isinstance(first, dict) or first.get("format") != FORMAT:
            raise CheckpointMismatchError(
                f"{self.path} is not a chatgpt_sync batch checkpoint (its first line has no "
                f"format {FORMAT!r}); pass another path, or delete the file to start over")
        for number, line in enumerate(lines[1:], start=2):
            record = _parse(line)
            if not (isinstance(record, dict) and isinstance(record.get("i"), int) and isinstance(record.get("h"), str)):
                raise CheckpointMismatchError(f"{self.path} line {number} is damaged (not a result record)")
            self.records[record["i"]] = record  # a later line (a failed prompt retried) wins
        self._check(first, hashes, header)
        return True

    def _check(self, found: dict[str, Any], hashes: Sequence[str], header: dict[str, Any]) -> None:
        if found.get("fingerprint") != header["fingerprint"] or found.get("prompts") != len(hashes):
            where = ""
            for index in sorted(self.records):
                if index >= len(hashes) or self.records[index]["h"] != hashes[index]:
                    where = f"; prompt {index} differs"
                    break
            recorded = found.get("prompts")
            if not where and isinstance(recorded, int) and recorded != len(hashes):
                first, last = sorted((recorded, len(hashes)))
                where = (f"; prompts {first} to {last - 1} are new" if len(hashes) > recorded
                         else f"; prompts {first} to {last - 1} are gone")
            raise CheckpointMismatchError(
                f"{self.path} was written for a different prompt list ({found.get('prompts')} prompts, now "
                f"{len(hashes)}{where}); pass another checkpoint path, or delete the file to start over")
        if found.get("model") != header["model"]:
            raise CheckpointMismatchError(
                f"{self.path} was written for model {found.get('model')!r}, not {header['model']!r}; "
                "pass another checkpoint path, or delete the file to start over")
        for index, record in self.records.items():
            if index >= len(hashes) or record["h"] != hashes[index]:  # only a hand-edited file gets here
                raise CheckpointMismatchError(f"{self.path} records prompt {index}, which is not in this list")

    def write(self, record: dict[str, Any]) -> bool:
        """Append one record; False (nothing written) once the checkpoint is closed."""
        with self._lock:
            if self._fd is None:
                return False  # a worker abandoned at an interrupt finished after all: not recorded
            self._write_line(record)
            return True

    def _write_line(self, record: dict[str, Any]) -> None:
        assert self._fd is not None
        data = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def close(self) -> None:
        """Flush to disk and close; later writes are dropped."""
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.fsync(fd)
            except OSError:
                pass
            os.close(fd)


def _lock(fd: int) -> None:
    """An exclusive advisory lock for as long as ``fd`` is open (POSIX; elsewhere none)."""
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _parse(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None
