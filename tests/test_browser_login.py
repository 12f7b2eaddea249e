"""Browser login (``OpenaiChat.login(browser=True)``, ``chatgpt-sync login``) with a real Chromium.

A headless Chromium signs in to the loopback OpenaiChatEmulator. The SDK only watches; the test
plays the person: over a DevTools connection of its own it fills in and submits the page's form.
Skipped only when no Chromium is installed and CI is unset (in CI a missing browser fails).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from chatgpt_sync import _cli_login
from chatgpt_sync.errors import InvalidRequestError, MissingAuthError
from chatgpt_sync.providers._web.browser_process import BROWSER_NAMES, ProfileLock
from chatgpt_sync.providers._web.cdp import CdpConnection
from chatgpt_sync.providers.openai_chat import OpenaiChat
from chatgpt_sync.testing.openai_chat import SESSION_COOKIE_NAME, OpenaiChatEmulator
from chatgpt_sync.types import AuthResult

ROOT = Path(__file__).resolve().parent.parent
HELLO = [{"role": "user", "content": "hello there"}]
CHROMIUM = next((found for name in BROWSER_NAMES if (found := shutil.which(name))), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                    reason="no Chromium/Chrome installed (CI fails instead of skipping)")


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CHATGPT_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def server() -> Iterator[OpenaiChatEmulator]:
    with OpenaiChatEmulator() as emulator:
        yield emulator


def browsers_on(profile: Path) -> list[int]:
    """Pids of live processes started with this profile (zombies have no command line)."""
    flag = f"--user-data-dir={profile}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if flag in (entry / "cmdline").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def devtools_url(profile: Path, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            lines = (profile / "DevToolsActivePort").read_text().splitlines()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError("the browser never opened its DevTools port")


class Person(threading.Thread):
    """Stands in for the person at the browser: waits for the sign-in form, fills it in, submits.

    It also notes the browser's pid (from Chromium's SingletonLock) so the test can check it ended."""

    def __init__(self, server: OpenaiChatEmulator, profile: Path, password: str | None = None,
                 give_up: bool = False) -> None:
        super().__init__(daemon=True)
        self.server, self.profile, self.give_up = server, profile, give_up
        self.password = server.password if password is None else password
        self.pid: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._sign_in()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _sign_in(self) -> None:
        url = devtools_url(self.profile)
        self.pid = int(os.readlink(self.profile / "SingletonLock").rpartition("-")[2])
        deadline = time.monotonic() + 20
        with CdpConnection(url) as cdp:
            session = None
            while session is None and time.monotonic() < deadline:
                pages = [t for t in cdp.call("Target.getTargets")["targetInfos"]
                         if t["type"] == "page" and t["url"].startswith(self.server.base_url)]
                if pages:
                    session = cdp.call("Target.attachToTarget", {"targetId": pages[0]["targetId"],
                                                                 "flatten": True})["sessionId"]
                time.sleep(0.05)
            if self.give_up:  # closes the browser instead of signing in
                cdp.send("Browser.close")
                return
            script = f"""(() => {{ const form = document.querySelector('#login'); if (!form) return false;
                form.email.value = {json.dumps(self.server.email)};
                form.password.value = {json.dumps(self.password)}; form.submit(); return true; }})()"""
            while time.monotonic() < deadline:
                done = cdp.call("Runtime.evaluate", {"expression": script, "returnByValue": True},
                                session_id=session)
                if done.get("result", {}).get("value"):
                    return
                time.sleep(0.05)
        raise AssertionError("the sign-in form never appeared")


def login(server: OpenaiChatEmulator, tmp_path: Path, **kwargs: Any) -> tuple[OpenaiChat, AuthResult]:
    """``OpenaiChat.login(browser=True)`` headless, on the test's own profile and cache file."""
    chat = OpenaiChat(base_url=server.base_url, auth_file=str(tmp_path / "auth.json"))
    options: dict[str, Any] = {"headless": True, "timeout": 30, "profile_dir": tmp_path / "profile", **kwargs}
    return chat, chat.login(browser=True, **options)


