"""Proof-of-work benchmark: raw SHA3-512 vs our solver vs g4f's ``generate_answer``, and workers.

Run from the repository root::

    .venv/bin/python bench/bench_pow.py                 # all sections, ~3-4 min on 2 cores
    .venv/bin/python bench/bench_pow.py --quick         # fewer seeds and rounds, ~1 min
    .venv/bin/python bench/bench_pow.py --only solves   # some sections: rates, workers, solves

(a-c) rates: all single-core rates use the same seeds and the same seed + payload length
(~610 bytes), and an impossible difficulty so every method does exactly ``--attempts`` hashes.
Methods are run interleaved for ``--rounds`` rounds and the median rate is reported.

(e) solves: real solves at the difficulties the service issues, per solve, on the same seeds for
both solvers (their answers are checked to be the same attempt), against the physical limit:
attempts made x one raw ``hashlib.sha3_512`` of the same-length input, measured per seed.

``g4f`` is optional and never a dependency: ``.venv/bin/pip install g4f``, or keep the venv clean
with ``pip install --target DIR g4f`` and ``--g4f-path DIR``. Without it a labelled
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
import random
import statistics
import sys
import time
from typing import Any, Callable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from chatgpt_sync.errors import ProofOfWorkError  # noqa: E402
from chatgpt_sync.providers._web import pow as _pow  # noqa: E402
from chatgpt_sync.providers._web.pow import get_answer_token, get_requirements_token  # noqa: E402

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


def _g4f_module() -> Any:
    """g4f's ``new`` module (``generate_answer``), or None when g4f is not importable."""
    try:
        from g4f.Provider.openai import new as g4f_new  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except Exception as exc:  # any import failure: fall back, and say so
        print(f"g4f not importable ({exc.__class__.__name__}); using the labelled reimplementation")
        return None
    return g4f_new


def g4f_label(module: Any) -> str:
    if module is None:
        return "g4f-style naive loop (REIMPLEMENTATION, g4f not installed)"
    return f"g4f {importlib.metadata.version('g4f')} generate_answer"


def load_g4f() -> tuple[str, Callable[[str, int], float]]:
    """Return (label, timer) for g4f's ``generate_answer`` or the labelled reimplementation."""
    g4f_new = _g4f_module()
    if g4f_new is None:
        def naive(seed: str, attempts: int) -> float:
            start = time.perf_counter()
            _naive_generate_answer(seed, IMPOSSIBLE, CONFIG, attempts)
            return time.perf_counter() - start
        return g4f_label(None), naive

    def real(seed: str, attempts: int) -> float:
        # generate_answer reads its attempt limit from this module global.
        g4f_new.maxAttempts = attempts
        start = time.perf_counter()
        _, solved = g4f_new.generate_answer(seed, IMPOSSIBLE, CONFIG)
        elapsed = time.perf_counter() - start
        assert not solved
        return elapsed

    return g4f_label(g4f_new), real


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


# -- (e) per solve ------------------------------------------------------------------------------

# Difficulties captured from the service (25-40 attempts), one of ~1,000 attempts, a hard one.
SOLVE_DIFFICULTIES = ("06bf7d", "073682", "003fff")
# Targets: (g4f / ours at least, ours / physical limit at most), per difficulty.
SOLVE_TARGETS: dict[str, tuple[float | None, float]] = {
    "06bf7d": (1.5, 2.0), "073682": (1.5, 2.0), "003fff": (1.4, 2.0)}
HARD_LIMIT_RATIO = 1 / 0.9  # hard difficulties: at least 0.9 of the raw hash rate
# The states ours can be in (g4f keeps nothing between solves):
#   session: a fresh config whose requirements token was just solved (untimed), as in the real
#            flow (chat-requirements, then the answer with the same config);
#   repeat:  a config solved several times before (long-lived session, or this bench's loop);
#   cold:    a fresh config and nothing cached: the first solve in the process.
#   flow:    a later turn of a session: a fresh config, and ours and g4f both solve its
#            requirements token and then the answer, timed together.
STATES = ("flow", "session", "repeat", "cold")


def _fresh_config(tag: str) -> list[Any]:
    """CONFIG with the per-page values a real get_config draws (so nothing is cached for it)."""
    rng = random.Random(tag)
    config = list(CONFIG)
    config[13] = round(rng.uniform(800.0, 12_000.0), 1)
    config[14] = "%08x-0000-4000-8000-%012x" % (rng.getrandbits(32), rng.getrandbits(48))
    return config


def _solve_seeds(count: int) -> list[str]:
    rng = random.Random(2026)
    return [str(rng.random()) for _ in range(count)]


def _g4f_solver(module: Any) -> Callable[[str, str, list[Any]], str]:
    if module is None:
        return lambda seed, difficulty, config: _naive_generate_answer(seed, difficulty, config, 500_000)[0]

    def solve(seed: str, difficulty: str, config: list[Any]) -> str:
        module.maxAttempts = 500_000
        answer, solved = module.generate_answer(seed, difficulty, config)
        assert solved
        return str(answer)
    return solve


