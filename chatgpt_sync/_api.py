"""The top-level ``create_completion``: pick a provider and call it."""

from __future__ import annotations

from typing import Any

from ._log import logger
from ._streaming import Stream
from .errors import InvalidRequestError
from .providers import default_provider, get_provider, providers_for


def create_completion(model: str, messages: Any, stream: bool = False, *, provider: Any = None,
                      **kwargs: Any) -> Stream:
    """Call ``provider`` (a class, an instance, or a registry name such as "ChatGpt").

    Without one: ``OpenaiTemplate`` when ``base_url`` is given, ``OpenaiAPI`` when an API key is given
    or ``OPENAI_API_KEY`` is set; otherwise the working providers that list ``model`` and need no
    credentials, tried in turn
    through :class:`~chatgpt_sync.RetryProvider`. If none serves it, an error says how to choose.
    """
    if provider is None:
        provider = default_provider(kwargs)
    if provider is None:
        # Only providers that need no credentials: an account (OpenaiChat) is used when named, never
        # picked silently from a cached auth file.
        candidates = providers_for(model, needs_auth=False) if isinstance(model, str) and model else []
        if not candidates:
            raise InvalidRequestError(
                f"no provider chosen, and no working provider lists the model {model!r}: pass "
                'provider="ChatGpt" (anonymous chatgpt.com), base_url="http://host/v1" (any OpenAI-compatible '
                "server), or set OPENAI_API_KEY; `chatgpt-sync providers` lists the providers and their models")
        logger.debug("model %r is served by %s", model, ", ".join(c.__name__ for c in candidates))
        if len(candidates) == 1:
            provider = candidates[0]
        else:
            provider = get_provider("RetryProvider")(candidates)
    result: Stream = get_provider(provider).create_completion(model, messages, stream, **kwargs)
    return result
