"""Sign in with a real browser: open the site, let the person sign in, capture the credentials.

The SDK types nothing and solves nothing (DESIGN rule 8): it opens ``base_url`` in Chromium or
Chrome and watches the traffic through the DevTools Protocol until the site itself shows a token,
either as an ``Authorization: Bearer`` header on a request to the site or as the ``accessToken`` of
an ``/api/auth/session`` answer. Then it reads the site's cookies, ``navigator.userAgent`` and the
page's ``data-build``, and ends the browser. Nothing else is kept: no sentinel headers (they are
single-use and go stale), no other site's cookies.

Bounded where the public implementation loops forever (protocols.md §1.2.4 item 5): after
``timeout`` seconds a MissingAuthError says what was seen. The browser is ended in every case,
Ctrl-C included.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..._log import logger
from ...errors import InvalidRequestError, MissingAuthError
from ...types import AuthResult
from .browser_process import BrowserProcess, ProfileLock, default_profile_dir, find_browser
from .cdp import CdpClosed, CdpConnection, CdpError, require_websocket
from .har import SESSION_PATH
from .jwt import jwt_expiry

__all__ = ["BrowserLogin", "browser_login", "check_display"]

_STARTUP_LIMIT = 30.0  # seconds for the browser to open its DevTools port (within the timeout)
_MAX_PAGES = 12


@dataclass
class BrowserLogin:
    """What a browser login captured: the credentials, the page's build id, and the pages visited."""

    auth: AuthResult
    build: str | None = None
    pages: list[str] = field(default_factory=list)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    except ValueError:  # a malformed port: matches no site
        return "", ""
    return parts.scheme, f"{(parts.hostname or '').lower()}:{port}"


def _bearer(headers: Any) -> str | None:
    if not isinstance(headers, dict):
        return None
    for name, value in headers.items():
        if str(name).lower() == "authorization" and isinstance(value, str) \
                and value[:7].lower() == "bearer " and value[7:].strip():
            return value[7:].strip()
    return None


def _jwt_shaped(token: str) -> bool:
    """Access tokens are JWTs; a page's "Bearer undefined" or an API key of another kind is not one."""
    return token.count(".") == 2 and len(token) > 20


