"""Credentials for ``OpenaiChat``: choosing a source, the auth cache file, the cookies -> token exchange.

Order (CONTRACT.md, first found wins): ``api_key=``, ``cookies=`` (read by :mod:`.cookies`),
``har_file=`` (read by :mod:`.har`), the ``CHATGPT_ACCESS_TOKEN`` environment variable, then the
auth cache file. Everything here is bad input checked before any network call (DESIGN rule 9),
except :func:`exchange_session`, the one request (cookies -> token at ``/api/auth/session``).
Nothing is kept in module state (rule 6); secrets never reach a log line or a message (rule 7).

Better than the public implementation (protocols.md §1.2.4): the JWT payload is decoded with the
URL-safe alphabet (:mod:`.jwt`), an expired token is refused up front, and a corrupt cache file is
left where it is instead of being deleted.

The names of :mod:`.jwt`, :mod:`.cookies` and :mod:`.har` that callers use are re-exported here.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Mapping

from ..._core import HTTPCore, blocked_error, looks_like_html
from ..._log import logger
from ..._paths import cache_dir
from ..._urls import join_url
from ...errors import AuthenticationError, InvalidRequestError, MissingAuthError, ResponseError
from ...types import AuthResult, Timeout, TimeoutLike
from .cookies import load_cookies
from .har import HOW_TO_RECORD_HAR, SESSION_PATH, read_har
from .jwt import jwt_claims, jwt_expiry, token_expired
from .session import DEFAULT_USER_AGENT, BrowserProfile

__all__ = [
    "ENV_VAR", "CredentialSource", "default_auth_file", "jwt_claims", "jwt_expiry", "token_expired",
    "account_key", "load_cookies", "read_har", "read_auth_file", "write_auth_file", "exchange_session",
    "find_credentials", "missing_auth_message", "check_not_expired",
]

ENV_VAR = "CHATGPT_ACCESS_TOKEN"
_AUTH_CLAIM = "https://api.openai.com/auth"
_PROFILE_CLAIM = "https://api.openai.com/profile"


# ------------------------------------------------------------------------------------------- paths

def default_auth_file() -> Path:
    """``auth_OpenaiChat.json`` in the cache folder (:func:`chatgpt_sync._paths.cache_dir`)."""
    return cache_dir() / "auth_OpenaiChat.json"


# ------------------------------------------------------------------------ accounts and expiry

def account_key(auth: AuthResult) -> str:
    """A stable id of the account a token belongs to (its user id, else ``sub``, else its email), so
    the cache keeps one entry per account; ``"default"`` when the token says nothing."""
    claims = jwt_claims(auth.access_token or "")
    auth_claim = claims.get(_AUTH_CLAIM)
    profile = claims.get(_PROFILE_CLAIM)
    candidates = [
        auth_claim.get("user_id") if isinstance(auth_claim, dict) else None,
        claims.get("sub"),
        profile.get("email") if isinstance(profile, dict) else None,
        claims.get("email"),
    ]
    return next((c for c in candidates if isinstance(c, str) and c), "default")


def _when(exp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(exp))


# "api_key=" followed by a word would be redacted as if it were a key (see _redact): no "=" there.
_SOURCE_NAMES = {"api_key": "the api_key argument", "env": ENV_VAR, "cookies": "cookies=", "har": "har_file=",
                 "auth_file": "the auth cache file"}


def check_not_expired(auth: AuthResult, *, source: str) -> None:
    """MissingAuthError, before any request, when the access token's expiry has passed; the message
    says how to renew for ``source`` (a :class:`CredentialSource` kind)."""
    exp = jwt_expiry(auth.access_token) if auth.access_token else None
    exp = auth.expires if exp is None else exp
    if exp is None or time.time() < exp:
        return
    renew = {
        "api_key": "pass a new access token as api_key (signed in at https://chatgpt.com, open "
                   "https://chatgpt.com/api/auth/session and copy accessToken)",
        "env": f"set {ENV_VAR} to a new access token (signed in at https://chatgpt.com, open "
               "https://chatgpt.com/api/auth/session and copy accessToken)",
        "cookies": "export the cookies again from a browser signed in to https://chatgpt.com",
        "har": HOW_TO_RECORD_HAR,
        "auth_file": "pass fresh credentials (api_key=, cookies= or har_file=) or call "
                     "OpenaiChat(...).login(); the cache file is rewritten after the next successful call",
    }.get(source, "pass fresh credentials (api_key=, cookies= or har_file=) or call OpenaiChat(...).login()")
    raise MissingAuthError(f"the ChatGPT access token from {_SOURCE_NAMES.get(source, source)} expired at "
                           f"{_when(exp)}: {renew}")


# -------------------------------------------------------------------------------- auth cache file

def _entry_to_auth(entry: Any) -> AuthResult | None:
    if not isinstance(entry, dict):
        return None
    token = entry.get("access_token", entry.get("api_key"))  # api_key: g4f's own cache files
    cookies = entry.get("cookies") or {}
    user_agent, expires = entry.get("user_agent"), entry.get("expires")
    if (token is not None and not isinstance(token, str)) or not isinstance(cookies, dict) \
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in cookies.items()):
        return None
    if not token and not cookies:
        return None
    return AuthResult(token or None, cookies, user_agent if isinstance(user_agent, str) else None,
                      float(expires) if isinstance(expires, (int, float)) and not isinstance(expires, bool) else None)


def _load_accounts(path: Path) -> tuple[dict[str, Any], str | None] | None:
    """The file's accounts and current key; None when it is missing. Raises ValueError when corrupt."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot be read: {exc}") from None
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    accounts = data.get("accounts")
    if accounts is None and ("access_token" in data or "api_key" in data):  # a flat, single-account file
        return {"default": data}, "default"
    if not isinstance(accounts, dict):
        raise ValueError('no "accounts" object')
    current = data.get("current")
    return accounts, current if isinstance(current, str) else None


