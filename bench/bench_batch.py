"""chatgpt_sync.batch.run_batch vs a plain thread pool over requests vs the openai package, in one run.

    .venv/bin/python bench/bench_batch.py              # 2,000 prompts, 8 and 32 threads, 3 rounds
    .venv/bin/python bench/bench_batch.py --quick      # 500 prompts, 1 round (a smoke run)
    .venv/bin/python bench/bench_batch.py --profile    # cProfile run_batch's workers (8 threads)
                                                       # -> bench/results/batch_profile.txt

Every peer asks the same 2,000 one-token, non-streamed prompts of the emulator, which runs in its own
process (bench/_common.py) so its CPU is not charged to the client. Per peer and thread count: requests
per second (best of the rounds; the peers take turns within a round) and the client's CPU per
request (``time.process_time`` of this process, all threads; median). Every answer is checked.
Writes bench/results/batch.json.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import cProfile
import io
import json
import os
import platform
import pstats
import sys
import threading
import time
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (API_KEY, HERE, MODEL, ROOT, TIMEOUT, ServerProcess, expected_text, fmt,  # noqa: E402
                     listen_overflows, median, ratio, table)

sys.path.insert(0, ROOT)
RESULTS = os.path.join(HERE, "results", "batch.json")
PROFILE_OUT = os.path.join(HERE, "results", "batch_profile.txt")
TARGET_PLAIN = 0.9
TARGET_OPENAI = 1.5
ANSWER = expected_text(1)


def log(text: str = "") -> None:
    print(text, flush=True)


# ------------------------------------------------------------------------------------------ peers
# Each peer: make(base, threads) -> client; run(client, base, prompts, threads) -> answers; close(client).
def _batch_make(base: str, threads: int) -> Any:
    from chatgpt_sync import OpenaiTemplate
    return OpenaiTemplate(base_url=base, api_key=API_KEY, timeout=TIMEOUT)


def _batch_run(provider: Any, base: str, prompts: list[str], threads: int, checkpoint: str | None = None) -> list[Any]:
    from chatgpt_sync.batch import run_batch
    results = run_batch(provider, prompts, model=MODEL, threads=threads, progress=False, checkpoint=checkpoint)
    return [r.text for r in results]


def _batch_checkpoint_run(provider: Any, base: str, prompts: list[str], threads: int) -> list[Any]:
    import tempfile
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        return _batch_run(provider, base, prompts, threads, os.path.join(tmp, "answers.jsonl"))


def _session(pool: int | None) -> Any:
    import requests
    session = requests.Session()
    if pool:  # sized for the threads, and no per-request proxy/.netrc lookups (as chatgpt_sync does)
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=pool)
        session.mount("http://", adapter)
        session.trust_env = False
    return session


def _plain_run(session: Any, base: str, prompts: list[str], threads: int) -> list[Any]:
    url, headers = f"{base}/chat/completions", {"Authorization": f"Bearer {API_KEY}"}

    def one(prompt: str) -> Any:
        response = session.post(url, json={"model": MODEL, "messages": [{"role": "user", "content": prompt}]},
                                headers=headers, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, prompts))


def _openai_make(base: str, threads: int) -> Any:
    import openai
    return openai.OpenAI(base_url=base, api_key=API_KEY, timeout=TIMEOUT)


def _openai_run(client: Any, base: str, prompts: list[str], threads: int) -> list[Any]:
    def one(prompt: str) -> Any:
        answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": prompt}])
        return answer.choices[0].message.content

    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, prompts))


PEERS: dict[str, tuple[Callable[[str, int], Any], Callable[[Any, str, list[str], int], list[Any]]]] = {
    "run_batch": (_batch_make, _batch_run),
    "run_batch + checkpoint": (_batch_make, _batch_checkpoint_run),
    "plain requests (pool sized)": (lambda base, threads: _session(threads), _plain_run),
    "plain requests (defaults)": (lambda base, threads: _session(None), _plain_run),
    "openai": (_openai_make, _openai_run),
}
BASELINE = "plain requests (pool sized)"


def measure(name: str, base: str, prompts: list[str], threads: int, server: ServerProcess) -> dict[str, Any]:
    make, run = PEERS[name]
    client = make(base, threads)
    before = server.stats()["small"]
    overflows = listen_overflows()
    cpu, wall = time.process_time(), time.perf_counter()
    answers = run(client, base, prompts, threads)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = server.stats()["small"]
    client.close()
    wrong = sum(answer != ANSWER for answer in answers)
    if wrong or len(answers) != len(prompts):
        raise SystemExit(f"{name}: {wrong} wrong answers of {len(answers)}")
    drops = listen_overflows()
    return {"rps": len(prompts) / wall, "cpu_us": cpu / len(prompts) * 1e6, "wall": wall,
            "requests": after["chat"] - before["chat"], "connections": after["opened"] - before["opened"],
            "syn_drops": None if overflows is None or drops is None else drops - overflows}


def bench(args: argparse.Namespace) -> dict[str, Any]:
    prompts = [f"p{i}" for i in range(args.prompts)]
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with ServerProcess(1) as server:
        base = server.urls["small"]
        for name in PEERS:  # warm-up: imports, first connections
            measure(name, base, prompts[:50], 4, server)
        for threads in args.threads:
            per = runs.setdefault(str(threads), {name: [] for name in PEERS})
            names = list(PEERS)
            for round_ in range(args.rounds):
                order = names[round_ % len(names):] + names[:round_ % len(names)]  # take turns
                for name in order:
                    result = measure(name, base, prompts, threads, server)
                    per[name].append(result)
                    log(f"  {threads:>2} threads, round {round_ + 1}: {name:<28} {result['rps']:7.0f} req/s  "
                        f"{result['cpu_us']:6.0f} us CPU/req  {result['connections']:>3} connections")
    return runs


def report(runs: dict[str, dict[str, list[dict[str, Any]]]], args: argparse.Namespace) -> dict[str, Any]:
    summary: list[list[Any]] = []
    out: dict[str, Any] = {}
    for threads, per in runs.items():
        best = {name: max(r["rps"] for r in results) for name, results in per.items()}
        cpu = {name: median([r["cpu_us"] for r in results]) for name, results in per.items()}
        rows = []
        for name in per:
            rows.append([name, fmt(best[name], 0), fmt(cpu[name], 0), fmt(ratio(best[name], best[BASELINE])),
                         fmt(ratio(cpu[name], cpu[BASELINE])), str(per[name][-1]["connections"]),
                         fmt(per[name][-1]["syn_drops"])])
        log(f"\n{threads} threads, {args.prompts} prompts, best of {args.rounds} (req/s) / median (CPU):")
        log(table(["peer", "req/s", "CPU us/req", "req/s vs plain", "CPU vs plain", "connections", "SYN drops"],
                  rows))
        vs_plain, vs_openai = ratio(best["run_batch"], best[BASELINE]), ratio(best["run_batch"], best["openai"])
        summary.append([f"{threads} threads: run_batch / plain", fmt(vs_plain), f">= {TARGET_PLAIN}",
                        "PASS" if vs_plain is not None and vs_plain >= TARGET_PLAIN else "FAIL"])
        summary.append([f"{threads} threads: run_batch / openai", fmt(vs_openai), f">= {TARGET_OPENAI}",
                        "PASS" if vs_openai is not None and vs_openai >= TARGET_OPENAI else "FAIL"])
        out[threads] = {"best_rps": best, "median_cpu_us": cpu, "runs": per}
    log("\nSummary (req/s ratios):")
    log(table(["metric", "ratio", "target", "result"], summary))
    return out


def profile(args: argparse.Namespace) -> None:
    """cProfile every worker thread of one run_batch (threads=8) and merge their statistics."""
    from chatgpt_sync import _batch_run as batch

    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    original = batch.Run._work

    def profiled(self: Any) -> None:
        prof = cProfile.Profile()
        with lock:
            profiles.append(prof)
        prof.runcall(original, self)

    prompts = [f"p{i}" for i in range(args.prompts)]
    with ServerProcess(1) as server:
        base = server.urls["small"]
        provider = _batch_make(base, 8)
        _batch_run(provider, base, prompts[:50], 8)
        batch.Run._work = profiled  # type: ignore[method-assign]
        try:
            main = cProfile.Profile()
            main.runcall(_batch_run, provider, base, prompts, 8)
        finally:
            batch.Run._work = original  # type: ignore[method-assign]
        provider.close()
    buffer = io.StringIO()
    stats = pstats.Stats(profiles[0], stream=buffer)
    for prof in profiles[1:]:
        stats.add(prof)
    buffer.write(f"=== {len(profiles)} worker threads, {len(prompts)} prompts, merged ===\n")
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(30)
    buffer.write("=== the calling thread ===\n")
    pstats.Stats(main, stream=buffer).sort_stats("tottime").print_stats(15)
    os.makedirs(os.path.dirname(PROFILE_OUT), exist_ok=True)
    with open(PROFILE_OUT, "w") as fh:
        fh.write(buffer.getvalue())
    log(f"wrote {PROFILE_OUT}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="500 prompts, one round")
    parser.add_argument("--prompts", type=int, default=None, help="prompts per run (default 2000)")
    parser.add_argument("--threads", default="8,32", help="comma-separated thread counts (default 8,32)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per thread count (default 3)")
    parser.add_argument("--profile", action="store_true", help="cProfile run_batch's workers and exit")
    parser.add_argument("--json", default=RESULTS, help=f"where to write the results (default {RESULTS})")
    args = parser.parse_args(argv)
    args.prompts = args.prompts or (500 if args.quick else 2000)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.threads = [int(t) for t in args.threads.split(",")]
    if args.profile:
        profile(args)
        return 0
    log(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    runs = bench(args)
    out = report(runs, args)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as fh:
        json.dump({"prompts": args.prompts, "rounds": args.rounds, "python": platform.python_version(),
                   "results": out}, fh, indent=1)
    log(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