# ------------------------------------------------------------------------------ with a real browser
@needs_chromium
def test_sign_in_in_the_browser_then_chat_from_the_cache(server: OpenaiChatEmulator, tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    person = Person(server, profile)
    person.start()
    started = time.monotonic()
    _, auth = login(server, tmp_path)
    person.join(5)
    assert person.error is None and person.pid is not None
    assert time.monotonic() - started < 20
    assert auth.access_token in server.tokens_issued
    assert auth.cookies[SESSION_COOKIE_NAME] == server.session_cookie
    assert "Chrome/" in (auth.user_agent or "") and auth.expires
    # The cache file: 0600, the token, cookies and user agent, and nothing else (no sentinel headers).
    cache = tmp_path / "auth.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    entry = next(iter(json.loads(cache.read_text())["accounts"].values()))
    assert set(entry) == {"access_token", "cookies", "user_agent", "expires", "updated"}
    assert entry["access_token"] == auth.access_token and entry["user_agent"] == auth.user_agent
    assert set(entry["cookies"]) >= {SESSION_COOKIE_NAME, "oai-did"}
    # The browser has ended, and its temporary markers are gone (the profile itself stays).
    with pytest.raises(ProcessLookupError):
        os.kill(person.pid, 0)
    assert browsers_on(profile) == []
    assert not (profile / "DevToolsActivePort").exists() and not (profile / "SingletonLock").is_symlink()
    assert server.counts["login"] == 1 and server.counts["me"] == 1
    # A new client, from the cache alone.
    text = "".join(p for p in OpenaiChat(base_url=server.base_url, auth_file=str(cache))
                   .create_completion("auto", HELLO) if isinstance(p, str))
    assert text == "You said: hello there. Turn 1."


@needs_chromium
def test_the_profile_remembers_the_sign_in(server: OpenaiChatEmulator, tmp_path: Path) -> None:
    person = Person(server, tmp_path / "profile")
    person.start()
    login(server, tmp_path)
    person.join(5)
    (tmp_path / "auth.json").unlink()
    started = time.monotonic()
    _, auth = login(server, tmp_path, timeout=15)  # nobody signs in this time
    assert time.monotonic() - started < 10 and server.counts["login"] == 1
    assert auth.access_token in server.tokens_issued
    assert (tmp_path / "auth.json").exists()


@needs_chromium
def test_no_sign_in_times_out_with_what_was_seen(server: OpenaiChatEmulator, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(MissingAuthError) as caught:
        login(server, tmp_path, timeout=3)
    assert time.monotonic() - started < 8
    message = str(caught.value)
    assert "within 3 s" in message and f"{server.base_url}/" in message
    assert "without an access token" in message  # the session answer was seen, signed out
    assert browsers_on(tmp_path / "profile") == [] and not (tmp_path / "auth.json").exists()


@needs_chromium
def test_a_wrong_password_is_not_a_sign_in(server: OpenaiChatEmulator, tmp_path: Path) -> None:
    person = Person(server, tmp_path / "profile", password="wrong")
    person.start()
    with pytest.raises(MissingAuthError, match="/auth/login"):
        login(server, tmp_path, timeout=4)
    assert server.counts["login"] == 1 and browsers_on(tmp_path / "profile") == []


@needs_chromium
def test_closing_the_browser_ends_the_wait(server: OpenaiChatEmulator, tmp_path: Path) -> None:
    person = Person(server, tmp_path / "profile", give_up=True)
    person.start()
    started = time.monotonic()
    with pytest.raises(MissingAuthError, match="closed"):
        login(server, tmp_path, timeout=20)
    assert time.monotonic() - started < 10 and browsers_on(tmp_path / "profile") == []


@needs_chromium
def test_two_logins_on_one_profile(server: OpenaiChatEmulator, tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    first: list[AuthResult] = []
    thread = threading.Thread(target=lambda: first.append(login(server, tmp_path, timeout=20)[1]), daemon=True)
    thread.start()
    devtools_url(profile)
    with pytest.raises(InvalidRequestError, match="another login is already using the browser profile"):
        login(server, tmp_path)
    person = Person(server, profile)
    person.start()
    thread.join(25)
    assert first and browsers_on(profile) == []


@needs_chromium
def test_ctrl_c_ends_the_browser(server: OpenaiChatEmulator, tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    code = ("import sys; from chatgpt_sync._cli_login import main; sys.exit(main(sys.argv[1:]))")
    process = subprocess.Popen([sys.executable, "-c", code, "login", "--headless", "--base-url", server.base_url,
                                "--auth-file", str(tmp_path / "auth.json"), "--profile-dir", str(profile)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        devtools_url(profile)
        assert browsers_on(profile)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130 and "interrupted" in err and out == ""
    assert browsers_on(profile) == [] and not (profile / "DevToolsActivePort").exists()


@needs_chromium
def test_cli_login_prints_where_not_what(server: OpenaiChatEmulator, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    person = Person(server, tmp_path / "profile")
    person.start()
    status = _cli_login.main(["login", "--headless", "--base-url", server.base_url, "--timeout", "30",
                              "--auth-file", str(tmp_path / "auth.json"), "--profile-dir", str(tmp_path / "profile")])
    out, err = capsys.readouterr()
    token = json.loads((tmp_path / "auth.json").read_text())
    token = next(iter(token["accounts"].values()))["access_token"]
    assert status == 0 and str(tmp_path / "auth.json") in out and token not in out + err


# ------------------------------------------------------------------------------ refused up front
def test_no_browser_installed(server: OpenaiChatEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(InvalidRequestError, match="apt install chromium"):
        login(server, tmp_path)
    with pytest.raises(InvalidRequestError, match="browser_path '/nowhere/chrome' is not an executable"):
        login(server, tmp_path, browser_path="/nowhere/chrome")
    assert not (tmp_path / "profile").exists()  # nothing started, nothing created
    status = _cli_login.main(["login", "--headless", "--base-url", server.base_url,
                              "--profile-dir", str(tmp_path / "profile")])
    assert status == 2 and server.counts["navigation"] == 0


def test_the_browser_extra_missing(server: OpenaiChatEmulator, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "websocket", None)  # import websocket -> ImportError
    with pytest.raises(InvalidRequestError, match=r"pip install 'chatgpt-sync\[browser\]'"):
        login(server, tmp_path)


def test_no_display_for_a_window(server: OpenaiChatEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not sys.platform.startswith("linux") or CHROMIUM is None:
        pytest.skip("the display check is Linux's, after a browser is found")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(InvalidRequestError, match="no display"):
        login(server, tmp_path, headless=False)
    with pytest.raises(InvalidRequestError, match="positive"):
        login(server, tmp_path, timeout=0)


def fake_browser(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fake-browser"
    path.write_text(f"#!{sys.executable}\nimport signal, sys, time\n{body}\n")
    path.chmod(0o755)
    return str(path)


def test_a_browser_that_fails_to_start(server: OpenaiChatEmulator, tmp_path: Path) -> None:
    path = fake_browser(tmp_path, "print('cannot open a display here', file=sys.stderr); sys.exit(3)")
    with pytest.raises(MissingAuthError, match="exited at start: cannot open a display here"):
        login(server, tmp_path, browser_path=path)


def test_a_browser_that_never_opens_devtools_is_killed(server: OpenaiChatEmulator, tmp_path: Path) -> None:
    # It ignores SIGTERM too, so the process group gets SIGKILL.
    path = fake_browser(tmp_path, "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)")
    started = time.monotonic()
    with pytest.raises(MissingAuthError, match="did not open its DevTools port"):
        login(server, tmp_path, browser_path=path, timeout=1.5)
    assert time.monotonic() - started < 8 and browsers_on(tmp_path / "profile") == []


def test_a_profile_held_by_a_live_browser_is_refused_and_a_dead_ones_markers_cleared(tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    profile.mkdir()
    os.symlink(f"{socket.gethostname()}-{os.getpid()}", profile / "SingletonLock")  # alive: this process
    with pytest.raises(InvalidRequestError, match=f"process {os.getpid()}"):
        with ProfileLock(profile):
            pass
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    (profile / "SingletonLock").unlink()
    os.symlink(f"{socket.gethostname()}-{dead}", profile / "SingletonLock")
    with ProfileLock(profile):
        assert not (profile / "SingletonLock").is_symlink()
        with pytest.raises(InvalidRequestError, match="another login"):
            with ProfileLock(profile):
                pass
    with ProfileLock(profile):  # released on exit: no stale lock left behind
        pass


def test_logout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    auth, profile = tmp_path / "auth.json", tmp_path / "profile"
    auth.write_text("{}")
    (profile / "Default").mkdir(parents=True)
    assert _cli_login.main(["logout", "--auth-file", str(auth)]) == 0
    assert not auth.exists() and profile.exists() and f"Removed the credentials in {auth}" in capsys.readouterr().out
    assert _cli_login.main(["logout", "--auth-file", str(auth), "--forget-profile", "--profile-dir", str(profile)]) == 0
    out = capsys.readouterr().out
    assert "nothing to remove" in out and f"Removed the browser profile {profile}" in out and not profile.exists()


@needs_chromium
def test_an_unreachable_site_is_named_not_taken_for_a_slow_sign_in(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    chat = OpenaiChat(base_url=f"http://127.0.0.1:{port}", auth_file=str(tmp_path / "auth.json"))
    with pytest.raises(MissingAuthError) as caught:
        chat.login(browser=True, headless=True, timeout=3, profile_dir=tmp_path / "profile")
    message = str(caught.value)
    assert "could not be loaded" in message and "ERR_CONNECTION_REFUSED" in message and "base_url" in message
    assert browsers_on(tmp_path / "profile") == []


def test_cli_login_checks_everything_before_saying_it_opens_a_browser(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    if CHROMIUM is None:
        pytest.skip("the checks after finding a browser need one")
    status = _cli_login.main(["login", "--headless", "--base-url", "not-a-url",
                              "--profile-dir", str(tmp_path / "profile")])
    err = capsys.readouterr().err
    assert status == 2 and "http(s) URL" in err and "opening" not in err
    if sys.platform.startswith("linux"):
        monkeypatch.delenv("DISPLAY", raising=False)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        status = _cli_login.main(["login", "--base-url", "http://127.0.0.1:9",
                                  "--profile-dir", str(tmp_path / "profile")])
        err = capsys.readouterr().err
        assert status == 2 and "no display" in err and "opening" not in err
    assert not (tmp_path / "profile").exists()


def test_without_credentials_the_cli_says_how_to_log_in_and_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATGPT_"))}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    result = subprocess.run([sys.executable, "-m", "chatgpt_sync", "chat", "hi", "--provider", "openaichat",
                             "--base-url", "http://127.0.0.1:9"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2 and "MissingAuthError" in result.stderr
    assert "chatgpt-sync login" in result.stderr and "login(browser=True)" in result.stderr
