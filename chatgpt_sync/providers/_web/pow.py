"""Sentinel proof of work: the fingerprint config, the requirements token and the answer token.

The answer token is ``"gAAAAAB" + base64(json(config with [3] = i, [9] = i >> 1))`` for the first
``i`` whose SHA3-512(seed + payload) hex prefix is below the server's difficulty (protocols.md §2).
The search is the hot path, so it never re-serializes the whole config: the JSON and its base64
are precomputed around the two counters and only a few bytes are re-encoded per attempt.
The service's difficulties take tens of attempts, so set-up is kept in proportion: encodings are
made in blocks that grow with the attempts made, and what does not depend on the seed is kept
for the next solve (a session solves its requirements and answer tokens with one config).
"""

from __future__ import annotations

import binascii
import hashlib
import json
import operator
import os
import random
import time
from typing import Any, Iterable, Iterator, Sequence, Tuple

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

# A low-digit table of 10**m entries is built once the search has made TABLE_AFTER times that
# many attempts: a table costs about what encoding its entries in blocks does, and saves ~3%.
TABLE_AFTER = 4
# A block is as large as the attempts made so far (at least FIRST_BLOCK, at most MAX_BLOCK), so
# an easy solve (tens of attempts) encodes little that it never tries. 20 = the first two runs.
FIRST_BLOCK = 20
MAX_BLOCK = 4_096
# Attempts whose encodings are kept with the config's pieces for the next solve (~0.15 MiB).
SMALL_LIMIT = 512
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
    if type(difficulty) is str and difficulty in _TARGETS:
        return _TARGETS[difficulty]
    if not isinstance(difficulty, str) or not difficulty:
        raise InvalidRequestError(f"proof-of-work difficulty must be a non-empty hex string, got {difficulty!r}")
    # Checked by hand: bytes.fromhex would also accept spaces inside the string.
    if not set(difficulty) <= _HEX_DIGITS:
        raise InvalidRequestError(f"proof-of-work difficulty must be hex, got {difficulty!r}")
    # An odd length gets a trailing "0": hex[:L] < D  <=>  digest[:ceil(L/2)] < fromhex(D + "0").
    target = bytes.fromhex(difficulty + "0" * (len(difficulty) % 2))
    if len(target) > 64:
        raise InvalidRequestError("proof-of-work difficulty is longer than a SHA3-512 digest")
    if len(_TARGETS) >= 256:
        _TARGETS.clear()
    _TARGETS[difficulty] = target
    return target


# Difficulties already checked (a service issues few distinct ones).
_TARGETS: dict[str, bytes] = {}


# (B bytes that end i's last group, format of i's groups, base64 of the rest of B up to the
#  groups of i >> 1, their format, base64 of the rest of C, whether those groups are whole).
_Layout = Tuple[bytes, bytes, bytes, bytes, bytes, bool]


class _Pieces:
    """The seed-independent encodings for one config, shared by the solves that use it.

    A session solves its requirements token and then its answer token with the same config, so
    the second solve (and every later one) finds the layouts and its first attempts ready.
    """

    def __init__(self, a: bytes, b: bytes, c: bytes) -> None:
        cut = len(a) - len(a) % 3
        self.a_rem, self.b, self.c = a[cut:], b, c
        self.prefix64 = _b64(a[:cut], newline=False)
        self.layouts: dict[tuple[int, int], _Layout] = {}
        # Formats need "%" doubled; a config rarely has one, so most skip the replacing.
        self.percent = b"%" in a or b"%" in b or b"%" in c
        # By the B bytes that complete i's last group (0-2): (b_head, fmt_i, mid, b_rem). A
        # session's configs share A's end and B (user agent, build, languages): so do they.
        b_parts = _B_PARTS.get((self.a_rem, b))
        if b_parts is None:
            if len(_B_PARTS) >= 16:
                _B_PARTS.clear()
            b_parts = _B_PARTS[(self.a_rem, b)] = {}
        self.b_parts = b_parts
        # (rows, suffixes): the base64 after the prefix, split at i's groups, for the first
        # attempts: i < len(rows) and i >> 1 < len(suffixes) = len(rows) / 2. Replaced, never
        # changed, so that threads may share it.
        self.small: tuple[list[bytes], list[bytes]] = ([], [])
        # The config's elements when all are scalars (see ``_same_config``), else None.
        self.items: tuple[Any, ...] | None = None


