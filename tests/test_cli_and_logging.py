"""The command line and the logger, from a user's point of view (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from chatgpt_sync.cli import main

from conftest import API_KEY, wait_until


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATGPT_SYNC_"))}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "chatgpt_sync", *args], capture_output=True, text=True,
                          env=full_env, timeout=60)


def test_demo_streams_an_answer_offline() -> None:
    result = run("chat", "Say hello", "--demo")
    assert result.returncode == 0, result.stderr
    assert "built-in emulator" in result.stdout


def test_without_a_backend_it_says_how_to_configure_one() -> None:
    result = run("chat", "hi")
    assert result.returncode == 2
    assert "--base-url" in result.stderr and "OPENAI_API_KEY" in result.stderr and "--demo" in result.stderr


def test_help_and_version() -> None:
    assert run("--help").returncode == 0
    assert "chatgpt-sync" in run("--version").stdout


def test_chat_and_models_against_a_server(openai_server, capsys) -> None:
    assert main(["chat", "hello world", "--base-url", openai_server.base_url, "--api-key", API_KEY,
                 "--model", "gpt-4o-mini"]) == 0
    assert capsys.readouterr().out == "Echo: hello world\n"
    assert main(["models", "--base-url", openai_server.base_url, "--api-key", API_KEY]) == 0
    assert "gpt-4o-mini" in capsys.readouterr().out


def test_api_errors_exit_1_with_a_one_line_message(openai_server, capsys) -> None:
    code = main(["chat", "hi", "--base-url", openai_server.base_url, "--api-key", "sk-wrong-000000000",
                 "--model", "gpt-4o-mini"])
    err = capsys.readouterr().err
    assert code == 1 and "AuthenticationError" in err and "sk-wrong-000000000" not in err


def test_debug_log_redacts_the_key(openai_server) -> None:
    code = (
        "from chatgpt_sync import OpenaiTemplate\n"
        f"p = OpenaiTemplate(base_url={openai_server.base_url!r}, api_key={API_KEY!r}, max_retries=0)\n"
        "import logging; logging.getLogger('chatgpt_sync').debug('key is %s, Authorization: Bearer %s', "
        f"{API_KEY!r}, {API_KEY!r})\n"
        "print(p.create_completion('gpt-4o-mini', [{'role': 'user', 'content': 'hi'}]).text())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "CHATGPT_SYNC_LOG": "debug"})
    assert result.returncode == 0, result.stderr
    assert "POST" in result.stderr  # logging is on
    assert API_KEY not in result.stderr and "[redacted]" in result.stderr
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items() if k != "CHATGPT_SYNC_LOG"})
    assert quiet.stderr == ""  # silent by default


def test_output_piped_into_a_reader_that_stops_early_exits_quietly() -> None:
    from chatgpt_sync.testing.openai_api import OpenAIEmulator
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATGPT_SYNC_"))}
    with OpenAIEmulator(stream_tokens=100_000) as server:  # far more than a pipe buffer holds
        process = subprocess.Popen([sys.executable, "-m", "chatgpt_sync", "chat", "hi", "--base-url",
                                    server.base_url, "--model", "gpt-4o-mini"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert process.stdout is not None and process.stderr is not None
        process.stdout.read(10)
        process.stdout.close()  # like `| head -c 10`
        err = process.stderr.read().decode()
        assert process.wait(timeout=60) == 0
    assert "Traceback" not in err


def test_a_refusal_is_printed_and_marked(openai_server, capsys) -> None:
    base = ["--base-url", openai_server.base_url, "--api-key", API_KEY, "--model", "gpt-4o-mini"]
    for mode in ([], ["--no-stream"]):
        assert main(["chat", "please REFUSE this", *base, *mode]) == 0
        assert capsys.readouterr().out == "[refusal] I can't help with that.\n"


def test_the_help_says_how_a_refusal_shows_and_exits() -> None:
    out = run("chat", "--help").stdout
    assert "[refusal] " in out and "exit status" in out


def test_demo_refuses_an_explicit_base_url_or_provider(capsys) -> None:
    assert main(["chat", "hi", "--demo", "--base-url", "http://127.0.0.1:1/v1"]) == 2
    err = capsys.readouterr().err
    assert "--demo" in err and "--base-url" in err
    assert main(["models", "--demo", "--provider", "ChatGpt"]) == 2
    assert "--provider" in capsys.readouterr().err
    # Checked before the prompt is read from standard input.
    result = subprocess.run([sys.executable, "-m", "chatgpt_sync", "chat", "-", "--demo", "--base-url",
                             "http://127.0.0.1:1/v1"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--base-url" in result.stderr


def test_demo_ignores_the_backend_environment_variables() -> None:
    result = run("chat", "Say hello", "--demo",
                 env={"CHATGPT_SYNC_BASE_URL": "http://127.0.0.1:1/v1", "CHATGPT_SYNC_PROVIDER": "ChatGpt"})
    assert result.returncode == 0, result.stderr
    assert "built-in emulator" in result.stdout


def test_models_fails_on_a_wrong_key_or_no_server(openai_server, capsys) -> None:
    # No made-up list on a refused key or an unreachable server: an error, exit status 1.
    # OpenaiAPI has fallback models: they are for a server without /models (404), not for these.
    assert main(["models", "--provider", "OpenaiAPI", "--base-url", openai_server.base_url,
                 "--api-key", "sk-wrong-000000000"]) == 1
    captured = capsys.readouterr()
    assert "AuthenticationError" in captured.err and captured.out == ""
    assert main(["models", "--provider", "OpenaiAPI", "--base-url", "http://127.0.0.1:1/v1", "--api-key", API_KEY,
                 "--timeout", "2"]) == 1
    captured = capsys.readouterr()
    assert "APIConnectionError" in captured.err and captured.out == ""


def test_tls_client_is_imported_only_when_used() -> None:
    code = ("import sys, chatgpt_sync; from chatgpt_sync import OpenaiTemplate, Client, ChatGpt; "
            "print('tls_client' in sys.modules, 'curl_cffi' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_providers_lists_every_registered_provider(capsys) -> None:
    from chatgpt_sync import cli
    from chatgpt_sync.providers import PROVIDERS
    assert cli.main(["providers", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in rows] == list(PROVIDERS)
    by_name = {r["name"]: r for r in rows}
    assert by_name["OpenaiAPI"]["needs_auth"] is True and by_name["GPTalk"]["working"] is False
    assert "auto" in by_name["ChatGpt"]["models"]
    assert cli.main(["providers"]) == 0
    table = capsys.readouterr().out
    assert "Chatgpt4o" in table and "working" in table


@pytest.mark.parametrize("argv, says", [
    (["chat", "x", "--provider", "RetryProvider", "--base-url", "http://127.0.0.1:9/v1"], "list of providers"),
    (["chat", "   ", "--demo"], "prompt is empty"),
    (["chat", "x", "--provider", "Nope"], "unknown provider"),
    (["chat", "x", "--provider", "ChatGpt", "--api-key", "sk-0123456789abcdef"], "takes no api_key"),
    (["chat", "x", "--base-url", "http://[::1/v1"], "base_url"),
])
def test_usage_errors_exit_2_before_sending_anything(argv, says, capsys) -> None:
    from chatgpt_sync import cli
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert "sk-0123456789abcdef" not in err


def test_openai_chat_from_the_command_line(tmp_path, capsys) -> None:
    from chatgpt_sync import cli
    from chatgpt_sync.testing.openai_chat import OpenaiChatEmulator
    with OpenaiChatEmulator() as server:
        auth_file = tmp_path / "auth.json"
        argv = ["chat", "hello cli", "--provider", "OpenaiChat", "--base-url", server.base_url,
                "--api-key", server.access_token(), "--auth-file", str(auth_file)]
        assert cli.main(argv) == 0
        out = capsys.readouterr()
        assert "hello cli" in out.out and server.access_token() not in out.out + out.err
        assert oct(auth_file.stat().st_mode & 0o777) == "0o600"
        # the cached credentials serve the next run, with no token on the command line
        assert cli.main(["chat", "again", "--provider", "OpenaiChat", "--base-url", server.base_url,
                         "--auth-file", str(auth_file)]) == 0
        assert "again" in capsys.readouterr().out


# ------------------------------------------------------------ --json, standard input, the terminal

def test_json_prints_one_object_per_piece_streamed_or_not() -> None:
    from chatgpt_sync.cli import _DEMO_REPLY
    for mode in ([], ["--no-stream"]):
        result = run("chat", "Say hello", "--demo", "--json", *mode)
        assert result.returncode == 0, result.stderr
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert "".join(r["text"] for r in rows if r["type"] == "text") == _DEMO_REPLY
        assert [r for r in rows if r["type"] == "FinishReason"] == [{"type": "FinishReason", "reason": "stop",
                                                                       "index": 0}]
        assert all("raw" not in r and "headers" not in r for r in rows)
        assert {"ResponseMeta", "Usage"} <= {r["type"] for r in rows}


def test_json_shows_a_refusal_as_an_object(openai_server, capsys) -> None:
    assert main(["chat", "please REFUSE this", "--json", "--base-url", openai_server.base_url,
                 "--api-key", API_KEY, "--model", "gpt-4o-mini"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert "".join(r["text"] for r in rows if r["type"] == "Refusal") == "I can't help with that."


def test_without_a_prompt_a_piped_standard_input_is_the_prompt(openai_server) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATGPT_SYNC_"))}
    argv = [sys.executable, "-m", "chatgpt_sync", "chat", "--base-url", openai_server.base_url,
            "--api-key", API_KEY, "--model", "gpt-4o-mini"]
    result = subprocess.run(argv, input="from a pipe", capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Echo: from a pipe\n"
    empty = subprocess.run(argv, input=" \n", capture_output=True, text=True, env=env, timeout=60)
    assert empty.returncode == 2 and "prompt is empty" in empty.stderr


def pexpect_eof() -> Any:
    import pexpect
    return pexpect.EOF


def _spawn(*args: str) -> Any:
    pexpect = pytest.importorskip("pexpect")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATGPT_SYNC_"))}
    return pexpect.spawn(sys.executable, ["-m", "chatgpt_sync", "chat", *args], env=env, encoding="utf-8",
                         timeout=10, dimensions=(24, 200))


def test_interactive_session_keeps_the_history_and_survives_ctrl_c() -> None:
    from chatgpt_sync.testing.openai_api import OpenAIEmulator
    with OpenAIEmulator() as server:
        child = _spawn("--base-url", server.base_url, "--model", "gpt-4o-mini")
        try:
            child.expect_exact("> ")
            child.sendline("first question")
            child.expect_exact("Echo: first question")
            child.expect_exact("> ")
            child.sendline("second question")
            child.expect_exact("Echo: second question")
            child.expect_exact("> ")
            assert [m["content"] for m in server.requests[-1].json()["messages"]] == [
                "first question", "Echo: first question", "second question"]

            server.stream_tokens = 100_000  # an answer long enough to interrupt
            child.sendline("a long one")
            child.expect_exact(" tok100")
            child.sendintr()  # Ctrl-C mid-answer: that answer stops, the session goes on
            child.expect_exact("\n> ")
            server.stream_tokens = None
            child.sendline("third")
            child.expect_exact("Echo: third")
            child.expect_exact("> ")
            # the interrupted turn is left out of the history
            assert [m["content"] for m in server.requests[-1].json()["messages"]] == [
                "first question", "Echo: first question", "second question", "Echo: second question", "third"]
            assert wait_until(lambda: server.connections_open <= 1)  # the interrupted one was released

            child.sendline("/exit")
            child.expect(pexpect_eof())
        finally:
            child.close(force=True)
        assert child.exitstatus == 0
        assert "Traceback" not in (child.before or "")


def test_interactive_session_ctrl_d_leaves_with_0_and_ctrl_c_at_the_prompt_with_130() -> None:
    child = _spawn("--demo")
    try:
        child.expect_exact("> ")
        child.sendline("")  # an empty line is ignored: just the prompt again
        child.expect_exact("> ")
        child.sendline("hello")
        child.expect_exact("built-in emulator")
        child.expect_exact("> ")
        child.sendeof()
        child.expect(pexpect_eof())
    finally:
        child.close(force=True)
    assert child.exitstatus == 0

    child = _spawn("--demo", "--json")
    try:
        child.expect_exact("> ")
        child.sendline("hello")
        child.expect_exact('{"type": "FinishReason", "reason": "stop", "index": 0}')
        child.expect_exact("> ")
        child.sendintr()
        child.expect(pexpect_eof())
    finally:
        child.close(force=True)
    assert child.exitstatus == 130


def test_interactive_session_continues_a_web_conversation(tmp_path) -> None:
    from chatgpt_sync.testing.openai_chat import OpenaiChatEmulator
    with OpenaiChatEmulator() as server:
        child = _spawn("--provider", "OpenaiChat", "--base-url", server.base_url, "--api-key",
                       server.access_token(), "--auth-file", str(tmp_path / "auth.json"))
        try:
            child.expect_exact("> ")
            child.sendline("one")
            child.expect_exact("> ")
            child.sendline("two")
            child.expect_exact("Turn 2")  # the server saw the same conversation continue
            child.expect_exact("> ")
            child.sendline("/quit")
            child.expect(pexpect_eof())
        finally:
            child.close(force=True)
        assert child.exitstatus == 0
    first, second = [r.json() for r in server.requests if r.path.endswith("/conversation")]
    assert first.get("conversation_id") is None and second["conversation_id"]
    assert [m["content"]["parts"] for m in second["messages"]] == [["two"]]  # only the new turn is sent


def test_interactive_commands_reset_model_save_help_and_multi_line_input(tmp_path) -> None:
    from chatgpt_sync.testing.openai_api import OpenAIEmulator
    transcript = tmp_path / "session.md"
    with OpenAIEmulator() as server:
        child = _spawn("--base-url", server.base_url, "--model", "gpt-4o-mini", "--system", "Be brief.")
        try:
            child.expect_exact("> ")
            child.sendline("first")
            child.expect_exact("Echo: first")
            child.expect_exact("> ")
            child.sendline("/model gpt-4o")
            child.expect_exact("(model: gpt-4o)")
            child.expect_exact("> ")
            # a trailing backslash goes on to the next line
            child.sendline("line one\\")
            child.expect_exact("... ")
            child.sendline("line two")
            child.expect_exact("Echo: line one")
            child.expect_exact("> ")
            sent = server.requests[-1].json()
            assert sent["model"] == "gpt-4o"
            assert [m["content"] for m in sent["messages"]] == [
                "Be brief.", "first", "Echo: first", "line one\nline two"]
            # a block between two lines of three double quotes
            child.sendline('"""')
            child.expect_exact("... ")
            child.sendline("alpha")
            child.expect_exact("... ")
            child.sendline("  beta")
            child.expect_exact("... ")
            child.sendline('"""')
            child.expect_exact("Echo: alpha")
            child.expect_exact("> ")
            assert server.requests[-1].json()["messages"][-1]["content"] == "alpha\n  beta"

            child.sendline(f"/save {transcript}")
            child.expect_exact("(saved 3 turns to ")
            child.expect_exact("> ")
            child.sendline("/help")
            child.expect_exact("/save FILE")
            child.expect_exact("> ")
            requests_before = len(server.requests)
            child.sendline("/nonsense")
            child.expect_exact("unknown command '/nonsense'")
            child.expect_exact("> ")
            assert len(server.requests) == requests_before  # commands are never sent to the model
            child.sendline("/reset")
            child.expect_exact("(a new conversation)")
            child.expect_exact("> ")
            child.sendline("//not a command")
            child.expect_exact("Echo: /not a command")
            child.expect_exact("> ")
            # after /reset only the system message and the new turn are sent
            assert [m["content"] for m in server.requests[-1].json()["messages"]] == [
                "Be brief.", "/not a command"]
            child.sendline("/exit")
            child.expect(pexpect_eof())
        finally:
            child.close(force=True)
    assert child.exitstatus == 0
    saved = transcript.read_text(encoding="utf-8")
    assert saved.startswith("# chatgpt-sync conversation")
    assert "## System\n\nBe brief." in saved
    assert "## You\n\nfirst\n\n## Assistant (gpt-4o-mini)\n\nEcho: first" in saved
    assert "## You\n\nline one\nline two\n\n## Assistant (gpt-4o)" in saved
    assert "alpha\n  beta" in saved


