"""chatgpt_sync: a synchronous SDK for chat backends. One call shape, no asyncio.

    from chatgpt_sync import OpenaiTemplate
    for piece in OpenaiTemplate(base_url="http://localhost:11434/v1").create_completion(
            "llama3", [{"role": "user", "content": "Hi"}], stream=True):
        if isinstance(piece, str):
            print(piece, end="", flush=True)

Providers, the Client and the helpers load on first use, so ``import chatgpt_sync`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _log  # noqa: F401  (configures the package logger)
from ._version import __version__
from .errors import (
    APIConnectionError, APIStatusError, APITimeoutError, AuthenticationError, BlockedError,
    ChatGPTSyncError, InternalServerError, InvalidRequestError, MissingAuthError, NotFoundError,
    PermissionDeniedError, RateLimitError, ResponseError, TurnstileRequiredError,
)
from .types import (
    ChoiceText, Conversation, FinishReason, ImageResponse, Reasoning, Refusal, Sources, Timeout,
    TitleGeneration, ToolCalls, Usage,
)

if TYPE_CHECKING:
    from ._api import create_completion
    from ._streaming import Stream
    from .client import Client
    from .providers.chatgpt import ChatGpt
    from .providers.openai_template import OpenaiAPI, OpenaiTemplate

_LAZY = {
    "OpenaiTemplate": "providers.openai_template",
    "OpenaiAPI": "providers.openai_template",
    "ChatGpt": "providers.chatgpt",
    "Client": "client",
    "create_completion": "_api",
    "Stream": "_streaming",
}

__all__ = [
    "__version__",
    "ChatGpt", "OpenaiTemplate", "OpenaiAPI", "Client", "create_completion", "Stream", "Timeout",
    "FinishReason", "Usage", "Conversation", "TitleGeneration", "ToolCalls", "Reasoning",
    "ImageResponse", "Sources", "Refusal", "ChoiceText",
    "ChatGPTSyncError", "InvalidRequestError", "MissingAuthError", "APIStatusError",
    "AuthenticationError", "PermissionDeniedError", "NotFoundError", "RateLimitError",
    "InternalServerError", "BlockedError", "TurnstileRequiredError", "APIConnectionError",
    "APITimeoutError", "ResponseError",
]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'chatgpt_sync' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