# The pieces of the last few configs (a session's config is solved at least twice).
_PIECES: dict[tuple[bytes, bytes, bytes], _Pieces] = {}
# _Pieces.b_parts by (the end of A, B).
_B_PARTS: dict[tuple[bytes, bytes], dict[int, tuple[bytes, bytes, bytes, bytes]]] = {}
_SCALARS = frozenset((str, int, float, bool, type(None)))


def _same_config(config: Sequence[Any]) -> _Pieces | None:
    """The pieces of a config made of the very same scalar objects, without encoding it."""
    for pieces in tuple(_PIECES.values()):
        items = pieces.items
        # Identity, not equality: 1, 1.0 and True, or 0.0 and -0.0, are equal but encode apart.
        if items is not None and len(items) == len(config) and all(map(operator.is_, items, config)):
            return pieces
    return None


def _pieces(config: Sequence[Any]) -> _Pieces:
    """Encode ``config`` and return its pieces, shared with earlier solves of an equal config."""
    try:
        # One call of the C encoder, with a marker for each counter: A, B and C are what lies
        # around the markers. A config whose own text holds the marker is encoded item by item.
        marked = list(config)
        marked[3] = marked[9] = "\x00"
        split = _JSON.encode(marked).split(_MARKER)
        if len(split) == 3:
            key = (split[0].encode("utf-8"), split[1].encode("utf-8"), split[2].encode("utf-8"))
        else:
            parts = [_JSON.encode(item) for item in config]
            # Joining item encodings with "," equals the compact dump of the whole list.
            key = (("[" + ",".join(parts[:3]) + ",").encode("utf-8"),
                   ("," + ",".join(parts[4:9]) + ",").encode("utf-8"),
                   ("," + ",".join(parts[10:]) + "]").encode("utf-8") if len(parts) > 10 else b"]")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise InvalidRequestError(f"proof-of-work config is not JSON-serializable: {exc}") from None
    pieces = _PIECES.get(key)
    if pieces is None:
        if len(_PIECES) >= 4:
            _PIECES.clear()
        pieces = _PIECES[key] = _Pieces(*key)
    # Scalars cannot change in place, so the same objects always encode the same way.
    if {type(item) for item in config} <= _SCALARS:
        pieces.items = tuple(config)
    return pieces


# How _JSON writes the marker "\x00" (control characters are always escaped).
_MARKER = '"\\u0000"'


