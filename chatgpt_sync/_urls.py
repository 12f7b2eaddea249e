"""Joining an endpoint path onto a base URL that may carry a query string.

Azure-style bases keep their parameters in the query (``https://host/openai/v1?api-version=...``);
``f"{base}/chat/completions"`` would put the path after the query. ``join_url`` inserts the path
before it and merges extra query parameters (what openai-python calls ``extra_query``).
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["join_url", "with_query"]


def join_url(base: str, path: str, query: Mapping[str, Any] | None = None) -> str:
    """``base`` + ``/`` + ``path``, with the base's query string kept after the path.

    ``query`` adds parameters (urlencoded; ``True``/``False`` as ``true``/``false``, ``None`` left
    out); a name that is already in the base's query is replaced. A fragment in ``base`` is dropped
    (it is never sent).
    """
    if "?" not in base and "#" not in base and not query:
        # The common case, on every request: no parsing.
        return f"{base.rstrip('/')}/{path.lstrip('/')}"
    scheme, netloc, base_path, base_query, _ = urlsplit(base)
    full_path = f"{base_path.rstrip('/')}/{path.lstrip('/')}"
    extra = {name: _text(value) for name, value in (query or {}).items() if value is not None}
    if extra:
        kept = [(name, value) for name, value in parse_qsl(base_query, keep_blank_values=True)
                if name not in extra]
        base_query = urlencode([*kept, *extra.items()])
    return urlunsplit((scheme, netloc, full_path, base_query, ""))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def with_query(url: str, query: Mapping[str, Any] | None) -> str:
    """``url`` with ``query`` parameters added (replacing ones of the same name); as is without any."""
    if not query:
        return url
    scheme, netloc, path, url_query, _ = urlsplit(url)
    return join_url(urlunsplit((scheme, netloc, "", url_query, "")), path, query)
