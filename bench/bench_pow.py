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
import os
import statistics
import sys
import time
from typing import Any, Callable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from chatgpt_sync.errors import ProofOfWorkError  # noqa: E402
from chatgpt_sync.providers._pow import get_answer_token  # noqa: E402

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
        from g4f.Provider.openai import new as g4f_new
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


def workers_scaling(attempts: int, difficulty: str, seeds: int) -> tuple[float, float]:
    print(f"\n(d1) fixed work: {attempts:,} attempts at an impossible difficulty")
    fixed: dict[int, float] = {}
    for workers in (1, 2):
        start = time.perf_counter()
        try:
            get_answer_token(SEEDS[0], IMPOSSIBLE, CONFIG, max_attempts=attempts, workers=workers)
        except ProofOfWorkError:
            pass
        fixed[workers] = time.perf_counter() - start
        print(f"  workers={workers}: {fixed[workers]:.2f} s ({attempts / fixed[workers]:,.0f} /s)")
    print(f"\n(d2) real solves, difficulty {difficulty!r}, {seeds} seeds (expected "
          f"~{16 ** len(difficulty) / int(difficulty, 16):,.0f} attempts each)")
    totals = {1: 0.0, 2: 0.0}
    for n in range(seeds):
        seed = f"bench-hard-seed-{n:010d}"
        row = []
        for workers in (1, 2):
            start = time.perf_counter()
            token = get_answer_token(seed, difficulty, CONFIG, max_attempts=50_000_000, workers=workers)
            elapsed = time.perf_counter() - start
            totals[workers] += elapsed
            i = json.loads(base64.b64decode(token[7:]))[3]
            row.append(f"workers={workers}: i={i:>9,} {elapsed:6.2f} s")
        print(f"  {seed}  " + "   ".join(row))
    return fixed[1] / fixed[2], totals[1] / totals[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attempts", type=int, default=300_000, help="single-core attempts per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--difficulty", default="00001f", help="hard difficulty for the workers test")
    parser.add_argument("--seeds", type=int, default=5, help="seeds for the workers test")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f}")
    rates = single_core(args.attempts, args.rounds)
    fixed, solves = workers_scaling(1_000_000, args.difficulty, args.seeds)
    print("\nratios:")
    print(f"  ours / raw hashlib           {rates['ours (workers=1)'] / rates['raw hashlib.sha3_512']:.2f}")
    print(f"  ours / g4f                   {rates['ours (workers=1)'] / rates['g4f']:.2f}")
    print(f"  workers=2 speed-up, fixed    {fixed:.2f}x")
    print(f"  workers=2 speed-up, solves   {solves:.2f}x")


if __name__ == "__main__":
    main()