def test_a_status_line_waits_for_the_first_token_on_a_terminal_only() -> None:
    from chatgpt_sync.testing.openai_api import OpenAIEmulator
    with OpenAIEmulator() as server:
        server.faults.stall_after, server.faults.stall_seconds = 0, 1.0  # headers, then 1 s of silence
        child = _spawn("hello there", "--base-url", server.base_url, "--model", "gpt-4o-mini")
        try:
            child.expect_exact("waiting for gpt-4o-mini ...")
            # erased (spaces over it, back to the line start) before the first token is printed
            child.expect(r"\r +\rEcho: hello there")
            child.expect(pexpect_eof())
        finally:
            child.close(force=True)
        assert child.exitstatus == 0
        # Piped: no status line anywhere, and standard output is only the answer.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATGPT_SYNC_"))}
        result = subprocess.run([sys.executable, "-m", "chatgpt_sync", "chat", "hello there", "--base-url",
                                 server.base_url, "--model", "gpt-4o-mini"], capture_output=True, text=True,
                                env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "Echo: hello there\n" and "waiting" not in result.stderr


def test_ctrl_c_while_typing_a_block_drops_the_block_not_the_session() -> None:
    from chatgpt_sync.testing.openai_api import OpenAIEmulator
    with OpenAIEmulator() as server:
        child = _spawn("--base-url", server.base_url, "--model", "gpt-4o-mini")
        try:
            child.expect_exact("> ")
            child.sendline('"""')
            child.expect_exact("... ")
            child.sendline("half a thought")
            child.expect_exact("... ")
            child.sendintr()
            child.expect_exact("(input dropped)")
            child.expect_exact("> ")
            child.sendline("next")
            child.expect_exact("Echo: next")
            child.expect_exact("> ")
            assert [m["content"] for m in server.requests[-1].json()["messages"]] == ["next"]
            assert len(server.requests) == 1  # the dropped block was never sent
            child.sendeof()
            child.expect(pexpect_eof())
        finally:
            child.close(force=True)
    assert child.exitstatus == 0