def _forget(*names: str) -> None:
    """Empty the solver's caches of these names (an older solver, measured for a before/after
    comparison, has none)."""
    for name in names:
        getattr(_pow, name, {}).clear()


def _hash_time(data: bytes, count: int) -> float:
    """Seconds for one one-shot SHA3-512 of ``data`` (the mean over ``count``)."""
    sha3 = hashlib.sha3_512
    start = time.perf_counter()
    for _ in range(count):
        sha3(data).digest()
    return (time.perf_counter() - start) / count


def _ours_solves(seed: str, difficulty: str, config: list[Any], flow: bool) -> tuple[str, str]:
    """(requirements payload or "", answer payload) from our solver."""
    requirements = get_requirements_token(config)[7:] if flow else ""
    return requirements, get_answer_token(seed, difficulty, config)[7:]


def _g4f_solves(seed: str, difficulty: str, config: list[Any], flow: bool,
                g4f_solve: Callable[[str, str, list[Any]], str]) -> tuple[str, str]:
    """The same from g4f: its get_requirements_token is generate_answer(str(random()), "0fffff")."""
    requirements = g4f_solve(format(random.random()), "0fffff", config) if flow else ""
    return requirements, g4f_solve(seed, difficulty, config)


def per_solve_state(difficulty: str, state: str, seeds: list[str], rounds: int,
                    g4f_solve: Callable[[str, str, list[Any]], str]) -> dict[str, float]:
    """Per-solve seconds of ours, g4f and the physical limit over ``seeds``, and paired ratios.

    Each solve of ours is followed (or, every other round, preceded) by g4f's on the same seed
    and config, then by the raw hashes for the limit, so a ratio compares runs a few
    milliseconds apart: the paired ratios stay steady while the machine's speed drifts.
    In the "flow" state both solve the requirements token too, from the same random seed.
    """
    times: dict[str, dict[str, list[float]]] = {name: {s: [] for s in seeds} for name in ("ours", "g4f", "limit")}
    attempts: dict[str, int] = {}
    flow = state == "flow"
    get_answer_token("warm-up", difficulty, CONFIG)  # the "repeat" state starts warm
    for round_ in range(rounds):
        for n, seed in enumerate(seeds):
            config = CONFIG if state == "repeat" else _fresh_config(seed)
            if state != "repeat":
                _forget("_PIECES")
            if state == "cold":
                _forget("_COUNTERS", "_TARGETS", "_B_PARTS")
            if state == "session":
                get_requirements_token(config)
            # The requirements token's seed is str(random.random()): the same draw for both.
            random.seed(f"{round_}/{n}")
            requirements_seed = str(random.random())
            random.seed(f"{round_}/{n}")
            start = time.perf_counter()
            if round_ % 2:
                theirs_out = _g4f_solves(seed, difficulty, config, flow, g4f_solve)
                middle = time.perf_counter()
                random.seed(f"{round_}/{n}")
                ours_out = _ours_solves(seed, difficulty, config, flow)
                end = time.perf_counter()
                ours, theirs = end - middle, middle - start
            else:
                ours_out = _ours_solves(seed, difficulty, config, flow)
                middle = time.perf_counter()
                random.seed(f"{round_}/{n}")
                theirs_out = _g4f_solves(seed, difficulty, config, flow, g4f_solve)
                end = time.perf_counter()
                ours, theirs = middle - start, end - middle
            assert ours_out == theirs_out, f"different answers for seed {seed!r}"
            requirements, answer = theirs_out
            made = json.loads(base64.b64decode(answer))[3] + 1
            attempts[seed] = made
            times["ours"][seed].append(ours)
            times["g4f"][seed].append(theirs)
            limit = made * _hash_time((seed + answer).encode(), max(made, 64))
            if requirements:
                made = json.loads(base64.b64decode(requirements))[3] + 1
                limit += made * _hash_time((requirements_seed + requirements).encode(), max(made, 64))
            times["limit"][seed].append(limit)
    median = statistics.median
    out = {name: median(median(v) for v in d.values()) for name, d in times.items()}
    out["attempts"] = median(attempts.values())
    # Paired: each seed's median over rounds of the ratio within one round, then the median.
    out["g4f/ours"] = median(median(g / o for g, o in zip(times["g4f"][s], times["ours"][s])) for s in seeds)
    out["ours/limit"] = median(median(o / m for o, m in zip(times["ours"][s], times["limit"][s])) for s in seeds)
    return out


