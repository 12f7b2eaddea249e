"""Cookie exports for ``OpenaiChat``'s ``cookies=``: a dict, a Netscape ``cookies.txt`` or a JSON export.

Only the cookies of one host (and its subdomains) are kept, expired ones are skipped, and a file
that cannot be used is bad input reported before any network call (DESIGN rule 9), naming the file
and what was wrong but never a cookie's value (rule 7). :func:`read_export` and
:func:`host_matches` also serve the HAR reader (:mod:`.har`).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Mapping

from ...errors import InvalidRequestError

__all__ = ["host_matches", "load_cookies", "read_export"]


def host_matches(domain: str, host: str) -> bool:
    """Whether a cookie's ``domain`` (or a request's host) is ``host`` or one of its subdomains."""
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


def read_export(path: Path, what: str) -> str:
    """The text of a browser export (``what``: "cookies file", "HAR file"); InvalidRequestError when it
    is missing, unreadable, not UTF-8, or a cookie database rather than an export."""
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
        if host_matches(domain, host) and not 0 < expires < now:
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
        if host_matches(domain, host) and not _expired(expiry, now):
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
    text = read_export(path, "cookies file")
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