class _Plan:
    """Precomputed pieces of ``seed + base64(json)`` around the two counters.

    The JSON is ``A + str(i) + B + str(i >> 1) + C``. Base64 maps 3 bytes to 4 characters, so
    every 3-byte-aligned run of A, B or C is encoded once; only the few bytes around each counter
    are encoded per attempt. The alignment of B and C depends on the counters' digit counts,
    which are constant over long runs of i (see ``_runs``).

    Set-up grows with the work done. Attempts are encoded in blocks as large as the attempts
    made so far (one base64 call for a block's counters); the first ``SMALL_LIMIT`` are kept
    with the config's pieces for later solves. Only a search that has gone on builds the
    low-digit tables (``_low_digits``, see ``TABLE_AFTER``) of the long hot loop.
    """

    def __init__(self, seed: str, difficulty: str, config: Sequence[Any]) -> None:
        if not isinstance(seed, str):
            raise InvalidRequestError(f"proof-of-work seed must be a string, got {type(seed).__name__}")
        if not isinstance(config, (list, tuple)) or len(config) < 10:
            raise InvalidRequestError("proof-of-work config must be a list of at least 10 elements")
        self.target = _target(difficulty)
        self.pieces = pieces = _same_config(config) or _pieces(config)
        self.a_rem, self.b, self.c, self.prefix64 = pieces.a_rem, pieces.b, pieces.c, pieces.prefix64
        # Keccak absorbs whole blocks, so the copied state skips rehashing the fixed prefix.
        self.base = hashlib.sha3_512(seed.encode("utf-8") + self.prefix64)
        # Attempts made so far: blocks grow with it, and tables wait for it (TABLE_AFTER).
        self.done = 0
        # (i, base64 of the payload after the prefix) for the last solution found.
        self._hit: tuple[int, bytes] = (-1, b"")
        self._layouts = pieces.layouts
        self._tables: dict[tuple[int, int], tuple[int, list[bytes]]] = {}

    def layout(self, len_i: int, len_j: int) -> _Layout:
        """Return the pieces around the counters for these digit counts (see ``_Layout``)."""
        layout = self._layouts.get((len_i, len_j))
        if layout is None:
            pieces, b, c = self.pieces, self.b, self.c
            escape = _escape if pieces.percent else bytes
            skip = -(len(self.a_rem) + len_i) % 3  # B bytes that complete i's last group
            b_parts = pieces.b_parts.get(skip)
            if b_parts is None:
                end = len(b) - (len(b) - skip) % 3
                b_parts = pieces.b_parts[skip] = (b[:skip], escape(self.a_rem) + b"%d" + escape(b[:skip]),
                                                  _b64(b[skip:end], newline=False), b[end:])
            b_head, fmt_i, mid, b_rem = b_parts
            c_skip = min(-(len(b_rem) + len_j) % 3, len(c))
            # The tail is the end of the payload, so it may carry "=" padding.
            layout = self._layouts[(len_i, len_j)] = (
                b_head, fmt_i, mid, escape(b_rem) + b"%d" + escape(c[:c_skip]),
                _b64(c[c_skip:], newline=False), (len(b_rem) + len_j + c_skip) % 3 == 0)
        return layout

    def payload(self, i: int) -> str:
        """Return the base64 payload for counter ``i`` (exactly what ``search`` hashes)."""
        if self._hit[0] == i:
            return (self.prefix64 + self._hit[1]).decode("ascii")
        _, fmt_i, mid, fmt_j, tail, _ = self.layout(len(str(i)), len(str(i >> 1)))
        raw = (self.prefix64 + _b64(fmt_i % i, newline=False) + mid
               + _b64(fmt_j % (i >> 1), newline=False) + tail)
        return raw.decode("ascii")

    def search(self, lo: int, hi: int) -> int | None:
        """Return the first i in [lo, hi) that solves the challenge, or ``None``."""
        while lo < min(hi, SMALL_LIMIT):
            rows, suffixes = self.pieces.small
            # Encode a block as large as the attempts made so far, unless already there.
            want = min(hi, SMALL_LIMIT, lo + max(self.done, FIRST_BLOCK))
            if len(rows) < want:
                rows, suffixes = self._grow_small(want + (want & 1))
            end = min(hi, len(rows))
            self.done += end - lo
            found = self._scan(0, lo, end, rows, suffixes[lo >> 1:])
            if found is not None:
                return found
            lo = end
        for run_lo, run_hi in _runs(lo, hi):
            found = self._search_run(run_lo, run_hi)
            if found is not None:
                return found
        return None

    def _grow_small(self, end: int) -> tuple[list[bytes], list[bytes]]:
        """Extend the config's first attempts' encodings to i < ``end`` (even)."""
        rows, suffixes = self.pieces.small
        start = len(rows)
        rows, suffixes = list(rows), list(suffixes)
        for run_lo, run_hi in _runs(start, end):  # even edges, so whole pairs
            len_i, len_j = len(str(run_lo)), len(str(run_lo >> 1))
            _, fmt_i, mid, fmt_j, tail, whole_j = self.layout(len_i, len_j)
            rows += _counters(fmt_i, len_i, run_lo, run_hi, True)
            suffixes += [mid + part + tail for part in _counters(fmt_j, len_j, run_lo >> 1, run_hi >> 1, whole_j)]
        self.pieces.small = (rows, suffixes)
        return rows, suffixes

    def _low_digits(self, len_i: int, len_j: int) -> tuple[int, list[bytes]]:
        """Split i into high digits and m low digits so the low ones start a base64 group.

        Returns ``(m, table)`` with ``table[k]`` = base64 of the zero-padded low digits ``k``
        plus the bytes of B that complete the group: a list index replaces per-attempt encoding.
        The table is empty when i has no more than m digits, or m is 1 (a 10-entry table would
        make blocks too short to pay for their set-up): the search encodes blocks instead.
        """
        key = (len_i, len_j)
        if key not in self._tables:
            m = (len(self.a_rem) + len_i - 1) % 3 + 1
            table: list[bytes] = []
            if 1 < m < len_i:
                fmt = b"%%0%dd" % m + _escape(self.layout(len_i, len_j)[0])
                table = [_b64(fmt % k, newline=False) for k in range(10 ** m)]
            self._tables[key] = (m, table)
        return self._tables[key]

    def _search_run(self, lo: int, hi: int) -> int | None:
        """``search`` over a run where i and i >> 1 keep their digit counts.

        Blocks start on an even i, so i and i + 1 share i >> 1 (``_scan``). Their encodings
        come from one base64 call per block, or from a table once the search has gone on.
        """
        len_i, len_j = len(str(lo)), len(str(lo >> 1))
        layout = self.layout(len_i, len_j)
        _, fmt_i, mid, fmt_j, tail, whole_j = layout
        m = (len(self.a_rem) + len_i - 1) % 3 + 1  # as in _low_digits
        while lo < hi:
            if 1 < m < len_i and self.done >= TABLE_AFTER * 10 ** m:
                return self._search_tables(layout, lo, hi)
            base = lo & ~1
            end = min(hi, lo + min(max(self.done, FIRST_BLOCK), MAX_BLOCK))
            self.done += end - lo
            parts = _encode(fmt_j, lo >> 1, ((end - 1) >> 1) + 1, whole_j)
            found = self._scan(base, lo, end, _encode(fmt_i, base, end, True),
                               (mid + part + tail for part in parts))
            if found is not None:
                return found
            lo = end
        return None

    def _search_tables(self, layout: _Layout, lo: int, hi: int) -> int | None:
        """``_search_run`` with i's encodings from the low-digit table (the long hot loop)."""
        m, table = self._low_digits(len(str(lo)), len(str(lo >> 1)))
        size: int = 10 ** m
        _, _, mid, fmt_j, tail, whole_j = layout
        fmt_hi = _escape(self.a_rem) + b"%d"
        for block in range(lo // size, (hi - 1) // size + 1):
            base = block * size
            head = _b64(fmt_hi % block, newline=False)
            i_lo, i_hi = max(lo, base), min(hi, base + size)
            self.done += i_hi - i_lo
            parts = _encode(fmt_j, i_lo >> 1, ((i_hi - 1) >> 1) + 1, whole_j)
            found = self._scan(base, i_lo, i_hi, [head + t for t in table],
                               (mid + part + tail for part in parts))
            if found is not None:
                return found
        return None

    def _scan(self, base: int, lo: int, hi: int, rows: Sequence[bytes],
              suffixes: Iterable[bytes]) -> int | None:
        """Try i in [lo, hi): ``rows[i - base]`` encodes i's groups, ``base`` is even.

        i and i + 1 share i >> 1 for even i, so ``suffixes`` holds the rest of the payload
        once per pair, from the pair holding ``lo``.
        """
        target, copy = self.target, self.base.copy
        k, k_lo, k_hi = (lo & ~1) - base, lo - base, hi - base
        for suffix in suffixes:
            if k >= k_hi:
                break
            if k >= k_lo:
                h = copy()
                h.update(rows[k])
                h.update(suffix)
                # A 64-byte digest that equals the shorter target on its prefix sorts after
                # it, so this is exactly the strict test digest[:len(target)] < target.
                if h.digest() < target:
                    self._hit = (base + k, rows[k] + suffix)
                    return base + k
            k += 1
            if k < k_hi:
                h = copy()
                h.update(rows[k])
                h.update(suffix)
                if h.digest() < target:
                    self._hit = (base + k, rows[k] + suffix)
                    return base + k
            k += 1
        return None


# Encodings of small counters, shared by all configs: (format, digits) -> base64 of
# (format % n) for n from the first number with that many digits. A format is the few bytes
# around a counter, which configs of one shape (every get_config of a session) share, so a
# fresh config finds its first attempts encoded. Lists are replaced, never changed.
_COUNTERS: dict[tuple[bytes, int], list[bytes]] = {}


def _counters(fmt: bytes, digits: int, lo: int, hi: int, whole: bool) -> list[bytes]:
    """``_encode(fmt, lo, hi, whole)`` for counters of ``digits`` digits, through ``_COUNTERS``."""
    first = 10 ** (digits - 1) if digits > 1 else 0
    done = _COUNTERS.get((fmt, digits), [])
    if first + len(done) < hi:
        if len(_COUNTERS) >= 64:
            _COUNTERS.clear()  # many config shapes: start over rather than grow
        done = done + _encode(fmt, first + len(done), hi, whole)
        _COUNTERS[(fmt, digits)] = done
    return done[lo - first:hi - first]


def _encode(fmt: bytes, lo: int, hi: int, whole: bool) -> list[bytes]:
    """base64 of ``fmt % n`` for n in [lo, hi), one base64 call for all when groups are ``whole``."""
    if whole:
        enc = _b64((fmt * (hi - lo)) % tuple(range(lo, hi)), newline=False)
        step = len(enc) // (hi - lo)
        return [enc[at:at + step] for at in range(0, len(enc), step)]
    # i >> 1 ends the payload (a 10-element config): each encoding has its own padding.
    return [_b64(fmt % n, newline=False) for n in range(lo, hi)]


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
