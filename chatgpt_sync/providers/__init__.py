"""The providers, one module per backend, and a registry to find them by name.

Modules are imported on first use so that importing the package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..errors import InvalidRequestError

if TYPE_CHECKING:
    from .base import Provider

__all__ = ["PROVIDERS", "get_provider", "provider_names"]

#: provider name -> "module:attribute"
PROVIDERS: dict[str, str] = {
    "OpenaiTemplate": "openai_template:OpenaiTemplate",
    "OpenaiAPI": "openai_template:OpenaiAPI",
    "ChatGpt": "chatgpt:ChatGpt",
}


def provider_names() -> list[str]:
    return sorted(PROVIDERS)


def get_provider(name: str | type[Provider] | Provider) -> Any:
    """A provider class from its name (case-insensitive); classes and instances pass through."""
    if not isinstance(name, str):
        return name
    for key, target in PROVIDERS.items():
        if key.lower() == name.lower():
            module_name, attr = target.split(":")
            module = importlib.import_module(f"{__name__}.{module_name}")
            return getattr(module, attr)
    raise InvalidRequestError(f"unknown provider {name!r}; choose one of: {', '.join(provider_names())}")
