"""Citations in a chatgpt.com web answer (protocols.md §1.2.9) and the ``Sources`` it ends with.

The private-use sequences ``U+E200 kind U+E202 field ... U+E201`` in the answer become Markdown: a
citation is a numbered link ``[1](url)`` (a source keeps its number for the whole answer, and
``Sources`` lists the cited ones first, in number order, so ``[k]`` is ``sources[k-1]``); an entity
becomes its display name; anything else is dropped. The pages a marker cites are looked up in the
messages' metadata (``content_references``, ``search_result_groups``), which a stream may send
before or after the marker; holding a marker back until its pages arrive is :class:`.patch.TextTrack`'s
job, driven by :meth:`Citations.render` answering None.
"""

from __future__ import annotations

import re
from typing import Any, Collection, Dict, Iterable, List, Optional, Set, Tuple

from .patch import CLOSE, OPEN, SEP, entity_label

__all__ = ["Citations", "touches_metadata"]

_SOURCE_LISTS = ("items", "fallback_items", "sources", "domains")
_REF_ID = re.compile(r"turn\d+[a-z_]+\d+")


def _dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strip_utm(url: str) -> str:
    """``url`` without its ``utm_*`` query parameters (kept verbatim otherwise)."""
    base, hash_sign, fragment = url.partition("#")
    path, question, query = base.partition("?")
    if not question:
        return url
    kept = [kv for kv in query.split("&") if kv and not kv.lower().startswith("utm_")]
    return path + ("?" + "&".join(kept) if kept else "") + hash_sign + fragment


def _add_source(entry: Any, found: Dict[str, Dict[str, Any]]) -> None:
    if not isinstance(entry, dict):
        return
    url = entry.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return
    url = _strip_utm(url)
    title = entry.get("title") if isinstance(entry.get("title"), str) else ""
    if url not in found:
        found[url] = {"url": url, "title": title}
    elif title and not found[url]["title"]:
        found[url]["title"] = title


def _ref_key(ref: Any) -> Optional[str]:
    """``"turn0search3"`` for ``{"turn_index": 0, "ref_type": "search", "ref_index": 3}`` (or that string)."""
    if isinstance(ref, str):
        return ref if _REF_ID.fullmatch(ref) else None
    if isinstance(ref, dict):
        turn, kind, index = ref.get("turn_index"), ref.get("ref_type"), ref.get("ref_index")
        if isinstance(turn, int) and isinstance(kind, str) and isinstance(index, int) \
                and not isinstance(turn, bool) and not isinstance(index, bool):
            return f"turn{turn}{kind}{index}"
    return None


def _page(entry: Any) -> Optional[Tuple[str, str]]:
    """(url without utm parameters, title) of a source entry with an http(s) url."""
    if not isinstance(entry, dict):
        return None
    url = entry.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return None
    title = entry.get("title")
    return _strip_utm(url), title if isinstance(title, str) else ""


