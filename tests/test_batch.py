"""chatgpt_sync.batch end to end against the OpenAI emulator: order, errors, the shared rate limit,
the checkpoint (resume, mismatch, a torn line), interrupts (SIGTERM, SIGINT, SIGKILL in a child
process), progress output with and without tqdm, and a Dask LocalCluster.

The emulator's request log (arrival time, status, body per request) is the witness: it shows when
requests came (none during a Retry-After wait) and how often each prompt was asked.
"""

from __future__ import annotations

import collections
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from chatgpt_sync import OpenaiTemplate
from chatgpt_sync._ratelimit import RateGate
from chatgpt_sync.batch import (BatchInterrupted, BatchResult, BatchStopped, CheckpointMismatchError, iter_batch,
                                run_batch, summarize)
from chatgpt_sync.errors import InvalidRequestError, UnknownParameterError
from chatgpt_sync.testing.openai_api import OpenAIEmulator

from conftest import wait_until

ROOT = Path(__file__).resolve().parent.parent
MODEL = "gpt-4o-mini"
CHAT = "/v1/chat/completions"
JOIN = 30.0  # seconds: no child process is waited on longer


@pytest.fixture
def server() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator() as emulator:
        yield emulator


def provider(server: OpenAIEmulator, **settings: Any) -> OpenaiTemplate:
    return OpenaiTemplate(base_url=server.base_url, timeout=10, **settings)


def prompts(n: int) -> list[str]:
    return [f"prompt {i}" for i in range(n)]


def chat_log(server: OpenAIEmulator) -> list[Any]:
    return sorted((e for e in server.request_log if e.path == CHAT), key=lambda e: e.arrived)


def asked(server: OpenAIEmulator) -> collections.Counter[str]:
    """How often the server was asked each prompt (by its last user text). A request whose body did
    not arrive whole (its sender was killed while sending it) asked nothing."""
    counts: collections.Counter[str] = collections.Counter()
    for entry in chat_log(server):
        try:
            counts[entry.json()["messages"][-1]["content"]] += 1
        except ValueError:
            assert entry.status == 400
    return counts


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """Spies on the shared rate gate: (when, until) for each pause the batch sets, on the clock
    (``time.monotonic``) the emulator's request log uses."""
    calls: list[tuple[float, float]] = []
    original = RateGate.pause_for

    def pause_for(self: RateGate, seconds: float) -> float:
        until = original(self, seconds)
        calls.append((time.monotonic(), until))
        return until

    monkeypatch.setattr(RateGate, "pause_for", pause_for)
    return calls


def check_pauses(log: list[Any], pauses: list[tuple[float, float]], threads: int) -> None:
    """Once the batch has paused, no worker sends until the pause ends: the only requests that may
    still arrive are those the other workers had already sent, or were sending (one each)."""
    assert pauses
    for when, until in pauses:
        late = [round(e.arrived - when, 3) for e in log if when < e.arrived < until - 0.005]
        # Without the shared pause, the other workers would send dozens of requests meanwhile.
        assert len(late) <= threads - 1, f"requests {late} s after the batch paused until +{until - when:.3f} s"
        assert any(e.arrived >= until - 0.005 for e in log)  # and then the batch went on


def recorded(path: Path) -> set[int]:
    lines = path.read_text().splitlines()[1:]
    return {json.loads(line)["i"] for line in lines if line.strip()}


# ------------------------------------------------------------------------------ the shared rate limit
def test_a_429_pauses_every_worker_for_its_retry_after(server: OpenAIEmulator,
                                                      pauses: list[tuple[float, float]]) -> None:
    """200 prompts, 8 threads, 429s with Retry-After: 1 at the start and midway. Once a worker has been
    told to wait, nobody sends until the wait is over (checked at the server)."""
    wait = 1.0
    server.faults.retry_after = "1"
    server.faults.rate_limit_first = 3
    started = time.monotonic()
    seen: list[BatchResult] = []
    with provider(server) as chat:
        for result in iter_batch(chat, prompts(200), model=MODEL, threads=8):
            seen.append(result)
            if len(seen) == 80:
                server.faults.rate_limit_first = 3  # re-arms: the next three requests get 429
    took = time.monotonic() - started
    log = chat_log(server)
    limited = [e.arrived for e in log if e.status == 429]
    assert len(limited) == 6 and len(log) == 206
    check_pauses(log, pauses, threads=8)
    assert len(pauses) == 6 and all(until - when == pytest.approx(wait, abs=0.05) for when, until in pauses)
    for at in limited:  # each 429's wait was honoured: the pause set after it lasts to its end
        assert any(when >= at and until >= at + wait for when, until in pauses)
    assert took >= 2 * wait
    assert sorted(r.index for r in seen) == list(range(200))
    assert all(r.ok and r.text == f"Echo: prompt {r.index}" for r in seen)
    assert sum(r.attempts for r in seen) == len(log)  # every request is one attempt of one prompt
    # Each 429 cost its prompt one more attempt (a retry may meet a 429 again when workers start
    # staggered and the first ones use the fault up).
    assert sum(r.attempts - 1 for r in seen) == 6 and max(r.attempts for r in seen) <= 3


