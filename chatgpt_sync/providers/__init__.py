"""The providers, one module per backend, and THE registry: the one place a provider is listed.

Adding a provider is writing its module and one line in :data:`PROVIDERS`; the package's lazy
exports, ``__all__``, the CLI's ``providers`` command and model-based routing all read this table.
Modules are imported on first use, so importing the package stays cheap.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import InvalidRequestError

if TYPE_CHECKING:
    from .base import Provider

__all__ = ["PROVIDERS", "get_provider", "provider_names", "provider_classes", "providers_for",
           "default_provider"]

#: provider name -> "module:attribute", in the order `chatgpt-sync providers` lists them.
PROVIDERS: dict[str, str] = {
    "OpenaiTemplate": "openai_template:OpenaiTemplate",
    "OpenaiAPI": "openai_template:OpenaiAPI",
    "ChatGpt": "chatgpt:ChatGpt",
    "OpenaiChat": "openai_chat:OpenaiChat",
    "GPTalk": "gptalk:GPTalk",
    "Chatgpt4o": "chatgpt4o:Chatgpt4o",
    "RetryProvider": "retry:RetryProvider",
}

#: Providers that are built from other providers, so never picked for a model on their own.
_COMPOSITES = frozenset({"RetryProvider"})


def provider_names() -> list[str]:
    return list(PROVIDERS)


def _load(name: str) -> Any:
    module_name, attr = PROVIDERS[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module_name}"), attr)


def get_provider(name: str | type[Provider] | Provider) -> Any:
    """A provider class from its name (case-insensitive); classes and instances pass through."""
    if not isinstance(name, str):
        return name
    for key in PROVIDERS:
        if key.lower() == name.lower():
            return _load(key)
    raise InvalidRequestError(f"unknown provider {name!r}; choose one of: {', '.join(provider_names())}")


def provider_classes() -> list[Any]:
    """Every registered provider class, in registry order (this imports their modules)."""
    return [_load(name) for name in PROVIDERS]


def providers_for(model: str | None = None, *, working: bool | None = True,
                  needs_auth: bool | None = None) -> list[Any]:
    """The provider classes that list ``model`` (any model when None), filtered by their flags.

    Only providers with a fixed model list can be picked by model: an OpenAI-compatible template
    serves whatever its server has, so it is chosen by its ``base_url``, not here.
    """
    found = []
    for name in PROVIDERS:
        if name in _COMPOSITES:
            continue
        cls = _load(name)
        if working is not None and bool(cls.working) != working:
            continue
        if needs_auth is not None and bool(cls.needs_auth) != needs_auth:
            continue
        if model and model not in cls.models and model not in cls.model_aliases:
            continue
        found.append(cls)
    return found


def default_provider(settings: Mapping[str, Any], env: Mapping[str, str] | None = None) -> str | None:
    """The rule for "no provider named", in one place: ``OpenaiTemplate`` for a ``base_url`` (or the
    seed's ``api_base``), ``OpenaiAPI`` for an API key (given, or ``OPENAI_API_KEY``), else None."""
    environ = os.environ if env is None else env
    if settings.get("base_url") or settings.get("api_base"):
        return "OpenaiTemplate"
    if settings.get("api_key") or environ.get("OPENAI_API_KEY"):
        return "OpenaiAPI"
    return None