def _md_url(url: str) -> str:
    """``url`` safe inside a Markdown link target."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _metadata_lists(messages: Iterable[Dict[str, Any]], key: str) -> Iterable[Any]:
    """Every entry of ``metadata[key]`` (a list) over the non-user messages."""
    for message in messages:
        if _dict(message.get("author")).get("role") == "user":
            continue
        entries = _dict(message.get("metadata")).get(key)
        if isinstance(entries, list):
            yield from entries


class Citations:
    """One answer's citations: where its markers point (§1.2.9), rebuilt from the messages' metadata
    only after it changed (the decoder sets ``dirty``), and the numbers given to cited sources (first
    cited, first numbered)."""

    def __init__(self) -> None:
        self.dirty = True
        self.by_text: Dict[str, List[Tuple[str, str]]] = {}   # a marker's exact text → its pages
        self.by_ref: Dict[str, Tuple[str, str]] = {}          # "turn0search3" → page
        self.numbers: Dict[str, int] = {}
        self.cited: List[Dict[str, Any]] = []

    def rebuild(self, messages: List[Dict[str, Any]]) -> None:
        self.dirty = False
        by_text: Dict[str, List[Tuple[str, str]]] = {}
        by_ref: Dict[str, Tuple[str, str]] = {}
        # Search results name their ref ids exactly; they win over content references.
        for group in _metadata_lists(messages, "search_result_groups"):
            entries = _dict(group).get("entries")
            for entry in entries if isinstance(entries, list) else []:
                page, key = _page(entry), _ref_key(_dict(entry).get("ref_id"))
                if page is not None and key is not None:
                    by_ref.setdefault(key, page)
        for ref in _metadata_lists(messages, "content_references"):
            ref = _dict(ref)
            items = ref.get("items") or ref.get("fallback_items")
            pages: List[Tuple[str, str]] = []
            for item in items if isinstance(items, list) else []:
                page = _page(item)
                if page is None:
                    continue
                pages.append(page)
                # An item's first ref is the page itself; the others are its supporting websites.
                item_refs = _dict(item).get("refs")
                key = _ref_key(item_refs[0]) if isinstance(item_refs, list) and item_refs else None
                if key is not None:
                    by_ref.setdefault(key, page)
            if not pages:
                page = _page(ref)
                pages = [page] if page is not None else []
            if not pages:
                continue
            matched = ref.get("matched_text")
            if isinstance(matched, str) and matched.startswith(OPEN):
                by_text.setdefault(matched, pages)
            own = ref.get("refs")
            keys = [k for k in (_ref_key(r) for r in own) if k] if isinstance(own, list) else []
            for index, key in enumerate(keys):
                if len(keys) == len(pages) or len(pages) == 1:
                    by_ref.setdefault(key, pages[index if len(keys) == len(pages) else 0])
        self.by_text, self.by_ref = by_text, by_ref

    def links(self, marker: str, ids: List[str]) -> List[str]:
        """``[k](url)`` for each page the marker cites (known so far), numbering new pages."""
        pages = self.by_text.get(marker)
        if pages is None:
            pages = [page for page in (self.by_ref.get(i.strip()) for i in ids) if page is not None]
        out: List[str] = []
        seen: Set[str] = set()
        for url, title in pages:
            if url in seen:
                continue
            seen.add(url)
            number = self.numbers.get(url)
            if number is None:
                number = self.numbers[url] = len(self.numbers) + 1
                self.cited.append({"url": url, "title": title})
            elif title and not self.cited[number - 1]["title"]:
                self.cited[number - 1]["title"] = title
            out.append(f"[{number}]({_md_url(url)})")
        return out

    def render(self, body: str, final: bool, messages: Collection[Dict[str, Any]]) -> Optional[str]:
        """A marker sequence of the answer (``body``, without its OPEN and CLOSE) as Markdown:
        citations as numbered links to their sources, entities as their name, anything else
        dropped. None: its sources have not arrived yet (and ``final`` is false)."""
        fields = body.split(SEP)
        kind = fields[0].strip()
        if kind in ("entity", "product_entity"):
            return entity_label(fields)
        if kind == "cite":
            title, ids = "", fields[1:]
        elif kind == "navlist" and len(fields) > 1:  # navlist, title, "turn0news1,turn0news2"
            title, ids = fields[1].strip(), [i for f in fields[2:] for i in f.split(",")]
        else:
            return ""
        if self.dirty:
            self.rebuild(list(messages))
        links = self.links(OPEN + body + CLOSE, ids)
        if not links and not final:
            return None
        return " ".join([title] + links if title else links)

    def sources(self, messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """Cited sources first, in number order; then every other page the references and search
        results name; each url (without utm parameters) once."""
        found: Dict[str, Dict[str, Any]] = {entry["url"]: dict(entry) for entry in self.cited}
        for ref in _metadata_lists(messages, "content_references"):
            _add_source(ref, found)
            for key in _SOURCE_LISTS:
                items = _dict(ref).get(key)
                for item in items if isinstance(items, list) else []:
                    _add_source(item, found)
                    websites = _dict(item).get("supporting_websites")
                    for site in websites if isinstance(websites, list) else []:
                        _add_source(site, found)
        for citation in _metadata_lists(messages, "citations"):
            # Legacy browsing: `{"start_ix": 10, "end_ix": 22, "metadata": {"url", "title"}}`.
            _add_source(_dict(citation).get("metadata") or citation, found)
        for group in _metadata_lists(messages, "search_result_groups"):
            entries = _dict(group).get("entries")
            for entry in entries if isinstance(entries, list) else []:
                _add_source(entry, found)
        return list(found.values())


def touches_metadata(p: str, o: str, value: Any) -> bool:
    """Whether a delta line may change some message's metadata (references, search results), so
    that :class:`Citations` must be rebuilt."""
    if p.startswith("/message/metadata"):
        return True
    if p not in ("", "/message"):
        return False
    if o != "patch" or not isinstance(value, list):
        return True
    for sub in value:
        sub_p = _dict(sub).get("p")
        if not isinstance(sub_p, str) or sub_p in ("", "/message") or sub_p.startswith("/message/metadata"):
            return True
    return False
