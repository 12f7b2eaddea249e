"""Credentials for ``OpenaiChat``: access tokens (JWTs), cookie exports, HAR recordings, the auth cache.

Order (CONTRACT.md, first found wins): ``api_key=``, ``cookies=``, ``har_file=``, the
``CHATGPT_ACCESS_TOKEN`` environment variable, then the auth cache file. Everything here is bad input
checked before any network call (DESIGN rule 9), except :func:`exchange_session`, the one request
(cookies -> token at ``/api/auth/session``). Nothing is kept in module state (rule 6); secrets never
reach a log line or a message (rule 7).

Better than the public implementation (protocols.md §1.2.4): the JWT payload is decoded with the
URL-safe alphabet, an expired token is refused up front, a HAR without sentinel headers is fine (and
its stale sentinel headers are never reused), a token is never taken from a request to another host,
and a corrupt cache file is left where it is instead of being deleted.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

from ..._core import HTTPCore, blocked_error, looks_like_html
from ..._log import logger
from ..._urls import join_url
from ...errors import AuthenticationError, InvalidRequestError, MissingAuthError, ResponseError
from ...types import AuthResult, Timeout, TimeoutLike
from .session import DEFAULT_USER_AGENT, BrowserProfile

__all__ = [
    "ENV_VAR", "CredentialSource", "default_auth_file", "jwt_claims", "jwt_expiry", "token_expired",
    "account_key", "load_cookies", "read_har", "read_auth_file", "write_auth_file", "exchange_session",
    "find_credentials", "missing_auth_message", "check_not_expired",
]

ENV_VAR = "CHATGPT_ACCESS_TOKEN"
SESSION_PATH = "/api/auth/session"
_AUTH_CLAIM = "https://api.openai.com/auth"
_PROFILE_CLAIM = "https://api.openai.com/profile"
_HOW_TO_RECORD_HAR = (
    "record a new one: sign in at https://chatgpt.com, open the developer tools' Network tab, reload "
    "the page so the /api/auth/session request is captured, then export the HAR with its content and "
    "sensitive data (Chrome: 'Export HAR (with sensitive data)'; Firefox: 'Save All As HAR')")


# ------------------------------------------------------------------------------------------- paths

def default_auth_file() -> Path:
    """``$XDG_CACHE_HOME/chatgpt_sync/auth_OpenaiChat.json``; ``~/.cache/...`` when that is unset.

    A relative ``XDG_CACHE_HOME`` is ignored, as the XDG spec says.
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "chatgpt_sync" / "auth_OpenaiChat.json"


# -------------------------------------------------------------------------------------------- JWTs

