"""OpenAI-compatible path: chatgpt_sync vs plain requests vs the official openai package, in one run.

    .venv/bin/python bench/bench_api.py            # full run (a few minutes on 2 cores)
    .venv/bin/python bench/bench_api.py --quick    # smoke run: fewer tokens and repetitions
    .venv/bin/python bench/bench_api.py --profile  # cProfile one OpenaiTemplate stream, then exit
    .venv/bin/python bench/bench_api.py --only imports   # some sections only (comma-separated)

Sections: import cost, streaming CPU, peak RSS, connection reuse, threaded throughput, client
construction (HTTP and HTTPS, with SSLContext.load_verify_locations counted). The emulator runs in a
separate process (bench/_common.py) so its CPU is not charged to the client. Prints one table per
section and a summary with targets; writes bench/results/api.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (API_KEY, HERE, ROOT, TIMEOUT, ServerProcess, child_env, client_stream,  # noqa: E402
                     expected_text, fmt, listen_overflows, median, ratio, requests_stream, table,
                     template_stream)

sys.path.insert(0, ROOT)
RESULTS = os.path.join(HERE, "results", "api.json")
PROFILE_OUT = os.path.join(HERE, "results", "api_profile.txt")
THREADS = 8
TLS_REQUESTS = 20
THREAD_JOIN_TIMEOUT = 300.0
SECTIONS = ("imports", "stream", "rss", "reuse", "throughput", "construct")  # for --only


@dataclass
class Config:
    """Sizes of the run; ``--quick`` shrinks every one of them."""

    quick: bool
    tokens: int = 20_000
    import_runs: int = 21
    stream_runs: int = 7
    rss_runs: int = 3
    reuse_calls: int = 200
    per_thread: int = 50
    throughput_rounds: int = 3
    construct_n: int = 20

    @classmethod
    def make(cls, quick: bool) -> Config:
        if not quick:
            return cls(quick=False)
        return cls(quick=True, tokens=2_000, import_runs=5, stream_runs=3, rss_runs=1, reuse_calls=30,
                   per_thread=10, throughput_rounds=1, construct_n=5)


@dataclass
class Summary:
    """Rows of the final table: metric, ours, peers, ratio, target, result."""

    rows: list[list[Any]] = field(default_factory=list)

    def add(self, metric: str, ours: str, peers: str, ratio_text: str, target: str, ok: bool | None) -> None:
        result = "info" if ok is None else ("PASS" if ok else "FAIL")
        self.rows.append([metric, ours, peers, ratio_text, target, result])


def log(text: str = "") -> None:
    print(text, flush=True)


# ------------------------------------------------------------------------------------------ targets
@dataclass
class Target:
    """One client flavour: build it for a base URL (and CA path), stream one answer, close it."""

    name: str
    make: Callable[[str, str | None], Any]
    call: Callable[[Any, str], str]
    close: Callable[[Any], None]


def _load_client() -> tuple[Any, str | None]:
    try:
        from chatgpt_sync import Client
    except Exception as exc:  # the Client is written in parallel; skip it until it imports
        return None, f"{type(exc).__name__}: {exc}"
    return Client, None


def build_targets() -> tuple[list[Target], str | None]:
    """requests, OpenaiTemplate, Client (when importable) and openai.OpenAI."""
    import openai
    import requests

    from chatgpt_sync import OpenaiTemplate

    def make_session(base: str, verify: str | None) -> Any:
        session = requests.Session()
        if verify:
            session.verify = verify
        return session

    def make_template(base: str, verify: str | None) -> Any:
        extra = {"verify": verify} if verify else {}
        return OpenaiTemplate(base_url=base, api_key=API_KEY, timeout=TIMEOUT, **extra)

    def make_openai(base: str, verify: str | None) -> Any:
        http_client = openai.DefaultHttpxClient(verify=ssl.create_default_context(cafile=verify)) if verify else None
        return openai.OpenAI(base_url=base, api_key=API_KEY, timeout=TIMEOUT, http_client=http_client)

    targets = [
        Target("requests", make_session,
               lambda s, base: requests_stream(s, base, s.verify if isinstance(s.verify, str) else None),
               lambda s: s.close()),
        Target("OpenaiTemplate", make_template, lambda p, base: template_stream(p), lambda p: p.close()),
    ]
    client_cls, client_error = _load_client()
    if client_cls is not None:
        def make_client(base: str, verify: str | None) -> Any:
            extra = {"verify": verify} if verify else {}
            return client_cls(base_url=base, api_key=API_KEY, timeout=TIMEOUT, **extra)

        targets.append(Target("Client", make_client, lambda c, base: client_stream(c),
                              lambda c: getattr(c, "close", lambda: None)()))
    targets.append(Target("openai", make_openai, lambda c, base: client_stream(c), lambda c: c.close()))
    return targets, client_error


# ------------------------------------------------------------------------------------ 1. imports
IMPORT_CASES = {
    "nothing (pass)": "pass",
    "import requests": "import requests",
    "import chatgpt_sync": "import chatgpt_sync",
    "from chatgpt_sync import OpenaiTemplate": "from chatgpt_sync import OpenaiTemplate",
    "from chatgpt_sync import ChatGpt": "from chatgpt_sync import ChatGpt",
    "from chatgpt_sync import Client": "from chatgpt_sync import Client",
    "import openai": "import openai",
}
#: What a script really runs; each must cost at most IMPORT_TARGET x ``import requests``.
REALISTIC_IMPORTS = ("from chatgpt_sync import OpenaiTemplate", "from chatgpt_sync import ChatGpt",
                     "from chatgpt_sync import Client")
IMPORT_TARGET = 1.15
NO_PYC_CASE = "from chatgpt_sync import OpenaiTemplate, no .pyc (env as is)"
IMPORT_CHILD = "import time\n_t = time.perf_counter()\n{stmt}\nprint(time.perf_counter() - _t)\n"
# Paired: `import requests`, then the statement, timed apart in the same process. A shared machine's
# speed changes from one process to the next (here by up to 1.8x), which moves a median of separate
# processes; within one process it hardly changes, so (requests + added) / requests is steady.
# The modules loaded are the same in either order (checked by the child).
PAIRED_PREFIX = "paired: requests, then "
PAIRED_CHILD = ("import time\n_t = time.perf_counter()\nimport requests\n_r = time.perf_counter()\n{stmt}\n"
                "print(_r - _t, time.perf_counter() - _r)\n")
ORDER_CHECK = ("import sys\n{stmt}\nimport requests\nprint(','.join(sorted(sys.modules)))\n",
               "import sys\nimport requests\n{stmt}\nprint(','.join(sorted(sys.modules)))\n")


def _import_child(name: str, stmt: str, env: dict[str, str] | None) -> subprocess.CompletedProcess[str]:
    code = PAIRED_CHILD if name.startswith(PAIRED_PREFIX) else IMPORT_CHILD
    return subprocess.run([sys.executable, "-c", code.format(stmt=stmt)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def _same_modules_either_order(stmt: str, env: dict[str, str]) -> bool:
    counts = [subprocess.run([sys.executable, "-c", code.format(stmt=stmt)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60).stdout.strip() for code in ORDER_CHECK]
    return bool(counts[0]) and counts[0] == counts[1]


def bench_imports(cfg: Config, env: dict[str, str], summary: Summary) -> dict[str, Any]:
    """Fresh interpreters, round-robin: import time inside the child and wall time per process;
    then the realistic imports paired with ``import requests`` in the same process."""
    cases = dict(IMPORT_CASES)
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        cases[NO_PYC_CASE] = IMPORT_CASES["from chatgpt_sync import OpenaiTemplate"]
    cases.update({PAIRED_PREFIX + name: IMPORT_CASES[name] for name in REALISTIC_IMPORTS})
    inner: dict[str, list[float]] = {name: [] for name in cases}
    wall: dict[str, list[float]] = {name: [] for name in cases}
    paired: dict[str, list[tuple[float, float]]] = {name: [] for name in REALISTIC_IMPORTS}
    failed: dict[str, str] = {}
    for run in range(cfg.import_runs + 1):  # run 0 fills the bytecode cache and is not kept
        for name, stmt in cases.items():
            if name in failed:
                continue
            start = time.perf_counter()
            proc = _import_child(name, stmt, None if name == NO_PYC_CASE else env)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                failed[name] = (proc.stderr.strip().splitlines() or ["failed"])[-1]
                continue
            if not run:
                continue
            if name.startswith(PAIRED_PREFIX):
                req_s, added_s = proc.stdout.split()
                paired[name[len(PAIRED_PREFIX):]].append((float(req_s) * 1000, float(added_s) * 1000))
            else:
                inner[name].append(float(proc.stdout.strip()) * 1000)
                wall[name].append(elapsed * 1000)
    base_inner = median(inner["import requests"])
    base_wall = median(wall["import requests"])
    rows: list[list[Any]] = []
    out: dict[str, Any] = {}
    for name in cases:
        if name.startswith(PAIRED_PREFIX):
            continue
        if name in failed:
            rows.append([name, "skipped", "", "", "", failed[name][:60]])
            out[name] = {"error": failed[name]}
            continue
        mi, mw = median(inner[name]), median(wall[name])
        rows.append([name, f"{mi:.1f}", f"{min(inner[name]):.1f}", f"{mw:.1f}",
                     fmt(ratio(mi, base_inner)), fmt(ratio(mw, base_wall))])
        out[name] = {"import_ms_median": mi, "import_ms_min": min(inner[name]), "wall_ms_median": mw,
                     "runs": len(inner[name]), "import_ms": inner[name], "wall_ms": wall[name]}
    log(f"(median of {cfg.import_runs}; bytecode cached for every package, as after a wheel install)")
    log(table(["case", "import ms (median)", "import ms (min)", "process wall ms (median)",
               "import x requests", "wall x requests"], rows))

    paired_ratio: dict[str, float] = {}
    rows = []
    for name in REALISTIC_IMPORTS:
        samples = paired[name]
        if PAIRED_PREFIX + name in failed or not samples:
            rows.append([name, "skipped", "", "", failed.get(PAIRED_PREFIX + name, "")[:60]])
            continue
        ratios = [(req + added) / req for req, added in samples]
        paired_ratio[name] = median(ratios)
        same_order = _same_modules_either_order(IMPORT_CASES[name], env)
        rows.append([name, f"{median([r for r, _ in samples]):.1f}", f"{median([a for _, a in samples]):.1f}",
                     f"{paired_ratio[name]:.3f}", f"{min(ratios):.3f}-{max(ratios):.3f}",
                     "yes" if same_order else "NO"])
        out[PAIRED_PREFIX + name] = {"requests_ms": [r for r, _ in samples], "added_ms": [a for _, a in samples],
                                     "ratio_median": paired_ratio[name], "same_modules_either_order": same_order}
    log(f"\n(paired, median of {cfg.import_runs}: `import requests` then the statement in one process; "
        "ratio = (requests + added) / requests per process)")
    log(table(["statement", "requests ms", "added ms", "ratio (median)", "ratio range",
               "same modules either order"], rows))

    peers = f"requests {base_inner:.1f} ms"
    if "import openai" not in failed:
        peers += f", openai {median(inner['import openai']):.1f} ms"
    target = f"<= {IMPORT_TARGET}x requests (paired)"
    for name in ("import chatgpt_sync", *REALISTIC_IMPORTS):
        if name in failed:
            summary.add(f"import: {name}", "error", peers, "-", target, False)
            continue
        separate = ratio(median(inner[name]), base_inner)
        if name not in REALISTIC_IMPORTS:  # a bare `import chatgpt_sync` loads nothing: shown for reference
            summary.add(f"import: {name}", f"{median(inner[name]):.1f} ms", peers, f"{fmt(separate)}x",
                        "(no target)", None)
            continue
        r = paired_ratio.get(name)
        summary.add(f"import: {name}", f"{median(inner[name]):.1f} ms", peers,
                    f"{'-' if r is None else f'{r:.3f}'}x paired ({fmt(separate)}x separate)", target,
                    r is not None and r <= IMPORT_TARGET)
    return out


# ---------------------------------------------------------------------------------- 2. streaming
def bench_stream(cfg: Config, server: ServerProcess, targets: list[Target], summary: Summary) -> dict[str, Any]:
    """Client CPU (process_time) to stream cfg.tokens tokens; one reused client per target."""
    base = server.urls["big"]
    expected = expected_text(cfg.tokens)
    clients = {t.name: t.make(base, None) for t in targets}
    cpu: dict[str, list[float]] = {t.name: [] for t in targets}
    wall: dict[str, list[float]] = {t.name: [] for t in targets}
    try:
        for t in targets:  # warm-up: connection, lazy imports, caches
            if t.call(clients[t.name], base) != expected:
                raise AssertionError(f"{t.name} returned the wrong text")
        for _ in range(cfg.stream_runs):
            for t in targets:
                gc.collect()
                c0, w0 = time.process_time(), time.perf_counter()
                text = t.call(clients[t.name], base)
                c1, w1 = time.process_time(), time.perf_counter()
                if text != expected:
                    raise AssertionError(f"{t.name} returned the wrong text")
                cpu[t.name].append((c1 - c0) * 1000)
                wall[t.name].append((w1 - w0) * 1000)
    finally:
        for t in targets:
            t.close(clients[t.name])
    best_req, med_req = min(cpu["requests"]), median(cpu["requests"])
    rows: list[list[Any]] = []
    out: dict[str, Any] = {}
    for t in targets:
        best, med = min(cpu[t.name]), median(cpu[t.name])
        rows.append([t.name, f"{best:.0f}", f"{med:.0f}", f"{median(wall[t.name]):.0f}",
                     f"{best / cfg.tokens * 1e3:.1f}", fmt(ratio(best, best_req)), fmt(ratio(med, med_req))])
        out[t.name] = {"cpu_ms_best": best, "cpu_ms_median": med, "wall_ms_median": median(wall[t.name]),
                       "cpu_ms": cpu[t.name], "wall_ms": wall[t.name]}
    log(table(["client", "CPU ms (best)", "CPU ms (median)", "wall ms (median)", "CPU us/token",
               "best x requests", "median x requests"], rows))
    peers = f"requests {best_req:.0f} ms"
    if "openai" in cpu:
        peers += f", openai {min(cpu['openai']):.0f} ms"
    for name, limit in (("OpenaiTemplate", 1.5), ("Client", 3.0)):
        label = f"stream {cfg.tokens} tok CPU: {'create_completion' if name == 'OpenaiTemplate' else 'Client'}"
        if name not in cpu:
            summary.add(label, "skipped", peers, "-", f"<= {limit}x requests", None)
            continue
        r = ratio(min(cpu[name]), best_req)
        summary.add(label, f"{min(cpu[name]):.0f} ms", peers,
                    f"{fmt(r)}x (median {fmt(ratio(median(cpu[name]), med_req))}x)",
                    f"<= {limit}x requests", r is not None and r <= limit)
    return out


# --------------------------------------------------------------------------------------- 3. RSS
RSS_CHILD = """
import json, resource, sys
sys.path.insert(0, {bench!r})
sys.path.insert(1, {root!r})
from _common import API_KEY, TIMEOUT, client_stream, requests_stream, template_stream
lib, base = sys.argv[1], sys.argv[2]
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
def hwm():
    with open("/proc/self/status") as fh:
        return next((int(l.split()[1]) for l in fh if l.startswith("VmHWM:")), -1)