def read_auth_file(path: str | os.PathLike[str]) -> AuthResult | None:
    """The current account's credentials in the auth cache file; None when the file is missing, and
    None with a warning on the ``chatgpt_sync`` logger when it is corrupt (the file is left alone)."""
    path = Path(path).expanduser()
    try:
        loaded = _load_accounts(path)
        if loaded is None:
            return None
        accounts, current = loaded
        if current not in accounts and len(accounts) == 1:
            current = next(iter(accounts))
        auth = _entry_to_auth(accounts.get(current)) if current is not None else None
        if auth is None:
            raise ValueError("no usable credentials for the current account")
        return auth
    except ValueError as exc:
        logger.warning("ignoring the auth cache file %s: %s", path, str(exc)[:200])
        return None


def write_auth_file(path: str | os.PathLike[str], auth: AuthResult) -> None:
    """Store ``auth`` as the current account in the auth cache file, keeping the other accounts.

    Written to a temporary file of mode 0600 in the same folder, then renamed over the old one, so a
    crash never leaves half a file; the folder is created with mode 0700. A corrupt old file is kept
    beside it as ``<name>.corrupt`` rather than thrown away.
    """
    path = Path(path).expanduser()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        loaded = _load_accounts(path)
    except ValueError as exc:
        logger.warning("the auth cache file %s was corrupt (%s); kept as %s.corrupt", path, str(exc)[:200],
                       path.name)
        os.replace(path, path.with_name(path.name + ".corrupt"))
        loaded = None
    accounts = dict(loaded[0]) if loaded else {}
    key = account_key(auth)
    accounts[key] = {"access_token": auth.access_token, "cookies": dict(auth.cookies),
                     "user_agent": auth.user_agent, "expires": auth.expires, "updated": time.time()}
    payload = json.dumps({"version": 1, "current": key, "accounts": accounts}, indent=1).encode()
    temp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # whatever the umask
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


# ------------------------------------------------------------------------------- session exchange

