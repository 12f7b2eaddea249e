"""Sentinel proof of work: the fingerprint config, the requirements token and the answer token.

The answer token is ``"gAAAAAB" + base64(json(config with [3] = i, [9] = i >> 1))`` for the first
``i`` whose SHA3-512(seed + payload) hex prefix is below the server's difficulty (protocols.md §2).
The search is the hot path, so it never re-serializes the whole config: the JSON and its base64
are precomputed around the two counters and only a few bytes are re-encoded per attempt.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import random
import time
from typing import Any, Iterator, Sequence, Tuple

from ...errors import InvalidRequestError, ProofOfWorkError

__all__ = [
    "DEFAULT_DATA_BUILD",
    "get_config",
    "get_requirements_token",
    "get_answer_token",
    "random_uuid",
]

DEFAULT_DATA_BUILD = "prod-db8e51e8414e068257091cf5003a62d3d4ee6ed0"
ANSWER_PREFIX = "gAAAAAB"
REQUIREMENTS_PREFIX = "gAAAAAC"
REQUIREMENTS_DIFFICULTY = "0fffff"

# Attempts solved in-process before fanning out (~50 ms): easy difficulties never pay for processes.
INLINE_ATTEMPTS = 16_384
# Attempts a worker makes between looks at the stop flag (~15 ms): bounds the stop latency.
WORKER_CHUNK = 4_096

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Values agree with the rest of the config (language en-US, hardwareConcurrency 8).
_NAVIGATOR_KEYS = (
    "webdriver\u2212false", "hardwareConcurrency\u22128", "cookieEnabled\u2212true",
    "onLine\u2212true", "pdfViewerEnabled\u2212true", "maxTouchPoints\u22120",
    "language\u2212en-US", "vendor\u2212Google Inc.", "product\u2212Gecko",
    "productSub\u221220030107", "appCodeName\u2212Mozilla", "appName\u2212Netscape",
    "deviceMemory\u22128", "vendorSub\u2212", "doNotTrack\u2212null",
)
_WINDOW_KEYS = (
    "onclick", "ondragend", "onpointerdown", "onbeforeinput", "onselectionchange",
    "__reactRouterContext", "__NEXT_DATA__", "webkitRequestFileSystem", "chrome",
    "requestIdleCallback", "onanimationend", "caches",
)
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_b64 = binascii.b2a_base64


def random_uuid() -> str:
    """``str(uuid.uuid4())``, without importing uuid (which imports platform: a few ms of import time)."""
    data = bytearray(os.urandom(16))
    data[6] = data[6] & 0x0F | 0x40  # version 4
    data[8] = data[8] & 0x3F | 0x80  # RFC 4122 variant
    text = data.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def get_config(user_agent: str) -> list[Any]:
    """Return a fresh 18-element browser fingerprint config for ``user_agent`` (§2.1)."""
    now = time.time()
    utc = time.gmtime(now)
    # UTC clock labelled as UTC, so the date text and its offset agree (g4f's do not).
    date = "%s %s %02d %d %02d:%02d:%02d GMT+0000 (Coordinated Universal Time)" % (
        _DAYS[utc.tm_wday], _MONTHS[utc.tm_mon - 1], utc.tm_mday, utc.tm_year,
        utc.tm_hour, utc.tm_min, utc.tm_sec)
    return [
        random.choice((16, 24, 32)) + random.choice((3000, 4000, 6000)),
        date,
        None,
        random.random(),
        user_agent,
        None,
        DEFAULT_DATA_BUILD,
        "en-US",
        "en-US,en",
        0,
        random.choice(_NAVIGATOR_KEYS),
        "location",
        random.choice(_WINDOW_KEYS),
        # performance.now(): milliseconds since page load, at Chrome's 0.1 ms resolution.
        round(random.uniform(800.0, 12_000.0), 1),
        random_uuid(),
        "",
        8,
        int(now),
    ]


def _target(difficulty: str) -> bytes:
    """Digest bytes that a solution's digest must sort strictly below."""
    if not isinstance(difficulty, str) or not difficulty:
        raise InvalidRequestError(f"proof-of-work difficulty must be a non-empty hex string, got {difficulty!r}")
    # Checked by hand: bytes.fromhex would also accept spaces inside the string.
    if not set(difficulty) <= _HEX_DIGITS:
        raise InvalidRequestError(f"proof-of-work difficulty must be hex, got {difficulty!r}")
    # An odd length gets a trailing "0": hex[:L] < D  <=>  digest[:ceil(L/2)] < fromhex(D + "0").
    target = bytes.fromhex(difficulty + "0" * (len(difficulty) % 2))
    if len(target) > 64:
        raise InvalidRequestError("proof-of-work difficulty is longer than a SHA3-512 digest")
    return target


