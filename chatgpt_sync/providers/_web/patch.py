"""The document engine behind the chatgpt.com web stream decoder (protocols.md §1.2.8, §1.2.9).

Two pieces. :func:`apply_op` applies one "v1" delta op, ``{"p": <JSON pointer>, "o": <op>,
"v": <value>}``, to the current ``{"message": {...}, "conversation_id": ..., "error": ...}``
document. Ops: ``add``, ``replace``, ``append`` (string concat, list extend, dict merge),
``truncate`` (cut a string or list to length ``v``), ``remove`` and ``patch`` (``v`` is a list of
sub-ops). It is total: an op that does not fit the document (wrong type, missing parent, bad index)
changes nothing and never raises, because one malformed line must not end a good answer.

:class:`TextTrack` turns successive states of one document string into the visible text to emit:
by prefix, with the private-use citation markers rendered by a pluggable :data:`Render` (the
decoder's turns citations into numbered links) and never leaked, held back for a bounded stretch.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["CLOSE", "CONTROL", "OPEN", "Render", "SEP", "STALL_LIMIT", "TextTrack", "apply_op", "entity_label",
           "is_op_list", "render_plain", "split_pointer", "strip_control"]

_MISSING: Any = object()


def split_pointer(path: str) -> List[str]:
    """The reference tokens of a JSON pointer (RFC 6901 ``~1``/``~0`` unescaped); ``""`` is the root."""
    if not path or path == "/":
        return []
    tokens = path.split("/")
    if tokens[0] == "":
        tokens = tokens[1:]
    return [t.replace("~1", "/").replace("~0", "~") for t in tokens]


def is_op_list(value: Any) -> bool:
    """Whether ``value`` is a batch of ops (``[{"p": ..., "o": ..., "v": ...}, ...]``).

    Lists of other dicts (a thoughts list, content references) have no ``p``/``o`` keys, so a bare
    ``{"v": [...]}`` line can be told apart from a list append.
    """
    return (isinstance(value, list) and bool(value)
            and all(isinstance(item, dict) and "p" in item and "o" in item for item in value))


def apply_op(root: Any, path: str, op: str, value: Any = _MISSING) -> Any:
    """Apply one op to ``root`` (mutated in place) and return the root, which ``add``/``replace``
    at ``""`` swap for a new one."""
    tokens = split_pointer(path)
    if op == "patch":
        return _apply_patch(root, path, value)
    if not tokens:
        return _apply_root(root, op, value)
    parent = _walk(root, tokens[:-1], create=op in ("add", "replace", "append"))
    if parent is not None:
        _apply_at(parent, tokens[-1], op, value)
    return root


def _apply_patch(root: Any, path: str, ops: Any) -> Any:
    # Sub-op paths are taken relative to the patch's own path; in practice the batch is at the root
    # (`{"p":"","o":"patch","v":[{"p":"/message/content/parts/0","o":"append",...}, ...]}`), where
    # relative and absolute agree. A sub-op missing p or o continues the previous sub-op's.
    if not isinstance(ops, list):
        return root
    prefix = path.rstrip("/")
    last_p: Optional[str] = None
    last_o: Optional[str] = None
    for sub in ops:
        if not isinstance(sub, dict):
            continue
        p = sub.get("p", last_p)
        o = sub.get("o", last_o)
        if not isinstance(p, str) or not isinstance(o, str):
            continue
        last_p, last_o = p, o
        root = apply_op(root, prefix + p if p else prefix, o, sub.get("v", _MISSING))
    return root


def _apply_root(root: Any, op: str, value: Any) -> Any:
    if op in ("add", "replace"):
        return value if value is not _MISSING else root
    if op == "append" and isinstance(root, dict) and isinstance(value, dict):
        root.update(value)
    return root


def _walk(node: Any, tokens: List[str], *, create: bool) -> Any:
    """The container at ``tokens``, creating missing dict levels when ``create``; None if unreachable."""
    for token in tokens:
        if isinstance(node, dict):
            child = node.get(token, _MISSING)
            if child is _MISSING or child is None:
                if not create:
                    return None
                child = {}
                node[token] = child
            node = child
        elif isinstance(node, list):
            index = _index(node, token, allow_end=False)
            if index is None:
                return None
            node = node[index]
        else:
            return None
    return node if isinstance(node, (dict, list)) else None


def _index(items: List[Any], token: str, *, allow_end: bool) -> Optional[int]:
    if token == "-":
        return len(items) if allow_end else None
    if not token.isdigit():
        return None
    index = int(token)
    limit = len(items) + 1 if allow_end else len(items)
    return index if index < limit else None


def _get(parent: Any, token: str) -> Tuple[Any, Any]:
    """(key or index, current value or _MISSING) of ``token`` in ``parent``; key None if unusable."""
    if isinstance(parent, dict):
        return token, parent.get(token, _MISSING)
    index = _index(parent, token, allow_end=True)
    if index is None:
        return None, _MISSING
    return index, parent[index] if index < len(parent) else _MISSING


def _set(parent: Any, key: Any, value: Any) -> None:
    if isinstance(parent, list) and key == len(parent):
        parent.append(value)
    else:
        parent[key] = value


def _apply_at(parent: Any, token: str, op: str, value: Any) -> None:
    key, current = _get(parent, token)
    if key is None:
        return
    if op == "replace" or op == "add":
        if value is _MISSING:
            return
        if op == "add" and isinstance(parent, list):
            parent.insert(key, value)  # RFC 6902: add into an array inserts
        else:
            _set(parent, key, value)
    elif op == "append":
        appended = _appended(current, value)
        if appended is not _MISSING:
            _set(parent, key, appended)
    elif op == "truncate":
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
                and isinstance(current, (str, list)):
            _set(parent, key, current[:value])
    elif op == "remove":
        if current is not _MISSING:
            del parent[key]


def _appended(current: Any, value: Any) -> Any:
    """``current`` with ``value`` appended, or _MISSING when the two do not fit together."""
    if value is _MISSING:
        return _MISSING
    if current is _MISSING or current is None:
        return value
    if isinstance(current, str):
        return current + value if isinstance(value, str) else _MISSING
    if isinstance(current, list):
        if isinstance(value, list):
            current.extend(value)
        else:
            current.append(value)
        return current
    if isinstance(current, dict) and isinstance(value, dict):
        # `{"p":"/message/metadata","o":"append","v":{"is_complete":true,"finish_details":{...}}}`
        # adds keys to the metadata: a shallow merge.
        merged: Dict[str, Any] = current
        merged.update(value)
        return merged
    return _MISSING


# ------------------------------------------------------------------ visible text of a document string

# Private-use citation markers (§1.2.9): U+E200 opens a sequence, U+E201 closes it, U+E202 separates
# its fields; U+E203..U+E206 are bare brackets. No character of U+E200..U+E2FF ever reaches the
# visible text: sequences are rendered (see :data:`Render`), stray ones are deleted.
OPEN, CLOSE, SEP = "\ue200", "\ue201", "\ue202"
CONTROL = re.compile("[\ue200-\ue2ff]")
# A sequence is held back while it is open (or cannot be rendered yet) only until this many
# characters of the string follow its opener; then the opener counts as a stray character.
STALL_LIMIT = 256
_MARKER_NAME = re.compile(r"[A-Za-z_]*")

#: Renders the body of one complete sequence (between U+E200 and U+E201): its visible text, or
#: None when it cannot be rendered yet (a citation whose source has not arrived). With ``final``
#: true it must return a string: the sequence will not be seen again.
Render = Callable[[str, bool], Optional[str]]


def strip_control(text: str) -> str:
    """``text`` without any character of U+E200..U+E2FF."""
    return CONTROL.sub("", text)


def entity_label(fields: List[str]) -> str:
    """The display name of ``entity``/``product_entity`` sequences: ``["city","Lyon","French city"]``
    reads as "Lyon" in the web UI; dropping it would cut a word out of the sentence."""
    if len(fields) < 2:
        return ""
    try:
        label = json.loads(fields[1])
    except (ValueError, RecursionError):
        return strip_control(fields[1])
    if isinstance(label, list):
        names = [item for item in label if isinstance(item, str)]
        label = label[1] if len(label) > 1 and isinstance(label[1], str) else names[0] if names else ""
    return strip_control(label) if isinstance(label, str) else ""


def render_plain(body: str, final: bool) -> str:
    """The renderer that knows no sources: entities become their name, everything else vanishes."""
    fields = body.split(SEP)
    if fields[0].strip() in ("entity", "product_entity"):
        return entity_label(fields)
    return ""


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # binary search on slice equality: C-speed compares instead of a Python loop
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


class TextTrack:
    """The visible text already emitted for one string of the document (an answer or a thought).

    Each update scans only what follows the part already turned into text (plus a held tail of at
    most :data:`STALL_LIMIT` characters), so a long answer costs no re-scan per delta.
    """

    __slots__ = ("done", "pending", "render", "_emitted")

    def __init__(self, render: Render = render_plain) -> None:
        self.done = ""      # raw prefix fully turned into visible text
        self.pending = ""   # raw tail held back: a sequence not closed (or not renderable) yet
        self.render = render
        self._emitted: List[str] = []   # the visible text's pieces, joined only when read

    @property
    def emitted(self) -> str:
        """The visible text this string has produced."""
        if len(self._emitted) > 1:
            self._emitted[:] = ["".join(self._emitted)]
        return self._emitted[0] if self._emitted else ""

    @property
    def started(self) -> bool:
        """Whether this string has produced any visible text."""
        return bool(self._emitted)

    def update(self, raw: str) -> str:
        """The new visible text of ``raw``, by prefix, never by search-and-replace.

        When the server rewrites earlier text (a replace or truncate, a snapshot that is not an
        extension), only what follows the common prefix is emitted: the rewritten part is already
        in the caller's hands and a stream of pieces cannot take it back.
        """
        if raw.startswith(self.done):
            visible, end = self._scan(raw, len(self.done), False)
            if visible:
                self._emitted.append(visible)
        else:
            visible, end = self._scan(raw, 0, False)
            common = _common_prefix(self.emitted, visible)
            self._emitted[:] = [visible]
            visible = visible[common:]
        self.done, self.pending = (raw, "") if end == len(raw) else (raw[:end], raw[end:])
        return visible

    def flush(self) -> str:
        """At the end of the string: every held sequence is rendered for good. One never closed is
        a cut-off marker (dropped) when it looks like one; otherwise its text is kept."""
        if not self.pending:
            return ""
        raw = self.done + self.pending
        visible, _ = self._scan(raw, len(self.done), True)
        self.done, self.pending = raw, ""
        if visible:
            self._emitted.append(visible)
        return visible

    def _scan(self, raw: str, start: int, final: bool) -> Tuple[str, int]:
        """(visible text of ``raw[start:end]``, end): ``end`` stops before a sequence held back."""
        out: List[str] = []
        i, n = start, len(raw)
        while True:
            j = raw.find(OPEN, i)
            if j < 0:
                out.append(strip_control(raw[i:]))
                return "".join(out), n
            out.append(strip_control(raw[i:j]))
            settle = final or n - j > STALL_LIMIT
            k = raw.find(CLOSE, j + 1, j + 1 + STALL_LIMIT)  # a close farther away is no marker's
            if k < 0 or raw.find(OPEN, j + 1, k) >= 0:
                if k < 0 and not settle:
                    return "".join(out), j        # still open: hold it back
                if k < 0 and final and n - j <= STALL_LIMIT \
                        and _MARKER_NAME.fullmatch(raw[j + 1:].split(SEP, 1)[0]):
                    return "".join(out), n        # a cut-off marker at the very end
                i = j + 1                         # a stray opener: what follows is plain text
                continue
            text = self.render(raw[j + 1:k], settle)
            if text is None:
                return "".join(out), j            # not renderable yet: hold it back (bounded)
            out.append(strip_control(text))
            i = k + 1