def test_requests_per_second_paces_all_workers(server: OpenAIEmulator) -> None:
    started = time.monotonic()
    with provider(server) as chat:
        results = run_batch(chat, prompts(10), model=MODEL, threads=4, requests_per_second=20)
    arrivals = [e.arrived for e in chat_log(server)]
    assert all(r.ok for r in results) and len(arrivals) == 10
    # The k-th request may not go out before its slot, k / 20 s after the start, whichever worker sends it.
    early = [k for k, at in enumerate(arrivals) if at < started + k * 0.05]
    assert not early, f"requests {early} went out before their slots"


def test_the_gate_never_shortens_a_pause_and_stops_waiting_when_told() -> None:
    now = [100.0]
    gate = RateGate(clock=lambda: now[0])
    assert gate.pause_for(5) == 105.0 and gate.pause_for(1) == 105.0  # a shorter pause keeps the longer
    stop = threading.Event()
    stop.set()
    assert gate.wait(stop) is False  # paused and told to stop: returns at once, "do not send"
    now[0] = 106.0
    assert gate.wait(threading.Event()) is True
    with pytest.raises(ValueError):
        RateGate(0)


# ------------------------------------------------------------------------------ order and errors
def test_results_in_input_order_with_errors_recorded_per_prompt(server: OpenAIEmulator) -> None:
    given: list[Any] = prompts(30)
    given[7] = [{"role": "user", "content": "prompt 7", "bogus": 1}]  # the server answers 400
    given[12] = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "prompt 12"}]
    with provider(server) as chat:
        results = run_batch(chat, given, model=MODEL, threads=8, temperature=0.5)
    assert [r.index for r in results] == list(range(30))
    assert [r.prompt for r in results] == given
    bad = results[7]
    assert not bad.ok and bad.text is None and bad.error_type == "BadRequestError"
    assert "bogus" in (bad.error or "") and bad.attempts == 1  # a 400 is never tried again
    assert results[12].text == "Echo: prompt 12" and results[12].finish_reason == "stop"
    assert all(r.ok and r.text == f"Echo: prompt {r.index}" for r in results if r.index != 7)
    assert results[0].usage == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
    assert all(e.json()["temperature"] == 0.5 for e in chat_log(server))
    assert asked(server) == collections.Counter({f"prompt {i}": 1 for i in range(30)})
    summary = summarize(results)
    assert (summary.total, summary.answered, summary.failed, summary.errors) == (30, 29, 1, {"BadRequestError": 1})
    assert str(summary) == "30 prompts: 29 answered, 1 failed; errors: BadRequestError x1"


def test_server_errors_are_retried_and_recorded_when_attempts_run_out(server: OpenAIEmulator) -> None:
    server.faults.error_first = 2  # two 500s, then answers
    with provider(server) as chat:
        results = run_batch(chat, prompts(2), model=MODEL, threads=2)
        assert [r.attempts for r in results] == [2, 2] and all(r.ok for r in results)
        server.faults.error_status, server.faults.error_first = 503, 100
        failed = run_batch(chat, prompts(1), model=MODEL, threads=1, max_attempts=2)
    assert failed[0].error_type == "InternalServerError" and failed[0].attempts == 2
    assert "503" in (failed[0].error or "")


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kwargs, words", [
    ({"threads": 0}, "threads must be"),
    ({"threads": "8"}, "threads must be"),
    ({"max_attempts": 0}, "max_attempts must be"),
    ({"max_retries": 3}, "max_attempts"),
    ({"requests_per_second": 0}, "requests_per_second"),
    ({"progress": "yes"}, "progress must be"),
    ({"prompts": "one prompt"}, "wrap a single prompt in a list"),
    ({"prompts": ["fine", [{"role": "robot", "content": "x"}]]}, "prompts[1]"),
    ({"model": 5}, "model must be a string"),
    ({"dask_client": object()}, "dask_client must be"),
])
def test_bad_input_fails_before_any_request(server: OpenAIEmulator, kwargs: dict[str, Any], words: str) -> None:
    args: dict[str, Any] = {"prompts": prompts(3), "model": MODEL, **kwargs}
    with pytest.raises(InvalidRequestError) as info:
        run_batch(provider(server), args.pop("prompts"), **args)
    assert words in str(info.value)
    assert server.chat_requests == 0


