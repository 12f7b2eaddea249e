"""HTML for notebook reprs: escaping, and which URLs may become images or links (a leaf module).

The text shown comes from servers and models, so it is always escaped; only http(s) and
``data:image/`` URLs are loaded, and only http(s) ones are linked (never ``javascript:``).
"""

from __future__ import annotations

from typing import List, Optional

__all__ = ["html_escape", "image_src", "link_href", "images_html"]


def html_escape(text: str) -> str:
    """``text`` safe inside HTML elements and quoted attributes."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#x27;"))


def image_src(url: str) -> Optional[str]:
    """``url`` when a notebook may load it as an image (http(s) or a ``data:image/`` URL), else None.

    Other pointers (``file-service://...``) are not loadable, and other schemes are not images."""
    lowered = url[:16].lower()
    if lowered.startswith(("https://", "http://", "data:image/")):
        return url
    return None


def link_href(url: str) -> Optional[str]:
    """``url`` when it is safe as a link target (http or https only), else None."""
    return url if url[:8].lower().startswith(("https://", "http://")) else None


def images_html(urls: List[str], alt: Optional[str]) -> str:
    """``<img>`` elements for the loadable URLs; other pointers shown as code."""
    shown = html_escape(alt or "image")
    parts = []
    for url in urls:
        src = image_src(url)
        if src is None:  # a pointer the notebook cannot load: show it rather than a broken image
            parts.append(f"<div><code>{html_escape(url)}</code></div>")
        else:
            parts.append(f'<img src="{html_escape(src)}" alt="{shown}" title="{shown}" '
                         'style="max-width:100%;margin:2px 0">')
    return "".join(parts)
