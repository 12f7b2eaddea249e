"""Any OpenAI-compatible Chat Completions API: OpenAI, OpenRouter, Groq, DeepSeek, vLLM, llama.cpp, Ollama.

``OpenaiTemplate`` works with any ``base_url`` (``api_base`` is accepted too) and without a key for
local servers; presets such as :class:`OpenaiAPI` fix the base URL and require a key.
Endpoints: ``GET {base}/models``, ``POST {base}/chat/completions`` (JSON or SSE) and
``POST {base}/images/generations`` for image models.
"""

from __future__ import annotations

import json
from urllib.parse import quote
from collections.abc import Mapping
from typing import Any, ClassVar, Generator, Iterator

from .._messages import last_user_text
from .._media import media_parts
from .._core import SkippedLines, is_event_stream
from .._log import logger
from .._sse import ServerSentEvent, event_batches
from .._streaming import attach_progress
from .._urls import join_url, with_query
from ..errors import (
    BadRequestError, ChatGPTSyncError, InvalidRequestError, MissingAuthError, NotFoundError, ResponseError,
)
from ..types import Chunk, FinishReason, ImageResponse, ResponseMeta, Usage
from ._openai_chunks import (
    ChoiceAccumulator, error_message, event_error, in_band_error, message_chunks, stream_error,
)
from .base import CallSettings, Provider, class_or_instance

__all__ = ["OpenaiTemplate", "OpenaiAPI"]

CHAT_PARAMS = frozenset({
    "temperature", "max_tokens", "max_completion_tokens", "top_p", "stop", "n", "seed", "tools",
    "tool_choice", "parallel_tool_calls", "response_format", "logprobs", "top_logprobs",
    "presence_penalty", "frequency_penalty", "logit_bias", "user", "reasoning_effort", "modalities",
    "audio", "stream_options", "include_reasoning", "prompt_cache_key", "metadata", "store",
    "service_tier", "prediction", "web_search_options", "search_settings",
})
IMAGE_PARAMS = frozenset({"size", "quality", "style", "width", "height", "aspect_ratio"})
IMAGE_MODEL_PREFIXES = ("dall-e", "gpt-image")
SEED_PARAMS = frozenset({"media", "prompt", "extra_parameters", "extra_data", "extra_body",
                         "api_base", "api_endpoint"})
#: openai-python's per-request extras: ``extra_query`` adds URL query parameters.
CLIENT_PARAMS = frozenset({"extra_query"})


