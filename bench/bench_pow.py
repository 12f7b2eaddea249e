"""Proof-of-work benchmark: raw SHA3-512 vs our solver vs g4f's ``generate_answer``, and workers.

Run from the repository root::

    .venv/bin/python bench/bench_pow.py

All single-core rates use the same seeds and the same seed + payload length (~610 bytes), and
an impossible difficulty so every method does exactly ``--attempts`` hashes. Methods are run
interleaved for ``--rounds`` rounds and the median rate is reported, to damp machine noise.
``g4f`` is optional (``.venv/bin/pip install g4f``, bench only); without it a labelled
reimplementation of its naive per-attempt loop is measured instead.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import json
import multiprocessing
import os
import statistics
import sys
import time
from typing import Any, Callable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from chatgpt_sync.errors import ProofOfWorkError  # noqa: E402
from chatgpt_sync.providers._web.pow import get_answer_token  # noqa: E402

UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
# The protocols.md §2.7 config with longer (real-browser) navigator and window keys, so that
# seed + payload is ~610 bytes like a live fingerprint.
CONFIG: list[Any] = [
    4016, "Mon Jan 01 2024 00:00:00 GMT+0200 (Central European Summer Time)", None, 0.5, UA, None,
    "prod-db8e51e8414e068257091cf5003a62d3d4ee6ed0", "en-US", "en-US,es-US,en,es", 0,
    "userAgentData\u2212[object NavigatorUAData]", "location", "__reactRouterContext",
    12345.599999999627, "00000000-0000-4000-8000-000000000000", "", 8, 1704060000,
]
# Seeds shaped like the server's (str(random.random())).
SEEDS = ["0.7143947762904524", "0.1234567890123456", "0.9876543210987654"]
IMPOSSIBLE = "0000000000"


def _payload(i: int) -> bytes:
    values = list(CONFIG)
    values[3], values[9] = i, i >> 1
    return base64.b64encode(json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode())


def raw_hashlib(seed: str, attempts: int) -> float:
    """Seconds for ``attempts`` one-shot SHA3-512 digests of a seed + payload-sized input."""
    data = seed.encode() + _payload(150_000)
    sha3 = hashlib.sha3_512
    start = time.perf_counter()
    for _ in range(attempts):
        sha3(data).digest()
    return time.perf_counter() - start


def ours(seed: str, attempts: int) -> float:
    """Seconds for our single-core solver to exhaust ``attempts`` (until ProofOfWorkError)."""
    start = time.perf_counter()
    try:
        get_answer_token(seed, IMPOSSIBLE, CONFIG, max_attempts=attempts)
    except ProofOfWorkError:
        return time.perf_counter() - start
    raise AssertionError("the impossible difficulty was solved")


def _naive_generate_answer(seed: str, diff: str, config: list[Any], max_attempts: int) -> tuple[str, bool]:
    """REIMPLEMENTATION (used only if g4f is not importable) of g4f's naive per-attempt loop."""
    dumps = json.dumps
    p1 = (dumps(config[:3], separators=(",", ":"), ensure_ascii=False)[:-1] + ",").encode()
    p2 = ("," + dumps(config[4:9], separators=(",", ":"), ensure_ascii=False)[1:-1] + ",").encode()
    p3 = ("," + dumps(config[10:], separators=(",", ":"), ensure_ascii=False)[1:]).encode()
    target, seed_bytes = bytes.fromhex(diff), seed.encode()
    for i in range(max_attempts):
        encoded = base64.b64encode(p1 + str(i).encode() + p2 + str(i >> 1).encode() + p3)
        if hashlib.new("sha3_512", seed_bytes + encoded).digest()[:len(diff)] <= target:
            return encoded.decode(), True
    return "", False


def load_g4f() -> tuple[str, Callable[[str, int], float]]:
    """Return (label, timer) for g4f's ``generate_answer`` or the labelled reimplementation."""
    try:
        from g4f.Provider.openai import new as g4f_new  # type: ignore[import-untyped]
    except Exception as exc:  # any import failure: fall back, and say so
        print(f"g4f not importable ({exc.__class__.__name__}); using the labelled reimplementation")

        def naive(seed: str, attempts: int) -> float:
            start = time.perf_counter()
            _naive_generate_answer(seed, IMPOSSIBLE, CONFIG, attempts)
            return time.perf_counter() - start
        return "g4f-style naive loop (REIMPLEMENTATION, g4f not installed)", naive

    def real(seed: str, attempts: int) -> float:
        # generate_answer reads its attempt limit from this module global.
        g4f_new.maxAttempts = attempts
        start = time.perf_counter()
        _, solved = g4f_new.generate_answer(seed, IMPOSSIBLE, CONFIG)
        elapsed = time.perf_counter() - start
        assert not solved
        return elapsed

    return f"g4f {importlib.metadata.version('g4f')} generate_answer", real