start = peak()
if lib == "requests":
    import requests
    imported = peak()
    text = requests_stream(requests.Session(), base)
elif lib == "OpenaiTemplate":
    from chatgpt_sync import OpenaiTemplate
    imported = peak()
    text = template_stream(OpenaiTemplate(base_url=base, api_key=API_KEY, timeout=TIMEOUT))
elif lib == "Client":
    from chatgpt_sync import Client
    imported = peak()
    text = client_stream(Client(base_url=base, api_key=API_KEY, timeout=TIMEOUT))
else:
    import openai
    imported = peak()
    text = client_stream(openai.OpenAI(base_url=base, api_key=API_KEY, timeout=TIMEOUT))
print(json.dumps({{"start_kib": start, "imported_kib": imported, "peak_kib": peak(), "hwm_kib": hwm(),
                  "chars": len(text)}}))
"""
# ru_maxrss survives fork+exec on Linux: a child forked straight from this (big) process would report
# this process's peak. A tiny launcher in between keeps the floor at a bare interpreter's size.
RSS_LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run([sys.executable, '-c', *sys.argv[1:]]).returncode)"


def bench_rss(cfg: Config, server: ServerProcess, names: list[str], env: dict[str, str],
              summary: Summary) -> dict[str, Any]:
    """Peak RSS (ru_maxrss) of a fresh process that imports the library and streams cfg.tokens tokens."""
    base = server.urls["big"]
    code = RSS_CHILD.format(bench=HERE, root=ROOT)
    want = len(expected_text(cfg.tokens))
    samples: dict[str, list[dict[str, int]]] = {n: [] for n in names}
    errors: dict[str, str] = {}
    for run in range(cfg.rss_runs + 1):  # run 0 fills the bytecode cache and is not kept
        for name in names:
            proc = subprocess.run([sys.executable, "-c", RSS_LAUNCHER, code, name, base], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                errors[name] = (proc.stderr.strip().splitlines() or ["failed"])[-1]
                continue
            if not run:
                continue
            sample = json.loads(proc.stdout.strip().splitlines()[-1])
            if sample["chars"] != want:
                errors[name] = f"wrong text length {sample['chars']}"
            samples[name].append(sample)
    mib = 1024.0
    out: dict[str, Any] = {}
    rows: list[list[Any]] = []
    peak = {n: median([s["peak_kib"] for s in samples[n]]) / mib for n in names if samples[n]}
    for name in names:
        if not samples[name]:
            rows.append([name, "error", "", "", errors.get(name, "")[:60]])
            out[name] = {"error": errors.get(name)}
            continue
        start = median([s["start_kib"] for s in samples[name]]) / mib
        imported = median([s["imported_kib"] for s in samples[name]]) / mib
        hwm = median([s["hwm_kib"] for s in samples[name]]) / mib
        delta = peak[name] - peak.get("requests", float("nan"))
        rows.append([name, f"{start:.1f}", f"{imported:.1f}", f"{peak[name]:.1f}", f"{hwm:.1f}", f"{delta:+.1f}"])
        out[name] = {"start_mib": start, "after_import_mib": imported, "peak_mib": peak[name], "vmhwm_mib": hwm,
                     "peak_minus_requests_mib": delta, "samples": samples[name], "error": errors.get(name)}
    log(f"(ru_maxrss, median of {cfg.rss_runs}; VmHWM from /proc/self/status as a cross-check)")
    log(table(["process", "start MiB", "after import MiB", "peak MiB", "VmHWM MiB", "peak - requests MiB"], rows))
    if "OpenaiTemplate" in peak and "requests" in peak:
        delta = peak["OpenaiTemplate"] - peak["requests"]
        peers = f"requests {peak['requests']:.1f} MiB"
        if "openai" in peak:
            peers += f", openai {peak['openai']:.1f} MiB"
        summary.add(f"peak RSS, import + stream {cfg.tokens} tok", f"{peak['OpenaiTemplate']:.1f} MiB", peers,
                    f"{delta:+.1f} MiB", "<= +8 MiB vs requests", delta <= 8.0)
    return out


# ------------------------------------------------------------------------------------- 4. reuse
def bench_reuse(cfg: Config, server: ServerProcess, targets: list[Target], summary: Summary) -> dict[str, Any]:
    """Sequential streamed calls through one client: TCP connections the emulator accepted."""
    base = server.urls["small"]
    want = expected_text(1)
    out: dict[str, Any] = {}
    rows: list[list[Any]] = []
    for t in targets:
        client = t.make(base, None)
        before = server.opened("small")
        start = time.perf_counter()
        try:
            for _ in range(cfg.reuse_calls):
                if t.call(client, base) != want:
                    raise AssertionError(f"{t.name} returned the wrong text")
        finally:
            elapsed = time.perf_counter() - start
            opened = server.opened("small") - before
            t.close(client)
        rows.append([t.name, cfg.reuse_calls, opened, f"{elapsed / cfg.reuse_calls * 1000:.2f}"])
        out[t.name] = {"calls": cfg.reuse_calls, "connections_opened": opened,
                       "ms_per_call": elapsed / cfg.reuse_calls * 1000}
    log(table(["client", "streamed calls", "connections opened", "ms/call"], rows))
    peers = ", ".join(f"{n} {out[n]['connections_opened']}" for n in ("requests", "openai") if n in out)
    for name in ("OpenaiTemplate", "Client"):
        if name in out:
            opened = out[name]["connections_opened"]
            summary.add(f"connections for {cfg.reuse_calls} streamed calls: {name}", str(opened), peers, "-",
                        "== 1", opened == 1)
    return out


# ------------------------------------------------------------------------------------ 5. threads
def run_threads(threads: int, per_thread: int, work: Callable[[], None]) -> tuple[float, list[str]]:
    """Start ``threads`` workers at once, each running ``work`` per_thread times; wall seconds, errors."""
    barrier = threading.Barrier(threads + 1, timeout=60)
    errors: list[str] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                work()
        except Exception as exc:  # reported, and the row is marked
            errors.append(f"{type(exc).__name__}: {exc}")

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in pool:
        thread.join(THREAD_JOIN_TIMEOUT)
    return time.perf_counter() - start, errors


def bench_throughput(cfg: Config, server: ServerProcess, targets: list[Target], summary: Summary) -> dict[str, Any]:
    """8 threads share one client; each makes per_thread streamed one-token calls."""
    base = server.urls["small"]
    want = expected_text(1)
    total = THREADS * cfg.per_thread
    clients = {t.name: t.make(base, None) for t in targets}
    rps: dict[str, list[float]] = {t.name: [] for t in targets}
    errors: dict[str, list[str]] = {t.name: [] for t in targets}
    overflows: dict[str, int] = {t.name: 0 for t in targets}
    try:
        for t in targets:
            t.call(clients[t.name], base)  # warm-up
        for _ in range(cfg.throughput_rounds):
            for t in targets:
                client = clients[t.name]

                def work(t: Target = t, client: Any = client) -> None:
                    if t.call(client, base) != want:
                        raise AssertionError("wrong text")

                gc.collect()
                before = listen_overflows()
                elapsed, errs = run_threads(THREADS, cfg.per_thread, work)
                after = listen_overflows()
                if before is not None and after is not None:
                    overflows[t.name] += after - before
                errors[t.name] += errs
                rps[t.name].append(total / elapsed)
    finally:
        for t in targets:
            t.close(clients[t.name])
    best_req = max(rps["requests"])
    rows: list[list[Any]] = []
    out: dict[str, Any] = {}
    for t in targets:
        best = max(rps[t.name])
        rows.append([t.name, f"{best:.0f}", f"{median(rps[t.name]):.0f}", fmt(ratio(best, best_req)),
                     len(errors[t.name]), overflows[t.name]])
        out[t.name] = {"rps_best": best, "rps_median": median(rps[t.name]), "rps": rps[t.name],
                       "errors": errors[t.name][:5], "listen_overflows": overflows[t.name]}
    log(f"({THREADS} threads x {cfg.per_thread} streamed one-token calls, stream=True, one shared client; "
        f"{cfg.throughput_rounds} round(s); emulator listen backlog 128)")
    log(table(["client", "req/s (best)", "req/s (median)", "best x requests", "errors", "SYN drops"], rows))
    peers = f"requests {best_req:.0f} req/s" + (f", openai {max(rps['openai']):.0f} req/s" if "openai" in rps else "")
    for name in ("OpenaiTemplate", "Client"):
        if name in rps:
            r = ratio(max(rps[name]), best_req)
            summary.add(f"throughput {THREADS}x{cfg.per_thread} shared: {name}", f"{max(rps[name]):.0f} req/s",
                        peers, f"{fmt(r)}x", ">= 0.9x requests",
                        r is not None and r >= 0.9 and not errors[name])
    return out


# -------------------------------------------------------------------------------- 6. construction
class SSLCounter:
    """Counts SSLContext objects created and load_verify_locations calls, process-wide, while active."""

    def __init__(self) -> None:
        self.contexts = 0
        self.loads = 0
        self._lock = threading.Lock()

    def __enter__(self) -> SSLCounter:
        self._orig_load = ssl.SSLContext.load_verify_locations
        self._orig_new = ssl.SSLContext.__dict__["__new__"]
        orig_load, orig_new, counter = self._orig_load, self._orig_new.__func__, self

        def load_verify_locations(ctx: ssl.SSLContext, *args: Any, **kwargs: Any) -> Any:
            with counter._lock:
                counter.loads += 1
            return orig_load(ctx, *args, **kwargs)

        def new(cls: type, *args: Any, **kwargs: Any) -> Any:
            with counter._lock:
                counter.contexts += 1
            return orig_new(cls, *args, **kwargs)

        ssl.SSLContext.load_verify_locations = load_verify_locations  # type: ignore[method-assign,assignment]
        ssl.SSLContext.__new__ = staticmethod(new)  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        ssl.SSLContext.load_verify_locations = self._orig_load  # type: ignore[method-assign]
        ssl.SSLContext.__new__ = self._orig_new  # type: ignore[assignment]


def _construct_series(cfg: Config, targets: list[Target], base: str, verify: str | None) -> dict[str, Any]:
    want = expected_text(1)
    ctor: dict[str, list[float]] = {t.name: [] for t in targets}
    first: dict[str, list[float]] = {t.name: [] for t in targets}
    for _ in range(cfg.construct_n):
        for t in targets:
            gc.collect()
            t0 = time.perf_counter()
            client = t.make(base, verify)
            t1 = time.perf_counter()
            try:
                if t.call(client, base) != want:
                    raise AssertionError(f"{t.name} returned the wrong text")
                t2 = time.perf_counter()
            finally:
                t.close(client)
            ctor[t.name].append((t1 - t0) * 1000)
            first[t.name].append((t2 - t1) * 1000)
    return {t.name: {"construct_ms_median": median(ctor[t.name]), "first_request_ms_median": median(first[t.name]),
                     "total_ms_median": median([a + b for a, b in zip(ctor[t.name], first[t.name])])}
            for t in targets}


def _tls_context_counts(server: ServerProcess, targets: list[Target]) -> dict[str, Any]:
    base, ca = server.urls["tls"], server.ca_path
    want = expected_text(1)
    out: dict[str, Any] = {}
    for t in targets:
        before = server.opened("tls")
        calls = iter(range(TLS_REQUESTS))
        calls_lock = threading.Lock()
        with SSLCounter() as counter:
            client = t.make(base, ca)
            made_loads, made_contexts = counter.loads, counter.contexts

            def work(t: Target = t, client: Any = client) -> None:
                with calls_lock:
                    if next(calls, None) is None:
                        return
                if t.call(client, base) != want:
                    raise AssertionError("wrong text")

            try:
                _, errors = run_threads(THREADS, -(-TLS_REQUESTS // THREADS), work)
            finally:
                t.close(client)
        opened = server.opened("tls") - before
        out[t.name] = {"requests": TLS_REQUESTS, "connections_opened": opened, "load_verify_locations": counter.loads,
                       "ssl_contexts_created": counter.contexts, "loads_at_construction": made_loads,
                       "contexts_at_construction": made_contexts, "errors": errors[:3]}
    return out


def bench_construct(cfg: Config, server: ServerProcess, targets: list[Target], summary: Summary) -> dict[str, Any]:
    """Build a client and make its first streamed request, N times; then count TLS context work."""
    http = _construct_series(cfg, targets, server.urls["small"], None)
    https = _construct_series(cfg, targets, server.urls["tls"], server.ca_path)
    rows: list[list[Any]] = []
    for t in targets:
        for scheme, data in (("http", http), ("https", https)):
            d = data[t.name]
            rows.append([t.name, scheme, f"{d['construct_ms_median']:.2f}", f"{d['first_request_ms_median']:.2f}",
                         f"{d['total_ms_median']:.2f}",
                         fmt(ratio(d["total_ms_median"], data["requests"]["total_ms_median"]))])
    log(f"(median of {cfg.construct_n}; https uses verify=<trustme CA path>)")
    log(table(["client", "scheme", "construct ms", "first request ms", "total ms", "total x requests"], rows))
    tls = _tls_context_counts(server, targets)
    log(f"\n({TLS_REQUESTS} HTTPS requests from {THREADS} concurrent threads through one client, verify=<CA path>)")
    log(table(["client", "connections opened", "load_verify_locations", "SSLContexts created", "errors"],
              [[n, d["connections_opened"], d["load_verify_locations"], d["ssl_contexts_created"], len(d["errors"])]
               for n, d in tls.items()]))
    for name in ("OpenaiTemplate", "Client"):
        if name not in https:
            continue
        r = ratio(https[name]["total_ms_median"], https["requests"]["total_ms_median"])
        peers = f"requests {https['requests']['total_ms_median']:.1f} ms" + (
            f", openai {https['openai']['total_ms_median']:.1f} ms" if "openai" in https else "")
        summary.add(f"build + first HTTPS request: {name}", f"{https[name]['total_ms_median']:.1f} ms", peers,
                    f"{fmt(r)}x", "(no target)", None)
        d = tls[name]
        req = tls["requests"]
        summary.add(f"TLS CA loads, {TLS_REQUESTS} reqs/{THREADS} threads: {name}",
                    f"{d['load_verify_locations']} loads / {d['connections_opened']} conns",
                    f"requests {req['load_verify_locations']} / {req['connections_opened']} conns", "-",
                    "1 per client", d["load_verify_locations"] == 1 and not d["errors"])
    return {"http": http, "https": https, "tls_contexts": tls}


# ---------------------------------------------------------------------------------------- profile
def profile_stream(tokens: int) -> None:
    """cProfile one OpenaiTemplate stream and one plain-requests stream; print the top functions."""
    import cProfile
    import io
    import pstats

    import requests

    from chatgpt_sync import OpenaiTemplate

    with ServerProcess(tokens) as server:
        base = server.urls["big"]
        provider = OpenaiTemplate(base_url=base, api_key=API_KEY, timeout=TIMEOUT)
        session = requests.Session()
        report = io.StringIO()
        runs: list[tuple[str, Callable[[], str]]] = [
            ("OpenaiTemplate.create_completion", lambda: template_stream(provider)),
            ("plain requests iter_lines", lambda: requests_stream(session, base))]
        for name, run in runs:
            run()  # warm-up
            profiler = cProfile.Profile()
            c0 = time.process_time()
            profiler.runcall(run)
            cpu = time.process_time() - c0
            report.write(f"\n===== {name}: {tokens} tokens, {cpu * 1000:.0f} ms CPU under cProfile =====\n")
            stats = pstats.Stats(profiler, stream=report)
            stats.sort_stats("tottime").print_stats(22)
        provider.close()
        session.close()
    text = report.getvalue()
    os.makedirs(os.path.dirname(PROFILE_OUT), exist_ok=True)
    with open(PROFILE_OUT, "w") as fh:
        fh.write(text)
    log(text)
    log(f"written to {os.path.relpath(PROFILE_OUT, ROOT)}")


# ------------------------------------------------------------------------------------------- main
def _meta(cfg: Config) -> dict[str, Any]:
    versions = {}
    for mod in ("requests", "urllib3", "openai", "httpx2", "chatgpt_sync"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:
            versions[mod] = None
    return {"quick": cfg.quick, "tokens": cfg.tokens, "python": platform.python_version(),
            "cpus": os.cpu_count(), "loadavg_start": os.getloadavg(), "versions": versions,
            "time": time.strftime("%Y-%m-%d %H:%M:%S")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke mode: fewer tokens and repetitions")
    parser.add_argument("--profile", action="store_true", help="cProfile the streaming path and exit")
    parser.add_argument("--json", default=RESULTS, help=f"where to write the results (default {RESULTS})")
    parser.add_argument("--only", metavar="SECTION[,SECTION]",
                        help=f"run only these sections, comma-separated: {', '.join(SECTIONS)}")
    parser.add_argument("--import-runs", type=int, metavar="N", help="import runs per case (default 21, --quick 5)")
    args = parser.parse_args(argv)
    only = set(SECTIONS) if not args.only else {part.strip() for part in args.only.split(",") if part.strip()}
    if only - set(SECTIONS):
        parser.error(f"unknown section(s) {', '.join(sorted(only - set(SECTIONS)))}; choose from {', '.join(SECTIONS)}")
    cfg = Config.make(args.quick)
    if args.import_runs:
        cfg.import_runs = args.import_runs
    if args.profile:
        profile_stream(cfg.tokens)
        return 0
    started = time.perf_counter()
    summary = Summary()
    results: dict[str, Any] = {"meta": _meta(cfg)}
    log(f"bench_api: {'quick' if cfg.quick else 'full'} run, {cfg.tokens} tokens, python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
        + ("" if only == set(SECTIONS) else f", sections: {', '.join(s for s in SECTIONS if s in only)}"))

    pycache = tempfile.TemporaryDirectory(prefix="bench-api-pycache-")
    env = child_env(pycache.name)
    if "imports" in only:
        log("\n## 1. import cost (fresh interpreter per run, round-robin)")
        results["imports"] = bench_imports(cfg, env, summary)
    if only & set(SECTIONS[1:]):
        _run_sections(cfg, env, only, results, summary)
    pycache.cleanup()
    _finish(cfg, started, results, summary, args.json)
    return 0


def _run_sections(cfg: Config, env: dict[str, str], only: set[str], results: dict[str, Any],
                  summary: Summary) -> None:
    """Sections 2-6, against one emulator process."""
    targets, client_error = build_targets()
    if client_error:
        log(f"\nNOTE: chatgpt_sync.Client is not importable ({client_error}); its rows are skipped.")
        results["client_skipped"] = client_error
    sections: list[tuple[str, str, Callable[..., dict[str, Any]], tuple[Any, ...]]] = [
        ("stream", f"## 2. streaming {cfg.tokens} tokens: client CPU (emulator in another process)",
         bench_stream, (targets,)),
        ("rss", f"## 3. peak RSS of a fresh process: import + stream {cfg.tokens} tokens",
         bench_rss, ([t.name for t in targets], env)),
        ("reuse", f"## 4. connection reuse: {cfg.reuse_calls} sequential streamed calls, one client",
         bench_reuse, (targets,)),
        ("throughput", "## 5. threaded throughput, one shared client", bench_throughput, (targets,)),
        ("construct", "## 6. client construction + first request (HTTP and HTTPS)", bench_construct, (targets,)),
    ]
    with ServerProcess(cfg.tokens) as server:
        for key, title, func, extra in sections:
            if key not in only:
                continue
            log(f"\n{title}")
            try:
                results[key] = func(cfg, server, *extra, summary)
            except Exception as exc:  # one broken section must not hide the others
                log(f"ERROR in {key}: {type(exc).__name__}: {exc}")
                results[key] = {"error": f"{type(exc).__name__}: {exc}"}
                summary.add(f"{key}", "error", "-", "-", "-", False)


def _finish(cfg: Config, started: float, results: dict[str, Any], summary: Summary, path: str) -> None:
    """The summary table, and the JSON file."""
    elapsed = time.perf_counter() - started
    results["meta"]["seconds"] = elapsed
    results["meta"]["loadavg_end"] = os.getloadavg()
    results["summary"] = [dict(zip(["metric", "ours", "peers", "ratio", "target", "result"], row))
                          for row in summary.rows]
    log(f"\n## summary ({'quick' if cfg.quick else 'full'} run, {elapsed:.0f} s, "
        f"load average now {os.getloadavg()[0]:.2f})")
    log(table(["metric", "ours", "peer(s)", "ratio", "target", "result"], summary.rows))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(results, fh, indent=2)
    log(f"\nresults written to {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
