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
    APIConnectionError, APIError, APIStatusError, APITimeoutError, AuthenticationError, BadRequestError,
    BlockedError, CertificateError, ChatGPTSyncError, ConflictError, InternalServerError, InvalidRequestError,
    MissingAuthError, NotFoundError, OpenAIError, PermissionDeniedError, RateLimitError, ResponseError,
    TurnstileRequiredError, UnprocessableEntityError,
)
from .providers import PROVIDERS
from .types import (
    AuthResult, ChoiceText, Conversation, ConversationHistory, ConversationSummary, HistoryMessage, FinishReason, ImageResponse, LogProbs, Reasoning, Refusal, ResponseMeta, Sources,
    Timeout, TitleGeneration, ToolCalls, Usage,
)

if TYPE_CHECKING:  # for type checkers only; at run time these load lazily from the registry
    from ._api import create_completion
    from ._streaming import Stream
    from .client import Client
    from .providers.chatgpt import ChatGpt
    from .providers.chatgpt4o import Chatgpt4o
    from .providers.gptalk import GPTalk
    from .providers.openai_chat import OpenaiChat
    from .providers.openai_template import OpenaiAPI, OpenaiTemplate
    from .providers.retry import AllProvidersFailedError, RetryProvider

# Lazily loaded names: every registered provider, plus the facade and helpers.
_LAZY = {
    **{name: "providers." + target.split(":")[0] for name, target in PROVIDERS.items()},
    "AllProvidersFailedError": "providers.retry",
    "Client": "client",
    "create_completion": "_api",
    "Stream": "_streaming",
}

__all__ = [  # sorted (str.casefold); tests/test_exports.py checks it against the registry
    "__version__", "AllProvidersFailedError", "APIConnectionError", "APIError", "APIStatusError",
    "APITimeoutError", "AuthenticationError", "AuthResult", "BadRequestError", "BlockedError",
    "CertificateError", "ChatGpt", "Chatgpt4o", "ChatGPTSyncError", "ChoiceText", "Client", "ConflictError",
    "Conversation", "ConversationHistory", "ConversationSummary", "create_completion", "FinishReason",
    "GPTalk", "HistoryMessage", "ImageResponse", "InternalServerError", "InvalidRequestError", "LogProbs",
    "MissingAuthError", "NotFoundError", "OpenaiAPI", "OpenaiChat", "OpenAIError", "OpenaiTemplate",
    "PermissionDeniedError", "RateLimitError", "Reasoning", "Refusal", "ResponseError", "ResponseMeta",
    "RetryProvider", "Sources", "Stream", "Timeout", "TitleGeneration", "ToolCalls", "TurnstileRequiredError",
    "UnprocessableEntityError", "Usage",
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
