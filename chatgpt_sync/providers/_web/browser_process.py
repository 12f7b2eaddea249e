"""The browser process for a login: find Chromium/Chrome, hold its profile, launch it, always end it.

A profile is one folder; two logins on it at once are refused through an OS lock (``flock`` on a
file inside it), which the kernel releases when the holder dies, so a crash never leaves a stale
lock behind. Chromium's own ``SingletonLock`` (``host-pid``) is checked too: a browser someone
opened by hand on that profile is reported, a dead one's leftovers are removed.

The browser runs in a process group of its own, so a terminal's Ctrl-C reaches only Python, and
:meth:`BrowserProcess.stop` ends the whole group (renderers, crash handler) whatever happened.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from ...errors import InvalidRequestError, MissingAuthError
from .auth import default_auth_file

__all__ = ["BROWSER_NAMES", "BrowserProcess", "ProfileLock", "default_profile_dir", "find_browser"]

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_BROWSER = ("install Chromium or Google Chrome (Debian/Ubuntu: apt install chromium; macOS: brew "
                   "install --cask chromium) or pass browser_path= (CLI: --browser-path)")
PORT_FILE = "DevToolsActivePort"
LOCK_FILE = ".chatgpt_sync-login.lock"
_SINGLETONS = ("SingletonLock", "SingletonSocket", "SingletonCookie")
_STDERR_FILE = ".chatgpt_sync-browser.log"


def default_profile_dir() -> Path:
    """``browser-profile`` beside the default auth cache file (remembered between logins)."""
    return default_auth_file().parent / "browser-profile"


def find_browser(browser_path: str | os.PathLike[str] | None = None) -> str:
    """The browser to run: ``browser_path`` (a path or a command name) or the first of
    :data:`BROWSER_NAMES` on PATH. InvalidRequestError, before anything starts, when there is none."""
    if browser_path is not None:
        given = os.fspath(browser_path)
        found = shutil.which(given) if os.sep not in given else (given if os.access(given, os.X_OK)
                                                                 and os.path.isfile(given) else None)
        if found is None:
            raise InvalidRequestError(f"browser_path {given!r} is not an executable browser: {INSTALL_BROWSER}")
        return found
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise InvalidRequestError(f"no Chromium or Chrome found on PATH (looked for {', '.join(BROWSER_NAMES)}): "
                              f"{INSTALL_BROWSER}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class ProfileLock:
    """Exclusive use of a profile folder for one login; InvalidRequestError when it is in use."""

    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self._handle: IO[str] | None = None

    def __enter__(self) -> ProfileLock:
        self.profile.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle = open(self.profile / LOCK_FILE, "a+", encoding="ascii")
        try:
            _lock(handle)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            raise InvalidRequestError(
                f"another login is already using the browser profile {self.profile}"
                f"{f' (process {holder})' if holder.isdigit() else ''}: finish or cancel it first, or "
                "pass another profile") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle
        try:
            self._check_singleton()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()  # closing releases the lock; the empty file may stay, it binds nobody
            self._handle = None

    def _check_singleton(self) -> None:
        """Refuse a profile a live browser holds; clear what a dead one left."""
        try:
            target = os.readlink(self.profile / "SingletonLock")
        except OSError:
            return
        host, _, pid = target.rpartition("-")
        if pid.isdigit() and (host != socket.gethostname() or _pid_alive(int(pid))):
            where = f"process {pid}" if host == socket.gethostname() else f"process {pid} on {host}"
            raise InvalidRequestError(f"a browser ({where}) already has the profile {self.profile} open: "
                                      "close that browser first, or pass another profile")
        remove_singletons(self.profile)


def socket_dir_of(profile: Path) -> Path | None:
    """The temporary folder Chromium keeps its instance socket in (``SingletonSocket`` points there)."""
    try:
        return Path(os.readlink(profile / "SingletonSocket")).parent
    except OSError:
        return None


def remove_singletons(profile: Path, socket_dir: Path | None = None) -> None:
    """Delete Chromium's instance markers in ``profile`` (and its socket folder) and the port file.
    Only called while no browser of ours runs on it and we hold the profile lock."""
    socket_dir = socket_dir_of(profile) or socket_dir
    for name in (*_SINGLETONS, PORT_FILE):
        try:
            os.unlink(profile / name)
        except OSError:
            pass
    # Chromium keeps the socket in a folder of its own under the temp dir; only such a folder goes.
    if socket_dir is not None and socket_dir.parent == Path(tempfile.gettempdir()) \
            and socket_dir.name.startswith(("org.chromium.", "com.google.Chrome.")):
        shutil.rmtree(socket_dir, ignore_errors=True)


def _lock(handle: IO[str]) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether the process has ended, without reaping it where the OS allows (``WNOWAIT``): an
    unreaped pid cannot be reused, so its process group can still be signalled safely."""
    if proc.returncode is not None:
        return True
    if not hasattr(os, "waitid"):  # macOS, Windows: reap; the group id may then be reused, rarely
        return proc.poll() is not None
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def launch_flags(profile: Path, *, headless: bool, no_sandbox: bool) -> list[str]:
    """The command-line flags: a private profile, DevTools on a free port, and no background traffic
    (without these Chromium calls home for updates, sync and field trials on its own)."""
    flags = ["--disable-gpu", "--disable-quic", "--no-first-run", "--no-default-browser-check",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--remote-debugging-port=0", f"--user-data-dir={profile}"]
    if headless:
        flags.insert(0, "--headless=new")
    if no_sandbox:
        flags.insert(0, "--no-sandbox")
    return flags


class BrowserProcess:
    """A running browser on ``profile``: :meth:`start`, :meth:`devtools_url`, then :meth:`stop`."""

    def __init__(self, executable: str, profile: Path, *, headless: bool) -> None:
        self.executable = executable
        self.profile = profile
        self.headless = headless
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._socket_dir: Path | None = None  # noted at start: a clean exit removes the link, not the folder

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> None:
        remove_singletons(self.profile)  # a stale port file would point at a dead browser
        # Chromium refuses to run as root with its sandbox on; CHATGPT_SYNC_BROWSER_NO_SANDBOX=1
        # turns it off elsewhere too (containers without user namespaces).
        root = hasattr(os, "geteuid") and os.geteuid() == 0
        no_sandbox = root or os.environ.get("CHATGPT_SYNC_BROWSER_NO_SANDBOX") == "1"
        args = [self.executable, *launch_flags(self.profile, headless=self.headless, no_sandbox=no_sandbox),
                "about:blank"]
        self._stderr = open(self.profile / _STDERR_FILE, "w+b")
        extra: dict[str, Any] = ({"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
                                 if sys.platform == "win32" else {"start_new_session": True})
        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=self._stderr, **extra)
        except OSError as exc:
            self._stderr.close()
            raise InvalidRequestError(f"could not start the browser {self.executable}: {exc}") from None

    def devtools_url(self, deadline: float) -> str:
        """The browser's DevTools WebSocket URL, read from ``DevToolsActivePort`` in the profile."""
        assert self.proc is not None
        port_file = self.profile / PORT_FILE
        while time.monotonic() < deadline:
            try:
                lines = port_file.read_text(encoding="ascii").splitlines()
            except OSError:
                lines = []
            if len(lines) >= 2 and lines[0].isdigit() and lines[1].startswith("/devtools/"):
                self._socket_dir = socket_dir_of(self.profile)
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            if _exited(self.proc):
                raise MissingAuthError(f"the browser {self.executable} exited at start: {self.stderr_tail()}")
            time.sleep(0.05)
        raise MissingAuthError(f"the browser {self.executable} did not open its DevTools port in time: "
                               f"{self.stderr_tail()}")

    def alive(self) -> bool:
        """True while the browser runs (checked without reaping it: see :meth:`_stop_group`)."""
        return self.proc is not None and not _exited(self.proc)

    def stderr_tail(self, limit: int = 600) -> str:
        if self._stderr is None:
            return "(no output)"
        self._stderr.flush()
        self._stderr.seek(0)
        lines = [line for line in self._stderr.read().decode("utf-8", "replace").splitlines()
                 if line.strip() and "dbus" not in line]  # D-Bus noise on machines without a session bus
        return " | ".join(lines)[-limit:] or "(no output)"

    def stop(self, grace: float = 3.0) -> None:
        """End the browser and everything it started; remove its temporary markers. Never raises.

        ``grace``: seconds to wait for a browser already asked to close (``Browser.close``); then
        SIGTERM to its process group, and SIGKILL 3 s later."""
        proc = self.proc
        if proc is None:
            return
        try:
            if sys.platform == "win32":  # pragma: no cover
                if proc.poll() is None:
                    proc.kill()
            else:
                self._stop_group(proc, grace)
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            if self._stderr is not None:
                self._stderr.close()
            if proc.poll() is not None:
                remove_singletons(self.profile, self._socket_dir)

    @staticmethod
    def _stop_group(proc: subprocess.Popen[bytes], grace: float) -> None:
        # Until it is reaped, the leader's pid (the group id) cannot be reused, so signalling the
        # group cannot hit anyone else's processes; WNOWAIT watches for its exit without reaping.
        def exited(within: float) -> bool:
            end = time.monotonic() + within
            while not _exited(proc):
                if time.monotonic() >= end:
                    return False
                time.sleep(0.02)
            return True

        for sig, wait in ((None, grace), (signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
            if sig is not None:
                try:
                    os.killpg(proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            if exited(wait):
                break
        if hasattr(os, "waitid") and proc.returncode is None:  # unreaped: the group id is still its own
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # stragglers (a crash handler, a renderer)
            except (ProcessLookupError, PermissionError):
                pass