def _split(data: bytes, skip: int) -> tuple[bytes, bytes, bytes]:
    """Split ``data`` into (first ``skip`` bytes, a whole number of 3-byte groups, the rest)."""
    body_end = skip + (len(data) - skip) // 3 * 3
    return data[:skip], data[skip:body_end], data[body_end:]


class _Plan:
    """Precomputed pieces of ``seed + base64(json)`` around the two counters.

    The JSON is ``A + str(i) + B + str(i >> 1) + C``. Base64 maps 3 bytes to 4 characters, so
    every 3-byte-aligned run of A, B or C is encoded once; only the few bytes around each counter
    are encoded per attempt. The alignment of B and C depends on the counters' digit counts,
    which are constant over long runs of i (see ``_runs``).
    """

    def __init__(self, seed: str, difficulty: str, config: Sequence[Any]) -> None:
        if not isinstance(seed, str):
            raise InvalidRequestError(f"proof-of-work seed must be a string, got {type(seed).__name__}")
        if not isinstance(config, (list, tuple)) or len(config) < 10:
            raise InvalidRequestError("proof-of-work config must be a list of at least 10 elements")
        self.target = _target(difficulty)
        try:
            parts = [_JSON.encode(item).encode("utf-8") for item in config]
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(f"proof-of-work config is not JSON-serializable: {exc}") from None
        # Joining item encodings with "," equals the compact dump of the whole list.
        a = b"[" + b"".join(p + b"," for p in parts[:3])
        self.b = b"," + b",".join(parts[4:9]) + b","
        self.c = b"".join(b"," + p for p in parts[10:]) + b"]"
        _, prefix, self.a_rem = _split(a, 0)
        self.prefix64 = _b64(prefix, newline=False)
        # Keccak absorbs whole blocks, so the copied state skips rehashing the fixed prefix.
        self.base = hashlib.sha3_512(seed.encode("utf-8") + self.prefix64)
        self._layouts: dict[tuple[int, int], _Layout] = {}
        self._tables: dict[tuple[int, int], tuple[int, list[bytes]]] = {}

    def layout(self, len_i: int, len_j: int) -> _Layout:
        """Return (B bytes ending i's group, fixed base64 of B, format for i >> 1, base64 of C)."""
        key = (len_i, len_j)
        if key not in self._layouts:
            b_head, b_body, b_rem = _split(self.b, -(len(self.a_rem) + len_i) % 3)
            c_head, c_body, c_rem = _split(self.c, min(-(len(b_rem) + len_j) % 3, len(self.c)))
            fmt_j = _escape(b_rem) + b"%d" + _escape(c_head)
            # The tail is the end of the payload, so it may carry "=" padding.
            self._layouts[key] = (b_head, _b64(b_body, newline=False), fmt_j,
                                  _b64(c_body + c_rem, newline=False))
        return self._layouts[key]

    def encode_i(self, i: int) -> bytes:
        """Base64 of the 3-byte groups holding ``str(i)`` (from the end of the fixed prefix)."""
        b_head = self.layout(len(str(i)), len(str(i >> 1)))[0]
        return _b64(self.a_rem + b"%d" % i + b_head, newline=False)

    def payload(self, i: int) -> str:
        """Return the base64 payload for counter ``i`` (exactly what ``search`` hashes)."""
        _, mid, fmt_j, tail = self.layout(len(str(i)), len(str(i >> 1)))
        raw = self.prefix64 + self.encode_i(i) + mid + _b64(fmt_j % (i >> 1), newline=False) + tail
        return raw.decode("ascii")

    def search(self, lo: int, hi: int) -> int | None:
        """Return the first i in [lo, hi) that solves the challenge, or ``None``."""
        for run_lo, run_hi in _runs(lo, hi):
            found = self._search_run(run_lo, run_hi)
            if found is not None:
                return found
        return None

    def _low_digits(self, len_i: int, len_j: int) -> tuple[int, list[bytes]]:
        """Split i into high digits and m low digits so the low ones start a base64 group.

        Returns ``(m, table)`` with ``table[k]`` = base64 of the zero-padded low digits ``k``
        plus the bytes of B that complete the group: a list index replaces per-attempt encoding.
        """
        key = (len_i, len_j)
        if key not in self._tables:
            m = (len(self.a_rem) + len_i - 1) % 3 + 1
            if m == 1 and len_i > 4:
                m = 4  # a 10-entry table would make blocks too short to amortize their set-up
            b_head = self.layout(len_i, len_j)[0]
            self._tables[key] = (m, [_b64(b"%0*d" % (m, k) + b_head, newline=False)
                                     for k in range(10 ** m)])
        return self._tables[key]

    def _search_run(self, lo: int, hi: int) -> int | None:
        """``search`` over a run where i and i >> 1 keep their digit counts."""
        target, copy, b64 = self.target, self.base.copy, _b64
        len_i = len(str(lo))
        _, mid, fmt_j, tail = self.layout(len_i, len(str(lo >> 1)))
        m, table = self._low_digits(len_i, len(str(lo >> 1)))
        if len_i <= m:  # i < 1000: too few digits to split, encode each one
            for i in range(lo, hi):
                h = copy()
                h.update(self.encode_i(i) + mid + b64(fmt_j % (i >> 1), newline=False) + tail)
                if h.digest() < target:
                    return i
            return None
        size: int = 10 ** m
        fmt_hi = _escape(self.a_rem) + b"%d"
        for block in range(lo // size, (hi - 1) // size + 1):
            base = block * size
            head = b64(fmt_hi % block, newline=False)
            rows = [head + t for t in table]
            k_lo, k_hi = max(lo - base, 0), min(hi - base, size)
            # size is even, so i = base + k and i + 1 share i >> 1 for even k: encode it once.
            for k in range(k_lo - (k_lo & 1), k_hi, 2):
                suffix = mid + b64(fmt_j % ((base + k) >> 1), newline=False) + tail
                if k >= k_lo:
                    h = copy()
                    h.update(rows[k])
                    h.update(suffix)
                    # A 64-byte digest that equals the shorter target on its prefix sorts after
                    # it, so this is exactly the strict test digest[:len(target)] < target.
                    if h.digest() < target:
                        return base + k
                if k + 1 < k_hi:
                    h = copy()
                    h.update(rows[k + 1])
                    h.update(suffix)
                    if h.digest() < target:
                        return base + k + 1
        return None


_Layout = Tuple[bytes, bytes, bytes, bytes]


def _escape(data: bytes) -> bytes:
    """Make ``data`` literal inside a bytes %-format."""
    return data.replace(b"%", b"%%")


def _runs(lo: int, hi: int) -> Iterator[tuple[int, int]]:
    """Split [lo, hi) where the digit count of i or of i >> 1 changes (at 10**k and 2 * 10**k)."""
    while lo < hi:
        end = hi
        for edge in (10 ** len(str(lo)), 2 * 10 ** len(str(lo >> 1))):
            if lo < edge < end:
                end = edge
        yield lo, end
        lo = end


class _Shared:
    """State shared by the searchers, all guarded by one lock."""

    def __init__(self, ctx: Any) -> None:
        self.lock = ctx.Lock()
        self.stop = ctx.Event()  # set once an answer is found
        self.next_chunk = ctx.RawValue("q", 0)
        self.busy = ctx.RawValue("q", 0)  # chunks claimed and not yet finished
        self.answer = ctx.RawValue("q", -1)


def _claim_and_search(plan: _Plan, shared: _Shared, start: int, stop: int) -> int | None:
    """Search chunks taken in order from the shared counter until one solves or none is left."""
    while not shared.stop.is_set():
        # In-order hand-out: a slow-starting worker simply takes fewer chunks.
        with shared.lock:
            lo = start + shared.next_chunk.value * WORKER_CHUNK
            if lo >= stop:
                return None
            shared.next_chunk.value += 1
            shared.busy.value += 1
        found = plan.search(lo, min(lo + WORKER_CHUNK, stop))
        with shared.lock:
            shared.busy.value -= 1
            if found is not None and shared.answer.value < 0:
                shared.answer.value = found
        if found is not None:
            shared.stop.set()
            return found
    return None


def _worker(seed: str, difficulty: str, config: list[Any], shared: _Shared, start: int, stop: int) -> None:
    """Worker process body; the answer, if any, goes into ``shared``."""
    _claim_and_search(_Plan(seed, difficulty, config), shared, start, stop)


def _context() -> Any:
    """The multiprocessing context for workers.

    "forkserver" where available: it forks from a clean single-threaded server, so it is safe
    in a threaded application (plain "fork" can deadlock on locks held by other threads) and
    cheaper per start than "spawn". Elsewhere (Windows, macOS builds without it) "spawn".
    Like any multiprocessing use, the main script needs an ``if __name__ == "__main__":`` guard.
    Imported here: only ``workers > 1`` needs it, and it costs more than the rest of this module.
    """
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _fan_out(plan: _Plan, config: list[Any], seed: str, difficulty: str,
             start: int, stop: int, workers: int) -> int | None:
    """Search [start, stop) here and in ``workers - 1`` processes; all are gone on return."""
    ctx = _context()
    shared = _Shared(ctx)
    procs: list[Any] = []
    try:
        for n in range(1, workers):
            proc = ctx.Process(target=_worker, name=f"chatgpt_sync-pow-{n}", daemon=True,
                               args=(seed, difficulty, config, shared, start, stop))
            try:
                proc.start()
            except (AssertionError, OSError):
                break  # e.g. inside a daemon process or out of processes: search with fewer
            procs.append(proc)
        # This process searches too, so no core idles while the children start up.
        found = _claim_and_search(plan, shared, start, stop)
        # Then wait only for chunks still in flight, not for children that never got one.
        while found is None:
            with shared.lock:
                if shared.answer.value >= 0:
                    return int(shared.answer.value)
                if shared.busy.value == 0:
                    return None
            if not any(proc.is_alive() for proc in procs):
                return None  # a child died mid-chunk: count its range as searched
            time.sleep(0.002)
        return found
    finally:
        shared.stop.set()
        # The answer is settled, so nothing a child still holds is needed: stop it now rather
        # than wait out its chunk or its start-up. Nothing in it needs cleaning up.
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join()


def _solve(seed: str, difficulty: str, config: Sequence[Any], max_attempts: int, workers: int) -> str:
    """Return the solved base64 payload, or raise ``ProofOfWorkError``."""
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise InvalidRequestError(f"max_attempts must be a positive integer, got {max_attempts!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidRequestError(f"workers must be a positive integer, got {workers!r}")
    plan = _Plan(seed, difficulty, config)
    inline = max_attempts if workers == 1 else min(max_attempts, INLINE_ATTEMPTS)
    found = plan.search(0, inline)
    if found is None and inline < max_attempts:
        # A plain list copy is pickled for the children; the caller's list is never touched.
        found = _fan_out(plan, list(config), seed, difficulty, inline, max_attempts, workers)
    if found is None:
        raise ProofOfWorkError(
            f"proof of work not solved: difficulty {difficulty!r}, {max_attempts} attempts")
    return plan.payload(found)


def get_answer_token(seed: str, difficulty: str, config: list[Any], *,
                     max_attempts: int = 500_000, workers: int = 1) -> str:
    """Solve the server's challenge; return ``"gAAAAAB" + payload`` (§2.3).

    ``workers > 1`` fans out to that many processes when a short in-process search fails.
    Raises ``ProofOfWorkError`` after ``max_attempts`` (never a give-up token) and
    ``InvalidRequestError`` (a ``ValueError``) for a non-hex difficulty or a bad config.
    """
    return ANSWER_PREFIX + _solve(seed, difficulty, config, max_attempts, workers)


def get_requirements_token(config: list[Any]) -> str:
    """Return ``"gAAAAAC" + payload`` solved against a random local seed (§2.2)."""
    # The seed is never sent, so the server cannot check this hash; it is solved for fidelity.
    return REQUIREMENTS_PREFIX + _solve(str(random.random()), REQUIREMENTS_DIFFICULTY, config, 500_000, 1)
