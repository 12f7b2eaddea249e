"""The model catalogue of the authenticated emulator (``GET /backend-api/models``).

Slugs are the web backend's own (``gpt-4-1``, not the API's ``gpt-4.1``): a client must map names
before sending them, and the conversation endpoint refuses a slug that is not listed here.
"""

from __future__ import annotations

from typing import Any

__all__ = ["IMAGE_MODELS", "MODEL_SLUGS", "THINKING_MODELS", "answering_slug", "models_payload"]

# (slug, title, max_tokens, thinks) in the order the service lists them.
_MODELS: tuple[tuple[str, str, int, bool], ...] = (
    ("auto", "Auto", 8191, False),
    ("gpt-5", "GPT-5", 32767, False),
    ("gpt-5-thinking", "GPT-5 Thinking", 32767, True),
    ("gpt-5-1", "GPT-5.1", 32767, False),
    ("gpt-5-2", "GPT-5.2", 32767, False),
    ("gpt-4o", "GPT-4o", 8191, False),
    ("gpt-4o-mini", "GPT-4o mini", 8191, False),
    ("gpt-4-1", "GPT-4.1", 32767, False),
    ("gpt-4-1-mini", "GPT-4.1 mini", 32767, False),
    ("gpt-4-5", "GPT-4.5", 32767, False),
    ("gpt-4", "GPT-4", 8191, False),
    ("o1", "o1", 32767, True),
    ("o1-mini", "o1-mini", 32767, True),
    ("o3", "o3", 32767, True),
    ("o3-mini", "o3-mini", 32767, True),
    ("o3-mini-high", "o3-mini-high", 32767, True),
    ("o4-mini", "o4-mini", 32767, True),
    ("o4-mini-high", "o4-mini-high", 32767, True),
    ("gpt-image", "GPT Image", 8191, False),
)
MODEL_SLUGS = tuple(slug for slug, *_ in _MODELS)
THINKING_MODELS = frozenset(slug for slug, _, _, thinks in _MODELS if thinks)
IMAGE_MODELS = frozenset({"gpt-image"})


def answering_slug(requested: str) -> str:
    """The ``model_slug`` the answer reports: "auto" is routed to a concrete model."""
    return {"auto": "gpt-4o-mini", "gpt-image": "gpt-4o"}.get(requested, requested)


def models_payload() -> dict[str, Any]:
    """The body of ``GET /backend-api/models``."""
    models = [{
        "slug": slug, "max_tokens": max_tokens, "title": title,
        "description": f"{title} (loopback emulator)", "tags": ["gpt4o" if "4o" in slug else "gpt"],
        "capabilities": {}, "product_features": {"attachments": {"type": "retrieval"}},
        "enabled_tools": ["tools", "search"] + (["image_gen_tool_enabled"] if slug in ("auto", "gpt-4o")
                                                 else []),
        "reasoning_type": "reasoning" if thinks else None,
    } for slug, title, max_tokens, thinks in _MODELS]
    categories = [{"category": "gpt_4o", "human_category_name": "GPT-4o", "subscription_level": "free",
                   "default_model": "auto", "supported_features": ["search", "picture_v2"]}]
    return {"models": models, "categories": categories}