def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, decoded with the URL-safe alphabet (RFC 7515; the public implementation
    used the standard one and broke on ``-``/``_``), missing padding tolerated. ``{}`` when ``token``
    is not a JWT."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or not parts[1]:
        return {}
    payload = parts[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return {}
    return claims if isinstance(claims, dict) else {}


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim (Unix seconds), or None when the token is not a JWT or has none."""
    exp = jwt_claims(token).get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    return float(exp)


def token_expired(token: str, *, now: float | None = None, leeway: float = 30.0) -> bool:
    """True when the JWT's ``exp`` is less than ``leeway`` seconds away (or past). A token without a
    readable expiry is not judged expired: the server decides."""
    exp = jwt_expiry(token)
    if exp is None:
        return False
    return (time.time() if now is None else now) + leeway >= exp


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
        "har": _HOW_TO_RECORD_HAR,
        "auth_file": "pass fresh credentials (api_key=, cookies= or har_file=) or call "
                     "OpenaiChat(...).login(); the cache file is rewritten after the next successful call",
    }.get(source, "pass fresh credentials (api_key=, cookies= or har_file=) or call OpenaiChat(...).login()")
    raise MissingAuthError(f"the ChatGPT access token from {_SOURCE_NAMES.get(source, source)} expired at "
                           f"{_when(exp)}: {renew}")


# ----------------------------------------------------------------------------------------- cookies

def _host_matches(domain: str, host: str) -> bool:
    domain = domain.strip().lstrip(".").lower()
    return domain == host or domain.endswith("." + host)


def _expired(value: Any, now: float) -> bool:
    """A cookie expiry in Unix seconds; 0, -1 and non-numbers mean a session cookie."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return False
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < now


def _read_text(path: Path, what: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InvalidRequestError(f"{what} {str(path)!r} does not exist") from None
    except OSError as exc:
        raise InvalidRequestError(f"{what} {str(path)!r} cannot be read: {exc.strerror or exc}") from None
    if raw.startswith(b"SQLite format 3"):
        raise InvalidRequestError(f"{what} {str(path)!r} is a browser's cookie database, not an export: "
                                  f"export the cookies as cookies.txt or JSON with a browser extension")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequestError(f"{what} {str(path)!r} is not UTF-8 text") from None


def _netscape_cookies(text: str, where: str, host: str, now: float) -> tuple[dict[str, str], set[str]]:
    cookies: dict[str, str] = {}
    domains: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("#HttpOnly_"):  # curl and browser extensions mark HttpOnly cookies this way
            line = line[len("#HttpOnly_"):]
        elif line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) == 6:  # an empty value whose trailing tab an editor stripped
            fields.append("")
        if len(fields) != 7:
            fields = line.split()  # tabs turned into spaces by a copy and paste
        if len(fields) != 7:
            raise InvalidRequestError(f"cookies file {where!r}, line {number}: not a Netscape cookies.txt line "
                                      f"(7 tab-separated fields expected, found {len(fields)})")
        domain, _, _, _, expiry, name, value = fields
        try:
            expires = float(expiry or 0)
        except ValueError:
            raise InvalidRequestError(f"cookies file {where!r}, line {number}: the expiry field is not a "
                                      f"number") from None
        domains.add(domain.lstrip(".").lower())
        if _host_matches(domain, host) and not 0 < expires < now:
            cookies[name] = value.strip("\r")
    return cookies, domains


def _json_cookies(data: Any, where: str, host: str, now: float) -> tuple[dict[str, str], set[str]]:
    if isinstance(data, dict) and isinstance(data.get("cookies"), list):
        data = data["cookies"]  # {"cookies": [...]}: Playwright's storage state and some extensions
    elif isinstance(data, dict):  # a flat name -> value object
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise InvalidRequestError(f"cookies file {where!r}: a JSON object must map cookie names to "
                                      f"string values (or hold a \"cookies\" list)")
        return dict(data), {host}
    cookies: dict[str, str] = {}
    domains: set[str] = set()
    for index, item in enumerate(data):
        if not (isinstance(item, dict) and isinstance(item.get("name"), str)
                and isinstance(item.get("value", ""), str)):
            raise InvalidRequestError(f"cookies file {where!r}: item {index} is not a cookie object with "
                                      f"string \"name\" and \"value\"")
        domain = item.get("domain") or item.get("host") or host
        domain = domain if isinstance(domain, str) else host
        domains.add(domain.lstrip(".").lower())
        expiry = next((item[k] for k in ("expirationDate", "expires", "expiry") if k in item), None)
        if _host_matches(domain, host) and not _expired(expiry, now):
            cookies[item["name"]] = item.get("value", "")
    return cookies, domains


def load_cookies(source: Mapping[str, str] | str | os.PathLike[str], *,
                 host: str = "chatgpt.com") -> dict[str, str]:
    """Cookies for ``host`` (and its subdomains) from a dict (passed through), a Netscape
    ``cookies.txt`` (``#HttpOnly_`` lines included, expired cookies skipped) or a JSON export (a list
    of cookie objects, a ``{"cookies": [...]}`` wrapper, or a flat name-to-value object).

    A file that cannot be read or parsed, or holds no cookie of ``host``, raises
    InvalidRequestError naming the file and what was wrong, before any network call.
    """
    if isinstance(source, Mapping):
        bad = [k for k, v in source.items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise InvalidRequestError(f"cookies=: the names and values must be strings ({bad[0]!r} is not)")
        return dict(source)
    if not isinstance(source, (str, os.PathLike)):
        raise InvalidRequestError(f"cookies= must be a dict or the path of a cookie export, "
                                  f"not {type(source).__name__}")
    host = host.strip().lstrip(".").lower()
    path = Path(source).expanduser()
    where = str(path)
    if isinstance(source, str) and "=" in source and not path.exists():
        raise InvalidRequestError("cookies= takes a dict or the path of a cookie export; this string is "
                                  "neither (to use a Cookie header, pass it as a dict of name -> value)")
    text = _read_text(path, "cookies file")
    now = time.time()
    if text.lstrip().startswith(("[", "{")):  # JSON: a list of cookies or an object
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidRequestError(f"cookies file {where!r} is not valid JSON: {exc}") from None
        cookies, domains = _json_cookies(data, where, host, now)
    else:
        cookies, domains = _netscape_cookies(text, where, host, now)
    if not cookies:
        seen = f" (it has cookies of {', '.join(sorted(domains)[:5])})" if domains else ""
        raise InvalidRequestError(f"cookies file {where!r} holds no unexpired cookie of {host}{seen}: export "
                                  f"the cookies of {host} from a browser signed in there")
    return cookies


def _cookie_header(value: str) -> dict[str, str]:
    pairs = (part.partition("=") for part in value.split(";"))
    return {name.strip(): val.strip() for name, eq, val in pairs if eq and name.strip()}


# --------------------------------------------------------------------------------------------- HAR

def _items(value: Any) -> list[dict[str, Any]]:
    """The dicts of a HAR list field (headers, cookies, entries), whatever junk surrounds them."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _session_token(content: Any) -> tuple[str | None, str]:
    """(token, what the /api/auth/session response said) from a HAR response ``content``."""
    content = _mapping(content)
    text = _text(content.get("text"))
    if not text:
        return None, "its /api/auth/session response has no body saved"
    if content.get("encoding") == "base64":
        try:
            text = base64.b64decode(text).decode("utf-8", "replace")
        except (ValueError, binascii.Error):
            return None, "its /api/auth/session response body is not valid base64"
    try:
        body = json.loads(text)
    except ValueError:
        match = re.search(r'"accessToken"\s*:\s*"([^"]+)"', text)
        return (match.group(1), "") if match else (None, "its /api/auth/session response is not JSON")
    token = body.get("accessToken") if isinstance(body, dict) else None
    if isinstance(token, str) and token:
        return token, ""
    return None, "its /api/auth/session response says the browser was not signed in"


def _har_auth(data: Any, host: str) -> tuple[AuthResult | None, str]:
    """The credentials in one parsed HAR, or (None, what it lacked)."""
    log = data.get("log") if isinstance(data, dict) else None
    entries = _items(log.get("entries")) if isinstance(log, dict) else []
    if not entries:
        return None, "it has no entries (is it a HAR file?)"
    tokens: list[str] = []
    cookies: dict[str, str] = {}
    user_agent: str | None = None
    on_host = 0
    lacks = ""
    for entry in entries:
        request, response = _mapping(entry.get("request")), _mapping(entry.get("response"))
        url = urlsplit(_text(request.get("url")))
        # A token sent to any other host (an upload URL, an analytics service) is not ours to take.
        if not _host_matches(url.hostname or "", host):
            continue
        on_host += 1
        for header in _items(request.get("headers")):
            name, value = _text(header.get("name")).lower(), _text(header.get("value"))
            if name == "authorization" and value[:7].lower() == "bearer ":
                if value[7:].strip() not in ("", "undefined", "null"):
                    tokens.append(value[7:].strip())
            elif name == "cookie":
                cookies.update(_cookie_header(value))
            elif name == "user-agent" and value:
                user_agent = value
        for cookie in _items(request.get("cookies")) + _items(response.get("cookies")):
            name = _text(cookie.get("name"))
            if name:
                cookies[name] = _text(cookie.get("value"))
        if url.path.rstrip("/").endswith(SESSION_PATH):
            token, lacks = _session_token(response.get("content"))
            if token:
                tokens.append(token)
    if not on_host:
        return None, f"none of its {len(entries)} requests went to {host}"
    if not tokens:
        return None, (lacks or f"none of its {on_host} requests to {host} carried an Authorization header "
                      f"and it has no /api/auth/session response")
    # The freshest token: the latest expiry, and among equals the last one recorded.
    token = max(reversed(tokens), key=lambda t: jwt_expiry(t) or 0.0)
    return AuthResult(token, cookies, user_agent, jwt_expiry(token)), ""


def read_har(path: str | os.PathLike[str], *, host: str = "chatgpt.com") -> AuthResult:
    """The access token, cookies and user agent recorded in a ``.har`` file, or in the newest HAR of
    a folder that yields a token. Sentinel headers (proof tokens) are neither needed nor kept: they
    are stale by the time the HAR is read.

    A path that is missing or unreadable, or a lone file that is not JSON, raises
    InvalidRequestError; a HAR without a token raises MissingAuthError saying what it lacked.
    """
    base = Path(path).expanduser()
    folder = base.is_dir()
    if folder:
        files = [p for p in base.iterdir() if p.suffix.lower() == ".har" and p.is_file()]
        if not files:
            raise InvalidRequestError(f"har_file: the folder {str(base)!r} holds no .har file")
        files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    else:
        files = [base]
    problems: list[str] = []
    unreadable = 0
    for file in files:
        try:
            text = _read_text(file, "HAR file")
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise InvalidRequestError(f"HAR file {str(file)!r} is not valid JSON: {exc}") from None
        except InvalidRequestError as exc:
            if not folder:
                raise
            problems.append(exc.message)  # in a folder, one bad file does not hide the others
            unreadable += 1
            continue
        auth, lacks = _har_auth(data, host)
        if auth is not None:
            logger.debug("credentials read from the HAR file %s", file)
            return auth
        problems.append(f"{str(file)!r}: {lacks}")
    if unreadable == len(files):
        raise InvalidRequestError("har_file: no HAR could be read: " + "; ".join(problems))
    raise MissingAuthError("no ChatGPT access token in the HAR: " + "; ".join(problems)
                           + "; " + _HOW_TO_RECORD_HAR)


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
            "For chatgpt.com without an account, use ChatGpt instead.")