class OpenaiTemplate(Provider):
    """A configurable client for any OpenAI-compatible API."""

    label = "OpenAI-compatible API"
    url = ""
    working = True
    needs_auth = False
    supports_message_history = True
    supports_system_message = True
    default_model = ""
    models: ClassVar[list[str]] = []
    fallback_models: ClassVar[list[str]] = []
    image_models: ClassVar[list[str]] = []
    sort_models: ClassVar[bool] = True
    models_needs_auth: ClassVar[bool] = False
    api_endpoint: ClassVar[str | None] = None
    #: Ask for usage in streams; servers that reject ``stream_options`` are retried without it.
    stream_usage: ClassVar[bool] = True
    extra_settings = frozenset({"api_base", "api_endpoint", "image_models"})
    call_params = CHAT_PARAMS | IMAGE_PARAMS | SEED_PARAMS | CLIENT_PARAMS

    def __init__(self, **settings: Any) -> None:
        if "api_base" in settings and "base_url" not in settings:
            settings["base_url"] = settings.pop("api_base")
        super().__init__(**settings)
        self._listed_image_models: list[str] = []

    # ------------------------------------------------------------------ helpers
    @classmethod
    def get_headers(cls, stream: bool, api_key: str | None = None,
                    headers: Mapping[str, str] | None = None) -> dict[str, str]:
        """Request headers: Accept by mode, JSON content type, Bearer key, then the caller's headers."""
        result = {
            "Accept": "text/event-stream" if stream else "application/json",
            "Content-Type": "application/json",
        }
        if api_key:
            result["Authorization"] = f"Bearer {api_key}"
        if headers:
            result.update(headers)
        return result

    def _api_base(self, call: CallSettings) -> str:
        if not call.base_url:
            raise InvalidRequestError(
                f"{type(self).__name__} needs base_url= (or api_base=), e.g. 'http://localhost:11434/v1' "
                "for Ollama or 'https://api.openai.com/v1'")
        return call.base_url

    def _key(self, call: CallSettings, *, required: bool) -> str | None:
        key = self.resolve_api_key(call)
        if required and not key:
            env = f" or set the {self.api_key_env} environment variable" if self.api_key_env else ""
            raise MissingAuthError(f"{type(self).__name__} needs an API key: pass api_key=...{env}")
        return key

    # ------------------------------------------------------------------ models
    @class_or_instance
    def get_models(self, api_key: str | None = None, api_base: str | None = None, **kwargs: Any) -> list[str]:
        """Model ids from ``GET {base}/models`` (sorted, as the seed does; :meth:`list_models` keeps
        the server's order and fields).

        The class's ``fallback_models`` stand in only for a server without that endpoint (404); a
        refused key, a network failure or any other error raises, so a wrong setup is never hidden
        behind a plausible-looking list.
        """
        ids = [entry["id"] for entry in self.list_models(api_key=api_key, api_base=api_base, **kwargs)]
        if self.sort_models:
            ids.sort()
        return ids

    @class_or_instance
    def list_models(self, api_key: str | None = None, api_base: str | None = None,
                    **kwargs: Any) -> list[dict[str, Any]]:
        """The server's model entries, in its order and with its fields (each has a string ``id``)."""
        call, url, headers = self._models_request(api_key, api_base, kwargs, "/models")
        try:
            data = self.core(call).request_json("GET", url, headers=headers, timeout=call.timeout,
                                                max_retries=call.max_retries, where=url)
        except NotFoundError:
            if self.fallback_models:
                return [{"id": model, "object": "model"} for model in self.fallback_models]
            raise
        finally:
            if self._ephemeral:
                self.close()
        # OpenAI sends {"data": [...]}; some servers use "models", or send data: null when empty.
        entries = (data.get("data") or data.get("models") or []) if isinstance(data, dict) else data
        listed: list[dict[str, Any]] = []
        images: list[str] = []
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, str):
                entry = {"id": entry}
            if not isinstance(entry, dict):
                continue
            model_id = entry.get("id", entry.get("name"))
            if not isinstance(model_id, str):
                continue
            listed.append({**entry, "id": model_id})
            if entry.get("image") or entry.get("type") == "image" or entry.get("supports_images"):
                images.append(model_id)
        self._listed_image_models = images
        return listed

    @class_or_instance
    def retrieve_model(self, model: str, **kwargs: Any) -> dict[str, Any]:
        """One model's entry from ``GET {base}/models/{model}`` (NotFoundError when unknown)."""
        if not isinstance(model, str) or not model:
            raise InvalidRequestError(f"model must be a non-empty string, not {model!r}")
        call, url, headers = self._models_request(None, None, kwargs, "/models/" + quote(model, safe=""))
        try:
            data = self.core(call).request_json("GET", url, headers=headers, timeout=call.timeout,
                                                max_retries=call.max_retries, where=url)
        finally:
            if self._ephemeral:
                self.close()
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise ResponseError(f"{url} did not answer with a model object", body=data)
        return data

    def _models_request(self, api_key: str | None, api_base: str | None, kwargs: dict[str, Any],
                        path: str) -> tuple[CallSettings, str, dict[str, str]]:
        if api_base is not None:
            kwargs["base_url"] = api_base
        if api_key is not None:
            kwargs["api_key"] = api_key
        query = kwargs.pop("extra_query", None)
        self._check_names(kwargs, self.setting_names(), "keyword argument")
        call = self.settings_for_call(kwargs)
        base = self._api_base(call)
        key = self._key(call, required=self.needs_auth or self.models_needs_auth)
        headers = {"Accept": "application/json", **call.headers}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return call, join_url(base, path, query), headers

    def is_image_model(self, model: str) -> bool:
        """Whether ``model`` goes to /images/generations: listed as such by the class, the instance's
        ``image_models=`` setting or the server's /models, or named like OpenAI's image models."""
        configured = self._settings.get("image_models") or ()
        return (model in self.image_models or model in configured or model in self._listed_image_models
                or model.startswith(IMAGE_MODEL_PREFIXES))

    # ------------------------------------------------------------------ the call
    def _start(self, model: str, messages: list[dict[str, Any]], stream: bool, call: CallSettings,
               params: dict[str, Any]) -> Generator[Chunk, None, None]:
        if "api_base" in params:
            call = self._resolve({"base_url": params.pop("api_base")}, call)
        if "impersonate" in params:
            call = self._resolve({"transport": "tls_client", "impersonate": params.pop("impersonate")}, call)
        base = self._api_base(call)
        if not model:
            raise InvalidRequestError(f"{type(self).__name__} needs a model name (no default_model is set)")
        key = self._key(call, required=self.needs_auth)
        extra_names = params.pop("extra_parameters", None) or []
        extra_data = {**(params.pop("extra_data", None) or {}), **(params.pop("extra_body", None) or {})}
        media = params.pop("media", None)
        prompt = params.pop("prompt", None)
        endpoint = params.pop("api_endpoint", None) or self._settings.get("api_endpoint") or self.api_endpoint
        query = params.pop("extra_query", None)
        if query is not None and not isinstance(query, Mapping):
            raise InvalidRequestError(f"extra_query must be a dict of query parameters, not {type(query).__name__}")
        headers = self.get_headers(stream, key, call.headers)

        if self.is_image_model(model):
            body = {"prompt": prompt or last_user_text(messages), "model": model, **_image_options(params),
                    **extra_data}
            if not body["prompt"]:
                raise InvalidRequestError("an image model needs a prompt: pass prompt= or a user message")
            headers["Accept"] = "application/json"
            return self._run_image(join_url(base, "/images/generations", query), headers, body, call)

        if prompt is not None:
            raise InvalidRequestError(f"prompt= is for image models; {model!r} is a chat model (use messages)")
        unknown_extras = [n for n in extra_names if n not in params]
        if unknown_extras:
            raise InvalidRequestError(f"extra_parameters names {unknown_extras} but no such keyword was passed")
        if media is not None:
            messages = _merge_media(messages, media_parts(media))
        body = {"model": model, "messages": messages, "stream": stream}
        for name, value in params.items():
            if value is not None and name not in IMAGE_PARAMS:
                body[name] = value
        auto_usage = stream and self.stream_usage and "stream_options" not in body
        if auto_usage:
            body["stream_options"] = {"include_usage": True}
        body.update(extra_data)
        url = with_query(endpoint, query) if endpoint else join_url(base, "/chat/completions", query)
        if stream:
            return self._run_stream(url, headers, body, call, auto_usage)
        return self._run_json(url, headers, body, call)

    def _run_json(self, url: str, headers: dict[str, str], body: dict[str, Any],
                  call: CallSettings) -> Generator[Chunk, None, None]:
        data, response_headers = self.core(call).request_json_with_headers(
            "POST", url, headers=headers, body=_encode(body), timeout=call.timeout,
            max_retries=call.max_retries, where=url)
        yield from _completion_chunks(data, url, 200, response_headers)

    def _run_stream(self, url: str, headers: dict[str, str], body: dict[str, Any], call: CallSettings,
                    auto_usage: bool) -> Generator[Chunk, None, None]:
        core = self.core(call)
        try:
            response = core.open("POST", url, headers=headers, body=_encode(body), timeout=call.timeout,
                                 max_retries=call.max_retries, expect="sse", where=url)
        except BadRequestError as exc:
            if not (auto_usage and _about_stream_options(exc)):
                raise
            # Some compatible servers reject stream_options, which we added on our own: usage is a
            # nicety, the answer is not. Only that 400 is answered by sending the request again
            # without it; any other 400 is the caller's and is raised at once (one request).
            body.pop("stream_options", None)
            response = core.open("POST", url, headers=headers, body=_encode(body), timeout=call.timeout,
                                 max_retries=call.max_retries, expect="sse", where=url)
        status, response_headers = response.status_code, response.headers
        if not is_event_stream(response.headers):
            # A server that does not stream answered with the whole completion: still a good answer.
            try:
                data = json.loads(response.read())
            finally:
                response.close()
            yield from _completion_chunks(data, url, status, response_headers)
            return
        acc = ChoiceAccumulator(url)
        parts = acc.parts
        loads = json.loads
        skipped = SkippedLines(url)
        first = True  # no well-formed chunk yet
        done = False  # [DONE] arrived
        event: ServerSentEvent | None = None  # after the loop: the stream's last event
        bad: ServerSentEvent | None = None  # the last data event that was not a JSON object
        try:
            for events in event_batches(response.iter_bytes()):
                for event in events:
                    # An event named "error" (a standard ``event: error``, or old llama.cpp's
                    # ``error:`` line, which the decoder dispatches as one, Q3) ends the stream even
                    # though llama.cpp sends [DONE] after it. It is checked off the hot path: where
                    # its data is not JSON, and before any chunk that is not a plain text delta.
                    data = event.data
                    if data == "[DONE]":
                        done = True
                        response.drain()  # read to the end so the connection goes back to the pool
                        break
                    if not data or data[0] != "{":
                        if event.event == "error":
                            raise event_error(data, where=url, partial_text=acc.text())
                        if data:
                            skipped.add(data)
                            bad = event
                        continue  # keep-alive or empty line
                    try:
                        chunk = loads(data)
                    except ValueError:
                        if event.event == "error":
                            raise event_error(data, where=url, partial_text=acc.text()) from None
                        skipped.add(data)
                        bad = event
                        continue
                    if first:
                        first = False
                        # An error as the first event is no answer: no ResponseMeta for it.
                        if event.event == "error":
                            raise event_error(data, where=url)
                        error = in_band_error(chunk)
                        if error is not None:
                            raise stream_error(error, where=url, when=" in the stream")
                        yield ResponseMeta.from_completion(chunk, status, response_headers)
                    # Fast path for the common chunk: one choice, index 0, a delta with only text
                    # (and perhaps the role, which TGI, old Ollama and LiteLLM repeat in every delta,
                    # Q15/Q23/Q29), no error beside it.
                    choices = chunk.get("choices")
                    if choices and len(choices) == 1:
                        choice = choices[0]
                        delta = choice.get("delta")
                        if (delta and (len(delta) == 1 or (len(delta) == 2 and "role" in delta))
                                and not choice.get("index") and choice.get("finish_reason") is None
                                and choice.get("logprobs") is None and not chunk.get("usage")
                                and "error" not in chunk):
                            content = delta.get("content")
                            if content.__class__ is str:
                                if content:
                                    parts.append(content)
                                    yield content
                                continue
                    if event.event == "error":
                        raise event_error(data, where=url, partial_text=acc.text())
                    yield from acc.feed(chunk)
                else:
                    continue
                break
            if first:
                raise ResponseError(f"{url} sent an event stream with no usable event{skipped.summary()}",
                                    body=skipped.first)
            if not acc.finished and not done:
                if bad is not None and event is bad:
                    # The server's last word was not JSON and no finish reason came: old LiteLLM
                    # proxies wrote the exception's text itself, ``data: Connection error.``, and
                    # closed (Q28). That text is why the stream ended; quote it.
                    raise ResponseError(f"{url} ended the stream with a data line that is not JSON, before "
                                        f"any finish reason: {bad.data.strip()[:300]!r}", body=bad.data[:2000])
                # DESIGN rule 10: a stream cut short reports FinishReason(None) after what arrived,
                # not an exception; but say so, since some servers end this way on an error they
                # do not report (Ollama after the first chunk, Q21; llama-cpp-python, Q25).
                logger.warning("%s: the stream ended without [DONE] and without a finish reason after %d "
                               "characters of text; the answer may be cut short (FinishReason(None))",
                               url, sum(map(len, parts)))
            yield from acc.finish()
        except ChatGPTSyncError as exc:
            attach_progress(exc, acc.text(), None)
            raise
        finally:
            response.close()

    def _run_image(self, url: str, headers: dict[str, str], body: dict[str, Any],
                   call: CallSettings) -> Generator[Chunk, None, None]:
        data = self.core(call).request_json("POST", url, headers=headers, body=_encode(body),
                                            timeout=call.timeout, max_retries=call.max_retries, where=url)
        if not isinstance(data, dict) or data.get("error"):
            raise ResponseError(f"image generation failed: {error_message(data)}", body=data)
        urls = []
        for item in data.get("data") or []:
            if item.get("url"):
                urls.append(item["url"])
            elif item.get("b64_json"):
                urls.append(f"data:image/png;base64,{item['b64_json']}")
        if not urls:
            raise ResponseError("image generation returned no images", body=data)
        yield ImageResponse(urls, alt=body["prompt"], raw=data)
        yield FinishReason("stop")
        if isinstance(data.get("usage"), dict):
            yield Usage.from_dict(data["usage"])