def exchange_session(core: HTTPCore, base_url: str, cookies: Mapping[str, str], *,
                     user_agent: str = DEFAULT_USER_AGENT, timeout: TimeoutLike,
                     max_retries: int = 0) -> AuthResult:
    """Exchange signed-in cookies for an access token: ``GET {base_url}/api/auth/session``.

    Returns the token, the cookies updated with the answer's Set-Cookie, the user agent and the
    token's expiry. An answer without a token (``{}``: not signed in) or a 401 raises MissingAuthError.
    """
    base_url = base_url.rstrip("/")
    url = join_url(base_url, SESSION_PATH)
    headers = {**BrowserProfile(user_agent).client_hints(), "accept": "application/json",
               "referer": f"{base_url}/", "sec-fetch-dest": "empty", "sec-fetch-mode": "cors",
               "sec-fetch-site": "same-origin"}
    if cookies:
        headers["cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    renew = "export them again from a browser signed in to https://chatgpt.com"
    try:
        # open(), not request_json(): the transport's parsed Set-Cookie (several headers) is wanted.
        response = core.open("GET", url, headers=headers, timeout=Timeout.coerce(timeout),
                             max_retries=max_retries, expect="json", where=url)
    except AuthenticationError as exc:
        raise MissingAuthError(f"{url} refused the cookies (HTTP 401): {renew}") from exc
    try:
        raw = response.read()
    finally:
        response.close()
    if looks_like_html(response.headers.get("content-type", ""), raw):
        raise blocked_error(response.status_code, raw, where=url)
    try:
        body = json.loads(raw)
    except ValueError:
        raise ResponseError(f"{url} answered HTTP {response.status_code} with a body that is not JSON",
                            body=raw[:200].decode("utf-8", "replace")) from None
    token = body.get("accessToken") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        error = body.get("error") if isinstance(body, dict) else None
        said = f" (the server said {error!r})" if isinstance(error, str) and error else ""
        raise MissingAuthError(f"{url} gave no access token{said}: the cookies are not signed in or have "
                               f"expired: {renew}")
    updated = dict(cookies)
    updated.update(response.cookies)
    return AuthResult(token, updated, user_agent, jwt_expiry(token))


# ------------------------------------------------------------------------------ choosing a source

class CredentialSource:
    """Where the credentials in use came from (a plain mutable dataclass, written out: the decorator
    costs import time).

    ``kind`` is ``"api_key"``, ``"cookies"``, ``"har"``, ``"env"`` or ``"auth_file"``. For
    ``"cookies"`` ``auth`` has the cookies but no token yet (exchange them with
    :func:`exchange_session`). ``cookies_source`` is set whenever there are cookies that can be
    exchanged for a fresh token (cookies, a HAR or a cache entry that recorded some); ``har_path``
    for a HAR.
    """

    kind: str
    auth: AuthResult
    cookies_source: Mapping[str, str] | None
    har_path: str | None

    def __init__(self, kind: str, auth: AuthResult, cookies_source: Mapping[str, str] | None = None,
                 har_path: str | None = None) -> None:
        self.kind = kind
        self.auth = auth
        self.cookies_source = cookies_source
        self.har_path = har_path

    def __repr__(self) -> str:  # the cookies are secrets; their names are not
        cookies = None if self.cookies_source is None else f"[{', '.join(sorted(self.cookies_source))}]"
        return (f"CredentialSource(kind={self.kind!r}, auth={self.auth!r}, cookies_source={cookies}, "
                f"har_path={self.har_path!r})")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            assert isinstance(other, CredentialSource)
            return ((self.kind, self.auth, self.cookies_source, self.har_path)
                    == (other.kind, other.auth, other.cookies_source, other.har_path))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq


def _token_arg(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"{what} must be a string (a ChatGPT access token), not {type(value).__name__}")
    value = value.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value or None


def find_credentials(*, api_key: str | None = None,
                     cookies: Mapping[str, str] | str | os.PathLike[str] | None = None,
                     har_file: str | os.PathLike[str] | None = None,
                     auth_file: str | os.PathLike[str] | None = None,
                     env: Mapping[str, str] | None = None) -> CredentialSource | None:
    """The first credentials found, in the CONTRACT's order: ``api_key``, ``cookies``, ``har_file``,
    ``$CHATGPT_ACCESS_TOKEN`` (from ``env``, default ``os.environ``), then the auth cache file
    (``auth_file``, default :func:`default_auth_file`). None when there are none.

    Cookies are only loaded here; the exchange for a token is the caller's request to make.
    Unreadable files raise InvalidRequestError; a HAR without a token raises MissingAuthError.
    """
    token = _token_arg(api_key, "api_key")
    if token:
        return CredentialSource("api_key", AuthResult(token, expires=jwt_expiry(token)))
    if cookies is not None:
        loaded = load_cookies(cookies)
        if not loaded:
            raise InvalidRequestError("cookies= holds no cookies: pass the cookies of chatgpt.com from a "
                                      "signed-in browser (a dict or the path of a cookie export)")
        return CredentialSource("cookies", AuthResult(cookies=loaded), loaded)
    if har_file is not None:
        auth = read_har(har_file)
        return CredentialSource("har", auth, dict(auth.cookies) or None, str(har_file))
    token = _token_arg((os.environ if env is None else env).get(ENV_VAR), ENV_VAR)
    if token:
        return CredentialSource("env", AuthResult(token, expires=jwt_expiry(token)))
    cached = read_auth_file(default_auth_file() if auth_file is None else auth_file)
    if cached is not None:
        return CredentialSource("auth_file", cached, dict(cached.cookies) or None)
    return None


def missing_auth_message() -> str:
    """The MissingAuthError text when no credentials were found: every option, and ChatGpt."""
    return ("OpenaiChat needs your chatgpt.com account's credentials; give one of: api_key= (an access "
            "token: signed in at https://chatgpt.com, open https://chatgpt.com/api/auth/session and copy "
            "accessToken), cookies= (a dict, or the path of a cookies.txt or JSON cookie export of a "
            "signed-in browser), har_file= (a .har file or folder recorded on chatgpt.com while signed "
            f"in), the environment variable {ENV_VAR}, or an auth cache file (auth_file=, default "
            f"{default_auth_file()}, written after a successful call or by login()). "
            "Or sign in in a browser once: OpenaiChat().login(browser=True), or `chatgpt-sync login` on the "
            "command line. For chatgpt.com without an account, use ChatGpt instead.")
