"""Shared bench helpers: the emulator in its own process, the four stream consumers, statistics.

Run as a script (``python bench/_common.py serve TOKENS CA_PATH``) it is the server child: it starts
three OpenAI emulators (``big``: TOKENS streamed tokens, ``small``: one token, ``tls``: one token
over HTTPS with a trustme CA written to CA_PATH), prints one JSON line with their URLs, then answers
each ``stats`` line on stdin with one JSON line, until stdin closes. Keeping the server in another
process keeps its CPU out of the client's ``time.process_time``.

Top-level imports are stdlib-light on purpose: the peak-RSS children import this module too.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Iterable, Sequence

API_KEY = "sk-bench-0123456789"
MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say something long."}]
TIMEOUT = 60.0
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SERVER_START_TIMEOUT = 30.0
LISTEN_BACKLOG = 128


def expected_text(tokens: int) -> str:
    """What the emulator streams for ``stream_tokens=tokens``."""
    return "".join(f" tok{i}" for i in range(tokens))


# ------------------------------------------------------------------------------- stream consumers
def requests_stream(session: Any, base: str, verify: str | None = None) -> str:
    """Plain requests: post(stream=True), iter_lines(), json.loads each data line, collect content.

    Reads to the end of the body (past ``[DONE]``) so requests hands the connection back to the pool.
    ``verify`` goes per call: a REQUESTS_CA_BUNDLE in the environment overrides ``session.verify``.
    """
    parts: list[str] = []
    loads = json.loads
    extra = {"verify": verify} if verify else {}
    with session.post(f"{base}/chat/completions", json={"model": MODEL, "messages": MESSAGES, "stream": True},
                      headers={"Authorization": f"Bearer {API_KEY}"}, stream=True, timeout=TIMEOUT, **extra) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith(b"data: "):
                continue
            data = line[6:]
            if data == b"[DONE]":
                continue
            chunk = loads(data)
            choices = chunk.get("choices")
            if choices:
                content = choices[0]["delta"].get("content")
                if content:
                    parts.append(content)
    return "".join(parts)


def template_stream(provider: Any) -> str:
    """chatgpt_sync.OpenaiTemplate.create_completion(stream=True): keep the str pieces."""
    parts = [p for p in provider.create_completion(MODEL, MESSAGES, stream=True) if isinstance(p, str)]
    return "".join(parts)


def _content(chunk: Any) -> str | None:
    choices = chunk.choices
    if choices:
        content: str | None = choices[0].delta.content
        return content
    return None


def client_stream(client: Any) -> str:
    """chatgpt_sync.Client / openai.OpenAI: chat.completions.create(stream=True), delta contents."""
    parts: list[str] = []
    for chunk in client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):
        content = _content(chunk)
        if content:
            parts.append(content)
    return "".join(parts)


# ------------------------------------------------------------------------------------- the server
class ServerProcess:
    """The emulator child; ``urls`` maps big/small/tls to base URLs, ``ca_path`` is the CA PEM."""

    def __init__(self, tokens: int) -> None:
        import subprocess
        import tempfile

        self._tmp = tempfile.TemporaryDirectory(prefix="bench-api-")
        self.ca_path = os.path.join(self._tmp.name, "ca.pem")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "serve", str(tokens), self.ca_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, bufsize=1)
        import select

        ready = select.select([self.proc.stdout], [], [], SERVER_START_TIMEOUT)[0] if self.proc.stdout else []
        line = self.proc.stdout.readline() if ready and self.proc.stdout else ""
        if not line:
            self.close()
            raise RuntimeError("the emulator process did not start")
        self.urls: dict[str, str] = json.loads(line)["urls"]
        self.pid: int = self.proc.pid

    def stats(self) -> dict[str, dict[str, int]]:
        """Connection and request counters of each emulator."""
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        stats: dict[str, dict[str, int]] = json.loads(self.proc.stdout.readline())
        return stats

    def opened(self, name: str) -> int:
        return self.stats()[name]["opened"]

    def close(self) -> None:
        import subprocess

        if self.proc.poll() is None:
            try:
                if self.proc.stdin:
                    self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._tmp.cleanup()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(tokens: int, ca_path: str) -> None:
    """The server child's main loop (see the module docstring)."""
    import ssl

    import trustme

    import socketserver

    sys.path.insert(0, ROOT)
    from chatgpt_sync.testing.openai_api import OpenAIEmulator

    # socketserver listens with a backlog of 5: eight threads that each open a new connection per
    # call (openai's sync stream does) overflow it, and a dropped SYN costs a 1 s retransmit. Real
    # servers listen with hundreds; so does the bench.
    socketserver.TCPServer.request_queue_size = LISTEN_BACKLOG

    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    ca.cert_pem.write_to_path(ca_path)
    servers = {
        "big": OpenAIEmulator(api_key=API_KEY, stream_tokens=tokens),
        "small": OpenAIEmulator(api_key=API_KEY, stream_tokens=1),
        "tls": OpenAIEmulator(api_key=API_KEY, stream_tokens=1, ssl_context=ctx),
    }
    for server in servers.values():
        server.start()
    try:
        print(json.dumps({"urls": {k: s.base_url for k, s in servers.items()}}), flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                print(json.dumps({k: {"opened": s.connections_opened, "open": s.connections_open,
                                      "chat": s.chat_requests} for k, s in servers.items()}), flush=True)
    finally:
        for server in servers.values():
            server.stop()


def child_env(pycache_prefix: str) -> dict[str, str]:
    """Environment for measured children: bytecode cached (in a temp dir) for every package alike.

    With PYTHONDONTWRITEBYTECODE=1 (as in this dev environment) a source checkout is compiled on
    every import while site-packages ship .pyc files; a wheel install compiles at install time.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache_prefix
    return env


def listen_overflows() -> int | None:
    """The kernel's TcpExt ListenOverflows counter (Linux), to spot SYNs dropped by a full backlog."""
    try:
        with open("/proc/net/netstat") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            table_ = dict(zip(names.split()[1:], values.split()[1:]))
            return int(table_["ListenOverflows"]) if "ListenOverflows" in table_ else None
    return None


# ------------------------------------------------------------------------------------- statistics
def median(values: Sequence[float]) -> float:
    import statistics

    return statistics.median(values) if values else float("nan")


def ratio(ours: float | None, peer: float | None) -> float | None:
    if ours is None or peer is None or peer == 0 or ours != ours or peer != peer:
        return None
    return ours / peer


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if value != value else f"{value:.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain-text table with left-aligned columns."""
    cells = [[str(h) for h in headers]] + [[c if isinstance(c, str) else fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def now() -> float:
    return time.perf_counter()


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "serve":
        _serve(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit("usage: _common.py serve TOKENS CA_PATH")