def per_solve(hard: str, seeds: int, hard_seeds: int, rounds: int,
              difficulties: list[str], states: list[str]) -> list[tuple[str, bool]]:
    """(e) per-solve figures; returns the (description, passed) of each target."""
    module = _g4f_module()
    g4f_solve = _g4f_solver(module)
    print(f"\n(e) per solve: ours (workers=1) vs {g4f_label(module)}; physical limit = attempts made x one raw\n"
          f"    sha3_512 of the same-length input. Times: medians over seeds of each seed's median of {rounds} "
          "rounds.\n    Ratios: paired, within a round, then the same medians. States: flow = a session's turn, "
          "fresh config,\n    requirements token + answer timed together (attempts: the answer's); session = "
          "fresh config, its\n    requirements token solved first, untimed; repeat = a config solved before; "
          "cold = fresh config and\n    nothing cached (the first solve in a process). g4f keeps nothing between "
          "solves.")
    print(f"  {'difficulty':<10} {'state':<8} {'seeds':>5} {'attempts':>8} {'ours':>10} {'g4f':>10} "
          f"{'limit':>10} {'g4f/ours':>9} {'ours/limit':>10}  targets (on the paired ratios)")
    checks: list[tuple[str, bool]] = []
    for difficulty in difficulties or [*SOLVE_DIFFICULTIES, hard]:
        count = hard_seeds if difficulty not in SOLVE_TARGETS else seeds
        speed_target, limit_target = SOLVE_TARGETS.get(difficulty, (None, HARD_LIMIT_RATIO))
        for state in states or STATES:
            r = per_solve_state(difficulty, state, _solve_seeds(count), rounds, g4f_solve)
            speed, to_limit = r["g4f/ours"], r["ours/limit"]
            verdicts = []
            if speed_target is not None:
                ok = speed >= speed_target
                verdicts.append(f"g4f/ours >= {speed_target}: {'PASS' if ok else 'FAIL'}")
                checks.append((f"{difficulty} {state}: g4f/ours {speed:.2f} >= {speed_target}", ok))
            ok = to_limit <= limit_target
            verdicts.append(f"ours/limit <= {limit_target:.2f}: {'PASS' if ok else 'FAIL'}")
            checks.append((f"{difficulty} {state}: ours/limit {to_limit:.2f} <= {limit_target:.2f}", ok))
            print(f"  {difficulty:<10} {state:<8} {count:>5} {r['attempts']:>8,.0f} {r['ours'] * 1e3:>7.3f} ms "
                  f"{r['g4f'] * 1e3:>7.3f} ms {r['limit'] * 1e3:>7.3f} ms {speed:>8.2f}x {to_limit:>9.2f}x  "
                  + "; ".join(verdicts))
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attempts", type=int, default=300_000, help="single-core attempts per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--difficulty", default="00000f", help="hard difficulty for the workers test")
    parser.add_argument("--seeds", type=int, default=5, help="seeds for the workers test")
    parser.add_argument("--wait", type=float, default=60.0,
                        help="max seconds to wait for an idle machine before each workers measurement")
    parser.add_argument("--solve-seeds", type=int, default=100, help="seeds per easy difficulty in (e)")
    parser.add_argument("--solve-rounds", type=int, default=5, help="rounds per seed in (e)")
    parser.add_argument("--hard", default="0003ff", help="the hard difficulty in (e)")
    parser.add_argument("--hard-seeds", type=int, default=8, help="seeds for the hard difficulty in (e)")
    parser.add_argument("--difficulties", default="", help="(e) only these, comma-separated")
    parser.add_argument("--states", default="", help=f"(e) only these states of {', '.join(STATES)}")
    parser.add_argument("--only", default="rates,workers,solves",
                        help="comma-separated sections: rates (a-c), workers (d), solves (e)")
    parser.add_argument("--quick", action="store_true", help="fewer attempts, seeds and rounds")
    parser.add_argument("--g4f-path", help="a directory with g4f (pip install --target DIR g4f), "
                        "searched after the venv's own packages")
    args = parser.parse_args()
    if args.g4f_path:
        sys.path.append(args.g4f_path)
    if args.quick:
        args.attempts, args.rounds, args.seeds, args.wait = 100_000, 2, 2, 20.0
        args.solve_seeds, args.solve_rounds, args.hard_seeds = 40, 3, 4
    sections = set(args.only.split(","))
    print(f"python {sys.version.split()[0]}, cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f}")
    ratios: list[str] = []
    if "rates" in sections:
        rates = single_core(args.attempts, args.rounds)
        ratios.append(f"  ours / raw hashlib           {rates['ours (workers=1)'] / rates['raw hashlib.sha3_512']:.2f}")
        ratios.append(f"  ours / g4f                   {rates['ours (workers=1)'] / rates['g4f']:.2f}")
    if "workers" in sections:
        ceiling, fixed, solves = workers_scaling(2_000_000, args.difficulty, args.seeds, args.wait)
        ratios.append(f"  workers=2 speed-up, fixed    {fixed:.2f}x")
        ratios.append(f"  workers=2 speed-up, solves   {solves:.2f}x")
        ratios.append(f"  machine ceiling, raw 2 procs {ceiling:.2f}x")
    checks = []
    if "solves" in sections:
        checks = per_solve(args.hard, args.solve_seeds, args.hard_seeds, args.solve_rounds,
                           [d for d in args.difficulties.split(",") if d], [s for s in args.states.split(",") if s])
    if ratios:
        print("\nratios:")
        print("\n".join(ratios))
    if checks:
        print(f"\nper-solve targets ({sum(ok for _, ok in checks)}/{len(checks)} PASS, load {os.getloadavg()[0]:.2f}):")
        for text, ok in checks:
            print(f"  {'PASS' if ok else 'FAIL'}  {text}")


if __name__ == "__main__":
    main()
