"""OpenaiChat credentials (providers/_web/auth.py): JWTs, cookie exports, HARs, the auth cache file,
the order of the sources, and the cookie-for-token exchange against a loopback server."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from chatgpt_sync._core import HTTPCore
from chatgpt_sync._transport import RequestsTransport
from chatgpt_sync.errors import AuthenticationError, InvalidRequestError, MissingAuthError
from chatgpt_sync.providers._web import auth as A
from chatgpt_sync.testing._server import EmulatorHandler, EmulatorServer
from chatgpt_sync.types import AuthResult

FUTURE = time.time() + 3600
PAST = time.time() - 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def make_jwt(**claims: Any) -> str:
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def account_jwt(user: str, exp: float = FUTURE) -> str:
    return make_jwt(exp=int(exp), sub=f"auth0|{user}", **{A._AUTH_CLAIM: {"user_id": f"user-{user}"}})


TOKEN = account_jwt("alice")
SECRET_COOKIE = "sess-VALUE-never-shown-0123456789"

# ------------------------------------------------------------------------------------------- JWTs

# "???" and "~~~" encode to "Pz8_" and "fn5-": the URL-safe alphabet's own characters.
URL_SAFE = make_jwt(exp=2000000000, note="???~~~")
ODD_PADDING = make_jwt(exp=2000000000, n="abc")


def test_the_url_safe_payload_really_has_url_safe_characters_and_missing_padding() -> None:
    payload = URL_SAFE.split(".")[1]
    assert "_" in payload and "-" in payload
    assert len(ODD_PADDING.split(".")[1]) % 4 != 0


@pytest.mark.parametrize("token, claims", [
    (URL_SAFE, {"exp": 2000000000, "note": "???~~~"}),
    (ODD_PADDING, {"exp": 2000000000, "n": "abc"}),
    ("header." + b64url(b'{"exp": 5}') + "==.sig", {"exp": 5}),  # padding present is fine too
    ("", {}),
    ("not-a-jwt", {}),
    ("a.b", {}),
    ("a..c", {}),
    ("a.!!!$$.c", {}),
    ("a." + b64url(b"not json") + ".c", {}),
    ("a." + b64url(b"[1, 2]") + ".c", {}),          # JSON, but not an object
    ("a." + b64url(b"\xff\xfe") + ".c", {}),         # not UTF-8
    ("a.b.c.d", {}),
])
def test_jwt_claims(token: str, claims: dict[str, Any]) -> None:
    assert A.jwt_claims(token) == claims


@pytest.mark.parametrize("claims, expiry", [
    ({"exp": 1700000000}, 1700000000.0),
    ({"exp": 1700000000.5}, 1700000000.5),
    ({}, None),
    ({"exp": "1700000000"}, None),
    ({"exp": True}, None),
])
def test_jwt_expiry(claims: dict[str, Any], expiry: float | None) -> None:
    assert A.jwt_expiry(make_jwt(**claims)) == expiry


@pytest.mark.parametrize("token, now, leeway, expired", [
    (make_jwt(exp=1000), 900, 30.0, False),
    (make_jwt(exp=1000), 969, 30.0, False),
    (make_jwt(exp=1000), 970, 30.0, True),     # within the leeway counts as expired
    (make_jwt(exp=1000), 999, 0.0, False),
    (make_jwt(exp=1000), 1000, 0.0, True),
    (make_jwt(exp=1000), 5000, 30.0, True),
    (make_jwt(sub="x"), 5000, 30.0, False),    # no exp: the server decides
    ("opaque-token", 5000, 30.0, False),
])
def test_token_expired(token: str, now: float, leeway: float, expired: bool) -> None:
    assert A.token_expired(token, now=now, leeway=leeway) is expired


def test_token_expired_uses_the_clock_by_default() -> None:
    assert A.token_expired(make_jwt(exp=int(PAST)))
    assert not A.token_expired(make_jwt(exp=int(FUTURE)))


@pytest.mark.parametrize("token, key", [
    (account_jwt("alice"), "user-alice"),
    (make_jwt(sub="auth0|bob"), "auth0|bob"),
    (make_jwt(**{A._PROFILE_CLAIM: {"email": "c@example.com"}}), "c@example.com"),
    (make_jwt(email="d@example.com"), "d@example.com"),
    (make_jwt(exp=1), "default"),
    ("opaque", "default"),
])
def test_account_key(token: str, key: str) -> None:
    assert A.account_key(AuthResult(token)) == key


@pytest.mark.parametrize("source, hint", [
    ("api_key", "new access token as api_key"),
    ("env", "CHATGPT_ACCESS_TOKEN"),
    ("cookies", "export the cookies again"),
    ("har", "record a new one"),
    ("auth_file", "login()"),
])
def test_an_expired_token_is_refused_with_how_to_renew(source: str, hint: str) -> None:
    expired = account_jwt("alice", exp=PAST)
    with pytest.raises(MissingAuthError) as info:
        A.check_not_expired(AuthResult(expired), source=source)
    assert hint in str(info.value) and "expired at" in str(info.value)
    assert expired not in str(info.value) and "[redacted]" not in str(info.value)


def test_check_not_expired_passes_valid_unknown_and_uses_expires_when_not_a_jwt() -> None:
    A.check_not_expired(AuthResult(TOKEN), source="api_key")
    A.check_not_expired(AuthResult("opaque"), source="api_key")
    A.check_not_expired(AuthResult(None, {"a": "b"}), source="cookies")
    with pytest.raises(MissingAuthError):
        A.check_not_expired(AuthResult("opaque", expires=PAST), source="api_key")


# ---------------------------------------------------------------------------------------- cookies

NETSCAPE = "\n".join([
    "# Netscape HTTP Cookie File",
    "# https://curl.se/docs/http-cookies.html",
    "",
    f"#HttpOnly_.chatgpt.com\tTRUE\t/\tTRUE\t{int(FUTURE)}\t__Secure-next-auth.session-token\t{SECRET_COOKIE}",
    f"chatgpt.com\tFALSE\t/\tFALSE\t0\toai-did\tdevice-1",
    f"auth.chatgpt.com\tFALSE\t/\tTRUE\t{int(FUTURE)}\tsub\tsubdomain",
    f".chatgpt.com\tTRUE\t/\tTRUE\t{int(PAST)}\told\texpired",
    f".openai.com\tTRUE\t/\tTRUE\t{int(FUTURE)}\tother\tnot-ours",
    f"notchatgpt.com\tTRUE\t/\tTRUE\t{int(FUTURE)}\tlookalike\tnot-ours",
    f".chatgpt.com\tTRUE\t/\tTRUE\t{int(FUTURE)}\tempty",  # trailing tab stripped by an editor
]) + "\r\n"

EXPECTED_NETSCAPE = {"__Secure-next-auth.session-token": SECRET_COOKIE, "oai-did": "device-1",
                     "sub": "subdomain", "empty": ""}

JSON_LIST = [
    {"domain": ".chatgpt.com", "name": "__Secure-next-auth.session-token", "value": SECRET_COOKIE,
     "expirationDate": FUTURE, "httpOnly": True, "secure": True, "path": "/"},
    {"domain": "chatgpt.com", "name": "oai-did", "value": "device-1", "session": True},
    {"domain": ".chatgpt.com", "name": "old", "value": "x", "expirationDate": PAST},
    {"domain": "google.com", "name": "NID", "value": "not-ours"},
]
EXPECTED_JSON = {"__Secure-next-auth.session-token": SECRET_COOKIE, "oai-did": "device-1"}


@pytest.mark.parametrize("name, content, expected", [
    ("cookies.txt", NETSCAPE, EXPECTED_NETSCAPE),
    ("cookies.json", json.dumps(JSON_LIST), EXPECTED_JSON),
    ("state.json", json.dumps({"cookies": [  # Playwright's storage state: expires -1 is a session cookie
        {"name": "a", "value": "1", "domain": "chatgpt.com", "expires": -1},
        {"name": "b", "value": "2", "domain": "ab.chatgpt.com", "expires": FUTURE},
        {"name": "c", "value": "3", "domain": "chatgpt.com", "expires": PAST},
    ], "origins": []}), {"a": "1", "b": "2"}),
    ("flat.json", json.dumps({"a": "1", "cookies": "not-a-list"}), {"a": "1", "cookies": "not-a-list"}),
    ("bom.json", "\ufeff" + json.dumps(JSON_LIST), EXPECTED_JSON),
    ("spaces.txt", "chatgpt.com FALSE / TRUE 0 a 1\n", {"a": "1"}),
    ("firefox.json", json.dumps([{"host": ".chatgpt.com", "name": "a", "value": "1", "expiry": FUTURE}]),
     {"a": "1"}),
])
def test_load_cookies_from_files(tmp_path: Path, name: str, content: str, expected: dict[str, str]) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert A.load_cookies(path) == expected
    assert A.load_cookies(str(path)) == expected


def test_load_cookies_takes_another_host_and_passes_a_dict_through(tmp_path: Path) -> None:
    path = tmp_path / "cookies.txt"
    path.write_text(NETSCAPE)
    assert A.load_cookies(path, host=".openai.com") == {"other": "not-ours"}
    cookies = {"a": "1", "b": "2"}
    assert A.load_cookies(cookies) == cookies


@pytest.mark.parametrize("content, says", [
    ("[not json", "not valid JSON"),
    ('{"a": 1}', "string values"),
    ("42", "line 1"),
    ('{"cookies": 5, "a": "1"}', "string values"),
    (json.dumps([{"value": "x"}]), "item 0"),
    (json.dumps([{"name": "a", "value": 5}]), "item 0"),
    (f"chatgpt.com\tTRUE\t/\n", "line 1"),
    (f"# comment\nchatgpt.com\tTRUE\t/\tTRUE\tsoon\ta\t{SECRET_COOKIE}\n", "line 2: the expiry"),
    (f".openai.com\tTRUE\t/\tTRUE\t0\ta\t{SECRET_COOKIE}\n", "no unexpired cookie of chatgpt.com"),
    ("# only comments\n", "no unexpired cookie"),
    (json.dumps({}), "no unexpired cookie"),
])
def test_malformed_cookie_files_name_the_file(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "my-cookies.txt"
    path.write_text(content)
    with pytest.raises(InvalidRequestError) as info:
        A.load_cookies(path)
    assert "my-cookies.txt" in str(info.value) and says in str(info.value)
    assert SECRET_COOKIE not in str(info.value)


def test_unreadable_cookie_sources(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="does not exist"):
        A.load_cookies(tmp_path / "missing.txt")
    (tmp_path / "Cookies").write_bytes(b"SQLite format 3\x00" + b"\x00" * 64)
    with pytest.raises(InvalidRequestError, match="cookie database"):
        A.load_cookies(tmp_path / "Cookies")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(InvalidRequestError, match="not UTF-8"):
        A.load_cookies(tmp_path / "bin.txt")
    with pytest.raises(InvalidRequestError, match="cannot be read"):
        A.load_cookies(tmp_path)  # a folder
    with pytest.raises(InvalidRequestError, match="must be a dict"):
        A.load_cookies(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="Cookie header") as info:
        A.load_cookies(f"__Secure-next-auth.session-token={SECRET_COOKIE}; oai-did=1")
    assert SECRET_COOKIE not in str(info.value)
    with pytest.raises(InvalidRequestError, match="strings"):
        A.load_cookies({"a": 1})  # type: ignore[dict-item]


# -------------------------------------------------------------------------------------------- HAR

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"


def har_entry(url: str, *, headers: dict[str, str] | None = None, cookies: dict[str, str] | None = None,
              body: str | None = None, base64_body: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {"size": 0, "mimeType": "application/json"}
    if body is not None:
        content["text"] = base64.b64encode(body.encode()).decode() if base64_body else body
        if base64_body:
            content["encoding"] = "base64"
    return {
        "startedDateTime": "2025-01-01T00:00:00.000Z",
        "request": {"method": "GET", "url": url,
                    "headers": [{"name": k, "value": v} for k, v in (headers or {}).items()],
                    "cookies": [{"name": k, "value": v} for k, v in (cookies or {}).items()]},
        "response": {"status": 200, "headers": [], "cookies": [], "content": content},
    }


def write_har(path: Path, *entries: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "test"}, "entries": list(entries)}}))
    return path


def session_entry(token: str | None, **kwargs: Any) -> dict[str, Any]:
    body = json.dumps({"user": {"id": "user-1"}, "accessToken": token} if token else {})
    return har_entry("https://chatgpt.com/api/auth/session", body=body, **kwargs)


def test_har_token_from_the_session_response_with_cookies_and_user_agent(tmp_path: Path) -> None:
    har = write_har(tmp_path / "a.har",
                    har_entry("https://chatgpt.com/", headers={"User-Agent": UA, "Cookie": "a=1; b=2"}),
                    session_entry(TOKEN, headers={"user-agent": UA}, cookies={"b": "3", "c": "4"}),
                    har_entry("https://cdn.oaistatic.com/x.js", headers={"Cookie": "cdn=no"}))
    auth = A.read_har(har)
    assert auth.access_token == TOKEN
    assert auth.cookies == {"a": "1", "b": "3", "c": "4"}
    assert auth.user_agent == UA
    assert auth.expires == A.jwt_expiry(TOKEN)


def test_har_token_from_an_authorization_header_and_a_base64_body(tmp_path: Path) -> None:
    header = write_har(tmp_path / "h.har", har_entry(
        "https://chatgpt.com/backend-api/conversations?offset=0",
        headers={":authority": "chatgpt.com", "authorization": f"Bearer {TOKEN}", "user-agent": UA}))
    assert A.read_har(header).access_token == TOKEN
    encoded = write_har(tmp_path / "b.har", session_entry(TOKEN, base64_body=True))
    assert A.read_har(encoded).access_token == TOKEN


def test_har_never_takes_a_token_sent_to_another_host(tmp_path: Path) -> None:
    other = account_jwt("mallory")
    only_other = write_har(
        tmp_path / "o.har",
        har_entry("https://files.oaiusercontent.com/upload", headers={"Authorization": f"Bearer {other}"}),
        har_entry("https://chatgpt.com.evil.example/api/auth/session", body=json.dumps({"accessToken": other})),
        har_entry("https://chatgpt.com/", headers={"authorization": "Bearer undefined"}))
    with pytest.raises(MissingAuthError) as info:
        A.read_har(only_other)
    assert other not in str(info.value)
    both = write_har(tmp_path / "b.har", session_entry(TOKEN),
                     har_entry("https://ab.chatgpt.com.example.net/", headers={"Authorization": f"Bearer {other}"}))
    assert A.read_har(both).access_token == TOKEN


def test_har_prefers_the_freshest_token(tmp_path: Path) -> None:
    older, newer = account_jwt("alice", exp=FUTURE), account_jwt("alice", exp=FUTURE + 600)
    har = write_har(tmp_path / "a.har", session_entry(newer),
                    har_entry("https://chatgpt.com/backend-api/me", headers={"Authorization": f"Bearer {older}"}))
    assert A.read_har(har).access_token == newer


def test_har_is_robust_to_missing_and_odd_fields(tmp_path: Path) -> None:
    har = write_har(tmp_path / "odd.har",
                    {"request": None}, {"response": {}}, "junk",  # type: ignore[arg-type]
                    {"request": {"url": 5, "headers": "nope"}},
                    {"request": {"url": "https://chatgpt.com/x", "headers": [{"name": "Cookie"}, 3], "cookies": None},
                     "response": {"content": None}},
                    {"request": {"url": "https://chatgpt.com/api/auth/session"},
                     "response": {"content": {"text": f'<script>{{"accessToken":"{TOKEN}"}}</script>'}}})
    auth = A.read_har(har)
    assert auth.access_token == TOKEN and auth.user_agent is None and auth.cookies == {}


def test_a_folder_of_hars_newest_first(tmp_path: Path) -> None:
    old_token, new_token = account_jwt("old"), account_jwt("new")
    now = time.time()
    for name, entries, age in [
        ("old.har", [session_entry(old_token)], 300),
        ("new.har", [session_entry(new_token)], 200),
        ("newest.har", [session_entry(None)], 100),   # signed out: no token, skipped
    ]:
        write_har(tmp_path / name, *entries)
        os.utime(tmp_path / name, (now - age, now - age))
    (tmp_path / "broken.har").write_text("{not json")   # newest of all, unreadable: skipped
    (tmp_path / "notes.txt").write_text("ignored")
    auth = A.read_har(tmp_path)
    assert auth.access_token == new_token


@pytest.mark.parametrize("entries, says", [
    ([har_entry("https://chatgpt.com/", headers={"user-agent": UA})], "Authorization"),
    ([session_entry(None)], "not signed in"),
    ([har_entry("https://chatgpt.com/api/auth/session")], "no body saved"),
    ([har_entry("https://example.com/")], "none of its 1 requests went to chatgpt.com"),
    ([], "no entries"),
])
def test_a_har_without_a_token_says_what_it_lacked(tmp_path: Path, entries: list[dict[str, Any]], says: str) -> None:
    har = write_har(tmp_path / "x.har", *entries)
    with pytest.raises(MissingAuthError) as info:
        A.read_har(har)
    assert says in str(info.value) and "x.har" in str(info.value) and "record a new one" in str(info.value)


def test_unreadable_har_paths_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="does not exist"):
        A.read_har(tmp_path / "missing.har")
    (tmp_path / "bad.har").write_text("{oops")
    with pytest.raises(InvalidRequestError, match="bad.har.*not valid JSON"):
        A.read_har(tmp_path / "bad.har")
    with pytest.raises(InvalidRequestError, match="no HAR could be read"):
        A.read_har(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidRequestError, match="holds no .har file"):
        A.read_har(tmp_path / "empty")


# -------------------------------------------------------------------------------------- auth file

def test_default_auth_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert A.default_auth_file() == tmp_path / "xdg" / "chatgpt_sync" / "auth_OpenaiChat.json"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unset in ("", "relative/path"):
        monkeypatch.setenv("XDG_CACHE_HOME", unset)
        assert A.default_auth_file() == tmp_path / "home" / ".cache" / "chatgpt_sync" / "auth_OpenaiChat.json"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert A.default_auth_file() == tmp_path / "home" / ".cache" / "chatgpt_sync" / "auth_OpenaiChat.json"


def test_auth_file_round_trip_mode_0600_and_folder_0700(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "chatgpt_sync" / "auth.json"
    assert A.read_auth_file(path) is None
    auth = AuthResult(TOKEN, {"s": SECRET_COOKIE}, UA, A.jwt_expiry(TOKEN))
    A.write_auth_file(path, auth)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert A.read_auth_file(path) == auth
    data = json.loads(path.read_text())
    assert data["current"] == "user-alice" and list(data["accounts"]) == ["user-alice"]


def test_auth_file_is_replaced_atomically(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    A.write_auth_file(path, AuthResult(TOKEN))
    before = os.stat(path).st_ino
    path.chmod(0o644)  # even a file someone loosened comes back 0600
    newer = account_jwt("alice", exp=FUTURE + 60)
    A.write_auth_file(path, AuthResult(newer))
    assert os.stat(path).st_ino != before  # a new file renamed over the old, not rewritten in place
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(tmp_path) == ["auth.json"]  # no temporary file left behind
    assert A.read_auth_file(path) == AuthResult(newer)


def test_auth_file_keeps_one_entry_per_account(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    alice, bob = AuthResult(account_jwt("alice"), {"a": "1"}), AuthResult(account_jwt("bob"), {"b": "2"})
    A.write_auth_file(path, alice)
    A.write_auth_file(path, bob)
    assert A.read_auth_file(path) == bob
    A.write_auth_file(path, AuthResult(account_jwt("alice", exp=FUTURE + 5), {"a": "9"}))
    data = json.loads(path.read_text())
    assert sorted(data["accounts"]) == ["user-alice", "user-bob"] and data["current"] == "user-alice"
    assert A.read_auth_file(path) == AuthResult(account_jwt("alice", exp=FUTURE + 5), {"a": "9"})


@pytest.mark.parametrize("content, unusable", [
    ("{not json", True), ("[]", True), ('{"accounts": 5}', True), (b"\xff\xfe", True),
    ('{"accounts": {"x": {"access_token": 5}}, "current": "x"}', False),  # well-formed, no usable entry
    ('{"accounts": {}, "current": "x"}', False),
])
def test_a_corrupt_auth_file_is_ignored_with_a_warning_and_left_alone(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str | bytes, unusable: bool) -> None:
    path = tmp_path / "auth.json"
    raw = content if isinstance(content, bytes) else content.encode()
    path.write_bytes(raw)
    with caplog.at_level(logging.WARNING, logger="chatgpt_sync"):
        assert A.read_auth_file(path) is None
    assert path.read_bytes() == raw
    assert any("auth.json" in record.getMessage() for record in caplog.records)
    # The next successful call writes a good file; an unparsable one is kept beside it.
    A.write_auth_file(path, AuthResult(TOKEN))
    assert A.read_auth_file(path) == AuthResult(TOKEN)
    assert (tmp_path / "auth.json.corrupt").exists() is unusable
    if unusable:
        assert (tmp_path / "auth.json.corrupt").read_bytes() == raw


def test_a_flat_single_account_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text(json.dumps({"api_key": TOKEN, "cookies": {"a": "1"}, "expires": 5}))
    assert A.read_auth_file(path) == AuthResult(TOKEN, {"a": "1"}, None, 5.0)


# ------------------------------------------------------------------------------ find_credentials

@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Any]:
    har = write_har(tmp_path / "s.har", session_entry(account_jwt("har"), cookies={"h": "1"}))
    cache = tmp_path / "auth.json"
    A.write_auth_file(cache, AuthResult(account_jwt("cache"), {"c": "1"}))
    return {"api_key": account_jwt("key"), "cookies": {"k": "1"}, "har_file": har,
            "env": {A.ENV_VAR: account_jwt("env")}, "auth_file": cache}


@pytest.mark.parametrize("absent, kind, user", [
    ((), "api_key", "key"),
    (("api_key",), "cookies", None),
    (("api_key", "cookies"), "har", "har"),
    (("api_key", "cookies", "har_file"), "env", "env"),
    (("api_key", "cookies", "har_file", "env"), "auth_file", "cache"),
])
def test_find_credentials_first_found_wins(sources: dict[str, Any], absent: tuple[str, ...], kind: str,
                                           user: str | None) -> None:
    kwargs = {name: value for name, value in sources.items() if name not in absent}
    kwargs.setdefault("env", {})
    found = A.find_credentials(**kwargs)
    assert found is not None and found.kind == kind
    if user is None:
        assert found.auth.access_token is None and found.cookies_source == {"k": "1"}
    else:
        assert found.auth.access_token == account_jwt(user)
    assert found.har_path == (str(sources["har_file"]) if kind == "har" else None)
    assert "1'" not in repr(found) and (found.auth.access_token or "-") not in repr(found)


def test_find_credentials_details(sources: dict[str, Any], tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    nothing = tmp_path / "none.json"
    assert A.find_credentials(env={}, auth_file=nothing) is None
    assert A.find_credentials(api_key="", env={}, auth_file=nothing) is None
    found = A.find_credentials(api_key=f"  Bearer {TOKEN} ", env={}, auth_file=nothing)
    assert found is not None and found.auth == AuthResult(TOKEN, expires=A.jwt_expiry(TOKEN))
    monkeypatch.setenv(A.ENV_VAR, account_jwt("env"))  # env defaults to os.environ
    found = A.find_credentials(auth_file=nothing)
    assert found is not None and found.kind == "env"
    # HAR and cache entries with cookies can be refreshed from them.
    har = A.find_credentials(har_file=sources["har_file"], env={})
    assert har is not None and har.cookies_source == {"h": "1"}
    cache = A.find_credentials(env={}, auth_file=sources["auth_file"])
    assert cache is not None and cache.cookies_source == {"c": "1"}
    # Bad input fails at once, even when a later source would do.
    (tmp_path / "bad.txt").write_text("garbage line\n")
    with pytest.raises(InvalidRequestError, match="bad.txt"):
        A.find_credentials(cookies=tmp_path / "bad.txt", env=sources["env"])
    with pytest.raises(InvalidRequestError, match="no cookies"):
        A.find_credentials(cookies={}, env=sources["env"])
    with pytest.raises(InvalidRequestError, match="api_key must be a string"):
        A.find_credentials(api_key=123)  # type: ignore[arg-type]


def test_missing_auth_message_names_every_option() -> None:
    message = A.missing_auth_message()
    assert MissingAuthError(message).message == message  # nothing in it looks like a secret to redact
    for option in ("api_key=", "cookies=", "har_file=", "CHATGPT_ACCESS_TOKEN", "auth_file=",
                   "auth_OpenaiChat.json", "ChatGpt"):
        assert option in message


# ----------------------------------------------------------------------------- exchange_session

class SessionHandler(EmulatorHandler):
    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.read_body()
        status, payload = self.emulator.reply
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "__Secure-next-auth.session-token=rotated; Path=/; HttpOnly")
        self.send_header("Set-Cookie", "_cfuvid=cf-1; Path=/")
        self.end_headers()
        self.wfile.write(body)


class SessionServer(EmulatorServer):
    handler_class = SessionHandler
    reply: tuple[int, Any] = (200, {})


@pytest.fixture
def session_server() -> Iterator[SessionServer]:
    server = SessionServer()
    with server:
        yield server


@pytest.fixture
def core() -> Iterator[HTTPCore]:
    core = HTTPCore(RequestsTransport(), sleep=lambda s: None)
    yield core
    core.close()


COOKIES = {"__Secure-next-auth.session-token": SECRET_COOKIE, "oai-did": "device-1"}


def test_exchange_session_gives_the_token_and_updated_cookies(session_server: SessionServer, core: HTTPCore) -> None:
    session_server.reply = (200, {"user": {"id": "user-alice"}, "expires": "2099-01-01T00:00:00Z",
                                  "accessToken": TOKEN})
    auth = A.exchange_session(core, session_server.base_url + "/", COOKIES, user_agent=UA, timeout=5)
    assert auth == AuthResult(TOKEN, {"__Secure-next-auth.session-token": "rotated", "oai-did": "device-1",
                                      "_cfuvid": "cf-1"}, UA, A.jwt_expiry(TOKEN))
    [request] = session_server.requests
    assert request.method == "GET" and request.path == "/api/auth/session"
    assert request.header("cookie") == f"__Secure-next-auth.session-token={SECRET_COOKIE}; oai-did=device-1"
    assert request.header("user-agent") == UA


@pytest.mark.parametrize("reply, says", [
    ((200, {}), "not signed in"),
    ((200, {"error": "RefreshAccessTokenError"}), "RefreshAccessTokenError"),
    ((200, {"accessToken": None}), "not signed in"),
    ((401, {"detail": "Unauthorized"}), "HTTP 401"),
])
def test_exchange_session_without_a_token(session_server: SessionServer, core: HTTPCore,
                                          reply: tuple[int, Any], says: str) -> None:
    session_server.reply = reply
    with pytest.raises(MissingAuthError) as info:
        A.exchange_session(core, session_server.base_url, COOKIES, user_agent=UA, timeout=5, max_retries=2)
    message = str(info.value)
    assert says in message and "export them again" in message and SECRET_COOKIE not in message
    if reply[0] == 401:
        assert isinstance(info.value.__cause__, AuthenticationError)
    assert len(session_server.requests) == 1  # a refusal is not retried
    assert session_server.requests[0].header("cookie") is not None