class OpenaiAPI(OpenaiTemplate):
    """api.openai.com, with the key from ``api_key=`` or ``OPENAI_API_KEY``."""

    label = "OpenAI API"
    url = "https://platform.openai.com"
    default_base_url = "https://api.openai.com/v1"
    base_url_env = "OPENAI_BASE_URL"
    api_key_env = "OPENAI_API_KEY"
    needs_auth = True
    models_needs_auth = True
    default_model = "gpt-4o-mini"
    image_models = ["dall-e-3", "dall-e-2", "gpt-image-1"]
    fallback_models = ["gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "o4-mini"]


def _about_stream_options(exc: BadRequestError) -> bool:
    """Whether a 400 is the server refusing ``stream_options`` (by param, or by naming it)."""
    return exc.param == "stream_options" or "stream_options" in str(exc) or "stream_options" in repr(exc.body)


def _completion_chunks(data: Any, url: str, status: int,
                       headers: Mapping[str, str]) -> Iterator[Chunk]:
    """The pieces of a whole ``chat.completion`` body (an error object in it raises, whatever its
    shape: ``{"error": {...}}``, TGI's ``{"error": "...", "error_type": ...}``, old vLLM's flat
    ``{"object": "error", ...}``, Q10/Q13/Q14)."""
    if not isinstance(data, dict):
        raise ResponseError(f"{url} returned JSON that is not an object", body=data)
    error = in_band_error(data)
    if error is not None:
        raise stream_error(error, where=url, when="")
    if not data.get("choices") and isinstance(data.get("message"), dict) and "done" in data:
        # Ollama's native /api/chat answer ({"model", "message", "done"}), not a chat.completion (Q24).
        raise ResponseError(f"{url} answered in the shape of a native API (Ollama's /api/chat: message, done), "
                            f"not OpenAI's Chat Completions; the base_url probably needs /v1, e.g. "
                            f"http://localhost:11434/v1", body=data)
    yield from message_chunks(data, status, headers)


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _image_options(params: Mapping[str, Any]) -> dict[str, Any]:
    options = {k: params[k] for k in ("n", "size", "quality", "style", "response_format", "user")
               if params.get(k) is not None}
    if "size" not in options and params.get("width") and params.get("height"):
        options["size"] = f"{params['width']}x{params['height']}"
    return options


def _merge_media(messages: list[dict[str, Any]], parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attach image parts to the last user message (string or list content alike)."""
    if not parts:
        return messages
    for i in range(len(messages) - 1, -1, -1):
        if messages[i]["role"] == "user":
            content = messages[i].get("content")
            existing = content if isinstance(content, list) else (
                [{"type": "text", "text": content}] if content else [])
            merged = dict(messages[i], content=[*parts, *existing])
            return [*messages[:i], merged, *messages[i + 1:]]
    raise InvalidRequestError("media= needs a user message to attach the images to")
