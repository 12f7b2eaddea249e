"""Where chatgpt_sync keeps files (a leaf module: stdlib only, so the CLI can name it cheaply)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/chatgpt_sync``; ``~/.cache/chatgpt_sync`` when that is unset.

    A relative ``XDG_CACHE_HOME`` is ignored, as the XDG spec says.
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "chatgpt_sync"
