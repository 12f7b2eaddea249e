"""The chatgpt.com web session: one consistent browser profile, its cookies and device id, and the
warm-up GET of the site root (which also reads the page's ``data-build``)."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, Mapping

from ..._core import HTTPCore
from ..._urls import join_url
from ..._frozen import FACTORY as _FACTORY
from ...types import Timeout
from .pow import random_uuid

if TYPE_CHECKING:  # type checkers see frozen dataclasses; at run time they are made without exec (see types)
    from dataclasses import dataclass
else:
    from ..._frozen import frozen_dataclass as dataclass

__all__ = ["BrowserProfile", "WebSession", "DEFAULT_USER_AGENT", "init_session"]

DEFAULT_USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/131.0.0.0 Safari/537.36")


@dataclass(frozen=True)
class BrowserProfile:
    """A user agent and the client-hint headers that agree with it, sent on every request.

    The public implementation mixed a Windows UA with macOS navigation hints and Linux API hints;
    a server comparing them sees three browsers. Here they are derived from the one UA.
    """

    user_agent: str = DEFAULT_USER_AGENT
    language: str = "en-US"

    def __init__(self, user_agent: str = DEFAULT_USER_AGENT, language: str = "en-US") -> None:
        object.__setattr__(self, "user_agent", user_agent)
        object.__setattr__(self, "language", language)

    @property
    def platform(self) -> str:
        ua = self.user_agent
        if "Windows" in ua:
            return "Windows"
        if "Mac OS X" in ua or "Macintosh" in ua:
            return "macOS"
        if "Android" in ua:
            return "Android"
        return "Linux"

    @property
    def sec_ch_ua(self) -> str:
        match = re.search(r"Chrome/(\d+)", self.user_agent)
        major = match.group(1) if match else "131"
        return f'"Google Chrome";v="{major}", "Chromium";v="{major}", "Not_A Brand";v="24"'

    def client_hints(self) -> dict[str, str]:
        return {
            "user-agent": self.user_agent,
            "sec-ch-ua": self.sec_ch_ua,
            "sec-ch-ua-mobile": "?1" if self.platform == "Android" else "?0",
            "sec-ch-ua-platform": f'"{self.platform}"',
            "accept-language": f"{self.language},{self.language.split('-')[0]};q=0.9",
        }

    def navigation_headers(self) -> dict[str, str]:
        return {
            **self.client_hints(),
            "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "cache-control": "no-cache", "pragma": "no-cache", "priority": "u=0, i",
            "sec-fetch-dest": "document", "sec-fetch-mode": "navigate", "sec-fetch-site": "none",
            "sec-fetch-user": "?1", "upgrade-insecure-requests": "1",
        }

    def api_headers(self, origin: str) -> dict[str, str]:
        return {
            **self.client_hints(),
            "accept": "*/*", "content-type": "application/json", "oai-language": self.language,
            "origin": origin, "referer": f"{origin}/", "priority": "u=1, i",
            "sec-fetch-dest": "empty", "sec-fetch-mode": "cors", "sec-fetch-site": "same-origin",
        }


class WebSession:
    """Cookies and the device id of one browser-like session with chatgpt.com.

    Belongs to one provider instance (never process-global); the device id header always equals
    the ``oai-did`` cookie the server set, when it set one. (The ``__init__``, ``__repr__`` and
    ``__eq__`` of a plain ``@dataclass``, written out: the decorator costs import time.)
    """

    def __init__(self, core: HTTPCore, base_url: str, profile: BrowserProfile = _FACTORY,
                 cookies: dict[str, str] = _FACTORY, device_id: str = _FACTORY, data_build: str | None = None) -> None:
        self.core = core
        self.base_url = base_url
        self.profile = BrowserProfile() if profile is _FACTORY else profile
        self.cookies = {} if cookies is _FACTORY else cookies
        self.device_id = random_uuid() if device_id is _FACTORY else device_id
        self.data_build = data_build

    def _fields(self) -> tuple[Any, ...]:
        return (self.core, self.base_url, self.profile, self.cookies, self.device_id, self.data_build)

    def __repr__(self) -> str:
        return (f"{self.__class__.__qualname__}(core={self.core!r}, base_url={self.base_url!r}, "
                f"profile={self.profile!r}, cookies={self.cookies!r}, device_id={self.device_id!r}, "
                f"data_build={self.data_build!r})")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._fields() == other._fields()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq

    def remember_cookies(self, headers: Mapping[str, str], cookies: Mapping[str, str] | None = None) -> None:
        if cookies:
            self.cookies.update(cookies)
        else:
            raw = headers.get("set-cookie")
            if raw:
                jar: SimpleCookie = SimpleCookie()
                try:
                    jar.load(raw)
                except Exception:  # a malformed cookie must not break the session
                    return
                self.cookies.update({name: morsel.value for name, morsel in jar.items()})
        if self.cookies.get("oai-did"):
            self.device_id = self.cookies["oai-did"]

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        result = self.profile.api_headers(self.base_url)
        result["oai-device-id"] = self.device_id
        if self.cookies:
            result["cookie"] = self.cookie_header()
        if extra:
            result.update(extra)
        return result


def init_session(user_agent: str = DEFAULT_USER_AGENT, *, core: HTTPCore | None = None,
                 base_url: str = "https://chatgpt.com", timeout: Timeout | None = None,
                 max_retries: int = 0) -> WebSession:
    """Open a session the way a browser does: GET the site root and keep its cookies.

    Raises BlockedError when the root is a challenge page (checked, unlike the public version).
    """
    if core is None:
        from ..._transport import RequestsTransport
        core = HTTPCore(RequestsTransport())
    session = WebSession(core=core, base_url=base_url.rstrip("/"), profile=BrowserProfile(user_agent))
    headers = session.profile.navigation_headers()
    response = core.open("GET", join_url(session.base_url, "/"), headers=headers, timeout=timeout or Timeout(),
                         max_retries=max_retries, expect="any", where=session.base_url)
    try:
        body = response.read()
    finally:
        response.close()
    session.remember_cookies(response.headers, getattr(response, "cookies", None))
    match = re.search(rb'data-build="([^"]+)"', body[:65536])
    if match:
        session.data_build = match.group(1).decode("ascii", "replace")
    return session