class _Watch:
    """The capture state: page sessions, requests in flight, and what was seen (for the error)."""

    def __init__(self, cdp: CdpConnection, base_url: str) -> None:
        self.cdp = cdp
        self.base_url = base_url.rstrip("/")
        self.origin = _origin(self.base_url)
        parts = urlsplit(self.base_url)
        self.origin_text = f"{parts.scheme}://{parts.netloc}"
        self.session_path = parts.path.rstrip("/") + SESSION_PATH
        self.pages: list[str] = []          # page addresses visited (no query: it may hold secrets)
        self.page_sessions: list[str] = []
        self.urls: dict[tuple[str, str], str] = {}       # (session, request) -> url
        self.extra: dict[tuple[str, str], str] = {}      # bearer tokens from ExtraInfo, url not yet known
        self.session_bodies: set[tuple[str, str]] = set()
        self.session_answers = 0
        self.empty_sessions = 0
        self.token: str | None = None
        self.token_session: str | None = None
        self.failed_loads: list[str] = []  # "page: net::ERR_..." for pages that did not load at all
        self.documents: set[tuple[str, str]] = set()

    def on_site(self, url: str) -> bool:
        return _origin(url) == self.origin

    def handle(self, event: dict[str, Any]) -> None:
        method, params = event.get("method"), event.get("params") or {}
        session = event.get("sessionId") or ""
        if method == "Target.attachedToTarget":
            self._attached(params)
        elif method == "Target.detachedFromTarget" and params.get("sessionId") in self.page_sessions:
            self.page_sessions.remove(params["sessionId"])
        elif method == "Network.requestWillBeSent":
            request = params.get("request") or {}
            url, key = str(request.get("url", "")), (session, str(params.get("requestId")))
            if params.get("type") == "Document" and url.startswith("http"):
                self._visited(url)
                self.documents.add(key)
            if len(self.urls) > 2000:  # a long sign-in: forget old requests, keep memory bounded
                self.urls.clear()
                self.extra.clear()
            self.urls[key] = url
            self._bearer_seen(_bearer(request.get("headers")) or self.extra.pop(key, None), url, session)
        elif method == "Network.requestWillBeSentExtraInfo":
            key = (session, str(params.get("requestId")))
            token = _bearer(params.get("headers"))
            if token and key in self.urls:
                self._bearer_seen(token, self.urls[key], session)
            elif token:
                self.extra[key] = token  # the request event itself comes later
        elif method == "Network.responseReceived":
            response = params.get("response") or {}
            url = str(response.get("url", ""))
            if self.on_site(url) and urlsplit(url).path == self.session_path and response.get("status") == 200:
                self.session_bodies.add((session, str(params.get("requestId"))))
        elif method == "Network.loadingFailed":
            key = (session, str(params.get("requestId")))
            if key in self.documents and not params.get("canceled"):
                self.load_failed(self.urls.get(key, "a page"), str(params.get("errorText") or "failed"))
        elif method == "Network.loadingFinished":
            key = (session, str(params.get("requestId")))
            if key in self.session_bodies:
                self.session_bodies.discard(key)
                self._session_body(key)
        elif method == "Page.loadEventFired" and self.token is None and session in self.page_sessions:
            self._probe(session)

    def _attached(self, params: dict[str, Any]) -> None:
        session, kind = params.get("sessionId"), (params.get("targetInfo") or {}).get("type")
        if not isinstance(session, str):
            return
        try:
            if kind in ("page", "iframe"):
                self.cdp.call("Network.enable", session_id=session)
                if kind == "page":
                    self.cdp.call("Page.enable", session_id=session)
                    self.page_sessions.append(session)
            if params.get("waitingForDebugger"):
                self.cdp.send("Runtime.runIfWaitingForDebugger", session_id=session)
        except (CdpError, TimeoutError) as exc:  # a target that closed at once
            logger.debug("browser login: could not watch a %s target: %s", kind, exc)

    def load_failed(self, url: str, error: str) -> None:
        parts = urlsplit(url)
        entry = f"{parts.scheme}://{parts.netloc}{parts.path}: {error}"
        if entry not in self.failed_loads:
            self.failed_loads.append(entry)
            del self.failed_loads[:-_MAX_PAGES]

    def _visited(self, url: str) -> None:
        parts = urlsplit(url)
        page = f"{parts.scheme}://{parts.netloc}{parts.path}"
        if page not in self.pages[-1:]:
            self.pages.append(page)
            del self.pages[:-_MAX_PAGES]

    def _bearer_seen(self, token: str | None, url: str, session: str) -> None:
        if token and _jwt_shaped(token) and self.token is None and self.on_site(url):
            self.token, self.token_session = token, session

    def _session_body(self, key: tuple[str, str]) -> None:
        self.session_answers += 1
        try:
            answer = self.cdp.call("Network.getResponseBody", {"requestId": key[1]}, session_id=key[0] or None)
            body = json.loads(answer.get("body") or "null")
        except (CdpError, TimeoutError, ValueError):
            body = None
        if not isinstance(body, dict):
            return  # gone (the page moved on) or not JSON: counted as seen, not as signed out
        token = body.get("accessToken")
        if isinstance(token, str) and _jwt_shaped(token):
            if self.token is None:
                self.token, self.token_session = token, key[0]
        else:
            self.empty_sessions += 1

    def _probe(self, session: str) -> None:
        """Ask the site for its session once a page of it loaded (as the site's own script does);
        the answer is captured like any other."""
        script = (f"location.origin === {json.dumps(self.origin_text)} && "
                  f"void fetch({json.dumps(self.session_path)}, {{credentials: 'include'}}).catch(() => null)")
        self.cdp.send("Runtime.evaluate", {"expression": script}, session_id=session)

    def explain(self, seconds: float, headless: bool) -> str:
        seen = ", ".join(self.pages) or "none"
        if self.empty_sessions:
            session = (f"the site answered {SESSION_PATH} {self.empty_sessions} time(s) without an access "
                       "token (not signed in yet)")
        elif self.session_answers:
            session = f"{SESSION_PATH} answers were seen but could not be read"
        else:
            session = f"no {SESSION_PATH} answer and no signed-in request were seen"
        if self.failed_loads and not self.session_answers:
            # Nothing of the site ever loaded: a wrong base_url or a network problem, not a slow person.
            return (f"the site could not be loaded in the browser within {seconds:g} s "
                    f"({'; '.join(self.failed_loads)}): check base_url (CLI: --base-url) and the network")
        how = ("a headless browser only works with a profile that is already signed in: log in once "
               "without headless" if headless else "sign in in the browser window that opens (timeout= "
               "waits longer)")
        return (f"no sign-in was seen in the browser within {seconds:g} s: {session}; pages visited: {seen}. "
                f"To log in, {how}; or pass api_key=, cookies= or har_file=")


def _evaluate(cdp: CdpConnection, session: str | None, expression: str) -> Any:
    if session is None:
        return None
    try:
        answer = cdp.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                          session_id=session, timeout=5)
    except (CdpError, TimeoutError):
        return None
    return (answer.get("result") or {}).get("value")


def _collect(cdp: CdpConnection, watch: _Watch) -> BrowserLogin:
    """Cookies, user agent and build, read from the page the token was seen in."""
    assert watch.token is not None
    session = watch.token_session if watch.token_session in watch.page_sessions else \
        (watch.page_sessions[0] if watch.page_sessions else None)
    cookies: dict[str, str] = {}
    try:
        found = cdp.call("Network.getCookies", {"urls": [watch.base_url + "/"]}, session_id=session)
        cookies = {str(c["name"]): str(c["value"]) for c in found.get("cookies", []) if "name" in c}
    except (CdpError, TimeoutError):
        logger.warning("browser login: could not read the cookies; keeping the access token only")
    user_agent = _evaluate(cdp, session, "navigator.userAgent")
    if not isinstance(user_agent, str):  # no page to ask: the browser knows it too
        try:
            user_agent = cdp.call("Browser.getVersion").get("userAgent")
        except (CdpError, TimeoutError):
            user_agent = None
    build = _evaluate(cdp, session, f"location.origin === {json.dumps(watch.origin_text)} ? "
                                    "(document.documentElement.dataset.build || null) : null")
    auth = AuthResult(watch.token, cookies, user_agent if isinstance(user_agent, str) else None,
                      jwt_expiry(watch.token))
    return BrowserLogin(auth, build if isinstance(build, str) else None, list(watch.pages))


