"""The top-level ``create_completion``: pick a provider and call it."""

from __future__ import annotations

import os
from typing import Any

from ._streaming import Stream
from .errors import InvalidRequestError
from .providers import get_provider


def create_completion(model: str, messages: Any, stream: bool = False, *, provider: Any = None,
                      **kwargs: Any) -> Stream:
    """Call ``provider`` (a class, an instance, or a registry name such as "ChatGpt").

    Without one: ``OpenaiTemplate`` when ``base_url`` is given, ``OpenaiAPI`` when ``OPENAI_API_KEY``
    is set; otherwise an error that says how to choose.
    """
    if provider is None:
        if kwargs.get("base_url") or kwargs.get("api_base"):
            provider = "OpenaiTemplate"
        elif kwargs.get("api_key") or os.environ.get("OPENAI_API_KEY"):
            provider = "OpenaiAPI"
        else:
            raise InvalidRequestError(
                'no provider chosen: pass provider="ChatGpt" (anonymous chatgpt.com), '
                'base_url="http://host/v1" (any OpenAI-compatible server), or set OPENAI_API_KEY')
    result: Stream = get_provider(provider).create_completion(model, messages, stream, **kwargs)
    return result