def single_core(attempts: int, rounds: int) -> dict[str, float]:
    g4f_label, g4f_timer = load_g4f()
    methods: dict[str, Callable[[str, int], float]] = {
        "raw hashlib.sha3_512": raw_hashlib, "ours (workers=1)": ours, g4f_label: g4f_timer}
    rates: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(rounds):
        for seed in SEEDS:
            for name, timer in methods.items():
                rates[name].append(attempts / timer(seed, attempts))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(f"\n(a-c) single core, {attempts:,} attempts x {len(SEEDS)} seeds x {rounds} rounds, "
          f"input {len(SEEDS[0]) + len(_payload(150_000))} bytes, median rate:")
    for name, rate in medians.items():
        print(f"  {name:<45} {rate:>10,.0f} /s")
    medians["g4f"] = medians.pop(g4f_label)
    return medians


def _raw_in_process(attempts: int) -> None:
    raw_hashlib(SEEDS[0], attempts)


def idle_fraction(interval: float = 0.5) -> float | None:
    """Share of all CPUs idle over ``interval`` (Linux /proc/stat), or None elsewhere."""
    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            ticks = [int(x) for x in stat.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)
    try:
        idle0, total0 = sample()
        time.sleep(interval)
        idle1, total1 = sample()
    except OSError:
        return None
    return (idle1 - idle0) / max(total1 - total0, 1)


def wait_quiet(limit: float) -> str:
    """Wait up to ``limit`` s for the machine to be >= 90% idle; describe what was seen."""
    deadline = time.monotonic() + limit
    idle = idle_fraction()
    while idle is not None and idle < 0.9 and time.monotonic() < deadline:
        idle = idle_fraction()
    return "n/a" if idle is None else f"{idle:.0%} idle"


def machine_ceiling(attempts: int) -> float:
    """Wall-time speed-up of raw hashing in 2 processes vs 1: what the machine allows right now."""
    ctx = multiprocessing.get_context("forkserver")
    times = []
    for count in (1, 2):
        procs = [ctx.Process(target=_raw_in_process, args=(attempts,)) for _ in range(count)]
        start = time.perf_counter()
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        times.append(time.perf_counter() - start)
    return 2 * times[0] / times[1]


def _timed(seed: str, difficulty: str, attempts: int, workers: int) -> tuple[float, int | None]:
    start = time.perf_counter()
    try:
        token = get_answer_token(seed, difficulty, CONFIG, max_attempts=attempts, workers=workers)
    except ProofOfWorkError:
        return time.perf_counter() - start, None
    return time.perf_counter() - start, json.loads(base64.b64decode(token[7:]))[3]


def workers_scaling(attempts: int, difficulty: str, seeds: int, wait: float) -> tuple[float, float, float]:
    """(d) workers=2 vs workers=1; each pair runs after waiting for an idle machine."""
    print(f"\n(d0) machine ceiling: raw hashing, 2 processes vs 1 ({wait_quiet(wait)} before)")
    ceiling = machine_ceiling(1_000_000)
    print(f"  2 processes do {ceiling:.2f}x the work of 1 (other load on the machine lowers this)")
    print(f"\n(d1) fixed work: {attempts:,} attempts at an impossible difficulty ({wait_quiet(wait)} before)")
    fixed = {workers: _timed(SEEDS[0], IMPOSSIBLE, attempts, workers)[0] for workers in (1, 2)}
    for workers, elapsed in fixed.items():
        print(f"  workers={workers}: {elapsed:.2f} s ({attempts / elapsed:,.0f} /s)")
    print(f"\n(d2) real solves, difficulty {difficulty!r}, {seeds} seeds (expected "
          f"~{16 ** len(difficulty) / int(difficulty, 16):,.0f} attempts each)")
    totals = {1: 0.0, 2: 0.0}
    for n in range(seeds):
        seed = f"bench-hard-seed-{n:010d}"
        quiet = wait_quiet(wait)
        row = []
        for workers in (1, 2):
            elapsed, i = _timed(seed, difficulty, 50_000_000, workers)
            totals[workers] += elapsed
            shown = "-" if i is None else f"{i:,}"
            row.append(f"workers={workers}: i={shown:>9} {elapsed:5.2f} s")
        print(f"  {seed}  " + "  ".join(row) + f"  ({quiet} before)")
    return ceiling, fixed[1] / fixed[2], totals[1] / totals[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attempts", type=int, default=300_000, help="single-core attempts per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--difficulty", default="00000f", help="hard difficulty for the workers test")
    parser.add_argument("--seeds", type=int, default=5, help="seeds for the workers test")
    parser.add_argument("--wait", type=float, default=60.0,
                        help="max seconds to wait for an idle machine before each workers measurement")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f}")
    rates = single_core(args.attempts, args.rounds)
    ceiling, fixed, solves = workers_scaling(2_000_000, args.difficulty, args.seeds, args.wait)
    print("\nratios:")
    print(f"  ours / raw hashlib           {rates['ours (workers=1)'] / rates['raw hashlib.sha3_512']:.2f}")
    print(f"  ours / g4f                   {rates['ours (workers=1)'] / rates['g4f']:.2f}")
    print(f"  workers=2 speed-up, fixed    {fixed:.2f}x")
    print(f"  workers=2 speed-up, solves   {solves:.2f}x")
    print(f"  machine ceiling, raw 2 procs {ceiling:.2f}x")


if __name__ == "__main__":
    main()