def _watch(cdp: CdpConnection, browser: BrowserProcess, base_url: str, deadline: float,
           timeout: float) -> BrowserLogin:
    watch = _Watch(cdp, base_url)
    # Attach to every page (the first and any the sign-in opens), paused until Network is on.
    cdp.call("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True})
    navigated = False
    try:
        while time.monotonic() < deadline:
            event = cdp.next_event(min(0.25, max(deadline - time.monotonic(), 0.0)))
            if event is not None:
                watch.handle(event)
            if not navigated and watch.page_sessions:
                opened = cdp.call("Page.navigate", {"url": watch.base_url + "/"}, session_id=watch.page_sessions[0])
                if opened.get("errorText"):
                    watch.load_failed(watch.base_url + "/", str(opened["errorText"]))
                navigated = True
            if watch.token is not None:
                return _collect(cdp, watch)
            if event is None and not browser.alive():
                raise CdpClosed("the browser exited")
    except CdpClosed:
        raise MissingAuthError("the browser was closed before the sign-in finished; pages visited: "
                               f"{', '.join(watch.pages) or 'none'}") from None
    raise MissingAuthError(watch.explain(timeout, browser.headless))


def browser_login(base_url: str, *, headless: bool = False, browser_path: str | None = None,
                  timeout: float = 300, profile_dir: str | os.PathLike[str] | None = None) -> BrowserLogin:
    """Open ``base_url`` in Chromium/Chrome, wait up to ``timeout`` seconds for the person to sign in,
    and return what was captured. The browser is always ended; the profile is kept for next time.

    InvalidRequestError (before anything starts): no browser, no display, the ``browser`` extra
    missing, the profile in use. MissingAuthError: no sign-in within ``timeout``, browser closed.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise InvalidRequestError(f"timeout must be a positive number of seconds, not {timeout!r}")
    require_websocket()
    executable = find_browser(browser_path)
    check_display(headless)
    profile = Path(profile_dir).expanduser() if profile_dir is not None else default_profile_dir()
    deadline = time.monotonic() + timeout
    with ProfileLock(profile):
        browser = BrowserProcess(executable, profile, headless=headless)
        cdp: CdpConnection | None = None
        try:
            browser.start()
            logger.info("browser login: started %s (pid %s) on profile %s", executable, browser.pid, profile)
            url = browser.devtools_url(min(deadline, time.monotonic() + _STARTUP_LIMIT))
            cdp = CdpConnection(url)
            return _watch(cdp, browser, base_url, deadline, timeout)
        except CdpClosed as exc:  # before the watch began: it crashed or was closed at once
            raise MissingAuthError(f"the browser went away before the sign-in began ({exc}): "
                                   f"{browser.stderr_tail()}") from None
        except (CdpError, TimeoutError) as exc:  # the browser refused or ignored a DevTools command
            raise MissingAuthError(f"the browser did not follow the DevTools Protocol as expected ({exc}); "
                                   "try another Chromium or Chrome version (browser_path=)") from None
        finally:
            with _DeferInterrupts():
                _close(cdp, browser)


def _close(cdp: CdpConnection | None, browser: BrowserProcess) -> None:
    closing = False
    if cdp is not None:
        try:
            cdp.send("Browser.close")  # lets Chromium save the profile (the remembered sign-in)
            closing = True
        except CdpClosed:
            pass
        cdp.close()
    browser.stop(grace=3.0 if closing else 0.0)
    logger.info("browser login: the browser (pid %s) has ended", browser.pid)


class _DeferInterrupts:
    """Hold a second Ctrl-C until the browser is ended (main thread only), then deliver it."""

    def __enter__(self) -> None:
        self.pending = self.installed = False
        self.previous: Any = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, lambda *_: setattr(self, "pending", True))
            self.installed = True

    def __exit__(self, *exc: object) -> None:
        if self.installed:
            signal.signal(signal.SIGINT, self.previous if self.previous is not None else signal.default_int_handler)
            if self.pending and exc[0] is None:
                raise KeyboardInterrupt


def check_display(headless: bool) -> None:
    if headless or not sys.platform.startswith("linux"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise InvalidRequestError("no display to show the browser on (DISPLAY and WAYLAND_DISPLAY are unset): "
                                  "log in on a desktop session, or use headless=True (CLI: --headless), which "
                                  "only works when the browser profile is already signed in")