def test_unknown_keywords_and_providers_fail_before_any_request(server: OpenAIEmulator) -> None:
    with pytest.raises(UnknownParameterError, match="temprature"):
        run_batch(provider(server), prompts(3), model=MODEL, temprature=0.2)
    with pytest.raises(InvalidRequestError, match="unknown provider"):
        run_batch("NoSuchProvider", prompts(3), model=MODEL)
    with pytest.raises(InvalidRequestError, match="provider must be"):
        run_batch(object(), prompts(3), model=MODEL)
    assert server.chat_requests == 0
    assert run_batch(provider(server), [], model=MODEL) == []


class StubDask:
    """Has a Dask client's shape; records whether anything was sent."""

    def __init__(self) -> None:
        self.calls = 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1

    def scatter(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1


def test_an_unpicklable_provider_is_refused_for_dask_before_anything_is_sent(server: OpenAIEmulator) -> None:
    stub = StubDask()
    unpicklable = provider(server, sleep=threading.Event().wait)  # a bound method holding a lock
    with pytest.raises(InvalidRequestError, match="cannot be sent to Dask workers"):
        run_batch(unpicklable, prompts(3), model=MODEL, dask_client=stub)
    assert stub.calls == 0 and server.chat_requests == 0


# ------------------------------------------------------------------------------ the checkpoint
def test_a_rerun_with_the_checkpoint_asks_nothing_again(server: OpenAIEmulator, tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    given: list[Any] = prompts(20)
    given[3] = [{"role": "user", "content": "prompt 3", "bogus": 1}]
    with provider(server) as chat:
        first = run_batch(chat, given, model=MODEL, threads=4, checkpoint=path)
        again = run_batch(chat, given, model=MODEL, threads=4, checkpoint=str(path))
        assert server.chat_requests == 20  # nothing asked twice, the failed prompt neither
        assert [(r.text, r.error) for r in again] == [(r.text, r.error) for r in first]
        assert all(r.from_checkpoint for r in again) and summarize(again).from_checkpoint == 20
        retried = run_batch(chat, given, model=MODEL, threads=4, checkpoint=path, retry_failed=True)
    assert server.chat_requests == 21 and retried[3].attempts == 1 and not retried[3].from_checkpoint
    header = json.loads(path.read_text().splitlines()[0])
    assert header["prompts"] == 20 and header["model"] == MODEL


def test_a_checkpoint_from_another_list_or_model_is_refused(server: OpenAIEmulator, tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    with provider(server) as chat:
        run_batch(chat, prompts(6), model=MODEL, threads=2, checkpoint=path)
        changed = prompts(6)
        changed[4] = "something else"
        for given, model, words in [(changed, MODEL, "prompt 4 differs"), (prompts(5), MODEL, "6 prompts, now 5"),
                                    (prompts(7), MODEL, "6 prompts, now 7"), (prompts(6), "gpt-4o", "model")]:
            with pytest.raises(CheckpointMismatchError, match=words):
                run_batch(chat, given, model=model, checkpoint=path)
        other = tmp_path / "notes.jsonl"
        other.write_text('{"some": "thing"}\n')
        with pytest.raises(CheckpointMismatchError, match="not a chatgpt_sync batch checkpoint"):
            run_batch(chat, prompts(6), model=MODEL, checkpoint=other)
    assert server.chat_requests == 6
    assert other.read_text() == '{"some": "thing"}\n'  # left as it was


def test_a_checkpoint_path_that_cannot_be_written_is_refused_before_sending(server: OpenAIEmulator,
                                                                           tmp_path: Path) -> None:
    with provider(server) as chat:
        with pytest.raises(InvalidRequestError, match="folder .* does not exist; create it"):
            run_batch(chat, prompts(3), model=MODEL, checkpoint=tmp_path / "no" / "such" / "answers.jsonl")
        with pytest.raises(CheckpointMismatchError, match=r"3 prompts, now 5; prompts 3 to 4 are new"):
            run_batch(chat, prompts(3), model=MODEL, checkpoint=tmp_path / "a.jsonl")
            run_batch(chat, prompts(5), model=MODEL, checkpoint=tmp_path / "a.jsonl")
    assert server.chat_requests == 3


def test_refused_credentials_stop_the_batch_and_a_rerun_with_the_right_key_resumes(tmp_path: Path) -> None:
    """A 401 is about the key, not the prompt: 200 prompts must not mean 200 refused requests."""
    path = tmp_path / "answers.jsonl"
    with OpenAIEmulator(api_key="sk-right-0123456789") as server:
        with pytest.raises(BatchStopped) as caught:
            run_batch(OpenaiTemplate(base_url=server.base_url, api_key="sk-wrong-0123456789", timeout=10),
                      prompts(200), model=MODEL, threads=8, checkpoint=path)
        stopped = caught.value
        assert stopped.error_type == "AuthenticationError" and "fix the credentials" in str(stopped)
        assert "sk-wrong-0123456789" not in str(stopped)
        assert server.chat_requests <= 8  # at most the prompts already in flight, never all 200
        assert stopped.results == [] and stopped.summary().not_done == 200
        assert recorded(path) == set()  # refused prompts are not the prompts' fault: not recorded
        results = run_batch(OpenaiTemplate(base_url=server.base_url, api_key="sk-right-0123456789", timeout=10),
                            prompts(200), model=MODEL, threads=8, checkpoint=path)
    assert all(r.ok for r in results) and len(recorded(path)) == 200


def test_an_error_after_retries_says_how_many_attempts_were_made(server: OpenAIEmulator) -> None:
    server.faults.rate_limit_first, server.faults.retry_after = 100, "0"
    with provider(server) as chat:
        [result] = run_batch(chat, prompts(1), model=MODEL, threads=1, max_attempts=3)
    assert result.error_type == "RateLimitError" and result.attempts == 3
    assert (result.error or "").endswith("(gave up after 3 attempts)")


def test_a_cancelled_dask_task_is_not_a_result_when_the_batch_stops() -> None:
    """Ctrl-C on a terminal also interrupts a LocalCluster's workers, and Dask cancels forgotten tasks:
    such an attempt is left for the resume, never recorded as the prompt's error."""
    import concurrent.futures
    from chatgpt_sync._batch_runners import DaskRunner

    class Future:
        def __init__(self, exc: BaseException) -> None:
            self.exc = exc

        def add_done_callback(self, callback: Any) -> None:
            callback(self)

        def result(self) -> Any:
            raise self.exc

    class Client:
        raised: BaseException = concurrent.futures.CancelledError()

        def scatter(self, value: Any, **kwargs: Any) -> Any:
            return value

        def submit(self, *args: Any, **kwargs: Any) -> Future:
            return Future(self.raised)

    client = Client()
    runner = DaskRunner(client, object(), MODEL, {})
    never = threading.Event()
    for raised in (concurrent.futures.CancelledError(), KeyboardInterrupt(), type("FutureCancelledError", (Exception,), {})()):
        client.raised = raised
        outcome = runner([{"role": "user", "content": "x"}], never)
        assert outcome is not None and outcome.cancelled and outcome.retryable
    client.raised = ValueError("a real failure")
    outcome = runner([{"role": "user", "content": "x"}], never)
    assert outcome is not None and not outcome.cancelled and outcome.error_type == "ValueError"


def test_a_checkpoint_in_use_by_another_batch_is_refused(server: OpenAIEmulator, tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    with provider(server) as chat:
        running = iter_batch(chat, prompts(30), model=MODEL, threads=2, checkpoint=path)
        next(running)  # this one holds the checkpoint open
        try:
            with pytest.raises(InvalidRequestError, match="in use by another batch"):
                run_batch(chat, prompts(30), model=MODEL, checkpoint=path)
        finally:
            running.close()
        assert len(run_batch(chat, prompts(30), model=MODEL, checkpoint=path)) == 30  # free again
    assert sorted(asked(server).values()) == [1] * 30


def test_a_line_cut_short_by_a_kill_is_dropped_and_its_prompt_asked(server: OpenAIEmulator, tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    with provider(server) as chat:
        run_batch(chat, prompts(10), model=MODEL, threads=2, checkpoint=path)
        lines = path.read_text().splitlines(keepends=True)
        torn = json.loads(lines[-1])["i"]
        path.write_text("".join(lines[:-1]) + lines[-1][:25])  # the kill came mid-write
        server.reset_counters()
        results = run_batch(chat, prompts(10), model=MODEL, threads=2, checkpoint=path)
    assert asked(server) == collections.Counter({f"prompt {torn}": 1})
    assert [r.from_checkpoint for r in results].count(False) == 1 and all(r.ok for r in results)
    assert all(json.loads(line) for line in path.read_text().splitlines())  # whole lines only
    assert recorded(path) == set(range(10))


# ------------------------------------------------------------------------------ interrupts
CHILD = textwrap.dedent("""
    import json, sys
    from chatgpt_sync import OpenaiTemplate
    from chatgpt_sync.batch import BatchInterrupted, run_batch

    base_url, checkpoint, count, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    prompts = [f"prompt {i}" for i in range(count)]
    try:
        results = run_batch(OpenaiTemplate(base_url=base_url, timeout=10), prompts, model="gpt-4o-mini",
                            threads=threads, checkpoint=checkpoint, stream=True, grace=5)
    except BatchInterrupted as exc:
        print(json.dumps({"done": len(exc.results), "message": str(exc)}), flush=True)
        sys.exit(3)
    print(json.dumps({"done": len(results)}), flush=True)
""")


def run_child_until(server: OpenAIEmulator, tmp_path: Path, sig: int, threads: int,
                    count: int = 200) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Start a batch in a child process (every answer stalls 50 ms), send ``sig`` once at least 25
    prompts are in its checkpoint, and wait for it to end."""
    server.faults.stall_after, server.faults.stall_seconds = 1, 0.05
    script, path = tmp_path / "child.py", tmp_path / "answers.jsonl"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, str(script), server.base_url, str(path), str(count), str(threads)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert wait_until(lambda: path.exists() and len(path.read_text().splitlines()) > 25, timeout=JOIN)
        child.send_signal(sig)
        out, err = child.communicate(timeout=JOIN)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    server.faults.stall_after = None
    return subprocess.CompletedProcess(child.args, child.returncode, out, err), path


def resume(server: OpenAIEmulator, path: Path, count: int = 200) -> list[BatchResult]:
    with provider(server) as chat:
        return run_batch(chat, prompts(count), model=MODEL, threads=8, checkpoint=path)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_batch_records_what_it_asked_and_resumes_without_asking_twice(
        server: OpenAIEmulator, tmp_path: Path, sig: int) -> None:
    done, path = run_child_until(server, tmp_path, sig, threads=4)
    assert done.returncode == 3, done.stderr
    report = json.loads(done.stdout)
    assert "interrupted" in report["message"] and "to resume" in report["message"]
    before = asked(server)
    assert 25 <= report["done"] < 200
    # Prompts in flight were let finish: everything the server was asked is in the checkpoint.
    assert {int(text.split()[1]) for text in before} == recorded(path)
    assert len(recorded(path)) == report["done"]
    results = resume(server, path)
    assert asked(server) == collections.Counter({f"prompt {i}": 1 for i in range(200)})
    assert [r.index for r in results] == list(range(200)) and all(r.ok for r in results)
    assert sum(r.from_checkpoint for r in results) == report["done"]


def test_a_hard_kill_asks_at_most_threads_prompts_again(server: OpenAIEmulator, tmp_path: Path) -> None:
    threads = 4
    done, path = run_child_until(server, tmp_path, signal.SIGKILL, threads=threads)
    assert done.returncode == -signal.SIGKILL
    assert wait_until(lambda: server.connections_open == 0)  # the killed child's requests have ended
    before, kept = asked(server), recorded(path)
    lost = {int(text.split()[1]) for text in before} - kept  # asked, but no answer recorded
    assert len(lost) <= threads
    results = resume(server, path)
    counts = asked(server)
    assert all(r.ok for r in results) and len(results) == 200
    assert {f"prompt {i}" for i in range(200)} == set(counts)
    twice = {int(text.split()[1]) for text, n in counts.items() if n > 1}
    assert twice == lost and max(counts.values()) <= 2


def test_sigterm_is_handled_only_while_the_batch_runs(server: OpenAIEmulator) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with provider(server) as chat:
        run_batch(chat, prompts(3), model=MODEL, threads=2)
    assert signal.getsignal(signal.SIGTERM) == before


def test_breaking_out_of_iter_batch_stops_the_workers(server: OpenAIEmulator, tmp_path: Path) -> None:
    server.faults.stall_after, server.faults.stall_seconds = 1, 0.05
    path = tmp_path / "answers.jsonl"
    with provider(server) as chat:
        results = iter_batch(chat, prompts(100), model=MODEL, threads=4, checkpoint=path, stream=True)
        taken = [next(results) for _ in range(5)]
        results.close()  # what a `break` out of a for loop does
        count = server.chat_requests
        time.sleep(0.2)
        # Workers may run a little ahead of the consumer, and finish what is in flight; then no more.
        assert server.chat_requests == count <= 5 + 2 * 4
    assert {r.index for r in taken} <= recorded(path) and len(recorded(path)) == count


# ------------------------------------------------------------------------------ progress
def test_progress_with_tqdm_on_a_terminal_and_lines_in_a_log(server: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    given: list[Any] = prompts(20)
    given[0] = [{"role": "user", "content": "x", "bogus": 1}]
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    run_batch(provider(server), given, model=MODEL, threads=4)
    shown = terminal.getvalue()
    assert "20/20" in shown and "prompt" in shown and "1 failed" in shown and "|" in shown  # tqdm's bar
    monkeypatch.undo()
    # progress=True into a file or a pipe: whole status lines even with tqdm (whose \r updates would
    # make one endless line in a log)
    run_batch(provider(server), given, model=MODEL, threads=4, progress=True)
    err = capsys.readouterr().err
    assert err.startswith("batch: 0/20 (0%)") and "batch: 20/20 (100%), 1 failed" in err and "\r" not in err


def test_progress_without_tqdm_is_a_status_line(server: OpenAIEmulator, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    given: list[Any] = prompts(20)
    given[0] = [{"role": "user", "content": "x", "bogus": 1}]
    run_batch(provider(server), given, model=MODEL, threads=4, progress=True)
    err = capsys.readouterr().err
    assert err.startswith("batch: 0/20 (0%)") and "batch: 20/20 (100%), 1 failed" in err
    assert "\r" not in err  # not a terminal: whole lines


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_one_line_on_a_terminal_and_is_silent_otherwise(
        server: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    run_batch(provider(server), prompts(5), model=MODEL, threads=2)  # progress=None, stderr not a terminal
    assert capsys.readouterr().err == ""
    terminal = FakeTerminal()
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setattr(sys, "stderr", terminal)
    run_batch(provider(server), prompts(5), model=MODEL, threads=2)  # auto: a terminal shows progress
    shown = terminal.getvalue()
    assert shown.startswith("\rbatch: 0/5") and "\rbatch: 5/5 (100%)" in shown and shown.endswith("\n")
    assert shown.count("\n") == 1


# ------------------------------------------------------------------------------ Dask
def test_a_batch_on_a_dask_cluster(server: OpenAIEmulator, tmp_path: Path, pauses: list[tuple[float, float]]) -> None:
    distributed = pytest.importorskip("distributed")
    path = tmp_path / "answers.jsonl"
    given: list[Any] = prompts(24)
    given[5] = [{"role": "user", "content": "prompt 5", "bogus": 1}]
    server.faults.retry_after, server.faults.rate_limit_first = "0.5", 2
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster, distributed.Client(cluster) as client:
        with provider(server) as chat:
            results = run_batch(chat, given, model=MODEL, threads=4, checkpoint=path, dask_client=client)
            again = run_batch(chat, given, model=MODEL, threads=4, checkpoint=path, dask_client=client)
    assert [r.index for r in results] == list(range(24))
    assert all(r.ok and r.text == f"Echo: prompt {r.index}" for r in results if r.index != 5)
    assert results[5].error_type == "BadRequestError"
    assert all(r.from_checkpoint for r in again)
    log = chat_log(server)
    assert len(log) == 24 + 2 == sum(r.attempts for r in results)
    assert sorted(asked(server).values()) == [1] * 22 + [2] * 2  # the two 429s were asked again
    check_pauses(log, pauses, threads=4)  # the pause held on the cluster too
    assert recorded(path) == set(range(24))
